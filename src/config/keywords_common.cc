// The helpers shared by the keyword handlers (keywords_internal.h).
#include <fmt/core.h>

#include "config/keywords_internal.h"
#include "config/units.h"

namespace fulcrum::config {

Error keywordError(std::string_view keyword, std::string_view message) {
  return Error{fmt::format("keyword '{}': {}", keyword, message)};
}

// Exactly n arguments after the keyword.
Status expectArgs(const Statement& st, size_t n, std::string_view what) {
  if (st.args.size() < n + 1)
    return Error{fmt::format("keyword '{}' expects {}", st.args[0], what)};
  if (st.args.size() > n + 1)
    return keywordError(st.args[0], fmt::format("unexpected extra argument '{}'", st.args[n + 1]));
  return Ok{};
}

// "keyword N": one integer argument in [min, max].
Result<uint32_t> uintArgument(const Statement& st, uint64_t min, uint64_t max) {
  if (auto s = expectArgs(st, 1, "a number"); !s) return Error{s.error()};
  auto v = parseUint(st.args[1], min, max);
  if (!v) return keywordError(st.args[0], v.error());
  return static_cast<uint32_t>(*v);
}

// A timeout or check interval: HAProxy counts them in milliseconds, so a non-zero value
// under 1 ms is an error, as there.
Result<Micros> timerValue(std::string_view text, bool allowZero) {
  auto t = parseTime(text);
  if (!t) return t;
  if (*t == 0 && !allowZero) return Error{fmt::format("time value '{}' must be positive", text)};
  if (*t > 0 && *t < kMillis) {
    return Error{fmt::format("time value '{}' is below 1 ms, the smallest non-zero timer", text)};
  }
  return t;
}

// The settings of a log line that Fulcrum cannot apply yet are accepted with a warning, so
// that a usual HAProxy line ("log /dev/log local0 notice") loads and says what it ignores.
void warnNotApplied(Parser& p, const Statement& st, const ParsedLog& log) {
  if (log.notApplied.empty()) return;
  std::string list;
  for (size_t i = 0; i < log.notApplied.size(); ++i)
    list += fmt::format("{}'{}'", i ? ", " : "", log.notApplied[i]);
  p.warn(st, fmt::format("keyword 'log': {} {} not applied yet (Fulcrum does not change the "
                         "length or format of log lines, for now)",
                         list, log.notApplied.size() > 1 ? "are" : "is"));
}

}  // namespace fulcrum::config
