#include "admin/api_server.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <list>
#include <memory>
#include <string>

#include "common/log.h"

namespace fulcrum::admin {

namespace {

// A request line longer than this is refused and the client closed.
constexpr size_t kMaxLine = 64 * 1024;
// Request lines one client runs per wake-up of the control thread.
constexpr int kLinesPerWake = 16;
// Accepting pauses this long when the process is out of descriptors.
constexpr Micros kAcceptPause = 100 * kMillis;
// How long a closing client may keep sending before it is cut off.
constexpr Micros kLinger = 1 * kSeconds;

Result<sockaddr_un> unixAddr(const std::string& path) {
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  if (path.empty()) return Error{"stats socket: empty path"};
  if (path.size() >= sizeof(sun.sun_path))
    return Error{fmt::format("stats socket '{}': path too long (at most {} bytes)", path,
                             sizeof(sun.sun_path) - 1)};
  memcpy(sun.sun_path, path.data(), path.size());
  return sun;
}

}  // namespace

class ApiServer::Impl final : public IoHandler {
 public:
  Impl(EventLoop& loop, RuntimeApi& api, const model::StatsSocket& socket, Micros idleTimeout,
       uint32_t maxClients)
      : loop_(loop), api_(api), sock_(socket), idle_(idleTimeout), maxClients_(maxClients) {}

  ~Impl() override {
    loop_.timers().cancel(&reaper_);
    loop_.timers().cancel(&resume_);
    for (auto& c : clients_) c->teardown();
    clients_.clear();
    dead_.clear();
    if (listen_.valid()) {
      if (registered_) loop_.remove(listen_.get());
      listen_.reset();
    }
    // Unlink the path only while it is still the socket this server bound (a newer
    // process may have replaced it).
    struct stat st {};
    if (bound_ && ::lstat(sock_.path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode) &&
        st.st_ino == inode_ && st.st_dev == device_)
      ::unlink(sock_.path.c_str());
  }

