#include "xdp/rings.h"

namespace fulcrum::xdp {

std::vector<uint32_t> ringOf(const model::Pool& pool, const control::PoolTables& tables) {
  std::vector<uint32_t> ring;
  if (!tables.maglev) return ring;
  const std::vector<int32_t>& table = tables.maglev->table();
  ring.reserve(table.size());
  for (int32_t index : table) {
    ring.push_back(index >= 0 && static_cast<size_t>(index) < pool.servers.size()
                       ? pool.servers[static_cast<size_t>(index)].real
                       : kNoReal);
  }
  return ring;
}

}  // namespace fulcrum::xdp
