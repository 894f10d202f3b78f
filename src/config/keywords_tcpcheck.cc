// "tcp-check": the steps of a pool's health check sequence ("option tcp-check"); and
// "udp-check send|send-binary|expect": the datagram and the reply of "option udp-check".
#include <fmt/core.h>

#include <initializer_list>

#include "common/regex.h"
#include "config/keywords_internal.h"

namespace fulcrum::config {
namespace {

Result<std::string> hexBytes(std::string_view hex) {
  auto digit = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (hex.empty() || hex.size() % 2 != 0)
    return Error{fmt::format("'{}' is not a hex string (an even number of hex digits)", hex)};
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = digit(hex[i]), lo = digit(hex[i + 1]);
    if (hi < 0 || lo < 0) return Error{fmt::format("'{}' is not a hex string", hex)};
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

// "comment TEXT" at args[i] (the only option Fulcrum supports after a tcp-check action);
// other HAProxy options are "not supported yet".
Status tcpCheckOption(const Statement& st, size_t& i, model::TcpCheckRule& r,
                      std::initializer_list<std::string_view> unsupported) {
  std::string_view w = st.args[i];
  if (w == "comment") {
    if (i + 1 >= st.args.size()) return Error{"'comment' expects a text"};
    r.comment = st.args[++i];
    return Ok{};
  }
  for (auto u : unsupported)
    if (w == u) return Error{fmt::format("option '{}' is not supported yet", w)};
  return Error{fmt::format("unexpected argument '{}'", w)};
}

Status parseTcpCheck(const Statement& st, model::TcpCheckRule& r) {
  using Kind = model::TcpCheckRule::Kind;
  using Match = model::TcpCheckRule::Match;
  std::string_view action = st.arg(1);
  if (action == "comment") {
    if (st.args.size() != 3) return Error{"'comment' expects one text argument"};
    r.kind = Kind::kComment;
    r.comment = st.args[2];
    return Ok{};
  }
  if (action == "connect") {
    r.kind = Kind::kConnect;
    for (size_t i = 2; i < st.args.size(); ++i) {
      if (st.args[i] == "port") {
        if (i + 1 >= st.args.size()) return Error{"'port' expects a port number"};
        auto port = parsePort(st.args[++i]);
        if (!port) return Error{fmt::format("'port': {}", port.error())};
        r.port = *port;
        continue;
      }
      if (auto s = tcpCheckOption(st, i, r,
                                  {"default", "addr", "send-proxy", "via-socks4", "ssl", "sni",
                                   "alpn", "linger", "proto"});
          !s)
        return s;
    }
    return Ok{};
  }
  if (action == "send" || action == "send-binary") {
    r.kind = Kind::kSend;
    if (st.args.size() < 3 || st.args[2].empty())
      return Error{fmt::format("'{}' expects the data to send", action)};
    if (action == "send") {
      r.data = st.args[2];
    } else {
      auto bytes = hexBytes(st.args[2]);
      if (!bytes) return Error{bytes.error()};
      r.data = std::move(*bytes);
    }
    for (size_t i = 3; i < st.args.size(); ++i)
      if (auto s = tcpCheckOption(st, i, r, {}); !s) return s;
    return Ok{};
  }
  if (action == "expect") {
    r.kind = Kind::kExpect;
    size_t i = 2;
    for (; i < st.args.size(); ++i) {
      std::string_view w = st.args[i];
      if (w == "!" || w == "string" || w == "rstring" || w == "binary" || w == "rbinary" ||
          w == "string-lf" || w == "binary-lf")
        break;
      if (auto s = tcpCheckOption(st, i, r,
                                  {"min-recv", "ok-status", "error-status", "tout-status",
                                   "on-success", "on-error", "status-code"});
          !s)
        return s;
    }
    if (i < st.args.size() && st.args[i] == "!") {
      r.negate = true;
      ++i;
    }
    if (i >= st.args.size())
      return Error{
          "'expect' expects a match ('string', 'rstring', 'binary' or 'rbinary') and a "
          "pattern"};
    std::string_view match = st.args[i];
    if (match == "string")
      r.match = Match::kString;
    else if (match == "rstring")
      r.match = Match::kRstring;
    else if (match == "binary")
      r.match = Match::kBinary;
    else if (match == "rbinary")
      r.match = Match::kRbinary;
    else if (match == "string-lf" || match == "binary-lf")
      return Error{fmt::format("match '{}' is not supported yet", match)};
    else
      return Error{
          fmt::format("unknown match '{}' (expected 'string', 'rstring', 'binary' or "
                      "'rbinary')",
                      match)};
    if (i + 1 >= st.args.size() || st.args[i + 1].empty())
      return Error{fmt::format("'{}' expects a pattern", match)};
    std::string_view pattern = st.args[i + 1];
    if (i + 2 < st.args.size())
      return Error{fmt::format("unexpected argument '{}' after the pattern", st.args[i + 2])};
    if (r.match == Match::kBinary) {
      auto bytes = hexBytes(pattern);
      if (!bytes) return Error{bytes.error()};
      r.data = std::move(*bytes);
    } else {
      r.data = std::string(pattern);
    }
    if (r.match == Match::kRstring || r.match == Match::kRbinary) {
      if (auto re = Regex::compile(r.data); !re) return Error{re.error()};
    }
    return Ok{};
  }
  if (action == "send-lf" || action == "send-binary-lf" || action == "set-var" ||
      action == "set-var-fmt" || action == "unset-var")
    return Error{fmt::format("action '{}' is not supported yet", action)};
  if (action.empty())
    return Error{"expects an action ('connect', 'send', 'send-binary', 'expect' or 'comment')"};
  return Error{
      fmt::format("unknown action '{}' (expected 'connect', 'send', 'send-binary', "
                  "'expect' or 'comment')",
                  action)};
}

}  // namespace

Status proxyTcpCheck(Parser& p, const Statement& st) {
  model::TcpCheckRule r;
  r.loc = st.loc;
  if (auto s = parseTcpCheck(st, r); !s) return keywordError("tcp-check", s.error());
  ProxySettings& settings = p.settings();
  if (settings.tcpCheckRulesInherited) {  // the section's own rules replace the inherited ones
    settings.tcpCheckRules.clear();
    settings.tcpCheckRulesInherited = false;
  }
  // As HAProxy: with connect steps, the first step (comments aside) must be a connect.
  if (r.kind == model::TcpCheckRule::Kind::kConnect) {
    for (const auto& earlier : settings.tcpCheckRules) {
      if (earlier.kind == model::TcpCheckRule::Kind::kComment) continue;
      if (earlier.kind == model::TcpCheckRule::Kind::kConnect) break;
      return keywordError(
          "tcp-check",
          fmt::format("the first step must be a 'connect' when the sequence has one (a '{}' "
                      "step comes first, at {}:{})",
                      earlier.kind == model::TcpCheckRule::Kind::kSend ? "send" : "expect",
                      earlier.loc.file, earlier.loc.line));
    }
  }
  settings.tcpCheckRules.push_back(std::move(r));
  return Ok{};
}

Status proxyUdpCheck(Parser& p, const Statement& st) {
  const std::string_view action = st.arg(1);
  if (action != "send" && action != "send-binary" && action != "expect")
    return keywordError("udp-check", action.empty()
                                         ? "expects 'send', 'send-binary' or 'expect'"
                                         : fmt::format("unknown action '{}' (expected 'send', "
                                                       "'send-binary' or 'expect')",
                                                       action));
  model::TcpCheckRule r;
  r.loc = st.loc;
  if (auto s = parseTcpCheck(st, r); !s) return keywordError("udp-check", s.error());
  if (!r.comment.empty())
    return keywordError("udp-check", "'comment' is not supported on udp-check lines");
  model::UdpCheckParams& u = p.settings().udpCheck;
  if (r.kind == model::TcpCheckRule::Kind::kSend) {
    u.send = std::move(r.data);
  } else {
    u.expect = std::move(r);
  }
  return Ok{};
}

}  // namespace fulcrum::config
