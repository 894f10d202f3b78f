#include "config/log_target.h"

#include <fmt/core.h>

#include <string_view>

#include "config/units.h"

namespace fulcrum::config {
namespace {

constexpr uint16_t kSyslogPort = 514;

// clang-format off
constexpr std::string_view kFacilities[] = {
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
    "uucp", "cron", "auth2", "ftp", "ntp", "audit", "alert", "cron2",
    "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
};
constexpr std::string_view kLevels[] = {
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
};
constexpr std::string_view kFormats[] = {
    "local", "rfc3164", "rfc5424", "priority", "short", "timed", "iso", "raw",
};
// clang-format on

template <size_t N>
bool isOneOf(const std::string_view (&list)[N], std::string_view word) {
  for (auto w : list)
    if (w == word) return true;
  return false;
}

enum class Family { kAny, kV4, kV6 };

// "HOST[:PORT]" for syslog over UDP; no port (or 0) is 514.
Result<SockAddr> udpAddress(std::string_view text, Family family) {
  std::string_view host = text;
  std::string_view portText;
  if (text.starts_with("[") && text.ends_with("]")) {
    host = text.substr(1, text.size() - 2);  // "[v6]": no port
  } else if (text.find(':') != std::string_view::npos && !splitHostPort(text, host, portText)) {
    return Error{fmt::format("invalid address '{}'", text)};
  }
  uint16_t port = kSyslogPort;
  if (!portText.empty()) {
    if (portText.find('-') != std::string_view::npos)
      return Error{fmt::format("port ranges ('{}') are not allowed in a log target", portText)};
    auto p = parsePort(portText, true);
    if (!p) return Error{fmt::format("invalid port '{}' in log target '{}'", portText, text)};
    if (*p != 0) port = *p;
  }
  if (host.empty() || host == "*") return Error{fmt::format("log target '{}' has no host", text)};
  auto addr = resolve(host, port);
  if (!addr) {
    bool v6 = host.find(':') != std::string_view::npos;
    return Error{fmt::format("invalid log target '{}': {}{}", text, addr.error(),
                             v6 ? " (write an IPv6 target as [ADDRESS]:PORT)" : "")};
  }
  if (family == Family::kV4 && addr->isV6())
    return Error{fmt::format("'{}' is not an IPv4 address", host)};
  if (family == Family::kV6 && !addr->isV6())
    return Error{fmt::format("'{}' is not an IPv6 address", host)};
  if (addr->isAny()) return Error{fmt::format("log target '{}' is the any address", text)};
  return addr;
}

Status parseTarget(std::string_view text, model::LogTarget& t) {
  using Kind = model::LogTarget::Kind;
  if (text.empty()) return Error{"empty log target"};
  if (text == "stdout" || text == "fd@1") {
    t.kind = Kind::kStdout;
    return Ok{};
  }
  if (text == "stderr" || text == "fd@2") {
    t.kind = Kind::kStderr;
    return Ok{};
  }
  if (text.starts_with("file@")) {  // Fulcrum extension
    std::string_view path = text.substr(5);
    if (!path.starts_with("/"))
      return Error{fmt::format("'file@' expects an absolute path (got '{}')", text)};
    t.kind = Kind::kFile;
    t.path = std::string(path);
    return Ok{};
  }
  if (text.starts_with("/") || text.starts_with("unix@")) {
    std::string_view path = text.starts_with("/") ? text : text.substr(5);
    if (path.empty()) return Error{fmt::format("'{}' has no socket path", text)};
    t.kind = Kind::kSyslogUnix;
    t.path = std::string(path);
    return Ok{};
  }
  Family family = Family::kAny;
  std::string_view rest = text;
  if (auto at = text.find('@'); at != std::string_view::npos) {
    std::string_view prefix = text.substr(0, at);
    rest = text.substr(at + 1);
    if (prefix == "udp" || prefix == "ipv4" || prefix == "ipv6" || prefix == "udp4" ||
        prefix == "udp6") {
      family = prefix == "udp4" || prefix == "ipv4"   ? Family::kV4
               : prefix == "udp6" || prefix == "ipv6" ? Family::kV6
                                                      : Family::kAny;
    } else if (prefix == "fd") {
      return Error{
          fmt::format("log target '{}' is not supported yet (only fd@1 and fd@2, or "
                      "stdout and stderr)",
                      text)};
    } else if (prefix == "ring") {
      return Error{fmt::format("ring buffers ('{}') are not supported yet", text)};
    } else if (prefix == "tcp" || prefix == "tcp4" || prefix == "tcp6" || prefix == "uxst") {
      return Error{fmt::format("syslog over a stream socket ('{}@') is not supported yet", prefix)};
    } else {
      return Error{fmt::format("unknown or unsupported address prefix '{}@' in log target '{}'",
                               prefix, text)};
    }
  }
  auto addr = udpAddress(rest, family);
  if (!addr) return Error{addr.error()};
  t.kind = Kind::kSyslogUdp;
  t.addr = *addr;
  return Ok{};
}

}  // namespace

Result<ParsedLog> parseLogLine(const std::vector<std::string>& args) {
  if (args.size() < 3) {
    return Error{
        "expects a target and a facility (e.g. 'log stdout local0' or "
        "'log 127.0.0.1:514 local0')"};
  }
  ParsedLog out;
  if (auto s = parseTarget(args[1], out.target); !s) return Error{s.error()};
  size_t i = 2;
  // HAProxy's order: [len N] [format F] [sample R:S] FACILITY [LEVEL [MINLEVEL]].
  if (args[i] == "len") {
    if (i + 1 >= args.size()) return Error{"'len' expects a value"};
    auto n = parseUint(args[i + 1], 80, 65535);
    if (!n) return Error{fmt::format("'len': {}", n.error())};
    out.notApplied.push_back(fmt::format("len {}", args[i + 1]));
    i += 2;
  }
  if (i < args.size() && args[i] == "format") {
    if (i + 1 >= args.size()) return Error{"'format' expects a value"};
    if (!isOneOf(kFormats, args[i + 1])) {
      return Error{
          fmt::format("unknown log format '{}' (expected local, rfc3164, rfc5424, "
                      "priority, short, timed, iso or raw)",
                      args[i + 1])};
    }
    out.notApplied.push_back(fmt::format("format {}", args[i + 1]));
    i += 2;
  }
  if (i < args.size() && args[i] == "sample") return Error{"'sample' is not supported yet"};
  if (i >= args.size()) return Error{"expects a facility after the target (e.g. 'local0')"};
  if (!isOneOf(kFacilities, args[i])) {
    return Error{
        fmt::format("unknown log facility '{}' (expected one of the 24 syslog "
                    "facilities: kern, user, daemon, local0 to local7, ...)",
                    args[i])};
  }
  out.target.facility = args[i++];
  for (int level = 0; level < 2 && i < args.size(); ++level, ++i) {
    uint8_t severity = 0;
    while (severity < std::size(kLevels) && kLevels[severity] != args[i]) ++severity;
    if (severity == std::size(kLevels)) {
      return Error{
          fmt::format("unknown log level '{}' (expected emerg, alert, crit, err, "
                      "warning, notice, info or debug)",
                      args[i])};
    }
    (level == 0 ? out.target.level : out.target.minLevel) = severity;
  }
  if (i < args.size()) return Error{fmt::format("unexpected argument '{}'", args[i])};
  return out;
}

}  // namespace fulcrum::config
