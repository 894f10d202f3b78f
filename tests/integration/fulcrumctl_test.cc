// fulcrumctl end to end. Two groups:
//  - FulcrumctlFake*: fulcrumctl against a tiny fake runtime API (a UNIX socket in a
//    thread answering canned HAProxy-format text). They pin the parsing (columns by name,
//    quoted CSV cells), the exact lines sent, the rendering and the exit codes.
//  - FulcrumctlLive*: fulcrumctl against the real fulcrum with a "stats socket": live
//    figures, state changes seen in the traffic, exit codes, watch, ipvsadm verbs.
#include <fcntl.h>
#include <fmt/core.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "fulcrum_fixture.h"

namespace fulcrum::test {
namespace {

const char* ctlBin() { return FULCRUMCTL_BIN; }

RunResult ctl(const std::string& sock, std::vector<std::string> args,
              std::chrono::milliseconds timeout = 20s) {
  std::vector<std::string> argv = {ctlBin(), "--socket", sock};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, timeout);
}

std::string describe(const RunResult& r) {
  return fmt::format("exit {}\n--- stdout\n{}--- stderr\n{}", r.code, r.out, r.err);
}

// ---------------------------------------------------------------------------------
// A fake runtime API: answers each connection's first line with reply(line), then closes
// (as HAProxy does outside prompt mode). With reply == nullptr it never answers.
class FakeApi {
 public:
  using Reply = std::function<std::string(const std::string&)>;
  FakeApi(std::string path, Reply reply) : path_(std::move(path)), reply_(std::move(reply)) {
    fd_ = bindUnix(path_);
    if (fd_ < 0 || listen(fd_, 16) != 0) throw std::runtime_error("fake api: bind/listen failed");
    if (pipe2(stop_, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    thread_ = std::thread([this] { loop(); });
  }
  ~FakeApi() {
    [[maybe_unused]] ssize_t n = ::write(stop_[1], "x", 1);
    thread_.join();
    ::close(fd_);
    ::close(stop_[0]);
    ::close(stop_[1]);
    ::unlink(path_.c_str());
  }
  std::vector<std::string> lines() {
    std::lock_guard<std::mutex> g(mu_);
    return lines_;
  }
  const std::string& path() const { return path_; }

 private:
  void loop() {
    std::vector<int> held;
    for (;;) {
      pollfd p[2] = {{fd_, POLLIN, 0}, {stop_[0], POLLIN, 0}};
      if (poll(p, 2, -1) < 0) continue;
      if (p[1].revents) break;
      int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      std::string line;
      if (!readLine(c, line, 5s)) {
        ::close(c);
        continue;
      }
      {
        std::lock_guard<std::mutex> g(mu_);
        lines_.push_back(line);
      }
      if (!reply_) {
        held.push_back(c);  // never answers: the client times out
        continue;
      }
      sendAll(c, reply_(line));
      ::close(c);
    }
    for (int c : held) ::close(c);
  }

  std::string path_;
  Reply reply_;
  int fd_ = -1;
  int stop_[2] = {-1, -1};
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> lines_;
};

// Columns deliberately out of HAProxy's order (the parser must go by name), a quoted
// cell holding a comma, and listener rows (type 3) with bind addresses.
const char* kFakeCsv =
    "# type,pxname,svname,status,weight,scur,smax,stot,bin,bout,econ,wretr,rate,check_status,"
    "check_desc,check_duration,addr,algo,act,bck,qcur,slim,dreq,ereq\n"
    "0,web,FRONTEND,OPEN,,2,5,4242,5242880,3072,,,3,,,,,,,,,1000,7,1\n"
    "3,app,sock-1,OPEN,,0,0,0,0,0,,,,,,,127.0.0.1:8080,,,,,,,\n"
    "2,app,s1,UP,10,1,3,1500,1024,2048,4,2,2,L4OK,\"ok, fine\",1,127.0.0.1:9001,,1,0,0,,,\n"
    "2,app,s2,DRAIN,0,0,1,77,10,20,0,0,0,L4CON,refused,0,127.0.0.1:9002,,1,0,0,,,\n"
    "1,app,BACKEND,UP,10,1,3,1577,1034,2068,4,2,2,,,,,roundrobin,1,0,0,,,\n"
    "\n";

std::string fakeReply(const std::string& line) {
  if (line == "show stat") return kFakeCsv;
  if (line == "show info")
    return "Name: Fulcrum\nVersion: 0.1.0\nPid: 4321\nUptime_sec: 75\nCurrConns: 2\n\n";
  if (line.rfind("show servers state", 0) == 0)
    return "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state "
           "srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_port\n"
           "2 app 1 s1 127.0.0.1 2 0 10 10 125 6 9001\n"
           "2 app 2 s2 127.0.0.1 2 8 0 10 3725 6 9002\n"
           "2 app 3 s3 127.0.0.1 0 1 1 1 5 0 9003\n\n";
  if (line == "show sess")
    return "0x1a: proto=tcpv4 src=127.0.0.1:5555 fe=web be=app srv=s1 age=3s "
           "state=relaying bytes_in=10 bytes_out=3145728 extra=ignored\n"
           "0x2b: proto=tcpv4 src=127.0.0.1:6666 fe=web be=app srv=s2 age=1m state=relaying "
           "bytes_in=0 bytes_out=0\n\n";
  if (line == "reload") return "Success=1\n--\nconfiguration reloaded\n\n";
  if (line.find("nope") != std::string::npos) return "No such server.\n\n";
  if (line.rfind("add server", 0) == 0) return "New server registered.\n\n";
  if (line.rfind("del server", 0) == 0) return "Server deleted.\n\n";
  return "\n";  // success: nothing to say
}

class FulcrumctlFake : public ::testing::Test {
 protected:
  TempDir dir_;
  std::string sock_ = dir_.path() + "/api.sock";
};

// The line of fulcrumctl's output that starts (after spaces) with `first`.
std::string lineStarting(const std::string& text, const std::string& first) {
  std::istringstream in(text);
  std::string l;
  while (std::getline(in, l)) {
    size_t p = l.find_first_not_of(' ');
    if (p != std::string::npos && l.compare(p, first.size(), first) == 0 &&
        (l.size() == p + first.size() || l[p + first.size()] == ' '))
      return l;
  }
  return {};
}

TEST_F(FulcrumctlFake, StatParsesColumnsByNameAndRendersHumanUnits) {
  FakeApi api(sock_, fakeReply);
  RunResult r = ctl(sock_, {"stat"});
  ASSERT_EQ(r.code, 0) << describe(r);
  EXPECT_EQ(api.lines(), std::vector<std::string>{"show stat"});
  // Frontend: 4242 total (4.2k), 5 MiB in, 3 KiB out, 7 denied.
  std::string fe = lineStarting(r.out, "web");
  EXPECT_TRUE(std::regex_search(
      fe, std::regex(R"(OPEN\s+2\s+5\s+1000\s+4\.2k\s+3\.0\s+5\.0 MiB\s+3\.0 KiB\s+7\s+1$)")))
      << r.out;
  EXPECT_NE(r.out.find("backend app (roundrobin)"), std::string::npos) << r.out;
  std::string s1 = lineStarting(r.out, "s1");
  EXPECT_TRUE(std::regex_search(
      s1,
      std::regex(
          R"(s1\s+127\.0\.0\.1:9001\s+UP\s+10\s+1\s+3\s+1\.5k\s+2\.0\s+1\.0 KiB\s+2\.0 KiB\s+4\s+2\s+L4OK 1ms)")))
      << r.out;
  EXPECT_TRUE(std::regex_search(lineStarting(r.out, "s2"), std::regex(R"(DRAIN\s+0\s+0\s+1\s+77)")))
      << r.out;
  EXPECT_NE(lineStarting(r.out, "(total)").find("1.6k"), std::string::npos) << r.out;
  // The listener row is no server.
  EXPECT_EQ(lineStarting(r.out, "sock-1"), "") << r.out;
  EXPECT_EQ(r.out.find('\033'), std::string::npos) << "colours on a pipe";

  RunResult list = ctl(sock_, {"list"});
  EXPECT_EQ(list.code, 0);
  EXPECT_EQ(list.out, r.out);
}

TEST_F(FulcrumctlFake, JsonKeepsEveryColumn) {
  FakeApi api(sock_, fakeReply);
  RunResult r = ctl(sock_, {"--json", "stat"});
  ASSERT_EQ(r.code, 0) << describe(r);
  EXPECT_NE(r.out.find(R"("svname":"s1")"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(R"("stot":1500)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(R"("check_desc":"ok, fine")"), std::string::npos) << r.out;
  RunResult info = ctl(sock_, {"info", "--json"});
  EXPECT_NE(info.out.find(R"("Pid":4321)"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find(R"("Name":"Fulcrum")"), std::string::npos) << info.out;
}

TEST_F(FulcrumctlFake, InfoServersAndSessions) {
  FakeApi api(sock_, fakeReply);
  RunResult info = ctl(sock_, {"info"});
  ASSERT_EQ(info.code, 0) << describe(info);
  EXPECT_TRUE(std::regex_search(info.out, std::regex(R"(Pid:\s+4321)"))) << info.out;

  RunResult sv = ctl(sock_, {"servers", "app"});
  ASSERT_EQ(sv.code, 0) << describe(sv);
  EXPECT_TRUE(
      std::regex_search(lineStarting(sv.out, "app"),
                        std::regex(R"(app\s+s1\s+127\.0\.0\.1:9001\s+UP\s+10\s+10\s+2m05s)")))
      << sv.out;
  EXPECT_NE(sv.out.find("DRAIN"), std::string::npos) << sv.out;  // admin state 0x08
  EXPECT_TRUE(std::regex_search(sv.out, std::regex(R"(s3\s+127\.0\.0\.1:9003\s+MAINT)"))) << sv.out;

  RunResult ss = ctl(sock_, {"sessions"});
  ASSERT_EQ(ss.code, 0) << describe(ss);
  EXPECT_TRUE(std::regex_search(
      ss.out,
      std::regex(
          R"(0x1a\s+tcpv4\s+127\.0\.0\.1:5555\s+web\s+app\s+s1\s+3s\s+relaying\s+10 B\s+3\.0 MiB)")))
      << ss.out;
  EXPECT_NE(ss.out.find("2 sessions"), std::string::npos) << ss.out;
  RunResult one = ctl(sock_, {"sessions", "app/s2"});
  EXPECT_NE(one.out.find("0x2b"), std::string::npos) << one.out;
  EXPECT_EQ(one.out.find("0x1a"), std::string::npos) << one.out;
  EXPECT_EQ(api.lines(), (std::vector<std::string>{"show info", "show servers state app",
                                                   "show sess", "show sess"}));
}

TEST_F(FulcrumctlFake, ActionsSendHaproxyCommands) {
  FakeApi api(sock_, fakeReply);
  struct Case {
    std::vector<std::string> args;
    std::vector<std::string> lines;
  };
  std::vector<Case> cases = {
      {{"state", "app/s1", "drain"}, {"set server app/s1 state drain"}},
      {{"weight", "app/s1", "50%"}, {"set server app/s1 weight 50%"}},
      {{"addr", "app/s1", "10.0.0.5", "8080"}, {"set server app/s1 addr 10.0.0.5 port 8080"}},
      {{"enable", "app/s1"}, {"enable server app/s1"}},
      {{"disable", "app/s1"}, {"disable server app/s1"}},
      {{"health", "app/s1", "off"}, {"disable health app/s1"}},
      {{"agent", "app/s1", "on"}, {"enable agent app/s1"}},
      {{"maxconn", "server", "app/s1", "10"}, {"set maxconn server app/s1 10"}},
      {{"maxconn", "frontend", "web", "100"}, {"set maxconn frontend web 100"}},
      {{"maxconn", "global", "1000"}, {"set maxconn global 1000"}},
      {{"add", "app/s9", "10.0.0.9:80", "weight", "5", "--enable"},
       {"add server app/s9 10.0.0.9:80 weight 5", "enable server app/s9"}},
      {{"del", "app/s9"}, {"del server app/s9"}},
      {{"shutdown", "app/s1"}, {"shutdown sessions server app/s1"}},
      {{"raw", "show", "table"}, {"show table"}},
  };
  size_t seen = 0;
  for (const Case& c : cases) {
    RunResult r = ctl(sock_, c.args);
    EXPECT_EQ(r.code, 0) << c.args[0] << ": " << describe(r);
    auto lines = api.lines();
    ASSERT_EQ(lines.size(), seen + c.lines.size()) << c.args[0];
    for (size_t i = 0; i < c.lines.size(); ++i) EXPECT_EQ(lines[seen + i], c.lines[i]);
    seen = lines.size();
  }
  RunResult added = ctl(sock_, {"add", "app/s8", "10.0.0.8:80"});
  EXPECT_EQ(added.out, "New server registered.\n");
}

TEST_F(FulcrumctlFake, ExitCodes) {
  FakeApi api(sock_, fakeReply);
  // 1: the server refuses; its words on stderr.
  RunResult refused = ctl(sock_, {"disable", "app/nope"});
  EXPECT_EQ(refused.code, 1) << describe(refused);
  EXPECT_NE(refused.err.find("No such server."), std::string::npos) << refused.err;
  // 2: usage, before anything is sent.
  size_t before = api.lines().size();
  for (auto args : std::vector<std::vector<std::string>>{{"state", "app/s1", "sideways"},
                                                         {"disable", "no-slash"},
                                                         {"weight", "app/s1", "x"},
                                                         {"maxconn", "server", "app/s1"},
                                                         {"frobnicate"},
                                                         {},
                                                         {"health", "app/s1", "maybe"},
                                                         {"watch", "--count", "-1"}})
    EXPECT_EQ(ctl(sock_, args).code, 2) << fmt::format("{}", fmt::join(args, " "));
  EXPECT_EQ(api.lines().size(), before);
  // 3: no socket; a socket that never answers (timeout).
  RunResult missing = ctl(dir_.path() + "/missing.sock", {"info"});
  EXPECT_EQ(missing.code, 3) << describe(missing);
  EXPECT_NE(missing.err.find("missing.sock"), std::string::npos);
  FakeApi mute(dir_.path() + "/mute.sock", nullptr);
  auto t0 = Clock::now();
  RunResult slow = ctl(mute.path(), {"--timeout", "0.3", "info"});
  EXPECT_EQ(slow.code, 3) << describe(slow);
  EXPECT_LT(Clock::now() - t0, 5s);
  // -s falls back to $FULCRUM_SOCKET.
  setenv("FULCRUM_SOCKET", sock_.c_str(), 1);
  RunResult env = run({ctlBin(), "info"});
  unsetenv("FULCRUM_SOCKET");
  EXPECT_EQ(env.code, 0) << describe(env);
}

TEST_F(FulcrumctlFake, Reload) {
  {
    FakeApi api(sock_, fakeReply);
    RunResult ok = ctl(sock_, {"reload"});
    EXPECT_EQ(ok.code, 0) << describe(ok);
    EXPECT_NE(ok.out.find("configuration reloaded"), std::string::npos) << ok.out;
  }
  FakeApi bad(sock_, [](const std::string&) {
    return std::string("Success=0\n--\nfulcrum.cfg:12: unknown keyword 'bogus'\n\n");
  });
  RunResult r = ctl(sock_, {"reload"});
  EXPECT_EQ(r.code, 1) << describe(r);
  EXPECT_NE(r.err.find("unknown keyword 'bogus'"), std::string::npos) << r.err;
}

TEST_F(FulcrumctlFake, WatchComputesRatesFromSuccessiveTotals) {
  // Each poll, s1's totals grow by 1000 connections and 1 MiB in.
  std::atomic<int> polls{0};
  FakeApi api(sock_, [&](const std::string&) {
    int n = polls++;
    return fmt::format(
        "# pxname,svname,type,status,weight,scur,stot,bin,bout\n"
        "app,s1,2,UP,1,4,{},{},0\n",
        1000 * (n + 1), (1 << 20) * (n + 1));
  });
  RunResult r = ctl(sock_, {"watch", "--interval", "0.5", "--count", "2"});
  ASSERT_EQ(r.code, 0) << describe(r);
  EXPECT_EQ(polls.load(), 2);
  EXPECT_NE(r.out.find("frame 1/2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("frame 2/2"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find('\033'), std::string::npos) << "no clear-screen or colour on a pipe";
  size_t second = r.out.find("frame 2/2");
  // First frame: no rate yet. Second: 1000 connections and 1 MiB over ~0.5 s.
  std::smatch m;
  std::string f1 = r.out.substr(0, second), f2 = r.out.substr(second);
  EXPECT_TRUE(std::regex_search(f1, std::regex(R"(app\s+s1\s+UP\s+1\s+4\s+-\s+-\s+-\s+1000)")))
      << f1;
  ASSERT_TRUE(std::regex_search(
      f2, m, std::regex(R"(app\s+s1\s+UP\s+1\s+4\s+(\S+)\s+(\S+) MiB\s+0 B\s+2000)")))
      << f2;
  double cps = std::stod(m[1].str()) * (m[1].str().back() == 'k' ? 1000 : 1);
  const double mibps = std::stod(m[2].str());
  // 1000 connections over the time between the polls: at least the 0.5 s interval (so at
  // most ~2000/s), and however long a loaded machine took (no lower bound but > 0).
  EXPECT_LT(cps, 2100);
  EXPECT_GT(cps, 0);
  // Both rates come from the same interval: 1 MiB per 1000 connections.
  EXPECT_NEAR(mibps * 1000, cps, cps * 0.1 + 1) << f2;
}

TEST_F(FulcrumctlFake, ColoursOnlyOnATerminalWithoutNoColor) {
  FakeApi api(sock_, fakeReply);
  std::string cmd = fmt::format("{} --socket {} stat", ctlBin(), sock_);
  // `script` runs the command on a pseudo-terminal.
  RunResult tty = run({"/usr/bin/script", "-qec", cmd, "/dev/null"});
  ASSERT_EQ(tty.code, 0) << describe(tty);
  EXPECT_NE(tty.out.find("\033[32mUP"), std::string::npos) << tty.out;
  EXPECT_NE(tty.out.find("\033[33mDRAIN"), std::string::npos) << tty.out;
  RunResult plain = run({"/usr/bin/script", "-qec", "NO_COLOR=1 " + cmd, "/dev/null"});
  ASSERT_EQ(plain.code, 0) << describe(plain);
  EXPECT_NE(plain.out.find("DRAIN"), std::string::npos);
  EXPECT_EQ(plain.out.find("\033["), std::string::npos) << plain.out;
}

TEST_F(FulcrumctlFake, IpvsadmVerbs) {
  FakeApi api(sock_, fakeReply);
  RunResult l = ctl(sock_, {"-L", "-n"});
  ASSERT_EQ(l.code, 0) << describe(l);
  // The listener row gives the VIP of "app" (a listen section).
  EXPECT_NE(l.out.find("TCP  127.0.0.1:8080 roundrobin\n"), std::string::npos) << l.out;
  EXPECT_TRUE(
      std::regex_search(l.out, std::regex(R"(  -> 127\.0\.0\.1:9001\s+Proxy\s+10\s+1\s+0\n)")))
      << l.out;
  RunResult st = ctl(sock_, {"-L", "--stats"});
  EXPECT_TRUE(std::regex_search(st.out, std::regex(R"(  -> 127\.0\.0\.1:9002\s+77\s+10\s+20\n)")))
      << st.out;

  size_t n = api.lines().size();
  RunResult add = ctl(sock_, {"-a", "-t", "127.0.0.1:8080", "-r", "10.0.0.9:80", "-w", "3"});
  EXPECT_EQ(add.code, 0) << describe(add);
  auto lines = api.lines();
  ASSERT_EQ(lines.size(), n + 3);
  EXPECT_EQ(lines[n + 1], "add server app/10.0.0.9:80 10.0.0.9:80 weight 3");
  EXPECT_EQ(lines[n + 2], "enable server app/10.0.0.9:80");

  RunResult edit = ctl(sock_, {"-e", "-t", "app", "-r", "127.0.0.1:9001", "-w", "7"});
  EXPECT_EQ(edit.code, 0) << describe(edit);
  EXPECT_EQ(api.lines().back(), "set server app/s1 weight 7");

  RunResult del = ctl(sock_, {"-d", "-t", "app", "-r", "127.0.0.1:9002"});
  EXPECT_EQ(del.code, 0) << describe(del);
  lines = api.lines();
  ASSERT_GE(lines.size(), 3u);
  EXPECT_EQ(std::vector<std::string>(lines.end() - 3, lines.end()),
            (std::vector<std::string>{"disable server app/s2", "shutdown sessions server app/s2",
                                      "del server app/s2"}));

  // Cannot map: an address nothing binds, a backend that does not exist, DR/tunnel modes.
  EXPECT_EQ(ctl(sock_, {"-a", "-t", "10.9.9.9:80", "-r", "10.0.0.9:80"}).code, 2);
  EXPECT_EQ(ctl(sock_, {"-a", "-t", "nosuch", "-r", "10.0.0.9:80"}).code, 2);
  EXPECT_EQ(ctl(sock_, {"-a", "-g", "-t", "app", "-r", "10.0.0.9:80"}).code, 2);
  EXPECT_EQ(ctl(sock_, {"-e", "-t", "app", "-r", "10.0.0.9:80"}).code, 2);  // no -w
  EXPECT_EQ(ctl(sock_, {"-d", "-t", "app", "-r", "10.1.1.1:1"}).code, 1);   // no such server
}

// ipvsadm's service verbs, as users type them: -s is the scheduler.
TEST_F(FulcrumctlFake, IpvsadmServiceVerbs) {
  FakeApi api(sock_, [](const std::string& line) -> std::string {
    if (line.rfind("add service", 0) == 0) return "New service tcp:203.0.113.1:443 registered.\n\n";
    if (line.rfind("del service", 0) == 0) return "Service deleted.\n\n";
    return fakeReply(line);
  });
  RunResult a = ctl(sock_, {"-A", "-t", "203.0.113.1:443", "-s", "rr"});
  EXPECT_EQ(a.code, 0) << describe(a);
  EXPECT_EQ(api.lines().back(), "add service tcp 203.0.113.1:443 balance roundrobin");
  a = ctl(sock_, {"-A", "-t", "[2001:db8::1]:443"});  // Maglev unless told
  EXPECT_EQ(a.code, 0) << describe(a);
  EXPECT_EQ(api.lines().back(), "add service tcp [2001:db8::1]:443");
  RunResult e = ctl(sock_, {"-E", "-t", "203.0.113.1:443", "-s", "sh"});
  EXPECT_EQ(e.code, 0) << describe(e);
  EXPECT_EQ(api.lines().back(), "set service tcp:203.0.113.1:443 balance source");
  RunResult d = ctl(sock_, {"-D", "-t", "203.0.113.1:443"});
  EXPECT_EQ(d.code, 0) << describe(d);
  EXPECT_EQ(api.lines().back(), "del service tcp:203.0.113.1:443");

  // What cannot map exits 2 before anything is sent, saying why.
  const size_t n = api.lines().size();
  RunResult path = ctl(sock_, {"-A", "-t", "203.0.113.1:443", "-s", "/run/fulcrum/admin.sock"});
  EXPECT_EQ(path.code, 2);
  EXPECT_NE(path.err.find("-s is the scheduler (rr, wrr, sh, mh), as in ipvsadm; the socket is "
                          "--socket /run/fulcrum/admin.sock"),
            std::string::npos)
      << path.err;
  RunResult lc = ctl(sock_, {"-A", "-t", "203.0.113.1:443", "-s", "wlc"});
  EXPECT_EQ(lc.code, 2);
  EXPECT_NE(lc.err.find("scheduler 'wlc' is not one the packet data plane runs"), std::string::npos)
      << lc.err;
  EXPECT_EQ(ctl(sock_, {"-A", "-t", "203.0.113.1:443", "-p"}).code, 2);
  EXPECT_EQ(ctl(sock_, {"-A", "-t", "app"}).code, 2);              // not a VIP:PORT
  EXPECT_EQ(ctl(sock_, {"-E", "-t", "203.0.113.1:443"}).code, 2);  // no -s
  EXPECT_EQ(ctl(sock_, {"-a", "-t", "app", "-r", "10.0.0.9:80", "-s", "rr"}).code, 2);
  EXPECT_EQ(api.lines().size(), n);

  // -R applies what -S prints, line by line, and stops at a line it cannot read.
  TempDir dir;
  const std::string rules = dir.write("rules", "-A -t 198.51.100.1:80 -s mh\n\n-x -t 1\n");
  RunResult r =
      run({"/bin/sh", "-c", fmt::format("{} --socket {} -R < {}", ctlBin(), sock_, rules)});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("-R: line 3: '-x' is not part of what -S writes"), std::string::npos)
      << r.err;
  EXPECT_EQ(api.lines().back(), "add service tcp 198.51.100.1:80 balance maglev");
}

// ---------------------------------------------------------------------------------
// Against the real fulcrum.

class FulcrumctlLive : public ::testing::Test {
 protected:
  void start(const std::string& extraServers = "") {
    sock_ = dir_.path() + "/api.sock";
    cfg_ = fmt::format(
        "global\n"
        "    nbthread 2\n"
        "    stats socket {} mode 600 level admin\n"
        "defaults\n"
        "    mode tcp\n"
        "    timeout connect 1s\n"
        "    timeout client 30s\n"
        "    timeout server 30s\n"
        "listen app\n"
        "    bind 127.0.0.1:{}\n"
        "    balance roundrobin\n"
        "    server s1 {}\n"
        "    server s2 {}\n"
        "{}",
        sock_, front_.port(), b1_.addrString(), b2_.addrString(), extraServers);
    fulcrum_ = std::make_unique<FulcrumProcess>(cfg_, SockAddr::loopback4(front_.port()));
    ASSERT_TRUE(fulcrum_->ready()) << fulcrum_->logs();
    struct stat st {};
    eventually([&] { return ::stat(sock_.c_str(), &st) == 0; }, 10s, 10ms);
    ASSERT_EQ(::stat(sock_.c_str(), &st), 0) << "no stats socket\n" << fulcrum_->logs();
  }

  // One client: connects, reads the backend's name, closes.
  std::string hit() { return hitOn(front_.port()); }
  static std::string hitOn(uint16_t port) {
    int fd = connectTcp(SockAddr::loopback4(port));
    if (fd < 0) return "<connect failed>";
    std::string name;
    if (!readLine(fd, name, 5s)) name = "<no reply>";
    closeFd(fd);
    return name;
  }

  // Polls `fulcrumctl stat` until pred(output) holds; returns the last output.
  std::string statUntil(const std::function<bool(const std::string&)>& pred) {
    auto met = [&](const RunResult& r) { return r.code == 0 && pred(r.out); };
    RunResult r = pollUntil([&] { return ctl(sock_, {"stat"}); }, met, 10s, 50ms);
    if (met(r)) return r.out;
    ADD_FAILURE() << "condition not met; last:\n" << describe(r);
    return describe(r);
  }

  // TOTAL of a server in `fulcrumctl stat`, -1 when the row is not there.
  static long total(const std::string& out, const std::string& server) {
    std::smatch m;
    std::string l = lineStarting(out, server);
    // SERVER ADDRESS STATE WEIGHT CUR MAX TOTAL (the state may be two words: "no check").
    if (!std::regex_search(l, m,
                           std::regex(R"(^\s*\S+\s+\S+\s+.+?\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s)")))
      return -1;
    return std::stol(m[4].str());
  }

  // The cells of a row of a fulcrumctl table (columns are at least two spaces apart; a
  // cell such as "no check" or "1.0 KiB" has one). Empty when no row starts with `first`.
  static std::vector<std::string> cells(const std::string& out, const std::string& first) {
    std::string l = lineStarting(out, first);
    std::vector<std::string> v;
    static const std::regex kGap(R"(\s{2,})");
    std::sregex_token_iterator it(l.begin(), l.end(), kGap, -1), end;
    for (; it != end; ++it)
      if (!it->str().empty() && it->str().find_first_not_of(' ') != std::string::npos)
        v.push_back(trimmed(*it));
    return v;
  }
  static std::string trimmed(std::string s) {
    while (!s.empty() && (s.back() == ' ' || s.back() == '\r')) s.pop_back();
    while (!s.empty() && s.front() == ' ') s.erase(s.begin());
    return s;
  }
  // STATE of a server in `fulcrumctl stat` (SERVER ADDRESS STATE ...), "" when absent.
  static std::string stateIn(const std::string& out, const std::string& server) {
    auto c = cells(out, server);
    return c.size() > 2 ? c[2] : "";
  }

  // A client connection held open: the server that answered and its source port (the
  // `src` of its session).
  struct Held {
    int fd = -1;
    std::string server;
    uint16_t srcPort = 0;
  };
  static Held hold(uint16_t port) {
    Held h;
    h.fd = connectTcp(SockAddr::loopback4(port));
    if (h.fd < 0) return h;
    if (!readLine(h.fd, h.server, 5s)) h.server = "<no reply>";
    if (SockAddr local = localAddressOf(h.fd); local.valid()) h.srcPort = local.port();
    return h;
  }

  // Each server's status, weight and address from the runtime API's "show stat json"
  // (read directly, not through fulcrumctl): what a refused command must leave alone.
  std::map<std::string, std::string> serverSettings() {
    std::map<std::string, std::string> out;
    auto rows = nlohmann::json::parse(apiRequest(sock_, "show stat json"), nullptr, false);
    if (!rows.is_array()) return {{"<error>", "show stat json does not parse"}};
    for (const auto& row : rows) {
      std::map<std::string, std::string> f;
      for (const auto& field : row) {
        const auto& v = field["value"]["value"];
        f[field["field"]["name"].get<std::string>()] =
            v.is_string() ? v.get<std::string>() : v.dump();
      }
      if (f["type"] == "2")
        out[f["pxname"] + "/" + f["svname"]] =
            fmt::format("status={} weight={} addr={}", f["status"], f["weight"], f["addr"]);
    }
    return out;
  }

  TempDir dir_;
  ReservedPort front_;
  Backend b1_{Backend::banner("s1")};
  Backend b2_{Backend::banner("s2")};
  std::string sock_, cfg_;
  std::unique_ptr<FulcrumProcess> fulcrum_;
};

TEST_F(FulcrumctlLive, StatShowsTheConnectionsMade) {
  ASSERT_NO_FATAL_FAILURE(start());
  const int kN = 6;
  std::map<std::string, int> served;
  for (int i = 0; i < kN; ++i) served[hit()]++;
  ASSERT_EQ(served["s1"] + served["s2"], kN);
  // Every connection a backend accepted (the fixture's readiness probe included) is one
  // in fulcrumctl's TOTAL for that server.
  int n1 = b1_.accepted(), n2 = b2_.accepted();
  ASSERT_GE(n1, served["s1"]);
  ASSERT_GE(n2, served["s2"]);
  std::string out = statUntil([&](const std::string& o) {
    return total(o, "s1") == n1 && total(o, "s2") == n2 && total(o, "(total)") == n1 + n2;
  });
  EXPECT_NE(out.find("backend app"), std::string::npos) << out;
  EXPECT_TRUE(
      std::regex_search(lineStarting(out, "app"),
                        std::regex(fmt::format(R"(OPEN\s+\d+\s+\d+\s+\S+\s+{}\s)", n1 + n2))))
      << out;

  RunResult l = ctl(sock_, {"-L", "-n", "--stats"});
  ASSERT_EQ(l.code, 0) << describe(l);
  EXPECT_TRUE(
      std::regex_search(l.out, std::regex(fmt::format(R"(  -> {}\s+{}\s)", b1_.addrString(), n1))))
      << l.out;
  RunResult w = ctl(sock_, {"watch", "--interval", "0.2", "--count", "2"});
  ASSERT_EQ(w.code, 0) << describe(w);
  EXPECT_NE(w.out.find("frame 2/2"), std::string::npos) << w.out;
  EXPECT_EQ(w.out.find('\033'), std::string::npos);
  EXPECT_TRUE(std::regex_search(w.out, std::regex(fmt::format(R"(app\s+s1\s+.*\s{}\n)", n1))))
      << w.out;
}

TEST_F(FulcrumctlLive, DisableAndStateChangesSteerTraffic) {
  ASSERT_NO_FATAL_FAILURE(start());
  RunResult d = ctl(sock_, {"disable", "app/s1"});
  ASSERT_EQ(d.code, 0) << describe(d);
  statUntil([](const std::string& o) {
    return lineStarting(o, "s1").find("MAINT") != std::string::npos;
  });
  for (int i = 0; i < 6; ++i) EXPECT_EQ(hit(), "s2");

  RunResult sv = ctl(sock_, {"servers", "app"});
  ASSERT_EQ(sv.code, 0) << describe(sv);
  EXPECT_TRUE(std::regex_search(sv.out, std::regex(R"(s1\s+\S+\s+MAINT)"))) << sv.out;

  ASSERT_EQ(ctl(sock_, {"enable", "app/s1"}).code, 0);
  ASSERT_EQ(ctl(sock_, {"state", "app/s2", "drain"}).code, 0);
  statUntil([](const std::string& o) {
    return lineStarting(o, "s2").find("DRAIN") != std::string::npos;
  });
  for (int i = 0; i < 6; ++i) EXPECT_EQ(hit(), "s1");

  ASSERT_EQ(ctl(sock_, {"state", "app/s2", "ready"}).code, 0);
  ASSERT_EQ(ctl(sock_, {"weight", "app/s1", "0"}).code, 0);
  statUntil([](const std::string& o) {
    return lineStarting(o, "s2").find("DRAIN") == std::string::npos;
  });
  for (int i = 0; i < 6; ++i) EXPECT_EQ(hit(), "s2");
}

TEST_F(FulcrumctlLive, ExitCodesInfoAndSessions) {
  ASSERT_NO_FATAL_FAILURE(start());
  RunResult bad = ctl(sock_, {"disable", "app/nosuch"});
  EXPECT_EQ(bad.code, 1) << describe(bad);
  EXPECT_FALSE(bad.err.empty());
  EXPECT_EQ(ctl(sock_, {"weight", "app/s1"}).code, 2);
  EXPECT_EQ(ctl(dir_.path() + "/nothing.sock", {"stat"}).code, 3);

  RunResult info = ctl(sock_, {"info"});
  ASSERT_EQ(info.code, 0) << describe(info);
  EXPECT_TRUE(std::regex_search(info.out,
                                std::regex(fmt::format(R"(Pid:\s+{}\n)", fulcrum_->proc().pid()))))
      << info.out;

  // A held connection shows in sessions, then "shutdown" closes it.
  int fd = connectTcp(SockAddr::loopback4(front_.port()));
  ASSERT_GE(fd, 0);
  std::string name;
  ASSERT_TRUE(readLine(fd, name, 5s));
  const std::string out = describe(pollUntil(
      [&] { return ctl(sock_, {"sessions"}); },
      [&](const RunResult& s) {
        return s.code == 0 &&
               std::regex_search(s.out, std::regex(fmt::format(R"(\sapp\s+app\s+{}\s)", name)));
      },
      10s, 50ms));
  EXPECT_TRUE(std::regex_search(out, std::regex(fmt::format(R"(\sapp\s+app\s+{}\s)", name))))
      << out;
  RunResult sh = ctl(sock_, {"shutdown", "app/" + name});
  EXPECT_EQ(sh.code, 0) << describe(sh);
  std::string rest;
  EXPECT_TRUE(readToEof(fd, rest, 5s)) << "the session was not closed";
  closeFd(fd);
  EXPECT_EQ(ctl(sock_, {"maxconn", "global", "500"}).code, 0);
  EXPECT_EQ(ctl(sock_, {"maxconn", "server", "app/s1", "50"}).code, 0);
}

TEST_F(FulcrumctlLive, IpvsadmAddEditDelete) {
  ASSERT_NO_FATAL_FAILURE(start());
  Backend b3(Backend::banner("s3"));
  RunResult add = ctl(sock_, {"-a", "-t", "app", "-r", b3.addrString(), "-w", "1"});
  ASSERT_EQ(add.code, 0) << describe(add);
  RunResult l = ctl(sock_, {"-L", "-n"});
  EXPECT_TRUE(std::regex_search(
      l.out, std::regex(fmt::format(R"(  -> {}\s+Proxy\s+1\s)", b3.addrString()))))
      << l.out;
  // Only the new server takes traffic once the others are out.
  ASSERT_EQ(ctl(sock_, {"-e", "-t", "app", "-r", b1_.addrString(), "-w", "0"}).code, 0);
  ASSERT_EQ(ctl(sock_, {"-e", "-t", "app", "-r", b2_.addrString(), "-w", "0"}).code, 0);
  // The added server keeps its state across the later changes.
  RunResult st = ctl(sock_, {"stat"});
  EXPECT_EQ(lineStarting(st.out, b3.addrString()).find("MAINT"), std::string::npos)
      << "a server added with -a went back to maintenance after -e of another server\n"
      << st.out;
  const bool reached = eventually([&] { return hit() == "s3"; }, 10s);
  ASSERT_TRUE(reached);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(hit(), "s3");

  ASSERT_EQ(ctl(sock_, {"-e", "-t", "app", "-r", b1_.addrString(), "-w", "1"}).code, 0);
  RunResult del = ctl(sock_, {"-d", "-t", "app", "-r", b3.addrString()});
  ASSERT_EQ(del.code, 0) << describe(del);
  RunResult after = ctl(sock_, {"-L", "-n"});
  EXPECT_EQ(after.out.find(b3.addrString()), std::string::npos) << after.out;
  for (int i = 0; i < 4; ++i) EXPECT_EQ(hit(), "s1");
  // The VIP form needs bind addresses from the API; when it gives none, exit 2 and say so.
  // Fulcrum's show stat has no listener rows (type 3), so a VIP never maps: exit 2, the
  // reason on stderr, and nothing added.
  RunResult vip =
      ctl(sock_, {"-a", "-t", fmt::format("127.0.0.1:{}", front_.port()), "-r", b3.addrString()});
  EXPECT_EQ(vip.code, 2) << describe(vip);
  EXPECT_NE(vip.err.find("reports no bind addresses"), std::string::npos) << vip.err;
  EXPECT_NE(vip.err.find("-t BACKEND"), std::string::npos) << vip.err;
  RunResult unchanged = ctl(sock_, {"-L", "-n"});
  EXPECT_EQ(unchanged.out.find(b3.addrString()), std::string::npos) << unchanged.out;
}

// The number of the line of `text` that holds `needle` (1-based), 0 when absent.
int lineNumberOf(const std::string& text, const std::string& needle) {
  size_t at = text.find(needle);
  if (at == std::string::npos) return 0;
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<long>(at), '\n'));
}

TEST_F(FulcrumctlLive, ReloadAppliesARewrittenConfigAndRejectsABrokenOne) {
  ASSERT_NO_FATAL_FAILURE(start());
  Backend b3(Backend::banner("s3"));
  const std::string withS3 = cfg_ + fmt::format("    server s3 {}\n", b3.addrString());
  ASSERT_TRUE(fulcrum_->rewriteConfig(withS3));
  RunResult ok = ctl(sock_, {"reload"});
  ASSERT_EQ(ok.code, 0) << describe(ok);
  EXPECT_NE(ok.out.find("configuration reloaded"), std::string::npos) << ok.out;
  EXPECT_EQ(ok.err, "");
  statUntil([](const std::string& o) { return !lineStarting(o, "s3").empty(); });
  bool reached = false;
  for (int i = 0; i < 12 && !reached; ++i) reached = hit() == "s3";
  EXPECT_TRUE(reached) << "the server added by the reload takes no traffic";

  // A broken file: exit 1, the error names the file, the line and the keyword.
  const std::string broken = withS3 + "    bogus-keyword 1\n";
  ASSERT_TRUE(fulcrum_->rewriteConfig(broken));
  RunResult bad = ctl(sock_, {"reload"});
  EXPECT_EQ(bad.code, 1) << describe(bad);
  EXPECT_EQ(bad.out, "");
  const std::string where =
      fmt::format("{}:{}:", fulcrum_->configPath(), lineNumberOf(broken, "bogus-keyword"));
  EXPECT_NE(bad.err.find(where), std::string::npos) << where << "\n" << bad.err;
  EXPECT_NE(bad.err.find("'bogus-keyword'"), std::string::npos) << bad.err;

  // The running configuration (with s3) stays, and traffic flows.
  RunResult st = ctl(sock_, {"stat"});
  EXPECT_FALSE(lineStarting(st.out, "s3").empty()) << st.out;
  for (int i = 0; i < 6; ++i) {
    std::string who = hit();
    EXPECT_TRUE(who == "s1" || who == "s2" || who == "s3") << who;
  }
}

TEST_F(FulcrumctlLive, AddrMovesAServersTrafficToAnotherBackend) {
  ASSERT_NO_FATAL_FAILURE(start());
  Backend b3(Backend::banner("s3"));
  ASSERT_EQ(ctl(sock_, {"disable", "app/s2"}).code, 0);
  statUntil([](const std::string& o) { return stateIn(o, "s2") == "MAINT"; });
  for (int i = 0; i < 4; ++i) ASSERT_EQ(hit(), "s1");

  RunResult r = ctl(sock_, {"addr", "app/s1", "127.0.0.1", std::to_string(b3.port())});
  ASSERT_EQ(r.code, 0) << describe(r);
  EXPECT_EQ(r.out, fmt::format("no need to change the addr, port changed from '{}' to '{}' by "
                               "'stats socket command'\n",
                               b1_.port(), b3.port()));
  statUntil([&](const std::string& o) { return cells(o, "s1").at(1) == b3.addrString(); });
  EXPECT_TRUE(eventually([&] { return hit() == "s3"; })) << fulcrum_->logs();
  const int b1Before = b1_.accepted();
  for (int i = 0; i < 4; ++i) EXPECT_EQ(hit(), "s3");
  EXPECT_EQ(b1_.accepted(), b1Before) << "s1's old address still gets connections";
}

TEST_F(FulcrumctlLive, HealthAndAgentTogglesShowInStat) {
  RefusingPort checkPort;                   // s3's health check connects here and fails
  Backend agent(Backend::banner("drain"));  // s4's agent answers "drain"
  Backend b3(Backend::banner("s3")), b4(Backend::banner("s4"));
  ASSERT_NO_FATAL_FAILURE(
      start(fmt::format("    server s3 {} check port {} inter 100ms fall 1 rise 1\n"
                        "    server s4 {} agent-check agent-port {} agent-inter 100ms\n",
                        b3.addrString(), checkPort.port(), b4.addrString(), agent.port())));
  statUntil([](const std::string& o) {
    return stateIn(o, "s3") == "DOWN" && stateIn(o, "s4") == "DRAIN";
  });

  // HAProxy's srv_check_state / srv_agent_state of a server, from `servers --json`.
  auto stateField = [&](const std::string& server, const char* field) -> int {
    RunResult sv = ctl(sock_, {"--json", "servers", "app"});
    auto j = nlohmann::json::parse(sv.out, nullptr, false);
    if (sv.code != 0 || !j.is_array()) return -1;
    for (const auto& row : j)
      if (row.value("srv_name", "") == server) return row.value(field, -1);
    return -2;
  };
  // Health checks off: stopped (6 -> 2), and s3 keeps the state they gave it (DOWN), as
  // in HAProxy; on again: they run (6) and s3 is still DOWN.
  EXPECT_EQ(stateField("s3", "srv_check_state"), 6);
  RunResult off = ctl(sock_, {"health", "app/s3", "off"});
  ASSERT_EQ(off.code, 0) << describe(off);
  EXPECT_EQ(off.out + off.err, "");
  EXPECT_EQ(stateField("s3", "srv_check_state"), 2);
  EXPECT_EQ(stateIn(ctl(sock_, {"stat"}).out, "s3"), "DOWN");
  ASSERT_EQ(ctl(sock_, {"health", "app/s3", "on"}).code, 0);
  EXPECT_EQ(stateField("s3", "srv_check_state"), 6);
  statUntil([](const std::string& o) { return stateIn(o, "s3") == "DOWN"; });

  // The agent: HAProxy's srv_agent_state 22 (configured, enabled), 18 once disabled.
  auto agentState = [&] { return stateField("s4", "srv_agent_state"); };
  EXPECT_EQ(agentState(), 22);
  ASSERT_EQ(ctl(sock_, {"agent", "app/s4", "off"}).code, 0);
  EXPECT_EQ(agentState(), 18);
  ASSERT_EQ(ctl(sock_, {"agent", "app/s4", "on"}).code, 0);
  EXPECT_EQ(agentState(), 22);

  // Refused where nothing is configured: exit 1, the server's words, no change.
  const auto before = serverSettings();
  RunResult noAgent = ctl(sock_, {"agent", "app/s3", "on"});
  EXPECT_EQ(noAgent.code, 1) << describe(noAgent);
  EXPECT_NE(noAgent.err.find("Agent was not configured"), std::string::npos) << noAgent.err;
  RunResult noCheck = ctl(sock_, {"health", "app/s1", "on"});
  EXPECT_EQ(noCheck.code, 1) << describe(noCheck);
  EXPECT_NE(noCheck.err.find("Health check was not configured"), std::string::npos) << noCheck.err;
  EXPECT_EQ(serverSettings(), before);
}

TEST_F(FulcrumctlLive, AddEnableAndDeleteOnlyInMaintenance) {
  ASSERT_NO_FATAL_FAILURE(start());
  Backend b3(Backend::banner("s3"));
  ASSERT_EQ(ctl(sock_, {"disable", "app/s1"}).code, 0);
  ASSERT_EQ(ctl(sock_, {"disable", "app/s2"}).code, 0);

  RunResult add = ctl(sock_, {"add", "app/s3", b3.addrString(), "weight", "3"});
  ASSERT_EQ(add.code, 0) << describe(add);
  EXPECT_EQ(add.out, "New server registered.\n");
  std::string st = statUntil([](const std::string& o) { return stateIn(o, "s3") == "MAINT"; });
  EXPECT_EQ(cells(st, "s3").at(1), b3.addrString()) << st;
  EXPECT_NE(hit(), "s3") << "a server added at run time must start in maintenance";

  ASSERT_EQ(ctl(sock_, {"enable", "app/s3"}).code, 0);
  EXPECT_TRUE(eventually([&] { return hit() == "s3"; })) << fulcrum_->logs();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(hit(), "s3");

  // Not in maintenance: refused, and the server stays.
  RunResult early = ctl(sock_, {"del", "app/s3"});
  EXPECT_EQ(early.code, 1) << describe(early);
  EXPECT_NE(early.err.find("Only servers in maintenance mode can be deleted."), std::string::npos)
      << early.err;
  EXPECT_EQ(stateIn(ctl(sock_, {"stat"}).out, "s3"), "no check");

  // In maintenance with no connection left: deleted.
  ASSERT_EQ(ctl(sock_, {"disable", "app/s3"}).code, 0);
  statUntil([](const std::string& o) {
    auto c = cells(o, "s3");
    return c.size() > 4 && c[2] == "MAINT" && c[4] == "0";  // STATE, CUR
  });
  RunResult del = ctl(sock_, {"del", "app/s3"});
  ASSERT_EQ(del.code, 0) << describe(del);
  EXPECT_EQ(del.out, "Server deleted.\n");
  statUntil([](const std::string& o) { return lineStarting(o, "s3").empty(); });
}

TEST_F(FulcrumctlLive, RawPrintsTheAnswerVerbatim) {
  ASSERT_NO_FATAL_FAILURE(start());
  RunResult info = ctl(sock_, {"raw", "show info"});
  ASSERT_EQ(info.code, 0) << describe(info);
  // HAProxy's "Name: value" lines as sent (not fulcrumctl's aligned table), and the empty
  // line that ends the reply.
  EXPECT_TRUE(info.out.starts_with("Name: Fulcrum\n")) << info.out;
  EXPECT_NE(info.out.find(fmt::format("\nPid: {}\n", fulcrum_->proc().pid())), std::string::npos)
      << info.out;
  EXPECT_TRUE(info.out.ends_with("\n\n")) << info.out;
  // Answers that do not change between two requests are the same byte for byte, several
  // commands on one line included.
  for (const char* line : {"show backend", "show cli level; show version"}) {
    RunResult r = ctl(sock_, {"raw", line});
    EXPECT_EQ(r.code, 0) << describe(r);
    EXPECT_EQ(r.out, apiRequest(sock_, line)) << line;
  }
  // Whatever the answer, raw prints it and exits 0.
  RunResult unknown = ctl(sock_, {"raw", "frobnicate"});
  EXPECT_EQ(unknown.code, 0) << describe(unknown);
  EXPECT_TRUE(unknown.out.starts_with("Unknown command")) << unknown.out;
}

TEST_F(FulcrumctlLive, NoColorVersionAndServersOfEveryBackend) {
  Backend o1(Backend::banner("o1"));
  ASSERT_NO_FATAL_FAILURE(start(fmt::format("backend other\n    server o1 {}\n", o1.addrString())));

  // On a terminal (`script` gives one): colours, unless --no-color.
  const std::string cmd = fmt::format("{} --socket {} stat", ctlBin(), sock_);
  RunResult tty = run({"/usr/bin/script", "-qec", cmd, "/dev/null"});
  ASSERT_EQ(tty.code, 0) << describe(tty);
  EXPECT_NE(tty.out.find("\033[32mOPEN"), std::string::npos) << tty.out;
  RunResult plain =
      run({"/usr/bin/script", "-qec",
           fmt::format("{} --socket {} --no-color stat", ctlBin(), sock_), "/dev/null"});
  ASSERT_EQ(plain.code, 0) << describe(plain);
  EXPECT_NE(plain.out.find("OPEN"), std::string::npos) << plain.out;
  EXPECT_EQ(plain.out.find('\033'), std::string::npos) << plain.out;

  // --version: fulcrumctl's version is the daemon's.
  std::string version = apiRequest(sock_, "show version");
  version = version.substr(0, version.find('\n'));
  ASSERT_FALSE(version.empty());
  RunResult v = run({ctlBin(), "--version"});
  EXPECT_EQ(v.code, 0) << describe(v);
  EXPECT_EQ(v.out, "fulcrumctl " + version + "\n");

  // servers: every backend without an argument, one with.
  RunResult all = ctl(sock_, {"servers"});
  ASSERT_EQ(all.code, 0) << describe(all);
  EXPECT_EQ(cells(all.out, "app").size(), 7u) << all.out;
  EXPECT_TRUE(
      std::regex_search(all.out, std::regex(fmt::format(R"(app\s+s1\s+{}\s)", b1_.addrString()))))
      << all.out;
  EXPECT_TRUE(
      std::regex_search(all.out, std::regex(fmt::format(R"(app\s+s2\s+{}\s)", b2_.addrString()))))
      << all.out;
  EXPECT_TRUE(std::regex_search(
      all.out, std::regex(fmt::format(R"(other\s+o1\s+{}\s+UP\s)", o1.addrString()))))
      << all.out;
  RunResult one = ctl(sock_, {"servers", "other"});
  ASSERT_EQ(one.code, 0) << describe(one);
  EXPECT_NE(one.out.find("o1"), std::string::npos) << one.out;
  EXPECT_EQ(one.out.find("app"), std::string::npos) << one.out;
}

TEST_F(FulcrumctlLive, SessionsFilteredByFrontendAndServerAndAsJson) {
  ReservedPort edge;
  ASSERT_NO_FATAL_FAILURE(start(
      fmt::format("frontend edge\n    bind 127.0.0.1:{}\n    default_backend app\n", edge.port())));
  ASSERT_TRUE(waitForListening(SockAddr::loopback4(edge.port())));
  // One connection through frontend app to s1, one through frontend edge to s2 (the other
  // server in maintenance while each is made).
  ASSERT_EQ(ctl(sock_, {"disable", "app/s2"}).code, 0);
  statUntil([](const std::string& o) { return stateIn(o, "s2") == "MAINT"; });
  Held a = hold(front_.port());
  ASSERT_EQ(ctl(sock_, {"enable", "app/s2"}).code, 0);
  ASSERT_EQ(ctl(sock_, {"disable", "app/s1"}).code, 0);
  statUntil([](const std::string& o) { return stateIn(o, "s1") == "MAINT"; });
  Held b = hold(edge.port());
  ASSERT_EQ(ctl(sock_, {"enable", "app/s1"}).code, 0);
  ASSERT_EQ(a.server, "s1");
  ASSERT_EQ(b.server, "s2");
  const std::string srcA = fmt::format("127.0.0.1:{}", a.srcPort);
  const std::string srcB = fmt::format("127.0.0.1:{}", b.srcPort);

  // --json sessions [FILTER]: the sessions shown, by source, checked field by field.
  auto sessions = [&](const std::string& filter) {
    std::vector<std::string> args = {"--json", "sessions"};
    if (!filter.empty()) args.push_back(filter);
    RunResult r = ctl(sock_, args);
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    EXPECT_EQ(r.code, 0) << describe(r);
    EXPECT_TRUE(j.is_array()) << r.out;
    std::map<std::string, nlohmann::json> bySrc;
    if (j.is_array())
      for (const auto& s : j) bySrc[s.value("src", "")] = s;
    return bySrc;
  };
  ASSERT_TRUE(eventually([&] {
    auto all = sessions("");
    return all.count(srcA) && all.count(srcB);
  })) << describe(ctl(sock_, {"sessions"}));

  auto s1 = sessions("app/s1");
  ASSERT_TRUE(s1.count(srcA)) << ::testing::PrintToString(s1);
  EXPECT_FALSE(s1.count(srcB));
  const auto& sa = s1[srcA];
  EXPECT_EQ(sa.value("fe", ""), "app");
  EXPECT_EQ(sa.value("be", ""), "app");
  EXPECT_EQ(sa.value("srv", ""), "s1");
  EXPECT_EQ(sa.value("state", ""), "relaying");
  EXPECT_TRUE(sa["id"].is_string() && sa["id"].get<std::string>().starts_with("0x")) << sa.dump();
  EXPECT_TRUE(sa["bytes_out"].is_number()) << sa.dump();
  EXPECT_EQ(sa.value("bytes_out", -1), 3) << sa.dump();  // "s1\n" from the server
  for (const auto& [src, s] : s1) EXPECT_EQ(s.value("srv", ""), "s1") << s.dump();

  auto s2 = sessions("app/s2");
  EXPECT_TRUE(s2.count(srcB));
  EXPECT_FALSE(s2.count(srcA));
  auto viaEdge = sessions("edge");
  ASSERT_TRUE(viaEdge.count(srcB));
  EXPECT_FALSE(viaEdge.count(srcA));
  EXPECT_EQ(viaEdge[srcB].value("fe", ""), "edge");
  EXPECT_EQ(viaEdge[srcB].value("srv", ""), "s2");
  for (const auto& [src, s] : viaEdge) EXPECT_EQ(s.value("fe", ""), "edge") << s.dump();
  auto backend = sessions("app");  // the backend (and the listen section's frontend)
  EXPECT_TRUE(backend.count(srcA) && backend.count(srcB));
  EXPECT_TRUE(sessions("nosuch").empty());

  // The table, with the same filter.
  RunResult t = ctl(sock_, {"sessions", "edge"});
  ASSERT_EQ(t.code, 0) << describe(t);
  EXPECT_TRUE(std::regex_search(t.out, std::regex(srcB + R"(\s+edge\s+app\s+s2\s)"))) << t.out;
  EXPECT_EQ(t.out.find(srcA), std::string::npos) << t.out;

  // --json servers: every column, numbers as numbers.
  RunResult sv = ctl(sock_, {"--json", "servers"});
  ASSERT_EQ(sv.code, 0) << describe(sv);
  auto servers = nlohmann::json::parse(sv.out, nullptr, false);
  ASSERT_TRUE(servers.is_array()) << sv.out;
  std::map<std::string, nlohmann::json> byName;
  for (const auto& row : servers) byName[row.value("srv_name", "")] = row;
  ASSERT_EQ(byName.size(), 2u) << sv.out;
  for (const auto& [name, be] : {std::pair{"s1", &b1_}, std::pair{"s2", &b2_}}) {
    const auto& row = byName[name];
    EXPECT_EQ(row.value("be_name", ""), "app") << row.dump();
    EXPECT_EQ(row.value("srv_addr", ""), "127.0.0.1") << row.dump();
    EXPECT_EQ(row.value("srv_port", -1), be->port()) << row.dump();
    EXPECT_EQ(row.value("srv_admin_state", -1), 0) << row.dump();  // both enabled again
    EXPECT_TRUE(row["srv_op_state"].is_number()) << row.dump();
  }
  closeFd(a.fd);
  closeFd(b.fd);
}

TEST_F(FulcrumctlLive, BadArgumentsAreRefusedAndChangeNothing) {
  ASSERT_NO_FATAL_FAILURE(start());
  const auto before = serverSettings();
  ASSERT_EQ(before.size(), 2u) << ::testing::PrintToString(before);
  struct Case {
    std::vector<std::string> args;
    int code;
    std::string err;  // expected in stderr
  };
  const std::vector<Case> cases = {
      // Checked by fulcrumctl before anything is sent: usage, exit 2.
      {{"addr", "app/s1", "127.0.0.1", "http"}, 2, "bad port 'http'"},
      {{"add", "app/s9"}, 2, "addr is required"},
      {{"weight", "app/s1", "heavy"}, 2, "weight wants N or N%"},
      {{"weight", "app/s1", "-1"}, 2, "weight wants N or N%"},
      {{"addr", "app/s1"}, 2, "ip is required"},
      // Sent, and refused by the server: exit 1 and its words.
      {{"addr", "app/s1", "not-an-ip"}, 1, "Invalid addr 'not-an-ip'"},
      {{"addr", "app/s1", "127.0.0.1", "70000"}, 1, "problem converting port '70000'"},
      {{"weight", "app/s1", "300"}, 1, "Absolute weight can only be between 0 and 256 inclusive."},
      {{"add", "app/s9", "127.0.0.1"}, 1, "has no port"},  // a runtime-added server needs one
      {{"add", "app/s9", "127.0.0.1:99999"}, 1, "invalid port '99999'"},
  };
  for (const Case& c : cases) {
    RunResult r = ctl(sock_, c.args);
    const std::string what = fmt::format("{}", fmt::join(c.args, " "));
    EXPECT_EQ(r.code, c.code) << what << "\n" << describe(r);
    EXPECT_NE(r.err.find(c.err), std::string::npos) << what << "\n" << r.err;
    EXPECT_EQ(r.out, "") << what;
  }
  EXPECT_EQ(serverSettings(), before);
  for (int i = 0; i < 4; ++i) {
    std::string who = hit();
    EXPECT_TRUE(who == "s1" || who == "s2") << who;
  }
}

}  // namespace
}  // namespace fulcrum::test
