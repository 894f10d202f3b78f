#include "admin/runtime_api.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>
#include <optional>

#include "admin/stat_csv.h"
#include "admin/typed_field.h"
#include "common/net.h"
#include "config/server_line.h"
#include "control/overrides.h"

namespace fulcrum::admin {

namespace {

using model::ApiLevel;

constexpr std::string_view kPermissionDenied = "Permission denied\n";
constexpr std::string_view kRequireServer = "Require 'backend/server'.\n";
constexpr std::string_view kNoBackend = "No such backend.\n";
constexpr std::string_view kNoServer = "No such server.\n";

using Args = std::vector<std::string>;

// Splits a request line into commands (on ';') and words (on blanks). A backslash takes
// the next character literally (so "\;" and "\ " stay in a word), as HAProxy's CLI does.
// Always at least one command, possibly empty.
std::vector<Args> splitLine(std::string_view line) {
  std::vector<Args> cmds;
  Args words;
  std::string word;
  bool inWord = false;
  auto endWord = [&] {
    if (inWord) words.push_back(std::move(word));
    word.clear();
    inWord = false;
  };
  // Empty commands (an empty line, ";;", a trailing ';') are kept: HAProxy answers them.
  auto endCmd = [&] {
    endWord();
    cmds.push_back(std::move(words));
    words.clear();
  };
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (c == '\\' && i + 1 < line.size()) {
      word += line[++i];
      inWord = true;
    } else if (c == ';') {
      endCmd();
    } else if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      endWord();
    } else {
      word += c;
      inWord = true;
    }
  }
  endCmd();
  return cmds;
}

const char* levelName(ApiLevel l) {
  switch (l) {
    case ApiLevel::kUser: return "user";
    case ApiLevel::kOperator: return "operator";
    case ApiLevel::kAdmin: return "admin";
  }
  return "?";
}

template <typename T>
bool parseNumber(std::string_view s, T& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

// HAProxy's complaints about a number argument: `empty` when nothing numeric starts it,
// `trailing` when something follows the digits ("10x", "5.5"). Empty when it is a plain
// integer (in `out`).
template <typename T>
std::string integerError(std::string_view s, T& out, std::string_view empty,
                         std::string_view trailing) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (s.empty() || p == s.data()) return fmt::format("{}\n", empty);
  if (ec == std::errc::result_out_of_range) return "Value out of range.\n";
  if (p != s.data() + s.size()) return fmt::format("{}\n", trailing);
  return {};
}

// "3s", "1m05s", "2h03m", "4d05h": HAProxy's compact durations.
std::string humanTime(Micros t) {
  const int64_t s = std::max<Micros>(0, t) / kSeconds;
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  if (s < 86400) return fmt::format("{}h{:02}m", s / 3600, (s / 60) % 60);
  return fmt::format("{}d{:02}h", s / 86400, (s / 3600) % 24);
}

struct Ctx {
  Control& control;
  const RateTracker* rates;
  ApiLevel level;
  bool interactive;
  bool quit;
};

struct ServerRef {
  int pool = -1;
  int server = -1;
};

// Resolves "BACKEND/SERVER" in the current config, or returns the error text.
Result<ServerRef> findServer(const model::Config& cfg, std::string_view arg) {
  const size_t slash = arg.find('/');
  if (arg.empty() || slash == std::string_view::npos) return Error{std::string(kRequireServer)};
  const int p = cfg.findPool(arg.substr(0, slash));
  if (p < 0) return Error{std::string(kNoBackend)};
  const auto& servers = cfg.pools[static_cast<size_t>(p)].servers;
  const std::string_view name = arg.substr(slash + 1);
  for (size_t s = 0; s < servers.size(); ++s)
    if (servers[s].name == name) return ServerRef{p, static_cast<int>(s)};
  return Error{std::string(kNoServer)};
}

std::string statusText(const Status& s) { return s ? std::string() : s.error() + "\n"; }

// ---- show ----

// "show info" fields: HAProxy's names, positions and tags where it has the figure, in its
// order; Fulcrum's own after HAProxy 2.6's last position (71).
struct InfoField {
  FieldId id;
  nlohmann::json value;
};

