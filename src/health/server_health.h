// ServerHealth: the state machine of one server, pure (no sockets, no clock of its own):
// feed it check results, agent replies, passive alerts and administrative requests with
// the time they happened; read the state and effective weight to publish, and why they
// changed. The monitor (monitor.h) drives it on the control thread; unit tests drive it
// directly.
//
// HAProxy's model, which this follows:
//   - A health counter from 0 to rise+fall-1. A passed check raises it by one and, once
//     it reaches rise, sets it to the top; a failed check lowers it by one and, once it
//     drops below rise, sets it to 0. The check side is healthy while it is >= rise: so a
//     healthy server goes DOWN after `fall` failed checks in a row and comes back after
//     `rise` passed checks in a row. A server starts at rise ("init-state up"): UP, but
//     its first failed check takes it DOWN.
//   - Operational state (UP/DOWN) comes from the health counter and the agent; the
//     administrative state from configuration ("disabled"), the agent and the runtime API
//     (MAINT, DRAIN). Published state: MAINT > DOWN > DRAIN > UP.
//   - The agent: "down|stopped|fail" takes the server DOWN at once and "up" brings the
//     health counter to the top; "drain", "maint", "ready" set and clear the agent's
//     administrative state; "NN%" sets the weight to NN% of the configured weight. An
//     agent that cannot be reached changes nothing (the health check covers that).
//   - Passive observation ("observe layer4"): when the data path sees error-limit failed
//     connections in a row, on-error decides: fastinter (check sooner only), fail-check
//     (count one failed check), sudden-death (leave one check before DOWN, then fail one),
//     mark-down (DOWN now).
//   - Slow start: after DOWN or MAINT (never at process start), the effective weight grows
//     linearly from 1 to the full weight over `slowstart`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/clock.h"
#include "health/agent_reply.h"
#include "health/check.h"
#include "model/model.h"
#include "model/snapshot.h"

namespace fulcrum::health {

// What the state machine needs of a server's configuration.
struct HealthParams {
  uint32_t rise = 2;
  uint32_t fall = 3;
  uint32_t weight = 1;  // configured weight
  Micros slowstart = 0;
  Micros inter = 2 * kSeconds;
  Micros fastinter = 0;  // 0: inter
  Micros downinter = 0;  // 0: inter
  Micros agentInter = 2 * kSeconds;
  bool check = false;    // "check": active health checks
  bool agent = false;    // "agent-check"
  bool observe = false;  // "observe layer4"
  uint32_t errorLimit = 10;
  model::OnError onError = model::OnError::kFailCheck;
  bool disabled = false;  // "disabled": MAINT from the start
  bool dynamic = false;   // added by "add server": MAINT, checks stopped, until enabled

  static HealthParams of(const model::Server& s);
};

// A change of the published state, and why.
struct Transition {
  model::ServerState from = model::ServerState::kUp;
  model::ServerState to = model::ServerState::kUp;
  std::string reason;         // "Layer4 connection problem", "agent reports drain", ...
  std::string detail;         // the check's detail, the agent's description, ...
  Micros checkDuration = -1;  // when a check caused it
};

// Administrative requests (the runtime API's "set server ... state"), as HAProxy applies
// them: kReady clears drain and maintenance ("state ready", "enable server"), kDrain sets
// drain and clears maintenance, kMaint sets maintenance and clears drain ("state maint",
// "disable server").
enum class AdminRequest : uint8_t { kReady, kDrain, kMaint };

// HAProxy's administrative state bits ("show servers state" srv_admin_state).
inline constexpr uint8_t kAdminForcedMaint = 0x01;  // runtime API or agent
inline constexpr uint8_t kAdminConfigMaint = 0x04;  // "disabled" in the configuration
inline constexpr uint8_t kAdminForcedDrain = 0x08;  // runtime API or agent

// What the control plane can read about a server's health (runtime API, metrics).
struct HealthStatus {
  model::ServerState state = model::ServerState::kUp;
  uint32_t userWeight = 1;  // configured weight, changed by the agent's NN%
  uint32_t health = 0;      // the health counter, 0..rise+fall-1
  CheckStatus lastCheck = CheckStatus::kNone;
  std::string lastCheckDetail;
  Micros lastCheckDuration = -1;
  Micros lastCheckAt = -1;
  CheckStatus lastAgent = CheckStatus::kNone;
  std::string lastAgentReply;  // summary of the last line the agent sent
  Micros lastAgentAt = -1;
  Micros lastChange = 0;     // when the current state was entered: time in state = now - this
  std::string lastReason;    // reason of the last transition
  uint64_t transitions = 0;  // published state changes
  uint64_t markedDown = 0;   // transitions to DOWN
  uint64_t markedUp = 0;     // transitions to UP from DOWN or MAINT
  uint64_t checks = 0;       // active check results
  uint64_t failedChecks = 0;
  uint64_t failedChecksWhileUp = 0;  // HAProxy's chkfail: failed while UP or DRAIN
  Micros downTime = 0;               // time spent DOWN or in MAINT before the current state
  uint64_t agentChecks = 0;
  uint64_t passiveTriggers = 0;  // times error-limit was reached
};

class ServerHealth {
 public:
  ServerHealth(const HealthParams& params, Micros now);

