// Loading the server state file at start ("load-server-state-from-file global|local"):
// HAProxy's "show servers state" format, version 1, as Fulcrum and HAProxy write it.
// Servers are matched by backend name and server name (as HAProxy 2.6 does); what is
// taken: the administrative requests (MAINT, DRAIN), a DOWN operational state (for servers
// with health checks), the user weight (when the configured weight did not change) and
// the address and port (as a runtime "set server addr").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/net.h"
#include "health/server_health.h"
#include "model/model.h"

namespace fulcrum::daemon {

// One server line of the file.
struct ServerStateLine {
  uint32_t line = 0;  // in the file
  std::string backend, server;
  std::string addr;         // srv_addr
  int opState = 2;          // srv_op_state: 0 stopped, 1 starting, 2 running, 3 stopping
  uint32_t adminState = 0;  // srv_admin_state bits
  uint32_t userWeight = 0;  // srv_uweight
  uint32_t initWeight = 0;  // srv_iweight
  uint16_t port = 0;        // srv_port
};

struct ServerStateFile {
  std::vector<ServerStateLine> servers;
  std::vector<std::string> warnings;  // "FILE:LINE: ..." for each line not taken
};

// Parses the text of a state file named `file` (for the messages). Pure.
ServerStateFile parseServerState(std::string_view text, std::string_view file);

// What one server takes from the file.
struct ServerStateAction {
  int pool = -1, server = -1;
  std::optional<health::AdminRequest> admin;  // kMaint or kDrain
  bool down = false;                          // starts DOWN (health counter at 0)
  std::optional<uint32_t> userWeight;
  std::optional<SockAddr> addr;  // differs from the configuration
};

struct ServerStatePlan {
  std::vector<ServerStateAction> actions;
  std::vector<std::string> notices;   // unknown backends or servers, missing files
  std::vector<std::string> warnings;  // malformed lines, unreadable files
};

// The file a pool loads its state from; empty when it loads none.
std::string serverStateFileOf(const model::Config& cfg, const model::Pool& pool);

// Matches the lines of `file` (already parsed, read from `path`) with the servers of the
// pools of `cfg` that load from `path`. Pure.
void matchServerState(const model::Config& cfg, const std::string& path,
                      const ServerStateFile& file, ServerStatePlan& plan);

// Reads and matches every file the pools of `cfg` ask for.
ServerStatePlan loadServerState(const model::Config& cfg);

}  // namespace fulcrum::daemon
