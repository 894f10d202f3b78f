// "bind" and its parameters.
#include <fmt/core.h>
#include <net/if.h>

#include "config/address.h"
#include "config/keywords_internal.h"
#include "config/units.h"

namespace fulcrum::config {
namespace {

// HAProxy bind parameters about TLS.
// clang-format off
constexpr std::string_view kBindTlsParams[] = {
    "ssl", "crt", "crt-list", "ca-file", "ca-verify-file", "ca-ignore-err", "ca-sign-file",
    "ca-sign-pass", "ciphers", "ciphersuites", "crl-file", "crt-ignore-err", "curves", "ecdhe",
    "sigalgs", "client-sigalgs", "alpn", "npn", "verify", "strict-sni", "ssl-min-ver",
    "ssl-max-ver", "no-sslv3", "no-tlsv10", "no-tlsv11", "no-tlsv12", "no-tlsv13", "force-sslv3",
    "force-tlsv10", "force-tlsv11", "force-tlsv12", "force-tlsv13", "no-tls-tickets",
    "tls-ticket-keys", "prefer-client-ciphers", "generate-certificates", "allow-0rtt",
    "no-ca-names", "no-alpn", "default-crt",
};
// clang-format on

// The other HAProxy bind parameters (those Fulcrum supports are in applyBindParam).
// clang-format off
constexpr std::string_view kBindOtherParams[] = {
    "accept-netscaler-cip", "expose-fd", "gid", "group", "guid-prefix", "id", "idle-ping", "label",
    "level", "severity-output", "mode", "mss", "namespace", "nbconn", "nice", "process",
    "proto", "quic-cc-algo", "quic-force-retry", "quic-socket", "shards", "tcp-md5sig", "tcp-ut",
    "thread", "transparent", "uid", "user",
};
// clang-format on

// Applies the bind parameter at args[i] (and its value) to b; i moves past its value.
Status applyBindParam(const Statement& st, size_t& i, model::Bind& b) {
  std::string_view param = st.args[i];
  auto value = [&]() -> Result<std::string_view> {
    if (i + 1 >= st.args.size())
      return Error{fmt::format("bind parameter '{}' expects a value", param)};
    return std::string_view(st.args[++i]);
  };
  auto count = [&](uint32_t& out) -> Status {
    auto v = value();
    if (!v) return Error{v.error()};
    auto n = parseUint(*v, 0, kMaxInt);
    if (!n) return Error{fmt::format("bind parameter '{}': {}", param, n.error())};
    out = static_cast<uint32_t>(*n);
    return Ok{};
  };
  if (param == "accept-proxy") {
    b.acceptProxy = true;
  } else if (param == "v4v6") {
    b.v6only = model::Tristate::kOff;
  } else if (param == "v6only") {
    b.v6only = model::Tristate::kOn;
  } else if (param == "backlog") {
    return count(b.backlog);
  } else if (param == "maxconn") {
    return count(b.maxconn);
  } else if (param == "defer-accept") {
    b.deferAccept = true;
  } else if (param == "tfo") {
    b.tfo = true;
  } else if (param == "interface") {
    auto v = value();
    if (!v) return Error{v.error()};
    if (v->empty()) return Error{"bind parameter 'interface' expects an interface name"};
    if (v->size() >= IFNAMSIZ) {
      return Error{fmt::format("bind parameter 'interface': name '{}' is longer than {} characters",
                               *v, IFNAMSIZ - 1)};
    }
    b.interface = std::string(*v);
  } else if (param == "name") {
    // The listener's label in HAProxy's per-listener stats ("option socket-stats", which
    // Fulcrum does not have yet): kept, shown nowhere yet.
    auto v = value();
    if (!v) return Error{v.error()};
    b.name = std::string(*v);
  } else if (contains(kBindTlsParams, param)) {
    return Error{fmt::format("bind parameter '{}' is not supported: {}", param, kNoTlsTermination)};
  } else if (contains(kBindOtherParams, param)) {
    return Error{fmt::format("bind parameter '{}' is not supported yet", param)};
  } else {
    return Error{fmt::format("unknown bind parameter '{}'", param)};
  }
  return Ok{};
}

}  // namespace

Status proxyBind(Parser& p, const Statement& st) {
  const bool dgram = st.args[0] == "dgram-bind";
  if (st.args.size() < 2)
    return Error{fmt::format("keyword '{}' expects an address (e.g. '{}')", st.args[0],
                             dgram ? "*:53" : "*:443")};
  // The parameters apply to every address of the line.
  model::Bind params;
  params.loc = st.loc;
  params.dgram = dgram;
  for (size_t i = 2; i < st.args.size(); ++i)
    if (auto s = applyBindParam(st, i, params); !s) return keywordError(st.args[0], s.error());
  auto addrs = parseBindAddresses(st.args[1]);
  if (!addrs) return keywordError(st.args[0], addrs.error());
  for (auto& a : *addrs) {
    model::Bind b = params;
    b.text = std::move(a.text);
    b.addr = a.addr;
    p.proxy().binds.push_back(std::move(b));
  }
  return Ok{};
}

}  // namespace fulcrum::config
