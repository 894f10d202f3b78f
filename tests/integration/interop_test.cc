// PROXY protocol interoperability with real peers from Debian: HAProxy and nginx.
// Each chain ends at a backend of ours that parses the header the last hop sends, or at
// a peer that echoes the address it parsed, so the assertion is always "the client's
// real address crossed every hop".
#include <fmt/core.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "fulcrum_fixture.h"
#include "proxy/proxy_protocol.h"

namespace fulcrum::test {
namespace {

bool haveCommand(const std::string& path) { return access(path.c_str(), X_OK) == 0; }

// A backend that parses a PROXY header (v1 or v2), then answers "SRC-IP SRC-PORT" and
// echoes the first payload line after the header.
Backend::Handler proxyParsingBackend() {
  return [](int fd) {
    std::string in;
    proxy::ProxyHeader h;
    proxy::ParseStatus st = proxy::ParseStatus::kIncomplete;
    char buf[4096];
    while (st == proxy::ParseStatus::kIncomplete) {
      ssize_t n = recv(fd, buf, sizeof(buf), 0);
      if (n <= 0) return;
      in.append(buf, static_cast<size_t>(n));
      st = proxy::parseProxyHeader(reinterpret_cast<const uint8_t*>(in.data()), in.size(), h,
                                   nullptr);
    }
    if (st != proxy::ParseStatus::kOk || !h.hasAddresses()) {
      sendAll(fd, std::string("BAD\n"));
      return;
    }
    std::string payload = in.substr(h.headerLength);
    while (payload.find('\n') == std::string::npos) {
      ssize_t n = recv(fd, buf, sizeof(buf), 0);
      if (n <= 0) break;
      payload.append(buf, static_cast<size_t>(n));
    }
    sendAll(fd,
            fmt::format("{} {} v{} {}", h.src.hostString(), h.src.port(), h.v2 ? 2 : 1, payload));
  };
}

uint16_t localPort(int fd) { return localAddressOf(fd).port(); }

// Sends "hello\n" through the chain and returns the backend's answer line.
std::string askThrough(const SockAddr& front, uint16_t* clientPort) {
  int fd = connectTcp(front);
  if (fd < 0) return "<connect failed>";
  *clientPort = localPort(fd);
  sendAll(fd, std::string("hello\n"));
  std::string line;
  readLine(fd, line, 10s);
  closeFd(fd);
  return line;
}

class HaproxyProcess {
 public:
  HaproxyProcess(const std::string& cfg, const SockAddr& probe) {
    path_ = dir_.write("haproxy.cfg", cfg);
    proc_.start({"/usr/sbin/haproxy", "-db", "-f", path_}, dir_.path());
    ready_ = waitForListening(probe, 10s);
  }
  ~HaproxyProcess() {
    proc_.signal(SIGTERM);
    if (proc_.wait(5s) < 0) proc_.signal(SIGKILL);
  }
  bool ready() const { return ready_; }
  std::string logs() const { return proc_.err(); }

 private:
  TempDir dir_;
  std::string path_;
  Process proc_;
  bool ready_ = false;
};

class NginxProcess {
 public:
  NginxProcess(const std::string& streamBlock, const SockAddr& probe) {
    std::string cfg = fmt::format(
        "load_module /usr/lib/nginx/modules/ngx_stream_module.so;\n"
        "daemon off;\nmaster_process off;\nworker_processes 1;\n"
        "error_log {0}/error.log warn;\npid {0}/nginx.pid;\n"
        "events {{ worker_connections 256; }}\n"
        "stream {{\n{1}\n}}\n",
        dir_.path(), streamBlock);
    path_ = dir_.write("nginx.conf", cfg);
    proc_.start(
        {"/usr/sbin/nginx", "-p", dir_.path(), "-c", path_, "-e", dir_.path() + "/error.log"},
        dir_.path());
    ready_ = waitForListening(probe, 10s);
  }
  ~NginxProcess() {
    proc_.signal(SIGTERM);
    if (proc_.wait(5s) < 0) proc_.signal(SIGKILL);
  }
  bool ready() const { return ready_; }
  std::string logs() const { return readFile(dir_.path() + "/error.log") + proc_.err(); }

 private:
  TempDir dir_;
  std::string path_;
  Process proc_;
  bool ready_ = false;
};

std::string fulcrumConfig(uint16_t port, const std::string& bindOpts, const std::string& server) {
  return fmt::format(
      "global\n  nbthread 1\n"
      "defaults\n  timeout connect 2s\n  timeout client 10s\n  timeout server 10s\n"
      "listen app\n  bind 127.0.0.1:{} {}\n  server s {}\n",
      port, bindOpts, server);
}

class Interop : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!haveCommand("/usr/sbin/haproxy") || !haveCommand("/usr/sbin/nginx") ||
        !std::filesystem::exists("/usr/lib/nginx/modules/ngx_stream_module.so"))
      GTEST_FAIL() << "haproxy, nginx and libnginx-mod-stream are needed: run scripts/deps.sh";
  }
};

