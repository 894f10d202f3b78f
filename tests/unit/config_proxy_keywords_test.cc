// The keywords of the TCP proxy's feature set: global (nosplice, maxpipes, cpu-map, log),
// proxy logging, balance and hash-type, the connection options, the extra timeouts,
// rate-limit, ACLs and tcp-request connection rules, bind and server parameters, source.
// Each good value lands in its model field; each bad one is an error naming the file, the
// line, the section and the keyword.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>

#include "config/config.h"
#include "config/cpu_map.h"
#include "config_test_util.h"
#include "model/acl.h"

namespace fulcrum::config {
namespace {

using model::BalanceAlgo;
using model::ProxyProtocol;
using model::Tristate;

using namespace testutil;

// The warnings of text that must load.
std::vector<std::string> warnings(std::string_view text) {
  auto r = parse(text);
  EXPECT_TRUE(r.ok()) << dump(r);
  return formatted(r, Severity::kWarning);
}

bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

bool anyContains(const std::vector<std::string>& lines, std::string_view needle) {
  for (const auto& l : lines)
    if (contains(l, needle)) return true;
  return false;
}

#define EXPECT_CONTAINS(haystack, needle) \
  EXPECT_TRUE(contains((haystack), (needle))) << "missing: " << (needle) << "\n in: " << (haystack)

SockAddr addr(const char* text) { return *SockAddr::parse(text); }

// A frontend and a backend around the lines under test.
std::string frontend(std::string_view lines) {
  return "frontend f\n bind :80\n" + std::string(lines) + " default_backend b\nbackend b\n";
}
std::string backend(std::string_view lines) { return "backend b\n" + std::string(lines); }

// ---------------------------------------------------------------------------------------
// global: nosplice, maxpipes

TEST(ConfigGlobal, NospliceAndMaxpipes) {
  auto c = load("global\n");
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->global.nosplice);
  EXPECT_EQ(c->global.maxpipes, 0u);

  c = load("global\n nosplice\n maxpipes 5000\n");
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->global.nosplice);
  EXPECT_EQ(c->global.maxpipes, 5000u);

  EXPECT_EQ(onlyError("global\n nosplice yes\n"),
            "test.cfg:2: error: section 'global': keyword 'nosplice': unexpected argument 'yes'");
  EXPECT_CONTAINS(onlyError("global\n maxpipes -1\n"),
                  "test.cfg:2: error: section 'global': keyword 'maxpipes': invalid number '-1'");
  EXPECT_CONTAINS(onlyError("global\n maxpipes\n"),
                  "test.cfg:2: error: section 'global': keyword 'maxpipes' expects a number");
  EXPECT_CONTAINS(onlyError("backend b\n nosplice\n"),
                  "test.cfg:2: error: section 'backend b': keyword 'nosplice' is not allowed in a "
                  "backend section (HAProxy accepts it in global sections)");
}

// ---------------------------------------------------------------------------------------
// global: cpu-map

TEST(ConfigCpuMap, Forms) {
  auto c = load(R"(global
    cpu-map 1 0
    cpu-map 1/1 0
    cpu-map 1/all 0-1
    cpu-map auto:1/1-2 0-1
    cpu-map auto:1/1-4 3 2 1 0
    cpu-map 1/3 0,2 4-5
    cpu-map 1/2- 7
)");
  ASSERT_TRUE(c);
  const auto& m = c->global.cpuMaps;
  ASSERT_EQ(m.size(), 7u);
  // "1" is "1/all": without nbthread, all threads up to the largest thread number.
  EXPECT_FALSE(m[0].autoSpread);
  EXPECT_EQ(m[0].firstThread, 1u);
  EXPECT_EQ(m[0].lastThread, kMaxThreads);
  EXPECT_EQ(m[0].cpus, (std::vector<uint32_t>{0}));
  EXPECT_EQ(m[0].loc.line, 2);
  EXPECT_EQ(m[1].firstThread, 1u);
  EXPECT_EQ(m[1].lastThread, 1u);
  EXPECT_EQ(m[2].lastThread, kMaxThreads);
  EXPECT_EQ(m[2].cpus, (std::vector<uint32_t>{0, 1}));
  EXPECT_TRUE(m[3].autoSpread);
  EXPECT_EQ(m[3].firstThread, 1u);
  EXPECT_EQ(m[3].lastThread, 2u);
  EXPECT_EQ(m[3].cpus, (std::vector<uint32_t>{0, 1}));
  // CPU sets are bound from the lowest to the highest, whatever the order written.
  EXPECT_TRUE(m[4].autoSpread);
  EXPECT_EQ(m[4].cpus, (std::vector<uint32_t>{0, 1, 2, 3}));
  EXPECT_EQ(m[5].firstThread, 3u);
  EXPECT_EQ(m[5].lastThread, 3u);
  EXPECT_EQ(m[5].cpus, (std::vector<uint32_t>{0, 2, 4, 5}));
  EXPECT_EQ(m[6].firstThread, 2u);
  EXPECT_EQ(m[6].lastThread, kMaxThreads);
}

TEST(ConfigCpuMap, OpenThreadSetsStopAtNbthread) {
  // nbthread may come after cpu-map: the final checks resolve "all" and "N-".
  auto c = load(
      "global\n cpu-map 1/all 0-3\n cpu-map auto:1/all 0-3\n cpu-map 1/2- 1\n"
      " nbthread 4\n");
  ASSERT_TRUE(c);
  ASSERT_EQ(c->global.cpuMaps.size(), 3u);
  EXPECT_EQ(c->global.cpuMaps[0].lastThread, 4u);
  EXPECT_TRUE(c->global.cpuMaps[1].autoSpread);
  EXPECT_EQ(c->global.cpuMaps[1].firstThread, 1u);
  EXPECT_EQ(c->global.cpuMaps[1].lastThread, 4u);
  EXPECT_EQ(c->global.cpuMaps[2].firstThread, 2u);
  EXPECT_EQ(c->global.cpuMaps[2].lastThread, 4u);
}

TEST(ConfigCpuMap, ProcessRangesAsInHAProxy26) {
  // HAProxy has one process since 2.5: process numbers above 1 are ignored, so
  // "cpu-map 1-2 0 1" binds every thread to CPUs 0 and 1 (with a warning saying so).
  auto r = parse("global\n cpu-map 1-2 0 1\n");
  ASSERT_TRUE(r.ok()) << dump(r);
  ASSERT_EQ(r.config->global.cpuMaps.size(), 1u);
  const auto& m = r.config->global.cpuMaps[0];
  EXPECT_FALSE(m.autoSpread);
  EXPECT_EQ(m.firstThread, 1u);
  EXPECT_EQ(m.lastThread, kMaxThreads);
  EXPECT_EQ(m.cpus, (std::vector<uint32_t>{0, 1}));
  EXPECT_TRUE(anyContains(formatted(r, Severity::kWarning),
                          "test.cfg:2: warning: section 'global': keyword 'cpu-map': process "
                          "numbers above 1 in '1-2' are ignored"));

  // "auto:" on processes: process 1 takes the lowest CPU, so every thread runs there.
  auto c = load("global\n cpu-map auto:1 3\n cpu-map auto:1-2 0-1\n");
  ASSERT_TRUE(c);
  ASSERT_EQ(c->global.cpuMaps.size(), 2u);
  EXPECT_FALSE(c->global.cpuMaps[0].autoSpread);
  EXPECT_EQ(c->global.cpuMaps[0].cpus, (std::vector<uint32_t>{3}));
  EXPECT_FALSE(c->global.cpuMaps[1].autoSpread);
  EXPECT_EQ(c->global.cpuMaps[1].cpus, (std::vector<uint32_t>{0}));
  EXPECT_EQ(c->global.cpuMaps[1].lastThread, kMaxThreads);

  // "all" is a normal way to name the one process: no warning.
  EXPECT_TRUE(warnings("global\n cpu-map all 0\n").empty());
}

