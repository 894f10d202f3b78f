#include "proxy/worker.h"

#include <fmt/core.h>
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/index.h"
#include "common/log.h"
#include "model/acl.h"
#include "proxy/session.h"
#include "proxy/udp.h"

namespace fulcrum::proxy {
namespace {

// Accepts per listener wake-up, so that one busy listener does not starve sessions.
constexpr int kAcceptBatch = 64;
// A dropped listener's queue is at most its backlog; the bound keeps a flood from
// holding the thread.
constexpr int kDrainBatch = 65536;
// How long accepting pauses when the process is out of file descriptors.
constexpr Micros kFdExhaustedPause = 100 * kMillis;
// How often a listener paused at maxconn looks again when the slot that frees up is on
// another thread (a slot freed on this thread resumes it at once).
constexpr Micros kMaxconnRecheck = 20 * kMillis;
// A worker's pending stream-log lines are written once per batch, or at this size.
constexpr size_t kLogFlushBytes = 64 * 1024;

}  // namespace

Worker::Worker(int id, const control::PublicationBox& box, size_t slot, model::ProcessStats& stats,
               AckGate& acks, WorkerOptions opts)
    : id_(id),
      box_(box),
      slot_(slot),
      stats_(stats),
      acks_(acks),
      opts_(std::move(opts)),
      buffers_(opts_.bufferSize, opts_.maxFreeBuffers),
      pipes_(opts_.maxPipes) {}

Worker::~Worker() {
  if (thread_.joinable()) {
    requestStop();
    thread_.join();
  }
}

Status Worker::init() {
  if (auto st = loop_.init(); !st) return st;
  udp_ = std::make_unique<UdpEngine>(*this);
  loop_.setWakeHandler([this] {
    if (stopRequested_.load()) loop_.stop();
    if (publicationPending_.exchange(false)) loadPublication();
    if (dumpPending_.exchange(false)) answerSessionDumps();
  });
  loop_.setAfterBatch([this] { afterBatch(); });
  loadPublication();
  return Ok{};
}

void Worker::applyPlan(const ProxyPlan& plan) {
  std::vector<std::unique_ptr<Listener>> next;
  for (const PlannedListener& pl : plan.listeners) {
    if (pl.udp) continue;  // udp_->applyPlan below
    ListenerSpec spec{pl.sockets->perWorker[static_cast<size_t>(id_)].get(), pl.service,
                      pl.acceptProxy, pl.maxconn, pl.sockets.get()};
    std::unique_ptr<Listener> kept;
    for (auto& l : listeners_) {
      if (l && l->spec().sockets == spec.sockets) {
        kept = std::move(l);
        break;
      }
    }
    if (kept) {
      kept->setSpec(spec);
    } else {
      kept = std::make_unique<Listener>(this, spec);
      if (auto st = loop_.add(spec.fd, EPOLLIN, kept.get()); !st) {
        log::error("worker {}: cannot listen on a new listener: {}", id_, st.error());
        continue;
      }
    }
    next.push_back(std::move(kept));
  }
  std::vector<std::unique_ptr<Listener>> dropped;
  for (auto& l : listeners_)
    if (l) dropped.push_back(std::move(l));
  listeners_ = std::move(next);  // no empty slots while draining (accepts may pause them)
  for (auto& l : dropped) {
    acceptOn(*l, /*draining=*/true);  // still on the snapshot of its config
    l->retire();
    loop_.timers().cancel(l.get());
    loop_.remove(l->spec().fd);
    // Closed right after its last accept: the window in which the kernel can still
    // complete a connection on it (and then reset it) is that of two system calls. This
    // worker alone owns its socket of the listener (see ListenerSockets).
    l->spec().sockets->perWorker[static_cast<size_t>(id_)].reset();
    retiredListeners_.push_back(std::move(l));  // freed after the batch (see afterBatch)
  }
  udp_->applyPlan(plan, id_);
  plan_ = &plan;
}

void Worker::requestSessions(std::shared_ptr<SessionDump> dump) {
  {
    std::lock_guard<std::mutex> lock(dumpMu_);
    dumps_.push_back(std::move(dump));
  }
  dumpPending_.store(true);
  loop_.wake();
}

void Worker::answerSessionDumps() {
  std::vector<std::shared_ptr<SessionDump>> dumps;
  {
    std::lock_guard<std::mutex> lock(dumpMu_);
    dumps.swap(dumps_);
  }
  if (dumps.empty()) return;
  std::vector<model::SessionInfo> mine;
  const Micros now = loop_.now();
  for (auto& s : allSessions_) {
    if (s->state() == Session::State::kClosed || s->state() == Session::State::kIdle) continue;
    mine.push_back(s->describe(now));
  }
  udp_->describe(now, mine);
  for (auto& m : mine) m.worker = id_;
  for (auto& d : dumps) {
    {
      std::lock_guard<std::mutex> lock(d->mu);
      d->sessions.insert(d->sessions.end(), mine.begin(), mine.end());
      --d->pending;
    }
    d->cv.notify_all();
  }
}

void Worker::start() {
  thread_ = std::thread([this] { run(); });
  // "fulcrum-w1"...: what top -H, ps -L and /proc/PID/task/*/comm show.
  const std::string name = fmt::format("fulcrum-w{}", id_ + 1);
  pthread_setname_np(thread_.native_handle(), name.c_str());
  if (!opts_.cpus.empty()) {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int c : opts_.cpus) CPU_SET(c, &set);
    if (int rc = pthread_setaffinity_np(thread_.native_handle(), sizeof(set), &set); rc != 0)
      log::warning("worker {}: cannot pin to CPUs: {}", id_, strerror(rc));
  }
}

