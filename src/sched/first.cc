#include "sched/first.h"

#include <algorithm>

namespace fulcrum::sched {

First::First(const model::Pool& pool, const std::vector<model::ServerRuntime>& runtime,
             PoolLoad* load, const SchedulerOptions& opts)
    : set_(pool, runtime, opts.allBackups, WeightKind::kEffective, load) {
  for (const CandidateSet::Entry& e : set_.entries()) order_.push_back(e.index);
  std::stable_sort(order_.begin(), order_.end(), [&](int32_t a, int32_t b) {
    return pool.servers[static_cast<size_t>(a)].id < pool.servers[static_cast<size_t>(b)].id;
  });
}

int First::scan(int avoid) const {
  for (int32_t index : order_)
    if (set_.canTakeIndex(index, avoid)) return index;
  return -1;
}

int First::pick(const PickContext& ctx) {
  int s = scan(ctx.avoid);
  if (s < 0 && ctx.avoid >= 0) s = scan(-1);
  return s;
}

}  // namespace fulcrum::sched
