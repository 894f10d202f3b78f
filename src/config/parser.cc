// The config driver: files and lines, sections and inheritance, the checks that need the
// whole configuration, and the model at the end. The keywords are in keywords_*.cc.
#include "config/parser.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/core.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <unordered_set>

#include "config/keywords_internal.h"
#include "config/tokenizer.h"

namespace fulcrum::config {

SectionMask maskOf(SectionKind kind) {
  switch (kind) {
    case SectionKind::kGlobal: return kInGlobal;
    case SectionKind::kDefaults: return kInDefaults;
    case SectionKind::kFrontend: return kInFrontend;
    case SectionKind::kListen: return kInListen;
    case SectionKind::kBackend: return kInBackend;
    case SectionKind::kUdpLb: return kInUdpLb;
    case SectionKind::kNone:
    case SectionKind::kSkipped: return 0;
  }
  return 0;
}

const char* sectionKindName(SectionKind kind) {
  switch (kind) {
    case SectionKind::kGlobal: return "global";
    case SectionKind::kDefaults: return "defaults";
    case SectionKind::kFrontend: return "frontend";
    case SectionKind::kListen: return "listen";
    case SectionKind::kBackend: return "backend";
    case SectionKind::kUdpLb: return "udp-lb";
    case SectionKind::kNone:
    case SectionKind::kSkipped: return "?";
  }
  return "?";
}

std::string notAllowedIn(std::string_view keyword, SectionKind kind, SectionMask allowed) {
  return fmt::format(
      "keyword '{}' is not allowed in a {} section (HAProxy accepts it in {} "
      "sections)",
      keyword, sectionKindName(kind), describeMask(allowed));
}

std::string describeMask(SectionMask mask) {
  static constexpr SectionKind kOrder[] = {SectionKind::kGlobal,   SectionKind::kDefaults,
                                           SectionKind::kFrontend, SectionKind::kListen,
                                           SectionKind::kBackend,  SectionKind::kUdpLb};
  // udp-lb is HAProxy Enterprise's: named only for the keywords that have no other place.
  if ((mask & ~kInUdpLb) != 0) mask &= static_cast<SectionMask>(~kInUdpLb);
  std::vector<std::string_view> names;
  for (SectionKind k : kOrder)
    if (mask & maskOf(k)) names.push_back(sectionKindName(k));
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += i + 1 == names.size() ? " and " : ", ";
    out += names[i];
  }
  return out;
}

std::string Diagnostic::format() const {
  std::string out;
  if (!file.empty()) {
    out = line > 0 ? fmt::format("{}:{}: ", file, line) : fmt::format("{}: ", file);
  }
  out += severity == Severity::kError ? "error: " : "warning: ";
  out += message;
  return out;
}

namespace {

constexpr std::string_view kNoHttpMode =
    "Fulcrum is a layer-4 (TCP/UDP) load balancer and does not parse HTTP";

// HAProxy sections Fulcrum recognises but does not support: their bodies are skipped.
constexpr std::string_view kSkippedSections[] = {
    "userlist", "peers",    "resolvers", "mailers",     "program", "http-errors", "ring",
    "cache",    "fcgi-app", "crt-store", "log-forward", "traces",  "acme",
};

bool isSkippedSection(std::string_view word) {
  for (auto s : kSkippedSections)
    if (s == word) return true;
  return false;
}

bool isSectionKeyword(std::string_view word) {
  return word == "global" || word == "defaults" || word == "frontend" || word == "backend" ||
         word == "listen" || word == "udp-lb" || isSkippedSection(word);
}

// Proxy and defaults names: letters, digits, '-', '_', '.' and ':' (as in HAProxy).
bool findInvalidNameChar(std::string_view name, char& bad) {
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.' || c == ':';
    if (!ok) {
      bad = c;
      return true;
    }
  }
  return false;
}

std::string proxyLabel(const ProxySection& px) {
  return fmt::format("{} {}", sectionKindName(px.kind), px.name);
}

// The first word of a line as written, when it is plain (for messages about lines the
// tokenizer rejects).
std::string_view leadingWord(std::string_view line) {
  size_t start = line.find_first_not_of(" \t");
  if (start == std::string_view::npos) return {};
  size_t end = line.find_first_of(" \t\"'\\#$", start);
  if (end == std::string_view::npos) end = line.size();
  if (end < line.size() && line[end] != ' ' && line[end] != '\t') return {};
  return line.substr(start, end - start);
}

bool isLoopback(const SockAddr& a) {
  if (a.family() == AF_INET)
    return (ntohl(reinterpret_cast<const sockaddr_in*>(a.sa())->sin_addr.s_addr) >> 24) == 127;
  if (a.isV6()) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6*>(a.sa())->sin6_addr;
    return IN6_IS_ADDR_LOOPBACK(&in6) || (IN6_IS_ADDR_V4MAPPED(&in6) && in6.s6_addr[12] == 127);
  }
  return false;
}

