// The config layer: HAProxy-syntax files in, a model::Config out, with diagnostics that
// name the file, the line, the section and the keyword.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "model/model.h"

namespace fulcrum::config {

struct Diagnostic {
  enum class Severity { kWarning, kError };
  Severity severity = Severity::kError;
  std::string file;
  int line = 0;  // 0 when the message is not about one line
  std::string message;
  // "FILE:LINE: error: MESSAGE" (or "warning:"), one line.
  std::string format() const;
};

struct LoadResult {
  std::shared_ptr<model::Config> config;  // null when there was an error
  std::vector<Diagnostic> diagnostics;    // warnings, and errors when config is null
  bool ok() const { return config != nullptr; }
};

// Environment lookup for "$VAR" expansion; defaults to getenv.
using EnvLookup = std::function<std::optional<std::string>(std::string_view)>;

// Opens a configuration file for reading (a descriptor, or -1 with errno set); defaults to
// open(2). The daemon reads through directories opened before a chroot (openat).
using OpenFile = std::function<int(const std::string& path)>;

// Reads and parses the files in order, as one configuration (like several haproxy -f).
LoadResult loadFiles(const std::vector<std::string>& paths, const EnvLookup& env = {},
                     const OpenFile& openFile = {});
// Parses text as if read from a file of that name (tests, the runtime API).
LoadResult parseText(std::string_view text, std::string_view fileName, const EnvLookup& env = {});

}  // namespace fulcrum::config
