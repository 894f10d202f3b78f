// The admin HTTP listener ("stats bind") of the real fulcrum binary: a Prometheus scrape
// after real traffic, checked by promtool; the stats page rendered by headless Chromium,
// with its refresh; the HTTP error cases; the listener off unless configured.
#include <dirent.h>
#include <fmt/core.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "fulcrum_fixture.h"

namespace fulcrum::test {
namespace {

constexpr const char* kPromtool = "/usr/bin/promtool";
constexpr const char* kChromium = "/usr/bin/chromium";

struct HttpReply {
  int status = 0;
  std::string head;  // status line and headers
  std::string body;
  bool complete = false;  // the whole reply was read up to the server's close
};

// Sends raw bytes on a new connection and reads the reply until the server closes.
HttpReply httpExchange(uint16_t port, const std::string& request) {
  HttpReply r;
  int fd = connectTcp(SockAddr::loopback4(port));
  if (fd < 0) return r;
  std::string raw;
  if (sendAll(fd, request)) r.complete = readToEof(fd, raw, 10s);
  closeFd(fd);
  size_t end = raw.find("\r\n\r\n");
  if (end == std::string::npos) return r;
  r.head = raw.substr(0, end + 2);
  r.body = raw.substr(end + 4);
  if (r.head.starts_with("HTTP/1.1 ") && r.head.size() >= 12)
    r.status = std::stoi(r.head.substr(9, 3));
  return r;
}

HttpReply get(uint16_t port, const std::string& target, const std::string& method = "GET") {
  return httpExchange(port,
                      fmt::format("{} {} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", method, target));
}

std::string header(const HttpReply& r, const std::string& name) {
  std::istringstream in(r.head);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.size() > name.size() && strncasecmp(line.c_str(), name.c_str(), name.size()) == 0 &&
        line[name.size()] == ':')
      return line.substr(name.size() + 2);
  }
  return "";
}

// The value of one sample ("name{labels}") in an exposition, if present.
std::optional<std::string> sample(const std::string& text, const std::string& key) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > key.size() && line.starts_with(key) && line[key.size()] == ' ')
      return line.substr(key.size() + 1);
  }
  return std::nullopt;
}

// Scrapes until every expected sample has its value, or the deadline; returns the last
// scrape.
std::string scrapeUntil(uint16_t port, const std::map<std::string, std::string>& want,
                        std::chrono::milliseconds timeout = 10s) {
  return pollUntil([&] { return get(port, "/metrics").body; },
                   [&](const std::string& text) {
                     for (const auto& [k, v] : want)
                       if (sample(text, k) != v) return false;
                     return true;
                   },
                   timeout);
}

// One proxied connection: reads the backend's banner (so the connection to the server is
// established), sends 6 bytes, closes.
bool oneConnection(uint16_t frontPort) {
  int fd = connectTcp(SockAddr::loopback4(frontPort));
  if (fd < 0) return false;
  std::string line;
  bool ok = readLine(fd, line, 5s) && sendAll(fd, std::string("hello\n"));
  closeFd(fd);
  return ok;
}

std::string config(uint16_t statsPort, uint16_t frontPort, const std::string& servers,
                   bool withStats = true, const std::string& extraGlobal = "") {
  return fmt::format(
      "global\n"
      "    nbthread 2\n"
      "{}{}"
      "defaults\n"
      "    mode tcp\n"
      "    timeout connect 2s\n"
      "    timeout client 30s\n"
      "    timeout server 30s\n"
      "frontend web\n"
      "    bind 127.0.0.1:{}\n"
      "    default_backend pool\n"
      "backend pool\n"
      "    balance roundrobin\n"
      "{}",
      withStats ? fmt::format("    stats bind 127.0.0.1:{}\n", statsPort) : std::string(),
      extraGlobal, frontPort, servers);
}

std::string sk(const std::string& family, const std::string& server) {
  return fmt::format("{}{{backend=\"pool\",server=\"{}\"}}", family, server);
}

std::string stateKey(const std::string& server, const std::string& state) {
  return fmt::format("fulcrum_server_state{{backend=\"pool\",server=\"{}\",state=\"{}\"}}", server,
                     state);
}