std::string locText(const model::SourceLoc& loc) {
  return fmt::format("{}:{}", loc.file, loc.line);
}

}  // namespace

Parser::Parser(EnvLookup env) : env_(env ? std::move(env) : processEnv()) {}

void Parser::error(const model::SourceLoc& loc, std::string message) {
  failed_ = true;
  diagnostics_.push_back(
      Diagnostic{Diagnostic::Severity::kError, loc.file, loc.line, std::move(message)});
}

void Parser::warning(const model::SourceLoc& loc, std::string message) {
  diagnostics_.push_back(
      Diagnostic{Diagnostic::Severity::kWarning, loc.file, loc.line, std::move(message)});
}

void Parser::warn(const Statement& st, std::string message) {
  warning(st.loc, sectionPrefix() + message);
}

void Parser::fileError(const std::string& file, std::string message) {
  error(model::SourceLoc{file, 0}, std::move(message));
}

std::string Parser::sectionPrefix() const {
  if (kind_ == SectionKind::kNone) return "";
  return fmt::format("section '{}': ", sectionLabel_);
}

ProxySettings& Parser::settings() {
  if (kind_ == SectionKind::kDefaults) return defaults_[currentDefaults_].settings;
  return proxies_[currentProxy_].settings;
}

ProxySection& Parser::proxy() { return proxies_[currentProxy_]; }

void Parser::parse(std::string_view text, const std::string& file) {
  kind_ = SectionKind::kNone;
  sectionLabel_.clear();
  currentDefaults_ = currentProxy_ = -1;
  int lineNo = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(start, nl - start);
    start = nl + 1;
    model::SourceLoc loc{file, ++lineNo};
    auto words = tokenizeLine(line, env_);
    if (!words) {
      std::string_view kw = leadingWord(line);
      noteKeyword(kw);
      error(loc, sectionPrefix() + (kw.empty() ? "" : fmt::format("keyword '{}': ", kw)) +
                     words.error());
      continue;
    }
    if (words->empty()) continue;
    statement(Statement{std::move(*words), std::move(loc)});
  }
}

void Parser::statement(Statement st) {
  const std::string& kw = st.args[0];
  if (kw.starts_with(".")) {
    error(st.loc,
          sectionPrefix() + fmt::format("keyword '{}': conditional blocks and directives ('.if', "
                                        "'.diag', ...) are not supported yet",
                                        kw));
    return;
  }
  if (isSectionKeyword(kw)) {
    openSection(st);
    return;
  }
  switch (kind_) {
    case SectionKind::kNone:
      error(st.loc, fmt::format("keyword '{}' appears outside of any section (a section starts "
                                "with global, defaults, frontend, backend or listen)",
                                kw));
      return;
    case SectionKind::kSkipped: return;
    default: dispatch(st);
  }
}

void Parser::openSection(const Statement& st) {
  const std::string& kw = st.args[0];
  currentDefaults_ = currentProxy_ = -1;
  if (kw == "global") {
    kind_ = SectionKind::kGlobal;
    sectionLabel_ = "global";
    if (st.args.size() > 1)
      error(st.loc, sectionPrefix() +
                        fmt::format("keyword 'global': unexpected argument '{}'", st.args[1]));
  } else if (kw == "defaults") {
    openDefaults(st);
  } else if (kw == "frontend") {
    openProxy(st, SectionKind::kFrontend);
  } else if (kw == "backend") {
    openProxy(st, SectionKind::kBackend);
  } else if (kw == "listen") {
    openProxy(st, SectionKind::kListen);
  } else if (kw == "udp-lb") {
    openProxy(st, SectionKind::kUdpLb);
  } else {
    kind_ = SectionKind::kSkipped;
    sectionLabel_ = st.args.size() > 1 ? fmt::format("{} {}", kw, st.args[1]) : kw;
    error(st.loc,
          fmt::format("section '{}': '{}' sections are not supported yet", sectionLabel_, kw));
  }
}

bool Parser::inheritedSettings(const Statement& st, std::string_view fromName, ProxySettings& out) {
  if (!fromName.empty()) {
    for (const auto& d : defaults_) {
      if (d.name == fromName) {
        out = d.settings;
        out.tcpCheckRulesInherited = true;
        return true;
      }
    }
    error(st.loc, sectionPrefix() +
                      fmt::format("keyword '{}': 'from {}': no defaults section named '{}' is "
                                  "declared before this line",
                                  st.args[0], fromName, fromName));
    return false;
  }
  // A defaults section without "from" starts from the built-in values (it resets the
  // previous defaults); a proxy inherits the last defaults section declared before it.
  if (st.args[0] != "defaults" && lastDefaults_ >= 0) {
    out = defaults_[lastDefaults_].settings;
  } else {
    out = ProxySettings{};
  }
  out.tcpCheckRulesInherited = true;
  return true;
}

