#include "control/log_sinks.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <limits.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "common/clock.h"
#include "common/fd.h"
#include "common/log.h"

namespace fulcrum::control {
namespace {

constexpr const char* kFacilities[] = {"kern",   "user",   "mail",   "daemon", "auth",   "syslog",
                                       "lpr",    "news",   "uucp",   "cron",   "auth2",  "ftp",
                                       "ntp",    "audit",  "alert",  "cron2",  "local0", "local1",
                                       "local2", "local3", "local4", "local5", "local6", "local7"};
constexpr int kSeverityInfo = 6;

// stdout, stderr or a file: lines are written as they are, in batches, by a thread of the
// sink's own, so that a destination that stops reading (a pipe nobody reads, a full disk,
// a stopped terminal) never stalls a worker. Workers append to a bounded buffer; what does
// not fit (kCapacity, counting the batch being written) is dropped and counted, whole lines
// at a time. The thread writes at most
// PIPE_BUF bytes once poll() says there is room, so it never blocks in write() on a pipe
// either, and gives up at destruction after kStopFlush.
class StreamSink final : public model::LogSink {
 public:
  static constexpr size_t kCapacity = 4 * 1024 * 1024;
  static constexpr Micros kStopFlush = 1 * kSeconds;

  StreamSink(int fd, bool owned) : fd_(fd), owned_(owned) {}
  ~StreamSink() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable()) thread_.join();
    if (owned_) ::close(fd_);
  }
  bool perLine() const override { return false; }
  void write(std::string_view data) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      // The thread starts with the first line, from a worker: after the process dropped
      // its privileges, so it has exactly the workers' capabilities.
      if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
      if (pending_.size() + inFlight_ + data.size() <= kCapacity) {
        pending_.append(data);
        data = {};
      }
    }
    if (data.empty()) {
      cv_.notify_one();
      return;
    }
    countDropped(static_cast<uint64_t>(std::count(data.begin(), data.end(), '\n')));
  }

 private:
  void run() {
    std::string out;
    size_t done = 0;
    Micros giveUpAt = 0;
    for (;;) {
      if (done == out.size()) {
        out.clear();
        done = 0;
        std::unique_lock<std::mutex> lock(mu_);
        inFlight_ = 0;
        cv_.wait(lock, [&] { return stop_ || !pending_.empty(); });
        if (pending_.empty()) return;  // stopping, all written
        out.swap(pending_);
        inFlight_ = out.size();  // still counts toward the bound until written
      }
      bool stopping;
      {
        std::lock_guard<std::mutex> lock(mu_);
        stopping = stop_;
      }
      if (stopping && giveUpAt == 0) giveUpAt = monotonicNow() + kStopFlush;
      if (giveUpAt != 0 && monotonicNow() >= giveUpAt) {
        std::lock_guard<std::mutex> lock(mu_);
        const std::string_view rest = std::string_view(out).substr(done);
        countDropped(static_cast<uint64_t>(std::count(rest.begin(), rest.end(), '\n') +
                                           std::count(pending_.begin(), pending_.end(), '\n')));
        return;
      }
      pollfd p{fd_, POLLOUT, 0};
      if (::poll(&p, 1, 100) <= 0) continue;  // no room yet: look at stop_ again
      // Whole lines per write where they fit, so that other writers of the same
      // descriptor (the daemon's own messages on stderr) never land inside a line.
      size_t chunk = std::min<size_t>(out.size() - done, PIPE_BUF);
      if (done + chunk < out.size()) {
        const size_t nl = std::string_view(out).substr(done, chunk).rfind('\n');
        if (nl != std::string_view::npos) chunk = nl + 1;
      }
      const ssize_t n = ::write(fd_, out.data() + done, chunk);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n <= 0) {  // ENOSPC, EIO, EPIPE...: this batch is lost, counted
        const std::string_view rest = std::string_view(out).substr(done);
        countDropped(static_cast<uint64_t>(std::count(rest.begin(), rest.end(), '\n')));
        done = out.size();
        continue;
      }
      done += static_cast<size_t>(n);
    }
  }

  const int fd_;
  const bool owned_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::string pending_;  // guarded by mu_
  size_t inFlight_ = 0;  // guarded by mu_: the batch the thread is writing
  bool stop_ = false;    // guarded by mu_
  std::thread thread_;   // guarded by mu_ until started
};

