#include "daemon/daemon.h"

#include <dirent.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "common/index.h"
#include "common/log.h"
#include "config/config.h"
#include "daemon/log_sinks.h"

namespace fulcrum::daemon {
namespace {

// Descriptors kept aside for the control plane (config files, sockets, checks).
constexpr uint32_t kReservedFds = 64;
// How long a change waits for the workers to apply it (see awaitWorkers).
constexpr auto kAwaitWorkers = std::chrono::seconds(1);
// How often a graceful stop looks whether the last connection has ended.
constexpr Micros kDrainPoll = 50 * kMillis;
// How long "show sess" waits for the workers.
constexpr auto kSessionDumpWait = std::chrono::seconds(2);

uint64_t countOpenFds() {
  uint64_t n = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') ++n;
    closedir(d);
    if (n > 0) --n;  // the directory stream's own descriptor
  }
  return n;
}

// Settings that need a restart: a reload keeps the running values and says so.
void warnRestartOnly(const model::Config& cur, const model::Config& next) {
  auto warn = [](const char* what) {
    log::warning("reload: '{}' changed; it takes effect at the next restart", what);
  };
  if (cur.global.nbthread != next.global.nbthread) warn("nbthread");
  if (cur.global.nosplice != next.global.nosplice) warn("nosplice");
  if (cur.global.maxpipes != next.global.maxpipes) warn("maxpipes");
  if (cur.global.cpuMaps.size() != next.global.cpuMaps.size()) warn("cpu-map");
}

}  // namespace

class Daemon::SignalHandler final : public IoHandler {
 public:
  explicit SignalHandler(Daemon* d) : d_(d) {}
  Status open() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    fd_.reset(signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
    if (!fd_.valid()) return Error{fmt::format("signalfd: {}", strerror(errno))};
    return d_->control_.add(fd_.get(), EPOLLIN, this);
  }
  void onIo(uint32_t) override {
    signalfd_siginfo si;
    while (::read(fd_.get(), &si, sizeof(si)) == sizeof(si))
      d_->onSignal(static_cast<int>(si.ssi_signo));
  }

 private:
  Daemon* d_;
  UniqueFd fd_;
};

int workerCount(const model::Config& config) {
  if (config.global.nbthread > 0) return static_cast<int>(config.global.nbthread);
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return 1;
}

uint32_t effectiveMaxconn(const model::Config& config, uint32_t* hard) {
  rlimit rl;
  uint64_t fds = 1024;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    if (rl.rlim_cur < rl.rlim_max) {
      rlimit raised = rl;
      raised.rlim_cur = rl.rlim_max;
      if (setrlimit(RLIMIT_NOFILE, &raised) == 0) rl = raised;
    }
    fds = rl.rlim_cur;
  }
  const uint64_t allowed = fds > 2 * kReservedFds ? (fds - kReservedFds) / 2 : 1;
  uint32_t maxconn = config.global.maxconn;
  if (maxconn == 0) {
    maxconn = static_cast<uint32_t>(std::min<uint64_t>(allowed, UINT32_MAX));
  } else if (maxconn > allowed) {
    log::warning(
        "global maxconn {} exceeds what the open-file limit {} allows ({}); "
        "accepts will pause on EMFILE beyond that",
        maxconn, fds, allowed);
  }
  // HAProxy's Hard_maxconn: the configuration's value, the ceiling of "set maxconn global".
  if (hard != nullptr) *hard = maxconn;
  return maxconn;
}

std::vector<int> cpusOfThread(const model::Config& config, uint32_t thread) {
  std::vector<int> cpus;
  for (const model::CpuMap& m : config.global.cpuMaps) {
    if (thread < m.firstThread || thread > m.lastThread || m.cpus.empty()) continue;
    cpus.clear();  // a later cpu-map line for the same thread replaces an earlier one
    if (m.autoSpread) {
      size_t i = (thread - m.firstThread) % m.cpus.size();
      cpus.push_back(static_cast<int>(m.cpus[i]));
    } else {
      for (uint32_t c : m.cpus) cpus.push_back(static_cast<int>(c));
    }
  }
  return cpus;
}

