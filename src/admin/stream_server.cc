#include "admin/stream_server.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <iterator>
#include <utility>

#include "common/log.h"

namespace fulcrum::admin {

namespace {

// Connections accepted per wake-up (the listener is level-triggered: the rest come next turn).
constexpr int kAcceptBatch = 16;
// Accepting pauses this long when the process is out of descriptors.
constexpr Micros kAcceptPause = 100 * kMillis;
// Reads of a lingering client per wake-up, so that a client sending at full speed while it
// is being closed cannot hold the control thread.
constexpr int kLingerReadsPerWake = 16;

bool outOfResources(int e) { return e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM; }

}  // namespace

void StreamSession::onIdle(StreamClient& c) { c.abort(); }

// ---- StreamClient ----

StreamClient::StreamClient(StreamServer& server, UniqueFd fd, const SockAddr& peer)
    : server_(server), fd_(std::move(fd)), peer_(peer) {}

StreamClient::~StreamClient() { teardown(); }

Status StreamClient::start() {
  if (auto s = server_.loop_.add(fd_.get(), EPOLLIN, this); !s) return s;
  interest_ = EPOLLIN;
  touch();
  return Ok{};
}

std::weak_ptr<const void> StreamClient::serverAlive() const { return server_.life_; }

bool StreamClient::receive() {
  if (dead_) return false;
  if (eof_) return true;
  char buf[16 * 1024];
  bool got = false;
  bool ok = true;
  while (in_.size() <= server_.opt_.maxInput) {
    const ssize_t n = ::read(fd_.get(), buf, sizeof(buf));
    if (n > 0) {
      in_.append(buf, static_cast<size_t>(n));
      got = true;
      if (static_cast<size_t>(n) < sizeof(buf)) break;  // nothing more for now
      continue;
    }
    if (n == 0) {
      eof_ = true;
      break;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) ok = false;
    break;
  }
  if (!ok) {
    abort();
    return false;
  }
  if (got && server_.opt_.inputRestartsIdle) touch();
  return true;
}

void StreamClient::reply(std::string bytes) {
  if (dead_) return;
  if (out_.empty())
    out_ = std::move(bytes);
  else
    out_ += bytes;
  touch();
}

void StreamClient::abort() {
  if (!dead_) server_.drop(*this);
}

void StreamClient::onIo(uint32_t events) {
  if (dead_) return;
  if (lingering_) {
    linger();
    return;
  }
  if (!out_.empty() && (events & (EPOLLERR | EPOLLHUP)) != 0) {
    abort();  // the reply can no longer be delivered
    return;
  }
  if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0 && out_.empty() && !finishing_ && !receive())
    return;
  progress();
}

void StreamClient::onTimer() {
  if (dead_) return;
  if (lingering_ || finishing_ || !out_.empty()) {
    abort();  // lingered long enough, or the client does not read its reply
    return;
  }
  std::weak_ptr<int> alive = server_.life_;
  session_->onIdle(*this);
  if (alive.expired() || dead_) return;
  progress();
}

// Writes the pending reply, then asks the session for the next one, until it needs input,
// the socket is full, or the client's share of this wake-up is used. A session's callback
// may destroy the server (and this client): nothing is touched after that.
void StreamClient::progress() {
  std::weak_ptr<int> alive = server_.life_;
  for (int steps = 0;;) {
    if (!out_.empty()) {
      if (!flush()) return;
      if (!out_.empty()) {
        want(EPOLLOUT);  // until the client reads
        return;
      }
    }
    if (finishing_) {
      linger();
      return;
    }
    if (steps == server_.opt_.stepsPerWake) {
      // More may be ready (pipelined requests): the socket is writable, so EPOLLOUT brings
      // this client back at the next turn of the loop, after the other handlers had theirs.
      want(EPOLLIN | EPOLLOUT);
      return;
    }
    ++steps;
    const StreamSession::Step step = session_->onInput(*this);
    if (alive.expired() || dead_) return;
    if (step == StreamSession::Step::kMore || !out_.empty() || finishing_) continue;
    if (eof_) {
      abort();  // waiting for input that cannot come
      return;
    }
    want(EPOLLIN);
    return;
  }
}