void Worker::requestStop() {
  stopRequested_.store(true);
  loop_.wake();
}

void Worker::publicationChanged() {
  publicationPending_.store(true);
  loop_.wake();
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::run() {
  log::debug("worker {} running", id_);
  loop_.run();
  // Stopping: close what is left, so that clients see a close rather than a hang.
  for (auto& s : allSessions_) {
    if (s->state() != Session::State::kClosed && s->state() != Session::State::kIdle)
      s->abort("process stopping");
  }
  udp_->closeAll();
  afterBatch();
  log::debug("worker {} stopped", id_);
}

void Worker::loadPublication() {
  auto pub = box_.current();
  if (!pub) return;
  if (!snaps_.empty() && snaps_.back()->pub == pub) return;
  // The listeners first: a dropped one drains on the current SnapState, whose config its
  // service index belongs to.
  const ProxyPlan* plan = pub->plan<ProxyPlan>(slot_);
  if (plan != nullptr && plan != plan_) applyPlan(*plan);
  auto st = std::make_unique<SnapState>();
  st->pub = pub;
  st->snap = pub->snapshot;
  const auto& pools = pub->config().pools;
  const SnapState* prev = snaps_.empty() ? nullptr : snaps_.back().get();
  st->queues.resize(pools.size());
  for (size_t p = 0; p < pools.size(); ++p) {
    const control::PoolTables* tables = pub->pools[p].get();
    std::shared_ptr<sched::Scheduler> scheduler;
    // The same tables: same servers, weights, states and loads, so the same scheduler.
    if (prev != nullptr) {
      if (p < prev->tables.size() && prev->tables[p] == tables) {
        scheduler = prev->schedulers[p];
      } else {
        for (size_t q = 0; q < prev->tables.size() && !scheduler; ++q)
          if (prev->tables[q] == tables) scheduler = prev->schedulers[q];
      }
    }
    if (!scheduler) {
      sched::SchedulerOptions so;
      so.allBackups = pools[p].allBackups;
      so.seed = static_cast<uint64_t>(id_ + 1) * 0x9e3779b97f4a7c15ULL ^ pub->generation;
      so.maglev = tables->maglev;
      scheduler =
          sched::makeScheduler(pools[p], st->snap->runtime[p], st->snap->loads[p].get(), so);
    }
    st->schedulers.push_back(std::move(scheduler));
    st->tables.push_back(tables);
    // The queue is bounded when every server that has a maxconn also has a maxqueue: the
    // bound is the sum of the maxqueues. Otherwise timeout queue bounds it in time.
    int64_t limit = 0;
    bool bounded = false;
    for (const model::Server& s : pools[p].servers) {
      if (s.maxconn == 0) continue;
      if (s.maxqueue == 0) {
        bounded = false;
        limit = 0;
        break;
      }
      bounded = true;
      limit += s.maxqueue;
    }
    st->queueLimits.push_back(bounded ? limit : 0);
  }
  const uint64_t prevShutdownSeq = prev != nullptr ? prev->snap->shutdownSeq : 0;
  snaps_.push_back(std::move(st));
  // Health (on-marked-down shutdown-sessions, on-marked-up shutdown-backup-sessions): the
  // control plane bumped some servers' shutdown epoch; their sessions close now.
  if (prev != nullptr && pub->snapshot->shutdownSeq != prevShutdownSeq) {
    for (auto& s : allSessions_) s->abortIfServerShutdown();
    udp_->endShutdownFlows();
  }
  applied_.store(pub->generation, std::memory_order_release);
  acks_.notify();
}

Micros Worker::admissionDelay(const Listener& l) {
  const ListenerSpec& spec = l.spec();
  const model::Snapshot& snap = *snaps_.back()->snap;
  const model::Service& svc = snap.config->services[static_cast<size_t>(spec.service)];
  model::ServiceStats& st = *snap.serviceStats[static_cast<size_t>(spec.service)];
  const uint32_t globalMaxconn = stats_.maxconn.load(std::memory_order_relaxed);
  const bool atMaxconn =
      (globalMaxconn > 0 &&
       stats_.active.load(std::memory_order_relaxed) >= static_cast<int64_t>(globalMaxconn)) ||
      (spec.maxconn > 0 && spec.sockets->active.load(std::memory_order_relaxed) >=
                               static_cast<int64_t>(spec.maxconn)) ||
      (svc.maxconn > 0 &&
       st.active.load(std::memory_order_relaxed) >= static_cast<int64_t>(svc.maxconn));
  if (atMaxconn) {
    st.maxconnPauses.fetch_add(1, std::memory_order_relaxed);
    return kMaxconnRecheck;
  }
  const model::Global& g = snap.config->global;
  if (g.maxconnrate > 0 || g.maxsessrate > 0) {
    const Micros now = loop_.now();
    const int64_t window = now / kSeconds;
    int64_t cur = stats_.rateWindow.load(std::memory_order_relaxed);
    if (cur != window && stats_.rateWindow.compare_exchange_strong(cur, window)) {
      stats_.connRateCount.store(0, std::memory_order_relaxed);
      stats_.sessRateCount.store(0, std::memory_order_relaxed);
    }
    if ((g.maxconnrate > 0 &&
         stats_.connRateCount.load(std::memory_order_relaxed) >= g.maxconnrate) ||
        (g.maxsessrate > 0 &&
         stats_.sessRateCount.load(std::memory_order_relaxed) >= g.maxsessrate)) {
      st.rateLimitPauses.fetch_add(1, std::memory_order_relaxed);
      return (window + 1) * kSeconds - now + 1;
    }
  }
  if (svc.rateLimitSessions > 0) {
    const Micros now = loop_.now();
    const int64_t window = now / kSeconds;
    if (model::rateLimitReached(st, svc.rateLimitSessions, window)) {
      st.rateLimitPauses.fetch_add(1, std::memory_order_relaxed);
      return (window + 1) * kSeconds - now + 1;
    }
  }
  return 0;
}

void Worker::Listener::onIo(uint32_t) {
  // A change published before this client arrived applies to it: its wake-up may come
  // later in this batch, so a pending publication is loaded first.
  if (worker_->publicationPending_.load(std::memory_order_relaxed) &&
      worker_->publicationPending_.exchange(false))
    worker_->loadPublication();
  if (!retired_) worker_->acceptOn(*this);
}

void Worker::Listener::onTimer() { resume(); }

void Worker::Listener::pause(Micros retryAfter, bool untilTimer) {
  untilTimer_ = untilTimer;
  if (!paused_) {
    (void)worker_->loop_.modify(spec_.fd, 0, this);  // cannot fail for a registered fd
    paused_ = true;
    worker_->anyPaused_ = true;
  }
  worker_->loop_.timers().arm(this, worker_->loop_.now() + retryAfter);
}

void Worker::Listener::resume() {
  if (!paused_) return;
  paused_ = false;
  untilTimer_ = false;
  worker_->loop_.timers().cancel(this);
  (void)worker_->loop_.modify(spec_.fd, EPOLLIN, this);  // level-triggered: pending accepts fire
}

void Worker::acceptOn(Listener& l, bool draining) {
  SnapState* cur = snaps_.back().get();
  const ListenerSpec& spec = l.spec();
  const model::Service& svc = cur->snap->config->services[static_cast<size_t>(spec.service)];
  auto& svcStats = *cur->snap->serviceStats[static_cast<size_t>(spec.service)];
  const int batch = draining ? kDrainBatch : kAcceptBatch;
  for (int i = 0; i < batch; ++i) {
    if (Micros wait = draining ? 0 : admissionDelay(l); wait > 0) {
      l.pause(wait, /*untilTimer=*/false);
      return;
    }
    sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    int fd = accept4(spec.fd, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      int err = errno;
      if (err == EAGAIN || err == EWOULDBLOCK) return;
      if (err == EINTR || err == ECONNABORTED) continue;
      if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
        resourcesExhausted(err);
        return;
      }
      stats_.acceptErrors.fetch_add(1, std::memory_order_relaxed);
      log::warning("worker {}: accept: {}", id_, strerror(err));
      return;
    }
    SockAddr client = SockAddr::fromSockaddr(reinterpret_cast<sockaddr*>(&ss), len);
    if (svc.rateLimitSessions > 0) svcStats.rateCount.fetch_add(1, std::memory_order_relaxed);
    const model::Global& g = cur->snap->config->global;
    if (g.maxconnrate > 0) stats_.connRateCount.fetch_add(1, std::memory_order_relaxed);
    if (!model::acceptsConnection(svc, client)) {
      // tcp-request connection reject: closed at once, with a reset, before any work.
      svcStats.denied.fetch_add(1, std::memory_order_relaxed);
      linger lg{1, 0};
      setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
      ::close(fd);
      continue;
    }
    if (g.maxsessrate > 0) stats_.sessRateCount.fetch_add(1, std::memory_order_relaxed);
    Session* s = newSession();
    s->start(this, cur, spec, fd, client);
  }
}

