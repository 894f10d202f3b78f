#include "client.h"

#include <errno.h>
#include <fcntl.h>
#include <fmt/core.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "common/fd.h"

namespace fulcrumctl {
namespace {

using Clock = std::chrono::steady_clock;

// Milliseconds left before the deadline, at least 0.
int remainingMs(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

// Waits for `events` on fd; false on timeout.
bool waitFor(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    int r = ::poll(&p, 1, remainingMs(deadline));
    if (r > 0) return true;
    if (r == 0) return false;
    if (errno != EINTR) return true;  // let the following call report the error
  }
}

fulcrum::Error fail(const Endpoint& ep, std::string_view what) {
  return fulcrum::Error{fmt::format("{}: {}", ep.path, what)};
}

}  // namespace

fulcrum::Result<std::string> query(const Endpoint& ep, std::string_view line) {
  const auto deadline = Clock::now() + ep.timeout;
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  if (ep.path.empty() || ep.path.size() >= sizeof(sun.sun_path))
    return fail(ep, "invalid socket path");
  std::memcpy(sun.sun_path, ep.path.data(), ep.path.size());

  fulcrum::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return fail(ep, std::strerror(errno));
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&sun), sizeof(sun)) != 0) {
    if (errno != EINPROGRESS && errno != EAGAIN)
      return fail(ep, fmt::format("cannot connect: {}", std::strerror(errno)));
    if (!waitFor(fd.get(), POLLOUT, deadline)) return fail(ep, "timed out connecting");
    int err = 0;
    socklen_t len = sizeof(err);
    ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return fail(ep, fmt::format("cannot connect: {}", std::strerror(err)));
  }

  std::string request(line);
  request += '\n';
  size_t off = 0;
  while (off < request.size()) {
    ssize_t n = ::send(fd.get(), request.data() + off, request.size() - off, MSG_NOSIGNAL);
    if (n > 0) {
      off += static_cast<size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!waitFor(fd.get(), POLLOUT, deadline)) return fail(ep, "timed out sending");
    } else {
      return fail(ep, fmt::format("send failed: {}", std::strerror(errno)));
    }
  }

  std::string out;
  char buf[16384];
  for (;;) {
    ssize_t n = ::recv(fd.get(), buf, sizeof(buf), 0);
    if (n > 0) {
      out.append(buf, static_cast<size_t>(n));
    } else if (n == 0) {
      return out;
    } else if (errno == EAGAIN || errno == EINTR) {
      if (!waitFor(fd.get(), POLLIN, deadline))
        return fail(ep, "timed out waiting for the response");
    } else if (errno == ECONNRESET && !out.empty()) {
      return out;  // the server closed right after answering
    } else {
      return fail(ep, fmt::format("receive failed: {}", std::strerror(errno)));
    }
  }
}

}  // namespace fulcrumctl
