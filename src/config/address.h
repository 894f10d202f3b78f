// Address arguments of "bind" and "server" lines, in HAProxy's syntax:
//   [ipv4@|ipv6@|tcp@|tcp4@|tcp6@]HOST:PORT
// where HOST is an IPv4 address, an IPv6 address (in brackets, or bare with the last colon
// before the port), "*" or nothing (the IPv4 any address, or IPv6 with ipv6@/tcp6@), or a
// host name resolved when the configuration is loaded.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/net.h"
#include "common/result.h"

namespace fulcrum::config {

struct BindAddress {
  std::string text;  // the address as written; "HOST:PORT" for each port of a range
  SockAddr addr;
};

// The first argument of a "bind" line: one or more comma-separated addresses, each with
// a port or a port range "LOW-HIGH" (one BindAddress per port).
Result<std::vector<BindAddress>> parseBindAddresses(std::string_view text);

// The address of a "server" line: one host and one port. A missing port, a port offset,
// a port range and the any address are errors for now.
Result<SockAddr> parseServerAddress(std::string_view text);

}  // namespace fulcrum::config