std::string showInfo(Ctx& ctx, const Args& args) {
  enum class Form { kText, kTyped, kJson } form = Form::kText;
  for (const auto& a : args) {
    if (a == "json") {
      form = Form::kJson;
    } else if (a == "typed") {
      form = Form::kTyped;
    } else {
      return fmt::format("Unknown option '{}': 'show info' accepts 'typed' or 'json'.\n", a);
    }
  }
  const ProcessInfo info = ctx.control.processInfo();
  const model::ProcessStats& ps = ctx.control.processStats();
  const auto snap = ctx.control.snapshot();
  double rate = 0, rateMax = 0;
  if (ctx.rates != nullptr) {
    for (const auto& row : collectStats(ctx.control, ctx.rates)) {
      if (row.type != RowType::kFrontend) continue;
      rate += row.rate;
      rateMax += row.rateMax;
    }
  }
  const int64_t up = info.uptime / kSeconds;
  const auto rateInt = [](double r) { return static_cast<uint64_t>(r + 0.5); };
  const auto relaxed = [](const auto& counter) { return counter.load(std::memory_order_relaxed); };
  // clang-format off
  const std::vector<InfoField> f = {
      {{0, "Name", {"POS:str"}}, "Fulcrum"},
      {{1, "Version", {"POS:str"}}, info.version},
      {{2, "Release_date", {"POS:str"}}, info.releaseDate},
      {{3, "Nbthread", {"CGS:u32"}}, info.threads},
      {{4, "Nbproc", {"CGS:u32"}}, 1},
      {{5, "Process_num", {"KGP:u32"}}, 1},
      {{6, "Pid", {"SGP:u32"}}, info.pid},
      {{7, "Uptime", {"MDP:str"}}, fmt::format("{}d {}h{:02}m{:02}s", up / 86400, (up / 3600) % 24,
                                               (up / 60) % 60, up % 60)},
      {{8, "Uptime_sec", {"MDP:u32"}}, up},
      {{15, "Maxconn", {"CLP:u32"}}, info.maxconn},
      {{16, "Hard_maxconn", {"CLP:u32"}}, info.hardMaxconn},
      {{17, "CurrConns", {"MGP:u32"}}, std::max<int64_t>(0, relaxed(ps.active))},
      {{18, "CumConns", {"MCP:u32"}}, relaxed(ps.accepted)},
      {{23, "Maxpipes", {"CLP:u32"}}, snap->config->global.maxpipes},
      // Pipes are per worker and not counted across workers yet: 0, as HAProxy without splice.
      {{24, "PipesUsed", {"MGP:u32"}}, 0},
      {{25, "PipesFree", {"MGP:u32"}}, 0},
      {{26, "ConnRate", {"MRP:u32"}}, rateInt(rate)},
      {{28, "MaxConnRate", {"MMP:u32"}}, rateInt(rateMax)},
      {{29, "SessRate", {"MRP:u32"}}, rateInt(rate)},
      {{31, "MaxSessRate", {"MRP:u32"}}, rateInt(rateMax)},
      {{47, "Tasks", {"MGP:u32"}}, std::max<int64_t>(0, relaxed(ps.active))},  // one per connection
      {{48, "Run_queue", {"MGP:u32"}}, 0},  // event loops have no run queue of tasks
      {{50, "node", {"COS:str"}}, info.node},
      {{52, "Stopping", {"MGP:u32"}}, info.stopping ? 1 : 0},
      {{70, "Start_time_sec", {"MDP:u32"}}, info.startedWall / kSeconds},
      {{72, "Reloads", {"MCP:u32"}}, info.reloads},
      {{73, "FailedReloads", {"MCP:u32"}}, info.failedReloads},
      {{74, "OpenFds", {"MGP:u32"}}, info.openFds},
      {{75, "AcceptErrors", {"MCP:u64"}}, relaxed(ps.acceptErrors)},
      {{76, "FdExhausted", {"MCP:u64"}}, relaxed(ps.fdExhausted)},
      {{77, "Timeouts", {"MCP:u64"}}, relaxed(ps.timeouts)},
  };
  // clang-format on
  std::string out;
  switch (form) {
    case Form::kJson: {
      nlohmann::ordered_json arr = nlohmann::ordered_json::array();
      for (const auto& [id, v] : f) {
        nlohmann::ordered_json field = nlohmann::ordered_json::object();
        appendTypedFieldJson(field, id, v);
        arr.push_back(std::move(field));
      }
      return arr.dump() + "\n";
    }
    case Form::kTyped:
      for (const auto& [id, v] : f) out += typedFieldText("", id, v) + "\n";
      return out;
    case Form::kText:
      for (const auto& [id, v] : f)
        out += fmt::format("{}: {}\n", id.name, v.is_string() ? v.get<std::string>() : v.dump());
      return out;
  }
  return out;
}

std::string showStat(Ctx& ctx, const Args& args) {
  StatFilter filter;
  bool json = false;
  bool typed = false;
  size_t i = 0;
  // Optional "{IID|PROXY} TYPE SID" first.
  if (args.size() >= 3 && args[0] != "json" && args[0] != "up" && args[0] != "no-maint" &&
      args[0] != "typed" && args[0] != "desc") {
    int64_t id = 0;
    if (parseNumber(args[0], id)) {
      filter.proxyId = id;
    } else {
      filter.proxyName = args[0];
    }
    int type = 0;
    int64_t sid = 0;
    if (!parseNumber(args[1], type) || !parseNumber(args[2], sid))
      return "Usage: show stat [{<iid>|<proxy>} <type> <sid>] [typed|json|up|no-maint]\n";
    filter.typeMask = type;
    filter.serverId = sid;
    i = 3;
  }
  for (; i < args.size(); ++i) {
    if (args[i] == "json") {
      json = true;
    } else if (args[i] == "typed") {
      typed = true;
    } else if (args[i] == "up") {
      filter.upOnly = true;
    } else if (args[i] == "no-maint") {
      filter.noMaint = true;
    } else {
      return "Usage: show stat [{<iid>|<proxy>} <type> <sid>] [typed|json|up|no-maint]\n";
    }
  }
  const auto rows = collectStats(ctx.control, ctx.rates);
  if (!filter.proxyName.empty() || filter.proxyId >= 0) {
    const bool exists = std::any_of(rows.begin(), rows.end(), [&](const StatRow& r) {
      return filter.proxyName.empty() ? r.proxyId == static_cast<uint64_t>(filter.proxyId)
                                      : r.proxy == filter.proxyName;
    });
    if (!exists) return "No such proxy.\n";
  }
  const auto ordered = statOrder(rows, filter);
  const bool showAddr = ctx.level >= ApiLevel::kOperator;
  if (json) return renderStatJson(ordered, showAddr) + "\n";
  if (typed) return renderStatTyped(ordered, showAddr);
  return renderStatCsv(ordered, showAddr);
}

