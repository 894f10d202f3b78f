// The real XDP program (balancer.bpf.o, through its libbpf skeleton) run by
// BPF_PROG_TEST_RUN on table fixtures: an input frame built by tests/bpf/packet.h, the
// expected verdict, the expected output frame byte for byte, and the counters.
// Needs root (CAP_BPF); CI runs as root.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>
#include <sched.h>

#include <cstring>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "balancer_fixture.h"
#include "packet.h"
#include "sched/flow_hash.h"
#include "xdp_abi.h"

namespace fulcrum::test {
namespace {

using namespace pkt;

constexpr uint32_t kRing = 13;  // a small prime ring, so fixtures can reason about slots

// sched::flowHash of a packet's 5-tuple: what the proxy computes for the same flow.
uint32_t proxyHash(const Ip& ip) {
  sched::FlowKey k;
  for (int i = 0; i < 4; ++i) {
    k.src[static_cast<size_t>(i)] =
        static_cast<uint32_t>(ip.src.b[4 * i] << 24 | ip.src.b[4 * i + 1] << 16 |
                              ip.src.b[4 * i + 2] << 8 | ip.src.b[4 * i + 3]);
    k.dst[static_cast<size_t>(i)] =
        static_cast<uint32_t>(ip.dst.b[4 * i] << 24 | ip.dst.b[4 * i + 1] << 16 |
                              ip.dst.b[4 * i + 2] << 8 | ip.dst.b[4 * i + 3]);
  }
  k.srcPort = ip.l4.sport;
  k.dstPort = ip.l4.dport;
  k.protocol = ip.l4.proto;
  return sched::flowHash(k);
}

Ip tcp(const std::string& src, uint16_t sport, const std::string& dst, uint16_t dport,
       uint8_t flags = kSyn) {
  Ip ip;
  ip.src = Addr::parse(src);
  ip.dst = Addr::parse(dst);
  ip.l4 = {6, sport, dport, flags, "hello"};
  return ip;
}

Ip udp(const std::string& src, uint16_t sport, const std::string& dst, uint16_t dport) {
  Ip ip = tcp(src, sport, dst, dport);
  ip.l4.proto = 17;
  return ip;
}

// The frame the program must send for `ip` to `real` (an IPv4 real: IPIP, outer source
// 10.100.0.0 + hash % 256; an IPv6 real: IP6IP6, outer source fd00:100:: with the hash
// in its low 32 bits), with L2 rewritten to the next hop.
Bytes encapsulated(const Ip& ip, const std::string& real, int vlan = -1,
                   const Ip* flowOf = nullptr) {
  const Bytes inner = ipPacket(ip);
  const uint32_t hash = proxyHash(flowOf != nullptr ? *flowOf : ip);
  const Addr r = Addr::parse(real);
  if (!r.v6) {
    const uint32_t s = 0x0a640000 + hash % 256;
    const uint8_t src[4] = {static_cast<uint8_t>(s >> 24), static_cast<uint8_t>(s >> 16),
                            static_cast<uint8_t>(s >> 8), static_cast<uint8_t>(s)};
    return frame(kNextHopMac, kLbMac, 0x0800, ipipOuter4(src, r, inner, ip.tos, ip.dst.v6), vlan);
  }
  return frame(kNextHopMac, kLbMac, 0x86dd,
               ipipOuter6(Addr::parse("fd00:100::"), r, inner, ip.tos, hash, ip.dst.v6), vlan);
}

// The same with GUE (a UDP header from the flow-hashed source port to kGuePort).
Bytes encapsulatedGue(const Ip& ip, const std::string& real) {
  const Bytes inner = ipPacket(ip);
  const uint32_t hash = proxyHash(ip);
  const Addr r = Addr::parse(real);
  if (!r.v6) {
    const uint32_t s = 0x0a640000 + hash % 256;
    const uint8_t src[4] = {static_cast<uint8_t>(s >> 24), static_cast<uint8_t>(s >> 16),
                            static_cast<uint8_t>(s >> 8), static_cast<uint8_t>(s)};
    return frame(kNextHopMac, kLbMac, 0x0800, gueOuter4(src, r, inner, ip.tos, hash, kGuePort));
  }
  return frame(kNextHopMac, kLbMac, 0x86dd,
               gueOuter6(Addr::parse("fd00:100::"), r, inner, ip.tos, hash, kGuePort));
}

class XdpBalancer : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(lb.ok()) << "cannot load balancer.bpf.o: " << strerror(errno)
                         << " (the bpf tests need root / CAP_BPF)";
    lb.addVip("192.0.2.10", 80, 6, 0);
    lb.setReal(0, "10.0.1.1");
    lb.setReal(1, "10.0.1.2");
    lb.setReal(2, "10.0.1.3");
    lb.fillRing(0, {0, 1, 2});
  }
  Balancer lb{kRing};
};

