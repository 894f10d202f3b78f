// PoolLoad: counting across threads, limits, layout.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "sched/load.h"

namespace fulcrum::sched {
namespace {

TEST(SchedPoolLoad, CountsAndLimits) {
  PoolLoad load(3);
  EXPECT_EQ(load.size(), 3u);
  EXPECT_EQ(load.active(0), 0u);
  load.acquire(0);
  load.acquire(0);
  EXPECT_EQ(load.active(0), 2u);
  load.release(0);
  EXPECT_EQ(load.active(0), 1u);
  EXPECT_TRUE(load.tryAcquire(1, 2));
  EXPECT_TRUE(load.tryAcquire(1, 2));
  EXPECT_FALSE(load.tryAcquire(1, 2));
  EXPECT_EQ(load.active(1), 2u);
  EXPECT_TRUE(load.tryAcquire(2, 0));  // 0: no limit
  // Out of range: ignored, reads as idle, refused.
  load.acquire(7);
  load.release(7);
  EXPECT_EQ(load.active(7), 0u);
  EXPECT_FALSE(load.tryAcquire(7, 0));
}

TEST(SchedPoolLoad, ExactAcrossThreads) {
  PoolLoad load(4);
  constexpr int kThreads = 8;
  constexpr int kOps = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&load, t] {
      for (int i = 0; i < kOps; ++i) {
        const size_t s = static_cast<size_t>((i + t) % 4);
        load.acquire(s);
        if (i % 2 == 0) load.release(s);
      }
    });
  for (auto& th : threads) th.join();
  uint32_t total = 0;
  for (size_t s = 0; s < 4; ++s) total += load.active(s);
  EXPECT_EQ(total, static_cast<uint32_t>(kThreads * kOps / 2));
}

TEST(SchedPoolLoad, TryAcquireNeverExceedsTheLimitAcrossThreads) {
  PoolLoad load(1);
  constexpr uint32_t kLimit = 1000;
  std::vector<std::thread> threads;
  std::atomic<uint32_t> granted{0};
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i)
        if (load.tryAcquire(0, kLimit)) granted.fetch_add(1);
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(granted.load(), kLimit);
  EXPECT_EQ(load.active(0), kLimit);
}

}  // namespace
}  // namespace fulcrum::sched
