// The runtime API's commands over a fake Control: output formats, errors, levels, ';'
// chaining, and that a refused command changes nothing.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "admin/runtime_api.h"
#include "admin/stat_csv.h"
#include "admin/stats_view.h"
#include "admin_fake_control.h"
#include "config/server_line.h"

namespace fulcrum::admin {
namespace {

using model::ApiLevel;
using testutil::FakeControl;

constexpr std::string_view kConfig = R"(
global
  maxconn 1000
defaults
  mode tcp
  timeout connect 1s
  timeout client 5s
  timeout server 5s
frontend web
  bind 127.0.0.1:18080
  maxconn 300
  default_backend app
backend app
  server s1 127.0.0.1:9001 weight 10 maxconn 50
  server s2 127.0.0.1:9002 check rise 2 fall 3
  server s3 127.0.0.1:9003 backup
backend other
  server o1 127.0.0.1:9101
)";

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

std::vector<std::string> splitCsv(const std::string& line) {
  std::vector<std::string> out;
  std::string cell;
  for (char c : line) {
    if (c == ',') {
      out.push_back(cell);
      cell.clear();
    } else {
      cell += c;
    }
  }
  return out;  // every line ends with ','
}

// "show stat" CSV as rows of column -> value, keyed "pxname/svname".
std::map<std::string, std::map<std::string, std::string>> parseStat(const std::string& text) {
  auto ls = lines(text);
  std::map<std::string, std::map<std::string, std::string>> rows;
  if (ls.empty() || ls[0].rfind("# ", 0) != 0) return rows;
  auto header = splitCsv(ls[0].substr(2));
  for (size_t i = 1; i < ls.size(); ++i) {
    if (ls[i].empty()) continue;
    auto cells = splitCsv(ls[i]);
    EXPECT_EQ(cells.size(), header.size()) << ls[i];
    std::map<std::string, std::string> row;
    for (size_t c = 0; c < header.size() && c < cells.size(); ++c) row[header[c]] = cells[c];
    rows[row["pxname"] + "/" + row["svname"]] = row;
  }
  return rows;
}

class AdminRuntimeApi : public ::testing::Test {
 protected:
  std::string run(std::string_view line, ApiLevel level = ApiLevel::kAdmin) {
    return api.execute(line, level);
  }
  // Runs a command that must change nothing: same config object, no action call.
  void expectRefused(std::string_view line, std::string_view reply,
                     ApiLevel level = ApiLevel::kAdmin) {
    const auto* before = ctl.configPtr();
    const auto calls = ctl.calls.size();
    EXPECT_EQ(run(line, level), std::string(reply) + "\n") << line;
    EXPECT_EQ(ctl.configPtr(), before) << line;
    EXPECT_EQ(ctl.calls.size(), calls) << line << ": " << ctl.calls.back();
  }
  model::ServerState state(int pool, int server) {
    return ctl.snapshot()->runtime[static_cast<size_t>(pool)][static_cast<size_t>(server)].state;
  }
  const model::Server& server(int pool, int srv) {
    return ctl.config().pools[static_cast<size_t>(pool)].servers[static_cast<size_t>(srv)];
  }
  uint32_t userWeight(int pool, int srv) { return ctl.health().status(pool, srv).userWeight; }

