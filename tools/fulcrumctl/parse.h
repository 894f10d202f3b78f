// Parsers for the runtime API's text formats (HAProxy's): "show info", "show stat" CSV,
// "show servers state" and "show sess". Columns are found by their header names, never
// by position, so a server that adds or reorders columns still parses.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fulcrumctl {

// A table of named columns: one header, rows of cells.
struct Table {
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;

  // Column index by name, or -1.
  int column(std::string_view name) const;
  // The cell of row r in the named column; "" when the column or cell is missing.
  const std::string& cell(size_t r, std::string_view name) const;
  // The cell as a number; 0 when missing or not numeric.
  uint64_t num(size_t r, std::string_view name) const;
  double real(size_t r, std::string_view name) const;
};

// "Name: value" lines, in order.
std::vector<std::pair<std::string, std::string>> parseInfo(std::string_view text);

// HAProxy CSV: a "# name,name,..." header, then comma-separated rows (trailing comma
// allowed). Empty lines are skipped.
Table parseStatCsv(std::string_view text);

// "show servers state": a version line ("1"), a "# name name ..." header, then rows of
// space-separated fields.
Table parseServersState(std::string_view text);

// One "show sess" line: "0x1a: proto=tcpv4 src=... fe=web ...".
struct Session {
  std::string id;
  std::map<std::string, std::string> fields;
  std::string get(const std::string& key) const {
    auto it = fields.find(key);
    return it == fields.end() ? std::string() : it->second;
  }
};
std::vector<Session> parseSessions(std::string_view text);

// HAProxy's "type" column of show stat.
inline constexpr int kTypeFrontend = 0;
inline constexpr int kTypeBackend = 1;
inline constexpr int kTypeServer = 2;
inline constexpr int kTypeListener = 3;

// Splits text into lines without their '\r\n'.
std::vector<std::string_view> splitLines(std::string_view text);
// Strips spaces, tabs and line ends at both ends.
std::string_view trim(std::string_view s);
std::optional<uint64_t> parseUint(std::string_view s);

// ipvsadm verbs.
struct IpvsArgs {
  bool list = false, add = false, del = false, edit = false;  // -L -a -d -e (real servers)
  bool addService = false, editService = false, delService = false, clear = false;  // -A -E -D -C
  bool save = false, restore = false;                                               // -S -R
  bool numeric = false, stats = false;
  std::string service;      // -t or -u: VIP:PORT or a backend name
  bool udp = false;         // -u: a UDP service (VIP:PORT)
  std::string real;         // -r: RIP[:PORT]
  int weight = -1;          // -w
  std::string scheduler;    // -s: rr, wrr, sh, mh
  bool persistent = false;  // -p
  char forward = 0;         // -g, -i or -m; 0: none given
};

// One line of what -S prints ("-A -t VIP:PORT -s rr", "-a -t VIP:PORT -r RIP:PORT -m -w 1")
// as IpvsArgs; nullopt (with the reason in *why) for anything else.
std::optional<IpvsArgs> parseIpvsLine(const std::string& line, std::string* why);

}  // namespace fulcrumctl
