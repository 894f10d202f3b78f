// Real-shaped HAProxy configurations against the real fulcrum binary: the "listen stats"
// section served by the admin HTTP listener (with its Basic auth, checked with curl), a
// missing syslog socket, hatop on the runtime API, and the corpus in tests/configs/ checked
// by both "haproxy -c" and "fulcrum -c".
#include <dirent.h>
#include <fmt/core.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "fulcrum_fixture.h"

namespace fulcrum::test {
namespace {

constexpr const char* kCurl = "/usr/bin/curl";
constexpr const char* kHaproxy = "/usr/sbin/haproxy";
constexpr const char* kHatop = "/usr/bin/hatop";
constexpr const char* kTmux = "/usr/bin/tmux";

bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

// curl -s -i: the status line and headers, then the body.
RunResult curl(std::vector<std::string> args) {
  std::vector<std::string> argv = {kCurl, "-s", "-i", "--max-time", "10"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv);
}

// A Debian-shaped configuration: HTTP defaults, a TCP listen section and "listen stats".
std::string statsConfig(uint16_t statsPort, uint16_t frontPort, const std::string& server,
                        const std::string& extraGlobal = "") {
  return fmt::format(R"(global
    log stdout local0
{}
defaults
    log global
    mode http
    option httplog
    option dontlognull
    timeout connect 5s
    timeout client 50s
    timeout server 50s
    timeout http-request 10s

listen stats
    bind 127.0.0.1:{}
    stats enable
    stats uri /haproxy?stats
    stats refresh 10s
    stats auth admin:s3cret
    stats realm Load\ balancer
    stats hide-version
    stats admin if TRUE

listen app
    mode tcp
    bind 127.0.0.1:{}
    server alpha {}
)",
                     extraGlobal, statsPort, frontPort, server);
}

TEST(RealConfigs, ListenStatsIsServedWithBasicAuth) {
  Backend alpha(Backend::banner("alpha"));
  ReservedPort stats, front;
  FulcrumProcess f(statsConfig(stats.port(), front.port(), alpha.addrString()),
                   SockAddr::loopback4(stats.port()));
  ASSERT_TRUE(f.ready()) << f.logs();
  EXPECT_TRUE(contains(f.logs(), "Fulcrum's stats page is read-only")) << f.logs();
  const std::string base = fmt::format("http://127.0.0.1:{}", stats.port());

  RunResult anon = curl({base + "/haproxy?stats"});
  EXPECT_TRUE(anon.out.starts_with("HTTP/1.1 401")) << anon.out;
  EXPECT_TRUE(contains(anon.out, "WWW-Authenticate: Basic realm=\"Load balancer\"")) << anon.out;
  RunResult wrong = curl({"-u", "admin:nope", base + "/haproxy?stats"});
  EXPECT_TRUE(wrong.out.starts_with("HTTP/1.1 401")) << wrong.out;

  RunResult page = curl({"-u", "admin:s3cret", base + "/haproxy?stats"});
  EXPECT_TRUE(page.out.starts_with("HTTP/1.1 200")) << page.out.substr(0, 300);
  EXPECT_TRUE(contains(page.out, "<html")) << page.out.substr(0, 300);
  EXPECT_TRUE(contains(page.out, "app")) << page.out.substr(0, 300);
  // The section's refresh, as the page's no-JavaScript fallback says.
  EXPECT_TRUE(contains(page.out, "content=\"10\"")) << page.out.substr(0, 600);
  // The figures the page fetches, beside it, and the metrics.
  RunResult json = curl({"-u", "admin:s3cret", base + "/stats.json"});
  EXPECT_TRUE(json.out.starts_with("HTTP/1.1 200")) << json.out.substr(0, 300);
  EXPECT_TRUE(contains(json.out, "\"version\":\"\"")) << json.out.substr(0, 600);  // hide-version
  RunResult metrics = curl({"-u", "admin:s3cret", base + "/metrics"});
  EXPECT_TRUE(metrics.out.starts_with("HTTP/1.1 200")) << metrics.out.substr(0, 300);
  EXPECT_TRUE(contains(metrics.out, "fulcrum_")) << metrics.out.substr(0, 300);
  EXPECT_TRUE(curl({base + "/metrics"}).out.starts_with("HTTP/1.1 401"));
  // Other paths are not the page.
  EXPECT_TRUE(curl({"-u", "admin:s3cret", base + "/other"}).out.starts_with("HTTP/1.1 404"));

  // The TCP proxy beside it relays.
  EXPECT_EQ(firstLine(front.port()), "alpha");
}

// A reload that changes the section's credentials: the listener serves the new ones.
TEST(RealConfigs, ListenStatsFollowsAReload) {
  Backend alpha(Backend::banner("alpha"));
  ReservedPort stats, front;
  TempDir dir;
  const std::string sock = dir.path() + "/api.sock";
  const std::string global = fmt::format("    stats socket {} level admin", sock);
  FulcrumProcess f(statsConfig(stats.port(), front.port(), alpha.addrString(), global),
                   SockAddr::loopback4(stats.port()));
  ASSERT_TRUE(f.ready()) << f.logs();
  const std::string url = fmt::format("http://127.0.0.1:{}/haproxy?stats", stats.port());
  EXPECT_TRUE(curl({"-u", "admin:s3cret", url}).out.starts_with("HTTP/1.1 200"));
  std::string next = statsConfig(stats.port(), front.port(), alpha.addrString(), global);
  next.replace(next.find("admin:s3cret"), 12, "admin:other1");
  ASSERT_TRUE(f.rewriteConfig(next));
  std::string reply = apiRequest(sock, "reload");
  ASSERT_TRUE(reply.starts_with("Success=1\n")) << reply;
  EXPECT_TRUE(eventually(
      [&] {
        return curl({"-u", "admin:other1", url}).out.starts_with("HTTP/1.1 200");
      },
      10s, 100ms))
      << f.logs();
  EXPECT_TRUE(curl({"-u", "admin:s3cret", url}).out.starts_with("HTTP/1.1 401"));
}

TEST(RealConfigs, MissingSyslogSocketWarnsAndStarts) {
  Backend alpha(Backend::banner("alpha"));
  ReservedPort stats, front;
  TempDir dir;
  const std::string socket = dir.path() + "/no-syslog-here";
  std::string cfg = statsConfig(stats.port(), front.port(), alpha.addrString());
  cfg.replace(cfg.find("log stdout local0"), 17, fmt::format("log {} local0", socket));
  FulcrumProcess f(cfg, SockAddr::loopback4(front.port()));
  ASSERT_TRUE(f.ready()) << f.logs();
  EXPECT_TRUE(contains(f.logs(), fmt::format("syslog socket '{}' is not there", socket)))
      << f.logs();
  EXPECT_EQ(firstLine(front.port()), "alpha");
}

// hatop (Debian's curses client of the runtime API) in a tmux pane: it must draw its
// views, not die with a traceback.
TEST(RealConfigs, HatopShowsItsViews) {
  if (access(kHatop, X_OK) != 0 || access(kTmux, X_OK) != 0)
    GTEST_SKIP() << "hatop or tmux not installed (scripts/deps.sh installs them)";
  Backend alpha(Backend::banner("alpha"));
  ReservedPort stats, front;
  TempDir dir;
  const std::string sock = dir.path() + "/api.sock";
  FulcrumProcess f(statsConfig(stats.port(), front.port(), alpha.addrString(),
                               fmt::format("    stats socket {} level admin", sock)),
                   SockAddr::loopback4(front.port()));
  ASSERT_TRUE(f.ready()) << f.logs();
  const std::string session = fmt::format("fulcrum-hatop-{}", getpid());
  const std::string tmuxSock = dir.path() + "/tmux.sock";
  auto tmux = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = {kTmux, "-S", tmuxSock};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv);
  };
  const std::string hatopLog = dir.path() + "/hatop.err";
  RunResult started = tmux({"new-session", "-d", "-s", session, "-x", "200", "-y", "50",
                            fmt::format("{} -s {} 2>{}; sleep 30", kHatop, sock, hatopLog)});
  ASSERT_EQ(started.code, 0) << started.err;
  std::string screen;
  bool drawn = eventually(
      [&] {
        screen = tmux({"capture-pane", "-p", "-t", session}).out;
        return contains(screen, "app") && contains(screen, "alpha");
      },
      10s, 200ms);
  // Its other views: 2 (traffic), 3 (HTTP), 4 (errors), 5 (CLI), then back to 1.
  std::string views;
  for (const char* key : {"2", "4", "5", "1"}) {
    tmux({"send-keys", "-t", session, key});
    std::this_thread::sleep_for(500ms);
    views += tmux({"capture-pane", "-p", "-t", session}).out;
  }
  tmux({"send-keys", "-t", session, "q"});
  std::this_thread::sleep_for(300ms);
  tmux({"kill-server"});
  std::ifstream err(hatopLog);
  std::string errText((std::istreambuf_iterator<char>(err)), std::istreambuf_iterator<char>());
  EXPECT_TRUE(drawn) << screen << "\n" << errText;
  EXPECT_FALSE(contains(screen + views + errText, "Traceback")) << screen << views << errText;
  EXPECT_TRUE(contains(screen, "Fulcrum")) << screen;
  EXPECT_TRUE(contains(views, "CLI")) << views;
}

