// StreamServer: the accept/client/timer loop of the control thread's stream servers, shared by
// the runtime API socket (api_server.h) and the admin HTTP listener (http_server.h). It owns a
// listening socket and its clients; a protocol, one StreamSession per client, is told when
// bytes arrived and says what to send. For every protocol alike:
// - the listener is registered level-triggered; each wake-up accepts a batch. Clients are
//   bounded (one over the limit is closed at once, logged once per episode); out of
//   descriptors (EMFILE, ENFILE...), accepting pauses for a while rather than spinning;
// - input is read into a buffer bounded in size; a reply is written with partial writes, and
//   the session is asked for more only once it is all written;
// - each client has an idle timer; a session may answer it (an HTTP 408);
// - after the last reply the server shuts its side and lingers, reading and dropping what the
//   client still sends until it closes (bounded in time), so that unread input never turns
//   the close into a reset that could destroy the reply in flight;
// - a closed client is freed after the current batch of events (a later event of the same
//   batch may still name it).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>

#include "common/event_loop.h"
#include "common/fd.h"
#include "common/net.h"

namespace fulcrum::admin {

class StreamClient;
class StreamServer;

// One client's conversation, as its protocol sees it.
class StreamSession {
 public:
  enum class Step {
    kMore,  // did something (a request, a close): ask again once the reply is written
    kWait,  // needs more input; after eof() the server closes the client
  };

  virtual ~StreamSession() = default;
  // Input arrived, or the previous reply is written. Consumes what it used of c.input() and
  // answers through c.reply(), c.finish(), c.abort(). At most StreamOptions::stepsPerWake
  // calls return kMore per wake-up; the next ones come at the next turn of the loop.
  virtual Step onInput(StreamClient& c) = 0;
  // The idle timer fired while the server waits for the client (nothing being written).
  // By default the client is closed.
  virtual void onIdle(StreamClient& c);
};

struct StreamOptions {
  std::string name;             // names the server in logs: "stats socket '/run/fulcrum.sock'"
  std::string limitName;        // names the client limit in the log line about it: "stats maxconn"
  size_t maxClients = 0;        // clients at once; 0: unbounded
  size_t maxInput = 64 * 1024;  // reading stops once this much input is buffered
  Micros idleTimeout = 0;       // 0: none
  // true: reading (as writing) restarts the idle timer; false: a request must be complete
  // within idleTimeout of the accept, however the client trickles it in.
  bool inputRestartsIdle = true;
  Micros lingerTimeout = 1 * kSeconds;
  int stepsPerWake = 16;
};

// A connected client, as the server hands it to its session.
class StreamClient final : private IoHandler, private Timer {
 public:
  ~StreamClient() override;
  StreamClient(const StreamClient&) = delete;
  StreamClient& operator=(const StreamClient&) = delete;

  // What the client sent and the session has not consumed yet.
  std::string& input() { return in_; }
  // The client has closed its side: no more input will come.
  bool eof() const { return eof_; }
  // The peer's address (TCP); unset on a UNIX socket.
  const SockAddr& peer() const { return peer_; }

  // Reads what the client has sent so far (up to StreamOptions::maxInput buffered); false
  // when the client was closed (a read error). The server reads on readiness; a session
  // calls this to decide on what the client sent together with a request.
  bool receive();
  // Queues bytes to send.
  void reply(std::string bytes);
  // Closes once the reply is written (then lingers).
  void finish() { finishing_ = true; }
  // Closes now, unanswered.
  void abort();
  bool closed() const { return dead_; }
  // Expires when the server is destroyed. A session whose callback may destroy the server
  // (a reload dropping this socket) checks it before touching the client again.
  std::weak_ptr<const void> serverAlive() const;

 private:
  friend class StreamServer;
  StreamClient(StreamServer& server, UniqueFd fd, const SockAddr& peer);

  Status start();
  void onIo(uint32_t events) override;
  void onTimer() override;
  void progress();
  bool flush();
  void linger();
  void touch();
  void want(uint32_t events);
  void teardown();

  StreamServer& server_;
  UniqueFd fd_;
  SockAddr peer_;
  std::unique_ptr<StreamSession> session_;
  std::list<std::unique_ptr<StreamClient>>::iterator self_;
  std::string in_;
  std::string out_;
  size_t sent_ = 0;  // bytes of out_ written
  uint32_t interest_ = 0;
  bool eof_ = false;
  bool finishing_ = false;
  bool lingering_ = false;
  bool dead_ = false;
};

class StreamServer final : private IoHandler {
 public:
  // Makes the session of a newly accepted client.
  using SessionFactory = std::function<std::unique_ptr<StreamSession>(StreamClient&)>;

  StreamServer(EventLoop& loop, StreamOptions options, SessionFactory makeSession);
  ~StreamServer() override;  // closes the clients and the listening socket
  StreamServer(const StreamServer&) = delete;
  StreamServer& operator=(const StreamServer&) = delete;

  // Serves on `listener`: bound, listening and non-blocking.
  Status start(UniqueFd listener);
  size_t clientCount() const { return clients_.size(); }

 private:
  friend class StreamClient;

  class Reaper final : public Timer {
   public:
    explicit Reaper(StreamServer& s) : s_(s) {}
    void onTimer() override { s_.dead_.clear(); }

   private:
    StreamServer& s_;
  };

  class Resume final : public Timer {
   public:
    explicit Resume(StreamServer& s) : s_(s) {}
    void onTimer() override { s_.resumeAccepting(); }

   private:
    StreamServer& s_;
  };

  void onIo(uint32_t events) override;  // the listener
  void resumeAccepting();
  void drop(StreamClient& c);

  EventLoop& loop_;
  StreamOptions opt_;
  SessionFactory makeSession_;
  UniqueFd listen_;
  std::list<std::unique_ptr<StreamClient>> clients_;
  std::list<std::unique_ptr<StreamClient>> dead_;  // freed by reaper_
  Reaper reaper_{*this};
  Resume resume_{*this};
  uint64_t refused_ = 0;  // clients closed over the limit
  bool overLimit_ = false;
  std::shared_ptr<int> life_ = std::make_shared<int>(0);
};

}  // namespace fulcrum::admin
