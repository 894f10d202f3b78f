// Faults the proxy must survive without losing traffic (issue: reliability suite): a log
// destination that stops reading.
#include <fcntl.h>
#include <fmt/core.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "fulcrum_fixture.h"

namespace fulcrum::test {
namespace {

// A FIFO as the connection log, opened by a reader that reads nothing: the pipe fills after
// a few hundred lines. The workers must go on forwarding (the lines wait in the sink's
// bounded buffer, written by its own thread), the lines come out once someone reads, and
// the process still stops promptly with the pipe full.
TEST(Faults, AStalledLogReaderNeverStallsTheWorkers) {
  TempDir dir;
  const std::string fifo = dir.path() + "/log.fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  const int reader = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  ASSERT_GE(reader, 0);
  Backend echo(Backend::echo());
  ReservedPort front;
  FulcrumProcess f(fmt::format("global\n    nbthread 1\n"
                               "defaults\n    mode tcp\n    timeout connect 2s\n"
                               "    timeout client 5s\n    timeout server 5s\n"
                               "listen app\n    bind 127.0.0.1:{}\n    log file@{} local0\n"
                               "    option tcplog\n    server s {}\n",
                               front.port(), fifo, echo.addrString()),
                   SockAddr::loopback4(front.port()));
  ASSERT_TRUE(f.ready()) << f.logs();
  // 3000 connections, about 450 kB of log lines: seven times what the pipe holds.
  const auto deadline = Clock::now() + 60s;
  int ok = 0;
  for (int i = 0; i < 3000 && Clock::now() < deadline; ++i) {
    const int fd = connectTcp(SockAddr::loopback4(front.port()));
    std::string got;
    if (fd >= 0 && sendAll(fd, std::string("x")) && readExactly(fd, got, 1, 5s) && got == "x") ++ok;
    closeFd(fd);
  }
  EXPECT_EQ(ok, 3000) << f.logs();
  // Someone reads at last: the lines are there, whole tcplog lines.
  std::string lines;
  ASSERT_TRUE(eventually(
      [&] {
        char buf[65536];
        const ssize_t n = ::read(reader, buf, sizeof(buf));
        if (n > 0) lines.append(buf, static_cast<size_t>(n));
        return lines.size() > 100000;
      },
      10s));
  EXPECT_NE(lines.find("app app/s "), std::string::npos) << lines.substr(0, 300);
  // Stopping with the pipe full again does not hang: the sink gives up after a second.
  f.proc().signal(SIGTERM);
  EXPECT_GE(f.proc().wait(10s), 0) << f.logs();
  ::close(reader);
}

}  // namespace
}  // namespace fulcrum::test
