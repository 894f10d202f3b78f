#include "sched/static_rr.h"

#include <algorithm>
#include <numeric>

namespace fulcrum::sched {

WeightMap::WeightMap(const CandidateSet& set) {
  const auto& entries = set.entries();
  uint32_t g = 0;
  for (const auto& e : entries) g = std::gcd(g, e.weight);
  if (g == 0) return;

  struct Turn {
    uint32_t k;      // which of the server's turns
    uint32_t w;      // the server's reduced weight
    uint32_t order;  // position in the candidate set, to break ties
  };
  std::vector<Turn> turns;
  turns.reserve(set.totalWeight() / g);
  for (uint32_t i = 0; i < entries.size(); ++i) {
    const uint32_t w = entries[i].weight / g;
    for (uint32_t k = 0; k < w; ++k) turns.push_back({k, w, i});
  }
  // Order by (2k + 1) / 2w, compared without division.
  std::sort(turns.begin(), turns.end(), [](const Turn& a, const Turn& b) {
    const uint64_t lhs = (2 * uint64_t{a.k} + 1) * b.w;
    const uint64_t rhs = (2 * uint64_t{b.k} + 1) * a.w;
    return lhs != rhs ? lhs < rhs : a.order < b.order;
  });
  map_.reserve(turns.size());
  for (const Turn& t : turns) map_.push_back(entries[t.order].index);
}

int WeightMap::takerFrom(const CandidateSet& set, size_t pos, int avoid, size_t* next) const {
  const size_t n = map_.size();
  if (n == 0) return -1;
  pos %= n;
  const size_t probes = std::min(n, 2 * set.size() + 8);
  for (size_t k = 0; k < probes; ++k) {
    const size_t p = (pos + k) % n;
    if (set.canTakeIndex(map_[p], avoid)) {
      if (next != nullptr) *next = (p + 1) % n;
      return map_[p];
    }
  }
  const int s = set.scanFrom(static_cast<size_t>(set.position(map_[pos])), avoid);
  if (s >= 0 && next != nullptr) *next = (pos + 1) % n;
  return s;
}

StaticRr::StaticRr(const model::Pool& pool, const std::vector<model::ServerRuntime>& runtime,
                   PoolLoad* load, const SchedulerOptions& opts)
    : set_(pool, runtime, opts.allBackups, WeightKind::kConfigured, load), map_(set_) {}

int StaticRr::pick(const PickContext& ctx) {
  int s = map_.takerFrom(set_, cursor_, ctx.avoid, &cursor_);
  if (s < 0 && ctx.avoid >= 0) s = map_.takerFrom(set_, cursor_, -1, &cursor_);
  return s;
}

}  // namespace fulcrum::sched