TEST_F(XdpBalancer, TcpSynToAVipIsEncapsulatedToTheRingsReal) {
  Ip ip = tcp("198.51.100.7", 40000, "192.0.2.10", 80);
  const uint32_t real = lb.ringAt(0, proxyHash(ip) % kRing);
  const std::string realAddr = "10.0.1." + std::to_string(real + 1);
  Result r = lb.run(frame(ip));
  EXPECT_EQ(r.verdict, XDP_TX);
  EXPECT_EQ(r.out, encapsulated(ip, realAddr));
  EXPECT_EQ(lb.connReal(ip), real);
  auto st = lb.stats();
  EXPECT_EQ(st.packets, 1u);
  EXPECT_EQ(st.lru_misses, 1u);
  EXPECT_EQ(st.forwarded, 1u);
  EXPECT_EQ(lb.vipStats(0).new_flows, 1u);
  EXPECT_EQ(lb.vipStats(0).bytes, frame(ip).size());
}

TEST_F(XdpBalancer, TheFlowKeepsItsRealWhenTheRingChanges) {
  Ip ip = tcp("198.51.100.7", 40001, "192.0.2.10", 80);
  ASSERT_EQ(lb.run(frame(ip)).verdict, XDP_TX);
  const uint32_t first = lb.connReal(ip);
  // Every slot now points elsewhere: the established flow stays (LRU hit), a new one moves.
  lb.fillRing(0, {(first + 1) % 3});
  ip.l4.tcpFlags = kAck;
  Result r = lb.run(frame(ip));
  EXPECT_EQ(r.verdict, XDP_TX);
  EXPECT_EQ(r.out, encapsulated(ip, "10.0.1." + std::to_string(first + 1)));
  EXPECT_EQ(lb.stats().lru_hits, 1u);
  Ip other = tcp("198.51.100.8", 40001, "192.0.2.10", 80);
  lb.run(frame(other));
  EXPECT_EQ(lb.connReal(other), (first + 1) % 3);
}

TEST_F(XdpBalancer, ThePacketPathPicksWhatTheProxysHashPicks) {
  // Over many flows the slot is sched::flowHash % ring size: the same hash as the proxy's.
  std::vector<uint32_t> reals(kRing);
  for (uint32_t s = 0; s < kRing; ++s) reals[s] = s % 3;
  lb.fillRing(0, {0, 1, 2});
  for (uint16_t port = 1000; port < 1300; ++port) {
    Ip ip = tcp("203.0.113.9", port, "192.0.2.10", 80);
    ASSERT_EQ(lb.run(frame(ip)).verdict, XDP_TX);
    ASSERT_EQ(lb.connReal(ip), (proxyHash(ip) % kRing) % 3) << port;
  }
}

TEST_F(XdpBalancer, NoVipPassesUntouched) {
  Ip ip = tcp("198.51.100.7", 40000, "192.0.2.11", 80);  // another address
  Bytes in = frame(ip);
  Result r = lb.run(in);
  EXPECT_EQ(r.verdict, XDP_PASS);
  EXPECT_EQ(r.out, in);
  Ip port = tcp("198.51.100.7", 40000, "192.0.2.10", 81);  // another port
  EXPECT_EQ(lb.run(frame(port)).verdict, XDP_PASS);
  Ip proto = udp("198.51.100.7", 40000, "192.0.2.10", 80);  // another protocol
  EXPECT_EQ(lb.run(frame(proto)).verdict, XDP_PASS);
  EXPECT_EQ(lb.stats().passed_no_vip, 3u);
  EXPECT_EQ(lb.stats().forwarded, 0u);
}

