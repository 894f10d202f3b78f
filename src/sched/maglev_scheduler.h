// maglev (Fulcrum's own algorithm): the pool's Maglev table (maglev.h) looked up with the
// flow hash of the 5-tuple (ctx.flowHash, flow_hash.h), so the proxy, the XDP data plane
// and every node of a fleet send a given flow to the same server. Runtime (effective)
// weights. When the table's server cannot take the connection (avoid, maxconn), the
// following slots are tried in order, so the fallback is deterministic too.
#pragma once

#include <memory>
#include <vector>

#include "sched/candidates.h"
#include "sched/maglev.h"
#include "sched/scheduler.h"

namespace fulcrum::sched {

// The server of `hash` in a pool's Maglev table or, when it cannot take the connection,
// of the next slots (a bounded number), then any candidate that can. -1 when none can.
int takerFromTable(const Maglev& table, const CandidateSet& set, uint64_t hash, int avoid);

class MaglevScheduler final : public Scheduler {
 public:
  MaglevScheduler(const model::Pool& pool, const std::vector<model::ServerRuntime>& runtime,
                  PoolLoad* load, const SchedulerOptions& opts);
  int pick(const PickContext& ctx) override;

 private:
  CandidateSet set_;
  std::shared_ptr<const Maglev> table_;
};

}  // namespace fulcrum::sched
