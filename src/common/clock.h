// Monotonic time in microseconds: the one time type of timers and timeouts.
#pragma once

#include <time.h>

#include <cstdint>

namespace fulcrum {

using Micros = int64_t;  // a duration or a monotonic instant, in microseconds

constexpr Micros kMillis = 1000;
constexpr Micros kSeconds = 1000 * kMillis;

inline Micros monotonicNow() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<Micros>(ts.tv_sec) * kSeconds + ts.tv_nsec / 1000;
}

// Wall-clock time in microseconds since the epoch (for logs only).
inline Micros wallNow() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<Micros>(ts.tv_sec) * kSeconds + ts.tv_nsec / 1000;
}

}  // namespace fulcrum
