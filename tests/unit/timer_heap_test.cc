#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "common/event_loop.h"

namespace fulcrum {
namespace {

struct RecTimer final : Timer {
  std::vector<int>* fired = nullptr;
  int id = 0;
  void onTimer() override { fired->push_back(id); }
};

TEST(TimerHeap, FiresInDeadlineOrderAndOnlyWhenDue) {
  TimerHeap heap;
  std::vector<int> fired;
  RecTimer t[5];
  const Micros deadlines[5] = {50, 10, 40, 20, 30};
  for (int i = 0; i < 5; ++i) {
    t[i].fired = &fired;
    t[i].id = i;
    heap.arm(&t[i], deadlines[i]);
  }
  EXPECT_EQ(heap.next(), 10);
  heap.runExpired(25);
  EXPECT_EQ(fired, (std::vector<int>{1, 3}));
  EXPECT_FALSE(t[1].armed());
  EXPECT_TRUE(t[0].armed());
  heap.runExpired(100);
  EXPECT_EQ(fired, (std::vector<int>{1, 3, 4, 2, 0}));
  EXPECT_EQ(heap.size(), 0u);
  EXPECT_EQ(heap.next(), -1);
}

TEST(TimerHeap, RearmAndCancelKeepTheHeapOrdered) {
  TimerHeap heap;
  std::vector<int> fired;
  std::vector<RecTimer> t(200);
  std::mt19937 rng(7);
  for (int i = 0; i < 200; ++i) {
    t[i].fired = &fired;
    t[i].id = i;
    heap.arm(&t[i], rng() % 1000);
  }
  for (int i = 0; i < 200; i += 3) heap.cancel(&t[i]);
  for (int i = 1; i < 200; i += 3) heap.arm(&t[i], rng() % 1000);  // move earlier or later
  heap.runExpired(2000);
  EXPECT_EQ(fired.size(), 200u - 67u);
  for (size_t i = 1; i < fired.size(); ++i)
    EXPECT_LE(t[fired[i - 1]].deadline(), t[fired[i]].deadline());
  for (int i = 0; i < 200; i += 3)
    EXPECT_EQ(std::count(fired.begin(), fired.end(), i), 0) << "cancelled timer fired";
}

}  // namespace
}  // namespace fulcrum
