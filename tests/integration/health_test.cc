// Health checking end to end: the real fulcrum binary, real backends on loopback (and a
// real redis-server for tcp-check), states observed through the logs and the traffic.
#include <fcntl.h>
#include <fmt/core.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <thread>

#include "fulcrum_fixture.h"

namespace fulcrum::test {
namespace {

using Ms = std::chrono::milliseconds;

Ms since(Clock::time_point t) { return std::chrono::duration_cast<Ms>(Clock::now() - t); }

std::string listenConfig(uint16_t port, const std::string& body, int threads = 1,
                         const std::string& global = "") {
  return fmt::format(
      "global\n"
      "    nbthread {}\n"
      "{}"
      "defaults\n"
      "    mode tcp\n"
      "    timeout connect 1s\n"
      "    timeout client 30s\n"
      "    timeout server 30s\n"
      "listen app\n"
      "    bind 127.0.0.1:{}\n"
      "    balance roundrobin\n"
      "    option redispatch\n"
      "    retries 3\n"
      "{}",
      threads, global, port, body);
}

// A backend on a fixed loopback port that can be killed (its listener closed: new
// connections are refused) and restarted on the same port. The port stays reserved
// meanwhile, so nothing else takes it. Each connection that sends a line is a client
// (counted in served()); the backend answers every line with its name until EOF. Health
// checks connect and close without a line, so they are not counted.
class FlakyBackend {
 public:
  explicit FlakyBackend(std::string name) : name_(std::move(name)) { start(); }
  ~FlakyBackend() { stop(); }

  uint16_t port() const { return reserved_.port(); }
  std::string addrString() const { return SockAddr::loopback4(port()).toString(); }
  int served() const { return served_.load(); }

