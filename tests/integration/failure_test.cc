// Failure behaviour: what happens when servers fail, descriptors run out, clients stall
// or read slowly. Each test asserts that the failure stays with the connection it
// belongs to and that the process neither crashes nor spins.
#include <fmt/core.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <numeric>
#include <sstream>
#include <thread>

#include "fulcrum_fixture.h"

namespace fulcrum::test {
namespace {

std::string config(uint16_t port, const std::string& servers, const std::string& extra = "") {
  return fmt::format(
      "global\n    nbthread 1\n{}"
      "defaults\n    timeout connect 2s\n    timeout client 30s\n    timeout server 30s\n"
      "listen app\n    bind 127.0.0.1:{}\n{}",
      extra, port, servers);
}

// utime + stime of a process, in seconds.
double cpuSeconds(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/stat", pid));
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = s.rfind(')');
  std::istringstream rest(s.substr(close + 2));
  std::string field;
  long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stol(field);
    if (i == 15) stime = std::stol(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// A /proc/PID/status field in kB (VmRSS, VmHWM).
long statusKb(pid_t pid, const std::string& key) {
  std::ifstream in(fmt::format("/proc/{}/status", pid));
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key + ":", 0) == 0) return std::stol(line.substr(key.size() + 1));
  return -1;
}

TEST(Failure, BackendResetMidStreamClosesTheClient) {
  Backend be([](int fd) {
    sendAll(fd, std::string(100000, 'x'));
    linger l{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));  // close() sends a reset
  });
  ReservedPort port;
  FulcrumProcess f(config(port.port(), fmt::format("    server s {}\n", be.addrString())),
                   SockAddr::loopback4(port.port()));
  ASSERT_TRUE(f.ready()) << f.logs();
  int fd = connectTcp(SockAddr::loopback4(port.port()));
  ASSERT_GE(fd, 0);
  auto start = Clock::now();
  std::string got;
  readToEof(fd, got, 10s);  // EOF or a reset: either way the read ends
  EXPECT_LT(Clock::now() - start, 5s) << "client left hanging after the server reset";
  EXPECT_LE(got.size(), 100000u);
  closeFd(fd);
  EXPECT_TRUE(f.proc().running());
}

TEST(Failure, FdExhaustionPausesAcceptingWithoutSpinningAndRecovers) {
  // Clients are held open by the backend; the proxy runs with 64 descriptors.
  std::atomic<bool> release{false};
  Backend be([&](int fd) {
    sendAll(fd, std::string("hi\n"));
    while (!release.load()) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 20) > 0) {
        char c[256];
        if (recv(fd, c, sizeof(c), 0) <= 0) return;
      }
    }
  });
  ReservedPort port;
  FulcrumProcess f(
      config(port.port(), fmt::format("    server s {}\n", be.addrString()), "    maxconn 1000\n"),
      SockAddr::loopback4(port.port()), {}, /*nofile=*/64);
  ASSERT_TRUE(f.ready()) << f.logs();
  std::vector<int> clients;
  for (int i = 0; i < 60; ++i) {
    int fd = connectTcp(SockAddr::loopback4(port.port()), 2s);
    if (fd >= 0) clients.push_back(fd);
  }
  ASSERT_TRUE(f.proc().waitForErr("pausing accepts", 10s)) << f.logs();
  // While out of descriptors, the process must idle, not spin.
  double before = cpuSeconds(f.proc().pid());
  auto t0 = Clock::now();
  std::this_thread::sleep_for(1s);  // measuring CPU over a fixed interval
  double used = cpuSeconds(f.proc().pid()) - before;
  auto wall = std::chrono::duration<double>(Clock::now() - t0).count();
  EXPECT_LT(used, 0.25 * wall) << "busy loop while out of file descriptors";
  // Free the descriptors: new clients are served again.
  release = true;
  for (int fd : clients) closeFd(fd);
  clients.clear();
  const bool served = eventually(
      [&] {
        int fd = connectTcp(SockAddr::loopback4(port.port()), 2s);
        std::string line;
        const bool ok = fd >= 0 && readLine(fd, line, 2s) && line == "hi";
        closeFd(fd);
        return ok;
      },
      10s);
  EXPECT_TRUE(served) << f.logs();
  EXPECT_TRUE(f.proc().running());
}

