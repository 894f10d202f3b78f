// Test fixture around the real XDP program: loads balancer.bpf.o through its skeleton,
// fills its maps, runs frames through BPF_PROG_TEST_RUN and reads the counters back.
#pragma once

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "balancer.skel.h"
#include "packet.h"
#include "xdp_abi.h"

namespace fulcrum::test {

using namespace pkt;

constexpr uint32_t kNoReal = 0xffffffffu;
constexpr uint16_t kGuePort = 6080;

struct Result {
  int verdict = -1;
  Bytes out;
};

// The program loaded with a ring size (and room for `vips` double-buffered rings), with
// test settings: next hop kNextHopMac, outer sources 10.100.0.0/24 and fd00:100::/96.
class Balancer {
 public:
  explicit Balancer(uint32_t ringSize, uint32_t vips = 4) : ring_(ringSize) {
    skel_ = fulcrum_balancer__open();
    if (skel_ == nullptr) return;
    skel_->rodata->ring_size = ringSize;
    bpf_map__set_max_entries(skel_->maps.fulcrum_rings, 2 * ringSize * vips);
    if (fulcrum_balancer__load(skel_) != 0) {
      fulcrum_balancer__destroy(skel_);
      skel_ = nullptr;
      return;
    }
    fulcrum_settings st{};
    std::memcpy(st.src_mac, kLbMac.data(), 6);
    std::memcpy(st.next_hop_mac, kNextHopMac.data(), 6);
    st.outer_v4_base = htonl(0x0a640000);  // 10.100.0.0
    st.outer_v4_count = 256;
    Addr v6 = Addr::parse("fd00:100::");
    std::memcpy(st.outer_v6_base, v6.b.data(), 16);
    st.udp_timeout_ns = 300ull * 1000 * 1000 * 1000;
    st.gue_port = htons(kGuePort);
    setSettings(st);
  }
  ~Balancer() {
    if (skel_ != nullptr) fulcrum_balancer__destroy(skel_);
  }
  bool ok() const { return skel_ != nullptr; }
  int progFd() const { return bpf_program__fd(skel_->progs.fulcrum_balancer); }

  void setSettings(const fulcrum_settings& st) {
    uint32_t zero = 0;
    ASSERT_EQ(bpf_map_update_elem(fd(skel_->maps.fulcrum_settings), &zero, &st, BPF_ANY), 0);
  }
  bool setTxPort(uint32_t ifindex) {
    uint32_t zero = 0;
    return bpf_map_update_elem(fd(skel_->maps.fulcrum_tx_ports), &zero, &ifindex, BPF_ANY) == 0;
  }
  fulcrum_settings settings() {
    uint32_t zero = 0;
    fulcrum_settings st{};
    bpf_map_lookup_elem(fd(skel_->maps.fulcrum_settings), &zero, &st);
    return st;
  }
  void addVip(const std::string& addr, uint16_t port, uint8_t proto, uint32_t ring,
              uint32_t flags = 0) {
    fulcrum_vip_key k{};
    std::memcpy(k.addr, Addr::parse(addr).b.data(), 16);
    k.port = htons(port);
    k.proto = proto;
    fulcrum_vip_meta m{};
    m.ring = ring;
    m.flags = flags;
    ASSERT_EQ(bpf_map_update_elem(fd(skel_->maps.fulcrum_vips), &k, &m, BPF_ANY), 0);
  }
  void setHalf(const std::string& addr, uint16_t port, uint8_t proto, uint32_t half) {
    fulcrum_vip_key k{};
    std::memcpy(k.addr, Addr::parse(addr).b.data(), 16);
    k.port = htons(port);
    k.proto = proto;
    fulcrum_vip_meta m{};
    ASSERT_EQ(bpf_map_lookup_elem(fd(skel_->maps.fulcrum_vips), &k, &m), 0);
    m.half = half;
    ASSERT_EQ(bpf_map_update_elem(fd(skel_->maps.fulcrum_vips), &k, &m, BPF_ANY), 0);
  }
  void setReal(uint32_t index, const std::string& addr, uint8_t forward = FULCRUM_FWD_IPIP,
               const Mac& mac = Mac{}, uint16_t port = 0) {
    fulcrum_real_def r{};
    std::memcpy(r.mac, mac.data(), 6);
    r.port = htons(port);
    Addr a = Addr::parse(addr);
    std::memcpy(r.addr, a.b.data(), 16);
    r.forward = forward;
    r.flags = a.v6 ? FULCRUM_REAL_V6 : 0;
    ASSERT_EQ(bpf_map_update_elem(fd(skel_->maps.fulcrum_reals), &index, &r, BPF_ANY), 0);
  }
  // Writes a whole ring half (ring_ slots).
  void setRing(uint32_t ring, const std::vector<uint32_t>& slots, uint32_t half = 0) {
    for (uint32_t s = 0; s < ring_ && s < slots.size(); ++s) {
      uint32_t idx = (ring * 2 + half) * ring_ + s;
      uint32_t real = slots[s];
      ASSERT_EQ(bpf_map_update_elem(fd(skel_->maps.fulcrum_rings), &idx, &real, BPF_ANY), 0);
    }
  }
  // Every slot of a ring's half holds `reals[slot % reals.size()]`.
  void fillRing(uint32_t ring, const std::vector<uint32_t>& reals, uint32_t half = 0) {
    for (uint32_t s = 0; s < ring_; ++s) {
      uint32_t idx = (ring * 2 + half) * ring_ + s;
      uint32_t real = reals.empty() ? kNoReal : reals[s % reals.size()];
      ASSERT_EQ(bpf_map_update_elem(fd(skel_->maps.fulcrum_rings), &idx, &real, BPF_ANY), 0);
    }
  }
  uint32_t ringAt(uint32_t ring, uint32_t slot, uint32_t half = 0) {
    uint32_t idx = (ring * 2 + half) * ring_ + slot, real = kNoReal;
    bpf_map_lookup_elem(fd(skel_->maps.fulcrum_rings), &idx, &real);
    return real;
  }

