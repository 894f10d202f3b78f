// Snapshot: the immutable view of the model that data-plane threads read: the config in
// force, server states and weights, counters. The control plane builds a new Snapshot when
// the config or a server's state changes and publishes it in a control::Publication
// (with the tables derived from it and the data planes' plans); workers pick it up
// between events, never per packet or connection.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "model/load.h"
#include "model/log_sink.h"
#include "model/model.h"
#include "model/stats.h"

namespace fulcrum::model {

enum class ServerState : uint8_t {
  kUp,     // takes new connections
  kDown,   // failed its health checks
  kDrain,  // keeps existing connections, takes no new ones
  kMaint,  // administratively out of service
};

struct ServerRuntime {
  ServerState state = ServerState::kUp;
  uint32_t effectiveWeight = 1;  // weight after slow start and runtime changes

  bool operator==(const ServerRuntime&) const = default;
};

const char* toString(ServerState s);

// The data path's line to the health checker: a worker calls passiveAlert() (from any
// thread) when a server's consecutive connection errors reach its error-limit. The
// control plane provides it (a wake-up of its event loop); it may be absent (tests).
class HealthSignal {
 public:
  virtual ~HealthSignal() = default;
  virtual void passiveAlert() = 0;
};

struct Snapshot {
  std::shared_ptr<const Config> config;
  // runtime[pool][server], same indices as config->pools[pool].servers[server].
  std::vector<std::vector<ServerRuntime>> runtime;
  // Counters, same indices as the config; shared with older and newer snapshots for the
  // objects that keep their name across a reload.
  std::vector<std::shared_ptr<ServiceStats>> serviceStats;
  std::vector<std::vector<std::shared_ptr<ServerStats>>> serverStats;
  std::vector<std::shared_ptr<PoolStats>> poolStats;
  // Active connections per server of each pool, shared by every worker (schedulers read
  // them, sessions count themselves in and out).
  std::vector<std::shared_ptr<PoolLoad>> loads;
  // Connection log sinks of each service (empty: no log lines).
  std::vector<std::vector<std::shared_ptr<LogSink>>> serviceLogs;
  // Health: passive observation reports here (may be null).
  std::shared_ptr<HealthSignal> healthSignal;
  // Health: incremented when this snapshot asks workers to close the sessions of some
  // servers (ServerStats::shutdownEpoch tells which); workers look only when it changes.
  uint64_t shutdownSeq = 0;

  // A snapshot with every server UP (or MAINT when `disabled`) at its configured weight,
  // and fresh counters.
  static std::shared_ptr<Snapshot> initial(std::shared_ptr<const Config> config);
  // A snapshot of a new config (a reload, a runtime change) that keeps, for every service,
  // pool and server whose name persists, `prev`'s counters and connection counts (a pool
  // whose server names and order are unchanged keeps its very PoolLoad); the health signal
  // and shutdown sequence carry over too. Log sinks are left empty and the runtime is
  // initial(): the caller fills both (control/builder.h).
  static std::shared_ptr<Snapshot> successor(std::shared_ptr<const Config> config,
                                             const Snapshot& prev);
};

// Passive health checking (observe layer4), called by a data plane once per connection
// attempt to a server: a failure counts towards the server's error-limit (the health
// signal fires when it is reached), a success resets the count. Lock-free; a success on a
// server with no errors only reads.
void observeConnect(const Snapshot& snap, int pool, int server, bool ok);

}  // namespace fulcrum::model