TEST(ConfigCpuMap, Errors) {
  struct Case {
    std::string line;
    std::string expected;
  };
  for (const Case& c : {
           Case{"cpu-map 0 0", "invalid process set '0'"},
           Case{"cpu-map 1/0 0", "invalid thread set '0'"},
           Case{"cpu-map 1/x 0", "invalid thread set 'x'"},
           Case{"cpu-map 1/4097 0", "invalid thread set '4097'"},
           Case{"cpu-map 1/2-1 0", "invalid thread set '2-1': range '2-1' is reversed"},
           Case{"cpu-map 1/odd 0", "thread set 'odd' is not supported yet"},
           Case{"cpu-map 1/1 1024", "invalid CPU set '1024'"},
           Case{"cpu-map 1/1 x", "invalid CPU set 'x'"},
           Case{"cpu-map 1/1 0,", "empty CPU set in '0,'"},
           Case{"cpu-map 1/1", "expects a thread set such as '1/1-4'"},
           Case{"cpu-map", "expects a thread set"},
           Case{"cpu-map auto:1/1-4 0-1",
                "with 'auto:', the thread set '1-4' (4 threads) and the CPU set (2 CPUs) must "
                "have the same size"},
           Case{"cpu-map auto:1/1-4 0",
                "with 'auto:', the thread set '1-4' (4 threads) and the CPU set (1 CPU) must"},
           Case{"cpu-map auto:1/1 0-3",
                "with 'auto:', the thread set '1' (1 thread) and the CPU set (4 CPUs) must"},
           Case{"cpu-map auto:1 0-1",
                "with 'auto:', the process set '1' (1 process) and the CPU set (2 CPUs) must "
                "have the same size"},
           Case{"cpu-map auto:1-2/1-2 0-1",
                "with 'auto:', only one of the process set ('1-2') and the thread set ('1-2') "
                "may be a range"},
       }) {
    EXPECT_CONTAINS(onlyError("global\n " + c.line + "\n"),
                    "test.cfg:2: error: section 'global': keyword 'cpu-map': " + c.expected);
  }
}

TEST(ConfigCpuMap, ThreadsAreCheckedAgainstNbthread) {
  EXPECT_EQ(onlyError("global\n nbthread 2\n cpu-map 1/3 0\n"),
            "test.cfg:3: error: section 'global': keyword 'cpu-map': thread 3 is beyond "
            "'nbthread 2' (threads are numbered from 1 to 2) ('nbthread' is set at test.cfg:2)");
  // Also when nbthread comes later, and for the end of a range.
  EXPECT_CONTAINS(onlyError("global\n cpu-map 1/1-4 0\nglobal\n nbthread 2\n"),
                  "test.cfg:2: error: section 'global': keyword 'cpu-map': thread 4 is beyond "
                  "'nbthread 2'");
  EXPECT_CONTAINS(onlyError("global\n nbthread 2\n cpu-map 1/3- 0\n"),
                  "test.cfg:3: error: section 'global': keyword 'cpu-map': thread 3 is beyond");
  // auto: over "all" must match nbthread, which must be known.
  EXPECT_CONTAINS(onlyError("global\n nbthread 4\n cpu-map auto:1/all 0-1\n"),
                  "test.cfg:3: error: section 'global': keyword 'cpu-map': with 'auto:', threads "
                  "1 to 4 (4 threads) and the CPU set (2 CPUs) must have the same size");
  EXPECT_CONTAINS(onlyError("global\n cpu-map auto:1/all 0-3\n"),
                  "test.cfg:2: error: section 'global': keyword 'cpu-map': 'auto:' with an open "
                  "thread set ('all' or 'N-') needs 'nbthread'");
  // Without nbthread, explicit thread numbers cannot be checked (one thread per CPU).
  EXPECT_TRUE(load("global\n cpu-map 1/64 0\n"));
}

// ---------------------------------------------------------------------------------------
// global: log

TEST(ConfigLog, GlobalTargets) {
  using Kind = model::LogTarget::Kind;
  auto c = load(R"(global
    log stdout local0
    log stderr daemon
    log fd@1 user
    log fd@2 local7
    log /dev/log local1
    log unix@/run/syslog.sock local2
    log 127.0.0.1 local3
    log 127.0.0.1:1514 local4
    log udp@10.0.0.9:515 local5
    log [::1]:516 local6
    log ::1:517 kern
    log udp6@[::1] auth
    log file@/var/log/fulcrum.log local0
)");
  ASSERT_TRUE(c);
  const auto& l = c->global.logs;
  ASSERT_EQ(l.size(), 13u);
  EXPECT_EQ(l[0].kind, Kind::kStdout);
  EXPECT_EQ(l[0].facility, "local0");
  EXPECT_EQ(l[0].loc.line, 2);
  EXPECT_EQ(l[1].kind, Kind::kStderr);
  EXPECT_EQ(l[1].facility, "daemon");
  EXPECT_EQ(l[2].kind, Kind::kStdout);
  EXPECT_EQ(l[3].kind, Kind::kStderr);
  EXPECT_EQ(l[4].kind, Kind::kSyslogUnix);
  EXPECT_EQ(l[4].path, "/dev/log");
  EXPECT_EQ(l[5].kind, Kind::kSyslogUnix);
  EXPECT_EQ(l[5].path, "/run/syslog.sock");
  EXPECT_EQ(l[6].kind, Kind::kSyslogUdp);
  EXPECT_EQ(l[6].addr, addr("127.0.0.1:514"));  // the syslog port by default
  EXPECT_EQ(l[7].addr, addr("127.0.0.1:1514"));
  EXPECT_EQ(l[8].addr, addr("10.0.0.9:515"));
  EXPECT_EQ(l[9].addr, addr("[::1]:516"));
  EXPECT_EQ(l[10].addr, addr("[::1]:517"));
  EXPECT_EQ(l[10].facility, "kern");
  EXPECT_EQ(l[11].addr, addr("[::1]:514"));
  EXPECT_EQ(l[12].kind, Kind::kFile);
  EXPECT_EQ(l[12].path, "/var/log/fulcrum.log");
}

TEST(ConfigLog, LengthFormatAndLevelsAreValidatedThenWarnedAbout) {
  auto r = parse(
      "global\n log 127.0.0.1:514 len 2048 format rfc5424 local0 notice info\n"
      " log /dev/log local0 info\n");
  ASSERT_TRUE(r.ok()) << dump(r);
  ASSERT_EQ(r.config->global.logs.size(), 2u);
  EXPECT_EQ(r.config->global.logs[0].facility, "local0");
  EXPECT_EQ(r.config->global.logs[0].level, 5);     // notice
  EXPECT_EQ(r.config->global.logs[0].minLevel, 6);  // info
  EXPECT_EQ(r.config->global.logs[1].level, 6);
  EXPECT_EQ(r.config->global.logs[1].minLevel, 0);
  auto w = formatted(r, Severity::kWarning);
  ASSERT_EQ(w.size(), 1u) << dump(r);
  EXPECT_EQ(w[0],
            "test.cfg:2: warning: section 'global': keyword 'log': 'len 2048', 'format "
            "rfc5424' are not applied yet (Fulcrum does not change the length or format of log "
            "lines, for now)");
  // A plain target and facility: no warning.
  EXPECT_TRUE(warnings("global\n log stdout local0\n").empty());
}

