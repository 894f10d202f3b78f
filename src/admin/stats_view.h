// StatsView: the figures of every frontend, backend and server in one flat list, read
// from the current snapshot, its counters and the health monitor. One source for the
// runtime API ("show stat" CSV and JSON), the Prometheus metrics and the stats page, so
// that they never disagree.
//
// Rates and maxima are not kept by the data path: RateTracker samples the totals once a
// second on the control thread and remembers the largest values seen (so "max" figures
// are per-second samples, not exact peaks). Objects are matched by name, so a reload
// keeps their history.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "admin/control.h"
#include "common/clock.h"
#include "model/stats.h"

namespace fulcrum::admin {

// HAProxy's "type" column: 0 frontend, 1 backend, 2 server.
enum class RowType : uint8_t { kFrontend = 0, kBackend = 1, kServer = 2 };

struct StatRow {
  // Connections accepted (frontend) or established (backend, server): stot.
  uint64_t total() const { return type == RowType::kFrontend ? fe.accepted : srv.connections; }

  RowType type = RowType::kFrontend;
  int service = -1;       // index in the snapshot's config (frontend rows)
  int pool = -1;          // backend and server rows
  int server = -1;        // server rows
  std::string proxy;      // pxname
  std::string name;       // svname: "FRONTEND", "BACKEND" or the server's name
  uint32_t proxyId = 0;   // iid
  uint32_t serverId = 0;  // sid (server rows)

  // Counters (model/stats.h): a frontend row fills `fe`, a server row `srv`, a backend
  // row `be` and, in `srv`, the sums over its servers of what HAProxy sums there.
  model::FrontendCounters fe;
  model::BackendCounters be;
  model::ServerCounters srv;

  int64_t current = 0;       // scur: connections open now
  int64_t max = 0;           // smax (sampled)
  uint32_t limit = 0;        // slim; 0: none
  int64_t queueCurrent = 0;  // qcur: backend (the pool's queue)
  int64_t queueMax = 0;      // qmax (sampled)
  uint32_t queueLimit = 0;   // qlimit: server maxqueue; 0: none
  double rate = 0;           // new connections per second, last second
  double rateMax = 0;        // rate_max (sampled)
  uint32_t rateLimit = 0;    // rate_lim: frontend rate-limit sessions

  // State. Frontend: "OPEN" (or "STOP" while stopping); backend: "UP" when a server is
  // usable, else "DOWN"; server: "UP", "DOWN", "DRAIN", "MAINT", with " a/b" while the
  // health counter moves ("UP 1/3", "DOWN 1/2"), "no check" when nothing checks it.
  std::string status;
  model::ServerState state = model::ServerState::kUp;  // server rows
  uint32_t weight = 0;         // server: effective weight; backend: sum over usable servers
  uint32_t userWeight = 0;     // server: configured weight (runtime changes included)
  bool backup = false;         // server
  uint32_t activeServers = 0;  // act: backend, usable non-backup servers; server: 1 or 0
  uint32_t backupServers = 0;  // bck
  uint64_t checkFailures = 0;  // chkfail: failed checks while the server was up (HAProxy's)
  uint64_t checkDowns = 0;     // chkdown: transitions to DOWN
  Micros sinceChange = -1;     // lastchg: time in the current state; -1: unknown
  Micros downtime = -1;        // downtime: time DOWN or in MAINT since start; -1: unknown
  bool checked = false;        // server has an active check or agent
  std::string checkStatus;     // HAProxy's short code: "L4OK", "L4CON", "L4TOUT", "L7OK",
                               // "L7RSP", "L7STS", "SOCKERR", "INI", ... empty: none
  std::string checkDesc;       // the check's detail in words
  Micros checkDuration = -1;   // -1: none
  std::string agentStatus;     // same codes for the agent; empty: none
  std::string checkDetail;     // last_chk: the last check's detail ("Connection refused")
  int64_t checkHealth = -1;    // check_health: the health counter; -1: not checked
  uint32_t checkRise = 0;      // check_rise, check_fall: 0 when not checked
  uint32_t checkFall = 0;
  std::string agentDesc;  // agent_desc: summary of the agent's last reply
  std::string addr;       // server "IP:PORT"
  std::string algo;       // backend: balance algorithm
  std::string mode = "tcp";

  // Connect times of established connections (server; backend: sum of its servers).
  std::array<uint64_t, model::kConnectTimeBuckets> connectTimeBuckets{};
  uint64_t connectTimeSumUs = 0;
};

class RateTracker {
 public:
  // Samples the totals of the snapshot's objects; call once a second (control thread).
  void sample(const model::Snapshot& snap, Micros now);
  // Fills rate, rateMax, max and queueMax of a row from the samples (by name).
  void apply(StatRow& row) const;

 private:
  struct Entry {
    uint64_t lastTotal = 0;
    Micros lastAt = -1;
    double rate = 0;
    double rateMax = 0;
    int64_t max = 0;
    int64_t queueMax = 0;
  };
  std::map<std::string, Entry> entries_;  // key: type + proxy + "/" + name
};

// HAProxy's short code of a check status ("L4OK", "L4CON", "INI" for never checked...).
const char* checkCode(health::CheckStatus s);

// Every frontend, then every backend followed by its servers, in config order (HAProxy's
// "show stat" order is per proxy; see the CSV writer). `rates` may be null.
std::vector<StatRow> collectStats(const Control& control, const RateTracker* rates);

}  // namespace fulcrum::admin
