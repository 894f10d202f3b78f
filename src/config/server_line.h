// parseServerLine: one "server" line of a backend, parsed by the configuration parser
// itself, for the runtime API's "add server": every keyword, value check and error text
// is the configuration file's.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "model/model.h"

namespace fulcrum::config {

// Parses "server NAME ADDR PARAMS..." as if written in a backend of its own (so without
// the backend's default-server settings, as HAProxy does for dynamic servers). The error
// is the parser's message without the file and line prefix. Each word is taken as it is
// (no quoting, no environment expansion); a word holding a quote or a control character
// is refused.
Result<model::Server> parseServerLine(std::string_view name, std::string_view addr,
                                      const std::vector<std::string>& params);

}  // namespace fulcrum::config
