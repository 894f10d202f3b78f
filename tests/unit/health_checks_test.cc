// Pure parts of the checks: the agent protocol, tcp-check expectations, step lists,
// check targets and timers.
#include <fmt/core.h>
#include <gtest/gtest.h>

#include "health/agent_reply.h"
#include "health/expect.h"
#include "health/monitor.h"
#include "health/stream_check.h"
#include "health/udp_check.h"
#include "proxy/proxy_protocol.h"

namespace fulcrum::health {
namespace {

using Verdict = Expectation::Verdict;
using Match = model::TcpCheckRule::Match;

TEST(AgentReply, WordsInAnyOrderSeparatedBySpacesTabsCommas) {
  AgentReply r = parseAgentReply("drain,\t75%  maxconn:30 up\r\nignored");
  EXPECT_EQ(r.admin, AgentReply::Admin::kDrain);
  ASSERT_TRUE(r.weightPercent);
  EXPECT_EQ(*r.weightPercent, 75u);
  ASSERT_TRUE(r.maxconn);
  EXPECT_EQ(*r.maxconn, 30u);
  EXPECT_EQ(r.health, AgentReply::Health::kUp);
  EXPECT_TRUE(r.error.empty());
  EXPECT_EQ(r.summary(), "drain 75% maxconn:30 up");
}

TEST(AgentReply, DownWordsAndDescription) {
  for (const char* w : {"down", "stopped", "fail", "DOWN"}) {
    AgentReply r = parseAgentReply(std::string(w) + " # maintenance window");
    EXPECT_EQ(r.health, AgentReply::Health::kDown) << w;
    EXPECT_EQ(r.description, "maintenance window");
  }
  EXPECT_EQ(parseAgentReply("stopped").healthWord, "stopped");
}

TEST(AgentReply, LastWordOfACategoryWins) {
  AgentReply r = parseAgentReply("maint ready 10% 20%");
  EXPECT_EQ(r.admin, AgentReply::Admin::kReady);
  EXPECT_EQ(*r.weightPercent, 20u);
}

TEST(AgentReply, UnknownWordsAreReportedNotFatal) {
  AgentReply r = parseAgentReply("hello up 5x% maxconn:x");
  EXPECT_EQ(r.health, AgentReply::Health::kUp);
  EXPECT_EQ(r.error, "unknown word 'hello'");
  EXPECT_FALSE(r.weightPercent);
  EXPECT_FALSE(r.maxconn);
  EXPECT_EQ(parseAgentReply("").summary(), "(nothing)");
}

TEST(Hex, DecodeAndEncode) {
  auto d = decodeHex("50494e470D0a");
  ASSERT_TRUE(d);
  EXPECT_EQ(*d, "PING\r\n");
  EXPECT_FALSE(decodeHex("abc"));
  EXPECT_FALSE(decodeHex("zz"));
  EXPECT_EQ(encodeHex(std::string("\x00\xff+", 3)), "00FF2B");
}

model::TcpCheckRule expectRule(Match m, std::string data, bool negate = false) {
  model::TcpCheckRule r;
  r.kind = model::TcpCheckRule::Kind::kExpect;
  r.match = m;
  r.data = std::move(data);
  r.negate = negate;
  return r;
}

TEST(Expect, StringIsASubstringAndWaitsForEnoughData) {
  auto e = Expectation::compile(expectRule(Match::kString, "+PONG"));
  ASSERT_TRUE(e);
  EXPECT_EQ((*e)->evaluate("+PO", false), Verdict::kNeedMore);
  EXPECT_EQ((*e)->evaluate("+PONG\r\n", false), Verdict::kPass);
  EXPECT_EQ((*e)->evaluate("xx+PONG", false), Verdict::kPass);
  EXPECT_EQ((*e)->evaluate("-ERR unknown\r\n", false), Verdict::kNeedMore);
  EXPECT_EQ((*e)->evaluate("-ERR unknown\r\n", true), Verdict::kFail);
  EXPECT_EQ((*e)->evaluate("+PO", true), Verdict::kFail);
  EXPECT_EQ((*e)->describe(), "expect string '+PONG'");
}

// Patterns found by fuzz/expect (corpus: stacked-quantifiers, backref-overflow,
// huge-repeat, unclosed-repeat) that broke std::regex: "a**...*" took a minute per match,
// "\\1477...", "a{999...}" overflowed its compiler (UBSan), and "(|...|b){700}" backtracked
// for ever. With RE2 each is refused with a reason or compiled into a linear-time matcher.
TEST(Expect, RegexesThatBrokeStdRegexAreRefusedOrMatchedCorrectly) {
  struct Refused {
    const char* pattern;
    const char* why;
  };
  for (auto [bad, why] :
       {Refused{"a**", "bad repetition operator: **"},
        Refused{"\\xff****************\\x03", "bad repetition operator: **"},
        Refused{"a+*", "bad repetition operator"}, Refused{"a*{3}", "bad repetition operator"},
        Refused{"a*??", "bad repetition operator"}, Refused{"a{1001}", "invalid repetition size"},
        Refused{"a{2,1001}", "invalid repetition size"},
        Refused{"((a{100}){100}){100}", "invalid repetition size"},
        Refused{"(a)\\1", "invalid escape sequence: \\1"}}) {
    for (Match m : {Match::kRstring, Match::kRbinary}) {
      auto e = Expectation::compile(expectRule(m, bad));
      ASSERT_FALSE(e) << bad;
      EXPECT_EQ(e.error().rfind(fmt::format("invalid regex '{}': ", bad), 0), 0u) << e.error();
      EXPECT_NE(e.error().find(why), std::string::npos) << e.error();
    }
  }
  // Lazy quantifiers, escaped and bracketed stars, literal braces and counts up to 1000 stay
  // valid, and the patterns std::regex backtracked on answer (a hang fails by ctest timeout).
  for (const char* good : {"a*?b", "a+?", "\\**", "[*+]*", "a{2,3}?", "^\\+PONG", "a{1000}"})
    EXPECT_TRUE(Expectation::compile(expectRule(Match::kRstring, good))) << good;
  auto stacked = Expectation::compile(expectRule(Match::kRstring, "(||~|||b){700}c"));
  ASSERT_TRUE(stacked);
  EXPECT_EQ((*stacked)->evaluate(std::string(4096, 'b'), true), Verdict::kFail);
  EXPECT_EQ((*stacked)->evaluate(std::string(700, 'b') + "c", false), Verdict::kPass);
  auto unclosed = Expectation::compile(expectRule(Match::kRstring, "a{99999999999999999999"));
  ASSERT_TRUE(unclosed);  // not a repeat: the text itself
  EXPECT_EQ((*unclosed)->evaluate("xa{99999999999999999999", false), Verdict::kPass);
  EXPECT_EQ((*unclosed)->evaluate("aaaa", true), Verdict::kFail);
}

// std::regex's matcher recurses once per character: ".*x" over a long answer overflowed the
// health thread's stack. RE2 needs no stack per input byte.
TEST(Expect, RegexOnAHugeAnswerNeedsNoStackPerByte) {
  auto e = Expectation::compile(expectRule(Match::kRstring, "^(a|b)*x$"));
  ASSERT_TRUE(e);
  std::string answer(4 << 20, 'a');
  EXPECT_EQ((*e)->evaluate(answer, true), Verdict::kFail);
  answer.back() = 'x';
  EXPECT_EQ((*e)->evaluate(answer, true), Verdict::kPass);
}

TEST(Expect, NegationPassesOnlyWhenTheAnswerIsCompleteWithoutThePattern) {
  auto e = Expectation::compile(expectRule(Match::kString, "-ERR", true));
  ASSERT_TRUE(e);
  EXPECT_EQ((*e)->evaluate("-ERR x", false), Verdict::kFail);
  EXPECT_EQ((*e)->evaluate("+OK\r\n", false), Verdict::kNeedMore);
  EXPECT_EQ((*e)->evaluate("+OK\r\n", true), Verdict::kPass);
  EXPECT_EQ((*e)->describe(), "expect ! string '-ERR'");
}

TEST(Expect, RegexOnTextAndOnHex) {
  auto r = Expectation::compile(expectRule(Match::kRstring, "^\\+PONG\\r?$"));
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)->evaluate("+PONG\r", false), Verdict::kPass);
  EXPECT_EQ((*r)->evaluate("-ERR", true), Verdict::kFail);
  // rbinary: the response as upper-case hex.
  auto b = Expectation::compile(expectRule(Match::kRbinary, "^2B50(4F|6F)"));
  ASSERT_TRUE(b);
  EXPECT_EQ((*b)->evaluate("+PONG", false), Verdict::kPass);
  EXPECT_EQ((*b)->evaluate("+PoNG", false), Verdict::kPass);
  EXPECT_EQ((*b)->evaluate("+PING", true), Verdict::kFail);
  EXPECT_FALSE(Expectation::compile(expectRule(Match::kRstring, "(unclosed")));
}

