// The TCP proxy end to end: the real fulcrum binary, real backends on loopback.
#include <fmt/core.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <map>
#include <regex>
#include <thread>

#include "fulcrum_fixture.h"

namespace fulcrum::test {
namespace {

std::string listenConfig(uint16_t port, const std::string& servers, const std::string& extra = "",
                         int threads = 1) {
  return fmt::format(
      "global\n"
      "    nbthread {}\n"
      "defaults\n"
      "    mode tcp\n"
      "    timeout connect 2s\n"
      "    timeout client 30s\n"
      "    timeout server 30s\n"
      "listen app\n"
      "    bind 127.0.0.1:{}\n"
      "    balance roundrobin\n"
      "{}{}",
      threads, port, extra, servers);
}

// Connects through the proxy and returns the banner line of the backend that answered.
std::string bannerThrough(const SockAddr& front) {
  int fd = connectTcp(front);
  if (fd < 0) return "<connect failed>";
  std::string line;
  bool ok = readLine(fd, line, 5s);
  closeFd(fd);
  return ok ? line : "<no banner>";
}

TEST(Proxy, WeightedRoundRobinDistributesConnectionsInProportion) {
  Backend a(Backend::banner("a")), b(Backend::banner("b")), c(Backend::banner("c"));
  ReservedPort port;
  std::string servers =
      fmt::format("    server a {} weight 1\n    server b {} weight 2\n    server c {} weight 3\n",
                  a.addrString(), b.addrString(), c.addrString());
  FulcrumProcess f(listenConfig(port.port(), servers), SockAddr::loopback4(port.port()));
  ASSERT_TRUE(f.ready()) << f.logs();
  // The readiness probe itself went through the scheduler: count from the next pick on.
  std::map<std::string, int> seen;
  for (int i = 0; i < 60; ++i) ++seen[bannerThrough(SockAddr::loopback4(port.port()))];
  EXPECT_EQ(seen["a"], 10);
  EXPECT_EQ(seen["b"], 20);
  EXPECT_EQ(seen["c"], 30);
  // Smooth interleaving: within any 6 consecutive picks each server appears by weight.
}

TEST(Proxy, RoundRobinAlternatesAcrossServers) {
  Backend a(Backend::banner("a")), b(Backend::banner("b"));
  ReservedPort port;
  std::string servers =
      fmt::format("    server a {}\n    server b {}\n", a.addrString(), b.addrString());
  FulcrumProcess f(listenConfig(port.port(), servers), SockAddr::loopback4(port.port()));
  ASSERT_TRUE(f.ready()) << f.logs();
  std::string prev = bannerThrough(SockAddr::loopback4(port.port()));
  for (int i = 0; i < 10; ++i) {
    std::string cur = bannerThrough(SockAddr::loopback4(port.port()));
    ASSERT_TRUE(cur == "a" || cur == "b") << cur;
    EXPECT_NE(cur, prev) << "connection " << i << " did not alternate";
    prev = cur;
  }
}

// Both directions at once, different random payloads, byte-exact.
TEST(Proxy, RelaysLargeRandomPayloadsBothWaysByteExact) {
  const size_t kSize = 16 * 1024 * 1024;
  const std::string up = randomBytes(kSize, 1);
  const std::string down = randomBytes(kSize, 2);
  std::string receivedByBackend;
  std::atomic<bool> backendOk{false};
  Backend be([&](int fd) {
    std::thread writer([&] {
      sendAll(fd, down.data(), down.size(), 60s);
      shutdown(fd, SHUT_WR);
    });
    backendOk = readToEof(fd, receivedByBackend, 60s);
    writer.join();
  });
  ReservedPort port;
  FulcrumProcess f(listenConfig(port.port(), fmt::format("    server s {}\n", be.addrString())),
                   SockAddr::loopback4(port.port()));
  ASSERT_TRUE(f.ready()) << f.logs();
  // The readiness probe was one connection; ours is the next.
  int fd = connectTcp(SockAddr::loopback4(port.port()));
  ASSERT_GE(fd, 0);
  std::thread writer([&] {
    sendAll(fd, up.data(), up.size(), 60s);
    shutdown(fd, SHUT_WR);
  });
  std::string receivedByClient;
  EXPECT_TRUE(readToEof(fd, receivedByClient, 60s));
  writer.join();
  closeFd(fd);
  be.stop();
  EXPECT_TRUE(backendOk.load());
  EXPECT_EQ(receivedByClient.size(), down.size());
  EXPECT_TRUE(receivedByClient == down) << "server-to-client bytes differ";
  EXPECT_EQ(receivedByBackend.size(), up.size());
  EXPECT_TRUE(receivedByBackend == up) << "client-to-server bytes differ";
}

// Client half-closes; the server answers after seeing EOF.
TEST(Proxy, ClientHalfCloseIsForwardedWhileServerKeepsSending) {
  Backend be([](int fd) {
    std::string req;
    if (!readToEof(fd, req, 10s)) return;
    sendAll(fd, "got:" + req);
    std::string big(1 << 20, 'x');
    sendAll(fd, big);
  });
  ReservedPort port;
  FulcrumProcess f(listenConfig(port.port(), fmt::format("    server s {}\n", be.addrString())),
                   SockAddr::loopback4(port.port()));
  ASSERT_TRUE(f.ready()) << f.logs();
  int fd = connectTcp(SockAddr::loopback4(port.port()));
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(sendAll(fd, std::string("request")));
  shutdown(fd, SHUT_WR);
  std::string resp;
  EXPECT_TRUE(readToEof(fd, resp, 10s));
  closeFd(fd);
  EXPECT_EQ(resp.substr(0, 11), "got:request");
  EXPECT_EQ(resp.size(), 11u + (1u << 20));
}

// Server half-closes first; the client keeps sending and the server still receives.
TEST(Proxy, ServerHalfCloseIsForwardedWhileClientKeepsSending) {
  std::string gotAfterFin;
  std::atomic<bool> done{false};
  Backend be([&](int fd) {
    sendAll(fd, std::string("hello"));
    shutdown(fd, SHUT_WR);
    readToEof(fd, gotAfterFin, 10s);
    done = true;
  });
  ReservedPort port;
  FulcrumProcess f(listenConfig(port.port(), fmt::format("    server s {}\n", be.addrString())),
                   SockAddr::loopback4(port.port()));
  ASSERT_TRUE(f.ready()) << f.logs();
  // Wait until the readiness probe's session has been handled by the backend.
  int fd = connectTcp(SockAddr::loopback4(port.port()));
  ASSERT_GE(fd, 0);
  std::string hello;
  EXPECT_TRUE(readToEof(fd, hello, 10s));  // EOF from the server arrives...
  EXPECT_EQ(hello, "hello");
  std::string late(256 * 1024, 'y');
  EXPECT_TRUE(sendAll(fd, late));  // ...while this direction still flows
  shutdown(fd, SHUT_WR);
  char c;
  EXPECT_EQ(recv(fd, &c, 1, 0), 0);  // the proxy closes once both directions are done
  closeFd(fd);
  be.stop();
  EXPECT_TRUE(done.load());
  EXPECT_EQ(gotAfterFin, late);
}

TEST(Proxy, RefusingServerIsSkippedAndNoClientHangs) {
  RefusingPort dead;
  Backend good(Backend::banner("good"));
  ReservedPort port;
  std::string servers = fmt::format("    server dead 127.0.0.1:{}\n    server good {}\n",
                                    dead.port(), good.addrString());
  FulcrumProcess f(listenConfig(port.port(), servers), SockAddr::loopback4(port.port()));
  ASSERT_TRUE(f.ready()) << f.logs();
  for (int i = 0; i < 10; ++i)
    EXPECT_EQ(bannerThrough(SockAddr::loopback4(port.port())), "good") << "connection " << i;
}

TEST(Proxy, AllServersRefusingClosesTheClientPromptly) {
  RefusingPort d1, d2;
  ReservedPort port;
  std::string servers =
      fmt::format("    server d1 127.0.0.1:{}\n    server d2 127.0.0.1:{}\n", d1.port(), d2.port());
  FulcrumProcess f(listenConfig(port.port(), servers), SockAddr::loopback4(port.port()));
  ASSERT_TRUE(f.proc().running());
  // Readiness: the listener accepts (then closes) connections.
  const int fd = pollUntil([&] { return connectTcp(SockAddr::loopback4(port.port())); },
                           [](int c) { return c >= 0; }, 5s, 10ms);
  ASSERT_GE(fd, 0);
  auto start = Clock::now();
  std::string got;
  EXPECT_TRUE(readToEof(fd, got, 5s));
  EXPECT_LT(Clock::now() - start, 2s);
  EXPECT_EQ(got, "");
  closeFd(fd);
}

// A server whose accept queue is full never completes the handshake: timeout connect
// fires and the next server takes the client.
TEST(Proxy, TimedOutConnectMovesToNextServer) {
  // A listener with a backlog of 0 whose queue we fill, so further SYNs are dropped.
  int black = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  SockAddr any = SockAddr::loopback4(0);
  ASSERT_EQ(bind(black, any.sa(), any.len()), 0);
  ASSERT_EQ(listen(black, 0), 0);
  const SockAddr blackAddr = localAddressOf(black);
  std::vector<int> fillers;
  for (int i = 0; i < 4; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    ::connect(fd, blackAddr.sa(), blackAddr.len());
    fillers.push_back(fd);
  }
  Backend good(Backend::banner("good"));
  ReservedPort port;
  std::string servers = fmt::format("    server black {}\n    server good {}\n",
                                    blackAddr.toString(), good.addrString());
  std::string cfg = listenConfig(port.port(), servers);
  cfg = std::regex_replace(cfg, std::regex("timeout connect 2s"), "timeout connect 200ms");
  FulcrumProcess f(cfg, SockAddr::loopback4(port.port()));
  ASSERT_TRUE(f.ready()) << f.logs();
  for (int i = 0; i < 4; ++i) {
    auto start = Clock::now();
    EXPECT_EQ(bannerThrough(SockAddr::loopback4(port.port())), "good") << "connection " << i;
    EXPECT_LT(Clock::now() - start, 3s);
  }
  for (int fd : fillers) closeFd(fd);
  closeFd(black);
}

TEST(Proxy, IdleClientIsClosedAtTimeoutClient) {
  Backend be(Backend::echo());
  ReservedPort port;
  std::string cfg = listenConfig(port.port(), fmt::format("    server s {}\n", be.addrString()));
  cfg = std::regex_replace(cfg, std::regex("timeout client 30s"), "timeout client 300ms");
  FulcrumProcess f(cfg, SockAddr::loopback4(port.port()));
  ASSERT_TRUE(f.ready()) << f.logs();
  int fd = connectTcp(SockAddr::loopback4(port.port()));
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(sendAll(fd, std::string("ping")));
  std::string echoed;
  ASSERT_TRUE(readExactly(fd, echoed, 4));
  auto idleFrom = Clock::now();
  std::string rest;
  EXPECT_TRUE(readToEof(fd, rest, 5s)) << "the proxy did not close the idle connection";
  auto idle = Clock::now() - idleFrom;
  EXPECT_GE(idle, 250ms);
  EXPECT_LT(idle, 3s);
  closeFd(fd);
}

TEST(Proxy, Ipv6ListenerAndServer) {
  Backend be(Backend::banner("six"), /*v6=*/true);
  ReservedPort port(/*v6=*/true);
  std::string cfg = fmt::format(
      "defaults\n  timeout connect 2s\n  timeout client 10s\n  timeout server 10s\n"
      "frontend f6\n  bind [::1]:{}\n  default_backend b6\n"
      "backend b6\n  server s {}\n",
      port.port(), be.addrString());
  SockAddr front = *SockAddr::parse(fmt::format("[::1]:{}", port.port()));
  FulcrumProcess f(cfg, front);
  ASSERT_TRUE(f.ready()) << f.logs();
  EXPECT_EQ(bannerThrough(front), "six");
}

TEST(Proxy, TwoWorkerThreadsServeEveryConnection) {
  Backend a(Backend::banner("a")), b(Backend::banner("b"));
  ReservedPort port;
  std::string servers =
      fmt::format("    server a {}\n    server b {}\n", a.addrString(), b.addrString());
  FulcrumProcess f(listenConfig(port.port(), servers, "", 2), SockAddr::loopback4(port.port()));
  ASSERT_TRUE(f.ready()) << f.logs();
  std::map<std::string, int> seen;
  for (int i = 0; i < 40; ++i) ++seen[bannerThrough(SockAddr::loopback4(port.port()))];
  EXPECT_EQ(seen["a"] + seen["b"], 40);
  EXPECT_GT(seen["a"], 0);
  EXPECT_GT(seen["b"], 0);
}

TEST(Proxy, SigintExitsAtOnceClosingConnections) {
  Backend be(Backend::echo());
  ReservedPort port;
  FulcrumProcess f(listenConfig(port.port(), fmt::format("    server s {}\n", be.addrString())),
                   SockAddr::loopback4(port.port()));
  ASSERT_TRUE(f.ready()) << f.logs();
  int fd = connectTcp(SockAddr::loopback4(port.port()));  // one connection in flight
  ASSERT_GE(fd, 0);
  f.proc().signal(SIGINT);
  EXPECT_EQ(f.proc().wait(10s), 0) << f.logs();
  std::string rest;
  EXPECT_TRUE(readToEof(fd, rest, 5s)) << "in-flight client not closed at exit";
  closeFd(fd);
  EXPECT_NE(f.logs().find("stopping now"), std::string::npos) << f.logs();
}

TEST(Proxy, SigintExitsCleanly) {
  Backend be(Backend::echo());
  ReservedPort port;
  FulcrumProcess f(listenConfig(port.port(), fmt::format("    server s {}\n", be.addrString())),
                   SockAddr::loopback4(port.port()));
  ASSERT_TRUE(f.ready()) << f.logs();
  f.proc().signal(SIGINT);
  EXPECT_EQ(f.proc().wait(10s), 0) << f.logs();
}

}  // namespace
}  // namespace fulcrum::test
