// UDP load balancing (udp-lb sections) with the real binary: a real DNS server (nsd)
// queried with dig, flows and their stickiness, per-datagram balancing, replies from the
// address the client sent to, IPv6, the flow table bound, oversize datagrams, server
// states and reloads.
#include "support/udp.h"

#include <fmt/core.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "fulcrum_fixture.h"
#include "proxy/proxy_protocol.h"

namespace fulcrum::test {
namespace {

// The admin HTTP listener (the fixture's probe and /metrics) and a runtime API socket.
struct Admin {
  ReservedPort http;
  TempDir dir;
  std::string sock = dir.path() + "/api.sock";
  std::string global(int threads = 2) const {
    return fmt::format(
        "global\n  nbthread {}\n  stats socket {} level admin\n  stats bind 127.0.0.1:{}\n",
        threads, sock, http.port());
  }
  SockAddr probe() const { return SockAddr::loopback4(http.port()); }
};

// The value of one Prometheus sample ("name{labels}"), or -1 when absent.
double metric(uint16_t port, const std::string& sample) {
  int fd = connectTcp(SockAddr::loopback4(port));
  if (fd < 0) return -1;
  std::string body;
  sendAll(fd, std::string("GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n"));
  readToEof(fd, body);
  closeFd(fd);
  std::istringstream in(body);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(sample + " ", 0) == 0) return std::stod(line.substr(sample.size() + 1));
  }
  return -1;
}

std::string frontendSample(const std::string& family, const std::string& frontend) {
  return fmt::format("fulcrum_frontend_{}{{frontend=\"{}\"}}", family, frontend);
}

// The tag of an echo reply ("A:payload" -> "A"), "" for none.
std::string tagOf(const std::optional<std::string>& reply) {
  if (!reply) return "";
  return reply->substr(0, reply->find(':'));
}

// nsd, started on a free loopback port, serving one zone (fulcrum.test).
class Nsd {
 public:
  Nsd() {
    dir_.write("fulcrum.test.zone",
               "$ORIGIN fulcrum.test.\n$TTL 60\n@ IN SOA ns1 admin 1 3600 600 86400 60\n"
               "@ IN NS ns1\nns1 IN A 192.0.2.1\nwww IN A 192.0.2.10\n");
    const std::string d = dir_.path();
    const std::string conf = dir_.write(
        "nsd.conf",
        fmt::format("server:\n  ip-address: 127.0.0.1@{}\n  username: \"\"\n  chroot: \"\"\n"
                    "  zonesdir: \"{}\"\n  pidfile: \"{}/nsd.pid\"\n  xfrdfile: \"{}/xfrd.state\"\n"
                    "  zonelistfile: \"{}/zone.list\"\n  database: \"\"\n  server-count: 1\n"
                    "remote-control:\n  control-enable: no\nzone:\n  name: \"fulcrum.test\"\n"
                    "  zonefile: \"fulcrum.test.zone\"\n",
                    port_.port(), d, d, d, d));
    proc_.start({"/usr/sbin/nsd", "-d", "-c", conf}, d);
    ready_ = eventually([&] { return dig(port_.port()) == "192.0.2.10\n"; }, 10s);
  }
  ~Nsd() {
    proc_.signal(SIGTERM);
    if (proc_.wait(10s) < 0) proc_.signal(SIGKILL);
  }
  bool ready() const { return ready_; }
  uint16_t port() const { return port_.port(); }
  std::string logs() const { return proc_.err(); }
  // "dig +short" of www.fulcrum.test at 127.0.0.1:port.
  static std::string dig(uint16_t port) {
    return run({"/usr/bin/dig", "+short", "+tries=1", "+time=2", "-p", std::to_string(port),
                "@127.0.0.1", "www.fulcrum.test"})
        .out;
  }

 private:
  TempDir dir_;
  UdpPort port_;
  Process proc_;
  bool ready_ = false;
};

TEST(UdpLb, DnsQueriesThroughARealServerWithDig) {
  Nsd nsd;
  ASSERT_TRUE(nsd.ready()) << "nsd did not answer: " << nsd.logs();
  auto dig = [](uint16_t port) { return Nsd::dig(port); };
  Admin admin;
  UdpPort front;
  FulcrumProcess f(admin.global() + fmt::format("udp-lb dns\n"
                                                "  dgram-bind 127.0.0.1:{}\n"
                                                "  proxy-requests 1\n"
                                                "  proxy-responses 1\n"
                                                "  timeout server 2s\n"
                                                "  server ns1 127.0.0.1:{}\n",
                                                front.port(), nsd.port()),
                   admin.probe());
  ASSERT_TRUE(f.ready()) << f.logs();
  for (int i = 0; i < 10; ++i) ASSERT_EQ(dig(front.port()), "192.0.2.10\n") << f.logs();
  const uint16_t http = admin.http.port();
  EXPECT_EQ(metric(http, frontendSample("datagrams_in_total", "dns")), 10);
  EXPECT_EQ(metric(http, frontendSample("datagrams_out_total", "dns")), 10);
  EXPECT_EQ(metric(http, frontendSample("connections_total", "dns")), 10);  // a flow per query
  // Each flow ended with its answer: none is left in the table.
  EXPECT_EQ(metric(http, frontendSample("current_connections", "dns")), 0);
}

