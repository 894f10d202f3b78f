// Listening sockets of the proxy data plane: one SO_REUSEPORT socket per bind and per
// worker, so that the kernel spreads connections over the workers without a shared accept
// queue or lock. A bind's sockets (ListenerSockets) are opened on the control thread and
// shared by the plans of the publications that use them, so a reload keeps unchanged
// listeners; a worker closes its own socket of a listener a plan drops, once it has
// accepted what its queue held.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/fd.h"
#include "common/net.h"
#include "common/result.h"
#include "control/publication.h"
#include "model/model.h"

namespace fulcrum::proxy {

struct ListenerSockets {
  std::string key;  // listenerKey() of the bind it was opened for
  SockAddr addr;    // the address actually bound (port 0 resolved)
  // One per worker. Worker w alone closes perWorker[w], after a plan dropped the
  // listener; the control thread only sets options on sockets of listeners in force.
  std::vector<UniqueFd> perWorker;
  // Connections accepted on this bind and still open, over all workers (bind maxconn).
  std::atomic<int64_t> active{0};
  // What the open sockets were given (control thread only; see updateListener).
  int backlog = 0;
  bool deferAccept = false;
  bool tfo = false;
};

// A listener as a plan has it: the sockets, and how this publication's config uses them.
struct PlannedListener {
  std::shared_ptr<ListenerSockets> sockets;
  int service = -1;  // indices into the publication's config
  int bind = -1;
  bool udp = false;  // a UDP listener (the worker's UdpEngine receives on it)
  bool acceptProxy = false;
  uint32_t maxconn = 0;  // the bind's maxconn; 0: unlimited
  int backlog = 0;
  bool deferAccept = false;
  bool tfo = false;

  bool operator==(const PlannedListener&) const = default;
};

// The proxy's plan in a publication: the listeners every worker accepts on. Empty while
// the process stops (the workers drain and close what they had).
struct ProxyPlan final : control::DataPlanePlan {
  std::vector<PlannedListener> listeners;
};

// Whether a service is served by the TCP proxy listeners (not UDP, not the packet path).
bool proxyListened(const model::Service& svc);
// Whether a service is served by the UDP listeners of the proxy workers (src/proxy/udp.h).
bool udpListened(const model::Service& svc);
// What identifies a listening socket across reloads: the address and the options fixed
// when it is bound (v6only, interface). Two binds with the same key share the sockets.
std::string listenerKey(const model::Service& svc, const model::Bind& b);
// The listen() backlog of a bind: its own, else the frontend's maxconn (HAProxy).
int backlogOf(const model::Service& svc, const model::Bind& b);
// Opens one bind's listener, `workers` SO_REUSEPORT sockets. Errors name the bind's
// file:line.
Result<std::shared_ptr<ListenerSockets>> openListener(const model::Service& svc,
                                                      const model::Bind& b, int workers);
// Opens one UDP bind's sockets, one SO_REUSEPORT socket per worker (the kernel's 4-tuple
// hash keeps a client's datagrams on one worker while the sockets stay). Wildcard
// addresses get IP_PKTINFO / IPV6_RECVPKTINFO; every socket SO_RXQ_OVFL.
Result<std::shared_ptr<ListenerSockets>> openUdpListener(const model::Service& svc,
                                                         const model::Bind& b, int workers);
// Gives the open sockets a planned listener's backlog, defer-accept and tfo, in place
// (control thread).
void updateListener(ListenerSockets& ls, const PlannedListener& pl);

}  // namespace fulcrum::proxy
