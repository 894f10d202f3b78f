#include "proxy/udp.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <random>

#include "common/index.h"
#include "common/log.h"
#include "model/acl.h"
#include "proxy/listeners.h"
#include "proxy/proxy_protocol.h"
#include "proxy/worker.h"
#include "sched/flow_hash.h"

namespace fulcrum::proxy {
namespace {

// Idle timeouts of UDP flows when the configuration sets none (HAProxy's 0 means "never",
// which a flow table cannot afford).
constexpr Micros kDefaultUdpTimeout = 30 * kSeconds;
// Receive rounds per wake-up of a socket, so that one busy socket does not starve the
// others (listeners are level-triggered: what is left wakes the loop again).
constexpr int kRounds = 4;
// Idle connected sockets kept per server and worker for reuse.
constexpr size_t kMaxIdlePerServer = 256;

Micros orDefault(Micros t) { return t > 0 ? t : kDefaultUdpTimeout; }

bool icmpError(int err) {
  return err == ECONNREFUSED || err == EHOSTUNREACH || err == ENETUNREACH || err == EHOSTDOWN;
}

// The address a datagram was sent to: the packet info of a wildcard listener's datagram,
// else the listener's own address.
SockAddr localAddress(const UdpLocalInfo& local, const SockAddr& bound) {
  if (local.type == IP_PKTINFO)
    return SockAddr::ipv4(ntohl(local.v4.ipi_addr.s_addr), bound.port());
  if (local.type == IPV6_PKTINFO) {
    sockaddr_in6 s6{};
    s6.sin6_family = AF_INET6;
    s6.sin6_addr = local.v6.ipi6_addr;
    s6.sin6_port = htons(bound.port());
    return SockAddr::fromSockaddr(reinterpret_cast<const sockaddr*>(&s6), sizeof(s6));
  }
  return bound;
}

// An IPv4-mapped IPv6 address as IPv4; others as they are.
SockAddr unmapped(const SockAddr& a) {
  if (!a.isV6()) return a;
  const auto* s6 = reinterpret_cast<const sockaddr_in6*>(a.sa());
  if (!IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) return a;
  uint32_t v4;
  std::memcpy(&v4, &s6->sin6_addr.s6_addr[12], 4);
  return SockAddr::ipv4(ntohl(v4), a.port());
}

uint64_t mix64(uint64_t h, uint64_t w) {
  h ^= w * 0x9e3779b97f4a7c15ULL;
  h = sched::rotl64(h, 31) * 0xbf58476d1ce4e5b9ULL;
  return h;
}

}  // namespace

// ---------------------------------------------------------------------------------------
// The objects

// What identifies a flow on a worker: the listener (with the local address a wildcard
// listener was reached at) and the client's address and port.
struct FlowKeyBytes {
  uint32_t listener = 0;
  uint16_t port = 0;
  uint16_t family = 0;
  uint8_t client[16] = {};
  uint8_t local[16] = {};
  // With accept-proxy, the sender (a proxy in front) as well: its datagrams for several
  // clients are several flows.
  uint8_t peer[16] = {};
  uint16_t peerPort = 0;
  uint8_t pad[6] = {};
  bool operator==(const FlowKeyBytes& o) const { return std::memcmp(this, &o, sizeof(*this)) == 0; }
};

struct UdpEngine::Listener final : IoHandler {
  UdpEngine* engine = nullptr;
  uint32_t id = 0;
  int fd = -1;
  int service = -1;
  uint32_t maxconn = 0;
  ListenerSockets* sockets = nullptr;
  bool acceptProxy = false;
  bool retired = false;
  uint32_t kernelDrops = 0;  // the socket's SO_RXQ_OVFL count last seen
  void onIo(uint32_t) override {
    if (!retired) engine->fromClients(*this);
  }
};

struct UdpEngine::Upstream final : IoHandler {
  UdpEngine* engine = nullptr;
  UniqueFd fd;
  uint32_t real = 0;
  SockAddr addr;
  Flow* flow = nullptr;  // null: idle
  Upstream* nextFree = nullptr;
  void onIo(uint32_t) override { engine->fromServer(*this); }
};

struct UdpEngine::Flow final : Timer {
  UdpEngine* engine = nullptr;
  FlowKeyBytes key;
  uint64_t hash = 0;
  bool live = false;
  bool bound = false;  // in the table: later datagrams of the client tuple come here
  uint64_t id = 0;
  Listener* listener = nullptr;
  SockAddr peer;    // where replies go: the datagrams' source
  SockAddr client;  // the client: the peer, or what its PROXY header announced
  SockAddr dst;     // the PROXY header's destination; invalid: the local address
  UdpLocalInfo local;
  // send-proxy-v2: the header every datagram to the server starts with (0: none).
  uint8_t proxyHeader[kV2MaxEncodedLengthNoTlv] = {};
  uint8_t proxyHeaderLength = 0;
  // The publication state the flow runs on and its objects there.
  SnapState* snap = nullptr;
  const model::Service* svc = nullptr;
  const model::Pool* pool = nullptr;
  int poolIndex = -1;
  int server = -1;
  uint32_t real = 0;
  model::ServiceStats* svcStats = nullptr;
  model::PoolStats* poolStats = nullptr;
  model::ServerStats* srvStats = nullptr;
  std::shared_ptr<model::PoolLoad::Slot> slot;
  uint32_t shutdownEpoch = 0;  // the server's when the flow took it (shutdown sessions)
  Upstream* up = nullptr;
  uint64_t requests = 0;
  uint64_t responses = 0;
  uint64_t bytesIn = 0;
  uint64_t bytesOut = 0;
  Micros start = 0;
  Micros last = 0;
  Flow* nextFree = nullptr;
  void onTimer() override { engine->expire(*this); }
};

// Open addressing with linear probing; deletion shifts the cluster back, so there are no
// tombstones and a lookup stops at the first empty slot.
class UdpEngine::FlowTable {
 public:
  FlowTable() : slots_(1024, nullptr), mask_(1023) {}
  Flow* find(const FlowKeyBytes& k, uint64_t h) const {
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      Flow* f = slots_[i];
      if (f == nullptr) return nullptr;
      if (f->hash == h && f->key == k) return f;
    }
  }
  void insert(Flow* f) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    place(f);
    ++size_;
  }
  void erase(Flow* f) {
    size_t i = f->hash & mask_;
    while (slots_[i] != f) i = (i + 1) & mask_;
    for (size_t j = (i + 1) & mask_; slots_[j] != nullptr; j = (j + 1) & mask_) {
      const size_t home = slots_[j]->hash & mask_;
      // slots_[j] may move back to i when its home is not in (i, j] (cyclically).
      const bool between = i <= j ? (home > i && home <= j) : (home > i || home <= j);
      if (!between) {
        slots_[i] = slots_[j];
        i = j;
      }
    }
    slots_[i] = nullptr;
    --size_;
  }

 private:
  void place(Flow* f) {
    size_t i = f->hash & mask_;
    while (slots_[i] != nullptr) i = (i + 1) & mask_;
    slots_[i] = f;
  }
  void grow() {
    std::vector<Flow*> old(slots_.size() * 2, nullptr);
    old.swap(slots_);
    mask_ = slots_.size() - 1;
    for (Flow* f : old)
      if (f != nullptr) place(f);
  }
  std::vector<Flow*> slots_;
  size_t mask_;
  size_t size_ = 0;
};