// Parses "[from NAME]" at args[i]; false (after an error) when malformed.
static bool parseFrom(const Statement& st, size_t i, std::string_view& fromName,
                      std::string& problem) {
  if (st.args.size() <= i) return true;
  if (st.args[i] != "from") {
    problem = fmt::format("unexpected argument '{}'", st.args[i]);
    return false;
  }
  if (st.args.size() <= i + 1 || st.args[i + 1].empty()) {
    problem = "'from' expects the name of a defaults section";
    return false;
  }
  if (st.args.size() > i + 2) {
    problem = fmt::format("unexpected argument '{}'", st.args[i + 2]);
    return false;
  }
  fromName = st.args[i + 1];
  return true;
}

void Parser::openDefaults(const Statement& st) {
  bool unnamed = st.args.size() < 2 || st.args[1] == "from" || st.args[1].empty();
  std::string name = unnamed ? "" : st.args[1];
  kind_ = SectionKind::kDefaults;
  sectionLabel_ = unnamed ? "defaults" : fmt::format("defaults {}", name);
  char bad = 0;
  if (findInvalidNameChar(name, bad)) {
    error(st.loc, sectionPrefix() + fmt::format("keyword 'defaults': character '{}' is not "
                                                "permitted in a defaults name",
                                                bad));
  }
  if (!unnamed) {
    for (const auto& d : defaults_) {
      if (d.name == name) {
        error(st.loc,
              sectionPrefix() + fmt::format("keyword 'defaults': a defaults section named '{}' was "
                                            "already declared at {}",
                                            name, locText(d.loc)));
        break;
      }
    }
  }
  std::string_view fromName;
  std::string problem;
  if (!parseFrom(st, st.arg(1) == "from" ? 1 : 2, fromName, problem)) {
    error(st.loc, sectionPrefix() + fmt::format("keyword 'defaults': {}", problem));
  }
  DefaultsSection d;
  d.name = std::move(name);
  d.loc = st.loc;
  inheritedSettings(st, fromName, d.settings);
  defaults_.push_back(std::move(d));
  currentDefaults_ = static_cast<int>(defaults_.size()) - 1;
  lastDefaults_ = currentDefaults_;
}

void Parser::openProxy(const Statement& st, SectionKind kind) {
  const std::string& kw = st.args[0];
  ProxySection px;
  px.kind = kind;
  px.name = st.args.size() > 1 ? st.args[1] : "";
  px.loc = st.loc;
  kind_ = kind;
  sectionLabel_ = px.name.empty() ? kw : proxyLabel(px);
  char bad = 0;
  if (px.name.empty() || px.name == "from") {
    error(st.loc, sectionPrefix() + fmt::format("keyword '{}' expects a name", kw));
  } else if (findInvalidNameChar(px.name, bad)) {
    error(st.loc, sectionPrefix() + fmt::format("keyword '{}': character '{}' is not permitted "
                                                "in a {} name",
                                                kw, bad, kw));
  } else {
    for (const auto& other : proxies_) {
      if (other.name == px.name &&
          ((other.hasFrontend() && px.hasFrontend()) || (other.hasBackend() && px.hasBackend()))) {
        error(st.loc, sectionPrefix() +
                          fmt::format("keyword '{}': the name '{}' is already used by {} '{}' "
                                      "declared at {}",
                                      kw, px.name, sectionKindName(other.kind), other.name,
                                      locText(other.loc)));
        break;
      }
    }
  }
  if (kind == SectionKind::kUdpLb) {
    // As in HAProxy Enterprise: a udp-lb section inherits nothing from defaults sections.
    if (st.args.size() > 2)
      error(st.loc, sectionPrefix() +
                        fmt::format("keyword 'udp-lb': unexpected argument '{}' (udp-lb sections "
                                    "do not inherit from defaults sections)",
                                    st.args[2]));
    px.settings = ProxySettings{};
    px.settings.udp = true;
    proxies_.push_back(std::move(px));
    currentProxy_ = static_cast<int>(proxies_.size()) - 1;
    return;
  }
  std::string_view fromName;
  std::string problem;
  if (!parseFrom(st, 2, fromName, problem)) {
    if (px.hasFrontend() && st.args[2] != "from") {
      problem = fmt::format(
          "an address on the '{}' line ('{}', HAProxy's legacy form) is not supported; use a "
          "'bind' line",
          kw, st.args[2]);
    }
    error(st.loc, sectionPrefix() + fmt::format("keyword '{}': {}", kw, problem));
  }
  inheritedSettings(st, fromName, px.settings);
  proxies_.push_back(std::move(px));
  currentProxy_ = static_cast<int>(proxies_.size()) - 1;
}

