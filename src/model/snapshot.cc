#include "model/snapshot.h"

namespace fulcrum::model {

std::shared_ptr<Snapshot> Snapshot::initial(std::shared_ptr<const Config> config,
                                            uint64_t generation) {
  auto s = std::make_shared<Snapshot>();
  s->generation = generation;
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

}  // namespace fulcrum::model
