// The TCP proxy's features end to end: the real fulcrum binary, real loopback backends.
// Keywords and semantics are HAProxy's (docs/configuration.md). Every port is 0 or a
// ReservedPort, every wait is a poll with a deadline; "nothing happens" is observed for a
// bounded time (kQuiet) with poll(), never with a sleep.
//
// Every configuration gets a "probe" frontend without backend, declared last: FulcrumProcess's
// readiness probe connects there (the connection is closed at accept), so the probe reaches
// no backend under test and holds no slot of a limit under test.
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <fmt/core.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "common/fd.h"
#include "fulcrum_fixture.h"
#include "proxy/proxy_protocol.h"

namespace fulcrum::test {
namespace {

using std::chrono::milliseconds;

// How long a test watches for something that must not happen.
constexpr auto kQuiet = 300ms;

// ---------------------------------------------------------------------------------------
// Helpers

SockAddr v4(uint16_t port) { return SockAddr::loopback4(port); }
SockAddr v6(uint16_t port) { return *SockAddr::parse(fmt::format("[::1]:{}", port)); }

int64_t msSince(Clock::time_point t0) {
  return std::chrono::duration_cast<milliseconds>(Clock::now() - t0).count();
}

// A fulcrum process on `sections`, with a probe frontend of its own (see the file comment).
class Fulcrum {
 public:
  explicit Fulcrum(const std::string& sections, const std::string& global = "    nbthread 1\n")
      : proc_(config(probe_.port(), global, sections), v4(probe_.port())) {}
  bool ready() const { return proc_.ready(); }
  std::string logs() const { return proc_.logs(); }  // stderr
  std::string out() { return proc_.proc().out(); }   // stdout
  pid_t pid() { return proc_.proc().pid(); }

  static std::string config(uint16_t probe, const std::string& global,
                            const std::string& sections) {
    return fmt::format(
        "global\n{}"
        "defaults\n"
        "    mode tcp\n"
        "    timeout connect 2s\n"
        "    timeout client 10s\n"
        "    timeout server 10s\n"
        "{}"
        // Last: listeners open in configuration order, so once the probe's accepts, every
        // other frontend's does too.
        "frontend probe\n"
        "    bind 127.0.0.1:{}\n",
        global, sections, probe);
  }

 private:
  ReservedPort probe_;
  FulcrumProcess proc_;
};

// Connects to dst, from src when given (bound before connect: another client address, or
// a chosen source port). Blocking socket on success; invalid on failure.
// *error (when given) is set to the errno of a failed connection attempt.
UniqueFd connectFrom(const SockAddr& dst, const std::optional<SockAddr>& src = std::nullopt,
                     bool reuseAddr = false, int* error = nullptr) {
  auto fail = [error](int err) {
    if (error != nullptr) *error = err;
    return UniqueFd();
  };
  UniqueFd fd(socket(dst.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return fail(errno);
  if (reuseAddr) {
    int one = 1;
    setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  }
  if (src && bind(fd.get(), src->sa(), src->len()) != 0) return fail(errno);
  int rc = ::connect(fd.get(), dst.sa(), dst.len());
  if (rc != 0 && errno != EINPROGRESS) return fail(errno);
  if (rc != 0) {
    pollfd p{fd.get(), POLLOUT, 0};
    if (poll(&p, 1, 5000) != 1) return fail(ETIMEDOUT);
    int err = 0;
    socklen_t len = sizeof(err);
    getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return fail(err);
  }
  fcntl(fd.get(), F_SETFL, fcntl(fd.get(), F_GETFL) & ~O_NONBLOCK);
  return fd;
}

// A client source address, port chosen by the kernel.
std::optional<SockAddr> from(const std::string& host) { return *SockAddr::parseHost(host, 0); }

UniqueFd connectFromHost(const SockAddr& dst, const std::string& srcHost) {
  return connectFrom(dst, *SockAddr::parseHost(srcHost, 0));
}

SockAddr localAddr(int fd) { return localAddressOf(fd); }

SockAddr peerAddr(int fd) {
  SockAddr a;
  *a.lenPtr() = a.capacity();
  getpeername(fd, a.sa(), a.lenPtr());
  return a;
}

// What a client sees next from its peer.
enum class Peer { kData, kEof, kReset, kError, kTimeout };

const char* name(Peer p) {
  switch (p) {
    case Peer::kData: return "data";
    case Peer::kEof: return "EOF";
    case Peer::kReset: return "reset";
    case Peer::kError: return "error";
    case Peer::kTimeout: return "nothing (timeout)";
  }
  return "?";
}

// Waits up to `timeout` for data (appended to *data), an EOF or a reset.
Peer waitPeer(int fd, milliseconds timeout, std::string* data = nullptr) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
    pollfd p{fd, POLLIN, 0};
    int rc = poll(&p, 1, static_cast<int>(std::max<int64_t>(left, 0)));
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) return Peer::kTimeout;
    char buf[4096];
    ssize_t n = ::recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n > 0) {
      if (data != nullptr) data->append(buf, static_cast<size_t>(n));
      return Peer::kData;
    }
    if (n == 0) return Peer::kEof;
    if (errno == EAGAIN || errno == EINTR) continue;
    return errno == ECONNRESET ? Peer::kReset : Peer::kError;
  }
}

bool closedWithoutData(Peer p) { return p == Peer::kEof || p == Peer::kReset; }

// The banner line of the backend a new connection reaches; the connection is then closed.
std::string bannerThrough(const SockAddr& front) {
  UniqueFd fd = connectFrom(front);
  if (!fd.valid()) return "<connect failed>";
  std::string line;
  return readLine(fd.get(), line, 5s) ? line : "<no banner>";
}

// The same, but closing gracefully and waiting for the proxy to finish the session, so
// that the server's slot is free when this returns (with nbthread 1 the worker handles the
// next connection strictly after this one's close).
std::string bannerGraceful(const SockAddr& front,
                           const std::optional<SockAddr>& src = std::nullopt) {
  UniqueFd fd = connectFrom(front, src);
  if (!fd.valid()) return "<connect failed>";
  std::string line;
  if (!readLine(fd.get(), line, 5s)) return "<no banner>";
  shutdown(fd.get(), SHUT_WR);
  std::string rest;
  if (!readToEof(fd.get(), rest, 5s)) return "<no close>";
  return line;
}

// A held connection: connected, its banner read, kept open until closed.
struct Held {
  UniqueFd fd;
  std::string server;
};

Held holdConnection(const SockAddr& front) {
  Held h;
  h.fd = connectFrom(front);
  if (h.fd.valid() && !readLine(h.fd.get(), h.server, 5s)) h.server = "<no banner>";
  return h;
}

// Closes gracefully and waits for the proxy to close its side.
void closeGracefully(UniqueFd& fd) {
  shutdown(fd.get(), SHUT_WR);
  std::string rest;
  readToEof(fd.get(), rest, 5s);
  fd.reset();
}

// Closes with a reset: no TIME_WAIT, so the same 4-tuple can be used again at once.
void closeWithReset(UniqueFd& fd) {
  linger l{1, 0};
  setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &l, sizeof(l));
  fd.reset();
}

