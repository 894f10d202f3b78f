#include "health/server_health.h"

#include <fmt/core.h>

#include <algorithm>

namespace fulcrum::health {
namespace {

constexpr Micros kMinRampStep = 100 * kMillis;
constexpr Micros kMaxRampStep = 1 * kSeconds;
constexpr uint32_t kMaxWeight = 256;

Micros rampStep(Micros slowstart) {
  return std::clamp<Micros>(slowstart / 10, kMinRampStep, kMaxRampStep);
}

}  // namespace

HealthParams HealthParams::of(const model::Server& s) {
  HealthParams p;
  p.rise = std::max<uint32_t>(1, s.check.rise);
  p.fall = std::max<uint32_t>(1, s.check.fall);
  p.weight = s.weight;
  p.slowstart = s.slowstart;
  p.inter = s.check.inter > 0 ? s.check.inter : 2 * kSeconds;
  p.fastinter = s.check.fastinter;
  p.downinter = s.check.downinter;
  p.agentInter = s.agent.inter > 0 ? s.agent.inter : p.inter;
  p.check = s.check.enabled;
  p.agent = s.agent.enabled;
  p.observe = s.observe.mode == model::Observe::kLayer4;
  p.errorLimit = std::max<uint32_t>(1, s.observe.errorLimit);
  p.onError = s.observe.onError;
  p.disabled = s.disabled;
  p.dynamic = s.dynamic;
  return p;
}

ServerHealth::ServerHealth(const HealthParams& params, Micros now) : params_(params) {
  configMaint_ = params.disabled;
  adminMaint_ = params.dynamic;
  checksStopped_ = params.dynamic;
  status_.userWeight = params.weight;
  status_.health = params.rise;  // up, but the first failed check takes it down
  status_.state = computeState();
  status_.lastChange = now;
}

void ServerHealth::passCheck() {
  if (status_.health < top()) {
    ++status_.health;
    if (status_.health >= params_.rise) status_.health = top();
  }
}

void ServerHealth::failCheck() {
  if (status_.health > 0) {
    --status_.health;
    if (status_.health < params_.rise) status_.health = 0;
  }
}

model::ServerState ServerHealth::computeState() const {
  using model::ServerState;
  if (configMaint_ || agentMaint_ || adminMaint_) return ServerState::kMaint;
  const bool checkOk = !tracksHealth() || status_.health >= params_.rise;
  if (!checkOk || agentDown_) return ServerState::kDown;
  if (agentDrain_ || adminDrain_) return ServerState::kDrain;
  return ServerState::kUp;
}

std::optional<Transition> ServerHealth::settle(Micros now, std::string reason, std::string detail,
                                               Micros duration) {
  using model::ServerState;
  const ServerState next = computeState();
  const ServerState prev = status_.state;
  if (next == prev) return std::nullopt;
  if (prev == ServerState::kMaint && tracksHealth()) {
    // Leaving maintenance: considered up, but the first failed check takes it down
    // (HAProxy); the monitor checks it at once.
    status_.health = std::max(status_.health, params_.rise);
  }
  Transition t;
  t.from = prev;
  t.to = computeState();
  t.reason = std::move(reason);
  t.detail = std::move(detail);
  t.checkDuration = duration;
  if (t.to == prev) return std::nullopt;
  if (prev == ServerState::kDown || prev == ServerState::kMaint)
    status_.downTime += std::max<Micros>(0, now - status_.lastChange);
  status_.state = t.to;
  status_.lastChange = now;
  status_.lastReason = t.reason;
  ++status_.transitions;
  if (t.to == ServerState::kDown) ++status_.markedDown;
  if (t.to == ServerState::kUp && (prev == ServerState::kDown || prev == ServerState::kMaint)) {
    ++status_.markedUp;
    warmupStart_ = params_.slowstart > 0 ? now : -1;
  } else if (t.to != ServerState::kUp && t.to != ServerState::kDrain) {
    warmupStart_ = -1;
  }
  return t;
}

std::optional<Transition> ServerHealth::onCheckResult(const CheckResult& r, Micros now) {
  weightChanged_ = false;
  status_.lastCheck = r.status;
  status_.lastCheckDetail = r.detail;
  status_.lastCheckDuration = r.duration;
  status_.lastCheckAt = now;
  ++status_.checks;
  if (status_.state == model::ServerState::kMaint) return std::nullopt;  // a late result
  if (passed(r.status)) {
    passCheck();
  } else {
    ++status_.failedChecks;
    if (status_.health >= params_.rise) ++status_.failedChecksWhileUp;  // the check side was up
    failCheck();
  }
  return settle(now, describe(r.status), r.detail, r.duration);
}

std::optional<Transition> ServerHealth::onAgentResult(const CheckResult& r, Micros now) {
  weightChanged_ = false;
  status_.lastAgent = r.status;
  status_.lastAgentAt = now;
  ++status_.agentChecks;
  if (!r.agent) return std::nullopt;  // no answer: the health check covers reachability
  const AgentReply& a = *r.agent;
  status_.lastAgentReply = a.summary();
  // As HAProxy: the administrative state first, then the weight, then the health.
  switch (a.admin) {
    case AgentReply::Admin::kDrain: agentDrain_ = true; break;
    case AgentReply::Admin::kMaint: agentMaint_ = true; break;
    case AgentReply::Admin::kReady: agentDrain_ = agentMaint_ = false; break;
    case AgentReply::Admin::kNone: break;
  }
  if (a.weightPercent) {
    uint64_t w = static_cast<uint64_t>(params_.weight) * *a.weightPercent / 100;
    auto nw = static_cast<uint32_t>(std::min<uint64_t>(w, kMaxWeight));
    if (nw != status_.userWeight) {
      status_.userWeight = nw;
      weightChanged_ = true;
    }
  }
  switch (a.health) {
    case AgentReply::Health::kUp:
      agentDown_ = false;
      if (tracksHealth()) status_.health = top();
      break;
    case AgentReply::Health::kDown:
      agentDown_ = true;
      if (tracksHealth()) status_.health = 0;
      break;
    case AgentReply::Health::kNone: break;
  }
  return settle(now, "agent reports " + status_.lastAgentReply, a.description, r.duration);
}

std::optional<Transition> ServerHealth::onPassiveErrors(uint32_t errors, Micros now) {
  weightChanged_ = false;
  ++status_.passiveTriggers;
  if (status_.state == model::ServerState::kMaint) return std::nullopt;
  std::string detail = fmt::format("{} consecutive connection errors", errors);
  switch (params_.onError) {
    case model::OnError::kFastinter:
      return std::nullopt;  // the monitor only brings the next check forward
    case model::OnError::kSuddenDeath:
      if (status_.health > params_.rise) status_.health = params_.rise + 1;
      failCheck();
      break;
    case model::OnError::kFailCheck: failCheck(); break;
    case model::OnError::kMarkDown:
      status_.health = params_.rise;
      failCheck();
      break;
  }
  ++status_.failedChecks;
  status_.lastCheck = CheckStatus::kPassive;
  status_.lastCheckDetail = detail;
  status_.lastCheckDuration = -1;
  status_.lastCheckAt = now;
  return settle(now, describe(CheckStatus::kPassive), std::move(detail), -1);
}

std::optional<Transition> ServerHealth::loadDown(Micros now) {
  weightChanged_ = false;
  if (!tracksHealth()) return std::nullopt;
  status_.health = 0;
  return settle(now, "DOWN in the server state file", "", -1);
}

std::optional<Transition> ServerHealth::setAdmin(AdminRequest req, Micros now) {
  weightChanged_ = false;
  const char* reason = "";
  switch (req) {
    case AdminRequest::kReady:
      adminDrain_ = adminMaint_ = configMaint_ = false;
      reason = "administratively set ready";
      break;
    case AdminRequest::kDrain:
      adminDrain_ = true;
      adminMaint_ = false;
      reason = "administratively set to drain";
      break;
    case AdminRequest::kMaint:
      adminMaint_ = true;
      adminDrain_ = false;
      reason = "administratively set to maintenance";
      break;
  }
  return settle(now, reason, "", -1);
}

model::ServerRuntime ServerHealth::runtime(Micros now) const {
  model::ServerRuntime rt;
  rt.state = status_.state;
  uint32_t w = status_.userWeight;
  if (warmupStart_ >= 0 && w > 0 && status_.state == model::ServerState::kUp) {
    const Micros elapsed = now - warmupStart_;
    if (elapsed < params_.slowstart) {
      // Linear from 1 to the full weight; rounded up so that it never stalls at 0.
      const auto ew =
          (static_cast<uint64_t>(w) * static_cast<uint64_t>(std::max<Micros>(0, elapsed)) +
           static_cast<uint64_t>(params_.slowstart) - 1) /
          static_cast<uint64_t>(params_.slowstart);
      w = static_cast<uint32_t>(std::clamp<uint64_t>(ew, 1, w));
    }
  }
  rt.effectiveWeight = w;
  return rt;
}

Micros ServerHealth::nextRampAt(Micros now) const {
  if (warmupStart_ < 0 || status_.state != model::ServerState::kUp) return -1;
  const Micros end = warmupStart_ + params_.slowstart;
  if (now >= end) return -1;
  const Micros step = rampStep(params_.slowstart);
  const Micros k = (now - warmupStart_) / step + 1;
  return std::min(end, warmupStart_ + k * step);
}

std::optional<Transition> ServerHealth::setChecksStopped(bool stopped, Micros now) {
  weightChanged_ = false;
  if (stopped == checksStopped_) return std::nullopt;
  checksStopped_ = stopped;
  return settle(now, stopped ? "health check disabled" : "health check enabled", "", -1);
}

std::optional<Transition> ServerHealth::reconfigure(const HealthParams& params, Micros now) {
  weightChanged_ = params.weight != params_.weight;
  if (weightChanged_) status_.userWeight = params.weight;
  // "disabled" follows the configuration only when the configuration changed it: a server
  // added at run time in maintenance ("disabled") and enabled since stays enabled.
  if (params.disabled != params_.disabled) configMaint_ = params.disabled;
  // A healthy server stays healthy under a new rise/fall (or newly enabled checks): its
  // counter moves to the new scale, it is not re-judged by a setting it never failed.
  const bool wasHealthy = !tracksHealth() || status_.health >= params_.rise;
  params_ = params;
  status_.health = std::min(status_.health, top());
  if (wasHealthy) status_.health = std::max(status_.health, params_.rise);
  return settle(now, "configuration changed", "", -1);
}

uint8_t ServerHealth::adminFlags() const {
  uint8_t f = 0;
  if (adminMaint_ || agentMaint_ || configMaint_) f |= kAdminForcedMaint;
  if (configMaint_) f |= kAdminConfigMaint;
  if (adminDrain_ || agentDrain_) f |= kAdminForcedDrain;
  return f;
}

Micros ServerHealth::downTime(Micros now) const {
  const bool down =
      status_.state == model::ServerState::kDown || status_.state == model::ServerState::kMaint;
  return status_.downTime + (down ? std::max<Micros>(0, now - status_.lastChange) : 0);
}

bool ServerHealth::activeChecksWanted() const {
  if (status_.state == model::ServerState::kMaint || checksStopped_) return false;
  if (params_.check) return true;
  return params_.observe && status_.health < params_.rise;
}

Micros ServerHealth::checkInterval() const {
  if (status_.health >= top()) return params_.inter;
  if (status_.health == 0) return params_.downinter > 0 ? params_.downinter : params_.inter;
  return params_.fastinter > 0 ? params_.fastinter : params_.inter;
}

std::string ServerHealth::counterText() const {
  const uint32_t h = status_.health;
  if (h >= params_.rise) return fmt::format("{}/{} UP", h - params_.rise + 1, params_.fall);
  return fmt::format("{}/{} DOWN", h, params_.rise);
}

}  // namespace fulcrum::health
