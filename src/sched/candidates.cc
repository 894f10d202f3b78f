#include "sched/candidates.h"

#include <algorithm>

namespace fulcrum::sched {

uint32_t weightOf(const model::Server& server, const model::ServerRuntime& rt, WeightKind kind) {
  if (rt.state != model::ServerState::kUp || rt.effectiveWeight == 0) return 0;
  return kind == WeightKind::kEffective ? rt.effectiveWeight : server.weight;
}

std::vector<int32_t> selectServers(const model::Pool& pool,
                                   const std::vector<model::ServerRuntime>& runtime,
                                   bool allBackups, WeightKind kind) {
  const size_t n = std::min(pool.servers.size(), runtime.size());
  std::vector<int32_t> active;
  std::vector<int32_t> backups;
  for (size_t i = 0; i < n; ++i) {
    if (weightOf(pool.servers[i], runtime[i], kind) == 0) continue;
    (pool.servers[i].backup ? backups : active).push_back(static_cast<int32_t>(i));
  }
  if (!active.empty()) return active;
  if (allBackups || backups.empty()) return backups;
  return {backups.front()};
}

CandidateSet::CandidateSet(const model::Pool& pool,
                           const std::vector<model::ServerRuntime>& runtime, bool allBackups,
                           WeightKind kind, PoolLoad* load)
    : positionOf_(pool.servers.size(), -1), load_(load) {
  std::vector<int32_t> chosen = selectServers(pool, runtime, allBackups, kind);
  entries_.reserve(chosen.size());
  for (int32_t idx : chosen) {
    const auto i = static_cast<size_t>(idx);
    const model::Server& s = pool.servers[i];
    const uint32_t w = weightOf(s, runtime[i], kind);
    positionOf_[i] = static_cast<int>(entries_.size());
    entries_.push_back({idx, w, s.maxconn});
    totalWeight_ += w;
    if (s.backup) usingBackups_ = true;
  }
}

int CandidateSet::scanFrom(size_t start, int avoid) const {
  const size_t n = entries_.size();
  for (size_t k = 0; k < n; ++k) {
    const Entry& e = entries_[(start + k) % n];
    if (canTake(e, avoid)) return e.index;
  }
  return -1;
}

}  // namespace fulcrum::sched
