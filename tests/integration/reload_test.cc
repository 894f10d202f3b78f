// Reload (SIGHUP and the runtime API's "reload") and graceful shutdown, with the real
// binary under load: no connection refused or reset because of a reload, every byte of
// long-lived streams accounted for, bad configs rejected with traffic untouched.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <thread>

#include "fulcrum_fixture.h"
#include "support/harness.h"

namespace fulcrum::test {
namespace {

using namespace std::chrono_literals;

// Replaces the config file atomically (a reload must never read half a file).
void rewrite(const FulcrumProcess& f, const std::string& text) {
  ASSERT_TRUE(f.rewriteConfig(text)) << f.configPath();
}

// Stops and joins load threads on every way out of a test, failed assertions included.
struct Joiner {
  std::atomic<bool>& stop;
  std::vector<std::thread>& threads;
  ~Joiner() {
    stop = true;
    for (auto& t : threads)
      if (t.joinable()) t.join();
  }
};

size_t countOf(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (size_t at = hay.find(needle); at != std::string::npos; at = hay.find(needle, at + 1)) ++n;
  return n;
}

// Waits until the log holds `n` occurrences of `text`.
bool waitForCount(FulcrumProcess& f, const std::string& text, size_t n,
                  std::chrono::milliseconds timeout = 10s) {
  return eventually([&] { return countOf(f.logs(), text) >= n; }, timeout, 5ms);
}

struct Ports {
  ReservedPort main;
  ReservedPort extra;
};

// Variant A: servers s1, s2 and one listener. Variant B: s1, s3 (s2 removed, s3 added),
// a changed weight, and a second listener on `extra`.
std::string reloadConfig(const Ports& p, const std::string& sock, const Backend& b1,
                         const Backend& b2, const Backend& b3, bool variantB) {
  std::string cfg = fmt::format(
      "global\n"
      "    nbthread 2\n"
      "    stats socket {} level admin\n"
      "defaults\n"
      "    mode tcp\n"
      "    timeout connect 2s\n"
      "    timeout client 30s\n"
      "    timeout server 30s\n"
      "frontend main\n"
      "    bind 127.0.0.1:{}\n"
      "    default_backend app\n",
      sock, p.main.port());
  if (variantB)
    cfg += fmt::format("frontend extra\n    bind 127.0.0.1:{}\n    default_backend app\n",
                       p.extra.port());
  cfg += "backend app\n    balance roundrobin\n";
  cfg += fmt::format("    server s1 {} weight {}\n", b1.addrString(), variantB ? 2 : 1);
  if (variantB)
    cfg += fmt::format("    server s3 {}\n", b3.addrString());
  else
    cfg += fmt::format("    server s2 {}\n", b2.addrString());
  return cfg;
}

TEST(Reload, TwentyReloadsUnderLoadLoseNothing) {
  Backend b1(Backend::echo()), b2(Backend::echo()), b3(Backend::echo());
  Ports ports;
  TempDir sockDir;
  const std::string sock = sockDir.path() + "/api.sock";
  FulcrumProcess f(reloadConfig(ports, sock, b1, b2, b3, false),
                   SockAddr::loopback4(ports.main.port()));
  ASSERT_TRUE(f.ready()) << f.logs();
  const SockAddr front = SockAddr::loopback4(ports.main.port());

  std::atomic<bool> stop{false};
  std::atomic<int> shortOk{0}, shortFailed{0};
  // Bytes the clients sent through the main frontend and got back: Fulcrum's counters
  // for it (which persist across the reloads) must end up equal.
  std::atomic<uint64_t> mainSent{0}, mainEchoed{0};
  std::string firstFailure;
  std::mutex failMu;
  auto fail = [&](const std::string& why) {
    std::lock_guard<std::mutex> lock(failMu);
    if (firstFailure.empty()) firstFailure = why;
  };
  // Continuous short connections: connect, one line, its echo, close.
  std::vector<std::thread> threads;
  Joiner joiner{stop, threads};
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      // Bounded and paced: the test backends run a thread per connection.
      for (int i = 0; !stop.load() && i < 3000; ++i) {
        if (i > 0) std::this_thread::sleep_for(1ms);
        int fd = connectTcp(front, 5s);
        const std::string msg = fmt::format("short {} {}\n", t, i);
        std::string line;
        const bool sent = fd >= 0 && sendAll(fd, msg);
        if (sent) mainSent += msg.size();
        bool ok = sent && readLine(fd, line, 5s) && line + "\n" == msg;
        if (fd >= 0) closeFd(fd);
        if (ok) {
          mainEchoed += msg.size();
          ++shortOk;
        } else {
          ++shortFailed;
          fail(fmt::format("short connection {}/{} failed (fd {}, got '{}')", t, i, fd, line));
        }
      }
    });
  }
  // Long-lived streams: keep sending numbered chunks and reading their echo.
  constexpr int kStreams = 4;
  std::atomic<uint64_t> sentBytes{0}, echoedBytes{0};
  std::atomic<int> brokenStreams{0};
  for (int s = 0; s < kStreams; ++s) {
    threads.emplace_back([&, s] {
      int fd = connectTcp(front, 5s);
      if (fd < 0) {
        ++brokenStreams;
        fail(fmt::format("stream {} could not connect", s));
        return;
      }
      uint64_t n = 0;
      while (!stop.load() && n < 1000000) {
        const std::string chunk = randomBytes(4096, static_cast<uint32_t>(s * 1000003 + n));
        std::string back;
        if (!sendAll(fd, chunk.data(), chunk.size()) || !readExactly(fd, back, chunk.size(), 10s) ||
            back != chunk) {
          ++brokenStreams;
          fail(fmt::format("stream {} broke at chunk {}", s, n));
          break;
        }
        sentBytes += chunk.size();
        echoedBytes += back.size();
        mainSent += chunk.size();
        mainEchoed += back.size();
        ++n;
      }
      closeFd(fd);
    });
  }

  const std::string applied = "configuration applied (reload)";
  for (int r = 1; r <= 20; ++r) {
    const bool variantB = r % 2 == 1;
    rewrite(f, reloadConfig(ports, sock, b1, b2, b3, variantB));
    if (r % 4 == 0) {
      // Every fourth reload through the runtime API, the others through SIGHUP.
      std::string reply = apiRequest(sock, "reload");
      EXPECT_NE(reply.find("Success=1"), std::string::npos) << reply;
    } else {
      f.proc().signal(SIGHUP);
    }
    ASSERT_TRUE(waitForCount(f, applied, static_cast<size_t>(r)))
        << "reload " << r << " running=" << f.proc().running() << " log bytes=" << f.logs().size()
        << " errno=" << errno << "\n"
        << f.logs();
    // The extra listener exists exactly in variant B (a removed one closes once every
    // worker has let go of it, a few milliseconds after the reload).
    auto connectExtra = [&] { return connectTcp(SockAddr::loopback4(ports.extra.port()), 2s); };
    int fd = connectExtra();
    if (!variantB) {
      eventually(
          [&] {
            if (fd < 0) return true;
            closeFd(fd);  // still accepting: try again
            fd = connectExtra();
            return fd < 0;
          },
          5s, 2ms);
    }
    if (variantB) {
      EXPECT_GE(fd, 0) << "reload " << r << ": the added listener does not accept";
      if (fd >= 0) {
        std::string line;
        EXPECT_TRUE(sendAll(fd, std::string("extra\n")) && readLine(fd, line, 5s) &&
                    line == "extra")
            << "reload " << r;
      }
    } else {
      EXPECT_LT(fd, 0) << "reload " << r << ": the removed listener still accepts";
    }
    if (fd >= 0) closeFd(fd);
    // Traffic goes through each configuration: 20 more short connections, and the
    // streams move on.
    const int before = shortOk.load();
    const uint64_t streamed = sentBytes.load();
    EXPECT_TRUE(eventually(
        [&] { return shortOk.load() >= before + 20 && sentBytes.load() > streamed; }, 5s, 2ms))
        << "reload " << r << ": no traffic";
  }
  stop = true;
  for (auto& t : threads) t.join();

  EXPECT_EQ(shortFailed.load(), 0)
      << firstFailure << "\n"
      << f.logs().substr(f.logs().size() > 3000 ? f.logs().size() - 3000 : 0);
  EXPECT_EQ(brokenStreams.load(), 0) << firstFailure;
  EXPECT_GT(shortOk.load(), 20 * 20);
  EXPECT_GT(sentBytes.load(), 0u);
  EXPECT_EQ(sentBytes.load(), echoedBytes.load());
  // Every byte accounted for by Fulcrum too: the main frontend's bin and bout, kept by
  // name across the 20 reloads, are what the clients sent and received.
  auto cell = [&](size_t col) {
    const std::string csv = apiRequest(sock, "show stat");
    const size_t at = csv.find("\nmain,FRONTEND,");
    if (at == std::string::npos) return std::string("<absent>");
    std::string row = csv.substr(at + 1, csv.find('\n', at + 1) - at - 1);
    size_t pos = 0;
    for (size_t i = 0; i < col; ++i) pos = row.find(',', pos) + 1;
    return row.substr(pos, row.find(',', pos) - pos);
  };
  EXPECT_TRUE(eventually([&] {
    return cell(8) == std::to_string(mainSent.load()) &&
           cell(9) == std::to_string(mainEchoed.load());
  })) << "bin "
      << cell(8) << " vs " << mainSent.load() << ", bout " << cell(9) << " vs "
      << mainEchoed.load();
  // Servers that persist by name keep their counters: s1 served from the start.
  EXPECT_GT(b1.accepted(), 0);
  EXPECT_GT(b2.accepted(), 0);
  EXPECT_GT(b3.accepted(), 0);
  EXPECT_EQ(countOf(f.logs(), "reload failed"), 0u) << f.logs();
}

