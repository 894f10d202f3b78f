// The health check keywords: server parameters (check, inter, fastinter, downinter, rise,
// fall, port, addr, agent-*, observe, error-limit, on-error, on-marked-down, on-marked-up,
// slowstart, weight) on server and default-server lines, "timeout check", global
// "spread-checks", "option tcp-check" and "tcp-check" lines. Good values land in the model;
// bad ones are errors naming the file, the line, the section and the keyword.
#include <gtest/gtest.h>

#include "config/config.h"
#include "config_test_util.h"

namespace fulcrum::config {
namespace {

using Kind = model::TcpCheckRule::Kind;
using Match = model::TcpCheckRule::Match;

using namespace testutil;

std::string backend(std::string_view lines) { return "backend b\n" + std::string(lines); }

TEST(ConfigHealth, ActiveCheckParameters) {
  auto c = load(
      backend(" server a 10.0.0.1:80 check inter 500ms fastinter 100ms downinter 10s rise 4 fall 5 "
              "port 8080 addr 10.9.9.9 slowstart 30s weight 50\n"
              " server b 10.0.0.2:80\n"));
  ASSERT_TRUE(c);
  const model::Server& a = c->pools[0].servers[0];
  EXPECT_TRUE(a.check.enabled);
  EXPECT_EQ(a.check.inter, 500 * kMillis);
  EXPECT_EQ(a.check.fastinter, 100 * kMillis);
  EXPECT_EQ(a.check.downinter, 10 * kSeconds);
  EXPECT_EQ(a.check.rise, 4u);
  EXPECT_EQ(a.check.fall, 5u);
  EXPECT_EQ(a.check.port, 8080);
  EXPECT_EQ(a.check.addr->hostString(), "10.9.9.9");
  EXPECT_EQ(a.slowstart, 30 * kSeconds);
  EXPECT_EQ(a.weight, 50u);
  const model::Server& b = c->pools[0].servers[1];
  EXPECT_FALSE(b.check.enabled);
  EXPECT_EQ(b.check.inter, 2 * kSeconds);
  EXPECT_EQ(b.check.rise, 2u);
  EXPECT_EQ(b.check.fall, 3u);
  EXPECT_FALSE(b.agent.enabled);
  EXPECT_EQ(b.observe.mode, model::Observe::kNone);
  EXPECT_EQ(b.observe.errorLimit, 10u);
  EXPECT_EQ(b.observe.onError, model::OnError::kFailCheck);
  EXPECT_FALSE(b.shutdownOnDown);
  EXPECT_FALSE(b.shutdownBackupsOnUp);
}

TEST(ConfigHealth, CheckIsNotAWarningAnyMore) {
  auto r = parse(backend(" timeout connect 1s\n timeout server 1s\n server a 10.0.0.1:80 check\n"));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.diagnostics.empty()) << dump(r);
}

TEST(ConfigHealth, AgentParameters) {
  auto c = load(backend(
      " server a 10.0.0.1:80 agent-check agent-port 9999 agent-inter 5s agent-addr 10.0.0.7 "
      "agent-send \"hello\\n\"\n"
      " server b 10.0.0.2:80 agent-port 9999\n"));
  ASSERT_TRUE(c);
  const model::Server& a = c->pools[0].servers[0];
  EXPECT_TRUE(a.agent.enabled);
  EXPECT_EQ(a.agent.port, 9999);
  EXPECT_EQ(a.agent.inter, 5 * kSeconds);
  EXPECT_EQ(a.agent.addr->hostString(), "10.0.0.7");
  EXPECT_EQ(a.agent.send, "hello\n");
  EXPECT_FALSE(c->pools[0].servers[1].agent.enabled);
  EXPECT_EQ(c->pools[0].servers[1].agent.inter, 2 * kSeconds);

  EXPECT_EQ(onlyError(backend(" server a 10.0.0.1:80 agent-check\n")),
            "test.cfg:2: error: section 'backend b': keyword 'server': server 'a': 'agent-check' "
            "needs 'agent-port'");
  EXPECT_EQ(onlyError(backend(" server a 10.0.0.1:80 agent-port 0\n")),
            "test.cfg:2: error: section 'backend b': keyword 'server': server 'a': parameter "
            "'agent-port': invalid port '0'");
  EXPECT_EQ(onlyError(backend(" server a 10.0.0.1:80 agent-addr 0.0.0.0\n")),
            "test.cfg:2: error: section 'backend b': keyword 'server': server 'a': parameter "
            "'agent-addr': '0.0.0.0' is not a usable agent address");
  // no-agent-check cancels a default-server's agent-check.
  c = load(
      backend(" default-server agent-check agent-port 1\n server a 10.0.0.1:80 no-agent-check\n"));
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->pools[0].servers[0].agent.enabled);
}

