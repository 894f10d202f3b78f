// FakeControl: admin::Control over a real control::Builder (no data plane) and a real
// health::HealthMonitor (started, but its loop never runs: no check is made), for the runtime
// API and stats view tests. Acting calls are recorded; changes of the config in force go
// through the builder as in the daemon, without data planes to wait for.
#pragma once

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "admin/control.h"
#include "common/event_loop.h"
#include "config/config.h"
#include "control/builder.h"
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
    auto change = builder_.prepare(r.config, {});
    EXPECT_TRUE(change.ok());
    monitor_ = std::make_unique<health::HealthMonitor>(loop_, change->snapshot, *this);
    builder_.commit(std::move(*change));
    // Builds the checks and arms their timers; the loop never runs, so none is made.
    EXPECT_TRUE(monitor_->start().ok());
    info.pid = 4242;
    info.version = "0.1.0-test";
    info.releaseDate = "2026/12/07";
    info.node = "testhost";
    info.uptime = 3723 * kSeconds;  // 1h02m03s
    info.startedWall = 1700000000 * kSeconds;
    info.threads = 2;
    info.maxconn = 1000;
    info.hardMaxconn = 5000;
  }

  // ---- Control ----
  std::shared_ptr<const model::Snapshot> snapshot() const override {
    return builder_.current()->snapshot;
  }
  const model::ProcessStats& processStats() const override { return processStats_; }
  ProcessInfo processInfo() const override { return info; }
  const health::HealthMonitor& health() const override { return *monitor_; }
  std::vector<model::SessionInfo> sessions() override {
    calls.push_back("sessions");
    return sessionList;
  }
  Status setServerAdmin(int pool, int server, health::AdminRequest req) override {
    calls.push_back(fmt::format("admin {} {} {}", pool, server, static_cast<int>(req)));
    monitor_->setAdmin(pool, server, req);
    return Ok{};
  }
  Status setServerWeight(int pool, int server, uint32_t weight) override {
    calls.push_back(fmt::format("weight {} {} {}", pool, server, weight));
    if (!applyError.empty()) return Error{applyError};
    monitor_->setUserWeight(pool, server, weight);
    return Ok{};
  }
  Status setServerAddr(int pool, int server, const SockAddr& addr) override {
    calls.push_back(fmt::format("addr {} {} {}", pool, server, addr.toString()));
    return change([&](control::RuntimeOverrides& o) {
      o.setServerAddr(config(), builder_.fileConfig(), pool, server, addr);
    });
  }
  Status setServerMaxconn(int pool, int server, uint32_t maxconn) override {
    calls.push_back(fmt::format("maxconn server {} {} {}", pool, server, maxconn));
    return change([&](control::RuntimeOverrides& o) {
      o.setServerMaxconn(config(), builder_.fileConfig(), pool, server, maxconn);
    });
  }
  Status setFrontendMaxconn(int service, uint32_t maxconn) override {
    calls.push_back(fmt::format("maxconn frontend {} {}", service, maxconn));
    return change([&](control::RuntimeOverrides& o) {
      o.setFrontendMaxconn(config(), builder_.fileConfig(), service, maxconn);
    });
  }
  Status addServer(int pool, model::Server server) override {
    calls.push_back(fmt::format("add server {}/{}",
                                config().pools.at(static_cast<size_t>(pool)).name, server.name));
    return change([&](control::RuntimeOverrides& o) { o.addServer(config(), pool, server); });
  }
  Status delServer(int pool, int server) override {
    const auto& p = config().pools.at(static_cast<size_t>(pool));
    calls.push_back(
        fmt::format("del server {}/{}", p.name, p.servers.at(static_cast<size_t>(server)).name));
    return change([&](control::RuntimeOverrides& o) {
      o.delServer(config(), builder_.fileConfig(), pool, server);
    });
  }
  Status setHealthChecks(int pool, int server, bool enabled) override {
    calls.push_back(fmt::format("health {} {} {}", pool, server, enabled));
    if (enabled && !config()
                        .pools[static_cast<size_t>(pool)]
                        .servers[static_cast<size_t>(server)]
                        .check.enabled)
      return Error{"Health check was not configured on this server, cannot enable."};
    return Ok{};
  }
  Status setAgentChecks(int pool, int server, bool enabled) override {
    calls.push_back(fmt::format("agent {} {} {}", pool, server, enabled));
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
  void publishRuntime(std::vector<std::vector<model::ServerRuntime>> runtime,
                      bool shutdown) override {
    builder_.publishRuntime(std::move(runtime), shutdown);
  }

  // ---- test access ----
  model::ProcessStats& mutableProcessStats() { return processStats_; }
  model::ServerStats& serverStats(int pool, int server) {
    return *snapshot()->serverStats.at(static_cast<size_t>(pool)).at(static_cast<size_t>(server));
  }
  model::ServiceStats& serviceStats(int svc) {
    return *snapshot()->serviceStats.at(static_cast<size_t>(svc));
  }
  model::PoolLoad& load(int pool) { return *snapshot()->loads.at(static_cast<size_t>(pool)); }
  model::PoolStats& poolStats(int pool) {
    return *snapshot()->poolStats.at(static_cast<size_t>(pool));
  }
  const model::Config& config() const { return builder_.config(); }
  const model::Config* configPtr() const { return &builder_.config(); }
  EventLoop& loop() { return loop_; }

  ProcessInfo info;
  std::vector<std::string> calls;
  std::vector<model::SessionInfo> sessionList;
  std::string applyError;  // non-empty: applyConfig fails with it
  ReloadOutcome reloadOutcome{true, {"configuration reloaded"}};

 private:
  // A change of the overrides, applied as the daemon does (without data planes).
  template <typename Fn>
  Status change(Fn fn) {
    if (!applyError.empty()) return Error{applyError};
    control::RuntimeOverrides overrides = builder_.overrides();
    fn(overrides);
    auto c = builder_.prepare(builder_.filePtr(), std::move(overrides));
    if (!c) return Error{c.error()};
    c->snapshot->runtime = monitor_->reconfigure(c->snapshot);
    builder_.commit(std::move(*c));
    return Ok{};
  }

  EventLoop loop_;
  control::PublicationBox box_;
  control::Builder builder_{box_, {}};
  std::unique_ptr<health::HealthMonitor> monitor_;
  model::ProcessStats processStats_;
};

}  // namespace fulcrum::admin::testutil
