// The config parser: sections, keywords, inheritance, the model it builds, and every class
// of error with its file, line, section and keyword.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>

#include "config/config.h"
#include "config_test_util.h"

namespace fulcrum::config {
namespace {

using namespace testutil;

bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

#define EXPECT_CONTAINS(haystack, needle) \
  EXPECT_TRUE(contains((haystack), (needle))) << "missing: " << (needle) << "\n in: " << (haystack)

SockAddr addr(const char* text) { return *SockAddr::parse(text); }

// A backend the frontends of the tests can point at.
constexpr std::string_view kBackend = R"(
backend be
    timeout connect 1s
    timeout server 1s
    server s1 10.0.0.1:80
)";

std::string withBackend(std::string_view text) { return std::string(text) + std::string(kBackend); }

// ---------------------------------------------------------------------------------------
// Good configurations

constexpr std::string_view kExample = R"(frontend tcp_front
    bind *:443
    mode tcp
    default_backend cdn_edges

backend cdn_edges
    mode tcp
    balance roundrobin
    server edge1 10.0.1.1:443 check
    server edge2 10.0.1.2:443 check
    server edge3 10.0.1.3:443 check
)";

TEST(ConfigParser, TheExampleConfigLoads) {
  auto r = parse(kExample);
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_TRUE(formatted(r, Severity::kError).empty()) << dump(r);
  const auto& c = *r.config;

  ASSERT_EQ(c.services.size(), 1u);
  const auto& svc = c.services[0];
  EXPECT_EQ(svc.name, "tcp_front");
  EXPECT_EQ(svc.protocol, model::Protocol::kTcp);
  ASSERT_EQ(svc.binds.size(), 1u);
  EXPECT_EQ(svc.binds[0].addr.family(), AF_INET);
  EXPECT_TRUE(svc.binds[0].addr.isAny());
  EXPECT_EQ(svc.binds[0].addr.port(), 443);
  EXPECT_EQ(svc.binds[0].text, "*:443");
  EXPECT_EQ(svc.binds[0].loc.line, 2);
  EXPECT_EQ(svc.loc.file, "test.cfg");
  EXPECT_EQ(svc.loc.line, 1);

  ASSERT_EQ(c.pools.size(), 1u);
  EXPECT_EQ(svc.defaultPool, 0);
  const auto& pool = c.pools[0];
  EXPECT_EQ(pool.name, "cdn_edges");
  EXPECT_EQ(pool.balance.algo, model::BalanceAlgo::kRoundRobin);
  EXPECT_EQ(pool.retries, 3u);
  ASSERT_EQ(pool.servers.size(), 3u);
  const char* addrs[] = {"10.0.1.1:443", "10.0.1.2:443", "10.0.1.3:443"};
  for (size_t i = 0; i < 3; ++i) {
    const auto& s = pool.servers[i];
    EXPECT_EQ(s.name, "edge" + std::to_string(i + 1));
    EXPECT_EQ(s.addr, addr(addrs[i]));
    EXPECT_EQ(s.addrText, addrs[i]);
    EXPECT_EQ(s.weight, 1u);
    EXPECT_TRUE(s.check.enabled);
    EXPECT_FALSE(s.backup);
    EXPECT_EQ(s.loc.line, 9 + static_cast<int>(i));
  }
  EXPECT_EQ(c.findPool("cdn_edges"), 0);
  EXPECT_EQ(c.findService("tcp_front"), 0);
}

// Health checks are active (config_health_test.cc): "check" is no longer a warning.
TEST(ConfigParser, CheckIsNoLongerAWarning) {
  auto r = parse(kExample);
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_FALSE(contains(dump(r), "health checks are not active yet")) << dump(r);
  EXPECT_TRUE(r.config->pools[0].servers[0].check.enabled);
}

TEST(ConfigParser, MissingTimeoutsAreWarnings) {
  auto r = parse(kExample);
  ASSERT_TRUE(r.ok());
  std::string all = dump(r);
  EXPECT_CONTAINS(all,
                  "test.cfg:1: warning: section 'frontend tcp_front': missing timeouts for "
                  "frontend 'tcp_front' ('client' not set)");
  EXPECT_CONTAINS(all,
                  "test.cfg:6: warning: section 'backend cdn_edges': missing timeouts for "
                  "backend 'cdn_edges' ('connect', 'server' not set)");
  auto quiet = parse(R"(
defaults
    timeout client 30s
    timeout connect 5s
    timeout server 30s
frontend f
    bind :80
    default_backend b
backend b
    server s 10.0.0.1:80
)");
  ASSERT_TRUE(quiet.ok()) << dump(quiet);
  EXPECT_TRUE(quiet.diagnostics.empty()) << dump(quiet);
}

TEST(ConfigParser, TimeoutsAndLimits) {
  auto c = load(R"(
global
    nbthread 4
    maxconn 20000
frontend f
    bind :80
    timeout client 30s
    maxconn 500
    default_backend b
backend b
    timeout connect 5000
    timeout server 2m
    retries 0
    server s 10.0.0.1:80
)");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->global.nbthread, 4u);
  EXPECT_EQ(c->global.maxconn, 20000u);
  EXPECT_EQ(c->services[0].clientTimeout, 30 * kSeconds);
  EXPECT_EQ(c->services[0].maxconn, 500u);
  EXPECT_EQ(c->pools[0].connectTimeout, 5 * kSeconds);
  EXPECT_EQ(c->pools[0].serverTimeout, 120 * kSeconds);
  EXPECT_EQ(c->pools[0].retries, 0u);
}

