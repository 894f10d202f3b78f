// Fuzzes the admin HTTP listener's request parser, with a large and a small head limit,
// and the query-string lookup and response writer on what it returns.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "admin/http_request.h"

using fulcrum::admin::HttpParse;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view buf(reinterpret_cast<const char*>(data), size);
  for (size_t maxHead : {size_t{8192}, size_t{32}}) {
    HttpParse p = fulcrum::admin::parseHttpRequest(buf, maxHead);
    if (p.outcome == HttpParse::Outcome::kError) {
      if (p.status != 400 && p.status != 431 && p.status != 505) abort();
      (void)fulcrum::admin::httpResponse(p.status, "text/plain", p.reason, false);
      continue;
    }
    if (p.outcome != HttpParse::Outcome::kComplete) continue;
    const auto& q = p.request.query;
    for (std::string_view name : {"scope", "json", "", "a"}) {
      auto v = fulcrum::admin::queryParam(q, name);
      // A value is a view into the query (an empty one may point elsewhere).
      if (v && !v->empty() && (v->data() < q.data() || v->data() + v->size() > q.data() + q.size()))
        abort();
    }
    (void)fulcrum::admin::httpResponse(200, "text/plain", p.request.path, true);
  }
  return 0;
}