TEST(UdpLb, AFlowStaysOnItsServerAndProxyRequestsOneBalancesEachDatagram) {
  UdpServer a("A"), b("B");
  Admin admin;
  UdpPort sticky, each;
  FulcrumProcess f(admin.global(1) + fmt::format("udp-lb sticky\n"
                                                 "  dgram-bind 127.0.0.1:{}\n"
                                                 "  balance roundrobin\n"
                                                 "  server a {}\n  server b {}\n"
                                                 "udp-lb each\n"
                                                 "  dgram-bind 127.0.0.1:{}\n"
                                                 "  balance roundrobin\n"
                                                 "  proxy-requests 1\n"
                                                 "  server a {}\n  server b {}\n",
                                                 sticky.port(), a.addrString(), b.addrString(),
                                                 each.port(), a.addrString(), b.addrString()),
                   admin.probe());
  ASSERT_TRUE(f.ready()) << f.logs();
  // Two clients: each keeps the server its first datagram got; round robin gave them two.
  UdpClient c1, c2;
  const SockAddr stickyAddr = SockAddr::loopback4(sticky.port());
  const std::string s1 = tagOf(c1.exchange(stickyAddr, "x"));
  const std::string s2 = tagOf(c2.exchange(stickyAddr, "x"));
  ASSERT_FALSE(s1.empty()) << f.logs();
  ASSERT_FALSE(s2.empty());
  EXPECT_NE(s1, s2);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(tagOf(c1.exchange(stickyAddr, fmt::format("m{}", i))), s1);
    EXPECT_EQ(tagOf(c2.exchange(stickyAddr, fmt::format("m{}", i))), s2);
  }
  // The payload comes back whole.
  EXPECT_EQ(c1.exchange(stickyAddr, "payload-123"), s1 + ":payload-123");
  EXPECT_EQ(metric(admin.http.port(), frontendSample("current_connections", "sticky")), 2);

  // proxy-requests 1: every datagram is a flow of its own, so one client alternates.
  const SockAddr eachAddr = SockAddr::loopback4(each.port());
  std::vector<std::string> seen;
  for (int i = 0; i < 6; ++i) seen.push_back(tagOf(c1.exchange(eachAddr, "y")));
  for (int i = 0; i < 6; ++i) {
    ASSERT_FALSE(seen[i].empty());
    if (i > 0) {
      EXPECT_NE(seen[i], seen[i - 1]) << "datagram " << i;
    }
  }
}

TEST(UdpLb, ProxyRequestsHoldsWhenAClientsDatagramsArriveTogether) {
  // Six datagrams sent at once (one receive batch): proxy-requests 2 makes three flows of
  // two, given to the servers in turn, whatever the batching of the sends.
  UdpServer a("A"), b("B");
  Admin admin;
  UdpPort front;
  FulcrumProcess f(admin.global(1) + fmt::format("udp-lb pairs\n"
                                                 "  dgram-bind 127.0.0.1:{}\n"
                                                 "  balance roundrobin\n"
                                                 "  proxy-requests 2\n"
                                                 "  server a {}\n  server b {}\n",
                                                 front.port(), a.addrString(), b.addrString()),
                   admin.probe());
  ASSERT_TRUE(f.ready()) << f.logs();
  const SockAddr to = SockAddr::loopback4(front.port());
  UdpClient c;
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(c.send(to, fmt::format("d{}", i)));
  std::map<std::string, std::set<int>> got;
  for (int i = 0; i < 6; ++i) {
    const auto r = c.receive(2s);
    ASSERT_TRUE(r) << i << f.logs();
    got[tagOf(r)].insert(r->back() - '0');
  }
  ASSERT_EQ(got.size(), 2u);
  // Pairs: {0,1} and {4,5} on one server, {2,3} on the other.
  const std::set<int> outer = {0, 1, 4, 5}, inner = {2, 3};
  EXPECT_TRUE((got["A"] == outer && got["B"] == inner) || (got["A"] == inner && got["B"] == outer))
      << "A: " << got["A"].size() << " B: " << got["B"].size();
  EXPECT_EQ(metric(admin.http.port(), frontendSample("connections_total", "pairs")), 3);
}

