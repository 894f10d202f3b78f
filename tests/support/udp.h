// UDP test helpers: a port for the process under test, a tagged echo server, a client.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "common/net.h"
#include "support/harness.h"

namespace fulcrum::test {

// A UDP port for the process under test (any family, loopback or wildcard). A UDP socket
// left bound in a SO_REUSEPORT group would take datagrams, so the number is held as an
// IPv4 TCP ReservedPort (no other test gets it from this helper) and checked free for UDP
// in both families once.
class UdpPort {
 public:
  explicit UdpPort(bool v6 = false);
  uint16_t port() const { return tcp_->port(); }

 private:
  std::unique_ptr<ReservedPort> tcp_;
};

// A UDP server on 127.0.0.1 or [::1], port 0: answers every datagram with "TAG:" and the
// datagram, from its own thread, until stopped. `silent`: counts, never answers.
class UdpServer {
 public:
  // The reply to a datagram; nullopt: none.
  using Responder = std::function<std::optional<std::string>(std::string_view datagram)>;
  explicit UdpServer(std::string tag, bool v6 = false, bool silent = false);
  // A server that answers with `responder` (on 127.0.0.1).
  explicit UdpServer(Responder responder);
  ~UdpServer();
  UdpServer(const UdpServer&) = delete;
  uint16_t port() const { return port_; }
  SockAddr addr() const;
  std::string addrString() const { return addr().toString(); }
  int received() const { return received_.load(); }
  void stop();

 private:
  void open();
  void loop();
  std::string tag_;
  bool v6_;
  bool silent_;
  Responder responder_;
  int fd_ = -1;
  int stopPipe_[2] = {-1, -1};
  uint16_t port_ = 0;
  std::atomic<int> received_{0};
  std::thread thread_;
};

// A client socket (unconnected), bound to an ephemeral port of 127.0.0.1 or [::1].
class UdpClient {
 public:
  explicit UdpClient(bool v6 = false);
  ~UdpClient();
  UdpClient(const UdpClient&) = delete;
  bool send(const SockAddr& to, const std::string& payload);
  // The next datagram within the timeout, with the address it came from.
  std::optional<std::string> receive(std::chrono::milliseconds timeout = 2s,
                                     SockAddr* from = nullptr);
  // send, then receive.
  std::optional<std::string> exchange(const SockAddr& to, const std::string& payload,
                                      std::chrono::milliseconds timeout = 2s,
                                      SockAddr* from = nullptr);
  SockAddr local() const;

 private:
  int fd_ = -1;
};

}  // namespace fulcrum::test
