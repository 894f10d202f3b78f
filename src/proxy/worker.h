// Worker: one thread, one event loop, its own SO_REUSEPORT listening sockets (one per
// bind), its own schedulers, buffers and pipes. A connection stays on the worker that
// accepted it. Workers share nothing mutable but atomic counters and the publication,
// which they load only when the control plane says a new one exists.
#pragma once

#include <fmt/format.h>
#include <sys/socket.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "common/event_loop.h"
#include "common/fd.h"
#include "control/publication.h"
#include "model/session_info.h"
#include "model/snapshot.h"
#include "model/stats.h"
#include "proxy/admission.h"
#include "proxy/buffer_pool.h"
#include "proxy/conn_log.h"
#include "proxy/listeners.h"
#include "proxy/pipe_pool.h"
#include "sched/scheduler.h"

namespace fulcrum::proxy {

class Session;
class UdpEngine;

// Clients of one pool waiting for a server slot on this worker, in arrival order.
struct PoolQueue {
  Session* head = nullptr;
  Session* tail = nullptr;
};

// A publication as one worker uses it: schedulers for its pools, queues, and how many of
// this worker's sessions still refer to it (plain integers: only this thread touches
// them). A session keeps the SnapState it started with, and through it the publication's
// snapshot, config, counters and listener sockets, until it ends.
struct SnapState {
  std::shared_ptr<const control::Publication> pub;
  std::shared_ptr<const model::Snapshot> snap;  // pub->snapshot
  // Per pool: the scheduler, shared with the next SnapState of this worker when the pool's
  // tables are the same object (its round-robin position and the like carry on).
  std::vector<std::shared_ptr<sched::Scheduler>> schedulers;
  std::vector<const control::PoolTables*> tables;  // what each scheduler was built from
  std::vector<PoolQueue> queues;                   // per pool
  std::vector<int64_t> queueLimits;                // per pool, over all workers; 0: unbounded
  uint32_t users = 0;
};

// One listening socket of this worker, as the plan in force gives it.
struct ListenerSpec {
  int fd = -1;       // this worker's socket of the listener
  int service = -1;  // index into the publication's services
  bool acceptProxy = false;
  uint32_t maxconn = 0;  // the bind's; 0: unlimited
  ListenerSockets* sockets = nullptr;
};

// "show sess": filled by every worker on its own thread; the asker waits on `cv`.
struct SessionDump {
  std::mutex mu;
  std::condition_variable cv;
  int pending = 0;  // workers yet to answer
  std::vector<model::SessionInfo> sessions;
};

// Workers acknowledge the publications they apply here; the control plane waits on `cv`
// (ProxyDataPlane::awaitApplied).
struct AckGate {
  std::mutex mu;
  std::condition_variable cv;
  void notify() {
    { std::lock_guard<std::mutex> lock(mu); }  // a waiter between its test and its wait
    cv.notify_all();
  }
};

struct WorkerOptions {
  size_t bufferSize = 64 * 1024;
  size_t maxFreeBuffers = 256;
  size_t maxPipes = 0;    // pipes in use at once by this worker; 0: no splicing
  std::vector<int> cpus;  // CPUs to pin the thread to (cpu-map); empty: no pinning
};

class Worker {
  friend class UdpEngine;  // the UDP side of this worker (udp.h)

 public:
  // Reads publications from `box`, its plan at `slot` (a ProxyPlan).
  Worker(int id, const control::PublicationBox& box, size_t slot, model::ProcessStats& stats,
         AckGate& acks, WorkerOptions opts);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Loads the box's current publication (listeners registered).
  Status init();
  void start();
  void requestStop();  // any thread
  // Any thread: a new publication is in the box. applied() reaches its generation once
  // this worker uses it (its listeners, its snapshot); the AckGate is notified then.
  void publicationChanged();
  uint64_t applied() const { return applied_.load(std::memory_order_acquire); }
  void join();
  // Any thread: adds this worker's live sessions to the dump and decrements its pending.
  void requestSessions(std::shared_ptr<SessionDump> dump);