TEST(UdpLb, AWildcardBindRepliesFromTheAddressTheClientSentTo) {
  UdpServer a("A");
  Admin admin;
  UdpPort v4, v6(true);
  FulcrumProcess f(admin.global() + fmt::format("udp-lb any\n"
                                                "  dgram-bind 0.0.0.0:{}\n"
                                                "  dgram-bind :::{}\n"
                                                "  server a {}\n",
                                                v4.port(), v6.port(), a.addrString()),
                   admin.probe());
  ASSERT_TRUE(f.ready()) << f.logs();
  // 127.0.0.0/8 is all loopback: the kernel alone would answer from 127.0.0.1.
  for (const char* host : {"127.0.0.1", "127.0.0.2", "127.0.0.3"}) {
    UdpClient c;
    SockAddr from;
    const SockAddr to = *SockAddr::parseHost(host, v4.port());
    EXPECT_EQ(c.exchange(to, "hi", 2s, &from), "A:hi") << host << "\n" << f.logs();
    EXPECT_EQ(from.toString(), to.toString());
  }
  // The dual-stack wildcard: an IPv6 client, and an IPv4 one reaching it as v4-mapped.
  UdpClient c6(true);
  SockAddr from;
  const SockAddr to6 = *SockAddr::parse(fmt::format("[::1]:{}", v6.port()));
  EXPECT_EQ(c6.exchange(to6, "six", 2s, &from), "A:six");
  EXPECT_EQ(from.toString(), to6.toString());
  UdpClient c4;
  const SockAddr to4 = *SockAddr::parseHost("127.0.0.4", v6.port());
  EXPECT_EQ(c4.exchange(to4, "four", 2s, &from), "A:four");
  EXPECT_EQ(from.toString(), to4.toString());
}

TEST(UdpLb, Ipv6BindsAndServers) {
  UdpServer a("A", /*v6=*/true);
  Admin admin;
  UdpPort front(true);
  FulcrumProcess f(admin.global() + fmt::format("listen six\n"
                                                "  mode udp\n"
                                                "  bind [::1]:{}\n"
                                                "  server a {}\n",
                                                front.port(), a.addrString()),
                   admin.probe());
  ASSERT_TRUE(f.ready()) << f.logs();
  UdpClient c(true);
  const SockAddr to = *SockAddr::parse(fmt::format("[::1]:{}", front.port()));
  EXPECT_EQ(c.exchange(to, "v6"), "A:v6") << f.logs();
  const std::string sess = apiRequest(admin.sock, "show sess");
  EXPECT_NE(sess.find("proto=udpv6"), std::string::npos) << sess;
  EXPECT_NE(sess.find("fe=six be=six srv=a state=flow"), std::string::npos) << sess;
}

TEST(UdpLb, AFullTableDropsNewFlowsAndCountsThem) {
  UdpServer a("A");
  Admin admin;
  UdpPort front;
  FulcrumProcess f(admin.global(1) + fmt::format("udp-lb small\n"
                                                 "  dgram-bind 127.0.0.1:{}\n"
                                                 "  maxconn 2\n"
                                                 "  server a {}\n",
                                                 front.port(), a.addrString()),
                   admin.probe());
  ASSERT_TRUE(f.ready()) << f.logs();
  const SockAddr to = SockAddr::loopback4(front.port());
  UdpClient c1, c2, c3;
  ASSERT_EQ(c1.exchange(to, "1"), "A:1");
  ASSERT_EQ(c2.exchange(to, "2"), "A:2");
  ASSERT_TRUE(c3.send(to, "3"));
  const std::string full = frontendSample("udp_table_full_total", "small");
  ASSERT_TRUE(eventually([&] { return metric(admin.http.port(), full) == 1; }, 5s));
  EXPECT_FALSE(c3.receive(100ms).has_value());
  EXPECT_EQ(a.received(), 2);
  // The flows in the table are unaffected.
  EXPECT_EQ(c1.exchange(to, "again"), "A:again");
  EXPECT_EQ(c2.exchange(to, "again"), "A:again");
}

TEST(UdpLb, DatagramsAboveThePayloadSizeAreDroppedAndCounted) {
  UdpServer a("A");
  Admin admin;
  UdpPort front;
  FulcrumProcess f(admin.global(1) + fmt::format("udp-lb small\n"
                                                 "  dgram-bind 127.0.0.1:{}\n"
                                                 "  accepted-payload-size 100\n"
                                                 "  server a {}\n",
                                                 front.port(), a.addrString()),
                   admin.probe());
  ASSERT_TRUE(f.ready()) << f.logs();
  const SockAddr to = SockAddr::loopback4(front.port());
  UdpClient c;
  const std::string fits(100, 'f');
  EXPECT_EQ(c.exchange(to, fits), "A:" + fits);
  ASSERT_TRUE(c.send(to, std::string(101, 'o')));
  const std::string oversize = frontendSample("udp_oversize_total", "small");
  ASSERT_TRUE(eventually([&] { return metric(admin.http.port(), oversize) == 1; }, 5s));
  EXPECT_FALSE(c.receive(100ms).has_value());
  EXPECT_EQ(a.received(), 1);
}

