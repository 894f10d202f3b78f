// UdpEngine: the UDP side of one proxy worker. The life of a datagram is in
// docs/architecture.md ("UDP flows"); in short:
//
//   client ──► listener socket (SO_REUSEPORT, one per worker: the kernel's 4-tuple hash
//              keeps a client's datagrams on one worker) ── recvmmsg, a batch at a time
//          ──► flow table (client addr:port, local addr:port) ── a miss makes a flow: ACL,
//              rate limit, table bound, the pool's scheduler, an upstream socket
//          ──► the flow's upstream socket, connected to its server ── send
//   server ──► upstream socket ── recvmmsg straight into the reply batch
//          ──► listener socket ── sendmmsg after the event batch, from the address the
//              client sent to (IP_PKTINFO / IPV6_PKTINFO on wildcard binds)
//
// A flow is bound to its client tuple until it has sent proxy-requests datagrams; it then
// lives on, keyed only by its upstream socket, until the replies it expects have come
// back or it times out. So a late reply never reaches the next exchange of the same
// client address. Upstream sockets of flows that ended cleanly go back to a per-server
// idle list and are reused; those of flows that timed out are closed.
//
// Everything here runs on the worker's thread; nothing is shared with the other workers
// but the publication and atomic counters. Buffers are allocated once per worker; no
// allocation per datagram (flows and upstream sockets are recycled).
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "common/event_loop.h"
#include "common/fd.h"
#include "common/net.h"
#include "model/session_info.h"
#include "model/snapshot.h"

namespace fulcrum::proxy {

class Worker;

// Where a reply leaves from: the local address a wildcard listener was reached at.
struct UdpLocalInfo {
  int type = 0;  // 0: none (a specific bind), IP_PKTINFO or IPV6_PKTINFO
  in_pktinfo v4{};
  in6_pktinfo v6{};
};

// Where a client datagram came from, as its flow sees it.
struct UdpOrigin {
  SockAddr peer;    // the datagram's source: replies go there
  SockAddr client;  // the client: the peer, or what a PROXY v2 header announced (accept-proxy)
  SockAddr dst;     // the PROXY header's destination; invalid: the local address
  UdpLocalInfo local;
};

struct ProxyPlan;
struct ListenerSockets;
struct SnapState;

class UdpEngine {
 public:
  explicit UdpEngine(Worker& worker);
  ~UdpEngine();
  UdpEngine(const UdpEngine&) = delete;
  UdpEngine& operator=(const UdpEngine&) = delete;

  // The UDP listeners of `plan` (worker `id`'s sockets): new ones registered, kept ones
  // get their new service index, dropped ones closed with their flows.
  void applyPlan(const ProxyPlan& plan, int id);
  // After each event batch: the replies collected go out.
  void afterBatch();
  // Process stopping: every flow ends, every socket closes.
  void closeAll();
  // "shutdown sessions server" and on-marked-down/up shutdown: the flows of the servers
  // whose shutdown epoch moved end (their next datagram makes a new flow).
  void endShutdownFlows();
  // "show sess": the live flows.
  void describe(Micros now, std::vector<model::SessionInfo>& out) const;

 private:
  struct Listener;
  struct Upstream;
  struct Flow;
  class FlowTable;
  struct Batch;
  struct TxRun;

  void fromClients(Listener& l);
  void clientDatagram(Listener& l, const UdpOrigin& origin, const char* data, size_t len);
  Flow* newFlow(Listener& l, const UdpOrigin& origin, uint64_t hash);
  // Moves a flow to the current publication state `cur`, keeping its server; false when
  // that server is gone, DOWN, MAINT or at another address (the flow must end).
  bool rebase(Flow& f, Listener& l, SnapState* cur);
  // The PROXY v2 header of the flow's datagrams, when its server has send-proxy-v2.
  void setProxyHeader(Flow& f, const model::Server& srv);
  // The datagram joins the flow's run of datagrams to send (counted as a request now);
  // flushToServer() sends the run, one sendmmsg.
  void queueToServer(Flow& f, const char* data, size_t len);
  void flushToServer();
  void fromServer(Upstream& up);
  void expire(Flow& f);
  // Ends a flow; `clean`: every reply it expected came back, so its socket may be reused.
  void endFlow(Flow& f, bool clean);
  bool complete(const Flow& f) const;
  Micros timeoutOf(const Flow& f) const;
  // A connected socket to the server (an idle one when there is one); null on failure
  // (counted).
  Upstream* takeUpstream(const model::Server& srv, model::ServiceStats& st);
  void releaseUpstream(Upstream* up, bool reusable);
  void closeUpstream(Upstream* up);
  void flush();

  Worker& w_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::vector<std::unique_ptr<Listener>> retired_;  // dropped in this batch, freed after it
  uint32_t nextListenerId_ = 1;
  std::unique_ptr<FlowTable> table_;
  std::vector<std::unique_ptr<Flow>> flows_;  // every flow object, live or free
  Flow* freeFlows_ = nullptr;
  uint64_t nextFlowId_ = 1;
  std::vector<std::unique_ptr<Upstream>> upstreams_;  // every upstream object
  Upstream* freeUpstreams_ = nullptr;
  // Idle connected sockets, per real index.
  std::vector<std::vector<Upstream*>> idle_;
  std::unique_ptr<Batch> rx_;   // datagrams from clients (allocated with the first listener)
  std::unique_ptr<Batch> out_;  // replies to clients, sent after the event batch
  std::unique_ptr<TxRun> tx_;   // datagrams of one flow on their way to its server
  uint64_t hashSeed_;
  Micros lastSocketWarning_ = 0;
};

}  // namespace fulcrum::proxy
