// The fulcrum daemon running the packet data plane, as an operator runs it: a
// configuration with a `dataplane xdp` frontend and `xdp-interface l0`, started in the
// balancer's namespace. Clients reach the VIP, the XDP program encapsulates their packets
// to two reals (IPIP, each real's MAC found in the neighbour table), the reals
// decapsulate (fulcrum-decap) and answer straight to the client. Health checks take a
// stopped real out of the ring after the process dropped root; the runtime API shows it;
// at exit the program leaves the interface.
#include <gtest/gtest.h>
#include <signal.h>

#include <functional>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "netns_util.h"
#include "support/harness.h"

namespace fulcrum::test {
namespace {

using namespace netns;

const std::string kDecap = FULCRUM_DECAP_BIN;
const std::string kFulcrum = FULCRUM_BIN;

// An echo server on every address of a real, port 80: the VIP's traffic and the health
// checks. It answers "<name> saw <data>".
std::string echoServerOn(const std::string& name, bool v6) {
  return std::string("python3 -c \"") +
         "import socket, threading\n"
         "s=socket.socket(" +
         (v6 ? "socket.AF_INET6" : "") +
         "); s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n"
         "s.bind(('" +
         (v6 ? "::" : "0.0.0.0") +
         "',80)); s.listen(64)\n"
         "def serve(c):\n"
         "  c.settimeout(5)\n"
         "  try:\n"
         "    d=c.recv(1000)\n"
         "    if d: c.sendall(b'" +
         name +
         " saw '+d)\n"
         "  except Exception: pass\n"
         "  c.close()\n"
         "while True:\n"
         "  c,a=s.accept(); threading.Thread(target=serve,args=(c,),daemon=True).start()\n"
         "\"";
}

std::string echoServer(const std::string& name) { return echoServerOn(name, false); }

// Like echoServer, but answers every message of a connection until the client closes it.
std::string chattyServer(const std::string& name) {
  return "python3 -c \""
         "import socket, threading\n"
         "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n"
         "s.bind(('0.0.0.0',80)); s.listen(64)\n"
         "def serve(c):\n"
         "  c.settimeout(30)\n"
         "  try:\n"
         "    while True:\n"
         "      d=c.recv(1000)\n"
         "      if not d: break\n"
         "      c.sendall(b'" +
         name +
         " saw '+d)\n"
         "  except Exception: pass\n"
         "  c.close()\n"
         "while True:\n"
         "  c,a=s.accept(); threading.Thread(target=serve,args=(c,),daemon=True).start()\n"
         "\"";
}

// The balancer's configuration: the packet data plane on l0, the runtime API on `api`,
// `global` more global lines, then `sections`.
std::string lbConfig(const std::string& api, const std::string& global,
                     const std::string& sections) {
  return "global\n" + global + "    xdp-interface l0\n    stats socket " + api +
         " level admin\n"
         "defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 5s\n"
         "    timeout server 5s\n" +
         sections;
}

// On every real: fulcrum-decap (IPIP and GUE to port 6080) and the server `serverFor(i)`,
// a command for real i.
void startReals(const Topology& t, const TempDir& dir,
                const std::function<std::string(size_t)>& serverFor,
                std::vector<std::unique_ptr<Process>>& decaps,
                std::vector<std::unique_ptr<Process>>& servers) {
  for (size_t i = 0; i < t.reals.size(); ++i) {
    auto d = std::make_unique<Process>();
    d->start({"/bin/sh", "-c", "exec " + in(t.reals[i], kDecap + " attach r0 --gue-port 6080")},
             dir.path());
    ASSERT_TRUE(eventually([&] { return d->out().find("attached to r0") != std::string::npos; }))
        << d->err();
    decaps.push_back(std::move(d));
    auto s = std::make_unique<Process>();
    s->start({"/bin/sh", "-c", "exec " + in(t.reals[i], serverFor(i))}, dir.path());
    servers.push_back(std::move(s));
  }
}

// The same with a server named after the real ("real0", "real1", ...).
void startReals(const Topology& t, const TempDir& dir, std::string (*serverFor)(const std::string&),
                std::vector<std::unique_ptr<Process>>& decaps,
                std::vector<std::unique_ptr<Process>>& servers) {
  startReals(
      t, dir, [&](size_t i) { return serverFor("real" + std::to_string(i)); }, decaps, servers);
}

// n connections to the VIP from the client, one answer line each ("?" for a failure).
std::vector<std::string> connect(const Topology& t, int n) {
  const std::string script =
      "python3 -c \""
      "import socket\n"
      "for i in range(" +
      std::to_string(n) +
      "):\n"
      "  try:\n"
      "    c=socket.create_connection(('192.0.2.10',80),timeout=3)\n"
      "    c.sendall(b'hello'); print(c.recv(1000).decode() or '?'); c.close()\n"
      "  except Exception as e: print('?', e)\n"
      "\"";
  RunResult r = run({"/bin/sh", "-c", in(t.cli, script)}, 60s);
  std::vector<std::string> lines;
  std::istringstream is(r.out);
  for (std::string l; std::getline(is, l);) lines.push_back(l);
  return lines;
}

std::string serverLine(const std::string& api, const std::string& server) {
  std::istringstream is(apiRequest(api, "show stat"));
  for (std::string l; std::getline(is, l);)
    if (l.rfind("reals," + server + ",", 0) == 0) return l;
  return "";
}

// A cell of "show stat": the row whose first two cells are proxy,name, the column named.
uint64_t statCell(const std::string& api, const std::string& proxy, const std::string& name,
                  const std::string& column) {
  std::istringstream is(apiRequest(api, "show stat"));
  std::string header, line;
  std::getline(is, header);
  auto cells = [](const std::string& l) {
    std::vector<std::string> v;
    std::istringstream cs(l);
    for (std::string c; std::getline(cs, c, ',');) v.push_back(c);
    return v;
  };
  const auto names = cells(header.substr(header.rfind('#', 0) == 0 ? 2 : 0));
  while (std::getline(is, line)) {
    const auto v = cells(line);
    if (v.size() < 2 || v[0] != proxy || v[1] != name) continue;
    for (size_t i = 0; i < names.size() && i < v.size(); ++i)
      if (names[i] == column) return v[i].empty() ? 0 : std::stoull(v[i]);
  }
  return 0;
}

uint64_t xdpCounter(const std::string& api, const std::string& name) {
  std::istringstream is(apiRequest(api, "show xdp"));
  for (std::string l; std::getline(is, l);)
    if (l.rfind(name + ": ", 0) == 0) return std::stoull(l.substr(name.size() + 2));
  return 0;
}

TEST(NetnsDaemon, PacketServiceFromTheConfigWithHealthChecks) {
  Topology t(2);
  ASSERT_TRUE(t.ok) << "cannot build the namespaces (root, iproute2, ethtool needed)";
  TempDir dir;
  std::vector<std::unique_ptr<Process>> decaps, servers;
  ASSERT_NO_FATAL_FAILURE(startReals(t, dir, echoServer, decaps, servers));
  const std::string api = dir.path() + "/api.sock";
  const std::string cfg = dir.write(
      "fulcrum.cfg",
      // As a service runs: the privileges go after the start; the maps stay writable and
      // the program still leaves the interface at exit.
      lbConfig(
          api, "    user nobody\n    group nogroup\n",
          "frontend vip\n    bind 192.0.2.10:80\n    dataplane xdp\n    default_backend reals\n"
          "backend reals\n    default-server check inter 200ms fall 2 rise 1\n"
          "    server r0 " +
              t.realAddr(0) + ":80\n    server r1 " + t.realAddr(1) + ":80\n"));
  Process lb;
  lb.start({"/bin/sh", "-c", "exec " + in(t.lb, kFulcrum + " -f " + cfg)}, dir.path());
  ASSERT_TRUE(lb.waitForErr("XDP program attached to l0 (native)", 10s)) << lb.err();
  ASSERT_TRUE(eventually([&] {
    return serverLine(api, "r0").find(",UP,") != std::string::npos &&
           serverLine(api, "r1").find(",UP,") != std::string::npos;
  })) << lb.err();

  // 16 connections: each answered by a real, both reals used (Maglev over two).
  std::map<std::string, int> by;
  for (const std::string& l : connect(t, 16)) ++by[l];
  EXPECT_EQ(by["real0 saw hello"] + by["real1 saw hello"], 16) << lb.err();
  EXPECT_GT(by["real0 saw hello"], 0);
  EXPECT_GT(by["real1 saw hello"], 0);
  // "Which real gets this flow?": the table's answer is the real that answers the flow.
  const std::string which =
      std::string(FULCRUM_CTL_BIN) + " --socket " + api + " which 192.0.2.10:80 ";
  for (int port : {40001, 40002, 40003, 40004}) {
    RunResult w = run({"/bin/sh", "-c", which + "10.201.0.1:" + std::to_string(port)}, 10s);
    ASSERT_EQ(w.code, 0) << w.err;
    const bool r0 = w.out.find("reals/r0 (") != std::string::npos;
    EXPECT_NE(r0, w.out.find("reals/r1 (") != std::string::npos) << w.out;
    const std::string script =
        "python3 -c \"import socket\n"
        "c=socket.socket(); c.bind(('10.201.0.1'," +
        std::to_string(port) +
        "))\n"
        "c.settimeout(3); c.connect(('192.0.2.10',80)); c.sendall(b'hello'); "
        "print(c.recv(100).decode())\n\"";
    RunResult got = run({"/bin/sh", "-c", in(t.cli, script)}, 20s);
    EXPECT_EQ(got.out, std::string(r0 ? "real0" : "real1") + " saw hello\n") << w.out << got.err;
  }
  RunResult none =
      run({"/bin/sh", "-c",
           std::string(FULCRUM_CTL_BIN) + " --socket " + api + " which 192.0.2.99:80 10.201.0.1:1"},
          10s);
  EXPECT_EQ(none.code, 1);
  EXPECT_NE(none.err.find("No packet service serves tcp 192.0.2.99:80."), std::string::npos)
      << none.err;

  // The counters: the program's in "show xdp", the flows in the frontend's row of "show
  // stat" (sampled every second): one new flow per connection, at least.
  EXPECT_GE(xdpCounter(api, "forwarded"), 16u * 3);  // SYN, data, ACKs, FIN per connection
  EXPECT_GE(xdpCounter(api, "conn_table_misses"), 16u);
  EXPECT_TRUE(eventually([&] { return statCell(api, "vip", "FRONTEND", "stot") >= 16; }))
      << apiRequest(api, "show stat");
  EXPECT_GT(statCell(api, "vip", "FRONTEND", "bin"), 16u * 40);
  // And per real: the flows each was given (its connections), which add up to the
  // frontend's; its packets in the metrics.
  EXPECT_TRUE(eventually([&] {
    return statCell(api, "reals", "r0", "stot") + statCell(api, "reals", "r1", "stot") ==
           statCell(api, "vip", "FRONTEND", "stot");
  })) << apiRequest(api, "show stat");
  EXPECT_GT(statCell(api, "reals", "r0", "stot"), 0u);
  EXPECT_GT(statCell(api, "reals", "r1", "stot"), 0u);
  EXPECT_GT(statCell(api, "reals", "r0", "bin"), 0u);

  // real1's server stops: its checks fail, it goes DOWN, every new connection goes to real0.
  servers[1]->signal(SIGKILL);
  servers[1]->wait(5s);
  ASSERT_TRUE(eventually([&] { return serverLine(api, "r1").find(",DOWN,") != std::string::npos; }))
      << serverLine(api, "r1");
  by.clear();
  for (const std::string& l : connect(t, 8)) ++by[l];
  EXPECT_EQ(by["real0 saw hello"], 8) << lb.err();

  // SIGTERM: the program leaves the interface.
  lb.signal(SIGTERM);
  EXPECT_EQ(lb.wait(15s), 0) << lb.err();
  EXPECT_EQ(out(in(t.lb, "ip link show l0")).find("xdp"), std::string::npos);
  for (auto& s : servers) s->signal(SIGKILL);
  for (auto& d : decaps) d->signal(SIGTERM);
  for (auto& d : decaps) d->wait(10s);
}

// Every forwarding mode in one backend (per-server "forward"), and IPVS quiescence: a
// server set to weight 0 takes no new flow while a connection it already has goes on.
TEST(NetnsDaemon, DrGueAndIpipRealsAndWeightZeroDrains) {
  Topology t(3);
  ASSERT_TRUE(t.ok) << "cannot build the namespaces (root, iproute2, ethtool needed)";
  TempDir dir;
  std::vector<std::unique_ptr<Process>> decaps, servers;
  ASSERT_NO_FATAL_FAILURE(startReals(t, dir, chattyServer, decaps, servers));
  const std::string api = dir.path() + "/api.sock";
  const std::string cfg = dir.write(
      "fulcrum.cfg",
      lbConfig(
          api, "",
          "frontend vip\n    bind 192.0.2.10:80\n    dataplane xdp\n    default_backend reals\n"
          "backend reals\n    default-server check inter 200ms\n"
          "    server r0 " +
              t.realAddr(0) +
              ":80 forward dr\n"
              "    server r1 " +
              t.realAddr(1) +
              ":80 forward gue\n"
              "    server r2 " +
              t.realAddr(2) + ":80 forward ipip\n"));
  Process lb;
  lb.start({"/bin/sh", "-c", "exec " + in(t.lb, kFulcrum + " -f " + cfg)}, dir.path());
  ASSERT_TRUE(lb.waitForErr("XDP program attached to l0 (native)", 10s)) << lb.err();
  ASSERT_TRUE(eventually([&] {
    return serverLine(api, "r0").find(",UP,") != std::string::npos &&
           serverLine(api, "r1").find(",UP,") != std::string::npos &&
           serverLine(api, "r2").find(",UP,") != std::string::npos;
  })) << lb.err();
  std::map<std::string, int> by;
  for (const std::string& l : connect(t, 30)) ++by[l];
  EXPECT_GT(by["real0 saw hello"], 0) << lb.err();  // DR
  EXPECT_GT(by["real1 saw hello"], 0) << lb.err();  // GUE
  EXPECT_GT(by["real2 saw hello"], 0) << lb.err();  // IPIP
  EXPECT_EQ(by["real0 saw hello"] + by["real1 saw hello"] + by["real2 saw hello"], 30);

  // A long connection on each real, then r0 and r1 drained (weight 0): new connections go
  // to r2 only, and every long connection still talks.
  const std::string longClient =
      "python3 -u -c \""
      "import socket, sys, time\n"
      "cs=[socket.create_connection(('192.0.2.10',80),timeout=5) for i in range(24)]\n"
      "for c in cs: c.sendall(b'one'); print(c.recv(100).decode())\n"
      "sys.stdout.flush()\n"
      "while not __import__('os').path.exists('" +
      dir.path() +
      "/GO'): time.sleep(0.05)\n"
      "for c in cs: c.sendall(b'two'); print(c.recv(100).decode())\n"
      "\"";
  Process longRun;
  longRun.start({"/bin/sh", "-c", "exec " + in(t.cli, longClient)}, dir.path());
  ASSERT_TRUE(eventually([&] {
    std::istringstream is(longRun.out());
    int n = 0;
    for (std::string l; std::getline(is, l);) n += l.find(" saw one") != std::string::npos;
    return n == 24;
  })) << longRun.err();
  EXPECT_NE(longRun.out().find("real0 saw one"), std::string::npos) << longRun.out();
  EXPECT_EQ(apiRequest(api, "set server reals/r0 weight 0"), "\n");
  EXPECT_EQ(apiRequest(api, "set server reals/r1 weight 0"), "\n");
  by.clear();
  for (const std::string& l : connect(t, 12)) ++by[l];
  EXPECT_EQ(by["real2 saw hello"], 12) << lb.err();
  dir.write("GO", "");
  EXPECT_EQ(longRun.wait(20s), 0) << longRun.err();
  std::istringstream is(longRun.out());
  std::map<std::string, int> firsts, seconds;
  for (std::string l; std::getline(is, l);) {
    if (l.find(" saw one") != std::string::npos) ++firsts[l.substr(0, 5)];
    if (l.find(" saw two") != std::string::npos) ++seconds[l.substr(0, 5)];
  }
  EXPECT_EQ(firsts, seconds) << longRun.out();  // each connection answered by the same real
  lb.signal(SIGTERM);
  EXPECT_EQ(lb.wait(15s), 0) << lb.err();
  for (auto& p : servers) p->signal(SIGKILL);
  for (auto& p : decaps) p->signal(SIGTERM);
}

// The lines IPVS users type, with only the command's name changed: a packet service
// added at run time (the program loads then), a real by NAT (the real routes its replies
// to the client through the balancer, whose XDP program rewrites them back from the
// VIP), then the service deleted (the VIP is the balancer's kernel's again).
TEST(NetnsDaemon, IpvsadmLinesThroughFulcrumctl) {
  Topology t(1);
  ASSERT_TRUE(t.ok) << "cannot build the namespaces (root, iproute2, ethtool needed)";
  ASSERT_TRUE(sh(in(t.reals[0], "ip route add 10.201.0.1/32 via 10.201.0.2")));
  TempDir dir;
  Process server;
  server.start({"/bin/sh", "-c", "exec " + in(t.reals[0], echoServer("real0"))}, dir.path());
  const std::string api = dir.path() + "/api.sock";
  const std::string cfg = dir.write("fulcrum.cfg", lbConfig(api, "", ""));
  Process lb;
  lb.start({"/bin/sh", "-c", "exec " + in(t.lb, kFulcrum + " -f " + cfg)}, dir.path());
  ASSERT_TRUE(eventually([&] { return access(api.c_str(), F_OK) == 0; })) << lb.err();
  auto ctl = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {FULCRUM_CTL_BIN, "--socket", api});
    return run(args, 20s);
  };
  RunResult add = ctl({"-A", "-t", "192.0.2.10:80", "-s", "rr"});
  ASSERT_EQ(add.code, 0) << add.err << lb.err();
  EXPECT_TRUE(lb.waitForErr("XDP program attached to l0", 10s)) << lb.err();
  RunResult real = ctl({"-a", "-t", "192.0.2.10:80", "-r", t.realAddr(0) + ":80", "-m"});
  ASSERT_EQ(real.code, 0) << real.err << lb.err();
  // ipvsadm's layout: the VIP, its scheduler, the real by NAT ("Masq").
  RunResult list = ctl({"-L", "-n"});
  EXPECT_NE(list.out.find("TCP  192.0.2.10:80 wrr\n"), std::string::npos) << list.out;
  EXPECT_TRUE(
      std::regex_search(list.out, std::regex("  -> " + t.realAddr(0) + R"(:80\s+Masq\s+1\s)")))
      << list.out;