TEST(AdminHttp, ScrapeAfterTrafficMatchesItAndPassesPromtool) {
  ASSERT_EQ(access(kPromtool, X_OK), 0)
      << kPromtool << " is missing: install the Debian package prometheus (scripts/deps.sh)";
  Backend alpha(Backend::banner("alpha")), beta(Backend::banner("beta"));
  ReservedPort stats, front;
  std::string servers = fmt::format("    server alpha {}\n    server beta {}\n", alpha.addrString(),
                                    beta.addrString());
  // Probe the admin listener, not the frontend: a probe of the frontend would be traffic.
  FulcrumProcess f(config(stats.port(), front.port(), servers), SockAddr::loopback4(stats.port()));
  ASSERT_TRUE(f.ready()) << f.logs();

  constexpr int kConnections = 10;
  for (int i = 0; i < kConnections; ++i) ASSERT_TRUE(oneConnection(front.port())) << i;
  // Which server took each connection depends on the worker that accepted it (each has
  // its own round-robin cursor): the backends' own counts are the truth.
  const int a = alpha.accepted(), b = beta.accepted();
  ASSERT_EQ(a + b, kConnections);
  auto n = [](int v) { return std::to_string(v); };
  // The counters move on the workers; wait until every connection has been closed and
  // counted.
  std::map<std::string, std::string> want = {
      {"fulcrum_frontend_current_connections{frontend=\"web\"}", "0"},
      {"fulcrum_frontend_connections_total{frontend=\"web\"}", n(kConnections)},
      {"fulcrum_frontend_bytes_in_total{frontend=\"web\"}", n(6 * kConnections)},
      {"fulcrum_frontend_bytes_out_total{frontend=\"web\"}", n(6 * a + 5 * b)},
      {"fulcrum_backend_connections_total{backend=\"pool\"}", n(kConnections)},
      {"fulcrum_backend_current_connections{backend=\"pool\"}", "0"},
      {sk("fulcrum_server_connections_total", "alpha"), n(a)},
      {sk("fulcrum_server_connections_total", "beta"), n(b)},
      {sk("fulcrum_server_bytes_in_total", "alpha"), n(6 * a)},   // "hello\n" each
      {sk("fulcrum_server_bytes_out_total", "alpha"), n(6 * a)},  // "alpha\n" each
      {sk("fulcrum_server_bytes_out_total", "beta"), n(5 * b)},   // "beta\n" each
      {sk("fulcrum_server_connect_time_seconds_count", "alpha"), n(a)},
      {"fulcrum_server_connect_time_seconds_bucket{backend=\"pool\",server=\"beta\",le=\"+Inf\"}",
       n(b)},
      {"fulcrum_process_connections_total", n(kConnections)},
      {"fulcrum_process_current_connections", "0"},
  };
  std::string text = scrapeUntil(stats.port(), want);
  for (const auto& [k, v] : want) EXPECT_EQ(sample(text, k), v) << k << "\n" << text;
  EXPECT_EQ(sample(text, stateKey("alpha", "UP")), "1");
  EXPECT_EQ(sample(text, stateKey("alpha", "DOWN")), "0");
  EXPECT_EQ(sample(text, "fulcrum_process_worker_threads"), "2");
  EXPECT_EQ(sample(text, "fulcrum_backend_up{backend=\"pool\"}"), "1");
  auto uptime = sample(text, "fulcrum_process_uptime_seconds");
  ASSERT_TRUE(uptime.has_value());
  EXPECT_GE(std::stod(*uptime), 0.0);
  auto fds = sample(text, "fulcrum_process_open_fds");
  ASSERT_TRUE(fds.has_value());
  EXPECT_GT(std::stoi(*fds), 4);

  HttpReply r = get(stats.port(), "/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(header(r, "Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(header(r, "Connection"), "close");
  TempDir tmp;
  std::string file = tmp.write("scrape.txt", r.body);
  RunResult check = run({"/bin/sh", "-c", fmt::format("{} check metrics < {}", kPromtool, file)});
  EXPECT_EQ(check.code, 0) << check.out << check.err;
  EXPECT_EQ(check.out + check.err, "") << "promtool lint problems";
}

TEST(AdminHttp, ErrorsMethodsAndHead) {
  Backend alpha(Backend::banner("alpha"));
  ReservedPort stats, front;
  FulcrumProcess f(
      config(stats.port(), front.port(), fmt::format("    server alpha {}\n", alpha.addrString())),
      SockAddr::loopback4(stats.port()));
  ASSERT_TRUE(f.ready()) << f.logs();
  uint16_t p = stats.port();

  EXPECT_EQ(get(p, "/nope").status, 404);
  EXPECT_EQ(get(p, "/metrics/extra").status, 404);
  HttpReply post = get(p, "/metrics", "POST");
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(header(post, "Allow"), "GET, HEAD");
  EXPECT_EQ(get(p, "/stats", "DELETE").status, 405);
  EXPECT_EQ(httpExchange(p, "BLAH\r\n\r\n").status, 400);
  EXPECT_EQ(httpExchange(p, "GET / HTTP/1.1\r\nno colon here\r\n\r\n").status, 400);
  EXPECT_EQ(httpExchange(p, "GET / HTTP/2.0\r\n\r\n").status, 505);
  EXPECT_EQ(get(p, "/stats?refresh=x").status, 400);
  HttpReply big =
      httpExchange(p, "GET / HTTP/1.1\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n");
  EXPECT_EQ(big.status, 431);
  EXPECT_TRUE(big.complete);

  // HEAD: the headers of GET, no body.
  HttpReply head = get(p, "/metrics", "HEAD");
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.complete);
  EXPECT_EQ(head.body, "");
  EXPECT_GT(std::stoi(header(head, "Content-Length")), 100);

  // Each page answers GET with its type.
  EXPECT_EQ(header(get(p, "/stats.json"), "Content-Type"), "application/json");
  HttpReply page = get(p, "/");
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(header(page, "Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("data-row=\"s/pool/alpha\""), std::string::npos);
  EXPECT_EQ(get(p, "/stats").status, 200);

  // A client that sends half a request holds only its own connection: others are served
  // meanwhile, and it gets its answer once it completes the request.
  int slow = connectTcp(SockAddr::loopback4(p));
  ASSERT_GE(slow, 0);
  ASSERT_TRUE(sendAll(slow, std::string("GET /metrics HTTP/1.1\r\nHo")));
  EXPECT_EQ(get(p, "/metrics").status, 200);
  ASSERT_TRUE(sendAll(slow, std::string("st: x\r\n\r\n")));
  std::string raw;
  EXPECT_TRUE(readToEof(slow, raw, 10s));
  closeFd(slow);
  EXPECT_TRUE(raw.starts_with("HTTP/1.1 200 OK\r\n")) << raw.substr(0, 100);

  // A client that disappears mid-request changes nothing either.
  int gone = connectTcp(SockAddr::loopback4(p));
  ASSERT_GE(gone, 0);
  ASSERT_TRUE(sendAll(gone, std::string("GET /met")));
  closeFd(gone);
  EXPECT_EQ(get(p, "/metrics").status, 200);
  EXPECT_TRUE(f.proc().running());
}

