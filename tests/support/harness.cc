#include "support/harness.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

namespace fulcrum::test {
namespace {

int msLeft(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

bool waitFd(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    int rc = poll(&p, 1, msLeft(deadline));
    if (rc > 0) return true;
    if (rc == 0) return false;
    if (errno != EINTR) return false;
  }
}

SockAddr loopback(bool v6, uint16_t port) {
  if (v6) return *SockAddr::parse("[::1]:" + std::to_string(port));
  return SockAddr::loopback4(port);
}

uint16_t boundPort(int fd) { return localAddressOf(fd).port(); }

}  // namespace

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "fulcrum-test-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::write(const std::string& name, const std::string& content) const {
  std::string p = path_ + "/" + name;
  std::ofstream(p, std::ios::binary) << content;
  return p;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool writeFileAtomically(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << content;
    if (!out.flush()) return false;
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

Process::~Process() {
  if (pid_ > 0 && running()) {
    ::kill(pid_, SIGKILL);
    wait(5s);
  }
}

void Process::start(const std::vector<std::string>& argv, const std::string& logDir) {
  static std::atomic<int> seq{0};
  int n = seq++;
  outPath_ = logDir + "/proc" + std::to_string(n) + ".out";
  errPath_ = logDir + "/proc" + std::to_string(n) + ".err";
  pid_ = fork();
  if (pid_ == 0) {
    int o = open(outPath_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int e = open(errPath_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(o, 1);
    dup2(e, 2);
    if (nofile_ > 0) {
      rlimit rl{static_cast<rlim_t>(nofile_), static_cast<rlim_t>(nofile_)};
      setrlimit(RLIMIT_NOFILE, &rl);
    }
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
}

bool Process::running() {
  if (pid_ <= 0 || status_ >= 0) return false;
  int st;
  pid_t r = waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return false;
  }
  return true;
}

void Process::signal(int signo) {
  if (pid_ > 0 && status_ < 0) ::kill(pid_, signo);
}

int Process::wait(std::chrono::milliseconds timeout) {
  // Polling a child's exit: no fd to wait on.
  return eventually([&] { return !running(); }, timeout, 5ms) ? status_ : -1;
}

std::string Process::out() const { return readFile(outPath_); }
std::string Process::err() const { return readFile(errPath_); }

bool Process::waitForErr(const std::string& text, std::chrono::milliseconds timeout) const {
  return eventually([&] { return err().find(text) != std::string::npos; }, timeout, 10ms);
}

RunResult run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  TempDir logs;
  RunResult r;
  {
    Process p;
    p.start(argv, logs.path());
    r.code = p.wait(timeout);
    r.out = p.out();
    r.err = p.err();
  }
  return r;
}

ReservedPort::ReservedPort(bool v6) {
  fd_ = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  setsockopt(fd_, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  SockAddr a = loopback(v6, 0);
  if (bind(fd_, a.sa(), a.len()) != 0) throw std::runtime_error("reserve port: bind failed");
  port_ = boundPort(fd_);
}

ReservedPort::~ReservedPort() { ::close(fd_); }

namespace {
sockaddr_un unixAddr(const std::string& path) {
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  std::snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path.c_str());
  return sun;
}
}  // namespace

int connectUnix(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  const sockaddr_un sun = unixAddr(path);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&sun), sizeof(sun)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

int bindUnix(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  const sockaddr_un sun = unixAddr(path);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&sun), sizeof(sun)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

std::string apiRequest(const std::string& path, const std::string& line, bool newline,
                       std::chrono::milliseconds timeout) {
  int fd = connectUnix(path);
  if (fd < 0) return "<connect failed>";
  std::string out;
  if (!sendAll(fd, newline ? line + "\n" : line)) out = "<send failed>";
  if (!newline) ::shutdown(fd, SHUT_WR);
  if (!readToEof(fd, out, timeout)) out += "<no EOF>";
  ::close(fd);
  return out;
}

int connectTcp(const SockAddr& addr, std::chrono::milliseconds timeout) {
  int fd = socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int rc = ::connect(fd, addr.sa(), addr.len());
  if (rc != 0 && errno != EINPROGRESS) {
    ::close(fd);
    return -1;
  }
  if (rc != 0) {
    if (!waitFd(fd, POLLOUT, Clock::now() + timeout)) {
      ::close(fd);
      return -1;
    }
    int err = 0;
    socklen_t len = sizeof(err);
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      ::close(fd);
      return -1;
    }
  }
  int flags = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  return fd;
}

bool waitForListening(const SockAddr& addr, std::chrono::milliseconds timeout) {
  const int fd =
      pollUntil([&] { return connectTcp(addr, 1s); }, [](int c) { return c >= 0; }, timeout, 10ms);
  closeFd(fd);
  return fd >= 0;
}

bool sendAll(int fd, const void* data, size_t len, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  const char* p = static_cast<const char*>(data);
  while (len > 0) {
    if (!waitFd(fd, POLLOUT, deadline)) return false;
    ssize_t n = ::send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return false;
    }
    p += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

bool sendAll(int fd, const std::string& s) { return sendAll(fd, s.data(), s.size()); }

bool readToEof(int fd, std::string& out, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  char buf[65536];
  for (;;) {
    if (!waitFd(fd, POLLIN, deadline)) return false;
    ssize_t n = ::recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n == 0) return true;
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return false;
    }
    out.append(buf, static_cast<size_t>(n));
  }
}

bool readExactly(int fd, std::string& out, size_t n, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  char buf[65536];
  while (n > 0) {
    if (!waitFd(fd, POLLIN, deadline)) return false;
    ssize_t r = ::recv(fd, buf, std::min(n, sizeof(buf)), MSG_DONTWAIT);
    if (r == 0) return false;
    if (r < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return false;
    }
    out.append(buf, static_cast<size_t>(r));
    n -= static_cast<size_t>(r);
  }
  return true;
}

bool readLine(int fd, std::string& line, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  line.clear();
  for (;;) {
    if (!waitFd(fd, POLLIN, deadline)) return false;
    char c;
    ssize_t n = ::recv(fd, &c, 1, MSG_DONTWAIT);
    if (n == 0) return false;
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return false;
    }
    if (c == '\n') return true;
    line.push_back(c);
  }
}

