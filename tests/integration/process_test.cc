// The global section's process keywords with the real binary: dropping privileges (user,
// group) with only CAP_NET_BIND_SERVICE kept, in every thread; daemon and pidfile;
// ulimit-n; the process-wide maxconnrate.
#include <fmt/format.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "fulcrum_fixture.h"
#include "support/harness.h"

namespace fulcrum::test {
namespace {

using namespace std::chrono_literals;

// "Name:\tvalue" of a /proc status file, the value as written.
std::string statusField(const std::string& status, const std::string& name) {
  size_t at = status.find("\n" + name + ":");
  if (at == std::string::npos) return "";
  at += name.size() + 2;
  size_t end = status.find('\n', at);
  std::string v = status.substr(at, end - at);
  while (!v.empty() && (v.front() == '\t' || v.front() == ' ')) v.erase(0, 1);
  while (!v.empty() && (v.back() == '\t' || v.back() == ' ')) v.pop_back();
  return v;
}

std::vector<std::string> taskStatuses(pid_t pid) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(fmt::format("/proc/{}/task", pid), ec))
    out.push_back("\n" + readFile(e.path().string() + "/status"));
  return out;
}

// A free port below 1024 on 127.0.0.1 (bound and released: this test runs as root).
uint16_t freeLowPort() {
  for (int p = 1023; p >= 600; --p) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(static_cast<uint16_t>(p));
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = bind(fd, reinterpret_cast<sockaddr*>(&sin), sizeof(sin)) == 0;
    ::close(fd);
    if (ok) return static_cast<uint16_t>(p);
  }
  return 0;
}

std::string proxyConfig(const std::string& global, uint16_t port, const Backend& b,
                        const std::string& extra = "") {
  return fmt::format(
      "global\n{}"
      "defaults\n    mode tcp\n    timeout connect 2s\n    timeout client 10s\n"
      "    timeout server 10s\n"
      "frontend main\n    bind 127.0.0.1:{}\n    default_backend app\n"
      "{}"
      "backend app\n    server s1 {}\n",
      global, port, extra, b.addrString());
}

TEST(ProcessKeywords, DropsPrivilegesInEveryThreadKeepingBindService) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  const passwd* pw = getpwnam("nobody");
  const group* gr = getgrnam("nogroup");
  if (pw == nullptr || gr == nullptr) GTEST_SKIP() << "no user nobody or group nogroup";
  const std::string uid = std::to_string(pw->pw_uid), gid = std::to_string(gr->gr_gid);
  Backend b(Backend::banner("s1"));
  ReservedPort port;
  TempDir sockDir;
  chmod(sockDir.path().c_str(), 0755);
  const std::string global = fmt::format(
      "    nbthread 2\n    user nobody\n    group nogroup\n    stats socket {}/api.sock level "
      "admin\n",
      sockDir.path());
  FulcrumProcess f(proxyConfig(global, port.port(), b), SockAddr::loopback4(port.port()));
  ASSERT_TRUE(f.ready()) << f.logs();
  // The reload below reads the config file as nobody.
  chmod(f.dir().c_str(), 0755);
  chmod(f.configPath().c_str(), 0644);

  const auto tasks = taskStatuses(f.proc().pid());
  ASSERT_GE(tasks.size(), 3u) << "main thread and two workers";
  for (const std::string& st : tasks) {
    const std::string name = statusField(st, "Name");
    EXPECT_EQ(statusField(st, "Uid"), fmt::format("{0}\t{0}\t{0}\t{0}", uid)) << name;
    EXPECT_EQ(statusField(st, "Gid"), fmt::format("{0}\t{0}\t{0}\t{0}", gid)) << name;
    EXPECT_EQ(statusField(st, "Groups"), gid) << name;
    // CAP_NET_BIND_SERVICE is bit 10, and nothing else.
    EXPECT_EQ(statusField(st, "CapEff"), "0000000000000400") << name;
    EXPECT_EQ(statusField(st, "CapPrm"), "0000000000000400") << name;
    EXPECT_EQ(statusField(st, "CapBnd"), "0000000000000400") << name;
    EXPECT_EQ(statusField(st, "CapInh"), "0000000000000000") << name;
  }
  EXPECT_EQ(firstLine(port.port()), "s1");
  EXPECT_NE(apiRequest(sockDir.path() + "/api.sock", "show info").find("Pid: "), std::string::npos);

  // A reload binds a port below 1024: CAP_NET_BIND_SERVICE at work.
  const uint16_t low = freeLowPort();
  ASSERT_NE(low, 0) << "no free port below 1024";
  ASSERT_TRUE(f.rewriteConfig(proxyConfig(
      global, port.port(), b,
      fmt::format("frontend low\n    bind 127.0.0.1:{}\n    default_backend app\n", low))));
  f.proc().signal(SIGHUP);
  ASSERT_TRUE(f.proc().waitForErr("configuration applied (reload)", 10s)) << f.logs();
  EXPECT_TRUE(waitForListening(SockAddr::loopback4(low), 5s)) << f.logs();
  EXPECT_EQ(firstLine(low), "s1") << f.logs();
  EXPECT_EQ(firstLine(port.port()), "s1");
}

