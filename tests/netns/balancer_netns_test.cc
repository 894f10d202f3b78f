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
#include "netns_util.h"
#include "support/harness.h"

namespace fulcrum::test {
namespace {

const std::string kDecap = FULCRUM_DECAP_BIN;

using namespace netns;

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
  // The balancer: one VIP, one real reached by IPIP, its MAC as the next hop.
  Balancer lb(13, 1);
  ASSERT_TRUE(lb.ok());
  lb.addVip("192.0.2.10", 80, 6, 0);
  lb.setReal(0, "10.201.0.3");
  lb.fillRing(0, {0});
  fulcrum_settings st = lb.settings();
  const Mac lbMac = macOf(t.lb, "l0"), realMac = macOf(t.reals[0], "r0");
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
  decap.start({"/bin/sh", "-c", "exec " + in(t.reals[0], kDecap + " attach r0")}, dir.path());
  ASSERT_TRUE(eventually([&] { return decap.out().find("attached to r0") != std::string::npos; }))
      << decap.err();
  server.start({"/bin/sh", "-c", "cd " + work.path() + " && exec " + in(t.reals[0], kEchoServer)},
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
}

}  // namespace
}  // namespace fulcrum::test
