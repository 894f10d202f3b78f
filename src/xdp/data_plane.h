// XdpDataPlane: the packet data plane as the control plane sees it (control/data_plane.h).
// It loads and attaches the XDP program when the first packet service appears (a process
// without packet services never loads BPF), and turns each publication into map writes
// (maps.h): the difference between what the publication needs (tables.h) and what the
// maps hold. Map writes are synchronous, so a change is in force when published() returns.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "control/data_plane.h"
#include "xdp/maps.h"
#include "xdp/program.h"
#include "xdp/tables.h"

namespace fulcrum::xdp {

class XdpDataPlane final : public control::DataPlane {
 public:
  XdpDataPlane(control::PublicationBox& box, size_t slot);
  ~XdpDataPlane() override;

  std::string_view name() const override { return "xdp"; }
  Result<std::shared_ptr<const control::DataPlanePlan>> plan(const model::Config& next,
                                                             bool draining) override;
  Status start() override;
  void published(const control::Publication& pub) override;
  bool awaitApplied(uint64_t, Micros) override { return true; }
  // A graceful stop: with pinned maps (xdp-pin-path), forwarding goes on for
  // xdp-stop-grace, then the pins are removed and the program leaves the interfaces.
  void stop() override;
  // Stops this process's part and leaves the pinned program forwarding for the next start
  // to adopt (SIGQUIT: an upgrade). Without a pin path, the same as stop().
  void leave();
  std::vector<model::SessionInfo> sessions() override { return {}; }

  bool loaded() const { return program_ != nullptr; }
  // Every second: reals whose MAC was unknown at the last write are tried again, and the
  // packet services' counters (flows, bytes, packets) are added to their frontends'
  // counters in `snap`, so show stat, the metrics and the stats page show them.
  void tick(const model::Snapshot& snap);
  // Nullopt when no program is loaded.
  std::optional<PacketStats> stats() const;
  // "Which real gets this flow?" from the same tables the program reads: the connection
  // table's entry if the flow has one, else what a new flow would get (the VIP's
  // scheduler over its ring). One line, for "show xdp flow"; an error when no packet
  // service serves `vip`.
  Result<std::string> whichReal(const control::Publication& pub, model::Protocol proto,
                                const SockAddr& vip, const SockAddr& client) const;

  // What the maps hold (null when nothing is loaded).
  const Tables* tables() const { return writer_ ? writer_->written() : nullptr; }

 private:
  control::PublicationBox& box_;
  size_t slot_;
  std::unique_ptr<Program> program_;
  Micros stopGrace_ = 0;
  HostDefaults host_;
  std::unique_ptr<MapWriter> writer_;
  using Counted = PacketStats::Service;
  std::map<std::string, Counted> counted_;  // by service: its ring's counters at the last tick
  std::map<uint32_t, PacketStats::Real> countedReals_;  // by real index, at the last tick
  std::vector<std::string> unresolved_;                 // as last logged
  std::map<std::string, Micros> provoked_;              // when resolution was last asked for
  bool started_ = false;
};

}  // namespace fulcrum::xdp
