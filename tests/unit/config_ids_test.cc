// HAProxy's "id": the server parameter (unique in its backend) and the proxy keyword
// (unique among all proxies), and the numbering of the servers and proxies without one.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/config.h"
#include "config/server_line.h"
#include "config_test_util.h"

namespace fulcrum::config {
namespace {

using namespace testutil;

std::vector<uint32_t> serverIds(const model::Pool& pool) {
  std::vector<uint32_t> ids;
  for (const auto& s : pool.servers) ids.push_back(s.id);
  return ids;
}

std::string backend(std::string_view lines) { return "backend b\n" + std::string(lines); }

// ---------------------------------------------------------------------------------------
// server ... id N

TEST(ConfigServerId, ExplicitIds) {
  auto c =
      load(backend(" server s1 127.0.0.1:1 id 10\n"
                   " server s2 127.0.0.1:2 id 3 weight 2\n"
                   " server s3 127.0.0.1:3 id 2147483647\n"));
  ASSERT_TRUE(c);
  EXPECT_EQ(serverIds(c->pools[0]), (std::vector<uint32_t>{10, 3, 2147483647}));
  EXPECT_TRUE(c->pools[0].servers[0].idSet);
  EXPECT_EQ(c->pools[0].servers[1].weight, 2u);
}

TEST(ConfigServerId, WithoutIdsServersAreNumberedFromOne) {
  auto c = load(backend(" server s1 127.0.0.1:1\n server s2 127.0.0.1:2\n"));
  ASSERT_TRUE(c);
  EXPECT_EQ(serverIds(c->pools[0]), (std::vector<uint32_t>{1, 2}));
  EXPECT_FALSE(c->pools[0].servers[0].idSet);
}

// HAProxy numbers after parsing: a counter moves one step per server, explicit or not, and
// a server without id takes the first free id at or after it. So an explicit id further
// down is avoided too.
TEST(ConfigServerId, AutomaticIdsAvoidTheExplicitOnes) {
  auto c =
      load(backend(" server a 127.0.0.1:1\n"           // counter 1, free: 1
                   " server b 127.0.0.1:2\n"           // counter 2, taken by d: 3
                   " server c 127.0.0.1:3 id 7\n"      // counter 4
                   " server d 127.0.0.1:4 id 2\n"      // counter 5
                   " server e 127.0.0.1:5\n"           // counter 6, free: 6
                   " server f 127.0.0.1:6\n"           // counter 7, taken by c: 8
                   " server g 127.0.0.1:7 id 40\n"));  // counter 9
  ASSERT_TRUE(c);
  EXPECT_EQ(serverIds(c->pools[0]), (std::vector<uint32_t>{1, 3, 7, 2, 6, 8, 40}));
}

TEST(ConfigServerId, AutomaticIdsFillTheGapsBelowBigOnes) {
  auto c =
      load(backend(" server a 127.0.0.1:1 id 100\n"
                   " server b 127.0.0.1:2\n"
                   " server c 127.0.0.1:3\n"
                   " server d 127.0.0.1:4 id 1\n"
                   " server e 127.0.0.1:5\n"));
  ASSERT_TRUE(c);
  EXPECT_EQ(serverIds(c->pools[0]), (std::vector<uint32_t>{100, 2, 3, 1, 5}));
}

TEST(ConfigServerId, IdsArePerBackend) {
  auto c = load(
      "backend b1\n server s1 127.0.0.1:1 id 5\n"
      "backend b2\n server s1 127.0.0.1:1 id 5\n server s2 127.0.0.1:2\n");
  ASSERT_TRUE(c);
  EXPECT_EQ(serverIds(c->pools[0]), (std::vector<uint32_t>{5}));
  EXPECT_EQ(serverIds(c->pools[1]), (std::vector<uint32_t>{5, 2}));
}

TEST(ConfigServerId, DuplicateIdNamesBothServersAndTheLine) {
  EXPECT_EQ(onlyError(backend(" server s1 127.0.0.1:1 id 3\n"
                              " server s2 127.0.0.1:2\n"
                              " server s3 127.0.0.1:3 id 3\n")),
            "test.cfg:4: error: section 'backend b': keyword 'server': server 's3': parameter "
            "'id': custom id 3 already used at test.cfg:2 ('server s1')");
  // Automatic ids are given after parsing, so they never clash: s1 avoids s2's id.
  auto c = load("listen l\n bind :80\n server s1 127.0.0.1:1\n server s2 127.0.0.1:2 id 1\n");
  ASSERT_TRUE(c);
  EXPECT_EQ(serverIds(c->pools[0]), (std::vector<uint32_t>{2, 1}));
}

TEST(ConfigServerId, BadValuesAreErrors) {
  const std::string prefix =
      "test.cfg:2: error: section 'backend b': keyword 'server': server 's1': parameter 'id': ";
  EXPECT_EQ(onlyError(backend(" server s1 127.0.0.1:1 id 0\n")),
            prefix + "value '0' is out of range (expected an integer from 1 to 2147483647)");
  EXPECT_EQ(onlyError(backend(" server s1 127.0.0.1:1 id -4\n")),
            prefix + "invalid number '-4' (expected an integer from 1 to 2147483647)");
  EXPECT_EQ(onlyError(backend(" server s1 127.0.0.1:1 id web\n")),
            prefix + "invalid number 'web' (expected an integer from 1 to 2147483647)");
  EXPECT_EQ(
      onlyError(backend(" server s1 127.0.0.1:1 id 2147483648\n")),
      prefix + "value '2147483648' is out of range (expected an integer from 1 to 2147483647)");
  EXPECT_EQ(onlyError(backend(" server s1 127.0.0.1:1 id\n")),
            "test.cfg:2: error: section 'backend b': keyword 'server': server 's1': parameter "
            "'id' expects a value");
}

TEST(ConfigServerId, NotOnDefaultServer) {
  const std::string e = onlyError(backend(" default-server id 4\n server s1 127.0.0.1:1\n"));
  EXPECT_EQ(e,
            "test.cfg:2: error: section 'backend b': keyword 'default-server': parameter 'id' is "
            "not accepted on a 'default-server' line (as in HAProxy: it belongs to one server)");
  EXPECT_NE(onlyError("defaults\n default-server id 4\n").find("not accepted"), std::string::npos);
}

TEST(ConfigServerId, ParseServerLineLeavesTheNumberingToTheCaller) {
  auto s = parseServerLine("s1", "127.0.0.1:1", {"id", "12"});
  ASSERT_TRUE(s) << s.error();
  EXPECT_EQ(s->id, 12u);
  EXPECT_TRUE(s->idSet);
  s = parseServerLine("s1", "127.0.0.1:1", {"weight", "3"});
  ASSERT_TRUE(s) << s.error();
  EXPECT_EQ(s->id, 0u);
  EXPECT_FALSE(s->idSet);
}

TEST(ConfigServerId, FreeServerIdIsTheSmallestUnused) {
  std::vector<model::Server> servers(4);
  servers[0].id = 1;
  servers[1].id = 3;
  servers[2].id = 2;
  servers[3].id = 9;
  EXPECT_EQ(freeServerId(servers), 4u);
  EXPECT_EQ(freeServerId(servers, 9), 10u);
  EXPECT_EQ(freeServerId({}), 1u);
}

// ---------------------------------------------------------------------------------------
// id N in frontend, backend and listen sections

constexpr std::string_view kProxies =
    "frontend f\n bind :80\n default_backend b\n"
    "backend b\n server s1 127.0.0.1:1\n"
    "listen l\n bind :81\n";

TEST(ConfigProxyId, WithoutIdsProxiesAreNumberedInOrder) {
  auto c = load(kProxies);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->services[0].id, 1u);  // f
  EXPECT_EQ(c->pools[0].id, 2u);     // b
  EXPECT_EQ(c->services[1].id, 3u);  // l, its service and its pool
  EXPECT_EQ(c->pools[1].id, 3u);
}

TEST(ConfigProxyId, AStatsSocketMovesTheNumberingOneStep) {
  auto c = load("global\n stats socket /tmp/fulcrum-ids-test.sock\n" + std::string(kProxies));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->services[0].id, 2u);
  EXPECT_EQ(c->pools[0].id, 3u);
  EXPECT_EQ(c->services[1].id, 4u);
  // Id 1 stays free for an explicit "id 1" (HAProxy's runtime API proxy has id 0).
  c = load("global\n stats socket /tmp/fulcrum-ids-test.sock\n" + std::string(kProxies) +
           " id 1\n");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->services[0].id, 2u);
  EXPECT_EQ(c->services[1].id, 1u);
  EXPECT_EQ(c->pools[1].id, 1u);
}