// Debian's prometheus-haproxy-exporter scraping the runtime API socket (show stat, show
// info): the server's state and the version with its release date.
TEST(RealConfigs, PrometheusHaproxyExporterScrapesTheSocket) {
  constexpr const char* kExporter = "/usr/bin/prometheus-haproxy-exporter";
  if (access(kExporter, X_OK) != 0)
    GTEST_SKIP() << "prometheus-haproxy-exporter not installed (scripts/deps.sh installs it)";
  Backend alpha(Backend::banner("alpha"));
  ReservedPort stats, front, exporterPort;
  TempDir dir;
  const std::string sock = dir.path() + "/api.sock";
  FulcrumProcess f(statsConfig(stats.port(), front.port(), alpha.addrString(),
                               fmt::format("    stats socket {} level admin", sock)),
                   SockAddr::loopback4(front.port()));
  ASSERT_TRUE(f.ready()) << f.logs();
  Process exporter;
  exporter.start({kExporter, "--haproxy.scrape-uri=unix:" + sock,
                  fmt::format("--web.listen-address=127.0.0.1:{}", exporterPort.port())},
                 dir.path());
  ASSERT_TRUE(waitForListening(SockAddr::loopback4(exporterPort.port()))) << exporter.err();
  std::string metrics;
  bool scraped = eventually(
      [&] {
        metrics = curl({fmt::format("http://127.0.0.1:{}/metrics", exporterPort.port())}).out;
        return contains(metrics, "haproxy_up 1");
      },
      10s, 200ms);
  exporter.signal(SIGTERM);
  exporter.wait(5s);
  EXPECT_TRUE(scraped) << metrics.substr(0, 2000) << exporter.err();
  EXPECT_TRUE(contains(metrics, "haproxy_server_up{backend=\"app\",server=\"alpha\"} 1"))
      << metrics.substr(0, 2000);
  EXPECT_TRUE(contains(metrics, "haproxy_version_info{release_date=\"20"))
      << metrics.substr(0, 2000);
  EXPECT_TRUE(contains(metrics, "haproxy_exporter_csv_parse_failures_total 0"));
}

