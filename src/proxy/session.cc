#include "proxy/session.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/index.h"
#include "common/log.h"
#include "proxy/conn_log.h"
#include "proxy/proxy_protocol.h"
#include "proxy/worker.h"
#include "sched/flow_hash.h"

namespace fulcrum::proxy {
namespace {

constexpr uint32_t kSessionEvents = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
// Bound on read/write rounds per direction per wake-up, so that one busy connection
// cannot starve the others of its thread. Remaining work is resumed on the next event
// or, when the socket stays ready, on the next round (see progress()).
constexpr int kMaxRounds = 16;
// Bytes asked of one splice() into a pipe: its capacity.
constexpr size_t kPipeChunk = PipePool::kPipeSize;
// Room kept at the front of the first client buffer for a PROXY header to the server.
constexpr size_t kProxyHeaderRoom = 128;
// How long a client may take to send its PROXY header when no timeout client is set.
constexpr Micros kDefaultHeaderTimeout = 5 * kSeconds;

void setIntOpt(int fd, int level, int opt, int value) {
  setsockopt(fd, level, opt, &value, sizeof(value));
}

void setNoLinger(int fd) {
  linger l{1, 0};  // close() sends a reset and leaves no TIME_WAIT
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
}

bool wouldBlock(int err) { return err == EAGAIN || err == EWOULDBLOCK; }

}  // namespace

void Session::start(Worker* worker, SnapState* snap, const ListenerSpec& listener, int clientFd,
                    const SockAddr& client) {
  const int service = listener.service;
  const bool acceptProxy = listener.acceptProxy;
  worker_ = worker;
  snap_ = snap;
  service_ = service;
  account_.open(worker->stats(), *snap, service, listener.sockets, worker->queues());
  const model::Config& cfg = *snap->snap->config;
  const model::Service& svc = at(cfg.services, service);
  pool_ = svc.defaultPool;
  server_ = -1;
  attempts_ = 0;
  proxyHeaderSent_ = 0;
  front_ = Endpoint{};
  front_.session = this;
  front_.fd = clientFd;
  back_ = Endpoint{};
  back_.session = this;
  c2s_ = Direction{};
  s2c_ = Direction{};
  clientAddr_ = client;
  frontDst_ = SockAddr{};
  acceptedAt_ = clientActive_ = serverActive_ = worker->loop().now();
  acceptedWall_ = wallNow();
  queuedAt_ = connectedAt_ = -1;
  state_ = acceptProxy ? State::kHeader : State::kConnecting;
  // TCP_NODELAY is inherited from the listening socket (daemon/listeners.cc).
  if (svc.tcpKeepalive) setIntOpt(clientFd, SOL_SOCKET, SO_KEEPALIVE, 1);
  if (auto st = worker->loop().add(clientFd, kSessionEvents, &front_); !st) {
    close('R', "epoll registration failed");
    return;
  }
  if (pool_ >= 0) configureSplice();
  // With accept-proxy the "Connect from" line waits for the header (readProxyHeader), as in
  // HAProxy, which writes it when the stream is created: it then names the announced
  // addresses, and a connection with a bad header logs no line.
  if (!acceptProxy && !svc.tcplog && !at(snap->snap->serviceLogs, service).empty())
    worker->logConnect(at(snap->snap->serviceLogs, service), svc.name, clientAddr_, clientFd);
  if (acceptProxy) {
    armTimer();  // the header wait; bytes arrive as an event
    return;
  }
  beginBalancing();
}

// Splice options: an explicit "option splice-auto" on either side wins, then an explicit
// "no option splice-auto"; unset means Fulcrum's default, auto. "nosplice" (or no pipes
// for this worker) turns every form off.
void Session::configureSplice() {
  const model::Config& cfg = *snap_->snap->config;
  if (cfg.global.nosplice || worker_->pipes().capacity() == 0) return;
  const model::SpliceOptions& fe = at(cfg.services, service_).splice;
  const model::SpliceOptions& be = at(cfg.pools, pool_).splice;
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
  switch (state_) {
    case State::kHeader:
      if (&ep == &front_ && ep.readable) readProxyHeader();
      return;
    case State::kQueued:
      // Only the client is connected. Its bytes, and a FIN, wait in the kernel (HAProxy
      // keeps a half-closed client queued unless abortonclose).
      // A reset (EPOLLERR/EPOLLHUP) aborts the queued client at once, as a read error does in
      // HAProxy ("CQ"), so that it neither holds a maxqueue place until timeout queue nor
      // later takes a server slot and connection for nobody.
      if (&ep == &front_ && (events & (EPOLLERR | EPOLLHUP)))
        close('C', "client aborted while queued");
      return;
    case State::kConnecting:
      if (&ep == &back_ && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
        // Writable without an error flag means connected; only a failure needs SO_ERROR.
        int err = 0;
        if (events & (EPOLLERR | EPOLLHUP)) {
          socklen_t len = sizeof(err);
          if (getsockopt(back_.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
          if (err == 0) err = ECONNRESET;
        }
        onConnectResult(err);
      }
      return;  // client bytes wait in the kernel until the server side is ready
    case State::kRelaying: progress(); return;
    default: return;
  }
}

// accept-proxy: the connection must start with a PROXY v1 or v2 header. Bytes after it
// are kept in the client-to-server buffer and relayed once connected.
void Session::readProxyHeader() {
  Direction& d = c2s_;
  if (d.buf == nullptr) d.buf = worker_->buffers().get();
  const size_t cap = worker_->buffers().bufferSize() - kProxyHeaderRoom;
  ssize_t n = ::recv(front_.fd, d.buf + d.len, cap - d.len, MSG_DONTWAIT);
  if (n == 0) return close('C', "client closed before sending its PROXY header");
  if (n < 0) {
    if (wouldBlock(errno)) {
      front_.readable = false;
      return;
    }
    return close('C', "client error before its PROXY header");
  }
  if (static_cast<size_t>(n) < cap - d.len && !front_.rdhup) front_.readable = false;
  d.len += static_cast<uint32_t>(n);
  clientActive_ = worker_->loop().now();
  ProxyHeader h;
  const char* reason = nullptr;
  ParseStatus st = parseProxyHeader(d.buf, d.len, h, &reason, cap);
  auto& svcStats = *at(snap_->snap->serviceStats, service_);
  if (st == ParseStatus::kIncomplete) {
    if (d.len < cap) {
      if (front_.readable) readProxyHeader();
      return;
    }
    reason = "header larger than the buffer";
    st = ParseStatus::kInvalid;
  }
  if (st != ParseStatus::kOk) {
    svcStats.badProxyHeader.fetch_add(1, std::memory_order_relaxed);
    if (log::enabled(log::Level::kDebug))
      log::debug("bad PROXY header from {}: {}", clientAddr_.toString(), reason ? reason : "?");
    return close('P', "bad PROXY header");
  }
  if (h.command == Command::kProxy && h.hasAddresses()) {
    clientAddr_ = h.src;
    frontDst_ = h.dst;
  }
  d.len -= static_cast<uint32_t>(h.headerLength);
  if (d.len > 0)
    std::memmove(d.buf, d.buf + h.headerLength, d.len);
  else
    releaseStaging(d);
  d.off = 0;
  worker_->loop().timers().cancel(this);
  state_ = State::kConnecting;
  // The accept-time "Connect from" line deferred by start(), with the header's addresses
  // (the real ones for a LOCAL header).
  if (const model::Service& svc = at(snap_->snap->config->services, service_);
      !svc.tcplog && !at(snap_->snap->serviceLogs, service_).empty())
    worker_->logConnect(at(snap_->snap->serviceLogs, service_), svc.name, clientAddr_, front_.fd,
                        &frontDst_);
  beginBalancing();
}

void Session::beginBalancing() {
  if (pool_ < 0) {
    at(snap_->snap->serviceStats, service_)->noServer.fetch_add(1, std::memory_order_relaxed);
    return close('R', "no backend");
  }
  account_.enterPool(pool_);
  connectNext(-1);
}

void Session::connectNext(int avoid) {
  const model::Pool& pool = at(snap_->snap->config->pools, pool_);
  sched::PickContext ctx;
  ctx.client = &clientAddr_;
  ctx.avoid = avoid;
  if (pool.balance.algo == model::BalanceAlgo::kMaglev) {
    // The 5-tuple as the client sent it (the PROXY header's, with accept-proxy).
    const SockAddr dst = frontDst_.valid() ? frontDst_ : localAddressOf(front_.fd);
    ctx.flowHash = sched::flowHash(clientAddr_, dst, IPPROTO_TCP);
  }
  int pick = at(snap_->schedulers, pool_)->pick(ctx);
  if (pick >= 0 && account_.takeSlot(pick, at(pool.servers, pick).maxconn)) {
    if (state_ == State::kQueued) dequeue();
    connectTo(pick);
    return;
  }
  // No server could take the client now. If some server is usable but full, wait in the
  // pool's queue; otherwise give up.
  if (state_ == State::kQueued) return;  // stays queued, in place
  if (worker_->anyServerUsable(*snap_, pool_) && enqueue()) return;
  at(snap_->snap->serviceStats, service_)->noServer.fetch_add(1, std::memory_order_relaxed);
  close(pick >= 0 ? 'R' : 'S', "no server available");
}

bool Session::enqueue() {
  if (!worker_->queues().enqueue(this, *snap_, pool_)) return false;
  state_ = State::kQueued;
  queuedAt_ = worker_->loop().now();
  armTimer();
  return true;
}

void Session::dequeue() {
  worker_->queues().dequeue(this, *snap_, pool_);
  state_ = State::kConnecting;
}

bool Session::retryFromQueue() {
  connectNext(-1);
  return state_ != State::kQueued;
}

void Session::connectTo(int server) {
  const model::Pool& pool = at(snap_->snap->config->pools, pool_);
  const model::Server& srv = at(pool.servers, server);
  server_ = server;
  connectStart_ = worker_->loop().now();
  int fd = socket(srv.addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    int err = errno;
    if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
      // Out of descriptors or memory: retrying elsewhere cannot help. This client goes,
      // and the worker stops accepting for a moment (counted and logged there).
      worker_->resourcesExhausted(err);
      account_.releaseSlot();
      return close('R', "no descriptor for the server connection");
    }
    log::warning("socket() for server {}/{}: {}", pool.name, srv.name, strerror(err));
    onConnectResult(err);
    return;
  }
  back_.fd = fd;
  back_.readable = back_.writable = back_.rdhup = false;
  setIntOpt(fd, IPPROTO_TCP, TCP_NODELAY, 1);
  if (pool.tcpKeepalive) setIntOpt(fd, SOL_SOCKET, SO_KEEPALIVE, 1);
  if (srv.source) {
    if (srv.source->port() == 0) setIntOpt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1);
    if (bind(fd, srv.source->sa(), srv.source->len()) != 0) {
      int err = errno;
      log::warning("cannot bind source {} for server {}/{}: {}", srv.source->toString(), pool.name,
                   srv.name, strerror(err));
      onConnectResult(err);
      return;
    }
  }
  int rc = ::connect(fd, srv.addr.sa(), srv.addr.len());
  if (rc != 0 && errno != EINPROGRESS) {
    onConnectResult(errno);
    return;
  }
  if (auto st = worker_->loop().add(fd, kSessionEvents, &back_); !st) {
    onConnectResult(EIO);
    return;
  }
  state_ = State::kConnecting;
  armTimer();
}

// Whether retry number `retry` (from 1) goes to another server, as HAProxy decides it:
// never with interval 0; with redispatching on, every retry when the algorithm does not
// hash and more than one active server is up; otherwise P > 0 every Pth retry, -N the
// Nth retry before the last (-1: the last).
static bool redispatchOnRetry(const model::Pool& pool, const std::vector<model::ServerRuntime>& rt,
                              uint32_t retry) {
  const int interval = pool.redispatchInterval;
  if (interval == 0) return false;
  const auto algo = pool.balance.algo;
  if (algo != model::BalanceAlgo::kSource && algo != model::BalanceAlgo::kMaglev) {
    int activeUp = 0;
    for (size_t i = 0; i < rt.size(); ++i)
      if (!pool.servers[i].backup && sched::usable(rt[i])) ++activeUp;
    if (activeUp > 1) return true;
  }
  if (interval > 0) return retry % static_cast<uint32_t>(interval) == 0;
  return static_cast<int64_t>(retry) == static_cast<int64_t>(pool.retries) + 1 + interval;
}

void Session::onConnectResult(int err) {
  if (err == 0) return onConnected();
  const model::Pool& pool = at(snap_->snap->config->pools, pool_);
  auto& srvStats = *at(at(snap_->snap->serverStats, pool_), server_);
  auto& poolStats = *at(snap_->snap->poolStats, pool_);
  srvStats.connectErrors.fetch_add(1, std::memory_order_relaxed);
  poolStats.connectErrors.fetch_add(1, std::memory_order_relaxed);
  // Health, passive (observe layer4): one more failed attempt towards error-limit.
  model::observeConnect(*snap_->snap, pool_, server_, false);
  log::debug("connect to {}/{} failed: {}", pool.name, at(pool.servers, server_).name,
             strerror(err));
  if (back_.fd >= 0) {
    ::close(back_.fd);  // also removes it from epoll
    back_.fd = -1;
  }
  const int failed = server_;
  account_.releaseSlot();
  if (attempts_ < pool.retries) {
    ++attempts_;
    srvStats.retries.fetch_add(1, std::memory_order_relaxed);
    poolStats.retries.fetch_add(1, std::memory_order_relaxed);
    if (redispatchOnRetry(pool, at(snap_->snap->runtime, pool_), attempts_)) {
      poolStats.redispatches.fetch_add(1, std::memory_order_relaxed);
      srvStats.redispatches.fetch_add(1, std::memory_order_relaxed);
      connectNext(failed);
      return;
    }
    // Not redispatching on this retry: it goes to the same server.
    if (account_.takeSlot(failed, at(pool.servers, failed).maxconn)) {
      connectTo(failed);
      return;
    }
  }
  at(snap_->snap->serviceStats, service_)->noServer.fetch_add(1, std::memory_order_relaxed);
  close(err == ETIMEDOUT ? 's' : 'S', "all connection attempts failed");
}

void Session::abortIfServerShutdown() {
  if (state_ != State::kRelaying || server_ < 0) return;
  const auto& stats = *at(at(snap_->snap->serverStats, pool_), server_);
  if (stats.shutdownEpoch.load(std::memory_order_relaxed) == shutdownEpoch_) return;
  const bool backup = at(at(snap_->snap->config->pools, pool_).servers, server_).backup;
  close(backup ? 'U' : 'D',
        backup ? "backup server preempted (on-marked-up)" : "server marked down (on-marked-down)");
}

void Session::onConnected() {
  const model::Pool& pool = at(snap_->snap->config->pools, pool_);
  const model::Server& srv = at(pool.servers, server_);
  auto& srvStats = *at(at(snap_->snap->serverStats, pool_), server_);
  srvStats.connections.fetch_add(1, std::memory_order_relaxed);
  // Health: a success resets the passive error count (observe layer4), and the session
  // remembers the shutdown epoch it connected under (shutdown-sessions).
  model::observeConnect(*snap_->snap, pool_, server_, true);
  shutdownEpoch_ = srvStats.shutdownEpoch.load(std::memory_order_relaxed);
  state_ = State::kRelaying;
  connectedAt_ = clientActive_ = serverActive_ = worker_->loop().now();
  srvStats.connectTime.observe(connectedAt_ - connectStart_);
  if (srv.sendProxy != model::ProxyProtocol::kNone) {
    // The PROXY header goes first, ahead of any client bytes already staged.
    const SockAddr dst = frontDst_.valid() ? frontDst_ : localAddressOf(front_.fd);
    uint8_t hdr[kProxyHeaderRoom];
    size_t n = srv.sendProxy == model::ProxyProtocol::kV1
                   ? writeProxyV1(clientAddr_, dst, reinterpret_cast<char*>(hdr), sizeof(hdr))
                   : writeProxyV2(clientAddr_, dst, hdr, sizeof(hdr));
    Direction& d = c2s_;
    if (d.buf == nullptr) {
      d.buf = worker_->buffers().get();
      d.off = d.len = 0;
    }
    std::memmove(d.buf + n, d.buf + d.off, d.len);
    std::memcpy(d.buf, hdr, n);
    d.off = 0;
    d.len += static_cast<uint32_t>(n);
    proxyHeaderSent_ = static_cast<uint8_t>(n);
  }
  // The client may have sent bytes while we connected: the edge was consumed then.
  front_.readable = true;
  back_.writable = true;
  progress();
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
        return Pump::kDstError;
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
        // When the other direction is already finished the session closes right after:
        // close() sends the FIN, so the shutdown() would be a wasted syscall.
        const Direction& other = &d == &c2s_ ? s2c_ : c2s_;
        if (!(other.shutSent && other.len == 0)) ::shutdown(dst.fd, SHUT_WR);
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
    return Pump::kSrcError;
  }
  return Pump::kWaiting;
}

