// What real HAProxy configurations carry beyond TCP proxies: HTTP defaults, the stats
// listen section, keywords HAProxy 2.6 only warns about. Each expected text was checked
// against "haproxy -c" of HAProxy 2.6 where it quotes HAProxy.
#include <fmt/core.h>
#include <gtest/gtest.h>

#include "config/config.h"
#include "config_test_util.h"

namespace fulcrum::config {
namespace {

using namespace testutil;

#define EXPECT_CONTAINS(haystack, needle) \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << (haystack)

bool hasWarning(const LoadResult& r, std::string_view text) {
  for (const auto& w : formatted(r, Severity::kWarning))
    if (w.find(text) != std::string::npos) return true;
  return false;
}

// Debian's default defaults section, then a TCP proxy that inherits it.
constexpr std::string_view kHttpDefaults = R"(
defaults
    log global
    mode http
    option httplog
    option dontlognull
    option forwardfor
    option http-server-close
    option http-keep-alive
    timeout connect 5s
    timeout client 50s
    timeout server 50s
    timeout http-request 10s
    timeout http-keep-alive 10s
    errorfile 503 /etc/haproxy/errors/503.http
    monitor-uri /health
)";

TEST(ConfigHttpDefaults, ATcpProxyInheritingThemGetsHAProxysTreatment) {
  std::string text = std::string(kHttpDefaults) + R"(
listen redis
    mode tcp
    bind 127.0.0.1:6379
    server r1 127.0.0.1:6380
backend db
    mode tcp
    server d1 127.0.0.1:5432
)";
  auto r = parse(text);
  ASSERT_TRUE(r.ok()) << dump(r);
  // HAProxy 2.6: "'option httplog' not usable with frontend 'fe' (needs 'mode http').
  // Falling back to 'option tcplog'."
  EXPECT_TRUE(hasWarning(r,
                         "test.cfg:5: warning: section 'listen redis': 'option httplog' not "
                         "usable with listen 'redis' (needs 'mode http'). Falling back to "
                         "'option tcplog'."))
      << dump(r);
  EXPECT_TRUE(hasWarning(r,
                         "monitor-uri will be ignored for listen 'redis' (needs 'mode "
                         "http')"))
      << dump(r);
  EXPECT_TRUE(hasWarning(r, "keyword 'option http-server-close' is ignored")) << dump(r);
  EXPECT_TRUE(hasWarning(r, "keyword 'timeout http-request' is ignored")) << dump(r);
  EXPECT_TRUE(hasWarning(r, "keyword 'errorfile' is ignored")) << dump(r);
  // The backend logs nothing and serves no URI: no warning names it.
  EXPECT_FALSE(hasWarning(r, "backend 'db'")) << dump(r);
  ASSERT_EQ(r.config->services.size(), 1u);
  EXPECT_TRUE(r.config->services[0].tcplog);  // the fallback
}

TEST(ConfigHttpDefaults, AProxyLeftInModeHttpIsAnErrorNamingIt) {
  std::string text = std::string(kHttpDefaults) + R"(
frontend web
    bind 127.0.0.1:80
    default_backend app
backend app
    mode tcp
    server a1 127.0.0.1:8080
)";
  std::string e = onlyError(text);
  EXPECT_CONTAINS(e,
                  "test.cfg:18: error: section 'frontend web': frontend 'web' is in 'mode "
                  "http' ('mode http' at test.cfg:4): Fulcrum is a layer-4 (TCP/UDP) load "
                  "balancer and does not parse HTTP; set 'mode tcp' in it");
  EXPECT_CONTAINS(onlyError("listen l\n bind :80\n mode http\n server s 127.0.0.1:1\n"),
                  "test.cfg:1: error: section 'listen l': listen 'l' is in 'mode http' ('mode "
                  "http' at test.cfg:3)");
}

