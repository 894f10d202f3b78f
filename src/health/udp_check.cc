#include "health/udp_check.h"

#include <fmt/core.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <random>

namespace fulcrum::health {
namespace {

// Replies read per readiness event at most (datagrams that are not the answer are
// skipped: a late answer of an earlier check cannot come, the socket is new each time).
constexpr int kMaxReads = 16;
constexpr size_t kMaxReply = 65536;
// When the target has no timer at all.
constexpr Micros kDefaultWait = 2 * kSeconds;

const char* rcodeName(int rcode) {
  switch (rcode) {
    case 0: return "NOERROR";
    case 1: return "FORMERR";
    case 2: return "SERVFAIL";
    case 3: return "NXDOMAIN";
    case 4: return "NOTIMP";
    case 5: return "REFUSED";
    default: return "other";
  }
}

}  // namespace

std::string dnsQuery(const std::string& name, uint16_t id) {
  std::string q;
  q.push_back(static_cast<char>(id >> 8));
  q.push_back(static_cast<char>(id & 0xff));
  q.append(
      "\x00\x00"  // flags: a standard query, no recursion wanted
      "\x00\x01"  // one question
      "\x00\x00\x00\x00\x00\x00",
      10);
  size_t start = 0;
  while (start < name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    if (dot > start) {
      q.push_back(static_cast<char>(dot - start));
      q.append(name, start, dot - start);
    }
    start = dot + 1;
  }
  q.push_back('\0');
  q.append("\x00\x06\x00\x01", 4);  // SOA, IN
  return q;
}

std::string dnsReplyProblem(std::string_view reply, uint16_t id) {
  if (reply.size() < 12)
    return fmt::format("a {}-byte reply, shorter than a DNS header", reply.size());
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(reply[i]); };
  if ((byte(0) << 8 | byte(1)) != id) return "a reply with another id";
  if ((byte(2) & 0x80) == 0) return "not a DNS response (QR bit clear)";
  const int rcode = byte(3) & 0x0f;
  if (rcode != 0 && rcode != 3) return fmt::format("rcode {} ({})", rcode, rcodeName(rcode));
  return "";
}

Result<std::unique_ptr<Check>> UdpCheck::make(EventLoop& loop, CheckObserver& observer,
                                              const model::UdpCheckParams& params,
                                              bool proxyLocal) {
  std::shared_ptr<const Expectation> expect;
  if (params.kind == model::UdpCheckParams::Kind::kDatagram && params.expect) {
    auto e = Expectation::compile(*params.expect);
    if (!e) return Error{e.error()};
    expect = std::move(*e);
  }
  return std::unique_ptr<Check>(
      new UdpCheck(loop, observer, params, std::move(expect), proxyLocal));
}

UdpCheck::UdpCheck(EventLoop& loop, CheckObserver& observer, model::UdpCheckParams params,
                   std::shared_ptr<const Expectation> expect, bool proxyLocal)
    : loop_(loop),
      observer_(observer),
      params_(std::move(params)),
      expect_(std::move(expect)),
      proxyLocal_(proxyLocal) {}

UdpCheck::~UdpCheck() {
  close();
  loop_.timers().cancel(this);
}

void UdpCheck::close() {
  if (fd_.valid()) {
    loop_.remove(fd_.get());
    fd_.reset();
  }
}

void UdpCheck::cancel() {
  close();
  loop_.timers().cancel(this);
  running_ = reporting_ = false;
}

void UdpCheck::start(const CheckTarget& target) {
  cancel();
  running_ = true;
  startedAt_ = monotonicNow();
  const Micros wait = target.readTimeout > 0    ? target.readTimeout
                      : target.totalTimeout > 0 ? target.totalTimeout
                                                : kDefaultWait;
  std::string payload = params_.send;
  if (params_.kind == model::UdpCheckParams::Kind::kDns) {
    static thread_local std::mt19937 rng{std::random_device{}()};
    dnsId_ = static_cast<uint16_t>(rng());
    payload = dnsQuery(params_.dnsName, dnsId_);
  }
  if (proxyLocal_) payload.insert(0, kProxyV2Local);
  fd_.reset(socket(target.addr.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd_.valid()) {
    finish(CheckStatus::kSocketError, fmt::format("socket: {}", strerror(errno)));
    return;
  }
  if (connect(fd_.get(), target.addr.sa(), target.addr.len()) != 0) {
    finish(CheckStatus::kL4Error, fmt::format("connect: {}", strerror(errno)));
    return;
  }
  if (::send(fd_.get(), payload.data(), payload.size(), 0) < 0) {
    finish(CheckStatus::kL4Error, fmt::format("send: {}", strerror(errno)));
    return;
  }
  if (auto st = loop_.add(fd_.get(), EPOLLIN, this); !st) {
    finish(CheckStatus::kSocketError, st.error());
    return;
  }
  loop_.timers().arm(this, loop_.now() + wait);
}

void UdpCheck::onIo(uint32_t) {
  std::string buf(kMaxReply, '\0');
  for (int i = 0; i < kMaxReads && running_ && !reporting_; ++i) {
    const ssize_t n = recv(fd_.get(), buf.data(), buf.size(), MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
      finish(errno == ECONNREFUSED ? CheckStatus::kL4Refused : CheckStatus::kL4Error,
             fmt::format("ICMP error: {}", strerror(errno)));
      return;
    }
    const std::string_view reply(buf.data(), static_cast<size_t>(n));
    if (params_.kind == model::UdpCheckParams::Kind::kDns) {
      const std::string problem = dnsReplyProblem(reply, dnsId_);
      if (problem == "a reply with another id") continue;  // not ours: keep waiting
      if (problem.empty())
        finish(CheckStatus::kL7Ok, "");
      else
        finish(CheckStatus::kL7Response, fmt::format("dns-check {}: {}", params_.dnsName, problem));
      return;
    }
    if (!expect_) {
      finish(CheckStatus::kL7Ok, "");  // an answer is proof enough when none is required
      return;
    }
    if (expect_->evaluate(reply, /*final=*/true) == Expectation::Verdict::kPass)
      finish(CheckStatus::kL7Ok, "");
    else
      finish(CheckStatus::kL7Response,
             fmt::format("udp-check {}; received '{}'", expect_->describe(), printable(reply)));
    return;
  }
}

void UdpCheck::onTimer() {
  if (reporting_) {
    reporting_ = false;
    running_ = false;
    CheckResult r = std::move(pending_);
    observer_.onCheckDone(r);  // may start() again
    return;
  }
  if (!running_) return;
  const bool replyWanted = params_.kind == model::UdpCheckParams::Kind::kDns || expect_;
  if (replyWanted) {
    finish(CheckStatus::kL7Timeout,
           params_.kind == model::UdpCheckParams::Kind::kDns
               ? fmt::format("no answer to dns-check {}", params_.dnsName)
               : fmt::format("no reply to udp-check ({})", expect_->describe()));
  } else {
    finish(CheckStatus::kL4Ok, "no ICMP error");
  }
}

void UdpCheck::finish(CheckStatus status, std::string detail) {
  close();
  pending_ = CheckResult{};
  pending_.status = status;
  pending_.detail = std::move(detail);
  pending_.duration = monotonicNow() - startedAt_;
  // Reported from a timer: never from inside start() or a read loop.
  reporting_ = true;
  loop_.timers().arm(this, loop_.now());
}

}  // namespace fulcrum::health