Status openServiceLogs(const model::Config& config, model::Snapshot& snap) {
  snap.serviceLogs.assign(config.services.size(), {});
  for (size_t s = 0; s < config.services.size(); ++s) {
    for (const model::LogTarget& t : config.services[s].logs) {
      auto sink = openLogSink(t);
      if (!sink)
        return Error{fmt::format("{}:{}: frontend '{}': {}", t.loc.file, t.loc.line,
                                 config.services[s].name, sink.error())};
      snap.serviceLogs[s].push_back(std::move(*sink));
    }
  }
  return Ok{};
}

Daemon::Daemon(std::shared_ptr<const model::Config> config, std::vector<std::string> configFiles)
    : config_(std::move(config)), fileConfig_(config_), configFiles_(std::move(configFiles)) {}

Daemon::~Daemon() {
  for (auto& w : workers_) w->requestStop();
  for (auto& w : workers_) w->join();
}

void Daemon::blockSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

Status Daemon::start() {
  if (auto st = control_.init(); !st) return st;
  signals_ = std::make_unique<SignalHandler>(this);
  if (auto st = signals_->open(); !st) return st;
  startedWall_ = wallNow();
  startedMono_ = monotonicNow();

  nworkers_ = workerCount(*config_);
  proxy::WorkerOptions opts;
  const uint32_t maxconn = effectiveMaxconn(*config_, &hardMaxconn_);
  stats_.maxconn.store(maxconn);
  if (!config_->global.nosplice) {
    // HAProxy's default: a quarter of maxconn; shared out between the workers.
    uint64_t pipes = config_->global.maxpipes > 0 ? config_->global.maxpipes : maxconn / 4;
    opts.maxPipes = std::max<uint64_t>(1, pipes / static_cast<uint64_t>(nworkers_));
  }

  auto bound = openListeners(*config_, nworkers_);
  if (!bound) return Error{bound.error()};
  for (BoundListener& bl : *bound) {
    auto shared = std::make_shared<proxy::BindShared>();
    shared->maxconn.store(at(at(config_->services, bl.service).binds, bl.bind).maxconn);
    listeners_.push_back(Listener{std::move(bl), std::move(shared)});
  }

  auto snap = model::Snapshot::initial(config_);
  if (auto st = openServiceLogs(*config_, *snap); !st) return st;
  // Health checks run on the control loop; the data path reaches them (passive
  // observation) through the snapshot's signal, which wakes this loop.
  health_ = std::make_unique<health::HealthMonitor>(control_, snap, publisher_);
  snap->healthSignal = health_->signal();
  control_.setWakeHandler([this] { health_->onWake(); });
  box_.publish(std::move(snap));

  for (int w = 0; w < nworkers_; ++w) {
    opts.cpus = cpusOfThread(*config_, static_cast<uint32_t>(w + 1));
    auto worker = std::make_unique<proxy::Worker>(w, box_, stats_, opts);
    proxy::ListenerPlan plan{config_, specsFor(static_cast<size_t>(w)), planGeneration_};
    if (auto st = worker->init(std::move(plan)); !st) return st;
    workers_.push_back(std::move(worker));
  }
  for (auto& w : workers_) w->start();
  if (auto st = health_->start(); !st) return st;
  // At start a runtime API socket or admin listener that cannot open is fatal (as in
  // HAProxy); at a reload it is logged and the rest applies.
  if (auto st = applyAdminEndpoints(*config_); !st) return st;
  control_.timers().arm(&rateTick_, control_.now() + kSeconds);

  for (const Listener& l : listeners_)
    log::notice("frontend '{}' listening on {}",
                config_->services[static_cast<size_t>(l.bound.service)].name,
                l.bound.addr.toString());
  log::notice("fulcrum started: {} worker thread(s), maxconn {}", nworkers_, maxconn);
  return Ok{};
}

std::vector<proxy::ListenerSpec> Daemon::specsFor(size_t worker) const {
  std::vector<proxy::ListenerSpec> specs;
  if (stopping_) return specs;
  for (const Listener& l : listeners_) {
    const model::Bind& b = at(at(config_->services, l.bound.service).binds, l.bound.bind);
    specs.push_back({l.bound.perWorker[worker].get(), l.bound.service, b.acceptProxy, l.shared});
  }
  return specs;
}

