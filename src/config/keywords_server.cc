// "server" and "default-server": the server parameters.
#include <fmt/core.h>

#include <optional>

#include "config/address.h"
#include "config/keywords_internal.h"
#include "config/server_line.h"
#include "config/units.h"

namespace fulcrum::config {
namespace {

using ServerParamFn = Status (*)(model::Server&, std::string_view value);

struct ServerParam {
  std::string_view name;
  bool takesValue;
  ServerParamFn apply;
  bool onDefaultServer = true;  // "default-server" accepts it (HAProxy's default_ok)
};

Status setCount(uint32_t& out, std::string_view v, uint64_t min, uint64_t max) {
  auto n = parseUint(v, min, max);
  if (!n) return Error{n.error()};
  out = static_cast<uint32_t>(*n);
  return Ok{};
}

Status setTimer(model::Timeout& out, std::string_view v) {
  auto t = timerValue(v, false);
  if (!t) return Error{t.error()};
  out = *t;
  return Ok{};
}

Status setPort(uint16_t& out, std::string_view v) {
  auto port = parsePort(v);
  if (!port) return Error{port.error()};
  out = *port;
  return Ok{};
}

// A numeric address for checks or the agent; "any" cannot be connected to.
Status setProbeAddr(std::optional<SockAddr>& out, std::string_view v, std::string_view what) {
  auto a = SockAddr::parseHost(v, 0);
  if (!a) return Error{a.error()};
  if (a->isAny()) return Error{fmt::format("'{}' is not a usable {} address", v, what)};
  out = *a;
  return Ok{};
}

constexpr ServerParam kServerParams[] = {
    // HAProxy's server id (show stat's sid): unique in the backend, so not on default-server.
    {"id", true,
     [](model::Server& s, std::string_view v) -> Status {
       if (auto st = setCount(s.id, v, 1, kMaxInt); !st) return st;
       s.idSet = true;
       return Ok{};
     },
     false},
    {"forward", true,
     [](model::Server& s, std::string_view v) -> Status {
       auto m = parseForwardMode(v);
       if (!m) return Error{m.error()};
       s.forward = *m;
       return Ok{};
     }},
    {"weight", true,
     [](model::Server& s, std::string_view v) { return setCount(s.weight, v, 0, 256); }},
    {"maxconn", true,
     [](model::Server& s, std::string_view v) { return setCount(s.maxconn, v, 0, kMaxInt); }},
    {"check", false,
     [](model::Server& s, std::string_view) -> Status {
       s.check.enabled = true;
       return Ok{};
     }},
    {"no-check", false,
     [](model::Server& s, std::string_view) -> Status {
       s.check.enabled = false;
       return Ok{};
     }},
    {"inter", true,
     [](model::Server& s, std::string_view v) { return setTimer(s.check.inter, v); }},
    {"fastinter", true,
     [](model::Server& s, std::string_view v) { return setTimer(s.check.fastinter, v); }},
    {"downinter", true,
     [](model::Server& s, std::string_view v) { return setTimer(s.check.downinter, v); }},
    {"rise", true,
     [](model::Server& s, std::string_view v) { return setCount(s.check.rise, v, 1, kMaxInt); }},
    {"fall", true,
     [](model::Server& s, std::string_view v) { return setCount(s.check.fall, v, 1, kMaxInt); }},
    {"port", true, [](model::Server& s, std::string_view v) { return setPort(s.check.port, v); }},
    {"addr", true,
     [](model::Server& s, std::string_view v) { return setProbeAddr(s.check.addr, v, "check"); }},
    {"backup", false,
     [](model::Server& s, std::string_view) -> Status {
       s.backup = true;
       return Ok{};
     }},
    {"no-backup", false,
     [](model::Server& s, std::string_view) -> Status {
       s.backup = false;
       return Ok{};
     }},
    {"disabled", false,
     [](model::Server& s, std::string_view) -> Status {
       s.disabled = true;
       return Ok{};
     }},
    {"enabled", false,
     [](model::Server& s, std::string_view) -> Status {
       s.disabled = false;
       return Ok{};
     }},
    {"maxqueue", true,
     [](model::Server& s, std::string_view v) { return setCount(s.maxqueue, v, 0, kMaxInt); }},
    {"slowstart", true,
     [](model::Server& s, std::string_view v) -> Status {
       auto t = timerValue(v, true);  // 0: no slow start
       if (!t) return Error{t.error()};
       s.slowstart = *t;
       return Ok{};
     }},
    // Health checks: the agent, passive observation and the actions on state changes.
    {"agent-check", false,
     [](model::Server& s, std::string_view) -> Status {
       s.agent.enabled = true;
       return Ok{};
     }},
    {"no-agent-check", false,
     [](model::Server& s, std::string_view) -> Status {
       s.agent.enabled = false;
       return Ok{};
     }},
    {"agent-port", true,
     [](model::Server& s, std::string_view v) { return setPort(s.agent.port, v); }},
    {"agent-addr", true,
     [](model::Server& s, std::string_view v) { return setProbeAddr(s.agent.addr, v, "agent"); }},
    {"agent-inter", true,
     [](model::Server& s, std::string_view v) { return setTimer(s.agent.inter, v); }},
    {"agent-send", true,
     [](model::Server& s, std::string_view v) -> Status {
       s.agent.send = std::string(v);
       return Ok{};
     }},
    {"observe", true,
     [](model::Server& s, std::string_view v) -> Status {
       if (v == "layer4") {
         s.observe.mode = model::Observe::kLayer4;
         return Ok{};
       }
       if (v == "layer7") return Error{fmt::format("'layer7' is not supported: {}", kNoHttp)};
       return Error{fmt::format("unknown mode '{}' (expected 'layer4')", v)};
     }},
    {"error-limit", true,
     [](model::Server& s, std::string_view v) {
       return setCount(s.observe.errorLimit, v, 1, kMaxInt);
     }},
    {"on-error", true,
     [](model::Server& s, std::string_view v) -> Status {
       if (v == "fastinter")
         s.observe.onError = model::OnError::kFastinter;
       else if (v == "fail-check")
         s.observe.onError = model::OnError::kFailCheck;
       else if (v == "sudden-death")
         s.observe.onError = model::OnError::kSuddenDeath;
       else if (v == "mark-down")
         s.observe.onError = model::OnError::kMarkDown;
       else
         return Error{
             fmt::format("unknown mode '{}' (expected 'fastinter', 'fail-check', "
                         "'sudden-death' or 'mark-down')",
                         v)};
       return Ok{};
     }},
    {"on-marked-down", true,
     [](model::Server& s, std::string_view v) -> Status {
       if (v != "shutdown-sessions")
         return Error{fmt::format("unknown action '{}' (expected 'shutdown-sessions')", v)};
       s.shutdownOnDown = true;
       return Ok{};
     }},
    {"on-marked-up", true,
     [](model::Server& s, std::string_view v) -> Status {
       if (v != "shutdown-backup-sessions")
         return Error{fmt::format("unknown action '{}' (expected 'shutdown-backup-sessions')", v)};
       s.shutdownBackupsOnUp = true;
       return Ok{};
     }},
    // HAProxy keeps one flag per version and sends v2 when both are set.
    {"send-proxy", false,
     [](model::Server& s, std::string_view) -> Status {
       if (s.sendProxy != model::ProxyProtocol::kV2) s.sendProxy = model::ProxyProtocol::kV1;
       return Ok{};
     }},
    {"send-proxy-v2", false,
     [](model::Server& s, std::string_view) -> Status {
       s.sendProxy = model::ProxyProtocol::kV2;
       return Ok{};
     }},
    {"no-send-proxy", false,
     [](model::Server& s, std::string_view) -> Status {
       if (s.sendProxy == model::ProxyProtocol::kV1) s.sendProxy = model::ProxyProtocol::kNone;
       return Ok{};
     }},
    {"no-send-proxy-v2", false,
     [](model::Server& s, std::string_view) -> Status {
       if (s.sendProxy == model::ProxyProtocol::kV2) s.sendProxy = model::ProxyProtocol::kNone;
       return Ok{};
     }},
    {"source", true,
     [](model::Server& s, std::string_view v) -> Status {
       auto a = sourceAddress(v);
       if (!a) return Error{a.error()};
       s.source = *a;
       return Ok{};
     }},
};

// HAProxy server parameters about TLS.
// clang-format off
constexpr std::string_view kServerTlsParams[] = {
    "ssl", "no-ssl", "crt", "ca-file", "crl-file", "verify", "verifyhost", "no-verifyhost", "sni",
    "alpn", "npn", "ciphers", "ciphersuites", "curves", "sigalgs", "client-sigalgs", "ssl-reuse",
    "no-ssl-reuse", "ssl-min-ver", "ssl-max-ver", "no-sslv3", "no-tlsv10", "no-tlsv11", "no-tlsv12", "no-tlsv13", "force-sslv3",
    "force-tlsv10", "force-tlsv11", "force-tlsv12", "force-tlsv13", "no-tls-tickets", "allow-0rtt",
};
// clang-format on

// HAProxy server parameters about TLS in the health check alone.
constexpr std::string_view kServerCheckTlsParams[] = {"check-ssl", "no-check-ssl", "check-sni",
                                                      "check-alpn"};

// The other HAProxy server parameters.
// clang-format off
constexpr std::string_view kServerOtherParams[] = {
    "check-proto", "check-send-proxy", "check-via-socks4", "guid", "hash-key",
    "init-addr", "init-state", "log-bufsize", "log-proto", "max-reuse", "minconn", "namespace",
    "no-send-proxy-v2-ssl", "no-send-proxy-v2-ssl-cn", "no-tfo", "pool-conn-name",
    "pool-low-conn", "pool-max-conn", "pool-purge-delay", "proto", "redir", "resolve-net",
    "resolve-opts", "resolve-prefer", "resolvers", "send-proxy-v2-ssl", "send-proxy-v2-ssl-cn",
    "set-proxy-v2-tlv-fmt", "shard", "socks4", "stick", "strict-maxconn", "tcp-md5sig", "tcp-ut",
    "tfo", "track", "ws",
};
// clang-format on

// Applies the parameters from args[first] on to srv, a server or (defaultServer) the
// default-server template; parameters accepted and ignored add a warning.
Status applyServerParams(const Statement& st, size_t first, model::Server& srv, bool defaultServer,
                         std::vector<std::string>& warnings) {
  for (size_t i = first; i < st.args.size(); ++i) {
    std::string_view name = st.args[i];
    if (name == "cookie") {
      // HAProxy: "ignoring cookie for server 'S' as HTTP mode is disabled".
      if (i + 1 >= st.args.size()) return Error{"parameter 'cookie' expects a value"};
      ++i;
      warnings.push_back(
          "parameter 'cookie' is ignored: cookie persistence needs HTTP and Fulcrum is a "
          "layer-4 load balancer (HAProxy ignores it in 'mode tcp' proxies too)");
      continue;
    }
    const ServerParam* param = nullptr;
    for (const auto& sp : kServerParams)
      if (sp.name == name) param = &sp;
    if (param == nullptr) {
      if (contains(kServerCheckTlsParams, name)) {
        return Error{fmt::format(
            "parameter '{}' is not supported yet: it sets TLS for the health check only (the "
            "check connects to the server with TLS, the traffic still passes through untouched)",
            name)};
      }
      if (contains(kServerTlsParams, name))
        return Error{fmt::format("parameter '{}' is not supported: {}", name, kNoTlsOrigination)};
      if (contains(kServerOtherParams, name))
        return Error{fmt::format("parameter '{}' is not supported yet", name)};
      return Error{fmt::format("unknown parameter '{}'", name)};
    }
    if (defaultServer && !param->onDefaultServer) {
      return Error{
          fmt::format("parameter '{}' is not accepted on a 'default-server' line (as in "
                      "HAProxy: it belongs to one server)",
                      name)};
    }
    std::string_view value;
    if (param->takesValue) {
      if (i + 1 >= st.args.size())
        return Error{fmt::format("parameter '{}' expects a value", name)};
      value = st.args[++i];
    }
    if (auto s = param->apply(srv, value); !s)
      return Error{fmt::format("parameter '{}': {}", name, s.error())};
    if (name == "source") {
      if (auto s = checkNoSourceOptions(st, i + 1); !s)
        return Error{fmt::format("parameter 'source': {}", s.error())};
    }
  }
  return Ok{};
}

}  // namespace

Status proxyServer(Parser& p, const Statement& st) {
  if (st.args.size() < 3)
    return Error{"keyword 'server' expects a name and an address (e.g. 'server s1 10.0.0.1:80')"};
  const std::string& name = st.args[1];
  if (name.empty()) return Error{"keyword 'server' expects a name and an address"};
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.' || c == ':';
    if (!ok) {
      return keywordError("server", fmt::format("character '{}' is not permitted in server name "
                                                "'{}'",
                                                c, name));
    }
  }
  for (const auto& other : p.proxy().servers) {
    if (other.name == name) {
      return keywordError("server", fmt::format("duplicate server name '{}' (first declared at "
                                                "{}:{})",
                                                name, other.loc.file, other.loc.line));
    }
  }
  model::Server srv = p.settings().defaultServer;
  srv.name = name;
  srv.addrText = st.args[2];
  srv.loc = st.loc;
  auto addr = parseServerAddress(srv.addrText);
  if (!addr) return keywordError("server", fmt::format("server '{}': {}", name, addr.error()));
  srv.addr = *addr;
  std::vector<std::string> warnings;
  if (auto s = applyServerParams(st, 3, srv, false, warnings); !s)
    return keywordError("server", fmt::format("server '{}': {}", name, s.error()));
  // The servers above without "id" have none yet (finish() numbers them): this compares
  // with the explicit ids only, as HAProxy does while parsing.
  if (auto s = checkServerId(srv, p.proxy().servers); !s) return s;
  if (srv.agent.enabled && srv.agent.port == 0) {
    return keywordError("server",
                        fmt::format("server '{}': 'agent-check' needs 'agent-port'", name));
  }
  for (const std::string& w : warnings)
    p.warn(st, fmt::format("keyword 'server': server '{}': {}", name, w));
  p.proxy().servers.push_back(std::move(srv));
  return Ok{};
}

Status proxyDefaultServer(Parser& p, const Statement& st) {
  std::vector<std::string> warnings;
  if (auto s = applyServerParams(st, 1, p.settings().defaultServer, true, warnings); !s)
    return keywordError("default-server", s.error());
  for (const std::string& w : warnings) p.warn(st, "keyword 'default-server': " + w);
  return Ok{};
}

}  // namespace fulcrum::config
