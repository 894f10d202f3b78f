#include "proxy/session.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fcntl.h>

#include <cerrno>
#include <cstring>

#include "common/log.h"
#include "proxy/worker.h"

namespace fulcrum::proxy {
namespace {

constexpr uint32_t kSessionEvents = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
// Bound on read/write rounds per direction per wake-up, so that one busy connection
// cannot starve the others of its thread. Remaining work is resumed on the next event
// or, when the socket stays ready, on the next round (see progress()).
constexpr int kMaxRounds = 16;
// Bytes asked of one splice() into a pipe: the default pipe capacity.
constexpr size_t kPipeChunk = 64 * 1024;

void setNoDelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

bool wouldBlock(int err) { return err == EAGAIN || err == EWOULDBLOCK; }

}  // namespace

void Session::start(Worker* worker, SnapState* snap, int service, int clientFd,
                    const SockAddr& client) {
  worker_ = worker;
  snap_ = snap;
  service_ = service;
  pool_ = snap->snap->config->services[static_cast<size_t>(service)].defaultPool;
  server_ = -1;
  attempts_ = 0;
  state_ = State::kConnecting;
  front_ = Endpoint{};
  front_.session = this;
  front_.fd = clientFd;
  back_ = Endpoint{};
  back_.session = this;
  back_.isServer = true;
  c2s_ = Direction{};
  s2c_ = Direction{};
  clientAddr_ = client;
  clientActive_ = serverActive_ = worker->loop().now();
  setNoDelay(clientFd);
  if (auto st = worker->loop().add(clientFd, kSessionEvents, &front_); !st) {
    close("epoll registration failed");
    return;
  }
  if (pool_ < 0) {
    snap_->snap->serviceStats[static_cast<size_t>(service_)]->noServer.fetch_add(
        1, std::memory_order_relaxed);
    close("no backend");
    return;
  }
  configureSplice();
  connectNext(-1);
}

// Splice options: an explicit "option splice-auto" on either side wins, then an explicit
// "no option splice-auto"; unset means Fulcrum's default, auto. "nosplice" (or no pipes
// for this worker) turns every form off.
void Session::configureSplice() {
  const model::Config& cfg = *snap_->snap->config;
  if (cfg.global.nosplice || worker_->pipes().capacity() == 0) return;
  const model::SpliceOptions& fe = cfg.services[static_cast<size_t>(service_)].splice;
  const model::SpliceOptions& be = cfg.pools[static_cast<size_t>(pool_)].splice;
  using model::Tristate;
  bool autoOn = fe.autoMode == Tristate::kOn || be.autoMode == Tristate::kOn ||
                (fe.autoMode != Tristate::kOff && be.autoMode != Tristate::kOff);
  c2s_.spliceAuto = s2c_.spliceAuto = autoOn;
  c2s_.splice = fe.request || be.request;
  s2c_.splice = fe.response || be.response;
}

void Session::Endpoint::onIo(uint32_t events) { session->onEndpointIo(*this, events); }

void Session::onEndpointIo(Endpoint& ep, uint32_t events) {
  if (state_ == State::kClosed) return;
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)) ep.readable = true;
  if (events & (EPOLLRDHUP | EPOLLHUP)) ep.rdhup = true;
  if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) ep.writable = true;
  if (state_ == State::kConnecting) {
    if (&ep == &back_ && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
      int err = 0;
      socklen_t len = sizeof(err);
      if (getsockopt(back_.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
      onConnectResult(err);
    }
    return;  // client bytes wait in the kernel until the server side is ready
  }
  progress();
}

void Session::connectNext(int avoid) {
  const model::Pool& pool = snap_->snap->config->pools[static_cast<size_t>(pool_)];
  sched::PickContext ctx;
  ctx.client = &clientAddr_;
  ctx.avoid = avoid;
  int pick = snap_->schedulers[static_cast<size_t>(pool_)]->pick(ctx);
  if (pick < 0) {
    snap_->snap->serviceStats[static_cast<size_t>(service_)]->noServer.fetch_add(
        1, std::memory_order_relaxed);
    close("no server available");
    return;
  }
  server_ = pick;
  const model::Server& srv = pool.servers[static_cast<size_t>(pick)];
  connectStart_ = worker_->loop().now();
  int fd = socket(srv.addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    log::warning("socket() for server {}/{}: {}", pool.name, srv.name, strerror(errno));
    onConnectResult(errno);
    return;
  }
  back_.fd = fd;
  back_.readable = back_.writable = back_.rdhup = false;
  setNoDelay(fd);
  int rc = ::connect(fd, srv.addr.sa(), srv.addr.len());
  if (rc != 0 && errno != EINPROGRESS) {
    onConnectResult(errno);
    return;
  }
  if (auto st = worker_->loop().add(fd, kSessionEvents, &back_); !st) {
    onConnectResult(EIO);
    return;
  }
  armTimer();
}

void Session::onConnectResult(int err) {
  const model::Pool& pool = snap_->snap->config->pools[static_cast<size_t>(pool_)];
  auto& srvStats =
      *snap_->snap->serverStats[static_cast<size_t>(pool_)][static_cast<size_t>(server_)];
  if (err == 0) {
    state_ = State::kRelaying;
    srvStats.connections.fetch_add(1, std::memory_order_relaxed);
    srvStats.active.fetch_add(1, std::memory_order_relaxed);
    clientActive_ = serverActive_ = worker_->loop().now();
    // The client may have sent bytes while we connected: the edge was consumed then.
    front_.readable = true;
    armTimer();
    progress();
    return;
  }
  srvStats.connectErrors.fetch_add(1, std::memory_order_relaxed);
  log::debug("connect to {}/{} failed: {}", pool.name,
             pool.servers[static_cast<size_t>(server_)].name, strerror(err));
  if (back_.fd >= 0) {
    ::close(back_.fd);  // also removes it from epoll
    back_.fd = -1;
  }
  if (attempts_ < pool.retries) {
    ++attempts_;
    srvStats.retries.fetch_add(1, std::memory_order_relaxed);
    connectNext(server_);
    return;
  }
  snap_->snap->serviceStats[static_cast<size_t>(service_)]->noServer.fetch_add(
      1, std::memory_order_relaxed);
  close("all connection attempts failed");
}

void Session::releaseStaging(Direction& d) {
  if (d.buf != nullptr) {
    worker_->buffers().put(d.buf);
    d.buf = nullptr;
  }
  if (d.pipe.r >= 0) worker_->pipes().put(d.pipe, d.len == 0);
  d.off = d.len = 0;
}

// Reads from src into the direction's staging: a pipe in splice mode (when the pool has
// one), a buffer otherwise. Returns what recv/splice returned; cap is what was asked.
ssize_t Session::readInto(Endpoint& src, Direction& d, size_t& cap) {
  if (d.splice && d.pipe.r < 0 && d.buf == nullptr && !worker_->pipes().get(d.pipe))
    d.splice = false;  // no pipe to be had: copy from now on
  if (d.pipe.r >= 0) {
    cap = kPipeChunk;
    return ::splice(src.fd, nullptr, d.pipe.w, nullptr, cap, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
  }
  if (d.buf == nullptr) d.buf = worker_->buffers().get();
  cap = worker_->buffers().bufferSize();
  d.off = 0;
  return ::recv(src.fd, d.buf, cap, MSG_DONTWAIT);
}

ssize_t Session::writeFrom(Endpoint& dst, Direction& d) {
  if (d.pipe.r >= 0)
    return ::splice(d.pipe.r, nullptr, dst.fd, nullptr, d.len, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
  return ::send(dst.fd, d.buf + d.off, d.len, MSG_NOSIGNAL | MSG_DONTWAIT);
}

Session::Pump Session::pump(Endpoint& src, Endpoint& dst, Direction& d, Micros& srcActive,
                            Micros& dstActive) {
  const Micros now = worker_->loop().now();
  for (int round = 0; round < kMaxRounds; ++round) {
    if (d.len > 0) {
      if (!dst.writable) return Pump::kWaiting;
      ssize_t n = writeFrom(dst, d);
      if (n < 0) {
        if (wouldBlock(errno)) {
          dst.writable = false;
          return Pump::kWaiting;
        }
        return Pump::kError;
      }
      dstActive = now;
      d.bytes += static_cast<uint64_t>(n);
      if (static_cast<uint32_t>(n) < d.len) dst.writable = false;  // short write: edge spent
      d.off += static_cast<uint32_t>(n);
      d.len -= static_cast<uint32_t>(n);
      if (d.len > 0) return Pump::kWaiting;
      releaseStaging(d);  // drained: an idle direction holds no buffer and no pipe
    }
    if (d.eof) {
      if (!d.shutSent) {
        ::shutdown(dst.fd, SHUT_WR);
        d.shutSent = true;
      }
      return Pump::kDone;
    }
    if (!src.readable) return Pump::kWaiting;
    size_t cap = 0;
    ssize_t n = readInto(src, d, cap);
    if (n > 0) {
      srcActive = now;
      d.len = static_cast<uint32_t>(n);
      if (static_cast<size_t>(n) < cap) {
        if (!src.rdhup) src.readable = false;  // short read: the edge is spent
      } else if (d.spliceAuto && !d.splice) {
        d.splice = true;  // a full buffer: a bulk transfer, worth splicing from now on
      }
      continue;
    }
    if (n == 0) {
      d.eof = true;
      src.readable = false;
      releaseStaging(d);
      continue;
    }
    if (wouldBlock(errno)) {
      src.readable = false;
      releaseStaging(d);
      return Pump::kWaiting;
    }
    return Pump::kError;
  }
  return Pump::kWaiting;
}

void Session::progress() {
  Pump up = pump(front_, back_, c2s_, clientActive_, serverActive_);
  if (up == Pump::kError) return close("client or server connection error");
  Pump down = pump(back_, front_, s2c_, serverActive_, clientActive_);
  if (down == Pump::kError) return close("client or server connection error");
  if (up == Pump::kDone && down == Pump::kDone) return close(nullptr);
  // A direction that used all its rounds with its sockets still ready gets no new edge:
  // come back on the next loop iteration through an immediate timer.
  bool more = (c2s_.len > 0 && back_.writable) || (c2s_.len == 0 && !c2s_.eof && front_.readable) ||
              (s2c_.len > 0 && front_.writable) || (s2c_.len == 0 && !s2c_.eof && back_.readable);
  if (more) {
    worker_->loop().timers().arm(this, worker_->loop().now());
    return;
  }
  armTimer();
}

Micros Session::dueAt() const {
  const model::Config& cfg = *snap_->snap->config;
  const model::Pool& pool = cfg.pools[static_cast<size_t>(pool_)];
  if (state_ == State::kConnecting) {
    return pool.connectTimeout > 0 ? connectStart_ + pool.connectTimeout : -1;
  }
  Micros due = -1;
  const model::Timeout ct = cfg.services[static_cast<size_t>(service_)].clientTimeout;
  if (ct > 0) due = clientActive_ + ct;
  if (pool.serverTimeout > 0) {
    Micros s = serverActive_ + pool.serverTimeout;
    if (due < 0 || s < due) due = s;
  }
  return due;
}

void Session::armTimer() {
  Micros due = dueAt();
  if (due < 0) {
    worker_->loop().timers().cancel(this);
    return;
  }
  // Lazy re-arming: activity only moves the *Active stamps forward; the heap entry is
  // moved only when it fires early (see onTimer) or when it must fire sooner.
  if (!armed() || due < deadline()) worker_->loop().timers().arm(this, due);
}

void Session::onTimer() {
  if (state_ == State::kClosed) return;
  const Micros now = worker_->loop().now();
  if (state_ == State::kRelaying) {
    Micros due = dueAt();
    if (due < 0 || due > now) {
      progress();  // an immediate re-run, or an idle deadline that moved: re-evaluate
      return;
    }
    worker_->stats().timeouts.fetch_add(1, std::memory_order_relaxed);
    return close("idle timeout");
  }
  if (state_ == State::kConnecting) {
    Micros due = dueAt();
    if (due >= 0 && due <= now) return onConnectResult(ETIMEDOUT);
    armTimer();
  }
}

void Session::close(const char* why) {
  if (state_ == State::kClosed) return;
  const bool relaying = state_ == State::kRelaying;
  state_ = State::kClosed;
  worker_->loop().timers().cancel(this);
  if (why != nullptr) log::debug("session from {} closed: {}", clientAddr_.toString(), why);
  const auto& snap = *snap_->snap;
  auto& svc = *snap.serviceStats[static_cast<size_t>(service_)];
  svc.bytesIn.fetch_add(c2s_.bytes, std::memory_order_relaxed);
  svc.bytesOut.fetch_add(s2c_.bytes, std::memory_order_relaxed);
  if (relaying) {
    auto& srv = *snap.serverStats[static_cast<size_t>(pool_)][static_cast<size_t>(server_)];
    srv.active.fetch_sub(1, std::memory_order_relaxed);
    srv.bytesIn.fetch_add(c2s_.bytes, std::memory_order_relaxed);
    srv.bytesOut.fetch_add(s2c_.bytes, std::memory_order_relaxed);
  }
  if (front_.fd >= 0) ::close(front_.fd);
  if (back_.fd >= 0) ::close(back_.fd);
  front_.fd = back_.fd = -1;
  releaseStaging(c2s_);
  releaseStaging(s2c_);
  worker_->sessionClosed(this, snap_, service_);
}

}  // namespace fulcrum::proxy
