// "acl", the conditions that use ACLs ("if"/"unless") and "tcp-request".
#include <fmt/core.h>

#include <string>
#include <vector>

#include "config/cidr.h"
#include "config/keywords_internal.h"

namespace fulcrum::config {
namespace {

// ACL names use the characters of proxy names (HAProxy's rule).
Status checkAclName(std::string_view name) {
  if (name.empty()) return Error{"expects an ACL name"};
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.' || c == ':';
    if (!ok) return Error{fmt::format("character '{}' is not permitted in ACL name '{}'", c, name)};
  }
  return Ok{};
}

// "CRITERION [FLAGS] VALUE..." from args[first] to args[end): the patterns of an ACL.
// Only "src" is supported; its flags "-n" (no name resolution: Fulcrum never resolves),
// "-m ip" (the default match) and "--" (end of flags) are accepted.
Status parseAclBody(const std::vector<std::string>& args, size_t first, size_t end,
                    std::vector<model::Cidr>& out, size_t& values) {
  values = 0;
  if (first >= end) return Error{"expects a criterion (e.g. 'src') and values"};
  std::string_view criterion = args[first];
  if (criterion != "src") {
    return Error{
        fmt::format("ACL criterion '{}' is not supported yet (Fulcrum supports 'src')", criterion)};
  }
  size_t i = first + 1;
  for (; i < end && args[i].starts_with("-"); ++i) {
    std::string_view flag = args[i];
    if (flag == "--") {
      ++i;
      break;
    }
    if (flag == "-n") continue;
    if (flag == "-m") {
      if (i + 1 >= end) return Error{"ACL flag '-m' expects a match method"};
      if (args[i + 1] != "ip") {
        return Error{fmt::format("match method '-m {}' is not supported for 'src' (only '-m ip')",
                                 args[i + 1])};
      }
      ++i;
      continue;
    }
    return Error{
        fmt::format("ACL flag '{}' is not supported yet (only '-n', '-m ip' and '--')", flag)};
  }
  for (; i < end; ++i) {
    auto c = parseCidr(args[i]);
    if (!c) return Error{c.error()};
    out.push_back(*c);
    ++values;
  }
  return Ok{};
}

// HAProxy's predefined ACLs that mean something at connection time.
bool predefinedAcl(std::string_view name, model::Acl& out) {
  if (name == "TRUE") {
    out.sources.push_back(model::Cidr{});  // ::/0
  } else if (name == "LOCALHOST") {
    out.sources.push_back(*parseCidr("127.0.0.1/8"));
    out.sources.push_back(*parseCidr("::1"));
  } else if (name != "FALSE") {
    return false;
  }
  out.name = std::string(name);
  return true;
}

// Finds the ACL a condition names: one declared above in the section, or a predefined one.
Result<int> findAcl(ProxySection& px, std::string_view name, const model::SourceLoc& loc) {
  for (size_t a = 0; a < px.acls.size(); ++a)
    if (px.acls[a].name == name) return static_cast<int>(a);
  model::Acl acl;
  if (predefinedAcl(name, acl)) {
    acl.loc = loc;
    px.acls.push_back(std::move(acl));
    px.aclPredefined.push_back(true);
    return static_cast<int>(px.acls.size()) - 1;
  }
  constexpr std::string_view kOtherPredefined[] = {
      "HTTP",         "HTTP_1.0",       "HTTP_1.1",      "HTTP_2.0",     "HTTP_CONTENT",
      "HTTP_URL_ABS", "HTTP_URL_SLASH", "HTTP_URL_STAR", "METH_CONNECT", "METH_DELETE",
      "METH_GET",     "METH_HEAD",      "METH_OPTIONS",  "METH_POST",    "METH_PUT",
      "METH_TRACE",   "RDP_COOKIE",     "REQ_CONTENT",   "WAIT_END",
  };
  if (contains(kOtherPredefined, name)) {
    return Error{
        fmt::format("predefined ACL '{}' is not supported (it inspects content; Fulcrum "
                    "supports TRUE, FALSE and LOCALHOST)",
                    name)};
  }
  return Error{fmt::format("no ACL named '{}' is declared before this line in this section", name)};
}

// "if|unless COND" from args[first]: terms separated by spaces are ANDed, "||" or "or"
// separates OR groups, "!" negates a term, "{ src ... }" is an anonymous ACL.
Result<model::Condition> parseCondition(ProxySection& px, const Statement& st, size_t first) {
  model::Condition cond;
  cond.unless = st.args[first] == "unless";
  const std::string& word = st.args[first];
  if (first + 1 >= st.args.size())
    return Error{fmt::format("expects a condition after '{}'", word)};
  std::vector<model::AclTerm> group;
  bool negate = false;
  for (size_t i = first + 1; i < st.args.size(); ++i) {
    std::string_view w = st.args[i];
    if (w == "||" || w == "or") {
      if (negate || group.empty())
        return Error{fmt::format("empty condition before '{}' (a term is missing)", w)};
      cond.anyOf.push_back(std::move(group));
      group.clear();
      continue;
    }
    while (w.starts_with("!")) {
      negate = !negate;
      w.remove_prefix(1);
    }
    if (w.empty()) continue;  // a lone "!" negates the next term
    model::AclTerm term;
    term.negate = negate;
    negate = false;
    if (w == "{") {
      size_t close = i + 1;
      while (close < st.args.size() && st.args[close] != "}") ++close;
      if (close >= st.args.size()) return Error{"missing closing '}' in condition"};
      model::Acl acl;
      std::string text = "{";
      for (size_t k = i + 1; k < close; ++k) text += " " + st.args[k];
      acl.name = text + " }";  // braces never appear in ACL names: no clash
      acl.loc = st.loc;
      size_t values = 0;
      if (auto s = parseAclBody(st.args, i + 1, close, acl.sources, values); !s)
        return Error{fmt::format("anonymous ACL '{}': {}", acl.name, s.error())};
      if (values == 0)
        return Error{fmt::format("anonymous ACL '{}' has no value to match against", acl.name)};
      px.acls.push_back(std::move(acl));
      px.aclPredefined.push_back(false);
      term.acl = static_cast<int>(px.acls.size()) - 1;
      i = close;
    } else if (w.starts_with("{") || w == "}") {
      return Error{
          fmt::format("'{}': braces of an anonymous ACL must be separate words, as in "
                      "'{{ src 10.0.0.0/8 }}'",
                      w)};
    } else {
      auto idx = findAcl(px, w, st.loc);
      if (!idx) return Error{idx.error()};
      term.acl = *idx;
    }
    group.push_back(term);
  }
  if (negate || group.empty())
    return Error{"the condition ends without a term (after '!', '||' or 'or')"};
  cond.anyOf.push_back(std::move(group));
  return cond;
}

// HAProxy's "tcp-request connection" actions other than accept and reject.
// clang-format off
constexpr std::string_view kTcpRequestConnectionActions[] = {
    "capture", "expect-proxy", "expect-netscaler-cip", "track-sc0", "track-sc1", "track-sc2",
    "sc-inc-gpc", "sc-inc-gpc0", "sc-inc-gpc1", "sc-set-gpt", "sc-set-gpt0", "set-var-fmt",
    "set-var", "unset-var", "set-dst", "set-dst-port", "set-mark", "set-src", "set-src-port",
    "set-tos", "silent-drop", "do-resolve", "set-fc-mark", "set-fc-tos",
};
// clang-format on

Status tcpRequestConnection(Parser& p, const Statement& st) {
  constexpr std::string_view kw = "tcp-request connection";
  SectionKind kind = p.sectionKind();
  if (kind == SectionKind::kBackend) {
    return Error{
        "keyword 'tcp-request connection' is not allowed in a backend section (HAProxy "
        "accepts it in defaults, frontend and listen sections)"};
  }
  if (kind == SectionKind::kDefaults) {
    return Error{
        "keyword 'tcp-request connection' is not supported yet in defaults sections "
        "(HAProxy accepts it only in named defaults sections)"};
  }
  if (st.args.size() < 3)
    return Error{"keyword 'tcp-request connection' expects an action ('accept' or 'reject')"};
  std::string_view action = st.args[2];
  model::TcpRequestRule rule;
  rule.loc = st.loc;
  if (action == "accept") {
    rule.action = model::TcpRequestRule::Action::kAccept;
  } else if (action == "reject") {
    rule.action = model::TcpRequestRule::Action::kReject;
  } else {
    std::string_view base = action.substr(0, action.find('('));
    if (contains(kTcpRequestConnectionActions, base)) {
      return keywordError(kw, fmt::format("action '{}' is not supported yet (Fulcrum supports "
                                          "'accept' and 'reject')",
                                          action));
    }
    return keywordError(kw, fmt::format("unknown action '{}' (Fulcrum supports 'accept' and "
                                        "'reject')",
                                        action));
  }
  if (st.args.size() > 3) {
    if (st.args[3] != "if" && st.args[3] != "unless") {
      return keywordError(
          kw, fmt::format("expects 'if' or 'unless' after the action (got '{}')", st.args[3]));
    }
    auto cond = parseCondition(p.proxy(), st, 3);
    if (!cond) return keywordError(kw, cond.error());
    rule.condition = std::move(*cond);
  }
  p.proxy().tcpRequestConnection.push_back(std::move(rule));
  return Ok{};
}

}  // namespace

