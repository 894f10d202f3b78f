#include "admin/http_request.h"

#include <fmt/core.h>

#include <cstdint>
#include <optional>

namespace fulcrum::admin {

namespace {

// RFC 9110 token characters (method and header names).
bool isTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~': return true;
    default: return false;
  }
}

bool isToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!isTokenChar(c)) return false;
  return true;
}

HttpParse error(int status, std::string reason) {
  HttpParse p;
  p.outcome = HttpParse::Outcome::kError;
  p.status = status;
  p.reason = std::move(reason);
  return p;
}

// Splits off the next line (LF or CRLF terminated); false when there is none.
bool nextLine(std::string_view& rest, std::string_view& line) {
  size_t lf = rest.find('\n');
  if (lf == std::string_view::npos) return false;
  line = rest.substr(0, lf);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  rest.remove_prefix(lf + 1);
  return true;
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
    char y = b[i] >= 'A' && b[i] <= 'Z' ? static_cast<char>(b[i] - 'A' + 'a') : b[i];
    if (x != y) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Standard base64 (RFC 4648) with padding; nullopt when malformed.
std::optional<std::string> base64Decode(std::string_view in) {
  if (in.size() % 4 != 0) return std::nullopt;
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  size_t pad = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    int v;
    if (c >= 'A' && c <= 'Z')
      v = c - 'A';
    else if (c >= 'a' && c <= 'z')
      v = c - 'a' + 26;
    else if (c >= '0' && c <= '9')
      v = c - '0' + 52;
    else if (c == '+')
      v = 62;
    else if (c == '/')
      v = 63;
    else if (c == '=' && i + 2 >= in.size()) {
      ++pad;
      continue;
    } else {
      return std::nullopt;
    }
    if (pad > 0) return std::nullopt;  // data after padding
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

}  // namespace

HttpParse parseHttpRequest(std::string_view buf, size_t maxHead) {
  // Empty lines before the request line are ignored (RFC 9112 2.2).
  size_t start = 0;
  while (start < buf.size() && (buf[start] == '\r' || buf[start] == '\n')) ++start;
  std::string_view data = buf.substr(start);

  // The head ends at the first empty line: "\r\n\r\n", or "\n\n" from lenient clients.
  size_t end = std::string_view::npos;
  for (size_t i = data.find('\n'); i != std::string_view::npos; i = data.find('\n', i + 1)) {
    size_t j = i + 1;
    if (j < data.size() && data[j] == '\r') ++j;
    if (j < data.size() && data[j] == '\n') {
      end = j + 1;
      break;
    }
  }
  if (end == std::string_view::npos) {
    if (buf.size() > maxHead) return error(431, "request head too large");
    return HttpParse{};
  }
  if (start + end > maxHead) return error(431, "request head too large");
  std::string_view head = data.substr(0, end);

  std::string_view line;
  nextLine(head, line);
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos)
    return error(400, "malformed request line");
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (!isToken(method)) return error(400, "malformed method");
  if (target.empty() || target[0] != '/') return error(400, "the target must be an absolute path");
  for (char c : target) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return error(400, "control character in the target");
  }
  if (version.size() != 8 || !version.starts_with("HTTP/") || version[6] != '.' ||
      version[5] < '0' || version[5] > '9' || version[7] < '0' || version[7] > '9')
    return error(400, "malformed HTTP version");
  if (version[5] != '1') return error(505, "only HTTP/1.x is served");

  // Header lines: a token, a colon, a value. Folded lines (obsolete) are refused.
  std::string authorization;
  while (nextLine(head, line) && !line.empty()) {
    if (line[0] == ' ' || line[0] == '\t') return error(400, "folded header line");
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || !isToken(line.substr(0, colon)))
      return error(400, "malformed header line");
    for (char c : line) {
      auto u = static_cast<unsigned char>(c);
      if ((u < 0x20 && c != '\t') || u == 0x7f) return error(400, "control character in a header");
    }
    if (equalsIgnoreCase(line.substr(0, colon), "authorization"))
      authorization = std::string(trim(line.substr(colon + 1)));
  }

  HttpParse p;
  p.outcome = HttpParse::Outcome::kComplete;
  p.request.method = std::string(method);
  size_t q = target.find('?');
  p.request.path = std::string(target.substr(0, q));
  if (q != std::string_view::npos) p.request.query = std::string(target.substr(q + 1));
  p.request.minorVersion = version[7] - '0';
  p.request.authorization = std::move(authorization);
  return p;
}

bool basicAuthMatches(std::string_view authorization, const std::vector<std::string>& credentials) {
  size_t sp = authorization.find(' ');
  if (sp == std::string_view::npos || !equalsIgnoreCase(authorization.substr(0, sp), "basic"))
    return false;
  auto decoded = base64Decode(trim(authorization.substr(sp + 1)));
  if (!decoded) return false;
  for (const std::string& c : credentials)
    if (c == *decoded) return true;
  return false;
}

std::optional<std::string_view> queryParam(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    size_t eq = part.find('=');
    if (part.substr(0, eq) == name)
      return eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1);
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

std::string_view httpReason(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

std::string httpResponse(int status, std::string_view contentType, std::string_view body, bool head,
                         std::string_view extraHeaders) {
  std::string out = fmt::format(
      "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\n"
      "X-Content-Type-Options: nosniff\r\nConnection: close\r\n{}\r\n",
      status, httpReason(status), contentType, body.size(), extraHeaders);
  if (!head) out += body;
  return out;
}

}  // namespace fulcrum::admin
