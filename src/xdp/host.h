// What the packet data plane reads off the host: an interface's MAC and addresses, and
// the neighbour table (the reals' MACs on the link), through netlink.
#pragma once

#include <optional>
#include <string>

#include "common/net.h"
#include "xdp/tables.h"

namespace fulcrum::xdp {

// The interface's MAC, first IPv4 and first global IPv6 address; nullopt if it has none.
std::optional<HostDefaults> interfaceDefaults(const std::string& ifname);

// The neighbour table's MAC for `addr` (a complete entry: reachable, stale, delay, probe
// or permanent), or nullopt.
std::optional<Mac> neighbourMac(const SockAddr& addr);

// Makes the kernel resolve `addr` (a UDP datagram to its discard port, which the
// neighbour lookup precedes); returns at once.
void provokeResolution(const SockAddr& addr);

}  // namespace fulcrum::xdp