TEST(ConfigParser, GlobalDefaultsWhenAbsent) {
  auto c = load(withBackend("frontend f\n bind :80\n default_backend be\n"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->global.nbthread, 0u);
  EXPECT_EQ(c->global.maxconn, 0u);
  EXPECT_EQ(c->services[0].maxconn, 0u);
}

TEST(ConfigParser, ListenMakesAServiceAndAPoolOfTheSameName) {
  auto c = load(R"(
backend other
    server o 10.0.0.9:80
listen db
    bind :5432
    timeout client 1m
    timeout connect 1s
    timeout server 1m
    maxconn 100
    retries 5
    server a 10.0.0.1:5432 weight 10
    server b 10.0.0.2:5432 backup
)");
  ASSERT_TRUE(c);
  ASSERT_EQ(c->services.size(), 1u);
  ASSERT_EQ(c->pools.size(), 2u);
  int pool = c->findPool("db");
  ASSERT_EQ(pool, 1);
  const auto& svc = c->services[0];
  EXPECT_EQ(svc.name, "db");
  EXPECT_EQ(svc.defaultPool, pool);
  EXPECT_EQ(svc.maxconn, 100u);
  EXPECT_EQ(svc.clientTimeout, 60 * kSeconds);
  EXPECT_EQ(svc.binds[0].addr, addr("0.0.0.0:5432"));
  const auto& p = c->pools[pool];
  EXPECT_EQ(p.retries, 5u);
  EXPECT_EQ(p.connectTimeout, kSeconds);
  ASSERT_EQ(p.servers.size(), 2u);
  EXPECT_EQ(p.servers[0].weight, 10u);
  EXPECT_TRUE(p.servers[1].backup);
}

TEST(ConfigParser, ListenWithDefaultBackendUsesIt) {
  auto c = load(withBackend("listen l\n bind :80\n default_backend be\n server x 10.0.0.2:80\n"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->services[0].defaultPool, c->findPool("be"));
  EXPECT_NE(c->findPool("be"), c->findPool("l"));
}

TEST(ConfigParser, FrontendAndBackendMayShareAName) {
  auto c = load(R"(
frontend app
    bind :80
    default_backend app
backend app
    server s 10.0.0.1:80
)");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->services[0].defaultPool, 0);
}

TEST(ConfigParser, DefaultsAreInheritedAndResetByTheNextDefaults) {
  auto c = load(R"(
defaults
    mode tcp
    timeout client 11s
    timeout connect 12s
    timeout server 13s
    maxconn 77
    retries 9
    default_backend b1
frontend f1
    bind :81
backend b1
    server s 10.0.0.1:80
defaults
    timeout client 21s
frontend f2
    bind :82
    default_backend b2
backend b2
    server s 10.0.0.2:80
)");
  ASSERT_TRUE(c);
  const auto& f1 = c->services[c->findService("f1")];
  const auto& f2 = c->services[c->findService("f2")];
  const auto& b1 = c->pools[c->findPool("b1")];
  const auto& b2 = c->pools[c->findPool("b2")];
  // In defaults, the timeouts set both sides.
  EXPECT_EQ(f1.clientTimeout, 11 * kSeconds);
  EXPECT_EQ(f1.maxconn, 77u);
  EXPECT_EQ(f1.defaultPool, c->findPool("b1"));  // default_backend from defaults
  EXPECT_EQ(b1.connectTimeout, 12 * kSeconds);
  EXPECT_EQ(b1.serverTimeout, 13 * kSeconds);
  EXPECT_EQ(b1.retries, 9u);
  // The second defaults section starts over from the built-in values.
  EXPECT_EQ(f2.clientTimeout, 21 * kSeconds);
  EXPECT_EQ(f2.maxconn, 0u);
  EXPECT_EQ(b2.connectTimeout, 0);
  EXPECT_EQ(b2.retries, 3u);
}

TEST(ConfigParser, ProxySettingsOverrideDefaults) {
  auto c = load(R"(
defaults
    timeout client 1s
    retries 1
frontend f
    bind :80
    timeout client 2s
    default_backend b
backend b
    retries 2
    server s 10.0.0.1:80
)");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->services[0].clientTimeout, 2 * kSeconds);
  EXPECT_EQ(c->pools[0].retries, 2u);
}

TEST(ConfigParser, NamedDefaultsAndFrom) {
  auto c = load(R"(
defaults base
    timeout client 10s
    timeout connect 2s
    timeout server 20s
defaults other
    timeout client 1s
frontend f1 from base
    bind :81
frontend f2
    bind :82
backend b1 from base
defaults child from base
    retries 7
backend b2
listen l from other
    bind :83
)");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->services[c->findService("f1")].clientTimeout, 10 * kSeconds);
  // Without "from", the last defaults section declared before, named or not.
  EXPECT_EQ(c->services[c->findService("f2")].clientTimeout, 1 * kSeconds);
  EXPECT_EQ(c->pools[c->findPool("b1")].connectTimeout, 2 * kSeconds);
  EXPECT_EQ(c->pools[c->findPool("b1")].retries, 3u);
  // "defaults child from base" starts from base and adds to it.
  EXPECT_EQ(c->pools[c->findPool("b2")].connectTimeout, 2 * kSeconds);
  EXPECT_EQ(c->pools[c->findPool("b2")].retries, 7u);
  EXPECT_EQ(c->services[c->findService("l")].clientTimeout, 1 * kSeconds);
  EXPECT_EQ(c->pools[c->findPool("l")].connectTimeout, 0);
}

TEST(ConfigParser, UnnamedDefaultsWithFrom) {
  auto c = load(R"(
defaults base
    retries 4
defaults from base
    timeout connect 3s
backend b
)");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->pools[0].retries, 4u);
  EXPECT_EQ(c->pools[0].connectTimeout, 3 * kSeconds);
}

TEST(ConfigParser, EmptyDefaultsNameIsUnnamed) {
  auto c = load("defaults \"\"\n retries 1\ndefaults \"\"\n retries 2\nbackend b\n");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->pools[0].retries, 2u);
}

TEST(ConfigParser, DefaultServerAppliesToLaterServers) {
  auto c = load(R"(
defaults
    default-server weight 5 inter 3s
backend b
    server s0 10.0.0.1:80
    default-server weight 20 rise 4 fall 6 maxconn 100
    server s1 10.0.0.2:80
    server s2 10.0.0.3:80 weight 7 check inter 500ms fastinter 100ms downinter 10s
    server s3 10.0.0.4:80 disabled backup port 8080 addr 10.9.9.9
)");
  ASSERT_TRUE(c);
  const auto& s = c->pools[0].servers;
  ASSERT_EQ(s.size(), 4u);
  EXPECT_EQ(s[0].weight, 5u);
  EXPECT_EQ(s[0].check.inter, 3 * kSeconds);
  EXPECT_EQ(s[0].check.rise, 2u);
  EXPECT_EQ(s[1].weight, 20u);
  EXPECT_EQ(s[1].check.rise, 4u);
  EXPECT_EQ(s[1].check.fall, 6u);
  EXPECT_EQ(s[1].maxconn, 100u);
  EXPECT_FALSE(s[1].check.enabled);
  EXPECT_EQ(s[2].weight, 7u);
  EXPECT_TRUE(s[2].check.enabled);
  EXPECT_EQ(s[2].check.inter, 500 * kMillis);
  EXPECT_EQ(s[2].check.fastinter, 100 * kMillis);
  EXPECT_EQ(s[2].check.downinter, 10 * kSeconds);
  EXPECT_TRUE(s[3].disabled);
  EXPECT_TRUE(s[3].backup);
  EXPECT_EQ(s[3].check.port, 8080);
  ASSERT_TRUE(s[3].check.addr.has_value());
  EXPECT_EQ(s[3].check.addr->hostString(), "10.9.9.9");
}

TEST(ConfigParser, ServerWeightBounds) {
  auto c = load("backend b\n server a 10.0.0.1:80 weight 0\n server b 10.0.0.2:80 weight 256\n");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->pools[0].servers[0].weight, 0u);
  EXPECT_EQ(c->pools[0].servers[1].weight, 256u);
}

