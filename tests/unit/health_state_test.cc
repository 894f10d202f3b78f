// The health state machine, without sockets: results in, states, weights and reasons out.
#include <gtest/gtest.h>

#include <memory>

#include "health/agent_reply.h"
#include "health/server_health.h"

namespace fulcrum::health {
namespace {

using model::ServerState;

constexpr Micros kT0 = 1000 * kSeconds;

CheckResult result(CheckStatus s, std::string detail = "") {
  CheckResult r;
  r.status = s;
  r.detail = std::move(detail);
  r.duration = 2 * kMillis;
  return r;
}

CheckResult ok() { return result(CheckStatus::kL4Ok); }
CheckResult refused() { return result(CheckStatus::kL4Refused, "Connection refused"); }

CheckResult agent(std::string_view line) {
  CheckResult r = result(CheckStatus::kL7Ok, std::string(line));
  r.agent = std::make_shared<AgentReply>(parseAgentReply(line));
  return r;
}

HealthParams checked(uint32_t rise = 2, uint32_t fall = 3) {
  HealthParams p;
  p.check = true;
  p.rise = rise;
  p.fall = fall;
  p.weight = 100;
  p.inter = 2 * kSeconds;
  return p;
}

TEST(HealthState, StartsUpAndTheFirstFailureTakesItDown) {
  ServerHealth h(checked(), kT0);
  EXPECT_EQ(h.state(), ServerState::kUp);
  EXPECT_EQ(h.counterText(), "1/3 UP");
  auto t = h.onCheckResult(refused(), kT0 + 1);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->from, ServerState::kUp);
  EXPECT_EQ(t->to, ServerState::kDown);
  EXPECT_EQ(t->reason, "Layer4 connection problem");
  EXPECT_EQ(t->detail, "Connection refused");
  EXPECT_EQ(t->checkDuration, 2 * kMillis);
  EXPECT_EQ(h.status().markedDown, 1u);
  EXPECT_EQ(h.status().lastChange, kT0 + 1);
  EXPECT_EQ(h.status().lastReason, "Layer4 connection problem");
}

TEST(HealthState, FallConsecutiveFailuresMarkAHealthyServerDown) {
  ServerHealth h(checked(2, 3), kT0);
  EXPECT_FALSE(h.onCheckResult(ok(), kT0));  // to the top: fully up
  EXPECT_EQ(h.counterText(), "3/3 UP");
  EXPECT_FALSE(h.onCheckResult(refused(), kT0 + 1));
  EXPECT_FALSE(h.onCheckResult(refused(), kT0 + 2));
  EXPECT_EQ(h.state(), ServerState::kUp);
  EXPECT_EQ(h.counterText(), "1/3 UP");
  // One success in between restores the full count: failures must be consecutive.
  EXPECT_FALSE(h.onCheckResult(ok(), kT0 + 3));
  EXPECT_FALSE(h.onCheckResult(refused(), kT0 + 4));
  EXPECT_FALSE(h.onCheckResult(refused(), kT0 + 5));
  auto t = h.onCheckResult(result(CheckStatus::kL4Timeout), kT0 + 6);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->to, ServerState::kDown);
  EXPECT_EQ(t->reason, "Layer4 timeout");
  EXPECT_EQ(h.counterText(), "0/2 DOWN");
  EXPECT_EQ(h.status().failedChecks, 5u);
  EXPECT_EQ(h.status().checks, 7u);
}

TEST(HealthState, RiseConsecutiveSuccessesBringItBack) {
  ServerHealth h(checked(3, 2), kT0);
  ASSERT_TRUE(h.onCheckResult(refused(), kT0));
  EXPECT_FALSE(h.onCheckResult(ok(), kT0 + 1));
  EXPECT_FALSE(h.onCheckResult(ok(), kT0 + 2));
  EXPECT_FALSE(h.onCheckResult(refused(), kT0 + 3));  // back to 0
  EXPECT_FALSE(h.onCheckResult(ok(), kT0 + 4));
  EXPECT_FALSE(h.onCheckResult(ok(), kT0 + 5));
  EXPECT_EQ(h.state(), ServerState::kDown);
  auto t = h.onCheckResult(result(CheckStatus::kL7Ok, "(tcp-check)"), kT0 + 6);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->from, ServerState::kDown);
  EXPECT_EQ(t->to, ServerState::kUp);
  EXPECT_EQ(t->reason, "Layer7 check passed");
  EXPECT_EQ(h.status().markedUp, 1u);
  EXPECT_EQ(h.status().transitions, 2u);
}

