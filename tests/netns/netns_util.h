// Shared by the netns tests: a client, a balancer and N real servers on one L2 segment (a
// bridge in a "switch" namespace), all in namespaces made and deleted by the test (also on
// failure). Addresses: client 10.201.0.1, balancer 10.201.0.2 (l0), real i 10.201.0.(3+i)
// (r0 in its namespace); the VIP 192.0.2.10 is routed by the client to the balancer and
// held on each real's lo (arp_ignore/announce set, rp_filter off), as DSR needs. IPv6 too:
// client 2001:db8:201::1, balancer ::2, real i ::(3+i) (no DAD), VIP 2001:db8:2::10.
#pragma once

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <sched.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "packet.h"
#include "support/harness.h"

namespace fulcrum::test::netns {

inline bool sh(const std::string& cmd) {
  return run({"/bin/sh", "-c", cmd + " 2>&1"}, 20s).code == 0;
}
inline std::string in(const std::string& ns, const std::string& cmd) {
  return "ip netns exec " + ns + " " + cmd;
}
inline std::string out(const std::string& cmd) { return run({"/bin/sh", "-c", cmd}, 20s).out; }

inline pkt::Mac macOf(const std::string& ns, const std::string& dev) {
  std::string text = out(in(ns, "cat /sys/class/net/" + dev + "/address"));
  pkt::Mac m{};
  unsigned v[6] = {};
  if (std::sscanf(text.c_str(), "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) == 6)
    for (int i = 0; i < 6; ++i) m[static_cast<size_t>(i)] = static_cast<uint8_t>(v[i]);
  return m;
}

// Runs fn() with this thread in the namespace `ns`, then back.
template <typename Fn>
bool inNetns(const std::string& ns, Fn fn) {
  int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  int target = open(("/var/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
  bool ok = self >= 0 && target >= 0 && setns(target, CLONE_NEWNET) == 0;
  if (ok) ok = fn();
  if (self >= 0) setns(self, CLONE_NEWNET);
  if (self >= 0) close(self);
  if (target >= 0) close(target);
  return ok;
}

struct Topology {
  explicit Topology(int nReals = 1) {
    const std::string id = std::to_string(getpid());
    cli = "fl-cli-" + id;
    lb = "fl-lb-" + id;
    sw = "fl-sw-" + id;
    for (int i = 0; i < nReals; ++i) reals.push_back("fl-real" + std::to_string(i) + "-" + id);
    std::vector<std::string> all = {cli, lb, sw};
    all.insert(all.end(), reals.begin(), reals.end());
    ok = true;
    for (const auto& ns : all) ok = ok && sh("ip netns add " + ns);
    ok = ok && sh(in(sw, "ip link add br0 type bridge")) && sh(in(sw, "ip link set br0 up"));
    struct Port {
      std::string ns, dev, peer, addr;
    };
    std::vector<Port> ports = {{cli, "c0", "cp", "10.201.0.1/24"},
                               {lb, "l0", "lp", "10.201.0.2/24"}};
    for (int i = 0; i < nReals; ++i)
      ports.push_back({reals[static_cast<size_t>(i)], "r0", "rp" + std::to_string(i),
                       "10.201.0." + std::to_string(3 + i) + "/24"});
    for (const Port& p : ports) {
      ok = ok &&
           sh("ip link add " + p.dev + " netns " + p.ns + " type veth peer name " + p.peer +
              " netns " + sw) &&
           sh(in(sw, "ip link set " + p.peer + " master br0 up")) &&
           sh(in(p.ns, "ip addr add " + p.addr + " dev " + p.dev)) &&
           sh(in(p.ns, "ip link set " + p.dev + " up")) && sh(in(p.ns, "ip link set lo up")) &&
           // Real checksums: a veth would otherwise leave them to an offload that never
           // happens once the packet is encapsulated.
           sh(in(p.ns, "ethtool -K " + p.dev + " tx off"));
    }
    // IPv6 beside IPv4, usable at once (nodad).
    ok = ok && sh(in(cli, "ip addr add 2001:db8:201::1/64 dev c0 nodad")) &&
         sh(in(lb, "ip addr add 2001:db8:201::2/64 dev l0 nodad"));
    for (int i = 0; i < nReals; ++i)
      ok = ok && sh(in(reals[static_cast<size_t>(i)],
                       "ip addr add " + realAddr6(static_cast<size_t>(i)) + "/64 dev r0 nodad"));
    ok = ok && sh(in(cli, "ip -6 route add 2001:db8:2::10/128 via 2001:db8:201::2"));
    for (const auto& r : reals) ok = ok && sh(in(r, "ip addr add 2001:db8:2::10/128 dev lo"));
    ok = ok && sh(in(cli, "ip route add 192.0.2.10/32 via 10.201.0.2"));
    for (const auto& r : reals)
      ok = ok && sh(in(r, "ip addr add 192.0.2.10/32 dev lo")) &&
           sh(in(r, "sysctl -qw net.ipv4.conf.all.rp_filter=0")) &&
           sh(in(r, "sysctl -qw net.ipv4.conf.r0.rp_filter=0")) &&
           sh(in(r, "sysctl -qw net.ipv4.conf.all.arp_ignore=1")) &&
           sh(in(r, "sysctl -qw net.ipv4.conf.all.arp_announce=2"));
    // Frames the balancer sends with XDP_TX into its veth reach the bridge only if the
    // peer has an XDP program: a pass-through one on lp.
    const bpf_insn pass[] = {{BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, XDP_PASS},
                             {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}};
    passFd = bpf_prog_load(BPF_PROG_TYPE_XDP, "pass", "GPL", pass, 2, nullptr);
    ok = ok && passFd >= 0 && inNetns(sw, [&] {
           return bpf_xdp_attach(static_cast<int>(if_nametoindex("lp")), passFd, XDP_FLAGS_DRV_MODE,
                                 nullptr) == 0;
         });
  }
  ~Topology() {
    sh("ip netns del " + cli);
    sh("ip netns del " + lb);
    sh("ip netns del " + sw);
    for (const auto& r : reals) sh("ip netns del " + r);
    if (passFd >= 0) close(passFd);
  }
  std::string realAddr(size_t i) const { return "10.201.0." + std::to_string(3 + i); }
  std::string realAddr6(size_t i) const { return "2001:db8:201::" + std::to_string(3 + i); }

  std::string cli, lb, sw;
  std::vector<std::string> reals;
  int passFd = -1;
  bool ok = false;
};

}  // namespace fulcrum::test::netns
