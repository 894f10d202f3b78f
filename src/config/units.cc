#include "config/units.h"

#include <fmt/core.h>

#include <charconv>
#include <limits>

namespace fulcrum::config {
namespace {

// Reads the leading decimal digits of text into value; returns how many were read
// (0 when there are none or on overflow, with overflow set).
size_t leadingNumber(std::string_view text, uint64_t& value, bool& overflow) {
  size_t n = 0;
  while (n < text.size() && text[n] >= '0' && text[n] <= '9') ++n;
  overflow = false;
  if (n == 0) return 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + n, value);
  if (ec == std::errc::result_out_of_range) {
    overflow = true;
    return 0;
  }
  return n;
}

}  // namespace

Result<uint64_t> parseUint(std::string_view text, uint64_t min, uint64_t max) {
  uint64_t v = 0;
  bool overflow = false;
  size_t n = leadingNumber(text, v, overflow);
  if (overflow || (n > 0 && n == text.size() && (v < min || v > max)))
    return Error{fmt::format("value '{}' is out of range (expected an integer from {} to {})", text,
                             min, max)};
  if (n == 0 || n != text.size())
    return Error{
        fmt::format("invalid number '{}' (expected an integer from {} to {})", text, min, max)};
  return v;
}

Result<Micros> parseTime(std::string_view text, Micros defaultUnit) {
  uint64_t v = 0;
  bool overflow = false;
  size_t n = leadingNumber(text, v, overflow);
  auto tooLarge = [&] {
    return Error{
        fmt::format("time value '{}' is too large (the maximum is 2147483647 ms, about "
                    "24.8 days)",
                    text)};
  };
  if (overflow) return tooLarge();
  if (n == 0) {
    return Error{fmt::format(
        "invalid time value '{}' (expected an integer with an optional unit: us, ms, s, m, h, d)",
        text)};
  }
  std::string_view unit = text.substr(n);
  Micros mult = 0;
  if (unit.empty()) {
    mult = defaultUnit;
  } else if (unit == "us") {
    mult = 1;
  } else if (unit == "ms") {
    mult = kMillis;
  } else if (unit == "s") {
    mult = kSeconds;
  } else if (unit == "m") {
    mult = 60 * kSeconds;
  } else if (unit == "h") {
    mult = 3600 * kSeconds;
  } else if (unit == "d") {
    mult = 86400 * kSeconds;
  } else {
    return Error{
        fmt::format("invalid time unit '{}' in '{}' (expected us, ms, s, m, h or d)", unit, text)};
  }
  if (v > static_cast<uint64_t>(kMaxTime / mult)) return tooLarge();
  return static_cast<Micros>(v) * mult;
}

Result<uint64_t> parseSize(std::string_view text) {
  uint64_t v = 0;
  bool overflow = false;
  size_t n = leadingNumber(text, v, overflow);
  auto tooLarge = [&] { return Error{fmt::format("size value '{}' is too large", text)}; };
  if (overflow) return tooLarge();
  if (n == 0) {
    return Error{fmt::format(
        "invalid size value '{}' (expected an integer with an optional unit: k, m, g)", text)};
  }
  std::string_view unit = text.substr(n);
  uint64_t mult = 1;
  if (unit.size() > 1) {
    return Error{fmt::format("invalid size unit '{}' in '{}' (expected k, m or g)", unit, text)};
  }
  if (!unit.empty()) {
    switch (unit[0]) {
      case 'k':
      case 'K': mult = uint64_t{1} << 10; break;
      case 'm':
      case 'M': mult = uint64_t{1} << 20; break;
      case 'g':
      case 'G': mult = uint64_t{1} << 30; break;
      default:
        return Error{
            fmt::format("invalid size unit '{}' in '{}' (expected k, m or g)", unit, text)};
    }
  }
  if (v > std::numeric_limits<uint64_t>::max() / mult) return tooLarge();
  return v * mult;
}

}  // namespace fulcrum::config