  std::map<std::string, int> by;
  for (const std::string& l : connect(t, 4)) ++by[l];
  EXPECT_EQ(by["real0 saw hello"], 4) << lb.err();
  EXPECT_GE(xdpCounter(api, "nat_returned"), 4u);

  // -S prints what -R restores; -C clears.
  RunResult saved = ctl({"-S"});
  ASSERT_EQ(saved.code, 0) << saved.err;
  EXPECT_EQ(saved.out, "-A -t 192.0.2.10:80 -s wrr\n-a -t 192.0.2.10:80 -r " + t.realAddr(0) +
                           ":80 -m -w 1\n");
  ASSERT_EQ(ctl({"-C"}).code, 0);
  EXPECT_EQ(ctl({"-S"}).out, "");
  by.clear();
  for (const std::string& l : connect(t, 2)) ++by[l];
  EXPECT_EQ(by["real0 saw hello"], 0);  // nothing serves the VIP any more
  const std::string file = dir.write("rules", saved.out);
  RunResult restored = run(
      {"/bin/sh", "-c", std::string(FULCRUM_CTL_BIN) + " --socket " + api + " -R < " + file}, 20s);
  ASSERT_EQ(restored.code, 0) << restored.err;
  by.clear();
  for (const std::string& l : connect(t, 2)) ++by[l];
  EXPECT_EQ(by["real0 saw hello"], 2) << lb.err();