// Fast pseudo-random bytes (splitmix64), for large payloads in a debug build.
std::string fastRandom(size_t n, uint64_t seed) {
  std::string s(n, '\0');
  uint64_t x = seed;
  for (size_t i = 0; i < n; i += 8) {
    uint64_t z = (x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    std::memcpy(s.data() + i, &z, std::min<size_t>(8, n - i));
  }
  return s;
}

// A backend that echoes the first line it receives as the order of arrival: records the
// line, answers "ok\n", then holds the connection until the client closes.
struct ArrivalLog {
  std::mutex mu;
  std::vector<std::string> ids;
  std::vector<std::string> snapshot() {
    std::lock_guard<std::mutex> lk(mu);
    return ids;
  }
};

Backend::Handler recordArrival(ArrivalLog& log) {
  return [&log](int fd) {
    std::string id;
    if (!readLine(fd, id, 10s)) return;
    {
      std::lock_guard<std::mutex> lk(log.mu);
      log.ids.push_back(id);
    }
    sendAll(fd, std::string("ok\n"));
    std::string rest;
    readToEof(fd, rest, 10s);
  };
}

// A backend that never sends: reads until EOF.
Backend::Handler silent() {
  return [](int fd) {
    std::string ignored;
    readToEof(fd, ignored, 10s);
  };
}

struct TcplogLine {
  std::string client, frontend, backend, server, term;
  int64_t tw = 0, tc = 0, tt = 0;
  uint64_t bytes = 0;
  int retries = 0;
};

// Parses HAProxy's tcplog lines:
// "%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq".
std::vector<TcplogLine> parseTcplog(const std::string& text) {
  static const std::regex re(
      R"(^(\S+) \[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d\.\d{3}\] (\S+) ([^/\s]+)/(\S+) )"
      R"((-?\d+)/(-?\d+)/(\d+) (\d+) (\S\S) \d+/\d+/\d+/\d+/(\d+) \d+/\d+$)");
  std::vector<TcplogLine> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::smatch m;
    if (!std::regex_match(line, m, re)) continue;
    TcplogLine l;
    l.client = m[1];
    l.frontend = m[2];
    l.backend = m[3];
    l.server = m[4];
    l.tw = std::stoll(m[5]);
    l.tc = std::stoll(m[6]);
    l.tt = std::stoll(m[7]);
    l.bytes = std::stoull(m[8]);
    l.term = m[9];
    l.retries = std::stoi(m[10]);
    out.push_back(l);
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// 1. Balance algorithms

std::string listenSection(uint16_t port, const std::string& body) {
  return fmt::format("listen app\n    bind 127.0.0.1:{}\n{}", port, body);
}

TEST(FeaturesBalance, StaticRrFollowsConfiguredWeights) {
  Backend a(Backend::banner("a")), b(Backend::banner("b"));
  ReservedPort fe;
  Fulcrum f(listenSection(fe.port(), fmt::format("    balance static-rr\n"
                                                 "    server a {} weight 1\n"
                                                 "    server b {} weight 3\n",
                                                 a.addrString(), b.addrString())));
  ASSERT_TRUE(f.ready()) << f.logs();
  std::vector<std::string> order;
  for (int i = 0; i < 40; ++i) order.push_back(bannerThrough(v4(fe.port())));
  EXPECT_EQ(std::count(order.begin(), order.end(), "a"), 10);
  EXPECT_EQ(std::count(order.begin(), order.end(), "b"), 30);
  // Interleaved, not in runs: every window of 4 consecutive picks holds exactly one "a".
  for (size_t i = 0; i + 4 <= order.size(); ++i)
    EXPECT_EQ(std::count(order.begin() + static_cast<long>(i),
                         order.begin() + static_cast<long>(i + 4), "a"),
              1)
        << "window at " << i;
}

TEST(FeaturesBalance, LeastconnSendsNewConnectionsToTheLessLoadedServer) {
  Backend a(Backend::banner("a")), b(Backend::banner("b"));
  ReservedPort fe;
  Fulcrum f(listenSection(fe.port(), fmt::format("    balance leastconn\n"
                                                 "    server a {}\n    server b {}\n",
                                                 a.addrString(), b.addrString())));
  ASSERT_TRUE(f.ready()) << f.logs();
  // Three long connections: one server ends up with two of them.
  std::vector<Held> held;
  for (int i = 0; i < 3; ++i) held.push_back(holdConnection(v4(fe.port())));
  std::map<std::string, int> load;
  for (auto& h : held) ++load[h.server];
  ASSERT_EQ(load["a"] + load["b"], 3) << "unexpected banners";
  const std::string busy = load["a"] == 2 ? "a" : "b";
  const std::string idle = busy == "a" ? "b" : "a";
  ASSERT_EQ(load[busy], 2);
  // Keep only the two long connections of the busy server.
  for (auto& h : held)
    if (h.server == idle) closeGracefully(h.fd);
  // Every new connection goes to the idle server while the busy one holds two (round
  // robin would alternate).
  for (int i = 0; i < 10; ++i) EXPECT_EQ(bannerGraceful(v4(fe.port())), idle) << "connection " << i;
  // Once the busy server's connections end, it takes traffic again.
  for (auto& h : held)
    if (h.fd.valid()) closeGracefully(h.fd);
  std::set<std::string> seen;
  for (int i = 0; i < 4; ++i) seen.insert(bannerGraceful(v4(fe.port())));
  EXPECT_EQ(seen, (std::set<std::string>{"a", "b"}));
}

TEST(FeaturesBalance, FirstFillsServersInOrderUpToMaxconn) {
  Backend s1(Backend::banner("s1")), s2(Backend::banner("s2")), s3(Backend::banner("s3"));
  ReservedPort fe;
  Fulcrum f(
      listenSection(fe.port(), fmt::format("    balance first\n"
                                           "    timeout queue 10s\n"
                                           "    server s1 {} maxconn 2\n"
                                           "    server s2 {} maxconn 2\n"
                                           "    server s3 {} maxconn 2\n",
                                           s1.addrString(), s2.addrString(), s3.addrString())));
  ASSERT_TRUE(f.ready()) << f.logs();
  std::vector<Held> held;
  std::vector<std::string> got;
  for (int i = 0; i < 4; ++i) {
    held.push_back(holdConnection(v4(fe.port())));
    got.push_back(held.back().server);
  }
  EXPECT_EQ(got, (std::vector<std::string>{"s1", "s1", "s2", "s2"}));
  EXPECT_EQ(s3.accepted(), 0);
  // A slot frees on s1: the next connection goes back to s1, not to s3.
  closeGracefully(held[0].fd);
  Held again = holdConnection(v4(fe.port()));
  EXPECT_EQ(again.server, "s1");
  Held third = holdConnection(v4(fe.port()));
  EXPECT_EQ(third.server, "s3");
}

TEST(FeaturesBalance, SourceKeepsEachClientAddressOnOneServer) {
  Backend a(Backend::banner("a")), b(Backend::banner("b")), c(Backend::banner("c"));
  ReservedPort fe;
  // Two worker threads: connections of one client land on both, and both must agree.
  Fulcrum f(listenSection(fe.port(), fmt::format("    balance source\n"
                                                 "    server a {}\n    server b {}\n"
                                                 "    server c {}\n",
                                                 a.addrString(), b.addrString(), c.addrString())),
            "    nbthread 2\n");
  ASSERT_TRUE(f.ready()) << f.logs();
  std::set<std::string> used;
  for (int host = 2; host <= 21; ++host) {
    const std::string ip = fmt::format("127.0.0.{}", host);
    std::set<std::string> servers;
    for (int i = 0; i < 5; ++i) {
      UniqueFd fd = connectFromHost(v4(fe.port()), ip);
      ASSERT_TRUE(fd.valid()) << ip;
      std::string line;
      ASSERT_TRUE(readLine(fd.get(), line, 5s)) << ip;
      servers.insert(line);
    }
    EXPECT_EQ(servers.size(), 1u) << "client " << ip << " moved between servers";
    used.insert(servers.begin(), servers.end());
  }
  // 20 client addresses do not all hash to one server.
  EXPECT_GE(used.size(), 2u);
  EXPECT_EQ(a.accepted() + b.accepted() + c.accepted(), 100);
}

TEST(FeaturesBalance, RandomGivesEveryServerSomeTraffic) {
  Backend a(Backend::banner("a")), b(Backend::banner("b")), c(Backend::banner("c"));
  ReservedPort fe;
  Fulcrum f(listenSection(fe.port(), fmt::format("    balance random\n"
                                                 "    server a {}\n    server b {}\n"
                                                 "    server c {}\n",
                                                 a.addrString(), b.addrString(), c.addrString())));
  ASSERT_TRUE(f.ready()) << f.logs();
  std::map<std::string, int> seen;
  for (int i = 0; i < 60; ++i) ++seen[bannerThrough(v4(fe.port()))];
  EXPECT_EQ(seen["a"] + seen["b"] + seen["c"], 60);
  EXPECT_GT(seen["a"], 0);
  EXPECT_GT(seen["b"], 0);
  EXPECT_GT(seen["c"], 0);
}

// The server a connection from 127.0.0.1:srcPort reaches (the port is reused: the
// connection ends with a reset so that no TIME_WAIT holds the 4-tuple, and the port is
// free again at once). Empty when the source port cannot be bound again (taken meanwhile).
std::string bannerFromPort(const SockAddr& front, uint16_t srcPort) {
  UniqueFd fd = connectFrom(front, SockAddr::loopback4(srcPort));
  if (!fd.valid()) return "";
  std::string line;
  if (!readLine(fd.get(), line, 5s)) line = "<no banner>";
  closeWithReset(fd);
  return line;
}

TEST(FeaturesBalance, MaglevKeepsAFlowOnItsServerAndSurvivesAServerRemoval) {
  Backend a(Backend::banner("a")), b(Backend::banner("b")), c(Backend::banner("c"));
  ReservedPort fe;
  auto servers = [&](bool withC) {
    std::string s = fmt::format("    balance maglev\n    server a {}\n    server b {}\n",
                                a.addrString(), b.addrString());
    if (withC) s += fmt::format("    server c {}\n", c.addrString());
    return s;
  };
  // Flows: 30 client source ports, each used several times.
  std::map<uint16_t, std::string> flowServer;
  {
    Fulcrum f(listenSection(fe.port(), servers(true)));
    ASSERT_TRUE(f.ready()) << f.logs();
    std::map<std::string, int> seen;
    for (int i = 0; i < 30; ++i) {
      // Bound without SO_REUSEADDR: the kernel then never picks a port another test holds
      // with a ReservedPort.
      UniqueFd fd = connectFrom(v4(fe.port()), SockAddr::loopback4(0));
      ASSERT_TRUE(fd.valid());
      const uint16_t port = localAddr(fd.get()).port();
      std::string first;
      ASSERT_TRUE(readLine(fd.get(), first, 5s));
      closeWithReset(fd);
      ++seen[first];
      // The same 5-tuple again: always the same server.
      for (int k = 0; k < 3; ++k) {
        std::string again = bannerFromPort(v4(fe.port()), port);
        if (again.empty()) continue;  // the port was taken meanwhile: nothing to compare
        EXPECT_EQ(again, first) << "flow from port " << port << " moved";
      }
      flowServer[port] = first;
    }
    // Every server gets some of the 30 flows.
    EXPECT_GT(seen["a"], 0);
    EXPECT_GT(seen["b"], 0);
    EXPECT_GT(seen["c"], 0);
  }
  // c removed from the configuration: every flow is served by a or b, and flows that were
  // on a or b mostly stay there (Maglev's minimal disruption).
  Fulcrum f(listenSection(fe.port(), servers(false)));
  ASSERT_TRUE(f.ready()) << f.logs();
  int kept = 0, comparable = 0;
  for (const auto& [port, before] : flowServer) {
    std::string now = bannerFromPort(v4(fe.port()), port);
    if (now.empty()) continue;
    EXPECT_TRUE(now == "a" || now == "b") << now;
    if (before == "c") continue;
    ++comparable;
    if (now == before) ++kept;
  }
  ASSERT_GT(comparable, 0);
  EXPECT_GE(kept * 10, comparable * 8) << kept << " of " << comparable << " flows kept";
}

// ---------------------------------------------------------------------------------------
// 2. Server maxconn and queues

std::string queueSection(uint16_t port, const std::string& server, const std::string& extra) {
  return listenSection(port, fmt::format("{}    server s {}\n", extra, server));
}

TEST(FeaturesQueue, ClientWaitsForTheServerSlot) {
  Backend be(Backend::banner("s"));
  ReservedPort fe;
  Fulcrum f(queueSection(fe.port(), be.addrString() + " maxconn 1", "    timeout queue 10s\n"));
  ASSERT_TRUE(f.ready()) << f.logs();
  Held first = holdConnection(v4(fe.port()));
  ASSERT_EQ(first.server, "s");
  UniqueFd second = connectFrom(v4(fe.port()));
  ASSERT_TRUE(second.valid());
  // Queued: no server connection while the first one holds the only slot.
  std::string data;
  EXPECT_EQ(waitPeer(second.get(), kQuiet, &data), Peer::kTimeout) << data;
  EXPECT_EQ(be.accepted(), 1);
  first.fd.reset();  // plain close
  std::string line;
  ASSERT_TRUE(readLine(second.get(), line, 5s));
  EXPECT_EQ(line, "s");
  EXPECT_EQ(be.accepted(), 2);
}

TEST(FeaturesQueue, QueuedClientsAreServedInArrivalOrder) {
  ArrivalLog log;
  Backend be(recordArrival(log));
  ReservedPort fe;
  Fulcrum f(queueSection(fe.port(), be.addrString() + " maxconn 1", "    timeout queue 10s\n"));
  ASSERT_TRUE(f.ready()) << f.logs();
  std::vector<UniqueFd> c;
  for (int i = 0; i < 4; ++i) {
    c.push_back(connectFrom(v4(fe.port())));
    ASSERT_TRUE(c.back().valid());
    ASSERT_TRUE(sendAll(c.back().get(), fmt::format("c{}\n", i)));
    if (i == 0) {
      std::string ok;
      ASSERT_TRUE(readLine(c[0].get(), ok, 5s));
    }
  }
  // c1, c2, c3 wait in the queue, in this order: none reaches the server meanwhile.
  for (int i = 1; i < 4; ++i)
    EXPECT_EQ(waitPeer(c[static_cast<size_t>(i)].get(), i == 1 ? kQuiet : 0ms), Peer::kTimeout);
  EXPECT_EQ(be.accepted(), 1);
  // Free the slot once at a time: each time exactly the oldest waiting client gets it.
  for (int next = 1; next < 4; ++next) {
    EXPECT_EQ(log.snapshot().size(), static_cast<size_t>(next));
    c[static_cast<size_t>(next - 1)].reset();
    std::string ok;
    ASSERT_TRUE(readLine(c[static_cast<size_t>(next)].get(), ok, 5s)) << "c" << next;
    for (int later = next + 1; later < 4; ++later)
      EXPECT_EQ(waitPeer(c[static_cast<size_t>(later)].get(), 0ms), Peer::kTimeout)
          << "c" << later << " served before c" << next;
  }
  EXPECT_EQ(log.snapshot(), (std::vector<std::string>{"c0", "c1", "c2", "c3"}));
}

TEST(FeaturesQueue, TimeoutQueueClosesAWaitingClient) {
  Backend be(Backend::banner("s"));
  ReservedPort fe;
  // timeout connect is long: the 300 ms can only come from timeout queue.
  Fulcrum f(queueSection(fe.port(), be.addrString() + " maxconn 1",
                         "    timeout connect 5s\n    timeout queue 300ms\n"
                         "    log stdout local0\n    option tcplog\n"));
  ASSERT_TRUE(f.ready()) << f.logs();
  Held first = holdConnection(v4(fe.port()));
  ASSERT_EQ(first.server, "s");
  auto t0 = Clock::now();
  UniqueFd second = connectFrom(v4(fe.port()));
  ASSERT_TRUE(second.valid());
  Peer p = waitPeer(second.get(), 3s);
  EXPECT_TRUE(closedWithoutData(p)) << name(p);
  EXPECT_GE(msSince(t0), 250);
  EXPECT_LT(msSince(t0), 2000);
  EXPECT_EQ(be.accepted(), 1);
  // Logged as a server-side timeout in the queue, with the time spent there.
  const std::string client = fmt::format("127.0.0.1:{}", localAddr(second.get()).port());
  std::vector<TcplogLine> lines;
  ASSERT_TRUE(eventually([&] { return !(lines = parseTcplog(f.out())).empty(); }, 5s, 5ms))
      << f.out();
  EXPECT_EQ(lines[0].client, client);
  EXPECT_EQ(lines[0].term, "sQ");
  EXPECT_GE(lines[0].tw, 250);
  EXPECT_EQ(lines[0].tc, -1);
}

TEST(FeaturesQueue, MaxqueueRefusesClientsBeyondTheQueue) {
  Backend be(Backend::banner("s"));
  ReservedPort fe;
  Fulcrum f(queueSection(fe.port(), be.addrString() + " maxconn 1 maxqueue 1",
                         "    timeout queue 10s\n"));
  ASSERT_TRUE(f.ready()) << f.logs();
  Held first = holdConnection(v4(fe.port()));
  ASSERT_EQ(first.server, "s");
  UniqueFd queued = connectFrom(v4(fe.port()));
  ASSERT_TRUE(queued.valid());
  EXPECT_EQ(waitPeer(queued.get(), kQuiet), Peer::kTimeout);  // waits in the queue
  auto t0 = Clock::now();
  UniqueFd refused = connectFrom(v4(fe.port()));
  ASSERT_TRUE(refused.valid());
  Peer p = waitPeer(refused.get(), 3s);
  EXPECT_TRUE(closedWithoutData(p)) << name(p);
  EXPECT_LT(msSince(t0), 1000) << "the client beyond maxqueue was not refused promptly";
  // The queued client is still there, and gets the slot.
  first.fd.reset();
  std::string line;
  ASSERT_TRUE(readLine(queued.get(), line, 5s));
  EXPECT_EQ(line, "s");
  EXPECT_EQ(be.accepted(), 2);
}

// A queued client that aborts (reset) leaves the queue at once, as in HAProxy (a read
// error aborts a queued stream): its place goes to the next client, and the server never
// sees a connection for it.
TEST(FeaturesQueue, AbortedClientLeavesTheQueue) {
  Backend be(Backend::banner("s"));
  ReservedPort fe;
  Fulcrum f(queueSection(fe.port(), be.addrString() + " maxconn 1 maxqueue 1",
                         "    timeout queue 10s\n    log stdout local0\n    option tcplog\n"));
  ASSERT_TRUE(f.ready()) << f.logs();
  Held first = holdConnection(v4(fe.port()));
  ASSERT_EQ(first.server, "s");
  UniqueFd gone = connectFrom(v4(fe.port()));
  ASSERT_TRUE(gone.valid());
  const uint16_t gonePort = localAddr(gone.get()).port();
  EXPECT_EQ(waitPeer(gone.get(), kQuiet), Peer::kTimeout);  // queued
  closeWithReset(gone);
  // Its queue place is free again: this one is queued, not refused.
  std::vector<TcplogLine> lines;
  ASSERT_TRUE(eventually(
      [&] {
        lines = parseTcplog(f.out());
        return !lines.empty();
      },
      5s, 5ms))
      << "no log line for the aborted client";
  EXPECT_EQ(lines[0].client, fmt::format("127.0.0.1:{}", gonePort));
  EXPECT_EQ(lines[0].term, "CQ");
  UniqueFd next = connectFrom(v4(fe.port()));
  ASSERT_TRUE(next.valid());
  EXPECT_EQ(waitPeer(next.get(), kQuiet), Peer::kTimeout) << "refused: the queue is still full";
  first.fd.reset();
  std::string line;
  ASSERT_TRUE(readLine(next.get(), line, 5s));
  EXPECT_EQ(line, "s");
  EXPECT_EQ(be.accepted(), 2) << "the server got a connection for the aborted client";
}

// Two worker threads: the server's maxconn holds across them (a client queued on one
// worker gets a slot freed on the other), and every queued client is served.
TEST(FeaturesQueue, MaxconnHoldsAcrossWorkerThreads) {
  std::atomic<int> live{0}, maxLive{0}, served{0};
  Backend be([&](int fd) {
    int now = ++live;
    int seen = maxLive.load();
    while (now > seen && !maxLive.compare_exchange_weak(seen, now)) {
    }
    std::string id;
    if (readLine(fd, id, 10s)) {
      // Holds the slot a little, so that the other clients queue meanwhile.
      pollfd p{fd, POLLIN, 0};
      poll(&p, 1, 20);
      --live;  // before answering: the client closes, and the slot is the proxy's again
      ++served;
      sendAll(fd, std::string("ok\n"));
    } else {
      --live;
    }
    std::string rest;
    readToEof(fd, rest, 10s);
  });
  ReservedPort fe;
  Fulcrum f(queueSection(fe.port(), be.addrString() + " maxconn 1", "    timeout queue 10s\n"),
            "    nbthread 2\n");
  ASSERT_TRUE(f.ready()) << f.logs();
  const int kClients = 12;
  std::vector<std::thread> clients;
  std::atomic<int> ok{0};
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      UniqueFd c = connectFrom(v4(fe.port()));
      if (!c.valid() || !sendAll(c.get(), fmt::format("c{}\n", i))) return;
      std::string line;
      if (readLine(c.get(), line, 10s) && line == "ok") ++ok;
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok.load(), kClients);
  EXPECT_EQ(served.load(), kClients);
  EXPECT_EQ(maxLive.load(), 1) << "the server had more connections than its maxconn";
}

// ---------------------------------------------------------------------------------------
// 3. Backup servers

TEST(FeaturesBackup, BackupGetsNothingWhileAnActiveServerIsUp) {
  Backend act(Backend::banner("active")), bk(Backend::banner("backup"));
  ReservedPort fe;
  Fulcrum f(listenSection(fe.port(), fmt::format("    server active {}\n"
                                                 "    server bk {} backup\n",
                                                 act.addrString(), bk.addrString())));
  ASSERT_TRUE(f.ready()) << f.logs();
  for (int i = 0; i < 10; ++i) EXPECT_EQ(bannerThrough(v4(fe.port())), "active");
  EXPECT_EQ(bk.accepted(), 0);
}

TEST(FeaturesBackup, OnlyTheFirstBackupTakesOverWithoutAllbackups) {
  Backend act(Backend::banner("active")), b1(Backend::banner("b1")), b2(Backend::banner("b2"));
  ReservedPort fe;
  // Without health checks, a server is down only in maintenance: "disabled".
  Fulcrum f(
      listenSection(fe.port(), fmt::format("    server active {} disabled\n"
                                           "    server b1 {} backup\n"
                                           "    server b2 {} backup\n",
                                           act.addrString(), b1.addrString(), b2.addrString())));
  ASSERT_TRUE(f.ready()) << f.logs();
  for (int i = 0; i < 10; ++i) EXPECT_EQ(bannerThrough(v4(fe.port())), "b1");
  EXPECT_EQ(act.accepted(), 0);
  EXPECT_EQ(b2.accepted(), 0);
}

TEST(FeaturesBackup, AllbackupsBalancesOverEveryBackup) {
  Backend act(Backend::banner("active")), b1(Backend::banner("b1")), b2(Backend::banner("b2"));
  ReservedPort fe;
  Fulcrum f(
      listenSection(fe.port(), fmt::format("    option allbackups\n"
                                           "    server active {} disabled\n"
                                           "    server b1 {} backup\n"
                                           "    server b2 {} backup\n",
                                           act.addrString(), b1.addrString(), b2.addrString())));
  ASSERT_TRUE(f.ready()) << f.logs();
  std::map<std::string, int> seen;
  for (int i = 0; i < 10; ++i) ++seen[bannerThrough(v4(fe.port()))];
  EXPECT_EQ(seen["b1"], 5);
  EXPECT_EQ(seen["b2"], 5);
  EXPECT_EQ(act.accepted(), 0);
}

// ---------------------------------------------------------------------------------------
// 4. send-proxy / send-proxy-v2

// What a PROXY-header-aware backend saw on one connection.
struct ProxySeen {
  bool parsed = false;
  std::string reason;
  proxy::ProxyHeader header;
  std::string payload;
};

struct ProxySeenLog {
  std::mutex mu;
  std::vector<ProxySeen> seen;
  std::vector<ProxySeen> snapshot() {
    std::lock_guard<std::mutex> lk(mu);
    return seen;
  }
};

// Reads a PROXY header (byte by byte, so as not to consume payload), then the payload to
// EOF; answers "done" and closes.
Backend::Handler proxyHeaderReader(ProxySeenLog& log) {
  return [&log](int fd) {
    ProxySeen s;
    std::string bytes;
    while (bytes.size() < 1024) {
      if (!readExactly(fd, bytes, 1, 5s)) {
        s.reason = "connection ended inside the header";
        break;
      }
      const char* reason = nullptr;
      auto st = proxy::parseProxyHeader(reinterpret_cast<const uint8_t*>(bytes.data()),
                                        bytes.size(), s.header, &reason);
      if (st == proxy::ParseStatus::kOk) {
        s.parsed = true;
        break;
      }
      if (st != proxy::ParseStatus::kIncomplete) {
        s.reason = reason != nullptr ? reason : "invalid";
        break;
      }
    }
    if (s.parsed) readToEof(fd, s.payload, 10s);
    sendAll(fd, std::string("done"));
    std::lock_guard<std::mutex> lk(log.mu);
    log.seen.push_back(std::move(s));
  };
}

void checkSendProxy(bool useV2, bool ipv6) {
  ProxySeenLog log;
  Backend be(proxyHeaderReader(log), ipv6);
  ReservedPort fe(ipv6);
  const SockAddr front = ipv6 ? v6(fe.port()) : v4(fe.port());
  Fulcrum f(fmt::format("listen app\n    bind {}\n    server s {} {}\n", front.toString(),
                        be.addrString(), useV2 ? "send-proxy-v2" : "send-proxy"));
  ASSERT_TRUE(f.ready()) << f.logs();
  // An IPv4 client from 127.0.0.2, so that its address differs from the frontend's.
  UniqueFd c = ipv6 ? connectFrom(front) : connectFromHost(front, "127.0.0.2");
  ASSERT_TRUE(c.valid());
  const SockAddr client = localAddr(c.get());
  // Sent at once, before the proxy has connected to the server: the header must go in
  // front of bytes already staged.
  const std::string payload = fastRandom(200 * 1024, ipv6 ? 7 : 8);
  ASSERT_TRUE(sendAll(c.get(), payload.data(), payload.size()));
  shutdown(c.get(), SHUT_WR);
  std::string answer;
  ASSERT_TRUE(readToEof(c.get(), answer, 10s));
  EXPECT_EQ(answer, "done");
  be.stop();
  auto seen = log.snapshot();
  ASSERT_EQ(seen.size(), 1u);
  const ProxySeen& s = seen[0];
  ASSERT_TRUE(s.parsed) << s.reason;
  EXPECT_EQ(s.header.v2, useV2);
  EXPECT_EQ(s.header.command, proxy::Command::kProxy);
  EXPECT_EQ(s.header.family, ipv6 ? proxy::Family::kInet6 : proxy::Family::kInet);
  EXPECT_EQ(s.header.src.toString(), client.toString()) << "not the client's real address";
  EXPECT_EQ(s.header.dst.toString(), front.toString()) << "not the frontend address";
  EXPECT_EQ(s.payload.size(), payload.size());
  EXPECT_TRUE(s.payload == payload) << "payload after the header differs";
}

TEST(FeaturesSendProxy, V1Ipv4) { checkSendProxy(false, false); }
TEST(FeaturesSendProxy, V2Ipv4) { checkSendProxy(true, false); }
TEST(FeaturesSendProxy, V1Ipv6) { checkSendProxy(false, true); }
TEST(FeaturesSendProxy, V2Ipv6) { checkSendProxy(true, true); }

// ---------------------------------------------------------------------------------------
// 5. accept-proxy

std::string v2Header(const SockAddr& src, const SockAddr& dst) {
  uint8_t buf[proxy::kV2MaxEncodedLengthNoTlv];
  size_t n = proxy::writeProxyV2(src, dst, buf, sizeof(buf));
  return std::string(reinterpret_cast<const char*>(buf), n);
}

TEST(FeaturesAcceptProxy, HeaderAddressesReachTheServerThroughSendProxy) {
  ProxySeenLog log;
  Backend be(proxyHeaderReader(log));
  ReservedPort fe;
  Fulcrum f(
      fmt::format("listen app\n    bind 127.0.0.1:{} accept-proxy\n"
                  "    server s {} send-proxy-v2\n",
                  fe.port(), be.addrString()));
  ASSERT_TRUE(f.ready()) << f.logs();
  struct Case {
    std::string header;
    std::string payload;
    std::string src, dst;
  };
  const std::vector<Case> cases = {
      {"PROXY TCP4 192.0.2.10 198.51.100.20 40000 443\r\n", "hello-v1", "192.0.2.10:40000",
       "198.51.100.20:443"},
      {v2Header(*SockAddr::parse("[2001:db8::10]:5000"), *SockAddr::parse("[2001:db8::20]:8443")),
       "hello-v2", "[2001:db8::10]:5000", "[2001:db8::20]:8443"},
  };
  for (const Case& k : cases) {
    UniqueFd c = connectFrom(v4(fe.port()));
    ASSERT_TRUE(c.valid());
    ASSERT_TRUE(sendAll(c.get(), k.header + k.payload));
    shutdown(c.get(), SHUT_WR);
    std::string answer;
    ASSERT_TRUE(readToEof(c.get(), answer, 5s)) << k.payload;
    EXPECT_EQ(answer, "done") << k.payload;
  }
  be.stop();
  auto seen = log.snapshot();
  ASSERT_EQ(seen.size(), cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    ASSERT_TRUE(seen[i].parsed) << seen[i].reason;
    EXPECT_EQ(seen[i].header.src.toString(), cases[i].src);
    EXPECT_EQ(seen[i].header.dst.toString(), cases[i].dst);
    EXPECT_EQ(seen[i].payload, cases[i].payload);
  }
}

TEST(FeaturesAcceptProxy, HeaderIsStrippedBeforeRelaying) {
  Backend be(Backend::echo());
  ReservedPort fe;
  Fulcrum f(fmt::format("listen app\n    bind 127.0.0.1:{} accept-proxy\n    server s {}\n",
                        fe.port(), be.addrString()));
  ASSERT_TRUE(f.ready()) << f.logs();
  for (const std::string& header :
       {std::string("PROXY TCP4 192.0.2.1 192.0.2.2 1000 2000\r\n"),
        v2Header(*SockAddr::parse("192.0.2.1:1000"), *SockAddr::parse("192.0.2.2:2000"))}) {
    UniqueFd c = connectFrom(v4(fe.port()));
    ASSERT_TRUE(c.valid());
    ASSERT_TRUE(sendAll(c.get(), header + "ping"));
    shutdown(c.get(), SHUT_WR);
    std::string echoed;
    ASSERT_TRUE(readToEof(c.get(), echoed, 5s));
    EXPECT_EQ(echoed, "ping");
  }
}

TEST(FeaturesAcceptProxy, MalformedHeaderClosesOnlyThatConnection) {
  Backend be(Backend::echo());
  ReservedPort fe;
  Fulcrum f(fmt::format("listen app\n    bind 127.0.0.1:{} accept-proxy\n    server s {}\n",
                        fe.port(), be.addrString()));
  ASSERT_TRUE(f.ready()) << f.logs();
  UniqueFd good = connectFrom(v4(fe.port()));
  ASSERT_TRUE(good.valid());
  ASSERT_TRUE(sendAll(good.get(), std::string("PROXY TCP4 192.0.2.1 192.0.2.2 1000 2000\r\na")));
  std::string echoed;
  ASSERT_TRUE(readExactly(good.get(), echoed, 1, 5s));
  ASSERT_EQ(be.accepted(), 1);
  for (const std::string& bad :
       {std::string("GET / HTTP/1.0\r\n\r\n"), std::string("PROXY TCP4 999.0.0.1 1.2.3.4 1 2\r\n"),
        std::string("PROXY TCP4 1.2.3.4\r\n")}) {
    UniqueFd c = connectFrom(v4(fe.port()));
    ASSERT_TRUE(c.valid());
    ASSERT_TRUE(sendAll(c.get(), bad));
    auto t0 = Clock::now();
    std::string data;
    Peer p = waitPeer(c.get(), 3s, &data);
    EXPECT_TRUE(closedWithoutData(p)) << name(p) << " for " << bad << ": " << data;
    EXPECT_LT(msSince(t0), 1000);
  }
  EXPECT_EQ(be.accepted(), 1) << "a bad header reached a server";
  // The good connection still relays both ways.
  ASSERT_TRUE(sendAll(good.get(), std::string("bcd")));
  ASSERT_TRUE(readExactly(good.get(), echoed, 3, 5s));
  EXPECT_EQ(echoed, "abcd");
}

TEST(FeaturesAcceptProxy, MissingHeaderTimesOutAtTimeoutClient) {
  Backend be(Backend::echo());
  ReservedPort fe;
  Fulcrum f(
      fmt::format("listen app\n    bind 127.0.0.1:{} accept-proxy\n"
                  "    timeout client 300ms\n    server s {}\n",
                  fe.port(), be.addrString()));
  ASSERT_TRUE(f.ready()) << f.logs();
  // Nothing at all, and half a header.
  for (const std::string& sent : {std::string(), std::string("PROXY TCP4 ")}) {
    UniqueFd c = connectFrom(v4(fe.port()));
    ASSERT_TRUE(c.valid());
    auto t0 = Clock::now();
    if (!sent.empty()) {
      ASSERT_TRUE(sendAll(c.get(), sent));
    }
    Peer p = waitPeer(c.get(), 4s);
    EXPECT_TRUE(closedWithoutData(p)) << name(p);
    EXPECT_GE(msSince(t0), 250);
    EXPECT_LT(msSince(t0), 2000);
  }
  EXPECT_EQ(be.accepted(), 0);
}

// ---------------------------------------------------------------------------------------
// 6. Frontend limits

// Two connections held, a third waits in the listen backlog until one of them closes.
void checkTwoConnectionLimit(Fulcrum& f, uint16_t port, Backend& be) {
  ASSERT_TRUE(f.ready()) << f.logs();
  Held c1 = holdConnection(v4(port));
  Held c2 = holdConnection(v4(port));
  ASSERT_EQ(c1.server, "s");
  ASSERT_EQ(c2.server, "s");
  UniqueFd c3 = connectFrom(v4(port));  // the kernel completes the handshake
  ASSERT_TRUE(c3.valid());
  std::string data;
  EXPECT_EQ(waitPeer(c3.get(), kQuiet, &data), Peer::kTimeout) << data;
  EXPECT_EQ(be.accepted(), 2);
  c1.fd.reset();
  std::string line;
  ASSERT_TRUE(readLine(c3.get(), line, 5s)) << "the waiting connection was not served";
  EXPECT_EQ(line, "s");
  EXPECT_EQ(be.accepted(), 3);
}

TEST(FeaturesLimits, FrontendMaxconnKeepsTheThirdConnectionWaiting) {
  Backend be(Backend::banner("s"));
  ReservedPort fe;
  Fulcrum f(
      listenSection(fe.port(), fmt::format("    maxconn 2\n    server s {}\n", be.addrString())));
  checkTwoConnectionLimit(f, fe.port(), be);
}

TEST(FeaturesLimits, GlobalMaxconnKeepsTheThirdConnectionWaiting) {
  Backend be(Backend::banner("s"));
  ReservedPort fe;
  Fulcrum f(listenSection(fe.port(), fmt::format("    server s {}\n", be.addrString())),
            "    nbthread 1\n    maxconn 2\n");
  checkTwoConnectionLimit(f, fe.port(), be);
}

TEST(FeaturesLimits, BindMaxconnKeepsTheThirdConnectionWaiting) {
  Backend be(Backend::banner("s"));
  ReservedPort fe;
  Fulcrum f(fmt::format("listen app\n    bind 127.0.0.1:{} maxconn 2\n    server s {}\n", fe.port(),
                        be.addrString()));
  checkTwoConnectionLimit(f, fe.port(), be);
}

// defer-accept: a connection is handed to the proxy only once the client has sent data, so
// a silent client never costs a server connection.
TEST(FeaturesLimits, DeferAcceptWaitsForClientData) {
  Backend be(Backend::echo());
  ReservedPort fe;
  Fulcrum f(fmt::format("listen app\n    bind 127.0.0.1:{} defer-accept\n    server s {}\n",
                        fe.port(), be.addrString()));
  ASSERT_TRUE(f.ready()) << f.logs();
  UniqueFd c = connectFrom(v4(fe.port()));
  ASSERT_TRUE(c.valid());
  EXPECT_FALSE(eventually([&] { return be.accepted() > 0; }, kQuiet, 5ms))
      << "the server was connected before the client sent anything";
  ASSERT_TRUE(sendAll(c.get(), std::string("hi")));
  std::string echoed;
  ASSERT_TRUE(readExactly(c.get(), echoed, 2, 5s));
  EXPECT_EQ(echoed, "hi");
  EXPECT_EQ(be.accepted(), 1);
}

// rate-limit sessions 10 in one-second windows. `slack`: connections a window may admit
// beyond the limit (with several worker threads the shared count is checked, then bumped
// after accept(): two threads may both take the last slot of a window).
void checkRateLimit(int threads, int conns, int slack) {
  Backend be(Backend::banner("s"));
  ReservedPort fe;
  Fulcrum f(listenSection(fe.port(), fmt::format("    rate-limit sessions 10\n"
                                                 "    server s {}\n",
                                                 be.addrString())),
            fmt::format("    nbthread {}\n", threads));
  ASSERT_TRUE(f.ready()) << f.logs();
  auto t0 = Clock::now();
  std::vector<UniqueFd> c;
  for (int i = 0; i < conns; ++i) {
    c.push_back(connectFrom(v4(fe.port())));
    ASSERT_TRUE(c.back().valid());
  }
  std::vector<int64_t> servedAt;
  for (auto& fd : c) {
    std::string line;
    ASSERT_TRUE(readLine(fd.get(), line, 8s)) << "connection " << servedAt.size();
    servedAt.push_back(msSince(t0));
  }
  // `conns` connections at (10 + slack) per window need more than 3 windows, the first
  // possibly short: more than 2 s in all.
  ASSERT_GT(conns, 3 * (10 + slack));
  EXPECT_GE(servedAt.back(), 2000);
  EXPECT_LT(servedAt.back(), 7000);
  // At most two windows' worth within the first second.
  EXPECT_LE(std::count_if(servedAt.begin(), servedAt.end(), [](int64_t t) { return t < 1000; }),
            2 * (10 + slack));
}

// 31 connections at 10 per second need four windows: more than 2 s.
TEST(FeaturesLimits, RateLimitSessionsSpreadsConnectionsOverTime) { checkRateLimit(1, 31, 0); }

// The limit is the frontend's, shared by the worker threads (approximately: see slack).
TEST(FeaturesLimits, RateLimitSessionsHoldsAcrossWorkerThreads) { checkRateLimit(2, 41, 2); }

// ---------------------------------------------------------------------------------------
// 7. ACLs and tcp-request connection

// The client is refused: the connection closes (reset or EOF) without data, no server.
void expectRefused(const SockAddr& front, const std::optional<SockAddr>& src,
                   const std::string& who) {
  int err = 0;
  UniqueFd c = connectFrom(front, src, false, &err);
  if (!c.valid()) {
    // The reset can arrive before the client has seen its connect complete.
    EXPECT_EQ(err, ECONNRESET) << who << ": " << strerror(err);
    return;
  }
  std::string data;
  Peer p = waitPeer(c.get(), 3s, &data);
  EXPECT_TRUE(closedWithoutData(p)) << who << ": " << name(p) << " " << data;
}

TEST(FeaturesAcl, RejectIfSourceMatches) {
  Backend be(Backend::banner("s"));
  ReservedPort fe;
  Fulcrum f(listenSection(fe.port(), fmt::format("    acl lan src 127.0.0.2/32\n"
                                                 "    tcp-request connection reject if lan\n"
                                                 "    server s {}\n",
                                                 be.addrString())));
  ASSERT_TRUE(f.ready()) << f.logs();
  expectRefused(v4(fe.port()), from("127.0.0.2"), "127.0.0.2");
  EXPECT_EQ(be.accepted(), 0);
  EXPECT_EQ(bannerGraceful(v4(fe.port()), from("127.0.0.1")), "s");
  EXPECT_EQ(bannerGraceful(v4(fe.port()), from("127.0.0.3")), "s");
  expectRefused(v4(fe.port()), from("127.0.0.2"), "127.0.0.2 again");
  EXPECT_EQ(be.accepted(), 2);
}

TEST(FeaturesAcl, Ipv6SourceRule) {
  Backend be(Backend::banner("s"));
  ReservedPort fe4, fe6(true);
  Fulcrum f(
      fmt::format("listen app\n    bind 127.0.0.1:{}\n    bind [::1]:{}\n"
                  "    acl six src ::1\n"
                  "    tcp-request connection reject if six\n"
                  "    server s {}\n",
                  fe4.port(), fe6.port(), be.addrString()));
  ASSERT_TRUE(f.ready()) << f.logs();
  expectRefused(v6(fe6.port()), std::nullopt, "[::1]");
  EXPECT_EQ(be.accepted(), 0);
  EXPECT_EQ(bannerGraceful(v4(fe4.port())), "s");
  EXPECT_EQ(be.accepted(), 1);
}

TEST(FeaturesAcl, FirstMatchingRuleWinsAcceptThenReject) {
  Backend be(Backend::banner("s"));
  ReservedPort fe;
  Fulcrum f(listenSection(fe.port(), fmt::format("    acl lan src 127.0.0.2\n"
                                                 "    tcp-request connection accept if lan\n"
                                                 "    tcp-request connection reject\n"
                                                 "    server s {}\n",
                                                 be.addrString())));
  ASSERT_TRUE(f.ready()) << f.logs();
  EXPECT_EQ(bannerGraceful(v4(fe.port()), from("127.0.0.2")), "s");
  expectRefused(v4(fe.port()), from("127.0.0.1"), "127.0.0.1");
  expectRefused(v4(fe.port()), from("127.0.0.3"), "127.0.0.3");
  EXPECT_EQ(be.accepted(), 1);
}

// ---------------------------------------------------------------------------------------
// 8. Timeouts

TEST(FeaturesTimeouts, TunnelReplacesClientAndServerTimeouts) {
  Backend be(Backend::echo());
  ReservedPort fe;
  Fulcrum f(listenSection(fe.port(), fmt::format("    timeout client 200ms\n"
                                                 "    timeout server 200ms\n"
                                                 "    timeout tunnel 2s\n"
                                                 "    server s {}\n",
                                                 be.addrString())));
  ASSERT_TRUE(f.ready()) << f.logs();
  UniqueFd c = connectFrom(v4(fe.port()));
  ASSERT_TRUE(c.valid());
  ASSERT_TRUE(sendAll(c.get(), std::string("x")));
  std::string echoed;
  ASSERT_TRUE(readExactly(c.get(), echoed, 1, 5s));
  auto idleFrom = Clock::now();
  // Well past timeout client and timeout server: still open.
  EXPECT_EQ(waitPeer(c.get(), 500ms), Peer::kTimeout);
  // Still relaying.
  ASSERT_TRUE(sendAll(c.get(), std::string("y")));
  ASSERT_TRUE(readExactly(c.get(), echoed, 1, 5s));
  idleFrom = Clock::now();
  Peer p = waitPeer(c.get(), 5s);
  EXPECT_TRUE(closedWithoutData(p)) << name(p);
  EXPECT_GE(msSince(idleFrom), 1800);
  EXPECT_LT(msSince(idleFrom), 3500);
}

TEST(FeaturesTimeouts, ClientFinClosesAHalfClosedConnection) {
  std::atomic<bool> release{false};
  std::atomic<bool> sawEof{false};
  Backend be([&](int fd) {
    std::string got;
    sawEof = readToEof(fd, got, 10s);
    eventually([&] { return release.load(); }, 10s, 5ms);  // holds its side open
  });
  ReservedPort fe;
  Fulcrum f(listenSection(fe.port(), fmt::format("    timeout client-fin 300ms\n"
                                                 "    server s {}\n",
                                                 be.addrString())));
  ASSERT_TRUE(f.ready()) << f.logs();
  UniqueFd c = connectFrom(v4(fe.port()));
  ASSERT_TRUE(c.valid());
  ASSERT_TRUE(sendAll(c.get(), std::string("bye")));
  shutdown(c.get(), SHUT_WR);
  auto t0 = Clock::now();
  ASSERT_TRUE(eventually([&] { return sawEof.load(); }, 5s, 5ms));  // the FIN was forwarded
  // timeout client is 10s; client-fin closes the half-closed connection.
  Peer p = waitPeer(c.get(), 5s);
  EXPECT_TRUE(closedWithoutData(p)) << name(p);
  EXPECT_GE(msSince(t0), 250);
  EXPECT_LT(msSince(t0), 2500);
  release = true;
}

TEST(FeaturesTimeouts, ServerFinClosesAConnectionTheServerHalfClosed) {
  std::atomic<int64_t> closedAt{-1};  // ms since t0 when the proxy closed the server side
  std::atomic<bool> started{false};
  Clock::time_point t0;
  Backend be([&](int fd) {
    sendAll(fd, std::string("bye\n"));
    shutdown(fd, SHUT_WR);  // half-closed: it still reads
    eventually([&] { return started.load(); }, 5s, 5ms);
    std::string ignored;
    if (readToEof(fd, ignored, 10s)) closedAt = msSince(t0);
  });
  ReservedPort fe;
  Fulcrum f(listenSection(fe.port(), fmt::format("    timeout server-fin 300ms\n"
                                                 "    server s {}\n",
                                                 be.addrString())));
  ASSERT_TRUE(f.ready()) << f.logs();
  UniqueFd c = connectFrom(v4(fe.port()));
  ASSERT_TRUE(c.valid());
  std::string got;
  ASSERT_TRUE(readToEof(c.get(), got, 5s));  // the server's FIN reached the client
  t0 = Clock::now();
  started = true;
  EXPECT_EQ(got, "bye\n");
  // The client side stays open and idle (timeouts are 10s): server-fin ends it, and the
  // proxy's close shows on the server side as an EOF.
  ASSERT_TRUE(eventually([&] { return closedAt.load() >= 0; }, 5s, 5ms))
      << "the half-closed connection was not closed";
  EXPECT_GE(closedAt.load(), 200);
  EXPECT_LT(closedAt.load(), 2500);
}

TEST(FeaturesTimeouts, ServerTimeoutClosesWhenTheServerIsIdle) {
  Backend be(silent());
  ReservedPort fe;
  Fulcrum f(listenSection(fe.port(), fmt::format("    timeout client 10s\n"
                                                 "    timeout server 300ms\n"
                                                 "    server s {}\n",
                                                 be.addrString())));
  ASSERT_TRUE(f.ready()) << f.logs();
  UniqueFd c = connectFrom(v4(fe.port()));
  ASSERT_TRUE(c.valid());
  auto t0 = Clock::now();
  ASSERT_TRUE(eventually([&] { return be.accepted() == 1; }, 5s, 5ms));
  Peer p = waitPeer(c.get(), 5s);
  EXPECT_TRUE(closedWithoutData(p)) << name(p);
  EXPECT_GE(msSince(t0), 250);
  EXPECT_LT(msSince(t0), 2500);
}

// ---------------------------------------------------------------------------------------
// 9. retries and option redispatch

// A pool of a refusing server and a good one, retries 2, tcplog lines on stdout.
std::string retriesSection(uint16_t port, uint16_t dead, const Backend& good,
                           const std::string& options, const std::string& balance = "roundrobin") {
  return listenSection(port, fmt::format("    balance {}\n"
                                         "    retries 2\n"
                                         "{}"
                                         "    log stdout local0\n"
                                         "    option tcplog\n"
                                         "    server dead 127.0.0.1:{}\n"
                                         "    server good {}\n",
                                         balance, options, dead, good.addrString()));
}

// Fulcrum's default (docs/configuration.md, a documented difference from HAProxy): every
// retry goes to another server, so a dead server never costs a client its connection.
void checkEveryRetryRedispatched(const std::string& options) {
  RefusingPort dead;
  Backend good(Backend::banner("good"));
  ReservedPort fe;
  Fulcrum f(retriesSection(fe.port(), dead.port(), good, options));
  ASSERT_TRUE(f.ready()) << f.logs();
  for (int i = 0; i < 20; ++i) EXPECT_EQ(bannerGraceful(v4(fe.port())), "good") << i;
  EXPECT_EQ(good.accepted(), 20);
  std::vector<TcplogLine> lines;
  ASSERT_TRUE(eventually([&] { return (lines = parseTcplog(f.out())).size() == 20; }, 5s, 5ms))
      << f.out();
  int retried = 0;
  for (const auto& l : lines) {
    EXPECT_EQ(l.term, "--");
    EXPECT_EQ(l.server, "good");
    EXPECT_LE(l.retries, 1) << "the retry went to the dead server again";
    retried += l.retries;
  }
  EXPECT_GT(retried, 0) << "no connection ever tried the dead server";
}

TEST(FeaturesRetries, DefaultRedispatchesEveryRetry) { checkEveryRetryRedispatched(""); }

TEST(FeaturesRetries, RedispatchIntervalOneRedispatchesEveryRetry) {
  checkEveryRetryRedispatched("    option redispatch 1\n");
}

// A bare "option redispatch" is HAProxy's interval -1: the retries stay on the failed
// server and only the last one goes elsewhere. Shown with balance source, a hash-based
// algorithm, for which HAProxy follows the interval too (for round robin with several
// active servers HAProxy redispatches at once; see the report).
TEST(FeaturesRetries, BareOptionRedispatchMovesOnlyTheLastRetry) {
  RefusingPort dead;
  Backend good(Backend::banner("good"));
  ReservedPort fe;
  Fulcrum f(retriesSection(fe.port(), dead.port(), good, "    option redispatch\n", "source"));
  ASSERT_TRUE(f.ready()) << f.logs();
  // 24 client addresses: some hash to the dead server.
  for (int host = 2; host < 26; ++host) {
    const std::string ip = fmt::format("127.0.0.{}", host);
    EXPECT_EQ(bannerGraceful(v4(fe.port()), from(ip)), "good") << ip;
  }
  EXPECT_EQ(good.accepted(), 24);
  std::vector<TcplogLine> lines;
  ASSERT_TRUE(eventually([&] { return (lines = parseTcplog(f.out())).size() == 24; }, 5s, 5ms))
      << f.out();
  int moved = 0;
  for (const auto& l : lines) {
    EXPECT_EQ(l.term, "--") << l.client;
    EXPECT_TRUE(l.retries == 0 || l.retries == 2)
        << l.client << ": " << l.retries << " retries; expected 0, or 2 (the last redispatched)";
    if (l.retries == 2) ++moved;
  }
  EXPECT_GT(moved, 0) << "no client address hashed to the dead server";
}

// "no option redispatch" (and interval 0): every retry goes to the server that failed, so
// a client whose first pick is the dead server is closed after its 2 retries there.
void checkNoRedispatch(const std::string& options) {
  RefusingPort dead;
  Backend good(Backend::banner("good"));
  ReservedPort fe;
  Fulcrum f(retriesSection(fe.port(), dead.port(), good, options));
  ASSERT_TRUE(f.ready()) << f.logs();
  int served = 0, closed = 0;
  for (int i = 0; i < 20; ++i) {
    std::string b = bannerGraceful(v4(fe.port()));
    if (b == "good")
      ++served;
    else
      ++closed;
  }
  // Round robin alternates the first pick: half the clients start on the dead server.
  EXPECT_EQ(served, 10);
  EXPECT_EQ(closed, 10);
  EXPECT_EQ(good.accepted(), 10) << "a retry went to the good server";
  std::vector<TcplogLine> lines;
  ASSERT_TRUE(eventually([&] { return (lines = parseTcplog(f.out())).size() == 20; }, 5s, 5ms))
      << f.out();
  int sc = 0;
  for (const auto& l : lines) {
    if (l.term == "SC") {
      ++sc;
      EXPECT_EQ(l.retries, 2) << "expected the 2 retries on the same server";
      EXPECT_EQ(l.bytes, 0u);
    } else {
      EXPECT_EQ(l.term, "--");
      EXPECT_EQ(l.retries, 0);
      EXPECT_EQ(l.server, "good");
    }
  }
  EXPECT_EQ(sc, 10);
}

TEST(FeaturesRetries, NoOptionRedispatchRetriesTheSameServer) {
  checkNoRedispatch("    no option redispatch\n");
}

TEST(FeaturesRetries, RedispatchIntervalZeroMeansNever) {
  checkNoRedispatch("    option redispatch 0\n");
}

// ---------------------------------------------------------------------------------------
// 10. option tcpka, option nolinger

// The timer kind of a TCP socket from /proc/net/tcp{,6} ("tr" column), found by its local
// and remote ports: 2 means sk_timer is pending, which for an established socket is the
// keepalive timer; -1 when the socket is not found.
int tcpTimerKind(uint16_t localPort, uint16_t remotePort) {
  for (const char* file : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(file);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream ls(line);
      std::string sl, local, remote, st, queues, timer;
      if (!(ls >> sl >> local >> remote >> st >> queues >> timer)) continue;
      auto portOf = [](const std::string& a) {
        return static_cast<uint16_t>(std::stoul(a.substr(a.rfind(':') + 1), nullptr, 16));
      };
      if (st != "01") continue;  // ESTABLISHED
      if (portOf(local) != localPort || portOf(remote) != remotePort) continue;
      return std::stoi(timer.substr(0, timer.find(':')), nullptr, 16);
    }
  }
  return -1;
}

