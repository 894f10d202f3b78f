// SessionInfo: one proxied connection as the runtime API's "show sess" lists it. Filled
// by the data plane that owns the connection, on its own thread, when asked.
#pragma once

#include <cstdint>
#include <string>

#include "common/clock.h"
#include "common/net.h"

namespace fulcrum::model {

struct SessionInfo {
  uint64_t id = 0;         // unique in the process while the session lives
  int worker = -1;         // the thread that owns it
  SockAddr client;         // the client's address (as a PROXY header announced it, if any)
  SockAddr local;          // the address the client connected to
  std::string frontend;    // service name
  std::string backend;     // pool name; empty: none chosen
  std::string server;      // server name; empty: not connected yet
  const char* state = "";  // "header", "queued", "connecting", "relaying"; UDP: "flow"
  bool udp = false;        // a UDP flow (src/proxy/udp.h)
  Micros age = 0;          // since accept
  Micros idle = 0;         // since the last byte moved either way
  uint64_t bytesIn = 0;    // client to server
  uint64_t bytesOut = 0;   // server to client
};

}  // namespace fulcrum::model