TEST(Reload, BadConfigIsRejectedAndTrafficContinues) {
  Backend b1(Backend::echo()), b2(Backend::echo()), b3(Backend::echo());
  Ports ports;
  TempDir sockDir;
  const std::string sock = sockDir.path() + "/api.sock";
  const std::string good = reloadConfig(ports, sock, b1, b2, b3, true);
  FulcrumProcess f(good, SockAddr::loopback4(ports.main.port()));
  ASSERT_TRUE(f.ready()) << f.logs();
  const SockAddr front = SockAddr::loopback4(ports.main.port());

  // A stream open across the failed reload.
  int stream = connectTcp(front, 5s);
  ASSERT_GE(stream, 0);
  std::string line;
  ASSERT_TRUE(sendAll(stream, std::string("before\n")) && readLine(stream, line, 5s));

  // An unknown keyword and a server without an address: file, line and keyword named.
  rewrite(f, good + "    bogus-keyword 1\n    server s9\n");
  f.proc().signal(SIGHUP);
  ASSERT_TRUE(waitForCount(f, "reload failed", 1)) << f.logs();
  EXPECT_NE(f.logs().find("fulcrum.cfg:"), std::string::npos) << f.logs();
  EXPECT_NE(f.logs().find("bogus-keyword"), std::string::npos) << f.logs();

  // Through the runtime API, the errors reach the caller.
  std::string reply = apiRequest(sock, "reload");
  EXPECT_NE(reply.find("Success=0"), std::string::npos) << reply;
  EXPECT_NE(reply.find("bogus-keyword"), std::string::npos) << reply;

  // The running config stays: both listeners, the stream, new connections.
  EXPECT_TRUE(sendAll(stream, std::string("after\n")) && readLine(stream, line, 5s) &&
              line == "after");
  closeFd(stream);
  for (uint16_t port : {ports.main.port(), ports.extra.port()}) {
    int fd = connectTcp(SockAddr::loopback4(port), 5s);
    ASSERT_GE(fd, 0) << port;
    EXPECT_TRUE(sendAll(fd, std::string("x\n")) && readLine(fd, line, 5s) && line == "x");
    closeFd(fd);
  }
  // A listener that cannot be opened (its port is taken) fails the reload as a whole.
  int squatter = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  SockAddr taken = SockAddr::loopback4(0);
  ASSERT_EQ(bind(squatter, taken.sa(), taken.len()), 0);
  ASSERT_EQ(listen(squatter, 1), 0);
  taken = localAddressOf(squatter);
  rewrite(f, good + fmt::format("frontend squat\n    bind 127.0.0.1:{}\n    default_backend app\n",
                                taken.port()));
  reply = apiRequest(sock, "reload");
  EXPECT_NE(reply.find("Success=0"), std::string::npos) << reply;
  EXPECT_NE(reply.find("cannot bind"), std::string::npos) << reply;
  closeFd(squatter);
  int fd = connectTcp(SockAddr::loopback4(ports.extra.port()), 5s);
  EXPECT_GE(fd, 0) << "a failed reload must leave the running listeners alone";
  if (fd >= 0) closeFd(fd);
}