// client → fulcrum (send-proxy[-v2]) → haproxy (accept-proxy, send-proxy-v2) → backend
void fulcrumToHaproxy(const char* sendProxy) {
  Backend be(proxyParsingBackend());
  ReservedPort hport, fport;
  HaproxyProcess h(fmt::format("defaults\n  mode tcp\n  timeout connect 2s\n"
                               "  timeout client 10s\n  timeout server 10s\n"
                               "listen in\n  bind 127.0.0.1:{} accept-proxy\n"
                               "  server s {} send-proxy-v2\n",
                               hport.port(), be.addrString()),
                   SockAddr::loopback4(hport.port()));
  ASSERT_TRUE(h.ready()) << h.logs();
  FulcrumProcess f(
      fulcrumConfig(fport.port(), "", fmt::format("127.0.0.1:{} {}", hport.port(), sendProxy)),
      SockAddr::loopback4(fport.port()));
  ASSERT_TRUE(f.ready()) << f.logs();
  uint16_t clientPort = 0;
  std::string answer = askThrough(SockAddr::loopback4(fport.port()), &clientPort);
  EXPECT_EQ(answer, fmt::format("127.0.0.1 {} v2 hello", clientPort)) << h.logs();
}

TEST_F(Interop, HaproxyAcceptsFulcrumSendProxyV1) { fulcrumToHaproxy("send-proxy"); }
TEST_F(Interop, HaproxyAcceptsFulcrumSendProxyV2) { fulcrumToHaproxy("send-proxy-v2"); }

// client → haproxy (send-proxy-v2) → fulcrum (accept-proxy, send-proxy) → backend
TEST_F(Interop, FulcrumAcceptsHaproxySendProxyV2) {
  Backend be(proxyParsingBackend());
  ReservedPort hport, fport;
  FulcrumProcess f(
      fulcrumConfig(fport.port(), "accept-proxy", fmt::format("{} send-proxy", be.addrString())),
      SockAddr::loopback4(fport.port()));
  ASSERT_TRUE(f.proc().running()) << f.logs();
  HaproxyProcess h(fmt::format("defaults\n  mode tcp\n  timeout connect 2s\n"
                               "  timeout client 10s\n  timeout server 10s\n"
                               "listen out\n  bind 127.0.0.1:{}\n"
                               "  server s 127.0.0.1:{} send-proxy-v2\n",
                               hport.port(), fport.port()),
                   SockAddr::loopback4(hport.port()));
  ASSERT_TRUE(h.ready()) << h.logs();
  uint16_t clientPort = 0;
  std::string answer = askThrough(SockAddr::loopback4(hport.port()), &clientPort);
  EXPECT_EQ(answer, fmt::format("127.0.0.1 {} v1 hello", clientPort)) << f.logs();
}

// client → fulcrum (send-proxy[-v2]) → nginx (listen proxy_protocol; returns the address
// it parsed)
void fulcrumToNginx(const char* sendProxy) {
  ReservedPort nport, fport;
  NginxProcess n(fmt::format("  server {{\n    listen 127.0.0.1:{} proxy_protocol;\n"
                             "    return \"$proxy_protocol_addr $proxy_protocol_port\\n\";\n"
                             "  }}",
                             nport.port()),
                 SockAddr::loopback4(nport.port()));
  // The readiness probe sent no header; nginx just logged it.
  ASSERT_TRUE(n.ready()) << n.logs();
  FulcrumProcess f(
      fulcrumConfig(fport.port(), "", fmt::format("127.0.0.1:{} {}", nport.port(), sendProxy)),
      SockAddr::loopback4(fport.port()));
  ASSERT_TRUE(f.ready()) << f.logs();
  int fd = connectTcp(SockAddr::loopback4(fport.port()));
  ASSERT_GE(fd, 0);
  uint16_t clientPort = localPort(fd);
  std::string line;
  EXPECT_TRUE(readLine(fd, line, 10s)) << n.logs();
  closeFd(fd);
  EXPECT_EQ(line, fmt::format("127.0.0.1 {}", clientPort)) << n.logs();
}

TEST_F(Interop, NginxAcceptsFulcrumSendProxyV1) { fulcrumToNginx("send-proxy"); }
TEST_F(Interop, NginxAcceptsFulcrumSendProxyV2) { fulcrumToNginx("send-proxy-v2"); }