TEST(FeaturesOptions, TcpkaEnablesKeepaliveOnBothSides) {
  std::mutex mu;
  std::map<std::string, uint16_t> proxyPort;  // by frontend: the proxy's server-side port
  Backend be([&](int fd) {
    std::string who;
    if (!readLine(fd, who, 5s)) return;
    {
      std::lock_guard<std::mutex> lk(mu);
      proxyPort[who] = peerAddr(fd).port();
    }
    sendAll(fd, std::string("s\n"));
    std::string ignored;
    readToEof(fd, ignored, 10s);
  });
  ReservedPort ka, cli, plain;
  Fulcrum f(fmt::format(
      "listen ka\n    bind 127.0.0.1:{}\n    option tcpka\n    server s {}\n"
      "listen cli\n    bind 127.0.0.1:{}\n    option clitcpka\n"
      "    server s {}\n"
      "listen plain\n    bind 127.0.0.1:{}\n    server s {}\n",
      ka.port(), be.addrString(), cli.port(), be.addrString(), plain.port(), be.addrString()));
  ASSERT_TRUE(f.ready()) << f.logs();
  struct Conn {
    UniqueFd fd;
    uint16_t front = 0, clientPort = 0, serverSide = 0;
  };
  std::map<std::string, Conn> conns;
  for (auto [name, port] : {std::pair<std::string, uint16_t>{"ka", ka.port()},
                            {"cli", cli.port()},
                            {"plain", plain.port()}}) {
    Conn& k = conns[name];
    k.fd = connectFrom(v4(port));
    ASSERT_TRUE(k.fd.valid());
    ASSERT_TRUE(sendAll(k.fd.get(), name + "\n"));
    std::string line;
    ASSERT_TRUE(readLine(k.fd.get(), line, 5s));
    k.front = port;
    k.clientPort = localAddr(k.fd.get()).port();
    std::lock_guard<std::mutex> lk(mu);
    k.serverSide = proxyPort[name];
  }
  // The proxy's two sockets of each connection: client side (local = frontend port) and
  // server side (remote = the backend).
  auto clientTimer = [&](const Conn& k) { return tcpTimerKind(k.front, k.clientPort); };
  auto serverTimer = [&](const Conn& k) { return tcpTimerKind(k.serverSide, be.port()); };
  const Conn& k = conns["ka"];
  EXPECT_TRUE(eventually([&] { return clientTimer(k) == 2; }, 2s, 5ms))
      << "tcpka: no keepalive timer on the client side: " << clientTimer(k);
  EXPECT_TRUE(eventually([&] { return serverTimer(k) == 2; }, 2s, 5ms))
      << "tcpka: no keepalive timer on the server side: " << serverTimer(k);
  const Conn& c = conns["cli"];
  EXPECT_TRUE(eventually([&] { return clientTimer(c) == 2; }, 2s, 5ms))
      << "clitcpka: no keepalive timer on the client side: " << clientTimer(c);
  EXPECT_NE(serverTimer(c), -1) << "socket not found";
  EXPECT_NE(serverTimer(c), 2) << "clitcpka set keepalive on the server side";
  const Conn& n = conns["plain"];
  EXPECT_NE(clientTimer(n), -1) << "socket not found";
  EXPECT_NE(serverTimer(n), -1) << "socket not found";
  EXPECT_NE(clientTimer(n), 2);
  EXPECT_NE(serverTimer(n), 2);
}