TEST(ConfigParser, BindForms) {
  auto c = load(withBackend(R"(
frontend f
    default_backend be
    bind *:1001
    bind :1002
    bind 0.0.0.0:1003
    bind 1.2.3.4:1004
    bind [::]:1005
    bind :::1006
    bind [::1]:1007
    bind ipv4@:1008
    bind ipv6@:1009
)"));
  ASSERT_TRUE(c);
  const auto& b = c->services[0].binds;
  ASSERT_EQ(b.size(), 9u);
  EXPECT_EQ(b[0].addr, addr("0.0.0.0:1001"));
  EXPECT_EQ(b[1].addr, addr("0.0.0.0:1002"));
  EXPECT_EQ(b[2].addr, addr("0.0.0.0:1003"));
  EXPECT_EQ(b[3].addr, addr("1.2.3.4:1004"));
  EXPECT_EQ(b[4].addr, addr("[::]:1005"));
  EXPECT_TRUE(b[4].addr.isV6());
  EXPECT_EQ(b[5].addr, addr("[::]:1006"));
  EXPECT_TRUE(b[5].addr.isV6());
  EXPECT_EQ(b[6].addr, addr("[::1]:1007"));
  EXPECT_EQ(b[7].addr.family(), AF_INET);
  EXPECT_EQ(b[8].addr, addr("[::]:1009"));
  EXPECT_EQ(b[8].addr.family(), AF_INET6);
  EXPECT_EQ(b[6].loc.line, 10);
}

TEST(ConfigParser, BindListsAndRanges) {
  auto c = load(withBackend(R"(
frontend f
    default_backend be
    bind :80,:81
    bind 10.0.0.1:8000-8003,[::1]:9000
)"));
  ASSERT_TRUE(c);
  const auto& b = c->services[0].binds;
  ASSERT_EQ(b.size(), 7u);
  EXPECT_EQ(b[0].addr.port(), 80);
  EXPECT_EQ(b[1].addr.port(), 81);
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(b[2 + i].addr, addr(("10.0.0.1:" + std::to_string(8000 + i)).c_str()));
  EXPECT_EQ(b[6].addr, addr("[::1]:9000"));
  EXPECT_EQ(b[6].loc.line, 5);
}

TEST(ConfigParser, EnvironmentVariablesInValues) {
  std::map<std::string, std::string> vars{{"LISTEN_PORT", "8443"}, {"EDGE", "10.0.1.7"}};
  EnvLookup env = [&](std::string_view n) -> std::optional<std::string> {
    auto it = vars.find(std::string(n));
    return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
  auto c = load(R"(
frontend "f"
    bind ":${LISTEN_PORT}"
    default_backend b
backend b
    server edge "$EDGE:443"
    server other "${UNSET_HOST-10.0.1.8}:443"
)",
                env);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->services[0].binds[0].addr.port(), 8443);
  EXPECT_EQ(c->pools[0].servers[0].addr, addr("10.0.1.7:443"));
  EXPECT_EQ(c->pools[0].servers[1].addr, addr("10.0.1.8:443"));
}

TEST(ConfigParser, HttpOnlyOptionsAreIgnoredWithAWarning) {
  auto r = parse(withBackend(R"(
defaults
    option forwardfor except 127.0.0.0/8
    no option http-buffer-request
frontend f
    bind :80
    default_backend be
)"));
  ASSERT_TRUE(r.ok()) << dump(r);
  std::string all = dump(r);
  EXPECT_CONTAINS(all,
                  "test.cfg:3: warning: section 'defaults': keyword 'option forwardfor' is "
                  "ignored: it requires HTTP mode");
  EXPECT_CONTAINS(all,
                  "test.cfg:4: warning: section 'defaults': keyword 'no option "
                  "http-buffer-request' is ignored");
}

TEST(ConfigParser, FrontendWithoutDefaultBackendIsAWarning) {
  auto r = parse("frontend f\n bind :80\n");
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_EQ(r.config->services[0].defaultPool, -1);
  EXPECT_CONTAINS(dump(r),
                  "test.cfg:1: warning: section 'frontend f': frontend 'f' has no "
                  "default_backend");
}

TEST(ConfigParser, SeveralGlobalSectionsMerge) {
  auto c = load("global\n nbthread 2\nglobal\n maxconn 10\n");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->global.nbthread, 2u);
  EXPECT_EQ(c->global.maxconn, 10u);
}

TEST(ConfigParser, CommentsBlankLinesAndCrLf) {
  auto c = load("# leading comment\r\n\r\nbackend b # trailing\r\n    server s 10.0.0.1:80\r\n");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->pools[0].servers.size(), 1u);
}