TEST_F(XdpBalancer, AllPortsVip) {
  lb.addVip("192.0.2.20", 0, 17, 1, FULCRUM_VIP_ALL_PORTS);
  lb.fillRing(1, {2});
  for (uint16_t port : {53, 123, 40000}) {
    Ip ip = udp("198.51.100.7", 5000, "192.0.2.20", port);
    Result r = lb.run(frame(ip));
    EXPECT_EQ(r.verdict, XDP_TX) << port;
    EXPECT_EQ(r.out, encapsulated(ip, "10.0.1.3")) << port;
  }
  // An exact-port VIP entry is not an all-ports one.
  Ip ip = tcp("198.51.100.7", 5000, "192.0.2.10", 0);
  EXPECT_EQ(lb.run(frame(ip)).verdict, XDP_PASS);
}

TEST_F(XdpBalancer, Ipv6VipToIpv6RealAndAcrossFamilies) {
  lb.addVip("2001:db8::10", 443, 6, 1);
  lb.setReal(3, "2001:db8:1::3");
  lb.fillRing(1, {3});
  Ip ip = tcp("2001:db8:ffff::7", 50000, "2001:db8::10", 443);
  Result r = lb.run(frame(ip));
  EXPECT_EQ(r.verdict, XDP_TX);
  EXPECT_EQ(r.out, encapsulated(ip, "2001:db8:1::3"));  // IP6IP6
  // An IPv4 VIP to an IPv6 real (4-in-6), and an IPv6 VIP to an IPv4 real (6-in-4).
  lb.fillRing(0, {3});
  Ip v4 = tcp("198.51.100.7", 40000, "192.0.2.10", 80);
  r = lb.run(frame(v4));
  EXPECT_EQ(r.verdict, XDP_TX);
  EXPECT_EQ(r.out, encapsulated(v4, "2001:db8:1::3"));
  lb.fillRing(1, {0});
  Ip v6 = tcp("2001:db8:ffff::8", 50000, "2001:db8::10", 443);
  r = lb.run(frame(v6));
  EXPECT_EQ(r.verdict, XDP_TX);
  EXPECT_EQ(r.out, encapsulated(v6, "10.0.1.1"));
}

TEST_F(XdpBalancer, GueToIpv4AndIpv6Reals) {
  lb.setReal(5, "10.0.1.9", FULCRUM_FWD_GUE);
  lb.setReal(6, "2001:db8:1::9", FULCRUM_FWD_GUE);
  lb.addVip("2001:db8::10", 443, 6, 1);
  for (const auto& [vip, port, ring] :
       {std::tuple{"192.0.2.10", 80, 0u}, std::tuple{"2001:db8::10", 443, 1u}}) {
    for (uint32_t real : {5u, 6u}) {
      lb.fillRing(ring, {real});
      Ip ip = tcp(Addr::parse(vip).v6 ? "2001:db8:ffff::7" : "198.51.100.7",
                  static_cast<uint16_t>(41000 + real), vip, static_cast<uint16_t>(port));
      Result r = lb.run(frame(ip));
      EXPECT_EQ(r.verdict, XDP_TX) << vip << " to " << real;
      EXPECT_EQ(r.out, encapsulatedGue(ip, real == 5 ? "10.0.1.9" : "2001:db8:1::9"))
          << vip << " to " << real;
    }
  }
}

TEST_F(XdpBalancer, DirectRoutingSendsTheSameFrameToTheRealsMac) {
  const Mac realMac = {0x02, 0, 0, 0, 0x10, 0x05};
  lb.setReal(5, "10.0.1.9", FULCRUM_FWD_DR, realMac);
  lb.fillRing(0, {5});
  for (int vlan : {-1, 9}) {
    Ip ip = tcp("198.51.100.7", static_cast<uint16_t>(42000 + vlan), "192.0.2.10", 80);
    Result r = lb.run(frame(ip, vlan));
    EXPECT_EQ(r.verdict, XDP_TX);
    EXPECT_EQ(r.out, frame(realMac, kLbMac, 0x0800, ipPacket(ip), vlan));
  }
}