// A batch of datagrams for recvmmsg/sendmmsg: buffers, headers, addresses and control
// space, allocated once.
struct UdpEngine::Batch {
  static constexpr int kSize = 32;
  static constexpr size_t kBuf = 65536;  // any UDP payload fits
  static constexpr size_t kCtrl = CMSG_SPACE(sizeof(in6_pktinfo)) + CMSG_SPACE(sizeof(in_pktinfo)) +
                                  CMSG_SPACE(sizeof(uint32_t));
  std::vector<char> data = std::vector<char>(kSize * kBuf);
  std::array<mmsghdr, kSize> msgs{};
  std::array<iovec, kSize> iov{};
  std::array<sockaddr_in6, kSize> names{};
  struct alignas(cmsghdr) Ctrl {
    char bytes[kCtrl];
  };
  std::array<Ctrl, kSize> ctrl{};
  // Replies: the listener socket each goes out of, and whose counters it counts in.
  std::array<int, kSize> fds{};
  std::array<model::ServiceStats*, kSize> stats{};
  int used = 0;

  char* buf(int i) { return data.data() + static_cast<size_t>(i) * kBuf; }
  // Entry i ready to receive one datagram (with its source address and control data when
  // asked).
  void prepareReceive(int i, bool withName, bool withCtrl) {
    iov[i] = iovec{buf(i), kBuf};
    msghdr& h = msgs[i].msg_hdr;
    h = msghdr{};
    h.msg_iov = &iov[i];
    h.msg_iovlen = 1;
    if (withName) {
      h.msg_name = &names[i];
      h.msg_namelen = sizeof(names[i]);
    }
    if (withCtrl) {
      h.msg_control = ctrl[i].bytes;
      h.msg_controllen = sizeof(ctrl[i].bytes);
    }
  }
};