std::string firstLine(uint16_t port, std::chrono::milliseconds timeout) {
  int fd = connectTcp(SockAddr::loopback4(port), timeout);
  if (fd < 0) return "<connect failed>";
  std::string line;
  readLine(fd, line, timeout);
  closeFd(fd);
  return line;
}

void closeFd(int fd) {
  if (fd >= 0) ::close(fd);
}

Backend::Backend(Handler handler, bool v6) : handler_(std::move(handler)), v6_(v6) {
  listenFd_ = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(listenFd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  SockAddr a = loopback(v6, 0);
  if (bind(listenFd_, a.sa(), a.len()) != 0 || listen(listenFd_, 1024) != 0)
    throw std::runtime_error("backend: bind/listen failed");
  port_ = boundPort(listenFd_);
  if (pipe2(stopPipe_, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  acceptThread_ = std::thread([this] { acceptLoop(); });
}

Backend::~Backend() { stop(); }

SockAddr Backend::addr() const { return loopback(v6_, port_); }

void Backend::stop() {
  if (listenFd_ < 0) return;
  [[maybe_unused]] ssize_t n = ::write(stopPipe_[1], "x", 1);
  acceptThread_.join();
  ::close(listenFd_);
  listenFd_ = -1;
  std::vector<std::thread> conns;
  {
    std::lock_guard<std::mutex> lk(mu_);
    conns.swap(conns_);
  }
  for (auto& t : conns) t.join();
  ::close(stopPipe_[0]);
  ::close(stopPipe_[1]);
}

void Backend::acceptLoop() {
  for (;;) {
    pollfd p[2] = {{listenFd_, POLLIN, 0}, {stopPipe_[0], POLLIN, 0}};
    if (poll(p, 2, -1) < 0) continue;
    if (p[1].revents) return;
    int fd = accept4(listenFd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    ++accepted_;
    std::lock_guard<std::mutex> lk(mu_);
    conns_.emplace_back([this, fd] {
      handler_(fd);
      ::close(fd);
    });
  }
}

Backend::Handler Backend::banner(const std::string& name) {
  return [name](int fd) {
    sendAll(fd, name + "\n");
    std::string ignored;
    readToEof(fd, ignored, 10s);
  };
}

Backend::Handler Backend::echo() {
  return [](int fd) {
    char buf[65536];
    for (;;) {
      ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
      if (n <= 0) break;
      if (!sendAll(fd, buf, static_cast<size_t>(n))) break;
    }
    shutdown(fd, SHUT_WR);
  };
}

RefusingPort::RefusingPort() {
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  SockAddr a = SockAddr::loopback4(0);
  if (bind(fd_, a.sa(), a.len()) != 0) throw std::runtime_error("refusing port: bind failed");
  port_ = boundPort(fd_);
}

RefusingPort::~RefusingPort() { ::close(fd_); }

std::string randomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(rng() & 0xff);
  return s;
}

}  // namespace fulcrum::test