TEST(Expect, BinaryLiteral) {
  auto b = Expectation::compile(expectRule(Match::kBinary, std::string("\x00\x01", 2)));
  ASSERT_TRUE(b);
  EXPECT_EQ((*b)->evaluate(std::string("a\x00\x01z", 4), false), Verdict::kPass);
  EXPECT_EQ((*b)->describe(), "expect binary '0001'");
  EXPECT_FALSE(Expectation::compile(expectRule(Match::kBinary, "")));
}

TEST(UdpCheckHeader, TheLocalHeaderIsTheEncodersLocalDgramHeader) {
  uint8_t buf[proxy::kV2FixedLength + 8];
  proxy::V2Options opts;
  opts.command = proxy::Command::kLocal;
  opts.transport = proxy::Transport::kDgram;
  const size_t n = proxy::writeProxyV2(SockAddr(), SockAddr(), buf, sizeof(buf), opts);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(buf), n), kProxyV2Local);
}

TEST(DnsCheck, QueryLayoutAndReplyValidation) {
  const std::string q = dnsQuery("example.org.", 0x1234);
  const std::string expected(
      "\x12\x34\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00"
      "\x07"
      "example"
      "\x03"
      "org"
      "\x00"
      "\x00\x06\x00\x01",
      12 + 13 + 4);
  EXPECT_EQ(q, expected);
  EXPECT_EQ(dnsQuery(".", 7).size(), 12u + 1 + 4);  // the root: one empty label
  std::string reply = q;
  reply[2] = static_cast<char>(0x84);  // QR, AA
  EXPECT_EQ(dnsReplyProblem(reply, 0x1234), "");
  reply[3] = 3;  // NXDOMAIN: the server is alive and authoritative
  EXPECT_EQ(dnsReplyProblem(reply, 0x1234), "");
  reply[3] = 5;
  EXPECT_EQ(dnsReplyProblem(reply, 0x1234), "rcode 5 (REFUSED)");
  reply[3] = 2;
  EXPECT_EQ(dnsReplyProblem(reply, 0x1234), "rcode 2 (SERVFAIL)");
  EXPECT_EQ(dnsReplyProblem(reply, 0x4321), "a reply with another id");
  EXPECT_EQ(dnsReplyProblem(q, 0x1234), "not a DNS response (QR bit clear)");
  EXPECT_EQ(dnsReplyProblem("\x12\x34", 0x1234), "a 2-byte reply, shorter than a DNS header");
}