  void start() {
    if (listenFd_ >= 0) return;
    listenFd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(listenFd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    setsockopt(listenFd_, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    SockAddr a = SockAddr::loopback4(port());
    if (bind(listenFd_, a.sa(), a.len()) != 0 || listen(listenFd_, 256) != 0)
      throw std::runtime_error("flaky backend: bind/listen failed");
    if (pipe2(stopPipe_, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    acceptThread_ = std::thread([this] { acceptLoop(); });
  }

  // Closes the listener: connections are refused from now on. Connections already
  // accepted finish normally.
  void stop() {
    if (listenFd_ < 0) return;
    [[maybe_unused]] ssize_t n = ::write(stopPipe_[1], "x", 1);
    acceptThread_.join();
    ::close(listenFd_);
    listenFd_ = -1;
    ::close(stopPipe_[0]);
    ::close(stopPipe_[1]);
  }

  void joinConnections() {
    std::vector<std::thread> conns;
    {
      std::lock_guard<std::mutex> lk(mu_);
      conns.swap(conns_);
    }
    for (auto& t : conns) t.join();
  }

 private:
  void acceptLoop() {
    for (;;) {
      pollfd p[2] = {{listenFd_, POLLIN, 0}, {stopPipe_[0], POLLIN, 0}};
      if (poll(p, 2, -1) < 0) continue;
      if (p[1].revents) return;
      int fd = accept4(listenFd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      std::lock_guard<std::mutex> lk(mu_);
      conns_.emplace_back([this, fd] {
        std::string line;
        bool counted = false;
        while (readLine(fd, line, 20s)) {
          if (!counted) ++served_;
          counted = true;
          if (!sendAll(fd, name_ + "\n")) break;
        }
        ::close(fd);
      });
    }
  }

  std::string name_;
  ReservedPort reserved_;
  int listenFd_ = -1;
  int stopPipe_[2] = {-1, -1};
  std::atomic<int> served_{0};
  std::thread acceptThread_;
  std::mutex mu_;
  std::vector<std::thread> conns_;

 public:
  // Joins the connection threads last (they may still be answering).
  struct Joiner {
    FlakyBackend* b;
    ~Joiner() { b->joinConnections(); }
  } joiner_{this};
};

// One client exchange through the proxy: sends a line, returns the backend's name.
std::string ask(const SockAddr& front) {
  int fd = connectTcp(front, 2s);
  if (fd < 0) return "<connect failed>";
  std::string line;
  bool ok = sendAll(fd, "hi\n") && readLine(fd, line, 3s);
  closeFd(fd);
  return ok ? line : "<no answer>";
}

std::map<std::string, int> distribution(const SockAddr& front, int n) {
  std::map<std::string, int> seen;
  for (int i = 0; i < n; ++i) ++seen[ask(front)];
  return seen;
}

// A client that stays connected: sends a line and reads the answer on demand.
class LongClient {
 public:
  explicit LongClient(const SockAddr& front) : fd_(connectTcp(front, 2s)) {}
  ~LongClient() { closeFd(fd_); }
  std::string exchange() {
    std::string line;
    if (fd_ < 0 || !sendAll(fd_, "again\n") || !readLine(fd_, line, 3s)) return "<closed>";
    return line;
  }
  // True when the proxy closes the connection within the timeout.
  bool closedWithin(std::chrono::milliseconds timeout) {
    std::string rest;
    return readToEof(fd_, rest, timeout);
  }

 private:
  int fd_;
};

// Runs clients in a loop until stopped, recording the exchanges that did not reach a
// backend and when they started.
class ClientLoop {
 public:
  struct Failure {
    Clock::time_point at;
    std::string what;
  };
  explicit ClientLoop(const SockAddr& front) : front_(front) {
    thread_ = std::thread([this] {
      while (!stop_.load()) {
        const auto at = Clock::now();
        std::string r = ask(front_);
        std::lock_guard<std::mutex> lk(mu_);
        ++total_;
        if (r.size() != 1) failures_.push_back({at, r});
      }
    });
  }
  ~ClientLoop() { stop(); }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int total() {
    std::lock_guard<std::mutex> lk(mu_);
    return total_;
  }
  std::vector<Failure> failures() {
    std::lock_guard<std::mutex> lk(mu_);
    return failures_;
  }

 private:
  SockAddr front_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  int total_ = 0;
  std::vector<Failure> failures_;
  std::thread thread_;
};

size_t countOf(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = haystack.find(needle); pos != std::string::npos;
       pos = haystack.find(needle, pos + 1))
    ++n;
  return n;
}

// ---------------------------------------------------------------------------------------

TEST(Health, KilledServerGoesDownWithinFallTimesInterAndComesBackAfterRise) {
  constexpr int kInterMs = 300, kFall = 2, kRise = 2;
  FlakyBackend a("a"), b("b"), c("c");
  ReservedPort port;
  const SockAddr front = SockAddr::loopback4(port.port());
  std::string servers;
  for (FlakyBackend* s : {&a, &b, &c}) {
    servers += fmt::format("    server {} {} check inter {}ms fall {} rise {}\n",
                           s == &a   ? "a"
                           : s == &b ? "b"
                                     : "c",
                           s->addrString(), kInterMs, kFall, kRise);
  }
  FulcrumProcess f(listenConfig(port.port(), servers, 2), front, {"-d"});
  ASSERT_TRUE(f.ready()) << f.logs();
  ClientLoop clients(front);
  ASSERT_TRUE(
      eventually([&] { return a.served() > 5 && b.served() > 5 && c.served() > 5; }, 5s, 5ms))
      << f.logs();
  // b fully up (its first check passed): it takes `fall` failed checks to go down.
  ASSERT_TRUE(f.proc().waitForErr("health check of app/b: Layer4 check passed", 3s)) << f.logs();

  // Kill b: marked DOWN within fall x inter plus one inter.
  const auto killed = Clock::now();
  b.stop();
  ASSERT_TRUE(f.proc().waitForErr("Server app/b is DOWN", 5s)) << f.logs();
  const Ms downAfter = since(killed);
  EXPECT_LE(downAfter.count(), kFall * kInterMs + kInterMs) << f.logs();
  EXPECT_GE(downAfter.count(), (kFall - 1) * kInterMs - 20) << f.logs();
  EXPECT_NE(f.logs().find("reason: Layer4 connection problem"), std::string::npos) << f.logs();

  // From now on b gets no new connection, even once it listens again, until checks see
  // it healthy for rise x inter.
  b.start();
  const auto restarted = Clock::now();
  const int servedWhileDown = b.served();
  bool servedBeforeUp = false;
  ASSERT_TRUE(eventually(
      [&] {
        const int served = b.served();  // read before the logs: see below
        if (f.logs().find("Server app/b is UP") != std::string::npos) return true;
        // The UP line is logged right after the new state is published: a client served
        // before the line exists was sent to b while it was DOWN.
        if (served != servedWhileDown) servedBeforeUp = true;
        return false;
      },
      5s, 5ms))
      << f.logs();
  const Ms upAfter = since(restarted);
  EXPECT_FALSE(servedBeforeUp) << "a DOWN server got a client connection\n" << f.logs();
  EXPECT_GE(upAfter.count(), (kRise - 1) * kInterMs - 20);
  EXPECT_LE(upAfter.count(), kRise * kInterMs + kInterMs) << f.logs();
  EXPECT_NE(f.logs().find("Server app/b is UP (was DOWN), reason: Layer4 check passed"),
            std::string::npos)
      << f.logs();

  // And it takes traffic again.
  EXPECT_TRUE(eventually([&] { return b.served() > servedWhileDown + 3; }, 5s, 5ms));
  clients.stop();
  EXPECT_GT(clients.total(), 50);
  // Clients see no failure meanwhile: refused connections to b are retried on another
  // server. The only client that may fail is one whose connection sat in b's accept
  // queue at the instant b died (the kernel resets those): it started right then.
  auto failures = clients.failures();
  EXPECT_LE(failures.size(), 1u);
  for (const auto& fl : failures) {
    auto offset = std::chrono::duration_cast<Ms>(fl.at - killed).count();
    EXPECT_TRUE(offset > -20 && offset < 20)
        << "a client failed " << offset << " ms after the kill: " << fl.what;
  }
}

TEST(Health, DowninterSlowsChecksOfADownServer) {
  FlakyBackend a("a");
  RefusingPort dead;
  ReservedPort port;
  const SockAddr front = SockAddr::loopback4(port.port());
  std::string servers = fmt::format(
      "    server a {} check inter 100ms\n"
      "    server d 127.0.0.1:{} check inter 100ms fall 1 downinter 5s\n",
      a.addrString(), dead.port());
  FulcrumProcess f(listenConfig(port.port(), servers), front, {"-d"});
  ASSERT_TRUE(f.ready()) << f.logs();
  ASSERT_TRUE(f.proc().waitForErr("Server app/d is DOWN", 3s)) << f.logs();
  // a is checked every 100 ms meanwhile; d, fully down, waits its 5 s.
  ASSERT_TRUE(eventually([&] { return countOf(f.logs(), "health check of app/a") >= 8; }, 5s, 5ms));
  EXPECT_EQ(countOf(f.logs(), "health check of app/d"), 1u) << f.logs();
}

TEST(Health, TcpCheckAgainstRedisPassesAndFails) {
  const char* redisBin = "/usr/bin/redis-server";
  if (access(redisBin, X_OK) != 0) {
    // Installs it (scripts/deps.sh lists redis-server for these tests).
    RunResult r = run({"/bin/bash", FULCRUM_SOURCE_DIR "/scripts/deps.sh"}, 300s);
    ASSERT_EQ(access(redisBin, X_OK), 0) << "cannot install redis-server: " << r.err;
  }
  // A free loopback port for redis (it binds without SO_REUSEPORT, so it cannot share a
  // reserved port): taken from the kernel, released, then given to redis.
  uint16_t redisPort = 0;
  {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    SockAddr any = SockAddr::loopback4(0);
    ASSERT_EQ(bind(fd, any.sa(), any.len()), 0);
    redisPort = localAddressOf(fd).port();
    ::close(fd);
  }
  TempDir redisDir;
  Process redis;
  redis.start({redisBin, "--port", std::to_string(redisPort), "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--dir", redisDir.path()},
              redisDir.path());
  ASSERT_TRUE(waitForListening(SockAddr::loopback4(redisPort), 10s)) << redis.out();

  ReservedPort goodPort, badPort, mutePort;
  std::string cfg = fmt::format(
      "global\n    nbthread 1\n"
      "defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 10s\n"
      "    timeout server 10s\n    timeout check 300ms\n"
      // Passes: redis answers PING with +PONG.
      "listen good\n    bind 127.0.0.1:{}\n    option tcp-check\n"
      "    tcp-check comment \"redis answers PING\"\n"
      "    tcp-check send PING\\r\\n\n"
      "    tcp-check expect string +PONG\n"
      "    server r 127.0.0.1:{} check inter 100ms rise 1 fall 1\n"
      // Fails: the first exchange passes, the second gets +OK (and a close) where +NOPE is
      // expected: a wrong response.
      "listen bad\n    bind 127.0.0.1:{}\n    option tcp-check\n"
      "    tcp-check connect\n"
      "    tcp-check send-binary 50494e470d0a\n"  // PING\r\n
      "    tcp-check expect binary 2b504f4e47\n"  // +PONG
      "    tcp-check send QUIT\\r\\n\n"
      "    tcp-check expect rstring ^\\+NOPE\n"
      "    server r 127.0.0.1:{} check inter 100ms rise 1 fall 1\n"
      // Fails: redis keeps the connection open and never says +NOPE: a timeout (timeout
      // check) rather than a wrong response, as in HAProxy.
      "listen mute\n    bind 127.0.0.1:{}\n    option tcp-check\n"
      "    tcp-check send PING\\r\\n\n"
      "    tcp-check expect string +NOPE\n"
      "    server r 127.0.0.1:{} check inter 100ms rise 1 fall 1\n",
      goodPort.port(), redisPort, badPort.port(), redisPort, mutePort.port(), redisPort);
  FulcrumProcess f(cfg, SockAddr::loopback4(goodPort.port()), {"-d"});
  ASSERT_TRUE(f.ready()) << f.logs();

  // The failing sequences take their server down, with Layer7 reasons.
  ASSERT_TRUE(f.proc().waitForErr("Server bad/r is DOWN", 3s)) << f.logs();
  EXPECT_NE(f.logs().find("Server bad/r is DOWN (was UP), reason: Layer7 invalid response, info: "
                          "\"TCPCHK expect rstring '^\\+NOPE' at step 5 (expect rstring "
                          "'^\\+NOPE'); received '+OK\\r\\n'\""),
            std::string::npos)
      << f.logs();
  ASSERT_TRUE(f.proc().waitForErr("Server mute/r is DOWN", 3s)) << f.logs();
  EXPECT_NE(f.logs().find("Server mute/r is DOWN (was UP), reason: Layer7 timeout, info: \"at "
                          "step 3 (expect string '+NOPE'); received '+PONG\\r\\n'\""),
            std::string::npos)
      << f.logs();
  // The passing one keeps passing, and its server stays up.
  ASSERT_TRUE(eventually(
      [&] { return countOf(f.logs(), "health check of good/r: Layer7 check passed") >= 5; }, 5s,
      5ms))
      << f.logs();
  EXPECT_EQ(f.logs().find("Server good/r is DOWN"), std::string::npos) << f.logs();

  // Traffic: good reaches redis, bad has no server left.
  int fd = connectTcp(SockAddr::loopback4(goodPort.port()));
  ASSERT_GE(fd, 0);
  std::string pong;
  ASSERT_TRUE(sendAll(fd, "PING\r\n"));
  ASSERT_TRUE(readLine(fd, pong, 3s));
  EXPECT_EQ(pong, "+PONG\r");
  closeFd(fd);
  fd = connectTcp(SockAddr::loopback4(badPort.port()));
  ASSERT_GE(fd, 0);
  std::string none;
  EXPECT_TRUE(readToEof(fd, none, 3s)) << f.logs();
  EXPECT_EQ(none, "");
  closeFd(fd);

  redis.signal(SIGTERM);
  EXPECT_GE(redis.wait(10s), 0);
  // Redis gone: the passing check now fails too (reset, or refused at step 1).
  ASSERT_TRUE(f.proc().waitForErr("Server good/r is DOWN (was UP), reason: Layer4 connection", 3s))
      << f.logs();
}

TEST(Health, AgentDrainThenHalfWeightThenFullMovesTheTraffic) {
  FlakyBackend a("a"), b("b");
  std::mutex mu;
  std::string reply = "up\n";
  std::string lastRequest;
  std::atomic<int> queries{0};
  Backend agent([&](int fd) {
    std::string req;
    readLine(fd, req, 2s);
    std::string r;
    {
      std::lock_guard<std::mutex> lk(mu);
      lastRequest = req;
      r = reply;
    }
    ++queries;
    sendAll(fd, r);
  });
  auto setReply = [&](const std::string& r) {
    std::lock_guard<std::mutex> lk(mu);
    reply = r;
  };
  ReservedPort port;
  const SockAddr front = SockAddr::loopback4(port.port());
  std::string servers = fmt::format(
      "    server a {} weight 100\n"
      "    server b {} weight 100 agent-check agent-port {} agent-inter 100ms agent-send "
      "\"b-status\\n\"\n",
      a.addrString(), b.addrString(), agent.port());
  FulcrumProcess f(listenConfig(port.port(), servers), front);
  ASSERT_TRUE(f.ready()) << f.logs();
  ASSERT_TRUE(eventually([&] { return queries.load() >= 2; }, 3s, 5ms));
  {
    std::lock_guard<std::mutex> lk(mu);
    EXPECT_EQ(lastRequest, "b-status");  // agent-send
  }
  auto before = distribution(front, 40);
  EXPECT_EQ(before["a"], 20);
  EXPECT_EQ(before["b"], 20);
  // Two lasting sessions: one on a, one on b (in either order).
  auto first = std::make_unique<LongClient>(front);
  auto second = std::make_unique<LongClient>(front);
  const std::string firstOn = first->exchange();
  const std::string secondOn = second->exchange();
  ASSERT_EQ(firstOn + secondOn == "ab" || firstOn + secondOn == "ba", true) << firstOn << secondOn;
  LongClient& keptB = firstOn == "b" ? *first : *second;

  // drain: no new connection for b; its existing session is kept.
  setReply("drain\n");
  ASSERT_TRUE(
      f.proc().waitForErr("Server app/b is DRAIN (was UP), reason: agent reports drain", 3s))
      << f.logs();
  auto drained = distribution(front, 30);
  EXPECT_EQ(drained["a"], 30) << f.logs();
  EXPECT_EQ(keptB.exchange(), "b");

  // HAProxy's protocol: a weight alone does not end a drain; "ready" does.
  setReply("ready 50%\n");
  ASSERT_TRUE(
      f.proc().waitForErr("Server app/b is UP (was DRAIN), reason: agent reports ready 50%", 3s))
      << f.logs();
  EXPECT_NE(f.logs().find("Server app/b weight is now 50 (50% of 100)"), std::string::npos);
  auto half = distribution(front, 150);
  EXPECT_NEAR(half["b"], 50, 3) << "a=" << half["a"];
  EXPECT_EQ(half["a"] + half["b"], 150);

  // up, at full weight again.
  setReply("up 100%\n");
  ASSERT_TRUE(f.proc().waitForErr("Server app/b weight is now 100 (100% of 100)", 3s)) << f.logs();
  auto full = distribution(front, 100);
  EXPECT_NEAR(full["b"], 50, 2) << "a=" << full["a"];

  // down: out at once, the reason logged.
  setReply("down #maintenance window\n");
  ASSERT_TRUE(
      f.proc().waitForErr("Server app/b is DOWN (was UP), reason: agent reports down "
                          "#maintenance window",
                          3s))
      << f.logs();
  EXPECT_EQ(distribution(front, 20)["a"], 20);
}

TEST(Health, PassiveObserveMarksDownARefusingServerWithoutActiveChecks) {
  FlakyBackend a("a");
  RefusingPort refusing;
  ReservedPort port;
  const SockAddr front = SockAddr::loopback4(port.port());
  std::string servers = fmt::format(
      "    server a {}\n"
      "    server b 127.0.0.1:{} observe layer4 error-limit 3 on-error mark-down\n",
      a.addrString(), refusing.port());
  FulcrumProcess f(listenConfig(port.port(), servers), front, {"-d"});
  ASSERT_TRUE(f.ready()) << f.logs();
  // No active check runs while b is up.
  EXPECT_EQ(f.logs().find("health check of app/b"), std::string::npos) << f.logs();
  // Clients are redispatched to a; every third attempt on b counts.
  for (int i = 0; i < 10; ++i) EXPECT_EQ(ask(front), "a");
  // (At least 3: attempts made before the control loop first looks are counted too.)
  ASSERT_TRUE(
      f.proc().waitForErr("Server app/b is DOWN (was UP), reason: Health analyze, info: \"", 3s))
      << f.logs();
  EXPECT_TRUE(
      std::regex_search(f.logs(), std::regex("info: \"[3-9] consecutive connection errors")))
      << f.logs();
  // Once down, b gets no connection attempt from clients any more.
  const size_t attempts = countOf(f.logs(), "connect to app/b failed");
  EXPECT_GE(attempts, 3u);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(ask(front), "a");
  EXPECT_EQ(countOf(f.logs(), "connect to app/b failed"), attempts) << f.logs();
}

TEST(Health, PassiveObserveFailCheckCountsTowardsFall) {
  FlakyBackend a("a");
  RefusingPort refusing;
  ReservedPort port;
  const SockAddr front = SockAddr::loopback4(port.port());
  // b's active checks go to a live port and pass (one at start, then every 10 s), but
  // its traffic port refuses. With fall 2 and on-error fail-check (the default), each
  // error-limit of 2 refused connections is one failed check: two bring b down.
  FlakyBackend checkPort("h");
  std::string servers = fmt::format(
      "    server a {}\n"
      "    server b 127.0.0.1:{} check port {} inter 10s rise 1 fall 2 observe layer4 "
      "error-limit 2\n",
      a.addrString(), refusing.port(), checkPort.port());
  FulcrumProcess f(listenConfig(port.port(), servers), front, {"-d"});
  ASSERT_TRUE(f.ready()) << f.logs();
  ASSERT_TRUE(f.proc().waitForErr("health check of app/b: Layer4 check passed", 3s)) << f.logs();
  int asked = 0;
  for (; asked < 30 && f.logs().find("Server app/b is DOWN") == std::string::npos; ++asked)
    EXPECT_EQ(ask(front), "a");
  ASSERT_TRUE(f.proc().waitForErr("Server app/b is DOWN (was UP), reason: Health analyze", 3s))
      << f.logs();
  // Two alerts were needed (the first left b up at 1/2). Attempts already under way may
  // raise more alerts after that: count those before the DOWN line only.
  const std::string logs = f.logs();
  EXPECT_EQ(countOf(logs.substr(0, logs.find("Server app/b is DOWN")),
                    "consecutive connection errors observed"),
            2u)
      << logs;
}

TEST(Health, SlowstartRampsTheWeightVisiblyAfterRecovery) {
  constexpr int kSlowstartMs = 3000;
  FlakyBackend a("a"), b("b");
  ReservedPort port;
  const SockAddr front = SockAddr::loopback4(port.port());
  std::string servers = fmt::format(
      "    server a {} weight 100\n"
      "    server b {} weight 100 check inter 100ms rise 1 fall 1 slowstart {}ms\n",
      a.addrString(), b.addrString(), kSlowstartMs);
  FulcrumProcess f(listenConfig(port.port(), servers), front);
  ASSERT_TRUE(f.ready()) << f.logs();
  // No slow start at process start: an even split at once.
  auto atStart = distribution(front, 100);
  EXPECT_NEAR(atStart["b"], 50, 2);

  b.stop();
  ASSERT_TRUE(f.proc().waitForErr("Server app/b is DOWN", 3s)) << f.logs();
  b.start();
  ASSERT_TRUE(f.proc().waitForErr("Server app/b is UP", 3s)) << f.logs();
  const auto up = Clock::now();
  // Just after recovery b runs at a few percent of its weight.
  auto early = distribution(front, 100);
  const Ms earlyTook = since(up);
  EXPECT_LT(earlyTook.count(), kSlowstartMs / 3) << "too slow to sample the ramp's start";
  EXPECT_LE(early["b"], 20) << "b=" << early["b"] << " a=" << early["a"];
  EXPECT_GE(early["b"], 1);
  // Its share grows over the slow start period, to half once it is over.
  int mid = -1;
  bool sawMid = false;
  ASSERT_TRUE(eventually(
      [&] {
        auto d = distribution(front, 50);
        if (d["b"] > 10 && d["b"] < 22) {
          sawMid = true;
          mid = d["b"];
        }
        return d["b"] >= 24;
      },
      Ms(kSlowstartMs + 3000), 5ms))
      << f.logs();
  const Ms full = since(up);
  EXPECT_TRUE(sawMid) << "no intermediate share seen (last " << mid << ")";
  EXPECT_GE(full.count(), kSlowstartMs * 6 / 10) << "the ramp was not gradual";
}

TEST(Health, BackupTakesOverWhenAllActiveServersAreDownAndHandsBack) {
  FlakyBackend a("a"), c("c"), k("k");
  ReservedPort port;
  const SockAddr front = SockAddr::loopback4(port.port());
  std::string servers = fmt::format(
      "    default-server check inter 100ms rise 2 fall 1\n"
      "    server a {} on-marked-up shutdown-backup-sessions\n"
      "    server c {}\n"
      "    server k {} backup\n",
      a.addrString(), c.addrString(), k.addrString());
  FulcrumProcess f(listenConfig(port.port(), servers), front);
  ASSERT_TRUE(f.ready()) << f.logs();
  auto normal = distribution(front, 20);
  EXPECT_EQ(normal["a"], 10);
  EXPECT_EQ(normal["c"], 10);

  // One active server down: the other one takes everything, the backup nothing.
  c.stop();
  ASSERT_TRUE(f.proc().waitForErr("Server app/c is DOWN", 3s)) << f.logs();
  EXPECT_EQ(distribution(front, 10)["a"], 10);
  // All active servers down: the backup takes over.
  a.stop();
  ASSERT_TRUE(f.proc().waitForErr("Server app/a is DOWN", 3s)) << f.logs();
  EXPECT_NE(f.logs().find("0 active and 1 backup servers online"), std::string::npos);
  EXPECT_EQ(distribution(front, 10)["k"], 10);
  LongClient onBackup(front);
  ASSERT_EQ(onBackup.exchange(), "k");

  // a returns: traffic goes back to it, and (shutdown-backup-sessions) the session on the
  // backup is closed.
  a.start();
  ASSERT_TRUE(f.proc().waitForErr("Server app/a is UP", 3s)) << f.logs();
  EXPECT_TRUE(onBackup.closedWithin(2s)) << "backup session not shut down";
  EXPECT_EQ(distribution(front, 10)["a"], 10);
}

TEST(Health, AllBackupsShareTheLoad) {
  FlakyBackend a("a"), k1("1"), k2("2");
  ReservedPort port;
  const SockAddr front = SockAddr::loopback4(port.port());
  std::string servers = fmt::format(
      "    option allbackups\n"
      "    server a {} check inter 100ms fall 1\n"
      "    server k1 {} backup\n"
      "    server k2 {} backup\n",
      a.addrString(), k1.addrString(), k2.addrString());
  FulcrumProcess f(listenConfig(port.port(), servers), front);
  ASSERT_TRUE(f.ready()) << f.logs();
  a.stop();
  ASSERT_TRUE(f.proc().waitForErr("Server app/a is DOWN", 3s)) << f.logs();
  auto d = distribution(front, 20);
  EXPECT_EQ(d["1"], 10);
  EXPECT_EQ(d["2"], 10);
}

TEST(Health, OnMarkedDownShutdownSessionsClosesEstablishedSessions) {
  // The checks go to a separate port ("port"), so the server can fail its checks while
  // its established sessions are still alive.
  FlakyBackend s1("x"), s2("y"), health1("h"), health2("h");
  ReservedPort port;
  const SockAddr front = SockAddr::loopback4(port.port());
  std::string servers = fmt::format(
      "    server x {} check port {} inter 100ms fall 1 on-marked-down shutdown-sessions\n"
      "    server y {} check port {} inter 100ms fall 1\n",
      s1.addrString(), health1.port(), s2.addrString(), health2.port());
  FulcrumProcess f(listenConfig(port.port(), servers), front);
  ASSERT_TRUE(f.ready()) << f.logs();
  // One lasting session on each server (round robin, in either order).
  LongClient first(front), second(front);
  const std::string firstOn = first.exchange();
  const std::string secondOn = second.exchange();
  ASSERT_TRUE(firstOn + secondOn == "xy" || firstOn + secondOn == "yx") << firstOn << secondOn;
  LongClient& onX = firstOn == "x" ? first : second;
  LongClient& onY = firstOn == "x" ? second : first;
  health1.stop();
  health2.stop();
  ASSERT_TRUE(f.proc().waitForErr("Server app/x is DOWN", 3s)) << f.logs();
  ASSERT_TRUE(f.proc().waitForErr("Server app/y is DOWN", 3s)) << f.logs();
  EXPECT_TRUE(onX.closedWithin(2s)) << "x's session survived on-marked-down shutdown-sessions";
  // Without the option, y's session is left alone.
  EXPECT_EQ(onY.exchange(), "y");
}

TEST(Health, SpreadChecksAndDisabledServers) {
  FlakyBackend a("a"), b("b");
  ReservedPort port;
  const SockAddr front = SockAddr::loopback4(port.port());
  std::string servers = fmt::format(
      "    server a {} check inter 100ms\n"
      "    server b {} check inter 100ms disabled\n",
      a.addrString(), b.addrString());
  FulcrumProcess f(listenConfig(port.port(), servers, 1, "    spread-checks 50\n"), front, {"-d"});
  ASSERT_TRUE(f.ready()) << f.logs();
  ASSERT_TRUE(
      eventually([&] { return countOf(f.logs(), "health check of app/a") >= 12; }, 5s, 5ms));
  // A disabled server is in maintenance: not checked, no traffic.
  EXPECT_EQ(countOf(f.logs(), "health check of app/b"), 0u);
  EXPECT_EQ(distribution(front, 10)["a"], 10);
  // The intervals vary (+/- 50 %), and average out near inter.
  std::regex stamp(
      R"(\[\d{4}-\d\d-\d\dT\d\d:\d\d:(\d\d)\.(\d{3})Z\] \[DEBUG\] health check of app/a)");
  std::string logs = f.logs();
  std::vector<int> ms;
  for (auto it = std::sregex_iterator(logs.begin(), logs.end(), stamp);
       it != std::sregex_iterator(); ++it)
    ms.push_back(std::stoi((*it)[1]) * 1000 + std::stoi((*it)[2]));
  ASSERT_GE(ms.size(), 12u);
  std::set<int> gaps;
  for (size_t i = 1; i < ms.size(); ++i) gaps.insert(((ms[i] - ms[i - 1]) % 60000 + 60000) % 60000);
  // Without spread-checks the gaps are inter to the millisecond or two.
  EXPECT_GE(*gaps.rbegin() - *gaps.begin(), 15) << "intervals do not vary";
  // A timer never fires early: no gap is below inter - 50% even on a loaded machine.
  EXPECT_GE(*gaps.begin(), 45) << "an interval below inter - 50%";
  // A loaded machine (sanitizers, parallel builds) delays checks, so the upper bound is
  // asserted on the intervals the monitor chose, which it logs: within inter +/- 50%.
  std::regex chosen(R"(app/a: next check in (\d+) ms)");
  std::vector<int> delays;
  for (auto it = std::sregex_iterator(logs.begin(), logs.end(), chosen);
       it != std::sregex_iterator(); ++it)
    delays.push_back(std::stoi((*it)[1]));
  ASSERT_GE(delays.size(), 10u) << logs;
  for (int d : delays) {
    EXPECT_GE(d, 50) << "a chosen interval below inter - 50%";
    EXPECT_LE(d, 150) << "a chosen interval beyond inter + 50%";
  }
  EXPECT_GE(*std::max_element(delays.begin(), delays.end()) -
                *std::min_element(delays.begin(), delays.end()),
            15)
      << "chosen intervals do not vary";
}

}  // namespace
}  // namespace fulcrum::test
