#include "parse.h"

#include <fmt/core.h>

#include <charconv>
#include <cstdlib>
#include <sstream>

namespace fulcrumctl {

std::string_view trim(std::string_view s) {
  while (!s.empty() &&
         (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n'))
    s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

std::optional<uint64_t> parseUint(std::string_view s) {
  uint64_t v = 0;
  if (s.empty()) return std::nullopt;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::vector<std::string_view> splitLines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return lines;
}

int Table::column(std::string_view name) const {
  for (size_t i = 0; i < columns.size(); ++i)
    if (columns[i] == name) return static_cast<int>(i);
  return -1;
}

const std::string& Table::cell(size_t r, std::string_view name) const {
  static const std::string kEmpty;
  int c = column(name);
  if (c < 0 || r >= rows.size() || static_cast<size_t>(c) >= rows[r].size()) return kEmpty;
  return rows[r][static_cast<size_t>(c)];
}

uint64_t Table::num(size_t r, std::string_view name) const {
  return parseUint(cell(r, name)).value_or(0);
}

double Table::real(size_t r, std::string_view name) const {
  const std::string& s = cell(r, name);
  if (s.empty()) return 0;
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  return end == s.c_str() ? 0 : v;
}

std::vector<std::pair<std::string, std::string>> parseInfo(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> out;
  for (std::string_view line : splitLines(text)) {
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) continue;
    out.emplace_back(std::string(trim(line.substr(0, colon))),
                     std::string(trim(line.substr(colon + 1))));
  }
  return out;
}

namespace {

std::vector<std::string> splitOn(std::string_view line, char sep, bool skipEmpty) {
  std::vector<std::string> out;
  for (;;) {
    size_t p = line.find(sep);
    std::string_view field = line.substr(0, p);
    if (!(skipEmpty && field.empty())) out.emplace_back(field);
    if (p == std::string_view::npos) break;
    line.remove_prefix(p + 1);
  }
  return out;
}

// One CSV line: cells split on commas; a cell in double quotes may hold commas, and ""
// inside it stands for one quote.
std::vector<std::string> splitCsv(std::string_view line) {
  std::vector<std::string> out;
  std::string cell;
  size_t i = 0;
  for (;;) {
    cell.clear();
    if (i < line.size() && line[i] == '"') {
      ++i;
      while (i < line.size()) {
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            cell += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        cell += line[i++];
      }
      while (i < line.size() && line[i] != ',') cell += line[i++];  // tolerate junk
    } else {
      while (i < line.size() && line[i] != ',') cell += line[i++];
    }
    out.push_back(cell);
    if (i >= line.size()) break;
    ++i;  // the comma
  }
  return out;
}

}  // namespace

Table parseStatCsv(std::string_view text) {
  Table t;
  for (std::string_view line : splitLines(text)) {
    if (trim(line).empty()) continue;
    if (line.front() == '#') {
      if (!t.columns.empty()) continue;
      line.remove_prefix(1);
      t.columns = splitOn(trim(line), ',', false);
      if (!t.columns.empty() && t.columns.back().empty()) t.columns.pop_back();
      continue;
    }
    if (t.columns.empty()) continue;  // not CSV (an error text): no rows
    std::vector<std::string> cells = splitCsv(line);
    if (cells.size() > t.columns.size() && cells.back().empty()) cells.pop_back();
    t.rows.push_back(std::move(cells));
  }
  return t;
}

Table parseServersState(std::string_view text) {
  Table t;
  for (std::string_view line : splitLines(text)) {
    line = trim(line);
    if (line.empty()) continue;
    if (line.front() == '#') {
      if (t.columns.empty()) t.columns = splitOn(trim(line.substr(1)), ' ', true);
      continue;
    }
    if (t.columns.empty()) continue;  // the version line, or an error text
    t.rows.push_back(splitOn(line, ' ', true));
  }
  return t;
}

std::vector<Session> parseSessions(std::string_view text) {
  std::vector<Session> out;
  for (std::string_view line : splitLines(text)) {
    line = trim(line);
    size_t colon = line.find(": ");
    if (colon == std::string_view::npos || line.substr(0, 2) != "0x") continue;
    Session s;
    s.id = std::string(line.substr(0, colon));
    for (const std::string& word : splitOn(line.substr(colon + 2), ' ', true)) {
      size_t eq = word.find('=');
      if (eq == std::string::npos || eq == 0) continue;
      s.fields[word.substr(0, eq)] = word.substr(eq + 1);
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::optional<IpvsArgs> parseIpvsLine(const std::string& line, std::string* why) {
  std::istringstream in(line);
  std::vector<std::string> w;
  for (std::string x; in >> x;) w.push_back(x);
  IpvsArgs a;
  for (size_t i = 0; i < w.size(); ++i) {
    const std::string& f = w[i];
    auto value = [&](std::string& out) {
      if (i + 1 >= w.size()) return false;
      out = w[++i];
      return true;
    };
    std::string v;
    if (f == "-A") {
      a.addService = true;
    } else if (f == "-a") {
      a.add = true;
    } else if (f == "-t" && value(a.service)) {
    } else if (f == "-u" && value(a.service)) {
      a.udp = true;
    } else if (f == "-s" && value(a.scheduler)) {
    } else if (f == "-r" && value(a.real)) {
    } else if (f == "-w" && value(v) && parseUint(v) && *parseUint(v) <= 256) {
      a.weight = static_cast<int>(*parseUint(v));
    } else if (f == "-g" || f == "-i" || f == "-m") {
      a.forward = f[1];
    } else {
      *why = fmt::format(
          "'{}' is not part of what -S writes (-A -t|-u VIP:PORT -s SCHED, -a -t|-u "
          "VIP:PORT -r RIP:PORT -g|-i|-m -w N)",
          f);
      return std::nullopt;
    }
  }
  if (a.addService + a.add != 1) {
    *why = "each line is one -A or one -a";
    return std::nullopt;
  }
  return a;
}

}  // namespace fulcrumctl