Status proxyAcl(Parser& p, const Statement& st) {
  SectionKind kind = p.sectionKind();
  if (kind == SectionKind::kDefaults) {
    return Error{
        "keyword 'acl' is not supported yet in defaults sections (HAProxy accepts it "
        "only in named defaults sections)"};
  }
  if (kind == SectionKind::kBackend) {
    return Error{
        "keyword 'acl' is not supported yet in backends (Fulcrum evaluates ACLs only in "
        "'tcp-request connection' rules of frontend and listen sections)"};
  }
  if (st.args.size() < 2) return Error{"keyword 'acl' expects a name, a criterion and values"};
  if (auto s = checkAclName(st.args[1]); !s) return keywordError("acl", s.error());
  std::vector<model::Cidr> sources;
  size_t values = 0;
  if (auto s = parseAclBody(st.args, 2, st.args.size(), sources, values); !s)
    return keywordError("acl", fmt::format("ACL '{}': {}", st.args[1], s.error()));
  if (values == 0) {
    p.warn(st, fmt::format("keyword 'acl': ACL '{}' has no value to match against; this line "
                           "adds nothing (HAProxy warns too)",
                           st.args[1]));
  }
  // Several lines with the same name add up: the ACL matches if any value matches.
  ProxySection& px = p.proxy();
  for (size_t a = 0; a < px.acls.size(); ++a) {
    if (px.acls[a].name == st.args[1] && !px.aclPredefined[a]) {
      px.acls[a].sources.insert(px.acls[a].sources.end(), sources.begin(), sources.end());
      return Ok{};
    }
  }
  model::Acl acl;
  acl.name = st.args[1];
  acl.sources = std::move(sources);
  acl.loc = st.loc;
  px.acls.push_back(std::move(acl));
  px.aclPredefined.push_back(false);
  return Ok{};
}

Status proxyTcpRequest(Parser& p, const Statement& st) {
  std::string_view what = st.arg(1);
  if (what == "connection") return tcpRequestConnection(p, st);
  SectionKind kind = p.sectionKind();
  if (what == "session") {
    if (kind == SectionKind::kBackend) {
      return Error{
          "keyword 'tcp-request session' is not allowed in a backend section (HAProxy "
          "accepts it in defaults, frontend and listen sections)"};
    }
    return Error{"keyword 'tcp-request session' is not supported yet"};
  }
  if (what == "content" || what == "inspect-delay")
    return Error{fmt::format("keyword 'tcp-request {}' is not supported yet", what)};
  if (what.empty()) {
    return Error{
        "keyword 'tcp-request' expects 'connection', 'session', 'content' or "
        "'inspect-delay'"};
  }
  return Error{fmt::format("unknown keyword 'tcp-request {}'", what)};
}

}  // namespace fulcrum::config
