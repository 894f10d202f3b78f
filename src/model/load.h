// PoolLoad: the number of active connections of each server of a pool, shared by every
// worker thread without a lock.
//
// The control plane creates one PoolLoad per pool (as many slots as the pool has
// servers) and hands the same object to the schedulers of that pool in every worker
// (makeScheduler's `load`). The proxy counts a connection when it starts
// (acquire/tryAcquire) and uncounts it when it ends (release), on the same PoolLoad
// object it counted it on: hold it by shared_ptr in the connection, since a reload may
// give the pool a new PoolLoad while old connections still run. Schedulers only read.
//
// Each counter sits on its own cache line so that workers updating different servers do
// not contend. Counts are relaxed atomics: exact in the end, approximate at any instant
// (two workers may both see a server one below its maxconn); tryAcquire makes the limit
// exact for whoever enforces it.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace fulcrum::model {

class PoolLoad {
 public:
  // One server's count, on its own cache line. A reload shares the slots of the servers
  // that keep their name, so that connections counted before it still count after it.
  struct alignas(64) Slot {
    std::atomic<uint32_t> active{0};
  };

  explicit PoolLoad(size_t servers) {
    slots_.reserve(servers);
    for (size_t i = 0; i < servers; ++i) slots_.push_back(std::make_shared<Slot>());
  }
  // Slots taken over from an earlier PoolLoad (null entries get fresh slots).
  explicit PoolLoad(std::vector<std::shared_ptr<Slot>> slots) : slots_(std::move(slots)) {
    for (auto& s : slots_)
      if (!s) s = std::make_shared<Slot>();
  }
  PoolLoad(const PoolLoad&) = delete;
  PoolLoad& operator=(const PoolLoad&) = delete;

  size_t size() const { return slots_.size(); }
  const std::shared_ptr<Slot>& slot(size_t server) const { return slots_[server]; }

  // Active connections of a server; 0 for an index out of range.
  uint32_t active(size_t server) const {
    return server < slots_.size() ? slots_[server]->active.load(std::memory_order_relaxed) : 0;
  }

  void acquire(size_t server) {
    if (server < slots_.size()) slots_[server]->active.fetch_add(1, std::memory_order_relaxed);
  }

  // Counts a connection unless the server already has `maxconn` (0: no limit).
  bool tryAcquire(size_t server, uint32_t maxconn) {
    if (server >= slots_.size()) return false;
    std::atomic<uint32_t>& a = slots_[server]->active;
    uint32_t cur = a.load(std::memory_order_relaxed);
    do {
      if (maxconn != 0 && cur >= maxconn) return false;
    } while (!a.compare_exchange_weak(cur, cur + 1, std::memory_order_relaxed));
    return true;
  }

  void release(size_t server) {
    if (server < slots_.size()) slots_[server]->active.fetch_sub(1, std::memory_order_relaxed);
  }

 private:
  std::vector<std::shared_ptr<Slot>> slots_;
};

}  // namespace fulcrum::model
