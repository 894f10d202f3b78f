// Listening sockets, owned by the control plane: one SO_REUSEPORT socket per bind and
// per worker, so that the kernel spreads connections over the workers without a shared
// accept queue or lock. Owning them here lets a reload keep unchanged listeners.
#pragma once

#include <vector>

#include "common/fd.h"
#include "common/result.h"
#include "model/model.h"

namespace fulcrum::daemon {

struct BoundListener {
  int service = -1;
  int bind = -1;                 // index into the service's binds
  SockAddr addr;                 // the address actually bound (port 0 resolved)
  std::vector<UniqueFd> perWorker;
};

// Opens every TCP proxy listener of the config, `workers` sockets per bind.
Result<std::vector<BoundListener>> openListeners(const model::Config& config, int workers);

}  // namespace fulcrum::daemon