// Writes what it can of the reply; false when the client was closed.
bool StreamClient::flush() {
  while (sent_ < out_.size()) {
    const ssize_t n = ::send(fd_.get(), out_.data() + sent_, out_.size() - sent_, MSG_NOSIGNAL);
    if (n > 0) {
      sent_ += static_cast<size_t>(n);
      touch();
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    abort();
    return false;
  }
  out_ = std::string();
  sent_ = 0;
  return true;
}

// All is written: close our side, then read and drop until the client closes too (bounded
// by lingerTimeout), so that unread input never turns the close into a reset that could
// destroy the reply in flight.
void StreamClient::linger() {
  if (!lingering_) {
    lingering_ = true;
    ::shutdown(fd_.get(), SHUT_WR);
    in_ = std::string();
    server_.loop_.timers().arm(this, monotonicNow() + server_.opt_.lingerTimeout);
  }
  char buf[16 * 1024];
  for (int i = 0; i < kLingerReadsPerWake; ++i) {
    const ssize_t n = ::read(fd_.get(), buf, sizeof(buf));
    if (n > 0) continue;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    abort();  // EOF or an error: done
    return;
  }
  want(EPOLLIN);
}

// Activity: the idle timer starts again (not while lingering, which has its own bound).
void StreamClient::touch() {
  if (lingering_ || dead_ || server_.opt_.idleTimeout <= 0) return;
  server_.loop_.timers().arm(this, monotonicNow() + server_.opt_.idleTimeout);
}

void StreamClient::want(uint32_t events) {
  if (events == interest_) return;
  if (auto s = server_.loop_.modify(fd_.get(), events, this); !s) {
    abort();
    return;
  }
  interest_ = events;
}

void StreamClient::teardown() {
  server_.loop_.timers().cancel(this);
  if (fd_.valid()) {
    server_.loop_.remove(fd_.get());
    fd_.reset();
  }
}

// ---- StreamServer ----

StreamServer::StreamServer(EventLoop& loop, StreamOptions options, SessionFactory makeSession)
    : loop_(loop), opt_(std::move(options)), makeSession_(std::move(makeSession)) {}

StreamServer::~StreamServer() {
  loop_.timers().cancel(&reaper_);
  loop_.timers().cancel(&resume_);
  clients_.clear();  // each closes its descriptor
  dead_.clear();
  if (listen_.valid()) loop_.remove(listen_.get());
}

Status StreamServer::start(UniqueFd listener) {
  if (auto s = loop_.add(listener.get(), EPOLLIN, this); !s) return s;
  listen_ = std::move(listener);
  return Ok{};
}

void StreamServer::onIo(uint32_t) {
  for (int i = 0; i < kAcceptBatch; ++i) {
    SockAddr peer;
    *peer.lenPtr() = peer.capacity();
    UniqueFd fd(::accept4(listen_.get(), peer.sa(), peer.lenPtr(), SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd.valid()) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      if (outOfResources(errno)) {
        // Level-triggered: pause until a descriptor may be free again, rather than spin.
        log::warning("{}: accept: {}; pausing", opt_.name, strerror(errno));
        if (auto s = loop_.modify(listen_.get(), 0, this); !s)
          log::error("{}: {}", opt_.name, s.error());
        loop_.timers().arm(&resume_, monotonicNow() + kAcceptPause);
        return;
      }
      log::warning("{}: accept: {}", opt_.name, strerror(errno));
      return;
    }
    if (!peer.valid()) peer = SockAddr();  // a UNIX socket's peer: nothing to keep
    if (opt_.maxClients != 0 && clients_.size() >= opt_.maxClients) {
      ++refused_;
      if (!overLimit_) {
        overLimit_ = true;
        log::warning("{}: {} clients already, closing new ones until one leaves ({})", opt_.name,
                     clients_.size(), opt_.limitName);
      }
      continue;  // fd closes here
    }
    if (overLimit_) {
      overLimit_ = false;
      log::notice("{}: accepting again ({} connections closed so far)", opt_.name, refused_);
    }
    std::unique_ptr<StreamClient> c(new StreamClient(*this, std::move(fd), peer));
    c->session_ = makeSession_(*c);
    if (auto s = c->start(); !s) {
      log::warning("{}: {}", opt_.name, s.error());
      continue;
    }
    clients_.push_back(std::move(c));
    clients_.back()->self_ = std::prev(clients_.end());
  }
}

void StreamServer::resumeAccepting() {
  if (!listen_.valid()) return;
  if (auto s = loop_.modify(listen_.get(), EPOLLIN, this); !s)
    log::error("{}: {}", opt_.name, s.error());
}

// Takes the client out of service now; frees it after the current batch of events.
void StreamServer::drop(StreamClient& c) {
  if (c.dead_) return;
  c.dead_ = true;
  c.teardown();
  dead_.splice(dead_.end(), clients_, c.self_);
  if (!reaper_.armed()) loop_.timers().arm(&reaper_, loop_.now());
}

}  // namespace fulcrum::admin