TEST(Reload, CountersPersistByName) {
  Backend b1(Backend::echo()), b2(Backend::echo()), b3(Backend::echo());
  Ports ports;
  TempDir sockDir;
  const std::string sock = sockDir.path() + "/api.sock";
  FulcrumProcess f(reloadConfig(ports, sock, b1, b2, b3, false),
                   SockAddr::loopback4(ports.main.port()));
  ASSERT_TRUE(f.ready()) << f.logs();
  auto stotOf = [&](const std::string& pxname, const std::string& svname) -> long {
    std::string csv = apiRequest(sock, "show stat");
    std::string prefix = pxname + "," + svname + ",";
    size_t at = csv.find("\n" + prefix);
    if (at == std::string::npos) return -1;
    std::string row = csv.substr(at + 1, csv.find('\n', at + 1) - at - 1);
    // stot is the 8th column (pxname,svname,qcur,qmax,scur,smax,slim,stot).
    size_t pos = 0;
    for (int i = 0; i < 7; ++i) pos = row.find(',', pos) + 1;
    return std::stol(row.substr(pos, row.find(',', pos) - pos));
  };
  for (int i = 0; i < 10; ++i) {
    int fd = connectTcp(SockAddr::loopback4(ports.main.port()), 5s);
    ASSERT_GE(fd, 0);
    std::string line;
    ASSERT_TRUE(sendAll(fd, std::string("c\n")) && readLine(fd, line, 5s));
    closeFd(fd);
  }
  const long frontBefore = stotOf("main", "FRONTEND");
  const long s1Before = stotOf("app", "s1");
  ASSERT_GE(frontBefore, 10);
  ASSERT_GT(s1Before, 0);
  rewrite(f, reloadConfig(ports, sock, b1, b2, b3, true));
  std::string reply = apiRequest(sock, "reload");
  ASSERT_NE(reply.find("Success=1"), std::string::npos) << reply;
  EXPECT_EQ(stotOf("main", "FRONTEND"), frontBefore);
  EXPECT_EQ(stotOf("app", "s1"), s1Before);
  EXPECT_EQ(stotOf("app", "s3"), 0);
  EXPECT_EQ(stotOf("app", "s2"), -1);  // removed
}

