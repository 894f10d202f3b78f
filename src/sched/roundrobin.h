// Smooth weighted round robin: every pick adds each candidate's weight to its running
// score and takes the highest, which then pays the total weight back. Servers are
// interleaved in proportion to their weights (5,1,1 gives a a b a c a a, not
// a a a a a b c). Runtime (effective) weights are used, so slow start and `set weight`
// take effect with the next snapshot.
#pragma once

#include <vector>

#include "sched/candidates.h"
#include "sched/scheduler.h"

namespace fulcrum::sched {

class RoundRobin final : public Scheduler {
 public:
  RoundRobin(const model::Pool& pool, const std::vector<model::ServerRuntime>& runtime,
             PoolLoad* load = nullptr, const SchedulerOptions& opts = {});
  int pick(const PickContext& ctx) override;

 private:
  int choose(int avoid);

  CandidateSet set_;
  std::vector<int64_t> score_;  // by position in set_
};

}  // namespace fulcrum::sched