// HAProxy's numeric codes in "show servers state" (server state file format version 1).
int opState(model::ServerState s) {
  switch (s) {
    case model::ServerState::kUp: return 2;     // running
    case model::ServerState::kDrain: return 2;  // running, administratively draining
    case model::ServerState::kDown: return 0;   // stopped
    case model::ServerState::kMaint: return 0;
  }
  return 0;
}

int checkStatusNumber(health::CheckStatus s) {
  using health::CheckStatus;
  switch (s) {
    case CheckStatus::kNone: return 1;  // INI
    case CheckStatus::kPassive: return 4;
    case CheckStatus::kSocketError: return 5;
    case CheckStatus::kL4Ok: return 6;
    case CheckStatus::kL4Timeout: return 7;
    case CheckStatus::kL4Refused:
    case CheckStatus::kL4Error: return 8;
    case CheckStatus::kL7Timeout: return 12;
    case CheckStatus::kL7Response: return 13;
    case CheckStatus::kL7Ok: return 15;
  }
  return 0;
}

std::string showServersState(Ctx& ctx, const Args& args) {
  if (args.size() > 1) return "Usage: show servers state [<backend>]\n";
  const auto snap = ctx.control.snapshot();
  const model::Config& cfg = *snap->config;
  int only = -1;
  if (!args.empty()) {
    only = cfg.findPool(args[0]);
    if (only < 0) return "Can't find backend.\n";
  }
  const health::HealthMonitor& hm = ctx.control.health();
  const Micros now = monotonicNow();
  std::string out =
      "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight "
      "srv_iweight srv_time_since_last_change srv_check_status srv_check_result "
      "srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id "
      "srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr "
      "srv_agent_port\n";
  for (size_t p = 0; p < cfg.pools.size(); ++p) {
    if (only >= 0 && static_cast<size_t>(only) != p) continue;
    const model::Pool& pool = cfg.pools[p];
    for (size_t s = 0; s < pool.servers.size(); ++s) {
      const model::Server& srv = pool.servers[s];
      const int pi = static_cast<int>(p), si = static_cast<int>(s);
      model::ServerRuntime rt;
      if (p < snap->runtime.size() && s < snap->runtime[p].size()) rt = snap->runtime[p][s];
      const bool known = p < hm.poolCount() && s < hm.serverCount(pi);
      const health::HealthStatus* hs = known ? &hm.status(pi, si) : nullptr;
      const int admin = known ? hm.adminFlags(pi, si) : 0;
      int checkResult = 0;  // unknown
      if (hs != nullptr && srv.check.enabled && hs->lastCheck != health::CheckStatus::kNone)
        checkResult = health::passed(hs->lastCheck) ? 3 : 2;
      const uint32_t healthCounter =
          hs != nullptr && srv.check.enabled ? hs->health : srv.check.rise;
      // HAProxy's flags: 0x02 configured, 0x04 enabled (cleared by "disable health" /
      // "disable agent"), 0x08 paused (the check, in maintenance), 0x10 agent.
      const bool checksOn = !(known && hm.checksStopped(pi, si));
      const bool agentOn = !(known && hm.agentStopped(pi, si));
      const int paused = rt.state == model::ServerState::kMaint ? 0x08 : 0;
      const int checkState = srv.check.enabled ? (checksOn ? 0x06 : 0x02) | paused : 0;
      const int agentState = srv.agent.enabled ? (agentOn ? 0x16 : 0x12) : 0;
      out += fmt::format("{} {} {} {} {} {} {} {} {} {} {} {} {} {} {} 0 0 - {} - 0 {} {} {} {}\n",
                         pool.id, pool.name, srv.id, srv.name, srv.addr.hostString(),
                         opState(rt.state), admin, hs != nullptr ? hs->userWeight : srv.weight,
                         srv.weight,
                         hs != nullptr ? std::max<Micros>(0, now - hs->lastChange) / kSeconds : 0,
                         hs != nullptr && srv.check.enabled ? checkStatusNumber(hs->lastCheck) : 1,
                         checkResult, healthCounter, checkState, agentState, srv.addr.port(),
                         srv.check.port, srv.check.addr ? srv.check.addr->hostString() : "-",
                         srv.agent.addr ? srv.agent.addr->hostString() : "-", srv.agent.port);
    }
  }
  return out;
}

std::string showSess(Ctx& ctx, const Args& args) {
  uint64_t only = 0;
  bool filter = false;
  if (args.size() > 1) return "Usage: show sess [<id>|all]\n";
  if (args.size() == 1 && args[0] != "all") {
    std::string_view v = args[0];
    if (v.substr(0, 2) == "0x") v.remove_prefix(2);
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), only, 16);
    if (ec != std::errc() || p != v.data() + v.size() || v.empty())
      return "Usage: show sess [<id>|all]\n";
    filter = true;
  }
  std::string out;
  for (const auto& s : ctx.control.sessions()) {
    if (filter && s.id != only) continue;
    out += fmt::format(
        "0x{:x}: proto={} src={} dst={} fe={} be={} srv={} state={} age={} idle={} thread={} "
        "bytes_in={} bytes_out={}\n",
        s.id, s.udp ? (s.client.isV6() ? "udpv6" : "udpv4") : (s.client.isV6() ? "tcpv6" : "tcpv4"),
        s.client.toString(), s.local.toString(), s.frontend,
        s.backend.empty() ? "<NONE>" : s.backend, s.server.empty() ? "<none>" : s.server,
        *s.state ? s.state : "-", humanTime(s.age), humanTime(s.idle), s.worker, s.bytesIn,
        s.bytesOut);
  }
  if (filter && out.empty()) return "Session not found.\n";
  return out;
}

