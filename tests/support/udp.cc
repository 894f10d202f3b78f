#include "support/udp.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

namespace fulcrum::test {
namespace {

SockAddr loopbackAddr(bool v6, uint16_t port) {
  if (!v6) return SockAddr::loopback4(port);
  auto a = SockAddr::parse("[::1]:" + std::to_string(port));
  return a ? *a : SockAddr();
}

int boundUdp(bool v6) {
  int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("udp socket failed");
  const SockAddr a = loopbackAddr(v6, 0);
  if (bind(fd, a.sa(), a.len()) != 0) throw std::runtime_error("udp bind failed");
  return fd;
}

}  // namespace

namespace {

// Whether a UDP socket can bind the wildcard address of the family at `port` (so that no
// socket of that family holds the port on any address).
bool udpFree(bool v6, uint16_t port) {
  int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  int one = 1;
  if (v6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  const SockAddr a = v6 ? SockAddr::ipv6Any(port) : SockAddr::ipv4Any(port);
  const bool free = bind(fd, a.sa(), a.len()) == 0;
  ::close(fd);
  return free;
}

}  // namespace

UdpPort::UdpPort(bool) {
  // Every UdpPort takes its number from the IPv4 TCP reservations, so two tests never get
  // the same one, and checks it free for UDP in both families (a dual-stack wildcard
  // listener needs both).
  for (int attempt = 0; attempt < 50; ++attempt) {
    auto tcp = std::make_unique<ReservedPort>(false);
    if (udpFree(false, tcp->port()) && udpFree(true, tcp->port())) {
      tcp_ = std::move(tcp);
      return;
    }
  }
  throw std::runtime_error("no free UDP port");
}

UdpServer::UdpServer(Responder responder)
    : v6_(false), silent_(false), responder_(std::move(responder)) {
  open();
}

UdpServer::UdpServer(std::string tag, bool v6, bool silent)
    : tag_(std::move(tag)), v6_(v6), silent_(silent) {
  open();
}

void UdpServer::open() {
  fd_ = boundUdp(v6_);
  port_ = localAddressOf(fd_).port();
  if (pipe2(stopPipe_, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  thread_ = std::thread([this] { loop(); });
}

UdpServer::~UdpServer() { stop(); }

SockAddr UdpServer::addr() const { return loopbackAddr(v6_, port_); }

void UdpServer::stop() {
  if (!thread_.joinable()) return;
  char c = 'x';
  (void)!::write(stopPipe_[1], &c, 1);
  thread_.join();
  ::close(fd_);
  ::close(stopPipe_[0]);
  ::close(stopPipe_[1]);
}

void UdpServer::loop() {
  std::string buf(65536, '\0');
  for (;;) {
    pollfd pfd[2] = {{fd_, POLLIN, 0}, {stopPipe_[0], POLLIN, 0}};
    if (poll(pfd, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (pfd[1].revents != 0) return;
    sockaddr_storage from{};
    socklen_t len = sizeof(from);
    const ssize_t n = recvfrom(fd_, buf.data(), buf.size(), MSG_DONTWAIT,
                               reinterpret_cast<sockaddr*>(&from), &len);
    if (n < 0) continue;
    received_.fetch_add(1);
    if (silent_) continue;
    std::string reply = tag_ + ":" + buf.substr(0, static_cast<size_t>(n));
    if (responder_) {
      auto r = responder_(std::string_view(buf.data(), static_cast<size_t>(n)));
      if (!r) continue;
      reply = std::move(*r);
    }
    sendto(fd_, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
  }
}

UdpClient::UdpClient(bool v6) : fd_(boundUdp(v6)) {}

UdpClient::~UdpClient() { ::close(fd_); }

SockAddr UdpClient::local() const { return localAddressOf(fd_); }

bool UdpClient::send(const SockAddr& to, const std::string& payload) {
  return sendto(fd_, payload.data(), payload.size(), 0, to.sa(), to.len()) ==
         static_cast<ssize_t>(payload.size());
}

std::optional<std::string> UdpClient::receive(std::chrono::milliseconds timeout, SockAddr* from) {
  pollfd pfd{fd_, POLLIN, 0};
  if (poll(&pfd, 1, static_cast<int>(timeout.count())) <= 0) return std::nullopt;
  std::string buf(65536, '\0');
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  const ssize_t n =
      recvfrom(fd_, buf.data(), buf.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&ss), &len);
  if (n < 0) return std::nullopt;
  if (from != nullptr) *from = SockAddr::fromSockaddr(reinterpret_cast<sockaddr*>(&ss), len);
  buf.resize(static_cast<size_t>(n));
  return buf;
}

std::optional<std::string> UdpClient::exchange(const SockAddr& to, const std::string& payload,
                                               std::chrono::milliseconds timeout, SockAddr* from) {
  if (!send(to, payload)) return std::nullopt;
  return receive(timeout, from);
}

}  // namespace fulcrum::test