TEST(ConfigLog, Errors) {
  struct Case {
    std::string line;
    std::string expected;
  };
  for (const Case& c : {
           Case{"log stdout", "keyword 'log': expects a target and a facility"},
           Case{"log stdout local9", "keyword 'log': unknown log facility 'local9'"},
           Case{"log stdout local0 loud", "keyword 'log': unknown log level 'loud'"},
           Case{"log stdout local0 info notice debug",
                "keyword 'log': unexpected argument 'debug'"},
           Case{"log stdout len 79 local0", "keyword 'log': 'len': value '79' is out of range"},
           Case{"log stdout len 65536 local0",
                "keyword 'log': 'len': value '65536' is out of range"},
           Case{"log stdout format json local0", "keyword 'log': unknown log format 'json'"},
           // HAProxy's order: len before format.
           Case{"log stdout format raw len 100 local0",
                "keyword 'log': unknown log facility 'len'"},
           Case{"log stdout sample 1:2 local0", "keyword 'log': 'sample' is not supported yet"},
           Case{"log fd@3 local0", "keyword 'log': log target 'fd@3' is not supported yet"},
           Case{"log ring@buf local0",
                "keyword 'log': ring buffers ('ring@buf') are not supported yet"},
           Case{"log tcp@127.0.0.1:514 local0",
                "keyword 'log': syslog over a stream socket ('tcp@') is not supported yet"},
           Case{"log file@relative.log local0", "keyword 'log': 'file@' expects an absolute path"},
           Case{"log 127.0.0.1:70000 local0", "keyword 'log': invalid port '70000'"},
           Case{"log udp4@[::1]:514 local0", "keyword 'log': '::1' is not an IPv4 address"},
           Case{"log ::1 local0", "keyword 'log': invalid log target '::1': cannot resolve ':'"},
           Case{"log ::1:x local0", "keyword 'log': invalid port 'x'"},
           Case{"log [::1 local0", "keyword 'log': invalid address '[::1'"},
           Case{"log global", "keyword 'log': 'log global' is for proxy sections"},
       }) {
    EXPECT_CONTAINS(onlyError("global\n " + c.line + "\n"),
                    "test.cfg:2: error: section 'global': " + c.expected);
  }
  EXPECT_CONTAINS(onlyError("global\n log ::1 local0\n"),
                  "(write an IPv6 target as [ADDRESS]:PORT)");
}

// ---------------------------------------------------------------------------------------
// proxy logging: log, log global, no log, option tcplog, option dontlognull

TEST(ConfigLog, ProxyLogGlobalIsResolvedAtTheEnd) {
  using Kind = model::LogTarget::Kind;
  // The global section may come after the proxies (or in another file).
  auto c = load(R"(defaults
    log global
    option tcplog
frontend a
    bind :80
    log stdout local3
    default_backend b
frontend quiet
    bind :81
    no log
    option dontlognull
    default_backend b
frontend twice
    bind :82
    log global
    default_backend b
backend b
    log stderr local0
global
    log /dev/log local0
    log 127.0.0.1 local1
)");
  ASSERT_TRUE(c);
  ASSERT_EQ(c->services.size(), 3u);
  const auto& a = c->services[0].logs;
  ASSERT_EQ(a.size(), 3u);
  EXPECT_EQ(a[0].kind, Kind::kSyslogUnix);  // "log global" first, as written
  EXPECT_EQ(a[1].kind, Kind::kSyslogUdp);
  EXPECT_EQ(a[1].facility, "local1");
  EXPECT_EQ(a[2].kind, Kind::kStdout);
  EXPECT_EQ(a[2].facility, "local3");
  EXPECT_EQ(a[2].loc.line, 6);
  EXPECT_TRUE(c->services[0].tcplog);
  EXPECT_FALSE(c->services[0].dontlognull);
  // "no log" forgets the inherited targets.
  EXPECT_TRUE(c->services[1].logs.empty());
  EXPECT_TRUE(c->services[1].tcplog);
  EXPECT_TRUE(c->services[1].dontlognull);
  // A second "log global" adds nothing.
  EXPECT_EQ(c->services[2].logs.size(), 2u);
}

TEST(ConfigLog, ProxyOptionsAndErrors) {
  auto c = load("defaults\n option dontlognull\nfrontend f\n bind :80\n no option dontlognull\n");
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->services[0].dontlognull);
  c = load("listen l\n bind :80\n option tcplog\n option dontlognull\n log stdout local0\n");
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->services[0].tcplog);
  EXPECT_TRUE(c->services[0].dontlognull);
  EXPECT_EQ(c->services[0].logs.size(), 1u);

  // HAProxy's warning, and nothing applied.
  auto tcplogInBackend = parse("backend b\n option tcplog\n");
  EXPECT_TRUE(tcplogInBackend.ok());
  EXPECT_EQ(formatted(tcplogInBackend, Severity::kWarning),
            std::vector<std::string>{"test.cfg:2: warning: section 'backend b': 'option tcplog' "
                                     "directive is ignored in backends"});
  EXPECT_CONTAINS(onlyError("backend b\n option dontlognull\n"),
                  "test.cfg:2: error: section 'backend b': keyword 'option dontlognull' is not "
                  "allowed in a backend section");
  EXPECT_EQ(onlyError("defaults\n no option tcplog\n"),
            "test.cfg:2: error: section 'defaults': keyword 'no option tcplog' is not allowed: "
            "HAProxy accepts neither 'no' nor 'default' before option 'tcplog'");
  EXPECT_CONTAINS(onlyError("defaults\n option tcplog extra\n"),
                  "test.cfg:2: error: section 'defaults': keyword 'option tcplog': unexpected "
                  "argument 'extra'");
  EXPECT_CONTAINS(onlyError("defaults\n log global extra\n"),
                  "test.cfg:2: error: section 'defaults': keyword 'log global': unexpected "
                  "argument 'extra'");
  EXPECT_CONTAINS(onlyError("defaults\n no log stdout\n"),
                  "test.cfg:2: error: section 'defaults': keyword 'no log': unexpected argument "
                  "'stdout'");
  EXPECT_CONTAINS(onlyError(frontend(" log stdout\n")),
                  "test.cfg:3: error: section 'frontend f': keyword 'log': expects a target and a "
                  "facility");
}

TEST(ConfigLog, BackendLogLinesAreAcceptedAndUnused) {
  // HAProxy uses them for server state changes; Fulcrum has no use for them yet.
  auto c = load("backend b\n log stdout local0\n log global\n no log\n");
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->services.empty());
}

// ---------------------------------------------------------------------------------------
// balance and hash-type

