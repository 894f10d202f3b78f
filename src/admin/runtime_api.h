// RuntimeApi: HAProxy's runtime API commands ("show stat", "set server ...") over the
// Control interface. Pure request in, text out: the socket server (api_server.h) feeds it
// lines, unit tests feed it strings. See docs/operations.md for the commands.
#pragma once

#include <string>
#include <string_view>

#include "admin/control.h"
#include "admin/stats_view.h"
#include "model/model.h"

namespace fulcrum::admin {

class RuntimeApi {
 public:
  // `rates` may be null (no rate figures).
  RuntimeApi(Control& control, const RateTracker* rates) : control_(control), rates_(rates) {}

  // Runs one request line: one or more commands separated by ';'. Returns the response
  // text, HAProxy's way: each command's output, and an empty line after the whole
  // response. An unknown or malformed command, or one above `level`, gets an error text
  // and changes nothing. Sets *interactive when the line was "prompt" (toggles it) and
  // *quit when it was "quit".
  std::string execute(std::string_view line, model::ApiLevel level, bool* interactive = nullptr,
                      bool* quit = nullptr);

 private:
  Control& control_;
  const RateTracker* rates_;
};

}  // namespace fulcrum::admin
