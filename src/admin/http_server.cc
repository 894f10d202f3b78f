#include "admin/http_server.h"

#include <errno.h>
#include <fmt/core.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <string>
#include <vector>

#include "admin/http_request.h"
#include "admin/metrics.h"
#include "admin/stats_page.h"
#include "common/log.h"

namespace fulcrum::admin {

namespace {

constexpr size_t kMaxClients = 64;
constexpr size_t kMaxHead = 8192;                  // request line and headers
constexpr Micros kRequestTimeout = 10 * kSeconds;  // to receive the request, and per write
constexpr Micros kLingerTimeout = 2 * kSeconds;    // reading what follows, after the reply
constexpr Micros kAcceptPause = 200 * kMillis;     // out of descriptors: retry accepting
constexpr int kAcceptBatch = 16;

constexpr std::string_view kHtmlType = "text/html; charset=utf-8";
constexpr std::string_view kJsonType = "application/json";
constexpr std::string_view kTextType = "text/plain; charset=utf-8";
// The page loads nothing from elsewhere; its inline script may only fetch from here.
constexpr std::string_view kPageHeaders =
    "Content-Security-Policy: default-src 'none'; script-src 'unsafe-inline'; "
    "style-src 'unsafe-inline'; connect-src 'self'\r\n";

}  // namespace

class AdminHttpServer::Impl : public IoHandler {
 public:
  Impl(EventLoop& loop, Control& control, const RateTracker* rates, const model::StatsHttpBind& b)
      : loop_(loop), control_(control), rates_(rates), bind_(b), reaper_(this), resume_(this) {}

  ~Impl() override {
    loop_.timers().cancel(&reaper_);
    loop_.timers().cancel(&resume_);
    clients_.clear();
    dead_.clear();
    if (fd_.valid()) loop_.remove(fd_.get());
  }

  Status open() {
    const SockAddr& addr = bind_.addr;
    UniqueFd fd(::socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd.valid())
      return Error{fmt::format("stats bind {}: socket: {}", bind_.text, strerror(errno))};
    int one = 1;
    // SO_REUSEPORT as for the proxy listeners: a port reserved by its owner (tests, a
    // process being replaced) can still be bound.
    setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    if (::bind(fd.get(), addr.sa(), addr.len()) != 0)
      return Error{fmt::format("stats bind {}: cannot bind: {}", bind_.text, strerror(errno))};
    if (::listen(fd.get(), 128) != 0)
      return Error{fmt::format("stats bind {}: listen: {}", bind_.text, strerror(errno))};
    SockAddr bound;
    *bound.lenPtr() = bound.capacity();
    if (::getsockname(fd.get(), bound.sa(), bound.lenPtr()) != 0)
      return Error{fmt::format("stats bind {}: getsockname: {}", bind_.text, strerror(errno))};
    if (auto st = loop_.add(fd.get(), EPOLLIN, this); !st) return st;
    fd_ = std::move(fd);
    bound_ = bound;
    log::debug("admin HTTP listener on {}", bound_.toString());
    return Ok{};
  }

  SockAddr boundAddr() const { return bound_; }

  // The listener.
  void onIo(uint32_t) override {
    for (int i = 0; i < kAcceptBatch; ++i) {
      SockAddr peer;
      *peer.lenPtr() = peer.capacity();
      int c = ::accept4(fd_.get(), peer.sa(), peer.lenPtr(), SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (c < 0) {
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
          // Level-triggered: pause until a descriptor may be free again, rather than spin.
          log::warning("admin HTTP listener {}: accept: {}; pausing", bound_.toString(),
                       strerror(errno));
          if (!loop_.modify(fd_.get(), 0, this)) return;
          loop_.timers().arm(&resume_, loop_.now() + kAcceptPause);
        }
        return;  // EAGAIN, or an error of that one connection (ECONNABORTED...)
      }
      UniqueFd cfd(c);
      if (clients_.size() >= kMaxClients) {
        ++rejected_;
        if (!overloaded_) {
          overloaded_ = true;
          log::warning("admin HTTP listener {}: {} clients already, closing new ones",
                       bound_.toString(), kMaxClients);
        }
        continue;  // cfd closes it
      }
      if (overloaded_) {
        overloaded_ = false;
        log::notice("admin HTTP listener {}: accepting again ({} connections closed so far)",
                    bound_.toString(), rejected_);
      }
      auto client = std::make_unique<Client>(this, std::move(cfd), peer);
      if (!loop_.add(client->fd.get(), EPOLLIN, client.get())) continue;
      loop_.timers().arm(client.get(), loop_.now() + kRequestTimeout);
      clients_.push_back(std::move(client));
    }
  }