// An object from a free list, or a new one kept in `all` (flows and upstream sockets are
// recycled: no allocation once the worker has seen its peak).
template <typename T>
T* recycled(T*& freeList, std::vector<std::unique_ptr<T>>& all, UdpEngine* engine) {
  T* t = freeList;
  if (t != nullptr) {
    freeList = t->nextFree;
  } else {
    all.push_back(std::make_unique<T>());
    t = all.back().get();
    t->engine = engine;
  }
  t->nextFree = nullptr;
  return t;
}

// Datagrams of one flow waiting to leave together (their bytes stay in the receive batch).
struct UdpEngine::TxRun {
  Flow* flow = nullptr;
  int n = 0;
  std::array<mmsghdr, Batch::kSize> msgs{};
  std::array<std::array<iovec, 2>, Batch::kSize> iov{};
};

// ---------------------------------------------------------------------------------------

UdpEngine::UdpEngine(Worker& worker)
    : w_(worker), table_(std::make_unique<FlowTable>()), hashSeed_(std::random_device{}()) {}

UdpEngine::~UdpEngine() { closeAll(); }

void UdpEngine::applyPlan(const ProxyPlan& plan, int id) {
  if (out_) flush();  // replies queued for listeners that may close now
  std::vector<std::unique_ptr<Listener>> next;
  for (const PlannedListener& pl : plan.listeners) {
    if (!pl.udp) continue;
    std::unique_ptr<Listener> kept;
    for (auto& l : listeners_) {
      if (l && l->sockets == pl.sockets.get()) {
        kept = std::move(l);
        break;
      }
    }
    if (!kept) {
      kept = std::make_unique<Listener>();
      kept->engine = this;
      kept->id = nextListenerId_++;
      kept->sockets = pl.sockets.get();
      kept->fd = pl.sockets->perWorker[static_cast<size_t>(id)].get();
      if (auto st = w_.loop_.add(kept->fd, EPOLLIN, kept.get()); !st) {
        log::error("worker {}: cannot receive on a new UDP listener: {}", id, st.error());
        continue;
      }
      if (!rx_) {
        rx_ = std::make_unique<Batch>();
        out_ = std::make_unique<Batch>();
        tx_ = std::make_unique<TxRun>();
      }
    }
    kept->service = pl.service;
    kept->maxconn = pl.maxconn;
    kept->acceptProxy = pl.acceptProxy;
    next.push_back(std::move(kept));
  }
  for (auto& l : listeners_) {
    if (!l) continue;
    // Dropped by the plan: its address is gone, its flows end with it.
    for (auto& f : flows_)
      if (f->live && f->listener == l.get()) endFlow(*f, false);
    l->retired = true;
    w_.loop_.remove(l->fd);
    l->sockets->perWorker[static_cast<size_t>(id)].reset();
    retired_.push_back(std::move(l));  // an event of this batch may still point at it
  }
  listeners_ = std::move(next);
}

void UdpEngine::afterBatch() {
  if (out_ && out_->used > 0) flush();
  retired_.clear();
}

void UdpEngine::closeAll() {
  for (auto& f : flows_)
    if (f->live) endFlow(*f, false);
  for (auto& pool : idle_) {
    for (Upstream* u : pool) closeUpstream(u);
    pool.clear();
  }
}

// ---------------------------------------------------------------------------------------
// Client side