// client → nginx (proxy_protocol on) → fulcrum (accept-proxy, send-proxy-v2) → backend
TEST_F(Interop, FulcrumAcceptsNginxProxyProtocol) {
  Backend be(proxyParsingBackend());
  ReservedPort nport, fport;
  FulcrumProcess f(
      fulcrumConfig(fport.port(), "accept-proxy", fmt::format("{} send-proxy-v2", be.addrString())),
      SockAddr::loopback4(fport.port()));
  ASSERT_TRUE(f.proc().running()) << f.logs();
  NginxProcess n(fmt::format("  server {{\n    listen 127.0.0.1:{};\n"
                             "    proxy_pass 127.0.0.1:{};\n    proxy_protocol on;\n  }}",
                             nport.port(), fport.port()),
                 SockAddr::loopback4(nport.port()));
  ASSERT_TRUE(n.ready()) << n.logs();
  uint16_t clientPort = 0;
  std::string answer = askThrough(SockAddr::loopback4(nport.port()), &clientPort);
  EXPECT_EQ(answer, fmt::format("127.0.0.1 {} v2 hello", clientPort)) << f.logs();
}

// The runtime API's statistics as HAProxy 2.6 prints them: the same config run by HAProxy
// and by Fulcrum, traffic through both, then "show stat" (CSV header), "show stat json" and
// "show info json" compared field by field: every field Fulcrum prints has HAProxy's name,
// position, tags and value type, on the same kind of object.
TEST_F(Interop, RuntimeApiStatFormatsMatchHaproxys) {
  Backend be(Backend::echo());
  ReservedPort hport, fport;
  TempDir dir;
  auto config = [&](uint16_t port, const std::string& sock) {
    return fmt::format(
        "global\n  stats socket {} level admin\n  maxconn 500\n"
        "defaults\n  mode tcp\n  timeout connect 2s\n  timeout client 10s\n"
        "  timeout server 10s\n"
        "frontend fe\n  bind 127.0.0.1:{}\n  maxconn 50\n  rate-limit sessions 100\n"
        "  default_backend be\n"
        "backend be\n  balance roundrobin\n"
        "  server s1 {} check inter 100ms maxconn 10 maxqueue 5\n"
        "  server s2 {} backup\n",
        sock, port, be.addrString(), be.addrString());
  };
  const std::string hsock = dir.path() + "/haproxy.sock";
  const std::string fsock = dir.path() + "/fulcrum.sock";
  HaproxyProcess h(config(hport.port(), hsock), SockAddr::loopback4(hport.port()));
  ASSERT_TRUE(h.ready()) << h.logs();
  FulcrumProcess f(config(fport.port(), fsock), SockAddr::loopback4(fport.port()));
  ASSERT_TRUE(f.ready()) << f.logs();
  for (uint16_t port : {hport.port(), fport.port()}) {
    int fd = connectTcp(SockAddr::loopback4(port));
    ASSERT_GE(fd, 0);
    std::string line;
    EXPECT_TRUE(sendAll(fd, std::string("x\n")) && readLine(fd, line) && line == "x");
    closeFd(fd);
  }
  // Both have run a health check of s1 (its check_status is set).
  auto checked = [](const std::string& csv) { return csv.find(",L4OK,") != std::string::npos; };
  eventually(
      [&] {
        return checked(apiRequest(hsock, "show stat")) && checked(apiRequest(fsock, "show stat"));
      },
      10s);

  // The CSV header, byte for byte.
  auto firstLine = [](const std::string& text) { return text.substr(0, text.find('\n')); };
  const std::string hcsv = apiRequest(hsock, "show stat");
  ASSERT_EQ(hcsv.rfind("# pxname,", 0), 0u) << hcsv;
  EXPECT_EQ(firstLine(apiRequest(fsock, "show stat")), firstLine(hcsv));

  // A field's identity: the object it is on, its name; what must agree: position, tags and
  // value type.
  using Key = std::pair<std::string, std::string>;  // "Frontend fe/FRONTEND", "pxname"
  auto fieldsOf = [](const std::string& json, bool stat) {
    std::map<Key, std::string> out;
    const auto doc = nlohmann::json::parse(json);
    auto add = [&](const std::string& object, const nlohmann::json& fld) {
      out[{object, fld["field"]["name"].get<std::string>()}] = fmt::format(
          "pos {} {}/{}/{} {}", fld["field"]["pos"].get<int>(),
          fld["tags"]["origin"].get<std::string>(), fld["tags"]["nature"].get<std::string>(),
          fld["tags"]["scope"].get<std::string>(), fld["value"]["type"].get<std::string>());
    };
    if (!stat) {
      for (const auto& fld : doc) add("info", fld);
      return out;
    }
    for (const auto& object : doc) {
      std::string px, sv;
      for (const auto& fld : object) {
        if (fld["field"]["name"] == "pxname") px = fld["value"]["value"];
        if (fld["field"]["name"] == "svname") sv = fld["value"]["value"];
      }
      for (const auto& fld : object)
        add(fmt::format("{} {}/{}", fld["objType"].get<std::string>(), px, sv), fld);
    }
    return out;
  };
  const auto hstat = fieldsOf(apiRequest(hsock, "show stat json"), true);
  const auto fstat = fieldsOf(apiRequest(fsock, "show stat json"), true);
  ASSERT_GT(hstat.size(), 100u);
  ASSERT_GT(fstat.size(), 50u);
  // Fields HAProxy prints for an object only in circumstances this run does not create.
  const std::set<std::string> situational = {"last_agt", "agent_status", "check_health"};
  std::set<std::string> objects;
  for (const auto& [key, meta] : fstat) {
    objects.insert(key.first);
    auto it = hstat.find(key);
    if (it == hstat.end()) {
      EXPECT_TRUE(situational.count(key.second))
          << key.first << " " << key.second << ": HAProxy has no such field there";
      continue;
    }
    EXPECT_EQ(meta, it->second) << key.first << " " << key.second;
  }
  EXPECT_EQ(objects, (std::set<std::string>{"Frontend fe/FRONTEND", "Server be/s1", "Server be/s2",
                                            "Backend be/BACKEND"}));

  const auto hinfo = fieldsOf(apiRequest(hsock, "show info json"), false);
  const auto finfo = fieldsOf(apiRequest(fsock, "show info json"), false);
  size_t shared = 0;
  for (const auto& [key, meta] : finfo) {
    auto it = hinfo.find(key);
    if (it == hinfo.end()) continue;  // Fulcrum's own (Reloads, OpenFds, ...)
    ++shared;
    EXPECT_EQ(meta, it->second) << "show info " << key.second;
  }
  EXPECT_GE(shared, 20u);
}

}  // namespace
}  // namespace fulcrum::test

