// Daemon: wiring of the running process, and the control plane's owner. It owns the
// control thread's event loop (signals, health checks, the runtime API and the admin HTTP
// listener), the publication builder and the data planes (the proxy, and the XDP packet
// path once a packet service exists).
//
// Every change goes through the builder (control/builder.h): start, reload (SIGHUP or the
// runtime API's "reload") and the runtime API's structural changes (addresses, maxconn,
// servers added or removed) prepare everything that can fail (new listeners, log files)
// before anything changes, so a change that cannot be made leaves the running one as it
// was; health results and weight or state changes publish new server states only. A
// runtime API change answers once every data plane thread runs it. Connections in flight
// keep the publication they started with until they end.
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
#include "common/fd.h"
#include "config/config.h"
#include "control/builder.h"
#include "control/publication.h"
#include "health/monitor.h"
#include "model/snapshot.h"
#include "model/stats.h"
#include "proxy/data_plane.h"
#include "xdp/data_plane.h"

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
  std::shared_ptr<const model::Snapshot> snapshot() const override {
    return box_.current()->snapshot;
  }
  const model::ProcessStats& processStats() const override { return stats_; }
  admin::ProcessInfo processInfo() const override;
  std::optional<std::vector<admin::PacketCounter>> packetCounters() const override;
  Result<std::string> packetFlow(model::Protocol proto, const SockAddr& vip,
                                 const SockAddr& client) const override;
  const health::HealthMonitor& health() const override { return *health_; }
  std::vector<model::SessionInfo> sessions() override;
  Status setServerAdmin(int pool, int server, health::AdminRequest req) override;
  Status setServerWeight(int pool, int server, uint32_t weight) override;
  Status setServerAddr(int pool, int server, const SockAddr& addr) override;
  Status setServerMaxconn(int pool, int server, uint32_t maxconn) override;
  Status setFrontendMaxconn(int service, uint32_t maxconn) override;
  Status addServer(int pool, model::Server server) override;
  Status addService(model::Protocol proto, const SockAddr& vip,
                    const model::Balance& balance) override;
  Status setServiceBalance(const std::string& name, const model::Balance& balance) override;
  Status delService(const std::string& name) override;
  bool isRuntimeService(const std::string& name) const override {
    return builder_->overrides().isRuntimeService(name);
  }
  Status delServer(int pool, int server) override;
  Status setHealthChecks(int pool, int server, bool enabled) override;
  Status setAgentChecks(int pool, int server, bool enabled) override;
  void setGlobalMaxconn(uint32_t maxconn) override;
  void shutdownSessions(int pool, int server) override;
  admin::ReloadOutcome reload() override;

 private:
  // reload() between RELOADING=1 and READY=1 (sd_notify).
  admin::ReloadOutcome reloadFiles();
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
  void onSignal(int signo);
  // A change of the config in force: the files' config `file` (the current one for a
  // runtime change) with `overrides`. Prepares, reconfigures the health checks, publishes
  // and waits for the data planes.
  Status apply(std::shared_ptr<const model::Config> file, control::RuntimeOverrides overrides,
               std::string_view what);
  // A runtime change of the overrides, applied to the current files' config.
  template <typename Fn>
  Status changeOverrides(std::string_view what, Fn fn);
  Status applyAdminEndpoints(const model::Config& next);
  // Waits (bounded) until every data plane runs the builder's latest publication.
  void awaitDataPlanes();
  void beginGracefulStop();
  void sampleRates();
  void closeRetired();
  void checkDrained();
  void hardStop();

  std::shared_ptr<const model::Config> initialConfig_;  // until start()
  std::vector<std::string> configFiles_;
  control::PublicationBox box_;
  model::ProcessStats stats_;
  std::string pidfile_;    // "pidfile" of the start, removed at exit
  UniqueFd pidDir_;        // its directory, opened before any chroot
  std::string stateFile_;  // "server-state-file" of the start
  UniqueFd stateDir_;      // its directory, opened before any chroot
  void writeServerState();
  // Set after a chroot: reads the config files through directories opened before it.
  config::OpenFile openConfig_;
  std::unique_ptr<proxy::ProxyDataPlane> proxy_;
  std::unique_ptr<xdp::XdpDataPlane> xdp_;
  bool leavePacketPath_ = false;             // SIGQUIT: the pinned packet path stays at exit
  std::vector<control::DataPlane*> planes_;  // slot order of the publications' plans
  std::unique_ptr<control::Builder> builder_;
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

}  // namespace fulcrum::daemon
