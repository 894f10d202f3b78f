// StreamCheck: the TCP check engine. A check is a list of steps run in order on
// non-blocking sockets of the control loop:
//   connect [port N]   open a connection (the first step is always a connect)
//   send DATA          write bytes (tcp-check send / send-binary, agent-send)
//   expect RULE        read until the rule decides (tcp-check expect)
//   agent line         read one line and parse it as an agent reply
// A plain TCP check is [connect]; "option tcp-check" gives the pool's rules (with an
// implicit connect first when they do not start with one); the agent check is
// [connect, send agent-send, agent line].
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/event_loop.h"
#include "common/fd.h"
#include "common/result.h"
#include "health/check.h"
#include "health/expect.h"
#include "model/model.h"

namespace fulcrum::health {

struct CheckStep {
  enum class Kind : uint8_t { kConnect, kSend, kExpect, kAgentLine };
  Kind kind = Kind::kConnect;
  uint16_t port = 0;                          // connect: 0 = the target's port
  std::string data;                           // send
  std::shared_ptr<const Expectation> expect;  // expect
  std::string comment;                        // reported when the step fails
};

// The steps of each kind of check.
std::vector<CheckStep> connectOnlySteps();
Result<std::vector<CheckStep>> tcpCheckSteps(const std::vector<model::TcpCheckRule>& rules);
std::vector<CheckStep> agentSteps(const std::string& send);

class StreamCheck final : public Check, private IoHandler, private Timer {
 public:
  StreamCheck(EventLoop& loop, CheckObserver& observer, std::vector<CheckStep> steps);
  ~StreamCheck() override;
  StreamCheck(const StreamCheck&) = delete;
  StreamCheck& operator=(const StreamCheck&) = delete;

  void start(const CheckTarget& target) override;
  void cancel() override;
  bool running() const override { return phase_ != Phase::kIdle; }

 private:
  enum class Phase : uint8_t { kIdle, kConnecting, kSending, kReading, kReporting };
  // Bytes read for one expect or agent line at most (HAProxy's check buffer).
  static constexpr size_t kMaxResponse = 16 * 1024;

  void onIo(uint32_t events) override;
  void onTimer() override;
  // Runs steps from step_ until one has to wait or the check ends.
  void runSteps();
  bool beginConnect(const CheckStep& step);
  void connected();
  // Writes pending output; false when the check ended (error).
  bool flushOutput();
  // Reads what is available; false when the check ended (error).
  bool readInput();
  void waitFor(uint32_t events, Phase phase);
  void armTimer();
  void finish(CheckStatus status, std::string detail, std::shared_ptr<const AgentReply> agent = {});
  void closeConnection();
  std::string stepLabel() const;
  // `what` (e.g. "Connection refused") and the step it happened at; only `what` for a plain
  // connect check, which has a single step (HAProxy words its detail so).
  std::string detailAt(std::string_view what) const;

  EventLoop& loop_;
  CheckObserver& observer_;
  std::vector<CheckStep> steps_;
  CheckTarget target_;
  UniqueFd fd_;
  Phase phase_ = Phase::kIdle;
  size_t step_ = 0;
  bool starting_ = false;  // inside start(): results are reported from a timer
  bool peerClosed_ = false;
  uint32_t interest_ = 0;
  Micros startedAt_ = 0;
  Micros connectDeadline_ = -1;
  Micros readDeadline_ = -1;
  std::string out_;
  size_t outOff_ = 0;
  std::string in_;
  CheckResult pending_;  // kReporting: the result to report
};

}  // namespace fulcrum::health
