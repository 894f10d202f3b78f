#include "admin/stat_csv.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <string_view>

namespace fulcrum::admin {

namespace {

// HAProxy 2.6's "show stat" columns, in order.
// clang-format off
constexpr std::array<std::string_view, 128> kColumns = {
    "pxname", "svname", "qcur", "qmax", "scur", "smax", "slim", "stot", "bin", "bout", "dreq",
    "dresp", "ereq", "econ", "eresp", "wretr", "wredis", "status", "weight", "act", "bck",
    "chkfail", "chkdown", "lastchg", "downtime", "qlimit", "pid", "iid", "sid", "throttle",
    "lbtot", "tracked", "type", "rate", "rate_lim", "rate_max", "check_status", "check_code",
    "check_duration", "hrsp_1xx", "hrsp_2xx", "hrsp_3xx", "hrsp_4xx", "hrsp_5xx", "hrsp_other",
    "hanafail", "req_rate", "req_rate_max", "req_tot", "cli_abrt", "srv_abrt", "comp_in",
    "comp_out", "comp_byp", "comp_rsp", "lastsess", "last_chk", "last_agt", "qtime", "ctime",
    "rtime", "ttime", "agent_status", "agent_code", "agent_duration", "check_desc", "agent_desc",
    "check_rise", "check_fall", "check_health", "agent_rise", "agent_fall", "agent_health",
    "addr", "cookie", "mode", "algo", "conn_rate", "conn_rate_max", "conn_tot", "intercepted",
    "dcon", "dses", "wrew", "connect", "reuse", "cache_lookups", "cache_hits", "srv_icur",
    "src_ilim", "qtime_max", "ctime_max", "rtime_max", "ttime_max", "eint", "idle_conn_cur",
    "safe_conn_cur", "used_conn_cur", "need_conn_est", "uweight", "agg_server_status",
    "agg_server_check_status", "agg_check_status", "-", "ssl_sess", "ssl_reused_sess",
    "ssl_failed_handshake", "h2_headers_rcvd", "h2_data_rcvd", "h2_settings_rcvd",
    "h2_rst_stream_rcvd", "h2_goaway_rcvd", "h2_detected_conn_protocol_errors",
    "h2_detected_strm_protocol_errors", "h2_rst_stream_resp", "h2_goaway_resp",
    "h2_open_connections", "h2_backend_open_streams", "h2_total_connections",
    "h2_backend_total_streams", "h1_open_connections", "h1_open_streams", "h1_total_connections",
    "h1_total_streams", "h1_bytes_in", "h1_bytes_out", "h1_spliced_bytes_in",
    "h1_spliced_bytes_out",
};
// clang-format on

// CSV cell: quoted when it holds a comma, a quote or a line break.
std::string csvCell(const nlohmann::json& v) {
  if (v.is_null()) return {};
  if (!v.is_string()) return v.dump();
  const std::string& s = v.get_ref<const std::string&>();
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += (c == '\r' || c == '\n') ? ' ' : c;
  }
  out += '"';
  return out;
}

int typeRank(RowType t) {
  switch (t) {
    case RowType::kFrontend: return 0;
    case RowType::kServer: return 1;
    case RowType::kBackend: return 2;
  }
  return 3;
}

uint64_t roundRate(double r) { return r <= 0 ? 0 : static_cast<uint64_t>(std::llround(r)); }

}  // namespace

bool StatFilter::matches(const StatRow& row) const {
  if (proxyId >= 0 && row.proxyId != static_cast<uint64_t>(proxyId)) return false;
  if (!proxyName.empty() && row.proxy != proxyName) return false;
  if (typeMask >= 0 && (typeMask & (1 << static_cast<int>(row.type))) == 0) return false;
  if (row.type == RowType::kServer) {
    if (serverId >= 0 && row.serverId != static_cast<uint64_t>(serverId)) return false;
    if (upOnly && row.state != model::ServerState::kUp) return false;
    if (noMaint && row.state == model::ServerState::kMaint) return false;
  }
  return true;
}

std::string statCsvHeader() {
  std::string out = "# ";
  for (auto c : kColumns) {
    out += c;
    out += ',';
  }
  return out;
}