TEST(ConfigHealth, PassiveAndActions) {
  auto c =
      load(backend(" server a 10.0.0.1:80 observe layer4 error-limit 3 on-error mark-down "
                   "on-marked-down shutdown-sessions on-marked-up shutdown-backup-sessions\n"
                   " server b 10.0.0.2:80 observe layer4 on-error sudden-death\n"
                   " server c 10.0.0.3:80 on-error fastinter\n"));
  ASSERT_TRUE(c);
  const auto& s = c->pools[0].servers;
  EXPECT_EQ(s[0].observe.mode, model::Observe::kLayer4);
  EXPECT_EQ(s[0].observe.errorLimit, 3u);
  EXPECT_EQ(s[0].observe.onError, model::OnError::kMarkDown);
  EXPECT_TRUE(s[0].shutdownOnDown);
  EXPECT_TRUE(s[0].shutdownBackupsOnUp);
  EXPECT_EQ(s[1].observe.onError, model::OnError::kSuddenDeath);
  EXPECT_EQ(s[1].observe.errorLimit, 10u);
  EXPECT_EQ(s[2].observe.onError, model::OnError::kFastinter);
  EXPECT_EQ(load(backend(" server c 10.0.0.3:80 on-error fail-check\n"))
                ->pools[0]
                .servers[0]
                .observe.onError,
            model::OnError::kFailCheck);

  const std::string prefix =
      "test.cfg:2: error: section 'backend b': keyword 'server': server 'a': ";
  EXPECT_EQ(onlyError(backend(" server a 10.0.0.1:80 observe layer7\n")),
            prefix +
                "parameter 'observe': 'layer7' is not supported: Fulcrum is a layer-4 (TCP/UDP) "
                "load balancer and does not parse HTTP");
  EXPECT_EQ(onlyError(backend(" server a 10.0.0.1:80 observe layer3\n")),
            prefix + "parameter 'observe': unknown mode 'layer3' (expected 'layer4')");
  EXPECT_EQ(onlyError(backend(" server a 10.0.0.1:80 error-limit 0\n")),
            prefix +
                "parameter 'error-limit': value '0' is out of range (expected an integer "
                "from 1 to 2147483647)");
  EXPECT_EQ(onlyError(backend(" server a 10.0.0.1:80 on-error explode\n")),
            prefix +
                "parameter 'on-error': unknown mode 'explode' (expected 'fastinter', "
                "'fail-check', 'sudden-death' or 'mark-down')");
  EXPECT_EQ(onlyError(backend(" server a 10.0.0.1:80 on-marked-down shutdown-backup-sessions\n")),
            prefix +
                "parameter 'on-marked-down': unknown action 'shutdown-backup-sessions' "
                "(expected 'shutdown-sessions')");
  EXPECT_EQ(onlyError(backend(" server a 10.0.0.1:80 on-marked-up shutdown-sessions\n")),
            prefix +
                "parameter 'on-marked-up': unknown action 'shutdown-sessions' (expected "
                "'shutdown-backup-sessions')");
  EXPECT_EQ(onlyError(backend(" server a 10.0.0.1:80 observe\n")),
            prefix + "parameter 'observe' expects a value");
}