std::string showBackend(Ctx& ctx, const Args& args) {
  if (!args.empty()) return "Usage: show backend\n";
  std::string out = "# name\n";
  for (const auto& p : ctx.control.snapshot()->config->pools) out += p.name + "\n";
  return out;
}

// "show xdp services": every packet service's VIPs and servers, one line per VIP and
// server (a VIP without servers: "-" in the server columns), for fulcrumctl's -L and -S:
//   # service proto vip balance runtime backend server addr forward weight state
std::string showXdpServices(Ctx& ctx) {
  const auto snap = ctx.control.snapshot();
  const model::Config& cfg = *snap->config;
  const health::HealthMonitor& hm = ctx.control.health();
  std::string out =
      "# service proto vip balance runtime backend server addr forward weight state\n";
  for (const model::Service& svc : cfg.services) {
    if (svc.forwarding != model::Forwarding::kPacket || svc.defaultPool < 0) continue;
    const auto pi = static_cast<size_t>(svc.defaultPool);
    const model::Pool& pool = cfg.pools[pi];
    const bool runtime = ctx.control.isRuntimeService(svc.name);
    for (const model::Bind& b : svc.binds) {
      const std::string head = fmt::format(
          "{} {} {} {} {} {}", svc.name, svc.protocol == model::Protocol::kTcp ? "tcp" : "udp",
          b.addr.toString(), model::toString(pool.balance.algo), runtime ? 1 : 0, pool.name);
      if (pool.servers.empty()) out += head + " - - - - -\n";
      for (size_t si = 0; si < pool.servers.size(); ++si) {
        const model::Server& srv = pool.servers[si];
        model::ServerRuntime rt;
        if (pi < snap->runtime.size() && si < snap->runtime[pi].size()) rt = snap->runtime[pi][si];
        const int p = static_cast<int>(pi), q = static_cast<int>(si);
        const bool known = pi < hm.poolCount() && si < hm.serverCount(p);
        const health::HealthStatus* hs = known ? &hm.status(p, q) : nullptr;
        out += fmt::format("{} {} {} {} {} {}\n", head, srv.name, srv.addr.toString(),
                           model::toString(srv.forward.value_or(pool.forward)),
                           hs != nullptr ? hs->userWeight : srv.weight, model::toString(rt.state));
      }
    }
  }
  return out;
}

// "show xdp": the packet data plane's global counters, one "name: value" line each;
// "show xdp services": see above.
std::string showXdp(Ctx& ctx, const Args& args) {
  if (args.size() == 1 && args[0] == "services") return showXdpServices(ctx);
  // "show xdp flow [tcp|udp] VIP:PORT CLIENT:PORT" (tcp by default).
  const bool withProto = args.size() == 4 && (args[1] == "tcp" || args[1] == "udp");
  if ((args.size() == 3 || withProto) && args[0] == "flow") {
    const size_t at = withProto ? 2 : 1;
    auto vip = SockAddr::parse(args[at]);
    auto client = SockAddr::parse(args[at + 1]);
    if (!vip || !client || vip->isAny() || client->isAny())
      return "Usage: show xdp flow [tcp|udp] <vip>:<port> <client>:<port> (numeric; IPv6 in "
             "brackets)\n";
    const auto proto =
        withProto && args[1] == "udp" ? model::Protocol::kUdp : model::Protocol::kTcp;
    auto line = ctx.control.packetFlow(proto, *vip, *client);
    return (line ? *line : line.error()) + "\n";
  }
  if (!args.empty())
    return "Usage: show xdp [services | flow [tcp|udp] <vip>:<port> <client>:<port>]\n";
  auto counters = ctx.control.packetCounters();
  if (!counters) return "The packet data plane is not loaded (no 'dataplane xdp' frontend).\n";
  std::string out;
  for (const PacketCounter& c : *counters) out += fmt::format("{}: {}\n", c.name, c.value);
  return out;
}

std::string showCliLevel(Ctx& ctx, const Args&) { return std::string(levelName(ctx.level)) + "\n"; }

std::string showVersion(Ctx& ctx, const Args&) { return ctx.control.processInfo().version + "\n"; }

// ---- servers ----

uint32_t currentUserWeight(const Control& control, const ServerRef& r, const model::Server& srv) {
  const auto& hm = control.health();
  if (static_cast<size_t>(r.pool) < hm.poolCount() &&
      static_cast<size_t>(r.server) < hm.serverCount(r.pool))
    return hm.status(r.pool, r.server).userWeight;
  return srv.weight;
}

std::string getWeight(Ctx& ctx, const Args& args) {
  if (args.size() != 1) return std::string(kRequireServer);
  const auto snap = ctx.control.snapshot();
  auto ref = findServer(*snap->config, args[0]);
  if (!ref) return ref.error();
  const auto& srv =
      snap->config->pools[static_cast<size_t>(ref->pool)].servers[static_cast<size_t>(ref->server)];
  return fmt::format("{} (initial {})\n", currentUserWeight(ctx.control, *ref, srv), srv.weight);
}