// NAT both ways: the request rewritten to the real's address and port (checksums updated,
// checked against packets the builder checksums from scratch), the reply back to the VIP.
TEST_F(XdpBalancer, NatRewritesBothWays) {
  const Mac realMac = {0x02, 0, 0, 0, 0x20, 0x05};
  lb.setReal(5, "10.0.2.5", FULCRUM_FWD_NAT, realMac, 8080);
  lb.setReal(6, "2001:db8:2::6", FULCRUM_FWD_NAT, realMac, 8443);
  lb.addVip("2001:db8::10", 443, 6, 1);
  lb.addVip("192.0.2.10", 53, 17, 2);
  lb.fillRing(0, {5});
  lb.fillRing(1, {6});
  lb.fillRing(2, {5});
  struct Case {
    Ip request;
    std::string real;
    uint16_t realPort;
  } cases[] = {
      {tcp("198.51.100.7", 40000, "192.0.2.10", 80), "10.0.2.5", 8080},
      {tcp("2001:db8:ffff::7", 40000, "2001:db8::10", 443), "2001:db8:2::6", 8443},
      {udp("198.51.100.7", 5353, "192.0.2.10", 53), "10.0.2.5", 8080},
  };
  uint64_t returned = 0;
  for (const Case& c : cases) {
    Ip toReal = c.request;
    toReal.dst = Addr::parse(c.real);
    toReal.l4.dport = c.realPort;
    Result r = lb.run(frame(c.request));
    EXPECT_EQ(r.verdict, XDP_TX) << c.real;
    EXPECT_EQ(r.out, frame(realMac, kLbMac, toReal.dst.v6 ? 0x86dd : 0x0800, ipPacket(toReal)))
        << c.real;
    // The reply, from the real to the client: back from the VIP, to the MAC the request
    // came from.
    Ip reply;
    reply.src = toReal.dst;
    reply.dst = toReal.src;
    reply.l4 = {toReal.l4.proto, c.realPort, toReal.l4.sport, kAck, "answer"};
    Ip fromVip = reply;
    fromVip.src = c.request.dst;
    fromVip.l4.sport = c.request.l4.dport;
    r = lb.run(frame(kLbMac, realMac, reply.dst.v6 ? 0x86dd : 0x0800, ipPacket(reply)));
    EXPECT_EQ(r.verdict, XDP_TX) << c.real;
    EXPECT_EQ(r.out, frame(kClientMac, kLbMac, reply.dst.v6 ? 0x86dd : 0x0800, ipPacket(fromVip)))
        << c.real;
    EXPECT_EQ(lb.stats().nat_returned, ++returned);
  }
  // A reply nobody asked for is not rewritten.
  Ip stray = tcp("10.0.2.5", 8080, "198.51.100.99", 1234, kAck);
  EXPECT_EQ(lb.run(frame(stray)).verdict, XDP_PASS);
}

TEST_F(XdpBalancer, NatAcrossFamiliesIsDropped) {
  lb.setReal(6, "2001:db8:2::6", FULCRUM_FWD_NAT);
  lb.fillRing(0, {6});
  EXPECT_EQ(lb.run(frame(tcp("198.51.100.7", 40000, "192.0.2.10", 80))).verdict, XDP_DROP);
  EXPECT_EQ(lb.stats().nat_family, 1u);
}

