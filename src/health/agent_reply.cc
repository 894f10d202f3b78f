#include "health/agent_reply.h"

#include <fmt/core.h>

#include <cctype>

namespace fulcrum::health {
namespace {

bool isSep(char c) { return c == ' ' || c == '\t' || c == ','; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

bool istartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

// Decimal digits only, bounded; nullopt otherwise.
std::optional<uint32_t> parseNumber(std::string_view s) {
  if (s.empty() || s.size() > 9) return std::nullopt;
  uint32_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  return v;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

AgentReply parseAgentReply(std::string_view line) {
  AgentReply r;
  if (size_t end = line.find_first_of("\r\n"); end != std::string_view::npos)
    line = line.substr(0, end);
  size_t i = 0;
  while (i < line.size()) {
    if (isSep(line[i])) {
      ++i;
      continue;
    }
    if (line[i] == '#') {
      std::string_view d = line.substr(i + 1);
      while (!d.empty() && (d.front() == ' ' || d.front() == '\t')) d.remove_prefix(1);
      r.description = std::string(d);
      break;
    }
    size_t j = i;
    while (j < line.size() && !isSep(line[j])) ++j;
    std::string_view w = line.substr(i, j - i);
    i = j;
    if (iequals(w, "up")) {
      r.health = AgentReply::Health::kUp;
      r.healthWord = "up";
    } else if (iequals(w, "down") || iequals(w, "stopped") || iequals(w, "fail")) {
      r.health = AgentReply::Health::kDown;
      r.healthWord = lower(w);
    } else if (iequals(w, "ready")) {
      r.admin = AgentReply::Admin::kReady;
    } else if (iequals(w, "drain")) {
      r.admin = AgentReply::Admin::kDrain;
    } else if (iequals(w, "maint")) {
      r.admin = AgentReply::Admin::kMaint;
    } else if (w.size() >= 2 && w.back() == '%' &&
               std::isdigit(static_cast<unsigned char>(w.front()))) {
      auto pct = parseNumber(w.substr(0, w.size() - 1));
      if (pct)
        r.weightPercent = *pct;
      else if (r.error.empty())
        r.error = fmt::format("invalid weight '{}'", w);
    } else if (istartsWith(w, "maxconn:")) {
      auto n = parseNumber(w.substr(8));
      if (n)
        r.maxconn = *n;
      else if (r.error.empty())
        r.error = fmt::format("invalid maxconn '{}'", w);
    } else if (r.error.empty()) {
      r.error = fmt::format("unknown word '{}'", w);
    }
  }
  return r;
}

std::string AgentReply::summary() const {
  std::string s;
  auto add = [&](std::string_view w) {
    if (!s.empty()) s += ' ';
    s += w;
  };
  switch (admin) {
    case Admin::kReady: add("ready"); break;
    case Admin::kDrain: add("drain"); break;
    case Admin::kMaint: add("maint"); break;
    case Admin::kNone: break;
  }
  if (weightPercent) add(fmt::format("{}%", *weightPercent));
  if (maxconn) add(fmt::format("maxconn:{}", *maxconn));
  if (health != Health::kNone) add(healthWord);
  if (!description.empty()) add("#" + description);
  if (s.empty()) s = "(nothing)";
  return s;
}

}  // namespace fulcrum::health
