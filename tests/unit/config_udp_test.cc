// UDP sections: HAProxy Enterprise's "udp-lb" (no defaults inherited), "mode udp" in
// listen/frontend/backend, "dgram-bind", proxy-requests / proxy-responses /
// accepted-payload-size, and the TCP-only keywords that are errors there.
#include <fmt/core.h>
#include <gtest/gtest.h>

#include "config_test_util.h"

namespace fulcrum::config {
namespace {

using testutil::dump;
using testutil::load;
using testutil::onlyError;
using testutil::parse;

TEST(ConfigUdp, AUdpLbSectionIsAUdpServiceWithItsPool) {
  auto c = load(
      "udp-lb dns\n"
      "  dgram-bind 127.0.0.1:53\n"
      "  dgram-bind [::1]:53 v6only\n"
      "  balance source\n"
      "  hash-type consistent\n"
      "  proxy-requests 1\n"
      "  proxy-responses 1\n"
      "  accepted-payload-size 4096\n"
      "  maxconn 5000\n"
      "  timeout client 5s\n"
      "  timeout server 2s\n"
      "  server ns1 10.0.0.1:53 weight 2\n"
      "  server ns2 10.0.0.2:53 backup\n");
  ASSERT_TRUE(c);
  ASSERT_EQ(c->services.size(), 1u);
  ASSERT_EQ(c->pools.size(), 1u);
  const model::Service& s = c->services[0];
  EXPECT_EQ(s.protocol, model::Protocol::kUdp);
  EXPECT_EQ(c->pools[0].protocol, model::Protocol::kUdp);
  ASSERT_EQ(s.binds.size(), 2u);
  EXPECT_TRUE(s.binds[0].dgram);
  EXPECT_EQ(s.binds[1].v6only, model::Tristate::kOn);
  EXPECT_EQ(s.proxyRequests, 1u);
  EXPECT_EQ(s.proxyResponses, 1);
  EXPECT_EQ(s.payloadSize, 4096u);
  EXPECT_EQ(s.maxconn, 5000u);
  EXPECT_EQ(s.clientTimeout, 5 * kSeconds);
  EXPECT_EQ(c->pools[0].serverTimeout, 2 * kSeconds);
  EXPECT_EQ(c->pools[0].balance.algo, model::BalanceAlgo::kSource);
  EXPECT_EQ(c->pools[0].servers[0].weight, 2u);
  EXPECT_TRUE(c->pools[0].servers[1].backup);
  EXPECT_EQ(s.defaultPool, 0);
}

TEST(ConfigUdp, UnsetFlowLimitsMeanUnlimitedAndThePayloadSizeDefaultsTo1472) {
  auto c = load("udp-lb syslog\n  dgram-bind 127.0.0.1:514\n  server s 10.0.0.1:514\n");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->services[0].proxyRequests, 0u);
  EXPECT_EQ(c->services[0].proxyResponses, -1);
  EXPECT_EQ(c->services[0].payloadSize, 1472u);
  auto none = load(
      "udp-lb syslog\n  dgram-bind 127.0.0.1:514\n  proxy-responses 0\n  server s 10.0.0.1:514\n");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->services[0].proxyResponses, 0);
}

TEST(ConfigUdp, AUdpLbSectionInheritsNothingFromDefaults) {
  // As in HAProxy Enterprise: the defaults' mode, timeouts and balance do not apply.
  auto c = load(
      "defaults\n  mode tcp\n  balance leastconn\n  timeout client 9s\n  timeout connect 1s\n"
      "  timeout server 9s\n"
      "udp-lb dns\n  dgram-bind 127.0.0.1:53\n  server ns1 10.0.0.1:53\n");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->services[0].protocol, model::Protocol::kUdp);
  EXPECT_EQ(c->services[0].clientTimeout, 0);
  EXPECT_EQ(c->pools[0].balance.algo, model::BalanceAlgo::kRoundRobin);
  EXPECT_NE(onlyError("defaults d\n  mode tcp\nudp-lb dns from d\n  dgram-bind 127.0.0.1:53\n")
                .find("test.cfg:3: error: section 'udp-lb dns': keyword 'udp-lb': unexpected "
                      "argument 'from' (udp-lb sections do not inherit from defaults sections)"),
            std::string::npos);
}