// 100 MB each way through a client that reads slowly: byte-exact, and the proxy's
// memory stays bounded because a full destination stops reads from its source.
TEST(Failure, SlowReaderGetsEveryByteAndProxyMemoryStaysBounded) {
  const size_t kSize = 100u << 20;
  std::atomic<bool> backendOk{false};
  uint64_t backendSum = 0;
  Backend be([&](int fd) {
    // Sends kSize pseudo-random bytes while reading (and checksumming) what comes.
    std::thread writer([fd, kSize] {
      std::string chunk = randomBytes(1 << 20, 9);
      for (size_t sent = 0; sent < kSize; sent += chunk.size())
        if (!sendAll(fd, chunk.data(), chunk.size(), 60s)) return;
      shutdown(fd, SHUT_WR);
    });
    char buf[65536];
    size_t total = 0;
    for (;;) {
      ssize_t n = recv(fd, buf, sizeof(buf), 0);
      if (n <= 0) break;
      backendSum = std::accumulate(buf, buf + n, backendSum, [](uint64_t a, char c) {
        return a + static_cast<unsigned char>(c);
      });
      total += static_cast<size_t>(n);
    }
    writer.join();
    backendOk = total == kSize;
  });
  ReservedPort port;
  FulcrumProcess f(config(port.port(), fmt::format("    server s {}\n", be.addrString())),
                   SockAddr::loopback4(port.port()));
  ASSERT_TRUE(f.ready()) << f.logs();
  // What the process holds before the transfer (a sanitizer build holds more): the bound
  // is on what the transfer adds.
  const long startKb = statusKb(f.proc().pid(), "VmRSS");
  ASSERT_GT(startKb, 0);
  int fd = connectTcp(SockAddr::loopback4(port.port()));
  ASSERT_GE(fd, 0);
  const std::string up = randomBytes(1 << 20, 5);
  uint64_t upSum = 0;
  for (unsigned char c : up) upSum += c;
  std::thread writer([&] {
    for (size_t sent = 0; sent < kSize; sent += up.size())
      if (!sendAll(fd, up.data(), up.size(), 60s)) return;
    shutdown(fd, SHUT_WR);
  });
  // The slow reader: 64 KiB at a time with a pause, about 100 MB/s at most.
  const std::string expectChunk = randomBytes(1 << 20, 9);
  size_t got = 0;
  bool same = true;
  char buf[65536];
  long peakKb = 0;
  size_t reads = 0;
  auto deadline = Clock::now() + 90s;
  while (Clock::now() < deadline) {
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    // Compare against the expected stream, which repeats a 1 MiB chunk.
    for (size_t i = 0; i < static_cast<size_t>(n) && same;) {
      size_t pos = (got + i) % expectChunk.size();
      size_t len = std::min(static_cast<size_t>(n) - i, expectChunk.size() - pos);
      same = std::memcmp(buf + i, expectChunk.data() + pos, len) == 0;
      i += len;
    }
    got += static_cast<size_t>(n);
    if (++reads % 64 == 0) {
      peakKb = std::max(peakKb, statusKb(f.proc().pid(), "VmRSS"));
      std::this_thread::sleep_for(2ms);  // reading slowly on purpose
    }
  }
  writer.join();
  closeFd(fd);
  be.stop();
  EXPECT_EQ(got, kSize);
  EXPECT_TRUE(same) << "server-to-client bytes differ";
  EXPECT_TRUE(backendOk.load());
  EXPECT_EQ(backendSum, upSum * (kSize / up.size())) << "client-to-server bytes differ";
  long hwm = statusKb(f.proc().pid(), "VmHWM");
  EXPECT_GT(hwm, 0);
  // 100 MiB each way went through; the relay may hold a few buffers and pipes (64 KiB
  // each) per direction, nothing near the transfer's size.
  EXPECT_LT(hwm - startKb, 24 * 1024)
      << "peak RSS " << hwm << " kB from " << startKb << " kB: buffering is not bounded";
  EXPECT_LT(peakKb - startKb, 24 * 1024);
}

TEST(Failure, AllServersInMaintenanceClosesClientsPromptlyAndCounts) {
  Backend be(Backend::banner("never"));
  ReservedPort port;
  FulcrumProcess f(config(port.port(), fmt::format("    server s {} disabled\n", be.addrString())),
                   SockAddr::loopback4(port.port()));
  ASSERT_TRUE(f.proc().running());
  // Waiting for the listener.
  const int fd = pollUntil([&] { return connectTcp(SockAddr::loopback4(port.port()), 1s); },
                           [](int c) { return c >= 0; }, 10s, 10ms);
  ASSERT_GE(fd, 0);
  auto start = Clock::now();
  std::string got;
  EXPECT_TRUE(readToEof(fd, got, 5s));
  EXPECT_LT(Clock::now() - start, 2s);
  EXPECT_EQ(got, "");
  closeFd(fd);
  EXPECT_EQ(be.accepted(), 0);
}

}  // namespace
}  // namespace fulcrum::test