void Daemon::planListeners(const std::shared_ptr<const model::Config>& config,
                           std::vector<Listener> dropped) {
  ++planGeneration_;
  for (size_t w = 0; w < workers_.size(); ++w) {
    proxy::ListenerPlan plan{config, specsFor(w), planGeneration_, {}};
    for (Listener& l : dropped) plan.closing.push_back(std::move(l.bound.perWorker[w]));
    workers_[w]->setListeners(std::move(plan));
  }
}

void Daemon::awaitWorkers() {
  // Workers apply a plan at their next wake-up, within microseconds unless the machine
  // is starved. Waiting for them here means that a change is in force when its caller
  // hears "applied" (a new listener accepts), and that no plan is replaced before it was
  // applied: a listener opened by one reload and dropped by the next is then drained by
  // its worker like any other. Bounded, so that a stuck worker cannot hang the control
  // plane.
  const auto deadline = std::chrono::steady_clock::now() + kAwaitWorkers;
  for (;;) {
    bool all = true;
    for (auto& w : workers_) all = all && w->listenersApplied() >= planGeneration_;
    if (all) return;
    if (std::chrono::steady_clock::now() >= deadline) {
      log::warning("workers have not applied the new configuration after {} ms; going on",
                   std::chrono::duration_cast<std::chrono::milliseconds>(kAwaitWorkers).count());
      return;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

void Daemon::publish(std::shared_ptr<model::Snapshot> snap) {
  box_.publish(std::move(snap));
  for (auto& w : workers_) w->snapshotChanged();
}

Status Daemon::apply(std::shared_ptr<const model::Config> next, std::string_view what) {
  if (stopping_) return Error{"the process is stopping"};
  warnRestartOnly(*config_, *next);
  // 1. Everything that can fail, before anything changes: the listeners that are new
  //    (those with the same address and socket options keep their sockets), the log sinks.
  std::vector<int> reuse;  // per new listener: index into listeners_, or -1
  std::vector<Listener> fresh;
  std::vector<bool> taken(listeners_.size(), false);
  for (size_t s = 0; s < next->services.size(); ++s) {
    const model::Service& svc = next->services[s];
    if (!proxyListened(svc)) continue;
    for (size_t b = 0; b < svc.binds.size(); ++b) {
      const std::string key = listenerKey(svc, svc.binds[b]);
      int found = -1;
      for (size_t i = 0; i < listeners_.size() && found < 0; ++i)
        if (!taken[i] && listeners_[i].bound.key == key) found = static_cast<int>(i);
      if (found >= 0) {
        taken[static_cast<size_t>(found)] = true;
        reuse.push_back(found);
        continue;
      }
      auto bl = openListener(*next, static_cast<int>(s), static_cast<int>(b), nworkers_);
      if (!bl) return Error{bl.error()};
      reuse.push_back(-1);
      fresh.push_back(Listener{std::move(*bl), std::make_shared<proxy::BindShared>()});
    }
  }
  auto snap = model::Snapshot::successor(next, *box_.current());
  if (auto st = openServiceLogs(*next, *snap); !st) return st;

  // 2. Commit. The listeners in the new config's order, with its indices.
  std::vector<Listener> listeners;
  size_t freshAt = 0, k = 0;
  for (size_t s = 0; s < next->services.size(); ++s) {
    const model::Service& svc = next->services[s];
    if (!proxyListened(svc)) continue;
    for (size_t b = 0; b < svc.binds.size(); ++b, ++k) {
      Listener l;
      if (reuse[k] >= 0) {
        l = std::move(listeners_[static_cast<size_t>(reuse[k])]);  // same sockets, same count
        updateListener(l.bound, svc, svc.binds[b]);
      } else {
        l = std::move(fresh[freshAt++]);
        log::notice("frontend '{}' listening on {}", svc.name, l.bound.addr.toString());
      }
      l.bound.service = static_cast<int>(s);
      l.bound.bind = static_cast<int>(b);
      l.shared->maxconn.store(svc.binds[b].maxconn);
      listeners.push_back(std::move(l));
    }
  }
  std::vector<Listener> dropped;
  for (size_t i = 0; i < listeners_.size(); ++i) {
    if (taken[i]) continue;
    log::notice("listener {} closed (no longer in the configuration)",
                listeners_[i].bound.addr.toString());
    dropped.push_back(std::move(listeners_[i]));
  }
  listeners_ = std::move(listeners);
  const std::shared_ptr<const model::Config> prev = config_;
  config_ = next;
  snap->runtime = health_->reconfigure(snap);
  // Each worker drains and closes its sockets of the dropped listeners.
  planListeners(config_, std::move(dropped));
  publish(std::move(snap));
  awaitWorkers();
  (void)applyAdminEndpoints(*config_);
  log::notice("configuration applied ({}): {} frontend(s), {} backend(s), {} listener(s)", what,
              config_->services.size(), config_->pools.size(), listeners_.size());
  return Ok{};
}

// The runtime API sockets and admin HTTP listeners of a config: unchanged ones stay
// (their clients too), others are opened or closed. A failure to open one is logged and
// does not undo the rest of a reload. Dropped ones are destroyed on the next tick, not
// here: the request being served (a "reload" on the runtime API) may come from one of
// them; one whose path or address a dropped one still holds opens on that tick.
Status Daemon::applyAdminEndpoints(const model::Config& next) {
  Status result = Ok{};
  std::vector<std::unique_ptr<admin::ApiServer>> apis;
  for (const model::StatsSocket& sock : next.global.statsSockets) {
    for (auto& a : apiServers_) {
      if (a && a->socket().path == sock.path && a->socket().mode == sock.mode &&
          a->socket().level == sock.level) {
        apis.push_back(std::move(a));
        break;
      }
    }
  }
  for (auto& a : apiServers_)
    if (a) retiredApis_.push_back(std::move(a));
  apiServers_ = std::move(apis);
  bool pending = false;
  for (const model::StatsSocket& sock : next.global.statsSockets) {
    bool have = false, held = false;
    for (auto& a : apiServers_) have = have || a->socket().path == sock.path;
    for (auto& a : retiredApis_) held = held || a->socket().path == sock.path;
    if (have) continue;
    if (held) {
      pending = true;
      continue;
    }
    auto server = std::make_unique<admin::ApiServer>(control_, api_, sock, next.global.statsTimeout,
                                                     next.global.statsMaxconn);
    if (auto st = server->open(); !st) {
      std::string why = fmt::format("{}:{}: {}", sock.loc.file, sock.loc.line, st.error());
      log::error("{}", why);
      if (result) result = Error{why};
      continue;
    }
    log::notice("runtime API on {}", sock.path);
    apiServers_.push_back(std::move(server));
  }

  std::vector<std::unique_ptr<admin::AdminHttpServer>> https;
  for (const model::StatsHttpBind& b : next.global.statsHttp) {
    for (auto& h : httpServers_) {
      if (h && h->bind().text == b.text) {
        https.push_back(std::move(h));
        break;
      }
    }
  }
  for (auto& h : httpServers_)
    if (h) retiredHttp_.push_back(std::move(h));
  httpServers_ = std::move(https);
  for (const model::StatsHttpBind& b : next.global.statsHttp) {
    bool have = false, held = false;
    for (auto& h : httpServers_) have = have || h->bind().text == b.text;
    for (auto& h : retiredHttp_) held = held || h->bind().addr == b.addr;
    if (have) continue;
    if (held) {
      pending = true;
      continue;
    }
    auto server = std::make_unique<admin::AdminHttpServer>(control_, *this, &rates_, b);
    if (auto st = server->open(); !st) {
      std::string why =
          fmt::format("{}:{}: stats bind {}: {}", b.loc.file, b.loc.line, b.text, st.error());
      log::error("{}", why);
      if (result) result = Error{why};
      continue;
    }
    log::notice("admin HTTP (metrics, stats page) on {}", server->boundAddr().toString());
    httpServers_.push_back(std::move(server));
  }
  adminPending_ = pending;
  if (!retiredApis_.empty() || !retiredHttp_.empty())
    control_.timers().arm(&retireTick_, control_.now());
  return result;
}

void Daemon::closeRetired() {
  const bool reopen = adminPending_ && !stopping_;
  retiredApis_.clear();
  retiredHttp_.clear();
  if (reopen) (void)applyAdminEndpoints(*config_);
}

void Daemon::sampleRates() {
  rates_.sample(*box_.current(), control_.now());
  control_.timers().arm(&rateTick_, control_.now() + kSeconds);
}

void Daemon::onSignal(int signo) {
  switch (signo) {
    case SIGTERM:
      if (stopping_) {
        log::notice("received SIGTERM again, stopping now");
        hardStop();
      } else {
        beginGracefulStop();
      }
      break;
    case SIGINT:
      log::notice("received SIGINT, stopping now");
      hardStop();
      break;
    case SIGHUP: {
      log::notice("received SIGHUP, reloading the configuration");
      (void)reload();
      break;
    }
    default: break;
  }
}

void Daemon::beginGracefulStop() {
  stopping_ = true;
  const int64_t active = stats_.active.load();
  const Micros limit = config_->global.hardStopAfter;
  log::notice("received SIGTERM, stopping: listeners closed, waiting for {} connection(s) to end{}",
              active,
              limit > 0 ? fmt::format(" (hard-stop-after {} ms)", limit / kMillis)
                        : std::string(" (no hard-stop-after: as long as they last)"));
  // The workers stop accepting: each drains its sockets (clients already connected are
  // served) and closes them.
  planListeners(config_, std::move(listeners_));
  listeners_.clear();
  for (auto& w : workers_) w->snapshotChanged();
  awaitWorkers();  // the drained clients count as active before checkDrained() looks
  if (limit > 0) control_.timers().arm(&hardStopTick_, control_.now() + limit);
  checkDrained();
}

void Daemon::checkDrained() {
  if (stats_.active.load() <= 0) {
    log::notice("all connections ended");
    control_.stop();
    return;
  }
  control_.timers().arm(&drainTick_, control_.now() + kDrainPoll);
}

void Daemon::hardStop() {
  if (stopping_ && stats_.active.load() > 0)
    log::warning("closing {} connection(s) still open", stats_.active.load());
  control_.stop();
}

void Daemon::RuntimePublisher::publishRuntime(
    std::vector<std::vector<model::ServerRuntime>> runtime, bool shutdown) {
  // Same config, counters and log sinks; new server states and weights.
  auto cur = d_->box_.current();
  auto next = std::make_shared<model::Snapshot>(*cur);
  next->generation = cur->generation + 1;
  next->runtime = std::move(runtime);
  if (shutdown) ++next->shutdownSeq;
  d_->publish(std::move(next));
}

int Daemon::run() {
  control_.run();
  control_.timers().cancel(&rateTick_);
  control_.timers().cancel(&retireTick_);
  control_.timers().cancel(&drainTick_);
  control_.timers().cancel(&hardStopTick_);
  apiServers_.clear();
  httpServers_.clear();
  retiredApis_.clear();
  retiredHttp_.clear();
  if (health_) health_->stop();
  for (auto& w : workers_) w->requestStop();
  for (auto& w : workers_) w->join();
  workers_.clear();
  log::notice("fulcrum stopped");
  return exitCode_;
}

// ---- admin::Control ----

admin::ProcessInfo Daemon::processInfo() const {
  admin::ProcessInfo info;
  info.pid = getpid();
  info.version = FULCRUM_VERSION;
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) == 0) info.node = host;
  info.startedWall = startedWall_;
  info.uptime = monotonicNow() - startedMono_;
  info.threads = static_cast<uint32_t>(nworkers_);
  info.maxconn = stats_.maxconn.load();
  info.hardMaxconn = hardMaxconn_;
  info.reloads = reloads_;
  info.failedReloads = failedReloads_;
  info.openFds = countOpenFds();
  info.stopping = stopping_;
  return info;
}

uint32_t Daemon::initialWeight(int pool, int server) const {
  const model::Server& srv = at(at(config_->pools, pool).servers, server);
  int fp = fileConfig_->findPool(at(config_->pools, pool).name);
  if (fp >= 0) {
    for (const model::Server& f : at(fileConfig_->pools, fp).servers)
      if (f.name == srv.name) return f.weight;
  }
  return srv.weight;
}

std::vector<model::SessionInfo> Daemon::sessions() {
  auto dump = std::make_shared<proxy::SessionDump>();
  dump->pending = static_cast<int>(workers_.size());
  for (auto& w : workers_) w->requestSessions(dump);
  std::unique_lock<std::mutex> lock(dump->mu);
  dump->cv.wait_for(lock, kSessionDumpWait, [&] { return dump->pending == 0; });
  return dump->sessions;
}

namespace {

Status checkIndices(const model::Config& cfg, int pool, int server) {
  if (pool < 0 || static_cast<size_t>(pool) >= cfg.pools.size()) return Error{"No such backend."};
  if (server < 0 ||
      static_cast<size_t>(server) >= cfg.pools[static_cast<size_t>(pool)].servers.size())
    return Error{"No such server."};
  return Ok{};
}

}  // namespace

Status Daemon::setServerAdmin(int pool, int server, health::AdminRequest req) {
  if (auto st = checkIndices(*config_, pool, server); !st) return st;
  health_->setAdmin(pool, server, req);
  return Ok{};
}

Status Daemon::setHealthChecks(int pool, int server, bool enabled) {
  if (auto st = checkIndices(*config_, pool, server); !st) return st;
  const model::Server& srv = at(at(config_->pools, pool).servers, server);
  // As HAProxy: enabling what is not configured is refused, disabling it is a no-op.
  if (!srv.check.enabled && srv.observe.mode == model::Observe::kNone) {
    if (!enabled) return Ok{};
    return Error{"Health check was not configured on this server, cannot enable."};
  }
  health_->setChecksStopped(pool, server, !enabled);
  return Ok{};
}

Status Daemon::setAgentChecks(int pool, int server, bool enabled) {
  if (auto st = checkIndices(*config_, pool, server); !st) return st;
  if (!at(at(config_->pools, pool).servers, server).agent.enabled) {
    if (!enabled) return Ok{};
    return Error{"Agent was not configured on this server, cannot enable."};
  }
  health_->setAgentStopped(pool, server, !enabled);
  return Ok{};
}

Status Daemon::applyConfig(std::shared_ptr<const model::Config> next, std::string_view what) {
  auto st = apply(std::move(next), what);
  if (!st) log::warning("runtime change ({}) not applied: {}", what, st.error());
  return st;
}

void Daemon::setGlobalMaxconn(uint32_t maxconn) {
  stats_.maxconn.store(maxconn);
  log::notice("global maxconn set to {}", maxconn);
}

void Daemon::shutdownSessions(int pool, int server) {
  if (!checkIndices(*config_, pool, server)) return;
  auto cur = box_.current();
  at(at(cur->serverStats, pool), server)->shutdownEpoch.fetch_add(1);
  auto next = std::make_shared<model::Snapshot>(*cur);
  next->generation = cur->generation + 1;
  ++next->shutdownSeq;
  publish(std::move(next));
}

admin::ReloadOutcome Daemon::reload() {
  admin::ReloadOutcome out;
  if (stopping_) {
    out.messages.push_back("reload refused: the process is stopping");
    return out;
  }
  config::LoadResult loaded = config::loadFiles(configFiles_);
  for (const config::Diagnostic& d : loaded.diagnostics) out.messages.push_back(d.format());
  if (!loaded.ok()) {
    ++failedReloads_;
    for (const std::string& m : out.messages) log::error("{}", m);
    log::error("reload failed: the configuration has errors; the running one stays");
    out.messages.push_back("reload failed: the configuration has errors; the running one stays");
    return out;
  }
  for (const std::string& m : out.messages) log::warning("{}", m);
  std::shared_ptr<const model::Config> next = std::move(loaded.config);
  if (auto st = apply(next, "reload"); !st) {
    ++failedReloads_;
    log::error("reload failed: {}; the running configuration stays", st.error());
    out.messages.push_back(
        fmt::format("reload failed: {}; the running configuration stays", st.error()));
    return out;
  }
  // A changed global maxconn applies (an unchanged one leaves a runtime "set maxconn
  // global" in force).
  if (next->global.maxconn != fileConfig_->global.maxconn)
    setGlobalMaxconn(effectiveMaxconn(*next, &hardMaxconn_));
  fileConfig_ = next;
  ++reloads_;
  out.ok = true;
  out.messages.push_back("configuration reloaded");
  return out;
}

}  // namespace fulcrum::daemon
