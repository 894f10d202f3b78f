// A small builder of test frames (Ethernet, optional VLAN tag, IPv4/IPv6, TCP/UDP) and of
// the encapsulations the XDP program makes, so that fixtures state the input packet and
// the expected output packet byte for byte.
#pragma once

#include <arpa/inet.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace fulcrum::test::pkt {

using Bytes = std::vector<uint8_t>;
using Mac = std::array<uint8_t, 6>;

// An IPv4 or IPv6 address, 16 bytes (IPv4-mapped for IPv4), as the program keys them.
struct Addr {
  std::array<uint8_t, 16> b{};
  bool v6 = false;
  static Addr parse(const std::string& text);
  // The 4 bytes of an IPv4 address.
  const uint8_t* v4() const { return b.data() + 12; }
};

struct L4 {
  uint8_t proto = 6;  // 6 TCP, 17 UDP; another protocol (ICMP): `payload` is all of it
  uint16_t sport = 0, dport = 0;
  uint8_t tcpFlags = 0x02;  // SYN
  std::string payload;
};

constexpr uint8_t kSyn = 0x02, kRst = 0x04, kAck = 0x10;

// The IP packet (no L2): IPv4 (20-byte header, or with `options` bytes of options, a
// multiple of 4) or IPv6 (`ext`: an extension header type before the L4 header, 0: none).
struct Ip {
  Addr src, dst;
  L4 l4;
  uint8_t tos = 0;
  uint16_t fragOff = 0;  // IPv4: the frag_off field (host order: flags << 13 | offset)
  size_t options = 0;    // IPv4 options length
  uint8_t ext = 0xff;  // IPv6: an extension header first (44 fragment, 0 hop-by-hop...); 0xff: none
};
Bytes ipPacket(const Ip& ip);

// Ethernet (+ VLAN tag when vlan >= 0) around an L3 payload.
Bytes frame(const Mac& dst, const Mac& src, uint16_t etherType, const Bytes& l3, int vlan = -1);
Bytes frame(const Ip& ip, int vlan = -1);

// The program's encapsulation of `inner` (an IP packet) to a real, as bytes after L2.
Bytes ipipOuter4(const uint8_t (&src)[4], const Addr& real, const Bytes& inner, uint8_t tos,
                 bool innerV6);
Bytes ipipOuter6(const Addr& src, const Addr& real, const Bytes& inner, uint8_t tos, uint32_t hash,
                 bool innerV6);
// GUE variant 1: the outer IP header (protocol UDP), a UDP header from the flow-hashed
// source port 0xc000 | (hash & 0x3fff) to `port`, checksum 0, then `inner`.
Bytes gueOuter4(const uint8_t (&src)[4], const Addr& real, const Bytes& inner, uint8_t tos,
                uint32_t hash, uint16_t port);
Bytes gueOuter6(const Addr& src, const Addr& real, const Bytes& inner, uint8_t tos, uint32_t hash,
                uint16_t port);

extern const Mac kClientMac, kLbMac, kNextHopMac;

}  // namespace fulcrum::test::pkt