TEST(AdminHttp, ClientsBeyondTheLimitAreClosedOthersServedAfter) {
  Backend alpha(Backend::banner("alpha"));
  ReservedPort stats, front;
  FulcrumProcess f(
      config(stats.port(), front.port(), fmt::format("    server alpha {}\n", alpha.addrString())),
      SockAddr::loopback4(stats.port()));
  ASSERT_TRUE(f.ready()) << f.logs();
  // 64 idle clients take every slot: the next connection is closed without an answer.
  std::vector<int> idle;
  for (int i = 0; i < 64; ++i) {
    int fd = connectTcp(SockAddr::loopback4(stats.port()));
    ASSERT_GE(fd, 0);
    idle.push_back(fd);
  }
  // The listener accepts asynchronously: poll until an extra client gets closed unanswered.
  auto scrape = [&] { return get(stats.port(), "/metrics"); };
  HttpReply extra = pollUntil(
      scrape, [](const HttpReply& r) { return r.status == 0; }, 10s);
  EXPECT_EQ(extra.status, 0) << "a client beyond the limit was served";
  EXPECT_TRUE(f.proc().waitForErr("clients already, closing new ones", 5s)) << f.logs();
  for (int fd : idle) closeFd(fd);
  // Once they are gone the listener serves again.
  extra = pollUntil(
      scrape, [](const HttpReply& r) { return r.status == 200; }, 10s);
  EXPECT_EQ(extra.status, 200);
}

// The TCP ports a process listens on, from /proc (its sockets' inodes in /proc/net/tcp*).
std::set<int> listeningPorts(pid_t pid) {
  std::set<std::string> inodes;
  std::string fdDir = fmt::format("/proc/{}/fd", pid);
  if (DIR* d = opendir(fdDir.c_str())) {
    while (dirent* e = readdir(d)) {
      char target[256];
      ssize_t n = readlink((fdDir + "/" + e->d_name).c_str(), target, sizeof(target) - 1);
      if (n <= 0) continue;
      std::string t(target, static_cast<size_t>(n));
      if (t.starts_with("socket:[")) inodes.insert(t.substr(8, t.size() - 9));
    }
    closedir(d);
  }
  std::set<int> ports;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string sl, local, remote, state, queues, timer, retr, uid, timeout, inode;
      fields >> sl >> local >> remote >> state >> queues >> timer >> retr >> uid >> timeout >>
          inode;
      if (state != "0A" || !inodes.count(inode)) continue;
      ports.insert(std::stoi(local.substr(local.rfind(':') + 1), nullptr, 16));
    }
  }
  return ports;
}

