// What the packet data plane reads off the host: an interface's MAC and addresses, and
// the neighbour table (the reals' MACs on the link), through netlink.
#pragma once

#include <array>
#include <map>
#include <optional>
#include <string>

#include "common/net.h"
#include "xdp/tables.h"

namespace fulcrum::xdp {

// The interface's MAC, first IPv4 and first global IPv6 address; nullopt if it has none.
std::optional<HostDefaults> interfaceDefaults(const std::string& ifname);

// The kernel's neighbour table (IPv4 and IPv6 entries that have a MAC: reachable, stale,
// delay, probe or permanent), by address as the maps key it (IPv4-mapped).
using NeighbourTable = std::map<std::array<uint8_t, 16>, Mac>;
NeighbourTable neighbours();

// Makes the kernel resolve `addr` (a UDP datagram to its discard port, which the
// neighbour lookup precedes); returns at once.
void provokeResolution(const SockAddr& addr);

}  // namespace fulcrum::xdp
