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

 protected:
  std::atomic<uint64_t> dropped_{0};
};

}  // namespace fulcrum::model
