// CandidateSet: the servers a scheduler chooses among, fixed for the snapshot it was
// built from, and the test of whether one of them can take a connection right now.
//
// HAProxy's rule for backups: backup servers take traffic only when no active
// (non-backup) server is usable; then only the first usable backup in pool order, or all
// usable backups with `option allbackups` (balanced by the pool's algorithm, weights
// respected). A server is usable when it is UP with a non-zero weight.
//
// Static algorithms (static-rr, source with map-based hashing) use each server's
// configured weight and ignore runtime weight changes other than to and from zero, as in
// HAProxy; dynamic ones use the runtime effective weight.
#pragma once

#include <cstdint>
#include <vector>

#include "model/snapshot.h"
#include "sched/load.h"

namespace fulcrum::sched {

enum class WeightKind : uint8_t { kEffective, kConfigured };

// The weight a server counts with; 0 when it cannot take new connections.
uint32_t weightOf(const model::Server& server, const model::ServerRuntime& rt, WeightKind kind);

// Indices (pool order) of the servers that take traffic under the backup rule above.
std::vector<int32_t> selectServers(const model::Pool& pool,
                                   const std::vector<model::ServerRuntime>& runtime,
                                   bool allBackups, WeightKind kind = WeightKind::kEffective);

class CandidateSet {
 public:
  struct Entry {
    int32_t index;     // in the pool
    uint32_t weight;   // > 0
    uint32_t maxconn;  // 0: no limit
  };

  CandidateSet(const model::Pool& pool, const std::vector<model::ServerRuntime>& runtime,
               bool allBackups, WeightKind kind, PoolLoad* load);

  const std::vector<Entry>& entries() const { return entries_; }
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  bool usingBackups() const { return usingBackups_; }
  PoolLoad* load() const { return load_; }
  uint64_t totalWeight() const { return totalWeight_; }

  // Position in entries() of a pool index, or -1 when that server is not a candidate.
  int position(int32_t index) const {
    return index >= 0 && static_cast<size_t>(index) < positionOf_.size()
               ? positionOf_[static_cast<size_t>(index)]
               : -1;
  }

  uint32_t active(const Entry& e) const {
    return load_ != nullptr ? load_->active(static_cast<size_t>(e.index)) : 0;
  }
  // At its maxconn (known only with a PoolLoad).
  bool full(const Entry& e) const { return e.maxconn != 0 && active(e) >= e.maxconn; }
  bool canTake(const Entry& e, int avoid) const { return e.index != avoid && !full(e); }
  // Same, by pool index; false for a server that is not a candidate.
  bool canTakeIndex(int32_t index, int avoid) const {
    int pos = position(index);
    return pos >= 0 && canTake(entries_[static_cast<size_t>(pos)], avoid);
  }

  // Pool index of the first candidate that can take a connection, scanning entries()
  // circularly from position `start`; -1 when none can.
  int scanFrom(size_t start, int avoid) const;

 private:
  std::vector<Entry> entries_;
  std::vector<int> positionOf_;  // by pool index
  PoolLoad* load_;
  uint64_t totalWeight_ = 0;
  bool usingBackups_ = false;
};

}  // namespace fulcrum::sched