// ---- graceful shutdown ----

std::string echoConfig(uint16_t port, const Backend& be, const std::string& global = "") {
  return fmt::format(
      "global\n{}"
      "defaults\n    mode tcp\n    timeout connect 2s\n    timeout client 30s\n    timeout server "
      "30s\n"
      "listen app\n    bind 127.0.0.1:{}\n    server s {}\n",
      global, port, be.addrString());
}

TEST(Shutdown, SigtermStopsAcceptingAndWaitsForConnections) {
  Backend be(Backend::echo());
  ReservedPort port;
  FulcrumProcess f(echoConfig(port.port(), be), SockAddr::loopback4(port.port()));
  ASSERT_TRUE(f.ready()) << f.logs();
  int fd = connectTcp(SockAddr::loopback4(port.port()));
  ASSERT_GE(fd, 0);
  std::string line;
  ASSERT_TRUE(sendAll(fd, std::string("one\n")) && readLine(fd, line, 5s));
  f.proc().signal(SIGTERM);
  ASSERT_TRUE(f.proc().waitForErr("received SIGTERM, stopping", 5s)) << f.logs();
  // No new connections once the listeners have closed.
  const bool refused = eventually(
      [&] {
        int c = connectTcp(SockAddr::loopback4(port.port()), 1s);
        closeFd(c);
        return c < 0;
      },
      5s, 5ms);
  EXPECT_TRUE(refused) << "still accepting after SIGTERM";
  // The connection in flight keeps working, and the process waits for it.
  EXPECT_TRUE(sendAll(fd, std::string("two\n")) && readLine(fd, line, 5s) && line == "two");
  EXPECT_TRUE(f.proc().running());
  closeFd(fd);
  EXPECT_EQ(f.proc().wait(10s), 0) << f.logs();
  EXPECT_NE(f.logs().find("all connections ended"), std::string::npos) << f.logs();
}