namespace {

// Keywords that only mean something for TCP: connections, splicing, stream health checks.
// Written in a section that carries UDP, they are errors (Parser::checkUdpProxy).
bool tcpOnlyKeyword(const Statement& st) {
  constexpr std::string_view kKeywords[] = {"tcp-check", "retries", "http-check"};
  constexpr std::string_view kOptions[] = {
      "splice-auto",      "splice-request",    "splice-response", "tcp-check",   "tcpka",
      "clitcpka",         "srvtcpka",          "nolinger",        "redispatch",  "httpchk",
      "tcp-smart-accept", "tcp-smart-connect", "ldap-check",      "mysql-check", "pgsql-check",
      "redis-check",      "smtpchk",           "ssl-hello-chk",   "spop-check"};
  constexpr std::string_view kTimeouts[] = {"connect", "client-fin", "server-fin", "tunnel",
                                            "queue"};
  const std::string& kw = st.args[0];
  if (contains(kKeywords, kw)) return true;
  if (kw == "option" || kw == "no") {
    const std::string_view opt = kw == "no" ? st.arg(2) : st.arg(1);
    return (kw == "option" || st.arg(1) == "option") && contains(kOptions, opt);
  }
  if (kw == "timeout") return contains(kTimeouts, st.arg(1));
  if (kw == "tcp-request") return st.arg(1) != "connection";
  return false;
}

}  // namespace

void Parser::noteKeyword(std::string_view keyword) {
  if ((keyword == "bind" || keyword == "dgram-bind") && currentProxy_ >= 0 &&
      kind_ != SectionKind::kNone)
    ++proxies_[currentProxy_].bindLines;
}

void Parser::dispatch(const Statement& st) {
  const std::string& kw = st.args[0];
  noteKeyword(kw);
  if (currentProxy_ >= 0 && kind_ != SectionKind::kGlobal && kind_ != SectionKind::kDefaults &&
      tcpOnlyKeyword(st)) {
    proxies_[currentProxy_].tcpOnly.emplace_back(
        kw == "no" ? fmt::format("no {} {}", st.arg(1), st.arg(2))
        : kw == "option" || kw == "timeout" || kw == "tcp-request"
            ? fmt::format("{} {}", kw, st.arg(1))
            : kw,
        st.loc);
    // A udp-lb section is UDP from its first line: the error comes at the end, once.
    if (kind_ == SectionKind::kUdpLb) return;
  }
  bool inGlobal = kind_ == SectionKind::kGlobal;
  const Keyword* k = inGlobal ? findGlobalKeyword(kw) : findProxyKeyword(kw);
  if (k == nullptr) {
    const Keyword* other = inGlobal ? findProxyKeyword(kw) : findGlobalKeyword(kw);
    if (other != nullptr) {
      error(st.loc, sectionPrefix() + notAllowedIn(kw, kind_, other->allowed));
    } else {
      error(st.loc, sectionPrefix() + fmt::format("unknown keyword '{}'", kw));
    }
    return;
  }
  if ((k->allowed & maskOf(kind_)) == 0) {
    error(st.loc, sectionPrefix() + notAllowedIn(kw, kind_, k->allowed));
    return;
  }
  if (k->handler == nullptr) {
    error(st.loc,
          sectionPrefix() + fmt::format("keyword '{}' {}", kw,
                                        k->note.empty() ? "is not supported yet" : k->note));
    return;
  }
  if (auto status = k->handler(*this, st); !status) error(st.loc, sectionPrefix() + status.error());
}

bool ProxySection::servesStats() const {
  return settings.httpMode && settings.stats.enabled && hasFrontend();
}