TEST(ConfigHttpDefaults, HttpRulesAreRefusedInDefaultsAndIgnoredInTcpProxies) {
  // HAProxy 2.6: "'http-request' not allowed in anonymous 'defaults' section."
  EXPECT_CONTAINS(onlyError("defaults\n mode http\n http-request deny\n"),
                  "keyword 'http-request' is not allowed in a defaults section");
  auto r = parse(
      "frontend f\n bind :80\n http-request deny\n http-response del-header X\n"
      " timeout client 1s\n");
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_TRUE(hasWarning(r,
                         "test.cfg:3: warning: section 'frontend f': 'http-request' rules "
                         "are ignored"))
      << dump(r);
  EXPECT_TRUE(hasWarning(r, "'http-response' rules are ignored")) << dump(r);
}

// HTTP keywords HAProxy 2.6 accepts in defaults and ignores (some silently) in TCP
// proxies: loaded with a warning each.
TEST(ConfigHttpDefaults, IgnoredHttpKeywordsOfWebDefaults) {
  auto r = parse(R"(
defaults
    mode http
    timeout client 1s
    timeout connect 1s
    timeout server 1s
    http-reuse safe
    compression algo gzip
    cookie SRVID insert indirect nocache
    unique-id-header X-Unique-ID
    max-keep-alive-queue 10
listen l
    mode tcp
    bind 127.0.0.1:9999
    server s 127.0.0.1:1 cookie s1
)");
  ASSERT_TRUE(r.ok()) << dump(r);
  for (const char* kw :
       {"http-reuse", "compression", "cookie", "unique-id-header", "max-keep-alive-queue"})
    EXPECT_TRUE(hasWarning(r, fmt::format("keyword '{}' is ignored", kw))) << kw << dump(r);
  EXPECT_TRUE(hasWarning(r,
                         "test.cfg:15: warning: section 'listen l': keyword 'server': server "
                         "'s': parameter 'cookie' is ignored"))
      << dump(r);
}

// HAProxy 2.6 warns about these and loads; so does Fulcrum.
TEST(ConfigWarnOnly, KeywordsHAProxyOnlyWarnsAbout) {
  auto r = parse(R"(
defaults
    timeout connect 1s
    timeout client 1s
    timeout server 1s
    option http-keep-alive
    timeout http-keep-alive 5s
frontend f
    bind :80
    description the front door
    bind-process 1
    default_backend b
backend b
    option tcplog
    option httplog
    option persist
    server s 127.0.0.1:1
)");
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_TRUE(hasWarning(r,
                         "test.cfg:14: warning: section 'backend b': 'option tcplog' "
                         "directive is ignored in backends"))
      << dump(r);
  EXPECT_TRUE(hasWarning(r, "'option httplog' directive is ignored in backends")) << dump(r);
  EXPECT_TRUE(hasWarning(r, "keyword 'bind-process' has no effect")) << dump(r);
  EXPECT_TRUE(hasWarning(r, "keyword 'description' is ignored")) << dump(r);
  EXPECT_TRUE(hasWarning(r, "keyword 'option persist' is ignored")) << dump(r);
  EXPECT_TRUE(hasWarning(r, "keyword 'option http-keep-alive' is ignored")) << dump(r);
  EXPECT_TRUE(hasWarning(r, "keyword 'timeout http-keep-alive' is ignored")) << dump(r);
  EXPECT_EQ(formatted(r, Severity::kError).size(), 0u);
}