// ---------------------------------------------------------------------------------------
// Several files

class ConfigFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/fulcrum_config_test_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    for (const auto& f : files_) ::unlink(f.c_str());
    ::rmdir(dir_.c_str());
  }
  std::string write(const std::string& name, std::string_view text) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    files_.push_back(path);
    return path;
  }
  std::string dir_;
  std::vector<std::string> files_;
};

TEST_F(ConfigFiles, SeveralFilesAreOneConfiguration) {
  auto a = write("a.cfg", "global\n nbthread 3\nfrontend f\n bind :80\n default_backend b\n");
  auto b = write("b.cfg", "backend b\n server s 10.0.0.1:80\n");
  auto r = loadFiles({a, b});
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_EQ(r.config->global.nbthread, 3u);
  EXPECT_EQ(r.config->services[0].defaultPool, 0);
  EXPECT_EQ(r.config->pools[0].loc.file, b);
  EXPECT_EQ(r.config->pools[0].servers[0].loc.line, 2);
}

TEST_F(ConfigFiles, EachFileStartsOutsideAnySection) {
  auto a = write("a.cfg", "backend b\n");
  auto b = write("b.cfg", "    server s 10.0.0.1:80\n");
  auto r = loadFiles({a, b});
  ASSERT_FALSE(r.ok());
  EXPECT_CONTAINS(dump(r), b + ":1: error: keyword 'server' appears outside of any section");
}

TEST_F(ConfigFiles, DiagnosticsNameTheirOwnFile) {
  auto a = write("a.cfg", "frontend f\n bind :80\n default_backend nope\n");
  auto b = write("b.cfg", "backend b\n fullconn 100\n");
  auto r = loadFiles({a, b});
  ASSERT_FALSE(r.ok());
  std::string all = dump(r);
  EXPECT_CONTAINS(all, a + ":3: error: section 'frontend f': keyword 'default_backend'");
  EXPECT_CONTAINS(all,
                  b + ":2: error: section 'backend b': keyword 'fullconn' is not supported yet");
}

TEST_F(ConfigFiles, MissingFileIsAnErrorNamingIt) {
  auto good = write("good.cfg", "backend b\n");
  std::string missing = dir_ + "/missing.cfg";
  auto r = loadFiles({good, missing});
  ASSERT_FALSE(r.ok());
  auto errors = formatted(r, Severity::kError);
  ASSERT_EQ(errors.size(), 1u) << dump(r);
  EXPECT_EQ(errors[0],
            missing + ": error: cannot open configuration file: No such file or directory");
}

TEST_F(ConfigFiles, DirectoryIsAnError) {
  auto r = loadFiles({dir_});
  ASSERT_FALSE(r.ok());
  EXPECT_CONTAINS(dump(r), dir_ + ": error: is a directory");
}

TEST(ConfigParser, NoFileIsAnError) {
  auto r = loadFiles({});
  EXPECT_FALSE(r.ok());
  EXPECT_CONTAINS(dump(r), "no configuration file given");
}

// ---------------------------------------------------------------------------------------
// Errors: each names the file, the line, the section and the keyword.

TEST(ConfigErrors, UnknownKeyword) {
  EXPECT_EQ(onlyError("backend b\n    frobnicate 1\n"),
            "test.cfg:2: error: section 'backend b': unknown keyword 'frobnicate'");
  EXPECT_EQ(onlyError("global\n    frobnicate\n"),
            "test.cfg:2: error: section 'global': unknown keyword 'frobnicate'");
}

TEST(ConfigErrors, UnsupportedKeyword) {
  EXPECT_EQ(onlyError("backend cdn_edges\n    fullconn 100\n"),
            "test.cfg:2: error: section 'backend cdn_edges': keyword 'fullconn' is not supported "
            "yet");
  EXPECT_EQ(onlyError("global\n    busy-polling\n"),
            "test.cfg:2: error: section 'global': keyword 'busy-polling' is not supported yet");
  EXPECT_EQ(onlyError("defaults\n    log-format %ci\n"),
            "test.cfg:2: error: section 'defaults': keyword 'log-format' is not supported yet (log "
            "lines are not configurable yet)");
  EXPECT_EQ(onlyError("defaults\n    option logasap\n"),
            "test.cfg:2: error: section 'defaults': keyword 'option logasap' is not supported yet");
  EXPECT_EQ(onlyError("defaults\n    option abortonclose\n"),
            "test.cfg:2: error: section 'defaults': keyword 'option abortonclose' is not supported "
            "yet");
  EXPECT_EQ(onlyError("defaults\n    contimeout 1s\n"),
            "test.cfg:2: error: section 'defaults': keyword 'contimeout' was removed in HAProxy "
            "2.1; use 'timeout connect'");
}