TEST(ConfigHealth, DefaultServerCarriesEveryHealthParameter) {
  auto c = load(
      "defaults\n"
      " default-server check inter 1s fastinter 200ms downinter 5s rise 3 fall 4 port 9000 "
      "addr 10.1.1.1 slowstart 10s weight 20 agent-check agent-port 7000 agent-inter 3s "
      "agent-send ping agent-addr 10.1.1.2 observe layer4 error-limit 5 on-error sudden-death "
      "on-marked-down shutdown-sessions on-marked-up shutdown-backup-sessions\n"
      "backend b\n"
      " server a 10.0.0.1:80\n"
      " server z 10.0.0.2:80 no-check inter 7s weight 3\n");
  ASSERT_TRUE(c);
  const model::Server& a = c->pools[0].servers[0];
  EXPECT_TRUE(a.check.enabled);
  EXPECT_EQ(a.check.inter, 1 * kSeconds);
  EXPECT_EQ(a.check.fastinter, 200 * kMillis);
  EXPECT_EQ(a.check.downinter, 5 * kSeconds);
  EXPECT_EQ(a.check.rise, 3u);
  EXPECT_EQ(a.check.fall, 4u);
  EXPECT_EQ(a.check.port, 9000);
  EXPECT_EQ(a.check.addr->hostString(), "10.1.1.1");
  EXPECT_EQ(a.slowstart, 10 * kSeconds);
  EXPECT_EQ(a.weight, 20u);
  EXPECT_TRUE(a.agent.enabled);
  EXPECT_EQ(a.agent.port, 7000);
  EXPECT_EQ(a.agent.inter, 3 * kSeconds);
  EXPECT_EQ(a.agent.send, "ping");
  EXPECT_EQ(a.agent.addr->hostString(), "10.1.1.2");
  EXPECT_EQ(a.observe.mode, model::Observe::kLayer4);
  EXPECT_EQ(a.observe.errorLimit, 5u);
  EXPECT_EQ(a.observe.onError, model::OnError::kSuddenDeath);
  EXPECT_TRUE(a.shutdownOnDown);
  EXPECT_TRUE(a.shutdownBackupsOnUp);
  // The server line wins over the defaults.
  const model::Server& z = c->pools[0].servers[1];
  EXPECT_FALSE(z.check.enabled);
  EXPECT_EQ(z.check.inter, 7 * kSeconds);
  EXPECT_EQ(z.weight, 3u);
  EXPECT_TRUE(z.agent.enabled);
}

TEST(ConfigHealth, TimeoutCheckAndSpreadChecks) {
  auto c = load(
      "global\n spread-checks 5\n"
      "defaults\n timeout check 2s\n"
      "backend b\n server a 10.0.0.1:80\n"
      "backend c\n timeout check 300ms\n server a 10.0.0.1:80\n");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->global.spreadChecks, 5u);
  EXPECT_EQ(c->pools[0].checkTimeout, 2 * kSeconds);
  EXPECT_EQ(c->pools[1].checkTimeout, 300 * kMillis);
  EXPECT_EQ(load("global\n")->global.spreadChecks, 0u);
  EXPECT_EQ(onlyError("global\n spread-checks 51\n"),
            "test.cfg:2: error: section 'global': keyword 'spread-checks': value '51' is out of "
            "range (expected an integer from 0 to 50)");
  EXPECT_EQ(onlyError("frontend f\n bind :80\n timeout check 1s\n"),
            "test.cfg:3: error: section 'frontend f': keyword 'timeout check' is not allowed in a "
            "frontend section (HAProxy accepts it in defaults, listen and backend sections)");
  EXPECT_EQ(onlyError("backend b\n spread-checks 5\n"),
            "test.cfg:2: error: section 'backend b': keyword 'spread-checks' is not allowed in a "
            "backend section (HAProxy accepts it in global sections)");
}

