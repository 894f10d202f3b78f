// Daemon: wiring of the running process. Owns the control thread's event loop (signals
// now; health checks, the runtime API and reload as they land), the listening sockets,
// the published snapshot and the worker threads.
#pragma once

#include <memory>
#include <vector>

#include "common/event_loop.h"
#include "daemon/listeners.h"
#include "health/monitor.h"
#include "model/snapshot.h"
#include "model/stats.h"
#include "proxy/worker.h"

namespace fulcrum::daemon {

class Daemon {
 public:
  explicit Daemon(std::shared_ptr<const model::Config> config);
  ~Daemon();

  // Opens listeners and starts the workers. Call with SIGINT/SIGTERM/SIGHUP blocked
  // (blockSignals()) so that every thread inherits the mask.
  Status start();
  // Runs the control loop until SIGTERM or SIGINT; returns the process exit code.
  int run();

  // Blocks the signals the control loop handles, and ignores SIGPIPE.
  static void blockSignals();

  const std::vector<BoundListener>& listeners() const { return listeners_; }
  // The health checker (control thread only); null before start().
  const health::HealthMonitor* health() const { return health_.get(); }

 private:
  class SignalHandler;
  // Publishes the health checker's runtime changes as new snapshots.
  class RuntimePublisher final : public health::RuntimePublisher {
   public:
    explicit RuntimePublisher(Daemon* d) : d_(d) {}
    void publishRuntime(std::vector<std::vector<model::ServerRuntime>> runtime,
                        bool shutdown) override;

   private:
    Daemon* d_;
  };
  void onSignal(int signo);

  std::shared_ptr<const model::Config> config_;
  model::SnapshotBox box_;
  model::ProcessStats stats_;
  std::vector<BoundListener> listeners_;
  std::vector<std::unique_ptr<proxy::Worker>> workers_;
  EventLoop control_;
  std::unique_ptr<SignalHandler> signals_;
  RuntimePublisher publisher_{this};
  std::unique_ptr<health::HealthMonitor> health_;  // runs on control_
  int exitCode_ = 0;
};

// The number of worker threads for a config: nbthread, or one per usable CPU.
int workerCount(const model::Config& config);
// The effective global maxconn: the configured one, or what the open-file limit allows
// (two descriptors per proxied connection). Raises the soft RLIMIT_NOFILE to the hard one.
uint32_t effectiveMaxconn(const model::Config& config);
// The CPUs cpu-map gives to a worker thread (numbered from 1); empty: not pinned.
std::vector<int> cpusOfThread(const model::Config& config, uint32_t thread);
// Opens the log sinks of every service into the snapshot.
Status openServiceLogs(const model::Config& config, model::Snapshot& snap);

}  // namespace fulcrum::daemon
