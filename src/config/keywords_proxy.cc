// The proxy keywords without a file of their own (mode, default_backend, maxconn,
// rate-limit, source, retries, balance, hash-type, timeout, log) and kProxyKeywords.
#include <fmt/core.h>

#include <algorithm>

#include "config/address.h"
#include "config/keywords_internal.h"
#include "config/units.h"

namespace fulcrum::config {

// "ADDR[:PORT]" of "source" (the proxy keyword and the server parameter): a numeric
// address; port 0 or none lets the system pick the port.
Result<SockAddr> sourceAddress(std::string_view text) {
  std::string_view host = text;
  std::string_view portText;
  if (text.starts_with("[") && text.ends_with("]")) {
    host = text.substr(1, text.size() - 2);  // "[v6]": no port
  } else if (text.find(':') != std::string_view::npos && !splitHostPort(text, host, portText)) {
    return Error{fmt::format("invalid source address '{}'", text)};
  }
  uint16_t port = 0;
  if (!portText.empty()) {
    if (portText.find('-') != std::string_view::npos) {
      return Error{fmt::format("source port ranges ('{}') are not supported yet", portText)};
    }
    auto pt = parsePort(portText, true);
    if (!pt) return Error{fmt::format("invalid port '{}' in source address '{}'", portText, text)};
    port = *pt;
  }
  auto a = SockAddr::parseHost(host, port);
  if (!a) {
    return Error{
        fmt::format("source address '{}' must be a numeric IPv4 or IPv6 address (IPv6 "
                    "as [ADDRESS]:PORT)",
                    text)};
  }
  return a;
}

// "usesrc" and "interface" after a source address: HAProxy's transparent proxying and
// device binding.
Status checkNoSourceOptions(const Statement& st, size_t i) {
  if (i < st.args.size() && (st.args[i] == "usesrc" || st.args[i] == "interface"))
    return Error{fmt::format("'source ... {}' is not supported yet", st.args[i])};
  return Ok{};
}

Result<model::ForwardMode> parseForwardMode(std::string_view v) {
  if (v == "ipip") return model::ForwardMode::kIpip;
  if (v == "gue") return model::ForwardMode::kGue;
  if (v == "dr") return model::ForwardMode::kDr;
  if (v == "nat") return model::ForwardMode::kNat;
  return Error{fmt::format("unknown forwarding mode '{}' (expected ipip, gue, dr or nat)", v)};
}

namespace {

// ---------------------------------------------------------------------------------------
// mode

// "mode http" is accepted where it is set (a defaults section for HTTP proxies, or a
// listen section serving the stats page); Parser::finish() refuses a proxy that ends up in
// it for anything else.
Status proxyMode(Parser& p, const Statement& st) {
  if (auto s = expectArgs(st, 1, "a mode ('tcp')"); !s) return s;
  std::string_view mode = st.args[1];
  if (mode == "tcp" || mode == "http" || mode == "udp") {
    p.settings().httpMode = mode == "http";
    p.settings().udp = mode == "udp";
    p.settings().modeLoc = st.loc;
    return Ok{};
  }
  if (mode == "log" || mode == "spop" || mode == "health" || mode == "cli") {
    return keywordError("mode", fmt::format("mode '{}' is not supported (Fulcrum proxies are "
                                            "'mode tcp' or 'mode udp')",
                                            mode));
  }
  return keywordError("mode",
                      fmt::format("unknown mode '{}' (Fulcrum supports 'tcp' and 'udp')", mode));
}

// ---------------------------------------------------------------------------------------
// proxy-requests, proxy-responses, accepted-payload-size: UDP flows (HAProxy Enterprise's
// udp-lb keywords, nginx's proxy_requests and proxy_responses)

Status proxyRequests(Parser& p, const Statement& st) {
  auto n = uintArgument(st, 0, kMaxInt);
  if (!n) return Error{n.error()};
  p.settings().proxyRequests = *n;
  return Ok{};
}

Status proxyResponses(Parser& p, const Statement& st) {
  auto n = uintArgument(st, 0, kMaxInt);
  if (!n) return Error{n.error()};
  p.settings().proxyResponses = *n;
  return Ok{};
}

Status proxyPayloadSize(Parser& p, const Statement& st) {
  auto n = uintArgument(st, 1, 65507);  // the largest UDP payload over IPv4
  if (!n) return Error{n.error()};
  p.settings().payloadSize = *n;
  return Ok{};
}

// ---------------------------------------------------------------------------------------
// dataplane, forward (Fulcrum's): the packet data plane

Status proxyDataplane(Parser& p, const Statement& st) {
  if (auto s = expectArgs(st, 1, "'proxy' or 'xdp'"); !s) return s;
  if (st.args[1] == "proxy") {
    p.settings().dataplane = model::Forwarding::kProxy;
  } else if (st.args[1] == "xdp") {
    p.settings().dataplane = model::Forwarding::kPacket;
  } else {
    return keywordError(
        "dataplane",
        fmt::format("unknown data plane '{}' (expected 'proxy' or 'xdp')", st.args[1]));
  }
  p.settings().dataplaneLoc = st.loc;
  return Ok{};
}

Status proxyForward(Parser& p, const Statement& st) {
  if (auto s = expectArgs(st, 1, "a forwarding mode (ipip, gue, dr or nat)"); !s) return s;
  auto m = parseForwardMode(st.args[1]);
  if (!m) return keywordError("forward", m.error());
  p.settings().forward = *m;
  return Ok{};
}

// ---------------------------------------------------------------------------------------
// default_backend, maxconn, rate-limit, source, retries

Status proxyDefaultBackend(Parser& p, const Statement& st) {
  if (auto s = expectArgs(st, 1, "a backend name"); !s) return s;
  if (st.args[1].empty()) return Error{"keyword 'default_backend' expects a backend name"};
  p.settings().defaultBackend = st.args[1];
  p.settings().defaultBackendLoc = st.loc;
  return Ok{};
}

Status proxyMaxconn(Parser& p, const Statement& st) {
  auto v = uintArgument(st, 0, kMaxInt);
  if (!v) return Error{v.error()};
  p.settings().maxconn = *v;
  return Ok{};
}

// "rate-limit sessions N"
Status proxyRateLimit(Parser& p, const Statement& st) {
  if (st.arg(1) != "sessions") {
    return keywordError("rate-limit",
                        fmt::format("only 'rate-limit sessions' exists (got '{}')", st.arg(1)));
  }
  if (st.args.size() < 3)
    return Error{"keyword 'rate-limit sessions' expects a number of sessions per second"};
  if (st.args.size() > 3) {
    return keywordError("rate-limit sessions",
                        fmt::format("unexpected extra argument '{}'", st.args[3]));
  }
  auto n = parseUint(st.args[2], 0, kMaxInt);
  if (!n) return keywordError("rate-limit sessions", n.error());
  p.settings().rateLimitSessions = static_cast<uint32_t>(*n);
  return Ok{};
}

// "source ADDR[:PORT]": the source address of connections to the servers that have no
// "source" parameter of their own.
Status proxySource(Parser& p, const Statement& st) {
  if (st.args.size() < 2) return Error{"keyword 'source' expects an address (ADDR[:PORT])"};
  auto a = sourceAddress(st.args[1]);
  if (!a) return keywordError("source", a.error());
  if (auto s = checkNoSourceOptions(st, 2); !s) return keywordError("source", s.error());
  if (st.args.size() > 2) {
    return keywordError("source", fmt::format("unexpected argument '{}' (HAProxy accepts only "
                                              "'usesrc' and 'interface' here)",
                                              st.args[2]));
  }
  p.settings().source = *a;
  return Ok{};
}

Status proxyRetries(Parser& p, const Statement& st) {
  auto v = uintArgument(st, 0, kMaxInt);
  if (!v) return Error{v.error()};
  p.settings().retries = *v;
  return Ok{};
}

// ---------------------------------------------------------------------------------------
// balance, hash-type

struct BalanceAlgoSpec {
  std::string_view name;
  model::BalanceAlgo algo;
  bool supported;   // flip when the scheduler lands
  bool takesDraws;  // "random(N)"
};

// The algorithms of the model. "maglev" is a Fulcrum addition (HAProxy has no such word).
constexpr BalanceAlgoSpec kBalanceAlgos[] = {
    {"roundrobin", model::BalanceAlgo::kRoundRobin, true, false},
    {"static-rr", model::BalanceAlgo::kStaticRr, true, false},
    {"leastconn", model::BalanceAlgo::kLeastConn, true, false},
    {"first", model::BalanceAlgo::kFirst, true, false},
    {"source", model::BalanceAlgo::kSource, true, false},
    {"random", model::BalanceAlgo::kRandom, true, true},
    {"maglev", model::BalanceAlgo::kMaglev, true, false},
};

// HAProxy algorithms outside the model.
constexpr std::string_view kHttpBalanceAlgos[] = {"uri", "url_param", "hdr"};
constexpr std::string_view kOtherBalanceAlgos[] = {"rdp-cookie", "hash"};

Status proxyBalance(Parser& p, const Statement& st) {
  if (st.args.size() < 2)
    return Error{"keyword 'balance' expects an algorithm (e.g. 'roundrobin')"};
  std::string_view word = st.args[1];
  std::string_view name = word;
  std::string_view paren;  // the text inside "(...)", if any
  bool hasParen = false;
  if (auto open = word.find('('); open != std::string_view::npos) {
    if (word.back() != ')')
      return keywordError("balance", fmt::format("missing ')' in '{}'", word));
    name = word.substr(0, open);
    paren = word.substr(open + 1, word.size() - open - 2);
    hasParen = true;
  }
  for (const auto& a : kBalanceAlgos) {
    if (a.name != name) continue;
    if (!a.supported)
      return keywordError("balance",
                          fmt::format("balance algorithm '{}' is not supported yet", name));
    if (st.args.size() > 2) {
      return keywordError(
          "balance", fmt::format("unexpected extra argument '{}' after '{}'", st.args[2], word));
    }
    model::Balance b;
    b.algo = a.algo;
    b.hashType = p.settings().balance.hashType;  // set by "hash-type", independent of "balance"
    if (hasParen) {
      if (!a.takesDraws)
        return keywordError("balance", fmt::format("algorithm '{}' takes no argument", name));
      auto draws = parseUint(paren, 1, kMaxInt);
      if (!draws) return keywordError("balance", draws.error());
      b.randomDraws = static_cast<uint32_t>(*draws);
    }
    p.settings().balance = b;
    p.settings().balanceSet = true;
    return Ok{};
  }
  if (contains(kHttpBalanceAlgos, name)) {
    return keywordError("balance",
                        fmt::format("balance algorithm '{}' needs HTTP: {}", name, kNoHttp));
  }
  if (contains(kOtherBalanceAlgos, name))
    return keywordError("balance",
                        fmt::format("balance algorithm '{}' is not supported yet", name));
  return keywordError("balance", fmt::format("unknown balance algorithm '{}'", name));
}

// "hash-type map-based|consistent [FUNCTION [avalanche]]"
Status proxyHashType(Parser& p, const Statement& st) {
  if (st.args.size() < 2)
    return Error{"keyword 'hash-type' expects a method ('map-based' or 'consistent')"};
  std::string_view method = st.args[1];
  model::HashType type;
  if (method == "map-based") {
    type = model::HashType::kMapBased;
  } else if (method == "consistent") {
    type = model::HashType::kConsistent;
  } else {
    return keywordError("hash-type", fmt::format("unknown hash method '{}' (expected 'map-based' "
                                                 "or 'consistent')",
                                                 method));
  }
  if (st.args.size() > 2) {
    std::string_view word = st.args[2];
    constexpr std::string_view kFunctions[] = {"sdbm", "djb2", "wt6", "crc32"};
    if (contains(kFunctions, word) || word == "avalanche") {
      return keywordError(
          "hash-type",
          fmt::format("hash {} '{}' is not supported: Fulcrum hashes the client address with its "
                      "own function (MurmurHash3; 'consistent' uses a Maglev table), so only the "
                      "method may be given",
                      word == "avalanche" ? "modifier" : "function", word));
    }
    return keywordError("hash-type", fmt::format("unknown hash function '{}'", word));
  }
  p.settings().balance.hashType = type;
  return Ok{};
}

// ---------------------------------------------------------------------------------------
// timeout

struct TimeoutSpec {
  std::string_view name;
  SectionMask allowed;
  model::Timeout ProxySettings::*field;  // null: not supported yet
  bool http;                             // only meaningful with HTTP
};

constexpr TimeoutSpec kTimeouts[] = {
    {"client", kFrontSide | kInUdpLb, &ProxySettings::clientTimeout, false},
    {"connect", kBackSide, &ProxySettings::connectTimeout, false},
    {"server", kBackSide | kInUdpLb, &ProxySettings::serverTimeout, false},
    {"queue", kBackSide, &ProxySettings::queueTimeout, false},
    {"tunnel", kBackSide, &ProxySettings::tunnelTimeout, false},
    {"client-fin", kFrontSide, &ProxySettings::clientFinTimeout, false},
    {"server-fin", kBackSide, &ProxySettings::serverFinTimeout, false},
    {"check", kBackSide | kInUdpLb, &ProxySettings::checkTimeout, false},
    {"tarpit", kAllProxies, nullptr, true},
    {"http-request", kAllProxies, nullptr, true},
    {"http-keep-alive", kAllProxies, nullptr, true},
};

Status proxyTimeout(Parser& p, const Statement& st) {
  if (st.args.size() < 2)
    return Error{"keyword 'timeout' expects a timeout name (e.g. 'client') and a time value"};
  std::string keyword = fmt::format("timeout {}", st.args[1]);
  const TimeoutSpec* spec = nullptr;
  for (const auto& t : kTimeouts)
    if (t.name == st.args[1]) spec = &t;
  if (spec == nullptr) return Error{fmt::format("unknown keyword '{}'", keyword)};
  SectionKind kind = p.sectionKind();
  if ((spec->allowed & maskOf(kind)) == 0) {
    return Error{notAllowedIn(keyword, kind, spec->allowed)};
  }
  if (spec->http) {
    // HAProxy accepts these in TCP proxies and ignores them there.
    if (st.args.size() < 3)
      return Error{fmt::format("keyword '{}' expects a time value (e.g. '5s')", keyword)};
    if (auto t = timerValue(st.args[2], true); !t) return keywordError(keyword, t.error());
    p.warn(st, fmt::format("keyword '{}' is ignored: it is an HTTP timeout and Fulcrum is a "
                           "layer-4 load balancer",
                           keyword));
    return Ok{};
  }
  if (spec->field == nullptr)
    return Error{fmt::format("keyword '{}' is not supported yet", keyword)};
  if (st.args.size() < 3)
    return Error{fmt::format("keyword '{}' expects a time value (e.g. '5s')", keyword)};
  if (st.args.size() > 3) {
    return keywordError(keyword, fmt::format("unexpected extra argument '{}' after value '{}'",
                                             st.args[3], st.args[2]));
  }
  auto t = timerValue(st.args[2], true);
  if (!t) return keywordError(keyword, t.error());
  p.settings().*(spec->field) = *t;
  return Ok{};
}

// ---------------------------------------------------------------------------------------
// log

Status proxyLog(Parser& p, const Statement& st) {
  ProxySettings& s = p.settings();
  if (st.arg(1) == "global") {
    if (st.args.size() > 2) {
      return keywordError(
          "log global",
          fmt::format("unexpected argument '{}' ('log global' takes none)", st.args[2]));
    }
    // As in HAProxy, a second "log global" (say, in a proxy whose defaults have one) adds
    // nothing: the global targets are there once.
    for (const LogLine& l : s.logs)
      if (l.global) return Ok{};
    s.logs.push_back(LogLine{true, {}});
    return Ok{};
  }
  auto log = parseLogLine(st.args);
  if (!log) return keywordError("log", log.error());
  warnNotApplied(p, st, *log);
  log->target.loc = st.loc;
  s.logs.push_back(LogLine{false, std::move(log->target)});
  return Ok{};
}

// ---------------------------------------------------------------------------------------
// id

// "id N": HAProxy's proxy id (show stat's iid), unique among all proxies. The proxies
// without one are numbered by Parser::finish().
Status proxyId(Parser& p, const Statement& st) {
  auto v = uintArgument(st, 1, kMaxInt);
  if (!v) return Error{v.error()};
  const ProxySection& self = p.proxy();
  for (const ProxySection& other : p.proxies()) {
    if (&other == &self || other.id != *v) continue;
    return keywordError(
        "id", fmt::format("{} '{}' reuses custom id {} of {} '{}' (declared at {}:{})",
                          sectionKindName(self.kind), self.name, *v, sectionKindName(other.kind),
                          other.name, other.loc.file, other.loc.line));
  }
  p.proxy().id = *v;
  return Ok{};
}

// ---------------------------------------------------------------------------------------
// stats: HAProxy's stats page, served by Fulcrum's admin HTTP listener

// "USER:PASSWORD" of "stats auth".
Status statsAuth(StatsSettings& s, const Statement& st) {
  if (st.args.size() != 3 || st.args[2].find(':') == std::string::npos)
    return keywordError("stats auth", "expects USER:PASSWORD");
  s.auth.push_back(st.args[2]);
  return Ok{};
}

Status proxyStats(Parser& p, const Statement& st) {
  if (st.args.size() < 2) return Error{"keyword 'stats' expects an option (e.g. 'stats enable')"};
  std::string_view what = st.args[1];
  std::string keyword = fmt::format("stats {}", what);
  StatsSettings& s = p.settings().stats;
  auto noMore = [&](size_t n) -> Status {
    if (st.args.size() > n)
      return keywordError(keyword, fmt::format("unexpected argument '{}'", st.args[n]));
    return Ok{};
  };
  Status result = Ok{};
  if (what == "enable") {
    result = noMore(2);
  } else if (what == "uri") {
    if (st.args.size() != 3 || st.args[2].empty() || st.args[2][0] != '/')
      return keywordError(keyword, "expects a URI prefix starting with '/' (e.g. '/stats')");
    s.uri = st.args[2];
  } else if (what == "refresh") {
    if (st.args.size() != 3) return keywordError(keyword, "expects a time value (e.g. '10s')");
    auto t = timerValue(st.args[2], true);
    if (!t) return keywordError(keyword, t.error());
    s.refreshSeconds = static_cast<uint32_t>(std::max<Micros>(*t / kSeconds, *t > 0 ? 1 : 0));
  } else if (what == "auth") {
    result = statsAuth(s, st);
  } else if (what == "realm") {
    if (st.args.size() != 3) return keywordError(keyword, "expects a realm");
    s.realm = st.args[2];
  } else if (what == "hide-version") {
    result = noMore(2);
    s.hideVersion = true;
  } else if (what == "admin") {
    // "stats admin if|unless COND": HAProxy's page then changes server states.
    if (st.arg(2) != "if" && st.arg(2) != "unless")
      return keywordError(keyword, "expects 'if' or 'unless' and a condition");
    p.warn(st,
           "keyword 'stats admin' is accepted but Fulcrum's stats page is read-only: change "
           "server states through the runtime API ('set server', 'disable server')");
  } else if (what == "show-legends" || what == "show-node" || what == "show-desc" ||
             what == "show-modules" || what == "scope") {
    p.warn(st, fmt::format("keyword '{}' is ignored: Fulcrum's stats page has no such option",
                           keyword));
  } else if (what == "socket" || what == "bind" || what == "timeout" || what == "maxconn") {
    return Error{fmt::format("keyword '{}' belongs in the global section", keyword)};
  } else if (what == "http-request") {
    return keywordError(keyword, "is not supported yet (use 'stats auth')");
  } else {
    return keywordError("stats", fmt::format("unknown option '{}'", what));
  }
  if (!result) return result;
  if (!s.enabled || !s.own) s.loc = st.loc;
  s.enabled = true;
  s.own = p.sectionKind() != SectionKind::kDefaults;
  return Ok{};
}

// ---------------------------------------------------------------------------------------
// HTTP keywords HAProxy accepts in TCP proxies and ignores there

Status proxyHttpIgnored(Parser& p, const Statement& st) {
  const std::string& kw = st.args[0];
  if (st.args.size() < 2) return Error{fmt::format("keyword '{}' expects arguments", kw)};
  p.warn(st, fmt::format("keyword '{}' is ignored: it requires HTTP mode and Fulcrum is a "
                         "layer-4 load balancer (HAProxy ignores it in 'mode tcp' proxies too)",
                         kw));
  return Ok{};
}

// "monitor-uri": HAProxy's warning for the TCP proxies comes at the end (Parser::finish()).
Status proxyMonitorUri(Parser& p, const Statement& st) {
  if (auto s = expectArgs(st, 1, "a URI"); !s) return s;
  p.settings().monitorUri = true;
  p.settings().monitorUriLoc = st.loc;
  return Ok{};
}

// "http-request", "http-response", "http-after-response": rules HAProxy refuses in an
// anonymous defaults section and ignores, with a warning, in a TCP proxy.
Status proxyHttpRules(Parser& p, const Statement& st) {
  const std::string& kw = st.args[0];
  if (p.sectionKind() == SectionKind::kDefaults) {
    return Error{
        fmt::format("keyword '{}' is not allowed in a defaults section (HAProxy 2.6 "
                    "refuses HTTP rules in an anonymous defaults section, and no proxy "
                    "may inherit them from a named one)",
                    kw)};
  }
  if (st.args.size() < 2) return Error{fmt::format("keyword '{}' expects an action", kw)};
  p.warn(st, fmt::format("'{}' rules are ignored: they require HTTP mode and Fulcrum is a "
                         "layer-4 load balancer (HAProxy ignores them in 'mode tcp' proxies too)",
                         kw));
  return Ok{};
}

// Keywords HAProxy accepts and Fulcrum has nothing to apply to.
Status proxyDescription(Parser& p, const Statement& st) {
  if (st.args.size() < 2) return Error{"keyword 'description' expects a text"};
  p.warn(st, "keyword 'description' is ignored (Fulcrum shows no proxy descriptions yet)");
  return Ok{};
}

Status proxyBindProcess(Parser& p, const Statement& st) {
  p.warn(st,
         "keyword 'bind-process' has no effect, is deprecated, and will be removed in "
         "version 2.7 (HAProxy's warning; Fulcrum ignores it)");
  return Ok{};
}

// "load-server-state-from-file global|local|none": the backend's servers take their state
// from the server state file at start (see daemon/server_state.h).
Status proxyLoadServerState(Parser& p, const Statement& st) {
  if (auto s = expectArgs(st, 1, "'global', 'local' or 'none'"); !s) return s;
  const std::string_view v = st.args[1];
  if (v == "global")
    p.settings().loadServerState = model::LoadServerState::kGlobal;
  else if (v == "local")
    p.settings().loadServerState = model::LoadServerState::kLocal;
  else if (v == "none")
    p.settings().loadServerState = model::LoadServerState::kNone;
  else
    return keywordError(
        "load-server-state-from-file",
        fmt::format("unknown argument '{}': expects 'global', 'local' or 'none'", v));
  return Ok{};
}

// "server-state-file-name [use-backend-name|FILE]": the file of "load-server-state-from-file
// local"; the backend's name when absent or "use-backend-name".
Status proxyServerStateFileName(Parser& p, const Statement& st) {
  if (st.args.size() > 2)
    return keywordError("server-state-file-name",
                        fmt::format("unexpected extra argument '{}'", st.args[2]));
  const std::string_view v = st.arg(1);
  p.settings().serverStateFileName = v == "use-backend-name" ? "" : std::string(v);
  return Ok{};
}

// ---------------------------------------------------------------------------------------
// The table

constexpr std::string_view kHttpCheckNote =
    "is not supported yet: it configures HTTP health checks of the servers ('option httpchk'), "
    "which check TCP services too; until then, use 'option tcp-check' with 'tcp-check send' "
    "and 'tcp-check expect'";

constexpr std::string_view kRemovedClitimeout = "was removed in HAProxy 2.1; use 'timeout client'";
constexpr std::string_view kRemovedContimeout = "was removed in HAProxy 2.1; use 'timeout connect'";
constexpr std::string_view kRemovedSrvtimeout = "was removed in HAProxy 2.1; use 'timeout server'";

constexpr Keyword kProxyKeywords[] = {
    {"mode", kAllProxies, proxyMode, {}},
    {"bind", kInFrontend | kInListen, proxyBind, {}},
    {"dgram-bind", kInFrontend | kInListen | kInUdpLb, proxyDgramBind, {}},
    {"proxy-requests", kFrontSide | kInUdpLb, proxyRequests, {}},
    {"proxy-responses", kFrontSide | kInUdpLb, proxyResponses, {}},
    {"accepted-payload-size", kFrontSide | kInUdpLb, proxyPayloadSize, {}},
    {"default_backend", kFrontSide, proxyDefaultBackend, {}},
    {"balance", kBackSide | kInUdpLb, proxyBalance, {}},
    {"dataplane", kFrontSide | kInUdpLb, proxyDataplane, {}},
    {"forward", kBackSide | kInUdpLb, proxyForward, {}},
    {"server", kInListen | kInBackend | kInUdpLb, proxyServer, {}},
    {"default-server", kBackSide | kInUdpLb, proxyDefaultServer, {}},
    {"timeout", kAllProxies | kInUdpLb, proxyTimeout, {}},
    {"maxconn", kFrontSide | kInUdpLb, proxyMaxconn, {}},
    {"retries", kBackSide, proxyRetries, {}},
    {"option", kAllProxies | kInUdpLb, proxyOption, {}},
    {"no", kAllProxies | kInUdpLb, proxyNegation, {}},
    {"default", kAllProxies, proxyNegation, {}},
    {"log", kAllProxies | kInUdpLb, proxyLog, {}},
    {"hash-type", kBackSide | kInUdpLb, proxyHashType, {}},
    {"rate-limit", kFrontSide | kInUdpLb, proxyRateLimit, {}},
    {"source", kBackSide | kInUdpLb, proxySource, {}},
    {"acl",
     kAllProxies | kInUdpLb,
     proxyAcl,
     {}},  // the handler rejects defaults and backends for now
    {"tcp-request", kAllProxies | kInUdpLb, proxyTcpRequest, {}},
    {"tcp-check", kBackSide, proxyTcpCheck, {}},
    {"udp-check", kBackSide | kInUdpLb, proxyUdpCheck, {}},
    {"id", kInFrontend | kInListen | kInBackend | kInUdpLb, proxyId, {}},
    {"load-server-state-from-file", kBackSide, proxyLoadServerState, {}},
    {"server-state-file-name", kInListen | kInBackend, proxyServerStateFileName, {}},
    // HAProxy proxy keywords Fulcrum does not support yet.
    {"log-format", kAllProxies, nullptr, kLogNote},
    {"log-format-sd", kAllProxies, nullptr, kLogNote},
    {"log-steps", kAllProxies, nullptr, kLogNote},
    {"log-tag", kAllProxies | kInUdpLb, nullptr, kLogNote},
    {"error-log-format", kAllProxies, nullptr, kLogNote},
    {"backlog", kAllProxies, nullptr, {}},
    {"clitcpka-cnt", kAllProxies, nullptr, {}},
    {"clitcpka-idle", kAllProxies, nullptr, {}},
    {"clitcpka-intvl", kAllProxies, nullptr, {}},
    {"description", kAllProxies | kInUdpLb, proxyDescription, {}},
    {"bind-process", kAllProxies, proxyBindProcess, {}},
    {"disabled", kAllProxies, nullptr, {}},
    {"dispatch", kAllProxies, nullptr, {}},
    {"email-alert", kAllProxies, nullptr, {}},
    {"enabled", kAllProxies, nullptr, {}},
    {"external-check", kAllProxies, nullptr, {}},
    {"force-persist", kAllProxies, nullptr, {}},
    {"fullconn", kAllProxies, nullptr, {}},
    {"guid", kAllProxies, nullptr, {}},
    {"hash-balance-factor", kAllProxies | kInUdpLb, nullptr, {}},
    {"hash-key", kAllProxies, nullptr, {}},
    {"ignore-persist", kAllProxies, nullptr, {}},
    {"max-session-srv-conns", kAllProxies, nullptr, {}},
    {"persist", kAllProxies, nullptr, {}},
    {"retry-on", kAllProxies, nullptr, {}},
    {"server-template", kAllProxies, nullptr, {}},
    {"srvtcpka-cnt", kAllProxies, nullptr, {}},
    {"srvtcpka-idle", kAllProxies, nullptr, {}},
    {"srvtcpka-intvl", kAllProxies, nullptr, {}},
    {"stick", kAllProxies, nullptr, {}},
    {"stick-table", kAllProxies, nullptr, {}},
    {"tcp-response", kAllProxies, nullptr, {}},
    {"use-server", kAllProxies, nullptr, {}},
    {"use_backend", kAllProxies, nullptr, {}},
    {"filter", kAllProxies, nullptr, {}},
    {"declare", kAllProxies, nullptr, {}},
    {"unique-id-format", kAllProxies, nullptr, {}},
    {"clitimeout", kAllProxies, nullptr, kRemovedClitimeout},
    {"contimeout", kAllProxies, nullptr, kRemovedContimeout},
    {"srvtimeout", kAllProxies, nullptr, kRemovedSrvtimeout},
    // HTTP keywords: they will not be supported.
    {"capture", kAllProxies, nullptr, kHttpNote},
    {"compression", kAllProxies, proxyHttpIgnored, {}},
    {"cookie", kAllProxies, proxyHttpIgnored, {}},
    {"dynamic-cookie-key", kAllProxies, nullptr, kHttpNote},
    {"errorfile", kAllProxies, proxyHttpIgnored, {}},
    {"errorfiles", kAllProxies, proxyHttpIgnored, {}},
    {"errorloc", kAllProxies, proxyHttpIgnored, {}},
    {"errorloc302", kAllProxies, proxyHttpIgnored, {}},
    {"errorloc303", kAllProxies, proxyHttpIgnored, {}},
    {"http-after-response", kAllProxies, proxyHttpRules, {}},
    {"http-check", kBackSide, nullptr, kHttpCheckNote},
    {"http-error", kAllProxies, nullptr, kHttpNote},
    {"http-request", kAllProxies, proxyHttpRules, {}},
    {"http-response", kAllProxies, proxyHttpRules, {}},
    {"http-reuse", kAllProxies, proxyHttpIgnored, {}},
    {"http-send-name-header", kAllProxies, nullptr, kHttpNote},
    {"max-keep-alive-queue", kAllProxies, proxyHttpIgnored, {}},
    {"monitor", kAllProxies, nullptr, kHttpNote},
    {"monitor-uri", kFrontSide, proxyMonitorUri, {}},
    {"redirect", kAllProxies, nullptr, kHttpNote},
    {"stats", kAllProxies, proxyStats, {}},
    {"unique-id-header", kAllProxies, proxyHttpIgnored, {}},
    {"use-fcgi-app", kAllProxies, nullptr, kHttpNote},
};

}  // namespace

const Keyword* findProxyKeyword(std::string_view name) { return findIn(kProxyKeywords, name); }

}  // namespace fulcrum::config
