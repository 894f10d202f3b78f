// first: the first candidate that is below its maxconn takes the connection, so the fewest
// servers are in use and the others can be powered down. As in HAProxy, servers are tried
// from the lowest server id (`id`, which defaults to the position in the backend) to the
// highest. Weights are ignored, except that weight 0 means unusable. It only makes sense
// with maxconn and a PoolLoad; without a PoolLoad the first candidate always wins.
#pragma once

#include <cstdint>
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
  int scan(int avoid) const;

  CandidateSet set_;
  std::vector<int32_t> order_;  // candidates' pool indices, by server id
};

}  // namespace fulcrum::sched
