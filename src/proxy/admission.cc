#include "proxy/admission.h"

#include "common/index.h"
#include "proxy/listeners.h"
#include "proxy/session.h"
#include "proxy/worker.h"

namespace fulcrum::proxy {
namespace {

// How often queued clients look for a slot freed on another thread.
constexpr Micros kQueueRecheck = 10 * kMillis;

constexpr auto kRelaxed = std::memory_order_relaxed;

}  // namespace

// ---- ConnAccount ----

void ConnAccount::open(model::ProcessStats& process, SnapState& snap, int service,
                       ListenerSockets* bind, PoolQueues& queues) {
  close();
  process_ = &process;
  snap_ = &snap;
  queues_ = &queues;
  bind_ = bind;
  service_ = service;
  process.accepted.fetch_add(1, kRelaxed);
  process.active.fetch_add(1, kRelaxed);
  model::ServiceStats& svc = *at(snap.snap->serviceStats, service);
  svc.accepted.fetch_add(1, kRelaxed);
  svc.active.fetch_add(1, kRelaxed);
  if (bind != nullptr) bind->active.fetch_add(1, kRelaxed);
  ++snap.users;
}

void ConnAccount::enterPool(int pool) {
  if (pool_ >= 0 || pool < 0) return;
  pool_ = pool;
  at(snap_->snap->poolStats, pool)->active.fetch_add(1, kRelaxed);
}

bool ConnAccount::takeSlot(int server, uint32_t maxconn) {
  if (slot_ >= 0 || pool_ < 0) return false;
  if (!at(snap_->snap->loads, pool_)->tryAcquire(static_cast<size_t>(server), maxconn))
    return false;
  slot_ = server;
  return true;
}

void ConnAccount::releaseSlot() {
  if (slot_ < 0) return;
  at(snap_->snap->loads, pool_)->release(static_cast<size_t>(slot_));
  slot_ = -1;
  queues_->slotFreed();
}

void ConnAccount::close() {
  if (process_ == nullptr) return;
  releaseSlot();
  process_->active.fetch_sub(1, kRelaxed);
  at(snap_->snap->serviceStats, service_)->active.fetch_sub(1, kRelaxed);
  if (pool_ >= 0) at(snap_->snap->poolStats, pool_)->active.fetch_sub(1, kRelaxed);
  if (bind_ != nullptr) bind_->active.fetch_sub(1, kRelaxed);
  --snap_->users;
  process_ = nullptr;
  snap_ = nullptr;
  queues_ = nullptr;
  bind_ = nullptr;
  service_ = pool_ = -1;
}

// ---- PoolQueues ----

bool PoolQueues::enqueue(Session* s, SnapState& snap, int pool) {
  model::PoolStats& ps = *at(snap.snap->poolStats, pool);
  const int64_t limit = at(snap.queueLimits, pool);
  if (ps.queued.fetch_add(1, kRelaxed) >= limit && limit > 0) {
    ps.queued.fetch_sub(1, kRelaxed);
    ps.queueFull.fetch_add(1, kRelaxed);
    return false;
  }
  PoolQueue& q = at(snap.queues, pool);
  s->queueNext = nullptr;
  s->queuePrev = q.tail;
  if (q.tail != nullptr)
    q.tail->queueNext = s;
  else
    q.head = s;
  q.tail = s;
  if (queued_++ == 0) loop_.timers().arm(this, loop_.now() + kQueueRecheck);
  return true;
}

void PoolQueues::dequeue(Session* s, SnapState& snap, int pool) {
  PoolQueue& q = at(snap.queues, pool);
  if (s->queuePrev != nullptr)
    s->queuePrev->queueNext = s->queueNext;
  else
    q.head = s->queueNext;
  if (s->queueNext != nullptr)
    s->queueNext->queuePrev = s->queuePrev;
  else
    q.tail = s->queuePrev;
  s->queueNext = s->queuePrev = nullptr;
  at(snap.snap->poolStats, pool)->queued.fetch_sub(1, kRelaxed);
  if (--queued_ == 0) loop_.timers().cancel(this);
}

void PoolQueues::serve() {
  work_ = false;
  for (auto& st : snaps_) {
    for (PoolQueue& q : st->queues) {
      while (q.head != nullptr) {
        if (!q.head->retryFromQueue()) break;  // still no slot: the rest waits too
      }
    }
  }
  if (queued_ > 0) loop_.timers().arm(this, loop_.now() + kQueueRecheck);
}

}  // namespace fulcrum::proxy
