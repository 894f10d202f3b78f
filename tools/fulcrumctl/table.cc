#include "table.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>

namespace fulcrumctl {

namespace {

std::string scaled(double v, double step, const char* const* units, size_t nunits,
                   const char* sep) {
  size_t i = 0;
  while (std::fabs(v) >= step && i + 1 < nunits) {
    v /= step;
    ++i;
  }
  if (i == 0) return fmt::format("{:.0f}{}{}", v, units[0][0] ? sep : "", units[0]);
  if (std::fabs(v) < 10) return fmt::format("{:.1f}{}{}", v, sep, units[i]);
  return fmt::format("{:.0f}{}{}", v, sep, units[i]);
}

}  // namespace

std::string humanBytes(double bytes) {
  static const char* const kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  return scaled(bytes, 1024, kUnits, 6, " ");
}

std::string humanCount(double n) {
  static const char* const kUnits[] = {"", "k", "M", "G", "T"};
  return scaled(n, 1000, kUnits, 5, "");
}

std::string humanRate(double perSecond) {
  if (perSecond > 0 && perSecond < 10) return fmt::format("{:.1f}", perSecond);
  return humanCount(perSecond);
}

std::string humanDuration(uint64_t s) {
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  if (s < 86400) return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
  return fmt::format("{}d{:02}h", s / 86400, (s % 86400) / 3600);
}

std::string_view stateColour(std::string_view state) {
  auto starts = [&](std::string_view p) { return state.substr(0, p.size()) == p; };
  if (starts("UP") || starts("OPEN") || starts("no check")) return "\033[32m";
  if (starts("DOWN") || starts("STOP")) return "\033[31m";
  if (starts("DRAIN") || starts("NOLB")) return "\033[33m";
  if (starts("MAINT")) return "\033[34m";
  return "";
}

TextTable::TextTable(std::vector<std::string> headers, std::vector<bool> rightAlign)
    : headers_(std::move(headers)), right_(std::move(rightAlign)) {
  right_.resize(headers_.size(), false);
}

void TextTable::add(std::vector<Cell> row) {
  row.resize(headers_.size());
  rows_.push_back(std::move(row));
}

std::string TextTable::render(bool colour, std::string_view indent) const {
  std::vector<size_t> width(headers_.size());
  for (size_t c = 0; c < headers_.size(); ++c) width[c] = headers_[c].size();
  for (const auto& row : rows_)
    for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].text.size());

  std::string out;
  auto line = [&](const std::vector<Cell>& cells, bool header) {
    std::string l(indent);
    for (size_t c = 0; c < cells.size(); ++c) {
      const Cell& cell = cells[c];
      bool last = c + 1 == cells.size();
      size_t pad = width[c] - cell.text.size();
      if (right_[c] && !header) l.append(pad, ' ');
      if (colour && !cell.colour.empty()) {
        l += cell.colour;
        l += cell.text;
        l += "\033[0m";
      } else {
        l += cell.text;
      }
      if ((!right_[c] || header) && !last) l.append(pad, ' ');
      if (!last) l += "  ";
    }
    while (!l.empty() && l.back() == ' ') l.pop_back();
    out += l;
    out += '\n';
  };
  std::vector<Cell> head;
  for (const auto& h : headers_) head.push_back(Cell{h, {}});
  line(head, true);
  for (const auto& row : rows_) line(row, false);
  return out;
}

std::string jsonString(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20)
          out += fmt::format("\\u{:04x}", c);
        else
          out += ch;
    }
  }
  out += '"';
  return out;
}

std::string jsonValue(std::string_view s) {
  bool numeric = !s.empty() && s.size() < 19;
  size_t i = (numeric && s[0] == '-') ? 1 : 0;
  if (i == s.size()) numeric = false;
  bool dot = false;
  for (; numeric && i < s.size(); ++i) {
    if (s[i] == '.' && !dot && i > 0 && i + 1 < s.size()) {
      dot = true;
    } else if (s[i] < '0' || s[i] > '9') {
      numeric = false;
    }
  }
  // No leading zeros in JSON numbers ("007" stays a string).
  if (numeric && s.size() > 1 && s[s[0] == '-' ? 1 : 0] == '0' && s[s[0] == '-' ? 2 : 1] != '.')
    numeric = false;
  return numeric ? std::string(s) : jsonString(s);
}

}  // namespace fulcrumctl