 private:
  struct Client : IoHandler, Timer {
    enum class Phase { kReading, kWriting, kLingering };
    Client(Impl* o, UniqueFd f, const SockAddr& p) : owner(o), fd(std::move(f)), peer(p) {}
    ~Client() override {
      owner->loop_.timers().cancel(this);
      if (fd.valid()) owner->loop_.remove(fd.get());
    }
    void onIo(uint32_t events) override { owner->onClientIo(*this, events); }
    void onTimer() override { owner->onClientTimeout(*this); }

    Impl* owner;
    UniqueFd fd;
    SockAddr peer;
    Phase phase = Phase::kReading;
    bool dead = false;
    std::string in;
    std::string out;
    size_t sent = 0;
  };

  struct Reaper : Timer {
    explicit Reaper(Impl* o) : owner(o) {}
    void onTimer() override { owner->dead_.clear(); }
    Impl* owner;
  };
  struct Resume : Timer {
    explicit Resume(Impl* o) : owner(o) {}
    void onTimer() override {
      if (!owner->fd_.valid()) return;
      if (auto st = owner->loop_.modify(owner->fd_.get(), EPOLLIN, owner); !st)
        log::error("admin HTTP listener {}: {}", owner->bound_.toString(), st.error());
    }
    Impl* owner;
  };

  // Closes a client now; its object is freed after the current batch of events (an
  // event of the same batch may still name it).
  void close(Client& c) {
    if (c.dead) return;
    c.dead = true;
    loop_.timers().cancel(&c);
    loop_.remove(c.fd.get());
    c.fd.reset();
    auto it = std::find_if(clients_.begin(), clients_.end(),
                           [&](const auto& p) { return p.get() == &c; });
    if (it == clients_.end()) return;
    dead_.push_back(std::move(*it));
    *it = std::move(clients_.back());
    clients_.pop_back();
    if (!reaper_.armed()) loop_.timers().arm(&reaper_, loop_.now());
  }

  void onClientIo(Client& c, uint32_t events) {
    if (c.dead) return;
    switch (c.phase) {
      case Client::Phase::kReading: readRequest(c); break;
      case Client::Phase::kWriting:
        if (events & (EPOLLERR | EPOLLHUP)) return close(c);
        writeSome(c);
        break;
      case Client::Phase::kLingering: drain(c); break;
    }
  }

  void onClientTimeout(Client& c) {
    if (c.phase == Client::Phase::kReading) {
      // No complete request in time (a partial one, or nothing at all): say why the
      // connection closes, as documented and as HAProxy does by default.
      log::debug("admin HTTP {}: request not complete after {} s", c.peer.toString(),
                 kRequestTimeout / kSeconds);
      respond(c, httpResponse(408, kTextType, "408 Request Timeout\n", false));
      return;
    }
    close(c);
  }

