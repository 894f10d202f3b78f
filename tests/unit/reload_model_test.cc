// What a reload or a runtime change keeps, without a process: the config keywords of the
// operations layer, counters and connection counts carried by name (Snapshot::successor),
// and a server's health state across new settings (ServerHealth::reconfigure) and while
// its checks are stopped ("disable health").
#include <gtest/gtest.h>

#include "config_test_util.h"
#include "health/server_health.h"
#include "model/snapshot.h"

namespace fulcrum {
namespace {

using config::testutil::load;
using config::testutil::onlyError;

constexpr const char* kBase =
    "defaults\n    mode tcp\n"
    "frontend web\n    bind 127.0.0.1:8080\n    default_backend app\n"
    "backend app\n    server a 127.0.0.1:9001\n    server b 127.0.0.1:9002\n";

TEST(OpsConfig, StatsSocketBindTimeoutMaxconnHardStopAfter) {
  auto cfg = load(std::string("global\n"
                              "    stats socket /run/f.sock mode 600 level operator\n"
                              "    stats socket /run/g.sock\n"
                              "    stats bind 127.0.0.1:8404\n"
                              "    stats timeout 30s\n"
                              "    stats maxconn 4\n"
                              "    hard-stop-after 5s\n") +
                  kBase);
  ASSERT_TRUE(cfg);
  ASSERT_EQ(cfg->global.statsSockets.size(), 2u);
  EXPECT_EQ(cfg->global.statsSockets[0].path, "/run/f.sock");
  EXPECT_EQ(cfg->global.statsSockets[0].mode, 0600u);
  EXPECT_EQ(cfg->global.statsSockets[0].level, model::ApiLevel::kOperator);
  EXPECT_EQ(cfg->global.statsSockets[1].level, model::ApiLevel::kAdmin);
  ASSERT_EQ(cfg->global.statsHttp.size(), 1u);
  EXPECT_EQ(cfg->global.statsHttp[0].addr.port(), 8404);
  EXPECT_EQ(cfg->global.statsTimeout, 30 * kSeconds);
  EXPECT_EQ(cfg->global.statsMaxconn, 4u);
  EXPECT_EQ(cfg->global.hardStopAfter, 5 * kSeconds);
}

TEST(OpsConfig, BadStatsLinesNameTheKeyword) {
  EXPECT_NE(onlyError(std::string("global\n    stats socket /x level root\n") + kBase)
                .find("test.cfg:2: error:"),
            std::string::npos);
  EXPECT_NE(
      onlyError(std::string("global\n    stats socket /x level root\n") + kBase).find("level"),
      std::string::npos);
  EXPECT_NE(onlyError(std::string("global\n    stats socket /x mode 9\n") + kBase).find("octal"),
            std::string::npos);
  EXPECT_NE(onlyError(std::string("global\n    stats bind nowhere\n") + kBase).find("stats bind"),
            std::string::npos);
  EXPECT_NE(onlyError(std::string("global\n    stats frobnicate\n") + kBase).find("frobnicate"),
            std::string::npos);
  EXPECT_NE(
      onlyError(std::string("global\n    hard-stop-after soon\n") + kBase).find("hard-stop-after"),
      std::string::npos);
}

TEST(OpsConfig, ProxiesAndServersAreNumbered) {
  auto cfg = load(kBase);
  ASSERT_TRUE(cfg);
  EXPECT_EQ(cfg->services[0].id, 1u);
  EXPECT_EQ(cfg->pools[0].id, 2u);
  EXPECT_EQ(cfg->pools[0].servers[0].id, 1u);
  EXPECT_EQ(cfg->pools[0].servers[1].id, 2u);
}

TEST(Successor, CountersAndConnectionCountsFollowNames) {
  auto v1 = load(kBase);
  ASSERT_TRUE(v1);
  auto s1 = model::Snapshot::initial(v1);
  s1->serviceStats[0]->accepted = 7;
  s1->serverStats[0][1]->connections = 5;  // b
  s1->loads[0]->acquire(1);                // one connection open on b
  s1->poolStats[0]->retries = 3;

  // b moves to the front, a is removed, c is added, the frontend is renamed.
  auto v2 = load(
      "defaults\n    mode tcp\n"
      "frontend www\n    bind 127.0.0.1:8080\n    default_backend app\n"
      "backend app\n    server b 127.0.0.1:9002\n    server c 127.0.0.1:9003\n");
  ASSERT_TRUE(v2);
  auto s2 = model::Snapshot::successor(v2, *s1);
  EXPECT_EQ(s2->serverStats[0][0], s1->serverStats[0][1]);  // b kept its counters
  EXPECT_EQ(s2->serverStats[0][0]->connections.load(), 5u);
  EXPECT_EQ(s2->serverStats[0][1]->connections.load(), 0u);  // c is new
  EXPECT_EQ(s2->poolStats[0]->retries.load(), 3u);
  EXPECT_EQ(s2->serviceStats[0]->accepted.load(), 0u);  // www is not web
  // The connection counted on b before the change counts after it, and its release
  // (on the old PoolLoad, where the connection counted itself) is seen by the new one.
  EXPECT_EQ(s2->loads[0]->active(0), 1u);
  s1->loads[0]->release(1);
  EXPECT_EQ(s2->loads[0]->active(0), 0u);
  EXPECT_EQ(s2->runtime[0].size(), 2u);
}

health::HealthParams params(uint32_t weight) {
  health::HealthParams p;
  p.check = true;
  p.rise = 2;
  p.fall = 3;
  p.weight = weight;
  return p;
}

health::CheckResult failed() {
  health::CheckResult r;
  r.status = health::CheckStatus::kL4Refused;
  return r;
}

health::CheckResult passed() {
  health::CheckResult r;
  r.status = health::CheckStatus::kL4Ok;
  return r;
}

TEST(HealthReconfigure, KeepsStateAndAdminAndTakesTheNewWeight) {
  constexpr Micros t0 = 100 * kSeconds;
  health::ServerHealth h(params(10), t0);
  ASSERT_TRUE(h.onCheckResult(failed(), t0));  // DOWN
  EXPECT_EQ(h.state(), model::ServerState::kDown);
  EXPECT_FALSE(h.reconfigure(params(20), t0 + 1));
  EXPECT_EQ(h.state(), model::ServerState::kDown);
  EXPECT_EQ(h.status().userWeight, 20u);
  EXPECT_TRUE(h.weightChangedByLastInput());

  health::ServerHealth d(params(10), t0);
  ASSERT_TRUE(d.setAdmin(health::AdminRequest::kDrain, t0));
  EXPECT_FALSE(d.reconfigure(params(10), t0 + 1));
  EXPECT_EQ(d.state(), model::ServerState::kDrain);
  health::HealthParams disabled = params(10);
  disabled.disabled = true;
  auto t = d.reconfigure(disabled, t0 + 2);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->to, model::ServerState::kMaint);
}

TEST(HealthReconfigure, AHealthyServerStaysUpWhenRiseGrowsOrChecksAppear) {
  constexpr Micros t0 = 100 * kSeconds;
  health::ServerHealth h(params(10), t0);  // rise 2, fall 3: healthy at the top, 4
  health::HealthParams stricter = params(10);
  stricter.rise = 5;
  EXPECT_FALSE(h.reconfigure(stricter, t0 + 1));
  EXPECT_EQ(h.state(), model::ServerState::kUp);
  EXPECT_GE(h.status().health, 5u);

  health::HealthParams unchecked = params(10);
  unchecked.check = false;
  health::ServerHealth u(unchecked, t0);
  health::HealthParams nowChecked = params(10);
  nowChecked.rise = 4;
  EXPECT_FALSE(u.reconfigure(nowChecked, t0 + 1));
  EXPECT_EQ(u.state(), model::ServerState::kUp);

  // A DOWN server stays DOWN.
  health::ServerHealth d(params(10), t0);
  ASSERT_TRUE(d.onCheckResult(failed(), t0));
  EXPECT_FALSE(d.reconfigure(stricter, t0 + 1));
  EXPECT_EQ(d.state(), model::ServerState::kDown);
}

// HAProxy's administrative requests: maintenance clears drain and drain clears
// maintenance, so "enable server" (ready) after drain then maint is UP.
TEST(HealthAdmin, MaintClearsDrainAndReadyClearsBoth) {
  constexpr Micros t0 = 100 * kSeconds;
  health::ServerHealth h(params(10), t0);
  ASSERT_TRUE(h.setAdmin(health::AdminRequest::kDrain, t0));
  EXPECT_EQ(h.adminFlags(), health::kAdminForcedDrain);
  ASSERT_TRUE(h.setAdmin(health::AdminRequest::kMaint, t0 + 1));
  EXPECT_EQ(h.adminFlags(), health::kAdminForcedMaint);
  auto t = h.setAdmin(health::AdminRequest::kReady, t0 + 2);  // "enable server"
  ASSERT_TRUE(t);
  EXPECT_EQ(t->to, model::ServerState::kUp);
  EXPECT_EQ(h.adminFlags(), 0);
  // Drain from maintenance: DRAIN.
  ASSERT_TRUE(h.setAdmin(health::AdminRequest::kMaint, t0 + 3));
  t = h.setAdmin(health::AdminRequest::kDrain, t0 + 4);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->to, model::ServerState::kDrain);
}

