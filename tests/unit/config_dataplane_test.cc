// The packet data plane's keywords: "dataplane proxy|xdp" on the frontend side, "forward
// ipip|gue|dr|nat" on the backend side and on servers, and the algorithms packet services
// may use.
#include <gtest/gtest.h>

#include "config_test_util.h"

namespace fulcrum::config {
namespace {

using testutil::load;
using testutil::onlyError;

constexpr std::string_view kDefaults =
    "global\n    xdp-interface eth0\n"
    "defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 1s\n"
    "    timeout server 1s\n";

std::string cfg(std::string_view frontend, std::string_view backend) {
  return std::string(kDefaults) + "frontend vip\n    bind 192.0.2.10:80\n" + std::string(frontend) +
         "    default_backend reals\n" + "backend reals\n" + std::string(backend) +
         "    server r1 10.0.1.1:80\n    server r2 10.0.1.2:80 forward nat\n";
}

TEST(ConfigDataplane, XdpServicesForwardModesAndMaglevByDefault) {
  auto c = load(cfg("    dataplane xdp\n", "    forward gue\n"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->services[0].forwarding, model::Forwarding::kPacket);
  EXPECT_EQ(c->pools[0].forward, model::ForwardMode::kGue);
  EXPECT_FALSE(c->pools[0].servers[0].forward.has_value());
  EXPECT_EQ(c->pools[0].servers[1].forward, model::ForwardMode::kNat);
  // No "balance": the packet path's default, maglev.
  EXPECT_EQ(c->pools[0].balance.algo, model::BalanceAlgo::kMaglev);
}

TEST(ConfigDataplane, ProxyIsTheDefaultAndKeepsRoundRobin) {
  auto c = load(cfg("", ""));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->services[0].forwarding, model::Forwarding::kProxy);
  EXPECT_EQ(c->pools[0].balance.algo, model::BalanceAlgo::kRoundRobin);
  EXPECT_EQ(c->pools[0].forward, model::ForwardMode::kIpip);
  auto d = load(cfg("    dataplane proxy\n", "    forward dr\n"));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->services[0].forwarding, model::Forwarding::kProxy);
  EXPECT_EQ(d->pools[0].forward, model::ForwardMode::kDr);
}

TEST(ConfigDataplane, AnAlgorithmItCannotRunIsAnErrorNamingThoseItRuns) {
  for (const char* ok : {"roundrobin", "static-rr", "source", "maglev"}) {
    auto c = load(cfg("    dataplane xdp\n", std::string("    balance ") + ok + "\n"));
    EXPECT_TRUE(c) << ok;
  }
  EXPECT_EQ(onlyError(cfg("    dataplane xdp\n", "    balance leastconn\n")),
            "test.cfg:10: error: section 'frontend vip': keyword 'dataplane': backend 'reals' "
            "balances with 'leastconn', which the packet data plane does not run (it runs "
            "maglev, roundrobin, static-rr and source)");
}

TEST(ConfigDataplane, BadWordsNameTheKeyword) {
  std::string e = onlyError(cfg("    dataplane dpdk\n", ""));
  EXPECT_NE(e.find("test.cfg:10:"), std::string::npos) << e;
  EXPECT_NE(e.find("unknown data plane 'dpdk' (expected 'proxy' or 'xdp')"), std::string::npos)
      << e;
  e = onlyError(cfg("", "    forward tunnel\n"));
  EXPECT_NE(e.find("unknown forwarding mode 'tunnel' (expected ipip, gue, dr or nat)"),
            std::string::npos)
      << e;
  e = onlyError(std::string(kDefaults) +
                "frontend vip\n    bind 192.0.2.10:80\n    dataplane xdp\n");
  EXPECT_NE(e.find("a packet service needs a backend"), std::string::npos) << e;
}

TEST(ConfigDataplane, XdpGlobalKeywords) {
  auto c = load(
      "global\n    xdp-interface eth0\n    xdp-interface eth1 generic\n"
      "    xdp-next-hop 02:00:00:00:0a:fe\n    xdp-tunnel-source 10.100.0.0/24\n"
      "    xdp-tunnel-source fd00:100::\n    xdp-gue-port 9886\n    xdp-conn-table 100000\n"
      "    xdp-max-services 4\n    xdp-max-reals 64\n    xdp-new-flow-rate 5000\n"
      "    xdp-udp-timeout 30s\n");
  ASSERT_TRUE(c);
  const model::XdpSettings& x = c->global.xdp;
  ASSERT_EQ(x.interfaces.size(), 2u);
  EXPECT_EQ(x.interfaces[0].name, "eth0");
  EXPECT_FALSE(x.interfaces[0].generic);
  EXPECT_TRUE(x.interfaces[1].generic);
  ASSERT_TRUE(x.nextHop);
  EXPECT_EQ((*x.nextHop)[4], 0x0a);
  EXPECT_EQ((*x.nextHop)[5], 0xfe);
  ASSERT_TRUE(x.tunnelV4);
  EXPECT_EQ((*x.tunnelV4)[0], 10);
  EXPECT_EQ((*x.tunnelV4)[1], 100);
  EXPECT_EQ(x.tunnelV4Count, 256u);
  ASSERT_TRUE(x.tunnelV6);
  EXPECT_EQ((*x.tunnelV6)[0], 0xfd);
  EXPECT_EQ(x.guePort, 9886);
  EXPECT_EQ(x.connTable, 100000u);
  EXPECT_EQ(x.maxServices, 4u);
  EXPECT_EQ(x.maxReals, 64u);
  EXPECT_EQ(x.newFlowRate, 5000u);
  EXPECT_EQ(x.udpTimeout, 30 * kSeconds);
  // Defaults.
  auto d = load("global\n    maxconn 10\n");
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->global.xdp.interfaces.empty());
  EXPECT_EQ(d->global.xdp.guePort, 6080);
  EXPECT_EQ(d->global.xdp.maxServices, 16u);
}

