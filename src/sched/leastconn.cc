#include "sched/leastconn.h"

namespace fulcrum::sched {

LeastConn::LeastConn(const model::Pool& pool, const std::vector<model::ServerRuntime>& runtime,
                     PoolLoad* load, const SchedulerOptions& opts)
    : set_(pool, runtime, opts.allBackups, WeightKind::kEffective, load) {}

int LeastConn::pick(const PickContext& ctx) {
  int s = choose(ctx.avoid);
  if (s < 0 && ctx.avoid >= 0) s = choose(-1);
  return s;
}

int LeastConn::choose(int avoid) {
  const auto& entries = set_.entries();
  const size_t n = entries.size();
  size_t best = n;
  uint64_t bestLoad = 0;    // active + 1 of the best so far
  uint64_t bestWeight = 1;  // its weight
  for (size_t k = 0; k < n; ++k) {
    const size_t i = (cursor_ + k) % n;
    const auto& e = entries[i];
    if (!set_.canTake(e, avoid)) continue;
    const uint64_t load = uint64_t{set_.active(e)} + 1;
    // load / weight < bestLoad / bestWeight, without division.
    if (best == n || load * bestWeight < bestLoad * e.weight) {
      best = i;
      bestLoad = load;
      bestWeight = e.weight;
    }
  }
  if (best == n) return -1;
  cursor_ = (best + 1) % n;
  return entries[best].index;
}

}  // namespace fulcrum::sched