  FakeControl ctl{kConfig};
  RuntimeApi api{ctl, nullptr};
};

TEST_F(AdminRuntimeApi, HelpListsTheCommandsOfTheLevel) {
  const std::string admin = run("help");
  EXPECT_EQ(admin.rfind("The following commands are valid at this level:\n", 0), 0u);
  EXPECT_NE(admin.find("  set server <bk>/<srv> <opts>"), std::string::npos);
  EXPECT_NE(admin.find("  show stat "), std::string::npos);
  const std::string user = run("help", ApiLevel::kUser);
  EXPECT_EQ(user.find("set server"), std::string::npos);
  EXPECT_EQ(user.find("show sess"), std::string::npos);
  EXPECT_NE(user.find("show stat"), std::string::npos);
  EXPECT_EQ(admin.substr(admin.size() - 2), "\n\n");  // the empty line ends a response
}

TEST_F(AdminRuntimeApi, UnknownCommandSuggestsAndChangesNothing) {
  const auto* before = ctl.configPtr();
  std::string r = run("show nothing");
  EXPECT_EQ(r.rfind("Unknown command, but maybe one of the following ones is a better match:\n", 0),
            0u);
  EXPECT_NE(r.find("show stat"), std::string::npos);
  EXPECT_EQ(r.find("set server"), std::string::npos);  // same first word only
  // ... then help, prompt and quit, as HAProxy ends its suggestions.
  EXPECT_NE(r.find("\n  help [<command>]"), std::string::npos) << r;
  EXPECT_NE(r.find("\n  quit "), std::string::npos) << r;
  r = run("frobnicate");
  EXPECT_NE(r.find("set server"), std::string::npos);  // nothing matches: every command
  EXPECT_EQ(ctl.configPtr(), before);
  EXPECT_TRUE(ctl.calls.empty());
}

TEST_F(AdminRuntimeApi, ShowInfo) {
  ctl.mutableProcessStats().active = 2;
  ctl.mutableProcessStats().accepted = 17;
  const auto ls = lines(run("show info"));
  auto has = [&](const std::string& l) { return std::find(ls.begin(), ls.end(), l) != ls.end(); };
  EXPECT_EQ(ls[0], "Name: Fulcrum");
  EXPECT_EQ(ls[1], "Version: 0.1.0-test");
  EXPECT_TRUE(has("Pid: 4242"));
  EXPECT_TRUE(has("Nbthread: 2"));
  EXPECT_TRUE(has("Uptime: 0d 1h02m03s"));
  EXPECT_TRUE(has("Uptime_sec: 3723"));
  EXPECT_TRUE(has("Maxconn: 1000"));
  EXPECT_TRUE(has("Hard_maxconn: 5000"));
  EXPECT_TRUE(has("CurrConns: 2"));
  EXPECT_TRUE(has("CumConns: 17"));
  EXPECT_TRUE(has("node: testhost"));
  EXPECT_TRUE(has("Stopping: 0"));
  EXPECT_TRUE(has("Start_time_sec: 1700000000"));
  // hatop's fields.
  EXPECT_EQ(ls[2], "Release_date: 2026/12/07");
  EXPECT_TRUE(has("PipesUsed: 0"));
  EXPECT_TRUE(has("Tasks: 2"));
  EXPECT_TRUE(has("Run_queue: 0"));
  EXPECT_NE(run("show info bogus").find("Unknown option 'bogus'"), std::string::npos);
}

// HAProxy's typed forms: one element per field with its position, tags and value type.
TEST_F(AdminRuntimeApi, ShowInfoJsonAndTypedAreHaproxysTypedFields) {
  ctl.mutableProcessStats().accepted = 17;
  auto j = nlohmann::json::parse(run("show info json"));
  ASSERT_TRUE(j.is_array());
  std::map<std::string, nlohmann::json> byName;
  for (const auto& f : j) byName[f["field"]["name"].get<std::string>()] = f;
  ASSERT_TRUE(byName.count("Pid") && byName.count("Name") && byName.count("CurrConns"));
  EXPECT_EQ(byName["Name"]["field"]["pos"], 0);
  EXPECT_EQ(byName["Name"]["value"], (nlohmann::json{{"type", "str"}, {"value", "Fulcrum"}}));
  EXPECT_EQ(byName["Pid"]["field"]["pos"], 6);
  EXPECT_EQ(byName["Pid"]["processNum"], 1);
  EXPECT_EQ(byName["Pid"]["value"]["value"], 4242);
  EXPECT_EQ(byName["Pid"]["value"]["type"], "u32");
  EXPECT_EQ(byName["Pid"]["tags"],
            (nlohmann::json{{"origin", "Status"}, {"nature", "Gauge"}, {"scope", "Process"}}));
  EXPECT_EQ(byName["CumConns"]["tags"]["nature"], "Counter");
  EXPECT_EQ(byName["CumConns"]["value"]["value"], 17);
  EXPECT_EQ(byName["Maxconn"]["tags"]["origin"], "Config");
  EXPECT_EQ(byName["Maxconn"]["tags"]["nature"], "Limit");
  // Positions rise in the order of the fields.
  for (size_t i = 1; i < j.size(); ++i) EXPECT_LT(j[i - 1]["field"]["pos"], j[i]["field"]["pos"]);

  const auto typed = lines(run("show info typed"));
  ASSERT_FALSE(typed.empty());
  EXPECT_EQ(typed[0], "0.Name.1:POS:str:Fulcrum");
  EXPECT_NE(std::find(typed.begin(), typed.end(), "6.Pid.1:SGP:u32:4242"), typed.end());
  EXPECT_NE(std::find(typed.begin(), typed.end(), "18.CumConns.1:MCP:u32:17"), typed.end());
  // The fields Debian's hatop reads, at HAProxy 2.6's positions and with its tags (from
  // HAProxy 2.6's own "show info typed").
  for (const char* field :
       {"2.Release_date.1:POS:str:2026/12/07", "24.PipesUsed.1:MGP:u32:0",
        "25.PipesFree.1:MGP:u32:0", "47.Tasks.1:MGP:u32:0", "48.Run_queue.1:MGP:u32:0"})
    EXPECT_NE(std::find(typed.begin(), typed.end(), field), typed.end()) << field;
  EXPECT_EQ(typed.size(), j.size() + 1);  // and the empty line that ends the reply
}

TEST_F(AdminRuntimeApi, ShowStatCsvHasHaproxysHeaderOrderAndFigures) {
  ctl.serviceStats(0).active = 3;
  ctl.serviceStats(0).accepted = 40;
  ctl.serviceStats(0).bytesIn = 1000;
  ctl.serviceStats(0).badProxyHeader = 2;
  ctl.load(0).acquire(0);
  ctl.load(0).acquire(0);
  ctl.serverStats(0, 0).connections = 25;
  ctl.serverStats(0, 0).bytesIn = 600;
  ctl.serverStats(0, 0).connectErrors = 4;
  ctl.serverStats(0, 1).connections = 15;
  ctl.serverStats(0, 1).bytesIn = 400;
  ctl.serverStats(0, 1).connectTime.observe(300);
  ctl.poolStats(0).connectErrors = 5;
  ctl.poolStats(0).queued = 1;
  ctl.poolStats(0).retries = 3;

  const std::string out = run("show stat");
  const auto ls = lines(out);
  ASSERT_GE(ls.size(), 8u);
  EXPECT_EQ(ls[0].rfind("# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,"
                        "econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,"
                        "downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,"
                        "rate_max,check_status,check_code,check_duration,hrsp_1xx,",
                        0),
            0u);
  // HAProxy's order: per proxy, FRONTEND, servers, BACKEND.
  auto key = [](const std::string& l) { return l.substr(0, l.find(',', l.find(',') + 1)); };
  EXPECT_EQ(key(ls[1]), "web,FRONTEND");
  EXPECT_EQ(key(ls[2]), "app,s1");
  EXPECT_EQ(key(ls[3]), "app,s2");
  EXPECT_EQ(key(ls[4]), "app,s3");
  EXPECT_EQ(key(ls[5]), "app,BACKEND");
  EXPECT_EQ(key(ls[6]), "other,o1");
  EXPECT_EQ(key(ls[7]), "other,BACKEND");

  auto rows = parseStat(out);
  auto& fe = rows["web/FRONTEND"];
  EXPECT_EQ(fe["status"], "OPEN");
  EXPECT_EQ(fe["scur"], "3");
  EXPECT_EQ(fe["stot"], "40");
  EXPECT_EQ(fe["bin"], "1000");
  EXPECT_EQ(fe["ereq"], "2");
  EXPECT_EQ(fe["slim"], "300");
  EXPECT_EQ(fe["type"], "0");
  EXPECT_EQ(fe["qcur"], "");  // frontends have no queue
  auto& s1 = rows["app/s1"];
  EXPECT_EQ(s1["status"], "no check");
  EXPECT_EQ(s1["weight"], "10");
  EXPECT_EQ(s1["scur"], "2");
  EXPECT_EQ(s1["stot"], "25");
  EXPECT_EQ(s1["econ"], "4");
  EXPECT_EQ(s1["slim"], "50");
  EXPECT_EQ(s1["act"], "1");
  EXPECT_EQ(s1["bck"], "0");
  EXPECT_EQ(s1["type"], "2");
  EXPECT_EQ(s1["sid"], "1");
  EXPECT_EQ(s1["addr"], "127.0.0.1:9001");
  EXPECT_EQ(s1["check_status"], "");
  auto& s2 = rows["app/s2"];
  // Checked, not checked yet: the health counter starts at rise (2 of 0..4).
  EXPECT_EQ(s2["status"], "UP 1/3");
  EXPECT_EQ(s2["check_status"], "INI");
  EXPECT_EQ(s2["check_health"], "2");
  EXPECT_EQ(rows["app/s3"]["bck"], "1");
  auto& be = rows["app/BACKEND"];
  EXPECT_EQ(be["status"], "UP");
  EXPECT_EQ(be["stot"], "40");   // sum of the servers
  EXPECT_EQ(be["bin"], "1000");  // sum of the servers
  EXPECT_EQ(be["econ"], "5");    // the pool's own counter
  EXPECT_EQ(be["qcur"], "1");
  EXPECT_EQ(be["wretr"], "3");
  EXPECT_EQ(be["weight"], "11");  // usable active servers: 10 + 1
  EXPECT_EQ(be["act"], "2");
  EXPECT_EQ(be["bck"], "1");
  EXPECT_EQ(be["algo"], "roundrobin");
  EXPECT_EQ(be["type"], "1");
  EXPECT_EQ(out.substr(out.size() - 2), "\n\n");  // ends with the empty line
}

TEST_F(AdminRuntimeApi, ShowStatHidesAddressesFromUsersAndFilters) {
  auto rows = parseStat(run("show stat", ApiLevel::kUser));
  EXPECT_EQ(rows["app/s1"]["addr"], "");
  rows = parseStat(run("show stat", ApiLevel::kOperator));
  EXPECT_EQ(rows["app/s1"]["addr"], "127.0.0.1:9001");
  // {proxy} {type mask} {sid}: servers of "app" only.
  rows = parseStat(run("show stat app 4 -1"));
  EXPECT_EQ(rows.size(), 3u);
  EXPECT_TRUE(rows.count("app/s2"));
  rows = parseStat(run("show stat -1 1 -1"));
  EXPECT_EQ(rows.size(), 1u);
  EXPECT_TRUE(rows.count("web/FRONTEND"));
  ASSERT_EQ(run("set server app/s1 state maint"), "\n");
  rows = parseStat(run("show stat no-maint"));
  EXPECT_FALSE(rows.count("app/s1"));
  EXPECT_TRUE(rows.count("app/s2"));
  EXPECT_NE(run("show stat app x y").find("Usage: show stat"), std::string::npos);
}

// The field named `name` of one "show stat json" object (an array of typed fields).
nlohmann::json typedField(const nlohmann::json& object, std::string_view name) {
  for (const auto& f : object)
    if (f["field"]["name"] == name) return f;
  return nullptr;
}

TEST_F(AdminRuntimeApi, ShowStatJsonIsHaproxysArrayOfTypedFieldsPerRow) {
  ctl.serverStats(0, 0).connections = 7;
  auto j = nlohmann::json::parse(run("show stat json"));
  ASSERT_TRUE(j.is_array());
  ASSERT_EQ(j.size(), 7u);  // web FRONTEND, app s1 s2 s3 BACKEND, other o1 BACKEND
  const auto fePx = typedField(j[0], "pxname");
  ASSERT_FALSE(fePx.is_null()) << j[0];
  EXPECT_EQ(fePx["objType"], "Frontend");
  EXPECT_EQ(fePx["proxyId"], 1);
  EXPECT_EQ(fePx["id"], 0);
  EXPECT_EQ(fePx["field"], (nlohmann::json{{"pos", 0}, {"name", "pxname"}}));
  EXPECT_EQ(fePx["tags"],
            (nlohmann::json{{"origin", "Key"}, {"nature", "Name"}, {"scope", "Service"}}));
  EXPECT_EQ(fePx["value"], (nlohmann::json{{"type", "str"}, {"value", "web"}}));
  EXPECT_EQ(typedField(j[0], "svname")["value"]["value"], "FRONTEND");
  EXPECT_EQ(typedField(j[0], "slim")["value"]["value"], 300);
  EXPECT_EQ(typedField(j[0], "slim")["tags"]["nature"], "Limit");

  const auto s1 = j[1];
  EXPECT_EQ(typedField(s1, "svname")["value"]["value"], "s1");
  EXPECT_EQ(typedField(s1, "stot")["objType"], "Server");
  EXPECT_EQ(typedField(s1, "stot")["proxyId"], 2);
  EXPECT_EQ(typedField(s1, "stot")["id"], 1);  // the server id
  EXPECT_EQ(typedField(s1, "stot")["value"], (nlohmann::json{{"type", "u64"}, {"value", 7}}));
  EXPECT_EQ(typedField(s1, "stot")["field"]["pos"], 7);
  EXPECT_EQ(typedField(s1, "stot")["tags"]["nature"], "Counter");
  EXPECT_EQ(typedField(s1, "status")["value"]["value"], "no check");
  EXPECT_EQ(typedField(s1, "act")["tags"]["origin"], "Status");
  EXPECT_TRUE(typedField(s1, "hrsp_1xx").is_null());  // only the filled columns
  // A backend's "act" is a metric (HAProxy tags it so), and its id is 0.
  EXPECT_EQ(typedField(j[4], "svname")["value"]["value"], "BACKEND");
  EXPECT_EQ(typedField(j[4], "act")["tags"]["origin"], "Metric");
  EXPECT_EQ(typedField(j[4], "act")["id"], 0);
  // Each object's fields in rising positions.
  for (const auto& object : j)
    for (size_t i = 1; i < object.size(); ++i)
      EXPECT_LT(object[i - 1]["field"]["pos"], object[i]["field"]["pos"]);
}

TEST_F(AdminRuntimeApi, ShowStatTypedIsOneLinePerField) {
  ctl.serverStats(0, 0).connections = 7;
  const auto ls = lines(run("show stat typed"));
  ASSERT_GT(ls.size(), 20u);
  EXPECT_EQ(ls[0], "F.1.0.0.pxname.1:KNS:str:web");
  EXPECT_EQ(ls[1], "F.1.0.1.svname.1:KNS:str:FRONTEND");
  EXPECT_NE(std::find(ls.begin(), ls.end(), "S.2.1.7.stot.1:MCP:u64:7"), ls.end());
  EXPECT_NE(std::find(ls.begin(), ls.end(), "S.2.1.17.status.1:SGP:str:no check"), ls.end());
  EXPECT_NE(std::find(ls.begin(), ls.end(), "B.2.0.1.svname.1:KNS:str:BACKEND"), ls.end());
  // The filter applies as to the CSV: only the servers of "other".
  const auto other = lines(run("show stat other 4 -1 typed"));
  ASSERT_FALSE(other.empty());
  for (size_t i = 0; i + 1 < other.size(); ++i)
    EXPECT_EQ(other[i].rfind("S.3.1.", 0), 0u) << other[i];
}

TEST_F(AdminRuntimeApi, ShowServersState) {
  const auto ls = lines(run("show servers state"));
  ASSERT_EQ(ls.size(), 7u);  // version, header, 4 servers, empty line
  EXPECT_EQ(ls[0], "1");
  EXPECT_EQ(ls[1],
            "# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight "
            "srv_iweight srv_time_since_last_change srv_check_status srv_check_result "
            "srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id "
            "srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr "
            "srv_agent_addr srv_agent_port");
  // be_id 2: the frontend "web" is proxy 1.
  EXPECT_EQ(ls[2].rfind("2 app 1 s1 127.0.0.1 2 0 10 10 ", 0), 0u) << ls[2];
  EXPECT_NE(ls[2].find(" - 9001 - 0 0 - - 0"), std::string::npos) << ls[2];
  EXPECT_EQ(ls[3].rfind("2 app 2 s2 127.0.0.1 2 0 1 1 ", 0), 0u) << ls[3];
  EXPECT_EQ(ls[5].rfind("3 other 1 o1 ", 0), 0u) << ls[5];
  EXPECT_EQ(ls[6], "");

  ASSERT_EQ(run("set server app/s1 state maint"), "\n");
  const auto one = lines(run("show servers state app"));
  ASSERT_EQ(one.size(), 6u);
  EXPECT_EQ(one[2].rfind("2 app 1 s1 127.0.0.1 0 1 ", 0), 0u) << one[2];
  EXPECT_EQ(run("show servers state nope"), "Can't find backend.\n\n");
}

TEST_F(AdminRuntimeApi, ShowSess) {
  model::SessionInfo s;
  s.id = 0x1a;
  s.worker = 1;
  s.client = *SockAddr::parse("127.0.0.1:5555");
  s.local = *SockAddr::parse("127.0.0.1:18080");
  s.frontend = "web";
  s.backend = "app";
  s.server = "s1";
  s.state = "relaying";
  s.age = 65 * kSeconds;
  s.idle = 3 * kSeconds;
  s.bytesIn = 10;
  s.bytesOut = 20;
  model::SessionInfo q = s;
  q.id = 0x2b;
  q.client = *SockAddr::parse("[::1]:6000");
  q.backend = "";
  q.server = "";
  q.state = "header";
  ctl.sessionList = {s, q};
  const auto ls = lines(run("show sess", ApiLevel::kOperator));
  ASSERT_EQ(ls.size(), 3u);
  EXPECT_EQ(ls[0],
            "0x1a: proto=tcpv4 src=127.0.0.1:5555 dst=127.0.0.1:18080 fe=web be=app srv=s1 "
            "state=relaying age=1m05s idle=3s thread=1 bytes_in=10 bytes_out=20");
  EXPECT_EQ(ls[1].rfind("0x2b: proto=tcpv6 src=[::1]:6000 ", 0), 0u) << ls[1];
  EXPECT_NE(ls[1].find(" be=<NONE> srv=<none> state=header "), std::string::npos);
  EXPECT_EQ(lines(run("show sess 0x2b")).size(), 2u);
  EXPECT_EQ(run("show sess 99"), "Session not found.\n\n");
  expectRefused("show sess", "Permission denied\n", ApiLevel::kUser);
}

TEST_F(AdminRuntimeApi, SetServerState) {
  EXPECT_EQ(run("set server app/s1 state maint"), "\n");
  EXPECT_EQ(state(0, 0), model::ServerState::kMaint);
  EXPECT_EQ(parseStat(run("show stat"))["app/s1"]["status"], "MAINT");
  EXPECT_EQ(run("set server app/s1 state drain"), "\n");
  EXPECT_EQ(state(0, 0), model::ServerState::kDrain);
  EXPECT_EQ(parseStat(run("show stat"))["app/s1"]["status"], "DRAIN");
  EXPECT_EQ(run("set server app/s1 state ready"), "\n");
  EXPECT_EQ(state(0, 0), model::ServerState::kUp);
  EXPECT_EQ(run("disable server app/s2"), "\n");
  EXPECT_EQ(state(0, 1), model::ServerState::kMaint);
  EXPECT_EQ(run("enable server app/s2"), "\n");
  EXPECT_EQ(state(0, 1), model::ServerState::kUp);

  expectRefused("set server app/s1 state sleepy",
                "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n");
  expectRefused("set server app/s1 state",
                "'set server <srv> state' expects 'ready', 'drain' "
                "and 'maint'.\n");
  expectRefused("set server app/zz state maint", "No such server.\n");
  expectRefused("set server nope/s1 state maint", "No such backend.\n");
  expectRefused("set server s1 state maint", "Require 'backend/server'.\n");
  expectRefused("set server app/s1",
                "usage: set server <backend>/<server> addr | state | weight\n");
  expectRefused("set server app/s1 color blue",
                "usage: set server <backend>/<server> addr | state | weight\n");
  expectRefused("disable server", "Require 'backend/server'.\n");
  expectRefused("enable server app/zz", "No such server.\n");
}

TEST_F(AdminRuntimeApi, SetServerWeight) {
  // The weight set is the server's current (user) weight; its configured weight stays.
  EXPECT_EQ(run("set server app/s1 weight 20"), "\n");
  EXPECT_EQ(userWeight(0, 0), 20u);
  EXPECT_EQ(server(0, 0).weight, 10u);
  EXPECT_EQ(ctl.calls.back(), "weight 0 0 20");
  EXPECT_EQ(run("get weight app/s1"), "20 (initial 10)\n\n");
  EXPECT_EQ(run("set server app/s1 weight 50%"), "\n");  // of the initial weight
  EXPECT_EQ(userWeight(0, 0), 5u);
  EXPECT_EQ(run("set server app/s1 weight 5000%"), "\n");  // capped at 256
  EXPECT_EQ(userWeight(0, 0), 256u);
  EXPECT_EQ(run("set weight app/s1 0"), "\n");
  EXPECT_EQ(userWeight(0, 0), 0u);
  EXPECT_EQ(ctl.snapshot()->runtime[0][0].effectiveWeight, 0u);
  EXPECT_EQ(run("set server app/s1 weight 256"), "\n");
  EXPECT_EQ(userWeight(0, 0), 256u);
  EXPECT_EQ(ctl.snapshot()->runtime[0][0].effectiveWeight, 256u);

  expectRefused("set server app/s1 weight 257",
                "Absolute weight can only be between 0 and 256 inclusive.\n");
  expectRefused("set server app/s1 weight -1",
                "Absolute weight can only be between 0 and 256 inclusive.\n");
  expectRefused("set server app/s1 weight -5%", "Relative weight must be positive.\n");
  expectRefused("set server app/s1 weight abc",
                "Empty weight string empty or preceded by garbage\n");
  expectRefused("set server app/s1 weight", "Require <weight> or <weight%>.\n");
  expectRefused("set server app/s1 weight 10x", "Trailing garbage in weight string\n");
  expectRefused("set server app/s1 weight 5.5%", "Trailing garbage in weight string\n");
  expectRefused("set weight app/s1", "Require <weight> or <weight%>.\n");
  expectRefused("set weight app/s1 x1", "Empty weight string empty or preceded by garbage\n");
  expectRefused("get weight app/zz", "No such server.\n");

  ctl.applyError = "the daemon said no";
  const auto* before = ctl.configPtr();
  EXPECT_EQ(run("set server app/s1 weight 3"), "the daemon said no\n\n");
  EXPECT_EQ(ctl.configPtr(), before);
  EXPECT_EQ(userWeight(0, 0), 256u);
}

TEST_F(AdminRuntimeApi, SetServerAddr) {
  EXPECT_EQ(run("set server app/s1 addr 127.0.0.2"),
            "IP changed from '127.0.0.1' to '127.0.0.2' by 'stats socket command'\n\n");
  EXPECT_EQ(server(0, 0).addr.toString(), "127.0.0.2:9001");
  EXPECT_EQ(run("set server app/s1 addr 127.0.0.3 port 9050"),
            "IP changed from '127.0.0.2' to '127.0.0.3', port changed from '9001' to '9050' by "
            "'stats socket command'\n\n");
  EXPECT_EQ(server(0, 0).addr.toString(), "127.0.0.3:9050");
  EXPECT_EQ(server(0, 0).addrText, "127.0.0.3:9050");
  EXPECT_EQ(run("set server app/s1 addr 127.0.0.3 port 9051"),
            "no need to change the addr, port changed from '9050' to '9051' by 'stats socket "
            "command'\n\n");
  EXPECT_EQ(run("set server app/s1 addr ::1"),
            "IP changed from '127.0.0.3' to '::1' by 'stats socket command'\n\n");
  EXPECT_EQ(server(0, 0).addr.toString(), "[::1]:9051");

  // HAProxy's words, each ending "by 'stats socket command'"; an address is not applied
  // when its port is wrong.
  expectRefused("set server app/s1 addr ::1",
                "no need to change the addr by 'stats socket command'\n");
  expectRefused(
      "set server app/s1 addr ::1 port 9051",
      "no need to change the addr, no need to change the port by 'stats socket command'\n");
  expectRefused("set server app/s1 addr bad", "Invalid addr 'bad' by 'stats socket command'\n");
  expectRefused("set server app/s1 addr 127.0.0.9 port abc",
                "problem converting port 'abc' to an int by 'stats socket command'\n");
  expectRefused("set server app/s1 addr ::1 port abc",
                "no need to change the addr, problem converting port 'abc' to an int by 'stats "
                "socket command'\n");
  expectRefused("set server app/s1 addr 127.0.0.9 port 0",
                "problem converting port '0' to an int by 'stats socket command'\n");
  expectRefused("set server app/s1 addr 127.0.0.9 prt 9",
                "set server <b>/<s> addr requires an address and optionally a port.\n");
  expectRefused("set server app/s1 addr",
                "set server <b>/<s> addr requires an address and optionally a port.\n");
}

TEST_F(AdminRuntimeApi, HealthAndAgentChecks) {
  EXPECT_EQ(run("disable health app/s2"), "\n");
  EXPECT_EQ(ctl.calls.back(), "health 0 1 false");
  EXPECT_EQ(run("enable health app/s2"), "\n");
  EXPECT_EQ(ctl.calls.back(), "health 0 1 true");
  // The Control's error goes back as it is.
  EXPECT_EQ(run("enable health app/s1"),
            "Health check was not configured on this server, cannot enable.\n\n");
  EXPECT_EQ(run("disable agent other/o1"), "\n");
  EXPECT_EQ(ctl.calls.back(), "agent 1 0 false");
  EXPECT_EQ(run("enable agent other/o1"), "\n");
  EXPECT_EQ(ctl.calls.back(), "agent 1 0 true");
  expectRefused("enable health app/zz", "No such server.\n");
  expectRefused("disable agent", "Require 'backend/server'.\n");
  expectRefused("enable health app/s2 extra", "Require 'backend/server'.\n");
}

TEST_F(AdminRuntimeApi, SetMaxconn) {
  EXPECT_EQ(run("set maxconn server app/s2 12"), "\n");
  EXPECT_EQ(server(0, 1).maxconn, 12u);
  EXPECT_EQ(run("set maxconn frontend web 77"), "\n");
  EXPECT_EQ(ctl.config().services[0].maxconn, 77u);
  EXPECT_EQ(run("set maxconn global 800"), "\n");
  EXPECT_EQ(ctl.calls.back(), "maxconn 800");
  EXPECT_EQ(ctl.info.maxconn, 800u);

  expectRefused("set maxconn server app/s2 lots", "maxconn string empty or preceded by garbage\n");
  expectRefused("set maxconn server app/s2", "Require <maxconn>.\n");
  expectRefused("set maxconn server app/s2 10x", "Trailing garbage in maxconn string\n");
  expectRefused("set maxconn server app/zz 5", "No such server.\n");
  expectRefused("set maxconn frontend nope 5", "No such frontend.\n");
  expectRefused("set maxconn frontend web -3", "Value out of range.\n");
  expectRefused("set maxconn frontend web x", "Integer value expected.\n");
  expectRefused("set maxconn global abc", "Expects an integer value.\n");
  expectRefused("set maxconn global -1", "Value out of range.\n");
  expectRefused("set maxconn global 5001", "Value out of range.\n");  // above hard_maxconn
  // 0: back to Hard_maxconn, the configuration's value.
  EXPECT_EQ(run("set maxconn global 0"), "\n");
  EXPECT_EQ(ctl.calls.back(), "maxconn 5000");
}

TEST_F(AdminRuntimeApi, AddServerStartsInMaintenance) {
  EXPECT_EQ(run("add server app/s4 127.0.0.1:9004 weight 7 maxconn 9 check inter 500ms"),
            "New server registered.\n\n");
  EXPECT_EQ(ctl.calls.back(), "add server app/s4");
  ASSERT_EQ(ctl.config().pools[0].servers.size(), 4u);
  const model::Server& s4 = server(0, 3);
  EXPECT_EQ(s4.name, "s4");
  EXPECT_EQ(s4.id, 4u);
  EXPECT_EQ(s4.weight, 7u);
  EXPECT_EQ(s4.maxconn, 9u);
  EXPECT_TRUE(s4.check.enabled);
  EXPECT_EQ(s4.check.inter, 500 * kMillis);
  EXPECT_EQ(s4.addr.toString(), "127.0.0.1:9004");
  EXPECT_EQ(state(0, 3), model::ServerState::kMaint);
  EXPECT_EQ(run("enable server app/s4"), "\n");
  EXPECT_EQ(state(0, 3), model::ServerState::kUp);

  expectRefused("add server app/s4 127.0.0.1:9005",
                "Already exists a server with the same name in backend.\n");
  expectRefused("add server nope/s9 127.0.0.1:9005", "No such backend.\n");
  expectRefused("add server app/s9", "'server' expects <name> and <addr>[:<port>] as arguments.\n");
  expectRefused("add server s9 127.0.0.1:1", "Require 'backend/server'.\n");
  expectRefused("add server app/s9 127.0.0.1:9005 bogus 1",
                "keyword 'server': server 's9': unknown parameter 'bogus'\n");
  expectRefused("add server app/s9 127.0.0.1:9005 weight 999",
                "keyword 'server': server 's9': parameter 'weight': value '999' is out of range "
                "(expected an integer from 0 to 256)\n");
  expectRefused("add server app/s9 127.0.0.1",
                "keyword 'server': server 's9': address "
                "'127.0.0.1' has no port; Fulcrum requires an "
                "explicit port on servers for now\n");
  expectRefused("add server app/s'9 127.0.0.1:1",
                "character ''' is not permitted in argument 's'9'\n");
}

TEST_F(AdminRuntimeApi, AddServerTakesAnIdOrTheSmallestFreeOne) {
  EXPECT_EQ(run("add server app/s10 127.0.0.1:9010 id 10"), "New server registered.\n\n");
  EXPECT_EQ(server(0, 3).id, 10u);
  EXPECT_TRUE(server(0, 3).idSet);
  // Without "id": the smallest id no server of the backend has (s1..s3 hold 1 to 3).
  EXPECT_EQ(run("add server app/s4 127.0.0.1:9004"), "New server registered.\n\n");
  EXPECT_EQ(server(0, 4).id, 4u);
  EXPECT_FALSE(server(0, 4).idSet);
  // An id of the backend, numbered by the parser or given, is refused (HAProxy's words).
  expectRefused("add server app/s9 127.0.0.1:9009 id 2",
                "keyword 'server': server 's9': parameter 'id': custom id 2 already used at "
                "test.cfg:15 ('server s2')\n");
  expectRefused("add server app/s9 127.0.0.1:9009 id 10",
                "keyword 'server': server 's9': parameter 'id': custom id 10 already used by a "
                "server added at run time ('server s10')\n");
  expectRefused("add server app/s9 127.0.0.1:9009 id 0",
                "keyword 'server': server 's9': parameter 'id': value '0' is out of range "
                "(expected an integer from 1 to 2147483647)\n");
  // Ids are per backend.
  EXPECT_EQ(run("add server other/o2 127.0.0.1:9102 id 2"), "New server registered.\n\n");
  EXPECT_EQ(ctl.config().pools[1].servers[1].id, 2u);
  // A deleted server's id is free again, as in HAProxy.
  ASSERT_EQ(run("disable server app/s2"), "\n");
  ASSERT_EQ(run("del server app/s2"), "Server deleted.\n\n");
  EXPECT_EQ(run("add server app/s5 127.0.0.1:9005"), "New server registered.\n\n");
  EXPECT_EQ(ctl.config().pools[0].servers.back().id, 2u);
}

TEST_F(AdminRuntimeApi, DelServerOnlyInMaintenanceAndIdle) {
  expectRefused("del server app/s3", "Only servers in maintenance mode can be deleted.\n");
  ASSERT_EQ(run("disable server app/s3"), "\n");
  ctl.load(0).acquire(2);  // one connection on s3
  expectRefused("del server app/s3",
                "Server still has connections attached to it, cannot remove it.\n");
  ctl.load(0).release(2);
  EXPECT_EQ(run("del server app/s3"), "Server deleted.\n\n");
  EXPECT_EQ(ctl.config().pools[0].servers.size(), 2u);
  EXPECT_EQ(ctl.calls.back(), "del server app/s3");
  expectRefused("del server app/s3", "No such server.\n");
  expectRefused("del server nope/s3", "No such backend.\n");
  expectRefused("del server", "Require 'backend/server'.\n");
}

TEST_F(AdminRuntimeApi, ShutdownSessionsAndReload) {
  EXPECT_EQ(run("shutdown sessions server other/o1"), "\n");
  EXPECT_EQ(ctl.calls.back(), "shutdown 1 0");
  expectRefused("shutdown sessions server other/zz", "No such server.\n");

  EXPECT_EQ(run("reload"), "Success=1\n--\nconfiguration reloaded\n\n");
  ctl.reloadOutcome = {false, {"a.cfg:3: error: unknown keyword 'bogus'"}};
  EXPECT_EQ(run("reload"), "Success=0\n--\na.cfg:3: error: unknown keyword 'bogus'\n\n");
  expectRefused("reload", "Permission denied\n", ApiLevel::kOperator);
}

TEST_F(AdminRuntimeApi, LevelsFollowHaproxy) {
  for (const char* cmd :
       {"set server app/s1 state maint", "set server app/s1 weight 3", "enable server app/s1",
        "disable server app/s1", "enable health app/s2", "disable agent app/s1",
        "set maxconn global 10", "set maxconn server app/s1 1", "set maxconn frontend web 1",
        "add server app/x 127.0.0.1:1", "del server app/s1", "shutdown sessions server app/s1",
        "reload", "set weight app/s1 2"}) {
    expectRefused(cmd, "Permission denied\n", ApiLevel::kUser);
    expectRefused(cmd, "Permission denied\n", ApiLevel::kOperator);
  }
  EXPECT_NE(run("show stat", ApiLevel::kUser).find("# pxname"), std::string::npos);
  EXPECT_NE(run("show info", ApiLevel::kUser).find("Name: Fulcrum"), std::string::npos);
  EXPECT_EQ(lines(run("show servers state", ApiLevel::kUser))[0], "1");
  EXPECT_EQ(run("show cli level", ApiLevel::kOperator), "operator\n\n");
  EXPECT_EQ(run("show sess", ApiLevel::kOperator), "\n");
  // No packet service: nothing loaded, and it says so (tests/netns reads the counters).
  EXPECT_EQ(run("show xdp", ApiLevel::kUser),
            "The packet data plane is not loaded (no 'dataplane xdp' frontend).\n\n");
}

TEST_F(AdminRuntimeApi, AUserLevelSocketChangesNothingWhateverTheCommand) {
  // Every command the admin level lists and the user level does not, in its literal words
  // (as help prints them): refused at user level, and no call reaches the control plane.
  auto commandsOf = [&](ApiLevel level) {
    std::vector<std::string> out;
    std::istringstream in(run("help", level));
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("  ", 0) != 0) continue;
      std::istringstream words(line.substr(0, line.find(" : ")));
      std::string cmd;
      for (std::string w; words >> w && w[0] != '<' && w[0] != '[';)
        cmd += (cmd.empty() ? "" : " ") + w;
      out.push_back(cmd);
    }
    return out;
  };
  const auto user = commandsOf(ApiLevel::kUser);
  int checked = 0;
  for (const std::string& cmd : commandsOf(ApiLevel::kAdmin)) {
    if (std::find(user.begin(), user.end(), cmd) != user.end()) continue;
    const size_t calls = ctl.calls.size();
    const auto before = ctl.snapshot();
    EXPECT_EQ(run(cmd + " app/s1 1", ApiLevel::kUser), "Permission denied\n\n") << cmd;
    EXPECT_EQ(ctl.calls.size(), calls) << cmd;
    EXPECT_EQ(ctl.snapshot(), before) << cmd;
    ++checked;
  }
  EXPECT_GE(checked, 18);  // every mutating command (and show sess) was tried
}

