// Control: what the operations layer (runtime API, metrics, stats page) may read and do
// to the running process. The daemon implements it on the control thread; every call
// below is made on that thread. Unit tests implement it with a fake.
//
//   unix socket ──► RuntimeApi ──┐
//                                ├──► Control ──► snapshot, health monitor, workers
//   admin HTTP  ──► metrics/page ┘
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/net.h"
#include "common/result.h"
#include "health/monitor.h"
#include "health/server_health.h"
#include "model/model.h"
#include "model/session_info.h"
#include "model/snapshot.h"
#include "model/stats.h"

namespace fulcrum::admin {

struct ProcessInfo {
  pid_t pid = 0;
  std::string version;
  std::string releaseDate;  // "YYYY/MM/DD", as HAProxy's Release_date
  std::string node;         // host name
  Micros startedWall = 0;   // wall clock at start, microseconds since the epoch
  Micros uptime = 0;
  uint32_t threads = 0;      // worker threads
  uint32_t maxconn = 0;      // global maxconn in force (set maxconn global changes it)
  uint32_t hardMaxconn = 0;  // the configuration's maxconn: the ceiling of set maxconn global
  uint64_t reloads = 0;      // successful reloads since start
  uint64_t failedReloads = 0;
  uint64_t openFds = 0;   // descriptors open now
  bool stopping = false;  // a graceful stop is in progress
};

struct ReloadOutcome {
  bool ok = false;
  // The config's diagnostics ("FILE:LINE: error: ..."), warnings included, and what the
  // reload did or why it could not apply.
  std::vector<std::string> messages;
};

// One counter of the packet data plane ("show xdp", metrics).
struct PacketCounter {
  std::string name;
  uint64_t value = 0;
  std::string help;
};

class Control {
 public:
  virtual ~Control() = default;

  // ---- reading ----
  // The snapshot the data planes use now: config, server states, counters.
  virtual std::shared_ptr<const model::Snapshot> snapshot() const = 0;
  virtual const model::ProcessStats& processStats() const = 0;
  virtual ProcessInfo processInfo() const = 0;
  // "Which real gets this flow?" (show xdp flow): one line, or why not.
  virtual Result<std::string> packetFlow(model::Protocol /*proto*/, const SockAddr& /*vip*/,
                                         const SockAddr& /*client*/) const {
    return Error{"The packet data plane is not available here."};
  }
  // The packet data plane's global counters; nullopt when it is not loaded.
  virtual std::optional<std::vector<PacketCounter>> packetCounters() const { return std::nullopt; }
  // Health of the current snapshot's servers (same pool/server indices).
  virtual const health::HealthMonitor& health() const = 0;
  // Every live session of every worker ("show sess"); waits briefly for the workers.
  virtual std::vector<model::SessionInfo> sessions() = 0;

  // ---- acting; an Error's text goes back to the client as it is ----
  // Each change is in force in every data plane thread when the call returns (the next
  // client sees it), or the call failed and nothing changed. Pool, server and service
  // indices are the current snapshot's.
  virtual Status setServerAdmin(int pool, int server, health::AdminRequest req) = 0;
  // "set weight": the server's current (user) weight; its configured one stays.
  virtual Status setServerWeight(int pool, int server, uint32_t weight) = 0;
  // "set server addr", "set maxconn server", "set maxconn frontend", "add server", "del
  // server": runtime overrides of the configuration (control/overrides.h), kept across
  // reloads until the files change the same setting.
  virtual Status setServerAddr(int pool, int server, const SockAddr& addr) = 0;
  virtual Status setServerMaxconn(int pool, int server, uint32_t maxconn) = 0;
  virtual Status setFrontendMaxconn(int service, uint32_t maxconn) = 0;
  // `server` is parsed from the command, with its id; it starts in maintenance.
  virtual Status addServer(int pool, model::Server server) = 0;
  // Runtime packet services (ipvsadm -A/-E/-D): a frontend and a backend named
  // "tcp:VIP:PORT" (control::RuntimeOverrides::serviceName).
  virtual Status addService(model::Protocol, const SockAddr&, const model::Balance&) {
    return Error{"Runtime services are not supported here."};
  }
  virtual Status setServiceBalance(const std::string&, const model::Balance&) {
    return Error{"Runtime services are not supported here."};
  }
  virtual Status delService(const std::string&) {
    return Error{"Runtime services are not supported here."};
  }
  // True for a service added with addService (not one of the configuration files).
  virtual bool isRuntimeService(const std::string&) const { return false; }
  virtual Status delServer(int pool, int server) = 0;
  // "enable|disable health": active checks of a server that has them configured.
  virtual Status setHealthChecks(int pool, int server, bool enabled) = 0;
  // "enable|disable agent".
  virtual Status setAgentChecks(int pool, int server, bool enabled) = 0;
  virtual void setGlobalMaxconn(uint32_t maxconn) = 0;
  // Closes the sessions established to a server.
  virtual void shutdownSessions(int pool, int server) = 0;
  // Re-reads the configuration files and applies them (SIGHUP does the same).
  virtual ReloadOutcome reload() = 0;
};

}  // namespace fulcrum::admin