TEST(FeaturesOptions, NolingerClosesWithAReset) {
  std::mutex mu;
  std::map<std::string, Peer> serverSaw;  // by frontend name sent as the first line
  Backend be([&](int fd) {
    std::string who;
    if (!readLine(fd, who, 5s)) return;
    Peer p = waitPeer(fd, 10s);
    std::lock_guard<std::mutex> lk(mu);
    serverSaw[who] = p;
  });
  ReservedPort hard, soft;
  Fulcrum f(
      fmt::format("defaults\n    mode tcp\n    timeout connect 2s\n"
                  "    timeout client 300ms\n    timeout server 10s\n"
                  "listen hard\n    bind 127.0.0.1:{}\n    option nolinger\n"
                  "    server s {}\n"
                  "listen soft\n    bind 127.0.0.1:{}\n    server s {}\n",
                  hard.port(), be.addrString(), soft.port(), be.addrString()));
  ASSERT_TRUE(f.ready()) << f.logs();
  // Both connections idle out at timeout client; the proxy closes both sides.
  UniqueFd h = connectFrom(v4(hard.port()));
  UniqueFd s = connectFrom(v4(soft.port()));
  ASSERT_TRUE(h.valid() && s.valid());
  ASSERT_TRUE(sendAll(h.get(), std::string("hard\n")));
  ASSERT_TRUE(sendAll(s.get(), std::string("soft\n")));
  Peer ph = waitPeer(h.get(), 5s);
  Peer ps = waitPeer(s.get(), 5s);
  EXPECT_EQ(ph, Peer::kReset) << name(ph);
  EXPECT_EQ(ps, Peer::kEof) << name(ps);
  ASSERT_TRUE(eventually(
      [&] {
        std::lock_guard<std::mutex> lk(mu);
        return serverSaw.size() == 2;
      },
      5s, 5ms));
  std::lock_guard<std::mutex> lk(mu);
  EXPECT_EQ(serverSaw["hard"], Peer::kReset) << name(serverSaw["hard"]);
  EXPECT_EQ(serverSaw["soft"], Peer::kEof) << name(serverSaw["soft"]);
}

