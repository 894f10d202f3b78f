// HealthMonitor: the control plane's health checker. Owns one ServerHealth (state
// machine) per server of every pool, runs the servers' active and agent checks on the
// control thread's event loop, takes passive alerts from the data path, and publishes a
// new runtime (server states and effective weights) whenever one of them changes.
//
//   checks (timers, sockets) ──► ServerHealth ──► transition: logged, counted,
//   passive alert (wake-up) ───►   per server     shutdown-sessions epochs bumped
//                                                 runtime changed ──► RuntimePublisher
//
// Nothing here knows of a TCP proxy: the publisher (the daemon) turns the runtime into a
// snapshot for whichever data planes run; the checks are chosen per pool by makeCheck()
// (the seam for UDP checks).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "common/event_loop.h"
#include "health/check.h"
#include "health/server_health.h"
#include "model/snapshot.h"

namespace fulcrum::health {

class RuntimePublisher {
 public:
  virtual ~RuntimePublisher() = default;
  // Publish a snapshot with this runtime ([pool][server], the config's indices).
  // shutdown: some servers' ServerStats::shutdownEpoch were bumped; the data planes must
  // close those servers' sessions.
  virtual void publishRuntime(std::vector<std::vector<model::ServerRuntime>> runtime,
                              bool shutdown) = 0;
};

// Builds the active check of a server for its pool's protocol and settings: TCP connect,
// or the pool's tcp-check sequence. A UDP pool will get a UDP check here.
Result<std::unique_ptr<Check>> makeCheck(EventLoop& loop, CheckObserver& observer,
                                         const model::Pool& pool, const model::Server& server);
std::unique_ptr<Check> makeAgentCheck(EventLoop& loop, CheckObserver& observer,
                                      const model::Server& server);

// Where a server's checks connect, and their timers (HAProxy's rules; see CheckTarget).
CheckTarget checkTarget(const model::Pool& pool, const model::Server& server);
CheckTarget agentTarget(const model::Pool& pool, const model::Server& server);

class HealthMonitor {
 public:
  // `snap`: the snapshot the data planes start with (its config, counters and runtime).
  HealthMonitor(EventLoop& loop, std::shared_ptr<const model::Snapshot> snap,
                RuntimePublisher& publisher);
  ~HealthMonitor();
  HealthMonitor(const HealthMonitor&) = delete;
  HealthMonitor& operator=(const HealthMonitor&) = delete;

  // Builds the checks and schedules the first ones, spread over the smallest interval.
  Status start();
  void stop();

  // For the snapshots: the data path's passive alerts wake this loop through it.
  std::shared_ptr<model::HealthSignal> signal() const;
  // Call on the loop thread when the loop is woken (EventLoop wake handler).
  void onWake();

  // The runtime API's seam: administrative state of a server.
  void setAdmin(int pool, int server, AdminRequest req);
  // At start, a server the server state file says was DOWN (see ServerHealth::loadDown).
  void loadDown(int pool, int server);
  // "set weight": the server's user weight; publishes when its effective weight moved.
  void setUserWeight(int pool, int server, uint32_t weight);
  // "disable|enable health", "disable|enable agent".
  void setChecksStopped(int pool, int server, bool stopped);
  void setAgentStopped(int pool, int server, bool stopped);
  bool agentStopped(int pool, int server) const;
  bool checksStopped(int pool, int server) const;
  uint8_t adminFlags(int pool, int server) const;  // HAProxy's srv_admin_state bits
  Micros downTime(int pool, int server) const;     // DOWN or MAINT so far

  // A reload or runtime change: `next` replaces the snapshot (config and counters).
  // Servers that keep their backend and name keep their health state, counters and
  // administrative requests (their checks are rebuilt only when what they check changed);
  // new servers start as at process start; removed ones stop. Returns the runtime to
  // publish with `next` (the monitor does not publish it itself).
  std::vector<std::vector<model::ServerRuntime>> reconfigure(
      std::shared_ptr<const model::Snapshot> next);

  // For readers on the control thread (runtime API, metrics).
  size_t poolCount() const { return byPool_.size(); }
  size_t serverCount(int pool) const { return byPool_.at(static_cast<size_t>(pool)).size(); }
  const HealthStatus& status(int pool, int server) const;
  model::ServerRuntime runtime(int pool, int server) const;
  std::string counterText(int pool, int server) const;
  // Whether the server has a check or an agent running at all.
  bool checked(int pool, int server) const;

 private:
  struct Entry;
  class Signal;
  class RampTimer final : public Timer {
   public:
    explicit RampTimer(HealthMonitor* m) : m_(m) {}
    void onTimer() override { m_->refresh(false); }

   private:
    HealthMonitor* m_;
  };

  Entry& entry(int pool, int server) const;
  // Builds the entry's check and agent for its current config; returns how many it has.
  void buildChecks(Entry& e);
  void onCheckDone(Entry& e, const CheckResult& r);
  void onAgentDone(Entry& e, const CheckResult& r);
  void runCheck(Entry& e);
  void runAgent(Entry& e);
  // Schedules (or cancels) the entry's next active check after an input.
  void reschedule(Entry& e, bool soon);
  Micros jitter(Micros interval);
  void handle(Entry& e, const std::optional<Transition>& t);
  void logTransition(const Entry& e, const Transition& t);
  void checkPassive();
  // Publishes when the runtime changed (or a shutdown was requested); re-arms the slow
  // start ramp timer.
  void refresh(bool shutdown);

  EventLoop& loop_;
  std::shared_ptr<const model::Snapshot> snap_;
  RuntimePublisher& publisher_;
  std::shared_ptr<Signal> signal_;
  std::vector<std::unique_ptr<Entry>> entries_;
  std::vector<std::vector<Entry*>> byPool_;
  std::vector<std::vector<model::ServerRuntime>> published_;
  RampTimer rampTimer_{this};
  std::mt19937_64 rng_;
  bool pendingShutdown_ = false;
  bool started_ = false;
};

}  // namespace fulcrum::health
