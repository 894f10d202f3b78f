#include "admin/metrics.h"

#include <fmt/core.h>

#include <cmath>
#include <functional>
#include <optional>

namespace fulcrum::admin {

namespace {

// One metric family at a time: HELP and TYPE once, then its samples, so that a family's
// samples are never split (the format requires them to be contiguous).
class Writer {
 public:
  void family(std::string_view name, std::string_view type, std::string_view help) {
    name_ = name;
    fmt::format_to(std::back_inserter(out_), "# HELP {} {}\n# TYPE {} {}\n", name, help, name,
                   type);
  }
  // `labels` is already rendered ("a=\"x\",b=\"y\"" or empty); `suffix` extends the
  // family's name (histograms: "_bucket", "_sum", "_count").
  void sample(std::string_view suffix, std::string_view labels, std::string_view value) {
    out_ += name_;
    out_ += suffix;
    if (!labels.empty()) {
      out_ += '{';
      out_ += labels;
      out_ += '}';
    }
    out_ += ' ';
    out_ += value;
    out_ += '\n';
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
  std::string name_;
};

std::string num(uint64_t v) { return fmt::format("{}", v); }
std::string num(int64_t v) { return fmt::format("{}", v); }
std::string num(uint32_t v) { return fmt::format("{}", v); }
std::string num(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}
std::string seconds(int64_t us) { return num(static_cast<double>(us) / 1e6); }

std::string labelsOf(const StatRow& r) {
  switch (r.type) {
    case RowType::kFrontend: return fmt::format("frontend=\"{}\"", escapeLabelValue(r.proxy));
    case RowType::kBackend: return fmt::format("backend=\"{}\"", escapeLabelValue(r.proxy));
    case RowType::kServer:
      return fmt::format("backend=\"{}\",server=\"{}\"", escapeLabelValue(r.proxy),
                         escapeLabelValue(r.name));
  }
  return {};
}

// A family of one value per row of a type; rows for which `value` gives nothing are left
// out, and a family with no sample at all is not written.
using RowValue = std::function<std::optional<std::string>(const StatRow&)>;

void rowFamily(Writer& w, const std::vector<StatRow>& rows, RowType type, std::string_view name,
               std::string_view kind, std::string_view help, const RowValue& value) {
  bool started = false;
  for (const StatRow& r : rows) {
    if (r.type != type) continue;
    std::optional<std::string> v = value(r);
    if (!v) continue;
    if (!started) {
      w.family(name, kind, help);
      started = true;
    }
    w.sample("", labelsOf(r), *v);
  }
}

void histogramFamily(Writer& w, const std::vector<StatRow>& rows, RowType type,
                     std::string_view name, std::string_view help) {
  bool started = false;
  for (const StatRow& r : rows) {
    if (r.type != type) continue;
    if (!started) {
      w.family(name, "histogram", help);
      started = true;
    }
    std::string labels = labelsOf(r);
    uint64_t cumulative = 0;
    for (size_t i = 0; i < model::kConnectTimeBoundsUs.size(); ++i) {
      cumulative += r.connectTimeBuckets[i];
      w.sample("_bucket",
               fmt::format("{},le=\"{}\"", labels, seconds(model::kConnectTimeBoundsUs[i])),
               num(cumulative));
    }
    cumulative += r.connectTimeBuckets[model::kConnectTimeBoundsUs.size()];
    w.sample("_bucket", fmt::format("{},le=\"+Inf\"", labels), num(cumulative));
    w.sample("_sum", labels, seconds(static_cast<int64_t>(r.connectTimeSumUs)));
    w.sample("_count", labels, num(cumulative));
  }
}

// Check codes that mean the last check succeeded (L4OK, L6OK, L7OK, L7OKC).
bool checkPassed(std::string_view code) { return code.ends_with("OK") || code.ends_with("OKC"); }

const char* stateName(model::ServerState s) {
  switch (s) {
    case model::ServerState::kUp: return "UP";
    case model::ServerState::kDown: return "DOWN";
    case model::ServerState::kDrain: return "DRAIN";
    case model::ServerState::kMaint: return "MAINT";
  }
  return "UP";
}

void processFamilies(Writer& w, const ProcessInfo& info, const model::ProcessStats& ps) {
  auto one = [&](std::string_view name, std::string_view kind, std::string_view help,
                 std::string value) {
    w.family(name, kind, help);
    w.sample("", "", value);
  };
  w.family("fulcrum_build_info", "gauge", "Always 1; the label gives the running version.");
  w.sample("", fmt::format("version=\"{}\"", escapeLabelValue(info.version)), "1");
  one("fulcrum_process_start_time_seconds", "gauge",
      "Start time of the process since the Unix epoch, in seconds.", seconds(info.startedWall));
  one("fulcrum_process_uptime_seconds", "gauge", "Time since the process started, in seconds.",
      seconds(info.uptime));
  one("fulcrum_process_open_fds", "gauge", "File descriptors open now.", num(info.openFds));
  one("fulcrum_process_worker_threads", "gauge", "Worker threads of the proxy data plane.",
      num(info.threads));
  one("fulcrum_process_max_connections", "gauge",
      "Global maxconn in force (0: unlimited); set maxconn global changes it.", num(info.maxconn));
  one("fulcrum_process_hard_max_connections", "gauge",
      "The configuration's global maxconn, the ceiling of set maxconn global.",
      num(info.hardMaxconn));
  one("fulcrum_process_current_connections", "gauge",
      "Client connections open now, over all frontends.",
      num(ps.active.load(std::memory_order_relaxed)));
  const model::ProcessCounters counters = model::read(ps);
#define FULCRUM_PROCESS_FAMILY(field, csv, csv2, prom, help) \
  one("fulcrum_process_" prom, "counter", help, num(counters.field));
  FULCRUM_PROCESS_COUNTERS(FULCRUM_PROCESS_FAMILY)
#undef FULCRUM_PROCESS_FAMILY
  one("fulcrum_process_reloads_total", "counter", "Successful configuration reloads.",
      num(info.reloads));
  one("fulcrum_process_log_dropped_total", "counter",
      "Connection log lines dropped because their destination could not take them (a full "
      "buffer behind a slow reader, a write error).",
      num(model::LogSink::droppedTotal()));
  one("fulcrum_process_failed_reloads_total", "counter",
      "Configuration reloads that were refused (the old configuration kept running).",
      num(info.failedReloads));
  one("fulcrum_process_stopping", "gauge", "1 while a graceful stop is in progress, else 0.",
      info.stopping ? "1" : "0");
}

std::optional<std::string> some(std::string v) { return v; }

}  // namespace

std::string escapeLabelValue(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

std::string renderPrometheus(const std::vector<StatRow>& rows, const ProcessInfo& info,
                             const model::ProcessStats& process) {
  Writer w;
  processFamilies(w, info, process);

  // ---- frontends ----
  constexpr RowType F = RowType::kFrontend;
  rowFamily(w, rows, F, "fulcrum_frontend_current_connections", "gauge",
            "Client connections open now.", [](const StatRow& r) { return some(num(r.current)); });
  rowFamily(w, rows, F, "fulcrum_frontend_connections_limit", "gauge",
            "The frontend's maxconn (frontends without one are left out).",
            [](const StatRow& r) -> std::optional<std::string> {
              if (r.limit == 0) return std::nullopt;
              return num(r.limit);
            });
#define FULCRUM_FRONTEND_FAMILY(field, csv, csv2, prom, help)      \
  rowFamily(w, rows, F, "fulcrum_frontend_" prom, "counter", help, \
            [](const StatRow& r) { return some(num(r.fe.field)); });
  FULCRUM_FRONTEND_COUNTERS(FULCRUM_FRONTEND_FAMILY)
#undef FULCRUM_FRONTEND_FAMILY
  rowFamily(w, rows, F, "fulcrum_frontend_open", "gauge",
            "1 while the frontend accepts connections, 0 once it stopped.",
            [](const StatRow& r) { return some(r.status == "OPEN" ? "1" : "0"); });

  // ---- backends ----
  constexpr RowType B = RowType::kBackend;
  rowFamily(w, rows, B, "fulcrum_backend_up", "gauge",
            "1 when at least one server of the backend is usable, else 0.",
            [](const StatRow& r) { return some(r.status.starts_with("UP") ? "1" : "0"); });
  rowFamily(w, rows, B, "fulcrum_backend_current_connections", "gauge",
            "Connections open now to the backend's servers.",
            [](const StatRow& r) { return some(num(r.current)); });
  // The sums over the servers, then the backend's own counters.
#define FULCRUM_BACKEND_SUM_FAMILY(field, csv, csv2, prom, help, backendHelp) \
  if (*(backendHelp) != '\0')                                                 \
    rowFamily(w, rows, B, "fulcrum_backend_" prom, "counter", backendHelp,    \
              [](const StatRow& r) { return some(num(r.srv.field)); });
  FULCRUM_SERVER_COUNTERS(FULCRUM_BACKEND_SUM_FAMILY)
#undef FULCRUM_BACKEND_SUM_FAMILY
#define FULCRUM_BACKEND_FAMILY(field, csv, csv2, prom, help)      \
  rowFamily(w, rows, B, "fulcrum_backend_" prom, "counter", help, \
            [](const StatRow& r) { return some(num(r.be.field)); });
  FULCRUM_BACKEND_COUNTERS(FULCRUM_BACKEND_FAMILY)
#undef FULCRUM_BACKEND_FAMILY
  rowFamily(w, rows, B, "fulcrum_backend_queued_connections", "gauge",
            "Clients waiting in the backend's queue for a server slot now.",
            [](const StatRow& r) { return some(num(r.queueCurrent)); });
  rowFamily(w, rows, B, "fulcrum_backend_weight", "gauge",
            "Sum of the effective weights of the usable servers.",
            [](const StatRow& r) { return some(num(r.weight)); });
  rowFamily(w, rows, B, "fulcrum_backend_active_servers", "gauge", "Usable non-backup servers.",
            [](const StatRow& r) { return some(num(r.activeServers)); });
  rowFamily(w, rows, B, "fulcrum_backend_backup_servers", "gauge", "Usable backup servers.",
            [](const StatRow& r) { return some(num(r.backupServers)); });
  histogramFamily(w, rows, B, "fulcrum_backend_connect_time_seconds",
                  "Time to establish connections to the backend's servers, in seconds.");

  // ---- servers ----
  constexpr RowType S = RowType::kServer;
  {
    bool started = false;
    for (const StatRow& r : rows) {
      if (r.type != S) continue;
      if (!started) {
        w.family("fulcrum_server_state", "gauge",
                 "1 for the server's current state (UP, DOWN, DRAIN, MAINT), 0 for the others.");
        started = true;
      }
      std::string labels = labelsOf(r);
      for (auto s : {model::ServerState::kUp, model::ServerState::kDown, model::ServerState::kDrain,
                     model::ServerState::kMaint}) {
        w.sample("", fmt::format("{},state=\"{}\"", labels, stateName(s)),
                 r.state == s ? "1" : "0");
      }
    }
  }
  rowFamily(w, rows, S, "fulcrum_server_current_connections", "gauge",
            "Connections open now to the server.",
            [](const StatRow& r) { return some(num(r.current)); });
  rowFamily(w, rows, S, "fulcrum_server_connections_limit", "gauge",
            "The server's maxconn (servers without one are left out).",
            [](const StatRow& r) -> std::optional<std::string> {
              if (r.limit == 0) return std::nullopt;
              return num(r.limit);
            });
#define FULCRUM_SERVER_FAMILY(field, csv, csv2, prom, help, backendHelp) \
  rowFamily(w, rows, S, "fulcrum_server_" prom, "counter", help,         \
            [](const StatRow& r) { return some(num(r.srv.field)); });
  FULCRUM_SERVER_COUNTERS(FULCRUM_SERVER_FAMILY)
#undef FULCRUM_SERVER_FAMILY
  rowFamily(w, rows, S, "fulcrum_server_weight", "gauge",
            "The server's effective weight (0 while it takes no new connections).",
            [](const StatRow& r) { return some(num(r.weight)); });
  rowFamily(w, rows, S, "fulcrum_server_configured_weight", "gauge",
            "The server's configured weight, runtime changes included.",
            [](const StatRow& r) { return some(num(r.userWeight)); });
  rowFamily(w, rows, S, "fulcrum_server_check_up", "gauge",
            "1 when the server's last health check passed, 0 when it failed (servers without "
            "a completed check are left out).",
            [](const StatRow& r) -> std::optional<std::string> {
              if (!r.checked || r.checkStatus.empty() || r.checkStatus == "INI")
                return std::nullopt;
              return checkPassed(r.checkStatus) ? "1" : "0";
            });
  rowFamily(w, rows, S, "fulcrum_server_check_duration_seconds", "gauge",
            "Duration of the server's last completed health check, in seconds.",
            [](const StatRow& r) -> std::optional<std::string> {
              if (r.checkDuration < 0) return std::nullopt;
              return seconds(r.checkDuration);
            });
  rowFamily(w, rows, S, "fulcrum_server_check_failures_total", "counter",
            "Failed health checks of the server.",
            [](const StatRow& r) { return some(num(r.checkFailures)); });
  rowFamily(w, rows, S, "fulcrum_server_down_transitions_total", "counter",
            "Times the server went DOWN.",
            [](const StatRow& r) { return some(num(r.checkDowns)); });
  rowFamily(w, rows, S, "fulcrum_server_state_duration_seconds", "gauge",
            "Time the server has been in its current state, in seconds.",
            [](const StatRow& r) -> std::optional<std::string> {
              if (r.sinceChange < 0) return std::nullopt;
              return seconds(r.sinceChange);
            });
  histogramFamily(w, rows, S, "fulcrum_server_connect_time_seconds",
                  "Time to establish connections to the server, in seconds.");
  return w.take();
}

}  // namespace fulcrum::admin
