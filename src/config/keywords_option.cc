// "option NAME", and "no ..." and "default ..." before it (and "no log").
#include <fmt/core.h>

#include <climits>

#include "config/keywords_internal.h"
#include "config/units.h"

namespace fulcrum::config {
namespace {

enum class OptionKind : uint8_t {
  kSupported,    // applied by its handler
  kUnsupported,  // means something for a TCP proxy; not supported yet
  kIgnored,      // needs HTTP; HAProxy ignores it in TCP proxies, and we do with a warning
  kHttpLog,      // "option httplog": "option tcplog" in a TCP proxy, as in HAProxy
};

// How the option is written: "option X", "no option X" or "default option X" (back to
// the built-in value, whatever a defaults section set).
enum class OptionPrefix : uint8_t { kNone, kNo, kDefault };

// Applies a supported option; args[first...] are the words after the option name.
using OptionFn = Status (*)(ProxySettings&, OptionPrefix, const Statement&, size_t first);

struct OptionSpec {
  std::string_view name;
  OptionKind kind;
  SectionMask allowed = kAllProxies;  // for kSupported
  bool negatable = true;              // "no option X" and "default option X" exist
  OptionFn apply = nullptr;
};

// A supported option without argument that sets one flag.
template <bool ProxySettings::*Field>
Status flagOption(ProxySettings& s, OptionPrefix prefix, const Statement&, size_t) {
  s.*Field = prefix == OptionPrefix::kNone;
  return Ok{};
}

Status tcpkaOption(ProxySettings& s, OptionPrefix, const Statement&, size_t) {
  s.cliTcpKa = s.srvTcpKa = true;  // each side uses the flag of its own proxy
  return Ok{};
}

Status spliceAutoOption(ProxySettings& s, OptionPrefix prefix, const Statement&, size_t) {
  s.splice.autoMode = prefix == OptionPrefix::kNone ? model::Tristate::kOn
                      : prefix == OptionPrefix::kNo ? model::Tristate::kOff
                                                    : model::Tristate::kUnset;
  return Ok{};
}

Status spliceRequestOption(ProxySettings& s, OptionPrefix prefix, const Statement&, size_t) {
  s.splice.request = prefix == OptionPrefix::kNone;
  return Ok{};
}

Status spliceResponseOption(ProxySettings& s, OptionPrefix prefix, const Statement&, size_t) {
  s.splice.response = prefix == OptionPrefix::kNone;
  return Ok{};
}

// "option redispatch [INTERVAL]" (HAProxy's interval: P > 0 every Pth retry, -N the Nth
// retry before the last, 0 never; bare: -1, the last retry). "no option redispatch": 0.
// "default option redispatch": Fulcrum's default, 1 (every retry).
Status redispatchOption(ProxySettings& s, OptionPrefix prefix, const Statement& st, size_t first) {
  if (prefix != OptionPrefix::kNone) {
    s.redispatchInterval = prefix == OptionPrefix::kNo ? 0 : 1;
    return Ok{};
  }
  int interval = -1;
  if (first < st.args.size()) {
    std::string_view text = st.args[first];
    const bool negative = !text.empty() && text.front() == '-';
    if (negative) text.remove_prefix(1);
    auto v = parseUint(text, 0, INT_MAX);
    if (!v) return Error{fmt::format("invalid redispatch interval: {}", v.error())};
    interval = negative ? -static_cast<int>(*v) : static_cast<int>(*v);
    if (first + 1 < st.args.size())
      return Error{fmt::format("unexpected argument '{}'", st.args[first + 1])};
  }
  s.redispatchInterval = interval;
  return Ok{};
}

// "option udp-check" (HAProxy Enterprise's udp-lb option): a datagram check, its payload
// and expectation from the "udp-check" lines. "option dns-check [NAME]" (Fulcrum's, named
// like "option redis-check"): a DNS query for NAME (default "."). "no option ...": none.
Status udpCheckOption(ProxySettings& s, OptionPrefix prefix, const Statement& st, size_t first) {
  if (prefix != OptionPrefix::kNone) {
    s.udpCheck.kind = model::UdpCheckParams::Kind::kNone;
    return Ok{};
  }
  if (first < st.args.size()) return Error{fmt::format("unexpected argument '{}'", st.args[first])};
  s.udpCheck.kind = model::UdpCheckParams::Kind::kDatagram;
  return Ok{};
}

Status dnsCheckOption(ProxySettings& s, OptionPrefix prefix, const Statement& st, size_t first) {
  if (prefix != OptionPrefix::kNone) {
    s.udpCheck.kind = model::UdpCheckParams::Kind::kNone;
    return Ok{};
  }
  std::string name = first < st.args.size() ? st.args[first] : ".";
  if (first + 1 < st.args.size())
    return Error{fmt::format("unexpected argument '{}'", st.args[first + 1])};
  if (name.empty() || name.size() > 253) return Error{fmt::format("invalid DNS name '{}'", name)};
  if (name.back() != '.') name += '.';
  // Labels of 1 to 63 characters ("." alone is the root).
  size_t start = 0;
  while (name != "." && start < name.size()) {
    const size_t dot = name.find('.', start);
    if (dot == start || dot - start > 63) return Error{fmt::format("invalid DNS name '{}'", name)};
    start = dot + 1;
  }
  s.udpCheck.kind = model::UdpCheckParams::Kind::kDns;
  s.udpCheck.dnsName = std::move(name);
  return Ok{};
}

// kIgnored: the options HAProxy flags as HTTP-only (PR_MODE_HTTP in its option tables, and
// the forwardfor/originalto header options), which it ignores with a warning in a
// "mode tcp" proxy. A Fulcrum proxy is always "mode tcp", so they mean nothing here either.
// The sections of the supported options are HAProxy's keyword matrix.
constexpr OptionSpec kOptions[] = {
    {"allbackups", OptionKind::kSupported, kBackSide | kInUdpLb, true,
     flagOption<&ProxySettings::allBackups>},
    {"clitcpka", OptionKind::kSupported, kFrontSide, true, flagOption<&ProxySettings::cliTcpKa>},
    {"dontlognull", OptionKind::kSupported, kFrontSide, true,
     flagOption<&ProxySettings::dontlognull>},
    {"nolinger", OptionKind::kSupported, kAllProxies, true, flagOption<&ProxySettings::noLinger>},
    {"redispatch", OptionKind::kSupported, kBackSide, true, redispatchOption},
    {"splice-auto", OptionKind::kSupported, kAllProxies, true, spliceAutoOption},
    {"splice-request", OptionKind::kSupported, kAllProxies, true, spliceRequestOption},
    {"splice-response", OptionKind::kSupported, kAllProxies, true, spliceResponseOption},
    {"srvtcpka", OptionKind::kSupported, kBackSide, true, flagOption<&ProxySettings::srvTcpKa>},
    {"tcpka", OptionKind::kSupported, kAllProxies, false, tcpkaOption},
    {"tcplog", OptionKind::kSupported, kAllProxies, false, flagOption<&ProxySettings::tcplog>},
    {"tcp-check", OptionKind::kSupported, kBackSide, true, flagOption<&ProxySettings::tcpCheck>},
    {"udp-check", OptionKind::kSupported, kBackSide | kInUdpLb, true, udpCheckOption},
    {"dns-check", OptionKind::kSupported, kBackSide | kInUdpLb, true, dnsCheckOption},
    {"abortonclose", OptionKind::kUnsupported},
    {"contstats", OptionKind::kUnsupported},
    {"dontlog-normal", OptionKind::kUnsupported},
    {"external-check", OptionKind::kUnsupported},
    {"httpchk", OptionKind::kUnsupported},
    {"httplog", OptionKind::kHttpLog},
    {"httpslog", OptionKind::kUnsupported},
    {"independent-streams", OptionKind::kUnsupported},
    {"ldap-check", OptionKind::kUnsupported},
    {"log-health-checks", OptionKind::kUnsupported},
    {"log-separate-errors", OptionKind::kUnsupported},
    {"logasap", OptionKind::kUnsupported},
    {"mysql-check", OptionKind::kUnsupported},
    {"pgsql-check", OptionKind::kUnsupported},
    {"redis-check", OptionKind::kUnsupported},
    {"smtpchk", OptionKind::kUnsupported},
    {"socket-stats", OptionKind::kUnsupported},
    {"spop-check", OptionKind::kUnsupported},
    {"ssl-hello-chk", OptionKind::kUnsupported},
    {"tcp-smart-accept", OptionKind::kUnsupported},
    {"tcp-smart-connect", OptionKind::kUnsupported},
    {"transparent", OptionKind::kUnsupported},
    {"forwarded", OptionKind::kIgnored},
    {"http-drop-request-trailers", OptionKind::kIgnored},
    {"http-drop-response-trailers", OptionKind::kIgnored},
    {"http-keep-alive", OptionKind::kIgnored},
    {"http-restrict-req-hdr-names", OptionKind::kIgnored},
    {"http-server-close", OptionKind::kIgnored},
    {"httpclose", OptionKind::kIgnored},
    {"accept-invalid-http-request", OptionKind::kIgnored},
    {"accept-invalid-http-response", OptionKind::kIgnored},
    {"checkcache", OptionKind::kIgnored},
    {"disable-h2-upgrade", OptionKind::kIgnored},
    {"forwardfor", OptionKind::kIgnored},
    {"h1-case-adjust-bogus-client", OptionKind::kIgnored},
    {"h1-case-adjust-bogus-server", OptionKind::kIgnored},
    {"http-buffer-request", OptionKind::kIgnored},
    {"http-ignore-probes", OptionKind::kIgnored},
    {"http-no-delay", OptionKind::kIgnored},
    {"http-pretend-keepalive", OptionKind::kIgnored},
    {"http-use-proxy-header", OptionKind::kIgnored},
    {"idle-close-on-response", OptionKind::kIgnored},
    {"originalto", OptionKind::kIgnored},
    {"prefer-last-server", OptionKind::kIgnored},
    {"persist", OptionKind::kIgnored},
};

// What an unsupported option is, when its name does not say (health checks of TCP
// services mostly).
std::string unsupportedNote(std::string_view name) {
  if (name == "httpchk")
    return ": it is an HTTP health check of the servers, which checks TCP services too; until "
           "then, use 'option tcp-check' with 'tcp-check send' and 'tcp-check expect'";
  if ((name.ends_with("-check") && name != "external-check") || name == "smtpchk" ||
      name == "ssl-hello-chk")
    return ": it is a protocol health check of the servers; until then, use 'option "
           "tcp-check' with 'tcp-check send' and 'tcp-check expect'";
  return "";
}

// The arguments HAProxy accepts after the ignored options, so that an ignored line is
// still one HAProxy would accept.
Status checkIgnoredOptionArgs(std::string_view option, const Statement& st, size_t first) {
  for (size_t i = first; i < st.args.size(); ++i) {
    std::string_view a = st.args[i];
    bool takesValue =
        (option == "forwardfor" || option == "originalto") && (a == "except" || a == "header");
    bool flag = option == "forwardfor" && a == "if-none";
    if (takesValue) {
      if (i + 1 >= st.args.size()) return Error{fmt::format("'{}' expects a value", a)};
      ++i;
    } else if (!flag) {
      return Error{fmt::format("unexpected argument '{}'", a)};
    }
  }
  return Ok{};
}

// "option NAME ...", "no option NAME" and "default option NAME"; optionAt is the index of
// the word "option".
Status optionStatement(Parser& p, const Statement& st, size_t optionAt) {
  std::string prefix;
  for (size_t i = 0; i <= optionAt; ++i) prefix += (i ? " " : "") + st.args[i];
  if (st.args.size() <= optionAt + 1)
    return Error{fmt::format("keyword '{}' expects an option name", prefix)};
  std::string_view name = st.args[optionAt + 1];
  std::string keyword = fmt::format("{} {}", prefix, name);
  const OptionSpec* spec = nullptr;
  for (const auto& o : kOptions)
    if (o.name == name) spec = &o;
  if (spec == nullptr) return Error{fmt::format("unknown option '{}' (in '{}')", name, keyword)};
  switch (spec->kind) {
    case OptionKind::kSupported: break;
    case OptionKind::kUnsupported:
      return Error{
          fmt::format("keyword '{}' is not supported yet{}", keyword, unsupportedNote(name))};
    case OptionKind::kIgnored: break;
    case OptionKind::kHttpLog: break;
  }
  const size_t first = optionAt + 2;  // the first argument after the option name
  const bool logOption = name == "tcplog" || name == "httplog";
  if (logOption && p.sectionKind() == SectionKind::kBackend) {
    // HAProxy's own warning: log lines belong to the frontends.
    p.warn(st, fmt::format("'{}' directive is ignored in backends", keyword));
    return Ok{};
  }
  if (spec->kind == OptionKind::kHttpLog) {
    // HAProxy's "clf" argument; Parser::finish() warns about the TCP proxies.
    if (st.args.size() > first &&
        !(optionAt == 0 && st.args[first] == "clf" && st.args.size() == first + 1))
      return keywordError(keyword, fmt::format("unexpected argument '{}'", st.args[first]));
    p.settings().httplog = optionAt == 0;
    p.settings().httplogLoc = st.loc;
    return Ok{};
  }
  if (spec->kind == OptionKind::kSupported) {
    SectionKind kind = p.sectionKind();
    if ((spec->allowed & maskOf(kind)) == 0) {
      return Error{notAllowedIn(keyword, kind, spec->allowed)};
    }
    OptionPrefix how = optionAt == 0        ? OptionPrefix::kNone
                       : st.args[0] == "no" ? OptionPrefix::kNo
                                            : OptionPrefix::kDefault;
    if (how != OptionPrefix::kNone && !spec->negatable) {
      return Error{
          fmt::format("keyword '{}' is not allowed: HAProxy accepts neither 'no' nor "
                      "'default' before option '{}'",
                      keyword, name)};
    }
    bool takesArgs = how == OptionPrefix::kNone && (name == "redispatch" || name == "dns-check");
    if (!takesArgs && st.args.size() > first)
      return keywordError(keyword, fmt::format("unexpected argument '{}'", st.args[first]));
    if (auto s = spec->apply(p.settings(), how, st, first); !s)
      return keywordError(keyword, s.error());
    return Ok{};
  }
  if (optionAt == 0) {
    if (auto s = checkIgnoredOptionArgs(name, st, first); !s)
      return keywordError(keyword, s.error());
  } else if (st.args.size() > first) {
    return keywordError(keyword, fmt::format("unexpected argument '{}'", st.args[first]));
  }
  if (name == "persist") {
    p.warn(st, fmt::format("keyword '{}' is ignored: Fulcrum has no persistence cookies to "
                           "keep on a down server",
                           keyword));
    return Ok{};
  }
  p.warn(st, fmt::format("keyword '{}' is ignored: it requires HTTP mode and Fulcrum proxies "
                         "are 'mode tcp' (HAProxy ignores it in TCP mode too)",
                         keyword));
  return Ok{};
}

}  // namespace

Status proxyOption(Parser& p, const Statement& st) { return optionStatement(p, st, 0); }

// "no ..." and "default ...": HAProxy has them before "option" (and "no log").
Status proxyNegation(Parser& p, const Statement& st) {
  if (st.arg(1) == "option") return optionStatement(p, st, 1);
  if (st.args[0] == "no" && st.arg(1) == "log") {
    // Forgets the log targets inherited from defaults or set above.
    if (st.args.size() > 2)
      return keywordError(
          "no log", fmt::format("unexpected argument '{}' ('no log' takes none)", st.args[2]));
    p.settings().logs.clear();
    return Ok{};
  }
  if (st.args.size() < 2) return Error{fmt::format("keyword '{}' expects 'option'", st.args[0])};
  return Error{fmt::format("unknown keyword '{} {}'", st.args[0], st.args[1])};
}

}  // namespace fulcrum::config