// Accepting pauses are counted by their reason: a frontend at its maxconn counts maxconn
// pauses only, one at its rate-limit sessions rate-limit pauses only.
TEST(AdminHttp, AcceptPausesAreCountedByReason) {
  Backend be(Backend::banner("s"));
  ReservedPort stats, capped, limited;
  const std::string cfg = fmt::format(
      "global\n    nbthread 1\n    stats bind 127.0.0.1:{}\n"
      "defaults\n    mode tcp\n    timeout connect 2s\n    timeout client 30s\n"
      "    timeout server 30s\n"
      "frontend capped\n    bind 127.0.0.1:{}\n    maxconn 1\n    default_backend pool\n"
      "frontend limited\n    bind 127.0.0.1:{}\n    rate-limit sessions 1\n"
      "    default_backend pool\n"
      "backend pool\n    server s {}\n",
      stats.port(), capped.port(), limited.port(), be.addrString());
  FulcrumProcess f(cfg, SockAddr::loopback4(stats.port()));
  ASSERT_TRUE(f.ready()) << f.logs();
  // capped: one client holds the only slot, a second one waits in the listen queue.
  int held = connectTcp(SockAddr::loopback4(capped.port()));
  std::string line;
  ASSERT_TRUE(held >= 0 && readLine(held, line, 5s)) << f.logs();
  int waiting = connectTcp(SockAddr::loopback4(capped.port()));
  ASSERT_GE(waiting, 0);
  // limited: three clients within a second; the second and third wait for the next ones.
  std::vector<int> burst;
  for (int i = 0; i < 3; ++i) burst.push_back(connectTcp(SockAddr::loopback4(limited.port())));
  auto value = [&](const std::string& text, const std::string& family, const char* fe) {
    auto v = sample(text, fmt::format("{}{{frontend=\"{}\"}}", family, fe));
    return v ? std::stoll(*v) : -1;
  };
  const std::string text =
      pollUntil([&] { return get(stats.port(), "/metrics").body; },
                [&](const std::string& t) {
                  return value(t, "fulcrum_frontend_maxconn_pauses_total", "capped") > 0 &&
                         value(t, "fulcrum_frontend_rate_limit_pauses_total", "limited") > 0;
                });
  EXPECT_GT(value(text, "fulcrum_frontend_maxconn_pauses_total", "capped"), 0) << text;
  EXPECT_EQ(value(text, "fulcrum_frontend_rate_limit_pauses_total", "capped"), 0) << text;
  EXPECT_GT(value(text, "fulcrum_frontend_rate_limit_pauses_total", "limited"), 0) << text;
  EXPECT_EQ(value(text, "fulcrum_frontend_maxconn_pauses_total", "limited"), 0) << text;
  // The waiting client is served once the slot is free.
  closeFd(held);
  EXPECT_TRUE(readLine(waiting, line, 5s));
  closeFd(waiting);
  for (int fd : burst) closeFd(fd);
}

TEST(AdminHttp, ListenerIsOffUnlessConfigured) {
  Backend alpha(Backend::banner("alpha"));
  ReservedPort stats, front;
  std::string servers = fmt::format("    server alpha {}\n", alpha.addrString());
  {
    FulcrumProcess f(config(stats.port(), front.port(), servers, false),
                     SockAddr::loopback4(front.port()));
    ASSERT_TRUE(f.ready()) << f.logs();
    EXPECT_EQ(listeningPorts(f.proc().pid()), std::set<int>{front.port()});
  }
  // The same check sees the admin listener when it is configured.
  FulcrumProcess f(config(stats.port(), front.port(), servers), SockAddr::loopback4(stats.port()));
  ASSERT_TRUE(f.ready()) << f.logs();
  ASSERT_TRUE(waitForListening(SockAddr::loopback4(front.port())));
  EXPECT_EQ(listeningPorts(f.proc().pid()), (std::set<int>{front.port(), stats.port()}));
}

// A relay between Chromium and the admin listener: it forwards each request as it is,
// and before forwarding the page's first /stats.json request it runs `beforeFirstRefresh`
// (which makes traffic), so that the refreshed figures differ from the ones the page was
// rendered with, deterministically.
class RefreshGate {
 public:
  RefreshGate(uint16_t statsPort, std::function<void()> beforeFirstRefresh)
      : statsPort_(statsPort),
        hook_(std::move(beforeFirstRefresh)),
        backend_([this](int fd) { relay(fd); }) {}
  uint16_t port() const { return backend_.port(); }
  int jsonRequests() const { return json_.load(); }
  std::vector<std::string> requestLines() {
    std::lock_guard lock(mu_);
    return lines_;
  }