TEST(ConfigUdp, ModeUdpInListenFrontendAndBackend) {
  auto c = load(
      "defaults\n  mode udp\n"
      "frontend f\n  bind 127.0.0.1:1812\n  default_backend radius\n"
      "backend radius\n  server r1 10.0.0.1:1812\n"
      "listen l\n  mode udp\n  bind :::1813\n  server r2 10.0.0.2:1813\n");
  ASSERT_TRUE(c);
  for (const auto& s : c->services) EXPECT_EQ(s.protocol, model::Protocol::kUdp) << s.name;
  for (const auto& p : c->pools) EXPECT_EQ(p.protocol, model::Protocol::kUdp) << p.name;
}

TEST(ConfigUdp, TcpOnlyKeywordsAreErrorsWithTheirLine) {
  const std::string base = "udp-lb dns\n  dgram-bind 127.0.0.1:53\n";
  struct Case {
    std::string line;
    std::string keyword;
  };
  for (const Case& k : std::vector<Case>{{"option splice-auto", "option splice-auto"},
                                         {"option tcp-check", "option tcp-check"},
                                         {"tcp-check connect", "tcp-check"},
                                         {"timeout connect 1s", "timeout connect"},
                                         {"option tcpka", "option tcpka"},
                                         {"retries 3", "retries"},
                                         {"no option redispatch", "no option redispatch"}}) {
    const std::string err = onlyError(base + "  " + k.line + "\n  server ns1 10.0.0.1:53\n");
    EXPECT_NE(err.find(fmt::format("test.cfg:3: error: section 'udp-lb dns': keyword '{}' does "
                                   "not apply to UDP",
                                   k.keyword)),
              std::string::npos)
        << err;
  }
  // In a listen section the mode may come after the keyword.
  const std::string err = onlyError(
      "listen l\n  option splice-auto\n  mode udp\n  bind 127.0.0.1:53\n  server s 10.0.0.1:53\n");
  EXPECT_NE(err.find("test.cfg:2: error: section 'listen l': keyword 'option splice-auto' does "
                     "not apply to UDP: a 'mode udp' section carries datagrams"),
            std::string::npos)
      << err;
  // What a TCP defaults section passes on is not an error, it is unused.
  EXPECT_TRUE(
      load("defaults\n  option splice-auto\n  timeout connect 1s\n"
           "listen l\n  mode udp\n  bind 127.0.0.1:53\n  server s 10.0.0.1:53\n"));
}

TEST(ConfigUdp, ServerAndBindParametersUdpCannotHonour) {
  EXPECT_NE(onlyError("udp-lb d\n  dgram-bind 127.0.0.1:53\n  server s 10.0.0.1:53 send-proxy\n")
                .find("test.cfg:3: error: section 'udp-lb d': server 's': 'send-proxy' (PROXY v1) "
                      "is a TCP header"),
            std::string::npos);
  EXPECT_NE(onlyError("udp-lb d\n  dgram-bind 127.0.0.1:53 tfo\n  server s 10.0.0.1:53\n")
                .find("test.cfg:2: error: section 'udp-lb d': keyword 'dgram-bind': bind "
                      "parameter 'tfo' applies to TCP listeners only"),
            std::string::npos);
  EXPECT_NE(onlyError("udp-lb d\n  dgram-bind 127.0.0.1:53 shards 2\n  server s 10.0.0.1:53\n")
                .find("test.cfg:2: error: section 'udp-lb d': keyword 'dgram-bind': bind "
                      "parameter 'shards' is not supported yet"),
            std::string::npos);
}

TEST(ConfigUdp, ProtocolsMustMatchAndDatagramBindsNeedUdp) {
  EXPECT_NE(onlyError("frontend f\n  mode udp\n  bind 127.0.0.1:53\n  default_backend b\n"
                      "backend b\n  mode tcp\n  timeout connect 1s\n  timeout server 1s\n"
                      "  server s 10.0.0.1:53\n")
                .find("test.cfg:4: error: section 'frontend f': keyword 'default_backend': "
                      "backend 'b' carries TCP and this frontend UDP"),
            std::string::npos);
  EXPECT_NE(onlyError("listen l\n  mode tcp\n  timeout client 1s\n  timeout connect 1s\n"
                      "  timeout server 1s\n  dgram-bind 127.0.0.1:53\n  server s 10.0.0.1:53\n")
                .find("test.cfg:6: error: section 'listen l': keyword 'dgram-bind': listen 'l' "
                      "carries TCP"),
            std::string::npos);
}

