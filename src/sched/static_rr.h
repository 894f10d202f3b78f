// static-rr and the weight map it shares with map-based `source` hashing.
//
// WeightMap lists each candidate `weight` times (weights divided by their gcd first),
// interleaved: the k-th of a server's w turns sits at time (k + 1/2) / w and the map is
// the turns in time order, so weights 3,1 give a a b a (not a a a b). Building it costs
// O(L log L) for L = total reduced weight; a lookup is O(1).
//
// StaticRr walks the map with a cursor: O(1) per pick, configured weights, and (as in
// HAProxy) no effect of runtime weight changes other than to and from zero.
#pragma once

#include <cstdint>
#include <vector>

#include "sched/candidates.h"
#include "sched/scheduler.h"

namespace fulcrum::sched {

class WeightMap {
 public:
  explicit WeightMap(const CandidateSet& set);

  size_t size() const { return map_.size(); }
  int32_t at(size_t pos) const { return map_[pos]; }  // pool index

  // Pool index of the first server from map position `pos` on that can take a
  // connection; *next (when given) receives the map position after it. Probes a bounded
  // number of map entries, then scans the candidates, so the worst case is O(servers).
  // -1 when no candidate can take one.
  int takerFrom(const CandidateSet& set, size_t pos, int avoid, size_t* next = nullptr) const;

 private:
  std::vector<int32_t> map_;
};

class StaticRr final : public Scheduler {
 public:
  StaticRr(const model::Pool& pool, const std::vector<model::ServerRuntime>& runtime,
           PoolLoad* load, const SchedulerOptions& opts);
  int pick(const PickContext& ctx) override;

 private:
  CandidateSet set_;
  WeightMap map_;
  size_t cursor_ = 0;
};

}  // namespace fulcrum::sched
