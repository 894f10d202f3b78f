#include "common/log.h"

#include <unistd.h>

#include <atomic>
#include <ctime>
#include <string>

#include "common/clock.h"

namespace fulcrum::log {
namespace {
std::atomic<Level> gLevel{Level::kInfo};
std::atomic<int> gFd{2};

const char* levelName(Level l) {
  switch (l) {
    case Level::kDebug: return "DEBUG";
    case Level::kInfo: return "INFO";
    case Level::kNotice: return "NOTICE";
    case Level::kWarning: return "WARNING";
    case Level::kError: return "ALERT";
  }
  return "?";
}
}  // namespace

void setLevel(Level l) { gLevel.store(l, std::memory_order_relaxed); }
Level level() { return gLevel.load(std::memory_order_relaxed); }
void setFd(int fd) { gFd.store(fd, std::memory_order_relaxed); }

void write(Level l, std::string_view text) {
  Micros now = wallNow();
  time_t secs = static_cast<time_t>(now / kSeconds);
  struct tm tm;
  gmtime_r(&secs, &tm);
  std::string line = fmt::format("[{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z] [{}] {}\n",
                                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                                 tm.tm_min, tm.tm_sec, (now / kMillis) % 1000, levelName(l), text);
  const char* p = line.data();
  size_t left = line.size();
  int fd = gFd.load(std::memory_order_relaxed);
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n <= 0) break;  // nowhere to report a failing log sink
    p += n;
    left -= static_cast<size_t>(n);
  }
}

}  // namespace fulcrum::log
