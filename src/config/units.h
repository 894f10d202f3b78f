// Value parsers shared by the config keywords: strict integers, HAProxy time values and
// HAProxy size values. Messages describe the value only; callers add the keyword.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/clock.h"
#include "common/result.h"

namespace fulcrum::config {

// A decimal integer in [min, max]: digits only, no sign, no spaces, no trailing junk.
Result<uint64_t> parseUint(std::string_view text, uint64_t min, uint64_t max);

// The largest time HAProxy accepts for a timer: 2147483647 ms (about 24.8 days).
constexpr Micros kMaxTime = int64_t{2147483647} * kMillis;

// A time value as in HAProxy: an integer followed by an optional unit among
// us, ms, s, m, h, d. A bare number is in defaultUnit (milliseconds for timeouts).
// Values above kMaxTime are errors.
Result<Micros> parseTime(std::string_view text, Micros defaultUnit = kMillis);

// A size as in HAProxy: an integer followed by an optional k, m or g (case-insensitive,
// 1024-based). A bare number is in bytes.
Result<uint64_t> parseSize(std::string_view text);

}  // namespace fulcrum::config
