#include "sched/source.h"

#include "sched/flow_hash.h"
#include "sched/maglev_scheduler.h"

namespace fulcrum::sched {

Source::Source(const model::Pool& pool, const std::vector<model::ServerRuntime>& runtime,
               PoolLoad* load, const SchedulerOptions& opts)
    : consistent_(pool.balance.hashType == model::HashType::kConsistent),
      set_(pool, runtime, opts.allBackups,
           consistent_ ? WeightKind::kEffective : WeightKind::kConfigured, load) {
  if (consistent_) {
    table_ = opts.maglev != nullptr
                 ? opts.maglev
                 : buildPoolMaglev(pool, runtime, opts.allBackups, opts.maglevTableSize);
  } else {
    map_.emplace(set_);
  }
}

int Source::pick(const PickContext& ctx) {
  int s = choose(ctx, ctx.avoid);
  if (s < 0 && ctx.avoid >= 0) s = choose(ctx, -1);
  return s;
}

int Source::choose(const PickContext& ctx, int avoid) {
  const bool haveClient = ctx.client != nullptr && ctx.client->valid();
  if (consistent_) {
    // Without a client, consecutive multiples of an odd constant walk the prime-sized
    // table in a scattered order.
    const uint64_t h = haveClient ? addrHash(*ctx.client) : counter_++ * 2654435761u;
    return takerFromTable(*table_, set_, h, avoid);
  }
  const uint64_t h = haveClient ? addrHash(*ctx.client) : counter_++;
  return map_->takerFrom(set_, static_cast<size_t>(h % (map_->size() ? map_->size() : 1)), avoid);
}

}  // namespace fulcrum::sched