TEST(UdpLb, FlowsLeaveAServerInMaintenanceAndStayOnADrainingOne) {
  UdpServer a("A"), b("B");
  Admin admin;
  UdpPort front;
  FulcrumProcess f(admin.global() + fmt::format("udp-lb states\n"
                                                "  dgram-bind 127.0.0.1:{}\n"
                                                "  balance roundrobin\n"
                                                "  server a {}\n  server b {}\n",
                                                front.port(), a.addrString(), b.addrString()),
                   admin.probe());
  ASSERT_TRUE(f.ready()) << f.logs();
  const SockAddr to = SockAddr::loopback4(front.port());
  UdpClient c;
  const std::string first = tagOf(c.exchange(to, "1"));
  ASSERT_FALSE(first.empty());
  const std::string name = first == "A" ? "a" : "b";
  EXPECT_EQ(apiRequest(admin.sock, "set server states/" + name + " state drain"), "\n");
  EXPECT_EQ(tagOf(c.exchange(to, "2")), first) << "DRAIN keeps the flows a server has";
  EXPECT_EQ(apiRequest(admin.sock, "set server states/" + name + " state maint"), "\n");
  const std::string other = first == "A" ? "B" : "A";
  EXPECT_EQ(tagOf(c.exchange(to, "3")), other) << "MAINT moves them";
  EXPECT_EQ(tagOf(c.exchange(to, "4")), other);
}

TEST(UdpLb, ShutdownSessionsEndsTheServersFlows) {
  UdpServer a("A"), b("B");
  Admin admin;
  UdpPort front;
  FulcrumProcess f(admin.global(1) + fmt::format("udp-lb app\n"
                                                 "  dgram-bind 127.0.0.1:{}\n"
                                                 "  balance roundrobin\n"
                                                 "  server a {}\n  server b {}\n",
                                                 front.port(), a.addrString(), b.addrString()),
                   admin.probe());
  ASSERT_TRUE(f.ready()) << f.logs();
  const SockAddr to = SockAddr::loopback4(front.port());
  UdpClient c1, c2;
  const std::string s1 = tagOf(c1.exchange(to, "1"));
  const std::string s2 = tagOf(c2.exchange(to, "2"));
  ASSERT_NE(s1, s2);
  const std::string current = frontendSample("current_connections", "app");
  ASSERT_EQ(metric(admin.http.port(), current), 2);
  EXPECT_EQ(
      apiRequest(admin.sock, "shutdown sessions server app/" + std::string(s1 == "A" ? "a" : "b")),
      "\n");
  // That server's flow is gone, the other's stays.
  EXPECT_TRUE(eventually([&] { return metric(admin.http.port(), current) == 1; }, 5s));
  const std::string sess = apiRequest(admin.sock, "show sess");
  EXPECT_NE(sess.find("srv=" + std::string(s2 == "A" ? "a" : "b")), std::string::npos) << sess;
  EXPECT_EQ(sess.find("srv=" + std::string(s1 == "A" ? "a" : "b")), std::string::npos) << sess;
  // The client's next datagram makes a new flow, which works.
  EXPECT_FALSE(tagOf(c1.exchange(to, "again")).empty());
}

TEST(UdpLb, AReloadKeepsEveryFlowOnItsServer) {
  UdpServer a("A"), b("B"), c("C");
  Admin admin;
  UdpPort front;
  auto config = [&](bool withC) {
    return admin.global() + fmt::format(
                                "udp-lb keep\n"
                                "  dgram-bind 127.0.0.1:{}\n"
                                "  balance roundrobin\n"
                                "  server a {}\n  server b {}\n{}",
                                front.port(), a.addrString(), b.addrString(),
                                withC ? "  server c " + c.addrString() + "\n" : "");
  };
  FulcrumProcess f(config(false), admin.probe());
  ASSERT_TRUE(f.ready()) << f.logs();
  const SockAddr to = SockAddr::loopback4(front.port());
  std::vector<std::unique_ptr<UdpClient>> clients;
  std::vector<std::string> servers;
  for (int i = 0; i < 8; ++i) {
    clients.push_back(std::make_unique<UdpClient>());
    servers.push_back(tagOf(clients.back()->exchange(to, "before")));
    ASSERT_FALSE(servers.back().empty());
  }
  // A reload that changes the backend (a new server) must not move a flow.
  ASSERT_TRUE(f.rewriteConfig(config(true)));
  f.proc().signal(SIGHUP);
  ASSERT_TRUE(f.proc().waitForErr("configuration applied (reload)", 10s)) << f.logs();
  for (size_t i = 0; i < clients.size(); ++i)
    EXPECT_EQ(tagOf(clients[i]->exchange(to, "after")), servers[i]) << "client " << i;
  EXPECT_EQ(metric(admin.http.port(), frontendSample("current_connections", "keep")), 8);
  // New flows do see the new server.
  std::set<std::string> fresh;
  for (int i = 0; i < 6; ++i) {
    UdpClient n;
    fresh.insert(tagOf(n.exchange(to, "new")));
  }
  EXPECT_TRUE(fresh.contains("C"));
}