TEST_F(XdpBalancer, TheFloodGuardStopsStoringNotForwarding) {
  fulcrum_settings st = lb.settings();
  st.new_flow_rate = 2;  // per CPU and second: the runs below take far less than a second
  lb.setSettings(st);
  // The window is per CPU: every run on one CPU.
  cpu_set_t before, one;
  ASSERT_EQ(sched_getaffinity(0, sizeof(before), &before), 0);
  CPU_ZERO(&one);
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &before)) {
      CPU_SET(c, &one);
      break;
    }
  }
  ASSERT_EQ(sched_setaffinity(0, sizeof(one), &one), 0);
  int stored = 0;
  for (uint16_t port = 100; port < 105; ++port) {
    Ip ip = tcp("198.51.100.7", port, "192.0.2.10", 80);
    Result r = lb.run(frame(ip));
    EXPECT_EQ(r.verdict, XDP_TX) << port;  // every new flow is still served by the ring
    if (lb.connReal(ip) != kNoReal) ++stored;
  }
  sched_setaffinity(0, sizeof(before), &before);
  EXPECT_EQ(stored, 2);
  EXPECT_EQ(lb.stats().flood_skipped, 3u);
  EXPECT_EQ(lb.vipStats(0).new_flows, 2u);
}

// An ICMP error quoting `quoted` (the real's reply from the VIP), sent by a router to the
// VIP: IPv4 fragmentation needed (3/4) or ICMPv6 packet too big (2).
Ip icmpTooBig(const Ip& quoted, const std::string& router) {
  const Bytes q = ipPacket(quoted);
  const size_t keep = (quoted.dst.v6 ? 40 : 20) + 8;
  std::string body = quoted.dst.v6 ? std::string{2, 0, 0, 0, 0, 0, 0x05, 0x00}
                                   : std::string{3, 4, 0, 0, 0, 0, 0x05, 0x00};
  body.append(q.begin(), q.begin() + static_cast<std::ptrdiff_t>(keep));
  Ip icmp;
  icmp.src = Addr::parse(router);
  icmp.dst = quoted.src;
  icmp.l4.proto = quoted.dst.v6 ? 58 : 1;
  icmp.l4.payload = body;
  return icmp;
}

TEST_F(XdpBalancer, PacketTooBigGoesToTheFlowsReal) {
  lb.addVip("2001:db8::10", 443, 6, 1);
  lb.setReal(3, "2001:db8:1::3");
  lb.fillRing(1, {3});
  struct Case {
    Ip flow;
    const char* router;
  } cases[] = {
      {tcp("198.51.100.7", 40000, "192.0.2.10", 80), "203.0.113.1"},
      {tcp("2001:db8:ffff::7", 40000, "2001:db8::10", 443), "2001:db8:ff::1"},
  };
  for (const Case& c : cases) {
    ASSERT_EQ(lb.run(frame(c.flow)).verdict, XDP_TX);
    const uint32_t real = lb.connReal(c.flow);
    ASSERT_NE(real, kNoReal);
    // The real's reply (VIP -> client) did not fit somewhere: the router tells the VIP.
    Ip reply;
    reply.src = c.flow.dst;
    reply.dst = c.flow.src;
    reply.l4 = {6, c.flow.l4.dport, c.flow.l4.sport, kAck, std::string(100, 'r')};
    Ip icmp = icmpTooBig(reply, c.router);
    const std::string realAddr = real == 3 ? "2001:db8:1::3" : "10.0.1." + std::to_string(real + 1);
    Result r = lb.run(frame(icmp));
    EXPECT_EQ(r.verdict, XDP_TX) << c.router;
    EXPECT_EQ(r.out, encapsulated(icmp, realAddr, -1, &c.flow)) << c.router;
  }
  EXPECT_EQ(lb.stats().icmp_forwarded, 2u);
  // For a flow the table does not know: the ring's real, and no entry is made.
  Ip unknown = tcp("198.51.100.99", 40000, "192.0.2.10", 80);
  Ip reply;
  reply.src = unknown.dst;
  reply.dst = unknown.src;
  reply.l4 = {6, 80, 40000, kAck, "x"};
  EXPECT_EQ(lb.run(frame(icmpTooBig(reply, "203.0.113.1"))).verdict, XDP_TX);
  EXPECT_EQ(lb.connReal(unknown), kNoReal);
  // Other ICMP (an echo request to the VIP) is the stack's.
  Ip echo;
  echo.src = Addr::parse("198.51.100.7");
  echo.dst = Addr::parse("192.0.2.10");
  echo.l4.proto = 1;
  echo.l4.payload = std::string{8, 0, 0, 0, 0, 1, 0, 1};
  EXPECT_EQ(lb.run(frame(echo)).verdict, XDP_PASS);
}