 private:
  void relay(int fd) {
    std::string request;
    char buf[4096];
    while (request.find("\r\n\r\n") == std::string::npos) {
      ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
      if (n <= 0) return;
      request.append(buf, static_cast<size_t>(n));
    }
    std::string line = request.substr(0, request.find("\r\n"));
    {
      std::lock_guard lock(mu_);
      lines_.push_back(line);
    }
    if (line.find(" /stats.json ") != std::string::npos && json_.fetch_add(1) == 0) hook_();
    int up = connectTcp(SockAddr::loopback4(statsPort_));
    if (up < 0) return;
    std::string reply;
    if (sendAll(up, request)) readToEof(up, reply, 10s);
    closeFd(up);
    sendAll(fd, reply);
    ::shutdown(fd, SHUT_WR);
  }

  uint16_t statsPort_;
  std::function<void()> hook_;
  std::atomic<int> json_{0};
  std::mutex mu_;
  std::vector<std::string> lines_;
  Backend backend_;
};

// The <tr> of a row in a DOM dump, up to its end.
std::string rowHtml(const std::string& dom, const std::string& key) {
  size_t at = dom.find(fmt::format("data-row=\"{}\"", key));
  if (at == std::string::npos) return "";
  size_t start = dom.rfind("<tr", at);
  size_t end = dom.find("</tr>", at);
  return dom.substr(start, end - start);
}

std::string cell(const std::string& row, const std::string& key) {
  std::smatch m;
  std::regex re(fmt::format("<td data-k=\"{}\"[^>]*>([^<]*)</td>", key));
  if (!std::regex_search(row, m, re)) return "<no cell " + key + ">";
  return m[1];
}

TEST(AdminHttp, StatsPageInChromiumShowsLiveFiguresAndRefreshes) {
  ASSERT_EQ(access(kChromium, X_OK), 0)
      << kChromium << " is missing: install the Debian package chromium (scripts/deps.sh)";
  Backend alpha(Backend::banner("alpha")), beta(Backend::banner("beta"));
  RefusingPort refusing;
  ReservedPort stats, front;
  std::string servers = fmt::format(
      "    server alpha {}\n    server beta {}\n"
      "    server gamma 127.0.0.1:{} check inter 100ms\n"
      "    server delta 127.0.0.1:{} disabled\n",
      alpha.addrString(), beta.addrString(), refusing.port(), refusing.port());
  FulcrumProcess f(config(stats.port(), front.port(), servers), SockAddr::loopback4(stats.port()));
  ASSERT_TRUE(f.ready()) << f.logs();
  // gamma's first failed check takes it DOWN; wait for that before any traffic so that
  // round robin only picks alpha and beta.
  std::string gammaDown = stateKey("gamma", "DOWN");
  std::string text = scrapeUntil(stats.port(), {{gammaDown, "1"}});
  ASSERT_EQ(sample(text, gammaDown), "1") << text;

  // The backends count what they accepted (nothing checks alpha and beta): the figures
  // the page must show.
  auto traffic = [&](int n, int expectTotal) {
    for (int i = 0; i < n; ++i) ASSERT_TRUE(oneConnection(front.port()));
    std::map<std::string, std::string> want = {
        {"fulcrum_frontend_connections_total{frontend=\"web\"}", std::to_string(expectTotal)},
        {"fulcrum_frontend_current_connections{frontend=\"web\"}", "0"},
        {sk("fulcrum_server_connections_total", "alpha"), std::to_string(alpha.accepted())},
        {sk("fulcrum_server_connections_total", "beta"), std::to_string(beta.accepted())}};
    ASSERT_EQ(alpha.accepted() + beta.accepted(), expectTotal);
    std::string t = scrapeUntil(stats.port(), want);
    for (const auto& [k, v] : want) ASSERT_EQ(sample(t, k), v) << k << "\n" << t;
  };
  traffic(4, 4);

  // Without JavaScript: the page as served carries the figures.
  HttpReply page = get(stats.port(), "/stats");
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(cell(rowHtml(page.body, "f/web/FRONTEND"), "stot"), "4");
  EXPECT_EQ(cell(rowHtml(page.body, "s/pool/alpha"), "stot"), std::to_string(alpha.accepted()));

  std::atomic<bool> hookRan{false};
  RefreshGate gate(stats.port(), [&] {
    traffic(6, 10);
    hookRan = true;
  });
  TempDir profile;
  RunResult chrome =
      run({kChromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
           "--disable-background-networking", "--no-first-run", "--user-data-dir=" + profile.path(),
           "--virtual-time-budget=5000", "--dump-dom",
           fmt::format("http://127.0.0.1:{}/stats?refresh=1", gate.port())},
          60s);
  ASSERT_EQ(chrome.code, 0) << chrome.err;
  const std::string& dom = chrome.out;
  ASSERT_TRUE(hookRan.load()) << "the page never fetched stats.json; requests: "
                              << ::testing::PrintToString(gate.requestLines()) << "\n"
                              << dom;

  // The script ran and refreshed at least once, without error.
  std::smatch m;
  ASSERT_TRUE(std::regex_search(dom, m, std::regex("<span id=\"refresh-count\">(\\d+)</span>")))
      << dom;
  EXPECT_GE(std::stoi(m[1]), 1);
  EXPECT_NE(dom.find("<span id=\"refresh-error\"></span>"), std::string::npos) << dom;

  // Live figures after the refresh: 4 connections before the page, 6 after it.
  std::string fe = rowHtml(dom, "f/web/FRONTEND");
  EXPECT_EQ(cell(fe, "stot"), "10") << fe;
  EXPECT_EQ(cell(fe, "bin"), "60") << fe;
  std::string a = rowHtml(dom, "s/pool/alpha");
  std::string b = rowHtml(dom, "s/pool/beta");
  std::string g = rowHtml(dom, "s/pool/gamma");
  std::string d = rowHtml(dom, "s/pool/delta");
  EXPECT_NE(a.find(">alpha</td>"), std::string::npos) << a;
  EXPECT_EQ(cell(a, "stot"), std::to_string(alpha.accepted())) << a;
  EXPECT_EQ(cell(b, "stot"), std::to_string(beta.accepted())) << b;
  EXPECT_EQ(cell(rowHtml(dom, "b/pool/BACKEND"), "stot"), "10");
  // States, and their colours (the row class).
  EXPECT_NE(g.find("class=\"down\""), std::string::npos) << g;
  EXPECT_EQ(cell(g, "status"), "DOWN") << g;
  EXPECT_TRUE(cell(g, "check").starts_with("L4CON")) << g;
  EXPECT_NE(d.find("class=\"maint\""), std::string::npos) << d;
  EXPECT_EQ(cell(d, "status"), "MAINT") << d;
  EXPECT_EQ(cell(a, "status"), "no check") << a;
  EXPECT_NE(dom.find("<span data-p=\"stot\">10</span>"), std::string::npos);
}