  void readRequest(Client& c) {
    char buf[4096];
    for (;;) {
      ssize_t n = ::recv(c.fd.get(), buf, sizeof(buf), 0);
      if (n > 0) {
        c.in.append(buf, static_cast<size_t>(n));
        if (c.in.size() > kMaxHead) break;
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      if (n < 0 && errno == EINTR) continue;
      // EOF before a complete request, or an error: nothing to answer.
      if (n == 0 && parseHttpRequest(c.in, kMaxHead).outcome == HttpParse::Outcome::kComplete)
        break;  // a complete request followed by a half-close: answer it
      return close(c);
    }
    HttpParse p = parseHttpRequest(c.in, kMaxHead);
    switch (p.outcome) {
      case HttpParse::Outcome::kIncomplete: return;
      case HttpParse::Outcome::kError:
        log::debug("admin HTTP {}: {} ({})", c.peer.toString(), p.status, p.reason);
        return respond(
            c, httpResponse(p.status, kTextType,
                            fmt::format("{} {}: {}\n", p.status, httpReason(p.status), p.reason),
                            false));
      case HttpParse::Outcome::kComplete: break;
    }
    respond(c, serve(p.request));
  }

  std::string serve(const HttpRequest& req) {
    bool head = req.method == "HEAD";
    if (req.method != "GET" && !head) {
      return httpResponse(405, kTextType, "405 Method Not Allowed: GET and HEAD only\n", false,
                          "Allow: GET, HEAD\r\n");
    }
    const std::string& path = req.path;
    if (path == "/metrics") {
      std::vector<StatRow> rows = collectStats(control_, rates_);
      return httpResponse(200, kPrometheusContentType,
                          renderPrometheus(rows, control_.processInfo(), control_.processStats()),
                          head);
    }
    if (path == "/" || path == "/stats") {
      StatsPageOptions opts;
      if (auto v = queryParam(req.query, "refresh")) {
        uint32_t n = 0;
        auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
        if (ec != std::errc() || end != v->data() + v->size())
          return httpResponse(400, kTextType, "400 Bad Request: refresh=SECONDS\n", head);
        opts.refreshSeconds = std::min(n, StatsPageOptions::kMaxRefreshSeconds);
      }
      std::vector<StatRow> rows = collectStats(control_, rates_);
      return httpResponse(200, kHtmlType, renderStatsPage(rows, control_.processInfo(), opts), head,
                          kPageHeaders);
    }
    if (path == "/stats.json") {
      std::vector<StatRow> rows = collectStats(control_, rates_);
      return httpResponse(200, kJsonType, renderStatsJson(rows, control_.processInfo()), head);
    }
    return httpResponse(404, kTextType, "404 Not Found: try /metrics or /stats\n", head);
  }

  void respond(Client& c, std::string response) {
    c.phase = Client::Phase::kWriting;
    c.out = std::move(response);
    c.sent = 0;
    c.in.clear();
    c.in.shrink_to_fit();
    loop_.timers().arm(&c, loop_.now() + kRequestTimeout);
    writeSome(c);
    if (!c.dead && c.phase == Client::Phase::kWriting && !loop_.modify(c.fd.get(), EPOLLOUT, &c))
      close(c);
  }

  void writeSome(Client& c) {
    while (c.sent < c.out.size()) {
      ssize_t n = ::send(c.fd.get(), c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
      if (n > 0) {
        c.sent += static_cast<size_t>(n);
        loop_.timers().arm(&c, loop_.now() + kRequestTimeout);  // progress: more time
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      if (n < 0 && errno == EINTR) continue;
      return close(c);
    }
    // All sent: end our side, then read (and drop) whatever the client still sends until
    // it closes, so that unread input does not turn our close into a reset that could
    // destroy the response before the client read it.
    c.out.clear();
    c.out.shrink_to_fit();
    ::shutdown(c.fd.get(), SHUT_WR);
    c.phase = Client::Phase::kLingering;
    if (!loop_.modify(c.fd.get(), EPOLLIN, &c)) return close(c);
    loop_.timers().arm(&c, loop_.now() + kLingerTimeout);
  }

  void drain(Client& c) {
    char buf[4096];
    for (;;) {
      ssize_t n = ::recv(c.fd.get(), buf, sizeof(buf), 0);
      if (n > 0) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      if (n < 0 && errno == EINTR) continue;
      return close(c);
    }
  }

  EventLoop& loop_;
  Control& control_;
  const RateTracker* rates_;
  model::StatsHttpBind bind_;
  UniqueFd fd_;
  SockAddr bound_;
  std::vector<std::unique_ptr<Client>> clients_;
  std::vector<std::unique_ptr<Client>> dead_;
  Reaper reaper_;
  Resume resume_;
  uint64_t rejected_ = 0;
  bool overloaded_ = false;
};

AdminHttpServer::AdminHttpServer(EventLoop& loop, Control& control, const RateTracker* rates,
                                 model::StatsHttpBind bind)
    : impl_(std::make_unique<Impl>(loop, control, rates, bind)), bind_(std::move(bind)) {}

AdminHttpServer::~AdminHttpServer() = default;

Status AdminHttpServer::open() { return impl_->open(); }

SockAddr AdminHttpServer::boundAddr() const { return impl_->boundAddr(); }

}  // namespace fulcrum::admin