  RunResult del = ctl({"-D", "-t", "192.0.2.10:80"});
  ASSERT_EQ(del.code, 0) << del.err;
  EXPECT_EQ(ctl({"-S"}).out, "");
  lb.signal(SIGTERM);
  EXPECT_EQ(lb.wait(15s), 0) << lb.err();
  server.signal(SIGKILL);
}

// A UDP echo server on a real, port 53, on the VIP (DSR: the reply must leave from the VIP)
// and on the real's own address (NAT): "<name> saw <data>".
std::string udpServer(const Topology& t, size_t i) {
  return "python3 -c \""
         "import socket, select\n"
         "ss=[]\n"
         "for a in ('192.0.2.10','" +
         t.realAddr(i) +
         "'):\n"
         "  s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind((a,53)); ss.append(s)\n"
         "while True:\n"
         "  r,_,_=select.select(ss,[],[])\n"
         "  for s in r:\n"
         "    d,a=s.recvfrom(2000); s.sendto(b'real" +
         std::to_string(i) +
         " saw '+d,a)\n"
         "\"";
}

// From the client: `flows` UDP sockets, each sending `each` datagrams to VIP:53 and reading
// each answer; one line per answer ("?" for a timeout), prefixed with the flow's number.
std::vector<std::string> udpExchanges(const Topology& t, int flows, int each) {
  const std::string script =
      "python3 -c \""
      "import socket\n"
      "for f in range(" +
      std::to_string(flows) +
      "):\n"
      "  s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.settimeout(2)\n"
      "  for i in range(" +
      std::to_string(each) +
      "):\n"
      "    s.sendto(b'hello',('192.0.2.10',53))\n"
      "    try: print(f, s.recvfrom(1000)[0].decode())\n"
      "    except Exception as e: print(f, '?')\n"
      "\"";
  RunResult r = run({"/bin/sh", "-c", in(t.cli, script)}, 60s);
  std::vector<std::string> lines;
  std::istringstream is(r.out);
  for (std::string l; std::getline(is, l);) lines.push_back(l);
  return lines;
}

