#include "daemon/listeners.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include <fmt/core.h>

namespace fulcrum::daemon {
namespace {

Result<UniqueFd> openOne(const SockAddr& addr) {
  UniqueFd fd(socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return Error{fmt::format("socket: {}", strerror(errno))};
  int one = 1;
  setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0)
    return Error{fmt::format("SO_REUSEPORT: {}", strerror(errno))};
  if (bind(fd.get(), addr.sa(), addr.len()) != 0)
    return Error{fmt::format("cannot bind {}: {}", addr.toString(), strerror(errno))};
  if (listen(fd.get(), SOMAXCONN) != 0)
    return Error{fmt::format("cannot listen on {}: {}", addr.toString(), strerror(errno))};
  return fd;
}

}  // namespace

Result<std::vector<BoundListener>> openListeners(const model::Config& config, int workers) {
  std::vector<BoundListener> out;
  for (size_t s = 0; s < config.services.size(); ++s) {
    const model::Service& svc = config.services[s];
    if (svc.protocol != model::Protocol::kTcp || svc.forwarding != model::Forwarding::kProxy)
      continue;
    for (const model::Bind& b : svc.binds) {
      BoundListener bl;
      bl.service = static_cast<int>(s);
      bl.addr = b.addr;
      for (int w = 0; w < workers; ++w) {
        auto fd = openOne(bl.addr);
        if (!fd)
          return Error{fmt::format("{}:{}: frontend '{}': {}", b.loc.file, b.loc.line, svc.name,
                                   fd.error())};
        if (w == 0 && bl.addr.port() == 0) {
          // Port 0: the kernel picked one; the other workers join that same port.
          SockAddr bound;
          *bound.lenPtr() = bound.capacity();
          getsockname(fd->get(), bound.sa(), bound.lenPtr());
          bl.addr = bound;
        }
        bl.perWorker.push_back(std::move(*fd));
      }
      out.push_back(std::move(bl));
    }
  }
  return out;
}

}  // namespace fulcrum::daemon
