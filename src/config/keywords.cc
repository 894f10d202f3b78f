// The keyword tables: for each HAProxy keyword, the sections where HAProxy accepts it and
// the handler that applies it, or no handler when Fulcrum does not support it (yet). A
// keyword missing from every table is unknown to HAProxy too.
//
// To support a new keyword: write a handler and put it in the table entry. To support a
// new balance algorithm: flip its "supported" flag in kBalanceAlgos.
#include <fmt/core.h>
#include <net/if.h>
#include <sys/un.h>

#include <climits>
#include <iterator>
#include <regex>

#include "config/address.h"
#include "config/cidr.h"
#include "config/cpu_map.h"
#include "config/log_target.h"
#include "config/parser.h"
#include "config/units.h"

namespace fulcrum::config {
namespace {

constexpr uint64_t kMaxInt = INT_MAX;  // HAProxy keeps these counts in ints

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
  p.setNbthreadLoc(st.loc);
  return Ok{};
}

Status globalMaxconn(Parser& p, const Statement& st) {
  auto v = uintArgument(st, 0, kMaxInt);
  if (!v) return Error{v.error()};
  p.global().maxconn = *v;
  return Ok{};
}

Status globalNosplice(Parser& p, const Statement& st) {
  if (st.args.size() > 1)
    return keywordError("nosplice", fmt::format("unexpected argument '{}'", st.args[1]));
  p.global().nosplice = true;
  return Ok{};
}

Status globalMaxpipes(Parser& p, const Statement& st) {
  auto v = uintArgument(st, 0, kMaxInt);
  if (!v) return Error{v.error()};
  p.global().maxpipes = *v;
  return Ok{};
}

// "spread-checks N": 0 to 50 percent of random jitter on every check interval.
Status globalSpreadChecks(Parser& p, const Statement& st) {
  auto v = uintArgument(st, 0, 50);
  if (!v) return Error{v.error()};
  p.global().spreadChecks = *v;
  return Ok{};
}

// "stats socket PATH [mode OCTAL] [level user|operator|admin] ...", "stats bind ADDR:PORT"
// (Fulcrum's admin HTTP listener), "stats timeout T", "stats maxconn N".
Status globalStats(Parser& p, const Statement& st) {
  const std::string_view what = st.arg(1);
  if (what == "socket") {
    if (st.args.size() < 3 || st.args[2].empty())
      return keywordError("stats socket", "expects a path (e.g. 'stats socket /run/fulcrum.sock')");
    model::StatsSocket sock;
    sock.path = st.args[2];
    if (sock.path.find(':') != std::string::npos && sock.path.front() != '/')
      return keywordError("stats socket", fmt::format("'{}': only UNIX socket paths are supported "
                                                      "(the admin HTTP listener is 'stats bind')",
                                                      sock.path));
    if (sock.path.size() >= sizeof(sockaddr_un{}.sun_path))
      return keywordError("stats socket",
                          fmt::format("path '{}' is too long for a UNIX socket", sock.path));
    for (size_t i = 3; i < st.args.size(); ++i) {
      const std::string& opt = st.args[i];
      const bool hasValue = i + 1 < st.args.size();
      if (opt == "mode" && hasValue) {
        const std::string& v = st.args[++i];
        char* end = nullptr;
        unsigned long m = std::strtoul(v.c_str(), &end, 8);
        if (v.empty() || *end != '\0' || m > 07777)
          return keywordError("stats socket",
                              fmt::format("'mode' expects an octal mode, not '{}'", v));
        sock.mode = static_cast<uint32_t>(m);
      } else if (opt == "level" && hasValue) {
        const std::string& v = st.args[++i];
        if (v == "user")
          sock.level = model::ApiLevel::kUser;
        else if (v == "operator")
          sock.level = model::ApiLevel::kOperator;
        else if (v == "admin")
          sock.level = model::ApiLevel::kAdmin;
        else
          return keywordError("stats socket", fmt::format("'level' expects 'user', 'operator' or "
                                                          "'admin', not '{}'",
                                                          v));
      } else if ((opt == "user" || opt == "group" || opt == "uid" || opt == "gid" ||
                  opt == "process" || opt == "thread") &&
                 hasValue) {
        p.warn(st, fmt::format("keyword 'stats socket': '{} {}' is not supported; ignored", opt,
                               st.args[i + 1]));
        ++i;
      } else if (opt == "expose-fd" && hasValue) {
        ++i;  // HAProxy's seamless reload hands listeners over; Fulcrum reloads in-process
      } else {
        return keywordError("stats socket", fmt::format("unknown or incomplete option '{}'", opt));
      }
    }
    sock.loc = st.loc;
    p.global().statsSockets.push_back(std::move(sock));
    return Ok{};
  }
  if (what == "bind") {
    if (st.args.size() != 3)
      return keywordError("stats bind", "expects one address (e.g. 'stats bind 127.0.0.1:8404')");
    auto addrs = parseBindAddresses(st.args[2]);
    if (!addrs) return keywordError("stats bind", addrs.error());
    for (auto& a : *addrs)
      p.global().statsHttp.push_back(model::StatsHttpBind{a.text, a.addr, st.loc});
    return Ok{};
  }
  if (what == "timeout") {
    auto t = st.args.size() == 3 ? timerValue(st.args[2], false)
                                 : Result<Micros>(Error{"expects one time value"});
    if (!t) return keywordError("stats timeout", t.error());
    p.global().statsTimeout = *t;
    return Ok{};
  }
  if (what == "maxconn") {
    auto v = st.args.size() == 3 ? parseUint(st.args[2], 1, kMaxInt)
                                 : Result<uint64_t>(Error{"expects one number"});
    if (!v) return keywordError("stats maxconn", v.error());
    p.global().statsMaxconn = static_cast<uint32_t>(*v);
    return Ok{};
  }
  if (what == "bind-process") {
    p.warn(st, "keyword 'stats bind-process' was removed in HAProxy 2.5; ignored");
    return Ok{};
  }
  return keywordError("stats", fmt::format("unknown option '{}' (expected socket, bind, timeout or "
                                           "maxconn)",
                                           what));
}

// "hard-stop-after T": how long a graceful stop (SIGTERM) waits for connections to end.
Status globalHardStopAfter(Parser& p, const Statement& st) {
  if (st.args.size() != 2) return keywordError("hard-stop-after", "expects one time value");
  auto t = timerValue(st.args[1], false);
  if (!t) return keywordError("hard-stop-after", t.error());
  p.global().hardStopAfter = *t;
  return Ok{};
}

Status globalCpuMap(Parser& p, const Statement& st) {
  auto m = parseCpuMap(std::vector<std::string>(st.args.begin() + 1, st.args.end()));
  if (!m) return keywordError("cpu-map", m.error());
  if (!m->warning.empty()) p.warn(st, fmt::format("keyword 'cpu-map': {}", m->warning));
  m->map.loc = st.loc;
  p.addCpuMap(std::move(*m));
  return Ok{};
}

// The settings of a log line that Fulcrum cannot apply yet are accepted with a warning, so
// that a usual HAProxy line ("log /dev/log local0 notice") loads and says what it ignores.
void warnNotApplied(Parser& p, const Statement& st, const ParsedLog& log) {
  if (log.notApplied.empty()) return;
  std::string list;
  for (size_t i = 0; i < log.notApplied.size(); ++i)
    list += fmt::format("{}'{}'", i ? ", " : "", log.notApplied[i]);
  p.warn(st, fmt::format("keyword 'log': {} {} not applied yet (Fulcrum does not filter log lines "
                         "by level, nor change their length or format, for now)",
                         list, log.notApplied.size() > 1 ? "are" : "is"));
}

Status globalLog(Parser& p, const Statement& st) {
  if (st.arg(1) == "global")
    return keywordError("log", "'log global' is for proxy sections (it copies these targets)");
  auto log = parseLogLine(st.args);
  if (!log) return keywordError("log", log.error());
  warnNotApplied(p, st, *log);
  log->target.loc = st.loc;
  p.global().logs.push_back(std::move(log->target));
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

// The other HAProxy bind parameters (those Fulcrum supports are in applyBindParam).
// clang-format off
constexpr std::string_view kBindOtherParams[] = {
    "accept-netscaler-cip", "expose-fd", "gid", "group", "guid-prefix", "id", "idle-ping", "label",
    "level", "severity-output", "mode", "mss", "name", "namespace", "nbconn", "nice", "process",
    "proto", "quic-cc-algo", "quic-force-retry", "quic-socket", "shards", "tcp-md5sig", "tcp-ut",
    "thread", "transparent", "uid", "user",
};
// clang-format on

template <size_t N>
bool contains(const std::string_view (&list)[N], std::string_view word) {
  for (auto w : list)
    if (w == word) return true;
  return false;
}

// Applies the bind parameter at args[i] (and its value) to b; i moves past its value.
Status applyBindParam(const Statement& st, size_t& i, model::Bind& b) {
  std::string_view param = st.args[i];
  auto value = [&]() -> Result<std::string_view> {
    if (i + 1 >= st.args.size())
      return Error{fmt::format("bind parameter '{}' expects a value", param)};
    return std::string_view(st.args[++i]);
  };
  auto count = [&](uint32_t& out) -> Status {
    auto v = value();
    if (!v) return Error{v.error()};
    auto n = parseUint(*v, 0, kMaxInt);
    if (!n) return Error{fmt::format("bind parameter '{}': {}", param, n.error())};
    out = static_cast<uint32_t>(*n);
    return Ok{};
  };
  if (param == "accept-proxy") {
    b.acceptProxy = true;
  } else if (param == "v4v6") {
    b.v6only = model::Tristate::kOff;
  } else if (param == "v6only") {
    b.v6only = model::Tristate::kOn;
  } else if (param == "backlog") {
    return count(b.backlog);
  } else if (param == "maxconn") {
    return count(b.maxconn);
  } else if (param == "defer-accept") {
    b.deferAccept = true;
  } else if (param == "tfo") {
    b.tfo = true;
  } else if (param == "interface") {
    auto v = value();
    if (!v) return Error{v.error()};
    if (v->empty()) return Error{"bind parameter 'interface' expects an interface name"};
    if (v->size() >= IFNAMSIZ) {
      return Error{fmt::format("bind parameter 'interface': name '{}' is longer than {} characters",
                               *v, IFNAMSIZ - 1)};
    }
    b.interface = std::string(*v);
  } else if (contains(kBindTlsParams, param)) {
    return Error{fmt::format("bind parameter '{}' is not supported: {}", param, kNoTlsTermination)};
  } else if (contains(kBindOtherParams, param)) {
    return Error{fmt::format("bind parameter '{}' is not supported yet", param)};
  } else {
    return Error{fmt::format("unknown bind parameter '{}'", param)};
  }
  return Ok{};
}

Status proxyBind(Parser& p, const Statement& st) {
  if (st.args.size() < 2) return Error{"keyword 'bind' expects an address (e.g. '*:443')"};
  // The parameters apply to every address of the line.
  model::Bind params;
  params.loc = st.loc;
  for (size_t i = 2; i < st.args.size(); ++i)
    if (auto s = applyBindParam(st, i, params); !s) return keywordError("bind", s.error());
  auto addrs = parseBindAddresses(st.args[1]);
  if (!addrs) return keywordError("bind", addrs.error());
  for (auto& a : *addrs) {
    model::Bind b = params;
    b.text = std::move(a.text);
    b.addr = a.addr;
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

Status setPort(uint16_t& out, std::string_view v) {
  auto port = parsePort(v);
  if (!port) return Error{port.error()};
  out = *port;
  return Ok{};
}

// A numeric address for checks or the agent; "any" cannot be connected to.
Status setProbeAddr(std::optional<SockAddr>& out, std::string_view v, std::string_view what) {
  auto a = SockAddr::parseHost(v, 0);
  if (!a) return Error{a.error()};
  if (a->isAny()) return Error{fmt::format("'{}' is not a usable {} address", v, what)};
  out = *a;
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
    {"port", true, [](model::Server& s, std::string_view v) { return setPort(s.check.port, v); }},
    {"addr", true,
     [](model::Server& s, std::string_view v) { return setProbeAddr(s.check.addr, v, "check"); }},
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
    {"maxqueue", true,
     [](model::Server& s, std::string_view v) { return setCount(s.maxqueue, v, 0, kMaxInt); }},
    {"slowstart", true,
     [](model::Server& s, std::string_view v) -> Status {
       auto t = timerValue(v, true);  // 0: no slow start
       if (!t) return Error{t.error()};
       s.slowstart = *t;
       return Ok{};
     }},
    // Health checks: the agent, passive observation and the actions on state changes.
    {"agent-check", false,
     [](model::Server& s, std::string_view) -> Status {
       s.agent.enabled = true;
       return Ok{};
     }},
    {"no-agent-check", false,
     [](model::Server& s, std::string_view) -> Status {
       s.agent.enabled = false;
       return Ok{};
     }},
    {"agent-port", true,
     [](model::Server& s, std::string_view v) { return setPort(s.agent.port, v); }},
    {"agent-addr", true,
     [](model::Server& s, std::string_view v) { return setProbeAddr(s.agent.addr, v, "agent"); }},
    {"agent-inter", true,
     [](model::Server& s, std::string_view v) { return setTimer(s.agent.inter, v); }},
    {"agent-send", true,
     [](model::Server& s, std::string_view v) -> Status {
       s.agent.send = std::string(v);
       return Ok{};
     }},
    {"observe", true,
     [](model::Server& s, std::string_view v) -> Status {
       if (v == "layer4") {
         s.observe.mode = model::Observe::kLayer4;
         return Ok{};
       }
       if (v == "layer7") return Error{fmt::format("'layer7' is not supported: {}", kNoHttp)};
       return Error{fmt::format("unknown mode '{}' (expected 'layer4')", v)};
     }},
    {"error-limit", true,
     [](model::Server& s, std::string_view v) {
       return setCount(s.observe.errorLimit, v, 1, kMaxInt);
     }},
    {"on-error", true,
     [](model::Server& s, std::string_view v) -> Status {
       if (v == "fastinter")
         s.observe.onError = model::OnError::kFastinter;
       else if (v == "fail-check")
         s.observe.onError = model::OnError::kFailCheck;
       else if (v == "sudden-death")
         s.observe.onError = model::OnError::kSuddenDeath;
       else if (v == "mark-down")
         s.observe.onError = model::OnError::kMarkDown;
       else
         return Error{
             fmt::format("unknown mode '{}' (expected 'fastinter', 'fail-check', "
                         "'sudden-death' or 'mark-down')",
                         v)};
       return Ok{};
     }},
    {"on-marked-down", true,
     [](model::Server& s, std::string_view v) -> Status {
       if (v != "shutdown-sessions")
         return Error{fmt::format("unknown action '{}' (expected 'shutdown-sessions')", v)};
       s.shutdownOnDown = true;
       return Ok{};
     }},
    {"on-marked-up", true,
     [](model::Server& s, std::string_view v) -> Status {
       if (v != "shutdown-backup-sessions")
         return Error{fmt::format("unknown action '{}' (expected 'shutdown-backup-sessions')", v)};
       s.shutdownBackupsOnUp = true;
       return Ok{};
     }},
    // HAProxy keeps one flag per version and sends v2 when both are set.
    {"send-proxy", false,
     [](model::Server& s, std::string_view) -> Status {
       if (s.sendProxy != model::ProxyProtocol::kV2) s.sendProxy = model::ProxyProtocol::kV1;
       return Ok{};
     }},
    {"send-proxy-v2", false,
     [](model::Server& s, std::string_view) -> Status {
       s.sendProxy = model::ProxyProtocol::kV2;
       return Ok{};
     }},
    {"no-send-proxy", false,
     [](model::Server& s, std::string_view) -> Status {
       if (s.sendProxy == model::ProxyProtocol::kV1) s.sendProxy = model::ProxyProtocol::kNone;
       return Ok{};
     }},
    {"no-send-proxy-v2", false,
     [](model::Server& s, std::string_view) -> Status {
       if (s.sendProxy == model::ProxyProtocol::kV2) s.sendProxy = model::ProxyProtocol::kNone;
       return Ok{};
     }},
    {"source", true,
     [](model::Server& s, std::string_view v) -> Status {
       auto a = sourceAddress(v);
       if (!a) return Error{a.error()};
       s.source = *a;
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
    "check-proto", "check-send-proxy", "check-via-socks4", "cookie", "guid", "hash-key", "id",
    "init-addr", "init-state", "log-bufsize", "log-proto", "max-reuse", "minconn", "namespace",
    "no-send-proxy-v2-ssl", "no-send-proxy-v2-ssl-cn", "no-tfo", "pool-conn-name",
    "pool-low-conn", "pool-max-conn", "pool-purge-delay", "proto", "redir", "resolve-net",
    "resolve-opts", "resolve-prefer", "resolvers", "send-proxy-v2-ssl", "send-proxy-v2-ssl-cn",
    "set-proxy-v2-tlv-fmt", "shard", "socks4", "stick", "strict-maxconn", "tcp-md5sig", "tcp-ut",
    "tfo", "track", "ws",
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
    if (name == "source") {
      if (auto s = checkNoSourceOptions(st, i + 1); !s)
        return Error{fmt::format("parameter 'source': {}", s.error())};
    }
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
  if (srv.agent.enabled && srv.agent.port == 0) {
    return keywordError("server",
                        fmt::format("server '{}': 'agent-check' needs 'agent-port'", name));
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
    {"queue", kBackSide, &ProxySettings::queueTimeout, false},
    {"tunnel", kBackSide, &ProxySettings::tunnelTimeout, false},
    {"client-fin", kFrontSide, &ProxySettings::clientFinTimeout, false},
    {"server-fin", kBackSide, &ProxySettings::serverFinTimeout, false},
    {"check", kBackSide, &ProxySettings::checkTimeout, false},
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
  kSupported,    // applied by its handler
  kUnsupported,  // means something for a TCP proxy; not supported yet
  kHttpOnly,     // needs HTTP; an error
  kIgnored,      // needs HTTP; HAProxy ignores it in TCP proxies with a warning, and so do we
};

// How the option is written: "option X", "no option X" or "default option X" (back to
// the built-in value, whatever a defaults section set).
enum class OptionPrefix : uint8_t { kNone, kNo, kDefault };

// Applies a supported option; args[first...] are the words after the option name.
using OptionFn = Status (*)(ProxySettings&, OptionPrefix, const Statement&, size_t first);

struct OptionSpec {
  std::string_view name;
  OptionKind kind;
  SectionMask allowed = kAllProxies;  // for kSupported
  bool negatable = true;              // "no option X" and "default option X" exist
  OptionFn apply = nullptr;
};

// A supported option without argument that sets one flag.
template <bool ProxySettings::*Field>
Status flagOption(ProxySettings& s, OptionPrefix prefix, const Statement&, size_t) {
  s.*Field = prefix == OptionPrefix::kNone;
  return Ok{};
}

Status tcpkaOption(ProxySettings& s, OptionPrefix, const Statement&, size_t) {
  s.cliTcpKa = s.srvTcpKa = true;  // each side uses the flag of its own proxy
  return Ok{};
}

Status spliceAutoOption(ProxySettings& s, OptionPrefix prefix, const Statement&, size_t) {
  s.splice.autoMode = prefix == OptionPrefix::kNone ? model::Tristate::kOn
                      : prefix == OptionPrefix::kNo ? model::Tristate::kOff
                                                    : model::Tristate::kUnset;
  return Ok{};
}

Status spliceRequestOption(ProxySettings& s, OptionPrefix prefix, const Statement&, size_t) {
  s.splice.request = prefix == OptionPrefix::kNone;
  return Ok{};
}

Status spliceResponseOption(ProxySettings& s, OptionPrefix prefix, const Statement&, size_t) {
  s.splice.response = prefix == OptionPrefix::kNone;
  return Ok{};
}

// "option redispatch [INTERVAL]" (HAProxy's interval: P > 0 every Pth retry, -N the Nth
// retry before the last, 0 never; bare: -1, the last retry). "no option redispatch": 0.
// "default option redispatch": Fulcrum's default, 1 (every retry).
Status redispatchOption(ProxySettings& s, OptionPrefix prefix, const Statement& st, size_t first) {
  if (prefix != OptionPrefix::kNone) {
    s.redispatchInterval = prefix == OptionPrefix::kNo ? 0 : 1;
    return Ok{};
  }
  int interval = -1;
  if (first < st.args.size()) {
    std::string_view text = st.args[first];
    const bool negative = !text.empty() && text.front() == '-';
    if (negative) text.remove_prefix(1);
    auto v = parseUint(text, 0, INT_MAX);
    if (!v) return Error{fmt::format("invalid redispatch interval: {}", v.error())};
    interval = negative ? -static_cast<int>(*v) : static_cast<int>(*v);
    if (first + 1 < st.args.size())
      return Error{fmt::format("unexpected argument '{}'", st.args[first + 1])};
  }
  s.redispatchInterval = interval;
  return Ok{};
}

// kIgnored: the options HAProxy flags as HTTP-only (PR_MODE_HTTP in its option tables, and
// the forwardfor/originalto header options), which it ignores with a warning in a
// "mode tcp" proxy. A Fulcrum proxy is always "mode tcp", so they mean nothing here either.
// The sections of the supported options are HAProxy's keyword matrix.
constexpr OptionSpec kOptions[] = {
    {"allbackups", OptionKind::kSupported, kBackSide, true, flagOption<&ProxySettings::allBackups>},
    {"clitcpka", OptionKind::kSupported, kFrontSide, true, flagOption<&ProxySettings::cliTcpKa>},
    {"dontlognull", OptionKind::kSupported, kFrontSide, true,
     flagOption<&ProxySettings::dontlognull>},
    {"nolinger", OptionKind::kSupported, kAllProxies, true, flagOption<&ProxySettings::noLinger>},
    {"redispatch", OptionKind::kSupported, kBackSide, true, redispatchOption},
    {"splice-auto", OptionKind::kSupported, kAllProxies, true, spliceAutoOption},
    {"splice-request", OptionKind::kSupported, kAllProxies, true, spliceRequestOption},
    {"splice-response", OptionKind::kSupported, kAllProxies, true, spliceResponseOption},
    {"srvtcpka", OptionKind::kSupported, kBackSide, true, flagOption<&ProxySettings::srvTcpKa>},
    {"tcpka", OptionKind::kSupported, kAllProxies, false, tcpkaOption},
    {"tcplog", OptionKind::kSupported, kFrontSide, false, flagOption<&ProxySettings::tcplog>},
    {"tcp-check", OptionKind::kSupported, kBackSide, true, flagOption<&ProxySettings::tcpCheck>},
    {"abortonclose", OptionKind::kUnsupported},
    {"contstats", OptionKind::kUnsupported},
    {"dontlog-normal", OptionKind::kUnsupported},
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
    {"persist", OptionKind::kUnsupported},
    {"pgsql-check", OptionKind::kUnsupported},
    {"redis-check", OptionKind::kUnsupported},
    {"smtpchk", OptionKind::kUnsupported},
    {"socket-stats", OptionKind::kUnsupported},
    {"spop-check", OptionKind::kUnsupported},
    {"ssl-hello-chk", OptionKind::kUnsupported},
    {"tcp-smart-accept", OptionKind::kUnsupported},
    {"tcp-smart-connect", OptionKind::kUnsupported},
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
    case OptionKind::kSupported: break;
    case OptionKind::kUnsupported:
      return Error{fmt::format("keyword '{}' is not supported yet", keyword)};
    case OptionKind::kHttpOnly:
      return Error{fmt::format("keyword '{}' requires HTTP mode: {}", keyword, kNoHttp)};
    case OptionKind::kIgnored: break;
  }
  const size_t first = optionAt + 2;  // the first argument after the option name
  if (spec->kind == OptionKind::kSupported) {
    SectionKind kind = p.sectionKind();
    if ((spec->allowed & maskOf(kind)) == 0) {
      return Error{
          fmt::format("keyword '{}' is not allowed in a {} section (HAProxy accepts it in "
                      "{} sections)",
                      keyword, sectionKindName(kind), describeMask(spec->allowed))};
    }
    OptionPrefix how = optionAt == 0        ? OptionPrefix::kNone
                       : st.args[0] == "no" ? OptionPrefix::kNo
                                            : OptionPrefix::kDefault;
    if (how != OptionPrefix::kNone && !spec->negatable) {
      return Error{
          fmt::format("keyword '{}' is not allowed: HAProxy accepts neither 'no' nor "
                      "'default' before option '{}'",
                      keyword, name)};
    }
    bool takesArgs = how == OptionPrefix::kNone && name == "redispatch";
    if (!takesArgs && st.args.size() > first)
      return keywordError(keyword, fmt::format("unexpected argument '{}'", st.args[first]));
    if (auto s = spec->apply(p.settings(), how, st, first); !s)
      return keywordError(keyword, s.error());
    return Ok{};
  }
  if (optionAt == 0) {
    if (auto s = checkIgnoredOptionArgs(name, st, first); !s)
      return keywordError(keyword, s.error());
  } else if (st.args.size() > first) {
    return keywordError(keyword, fmt::format("unexpected argument '{}'", st.args[first]));
  }
  p.warn(st, fmt::format("keyword '{}' is ignored: it requires HTTP mode and Fulcrum proxies "
                         "are 'mode tcp' (HAProxy ignores it in TCP mode too)",
                         keyword));
  return Ok{};
}

Status proxyOption(Parser& p, const Statement& st) { return optionStatement(p, st, 0); }

// ---------------------------------------------------------------------------------------
// log, no log

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

// "no ..." and "default ...": HAProxy has them before "option" (and "no log").
Status proxyNegation(Parser& p, const Statement& st) {
  if (st.arg(1) == "option") return optionStatement(p, st, 1);
  if (st.args[0] == "no" && st.arg(1) == "log") {
    // Forgets the log targets inherited from defaults or set above.
    if (st.args.size() > 2)
      return keywordError(
          "no log", fmt::format("unexpected argument '{}' ('no log' takes none)", st.args[2]));
    p.settings().logs.clear();
    return Ok{};
  }
  if (st.args.size() < 2) return Error{fmt::format("keyword '{}' expects 'option'", st.args[0])};
  return Error{fmt::format("unknown keyword '{} {}'", st.args[0], st.args[1])};
}

// ---------------------------------------------------------------------------------------
// acl, tcp-request

// ACL names use the characters of proxy names (HAProxy's rule).
Status checkAclName(std::string_view name) {
  if (name.empty()) return Error{"expects an ACL name"};
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.' || c == ':';
    if (!ok) return Error{fmt::format("character '{}' is not permitted in ACL name '{}'", c, name)};
  }
  return Ok{};
}

// "CRITERION [FLAGS] VALUE..." from args[first] to args[end): the patterns of an ACL.
// Only "src" is supported; its flags "-n" (no name resolution: Fulcrum never resolves),
// "-m ip" (the default match) and "--" (end of flags) are accepted.
Status parseAclBody(const std::vector<std::string>& args, size_t first, size_t end,
                    std::vector<model::Cidr>& out, size_t& values) {
  values = 0;
  if (first >= end) return Error{"expects a criterion (e.g. 'src') and values"};
  std::string_view criterion = args[first];
  if (criterion != "src") {
    return Error{
        fmt::format("ACL criterion '{}' is not supported yet (Fulcrum supports 'src')", criterion)};
  }
  size_t i = first + 1;
  for (; i < end && args[i].starts_with("-"); ++i) {
    std::string_view flag = args[i];
    if (flag == "--") {
      ++i;
      break;
    }
    if (flag == "-n") continue;
    if (flag == "-m") {
      if (i + 1 >= end) return Error{"ACL flag '-m' expects a match method"};
      if (args[i + 1] != "ip") {
        return Error{fmt::format("match method '-m {}' is not supported for 'src' (only '-m ip')",
                                 args[i + 1])};
      }
      ++i;
      continue;
    }
    return Error{
        fmt::format("ACL flag '{}' is not supported yet (only '-n', '-m ip' and '--')", flag)};
  }
  for (; i < end; ++i) {
    auto c = parseCidr(args[i]);
    if (!c) return Error{c.error()};
    out.push_back(*c);
    ++values;
  }
  return Ok{};
}

Status proxyAcl(Parser& p, const Statement& st) {
  SectionKind kind = p.sectionKind();
  if (kind == SectionKind::kDefaults) {
    return Error{
        "keyword 'acl' is not supported yet in defaults sections (HAProxy accepts it "
        "only in named defaults sections)"};
  }
  if (kind == SectionKind::kBackend) {
    return Error{
        "keyword 'acl' is not supported yet in backends (Fulcrum evaluates ACLs only in "
        "'tcp-request connection' rules of frontend and listen sections)"};
  }
  if (st.args.size() < 2) return Error{"keyword 'acl' expects a name, a criterion and values"};
  if (auto s = checkAclName(st.args[1]); !s) return keywordError("acl", s.error());
  std::vector<model::Cidr> sources;
  size_t values = 0;
  if (auto s = parseAclBody(st.args, 2, st.args.size(), sources, values); !s)
    return keywordError("acl", fmt::format("ACL '{}': {}", st.args[1], s.error()));
  if (values == 0) {
    p.warn(st, fmt::format("keyword 'acl': ACL '{}' has no value to match against; this line "
                           "adds nothing (HAProxy warns too)",
                           st.args[1]));
  }
  // Several lines with the same name add up: the ACL matches if any value matches.
  ProxySection& px = p.proxy();
  for (size_t a = 0; a < px.acls.size(); ++a) {
    if (px.acls[a].name == st.args[1] && !px.aclPredefined[a]) {
      px.acls[a].sources.insert(px.acls[a].sources.end(), sources.begin(), sources.end());
      return Ok{};
    }
  }
  model::Acl acl;
  acl.name = st.args[1];
  acl.sources = std::move(sources);
  acl.loc = st.loc;
  px.acls.push_back(std::move(acl));
  px.aclPredefined.push_back(false);
  return Ok{};
}

// HAProxy's predefined ACLs that mean something at connection time.
bool predefinedAcl(std::string_view name, model::Acl& out) {
  if (name == "TRUE") {
    out.sources.push_back(model::Cidr{});  // ::/0
  } else if (name == "LOCALHOST") {
    out.sources.push_back(*parseCidr("127.0.0.1/8"));
    out.sources.push_back(*parseCidr("::1"));
  } else if (name != "FALSE") {
    return false;
  }
  out.name = std::string(name);
  return true;
}

// Finds the ACL a condition names: one declared above in the section, or a predefined one.
Result<int> findAcl(ProxySection& px, std::string_view name, const model::SourceLoc& loc) {
  for (size_t a = 0; a < px.acls.size(); ++a)
    if (px.acls[a].name == name) return static_cast<int>(a);
  model::Acl acl;
  if (predefinedAcl(name, acl)) {
    acl.loc = loc;
    px.acls.push_back(std::move(acl));
    px.aclPredefined.push_back(true);
    return static_cast<int>(px.acls.size()) - 1;
  }
  constexpr std::string_view kOtherPredefined[] = {
      "HTTP",         "HTTP_1.0",       "HTTP_1.1",      "HTTP_2.0",     "HTTP_CONTENT",
      "HTTP_URL_ABS", "HTTP_URL_SLASH", "HTTP_URL_STAR", "METH_CONNECT", "METH_DELETE",
      "METH_GET",     "METH_HEAD",      "METH_OPTIONS",  "METH_POST",    "METH_PUT",
      "METH_TRACE",   "RDP_COOKIE",     "REQ_CONTENT",   "WAIT_END",
  };
  if (contains(kOtherPredefined, name)) {
    return Error{
        fmt::format("predefined ACL '{}' is not supported (it inspects content; Fulcrum "
                    "supports TRUE, FALSE and LOCALHOST)",
                    name)};
  }
  return Error{fmt::format("no ACL named '{}' is declared before this line in this section", name)};
}

// "if|unless COND" from args[first]: terms separated by spaces are ANDed, "||" or "or"
// separates OR groups, "!" negates a term, "{ src ... }" is an anonymous ACL.
Result<model::Condition> parseCondition(ProxySection& px, const Statement& st, size_t first) {
  model::Condition cond;
  cond.unless = st.args[first] == "unless";
  const std::string& word = st.args[first];
  if (first + 1 >= st.args.size())
    return Error{fmt::format("expects a condition after '{}'", word)};
  std::vector<model::AclTerm> group;
  bool negate = false;
  for (size_t i = first + 1; i < st.args.size(); ++i) {
    std::string_view w = st.args[i];
    if (w == "||" || w == "or") {
      if (negate || group.empty())
        return Error{fmt::format("empty condition before '{}' (a term is missing)", w)};
      cond.anyOf.push_back(std::move(group));
      group.clear();
      continue;
    }
    while (w.starts_with("!")) {
      negate = !negate;
      w.remove_prefix(1);
    }
    if (w.empty()) continue;  // a lone "!" negates the next term
    model::AclTerm term;
    term.negate = negate;
    negate = false;
    if (w == "{") {
      size_t close = i + 1;
      while (close < st.args.size() && st.args[close] != "}") ++close;
      if (close >= st.args.size()) return Error{"missing closing '}' in condition"};
      model::Acl acl;
      std::string text = "{";
      for (size_t k = i + 1; k < close; ++k) text += " " + st.args[k];
      acl.name = text + " }";  // braces never appear in ACL names: no clash
      acl.loc = st.loc;
      size_t values = 0;
      if (auto s = parseAclBody(st.args, i + 1, close, acl.sources, values); !s)
        return Error{fmt::format("anonymous ACL '{}': {}", acl.name, s.error())};
      if (values == 0)
        return Error{fmt::format("anonymous ACL '{}' has no value to match against", acl.name)};
      px.acls.push_back(std::move(acl));
      px.aclPredefined.push_back(false);
      term.acl = static_cast<int>(px.acls.size()) - 1;
      i = close;
    } else if (w.starts_with("{") || w == "}") {
      return Error{
          fmt::format("'{}': braces of an anonymous ACL must be separate words, as in "
                      "'{{ src 10.0.0.0/8 }}'",
                      w)};
    } else {
      auto idx = findAcl(px, w, st.loc);
      if (!idx) return Error{idx.error()};
      term.acl = *idx;
    }
    group.push_back(term);
  }
  if (negate || group.empty())
    return Error{"the condition ends without a term (after '!', '||' or 'or')"};
  cond.anyOf.push_back(std::move(group));
  return cond;
}

// HAProxy's "tcp-request connection" actions other than accept and reject.
// clang-format off
constexpr std::string_view kTcpRequestConnectionActions[] = {
    "capture", "expect-proxy", "expect-netscaler-cip", "track-sc0", "track-sc1", "track-sc2",
    "sc-inc-gpc", "sc-inc-gpc0", "sc-inc-gpc1", "sc-set-gpt", "sc-set-gpt0", "set-var-fmt",
    "set-var", "unset-var", "set-dst", "set-dst-port", "set-mark", "set-src", "set-src-port",
    "set-tos", "silent-drop", "do-resolve", "set-fc-mark", "set-fc-tos",
};
// clang-format on

Status tcpRequestConnection(Parser& p, const Statement& st) {
  constexpr std::string_view kw = "tcp-request connection";
  SectionKind kind = p.sectionKind();
  if (kind == SectionKind::kBackend) {
    return Error{
        "keyword 'tcp-request connection' is not allowed in a backend section (HAProxy "
        "accepts it in defaults, frontend and listen sections)"};
  }
  if (kind == SectionKind::kDefaults) {
    return Error{
        "keyword 'tcp-request connection' is not supported yet in defaults sections "
        "(HAProxy accepts it only in named defaults sections)"};
  }
  if (st.args.size() < 3)
    return Error{"keyword 'tcp-request connection' expects an action ('accept' or 'reject')"};
  std::string_view action = st.args[2];
  model::TcpRequestRule rule;
  rule.loc = st.loc;
  if (action == "accept") {
    rule.action = model::TcpRequestRule::Action::kAccept;
  } else if (action == "reject") {
    rule.action = model::TcpRequestRule::Action::kReject;
  } else {
    std::string_view base = action.substr(0, action.find('('));
    if (contains(kTcpRequestConnectionActions, base)) {
      return keywordError(kw, fmt::format("action '{}' is not supported yet (Fulcrum supports "
                                          "'accept' and 'reject')",
                                          action));
    }
    return keywordError(kw, fmt::format("unknown action '{}' (Fulcrum supports 'accept' and "
                                        "'reject')",
                                        action));
  }
  if (st.args.size() > 3) {
    if (st.args[3] != "if" && st.args[3] != "unless") {
      return keywordError(
          kw, fmt::format("expects 'if' or 'unless' after the action (got '{}')", st.args[3]));
    }
    auto cond = parseCondition(p.proxy(), st, 3);
    if (!cond) return keywordError(kw, cond.error());
    rule.condition = std::move(*cond);
  }
  p.proxy().tcpRequestConnection.push_back(std::move(rule));
  return Ok{};
}

Status proxyTcpRequest(Parser& p, const Statement& st) {
  std::string_view what = st.arg(1);
  if (what == "connection") return tcpRequestConnection(p, st);
  SectionKind kind = p.sectionKind();
  if (what == "session") {
    if (kind == SectionKind::kBackend) {
      return Error{
          "keyword 'tcp-request session' is not allowed in a backend section (HAProxy "
          "accepts it in defaults, frontend and listen sections)"};
    }
    return Error{"keyword 'tcp-request session' is not supported yet"};
  }
  if (what == "content" || what == "inspect-delay")
    return Error{fmt::format("keyword 'tcp-request {}' is not supported yet", what)};
  if (what.empty()) {
    return Error{
        "keyword 'tcp-request' expects 'connection', 'session', 'content' or "
        "'inspect-delay'"};
  }
  return Error{fmt::format("unknown keyword 'tcp-request {}'", what)};
}

// ---------------------------------------------------------------------------------------
// The tables

// tcp-check

Result<std::string> hexBytes(std::string_view hex) {
  auto digit = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (hex.empty() || hex.size() % 2 != 0)
    return Error{fmt::format("'{}' is not a hex string (an even number of hex digits)", hex)};
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = digit(hex[i]), lo = digit(hex[i + 1]);
    if (hi < 0 || lo < 0) return Error{fmt::format("'{}' is not a hex string", hex)};
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

// "comment TEXT" at args[i] (the only option Fulcrum supports after a tcp-check action);
// other HAProxy options are "not supported yet".
Status tcpCheckOption(const Statement& st, size_t& i, model::TcpCheckRule& r,
                      std::initializer_list<std::string_view> unsupported) {
  std::string_view w = st.args[i];
  if (w == "comment") {
    if (i + 1 >= st.args.size()) return Error{"'comment' expects a text"};
    r.comment = st.args[++i];
    return Ok{};
  }
  for (auto u : unsupported)
    if (w == u) return Error{fmt::format("option '{}' is not supported yet", w)};
  return Error{fmt::format("unexpected argument '{}'", w)};
}

Status parseTcpCheck(const Statement& st, model::TcpCheckRule& r) {
  using Kind = model::TcpCheckRule::Kind;
  using Match = model::TcpCheckRule::Match;
  std::string_view action = st.arg(1);
  if (action == "comment") {
    if (st.args.size() != 3) return Error{"'comment' expects one text argument"};
    r.kind = Kind::kComment;
    r.comment = st.args[2];
    return Ok{};
  }
  if (action == "connect") {
    r.kind = Kind::kConnect;
    for (size_t i = 2; i < st.args.size(); ++i) {
      if (st.args[i] == "port") {
        if (i + 1 >= st.args.size()) return Error{"'port' expects a port number"};
        auto port = parsePort(st.args[++i]);
        if (!port) return Error{fmt::format("'port': {}", port.error())};
        r.port = *port;
        continue;
      }
      if (auto s = tcpCheckOption(st, i, r,
                                  {"default", "addr", "send-proxy", "via-socks4", "ssl", "sni",
                                   "alpn", "linger", "proto"});
          !s)
        return s;
    }
    return Ok{};
  }
  if (action == "send" || action == "send-binary") {
    r.kind = Kind::kSend;
    if (st.args.size() < 3 || st.args[2].empty())
      return Error{fmt::format("'{}' expects the data to send", action)};
    if (action == "send") {
      r.data = st.args[2];
    } else {
      auto bytes = hexBytes(st.args[2]);
      if (!bytes) return Error{bytes.error()};
      r.data = std::move(*bytes);
    }
    for (size_t i = 3; i < st.args.size(); ++i)
      if (auto s = tcpCheckOption(st, i, r, {}); !s) return s;
    return Ok{};
  }
  if (action == "expect") {
    r.kind = Kind::kExpect;
    size_t i = 2;
    for (; i < st.args.size(); ++i) {
      std::string_view w = st.args[i];
      if (w == "!" || w == "string" || w == "rstring" || w == "binary" || w == "rbinary" ||
          w == "string-lf" || w == "binary-lf")
        break;
      if (auto s = tcpCheckOption(st, i, r,
                                  {"min-recv", "ok-status", "error-status", "tout-status",
                                   "on-success", "on-error", "status-code"});
          !s)
        return s;
    }
    if (i < st.args.size() && st.args[i] == "!") {
      r.negate = true;
      ++i;
    }
    if (i >= st.args.size())
      return Error{
          "'expect' expects a match ('string', 'rstring', 'binary' or 'rbinary') and a "
          "pattern"};
    std::string_view match = st.args[i];
    if (match == "string")
      r.match = Match::kString;
    else if (match == "rstring")
      r.match = Match::kRstring;
    else if (match == "binary")
      r.match = Match::kBinary;
    else if (match == "rbinary")
      r.match = Match::kRbinary;
    else if (match == "string-lf" || match == "binary-lf")
      return Error{fmt::format("match '{}' is not supported yet", match)};
    else
      return Error{
          fmt::format("unknown match '{}' (expected 'string', 'rstring', 'binary' or "
                      "'rbinary')",
                      match)};
    if (i + 1 >= st.args.size() || st.args[i + 1].empty())
      return Error{fmt::format("'{}' expects a pattern", match)};
    std::string_view pattern = st.args[i + 1];
    if (i + 2 < st.args.size())
      return Error{fmt::format("unexpected argument '{}' after the pattern", st.args[i + 2])};
    if (r.match == Match::kBinary) {
      auto bytes = hexBytes(pattern);
      if (!bytes) return Error{bytes.error()};
      r.data = std::move(*bytes);
    } else {
      r.data = std::string(pattern);
    }
    if (r.match == Match::kRstring || r.match == Match::kRbinary) {
      try {
        std::regex re(r.data, std::regex::ECMAScript);
      } catch (const std::regex_error& e) {
        return Error{fmt::format("invalid regex '{}': {}", pattern, e.what())};
      }
    }
    return Ok{};
  }
  if (action == "send-lf" || action == "send-binary-lf" || action == "set-var" ||
      action == "set-var-fmt" || action == "unset-var")
    return Error{fmt::format("action '{}' is not supported yet", action)};
  if (action.empty())
    return Error{"expects an action ('connect', 'send', 'send-binary', 'expect' or 'comment')"};
  return Error{
      fmt::format("unknown action '{}' (expected 'connect', 'send', 'send-binary', "
                  "'expect' or 'comment')",
                  action)};
}

Status proxyTcpCheck(Parser& p, const Statement& st) {
  model::TcpCheckRule r;
  r.loc = st.loc;
  if (auto s = parseTcpCheck(st, r); !s) return keywordError("tcp-check", s.error());
  ProxySettings& settings = p.settings();
  if (settings.tcpCheckRulesInherited) {  // the section's own rules replace the inherited ones
    settings.tcpCheckRules.clear();
    settings.tcpCheckRulesInherited = false;
  }
  // As HAProxy: with connect steps, the first step (comments aside) must be a connect.
  if (r.kind == model::TcpCheckRule::Kind::kConnect) {
    for (const auto& earlier : settings.tcpCheckRules) {
      if (earlier.kind == model::TcpCheckRule::Kind::kComment) continue;
      if (earlier.kind == model::TcpCheckRule::Kind::kConnect) break;
      return keywordError(
          "tcp-check",
          fmt::format("the first step must be a 'connect' when the sequence has one (a '{}' "
                      "step comes first, at {}:{})",
                      earlier.kind == model::TcpCheckRule::Kind::kSend ? "send" : "expect",
                      earlier.loc.file, earlier.loc.line));
    }
  }
  settings.tcpCheckRules.push_back(std::move(r));
  return Ok{};
}

// ---------------------------------------------------------------------------------------

constexpr std::string_view kRemovedClitimeout = "was removed in HAProxy 2.1; use 'timeout client'";
constexpr std::string_view kRemovedContimeout = "was removed in HAProxy 2.1; use 'timeout connect'";
constexpr std::string_view kRemovedSrvtimeout = "was removed in HAProxy 2.1; use 'timeout server'";
constexpr std::string_view kHttpNote =
    "requires HTTP mode: Fulcrum is a layer-4 (TCP/UDP) load balancer and does not parse HTTP";
constexpr std::string_view kLogNote = "is not supported yet (log lines are not configurable yet)";

constexpr Keyword kGlobalKeywords[] = {
    {"nbthread", kInGlobal, globalNbthread, {}},
    {"maxconn", kInGlobal, globalMaxconn, {}},
    {"nosplice", kInGlobal, globalNosplice, {}},
    {"maxpipes", kInGlobal, globalMaxpipes, {}},
    {"cpu-map", kInGlobal, globalCpuMap, {}},
    {"log", kInGlobal, globalLog, {}},
    {"spread-checks", kInGlobal, globalSpreadChecks, {}},
    {"stats", kInGlobal, globalStats, {}},
    {"hard-stop-after", kInGlobal, globalHardStopAfter, {}},
    // HAProxy global keywords Fulcrum does not support yet.
    {"log-send-hostname", kInGlobal, nullptr, kLogNote},
    {"log-tag", kInGlobal, nullptr, kLogNote},
    {"anonkey", kInGlobal, nullptr, {}},
    {"busy-polling", kInGlobal, nullptr, {}},
    {"ca-base", kInGlobal, nullptr, {}},
    {"chroot", kInGlobal, nullptr, {}},
    {"close-spread-time", kInGlobal, nullptr, {}},
    {"cluster-secret", kInGlobal, nullptr, {}},
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
    {"log", kAllProxies, proxyLog, {}},
    {"hash-type", kBackSide, proxyHashType, {}},
    {"rate-limit", kFrontSide, proxyRateLimit, {}},
    {"source", kBackSide, proxySource, {}},
    {"acl", kAllProxies, proxyAcl, {}},  // the handler rejects defaults and backends for now
    {"tcp-request", kAllProxies, proxyTcpRequest, {}},
    {"tcp-check", kBackSide, proxyTcpCheck, {}},
    // HAProxy proxy keywords Fulcrum does not support yet.
    {"log-format", kAllProxies, nullptr, kLogNote},
    {"log-format-sd", kAllProxies, nullptr, kLogNote},
    {"log-steps", kAllProxies, nullptr, kLogNote},
    {"log-tag", kAllProxies, nullptr, kLogNote},
    {"error-log-format", kAllProxies, nullptr, kLogNote},
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
    {"id", kAllProxies, nullptr, {}},
    {"ignore-persist", kAllProxies, nullptr, {}},
    {"load-server-state-from-file", kAllProxies, nullptr, {}},
    {"max-session-srv-conns", kAllProxies, nullptr, {}},
    {"persist", kAllProxies, nullptr, {}},
    {"retry-on", kAllProxies, nullptr, {}},
    {"server-state-file-name", kAllProxies, nullptr, {}},
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