TEST(Shutdown, HardStopAfterClosesWhatIsLeft) {
  Backend be(Backend::echo());
  ReservedPort port;
  FulcrumProcess f(echoConfig(port.port(), be, "    hard-stop-after 300ms\n"),
                   SockAddr::loopback4(port.port()));
  ASSERT_TRUE(f.ready()) << f.logs();
  int fd = connectTcp(SockAddr::loopback4(port.port()));
  ASSERT_GE(fd, 0);
  std::string line;
  ASSERT_TRUE(sendAll(fd, std::string("one\n")) && readLine(fd, line, 5s));
  const auto t0 = std::chrono::steady_clock::now();
  f.proc().signal(SIGTERM);
  std::string rest;
  EXPECT_TRUE(readToEof(fd, rest, 10s)) << "the connection was not closed at hard-stop-after";
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 250ms);
  closeFd(fd);
  EXPECT_EQ(f.proc().wait(10s), 0) << f.logs();
  EXPECT_NE(f.logs().find("closing 1 connection(s) still open"), std::string::npos) << f.logs();
}

TEST(Shutdown, SecondSigtermStopsAtOnce) {
  Backend be(Backend::echo());
  ReservedPort port;
  FulcrumProcess f(echoConfig(port.port(), be), SockAddr::loopback4(port.port()));
  ASSERT_TRUE(f.ready()) << f.logs();
  int fd = connectTcp(SockAddr::loopback4(port.port()));
  ASSERT_GE(fd, 0);
  std::string line;
  ASSERT_TRUE(sendAll(fd, std::string("one\n")) && readLine(fd, line, 5s));
  f.proc().signal(SIGTERM);
  ASSERT_TRUE(f.proc().waitForErr("received SIGTERM, stopping", 5s)) << f.logs();
  EXPECT_TRUE(f.proc().running());
  f.proc().signal(SIGTERM);
  EXPECT_EQ(f.proc().wait(10s), 0) << f.logs();
  std::string rest;
  EXPECT_TRUE(readToEof(fd, rest, 5s));
  closeFd(fd);
}

}  // namespace
}  // namespace fulcrum::test

