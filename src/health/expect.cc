#include "health/expect.h"

#include <fmt/core.h>

namespace fulcrum::health {
namespace {

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

const char* matchName(model::TcpCheckRule::Match m) {
  switch (m) {
    case model::TcpCheckRule::Match::kString: return "string";
    case model::TcpCheckRule::Match::kRstring: return "rstring";
    case model::TcpCheckRule::Match::kBinary: return "binary";
    case model::TcpCheckRule::Match::kRbinary: return "rbinary";
  }
  return "?";
}

}  // namespace

Result<std::string> decodeHex(std::string_view hex) {
  if (hex.size() % 2 != 0) return Error{"a hex string needs an even number of digits"};
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = hexValue(hex[i]);
    int lo = hexValue(hex[i + 1]);
    if (hi < 0 || lo < 0)
      return Error{fmt::format("'{}' is not a hex digit", hi < 0 ? hex[i] : hex[i + 1])};
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

std::string encodeHex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) {
    auto b = static_cast<unsigned char>(c);
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xf]);
  }
  return out;
}

Result<std::shared_ptr<const Expectation>> Expectation::compile(const model::TcpCheckRule& rule) {
  auto e = std::make_shared<Expectation>();
  e->match_ = rule.match;
  e->negate_ = rule.negate;
  using Match = model::TcpCheckRule::Match;
  switch (rule.match) {
    case Match::kString:
      e->literal_ = rule.data;
      e->source_ = rule.data;
      break;
    case Match::kBinary:
      e->literal_ = rule.data;
      e->source_ = encodeHex(rule.data);
      break;
    case Match::kRstring:
    case Match::kRbinary:
      e->source_ = rule.data;
      auto re = Regex::compile(rule.data);
      if (!re) return Error{re.error()};
      e->regex_ = std::move(*re);
      break;
  }
  if ((rule.match == Match::kString || rule.match == Match::kBinary) && e->literal_.empty())
    return Error{"an empty pattern"};
  return std::shared_ptr<const Expectation>(std::move(e));
}

Expectation::Verdict Expectation::evaluate(std::string_view data, bool final) const {
  using Match = model::TcpCheckRule::Match;
  bool found = false;
  switch (match_) {
    case Match::kString:
    case Match::kBinary:
      if (!final && data.size() < literal_.size()) return Verdict::kNeedMore;
      found = data.find(literal_) != std::string_view::npos;
      break;
    case Match::kRstring: found = regex_->search(data); break;
    case Match::kRbinary: {
      found = regex_->search(encodeHex(data));
      break;
    }
  }
  if (!found && !final) return Verdict::kNeedMore;
  return found != negate_ ? Verdict::kPass : Verdict::kFail;
}

std::string Expectation::describe() const {
  return fmt::format("expect {}{} '{}'", negate_ ? "! " : "", matchName(match_), source_);
}

std::string printable(std::string_view s, size_t max) {
  std::string out;
  for (char c : s.substr(0, max)) {
    auto b = static_cast<unsigned char>(c);
    if (b >= 0x20 && b < 0x7f)
      out.push_back(c);
    else if (c == '\r')
      out += "\\r";
    else if (c == '\n')
      out += "\\n";
    else
      out += fmt::format("\\x{:02x}", b);
  }
  if (s.size() > max) out += "...";
  return out;
}

}  // namespace fulcrum::health
