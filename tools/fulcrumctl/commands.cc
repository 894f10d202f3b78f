#include "commands.h"

#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <thread>

#include "common/net.h"
#include "parse.h"
#include "table.h"

namespace fulcrumctl {
namespace {

using Clock = std::chrono::steady_clock;

void out(const std::string& s) {
  std::fwrite(s.data(), 1, s.size(), stdout);
  std::fflush(stdout);
}

void err(const std::string& s) {
  std::string line = s;
  if (line.empty() || line.back() != '\n') line += '\n';
  std::fwrite(line.data(), 1, line.size(), stderr);
}

// One request; on a connection failure prints the reason and sets *code to 3.
std::optional<std::string> ask(const Context& ctx, const std::string& line, int* code) {
  auto r = query(ctx.ep, line);
  if (!r.ok()) {
    err(fmt::format("fulcrumctl: {}", r.error()));
    *code = kExitConnect;
    return std::nullopt;
  }
  return std::move(r).value();
}

bool startsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// HAProxy's messages for commands that succeed with words rather than silence ("set
// server addr" words its failures the same way: "no need to change the addr, problem
// converting port ...").
bool isSuccessMessage(std::string_view text) {
  for (std::string_view bad : {"problem converting port", "Invalid addr"})
    if (text.find(bad) != std::string_view::npos) return false;
  for (std::string_view p :
       {"New server registered.", "Server deleted.", "IP changed from", "port changed from",
        "no need to change", "Done.", "New service ", "Service deleted."})
    if (startsWith(text, p)) return true;
  return false;
}

std::string stateWord(const std::string& status) { return status.empty() ? "-" : status; }

Cell stateCell(const std::string& status) {
  std::string s = stateWord(status);
  return Cell{s, stateColour(s)};
}

// Fetches and parses "show stat"; nullopt after printing the error (code set).
std::optional<Table> fetchStat(const Context& ctx, int* code) {
  auto text = ask(ctx, "show stat", code);
  if (!text) return std::nullopt;
  Table t = parseStatCsv(*text);
  if (t.columns.empty() || t.column("pxname") < 0 || t.column("svname") < 0) {
    std::string msg(trim(*text));
    err(fmt::format("fulcrumctl: show stat: {}", msg.empty() ? "empty or unreadable answer" : msg));
    *code = kExitRefused;
    return std::nullopt;
  }
  return t;
}

// One line of "show xdp services" (see src/admin/runtime_api.cc).
struct PacketRow {
  std::string service, proto, vip, balance, backend, server, addr, forward, weight, state;
  bool runtime = false;
};

// The packet services' lines; empty when there are none (or the server predates them).
std::vector<PacketRow> fetchPacketRows(const Context& ctx, int* code) {
  std::vector<PacketRow> rows;
  auto text = ask(ctx, "show xdp services", code);
  if (!text || text->rfind("# service", 0) != 0) return rows;
  std::istringstream in(*text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream f(line);
    PacketRow r;
    std::string runtime;
    if (f >> r.service >> r.proto >> r.vip >> r.balance >> runtime >> r.backend >> r.server >>
        r.addr >> r.forward >> r.weight >> r.state) {
      r.runtime = runtime == "1";
      rows.push_back(std::move(r));
    }
  }
  return rows;
}

// ipvsadm's words for a forwarding mode and a scheduler.
std::string ipvsForward(const std::string& mode) {
  if (mode == "dr") return "Route";
  if (mode == "ipip") return "Tunnel";
  if (mode == "gue") return "GUE";
  if (mode == "nat") return "Masq";
  return mode;
}
std::string ipvsScheduler(const std::string& balance) {
  if (balance == "maglev") return "mh";
  if (balance == "source") return "sh";
  if (balance == "roundrobin" || balance == "static-rr") return "wrr";
  return balance;
}
std::string ipvsFlag(const std::string& mode) {
  return mode == "dr" ? "-g" : mode == "nat" ? "-m" : "-i";
}

int rowType(const Table& t, size_t r) {
  const std::string& ty = t.cell(r, "type");
  if (!ty.empty()) return static_cast<int>(parseUint(ty).value_or(99));
  const std::string& sv = t.cell(r, "svname");  // old servers without "type"
  return sv == "FRONTEND" ? kTypeFrontend : sv == "BACKEND" ? kTypeBackend : kTypeServer;
}

std::string dashIfEmpty(const std::string& s) { return s.empty() ? "-" : s; }

std::string checkText(const Table& t, size_t r) {
  std::string st = t.cell(r, "check_status");
  if (st.empty()) return "-";
  // HAProxy prefixes "* " while a check runs.
  if (startsWith(st, "* ")) st = st.substr(2);
  const std::string& code = t.cell(r, "check_code");
  const std::string& dur = t.cell(r, "check_duration");
  if (!code.empty()) st += "/" + code;
  if (!dur.empty()) st += fmt::format(" {}ms", dur);
  return st;
}

std::string jsonRows(const Table& t, const std::vector<size_t>& rows) {
  std::string j = "[";
  for (size_t i = 0; i < rows.size(); ++i) {
    j += i ? ",\n {" : "\n {";
    for (size_t c = 0; c < t.columns.size(); ++c) {
      if (c) j += ",";
      const std::string& v = c < t.rows[rows[i]].size() ? t.rows[rows[i]][c] : std::string();
      j += jsonString(t.columns[c]) + ":" + jsonValue(v);
    }
    j += "}";
  }
  j += rows.empty() ? "]\n" : "\n]\n";
  return j;
}

std::vector<size_t> allRows(const Table& t) {
  std::vector<size_t> v;
  for (size_t r = 0; r < t.rows.size(); ++r) v.push_back(r);
  return v;
}

// Normalises "IP:PORT" ("[::1]:80", "127.0.0.1:80"); the text itself when it does not parse.
std::string normAddr(const std::string& s) {
  auto a = fulcrum::SockAddr::parse(s);
  return a.ok() ? a->toString() : s;
}

}  // namespace

bool validServerRef(const std::string& ref) {
  size_t slash = ref.find('/');
  return slash != std::string::npos && slash > 0 && slash + 1 < ref.size() &&
         ref.find('/', slash + 1) == std::string::npos &&
         ref.find_first_of(" \t;") == std::string::npos;
}

int cmdInfo(const Context& ctx) {
  int code = kExitOk;
  auto text = ask(ctx, "show info", &code);
  if (!text) return code;
  auto fields = parseInfo(*text);
  if (fields.empty()) {
    err(fmt::format("fulcrumctl: show info: {}", trim(*text)));
    return kExitRefused;
  }
  if (ctx.json) {
    std::string j = "{";
    for (size_t i = 0; i < fields.size(); ++i)
      j += fmt::format("{}\n {}:{}", i ? "," : "", jsonString(fields[i].first),
                       jsonValue(fields[i].second));
    out(j + "\n}\n");
    return kExitOk;
  }
  size_t w = 0;
  for (const auto& [k, v] : fields) w = std::max(w, k.size());
  std::string s;
  for (const auto& [k, v] : fields) s += fmt::format("{:<{}}  {}\n", k + ":", w + 1, v);
  out(s);
  return kExitOk;
}

int cmdStat(const Context& ctx) {
  int code = kExitOk;
  auto t = fetchStat(ctx, &code);
  if (!t) return code;
  if (ctx.json) {
    out(jsonRows(*t, allRows(*t)));
    return kExitOk;
  }
  std::string s;
  TextTable fe({"FRONTEND", "STATE", "CUR", "MAX", "LIMIT", "TOTAL", "RATE", "IN", "OUT", "DENIED",
                "ERRORS"},
               {false, false, true, true, true, true, true, true, true, true, true});
  for (size_t r = 0; r < t->rows.size(); ++r) {
    if (rowType(*t, r) != kTypeFrontend) continue;
    fe.add({{t->cell(r, "pxname"), {}},
            stateCell(t->cell(r, "status")),
            {std::to_string(t->num(r, "scur")), {}},
            {std::to_string(t->num(r, "smax")), {}},
            {dashIfEmpty(t->cell(r, "slim")), {}},
            {humanCount(static_cast<double>(t->num(r, "stot"))), {}},
            {humanRate(t->real(r, "rate")), {}},
            {humanBytes(static_cast<double>(t->num(r, "bin"))), {}},
            {humanBytes(static_cast<double>(t->num(r, "bout"))), {}},
            {std::to_string(t->num(r, "dreq")), {}},
            {std::to_string(t->num(r, "ereq")), {}}});
  }
  if (!fe.empty()) s += fe.render(ctx.colour) + "\n";

  // Backends in the order of their BACKEND rows; servers grouped under them.
  std::vector<std::string> order;
  std::map<std::string, std::vector<size_t>> servers;
  std::map<std::string, size_t> backendRow;
  for (size_t r = 0; r < t->rows.size(); ++r) {
    int ty = rowType(*t, r);
    const std::string& px = t->cell(r, "pxname");
    if (ty == kTypeServer) {
      if (!servers.count(px) && !backendRow.count(px)) order.push_back(px);
      servers[px].push_back(r);
    } else if (ty == kTypeBackend) {
      if (!servers.count(px) && !backendRow.count(px)) order.push_back(px);
      backendRow[px] = r;
    }
  }
  for (const std::string& px : order) {
    std::string title = fmt::format("backend {}", px);
    if (auto it = backendRow.find(px); it != backendRow.end()) {
      size_t r = it->second;
      const std::string& algo = t->cell(r, "algo");
      if (!algo.empty()) title += fmt::format(" ({})", algo);
      std::string st = stateWord(t->cell(r, "status"));
      std::string_view col = ctx.colour ? stateColour(st) : std::string_view();
      title += fmt::format("  {}{}{}", col, st, col.empty() ? "" : "\033[0m");
      title += fmt::format("  {} active, {} backup", t->num(r, "act"), t->num(r, "bck"));
      if (t->num(r, "qcur") > 0) title += fmt::format(", {} queued", t->num(r, "qcur"));
    }
    s += title + "\n";
    TextTable tb(
        {"SERVER", "ADDRESS", "STATE", "WEIGHT", "CUR", "MAX", "TOTAL", "RATE", "IN", "OUT",
         "CONNERR", "RETRY", "CHECK"},
        {false, false, false, true, true, true, true, true, true, true, true, true, false});
    auto addRow = [&](size_t r, const std::string& name) {
      tb.add({{name, {}},
              {dashIfEmpty(t->cell(r, "addr")), {}},
              stateCell(t->cell(r, "status")),
              {dashIfEmpty(t->cell(r, "weight")), {}},
              {std::to_string(t->num(r, "scur")), {}},
              {std::to_string(t->num(r, "smax")), {}},
              {humanCount(static_cast<double>(t->num(r, "stot"))), {}},
              {humanRate(t->real(r, "rate")), {}},
              {humanBytes(static_cast<double>(t->num(r, "bin"))), {}},
              {humanBytes(static_cast<double>(t->num(r, "bout"))), {}},
              {std::to_string(t->num(r, "econ")), {}},
              {std::to_string(t->num(r, "wretr")), {}},
              {checkText(*t, r), {}}});
    };
    for (size_t r : servers[px]) addRow(r, t->cell(r, "svname"));
    if (auto it = backendRow.find(px); it != backendRow.end()) addRow(it->second, "(total)");
    s += tb.render(ctx.colour, "  ") + "\n";
  }
  if (!s.empty() && s.back() == '\n' && s.size() > 1 && s[s.size() - 2] == '\n') s.pop_back();
  out(s);
  return kExitOk;
}

namespace {

// HAProxy's srv_admin_state bits: forced/inherited/config/resolver/hostname maintenance,
// forced/inherited drain.
constexpr uint64_t kAdminMaint = 0x01 | 0x02 | 0x04 | 0x20 | 0x40;
constexpr uint64_t kAdminDrain = 0x08 | 0x10;

std::string serverStateWord(uint64_t op, uint64_t admin) {
  if (admin & kAdminMaint) return "MAINT";
  if (admin & kAdminDrain) return "DRAIN";
  switch (op) {
    case 0: return "DOWN";
    case 1: return "STARTING";
    case 2: return "UP";
    case 3: return "STOPPING";
    default: return fmt::format("op={}", op);
  }
}

}  // namespace

int cmdServers(const Context& ctx, const std::string& backend) {
  int code = kExitOk;
  std::string line = "show servers state";
  if (!backend.empty()) line += " " + backend;
  auto text = ask(ctx, line, &code);
  if (!text) return code;
  Table t = parseServersState(*text);
  if (t.column("be_name") < 0 || t.column("srv_name") < 0) {
    err(fmt::format("fulcrumctl: {}: {}", line, trim(*text)));
    return kExitRefused;
  }
  if (ctx.json) {
    out(jsonRows(t, allRows(t)));
    return kExitOk;
  }
  TextTable tb({"BACKEND", "SERVER", "ADDRESS", "STATE", "WEIGHT", "INIT", "SINCE"},
               {false, false, false, false, true, true, true});
  for (size_t r = 0; r < t.rows.size(); ++r) {
    std::string addr = t.cell(r, "srv_addr");
    if (!t.cell(r, "srv_port").empty()) {
      addr = addr.find(':') != std::string::npos
                 ? fmt::format("[{}]:{}", addr, t.cell(r, "srv_port"))
                 : fmt::format("{}:{}", addr, t.cell(r, "srv_port"));
    }
    std::string st = serverStateWord(t.num(r, "srv_op_state"), t.num(r, "srv_admin_state"));
    const std::string& since = t.cell(r, "srv_time_since_last_change");
    tb.add({{t.cell(r, "be_name"), {}},
            {t.cell(r, "srv_name"), {}},
            {dashIfEmpty(addr), {}},
            {st, stateColour(st)},
            {dashIfEmpty(t.cell(r, "srv_uweight")), {}},
            {dashIfEmpty(t.cell(r, "srv_iweight")), {}},
            {parseUint(since) ? humanDuration(*parseUint(since)) : dashIfEmpty(since), {}}});
  }
  out(tb.render(ctx.colour));
  return kExitOk;
}

int cmdSessions(const Context& ctx, const std::string& filter) {
  int code = kExitOk;
  auto text = ask(ctx, "show sess", &code);
  if (!text) return code;
  auto sessions = parseSessions(*text);
  if (sessions.empty() && !trim(*text).empty()) {
    err(fmt::format("fulcrumctl: show sess: {}", trim(*text)));
    return kExitRefused;
  }
  // Filter: "BACKEND", "BACKEND/SERVER" or a frontend name.
  std::vector<const Session*> shown;
  for (const Session& s : sessions) {
    if (!filter.empty()) {
      std::string be = s.get("be"), srv = s.get("srv");
      if (!(filter == be || filter == s.get("fe") || filter == be + "/" + srv)) continue;
    }
    shown.push_back(&s);
  }
  if (ctx.json) {
    std::string j = "[";
    for (size_t i = 0; i < shown.size(); ++i) {
      j += i ? ",\n {" : "\n {";
      // Appended piece by piece: a literal plus a temporary string (`"," + jsonString(k)`)
      // inlines string::insert, where g++ 12 -O2 reports a bogus -Wrestrict (GCC bug 105329).
      j += "\"id\":";
      j += jsonString(shown[i]->id);
      for (const auto& [k, v] : shown[i]->fields) {
        j += ',';
        j += jsonString(k);
        j += ':';
        j += jsonValue(v);
      }
      j += "}";
    }
    out(j + (shown.empty() ? "]\n" : "\n]\n"));
    return kExitOk;
  }
  TextTable tb(
      {"ID", "PROTO", "SOURCE", "FRONTEND", "BACKEND", "SERVER", "AGE", "STATE", "IN", "OUT"},
      {false, false, false, false, false, false, true, false, true, true});
  auto bytes = [](const std::string& v) {
    auto n = parseUint(v);
    return n ? humanBytes(static_cast<double>(*n)) : dashIfEmpty(v);
  };
  for (const Session* s : shown) {
    tb.add({{s->id, {}},
            {dashIfEmpty(s->get("proto")), {}},
            {dashIfEmpty(s->get("src")), {}},
            {dashIfEmpty(s->get("fe")), {}},
            {dashIfEmpty(s->get("be")), {}},
            {dashIfEmpty(s->get("srv")), {}},
            {dashIfEmpty(s->get("age")), {}},
            {dashIfEmpty(s->get("state")), {}},
            {bytes(s->get("bytes_in")), {}},
            {bytes(s->get("bytes_out")), {}}});
  }
  out(tb.render(ctx.colour) +
      fmt::format("{} session{}\n", shown.size(), shown.size() == 1 ? "" : "s"));
  return kExitOk;
}

int cmdRaw(const Context& ctx, const std::string& line) {
  int code = kExitOk;
  auto text = ask(ctx, line, &code);
  if (!text) return code;
  out(*text);
  return kExitOk;
}

int cmdReload(const Context& ctx) {
  int code = kExitOk;
  auto text = ask(ctx, "reload", &code);
  if (!text) return code;
  auto lines = splitLines(*text);
  std::optional<bool> success;
  std::string messages;
  bool inMessages = false;
  for (std::string_view l : lines) {
    if (!success && startsWith(l, "Success=")) {
      success = trim(l.substr(8)) == "1";
    } else if (success && !inMessages && trim(l) == "--") {
      inMessages = true;
    } else if (success) {
      messages += std::string(l) + "\n";
    }
  }
  while (!messages.empty() && (messages.back() == '\n' || messages.back() == ' '))
    messages.pop_back();
  if (!success) {
    err(fmt::format("fulcrumctl: reload: {}", trim(*text)));
    return kExitRefused;
  }
  if (*success) {
    out(messages.empty() ? "Reload succeeded.\n" : messages + "\n");
    return kExitOk;
  }
  err(messages.empty() ? "fulcrumctl: reload failed" : "fulcrumctl: reload failed:\n" + messages);
  return kExitRefused;
}

int cmdAction(const Context& ctx, const std::string& line) {
  int code = kExitOk;
  auto text = ask(ctx, line, &code);
  if (!text) return code;
  std::string msg(trim(*text));
  if (msg.empty()) return kExitOk;
  if (isSuccessMessage(msg)) {
    out(msg + "\n");
    return kExitOk;
  }
  err(fmt::format("fulcrumctl: {}: {}", line, msg));
  return kExitRefused;
}

int cmdActions(const Context& ctx, const std::vector<std::string>& lines) {
  for (const std::string& l : lines)
    if (int c = cmdAction(ctx, l); c != kExitOk) return c;
  return kExitOk;
}

int cmdWatch(const Context& ctx, double interval, int count) {
  struct Sample {
    uint64_t stot = 0, bin = 0, bout = 0;
  };
  std::map<std::string, Sample> prev;
  Clock::time_point prevAt{};
  auto perSecond = [](uint64_t now, uint64_t before, double dt) {
    return now >= before && dt > 0 ? static_cast<double>(now - before) / dt : 0.0;
  };
  for (int frame = 1; count <= 0 || frame <= count; ++frame) {
    auto started = Clock::now();
    int code = kExitOk;
    auto t = fetchStat(ctx, &code);
    if (!t) return code;
    // The interval between the starts of two fetches: the one the frames are scheduled by.
    double dt = frame == 1 ? 0 : std::chrono::duration<double>(started - prevAt).count();
    std::map<std::string, Sample> cur;

    TextTable tb({"PROXY", "NAME", "STATE", "WEIGHT", "CUR", "CONN/S", "IN/S", "OUT/S", "TOTAL"},
                 {false, false, false, true, true, true, true, true, true});
    for (size_t r = 0; r < t->rows.size(); ++r) {
      int ty = rowType(*t, r);
      if (ty != kTypeFrontend && ty != kTypeBackend && ty != kTypeServer) continue;
      std::string key = fmt::format("{}/{}/{}", ty, t->cell(r, "pxname"), t->cell(r, "svname"));
      Sample s{t->num(r, "stot"), t->num(r, "bin"), t->num(r, "bout")};
      cur[key] = s;
      std::string cps = "-", ins = "-", outs = "-";
      if (auto it = prev.find(key); it != prev.end() && dt > 0) {
        cps = humanRate(perSecond(s.stot, it->second.stot, dt));
        ins = humanBytes(perSecond(s.bin, it->second.bin, dt));
        outs = humanBytes(perSecond(s.bout, it->second.bout, dt));
      }
      tb.add({{t->cell(r, "pxname"), {}},
              {t->cell(r, "svname"), {}},
              stateCell(t->cell(r, "status")),
              {ty == kTypeFrontend ? "-" : dashIfEmpty(t->cell(r, "weight")), {}},
              {std::to_string(t->num(r, "scur")), {}},
              {cps, {}},
              {ins, {}},
              {outs, {}},
              {std::to_string(s.stot), {}}});
    }
    std::time_t wall = std::time(nullptr);
    char hms[16] = "";
    std::strftime(hms, sizeof(hms), "%H:%M:%S", std::localtime(&wall));
    std::string header = count > 0
                             ? fmt::format("fulcrumctl watch  {}  every {}s  frame {}/{}  {}\n",
                                           ctx.ep.path, interval, frame, count, hms)
                             : fmt::format("fulcrumctl watch  {}  every {}s  frame {}  {}\n",
                                           ctx.ep.path, interval, frame, hms);
    std::string s;
    if (ctx.terminal)
      s += "\033[H\033[2J";
    else if (frame > 1)
      s += "\n";
    s += header + "\n" + tb.render(ctx.colour);
    out(s);
    prev = std::move(cur);
    prevAt = started;
    if (count > 0 && frame == count) break;
    auto next = started + std::chrono::duration_cast<Clock::duration>(
                              std::chrono::duration<double>(interval));
    std::this_thread::sleep_until(next);
  }
  return kExitOk;
}

// ---- ipvsadm verbs -------------------------------------------------------------

namespace {

struct ServiceRef {
  std::string backend;
  std::string shown;  // how -L shows it: the bind address when known, else the name
};

// The listeners' addresses by proxy name, from listener rows ("type" 3, with "addr") of
// show stat, which a server exposes per bind (HAProxy: "option socket-stats").
std::map<std::string, std::vector<std::string>> listenerAddrs(const Table& t) {
  std::map<std::string, std::vector<std::string>> m;
  for (size_t r = 0; r < t.rows.size(); ++r)
    if (rowType(t, r) == kTypeListener && !t.cell(r, "addr").empty())
      m[t.cell(r, "pxname")].push_back(normAddr(t.cell(r, "addr")));
  return m;
}

bool hasBackend(const Table& t, const std::string& name) {
  for (size_t r = 0; r < t.rows.size(); ++r)
    if (rowType(t, r) == kTypeBackend && t.cell(r, "pxname") == name) return true;
  return false;
}

// ipvsadm's schedulers as the packet path runs them ("balance" of "add service").
std::optional<std::string> balanceFor(const std::string& scheduler) {
  if (scheduler == "mh") return "maglev";
  if (scheduler == "rr" || scheduler == "wrr") return "roundrobin";
  if (scheduler == "sh") return "source";
  return std::nullopt;
}

// The name of the runtime service on VIP:PORT ("tcp:203.0.113.1:443").
std::string runtimeServiceName(const std::string& vip, bool udp) {
  auto a = fulcrum::SockAddr::parse(vip);
  return (udp ? "udp:" : "tcp:") + (a.ok() ? a->toString() : vip);
}

bool looksLikeAddress(const std::string& s) {
  std::string_view host, port;
  return fulcrum::splitHostPort(s, host, port) && fulcrum::SockAddr::parse(s).ok();
}

// Maps -t to a backend; prints the reason and returns nullopt (exit 2) when it cannot.
std::optional<std::string> resolveService(const Table& t, const std::string& svc, bool udp) {
  if (!looksLikeAddress(svc)) {
    if (hasBackend(t, svc)) return svc;
    err(fmt::format("fulcrumctl: no backend named '{}'", svc));
    return std::nullopt;
  }
  if (const std::string runtime = runtimeServiceName(svc, udp); hasBackend(t, runtime))
    return runtime;
  std::string want = normAddr(svc);
  auto addrs = listenerAddrs(t);
  if (addrs.empty()) {
    err(fmt::format(
        "fulcrumctl: the runtime API reports no bind addresses, so {} cannot be mapped to a "
        "backend; name the backend instead: -t BACKEND",
        svc));
    return std::nullopt;
  }
  for (const auto& [px, list] : addrs) {
    for (const std::string& a : list) {
      if (a != want) continue;
      if (hasBackend(t, px)) return px;  // a "listen" section: frontend and backend share it
      err(fmt::format(
          "fulcrumctl: {} is bound by frontend '{}', whose backend the runtime API does not "
          "report; name the backend instead: -t BACKEND",
          svc, px));
      return std::nullopt;
    }
  }
  err(fmt::format("fulcrumctl: no frontend binds {}", svc));
  return std::nullopt;
}

// The server of `backend` whose address is `real`, else one named after it.
std::optional<std::string> findServer(const Table& t, const std::string& backend,
                                      const std::string& real, const std::string& derived) {
  std::string want = normAddr(real);
  for (size_t r = 0; r < t.rows.size(); ++r) {
    if (rowType(t, r) != kTypeServer || t.cell(r, "pxname") != backend) continue;
    if (normAddr(t.cell(r, "addr")) == want || t.cell(r, "svname") == derived)
      return t.cell(r, "svname");
  }
  return std::nullopt;
}

// A server name for RIP:PORT: the address without IPv6 brackets ("10.0.0.2:80", "::1:80").
std::string nameFor(const std::string& real) {
  auto a = fulcrum::SockAddr::parse(real);
  if (!a.ok()) return real;
  return fmt::format("{}:{}", a->hostString(), a->port());
}

}  // namespace

// -A, -E, -D, -C: runtime packet services.
int cmdIpvsService(const Context& ctx, const IpvsArgs& a) {
  if (a.persistent) {
    err("fulcrumctl: persistence (-p) is not supported yet");
    return kExitUsage;
  }
  if (a.clear) {
    int code = kExitOk;
    std::vector<std::string> lines;
    for (const PacketRow& p : fetchPacketRows(ctx, &code)) {
      const std::string line = "del service " + p.service;
      if (p.runtime && (lines.empty() || lines.back() != line)) lines.push_back(line);
    }
    if (code != kExitOk) return code;
    return lines.empty() ? kExitOk : cmdActions(ctx, lines);
  }
  if (a.service.empty() || !looksLikeAddress(a.service)) {
    err("fulcrumctl: -A, -E and -D need -t or -u VIP:PORT (numeric; IPv6 as [ADDR]:PORT)");
    return kExitUsage;
  }
  const std::string name = runtimeServiceName(a.service, a.udp);
  if (a.delService) return cmdAction(ctx, "del service " + name);
  std::optional<std::string> balance;
  if (!a.scheduler.empty()) {
    balance = balanceFor(a.scheduler);
    if (!balance) {
      err(
          fmt::format("fulcrumctl: scheduler '{}' is not one the packet data plane runs (rr, "
                      "wrr, sh, mh)",
                      a.scheduler));
      return kExitUsage;
    }
  }
  if (a.editService) {
    if (!balance) {
      err("fulcrumctl: -E needs -s SCHEDULER (the only editable field)");
      return kExitUsage;
    }
    return cmdAction(ctx, fmt::format("set service {} balance {}", name, *balance));
  }
  auto vip = fulcrum::SockAddr::parse(a.service);
  std::string line = fmt::format("add service {} {}", a.udp ? "udp" : "tcp", vip->toString());
  if (balance) line += " balance " + *balance;
  return cmdAction(ctx, line);
}

namespace {

// -S: the runtime services (those added with -A) as ipvsadm lines; the configuration's
// services are in its files.
int cmdIpvsSave(const Context& ctx) {
  int code = kExitOk;
  const std::vector<PacketRow> rows = fetchPacketRows(ctx, &code);
  if (code != kExitOk) return code;
  std::string text, last;
  for (const PacketRow& p : rows) {
    if (!p.runtime) continue;
    const char* flag = p.proto == "udp" ? "-u" : "-t";
    if (p.service != last)
      text += fmt::format("-A {} {} -s {}\n", flag, p.vip, ipvsScheduler(p.balance));
    last = p.service;
    if (p.server != "-")
      text += fmt::format("-a {} {} -r {} {} -w {}\n", flag, p.vip, p.addr, ipvsFlag(p.forward),
                          p.weight);
  }
  out(text);
  return kExitOk;
}

// -R: what -S printed, from stdin, line by line; stops at the first failure.
int cmdIpvsRestore(const Context& ctx) {
  int lineNo = 0;
  for (std::string line; std::getline(std::cin, line);) {
    ++lineNo;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    std::string why;
    auto a = parseIpvsLine(line, &why);
    if (!a) {
      err(fmt::format("fulcrumctl: -R: line {}: {}", lineNo, why));
      return kExitUsage;
    }
    if (int code = cmdIpvs(ctx, *a); code != kExitOk) {
      err(fmt::format("fulcrumctl: -R: line {} failed: {}", lineNo, line));
      return code;
    }
  }
  return kExitOk;
}

}  // namespace

int cmdIpvs(const Context& ctx, const IpvsArgs& a) {
  int verbs = a.list + a.add + a.del + a.edit + a.addService + a.editService + a.delService +
              a.clear + a.save + a.restore;
  if (verbs != 1) {
    err("fulcrumctl: give exactly one of -A, -E, -D, -C, -S, -R, -L, -a, -e, -d");
    return kExitUsage;
  }
  if (a.save) return cmdIpvsSave(ctx);
  if (a.restore) return cmdIpvsRestore(ctx);
  if (a.addService || a.editService || a.delService || a.clear) return cmdIpvsService(ctx, a);
  if (!a.scheduler.empty()) {
    err("fulcrumctl: -s (the scheduler) goes with -A or -E");
    return kExitUsage;
  }
  if ((a.add || a.del || a.edit) && (a.service.empty() || a.real.empty())) {
    err("fulcrumctl: -a, -d and -e need -t SERVICE and -r RIP:PORT");
    return kExitUsage;
  }
  IpvsArgs args = a;
  // ipvsadm: a real server without a port takes the service's.
  if ((a.add || a.del || a.edit) && !looksLikeAddress(a.real) && looksLikeAddress(a.service)) {
    auto host = fulcrum::SockAddr::parseHost(a.real, fulcrum::SockAddr::parse(a.service)->port());
    if (host.ok()) args.real = host->toString();
  }
  if ((a.add || a.del || a.edit) && !looksLikeAddress(args.real)) {
    err(fmt::format("fulcrumctl: -r wants a numeric RIP[:PORT], not '{}'", a.real));
    return kExitUsage;
  }
  if (a.edit && a.weight < 0) {
    err("fulcrumctl: -e needs -w WEIGHT (the only editable field)");
    return kExitUsage;
  }
  if (a.weight > 256) {
    err("fulcrumctl: -w must be between 0 and 256");
    return kExitUsage;
  }
  int code = kExitOk;
  auto t = fetchStat(ctx, &code);
  if (!t) return code;

  if (a.list) {
    std::optional<std::string> only;
    if (!a.service.empty()) {
      only = resolveService(*t, a.service, a.udp);
      if (!only) return kExitUsage;
    }
    auto addrs = listenerAddrs(*t);
    int ignored = kExitOk;
    const std::vector<PacketRow> packet = fetchPacketRows(ctx, &ignored);
    // Packet services: their VIPs, ipvsadm's scheduler names and each server's forwarding.
    std::map<std::string, std::string> schedulerOf;                        // backend -> mh, sh, wrr
    std::map<std::pair<std::string, std::string>, std::string> forwardOf;  // (backend, server)
    for (const PacketRow& p : packet) {
      auto& shown = addrs[p.backend];
      if (std::find(shown.begin(), shown.end(), p.vip) == shown.end()) shown.push_back(p.vip);
      schedulerOf[p.backend] = ipvsScheduler(p.balance);
      if (p.server != "-") forwardOf[{p.backend, p.server}] = ipvsForward(p.forward);
    }
    std::string s = fmt::format("Fulcrum runtime API {}\n", ctx.ep.path);
    if (a.stats)
      s += fmt::format("{:<34}{:>8} {:>10} {:>10}\n", "Prot LocalAddress:Port", "Conns", "InBytes",
                       "OutBytes");
    else
      s += "Prot LocalAddress:Port Scheduler Flags\n";
    if (a.stats)
      s += "  -> RemoteAddress:Port\n";
    else
      s += fmt::format("{:<34}{:<8}{:<7}{:<11}{}\n", "  -> RemoteAddress:Port", "Forward", "Weight",
                       "ActiveConn", "InActConn");
    for (size_t r = 0; r < t->rows.size(); ++r) {
      if (rowType(*t, r) != kTypeBackend) continue;
      const std::string& be = t->cell(r, "pxname");
      if (only && *only != be) continue;
      std::vector<std::string> shown;
      if (auto it = addrs.find(be); it != addrs.end()) shown = it->second;
      if (shown.empty()) shown.push_back(be);
      const std::string prot = t->cell(r, "mode") == "udp" ? "UDP  " : "TCP  ";
      for (const std::string& svc : shown) {
        if (a.stats)
          s += fmt::format("{:<34}{:>8} {:>10} {:>10}\n", prot + svc, t->num(r, "stot"),
                           t->num(r, "bin"), t->num(r, "bout"));
        else if (auto sched = schedulerOf.find(be); sched != schedulerOf.end())
          s += fmt::format("{}{} {}\n", prot, svc, sched->second);
        else
          s += fmt::format("{}{} {}\n", prot, svc, dashIfEmpty(t->cell(r, "algo")));
        for (size_t q = 0; q < t->rows.size(); ++q) {
          if (rowType(*t, q) != kTypeServer || t->cell(q, "pxname") != be) continue;
          std::string rip = dashIfEmpty(t->cell(q, "addr"));
          if (a.stats)
            s += fmt::format("{:<34}{:>8} {:>10} {:>10}\n", "  -> " + rip, t->num(q, "stot"),
                             t->num(q, "bin"), t->num(q, "bout"));
          else {
            auto fwd = forwardOf.find({be, t->cell(q, "svname")});
            s += fmt::format("{:<34}{:<8}{:<7}{:<11}{}\n", "  -> " + rip,
                             fwd != forwardOf.end() ? fwd->second : "Proxy", t->num(q, "weight"),
                             t->num(q, "scur"), 0);
          }
        }
      }
    }
    out(s);
    return kExitOk;
  }

  auto backend = resolveService(*t, a.service, a.udp);
  if (!backend) return kExitUsage;
  const std::string& rip = args.real;
  std::string derived = nameFor(rip);
  // Forwarding: a packet service's servers take -g (direct routing), -i (IPIP) or -m
  // (NAT); without one, a service added with -A takes ipvsadm's default (-g) and one of the
  // configuration its backend's "forward". A proxied backend relays (-m or nothing).
  // (Asked only when it matters: a flag given, or the backend of a service added with -A.)
  int ignored = kExitOk;
  bool packet = false, runtime = false;
  if (a.forward != 0 || *backend == runtimeServiceName(a.service, a.udp))
    for (const PacketRow& p : fetchPacketRows(ctx, &ignored))
      if (p.backend == *backend) {
        packet = true;
        runtime = runtime || p.runtime;
      }
  std::string forward;
  if (packet) {
    forward = a.forward == 'g'   ? "dr"
              : a.forward == 'i' ? "ipip"
              : a.forward == 'm' ? "nat"
              : runtime          ? "dr"
                                 : "";
  } else if (a.forward == 'g' || a.forward == 'i') {
    err(
        fmt::format("fulcrumctl: backend '{}' is proxied: direct routing (-g) and tunnelling (-i) "
                    "are for packet services (fulcrumctl -A, or 'dataplane xdp' in the "
                    "configuration)",
                    *backend));
    return kExitUsage;
  }
  if (a.add) {
    std::string ref = *backend + "/" + derived;
    std::string line = fmt::format("add server {} {}", ref, rip);
    if (a.weight >= 0) line += fmt::format(" weight {}", a.weight);
    if (!forward.empty()) line += " forward " + forward;
    // A server added at runtime starts in maintenance (as in HAProxy): ipvsadm's -a makes
    // it usable at once.
    return cmdActions(ctx, {line, "enable server " + ref});
  }
  auto server = findServer(*t, *backend, rip, derived);
  if (!server) {
    err(fmt::format("fulcrumctl: backend '{}' has no server at {}", *backend, rip));
    return kExitRefused;
  }
  std::string ref = *backend + "/" + *server;
  if (a.edit) return cmdAction(ctx, fmt::format("set server {} weight {}", ref, a.weight));
  // -d: out of rotation, established connections closed, then removed (HAProxy deletes
  // only a server in maintenance with no connection).
  return cmdActions(
      ctx, {"disable server " + ref, "shutdown sessions server " + ref, "del server " + ref});
}

int cmdWhich(const Context& ctx, const std::string& vip, const std::string& client, bool udp) {
  if (!looksLikeAddress(vip) || !looksLikeAddress(client)) {
    err("fulcrumctl: which wants VIP:PORT CLIENT:PORT (numeric; IPv6 as [ADDR]:PORT)");
    return kExitUsage;
  }
  int code = kExitOk;
  auto text =
      ask(ctx, fmt::format("show xdp flow {} {} {}", udp ? "udp" : "tcp", vip, client), &code);
  if (!text) return code;
  std::string answer(trim(*text));
  if (answer.rfind("frontend ", 0) != 0) {
    err("fulcrumctl: " + answer);
    return kExitRefused;
  }
  out(answer + "\n");
  return kExitOk;
}

}  // namespace fulcrumctl