TEST(ConfigStatsListen, BecomesAnAdminHttpListener) {
  std::string text = std::string(kHttpDefaults) + R"(
listen stats
    bind 127.0.0.1:8404
    bind 127.0.0.1:8405
    stats enable
    stats uri /haproxy-stats
    stats refresh 10s
    stats auth admin:secret
    stats auth ops:other
    stats realm Fulcrum\ stats
    stats hide-version
    stats admin if TRUE
)";
  auto r = parse(text);
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_TRUE(hasWarning(r,
                         "keyword 'stats admin' is accepted but Fulcrum's stats page is "
                         "read-only"))
      << dump(r);
  EXPECT_TRUE(hasWarning(r, "keyword 'monitor-uri' is ignored: Fulcrum's stats listener"))
      << dump(r);
  EXPECT_TRUE(r.config->services.empty());
  EXPECT_TRUE(r.config->pools.empty());
  ASSERT_EQ(r.config->global.statsHttp.size(), 2u);
  const model::StatsHttpBind& h = r.config->global.statsHttp[0];
  EXPECT_EQ(h.text, "127.0.0.1:8404");
  EXPECT_EQ(h.statsUri, "/haproxy-stats");
  EXPECT_EQ(h.refreshSeconds, 10u);
  EXPECT_EQ(h.basicAuth, (std::vector<std::string>{"admin:secret", "ops:other"}));
  EXPECT_EQ(h.realm, "Fulcrum stats");
  EXPECT_EQ(h.proxyName, "stats");
  EXPECT_TRUE(h.hideVersion);
  EXPECT_EQ(r.config->global.statsHttp[1].text, "127.0.0.1:8405");
  // HAProxy's default URI and realm.
  auto c = load("listen s\n mode http\n bind :8404\n stats enable\n");
  ASSERT_NE(c, nullptr);
  ASSERT_EQ(c->global.statsHttp.size(), 1u);
  EXPECT_EQ(c->global.statsHttp[0].statsUri, "/haproxy?stats");
  EXPECT_EQ(c->global.statsHttp[0].realm, "HAProxy Statistics");
  EXPECT_FALSE(c->global.statsHttp[0].hideVersion);
  // In a TCP proxy, HAProxy's warning, and the proxy stays a proxy.
  auto tcp = parse("listen s\n bind :8404\n stats enable\n timeout client 1s\n");
  ASSERT_TRUE(tcp.ok()) << dump(tcp);
  EXPECT_TRUE(hasWarning(tcp,
                         "test.cfg:3: warning: section 'listen s': 'stats' statement ignored "
                         "for proxy 's' as it requires HTTP mode."))
      << dump(tcp);
  EXPECT_TRUE(tcp.config->global.statsHttp.empty());
  EXPECT_CONTAINS(
      onlyError("listen s\n mode http\n bind :8404\n stats enable\n stats auth admin\n"),
      "keyword 'stats auth': expects USER:PASSWORD");
}

TEST(ConfigMessages, HealthCheckKeywordsSayWhatTheyAre) {
  std::string e = onlyError("backend b\n mode tcp\n http-check expect status 200\n");
  EXPECT_CONTAINS(e,
                  "keyword 'http-check' is not supported yet: it configures HTTP health "
                  "checks of the servers");
  EXPECT_EQ(e.find("requires HTTP mode"), std::string::npos) << e;
  e = onlyError("backend b\n server s 127.0.0.1:1 check check-ssl\n");
  EXPECT_CONTAINS(e,
                  "parameter 'check-ssl' is not supported yet: it sets TLS for the health "
                  "check only");
  EXPECT_EQ(e.find("does not originate TLS"), std::string::npos) << e;
  EXPECT_CONTAINS(onlyError("backend b\n option httpchk GET /\n"),
                  "keyword 'option httpchk' is not supported yet: it is an HTTP health check");
  EXPECT_CONTAINS(onlyError("backend b\n option mysql-check user x\n"),
                  "keyword 'option mysql-check' is not supported yet: it is a protocol health "
                  "check");
}

// "bind ... name NAME" (HAProxy's Redis guide has it): a label, kept.
TEST(ConfigBindName, IsAccepted) {
  auto c = load("frontend f\n bind 127.0.0.1:6379 name redis\n timeout client 1s\n");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->services[0].binds[0].name, "redis");
}

}  // namespace
}  // namespace fulcrum::config
