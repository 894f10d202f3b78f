// Counters shared by every worker thread and read by the control plane (runtime API,
// metrics). They live outside the immutable snapshot so that they survive a reload for
// objects that keep their name. Relaxed atomics: each counter is exact, a set of them
// read together is not a consistent cut.
//
// Every counter is declared once, in the lists below. Each list generates
//   - the struct of atomics the data path increments (ServiceStats, PoolStats,
//     ServerStats, ProcessStats),
//   - a struct of plain values read from it (FrontendCounters, ...), which the stats
//     views' rows carry,
//   - and, in admin/, its exports: the "show stat" CSV and typed JSON columns, the
//     Prometheus families and the stats page's cells (admin/stat_csv.cc, metrics.cc).
// X(field, csv, csv2, prom, help):
//   field  the member;
//   csv    HAProxy's "show stat" column it fills ("" when HAProxy has none); csv2 a
//          second column HAProxy fills with the same figure ("" when none);
//   prom   the Prometheus family after "fulcrum_<object>_";
//   help   the family's HELP text.
// Gauges (current connections, queued clients) are members of their struct, read by
// the views directly.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace fulcrum::model {

using Counter = std::atomic<uint64_t>;
using Gauge = std::atomic<int64_t>;

// clang-format off
#define FULCRUM_FRONTEND_COUNTERS(X)                                                          \
  X(accepted, "stot", "conn_tot", "connections_total", "Client connections accepted.")        \
  X(bytesIn, "bin", "", "bytes_in_total", "Bytes received from clients (client to server).")  \
  X(bytesOut, "bout", "", "bytes_out_total", "Bytes sent to clients (server to client).")     \
  X(denied, "dreq", "dcon", "denied_connections_total",                                       \
    "Client connections rejected by tcp-request connection rules.")                           \
  X(badProxyHeader, "ereq", "", "request_errors_total",                                       \
    "Client connections closed for a missing, malformed or late PROXY header.")               \
  X(noServer, "", "", "no_server_total",                                                      \
    "Client connections closed (UDP: datagrams of new flows dropped) because no server "      \
    "could take them.")                                                                        \
  X(maxconnPauses, "", "", "maxconn_pauses_total",                                            \
    "Times accepting paused because the global, frontend or bind maxconn was reached.")       \
  X(rateLimitPauses, "", "", "rate_limit_pauses_total",                                       \
    "Times accepting paused because rate-limit sessions was reached.")                        \
  X(packets, "", "", "packets_total",                                                         \
    "Packets to the frontend's VIPs forwarded by the packet data plane (dataplane xdp).")      \
  X(datagramsIn, "", "", "datagrams_in_total", "UDP datagrams received from clients.")        \
  X(datagramsOut, "", "", "datagrams_out_total", "UDP datagrams sent to clients.")            \
  X(udpTableFull, "", "", "udp_table_full_total",                                             \
    "Datagrams of new UDP flows dropped because the flow table was full (maxconn).")          \
  X(udpRateLimited, "", "", "udp_rate_limited_total",                                         \
    "Datagrams of new UDP flows dropped by rate-limit sessions.")                             \
  X(udpOversize, "", "", "udp_oversize_total",                                                \
    "UDP datagrams dropped for exceeding accepted-payload-size.")                             \
  X(udpSendErrors, "", "", "udp_send_errors_total",                                           \
    "UDP datagrams that could not be sent to a server or a client.")                          \
  X(udpIcmpErrors, "", "", "udp_icmp_errors_total",                                           \
    "ICMP errors (port or host unreachable) reported on the sockets to the servers.")         \
  X(udpKernelDrops, "", "", "udp_kernel_drops_total",                                         \
    "Datagrams the kernel dropped because a listener's receive queue was full (SO_RXQ_OVFL).")

// A backend's own counters; a backend row also shows the sums over its servers of the
// server counters that have a backend help text.
#define FULCRUM_BACKEND_COUNTERS(X)                                                           \
  X(connectErrors, "econ", "", "connect_errors_total",                                        \
    "Failed connection attempts to the backend's servers.")                                   \
  X(retries, "wretr", "", "retries_total", "Connection attempts retried after a failure.")    \
  X(redispatches, "wredis", "", "redispatches_total",                                         \
    "Connections redispatched to another server after failures (option redispatch).")        \
  X(queueTimeouts, "", "", "queue_timeouts_total", "Queued clients closed at timeout queue.") \
  X(queueFull, "", "", "queue_full_total", "Clients refused because the queue was full.")

// X(field, csv, csv2, prom, help, backendHelp): a non-empty backendHelp makes backend
// rows show the sum over their servers, as HAProxy does, with that help text.
#define FULCRUM_SERVER_COUNTERS(X)                                                            \
  X(connections, "stot", "lbtot", "connections_total",                                        \
    "Connections established to the server.",                                                 \
    "Connections established to the backend's servers.")                                      \
  X(bytesIn, "bin", "", "bytes_in_total", "Bytes relayed from clients to the server.",        \
    "Bytes relayed from clients to the backend's servers.")                                   \
  X(bytesOut, "bout", "", "bytes_out_total", "Bytes relayed from the server to clients.",     \
    "Bytes relayed from the backend's servers to clients.")                                   \
  X(connectErrors, "econ", "", "connect_errors_total",                                        \
    "Failed connection attempts to the server.", "")                                          \
  X(retries, "wretr", "", "retries_total",                                                    \
    "Connection attempts retried after failing on the server.", "")                           \
  X(redispatches, "wredis", "", "redispatches_total",                                         \
    "Connections redispatched away from the server after failing on it.", "")                 \
  X(packets, "", "", "packets_total",                                                         \
    "Packets forwarded to the server by the packet data plane (dataplane xdp).",              \
    "Packets forwarded to the backend's servers by the packet data plane.")