TEST(HealthState, IntervalsFollowTheState) {
  HealthParams p = checked(2, 3);
  p.fastinter = 500 * kMillis;
  p.downinter = 10 * kSeconds;
  ServerHealth h(p, kT0);
  EXPECT_EQ(h.checkInterval(), 500 * kMillis);  // not checked yet: transitional
  h.onCheckResult(ok(), kT0);
  EXPECT_EQ(h.checkInterval(), 2 * kSeconds);  // fully up
  h.onCheckResult(refused(), kT0);
  EXPECT_EQ(h.checkInterval(), 500 * kMillis);  // going down
  h.onCheckResult(refused(), kT0);
  h.onCheckResult(refused(), kT0);
  EXPECT_EQ(h.state(), ServerState::kDown);
  EXPECT_EQ(h.checkInterval(), 10 * kSeconds);  // fully down
  h.onCheckResult(ok(), kT0);
  EXPECT_EQ(h.checkInterval(), 500 * kMillis);  // going up
  // Without fastinter and downinter, inter everywhere.
  ServerHealth plain(checked(), kT0);
  plain.onCheckResult(refused(), kT0);
  EXPECT_EQ(plain.checkInterval(), 2 * kSeconds);
}

TEST(HealthState, AgentDrainWeightAndUp) {
  HealthParams p = checked();
  p.agent = true;
  ServerHealth h(p, kT0);
  auto t = h.onAgentResult(agent("drain\n"), kT0 + 1);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->to, ServerState::kDrain);
  EXPECT_EQ(t->reason, "agent reports drain");
  EXPECT_FALSE(h.onAgentResult(agent("drain"), kT0 + 2));  // no change, no transition
  // "ready 50%": back to UP at half the configured weight.
  t = h.onAgentResult(agent("ready 50%"), kT0 + 3);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->to, ServerState::kUp);
  EXPECT_EQ(t->reason, "agent reports ready 50%");
  EXPECT_TRUE(h.weightChangedByLastInput());
  EXPECT_EQ(h.runtime(kT0 + 3).effectiveWeight, 50u);
  EXPECT_EQ(h.status().userWeight, 50u);
  // A weight alone changes no state.
  EXPECT_FALSE(h.onAgentResult(agent("100%"), kT0 + 4));
  EXPECT_TRUE(h.weightChangedByLastInput());
  EXPECT_EQ(h.runtime(kT0 + 4).effectiveWeight, 100u);
  EXPECT_EQ(h.status().lastAgentReply, "100%");
  // 0% leaves the state UP with no weight: it takes no new connections.
  EXPECT_FALSE(h.onAgentResult(agent("0%"), kT0 + 5));
  EXPECT_EQ(h.runtime(kT0 + 5).effectiveWeight, 0u);
}

TEST(HealthState, AgentWeightOrUpDoNotEndADrainOnlyReadyDoes) {
  HealthParams p;
  p.agent = true;
  p.weight = 100;
  ServerHealth h(p, kT0);
  ASSERT_TRUE(h.onAgentResult(agent("drain"), kT0));
  EXPECT_FALSE(h.onAgentResult(agent("50%"), kT0 + 1));
  EXPECT_FALSE(h.onAgentResult(agent("up"), kT0 + 2));
  EXPECT_EQ(h.state(), ServerState::kDrain);
  EXPECT_EQ(h.runtime(kT0 + 2).effectiveWeight, 50u);  // kept for when the drain ends
  auto t = h.onAgentResult(agent("ready"), kT0 + 3);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->to, ServerState::kUp);
  EXPECT_EQ(h.runtime(kT0 + 3).effectiveWeight, 50u);
}

TEST(HealthState, AgentDownIsImmediateAndOnlyUpLiftsIt) {
  HealthParams p = checked(2, 3);
  p.agent = true;
  ServerHealth h(p, kT0);
  h.onCheckResult(ok(), kT0);
  auto t = h.onAgentResult(agent("down #disk full"), kT0 + 1);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->to, ServerState::kDown);
  EXPECT_EQ(t->reason, "agent reports down #disk full");
  EXPECT_EQ(t->detail, "disk full");
  // Passing health checks do not override the agent's "down".
  EXPECT_FALSE(h.onCheckResult(ok(), kT0 + 2));
  EXPECT_FALSE(h.onCheckResult(ok(), kT0 + 3));
  EXPECT_EQ(h.state(), ServerState::kDown);
  // An unreachable agent changes nothing.
  EXPECT_FALSE(h.onAgentResult(result(CheckStatus::kL4Refused), kT0 + 4));
  t = h.onAgentResult(agent("up"), kT0 + 5);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->to, ServerState::kUp);
  EXPECT_EQ(h.counterText(), "3/3 UP");
}

