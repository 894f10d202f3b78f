// HAProxy's typed form of a statistics field, used by "show stat typed|json" and "show info
// typed|json": each field carries its position, its name, three tags (origin, nature,
// scope) and a value type, so that a consumer can tell a counter from a gauge or a limit.
//
//   typed text:  F.2.0.4.scur.1:MGP:u32:3        (object, proxy id, id, pos, name, process)
//                17.CurrConns.1:MGP:u32:3         (show info: pos, name, process)
//   JSON:        {"objType":"Frontend","proxyId":2,"id":0,"field":{"pos":4,"name":"scur"},
//                 "processNum":1,"tags":{"origin":"Metric","nature":"Gauge","scope":"Process"},
//                 "value":{"type":"u32","value":3}}
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace fulcrum::admin {

// Tags and value type in HAProxy's one-letter notation, e.g. "MCP:u64": origin (Key,
// Config, Product, Status, Metric), nature (Age, avg, Counter, Duration, Gauge, Limit, Max,
// Name, Output, Rate), scope (Process, Service, system), then u32, s32, u64 or str.
struct FieldTags {
  std::string_view code;  // "MCP:u64"
  char origin() const { return code[0]; }
  char nature() const { return code[1]; }
  char scope() const { return code[2]; }
  std::string_view type() const { return code.substr(4); }
};

struct FieldId {
  int pos;
  std::string_view name;
  FieldTags tags;
};

// "POS.NAME.1:TAGS:TYPE:VALUE" (without a newline); `prefix` (e.g. "F.2.0.") goes first.
std::string typedFieldText(std::string_view prefix, const FieldId& f, const nlohmann::json& value);

// {"field":..., "processNum":1, "tags":..., "value":...} after the keys already in `into`
// (objType, proxyId, id for "show stat").
void appendTypedFieldJson(nlohmann::ordered_json& into, const FieldId& f,
                          const nlohmann::json& value);

}  // namespace fulcrum::admin