namespace fulcrum::test {
namespace {

// A server state file written by HAProxy 2.6 ("show servers state" on its stats socket)
// loads into Fulcrum: maintenance, drain and the weight set on HAProxy come back.
TEST_F(Interop, HaproxyServerStateFileLoadsIntoFulcrum) {
  Backend be(Backend::echo());
  ReservedPort hport, fport;
  TempDir dir;
  auto config = [&](uint16_t port, const std::string& sock, const std::string& global) {
    return fmt::format(
        "global\n  stats socket {} level admin\n{}"
        "defaults\n  mode tcp\n  timeout connect 2s\n  timeout client 10s\n"
        "  timeout server 10s\n"
        "frontend fe\n  bind 127.0.0.1:{}\n  default_backend be\n"
        "backend be\n  load-server-state-from-file global\n"
        "  server s1 {} weight 10\n  server s2 {} weight 10\n  server s3 {} weight 10\n",
        sock, global, port, be.addrString(), be.addrString(), be.addrString());
  };
  const std::string hsock = dir.path() + "/haproxy.sock";
  const std::string fsock = dir.path() + "/fulcrum.sock";
  std::string saved;
  {
    HaproxyProcess h(config(hport.port(), hsock, ""), SockAddr::loopback4(hport.port()));
    ASSERT_TRUE(h.ready()) << h.logs();
    EXPECT_EQ(apiRequest(hsock, "set server be/s1 state maint"), "\n");
    EXPECT_EQ(apiRequest(hsock, "set server be/s2 state drain"), "\n");
    EXPECT_EQ(apiRequest(hsock, "set weight be/s3 3"), "\n");
    saved = apiRequest(hsock, "show servers state");
  }
  ASSERT_EQ(saved.rfind("1\n# be_id", 0), 0u) << saved;
  const std::string state = dir.write("haproxy.state", saved);
  FulcrumProcess f(config(fport.port(), fsock, fmt::format("  server-state-file {}\n", state)),
                   SockAddr::loopback4(fport.port()));
  ASSERT_TRUE(f.ready()) << f.logs();
  EXPECT_EQ(f.logs().find(state + ":"), std::string::npos) << "no warning\n" << f.logs();
  const std::string mine = apiRequest(fsock, "show servers state be");
  auto field = [&](const std::string& srv, size_t i) {
    std::istringstream lines(mine);
    std::string line;
    while (std::getline(lines, line)) {
      std::istringstream ws(line);
      std::vector<std::string> words;
      for (std::string w; ws >> w;) words.push_back(w);
      if (words.size() > i && words[3] == srv) return words[i];
    }
    return std::string();
  };
  EXPECT_EQ(field("s1", 6), "1") << mine << "\nHAProxy's:\n" << saved;
  EXPECT_EQ(field("s2", 6), "8") << mine;
  EXPECT_EQ(field("s3", 7), "3") << mine;
  EXPECT_EQ(apiRequest(fsock, "get weight be/s3"), "3 (initial 10)\n\n");
}

}  // namespace
}  // namespace fulcrum::test
