// random and random(N): N independent draws, each choosing a candidate with probability
// proportional to its runtime weight; of the drawn servers the least loaded (fewest
// active connections per unit of weight, per the PoolLoad) wins, ties to the earlier
// draw. N = 2 is "the power of two random choices" (HAProxy's default); N = 1, or no
// PoolLoad, is plain weighted random. O(N log servers) per pick.
//
// The generator is splitmix64, per scheduler (so per worker): seed each worker
// differently (SchedulerOptions::seed).
#pragma once

#include <cstdint>
#include <vector>

#include "sched/candidates.h"
#include "sched/scheduler.h"

namespace fulcrum::sched {

class Random final : public Scheduler {
 public:
  Random(const model::Pool& pool, const std::vector<model::ServerRuntime>& runtime, PoolLoad* load,
         const SchedulerOptions& opts);
  int pick(const PickContext& ctx) override;

 private:
  int choose(int avoid);
  uint64_t next();
  size_t draw();  // a position in set_, by weight

  CandidateSet set_;
  std::vector<uint64_t> prefix_;  // prefix_[i]: total weight of positions 0..i
  uint32_t draws_;
  uint64_t state_;
};

}  // namespace fulcrum::sched
