#include "model/acl.h"

#include <netinet/in.h>

#include <cstring>

namespace fulcrum::model {

void toV6Bytes(const SockAddr& addr, uint8_t out[16]) {
  std::memset(out, 0, 16);
  if (addr.family() == AF_INET) {
    out[10] = out[11] = 0xff;
    std::memcpy(out + 12, &reinterpret_cast<const sockaddr_in*>(addr.sa())->sin_addr, 4);
  } else if (addr.family() == AF_INET6) {
    std::memcpy(out, &reinterpret_cast<const sockaddr_in6*>(addr.sa())->sin6_addr, 16);
  }
}

bool cidrContains(const Cidr& cidr, const uint8_t addr[16]) {
  const int full = cidr.prefix / 8;
  if (std::memcmp(cidr.addr, addr, static_cast<size_t>(full)) != 0) return false;
  const int rest = cidr.prefix % 8;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (cidr.addr[full] & mask) == (addr[full] & mask);
}

bool aclMatches(const Acl& acl, const uint8_t addr[16]) {
  for (const Cidr& c : acl.sources)
    if (cidrContains(c, addr)) return true;
  return false;
}

bool conditionHolds(const Condition& cond, const std::vector<Acl>& acls, const uint8_t addr[16]) {
  bool holds = cond.anyOf.empty();
  for (const auto& group : cond.anyOf) {
    bool all = true;
    for (const AclTerm& t : group) {
      bool m = t.acl >= 0 && static_cast<size_t>(t.acl) < acls.size() &&
               aclMatches(acls[static_cast<size_t>(t.acl)], addr);
      if (m == t.negate) {
        all = false;
        break;
      }
    }
    if (all) {
      holds = true;
      break;
    }
  }
  return cond.unless ? !holds : holds;
}

bool acceptsConnection(const Service& service, const SockAddr& client) {
  if (service.tcpRequestConnection.empty()) return true;
  uint8_t addr[16];
  toV6Bytes(client, addr);
  for (const TcpRequestRule& r : service.tcpRequestConnection) {
    if (conditionHolds(r.condition, service.acls, addr))
      return r.action == TcpRequestRule::Action::kAccept;
  }
  return true;
}

}  // namespace fulcrum::model