std::string setWeight(Ctx& ctx, const ServerRef& ref, std::string_view arg) {
  std::string_view num = arg;
  const bool relative = !num.empty() && num.back() == '%';
  if (relative) num.remove_suffix(1);
  int64_t v = 0;
  if (auto err = integerError(num, v, "Empty weight string empty or preceded by garbage",
                              "Trailing garbage in weight string");
      !err.empty())
    return err;
  uint32_t weight = 0;
  if (relative) {
    if (v < 0) return "Relative weight must be positive.\n";
    // Of the initial (configured) weight, as HAProxy.
    const uint64_t initial = ctx.control.snapshot()
                                 ->config->pools[static_cast<size_t>(ref.pool)]
                                 .servers[static_cast<size_t>(ref.server)]
                                 .weight;
    const uint64_t w = initial * static_cast<uint64_t>(std::min<int64_t>(v, 100000)) / 100;
    weight = static_cast<uint32_t>(std::min<uint64_t>(w, 256));
  } else {
    if (v < 0 || v > 256) return "Absolute weight can only be between 0 and 256 inclusive.\n";
    weight = static_cast<uint32_t>(v);
  }
  return statusText(ctx.control.setServerWeight(ref.pool, ref.server, weight));
}

// HAProxy's reply: what happened to the address, then to the port when one was given,
// then " by 'stats socket command'"; nothing changes unless both parts are valid.
std::string setAddr(Ctx& ctx, const ServerRef& ref, const Args& args) {
  // args: IP [port PORT]
  if (args.empty() || (args.size() != 1 && args.size() != 3) ||
      (args.size() == 3 && args[1] != "port"))
    return "set server <b>/<s> addr requires an address and optionally a port.\n";
  constexpr std::string_view kBy = " by 'stats socket command'\n";
  const SockAddr old = ctx.control.snapshot()
                           ->config->pools[static_cast<size_t>(ref.pool)]
                           .servers[static_cast<size_t>(ref.server)]
                           .addr;
  auto addr = SockAddr::parseHost(args[0], old.port());
  if (!addr) return fmt::format("Invalid addr '{}'{}", args[0], kBy);
  const bool ipChanged = addr->hostString() != old.hostString();
  std::string msg =
      ipChanged ? fmt::format("IP changed from '{}' to '{}'", old.hostString(), addr->hostString())
                : std::string("no need to change the addr");
  if (args.size() == 3) {
    auto p = parsePort(args[2]);
    if (!p) {
      // The address alone is not applied: a half-done change is worse than none.
      return fmt::format("{}problem converting port '{}' to an int{}",
                         ipChanged ? "" : "no need to change the addr, ", args[2], kBy);
    }
    addr->setPort(*p);
    msg += *p == old.port() ? std::string(", no need to change the port")
                            : fmt::format(", port changed from '{}' to '{}'", old.port(), *p);
  }
  msg += kBy;
  if (*addr == old) return msg;
  if (auto st = ctx.control.setServerAddr(ref.pool, ref.server, *addr); !st)
    return st.error() + "\n";
  return msg;
}

std::string setServer(Ctx& ctx, const Args& args) {
  constexpr std::string_view kUsage =
      "usage: set server <backend>/<server> addr | state | weight\n";
  if (args.empty()) return std::string(kRequireServer);
  const auto snap = ctx.control.snapshot();
  auto ref = findServer(*snap->config, args[0]);
  if (!ref) return ref.error();
  if (args.size() < 2) return std::string(kUsage);
  const std::string& what = args[1];
  if (what == "state") {
    constexpr std::string_view kStateUsage =
        "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n";
    if (args.size() != 3) return std::string(kStateUsage);
    health::AdminRequest req;
    if (args[2] == "ready") {
      req = health::AdminRequest::kReady;
    } else if (args[2] == "drain") {
      req = health::AdminRequest::kDrain;
    } else if (args[2] == "maint") {
      req = health::AdminRequest::kMaint;
    } else {
      return std::string(kStateUsage);
    }
    return statusText(ctx.control.setServerAdmin(ref->pool, ref->server, req));
  }
  if (what == "weight") {
    if (args.size() != 3) return "Require <weight> or <weight%>.\n";
    return setWeight(ctx, *ref, args[2]);
  }
  if (what == "addr") return setAddr(ctx, *ref, Args(args.begin() + 2, args.end()));
  return std::string(kUsage);
}

std::string setWeightCmd(Ctx& ctx, const Args& args) {
  if (args.empty()) return std::string(kRequireServer);
  auto ref = findServer(*ctx.control.snapshot()->config, args[0]);
  if (!ref) return ref.error();
  if (args.size() != 2) return "Require <weight> or <weight%>.\n";
  return setWeight(ctx, *ref, args[1]);
}

template <typename Fn>
std::string onServer(Ctx& ctx, const Args& args, Fn fn) {
  if (args.size() != 1) return std::string(kRequireServer);
  auto ref = findServer(*ctx.control.snapshot()->config, args[0]);
  if (!ref) return ref.error();
  return fn(*ref);
}