  Result run(const Bytes& in) {
    Result r;
    r.out.resize(in.size() + 256);
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in.data(), .data_out = r.out.data(),
                .data_size_in = static_cast<uint32_t>(in.size()),
                .data_size_out = static_cast<uint32_t>(r.out.size()), .repeat = 1);
    int err = bpf_prog_test_run_opts(bpf_program__fd(skel_->progs.fulcrum_balancer), &opts);
    EXPECT_EQ(err, 0) << strerror(errno);
    r.verdict = static_cast<int>(opts.retval);
    r.out.resize(opts.data_size_out);
    return r;
  }

  fulcrum_global_stats stats() {
    const int ncpu = libbpf_num_possible_cpus();
    std::vector<fulcrum_global_stats> per(static_cast<size_t>(ncpu));
    uint32_t zero = 0;
    fulcrum_global_stats sum{};
    if (bpf_map_lookup_elem(fd(skel_->maps.fulcrum_stats), &zero, per.data()) != 0) return sum;
    for (const auto& s : per) {
      const auto* a = reinterpret_cast<const uint64_t*>(&s);
      auto* b = reinterpret_cast<uint64_t*>(&sum);
      for (size_t i = 0; i < sizeof(s) / 8; ++i) b[i] += a[i];
    }
    return sum;
  }
  fulcrum_vip_stats vipStats(uint32_t ring) {
    const int ncpu = libbpf_num_possible_cpus();
    std::vector<fulcrum_vip_stats> per(static_cast<size_t>(ncpu));
    fulcrum_vip_stats sum{};
    if (bpf_map_lookup_elem(fd(skel_->maps.fulcrum_vip_stats), &ring, per.data()) != 0) return sum;
    for (const auto& s : per) {
      sum.packets += s.packets;
      sum.bytes += s.bytes;
      sum.new_flows += s.new_flows;
    }
    return sum;
  }
  // The connection table's real for a flow, or kNoReal.
  uint32_t connReal(const Ip& ip) {
    fulcrum_flow_key k = flowKey(ip);
    fulcrum_flow_value v{};
    if (bpf_map_lookup_elem(fd(skel_->maps.fulcrum_conns), &k, &v) != 0) return kNoReal;
    return v.real;
  }
  static fulcrum_flow_key flowKey(const Ip& ip) {
    fulcrum_flow_key k{};
    std::memcpy(k.src, ip.src.b.data(), 16);
    std::memcpy(k.dst, ip.dst.b.data(), 16);
    k.sport = htons(ip.l4.sport);
    k.dport = htons(ip.l4.dport);
    k.proto = ip.l4.proto;
    return k;
  }

 private:
  static int fd(bpf_map* m) { return bpf_map__fd(m); }
  uint32_t ring_;
  fulcrum_balancer* skel_ = nullptr;
};

}  // namespace fulcrum::test
