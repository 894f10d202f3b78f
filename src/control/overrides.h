// RuntimeOverrides: the operator's changes made at run time (runtime API, fulcrumctl), kept
// apart from the configuration files. The config in force is always "the files' config
// with the overrides applied" (apply()), so a reload applies them again to what the files
// now say:
//   - set server addr, set maxconn server, set maxconn frontend: kept until the files
//     change that very setting of that object (the file wins then);
//   - add server: a dynamic server, kept until the files declare a server of that name in
//     that backend (the file's then takes its place, and its state by name);
//   - del server of a server the files declare: kept until the files change its address;
//   - add service (ipvsadm -A): a packet service on one VIP, with a backend of the same
//     name ("tcp:VIP:PORT") that add server fills; kept until the files declare a section
//     of that name or bind that VIP (the file wins), or del service removes it.
// Weights, states and check switches are server state, not overrides: the health monitor
// keeps them by name (see health/server_health.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/net.h"
#include "common/result.h"
#include "model/model.h"

namespace fulcrum::control {

class RuntimeOverrides {
 public:
  // Each records a change against `inForce` (the config in force, whose pool and server
  // indices are given) and `file` (what the files say).
  void setServerAddr(const model::Config& inForce, const model::Config& file, int pool, int server,
                     const SockAddr& addr);
  void setServerMaxconn(const model::Config& inForce, const model::Config& file, int pool,
                        int server, uint32_t maxconn);
  void setFrontendMaxconn(const model::Config& inForce, const model::Config& file, int service,
                          uint32_t maxconn);
  // `server` is complete (parsed, dynamic, with its id).
  void addServer(const model::Config& inForce, int pool, model::Server server);
  void delServer(const model::Config& inForce, const model::Config& file, int pool, int server);

  // A runtime packet service: frontend and backend named serviceName(proto, vip).
  static std::string serviceName(model::Protocol proto, const SockAddr& vip);
  // Fails when the name or the VIP is taken in `inForce`.
  Status addService(const model::Config& inForce, model::Protocol proto, const SockAddr& vip,
                    const model::Balance& balance);
  // Fails unless `name` is a runtime service.
  Status setServiceBalance(std::string_view name, const model::Balance& balance);
  // Fails unless `name` is a runtime service; its servers go with it.
  Status delService(std::string_view name);
  bool isRuntimeService(std::string_view name) const;

  // The config in force for `file`. Overrides that the files superseded are dropped
  // (logged), so the next reload does not meet them again.
  model::Config apply(const model::Config& file);

  bool empty() const {
    return addrs_.empty() && serverMaxconns_.empty() && frontendMaxconns_.empty() &&
           added_.empty() && deleted_.empty() && services_.empty();
  }

 private:
  struct ServerAddr {
    std::string pool, server;
    SockAddr addr;
    SockAddr fileAddr;  // the files' address when the override was made
  };
  struct ServerMaxconn {
    std::string pool, server;
    uint32_t maxconn = 0;
    uint32_t fileValue = 0;
  };
  struct FrontendMaxconn {
    std::string frontend;
    uint32_t maxconn = 0;
    uint32_t fileValue = 0;
  };
  struct Added {
    std::string pool;
    model::Server server;
  };
  struct Deleted {
    std::string pool, server;
    SockAddr fileAddr;
  };
  struct AddedService {
    std::string name;
    model::Protocol proto = model::Protocol::kTcp;
    SockAddr vip;
    model::Balance balance;
  };
  Added* findAdded(std::string_view pool, std::string_view server);

  std::vector<ServerAddr> addrs_;
  std::vector<ServerMaxconn> serverMaxconns_;
  std::vector<FrontendMaxconn> frontendMaxconns_;
  std::vector<Added> added_;  // in the order they were added
  std::vector<Deleted> deleted_;
  std::vector<AddedService> services_;  // in the order they were added
};

}  // namespace fulcrum::control
