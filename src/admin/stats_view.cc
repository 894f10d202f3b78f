#include "admin/stats_view.h"

#include <fmt/format.h>

#include <algorithm>

namespace fulcrum::admin {

namespace {

using model::ServerState;

std::string entryKey(RowType type, std::string_view proxy, std::string_view name) {
  return fmt::format("{}{}/{}", static_cast<int>(type), proxy, name);
}

uint64_t load(const model::Counter& c) { return c.load(std::memory_order_relaxed); }
int64_t load(const model::Gauge& g) {
  return std::max<int64_t>(0, g.load(std::memory_order_relaxed));
}

bool hasHealth(const health::HealthMonitor& h, size_t pool, size_t server) {
  return pool < h.poolCount() && server < h.serverCount(static_cast<int>(pool));
}

// HAProxy's status column of a server.
std::string serverStatus(const model::Server& srv, ServerState state, bool checked,
                         const health::HealthStatus* hs) {
  switch (state) {
    case ServerState::kMaint: return "MAINT";
    case ServerState::kDrain: return "DRAIN";
    case ServerState::kUp:
    case ServerState::kDown: break;
  }
  const bool up = state == ServerState::kUp;
  if (!checked) return up ? "no check" : "DOWN";
  // The health counter is shown only while it moves, for servers whose health it tracks.
  if (hs == nullptr || !(srv.check.enabled || srv.observe.mode != model::Observe::kNone))
    return up ? "UP" : "DOWN";
  const uint32_t rise = srv.check.rise, fall = srv.check.fall;
  const uint32_t top = rise + fall - 1;
  const uint32_t h = hs->health;
  if (up) {
    if (h >= top || h < rise) return "UP";
    return fmt::format("UP {}/{}", h - rise + 1, fall);
  }
  if (h == 0 || h >= rise) return "DOWN";
  return fmt::format("DOWN {}/{}", h, rise);
}

}  // namespace

const char* checkCode(health::CheckStatus s) {
  using health::CheckStatus;
  switch (s) {
    case CheckStatus::kNone: return "INI";
    case CheckStatus::kL4Ok: return "L4OK";
    case CheckStatus::kL4Timeout: return "L4TOUT";
    case CheckStatus::kL4Refused: return "L4CON";
    case CheckStatus::kL4Error: return "L4CON";
    case CheckStatus::kL7Ok: return "L7OK";
    case CheckStatus::kL7Timeout: return "L7TOUT";
    case CheckStatus::kL7Response: return "L7RSP";
    case CheckStatus::kSocketError: return "SOCKERR";
    case CheckStatus::kPassive: return "HANA";
  }
  return "";
}

void RateTracker::sample(const model::Snapshot& snap, Micros now) {
  const model::Config& cfg = *snap.config;
  auto update = [&](const std::string& key, uint64_t total, int64_t current, int64_t queued) {
    Entry& e = entries_[key];
    if (e.lastAt >= 0 && now > e.lastAt) {
      const uint64_t delta = total >= e.lastTotal ? total - e.lastTotal : 0;
      e.rate = static_cast<double>(delta) * static_cast<double>(kSeconds) /
               static_cast<double>(now - e.lastAt);
      e.rateMax = std::max(e.rateMax, e.rate);
    }
    e.lastTotal = total;
    e.lastAt = now;
    e.max = std::max(e.max, current);
    e.queueMax = std::max(e.queueMax, queued);
  };
  for (size_t i = 0; i < cfg.services.size() && i < snap.serviceStats.size(); ++i) {
    const auto& st = *snap.serviceStats[i];
    update(entryKey(RowType::kFrontend, cfg.services[i].name, "FRONTEND"),
           st.accepted.load(std::memory_order_relaxed), load(st.active), 0);
  }
  for (size_t p = 0; p < cfg.pools.size() && p < snap.poolStats.size(); ++p) {
    const model::Pool& pool = cfg.pools[p];
    uint64_t total = 0;
    for (size_t s = 0; s < pool.servers.size() && s < snap.serverStats[p].size(); ++s) {
      const auto& st = *snap.serverStats[p][s];
      const uint64_t connections = st.connections.load(std::memory_order_relaxed);
      total += connections;
      update(entryKey(RowType::kServer, pool.name, pool.servers[s].name), connections,
             p < snap.loads.size() && snap.loads[p] ? snap.loads[p]->active(s) : 0, 0);
    }
    const auto& ps = *snap.poolStats[p];
    update(entryKey(RowType::kBackend, pool.name, "BACKEND"), total, load(ps.active),
           load(ps.queued));
  }
  // Objects gone from the configuration (a reload, "del server") are forgotten, so the
  // table stays as large as the configuration.
  std::erase_if(entries_, [&](const auto& kv) { return kv.second.lastAt != now; });
}

void RateTracker::apply(StatRow& row) const {
  row.max = std::max(row.max, row.current);
  row.queueMax = std::max(row.queueMax, row.queueCurrent);
  auto it = entries_.find(entryKey(row.type, row.proxy, row.name));
  if (it == entries_.end()) return;
  row.rate = it->second.rate;
  row.rateMax = std::max(it->second.rateMax, row.rate);
  row.max = std::max(row.max, it->second.max);
  row.queueMax = std::max(row.queueMax, it->second.queueMax);
}

std::vector<StatRow> collectStats(const Control& control, const RateTracker* rates) {
  std::vector<StatRow> rows;
  const auto snap = control.snapshot();
  if (!snap || !snap->config) return rows;
  const model::Config& cfg = *snap->config;
  const health::HealthMonitor& health = control.health();
  const ProcessInfo info = control.processInfo();
  const Micros now = monotonicNow();

  auto finish = [&](StatRow& row) {
    if (rates != nullptr) {
      rates->apply(row);
    } else {
      row.max = std::max(row.max, row.current);
      row.queueMax = std::max(row.queueMax, row.queueCurrent);
    }
    rows.push_back(std::move(row));
  };

  for (size_t i = 0; i < cfg.services.size(); ++i) {
    const model::Service& svc = cfg.services[i];
    StatRow row;
    row.type = RowType::kFrontend;
    row.service = static_cast<int>(i);
    row.proxy = svc.name;
    row.name = "FRONTEND";
    row.proxyId = svc.id;
    row.limit = svc.maxconn != 0 ? svc.maxconn : info.maxconn;
    row.rateLimit = svc.rateLimitSessions;
    row.status = info.stopping ? "STOP" : "OPEN";
    row.mode = svc.protocol == model::Protocol::kUdp ? "udp" : "tcp";
    if (i < snap->serviceStats.size() && snap->serviceStats[i]) {
      const auto& st = *snap->serviceStats[i];
      row.current = load(st.active);
      row.fe = model::read(st);
    }
    finish(row);
  }

  for (size_t p = 0; p < cfg.pools.size(); ++p) {
    const model::Pool& pool = cfg.pools[p];
    StatRow be;
    be.type = RowType::kBackend;
    be.pool = static_cast<int>(p);
    be.proxy = pool.name;
    be.name = "BACKEND";
    be.proxyId = pool.id;
    be.algo = model::toString(pool.balance.algo);
    be.mode = pool.protocol == model::Protocol::kUdp ? "udp" : "tcp";
    if (p < snap->poolStats.size() && snap->poolStats[p]) {
      const auto& ps = *snap->poolStats[p];
      be.current = load(ps.active);
      be.queueCurrent = load(ps.queued);
      be.be = model::read(ps);
    }
    uint32_t activeWeight = 0, backupWeight = 0;
    std::vector<StatRow> servers;
    for (size_t s = 0; s < pool.servers.size(); ++s) {
      const model::Server& srv = pool.servers[s];
      StatRow row;
      row.type = RowType::kServer;
      row.pool = static_cast<int>(p);
      row.server = static_cast<int>(s);
      row.proxy = pool.name;
      row.name = srv.name;
      row.proxyId = pool.id;
      row.serverId = srv.id;
      row.limit = srv.maxconn;
      row.queueLimit = srv.maxqueue;
      row.backup = srv.backup;
      row.activeServers = srv.backup ? 0 : 1;
      row.backupServers = srv.backup ? 1 : 0;
      row.addr = srv.addr.toString();
      row.mode = be.mode;
      row.userWeight = srv.weight;
      model::ServerRuntime rt;
      rt.effectiveWeight = srv.weight;
      if (p < snap->runtime.size() && s < snap->runtime[p].size()) rt = snap->runtime[p][s];
      row.state = rt.state;
      row.weight = rt.effectiveWeight;
      const health::HealthStatus* hs = nullptr;
      if (hasHealth(health, p, s)) {
        const int pi = static_cast<int>(p), si = static_cast<int>(s);
        hs = &health.status(pi, si);
        // Checks stopped by "disable health" (or "disable agent") do not count, and a
        // server in maintenance shows no check result, as in HAProxy.
        const bool checkRuns = srv.check.enabled && !health.checksStopped(pi, si);
        const bool agentRuns = srv.agent.enabled && !health.agentStopped(pi, si);
        const bool maint = rt.state == ServerState::kMaint;
        row.checked = health.checked(pi, si) && (checkRuns || agentRuns);
        row.userWeight = hs->userWeight;
        row.checkFailures = hs->failedChecksWhileUp;
        row.checkDowns = hs->markedDown;
        row.sinceChange = std::max<Micros>(0, now - hs->lastChange);
        row.downtime = health.downTime(pi, si);
        if (srv.check.enabled) {
          row.checkRise = srv.check.rise;
          row.checkFall = srv.check.fall;
          row.checkHealth = hs->health;
        }
        if (checkRuns && !maint) {
          row.checkStatus = checkCode(hs->lastCheck);
          row.checkDesc = health::describe(hs->lastCheck);
          row.checkDetail = hs->lastCheckDetail;
          row.checkDuration = hs->lastCheckDuration;
        }
        if (agentRuns && !maint) {
          row.agentStatus = checkCode(hs->lastAgent);
          row.agentDesc = hs->lastAgentReply;
        }
      }
      row.status = serverStatus(srv, rt.state, row.checked, hs);
      if (p < snap->serverStats.size() && s < snap->serverStats[p].size() &&
          snap->serverStats[p][s]) {
        const auto& st = *snap->serverStats[p][s];
        // The connections holding a slot of this server (connecting or established), over
        // every snapshot: the pool's load slots carry them across reloads.
        row.current = p < snap->loads.size() && snap->loads[p] ? snap->loads[p]->active(s) : 0;
        row.srv = model::read(st);
        for (size_t b = 0; b < model::kConnectTimeBuckets; ++b)
          row.connectTimeBuckets[b] = load(st.connectTime.buckets[b]);
        row.connectTimeSumUs = load(st.connectTime.sumUs);
      }
      // The backend's figures that HAProxy sums over its servers.
      be.srv += row.srv;
      for (size_t b = 0; b < model::kConnectTimeBuckets; ++b)
        be.connectTimeBuckets[b] += row.connectTimeBuckets[b];
      be.connectTimeSumUs += row.connectTimeSumUs;
      if (rt.state == ServerState::kUp) {
        if (srv.backup) {
          ++be.backupServers;
          backupWeight += rt.effectiveWeight;
        } else {
          ++be.activeServers;
          activeWeight += rt.effectiveWeight;
        }
      }
      servers.push_back(std::move(row));
    }
    // Backups serve only when no active server is usable: the weight in use then is theirs.
    be.weight = be.activeServers > 0 ? activeWeight : backupWeight;
    be.userWeight = be.weight;
    be.status = be.activeServers + be.backupServers > 0 ? "UP" : "DOWN";
    finish(be);
    for (auto& row : servers) finish(row);
  }
  return rows;
}

}  // namespace fulcrum::admin