  Status open() {
    auto sun = unixAddr(sock_.path);
    if (!sun) return Error{sun.error()};
    const std::string& path = sock_.path;
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) {
      if (!S_ISSOCK(st.st_mode))
        return Error{
            fmt::format("stats socket '{}': the path exists and is not a socket; "
                        "not replacing it",
                        path)};
      // A socket file: stale when nobody accepts on it.
      UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
      if (!probe.valid())
        return Error{fmt::format("stats socket '{}': socket: {}", path, strerror(errno))};
      if (::connect(probe.get(), reinterpret_cast<const sockaddr*>(&*sun), sizeof(*sun)) == 0)
        return Error{fmt::format("stats socket '{}': another process is listening on it", path)};
      if (errno != ECONNREFUSED && errno != ENOENT)
        return Error{fmt::format("stats socket '{}': cannot tell whether it is in use: {}", path,
                                 strerror(errno))};
      if (::unlink(path.c_str()) != 0 && errno != ENOENT)
        return Error{fmt::format("stats socket '{}': cannot remove the stale socket: {}", path,
                                 strerror(errno))};
      log::info("stats socket '{}': removed a stale socket file", path);
    }
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd.valid())
      return Error{fmt::format("stats socket '{}': socket: {}", path, strerror(errno))};
    if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&*sun), sizeof(*sun)) != 0)
      return Error{fmt::format("stats socket '{}': bind: {}", path, strerror(errno))};
    bound_ = true;
    if (::lstat(path.c_str(), &st) == 0) {
      inode_ = st.st_ino;
      device_ = st.st_dev;
    }
    if (sock_.mode != 0 && ::chmod(path.c_str(), static_cast<mode_t>(sock_.mode)) != 0)
      return Error{
          fmt::format("stats socket '{}': chmod {:o}: {}", path, sock_.mode, strerror(errno))};
    if (::listen(fd.get(), 64) != 0)
      return Error{fmt::format("stats socket '{}': listen: {}", path, strerror(errno))};
    listen_ = std::move(fd);
    if (auto s = loop_.add(listen_.get(), EPOLLIN, this); !s) return s;
    registered_ = true;
    return Ok{};
  }

  void onIo(uint32_t) override { acceptAll(); }

 private:
  class Client final : public IoHandler, public Timer {
   public:
    Client(Impl& srv, UniqueFd fd) : srv_(srv), fd_(std::move(fd)) {}
    ~Client() override { srv_.loop_.timers().cancel(this); }

    Status start() {
      if (auto s = srv_.loop_.add(fd_.get(), EPOLLIN, this); !s) return s;
      interest_ = EPOLLIN;
      touch();
      return Ok{};
    }

    void onIo(uint32_t events) override {
      if (dead_) return;
      if (draining_) {
        linger();
        return;
      }
      if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0 && out_.empty() && !closing_) {
        if (!readSome()) return;
      }
      progress();
    }

    void onTimer() override {
      if (!dead_) srv_.drop(this);
    }

    // Closes the descriptor (the object itself is freed later by the server).
    void teardown() {
      if (dead_) return;
      dead_ = true;
      srv_.loop_.timers().cancel(this);
      if (fd_.valid()) {
        srv_.loop_.remove(fd_.get());
        fd_.reset();
      }
    }

   private:
    // The response is written: close our side, then read and discard until the client
    // closes too (bounded by kLinger), so that unread input never turns the close into a
    // reset that could destroy the response in flight.
    void linger() {
      if (!draining_) {
        draining_ = true;
        ::shutdown(fd_.get(), SHUT_WR);
        srv_.loop_.timers().arm(this, monotonicNow() + kLinger);
      }
      char buf[4096];
      for (;;) {
        const ssize_t n = ::read(fd_.get(), buf, sizeof(buf));
        if (n > 0) continue;
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        srv_.drop(this);  // EOF or error: done
        return;
      }
      if (interest_ != EPOLLIN) {
        if (!srv_.loop_.modify(fd_.get(), EPOLLIN, this)) {
          srv_.drop(this);
          return;
        }
        interest_ = EPOLLIN;
      }
    }

    // A request line over kMaxLine: answered, and the client closed.
    void tooLong() {
      out_ = "Request too long.\n\n";
      log::warning("stats socket '{}': request line over {} bytes; client closed", srv_.sock_.path,
                   kMaxLine);
      in_.clear();
      closing_ = true;
    }

    void touch() {
      if (draining_) return;
      if (srv_.idle_ > 0) srv_.loop_.timers().arm(this, monotonicNow() + srv_.idle_);
    }

    // Reads what is there; false when the client was dropped.
    bool readSome() {
      char buf[16 * 1024];
      for (;;) {
        const ssize_t n = ::read(fd_.get(), buf, sizeof(buf));
        if (n > 0) {
          in_.append(buf, static_cast<size_t>(n));
          touch();
          if (in_.size() > kMaxLine && in_.find('\n') == std::string::npos) {
            tooLong();
            return true;
          }
          if (static_cast<size_t>(n) < sizeof(buf)) return true;
          if (in_.size() > kMaxLine) return true;  // process what is there first
          continue;
        }
        if (n == 0) {
          eof_ = true;
          return true;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
        srv_.drop(this);
        return false;
      }
    }

    // Runs the complete lines one at a time, each once the previous response is written;
    // closes when done. A command may destroy the server (a reload that drops this
    // socket): nothing of it is touched after that.
    void progress() {
      int ran = 0;
      for (;;) {
        if (!out_.empty()) {
          if (!flush()) return;
          if (!out_.empty()) break;  // wait until the client reads
        }
        if (closing_) {
          linger();
          return;
        }
        // A bounded number of lines per wake-up, so that a client pipelining many
        // commands shares the control thread; the rest runs when its socket is writable.
        if (ran == kLinesPerWake) break;
        std::string line;
        if (size_t nl = in_.find('\n'); nl != std::string::npos) {
          if (nl > kMaxLine) {
            tooLong();
            continue;
          }
          line = in_.substr(0, nl);
          in_.erase(0, nl + 1);
        } else if (eof_ && !in_.empty()) {
          // socat and "echo -n" half-close after the last line, newline or not.
          if (in_.size() > kMaxLine) {
            tooLong();
            continue;
          }
          line = std::move(in_);
          in_.clear();
        } else if (eof_) {
          closing_ = true;
          continue;
        } else {
          break;
        }
        ++ran;
        bool quit = false;
        std::weak_ptr<int> alive = srv_.life_;
        std::string resp = srv_.api_.execute(line, srv_.sock_.level, &interactive_, &quit);
        if (alive.expired() || dead_) return;
        out_ = std::move(resp);
        // Outside prompt mode the connection ends after the lines the client has sent
        // so far (HAProxy runs them all: "printf 'a\nb\n' | socat" gets both answers).
        // What did not fit in the first read is read now, before deciding.
        if (!quit && !interactive_ && !hasLine() && !eof_ && !readSome()) return;
        if (quit || (!interactive_ && !hasLine())) closing_ = true;
      }
      updateInterest();
    }

    bool hasLine() const { return in_.find('\n') != std::string::npos || (eof_ && !in_.empty()); }

    // Writes what it can of the pending response; false when the client was dropped.
    bool flush() {
      while (!out_.empty()) {
        const ssize_t n = ::send(fd_.get(), out_.data(), out_.size(), MSG_NOSIGNAL);
        if (n > 0) {
          out_.erase(0, static_cast<size_t>(n));
          touch();
          continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        srv_.drop(this);
        return false;
      }
      return true;
    }

    void updateInterest() {
      uint32_t want = out_.empty() ? (closing_ ? 0u : uint32_t{EPOLLIN}) : uint32_t{EPOLLOUT};
      if (out_.empty() && !closing_ && hasLine()) want |= EPOLLOUT;  // lines left to run
      if (want != interest_) {
        if (auto s = srv_.loop_.modify(fd_.get(), want, this); !s) {
          srv_.drop(this);
          return;
        }
        interest_ = want;
      }
    }

    Impl& srv_;
    UniqueFd fd_;
    std::string in_;
    std::string out_;
    uint32_t interest_ = 0;
    bool interactive_ = false;
    bool closing_ = false;
    bool eof_ = false;
    bool dead_ = false;
    bool draining_ = false;
  };

  class Reaper final : public Timer {
   public:
    explicit Reaper(Impl& s) : s_(s) {}
    void onTimer() override { s_.dead_.clear(); }

   private:
    Impl& s_;
  };

  class Resume final : public Timer {
   public:
    explicit Resume(Impl& s) : s_(s) {}
    void onTimer() override {
      if (s_.listen_.valid() && !s_.registered_ && s_.loop_.add(s_.listen_.get(), EPOLLIN, &s_))
        s_.registered_ = true;
    }

   private:
    Impl& s_;
  };

  // Takes the client out of service now; frees it after the current batch of events.
  void drop(Client* c) {
    c->teardown();
    for (auto it = clients_.begin(); it != clients_.end(); ++it) {
      if (it->get() == c) {
        dead_.push_back(std::move(*it));
        clients_.erase(it);
        break;
      }
    }
    if (clients_.size() < maxClients_) overLimitLogged_ = false;
    if (!reaper_.armed()) loop_.timers().arm(&reaper_, loop_.now());
  }

  void acceptAll() {
    for (;;) {
      UniqueFd fd(::accept4(listen_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
      if (!fd.valid()) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
          log::warning("stats socket '{}': accept: {}; pausing", sock_.path, strerror(errno));
          if (registered_) {
            loop_.remove(listen_.get());
            registered_ = false;
          }
          loop_.timers().arm(&resume_, monotonicNow() + kAcceptPause);
          return;
        }
        log::warning("stats socket '{}': accept: {}", sock_.path, strerror(errno));
        return;
      }
      if (maxClients_ != 0 && clients_.size() >= maxClients_) {
        ++refused_;
        if (!overLimitLogged_) {
          log::warning(
              "stats socket '{}': {} clients already connected (stats maxconn); "
              "closing new ones until one leaves",
              sock_.path, clients_.size());
          overLimitLogged_ = true;
        }
        continue;  // fd closes here
      }
      auto c = std::make_unique<Client>(*this, std::move(fd));
      if (auto s = c->start(); !s) {
        log::warning("stats socket '{}': {}", sock_.path, s.error());
        continue;
      }
      clients_.push_back(std::move(c));
    }
  }

  EventLoop& loop_;
  RuntimeApi& api_;
  model::StatsSocket sock_;
  Micros idle_;
  uint32_t maxClients_;
  UniqueFd listen_;
  bool registered_ = false;
  bool bound_ = false;
  ino_t inode_ = 0;
  dev_t device_ = 0;
  std::list<std::unique_ptr<Client>> clients_;
  std::vector<std::unique_ptr<Client>> dead_;
  Reaper reaper_{*this};
  Resume resume_{*this};
  uint64_t refused_ = 0;
  bool overLimitLogged_ = false;
  std::shared_ptr<int> life_ = std::make_shared<int>(0);
};

ApiServer::ApiServer(EventLoop& loop, RuntimeApi& api, model::StatsSocket socket,
                     Micros idleTimeout, uint32_t maxClients)
    : impl_(std::make_unique<Impl>(loop, api, socket, idleTimeout, maxClients)),
      socket_(std::move(socket)) {}

ApiServer::~ApiServer() = default;

Status ApiServer::open() { return impl_->open(); }

}  // namespace fulcrum::admin
