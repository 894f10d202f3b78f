// sd_notify with the real binary: a unix datagram socket stands in for systemd's
// NOTIFY_SOCKET and reads what a Type=notify unit's manager would.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "fulcrum_fixture.h"
#include "support/harness.h"

namespace fulcrum::test {
namespace {

using namespace std::chrono_literals;

// A bound unix datagram socket; next() returns one message ("" on timeout).
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path) : path_(path) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    std::strncpy(sun.sun_path, path.c_str(), sizeof(sun.sun_path) - 1);
    bound_ = fd_ >= 0 && bind(fd_, reinterpret_cast<sockaddr*>(&sun), sizeof(sun)) == 0;
  }
  ~NotifySocket() {
    if (fd_ >= 0) close(fd_);
    unlink(path_.c_str());
  }
  bool bound() const { return bound_; }
  std::string next(std::chrono::milliseconds timeout = 10s) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return "";
    char buf[4096];
    ssize_t n = recv(fd_, buf, sizeof(buf), 0);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
  }

 private:
  std::string path_;
  int fd_ = -1;
  bool bound_ = false;
};

// The first line of a notification ("READY=1\nSTATUS=running": "READY=1").
std::string firstLine(const std::string& msg) { return msg.substr(0, msg.find('\n')); }

TEST(SystemdNotify, ReadyReloadingReadyStopping) {
  TempDir dir;
  NotifySocket sock(dir.path() + "/notify");
  ASSERT_TRUE(sock.bound()) << strerror(errno);
  Backend b(Backend::banner("s1"));
  ReservedPort port;
  const std::string config = fmt::format(
      "defaults\n    mode tcp\n    timeout connect 2s\n    timeout client 10s\n"
      "    timeout server 10s\n"
      "frontend main\n    bind 127.0.0.1:{}\n    default_backend app\n"
      "backend app\n    server s1 {}\n",
      port.port(), b.addrString());
  // The child inherits the environment at fork; this test runs in its own process.
  setenv("NOTIFY_SOCKET", (dir.path() + "/notify").c_str(), 1);
  FulcrumProcess f(config, SockAddr::loopback4(port.port()));
  unsetenv("NOTIFY_SOCKET");
  ASSERT_TRUE(f.ready()) << f.logs();
  EXPECT_EQ(firstLine(sock.next()), "READY=1") << f.logs();

  f.proc().signal(SIGHUP);
  EXPECT_EQ(firstLine(sock.next()), "RELOADING=1") << f.logs();
  EXPECT_EQ(firstLine(sock.next()), "READY=1") << f.logs();

  f.proc().signal(SIGTERM);
  EXPECT_EQ(firstLine(sock.next()), "STOPPING=1") << f.logs();
  EXPECT_EQ(f.proc().wait(10s), 0) << f.logs();
}

TEST(SystemdNotify, NothingSentWithoutNotifySocket) {
  // No NOTIFY_SOCKET: the process starts and stops as before (nothing to read).
  unsetenv("NOTIFY_SOCKET");
  Backend b(Backend::banner("s1"));
  ReservedPort port;
  FulcrumProcess f(fmt::format("defaults\n    mode tcp\n    timeout connect 2s\n"
                               "    timeout client 10s\n    timeout server 10s\n"
                               "listen main\n    bind 127.0.0.1:{}\n    server s1 {}\n",
                               port.port(), b.addrString()),
                   SockAddr::loopback4(port.port()));
  ASSERT_TRUE(f.ready()) << f.logs();
  f.proc().signal(SIGTERM);
  EXPECT_EQ(f.proc().wait(10s), 0) << f.logs();
}

}  // namespace
}  // namespace fulcrum::test