TEST(ConfigHealth, TcpCheckSequence) {
  auto c =
      load(backend(" option tcp-check\n"
                   " tcp-check comment \"ping step\"\n"
                   " tcp-check send PING\\r\\n\n"
                   " tcp-check expect string +PONG\n"
                   " tcp-check send-binary 50494e470d0a comment again\n"
                   " tcp-check expect comment \"no error\" ! rstring ^-ERR\n"
                   " tcp-check expect binary 2b504f4e47\n"
                   " tcp-check expect rbinary ^2B\n"
                   " server a 10.0.0.1:80 check\n"));
  ASSERT_TRUE(c);
  const model::Pool& p = c->pools[0];
  EXPECT_TRUE(p.tcpCheck);
  ASSERT_EQ(p.tcpCheckRules.size(), 7u);
  EXPECT_EQ(p.tcpCheckRules[0].kind, Kind::kComment);
  EXPECT_EQ(p.tcpCheckRules[0].comment, "ping step");
  EXPECT_EQ(p.tcpCheckRules[1].kind, Kind::kSend);
  EXPECT_EQ(p.tcpCheckRules[1].data, "PING\r\n");
  EXPECT_EQ(p.tcpCheckRules[1].loc.line, 4);
  EXPECT_EQ(p.tcpCheckRules[2].kind, Kind::kExpect);
  EXPECT_EQ(p.tcpCheckRules[2].match, Match::kString);
  EXPECT_EQ(p.tcpCheckRules[2].data, "+PONG");
  EXPECT_FALSE(p.tcpCheckRules[2].negate);
  EXPECT_EQ(p.tcpCheckRules[3].data, "PING\r\n");
  EXPECT_EQ(p.tcpCheckRules[3].comment, "again");
  EXPECT_EQ(p.tcpCheckRules[4].match, Match::kRstring);
  EXPECT_TRUE(p.tcpCheckRules[4].negate);
  EXPECT_EQ(p.tcpCheckRules[4].data, "^-ERR");
  EXPECT_EQ(p.tcpCheckRules[4].comment, "no error");
  EXPECT_EQ(p.tcpCheckRules[5].match, Match::kBinary);
  EXPECT_EQ(p.tcpCheckRules[5].data, "+PONG");
  EXPECT_EQ(p.tcpCheckRules[6].match, Match::kRbinary);
  EXPECT_EQ(p.tcpCheckRules[6].data, "^2B");
}

TEST(ConfigHealth, TcpCheckConnectSteps) {
  auto c =
      load(backend(" option tcp-check\n"
                   " tcp-check connect\n"
                   " tcp-check send x\n"
                   " tcp-check connect port 8443 comment second\n"
                   " server a 10.0.0.1:80 check\n"));
  ASSERT_TRUE(c);
  const auto& r = c->pools[0].tcpCheckRules;
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].kind, Kind::kConnect);
  EXPECT_EQ(r[0].port, 0);
  EXPECT_EQ(r[2].port, 8443);
  EXPECT_EQ(r[2].comment, "second");
  EXPECT_EQ(onlyError(backend(" tcp-check send x\n tcp-check connect\n")),
            "test.cfg:3: error: section 'backend b': keyword 'tcp-check': the first step must be "
            "a 'connect' when the sequence has one (a 'send' step comes first, at test.cfg:2)");
}

TEST(ConfigHealth, TcpCheckRulesFromDefaults) {
  auto c = load(
      "defaults\n option tcp-check\n tcp-check send A\n tcp-check expect string B\n"
      "backend inherits\n server a 10.0.0.1:80 check\n"
      "backend own\n tcp-check send C\n server a 10.0.0.1:80 check\n"
      "backend off\n no option tcp-check\n server a 10.0.0.1:80 check\n");
  ASSERT_TRUE(c);
  ASSERT_EQ(c->pools[0].tcpCheckRules.size(), 2u);
  EXPECT_TRUE(c->pools[0].tcpCheck);
  ASSERT_EQ(c->pools[1].tcpCheckRules.size(), 1u);  // its own replace the inherited ones
  EXPECT_EQ(c->pools[1].tcpCheckRules[0].data, "C");
  EXPECT_FALSE(c->pools[2].tcpCheck);
}

TEST(ConfigHealth, TcpCheckRulesWithoutTheOptionWarn) {
  auto r = parse(
      "backend b\n timeout connect 1s\n timeout server 1s\n tcp-check send x\n"
      " server a 10.0.0.1:80 check\n");
  ASSERT_TRUE(r.ok());
  auto w = formatted(r, Severity::kWarning);
  ASSERT_EQ(w.size(), 1u) << dump(r);
  EXPECT_EQ(w[0],
            "test.cfg:4: warning: section 'backend b': keyword 'tcp-check': the rules are not "
            "used without 'option tcp-check'");
}