TEST(UdpLb, ALateAnswerNeverReachesTheNextExchangeOfTheSameClient) {
  // The server answers "slow" 1.5 s late, after the flow's timeout server (1 s), and
  // "fast" right after that (it serves one datagram at a time).
  UdpServer a([](std::string_view d) -> std::optional<std::string> {
    if (d == "slow") std::this_thread::sleep_for(1500ms);
    return "A:" + std::string(d);
  });
  Admin admin;
  UdpPort front;
  FulcrumProcess f(admin.global(1) + fmt::format("udp-lb dns\n"
                                                 "  dgram-bind 127.0.0.1:{}\n"
                                                 "  proxy-requests 1\n  proxy-responses 1\n"
                                                 "  timeout server 1s\n"
                                                 "  server a {}\n",
                                                 front.port(), a.addrString()),
                   admin.probe());
  ASSERT_TRUE(f.ready()) << f.logs();
  const SockAddr to = SockAddr::loopback4(front.port());
  UdpClient c;  // one client address and port for both exchanges, as a resolver may use
  ASSERT_TRUE(c.send(to, "slow"));
  ASSERT_TRUE(eventually(
      [&] { return metric(admin.http.port(), "fulcrum_process_timeouts_total") == 1; }, 5s));
  // The second exchange, while the first answer is still on its way: the first reply the
  // client gets is the answer to it.
  EXPECT_EQ(c.exchange(to, "fast", 3s), "A:fast");
  // The late answer arrives at a socket closed with its flow: the client never sees it.
  EXPECT_FALSE(c.receive(500ms).has_value());
  EXPECT_EQ(a.received(), 2);
}

TEST(UdpLb, TwentyReloadsUnderMixedTcpAndUdpLoadLoseNothing) {
  UdpServer a("A"), b("B"), c("C");
  Backend echo(Backend::echo());
  Admin admin;
  UdpPort front;
  ReservedPort tcpFront;
  auto config = [&](bool withC) {
    return admin.global() + fmt::format(
                                "udp-lb load\n"
                                "  dgram-bind 127.0.0.1:{}\n"
                                "  balance roundrobin\n"
                                "  server a {}\n  server b {}\n{}"
                                "listen tcp\n"
                                "  mode tcp\n  bind 127.0.0.1:{}\n"
                                "  timeout client 5s\n  timeout connect 2s\n"
                                "  timeout server 5s\n  server e {}\n",
                                front.port(), a.addrString(), b.addrString(),
                                withC ? "  server c " + c.addrString() + "\n" : "", tcpFront.port(),
                                echo.addrString());
  };
  FulcrumProcess f(config(false), admin.probe());
  ASSERT_TRUE(f.ready()) << f.logs();
  const SockAddr to = SockAddr::loopback4(front.port());
  // Four flows in ping-pong (one datagram in flight each: no buffer can overflow, so a
  // missing reply is a datagram Fulcrum lost), each checking its server never changes.
  constexpr int kFlows = 4;
  std::atomic<bool> stop{false};
  std::atomic<int> exchanges{0}, lost{0}, moved{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < kFlows; ++i) {
    clients.emplace_back([&] {
      UdpClient cl;
      std::string server;
      for (int n = 0; n < 20000 && !stop.load(); ++n) {  // bounded in count and by `stop`
        const auto reply = cl.exchange(to, fmt::format("m{}", n), 2s);
        if (!reply || reply->substr(reply->find(':') + 1) != fmt::format("m{}", n)) {
          lost.fetch_add(1);
          continue;
        }
        const std::string tag = tagOf(reply);
        if (server.empty()) server = tag;
        if (tag != server) moved.fetch_add(1);
        exchanges.fetch_add(1);
      }
    });
  }
  // And short TCP connections, one at a time, each echoing a byte.
  std::atomic<int> tcpOk{0}, tcpFailed{0};
  clients.emplace_back([&] {
    for (int n = 0; n < 20000 && !stop.load(); ++n) {
      const int fd = connectTcp(SockAddr::loopback4(tcpFront.port()));
      std::string got;
      if (fd >= 0 && sendAll(fd, std::string("t")) && readExactly(fd, got, 1, 5s) && got == "t")
        tcpOk.fetch_add(1);
      else
        tcpFailed.fetch_add(1);
      closeFd(fd);
    }
  });
  ASSERT_TRUE(eventually([&] { return exchanges.load() >= 100 && tcpOk.load() >= 20; }, 10s));
  const std::string applied = "configuration applied (reload)";
  auto count = [&] {
    size_t n = 0;
    const std::string logs = f.logs();
    for (size_t at = logs.find(applied); at != std::string::npos; at = logs.find(applied, at + 1))
      ++n;
    return n;
  };
  for (int r = 1; r <= 20; ++r) {
    ASSERT_TRUE(f.rewriteConfig(config(r % 2 == 1)));
    const int before = exchanges.load();
    f.proc().signal(SIGHUP);
    ASSERT_TRUE(eventually([&] { return count() == static_cast<size_t>(r); }, 10s)) << f.logs();
    // Traffic flowed across this reload.
    ASSERT_TRUE(eventually([&] { return exchanges.load() >= before + 20; }, 10s));
  }
  stop.store(true);
  for (auto& t : clients) t.join();
  EXPECT_EQ(lost.load(), 0);
  EXPECT_EQ(moved.load(), 0);
  EXPECT_GT(exchanges.load(), 400);
  EXPECT_EQ(tcpFailed.load(), 0);
  EXPECT_GT(tcpOk.load(), 100);
  // Nothing was dropped by the kernel for want of room, nor by Fulcrum for any reason.
  const uint16_t http = admin.http.port();
  for (const char* drop : {"udp_kernel_drops_total", "udp_send_errors_total", "no_server_total",
                           "udp_table_full_total"})
    EXPECT_EQ(metric(http, frontendSample(drop, "load")), 0) << drop;
  EXPECT_EQ(metric(http, frontendSample("current_connections", "load")), kFlows);
}