TEST(ConfigBalance, EveryAlgorithm) {
  struct Case {
    std::string word;
    BalanceAlgo algo;
  };
  for (const Case& k : {
           Case{"roundrobin", BalanceAlgo::kRoundRobin},
           Case{"static-rr", BalanceAlgo::kStaticRr},
           Case{"leastconn", BalanceAlgo::kLeastConn},
           Case{"first", BalanceAlgo::kFirst},
           Case{"source", BalanceAlgo::kSource},
           Case{"random", BalanceAlgo::kRandom},
           Case{"maglev", BalanceAlgo::kMaglev},
       }) {
    auto c = load(backend(" balance " + k.word + "\n"));
    ASSERT_TRUE(c) << k.word;
    EXPECT_EQ(c->pools[0].balance.algo, k.algo) << k.word;
    EXPECT_EQ(c->pools[0].balance.randomDraws, 2u) << k.word;  // random's default
  }
  auto c = load(backend(" balance random(5)\n"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->pools[0].balance.algo, BalanceAlgo::kRandom);
  EXPECT_EQ(c->pools[0].balance.randomDraws, 5u);
  c = load(backend(" balance random(1)\n"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->pools[0].balance.randomDraws, 1u);

  EXPECT_CONTAINS(onlyError(backend(" balance random(0)\n")),
                  "test.cfg:2: error: section 'backend b': keyword 'balance': value '0' is out of "
                  "range");
  EXPECT_CONTAINS(onlyError(backend(" balance leastconn(2)\n")),
                  "test.cfg:2: error: section 'backend b': keyword 'balance': algorithm "
                  "'leastconn' takes no argument");
  EXPECT_CONTAINS(onlyError(backend(" balance random(2\n")),
                  "test.cfg:2: error: section 'backend b': keyword 'balance': missing ')'");
}

TEST(ConfigBalance, HashType) {
  auto c = load(backend(" balance source\n"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->pools[0].balance.hashType, model::HashType::kMapBased);  // HAProxy's default
  // hash-type and balance are independent, in either order.
  c = load(backend(" hash-type consistent\n balance source\n"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->pools[0].balance.algo, BalanceAlgo::kSource);
  EXPECT_EQ(c->pools[0].balance.hashType, model::HashType::kConsistent);
  c = load(backend(" balance source\n hash-type consistent\n"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->pools[0].balance.hashType, model::HashType::kConsistent);
  // Inherited from defaults, overridden by the backend.
  c = load("defaults\n hash-type consistent\nbackend a\nbackend b\n hash-type map-based\n");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->pools[0].balance.hashType, model::HashType::kConsistent);
  EXPECT_EQ(c->pools[1].balance.hashType, model::HashType::kMapBased);

  EXPECT_CONTAINS(onlyError(backend(" hash-type consistent sdbm\n")),
                  "test.cfg:2: error: section 'backend b': keyword 'hash-type': hash function "
                  "'sdbm' is not supported: Fulcrum hashes the client address with its own "
                  "function");
  EXPECT_CONTAINS(onlyError(backend(" hash-type consistent avalanche\n")),
                  "keyword 'hash-type': hash modifier 'avalanche' is not supported");
  EXPECT_CONTAINS(onlyError(backend(" hash-type consistent md5\n")),
                  "keyword 'hash-type': unknown hash function 'md5'");
  EXPECT_CONTAINS(onlyError(backend(" hash-type ring\n")),
                  "test.cfg:2: error: section 'backend b': keyword 'hash-type': unknown hash "
                  "method 'ring'");
  EXPECT_CONTAINS(onlyError(backend(" hash-type\n")),
                  "test.cfg:2: error: section 'backend b': keyword 'hash-type' expects a method");
  EXPECT_CONTAINS(onlyError(frontend(" hash-type consistent\n")),
                  "test.cfg:3: error: section 'frontend f': keyword 'hash-type' is not allowed in "
                  "a frontend section (HAProxy accepts it in defaults, listen and backend "
                  "sections)");
}

// ---------------------------------------------------------------------------------------
// connection options

TEST(ConfigOptions, DefaultsWhenAbsent) {
  auto c = load("listen l\n bind :80\n");
  ASSERT_TRUE(c);
  const auto& svc = c->services[0];
  const auto& pool = c->pools[0];
  EXPECT_EQ(pool.redispatchInterval, 1);  // Fulcrum's default: every retry moves on
  EXPECT_FALSE(pool.allBackups);
  EXPECT_FALSE(pool.tcpKeepalive);
  EXPECT_FALSE(svc.tcpKeepalive);
  EXPECT_FALSE(pool.noLinger);
  EXPECT_FALSE(svc.noLinger);
  EXPECT_EQ(svc.splice.autoMode, Tristate::kUnset);  // Fulcrum's default: auto
  EXPECT_EQ(pool.splice.autoMode, Tristate::kUnset);
  EXPECT_FALSE(svc.splice.request);
  EXPECT_FALSE(svc.splice.response);
  EXPECT_EQ(pool.retries, 3u);
  EXPECT_EQ(svc.rateLimitSessions, 0u);
  EXPECT_EQ(svc.clientFinTimeout, 0);
  EXPECT_EQ(pool.serverFinTimeout, 0);
  EXPECT_EQ(pool.tunnelTimeout, 0);
  EXPECT_EQ(pool.queueTimeout, 0);
  EXPECT_FALSE(svc.tcplog);
  EXPECT_FALSE(svc.dontlognull);
  EXPECT_TRUE(svc.logs.empty());
  EXPECT_TRUE(svc.acls.empty());
  EXPECT_TRUE(svc.tcpRequestConnection.empty());
}

TEST(ConfigOptions, ListenGetsBothSides) {
  auto c = load(R"(listen l
    bind :80
    option redispatch
    option allbackups
    option tcpka
    option nolinger
    option splice-auto
    option splice-request
    option splice-response
    retries 5
)");
  ASSERT_TRUE(c);
  const auto& svc = c->services[0];
  const auto& pool = c->pools[0];
  EXPECT_EQ(pool.redispatchInterval, -1);  // HAProxy's: the last retry
  EXPECT_TRUE(pool.allBackups);
  EXPECT_TRUE(pool.tcpKeepalive);
  EXPECT_TRUE(svc.tcpKeepalive);
  EXPECT_TRUE(pool.noLinger);
  EXPECT_TRUE(svc.noLinger);
  EXPECT_EQ(svc.splice.autoMode, Tristate::kOn);
  EXPECT_EQ(pool.splice.autoMode, Tristate::kOn);
  EXPECT_TRUE(svc.splice.request);
  EXPECT_TRUE(pool.splice.request);
  EXPECT_TRUE(svc.splice.response);
  EXPECT_TRUE(pool.splice.response);
  EXPECT_EQ(pool.retries, 5u);
}

TEST(ConfigOptions, EachSideUsesItsOwnSection) {
  // "option tcpka" in a frontend gives client-side keep-alives only, in a backend
  // server-side only (HAProxy); clitcpka and srvtcpka name one side.
  auto c = load(R"(frontend f
    bind :80
    option tcpka
    option nolinger
    default_backend b
frontend g
    bind :81
    option clitcpka
    default_backend b
backend b
    option srvtcpka
)");
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->services[0].tcpKeepalive);
  EXPECT_TRUE(c->services[0].noLinger);
  EXPECT_TRUE(c->services[1].tcpKeepalive);
  EXPECT_FALSE(c->services[1].noLinger);
  EXPECT_TRUE(c->pools[0].tcpKeepalive);
  EXPECT_FALSE(c->pools[0].noLinger);

  c = load("backend b\n option tcpka\n option nolinger\n");
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->pools[0].tcpKeepalive);
  EXPECT_TRUE(c->pools[0].noLinger);
}

TEST(ConfigOptions, DefaultsInheritanceAndNegation) {
  auto c = load(R"(defaults
    option redispatch
    option allbackups
    option clitcpka
    option srvtcpka
    option nolinger
    option splice-auto
    option splice-request
backend inherits
backend overrides
    no option redispatch
    no option allbackups
    no option srvtcpka
    no option nolinger
    no option splice-auto
    no option splice-request
backend resets
    default option redispatch
    default option splice-auto
frontend f
    bind :80
    no option clitcpka
    default_backend inherits
)");
  ASSERT_TRUE(c);
  ASSERT_EQ(c->pools.size(), 3u);
  const auto& in = c->pools[0];
  EXPECT_EQ(in.redispatchInterval, -1);
  EXPECT_TRUE(in.allBackups);
  EXPECT_TRUE(in.tcpKeepalive);
  EXPECT_TRUE(in.noLinger);
  EXPECT_EQ(in.splice.autoMode, Tristate::kOn);
  EXPECT_TRUE(in.splice.request);
  const auto& over = c->pools[1];
  EXPECT_EQ(over.redispatchInterval, 0);
  EXPECT_FALSE(over.allBackups);
  EXPECT_FALSE(over.tcpKeepalive);
  EXPECT_FALSE(over.noLinger);
  EXPECT_EQ(over.splice.autoMode, Tristate::kOff);  // explicit: turns Fulcrum's default off
  EXPECT_FALSE(over.splice.request);
  const auto& reset = c->pools[2];
  EXPECT_EQ(reset.redispatchInterval, 1);
  EXPECT_EQ(reset.splice.autoMode, Tristate::kUnset);
  EXPECT_TRUE(reset.allBackups);  // untouched: still inherited
  EXPECT_FALSE(c->services[0].tcpKeepalive);
  EXPECT_TRUE(c->services[0].noLinger);
}

TEST(ConfigOptions, Redispatch) {
  auto c = load(backend(" option redispatch\n"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->pools[0].redispatchInterval, -1);
  c = load(backend(" option redispatch 3\n"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->pools[0].redispatchInterval, 3);
  c = load(backend(" option redispatch -2\n"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->pools[0].redispatchInterval, -2);
  c = load("defaults\n option redispatch\nbackend b\n option redispatch 0\n");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->pools[0].redispatchInterval, 0);  // 0 disables redispatching
  EXPECT_CONTAINS(onlyError(backend(" option redispatch x\n")),
                  "test.cfg:2: error: section 'backend b': keyword 'option redispatch': "
                  "invalid redispatch interval");
  EXPECT_CONTAINS(onlyError(backend(" option redispatch -1 2\n")),
                  "keyword 'option redispatch': unexpected argument '2'");
  EXPECT_CONTAINS(onlyError(backend(" no option redispatch 0\n")),
                  "keyword 'no option redispatch': unexpected argument '0'");
}

TEST(ConfigOptions, SectionRulesAndNegationRules) {
  struct Case {
    std::string text;
    std::string expected;
  };
  for (const Case& c : {
           Case{frontend(" option redispatch\n"),
                "test.cfg:3: error: section 'frontend f': keyword 'option redispatch' is not "
                "allowed in a frontend section (HAProxy accepts it in defaults, listen and "
                "backend sections)"},
           Case{frontend(" option allbackups\n"),
                "section 'frontend f': keyword 'option allbackups' is not allowed in a frontend"},
           Case{frontend(" option srvtcpka\n"),
                "section 'frontend f': keyword 'option srvtcpka' is not allowed in a frontend"},
           Case{frontend(" no option srvtcpka\n"),
                "section 'frontend f': keyword 'no option srvtcpka' is not allowed in a "
                "frontend"},
           Case{backend(" option clitcpka\n"),
                "test.cfg:2: error: section 'backend b': keyword 'option clitcpka' is not "
                "allowed in a backend section (HAProxy accepts it in defaults, frontend and "
                "listen sections)"},
           Case{backend(" no option tcpka\n"),
                "test.cfg:2: error: section 'backend b': keyword 'no option tcpka' is not "
                "allowed: HAProxy accepts neither 'no' nor 'default' before option 'tcpka'"},
           Case{backend(" default option tcpka\n"),
                "keyword 'default option tcpka' is not allowed: HAProxy accepts neither"},
           Case{backend(" option splice-auto now\n"),
                "test.cfg:2: error: section 'backend b': keyword 'option splice-auto': "
                "unexpected argument 'now'"},
       }) {
    EXPECT_CONTAINS(onlyError(c.text), c.expected);
  }
}

// ---------------------------------------------------------------------------------------
// timeouts, rate-limit

TEST(ConfigTimeouts, TheNewTimeouts) {
  auto c = load(R"(defaults
    timeout client-fin 2s
    timeout server-fin 3s
    timeout tunnel 1h
    timeout queue 5s
listen l
    bind :80
    timeout queue 7s
frontend f
    bind :81
    timeout client-fin 4s
    default_backend l
)");
  ASSERT_TRUE(c);
  const auto& l = c->pools[0];
  EXPECT_EQ(l.serverFinTimeout, 3 * kSeconds);
  EXPECT_EQ(l.tunnelTimeout, 3600 * kSeconds);
  EXPECT_EQ(l.queueTimeout, 7 * kSeconds);
  EXPECT_EQ(c->services[0].clientFinTimeout, 2 * kSeconds);
  EXPECT_EQ(c->services[1].clientFinTimeout, 4 * kSeconds);

  EXPECT_EQ(onlyError(frontend(" timeout tunnel 1h\n")),
            "test.cfg:3: error: section 'frontend f': keyword 'timeout tunnel' is not allowed in "
            "a frontend section (HAProxy accepts it in defaults, listen and backend sections)");
  EXPECT_CONTAINS(onlyError(backend(" timeout client-fin 1s\n")),
                  "test.cfg:2: error: section 'backend b': keyword 'timeout client-fin' is not "
                  "allowed in a backend section");
  EXPECT_CONTAINS(onlyError(frontend(" timeout server-fin 1s\n")),
                  "keyword 'timeout server-fin' is not allowed in a frontend section");
  EXPECT_CONTAINS(onlyError(frontend(" timeout queue 1s\n")),
                  "keyword 'timeout queue' is not allowed in a frontend section");
  EXPECT_CONTAINS(onlyError(backend(" timeout tunnel forever\n")),
                  "test.cfg:2: error: section 'backend b': keyword 'timeout tunnel': invalid time "
                  "value 'forever'");
}

TEST(ConfigRateLimit, Sessions) {
  auto c = load(
      "defaults\n rate-limit sessions 100\nfrontend f\n bind :80\nlisten l\n bind :81\n"
      " rate-limit sessions 0\n");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->services[0].rateLimitSessions, 100u);
  EXPECT_EQ(c->services[1].rateLimitSessions, 0u);

  EXPECT_EQ(onlyError(backend(" rate-limit sessions 10\n")),
            "test.cfg:2: error: section 'backend b': keyword 'rate-limit' is not allowed in a "
            "backend section (HAProxy accepts it in defaults, frontend and listen sections)");
  EXPECT_CONTAINS(onlyError(frontend(" rate-limit sessions x\n")),
                  "test.cfg:3: error: section 'frontend f': keyword 'rate-limit sessions': "
                  "invalid number 'x'");
  EXPECT_CONTAINS(onlyError(frontend(" rate-limit connections 5\n")),
                  "test.cfg:3: error: section 'frontend f': keyword 'rate-limit': only "
                  "'rate-limit sessions' exists (got 'connections')");
  EXPECT_CONTAINS(onlyError(frontend(" rate-limit sessions\n")),
                  "keyword 'rate-limit sessions' expects a number");
  EXPECT_CONTAINS(onlyError(frontend(" rate-limit sessions 1 2\n")),
                  "keyword 'rate-limit sessions': unexpected extra argument '2'");
}

// ---------------------------------------------------------------------------------------
// acl and tcp-request connection

model::Cidr cidr(const char* text, int prefix) {
  model::Cidr c;
  in6_addr a{};
  if (inet_pton(AF_INET, text, &a.s6_addr[12]) == 1) {
    a.s6_addr[10] = a.s6_addr[11] = 0xff;
  } else {
    EXPECT_EQ(inet_pton(AF_INET6, text, &a), 1) << text;
  }
  std::memcpy(c.addr, &a, 16);
  c.prefix = static_cast<uint8_t>(prefix);
  return c;
}

bool sameCidr(const model::Cidr& a, const model::Cidr& b) {
  return a.prefix == b.prefix && std::memcmp(a.addr, b.addr, 16) == 0;
}

bool accepts(const model::Service& svc, const char* client) {
  return model::acceptsConnection(svc, addr(client));
}

TEST(ConfigAcl, SourcePatterns) {
  auto c = load(frontend(R"( acl lan src 10.0.0.0/8 192.168.1.7 172.16.0.0/255.240.0.0
 acl lan src -m ip 2001:db8::/32 ::1
 acl host src -n -- 10.1.2.3/24
 acl all4 src 0.0.0.0/0
)"));
  ASSERT_TRUE(c);
  const auto& acls = c->services[0].acls;
  ASSERT_EQ(acls.size(), 3u);
  EXPECT_EQ(acls[0].name, "lan");
  EXPECT_EQ(acls[0].loc.line, 3);
  // Same-name lines add up; IPv4 is IPv4-mapped, prefix + 96.
  ASSERT_EQ(acls[0].sources.size(), 5u);
  EXPECT_TRUE(sameCidr(acls[0].sources[0], cidr("10.0.0.0", 104)));
  EXPECT_TRUE(sameCidr(acls[0].sources[1], cidr("192.168.1.7", 128)));
  EXPECT_TRUE(sameCidr(acls[0].sources[2], cidr("172.16.0.0", 108)));
  EXPECT_TRUE(sameCidr(acls[0].sources[3], cidr("2001:db8::", 32)));
  EXPECT_TRUE(sameCidr(acls[0].sources[4], cidr("::1", 128)));
  // Host bits beyond the prefix are cleared.
  ASSERT_EQ(acls[1].sources.size(), 1u);
  EXPECT_TRUE(sameCidr(acls[1].sources[0], cidr("10.1.2.0", 120)));
  EXPECT_TRUE(sameCidr(acls[2].sources[0], cidr("0.0.0.0", 96)));
}

TEST(ConfigAcl, Errors) {
  struct Case {
    std::string line;
    std::string expected;
  };
  for (const Case& c : {
           Case{"acl a src 10.0.0.0/33",
                "keyword 'acl': ACL 'a': invalid prefix length '33' in '10.0.0.0/33'"},
           Case{"acl a src 10.0.0.256",
                "keyword 'acl': ACL 'a': '10.0.0.256' is not a numeric IPv4 or IPv6 address"},
           Case{"acl a src localhost",
                "keyword 'acl': ACL 'a': 'localhost' is not a numeric IPv4 or IPv6 address"},
           Case{"acl a src 10.0.0.0/x", "keyword 'acl': ACL 'a': invalid prefix length 'x'"},
           Case{"acl a src 10.0.0.0/", "keyword 'acl': ACL 'a': invalid prefix length ''"},
           Case{"acl a src 2001:db8::/129",
                "keyword 'acl': ACL 'a': invalid prefix length '129' in '2001:db8::/129'"},
           Case{"acl a src 10.0.0.0/255.0.255.0",
                "keyword 'acl': ACL 'a': mask '255.0.255.0' in '10.0.0.0/255.0.255.0' "
                "is not contiguous"},
           Case{"acl a dst 10.0.0.1",
                "keyword 'acl': ACL 'a': ACL criterion 'dst' is not supported yet (Fulcrum "
                "supports 'src')"},
           Case{"acl a src_port 80",
                "keyword 'acl': ACL 'a': ACL criterion 'src_port' is not supported yet"},
           Case{"acl a src -i 10.0.0.1",
                "keyword 'acl': ACL 'a': ACL flag '-i' is not supported yet"},
           Case{"acl a src -f /etc/lan.lst",
                "keyword 'acl': ACL 'a': ACL flag '-f' is not supported yet"},
           Case{"acl a src -m str 10.0.0.1",
                "keyword 'acl': ACL 'a': match method '-m str' is not supported for 'src' (only "
                "'-m ip')"},
           Case{"acl a/b src 10.0.0.1",
                "keyword 'acl': character '/' is not permitted in ACL name 'a/b'"},
           Case{"acl a", "keyword 'acl': ACL 'a': expects a criterion"},
           Case{"acl", "keyword 'acl' expects a name"},
       }) {
    EXPECT_CONTAINS(onlyError(frontend(" " + c.line + "\n")),
                    "test.cfg:3: error: section 'frontend f': " + c.expected);
  }
  EXPECT_EQ(onlyError(backend(" acl a src 10.0.0.1\n")),
            "test.cfg:2: error: section 'backend b': keyword 'acl' is not supported yet in "
            "backends (Fulcrum evaluates ACLs only in 'tcp-request connection' rules of frontend "
            "and listen sections)");
  EXPECT_CONTAINS(onlyError("defaults d\n acl a src 10.0.0.1\n"),
                  "test.cfg:2: error: section 'defaults d': keyword 'acl' is not supported yet in "
                  "defaults sections");
  // No value: HAProxy warns that the ACL never matches; so does Fulcrum.
  auto w = warnings(frontend(" acl none src\n"));
  EXPECT_TRUE(anyContains(w,
                          "test.cfg:3: warning: section 'frontend f': keyword 'acl': ACL "
                          "'none' has no value to match against"));
}

TEST(ConfigTcpRequest, RulesAndConditions) {
  auto c = load(frontend(R"( acl lan src 10.0.0.0/8
 acl bad src 10.6.6.0/24
 acl v6 src 2001:db8::/32
 tcp-request connection reject if bad
 tcp-request connection accept if lan !bad || v6
 tcp-request connection reject unless LOCALHOST
 tcp-request connection accept if ! lan or TRUE
 tcp-request connection reject
)"));
  ASSERT_TRUE(c);
  const auto& svc = c->services[0];
  const auto& rules = svc.tcpRequestConnection;
  ASSERT_EQ(rules.size(), 5u);
  using Action = model::TcpRequestRule::Action;
  EXPECT_EQ(rules[0].action, Action::kReject);
  EXPECT_EQ(rules[0].loc.line, 6);
  ASSERT_EQ(rules[0].condition.anyOf.size(), 1u);
  ASSERT_EQ(rules[0].condition.anyOf[0].size(), 1u);
  EXPECT_EQ(svc.acls[static_cast<size_t>(rules[0].condition.anyOf[0][0].acl)].name, "bad");
  EXPECT_FALSE(rules[0].condition.anyOf[0][0].negate);
  EXPECT_FALSE(rules[0].condition.unless);

  // "lan !bad || v6": (lan AND NOT bad) OR v6.
  EXPECT_EQ(rules[1].action, Action::kAccept);
  const auto& any = rules[1].condition.anyOf;
  ASSERT_EQ(any.size(), 2u);
  ASSERT_EQ(any[0].size(), 2u);
  EXPECT_EQ(svc.acls[static_cast<size_t>(any[0][0].acl)].name, "lan");
  EXPECT_FALSE(any[0][0].negate);
  EXPECT_EQ(svc.acls[static_cast<size_t>(any[0][1].acl)].name, "bad");
  EXPECT_TRUE(any[0][1].negate);
  ASSERT_EQ(any[1].size(), 1u);
  EXPECT_EQ(svc.acls[static_cast<size_t>(any[1][0].acl)].name, "v6");

  EXPECT_TRUE(rules[2].condition.unless);
  EXPECT_EQ(svc.acls[static_cast<size_t>(rules[2].condition.anyOf[0][0].acl)].name, "LOCALHOST");
  // A lone "!" negates the next term; "or" is "||".
  EXPECT_TRUE(rules[3].condition.anyOf[0][0].negate);
  EXPECT_EQ(rules[3].condition.anyOf.size(), 2u);
  EXPECT_TRUE(rules[4].condition.anyOf.empty());  // unconditional

  // Evaluated in order, first match decides (model::acceptsConnection).
  EXPECT_FALSE(accepts(svc, "10.6.6.1:5000"));      // bad
  EXPECT_TRUE(accepts(svc, "10.1.1.1:5000"));       // lan and not bad
  EXPECT_TRUE(accepts(svc, "[2001:db8::1]:5000"));  // v6
  EXPECT_TRUE(accepts(svc, "127.0.0.1:5000"));      // LOCALHOST: not rejected; then "! lan or TRUE"
  EXPECT_FALSE(accepts(svc, "192.0.2.1:5000"));     // not LOCALHOST: rejected by "unless"
}

TEST(ConfigTcpRequest, AnonymousAclsAndPredefined) {
  auto c = load(frontend(R"( tcp-request connection reject if { src 10.0.0.0/8 192.168.0.0/16 }
 tcp-request connection accept if !{ src -m ip 2001:db8::/32 } FALSE
 tcp-request connection accept if TRUE
)"));
  ASSERT_TRUE(c);
  const auto& svc = c->services[0];
  ASSERT_EQ(svc.tcpRequestConnection.size(), 3u);
  const auto& t = svc.tcpRequestConnection[0].condition.anyOf[0][0];
  const auto& anon = svc.acls[static_cast<size_t>(t.acl)];
  EXPECT_EQ(anon.name, "{ src 10.0.0.0/8 192.168.0.0/16 }");
  ASSERT_EQ(anon.sources.size(), 2u);
  const auto& group = svc.tcpRequestConnection[1].condition.anyOf[0];
  ASSERT_EQ(group.size(), 2u);
  EXPECT_TRUE(group[0].negate);
  EXPECT_EQ(svc.acls[static_cast<size_t>(group[1].acl)].name, "FALSE");
  EXPECT_FALSE(accepts(svc, "10.2.3.4:1"));
  EXPECT_TRUE(accepts(svc, "192.0.2.1:1"));  // FALSE fails rule 2; TRUE accepts
}

TEST(ConfigTcpRequest, Errors) {
  struct Case {
    std::string lines;
    std::string expected;  // at line 3 or 4 (given), in frontend f
  };
  for (const Case& c : {
           Case{" tcp-request connection reject if nope\n",
                "test.cfg:3: error: section 'frontend f': keyword 'tcp-request connection': no "
                "ACL named 'nope' is declared before this line in this section"},
           // Declared after the rule: unknown at the rule, as in HAProxy.
           Case{" tcp-request connection reject if later\n acl later src 10.0.0.1\n",
                "test.cfg:3: error: section 'frontend f': keyword 'tcp-request connection': no "
                "ACL named 'later'"},
           Case{" acl a src 10.0.0.1\n tcp-request connection reject a\n",
                "test.cfg:4: error: section 'frontend f': keyword 'tcp-request connection': "
                "expects 'if' or 'unless' after the action (got 'a')"},
           Case{" tcp-request connection reject if\n",
                "test.cfg:3: error: section 'frontend f': keyword 'tcp-request connection': "
                "expects a condition after 'if'"},
           Case{" acl a src 10.0.0.1\n tcp-request connection reject if a ||\n",
                "keyword 'tcp-request connection': the condition ends without a term"},
           Case{" acl a src 10.0.0.1\n tcp-request connection reject if || a\n",
                "keyword 'tcp-request connection': empty condition before '||'"},
           Case{" acl a src 10.0.0.1\n tcp-request connection reject if a !\n",
                "the condition ends without a term"},
           Case{" tcp-request connection reject if { src 10.0.0.1\n",
                "keyword 'tcp-request connection': missing closing '}' in condition"},
           Case{" tcp-request connection reject if {src 10.0.0.1}\n",
                "'{src': braces of an anonymous ACL must be separate words"},
           Case{" tcp-request connection reject if { dst 10.0.0.1 }\n",
                "anonymous ACL '{ dst 10.0.0.1 }': ACL criterion 'dst' is not supported yet"},
           Case{" tcp-request connection reject if { src }\n",
                "anonymous ACL '{ src }' has no value to match against"},
           Case{" tcp-request connection reject if HTTP\n",
                "predefined ACL 'HTTP' is not supported"},
           Case{" tcp-request connection expect-proxy layer4\n",
                "test.cfg:3: error: section 'frontend f': keyword 'tcp-request connection': "
                "action 'expect-proxy' is not supported yet (Fulcrum supports 'accept' and "
                "'reject')"},
           Case{" tcp-request connection set-var(sess.x) int(1)\n",
                "action 'set-var(sess.x)' is not supported yet"},
           Case{" tcp-request connection drop\n",
                "keyword 'tcp-request connection': unknown action 'drop'"},
           Case{" tcp-request connection\n", "keyword 'tcp-request connection' expects an action"},
           Case{" tcp-request content reject\n",
                "test.cfg:3: error: section 'frontend f': keyword 'tcp-request content' is not "
                "supported yet"},
           Case{" tcp-request inspect-delay 5s\n",
                "keyword 'tcp-request inspect-delay' is not "
                "supported yet"},
           Case{" tcp-request frobnicate\n", "unknown keyword 'tcp-request frobnicate'"},
       }) {
    EXPECT_CONTAINS(onlyError(frontend(c.lines)), c.expected);
  }
  EXPECT_EQ(onlyError(backend(" tcp-request connection reject\n")),
            "test.cfg:2: error: section 'backend b': keyword 'tcp-request connection' is not "
            "allowed in a backend section (HAProxy accepts it in defaults, frontend and listen "
            "sections)");
  EXPECT_CONTAINS(onlyError("defaults d\n tcp-request connection reject\n"),
                  "test.cfg:2: error: section 'defaults d': keyword 'tcp-request connection' is "
                  "not supported yet in defaults sections");
}

TEST(ConfigTcpRequest, UserAclsShadowPredefinedOnes) {
  auto c =
      load(frontend(" acl TRUE src 10.0.0.1\n tcp-request connection accept if TRUE\n"
                    " tcp-request connection reject\n"));
  ASSERT_TRUE(c);
  EXPECT_TRUE(accepts(c->services[0], "10.0.0.1:1"));
  EXPECT_FALSE(accepts(c->services[0], "10.0.0.2:1"));
}

// ---------------------------------------------------------------------------------------
// bind parameters

TEST(ConfigBind, Parameters) {
  auto c = load(R"(frontend f
    bind :80,:81 accept-proxy backlog 1024 maxconn 500 defer-accept tfo interface eth0
    bind [::]:443 v6only
    bind [::]:444 v6only v4v6
    bind :445
)");
  ASSERT_TRUE(c);
  const auto& b = c->services[0].binds;
  ASSERT_EQ(b.size(), 5u);
  for (size_t i = 0; i < 2; ++i) {  // every address of the line gets the parameters
    EXPECT_TRUE(b[i].acceptProxy);
    EXPECT_EQ(b[i].backlog, 1024u);
    EXPECT_EQ(b[i].maxconn, 500u);
    EXPECT_TRUE(b[i].deferAccept);
    EXPECT_TRUE(b[i].tfo);
    EXPECT_EQ(b[i].interface, "eth0");
    EXPECT_EQ(b[i].v6only, Tristate::kUnset);
    EXPECT_EQ(b[i].loc.line, 2);
  }
  EXPECT_EQ(b[1].addr.port(), 81);
  EXPECT_EQ(b[2].v6only, Tristate::kOn);
  EXPECT_EQ(b[3].v6only, Tristate::kOff);  // the last of v6only / v4v6 wins
  EXPECT_FALSE(b[4].acceptProxy);
  EXPECT_EQ(b[4].backlog, 0u);
  EXPECT_EQ(b[4].maxconn, 0u);
  EXPECT_FALSE(b[4].deferAccept);
  EXPECT_FALSE(b[4].tfo);
  EXPECT_TRUE(b[4].interface.empty());
}

TEST(ConfigBind, ParameterErrors) {
  struct Case {
    std::string params;
    std::string expected;
  };
  for (const Case& c : {
           Case{"backlog", "bind parameter 'backlog' expects a value"},
           Case{"backlog x", "bind parameter 'backlog': invalid number 'x'"},
           Case{"maxconn -1", "bind parameter 'maxconn': invalid number '-1'"},
           Case{"interface", "bind parameter 'interface' expects a value"},
           Case{"interface averyveryverylongname",
                "bind parameter 'interface': name 'averyveryverylongname' is longer than 15 "
                "characters"},
           Case{"crt /x.pem",
                "bind parameter 'crt' is not supported: Fulcrum is a layer-4 load "
                "balancer and does not terminate TLS"},
           Case{"mss 1400", "bind parameter 'mss' is not supported yet"},
           Case{"tcp-ut 30s", "bind parameter 'tcp-ut' is not supported yet"},
       }) {
    EXPECT_CONTAINS(onlyError("frontend f\n bind :80 " + c.params + "\n"),
                    "test.cfg:2: error: section 'frontend f': keyword 'bind': " + c.expected);
  }
}

// ---------------------------------------------------------------------------------------
// server parameters and source

TEST(ConfigServer, Parameters) {
  auto c = load(R"(backend b
    server a 10.0.0.1:80 maxconn 100 maxqueue 50 backup send-proxy slowstart 10s
    server c 10.0.0.2:80 disabled send-proxy-v2 source 192.0.2.1
    server d 10.0.0.3:80 send-proxy-v2 send-proxy source 192.0.2.1:4000 slowstart 0
    server e 10.0.0.4:80 source [2001:db8::1]:0 weight 7 check inter 3s rise 4 fall 5
    server f 10.0.0.5:80
)");
  ASSERT_TRUE(c);
  const auto& s = c->pools[0].servers;
  ASSERT_EQ(s.size(), 5u);
  EXPECT_EQ(s[0].maxconn, 100u);
  EXPECT_EQ(s[0].maxqueue, 50u);
  EXPECT_TRUE(s[0].backup);
  EXPECT_FALSE(s[0].disabled);
  EXPECT_EQ(s[0].sendProxy, ProxyProtocol::kV1);
  EXPECT_EQ(s[0].slowstart, 10 * kSeconds);
  EXPECT_FALSE(s[0].source.has_value());
  EXPECT_TRUE(s[1].disabled);
  EXPECT_EQ(s[1].sendProxy, ProxyProtocol::kV2);
  ASSERT_TRUE(s[1].source.has_value());
  EXPECT_EQ(*s[1].source, addr("192.0.2.1:0"));
  EXPECT_EQ(s[2].sendProxy, ProxyProtocol::kV2);  // v2 wins when both are set, as in HAProxy
  EXPECT_EQ(*s[2].source, addr("192.0.2.1:4000"));
  EXPECT_EQ(s[2].slowstart, 0);
  EXPECT_EQ(*s[3].source, addr("[2001:db8::1]:0"));
  EXPECT_EQ(s[3].weight, 7u);
  EXPECT_EQ(s[3].check.inter, 3 * kSeconds);
  EXPECT_EQ(s[3].check.rise, 4u);
  EXPECT_EQ(s[3].check.fall, 5u);
  EXPECT_EQ(s[4].sendProxy, ProxyProtocol::kNone);
  EXPECT_EQ(s[4].maxqueue, 0u);
  EXPECT_EQ(s[4].slowstart, 0);
}

TEST(ConfigServer, DefaultServerCarriesTheNewParameters) {
  auto c = load(R"(defaults
    default-server maxconn 10 maxqueue 20 send-proxy slowstart 5s source 192.0.2.9
backend b
    server a 10.0.0.1:80
    server c 10.0.0.2:80 no-send-proxy maxqueue 0
backend v2
    default-server send-proxy-v2
    server a 10.0.0.1:80 no-send-proxy-v2
    server c 10.0.0.2:80
)");
  ASSERT_TRUE(c);
  const auto& a = c->pools[0].servers[0];
  EXPECT_EQ(a.maxconn, 10u);
  EXPECT_EQ(a.maxqueue, 20u);
  EXPECT_EQ(a.sendProxy, ProxyProtocol::kV1);
  EXPECT_EQ(a.slowstart, 5 * kSeconds);
  EXPECT_EQ(*a.source, addr("192.0.2.9:0"));
  const auto& cc = c->pools[0].servers[1];
  EXPECT_EQ(cc.sendProxy, ProxyProtocol::kNone);
  EXPECT_EQ(cc.maxqueue, 0u);
  EXPECT_EQ(c->pools[1].servers[0].sendProxy, ProxyProtocol::kNone);
  EXPECT_EQ(c->pools[1].servers[1].sendProxy, ProxyProtocol::kV2);
}

TEST(ConfigServer, ParameterErrors) {
  struct Case {
    std::string params;
    std::string expected;
  };
  for (const Case& c : {
           Case{"maxqueue -1", "parameter 'maxqueue': invalid number '-1'"},
           Case{"maxqueue", "parameter 'maxqueue' expects a value"},
           Case{"slowstart soon", "parameter 'slowstart': invalid time value 'soon'"},
           Case{"source 10.0.0.1:1025-2000",
                "parameter 'source': source port ranges ('1025-2000') are not supported yet"},
           Case{"source 10.0.0.1 usesrc clientip",
                "parameter 'source': 'source ... usesrc' is not supported yet"},
           Case{"source 10.0.0.1 interface eth0",
                "parameter 'source': 'source ... interface' is not supported yet"},
           Case{"source gateway.example",
                "parameter 'source': source address 'gateway.example' must be a numeric IPv4 or "
                "IPv6 address"},
           Case{"source ::1",
                "parameter 'source': source address '::1' must be a numeric IPv4 or IPv6 address"},
           Case{"source 10.0.0.1:99999",
                "parameter 'source': invalid port '99999' in source address"},
           Case{"send-proxy-v2-ssl-cn", "parameter 'send-proxy-v2-ssl-cn' is not supported yet"},
       }) {
    EXPECT_CONTAINS(
        onlyError("backend b\n server s 10.0.0.1:80 " + c.params + "\n"),
        "test.cfg:2: error: section 'backend b': keyword 'server': server 's': " + c.expected);
  }
  EXPECT_CONTAINS(onlyError("backend b\n default-server slowstart 1x\n"),
                  "test.cfg:2: error: section 'backend b': keyword 'default-server': parameter "
                  "'slowstart': invalid time unit");
}

TEST(ConfigSource, ProxySourceIsTheDefaultForServers) {
  auto c = load(R"(defaults
    source 192.0.2.1
backend inherits
    server a 10.0.0.1:80
backend own
    source 192.0.2.2:5000
    default-server source 192.0.2.3
    server a 10.0.0.1:80
    server c 10.0.0.2:80 source 192.0.2.4
backend plain
    server a 10.0.0.1:80
)");
  ASSERT_TRUE(c);
  EXPECT_EQ(*c->pools[0].servers[0].source, addr("192.0.2.1:0"));
  // A server's own source (or default-server's) wins over the proxy's.
  EXPECT_EQ(*c->pools[1].servers[0].source, addr("192.0.2.3:0"));
  EXPECT_EQ(*c->pools[1].servers[1].source, addr("192.0.2.4:0"));
  EXPECT_EQ(*c->pools[2].servers[0].source, addr("192.0.2.1:0"));

  c = load("backend b\n source 192.0.2.2:5000\n server a 10.0.0.1:80\n");
  ASSERT_TRUE(c);
  EXPECT_EQ(*c->pools[0].servers[0].source, addr("192.0.2.2:5000"));

  EXPECT_EQ(onlyError(frontend(" source 192.0.2.1\n")),
            "test.cfg:3: error: section 'frontend f': keyword 'source' is not allowed in a "
            "frontend section (HAProxy accepts it in defaults, listen and backend sections)");
  EXPECT_CONTAINS(onlyError(backend(" source 192.0.2.1 usesrc clientip\n")),
                  "test.cfg:2: error: section 'backend b': keyword 'source': 'source ... usesrc' "
                  "is not supported yet");
  EXPECT_CONTAINS(onlyError(backend(" source 192.0.2.1 extra\n")),
                  "test.cfg:2: error: section 'backend b': keyword 'source': unexpected argument "
                  "'extra'");
  EXPECT_CONTAINS(onlyError(backend(" source\n")),
                  "test.cfg:2: error: section 'backend b': keyword 'source' expects an address");
}

}  // namespace
}  // namespace fulcrum::config
