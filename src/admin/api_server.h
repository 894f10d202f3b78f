// ApiServer: a "stats socket" (UNIX stream socket) serving the runtime API on the control
// thread's event loop. As with HAProxy: a client sends a line, gets the response and the
// connection closes, unless the client entered interactive mode with "prompt". Clients are
// bounded (stats maxconn), idle ones are closed (stats timeout), and a request line is
// bounded in size; one bad client never affects another.
#pragma once

#include <memory>
#include <vector>

#include "admin/runtime_api.h"
#include "common/event_loop.h"
#include "common/fd.h"
#include "model/model.h"

namespace fulcrum::admin {

class ApiServer {
 public:
  ApiServer(EventLoop& loop, RuntimeApi& api, model::StatsSocket socket, Micros idleTimeout,
            uint32_t maxClients);
  ~ApiServer();  // closes the clients, the socket, and unlinks its path
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Binds the path (replacing a stale socket file left by a dead process, refusing to
  // replace anything else), applies the mode, and starts accepting.
  Status open();
  const model::StatsSocket& socket() const { return socket_; }

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
  model::StatsSocket socket_;
};

}  // namespace fulcrum::admin
