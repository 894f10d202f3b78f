// Internals of the config parser, shared by parser.cc (sections, files, the final checks)
// and the keywords_*.cc files (the keyword tables and their handlers). Not part of the
// config API.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/net.h"
#include "common/result.h"
#include "config/config.h"
#include "config/cpu_map.h"
#include "model/model.h"

namespace fulcrum::config {

enum class SectionKind : uint8_t {
  kNone,  // before the first section of a file
  kGlobal,
  kDefaults,
  kFrontend,
  kBackend,
  kListen,
  kUdpLb,    // HAProxy Enterprise's "udp-lb NAME": a UDP listen section, no defaults inherited
  kSkipped,  // a section Fulcrum does not support (peers, resolvers, ...): lines are skipped
};

// Where a keyword may appear: a set of section kinds (HAProxy's keyword matrix).
using SectionMask = uint8_t;
constexpr SectionMask kInGlobal = 1 << 0;
constexpr SectionMask kInDefaults = 1 << 1;
constexpr SectionMask kInFrontend = 1 << 2;
constexpr SectionMask kInListen = 1 << 3;
constexpr SectionMask kInBackend = 1 << 4;
constexpr SectionMask kInUdpLb = 1 << 5;
constexpr SectionMask kFrontSide = kInDefaults | kInFrontend | kInListen;
constexpr SectionMask kBackSide = kInDefaults | kInListen | kInBackend;
constexpr SectionMask kAllProxies = kInDefaults | kInFrontend | kInListen | kInBackend;

SectionMask maskOf(SectionKind kind);
const char* sectionKindName(SectionKind kind);
// "defaults, frontend and listen": the sections of a mask, for messages.
std::string describeMask(SectionMask mask);
// "keyword 'K' is not allowed in a KIND section (HAProxy accepts it in ... sections)".
std::string notAllowedIn(std::string_view keyword, SectionKind kind, SectionMask allowed);

// One "log" line of a proxy or defaults section, in order; "log global" is a marker that
// finish() replaces with the global targets.
struct LogLine {
  bool global = false;
  model::LogTarget target;  // when !global
};

// The "stats" lines of a proxy or defaults section: HAProxy's stats page. A proxy in
// "mode http" with stats enabled becomes an admin HTTP listener of Fulcrum (its binds serve
// the stats page at "stats uri" and /metrics).
struct StatsSettings {
  bool enabled = false;                // "stats enable", or any other stats line, as in HAProxy
  model::SourceLoc loc;                // the first stats line
  bool own = false;                    // set by the section itself, not inherited
  std::string uri = "/haproxy?stats";  // HAProxy's default
  uint32_t refreshSeconds = 0;         // 0: the page's default
  std::vector<std::string> auth;       // "USER:PASSWORD"
  std::string realm;                   // empty: HAProxy's "HAProxy Statistics"
  bool hideVersion = false;            // "stats hide-version"
};

// What a defaults section passes on to the proxies that inherit from it, and what a
// proxy section holds before it becomes model objects. Each proxy keeps the side it has:
// a frontend's server-side settings and a backend's client-side settings are unused.
struct ProxySettings {
  // "dataplane proxy|xdp" (frontend side) and "forward ipip|gue|dr|nat" (backend side).
  model::Forwarding dataplane = model::Forwarding::kProxy;
  model::SourceLoc dataplaneLoc;
  model::ForwardMode forward = model::ForwardMode::kIpip;
  bool balanceSet = false;  // "balance" was written (packet services default to maglev)
  // "mode udp", or a udp-lb section: the proxy carries UDP datagrams (src/proxy/udp.h).
  bool udp = false;
  // UDP flows (frontend side): a flow ends after proxyRequests datagrams from the client
  // (0: unlimited) once proxyResponses replies per request have come back (-1: unlimited,
  // 0: no reply expected); datagrams above payloadSize are dropped and counted.
  uint32_t proxyRequests = 0;
  int64_t proxyResponses = -1;
  uint32_t payloadSize = 1472;
  // "mode http": accepted in defaults; a proxy that ends up in it is an error at finish(),
  // unless it only serves the stats page.
  bool httpMode = false;
  model::SourceLoc modeLoc;
  // "option httplog" and "monitor-uri": HAProxy's warnings for TCP proxies come at the end.
  bool httplog = false;
  model::SourceLoc httplogLoc;
  bool monitorUri = false;
  model::SourceLoc monitorUriLoc;
  StatsSettings stats;
  model::Balance balance;
  model::LoadServerState loadServerState = model::LoadServerState::kNone;
  std::string serverStateFileName;  // "server-state-file-name" (not inherited from defaults)
  model::Timeout clientTimeout = 0;
  model::Timeout clientFinTimeout = 0;
  model::Timeout connectTimeout = 0;
  model::Timeout serverTimeout = 0;
  model::Timeout serverFinTimeout = 0;
  model::Timeout tunnelTimeout = 0;
  model::Timeout queueTimeout = 0;
  uint32_t maxconn = 0;
  uint32_t rateLimitSessions = 0;
  uint32_t retries = 3;
  int redispatchInterval = 1;  // Fulcrum's default: every retry goes elsewhere
  bool allBackups = false;
  bool cliTcpKa = false;  // option clitcpka (and tcpka)
  bool srvTcpKa = false;  // option srvtcpka (and tcpka)
  bool noLinger = false;  // one flag: the client side of a frontend, the server side of a backend
  model::SpliceOptions splice;
  bool tcplog = false;
  bool dontlognull = false;
  std::vector<LogLine> logs;
  std::optional<SockAddr> source;  // "source ADDR[:PORT]": for servers without their own
  std::string defaultBackend;      // empty: none
  model::SourceLoc defaultBackendLoc;
  model::Server defaultServer;  // the "default-server" template (name and address unused)
  // Health checks: "timeout check", "option tcp-check" and the section's "tcp-check" lines.
  model::Timeout checkTimeout = 0;
  bool tcpCheck = false;
  std::vector<model::TcpCheckRule> tcpCheckRules;
  // UDP health checks: "option udp-check", "option dns-check", "udp-check" lines.
  model::UdpCheckParams udpCheck;
  // The rules came from the defaults section: the section's first own "tcp-check" line
  // replaces them rather than adding to them.
  bool tcpCheckRulesInherited = false;
};

struct DefaultsSection {
  std::string name;  // empty: unnamed
  model::SourceLoc loc;
  ProxySettings settings;
};

struct ProxySection {
  SectionKind kind = SectionKind::kFrontend;  // kFrontend, kBackend or kListen
  std::string name;
  model::SourceLoc loc;
  uint32_t id = 0;  // "id N" (HAProxy's proxy id); 0: finish() numbers the proxy
  ProxySettings settings;
  std::vector<model::Bind> binds;
  std::vector<model::Server> servers;
  // ACLs and "tcp-request connection" rules (frontend and listen sections only).
  std::vector<model::Acl> acls;
  std::vector<bool> aclPredefined;  // per ACL: a predefined one (TRUE, FALSE, LOCALHOST)
  std::vector<model::TcpRequestRule> tcpRequestConnection;
  // "bind" lines seen, valid or not: a frontend whose only bind line is wrong gets that
  // error alone, not also "has no bind line".
  int bindLines = 0;
  // Lines of keywords that only mean something for TCP (splicing, tcp-check, connect
  // timeouts...), as written in this section: errors if the section carries UDP.
  std::vector<std::pair<std::string, model::SourceLoc>> tcpOnly;

