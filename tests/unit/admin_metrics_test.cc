// Renderers of the admin HTTP listener: Prometheus exposition, stats page, stats JSON,
// from hand-made rows (no process, no Control).
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "admin/http_request.h"
#include "admin/metrics.h"
#include "admin/stat_csv.h"
#include "admin/stats_page.h"

namespace fulcrum::admin {
namespace {

StatRow frontend(const std::string& name) {
  StatRow r;
  r.type = RowType::kFrontend;
  r.proxy = name;
  r.name = "FRONTEND";
  r.status = "OPEN";
  return r;
}

StatRow backend(const std::string& name) {
  StatRow r;
  r.type = RowType::kBackend;
  r.proxy = name;
  r.name = "BACKEND";
  r.status = "UP";
  return r;
}

StatRow server(const std::string& proxy, const std::string& name) {
  StatRow r;
  r.type = RowType::kServer;
  r.proxy = proxy;
  r.name = name;
  r.status = "UP";
  r.state = model::ServerState::kUp;
  return r;
}

ProcessInfo info() {
  ProcessInfo i;
  i.pid = 4242;
  i.version = "0.1.0";
  i.node = "node-a";
  i.startedWall = 1'700'000'000 * kSeconds;
  i.uptime = 125 * kSeconds;
  i.threads = 3;
  i.maxconn = 1000;
  i.hardMaxconn = 5000;
  i.reloads = 2;
  i.failedReloads = 1;
  i.openFds = 37;
  return i;
}

std::vector<StatRow> sampleRows() {
  std::vector<StatRow> rows;
  StatRow f = frontend("web");
  f.current = 3;
  f.fe.accepted = 1234;
  f.fe.bytesIn = 5000;
  f.fe.bytesOut = 7000;
  f.fe.denied = 4;
  f.fe.badProxyHeader = 5;
  f.limit = 100;
  rows.push_back(f);
  StatRow b = backend("pool");
  b.current = 2;
  b.srv.connections = 1200;
  b.be.connectErrors = 6;
  b.be.retries = 7;
  b.be.redispatches = 8;
  b.queueCurrent = 9;
  b.weight = 3;
  b.activeServers = 2;
  b.connectTimeBuckets[0] = 2;
  b.connectTimeBuckets[3] = 1;
  b.connectTimeBuckets[model::kConnectTimeBuckets - 1] = 1;
  b.connectTimeSumUs = 6'000'500;
  rows.push_back(b);
  StatRow s1 = server("pool", "s1");
  s1.srv.connections = 700;
  s1.current = 1;
  s1.weight = 1;
  s1.userWeight = 1;
  s1.checked = true;
  s1.checkStatus = "L4OK";
  s1.checkDuration = 1500;
  s1.sinceChange = 90 * kSeconds;
  s1.connectTimeBuckets[0] = 2;
  s1.connectTimeBuckets[3] = 1;
  s1.connectTimeBuckets[model::kConnectTimeBuckets - 1] = 1;
  s1.connectTimeSumUs = 6'000'500;
  s1.addr = "127.0.0.1:9001";
  rows.push_back(s1);
  StatRow s2 = server("pool", "s2");
  s2.srv.connections = 500;
  s2.state = model::ServerState::kDrain;
  s2.status = "DRAIN";
  s2.weight = 0;
  s2.userWeight = 2;
  s2.checked = true;
  s2.checkStatus = "L4CON";
  rows.push_back(s2);
  return rows;
}

struct Parsed {
  std::vector<std::string> typeOrder;        // families in order of their TYPE line
  std::map<std::string, std::string> types;  // family -> type
  std::map<std::string, int> helpCount, typeCount;
  std::map<std::string, std::string> samples;  // "name{labels}" -> value
  std::vector<std::string> sampleOrder;
  bool orphan = false;  // a sample outside its family's block
};

std::string familyOf(const std::string& name, const std::map<std::string, std::string>& types) {
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    std::string s(suffix);
    if (name.size() > s.size() && name.ends_with(s)) {
      std::string base = name.substr(0, name.size() - s.size());
      auto it = types.find(base);
      if (it != types.end() && it->second == "histogram") return base;
    }
  }
  return name;
}

Parsed parse(const std::string& text) {
  Parsed p;
  std::istringstream in(text);
  std::string line, current;
  while (std::getline(in, line)) {
    if (line.starts_with("# HELP ")) {
      std::string name = line.substr(7, line.find(' ', 7) - 7);
      p.helpCount[name]++;
    } else if (line.starts_with("# TYPE ")) {
      std::string rest = line.substr(7);
      std::string name = rest.substr(0, rest.find(' '));
      p.types[name] = rest.substr(rest.find(' ') + 1);
      p.typeCount[name]++;
      p.typeOrder.push_back(name);
      current = name;
    } else if (!line.empty()) {
      size_t sp = line.rfind(' ');
      std::string key = line.substr(0, sp);
      std::string name = key.substr(0, key.find('{'));
      if (familyOf(name, p.types) != current) p.orphan = true;
      p.samples[key] = line.substr(sp + 1);
      p.sampleOrder.push_back(key);
    }
  }
  return p;
}

TEST(AdminMetrics, EveryFamilyHasHelpAndTypeOnceAndContiguousSamples) {
  model::ProcessStats ps;
  Parsed p = parse(renderPrometheus(sampleRows(), info(), ps));
  ASSERT_GT(p.typeOrder.size(), 30u);
  for (const auto& [name, n] : p.typeCount) {
    EXPECT_EQ(n, 1) << name;
    EXPECT_EQ(p.helpCount[name], 1) << name;
    EXPECT_TRUE(name.starts_with("fulcrum_")) << name;
    if (p.types[name] == "counter")
      EXPECT_TRUE(name.ends_with("_total")) << name;
    else
      EXPECT_FALSE(name.ends_with("_total")) << name;
  }
  EXPECT_FALSE(p.orphan);
}

// Every counter of the lists in model/stats.h reaches its exports: its Prometheus family
// (and, for backends, the sums over servers), its "show stat" columns, stats.json.
TEST(AdminMetrics, EveryListedCounterIsExported) {
  StatRow f = frontend("web"), b = backend("pool"), sv = server("pool", "s1");
  uint64_t next = 1000;
  std::map<std::string, uint64_t> want;                                // Prometheus sample -> value
  std::vector<std::tuple<const StatRow*, std::string, uint64_t>> csv;  // row, column, value
  auto expectCsv = [&](const StatRow* row, const char* column, uint64_t v) {
    if (*column != '\0') csv.emplace_back(row, column, v);
  };
#define FE(field, c1, c2, prom, help)                                          \
  f.fe.field = ++next;                                                         \
  want[std::string("fulcrum_frontend_") + prom + "{frontend=\"web\"}"] = next; \
  expectCsv(&f, c1, next);                                                     \
  expectCsv(&f, c2, next);
  FULCRUM_FRONTEND_COUNTERS(FE)
#undef FE
#define BE(field, c1, c2, prom, help)                                         \
  b.be.field = ++next;                                                        \
  want[std::string("fulcrum_backend_") + prom + "{backend=\"pool\"}"] = next; \
  expectCsv(&b, c1, next);                                                    \
  expectCsv(&b, c2, next);
  FULCRUM_BACKEND_COUNTERS(BE)
#undef BE
#define SV(field, c1, c2, prom, help, backendHelp)                                         \
  sv.srv.field = ++next;                                                                   \
  want[std::string("fulcrum_server_") + prom + "{backend=\"pool\",server=\"s1\"}"] = next; \
  expectCsv(&sv, c1, next);                                                                \
  expectCsv(&sv, c2, next);                                                                \
  if (*(backendHelp) != '\0') {                                                            \
    b.srv.field = ++next;                                                                  \
    want[std::string("fulcrum_backend_") + prom + "{backend=\"pool\"}"] = next;            \
    expectCsv(&b, c1, next);                                                               \
    expectCsv(&b, c2, next);                                                               \
  }
  FULCRUM_SERVER_COUNTERS(SV)
#undef SV
  model::ProcessStats ps;
#define PR(field, c1, c2, prom, help) \
  ps.field = ++next;                  \
  want[std::string("fulcrum_process_") + prom] = next;
  FULCRUM_PROCESS_COUNTERS(PR)
#undef PR
  std::vector<StatRow> rows = {f, b, sv};
  Parsed p = parse(renderPrometheus(rows, info(), ps));
  for (const auto& [key, v] : want) EXPECT_EQ(p.samples[key], std::to_string(v)) << key;
  for (const auto& [row, column, v] : csv)
    EXPECT_EQ(statCells(*row, true)[column], v) << row->proxy << "/" << row->name << " " << column;
  auto doc = nlohmann::json::parse(renderStatsJson(rows, info()));
  EXPECT_EQ(doc["rows"][0]["counters"]["rateLimitPauses"], f.fe.rateLimitPauses);
  EXPECT_EQ(doc["rows"][1]["counters"]["queueFull"], b.be.queueFull);
  EXPECT_EQ(doc["rows"][2]["counters"]["redispatches"], sv.srv.redispatches);
}

TEST(AdminMetrics, FiguresOfEachLevel) {
  model::ProcessStats ps;
  ps.active = 11;
  ps.accepted = 4321;
  Parsed p = parse(renderPrometheus(sampleRows(), info(), ps));
  auto& s = p.samples;
  EXPECT_EQ(s["fulcrum_frontend_current_connections{frontend=\"web\"}"], "3");
  EXPECT_EQ(s["fulcrum_frontend_connections_total{frontend=\"web\"}"], "1234");
  EXPECT_EQ(s["fulcrum_frontend_bytes_in_total{frontend=\"web\"}"], "5000");
  EXPECT_EQ(s["fulcrum_frontend_bytes_out_total{frontend=\"web\"}"], "7000");
  EXPECT_EQ(s["fulcrum_frontend_denied_connections_total{frontend=\"web\"}"], "4");
  EXPECT_EQ(s["fulcrum_frontend_request_errors_total{frontend=\"web\"}"], "5");
  EXPECT_EQ(s["fulcrum_frontend_connections_limit{frontend=\"web\"}"], "100");
  EXPECT_EQ(s["fulcrum_backend_connections_total{backend=\"pool\"}"], "1200");
  EXPECT_EQ(s["fulcrum_backend_connect_errors_total{backend=\"pool\"}"], "6");
  EXPECT_EQ(s["fulcrum_backend_retries_total{backend=\"pool\"}"], "7");
  EXPECT_EQ(s["fulcrum_backend_redispatches_total{backend=\"pool\"}"], "8");
  EXPECT_EQ(s["fulcrum_backend_queued_connections{backend=\"pool\"}"], "9");
  EXPECT_EQ(s["fulcrum_backend_up{backend=\"pool\"}"], "1");
  EXPECT_EQ(s["fulcrum_backend_active_servers{backend=\"pool\"}"], "2");
  EXPECT_EQ(s["fulcrum_server_connections_total{backend=\"pool\",server=\"s1\"}"], "700");
  EXPECT_EQ(s["fulcrum_server_connections_total{backend=\"pool\",server=\"s2\"}"], "500");
  EXPECT_EQ(s["fulcrum_server_current_connections{backend=\"pool\",server=\"s1\"}"], "1");
  EXPECT_EQ(s["fulcrum_server_weight{backend=\"pool\",server=\"s2\"}"], "0");
  EXPECT_EQ(s["fulcrum_server_configured_weight{backend=\"pool\",server=\"s2\"}"], "2");
  EXPECT_EQ(s["fulcrum_server_check_duration_seconds{backend=\"pool\",server=\"s1\"}"], "0.0015");
  EXPECT_EQ(s["fulcrum_server_state_duration_seconds{backend=\"pool\",server=\"s1\"}"], "90");
  // Servers with no limit, or no check duration, have no sample of those families.
  EXPECT_EQ(s.count("fulcrum_server_connections_limit{backend=\"pool\",server=\"s1\"}"), 0u);
  EXPECT_EQ(s.count("fulcrum_server_check_duration_seconds{backend=\"pool\",server=\"s2\"}"), 0u);

  EXPECT_EQ(s["fulcrum_process_current_connections"], "11");
  EXPECT_EQ(s["fulcrum_process_connections_total"], "4321");
  EXPECT_EQ(s["fulcrum_process_uptime_seconds"], "125");
  EXPECT_EQ(s["fulcrum_process_start_time_seconds"], "1700000000");
  EXPECT_EQ(s["fulcrum_process_open_fds"], "37");
  EXPECT_EQ(s["fulcrum_process_worker_threads"], "3");
  EXPECT_EQ(s["fulcrum_process_reloads_total"], "2");
  EXPECT_EQ(s["fulcrum_process_failed_reloads_total"], "1");
  EXPECT_EQ(s["fulcrum_process_max_connections"], "1000");
  EXPECT_EQ(s["fulcrum_build_info{version=\"0.1.0\"}"], "1");
}

TEST(AdminMetrics, ServerStateIsOneHot) {
  model::ProcessStats ps;
  Parsed p = parse(renderPrometheus(sampleRows(), info(), ps));
  auto& s = p.samples;
  std::string s1 = "fulcrum_server_state{backend=\"pool\",server=\"s1\",state=";
  std::string s2 = "fulcrum_server_state{backend=\"pool\",server=\"s2\",state=";
  EXPECT_EQ(s[s1 + "\"UP\"}"], "1");
  EXPECT_EQ(s[s1 + "\"DOWN\"}"], "0");
  EXPECT_EQ(s[s1 + "\"DRAIN\"}"], "0");
  EXPECT_EQ(s[s1 + "\"MAINT\"}"], "0");
  EXPECT_EQ(s[s2 + "\"UP\"}"], "0");
  EXPECT_EQ(s[s2 + "\"DRAIN\"}"], "1");
  EXPECT_EQ(s[s2 + "\"MAINT\"}"], "0");
  EXPECT_EQ(s["fulcrum_server_check_up{backend=\"pool\",server=\"s1\"}"], "1");
  EXPECT_EQ(s["fulcrum_server_check_up{backend=\"pool\",server=\"s2\"}"], "0");
}

TEST(AdminMetrics, CheckUpLeftOutUntilACheckCompleted) {
  std::vector<StatRow> rows = {backend("p"), server("p", "fresh"), server("p", "unchecked")};
  rows[1].checked = true;
  rows[1].checkStatus = "INI";
  model::ProcessStats ps;
  std::string text = renderPrometheus(rows, info(), ps);
  EXPECT_EQ(text.find("fulcrum_server_check_up"), std::string::npos) << text;
}

TEST(AdminMetrics, ConnectTimeHistogramIsCumulativeInSeconds) {
  model::ProcessStats ps;
  Parsed p = parse(renderPrometheus(sampleRows(), info(), ps));
  EXPECT_EQ(p.types["fulcrum_server_connect_time_seconds"], "histogram");
  EXPECT_EQ(p.types["fulcrum_backend_connect_time_seconds"], "histogram");
  std::string b = "fulcrum_server_connect_time_seconds_bucket{backend=\"pool\",server=\"s1\",le=";
  auto& s = p.samples;
  EXPECT_EQ(s[b + "\"0.0001\"}"], "2");
  EXPECT_EQ(s[b + "\"0.00025\"}"], "2");
  EXPECT_EQ(s[b + "\"0.0005\"}"], "2");
  EXPECT_EQ(s[b + "\"0.001\"}"], "3");
  EXPECT_EQ(s[b + "\"1\"}"], "3");
  EXPECT_EQ(s[b + "\"5\"}"], "3");
  EXPECT_EQ(s[b + "\"+Inf\"}"], "4");
  EXPECT_EQ(s["fulcrum_server_connect_time_seconds_count{backend=\"pool\",server=\"s1\"}"], "4");
  EXPECT_EQ(s["fulcrum_server_connect_time_seconds_sum{backend=\"pool\",server=\"s1\"}"], "6.0005");
  EXPECT_EQ(s["fulcrum_server_connect_time_seconds_count{backend=\"pool\",server=\"s2\"}"], "0");
  // One bucket per bound plus +Inf, per server, in increasing order of le.
  int buckets = 0;
  for (const std::string& k : p.sampleOrder)
    if (k.starts_with(b)) ++buckets;
  EXPECT_EQ(buckets, static_cast<int>(model::kConnectTimeBoundsUs.size()) + 1);
}

TEST(AdminMetrics, LabelValuesAreEscaped) {
  EXPECT_EQ(escapeLabelValue("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  std::vector<StatRow> rows = {backend("p\"q"), server("p\"q", "back\\slash")};
  model::ProcessStats ps;
  std::string text = renderPrometheus(rows, info(), ps);
  EXPECT_NE(
      text.find("fulcrum_server_connections_total{backend=\"p\\\"q\",server=\"back\\\\slash\"} 0"),
      std::string::npos)
      << text;
  EXPECT_EQ(text.find("server=\"back\\slash\""), std::string::npos);
}

TEST(AdminMetrics, JsonCarriesFiguresAndCells) {
  auto doc = nlohmann::json::parse(renderStatsJson(sampleRows(), info()));
  ASSERT_TRUE(doc.contains("generated"));
  EXPECT_EQ(doc["process"]["pid"], 4242);
  EXPECT_EQ(doc["process"]["node"], "node-a");
  EXPECT_EQ(doc["process"]["cells"]["uptime"], "2m05s");
  EXPECT_EQ(doc["process"]["cells"]["stot"], "1234");
  EXPECT_EQ(doc["process"]["cells"]["maxconn"], "1000");
  ASSERT_EQ(doc["rows"].size(), 4u);
  const auto& f = doc["rows"][0];
  EXPECT_EQ(f["key"], "f/web/FRONTEND");
  EXPECT_EQ(f["type"], "frontend");
  EXPECT_EQ(f["total"], 1234);
  EXPECT_EQ(f["cells"]["stot"], "1234");
  EXPECT_EQ(f["cells"]["dreq"], "4");
  EXPECT_EQ(f["cells"]["econ"], "");
  EXPECT_EQ(f["cls"], "open");
  const auto& s1 = doc["rows"][2];
  EXPECT_EQ(s1["key"], "s/pool/s1");
  EXPECT_EQ(s1["cells"]["stot"], "700");
  EXPECT_EQ(s1["cells"]["check"], "L4OK in 1ms");
  EXPECT_EQ(s1["cells"]["lastchg"], "1m30s");
  EXPECT_EQ(s1["connectTimeCount"], 4);
  EXPECT_EQ(s1["cls"], "up");
  const auto& s2 = doc["rows"][3];
  EXPECT_EQ(s2["cls"], "drain");
  EXPECT_EQ(s2["status"], "DRAIN");
  EXPECT_EQ(s2["cells"]["status"], "DRAIN");
}

TEST(AdminMetrics, JsonSurvivesBytesThatAreNotUtf8) {
  std::vector<StatRow> rows = {frontend(std::string("bad\xff") + "name")};
  auto doc = nlohmann::json::parse(renderStatsJson(rows, info()));
  EXPECT_EQ(doc["rows"].size(), 1u);
}

TEST(AdminMetrics, PageShowsFiguresStatesAndEscapesNames) {
  std::vector<StatRow> rows = sampleRows();
  StatRow evil = server("pool", "<b>x&y</b>");
  evil.srv.connections = 31337;
  evil.state = model::ServerState::kDown;
  evil.status = "DOWN 1/2";
  rows.push_back(evil);
  std::string html = renderStatsPage(rows, info(), StatsPageOptions{7});
  EXPECT_TRUE(html.starts_with("<!DOCTYPE html>"));
  // Rows with their state class, key and figures.
  EXPECT_NE(html.find("<tr class=\"open\" data-row=\"f/web/FRONTEND\""), std::string::npos);
  EXPECT_NE(html.find("<tr class=\"up\" data-row=\"s/pool/s1\""), std::string::npos);
  EXPECT_NE(html.find("<tr class=\"drain\" data-row=\"s/pool/s2\""), std::string::npos);
  EXPECT_NE(html.find("<tr class=\"going-up\" data-row=\"s/pool/&lt;b&gt;x&amp;y&lt;/b&gt;\""),
            std::string::npos);
  EXPECT_NE(html.find("<td data-k=\"stot\">1234</td>"), std::string::npos);
  EXPECT_NE(html.find("<td data-k=\"stot\">700</td>"), std::string::npos);
  EXPECT_NE(html.find("<td data-k=\"stot\">31337</td>"), std::string::npos);
  EXPECT_NE(html.find("<td data-k=\"status\">DOWN 1/2</td>"), std::string::npos);
  EXPECT_NE(html.find("<td data-k=\"check\" title=\"\">L4OK in 1ms</td>"), std::string::npos);
  EXPECT_NE(html.find("&lt;b&gt;x&amp;y&lt;/b&gt;"), std::string::npos);
  EXPECT_EQ(html.find("<b>x"), std::string::npos);
  // Process summary.
  EXPECT_NE(html.find("<span data-p=\"pid\">4242</span>"), std::string::npos);
  EXPECT_NE(html.find("<span data-p=\"uptime\">2m05s</span>"), std::string::npos);
  // Per proxy: the frontend "web" and the backend "pool" get a table each, and in
  // "pool" the servers come before the BACKEND row.
  EXPECT_NE(html.find("<h2>web</h2>"), std::string::npos);
  size_t pool = html.find("<h2>pool</h2>");
  ASSERT_NE(pool, std::string::npos);
  EXPECT_LT(html.find("data-row=\"s/pool/s1\""), html.find("data-row=\"b/pool/BACKEND\""));
  // Refresh: the chosen interval, in the script and as a fallback without JavaScript;
  // nothing loaded from elsewhere.
  EXPECT_NE(html.find("var interval = 7;"), std::string::npos);
  EXPECT_NE(html.find("<option value=\"7\" selected>7 s</option>"), std::string::npos);
  EXPECT_NE(html.find("<noscript><meta http-equiv=\"refresh\" content=\"7\"></noscript>"),
            std::string::npos);
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find("src="), std::string::npos);
}