void Parser::checkProxies() {
  for (const auto& px : proxies_) {
    std::string prefix = fmt::format("section '{}': ", proxyLabel(px));
    const ProxySettings& s = px.settings;
    if (px.hasFrontend() && px.bindLines == 0) {
      error(px.loc, prefix + fmt::format("{} '{}' has no 'bind' line (declare it as a backend if "
                                         "it only holds servers)",
                                         sectionKindName(px.kind), px.name));
    }
    if (s.httpMode && !px.servesStats()) {
      // A proxy that HAProxy would run in HTTP mode: Fulcrum cannot, and says so.
      std::string where = s.modeLoc.line > 0 && s.modeLoc.line != px.loc.line
                              ? fmt::format(" ('mode http' at {})", locText(s.modeLoc))
                              : "";
      error(px.loc,
            prefix + fmt::format("{} '{}' is in 'mode http'{}: {}; set 'mode tcp' in it (only a "
                                 "listen section serving the stats page may be in 'mode http')",
                                 sectionKindName(px.kind), px.name, where, kNoHttpMode));
      continue;
    }
    if (px.servesStats()) {
      if (!px.servers.empty()) {
        warning(px.loc, prefix +
                            "its servers are ignored: a 'mode http' section with 'stats "
                            "enable' only serves the stats page in Fulcrum");
      }
      if (s.monitorUri) {
        warning(s.monitorUriLoc,
                prefix +
                    "keyword 'monitor-uri' is ignored: Fulcrum's stats listener serves "
                    "the stats page and /metrics only");
      }
      continue;
    }
    if (s.udp) {
      checkUdpProxy(px);
    } else {
      for (const model::Bind& b : px.binds)
        if (b.dgram)
          error(b.loc, prefix + fmt::format("keyword 'dgram-bind': {} '{}' carries TCP; a "
                                            "datagram bind needs 'mode udp' (or a udp-lb section)",
                                            sectionKindName(px.kind), px.name));
    }
    if (s.stats.enabled && s.stats.own) {
      // HAProxy's own warning.
      warning(s.stats.loc, prefix + fmt::format("'stats' statement ignored for proxy '{}' as it "
                                                "requires HTTP mode.",
                                                px.name));
    }
    if (px.hasFrontend() && s.monitorUri) {
      // HAProxy's own warnings.
      warning(s.monitorUriLoc, prefix + fmt::format("monitor-uri will be ignored for {} '{}' "
                                                    "(needs 'mode http')",
                                                    sectionKindName(px.kind), px.name));
    }
    if (px.hasFrontend() && s.httplog) {
      warning(s.httplogLoc, prefix + fmt::format("'option httplog' not usable with {} '{}' "
                                                 "(needs 'mode http'). Falling back to 'option "
                                                 "tcplog'.",
                                                 sectionKindName(px.kind), px.name));
    }
    if (px.hasBackend() && !px.settings.tcpCheck && !px.settings.tcpCheckRules.empty() &&
        !px.settings.tcpCheckRulesInherited) {
      warning(px.settings.tcpCheckRules.front().loc,
              prefix + "keyword 'tcp-check': the rules are not used without 'option tcp-check'");
    }
    if (px.kind == SectionKind::kFrontend && s.defaultBackend.empty()) {
      warning(px.loc, prefix + fmt::format("frontend '{}' has no default_backend; its "
                                           "connections will be closed",
                                           px.name));
    }
    // HAProxy's "missing timeouts" warning: a frontend without "timeout client", or a
    // backend with servers but without "timeout connect" or "timeout server".
    std::vector<std::string_view> missing;
    if (s.udp) continue;  // UDP flows have idle timeouts by default (30 s, src/proxy/udp.cc)
    if (px.hasFrontend() && px.settings.clientTimeout == 0) missing.push_back("'client'");
    if (px.hasBackend() && !px.servers.empty()) {
      if (px.settings.connectTimeout == 0) missing.push_back("'connect'");
      if (px.settings.serverTimeout == 0) missing.push_back("'server'");
    }
    if (!missing.empty()) {
      std::string list;
      for (size_t i = 0; i < missing.size(); ++i) list += (i ? ", " : "") + std::string(missing[i]);
      warning(px.loc, prefix + fmt::format("missing timeouts for {} '{}' ({} not set). While not "
                                           "properly invalid, you will certainly encounter "
                                           "various problems with such a configuration: set "
                                           "'timeout client', 'timeout connect' and 'timeout "
                                           "server' to non-zero values",
                                           sectionKindName(px.kind), px.name, list));
    }
  }
}

void Parser::checkUdpProxy(const ProxySection& px) {
  const std::string prefix = fmt::format("section '{}': ", proxyLabel(px));
  const char* what = px.kind == SectionKind::kUdpLb ? "a udp-lb section" : "a 'mode udp' section";
  for (const auto& [keyword, loc] : px.tcpOnly)
    error(loc, prefix + fmt::format("keyword '{}' does not apply to UDP: {} carries datagrams, "
                                    "not TCP connections",
                                    keyword, what));
  for (const model::Bind& b : px.binds) {
    const char* param = b.deferAccept ? "defer-accept" : b.tfo ? "tfo" : b.backlog ? "backlog" : "";
    if (*param != 0)
      error(b.loc, prefix + fmt::format("keyword '{}': bind parameter '{}' applies to TCP "
                                        "listeners only",
                                        b.dgram ? "dgram-bind" : "bind", param));
  }
  for (const model::Server& srv : px.servers) {
    if (srv.sendProxy == model::ProxyProtocol::kV1)
      error(srv.loc, prefix + fmt::format("server '{}': 'send-proxy' (PROXY v1) is a TCP header; "
                                          "UDP servers take 'send-proxy-v2'",
                                          srv.name));
    if (srv.check.enabled && px.settings.udpCheck.kind == model::UdpCheckParams::Kind::kNone)
      error(srv.loc, prefix + fmt::format("server '{}': 'check' on a UDP server needs 'option "
                                          "udp-check' or 'option dns-check' in the section",
                                          srv.name));
  }
}

