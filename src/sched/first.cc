#include "sched/first.h"

namespace fulcrum::sched {

First::First(const model::Pool& pool, const std::vector<model::ServerRuntime>& runtime,
             PoolLoad* load, const SchedulerOptions& opts)
    : set_(pool, runtime, opts.allBackups, WeightKind::kEffective, load) {}

int First::pick(const PickContext& ctx) {
  int s = set_.scanFrom(0, ctx.avoid);
  if (s < 0 && ctx.avoid >= 0) s = set_.scanFrom(0, -1);
  return s;
}

}  // namespace fulcrum::sched