  // Inputs. Each returns the transition of the published state it caused, if any.
  std::optional<Transition> onCheckResult(const CheckResult& r, Micros now);
  std::optional<Transition> onAgentResult(const CheckResult& r, Micros now);
  // error-limit consecutive connection errors were observed (errors: how many).
  std::optional<Transition> onPassiveErrors(uint32_t errors, Micros now);
  std::optional<Transition> setAdmin(AdminRequest req, Micros now);
  // The runtime API's "disable health" / "enable health": while stopped, no active check
  // runs and the server keeps the state its last checks gave it (a DOWN server stays
  // DOWN, as in HAProxy); enabling resumes the checks from there.
  std::optional<Transition> setChecksStopped(bool stopped, Micros now);
  // The server state file says the server was DOWN: with health tracking (checks or
  // observe), the health counter drops to 0, so `rise` passed checks bring it back.
  std::optional<Transition> loadDown(Micros now);
  bool checksStopped() const { return checksStopped_; }
  // A reload or a runtime change gave the server new settings: state, counters and
  // administrative requests are kept; a changed configured weight replaces the user
  // weight; "disabled" follows the new configuration.
  std::optional<Transition> reconfigure(const HealthParams& params, Micros now);

  // The runtime API's "set weight": the user weight (HAProxy's uweight) is `weight` until
  // the agent, the operator or a changed configured weight sets it again. The effective
  // weight follows (slow start and state apply).
  void setUserWeight(uint32_t weight) {
    weightChanged_ = weight != status_.userWeight;
    status_.userWeight = weight;
  }

  // True when the last input changed the user weight (agent NN%), transition or not.
  bool weightChangedByLastInput() const { return weightChanged_; }

  model::ServerState state() const { return status_.state; }
  // HAProxy's srv_admin_state bits (kAdmin*).
  uint8_t adminFlags() const;
  // Time spent DOWN or in MAINT, the current period included.
  Micros downTime(Micros now) const;
  // State and effective weight at `now` (the slow start ramp applies).
  model::ServerRuntime runtime(Micros now) const;
  // When the effective weight is next due to move by slow start alone (the ramp moves in
  // steps of slowstart/10, at least 100 ms and at most 1 s, so that it is published at a
  // bounded rate); -1 when no ramp is in progress.
  Micros nextRampAt(Micros now) const;

  // Active checks run when "check" is set, and also, with "observe" but no "check", while
  // the server is DOWN (the probes that bring it back). Never in MAINT.
  bool activeChecksWanted() const;
  bool agentWanted() const { return params_.agent; }
  // Delay before the next active check: inter when fully up, downinter when fully down,
  // fastinter in between (and before the first check), each falling back to inter.
  Micros checkInterval() const;
  Micros agentInterval() const { return params_.agentInter; }

  const HealthParams& params() const { return params_; }
  const HealthStatus& status() const { return status_; }
  // "2/3 UP" style position of the health counter (HAProxy's check status).
  std::string counterText() const;
  // Whether the health counter matters: active checks or passive observation.
  bool tracksHealth() const { return params_.check || params_.observe; }

 private:
  uint32_t top() const { return params_.rise + params_.fall - 1; }
  void passCheck();
  void failCheck();
  model::ServerState computeState() const;
  std::optional<Transition> settle(Micros now, std::string reason, std::string detail,
                                   Micros duration);

  HealthParams params_;
  HealthStatus status_;
  bool configMaint_ = false;  // "disabled"
  bool agentDown_ = false;
  bool agentDrain_ = false;
  bool agentMaint_ = false;
  bool adminDrain_ = false;
  bool adminMaint_ = false;
  bool checksStopped_ = false;
  bool weightChanged_ = false;
  Micros warmupStart_ = -1;  // slow start began here; -1: none
};

}  // namespace fulcrum::health
