// Session: one proxied TCP connection, from accept to close.
//
//   accept ─► [header]  ─► [queued] ─► connecting ─► relaying ─► closed
//             accept-proxy  server     timeout        splice or
//             only          maxconn    connect,       copy, both
//                           only       retries        directions
//
//   client fd ──recv/splice──► c2s staging ──send/splice──► server fd
//   client fd ◄──send/splice── s2c staging ◄──recv/splice── server fd
//
// Both fds are registered edge-triggered once; readiness is remembered in flags and
// consumed until EAGAIN (or a short read/write, which also proves the edge is spent).
// A direction holds a buffer or a pipe only while bytes are staged in it.
#pragma once

#include <cstdint>

#include "common/clock.h"
#include "common/event_loop.h"
#include "common/net.h"
#include "model/session_info.h"
#include "proxy/admission.h"
#include "proxy/pipe_pool.h"

namespace fulcrum::proxy {

class Worker;
struct SnapState;
struct ListenerSpec;
struct ListenerSockets;

class Session final : public Timer {
 public:
  enum class State : uint8_t { kIdle, kHeader, kQueued, kConnecting, kRelaying, kClosed };

  // Takes ownership of clientFd (already non-blocking) and starts the session.
  void start(Worker* worker, SnapState* snap, const ListenerSpec& listener, int clientFd,
             const SockAddr& client);

  State state() const { return state_; }
  int pool() const { return pool_; }
  SnapState* snapState() const { return snap_; }
  // Closes both sides now (process stop, administrative shutdown).
  void abort(const char* why) { close('K', why); }
  // Health (shutdown-sessions): closes the session if the control plane bumped its
  // server's ServerStats::shutdownEpoch since it connected ('D' when the server went
  // down, 'U' for a backup preempted by a server coming up, as HAProxy logs them).
  void abortIfServerShutdown();
  // A queued session is offered a server slot again; false when it stays queued.
  bool retryFromQueue();
  // For "show sess" (the worker fills in its id).
  model::SessionInfo describe(Micros now) const;

  Session* nextFree = nullptr;   // free-list link, owned by the worker
  Session* queueNext = nullptr;  // pool queue links, owned by the worker
  Session* queuePrev = nullptr;

 private:
  struct Endpoint final : IoHandler {
    Session* session = nullptr;
    int fd = -1;
    bool readable = false;
    bool writable = false;
    bool rdhup = false;  // the peer's FIN is known to be queued: read until 0
    void onIo(uint32_t events) override;
  };
  // Bytes read from one side and not yet written to the other sit either in a buffer
  // (copy mode) or in a kernel pipe (splice mode); never both.
  struct Direction {
    uint8_t* buf = nullptr;
    Pipe pipe;
    uint32_t off = 0;
    uint32_t len = 0;         // bytes staged (in buf from off, or in the pipe)
    bool splice = false;      // use a pipe for the next read when one is available
    bool spliceAuto = false;  // switch to splice once a read fills a whole buffer
    bool eof = false;         // read side saw FIN
    bool shutSent = false;    // FIN forwarded to the write side
    uint64_t bytes = 0;
  };
  enum class Pump : uint8_t { kWaiting, kDone, kSrcError, kDstError };

  void onEndpointIo(Endpoint& ep, uint32_t events);
  void onTimer() override;
  void configureSplice();
  void readProxyHeader();
  void beginBalancing();
  // Picks a server and connects; avoid: a server that just failed (-1: none).
  void connectNext(int avoid);
  bool enqueue();
  void dequeue();
  void connectTo(int server);
  void onConnectResult(int err);
  void onConnected();
  void progress();
  Pump pump(Endpoint& src, Endpoint& dst, Direction& d, Micros& srcActive, Micros& dstActive);
  ssize_t readInto(Endpoint& src, Direction& d, size_t& cap);
  ssize_t writeFrom(Endpoint& dst, Direction& d);
  void releaseStaging(Direction& d);
  void armTimer();
  // When the current phase times out, and which side's timeout that is ('c' or 's').
  Micros dueAt(char* side) const;
  // cause: HAProxy's first termination-state letter ('-' normal, 'C' client, 'S' server,
  // 'P' proxy, 'R' resource, 'c'/'s' client/server timeout, 'K' killed).
  void close(char cause, const char* why);
  void logConnection(char cause);

  Worker* worker_ = nullptr;
  SnapState* snap_ = nullptr;
  ConnAccount account_;  // what this connection counts, given back at close
  int service_ = -1;
  int pool_ = -1;
  int server_ = -1;
  uint32_t attempts_ = 0;
  State state_ = State::kIdle;
  uint8_t proxyHeaderSent_ = 0;
  uint32_t shutdownEpoch_ = 0;  // health: the server's shutdownEpoch when connected
  Endpoint front_;              // the client's connection
  Endpoint back_;               // the connection to the server
  Direction c2s_;
  Direction s2c_;
  Micros acceptedAt_ = 0;
  Micros acceptedWall_ = 0;
  Micros queuedAt_ = -1;
  Micros connectStart_ = 0;
  Micros connectedAt_ = -1;
  Micros clientActive_ = 0;
  Micros serverActive_ = 0;
  SockAddr clientAddr_;
  SockAddr frontDst_;  // the destination a PROXY header announced; invalid otherwise
};

}  // namespace fulcrum::proxy
