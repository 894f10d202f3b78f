// Value parsers of the config layer: integers, times, sizes, and addresses.
#include <gtest/gtest.h>

#include "config/address.h"
#include "config/units.h"

namespace fulcrum::config {
namespace {

TEST(ConfigUnits, TimeUnits) {
  EXPECT_EQ(*parseTime("250"), 250 * kMillis);  // a bare number is in milliseconds
  EXPECT_EQ(*parseTime("250us"), 250);
  EXPECT_EQ(*parseTime("250ms"), 250 * kMillis);
  EXPECT_EQ(*parseTime("5s"), 5 * kSeconds);
  EXPECT_EQ(*parseTime("2m"), 120 * kSeconds);
  EXPECT_EQ(*parseTime("3h"), 3 * 3600 * kSeconds);
  EXPECT_EQ(*parseTime("1d"), 86400 * kSeconds);
  EXPECT_EQ(*parseTime("0"), 0);
  EXPECT_EQ(*parseTime("7", kSeconds), 7 * kSeconds);
}

TEST(ConfigUnits, BadTimes) {
  for (const char* bad : {"", "s", "5x", "5 s", "1.5s", "-1", "+1", "5S", "5sec", "ms"}) {
    auto t = parseTime(bad);
    EXPECT_FALSE(t.ok()) << bad;
    if (!t.ok()) {
      EXPECT_NE(t.error().find(std::string("'") + bad + "'"), std::string::npos) << t.error();
    }
  }
}

TEST(ConfigUnits, TimesAreBoundedLikeHaproxyTimers) {
  EXPECT_EQ(*parseTime("2147483647"), int64_t{2147483647} * kMillis);
  EXPECT_EQ(*parseTime("24d"), 24 * 86400 * kSeconds);
  EXPECT_FALSE(parseTime("2147483648").ok());
  EXPECT_FALSE(parseTime("25d").ok());
  EXPECT_FALSE(parseTime("99999999999999999999999").ok());
  EXPECT_NE(parseTime("25d").error().find("too large"), std::string::npos);
}

TEST(ConfigUnits, SizeUnitsAre1024Based) {
  EXPECT_EQ(*parseSize("16"), 16u);
  EXPECT_EQ(*parseSize("16k"), 16u * 1024);
  EXPECT_EQ(*parseSize("16K"), 16u * 1024);
  EXPECT_EQ(*parseSize("2m"), 2u * 1024 * 1024);
  EXPECT_EQ(*parseSize("2M"), 2u * 1024 * 1024);
  EXPECT_EQ(*parseSize("1g"), uint64_t{1} << 30);
  EXPECT_EQ(*parseSize("1G"), uint64_t{1} << 30);
  for (const char* bad : {"", "k", "1kb", "1t", "1.5k", "-1", "1 k"})
    EXPECT_FALSE(parseSize(bad).ok()) << bad;
}

TEST(ConfigUnits, StrictIntegers) {
  EXPECT_EQ(*parseUint("42", 0, 100), 42u);
  EXPECT_EQ(*parseUint("0", 0, 100), 0u);
  EXPECT_EQ(*parseUint("100", 0, 100), 100u);
  for (const char* bad : {"", "+1", "-1", " 1", "1 ", "1x", "0x10", "1.0"}) {
    auto v = parseUint(bad, 0, 100);
    EXPECT_FALSE(v.ok()) << bad;
    if (!v.ok()) {
      EXPECT_NE(v.error().find("invalid number"), std::string::npos) << v.error();
    }
  }
  EXPECT_NE(parseUint("101", 0, 100).error().find("out of range"), std::string::npos);
  EXPECT_NE(parseUint("0", 1, 100).error().find("out of range"), std::string::npos);
  EXPECT_NE(parseUint("99999999999999999999999", 0, 100).error().find("out of range"),
            std::string::npos);
}

SockAddr addr(const char* text) { return *SockAddr::parse(text); }

TEST(ConfigAddress, BindForms) {
  struct Case {
    const char* text;
    int family;
    const char* expected;
  };
  for (const Case& c : {
           Case{"*:443", AF_INET, "0.0.0.0:443"},
           Case{":443", AF_INET, "0.0.0.0:443"},
           Case{"0.0.0.0:443", AF_INET, "0.0.0.0:443"},
           Case{"1.2.3.4:443", AF_INET, "1.2.3.4:443"},
           Case{"[::]:443", AF_INET6, "[::]:443"},
           Case{":::443", AF_INET6, "[::]:443"},
           Case{"[::1]:443", AF_INET6, "[::1]:443"},
           Case{"ipv4@:443", AF_INET, "0.0.0.0:443"},
           Case{"ipv4@1.2.3.4:443", AF_INET, "1.2.3.4:443"},
           Case{"ipv6@:443", AF_INET6, "[::]:443"},
           Case{"ipv6@*:443", AF_INET6, "[::]:443"},
           Case{"ipv6@[::1]:443", AF_INET6, "[::1]:443"},
           Case{"ipv6@:::443", AF_INET6, "[::]:443"},
       }) {
    auto r = parseBindAddresses(c.text);
    ASSERT_TRUE(r.ok()) << c.text << ": " << r.error();
    ASSERT_EQ(r->size(), 1u) << c.text;
    EXPECT_EQ((*r)[0].addr.family(), c.family) << c.text;
    EXPECT_EQ((*r)[0].addr.toString(), c.expected) << c.text;
    EXPECT_EQ((*r)[0].text, c.text);
  }
}

TEST(ConfigAddress, BindListsAndPortRanges) {
  auto r = parseBindAddresses(":80,[::]:81,10.0.0.1:8000-8002");
  ASSERT_TRUE(r.ok()) << r.error();
  ASSERT_EQ(r->size(), 5u);
  EXPECT_EQ((*r)[0].addr, addr("0.0.0.0:80"));
  EXPECT_EQ((*r)[1].addr, addr("[::]:81"));
  EXPECT_EQ((*r)[2].addr, addr("10.0.0.1:8000"));
  EXPECT_EQ((*r)[3].addr, addr("10.0.0.1:8001"));
  EXPECT_EQ((*r)[4].addr, addr("10.0.0.1:8002"));
  EXPECT_EQ((*r)[3].text, "10.0.0.1:8001");
  auto v6 = parseBindAddresses("[::1]:9000-9001");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ((*v6)[1].text, "[::1]:9001");
  EXPECT_EQ((*v6)[1].addr, addr("[::1]:9001"));
}

TEST(ConfigAddress, BadBindAddresses) {
  struct Case {
    const char* text;
    const char* expected;
  };
  for (const Case& c : {
           Case{"1.2.3.4", "missing port"},
           Case{"[::1]", "missing port"},
           Case{"1.2.3.4:", "missing port"},
           Case{"1.2.3.4:99999", "invalid port"},
           // "1.2.3.4:0" parses: every port of a packet service (ConfigDataplane tests).
           Case{"1.2.3.4:80x", "invalid port"},
           Case{"1.2.3.4:90-80", "invalid port range"},
           Case{"1.2.3.4:80-", "invalid port range"},
           Case{":80,", "empty address"},
           Case{",:80", "empty address"},
           Case{"ipv4@[::1]:80", "not an IPv4 address"},
           Case{"ipv6@1.2.3.4:80", "not an IPv6 address"},
           Case{"udp@:53", "not supported yet"},
           Case{"unix@/run/x.sock", "not supported yet"},
           Case{"/run/x.sock", "UNIX socket"},
           Case{"foo@:80", "unknown address prefix 'foo@'"},
           Case{"1.2.3.256.7:80", "1.2.3.256.7"},
       }) {
    auto r = parseBindAddresses(c.text);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_NE(r.error().find(c.expected), std::string::npos) << c.text << ": " << r.error();
  }
}

TEST(ConfigAddress, ServerAddresses) {
  EXPECT_EQ(*parseServerAddress("10.0.1.1:443"), addr("10.0.1.1:443"));
  EXPECT_EQ(*parseServerAddress("[2001:db8::1]:443"), addr("[2001:db8::1]:443"));
  EXPECT_EQ(*parseServerAddress("ipv6@[::1]:80"), addr("[::1]:80"));
  // Host names are resolved at load time (localhost is in every /etc/hosts).
  auto local = parseServerAddress("localhost:8080");
  ASSERT_TRUE(local.ok()) << local.error();
  EXPECT_EQ(local->port(), 8080);
}

TEST(ConfigAddress, BadServerAddresses) {
  struct Case {
    const char* text;
    const char* expected;
  };
  for (const Case& c : {
           Case{"10.0.1.1", "has no port"},
           Case{"10.0.1.1:", "has no port"},
           Case{"10.0.1.1:0", "has no port"},
           Case{"10.0.1.1:+1", "port offsets"},
           Case{"10.0.1.1:80-81", "port ranges"},
           Case{"10.0.1.1:70000", "invalid port"},
           Case{"0.0.0.0:80", "any address"},
           Case{"*:80", "no host"},
           Case{"no-such-host.invalid:80", "cannot resolve"},
           Case{"udp@10.0.0.1:53", "not supported yet"},
       }) {
    auto r = parseServerAddress(c.text);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_NE(r.error().find(c.expected), std::string::npos) << c.text << ": " << r.error();
  }
}

}  // namespace
}  // namespace fulcrum::config
