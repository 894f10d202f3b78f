// Listening sockets, owned by the control plane: one SO_REUSEPORT socket per bind and
// per worker, so that the kernel spreads connections over the workers without a shared
// accept queue or lock. Owning them here lets a reload keep unchanged listeners.
#pragma once

#include <string>
#include <vector>

#include "common/fd.h"
#include "common/result.h"
#include "model/model.h"

namespace fulcrum::daemon {

struct BoundListener {
  int service = -1;
  int bind = -1;    // index into the service's binds
  SockAddr addr;    // the address actually bound (port 0 resolved)
  std::string key;  // listenerKey() of the bind it was opened for
  int backlog = 0;
  std::vector<UniqueFd> perWorker;
};

// Whether a bind is served by the TCP proxy listeners (not UDP, not the packet path).
bool proxyListened(const model::Service& svc);
// What identifies a listening socket across reloads: the address and the options fixed
// when it is bound (v6only, interface). Two binds with the same key share the sockets.
std::string listenerKey(const model::Service& svc, const model::Bind& b);
// The listen() backlog of a bind: its own, else the frontend's maxconn (HAProxy).
int backlogOf(const model::Service& svc, const model::Bind& b);
// Applies a bind's backlog, defer-accept and tfo to an open listener, in place.
void updateListener(BoundListener& bl, const model::Service& svc, const model::Bind& b);
// Opens one bind's listener, `workers` SO_REUSEPORT sockets.
Result<BoundListener> openListener(const model::Config& config, int service, int bind, int workers);
// Opens every TCP proxy listener of the config, `workers` sockets per bind.
Result<std::vector<BoundListener>> openListeners(const model::Config& config, int workers);

}  // namespace fulcrum::daemon
