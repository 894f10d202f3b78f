// Worker: one thread, one event loop, its own SO_REUSEPORT listening sockets (one per
// bind), its own schedulers and buffers. A connection stays on the worker that
// accepted it. Workers share nothing mutable but atomic counters and the published
// snapshot, which they load only when the control plane says a new one exists.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "common/event_loop.h"
#include "model/snapshot.h"
#include "model/stats.h"
#include "proxy/buffer_pool.h"
#include "proxy/pipe_pool.h"
#include "sched/scheduler.h"

namespace fulcrum::proxy {

class Session;

// A snapshot as one worker uses it: schedulers built for it, and how many of this
// worker's sessions still refer to it (a plain integer: only this thread touches it).
struct SnapState {
  std::shared_ptr<const model::Snapshot> snap;
  std::vector<std::unique_ptr<sched::Scheduler>> schedulers;  // per pool
  uint32_t users = 0;
};

struct ListenerSpec {
  int fd = -1;       // listening socket owned by the control plane
  int service = -1;  // index into the snapshot's services
};

struct WorkerOptions {
  size_t bufferSize = 64 * 1024;
  size_t maxFreeBuffers = 256;
  uint32_t globalMaxconn = 0;  // 0: unlimited
  size_t maxPipes = 0;         // pipes in use at once by this worker; 0: no splicing
};

class Worker {
 public:
  Worker(int id, const model::SnapshotBox& box, model::ProcessStats& stats, WorkerOptions opts);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  Status init(const std::vector<ListenerSpec>& listeners);
  void start();
  void requestStop();      // any thread
  void snapshotChanged();  // any thread
  void join();

  // ---- used by Session, on this worker's thread ----
  EventLoop& loop() { return loop_; }
  BufferPool& buffers() { return buffers_; }
  PipePool& pipes() { return pipes_; }
  model::ProcessStats& stats() { return stats_; }
  void sessionClosed(Session* s, SnapState* snap, int service);

 private:
  class Listener final : public IoHandler, public Timer {
   public:
    Listener(Worker* w, ListenerSpec spec) : worker_(w), spec_(spec) {}
    void onIo(uint32_t events) override;
    void onTimer() override;
    void pause(Micros retryAfter);
    void resume();
    bool paused() const { return paused_; }
    int fd() const { return spec_.fd; }

   private:
    Worker* worker_;
    ListenerSpec spec_;
    bool paused_ = false;
  };

  void run();
  void loadSnapshot();
  void acceptOn(Listener& l, int service);
  Session* newSession();
  void afterBatch();
  bool belowLimits(int service) const;

  const int id_;
  const model::SnapshotBox& box_;
  model::ProcessStats& stats_;
  const WorkerOptions opts_;
  EventLoop loop_;
  BufferPool buffers_;
  PipePool pipes_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::vector<std::unique_ptr<SnapState>> snaps_;  // back() is the current one
  Session* freeSessions_ = nullptr;
  std::vector<Session*> closed_;  // closed this batch, recycled after it
  std::vector<std::unique_ptr<Session>> allSessions_;
  bool anyPaused_ = false;
  std::atomic<bool> stopRequested_{false};
  std::atomic<bool> snapshotPending_{false};
  std::thread thread_;
};

}  // namespace fulcrum::proxy
