// DataPlane: what the control plane asks of a data plane. The proxy (src/proxy/) is the
// first implementation; the UDP flow table and the XDP packet path plug in the same way
// (docs/architecture.md, "Data planes").
//
// A change is made in two steps so that it applies whole or not at all:
//   plan(next)       builds the data plane's plan for the next config (the proxy opens
//                    the listeners that are new); may fail, and then nothing changed. The
//                    plan goes into the publication.
//   published(pub)   the publication is in the box: make it live (the proxy wakes its
//                    workers; a packet path writes its maps). Cannot fail.
//   awaitApplied(g)  returns once every thread of the data plane runs generation g or a
//                    later one (no polling: threads acknowledge), or at the deadline.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "control/publication.h"
#include "model/model.h"
#include "model/session_info.h"

namespace fulcrum::control {

class DataPlane {
 public:
  virtual ~DataPlane() = default;

  virtual std::string_view name() const = 0;

  // The plan for `next` (the config of the coming publication). `draining`: the process
  // is stopping, the plan takes nothing new (the proxy closes its listeners after
  // accepting what their queues hold). Resources the current plan holds are reused where
  // they match.
  virtual Result<std::shared_ptr<const DataPlanePlan>> plan(const model::Config& next,
                                                            bool draining) = 0;
  // Starts the data plane's threads on the box's current publication.
  virtual Status start() = 0;
  // A new publication is in the box (its plan at this data plane's slot is one this
  // data plane made).
  virtual void published(const Publication& pub) = 0;
  // True once every thread runs `generation` or later; false at the deadline.
  virtual bool awaitApplied(uint64_t generation, Micros timeout) = 0;
  // Stops the threads; open connections are closed.
  virtual void stop() = 0;

  // For the runtime API: live sessions ("show sess"; may wait briefly for the threads).
  virtual std::vector<model::SessionInfo> sessions() = 0;
};

}  // namespace fulcrum::control