TEST(ConfigErrors, UnknownOption) {
  EXPECT_EQ(onlyError("defaults\n    option frobnicate\n"),
            "test.cfg:2: error: section 'defaults': unknown option 'frobnicate' (in 'option "
            "frobnicate')");
}

TEST(ConfigErrors, HttpKeywordsSayFulcrumIsLayer4) {
  // The HTTP keywords HAProxy itself refuses or needs in TCP proxies (those it ignores
  // there are warnings: config_real_configs_test.cc).
  std::string e = onlyError("frontend f\n    bind :80\n    capture request header Host len 20\n");
  EXPECT_CONTAINS(e,
                  "test.cfg:3: error: section 'frontend f': keyword 'capture' requires "
                  "HTTP mode");
  EXPECT_CONTAINS(e, "layer-4 (TCP/UDP)");
  e = onlyError("backend b\n    http-send-name-header X-Server\n");
  EXPECT_CONTAINS(e,
                  "test.cfg:2: error: section 'backend b': keyword 'http-send-name-header' "
                  "requires HTTP mode");
}

TEST(ConfigErrors, KeywordInTheWrongSection) {
  struct Case {
    std::string text;
    std::string expected;
  };
  for (const Case& c : {
           Case{"frontend f\n bind :80\n server s 10.0.0.1:80\n",
                "test.cfg:3: error: section 'frontend f': keyword 'server' is not allowed in a "
                "frontend section (HAProxy accepts it in listen and backend sections)"},
           Case{"backend b\n bind :80\n",
                "test.cfg:2: error: section 'backend b': keyword 'bind' is not allowed in a "
                "backend section (HAProxy accepts it in frontend and listen sections)"},
           Case{"defaults\n bind :80\n",
                "test.cfg:2: error: section 'defaults': keyword 'bind' is not allowed in a "
                "defaults section"},
           Case{"backend b\n default_backend x\n",
                "test.cfg:2: error: section 'backend b': keyword 'default_backend' is not allowed "
                "in a backend section"},
           Case{"frontend f\n bind :80\n balance roundrobin\n",
                "test.cfg:3: error: section 'frontend f': keyword 'balance' is not allowed in a "
                "frontend section"},
           Case{"backend b\n maxconn 10\n",
                "test.cfg:2: error: section 'backend b': keyword 'maxconn' is not allowed in a "
                "backend section (HAProxy accepts it in defaults, frontend and listen sections)"},
           Case{"frontend f\n bind :80\n retries 2\n",
                "test.cfg:3: error: section 'frontend f': keyword 'retries' is not allowed in a "
                "frontend section"},
           Case{"backend b\n timeout client 1s\n",
                "test.cfg:2: error: section 'backend b': keyword 'timeout client' is not allowed "
                "in a backend section (HAProxy accepts it in defaults, frontend and listen "
                "sections)"},
           Case{"frontend f\n bind :80\n timeout server 1s\n",
                "test.cfg:3: error: section 'frontend f': keyword 'timeout server' is not allowed "
                "in a frontend section"},
           Case{"backend b\n nbthread 4\n",
                "test.cfg:2: error: section 'backend b': keyword 'nbthread' is not allowed in a "
                "backend section (HAProxy accepts it in global sections)"},
           Case{"global\n bind :80\n",
                "test.cfg:2: error: section 'global': keyword 'bind' is not allowed in a global "
                "section"},
           Case{"frontend f\n bind :80\n default-server weight 2\n",
                "test.cfg:3: error: section 'frontend f': keyword 'default-server' is not allowed "
                "in a frontend section"},
       }) {
    EXPECT_CONTAINS(onlyError(c.text), c.expected);
  }
}

TEST(ConfigErrors, ModeHttpSaysFulcrumIsLayer4) {
  std::string e = onlyError("frontend f\n    bind :80\n    mode http\n");
  EXPECT_CONTAINS(e,
                  "test.cfg:1: error: section 'frontend f': frontend 'f' is in 'mode http' ('mode "
                  "http' at test.cfg:3): Fulcrum is a layer-4 (TCP/UDP) load balancer and does "
                  "not parse HTTP");
  // In a defaults section it is accepted: the proxies that inherit it are judged.
  EXPECT_TRUE(parse("defaults\n    mode http\n").ok());
  EXPECT_TRUE(parse("backend b\n    mode udp\n").ok());  // UDP: tests/unit/config_udp_test.cc
  EXPECT_CONTAINS(onlyError("backend b\n    mode smtp\n"),
                  "test.cfg:2: error: section 'backend b': keyword 'mode': unknown mode 'smtp' "
                  "(Fulcrum supports 'tcp' and 'udp')");
  EXPECT_CONTAINS(onlyError("backend b\n    mode\n"),
                  "test.cfg:2: error: section 'backend b': keyword 'mode' expects");
  EXPECT_CONTAINS(onlyError("backend b\n    mode tcp http\n"),
                  "test.cfg:2: error: section 'backend b': keyword 'mode': unexpected extra "
                  "argument 'http'");
}

