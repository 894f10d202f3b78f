// Check: one kind of active health check, run on the control thread's event loop.
//
// A check is started, runs on non-blocking sockets and timers of that loop, and reports
// one CheckResult to its observer; it never blocks and never runs on a worker thread.
// Kinds today (all over TCP, see stream_check.h):
//   - a TCP connect (the default),
//   - a "tcp-check" sequence (connect / send / send-binary / expect ...),
//   - the agent check (connect, send agent-send, read one line).
// The seam for UDP checks (roadmap item 6) is this interface: a UdpCheck implementing
// Check, chosen by makeCheck() for pools whose protocol is UDP. Nothing above this file
// (the state machine, the monitor) knows which transport a check used.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/clock.h"
#include "common/net.h"

namespace fulcrum::health {

// What a check run concluded (HAProxy's check statuses, named by layer).
enum class CheckStatus : uint8_t {
  kNone,         // never checked
  kL4Ok,         // "Layer4 check passed": connected (plain TCP check)
  kL4Timeout,    // "Layer4 timeout": no connection within the connect timeout
  kL4Refused,    // refused (RST): "Layer4 connection problem", as kL4Error
  kL4Error,      // "Layer4 connection problem": reset, unreachable, ...
  kL7Ok,         // "Layer7 check passed": a tcp-check sequence or an agent answered
  kL7Timeout,    // "Layer7 timeout": connected, no (complete) answer in time
  kL7Response,   // "Layer7 invalid response": the answer did not match / closed early
  kSocketError,  // "Socket error": a local failure (no socket, no descriptor)
  kPassive,      // "Health analyze": observed connection errors (observe layer4)
};

const char* describe(CheckStatus s);
// True for statuses that count as a successful check.
bool passed(CheckStatus s);

// A parsed agent reply (agent_reply.h); present in a CheckResult of an agent check that
// read a line.
struct AgentReply;

struct CheckResult {
  CheckStatus status = CheckStatus::kNone;
  std::string detail;  // e.g. "at step 3 of tcp-check (expect string '+PONG')"
  Micros duration = 0;
  std::shared_ptr<const AgentReply> agent;  // agent checks only
};

// Where and how long: the same for every kind. HAProxy's timers: without "timeout
// check", inter bounds the whole check (connect and answer); with it, each connection
// gets min(timeout connect, inter) and the answer "timeout check" once connected.
struct CheckTarget {
  SockAddr addr;              // address and port to connect to
  Micros connectTimeout = 0;  // for each connection of the check; 0: none
  Micros readTimeout = 0;     // from each connection's establishment; 0: none
  Micros totalTimeout = 0;    // for the whole run, from its start; 0: none
};

class CheckObserver {
 public:
  virtual ~CheckObserver() = default;
  // Called once per start(), on the loop thread, never from inside start().
  virtual void onCheckDone(const CheckResult& result) = 0;
};

class Check {
 public:
  virtual ~Check() = default;
  // Starts one run; a run in progress is abandoned first (no result for it).
  virtual void start(const CheckTarget& target) = 0;
  // Abandons a run in progress, if any, without reporting.
  virtual void cancel() = 0;
  virtual bool running() const = 0;
};

}  // namespace fulcrum::health
