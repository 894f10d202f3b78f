#include "control/builder.h"

#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <utility>

#include "common/index.h"
#include "common/log.h"
#include "control/log_sinks.h"
#include "model/acl.h"
#include "sched/scheduler.h"

namespace fulcrum::control {
namespace {

bool sameTarget(const model::LogTarget& a, const model::LogTarget& b) {
  return a.kind == b.kind && a.path == b.path && a.addr == b.addr && a.facility == b.facility &&
         a.level == b.level && a.minLevel == b.minLevel;
}

bool sameTargets(const std::vector<model::LogTarget>& a, const std::vector<model::LogTarget>& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), sameTarget);
}

}  // namespace

// ---- RealIndex ----

uint32_t RealIndex::take() {
  while (reserved_.count(nextNew_) != 0) ++nextNew_;
  if (nextNew_ < capacity_ || freed_.empty()) return nextNew_++;
  const uint32_t r = freed_.front();
  freed_.pop_front();
  return r;
}

void RealIndex::assign(model::Config& next, const model::Config* current) {
  using Name = std::pair<std::string_view, std::string_view>;  // views into `current`
  std::map<Name, uint32_t> old;
  if (current != nullptr) {
    for (const model::Pool& p : current->pools)
      for (const model::Server& s : p.servers) old.emplace(Name(p.name, s.name), s.real);
  }
  std::vector<model::Server*> fresh;
  for (model::Pool& p : next.pools) {
    for (model::Server& s : p.servers) {
      auto it = old.find(Name(p.name, s.name));
      if (it == old.end()) {
        fresh.push_back(&s);
        continue;
      }
      s.real = it->second;
      old.erase(it);
    }
  }
  // What is left of `old` is gone: freed in a stable order (the map's), before the new
  // servers take theirs.
  for (const auto& [name, real] : old) freed_.push_back(real);
  if (!seeds_.empty() && current == nullptr) {
    // At start, after a previous process: its indices, by address, first. The others
    // stay reserved until the next assignment (their flows are scheduled anew).
    for (const RealSeed& sd : seeds_) reserved_.insert(sd.index);
    std::vector<model::Server*> unseeded;
    for (model::Server* s : fresh) {
      std::array<uint8_t, 16> a{};
      model::toV6Bytes(s->addr, a.data());
      auto it = std::find_if(seeds_.begin(), seeds_.end(), [&](const RealSeed& sd) {
        return sd.addr == a && (sd.port == 0 || sd.port == s->addr.port());
      });
      if (it == seeds_.end()) {
        unseeded.push_back(s);
        continue;
      }
      s->real = it->index;
      seeds_.erase(it);
    }
    seeds_.clear();
    fresh = std::move(unseeded);
  }
  for (model::Server* s : fresh) s->real = take();
}

// ---- server ids ----

void keepServerIds(model::Config& next, const model::Config* current) {
  if (current == nullptr) return;  // the parser's numbering, as HAProxy's
  for (model::Pool& pool : next.pools) {
    const int o = current->findPool(pool.name);
    if (o < 0) continue;
    const auto& before = at(current->pools, o).servers;
    std::set<uint32_t> used;
    for (const model::Server& s : pool.servers)
      if (s.idSet) used.insert(s.id);
    std::vector<model::Server*> fresh;
    for (model::Server& s : pool.servers) {
      if (s.idSet) continue;
      auto it = std::find_if(before.begin(), before.end(),
                             [&](const model::Server& b) { return b.name == s.name; });
      if (it != before.end() && used.insert(it->id).second) {
        s.id = it->id;
      } else {
        fresh.push_back(&s);
      }
    }
    uint32_t candidate = 1;
    for (model::Server* s : fresh) {
      while (used.contains(candidate)) ++candidate;
      s->id = candidate;
      used.insert(candidate);
    }
  }
}

// ---- logs and tables ----

Status attachLogs(model::Snapshot& next, const model::Snapshot* prev) {
  const model::Config& cfg = *next.config;
  next.serviceLogs.assign(cfg.services.size(), {});
  for (size_t s = 0; s < cfg.services.size(); ++s) {
    const model::Service& svc = cfg.services[s];
    if (prev != nullptr) {
      const int o = prev->config->findService(svc.name);
      if (o >= 0 && sameTargets(at(prev->config->services, o).logs, svc.logs) &&
          prev->config->global.logTag == cfg.global.logTag) {
        next.serviceLogs[s] = at(prev->serviceLogs, o);
        continue;
      }
    }
    for (const model::LogTarget& t : svc.logs) {
      if (!logsConnections(t)) continue;  // "log ... notice": connection logs are "info"
      auto sink = openLogSink(t, cfg.global.logTag);
      if (!sink)
        return Error{fmt::format("{}:{}: frontend '{}': {}", t.loc.file, t.loc.line, svc.name,
                                 sink.error())};
      next.serviceLogs[s].push_back(std::move(*sink));
    }
  }
  return Ok{};
}