TEST_F(XdpBalancer, ASecondInterfaceThroughTheDevmap) {
  fulcrum_settings st = lb.settings();
  st.redirect = 1;
  lb.setSettings(st);
  ASSERT_TRUE(lb.setTxPort(1));  // the loopback's ifindex, as a stand-in egress interface
  Ip ip = tcp("198.51.100.7", 40000, "192.0.2.10", 80);
  const uint32_t real = lb.ringAt(0, proxyHash(ip) % kRing);
  Result r = lb.run(frame(ip));
  EXPECT_EQ(r.verdict, XDP_REDIRECT);
  EXPECT_EQ(r.out, encapsulated(ip, "10.0.1." + std::to_string(real + 1)));
}

TEST_F(XdpBalancer, VlanTagIsKept) {
  Ip ip = tcp("198.51.100.7", 40000, "192.0.2.10", 80);
  const uint32_t real = lb.ringAt(0, proxyHash(ip) % kRing);
  Result r = lb.run(frame(ip, 42));
  EXPECT_EQ(r.verdict, XDP_TX);
  EXPECT_EQ(r.out, encapsulated(ip, "10.0.1." + std::to_string(real + 1), 42));
}

TEST_F(XdpBalancer, FragmentsOptionsAndExtensionHeadersPass) {
  Ip frag = tcp("198.51.100.7", 40000, "192.0.2.10", 80);
  frag.fragOff = 0x2000;  // more fragments
  Bytes in = frame(frag);
  Result r = lb.run(in);
  EXPECT_EQ(r.verdict, XDP_PASS);
  EXPECT_EQ(r.out, in);
  Ip later = frag;
  later.fragOff = 10;  // a later fragment: no L4 header
  EXPECT_EQ(lb.run(frame(later)).verdict, XDP_PASS);
  Ip opts = tcp("198.51.100.7", 40000, "192.0.2.10", 80);
  opts.options = 4;
  EXPECT_EQ(lb.run(frame(opts)).verdict, XDP_PASS);
  lb.addVip("2001:db8::10", 443, 6, 1);
  Ip v6frag = tcp("2001:db8:ffff::7", 50000, "2001:db8::10", 443);
  v6frag.ext = 44;
  EXPECT_EQ(lb.run(frame(v6frag)).verdict, XDP_PASS);
  Ip hop = v6frag;
  hop.ext = 0;
  EXPECT_EQ(lb.run(frame(hop)).verdict, XDP_PASS);
  auto st = lb.stats();
  EXPECT_EQ(st.passed_frag, 3u);
  EXPECT_EQ(st.passed_options, 2u);
  EXPECT_EQ(st.forwarded, 0u);
  // Not IP at all (ARP), and not TCP/UDP (ICMP): passed as other.
  EXPECT_EQ(lb.run(frame(kLbMac, kClientMac, 0x0806, Bytes(28, 0))).verdict, XDP_PASS);
  Ip icmp = tcp("198.51.100.7", 0, "192.0.2.10", 0);
  icmp.l4.proto = 1;
  icmp.l4.payload = std::string{8, 0, 0, 0, 0, 1, 0, 1};  // an echo request
  EXPECT_EQ(lb.run(frame(icmp)).verdict, XDP_PASS);
  EXPECT_EQ(lb.stats().passed_other, 2u);
}

TEST_F(XdpBalancer, TruncatedAndMalformedHeadersAreDroppedAndCounted) {
  Ip ip = tcp("198.51.100.7", 40000, "192.0.2.10", 80);
  Bytes full = frame(ip);
  int dropped = 0;
  // Cut inside the IPv4 and TCP headers (BPF_PROG_TEST_RUN refuses frames shorter than an
  // Ethernet header, so that cut cannot be run here; the program checks it all the same).
  for (size_t len : {size_t{14 + 10}, size_t{14 + 20 + 10}}) {
    Bytes cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(len));
    EXPECT_EQ(lb.run(cut).verdict, XDP_DROP) << len;
    ++dropped;
  }
  Bytes badVersion = full;
  badVersion[14] = 0x55;  // version 5
  EXPECT_EQ(lb.run(badVersion).verdict, XDP_DROP);
  ++dropped;
  Bytes shortIhl = full;
  shortIhl[14] = 0x44;  // ihl 4
  EXPECT_EQ(lb.run(shortIhl).verdict, XDP_DROP);
  ++dropped;
  EXPECT_EQ(lb.stats().malformed, static_cast<uint64_t>(dropped));
  EXPECT_EQ(lb.stats().forwarded, 0u);
}

