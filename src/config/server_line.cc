#include "config/server_line.h"

#include <fmt/format.h>

#include <algorithm>

#include "config/config.h"

namespace fulcrum::config {

namespace {

constexpr std::string_view kFile = "<runtime>";

Status checkWord(std::string_view w) {
  if (w.empty()) return Error{"empty argument"};
  for (char c : w) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\'' || c == '"' || c == '\\' || c == '#' || u < 0x20 || u == 0x7f)
      return Error{fmt::format("character '{}' is not permitted in argument '{}'",
                               u < 0x20 || u == 0x7f ? '?' : c, w)};
  }
  return Ok{};
}

}  // namespace

Result<model::Server> parseServerLine(std::string_view name, std::string_view addr,
                                      const std::vector<std::string>& params) {
  std::string line = "backend runtime-api\n  server";
  std::vector<std::string_view> words = {name, addr};
  words.insert(words.end(), params.begin(), params.end());
  for (std::string_view w : words) {
    if (auto s = checkWord(w); !s) return Error{s.error()};
    // Single quotes: the word is taken literally by the tokenizer.
    line += fmt::format(" '{}'", w);
  }
  line += "\n";
  const EnvLookup noEnv = [](std::string_view) -> std::optional<std::string> {
    return std::nullopt;
  };
  LoadResult r = parseText(line, kFile, noEnv);
  if (!r.ok()) {
    for (const auto& d : r.diagnostics)
      if (d.severity == Diagnostic::Severity::kError) {
        // The section is this function's own: name only the keyword.
        std::string_view m = d.message;
        constexpr std::string_view kSection = "section 'backend runtime-api': ";
        if (m.substr(0, kSection.size()) == kSection) m.remove_prefix(kSection.size());
        return Error{std::string(m)};
      }
    return Error{"invalid server line"};
  }
  if (r.config->pools.size() != 1 || r.config->pools[0].servers.size() != 1)
    return Error{"invalid server line"};
  model::Server srv = r.config->pools[0].servers[0];
  srv.loc = model::SourceLoc{std::string(kFile), 0};
  if (!srv.idSet) srv.id = 0;
  return srv;
}

Status checkServerId(const model::Server& srv, const std::vector<model::Server>& servers) {
  if (!srv.idSet) return Ok{};
  for (const auto& other : servers) {
    if (other.id != srv.id || &other == &srv) continue;
    // A server added at run time has no line of its own.
    std::string where = other.loc.line > 0
                            ? fmt::format(" at {}:{}", other.loc.file, other.loc.line)
                            : std::string(" by a server added at run time");
    return Error{fmt::format(
        "keyword 'server': server '{}': parameter 'id': custom id {} already used{} ('server {}')",
        srv.name, srv.id, where, other.name)};
  }
  return Ok{};
}

uint32_t freeServerId(const std::vector<model::Server>& servers, uint32_t from) {
  std::vector<uint32_t> ids;
  for (const auto& s : servers)
    if (s.id >= from) ids.push_back(s.id);
  std::sort(ids.begin(), ids.end());
  for (uint32_t id : ids) {
    if (id > from) break;
    if (id == from) ++from;
  }
  return from;
}

}  // namespace fulcrum::config