TEST(AdminMetrics, PageWithoutRefresh) {
  std::string html = renderStatsPage(sampleRows(), info(), StatsPageOptions{0});
  EXPECT_NE(html.find("var interval = 0;"), std::string::npos);
  EXPECT_NE(html.find("<option value=\"0\" selected>never</option>"), std::string::npos);
  EXPECT_EQ(html.find("http-equiv=\"refresh\""), std::string::npos);
}

TEST(AdminMetrics, EscapeHtml) {
  EXPECT_EQ(escapeHtml("<a href=\"x\">&'</a>"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;");
}

// ---- the admin listener's HTTP parsing ----

using Outcome = HttpParse::Outcome;

TEST(AdminMetricsHttp, ParsesRequestLineAndQuery) {
  HttpParse p = parseHttpRequest("GET /stats?refresh=3&x HTTP/1.1\r\nHost: a\r\n\r\n", 8192);
  ASSERT_EQ(p.outcome, Outcome::kComplete) << p.reason;
  EXPECT_EQ(p.request.method, "GET");
  EXPECT_EQ(p.request.path, "/stats");
  EXPECT_EQ(p.request.query, "refresh=3&x");
  EXPECT_EQ(queryParam(p.request.query, "refresh"), "3");
  EXPECT_EQ(queryParam(p.request.query, "x"), "");
  EXPECT_FALSE(queryParam(p.request.query, "y").has_value());
  // Bare LF line ends and leading empty lines are accepted; HTTP/1.0 too.
  p = parseHttpRequest("\r\nHEAD /metrics HTTP/1.0\nAccept: */*\n\n", 8192);
  ASSERT_EQ(p.outcome, Outcome::kComplete) << p.reason;
  EXPECT_EQ(p.request.method, "HEAD");
  EXPECT_EQ(p.request.minorVersion, 0);
}

// "stats auth" of a listen stats section: the Authorization header, HTTP Basic.
TEST(AdminMetricsHttp, BasicAuthorization) {
  HttpParse p = parseHttpRequest(
      "GET /stats HTTP/1.1\r\nauthorization:  Basic YWRtaW46czNjcmV0 \r\n\r\n", 8192);
  ASSERT_EQ(p.outcome, HttpParse::Outcome::kComplete);
  EXPECT_EQ(p.request.authorization, "Basic YWRtaW46czNjcmV0");  // admin:s3cret
  const std::vector<std::string> users = {"ops:x", "admin:s3cret"};
  EXPECT_TRUE(basicAuthMatches(p.request.authorization, users));
  EXPECT_TRUE(basicAuthMatches("basic YWRtaW46czNjcmV0", users));
  EXPECT_FALSE(basicAuthMatches("Basic YWRtaW46czNjcmV1", users));   // admin:s3creu
  EXPECT_FALSE(basicAuthMatches("Basic YWRtaW46czNjcmV0=", users));  // malformed
  EXPECT_FALSE(basicAuthMatches("Bearer YWRtaW46czNjcmV0", users));
  EXPECT_FALSE(basicAuthMatches("", users));
  EXPECT_TRUE(basicAuthMatches("Basic b3BzOng=", users));  // ops:x, padded
  EXPECT_TRUE(parseHttpRequest("GET / HTTP/1.1\r\n\r\n", 8192).request.authorization.empty());
}

TEST(AdminMetricsHttp, IncompleteUntilTheEmptyLine) {
  EXPECT_EQ(parseHttpRequest("", 8192).outcome, Outcome::kIncomplete);
  EXPECT_EQ(parseHttpRequest("GET / HTTP/1.1\r\nHost: a\r\n", 8192).outcome, Outcome::kIncomplete);
  EXPECT_EQ(parseHttpRequest("GET / HTTP/1.1\r\nHost: a\r\n\r\n", 8192).outcome,
            Outcome::kComplete);
}

TEST(AdminMetricsHttp, MalformedRequests) {
  for (const char* bad :
       {"GET\r\n\r\n", "GET /  HTTP/1.1\r\n\r\n", "GET / HTTP/1.1 x\r\n\r\n",
        "G(T / HTTP/1.1\r\n\r\n", "GET http://x/ HTTP/1.1\r\n\r\n", "GET * HTTP/1.1\r\n\r\n",
        "GET / HTTP/1\r\n\r\n", "GET / FTP/1.1\r\n\r\n", "GET / HTTP/1.1\r\nNoColon\r\n\r\n",
        "GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", "GET / HTTP/1.1\r\nBad Name: b\r\n\r\n",
        "GET /a\x01 HTTP/1.1\r\n\r\n"}) {
    HttpParse p = parseHttpRequest(bad, 8192);
    EXPECT_EQ(p.outcome, Outcome::kError) << bad;
    EXPECT_EQ(p.status, 400) << bad;
  }
  HttpParse v2 = parseHttpRequest("GET / HTTP/2.0\r\n\r\n", 8192);
  EXPECT_EQ(v2.outcome, Outcome::kError);
  EXPECT_EQ(v2.status, 505);
}

TEST(AdminMetricsHttp, OversizedHeadIs431) {
  std::string big = "GET / HTTP/1.1\r\nX: " + std::string(9000, 'a');
  HttpParse p = parseHttpRequest(big, 8192);  // no end in sight, already too long
  EXPECT_EQ(p.outcome, Outcome::kError);
  EXPECT_EQ(p.status, 431);
  p = parseHttpRequest(big + "\r\n\r\n", 8192);  // complete, but too long
  EXPECT_EQ(p.status, 431);
  EXPECT_EQ(parseHttpRequest(big + "\r\n\r\n", 16384).outcome, Outcome::kComplete);
}

TEST(AdminMetricsHttp, Responses) {
  std::string r = httpResponse(404, "text/plain", "nope\n", false);
  EXPECT_TRUE(r.starts_with("HTTP/1.1 404 Not Found\r\n"));
  EXPECT_NE(r.find("Content-Length: 5\r\n"), std::string::npos);
  EXPECT_NE(r.find("Connection: close\r\n"), std::string::npos);
  EXPECT_TRUE(r.ends_with("\r\n\r\nnope\n"));
  std::string h = httpResponse(200, "text/plain", "body", true, "Allow: GET\r\n");
  EXPECT_NE(h.find("Content-Length: 4\r\n"), std::string::npos);
  EXPECT_NE(h.find("Allow: GET\r\n"), std::string::npos);
  EXPECT_TRUE(h.ends_with("\r\n\r\n"));
}

}  // namespace
}  // namespace fulcrum::admin
