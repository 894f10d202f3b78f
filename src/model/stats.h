// Counters shared by every worker thread and read by the control plane (runtime API,
// metrics). They live outside the immutable snapshot so that they survive a reload for
// objects that keep their name. Relaxed atomics: each counter is exact, a set of them
// read together is not a consistent cut.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace fulcrum::model {

using Counter = std::atomic<uint64_t>;
using Gauge = std::atomic<int64_t>;

struct alignas(64) ServiceStats {
  Gauge active{0};            // current client connections
  Counter accepted{0};        // client connections accepted
  Counter denied{0};          // rejected by tcp-request connection rules
  Counter badProxyHeader{0};  // closed for a missing, malformed or late PROXY header
  Counter rateLimited{0};     // times accepting paused at rate-limit sessions
  Counter deniedMaxconn{0};   // times accepting paused at maxconn
  Counter noServer{0};        // clients closed because no server could take them
  Counter bytesIn{0};         // client to server
  Counter bytesOut{0};        // server to client
  // rate-limit sessions: sessions accepted in the current one-second window.
  std::atomic<int64_t> rateWindow{0};
  std::atomic<uint32_t> rateCount{0};
};

struct alignas(64) PoolStats {
  Gauge active{0};           // current connections to the pool's servers
  Gauge queued{0};           // clients waiting for a server slot
  Counter queueTimeouts{0};  // clients closed at timeout queue
  Counter queueFull{0};      // clients refused because the queue was full
  Counter connectErrors{0};
  Counter retries{0};
  Counter redispatches{0};
};

// Connect-time histogram: upper bounds of the buckets in microseconds; a last bucket
// counts what is above the highest bound. Buckets are not cumulative (Prometheus'
// cumulative "le" buckets are made when rendering).
inline constexpr std::array<int64_t, 14> kConnectTimeBoundsUs = {
    100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 5000000};
inline constexpr size_t kConnectTimeBuckets = kConnectTimeBoundsUs.size() + 1;

struct ConnectTimeHistogram {
  std::array<Counter, kConnectTimeBuckets> buckets{};
  Counter sumUs{0};  // sum of the observed connect times, microseconds
  void observe(int64_t us) {
    size_t i = 0;
    while (i < kConnectTimeBoundsUs.size() && us > kConnectTimeBoundsUs[i]) ++i;
    buckets[i].fetch_add(1, std::memory_order_relaxed);
    sumUs.fetch_add(static_cast<uint64_t>(us < 0 ? 0 : us), std::memory_order_relaxed);
  }
};

struct alignas(64) ServerStats {
  // Current connections: see PoolLoad (load.h), which counts them for the schedulers.
  Counter connections{0};    // connections established
  Counter connectErrors{0};  // failed connection attempts (refused, timeout, error)
  Counter retries{0};        // attempts that moved on to another server after failing here
  Counter bytesIn{0};
  Counter bytesOut{0};
  ConnectTimeHistogram connectTime;  // established connections: connect() to established
  // Health, passive side (observe layer4): failed connection attempts in a row, over all
  // workers; a successful connection resets it, and so does the control plane when it
  // acts on the server's error-limit (see model::observeConnect).
  std::atomic<uint32_t> consecutiveErrors{0};
  // Health, shutdown-sessions: the control plane bumps this to have the workers close the
  // sessions established to this server before the bump (on-marked-down
  // shutdown-sessions, and on-marked-up shutdown-backup-sessions for backups).
  std::atomic<uint32_t> shutdownEpoch{0};
};

struct alignas(64) ProcessStats {
  Gauge active{0};  // current client connections over all services
  Counter accepted{0};
  Counter acceptErrors{0};  // accept() failures other than "nothing to accept"
  Counter fdExhausted{0};   // times accepting paused for EMFILE/ENFILE
  Counter timeouts{0};      // sessions closed by a timeout
  // The global maxconn in force, read by the workers at accept (the runtime API's
  // "set maxconn global" changes it); 0: unlimited.
  std::atomic<uint32_t> maxconn{0};
};

}  // namespace fulcrum::model