TEST(ConfigHealth, TcpCheckErrors) {
  const std::string p = "test.cfg:2: error: section 'backend b': keyword 'tcp-check': ";
  EXPECT_EQ(onlyError(backend(" tcp-check\n")),
            p + "expects an action ('connect', 'send', 'send-binary', 'expect' or 'comment')");
  EXPECT_EQ(onlyError(backend(" tcp-check fly\n")),
            p + "unknown action 'fly' (expected 'connect', 'send', 'send-binary', 'expect' or "
                "'comment')");
  EXPECT_EQ(onlyError(backend(" tcp-check send-lf %[src]\n")),
            p + "action 'send-lf' is not supported yet");
  EXPECT_EQ(onlyError(backend(" tcp-check set-var(check.x) int(1)\n")),
            "test.cfg:2: error: section 'backend b': keyword 'tcp-check': unknown action "
            "'set-var(check.x)' (expected 'connect', 'send', 'send-binary', 'expect' or "
            "'comment')");
  EXPECT_EQ(onlyError(backend(" tcp-check send\n")), p + "'send' expects the data to send");
  EXPECT_EQ(onlyError(backend(" tcp-check send-binary 5x\n")), p + "'5x' is not a hex string");
  EXPECT_EQ(onlyError(backend(" tcp-check send-binary abc\n")),
            p + "'abc' is not a hex string (an even number of hex digits)");
  EXPECT_EQ(onlyError(backend(" tcp-check send x y\n")), p + "unexpected argument 'y'");
  EXPECT_EQ(onlyError(backend(" tcp-check connect ssl\n")),
            p + "option 'ssl' is not supported yet");
  EXPECT_EQ(onlyError(backend(" tcp-check connect port 0\n")), p + "'port': invalid port '0'");
  EXPECT_EQ(onlyError(backend(" tcp-check expect\n")),
            p + "'expect' expects a match ('string', 'rstring', 'binary' or 'rbinary') and a "
                "pattern");
  EXPECT_EQ(onlyError(backend(" tcp-check expect string\n")), p + "'string' expects a pattern");
  EXPECT_EQ(onlyError(backend(" tcp-check expect min-recv 4 string x\n")),
            p + "option 'min-recv' is not supported yet");
  EXPECT_EQ(onlyError(backend(" tcp-check expect strng x\n")), p + "unexpected argument 'strng'");
  EXPECT_EQ(onlyError(backend(" tcp-check expect ! strng x\n")),
            p + "unknown match 'strng' (expected 'string', 'rstring', 'binary' or 'rbinary')");
  EXPECT_EQ(onlyError(backend(" tcp-check expect string x y\n")),
            p + "unexpected argument 'y' after the pattern");
  EXPECT_EQ(onlyError(backend(" tcp-check expect binary zz\n")), p + "'zz' is not a hex string");
  auto re = onlyError(backend(" tcp-check expect rstring (unclosed\n"));
  EXPECT_EQ(re.rfind(p + "invalid regex '(unclosed': ", 0), 0u) << re;
  EXPECT_EQ(onlyError("frontend f\n bind :80\n tcp-check send x\n"),
            "test.cfg:3: error: section 'frontend f': keyword 'tcp-check' is not allowed in a "
            "frontend section (HAProxy accepts it in defaults, listen and backend sections)");
  EXPECT_EQ(onlyError("frontend f\n bind :80\n option tcp-check\n"),
            "test.cfg:3: error: section 'frontend f': keyword 'option tcp-check' is not allowed in "
            "a frontend section (HAProxy accepts it in defaults, listen and backend sections)");
  EXPECT_EQ(onlyError(backend(" option tcp-check extra\n")),
            "test.cfg:2: error: section 'backend b': keyword 'option tcp-check': unexpected "
            "argument 'extra'");
}

}  // namespace
}  // namespace fulcrum::config
