// EventLoop: one per thread (each worker, and the control thread). epoll for readiness, an
// intrusive binary heap for timers, an eventfd for wake-ups from other threads. Handlers are
// registered once per fd; sessions use edge-triggered registration so that no epoll_ctl is needed
// while data flows, listeners use level-triggered registration so they can be paused.
#pragma once

#include <sys/epoll.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <limits>
#include <vector>

#include "common/clock.h"
#include "common/fd.h"
#include "common/result.h"

namespace fulcrum {

class IoHandler {
 public:
  virtual void onIo(uint32_t events) = 0;

  virtual ~IoHandler() = default;
};

class Timer {
 public:
  virtual ~Timer() = default;
  virtual void onTimer() = 0;
  bool armed() const { return heapIndex_ != kNotArmed; }
  Micros deadline() const { return deadline_; }

 private:
  friend class TimerHeap;
  static constexpr size_t kNotArmed = std::numeric_limits<size_t>::max();
  Micros deadline_ = 0;
  size_t heapIndex_ = kNotArmed;
};

// A min-heap of timers by deadline; each timer knows its index, so re-arming and
// cancelling are O(log n) and a destroyed timer can remove itself.
class TimerHeap {
 public:
  void arm(Timer* t, Micros deadline);
  void cancel(Timer* t);
  // Deadline of the earliest timer, or -1 when none is armed.
  Micros next() const { return heap_.empty() ? -1 : heap_.front()->deadline_; }
  // Fires every timer due at `now`. A callback may arm or cancel timers.
  void runExpired(Micros now);
  size_t size() const { return heap_.size(); }

 private:
  void siftUp(size_t i);
  void siftDown(size_t i);
  void place(size_t i, Timer* t);
  std::vector<Timer*> heap_;
};

class EventLoop {
 public:
  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  Status init();

  // Registers fd for events (EPOLLIN, EPOLLOUT, EPOLLET...). The handler must stay
  // valid until remove() and the end of the current dispatch round (see defer()).
  Status add(int fd, uint32_t events, IoHandler* h);
  Status modify(int fd, uint32_t events, IoHandler* h);
  void remove(int fd);

  TimerHeap& timers() { return timers_; }
  // The loop's idea of now, refreshed after every wait: cheap to read on the data path.
  Micros now() const { return now_; }
  void refreshNow() { now_ = monotonicNow(); }

  // Runs after each batch of events and timers has been dispatched: the place to free
  // objects that later events of the same batch may still point at.
  void setAfterBatch(std::function<void()> fn) { afterBatch_ = std::move(fn); }

  // Called on the loop thread after wake() from any thread.
  void setWakeHandler(std::function<void()> fn) { onWake_ = std::move(fn); }
  void wake();  // thread-safe

  // Runs until stop(); one iteration waits at most until the next timer.
  void run();
  void runOnce(int maxWaitMs);
  void stop() { stopping_ = true; }
  bool stopping() const { return stopping_; }

 private:
  class WakeHandler : public IoHandler {
   public:
    explicit WakeHandler(EventLoop* loop) : loop_(loop) {}
    void onIo(uint32_t events) override;

   private:
    EventLoop* loop_;
  };

  UniqueFd epoll_;
  UniqueFd wakeFd_;
  WakeHandler wakeHandler_{this};
  TimerHeap timers_;
  Micros now_ = 0;
  bool stopping_ = false;
  std::vector<epoll_event> events_;
  std::function<void()> afterBatch_;
  std::function<void()> onWake_;
};

}  // namespace fulcrum
