// parseServerLine: one "server" line of a backend, parsed by the configuration parser
// itself, for the runtime API's "add server": every keyword, value check and error text
// is the configuration file's. With it, the server ids of a backend (HAProxy's "id").
#pragma once

#include <cstdint>
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
// is refused. The server's idSet says whether "id N" was given; without it, its id is
// meaningless and the caller numbers the server (freeServerId).
Result<model::Server> parseServerLine(std::string_view name, std::string_view addr,
                                      const std::vector<std::string>& params);

// An explicit id of srv ("id N") that a server of others (its backend) already has is an
// error: "keyword 'server': server 'S': parameter 'id': custom id N already used at
// FILE:LINE ('server OTHER')", HAProxy's words. Servers with id 0 are not compared.
Status checkServerId(const model::Server& srv, const std::vector<model::Server>& servers);

// The smallest id from `from` on that no server of servers has (HAProxy's numbering of a
// server without "id").
uint32_t freeServerId(const std::vector<model::Server>& servers, uint32_t from = 1);

}  // namespace fulcrum::config