TEST(ConfigErrors, BadTimeValues) {
  EXPECT_CONTAINS(onlyError("backend b\n    timeout connect 5x\n"),
                  "test.cfg:2: error: section 'backend b': keyword 'timeout connect': invalid time "
                  "unit 'x' in '5x'");
  EXPECT_CONTAINS(onlyError("defaults\n    timeout client fast\n"),
                  "test.cfg:2: error: section 'defaults': keyword 'timeout client': invalid time "
                  "value 'fast'");
  EXPECT_CONTAINS(onlyError("defaults\n    timeout client 30d\n"),
                  "test.cfg:2: error: section 'defaults': keyword 'timeout client': time value "
                  "'30d' is too large");
  EXPECT_CONTAINS(onlyError("defaults\n    timeout client 500us\n"),
                  "test.cfg:2: error: section 'defaults': keyword 'timeout client': time value "
                  "'500us' is below 1 ms");
  EXPECT_CONTAINS(onlyError("defaults\n    timeout client\n"),
                  "test.cfg:2: error: section 'defaults': keyword 'timeout client' expects a time "
                  "value");
  EXPECT_CONTAINS(onlyError("defaults\n    timeout client 1s 2s\n"),
                  "test.cfg:2: error: section 'defaults': keyword 'timeout client': unexpected "
                  "extra argument '2s'");
  EXPECT_CONTAINS(onlyError("defaults\n    timeout frobnicate 1s\n"),
                  "test.cfg:2: error: section 'defaults': unknown keyword 'timeout frobnicate'");
  EXPECT_CONTAINS(onlyError("backend b\n    server s 10.0.0.1:80 inter soon\n"),
                  "test.cfg:2: error: section 'backend b': keyword 'server': server 's': parameter "
                  "'inter': invalid time value 'soon'");
  EXPECT_CONTAINS(onlyError("backend b\n    server s 10.0.0.1:80 inter 0\n"),
                  "parameter 'inter': time value '0' must be positive");
}

TEST(ConfigErrors, BadNumbers) {
  struct Case {
    std::string text;
    std::string expected;
  };
  for (const Case& c : {
           Case{"global\n nbthread abc\n",
                "test.cfg:2: error: section 'global': keyword 'nbthread': invalid number 'abc'"},
           Case{"global\n nbthread 0\n",
                "test.cfg:2: error: section 'global': keyword 'nbthread': value '0' is out of "
                "range (expected an integer from 1 to 4096)"},
           Case{"global\n nbthread 4x\n",
                "test.cfg:2: error: section 'global': keyword 'nbthread': invalid number '4x'"},
           Case{"global\n nbthread\n",
                "test.cfg:2: error: section 'global': keyword 'nbthread' expects a number"},
           Case{"global\n nbthread 2 4\n",
                "test.cfg:2: error: section 'global': keyword 'nbthread': unexpected extra "
                "argument '4'"},
           Case{"global\n maxconn -1\n",
                "test.cfg:2: error: section 'global': keyword 'maxconn': invalid number '-1'"},
           Case{"frontend f\n bind :80\n maxconn 12abc\n",
                "test.cfg:3: error: section 'frontend f': keyword 'maxconn': invalid number "
                "'12abc'"},
           Case{"backend b\n retries many\n",
                "test.cfg:2: error: section 'backend b': keyword 'retries': invalid number "
                "'many'"},
           Case{"backend b\n retries 99999999999\n",
                "test.cfg:2: error: section 'backend b': keyword 'retries': value '99999999999' is "
                "out of range"},
           Case{"backend b\n server s 10.0.0.1:80 weight 257\n",
                "test.cfg:2: error: section 'backend b': keyword 'server': server 's': parameter "
                "'weight': value '257' is out of range (expected an integer from 0 to 256)"},
           Case{"backend b\n server s 10.0.0.1:80 weight\n",
                "test.cfg:2: error: section 'backend b': keyword 'server': server 's': parameter "
                "'weight' expects a value"},
           Case{"backend b\n server s 10.0.0.1:80 rise 0\n",
                "test.cfg:2: error: section 'backend b': keyword 'server': server 's': parameter "
                "'rise': value '0' is out of range"},
           Case{"backend b\n default-server fall x\n",
                "test.cfg:2: error: section 'backend b': keyword 'default-server': parameter "
                "'fall': invalid number 'x'"},
       }) {
    EXPECT_CONTAINS(onlyError(c.text), c.expected);
  }
}

TEST(ConfigErrors, BadAddresses) {
  struct Case {
    std::string text;
    std::string expected;
  };
  for (const Case& c : {
           Case{"backend b\n server s 10.0.1.1\n",
                "test.cfg:2: error: section 'backend b': keyword 'server': server 's': address "
                "'10.0.1.1' has no port; Fulcrum requires an explicit port on servers for now"},
           Case{"backend b\n server s 10.0.1.1:99999\n",
                "test.cfg:2: error: section 'backend b': keyword 'server': server 's': invalid "
                "port '99999'"},
           Case{"backend b\n server s no-such-host.invalid:80\n",
                "test.cfg:2: error: section 'backend b': keyword 'server': server 's': invalid "
                "address 'no-such-host.invalid:80': cannot resolve 'no-such-host.invalid'"},
           Case{"backend b\n server s\n",
                "test.cfg:2: error: section 'backend b': keyword 'server' expects a name and an "
                "address"},
           Case{"frontend f\n bind 1.2.3.4\n",
                "test.cfg:2: error: section 'frontend f': keyword 'bind': missing port in bind "
                "address '1.2.3.4'"},
           Case{"frontend f\n bind :80,:99999\n",
                "test.cfg:2: error: section 'frontend f': keyword 'bind': invalid port '99999'"},
           Case{"frontend f\n bind udp@:53\n",
                "test.cfg:2: error: section 'frontend f': keyword 'bind': 'udp@' addresses are not "
                "supported yet"},
           Case{"frontend f\n bind\n",
                "test.cfg:2: error: section 'frontend f': keyword 'bind' expects an address"},
       }) {
    EXPECT_CONTAINS(onlyError(c.text), c.expected);
  }
}

