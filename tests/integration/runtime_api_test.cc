// The runtime API of the real fulcrum binary over its "stats socket": read with socat
// (as operators do with HAProxy) and with a direct UNIX socket client, act on live traffic.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <map>
#include <set>
#include <sstream>

#include "fulcrum_fixture.h"
#include "support/harness.h"

namespace fulcrum::test {
namespace {

std::string api(const std::string& path, const std::string& line, bool newline = true) {
  return apiRequest(path, line, newline);
}

std::string viaSocat(const std::string& path, const std::string& line) {
  auto r =
      run({"/bin/sh", "-c", "printf '%s\\n' \"$0\" | socat - UNIX-CONNECT:\"$1\"", line, path});
  EXPECT_EQ(r.code, 0) << r.err;
  return r.out;
}

// Connects to the frontend and returns the banner line of the backend that answered.
std::string who(uint16_t port) {
  int fd = connectTcp(SockAddr::loopback4(port));
  if (fd < 0) return "<connect failed>";
  std::string line;
  if (!readLine(fd, line, 5s)) line = "<no banner>";
  closeFd(fd);
  return line;
}

std::map<std::string, int> spread(uint16_t port, int n) {
  std::map<std::string, int> seen;
  for (int i = 0; i < n; ++i) ++seen[who(port)];
  return seen;
}

// A cell of "show stat" CSV by column number (17: status).
std::string cellOf(const std::string& csv, const std::string& px, const std::string& sv,
                   size_t column) {
  std::istringstream in(csv);
  for (std::string l; std::getline(in, l);) {
    if (l.rfind(px + "," + sv + ",", 0) != 0) continue;
    std::vector<std::string> cells;
    std::string cell;
    for (char c : l) {
      if (c == ',') {
        cells.push_back(cell);
        cell.clear();
      } else {
        cell += c;
      }
    }
    return cells.size() > column ? cells[column] : "";
  }
  return "<absent>";
}

std::string statusOf(const std::string& csv, const std::string& px, const std::string& sv) {
  return cellOf(csv, px, sv, 17);
}

class RuntimeApi : public ::testing::Test {
 protected:
  void SetUp() override {
    sock = dir.path() + "/api.sock";
    userSock = dir.path() + "/user.sock";
    operSock = dir.path() + "/oper.sock";
    std::string cfg = "global\n  nbthread 2\n  stats socket " + sock +
                      " level admin mode 640\n  stats socket " + userSock +
                      " level user\n  stats socket " + operSock +
                      " level operator\n"
                      "defaults\n  mode tcp\n  timeout connect 2s\n  timeout client 30s\n"
                      "  timeout server 30s\n"
                      "frontend web\n  bind 127.0.0.1:" +
                      std::to_string(front.port()) +
                      "\n  default_backend app\n"
                      "backend app\n  server s1 " +
                      b1.addrString() + "\n  server s2 " + b2.addrString() + "\n";
    proc = std::make_unique<FulcrumProcess>(cfg, SockAddr::loopback4(front.port()));
    ASSERT_TRUE(proc->ready()) << proc->logs();
    ASSERT_TRUE(eventually([&] { return api(sock, "show info").find("Name: Fulcrum") == 0; }))
        << proc->logs();
  }