// ---- the stats page's policy, request timeouts, live changes, graceful stop ----

// The directives of a Content-Security-Policy header: name -> its sources.
std::map<std::string, std::set<std::string>> cspDirectives(const std::string& header) {
  std::map<std::string, std::set<std::string>> out;
  std::istringstream in(header);
  for (std::string directive; std::getline(in, directive, ';');) {
    std::istringstream words(directive);
    std::string name;
    if (!(words >> name)) continue;
    auto& sources = out[name];
    for (std::string src; words >> src;) sources.insert(src);
  }
  return out;
}

TEST(AdminHttp, StatsPageContentSecurityPolicyForbidsExternalLoads) {
  Backend alpha(Backend::banner("alpha"));
  ReservedPort stats, front;
  FulcrumProcess f(
      config(stats.port(), front.port(), fmt::format("    server alpha {}\n", alpha.addrString())),
      SockAddr::loopback4(stats.port()));
  ASSERT_TRUE(f.ready()) << f.logs();
  using Sources = std::set<std::string>;
  for (const auto& [method, target] :
       {std::pair{"GET", "/"}, std::pair{"GET", "/stats"}, std::pair{"HEAD", "/"}}) {
    HttpReply page = get(stats.port(), target, method);
    ASSERT_EQ(page.status, 200) << method << " " << target;
    const std::string csp = header(page, "Content-Security-Policy");
    auto d = cspDirectives(csp);
    // Nothing by default (fonts, images, frames, ... fall back to it); the page's own
    // inline script and style; its script may fetch stats.json from this listener only.
    EXPECT_EQ(d["default-src"], Sources{"'none'"}) << csp;
    EXPECT_EQ(d["script-src"], Sources{"'unsafe-inline'"}) << csp;
    EXPECT_EQ(d["style-src"], Sources{"'unsafe-inline'"}) << csp;
    EXPECT_EQ(d["connect-src"], Sources{"'self'"}) << csp;
    // No other directive opens anything: no host, scheme or wildcard anywhere.
    for (const auto& [name, sources] : d) {
      for (const std::string& src : sources)
        EXPECT_TRUE(src == "'none'" || src == "'self'" || src == "'unsafe-inline'")
            << name << " allows " << src << ": " << csp;
    }
    EXPECT_EQ(d.size(), 4u) << csp;
  }
  // The page itself loads nothing: no src attribute, style sheet link, @import or url().
  const std::string body = get(stats.port(), "/").body;
  ASSERT_NE(body.find("<script"), std::string::npos) << "not the stats page";
  std::smatch m;
  EXPECT_FALSE(std::regex_search(
      body, m, std::regex(R"((\ssrc\s*=|<link|@import|url\())", std::regex::icase)))
      << m.str();
}

