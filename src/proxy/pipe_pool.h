// PipePool: kernel pipes for zero-copy relaying with splice(2), per worker thread. Like
// buffers, a pipe is held by a direction only while bytes sit in it; the number of
// pipes in use is bounded (each costs two descriptors), and a direction that finds the
// pool exhausted relays by copy instead.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <vector>

namespace fulcrum::proxy {

struct Pipe {
  int r = -1;
  int w = -1;
};

class PipePool {
 public:
  static constexpr size_t kPipeSize = 256 * 1024;
  explicit PipePool(size_t maxPipes) : max_(maxPipes) {}
  ~PipePool() {
    for (Pipe& p : free_) closePipe(p);
  }
  PipePool(const PipePool&) = delete;
  PipePool& operator=(const PipePool&) = delete;

  // False when the bound is reached or pipe2 fails (out of descriptors): copy instead.
  bool get(Pipe& out) {
    if (!free_.empty()) {
      out = free_.back();
      free_.pop_back();
      ++inUse_;
      return true;
    }
    if (inUse_ >= max_) {
      ++exhausted_;
      return false;
    }
    int fds[2];
    if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
      ++exhausted_;
      return false;
    }
    // A larger pipe moves more per splice() pair: fewer syscalls per byte. Pages are
    // only held while bytes sit in the pipe. Failure leaves the default size.
    fcntl(fds[0], F_SETPIPE_SZ, static_cast<int>(kPipeSize));
    out = Pipe{fds[0], fds[1]};
    ++inUse_;
    return true;
  }
  // An empty pipe goes back to the pool; one that still holds bytes is closed.
  void put(Pipe& p, bool empty) {
    --inUse_;
    if (empty && free_.size() < kMaxFree)
      free_.push_back(p);
    else
      closePipe(p);
    p = Pipe{};
  }
  size_t inUse() const { return inUse_; }
  size_t capacity() const { return max_; }
  size_t exhausted() const { return exhausted_; }

 private:
  static constexpr size_t kMaxFree = 64;
  static void closePipe(Pipe& p) {
    ::close(p.r);
    ::close(p.w);
  }
  size_t max_;
  size_t inUse_ = 0;
  size_t exhausted_ = 0;
  std::vector<Pipe> free_;
};

}  // namespace fulcrum::proxy