void Worker::resourcesExhausted(int err) {
  stats_.fdExhausted.fetch_add(1, std::memory_order_relaxed);
  bool already = true;
  for (auto& l : listeners_) already = already && l->paused();
  if (!already)  // one line per episode, not one per failed accept
    log::warning("worker {}: {}; pausing accepts for {} ms", id_, strerror(err),
                 kFdExhaustedPause / kMillis);
  for (auto& l : listeners_) l->pause(kFdExhaustedPause, /*untilTimer=*/true);
}

Session* Worker::newSession() {
  if (freeSessions_ != nullptr) {
    Session* s = freeSessions_;
    freeSessions_ = s->nextFree;
    s->nextFree = nullptr;
    return s;
  }
  allSessions_.push_back(std::make_unique<Session>());
  return allSessions_.back().get();
}

bool Worker::anyServerUsable(const SnapState& snap, int pool) const {
  for (const model::ServerRuntime& rt : snap.snap->runtime[static_cast<size_t>(pool)])
    if (sched::usable(rt)) return true;
  return false;
}

void Worker::emit(const std::vector<std::shared_ptr<model::LogSink>>& sinks,
                  const fmt::memory_buffer& line) {
  for (const auto& sink : sinks) {
    if (sink->perLine()) {
      sink->write(std::string_view(line.data(), line.size()));
      continue;
    }
    PendingLog* p = nullptr;
    for (PendingLog& pl : pendingLogs_)
      if (pl.sink == sink.get()) p = &pl;
    if (p == nullptr) p = &pendingLogs_.emplace_back(PendingLog{sink.get(), fmt::memory_buffer()});
    p->lines.append(line.data(), line.data() + line.size());
    p->lines.push_back('\n');
    if (p->lines.size() >= kLogFlushBytes) {
      p->sink->write(std::string_view(p->lines.data(), p->lines.size()));
      p->lines.clear();
    }
  }
}

