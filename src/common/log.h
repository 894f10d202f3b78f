// Logging: one line per call, written with a single write(2) so that lines from
// several threads never interleave. Formatting uses fmt.
#pragma once

#include <fmt/core.h>

#include <string_view>

namespace fulcrum::log {

enum class Level { kDebug = 0, kInfo = 1, kNotice = 2, kWarning = 3, kError = 4 };

void setLevel(Level level);
Level level();
// Guard for log calls whose arguments cost something to compute (addresses to text).
inline bool enabled(Level l) { return level() <= l; }
// Where log lines go (default: stderr).
void setFd(int fd);
void write(Level level, std::string_view text);

template <typename... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
  if (level() <= Level::kDebug) write(Level::kDebug, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
  if (level() <= Level::kInfo) write(Level::kInfo, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void notice(fmt::format_string<Args...> f, Args&&... args) {
  if (level() <= Level::kNotice) write(Level::kNotice, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void warning(fmt::format_string<Args...> f, Args&&... args) {
  if (level() <= Level::kWarning)
    write(Level::kWarning, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void error(fmt::format_string<Args...> f, Args&&... args) {
  write(Level::kError, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace fulcrum::log
