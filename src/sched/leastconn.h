// leastconn: the candidate with the fewest active connections per unit of weight wins,
// i.e. the smallest (active + 1) / weight, as in HAProxy. Among equals, round robin: the
// scan starts after the last server picked. Needs the pool's PoolLoad (makeScheduler
// falls back to roundrobin without one). O(servers) per pick.
#pragma once

#include <vector>

#include "sched/candidates.h"
#include "sched/scheduler.h"

namespace fulcrum::sched {

class LeastConn final : public Scheduler {
 public:
  LeastConn(const model::Pool& pool, const std::vector<model::ServerRuntime>& runtime,
            PoolLoad* load, const SchedulerOptions& opts);
  int pick(const PickContext& ctx) override;

 private:
  int choose(int avoid);

  CandidateSet set_;
  size_t cursor_ = 0;  // position in set_ where the next scan starts
};

}  // namespace fulcrum::sched