TEST(ProcessKeywords, ChrootAndAReloadStillReadsTheConfiguration) {
  if (geteuid() != 0) GTEST_SKIP() << "chroot needs root";
  Backend b(Backend::banner("s1"));
  ReservedPort port, port2;
  TempDir jail;
  const std::string global = fmt::format("    nbthread 1\n    chroot {}\n", jail.path());
  FulcrumProcess f(proxyConfig(global, port.port(), b), SockAddr::loopback4(port.port()));
  ASSERT_TRUE(f.ready()) << f.logs();
  std::error_code ec;
  EXPECT_EQ(
      std::filesystem::read_symlink(fmt::format("/proc/{}/root", f.proc().pid()), ec).string(),
      jail.path());
  EXPECT_EQ(firstLine(port.port()), "s1");
  // The config file is outside the chroot: the reload reads it through the directory
  // opened before.
  ASSERT_TRUE(f.rewriteConfig(
      proxyConfig(global, port.port(), b,
                  fmt::format("frontend second\n    bind 127.0.0.1:{}\n    default_backend app\n",
                              port2.port()))));
  f.proc().signal(SIGHUP);
  ASSERT_TRUE(f.proc().waitForErr("configuration applied (reload)", 10s)) << f.logs();
  EXPECT_TRUE(waitForListening(SockAddr::loopback4(port2.port()), 5s)) << f.logs();
  EXPECT_EQ(firstLine(port2.port()), "s1");
}

TEST(ProcessKeywords, DaemonDetachesAndWritesThePidfile) {
  Backend b(Backend::banner("s1"));
  ReservedPort port;
  TempDir dir;
  const std::string pidfile = dir.path() + "/fulcrum.pid";
  const std::string cfg =
      dir.write("fulcrum.cfg",
                proxyConfig(fmt::format("    daemon\n    pidfile {}\n    nbthread 1\n", pidfile),
                            port.port(), b));
  // The command returns once the detached process has started.
  RunResult r = run({fulcrumBin(), "-f", cfg}, 20s);
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string text = readFile(pidfile);
  ASSERT_FALSE(text.empty());
  const pid_t pid = static_cast<pid_t>(std::stol(text));
  ASSERT_GT(pid, 1);
  EXPECT_EQ(text, fmt::format("{}\n", pid));
  EXPECT_EQ(kill(pid, 0), 0) << "the detached process runs";
  EXPECT_NE(getsid(pid), getsid(0)) << "in a session of its own (setsid, then a second fork)";
  EXPECT_NE(getsid(pid), pid) << "not a session leader: it cannot take a controlling terminal";
  EXPECT_EQ(firstLine(port.port()), "s1");
  kill(pid, SIGINT);
  EXPECT_TRUE(eventually([&] { return !std::filesystem::exists(pidfile); }, 10s))
      << "the pid file is removed at exit";
  EXPECT_TRUE(eventually([&] { return kill(pid, 0) != 0; }, 10s));
}

