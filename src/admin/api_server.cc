#include "admin/api_server.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "admin/stream_server.h"
#include "common/log.h"

namespace fulcrum::admin {

namespace {

// A request line longer than this is refused and the client closed.
constexpr size_t kMaxLine = 64 * 1024;
// Request lines one client runs per wake-up of the control thread.
constexpr int kLinesPerWake = 16;
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

// One client's conversation: lines in, replies out.
class ApiSession final : public StreamSession {
 public:
  ApiSession(RuntimeApi& api, const model::StatsSocket& sock) : api_(api), sock_(sock) {}

  // Runs the next complete line. Outside prompt mode the connection ends after the lines
  // the client has sent so far (HAProxy runs them all: "printf 'a\nb\n' | socat" gets both
  // answers); what did not fit in the first read is read before deciding.
  Step onInput(StreamClient& c) override {
    std::string& in = c.input();
    const size_t nl = in.find('\n');
    if (nl != std::string::npos ? nl > kMaxLine : in.size() > kMaxLine) return tooLong(c);
    std::string line;
    if (nl != std::string::npos) {
      line = in.substr(0, nl);
      in.erase(0, nl + 1);
    } else if (c.eof() && !in.empty()) {
      // socat and "echo -n" half-close after the last line, newline or not.
      line = std::move(in);
      in.clear();
    } else {
      return Step::kWait;  // after EOF with nothing left: the server closes
    }
    // A command may destroy the server (a reload that drops this socket): the client and
    // this session with it. Nothing of them is touched after that.
    std::weak_ptr<const void> alive = c.serverAlive();
    bool interactive = interactive_;
    bool quit = false;
    std::string resp = api_.execute(line, sock_.level, &interactive, &quit);
    if (alive.expired() || c.closed()) return Step::kWait;
    interactive_ = interactive;
    c.reply(std::move(resp));
    if (!quit && !interactive_ && !hasRequest(c) && !c.eof() && !c.receive()) return Step::kWait;
    if (quit || (!interactive_ && !hasRequest(c))) c.finish();
    return Step::kMore;
  }

 private:
  // A request line over kMaxLine: answered, and the client closed.
  Step tooLong(StreamClient& c) {
    log::warning("stats socket '{}': request line over {} bytes; client closed", sock_.path,
                 kMaxLine);
    c.input().clear();
    c.reply("Request too long.\n\n");
    c.finish();
    return Step::kMore;
  }

  // A line to run (or to refuse as too long) is buffered.
  static bool hasRequest(StreamClient& c) {
    const std::string& in = c.input();
    return in.find('\n') != std::string::npos || (c.eof() && !in.empty()) || in.size() > kMaxLine;
  }

  RuntimeApi& api_;
  const model::StatsSocket& sock_;
  bool interactive_ = false;
};

}  // namespace

class ApiServer::Impl {
 public:
  Impl(EventLoop& loop, RuntimeApi& api, const model::StatsSocket& socket, Micros idleTimeout,
       uint32_t maxClients)
      : loop_(loop), api_(api), sock_(socket), idle_(idleTimeout), maxClients_(maxClients) {}

  ~Impl() {
    stream_.reset();  // the clients and the listening socket
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
    // Without "mode", the owner alone (the runtime API can stop servers and the process):
    // not whatever the umask leaves. Before listen(), so nobody connects in between.
    const uint32_t mode = sock_.mode != 0 ? sock_.mode : 0600;
    if (::chmod(path.c_str(), static_cast<mode_t>(mode)) != 0)
      return Error{fmt::format("stats socket '{}': chmod {:o}: {}", path, mode, strerror(errno))};
    if (::listen(fd.get(), 64) != 0)
      return Error{fmt::format("stats socket '{}': listen: {}", path, strerror(errno))};
    StreamOptions opt;
    opt.name = fmt::format("stats socket '{}'", path);
    opt.limitName = "stats maxconn";
    opt.maxClients = maxClients_;
    opt.maxInput = kMaxLine;
    opt.idleTimeout = idle_;
    opt.inputRestartsIdle = true;
    opt.lingerTimeout = kLinger;
    opt.stepsPerWake = kLinesPerWake;
    stream_ = std::make_unique<StreamServer>(loop_, std::move(opt), [this](StreamClient&) {
      return std::make_unique<ApiSession>(api_, sock_);
    });
    return stream_->start(std::move(fd));
  }

 private:
  EventLoop& loop_;
  RuntimeApi& api_;
  model::StatsSocket sock_;
  Micros idle_;
  uint32_t maxClients_;
  bool bound_ = false;
  ino_t inode_ = 0;
  dev_t device_ = 0;
  std::unique_ptr<StreamServer> stream_;
};

ApiServer::ApiServer(EventLoop& loop, RuntimeApi& api, model::StatsSocket socket,
                     Micros idleTimeout, uint32_t maxClients)
    : impl_(std::make_unique<Impl>(loop, api, socket, idleTimeout, maxClients)),
      socket_(std::move(socket)) {}

ApiServer::~ApiServer() = default;

Status ApiServer::open() { return impl_->open(); }

}  // namespace fulcrum::admin