TEST(ConfigUdp, KeywordsOutsideTheUdpLbSetAreRefusedThere) {
  const std::string err = onlyError("udp-lb d\n  dgram-bind 127.0.0.1:53\n  bind 127.0.0.1:54\n");
  EXPECT_NE(err.find("test.cfg:3: error: section 'udp-lb d': keyword 'bind' is not allowed in a "
                     "udp-lb section"),
            std::string::npos)
      << err;
  const auto r = parse("udp-lb d\n  dgram-bind 127.0.0.1:53\n  accepted-payload-size 65508\n");
  EXPECT_FALSE(r.ok()) << dump(r);
}

TEST(ConfigUdp, UdpAndDnsChecks) {
  auto c = load(
      "udp-lb app\n  dgram-bind 127.0.0.1:9000\n  option udp-check\n"
      "  udp-check send-binary 50494e47\n  udp-check expect string PONG\n"
      "  server s 10.0.0.1:9000 check inter 1s fall 3\n"
      "udp-lb dns\n  dgram-bind 127.0.0.1:53\n  option dns-check example.org\n"
      "  server s 10.0.0.1:53 check\n");
  ASSERT_TRUE(c);
  const model::UdpCheckParams& u = c->pools[0].udpCheck;
  EXPECT_EQ(u.kind, model::UdpCheckParams::Kind::kDatagram);
  EXPECT_EQ(u.send, "PING");
  ASSERT_TRUE(u.expect.has_value());
  EXPECT_EQ(u.expect->data, "PONG");
  EXPECT_TRUE(c->pools[0].servers[0].check.enabled);
  EXPECT_EQ(c->pools[1].udpCheck.kind, model::UdpCheckParams::Kind::kDns);
  EXPECT_EQ(c->pools[1].udpCheck.dnsName, "example.org.");
  auto root = load("udp-lb dns\n  dgram-bind 127.0.0.1:53\n  option dns-check\n");
  ASSERT_TRUE(root);
  EXPECT_EQ(root->pools[0].udpCheck.dnsName, ".");

  EXPECT_NE(onlyError("udp-lb d\n  dgram-bind 127.0.0.1:53\n  server s 10.0.0.1:53 check\n")
                .find("test.cfg:3: error: section 'udp-lb d': server 's': 'check' on a UDP server "
                      "needs 'option udp-check' or 'option dns-check'"),
            std::string::npos);
  EXPECT_NE(onlyError("udp-lb d\n  dgram-bind 127.0.0.1:53\n  option dns-check a..b\n")
                .find("test.cfg:3: error: section 'udp-lb d': keyword 'option dns-check': invalid "
                      "DNS name 'a..b.'"),
            std::string::npos);
  EXPECT_NE(onlyError("udp-lb d\n  dgram-bind 127.0.0.1:53\n  udp-check connect\n")
                .find("test.cfg:3: error: section 'udp-lb d': keyword 'udp-check': unknown action "
                      "'connect'"),
            std::string::npos);
  EXPECT_NE(onlyError("udp-lb d\n  dgram-bind 127.0.0.1:53\n  udp-check expect rstring (\n")
                .find("test.cfg:3: error: section 'udp-lb d': keyword 'udp-check':"),
            std::string::npos);
}

TEST(ConfigUdp, UdpVipsOnThePacketDataPlane) {
  auto c = load(
      "global\n  xdp-interface eth0\n"
      "udp-lb dns\n  dgram-bind 192.0.2.10:53\n  dataplane xdp\n  forward dr\n"
      "  server r1 10.0.0.1:53\n");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->services[0].protocol, model::Protocol::kUdp);
  EXPECT_EQ(c->services[0].forwarding, model::Forwarding::kPacket);
  EXPECT_EQ(c->pools[0].forward, model::ForwardMode::kDr);
  EXPECT_EQ(c->pools[0].balance.algo, model::BalanceAlgo::kMaglev);  // the packet default
}

}  // namespace
}  // namespace fulcrum::config