  bool hasFrontend() const { return kind != SectionKind::kBackend; }
  bool hasBackend() const { return kind != SectionKind::kFrontend; }
  // A "mode http" frontend or listen section with "stats enable": it becomes admin HTTP
  // listeners (the stats page), not a service.
  bool servesStats() const;
};

// One tokenized line.
struct Statement {
  std::vector<std::string> args;  // args[0] is the keyword
  model::SourceLoc loc;
  // The argument at i, or "" past the end (HAProxy's convention).
  std::string_view arg(size_t i) const {
    return i < args.size() ? std::string_view(args[i]) : std::string_view();
  }
};

class Parser;

// A keyword handler: applies the statement to the current section or explains why not.
// Warnings go through Parser::warn.
using KeywordHandler = Status (*)(Parser&, const Statement&);

struct Keyword {
  std::string_view name;
  SectionMask allowed;
  KeywordHandler handler;  // null: a keyword HAProxy has and Fulcrum does not support (yet)
  std::string_view note;   // replaces "is not supported yet" when handler is null
};

// The keyword tables (keywords_global.cc, keywords_proxy.cc); null for a name that is not
// in the table.
const Keyword* findGlobalKeyword(std::string_view name);
const Keyword* findProxyKeyword(std::string_view name);

class Parser {
 public:
  explicit Parser(EnvLookup env);

