// Bind parameters reach the listening sockets: each test takes a copy of fulcrum's
// listening socket with pidfd_getfd(2) and reads the option back from the kernel, or
// shows its effect on real connections.
#include <fmt/core.h>
#include <gtest/gtest.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <regex>

#include "common/fd.h"
#include "fulcrum_fixture.h"

namespace fulcrum::test {
namespace {

// Copies of the process's listening sockets bound to `port` (one per worker).
std::vector<int> listenersOf(pid_t pid, uint16_t port) {
  std::vector<int> out;
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) return out;
  for (const auto& e : std::filesystem::directory_iterator(fmt::format("/proc/{}/fd", pid))) {
    int target = std::stoi(e.path().filename().string());
    int fd = static_cast<int>(syscall(SYS_pidfd_getfd, pidfd, target, 0));
    if (fd < 0) continue;
    int listening = 0;
    socklen_t len = sizeof(listening);
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 && listening &&
        localAddressOf(fd).port() == port) {
      out.push_back(fd);
    } else {
      ::close(fd);
    }
  }
  ::close(pidfd);
  return out;
}

int intOpt(int fd, int level, int opt) {
  int v = -1;
  socklen_t len = sizeof(v);
  getsockopt(fd, level, opt, &v, &len);
  return v;
}

std::string config(const std::string& bind, int threads = 2) {
  return fmt::format(
      "global\n  nbthread {}\n"
      "defaults\n  timeout connect 2s\n  timeout client 10s\n  timeout server 10s\n"
      "frontend f\n  bind {}\n  default_backend b\n"
      "backend b\n  server s 127.0.0.1:9\n",
      threads, bind);
}

TEST(BindOptions, OneReusePortListenerPerWorkerWithNoDelay) {
  ReservedPort port;
  FulcrumProcess f(config(fmt::format("127.0.0.1:{}", port.port())),
                   SockAddr::loopback4(port.port()));
  ASSERT_TRUE(f.ready()) << f.logs();
  auto fds = listenersOf(f.proc().pid(), port.port());
  ASSERT_EQ(fds.size(), 2u) << "one listening socket per worker thread";
  for (int fd : fds) {
    EXPECT_EQ(intOpt(fd, SOL_SOCKET, SO_REUSEPORT), 1);
    EXPECT_EQ(intOpt(fd, IPPROTO_TCP, TCP_NODELAY), 1);
    ::close(fd);
  }
}

TEST(BindOptions, BacklogDeferAcceptAndTfoReachTheSocket) {
  ReservedPort port;
  FulcrumProcess f(config(fmt::format("127.0.0.1:{} backlog 77 defer-accept tfo", port.port()), 1),
                   SockAddr::loopback4(port.port()));
  ASSERT_TRUE(f.proc().waitForErr("listening on", 10s)) << f.logs();
  auto fds = listenersOf(f.proc().pid(), port.port());
  ASSERT_EQ(fds.size(), 1u);
  tcp_info ti{};
  socklen_t len = sizeof(ti);
  ASSERT_EQ(getsockopt(fds[0], IPPROTO_TCP, TCP_INFO, &ti, &len), 0);
  EXPECT_EQ(ti.tcpi_sacked, 77u) << "a listener's tcpi_sacked is its backlog";
  EXPECT_GT(intOpt(fds[0], IPPROTO_TCP, TCP_DEFER_ACCEPT), 0);
  EXPECT_GT(intOpt(fds[0], IPPROTO_TCP, TCP_FASTOPEN), 0);
  ::close(fds[0]);
}

TEST(BindOptions, DefaultBacklogIsTheFrontendMaxconn) {
  ReservedPort port;
  std::string cfg = config(fmt::format("127.0.0.1:{}", port.port()), 1);
  cfg = std::regex_replace(cfg, std::regex("default_backend b"), "default_backend b\n  maxconn 33");
  FulcrumProcess f(cfg, SockAddr::loopback4(port.port()));
  ASSERT_TRUE(f.proc().waitForErr("listening on", 10s)) << f.logs();
  auto fds = listenersOf(f.proc().pid(), port.port());
  ASSERT_EQ(fds.size(), 1u);
  tcp_info ti{};
  socklen_t len = sizeof(ti);
  ASSERT_EQ(getsockopt(fds[0], IPPROTO_TCP, TCP_INFO, &ti, &len), 0);
  EXPECT_EQ(ti.tcpi_sacked, 33u);
  ::close(fds[0]);
}

