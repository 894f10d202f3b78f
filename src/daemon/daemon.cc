#include "daemon/daemon.h"

#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/index.h"
#include "common/log.h"
#include "daemon/log_sinks.h"

namespace fulcrum::daemon {
namespace {

// Descriptors kept aside for the control plane (config files, sockets, checks).
constexpr uint32_t kReservedFds = 64;

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
    while (::read(fd_.get(), &si, sizeof(si)) == sizeof(si)) d_->onSignal(static_cast<int>(si.ssi_signo));
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

uint32_t effectiveMaxconn(const model::Config& config) {
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
  uint64_t allowed = fds > 2 * kReservedFds ? (fds - kReservedFds) / 2 : 1;
  if (config.global.maxconn == 0) return static_cast<uint32_t>(std::min<uint64_t>(allowed, UINT32_MAX));
  if (config.global.maxconn > allowed)
    log::warning("global maxconn {} exceeds what the open-file limit {} allows ({}); "
                 "accepts will pause on EMFILE beyond that",
                 config.global.maxconn, fds, allowed);
  return config.global.maxconn;
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

Daemon::Daemon(std::shared_ptr<const model::Config> config) : config_(std::move(config)) {}

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

  const int nworkers = workerCount(*config_);
  proxy::WorkerOptions opts;
  opts.globalMaxconn = effectiveMaxconn(*config_);
  if (!config_->global.nosplice) {
    // HAProxy's default: a quarter of maxconn; shared out between the workers.
    uint64_t pipes = config_->global.maxpipes > 0 ? config_->global.maxpipes
                                                  : opts.globalMaxconn / 4;
    opts.maxPipes = std::max<uint64_t>(1, pipes / static_cast<uint64_t>(nworkers));
  }

  auto bound = openListeners(*config_, nworkers);
  if (!bound) return Error{bound.error()};
  listeners_ = std::move(*bound);

  auto snap = model::Snapshot::initial(config_);
  if (auto st = openServiceLogs(*config_, *snap); !st) return st;
  // Health checks run on the control loop; the data path reaches them (passive
  // observation) through the snapshot's signal, which wakes this loop.
  health_ = std::make_unique<health::HealthMonitor>(control_, snap, publisher_);
  snap->healthSignal = health_->signal();
  control_.setWakeHandler([this] { health_->onWake(); });
  box_.publish(std::move(snap));

  std::vector<std::shared_ptr<proxy::BindShared>> shared;
  for (const BoundListener& bl : listeners_) {
    auto bs = std::make_shared<proxy::BindShared>();
    bs->maxconn = at(at(config_->services, bl.service).binds, bl.bind).maxconn;
    shared.push_back(std::move(bs));
  }
  for (int w = 0; w < nworkers; ++w) {
    std::vector<proxy::ListenerSpec> specs;
    for (size_t i = 0; i < listeners_.size(); ++i) {
      const BoundListener& bl = listeners_[i];
      const model::Bind& b = at(at(config_->services, bl.service).binds, bl.bind);
      specs.push_back({bl.perWorker[static_cast<size_t>(w)].get(), bl.service, b.acceptProxy,
                       shared[i]});
    }
    opts.cpus = cpusOfThread(*config_, static_cast<uint32_t>(w + 1));
    auto worker = std::make_unique<proxy::Worker>(w, box_, stats_, opts);
    if (auto st = worker->init(specs); !st) return st;
    workers_.push_back(std::move(worker));
  }
  for (auto& w : workers_) w->start();
  if (auto st = health_->start(); !st) return st;

  for (const BoundListener& bl : listeners_)
    log::notice("frontend '{}' listening on {}",
                config_->services[static_cast<size_t>(bl.service)].name, bl.addr.toString());
  log::notice("fulcrum started: {} worker thread(s), maxconn {}", nworkers, opts.globalMaxconn);
  return Ok{};
}

void Daemon::onSignal(int signo) {
  switch (signo) {
    case SIGTERM:
    case SIGINT:
      log::notice("received {}, stopping", signo == SIGTERM ? "SIGTERM" : "SIGINT");
      control_.stop();
      break;
    case SIGHUP:
      log::warning("received SIGHUP: configuration reload is not implemented yet; ignored");
      break;
    default:
      break;
  }
}

void Daemon::RuntimePublisher::publishRuntime(
    std::vector<std::vector<model::ServerRuntime>> runtime, bool shutdown) {
  // Same config, counters and log sinks; new server states and weights.
  auto cur = d_->box_.current();
  auto next = std::make_shared<model::Snapshot>(*cur);
  next->generation = cur->generation + 1;
  next->runtime = std::move(runtime);
  if (shutdown) ++next->shutdownSeq;
  d_->box_.publish(std::move(next));
  for (auto& w : d_->workers_) w->snapshotChanged();
}

int Daemon::run() {
  control_.run();
  if (health_) health_->stop();
  for (auto& w : workers_) w->requestStop();
  for (auto& w : workers_) w->join();
  workers_.clear();
  log::notice("fulcrum stopped");
  return exitCode_;
}

}  // namespace fulcrum::daemon