// "source": the local address of server connections, per server or for the whole proxy
// (a server's own wins).
TEST(FeaturesOptions, SourceSetsTheAddressOfServerConnections) {
  std::mutex mu;
  std::vector<std::string> peers;
  Backend be([&](int fd) {
    {
      std::lock_guard<std::mutex> lk(mu);
      peers.push_back(peerAddr(fd).hostString());
    }
    sendAll(fd, std::string("s\n"));
    std::string ignored;
    readToEof(fd, ignored, 10s);
  });
  ReservedPort fe;
  Fulcrum f(listenSection(fe.port(), fmt::format("    balance roundrobin\n"
                                                 "    source 127.0.0.2\n"
                                                 "    server proxywide {}\n"
                                                 "    server own {} source 127.0.0.3\n",
                                                 be.addrString(), be.addrString())));
  ASSERT_TRUE(f.ready()) << f.logs();
  for (int i = 0; i < 4; ++i) EXPECT_EQ(bannerGraceful(v4(fe.port())), "s");
  std::lock_guard<std::mutex> lk(mu);
  EXPECT_EQ(std::multiset<std::string>(peers.begin(), peers.end()),
            (std::multiset<std::string>{"127.0.0.2", "127.0.0.2", "127.0.0.3", "127.0.0.3"}));
}

