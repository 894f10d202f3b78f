#include "model/acl.h"

#include <gtest/gtest.h>

namespace fulcrum::model {
namespace {

Cidr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, int len) {
  Cidr x;
  x.addr[10] = x.addr[11] = 0xff;
  x.addr[12] = a;
  x.addr[13] = b;
  x.addr[14] = c;
  x.addr[15] = d;
  x.prefix = static_cast<uint8_t>(96 + len);
  return x;
}

Cidr v6(const char* text, int len) {
  Cidr x;
  SockAddr a = *SockAddr::parseHost(text, 0);
  toV6Bytes(a, x.addr);
  x.prefix = static_cast<uint8_t>(len);
  return x;
}

bool inAcl(const Acl& acl, const char* host) {
  uint8_t b[16];
  toV6Bytes(*SockAddr::parseHost(host, 1), b);
  return aclMatches(acl, b);
}

TEST(Acl, Ipv4PrefixesMatchOnlyInside) {
  Acl acl{"lan", {v4(10, 0, 0, 0, 8), v4(192, 168, 1, 128, 25)}, {}};
  EXPECT_TRUE(inAcl(acl, "10.1.2.3"));
  EXPECT_FALSE(inAcl(acl, "11.0.0.1"));
  EXPECT_TRUE(inAcl(acl, "192.168.1.200"));
  EXPECT_FALSE(inAcl(acl, "192.168.1.127"));
  EXPECT_FALSE(inAcl(acl, "::1"));  // an IPv6 client is not in an IPv4 prefix
}

TEST(Acl, Ipv6PrefixesAndHostRoutes) {
  Acl acl{"six", {v6("2001:db8::", 32), v6("::1", 128)}, {}};
  EXPECT_TRUE(inAcl(acl, "2001:db8:1::5"));
  EXPECT_FALSE(inAcl(acl, "2001:db9::5"));
  EXPECT_TRUE(inAcl(acl, "::1"));
  EXPECT_FALSE(inAcl(acl, "::2"));
  EXPECT_FALSE(inAcl(acl, "127.0.0.1"));
}

TEST(Acl, ZeroPrefixMatchesEverything) {
  Acl acl{"all", {v6("::", 0)}, {}};
  EXPECT_TRUE(inAcl(acl, "127.0.0.1"));
  EXPECT_TRUE(inAcl(acl, "fe80::1"));
}

TEST(TcpRequest, FirstMatchingRuleDecidesAndDefaultAccepts) {
  Service svc;
  svc.acls = {Acl{"bad", {v4(10, 0, 0, 0, 8)}, {}}, Acl{"good", {v4(10, 1, 0, 0, 16)}, {}}};
  TcpRequestRule acceptGood;
  acceptGood.action = TcpRequestRule::Action::kAccept;
  acceptGood.condition.anyOf = {{AclTerm{1, false}}};
  TcpRequestRule rejectBad;
  rejectBad.action = TcpRequestRule::Action::kReject;
  rejectBad.condition.anyOf = {{AclTerm{0, false}}};
  svc.tcpRequestConnection = {acceptGood, rejectBad};
  EXPECT_TRUE(acceptsConnection(svc, *SockAddr::parseHost("10.1.2.3", 1)));
  EXPECT_FALSE(acceptsConnection(svc, *SockAddr::parseHost("10.2.2.3", 1)));
  EXPECT_TRUE(acceptsConnection(svc, *SockAddr::parseHost("172.16.0.1", 1)));
}

TEST(TcpRequest, UnlessNegationAndOrGroups) {
  Service svc;
  svc.acls = {Acl{"a", {v4(10, 0, 0, 0, 8)}, {}}, Acl{"b", {v4(10, 5, 0, 0, 16)}, {}},
              Acl{"c", {v6("::1", 128)}, {}}};
  // reject unless (a !b) || c
  TcpRequestRule r;
  r.action = TcpRequestRule::Action::kReject;
  r.condition.unless = true;
  r.condition.anyOf = {{AclTerm{0, false}, AclTerm{1, true}}, {AclTerm{2, false}}};
  svc.tcpRequestConnection = {r};
  EXPECT_TRUE(acceptsConnection(svc, *SockAddr::parseHost("10.1.1.1", 1)));   // a, not b
  EXPECT_FALSE(acceptsConnection(svc, *SockAddr::parseHost("10.5.1.1", 1)));  // a and b
  EXPECT_TRUE(acceptsConnection(svc, *SockAddr::parseHost("::1", 1)));        // c
  EXPECT_FALSE(acceptsConnection(svc, *SockAddr::parseHost("8.8.8.8", 1)));   // none
}

}  // namespace
}  // namespace fulcrum::model
