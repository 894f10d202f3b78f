#include "admin/typed_field.h"

#include <fmt/format.h>

namespace fulcrum::admin {

namespace {

std::string_view originName(char c) {
  switch (c) {
    case 'K': return "Key";
    case 'C': return "Config";
    case 'P': return "Product";
    case 'S': return "Status";
    default: return "Metric";
  }
}

std::string_view natureName(char c) {
  switch (c) {
    case 'A': return "Age";
    case 'a': return "Avg";
    case 'C': return "Counter";
    case 'D': return "Duration";
    case 'L': return "Limit";
    case 'M': return "Max";
    case 'N': return "Name";
    case 'O': return "Output";
    case 'R': return "Rate";
    default: return "Gauge";
  }
}

std::string_view scopeName(char c) {
  switch (c) {
    case 'S': return "Service";
    case 's': return "System";
    default: return "Process";
  }
}

// A string field holds a string even when the row computed a number for it.
std::string asText(const nlohmann::json& v) {
  return v.is_string() ? v.get<std::string>() : v.dump();
}

}  // namespace

std::string typedFieldText(std::string_view prefix, const FieldId& f, const nlohmann::json& value) {
  return fmt::format("{}{}.{}.1:{}:{}", prefix, f.pos, f.name, f.tags.code, asText(value));
}

void appendTypedFieldJson(nlohmann::ordered_json& into, const FieldId& f,
                          const nlohmann::json& value) {
  into["field"] = {{"pos", f.pos}, {"name", f.name}};
  into["processNum"] = 1;
  into["tags"] = {{"origin", originName(f.tags.origin())},
                  {"nature", natureName(f.tags.nature())},
                  {"scope", scopeName(f.tags.scope())}};
  nlohmann::ordered_json v = {{"type", f.tags.type()}};
  if (f.tags.type() == "str") {
    v["value"] = asText(value);
  } else {
    v["value"] = value;
  }
  into["value"] = std::move(v);
}

}  // namespace fulcrum::admin
