// The global section: its handlers and kGlobalKeywords.
#include <fmt/core.h>
#include <sys/un.h>

#include <cstdlib>

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

}  // namespace

const Keyword* findGlobalKeyword(std::string_view name) {
  if (const Keyword* k = findIn(kGlobalKeywords, name)) return k;
  for (auto prefix : kGlobalKeywordPrefixes)
    if (name.starts_with(prefix)) return &kGlobalPrefixed;
  return nullptr;
}

}  // namespace fulcrum::config
