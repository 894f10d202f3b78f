#include "config/cidr.h"

#include <arpa/inet.h>
#include <fmt/core.h>

#include <cstring>
#include <string>

#include "config/units.h"

namespace fulcrum::config {
namespace {

// A dotted IPv4 mask ("255.255.255.0") as a prefix length; -1 when not contiguous.
int maskPrefix(const in_addr& mask) {
  uint32_t m = ntohl(mask.s_addr);
  int len = 0;
  while (len < 32 && (m & (0x80000000u >> len)) != 0) ++len;
  uint32_t expected = len == 0 ? 0 : ~uint32_t{0} << (32 - len);
  return m == expected ? len : -1;
}

void clearHostBits(model::Cidr& c) {
  for (int bit = c.prefix; bit < 128; ++bit)
    c.addr[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
}

}  // namespace

Result<model::Cidr> parseCidr(std::string_view text) {
  std::string_view host = text;
  std::string_view len;
  bool hasLen = false;
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    host = text.substr(0, slash);
    len = text.substr(slash + 1);
    hasLen = true;
  }
  std::string h(host);
  model::Cidr c;
  in_addr v4{};
  in6_addr v6{};
  if (inet_pton(AF_INET, h.c_str(), &v4) == 1) {
    c.addr[10] = c.addr[11] = 0xff;
    std::memcpy(c.addr + 12, &v4, 4);
    int prefix = 32;
    if (hasLen) {
      in_addr mask{};
      std::string l(len);
      if (len.find('.') != std::string_view::npos && inet_pton(AF_INET, l.c_str(), &mask) == 1) {
        prefix = maskPrefix(mask);
        if (prefix < 0) {
          return Error{
              fmt::format("mask '{}' in '{}' is not contiguous (non-contiguous masks are "
                          "not supported)",
                          len, text)};
        }
      } else {
        auto n = parseUint(len, 0, 32);
        if (!n) {
          return Error{
              fmt::format("invalid prefix length '{}' in '{}' (expected 0 to 32 or a "
                          "dotted mask)",
                          len, text)};
        }
        prefix = static_cast<int>(*n);
      }
    }
    c.prefix = static_cast<uint8_t>(prefix + 96);
  } else if (inet_pton(AF_INET6, h.c_str(), &v6) == 1) {
    std::memcpy(c.addr, &v6, 16);
    int prefix = 128;
    if (hasLen) {
      auto n = parseUint(len, 0, 128);
      if (!n) {
        return Error{
            fmt::format("invalid prefix length '{}' in '{}' (expected 0 to 128)", len, text)};
      }
      prefix = static_cast<int>(*n);
    }
    c.prefix = static_cast<uint8_t>(prefix);
  } else {
    return Error{
        fmt::format("'{}' is not a numeric IPv4 or IPv6 address or prefix (host names "
                    "are not supported)",
                    text)};
  }
  clearHostBits(c);
  return c;
}

}  // namespace fulcrum::config
