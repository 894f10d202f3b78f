#include "proxy/worker.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/log.h"
#include "proxy/session.h"

namespace fulcrum::proxy {
namespace {

// Accepts per listener wake-up, so that one busy listener does not starve sessions.
constexpr int kAcceptBatch = 64;
// How long accepting pauses when the process is out of file descriptors.
constexpr Micros kFdExhaustedPause = 100 * kMillis;
// How often a listener paused at maxconn looks again when the slot that frees up is on
// another thread (a slot freed on this thread resumes it at once).
constexpr Micros kMaxconnRecheck = 20 * kMillis;

}  // namespace

Worker::Worker(int id, const model::SnapshotBox& box, model::ProcessStats& stats,
               WorkerOptions opts)
    : id_(id),
      box_(box),
      stats_(stats),
      opts_(opts),
      buffers_(opts.bufferSize, opts.maxFreeBuffers),
      pipes_(opts.maxPipes) {}

Worker::~Worker() {
  if (thread_.joinable()) {
    requestStop();
    thread_.join();
  }
}

Status Worker::init(const std::vector<ListenerSpec>& listeners) {
  if (auto st = loop_.init(); !st) return st;
  loop_.setWakeHandler([this] {
    if (stopRequested_.load()) loop_.stop();
    if (snapshotPending_.exchange(false)) loadSnapshot();
  });
  loop_.setAfterBatch([this] { afterBatch(); });
  loadSnapshot();
  for (const ListenerSpec& spec : listeners) {
    auto l = std::make_unique<Listener>(this, spec);
    if (auto st = loop_.add(spec.fd, EPOLLIN, l.get()); !st) return st;
    listeners_.push_back(std::move(l));
  }
  return Ok{};
}

void Worker::start() {
  thread_ = std::thread([this] { run(); });
}

void Worker::requestStop() {
  stopRequested_.store(true);
  loop_.wake();
}

void Worker::snapshotChanged() {
  snapshotPending_.store(true);
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
    if (s->state() == Session::State::kConnecting || s->state() == Session::State::kRelaying)
      s->abort("process stopping");
  }
  afterBatch();
  log::debug("worker {} stopped", id_);
}

void Worker::loadSnapshot() {
  auto snap = box_.current();
  if (!snap) return;
  if (!snaps_.empty() && snaps_.back()->snap == snap) return;
  auto st = std::make_unique<SnapState>();
  st->snap = snap;
  for (size_t p = 0; p < snap->config->pools.size(); ++p)
    st->schedulers.push_back(sched::makeScheduler(snap->config->pools[p], snap->runtime[p]));
  snaps_.push_back(std::move(st));
}

bool Worker::belowLimits(int service) const {
  if (opts_.globalMaxconn > 0 &&
      stats_.active.load(std::memory_order_relaxed) >= static_cast<int64_t>(opts_.globalMaxconn))
    return false;
  const model::Snapshot& snap = *snaps_.back()->snap;
  uint32_t max = snap.config->services[static_cast<size_t>(service)].maxconn;
  if (max > 0 && snap.serviceStats[static_cast<size_t>(service)]->active.load(
                     std::memory_order_relaxed) >= static_cast<int64_t>(max))
    return false;
  return true;
}

void Worker::Listener::onIo(uint32_t) { worker_->acceptOn(*this, spec_.service); }

void Worker::Listener::onTimer() { resume(); }

void Worker::Listener::pause(Micros retryAfter) {
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
  worker_->loop_.timers().cancel(this);
  (void)worker_->loop_.modify(spec_.fd, EPOLLIN, this);  // level-triggered: pending accepts fire
}

void Worker::acceptOn(Listener& l, int service) {
  SnapState* cur = snaps_.back().get();
  auto& svcStats = *cur->snap->serviceStats[static_cast<size_t>(service)];
  for (int i = 0; i < kAcceptBatch; ++i) {
    if (!belowLimits(service)) {
      svcStats.deniedMaxconn.fetch_add(1, std::memory_order_relaxed);
      l.pause(kMaxconnRecheck);
      return;
    }
    sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    int fd = accept4(l.fd(), reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      int err = errno;
      if (err == EAGAIN || err == EWOULDBLOCK) return;
      if (err == EINTR || err == ECONNABORTED) continue;
      if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
        stats_.fdExhausted.fetch_add(1, std::memory_order_relaxed);
        log::warning("worker {}: accept: {}; pausing accepts for {} ms", id_, strerror(err),
                     kFdExhaustedPause / kMillis);
        l.pause(kFdExhaustedPause);
        return;
      }
      stats_.acceptErrors.fetch_add(1, std::memory_order_relaxed);
      log::warning("worker {}: accept: {}", id_, strerror(err));
      return;
    }
    stats_.accepted.fetch_add(1, std::memory_order_relaxed);
    stats_.active.fetch_add(1, std::memory_order_relaxed);
    svcStats.accepted.fetch_add(1, std::memory_order_relaxed);
    svcStats.active.fetch_add(1, std::memory_order_relaxed);
    Session* s = newSession();
    ++cur->users;
    s->start(this, cur, service, fd, SockAddr::fromSockaddr(reinterpret_cast<sockaddr*>(&ss), len));
  }
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

void Worker::sessionClosed(Session* s, SnapState* snap, int service) {
  stats_.active.fetch_sub(1, std::memory_order_relaxed);
  snap->snap->serviceStats[static_cast<size_t>(service)]->active.fetch_sub(
      1, std::memory_order_relaxed);
  --snap->users;
  closed_.push_back(s);
}

void Worker::afterBatch() {
  if (closed_.empty() && snaps_.size() < 2) return;
  for (Session* s : closed_) {
    s->nextFree = freeSessions_;
    freeSessions_ = s;
  }
  closed_.clear();
  // Older snapshots that no session uses any more are dropped now.
  for (size_t i = 0; i + 1 < snaps_.size();) {
    if (snaps_[i]->users == 0)
      snaps_.erase(snaps_.begin() + static_cast<std::ptrdiff_t>(i));
    else
      ++i;
  }
  if (anyPaused_) {
    anyPaused_ = false;
    for (auto& l : listeners_) {
      if (l->paused()) l->resume();  // re-checks the limits on its next accept
    }
  }
}

}  // namespace fulcrum::proxy