std::string enableServer(Ctx& ctx, const Args& args) {
  return onServer(ctx, args, [&](const ServerRef& r) {
    return statusText(ctx.control.setServerAdmin(r.pool, r.server, health::AdminRequest::kReady));
  });
}
std::string disableServer(Ctx& ctx, const Args& args) {
  return onServer(ctx, args, [&](const ServerRef& r) {
    return statusText(ctx.control.setServerAdmin(r.pool, r.server, health::AdminRequest::kMaint));
  });
}
std::string enableHealth(Ctx& ctx, const Args& args) {
  return onServer(ctx, args, [&](const ServerRef& r) {
    return statusText(ctx.control.setHealthChecks(r.pool, r.server, true));
  });
}
std::string disableHealth(Ctx& ctx, const Args& args) {
  return onServer(ctx, args, [&](const ServerRef& r) {
    return statusText(ctx.control.setHealthChecks(r.pool, r.server, false));
  });
}
std::string enableAgent(Ctx& ctx, const Args& args) {
  return onServer(ctx, args, [&](const ServerRef& r) {
    return statusText(ctx.control.setAgentChecks(r.pool, r.server, true));
  });
}
std::string disableAgent(Ctx& ctx, const Args& args) {
  return onServer(ctx, args, [&](const ServerRef& r) {
    return statusText(ctx.control.setAgentChecks(r.pool, r.server, false));
  });
}
std::string shutdownSessions(Ctx& ctx, const Args& args) {
  return onServer(ctx, args, [&](const ServerRef& r) {
    ctx.control.shutdownSessions(r.pool, r.server);
    return std::string();
  });
}

std::string setMaxconnServer(Ctx& ctx, const Args& args) {
  if (args.empty()) return std::string(kRequireServer);
  auto ref = findServer(*ctx.control.snapshot()->config, args[0]);
  if (!ref) return ref.error();
  if (args.size() < 2) return "Require <maxconn>.\n";
  uint32_t v = 0;
  if (auto err = integerError(args[1], v, "maxconn string empty or preceded by garbage",
                              "Trailing garbage in maxconn string");
      !err.empty())
    return err;
  if (args.size() != 2) return "Require <maxconn>.\n";
  return statusText(ctx.control.setServerMaxconn(ref->pool, ref->server, v));
}

std::string setMaxconnFrontend(Ctx& ctx, const Args& args) {
  if (args.empty()) return "A frontend name is expected.\n";
  const int svc = ctx.control.snapshot()->config->findService(args[0]);
  if (svc < 0) return "No such frontend.\n";
  int64_t v = 0;
  if (args.size() != 2 || !parseNumber(args[1], v)) return "Integer value expected.\n";
  if (v < 0 || v > UINT32_MAX) return "Value out of range.\n";
  return statusText(ctx.control.setFrontendMaxconn(svc, static_cast<uint32_t>(v)));
}

std::string setMaxconnGlobal(Ctx& ctx, const Args& args) {
  int64_t v = 0;
  if (args.size() != 1 || !parseNumber(args[0], v)) return "Expects an integer value.\n";
  const uint32_t hard = ctx.control.processInfo().hardMaxconn;
  if (v < 0 || v > UINT32_MAX || (hard != 0 && v > hard)) return "Value out of range.\n";
  // 0: back to the configuration's value (HAProxy's Hard_maxconn).
  ctx.control.setGlobalMaxconn(v == 0 ? hard : static_cast<uint32_t>(v));
  return "";
}

std::string addServer(Ctx& ctx, const Args& args) {
  if (args.empty()) return std::string(kRequireServer);
  const std::string& spec = args[0];
  const size_t slash = spec.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == spec.size())
    return std::string(kRequireServer);
  const auto snap = ctx.control.snapshot();
  const int p = snap->config->findPool(std::string_view(spec).substr(0, slash));
  if (p < 0) return std::string(kNoBackend);
  const std::string name = spec.substr(slash + 1);
  if (args.size() < 2) return "'server' expects <name> and <addr>[:<port>] as arguments.\n";
  const model::Pool& pool = snap->config->pools[static_cast<size_t>(p)];
  for (const auto& s : pool.servers)
    if (s.name == name) return "Already exists a server with the same name in backend.\n";
  auto srv = config::parseServerLine(name, args[1], Args(args.begin() + 2, args.end()));
  if (!srv) return srv.error() + "\n";
  // As HAProxy: an explicit id must be free in the backend; without one, the server takes
  // the smallest free id.
  if (auto s = config::checkServerId(*srv, pool.servers); !s) return s.error() + "\n";
  if (!srv->idSet) srv->id = config::freeServerId(pool.servers);
  // As in HAProxy, a server added at run time starts in maintenance with its checks
  // stopped: "enable server" puts it in service, "enable health" starts its checks.
  srv->dynamic = true;
  if (auto st = ctx.control.addServer(p, std::move(*srv)); !st) return st.error() + "\n";
  return "New server registered.\n";
}

// "balance ALGO" of a runtime packet service: what the packet path runs.
std::optional<model::Balance> serviceBalance(std::string_view algo) {
  model::Balance b;
  if (algo == "maglev") {
    b.algo = model::BalanceAlgo::kMaglev;
  } else if (algo == "roundrobin") {
    b.algo = model::BalanceAlgo::kRoundRobin;
  } else if (algo == "static-rr") {
    b.algo = model::BalanceAlgo::kStaticRr;
  } else if (algo == "source") {
    b.algo = model::BalanceAlgo::kSource;
    b.hashType = model::HashType::kConsistent;
  } else {
    return std::nullopt;
  }
  return b;
}
constexpr std::string_view kServiceAlgos =
    "'balance' expects maglev, roundrobin, static-rr or source.\n";