void UdpEngine::fromClients(Listener& l) {
  // A change published before these datagrams arrived applies to them.
  if (w_.publicationPending_.load(std::memory_order_relaxed) &&
      w_.publicationPending_.exchange(false))
    w_.loadPublication();
  if (l.retired) return;
  Batch& rx = *rx_;
  for (int round = 0; round < kRounds; ++round) {
    for (int i = 0; i < Batch::kSize; ++i) rx.prepareReceive(i, true, true);
    const int n = recvmmsg(l.fd, rx.msgs.data(), Batch::kSize, MSG_DONTWAIT, nullptr);
    if (n <= 0) return;  // EAGAIN; errors of a UDP listener are per datagram and consumed
    SnapState* cur = w_.snaps_.back().get();
    model::ServiceStats& st = *at(cur->snap->serviceStats, l.service);
    const model::Service& svc = at(cur->snap->config->services, l.service);
    uint64_t bytes = 0;  // counted once per batch, not per datagram
    for (int i = 0; i < n; ++i) {
      msghdr& h = rx.msgs[i].msg_hdr;
      const size_t len = rx.msgs[i].msg_len;
      UdpLocalInfo local;
      for (cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr; c = CMSG_NXTHDR(&h, c)) {
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
          std::memcpy(&local.v4, CMSG_DATA(c), sizeof(local.v4));
          local.v4.ipi_spec_dst = local.v4.ipi_addr;  // the reply's source
          local.v4.ipi_ifindex = 0;
          local.type = IP_PKTINFO;
        } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
          std::memcpy(&local.v6, CMSG_DATA(c), sizeof(local.v6));
          if (!IN6_IS_ADDR_LINKLOCAL(&local.v6.ipi6_addr)) local.v6.ipi6_ifindex = 0;
          local.type = IPV6_PKTINFO;
        } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
          uint32_t drops = 0;
          std::memcpy(&drops, CMSG_DATA(c), sizeof(drops));
          if (drops != l.kernelDrops) {
            st.udpKernelDrops.fetch_add(drops - l.kernelDrops, std::memory_order_relaxed);
            l.kernelDrops = drops;
          }
        }
      }
      bytes += len;
      if ((h.msg_flags & MSG_TRUNC) != 0 || len > svc.payloadSize) {
        st.udpOversize.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      UdpOrigin origin;
      origin.peer =
          SockAddr::fromSockaddr(reinterpret_cast<const sockaddr*>(h.msg_name), h.msg_namelen);
      origin.client = origin.peer;
      origin.local = local;
      const char* data = rx.buf(i);
      size_t size = len;
      if (l.acceptProxy) {
        // Every datagram starts with a whole PROXY v2 header; a bad one costs this datagram.
        ProxyHeader ph;
        const auto status =
            parseProxyHeader(reinterpret_cast<const uint8_t*>(data), size, ph, nullptr, size);
        if (status != ParseStatus::kOk || !ph.v2 ||
            (ph.command == Command::kProxy && ph.transport != Transport::kDgram &&
             ph.hasAddresses())) {
          st.badProxyHeader.fetch_add(1, std::memory_order_relaxed);
          continue;
        }
        if (ph.hasAddresses()) {
          origin.client = ph.src;
          origin.dst = ph.dst;
        }
        data += ph.headerLength;
        size -= ph.headerLength;
      }
      clientDatagram(l, origin, data, size);
    }
    flushToServer();  // before the next recvmmsg reuses the buffers
    st.datagramsIn.fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
    st.bytesIn.fetch_add(bytes, std::memory_order_relaxed);
    if (n < Batch::kSize) return;
  }
}

void UdpEngine::clientDatagram(Listener& l, const UdpOrigin& origin, const char* data, size_t len) {
  const SockAddr& client = origin.client;
  const UdpLocalInfo& local = origin.local;
  FlowKeyBytes key;
  key.listener = l.id;
  key.port = client.port();
  key.family = static_cast<uint16_t>(client.family());
  model::toV6Bytes(client, key.client);
  if (l.acceptProxy) {
    model::toV6Bytes(origin.peer, key.peer);
    key.peerPort = origin.peer.port();
  }
  if (local.type == IP_PKTINFO) {
    key.local[10] = key.local[11] = 0xff;
    std::memcpy(key.local + 12, &local.v4.ipi_addr, 4);
  } else if (local.type == IPV6_PKTINFO) {
    std::memcpy(key.local, &local.v6.ipi6_addr, 16);
  }
  uint64_t words[8];
  static_assert(sizeof(FlowKeyBytes) == sizeof(words));
  std::memcpy(words, &key, sizeof(words));
  uint64_t h = hashSeed_;
  for (uint64_t w : words) h = mix64(h, w);
  h ^= h >> 29;

  SnapState* cur = w_.snaps_.back().get();
  Flow* f = table_->find(key, h);
  if (f != nullptr && f->snap != cur && !rebase(*f, l, cur)) {
    endFlow(*f, false);
    f = nullptr;
  }
  if (f == nullptr) {
    f = newFlow(l, origin, h);
    if (f == nullptr) return;
    f->key = key;
    if (f->svc->proxyRequests != 1) {  // one datagram per flow: nothing to find it by later
      table_->insert(f);
      f->bound = true;
    }
  }
  queueToServer(*f, data, len);
}

