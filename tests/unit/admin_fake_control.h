// FakeControl: admin::Control over a real model::Snapshot (Snapshot::initial of a parsed
// config) and a real health::HealthMonitor (started, but its loop never runs: no check is made),
// for the runtime API and stats view tests. Acting calls are recorded; applyConfig rebuilds the
// snapshot and the monitor from the new config (fresh states, as a test needs no more).
#pragma once

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "admin/control.h"
#include "common/event_loop.h"
#include "config/config.h"
#include "health/monitor.h"
#include "model/snapshot.h"

namespace fulcrum::admin::testutil {

class FakeControl final : public Control, public health::RuntimePublisher {
 public:
  explicit FakeControl(std::string_view configText) {
    EXPECT_TRUE(loop_.init().ok());
    loop_.refreshNow();
    auto r = config::parseText(configText, "test.cfg");
    EXPECT_TRUE(r.ok()) << (r.diagnostics.empty() ? "" : r.diagnostics[0].format());
    initialConfig_ = r.config;
    rebuild(r.config);
    info.pid = 4242;
    info.version = "0.1.0-test";
    info.node = "testhost";
    info.uptime = 3723 * kSeconds;  // 1h02m03s
    info.startedWall = 1700000000 * kSeconds;
    info.threads = 2;
    info.maxconn = 1000;
    info.hardMaxconn = 5000;
  }

  // ---- Control ----
  std::shared_ptr<const model::Snapshot> snapshot() const override { return snap_; }
  const model::ProcessStats& processStats() const override { return processStats_; }
  ProcessInfo processInfo() const override { return info; }
  const health::HealthMonitor& health() const override { return *monitor_; }
  uint32_t initialWeight(int pool, int server) const override {
    const auto& p = snap_->config->pools.at(static_cast<size_t>(pool));
    const auto& name = p.servers.at(static_cast<size_t>(server)).name;
    int ip = initialConfig_->findPool(p.name);
    if (ip >= 0)
      for (const auto& s : initialConfig_->pools[static_cast<size_t>(ip)].servers)
        if (s.name == name) return s.weight;
    return p.servers[static_cast<size_t>(server)].weight;
  }
  std::vector<model::SessionInfo> sessions() override {
    calls.push_back("sessions");
    return sessionList;
  }
  Status setServerAdmin(int pool, int server, health::AdminRequest req) override {
    calls.push_back(fmt::format("admin {} {} {}", pool, server, static_cast<int>(req)));
    monitor_->setAdmin(pool, server, req);
    return Ok{};
  }
  Status setHealthChecks(int pool, int server, bool enabled) override {
    calls.push_back(fmt::format("health {} {} {}", pool, server, enabled));
    if (enabled && !snap_->config->pools[static_cast<size_t>(pool)]
                        .servers[static_cast<size_t>(server)]
                        .check.enabled)
      return Error{"Health check was not configured on this server, cannot enable."};
    return Ok{};
  }
  Status setAgentChecks(int pool, int server, bool enabled) override {
    calls.push_back(fmt::format("agent {} {} {}", pool, server, enabled));
    return Ok{};
  }
  Status applyConfig(std::shared_ptr<const model::Config> next, std::string_view what) override {
    calls.push_back(fmt::format("apply {}", what));
    if (!applyError.empty()) return Error{applyError};
    rebuild(std::move(next));
    return Ok{};
  }
  void setGlobalMaxconn(uint32_t maxconn) override {
    calls.push_back(fmt::format("maxconn {}", maxconn));
    info.maxconn = maxconn;
  }
  void shutdownSessions(int pool, int server) override {
    calls.push_back(fmt::format("shutdown {} {}", pool, server));
  }
  ReloadOutcome reload() override {
    calls.push_back("reload");
    return reloadOutcome;
  }

  // ---- RuntimePublisher ----
  void publishRuntime(std::vector<std::vector<model::ServerRuntime>> runtime, bool) override {
    auto next = std::make_shared<model::Snapshot>(*snap_);
    next->runtime = std::move(runtime);
    next->generation = snap_->generation + 1;
    snap_ = std::move(next);
  }

  // ---- test access ----
  model::ProcessStats& mutableProcessStats() { return processStats_; }
  model::ServerStats& serverStats(int pool, int server) {
    return *snap_->serverStats.at(static_cast<size_t>(pool)).at(static_cast<size_t>(server));
  }
  model::ServiceStats& serviceStats(int svc) {
    return *snap_->serviceStats.at(static_cast<size_t>(svc));
  }
  model::PoolLoad& load(int pool) { return *snap_->loads.at(static_cast<size_t>(pool)); }
  model::PoolStats& poolStats(int pool) { return *snap_->poolStats.at(static_cast<size_t>(pool)); }
  const model::Config& config() const { return *snap_->config; }
  const model::Config* configPtr() const { return snap_->config.get(); }
  EventLoop& loop() { return loop_; }

  ProcessInfo info;
  std::vector<std::string> calls;
  std::vector<model::SessionInfo> sessionList;
  std::string applyError;  // non-empty: applyConfig fails with it
  ReloadOutcome reloadOutcome{true, {"configuration reloaded"}};

 private:
  void rebuild(std::shared_ptr<const model::Config> cfg) {
    monitor_.reset();
    snap_ = model::Snapshot::initial(std::move(cfg), snap_ ? snap_->generation + 1 : 1);
    monitor_ = std::make_unique<health::HealthMonitor>(loop_, snap_, *this);
    // Builds the checks and arms their timers; the loop never runs, so none is made.
    EXPECT_TRUE(monitor_->start().ok());
  }

  EventLoop loop_;
  std::shared_ptr<const model::Config> initialConfig_;
  std::shared_ptr<const model::Snapshot> snap_;
  std::unique_ptr<health::HealthMonitor> monitor_;
  model::ProcessStats processStats_;
};

}  // namespace fulcrum::admin::testutil
