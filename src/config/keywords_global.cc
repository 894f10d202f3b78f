// The global section: its handlers and kGlobalKeywords.
#include <fmt/core.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/un.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <type_traits>

#include "config/address.h"
#include "config/cpu_map.h"
#include "config/keywords_internal.h"
#include "config/log_target.h"
#include "config/units.h"

namespace fulcrum::config {
namespace {

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
  if (m->mapsNothing) return Ok{};
  m->map.loc = st.loc;
  p.addCpuMap(std::move(*m));
  return Ok{};
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

// A user or group name resolved once is remembered for the life of the process: a reload
// parses inside the chroot, where the user database is usually absent.
std::optional<uint32_t> lookupId(bool isUser, const std::string& name) {
  static std::mutex mu;
  static std::map<std::pair<bool, std::string>, uint32_t> known;
  std::lock_guard lock(mu);
  if (auto it = known.find({isUser, name}); it != known.end()) return it->second;
  std::optional<uint32_t> id;
  if (isUser) {
    if (const passwd* pw = getpwnam(name.c_str())) id = pw->pw_uid;
  } else {
    if (const group* gr = getgrnam(name.c_str())) id = gr->gr_gid;
  }
  if (id) known[{isUser, name}] = *id;
  return id;
}

// "user NAME" and "group NAME" are looked up now, as HAProxy does; "uid N" and "gid N"
// take the number. The process drops to them after setup (docs/operations.md).
Status globalUser(Parser& p, const Statement& st) {
  if (auto s = expectArgs(st, 1, "a user name"); !s) return s;
  auto id = lookupId(true, st.args[1]);
  if (!id) return keywordError("user", fmt::format("cannot find user id for '{}'", st.args[1]));
  p.global().uid = *id;
  return Ok{};
}

Status globalGroup(Parser& p, const Statement& st) {
  if (auto s = expectArgs(st, 1, "a group name"); !s) return s;
  auto id = lookupId(false, st.args[1]);
  if (!id) return keywordError("group", fmt::format("cannot find group id for '{}'", st.args[1]));
  p.global().gid = *id;
  return Ok{};
}

Status globalUid(Parser& p, const Statement& st) {
  auto v = uintArgument(st, 0, kMaxInt);
  if (!v) return Error{v.error()};
  p.global().uid = *v;
  return Ok{};
}

Status globalGid(Parser& p, const Statement& st) {
  auto v = uintArgument(st, 0, kMaxInt);
  if (!v) return Error{v.error()};
  p.global().gid = *v;
  return Ok{};
}

Status globalChroot(Parser& p, const Statement& st) {
  if (auto s = expectArgs(st, 1, "a directory"); !s) return s;
  if (!st.args[1].starts_with("/"))
    return keywordError("chroot", fmt::format("expects an absolute path, not '{}'", st.args[1]));
  p.global().chroot = st.args[1];
  return Ok{};
}

Status globalDaemon(Parser& p, const Statement& st) {
  if (st.args.size() > 1)
    return keywordError("daemon", fmt::format("unexpected argument '{}'", st.args[1]));
  p.global().daemon = true;
  return Ok{};
}

Status globalPidfile(Parser& p, const Statement& st) {
  if (auto s = expectArgs(st, 1, "a file name"); !s) return s;
  p.global().pidfile = st.args[1];
  return Ok{};
}

Status globalUlimitN(Parser& p, const Statement& st) {
  auto v = uintArgument(st, 1, kMaxInt);
  if (!v) return Error{v.error()};
  p.global().ulimitN = *v;
  return Ok{};
}

Status globalMaxconnrate(Parser& p, const Statement& st) {
  auto v = uintArgument(st, 0, kMaxInt);
  if (!v) return Error{v.error()};
  p.global().maxconnrate = *v;
  return Ok{};
}

Status globalMaxsessrate(Parser& p, const Statement& st) {
  auto v = uintArgument(st, 0, kMaxInt);
  if (!v) return Error{v.error()};
  p.global().maxsessrate = *v;
  return Ok{};
}

// "log-tag TAG": the program name in the syslog header of every log line.
Status globalLogTag(Parser& p, const Statement& st) {
  if (auto s = expectArgs(st, 1, "a tag"); !s) return s;
  if (st.args[1].empty()) return keywordError("log-tag", "expects a non-empty tag");
  p.global().logTag = st.args[1];
  return Ok{};
}

// "server-state-base DIR" and "server-state-file PATH": where Fulcrum writes the servers'
// state ("show servers state") at a graceful stop and after a reload. A relative PATH is
// taken under the base, as in HAProxy.
Status globalServerStateBase(Parser& p, const Statement& st) {
  if (auto s = expectArgs(st, 1, "a directory"); !s) return s;
  p.global().serverStateBase = st.args[1];
  return Ok{};
}

Status globalServerStateFile(Parser& p, const Statement& st) {
  if (auto s = expectArgs(st, 1, "a file name"); !s) return s;
  p.global().serverStateFile = st.args[1];
  return Ok{};
}

// The global TLS settings (ca-base, crt-base, ssl-default-*, ssl-server-verify, tune.ssl.*):
// accepted, with one warning for all of them, as TLS passes through Fulcrum untouched.
Status globalTls(Parser& p, const Statement& st) {
  if (p.firstOf("tls"))
    p.warn(st, fmt::format("keyword '{}' (and the other global TLS settings) ignored: {}",
                           st.args[0], kNoTlsTermination));
  return Ok{};
}

// Tuning and process keywords that have no meaning for Fulcrum: accepted with a warning
// (HAProxy 2.6 accepts them too).
Status globalIgnored(Parser& p, const Statement& st) {
  p.warn(st, fmt::format("keyword '{}' has no effect in Fulcrum; ignored", st.args[0]));
  return Ok{};
}

// ---------------------------------------------------------------------------------------
// xdp-*: the packet data plane (Fulcrum's keywords)

// "xdp-interface IFNAME [native|generic]": where the XDP program is attached (repeatable).
Status globalXdpInterface(Parser& p, const Statement& st) {
  if (st.args.size() < 2 || st.args.size() > 3 || st.args[1].empty())
    return keywordError("xdp-interface",
                        "expects an interface name, then optionally 'native' or "
                        "'generic'");
  model::XdpInterface itf;
  itf.name = st.args[1];
  itf.loc = st.loc;
  if (itf.name.size() >= 16)
    return keywordError("xdp-interface",
                        fmt::format("'{}' is too long for an interface name", itf.name));
  if (st.args.size() == 3) {
    if (st.args[2] == "generic")
      itf.generic = true;
    else if (st.args[2] != "native")
      return keywordError("xdp-interface", fmt::format("unknown mode '{}' (expected 'native' or "
                                                       "'generic')",
                                                       st.args[2]));
  }
  for (const auto& other : p.global().xdp.interfaces)
    if (other.name == itf.name)
      return keywordError("xdp-interface", fmt::format("interface '{}' is already listed at {}:{}",
                                                       itf.name, other.loc.file, other.loc.line));
  p.global().xdp.interfaces.push_back(std::move(itf));
  return Ok{};
}

// "xdp-next-hop MAC": the L2 destination of frames for reals that are not on the link.
Status globalXdpNextHop(Parser& p, const Statement& st) {
  if (auto s = expectArgs(st, 1, "a MAC address (e.g. 02:00:00:00:00:01)"); !s) return s;
  unsigned v[6];
  char tail;
  if (std::sscanf(st.args[1].c_str(), "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3],
                  &v[4], &v[5], &tail) != 6 ||
      st.args[1].size() != 17)
    return keywordError("xdp-next-hop", fmt::format("'{}' is not a MAC address (six hex bytes "
                                                    "separated by ':')",
                                                    st.args[1]));
  std::array<uint8_t, 6> mac{};
  for (size_t i = 0; i < 6; ++i) mac[i] = static_cast<uint8_t>(v[i]);
  p.global().xdp.nextHop = mac;
  return Ok{};
}

// "xdp-tunnel-source IPV4[/LEN] | IPV6": outer source addresses of encapsulated packets;
// once per family. An IPv4 prefix spreads the flows over its addresses (the reals' RSS).
Status globalXdpTunnelSource(Parser& p, const Statement& st) {
  if (auto s = expectArgs(st, 1, "an IPv4 address (with an optional /LEN) or an IPv6 address"); !s)
    return s;
  std::string_view text = st.args[1];
  std::string_view lenText;
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    lenText = text.substr(slash + 1);
    text = text.substr(0, slash);
  }
  auto a = SockAddr::parseHost(text, 0);
  if (!a)
    return keywordError("xdp-tunnel-source",
                        fmt::format("'{}' is not a numeric IPv4 or IPv6 address", st.args[1]));
  const bool hasLen = !lenText.empty() || st.args[1].find('/') != std::string::npos;
  if (hasLen && a->isV6())
    return keywordError("xdp-tunnel-source",
                        "an IPv6 source takes no prefix length (its low 32 "
                        "bits carry the flow hash)");
  uint32_t len = 32;
  if (hasLen) {
    auto l = parseUint(lenText, 16, 32);
    if (!l)
      return keywordError("xdp-tunnel-source",
                          fmt::format("invalid prefix length in '{}' (16 to 32)", st.args[1]));
    len = static_cast<uint32_t>(*l);
  }
  model::XdpSettings& x = p.global().xdp;
  if (a->family() == AF_INET) {
    std::array<uint8_t, 4> b{};
    std::memcpy(b.data(), &reinterpret_cast<const sockaddr_in*>(a->sa())->sin_addr, 4);
    x.tunnelV4 = b;
    x.tunnelV4Count = 1u << (32 - len);
  } else {
    std::array<uint8_t, 16> b{};
    std::memcpy(b.data(), &reinterpret_cast<const sockaddr_in6*>(a->sa())->sin6_addr, 16);
    x.tunnelV6 = b;
  }
  return Ok{};
}

template <auto Member, uint64_t Min, uint64_t Max>
Status globalXdpNumber(Parser& p, const Statement& st) {
  auto v = uintArgument(st, Min, Max);
  if (!v) return Error{v.error()};
  p.global().xdp.*Member =
      static_cast<std::remove_reference_t<decltype(p.global().xdp.*Member)>>(*v);
  return Ok{};
}

Status globalXdpUdpTimeout(Parser& p, const Statement& st) {
  if (st.args.size() != 2) return keywordError("xdp-udp-timeout", "expects one time value");
  auto t = timerValue(st.args[1], false);
  if (!t) return keywordError("xdp-udp-timeout", t.error());
  p.global().xdp.udpTimeout = *t;
  return Ok{};
}

// "xdp-pin-path DIR": where the packet data plane pins its maps and links (a directory on
// a BPF filesystem, checked at load), so that a restart or a crash keeps flows forwarded.
Status globalXdpPinPath(Parser& p, const Statement& st) {
  if (st.args.size() != 2 || st.args[1].empty())
    return keywordError("xdp-pin-path",
                        "expects a directory on a BPF filesystem (e.g. "
                        "/sys/fs/bpf/fulcrum)");
  if (st.args[1][0] != '/')
    return keywordError("xdp-pin-path", fmt::format("'{}' is not an absolute path", st.args[1]));
  std::string dir = st.args[1];
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  p.global().xdp.pinPath = std::move(dir);
  return Ok{};
}

Status globalXdpStopGrace(Parser& p, const Statement& st) {
  if (st.args.size() != 2) return keywordError("xdp-stop-grace", "expects one time value");
  auto t = timerValue(st.args[1], true);
  if (!t) return keywordError("xdp-stop-grace", t.error());
  if (*t > 300 * kSeconds) return keywordError("xdp-stop-grace", "is at most 300s");
  p.global().xdp.stopGrace = *t;
  return Ok{};
}

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
    {"ca-base", kInGlobal, globalTls, {}},
    {"chroot", kInGlobal, globalChroot, {}},
    {"crt-base", kInGlobal, globalTls, {}},
    {"daemon", kInGlobal, globalDaemon, {}},
    {"gid", kInGlobal, globalGid, {}},
    {"group", kInGlobal, globalGroup, {}},
    {"maxconnrate", kInGlobal, globalMaxconnrate, {}},
    {"maxsessrate", kInGlobal, globalMaxsessrate, {}},
    {"pidfile", kInGlobal, globalPidfile, {}},
    {"uid", kInGlobal, globalUid, {}},
    {"ulimit-n", kInGlobal, globalUlimitN, {}},
    {"unix-bind", kInGlobal, globalIgnored, {}},
    {"user", kInGlobal, globalUser, {}},
    {"log-tag", kInGlobal, globalLogTag, {}},
    {"server-state-base", kInGlobal, globalServerStateBase, {}},
    {"server-state-file", kInGlobal, globalServerStateFile, {}},
    {"xdp-interface", kInGlobal, globalXdpInterface, {}},
    {"xdp-next-hop", kInGlobal, globalXdpNextHop, {}},
    {"xdp-tunnel-source", kInGlobal, globalXdpTunnelSource, {}},
    {"xdp-gue-port", kInGlobal, globalXdpNumber<&model::XdpSettings::guePort, 1, 65535>, {}},
    {"xdp-conn-table",
     kInGlobal,
     globalXdpNumber<&model::XdpSettings::connTable, 64, 1u << 28>,
     {}},
    {"xdp-max-services", kInGlobal, globalXdpNumber<&model::XdpSettings::maxServices, 1, 1024>, {}},
    {"xdp-max-reals", kInGlobal, globalXdpNumber<&model::XdpSettings::maxReals, 1, 1u << 20>, {}},
    {"xdp-new-flow-rate",
     kInGlobal,
     globalXdpNumber<&model::XdpSettings::newFlowRate, 0, 0xffffffffu>,
     {}},
    {"xdp-udp-timeout", kInGlobal, globalXdpUdpTimeout, {}},
    {"xdp-pin-path", kInGlobal, globalXdpPinPath, {}},
    {"xdp-stop-grace", kInGlobal, globalXdpStopGrace, {}},
    // HAProxy global keywords Fulcrum does not support yet.
    {"log-send-hostname", kInGlobal, nullptr, kLogNote},
    {"anonkey", kInGlobal, nullptr, {}},
    {"busy-polling", kInGlobal, nullptr, {}},
    {"close-spread-time", kInGlobal, nullptr, {}},
    {"cluster-secret", kInGlobal, nullptr, {}},
    {"default-path", kInGlobal, nullptr, {}},
    {"description", kInGlobal, nullptr, {}},
    {"expose-experimental-directives", kInGlobal, nullptr, {}},
    {"external-check", kInGlobal, nullptr, {}},
    {"fd-hard-limit", kInGlobal, nullptr, {}},
    {"grace", kInGlobal, nullptr, {}},
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
    {"pp2-never-send-local", kInGlobal, nullptr, {}},
    {"presetenv", kInGlobal, nullptr, {}},
    {"quiet", kInGlobal, nullptr, {}},
    {"resetenv", kInGlobal, nullptr, {}},
    {"set-dumpable", kInGlobal, nullptr, {}},
    {"set-var", kInGlobal, nullptr, {}},
    {"set-var-fmt", kInGlobal, nullptr, {}},
    {"setenv", kInGlobal, nullptr, {}},
    {"strict-limits", kInGlobal, nullptr, {}},
    {"thread-group", kInGlobal, nullptr, {}},
    {"thread-groups", kInGlobal, nullptr, {}},
    {"unsetenv", kInGlobal, nullptr, {}},
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
constexpr Keyword kGlobalTlsPrefixed = {"", kInGlobal, globalTls, {}};
constexpr Keyword kGlobalTunePrefixed = {"", kInGlobal, globalIgnored, {}};

}  // namespace

const Keyword* findGlobalKeyword(std::string_view name) {
  if (const Keyword* k = findIn(kGlobalKeywords, name)) return k;
  if (name.starts_with("ssl-") || name.starts_with("tune.ssl.")) return &kGlobalTlsPrefixed;
  if (name.starts_with("tune.")) return &kGlobalTunePrefixed;
  for (auto prefix : kGlobalKeywordPrefixes)
    if (name.starts_with(prefix)) return &kGlobalPrefixed;
  return nullptr;
}

}  // namespace fulcrum::config
