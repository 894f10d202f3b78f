// Readable output: aligned text tables, human units, state colours, and a tiny JSON
// writer for --json.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fulcrumctl {

// 512 B, 1.5 KiB, 3.2 MiB, ...
std::string humanBytes(double bytes);
// 999, 1.2k, 3.4M, ...
std::string humanCount(double n);
// A per-second rate with one decimal below 10 ("2.5", "37", "1.2k").
std::string humanRate(double perSecond);
// 45s, 3m12s, 2h05m, 3d04h
std::string humanDuration(uint64_t seconds);

// The ANSI colour for a state word: green UP/OPEN/no check, red DOWN, yellow DRAIN/NOLB,
// blue MAINT; "" for anything else.
std::string_view stateColour(std::string_view state);

struct Cell {
  std::string text;
  std::string_view colour;  // ANSI sequence, or empty
};

class TextTable {
 public:
  explicit TextTable(std::vector<std::string> headers, std::vector<bool> rightAlign = {});
  void add(std::vector<Cell> row);
  bool empty() const { return rows_.empty(); }
  // Columns separated by two spaces; the last column is not padded. Colours only when
  // `colour` is set.
  std::string render(bool colour, std::string_view indent = "") const;

 private:
  std::vector<std::string> headers_;
  std::vector<bool> right_;
  std::vector<std::vector<Cell>> rows_;
};

// Minimal JSON output.
std::string jsonString(std::string_view s);
// A number when the text is a plain decimal number, else a JSON string.
std::string jsonValue(std::string_view s);

}  // namespace fulcrumctl
