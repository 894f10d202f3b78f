// The XDP balancer end to end, in network namespaces made by the test: a client, the
// balancer and a real server on one L2 segment (a bridge in a "switch" namespace). The
// client reaches the VIP through the balancer, whose XDP program (native, on its veth)
// encapsulates the packets to the real (IPIP); the real decapsulates them with
// fulcrum-decap and answers from the VIP straight to the client (direct server return).
// A real TCP connection carries data both ways. The namespaces are deleted at the end,
// also on failure. Needs root.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "balancer_fixture.h"
#include "support/harness.h"

namespace fulcrum::test {
namespace {

const std::string kDecap = FULCRUM_DECAP_BIN;

bool sh(const std::string& cmd) { return run({"/bin/sh", "-c", cmd + " 2>&1"}, 20s).code == 0; }
std::string in(const std::string& ns, const std::string& cmd) {
  return "ip netns exec " + ns + " " + cmd;
}
std::string out(const std::string& cmd) { return run({"/bin/sh", "-c", cmd}, 20s).out; }

Mac macOf(const std::string& ns, const std::string& dev) {
  std::string text = out(in(ns, "cat /sys/class/net/" + dev + "/address"));
  Mac m{};
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
  Topology() {
    const std::string id = std::to_string(getpid());
    cli = "fl-cli-" + id;
    lb = "fl-lb-" + id;
    real = "fl-real-" + id;
    sw = "fl-sw-" + id;
    ok = true;
    for (const auto& ns : {cli, lb, real, sw}) ok = ok && sh("ip netns add " + ns);
    ok = ok && sh(in(sw, "ip link add br0 type bridge")) && sh(in(sw, "ip link set br0 up"));
    struct Port {
      std::string ns, dev, peer, addr;
    } ports[] = {{cli, "c0", "cp", "10.201.0.1/24"},
                 {lb, "l0", "lp", "10.201.0.2/24"},
                 {real, "r0", "rp", "10.201.0.3/24"}};
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
    ok = ok && sh(in(cli, "ip route add 192.0.2.10/32 via 10.201.0.2")) &&
         sh(in(real, "ip addr add 192.0.2.10/32 dev lo")) &&
         sh(in(real, "sysctl -qw net.ipv4.conf.all.rp_filter=0")) &&
         sh(in(real, "sysctl -qw net.ipv4.conf.r0.rp_filter=0")) &&
         sh(in(real, "sysctl -qw net.ipv4.conf.all.arp_ignore=1")) &&
         sh(in(real, "sysctl -qw net.ipv4.conf.all.arp_announce=2"));
  }
  ~Topology() {
    for (const auto& ns : {cli, lb, real, sw}) sh("ip netns del " + ns);
  }
  std::string cli, lb, real, sw;
  bool ok = false;
};

// A TCP echo server on the VIP in the real's namespace (python3), and a client in the
// client's namespace that connects to the VIP, sends a line and prints the answer.
const std::string kEchoServer =
    "python3 -c \""
    "import socket\n"
    "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n"
    "s.bind(('192.0.2.10',80)); s.listen(8); s.settimeout(20)\n"
    "open('READY','w').close()\n"
    "for i in range(3):\n"
    "  c,a=s.accept(); d=c.recv(1000); c.sendall(b'real saw '+d+(' from %s'%a[0]).encode()); "
    "c.close()\n"
    "\"";
const std::string kClient =
    "python3 -c \""
    "import socket\n"
    "c=socket.create_connection(('192.0.2.10',80),timeout=5)\n"
    "c.sendall(b'hello'); print(c.recv(1000).decode())\n"
    "\"";

TEST(NetnsBalancer, TcpThroughTheXdpBalancerWithDirectServerReturn) {
  Topology t;
  ASSERT_TRUE(t.ok) << "cannot build the namespaces (root, iproute2, ethtool needed)";
  // Frames the balancer sends with XDP_TX into its veth reach the bridge only if the
  // peer has an XDP program: a pass-through one on lp.
  const bpf_insn pass[] = {{BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, XDP_PASS},
                           {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}};
  const int passFd = bpf_prog_load(BPF_PROG_TYPE_XDP, "pass", "GPL", pass, 2, nullptr);
  ASSERT_GE(passFd, 0);
  ASSERT_TRUE(inNetns(t.sw, [&] {
    return bpf_xdp_attach(static_cast<int>(if_nametoindex("lp")), passFd, XDP_FLAGS_DRV_MODE,
                          nullptr) == 0;
  }));
  // The balancer: one VIP, one real reached by IPIP, its MAC as the next hop.
  Balancer lb(13, 1);
  ASSERT_TRUE(lb.ok());
  lb.addVip("192.0.2.10", 80, 6, 0);
  lb.setReal(0, "10.201.0.3");
  lb.fillRing(0, {0});
  fulcrum_settings st = lb.settings();
  const Mac lbMac = macOf(t.lb, "l0"), realMac = macOf(t.real, "r0");
  std::memcpy(st.src_mac, lbMac.data(), 6);
  std::memcpy(st.next_hop_mac, realMac.data(), 6);
  st.outer_v4_base = htonl(0x0ac90002);  // the balancer's own address, 10.201.0.2
  st.outer_v4_count = 1;
  lb.setSettings(st);
  ASSERT_TRUE(inNetns(t.lb, [&] {
    return bpf_xdp_attach(static_cast<int>(if_nametoindex("l0")), lb.progFd(), XDP_FLAGS_DRV_MODE,
                          nullptr) == 0;
  }));
  // The real: decapsulation, and the echo server on the VIP.
  TempDir dir, work;
  Process decap, server;
  decap.start({"/bin/sh", "-c", "exec " + in(t.real, kDecap + " attach r0")}, dir.path());
  ASSERT_TRUE(eventually([&] { return decap.out().find("attached to r0") != std::string::npos; }))
      << decap.err();
  server.start({"/bin/sh", "-c", "cd " + work.path() + " && exec " + in(t.real, kEchoServer)},
               work.path());
  ASSERT_TRUE(eventually([&] { return access((work.path() + "/READY").c_str(), F_OK) == 0; }))
      << server.err();
  // Three connections, each a handshake, data both ways and a close.
  for (int i = 0; i < 3; ++i) {
    RunResult r = run({"/bin/sh", "-c", in(t.cli, kClient)}, 15s);
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "real saw hello from 10.201.0.1\n") << r.err;
  }
  EXPECT_EQ(server.wait(10s), 0) << server.err();
  auto stats = lb.stats();
  // The client's packets went through the balancer (SYN, ACKs, data, FIN of 3 connections).
  EXPECT_GE(stats.forwarded, 9u);
  EXPECT_EQ(stats.lru_misses, 3u);  // one new flow per connection, the rest table hits
  decap.signal(SIGTERM);
  decap.wait(10s);
  close(passFd);
}

}  // namespace
}  // namespace fulcrum::test
