// Internals of the keyword tables, shared by the keywords_*.cc files: the helpers every
// handler uses and the handlers kProxyKeywords (keywords_proxy.cc) takes from the other
// files. Not part of the config API.
//
// Where a keyword lives: the global section and its table in keywords_global.cc; "bind" in
// keywords_bind.cc; "server" and "default-server" in keywords_server.cc; "option", "no"
// and "default" in keywords_option.cc; "acl" and "tcp-request" in keywords_acl.cc;
// "tcp-check" in keywords_tcpcheck.cc; the other proxy keywords and the proxy table in
// keywords_proxy.cc.
//
// The keyword tables hold, for each HAProxy keyword, the sections where HAProxy accepts it
// and the handler that applies it, or no handler when Fulcrum does not support it (yet). A
// keyword missing from every table is unknown to HAProxy too. To support a new keyword:
// write a handler and put it in the table entry. To support a new balance algorithm: flip
// its "supported" flag in kBalanceAlgos (keywords_proxy.cc).
#pragma once

#include <climits>
#include <cstdint>
#include <string_view>

#include "common/clock.h"
#include "common/net.h"
#include "common/result.h"
#include "config/log_target.h"
#include "config/parser.h"

namespace fulcrum::config {

inline constexpr uint64_t kMaxInt = INT_MAX;  // HAProxy keeps these counts in ints

inline constexpr std::string_view kNoHttp =
    "Fulcrum is a layer-4 (TCP/UDP) load balancer and does not parse HTTP";
inline constexpr std::string_view kNoTlsTermination =
    "Fulcrum is a layer-4 load balancer and does not terminate TLS (TLS passes through to the "
    "servers)";
inline constexpr std::string_view kNoTlsOrigination =
    "Fulcrum is a layer-4 load balancer and does not originate TLS to servers (TLS passes "
    "through from the clients)";

// The notes of the table entries without a handler.
inline constexpr std::string_view kHttpNote =
    "requires HTTP mode: Fulcrum is a layer-4 (TCP/UDP) load balancer and does not parse HTTP";
inline constexpr std::string_view kLogNote =
    "is not supported yet (log lines are not configurable yet)";

// ---------------------------------------------------------------------------------------
// Helpers (keywords_common.cc)

Error keywordError(std::string_view keyword, std::string_view message);

// Exactly n arguments after the keyword.
Status expectArgs(const Statement& st, size_t n, std::string_view what);

// "keyword N": one integer argument in [min, max].
Result<uint32_t> uintArgument(const Statement& st, uint64_t min, uint64_t max);

// A timeout or check interval: HAProxy counts them in milliseconds, so a non-zero value
// under 1 ms is an error, as there.
Result<Micros> timerValue(std::string_view text, bool allowZero);

// The settings of a log line that Fulcrum cannot apply yet are accepted with a warning, so
// that a usual HAProxy line ("log /dev/log local0 notice") loads and says what it ignores.
void warnNotApplied(Parser& p, const Statement& st, const ParsedLog& log);

template <size_t N>
bool contains(const std::string_view (&list)[N], std::string_view word) {
  for (auto w : list)
    if (w == word) return true;
  return false;
}

template <size_t N>
const Keyword* findIn(const Keyword (&table)[N], std::string_view name) {
  for (const auto& k : table)
    if (k.name == name) return &k;
  return nullptr;
}

// "ADDR[:PORT]" of "source" (the proxy keyword and the server parameter): a numeric
// address; port 0 or none lets the system pick the port. (keywords_proxy.cc)
Result<SockAddr> sourceAddress(std::string_view text);
// "ipip", "gue", "dr", "nat": the packet data plane's forwarding modes (keywords_proxy.cc).
Result<model::ForwardMode> parseForwardMode(std::string_view v);

// "usesrc" and "interface" after a source address: HAProxy's transparent proxying and
// device binding. (keywords_proxy.cc)
Status checkNoSourceOptions(const Statement& st, size_t i);

// ---------------------------------------------------------------------------------------
// The handlers of kProxyKeywords defined outside keywords_proxy.cc

Status proxyBind(Parser& p, const Statement& st);  // keywords_bind.cc
inline Status proxyDgramBind(Parser& p, const Statement& st) { return proxyBind(p, st); }
Status proxyServer(Parser& p, const Statement& st);         // keywords_server.cc
Status proxyDefaultServer(Parser& p, const Statement& st);  // keywords_server.cc
Status proxyOption(Parser& p, const Statement& st);         // keywords_option.cc
Status proxyNegation(Parser& p, const Statement& st);       // keywords_option.cc
Status proxyAcl(Parser& p, const Statement& st);            // keywords_acl.cc
Status proxyTcpRequest(Parser& p, const Statement& st);     // keywords_acl.cc
Status proxyTcpCheck(Parser& p, const Statement& st);       // keywords_tcpcheck.cc
Status proxyUdpCheck(Parser& p, const Statement& st);       // keywords_tcpcheck.cc

}  // namespace fulcrum::config