TEST(AdminHttp, ClientsThatDoNotCompleteARequestGet408) {
  Backend alpha(Backend::banner("alpha"));
  ReservedPort stats, front;
  FulcrumProcess f(
      config(stats.port(), front.port(), fmt::format("    server alpha {}\n", alpha.addrString())),
      SockAddr::loopback4(stats.port()));
  ASSERT_TRUE(f.ready()) << f.logs();
  // The documented limit is 10 s (not configurable): both clients wait at once, each
  // with a deadline of 15 s.
  int silent = connectTcp(SockAddr::loopback4(stats.port()));
  int partial = connectTcp(SockAddr::loopback4(stats.port()));
  ASSERT_GE(silent, 0);
  ASSERT_GE(partial, 0);
  ASSERT_TRUE(sendAll(partial, std::string("GET /metrics HTTP/1.1\r\nHost: x\r\n")));
  EXPECT_EQ(get(stats.port(), "/metrics").status, 200) << "the waiting clients block others";
  std::string partialReply, silentReply;
  EXPECT_TRUE(readToEof(partial, partialReply, 15s)) << "not closed within 15 s";
  EXPECT_TRUE(readToEof(silent, silentReply, 15s)) << "not closed within 15 s";
  closeFd(partial);
  closeFd(silent);
  EXPECT_TRUE(partialReply.starts_with("HTTP/1.1 408 ")) << partialReply.substr(0, 100);
  EXPECT_TRUE(silentReply.starts_with("HTTP/1.1 408 "))
      << "a client that sent nothing: " << ::testing::PrintToString(silentReply.substr(0, 100));
}

// The status cell of a "show stat" row, found by its header name.
std::string statCell(const std::string& csv, const std::string& px, const std::string& sv,
                     const std::string& column) {
  std::istringstream in(csv);
  std::string line;
  std::vector<std::string> names;
  auto split = [](const std::string& l) {
    std::vector<std::string> cells;
    std::istringstream cs(l);
    for (std::string c; std::getline(cs, c, ',');) cells.push_back(c);
    return cells;
  };
  while (std::getline(in, line)) {
    if (line.starts_with("# ")) {
      names = split(line.substr(2));
      continue;
    }
    auto cells = split(line);
    if (cells.size() < 2 || cells[0] != px || cells[1] != sv) continue;
    for (size_t i = 0; i < names.size() && i < cells.size(); ++i)
      if (names[i] == column) return cells[i];
  }
  return "<absent>";
}

