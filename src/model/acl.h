// Source-address ACLs and "tcp-request connection" rules: pure evaluation over the
// model, used by the proxy data plane at accept time (and testable without sockets).
#pragma once

#include "common/net.h"
#include "model/model.h"

namespace fulcrum::model {

// The address as 16 bytes in the IPv6 space (IPv4 as ::ffff:a.b.c.d).
void toV6Bytes(const SockAddr& addr, uint8_t out[16]);

bool cidrContains(const Cidr& cidr, const uint8_t addr[16]);
bool aclMatches(const Acl& acl, const uint8_t addr[16]);
bool conditionHolds(const Condition& cond, const std::vector<Acl>& acls, const uint8_t addr[16]);

// Evaluates the service's tcp-request connection rules in order; the first rule whose
// condition holds decides. No rule matching: accepted.
bool acceptsConnection(const Service& service, const SockAddr& client);

}  // namespace fulcrum::model
