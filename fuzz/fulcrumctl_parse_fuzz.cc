// Fuzzes fulcrumctl's parsers of the runtime API's answers ("show info", "show stat" CSV,
// "show servers state", "show sess"): what a server, possibly not Fulcrum, sends back;
// and each line of the input as an ipvsadm line of -R (parseIpvsLine). fulcrumctl's
// command line itself is parsed by CLI11 in main.cc, which then connects to the socket,
// so it is not driven here.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>
#include <string_view>

#include "parse.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)fulcrumctl::parseInfo(text);
  for (const auto& t : {fulcrumctl::parseStatCsv(text), fulcrumctl::parseServersState(text)}) {
    for (size_t r = 0; r < t.rows.size(); ++r) {
      for (const auto& c : t.columns) {
        (void)t.cell(r, c);
        (void)t.num(r, c);
        (void)t.real(r, c);
      }
      (void)t.cell(r, "no such column");
    }
  }
  for (const auto& s : fulcrumctl::parseSessions(text)) (void)s.get("fe");
  (void)fulcrumctl::parseUint(fulcrumctl::trim(text));
  // -R's lines: a line read is exactly one -A or -a, its weight within ipvsadm's range;
  // a line refused says why.
  std::istringstream lines{std::string(text)};
  for (std::string line; std::getline(lines, line);) {
    std::string why;
    auto a = fulcrumctl::parseIpvsLine(line, &why);
    if (a && (a->add + a->addService != 1 || a->weight > 256)) abort();
    if (!a && why.empty()) abort();
  }
  return 0;
}