TEST(ProcessKeywords, DaemonThatFailsToStartSaysSoAndExits1) {
  Backend b(Backend::banner("s1"));
  ReservedPort port;
  TempDir dir;
  const std::string cfg = dir.write(
      "fulcrum.cfg",
      proxyConfig(fmt::format("    daemon\n    stats socket {}/missing/api.sock\n", dir.path()),
                  port.port(), b));
  RunResult r = run({fulcrumBin(), "-f", cfg}, 20s);
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.err.find("api.sock"), std::string::npos) << "the error reaches stderr: " << r.err;
}

TEST(ProcessKeywords, UlimitNSetsTheOpenFileLimit) {
  Backend b(Backend::banner("s1"));
  ReservedPort port;
  FulcrumProcess f(proxyConfig("    ulimit-n 3000\n", port.port(), b),
                   SockAddr::loopback4(port.port()));
  ASSERT_TRUE(f.ready()) << f.logs();
  const std::string limits = readFile(fmt::format("/proc/{}/limits", f.proc().pid()));
  size_t at = limits.find("Max open files");
  ASSERT_NE(at, std::string::npos);
  std::string line = limits.substr(at, limits.find('\n', at) - at);
  EXPECT_NE(line.find(" 3000 "), std::string::npos) << line;
  // The derived maxconn follows: (3000 - 64) / 2.
  EXPECT_NE(f.logs().find("maxconn 1468"), std::string::npos) << f.logs();
}

TEST(ProcessKeywords, MaxconnrateLimitsAcceptsProcessWide) {
  Backend b(Backend::banner("s1"));
  ReservedPort port, port2;
  FulcrumProcess f(
      proxyConfig("    maxconnrate 3\n    nbthread 2\n", port.port(), b,
                  fmt::format("frontend second\n    bind 127.0.0.1:{}\n    default_backend app\n",
                              port2.port())),
      SockAddr::loopback4(port.port()));
  ASSERT_TRUE(f.ready()) << f.logs();
  // 12 clients at once, over both frontends; what they got after 600 ms is looked at
  // (the rate's window is one second: at most two windows in that time).
  std::vector<int> fds;
  for (int i = 0; i < 12; ++i)
    fds.push_back(connectTcp(SockAddr::loopback4(i % 2 ? port2.port() : port.port())));
  std::this_thread::sleep_for(600ms);  // the measured interval itself, not a wait for a state
  int served = 0;
  for (int fd : fds) {
    std::string line;
    if (fd >= 0 && readLine(fd, line, 1ms) && line == "s1") ++served;
  }
  for (int fd : fds) closeFd(fd);
  EXPECT_GE(served, 1);
  // At most 3 a second, over at most two windows (12 without the limit).
  EXPECT_LE(served, 6) << "maxconnrate 3 let " << served << " of 12 through";
}

// The fields of a server's line of a state file ("show servers state", version 1).
std::vector<std::string> stateFields(const std::string& file, const std::string& server) {
  size_t at = 0;
  while (at < file.size()) {
    size_t end = file.find('\n', at);
    if (end == std::string::npos) end = file.size();
    std::vector<std::string> words;
    std::string line = file.substr(at, end - at), w;
    for (char c : line + " ") {
      if (c == ' ') {
        if (!w.empty()) words.push_back(w);
        w.clear();
      } else {
        w += c;
      }
    }
    if (words.size() > 7 && words[0] != "#" && words[3] == server) return words;
    at = end + 1;
  }
  return {};
}

