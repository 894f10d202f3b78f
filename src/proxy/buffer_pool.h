// BufferPool: fixed-size relay buffers for one worker thread. A session holds a buffer
// only while bytes are in flight in that direction, so an idle connection holds none.
// Freed buffers are kept for reuse up to a bound, then returned to the allocator.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

namespace fulcrum::proxy {

class BufferPool {
 public:
  BufferPool(size_t bufferSize, size_t maxFree) : size_(bufferSize), maxFree_(maxFree) {
    free_.reserve(maxFree);
  }
  ~BufferPool() {
    for (uint8_t* b : free_) std::free(b);
  }
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  size_t bufferSize() const { return size_; }
  // Never null: allocation failure of a small block is fatal anyway.
  uint8_t* get() {
    ++inUse_;
    if (!free_.empty()) {
      uint8_t* b = free_.back();
      free_.pop_back();
      return b;
    }
    return static_cast<uint8_t*>(std::malloc(size_));
  }
  void put(uint8_t* b) {
    --inUse_;
    if (free_.size() < maxFree_)
      free_.push_back(b);
    else
      std::free(b);
  }
  size_t inUse() const { return inUse_; }

 private:
  size_t size_;
  size_t maxFree_;
  size_t inUse_ = 0;
  std::vector<uint8_t*> free_;
};

}  // namespace fulcrum::proxy