TEST(HealthState, AgentMaintAndReady) {
  HealthParams p;
  p.agent = true;  // an agent without a health check
  p.weight = 10;
  ServerHealth h(p, kT0);
  auto t = h.onAgentResult(agent("maint"), kT0 + 1);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->to, ServerState::kMaint);
  EXPECT_FALSE(h.activeChecksWanted());
  EXPECT_TRUE(h.agentWanted());
  t = h.onAgentResult(agent("ready"), kT0 + 2);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->to, ServerState::kUp);
  t = h.onAgentResult(agent("stopped"), kT0 + 3);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->to, ServerState::kDown);
}

TEST(HealthState, PassiveFailCheckAndMarkDown) {
  HealthParams p = checked(2, 3);
  p.observe = true;
  p.onError = model::OnError::kFailCheck;
  ServerHealth h(p, kT0);
  h.onCheckResult(ok(), kT0);
  EXPECT_FALSE(h.onPassiveErrors(10, kT0 + 1));  // one failed check of three
  EXPECT_EQ(h.counterText(), "2/3 UP");
  EXPECT_EQ(h.status().lastCheck, CheckStatus::kPassive);

  p.onError = model::OnError::kMarkDown;
  ServerHealth m(p, kT0);
  m.onCheckResult(ok(), kT0);
  auto t = m.onPassiveErrors(10, kT0 + 1);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->to, ServerState::kDown);
  EXPECT_EQ(t->reason, "Health analyze");
  EXPECT_EQ(t->detail, "10 consecutive connection errors");
  EXPECT_EQ(m.status().passiveTriggers, 1u);
}

TEST(HealthState, PassiveSuddenDeathLeavesOneCheck) {
  HealthParams p = checked(2, 5);
  p.observe = true;
  p.onError = model::OnError::kSuddenDeath;
  ServerHealth h(p, kT0);
  h.onCheckResult(ok(), kT0);
  EXPECT_EQ(h.counterText(), "5/5 UP");
  EXPECT_FALSE(h.onPassiveErrors(10, kT0 + 1));
  EXPECT_EQ(h.counterText(), "1/5 UP");  // pre-fatal
  auto t = h.onCheckResult(refused(), kT0 + 2);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->to, ServerState::kDown);
}

TEST(HealthState, PassiveFastinterOnlyChangesNothing) {
  HealthParams p = checked();
  p.observe = true;
  p.onError = model::OnError::kFastinter;
  ServerHealth h(p, kT0);
  EXPECT_FALSE(h.onPassiveErrors(10, kT0 + 1));
  EXPECT_EQ(h.state(), ServerState::kUp);
  EXPECT_EQ(h.status().passiveTriggers, 1u);
}

TEST(HealthState, ObserveWithoutCheckProbesOnlyWhileDown) {
  HealthParams p;
  p.observe = true;
  p.rise = 2;
  p.fall = 3;
  p.onError = model::OnError::kMarkDown;
  ServerHealth h(p, kT0);
  EXPECT_FALSE(h.activeChecksWanted());
  auto t = h.onPassiveErrors(3, kT0 + 1);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->to, ServerState::kDown);
  EXPECT_TRUE(h.activeChecksWanted());
  EXPECT_FALSE(h.onCheckResult(ok(), kT0 + 2));
  t = h.onCheckResult(ok(), kT0 + 3);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->to, ServerState::kUp);
  EXPECT_FALSE(h.activeChecksWanted());
}