TEST(ConfigDataplane, XdpKeywordErrorsNameTheLineAndWhy) {
  EXPECT_EQ(onlyError("global\n    xdp-next-hop 02:00:00:00:0a\n"),
            "test.cfg:2: error: section 'global': keyword 'xdp-next-hop': '02:00:00:00:0a' is not "
            "a MAC address (six "
            "hex bytes separated by ':')");
  EXPECT_EQ(onlyError("global\n    xdp-interface eth0 fast\n"),
            "test.cfg:2: error: section 'global': keyword 'xdp-interface': unknown mode 'fast' "
            "(expected 'native' or "
            "'generic')");
  EXPECT_EQ(onlyError("global\n    xdp-interface eth0\n    xdp-interface eth0\n"),
            "test.cfg:3: error: section 'global': keyword 'xdp-interface': interface 'eth0' is "
            "already listed at "
            "test.cfg:2");
  EXPECT_NE(onlyError("global\n    xdp-tunnel-source 10.0.0.0/8\n").find("16 to 32"),
            std::string::npos);
  EXPECT_NE(onlyError("global\n    xdp-tunnel-source fd00::/64\n").find("no prefix length"),
            std::string::npos);
}

TEST(ConfigDataplane, APacketServiceNeedsAnInterface) {
  std::string text = cfg("    dataplane xdp\n", "");
  text.replace(text.find("global\n    xdp-interface eth0\n"), 30, "");
  EXPECT_EQ(onlyError(text),
            "test.cfg:8: error: section 'frontend vip': keyword 'dataplane': 'dataplane xdp' needs "
            "a global 'xdp-interface IFNAME' to attach the packet data plane to");
}

TEST(ConfigDataplane, PortZeroIsEveryPortOfAPacketServiceOnly) {
  auto all = [](std::string_view dataplane) {
    std::string text = cfg(dataplane, "");
    text.replace(text.find("192.0.2.10:80"), 13, "192.0.2.10:0");
    return text;
  };
  auto c = load(all("    dataplane xdp\n"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->services[0].binds[0].addr.port(), 0);
  EXPECT_EQ(onlyError(all("")),
            "test.cfg:9: error: section 'frontend vip': keyword 'bind': port 0 in '192.0.2.10:0' "
            "means every port, which only a packet service ('dataplane xdp') can serve");
  std::string any = cfg("    dataplane xdp\n", "");
  any.replace(any.find("192.0.2.10:80"), 13, "*:80");
  EXPECT_EQ(onlyError(any),
            "test.cfg:9: error: section 'frontend vip': keyword 'bind': a packet service's VIP "
            "needs an address, not '*:80'");
}

TEST(ConfigDataplane, MorePacketServicesThanTheMapsHoldIsAnError) {
  std::string text = cfg("    dataplane xdp\n", "");
  text.replace(text.find("    xdp-interface eth0\n"), 0, "    xdp-max-services 1\n");
  text += "frontend vip2\n    bind 192.0.2.11:80\n    dataplane xdp\n    default_backend reals\n";
  EXPECT_EQ(onlyError(text),
            "test.cfg:18: error: section 'frontend vip2': keyword 'dataplane': more packet "
            "services than 'xdp-max-services' (1) allows");
}

TEST(ConfigDataplane, PinPathAndStopGrace) {
  auto c =
      load(std::string("global\n    xdp-pin-path /sys/fs/bpf/fulcrum/\n    xdp-stop-grace 5s\n") +
           cfg("    dataplane xdp\n", "").substr(std::string("global\n").size()));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->global.xdp.pinPath, "/sys/fs/bpf/fulcrum");
  EXPECT_EQ(c->global.xdp.stopGrace, 5 * kSeconds);
  EXPECT_NE(onlyError("global\n    xdp-pin-path fulcrum\n")
                .find("test.cfg:2: error: section 'global': keyword 'xdp-pin-path': 'fulcrum' is "
                      "not an absolute path"),
            std::string::npos);
  EXPECT_NE(onlyError("global\n    xdp-stop-grace 10m\n").find("is at most 300s"),
            std::string::npos);
}

}  // namespace
}  // namespace fulcrum::config
