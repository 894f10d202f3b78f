// The keyword tables: for each HAProxy keyword, the sections where HAProxy accepts it and
// the handler that applies it, or no handler when Fulcrum does not support it (yet). A
// keyword missing from every table is unknown to HAProxy too.
//
// To support a new keyword: write a handler and put it in the table entry. To support a
// new balance algorithm: flip its "supported" flag in kBalanceAlgos.
#include <fmt/core.h>

#include <climits>
#include <iterator>

#include "config/address.h"
#include "config/parser.h"
#include "config/units.h"

namespace fulcrum::config {
namespace {

constexpr uint64_t kMaxInt = INT_MAX;   // HAProxy keeps these counts in ints
constexpr uint32_t kMaxThreads = 4096;  // HAProxy's MAX_THREADS on 64-bit builds

constexpr std::string_view kNoHttp =
    "Fulcrum is a layer-4 (TCP/UDP) load balancer and does not parse HTTP";
constexpr std::string_view kNoTlsTermination =
    "Fulcrum is a layer-4 load balancer and does not terminate TLS (TLS passes through to the "
    "servers)";
constexpr std::string_view kNoTlsOrigination =
    "Fulcrum is a layer-4 load balancer and does not originate TLS to servers (TLS passes "
    "through from the clients)";

// ---------------------------------------------------------------------------------------
// Helpers

Error keywordError(std::string_view keyword, std::string_view message) {
  return Error{fmt::format("keyword '{}': {}", keyword, message)};
}

// Exactly n arguments after the keyword.
Status expectArgs(const Statement& st, size_t n, std::string_view what) {
  if (st.args.size() < n + 1)
    return Error{fmt::format("keyword '{}' expects {}", st.args[0], what)};
  if (st.args.size() > n + 1)
    return keywordError(st.args[0], fmt::format("unexpected extra argument '{}'", st.args[n + 1]));
  return Ok{};
}

// "keyword N": one integer argument in [min, max].
Result<uint32_t> uintArgument(const Statement& st, uint64_t min, uint64_t max) {
  if (auto s = expectArgs(st, 1, "a number"); !s) return Error{s.error()};
  auto v = parseUint(st.args[1], min, max);
  if (!v) return keywordError(st.args[0], v.error());
  return static_cast<uint32_t>(*v);
}

// A timeout or check interval: HAProxy counts them in milliseconds, so a non-zero value
// under 1 ms is an error, as there.
Result<Micros> timerValue(std::string_view text, bool allowZero) {
  auto t = parseTime(text);
  if (!t) return t;
  if (*t == 0 && !allowZero) return Error{fmt::format("time value '{}' must be positive", text)};
  if (*t > 0 && *t < kMillis) {
    return Error{fmt::format("time value '{}' is below 1 ms, the smallest non-zero timer", text)};
  }
  return t;
}

// ---------------------------------------------------------------------------------------
// Global section

Status globalNbthread(Parser& p, const Statement& st) {
  auto v = uintArgument(st, 1, kMaxThreads);
  if (!v) return Error{v.error()};
  p.global().nbthread = *v;
  return Ok{};
}

Status globalMaxconn(Parser& p, const Statement& st) {
  auto v = uintArgument(st, 0, kMaxInt);
  if (!v) return Error{v.error()};
  p.global().maxconn = *v;
  return Ok{};
}

// ---------------------------------------------------------------------------------------
// mode

Status proxyMode(Parser&, const Statement& st) {
  if (auto s = expectArgs(st, 1, "a mode ('tcp')"); !s) return s;
  std::string_view mode = st.args[1];
  if (mode == "tcp") return Ok{};
  if (mode == "http") {
    return keywordError("mode",
                        fmt::format("'mode http' is not available: {}; use 'mode tcp'", kNoHttp));
  }
  if (mode == "log" || mode == "spop" || mode == "health" || mode == "cli") {
    return keywordError("mode", fmt::format("mode '{}' is not supported (Fulcrum proxies are "
                                            "'mode tcp')",
                                            mode));
  }
  return keywordError("mode", fmt::format("unknown mode '{}' (Fulcrum supports 'tcp')", mode));
}

// ---------------------------------------------------------------------------------------
// bind

// HAProxy bind parameters about TLS.
// clang-format off
constexpr std::string_view kBindTlsParams[] = {
    "ssl", "crt", "crt-list", "ca-file", "ca-verify-file", "ca-ignore-err", "ca-sign-file",
    "ca-sign-pass", "ciphers", "ciphersuites", "crl-file", "crt-ignore-err", "curves", "ecdhe",
    "sigalgs", "client-sigalgs", "alpn", "npn", "verify", "strict-sni", "ssl-min-ver",
    "ssl-max-ver", "no-sslv3", "no-tlsv10", "no-tlsv11", "no-tlsv12", "no-tlsv13", "force-sslv3",
    "force-tlsv10", "force-tlsv11", "force-tlsv12", "force-tlsv13", "no-tls-tickets",
    "tls-ticket-keys", "prefer-client-ciphers", "generate-certificates", "allow-0rtt",
    "no-ca-names", "no-alpn", "default-crt",
};
// clang-format on

// The other HAProxy bind parameters.
// clang-format off
constexpr std::string_view kBindOtherParams[] = {
    "accept-netscaler-cip", "accept-proxy", "backlog", "defer-accept", "expose-fd", "gid", "group",
    "guid-prefix", "id", "idle-ping", "interface", "label", "level", "severity-output", "maxconn",
    "mode", "mss", "name", "namespace", "nbconn", "nice", "process", "proto", "quic-cc-algo",
    "quic-force-retry", "quic-socket", "shards", "tcp-md5sig", "tcp-ut", "tfo", "thread",
    "transparent", "uid", "user", "v4v6", "v6only",
};
// clang-format on

template <size_t N>
bool contains(const std::string_view (&list)[N], std::string_view word) {
  for (auto w : list)
    if (w == word) return true;
  return false;
}

Status proxyBind(Parser& p, const Statement& st) {
  if (st.args.size() < 2) return Error{"keyword 'bind' expects an address (e.g. '*:443')"};
  for (size_t i = 2; i < st.args.size(); ++i) {
    std::string_view param = st.args[i];
    if (contains(kBindTlsParams, param)) {
      return keywordError("bind", fmt::format("bind parameter '{}' is not supported: {}", param,
                                              kNoTlsTermination));
    }
    if (contains(kBindOtherParams, param))
      return keywordError("bind", fmt::format("bind parameter '{}' is not supported yet", param));
    return keywordError("bind", fmt::format("unknown bind parameter '{}'", param));
  }
  auto addrs = parseBindAddresses(st.args[1]);
  if (!addrs) return keywordError("bind", addrs.error());
  for (auto& a : *addrs) {
    model::Bind b;
    b.text = std::move(a.text);
    b.addr = a.addr;
    b.loc = st.loc;
    p.proxy().binds.push_back(std::move(b));
  }
  return Ok{};
}

// ---------------------------------------------------------------------------------------
// default_backend, maxconn, retries

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

Status proxyRetries(Parser& p, const Statement& st) {
  auto v = uintArgument(st, 0, kMaxInt);
  if (!v) return Error{v.error()};
  p.settings().retries = *v;
  return Ok{};
}

// ---------------------------------------------------------------------------------------
// balance

struct BalanceAlgoSpec {
  std::string_view name;
  model::BalanceAlgo algo;
  bool supported;   // flip when the scheduler lands
  bool takesDraws;  // "random(N)"
};

// The algorithms of the model. "maglev" is a Fulcrum addition (HAProxy has no such word).
constexpr BalanceAlgoSpec kBalanceAlgos[] = {
    {"roundrobin", model::BalanceAlgo::kRoundRobin, true, false},
    {"static-rr", model::BalanceAlgo::kStaticRr, false, false},
    {"leastconn", model::BalanceAlgo::kLeastConn, false, false},
    {"first", model::BalanceAlgo::kFirst, false, false},
    {"source", model::BalanceAlgo::kSource, false, false},
    {"random", model::BalanceAlgo::kRandom, false, true},
    {"maglev", model::BalanceAlgo::kMaglev, false, false},
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
    if (hasParen) {
      if (!a.takesDraws)
        return keywordError("balance", fmt::format("algorithm '{}' takes no argument", name));
      auto draws = parseUint(paren, 1, kMaxInt);
      if (!draws) return keywordError("balance", draws.error());
      b.randomDraws = static_cast<uint32_t>(*draws);
    }
    p.settings().balance = b;
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

// ---------------------------------------------------------------------------------------
// server and default-server

using ServerParamFn = Status (*)(model::Server&, std::string_view value);

struct ServerParam {
  std::string_view name;
  bool takesValue;
  ServerParamFn apply;
};

Status setCount(uint32_t& out, std::string_view v, uint64_t min, uint64_t max) {
  auto n = parseUint(v, min, max);
  if (!n) return Error{n.error()};
  out = static_cast<uint32_t>(*n);
  return Ok{};
}

Status setTimer(model::Timeout& out, std::string_view v) {
  auto t = timerValue(v, false);
  if (!t) return Error{t.error()};
  out = *t;
  return Ok{};
}

constexpr ServerParam kServerParams[] = {
    {"weight", true,
     [](model::Server& s, std::string_view v) { return setCount(s.weight, v, 0, 256); }},
    {"maxconn", true,
     [](model::Server& s, std::string_view v) { return setCount(s.maxconn, v, 0, kMaxInt); }},
    {"check", false,
     [](model::Server& s, std::string_view) -> Status {
       s.check.enabled = true;
       return Ok{};
     }},
    {"no-check", false,
     [](model::Server& s, std::string_view) -> Status {
       s.check.enabled = false;
       return Ok{};
     }},
    {"inter", true,
     [](model::Server& s, std::string_view v) { return setTimer(s.check.inter, v); }},
    {"fastinter", true,
     [](model::Server& s, std::string_view v) { return setTimer(s.check.fastinter, v); }},
    {"downinter", true,
     [](model::Server& s, std::string_view v) { return setTimer(s.check.downinter, v); }},
    {"rise", true,
     [](model::Server& s, std::string_view v) { return setCount(s.check.rise, v, 1, kMaxInt); }},
    {"fall", true,
     [](model::Server& s, std::string_view v) { return setCount(s.check.fall, v, 1, kMaxInt); }},
    {"port", true,
     [](model::Server& s, std::string_view v) -> Status {
       auto port = parsePort(v);
       if (!port) return Error{port.error()};
       s.check.port = *port;
       return Ok{};
     }},
    {"addr", true,
     [](model::Server& s, std::string_view v) -> Status {
       auto a = SockAddr::parseHost(v, 0);
       if (!a) return Error{a.error()};
       if (a->isAny()) return Error{fmt::format("'{}' is not a usable check address", v)};
       s.check.addr = *a;
       return Ok{};
     }},
    {"backup", false,
     [](model::Server& s, std::string_view) -> Status {
       s.backup = true;
       return Ok{};
     }},
    {"no-backup", false,
     [](model::Server& s, std::string_view) -> Status {
       s.backup = false;
       return Ok{};
     }},
    {"disabled", false,
     [](model::Server& s, std::string_view) -> Status {
       s.disabled = true;
       return Ok{};
     }},
    {"enabled", false,
     [](model::Server& s, std::string_view) -> Status {
       s.disabled = false;
       return Ok{};
     }},
};

// HAProxy server parameters about TLS.
// clang-format off
constexpr std::string_view kServerTlsParams[] = {
    "ssl", "no-ssl", "crt", "ca-file", "crl-file", "verify", "verifyhost", "no-verifyhost", "sni",
    "alpn", "npn", "ciphers", "ciphersuites", "curves", "sigalgs", "client-sigalgs", "check-ssl",
    "no-check-ssl", "check-sni", "check-alpn", "ssl-reuse", "no-ssl-reuse", "ssl-min-ver",
    "ssl-max-ver", "no-sslv3", "no-tlsv10", "no-tlsv11", "no-tlsv12", "no-tlsv13", "force-sslv3",
    "force-tlsv10", "force-tlsv11", "force-tlsv12", "force-tlsv13", "no-tls-tickets", "allow-0rtt",
};
// clang-format on

// The other HAProxy server parameters.
// clang-format off
constexpr std::string_view kServerOtherParams[] = {
    "agent-check", "agent-addr", "agent-inter", "agent-port", "agent-send", "no-agent-check",
    "check-proto", "check-send-proxy", "check-via-socks4", "cookie", "error-limit", "guid",
    "hash-key", "id", "init-addr", "init-state", "log-bufsize", "log-proto", "max-reuse",
    "maxqueue", "minconn", "namespace", "no-send-proxy", "no-send-proxy-v2", "no-send-proxy-v2-ssl",
    "no-send-proxy-v2-ssl-cn", "no-tfo", "observe", "on-error", "on-marked-down", "on-marked-up",
    "pool-conn-name", "pool-low-conn", "pool-max-conn", "pool-purge-delay", "proto", "redir",
    "resolve-net", "resolve-opts", "resolve-prefer", "resolvers", "send-proxy", "send-proxy-v2",
    "send-proxy-v2-ssl", "send-proxy-v2-ssl-cn", "set-proxy-v2-tlv-fmt", "shard", "slowstart",
    "socks4", "source", "stick", "strict-maxconn", "tcp-md5sig", "tcp-ut", "tfo", "track", "ws",
};
// clang-format on

// Applies the parameters from args[first] on to srv.
Status applyServerParams(const Statement& st, size_t first, model::Server& srv) {
  for (size_t i = first; i < st.args.size(); ++i) {
    std::string_view name = st.args[i];
    const ServerParam* param = nullptr;
    for (const auto& sp : kServerParams)
      if (sp.name == name) param = &sp;
    if (param == nullptr) {
      if (contains(kServerTlsParams, name))
        return Error{fmt::format("parameter '{}' is not supported: {}", name, kNoTlsOrigination)};
      if (contains(kServerOtherParams, name))
        return Error{fmt::format("parameter '{}' is not supported yet", name)};
      return Error{fmt::format("unknown parameter '{}'", name)};
    }
    std::string_view value;
    if (param->takesValue) {
      if (i + 1 >= st.args.size())
        return Error{fmt::format("parameter '{}' expects a value", name)};
      value = st.args[++i];
    }
    if (auto s = param->apply(srv, value); !s)
      return Error{fmt::format("parameter '{}': {}", name, s.error())};
  }
  return Ok{};
}

Status proxyServer(Parser& p, const Statement& st) {
  if (st.args.size() < 3)
    return Error{"keyword 'server' expects a name and an address (e.g. 'server s1 10.0.0.1:80')"};
  const std::string& name = st.args[1];
  if (name.empty()) return Error{"keyword 'server' expects a name and an address"};
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.' || c == ':';
    if (!ok) {
      return keywordError("server", fmt::format("character '{}' is not permitted in server name "
                                                "'{}'",
                                                c, name));
    }
  }
  for (const auto& other : p.proxy().servers) {
    if (other.name == name) {
      return keywordError("server", fmt::format("duplicate server name '{}' (first declared at "
                                                "{}:{})",
                                                name, other.loc.file, other.loc.line));
    }
  }
  model::Server srv = p.settings().defaultServer;
  srv.name = name;
  srv.addrText = st.args[2];
  srv.loc = st.loc;
  auto addr = parseServerAddress(srv.addrText);
  if (!addr) return keywordError("server", fmt::format("server '{}': {}", name, addr.error()));
  srv.addr = *addr;
  if (auto s = applyServerParams(st, 3, srv); !s)
    return keywordError("server", fmt::format("server '{}': {}", name, s.error()));
  if (srv.check.enabled) {
    p.warn(st, fmt::format("keyword 'server': health checks are not active yet; server '{}' is "
                           "treated as always up",
                           name));
  }
  p.proxy().servers.push_back(std::move(srv));
  return Ok{};
}

Status proxyDefaultServer(Parser& p, const Statement& st) {
  if (auto s = applyServerParams(st, 1, p.settings().defaultServer); !s)
    return keywordError("default-server", s.error());
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
    {"client", kFrontSide, &ProxySettings::clientTimeout, false},
    {"connect", kBackSide, &ProxySettings::connectTimeout, false},
    {"server", kBackSide, &ProxySettings::serverTimeout, false},
    {"queue", kBackSide, nullptr, false},
    {"tunnel", kBackSide, nullptr, false},
    {"client-fin", kFrontSide, nullptr, false},
    {"server-fin", kBackSide, nullptr, false},
    {"check", kBackSide, nullptr, false},
    {"tarpit", kAllProxies, nullptr, true},
    {"http-request", kAllProxies, nullptr, true},
    {"http-keep-alive", kAllProxies, nullptr, true},
};

Status proxyTimeout(Parser& p, const Statement& st) {
  if (st.args.size() < 2)
    return Error{"keyword 'timeout' expects 'client', 'connect' or 'server' and a time value"};
  std::string keyword = fmt::format("timeout {}", st.args[1]);
  const TimeoutSpec* spec = nullptr;
  for (const auto& t : kTimeouts)
    if (t.name == st.args[1]) spec = &t;
  if (spec == nullptr) return Error{fmt::format("unknown keyword '{}'", keyword)};
  SectionKind kind = p.sectionKind();
  if ((spec->allowed & maskOf(kind)) == 0) {
    return Error{
        fmt::format("keyword '{}' is not allowed in a {} section (HAProxy accepts it in "
                    "{} sections)",
                    keyword, sectionKindName(kind), describeMask(spec->allowed))};
  }
  if (spec->http)
    return Error{fmt::format("keyword '{}' requires HTTP mode: {}", keyword, kNoHttp)};
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
// option

enum class OptionKind : uint8_t {
  kUnsupported,  // means something for a TCP proxy; not supported yet
  kHttpOnly,     // needs HTTP; an error
  kIgnored,      // needs HTTP; HAProxy ignores it in TCP proxies with a warning, and so do we
};

struct OptionSpec {
  std::string_view name;
  OptionKind kind;
};

// kIgnored: the options HAProxy flags as HTTP-only (PR_MODE_HTTP in its option tables, and
// the forwardfor/originalto header options), which it ignores with a warning in a
// "mode tcp" proxy. A Fulcrum proxy is always "mode tcp", so they mean nothing here either.
constexpr OptionSpec kOptions[] = {
    {"abortonclose", OptionKind::kUnsupported},
    {"allbackups", OptionKind::kUnsupported},
    {"clitcpka", OptionKind::kUnsupported},
    {"contstats", OptionKind::kUnsupported},
    {"dontlog-normal", OptionKind::kUnsupported},
    {"dontlognull", OptionKind::kUnsupported},
    {"external-check", OptionKind::kUnsupported},
    {"httpchk", OptionKind::kUnsupported},
    {"httplog", OptionKind::kUnsupported},
    {"httpslog", OptionKind::kUnsupported},
    {"independent-streams", OptionKind::kUnsupported},
    {"ldap-check", OptionKind::kUnsupported},
    {"log-health-checks", OptionKind::kUnsupported},
    {"log-separate-errors", OptionKind::kUnsupported},
    {"logasap", OptionKind::kUnsupported},
    {"mysql-check", OptionKind::kUnsupported},
    {"nolinger", OptionKind::kUnsupported},
    {"persist", OptionKind::kUnsupported},
    {"pgsql-check", OptionKind::kUnsupported},
    {"redis-check", OptionKind::kUnsupported},
    {"redispatch", OptionKind::kUnsupported},
    {"smtpchk", OptionKind::kUnsupported},
    {"socket-stats", OptionKind::kUnsupported},
    {"splice-auto", OptionKind::kUnsupported},
    {"splice-request", OptionKind::kUnsupported},
    {"splice-response", OptionKind::kUnsupported},
    {"spop-check", OptionKind::kUnsupported},
    {"srvtcpka", OptionKind::kUnsupported},
    {"ssl-hello-chk", OptionKind::kUnsupported},
    {"tcp-check", OptionKind::kUnsupported},
    {"tcp-smart-accept", OptionKind::kUnsupported},
    {"tcp-smart-connect", OptionKind::kUnsupported},
    {"tcpka", OptionKind::kUnsupported},
    {"tcplog", OptionKind::kUnsupported},
    {"transparent", OptionKind::kUnsupported},
    {"forwarded", OptionKind::kHttpOnly},
    {"http-drop-request-trailers", OptionKind::kHttpOnly},
    {"http-drop-response-trailers", OptionKind::kHttpOnly},
    {"http-keep-alive", OptionKind::kHttpOnly},
    {"http-restrict-req-hdr-names", OptionKind::kHttpOnly},
    {"http-server-close", OptionKind::kHttpOnly},
    {"httpclose", OptionKind::kHttpOnly},
    {"accept-invalid-http-request", OptionKind::kIgnored},
    {"accept-invalid-http-response", OptionKind::kIgnored},
    {"checkcache", OptionKind::kIgnored},
    {"disable-h2-upgrade", OptionKind::kIgnored},
    {"forwardfor", OptionKind::kIgnored},
    {"h1-case-adjust-bogus-client", OptionKind::kIgnored},
    {"h1-case-adjust-bogus-server", OptionKind::kIgnored},
    {"http-buffer-request", OptionKind::kIgnored},
    {"http-ignore-probes", OptionKind::kIgnored},
    {"http-no-delay", OptionKind::kIgnored},
    {"http-pretend-keepalive", OptionKind::kIgnored},
    {"http-use-proxy-header", OptionKind::kIgnored},
    {"idle-close-on-response", OptionKind::kIgnored},
    {"originalto", OptionKind::kIgnored},
    {"prefer-last-server", OptionKind::kIgnored},
};

// The arguments HAProxy accepts after the ignored options, so that an ignored line is
// still one HAProxy would accept.
Status checkIgnoredOptionArgs(std::string_view option, const Statement& st, size_t first) {
  for (size_t i = first; i < st.args.size(); ++i) {
    std::string_view a = st.args[i];
    bool takesValue =
        (option == "forwardfor" || option == "originalto") && (a == "except" || a == "header");
    bool flag = option == "forwardfor" && a == "if-none";
    if (takesValue) {
      if (i + 1 >= st.args.size()) return Error{fmt::format("'{}' expects a value", a)};
      ++i;
    } else if (!flag) {
      return Error{fmt::format("unexpected argument '{}'", a)};
    }
  }
  return Ok{};
}

// "option NAME ...", "no option NAME" and "default option NAME"; optionAt is the index of
// the word "option".
Status optionStatement(Parser& p, const Statement& st, size_t optionAt) {
  std::string prefix;
  for (size_t i = 0; i <= optionAt; ++i) prefix += (i ? " " : "") + st.args[i];
  if (st.args.size() <= optionAt + 1)
    return Error{fmt::format("keyword '{}' expects an option name", prefix)};
  std::string_view name = st.args[optionAt + 1];
  std::string keyword = fmt::format("{} {}", prefix, name);
  const OptionSpec* spec = nullptr;
  for (const auto& o : kOptions)
    if (o.name == name) spec = &o;
  if (spec == nullptr) return Error{fmt::format("unknown option '{}' (in '{}')", name, keyword)};
  switch (spec->kind) {
    case OptionKind::kUnsupported:
      return Error{fmt::format("keyword '{}' is not supported yet", keyword)};
    case OptionKind::kHttpOnly:
      return Error{fmt::format("keyword '{}' requires HTTP mode: {}", keyword, kNoHttp)};
    case OptionKind::kIgnored:
      break;
  }
  if (optionAt == 0) {
    if (auto s = checkIgnoredOptionArgs(name, st, 2); !s) return keywordError(keyword, s.error());
  } else if (st.args.size() > optionAt + 2) {
    return keywordError(keyword, fmt::format("unexpected argument '{}'", st.args[optionAt + 2]));
  }
  p.warn(st, fmt::format("keyword '{}' is ignored: it requires HTTP mode and Fulcrum proxies "
                         "are 'mode tcp' (HAProxy ignores it in TCP mode too)",
                         keyword));
  return Ok{};
}

Status proxyOption(Parser& p, const Statement& st) { return optionStatement(p, st, 0); }

// "no ..." and "default ...": HAProxy has them before "option" (and "no log").
Status proxyNegation(Parser& p, const Statement& st) {
  if (st.arg(1) == "option") return optionStatement(p, st, 1);
  if (st.args[0] == "no" && st.arg(1) == "log")
    return Error{"keyword 'no log' is not supported yet (connection logs come later)"};
  if (st.args.size() < 2) return Error{fmt::format("keyword '{}' expects 'option'", st.args[0])};
  return Error{fmt::format("unknown keyword '{} {}'", st.args[0], st.args[1])};
}

// ---------------------------------------------------------------------------------------
// The tables

constexpr std::string_view kRemovedClitimeout = "was removed in HAProxy 2.1; use 'timeout client'";
constexpr std::string_view kRemovedContimeout = "was removed in HAProxy 2.1; use 'timeout connect'";
constexpr std::string_view kRemovedSrvtimeout = "was removed in HAProxy 2.1; use 'timeout server'";
constexpr std::string_view kHttpNote =
    "requires HTTP mode: Fulcrum is a layer-4 (TCP/UDP) load balancer and does not parse HTTP";
constexpr std::string_view kLogNote = "is not supported yet (connection logs come later)";

constexpr Keyword kGlobalKeywords[] = {
    {"nbthread", kInGlobal, globalNbthread, {}},
    {"maxconn", kInGlobal, globalMaxconn, {}},
    // HAProxy global keywords Fulcrum does not support yet.
    {"log", kInGlobal, nullptr, kLogNote},
    {"log-send-hostname", kInGlobal, nullptr, kLogNote},
    {"log-tag", kInGlobal, nullptr, kLogNote},
    {"anonkey", kInGlobal, nullptr, {}},
    {"busy-polling", kInGlobal, nullptr, {}},
    {"ca-base", kInGlobal, nullptr, {}},
    {"chroot", kInGlobal, nullptr, {}},
    {"close-spread-time", kInGlobal, nullptr, {}},
    {"cluster-secret", kInGlobal, nullptr, {}},
    {"cpu-map", kInGlobal, nullptr, {}},
    {"crt-base", kInGlobal, nullptr, {}},
    {"daemon", kInGlobal, nullptr, {}},
    {"default-path", kInGlobal, nullptr, {}},
    {"description", kInGlobal, nullptr, {}},
    {"expose-experimental-directives", kInGlobal, nullptr, {}},
    {"external-check", kInGlobal, nullptr, {}},
    {"fd-hard-limit", kInGlobal, nullptr, {}},
    {"gid", kInGlobal, nullptr, {}},
    {"grace", kInGlobal, nullptr, {}},
    {"group", kInGlobal, nullptr, {}},
    {"h1-case-adjust", kInGlobal, nullptr, kHttpNote},
    {"h1-case-adjust-file", kInGlobal, nullptr, kHttpNote},
    {"hard-stop-after", kInGlobal, nullptr, {}},
    {"insecure-fork-wanted", kInGlobal, nullptr, {}},
    {"insecure-setuid-wanted", kInGlobal, nullptr, {}},
    {"issuers-chain-path", kInGlobal, nullptr, {}},
    {"key-base", kInGlobal, nullptr, {}},
    {"localpeer", kInGlobal, nullptr, {}},
    {"master-worker", kInGlobal, nullptr, {}},
    {"max-spread-checks", kInGlobal, nullptr, {}},
    {"maxcompcpuusage", kInGlobal, nullptr, {}},
    {"maxcomprate", kInGlobal, nullptr, {}},
    {"maxconnrate", kInGlobal, nullptr, {}},
    {"maxpipes", kInGlobal, nullptr, {}},
    {"maxsessrate", kInGlobal, nullptr, {}},
    {"maxsslconn", kInGlobal, nullptr, {}},
    {"maxsslrate", kInGlobal, nullptr, {}},
    {"maxzlibmem", kInGlobal, nullptr, {}},
    {"mworker-max-reloads", kInGlobal, nullptr, {}},
    {"nbproc", kInGlobal, nullptr, "was removed in HAProxy 2.5; use 'nbthread'"},
    {"node", kInGlobal, nullptr, {}},
    {"noepoll", kInGlobal, nullptr, {}},
    {"noevports", kInGlobal, nullptr, {}},
    {"nogetaddrinfo", kInGlobal, nullptr, {}},
    {"nokqueue", kInGlobal, nullptr, {}},
    {"nopoll", kInGlobal, nullptr, {}},
    {"noreuseport", kInGlobal, nullptr, {}},
    {"nosplice", kInGlobal, nullptr, {}},
    {"numa-cpu-mapping", kInGlobal, nullptr, {}},
    {"pidfile", kInGlobal, nullptr, {}},
    {"pp2-never-send-local", kInGlobal, nullptr, {}},
    {"presetenv", kInGlobal, nullptr, {}},
    {"quiet", kInGlobal, nullptr, {}},
    {"resetenv", kInGlobal, nullptr, {}},
    {"server-state-base", kInGlobal, nullptr, {}},
    {"server-state-file", kInGlobal, nullptr, {}},
    {"set-dumpable", kInGlobal, nullptr, {}},
    {"set-var", kInGlobal, nullptr, {}},
    {"set-var-fmt", kInGlobal, nullptr, {}},
    {"setenv", kInGlobal, nullptr, {}},
    {"spread-checks", kInGlobal, nullptr, {}},
    {"stats", kInGlobal, nullptr, {}},
    {"strict-limits", kInGlobal, nullptr, {}},
    {"thread-group", kInGlobal, nullptr, {}},
    {"thread-groups", kInGlobal, nullptr, {}},
    {"uid", kInGlobal, nullptr, {}},
    {"ulimit-n", kInGlobal, nullptr, {}},
    {"unix-bind", kInGlobal, nullptr, {}},
    {"unsetenv", kInGlobal, nullptr, {}},
    {"user", kInGlobal, nullptr, {}},
    {"zero-warning", kInGlobal, nullptr, {}},
};

// Families of HAProxy global keywords, by prefix ("tune.bufsize", "ssl-default-bind-ciphers").
// clang-format off
constexpr std::string_view kGlobalKeywordPrefixes[] = {
    "tune.", "ssl-", "httpclient.", "profiling.", "lua-", "51degrees-", "wurfl-", "deviceatlas-",
    "ocsp-update.", "limited-quic", "no-quic", "quic-", "debug.",
};
// clang-format on
constexpr Keyword kGlobalPrefixed = {"", kInGlobal, nullptr, {}};

constexpr Keyword kProxyKeywords[] = {
    {"mode", kAllProxies, proxyMode, {}},
    {"bind", kInFrontend | kInListen, proxyBind, {}},
    {"default_backend", kFrontSide, proxyDefaultBackend, {}},
    {"balance", kBackSide, proxyBalance, {}},
    {"server", kInListen | kInBackend, proxyServer, {}},
    {"default-server", kBackSide, proxyDefaultServer, {}},
    {"timeout", kAllProxies, proxyTimeout, {}},
    {"maxconn", kFrontSide, proxyMaxconn, {}},
    {"retries", kBackSide, proxyRetries, {}},
    {"option", kAllProxies, proxyOption, {}},
    {"no", kAllProxies, proxyNegation, {}},
    {"default", kAllProxies, proxyNegation, {}},
    // HAProxy proxy keywords Fulcrum does not support yet.
    {"log", kAllProxies, nullptr, kLogNote},
    {"log-format", kAllProxies, nullptr, kLogNote},
    {"log-format-sd", kAllProxies, nullptr, kLogNote},
    {"log-steps", kAllProxies, nullptr, kLogNote},
    {"log-tag", kAllProxies, nullptr, kLogNote},
    {"error-log-format", kAllProxies, nullptr, kLogNote},
    {"acl", kAllProxies, nullptr, {}},
    {"backlog", kAllProxies, nullptr, {}},
    {"clitcpka-cnt", kAllProxies, nullptr, {}},
    {"clitcpka-idle", kAllProxies, nullptr, {}},
    {"clitcpka-intvl", kAllProxies, nullptr, {}},
    {"description", kAllProxies, nullptr, {}},
    {"disabled", kAllProxies, nullptr, {}},
    {"dispatch", kAllProxies, nullptr, {}},
    {"email-alert", kAllProxies, nullptr, {}},
    {"enabled", kAllProxies, nullptr, {}},
    {"external-check", kAllProxies, nullptr, {}},
    {"force-persist", kAllProxies, nullptr, {}},
    {"fullconn", kAllProxies, nullptr, {}},
    {"guid", kAllProxies, nullptr, {}},
    {"hash-balance-factor", kAllProxies, nullptr, {}},
    {"hash-key", kAllProxies, nullptr, {}},
    {"hash-type", kAllProxies, nullptr, {}},
    {"id", kAllProxies, nullptr, {}},
    {"ignore-persist", kAllProxies, nullptr, {}},
    {"load-server-state-from-file", kAllProxies, nullptr, {}},
    {"max-session-srv-conns", kAllProxies, nullptr, {}},
    {"persist", kAllProxies, nullptr, {}},
    {"rate-limit", kAllProxies, nullptr, {}},
    {"retry-on", kAllProxies, nullptr, {}},
    {"server-state-file-name", kAllProxies, nullptr, {}},
    {"server-template", kAllProxies, nullptr, {}},
    {"source", kAllProxies, nullptr, {}},
    {"srvtcpka-cnt", kAllProxies, nullptr, {}},
    {"srvtcpka-idle", kAllProxies, nullptr, {}},
    {"srvtcpka-intvl", kAllProxies, nullptr, {}},
    {"stick", kAllProxies, nullptr, {}},
    {"stick-table", kAllProxies, nullptr, {}},
    {"tcp-check", kAllProxies, nullptr, {}},
    {"tcp-request", kAllProxies, nullptr, {}},
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
    {"compression", kAllProxies, nullptr, kHttpNote},
    {"cookie", kAllProxies, nullptr, kHttpNote},
    {"dynamic-cookie-key", kAllProxies, nullptr, kHttpNote},
    {"errorfile", kAllProxies, nullptr, kHttpNote},
    {"errorfiles", kAllProxies, nullptr, kHttpNote},
    {"errorloc", kAllProxies, nullptr, kHttpNote},
    {"errorloc302", kAllProxies, nullptr, kHttpNote},
    {"errorloc303", kAllProxies, nullptr, kHttpNote},
    {"http-after-response", kAllProxies, nullptr, kHttpNote},
    {"http-check", kAllProxies, nullptr, kHttpNote},
    {"http-error", kAllProxies, nullptr, kHttpNote},
    {"http-request", kAllProxies, nullptr, kHttpNote},
    {"http-response", kAllProxies, nullptr, kHttpNote},
    {"http-reuse", kAllProxies, nullptr, kHttpNote},
    {"http-send-name-header", kAllProxies, nullptr, kHttpNote},
    {"max-keep-alive-queue", kAllProxies, nullptr, kHttpNote},
    {"monitor", kAllProxies, nullptr, kHttpNote},
    {"monitor-uri", kAllProxies, nullptr, kHttpNote},
    {"redirect", kAllProxies, nullptr, kHttpNote},
    {"stats", kAllProxies, nullptr, kHttpNote},
    {"unique-id-header", kAllProxies, nullptr, kHttpNote},
    {"use-fcgi-app", kAllProxies, nullptr, kHttpNote},
};

template <size_t N>
const Keyword* findIn(const Keyword (&table)[N], std::string_view name) {
  for (const auto& k : table)
    if (k.name == name) return &k;
  return nullptr;
}

}  // namespace

const Keyword* findGlobalKeyword(std::string_view name) {
  if (const Keyword* k = findIn(kGlobalKeywords, name)) return k;
  for (auto prefix : kGlobalKeywordPrefixes)
    if (name.starts_with(prefix)) return &kGlobalPrefixed;
  return nullptr;
}

const Keyword* findProxyKeyword(std::string_view name) { return findIn(kProxyKeywords, name); }

}  // namespace fulcrum::config
