// "log TARGET [len N] [format F] FACILITY [LEVEL [MINLEVEL]]" (global and proxy sections).
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "model/model.h"

namespace fulcrum::config {

struct ParsedLog {
  model::LogTarget target;
  // Valid HAProxy settings the model has no field for yet ("len 2048", "format raw",
  // "level notice"): the caller warns that they are not applied.
  std::vector<std::string> notApplied;
};

// args[0] is "log"; args[1] the target. "log global" is the caller's business.
Result<ParsedLog> parseLogLine(const std::vector<std::string>& args);

}  // namespace fulcrum::config