bool UdpEngine::rebase(Flow& f, Listener& l, SnapState* cur) {
  // A new publication since the flow's last datagram: it keeps its server unless that
  // server is gone, DOWN or MAINT (DRAIN keeps its flows), or moved to another address.
  const model::Config& cfg = *cur->snap->config;
  const model::Service& svc = at(cfg.services, l.service);
  if (svc.defaultPool < 0) return false;
  const size_t p = static_cast<size_t>(svc.defaultPool);
  const model::Pool& pool = cfg.pools[p];
  size_t s = 0;
  while (s < pool.servers.size() && pool.servers[s].real != f.real) ++s;
  if (s == pool.servers.size()) return false;
  const model::Server& srv = pool.servers[s];
  const model::ServerState state = cur->snap->runtime[p][s].state;
  if (state == model::ServerState::kDown || state == model::ServerState::kMaint ||
      !(srv.addr == f.up->addr))
    return false;
  // The flow counts in the new publication's objects (the same ones unless renamed).
  model::PoolStats* ps = cur->snap->poolStats[p].get();
  if (ps != f.poolStats) {
    f.poolStats->active.fetch_sub(1, std::memory_order_relaxed);
    ps->active.fetch_add(1, std::memory_order_relaxed);
    f.poolStats = ps;
  }
  model::ServiceStats* ss = at(cur->snap->serviceStats, l.service).get();
  if (ss != f.svcStats) {
    f.svcStats->active.fetch_sub(1, std::memory_order_relaxed);
    ss->active.fetch_add(1, std::memory_order_relaxed);
    f.svcStats = ss;
  }
  model::ServerStats* rs = cur->snap->serverStats[p][s].get();
  if (rs != f.srvStats) f.shutdownEpoch = rs->shutdownEpoch.load(std::memory_order_relaxed);
  f.srvStats = rs;
  --f.snap->users;
  ++cur->users;
  f.snap = cur;
  f.svc = &svc;
  f.pool = &pool;
  f.poolIndex = svc.defaultPool;
  f.server = static_cast<int>(s);
  setProxyHeader(f, srv);
  return true;
}