// ---------------------------------------------------------------------------------------
// 11. Connection logs

TEST(FeaturesLog, TcplogWritesOneLinePerConnection) {
  Backend be(Backend::echo());
  RefusingPort dead;
  ReservedPort fe, fe2;
  Fulcrum f(
      fmt::format("listen app\n    bind 127.0.0.1:{}\n    log stdout local0\n"
                  "    option tcplog\n    server s1 {}\n"
                  "listen gone\n    bind 127.0.0.1:{}\n    log stdout local0\n"
                  "    option tcplog\n    retries 1\n    server s9 127.0.0.1:{}\n",
                  fe.port(), be.addrString(), fe2.port(), dead.port()));
  ASSERT_TRUE(f.ready()) << f.logs();
  // A normal connection from 127.0.0.2: 5 bytes each way, closed by the client.
  UniqueFd c = connectFromHost(v4(fe.port()), "127.0.0.2");
  ASSERT_TRUE(c.valid());
  const uint16_t cport = localAddr(c.get()).port();
  ASSERT_TRUE(sendAll(c.get(), std::string("hello")));
  std::string echoed;
  ASSERT_TRUE(readExactly(c.get(), echoed, 5, 5s));
  shutdown(c.get(), SHUT_WR);
  ASSERT_TRUE(readToEof(c.get(), echoed, 5s));
  // A connection to a frontend whose only server refuses.
  UniqueFd d = connectFrom(v4(fe2.port()));
  ASSERT_TRUE(d.valid());
  const uint16_t dport = localAddr(d.get()).port();
  EXPECT_TRUE(closedWithoutData(waitPeer(d.get(), 5s)));

  std::vector<TcplogLine> lines;
  ASSERT_TRUE(eventually([&] { return (lines = parseTcplog(f.out())).size() >= 2; }, 5s, 5ms))
      << f.out();
  EXPECT_EQ(lines.size(), 2u) << f.out();
  const TcplogLine& ok = lines[0];
  EXPECT_EQ(ok.client, fmt::format("127.0.0.2:{}", cport));
  EXPECT_EQ(ok.frontend, "app");
  EXPECT_EQ(ok.backend, "app");
  EXPECT_EQ(ok.server, "s1");
  EXPECT_EQ(ok.tw, 0);
  EXPECT_GE(ok.tc, 0);
  EXPECT_GE(ok.tt, ok.tc);
  EXPECT_EQ(ok.bytes, 5u);
  EXPECT_EQ(ok.term, "--");
  EXPECT_EQ(ok.retries, 0);
  const TcplogLine& sc = lines[1];
  EXPECT_EQ(sc.client, fmt::format("127.0.0.1:{}", dport));
  EXPECT_EQ(sc.frontend, "gone");
  EXPECT_EQ(sc.backend, "gone");
  EXPECT_EQ(sc.tc, -1);
  EXPECT_EQ(sc.bytes, 0u);
  EXPECT_EQ(sc.term, "SC");
  EXPECT_EQ(sc.retries, 1);
  // Nothing else on stdout: no "Connect from" line with tcplog.
  EXPECT_EQ(f.out().find("Connect from"), std::string::npos) << f.out();
}