// "add service tcp VIP:PORT [balance ALGO]": a packet service on one VIP (ipvsadm -A).
std::string addService(Ctx& ctx, const Args& args) {
  if (args.size() != 2 && args.size() != 4)
    return "Usage: add service tcp <vip>:<port> [balance <algo>]\n";
  if (args[0] != "tcp" && args[0] != "udp") return "The protocol is 'tcp' or 'udp'.\n";
  auto vip = SockAddr::parse(args[1]);
  if (!vip || vip->isAny())
    return fmt::format("'{}' is not a numeric VIP:PORT ([IPv6]:PORT).\n", args[1]);
  model::Balance balance;
  balance.algo = model::BalanceAlgo::kMaglev;
  if (args.size() == 4) {
    auto b = args[2] == "balance" ? serviceBalance(args[3]) : std::nullopt;
    if (!b) return std::string(kServiceAlgos);
    balance = *b;
  }
  const auto proto = args[0] == "tcp" ? model::Protocol::kTcp : model::Protocol::kUdp;
  if (auto st = ctx.control.addService(proto, *vip, balance); !st) return st.error() + "\n";
  return fmt::format("New service {} registered.\n",
                     control::RuntimeOverrides::serviceName(proto, *vip));
}

// "set service NAME balance ALGO" (ipvsadm -E).
std::string setService(Ctx& ctx, const Args& args) {
  if (args.size() != 3 || args[1] != "balance") return "Usage: set service <name> balance <algo>\n";
  auto b = serviceBalance(args[2]);
  if (!b) return std::string(kServiceAlgos);
  if (auto st = ctx.control.setServiceBalance(args[0], *b); !st) return st.error() + "\n";
  return "";
}

// "del service NAME" (ipvsadm -D): the service and its servers.
std::string delService(Ctx& ctx, const Args& args) {
  if (args.size() != 1) return "Usage: del service <name>\n";
  if (auto st = ctx.control.delService(args[0]); !st) return st.error() + "\n";
  return "Service deleted.\n";
}

std::string delServer(Ctx& ctx, const Args& args) {
  if (args.size() != 1) return std::string(kRequireServer);
  const auto snap = ctx.control.snapshot();
  auto ref = findServer(*snap->config, args[0]);
  if (!ref) return ref.error();
  const auto p = static_cast<size_t>(ref->pool), s = static_cast<size_t>(ref->server);
  model::ServerState state = model::ServerState::kUp;
  if (p < snap->runtime.size() && s < snap->runtime[p].size()) state = snap->runtime[p][s].state;
  if (state != model::ServerState::kMaint)
    return "Only servers in maintenance mode can be deleted.\n";
  if (p < snap->loads.size() && snap->loads[p] && snap->loads[p]->active(s) > 0)
    return "Server still has connections attached to it, cannot remove it.\n";
  if (auto st = ctx.control.delServer(ref->pool, ref->server); !st) return st.error() + "\n";
  return "Server deleted.\n";
}

std::string reload(Ctx& ctx, const Args& args) {
  if (!args.empty()) return "Usage: reload\n";
  const ReloadOutcome r = ctx.control.reload();
  std::string out = r.ok ? "Success=1\n--\n" : "Success=0\n--\n";
  for (const auto& m : r.messages) out += m + "\n";
  return out;
}

// ---- the command table ----

using Handler = std::string (*)(Ctx&, const Args&);

struct Command {
  std::vector<std::string_view> words;
  ApiLevel level;
  std::string_view usage;  // for help
  std::string_view help;
  Handler fn;
};

std::string helpCmd(Ctx& ctx, const Args& args);
std::string promptCmd(Ctx& ctx, const Args&) {
  ctx.interactive = !ctx.interactive;
  return "";
}
std::string quitCmd(Ctx& ctx, const Args&) {
  ctx.quit = true;
  return "";
}