TEST(HealthState, SlowstartRampsTheWeightAfterRecoveryOnly) {
  HealthParams p = checked(1, 1);
  p.slowstart = 10 * kSeconds;
  ServerHealth h(p, kT0);
  // Never at start.
  EXPECT_EQ(h.runtime(kT0).effectiveWeight, 100u);
  EXPECT_EQ(h.nextRampAt(kT0), -1);
  ASSERT_TRUE(h.onCheckResult(refused(), kT0));
  const Micros up = kT0 + 5 * kSeconds;
  ASSERT_TRUE(h.onCheckResult(ok(), up));
  EXPECT_EQ(h.runtime(up).effectiveWeight, 1u);
  EXPECT_EQ(h.runtime(up + 1 * kSeconds).effectiveWeight, 10u);
  EXPECT_EQ(h.runtime(up + 5 * kSeconds).effectiveWeight, 50u);
  EXPECT_EQ(h.runtime(up + 5 * kSeconds + 1).effectiveWeight, 51u);  // rounded up
  EXPECT_EQ(h.runtime(up + 10 * kSeconds).effectiveWeight, 100u);
  // Published in steps of slowstart/10 (bounded to 100 ms .. 1 s).
  EXPECT_EQ(h.nextRampAt(up), up + 1 * kSeconds);
  EXPECT_EQ(h.nextRampAt(up + 1500 * kMillis), up + 2 * kSeconds);
  EXPECT_EQ(h.nextRampAt(up + 9999 * kMillis), up + 10 * kSeconds);
  EXPECT_EQ(h.nextRampAt(up + 10 * kSeconds), -1);
  // Going down again stops the ramp.
  ASSERT_TRUE(h.onCheckResult(refused(), up + 2 * kSeconds));
  EXPECT_EQ(h.nextRampAt(up + 2 * kSeconds), -1);
}

TEST(HealthState, SlowstartStepIsBounded) {
  HealthParams p = checked(1, 1);
  p.slowstart = 100 * kSeconds;
  ServerHealth h(p, kT0);
  h.onCheckResult(refused(), kT0);
  h.onCheckResult(ok(), kT0);
  EXPECT_EQ(h.nextRampAt(kT0), kT0 + 1 * kSeconds);  // at most 1 s
  p.slowstart = 500 * kMillis;
  ServerHealth s(p, kT0);
  s.onCheckResult(refused(), kT0);
  s.onCheckResult(ok(), kT0);
  EXPECT_EQ(s.nextRampAt(kT0), kT0 + 100 * kMillis);  // at least 100 ms
}

TEST(HealthState, DisabledIsMaintUntilReady) {
  HealthParams p = checked();
  p.disabled = true;
  ServerHealth h(p, kT0);
  EXPECT_EQ(h.state(), ServerState::kMaint);
  EXPECT_FALSE(h.activeChecksWanted());
  // A late check result changes nothing in maintenance.
  EXPECT_FALSE(h.onCheckResult(refused(), kT0 + 1));
  auto t = h.setAdmin(AdminRequest::kReady, kT0 + 2);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->from, ServerState::kMaint);
  EXPECT_EQ(t->to, ServerState::kUp);
  // Leaving maintenance: up, but the first failure takes it down.
  EXPECT_EQ(h.counterText(), "1/3 UP");
  t = h.setAdmin(AdminRequest::kDrain, kT0 + 3);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->to, ServerState::kDrain);
  EXPECT_EQ(h.runtime(kT0 + 3).state, ServerState::kDrain);
}

TEST(HealthState, NoChecksMeansAlwaysUp) {
  HealthParams p;
  ServerHealth h(p, kT0);
  EXPECT_EQ(h.state(), ServerState::kUp);
  EXPECT_FALSE(h.activeChecksWanted());
  EXPECT_FALSE(h.onCheckResult(refused(), kT0));  // not tracked: no effect
  EXPECT_EQ(h.state(), ServerState::kUp);
}

TEST(HealthState, ParamsFromTheModel) {
  model::Server s;
  s.weight = 7;
  s.slowstart = 3 * kSeconds;
  s.check.enabled = true;
  s.check.rise = 4;
  s.check.fall = 5;
  s.check.inter = 300 * kMillis;
  s.agent.enabled = true;
  s.agent.inter = 0;
  s.observe.mode = model::Observe::kLayer4;
  s.observe.errorLimit = 3;
  s.observe.onError = model::OnError::kMarkDown;
  HealthParams p = HealthParams::of(s);
  EXPECT_EQ(p.weight, 7u);
  EXPECT_EQ(p.rise, 4u);
  EXPECT_EQ(p.fall, 5u);
  EXPECT_EQ(p.inter, 300 * kMillis);
  EXPECT_EQ(p.agentInter, 300 * kMillis);  // unset: inter
  EXPECT_TRUE(p.check && p.agent && p.observe);
  EXPECT_EQ(p.errorLimit, 3u);
  EXPECT_EQ(p.onError, model::OnError::kMarkDown);
}

}  // namespace
}  // namespace fulcrum::health
