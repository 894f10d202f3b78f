// Flow, address and key hashes: fixed values (the XDP program must agree), sensitivity to
// every field, spread.
#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "common/net.h"
#include "sched/flow_hash.h"

namespace fulcrum::sched {
namespace {

TEST(SchedFlowHash, Murmur3MatchesReferenceVectors) {
  // Published MurmurHash3_x86_32 results for whole-word inputs.
  EXPECT_EQ(murmur3Words(nullptr, 0, 0), 0u);
  EXPECT_EQ(murmur3Words(nullptr, 0, 1), 0x514e28b7u);
  const uint32_t zero = 0;
  EXPECT_EQ(murmur3Words(&zero, 1, 0), 0x2362f9deu);
  const uint32_t test = 0x74736574;  // "test" read little-endian
  EXPECT_EQ(murmur3Words(&test, 1, 0), 0xba6bd213u);
  const uint32_t abcd[2] = {0x64636261, 0x68676665};  // "abcdefgh"
  EXPECT_EQ(murmur3Words(abcd, 2, 0), 0x49ddccc4u);
}

TEST(SchedFlowHash, GoldenFlowHash) {
  FlowKey k;
  k.src = FlowKey::v4(0x0a000001);  // 10.0.0.1
  k.dst = FlowKey::v4(0xc0a80001);  // 192.168.0.1
  k.srcPort = 40000;
  k.dstPort = 80;
  k.protocol = 6;
  EXPECT_EQ(flowHash(k), 0xdc8c842fu);  // computed independently from the spec
  static_assert(flowHash(FlowKey{}) == flowHash(FlowKey{}), "usable at compile time");
}

TEST(SchedFlowHash, EveryFieldMatters) {
  FlowKey base;
  base.src = FlowKey::v4(0x0a000001);
  base.dst = FlowKey::v4(0x0a000002);
  base.srcPort = 1234;
  base.dstPort = 443;
  base.protocol = 6;
  const uint32_t h = flowHash(base);
  FlowKey k = base;
  k.src[3] ^= 1;
  EXPECT_NE(flowHash(k), h);
  k = base;
  k.dst[3] ^= 1;
  EXPECT_NE(flowHash(k), h);
  k = base;
  k.srcPort ^= 1;
  EXPECT_NE(flowHash(k), h);
  k = base;
  k.dstPort ^= 1;
  EXPECT_NE(flowHash(k), h);
  k = base;
  k.protocol = 17;
  EXPECT_NE(flowHash(k), h);
  k = base;  // swapping directions is a different flow
  std::swap(k.src, k.dst);
  std::swap(k.srcPort, k.dstPort);
  EXPECT_NE(flowHash(k), h);
}

TEST(SchedFlowHash, SockAddrMatchesFlowKey) {
  SockAddr client = SockAddr::ipv4(0x0a000001, 40000);
  SockAddr local = SockAddr::ipv4(0xc0a80001, 80);
  FlowKey k;
  k.src = FlowKey::v4(0x0a000001);
  k.dst = FlowKey::v4(0xc0a80001);
  k.srcPort = 40000;
  k.dstPort = 80;
  k.protocol = 6;
  EXPECT_EQ(flowHash(client, local, 6), flowHash(k));
  EXPECT_EQ(addrHash(client), addrHash(k.src));
}

TEST(SchedFlowHash, Ipv4AndMappedIpv6HashAlike) {
  auto v4 = SockAddr::parse("10.1.2.3:5000");
  auto mapped = SockAddr::parse("[::ffff:10.1.2.3]:5000");
  ASSERT_TRUE(v4.ok());
  ASSERT_TRUE(mapped.ok());
  EXPECT_EQ(addrHash(*v4), addrHash(*mapped));
  auto v6 = SockAddr::parse("[2001:db8::1]:5000");
  ASSERT_TRUE(v6.ok());
  EXPECT_NE(addrHash(*v6), addrHash(*v4));
  const uint8_t b[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  EXPECT_EQ(addrWords(*v6), FlowKey::v6(b));
  EXPECT_EQ(addrWords(*v6)[0], 0x20010db8u);
}

TEST(SchedFlowHash, AddressHashIgnoresThePort) {
  EXPECT_EQ(addrHash(SockAddr::ipv4(0x0a000001, 1)), addrHash(SockAddr::ipv4(0x0a000001, 2)));
}

TEST(SchedFlowHash, SpreadsSequentialFlows) {
  // Sequential client ports (the common case) spread evenly over 16 buckets, and so do
  // the low bits modulo a Maglev table size.
  std::vector<int> buckets(16, 0);
  std::set<uint32_t> distinct;
  const int n = 160000;
  for (int i = 0; i < n; ++i) {
    FlowKey k;
    k.src = FlowKey::v4(0x0a000000u + static_cast<uint32_t>(i / 40000));
    k.dst = FlowKey::v4(0xc0a80001);
    k.srcPort = static_cast<uint16_t>(10000 + i % 40000);
    k.dstPort = 80;
    k.protocol = 6;
    const uint32_t h = flowHash(k);
    distinct.insert(h);
    ++buckets[h % 16];
  }
  EXPECT_GT(distinct.size(), static_cast<size_t>(n) - 10);
  for (int c : buckets) EXPECT_NEAR(c, n / 16, n / 16 * 0.05);
}

TEST(SchedFlowHash, KeyHashIsSeededAndStable) {
  EXPECT_EQ(hashKey64("server1", 1), hashKey64("server1", 1));
  EXPECT_NE(hashKey64("server1", 1), hashKey64("server1", 2));
  EXPECT_NE(hashKey64("server1", 1), hashKey64("server2", 1));
  EXPECT_NE(hashKey64("", 1), hashKey64(std::string_view("\0", 1), 1));
  EXPECT_NE(hashKey64("abcdefgh", 1), hashKey64(std::string_view("abcdefgh\0", 9), 1));
  EXPECT_EQ(hashKey64("a-fairly-long-server-name", 42),
            0x1f9340c0c13896ebull);  // independent reference
}

}  // namespace
}  // namespace fulcrum::sched
