// Publication: everything the data planes read, made by the control plane and published in
// one atomic step (PublicationBox). It holds
//   - the model snapshot (config in force, server states and weights, counters, log sinks),
//   - the tables derived from it once for everyone (per pool: the Maglev table), and
//   - each data plane's plan (the proxy's listener sockets; later the packet path's maps),
// so a data plane never pairs pieces of different changes. Everything in it is immutable;
// objects that did not change are shared with the previous publication (same pointer),
// which is how a data plane sees cheaply what a change touched.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "model/snapshot.h"
#include "sched/maglev.h"

namespace fulcrum::control {

// What a pool's scheduling depends on, besides its per-thread state. Two equal inputs give
// the same tables and the same schedulers, so the builder reuses the previous tables (and
// the workers their schedulers) when they are equal.
struct PoolInputs {
  struct Server {
    std::string key;      // Maglev key: the address:port (see maglevKeys)
    uint32_t weight = 0;  // configured weight (static algorithms)
    uint32_t maxconn = 0;
    bool backup = false;
    model::ServerRuntime runtime;
    bool operator==(const Server&) const = default;
  };
  model::Balance balance;
  bool allBackups = false;
  bool packet = false;  // the pool of a packet service: it gets a Maglev table whatever its algo
  const model::PoolLoad* load = nullptr;  // identity: the counts the schedulers read
  std::vector<Server> servers;            // pool order

  bool operator==(const PoolInputs& o) const {
    return balance.algo == o.balance.algo && balance.hashType == o.balance.hashType &&
           balance.randomDraws == o.balance.randomDraws && allBackups == o.allBackups &&
           packet == o.packet && load == o.load && servers == o.servers;
  }
};

// The tables the control plane derives from one pool, computed once per change of the
// pool's inputs and shared by every data plane and worker thread.
struct PoolTables {
  PoolInputs inputs;
  // The pool's Maglev table (sched::needsMaglev: maglev, or source with hash-type
  // consistent; and every pool of a packet service, whose ring it is), holding pool
  // indices; null otherwise.
  std::shared_ptr<const sched::Maglev> maglev;
};

// A data plane's own view of a publication (the proxy's listeners, the packet path's map
// contents). Data planes downcast their own slot.
class DataPlanePlan {
 public:
  virtual ~DataPlanePlan() = default;
};

struct Publication {
  uint64_t generation = 0;
  std::shared_ptr<const model::Snapshot> snapshot;
  // Same indices as snapshot->config->pools.
  std::vector<std::shared_ptr<const PoolTables>> pools;
  // By data plane slot (the order of the daemon's data planes).
  std::vector<std::shared_ptr<const DataPlanePlan>> plans;

  const model::Config& config() const { return *snapshot->config; }
  template <typename Plan>
  const Plan* plan(size_t slot) const {
    return slot < plans.size() ? static_cast<const Plan*>(plans[slot].get()) : nullptr;
  }
};

// Holds the current publication: the control plane stores, data plane threads load (when
// told that a new one exists, never per packet or connection).
class PublicationBox {
 public:
  void publish(std::shared_ptr<const Publication> p) { current_.store(std::move(p)); }
  std::shared_ptr<const Publication> current() const { return current_.load(); }

 private:
  std::atomic<std::shared_ptr<const Publication>> current_;
};

}  // namespace fulcrum::control
