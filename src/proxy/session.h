// Session: one proxied TCP connection, from accept to close. It connects to a server
// chosen by the pool's scheduler (moving on to another server when a connect fails),
// then relays bytes both ways with per-direction backpressure and half-close.
//
//   client fd ──recv──► c2s buffer ──send──► server fd
//   client fd ◄──send── s2c buffer ◄──recv── server fd
//
// Both fds are registered edge-triggered once; readiness is remembered in flags and
// consumed until EAGAIN (or a short read/write, which also proves the edge is spent).
#pragma once

#include <cstdint>

#include "common/clock.h"
#include "common/event_loop.h"
#include "common/net.h"
#include "proxy/pipe_pool.h"

namespace fulcrum::proxy {

class Worker;
struct SnapState;

class Session final : public Timer {
 public:
  enum class State : uint8_t { kIdle, kConnecting, kRelaying, kClosed };

  // Takes ownership of clientFd (already non-blocking) and starts connecting.
  void start(Worker* worker, SnapState* snap, int service, int clientFd, const SockAddr& client);

  State state() const { return state_; }
  // Closes both sides now (process stop, administrative shutdown).
  void abort(const char* why) { close(why); }
  Session* nextFree = nullptr;  // free-list link, owned by the worker

 private:
  struct Endpoint final : IoHandler {
    Session* session = nullptr;
    int fd = -1;
    bool readable = false;
    bool writable = false;
    bool rdhup = false;  // the peer's FIN is known to be queued: read until 0
    bool isServer = false;
    void onIo(uint32_t events) override;
  };
  // Bytes read from one side and not yet written to the other sit either in a buffer
  // (copy mode) or in a kernel pipe (splice mode); never both.
  struct Direction {
    uint8_t* buf = nullptr;
    Pipe pipe;
    uint32_t off = 0;
    uint32_t len = 0;       // bytes staged (in buf from off, or in the pipe)
    bool splice = false;    // use a pipe for the next read when one is available
    bool spliceAuto = false;  // switch to splice once a read fills a whole buffer
    bool eof = false;       // read side saw FIN
    bool shutSent = false;  // FIN forwarded to the write side
    uint64_t bytes = 0;
  };
  enum class Pump : uint8_t { kWaiting, kDone, kError };

  void onEndpointIo(Endpoint& ep, uint32_t events);
  void onTimer() override;
  void configureSplice();
  void connectNext(int avoid);
  void onConnectResult(int err);
  void progress();
  Pump pump(Endpoint& src, Endpoint& dst, Direction& d, Micros& srcActive, Micros& dstActive);
  void armTimer();
  Micros dueAt() const;
  void close(const char* why);
  void releaseStaging(Direction& d);
  ssize_t readInto(Endpoint& src, Direction& d, size_t& cap);
  ssize_t writeFrom(Endpoint& dst, Direction& d);

  Worker* worker_ = nullptr;
  SnapState* snap_ = nullptr;
  int service_ = -1;
  int pool_ = -1;
  int server_ = -1;
  uint32_t attempts_ = 0;
  State state_ = State::kIdle;
  Endpoint front_;  // the client's connection
  Endpoint back_;   // the connection to the server
  Direction c2s_;
  Direction s2c_;
  Micros connectStart_ = 0;
  Micros clientActive_ = 0;
  Micros serverActive_ = 0;
  SockAddr clientAddr_;
};

}  // namespace fulcrum::proxy