// A DOWN server put in drain is still DOWN, but its drain flag is there to report (and
// applies once it comes back).
TEST(HealthAdmin, DrainOfADownServerIsKeptInTheFlags) {
  constexpr Micros t0 = 100 * kSeconds;
  health::ServerHealth h(params(10), t0);
  ASSERT_TRUE(h.onCheckResult(failed(), t0));
  EXPECT_FALSE(h.setAdmin(health::AdminRequest::kDrain, t0 + 1));
  EXPECT_EQ(h.state(), model::ServerState::kDown);
  EXPECT_EQ(h.adminFlags(), health::kAdminForcedDrain);
  health::HealthParams disabled = params(10);
  disabled.disabled = true;
  EXPECT_EQ(health::ServerHealth(disabled, t0).adminFlags(),
            health::kAdminForcedMaint | health::kAdminConfigMaint);
}

// As HAProxy: stopping the checks keeps the state the last checks gave (a DOWN server
// stays DOWN), and resuming them starts from there.
TEST(HealthReconfigure, StoppedChecksKeepTheLastState) {
  constexpr Micros t0 = 100 * kSeconds;
  health::ServerHealth h(params(10), t0);
  ASSERT_TRUE(h.onCheckResult(failed(), t0));
  ASSERT_EQ(h.state(), model::ServerState::kDown);
  EXPECT_FALSE(h.setChecksStopped(true, t0 + 1));
  EXPECT_EQ(h.state(), model::ServerState::kDown);
  EXPECT_FALSE(h.activeChecksWanted());
  EXPECT_TRUE(h.checksStopped());
  EXPECT_FALSE(h.setChecksStopped(false, t0 + 2));
  EXPECT_EQ(h.state(), model::ServerState::kDown);
  EXPECT_TRUE(h.activeChecksWanted());
  ASSERT_FALSE(h.onCheckResult(passed(), t0 + 3));  // rise 2: one more
  auto up = h.onCheckResult(passed(), t0 + 4);
  ASSERT_TRUE(up);
  EXPECT_EQ(up->to, model::ServerState::kUp);
  // An UP server whose checks stop stays UP, whatever the server does meanwhile.
  EXPECT_FALSE(h.setChecksStopped(true, t0 + 5));
  EXPECT_EQ(h.state(), model::ServerState::kUp);
}

