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
#include <regex>
#include <sstream>
#include <thread>

#include "fulcrum_fixture.h"

namespace fulcrum::test {
namespace {

const char* ctlBin() { return FULCRUMCTL_BIN; }

RunResult ctl(const std::string& sock, std::vector<std::string> args,
              std::chrono::milliseconds timeout = 20s) {
  std::vector<std::string> argv = {ctlBin(), "-s", sock};
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
    if (fd_ < 0 || listen(fd_, 16) != 0)
      throw std::runtime_error("fake api: bind/listen failed");
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
  EXPECT_TRUE(std::regex_search(fe, std::regex(R"(OPEN\s+2\s+5\s+1000\s+4\.2k\s+3\.0\s+5\.0 MiB\s+3\.0 KiB\s+7\s+1$)")))
      << r.out;
  EXPECT_NE(r.out.find("backend app (roundrobin)"), std::string::npos) << r.out;
  std::string s1 = lineStarting(r.out, "s1");
  EXPECT_TRUE(std::regex_search(
      s1, std::regex(R"(s1\s+127\.0\.0\.1:9001\s+UP\s+10\s+1\s+3\s+1\.5k\s+2\.0\s+1\.0 KiB\s+2\.0 KiB\s+4\s+2\s+L4OK 1ms)")))
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
  EXPECT_TRUE(std::regex_search(lineStarting(sv.out, "app"),
                                std::regex(R"(app\s+s1\s+127\.0\.0\.1:9001\s+UP\s+10\s+10\s+2m05s)")))
      << sv.out;
  EXPECT_NE(sv.out.find("DRAIN"), std::string::npos) << sv.out;  // admin state 0x08
  EXPECT_TRUE(std::regex_search(sv.out, std::regex(R"(s3\s+127\.0\.0\.1:9003\s+MAINT)"))) << sv.out;

  RunResult ss = ctl(sock_, {"sessions"});
  ASSERT_EQ(ss.code, 0) << describe(ss);
  EXPECT_TRUE(std::regex_search(
      ss.out, std::regex(R"(0x1a\s+tcpv4\s+127\.0\.0\.1:5555\s+web\s+app\s+s1\s+3s\s+relaying\s+10 B\s+3\.0 MiB)")))
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
  for (auto args : std::vector<std::vector<std::string>>{
           {"state", "app/s1", "sideways"}, {"disable", "no-slash"}, {"weight", "app/s1", "x"},
           {"maxconn", "server", "app/s1"}, {"frobnicate"}, {}, {"health", "app/s1", "maybe"},
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
    return fmt::format("# pxname,svname,type,status,weight,scur,stot,bin,bout\n"
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
  EXPECT_TRUE(std::regex_search(f1, std::regex(R"(app\s+s1\s+UP\s+1\s+4\s+-\s+-\s+-\s+1000)"))) << f1;
  ASSERT_TRUE(std::regex_search(f2, m, std::regex(R"(app\s+s1\s+UP\s+1\s+4\s+(\S+)\s+(\S+) MiB\s+0 B\s+2000)")))
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
  std::string cmd = fmt::format("{} -s {} stat", ctlBin(), sock_);
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
  EXPECT_TRUE(std::regex_search(l.out, std::regex(R"(  -> 127\.0\.0\.1:9001\s+Proxy\s+10\s+1\s+0\n)")))
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
    auto deadline = Clock::now() + 10s;
    struct stat st {};
    while (::stat(sock_.c_str(), &st) != 0 && Clock::now() < deadline)
      std::this_thread::sleep_for(10ms);
    ASSERT_EQ(::stat(sock_.c_str(), &st), 0) << "no stats socket\n" << fulcrum_->logs();
  }

  // One client: connects, reads the backend's name, closes.
  std::string hit() {
    int fd = connectTcp(SockAddr::loopback4(front_.port()));
    if (fd < 0) return "<connect failed>";
    std::string name;
    if (!readLine(fd, name, 5s)) name = "<no reply>";
    closeFd(fd);
    return name;
  }

  // Polls `fulcrumctl stat` until pred(output) holds; returns the last output.
  std::string statUntil(const std::function<bool(const std::string&)>& pred) {
    std::string last;
    auto deadline = Clock::now() + 10s;
    do {
      RunResult r = ctl(sock_, {"stat"});
      last = describe(r);
      if (r.code == 0 && pred(r.out)) return r.out;
      std::this_thread::sleep_for(50ms);
    } while (Clock::now() < deadline);
    ADD_FAILURE() << "condition not met; last:\n" << last;
    return last;
  }

  // TOTAL of a server in `fulcrumctl stat`, -1 when the row is not there.
  static long total(const std::string& out, const std::string& server) {
    std::smatch m;
    std::string l = lineStarting(out, server);
    // SERVER ADDRESS STATE WEIGHT CUR MAX TOTAL (the state may be two words: "no check").
    if (!std::regex_search(l, m, std::regex(R"(^\s*\S+\s+\S+\s+.+?\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s)")))
      return -1;
    return std::stol(m[4].str());
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
  EXPECT_TRUE(std::regex_search(lineStarting(out, "app"),
                                std::regex(fmt::format(R"(OPEN\s+\d+\s+\d+\s+\S+\s+{}\s)", n1 + n2))))
      << out;

  RunResult l = ctl(sock_, {"-L", "-n", "--stats"});
  ASSERT_EQ(l.code, 0) << describe(l);
  EXPECT_TRUE(std::regex_search(
      l.out, std::regex(fmt::format(R"(  -> {}\s+{}\s)", b1_.addrString(), n1))))
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
  statUntil([](const std::string& o) { return lineStarting(o, "s1").find("MAINT") != std::string::npos; });
  for (int i = 0; i < 6; ++i) EXPECT_EQ(hit(), "s2");

  RunResult sv = ctl(sock_, {"servers", "app"});
  ASSERT_EQ(sv.code, 0) << describe(sv);
  EXPECT_TRUE(std::regex_search(sv.out, std::regex(R"(s1\s+\S+\s+MAINT)"))) << sv.out;

  ASSERT_EQ(ctl(sock_, {"enable", "app/s1"}).code, 0);
  ASSERT_EQ(ctl(sock_, {"state", "app/s2", "drain"}).code, 0);
  statUntil([](const std::string& o) { return lineStarting(o, "s2").find("DRAIN") != std::string::npos; });
  for (int i = 0; i < 6; ++i) EXPECT_EQ(hit(), "s1");

  ASSERT_EQ(ctl(sock_, {"state", "app/s2", "ready"}).code, 0);
  ASSERT_EQ(ctl(sock_, {"weight", "app/s1", "0"}).code, 0);
  statUntil([](const std::string& o) { return lineStarting(o, "s2").find("DRAIN") == std::string::npos; });
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
  EXPECT_TRUE(std::regex_search(info.out, std::regex(fmt::format(R"(Pid:\s+{}\n)", fulcrum_->proc().pid()))))
      << info.out;

  // A held connection shows in sessions, then "shutdown" closes it.
  int fd = connectTcp(SockAddr::loopback4(front_.port()));
  ASSERT_GE(fd, 0);
  std::string name;
  ASSERT_TRUE(readLine(fd, name, 5s));
  std::string out;
  auto deadline = Clock::now() + 10s;
  do {
    RunResult s = ctl(sock_, {"sessions"});
    out = describe(s);
    if (s.code == 0 && std::regex_search(s.out, std::regex(fmt::format(R"(\sapp\s+app\s+{}\s)", name))))
      break;
    std::this_thread::sleep_for(50ms);
  } while (Clock::now() < deadline);
  EXPECT_TRUE(std::regex_search(out, std::regex(fmt::format(R"(\sapp\s+app\s+{}\s)", name)))) << out;
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
  EXPECT_TRUE(std::regex_search(l.out, std::regex(fmt::format(R"(  -> {}\s+Proxy\s+1\s)", b3.addrString()))))
      << l.out;
  // Only the new server takes traffic once the others are out.
  ASSERT_EQ(ctl(sock_, {"-e", "-t", "app", "-r", b1_.addrString(), "-w", "0"}).code, 0);
  ASSERT_EQ(ctl(sock_, {"-e", "-t", "app", "-r", b2_.addrString(), "-w", "0"}).code, 0);
  // The added server keeps its state across the later changes.
  RunResult st = ctl(sock_, {"stat"});
  EXPECT_EQ(lineStarting(st.out, b3.addrString()).find("MAINT"), std::string::npos)
      << "a server added with -a went back to maintenance after -e of another server\n"
      << st.out;
  bool reached = false;
  auto deadline = Clock::now() + 10s;
  while (!reached && Clock::now() < deadline) reached = hit() == "s3";
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
  RunResult vip = ctl(sock_, {"-a", "-t", fmt::format("127.0.0.1:{}", front_.port()), "-r", b3.addrString()});
  EXPECT_EQ(vip.code, 2) << describe(vip);
  EXPECT_NE(vip.err.find("reports no bind addresses"), std::string::npos) << vip.err;
  EXPECT_NE(vip.err.find("-t BACKEND"), std::string::npos) << vip.err;
  RunResult unchanged = ctl(sock_, {"-L", "-n"});
  EXPECT_EQ(unchanged.out.find(b3.addrString()), std::string::npos) << unchanged.out;
}

}  // namespace
}  // namespace fulcrum::test
