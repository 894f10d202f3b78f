// The config tokenizer, one HAProxy quoting rule at a time.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <map>

#include "config/tokenizer.h"

namespace fulcrum::config {
namespace {

using Words = std::vector<std::string>;

EnvLookup fakeEnv(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

Words tok(std::string_view line, const EnvLookup& env = {}) {
  auto r = tokenizeLine(line, env);
  EXPECT_TRUE(r.ok()) << "line: " << line << " error: " << (r.ok() ? "" : r.error());
  return r.ok() ? *r : Words{"<error>"};
}

std::string tokError(std::string_view line, const EnvLookup& env = {}) {
  auto r = tokenizeLine(line, env);
  EXPECT_FALSE(r.ok()) << "line unexpectedly accepted: " << line;
  return r.ok() ? "" : r.error();
}

TEST(ConfigTokenizer, SplitsOnSpacesAndTabs) {
  EXPECT_EQ(tok("  server\ts1 \t 10.0.0.1:80   "), (Words{"server", "s1", "10.0.0.1:80"}));
  EXPECT_EQ(tok("frontend"), (Words{"frontend"}));
}

TEST(ConfigTokenizer, EmptyAndCommentLinesHaveNoWords) {
  EXPECT_EQ(tok(""), Words{});
  EXPECT_EQ(tok("   \t "), Words{});
  EXPECT_EQ(tok("# a comment"), Words{});
  EXPECT_EQ(tok("    # indented comment"), Words{});
}

TEST(ConfigTokenizer, HashStartsACommentAnywhereUnquoted) {
  EXPECT_EQ(tok("bind :80 # the web port"), (Words{"bind", ":80"}));
  EXPECT_EQ(tok("bind :80#comment"), (Words{"bind", ":80"}));
}

TEST(ConfigTokenizer, EscapedOrQuotedHashIsLiteral) {
  EXPECT_EQ(tok("a\\#b c"), (Words{"a#b", "c"}));
  EXPECT_EQ(tok("\"a#b\" c"), (Words{"a#b", "c"}));
  EXPECT_EQ(tok("'a#b' c"), (Words{"a#b", "c"}));
}

TEST(ConfigTokenizer, DoubleQuotesKeepSpaces) {
  EXPECT_EQ(tok("description \"two words\" end"), (Words{"description", "two words", "end"}));
  EXPECT_EQ(tok("x \"a\tb\""), (Words{"x", "a\tb"}));
}

TEST(ConfigTokenizer, SingleQuotesAreLiteral) {
  auto env = fakeEnv({{"HOME", "/root"}});
  EXPECT_EQ(tok("x '$HOME ${HOME} \\t \\\\ \"'", env), (Words{"x", "$HOME ${HOME} \\t \\\\ \""}));
}

TEST(ConfigTokenizer, QuotedPiecesConcatenateWithAdjacentText) {
  EXPECT_EQ(tok("a\"b c\"d"), (Words{"ab cd"}));
  EXPECT_EQ(tok("'x'\"y\"z w"), (Words{"xyz", "w"}));
  EXPECT_EQ(tok("pre'a b'post"), (Words{"prea bpost"}));
}

TEST(ConfigTokenizer, EmptyQuotesAreAnEmptyWord) {
  EXPECT_EQ(tok("a \"\" b"), (Words{"a", "", "b"}));
  EXPECT_EQ(tok("a '' b"), (Words{"a", "", "b"}));
  EXPECT_EQ(tok("a \"\""), (Words{"a", ""}));
}

TEST(ConfigTokenizer, BackslashEscapesOutsideQuotes) {
  EXPECT_EQ(tok("a\\ b"), (Words{"a b"}));
  EXPECT_EQ(tok("a\\\\b"), (Words{"a\\b"}));
  EXPECT_EQ(tok("a\\\"b"), (Words{"a\"b"}));
  EXPECT_EQ(tok("a\\'b"), (Words{"a'b"}));
  EXPECT_EQ(tok("a\\tb"), (Words{"a\tb"}));
  EXPECT_EQ(tok("a\\nb"), (Words{"a\nb"}));
  EXPECT_EQ(tok("a\\rb"), (Words{"a\rb"}));
  EXPECT_EQ(tok("\\x41\\x62\\x7E"), (Words{"Ab~"}));
}

TEST(ConfigTokenizer, BackslashEscapesInsideDoubleQuotes) {
  EXPECT_EQ(tok("\"a\\\"b\""), (Words{"a\"b"}));
  EXPECT_EQ(tok("\"a\\tb\""), (Words{"a\tb"}));
  EXPECT_EQ(tok("\"\\x41\""), (Words{"A"}));
  EXPECT_EQ(tok("\"cost \\$5\""), (Words{"cost $5"}));
}

TEST(ConfigTokenizer, OtherBackslashesAreKeptLikeHaproxy) {
  // "\d" is not an escape sequence: HAProxy keeps the backslash (regexes rely on it).
  EXPECT_EQ(tok("^\\d+$"), (Words{"^\\d+$"}));
  EXPECT_EQ(tok("\"\\1\""), (Words{"\\1"}));
  // Outside double quotes "\$" is not an escape either.
  EXPECT_EQ(tok("\\$x"), (Words{"\\$x"}));
  EXPECT_EQ(tok("end\\"), (Words{"end\\"}));
}

TEST(ConfigTokenizer, BadHexEscapeIsAnError) {
  EXPECT_NE(tokError("a\\xZZ").find("hexadecimal"), std::string::npos);
  EXPECT_NE(tokError("a\\x4").find("column 2"), std::string::npos);
  EXPECT_NE(tokError("\"\\x\"").find("hexadecimal"), std::string::npos);
}

TEST(ConfigTokenizer, ExpandsEnvironmentVariablesInDoubleQuotes) {
  auto env = fakeEnv({{"PORT", "8443"}, {"HOST", "10.0.0.1"}, {"SPACED", "a b"}});
  EXPECT_EQ(tok("bind \"$HOST:$PORT\"", env), (Words{"bind", "10.0.0.1:8443"}));
  EXPECT_EQ(tok("bind \"${HOST}:${PORT}\"", env), (Words{"bind", "10.0.0.1:8443"}));
  EXPECT_EQ(tok("x \"pre${PORT}post\"", env), (Words{"x", "pre8443post"}));
  // An expanded value with spaces stays one word.
  EXPECT_EQ(tok("x \"$SPACED\"", env), (Words{"x", "a b"}));
  // A name ends at the first character that cannot be part of it.
  EXPECT_EQ(tok("x \"$PORT-1\"", env), (Words{"x", "8443-1"}));
}

TEST(ConfigTokenizer, NoExpansionOutsideDoubleQuotes) {
  auto env = fakeEnv({{"PORT", "8443"}});
  EXPECT_EQ(tok("x $PORT ${PORT}", env), (Words{"x", "$PORT", "${PORT}"}));
  EXPECT_EQ(tok("x '$PORT'", env), (Words{"x", "$PORT"}));
}

TEST(ConfigTokenizer, UnsetVariablesExpandToNothing) {
  auto env = fakeEnv({});
  EXPECT_EQ(tok("x \"a${NOPE}b\"", env), (Words{"x", "ab"}));
  EXPECT_EQ(tok("x \"$NOPE\" y", env), (Words{"x", "", "y"}));
}

TEST(ConfigTokenizer, DefaultValueForUnsetVariables) {
  auto env = fakeEnv({{"SET", "value"}, {"EMPTY", ""}});
  EXPECT_EQ(tok("x \"${NOPE-8080}\"", env), (Words{"x", "8080"}));
  EXPECT_EQ(tok("x \"${SET-8080}\"", env), (Words{"x", "value"}));
  // As in HAProxy, the default is for unset variables only, not empty ones.
  EXPECT_EQ(tok("x \"${EMPTY-8080}\"", env), (Words{"x", ""}));
  EXPECT_EQ(tok("x \"${NOPE-a b}c\"", env), (Words{"x", "a bc"}));
}

TEST(ConfigTokenizer, BadVariableSyntaxIsAnError) {
  auto env = fakeEnv({{"A", "1"}});
  EXPECT_NE(tokError("x \"${A\"", env).find("unmatched brace"), std::string::npos);
  EXPECT_NE(tokError("x \"${A-def\"", env).find("unmatched brace"), std::string::npos);
  EXPECT_NE(tokError("x \"$1\"", env).find("environment variable name"), std::string::npos);
  EXPECT_NE(tokError("x \"${}\"", env).find("environment variable name"), std::string::npos);
}

TEST(ConfigTokenizer, UsesTheProcessEnvironmentByDefault) {
  ::setenv("FULCRUM_TOKENIZER_TEST", "from-env", 1);
  EXPECT_EQ(tok("x \"$FULCRUM_TOKENIZER_TEST\"", processEnv()), (Words{"x", "from-env"}));
  ::unsetenv("FULCRUM_TOKENIZER_TEST");
  EXPECT_EQ(tok("x \"$FULCRUM_TOKENIZER_TEST\"", processEnv()), (Words{"x", ""}));
}

TEST(ConfigTokenizer, UnterminatedQuotesAreErrorsWithTheColumn) {
  std::string e = tokError("bind \"*:443");
  EXPECT_NE(e.find("unmatched double quote"), std::string::npos) << e;
  EXPECT_NE(e.find("column 6"), std::string::npos) << e;
  e = tokError("x 'abc");
  EXPECT_NE(e.find("unmatched single quote"), std::string::npos) << e;
  EXPECT_NE(e.find("column 3"), std::string::npos) << e;
  // A double quote inside single quotes does not open anything, and vice versa.
  EXPECT_EQ(tok("'a\"b' \"c'd\""), (Words{"a\"b", "c'd"}));
}

TEST(ConfigTokenizer, CarriageReturnEndsTheLine) {
  EXPECT_EQ(tok("bind :80\r"), (Words{"bind", ":80"}));
  EXPECT_EQ(tok("bind :80\r junk"), (Words{"bind", ":80"}));
}

}  // namespace
}  // namespace fulcrum::config
