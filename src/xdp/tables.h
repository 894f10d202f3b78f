// What the packet data plane's maps must hold for a publication, computed without touching
// BPF (so it is unit-tested): the VIPs of the packet services, the reals of their pools and
// one ring per packet service (its pool's Maglev table, computed once by the control plane,
// translated to real indices by ringOf). The data plane (data_plane.h) diffs two of these
// and writes the difference.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/net.h"
#include "common/result.h"
#include "control/publication.h"
#include "xdp_abi.h"

namespace fulcrum::xdp {

using Mac = std::array<uint8_t, 6>;
// The MAC of a neighbour on one of the XDP interfaces' links, if known.
using MacOf = std::function<std::optional<Mac>(const SockAddr&)>;

struct Vip {
  fulcrum_vip_key key{};
  uint32_t ring = 0;
  uint32_t flags = 0;  // FULCRUM_VIP_*
  std::string service;
  bool operator==(const Vip& o) const;
};

struct Tables {
  std::vector<Vip> vips;
  // Every real of a packet service's pool, by real index. forward == 0: not usable (DOWN,
  // MAINT, or its MAC unknown where one is needed); its flows are scheduled anew.
  std::map<uint32_t, fulcrum_real_def> reals;
  // By ring index (the packet service's rank among the packet services): the Maglev
  // table's slots as real indices, shared with the PoolTables they came from.
  std::vector<std::shared_ptr<const std::vector<uint32_t>>> rings;
  std::vector<const control::PoolTables*> ringSources;  // the same pointer: the same ring
  fulcrum_settings settings{};
  // Servers left unusable because the MAC they need is unknown ("pool/server").
  std::vector<std::string> unresolved;
};

// The addresses of the host that the settings fall back on.
struct HostDefaults {
  Mac sourceMac{};                              // the (first) XDP interface's MAC
  std::optional<std::array<uint8_t, 4>> ipv4;   // its first IPv4 address
  std::optional<std::array<uint8_t, 16>> ipv6;  // its first global IPv6 address
};

// What the program was loaded with (its map sizes).
struct Limits {
  uint32_t ringSize = 0;
  uint32_t maxReals = 0;
  uint32_t maxServices = 0;
  uint32_t maxVips = 0;
};

// `previous` (may be null) lends the rings of pools whose tables did not change.
// Fails when the publication needs more than `limits` allow.
Result<Tables> tablesOf(const control::Publication& pub, const HostDefaults& host,
                        const MacOf& macOf, const Limits& limits, const Tables* previous);

}  // namespace fulcrum::xdp