// UDP VIPs on the packet data plane: a udp-lb section with "dataplane xdp" (IPIP and DR
// reals answering the client directly; each flow stays on its real), then one added with
// fulcrumctl -A -u and a NAT real.
TEST(NetnsDaemon, UdpVipsFromTheConfigAndFromFulcrumctl) {
  Topology t(2);
  ASSERT_TRUE(t.ok) << "cannot build the namespaces (root, iproute2, ethtool needed)";
  TempDir dir;
  std::vector<std::unique_ptr<Process>> decaps, servers;
  ASSERT_NO_FATAL_FAILURE(startReals(
      t, dir, [&](size_t i) { return udpServer(t, i); }, decaps, servers));
  const std::string api = dir.path() + "/api.sock";
  const std::string cfg = dir.write(
      "fulcrum.cfg", lbConfig(api, "",
                              "udp-lb dns\n    dgram-bind 192.0.2.10:53\n    dataplane xdp\n"
                              "    server r0 " +
                                  t.realAddr(0) + ":53 forward ipip\n    server r1 " +
                                  t.realAddr(1) + ":53 forward dr\n"));
  Process lb;
  lb.start({"/bin/sh", "-c", "exec " + in(t.lb, kFulcrum + " -f " + cfg)}, dir.path());
  ASSERT_TRUE(lb.waitForErr("XDP program attached to l0 (native)", 10s)) << lb.err();
  // 16 flows of 3 datagrams: every datagram answered, both reals used, and each flow's
  // answers from one real (Maglev on the 5-tuple, then the connection table).
  std::map<std::string, std::set<std::string>> realsOf;
  std::map<std::string, int> by;
  for (const std::string& l : udpExchanges(t, 16, 3)) {
    const auto sp = l.find(' ');
    realsOf[l.substr(0, sp)].insert(l.substr(sp + 1));
    ++by[l.substr(sp + 1)];
  }
  EXPECT_EQ(by["?"], 0) << lb.err();
  EXPECT_GT(by["real0 saw hello"], 0) << lb.err();  // IPIP
  EXPECT_GT(by["real1 saw hello"], 0) << lb.err();  // DR
  EXPECT_EQ(by["real0 saw hello"] + by["real1 saw hello"], 48);
  for (const auto& [flow, reals] : realsOf) EXPECT_EQ(reals.size(), 1u) << "flow " << flow;
  const std::string services = apiRequest(api, "show xdp services");
  EXPECT_NE(services.find("dns udp 192.0.2.10:53 maglev"), std::string::npos) << services;

  // ipvsadm's lines for a UDP service (-u) on another port of the VIP, with a NAT real
  // (which routes its replies through the balancer).
  ASSERT_TRUE(sh(in(t.reals[0], "ip route add 10.201.0.1/32 via 10.201.0.2")));
  auto ctl = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {FULCRUM_CTL_BIN, "--socket", api});
    return run(args, 20s);
  };
  RunResult add = ctl({"-A", "-u", "192.0.2.10:5353", "-s", "rr"});
  ASSERT_EQ(add.code, 0) << add.err << lb.err();
  RunResult real = ctl({"-a", "-u", "192.0.2.10:5353", "-r", t.realAddr(0) + ":53", "-m"});
  ASSERT_EQ(real.code, 0) << real.err << lb.err();
  RunResult list = ctl({"-L", "-n"});
  EXPECT_NE(list.out.find("UDP  192.0.2.10:5353 wrr\n"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("UDP  192.0.2.10:53 mh\n"), std::string::npos) << list.out;
  RunResult saved = ctl({"-S"});
  EXPECT_EQ(saved.out, "-A -u 192.0.2.10:5353 -s wrr\n-a -u 192.0.2.10:5353 -r " + t.realAddr(0) +
                           ":53 -m -w 1\n");
  const std::string nat =
      "python3 -c \""
      "import socket\n"
      "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.settimeout(2)\n"
      "s.sendto(b'nat',('192.0.2.10',5353)); d,a=s.recvfrom(1000); print(d.decode(), a[0], a[1])\n"
      "\"";
  RunResult r = run({"/bin/sh", "-c", in(t.cli, nat)}, 20s);
  // The reply comes back rewritten: from the VIP and its port, not from the real.
  EXPECT_EQ(r.out, "real0 saw nat 192.0.2.10 5353\n") << r.err << lb.err();
  RunResult which = ctl({"which", "-u", "192.0.2.10:53", "10.201.0.1:40000"});
  EXPECT_EQ(which.code, 0) << which.err;
  EXPECT_NE(which.out.find("frontend dns"), std::string::npos) << which.out;
  lb.signal(SIGTERM);
  EXPECT_EQ(lb.wait(15s), 0) << lb.err();
  for (auto& p : servers) p->signal(SIGKILL);
  for (auto& p : decaps) p->signal(SIGTERM);
}

