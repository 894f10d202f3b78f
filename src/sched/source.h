// source: the client's address (not its port) is hashed (addrHash, flow_hash.h) so that a
// client keeps reaching the same server.
//   hash-type map-based (HAProxy's default): hash modulo the total configured weight of
//     the candidates, through the weight map (static_rr.h). Static: any change in the
//     set of usable servers remaps most clients.
//   hash-type consistent: the pool's Maglev table (runtime weights); a server leaving or
//     joining moves little more than its own clients.
// Without a client address (e.g. a unix socket), round robin over the same map/table.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "sched/candidates.h"
#include "sched/maglev.h"
#include "sched/scheduler.h"
#include "sched/static_rr.h"

namespace fulcrum::sched {

class Source final : public Scheduler {
 public:
  Source(const model::Pool& pool, const std::vector<model::ServerRuntime>& runtime, PoolLoad* load,
         const SchedulerOptions& opts);
  int pick(const PickContext& ctx) override;

 private:
  int choose(const PickContext& ctx, int avoid);

  bool consistent_;
  CandidateSet set_;
  std::optional<WeightMap> map_;         // map-based
  std::shared_ptr<const Maglev> table_;  // consistent
  uint64_t counter_ = 0;                 // round robin without a client address
};

}  // namespace fulcrum::sched