  // ---- used by Session, on this worker's thread ----
  EventLoop& loop() { return loop_; }
  BufferPool& buffers() { return buffers_; }
  PipePool& pipes() { return pipes_; }
  model::ProcessStats& stats() { return stats_; }
  PoolQueues& queues() { return queues_; }
  // The session closed (its account is given back): recycled after the batch.
  void sessionClosed(Session* s) { closed_.push_back(s); }
  bool anyServerUsable(const SnapState& snap, int pool) const;
  // EMFILE/ENFILE/ENOMEM seen: every listener of this worker pauses briefly.
  void resourcesExhausted(int err);
  void logLine(const std::vector<std::shared_ptr<model::LogSink>>& sinks, const ConnLogRecord& r);
  // The "to" address is `announcedDst` when valid (a PROXY header's), else clientFd's own.
  void logConnect(const std::vector<std::shared_ptr<model::LogSink>>& sinks,
                  std::string_view frontend, const SockAddr& client, int clientFd,
                  const SockAddr* announcedDst = nullptr);

 private:
  class Listener final : public IoHandler, public Timer {
   public:
    Listener(Worker* w, ListenerSpec spec) : worker_(w), spec_(std::move(spec)) {}
    void onIo(uint32_t events) override;
    void onTimer() override;
    // Stops accepting; the timer resumes after retryAfter. A pause for a limit also ends
    // when a session of this worker closes; a pause for exhausted resources does not.
    void pause(Micros retryAfter, bool untilTimer);
    void resume();
    bool paused() const { return paused_; }
    bool pausedUntilTimer() const { return untilTimer_; }
    const ListenerSpec& spec() const { return spec_; }
    void setSpec(ListenerSpec spec) { spec_ = spec; }
    // Dropped by a plan: events already collected for it in this batch are ignored (its
    // service index belongs to an older config).
    void retire() { retired_ = true; }

   private:
    Worker* worker_;
    ListenerSpec spec_;
    bool paused_ = false;
    bool untilTimer_ = false;
    bool retired_ = false;
  };
  struct PendingLog {
    model::LogSink* sink;
    fmt::memory_buffer lines;
  };

  void run();
  void loadPublication();
  // The listeners of `plan`: kept ones get their new spec, new ones are registered, dropped
  // ones are drained (accepted on the current SnapState, whose config they belong to) and
  // their sockets closed.
  void applyPlan(const ProxyPlan& plan);
  void answerSessionDumps();
  // Accepts a batch (or, `draining` a listener a plan drops, everything in its queue,
  // limits aside: those clients are already connected).
  void acceptOn(Listener& l, bool draining = false);
  // 0 when a new connection may be accepted now, else how long to wait before looking
  // again (maxconn, rate limit); a pause is counted (maxconnPauses, rateLimitPauses).
  Micros admissionDelay(const Listener& l);
  Session* newSession();
  void afterBatch();
  void emit(const std::vector<std::shared_ptr<model::LogSink>>& sinks,
            const fmt::memory_buffer& line);
  void flushLogs();

  const int id_;
  const control::PublicationBox& box_;
  const size_t slot_;
  model::ProcessStats& stats_;
  AckGate& acks_;
  const WorkerOptions opts_;
  EventLoop loop_;
  BufferPool buffers_;
  PipePool pipes_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::vector<std::unique_ptr<Listener>> retiredListeners_;  // removed this batch
  std::vector<std::unique_ptr<SnapState>> snaps_;            // back() is the current one
  PoolQueues queues_{loop_, snaps_};
  std::unique_ptr<UdpEngine> udp_;  // after snaps_: its flows hold SnapStates
  Session* freeSessions_ = nullptr;
  std::vector<Session*> closed_;  // closed this batch, recycled after it
  std::vector<std::unique_ptr<Session>> allSessions_;
  std::vector<PendingLog> pendingLogs_;
  bool anyPaused_ = false;
  std::atomic<bool> stopRequested_{false};
  std::atomic<bool> publicationPending_{false};
  std::atomic<uint64_t> applied_{0};
  const ProxyPlan* plan_ = nullptr;  // the plan the listeners follow
  std::mutex dumpMu_;                // guards dumps_
  std::vector<std::shared_ptr<SessionDump>> dumps_;
  std::atomic<bool> dumpPending_{false};
  std::thread thread_;
};

}  // namespace fulcrum::proxy
