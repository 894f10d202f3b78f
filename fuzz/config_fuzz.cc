// Fuzzes the config language: the tokenizer (quoting, escapes, ${VAR} expansion) line by
// line, then the whole parser (sections, keywords, the final checks) on the same text.
// Environment variables come from a fixed table, not the process environment.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.h"
#include "config/tokenizer.h"

namespace {

std::optional<std::string> fakeEnv(std::string_view name) {
  if (name == "PORT") return "8080";
  if (name == "ADDR") return "127.0.0.1";
  if (name == "EMPTY") return "";
  if (name == "SPACED") return "a b\tc";
  return std::nullopt;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  const fulcrum::config::EnvLookup env = fakeEnv;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    (void)fulcrum::config::tokenizeLine(text.substr(start, end - start), env);
    start = end + 1;
  }
  auto r = fulcrum::config::parseText(text, "fuzz.cfg", env);
  for (const auto& d : r.diagnostics) (void)d.format();
  return 0;
}
