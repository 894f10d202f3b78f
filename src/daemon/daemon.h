// Daemon: wiring of the running process, and the control plane's owner. It owns the
// control thread's event loop (signals, health checks, the runtime API and the admin HTTP
// listener), the listening sockets, the published snapshot and the worker threads.
//
// Every change of configuration goes through apply(): start, reload (SIGHUP or the
// runtime API's "reload"), and the runtime API's changes (weights, addresses, maxconn,
// servers added or removed). apply() prepares everything that can fail (new listeners,
// log files) before it touches anything, so a change that cannot be made leaves the
// running one as it was. Then it hands the workers their new listeners, publishes the new
// snapshot, and closes the listeners that were dropped once every worker let go of them.
// Connections in flight keep the snapshot they started with until they end.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "admin/api_server.h"
#include "admin/control.h"
#include "admin/http_server.h"
#include "admin/runtime_api.h"
#include "admin/stats_view.h"
#include "common/event_loop.h"
#include "daemon/listeners.h"
#include "health/monitor.h"
#include "model/snapshot.h"
#include "model/stats.h"
#include "proxy/worker.h"

namespace fulcrum::daemon {

class Daemon final : public admin::Control {
 public:
  // configFiles: what a reload reads again (the -f arguments, expanded).
  Daemon(std::shared_ptr<const model::Config> config, std::vector<std::string> configFiles);
  ~Daemon() override;

  // Opens listeners and starts the workers. Call with SIGINT/SIGTERM/SIGHUP blocked
  // (blockSignals()) so that every thread inherits the mask.
  Status start();
  // Runs the control loop until stopped (SIGTERM: gracefully; SIGINT or a second
  // SIGTERM: at once); returns the process exit code.
  int run();

  // Blocks the signals the control loop handles, and ignores SIGPIPE.
  static void blockSignals();

  // ---- admin::Control ----
  std::shared_ptr<const model::Snapshot> snapshot() const override { return box_.current(); }
  const model::ProcessStats& processStats() const override { return stats_; }
  admin::ProcessInfo processInfo() const override;
  const health::HealthMonitor& health() const override { return *health_; }
  uint32_t initialWeight(int pool, int server) const override;
  std::vector<model::SessionInfo> sessions() override;
  Status setServerAdmin(int pool, int server, health::AdminRequest req) override;
  Status setHealthChecks(int pool, int server, bool enabled) override;
  Status setAgentChecks(int pool, int server, bool enabled) override;
  Status applyConfig(std::shared_ptr<const model::Config> next, std::string_view what) override;
  void setGlobalMaxconn(uint32_t maxconn) override;
  void shutdownSessions(int pool, int server) override;
  admin::ReloadOutcome reload() override;

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
  // Calls a member function of the daemon when it fires.
  class Tick final : public Timer {
   public:
    Tick(Daemon* d, void (Daemon::*fn)()) : d_(d), fn_(fn) {}
    void onTimer() override { (d_->*fn_)(); }

   private:
    Daemon* d_;
    void (Daemon::*fn_)();
  };
  struct Listener {
    BoundListener bound;
    std::shared_ptr<proxy::BindShared> shared;
  };
  void onSignal(int signo);
  Status apply(std::shared_ptr<const model::Config> next, std::string_view what);
  Status applyAdminEndpoints(const model::Config& next);
  std::vector<proxy::ListenerSpec> specsFor(size_t worker) const;
  // Hands every worker its listeners for `config` (call before publishing its snapshot),
  // and its sockets of the `dropped` listeners, which it drains and closes.
  void planListeners(const std::shared_ptr<const model::Config>& config,
                     std::vector<Listener> dropped = {});
  void publish(std::shared_ptr<model::Snapshot> snap);
  // Waits (bounded) until every worker has applied the latest listener plan.
  void awaitWorkers();
  void beginGracefulStop();
  void sampleRates();
  void closeRetired();
  void checkDrained();
  void hardStop();

  std::shared_ptr<const model::Config> config_;      // in force
  std::shared_ptr<const model::Config> fileConfig_;  // as last read from the files
  std::vector<std::string> configFiles_;
  model::SnapshotBox box_;
  model::ProcessStats stats_;
  std::vector<Listener> listeners_;
  uint64_t planGeneration_ = 0;
  std::vector<std::unique_ptr<proxy::Worker>> workers_;
  int nworkers_ = 0;
  uint32_t hardMaxconn_ = 0;
  EventLoop control_;
  std::unique_ptr<SignalHandler> signals_;
  RuntimePublisher publisher_{this};
  std::unique_ptr<health::HealthMonitor> health_;  // runs on control_
  admin::RateTracker rates_;
  admin::RuntimeApi api_{*this, &rates_};
  std::vector<std::unique_ptr<admin::ApiServer>> apiServers_;
  std::vector<std::unique_ptr<admin::AdminHttpServer>> httpServers_;
  // Dropped by a reload, destroyed on the next tick (see applyAdminEndpoints).
  std::vector<std::unique_ptr<admin::ApiServer>> retiredApis_;
  std::vector<std::unique_ptr<admin::AdminHttpServer>> retiredHttp_;
  bool adminPending_ = false;  // an endpoint waits for a dropped one to free its path
  Tick rateTick_{this, &Daemon::sampleRates};
  Tick retireTick_{this, &Daemon::closeRetired};
  Tick drainTick_{this, &Daemon::checkDrained};
  Tick hardStopTick_{this, &Daemon::hardStop};
  Micros startedWall_ = 0;
  Micros startedMono_ = 0;
  uint64_t reloads_ = 0;
  uint64_t failedReloads_ = 0;
  bool stopping_ = false;
  int exitCode_ = 0;
};

int workerCount(const model::Config& config);
// The effective global maxconn: the configured one, or what the open-file limit allows
// (two descriptors per proxied connection). Raises the soft RLIMIT_NOFILE to the hard one.
// *hard receives what the open-file limit allows.
uint32_t effectiveMaxconn(const model::Config& config, uint32_t* hard = nullptr);
// The CPUs cpu-map gives to a worker thread (numbered from 1); empty: not pinned.
std::vector<int> cpusOfThread(const model::Config& config, uint32_t thread);
// Opens the log sinks of every service into the snapshot.
Status openServiceLogs(const model::Config& config, model::Snapshot& snap);

}  // namespace fulcrum::daemon
