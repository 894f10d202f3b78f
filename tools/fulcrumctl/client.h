// fulcrumctl's side of the runtime API socket: one request line, one response read to
// EOF, everything under one deadline.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "common/result.h"

namespace fulcrumctl {

struct Endpoint {
  std::string path;                         // UNIX socket path
  std::chrono::milliseconds timeout{5000};  // whole exchange: connect, send, read
};

// Connects, sends `line` followed by '\n', and reads until the server closes. An error
// (no socket, permission, refused, timeout) is a message naming the path.
fulcrum::Result<std::string> query(const Endpoint& ep, std::string_view line);

}  // namespace fulcrumctl
