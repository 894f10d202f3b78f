#include "common/regex.h"

#include <fmt/core.h>
#include <re2/re2.h>

namespace fulcrum {

// A compiled program larger than this is refused (RE2's default is 8 MiB; a health check
// pattern needs far less).
static constexpr int64_t kMaxRegexMemory = 1 << 20;

Result<Regex> Regex::compile(std::string_view pattern) {
  RE2::Options options;
  options.set_encoding(RE2::Options::EncodingLatin1);
  options.set_log_errors(false);
  options.set_never_capture(true);
  options.set_max_mem(kMaxRegexMemory);
  auto re = std::make_shared<const RE2>(re2::StringPiece(pattern.data(), pattern.size()), options);
  if (!re->ok()) return Error{fmt::format("invalid regex '{}': {}", pattern, re->error())};
  return Regex(std::move(re));
}

bool Regex::search(std::string_view text) const {
  return RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), *re_);
}

}  // namespace fulcrum
