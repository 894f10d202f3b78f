// Admission: what a client connection counts from accept to close, and where it waits
// for a server slot.
//
//   ConnAccount  one token per connection: the process, frontend and bind connection
//                counts and the publication state it uses from accept, the backend's count
//                once balanced, a server slot while connecting and relaying. Each is taken
//                through the token and given back by it, exactly once (close()).
//   PoolQueues   one per worker: the clients waiting for a slot, per publication state and
//                pool, in arrival order; bounded by the servers' maxqueue, served oldest
//                first after each batch in which a slot was freed, and every 10 ms for
//                slots freed by other workers.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "common/clock.h"
#include "common/event_loop.h"
#include "model/stats.h"

namespace fulcrum::proxy {

class Session;
class PoolQueues;
struct SnapState;
struct ListenerSockets;

class ConnAccount {
 public:
  ConnAccount() = default;
  ~ConnAccount() { close(); }
  ConnAccount(const ConnAccount&) = delete;
  ConnAccount& operator=(const ConnAccount&) = delete;

  // At accept: counted in the process, the frontend (connections and accepted), the bind
  // (may be null) and the users of `snap`.
  void open(model::ProcessStats& process, SnapState& snap, int service, ListenerSockets* bind,
            PoolQueues& queues);
  // Balancing begins: counted in the backend's connections.
  void enterPool(int pool);
  // Takes a slot of `server` in the pool entered, unless it is at `maxconn` (0: none).
  bool takeSlot(int server, uint32_t maxconn);
  // Gives a held slot back; the worker's queued clients get a chance at it.
  void releaseSlot();
  // Gives everything back (idempotent).
  void close();

  bool isOpen() const { return process_ != nullptr; }

 private:
  model::ProcessStats* process_ = nullptr;
  SnapState* snap_ = nullptr;
  PoolQueues* queues_ = nullptr;
  ListenerSockets* bind_ = nullptr;
  int service_ = -1;
  int pool_ = -1;  // -1: not counted in a backend
  int slot_ = -1;  // the server whose slot is held; -1: none
};

class PoolQueues final : public Timer {
 public:
  // `snaps`: the worker's publication states, whose queues are served.
  PoolQueues(EventLoop& loop, std::vector<std::unique_ptr<SnapState>>& snaps)
      : loop_(loop), snaps_(snaps) {}
  ~PoolQueues() override { loop_.timers().cancel(this); }

  // Queues a session behind the others of its pool; false (counted as queue full) when
  // the pool's queue is at its bound.
  bool enqueue(Session* s, SnapState& snap, int pool);
  void dequeue(Session* s, SnapState& snap, int pool);
  // A server slot was released: queued sessions get a chance after the batch.
  void slotFreed() {
    if (queued_ > 0) work_ = true;
  }
  // Called after each batch of events.
  void afterBatch() {
    if (work_) serve();
  }

 private:
  void onTimer() override { serve(); }
  // Offers freed slots to queued clients, oldest first, in every pool that has a queue.
  void serve();

  EventLoop& loop_;
  std::vector<std::unique_ptr<SnapState>>& snaps_;
  size_t queued_ = 0;  // sessions queued on this worker
  bool work_ = false;
};

}  // namespace fulcrum::proxy
