// Test harness: temporary directories, child processes, loopback backends and clients.
// Everything binds port 0 (or reserves a port with SO_REUSEPORT) so tests never clash,
// and every wait is a poll with a deadline, never a sleep.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/net.h"

namespace fulcrum::test {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  // Writes a file in the directory and returns its path.
  std::string write(const std::string& name, const std::string& content) const;

 private:
  std::string path_;
};

std::string readFile(const std::string& path);
// Replaces a file atomically (writes PATH.tmp, then renames it over PATH), so a process
// reading the file never sees half of it. False when either step fails.
bool writeFileAtomically(const std::string& path, const std::string& content);

// The tests' one poll with a deadline, for state owned by another thread or process
// (counters, log files, what a server answers). Calls produce() every `every` until
// done(value) holds or `timeout` has passed, and returns the last value: the one that
// satisfied done(), or the one observed at the deadline.
template <typename Produce, typename Done>
auto pollUntil(Produce produce, Done done, std::chrono::milliseconds timeout = 10s,
               std::chrono::milliseconds every = 20ms) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    auto value = produce();
    if (done(value) || Clock::now() >= deadline) return value;
    std::this_thread::sleep_for(every);  // the poll interval, bounded by the deadline
  }
}

// Polls pred() every `every` until it holds or `timeout` passes; returns its last value.
template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = 10s,
                std::chrono::milliseconds every = 20ms) {
  return pollUntil([&] { return static_cast<bool>(pred()); }, [](bool held) { return held; },
                   timeout, every);
}

// A child process with stdout and stderr captured to files.
class Process {
 public:
  Process() = default;
  ~Process();
  Process(Process&&) = delete;

  void start(const std::vector<std::string>& argv, const std::string& logDir);
  // Limits the child's open files (soft and hard) from its next start; 0: inherited.
  void setNofile(int n) { nofile_ = n; }
  pid_t pid() const { return pid_; }
  bool running();
  void signal(int signo);
  // Waits for exit; returns the exit code (128+signal when killed), or -1 on timeout.
  int wait(std::chrono::milliseconds timeout);
  std::string out() const;
  std::string err() const;
  // Polls stderr until it contains text.
  bool waitForErr(const std::string& text, std::chrono::milliseconds timeout) const;

 private:
  pid_t pid_ = -1;
  int status_ = -1;
  int nofile_ = 0;
  std::string outPath_, errPath_;
};

// Runs a command to completion and captures its output.
struct RunResult {
  int code = -1;
  std::string out;
  std::string err;
};
RunResult run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout = 20s);

// A loopback port reserved for a process under test: a socket bound with SO_REUSEPORT
// (never listening) holds the port so no other test takes it, while the process under
// test, which also sets SO_REUSEPORT, can bind and listen on it.
class ReservedPort {
 public:
  explicit ReservedPort(bool v6 = false);
  ~ReservedPort();
  uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

// Blocking client helpers with deadlines.
int connectTcp(const SockAddr& addr, std::chrono::milliseconds timeout = 5s);  // -1 on failure
bool waitForListening(const SockAddr& addr, std::chrono::milliseconds timeout = 10s);
bool sendAll(int fd, const void* data, size_t len, std::chrono::milliseconds timeout = 10s);
bool sendAll(int fd, const std::string& s);
// Reads until EOF (true) or the deadline / an error (false); bytes read are appended.
bool readToEof(int fd, std::string& out, std::chrono::milliseconds timeout = 10s);
// Reads exactly n bytes.
bool readExactly(int fd, std::string& out, size_t n, std::chrono::milliseconds timeout = 10s);
// Reads one line ending in '\n' (without it).
bool readLine(int fd, std::string& line, std::chrono::milliseconds timeout = 10s);
void closeFd(int fd);
// Connects to 127.0.0.1:port, reads the first line the other end sends (a banner
// backend's name, through a proxy) and closes: the line, or "<connect failed>".
std::string firstLine(uint16_t port, std::chrono::milliseconds timeout = 5s);

// UNIX stream sockets (the runtime API). connectUnix: -1 on failure. A socket bound to
// `path` (not listening): -1 on failure.
int connectUnix(const std::string& path);
int bindUnix(const std::string& path);
// One runtime API request: sends `line` (with a newline, or without one and then a
// half-close, as socat does) and returns everything until the server closes; "<connect
// failed>" or a "<no EOF>" suffix when it does not answer in time.
std::string apiRequest(const std::string& path, const std::string& line, bool newline = true,
                       std::chrono::milliseconds timeout = 10s);

// A TCP server on 127.0.0.1 (or [::1]), port 0, one thread per connection running the
// handler with the connected fd (the handler must not close it; the backend does).
class Backend {
 public:
  using Handler = std::function<void(int fd)>;
  explicit Backend(Handler handler, bool v6 = false);
  ~Backend();
  Backend(const Backend&) = delete;

  uint16_t port() const { return port_; }
  SockAddr addr() const;
  std::string addrString() const { return addr().toString(); }
  int accepted() const { return accepted_.load(); }
  void stop();

  // Common behaviours.
  static Handler banner(const std::string& name);  // writes name+"\n", then reads to EOF
  static Handler echo();                           // echoes until EOF, then closes

 private:
  void acceptLoop();
  Handler handler_;
  bool v6_;
  int listenFd_ = -1;
  int stopPipe_[2] = {-1, -1};
  uint16_t port_ = 0;
  std::atomic<int> accepted_{0};
  std::thread acceptThread_;
  std::mutex mu_;
  std::vector<std::thread> conns_;
};

// A port on which nothing listens (connections are refused): bound, never listening.
class RefusingPort {
 public:
  RefusingPort();
  ~RefusingPort();
  uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

std::string randomBytes(size_t n, uint32_t seed);

}  // namespace fulcrum::test
