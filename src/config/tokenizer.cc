#include "config/tokenizer.h"

#include <fmt/core.h>

#include <cstdlib>

namespace fulcrum::config {
namespace {

bool isBlank(char c) { return c == ' ' || c == '\t' || c == '\v' || c == '\f'; }
bool isAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool isDigit(char c) { return c >= '0' && c <= '9'; }

int hexValue(char c) {
  if (isDigit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

class LineTokenizer {
 public:
  LineTokenizer(std::string_view line, const EnvLookup& env) : line_(line), env_(env) {
    // The line ends at the first newline, carriage return or NUL, as in HAProxy.
    auto end = line_.find_first_of(std::string_view("\n\r\0", 3));
    if (end != std::string_view::npos) line_ = line_.substr(0, end);
  }

  Result<std::vector<std::string>> run() {
    while (pos_ < line_.size()) {
      char c = line_[pos_];
      if (quote_ == '\'') {
        if (c == '\'') {
          quote_ = 0;
        } else {
          word_ += c;
        }
        ++pos_;
      } else if (c == '\'' && quote_ == 0) {
        openQuote('\'');
      } else if (c == '"') {
        if (quote_ == '"') {
          quote_ = 0;
          ++pos_;
        } else {
          openQuote('"');
        }
      } else if (c == '\\') {
        if (auto st = escape(); !st) return Error{st.error()};
      } else if (quote_ == 0 && isBlank(c)) {
        endWord();
        ++pos_;
      } else if (quote_ == 0 && c == '#') {
        break;  // comment
      } else if (quote_ == '"' && c == '$') {
        if (auto st = expandVariable(); !st) return Error{st.error()};
      } else {
        word_ += c;
        inWord_ = true;
        ++pos_;
      }
    }
    if (quote_ != 0) {
      return Error{fmt::format("unmatched {} quote at column {}",
                               quote_ == '"' ? "double" : "single", quoteColumn_)};
    }
    endWord();
    return std::move(words_);
  }

 private:
  void openQuote(char q) {
    quote_ = q;
    quoteColumn_ = pos_ + 1;
    inWord_ = true;  // "" is an empty word
    ++pos_;
  }

  void endWord() {
    if (!inWord_) return;
    words_.push_back(std::move(word_));
    word_.clear();
    inWord_ = false;
  }

  // At a backslash outside single quotes.
  Status escape() {
    inWord_ = true;
    char next = pos_ + 1 < line_.size() ? line_[pos_ + 1] : '\0';
    switch (next) {
      case ' ':
      case '\\':
      case '#':
      case '\'':
      case '"':
        word_ += next;
        pos_ += 2;
        return Ok{};
      case 't':
        word_ += '\t';
        pos_ += 2;
        return Ok{};
      case 'n':
        word_ += '\n';
        pos_ += 2;
        return Ok{};
      case 'r':
        word_ += '\r';
        pos_ += 2;
        return Ok{};
      case '$':
        // "\$" is a literal '$' inside double quotes; outside them '$' is literal anyway
        // and the backslash stays, as in HAProxy.
        if (quote_ == '"') {
          word_ += '$';
          pos_ += 2;
        } else {
          word_ += '\\';
          ++pos_;
        }
        return Ok{};
      case 'x': {
        int hi = pos_ + 2 < line_.size() ? hexValue(line_[pos_ + 2]) : -1;
        int lo = pos_ + 3 < line_.size() ? hexValue(line_[pos_ + 3]) : -1;
        if (hi < 0 || lo < 0) {
          return Error{fmt::format(
              "truncated or invalid hexadecimal sequence '{}' at column {} (expected \\xNN)",
              line_.substr(pos_, 4), pos_ + 1)};
        }
        word_ += static_cast<char>(hi * 16 + lo);
        pos_ += 4;
        return Ok{};
      }
      default:
        // Not an escape sequence: the backslash is kept (HAProxy keeps "\1", "\d", ...).
        word_ += '\\';
        ++pos_;
        return Ok{};
    }
  }

  // At a '$' inside double quotes.
  Status expandVariable() {
    inWord_ = true;
    size_t dollar = pos_;
    ++pos_;
    bool brace = pos_ < line_.size() && line_[pos_] == '{';
    if (brace) ++pos_;
    char first = pos_ < line_.size() ? line_[pos_] : '\0';
    if (!isAlpha(first) && first != '_') {
      return Error{fmt::format(
          "invalid environment variable name at column {}: a name starts with a letter or "
          "'_' (write \\$ for a literal '$')",
          pos_ + 1)};
    }
    size_t nameStart = pos_;
    while (pos_ < line_.size() &&
           (isAlpha(line_[pos_]) || isDigit(line_[pos_]) || line_[pos_] == '_'))
      ++pos_;
    std::string_view name = line_.substr(nameStart, pos_ - nameStart);
    std::optional<std::string> value = env_ ? env_(name) : std::nullopt;
    if (brace) {
      if (pos_ < line_.size() && line_[pos_] == '-') {
        // ${NAME-default}: the default text runs to the closing brace, taken literally.
        auto close = line_.find('}', pos_);
        if (close == std::string_view::npos) return unmatchedBrace(dollar);
        if (!value) value = std::string(line_.substr(pos_ + 1, close - pos_ - 1));
        pos_ = close;
      }
      if (pos_ >= line_.size() || line_[pos_] != '}') return unmatchedBrace(dollar);
      ++pos_;
    }
    if (value) word_ += *value;  // an unset variable expands to nothing
    return Ok{};
  }

  Status unmatchedBrace(size_t dollar) {
    return Error{fmt::format("unmatched brace in environment variable at column {}", dollar + 1)};
  }

  std::string_view line_;
  const EnvLookup& env_;
  size_t pos_ = 0;
  char quote_ = 0;  // 0, '\'' or '"'
  size_t quoteColumn_ = 0;
  std::string word_;
  bool inWord_ = false;
  std::vector<std::string> words_;
};

}  // namespace

Result<std::vector<std::string>> tokenizeLine(std::string_view line, const EnvLookup& env) {
  return LineTokenizer(line, env).run();
}

EnvLookup processEnv() {
  return [](std::string_view name) -> std::optional<std::string> {
    std::string n(name);
    const char* v = std::getenv(n.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

}  // namespace fulcrum::config