UdpEngine::Flow* UdpEngine::newFlow(Listener& l, const UdpOrigin& origin, uint64_t hash) {
  const SockAddr& client = origin.client;
  SnapState* cur = w_.snaps_.back().get();
  const model::Snapshot& snap = *cur->snap;
  const model::Service& svc = at(snap.config->services, l.service);
  model::ServiceStats& st = *at(snap.serviceStats, l.service);
  if (!model::acceptsConnection(svc, client)) {
    st.denied.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  const Micros now = w_.loop_.now();
  if (svc.rateLimitSessions > 0) {
    if (model::rateLimitReached(st, svc.rateLimitSessions, now / kSeconds)) {
      st.udpRateLimited.fetch_add(1, std::memory_order_relaxed);
      return nullptr;
    }
    st.rateCount.fetch_add(1, std::memory_order_relaxed);
  }
  // The flow table's bound: the section's maxconn, else the global one; and the bind's.
  const uint64_t limit =
      svc.maxconn > 0 ? svc.maxconn : w_.stats_.maxconn.load(std::memory_order_relaxed);
  if ((limit > 0 && st.active.load(std::memory_order_relaxed) >= static_cast<int64_t>(limit)) ||
      (l.maxconn > 0 &&
       l.sockets->active.load(std::memory_order_relaxed) >= static_cast<int64_t>(l.maxconn))) {
    st.udpTableFull.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  if (svc.defaultPool < 0) {
    st.noServer.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  const size_t p = static_cast<size_t>(svc.defaultPool);
  const model::Pool& pool = snap.config->pools[p];
  sched::PickContext ctx;
  ctx.client = &client;
  if (pool.balance.algo == model::BalanceAlgo::kMaglev)
    ctx.flowHash = sched::flowHash(
        client, origin.dst.valid() ? origin.dst : localAddress(origin.local, l.sockets->addr),
        IPPROTO_UDP);
  const int server = at(cur->schedulers, p)->pick(ctx);
  if (server < 0 || !snap.loads[p]->tryAcquire(static_cast<size_t>(server),
                                               pool.servers[static_cast<size_t>(server)].maxconn)) {
    st.noServer.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  const model::Server& srv = pool.servers[static_cast<size_t>(server)];
  Upstream* up = takeUpstream(srv, st);
  if (up == nullptr) {
    snap.loads[p]->release(static_cast<size_t>(server));
    return nullptr;
  }
  Flow* f = recycled(freeFlows_, flows_, this);
  f->hash = hash;
  f->live = true;
  f->bound = false;
  f->id = nextFlowId_++;
  f->listener = &l;
  f->peer = origin.peer;
  f->client = client;
  f->dst = origin.dst;
  f->local = origin.local;
  setProxyHeader(*f, srv);
  f->snap = cur;
  f->svc = &svc;
  f->pool = &pool;
  f->poolIndex = svc.defaultPool;
  f->server = server;
  f->real = srv.real;
  f->svcStats = &st;
  f->poolStats = snap.poolStats[p].get();
  f->srvStats = snap.serverStats[p][static_cast<size_t>(server)].get();
  f->shutdownEpoch = f->srvStats->shutdownEpoch.load(std::memory_order_relaxed);
  f->slot = snap.loads[p]->slot(static_cast<size_t>(server));
  f->up = up;
  up->flow = f;
  f->requests = f->responses = f->bytesIn = f->bytesOut = 0;
  f->start = f->last = now;
  ++cur->users;
  st.accepted.fetch_add(1, std::memory_order_relaxed);
  st.active.fetch_add(1, std::memory_order_relaxed);
  w_.stats_.accepted.fetch_add(1, std::memory_order_relaxed);
  w_.stats_.active.fetch_add(1, std::memory_order_relaxed);
  l.sockets->active.fetch_add(1, std::memory_order_relaxed);
  f->poolStats->active.fetch_add(1, std::memory_order_relaxed);
  f->srvStats->connections.fetch_add(1, std::memory_order_relaxed);
  w_.loop_.timers().arm(
      f, now + std::min(orDefault(svc.clientTimeout), orDefault(pool.serverTimeout)));
  return f;
}

void UdpEngine::setProxyHeader(Flow& f, const model::Server& srv) {
  f.proxyHeaderLength = 0;
  if (srv.sendProxy != model::ProxyProtocol::kV2) return;
  // IPv4 clients of a dual-stack socket arrive as ::ffff:a.b.c.d: announced as IPv4.
  const SockAddr dst =
      unmapped(f.dst.valid() ? f.dst : localAddress(f.local, f.listener->sockets->addr));
  V2Options opts;
  opts.transport = Transport::kDgram;
  f.proxyHeaderLength = static_cast<uint8_t>(
      writeProxyV2(unmapped(f.client), dst, f.proxyHeader, sizeof(f.proxyHeader), opts));
}

void UdpEngine::queueToServer(Flow& f, const char* data, size_t len) {
  TxRun& tx = *tx_;
  if (tx.flow != &f || tx.n == Batch::kSize) flushToServer();
  tx.flow = &f;
  // With send-proxy-v2, the header and the datagram leave as one datagram.
  const int i = tx.n++;
  tx.iov[i][0] = iovec{f.proxyHeader, f.proxyHeaderLength};
  tx.iov[i][1] = iovec{const_cast<char*>(data), len};
  msghdr& m = tx.msgs[i].msg_hdr;
  m = msghdr{};
  m.msg_iov = f.proxyHeaderLength > 0 ? tx.iov[i].data() : tx.iov[i].data() + 1;
  m.msg_iovlen = f.proxyHeaderLength > 0 ? 2 : 1;
  // Counted when given to the flow, so the next datagram of this client in the same batch
  // already sees whether the flow took its proxy-requests.
  ++f.requests;
  if (f.bound && f.svc->proxyRequests > 0 && f.requests >= f.svc->proxyRequests) {
    table_->erase(&f);  // the next datagram of this client starts a new flow
    f.bound = false;
  }
}

void UdpEngine::flushToServer() {
  TxRun& tx = *tx_;
  if (tx.n == 0) return;
  Flow& f = *tx.flow;
  const int n = tx.n;
  tx.n = 0;
  tx.flow = nullptr;
  const int fd = f.up->fd.get();
  // Consecutive datagrams of one flow leave in one sendmmsg.
  int sent = 0;
  bool retried = false;
  uint64_t bytes = 0;
  while (sent < n) {
    const int r = ::sendmmsg(fd, &tx.msgs[sent], static_cast<unsigned>(n - sent), MSG_DONTWAIT);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (icmpError(errno) && !retried) {
        // An ICMP error of an earlier datagram, reported now; nothing was sent.
        f.svcStats->udpIcmpErrors.fetch_add(1, std::memory_order_relaxed);
        model::observeConnect(*f.snap->snap, f.poolIndex, f.server, false);
        retried = true;
        continue;
      }
      f.svcStats->udpSendErrors.fetch_add(1, std::memory_order_relaxed);
      --f.requests;  // not sent: no reply is due for it
      ++sent;        // the others get their own try
      continue;
    }
    for (int k = sent; k < sent + r; ++k) bytes += tx.iov[k][1].iov_len;
    sent += r;
  }
  f.bytesIn += bytes;
  f.last = w_.loop_.now();
  f.srvStats->bytesIn.fetch_add(bytes, std::memory_order_relaxed);
  if (!f.bound && complete(f)) endFlow(f, true);
}

bool UdpEngine::complete(const Flow& f) const {
  const int64_t per = f.svc->proxyResponses;
  return per >= 0 && f.responses >= f.requests * static_cast<uint64_t>(per);
}

// ---------------------------------------------------------------------------------------
// Server side

void UdpEngine::fromServer(Upstream& up) {
  if (!up.fd.valid()) return;  // closed earlier in this batch
  Batch& out = *out_;
  for (int round = 0; round < kRounds; ++round) {
    if (out.used == Batch::kSize) flush();
    const int first = out.used;
    const int room = Batch::kSize - first;
    for (int i = first; i < Batch::kSize; ++i) out.prepareReceive(i, false, false);
    const int n = recvmmsg(up.fd.get(), &out.msgs[first], room, MSG_DONTWAIT, nullptr);
    Flow* f = up.flow;
    if (n < 0) {
      if (!icmpError(errno)) return;  // EAGAIN
      if (f != nullptr) {
        f->svcStats->udpIcmpErrors.fetch_add(1, std::memory_order_relaxed);
        model::observeConnect(*f->snap->snap, f->poolIndex, f->server, false);  // observe layer4
      }
      continue;  // the error is consumed; datagrams may follow
    }
    if (f == nullptr) {
      w_.stats_.udpLateReplies.fetch_add(n, std::memory_order_relaxed);
      if (n < room) return;
      continue;
    }
    uint64_t bytes = 0;
    for (int i = first; i < first + n; ++i) {
      const size_t len = out.msgs[i].msg_len;
      msghdr& h = out.msgs[i].msg_hdr;
      out.iov[i].iov_len = len;
      std::memcpy(&out.names[i], f->peer.sa(), f->peer.len());
      h.msg_name = &out.names[i];
      h.msg_namelen = f->peer.len();
      if (f->local.type != 0) {
        h.msg_control = out.ctrl[i].bytes;
        cmsghdr* c = reinterpret_cast<cmsghdr*>(out.ctrl[i].bytes);
        if (f->local.type == IP_PKTINFO) {
          h.msg_controllen = CMSG_SPACE(sizeof(in_pktinfo));
          c->cmsg_level = IPPROTO_IP;
          c->cmsg_type = IP_PKTINFO;
          c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
          std::memcpy(CMSG_DATA(c), &f->local.v4, sizeof(in_pktinfo));
        } else {
          h.msg_controllen = CMSG_SPACE(sizeof(in6_pktinfo));
          c->cmsg_level = IPPROTO_IPV6;
          c->cmsg_type = IPV6_PKTINFO;
          c->cmsg_len = CMSG_LEN(sizeof(in6_pktinfo));
          std::memcpy(CMSG_DATA(c), &f->local.v6, sizeof(in6_pktinfo));
        }
      }
      out.fds[i] = f->listener->fd;
      out.stats[i] = f->svcStats;
      bytes += len;
    }
    f->bytesOut += bytes;
    f->srvStats->bytesOut.fetch_add(bytes, std::memory_order_relaxed);
    out.used = first + n;
    if (f->responses == 0) model::observeConnect(*f->snap->snap, f->poolIndex, f->server, true);
    f->responses += static_cast<uint64_t>(n);
    f->last = w_.loop_.now();
    if (!f->bound && complete(*f)) {
      endFlow(*f, true);
      return;
    }
    if (n < room) return;
  }
}

void UdpEngine::flush() {
  Batch& out = *out_;
  int i = 0;
  while (i < out.used) {
    int j = i;
    while (j < out.used && out.fds[j] == out.fds[i]) ++j;
    while (i < j) {
      const int n = sendmmsg(out.fds[i], &out.msgs[i], static_cast<unsigned>(j - i), MSG_DONTWAIT);
      if (n < 0) {
        if (errno == EINTR) continue;
        out.stats[i]->udpSendErrors.fetch_add(1, std::memory_order_relaxed);
        ++i;  // the first datagram failed; the others get their own try
        continue;
      }
      // Counted once per run of datagrams of the same frontend.
      for (int k = i; k < i + n;) {
        model::ServiceStats* st = out.stats[k];
        uint64_t count = 0, bytes = 0;
        for (; k < i + n && out.stats[k] == st; ++k, ++count) bytes += out.msgs[k].msg_len;
        st->datagramsOut.fetch_add(count, std::memory_order_relaxed);
        st->bytesOut.fetch_add(bytes, std::memory_order_relaxed);
      }
      i += n;
    }
  }
  out.used = 0;
}

UdpEngine::Upstream* UdpEngine::takeUpstream(const model::Server& srv, model::ServiceStats& st) {
  if (srv.real < idle_.size()) {
    auto& pool = idle_[srv.real];
    while (!pool.empty()) {
      Upstream* u = pool.back();
      pool.pop_back();
      if (u->addr == srv.addr) return u;
      closeUpstream(u);  // the server moved (set server addr)
    }
  }
  // Out of descriptors or ephemeral ports: the datagram is dropped, counted, and said
  // (at most every 10 s per worker).
  auto failed = [&](const char* what) -> Upstream* {
    const int err = errno;
    if (err == EMFILE || err == ENFILE)
      w_.stats_.fdExhausted.fetch_add(1, std::memory_order_relaxed);
    st.udpSendErrors.fetch_add(1, std::memory_order_relaxed);
    const Micros now = w_.loop_.now();
    if (lastSocketWarning_ == 0 || now - lastSocketWarning_ >= 10 * kSeconds) {
      lastSocketWarning_ = now;
      log::warning(
          "worker {}: UDP: cannot {} a socket to server {}: {}; datagrams of new flows "
          "are dropped (udp_send_errors_total)",
          w_.id_, what, srv.addr.toString(), strerror(err));
    }
    return nullptr;
  };
  UniqueFd fd(socket(srv.addr.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return failed("open");
  if (srv.source && bind(fd.get(), srv.source->sa(), srv.source->len()) != 0) return failed("bind");
  if (connect(fd.get(), srv.addr.sa(), srv.addr.len()) != 0) return failed("connect");
  Upstream* u = recycled(freeUpstreams_, upstreams_, this);
  u->real = srv.real;
  u->addr = srv.addr;
  u->flow = nullptr;
  if (auto s = w_.loop_.add(fd.get(), EPOLLIN, u); !s) {
    st.udpSendErrors.fetch_add(1, std::memory_order_relaxed);
    u->nextFree = freeUpstreams_;
    freeUpstreams_ = u;
    return nullptr;
  }
  u->fd = std::move(fd);
  return u;
}

void UdpEngine::releaseUpstream(Upstream* up, bool reusable) {
  up->flow = nullptr;
  if (reusable) {
    if (up->real >= idle_.size()) idle_.resize(up->real + 1);
    auto& pool = idle_[up->real];
    if (pool.size() < kMaxIdlePerServer) {
      pool.push_back(up);
      return;
    }
  }
  closeUpstream(up);
}

void UdpEngine::closeUpstream(Upstream* up) {
  if (up->fd.valid()) {
    w_.loop_.remove(up->fd.get());
    up->fd.reset();
  }
  up->flow = nullptr;
  up->nextFree = freeUpstreams_;
  freeUpstreams_ = up;
}

// ---------------------------------------------------------------------------------------
// Ends

Micros UdpEngine::timeoutOf(const Flow& f) const {
  const int64_t per = f.svc->proxyResponses;
  const bool awaiting = per > 0 && f.responses < f.requests * static_cast<uint64_t>(per);
  return awaiting ? orDefault(f.pool->serverTimeout) : orDefault(f.svc->clientTimeout);
}

void UdpEngine::expire(Flow& f) {
  const Micros due = f.last + timeoutOf(f);
  if (w_.loop_.now() < due) {
    w_.loop_.timers().arm(&f, due);
    return;
  }
  const int64_t per = f.svc->proxyResponses;
  const bool awaiting = per > 0 && f.responses < f.requests * static_cast<uint64_t>(per);
  if (awaiting) {
    w_.stats_.timeouts.fetch_add(1, std::memory_order_relaxed);
    // observe layer4: a flow whose replies never came counts against its server.
    model::observeConnect(*f.snap->snap, f.poolIndex, f.server, false);
  }
  // A socket may be reused only when no reply can still come: every expected reply came.
  endFlow(f, per >= 0 && !awaiting);
}

void UdpEngine::endFlow(Flow& f, bool clean) {
  if (!f.live) return;
  if (f.bound) {
    table_->erase(&f);
    f.bound = false;
  }
  w_.loop_.timers().cancel(&f);
  if (f.up != nullptr) {
    releaseUpstream(f.up, clean);
    f.up = nullptr;
  }
  if (f.slot) {
    f.slot->active.fetch_sub(1, std::memory_order_relaxed);
    f.slot.reset();
  }
  f.svcStats->active.fetch_sub(1, std::memory_order_relaxed);
  f.poolStats->active.fetch_sub(1, std::memory_order_relaxed);
  w_.stats_.active.fetch_sub(1, std::memory_order_relaxed);
  f.listener->sockets->active.fetch_sub(1, std::memory_order_relaxed);
  --f.snap->users;
  f.snap = nullptr;
  f.live = false;
  f.nextFree = freeFlows_;
  freeFlows_ = &f;
}

void UdpEngine::endShutdownFlows() {
  for (auto& f : flows_)
    if (f->live && f->srvStats->shutdownEpoch.load(std::memory_order_relaxed) != f->shutdownEpoch)
      endFlow(*f, false);
}

void UdpEngine::describe(Micros now, std::vector<model::SessionInfo>& out) const {
  for (const auto& f : flows_) {
    if (!f->live) continue;
    model::SessionInfo s;
    s.id = f->id;
    s.client = f->client;
    s.local = f->dst.valid() ? f->dst : localAddress(f->local, f->listener->sockets->addr);
    s.frontend = f->svc->name;
    s.backend = f->pool->name;
    s.server = f->pool->servers[static_cast<size_t>(f->server)].name;
    s.state = "flow";
    s.udp = true;
    s.age = now - f->start;
    s.idle = now - f->last;
    s.bytesIn = f->bytesIn;
    s.bytesOut = f->bytesOut;
    out.push_back(std::move(s));
  }
}

}  // namespace fulcrum::proxy