std::vector<const StatRow*> statOrder(const std::vector<StatRow>& rows, const StatFilter& filter) {
  std::vector<const StatRow*> out;
  for (const auto& r : rows)
    if (filter.matches(r)) out.push_back(&r);
  std::stable_sort(out.begin(), out.end(), [](const StatRow* a, const StatRow* b) {
    if (a->proxyId != b->proxyId) return a->proxyId < b->proxyId;
    return typeRank(a->type) < typeRank(b->type);
  });
  return out;
}

// The cells backend and server rows have in common.
static void backSideCells(const StatRow& row, nlohmann::json& c) {
  c["qcur"] = row.queueCurrent;
  c["qmax"] = row.queueMax;
  if (row.limit != 0) c["slim"] = row.limit;
  c["dresp"] = 0;
  c["econ"] = row.connectErrors;
  c["eresp"] = 0;
  c["wretr"] = row.retries;
  c["wredis"] = row.redispatches;
  c["weight"] = row.weight;
  c["uweight"] = row.userWeight;
  c["act"] = row.activeServers;
  c["bck"] = row.backupServers;
  c["lbtot"] = row.total;
  c["ctime"] = row.total > 0 ? row.connectTimeSumUs / row.total / 1000 : 0;
}

nlohmann::json statCells(const StatRow& row, bool showAddr) {
  nlohmann::json c = nlohmann::json::object();
  c["pxname"] = row.proxy;
  c["svname"] = row.name;
  c["pid"] = 1;
  c["iid"] = row.proxyId;
  c["sid"] = row.type == RowType::kServer ? row.serverId : 0;
  c["type"] = static_cast<int>(row.type);
  c["scur"] = row.current;
  c["smax"] = row.max;
  c["stot"] = row.total;
  c["bin"] = row.bytesIn;
  c["bout"] = row.bytesOut;
  c["status"] = row.status;
  c["mode"] = row.mode;
  c["rate"] = roundRate(row.rate);
  c["rate_max"] = roundRate(row.rateMax);
  switch (row.type) {
    case RowType::kFrontend:
      c["slim"] = row.limit;
      c["dreq"] = row.denied;
      c["dresp"] = 0;
      c["ereq"] = row.requestErrors;
      c["rate_lim"] = row.rateLimit;
      c["conn_rate"] = roundRate(row.rate);
      c["conn_rate_max"] = roundRate(row.rateMax);
      c["conn_tot"] = row.total;
      c["dcon"] = row.denied;
      c["dses"] = 0;
      break;
    case RowType::kBackend:
      backSideCells(row, c);
      c["dreq"] = 0;
      c["algo"] = row.algo;
      break;
    case RowType::kServer:
      backSideCells(row, c);
      if (row.queueLimit != 0) c["qlimit"] = row.queueLimit;
      if (row.sinceChange >= 0) c["lastchg"] = row.sinceChange / kSeconds;
      if (!row.checkStatus.empty()) {
        c["chkfail"] = row.checkFailures;
        c["chkdown"] = row.checkDowns;
        c["check_status"] = row.checkStatus;
        c["check_desc"] = row.checkDesc;
        if (row.checkDuration >= 0) c["check_duration"] = row.checkDuration / kMillis;
        if (!row.checkDetail.empty()) c["last_chk"] = row.checkDetail;
        if (row.checkHealth >= 0) c["check_health"] = row.checkHealth;
      }
      if (!row.agentStatus.empty()) {
        c["agent_status"] = row.agentStatus;
        if (!row.agentDesc.empty()) c["last_agt"] = row.agentDesc;
      }
      if (showAddr) c["addr"] = row.addr;
      break;
  }
  return c;
}

std::string renderStatCsv(const std::vector<const StatRow*>& rows, bool showAddr) {
  std::string out = statCsvHeader();
  out += '\n';
  for (const StatRow* r : rows) {
    const nlohmann::json c = statCells(*r, showAddr);
    for (auto col : kColumns) {
      auto it = c.find(col);
      if (it != c.end()) out += csvCell(*it);
      out += ',';
    }
    out += '\n';
  }
  return out;
}

std::string renderStatJson(const std::vector<const StatRow*>& rows, bool showAddr) {
  nlohmann::json arr = nlohmann::json::array();
  for (const StatRow* r : rows) arr.push_back(statCells(*r, showAddr));
  return arr.dump();
}

}  // namespace fulcrum::admin
