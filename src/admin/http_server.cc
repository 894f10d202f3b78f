#include "admin/http_server.h"

#include <errno.h>
#include <fmt/core.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include <algorithm>
#include <charconv>
#include <string>
#include <vector>

#include "admin/http_request.h"
#include "admin/metrics.h"
#include "admin/stats_page.h"
#include "admin/stream_server.h"
#include "common/log.h"

namespace fulcrum::admin {

namespace {

constexpr size_t kMaxClients = 64;
constexpr size_t kMaxHead = 8192;                  // request line and headers
constexpr Micros kRequestTimeout = 10 * kSeconds;  // to receive the request, and per write
constexpr Micros kLingerTimeout = 2 * kSeconds;    // reading what follows, after the reply

constexpr std::string_view kHtmlType = "text/html; charset=utf-8";
constexpr std::string_view kJsonType = "application/json";
constexpr std::string_view kTextType = "text/plain; charset=utf-8";
// The page loads nothing from elsewhere; its inline script may only fetch from here.
constexpr std::string_view kPageHeaders =
    "Content-Security-Policy: default-src 'none'; script-src 'unsafe-inline'; "
    "style-src 'unsafe-inline'; connect-src 'self'\r\n";

}  // namespace

class AdminHttpServer::Impl {
 public:
  Impl(EventLoop& loop, Control& control, const RateTracker* rates, const model::StatsHttpBind& b)
      : loop_(loop), control_(control), rates_(rates), bind_(b) {}

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
    const SockAddr bound = localAddressOf(fd.get());
    if (!bound.valid())
      return Error{fmt::format("stats bind {}: getsockname: {}", bind_.text, strerror(errno))};
    StreamOptions opt;
    opt.name = fmt::format("admin HTTP listener {}", bound.toString());
    opt.limitName = fmt::format("fixed limit of {}", kMaxClients);
    opt.maxClients = kMaxClients;
    opt.maxInput = kMaxHead;
    opt.idleTimeout = kRequestTimeout;
    opt.inputRestartsIdle = false;  // the whole request within kRequestTimeout of the accept
    opt.lingerTimeout = kLingerTimeout;
    auto stream = std::make_unique<StreamServer>(
        loop_, std::move(opt), [this](StreamClient&) { return std::make_unique<Session>(*this); });
    if (auto st = stream->start(std::move(fd)); !st) return st;
    stream_ = std::move(stream);
    bound_ = bound;
    log::debug("admin HTTP listener on {}", bound_.toString());
    return Ok{};
  }

  SockAddr boundAddr() const { return bound_; }

 private:
  // One connection: one request, one response.
  class Session final : public StreamSession {
   public:
    explicit Session(Impl& owner) : owner_(owner) {}

    Step onInput(StreamClient& c) override {
      HttpParse p = parseHttpRequest(c.input(), kMaxHead);
      switch (p.outcome) {
        case HttpParse::Outcome::kIncomplete:
          return Step::kWait;  // after EOF: closed, nothing to answer
        case HttpParse::Outcome::kError:
          log::debug("admin HTTP {}: {} ({})", c.peer().toString(), p.status, p.reason);
          c.reply(httpResponse(p.status, kTextType,
                               fmt::format("{} {}: {}\n", p.status, httpReason(p.status), p.reason),
                               false));
          break;
        case HttpParse::Outcome::kComplete: c.reply(owner_.serve(p.request)); break;
      }
      std::string().swap(c.input());
      c.finish();  // one request per connection
      return Step::kMore;
    }

    void onIdle(StreamClient& c) override {
      // No complete request in time (a partial one, or nothing at all): say why the
      // connection closes, as documented and as HAProxy does by default.
      log::debug("admin HTTP {}: request not complete after {} s", c.peer().toString(),
                 kRequestTimeout / kSeconds);
      c.reply(httpResponse(408, kTextType, "408 Request Timeout\n", false));
      c.finish();
    }