// ---------------------------------------------------------------------------------------
// Health checks of UDP servers

TEST(UdpHealth, UdpCheckExpectMarksAStoppedServerDownAndTrafficAvoidsIt) {
  UdpServer a("A"), b("B");
  Admin admin;
  UdpPort front;
  FulcrumProcess f(admin.global() + fmt::format("udp-lb app\n"
                                                "  dgram-bind 127.0.0.1:{}\n"
                                                "  proxy-requests 1\n"
                                                "  proxy-responses 1\n"
                                                "  option udp-check\n"
                                                "  udp-check send ping\n"
                                                "  udp-check expect rstring ^[AB]:ping$\n"
                                                "  default-server check inter 100ms fall 2 rise 1\n"
                                                "  server a {}\n  server b {}\n",
                                                front.port(), a.addrString(), b.addrString()),
                   admin.probe());
  ASSERT_TRUE(f.ready()) << f.logs();
  // The checks reach the servers (the echo answers match), both stay UP.
  ASSERT_TRUE(eventually([&] { return a.received() >= 3 && b.received() >= 3; }, 5s));
  EXPECT_EQ(f.logs().find("is DOWN"), std::string::npos) << f.logs();
  // b stops: its port answers with ICMP port unreachable.
  b.stop();
  ASSERT_TRUE(
      f.proc().waitForErr("Server app/b is DOWN (was UP), reason: Layer4 connection "
                          "problem, info: \"ICMP error: Connection refused\"",
                          5s))
      << f.logs();
  const SockAddr to = SockAddr::loopback4(front.port());
  for (int i = 0; i < 6; ++i) {
    UdpClient c;
    EXPECT_EQ(tagOf(c.exchange(to, "q")), "A") << i;
  }
}

TEST(UdpHealth, AServerThatNeverAnswersFailsAnExpectingCheckOnly) {
  UdpServer mute("M", false, /*silent=*/true);
  Admin admin;
  UdpPort f1, f2;
  FulcrumProcess f(
      admin.global() + fmt::format("udp-lb expecting\n"
                                   "  dgram-bind 127.0.0.1:{}\n"
                                   "  option udp-check\n"
                                   "  udp-check expect string pong\n"
                                   "  timeout check 100ms\n"
                                   "  server m {} check inter 100ms fall 2\n"
                                   "udp-lb syslog\n"
                                   "  dgram-bind 127.0.0.1:{}\n"
                                   "  proxy-responses 0\n"
                                   "  option udp-check\n"
                                   "  timeout check 100ms\n"
                                   "  server m {} check inter 100ms fall 2\n",
                                   f1.port(), mute.addrString(), f2.port(), mute.addrString()),
      admin.probe());
  ASSERT_TRUE(f.ready()) << f.logs();
  ASSERT_TRUE(
      f.proc().waitForErr("Server expecting/m is DOWN (was UP), reason: Layer7 timeout, "
                          "info: \"no reply to udp-check (expect string 'pong')\"",
                          5s))
      << f.logs();
  // The syslog-style check expects no reply: the same silent server stays UP (no ICMP).
  const int seen = mute.received();
  ASSERT_TRUE(eventually([&] { return mute.received() >= seen + 4; }, 5s));
  EXPECT_EQ(f.logs().find("Server syslog/m is DOWN"), std::string::npos) << f.logs();
}

