#include "common/event_loop.h"

#include <fmt/core.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace fulcrum {

// ---- TimerHeap ----

void TimerHeap::place(size_t i, Timer* t) {
  heap_[i] = t;
  t->heapIndex_ = i;
}

void TimerHeap::siftUp(size_t i) {
  Timer* t = heap_[i];
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (heap_[parent]->deadline_ <= t->deadline_) break;
    place(i, heap_[parent]);
    i = parent;
  }
  place(i, t);
}

void TimerHeap::siftDown(size_t i) {
  Timer* t = heap_[i];
  const size_t n = heap_.size();
  for (;;) {
    size_t child = 2 * i + 1;
    if (child >= n) break;
    if (child + 1 < n && heap_[child + 1]->deadline_ < heap_[child]->deadline_) ++child;
    if (heap_[child]->deadline_ >= t->deadline_) break;
    place(i, heap_[child]);
    i = child;
  }
  place(i, t);
}

void TimerHeap::arm(Timer* t, Micros deadline) {
  if (t->armed()) {
    Micros old = t->deadline_;
    t->deadline_ = deadline;
    if (deadline < old)
      siftUp(t->heapIndex_);
    else
      siftDown(t->heapIndex_);
    return;
  }
  t->deadline_ = deadline;
  heap_.push_back(t);
  siftUp(heap_.size() - 1);
}

void TimerHeap::cancel(Timer* t) {
  if (!t->armed()) return;
  size_t i = t->heapIndex_;
  t->heapIndex_ = Timer::kNotArmed;
  Timer* last = heap_.back();
  heap_.pop_back();
  if (last == t) return;
  place(i, last);
  siftUp(i);
  siftDown(last->heapIndex_);
}

void TimerHeap::runExpired(Micros now) {
  while (!heap_.empty() && heap_.front()->deadline_ <= now) {
    Timer* t = heap_.front();
    cancel(t);
    t->onTimer();
  }
}

// ---- EventLoop ----

EventLoop::EventLoop() : events_(256) {}
EventLoop::~EventLoop() = default;

Status EventLoop::init() {
  epoll_.reset(epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_.valid()) return Error{fmt::format("epoll_create1: {}", strerror(errno))};
  wakeFd_.reset(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!wakeFd_.valid()) return Error{fmt::format("eventfd: {}", strerror(errno))};
  now_ = monotonicNow();
  return add(wakeFd_.get(), EPOLLIN, &wakeHandler_);
}

Status EventLoop::add(int fd, uint32_t events, IoHandler* h) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = h;
  if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0)
    return Error{fmt::format("epoll_ctl(ADD): {}", strerror(errno))};
  return Ok{};
}

Status EventLoop::modify(int fd, uint32_t events, IoHandler* h) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = h;
  if (epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &ev) != 0)
    return Error{fmt::format("epoll_ctl(MOD): {}", strerror(errno))};
  return Ok{};
}

void EventLoop::remove(int fd) { epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr); }

void EventLoop::wake() {
  uint64_t one = 1;
  // A full counter already means "wake up"; nothing else can fail here.
  [[maybe_unused]] ssize_t n = ::write(wakeFd_.get(), &one, sizeof(one));
}

void EventLoop::WakeHandler::onIo(uint32_t) {
  uint64_t v;
  while (::read(loop_->wakeFd_.get(), &v, sizeof(v)) > 0) {
  }
  if (loop_->onWake_) loop_->onWake_();
}

void EventLoop::runOnce(int maxWaitMs) {
  int timeout = maxWaitMs;
  Micros next = timers_.next();
  if (next >= 0) {
    Micros delta = next - monotonicNow();
    int ms = delta <= 0 ? 0 : static_cast<int>((delta + kMillis - 1) / kMillis);
    if (timeout < 0 || ms < timeout) timeout = ms;
  }
  int n = epoll_wait(epoll_.get(), events_.data(), static_cast<int>(events_.size()), timeout);
  now_ = monotonicNow();
  for (int i = 0; i < n; ++i) {
    static_cast<IoHandler*>(events_[static_cast<size_t>(i)].data.ptr)
        ->onIo(events_[static_cast<size_t>(i)].events);
  }
  timers_.runExpired(now_);
  if (afterBatch_) afterBatch_();
}

void EventLoop::run() {
  while (!stopping_) runOnce(-1);
}

}  // namespace fulcrum
