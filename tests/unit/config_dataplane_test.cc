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
            "test.cfg:8: error: section 'frontend vip': keyword 'dataplane': backend 'reals' "
            "balances with 'leastconn', which the packet data plane does not run (it runs "
            "maglev, roundrobin, static-rr and source)");
}

TEST(ConfigDataplane, BadWordsNameTheKeyword) {
  std::string e = onlyError(cfg("    dataplane dpdk\n", ""));
  EXPECT_NE(e.find("test.cfg:8:"), std::string::npos) << e;
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

}  // namespace
}  // namespace fulcrum::config
