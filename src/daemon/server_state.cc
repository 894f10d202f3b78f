#include "daemon/server_state.h"

#include <fmt/format.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "common/log.h"
#include "daemon/process.h"

namespace fulcrum::daemon {
namespace {

// HAProxy's srv_admin_state bits taken from the file (the others come from the
// configuration or from what the server tracks).
constexpr uint32_t kFileForcedMaint = 0x01;
constexpr uint32_t kFileForcedDrain = 0x08;
// Version 1 lines have 20 fields (HAProxy 1.6 to 2.0) to 25 (2.1 and later).
constexpr size_t kMinFields = 20;
constexpr size_t kMaxFields = 25;
constexpr uint32_t kMaxWeight = 256;

bool number(std::string_view s, uint32_t& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

}  // namespace

ServerStateFile parseServerState(std::string_view text, std::string_view file) {
  ServerStateFile out;
  uint32_t lineNo = 0;
  bool version = false;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++lineNo;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const auto f = fields(line);
    if (f.empty() || f[0].starts_with("#")) continue;
    auto warn = [&](std::string_view why) {
      out.warnings.push_back(fmt::format("{}:{}: {}; line ignored", file, lineNo, why));
    };
    if (!version) {
      if (f.size() != 1 || f[0] != "1") {
        out.warnings.push_back(fmt::format(
            "{}:{}: unsupported server state file version '{}' (expects 1); file ignored", file,
            lineNo, line));
        return out;
      }
      version = true;
      continue;
    }
    if (f.size() < kMinFields || f.size() > kMaxFields) {
      warn(fmt::format("{} fields, expects {} to {}", f.size(), kMinFields, kMaxFields));
      continue;
    }
    ServerStateLine s;
    s.line = lineNo;
    s.backend = f[1];
    s.server = f[3];
    s.addr = f[4];
    uint32_t op = 0, port = 0;
    if (!number(f[5], op) || op > 3) {
      warn(fmt::format("invalid srv_op_state '{}'", f[5]));
      continue;
    }
    s.opState = static_cast<int>(op);
    if (!number(f[6], s.adminState) || s.adminState > 0xff) {
      warn(fmt::format("invalid srv_admin_state '{}'", f[6]));
      continue;
    }
    if (!number(f[7], s.userWeight) || s.userWeight > kMaxWeight) {
      warn(fmt::format("invalid srv_uweight '{}'", f[7]));
      continue;
    }
    if (!number(f[8], s.initWeight) || s.initWeight > kMaxWeight) {
      warn(fmt::format("invalid srv_iweight '{}'", f[8]));
      continue;
    }
    if (!number(f[18], port) || port > 65535) {
      warn(fmt::format("invalid srv_port '{}'", f[18]));
      continue;
    }
    s.port = static_cast<uint16_t>(port);
    out.servers.push_back(std::move(s));
  }
  if (!version)
    out.warnings.push_back(fmt::format("{}: empty server state file (no version line)", file));
  return out;
}

std::string serverStateFileOf(const model::Config& cfg, const model::Pool& pool) {
  switch (pool.loadServerState) {
    case model::LoadServerState::kNone: return "";
    case model::LoadServerState::kGlobal: return serverStatePath(cfg.global);
    case model::LoadServerState::kLocal: {
      // HAProxy: "server-state-file-name" or the backend's name, under "server-state-base"
      // unless absolute.
      const std::string& name =
          pool.serverStateFileName.empty() ? pool.name : pool.serverStateFileName;
      if (name.starts_with("/") || cfg.global.serverStateBase.empty()) return name;
      return (std::filesystem::path(cfg.global.serverStateBase) / name).string();
    }
  }
  return "";
}

void matchServerState(const model::Config& cfg, const std::string& path,
                      const ServerStateFile& file, ServerStatePlan& plan) {
  std::set<std::string> unknown;
  for (const ServerStateLine& l : file.servers) {
    const int pi = cfg.findPool(l.backend);
    if (pi < 0 || serverStateFileOf(cfg, cfg.pools[static_cast<size_t>(pi)]) != path) {
      // A backend that does not load from this file (a local file names its backend).
      if (pi < 0) unknown.insert(fmt::format("backend '{}'", l.backend));
      continue;
    }
    const model::Pool& pool = cfg.pools[static_cast<size_t>(pi)];
    int si = -1;
    for (size_t i = 0; i < pool.servers.size(); ++i)
      if (pool.servers[i].name == l.server) si = static_cast<int>(i);
    if (si < 0) {
      unknown.insert(fmt::format("server '{}/{}'", l.backend, l.server));
      continue;
    }
    const model::Server& srv = pool.servers[static_cast<size_t>(si)];
    ServerStateAction a;
    a.pool = pi;
    a.server = si;
    if (l.adminState & kFileForcedMaint)
      a.admin = health::AdminRequest::kMaint;
    else if (l.adminState & kFileForcedDrain)
      a.admin = health::AdminRequest::kDrain;
    const bool tracked = srv.check.enabled || srv.observe.mode != model::Observe::kNone;
    a.down = l.opState == 0 && tracked && !(l.adminState & kFileForcedMaint);
    // HAProxy: the weight of the previous process, unless the configuration changed it.
    if (l.initWeight == srv.weight && l.userWeight != srv.weight) a.userWeight = l.userWeight;
    const uint16_t port = l.port != 0 ? l.port : srv.addr.port();
    if (l.addr != "-" && !l.addr.empty()) {
      if (auto addr = SockAddr::parseHost(l.addr, port); !addr) {
        plan.warnings.push_back(
            fmt::format("{}:{}: invalid srv_addr '{}'; address ignored", path, l.line, l.addr));
      } else if (!(*addr == srv.addr)) {
        a.addr = *addr;
      }
    }
    if (a.admin || a.down || a.userWeight || a.addr) plan.actions.push_back(std::move(a));
  }
  if (!unknown.empty()) {
    std::string list;
    for (const std::string& u : unknown) list += (list.empty() ? "" : ", ") + u;
    plan.notices.push_back(fmt::format("{}: {} entr{} for no configured server ignored: {}", path,
                                       unknown.size(), unknown.size() == 1 ? "y" : "ies", list));
  }
}

ServerStatePlan loadServerState(const model::Config& cfg) {
  ServerStatePlan plan;
  std::set<std::string> paths;
  for (const model::Pool& pool : cfg.pools) {
    const std::string path = serverStateFileOf(cfg, pool);
    if (!path.empty())
      paths.insert(path);
    else if (pool.loadServerState == model::LoadServerState::kGlobal)
      plan.warnings.push_back(
          fmt::format("backend '{}': 'load-server-state-from-file global' without a global "
                      "'server-state-file'; nothing loaded",
                      pool.name));
  }
  for (const std::string& path : paths) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      std::error_code ec;
      if (!std::filesystem::exists(path, ec))
        plan.notices.push_back(fmt::format("server state file {} not found; nothing loaded", path));
      else
        plan.warnings.push_back(fmt::format("server state file {} cannot be read", path));
      continue;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    const ServerStateFile file = parseServerState(ss.str(), path);
    plan.warnings.insert(plan.warnings.end(), file.warnings.begin(), file.warnings.end());
    matchServerState(cfg, path, file, plan);
  }
  return plan;
}

}  // namespace fulcrum::daemon
