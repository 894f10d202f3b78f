// The admin HTTP listener's request parser and response writer: just enough HTTP/1.x for
// one GET or HEAD per connection. Pure functions, tested without sockets.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fulcrum::admin {

struct HttpRequest {
  std::string method;  // as sent ("GET", "HEAD", ...)
  std::string path;    // the target up to '?'
  std::string query;   // after '?', without it
  int minorVersion = 1;
  std::string authorization;  // the Authorization header's value, if any
};

struct HttpParse {
  enum class Outcome { kIncomplete, kComplete, kError };
  Outcome outcome = Outcome::kIncomplete;
  HttpRequest request;  // kComplete
  int status = 0;       // kError: 400, 431 or 505
  std::string reason;   // kError: what was wrong, for the response body and the log
};

// Parses the request line and checks the header lines of `buf` once its head (up to the
// empty line) has arrived. A head longer than `maxHead` bytes is a 431; the body, if
// any, is ignored (one request per connection).
HttpParse parseHttpRequest(std::string_view buf, size_t maxHead);

// The value of `name` in a query string "a=1&b=2" (not percent-decoded), if present.
std::optional<std::string_view> queryParam(std::string_view query, std::string_view name);

// A complete response with Content-Length and "Connection: close"; `head` leaves the body
// out (HEAD) but keeps its length. `extraHeaders` are full lines, each ending in "\r\n".
std::string httpResponse(int status, std::string_view contentType, std::string_view body, bool head,
                         std::string_view extraHeaders = {});

std::string_view httpReason(int status);

// Whether an Authorization header value ("Basic BASE64") carries one of the
// "USER:PASSWORD" credentials.
bool basicAuthMatches(std::string_view authorization, const std::vector<std::string>& credentials);

}  // namespace fulcrum::admin
