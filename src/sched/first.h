// first: the first candidate in pool order that is below its maxconn takes the
// connection, so the fewest servers are in use and the others can be powered down
// (HAProxy orders by server id, which defaults to the position in the pool; Fulcrum has
// no server id yet). Weights are ignored, except that weight 0 means unusable. It only
// makes sense with maxconn and a PoolLoad; without a PoolLoad the first candidate
// always wins.
#pragma once

#include <vector>

#include "sched/candidates.h"
#include "sched/scheduler.h"

namespace fulcrum::sched {

class First final : public Scheduler {
 public:
  First(const model::Pool& pool, const std::vector<model::ServerRuntime>& runtime, PoolLoad* load,
        const SchedulerOptions& opts);
  int pick(const PickContext& ctx) override;

 private:
  CandidateSet set_;
};

}  // namespace fulcrum::sched
