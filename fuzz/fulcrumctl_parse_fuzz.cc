// Fuzzes fulcrumctl's parsers of the runtime API's answers ("show info", "show stat" CSV,
// "show servers state", "show sess"): what a server, possibly not Fulcrum, sends back.
// fulcrumctl's command line itself is parsed by CLI11 in main.cc, which then connects to
// the socket, so it is not driven here.
#include <cstddef>
#include <cstdint>
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
  return 0;
}
