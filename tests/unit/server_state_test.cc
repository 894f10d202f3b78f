// The server state file loader: parsing HAProxy's "show servers state" format (version 1),
// the "load-server-state-from-file" keyword, and matching lines with servers.
#include "daemon/server_state.h"

#include <gtest/gtest.h>

#include "config_test_util.h"

namespace fulcrum::daemon {
namespace {

using config::testutil::load;

constexpr std::string_view kHeader =
    "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight "
    "srv_iweight srv_time_since_last_change srv_check_status srv_check_result "
    "srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id "
    "srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr "
    "srv_agent_port\n";

TEST(ServerState, ParsesVersionOneLines) {
  std::string text(kHeader);
  // As HAProxy 2.6 writes it (25 fields), and a 20-field line of HAProxy 1.6-2.0.
  text += "3 be 1 a 127.0.0.1 0 1 10 10 5 1 0 2 8 0 0 0 - 8001 - 0 0 - - 0\n";
  text += "3 be 2 b 127.0.0.2 2 8 7 10 5 1 0 2 0 0 0 0 - 8002 -\n";
  const ServerStateFile f = parseServerState(text, "state");
  EXPECT_TRUE(f.warnings.empty());
  ASSERT_EQ(f.servers.size(), 2u);
  EXPECT_EQ(f.servers[0].backend, "be");
  EXPECT_EQ(f.servers[0].server, "a");
  EXPECT_EQ(f.servers[0].addr, "127.0.0.1");
  EXPECT_EQ(f.servers[0].opState, 0);
  EXPECT_EQ(f.servers[0].adminState, 1u);
  EXPECT_EQ(f.servers[0].userWeight, 10u);
  EXPECT_EQ(f.servers[0].port, 8001);
  EXPECT_EQ(f.servers[0].line, 3u);
  EXPECT_EQ(f.servers[1].adminState, 8u);
  EXPECT_EQ(f.servers[1].userWeight, 7u);
  EXPECT_EQ(f.servers[1].initWeight, 10u);
}

TEST(ServerState, MalformedLinesWarnAndTheRestLoads) {
  std::string text(kHeader);
  text += "3 be 1 a 127.0.0.1 9 0 1 1 0 1 0 2 0 0 0 0 - 80 - 0 0 - - 0\n";  // op state 9
  text += "3 be 2 b 127.0.0.1 2 0 1\n";                                     // too short
  text += "3 be 3 c 127.0.0.1 2 0 x 1 0 1 0 2 0 0 0 0 - 80 - 0 0 - - 0\n";  // weight
  text += "3 be 4 d 127.0.0.1 2 0 1 1 0 1 0 2 0 0 0 0 - 80 - 0 0 - - 0\n";
  const ServerStateFile f = parseServerState(text, "/var/state");
  ASSERT_EQ(f.servers.size(), 1u);
  EXPECT_EQ(f.servers[0].server, "d");
  ASSERT_EQ(f.warnings.size(), 3u);
  EXPECT_NE(f.warnings[0].find("/var/state:3:"), std::string::npos) << f.warnings[0];
  EXPECT_NE(f.warnings[1].find("/var/state:4:"), std::string::npos) << f.warnings[1];
  EXPECT_NE(f.warnings[2].find("/var/state:5:"), std::string::npos) << f.warnings[2];
}

TEST(ServerState, OtherVersionIsIgnored) {
  const ServerStateFile f =
      parseServerState("2\n3 be 1 a 127.0.0.1 2 0 1 1 0 1 0 2 0 0 0 0 - 80 -\n", "s");
  EXPECT_TRUE(f.servers.empty());
  ASSERT_EQ(f.warnings.size(), 1u);
  EXPECT_NE(f.warnings[0].find("version"), std::string::npos);
}

TEST(ServerState, KeywordAndFileNames) {
  auto cfg = load(
      "global\n    server-state-base /var/lib/st\n    server-state-file all\n"
      "defaults\n    load-server-state-from-file global\n"
      "backend g\n    server a 127.0.0.1:80\n"
      "backend l\n    load-server-state-from-file local\n    server a 127.0.0.1:80\n"
      "backend n\n    load-server-state-from-file local\n    server-state-file-name /x/n\n"
      "    server a 127.0.0.1:80\n"
      "backend o\n    load-server-state-from-file none\n    server a 127.0.0.1:80\n");
  ASSERT_TRUE(cfg);
  EXPECT_EQ(serverStateFileOf(*cfg, cfg->pools[0]), "/var/lib/st/all");
  EXPECT_EQ(serverStateFileOf(*cfg, cfg->pools[1]), "/var/lib/st/l");
  EXPECT_EQ(serverStateFileOf(*cfg, cfg->pools[2]), "/x/n");
  EXPECT_EQ(serverStateFileOf(*cfg, cfg->pools[3]), "");
  EXPECT_FALSE(config::testutil::parse("backend b\n    load-server-state-from-file all\n").ok());
}

TEST(ServerState, MatchesByBackendAndServerName) {
  auto cfg = load(
      "global\n    server-state-file /tmp/st\n"
      "backend be\n    load-server-state-from-file global\n"
      "    server m 127.0.0.1:81 weight 10\n    server d 127.0.0.1:82 weight 10\n"
      "    server w 127.0.0.1:83 weight 10\n    server c 127.0.0.1:84 check\n"
      "    server moved 127.0.0.1:85\n    server cw 127.0.0.1:86 weight 20\n"
      "    server nc 127.0.0.1:87\n");
  ASSERT_TRUE(cfg);
  std::string text(kHeader);
  // Ids differ from the configuration's: names match.
  text += "9 be 9 m 127.0.0.1 0 1 10 10 0 1 0 2 8 0 0 0 - 81 - 0 0 - - 0\n";
  text += "9 be 8 d 127.0.0.1 2 8 10 10 0 1 0 2 0 0 0 0 - 82 - 0 0 - - 0\n";
  text += "9 be 7 w 127.0.0.1 2 0 3 10 0 1 0 2 0 0 0 0 - 83 - 0 0 - - 0\n";
  text += "9 be 6 c 127.0.0.1 0 0 1 1 0 1 0 0 6 0 0 0 - 84 - 0 0 - - 0\n";
  text += "9 be 5 moved 127.0.0.9 2 0 1 1 0 1 0 2 0 0 0 0 - 9000 - 0 0 - - 0\n";
  text += "9 be 4 cw 127.0.0.1 2 0 3 10 0 1 0 2 0 0 0 0 - 86 - 0 0 - - 0\n";  // iweight changed
  text += "9 be 3 nc 127.0.0.1 0 0 1 1 0 1 0 2 0 0 0 0 - 87 - 0 0 - - 0\n";   // no check
  text += "9 be 2 gone 127.0.0.1 2 0 1 1 0 1 0 2 0 0 0 0 - 80 - 0 0 - - 0\n";
  text += "9 other 1 x 127.0.0.1 2 0 1 1 0 1 0 2 0 0 0 0 - 80 - 0 0 - - 0\n";
  ServerStatePlan plan;
  matchServerState(*cfg, "/tmp/st", parseServerState(text, "/tmp/st"), plan);
  EXPECT_TRUE(plan.warnings.empty());
  ASSERT_EQ(plan.notices.size(), 1u);
  EXPECT_NE(plan.notices[0].find("2 entries"), std::string::npos) << plan.notices[0];
  ASSERT_EQ(plan.actions.size(), 5u);
  EXPECT_EQ(plan.actions[0].server, 0);
  EXPECT_EQ(plan.actions[0].admin, health::AdminRequest::kMaint);
  EXPECT_FALSE(plan.actions[0].down);
  EXPECT_EQ(plan.actions[1].server, 1);
  EXPECT_EQ(plan.actions[1].admin, health::AdminRequest::kDrain);
  EXPECT_EQ(plan.actions[2].server, 2);
  EXPECT_EQ(plan.actions[2].userWeight, 3u);
  EXPECT_EQ(plan.actions[3].server, 3);
  EXPECT_TRUE(plan.actions[3].down);
  EXPECT_EQ(plan.actions[4].server, 4);
  ASSERT_TRUE(plan.actions[4].addr);
  EXPECT_EQ(plan.actions[4].addr->toString(), "127.0.0.9:9000");
}

}  // namespace
}  // namespace fulcrum::daemon