// HAProxy's dontlognull looks at the client's bytes only (stream.c: "!(fe->options &
// PR_O_NULLNOLOG) || req->total"): a probe that connects to a server which speaks first
// (a banner) and leaves without sending is not logged either.
TEST(FeaturesLog, DontlognullSkipsConnectionsWithoutClientData) {
  Backend be(Backend::banner("hi"));
  ReservedPort quiet, loud;
  Fulcrum f(
      fmt::format("listen quiet\n    bind 127.0.0.1:{}\n    log stdout local0\n"
                  "    option tcplog\n    option dontlognull\n    server s {}\n"
                  "listen loud\n    bind 127.0.0.1:{}\n    log stdout local0\n"
                  "    option tcplog\n    server s {}\n",
                  quiet.port(), be.addrString(), loud.port(), be.addrString()));
  ASSERT_TRUE(f.ready()) << f.logs();
  // Connects, reads the banner, sends nothing; returns its port once the proxy closed.
  auto probe = [&](uint16_t port, const std::string& send) {
    UniqueFd c = connectFrom(v4(port));
    EXPECT_TRUE(c.valid());
    const uint16_t p = localAddr(c.get()).port();
    std::string banner;
    EXPECT_TRUE(readLine(c.get(), banner, 5s));
    if (!send.empty()) {
      EXPECT_TRUE(sendAll(c.get(), send));
    }
    closeGracefully(c);
    return p;
  };
  const uint16_t q1 = probe(quiet.port(), "");
  const uint16_t l1 = probe(loud.port(), "");
  const uint16_t q2 = probe(quiet.port(), "data");
  // The worker handles these one after the other: once the last one is logged, so are the
  // others.
  std::vector<TcplogLine> lines;
  ASSERT_TRUE(eventually(
      [&] {
        lines = parseTcplog(f.out());
        return std::any_of(lines.begin(), lines.end(), [&](const TcplogLine& l) {
          return l.client == fmt::format("127.0.0.1:{}", q2);
        });
      },
      5s, 5ms))
      << f.out();
  std::map<std::string, TcplogLine> byClient;
  for (const auto& l : lines) byClient[l.client] = l;
  EXPECT_EQ(lines.size(), 2u) << f.out();
  EXPECT_EQ(byClient.count(fmt::format("127.0.0.1:{}", q1)), 0u)
      << "connection without client data logged despite dontlognull";
  ASSERT_EQ(byClient.count(fmt::format("127.0.0.1:{}", l1)), 1u) << "missing without dontlognull";
  EXPECT_EQ(byClient[fmt::format("127.0.0.1:{}", l1)].bytes, 3u);  // "hi\n"
  EXPECT_EQ(byClient.count(fmt::format("127.0.0.1:{}", q2)), 1u) << "connection with data missing";
}

TEST(FeaturesLog, FileTargetReceivesTheLines) {
  TempDir dir;
  const std::string path = dir.path() + "/conn.log";
  Backend be(Backend::banner("s"));
  ReservedPort fe;
  Fulcrum f(listenSection(fe.port(), fmt::format("    log file@{} local0\n    option tcplog\n"
                                                 "    server s1 {}\n",
                                                 path, be.addrString())));
  ASSERT_TRUE(f.ready()) << f.logs();
  std::vector<uint16_t> ports;
  for (int i = 0; i < 3; ++i) {
    UniqueFd c = connectFrom(v4(fe.port()));
    ASSERT_TRUE(c.valid());
    ports.push_back(localAddr(c.get()).port());
    std::string line;
    ASSERT_TRUE(readLine(c.get(), line, 5s));
    closeGracefully(c);
  }
  std::vector<TcplogLine> lines;
  ASSERT_TRUE(
      eventually([&] { return (lines = parseTcplog(readFile(path))).size() >= 3; }, 5s, 5ms))
      << readFile(path);
  ASSERT_EQ(lines.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(lines[i].client, fmt::format("127.0.0.1:{}", ports[i]));
    EXPECT_EQ(lines[i].server, "s1");
    EXPECT_EQ(lines[i].bytes, 2u);  // "s\n"
    EXPECT_EQ(lines[i].term, "--");
  }
  EXPECT_TRUE(parseTcplog(f.out()).empty());
}

TEST(FeaturesLog, WithoutTcplogAConnectFromLineAtAccept) {
  Backend be(Backend::banner("s"));
  ReservedPort fe;
  Fulcrum f(listenSection(
      fe.port(), fmt::format("    log stdout local0\n    server s1 {}\n", be.addrString())));
  ASSERT_TRUE(f.ready()) << f.logs();
  Held h = holdConnection(v4(fe.port()));  // logged at accept, while still open
  ASSERT_EQ(h.server, "s");
  const uint16_t cport = localAddr(h.fd.get()).port();
  const std::string expected =
      fmt::format("Connect from 127.0.0.1:{} to 127.0.0.1:{} (app/TCP)", cport, fe.port());
  EXPECT_TRUE(eventually([&] { return f.out().find(expected) != std::string::npos; }, 5s, 5ms))
      << f.out();
  closeGracefully(h.fd);
  EXPECT_TRUE(parseTcplog(f.out()).empty()) << f.out();
}

TEST(FeaturesLog, LogGlobalUsesTheGlobalTargets) {
  TempDir dir;
  const std::string path = dir.path() + "/global.log";
  Backend be(Backend::banner("s"));
  ReservedPort fe;
  Fulcrum f(listenSection(fe.port(), fmt::format("    log global\n    option tcplog\n"
                                                 "    server s1 {}\n",
                                                 be.addrString())),
            fmt::format("    nbthread 1\n    log file@{} local0\n", path));
  ASSERT_TRUE(f.ready()) << f.logs();
  EXPECT_EQ(bannerGraceful(v4(fe.port())), "s");
  std::vector<TcplogLine> lines;
  ASSERT_TRUE(eventually([&] { return !(lines = parseTcplog(readFile(path))).empty(); }, 5s, 5ms))
      << readFile(path);
  EXPECT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].frontend, "app");
  EXPECT_EQ(lines[0].server, "s1");
}

