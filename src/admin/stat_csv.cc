#include "admin/stat_csv.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <string_view>

#include "admin/typed_field.h"

namespace fulcrum::admin {

namespace {

// HAProxy 2.6's "show stat" columns, in order, with the tags and value type HAProxy gives
// each in its typed output (a second set where a backend's differs). "-" separates the
// general fields from the modules' and has no typed form. Fulcrum fills only some of them;
// the others are kept so that the CSV has HAProxy's shape.
struct Column {
  std::string_view name;
  std::string_view tags;
  std::string_view backendTags = {};
};
// clang-format off
constexpr std::array<Column, 128> kColumns = {{
    {"pxname", "KNS:str"},
    {"svname", "KNS:str"},
    {"qcur", "MGP:u32"},
    {"qmax", "MMP:u32"},
    {"scur", "MGP:u32"},
    {"smax", "MMP:u32"},
    {"slim", "CLP:u32"},
    {"stot", "MCP:u64"},
    {"bin", "MCP:u64"},
    {"bout", "MCP:u64"},
    {"dreq", "MCP:u64"},
    {"dresp", "MCP:u64"},
    {"ereq", "MCP:u64"},
    {"econ", "MCP:u64"},
    {"eresp", "MCP:u64"},
    {"wretr", "MCP:u64"},
    {"wredis", "MCP:u64"},
    {"status", "SGP:str"},
    {"weight", "MaP:u32"},
    {"act", "SGP:u32", "MGP:u32"},
    {"bck", "SGP:u32", "MGP:u32"},
    {"chkfail", "MCP:u64"},
    {"chkdown", "MCP:u64"},
    {"lastchg", "MAP:u32"},
    {"downtime", "MCP:u32"},
    {"qlimit", "CGS:u32"},
    {"pid", "KGP:u32"},
    {"iid", "KGS:u32"},
    {"sid", "KGS:u32"},
    {"throttle", "MaP:u32"},
    {"lbtot", "MCP:u64"},
    {"tracked", "CNS:str"},
    {"type", "CGS:u32"},
    {"rate", "MRP:u32", "MGP:u32"},
    {"rate_lim", "CLP:u32"},
    {"rate_max", "MMP:u32", "MGP:u32"},
    {"check_status", "MOP:str"},
    {"check_code", "MOP:u32"},
    {"check_duration", "MDP:u64"},
    {"hrsp_1xx", "MCP:u64"},
    {"hrsp_2xx", "MCP:u64"},
    {"hrsp_3xx", "MCP:u64"},
    {"hrsp_4xx", "MCP:u64"},
    {"hrsp_5xx", "MCP:u64"},
    {"hrsp_other", "MCP:u64"},
    {"hanafail", "MCP:u64"},
    {"req_rate", "MRP:u32"},
    {"req_rate_max", "MMP:u32"},
    {"req_tot", "MCP:u64"},
    {"cli_abrt", "MCP:u64"},
    {"srv_abrt", "MCP:u64"},
    {"comp_in", "MCP:u64"},
    {"comp_out", "MCP:u64"},
    {"comp_byp", "MCP:u64"},
    {"comp_rsp", "MCP:u64"},
    {"lastsess", "MAP:s32"},
    {"last_chk", "MOP:str"},
    {"last_agt", "MOP:str"},
    {"qtime", "MaP:u32"},
    {"ctime", "MaP:u32"},
    {"rtime", "MaP:u32"},
    {"ttime", "MaP:u32"},
    {"agent_status", "MOP:str"},
    {"agent_code", "MOP:u32"},
    {"agent_duration", "MDP:u64"},
    {"check_desc", "MOP:str"},
    {"agent_desc", "MOP:str"},
    {"check_rise", "CGS:u32"},
    {"check_fall", "CGS:u32"},
    {"check_health", "CGS:u32"},
    {"agent_rise", "CGS:u32"},
    {"agent_fall", "CGS:u32"},
    {"agent_health", "CGS:u32"},
    {"addr", "CGS:str"},
    {"cookie", "CNS:str"},
    {"mode", "CGS:str"},
    {"algo", "CGS:str"},
    {"conn_rate", "MRP:u32"},
    {"conn_rate_max", "MMP:u32"},
    {"conn_tot", "MCP:u64"},
    {"intercepted", "MCP:u64"},
    {"dcon", "MCP:u64"},
    {"dses", "MCP:u64"},
    {"wrew", "MCP:u64"},
    {"connect", "MCP:u64"},
    {"reuse", "MCP:u64"},
    {"cache_lookups", "MCP:u64"},
    {"cache_hits", "MCP:u64"},
    {"srv_icur", "MGP:u32"},
    {"src_ilim", "CLP:u32"},
    {"qtime_max", "MMP:u32"},
    {"ctime_max", "MMP:u32"},
    {"rtime_max", "MMP:u32"},
    {"ttime_max", "MMP:u32"},
    {"eint", "MCP:u64"},
    {"idle_conn_cur", "MGP:u32"},
    {"safe_conn_cur", "MGP:u32"},
    {"used_conn_cur", "MGP:u32"},
    {"need_conn_est", "MGP:u32"},
    {"uweight", "MaP:u32"},
    {"agg_server_status", "MGP:u32"},
    {"agg_server_check_status", "MGP:u32"},
    {"agg_check_status", "MGP:u32"},
    {"-", ""},
    {"ssl_sess", "MCP:u64"},
    {"ssl_reused_sess", "MCP:u64"},
    {"ssl_failed_handshake", "MCP:u64"},
    {"h2_headers_rcvd", "MCP:u64"},
    {"h2_data_rcvd", "MCP:u64"},
    {"h2_settings_rcvd", "MCP:u64"},
    {"h2_rst_stream_rcvd", "MCP:u64"},
    {"h2_goaway_rcvd", "MCP:u64"},
    {"h2_detected_conn_protocol_errors", "MCP:u64"},
    {"h2_detected_strm_protocol_errors", "MCP:u64"},
    {"h2_rst_stream_resp", "MCP:u64"},
    {"h2_goaway_resp", "MCP:u64"},
    {"h2_open_connections", "MGP:u64"},
    {"h2_backend_open_streams", "MGP:u64"},
    {"h2_total_connections", "MCP:u64"},
    {"h2_backend_total_streams", "MCP:u64"},
    {"h1_open_connections", "MGP:u64"},
    {"h1_open_streams", "MGP:u64"},
    {"h1_total_connections", "MCP:u64"},
    {"h1_total_streams", "MCP:u64"},
    {"h1_bytes_in", "MCP:u64"},
    {"h1_bytes_out", "MCP:u64"},
    {"h1_spliced_bytes_in", "MCP:u64"},
    {"h1_spliced_bytes_out", "MCP:u64"},
}};
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
  for (const Column& c : kColumns) {
    out += c.name;
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

// Counter cells, from the lists of model/stats.h: a counter fills its CSV column(s).
#define FULCRUM_CSV_CELLS(field, csv, csv2, ...) \
  if (*(csv) != '\0') c[csv] = counters.field;   \
  if (*(csv2) != '\0') c[csv2] = counters.field;
// Backend rows: the server counters HAProxy sums over the backend's servers.
#define FULCRUM_CSV_SUM_CELLS(field, csv, csv2, prom, help, backendHelp) \
  if (*(backendHelp) != '\0') {                                          \
    FULCRUM_CSV_CELLS(field, csv, csv2)                                  \
  }

// The cells backend and server rows have in common.
static void backSideCells(const StatRow& row, nlohmann::json& c) {
  c["qcur"] = row.queueCurrent;
  c["qmax"] = row.queueMax;
  if (row.limit != 0) c["slim"] = row.limit;
  c["dresp"] = 0;
  c["eresp"] = 0;
  c["weight"] = row.weight;
  c["uweight"] = row.userWeight;
  c["act"] = row.activeServers;
  c["bck"] = row.backupServers;
  c["ctime"] = row.total() > 0 ? row.connectTimeSumUs / row.total() / 1000 : 0;
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
  c["status"] = row.status;
  c["mode"] = row.mode;
  c["-"] = "-";  // HAProxy's separator before the modules' columns
  c["rate"] = roundRate(row.rate);
  c["rate_max"] = roundRate(row.rateMax);
  switch (row.type) {
    case RowType::kFrontend: {
      const model::FrontendCounters& counters = row.fe;
      FULCRUM_FRONTEND_COUNTERS(FULCRUM_CSV_CELLS)
      c["slim"] = row.limit;
      c["dresp"] = 0;
      c["rate_lim"] = row.rateLimit;
      c["conn_rate"] = roundRate(row.rate);
      c["conn_rate_max"] = roundRate(row.rateMax);
      c["dses"] = 0;
      break;
    }
    case RowType::kBackend: {
      backSideCells(row, c);
      {
        const model::ServerCounters& counters = row.srv;
        FULCRUM_SERVER_COUNTERS(FULCRUM_CSV_SUM_CELLS)
      }
      const model::BackendCounters& counters = row.be;
      FULCRUM_BACKEND_COUNTERS(FULCRUM_CSV_CELLS)
      c["dreq"] = 0;
      c["algo"] = row.algo;
      break;
    }
    case RowType::kServer: {
      backSideCells(row, c);
      const model::ServerCounters& counters = row.srv;
      FULCRUM_SERVER_COUNTERS(FULCRUM_CSV_CELLS)
      if (row.queueLimit != 0) c["qlimit"] = row.queueLimit;
      if (row.sinceChange >= 0) c["lastchg"] = row.sinceChange / kSeconds;
      if (row.checkRise != 0) {  // the server has a health check
        if (row.downtime >= 0) c["downtime"] = row.downtime / kSeconds;
        c["chkfail"] = row.checkFailures;
        c["chkdown"] = row.checkDowns;
        c["check_rise"] = row.checkRise;
        c["check_fall"] = row.checkFall;
        if (row.checkHealth >= 0) c["check_health"] = row.checkHealth;
      }
      if (!row.checkStatus.empty()) {
        c["check_status"] = row.checkStatus;
        c["check_desc"] = row.checkDesc;
        if (row.checkDuration >= 0) c["check_duration"] = row.checkDuration / kMillis;
        if (!row.checkDetail.empty()) c["last_chk"] = row.checkDetail;
      }
      if (!row.agentStatus.empty()) {
        c["agent_status"] = row.agentStatus;
        if (!row.agentDesc.empty()) c["last_agt"] = row.agentDesc;
      }
      if (showAddr) c["addr"] = row.addr;
      break;
    }
  }
  return c;
}

std::string renderStatCsv(const std::vector<const StatRow*>& rows, bool showAddr) {
  std::string out = statCsvHeader();
  out += '\n';
  for (const StatRow* r : rows) {
    const nlohmann::json c = statCells(*r, showAddr);
    for (const Column& col : kColumns) {
      auto it = c.find(col.name);
      if (it != c.end()) out += csvCell(*it);
      out += ',';
    }
    out += '\n';
  }
  return out;
}

namespace {

// Calls fn(FieldId, value) for each filled cell of a row, in column order, with HAProxy's
// positions (the "-" separator has none).
template <typename Fn>
void forEachTypedField(const StatRow& row, bool showAddr, Fn&& fn) {
  const nlohmann::json cells = statCells(row, showAddr);
  int pos = 0;
  for (const Column& col : kColumns) {
    if (col.tags.empty()) continue;
    if (auto it = cells.find(col.name); it != cells.end()) {
      const bool backend = row.type == RowType::kBackend && !col.backendTags.empty();
      fn(FieldId{pos, col.name, FieldTags{backend ? col.backendTags : col.tags}}, *it);
    }
    ++pos;
  }
}

std::string_view objectType(RowType t) {
  switch (t) {
    case RowType::kFrontend: return "Frontend";
    case RowType::kBackend: return "Backend";
    case RowType::kServer: return "Server";
  }
  return "?";
}

uint64_t objectId(const StatRow& row) { return row.type == RowType::kServer ? row.serverId : 0; }

}  // namespace

std::string renderStatTyped(const std::vector<const StatRow*>& rows, bool showAddr) {
  std::string out;
  for (const StatRow* r : rows) {
    const std::string prefix =
        fmt::format("{}.{}.{}.", objectType(r->type)[0], r->proxyId, objectId(*r));
    forEachTypedField(*r, showAddr, [&](const FieldId& f, const nlohmann::json& v) {
      out += typedFieldText(prefix, f, v);
      out += '\n';
    });
  }
  return out;
}

std::string renderStatJson(const std::vector<const StatRow*>& rows, bool showAddr) {
  nlohmann::ordered_json arr = nlohmann::ordered_json::array();
  for (const StatRow* r : rows) {
    nlohmann::ordered_json object = nlohmann::ordered_json::array();
    forEachTypedField(*r, showAddr, [&](const FieldId& f, const nlohmann::json& v) {
      nlohmann::ordered_json field = {
          {"objType", objectType(r->type)}, {"proxyId", r->proxyId}, {"id", objectId(*r)}};
      appendTypedFieldJson(field, f, v);
      object.push_back(std::move(field));
    });
    arr.push_back(std::move(object));
  }
  return arr.dump();
}

}  // namespace fulcrum::admin
