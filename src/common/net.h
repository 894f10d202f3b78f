// SockAddr: an IPv4 or IPv6 socket address, with HAProxy-style parsing
// ("1.2.3.4:80", "[::1]:80", ":::80", "*:80", ":80") and formatting.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace fulcrum {

class SockAddr {
 public:
  SockAddr() = default;
  static SockAddr fromSockaddr(const sockaddr* sa, socklen_t len);
  static SockAddr ipv4(uint32_t hostOrderAddr, uint16_t port);
  static SockAddr ipv4Any(uint16_t port) { return ipv4(0, port); }
  static SockAddr ipv6Any(uint16_t port);
  static SockAddr loopback4(uint16_t port) { return ipv4(0x7f000001, port); }

  // Parses a numeric "IP:PORT" (IPv6 in brackets, or bare with the last colon before the
  // port). "*" and "" stand for the IPv4 any address. No name resolution.
  static Result<SockAddr> parse(std::string_view text);
  // Parses the host part alone (numeric), with the given port.
  static Result<SockAddr> parseHost(std::string_view host, uint16_t port);

  int family() const { return storage_.sa.sa_family; }
  bool valid() const { return family() == AF_INET || family() == AF_INET6; }
  bool isV6() const { return family() == AF_INET6; }
  uint16_t port() const;
  void setPort(uint16_t port);
  bool isAny() const;

  const sockaddr* sa() const { return reinterpret_cast<const sockaddr*>(&storage_); }
  sockaddr* sa() { return reinterpret_cast<sockaddr*>(&storage_); }
  socklen_t len() const { return len_; }
  socklen_t* lenPtr() { return &len_; }
  socklen_t capacity() const { return sizeof(storage_); }

  // "1.2.3.4:80" or "[::1]:80"; hostString() omits the port.
  std::string toString() const;
  std::string hostString() const;

  bool operator==(const SockAddr& o) const;

 private:
  // Only IPv4 and IPv6: 28 bytes rather than sockaddr_storage's 128, since one is kept
  // per connection.
  union Storage {
    sockaddr sa;
    sockaddr_in in;
    sockaddr_in6 in6;
  };
  Storage storage_{};
  socklen_t len_ = 0;
};

// Splits "HOST:PORT" where HOST may be "[v6]" or a bare v6 address (last colon wins).
// Returns false when there is no colon at all.
bool splitHostPort(std::string_view text, std::string_view& host, std::string_view& port);

// Parses a decimal port 1..65535 (0 allowed when allowZero).
Result<uint16_t> parsePort(std::string_view text, bool allowZero = false);

// The local address of a socket (getsockname); an invalid SockAddr when it has none.
SockAddr localAddressOf(int fd);

// Resolves a host name or numeric address with getaddrinfo (control plane only: blocks).
Result<SockAddr> resolve(std::string_view host, uint16_t port);

}  // namespace fulcrum