#define FULCRUM_PROCESS_COUNTERS(X)                                                           \
  X(accepted, "", "", "connections_total", "Client connections accepted, over all frontends.")\
  X(acceptErrors, "", "", "accept_errors_total",                                              \
    "accept() failures other than nothing to accept.")                                        \
  X(fdExhausted, "", "", "fd_exhausted_total",                                                \
    "Times accepting paused because the process or system was out of file descriptors.")      \
  X(timeouts, "", "", "timeouts_total", "Sessions closed (UDP: flows ended) by a timeout.")   \
  X(udpLateReplies, "", "", "udp_late_replies_total",                                         \
    "UDP datagrams from servers dropped because their flow had ended.")
// clang-format on

#define FULCRUM_COUNTER_MEMBER(field, ...) Counter field{0};
#define FULCRUM_VALUE_MEMBER(field, ...) uint64_t field = 0;
#define FULCRUM_VALUE_READ(field, ...) out.field = in.field.load(std::memory_order_relaxed);
#define FULCRUM_VALUE_ADD(field, ...) field += o.field;

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

struct alignas(64) ServiceStats {
  FULCRUM_FRONTEND_COUNTERS(FULCRUM_COUNTER_MEMBER)
  Gauge active{0};  // current client connections
  // rate-limit sessions: sessions accepted in the current one-second window.
  std::atomic<int64_t> rateWindow{0};
  std::atomic<uint32_t> rateCount{0};
};

// rate-limit sessions: true when the frontend's current one-second window (`second`, the
// monotonic time in seconds) already holds `limit` new sessions. A new window starts at 0.
inline bool rateLimitReached(ServiceStats& st, uint32_t limit, int64_t second) {
  int64_t seen = st.rateWindow.load(std::memory_order_relaxed);
  if (seen != second && st.rateWindow.compare_exchange_strong(seen, second))
    st.rateCount.store(0, std::memory_order_relaxed);
  return st.rateCount.load(std::memory_order_relaxed) >= limit;
}

struct alignas(64) PoolStats {
  FULCRUM_BACKEND_COUNTERS(FULCRUM_COUNTER_MEMBER)
  Gauge active{0};  // current connections to the pool's servers
  Gauge queued{0};  // clients waiting for a server slot
};

struct alignas(64) ServerStats {
  // Current connections: see PoolLoad (load.h), which counts them for the schedulers.
  FULCRUM_SERVER_COUNTERS(FULCRUM_COUNTER_MEMBER)
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
  FULCRUM_PROCESS_COUNTERS(FULCRUM_COUNTER_MEMBER)
  Gauge active{0};  // current client connections over all services
  // The global maxconn in force, read by the workers at accept (the runtime API's
  // "set maxconn global" changes it); 0: unlimited.
  std::atomic<uint32_t> maxconn{0};
  // The process-wide rates of "maxconnrate" (accepted connections) and "maxsessrate"
  // (sessions, after tcp-request connection rules): counts in the current one-second
  // window, counted like a frontend's "rate-limit sessions".
  std::atomic<int64_t> rateWindow{0};
  std::atomic<uint32_t> connRateCount{0};
  std::atomic<uint32_t> sessRateCount{0};
};

// Plain values of each list (the views' rows).
struct FrontendCounters {
  FULCRUM_FRONTEND_COUNTERS(FULCRUM_VALUE_MEMBER)
};
struct BackendCounters {
  FULCRUM_BACKEND_COUNTERS(FULCRUM_VALUE_MEMBER)
};
struct ServerCounters {
  FULCRUM_SERVER_COUNTERS(FULCRUM_VALUE_MEMBER)
  ServerCounters& operator+=(const ServerCounters& o) {
    FULCRUM_SERVER_COUNTERS(FULCRUM_VALUE_ADD)
    return *this;
  }
};
struct ProcessCounters {
  FULCRUM_PROCESS_COUNTERS(FULCRUM_VALUE_MEMBER)
};

inline FrontendCounters read(const ServiceStats& in) {
  FrontendCounters out;
  FULCRUM_FRONTEND_COUNTERS(FULCRUM_VALUE_READ)
  return out;
}
inline BackendCounters read(const PoolStats& in) {
  BackendCounters out;
  FULCRUM_BACKEND_COUNTERS(FULCRUM_VALUE_READ)
  return out;
}
inline ServerCounters read(const ServerStats& in) {
  ServerCounters out;
  FULCRUM_SERVER_COUNTERS(FULCRUM_VALUE_READ)
  return out;
}
inline ProcessCounters read(const ProcessStats& in) {
  ProcessCounters out;
  FULCRUM_PROCESS_COUNTERS(FULCRUM_VALUE_READ)
  return out;
}

}  // namespace fulcrum::model