TEST(ConfigErrors, BindParameters) {
  EXPECT_CONTAINS(onlyError("frontend f\n bind :443 ssl crt /etc/x.pem\n"),
                  "test.cfg:2: error: section 'frontend f': keyword 'bind': bind parameter 'ssl' "
                  "is not supported: Fulcrum is a layer-4 load balancer and does not terminate "
                  "TLS");
  EXPECT_CONTAINS(onlyError("frontend f\n bind :80 transparent\n"),
                  "test.cfg:2: error: section 'frontend f': keyword 'bind': bind parameter "
                  "'transparent' is not supported yet");
  EXPECT_CONTAINS(onlyError("frontend f\n bind :80 frobnicate\n"),
                  "test.cfg:2: error: section 'frontend f': keyword 'bind': unknown bind parameter "
                  "'frobnicate'");
}

TEST(ConfigErrors, ServerParameters) {
  EXPECT_CONTAINS(onlyError("backend b\n server s 10.0.0.1:80 frobnicate\n"),
                  "test.cfg:2: error: section 'backend b': keyword 'server': server 's': unknown "
                  "parameter 'frobnicate'");
  EXPECT_CONTAINS(onlyError("backend b\n server s 10.0.0.1:80 send-proxy-v2-ssl\n"),
                  "test.cfg:2: error: section 'backend b': keyword 'server': server 's': "
                  "parameter 'send-proxy-v2-ssl' is not supported yet");
  EXPECT_CONTAINS(onlyError("backend b\n server s 10.0.0.1:80 ssl verify none\n"),
                  "parameter 'ssl' is not supported: Fulcrum is a layer-4 load balancer");
  EXPECT_CONTAINS(onlyError("backend b\n server \"\" 10.0.0.1:80\n"),
                  "test.cfg:2: error: section 'backend b': keyword 'server' expects a name");
  EXPECT_CONTAINS(onlyError("backend b\n server s 10.0.0.1:80 addr 0.0.0.0\n"),
                  "parameter 'addr': '0.0.0.0' is not a usable check address");
  EXPECT_CONTAINS(onlyError("backend b\n server s/1 10.0.0.1:80\n"),
                  "test.cfg:2: error: section 'backend b': keyword 'server': character '/' is not "
                  "permitted in server name 's/1'");
}

TEST(ConfigErrors, BalanceAlgorithms) {
  EXPECT_EQ(onlyError("backend b\n balance rdp-cookie\n"),
            "test.cfg:2: error: section 'backend b': keyword 'balance': balance algorithm "
            "'rdp-cookie' is not supported yet");
  EXPECT_CONTAINS(onlyError("backend b\n balance uri\n"),
                  "test.cfg:2: error: section 'backend b': keyword 'balance': balance algorithm "
                  "'uri' needs HTTP");
  EXPECT_CONTAINS(onlyError("backend b\n balance frobnicate\n"),
                  "test.cfg:2: error: section 'backend b': keyword 'balance': unknown balance "
                  "algorithm 'frobnicate'");
  EXPECT_CONTAINS(onlyError("backend b\n balance roundrobin extra\n"),
                  "test.cfg:2: error: section 'backend b': keyword 'balance': unexpected extra "
                  "argument 'extra'");
  EXPECT_CONTAINS(onlyError("backend b\n balance\n"),
                  "test.cfg:2: error: section 'backend b': keyword 'balance' expects an algorithm");
}

TEST(ConfigErrors, UnknownBackendReference) {
  auto r = parse("frontend f\n    bind :80\n    default_backend nope\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(formatted(r, Severity::kError),
            std::vector<std::string>{"test.cfg:3: error: section 'frontend f': keyword "
                                     "'default_backend': no backend or listen section is named "
                                     "'nope'"});
  // Naming a frontend is not naming a backend.
  EXPECT_CONTAINS(onlyError("frontend a\n bind :80\nfrontend f\n bind :81\n default_backend a\n"),
                  "test.cfg:5: error: section 'frontend f': keyword 'default_backend': no backend "
                  "or listen section is named 'a' ('a' is a frontend)");
  // A reference inherited from defaults points at the defaults line, and names the frontend.
  EXPECT_CONTAINS(onlyError("defaults\n default_backend gone\nfrontend f\n bind :80\n"),
                  "test.cfg:2: error: section 'frontend f': keyword 'default_backend': no backend "
                  "or listen section is named 'gone'");
  EXPECT_CONTAINS(onlyError("frontend f\n bind :80\n default_backend \"\"\n"),
                  "test.cfg:3: error: section 'frontend f': keyword 'default_backend' expects a "
                  "backend name");
  EXPECT_CONTAINS(onlyError("frontend f\n bind :80\n default_backend\n"),
                  "test.cfg:3: error: section 'frontend f': keyword 'default_backend' expects a "
                  "backend name");
}

TEST(ConfigErrors, ForwardReferencesAreFine) {
  auto c = load("frontend f\n bind :80\n default_backend later\nbackend later\n");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->services[0].defaultPool, 0);
}

TEST(ConfigErrors, DuplicateNames) {
  EXPECT_EQ(onlyError("backend b\nbackend b\n"),
            "test.cfg:2: error: section 'backend b': keyword 'backend': the name 'b' is already "
            "used by backend 'b' declared at test.cfg:1");
  EXPECT_EQ(onlyError("frontend f\n bind :80\nfrontend f\n bind :81\n"),
            "test.cfg:3: error: section 'frontend f': keyword 'frontend': the name 'f' is already "
            "used by frontend 'f' declared at test.cfg:1");
  EXPECT_CONTAINS(onlyError("backend x\nlisten x\n bind :80\n"),
                  "test.cfg:2: error: section 'listen x': keyword 'listen': the name 'x' is "
                  "already used by backend 'x' declared at test.cfg:1");
  EXPECT_CONTAINS(onlyError("listen x\n bind :80\nfrontend x\n bind :81\n"),
                  "test.cfg:3: error: section 'frontend x': keyword 'frontend': the name 'x' is "
                  "already used by listen 'x'");
  EXPECT_EQ(onlyError("backend b\n server s 10.0.0.1:80\n server s 10.0.0.2:80\n"),
            "test.cfg:3: error: section 'backend b': keyword 'server': duplicate server name 's' "
            "(first declared at test.cfg:2)");
  EXPECT_EQ(onlyError("defaults d\ndefaults d\n"),
            "test.cfg:2: error: section 'defaults d': keyword 'defaults': a defaults section "
            "named 'd' was already declared at test.cfg:1");
}