TEST(AdminHttp, MetricsAndShowInfoFollowStateChangesAndReloads) {
  Backend alpha(Backend::banner("alpha")), beta(Backend::banner("beta"));
  ReservedPort stats, front;
  TempDir sockDir;
  const std::string sock = sockDir.path() + "/api.sock";
  const std::string global = fmt::format("    stats socket {} level admin\n", sock);
  const std::string cfg =
      config(stats.port(), front.port(), fmt::format("    server alpha {}\n", alpha.addrString()),
             true, global);
  FulcrumProcess f(cfg, SockAddr::loopback4(stats.port()));
  ASSERT_TRUE(f.ready()) << f.logs();
  ASSERT_TRUE(eventually([&] {
    return apiRequest(sock, "show info").starts_with("Name: Fulcrum");
  })) << f.logs();
  const uint16_t p = stats.port();
  std::string text = get(p, "/metrics").body;
  ASSERT_EQ(sample(text, stateKey("alpha", "UP")), "1") << text;
  ASSERT_EQ(sample(text, stateKey("alpha", "MAINT")), "0") << text;
  ASSERT_EQ(sample(text, "fulcrum_process_reloads_total"), "0") << text;
  ASSERT_EQ(sample(text, "fulcrum_process_failed_reloads_total"), "0") << text;

  // A state set through the runtime API.
  ASSERT_EQ(apiRequest(sock, "set server pool/alpha state maint"), "\n");
  std::map<std::string, std::string> maint = {{stateKey("alpha", "MAINT"), "1"},
                                              {stateKey("alpha", "UP"), "0"}};
  text = scrapeUntil(p, maint);
  for (const auto& [k, v] : maint) EXPECT_EQ(sample(text, k), v) << k << "\n" << text;

  // A successful reload (it adds beta; alpha stays in maintenance).
  ASSERT_TRUE(f.rewriteConfig(config(stats.port(), front.port(),
                                     fmt::format("    server alpha {}\n    server beta {}\n",
                                                 alpha.addrString(), beta.addrString()),
                                     true, global)));
  std::string reply = apiRequest(sock, "reload");
  ASSERT_TRUE(reply.starts_with("Success=1\n")) << reply;
  std::map<std::string, std::string> reloaded = {{"fulcrum_process_reloads_total", "1"},
                                                 {"fulcrum_process_failed_reloads_total", "0"},
                                                 {stateKey("beta", "UP"), "1"},
                                                 {stateKey("alpha", "MAINT"), "1"}};
  text = scrapeUntil(p, reloaded);
  for (const auto& [k, v] : reloaded) EXPECT_EQ(sample(text, k), v) << k << "\n" << text;

  // A refused one.
  ASSERT_TRUE(f.rewriteConfig(cfg + "    bogus-keyword 1\n"));
  reply = apiRequest(sock, "reload");
  ASSERT_TRUE(reply.starts_with("Success=0\n")) << reply;
  std::map<std::string, std::string> refused = {{"fulcrum_process_reloads_total", "1"},
                                                {"fulcrum_process_failed_reloads_total", "1"},
                                                {stateKey("beta", "UP"), "1"}};
  text = scrapeUntil(p, refused);
  for (const auto& [k, v] : refused) EXPECT_EQ(sample(text, k), v) << k << "\n" << text;
  const std::string info = apiRequest(sock, "show info");
  EXPECT_NE(info.find("\nReloads: 1\n"), std::string::npos) << info;
  EXPECT_NE(info.find("\nFailedReloads: 1\n"), std::string::npos) << info;
}

TEST(AdminHttp, GracefulStopKeepsTheApiAndMetricsUpUntilTheLastConnectionEnds) {
  Backend alpha(Backend::banner("alpha"));
  ReservedPort stats, front;
  TempDir sockDir;
  const std::string sock = sockDir.path() + "/api.sock";
  FulcrumProcess f(
      config(stats.port(), front.port(), fmt::format("    server alpha {}\n", alpha.addrString()),
             true, fmt::format("    stats socket {} level admin\n", sock)),
      SockAddr::loopback4(stats.port()));
  ASSERT_TRUE(f.ready()) << f.logs();  // the frontend listens before "fulcrum started"
  ASSERT_TRUE(
      eventually([&] { return apiRequest(sock, "show info").starts_with("Name: Fulcrum"); }));
  EXPECT_NE(apiRequest(sock, "show info").find("\nStopping: 0\n"), std::string::npos);
  EXPECT_EQ(statCell(apiRequest(sock, "show stat"), "web", "FRONTEND", "status"), "OPEN");
  EXPECT_EQ(sample(get(stats.port(), "/metrics").body, "fulcrum_process_stopping"), "0");

  int held = connectTcp(SockAddr::loopback4(front.port()));
  ASSERT_GE(held, 0);
  std::string banner;
  ASSERT_TRUE(readLine(held, banner, 5s));
  ASSERT_EQ(banner, "alpha");
  f.proc().signal(SIGTERM);
  ASSERT_TRUE(f.proc().waitForErr("received SIGTERM, stopping", 5s)) << f.logs();

  // Stopping, with one connection left (once the readiness probe's has ended too): the
  // runtime API and the admin listener answer.
  std::string info;
  EXPECT_TRUE(eventually([&] {
    info = apiRequest(sock, "show info");
    return info.find("\nCurrConns: 1\n") != std::string::npos;
  })) << info;
  EXPECT_NE(info.find("\nStopping: 1\n"), std::string::npos) << info;
  EXPECT_EQ(statCell(apiRequest(sock, "show stat"), "web", "FRONTEND", "status"), "STOP");
  HttpReply metrics = get(stats.port(), "/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_EQ(sample(metrics.body, "fulcrum_process_stopping"), "1") << metrics.body;
  EXPECT_EQ(sample(metrics.body, "fulcrum_frontend_open{frontend=\"web\"}"), "0") << metrics.body;
  EXPECT_TRUE(f.proc().running());

  // The last connection ends: the process exits, 0.
  closeFd(held);
  EXPECT_EQ(f.proc().wait(10s), 0) << f.logs();
}

}  // namespace
}  // namespace fulcrum::test