  TempDir dir;
  std::string sock, userSock, operSock;
  ReservedPort front;
  Backend b1{Backend::banner("b1")};
  Backend b2{Backend::banner("b2")};
  Backend b3{Backend::banner("b3")};
  std::unique_ptr<FulcrumProcess> proc;
};

TEST_F(RuntimeApi, ShowCommandsWithSocatAndADirectClient) {
  // A live session, held open.
  int held = connectTcp(SockAddr::loopback4(front.port()));
  ASSERT_GE(held, 0);
  std::string banner;
  ASSERT_TRUE(readLine(held, banner));
  for (int i = 0; i < 4; ++i) who(front.port());

  struct stat st {};
  ASSERT_EQ(::lstat(sock.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0640u);  // "mode 640"
  // Without "mode": the owner alone, whatever the umask.
  ASSERT_EQ(::lstat(userSock.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  const std::string info = viaSocat(sock, "show info");
  EXPECT_EQ(info.rfind("Name: Fulcrum\n", 0), 0u) << info;
  EXPECT_NE(info.find("\nPid: " + std::to_string(proc->proc().pid()) + "\n"), std::string::npos);
  EXPECT_NE(info.find("\nNbthread: 2\n"), std::string::npos) << info;
  EXPECT_TRUE(info.size() > 2 && info.substr(info.size() - 2) == "\n\n");

  const std::string stat = viaSocat(sock, "show stat");
  EXPECT_EQ(stat.rfind("# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,", 0), 0u);
  EXPECT_EQ(statusOf(stat, "web", "FRONTEND"), "OPEN");
  EXPECT_EQ(statusOf(stat, "app", "s1"), "no check");
  EXPECT_EQ(statusOf(stat, "app", "BACKEND"), "UP");
  // scur: the held session (the others close).
  EXPECT_TRUE(
      eventually([&] { return cellOf(api(sock, "show stat"), "web", "FRONTEND", 4) == "1"; }));

  // socat-style half-close without a trailing newline works too.
  const std::string state = api(sock, "show servers state app", false);
  EXPECT_EQ(state.rfind("1\n# be_id be_name srv_id srv_name srv_addr ", 0), 0u) << state;
  EXPECT_NE(state.find(" app 1 s1 127.0.0.1 2 0 1 1 "), std::string::npos) << state;

  const std::string sess = api(sock, "show sess");
  EXPECT_NE(sess.find("fe=web be=app srv=s"), std::string::npos) << sess;
  EXPECT_NE(sess.find("state=relaying"), std::string::npos) << sess;

  auto j = api(sock, "show stat json");
  EXPECT_EQ(j.front(), '[') << j;
  closeFd(held);
}

TEST_F(RuntimeApi, MaintAndReadyMoveTraffic) {
  EXPECT_EQ(api(sock, "set server app/s1 state maint"), "\n");
  auto seen = spread(front.port(), 6);
  EXPECT_EQ(seen["b2"], 6) << proc->logs();
  EXPECT_EQ(statusOf(api(sock, "show stat"), "app", "s1"), "MAINT");
  EXPECT_EQ(api(sock, "set server app/s1 state ready"), "\n");
  EXPECT_TRUE(eventually([&] { return spread(front.port(), 4)["b1"] > 0; }));
}

TEST_F(RuntimeApi, WeightAndAddrChangeWhereTrafficGoes) {
  EXPECT_EQ(api(sock, "set server app/s2 weight 0"), "\n") << proc->logs();
  auto seen = spread(front.port(), 6);
  EXPECT_EQ(seen["b1"], 6);
  EXPECT_EQ(api(sock, "get weight app/s2"), "0 (initial 1)\n\n");
  const std::string oldPort = std::to_string(b1.addr().port());
  const std::string b3Port = std::to_string(b3.addr().port());
  EXPECT_EQ(api(sock, "set server app/s1 addr 127.0.0.1 port " + b3Port),
            "no need to change the addr, port changed from '" + oldPort + "' to '" + b3Port +
                "' by 'stats socket command'\n\n");
  EXPECT_TRUE(eventually([&] { return spread(front.port(), 4)["b3"] == 4; })) << proc->logs();
  // A new IP (IPv6 loopback) and port.
  Backend v6{Backend::banner("v6"), true};
  const std::string v6Port = std::to_string(v6.addr().port());
  EXPECT_EQ(api(sock, "set server app/s1 addr ::1 port " + v6Port),
            "IP changed from '127.0.0.1' to '::1', port changed from '" + b3Port + "' to '" +
                v6Port + "' by 'stats socket command'\n\n");
  EXPECT_TRUE(eventually([&] { return spread(front.port(), 4)["v6"] == 4; })) << proc->logs();
  // Refused: nothing moves.
  EXPECT_EQ(api(sock, "set server app/s1 addr 999.1.1.1"),
            "Invalid addr '999.1.1.1' by 'stats socket command'\n\n");
  EXPECT_EQ(api(sock, "set server app/s1 addr 127.0.0.1 port abc"),
            "problem converting port 'abc' to an int by 'stats socket command'\n\n");
  EXPECT_EQ(spread(front.port(), 4)["v6"], 4);
  EXPECT_EQ(api(sock, "set server app/s2 weight 100%"), "\n");
  EXPECT_TRUE(eventually([&] { return spread(front.port(), 6)["b2"] > 0; }));
}

// A change is in force in every worker thread (2 here) when its command answers: the
// very next clients see it, without waiting or retrying (a change applied later, by a
// timer or a poll of the workers, fails this test).
TEST_F(RuntimeApi, ChangesApplyToTheNextClient) {
  const std::string b1Port = std::to_string(b1.addr().port());
  const std::string b3Port = std::to_string(b3.addr().port());
  for (int round = 0; round < 5; ++round) {
    // A structural change (an override of the config in force)...
    ASSERT_NE(api(sock, "set server app/s1 addr 127.0.0.1 port " + b3Port).find("port changed"),
              std::string::npos);
    ASSERT_EQ(api(sock, "set server app/s2 state maint"), "\n");
    EXPECT_EQ(spread(front.port(), 8)["b3"], 8) << "round " << round << "\n" << proc->logs();
    // ... and a runtime state change.
    ASSERT_EQ(api(sock, "set server app/s2 state ready"), "\n");
    ASSERT_EQ(api(sock, "set server app/s1 weight 0"), "\n");
    EXPECT_EQ(spread(front.port(), 8)["b2"], 8) << "round " << round;
    ASSERT_EQ(api(sock, "set server app/s1 weight 1"), "\n");
    ASSERT_NE(api(sock, "set server app/s1 addr 127.0.0.1 port " + b1Port).find("port changed"),
              std::string::npos);
  }
}

TEST_F(RuntimeApi, AddEnableAndDeleteAServer) {
  EXPECT_EQ(api(sock, "add server app/s3 " + b3.addrString()), "New server registered.\n\n")
      << proc->logs();
  EXPECT_EQ(statusOf(api(sock, "show stat"), "app", "s3"), "MAINT");
  EXPECT_EQ(spread(front.port(), 6)["b3"], 0);  // starts in maintenance
  EXPECT_EQ(api(sock, "enable server app/s3"), "\n");
  EXPECT_TRUE(eventually([&] { return spread(front.port(), 6)["b3"] > 0; })) << proc->logs();
  EXPECT_EQ(api(sock, "del server app/s3"), "Only servers in maintenance mode can be deleted.\n\n");
  EXPECT_EQ(api(sock, "disable server app/s3"), "\n");
  EXPECT_TRUE(eventually([&] { return api(sock, "del server app/s3") == "Server deleted.\n\n"; }))
      << proc->logs();
  EXPECT_EQ(statusOf(api(sock, "show stat"), "app", "s3"), "<absent>");
  EXPECT_EQ(spread(front.port(), 6)["b3"], 0);
}

TEST_F(RuntimeApi, ShutdownSessionsClosesALiveConnection) {
  EXPECT_EQ(api(sock, "set server app/s2 state maint"), "\n");
  int fd = connectTcp(SockAddr::loopback4(front.port()));
  ASSERT_GE(fd, 0);
  std::string line;
  ASSERT_TRUE(readLine(fd, line));
  ASSERT_EQ(line, "b1");
  const auto t0 = Clock::now();
  EXPECT_EQ(api(sock, "shutdown sessions server app/s1"), "\n");
  std::string rest;
  // The banner backend would hold the connection for 10 s: an end well before that is
  // Fulcrum's doing.
  EXPECT_TRUE(readToEof(fd, rest, 5s)) << "the session stayed open\n" << proc->logs();
  EXPECT_LT(Clock::now() - t0, 5s);
  closeFd(fd);
  EXPECT_TRUE(eventually([&] { return cellOf(api(sock, "show stat"), "app", "s1", 4) == "0"; }));
}

TEST_F(RuntimeApi, MaxconnCommands) {
  EXPECT_EQ(api(sock, "set maxconn frontend web 5"), "\n") << proc->logs();
  EXPECT_EQ(cellOf(api(sock, "show stat"), "web", "FRONTEND", 6), "5");  // slim
  EXPECT_EQ(api(sock, "set maxconn server app/s1 3"), "\n");
  EXPECT_EQ(cellOf(api(sock, "show stat"), "app", "s1", 6), "3");
  EXPECT_EQ(api(sock, "set maxconn global 100"), "\n");
  EXPECT_NE(api(sock, "show info").find("\nMaxconn: 100\n"), std::string::npos);
  EXPECT_EQ(api(sock, "set maxconn global nope"), "Expects an integer value.\n\n");
  // Still serving: the listener keeps its socket (its backlog is changed in place).
  EXPECT_EQ(who(front.port()).size(), 2u) << proc->logs();
}

// The new limits apply to traffic: a server at its maxconn queues the next client until a
// slot frees; a frontend at its maxconn leaves the next one in the accept queue.
TEST_F(RuntimeApi, MaxconnChangesApplyToTraffic) {
  ASSERT_EQ(api(sock, "set server app/s2 state maint; set maxconn server app/s1 1"), "\n\n");
  int first = connectTcp(SockAddr::loopback4(front.port()));
  ASSERT_GE(first, 0);
  std::string line;
  ASSERT_TRUE(readLine(first, line));
  ASSERT_EQ(line, "b1");
  int second = connectTcp(SockAddr::loopback4(front.port()));
  ASSERT_GE(second, 0);
  // Queued on the backend (qcur 1), no banner yet.
  EXPECT_TRUE(eventually([&] {
    return cellOf(api(sock, "show stat"), "app", "BACKEND", 2) == "1";
  })) << api(sock, "show stat");
  closeFd(first);  // the slot frees: the queued client gets s1
  EXPECT_TRUE(readLine(second, line, 5s));
  EXPECT_EQ(line, "b1");
  closeFd(second);

  ASSERT_EQ(api(sock, "set maxconn server app/s1 0; set maxconn frontend web 1"), "\n\n");
  first = connectTcp(SockAddr::loopback4(front.port()));
  ASSERT_TRUE(first >= 0 && readLine(first, line));
  second = connectTcp(SockAddr::loopback4(front.port()));  // completes in the kernel's queue
  ASSERT_GE(second, 0);
  // It waits in the listeners' accept queue (ss: Recv-Q of the listening sockets).
  auto acceptQueue = [&] {
    RunResult r = run({"/usr/bin/ss", "-Hltn", "sport = :" + std::to_string(front.port())});
    long n = 0;
    std::istringstream in(r.out);
    for (std::string l; std::getline(in, l);) {
      std::istringstream f(l);
      std::string state;
      long q = 0;
      if (f >> state >> q) n += q;
    }
    return n;
  };
  EXPECT_TRUE(eventually([&] { return acceptQueue() == 1; })) << acceptQueue();
  EXPECT_EQ(cellOf(api(sock, "show stat"), "web", "FRONTEND", 4), "1");
  closeFd(first);
  EXPECT_TRUE(readLine(second, line, 5s)) << "the waiting client was never accepted";
  EXPECT_EQ(line, "b1");
  closeFd(second);
}

// Every command through the real socket with good and malformed arguments: the exact
// replies (HAProxy's texts), and that a refused one leaves traffic as it was.
TEST_F(RuntimeApi, EveryCommandAnswersThroughTheSocket) {
  const std::string version = api(sock, "show version");
  EXPECT_FALSE(version.empty() || version == "\n");
  EXPECT_NE(api(sock, "show info").find("\nVersion: " + version.substr(0, version.find('\n'))),
            std::string::npos);
  struct Case {
    const std::string* socket;
    std::string line;
    std::string reply;  // exact; a trailing '*' makes it a prefix
  };
  const std::vector<Case> cases = {
      {&sock, "show backend", "# name\napp\n\n"},
      {&sock, "show cli level", "admin\n\n"},
      {&operSock, "show cli level", "operator\n\n"},
      {&userSock, "show cli level", "user\n\n"},
      {&sock, "help get", "The following commands are valid at this level:\n  get weight*"},
      {&userSock, "help", "The following commands are valid at this level:\n  get weight*"},
      {&sock, "show servers state nope", "Can't find backend.\n\n"},
      {&sock, "show stat nope 2 -1", "No such proxy.\n\n"},
      {&sock, "show stat app x y", "Usage: show stat*"},
      {&sock, "show stat -1 4 -1 typed", "S.3.1.0.pxname.1:KNS:str:app\n*"},
      {&sock, "show info bogus", "Unknown option 'bogus'*"},
      {&sock, "show sess 0x1", "Session not found.\n\n"},
      {&userSock, "show sess", "Permission denied\n\n"},
      {&operSock, "set server app/s1 state maint", "Permission denied\n\n"},
      {&sock, "get weight app/s1", "1 (initial 1)\n\n"},
      {&sock, "get weight app", "Require 'backend/server'.\n\n"},
      {&sock, "get weight app/zz", "No such server.\n\n"},
      {&sock, "set weight app/s1 300",
       "Absolute weight can only be between 0 and 256 inclusive.\n\n"},
      {&sock, "set weight app/s1 -5%", "Relative weight must be positive.\n\n"},
      {&sock, "set weight app/s1 2x", "Trailing garbage in weight string\n\n"},
      {&sock, "set server app/s1 weight", "Require <weight> or <weight%>.\n\n"},
      {&sock, "set server app/s1", "usage: set server*"},
      {&sock, "set server app/s1 addr", "set server <b>/<s> addr requires an address*"},
      {&sock, "set server app/s1 addr 10.0.0.1 port 0",
       "problem converting port '0' to an int by 'stats socket command'\n\n"},
      {&sock, "set maxconn server app/s1", "Require <maxconn>.\n\n"},
      {&sock, "set maxconn server app/s1 5z", "Trailing garbage in maxconn string\n\n"},
      {&sock, "set maxconn frontend", "A frontend name is expected.\n\n"},
      {&sock, "set maxconn frontend app 5", "No such frontend.\n\n"},
      {&sock, "set maxconn frontend web -1", "Value out of range.\n\n"},
      {&sock, "set maxconn global 99999999", "Value out of range.\n\n"},
      {&sock, "enable server app", "Require 'backend/server'.\n\n"},
      {&sock, "disable server nope/s1", "No such backend.\n\n"},
      {&sock, "enable health app/s1",
       "Health check was not configured on this server, cannot enable.\n\n"},
      {&sock, "disable health app/s1", "\n"},
      {&sock, "enable agent app/s1", "Agent was not configured on this server, cannot enable.\n\n"},
      {&sock, "add server app/", "Require 'backend/server'.\n\n"},
      {&sock, "add server app/s1 127.0.0.1:1",
       "Already exists a server with the same name in backend.\n\n"},
      {&sock, "add server app/s9", "'server' expects <name> and <addr>[:<port>] as arguments.\n\n"},
      {&sock, "add server nope/s9 127.0.0.1:1", "No such backend.\n\n"},
      {&sock, "del server app/s1", "Only servers in maintenance mode can be deleted.\n\n"},
      {&sock, "del server app/zz", "No such server.\n\n"},
      {&sock, "shutdown sessions server app", "Require 'backend/server'.\n\n"},
      {&sock, "shutdown sessions server app/zz", "No such server.\n\n"},
      {&sock, "reload now", "Usage: reload\n\n"},
      {&sock, "", "Unknown command. Please enter one of the following commands only:\n*"},
      {&sock, "show backend;get weight app/zz;show cli level",
       "# name\napp\n\nNo such server.\n\nadmin\n\n"},
      {&sock, "get weight app/s1\\;x", "No such server.\n\n"},
  };
  for (const Case& c : cases) {
    const std::string got = api(*c.socket, c.line);
    if (!c.reply.empty() && c.reply.back() == '*') {
      const std::string prefix = c.reply.substr(0, c.reply.size() - 1);
      EXPECT_EQ(got.substr(0, prefix.size()), prefix) << c.line << "\n" << got;
    } else {
      EXPECT_EQ(got, c.reply) << c.line;
    }
  }
  // The operator sees server addresses, the user does not (HAProxy's rule).
  const std::string addr = b1.addrString();
  EXPECT_NE(api(operSock, "show stat").find(addr), std::string::npos);
  EXPECT_EQ(api(userSock, "show stat").find(addr), std::string::npos);
  // Two lines sent together are both answered, then the connection closes.
  int fd = connectUnix(sock);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(sendAll(fd, std::string("show cli level\nshow backend\n")));
  std::string both;
  EXPECT_TRUE(readToEof(fd, both, 5s));
  closeFd(fd);
  EXPECT_EQ(both, "admin\n\n# name\napp\n\n");
  // Nothing changed: both servers serve, with their weights.
  EXPECT_EQ(api(sock, "get weight app/s1; get weight app/s2"),
            "1 (initial 1)\n\n1 (initial 1)\n\n");
  auto seen = spread(front.port(), 6);
  EXPECT_GT(seen["b1"], 0);
  EXPECT_GT(seen["b2"], 0);
}

// Many commands pipelined on one connection (more than one read's worth, more than one
// line limit's worth): every one is answered, in order, then the connection closes.
TEST_F(RuntimeApi, PipelinedCommandsAreAllAnswered) {
  constexpr int kLines = 6000;  // "show cli level\n" x 6000: about 90 KB
  std::string in;
  for (int i = 0; i < kLines; ++i) in += i % 2 == 0 ? "show cli level\n" : "show backend\n";
  int fd = connectUnix(sock);
  ASSERT_GE(fd, 0);
  std::string out;
  std::thread writer([&] { sendAll(fd, in.data(), in.size(), 20s); });
  EXPECT_TRUE(readToEof(fd, out, 20s));
  writer.join();
  closeFd(fd);
  std::string expected;
  for (int i = 0; i < kLines; ++i) expected += i % 2 == 0 ? "admin\n\n" : "# name\napp\n\n";
  EXPECT_EQ(out.size(), expected.size());
  EXPECT_TRUE(out == expected) << "replies differ or are missing";
  // The server stayed responsive.
  EXPECT_EQ(api(sock, "show cli level"), "admin\n\n");
}

// del server refuses a server in maintenance that still has a connection, and takes it
// once the connection has ended.
TEST_F(RuntimeApi, DelServerWaitsForItsConnections) {
  ASSERT_EQ(api(sock, "set server app/s2 state maint"), "\n");
  int held = connectTcp(SockAddr::loopback4(front.port()));
  std::string line;
  ASSERT_TRUE(held >= 0 && readLine(held, line));
  ASSERT_EQ(line, "b1");
  ASSERT_EQ(api(sock, "set server app/s1 state maint"), "\n");
  EXPECT_EQ(api(sock, "del server app/s1"),
            "Server still has connections attached to it, cannot remove it.\n\n");
  EXPECT_EQ(statusOf(api(sock, "show stat"), "app", "s1"), "MAINT");
  closeFd(held);
  EXPECT_TRUE(eventually([&] { return api(sock, "del server app/s1") == "Server deleted.\n\n"; }))
      << proc->logs();
  EXPECT_EQ(statusOf(api(sock, "show stat"), "app", "s1"), "<absent>");
}

TEST_F(RuntimeApi, UserLevelAndMalformedCommandsChangeNothing) {
  EXPECT_EQ(api(userSock, "set server app/s1 state maint"), "Permission denied\n\n");
  EXPECT_EQ(api(userSock, "show sess"), "Permission denied\n\n");
  EXPECT_EQ(api(userSock, "show stat").rfind("# pxname", 0), 0u);
  EXPECT_EQ(api(sock, "set server app/s1 state sleepy"),
            "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n\n");
  EXPECT_EQ(api(sock, "set server app/zz weight 3"), "No such server.\n\n");
  EXPECT_EQ(api(sock, "set server nope/s1 weight 3"), "No such backend.\n\n");
  EXPECT_EQ(api(sock, "add server app/s9 127.0.0.1:1 frobnicate").find("keyword 'server'"), 0u);
  EXPECT_EQ(api(sock, "bogus").rfind("Unknown command", 0), 0u);
  // Both still serve (each worker has its own round-robin cursor: no exact split).
  auto seen = spread(front.port(), 6);
  EXPECT_GT(seen["b1"], 0);
  EXPECT_GT(seen["b2"], 0);
}

TEST_F(RuntimeApi, InteractiveModeAndLongLines) {
  int fd = connectUnix(sock);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(sendAll(fd, std::string("prompt\nshow cli level\n")));
  std::string out;
  ASSERT_TRUE(readExactly(fd, out, std::string("\n> admin\n\n> ").size()));
  EXPECT_EQ(out, "\n> admin\n\n> ");
  ASSERT_TRUE(sendAll(fd, std::string("quit\n")));
  out.clear();
  EXPECT_TRUE(readToEof(fd, out, 5s));
  EXPECT_EQ(out, "");
  closeFd(fd);

  const std::string huge(100 * 1024, 'x');
  EXPECT_EQ(api(sock, huge), "Request too long.\n\n");
  EXPECT_EQ(api(sock, "show cli level"), "admin\n\n");  // the server is still fine
}

}  // namespace
}  // namespace fulcrum::test

namespace fulcrum::test {
namespace {

// The 14th field of a server's "show servers state" line (srv_check_state).
std::string checkStateOf(const std::string& state, const std::string& server) {
  std::istringstream lines(state);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    std::vector<std::string> v;
    for (std::string x; fields >> x;) v.push_back(x);
    if (v.size() > 13 && v[3] == server) return v[13];
  }
  return "<absent>";
}

// As HAProxy: "disable health" stops the checks and freezes the state they gave (a DOWN
// server stays DOWN, an UP one stays UP and reads "no check", whatever its health does
// meanwhile); "enable health" resumes them from there.
TEST(RuntimeApiHealth, DisableHealthFreezesTheStateAndEnableResumes) {
  TempDir dir;
  const std::string sock = dir.path() + "/api.sock";
  ReservedPort front;
  Backend b1{Backend::banner("b1")}, b2{Backend::banner("b2")};
  RefusingPort refusing;  // s1's check port: always fails
  auto s2Check = std::make_unique<Backend>(Backend::banner("chk"));  // s2's: until stopped
  const std::string cfg =
      "global\n  stats socket " + sock +
      " level admin\n"
      "defaults\n  mode tcp\n  timeout connect 2s\n  timeout client 30s\n  timeout server 30s\n"
      "listen app\n  bind 127.0.0.1:" +
      std::to_string(front.port()) +
      "\n"
      "  server s1 " +
      b1.addrString() + " check port " + std::to_string(refusing.port()) +
      " inter 100ms fall 1 rise 1\n"
      "  server s2 " +
      b2.addrString() + " check port " + std::to_string(s2Check->addr().port()) +
      " inter 100ms fall 1 rise 1\n";
  FulcrumProcess f(cfg, SockAddr::loopback4(front.port()), {"-d"});
  ASSERT_TRUE(f.ready()) << f.logs();
  auto status = [&](const std::string& srv) {
    return statusOf(api(sock, "show stat"), "app", srv);
  };
  ASSERT_TRUE(eventually([&] { return status("s1") == "DOWN" && status("s2") == "UP"; }))
      << f.logs();

  EXPECT_EQ(api(sock, "disable health app/s1; disable health app/s2"), "\n\n");
  const std::string state = api(sock, "show servers state app");
  EXPECT_EQ(checkStateOf(state, "s1"), "2") << state;  // configured, not enabled
  EXPECT_EQ(checkStateOf(state, "s2"), "2") << state;
  EXPECT_EQ(status("s1"), "DOWN");
  EXPECT_EQ(status("s2"), "no check");
  EXPECT_EQ(cellOf(api(sock, "show stat"), "app", "s2", 36), "");  // check_status: none
  // s2's check port goes away: with its checks stopped, s2 stays in service. s1's checks,
  // enabled again, mark time: five more of its results and s2 is still UP.
  s2Check.reset();
  const size_t before = f.logs().size();
  EXPECT_EQ(api(sock, "enable health app/s1"), "\n");
  auto s1Results = [&] {
    const std::string tail = f.logs().substr(before);
    size_t n = 0;
    for (size_t at = tail.find("health check of app/s1:"); at != std::string::npos;
         at = tail.find("health check of app/s1:", at + 1))
      ++n;
    return n;
  };
  ASSERT_TRUE(eventually([&] { return s1Results() >= 5; })) << f.logs();
  EXPECT_EQ(status("s1"), "DOWN");  // enabling did not make it UP
  EXPECT_EQ(status("s2"), "no check");
  for (int i = 0; i < 4; ++i) EXPECT_EQ(who(front.port()), "b2");
  // s2's checks resume and find its check port closed.
  EXPECT_EQ(api(sock, "enable health app/s2"), "\n");
  EXPECT_TRUE(eventually([&] { return status("s2") == "DOWN"; })) << f.logs();
  // Nothing to enable without an agent; disabling what is not there is a no-op.
  EXPECT_EQ(api(sock, "enable agent app/s1"),
            "Agent was not configured on this server, cannot enable.\n\n");
  EXPECT_EQ(api(sock, "disable agent app/s1"), "\n");
}

}  // namespace
}  // namespace fulcrum::test

namespace fulcrum::test {
namespace {

std::string apiConfig(const std::string& global, uint16_t port, const Backend& be) {
  return "global\n" + global +
         "defaults\n  mode tcp\n  timeout connect 2s\n  timeout client 30s\n  timeout server 30s\n"
         "listen app\n  bind 127.0.0.1:" +
         std::to_string(port) + "\n  server s1 " + be.addrString() + "\n";
}

// stats maxconn bounds the clients (the extra one is closed unanswered, and logged);
// stats timeout closes idle ones.
TEST(RuntimeApiSocket, MaxconnAndTimeout) {
  TempDir dir;
  const std::string sock = dir.path() + "/api.sock";
  ReservedPort front;
  Backend be{Backend::banner("b1")};
  FulcrumProcess f(
      apiConfig("  stats socket " + sock + "\n  stats maxconn 2\n  stats timeout 300ms\n",
                front.port(), be),
      SockAddr::loopback4(front.port()));
  ASSERT_TRUE(f.ready()) << f.logs();
  // Two clients in interactive mode hold both slots.
  int a = connectUnix(sock), b = connectUnix(sock);
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  std::string got;
  ASSERT_TRUE(sendAll(a, std::string("prompt\n")) && readExactly(a, got, 2, 5s)) << got;
  ASSERT_TRUE(sendAll(b, std::string("prompt\n")) && readExactly(b, got, 2, 5s)) << got;
  const auto idleSince = std::chrono::steady_clock::now();  // a and b's last activity
  int c = connectUnix(sock);
  ASSERT_GE(c, 0);
  sendAll(c, std::string("show info\n"));
  std::string rest;
  const auto tc = std::chrono::steady_clock::now();
  (void)readToEof(c, rest, 5s);  // EOF, or a reset (the request was never read)
  EXPECT_LT(std::chrono::steady_clock::now() - tc, 4s) << "the extra client was kept open";
  EXPECT_EQ(rest, "") << "a client over stats maxconn was served";
  closeFd(c);
  EXPECT_TRUE(f.proc().waitForErr("stats maxconn", 5s)) << f.logs();
  // Idle past stats timeout: both are closed by the server, and a new client is served.
  EXPECT_TRUE(readToEof(a, rest, 5s));
  EXPECT_TRUE(readToEof(b, rest, 5s));
  EXPECT_GE(std::chrono::steady_clock::now() - idleSince, 250ms);
  closeFd(a);
  closeFd(b);
  EXPECT_TRUE(eventually([&] { return api(sock, "show info").find("Name: Fulcrum") == 0; }));
}

// A stale socket file (nobody listening) is replaced; a regular file is never removed and
// stops the start with a message naming the file and line.
TEST(RuntimeApiSocket, StaleSocketReplacedRegularFileKept) {
  TempDir dir;
  const std::string sock = dir.path() + "/api.sock";
  {
    int s = bindUnix(sock);
    ASSERT_GE(s, 0);
    closeFd(s);  // the file stays, nobody listens: stale
  }
  ReservedPort front;
  Backend be{Backend::banner("b1")};
  {
    FulcrumProcess f(apiConfig("  stats socket " + sock + "\n", front.port(), be),
                     SockAddr::loopback4(front.port()));
    ASSERT_TRUE(f.ready()) << f.logs();
    EXPECT_EQ(api(sock, "show info").find("Name: Fulcrum"), 0u) << f.logs();
  }
  struct stat st {};
  EXPECT_NE(::lstat(sock.c_str(), &st), 0) << "the socket file is left after exit";
  // A socket another process listens on is not taken over: the start fails, and the
  // other process keeps its socket.
  const std::string taken = dir.path() + "/taken.sock";
  int other = bindUnix(taken);
  ASSERT_GE(other, 0);
  ASSERT_EQ(::listen(other, 4), 0);
  RunResult busy =
      run({fulcrumBin(), "-f",
           dir.write("busy.cfg", apiConfig("  stats socket " + taken + "\n", front.port(), be))},
          20s);
  EXPECT_NE(busy.code, 0);
  EXPECT_NE(busy.err.find("busy.cfg:2:"), std::string::npos) << busy.err;
  int probe = connectUnix(taken);
  EXPECT_GE(probe, 0) << "the other process lost its socket";
  if (probe >= 0) closeFd(probe);
  closeFd(other);
  const std::string file = dir.write("notasocket", "precious\n");
  RunResult r =
      run({fulcrumBin(), "-f",
           dir.write("bad.cfg", apiConfig("  stats socket " + file + "\n", front.port(), be))},
          20s);
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("bad.cfg:2:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("not a socket"), std::string::npos) << r.err;
  EXPECT_EQ(readFile(file), "precious\n");
}

}  // namespace
}  // namespace fulcrum::test