TEST(ProcessKeywords, ServerStateFileWrittenAtReloadAndGracefulStop) {
  Backend b1(Backend::banner("s1")), b2(Backend::banner("s2"));
  ReservedPort port;
  TempDir dir;
  const std::string api = dir.path() + "/api.sock";
  const std::string global = fmt::format(
      "    stats socket {} level admin\n    server-state-base {}\n"
      "    server-state-file fulcrum.state\n",
      api, dir.path());
  FulcrumProcess f(
      fmt::format("global\n{}"
                  "defaults\n    mode tcp\n    timeout connect 2s\n    timeout client 10s\n"
                  "    timeout server 10s\n"
                  "frontend main\n    bind 127.0.0.1:{}\n    default_backend app\n"
                  "backend app\n    server s1 {}\n    server s2 {}\n",
                  global, port.port(), b1.addrString(), b2.addrString()),
      SockAddr::loopback4(port.port()));
  ASSERT_TRUE(f.ready()) << f.logs();
  const std::string state = dir.path() + "/fulcrum.state";
  EXPECT_EQ(apiRequest(api, "set weight app/s1 7"), "\n");
  EXPECT_EQ(apiRequest(api, "disable server app/s2"), "\n");
  // A reload writes it.
  f.proc().signal(SIGHUP);
  ASSERT_TRUE(f.proc().waitForErr("server state written", 10s)) << f.logs();
  std::string text = readFile(state);
  EXPECT_EQ(text.rfind("1\n# be_id be_name srv_id srv_name", 0), 0u) << text;
  auto s1 = stateFields(text, "s1");
  ASSERT_GT(s1.size(), 7u) << text;
  EXPECT_EQ(s1[7], "7") << text;  // srv_uweight
  // A graceful stop writes it too: with a changed weight.
  EXPECT_EQ(apiRequest(api, "set weight app/s1 9"), "\n");
  f.proc().signal(SIGTERM);
  EXPECT_EQ(f.proc().wait(10s), 0) << f.logs();
  text = readFile(state);
  s1 = stateFields(text, "s1");
  auto s2 = stateFields(text, "s2");
  ASSERT_GT(s1.size(), 7u) << text;
  ASSERT_GT(s2.size(), 7u) << text;
  EXPECT_EQ(s1[7], "9") << text;
  EXPECT_EQ(s2[6], "1") << "srv_admin_state: forced maintenance\n" << text;
}

// A syslog server: a UDP socket on 127.0.0.1, port 0.
class UdpSyslog {
 public:
  UdpSyslog() {
    fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    SockAddr a = SockAddr::loopback4(0);
    if (bind(fd_, a.sa(), a.len()) != 0) throw std::runtime_error("udp bind failed");
    sockaddr_in sin{};
    socklen_t len = sizeof(sin);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&sin), &len);
    port_ = ntohs(sin.sin_port);
  }
  ~UdpSyslog() { ::close(fd_); }
  uint16_t port() const { return port_; }
  // One datagram, or "" after the timeout.
  std::string receive(std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(timeout.count())) != 1) return "";
    char buf[4096];
    ssize_t n = recv(fd_, buf, sizeof(buf), 0);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
  }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

TEST(ProcessKeywords, LogLevelsAndLogTagAreApplied) {
  Backend b(Backend::banner("s1"));
  ReservedPort port;
  UdpSyslog notice, debug;
  const std::string global = fmt::format(
      "    log-tag edge-lb\n    log 127.0.0.1:{} local0 notice\n"
      "    log 127.0.0.1:{} local0 info debug\n",
      notice.port(), debug.port());
  FulcrumProcess f(fmt::format("global\n{}"
                               "defaults\n    mode tcp\n    log global\n    timeout connect 2s\n"
                               "    timeout client 10s\n    timeout server 10s\n"
                               "frontend main\n    bind 127.0.0.1:{}\n    default_backend app\n"
                               "backend app\n    server s1 {}\n",
                               global, port.port(), b.addrString()),
                   SockAddr::loopback4(port.port()));
  ASSERT_TRUE(f.ready()) << f.logs();
  EXPECT_EQ(firstLine(port.port()), "s1");
  // The connection log (severity info): to the "info debug" target, with the severity
  // raised to debug (local0 = 16: <16*8+7>) and the tag; not to the "notice" one.
  std::string line = debug.receive(5s);
  ASSERT_FALSE(line.empty()) << f.logs();
  EXPECT_EQ(line.rfind("<135>", 0), 0u) << line;
  EXPECT_NE(line.find(fmt::format(" edge-lb[{}]: ", f.proc().pid())), std::string::npos) << line;
  EXPECT_EQ(notice.receive(300ms), "") << "a 'notice' target gets no connection logs";
}

}  // namespace
}  // namespace fulcrum::test