// HAProxy's chkfail counts the failures seen while the server was up; downtime adds up
// the periods DOWN or in MAINT.
TEST(HealthCounters, FailuresWhileUpAndDowntime) {
  constexpr Micros t0 = 100 * kSeconds;
  health::ServerHealth h(params(10), t0);
  ASSERT_TRUE(h.onCheckResult(failed(), t0 + kSeconds));       // UP -> DOWN
  EXPECT_FALSE(h.onCheckResult(failed(), t0 + 2 * kSeconds));  // while DOWN
  EXPECT_EQ(h.status().failedChecks, 2u);
  EXPECT_EQ(h.status().failedChecksWhileUp, 1u);
  EXPECT_EQ(h.downTime(t0 + 3 * kSeconds), 2 * kSeconds);  // down since t0+1s
  EXPECT_FALSE(h.onCheckResult(passed(), t0 + 4 * kSeconds));
  ASSERT_TRUE(h.onCheckResult(passed(), t0 + 5 * kSeconds));  // UP again at t0+5s
  EXPECT_EQ(h.downTime(t0 + 9 * kSeconds), 4 * kSeconds);
  ASSERT_TRUE(h.setAdmin(health::AdminRequest::kMaint, t0 + 10 * kSeconds));
  EXPECT_EQ(h.downTime(t0 + 11 * kSeconds), 5 * kSeconds);
}

// "add server": in maintenance, checks stopped, until "enable server" / "enable health".
TEST(HealthAdmin, DynamicServerStartsInMaintWithChecksStopped) {
  constexpr Micros t0 = 100 * kSeconds;
  health::HealthParams p = params(10);
  p.dynamic = true;
  health::ServerHealth h(p, t0);
  EXPECT_EQ(h.state(), model::ServerState::kMaint);
  EXPECT_EQ(h.adminFlags(), health::kAdminForcedMaint);
  EXPECT_TRUE(h.checksStopped());
  ASSERT_TRUE(h.setAdmin(health::AdminRequest::kReady, t0 + 1));
  EXPECT_EQ(h.state(), model::ServerState::kUp);
  EXPECT_FALSE(h.activeChecksWanted());
  h.setChecksStopped(false, t0 + 2);
  EXPECT_TRUE(h.activeChecksWanted());
}

}  // namespace
}  // namespace fulcrum