TEST(BindOptions, V6onlyRefusesIpv4AndV4v6AcceptsIt) {
  {
    // The same port number on IPv4 is held by a plain bound socket of ours (no
    // SO_REUSEPORT, not listening), so that no other test can listen there: an IPv4
    // client that connects could only have reached Fulcrum.
    std::unique_ptr<ReservedPort> reserved;
    UniqueFd v4hold;
    for (int attempt = 0; attempt < 20 && !v4hold.valid(); ++attempt) {
      reserved = std::make_unique<ReservedPort>(/*v6=*/true);
      UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
      const SockAddr four = SockAddr::loopback4(reserved->port());
      if (::bind(fd.get(), four.sa(), four.len()) == 0) v4hold = std::move(fd);
    }
    ASSERT_TRUE(v4hold.valid()) << "no port free on both IPv4 and IPv6";
    const ReservedPort& port = *reserved;
    SockAddr six = *SockAddr::parse(fmt::format("[::1]:{}", port.port()));
    FulcrumProcess f(config(fmt::format(":::{} v6only", port.port()), 1), six);
    ASSERT_TRUE(f.ready()) << f.logs();
    auto fds = listenersOf(f.proc().pid(), port.port());
    ASSERT_EQ(fds.size(), 1u);
    EXPECT_EQ(intOpt(fds[0], IPPROTO_IPV6, IPV6_V6ONLY), 1);
    ::close(fds[0]);
    EXPECT_LT(connectTcp(SockAddr::loopback4(port.port()), 1s), 0)
        << "an IPv4 client reached a v6only listener";
  }
  {
    ReservedPort port(/*v6=*/true);
    SockAddr six = *SockAddr::parse(fmt::format("[::1]:{}", port.port()));
    FulcrumProcess f(config(fmt::format(":::{} v4v6", port.port()), 1), six);
    ASSERT_TRUE(f.ready()) << f.logs();
    auto fds = listenersOf(f.proc().pid(), port.port());
    ASSERT_EQ(fds.size(), 1u);
    EXPECT_EQ(intOpt(fds[0], IPPROTO_IPV6, IPV6_V6ONLY), 0);
    ::close(fds[0]);
    int fd = connectTcp(SockAddr::loopback4(port.port()), 2s);
    EXPECT_GE(fd, 0) << "an IPv4 client could not reach a v4v6 listener";
    closeFd(fd);
  }
}

TEST(BindOptions, InterfaceBindsTheListenerToTheDevice) {
  ReservedPort port;
  FulcrumProcess f(config(fmt::format("127.0.0.1:{} interface lo", port.port()), 1),
                   SockAddr::loopback4(port.port()));
  ASSERT_TRUE(f.ready()) << f.logs();
  auto fds = listenersOf(f.proc().pid(), port.port());
  ASSERT_EQ(fds.size(), 1u);
  char dev[IFNAMSIZ] = {};
  socklen_t len = sizeof(dev);
  ASSERT_EQ(getsockopt(fds[0], SOL_SOCKET, SO_BINDTODEVICE, dev, &len), 0);
  EXPECT_STREQ(dev, "lo");
  ::close(fds[0]);
}

TEST(BindOptions, UnknownInterfaceFailsStartupWithAClearError) {
  ReservedPort port;
  TempDir dir;
  std::string path =
      dir.write("f.cfg", config(fmt::format("127.0.0.1:{} interface nosuchdev0", port.port()), 1));
  RunResult r = run({fulcrumBin(), "-f", path}, 10s);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("interface 'nosuchdev0'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("f.cfg:"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace fulcrum::test
