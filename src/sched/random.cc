#include "sched/random.h"

#include <algorithm>
#include <atomic>

#include "common/clock.h"

namespace fulcrum::sched {

Random::Random(const model::Pool& pool, const std::vector<model::ServerRuntime>& runtime,
               PoolLoad* load, const SchedulerOptions& opts)
    : set_(pool, runtime, opts.allBackups, WeightKind::kEffective, load),
      draws_(load != nullptr ? std::max<uint32_t>(1, pool.balance.randomDraws) : 1),
      state_(opts.seed) {
  if (state_ == 0) {
    // Distinct per instance and per run; not meant to be unpredictable.
    static std::atomic<uint64_t> instances{0};
    state_ = static_cast<uint64_t>(monotonicNow()) ^ (instances.fetch_add(1) << 48) ^
             reinterpret_cast<uintptr_t>(this);
  }
  prefix_.reserve(set_.size());
  uint64_t sum = 0;
  for (const auto& e : set_.entries()) {
    sum += e.weight;
    prefix_.push_back(sum);
  }
}

uint64_t Random::next() {
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

size_t Random::draw() {
  // The modulo bias is below total / 2^64: negligible.
  const uint64_t r = next() % prefix_.back();
  return static_cast<size_t>(std::upper_bound(prefix_.begin(), prefix_.end(), r) - prefix_.begin());
}

int Random::pick(const PickContext& ctx) {
  int s = choose(ctx.avoid);
  if (s < 0 && ctx.avoid >= 0) s = choose(-1);
  return s;
}

int Random::choose(int avoid) {
  const auto& entries = set_.entries();
  const size_t n = entries.size();
  if (n == 0) return -1;
  size_t best = n;
  size_t last = 0;
  for (uint32_t d = 0; d < draws_; ++d) {
    const size_t i = draw();
    last = i;
    const auto& e = entries[i];
    if (!set_.canTake(e, avoid)) continue;
    if (best == n) {
      best = i;
      continue;
    }
    // active / weight < best's active / weight, without division.
    const auto& b = entries[best];
    if (uint64_t{set_.active(e)} * b.weight < uint64_t{set_.active(b)} * e.weight) best = i;
  }
  if (best != n) return entries[best].index;
  // Every draw hit a server that cannot take the connection: the next one that can.
  return set_.scanFrom(last, avoid);
}

}  // namespace fulcrum::sched
