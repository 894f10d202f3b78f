// The global section's process keywords (user, group, chroot, daemon, pidfile, ulimit-n,
// maxconnrate, maxsessrate) and the global keywords HAProxy accepts that only warn here
// (the TLS settings, tune.*, unix-bind), with Debian's stock global section.
#include <fmt/core.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <pwd.h>

#include <string>

#include "config/config.h"
#include "config_test_util.h"

namespace fulcrum::config {
namespace {

using namespace testutil;

constexpr std::string_view kProxies = R"(
defaults
    mode tcp
    timeout connect 1s
    timeout client 1s
    timeout server 1s
listen app
    bind 127.0.0.1:8080
    server s1 10.0.0.1:80
)";

std::string withProxies(std::string_view global) {
  return std::string(global) + std::string(kProxies);
}

size_t countContaining(const std::vector<std::string>& lines, std::string_view text) {
  size_t n = 0;
  for (const auto& l : lines) n += l.find(text) != std::string::npos ? 1 : 0;
  return n;
}

TEST(ConfigGlobalProcess, UserAndGroupAreResolved) {
  const passwd* pw = getpwnam("nobody");
  const group* gr = getgrnam("nogroup");
  if (pw == nullptr || gr == nullptr) GTEST_SKIP() << "no user nobody or group nogroup";
  const uid_t uid = pw->pw_uid;
  const gid_t gid = gr->gr_gid;
  auto c = load(withProxies("global\n    user nobody\n    group nogroup\n"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->global.uid, uid);
  EXPECT_EQ(c->global.gid, gid);
  c = load(withProxies("global\n    uid 1234\n    gid 4321\n"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->global.uid, 1234);
  EXPECT_EQ(c->global.gid, 4321);
  c = load(withProxies("global\n"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->global.uid, -1);
  EXPECT_EQ(c->global.gid, -1);
}

TEST(ConfigGlobalProcess, UnknownUserOrGroupIsAnError) {
  EXPECT_EQ(onlyError(withProxies("global\n    user no-such-user-here\n")),
            "test.cfg:2: error: section 'global': keyword 'user': cannot find user id for "
            "'no-such-user-here'");
  EXPECT_EQ(onlyError(withProxies("global\n    group no-such-group-here\n")),
            "test.cfg:2: error: section 'global': keyword 'group': cannot find group id for "
            "'no-such-group-here'");
  EXPECT_FALSE(parse(withProxies("global\n    uid nobody\n")).ok());
}

TEST(ConfigGlobalProcess, ProcessSettings) {
  auto c = load(
      withProxies("global\n    chroot /var/lib/fulcrum\n    daemon\n    pidfile /run/fulcrum.pid\n"
                  "    ulimit-n 20000\n    maxconnrate 100\n    maxsessrate 50\n"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->global.chroot, "/var/lib/fulcrum");
  EXPECT_TRUE(c->global.daemon);
  EXPECT_EQ(c->global.pidfile, "/run/fulcrum.pid");
  EXPECT_EQ(c->global.ulimitN, 20000u);
  EXPECT_EQ(c->global.maxconnrate, 100u);
  EXPECT_EQ(c->global.maxsessrate, 50u);
  c =
      load(withProxies("global\n    server-state-base /var/lib/fulcrum\n"
                       "    server-state-file state\n"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->global.serverStateBase, "/var/lib/fulcrum");
  EXPECT_EQ(c->global.serverStateFile, "state");
  EXPECT_FALSE(parse(withProxies("global\n    chroot relative/dir\n")).ok());
  EXPECT_FALSE(parse(withProxies("global\n    daemon now\n")).ok());
  EXPECT_FALSE(parse(withProxies("global\n    ulimit-n 0\n")).ok());
  EXPECT_FALSE(parse(withProxies("global\n    pidfile\n")).ok());
}

TEST(ConfigGlobalProcess, TlsKeywordsWarnOnce) {
  auto r = parse(withProxies(R"(global
    ca-base /etc/ssl/certs
    crt-base /etc/ssl/private
    ssl-default-bind-ciphers ECDHE-ECDSA-AES128-GCM-SHA256
    ssl-default-bind-ciphersuites TLS_AES_128_GCM_SHA256
    ssl-default-bind-options ssl-min-ver TLSv1.2 no-tls-tickets
    ssl-default-server-ciphers ECDHE-ECDSA-AES128-GCM-SHA256
    ssl-default-server-options no-tls-tickets
    ssl-server-verify none
    tune.ssl.default-dh-param 2048
)"));
  ASSERT_TRUE(r.ok()) << dump(r);
  auto warnings = formatted(r, Severity::kWarning);
  ASSERT_EQ(countContaining(warnings, "does not terminate TLS"), 1u) << dump(r);
  EXPECT_EQ(countContaining(warnings, "test.cfg:2: warning: section 'global': keyword 'ca-base'"),
            1u)
      << dump(r);
}

TEST(ConfigGlobalProcess, TuningKeywordsOnlyWarn) {
  auto r =
      parse(withProxies("global\n    tune.bufsize 16384\n    unix-bind prefix /tmp mode 770\n"));
  ASSERT_TRUE(r.ok()) << dump(r);
  auto warnings = formatted(r, Severity::kWarning);
  EXPECT_EQ(countContaining(warnings, "keyword 'tune.bufsize' has no effect in Fulcrum"), 1u)
      << dump(r);
  EXPECT_EQ(countContaining(warnings, "keyword 'unix-bind' has no effect in Fulcrum"), 1u)
      << dump(r);
}

// The global section of Debian's stock /etc/haproxy/haproxy.cfg (haproxy 2.6, bookworm),
// verbatim, its tabs included.
constexpr std::string_view kDebianGlobal =
    "global\n"
    "\tlog /dev/log\tlocal0\n"
    "\tlog /dev/log\tlocal1 notice\n"
    "\tchroot /var/lib/haproxy\n"
    "\tstats socket /run/haproxy/admin.sock mode 660 level admin\n"
    "\tstats timeout 30s\n"
    "\tuser haproxy\n"
    "\tgroup haproxy\n"
    "\tdaemon\n"
    "\n"
    "\t# Default SSL material locations\n"
    "\tca-base /etc/ssl/certs\n"
    "\tcrt-base /etc/ssl/private\n"
    "\n"
    "\t# See: https://ssl-config.mozilla.org/#server=haproxy&server-version=2.0.3&config="
    "intermediate\n"
    "        ssl-default-bind-ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:"
    "ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384\n"
    "        ssl-default-bind-ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:"
    "TLS_CHACHA20_POLY1305_SHA256\n"
    "        ssl-default-bind-options ssl-min-ver TLSv1.2 no-tls-tickets\n";

TEST(ConfigGlobalProcess, DebianStockGlobalSectionLoads) {
  std::string text(kDebianGlobal);
  // "user haproxy" is looked up as HAProxy does; where the haproxy package (and its user)
  // is absent, the same lines with an account every system has.
  if (getpwnam("haproxy") == nullptr || getgrnam("haproxy") == nullptr) {
    if (getpwnam("nobody") == nullptr || getgrnam("nogroup") == nullptr)
      GTEST_SKIP() << "neither haproxy nor nobody/nogroup exist";
    text.replace(text.find("user haproxy"), 12, "user nobody");
    text.replace(text.find("group haproxy"), 13, "group nogroup");
  }
  auto r = parse(withProxies(text));
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_TRUE(formatted(r, Severity::kError).empty()) << dump(r);
  const auto& g = r.config->global;
  EXPECT_EQ(g.chroot, "/var/lib/haproxy");
  EXPECT_TRUE(g.daemon);
  EXPECT_GE(g.uid, 0);
  EXPECT_GE(g.gid, 0);
  ASSERT_EQ(g.statsSockets.size(), 1u);
  EXPECT_EQ(g.logs.size(), 2u);
  // One warning for the whole TLS family.
  EXPECT_EQ(countContaining(formatted(r, Severity::kWarning), "does not terminate TLS"), 1u)
      << dump(r);
}

TEST(ConfigGlobalProcess, CpuMapOfOtherProcessesOnlyWarns) {
  for (const char* set : {"2", "even"}) {
    auto r = parse(withProxies(fmt::format("global\n    cpu-map {} 0\n", set)));
    ASSERT_TRUE(r.ok()) << dump(r);
    EXPECT_TRUE(r.config->global.cpuMaps.empty());
    EXPECT_EQ(countContaining(formatted(r, Severity::kWarning),
                              fmt::format("process set '{}' does not include process 1", set)),
              1u)
        << dump(r);
  }
}

TEST(ConfigGlobalProcess, LogTagAndLevels) {
  auto c =
      load(withProxies("global\n    log-tag edge-lb\n    log 127.0.0.1 local0 notice\n"
                       "    log /dev/log local0 info debug\n"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->global.logTag, "edge-lb");
  ASSERT_EQ(c->global.logs.size(), 2u);
  EXPECT_EQ(c->global.logs[0].level, 5);
  EXPECT_EQ(c->global.logs[1].level, 6);
  EXPECT_EQ(c->global.logs[1].minLevel, 7);
  EXPECT_EQ(load(withProxies("global\n"))->global.logTag, "fulcrum");
  EXPECT_FALSE(parse(withProxies("global\n    log-tag\n")).ok());
}

}  // namespace
}  // namespace fulcrum::config

namespace fulcrum::config {
namespace {

TEST(ConfigSecurity, AStatsPageOpenToTheNetworkWithoutAuthIsWarnedAbout) {
  auto r = testutil::parse(
      "global\n    stats bind 0.0.0.0:8404\n    stats bind 127.0.0.1:8405\n"
      "listen stats\n    mode http\n    bind :8406\n    stats enable\n"
      "listen private\n    mode http\n    bind :8407\n    stats enable\n"
      "    stats auth admin:secret\n");
  ASSERT_TRUE(r.ok()) << testutil::dump(r);
  const auto warnings = testutil::formatted(r, testutil::Severity::kWarning);
  std::string all;
  for (const auto& w : warnings) all += w + "\n";
  EXPECT_NE(all.find("test.cfg:2: warning: stats bind: '0.0.0.0:8404' serves the stats page and "
                     "/metrics without authentication"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("test.cfg:6: warning: listen 'stats': ':8406' serves"), std::string::npos)
      << all;
  EXPECT_EQ(all.find("8405"), std::string::npos) << all;  // loopback
  EXPECT_EQ(all.find("8407"), std::string::npos) << all;  // stats auth
}

}  // namespace
}  // namespace fulcrum::config
