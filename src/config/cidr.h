// Address patterns of "acl NAME src ..." lines, in HAProxy's syntax:
//   a.b.c.d[/LEN]  a.b.c.d/m.m.m.m  x:y::z[/LEN]
// IPv4 patterns are stored as IPv4-mapped IPv6 prefixes (model::Cidr).
#pragma once

#include <string_view>

#include "common/result.h"
#include "model/model.h"

namespace fulcrum::config {

// One numeric address or prefix; host bits beyond the prefix are cleared. Host names, a
// non-contiguous dotted mask and a length out of range are errors.
Result<model::Cidr> parseCidr(std::string_view text);

}  // namespace fulcrum::config
