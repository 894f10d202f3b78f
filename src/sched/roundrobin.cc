#include "sched/roundrobin.h"

namespace fulcrum::sched {

RoundRobin::RoundRobin(const model::Pool& pool, const std::vector<model::ServerRuntime>& runtime,
                       PoolLoad* load, const SchedulerOptions& opts)
    : set_(pool, runtime, opts.allBackups, WeightKind::kEffective, load), score_(set_.size(), 0) {}

int RoundRobin::pick(const PickContext& ctx) {
  int s = choose(ctx.avoid);
  // The avoided server is the only one left: try it again.
  if (s < 0 && ctx.avoid >= 0) s = choose(-1);
  return s;
}

int RoundRobin::choose(int avoid) {
  const auto& entries = set_.entries();
  int64_t total = 0;
  size_t best = entries.size();
  for (size_t i = 0; i < entries.size(); ++i) {
    if (!set_.canTake(entries[i], avoid)) continue;
    score_[i] += entries[i].weight;
    total += entries[i].weight;
    if (best == entries.size() || score_[i] > score_[best]) best = i;
  }
  if (best == entries.size()) return -1;
  score_[best] -= total;
  return entries[best].index;
}

}  // namespace fulcrum::sched