namespace fulcrum::test {
namespace {

// The line of `server` in a "show stat" CSV.
std::string statLine(const std::string& csv, const std::string& backend,
                     const std::string& server) {
  const std::string key = "\n" + backend + "," + server + ",";
  size_t at = ("\n" + csv).find(key);
  if (at == std::string::npos) return "";
  size_t end = csv.find('\n', at);
  return csv.substr(at, end == std::string::npos ? std::string::npos : end - at);
}

// "load-server-state-from-file global": a graceful stop writes the states and weights set
// through the runtime API; the next start on the same config takes them back.
TEST(ServerStateFile, StatesAndWeightsComeBackAfterARestart) {
  Backend b1(Backend::banner("s1")), b2(Backend::banner("s2")), b3(Backend::banner("s3"));
  ReservedPort port;
  TempDir dir;
  const std::string api = dir.path() + "/api.sock";
  const std::string cfg = fmt::format(
      "global\n    stats socket {} level admin\n    server-state-base {}\n"
      "    server-state-file fulcrum.state\n"
      "defaults\n    mode tcp\n    timeout connect 2s\n    timeout client 10s\n"
      "    timeout server 10s\n    load-server-state-from-file global\n"
      "frontend main\n    bind 127.0.0.1:{}\n    default_backend app\n"
      "backend app\n    server s1 {} weight 10\n    server s2 {} weight 10\n"
      "    server s3 {} weight 10\n",
      api, dir.path(), port.port(), b1.addrString(), b2.addrString(), b3.addrString());
  {
    FulcrumProcess f(cfg, SockAddr::loopback4(port.port()));
    ASSERT_TRUE(f.ready()) << f.logs();
    EXPECT_NE(f.logs().find("not found; nothing loaded"), std::string::npos) << f.logs();
    EXPECT_EQ(apiRequest(api, "set server app/s1 state maint"), "\n");
    EXPECT_EQ(apiRequest(api, "set server app/s2 state drain"), "\n");
    EXPECT_EQ(apiRequest(api, "set weight app/s3 4"), "\n");
    f.proc().signal(SIGTERM);
    EXPECT_EQ(f.proc().wait(10s), 0) << f.logs();
  }
  FulcrumProcess f(cfg, SockAddr::loopback4(port.port()));
  ASSERT_TRUE(f.ready()) << f.logs();
  const std::string state = apiRequest(api, "show servers state app");
  auto s1 = stateFields(state, "s1"), s2 = stateFields(state, "s2"), s3 = stateFields(state, "s3");
  ASSERT_GT(s3.size(), 7u) << state;
  EXPECT_EQ(s1[6], "1") << state;
  EXPECT_EQ(s2[6], "8") << state;
  EXPECT_EQ(s3[7], "4") << state;
  const std::string stat = apiRequest(api, "show stat");
  EXPECT_NE(statLine(stat, "app", "s1").find(",MAINT,"), std::string::npos) << stat;
  EXPECT_NE(statLine(stat, "app", "s2").find(",DRAIN,"), std::string::npos) << stat;
  EXPECT_EQ(apiRequest(api, "get weight app/s3"), "4 (initial 10)\n\n");
  // Only s3 takes new connections.
  for (int i = 0; i < 4; ++i) {
    int fd = connectTcp(SockAddr::loopback4(port.port()));
    ASSERT_GE(fd, 0);
    std::string line;
    EXPECT_TRUE(readLine(fd, line, 5s));
    EXPECT_EQ(line, "s3");
    closeFd(fd);
  }
}

// A malformed line is a warning naming the file and line; the rest loads; unknown
// servers are one notice.
TEST(ServerStateFile, MalformedLinesAndUnknownServers) {
  Backend b1(Backend::banner("s1"));
  ReservedPort port;
  TempDir dir;
  const std::string api = dir.path() + "/api.sock";
  const std::string state =
      dir.write("st",
                "1\n# header\n"
                "1 app 1 s1 127.0.0.1 2 1 1 1 0 1 0 2 0 0 0 0 - 80 - 0 0 - - 0\n"
                "1 app 2 s1 127.0.0.1 2 garbage\n"
                "1 app 3 nope 127.0.0.1 2 0 1 1 0 1 0 2 0 0 0 0 - 80 - 0 0 - - 0\n");
  FulcrumProcess f(
      fmt::format("global\n    stats socket {} level admin\n    server-state-file {}\n"
                  "defaults\n    mode tcp\n    timeout connect 2s\n    timeout client 10s\n"
                  "    timeout server 10s\n"
                  "listen app\n    bind 127.0.0.1:{}\n    load-server-state-from-file global\n"
                  "    server s1 {}\n",
                  api, state, port.port(), b1.addrString()),
      SockAddr::loopback4(port.port()));
  ASSERT_TRUE(f.ready()) << f.logs();
  EXPECT_NE(f.logs().find(state + ":4:"), std::string::npos) << f.logs();
  EXPECT_NE(f.logs().find("server 'app/nope'"), std::string::npos) << f.logs();
  EXPECT_EQ(stateFields(apiRequest(api, "show servers state"), "s1")[6], "1");
}

// The address and port of the file replace the configuration's (as "set server addr"); a
// checked server the file says was DOWN starts DOWN.
TEST(ServerStateFile, AddressAndDownStateAreLoaded) {
  Backend b1(Backend::banner("s1")), b2(Backend::banner("s2"));
  ReservedPort port;
  TempDir dir;
  const std::string api = dir.path() + "/api.sock";
  const std::string state =
      dir.write("st", fmt::format("1\n"
                                  "1 app 1 s1 127.0.0.1 2 0 1 1 0 1 0 2 0 0 0 0 - {} - 0 0 - - 0\n"
                                  "1 app 2 c 127.0.0.1 0 0 1 1 0 1 0 0 6 0 0 0 - {} - 0 0 - - 0\n",
                                  b2.port(), b1.port()));
  FulcrumProcess f(
      fmt::format("global\n    stats socket {} level admin\n    server-state-file {}\n"
                  "defaults\n    mode tcp\n    timeout connect 2s\n    timeout client 10s\n"
                  "    timeout server 10s\n"
                  "listen app\n    bind 127.0.0.1:{}\n    load-server-state-from-file global\n"
                  "    server s1 {}\n    server c {} check inter 30s\n",
                  api, state, port.port(), b1.addrString(), b1.addrString()),
      SockAddr::loopback4(port.port()));
  ASSERT_TRUE(f.ready()) << f.logs();
  const std::string stat = apiRequest(api, "show stat");
  // "DOWN" or "DOWN 1/2" (its first check may have passed: rise 2 are needed).
  EXPECT_NE(statLine(stat, "app", "c").find(",DOWN"), std::string::npos) << stat;
  // s1 now goes to b2's port: the only server UP answers "s2".
  int fd = connectTcp(SockAddr::loopback4(port.port()));
  ASSERT_GE(fd, 0);
  std::string line;
  EXPECT_TRUE(readLine(fd, line, 5s));
  EXPECT_EQ(line, "s2") << f.logs();
  closeFd(fd);
}

}  // namespace
}  // namespace fulcrum::test