PoolInputs poolInputs(const model::Pool& pool, const std::vector<model::ServerRuntime>& runtime,
                      const model::PoolLoad* load) {
  PoolInputs in;
  in.balance = pool.balance;
  in.allBackups = pool.allBackups;
  in.load = load;
  std::vector<std::string> keys = sched::maglevKeys(pool);
  in.servers.reserve(pool.servers.size());
  for (size_t i = 0; i < pool.servers.size(); ++i) {
    const model::Server& s = pool.servers[i];
    in.servers.push_back({std::move(keys[i]), s.weight, s.maxconn, s.backup,
                          i < runtime.size() ? runtime[i] : model::ServerRuntime{}});
  }
  return in;
}

std::vector<std::shared_ptr<const PoolTables>> deriveTables(const model::Snapshot& snap,
                                                            const Publication* prev) {
  const model::Config& cfg = *snap.config;
  std::vector<std::shared_ptr<const PoolTables>> out;
  out.reserve(cfg.pools.size());
  std::vector<bool> packet(cfg.pools.size());
  for (const model::Service& svc : cfg.services)
    if (svc.forwarding == model::Forwarding::kPacket && svc.defaultPool >= 0)
      packet[static_cast<size_t>(svc.defaultPool)] = true;
  for (size_t p = 0; p < cfg.pools.size(); ++p) {
    const model::Pool& pool = cfg.pools[p];
    PoolInputs in = poolInputs(pool, snap.runtime[p], snap.loads[p].get());
    in.packet = packet[p];
    if (prev != nullptr) {
      const int o = prev->config().findPool(pool.name);
      if (o >= 0 && at(prev->pools, o)->inputs == in) {
        out.push_back(at(prev->pools, o));
        continue;
      }
    }
    auto t = std::make_shared<PoolTables>();
    t->inputs = std::move(in);
    if (sched::needsMaglev(pool) || t->inputs.packet)
      t->maglev = sched::buildPoolMaglev(pool, snap.runtime[p], pool.allBackups);
    out.push_back(std::move(t));
  }
  return out;
}

// ---- Builder ----

Builder::Builder(PublicationBox& box, std::vector<DataPlane*> planes)
    : box_(box), planes_(std::move(planes)) {}

Result<Builder::Change> Builder::prepare(std::shared_ptr<const model::Config> file,
                                         RuntimeOverrides overrides) {
  Change ch;
  ch.file = std::move(file);
  ch.overrides = std::move(overrides);
  ch.reals = reals_;
  auto cfg = std::make_shared<model::Config>(ch.overrides.apply(*ch.file));
  keepServerIds(*cfg, current_ ? &config() : nullptr);
  ch.reals.assign(*cfg, current_ ? &config() : nullptr);
  std::shared_ptr<const model::Config> next = std::move(cfg);
  ch.snapshot = current_ ? model::Snapshot::successor(next, *current_->snapshot)
                         : model::Snapshot::initial(next);
  if (auto st = attachLogs(*ch.snapshot, current_ ? current_->snapshot.get() : nullptr); !st)
    return Error{st.error()};
  for (DataPlane* dp : planes_) {
    auto plan = dp->plan(*next, /*draining=*/false);
    if (!plan) return Error{plan.error()};
    ch.plans.push_back(std::move(*plan));
  }
  return ch;
}

uint64_t Builder::commit(Change change) {
  file_ = std::move(change.file);
  overrides_ = std::move(change.overrides);
  reals_ = std::move(change.reals);
  return publish(std::move(change.snapshot), std::move(change.plans));
}

uint64_t Builder::publishRuntime(std::vector<std::vector<model::ServerRuntime>> runtime,
                                 bool shutdown) {
  auto next = std::make_shared<model::Snapshot>(*current_->snapshot);
  next->runtime = std::move(runtime);
  if (shutdown) ++next->shutdownSeq;
  return publish(std::move(next), current_->plans);
}

uint64_t Builder::drain() {
  std::vector<std::shared_ptr<const DataPlanePlan>> plans;
  for (size_t i = 0; i < planes_.size(); ++i) {
    auto plan = planes_[i]->plan(config(), /*draining=*/true);
    if (plan) {
      plans.push_back(std::move(*plan));
    } else {
      log::error("{} data plane: cannot stop taking new traffic: {}", planes_[i]->name(),
                 plan.error());
      plans.push_back(current_->plans[i]);
    }
  }
  return publish(current_->snapshot, std::move(plans));
}

uint64_t Builder::publish(std::shared_ptr<const model::Snapshot> snap,
                          std::vector<std::shared_ptr<const DataPlanePlan>> plans) {
  auto pub = std::make_shared<Publication>();
  pub->generation = ++generation_;
  pub->pools = deriveTables(*snap, current_.get());
  pub->snapshot = std::move(snap);
  pub->plans = std::move(plans);
  current_ = pub;
  box_.publish(pub);
  for (DataPlane* dp : planes_) dp->published(*pub);
  return pub->generation;
}

bool Builder::await(uint64_t generation, Micros timeout) {
  const Micros deadline = monotonicNow() + timeout;
  bool all = true;
  for (DataPlane* dp : planes_)
    all = dp->awaitApplied(generation, std::max<Micros>(0, deadline - monotonicNow())) && all;
  return all;
}

}  // namespace fulcrum::control
