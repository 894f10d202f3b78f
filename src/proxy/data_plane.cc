#include "proxy/data_plane.h"

#include <chrono>

#include "common/index.h"
#include "common/log.h"

namespace fulcrum::proxy {
namespace {

// How long "show sess" waits for the workers.
constexpr auto kSessionDumpWait = std::chrono::seconds(2);

}  // namespace

ProxyDataPlane::ProxyDataPlane(const control::PublicationBox& box, size_t slot,
                               model::ProcessStats& stats, ProxyOptions opts)
    : box_(box), slot_(slot), stats_(stats), opts_(std::move(opts)) {}

ProxyDataPlane::~ProxyDataPlane() { stop(); }

Result<std::shared_ptr<const control::DataPlanePlan>> ProxyDataPlane::plan(
    const model::Config& next, bool draining) {
  auto plan = std::make_shared<ProxyPlan>();
  if (draining) return std::shared_ptr<const control::DataPlanePlan>(std::move(plan));
  // Sockets of the plan in force, reusable by key (each at most once).
  std::vector<std::shared_ptr<ListenerSockets>> open;
  if (current_)
    for (const PlannedListener& pl : current_->listeners) open.push_back(pl.sockets);
  for (size_t s = 0; s < next.services.size(); ++s) {
    const model::Service& svc = next.services[s];
    const bool udp = udpListened(svc);
    if (!proxyListened(svc) && !udp) continue;
    for (size_t b = 0; b < svc.binds.size(); ++b) {
      const model::Bind& bind = svc.binds[b];
      const std::string key = (udp ? "udp|" : "") + listenerKey(svc, bind);
      std::shared_ptr<ListenerSockets> sockets;
      for (auto& o : open) {
        if (o && o->key == key) {
          sockets = std::move(o);
          break;
        }
      }
      if (!sockets) {
        auto opened = udp ? openUdpListener(svc, bind, opts_.workers)
                          : openListener(svc, bind, opts_.workers);
        if (!opened) return Error{opened.error()};
        sockets = std::move(*opened);
      }
      plan->listeners.push_back({std::move(sockets), static_cast<int>(s), static_cast<int>(b), udp,
                                 bind.acceptProxy, bind.maxconn, backlogOf(svc, bind),
                                 bind.deferAccept, bind.tfo});
    }
  }
  // Nothing changed for the listeners (a runtime change): the workers see the same plan.
  if (current_ && current_->listeners == plan->listeners)
    return std::shared_ptr<const control::DataPlanePlan>(current_);
  return std::shared_ptr<const control::DataPlanePlan>(std::move(plan));
}

void ProxyDataPlane::published(const control::Publication& pub) {
  auto next = std::static_pointer_cast<const ProxyPlan>(pub.plans.at(slot_));
  if (next != current_) {
    const model::Config& cfg = pub.config();
    for (const PlannedListener& pl : next->listeners) {
      bool kept = false;
      if (current_)
        for (const PlannedListener& o : current_->listeners) kept = kept || o.sockets == pl.sockets;
      if (kept) {
        if (!pl.udp) updateListener(*pl.sockets, pl);
      } else {
        log::notice("frontend '{}' listening on {}{}", at(cfg.services, pl.service).name,
                    pl.udp ? "udp " : "", pl.sockets->addr.toString());
      }
    }
    if (current_) {
      for (const PlannedListener& o : current_->listeners) {
        bool kept = false;
        for (const PlannedListener& pl : next->listeners) kept = kept || o.sockets == pl.sockets;
        if (!kept)
          log::notice("listener {} closed (no longer in the configuration)",
                      o.sockets->addr.toString());
      }
    }
    current_ = std::move(next);
  }
  for (auto& w : workers_) w->publicationChanged();
}

Status ProxyDataPlane::start() {
  for (int w = 0; w < opts_.workers; ++w) {
    WorkerOptions wo = opts_.worker;
    if (static_cast<size_t>(w) < opts_.cpus.size()) wo.cpus = opts_.cpus[static_cast<size_t>(w)];
    auto worker = std::make_unique<Worker>(w, box_, slot_, stats_, acks_, std::move(wo));
    if (auto st = worker->init(); !st) return st;
    workers_.push_back(std::move(worker));
  }
  for (auto& w : workers_) w->start();
  return Ok{};
}

bool ProxyDataPlane::awaitApplied(uint64_t generation, Micros timeout) {
  std::unique_lock<std::mutex> lock(acks_.mu);
  return acks_.cv.wait_for(lock, std::chrono::microseconds(timeout), [&] {
    for (const auto& w : workers_)
      if (w->applied() < generation) return false;
    return true;
  });
}

void ProxyDataPlane::stop() {
  for (auto& w : workers_) w->requestStop();
  for (auto& w : workers_) w->join();
  workers_.clear();
}

std::vector<model::SessionInfo> ProxyDataPlane::sessions() {
  auto dump = std::make_shared<SessionDump>();
  dump->pending = static_cast<int>(workers_.size());
  for (auto& w : workers_) w->requestSessions(dump);
  std::unique_lock<std::mutex> lock(dump->mu);
  dump->cv.wait_for(lock, kSessionDumpWait, [&] { return dump->pending == 0; });
  return dump->sessions;
}

}  // namespace fulcrum::proxy