TEST(UdpHealth, DnsCheckAgainstARealServer) {
  Nsd nsd;
  ASSERT_TRUE(nsd.ready()) << nsd.logs();
  UdpPort dead;  // nothing listens on it
  Admin admin;
  UdpPort front, other;
  FulcrumProcess f(
      admin.global() + fmt::format("udp-lb dns\n"
                                   "  dgram-bind 127.0.0.1:{}\n"
                                   "  proxy-requests 1\n  proxy-responses 1\n"
                                   "  option dns-check fulcrum.test\n"
                                   "  default-server check inter 100ms fall 2 rise 1\n"
                                   "  server ns 127.0.0.1:{}\n"
                                   "  server dead 127.0.0.1:{}\n"
                                   "udp-lb wrongzone\n"
                                   "  dgram-bind 127.0.0.1:{}\n"
                                   "  option dns-check example.org\n"
                                   "  server ns 127.0.0.1:{} check inter 100ms fall 2\n",
                                   front.port(), nsd.port(), dead.port(), other.port(), nsd.port()),
      admin.probe());
  ASSERT_TRUE(f.ready()) << f.logs();
  ASSERT_TRUE(
      f.proc().waitForErr("Server dns/dead is DOWN (was UP), reason: Layer4 connection "
                          "problem",
                          5s))
      << f.logs();
  // nsd is not authoritative for example.org: it refuses, and the check says so.
  ASSERT_TRUE(
      f.proc().waitForErr("Server wrongzone/ns is DOWN (was UP), reason: Layer7 invalid "
                          "response, info: \"dns-check example.org.: rcode 5 (REFUSED)\"",
                          5s))
      << f.logs();
  EXPECT_EQ(f.logs().find("Server dns/ns is DOWN"), std::string::npos) << f.logs();
  // Every query goes to the live server.
  for (int i = 0; i < 6; ++i) EXPECT_EQ(Nsd::dig(front.port()), "192.0.2.10\n") << i;
}

TEST(UdpHealth, ObserveLayer4MarksDownAServerWhoseFlowsGetNoReply) {
  UdpServer good("G"), mute("M", false, /*silent=*/true);
  Admin admin;
  UdpPort front;
  FulcrumProcess f(
      admin.global(1) + fmt::format("udp-lb app\n"
                                    "  dgram-bind 127.0.0.1:{}\n"
                                    "  balance roundrobin\n"
                                    "  proxy-requests 1\n  proxy-responses 1\n"
                                    "  timeout server 100ms\n"
                                    "  default-server observe layer4 error-limit 3 "
                                    "on-error mark-down\n"
                                    "  server g {}\n  server m {}\n",
                                    front.port(), good.addrString(), mute.addrString()),
      admin.probe());
  ASSERT_TRUE(f.ready()) << f.logs();
  const SockAddr to = SockAddr::loopback4(front.port());
  UdpClient c;
  for (int i = 0; i < 6; ++i) c.send(to, "q");  // three of them to the mute server
  ASSERT_TRUE(f.proc().waitForErr("Server app/m is DOWN (was UP), reason: Health analyze", 5s))
      << f.logs();
  EXPECT_EQ(f.logs().find("Server app/g is DOWN"), std::string::npos);
  for (int i = 0; i < 4; ++i) {
    UdpClient n;
    EXPECT_EQ(tagOf(n.exchange(to, "after")), "G") << i;
  }
}

// ---------------------------------------------------------------------------------------
// PROXY protocol v2 over UDP

// A server that takes PROXY v2 datagrams: answers "src=A dst=B:PAYLOAD", or "bad" when the
// datagram does not start with a valid v2 header of the DGRAM transport.
UdpServer::Responder proxyV2Reader() {
  return [](std::string_view d) -> std::optional<std::string> {
    proxy::ProxyHeader h;
    const auto* p = reinterpret_cast<const uint8_t*>(d.data());
    if (proxy::parseProxyHeader(p, d.size(), h, nullptr, d.size()) != proxy::ParseStatus::kOk ||
        !h.v2 || h.transport != proxy::Transport::kDgram)
      return std::string("bad");
    return fmt::format("src={} dst={}:{}", h.src.toString(), h.dst.toString(),
                       d.substr(h.headerLength));
  };
}

// A datagram with a PROXY v2 header announcing src -> dst.
std::string withProxyHeader(const std::string& src, const std::string& dst,
                            const std::string& payload) {
  uint8_t buf[proxy::kV2MaxEncodedLengthNoTlv];
  proxy::V2Options opts;
  opts.transport = proxy::Transport::kDgram;
  const size_t n =
      proxy::writeProxyV2(*SockAddr::parse(src), *SockAddr::parse(dst), buf, sizeof(buf), opts);
  return std::string(reinterpret_cast<const char*>(buf), n) + payload;
}