TEST(ConfigErrors, BadSectionHeaders) {
  EXPECT_EQ(onlyError("backend\n"),
            "test.cfg:1: error: section 'backend': keyword 'backend' expects a name");
  EXPECT_CONTAINS(onlyError("backend a/b\n"),
                  "test.cfg:1: error: section 'backend a/b': keyword 'backend': character '/' is "
                  "not permitted in a backend name");
  EXPECT_EQ(onlyError("backend b from nowhere\n"),
            "test.cfg:1: error: section 'backend b': keyword 'backend': 'from nowhere': no "
            "defaults section named 'nowhere' is declared before this line");
  EXPECT_CONTAINS(onlyError("backend b from\n"),
                  "test.cfg:1: error: section 'backend b': keyword 'backend': 'from' expects the "
                  "name of a defaults section");
  EXPECT_CONTAINS(onlyError("backend b from \"\"\n"), "'from' expects the name");
  EXPECT_CONTAINS(onlyError("listen l 10.0.0.1:80\n bind :81\n"),
                  "test.cfg:1: error: section 'listen l': keyword 'listen': an address on the "
                  "'listen' line ('10.0.0.1:80', HAProxy's legacy form) is not supported; use a "
                  "'bind' line");
  EXPECT_CONTAINS(onlyError("global extra\n"),
                  "test.cfg:1: error: section 'global': keyword 'global': unexpected argument "
                  "'extra'");
  // "from" looks backwards only.
  EXPECT_CONTAINS(onlyError("backend b from later\ndefaults later\n"),
                  "no defaults section named 'later' is declared before this line");
}

TEST(ConfigErrors, UnterminatedQuote) {
  EXPECT_EQ(onlyError("frontend f\n    bind \"*:443\n"),
            "test.cfg:2: error: section 'frontend f': keyword 'bind': unmatched double quote at "
            "column 10");
  EXPECT_EQ(onlyError("backend b\n    server s '10.0.0.1:80\n"),
            "test.cfg:2: error: section 'backend b': keyword 'server': unmatched single quote at "
            "column 14");
  EXPECT_CONTAINS(onlyError("backend b\n    server s 10.0.0.1:80 weight \\x1\n"),
                  "test.cfg:2: error: section 'backend b': keyword 'server': truncated or invalid "
                  "hexadecimal sequence");
}

TEST(ConfigErrors, StatementOutsideSection) {
  EXPECT_EQ(onlyError("bind :80\nfrontend f\n bind :81\n"),
            "test.cfg:1: error: keyword 'bind' appears outside of any section (a section starts "
            "with global, defaults, frontend, backend or listen)");
}

TEST(ConfigErrors, FrontendWithoutBind) {
  EXPECT_EQ(onlyError(withBackend("frontend f\n    default_backend be\n")),
            "test.cfg:1: error: section 'frontend f': frontend 'f' has no 'bind' line (declare it "
            "as a backend if it only holds servers)");
  EXPECT_CONTAINS(onlyError("listen l\n server s 10.0.0.1:80\n"),
                  "test.cfg:1: error: section 'listen l': listen 'l' has no 'bind' line");
}

TEST(ConfigErrors, UnsupportedSectionsAndDirectives) {
  // The body of an unsupported section is skipped: one error, not one per line.
  EXPECT_EQ(onlyError("peers mypeers\n    peer a 10.0.0.1:1024\n    peer b 10.0.0.2:1024\n"),
            "test.cfg:1: error: section 'peers mypeers': 'peers' sections are not supported yet");
  EXPECT_CONTAINS(onlyError(".if defined(X)\n"),
                  "test.cfg:1: error: keyword '.if': conditional blocks and directives");
}

TEST(ConfigErrors, SeveralErrorsAreReportedAtOnce) {
  auto r = parse(R"(
global
    nbthread zero
frontend f
    bind :80
    mode http
    default_backend b
backend b
    fullconn 10
    server s 10.0.0.1:80 weight 1000
    server t 10.0.0.2:80 check
)");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.config, nullptr);
  auto errors = formatted(r, Severity::kError);
  ASSERT_EQ(errors.size(), 4u) << dump(r);
  EXPECT_CONTAINS(errors[0], "test.cfg:3:");
  EXPECT_CONTAINS(errors[1], "test.cfg:9:");
  EXPECT_CONTAINS(errors[2], "test.cfg:10:");
  EXPECT_CONTAINS(errors[3], "test.cfg:4:");  // the frontend left in 'mode http', at the end
  // Warnings are still reported alongside.
  EXPECT_CONTAINS(dump(r),
                  "test.cfg:8: warning: section 'backend b': missing timeouts for "
                  "backend 'b'");
}

TEST(ConfigDiagnostic, Format) {
  Diagnostic e{Severity::kError, "a.cfg", 12, "section 'global': boom"};
  EXPECT_EQ(e.format(), "a.cfg:12: error: section 'global': boom");
  Diagnostic w{Severity::kWarning, "a.cfg", 3, "careful"};
  EXPECT_EQ(w.format(), "a.cfg:3: warning: careful");
  Diagnostic f{Severity::kError, "a.cfg", 0, "unreadable"};
  EXPECT_EQ(f.format(), "a.cfg: error: unreadable");
  Diagnostic n{Severity::kError, "", 0, "no file"};
  EXPECT_EQ(n.format(), "error: no file");
}

}  // namespace
}  // namespace fulcrum::config
