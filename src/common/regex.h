// The one regular expression type for patterns written by users (tcp-check's rstring and
// rbinary today). It wraps RE2: matching takes time linear in the input and memory bounded
// by the pattern, whatever the pattern and whatever a server answers. std::regex was
// dropped for that reason: its backtracking matcher is exponential on patterns such as
// "(|a|){700}", recursive (a long answer can exhaust the stack) and its compiler overflows
// on huge counts (all found by fuzz/expect). The syntax is RE2's (PCRE-like, without
// back-references or look-around); bytes are Latin-1, so any byte matches itself.
#pragma once

#include <memory>
#include <string_view>

#include "common/result.h"

namespace re2 {
class RE2;
}

namespace fulcrum {

class Regex {
 public:
  // The error reads "invalid regex '<pattern>': <why>".
  static Result<Regex> compile(std::string_view pattern);

  // True if the pattern matches anywhere in `text` (a search, as "expect rstring" does).
  bool search(std::string_view text) const;

 private:
  explicit Regex(std::shared_ptr<const re2::RE2> re) : re_(std::move(re)) {}
  std::shared_ptr<const re2::RE2> re_;  // immutable, shared by copies
};

}  // namespace fulcrum
