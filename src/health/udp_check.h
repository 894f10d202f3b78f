// UdpCheck: the active health check of a UDP server (model::UdpCheckParams): one datagram
// on a socket connected to the server, then
//   - a reply that matches `udp-check expect` (or, for a DNS check, a DNS response with the
//     query's id and rcode NOERROR or NXDOMAIN): "Layer7 check passed";
//   - a reply that does not: "Layer7 invalid response";
//   - an ICMP error (port or host unreachable, read as ECONNREFUSED and the like on the
//     connected socket): "Layer4 connection problem";
//   - nothing in time: "Layer7 timeout" when a reply is expected, else "Layer4 check
//     passed" (no ICMP error: the best a check of a server that never answers can say).
// One failed check is one failure: the state machine takes the server DOWN after `fall`
// of them in a row, so a single (rate-limited, spoofable) ICMP message does not.
#pragma once

#include <memory>
#include <string>

#include "common/event_loop.h"
#include "common/fd.h"
#include "health/check.h"
#include "health/expect.h"
#include "model/model.h"

namespace fulcrum::health {

// The PROXY v2 header of a LOCAL command (no addresses): the signature, version 2 and
// command LOCAL, family and transport UNSPEC, no address block. It does not depend on
// anything, so health checks need not link the proxy's encoder (tests compare the two).
inline const std::string kProxyV2Local("\r\n\r\n\0\r\nQUIT\n\x20\x00\x00\x00", 16);

// The DNS query of a dns-check (type SOA, class IN, no recursion) for `name` ("." or
// "example.org."), with the given id.
std::string dnsQuery(const std::string& name, uint16_t id);
// Whether `reply` answers the query `id`: empty when it passes, else why not.
std::string dnsReplyProblem(std::string_view reply, uint16_t id);

class UdpCheck final : public Check, private IoHandler, private Timer {
 public:
  // Fails for an expectation that does not compile.
  // `proxyLocal`: every check datagram starts with a PROXY v2 LOCAL header (the server
  // has send-proxy-v2).
  static Result<std::unique_ptr<Check>> make(EventLoop& loop, CheckObserver& observer,
                                             const model::UdpCheckParams& params,
                                             bool proxyLocal = false);
  ~UdpCheck() override;

  void start(const CheckTarget& target) override;
  void cancel() override;
  bool running() const override { return running_; }

 private:
  UdpCheck(EventLoop& loop, CheckObserver& observer, model::UdpCheckParams params,
           std::shared_ptr<const Expectation> expect, bool proxyLocal);
  void onIo(uint32_t events) override;
  void onTimer() override;
  void finish(CheckStatus status, std::string detail);
  void close();

  EventLoop& loop_;
  CheckObserver& observer_;
  const model::UdpCheckParams params_;
  const std::shared_ptr<const Expectation> expect_;
  const bool proxyLocal_;
  UniqueFd fd_;
  uint16_t dnsId_ = 0;
  Micros startedAt_ = 0;
  bool running_ = false;
  bool reporting_ = false;  // the result waits for a zero-delay timer (never from start())
  CheckResult pending_;
};

}  // namespace fulcrum::health
