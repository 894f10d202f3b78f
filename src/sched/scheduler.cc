#include "sched/scheduler.h"

#include <algorithm>

#include "sched/candidates.h"
#include "sched/first.h"
#include "sched/leastconn.h"
#include "sched/maglev_scheduler.h"
#include "sched/random.h"
#include "sched/roundrobin.h"
#include "sched/source.h"
#include "sched/static_rr.h"

namespace fulcrum::sched {

std::unique_ptr<Scheduler> makeScheduler(const model::Pool& pool,
                                         const std::vector<model::ServerRuntime>& runtime,
                                         PoolLoad* load, const SchedulerOptions& opts) {
  switch (pool.balance.algo) {
    case model::BalanceAlgo::kRoundRobin:
      return std::make_unique<RoundRobin>(pool, runtime, load, opts);
    case model::BalanceAlgo::kStaticRr:
      return std::make_unique<StaticRr>(pool, runtime, load, opts);
    case model::BalanceAlgo::kLeastConn:
      // Without loads, least connections cannot be known: spread evenly instead.
      if (load == nullptr) return std::make_unique<RoundRobin>(pool, runtime, load, opts);
      return std::make_unique<LeastConn>(pool, runtime, load, opts);
    case model::BalanceAlgo::kFirst: return std::make_unique<First>(pool, runtime, load, opts);
    case model::BalanceAlgo::kSource: return std::make_unique<Source>(pool, runtime, load, opts);
    case model::BalanceAlgo::kRandom: return std::make_unique<Random>(pool, runtime, load, opts);
    case model::BalanceAlgo::kMaglev:
      return std::make_unique<MaglevScheduler>(pool, runtime, load, opts);
  }
  return std::make_unique<RoundRobin>(pool, runtime, load, opts);
}

bool needsMaglev(const model::Pool& pool) {
  return pool.balance.algo == model::BalanceAlgo::kMaglev ||
         (pool.balance.algo == model::BalanceAlgo::kSource &&
          pool.balance.hashType == model::HashType::kConsistent);
}

std::vector<std::string> maglevKeys(const model::Pool& pool) {
  std::vector<std::string> keys;
  keys.reserve(pool.servers.size());
  for (const model::Server& s : pool.servers) {
    std::string key = s.addr.toString();
    if (std::find(keys.begin(), keys.end(), key) != keys.end()) key += "#" + s.name;
    keys.push_back(std::move(key));
  }
  return keys;
}

std::shared_ptr<const Maglev> buildPoolMaglev(const model::Pool& pool,
                                              const std::vector<model::ServerRuntime>& runtime,
                                              bool allBackups, uint32_t tableSize) {
  const std::vector<std::string> keys = maglevKeys(pool);
  std::vector<MaglevBackend> backends;
  for (int32_t idx : selectServers(pool, runtime, allBackups, WeightKind::kEffective)) {
    const auto i = static_cast<size_t>(idx);
    backends.push_back({keys[i], runtime[i].effectiveWeight, idx});
  }
  // Indices are never negative and the size is made a prime in range: build cannot fail.
  Result<Maglev> table = Maglev::build(backends, nextPrime(tableSize));
  return std::make_shared<const Maglev>(std::move(table).value());
}

}  // namespace fulcrum::sched