namespace fulcrum::test {
namespace {

// A bind whose backlog, defer-accept or tfo changes keeps its sockets (and the clients in
// their accept queue); one whose address changes gets new ones.
TEST(Reload, ChangedSocketOptionsKeepTheListener) {
  Backend be(Backend::echo());
  ReservedPort port, other;
  TempDir sockDir;
  const std::string sock = sockDir.path() + "/api.sock";
  auto cfg = [&](const std::string& bindOpts, uint16_t p) {
    return fmt::format(
        "global\n    stats socket {}\n"
        "defaults\n    mode tcp\n    timeout connect 2s\n    timeout client 30s\n    timeout "
        "server 30s\n"
        "listen app\n    bind 127.0.0.1:{}{}\n    server s {}\n",
        sock, p, bindOpts, be.addrString());
  };
  FulcrumProcess f(cfg("", port.port()), SockAddr::loopback4(port.port()));
  ASSERT_TRUE(f.ready()) << f.logs();
  rewrite(f, cfg(" backlog 64 defer-accept tfo", port.port()));
  ASSERT_NE(apiRequest(sock, "reload").find("Success=1"), std::string::npos) << f.logs();
  EXPECT_EQ(countOf(f.logs(), "listening on"), 1u) << f.logs();
  int fd = connectTcp(SockAddr::loopback4(port.port()), 5s);
  ASSERT_GE(fd, 0);
  std::string line;
  EXPECT_TRUE(sendAll(fd, std::string("x\n")) && readLine(fd, line, 5s) && line == "x");
  closeFd(fd);
  // A new address: a new listener, and the old one closes.
  rewrite(f, cfg("", other.port()));
  ASSERT_NE(apiRequest(sock, "reload").find("Success=1"), std::string::npos) << f.logs();
  EXPECT_EQ(countOf(f.logs(), "listening on"), 2u) << f.logs();
  EXPECT_TRUE(waitForListening(SockAddr::loopback4(other.port()), 5s));
}

}  // namespace
}  // namespace fulcrum::test