std::vector<model::LogTarget> Parser::resolveLogs(const ProxySettings& s) const {
  std::vector<model::LogTarget> out;
  for (const LogLine& l : s.logs) {
    if (l.global) {
      out.insert(out.end(), global_.logs.begin(), global_.logs.end());
    } else {
      out.push_back(l.target);
    }
  }
  return out;
}

void Parser::resolveCpuMaps(model::Global& global) {
  global.cpuMaps.clear();
  for (const PendingCpuMap& pending : cpuMaps_) {
    auto m = resolveCpuMap(pending, global.nbthread);
    if (!m) {
      std::string where = global.nbthread > 0 && nbthreadLoc_.line > 0
                              ? fmt::format(" ('nbthread' is set at {})", locText(nbthreadLoc_))
                              : "";
      error(pending.map.loc,
            fmt::format("section 'global': keyword 'cpu-map': {}{}", m.error(), where));
      continue;
    }
    global.cpuMaps.push_back(std::move(*m));
  }
}

namespace {

// HAProxy's numbering of the objects without "id" (done after parsing, so an explicit id
// further down is avoided too): a cursor moves one step per object in declaration order,
// explicit or not, and an object without id takes the first free id at or after it.
// first: the cursor's start.
std::vector<uint32_t> numberInOrder(const std::vector<uint32_t>& explicitIds, uint32_t first) {
  std::unordered_set<uint32_t> used;
  for (uint32_t id : explicitIds)
    if (id != 0) used.insert(id);
  std::vector<uint32_t> ids = explicitIds;
  uint32_t next = first;
  for (uint32_t& id : ids) {
    if (id == 0) {
      while (used.contains(next)) ++next;
      id = next;
      used.insert(id);
    }
    ++next;
  }
  return ids;
}

void numberServers(std::vector<model::Server>& servers) {
  std::vector<uint32_t> explicitIds;
  for (const auto& s : servers) explicitIds.push_back(s.idSet ? s.id : 0);
  std::vector<uint32_t> ids = numberInOrder(explicitIds, 1);
  for (size_t i = 0; i < servers.size(); ++i) servers[i].id = ids[i];
}

}  // namespace

std::vector<uint32_t> Parser::numberProxies() const {
  // The cursor starts at 1, or at 2 when a stats socket is declared: HAProxy's runtime
  // API proxy moves it one step. The ids (show stat's iid, show servers state's be_id)
  // are the ones HAProxy gives the same configuration.
  std::vector<uint32_t> explicitIds;
  for (const auto& px : proxies_) explicitIds.push_back(px.id);
  return numberInOrder(explicitIds, global_.statsSockets.empty() ? 1 : 2);
}

