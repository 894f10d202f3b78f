#include "admin/stats_page.h"

#include <fmt/core.h>
#include <time.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <utility>

#include "admin/stat_csv.h"

namespace fulcrum::admin {

namespace {

// ---- cell texts: one definition for the page and for the JSON it refreshes from ----

std::string num(uint64_t v) { return fmt::format("{}", v); }
std::string num(int64_t v) { return fmt::format("{}", v); }
std::string num(uint32_t v) { return fmt::format("{}", v); }
std::string rounded(double v) { return fmt::format("{}", static_cast<int64_t>(std::llround(v))); }

// "42s", "3m07s", "5h02m", "12d03h".
std::string duration(Micros us) {
  int64_t s = us / kSeconds;
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  if (s < 86400) return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
  return fmt::format("{}d{:02}h", s / 86400, (s % 86400) / 3600);
}

std::string utcTime(Micros wallUs) {
  time_t t = static_cast<time_t>(wallUs / kSeconds);
  tm parts{};
  gmtime_r(&t, &parts);
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC", parts.tm_year + 1900,
                     parts.tm_mon + 1, parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec);
}

bool isFrontend(const StatRow& r) { return r.type == RowType::kFrontend; }
bool isBackend(const StatRow& r) { return r.type == RowType::kBackend; }
bool isServer(const StatRow& r) { return r.type == RowType::kServer; }

std::string checkCell(const StatRow& r) {
  if (!isServer(r)) return "";
  std::string out;
  if (r.checked && !r.checkStatus.empty()) {
    out = r.checkStatus;
    if (r.checkDuration >= 0) out += fmt::format(" in {}ms", r.checkDuration / kMillis);
  }
  if (!r.agentStatus.empty()) {
    if (!out.empty()) out += ", ";
    out += "agent " + r.agentStatus;
  }
  return out;
}

struct Column {
  const char* key;
  const char* group;  // the header above a run of columns of the same group
  const char* title;
  // The cell's text; null: the row's "show stat" cell of the same name (statCells), so
  // the counters' columns come from the counter lists (model/stats.h) as the CSV does.
  std::string (*cell)(const StatRow&);
};

// HAProxy's CSV names serve as keys, so that the page, the JSON and "show stat" speak
// the same words.
const Column kColumns[] = {
    {"qcur", "Queue", "Cur",
     [](const StatRow& r) { return isBackend(r) ? num(r.queueCurrent) : std::string(); }},
    {"qmax", "Queue", "Max",
     [](const StatRow& r) { return isBackend(r) ? num(r.queueMax) : std::string(); }},
    {"qlimit", "Queue", "Limit",
     [](const StatRow& r) { return r.queueLimit ? num(r.queueLimit) : std::string(); }},
    {"rate", "Rate", "Cur", [](const StatRow& r) { return rounded(r.rate); }},
    {"rate_max", "Rate", "Max", [](const StatRow& r) { return rounded(r.rateMax); }},
    {"rate_lim", "Rate", "Limit",
     [](const StatRow& r) { return r.rateLimit ? num(r.rateLimit) : std::string(); }},
    {"scur", "Connections", "Cur", [](const StatRow& r) { return num(r.current); }},
    {"smax", "Connections", "Max", [](const StatRow& r) { return num(r.max); }},
    {"slim", "Connections", "Limit",
     [](const StatRow& r) { return r.limit ? num(r.limit) : std::string(); }},
    {"stot", "Connections", "Total", nullptr},
    {"bin", "Bytes", "In", nullptr},
    {"bout", "Bytes", "Out", nullptr},
    {"dreq", "Denied", "Conn", nullptr},
    {"ereq", "Errors", "Req", nullptr},
    {"econ", "Errors", "Conn", nullptr},
    {"wretr", "Warnings", "Retr", nullptr},
    {"wredis", "Warnings", "Redis", nullptr},
    {"status", "Server", "Status", [](const StatRow& r) { return r.status; }},
    {"lastchg", "Server", "LastChg",
     [](const StatRow& r) { return r.sinceChange >= 0 ? duration(r.sinceChange) : std::string(); }},
    {"weight", "Server", "Wght",
     [](const StatRow& r) { return isFrontend(r) ? std::string() : num(r.weight); }},
    {"act", "Server", "Act",
     [](const StatRow& r) -> std::string {
       if (isBackend(r)) return num(r.activeServers);
       if (isServer(r)) return r.backup ? "-" : "Y";
       return "";
     }},
    {"bck", "Server", "Bck",
     [](const StatRow& r) -> std::string {
       if (isBackend(r)) return num(r.backupServers);
       if (isServer(r)) return r.backup ? "Y" : "-";
       return "";
     }},
    {"check", "Server", "Check", checkCell},
    {"chkfail", "Server", "Chk",
     [](const StatRow& r) {
       return isServer(r) && r.checked ? num(r.checkFailures) : std::string();
     }},
    {"chkdown", "Server", "Dwn",
     [](const StatRow& r) { return isServer(r) ? num(r.checkDowns) : std::string(); }},
};

// A column's text for a row; `csv` is the row's statCells().
std::string cellText(const Column& c, const StatRow& r, const nlohmann::json& csv) {
  if (c.cell != nullptr) return c.cell(r);
  auto it = csv.find(c.key);
  if (it == csv.end()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

// The row's counters by field name (model/stats.h), for stats.json.
nlohmann::json countersOf(const StatRow& r) {
  nlohmann::json out = nlohmann::json::object();
#define FULCRUM_JSON_COUNTER(field, ...) out[#field] = counters.field;
  switch (r.type) {
    case RowType::kFrontend: {
      const auto& counters = r.fe;
      FULCRUM_FRONTEND_COUNTERS(FULCRUM_JSON_COUNTER)
      break;
    }
    case RowType::kBackend: {
      const auto& counters = r.be;
      FULCRUM_BACKEND_COUNTERS(FULCRUM_JSON_COUNTER)
      break;
    }
    case RowType::kServer: break;
  }
  if (r.type != RowType::kFrontend) {
    const auto& counters = r.srv;  // a backend's: the sums over its servers
    FULCRUM_SERVER_COUNTERS(FULCRUM_JSON_COUNTER)
  }
#undef FULCRUM_JSON_COUNTER
  return out;
}

std::string rowKey(const StatRow& r) {
  const char* t = isFrontend(r) ? "f" : isBackend(r) ? "b" : "s";
  return fmt::format("{}/{}/{}", t, r.proxy, r.name);
}

// The row's CSS class: its state, and "backup" for backup servers.
std::string rowClass(const StatRow& r) {
  std::string cls;
  if (isFrontend(r)) {
    cls = r.status == "OPEN" ? "open" : "stop";
  } else if (isBackend(r)) {
    cls = r.status.starts_with("UP") ? "up" : "down";
  } else {
    bool moving = r.status.find('/') != std::string::npos;  // "UP 1/3", "DOWN 1/2"
    switch (r.state) {
      case model::ServerState::kUp:
        cls = moving ? "going-down" : (r.status == "no check" ? "nocheck" : "up");
        break;
      case model::ServerState::kDown: cls = moving ? "going-up" : "down"; break;
      case model::ServerState::kDrain: cls = "drain"; break;
      case model::ServerState::kMaint: cls = "maint"; break;
    }
    if (r.backup) cls += " backup";
  }
  return cls;
}

struct ProcessCell {
  const char* key;
  const char* title;
};
const ProcessCell kProcessCells[] = {
    {"pid", "pid"},
    {"version", "version"},
    {"node", "node"},
    {"started", "started"},
    {"uptime", "uptime"},
    {"threads", "worker threads"},
    {"scur", "current connections"},
    {"stot", "connections accepted"},
    {"maxconn", "maxconn"},
    {"hardmaxconn", "hard maxconn"},
    {"fds", "open fds"},
    {"reloads", "reloads (failed)"},
    {"state", "state"},
};

std::vector<std::pair<std::string, std::string>> processCells(const std::vector<StatRow>& rows,
                                                              const ProcessInfo& info) {
  int64_t current = 0;
  uint64_t total = 0;
  for (const StatRow& r : rows) {
    if (!isFrontend(r)) continue;
    current += r.current;
    total += r.total();
  }
  return {
      {"pid", fmt::format("{}", info.pid)},
      {"version", info.version},
      {"node", info.node},
      {"started", utcTime(info.startedWall)},
      {"uptime", duration(info.uptime)},
      {"threads", num(info.threads)},
      {"scur", num(current)},
      {"stot", num(total)},
      {"maxconn", info.maxconn ? num(info.maxconn) : std::string("unlimited")},
      {"hardmaxconn", num(info.hardMaxconn)},
      {"fds", num(info.openFds)},
      {"reloads", fmt::format("{} ({})", info.reloads, info.failedReloads)},
      {"state", info.stopping ? "stopping" : "running"},
  };
}

constexpr std::string_view kStyle = R"css(
body{font-family:system-ui,sans-serif;font-size:13px;margin:1em;color:#222;background:#fafafa}
h1{font-size:20px;margin:0 0 .4em}h2{font-size:15px;margin:1.4em 0 .3em}
.summary{display:flex;flex-wrap:wrap;gap:.3em 1.6em;margin-bottom:.6em}
.summary div span{font-weight:600}
.controls{margin:.4em 0 1em;color:#555}
table.px{border-collapse:collapse;background:#fff}
table.px th,table.px td{border:1px solid #ccc;padding:2px 5px;text-align:right;white-space:nowrap}
table.px th{background:#e4e8ee;font-weight:600}
table.px td.name{text-align:left;font-weight:600}
tr.open td,tr.up td{background:#d9f2d0}tr.stop td,tr.down td{background:#f6c8c4}
tr.going-down td{background:#f7e6a0}tr.going-up td{background:#f4d3a8}
tr.drain td{background:#cbd9f5}tr.maint td{background:#d9c9ef}tr.nocheck td{background:#eee}
tr.backup.up td,tr.backup.nocheck td{background:#bfe3f0}
tr.frontend td.name,tr.backend td.name{font-style:italic}
.legend span{display:inline-block;padding:0 .5em;margin-right:.3em;border:1px solid #ccc}
#refresh-error{color:#b00}
)css";

// Fetches stats.json every `interval` seconds (a chain of timeouts, so requests never
// overlap) and rewrites the cells, the row classes and the process figures; reloads the
// page when the set of rows changed (a reload added or removed objects).
constexpr std::string_view kScript = R"js(
(function () {
  var interval = REFRESH_SECONDS;
  var sel = document.getElementById('refresh');
  sel.value = String(interval);
  sel.addEventListener('change', function () { location.search = '?refresh=' + sel.value; });
  if (!(interval > 0) || !window.fetch) return;
  var rows = {}, nrows = 0;
  document.querySelectorAll('tr[data-row]').forEach(function (tr) {
    rows[tr.getAttribute('data-row')] = tr; nrows++;
  });
  var count = 0;
  function text(id, v) { var e = document.getElementById(id); if (e) e.textContent = v; }
  function apply(d) {
    if (d.rows.length !== nrows || d.rows.some(function (r) { return !rows[r.key]; })) {
      location.reload();
      return;
    }
    d.rows.forEach(function (r) {
      var tr = rows[r.key];
      tr.className = r.cls;
      tr.querySelectorAll('td[data-k]').forEach(function (td) {
        var k = td.getAttribute('data-k');
        if (k in r.cells) td.textContent = r.cells[k];
        if (k === 'check') td.title = r.checkDesc || '';
      });
    });
    document.querySelectorAll('[data-p]').forEach(function (e) {
      var k = e.getAttribute('data-p');
      if (k in d.process.cells) e.textContent = d.process.cells[k];
    });
    count++;
    text('generated', d.generated);
    text('refresh-count', String(count));
    text('refresh-error', '');
  }
  function tick() {
    fetch('stats.json', {cache: 'no-store'})
      .then(function (res) { if (!res.ok) throw new Error('HTTP ' + res.status); return res.json(); })
      .then(apply)
      .catch(function (e) { text('refresh-error', 'refresh failed: ' + e.message); })
      .then(function () { setTimeout(tick, interval * 1000); });
  }
  setTimeout(tick, interval * 1000);
})();
)js";

const uint32_t kRefreshChoices[] = {0, 1, 2, 5, 10, 30, 60};

}  // namespace

std::string escapeHtml(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string renderStatsPage(const std::vector<StatRow>& rows, const ProcessInfo& info,
                            const StatsPageOptions& options) {
  uint32_t refresh = std::min(options.refreshSeconds, StatsPageOptions::kMaxRefreshSeconds);
  std::string h;
  h.reserve(16384 + rows.size() * 1024);
  auto out = std::back_inserter(h);
  fmt::format_to(out,
                 "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
                 "<title>Fulcrum statistics - {}</title>\n",
                 escapeHtml(info.node));
  // Without JavaScript the page still refreshes, as a whole.
  if (refresh > 0)
    fmt::format_to(out, "<noscript><meta http-equiv=\"refresh\" content=\"{}\"></noscript>\n",
                   refresh);
  fmt::format_to(out, "<style>{}</style></head>\n<body>\n<h1>Fulcrum statistics</h1>\n", kStyle);

  h += "<div class=\"summary\" id=\"process\">\n";
  auto pcells = processCells(rows, info);
  for (size_t i = 0; i < pcells.size(); ++i) {
    fmt::format_to(out, "<div>{}: <span data-p=\"{}\">{}</span></div>\n", kProcessCells[i].title,
                   pcells[i].first, escapeHtml(pcells[i].second));
  }
  h += "</div>\n";

  fmt::format_to(out,
                 "<div class=\"controls\">Figures of <span id=\"generated\">{}</span>. "
                 "Refresh every <select id=\"refresh\">",
                 utcTime(wallNow()));
  std::vector<uint32_t> choices(std::begin(kRefreshChoices), std::end(kRefreshChoices));
  if (std::find(choices.begin(), choices.end(), refresh) == choices.end()) {
    choices.push_back(refresh);
    std::sort(choices.begin(), choices.end());
  }
  for (uint32_t c : choices) {
    fmt::format_to(out, "<option value=\"{}\"{}>{}</option>", c, c == refresh ? " selected" : "",
                   c == 0 ? std::string("never") : fmt::format("{} s", c));
  }
  h += "</select> &middot; refreshed <span id=\"refresh-count\">0</span> times "
       "<span id=\"refresh-error\"></span></div>\n";
  h += "<div class=\"legend\">"
       "<span style=\"background:#d9f2d0\">UP / OPEN</span>"
       "<span style=\"background:#f7e6a0\">UP, going down</span>"
       "<span style=\"background:#f4d3a8\">DOWN, going up</span>"
       "<span style=\"background:#f6c8c4\">DOWN / STOP</span>"
       "<span style=\"background:#cbd9f5\">DRAIN</span>"
       "<span style=\"background:#d9c9ef\">MAINT</span>"
       "<span style=\"background:#bfe3f0\">backup UP</span>"
       "<span style=\"background:#eee\">no check</span></div>\n";

  // Rows by proxy name, in order of first appearance: FRONTEND, servers, BACKEND.
  std::vector<std::pair<std::string, std::vector<const StatRow*>>> proxies;
  for (const StatRow& r : rows) {
    auto it = std::find_if(proxies.begin(), proxies.end(),
                           [&](const auto& p) { return p.first == r.proxy; });
    if (it == proxies.end()) {
      proxies.emplace_back(r.proxy, std::vector<const StatRow*>{});
      it = proxies.end() - 1;
    }
    it->second.push_back(&r);
  }
  auto rank = [](const StatRow* r) { return isFrontend(*r) ? 0 : isServer(*r) ? 1 : 2; };

  for (auto& [proxy, prows] : proxies) {
    std::stable_sort(prows.begin(), prows.end(),
                     [&](const StatRow* a, const StatRow* b) { return rank(a) < rank(b); });
    fmt::format_to(out, "<h2>{}</h2>\n<table class=\"px\">\n<thead><tr><th rowspan=\"2\"></th>",
                   escapeHtml(proxy));
    for (size_t i = 0; i < std::size(kColumns);) {
      size_t j = i;
      while (j < std::size(kColumns) && std::string_view(kColumns[j].group) == kColumns[i].group)
        ++j;
      fmt::format_to(out, "<th colspan=\"{}\">{}</th>", j - i, kColumns[i].group);
      i = j;
    }
    h += "</tr>\n<tr>";
    for (const Column& c : kColumns) fmt::format_to(out, "<th>{}</th>", c.title);
    h += "</tr></thead>\n<tbody>\n";
    for (const StatRow* r : prows) {
      const char* type = isFrontend(*r) ? "frontend" : isBackend(*r) ? "backend" : "server";
      fmt::format_to(out, "<tr class=\"{}\" data-row=\"{}\" data-type=\"{}\">", rowClass(*r),
                     escapeHtml(rowKey(*r)), type);
      if (isServer(*r))
        fmt::format_to(out, "<td class=\"name\" title=\"{}\">{}</td>", escapeHtml(r->addr),
                       escapeHtml(r->name));
      else
        fmt::format_to(out, "<td class=\"name\">{}</td>", escapeHtml(r->name));
      const nlohmann::json csv = statCells(*r, true);
      for (const Column& c : kColumns) {
        if (std::string_view(c.key) == "check")
          fmt::format_to(out, "<td data-k=\"check\" title=\"{}\">{}</td>", escapeHtml(r->checkDesc),
                         escapeHtml(cellText(c, *r, csv)));
        else
          fmt::format_to(out, "<td data-k=\"{}\">{}</td>", c.key, escapeHtml(cellText(c, *r, csv)));
      }
      h += "</tr>\n";
    }
    h += "</tbody></table>\n";
  }
  if (proxies.empty()) h += "<p>No frontend or backend is configured.</p>\n";

  std::string script(kScript);
  std::string_view marker = "REFRESH_SECONDS";
  script.replace(script.find(marker), marker.size(), fmt::format("{}", refresh));
  fmt::format_to(out, "<script>{}</script>\n</body></html>\n", script);
  return h;
}

std::string renderStatsJson(const std::vector<StatRow>& rows, const ProcessInfo& info) {
  using nlohmann::json;
  json process = {
      {"pid", info.pid},
      {"version", info.version},
      {"node", info.node},
      {"startedWallUs", info.startedWall},
      {"uptimeSeconds", static_cast<double>(info.uptime) / 1e6},
      {"threads", info.threads},
      {"maxconn", info.maxconn},
      {"hardMaxconn", info.hardMaxconn},
      {"reloads", info.reloads},
      {"failedReloads", info.failedReloads},
      {"openFds", info.openFds},
      {"stopping", info.stopping},
  };
  json pcells = json::object();
  for (auto& [k, v] : processCells(rows, info)) pcells[k] = v;
  process["cells"] = std::move(pcells);

  json jrows = json::array();
  for (const StatRow& r : rows) {
    const char* type = isFrontend(r) ? "frontend" : isBackend(r) ? "backend" : "server";
    json cells = json::object();
    const json csv = statCells(r, true);
    for (const Column& c : kColumns) cells[c.key] = cellText(c, r, csv);
    uint64_t connectCount = 0;
    for (uint64_t b : r.connectTimeBuckets) connectCount += b;
    jrows.push_back({
        {"key", rowKey(r)},
        {"cls", rowClass(r)},
        {"type", type},
        {"proxy", r.proxy},
        {"name", r.name},
        {"proxyId", r.proxyId},
        {"serverId", r.serverId},
        {"status", r.status},
        {"current", r.current},
        {"max", r.max},
        {"limit", r.limit},
        {"total", r.total()},
        {"counters", countersOf(r)},
        {"queueCurrent", r.queueCurrent},
        {"queueMax", r.queueMax},
        {"queueLimit", r.queueLimit},
        {"rate", r.rate},
        {"rateMax", r.rateMax},
        {"rateLimit", r.rateLimit},
        {"weight", r.weight},
        {"backup", r.backup},
        {"checkStatus", r.checkStatus},
        {"checkDesc", r.checkDesc},
        {"checkDurationUs", r.checkDuration},
        {"sinceChangeUs", r.sinceChange},
        {"addr", r.addr},
        {"connectTimeCount", connectCount},
        {"connectTimeSumUs", r.connectTimeSumUs},
        {"cells", std::move(cells)},
    });
  }
  json doc = {{"generated", utcTime(wallNow())},
              {"process", std::move(process)},
              {"rows", std::move(jrows)}};
  // Names come from the configuration file: replace bytes that are not UTF-8 rather than
  // throw.
  return doc.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace fulcrum::admin