namespace fulcrum::test {
namespace {

// Clients already in the accept queue of a listener that a reload replaces (its bind
// changes a socket option fixed at bind time, here "interface lo") are served, not reset:
// the worker accepts what is left before it closes the old socket.
TEST(Reload, QueuedClientsOfAReplacedListenerAreServed) {
  Backend be(Backend::echo());
  ReservedPort port;
  TempDir sockDir;
  const std::string sock = sockDir.path() + "/api.sock";
  auto cfg = [&](const std::string& bindOpts) {
    return fmt::format(
        "global\n    nbthread 1\n    stats socket {}\n"
        "defaults\n    mode tcp\n    timeout connect 2s\n    timeout client 30s\n"
        "    timeout server 30s\n"
        "listen app\n    bind 127.0.0.1:{} backlog 64{}\n    maxconn 1\n    server s {}\n",
        sock, port.port(), bindOpts, be.addrString());
  };
  FulcrumProcess f(cfg(""), SockAddr::loopback4(port.port()));
  ASSERT_TRUE(f.ready()) << f.logs();
  const SockAddr front = SockAddr::loopback4(port.port());
  ASSERT_TRUE(eventually([&] {
    return apiRequest(sock, "show stat").find("\napp,FRONTEND,,,0,") != std::string::npos;
  })) << "the readiness probe's connection is still counted";
  int holder = connectTcp(front);
  std::string line;
  ASSERT_TRUE(holder >= 0 && sendAll(holder, std::string("hold\n")) && readLine(holder, line));
  // Five more: connected by the kernel, waiting in the queue (maxconn 1).
  std::vector<int> waiting;
  for (int i = 0; i < 5; ++i) {
    int fd = connectTcp(front);
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(sendAll(fd, fmt::format("queued {}\n", i)));
    waiting.push_back(fd);
  }
  rewrite(f, cfg(" interface lo"));
  ASSERT_NE(apiRequest(sock, "reload").find("Success=1"), std::string::npos) << f.logs();
  EXPECT_EQ(countOf(f.logs(), "listening on"), 2u) << "the listener was not replaced\n" << f.logs();
  closeFd(holder);
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(readLine(waiting[static_cast<size_t>(i)], line, 10s)) << "client " << i << " lost";
    EXPECT_EQ(line, fmt::format("queued {}", i));
    closeFd(waiting[static_cast<size_t>(i)]);
  }
}

// A listener removed and added back, 20 times, while clients keep connecting to it in a
// tight loop: a client is served, or refused while the bind is gone. The workers accept
// what is in a dropped socket's queue before closing it, so the only clients that can be
// reset are those whose handshake the kernel completes in the instant of the close (no
// kernel can hand them over once the last socket of a port is gone): measured here, 0 or
// 1 per run (7 runs in 30 had one); without the drain, about 20 per run.
TEST(Reload, ListenerRemovedAndAddedBackUnderLoadResetsNobody) {
  Backend be(Backend::echo());
  Ports ports;
  TempDir sockDir;
  const std::string sock = sockDir.path() + "/api.sock";
  auto cfg = [&](bool withExtra) {
    std::string c = fmt::format(
        "global\n    nbthread 2\n    stats socket {}\n"
        "defaults\n    mode tcp\n    timeout connect 2s\n    timeout client 30s\n"
        "    timeout server 30s\n"
        "frontend main\n    bind 127.0.0.1:{}\n    default_backend app\n",
        sock, ports.main.port());
    if (withExtra)
      c += fmt::format("frontend extra\n    bind 127.0.0.1:{}\n    default_backend app\n",
                       ports.extra.port());
    return c + fmt::format("backend app\n    server s {}\n", be.addrString());
  };
  FulcrumProcess f(cfg(true), SockAddr::loopback4(ports.main.port()));
  ASSERT_TRUE(f.ready()) << f.logs();
  std::atomic<bool> stop{false};
  std::atomic<int> served{0}, refused{0}, reset{0};
  std::string firstReset;
  std::mutex mu;
  std::vector<std::thread> clients;
  Joiner joiner{stop, clients};
  for (int t = 0; t < 2; ++t) {
    clients.emplace_back([&, t] {
      for (int i = 0; !stop.load() && i < 20000; ++i) {
        int fd = connectTcp(SockAddr::loopback4(ports.extra.port()), 2s);
        if (fd < 0) {
          ++refused;
          std::this_thread::sleep_for(1ms);
          continue;
        }
        const std::string msg = fmt::format("{} {}\n", t, i);
        std::string line;
        if (sendAll(fd, msg) && readLine(fd, line, 5s) && line + "\n" == msg) {
          ++served;
        } else {
          ++reset;
          std::lock_guard<std::mutex> lock(mu);
          if (firstReset.empty()) firstReset = fmt::format("client {} #{}: '{}'", t, i, line);
        }
        closeFd(fd);
      }
    });
  }
  const std::string applied = "configuration applied (reload)";
  for (int r = 1; r <= 20; ++r) {
    rewrite(f, cfg(r % 2 == 0));
    ASSERT_NE(apiRequest(sock, "reload").find("Success=1"), std::string::npos) << f.logs();
    // Let clients hit this configuration: a few served, or a few refused.
    const int s0 = served.load(), r0 = refused.load();
    EXPECT_TRUE(
        eventually([&] { return served.load() >= s0 + 5 || refused.load() >= r0 + 5; }, 5s, 1ms));
  }
  stop = true;
  for (auto& t : clients) t.join();
  EXPECT_LE(reset.load(), 3) << firstReset;
  EXPECT_GT(served.load(), 0);
  EXPECT_GT(refused.load(), 0);  // the bind was really gone half of the time
}

}  // namespace
}  // namespace fulcrum::test