// With accept-proxy, the client is the one the PROXY header announces, in both formats; and
// a connection whose header is bad never becomes a session, so it logs no "Connect from"
// line (HAProxy writes that line when the stream is created, after the header).
TEST(FeaturesLog, AcceptProxyLogsTheAnnouncedAddresses) {
  Backend be(Backend::echo());
  ReservedPort tl, cf;
  Fulcrum f(
      fmt::format("listen tl\n    bind 127.0.0.1:{} accept-proxy\n    log stdout local0\n"
                  "    option tcplog\n    server s1 {}\n"
                  "listen cf\n    bind 127.0.0.1:{} accept-proxy\n    log stdout local0\n"
                  "    server s1 {}\n",
                  tl.port(), be.addrString(), cf.port(), be.addrString()));
  ASSERT_TRUE(f.ready()) << f.logs();
  auto ping = [](uint16_t port, const std::string& header) {
    UniqueFd c = connectFrom(v4(port));
    ASSERT_TRUE(c.valid());
    ASSERT_TRUE(sendAll(c.get(), header + "ping"));
    shutdown(c.get(), SHUT_WR);
    std::string echoed;
    ASSERT_TRUE(readToEof(c.get(), echoed, 5s));
    EXPECT_EQ(echoed, "ping");
  };
  {
    UniqueFd bad = connectFrom(v4(cf.port()));
    ASSERT_TRUE(bad.valid());
    ASSERT_TRUE(sendAll(bad.get(), std::string("NOT A PROXY HEADER\r\n")));
    EXPECT_TRUE(closedWithoutData(waitPeer(bad.get(), 3s)));
  }
  ping(tl.port(), "PROXY TCP4 192.0.2.10 198.51.100.20 40000 443\r\n");
  ping(cf.port(), "PROXY TCP4 192.0.2.11 198.51.100.21 40001 8443\r\n");
  const std::string connectLine = "Connect from 192.0.2.11:40001 to 198.51.100.21:8443 (cf/TCP)";
  std::vector<TcplogLine> lines;
  ASSERT_TRUE(eventually(
      [&] {
        lines = parseTcplog(f.out());
        return !lines.empty() && f.out().find(connectLine) != std::string::npos;
      },
      5s, 5ms))
      << f.out();
  ASSERT_EQ(lines.size(), 1u) << f.out();
  EXPECT_EQ(lines[0].client, "192.0.2.10:40000");
  EXPECT_EQ(lines[0].term, "--");
  const std::string out = f.out();
  size_t connectLines = 0;
  for (size_t pos = 0; (pos = out.find("Connect from", pos)) != std::string::npos; ++pos)
    ++connectLines;
  EXPECT_EQ(connectLines, 1u) << out;
}

// ---------------------------------------------------------------------------------------
// 12. cpu-map

// The worker threads' (named "fulcrum-wN") allowed CPUs, by thread id. Other threads (a
// sanitizer's background thread, the control thread) are left out.
std::map<pid_t, std::string> cpusAllowedByThread(pid_t pid) {
  std::map<pid_t, std::string> out;
  const std::string dir = fmt::format("/proc/{}/task", pid);
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream in(dir + "/" + e->d_name + "/status");
    std::string line;
    bool worker = false;
    while (std::getline(in, line)) {
      if (line.rfind("Name:", 0) == 0) worker = line.find("fulcrum-w") != std::string::npos;
      if (worker && line.rfind("Cpus_allowed_list:", 0) == 0) {
        std::string v = line.substr(line.find(':') + 1);
        v.erase(0, v.find_first_not_of(" \t"));
        out[static_cast<pid_t>(std::stol(e->d_name))] = v;
      }
    }
  }
  closedir(d);
  return out;
}

TEST(FeaturesCpuMap, AutoSpreadPinsEachWorkerThreadToItsCpu) {
  cpu_set_t mine;
  if (sched_getaffinity(0, sizeof(mine), &mine) != 0 || !CPU_ISSET(0, &mine) ||
      !CPU_ISSET(1, &mine))
    GTEST_SKIP() << "needs CPUs 0 and 1";
  Backend be(Backend::banner("s"));
  ReservedPort fe;
  Fulcrum f(listenSection(fe.port(), fmt::format("    server s {}\n", be.addrString())),
            "    nbthread 2\n    cpu-map auto:1/1-2 0-1\n");
  ASSERT_TRUE(f.ready()) << f.logs();
  const pid_t pid = f.pid();
  std::multiset<std::string> workers;
  bool ok = eventually(
      [&] {
        workers.clear();
        for (const auto& entry : cpusAllowedByThread(pid)) workers.insert(entry.second);
        return workers == std::multiset<std::string>{"0", "1"};
      },
      5s, 5ms);
  EXPECT_TRUE(ok) << "worker threads' Cpus_allowed_list: "
                  << fmt::format("{}", fmt::join(workers, ", "));
  EXPECT_EQ(bannerThrough(v4(fe.port())), "s");
}

// ---------------------------------------------------------------------------------------
// 13. Splicing

const std::string& bigUp() {
  static const std::string s = fastRandom(50 * 1024 * 1024, 101);
  return s;
}
const std::string& bigDown() {
  static const std::string s = fastRandom(50 * 1024 * 1024, 202);
  return s;
}

// Pipes the process holds (the splice pipe pool keeps drained pipes for reuse).
int pipeCount(pid_t pid) {
  const std::string dir = fmt::format("/proc/{}/fd", pid);
  int n = 0;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return -1;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    char target[256];
    ssize_t len = readlink((dir + "/" + e->d_name).c_str(), target, sizeof(target) - 1);
    if (len > 0 && std::string_view(target, static_cast<size_t>(len)).rfind("pipe:", 0) == 0) ++n;
  }
  closedir(d);
  return n;
}

// 50 MB each way at once through the proxy, byte-exact; then whether fulcrum created splice
// pipes (drained pipes stay in the worker's pool, so they are still there afterwards).
void transferAndCount(const std::string& global, const std::string& options, bool expectPipes) {
  const std::string& up = bigUp();
  const std::string& down = bigDown();
  std::string receivedByBackend;
  std::atomic<bool> backendOk{false};
  Backend be([&](int fd) {
    std::thread writer([&] {
      sendAll(fd, down.data(), down.size(), 30s);
      shutdown(fd, SHUT_WR);
    });
    backendOk = readToEof(fd, receivedByBackend, 30s);
    writer.join();
  });
  ReservedPort fe;
  Fulcrum f(listenSection(fe.port(), fmt::format("{}    server s {}\n", options, be.addrString())),
            "    nbthread 1\n" + global);
  ASSERT_TRUE(f.ready()) << f.logs();
  // Pipes inherited from the test runner, if any, are not splice pipes.
  const int pipesBefore = pipeCount(f.pid());
  UniqueFd c = connectFrom(v4(fe.port()));
  ASSERT_TRUE(c.valid());
  std::thread writer([&] {
    sendAll(c.get(), up.data(), up.size(), 30s);
    shutdown(c.get(), SHUT_WR);
  });
  std::string receivedByClient;
  EXPECT_TRUE(readToEof(c.get(), receivedByClient, 30s));
  writer.join();
  c.reset();
  be.stop();
  EXPECT_TRUE(backendOk.load());
  EXPECT_EQ(receivedByClient.size(), down.size());
  EXPECT_TRUE(receivedByClient == down) << "server-to-client bytes differ";
  EXPECT_EQ(receivedByBackend.size(), up.size());
  EXPECT_TRUE(receivedByBackend == up) << "client-to-server bytes differ";
  const int pipes = pipeCount(f.pid()) - pipesBefore;
  if (expectPipes)
    EXPECT_GT(pipes, 0) << "no splice pipe was ever created";
  else
    EXPECT_EQ(pipes, 0) << "splice pipes created although splicing is off";
}

TEST(FeaturesSplice, DefaultAutoSpliceIsByteExact) { transferAndCount("", "", true); }

TEST(FeaturesSplice, NospliceIsByteExact) { transferAndCount("    nosplice\n", "", false); }

TEST(FeaturesSplice, NoOptionSpliceAutoCopies) {
  transferAndCount("", "    no option splice-auto\n", false);
}

TEST(FeaturesSplice, SpliceRequestAndResponseAreByteExact) {
  transferAndCount("", "    option splice-request\n    option splice-response\n", true);
}

// Splicing with PROXY headers: the header sent to the server goes in front of the first
// client bytes; with accept-proxy the received header is read into a buffer together with
// the first payload bytes. Splicing then takes over. 8 MB each way, byte-exact.
void checkSpliceWithProxyHeaders(bool acceptProxy) {
  const std::string up = fastRandom(8 * 1024 * 1024, 303);
  const std::string down = fastRandom(8 * 1024 * 1024, 404);
  ProxySeen seen;
  std::atomic<bool> done{false};
  Backend be([&](int fd) {
    std::string bytes;
    while (bytes.size() < 1024 && readExactly(fd, bytes, 1, 5s)) {
      const char* reason = nullptr;
      auto st = proxy::parseProxyHeader(reinterpret_cast<const uint8_t*>(bytes.data()),
                                        bytes.size(), seen.header, &reason);
      if (st == proxy::ParseStatus::kIncomplete) continue;
      seen.parsed = st == proxy::ParseStatus::kOk;
      break;
    }
    if (seen.parsed) {
      std::thread writer([&] {
        sendAll(fd, down.data(), down.size(), 30s);
        shutdown(fd, SHUT_WR);
      });
      readToEof(fd, seen.payload, 30s);
      writer.join();
    }
    done = true;
  });
  ReservedPort fe;
  Fulcrum f(
      fmt::format("listen app\n    bind 127.0.0.1:{}{}\n"
                  "    option splice-request\n    option splice-response\n"
                  "    server s {} send-proxy-v2\n",
                  fe.port(), acceptProxy ? " accept-proxy" : "", be.addrString()));
  ASSERT_TRUE(f.ready()) << f.logs();
  UniqueFd c = connectFrom(v4(fe.port()));
  ASSERT_TRUE(c.valid());
  const std::string header = "PROXY TCP4 192.0.2.10 198.51.100.20 40000 443\r\n";
  const std::string expectedSrc = acceptProxy ? "192.0.2.10:40000" : localAddr(c.get()).toString();
  std::thread writer([&] {
    // With accept-proxy, the header and the first 60 kB in one send.
    std::string first = acceptProxy ? header + up.substr(0, 60000) : up.substr(0, 60000);
    sendAll(c.get(), first.data(), first.size(), 30s);
    sendAll(c.get(), up.data() + 60000, up.size() - 60000, 30s);
    shutdown(c.get(), SHUT_WR);
  });
  std::string received;
  EXPECT_TRUE(readToEof(c.get(), received, 30s));
  writer.join();
  ASSERT_TRUE(eventually([&] { return done.load(); }, 5s, 5ms));
  ASSERT_TRUE(seen.parsed);
  EXPECT_EQ(seen.header.src.toString(), expectedSrc);
  EXPECT_EQ(seen.payload.size(), up.size());
  EXPECT_TRUE(seen.payload == up) << "client-to-server bytes differ";
  EXPECT_EQ(received.size(), down.size());
  EXPECT_TRUE(received == down) << "server-to-client bytes differ";
}

TEST(FeaturesSplice, SpliceWithSendProxyIsByteExact) { checkSpliceWithProxyHeaders(false); }

TEST(FeaturesSplice, SpliceWithAcceptProxyAndSendProxyIsByteExact) {
  checkSpliceWithProxyHeaders(true);
}

}  // namespace
}  // namespace fulcrum::test
