#include "sched/flow_hash.h"

#include <arpa/inet.h>

#include "common/net.h"

namespace fulcrum::sched {

std::array<uint32_t, 4> addrWords(const SockAddr& a) {
  if (a.family() == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(a.sa());
    return FlowKey::v4(ntohl(in->sin_addr.s_addr));
  }
  if (a.family() == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(a.sa());
    const uint8_t(&b)[16] = in6->sin6_addr.s6_addr;
    return FlowKey::v6(b);
  }
  return {};
}

uint32_t flowHash(const SockAddr& client, const SockAddr& local, uint8_t protocol) {
  FlowKey k;
  k.src = addrWords(client);
  k.dst = addrWords(local);
  k.srcPort = client.port();
  k.dstPort = local.port();
  k.protocol = protocol;
  return flowHash(k);
}

uint32_t addrHash(const SockAddr& client) { return addrHash(addrWords(client)); }

namespace {

constexpr uint64_t kKeyMul1 = 0x87c37b91114253d5ull;
constexpr uint64_t kKeyMul2 = 0x4cf5ad432745937full;

uint64_t mixChunk(uint64_t k) {
  k *= kKeyMul1;
  k = rotl64(k, 31);
  k *= kKeyMul2;
  return k;
}

// The splitmix64 finaliser: full avalanche over 64 bits.
uint64_t finish64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace

uint64_t hashKey64(std::string_view key, uint64_t seed) {
  const auto* p = reinterpret_cast<const unsigned char*>(key.data());
  const size_t n = key.size();
  uint64_t h = finish64(seed ^ (uint64_t{n} * 0x9e3779b97f4a7c15ull));
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t chunk = 0;
    for (size_t b = 0; b < 8; ++b) chunk |= uint64_t{p[i + b]} << (8 * b);
    h ^= mixChunk(chunk);
    h = rotl64(h, 27) * 5 + 0x52dce729;
  }
  if (i < n) {
    uint64_t tail = 0;
    for (size_t b = 0; i + b < n; ++b) tail |= uint64_t{p[i + b]} << (8 * b);
    h ^= mixChunk(tail);
  }
  return finish64(h ^ n);
}

}  // namespace fulcrum::sched
