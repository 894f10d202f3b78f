// Builder: the control plane's one way to make and publish a publication
// (publication.h). Every change goes through it: start, file reloads, the runtime API's
// structural changes (addresses, maxconn, servers added and removed), health results
// (states and weights), shutdown-sessions and the graceful stop.
//
//   file config ─┐
//   overrides ───┴─► config in force (ids kept by name) ─► snapshot (counters, loads and
//                    log sinks kept by name) ─► each data plane's plan ─┐   prepare(): may
//                                                                        │   fail, changes
//   health states ─► runtime ─► tables per pool (reused when unchanged) ─┤   nothing
//                                                                        ▼
//                                        publication ─► box ─► data planes ─► acknowledged
//
// A change that only moves server states or weights (health, `set weight`, `set server
// state`) reuses the config, counters, log sinks and plans and re-derives only the tables
// of the pools whose inputs changed; the workers rebuild only those pools' schedulers.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "control/data_plane.h"
#include "control/overrides.h"
#include "control/publication.h"
#include "model/snapshot.h"

namespace fulcrum::control {

// Process-wide real indices (the second id space; see docs/architecture.md): one per server, kept
// while the server exists (matched by backend and server name across reloads and runtime changes),
// for the data planes' arrays and BPF maps. A new server takes an index never used before while
// there are fewer than `capacity`, then the one freed longest ago, so an index is reused as late as
// possible.
// A real index an earlier process used (the packet data plane's adopted maps): a server
// of the first config at that address (and port, when given) takes it again, so the
// adopted connection table's flows keep their servers.
struct RealSeed {
  uint32_t index = 0;
  std::array<uint8_t, 16> addr{};  // IPv6, or IPv4-mapped
  uint16_t port = 0;               // 0: any port
};

class RealIndex {
 public:
  explicit RealIndex(uint32_t capacity = 1u << 20) : capacity_(capacity) {}
  // Before the first assign(): indices to give back to the servers at those addresses.
  void seed(std::vector<RealSeed> seeds) { seeds_ = std::move(seeds); }
  // Sets Server::real for every server of `next`; `current` is the config in force (null
  // at start).
  void assign(model::Config& next, const model::Config* current);

 private:
  uint32_t take();
  uint32_t capacity_;
  uint32_t nextNew_ = 0;
  std::deque<uint32_t> freed_;
  std::vector<RealSeed> seeds_;
  std::set<uint32_t> reserved_;  // seeded indices nobody took at start: never handed out
};

// HAProxy's per-backend server ids kept across changes: a server whose id the files do not
// set (`id N`) keeps, by backend and server name, the id it had in `current`, unless an
// explicit id now takes it; a server new to the backend takes the smallest free id. So
// "show stat" sids and "show servers state" never renumber a server that stays.
void keepServerIds(model::Config& next, const model::Config* current);

// Opens or keeps the connection-log sinks of every service of `next`: a service whose
// log targets equal those of the service of the same name in `prev` keeps its open sinks.
Status attachLogs(model::Snapshot& next, const model::Snapshot* prev);

// The inputs of a pool's tables (publication.h).
PoolInputs poolInputs(const model::Pool& pool, const std::vector<model::ServerRuntime>& runtime,
                      const model::PoolLoad* load);
// Tables of every pool of `snap`; a pool whose inputs equal those of the pool of the same
// name in `prev` keeps its tables (the same object).
std::vector<std::shared_ptr<const PoolTables>> deriveTables(const model::Snapshot& snap,
                                                            const Publication* prev);

class Builder {
 public:
  // A change being made: everything that could fail is done; commit() publishes it.
  struct Change {
    std::shared_ptr<model::Snapshot> snapshot;  // runtime to be set by the caller
    std::vector<std::shared_ptr<const DataPlanePlan>> plans;
    std::shared_ptr<const model::Config> file;
    RuntimeOverrides overrides;
    RealIndex reals;
  };

  Builder(PublicationBox& box, std::vector<DataPlane*> planes);

  // A change to `file` (the files' config; the current one for a runtime change) with
  // `overrides`: the config in force, the snapshot (counters, loads and logs kept by
  // name; every server UP, or MAINT when disabled, until the caller sets the runtime) and
  // the data planes' plans. Nothing in force changes; on failure nothing was kept.
  Result<Change> prepare(std::shared_ptr<const model::Config> file, RuntimeOverrides overrides);
  // Publishes a prepared change (its snapshot's runtime set). Returns the generation.
  uint64_t commit(Change change);
  // Same config, counters and plans, new server states and weights; `shutdown`: some
  // servers' shutdown epochs were bumped (the snapshot's shutdownSeq moves).
  uint64_t publishRuntime(std::vector<std::vector<model::ServerRuntime>> runtime, bool shutdown);
  // The process is stopping: plans that take nothing new.
  uint64_t drain();
  // Waits until every data plane runs `generation` (bounded); false at the deadline.
  bool await(uint64_t generation, Micros timeout);

  // Before the first prepare(): real indices of an earlier process to give back (RealIndex).
  void seedReals(std::vector<RealSeed> seeds) { reals_.seed(std::move(seeds)); }

  std::shared_ptr<const Publication> current() const { return current_; }
  const model::Config& config() const { return *current_->snapshot->config; }
  const model::Config& fileConfig() const { return *file_; }
  std::shared_ptr<const model::Config> filePtr() const { return file_; }
  const RuntimeOverrides& overrides() const { return overrides_; }
  uint64_t generation() const { return generation_; }

 private:
  uint64_t publish(std::shared_ptr<const model::Snapshot> snap,
                   std::vector<std::shared_ptr<const DataPlanePlan>> plans);

  PublicationBox& box_;
  std::vector<DataPlane*> planes_;
  std::shared_ptr<const Publication> current_;
  std::shared_ptr<const model::Config> file_;
  RuntimeOverrides overrides_;
  RealIndex reals_;
  uint64_t generation_ = 0;
};

}  // namespace fulcrum::control
