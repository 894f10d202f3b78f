// Stable hashes: the same input gives the same value in every process, on every machine
// of a fleet and (for the flow hash) in the XDP program. Everything is defined on
// numbers, never on memory layout, host byte order, std::hash or a per-process seed.
//
// Flow hash (a 5-tuple to 32 bits). The XDP program must compute exactly this:
//
//   w[0..3]  source address as IPv6; an IPv4 address a.b.c.d is taken as ::ffff:a.b.c.d.
//            Each word is 4 address bytes read big-endian (bpf_ntohl of the __be32).
//   w[4..7]  destination address, same layout.
//   w[8]     (source port << 16) | destination port, ports as numbers (host order).
//   w[9]     the IP protocol number (6 TCP, 17 UDP).
//   hash =   murmur3Words(w, 10, kFlowHashSeed)
//
// murmur3Words(w, n, seed) is MurmurHash3 x86_32 over the n words (equivalently over
// their 4n-byte little-endian encoding, so there is never a tail):
//
//   h = seed
//   for each word k:  k *= 0xcc9e2d51; k = rotl32(k, 15); k *= 0x1b873593;
//                     h ^= k; h = rotl32(h, 13); h = h * 5 + 0xe6546b64
//   h ^= 4n; h ^= h >> 16; h *= 0x85ebca6b; h ^= h >> 13; h *= 0xc2b2ae35; h ^= h >> 16
//
// All arithmetic is modulo 2^32. A Maglev table of size M maps a flow to slot hash % M.
// The source hash of `balance source` is murmur3Words over w[0..3] of the client address
// alone, with kAddrHashSeed, so an IPv4 client hashes the same whether it reaches a v4
// or a dual-stack v6 socket.
//
// The key hash (hashKey64) turns a backend's stable key (its name) into the offset and
// skip of its Maglev permutation; it is 64-bit and used only by the control plane.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace fulcrum {
class SockAddr;
}

namespace fulcrum::sched {

inline constexpr uint32_t kFlowHashSeed = 0x466c6f77;  // "Flow"
inline constexpr uint32_t kAddrHashSeed = 0x53726341;  // "SrcA"

constexpr uint32_t rotl32(uint32_t x, int r) { return (x << r) | (x >> (32 - r)); }
constexpr uint64_t rotl64(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

// MurmurHash3 x86_32 over whole 32-bit words (see above).
constexpr uint32_t murmur3Words(const uint32_t* w, size_t n, uint32_t seed) {
  uint32_t h = seed;
  for (size_t i = 0; i < n; ++i) {
    uint32_t k = w[i];
    k *= 0xcc9e2d51u;
    k = rotl32(k, 15);
    k *= 0x1b873593u;
    h ^= k;
    h = rotl32(h, 13);
    h = h * 5u + 0xe6546b64u;
  }
  h ^= static_cast<uint32_t>(n * 4);
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

// The 10 words of a flow, in the layout described above.
struct FlowKey {
  std::array<uint32_t, 4> src{};  // IPv6 or IPv4-mapped, big-endian words
  std::array<uint32_t, 4> dst{};
  uint16_t srcPort = 0;
  uint16_t dstPort = 0;
  uint8_t protocol = 0;

  // An IPv4 address given as a host-order number (0x7f000001 for 127.0.0.1).
  static constexpr std::array<uint32_t, 4> v4(uint32_t hostOrderAddr) {
    return {0, 0, 0x0000ffffu, hostOrderAddr};
  }
  // An IPv6 address given as its 16 bytes in network order.
  static constexpr std::array<uint32_t, 4> v6(const uint8_t (&b)[16]) {
    std::array<uint32_t, 4> w{};
    for (int i = 0; i < 4; ++i)
      w[static_cast<size_t>(i)] = (uint32_t{b[4 * i]} << 24) | (uint32_t{b[4 * i + 1]} << 16) |
                                  (uint32_t{b[4 * i + 2]} << 8) | uint32_t{b[4 * i + 3]};
    return w;
  }
};

constexpr uint32_t flowHash(const FlowKey& k) {
  const uint32_t w[10] = {k.src[0],  k.src[1], k.src[2],
                          k.src[3],  k.dst[0], k.dst[1],
                          k.dst[2],  k.dst[3], (uint32_t{k.srcPort} << 16) | k.dstPort,
                          k.protocol};
  return murmur3Words(w, 10, kFlowHashSeed);
}

constexpr uint32_t addrHash(const std::array<uint32_t, 4>& addr) {
  return murmur3Words(addr.data(), 4, kAddrHashSeed);
}

// Socket-address conveniences for the proxy (flow_hash.cc). An address of another family
// (or an invalid one) counts as all zeros.
std::array<uint32_t, 4> addrWords(const SockAddr& a);
// Flow hash of a connection seen from the load balancer: client (source) to the local
// address it reached (destination). protocol: 6 for TCP, 17 for UDP.
uint32_t flowHash(const SockAddr& client, const SockAddr& local, uint8_t protocol);
// Hash of the client address alone (no port), for `balance source`.
uint32_t addrHash(const SockAddr& client);

// 64-bit hash of a byte string with a seed, for backend keys (Maglev offset and skip).
// A murmur-style single-lane mix over little-endian 8-byte chunks, then the splitmix64
// finaliser; different seeds give independent hashes.
uint64_t hashKey64(std::string_view key, uint64_t seed);

}  // namespace fulcrum::sched
