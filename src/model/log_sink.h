// LogSink: where connection log lines go (a file, stdout/stderr, a syslog socket). The
// daemon opens the sinks named by "log" lines; workers hand them finished lines. The
// model only knows this interface, never the descriptors behind it.
#pragma once

#include <atomic>
#include <cstdint>
#include <string_view>

namespace fulcrum::model {

class LogSink {
 public:
  virtual ~LogSink() = default;
  // True for syslog sinks: one line per datagram, with a syslog header.
  virtual bool perLine() const = 0;
  // Writes whole lines (each ending in '\n' for stream sinks; one line without it for
  // per-line sinks). Must not block: a sink that cannot take the data drops it and
  // counts the drop.
  virtual void write(std::string_view data) = 0;
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  // Lines dropped by every sink of the process so far (the metrics' log_dropped_total).
  static uint64_t droppedTotal() { return total().load(std::memory_order_relaxed); }

 protected:
  void countDropped(uint64_t lines) {
    dropped_.fetch_add(lines, std::memory_order_relaxed);
    total().fetch_add(lines, std::memory_order_relaxed);
  }
  std::atomic<uint64_t> dropped_{0};

 private:
  static std::atomic<uint64_t>& total() {
    static std::atomic<uint64_t> t{0};
    return t;
  }
};

}  // namespace fulcrum::model