TEST(ConfigProxyId, ExplicitIdsAndTheNumberingAroundThem) {
  auto c = load(
      "frontend f\n bind :80\n default_backend b\n"  // counter 1, taken by b: 2
      "backend b\n id 1\n server s1 127.0.0.1:1\n"   // counter 3
      "backend c\n"                                  // counter 4, taken by l: 5
      "listen l\n id 4\n bind :81\n"                 // counter 6
      "backend d\n id 200\n");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->services[0].id, 2u);  // f
  EXPECT_EQ(c->pools[0].id, 1u);     // b
  EXPECT_EQ(c->pools[1].id, 5u);     // c
  EXPECT_EQ(c->services[1].id, 4u);  // l
  EXPECT_EQ(c->pools[2].id, 4u);
  EXPECT_EQ(c->pools[3].id, 200u);  // d
}

TEST(ConfigProxyId, DuplicateIdNamesBothProxies) {
  EXPECT_EQ(onlyError("frontend f\n id 7\n bind :80\n default_backend f\n"
                      "backend f\n id 7\n"),
            "test.cfg:6: error: section 'backend f': keyword 'id': backend 'f' reuses custom id 7 "
            "of frontend 'f' (declared at test.cfg:1)");
}

TEST(ConfigProxyId, BadValuesAndPlacesAreErrors) {
  EXPECT_EQ(onlyError("backend b\n id 0\n"),
            "test.cfg:2: error: section 'backend b': keyword 'id': value '0' is out of range "
            "(expected an integer from 1 to 2147483647)");
  EXPECT_EQ(onlyError("backend b\n id -1\n"),
            "test.cfg:2: error: section 'backend b': keyword 'id': invalid number '-1' "
            "(expected an integer from 1 to 2147483647)");
  EXPECT_EQ(onlyError("backend b\n id one\n"),
            "test.cfg:2: error: section 'backend b': keyword 'id': invalid number 'one' "
            "(expected an integer from 1 to 2147483647)");
  EXPECT_EQ(onlyError("backend b\n id\n"),
            "test.cfg:2: error: section 'backend b': keyword 'id' expects a number");
  EXPECT_EQ(onlyError("backend b\n id 3 4\n"),
            "test.cfg:2: error: section 'backend b': keyword 'id': unexpected extra argument '4'");
  EXPECT_EQ(onlyError("defaults\n id 3\n"),
            "test.cfg:2: error: section 'defaults': keyword 'id' is not allowed in a defaults "
            "section (HAProxy accepts it in frontend, listen and backend sections)");
}

}  // namespace
}  // namespace fulcrum::config
