#include "common/net.h"

#include <arpa/inet.h>
#include <fmt/core.h>
#include <netdb.h>

#include <charconv>
#include <cstring>

namespace fulcrum {

SockAddr SockAddr::fromSockaddr(const sockaddr* sa, socklen_t len) {
  SockAddr a;
  if (len > sizeof(a.storage_)) len = sizeof(a.storage_);
  std::memcpy(&a.storage_, sa, len);
  a.len_ = len;
  return a;
}

SockAddr SockAddr::ipv4(uint32_t hostOrderAddr, uint16_t port) {
  SockAddr a;
  auto* in = reinterpret_cast<sockaddr_in*>(&a.storage_);
  in->sin_family = AF_INET;
  in->sin_port = htons(port);
  in->sin_addr.s_addr = htonl(hostOrderAddr);
  a.len_ = sizeof(sockaddr_in);
  return a;
}

SockAddr SockAddr::ipv6Any(uint16_t port) {
  SockAddr a;
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&a.storage_);
  in6->sin6_family = AF_INET6;
  in6->sin6_port = htons(port);
  in6->sin6_addr = in6addr_any;
  a.len_ = sizeof(sockaddr_in6);
  return a;
}

uint16_t SockAddr::port() const {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
  if (family() == AF_INET6)
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
  return 0;
}

void SockAddr::setPort(uint16_t port) {
  if (family() == AF_INET) reinterpret_cast<sockaddr_in*>(&storage_)->sin_port = htons(port);
  if (family() == AF_INET6) reinterpret_cast<sockaddr_in6*>(&storage_)->sin6_port = htons(port);
}

bool SockAddr::isAny() const {
  if (family() == AF_INET)
    return reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr.s_addr == INADDR_ANY;
  if (family() == AF_INET6)
    return IN6_IS_ADDR_UNSPECIFIED(&reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr);
  return false;
}

std::string SockAddr::hostString() const {
  char buf[INET6_ADDRSTRLEN] = "?";
  if (family() == AF_INET)
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, buf,
              sizeof(buf));
  else if (family() == AF_INET6)
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr, buf,
              sizeof(buf));
  return buf;
}

std::string SockAddr::toString() const {
  if (family() == AF_INET6) return fmt::format("[{}]:{}", hostString(), port());
  return fmt::format("{}:{}", hostString(), port());
}

bool SockAddr::operator==(const SockAddr& o) const {
  if (family() != o.family()) return false;
  if (family() == AF_INET) {
    auto* a = reinterpret_cast<const sockaddr_in*>(&storage_);
    auto* b = reinterpret_cast<const sockaddr_in*>(&o.storage_);
    return a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr;
  }
  if (family() == AF_INET6) {
    auto* a = reinterpret_cast<const sockaddr_in6*>(&storage_);
    auto* b = reinterpret_cast<const sockaddr_in6*>(&o.storage_);
    return a->sin6_port == b->sin6_port &&
           std::memcmp(&a->sin6_addr, &b->sin6_addr, sizeof(in6_addr)) == 0;
  }
  return true;
}

bool splitHostPort(std::string_view text, std::string_view& host, std::string_view& port) {
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos) return false;
    host = text.substr(1, close - 1);
    auto rest = text.substr(close + 1);
    if (rest.empty() || rest.front() != ':') return false;
    port = rest.substr(1);
    return true;
  }
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return false;
  host = text.substr(0, colon);
  port = text.substr(colon + 1);
  return true;
}

Result<uint16_t> parsePort(std::string_view text, bool allowZero) {
  unsigned v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size() || v > 65535 ||
      (v == 0 && !allowZero))
    return Error{fmt::format("invalid port '{}'", text)};
  return static_cast<uint16_t>(v);
}

Result<SockAddr> SockAddr::parseHost(std::string_view host, uint16_t port) {
  if (host.empty() || host == "*") return SockAddr::ipv4Any(port);
  std::string h(host);
  SockAddr a;
  in_addr v4;
  in6_addr v6;
  if (inet_pton(AF_INET, h.c_str(), &v4) == 1) {
    auto* in = reinterpret_cast<sockaddr_in*>(&a.storage_);
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    in->sin_addr = v4;
    a.len_ = sizeof(sockaddr_in);
    return a;
  }
  if (inet_pton(AF_INET6, h.c_str(), &v6) == 1) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&a.storage_);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    in6->sin6_addr = v6;
    a.len_ = sizeof(sockaddr_in6);
    return a;
  }
  return Error{fmt::format("invalid IP address '{}'", host)};
}

Result<SockAddr> SockAddr::parse(std::string_view text) {
  std::string_view host, port;
  if (!splitHostPort(text, host, port)) return Error{fmt::format("missing port in '{}'", text)};
  auto p = parsePort(port, true);
  if (!p) return Error{p.error()};
  return parseHost(host, *p);
}

Result<SockAddr> resolve(std::string_view host, uint16_t port) {
  auto numeric = SockAddr::parseHost(host, port);
  if (numeric) return numeric;
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_family = AF_UNSPEC;
  addrinfo* res = nullptr;
  std::string h(host);
  int rc = getaddrinfo(h.c_str(), nullptr, &hints, &res);
  if (rc != 0 || res == nullptr)
    return Error{fmt::format("cannot resolve '{}': {}", host, gai_strerror(rc))};
  SockAddr a = SockAddr::fromSockaddr(res->ai_addr, res->ai_addrlen);
  freeaddrinfo(res);
  a.setPort(port);
  return a;
}

SockAddr localAddressOf(int fd) {
  SockAddr a;
  *a.lenPtr() = a.capacity();
  if (getsockname(fd, a.sa(), a.lenPtr()) != 0) return SockAddr{};
  return a;
}

}  // namespace fulcrum
