// Fuzzes tcp-check expect matching. Input: one flags byte (match kind, negation), the
// pattern up to the first NUL byte (at most 64 bytes, as an operator writes it), then
// the server's response. Every compiled rule is evaluated on the response, as a partial
// and as a final read (regexes too: RE2 matches in linear time). Also checks that
// decodeHex(encodeHex(x))
// == x.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "health/expect.h"

using fulcrum::health::Expectation;
using fulcrum::model::TcpCheckRule;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t flags = data[0];
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  size_t nul = rest.find('\0');
  std::string_view pattern = rest.substr(0, nul);
  std::string_view response = nul == std::string_view::npos ? "" : rest.substr(nul + 1);
  if (pattern.size() > 64) return -1;  // not added to the corpus
  auto hex = fulcrum::health::encodeHex(response);
  auto back = fulcrum::health::decodeHex(hex);
  if (!back || *back != response) abort();
  (void)fulcrum::health::decodeHex(pattern);

  TcpCheckRule rule;
  rule.kind = TcpCheckRule::Kind::kExpect;
  rule.match = static_cast<TcpCheckRule::Match>(flags & 3);
  rule.negate = (flags & 4) != 0;
  rule.data = std::string(pattern);
  auto e = Expectation::compile(rule);
  if (!e) return 0;
  (void)(*e)->describe();
  auto partial = (*e)->evaluate(response, false);
  auto final = (*e)->evaluate(response, true);
  if (final == Expectation::Verdict::kNeedMore) abort();  // a final read decides
  if (partial != Expectation::Verdict::kNeedMore && partial != final) abort();
  return 0;
}