TEST(UdpProxyV2, SendProxyV2PrefixesEveryDatagramAndAcceptProxyHonoursAndStripsIt) {
  UdpServer reader(proxyV2Reader());
  Admin admin;
  UdpPort plain, proxied;
  FulcrumProcess f(admin.global() + fmt::format("udp-lb app\n"
                                                "  dgram-bind 127.0.0.1:{}\n"
                                                "  dgram-bind 127.0.0.1:{} accept-proxy\n"
                                                "  server r {} send-proxy-v2\n",
                                                plain.port(), proxied.port(), reader.addrString()),
                   admin.probe());
  ASSERT_TRUE(f.ready()) << f.logs();
  // A plain client: the server learns its address and the address it sent to.
  UdpClient c;
  const SockAddr toPlain = SockAddr::loopback4(plain.port());
  const std::string expected =
      fmt::format("src={} dst={}:", c.local().toString(), toPlain.toString());
  EXPECT_EQ(c.exchange(toPlain, "one"), expected + "one") << f.logs();
  EXPECT_EQ(c.exchange(toPlain, "two"), expected + "two");

  // A proxy in front announcing two clients: each is its own flow, the header Fulcrum
  // sends carries what was announced, and replies go back to the sender.
  UdpClient front;
  const SockAddr toProxied = SockAddr::loopback4(proxied.port());
  EXPECT_EQ(front.exchange(toProxied, withProxyHeader("192.0.2.7:1234", "198.51.100.1:53", "a")),
            "src=192.0.2.7:1234 dst=198.51.100.1:53:a");
  EXPECT_EQ(front.exchange(toProxied, withProxyHeader("192.0.2.8:999", "198.51.100.1:53", "b")),
            "src=192.0.2.8:999 dst=198.51.100.1:53:b");
  const std::string sess = apiRequest(admin.sock, "show sess");
  EXPECT_NE(sess.find("src=192.0.2.7:1234 dst=198.51.100.1:53"), std::string::npos) << sess;
  EXPECT_NE(sess.find("src=192.0.2.8:999 dst=198.51.100.1:53"), std::string::npos) << sess;

  // A datagram without a valid header costs that datagram only.
  const int before = reader.received();
  ASSERT_TRUE(front.send(toProxied, "no header here"));
  std::string broken = withProxyHeader("192.0.2.7:1234", "198.51.100.1:53", "x");
  broken[12] = 0x21 + 0x10;  // version 3
  ASSERT_TRUE(front.send(toProxied, broken));
  const std::string errors = frontendSample("request_errors_total", "app");
  ASSERT_TRUE(eventually([&] { return metric(admin.http.port(), errors) == 2; }, 5s));
  EXPECT_EQ(reader.received(), before);
  EXPECT_EQ(front.exchange(toProxied, withProxyHeader("192.0.2.7:1234", "198.51.100.1:53", "c")),
            "src=192.0.2.7:1234 dst=198.51.100.1:53:c");
}

TEST(UdpProxyV2, UnboundTakesTheClientAddressFromTheHeaderAndChecksPassWithALocalHeader) {
  TempDir dir;
  UdpPort port;
  const std::string conf = dir.write(
      "unbound.conf",
      fmt::format("server:\n  interface: 127.0.0.1@{0}\n  proxy-protocol-port: {0}\n"
                  "  do-daemonize: no\n  chroot: \"\"\n  username: \"\"\n  directory: \"{1}\"\n"
                  "  pidfile: \"{1}/unbound.pid\"\n  use-syslog: no\n  logfile: \"\"\n"
                  "  log-queries: yes\n  verbosity: 1\n  access-control: 127.0.0.0/8 allow\n"
                  "  do-ip6: no\n  local-zone: \"fulcrum.test.\" static\n"
                  "  local-data: \"www.fulcrum.test. 60 IN A 192.0.2.20\"\n"
                  "  auto-trust-anchor-file: \"\"\n  trust-anchor-file: \"\"\n"
                  "remote-control:\n  control-enable: no\n",
                  port.port(), dir.path()));
  Process unbound;
  unbound.start({"/usr/sbin/unbound", "-d", "-c", conf}, dir.path());
  ASSERT_TRUE(unbound.waitForErr("start of service", 10s)) << unbound.err();

  Admin admin;
  UdpPort front;
  FulcrumProcess f(admin.global() + fmt::format("udp-lb dns\n"
                                                "  dgram-bind 127.0.0.1:{}\n"
                                                "  proxy-requests 1\n  proxy-responses 1\n"
                                                "  option dns-check fulcrum.test\n"
                                                "  server ub 127.0.0.1:{} send-proxy-v2 check "
                                                "inter 100ms fall 1 rise 1\n",
                                                front.port(), port.port()),
                   admin.probe());
  ASSERT_TRUE(f.ready()) << f.logs();
  // dig from 127.0.0.5: unbound logs that address, which only the PROXY header carries.
  const auto dig = run({"/usr/bin/dig", "+short", "+tries=1", "+time=2", "-b", "127.0.0.5", "-p",
                        std::to_string(front.port()), "@127.0.0.1", "www.fulcrum.test"});
  EXPECT_EQ(dig.out, "192.0.2.20\n") << f.logs() << unbound.err();
  EXPECT_TRUE(unbound.waitForErr("127.0.0.5 www.fulcrum.test. A IN", 5s)) << unbound.err();
  // The checks (with a LOCAL header, which unbound requires on that port) pass: several
  // checks ran and the server never went down.
  ASSERT_TRUE(eventually(
      [&] {
        size_t n = 0;
        for (size_t at = unbound.err().find("fulcrum.test. SOA IN"); at != std::string::npos;
             at = unbound.err().find("fulcrum.test. SOA IN", at + 1))
          ++n;
        return n >= 3;
      },
      5s))
      << unbound.err();
  EXPECT_EQ(f.logs().find("is DOWN"), std::string::npos) << f.logs();
  EXPECT_EQ(unbound.err().find("could not match PROXYv2 header"), std::string::npos);
  unbound.signal(SIGTERM);
  unbound.wait(10s);
}

}  // namespace
}  // namespace fulcrum::test
