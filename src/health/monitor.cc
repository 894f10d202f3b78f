#include "health/monitor.h"

#include <fmt/core.h>

#include <algorithm>

#include "common/log.h"
#include "health/stream_check.h"
#include "health/udp_check.h"

namespace fulcrum::health {

// The data path's passive alerts: a flag and a wake-up of the control loop.
class HealthMonitor::Signal final : public model::HealthSignal {
 public:
  explicit Signal(EventLoop& loop) : loop_(loop) {}
  void passiveAlert() override {
    pending_.store(true, std::memory_order_release);
    loop_.wake();
  }
  bool take() { return pending_.exchange(false, std::memory_order_acq_rel); }

 private:
  EventLoop& loop_;
  std::atomic<bool> pending_{false};
};

struct HealthMonitor::Entry {
  struct CheckObs final : CheckObserver {
    explicit CheckObs(Entry* owner) : e(owner) {}
    void onCheckDone(const CheckResult& r) override { e->mon->onCheckDone(*e, r); }
    Entry* e;
  };
  struct AgentObs final : CheckObserver {
    explicit AgentObs(Entry* owner) : e(owner) {}
    void onCheckDone(const CheckResult& r) override { e->mon->onAgentDone(*e, r); }
    Entry* e;
  };
  struct CheckTimer final : Timer {
    explicit CheckTimer(Entry* owner) : e(owner) {}
    void onTimer() override { e->mon->runCheck(*e); }
    Entry* e;
  };
  struct AgentTimer final : Timer {
    explicit AgentTimer(Entry* owner) : e(owner) {}
    void onTimer() override { e->mon->runAgent(*e); }
    Entry* e;
  };

  Entry(HealthMonitor* m, int p, int s, const model::Server& srv, Micros now)
      : mon(m), pool(p), server(s), sm(HealthParams::of(srv), now), agentStopped(srv.dynamic) {}
  ~Entry() {
    check.reset();
    agent.reset();
    mon->loop_.timers().cancel(&checkTimer);
    mon->loop_.timers().cancel(&agentTimer);
  }