  // Parses one file's text; each file starts outside any section, as in HAProxy.
  void parse(std::string_view text, const std::string& file);
  // A diagnostic about a whole file (unreadable, ...).
  void fileError(const std::string& file, std::string message);
  // Closes the last section, resolves cross-references, checks, builds the model.
  LoadResult finish();

  // For keyword handlers.
  SectionKind sectionKind() const { return kind_; }
  ProxySettings& settings();  // of the current defaults or proxy section
  ProxySection& proxy();      // the current frontend, backend or listen section
  // The frontend, backend and listen sections so far, the current one last.
  const std::vector<ProxySection>& proxies() const { return proxies_; }
  model::Global& global() { return global_; }
  // "cpu-map" lines, checked against nbthread in finish().
  void addCpuMap(PendingCpuMap m) { cpuMaps_.push_back(std::move(m)); }
  void setNbthreadLoc(const model::SourceLoc& loc) { nbthreadLoc_ = loc; }
  void warn(const Statement& st, std::string message);
  // True the first time only: a family of keywords warned about once per load.
  bool firstOf(std::string_view family) {
    for (const std::string& f : warnedFamilies_)
      if (f == family) return false;
    warnedFamilies_.emplace_back(family);
    return true;
  }

 private:
  void statement(Statement st);
  void openSection(const Statement& st);
  void openProxy(const Statement& st, SectionKind kind);
  void openDefaults(const Statement& st);
  // Finds the settings a new defaults or proxy section starts from ("from NAME", the last
  // defaults section, or the built-in values); false (after an error) when NAME is unknown.
  bool inheritedSettings(const Statement& st, std::string_view fromName, ProxySettings& out);
  void dispatch(const Statement& st);
  // Bookkeeping done for every statement of a proxy section, even a rejected one.
  void noteKeyword(std::string_view keyword);

  void error(const model::SourceLoc& loc, std::string message);
  void warning(const model::SourceLoc& loc, std::string message);
  // "section 'backend NAME': " for the current section, "" outside sections.
  std::string sectionPrefix() const;

  // The checks of HAProxy's post-parsing pass (no bind, missing timeouts, ...).
  void checkProxies();
  // The errors of a proxy that carries UDP: TCP-only keywords, bind and server parameters.
  void checkUdpProxy(const ProxySection& px);
  // cpu-map lines against nbthread, into the model.
  void resolveCpuMaps(model::Global& global);
  // The proxy ids of proxies_, in order: "id N", or HAProxy's automatic numbering.
  std::vector<uint32_t> numberProxies() const;
  // The log lines of a proxy, with "log global" replaced by the global targets.
  std::vector<model::LogTarget> resolveLogs(const ProxySettings& s) const;

  EnvLookup env_;
  std::vector<Diagnostic> diagnostics_;
  bool failed_ = false;

  SectionKind kind_ = SectionKind::kNone;
  std::string sectionLabel_;  // "global", "defaults NAME", "backend NAME", ...
  int currentDefaults_ = -1;
  int currentProxy_ = -1;
  int lastDefaults_ = -1;  // what a proxy without "from" inherits

  model::Global global_;
  std::vector<PendingCpuMap> cpuMaps_;
  model::SourceLoc nbthreadLoc_;
  std::vector<std::string> warnedFamilies_;
  std::vector<DefaultsSection> defaults_;
  std::vector<ProxySection> proxies_;
};

}  // namespace fulcrum::config