void Session::progress() {
  Pump up = pump(front_, back_, c2s_, clientActive_, serverActive_);
  if (up == Pump::kSrcError) return close('C', "client connection error");
  if (up == Pump::kDstError) return close('S', "server connection error");
  Pump down = pump(back_, front_, s2c_, serverActive_, clientActive_);
  if (down == Pump::kSrcError) return close('S', "server connection error");
  if (down == Pump::kDstError) return close('C', "client connection error");
  if (up == Pump::kDone && down == Pump::kDone) return close('-', nullptr);
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

Micros Session::dueAt(char* side) const {
  const model::Config& cfg = *snap_->snap->config;
  const model::Service& svc = at(cfg.services, service_);
  *side = 'c';
  switch (state_) {
    case State::kHeader:
      return clientActive_ + (svc.clientTimeout > 0 ? svc.clientTimeout : kDefaultHeaderTimeout);
    case State::kQueued: {
      const model::Pool& pool = at(cfg.pools, pool_);
      // HAProxy: without timeout queue, the connect timeout bounds the wait.
      Micros t = pool.queueTimeout > 0 ? pool.queueTimeout : pool.connectTimeout;
      *side = 's';
      return t > 0 ? queuedAt_ + t : -1;
    }
    case State::kConnecting: {
      const model::Pool& pool = at(cfg.pools, pool_);
      *side = 's';
      return pool.connectTimeout > 0 ? connectStart_ + pool.connectTimeout : -1;
    }
    case State::kRelaying: break;
    default: return -1;
  }
  const model::Pool& pool = at(cfg.pools, pool_);
  const bool halfClosed = c2s_.eof || s2c_.eof;
  Micros due = -1;
  auto consider = [&](Micros at, char who) {
    if (due < 0 || at < due) {
      due = at;
      *side = who;
    }
  };
  // timeout tunnel replaces client and server once relaying: inactivity in both
  // directions. client-fin / server-fin take over on their side once a direction is shut.
  Micros clientT = svc.clientTimeout, serverT = pool.serverTimeout;
  if (pool.tunnelTimeout > 0) {
    clientT = serverT = 0;
    consider(std::max(clientActive_, serverActive_) + pool.tunnelTimeout, 'c');
  }
  if (halfClosed && svc.clientFinTimeout > 0) clientT = svc.clientFinTimeout;
  if (halfClosed && pool.serverFinTimeout > 0) serverT = pool.serverFinTimeout;
  if (clientT > 0) consider(clientActive_ + clientT, 'c');
  if (serverT > 0) consider(serverActive_ + serverT, 's');
  return due;
}

void Session::armTimer() {
  char side;
  Micros due = dueAt(&side);
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
  char side;
  Micros due = dueAt(&side);
  if (due < 0 || due > now) {
    if (state_ == State::kRelaying) return progress();  // an immediate re-run, or moved
    return armTimer();
  }
  worker_->stats().timeouts.fetch_add(1, std::memory_order_relaxed);
  switch (state_) {
    case State::kHeader:
      at(snap_->snap->serviceStats, service_)
          ->badProxyHeader.fetch_add(1, std::memory_order_relaxed);
      return close('c', "no PROXY header in time");
    case State::kQueued:
      at(snap_->snap->poolStats, pool_)->queueTimeouts.fetch_add(1, std::memory_order_relaxed);
      return close('s', "timeout queue");
    case State::kConnecting: return onConnectResult(ETIMEDOUT);
    default: return close(side, "idle timeout");
  }
}

void Session::close(char cause, const char* why) {
  if (state_ == State::kClosed) return;
  const State phase = state_;
  if (phase == State::kQueued) worker_->queues().dequeue(this, *snap_, pool_);
  logConnection(cause);
  state_ = State::kClosed;
  worker_->loop().timers().cancel(this);
  if (why != nullptr && log::enabled(log::Level::kDebug))
    log::debug("session from {} closed: {}", clientAddr_.toString(), why);
  const auto& snap = *snap_->snap;
  auto& svc = *at(snap.serviceStats, service_);
  const uint64_t up = c2s_.bytes - proxyHeaderSent_;
  svc.bytesIn.fetch_add(up, std::memory_order_relaxed);
  svc.bytesOut.fetch_add(s2c_.bytes, std::memory_order_relaxed);
  if (server_ >= 0 && connectedAt_ >= 0) {
    auto& srv = *at(at(snap.serverStats, pool_), server_);
    srv.bytesIn.fetch_add(up, std::memory_order_relaxed);
    srv.bytesOut.fetch_add(s2c_.bytes, std::memory_order_relaxed);
  }
  const model::Config& cfg = *snap.config;
  if (front_.fd >= 0) {
    if (at(cfg.services, service_).noLinger || cause == 'P') setNoLinger(front_.fd);
    ::close(front_.fd);
  }
  if (back_.fd >= 0) {
    if (at(cfg.pools, pool_).noLinger) setNoLinger(back_.fd);
    ::close(back_.fd);
  }
  front_.fd = back_.fd = -1;
  releaseStaging(c2s_);
  releaseStaging(s2c_);
  account_.close();
  worker_->sessionClosed(this);
}

void Session::logConnection(char cause) {
  const model::Snapshot& snap = *snap_->snap;
  const auto& sinks = at(snap.serviceLogs, service_);
  if (sinks.empty()) return;
  const model::Config& cfg = *snap.config;
  const model::Service& svc = at(cfg.services, service_);
  if (!svc.tcplog) return;  // the accept-time line was the only one
  const uint64_t up = c2s_.bytes - proxyHeaderSent_;
  // HAProxy's dontlognull looks at the client's bytes only ("!(fe->options &
  // PR_O_NULLNOLOG) || req->total" in stream.c), so a probe of a server that speaks first
  // is not logged either.
  if (svc.dontlognull && up == 0) return;
  const Micros now = worker_->loop().now();
  ConnLogRecord r;
  r.client = &clientAddr_;
  r.acceptedWall = acceptedWall_;
  r.frontend = svc.name;
  if (pool_ >= 0) r.backend = at(cfg.pools, pool_).name;
  if (server_ >= 0 && connectedAt_ >= 0) r.server = at(at(cfg.pools, pool_).servers, server_).name;
  const Micros queueEnd = connectedAt_ >= 0 ? connectStart_ : now;
  r.tw =
      queuedAt_ >= 0 ? (queueEnd - queuedAt_) / kMillis : (state_ >= State::kConnecting ? 0 : -1);
  r.tc = connectedAt_ >= 0 ? (connectedAt_ - connectStart_) / kMillis : -1;
  r.tt = (now - acceptedAt_) / kMillis;
  r.bytesRead = s2c_.bytes;
  r.term[0] = cause;
  switch (state_) {
    case State::kHeader: r.term[1] = 'R'; break;
    case State::kQueued: r.term[1] = 'Q'; break;
    case State::kConnecting: r.term[1] = 'C'; break;
    case State::kRelaying: r.term[1] = cause == '-' ? '-' : 'D'; break;
    default: r.term[1] = '-'; break;
  }
  r.actconn = worker_->stats().active.load(std::memory_order_relaxed);
  r.feconn = at(snap.serviceStats, service_)->active.load(std::memory_order_relaxed);
  if (pool_ >= 0) {
    r.beconn = at(snap.poolStats, pool_)->active.load(std::memory_order_relaxed);
    r.bq = at(snap.poolStats, pool_)->queued.load(std::memory_order_relaxed);
    if (server_ >= 0) r.srvconn = at(snap.loads, pool_)->active(static_cast<size_t>(server_));
  }
  r.retries = attempts_;
  worker_->logLine(sinks, r);
}

model::SessionInfo Session::describe(Micros now) const {
  model::SessionInfo info;
  info.id = reinterpret_cast<uintptr_t>(this);
  info.client = clientAddr_;
  info.local = frontDst_.valid() ? frontDst_ : localAddressOf(front_.fd);
  const model::Config& cfg = *snap_->snap->config;
  info.frontend = at(cfg.services, service_).name;
  if (pool_ >= 0) {
    const model::Pool& pool = at(cfg.pools, pool_);
    info.backend = pool.name;
    if (server_ >= 0) info.server = at(pool.servers, server_).name;
  }
  switch (state_) {
    case State::kHeader: info.state = "header"; break;
    case State::kQueued: info.state = "queued"; break;
    case State::kConnecting: info.state = "connecting"; break;
    case State::kRelaying: info.state = "relaying"; break;
    default: info.state = "closing"; break;
  }
  info.age = now - acceptedAt_;
  info.idle = now - std::max(clientActive_, serverActive_);
  info.bytesIn = c2s_.bytes;
  info.bytesOut = s2c_.bytes;
  return info;
}

}  // namespace fulcrum::proxy
