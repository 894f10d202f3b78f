// Helpers shared by the config unit tests: parse a text as "test.cfg" and look at the
// diagnostics.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace fulcrum::config::testutil {

using Severity = Diagnostic::Severity;

inline LoadResult parse(std::string_view text, const EnvLookup& env = {}) {
  return parseText(text, "test.cfg", env);
}

inline std::string dump(const LoadResult& r) {
  std::string out;
  for (const auto& d : r.diagnostics) out += d.format() + "\n";
  return out;
}

inline std::vector<std::string> formatted(const LoadResult& r, Severity severity) {
  std::vector<std::string> out;
  for (const auto& d : r.diagnostics)
    if (d.severity == severity) out.push_back(d.format());
  return out;
}

// Parses text that must load; returns the config.
inline std::shared_ptr<model::Config> load(std::string_view text, const EnvLookup& env = {}) {
  auto r = parse(text, env);
  EXPECT_TRUE(r.ok()) << dump(r);
  EXPECT_TRUE(formatted(r, Severity::kError).empty()) << dump(r);
  return r.config;
}

// Parses text that must fail with exactly one error; returns its formatted text.
inline std::string onlyError(std::string_view text) {
  auto r = parse(text);
  EXPECT_FALSE(r.ok()) << text;
  EXPECT_EQ(r.config, nullptr);
  auto errors = formatted(r, Severity::kError);
  EXPECT_EQ(errors.size(), 1u) << dump(r);
  return errors.empty() ? std::string() : errors[0];
}

}  // namespace fulcrum::config::testutil
