// Worker: one thread, one event loop, its own SO_REUSEPORT listening sockets (one per
// bind), its own schedulers, buffers and pipes. A connection stays on the worker that
// accepted it. Workers share nothing mutable but atomic counters and the published
// snapshot, which they load only when the control plane says a new one exists.
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
#include "model/session_info.h"
#include "model/snapshot.h"
#include "model/stats.h"
#include "proxy/buffer_pool.h"
#include "proxy/conn_log.h"
#include "proxy/pipe_pool.h"
#include "sched/scheduler.h"

namespace fulcrum::proxy {

class Session;

// Clients of one pool waiting for a server slot on this worker, in arrival order.
struct PoolQueue {
  Session* head = nullptr;
  Session* tail = nullptr;
};

// A snapshot as one worker uses it: schedulers built for it, queues, and how many of
// this worker's sessions still refer to it (plain integers: only this thread touches
// them).
struct SnapState {
  std::shared_ptr<const model::Snapshot> snap;
  std::vector<std::unique_ptr<sched::Scheduler>> schedulers;  // per pool
  std::vector<PoolQueue> queues;                              // per pool
  std::vector<int64_t> queueLimits;  // per pool, over all workers; 0: unbounded
  // The listeners' shared counts as they were when this snapshot was current: sessions
  // keep a raw pointer to theirs, so it lives as long as they do, even when a reload
  // removed the listener.
  std::vector<std::shared_ptr<struct BindShared>> binds;
  uint32_t users = 0;
};

// Shared by the listeners of one bind across workers: its connection count.
struct BindShared {
  std::atomic<int64_t> active{0};
  std::atomic<uint32_t> maxconn{0};  // 0: unlimited; a reload may change it
};

struct ListenerSpec {
  int fd = -1;       // listening socket owned by the control plane
  int service = -1;  // index into the snapshot's services
  bool acceptProxy = false;
  std::shared_ptr<BindShared> bind;
};

// The listeners a worker accepts on, for one config (service indices are that config's).
// A reload hands every worker a new plan; listeners whose fd appears in both keep going.
struct ListenerPlan {
  std::shared_ptr<const model::Config> config;
  std::vector<ListenerSpec> listeners;
  uint64_t generation = 0;
  // This worker's sockets that the plan drops, handed over by the control plane: the
  // worker accepts what is left in their queues (on the old snapshot) and closes them at
  // once, so that no client the kernel has already connected is reset.
  std::vector<UniqueFd> closing;
};

// "show sess": filled by every worker on its own thread; the asker waits on `cv`.
struct SessionDump {
  std::mutex mu;
  std::condition_variable cv;
  int pending = 0;  // workers yet to answer
  std::vector<model::SessionInfo> sessions;
};

struct WorkerOptions {
  size_t bufferSize = 64 * 1024;
  size_t maxFreeBuffers = 256;
  size_t maxPipes = 0;    // pipes in use at once by this worker; 0: no splicing
  std::vector<int> cpus;  // CPUs to pin the thread to (cpu-map); empty: no pinning
};

class Worker {
 public:
  Worker(int id, const model::SnapshotBox& box, model::ProcessStats& stats, WorkerOptions opts);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  Status init(ListenerPlan plan);
  void start();
  void requestStop();      // any thread
  void snapshotChanged();  // any thread
  void join();
  // Any thread: the listeners to use from the first snapshot of plan.config on. Call
  // before publishing that snapshot. listenersApplied() reaches plan.generation once the
  // worker has applied it. A plan replaced before it was applied passes its `closing`
  // sockets on to the next one.
  void setListeners(ListenerPlan plan);
  uint64_t listenersApplied() const { return listenersApplied_.load(std::memory_order_acquire); }
  // Any thread: adds this worker's live sessions to the dump and decrements its pending.
  void requestSessions(std::shared_ptr<SessionDump> dump);

  // ---- used by Session, on this worker's thread ----
  EventLoop& loop() { return loop_; }
  BufferPool& buffers() { return buffers_; }
  PipePool& pipes() { return pipes_; }
  model::ProcessStats& stats() { return stats_; }
  void sessionClosed(Session* s, SnapState* snap, int service, int pool);
  bool anyServerUsable(const SnapState& snap, int pool) const;
  // EMFILE/ENFILE/ENOMEM seen: every listener of this worker pauses briefly.
  void resourcesExhausted(int err);
  // Queues a session behind the others of its pool; false when the queue is full.
  bool enqueue(Session* s);
  void dequeue(Session* s);
  // A server slot of the pool was released: queued sessions get a chance after the batch.
  void slotFreed(SnapState* snap, int pool);
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
    void setSpec(ListenerSpec spec) { spec_ = std::move(spec); }
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
  // Fires while sessions are queued, to catch slots freed by other workers.
  class QueueTimer final : public Timer {
   public:
    explicit QueueTimer(Worker* w) : worker_(w) {}
    void onTimer() override { worker_->serveQueues(); }

   private:
    Worker* worker_;
  };
  struct PendingLog {
    model::LogSink* sink;
    fmt::memory_buffer lines;
  };

  void run();
  void loadSnapshot();
  void applyListeners(ListenerPlan& plan);
  void answerSessionDumps();
  // Accepts a batch (or, `draining` a listener a plan drops, everything in its queue,
  // limits aside: those clients are already connected).
  void acceptOn(Listener& l, bool draining = false);
  // 0 when a new connection may be accepted now, else how long to wait before looking
  // again (maxconn, rate limit).
  Micros admissionDelay(const Listener& l);
  Session* newSession();
  void afterBatch();
  void serveQueues();
  void emit(const std::vector<std::shared_ptr<model::LogSink>>& sinks,
            const fmt::memory_buffer& line);
  void flushLogs();

  const int id_;
  const model::SnapshotBox& box_;
  model::ProcessStats& stats_;
  const WorkerOptions opts_;
  EventLoop loop_;
  BufferPool buffers_;
  PipePool pipes_;
  QueueTimer queueTimer_{this};
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::vector<std::unique_ptr<Listener>> retiredListeners_;  // removed this batch
  std::vector<std::unique_ptr<SnapState>> snaps_;            // back() is the current one
  Session* freeSessions_ = nullptr;
  std::vector<Session*> closed_;  // closed this batch, recycled after it
  std::vector<std::unique_ptr<Session>> allSessions_;
  std::vector<PendingLog> pendingLogs_;
  size_t queuedHere_ = 0;
  bool queueWork_ = false;
  bool anyPaused_ = false;
  std::atomic<bool> stopRequested_{false};
  std::atomic<bool> snapshotPending_{false};
  std::mutex planMu_;  // guards pendingPlan_ and dumps_ (control plane calls only)
  std::optional<ListenerPlan> pendingPlan_;
  std::vector<std::shared_ptr<SessionDump>> dumps_;
  std::atomic<bool> dumpPending_{false};
  std::atomic<uint64_t> listenersApplied_{0};
  // The config the listeners' service indices belong to: a snapshot of another config is
  // not used until its plan has been applied (see loadSnapshot).
  std::shared_ptr<const model::Config> listenersConfig_;
  std::thread thread_;
};

}  // namespace fulcrum::proxy