TEST_F(XdpBalancer, AResetCreatesNoEntry) {
  Ip rst = tcp("198.51.100.7", 40000, "192.0.2.10", 80, kRst);
  EXPECT_EQ(lb.run(frame(rst)).verdict, XDP_TX);  // forwarded by the ring...
  EXPECT_EQ(lb.connReal(rst), kNoReal);           // ...but not remembered
  EXPECT_EQ(lb.vipStats(0).new_flows, 0u);
}

TEST_F(XdpBalancer, AnEmptyRingDrops) {
  lb.fillRing(0, {});
  EXPECT_EQ(lb.run(frame(tcp("198.51.100.7", 40000, "192.0.2.10", 80))).verdict, XDP_DROP);
  EXPECT_EQ(lb.stats().no_real, 1u);
}

TEST_F(XdpBalancer, AFlowOfARealTakenOutIsScheduledAnew) {
  Ip ip = tcp("198.51.100.7", 40000, "192.0.2.10", 80);
  lb.fillRing(0, {1});
  ASSERT_EQ(lb.run(frame(ip)).verdict, XDP_TX);
  ASSERT_EQ(lb.connReal(ip), 1u);
  lb.setReal(1, "10.0.1.2", 0);  // DOWN: no longer a usable real
  lb.fillRing(0, {2});
  ip.l4.tcpFlags = kAck;
  Result r = lb.run(frame(ip));
  EXPECT_EQ(r.verdict, XDP_TX);
  EXPECT_EQ(r.out, encapsulated(ip, "10.0.1.3"));
  EXPECT_EQ(lb.connReal(ip), 2u);
}

TEST_F(XdpBalancer, UdpEntriesExpireTcpOnesDoNot) {
  lb.addVip("192.0.2.30", 53, 17, 1);
  lb.fillRing(1, {0});
  fulcrum_settings st = lb.settings();
  st.udp_timeout_ns = 1;  // every UDP entry is stale by the next packet
  lb.setSettings(st);
  Ip q = udp("198.51.100.7", 5353, "192.0.2.30", 53);
  ASSERT_EQ(lb.run(frame(q)).verdict, XDP_TX);
  lb.fillRing(1, {2});
  Result r = lb.run(frame(q));
  EXPECT_EQ(r.out, encapsulated(q, "10.0.1.3"));  // rescheduled: the new ring's real
  // TCP never expires by time.
  Ip t = tcp("198.51.100.7", 40000, "192.0.2.10", 80);
  lb.fillRing(0, {0});
  ASSERT_EQ(lb.run(frame(t)).verdict, XDP_TX);
  lb.fillRing(0, {1});
  t.l4.tcpFlags = kAck;
  EXPECT_EQ(lb.run(frame(t)).out, encapsulated(t, "10.0.1.1"));
}

TEST_F(XdpBalancer, TheRingHalfInForceIsTheOneUsed) {
  lb.fillRing(0, {0}, 0);
  lb.fillRing(0, {2}, 1);
  Ip a = tcp("198.51.100.7", 40000, "192.0.2.10", 80);
  lb.run(frame(a));
  EXPECT_EQ(lb.connReal(a), 0u);
  lb.setHalf("192.0.2.10", 80, 6, 1);  // the double buffer flips
  Ip b = tcp("198.51.100.8", 40000, "192.0.2.10", 80);
  lb.run(frame(b));
  EXPECT_EQ(lb.connReal(b), 2u);
}

}  // namespace
}  // namespace fulcrum::test
