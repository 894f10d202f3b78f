// tcp-check expectations, as pure functions: does a response buffer satisfy an
// "expect [!] string|rstring|binary|rbinary PATTERN" rule, or must we read more?
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/regex.h"
#include "common/result.h"
#include "model/model.h"

namespace fulcrum::health {

// Decodes a hex string ("50494e470d0a", either case, even length) into bytes.
Result<std::string> decodeHex(std::string_view hex);
// Encodes bytes as upper-case hex (what rbinary regexes are matched against).
std::string encodeHex(std::string_view bytes);

// Bytes for a message: printable ASCII as is, \r \n and \xNN escaped, at most `max` bytes
// then "...".
std::string printable(std::string_view s, size_t max = 64);

// One expect rule, compiled (the regex once, not per check).
class Expectation {
 public:
  // Fails for an invalid regex or hex pattern.
  static Result<std::shared_ptr<const Expectation>> compile(const model::TcpCheckRule& rule);

  enum class Verdict : uint8_t { kPass, kFail, kNeedMore };
  // `data` is everything received since the last send; `final` is true when no more can
  // come (the peer closed, or the buffer is full). As HAProxy: a non-matching response
  // waits for more unless final; a match (or, negated, a final non-match) decides.
  Verdict evaluate(std::string_view data, bool final) const;

  // "expect string '+PONG'" style, for messages.
  std::string describe() const;

 private:
  model::TcpCheckRule::Match match_ = model::TcpCheckRule::Match::kString;
  bool negate_ = false;
  std::string literal_;         // string / binary: raw bytes
  std::string source_;          // as written (regex text, or hex for binary)
  std::optional<Regex> regex_;  // rstring / rbinary
};

}  // namespace fulcrum::health
