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
#include "daemon/notify.h"
#include "daemon/process.h"
#include "daemon/server_state.h"

namespace fulcrum::daemon {
namespace {

// Descriptors kept aside for the control plane (config files, sockets, checks).
constexpr uint32_t kReservedFds = 64;
// How long a change waits for the data planes to apply it (see awaitDataPlanes).
constexpr Micros kAwaitDataPlanes = 1 * kSeconds;
// How often a graceful stop looks whether the last connection has ended.
constexpr Micros kDrainPoll = 50 * kMillis;

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
  if (cur.global.uid != next.global.uid) warn("user/uid");
  if (cur.global.gid != next.global.gid) warn("group/gid");
  if (cur.global.chroot != next.global.chroot) warn("chroot");
  if (cur.global.daemon != next.global.daemon) warn("daemon");
  if (cur.global.pidfile != next.global.pidfile) warn("pidfile");
  if (cur.global.ulimitN != next.global.ulimitN) warn("ulimit-n");
  if (serverStatePath(cur.global) != serverStatePath(next.global)) warn("server-state-file");
  const model::XdpSettings &a = cur.global.xdp, &b = next.global.xdp;
  bool sameInterfaces = a.interfaces.size() == b.interfaces.size();
  for (size_t i = 0; sameInterfaces && i < a.interfaces.size(); ++i)
    sameInterfaces = a.interfaces[i].name == b.interfaces[i].name &&
                     a.interfaces[i].generic == b.interfaces[i].generic;
  if (!sameInterfaces) warn("xdp-interface");
  if (a.connTable != b.connTable) warn("xdp-conn-table");
  if (a.maxServices != b.maxServices) warn("xdp-max-services");
  if (a.maxReals != b.maxReals) warn("xdp-max-reals");
  if (a.pinPath != b.pinPath) warn("xdp-pin-path");
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
    sigaddset(&set, SIGQUIT);
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

Daemon::Daemon(std::shared_ptr<const model::Config> config, std::vector<std::string> configFiles)
    : initialConfig_(std::move(config)), configFiles_(std::move(configFiles)) {}

Daemon::~Daemon() {
  if (proxy_) proxy_->stop();
  if (xdp_) {
    if (leavePacketPath_)
      xdp_->leave();
    else
      xdp_->stop();
  }
}

void Daemon::blockSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGQUIT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

Status Daemon::start() {
  if (auto st = control_.init(); !st) return st;
  signals_ = std::make_unique<SignalHandler>(this);
  if (auto st = signals_->open(); !st) return st;
  startedWall_ = wallNow();
  startedMono_ = monotonicNow();
  const model::Config& cfg = *initialConfig_;

  nworkers_ = workerCount(cfg);
  if (auto st = applyUlimitN(cfg.global); !st) return st;
  proxy::ProxyOptions opts;
  opts.workers = nworkers_;
  const uint32_t maxconn = effectiveMaxconn(cfg, &hardMaxconn_);
  stats_.maxconn.store(maxconn);
  if (!cfg.global.nosplice) {
    // HAProxy's default: a quarter of maxconn; shared out between the workers.
    uint64_t pipes = cfg.global.maxpipes > 0 ? cfg.global.maxpipes : maxconn / 4;
    opts.worker.maxPipes = std::max<uint64_t>(1, pipes / static_cast<uint64_t>(nworkers_));
  }
  for (int w = 0; w < nworkers_; ++w)
    opts.cpus.push_back(cpusOfThread(cfg, static_cast<uint32_t>(w + 1)));
  proxy_ = std::make_unique<proxy::ProxyDataPlane>(box_, planes_.size(), stats_, std::move(opts));
  planes_.push_back(proxy_.get());
  // The packet data plane loads BPF only once a packet service exists.
  xdp_ = std::make_unique<xdp::XdpDataPlane>(box_, planes_.size());
  planes_.push_back(xdp_.get());
  builder_ = std::make_unique<control::Builder>(box_, planes_);

  // "load-server-state-from-file": the servers' state of the previous process, read now
  // (before any chroot); addresses become runtime overrides ("set server addr").
  const ServerStatePlan loaded = loadServerState(cfg);
  for (const std::string& m : loaded.notices) log::notice("{}", m);
  for (const std::string& m : loaded.warnings) log::warning("{}", m);
  control::RuntimeOverrides overrides;
  for (const ServerStateAction& a : loaded.actions)
    if (a.addr) overrides.setServerAddr(cfg, cfg, a.pool, a.server, *a.addr);

  // The packet data plane's pinned maps of an earlier process (xdp-pin-path): its servers
  // get their real indices back, so the connection table's flows keep their reals.
  {
    std::vector<control::RealSeed> seeds;
    for (const xdp::AdoptedReal& r : xdp::adoptedReals(cfg.global.xdp.pinPath))
      seeds.push_back({r.index, r.addr, r.port});
    if (!seeds.empty()) {
      log::notice(
          "packet data plane: {} real(s) pinned in '{}' by an earlier process keep their "
          "index",
          seeds.size(), cfg.global.xdp.pinPath);
      builder_->seedReals(std::move(seeds));
    }
  }
  // The first publication: listeners opened, log sinks opened, every server UP (or MAINT).
  auto change = builder_->prepare(std::move(initialConfig_), std::move(overrides));
  if (!change) return Error{change.error()};
  // Health checks run on the control loop; the data path reaches them (passive
  // observation) through the snapshot's signal, which wakes this loop.
  health_ = std::make_unique<health::HealthMonitor>(control_, change->snapshot, publisher_);
  change->snapshot->healthSignal = health_->signal();
  control_.setWakeHandler([this] { health_->onWake(); });
  builder_->commit(std::move(*change));
  // The states and weights of the state file, before the data planes start.
  for (const ServerStateAction& a : loaded.actions) {
    if (a.admin) health_->setAdmin(a.pool, a.server, *a.admin);
    if (a.down) health_->loadDown(a.pool, a.server);
    if (a.userWeight) health_->setUserWeight(a.pool, a.server, *a.userWeight);
  }
  if (!loaded.actions.empty())
    log::notice("server state loaded for {} server(s)", loaded.actions.size());

  // At start a runtime API socket or admin listener that cannot open is fatal (as in
  // HAProxy); at a reload it is logged and the rest applies.
  if (auto st = applyAdminEndpoints(builder_->config()); !st) return st;
  // Every socket that may need root is open (listeners, runtime API, admin HTTP): the
  // pid file, then the privileges go, before any thread starts (capabilities are per
  // thread; the workers inherit the main thread's).
  pidfile_ = builder_->config().global.pidfile;
  if (auto dir = writePidfile(pidfile_); dir)
    pidDir_ = std::move(*dir);
  else
    return Error{dir.error()};
  // The server state file is written through its directory, opened now.
  stateFile_ = serverStatePath(builder_->config().global);
  if (!stateFile_.empty()) stateDir_ = openParentDir(stateFile_);
  // A reload after a chroot reads the files through their directories, opened now.
  if (const std::string& root = builder_->config().global.chroot; !root.empty()) {
    auto opener = openConfigDirs(configFiles_);
    if (!opener) return Error{opener.error()};
    openConfig_ = std::move(*opener);
    if (auto st = enterChroot(root); !st) return st;
  }
  if (auto st = dropPrivileges(builder_->config().global); !st) return st;
  if (auto st = proxy_->start(); !st) return st;
  if (auto st = xdp_->start(); !st) return st;
  if (auto st = health_->start(); !st) return st;
  control_.timers().arm(&rateTick_, control_.now() + kSeconds);
  log::notice("fulcrum started: {} worker thread(s), maxconn {}", nworkers_, maxconn);
  notify::ready();
  return Ok{};
}

void Daemon::awaitDataPlanes() {
  if (!builder_->await(builder_->generation(), kAwaitDataPlanes))
    log::warning("data plane threads have not applied the change after {} ms; going on",
                 kAwaitDataPlanes / kMillis);
}

Status Daemon::apply(std::shared_ptr<const model::Config> file, control::RuntimeOverrides overrides,
                     std::string_view what) {
  if (stopping_) return Error{"the process is stopping"};
  warnRestartOnly(builder_->config(), *file);
  // 1. Everything that can fail, before anything changes: the config in force, the new
  //    listeners (those with the same address and socket options keep their sockets),
  //    the log sinks.
  auto change = builder_->prepare(std::move(file), std::move(overrides));
  if (!change) return Error{change.error()};
  // 2. Commit: the health checks follow the servers by name; then publish and wait.
  change->snapshot->runtime = health_->reconfigure(change->snapshot);
  builder_->commit(std::move(*change));
  awaitDataPlanes();
  const model::Config& cfg = builder_->config();
  (void)applyAdminEndpoints(cfg);
  size_t listeners = proxy_->current() ? proxy_->current()->listeners.size() : 0;
  log::notice("configuration applied ({}): {} frontend(s), {} backend(s), {} listener(s)", what,
              cfg.services.size(), cfg.pools.size(), listeners);
  return Ok{};
}

template <typename Fn>
Status Daemon::changeOverrides(std::string_view what, Fn fn) {
  control::RuntimeOverrides overrides = builder_->overrides();
  fn(overrides);
  // The files' config is shared, not read again.
  auto st = apply(builder_->filePtr(), std::move(overrides), what);
  if (!st) log::warning("runtime change ({}) not applied: {}", what, st.error());
  return st;
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
      if (h && h->bind().sameAs(b)) {
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
    for (auto& h : httpServers_) have = have || h->bind().sameAs(b);
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
  if (reopen) (void)applyAdminEndpoints(builder_->config());
}

std::optional<std::vector<admin::PacketCounter>> Daemon::packetCounters() const {
  auto stats = xdp_ ? xdp_->stats() : std::nullopt;
  if (!stats) return std::nullopt;
  std::vector<admin::PacketCounter> out;
  for (const xdp::NamedCounter& c : xdp::namedCounters(stats->global))
    out.push_back({c.name, c.value, c.help});
  return out;
}

Result<std::string> Daemon::packetFlow(model::Protocol proto, const SockAddr& vip,
                                       const SockAddr& client) const {
  return xdp_->whichReal(*box_.current(), proto, vip, client);
}

void Daemon::sampleRates() {
  rates_.sample(*box_.current()->snapshot, control_.now());
  if (xdp_) xdp_->tick(*box_.current()->snapshot);
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
    case SIGQUIT:
      // An upgrade: the next start adopts the pinned packet data plane (xdp-pin-path).
      log::notice("received SIGQUIT, stopping now; the packet data plane keeps forwarding{}",
                  builder_->config().global.xdp.pinPath.empty()
                      ? " only with xdp-pin-path (not set: it stops too)"
                      : " (pinned) for the next start");
      leavePacketPath_ = true;
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
  notify::stopping();
  const int64_t active = stats_.active.load();
  const Micros limit = builder_->config().global.hardStopAfter;
  log::notice("received SIGTERM, stopping: listeners closed, waiting for {} connection(s) to end{}",
              active,
              limit > 0 ? fmt::format(" (hard-stop-after {} ms)", limit / kMillis)
                        : std::string(" (no hard-stop-after: as long as they last)"));
  // The data planes stop taking new traffic: the proxy's workers drain their listening
  // sockets (clients already connected are served) and close them.
  builder_->drain();
  awaitDataPlanes();  // the drained clients count as active before checkDrained() looks
  writeServerState();
  if (limit > 0) control_.timers().arm(&hardStopTick_, control_.now() + limit);
  checkDrained();
}

// "server-state-file": the servers' state as "show servers state" prints it (version 1,
// HAProxy's format), replaced atomically.
void Daemon::writeServerState() {
  if (stateFile_.empty()) return;
  const std::string text = api_.execute("show servers state", model::ApiLevel::kAdmin);
  if (auto st = writeFileAt(stateDir_, stateFile_, text); !st)
    log::warning("server-state-file: {}", st.error());
  else
    log::notice("server state written to {}", stateFile_);
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
  // Same config, counters, log sinks and plans; new server states and weights.
  d_->builder_->publishRuntime(std::move(runtime), shutdown);
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
  if (leavePacketPath_ && xdp_) xdp_->leave();  // SIGQUIT: the pinned packet path stays
  for (control::DataPlane* dp : planes_) dp->stop();
  removePidfile(pidDir_, pidfile_);
  log::notice("fulcrum stopped");
  return exitCode_;
}

// ---- admin::Control ----

admin::ProcessInfo Daemon::processInfo() const {
  admin::ProcessInfo info;
  info.pid = getpid();
  info.version = FULCRUM_VERSION;
  info.releaseDate = FULCRUM_RELEASE_DATE;
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

std::vector<model::SessionInfo> Daemon::sessions() {
  std::vector<model::SessionInfo> all;
  for (control::DataPlane* dp : planes_) {
    auto some = dp->sessions();
    all.insert(all.end(), some.begin(), some.end());
  }
  return all;
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
  if (auto st = checkIndices(builder_->config(), pool, server); !st) return st;
  health_->setAdmin(pool, server, req);
  awaitDataPlanes();
  return Ok{};
}

Status Daemon::setServerWeight(int pool, int server, uint32_t weight) {
  if (auto st = checkIndices(builder_->config(), pool, server); !st) return st;
  if (stopping_) return Error{"the process is stopping"};
  health_->setUserWeight(pool, server, weight);
  awaitDataPlanes();
  return Ok{};
}

Status Daemon::setServerAddr(int pool, int server, const SockAddr& addr) {
  if (auto st = checkIndices(builder_->config(), pool, server); !st) return st;
  const model::Config& cfg = builder_->config();
  return changeOverrides(fmt::format("set server {}/{} addr", at(cfg.pools, pool).name,
                                     at(at(cfg.pools, pool).servers, server).name),
                         [&](control::RuntimeOverrides& o) {
                           o.setServerAddr(cfg, builder_->fileConfig(), pool, server, addr);
                         });
}

Status Daemon::setServerMaxconn(int pool, int server, uint32_t maxconn) {
  if (auto st = checkIndices(builder_->config(), pool, server); !st) return st;
  const model::Config& cfg = builder_->config();
  return changeOverrides(fmt::format("set maxconn server {}/{}", at(cfg.pools, pool).name,
                                     at(at(cfg.pools, pool).servers, server).name),
                         [&](control::RuntimeOverrides& o) {
                           o.setServerMaxconn(cfg, builder_->fileConfig(), pool, server, maxconn);
                         });
}

Status Daemon::setFrontendMaxconn(int service, uint32_t maxconn) {
  const model::Config& cfg = builder_->config();
  if (service < 0 || static_cast<size_t>(service) >= cfg.services.size())
    return Error{"No such frontend."};
  return changeOverrides(fmt::format("set maxconn frontend {}", at(cfg.services, service).name),
                         [&](control::RuntimeOverrides& o) {
                           o.setFrontendMaxconn(cfg, builder_->fileConfig(), service, maxconn);
                         });
}

Status Daemon::addServer(int pool, model::Server server) {
  const model::Config& cfg = builder_->config();
  if (pool < 0 || static_cast<size_t>(pool) >= cfg.pools.size()) return Error{"No such backend."};
  const std::string what = fmt::format("add server {}/{}", at(cfg.pools, pool).name, server.name);
  return changeOverrides(
      what, [&](control::RuntimeOverrides& o) { o.addServer(cfg, pool, std::move(server)); });
}

Status Daemon::addService(model::Protocol proto, const SockAddr& vip,
                          const model::Balance& balance) {
  const model::Config& cfg = builder_->config();
  if (cfg.global.xdp.interfaces.empty())
    return Error{
        "A packet service needs the packet data plane: add 'xdp-interface IFNAME' to "
        "the global section and restart."};
  Status added = Ok{};
  const std::string name = control::RuntimeOverrides::serviceName(proto, vip);
  auto st = changeOverrides("add service " + name, [&](control::RuntimeOverrides& o) {
    added = o.addService(cfg, proto, vip, balance);
  });
  return added ? st : added;
}

Status Daemon::setServiceBalance(const std::string& name, const model::Balance& balance) {
  Status set = Ok{};
  auto st = changeOverrides("set service " + name, [&](control::RuntimeOverrides& o) {
    set = o.setServiceBalance(name, balance);
  });
  return set ? st : set;
}

Status Daemon::delService(const std::string& name) {
  Status gone = Ok{};
  auto st = changeOverrides("del service " + name,
                            [&](control::RuntimeOverrides& o) { gone = o.delService(name); });
  return gone ? st : gone;
}

Status Daemon::delServer(int pool, int server) {
  if (auto st = checkIndices(builder_->config(), pool, server); !st) return st;
  const model::Config& cfg = builder_->config();
  return changeOverrides(fmt::format("del server {}/{}", at(cfg.pools, pool).name,
                                     at(at(cfg.pools, pool).servers, server).name),
                         [&](control::RuntimeOverrides& o) {
                           o.delServer(cfg, builder_->fileConfig(), pool, server);
                         });
}

Status Daemon::setHealthChecks(int pool, int server, bool enabled) {
  if (auto st = checkIndices(builder_->config(), pool, server); !st) return st;
  const model::Server& srv = at(at(builder_->config().pools, pool).servers, server);
  // As HAProxy: enabling what is not configured is refused, disabling it is a no-op.
  if (!srv.check.enabled && srv.observe.mode == model::Observe::kNone) {
    if (!enabled) return Ok{};
    return Error{"Health check was not configured on this server, cannot enable."};
  }
  health_->setChecksStopped(pool, server, !enabled);
  awaitDataPlanes();
  return Ok{};
}

Status Daemon::setAgentChecks(int pool, int server, bool enabled) {
  if (auto st = checkIndices(builder_->config(), pool, server); !st) return st;
  if (!at(at(builder_->config().pools, pool).servers, server).agent.enabled) {
    if (!enabled) return Ok{};
    return Error{"Agent was not configured on this server, cannot enable."};
  }
  health_->setAgentStopped(pool, server, !enabled);
  awaitDataPlanes();
  return Ok{};
}

void Daemon::setGlobalMaxconn(uint32_t maxconn) {
  stats_.maxconn.store(maxconn);
  log::notice("global maxconn set to {}", maxconn);
}

void Daemon::shutdownSessions(int pool, int server) {
  if (!checkIndices(builder_->config(), pool, server)) return;
  at(at(builder_->current()->snapshot->serverStats, pool), server)->shutdownEpoch.fetch_add(1);
  builder_->publishRuntime(builder_->current()->snapshot->runtime, /*shutdown=*/true);
  awaitDataPlanes();
}

admin::ReloadOutcome Daemon::reload() {
  admin::ReloadOutcome out;
  if (stopping_) {
    out.messages.push_back("reload refused: the process is stopping");
    return out;
  }
  // systemd waits for READY=1 after RELOADING=1, whatever the outcome (a failed reload
  // keeps the running configuration: the service is still ready).
  notify::reloading();
  out = reloadFiles();
  notify::ready();
  return out;
}

admin::ReloadOutcome Daemon::reloadFiles() {
  admin::ReloadOutcome out;
  config::LoadResult loaded = config::loadFiles(configFiles_, {}, openConfig_);
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
  const uint32_t fileMaxconn = builder_->fileConfig().global.maxconn;
  if (auto st = apply(next, builder_->overrides(), "reload"); !st) {
    ++failedReloads_;
    log::error("reload failed: {}; the running configuration stays", st.error());
    out.messages.push_back(
        fmt::format("reload failed: {}; the running configuration stays", st.error()));
    return out;
  }
  // A changed global maxconn applies (an unchanged one leaves a runtime "set maxconn
  // global" in force).
  if (next->global.maxconn != fileMaxconn) setGlobalMaxconn(effectiveMaxconn(*next, &hardMaxconn_));
  ++reloads_;
  writeServerState();
  out.ok = true;
  out.messages.push_back("configuration reloaded");
  return out;
}

}  // namespace fulcrum::daemon