   private:
    Impl& owner_;
  };

  std::string serve(const HttpRequest& req) {
    bool head = req.method == "HEAD";
    if (req.method != "GET" && !head) {
      return httpResponse(405, kTextType, "405 Method Not Allowed: GET and HEAD only\n", false,
                          "Allow: GET, HEAD\r\n");
    }
    // "stats auth" of a listen section: every path of the listener needs the credentials.
    if (!bind_.basicAuth.empty() && !basicAuthMatches(req.authorization, bind_.basicAuth)) {
      std::string realm = bind_.realm;
      std::replace(realm.begin(), realm.end(), '"', '\'');
      return httpResponse(401, kTextType, "401 Unauthorized: this page needs a user and password\n",
                          head, fmt::format("WWW-Authenticate: Basic realm=\"{}\"\r\n", realm));
    }
    const std::string& path = req.path;
    if (path == "/metrics") {
      std::vector<StatRow> rows = collectStats(control_, rates_);
      return httpResponse(200, kPrometheusContentType,
                          renderPrometheus(rows, control_.processInfo(), control_.processStats()),
                          head);
    }
    if (path == jsonPath_) {
      std::vector<StatRow> rows = collectStats(control_, rates_);
      return httpResponse(200, kJsonType, renderStatsJson(rows, pageInfo()), head);
    }
    const bool statsPage =
        bind_.statsUri.empty()
            ? path == "/" || path == "/stats"
            : (req.query.empty() ? path : path + "?" + req.query).starts_with(bind_.statsUri);
    if (statsPage) {
      StatsPageOptions opts;
      if (bind_.refreshSeconds > 0)
        opts.refreshSeconds = std::min(bind_.refreshSeconds, StatsPageOptions::kMaxRefreshSeconds);
      if (auto v = queryParam(req.query, "refresh")) {
        uint32_t n = 0;
        auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
        if (ec != std::errc() || end != v->data() + v->size())
          return httpResponse(400, kTextType, "400 Bad Request: refresh=SECONDS\n", head);
        opts.refreshSeconds = std::min(n, StatsPageOptions::kMaxRefreshSeconds);
      }
      std::vector<StatRow> rows = collectStats(control_, rates_);
      return httpResponse(200, kHtmlType, renderStatsPage(rows, pageInfo(), opts), head,
                          kPageHeaders);
    }
    return httpResponse(404, kTextType,
                        fmt::format("404 Not Found: try /metrics or {}\n",
                                    bind_.statsUri.empty() ? "/stats" : bind_.statsUri),
                        head);
  }

  // The process figures of the page: without the version under "stats hide-version".
  ProcessInfo pageInfo() const {
    ProcessInfo info = control_.processInfo();
    if (bind_.hideVersion) info.version.clear();
    return info;
  }

  // Where the stats page fetches its figures from: "stats.json" beside the page.
  static std::string jsonPathFor(const std::string& statsUri) {
    if (statsUri.empty()) return "/stats.json";
    std::string path = statsUri.substr(0, statsUri.find('?'));
    return path.substr(0, path.rfind('/') + 1) + "stats.json";
  }

  EventLoop& loop_;
  Control& control_;
  const RateTracker* rates_;
  model::StatsHttpBind bind_;
  std::string jsonPath_ = jsonPathFor(bind_.statsUri);
  SockAddr bound_;
  std::unique_ptr<StreamServer> stream_;
};

AdminHttpServer::AdminHttpServer(EventLoop& loop, Control& control, const RateTracker* rates,
                                 model::StatsHttpBind bind)
    : impl_(std::make_unique<Impl>(loop, control, rates, bind)), bind_(std::move(bind)) {}

AdminHttpServer::~AdminHttpServer() = default;

Status AdminHttpServer::open() { return impl_->open(); }

SockAddr AdminHttpServer::boundAddr() const { return impl_->boundAddr(); }

}  // namespace fulcrum::admin