void Worker::logLine(const std::vector<std::shared_ptr<model::LogSink>>& sinks,
                     const ConnLogRecord& r) {
  fmt::memory_buffer line;
  formatTcplog(r, line);
  emit(sinks, line);
}

void Worker::logConnect(const std::vector<std::shared_ptr<model::LogSink>>& sinks,
                        std::string_view frontend, const SockAddr& client, int clientFd,
                        const SockAddr* announcedDst) {
  const SockAddr local =
      announcedDst != nullptr && announcedDst->valid() ? *announcedDst : localAddressOf(clientFd);
  fmt::memory_buffer line;
  formatConnect(client, local, frontend, line);
  emit(sinks, line);
}

void Worker::flushLogs() {
  for (PendingLog& p : pendingLogs_) {
    if (p.lines.size() == 0) continue;
    p.sink->write(std::string_view(p.lines.data(), p.lines.size()));
    p.lines.clear();
  }
}

void Worker::afterBatch() {
  udp_->afterBatch();
  queues_.afterBatch();
  flushLogs();
  retiredListeners_.clear();
  if (closed_.empty() && snaps_.size() < 2) return;
  for (Session* s : closed_) {
    s->nextFree = freeSessions_;
    freeSessions_ = s;
  }
  closed_.clear();
  // Older snapshots that no session uses any more are dropped now (with their log
  // sinks: the pending lines were written above).
  for (size_t i = 0; i + 1 < snaps_.size();) {
    if (snaps_[i]->users == 0) {
      pendingLogs_.clear();
      snaps_.erase(snaps_.begin() + static_cast<std::ptrdiff_t>(i));
    } else {
      ++i;
    }
  }
  if (anyPaused_) {
    anyPaused_ = false;
    for (auto& l : listeners_) {
      if (l->paused() && !l->pausedUntilTimer()) l->resume();  // limits re-checked on accept
    }
  }
}

}  // namespace fulcrum::proxy