TEST_F(AdminRuntimeApi, SemicolonsChainCommands) {
  EXPECT_EQ(run("set server app/s1 state maint; show cli level;get weight app/s1"),
            "\nadmin\n\n10 (initial 10)\n\n");
  EXPECT_EQ(state(0, 0), model::ServerState::kMaint);
  // A failing command does not stop the next ones (HAProxy runs each in turn).
  EXPECT_EQ(run("set server app/zz state ready;set server app/s1 state ready"),
            "No such server.\n\n\n");
  EXPECT_EQ(state(0, 0), model::ServerState::kUp);
  // A backslash keeps a ';' in a word.
  EXPECT_EQ(run("get weight app/s1\\;x"), "No such server.\n\n");
  // An empty command (an empty line, ";;") gets HAProxy's complaint and the whole help.
  const std::string empty = run("");
  EXPECT_EQ(empty.rfind("Unknown command. Please enter one of the following commands only:\n", 0),
            0u)
      << empty;
  EXPECT_NE(empty.find("  show stat "), std::string::npos);
  EXPECT_EQ(run("show cli level;;show cli level"), "admin\n\n" + empty + "admin\n\n");
}

TEST_F(AdminRuntimeApi, PromptAndQuit) {
  bool interactive = false, quit = false;
  EXPECT_EQ(api.execute("prompt", ApiLevel::kAdmin, &interactive, &quit), "\n> ");
  EXPECT_TRUE(interactive);
  EXPECT_FALSE(quit);
  EXPECT_EQ(api.execute("show cli level", ApiLevel::kAdmin, &interactive, &quit), "admin\n\n> ");
  // A prompt after each command of a line, as HAProxy.
  EXPECT_EQ(api.execute("show cli level; get weight app/zz", ApiLevel::kAdmin, &interactive, &quit),
            "admin\n\n> No such server.\n\n> ");
  EXPECT_EQ(api.execute("show cli level; quit; show info", ApiLevel::kAdmin, &interactive, &quit),
            "admin\n\n> ");
  EXPECT_TRUE(quit);
  quit = false;
  EXPECT_EQ(api.execute("prompt", ApiLevel::kAdmin, &interactive, &quit), "\n");
  EXPECT_FALSE(interactive);
}

TEST(AdminServerLine, ParsesWithTheConfigParser) {
  auto s = config::parseServerLine("n1", "10.0.0.1:80", {"weight", "3", "backup", "send-proxy-v2"});
  ASSERT_TRUE(s.ok()) << s.error();
  EXPECT_EQ(s->name, "n1");
  EXPECT_EQ(s->weight, 3u);
  EXPECT_TRUE(s->backup);
  EXPECT_EQ(s->sendProxy, model::ProxyProtocol::kV2);
  EXPECT_EQ(s->addr.toString(), "10.0.0.1:80");
  auto bad = config::parseServerLine("n1", "10.0.0.1:80", {"ssl"});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().find("parameter 'ssl' is not supported"), std::string::npos);
  EXPECT_FALSE(config::parseServerLine("n1", "10.0.0.1:80", {"weight"}).ok());
  EXPECT_FALSE(config::parseServerLine("n/1", "10.0.0.1:80", {}).ok());
  EXPECT_FALSE(config::parseServerLine("n1", "10.0.0.1:80", {"weight", "1\n"}).ok());
}

}  // namespace
}  // namespace fulcrum::admin
