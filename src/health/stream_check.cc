#include "health/stream_check.h"

#include <fmt/core.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "health/agent_reply.h"

namespace fulcrum::health {
namespace {

// The longest agent line accepted.
constexpr size_t kMaxAgentLine = 1024;

bool wouldBlock(int err) { return err == EAGAIN || err == EWOULDBLOCK; }

CheckStatus connectStatus(int err) {
  switch (err) {
    case ECONNREFUSED: return CheckStatus::kL4Refused;
    case ETIMEDOUT: return CheckStatus::kL4Timeout;
    default: return CheckStatus::kL4Error;
  }
}

}  // namespace

std::vector<CheckStep> connectOnlySteps() { return {CheckStep{}}; }

Result<std::vector<CheckStep>> tcpCheckSteps(const std::vector<model::TcpCheckRule>& rules) {
  using Kind = model::TcpCheckRule::Kind;
  std::vector<CheckStep> steps;
  std::string comment;           // from a "tcp-check comment" line, for the next rule
  bool explicitConnect = false;  // the sequence starts with its own connect
  for (const model::TcpCheckRule& r : rules) {
    if (r.kind == Kind::kComment) {
      comment = r.comment;
      continue;
    }
    CheckStep s;
    s.comment = !r.comment.empty() ? r.comment : comment;
    comment.clear();
    switch (r.kind) {
      case Kind::kConnect:
        // With connect steps, the sequence must start with one (HAProxy's rule).
        if (!steps.empty() && !explicitConnect)
          return Error{
              fmt::format("{}:{}: the first tcp-check step must be a 'connect' when the "
                          "sequence has one",
                          r.loc.file, r.loc.line)};
        if (steps.empty()) explicitConnect = true;
        s.kind = CheckStep::Kind::kConnect;
        s.port = r.port;
        break;
      case Kind::kSend:
        s.kind = CheckStep::Kind::kSend;
        s.data = r.data;
        break;
      case Kind::kExpect: {
        s.kind = CheckStep::Kind::kExpect;
        auto e = Expectation::compile(r);
        if (!e) return Error{fmt::format("{}:{}: {}", r.loc.file, r.loc.line, e.error())};
        s.expect = std::move(*e);
        break;
      }
      case Kind::kComment: break;
    }
    if (steps.empty() && s.kind != CheckStep::Kind::kConnect) steps.push_back(CheckStep{});
    steps.push_back(std::move(s));
  }
  if (steps.empty()) steps.push_back(CheckStep{});
  return steps;
}

std::vector<CheckStep> agentSteps(const std::string& send) {
  std::vector<CheckStep> steps(1);
  if (!send.empty()) {
    CheckStep s;
    s.kind = CheckStep::Kind::kSend;
    s.data = send;
    steps.push_back(std::move(s));
  }
  CheckStep line;
  line.kind = CheckStep::Kind::kAgentLine;
  steps.push_back(std::move(line));
  return steps;
}

StreamCheck::StreamCheck(EventLoop& loop, CheckObserver& observer, std::vector<CheckStep> steps)
    : loop_(loop), observer_(observer), steps_(std::move(steps)) {
  if (steps_.empty() || steps_.front().kind != CheckStep::Kind::kConnect)
    steps_.insert(steps_.begin(), CheckStep{});
}

StreamCheck::~StreamCheck() { cancel(); }

void StreamCheck::cancel() {
  closeConnection();
  loop_.timers().cancel(this);
  phase_ = Phase::kIdle;
}

void StreamCheck::closeConnection() {
  fd_.reset();  // closing also removes it from epoll
  interest_ = 0;
}

void StreamCheck::start(const CheckTarget& target) {
  cancel();
  target_ = target;
  startedAt_ = monotonicNow();
  step_ = 0;
  peerClosed_ = false;
  out_.clear();
  outOff_ = 0;
  in_.clear();
  connectDeadline_ = readDeadline_ = -1;
  phase_ = Phase::kConnecting;
  starting_ = true;
  runSteps();
  starting_ = false;
}

std::string StreamCheck::stepLabel() const {
  std::string s = fmt::format("at step {}", step_ + 1);
  if (step_ < steps_.size()) {
    const CheckStep& st = steps_[step_];
    switch (st.kind) {
      case CheckStep::Kind::kConnect:
        s += st.port != 0 ? fmt::format(" (connect port {})", st.port) : " (connect)";
        break;
      case CheckStep::Kind::kSend: s += " (send)"; break;
      case CheckStep::Kind::kExpect: s += " (" + st.expect->describe() + ")"; break;
      case CheckStep::Kind::kAgentLine: s += " (agent reply)"; break;
    }
    if (!st.comment.empty()) s += fmt::format(" comment: '{}'", st.comment);
  }
  return s;
}

std::string StreamCheck::detailAt(std::string_view what) const {
  const bool plainConnect = steps_.size() == 1 && steps_[0].kind == CheckStep::Kind::kConnect &&
                            steps_[0].comment.empty();
  if (plainConnect) return std::string(what);
  return what.empty() ? stepLabel() : fmt::format("{} {}", what, stepLabel());
}

void StreamCheck::finish(CheckStatus status, std::string detail,
                         std::shared_ptr<const AgentReply> agent) {
  closeConnection();
  loop_.timers().cancel(this);
  pending_ = CheckResult{};
  pending_.status = status;
  pending_.detail = std::move(detail);
  pending_.duration = monotonicNow() - startedAt_;
  pending_.agent = std::move(agent);
  if (starting_) {
    // Never report from inside start(): the caller may not expect to be re-entered.
    phase_ = Phase::kReporting;
    loop_.timers().arm(this, loop_.now());
    return;
  }
  phase_ = Phase::kIdle;
  CheckResult r = std::move(pending_);
  observer_.onCheckDone(r);  // may start() again: nothing of this object is used after
}

void StreamCheck::armTimer() {
  Micros due = -1;
  auto consider = [&](Micros t) {
    if (t >= 0 && (due < 0 || t < due)) due = t;
  };
  if (target_.totalTimeout > 0) consider(startedAt_ + target_.totalTimeout);
  consider(phase_ == Phase::kConnecting ? connectDeadline_ : readDeadline_);
  if (due < 0)
    loop_.timers().cancel(this);
  else
    loop_.timers().arm(this, due);
}

void StreamCheck::waitFor(uint32_t events, Phase phase) {
  phase_ = phase;
  if (events != interest_) {
    if (loop_.modify(fd_.get(), events, this)) {
      interest_ = events;
    } else {
      finish(CheckStatus::kSocketError, "epoll_ctl failed");
      return;
    }
  }
  armTimer();
}

bool StreamCheck::beginConnect(const CheckStep& step) {
  closeConnection();
  SockAddr addr = target_.addr;
  if (step.port != 0) addr.setPort(step.port);
  int fd = ::socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    finish(CheckStatus::kSocketError, fmt::format("socket: {}", strerror(errno)));
    return false;
  }
  fd_.reset(fd);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  // A check closes its connections with a reset: no TIME_WAIT left behind per check.
  linger lg{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
  in_.clear();
  out_.clear();
  outOff_ = 0;
  peerClosed_ = false;
  readDeadline_ = -1;
  int rc = ::connect(fd, addr.sa(), addr.len());
  if (rc != 0 && errno != EINPROGRESS) {
    int err = errno;
    finish(connectStatus(err), detailAt(strerror(err)));
    return false;
  }
  if (auto st = loop_.add(fd, EPOLLOUT, this); !st) {
    finish(CheckStatus::kSocketError, st.error());
    return false;
  }
  interest_ = EPOLLOUT;
  if (rc == 0) {
    connected();
    return true;
  }
  connectDeadline_ = target_.connectTimeout > 0 ? monotonicNow() + target_.connectTimeout : -1;
  phase_ = Phase::kConnecting;
  armTimer();
  return false;  // wait for the connection
}

void StreamCheck::connected() {
  connectDeadline_ = -1;
  readDeadline_ = target_.readTimeout > 0 ? monotonicNow() + target_.readTimeout : -1;
  phase_ = Phase::kSending;  // neither connecting nor idle: between steps
  ++step_;
}

bool StreamCheck::flushOutput() {
  while (outOff_ < out_.size()) {
    ssize_t n = ::send(fd_.get(), out_.data() + outOff_, out_.size() - outOff_,
                       MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (wouldBlock(errno)) {
        waitFor(EPOLLOUT, Phase::kSending);
        return false;
      }
      int err = errno;
      finish(CheckStatus::kL4Error, detailAt(strerror(err)));
      return false;
    }
    outOff_ += static_cast<size_t>(n);
  }
  out_.clear();
  outOff_ = 0;
  return true;
}

bool StreamCheck::readInput() {
  char buf[4096];
  for (;;) {
    if (in_.size() >= kMaxResponse) return true;
    size_t want = std::min(sizeof(buf), kMaxResponse - in_.size());
    ssize_t n = ::recv(fd_.get(), buf, want, MSG_DONTWAIT);
    if (n > 0) {
      in_.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n == 0) {
      peerClosed_ = true;
      return true;
    }
    if (errno == EINTR) continue;
    if (wouldBlock(errno)) return true;
    int err = errno;
    finish(CheckStatus::kL4Error, detailAt(strerror(err)));
    return false;
  }
}

void StreamCheck::runSteps() {
  while (step_ < steps_.size()) {
    const CheckStep& s = steps_[step_];
    switch (s.kind) {
      case CheckStep::Kind::kConnect:
        if (!beginConnect(s)) return;
        continue;
      case CheckStep::Kind::kSend:
        in_.clear();  // an expect after a send looks at the answer to that send
        out_ += s.data;
        if (!flushOutput()) return;  // finished, or the send goes on when writable
        ++step_;
        continue;
      case CheckStep::Kind::kExpect:
      case CheckStep::Kind::kAgentLine: {
        const size_t before = in_.size();
        const bool wasClosed = peerClosed_;
        if (!peerClosed_ && !readInput()) return;
        const bool final = peerClosed_ || in_.size() >= kMaxResponse;
        if (s.kind == CheckStep::Kind::kAgentLine) {
          size_t eol = in_.find_first_of("\r\n");
          if (eol == std::string::npos && in_.size() >= kMaxAgentLine) {
            finish(CheckStatus::kL7Response, "agent line too long");
            return;
          }
          if (eol != std::string::npos || (final && !in_.empty())) {
            std::string line = in_.substr(0, eol);
            auto reply = std::make_shared<AgentReply>(parseAgentReply(line));
            finish(CheckStatus::kL7Ok, printable(line), std::move(reply));
            return;
          }
          if (final) {
            finish(CheckStatus::kL7Response, "agent closed the connection without a reply");
            return;
          }
        } else {
          switch (s.expect->evaluate(in_, final)) {
            case Expectation::Verdict::kPass: ++step_; continue;
            case Expectation::Verdict::kFail: {
              std::string detail = fmt::format("TCPCHK {} {}; received '{}'", s.expect->describe(),
                                               stepLabel(), printable(in_));
              finish(CheckStatus::kL7Response, std::move(detail));
              return;
            }
            case Expectation::Verdict::kNeedMore: break;
          }
        }
        if (in_.size() == before && peerClosed_ == wasClosed) {
          waitFor(EPOLLIN | EPOLLRDHUP, Phase::kReading);
          return;
        }
        continue;  // more arrived meanwhile: look again
      }
    }
  }
  const bool plain = steps_.size() == 1;
  finish(plain ? CheckStatus::kL4Ok : CheckStatus::kL7Ok, plain ? "" : "(tcp-check)");
}

void StreamCheck::onIo(uint32_t) {
  switch (phase_) {
    case Phase::kConnecting: {
      int err = 0;
      socklen_t len = sizeof(err);
      if (getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
      if (err != 0) {
        finish(connectStatus(err), detailAt(strerror(err)));
        return;
      }
      // A stale event (from an earlier connection of this check) must not pass for a
      // completed connect: ask the kernel.
      sockaddr_storage peer;
      socklen_t plen = sizeof(peer);
      if (getpeername(fd_.get(), reinterpret_cast<sockaddr*>(&peer), &plen) != 0) return;
      connected();
      runSteps();
      return;
    }
    case Phase::kSending:
      if (!flushOutput()) return;
      ++step_;
      runSteps();
      return;
    case Phase::kReading: runSteps(); return;
    case Phase::kIdle:
    case Phase::kReporting: return;
  }
}

void StreamCheck::onTimer() {
  if (phase_ == Phase::kReporting) {
    phase_ = Phase::kIdle;
    CheckResult r = std::move(pending_);
    observer_.onCheckDone(r);
    return;
  }
  if (phase_ == Phase::kIdle) return;
  const Micros now = monotonicNow();
  const bool totalExpired = target_.totalTimeout > 0 && now >= startedAt_ + target_.totalTimeout;
  if (phase_ == Phase::kConnecting) {
    if (totalExpired || (connectDeadline_ >= 0 && now >= connectDeadline_)) {
      finish(CheckStatus::kL4Timeout, detailAt(""));
      return;
    }
  } else if (totalExpired || (readDeadline_ >= 0 && now >= readDeadline_)) {
    std::string detail = stepLabel();
    if (!in_.empty()) detail += fmt::format("; received '{}'", printable(in_));
    finish(CheckStatus::kL7Timeout, std::move(detail));
    return;
  }
  armTimer();  // fired early (the loop's clock is coarser than ours)
}

}  // namespace fulcrum::health