// ---- the corpus ----

std::vector<std::string> corpusFiles() {
  std::vector<std::string> out;
  const std::string dir = std::string(FULCRUM_SOURCE_DIR) + "/tests/configs";
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string name = e->d_name;
      if (name.ends_with(".cfg")) out.push_back(dir + "/" + name);
    }
    closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Files HAProxy accepts and Fulcrum does not yet: the keyword its error names, and why.
// Keep short.
struct ExpectedFailure {
  std::string keyword;
  std::string why;
};
const std::map<std::string, ExpectedFailure> kExpectedFailures = {
    // Protocol health checks: roadmap item 11.
    {"galera-mysql.cfg", {"keyword 'option mysql-check'", "protocol health checks"}},
    {"patroni-postgres.cfg", {"keyword 'option httpchk'", "HTTP health checks of TCP services"}},
};

TEST(RealConfigs, CorpusLoadsWhereHAProxyLoadsIt) {
  auto files = corpusFiles();
  ASSERT_GE(files.size(), 10u);
  int accepted = 0;
  for (const std::string& path : files) {
    const std::string name = path.substr(path.rfind('/') + 1);
    RunResult h = run({kHaproxy, "-c", "-f", path});
    ASSERT_EQ(h.code, 0) << name << ": HAProxy refuses it; the corpus holds valid files only\n"
                         << h.out << h.err;
    RunResult f = run({fulcrumBin(), "-c", "-f", path});
    auto expected = kExpectedFailures.find(name);
    if (expected == kExpectedFailures.end()) {
      EXPECT_EQ(f.code, 0) << name << ": HAProxy accepts it, Fulcrum refuses it:\n" << f.err;
      accepted += f.code == 0;
    } else {
      // Still refused, and for the reason written down (the table must not go stale).
      EXPECT_NE(f.code, 0) << name << " loads now: remove it from kExpectedFailures";
      EXPECT_TRUE(contains(f.err, expected->second.keyword))
          << name << " (" << expected->second.why << "): " << f.err;
    }
  }
  EXPECT_GE(accepted, static_cast<int>(files.size() - kExpectedFailures.size()));
}

}  // namespace
}  // namespace fulcrum::test

namespace fulcrum::test {
namespace {

// A packet service (dataplane xdp) on an interface that does not exist: `fulcrum -c`
// accepts the file (interfaces are the host's, not the file's), the start stops with the
// line of the xdp-interface and the reason, before anything is loaded.
TEST(PacketServices, AMissingInterfaceStopsTheStartWithItsLine) {
  TempDir dir;
  const std::string path = dir.write(
      "xdp.cfg",
      "global\n    xdp-interface fl-nosuch0\n"
      "defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 1s\n"
      "    timeout server 1s\n"
      "frontend vip\n    bind 192.0.2.10:80\n    dataplane xdp\n    default_backend reals\n"
      "backend reals\n    forward ipip\n    server r1 127.0.0.2:80\n");
  RunResult check = run({fulcrumBin(), "-c", "-f", path});
  EXPECT_EQ(check.code, 0) << check.err;
  RunResult start = run({fulcrumBin(), "-f", path}, 10s);
  EXPECT_EQ(start.code, 1);
  EXPECT_NE(start.err.find("xdp.cfg:2: xdp-interface 'fl-nosuch0': no such interface"),
            std::string::npos)
      << start.err;
}

}  // namespace
}  // namespace fulcrum::test
