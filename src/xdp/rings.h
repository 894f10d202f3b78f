// What the packet data plane writes into its maps, computed from the publication: a
// VIP's ring is its pool's Maglev table (control::PoolTables, computed once by the
// control plane) with each pool index translated to the server's process-wide real
// index (model::Server::real), so the proxy and the XDP program pick the same real for
// the same flow.
#pragma once

#include <cstdint>
#include <vector>

#include "control/publication.h"
#include "model/model.h"

namespace fulcrum::xdp {

inline constexpr uint32_t kNoReal = 0xffffffffu;  // a slot without a real (empty table)

// The ring of a pool: one real index per Maglev slot (kNoReal where the table has none);
// empty when the pool has no Maglev table.
std::vector<uint32_t> ringOf(const model::Pool& pool, const control::PoolTables& tables);

}  // namespace fulcrum::xdp