// An IPv6 VIP: the same daemon, reals reached by IP6IP6 (decapsulated by fulcrum-decap)
// and by L2 direct routing, answering the client directly from the VIP.
TEST(NetnsDaemon, AnIpv6VipWithIp6ip6AndDrReals) {
  Topology t(2);
  ASSERT_TRUE(t.ok) << "cannot build the namespaces (root, iproute2, ethtool needed)";
  TempDir dir;
  std::vector<std::unique_ptr<Process>> decaps, servers;
  ASSERT_NO_FATAL_FAILURE(startReals(
      t, dir, [](size_t i) { return echoServerOn("real" + std::to_string(i), /*v6=*/true); },
      decaps, servers));
  const std::string api = dir.path() + "/api.sock";
  const std::string cfg = dir.write(
      "fulcrum.cfg", lbConfig(api, "",
                              "frontend vip6\n    bind [2001:db8:2::10]:80\n    dataplane xdp\n"
                              "    default_backend reals\n"
                              "backend reals\n    default-server check inter 200ms\n"
                              "    server r0 [" +
                                  t.realAddr6(0) + "]:80 forward ipip\n    server r1 [" +
                                  t.realAddr6(1) + "]:80 forward dr\n"));
  Process lb;
  lb.start({"/bin/sh", "-c", "exec " + in(t.lb, kFulcrum + " -f " + cfg)}, dir.path());
  ASSERT_TRUE(lb.waitForErr("XDP program attached to l0 (native)", 10s)) << lb.err();
  ASSERT_TRUE(eventually([&] {
    return serverLine(api, "r0").find(",UP,") != std::string::npos &&
           serverLine(api, "r1").find(",UP,") != std::string::npos;
  })) << lb.err();
  const std::string client =
      "python3 -c \""
      "import socket\n"
      "for i in range(24):\n"
      "  try:\n"
      "    c=socket.create_connection(('2001:db8:2::10',80),timeout=3)\n"
      "    c.sendall(b'hello'); print(c.recv(1000).decode() or '?'); c.close()\n"
      "  except Exception as e: print('?', e)\n"
      "\"";
  std::map<std::string, int> by;
  // The first packets may wait for neighbour resolution: retried within the deadline.
  ASSERT_TRUE(eventually(
      [&] {
        by.clear();
        RunResult r = run({"/bin/sh", "-c", in(t.cli, client)}, 60s);
        std::istringstream is(r.out);
        for (std::string l; std::getline(is, l);) ++by[l];
        return by["real0 saw hello"] + by["real1 saw hello"] == 24;
      },
      30s))
      << lb.err();
  EXPECT_GT(by["real0 saw hello"], 0);  // IP6IP6
  EXPECT_GT(by["real1 saw hello"], 0);  // DR
  lb.signal(SIGTERM);
  EXPECT_EQ(lb.wait(15s), 0) << lb.err();
  for (auto& p : servers) p->signal(SIGKILL);
  for (auto& p : decaps) p->signal(SIGTERM);
}

