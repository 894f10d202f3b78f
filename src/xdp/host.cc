#include "xdp/host.h"

#include <ifaddrs.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>

#include "common/fd.h"

namespace fulcrum::xdp {

std::optional<HostDefaults> interfaceDefaults(const std::string& ifname) {
  if (if_nametoindex(ifname.c_str()) == 0) return std::nullopt;
  HostDefaults h;
  std::ifstream f("/sys/class/net/" + ifname + "/address");
  std::string text;
  unsigned v[6] = {};
  if (std::getline(f, text) &&
      std::sscanf(text.c_str(), "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) == 6)
    for (size_t i = 0; i < 6; ++i) h.sourceMac[i] = static_cast<uint8_t>(v[i]);
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) == 0) {
    for (ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
      if (a->ifa_addr == nullptr || ifname != a->ifa_name) continue;
      if (a->ifa_addr->sa_family == AF_INET && !h.ipv4) {
        std::array<uint8_t, 4> b{};
        std::memcpy(b.data(), &reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr, 4);
        h.ipv4 = b;
      } else if (a->ifa_addr->sa_family == AF_INET6 && !h.ipv6) {
        const auto& in6 = reinterpret_cast<sockaddr_in6*>(a->ifa_addr)->sin6_addr;
        if (IN6_IS_ADDR_LINKLOCAL(&in6)) continue;
        std::array<uint8_t, 16> b{};
        std::memcpy(b.data(), &in6, 16);
        h.ipv6 = b;
      }
    }
    freeifaddrs(list);
  }
  return h;
}

NeighbourTable neighbours() {
  NeighbourTable table;
  UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!fd.valid()) return table;
  struct {
    nlmsghdr nh;
    ndmsg nd;
  } req{};
  req.nh.nlmsg_len = sizeof(req);
  req.nh.nlmsg_type = RTM_GETNEIGH;
  req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.nh.nlmsg_seq = 1;
  req.nd.ndm_family = AF_UNSPEC;
  if (::send(fd.get(), &req, sizeof(req), 0) < 0) return table;
  constexpr uint16_t kComplete =
      NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT | NUD_NOARP;
  alignas(nlmsghdr) char buf[32768];
  for (;;) {
    ssize_t n = ::recv(fd.get(), buf, sizeof(buf), 0);
    if (n <= 0) return table;
    for (auto* nh = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(nh, static_cast<unsigned>(n));
         nh = NLMSG_NEXT(nh, n)) {
      if (nh->nlmsg_type == NLMSG_DONE || nh->nlmsg_type == NLMSG_ERROR) return table;
      if (nh->nlmsg_type != RTM_NEWNEIGH) continue;
      auto* nd = static_cast<ndmsg*>(NLMSG_DATA(nh));
      if ((nd->ndm_state & kComplete) == 0) continue;
      std::array<uint8_t, 16> key{};
      bool haveKey = false;
      const uint8_t* ll = nullptr;
      int len = static_cast<int>(RTM_PAYLOAD(nh));
      for (auto* rta =
               reinterpret_cast<rtattr*>(reinterpret_cast<char*>(nd) + NLMSG_ALIGN(sizeof(ndmsg)));
           RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
        if (rta->rta_type == NDA_DST && nd->ndm_family == AF_INET && RTA_PAYLOAD(rta) == 4) {
          key[10] = key[11] = 0xff;
          std::memcpy(key.data() + 12, RTA_DATA(rta), 4);
          haveKey = true;
        } else if (rta->rta_type == NDA_DST && nd->ndm_family == AF_INET6 &&
                   RTA_PAYLOAD(rta) == 16) {
          std::memcpy(key.data(), RTA_DATA(rta), 16);
          haveKey = true;
        } else if (rta->rta_type == NDA_LLADDR && RTA_PAYLOAD(rta) == 6) {
          ll = static_cast<const uint8_t*>(RTA_DATA(rta));
        }
      }
      if (haveKey && ll != nullptr) {
        Mac m{};
        std::memcpy(m.data(), ll, 6);
        table.emplace(key, m);
      }
    }
  }
}

void provokeResolution(const SockAddr& addr) {
  UniqueFd fd(::socket(addr.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return;
  SockAddr to = addr;
  to.setPort(9);  // discard
  const char byte = 0;
  (void)::sendto(fd.get(), &byte, 1, MSG_DONTWAIT, to.sa(), to.len());
}

}  // namespace fulcrum::xdp
