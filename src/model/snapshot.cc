#include "model/snapshot.h"

#include <algorithm>

namespace fulcrum::model {

std::shared_ptr<Snapshot> Snapshot::initial(std::shared_ptr<const Config> config) {
  auto s = std::make_shared<Snapshot>();
  s->runtime.reserve(config->pools.size());
  for (const Pool& p : config->pools) {
    std::vector<ServerRuntime> rt;
    rt.reserve(p.servers.size());
    for (const Server& srv : p.servers)
      rt.push_back({srv.disabled ? ServerState::kMaint : ServerState::kUp, srv.weight});
    s->runtime.push_back(std::move(rt));
    std::vector<std::shared_ptr<ServerStats>> st;
    for (size_t i = 0; i < p.servers.size(); ++i) st.push_back(std::make_shared<ServerStats>());
    s->serverStats.push_back(std::move(st));
    s->poolStats.push_back(std::make_shared<PoolStats>());
    s->loads.push_back(std::make_shared<PoolLoad>(p.servers.size()));
  }
  s->serviceLogs.resize(config->services.size());
  for (size_t i = 0; i < config->services.size(); ++i)
    s->serviceStats.push_back(std::make_shared<ServiceStats>());
  s->config = std::move(config);
  return s;
}

std::shared_ptr<Snapshot> Snapshot::successor(std::shared_ptr<const Config> config,
                                              const Snapshot& prev) {
  auto s = initial(config);
  const Config& old = *prev.config;
  const Config& cfg = *s->config;
  for (size_t i = 0; i < cfg.services.size(); ++i) {
    int o = old.findService(cfg.services[i].name);
    if (o >= 0) s->serviceStats[i] = prev.serviceStats[static_cast<size_t>(o)];
  }
  for (size_t p = 0; p < cfg.pools.size(); ++p) {
    int o = old.findPool(cfg.pools[p].name);
    if (o < 0) continue;
    const Pool& oldPool = old.pools[static_cast<size_t>(o)];
    s->poolStats[p] = prev.poolStats[static_cast<size_t>(o)];
    const auto& servers = cfg.pools[p].servers;
    if (std::equal(servers.begin(), servers.end(), oldPool.servers.begin(), oldPool.servers.end(),
                   [](const Server& a, const Server& b) { return a.name == b.name; })) {
      // Same servers in the same order: same counters, same PoolLoad (so the tables and
      // schedulers built on it stay valid).
      s->serverStats[p] = prev.serverStats[static_cast<size_t>(o)];
      s->loads[p] = prev.loads[static_cast<size_t>(o)];
      continue;
    }
    std::vector<std::shared_ptr<PoolLoad::Slot>> slots(cfg.pools[p].servers.size());
    for (size_t v = 0; v < cfg.pools[p].servers.size(); ++v) {
      for (size_t w = 0; w < oldPool.servers.size(); ++w) {
        if (oldPool.servers[w].name != cfg.pools[p].servers[v].name) continue;
        s->serverStats[p][v] = prev.serverStats[static_cast<size_t>(o)][w];
        slots[v] = prev.loads[static_cast<size_t>(o)]->slot(w);
        break;
      }
    }
    s->loads[p] = std::make_shared<PoolLoad>(std::move(slots));
  }
  s->healthSignal = prev.healthSignal;
  s->shutdownSeq = prev.shutdownSeq;
  return s;
}

const char* toString(ServerState s) {
  switch (s) {
    case ServerState::kUp: return "UP";
    case ServerState::kDown: return "DOWN";
    case ServerState::kDrain: return "DRAIN";
    case ServerState::kMaint: return "MAINT";
  }
  return "?";
}

void observeConnect(const Snapshot& snap, int pool, int server, bool ok) {
  if (pool < 0 || server < 0 || static_cast<size_t>(pool) >= snap.serverStats.size()) return;
  const auto& stats = snap.serverStats[static_cast<size_t>(pool)];
  if (static_cast<size_t>(server) >= stats.size()) return;
  std::atomic<uint32_t>& errors = stats[static_cast<size_t>(server)]->consecutiveErrors;
  if (ok) {
    // Read first: the common case (no errors) leaves the cache line shared.
    if (errors.load(std::memory_order_relaxed) != 0) errors.store(0, std::memory_order_relaxed);
    return;
  }
  const uint32_t n = errors.fetch_add(1, std::memory_order_relaxed) + 1;
  const Server& srv =
      snap.config->pools[static_cast<size_t>(pool)].servers[static_cast<size_t>(server)];
  // Exactly one failure crosses the limit; the control plane resets the count when it acts.
  if (srv.observe.mode == Observe::kLayer4 && n == srv.observe.errorLimit && snap.healthSignal)
    snap.healthSignal->passiveAlert();
}

}  // namespace fulcrum::model