// xdp-pin-path: a crash leaves the packet path forwarding (pinned link and maps); the
// next start adopts the maps, gives the servers their real indices back (by address, even
// listed in another order) and replaces the program in one step, so established
// connections never notice; a graceful stop removes the pins and the program.
TEST(NetnsDaemon, PinnedPacketPathSurvivesACrashAndARestart) {
  Topology t(2);
  ASSERT_TRUE(t.ok) << "cannot build the namespaces (root, iproute2, ethtool needed)";
  TempDir dir;
  // A BPF filesystem of the test's own (ip netns exec remounts /sys, hiding /sys/fs/bpf).
  const std::string bpffs = dir.path() + "/bpf";
  ASSERT_TRUE(sh("mkdir -p " + bpffs + " && mount -t bpf bpf " + bpffs));
  struct Unmount {
    std::string path;
    ~Unmount() { sh("umount -l " + path); }
  } unmount{bpffs};
  const std::string pins = bpffs + "/fulcrum";
  std::vector<std::unique_ptr<Process>> decaps, servers;
  ASSERT_NO_FATAL_FAILURE(startReals(t, dir, chattyServer, decaps, servers));
  const std::string api = dir.path() + "/api.sock";
  auto config = [&](bool reversed) {
    const std::string r0 = "    server r0 " + t.realAddr(0) + ":80\n";
    const std::string r1 = "    server r1 " + t.realAddr(1) + ":80\n";
    return lbConfig(api, "    xdp-pin-path " + pins + "\n",
                    "frontend vip\n    bind 192.0.2.10:80\n    dataplane xdp\n"
                    "    default_backend reals\nbackend reals\n" +
                        (reversed ? r1 + r0 : r0 + r1));
  };
  const std::string cfg = dir.write("fulcrum.cfg", config(false));
  auto lb = std::make_unique<Process>();
  lb->start({"/bin/sh", "-c", "exec " + in(t.lb, kFulcrum + " -f " + cfg)}, dir.path());
  ASSERT_TRUE(lb->waitForErr("XDP program attached to l0 (native)", 10s)) << lb->err();
  ASSERT_TRUE(eventually([&] { return access((pins + "/link_l0").c_str(), F_OK) == 0; }));

  // 16 long connections; each prints its real for every message, on cue.
  const std::string longClient =
      "python3 -u -c \""
      "import socket, os, time\n"
      "cs=[socket.create_connection(('192.0.2.10',80),timeout=5) for i in range(16)]\n"
      "for word in ('one','two','three'):\n"
      "  while word!='one' and not os.path.exists('" +
      dir.path() +
      "/'+word): time.sleep(0.05)\n"
      "  for i,c in enumerate(cs): c.sendall(word.encode()); print(i, c.recv(100).decode())\n"
      "\"";
  Process longRun;
  longRun.start({"/bin/sh", "-c", "exec " + in(t.cli, longClient)}, dir.path());
  auto answers = [&](const std::string& word) {
    std::map<std::string, std::string> realOf;  // connection -> "realN"
    std::istringstream is(longRun.out());
    for (std::string l; std::getline(is, l);)
      if (l.size() > word.size() && l.compare(l.size() - word.size(), word.size(), word) == 0)
        realOf[l.substr(0, l.find(' '))] = l.substr(l.find(' ') + 1, 5);
    return realOf;
  };
  ASSERT_TRUE(eventually([&] { return answers("saw one").size() == 16; })) << longRun.err();
  const auto first = answers("saw one");

  // The daemon dies: the pinned link keeps the program on l0, the maps keep the flows.
  lb->signal(SIGKILL);
  lb->wait(10s);
  EXPECT_NE(out(in(t.lb, "ip link show l0")).find("xdp"), std::string::npos);
  dir.write("two", "");
  ASSERT_TRUE(eventually([&] { return answers("saw two").size() == 16; })) << longRun.err();
  EXPECT_EQ(answers("saw two"), first);

  // A new process, its servers listed the other way round: it adopts the maps.
  dir.write("fulcrum.cfg", config(true));
  lb = std::make_unique<Process>();
  lb->start({"/bin/sh", "-c", "exec " + in(t.lb, kFulcrum + " -f " + cfg)}, dir.path());
  ASSERT_TRUE(lb->waitForErr("fulcrum started", 10s)) << lb->err();
  EXPECT_NE(lb->err().find("2 real(s) pinned in '" + pins + "' by an earlier process keep their"),
            std::string::npos)
      << lb->err();
  EXPECT_NE(lb->err().find("maps pinned in '" + pins + "' adopted"), std::string::npos);
  dir.write("three", "");
  EXPECT_EQ(longRun.wait(20s), 0) << longRun.err();
  EXPECT_EQ(answers("saw three"), first) << longRun.out();
  std::map<std::string, int> by;
  for (const std::string& l : connect(t, 8)) ++by[l];
  EXPECT_EQ(by["real0 saw hello"] + by["real1 saw hello"], 8) << lb->err();

  // SIGQUIT (an upgrade): the process goes, the pinned program stays for the next one.
  lb->signal(SIGQUIT);
  EXPECT_EQ(lb->wait(15s), 0) << lb->err();
  EXPECT_NE(out(in(t.lb, "ip link show l0")).find("xdp"), std::string::npos);
  EXPECT_EQ(access((pins + "/fulcrum_conns").c_str(), F_OK), 0);
  lb = std::make_unique<Process>();
  lb->start({"/bin/sh", "-c", "exec " + in(t.lb, kFulcrum + " -f " + cfg)}, dir.path());
  ASSERT_TRUE(lb->waitForErr("fulcrum started", 10s)) << lb->err();
  by.clear();
  for (const std::string& l : connect(t, 4)) ++by[l];
  EXPECT_EQ(by["real0 saw hello"] + by["real1 saw hello"], 4) << lb->err();

  // A graceful stop: pins and program gone.
  lb->signal(SIGTERM);
  EXPECT_EQ(lb->wait(15s), 0) << lb->err();
  EXPECT_EQ(out(in(t.lb, "ip link show l0")).find("xdp"), std::string::npos);
  EXPECT_NE(access(pins.c_str(), F_OK), 0);
  for (auto& p : servers) p->signal(SIGKILL);
  for (auto& p : decaps) p->signal(SIGTERM);
}

}  // namespace
}  // namespace fulcrum::test
