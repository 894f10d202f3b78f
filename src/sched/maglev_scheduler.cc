#include "sched/maglev_scheduler.h"

#include <algorithm>

namespace fulcrum::sched {

int takerFromTable(const Maglev& table, const CandidateSet& set, uint64_t hash, int avoid) {
  if (set.empty() || table.size() == 0) return -1;
  const uint32_t home = table.slotOf(hash);
  const uint32_t probes =
      static_cast<uint32_t>(std::min<uint64_t>(table.size(), 2 * set.size() + 8));
  uint32_t slot = home;
  for (uint32_t k = 0; k < probes; ++k) {
    const int32_t id = table.at(slot);
    if (set.canTakeIndex(id, avoid)) return id;
    if (++slot == table.size()) slot = 0;
  }
  int start = set.position(table.at(home));
  if (start < 0) start = static_cast<int>(hash % set.size());
  return set.scanFrom(static_cast<size_t>(start), avoid);
}

MaglevScheduler::MaglevScheduler(const model::Pool& pool,
                                 const std::vector<model::ServerRuntime>& runtime, PoolLoad* load,
                                 const SchedulerOptions& opts)
    : set_(pool, runtime, opts.allBackups, WeightKind::kEffective, load),
      table_(opts.maglev != nullptr
                 ? opts.maglev
                 : buildPoolMaglev(pool, runtime, opts.allBackups, opts.maglevTableSize)) {}

int MaglevScheduler::pick(const PickContext& ctx) {
  int s = takerFromTable(*table_, set_, ctx.flowHash, ctx.avoid);
  if (s < 0 && ctx.avoid >= 0) s = takerFromTable(*table_, set_, ctx.flowHash, -1);
  return s;
}

}  // namespace fulcrum::sched
