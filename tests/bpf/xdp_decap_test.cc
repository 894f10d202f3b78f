// The reals' decapsulation program (decap.bpf.o) through BPF_PROG_TEST_RUN: what the
// balancer encapsulates, decap gives back as the original IP packet, byte for byte.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>

#include <cstring>

#include "balancer_fixture.h"
#include "decap.skel.h"
#include "packet.h"
#include "xdp_abi.h"

namespace fulcrum::test {
namespace {

using namespace pkt;

class Decap {
 public:
  Decap() { skel_ = fulcrum_decap__open_and_load(); }
  ~Decap() {
    if (skel_ != nullptr) fulcrum_decap__destroy(skel_);
  }
  bool ok() const { return skel_ != nullptr; }
  void addLocal(const std::string& addr) {
    fulcrum_addr a{};
    std::memcpy(a.b, Addr::parse(addr).b.data(), 16);
    uint8_t one = 1;
    ASSERT_EQ(bpf_map_update_elem(bpf_map__fd(skel_->maps.fulcrum_decap_addrs), &a, &one, BPF_ANY),
              0);
  }
  Result run(const Bytes& in) {
    Result r;
    r.out.resize(in.size() + 64);
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in.data(), .data_out = r.out.data(),
                .data_size_in = static_cast<uint32_t>(in.size()),
                .data_size_out = static_cast<uint32_t>(r.out.size()), .repeat = 1);
    EXPECT_EQ(bpf_prog_test_run_opts(bpf_program__fd(skel_->progs.fulcrum_decap), &opts), 0);
    r.verdict = static_cast<int>(opts.retval);
    r.out.resize(opts.data_size_out);
    return r;
  }
  fulcrum_decap_stats stats() {
    std::vector<fulcrum_decap_stats> per(static_cast<size_t>(libbpf_num_possible_cpus()));
    uint32_t zero = 0;
    fulcrum_decap_stats sum{};
    if (bpf_map_lookup_elem(bpf_map__fd(skel_->maps.fulcrum_decap_stats), &zero, per.data()))
      return sum;
    for (const auto& s : per) {
      sum.decapsulated += s.decapsulated;
      sum.passed += s.passed;
      sum.malformed += s.malformed;
    }
    return sum;
  }

 private:
  fulcrum_decap* skel_ = nullptr;
};

class XdpDecap : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(lb.ok() && decap.ok()) << "the bpf tests need root / CAP_BPF";
    lb.setReal(0, "10.0.1.1");
    lb.setReal(1, "2001:db8:1::1");
    lb.setReal(3, "10.0.1.1", FULCRUM_FWD_GUE);
    lb.setReal(4, "2001:db8:1::1", FULCRUM_FWD_GUE);
    lb.addVip("192.0.2.10", 80, 6, 0);
    lb.addVip("2001:db8::10", 443, 6, 1);
    decap.addLocal("10.0.1.1");
    decap.addLocal("2001:db8:1::1");
  }
  // The balancer's output for `ip` when its VIP's ring sends everything to `real`.
  Bytes encapsulate(const Ip& ip, uint32_t real, int vlan = -1) {
    lb.fillRing(ip.dst.v6 ? 1 : 0, {real});
    Result r = lb.run(frame(ip, vlan));
    EXPECT_EQ(r.verdict, XDP_TX);
    return r.out;
  }
  Balancer lb{13};
  Decap decap;
};

Ip tcpTo(const std::string& src, const std::string& vip, uint16_t port) {
  Ip ip;
  ip.src = Addr::parse(src);
  ip.dst = Addr::parse(vip);
  ip.l4 = {6, 40000, port, kSyn, "payload"};
  return ip;
}

TEST_F(XdpDecap, EveryEncapsulationComesBackAsTheOriginalPacket) {
  struct Case {
    const char* name;
    Ip ip;
    uint32_t real;
  } cases[] = {
      {"IPIP", tcpTo("198.51.100.7", "192.0.2.10", 80), 0},
      {"IP6IP6", tcpTo("2001:db8:ffff::7", "2001:db8::10", 443), 1},
      {"4-in-6", tcpTo("198.51.100.8", "192.0.2.10", 80), 1},
      {"6-in-4", tcpTo("2001:db8:ffff::8", "2001:db8::10", 443), 0},
      {"GUE 4-in-4", tcpTo("198.51.100.9", "192.0.2.10", 80), 3},
      {"GUE 6-in-6", tcpTo("2001:db8:ffff::9", "2001:db8::10", 443), 4},
      {"GUE 6-in-4", tcpTo("2001:db8:ffff::a", "2001:db8::10", 443), 3},
      {"GUE 4-in-6", tcpTo("198.51.100.10", "192.0.2.10", 80), 4},
  };
  for (const Case& c : cases) {
    for (int vlan : {-1, 7}) {
      Bytes tunneled = encapsulate(c.ip, c.real, vlan);
      Result r = decap.run(tunneled);
      EXPECT_EQ(r.verdict, XDP_PASS) << c.name;
      // The L2 header the balancer wrote, the original IP packet after it.
      EXPECT_EQ(r.out,
                frame(kNextHopMac, kLbMac, c.ip.dst.v6 ? 0x86dd : 0x0800, ipPacket(c.ip), vlan))
          << c.name << " vlan " << vlan;
    }
  }
  EXPECT_EQ(decap.stats().decapsulated, 16u);
}

TEST_F(XdpDecap, OtherTrafficPassesUntouched) {
  // Plain UDP to another port than GUE's.
  Ip dns;
  dns.src = Addr::parse("198.51.100.7");
  dns.dst = Addr::parse("10.0.1.1");
  dns.l4 = {17, 5353, 53, 0, "query"};
  Bytes plainUdp = frame(dns);
  EXPECT_EQ(decap.run(plainUdp).out, plainUdp);
  // Plain TCP, and a tunnel to another host.
  Bytes plain = frame(tcpTo("198.51.100.7", "10.0.1.1", 22));
  Result r = decap.run(plain);
  EXPECT_EQ(r.verdict, XDP_PASS);
  EXPECT_EQ(r.out, plain);
  lb.setReal(2, "10.0.1.2");
  Bytes elsewhere = encapsulate(tcpTo("198.51.100.7", "192.0.2.10", 80), 2);
  r = decap.run(elsewhere);
  EXPECT_EQ(r.verdict, XDP_PASS);
  EXPECT_EQ(r.out, elsewhere);
  EXPECT_EQ(decap.stats().passed, 3u);
  EXPECT_EQ(decap.stats().decapsulated, 0u);
}

TEST_F(XdpDecap, AWrongInnerHeaderIsDropped) {
  Bytes tunneled = encapsulate(tcpTo("198.51.100.7", "192.0.2.10", 80), 0);
  tunneled[14 + 20] = 0x65;  // the outer says IPIP, the inner is not IPv4
  EXPECT_EQ(decap.run(tunneled).verdict, XDP_DROP);
  Bytes cut(tunneled.begin(), tunneled.begin() + 14 + 20);  // no inner header at all
  EXPECT_EQ(decap.run(cut).verdict, XDP_DROP);
  EXPECT_EQ(decap.stats().malformed, 2u);
}

}  // namespace
}  // namespace fulcrum::test
