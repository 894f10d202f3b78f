#include "proxy/listeners.h"

#include <fmt/core.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace fulcrum::proxy {
namespace {

Status setOpt(int fd, int level, int opt, int value, const char* name) {
  if (setsockopt(fd, level, opt, &value, sizeof(value)) != 0)
    return Error{fmt::format("{}: {}", name, strerror(errno))};
  return Ok{};
}

Result<UniqueFd> openOne(const SockAddr& addr, const model::Bind& b, int backlog) {
  UniqueFd fd(socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return Error{fmt::format("socket: {}", strerror(errno))};
  const int s = fd.get();
  Status st = setOpt(s, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR");
  if (st) st = setOpt(s, SOL_SOCKET, SO_REUSEPORT, 1, "SO_REUSEPORT");
  // Accepted sockets inherit TCP_NODELAY: one setsockopt per listener, none per client.
  if (st) st = setOpt(s, IPPROTO_TCP, TCP_NODELAY, 1, "TCP_NODELAY");
  if (st && addr.isV6() && b.v6only != model::Tristate::kUnset)
    st = setOpt(s, IPPROTO_IPV6, IPV6_V6ONLY, b.v6only == model::Tristate::kOn, "v6only");
  if (st && !b.interface.empty() &&
      setsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, b.interface.c_str(),
                 static_cast<socklen_t>(b.interface.size())) != 0)
    st = Error{fmt::format("interface '{}': {}", b.interface, strerror(errno))};
  // defer-accept: wake the listener only when data arrives (1 s of grace, as HAProxy).
  if (st && b.deferAccept) st = setOpt(s, IPPROTO_TCP, TCP_DEFER_ACCEPT, 1, "defer-accept");
  if (st && b.tfo) st = setOpt(s, IPPROTO_TCP, TCP_FASTOPEN, backlog, "tfo");
  if (!st) return Error{st.error()};
  if (bind(s, addr.sa(), addr.len()) != 0)
    return Error{fmt::format("cannot bind {}: {}", addr.toString(), strerror(errno))};
  if (listen(s, backlog) != 0)
    return Error{fmt::format("cannot listen on {}: {}", addr.toString(), strerror(errno))};
  return fd;
}

Result<UniqueFd> openUdpOne(const SockAddr& addr, const model::Bind& b) {
  UniqueFd fd(socket(addr.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return Error{fmt::format("socket: {}", strerror(errno))};
  const int s = fd.get();
  Status st = setOpt(s, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR");
  if (st) st = setOpt(s, SOL_SOCKET, SO_REUSEPORT, 1, "SO_REUSEPORT");
  if (st) st = setOpt(s, SOL_SOCKET, SO_RXQ_OVFL, 1, "SO_RXQ_OVFL");
  if (st && addr.isV6() && b.v6only != model::Tristate::kUnset)
    st = setOpt(s, IPPROTO_IPV6, IPV6_V6ONLY, b.v6only == model::Tristate::kOn, "v6only");
  // A wildcard listener learns the address each datagram was sent to, and replies from it.
  if (st && addr.isAny()) {
    st = setOpt(s, IPPROTO_IP, IP_PKTINFO, 1, "IP_PKTINFO");
    if (st && addr.isV6()) st = setOpt(s, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1, "IPV6_RECVPKTINFO");
  }
  if (st && !b.interface.empty() &&
      setsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, b.interface.c_str(),
                 static_cast<socklen_t>(b.interface.size())) != 0)
    st = Error{fmt::format("interface '{}': {}", b.interface, strerror(errno))};
  if (!st) return Error{st.error()};
  if (bind(s, addr.sa(), addr.len()) != 0)
    return Error{fmt::format("cannot bind {} (UDP): {}", addr.toString(), strerror(errno))};
  return fd;
}

}  // namespace

bool udpListened(const model::Service& svc) {
  return svc.protocol == model::Protocol::kUdp && svc.forwarding == model::Forwarding::kProxy;
}

Result<std::shared_ptr<ListenerSockets>> openUdpListener(const model::Service& svc,
                                                         const model::Bind& b, int workers) {
  auto ls = std::make_shared<ListenerSockets>();
  ls->addr = b.addr;
  ls->key = "udp|" + listenerKey(svc, b);
  for (int w = 0; w < workers; ++w) {
    auto fd = openUdpOne(ls->addr, b);
    if (!fd)
      return Error{fmt::format("{}:{}: {} '{}': {}", b.loc.file, b.loc.line,
                               b.dgram ? "udp-lb" : "frontend", svc.name, fd.error())};
    if (w == 0 && ls->addr.port() == 0) ls->addr = localAddressOf(fd->get());
    ls->perWorker.push_back(std::move(*fd));
  }
  return ls;
}

int backlogOf(const model::Service& svc, const model::Bind& b) {
  // HAProxy: the backlog defaults to the frontend's maxconn.
  return static_cast<int>(b.backlog > 0     ? b.backlog
                          : svc.maxconn > 0 ? svc.maxconn
                                            : static_cast<uint32_t>(SOMAXCONN));
}

bool proxyListened(const model::Service& svc) {
  return svc.protocol == model::Protocol::kTcp && svc.forwarding == model::Forwarding::kProxy;
}

std::string listenerKey(const model::Service& svc, const model::Bind& b) {
  // Not part of it: the backlog, defer-accept and tfo, which updateListener() changes on
  // the open sockets.
  (void)svc;
  return fmt::format("{}|v6only={}|if={}", b.addr.toString(), static_cast<int>(b.v6only),
                     b.interface);
}

Result<std::shared_ptr<ListenerSockets>> openListener(const model::Service& svc,
                                                      const model::Bind& b, int workers) {
  auto ls = std::make_shared<ListenerSockets>();
  ls->addr = b.addr;
  ls->key = listenerKey(svc, b);
  const int backlog = backlogOf(svc, b);
  ls->backlog = backlog;
  ls->deferAccept = b.deferAccept;
  ls->tfo = b.tfo;
  for (int w = 0; w < workers; ++w) {
    auto fd = openOne(ls->addr, b, backlog);
    if (!fd)
      return Error{
          fmt::format("{}:{}: frontend '{}': {}", b.loc.file, b.loc.line, svc.name, fd.error())};
    // Port 0: the kernel picked one; the other workers join that same port.
    if (w == 0 && ls->addr.port() == 0) ls->addr = localAddressOf(fd->get());
    ls->perWorker.push_back(std::move(*fd));
  }
  return ls;
}

void updateListener(ListenerSockets& ls, const PlannedListener& pl) {
  if (pl.backlog == ls.backlog && pl.deferAccept == ls.deferAccept && pl.tfo == ls.tfo) return;
  for (UniqueFd& fd : ls.perWorker) {
    if (!fd.valid()) continue;
    // A listening socket takes a new backlog from listen() again; the TCP options are
    // read at each new connection.
    if (pl.backlog != ls.backlog) listen(fd.get(), pl.backlog);
    int defer = pl.deferAccept ? 1 : 0;
    setsockopt(fd.get(), IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer, sizeof(defer));
    int tfo = pl.tfo ? pl.backlog : 0;
    setsockopt(fd.get(), IPPROTO_TCP, TCP_FASTOPEN, &tfo, sizeof(tfo));
  }
  ls.backlog = pl.backlog;
  ls.deferAccept = pl.deferAccept;
  ls.tfo = pl.tfo;
}

}  // namespace fulcrum::proxy