LoadResult Parser::finish() {
  kind_ = SectionKind::kNone;
  auto config = std::make_shared<model::Config>();
  config->global = global_;
  resolveCpuMaps(config->global);

  // Model objects, in declaration order; a listen section makes a pool and a service.
  struct Front {
    size_t service;
    const ProxySection* px;
    int ownPool;
  };
  std::vector<Front> fronts;
  std::vector<bool> poolBalanceSet;  // per pool: "balance" was written
  const std::vector<uint32_t> proxyIds = numberProxies();
  for (size_t pxIndex = 0; pxIndex < proxies_.size(); ++pxIndex) {
    const ProxySection& px = proxies_[pxIndex];
    const uint32_t proxyId = proxyIds[pxIndex];
    if (px.servesStats()) {
      // HAProxy's stats page: Fulcrum's admin HTTP listener on each bind address.
      const StatsSettings& st = px.settings.stats;
      for (const model::Bind& b : px.binds) {
        model::StatsHttpBind h{b.text, b.addr, b.loc};
        h.statsUri = st.uri;
        h.refreshSeconds = st.refreshSeconds;
        h.basicAuth = st.auth;
        h.realm = st.realm.empty() ? "HAProxy Statistics" : st.realm;
        h.hideVersion = st.hideVersion;
        h.proxyName = px.name;
        config->global.statsHttp.push_back(std::move(h));
      }
      continue;
    }
    if (px.settings.httpMode) continue;  // an error (checkProxies())
    int ownPool = -1;
    if (px.hasBackend()) {
      model::Pool pool;
      pool.name = px.name;
      pool.id = proxyId;
      pool.balance = px.settings.balance;
      pool.forward = px.settings.forward;
      pool.loadServerState = px.settings.loadServerState;
      pool.serverStateFileName = px.settings.serverStateFileName;
      pool.servers = px.servers;
      numberServers(pool.servers);
      pool.connectTimeout = px.settings.connectTimeout;
      pool.serverTimeout = px.settings.serverTimeout;
      pool.serverFinTimeout = px.settings.serverFinTimeout;
      pool.tunnelTimeout = px.settings.tunnelTimeout;
      pool.queueTimeout = px.settings.queueTimeout;
      pool.retries = px.settings.retries;
      pool.redispatchInterval = px.settings.redispatchInterval;
      pool.allBackups = px.settings.allBackups;
      pool.tcpKeepalive = px.settings.srvTcpKa;
      pool.noLinger = px.settings.noLinger;
      pool.splice = px.settings.splice;
      pool.checkTimeout = px.settings.checkTimeout;
      pool.tcpCheck = px.settings.tcpCheck;
      pool.tcpCheckRules = px.settings.tcpCheckRules;
      if (px.settings.udp) pool.udpCheck = px.settings.udpCheck;
      // The proxy's "source" applies to the servers without a "source" of their own.
      if (px.settings.source) {
        for (auto& srv : pool.servers)
          if (!srv.source) srv.source = px.settings.source;
      }
      pool.protocol = px.settings.udp ? model::Protocol::kUdp : model::Protocol::kTcp;
      pool.loc = px.loc;
      ownPool = static_cast<int>(config->pools.size());
      poolBalanceSet.push_back(px.settings.balanceSet);
      config->pools.push_back(std::move(pool));
    }
    if (px.hasFrontend()) {
      model::Service svc;
      svc.name = px.name;
      svc.id = proxyId;
      svc.binds = px.binds;
      svc.maxconn = px.settings.maxconn;
      svc.rateLimitSessions = px.settings.rateLimitSessions;
      svc.clientTimeout = px.settings.clientTimeout;
      svc.clientFinTimeout = px.settings.clientFinTimeout;
      svc.acls = px.acls;
      svc.tcpRequestConnection = px.tcpRequestConnection;
      svc.tcpKeepalive = px.settings.cliTcpKa;
      svc.noLinger = px.settings.noLinger;
      svc.splice = px.settings.splice;
      svc.tcplog = px.settings.tcplog || px.settings.httplog;  // HAProxy's fallback
      svc.dontlognull = px.settings.dontlognull;
      svc.logs = resolveLogs(px.settings);
      svc.forwarding = px.settings.dataplane;
      svc.protocol = px.settings.udp ? model::Protocol::kUdp : model::Protocol::kTcp;
      svc.proxyRequests = px.settings.proxyRequests;
      svc.proxyResponses = px.settings.proxyResponses;
      svc.payloadSize = px.settings.payloadSize;
      svc.loc = px.loc;
      fronts.push_back(Front{config->services.size(), &px, ownPool});
      config->services.push_back(std::move(svc));
    }
  }

  // default_backend references, now that every backend is known.
  for (const auto& f : fronts) {
    const ProxySettings& s = f.px->settings;
    model::Service& svc = config->services[f.service];
    if (s.defaultBackend.empty()) {
      svc.defaultPool = f.ownPool;  // a listen section uses its own servers
      continue;
    }
    int pool = config->findPool(s.defaultBackend);
    if (pool >= 0) {
      svc.defaultPool = pool;
      const model::Protocol pp = config->pools[static_cast<size_t>(pool)].protocol;
      if (pp != svc.protocol)
        error(s.defaultBackendLoc,
              fmt::format("section '{}': keyword 'default_backend': backend '{}' carries {} and "
                          "this frontend {} (set the same 'mode' in both)",
                          proxyLabel(*f.px), s.defaultBackend,
                          pp == model::Protocol::kUdp ? "UDP" : "TCP",
                          svc.protocol == model::Protocol::kUdp ? "UDP" : "TCP"));
      continue;
    }
    std::string why = config->findService(s.defaultBackend) >= 0
                          ? fmt::format(" ('{}' is a frontend)", s.defaultBackend)
                          : "";
    error(s.defaultBackendLoc,
          fmt::format("section '{}': keyword 'default_backend': no backend or listen section is "
                      "named '{}'{}",
                      proxyLabel(*f.px), s.defaultBackend, why));
  }

  // Packet services (dataplane xdp): their backends balance with what the packet data plane
  // runs, maglev unless the backend chose.
  for (const auto& f : fronts) {
    const model::Service& svc = config->services[f.service];
    if (svc.forwarding != model::Forwarding::kPacket) continue;
    const model::SourceLoc& at = f.px->settings.dataplaneLoc;
    if (svc.defaultPool < 0) {
      error(at, fmt::format("section '{}': keyword 'dataplane': a packet service needs a backend "
                            "(default_backend, or a listen section's servers)",
                            proxyLabel(*f.px)));
      continue;
    }
    model::Pool& pool = config->pools[static_cast<size_t>(svc.defaultPool)];
    if (!poolBalanceSet[static_cast<size_t>(svc.defaultPool)])
      pool.balance.algo = model::BalanceAlgo::kMaglev;
    const auto algo = pool.balance.algo;
    const bool consistentSource = algo == model::BalanceAlgo::kSource &&
                                  pool.balance.hashType == model::HashType::kConsistent;
    if (algo != model::BalanceAlgo::kMaglev && algo != model::BalanceAlgo::kRoundRobin &&
        algo != model::BalanceAlgo::kStaticRr && !consistentSource &&
        algo != model::BalanceAlgo::kSource) {
      error(at, fmt::format("section '{}': keyword 'dataplane': backend '{}' balances with '{}', "
                            "which the packet data plane does not run (it runs maglev, "
                            "roundrobin, static-rr and source)",
                            proxyLabel(*f.px), pool.name, model::toString(algo)));
    }
  }

  // Binds: port 0 (every port of an address) and the packet data plane's needs.
  size_t packetServices = 0;
  for (const auto& f : fronts) {
    const model::Service& svc = config->services[f.service];
    const bool packet = svc.forwarding == model::Forwarding::kPacket;
    packetServices += packet ? 1 : 0;
    if (packet && packetServices == config->global.xdp.maxServices + 1)
      error(f.px->settings.dataplaneLoc,
            fmt::format("section '{}': keyword 'dataplane': more packet services than "
                        "'xdp-max-services' ({}) allows",
                        proxyLabel(*f.px), config->global.xdp.maxServices));
    for (const model::Bind& b : svc.binds) {
      if (!packet && b.addr.port() == 0)
        error(b.loc, fmt::format("section '{}': keyword 'bind': port 0 in '{}' means every port, "
                                 "which only a packet service ('dataplane xdp') can serve",
                                 proxyLabel(*f.px), b.text));
      if (packet && b.addr.isAny())
        error(b.loc, fmt::format("section '{}': keyword 'bind': a packet service's VIP needs an "
                                 "address, not '{}'",
                                 proxyLabel(*f.px), b.text));
    }
  }
  const model::XdpSettings& xdp = config->global.xdp;
  if (packetServices > 0 && xdp.interfaces.empty()) {
    for (const auto& f : fronts)
      if (config->services[f.service].forwarding == model::Forwarding::kPacket) {
        error(f.px->settings.dataplaneLoc,
              fmt::format("section '{}': keyword 'dataplane': 'dataplane xdp' needs a global "
                          "'xdp-interface IFNAME' to attach the packet data plane to",
                          proxyLabel(*f.px)));
        break;
      }
  }
  checkProxies();
  // The stats page and /metrics, open to whoever reaches a non-loopback address.
  for (const model::StatsHttpBind& h : config->global.statsHttp) {
    if (!h.basicAuth.empty() || isLoopback(h.addr)) continue;
    warning(h.loc, fmt::format("{}: '{}' serves the stats page and /metrics without "
                               "authentication to every host that reaches it; add 'stats auth "
                               "USER:PASSWORD' (in a listen section) or bind it to a loopback "
                               "address",
                               h.proxyName.empty() ? std::string("stats bind")
                                                   : "listen '" + h.proxyName + "'",
                               h.text));
  }

  LoadResult result;
  result.diagnostics = std::move(diagnostics_);
  if (!failed_) result.config = std::move(config);
  return result;
}

namespace {

// Reads a whole file; the error names the file and the reason.
Result<std::string> readFile(const std::string& path, const OpenFile& openFile) {
  int fd = openFile ? openFile(path) : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error{fmt::format("cannot open configuration file: {}", std::strerror(errno))};
  struct stat sb {};
  if (::fstat(fd, &sb) == 0 && S_ISDIR(sb.st_mode)) {
    ::close(fd);
    return Error{"is a directory; configuration directories are not supported yet"};
  }
  std::string text;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return Error{fmt::format("cannot read configuration file: {}", std::strerror(err))};
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return text;
}

}  // namespace

LoadResult loadFiles(const std::vector<std::string>& paths, const EnvLookup& env,
                     const OpenFile& openFile) {
  Parser parser(env);
  if (paths.empty()) parser.fileError("", "no configuration file given");
  for (const auto& path : paths) {
    auto text = readFile(path, openFile);
    if (!text) {
      parser.fileError(path, text.error());
      continue;
    }
    parser.parse(*text, path);
  }
  return parser.finish();
}

LoadResult parseText(std::string_view text, std::string_view fileName, const EnvLookup& env) {
  Parser parser(env);
  parser.parse(text, std::string(fileName));
  return parser.finish();
}

}  // namespace fulcrum::config
