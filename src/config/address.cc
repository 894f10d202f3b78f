#include "config/address.h"

#include <fmt/core.h>

namespace fulcrum::config {
namespace {

enum class Family { kAny, kV4, kV6 };

struct PrefixSpec {
  std::string_view name;
  Family family;
  bool supported;
};

// HAProxy's address prefixes. Only the TCP-over-IP ones are supported; the others are
// recognised so that the message can say "not supported" rather than "invalid".
constexpr PrefixSpec kPrefixes[] = {
    {"ipv4", Family::kV4, true},       {"ipv6", Family::kV6, true},
    {"tcp", Family::kAny, true},       {"tcp4", Family::kV4, true},
    {"tcp6", Family::kV6, true},       {"udp", Family::kAny, false},
    {"udp4", Family::kV4, false},      {"udp6", Family::kV6, false},
    {"quic4", Family::kV4, false},     {"quic6", Family::kV6, false},
    {"unix", Family::kAny, false},     {"abns", Family::kAny, false},
    {"abnsz", Family::kAny, false},    {"uxst", Family::kAny, false},
    {"uxdg", Family::kAny, false},     {"fd", Family::kAny, false},
    {"sockpair", Family::kAny, false}, {"rhttp", Family::kAny, false},
    {"mptcp", Family::kAny, false},    {"mptcp4", Family::kV4, false},
    {"mptcp6", Family::kV6, false},
};

// Strips a "prefix@" from text and returns the family it asks for.
Result<Family> takePrefix(std::string_view& text) {
  auto at = text.find('@');
  if (at == std::string_view::npos) return Family::kAny;
  std::string_view name = text.substr(0, at);
  for (const auto& p : kPrefixes) {
    if (p.name != name) continue;
    if (!p.supported) {
      if (name.starts_with("udp") || name.starts_with("quic"))
        return Error{
            fmt::format("'{}@' addresses are not supported yet (UDP services come later)", name)};
      return Error{fmt::format("'{}@' addresses are not supported yet", name)};
    }
    text = text.substr(at + 1);
    return p.family;
  }
  return Error{fmt::format("unknown address prefix '{}@'", name)};
}

Result<SockAddr> hostAddress(std::string_view host, uint16_t port, Family family) {
  if (host.empty() || host == "*") {
    return family == Family::kV6 ? SockAddr::ipv6Any(port) : SockAddr::ipv4Any(port);
  }
  auto addr = SockAddr::parseHost(host, port);
  if (!addr) {
    addr = resolve(host, port);
    if (!addr) return Error{addr.error()};
  }
  if (family == Family::kV4 && addr->isV6())
    return Error{fmt::format("'{}' is not an IPv4 address", host)};
  if (family == Family::kV6 && !addr->isV6())
    return Error{fmt::format("'{}' is not an IPv6 address", host)};
  return addr;
}

Status checkNotUnix(std::string_view text) {
  if (text.starts_with("/"))
    return Error{fmt::format("UNIX socket paths ('{}') are not supported yet", text)};
  return Ok{};
}

}  // namespace

Result<std::vector<BindAddress>> parseBindAddresses(std::string_view text) {
  std::vector<BindAddress> out;
  if (text.empty()) return Error{"empty bind address"};
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view item = text.substr(start, comma - start);
    start = comma + 1;
    if (item.empty()) return Error{fmt::format("empty address in bind list '{}'", text)};

    std::string_view rest = item;
    auto family = takePrefix(rest);
    if (!family) return Error{family.error()};
    if (auto st = checkNotUnix(rest); !st) return Error{st.error()};
    std::string_view host, portText;
    if (!splitHostPort(rest, host, portText) || portText.empty())
      return Error{fmt::format("missing port in bind address '{}'", item)};

    uint16_t low = 0, high = 0;
    auto dash = portText.find('-');
    if (dash == std::string_view::npos) {
      auto p = parsePort(portText, true);  // 0: every port (packet services only)
      if (!p) return Error{fmt::format("invalid port '{}' in bind address '{}'", portText, item)};
      low = high = *p;
    } else {
      auto lo = parsePort(portText.substr(0, dash));
      auto hi = parsePort(portText.substr(dash + 1));
      if (!lo || !hi || *lo > *hi)
        return Error{fmt::format("invalid port range '{}' in bind address '{}'", portText, item)};
      low = *lo;
      high = *hi;
    }
    auto addr = hostAddress(host, low, *family);
    if (!addr) return Error{fmt::format("invalid bind address '{}': {}", item, addr.error())};
    for (uint32_t port = low; port <= high; ++port) {
      BindAddress b;
      b.addr = *addr;
      b.addr.setPort(static_cast<uint16_t>(port));
      b.text = low == high
                   ? std::string(item)
                   : fmt::format("{}:{}", item.substr(0, item.size() - portText.size() - 1), port);
      out.push_back(std::move(b));
    }
    if (comma == text.size()) break;
  }
  return out;
}

Result<SockAddr> parseServerAddress(std::string_view text) {
  std::string_view rest = text;
  auto family = takePrefix(rest);
  if (!family) return Error{family.error()};
  if (auto st = checkNotUnix(rest); !st) return Error{st.error()};
  std::string_view host, portText;
  if (!splitHostPort(rest, host, portText) || portText.empty() || portText == "0") {
    return Error{fmt::format(
        "address '{}' has no port; Fulcrum requires an explicit port on servers for now", text)};
  }
  if (portText.front() == '+' || portText.front() == '-')
    return Error{fmt::format("port offsets ('{}') are not supported yet", portText)};
  if (portText.find('-') != std::string_view::npos)
    return Error{fmt::format("port ranges ('{}') are not allowed on servers", portText)};
  auto port = parsePort(portText);
  if (!port) return Error{fmt::format("invalid port '{}' in address '{}'", portText, text)};
  if (host.empty() || host == "*") return Error{fmt::format("address '{}' has no host", text)};
  auto addr = hostAddress(host, *port, *family);
  if (!addr) return Error{fmt::format("invalid address '{}': {}", text, addr.error())};
  if (addr->isAny()) {
    return Error{fmt::format(
        "address '{}' is the any address (HAProxy's transparent mode), which is not supported",
        text)};
  }
  return addr;
}

}  // namespace fulcrum::config
