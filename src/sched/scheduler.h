// Scheduler: picks a server of a pool for a new connection or flow. One instance per
// worker thread and pool, rebuilt when a new snapshot arrives, so pick() needs no lock;
// pick() never allocates.
//
// Algorithms (HAProxy's `balance` semantics unless noted):
//   roundrobin  smooth weighted round robin, runtime weights      roundrobin.h
//   static-rr   weighted round robin over a fixed map, configured weights   static_rr.h
//   leastconn   fewest active connections per unit of weight, round robin among
//               equals                                            leastconn.h
//   first       the first server in pool order below its maxconn  first.h
//   source      hash of the client address: map-based (modulo the total weight) or
//               consistent (Maglev table)                         source.h
//   random(N)   N weighted random draws, the least loaded wins    random.h
//   maglev      Fulcrum's own: Maglev table lookup by the 5-tuple flow hash, the same
//               table as the XDP data plane                       maglev_scheduler.h
//
// Common rules, all algorithms:
//   - Backups (candidates.h): only when no active server is usable; the first usable
//     backup, or all of them with allBackups.
//   - maxconn: with a PoolLoad, a server at its maxconn is skipped. Hash-based algorithms
//     (source, maglev) then move to the next slot of their map/table, deterministically.
//   - avoid: the server is skipped unless it is the only one that can take the connection.
//   - -1: no candidate at all, or every candidate is at its maxconn.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/net.h"
#include "model/snapshot.h"
#include "sched/load.h"
#include "sched/maglev.h"

namespace fulcrum::sched {

struct PickContext {
  const SockAddr* client = nullptr;  // the client's address, for source hashing
  uint64_t flowHash = 0;             // flowHash() of the 5-tuple (flow_hash.h), for maglev
  int avoid = -1;                    // a server that just failed, to skip on a retry
};

class Scheduler {
 public:
  virtual ~Scheduler() = default;
  // Index of the chosen server in the pool, or -1 when no server can take traffic.
  virtual int pick(const PickContext& ctx) = 0;
};

// True when the server may take a new connection.
inline bool usable(const model::ServerRuntime& rt) {
  return rt.state == model::ServerState::kUp && rt.effectiveWeight > 0;
}

struct SchedulerOptions {
  // HAProxy's `option allbackups`: balance over all usable backups rather than only the
  // first one when no active server is usable.
  bool allBackups = false;
  // Seed of random's generator; give each worker its own. 0: derived from the clock and
  // the instance.
  uint64_t seed = 0;
  // Maglev table size for maglev and `source` with consistent hashing; rounded up to a
  // prime.
  uint32_t maglevTableSize = Maglev::kDefaultTableSize;
  // The pool's table, built once by the control plane with buildPoolMaglev() from the
  // same pool, runtime and allBackups and shared by all workers (control/publication.h).
  // When null (unit tests), a scheduler that needs one builds its own.
  std::shared_ptr<const Maglev> maglev;
};

// `load` is the pool's shared PoolLoad (load.h). leastconn, first and random(N) use it to
// see loads; every algorithm uses it to skip servers at maxconn. It may be null (tests,
// or no maxconn anywhere): leastconn then falls back to roundrobin, first takes the first
// candidate, random draws once.
std::unique_ptr<Scheduler> makeScheduler(const model::Pool& pool,
                                         const std::vector<model::ServerRuntime>& runtime,
                                         PoolLoad* load = nullptr,
                                         const SchedulerOptions& opts = {});

// True when the pool's algorithm looks up a Maglev table (maglev, or source with
// hash-type consistent): the control plane should then build it once per snapshot with
// buildPoolMaglev and pass it in SchedulerOptions::maglev, rather than let every worker
// build its own (about 2 ms and 256 KiB at the default size).
bool needsMaglev(const model::Pool& pool);

// The Maglev keys of a pool's servers (pool order): a server's address:port ("10.0.0.1:80",
// "[2001:db8::1]:80"), which neither the server's name nor its ids nor its position in the
// pool can change, so two nodes with the same servers build the same table whatever the
// order, names or add/del history of their configurations. A second server with the same
// address:port in a pool gets "#" and its name appended, so keys stay unique.
std::vector<std::string> maglevKeys(const model::Pool& pool);

// The Maglev table of a pool for its current runtime: the candidate servers (backup rule
// above) keyed by maglevKeys(), weighted by effective weight, holding pool indices (the
// table maps keys to local indices). tableSize is rounded up to a prime. Used by the
// maglev and consistent source schedulers and, translated to real indices, by the packet
// data plane.
std::shared_ptr<const Maglev> buildPoolMaglev(const model::Pool& pool,
                                              const std::vector<model::ServerRuntime>& runtime,
                                              bool allBackups,
                                              uint32_t tableSize = Maglev::kDefaultTableSize);

}  // namespace fulcrum::sched