// Syslog over a datagram socket (unix or UDP), RFC 3164 framing: connected, or, for a unix
// socket that was not there at start (no syslog daemon yet, as in containers), addressed
// on every line so that the lines reach it once it appears.
class SyslogSink final : public model::LogSink {
 public:
  SyslogSink(UniqueFd fd, int facility, int severity, std::string_view tag,
             std::optional<sockaddr_un> to = std::nullopt)
      : fd_(std::move(fd)), pri_(facility * 8 + severity), tag_(tag), to_(to) {
    pid_ = getpid();
  }
  bool perLine() const override { return true; }
  void write(std::string_view line) override {
    time_t now = static_cast<time_t>(wallNow() / kSeconds);
    struct tm tm;
    localtime_r(&now, &tm);
    char date[32];
    strftime(date, sizeof(date), "%b %e %H:%M:%S", &tm);
    char buf[2048];
    auto res =
        fmt::format_to_n(buf, sizeof(buf), "<{}>{} {}[{}]: {}", pri_, date, tag_, pid_, line);
    size_t len = std::min(res.size, sizeof(buf));
    ssize_t n = to_ ? ::sendto(fd_.get(), buf, len, MSG_DONTWAIT | MSG_NOSIGNAL,
                               reinterpret_cast<const sockaddr*>(&*to_), sizeof(*to_))
                    : ::send(fd_.get(), buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0) countDropped(1);
  }

 private:
  UniqueFd fd_;
  int pri_;
  std::string tag_;
  std::optional<sockaddr_un> to_;
  pid_t pid_;
};

}  // namespace

int syslogFacility(std::string_view name) {
  for (size_t i = 0; i < std::size(kFacilities); ++i)
    if (name == kFacilities[i]) return static_cast<int>(i);
  return -1;
}

bool logsConnections(const model::LogTarget& t) { return t.level >= kSeverityInfo; }

Result<std::shared_ptr<model::LogSink>> openLogSink(const model::LogTarget& t,
                                                    std::string_view tag) {
  using Kind = model::LogTarget::Kind;
  switch (t.kind) {
    case Kind::kStdout:
      return std::shared_ptr<model::LogSink>(std::make_shared<StreamSink>(1, false));
    case Kind::kStderr:
      return std::shared_ptr<model::LogSink>(std::make_shared<StreamSink>(2, false));
    case Kind::kFile: {
      int fd = ::open(t.path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
      if (fd < 0)
        return Error{fmt::format("cannot open log file '{}': {}", t.path, strerror(errno))};
      return std::shared_ptr<model::LogSink>(std::make_shared<StreamSink>(fd, true));
    }
    case Kind::kSyslogUnix:
    case Kind::kSyslogUdp: {
      int facility = syslogFacility(t.facility);
      if (facility < 0) return Error{fmt::format("unknown syslog facility '{}'", t.facility)};
      UniqueFd fd;
      if (t.kind == Kind::kSyslogUnix) {
        fd.reset(socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        sockaddr_un un{};
        un.sun_family = AF_UNIX;
        if (t.path.size() >= sizeof(un.sun_path))
          return Error{fmt::format("syslog socket path '{}' is too long", t.path)};
        std::memcpy(un.sun_path, t.path.c_str(), t.path.size() + 1);
        if (connect(fd.get(), reinterpret_cast<sockaddr*>(&un), sizeof(un)) != 0) {
          // As HAProxy: a syslog socket that is not there (yet) costs the log lines, not
          // the start. The lines are sent to the path, so a syslog daemon started later
          // gets them.
          if (errno != ENOENT && errno != ECONNREFUSED)
            return Error{
                fmt::format("cannot reach syslog socket '{}': {}", t.path, strerror(errno))};
          log::warning(
              "{}:{}: syslog socket '{}' is not there ({}): log lines sent to it are "
              "lost until a syslog daemon listens on it",
              t.loc.file, t.loc.line, t.path, strerror(errno));
          return std::shared_ptr<model::LogSink>(std::make_shared<SyslogSink>(
              std::move(fd), facility, std::max<int>(kSeverityInfo, t.minLevel), tag, un));
        }
      } else {
        fd.reset(socket(t.addr.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        if (connect(fd.get(), t.addr.sa(), t.addr.len()) != 0)
          return Error{
              fmt::format("cannot use syslog address {}: {}", t.addr.toString(), strerror(errno))};
      }
      return std::shared_ptr<model::LogSink>(std::make_shared<SyslogSink>(
          std::move(fd), facility, std::max<int>(kSeverityInfo, t.minLevel), tag));
    }
  }
  return Error{"unknown log target"};
}

}  // namespace fulcrum::control