TEST(CheckSteps, ImplicitConnectCommentsAndOrder) {
  using Kind = model::TcpCheckRule::Kind;
  std::vector<model::TcpCheckRule> rules(4);
  rules[0].kind = Kind::kComment;
  rules[0].comment = "ping";
  rules[1].kind = Kind::kSend;
  rules[1].data = "PING\r\n";
  rules[2] = expectRule(Match::kString, "+PONG");
  rules[3].kind = Kind::kComment;
  rules[3].comment = "dangling";
  auto steps = tcpCheckSteps(rules);
  ASSERT_TRUE(steps);
  ASSERT_EQ(steps->size(), 3u);
  EXPECT_EQ((*steps)[0].kind, CheckStep::Kind::kConnect);
  EXPECT_EQ((*steps)[1].kind, CheckStep::Kind::kSend);
  EXPECT_EQ((*steps)[1].comment, "ping");
  EXPECT_EQ((*steps)[2].kind, CheckStep::Kind::kExpect);
  EXPECT_TRUE((*steps)[2].comment.empty());

  std::vector<model::TcpCheckRule> late(2);
  late[0].kind = Kind::kSend;
  late[0].data = "x";
  late[1].kind = Kind::kConnect;
  EXPECT_FALSE(tcpCheckSteps(late));
  // Several connects are fine when the sequence starts with one.
  std::vector<model::TcpCheckRule> two(3);
  two[0].kind = Kind::kConnect;
  two[1].kind = Kind::kSend;
  two[1].data = "x";
  two[2].kind = Kind::kConnect;
  two[2].port = 81;
  auto twoSteps = tcpCheckSteps(two);
  ASSERT_TRUE(twoSteps);
  ASSERT_EQ(twoSteps->size(), 3u);
  EXPECT_EQ((*twoSteps)[2].port, 81);

  EXPECT_EQ(tcpCheckSteps({})->size(), 1u);
  EXPECT_EQ(agentSteps("").size(), 2u);
  EXPECT_EQ(agentSteps("hello\n").size(), 3u);
}

TEST(CheckTargets, AddressesPortsAndHaproxyTimers) {
  model::Pool pool;
  model::Server s;
  s.addr = *SockAddr::parse("10.0.0.1:80");
  s.check.inter = 2 * kSeconds;
  CheckTarget t = checkTarget(pool, s);
  EXPECT_EQ(t.addr.toString(), "10.0.0.1:80");
  EXPECT_EQ(t.connectTimeout, 2 * kSeconds);  // no timeout check: inter bounds it all
  EXPECT_EQ(t.totalTimeout, 2 * kSeconds);
  EXPECT_EQ(t.readTimeout, 0);

  s.check.port = 8080;
  s.check.addr = *SockAddr::parseHost("10.0.0.2", 0);
  pool.checkTimeout = 500 * kMillis;
  pool.connectTimeout = 5 * kSeconds;
  t = checkTarget(pool, s);
  EXPECT_EQ(t.addr.toString(), "10.0.0.2:8080");
  EXPECT_EQ(t.connectTimeout, 2 * kSeconds);  // min(timeout connect, inter)
  EXPECT_EQ(t.readTimeout, 500 * kMillis);
  EXPECT_EQ(t.totalTimeout, 0);

  s.agent.enabled = true;
  s.agent.port = 9999;
  s.agent.inter = 1 * kSeconds;
  CheckTarget a = agentTarget(pool, s);
  EXPECT_EQ(a.addr.toString(), "10.0.0.2:9999");  // the check address, the agent's port
  EXPECT_EQ(a.connectTimeout, 1 * kSeconds);
  s.agent.addr = *SockAddr::parseHost("10.0.0.3", 0);
  EXPECT_EQ(agentTarget(pool, s).addr.toString(), "10.0.0.3:9999");
}

}  // namespace
}  // namespace fulcrum::health
