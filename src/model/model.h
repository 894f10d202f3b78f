// The model: services, pools and servers as plain data. Built by the config layer,
// read by the data planes through immutable snapshots (snapshot.h). Nothing here knows
// of sockets, event loops or BPF maps, so the proxy data plane, the UDP data plane and
// the XDP data plane all consume the same structures.
//
// Vocabulary: a Service is what HAProxy calls a frontend (or the front half of a
// listen section): where clients arrive. A Pool is a backend: a set of servers and the
// rule that picks one. A listen section makes one Service and one Pool.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/net.h"

namespace fulcrum::model {

// Where a config object came from, for messages.
struct SourceLoc {
  std::string file;
  int line = 0;
};

enum class Protocol : uint8_t { kTcp, kUdp };

// How a service's traffic is carried: terminated by the userspace proxy, or forwarded
// packet by packet by the XDP data plane (later roadmap item).
enum class Forwarding : uint8_t { kProxy, kPacket };

enum class BalanceAlgo : uint8_t {
  kRoundRobin,  // smooth weighted round robin, dynamic weights
  kStaticRr,
  kLeastConn,
  kFirst,
  kSource,
  kRandom,
  kMaglev,
};

enum class HashType : uint8_t { kMapBased, kConsistent };

struct Balance {
  BalanceAlgo algo = BalanceAlgo::kRoundRobin;
  HashType hashType = HashType::kMapBased;
  uint32_t randomDraws = 2;  // random(N)
};

// A timeout; 0 means "none" (HAProxy's eternity).
using Timeout = Micros;

// Active health check parameters (health issue). Kept here so the model does not
// change shape when checks land.
struct CheckParams {
  bool enabled = false;
  Timeout inter = 2 * kSeconds;
  Timeout fastinter = 0;  // 0: same as inter
  Timeout downinter = 0;  // 0: same as inter
  uint32_t rise = 2;
  uint32_t fall = 3;
  uint16_t port = 0;          // 0: the server's port
  std::optional<SockAddr> addr;
};

struct Server {
  std::string name;
  std::string addrText;  // as written, for messages and the runtime API
  SockAddr addr;
  uint32_t weight = 1;   // 0..256, as in HAProxy
  uint32_t maxconn = 0;  // 0: unlimited
  bool backup = false;
  bool disabled = false;
  CheckParams check;
  SourceLoc loc;
};

struct Pool {
  std::string name;
  Protocol protocol = Protocol::kTcp;
  Balance balance;
  std::vector<Server> servers;
  Timeout connectTimeout = 0;
  Timeout serverTimeout = 0;
  uint32_t retries = 3;  // connection attempts after the first one
  SourceLoc loc;
};

struct Bind {
  std::string text;  // the address as written
  SockAddr addr;
  SourceLoc loc;
};

struct Service {
  std::string name;
  Protocol protocol = Protocol::kTcp;
  Forwarding forwarding = Forwarding::kProxy;
  std::vector<Bind> binds;
  int defaultPool = -1;  // index into Config::pools; -1: none (connections are closed)
  uint32_t maxconn = 0;  // 0: unlimited (bounded by the global maxconn)
  Timeout clientTimeout = 0;
  SourceLoc loc;
};

struct Global {
  uint32_t nbthread = 0;  // 0: one per CPU
  uint32_t maxconn = 0;   // 0: derived from the open-file limit at start
};

struct Config {
  Global global;
  std::vector<Service> services;
  std::vector<Pool> pools;

  // Lookup by name; -1 when absent.
  int findPool(std::string_view name) const;
  int findService(std::string_view name) const;
};

const char* toString(BalanceAlgo a);

}  // namespace fulcrum::model
