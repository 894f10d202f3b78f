// fulcrum-decap on a real server, end to end in network namespaces: a "balancer"
// namespace sends IPIP and GUE packets over a veth to a "real" namespace whose interface
// runs the decap program in native XDP mode; a UDP socket bound on the VIP (on the real's
// lo) receives the inner datagram, with the client's address. The namespaces are the
// test's own and are deleted at the end, also on failure. Needs root.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <string>

#include "support/harness.h"

namespace fulcrum::test {
namespace {

const std::string kDecap = FULCRUM_DECAP_BIN;

struct Netns {
  Netns() : lb("fl-lb-" + std::to_string(getpid())), real("fl-real-" + std::to_string(getpid())) {
    ok = sh("ip netns add " + lb) && sh("ip netns add " + real) &&
         sh("ip link add vl netns " + lb + " type veth peer name vr netns " + real) &&
         sh(in(lb, "ip addr add 10.200.0.1/24 dev vl")) && sh(in(lb, "ip link set vl up")) &&
         sh(in(lb, "ip link set lo up")) && sh(in(real, "ip addr add 10.200.0.2/24 dev vr")) &&
         sh(in(real, "ip link set vr up")) && sh(in(real, "ip link set lo up")) &&
         sh(in(real, "ip addr add 192.0.2.10/32 dev lo")) &&  // the VIP
         sh(in(real, "sysctl -qw net.ipv4.conf.all.rp_filter=0")) &&
         sh(in(real, "sysctl -qw net.ipv4.conf.vr.rp_filter=0")) &&
         sh(in(real, "ip route add default via 10.200.0.1"));
  }
  ~Netns() {
    sh("ip netns del " + lb);
    sh("ip netns del " + real);
  }
  static std::string in(const std::string& ns, const std::string& cmd) {
    return "ip netns exec " + ns + " " + cmd;
  }
  static bool sh(const std::string& cmd) {
    return run({"/bin/sh", "-c", cmd + " 2>&1"}, 20s).code == 0;
  }
  std::string lb, real;
  bool ok = false;
};

// Python in the balancer namespace: sends one packet. `outer`: "ipip" (a raw IPPROTO_IPIP
// socket, the kernel adds the outer header) or "gue" (a UDP datagram to the GUE port with
// the inner IP packet as its payload).
std::string sender(const std::string& outer) {
  return "python3 -c \""
         "import socket,struct\n"
         "def csum(b):\n"
         "  s=sum(struct.unpack('!%dH'%(len(b)//2),b)); s=(s&0xffff)+(s>>16); "
         "s=(s&0xffff)+(s>>16)\n"
         "  return ~s&0xffff\n"
         "payload=b'hello through the tunnel'\n"
         "udp=struct.pack('!HHHH',40000,5000,8+len(payload),0)+payload\n"
         "ip=struct.pack('!BBHHHBBH4s4s',0x45,0,20+len(udp),1,0,64,17,0,"
         "socket.inet_aton('198.51.100.7'),socket.inet_aton('192.0.2.10'))\n"
         "ip=ip[:10]+struct.pack('!H',csum(ip))+ip[12:]\n" +
         (outer == "ipip"
              ? std::string("s=socket.socket(socket.AF_INET,socket.SOCK_RAW,socket.IPPROTO_IPIP)\n"
                            "s.sendto(ip+udp,('10.200.0.2',0))\n")
              : std::string("s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
                            "s.bind(('10.200.0.1',49999))\n"
                            "s.sendto(ip+udp,('10.200.0.2',6080))\n")) +
         "\"";
}

// Python in the real namespace: one datagram on the VIP, printed with its source.
const std::string kReceiver =
    "python3 -c \""
    "import socket\n"
    "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
    "s.bind(('192.0.2.10',5000))\n"
    "s.settimeout(8)\n"
    "open('READY','w').close()\n"
    "d,a=s.recvfrom(200)\n"
    "print(d.decode(),a[0],a[1])\n"
    "\"";

TEST(NetnsDecap, IpipAndGueReachTheVipSocket) {
  Netns ns;
  ASSERT_TRUE(ns.ok) << "cannot build the namespaces (root needed)";
  TempDir dir;
  Process decap;
  decap.start({"/bin/sh", "-c", "exec " + Netns::in(ns.real, kDecap + " attach vr")}, dir.path());
  ASSERT_TRUE(eventually([&] { return decap.out().find("attached to vr") != std::string::npos; }))
      << decap.err();
  for (const std::string outer : {"ipip", "gue"}) {
    TempDir work;
    Process receiver;
    receiver.start({"/bin/sh", "-c", "cd " + work.path() + " && " + Netns::in(ns.real, kReceiver)},
                   work.path());
    ASSERT_TRUE(eventually([&] { return access((work.path() + "/READY").c_str(), F_OK) == 0; }))
        << receiver.err();
    ASSERT_TRUE(Netns::sh(Netns::in(ns.lb, sender(outer)))) << outer;
    EXPECT_EQ(receiver.wait(10s), 0) << outer << ": " << receiver.err();
    EXPECT_EQ(receiver.out(), "hello through the tunnel 198.51.100.7 40000\n") << outer;
  }
  decap.signal(SIGTERM);
  EXPECT_EQ(decap.wait(10s), 0);
  EXPECT_NE(decap.out().find("detached from vr"), std::string::npos) << decap.out();
}

}  // namespace
}  // namespace fulcrum::test
