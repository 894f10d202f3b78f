// ProxyDataPlane: the userspace TCP proxy as a control::DataPlane. It owns the worker
// threads and, through its plans, the listening sockets: plan() opens the listeners a
// config adds (reusing the sockets of those it keeps, by listenerKey), published() wakes
// the workers, which acknowledge each publication they apply.
#pragma once

#include <memory>
#include <vector>

#include "control/data_plane.h"
#include "model/stats.h"
#include "proxy/listeners.h"
#include "proxy/worker.h"

namespace fulcrum::proxy {

struct ProxyOptions {
  int workers = 1;
  WorkerOptions worker;                // the same for every worker but its CPUs
  std::vector<std::vector<int>> cpus;  // per worker (cpu-map); empty: not pinned
};

class ProxyDataPlane final : public control::DataPlane {
 public:
  // Reads publications from `box`, its plan at `slot`.
  ProxyDataPlane(const control::PublicationBox& box, size_t slot, model::ProcessStats& stats,
                 ProxyOptions opts);
  ~ProxyDataPlane() override;

  std::string_view name() const override { return "proxy"; }
  Result<std::shared_ptr<const control::DataPlanePlan>> plan(const model::Config& next,
                                                             bool draining) override;
  Status start() override;
  void published(const control::Publication& pub) override;
  bool awaitApplied(uint64_t generation, Micros timeout) override;
  void stop() override;
  std::vector<model::SessionInfo> sessions() override;

  int workers() const { return opts_.workers; }
  // The listeners in force (for the start-up log and tests).
  const ProxyPlan* current() const { return current_.get(); }

 private:
  const control::PublicationBox& box_;
  const size_t slot_;
  model::ProcessStats& stats_;
  const ProxyOptions opts_;
  AckGate acks_;
  std::shared_ptr<const ProxyPlan> current_;
  std::vector<std::unique_ptr<Worker>> workers_;
};

}  // namespace fulcrum::proxy