// clang-format off
const std::vector<Command>& commands() {
  static const std::vector<Command> kCommands = {
      {{"add", "service"}, ApiLevel::kAdmin, "add service tcp <vip>:<port> [balance <algo>]", "create a packet service on a VIP (dataplane xdp)", addService},
      {{"del", "service"}, ApiLevel::kAdmin, "del service <name>", "remove a runtime packet service and its servers", delService},
      {{"set", "service"}, ApiLevel::kAdmin, "set service <name> balance <algo>", "change a runtime packet service's scheduler", setService},
      {{"add", "server"}, ApiLevel::kAdmin, "add server <bk>/<srv> <addr> [params]*", "create a new server (in maintenance)", addServer},
      {{"del", "server"}, ApiLevel::kAdmin, "del server <bk>/<srv>", "remove a server in maintenance without connections", delServer},
      {{"disable", "agent"}, ApiLevel::kAdmin, "disable agent <bk>/<srv>", "disable a server's agent checks", disableAgent},
      {{"disable", "health"}, ApiLevel::kAdmin, "disable health <bk>/<srv>", "disable a server's active health checks", disableHealth},
      {{"disable", "server"}, ApiLevel::kAdmin, "disable server <bk>/<srv>", "put a server in maintenance", disableServer},
      {{"enable", "agent"}, ApiLevel::kAdmin, "enable agent <bk>/<srv>", "enable a server's agent checks", enableAgent},
      {{"enable", "health"}, ApiLevel::kAdmin, "enable health <bk>/<srv>", "enable a server's active health checks", enableHealth},
      {{"enable", "server"}, ApiLevel::kAdmin, "enable server <bk>/<srv>", "take a server out of maintenance", enableServer},
      {{"get", "weight"}, ApiLevel::kUser, "get weight <bk>/<srv>", "report a server's current and initial weights", getWeight},
      {{"reload"}, ApiLevel::kAdmin, "reload", "re-read the configuration files and apply them", reload},
      {{"set", "maxconn", "frontend"}, ApiLevel::kAdmin, "set maxconn frontend <frontend> <value>", "change a frontend's maxconn", setMaxconnFrontend},
      {{"set", "maxconn", "global"}, ApiLevel::kAdmin, "set maxconn global <value>", "change the process' maxconn", setMaxconnGlobal},
      {{"set", "maxconn", "server"}, ApiLevel::kAdmin, "set maxconn server <bk>/<srv> <value>", "change a server's maxconn", setMaxconnServer},
      {{"set", "server"}, ApiLevel::kAdmin, "set server <bk>/<srv> <opts>", "change a server's state, weight or address", setServer},
      {{"set", "weight"}, ApiLevel::kAdmin, "set weight <bk>/<srv> <weight>[%]", "change a server's weight (as 'set server ... weight')", setWeightCmd},
      {{"show", "backend"}, ApiLevel::kUser, "show backend", "list the backends", showBackend},
      {{"show", "cli", "level"}, ApiLevel::kUser, "show cli level", "report the level of this socket", showCliLevel},
      {{"show", "info"}, ApiLevel::kUser, "show info [typed|json]", "report information about the running process", showInfo},
      {{"show", "servers", "state"}, ApiLevel::kUser, "show servers state [<backend>]", "dump the servers' state (all or one backend)", showServersState},
      {{"show", "sess"}, ApiLevel::kOperator, "show sess [<id>|all]", "list the current sessions", showSess},
      {{"show", "stat"}, ApiLevel::kUser, "show stat [typed|json|up|no-maint]", "report counters for each proxy and server", showStat},
      {{"show", "xdp"}, ApiLevel::kUser, "show xdp [services|flow <vip> <client>]", "the packet data plane's counters, services, or which real gets a flow", showXdp},
      {{"show", "version"}, ApiLevel::kUser, "show version", "report the version of the running process", showVersion},
      {{"shutdown", "sessions", "server"}, ApiLevel::kAdmin, "shutdown sessions server <bk>/<srv>", "close the sessions established to a server", shutdownSessions},
      {{"help"}, ApiLevel::kUser, "help [<command>]", "list matching or all commands", helpCmd},
      {{"prompt"}, ApiLevel::kUser, "prompt", "toggle interactive mode with prompt", promptCmd},
      {{"quit"}, ApiLevel::kUser, "quit", "disconnect", quitCmd},
  };
  return kCommands;
}
// clang-format on

std::string helpLine(const Command& c) { return fmt::format("  {:<39} : {}\n", c.usage, c.help); }

bool isSessionCommand(const Command& c) {
  return c.words[0] == "help" || c.words[0] == "prompt" || c.words[0] == "quit";
}

// Help lines at the client's level whose first word is `first`, then help, prompt and
// quit, as HAProxy suggests them; every line when `first` is empty or nothing matches.
std::string helpList(const Ctx& ctx, std::string_view first) {
  std::string matching, session, all;
  for (const auto& c : commands()) {
    if (c.level > ctx.level) continue;
    all += helpLine(c);
    if (isSessionCommand(c)) {
      session += helpLine(c);
    } else if (c.words[0] == first) {
      matching += helpLine(c);
    }
  }
  return matching.empty() ? all : matching + session;
}

std::string helpCmd(Ctx& ctx, const Args& args) {
  return "The following commands are valid at this level:\n" +
         helpList(ctx, args.empty() ? std::string_view() : std::string_view(args[0]));
}

const Command* match(const Args& words) {
  const Command* best = nullptr;
  for (const auto& c : commands()) {
    if (c.words.size() > words.size()) continue;
    bool ok = true;
    for (size_t i = 0; i < c.words.size() && ok; ++i) ok = words[i] == c.words[i];
    if (ok && (best == nullptr || c.words.size() > best->words.size())) best = &c;
  }
  return best;
}

}  // namespace

std::string RuntimeApi::execute(std::string_view line, model::ApiLevel level, bool* interactive,
                                bool* quit) {
  Ctx ctx{control_, rates_, level, interactive != nullptr && *interactive, false};
  std::string out;
  for (const Args& words : splitLine(line)) {
    std::string text;
    if (words.empty()) {
      text =
          "Unknown command. Please enter one of the following commands only:\n" + helpList(ctx, {});
    } else if (const Command* c = match(words); c == nullptr) {
      text = "Unknown command, but maybe one of the following ones is a better match:\n" +
             helpList(ctx, words[0]);
    } else if (c->level > level) {
      text = std::string(kPermissionDenied);
    } else {
      text = c->fn(ctx,
                   Args(words.begin() + static_cast<std::ptrdiff_t>(c->words.size()), words.end()));
    }
    if (ctx.quit) break;
    if (!text.empty() && text.back() != '\n') text += '\n';
    // Each command's output ends with an empty line; in interactive mode a prompt follows.
    out += text;
    out += '\n';
    if (ctx.interactive) out += "> ";
  }
  if (interactive != nullptr) *interactive = ctx.interactive;
  if (quit != nullptr) *quit = ctx.quit;
  return out;
}

}  // namespace fulcrum::admin