  HealthMonitor* mon;
  int pool;
  int server;
  ServerHealth sm;
  CheckObs checkObs{this};
  AgentObs agentObs{this};
  CheckTimer checkTimer{this};
  AgentTimer agentTimer{this};
  std::unique_ptr<Check> check;
  std::unique_ptr<Check> agent;
  CheckTarget target;
  CheckTarget agentTarget;
  std::string checkKey;  // what the check checks; a reconfigure rebuilds it when it changes
  bool agentStopped = false;
};

namespace {

// Everything a server's checks depend on, as text: equal keys, same checks.
std::string checkKeyOf(const model::Pool& pool, const model::Server& srv) {
  std::string key = fmt::format("{}|{}|{}|{}|{}|{}|{}|{}", checkTarget(pool, srv).addr.toString(),
                                srv.check.enabled, srv.observe.mode == model::Observe::kLayer4,
                                pool.checkTimeout, srv.check.inter, pool.tcpCheck,
                                // pool.connectTimeout bounds the check's connect too

                                srv.agent.enabled, agentTarget(pool, srv).addr.toString());
  key += fmt::format("|{}|{}|{}", srv.agent.send, srv.agent.inter, pool.connectTimeout);
  for (const model::TcpCheckRule& r : pool.tcpCheckRules)
    key += fmt::format("|{}:{}:{}:{}:{}", static_cast<int>(r.kind), r.port,
                       static_cast<int>(r.match), r.negate, r.data);
  return key;
}

}  // namespace

// ---- factories and targets ----

Result<std::unique_ptr<Check>> makeCheck(EventLoop& loop, CheckObserver& observer,
                                         const model::Pool& pool, const model::Server& server) {
  if (pool.protocol == model::Protocol::kUdp) {
    if (pool.udpCheck.kind == model::UdpCheckParams::Kind::kNone)
      return Error{"a UDP server's check needs 'option udp-check' or 'option dns-check'"};
    // A server that takes PROXY v2 datagrams wants one on every datagram, checks too.
    return UdpCheck::make(loop, observer, pool.udpCheck,
                          server.sendProxy == model::ProxyProtocol::kV2);
  }
  std::vector<CheckStep> steps = connectOnlySteps();
  if (pool.tcpCheck) {
    auto s = tcpCheckSteps(pool.tcpCheckRules);
    if (!s) return Error{s.error()};
    steps = std::move(*s);
  }
  return std::unique_ptr<Check>(std::make_unique<StreamCheck>(loop, observer, std::move(steps)));
}

std::unique_ptr<Check> makeAgentCheck(EventLoop& loop, CheckObserver& observer,
                                      const model::Server& server) {
  return std::make_unique<StreamCheck>(loop, observer, agentSteps(server.agent.send));
}

namespace {

// HAProxy's check timers: without "timeout check", inter bounds the whole check; with it,
// min(timeout connect, inter) bounds each connection and "timeout check" the answer.
void setTimers(CheckTarget& t, const model::Pool& pool, Micros inter) {
  if (pool.checkTimeout > 0) {
    t.connectTimeout = pool.connectTimeout > 0 ? std::min(pool.connectTimeout, inter) : inter;
    t.readTimeout = pool.checkTimeout;
    t.totalTimeout = 0;
  } else {
    t.connectTimeout = inter;
    t.readTimeout = 0;
    t.totalTimeout = inter;
  }
}

}  // namespace

CheckTarget checkTarget(const model::Pool& pool, const model::Server& server) {
  CheckTarget t;
  t.addr = server.check.addr ? *server.check.addr : server.addr;
  t.addr.setPort(server.check.port != 0 ? server.check.port : server.addr.port());
  setTimers(t, pool, HealthParams::of(server).inter);
  return t;
}

CheckTarget agentTarget(const model::Pool& pool, const model::Server& server) {
  CheckTarget t;
  t.addr = server.agent.addr   ? *server.agent.addr
           : server.check.addr ? *server.check.addr
                               : server.addr;
  t.addr.setPort(server.agent.port);
  setTimers(t, pool, HealthParams::of(server).agentInter);
  return t;
}

// ---- HealthMonitor ----

HealthMonitor::HealthMonitor(EventLoop& loop, std::shared_ptr<const model::Snapshot> snap,
                             RuntimePublisher& publisher)
    : loop_(loop),
      snap_(std::move(snap)),
      publisher_(publisher),
      signal_(std::make_shared<Signal>(loop)),
      rng_(static_cast<uint64_t>(monotonicNow())) {
  const Micros now = loop_.now();
  const model::Config& cfg = *snap_->config;
  byPool_.resize(cfg.pools.size());
  for (size_t p = 0; p < cfg.pools.size(); ++p) {
    for (size_t s = 0; s < cfg.pools[p].servers.size(); ++s) {
      entries_.push_back(std::make_unique<Entry>(this, static_cast<int>(p), static_cast<int>(s),
                                                 cfg.pools[p].servers[s], now));
      byPool_[p].push_back(entries_.back().get());
    }
  }
  published_ = snap_->runtime;
}

HealthMonitor::~HealthMonitor() { stop(); }

std::shared_ptr<model::HealthSignal> HealthMonitor::signal() const { return signal_; }

HealthMonitor::Entry& HealthMonitor::entry(int pool, int server) const {
  return *byPool_.at(static_cast<size_t>(pool)).at(static_cast<size_t>(server));
}

void HealthMonitor::buildChecks(Entry& e) {
  const model::Pool& pool = snap_->config->pools[static_cast<size_t>(e.pool)];
  const model::Server& srv = pool.servers[static_cast<size_t>(e.server)];
  const HealthParams& hp = e.sm.params();
  e.check.reset();
  e.agent.reset();
  loop_.timers().cancel(&e.checkTimer);
  loop_.timers().cancel(&e.agentTimer);
  e.checkKey = checkKeyOf(pool, srv);
  if (hp.check || hp.observe) {
    auto c = makeCheck(loop_, e.checkObs, pool, srv);
    if (!c) {
      log::warning("backend '{}' server '{}': {}; the server is not checked", pool.name, srv.name,
                   c.error());
    } else {
      e.check = std::move(*c);
      e.target = checkTarget(pool, srv);
    }
  }
  if (hp.agent) {
    e.agent = makeAgentCheck(loop_, e.agentObs, srv);
    e.agentTarget = agentTarget(pool, srv);
  }
}

Status HealthMonitor::start() {
  const Micros now = loop_.now();
  size_t checks = 0;
  Micros minInter = -1;
  auto noteInterval = [&](Micros i) { minInter = minInter < 0 ? i : std::min(minInter, i); };
  for (auto& e : entries_) {
    buildChecks(*e);
    if (e->check && e->sm.activeChecksWanted()) {
      ++checks;
      noteInterval(e->sm.checkInterval());
    }
    if (e->agent) {
      ++checks;
      noteInterval(e->sm.params().agentInter);
    }
  }
  // As HAProxy: the first checks are spread evenly over the smallest interval, so that
  // servers on the same host are not all checked at the same instant.
  size_t pos = 0;
  for (auto& e : entries_) {
    if (e->check && e->sm.activeChecksWanted()) {
      loop_.timers().arm(&e->checkTimer,
                         now + minInter * static_cast<Micros>(pos++) / static_cast<Micros>(checks));
    }
    if (e->agent) {
      loop_.timers().arm(&e->agentTimer,
                         now + minInter * static_cast<Micros>(pos++) / static_cast<Micros>(checks));
    }
  }
  started_ = true;
  if (checks > 0)
    log::notice("health: {} check(s) scheduled over {} server(s)", checks, entries_.size());
  refresh(false);
  return Ok{};
}

std::vector<std::vector<model::ServerRuntime>> HealthMonitor::reconfigure(
    std::shared_ptr<const model::Snapshot> next) {
  const Micros now = loop_.now();
  const model::Config& oldCfg = *snap_->config;
  const model::Config& cfg = *next->config;
  // Entries of the old config by backend and server name.
  std::vector<std::unique_ptr<Entry>> old = std::move(entries_);
  auto take = [&](const std::string& pool, const std::string& server) -> std::unique_ptr<Entry> {
    for (auto& e : old) {
      if (!e) continue;
      const model::Pool& op = oldCfg.pools[static_cast<size_t>(e->pool)];
      if (op.name == pool && op.servers[static_cast<size_t>(e->server)].name == server)
        return std::move(e);
    }
    return nullptr;
  };
  snap_ = std::move(next);
  entries_.clear();
  byPool_.assign(cfg.pools.size(), {});
  std::vector<Entry*> fresh, rebuilt;
  for (size_t p = 0; p < cfg.pools.size(); ++p) {
    for (size_t s = 0; s < cfg.pools[p].servers.size(); ++s) {
      const model::Server& srv = cfg.pools[p].servers[s];
      std::unique_ptr<Entry> e = take(cfg.pools[p].name, srv.name);
      if (e) {
        e->pool = static_cast<int>(p);
        e->server = static_cast<int>(s);
        auto t = e->sm.reconfigure(HealthParams::of(srv), now);
        if (t) logTransition(*e, *t);
        if (e->checkKey != checkKeyOf(cfg.pools[p], srv)) rebuilt.push_back(e.get());
      } else {
        e = std::make_unique<Entry>(this, static_cast<int>(p), static_cast<int>(s), srv, now);
        fresh.push_back(e.get());
      }
      byPool_[p].push_back(e.get());
      entries_.push_back(std::move(e));
    }
  }
  old.clear();  // removed servers: their checks and timers stop here
  if (started_) {
    for (Entry* e : fresh) rebuilt.push_back(e);
    for (Entry* e : rebuilt) {
      buildChecks(*e);
      if (e->check && e->sm.activeChecksWanted())
        loop_.timers().arm(&e->checkTimer, now + jitter(e->sm.checkInterval()) / 2);
      if (e->agent && !e->agentStopped)
        loop_.timers().arm(&e->agentTimer, now + jitter(e->sm.agentInterval()) / 2);
    }
    for (auto& e : entries_) reschedule(*e, false);
  }
  std::vector<std::vector<model::ServerRuntime>> rt(byPool_.size());
  for (size_t p = 0; p < byPool_.size(); ++p)
    for (const Entry* e : byPool_[p]) rt[p].push_back(e->sm.runtime(now));
  published_ = rt;
  return rt;
}

void HealthMonitor::stop() {
  for (auto& e : entries_) {
    if (e->check) e->check->cancel();
    if (e->agent) e->agent->cancel();
    loop_.timers().cancel(&e->checkTimer);
    loop_.timers().cancel(&e->agentTimer);
  }
  loop_.timers().cancel(&rampTimer_);
  started_ = false;
}

Micros HealthMonitor::jitter(Micros interval) {
  const uint32_t spread = snap_->config->global.spreadChecks;
  if (spread == 0 || interval <= 0) return interval;
  // spread-checks: uniformly within +/- spread% of the interval.
  const Micros range = interval * static_cast<Micros>(spread) / 100;
  if (range <= 0) return interval;
  std::uniform_int_distribution<Micros> d(-range, range);
  return std::max<Micros>(1, interval + d(rng_));
}

void HealthMonitor::runCheck(Entry& e) {
  if (!started_ || !e.check || !e.sm.activeChecksWanted()) return;
  e.check->start(e.target);
}

void HealthMonitor::runAgent(Entry& e) {
  if (!started_ || !e.agent || e.agentStopped) return;
  e.agent->start(e.agentTarget);
}

void HealthMonitor::reschedule(Entry& e, bool soon) {
  if (!started_ || !e.check) return;
  if (!e.sm.activeChecksWanted()) {
    loop_.timers().cancel(&e.checkTimer);
    return;
  }
  if (e.check->running()) return;  // its end schedules the next one
  const Micros delay = soon ? 0 : jitter(e.sm.checkInterval());
  const Micros due = loop_.now() + delay;
  if (!e.checkTimer.armed() || due < e.checkTimer.deadline()) {
    loop_.timers().arm(&e.checkTimer, due);
    // The interval chosen (spread-checks), which the wall-clock gaps between checks only
    // approximate on a loaded machine: tests assert on it.
    if (!soon && log::enabled(log::Level::kDebug)) {
      const model::Pool& pool = snap_->config->pools[static_cast<size_t>(e.pool)];
      log::debug("{}/{}: next check in {} ms", pool.name,
                 pool.servers[static_cast<size_t>(e.server)].name, delay / kMillis);
    }
  }
}

void HealthMonitor::onCheckDone(Entry& e, const CheckResult& r) {
  const model::Pool& pool = snap_->config->pools[static_cast<size_t>(e.pool)];
  const model::Server& srv = pool.servers[static_cast<size_t>(e.server)];
  auto t = e.sm.onCheckResult(r, loop_.now());
  log::debug("health check of {}/{}: {}{}{}, {} ms, {}", pool.name, srv.name, describe(r.status),
             r.detail.empty() ? "" : ": ", r.detail, r.duration / kMillis, e.sm.counterText());
  handle(e, t);
}

void HealthMonitor::onAgentDone(Entry& e, const CheckResult& r) {
  const model::Pool& pool = snap_->config->pools[static_cast<size_t>(e.pool)];
  const model::Server& srv = pool.servers[static_cast<size_t>(e.server)];
  auto t = e.sm.onAgentResult(r, loop_.now());
  log::debug("agent check of {}/{}: {}{}{}", pool.name, srv.name, describe(r.status),
             r.detail.empty() ? "" : ": ", r.detail);
  if (started_) loop_.timers().arm(&e.agentTimer, loop_.now() + jitter(e.sm.agentInterval()));
  handle(e, t);
}

void HealthMonitor::handle(Entry& e, const std::optional<Transition>& t) {
  using model::ServerState;
  const model::Pool& pool = snap_->config->pools[static_cast<size_t>(e.pool)];
  const model::Server& srv = pool.servers[static_cast<size_t>(e.server)];
  bool soon = false;
  if (t) {
    soon = t->from == ServerState::kMaint;  // leaving maintenance: check at once
    auto bump = [&](int server) {
      snap_->serverStats[static_cast<size_t>(e.pool)][static_cast<size_t>(server)]
          ->shutdownEpoch.fetch_add(1, std::memory_order_relaxed);
      pendingShutdown_ = true;
    };
    // on-marked-down shutdown-sessions: the server's sessions are closed.
    if (t->to == ServerState::kDown && srv.shutdownOnDown) bump(e.server);
    // on-marked-up shutdown-backup-sessions: an active server with a weight came back;
    // the sessions of every backup server are closed, so that traffic returns to it.
    if (t->to == ServerState::kUp &&
        (t->from == ServerState::kDown || t->from == ServerState::kMaint) && !srv.backup &&
        srv.shutdownBackupsOnUp && e.sm.status().userWeight > 0) {
      for (size_t s = 0; s < pool.servers.size(); ++s)
        if (pool.servers[s].backup) bump(static_cast<int>(s));
    }
  }
  reschedule(e, soon);
  // Publish first: once the line below is logged, the data path knows.
  if (t || e.sm.weightChangedByLastInput() || pendingShutdown_) refresh(false);
  if (t) logTransition(e, *t);
  if (e.sm.weightChangedByLastInput()) {
    log::notice("Server {}/{} weight is now {} ({}% of {}), reason: agent reports {}", pool.name,
                srv.name, e.sm.status().userWeight,
                srv.weight > 0 ? e.sm.status().userWeight * 100 / srv.weight : 0, srv.weight,
                e.sm.status().lastAgentReply);
  }
}

void HealthMonitor::logTransition(const Entry& e, const Transition& t) {
  using model::ServerState;
  const model::Pool& pool = snap_->config->pools[static_cast<size_t>(e.pool)];
  const model::Server& srv = pool.servers[static_cast<size_t>(e.server)];
  size_t active = 0, backups = 0;
  for (const Entry* o : byPool_[static_cast<size_t>(e.pool)]) {
    if (o->sm.state() != ServerState::kUp) continue;
    (pool.servers[static_cast<size_t>(o->server)].backup ? backups : active) += 1;
  }
  std::string line =
      fmt::format("{}Server {}/{} is {} (was {}), reason: {}", srv.backup ? "Backup " : "",
                  pool.name, srv.name, model::toString(t.to), model::toString(t.from), t.reason);
  if (!t.detail.empty()) line += fmt::format(", info: \"{}\"", t.detail);
  if (t.checkDuration >= 0)
    line += fmt::format(", check duration: {}ms", t.checkDuration / kMillis);
  if (e.sm.tracksHealth() && e.check) line += fmt::format(", status: {}", e.sm.counterText());
  line += fmt::format(". {} active and {} backup servers online.", active, backups);
  if (t.to == ServerState::kDown || t.to == ServerState::kMaint)
    log::warning("{}", line);
  else
    log::notice("{}", line);
}

void HealthMonitor::onWake() {
  if (signal_->take()) checkPassive();
}

void HealthMonitor::checkPassive() {
  for (auto& e : entries_) {
    const HealthParams& hp = e->sm.params();
    if (!hp.observe) continue;
    std::atomic<uint32_t>& errors =
        snap_->serverStats[static_cast<size_t>(e->pool)][static_cast<size_t>(e->server)]
            ->consecutiveErrors;
    uint32_t n = errors.load(std::memory_order_relaxed);
    // Take the count only if it is still at the limit (a success may have reset it).
    while (n >= hp.errorLimit && !errors.compare_exchange_weak(n, 0, std::memory_order_relaxed)) {
    }
    if (n < hp.errorLimit) continue;
    auto t = e->sm.onPassiveErrors(n, loop_.now());
    const model::Pool& pool = snap_->config->pools[static_cast<size_t>(e->pool)];
    log::info(
        "Server {}/{}: {} consecutive connection errors observed (error-limit {}), on-error "
        "action taken, {}",
        pool.name, pool.servers[static_cast<size_t>(e->server)].name, n, hp.errorLimit,
        e->sm.counterText());
    handle(*e, t);
  }
}

void HealthMonitor::setAdmin(int pool, int server, AdminRequest req) {
  Entry& e = entry(pool, server);
  handle(e, e.sm.setAdmin(req, loop_.now()));
}

void HealthMonitor::loadDown(int pool, int server) {
  Entry& e = entry(pool, server);
  handle(e, e.sm.loadDown(loop_.now()));
}

void HealthMonitor::setUserWeight(int pool, int server, uint32_t weight) {
  entry(pool, server).sm.setUserWeight(weight);
  refresh(false);
}

void HealthMonitor::setChecksStopped(int pool, int server, bool stopped) {
  Entry& e = entry(pool, server);
  handle(e, e.sm.setChecksStopped(stopped, loop_.now()));
}

void HealthMonitor::setAgentStopped(int pool, int server, bool stopped) {
  Entry& e = entry(pool, server);
  if (e.agentStopped == stopped) return;
  e.agentStopped = stopped;
  if (stopped) {
    loop_.timers().cancel(&e.agentTimer);
  } else if (started_ && e.agent && !e.agent->running()) {
    loop_.timers().arm(&e.agentTimer, loop_.now());
  }
}

bool HealthMonitor::agentStopped(int pool, int server) const {
  return entry(pool, server).agentStopped;
}

bool HealthMonitor::checksStopped(int pool, int server) const {
  return entry(pool, server).sm.checksStopped();
}

uint8_t HealthMonitor::adminFlags(int pool, int server) const {
  return entry(pool, server).sm.adminFlags();
}

Micros HealthMonitor::downTime(int pool, int server) const {
  return entry(pool, server).sm.downTime(loop_.now());
}

const HealthStatus& HealthMonitor::status(int pool, int server) const {
  return entry(pool, server).sm.status();
}

model::ServerRuntime HealthMonitor::runtime(int pool, int server) const {
  return entry(pool, server).sm.runtime(loop_.now());
}

std::string HealthMonitor::counterText(int pool, int server) const {
  return entry(pool, server).sm.counterText();
}

bool HealthMonitor::checked(int pool, int server) const {
  const Entry& e = entry(pool, server);
  return e.check != nullptr || e.agent != nullptr;
}

void HealthMonitor::refresh(bool shutdown) {
  const Micros now = loop_.now();
  shutdown = shutdown || pendingShutdown_;
  pendingShutdown_ = false;
  std::vector<std::vector<model::ServerRuntime>> rt(byPool_.size());
  for (size_t p = 0; p < byPool_.size(); ++p) {
    rt[p].reserve(byPool_[p].size());
    for (const Entry* e : byPool_[p]) rt[p].push_back(e->sm.runtime(now));
  }
  if (rt != published_ || shutdown) {
    published_ = rt;
    publisher_.publishRuntime(std::move(rt), shutdown);
  }
  Micros next = -1;
  for (const auto& e : entries_) {
    Micros at = e->sm.nextRampAt(now);
    if (at >= 0 && (next < 0 || at < next)) next = at;
  }
  if (next >= 0 && started_)
    loop_.timers().arm(&rampTimer_, next);
  else
    loop_.timers().cancel(&rampTimer_);
}

}  // namespace fulcrum::health
