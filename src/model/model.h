// The model: services, pools and servers as plain data. Built by the config layer,
// read by the data planes through immutable snapshots (snapshot.h). Nothing here knows
// of sockets, event loops or BPF maps, so the proxy data plane, the UDP data plane and
// the XDP data plane all consume the same structures.
//
// Vocabulary: a Service is what HAProxy calls a frontend (or the front half of a
// listen section): where clients arrive. A Pool is a backend: a set of servers and the
// rule that picks one. A listen section makes one Service and one Pool.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/net.h"

namespace fulcrum::model {

// Where a config object came from, for messages.
struct SourceLoc {
  std::string file;
  int line = 0;
};

enum class Protocol : uint8_t { kTcp, kUdp };

// How a service's traffic is carried: terminated by the userspace proxy, or forwarded
// packet by packet by the XDP data plane (later roadmap item).
enum class Forwarding : uint8_t { kProxy, kPacket };

// How the packet data plane sends a flow's packets to a server (ipvsadm's -i, -g, -m;
// Katran's IPIP and GUE): IPIP/IP6IP6 or GUE encapsulation (direct server return), L2
// direct routing (the real's MAC), or NAT (the real's address and port; replies come
// back through the balancer).
enum class ForwardMode : uint8_t { kIpip, kGue, kDr, kNat };

enum class BalanceAlgo : uint8_t {
  kRoundRobin,  // smooth weighted round robin, dynamic weights
  kStaticRr,
  kLeastConn,
  kFirst,
  kSource,
  kRandom,
  kMaglev,
};

enum class HashType : uint8_t { kMapBased, kConsistent };

struct Balance {
  BalanceAlgo algo = BalanceAlgo::kRoundRobin;
  HashType hashType = HashType::kMapBased;
  uint32_t randomDraws = 2;  // random(N)
};

// A timeout; 0 means "none" (HAProxy's eternity).
using Timeout = Micros;

// Active health check parameters of a server ("check", "inter", ...; see src/health/).
struct CheckParams {
  bool enabled = false;
  Timeout inter = 2 * kSeconds;
  Timeout fastinter = 0;  // 0: same as inter
  Timeout downinter = 0;  // 0: same as inter
  uint32_t rise = 2;
  uint32_t fall = 3;
  uint16_t port = 0;  // 0: the server's port
  std::optional<SockAddr> addr;
};

// "agent-check": an auxiliary check that reads the server's own opinion of its state
// (HAProxy's agent protocol: up, down, drain, maint, ready, NN%).
struct AgentCheckParams {
  bool enabled = false;
  uint16_t port = 0;             // agent-port (required with agent-check)
  std::optional<SockAddr> addr;  // agent-addr; unset: the check address, else the server's
  Timeout inter = 2 * kSeconds;  // agent-inter
  std::string send;              // agent-send: sent verbatim once connected
};

// Passive health checking: "observe layer4", "error-limit", "on-error".
enum class Observe : uint8_t { kNone, kLayer4 };
enum class OnError : uint8_t { kFastinter, kFailCheck, kSuddenDeath, kMarkDown };

struct ObserveParams {
  Observe mode = Observe::kNone;
  uint32_t errorLimit = 10;  // consecutive failed connections that trigger onError
  OnError onError = OnError::kFailCheck;
};

// One step of a pool's "tcp-check" sequence ("option tcp-check"), as plain data.
struct TcpCheckRule {
  enum class Kind : uint8_t { kConnect, kSend, kExpect, kComment };
  enum class Match : uint8_t { kString, kRstring, kBinary, kRbinary };
  Kind kind = Kind::kConnect;
  uint16_t port = 0;  // connect: 0 = the check port
  // send / send-binary: the bytes to send (send-binary already decoded from hex).
  // expect string / binary: the bytes to find (binary decoded); rstring / rbinary: the
  // regex (rbinary matches the response written as upper-case hex).
  std::string data;
  Match match = Match::kString;
  bool negate = false;  // "expect !...": the rule passes when the pattern is absent
  std::string comment;  // reported when this rule fails ("tcp-check comment", "comment X")
  SourceLoc loc;
};

// A UDP pool's active health check ("option udp-check", "option dns-check";
// src/health/udp_check.h): one datagram sent on a socket connected to the server, and
//   - kDatagram with `expect`: a reply matching it must come in time;
//   - kDatagram without `expect`: only an ICMP error (port or host unreachable) in time
//     fails the check (for servers that never answer, such as syslog collectors);
//   - kDns: a DNS query for `dnsName` (type SOA); a reply with the query's id and rcode
//     NOERROR or NXDOMAIN passes.
// An ICMP error fails one check: the server goes DOWN after `fall` failed checks in a row.
struct UdpCheckParams {
  enum class Kind : uint8_t { kNone, kDatagram, kDns };
  Kind kind = Kind::kNone;
  std::string send;                    // "udp-check send|send-binary": the datagram (may be empty)
  std::optional<TcpCheckRule> expect;  // "udp-check expect ..."
  std::string dnsName = ".";           // "option dns-check [NAME]"
};

enum class ProxyProtocol : uint8_t { kNone, kV1, kV2 };

// A three-state setting: unset, or explicitly on or off ("option X" / "no option X").
enum class Tristate : uint8_t { kUnset, kOn, kOff };

struct Server {
  std::string name;
  uint32_t id = 0;     // HAProxy's "id": unique in the pool; set by the parser when absent
  bool idSet = false;  // the id was written ("id N"), not given by the parser
  // Process-wide real index, for the data planes' arrays and maps: set by the control plane
  // (control/builder.h, RealIndex), kept while the server exists.
  uint32_t real = 0;
  std::string addrText;  // as written, for messages and the runtime API
  SockAddr addr;
  uint32_t weight = 1;    // 0..256, as in HAProxy
  uint32_t maxconn = 0;   // 0: unlimited; beyond it, clients queue (maxqueue)
  uint32_t maxqueue = 0;  // 0: unlimited queue (bounded by timeout queue)
  bool backup = false;
  bool disabled = false;
  // Added at run time ("add server"), as HAProxy's dynamic servers: it starts in
  // maintenance with its health checks and agent stopped, until enabled.
  bool dynamic = false;
  ProxyProtocol sendProxy = ProxyProtocol::kNone;  // send-proxy / send-proxy-v2
  std::optional<ForwardMode> forward;  // "forward": the packet data plane's mode; unset: the pool's
  std::optional<SockAddr> source;      // "source ADDR[:PORT]" for connections
  Timeout slowstart = 0;               // weight ramp after recovery (health)
  CheckParams check;
  AgentCheckParams agent;
  ObserveParams observe;
  bool shutdownOnDown = false;       // on-marked-down shutdown-sessions
  bool shutdownBackupsOnUp = false;  // on-marked-up shutdown-backup-sessions
  SourceLoc loc;
};

// HAProxy's splice options; see docs/configuration.md for Fulcrum's default.
struct SpliceOptions {
  Tristate autoMode = Tristate::kUnset;  // option splice-auto / no option splice-auto
  bool request = false;                  // option splice-request: always, client to server
  bool response = false;                 // option splice-response: always, server to client
};

// "load-server-state-from-file": where a backend's servers take their state at start.
enum class LoadServerState : uint8_t { kNone, kGlobal, kLocal };

struct Pool {
  std::string name;
  uint32_t id = 0;  // unique among services and pools (HAProxy's proxy id)
  Protocol protocol = Protocol::kTcp;
  Balance balance;
  ForwardMode forward = ForwardMode::kIpip;  // "forward": the packet data plane's mode
  std::vector<Server> servers;
  Timeout connectTimeout = 0;
  Timeout serverTimeout = 0;
  Timeout serverFinTimeout = 0;  // timeout server-fin: server side half-closed
  Timeout tunnelTimeout = 0;     // timeout tunnel: replaces client/server once relaying
  Timeout queueTimeout = 0;      // timeout queue: 0 means timeout connect, as in HAProxy
  uint32_t retries = 3;          // connection attempts after the first one
  // option redispatch [INTERVAL]: which retries go to another server than the one that
  // failed. P > 0: every Pth retry; -N: the Nth retry before the last (-1: the last, the
  // interval of a bare "option redispatch"); 0: none ("no option redispatch"). Fulcrum's
  // default when the option is absent is 1: every retry moves on (HAProxy's: 0).
  int redispatchInterval = 1;
  bool allBackups = false;    // option allbackups
  bool tcpKeepalive = false;  // option tcpka / srvtcpka
  bool noLinger = false;      // option nolinger: reset server connections on close
  SpliceOptions splice;
  // Health checks: "timeout check" (0: inter bounds the whole check), and the
  // "option tcp-check" sequence (tcpCheck false: a plain TCP connect check).
  Timeout checkTimeout = 0;
  bool tcpCheck = false;
  std::vector<TcpCheckRule> tcpCheckRules;
  UdpCheckParams udpCheck;  // UDP pools
  // "load-server-state-from-file" and "server-state-file-name" (empty: the backend's name).
  LoadServerState loadServerState = LoadServerState::kNone;
  std::string serverStateFileName;
  SourceLoc loc;
};

struct Bind {
  std::string text;  // the address as written
  SockAddr addr;
  bool acceptProxy = false;            // accept-proxy: a PROXY v1/v2 header is required
  Tristate v6only = Tristate::kUnset;  // v6only (on) / v4v6 (off) for IPv6 addresses
  uint32_t backlog = 0;                // 0: the frontend's maxconn, or SOMAXCONN
  uint32_t maxconn = 0;                // 0: unlimited (per listener)
  bool deferAccept = false;            // TCP_DEFER_ACCEPT
  bool tfo = false;                    // TCP fast open
  std::string interface;               // SO_BINDTODEVICE
  std::string name;                    // "name": the listener's label (shown nowhere yet)
  bool dgram = false;                  // written as "dgram-bind" (a UDP section's bind)
  SourceLoc loc;
};

// An IPv4 or IPv6 prefix; IPv4 is stored as an IPv4-mapped IPv6 address, prefix + 96.
struct Cidr {
  uint8_t addr[16] = {};
  uint8_t prefix = 0;  // 0..128, in the IPv6 space
};

// "acl NAME src CIDR ...": true when the client's address is in one of the prefixes.
struct Acl {
  std::string name;
  std::vector<Cidr> sources;
  SourceLoc loc;
};

// A condition: an OR of AND-groups of ACL terms ("a !b || c"). Empty: always true.
struct AclTerm {
  int acl = -1;  // index into Service::acls
  bool negate = false;
};
struct Condition {
  std::vector<std::vector<AclTerm>> anyOf;
  bool unless = false;  // "unless": the whole condition is negated
};

// "tcp-request connection accept|reject [if|unless COND]", evaluated in order at accept.
struct TcpRequestRule {
  enum class Action : uint8_t { kAccept, kReject };
  Action action = Action::kAccept;
  Condition condition;
  SourceLoc loc;
};

// A log destination (HAProxy "log" lines).
struct LogTarget {
  enum class Kind : uint8_t { kStdout, kStderr, kFile, kSyslogUnix, kSyslogUdp };
  Kind kind = Kind::kStderr;
  std::string path;  // kFile, kSyslogUnix
  SockAddr addr;     // kSyslogUdp
  std::string facility = "local0";
  // Syslog severities, 0 (emerg) to 7 (debug). Connection logs are "info" (6): a target
  // whose level is under it gets none; minLevel caps the severity sent (HAProxy's).
  uint8_t level = 7;
  uint8_t minLevel = 0;
  SourceLoc loc;
};

struct Service {
  std::string name;
  uint32_t id = 0;  // unique among services and pools (HAProxy's proxy id)
  Protocol protocol = Protocol::kTcp;
  Forwarding forwarding = Forwarding::kProxy;
  std::vector<Bind> binds;
  int defaultPool = -1;            // index into Config::pools; -1: none (connections are closed)
  uint32_t maxconn = 0;            // 0: unlimited (bounded by the global maxconn)
  uint32_t rateLimitSessions = 0;  // rate-limit sessions: new sessions per second, 0: none
  Timeout clientTimeout = 0;
  Timeout clientFinTimeout = 0;  // timeout client-fin: client side half-closed
  std::vector<Acl> acls;
  std::vector<TcpRequestRule> tcpRequestConnection;
  bool tcpKeepalive = false;  // option tcpka / clitcpka
  bool noLinger = false;      // option nolinger: reset client connections on close
  SpliceOptions splice;
  bool tcplog = false;          // option tcplog: one line per connection
  bool dontlognull = false;     // option dontlognull: no line for connections without data
  std::vector<LogTarget> logs;  // "log global" copies the global targets here
  // UDP services (protocol kUdp; src/proxy/udp.h): a flow ends after proxyRequests
  // datagrams from its client (0: unlimited), once proxyResponses replies per request have
  // come back (-1: unlimited; 0: none expected), or when idle for the client timeout (or the
  // server timeout while replies are due). Datagrams longer than payloadSize are dropped.
  uint32_t proxyRequests = 0;
  int64_t proxyResponses = -1;
  uint32_t payloadSize = 1472;
  SourceLoc loc;
};

// "cpu-map [auto:]THREADS CPUS": threads numbered from 1.
struct CpuMap {
  bool autoSpread = false;  // auto: thread i of the range takes the i-th CPU of the set
  uint32_t firstThread = 1;
  uint32_t lastThread = 1;
  std::vector<uint32_t> cpus;
  SourceLoc loc;
};

// "stats socket PATH [mode OCTAL] [level user|operator|admin]": a runtime API socket.
enum class ApiLevel : uint8_t { kUser, kOperator, kAdmin };
struct StatsSocket {
  std::string path;
  uint32_t mode = 0;  // 0: 0600, the owner alone
  ApiLevel level = ApiLevel::kAdmin;
  SourceLoc loc;
};

// "stats bind ADDR:PORT" (a Fulcrum keyword): the admin HTTP listener (metrics, stats page).
// A "listen" section in "mode http" with "stats enable" makes one per bind address, with
// its stats settings.
struct StatsHttpBind {
  std::string text;
  SockAddr addr;
  SourceLoc loc;
  std::string statsUri;                // empty: the stats page at / and /stats
  uint32_t refreshSeconds = 0;         // 0: the page's default
  std::vector<std::string> basicAuth;  // "USER:PASSWORD"; empty: no authentication
  std::string realm;                   // of the WWW-Authenticate header
  bool hideVersion = false;            // the page and stats.json show no version
  std::string proxyName;               // the listen section, for messages; empty: "stats bind"

  // The same listener, serving the same way (a reload keeps it).
  bool sameAs(const StatsHttpBind& o) const {
    return text == o.text && statsUri == o.statsUri && refreshSeconds == o.refreshSeconds &&
           basicAuth == o.basicAuth && realm == o.realm && hideVersion == o.hideVersion;
  }
};

// The packet data plane's global settings ("xdp-*" keywords; docs/configuration.md).
// Interfaces and map sizes hold for the process's life (a reload keeps them and says
// so); the rest applies at each change.
struct XdpInterface {
  std::string name;
  bool generic = false;  // "generic": SKB mode (any driver, slower); default native
  SourceLoc loc;
};
struct XdpSettings {
  std::vector<XdpInterface> interfaces;           // "xdp-interface IFNAME [native|generic]"
  std::optional<std::array<uint8_t, 6>> nextHop;  // "xdp-next-hop MAC": else each real's MAC
  // "xdp-tunnel-source": outer source addresses of IPIP/GUE; unset: the first address of
  // the first xdp interface.
  std::optional<std::array<uint8_t, 4>> tunnelV4;
  uint32_t tunnelV4Count = 1;  // 2^(32 - prefix length) addresses from tunnelV4
  std::optional<std::array<uint8_t, 16>> tunnelV6;
  uint16_t guePort = 6080;              // "xdp-gue-port": the reals' GUE port
  uint32_t connTable = 262144;          // "xdp-conn-table": connection table entries
  uint32_t maxServices = 16;            // "xdp-max-services": packet services (rings)
  uint32_t maxReals = 1024;             // "xdp-max-reals": real indices
  uint64_t newFlowRate = 0;             // "xdp-new-flow-rate": flows stored per CPU per second
  Timeout udpTimeout = 300 * kSeconds;  // "xdp-udp-timeout": idle UDP flow entries
  // "xdp-pin-path": maps and links pinned there; a starting process adopts them, a crash
  // leaves forwarding running; empty: nothing pinned (the program leaves with the process).
  std::string pinPath;
  Timeout stopGrace = 0;  // "xdp-stop-grace": forwarding kept this long after a graceful stop
};

struct Global {
  uint32_t nbthread = 0;      // 0: one per CPU
  uint32_t maxconn = 0;       // 0: derived from the open-file limit at start
  bool nosplice = false;      // nosplice: never use splice()
  uint32_t maxpipes = 0;      // 0: maxconn / 4, as in HAProxy
  uint32_t spreadChecks = 0;  // spread-checks: +/- this percentage of random check jitter
  std::vector<CpuMap> cpuMaps;
  std::vector<LogTarget> logs;
  std::vector<StatsSocket> statsSockets;
  std::vector<StatsHttpBind> statsHttp;
  Timeout statsTimeout = 10 * kSeconds;  // "stats timeout": idle runtime API clients
  uint32_t statsMaxconn = 10;            // "stats maxconn": runtime API clients at once
  Timeout hardStopAfter = 0;             // "hard-stop-after": 0 = wait for every connection
  // Process settings, applied once at start (a reload keeps the running ones).
  int64_t uid = -1;                // "user NAME" / "uid N": -1 keeps the starting user
  int64_t gid = -1;                // "group NAME" / "gid N": -1 keeps the starting group
  std::string chroot;              // "chroot DIR": entered after setup
  bool daemon = false;             // "daemon": detach (ignored under systemd's NOTIFY_SOCKET)
  std::string pidfile;             // "pidfile PATH": written after start, removed at exit
  uint32_t ulimitN = 0;            // "ulimit-n N": RLIMIT_NOFILE; 0 raises soft to hard
  uint32_t maxconnrate = 0;        // "maxconnrate N": accepts per second, process-wide; 0: none
  uint32_t maxsessrate = 0;        // "maxsessrate N": sessions per second, process-wide; 0: none
  std::string logTag = "fulcrum";  // "log-tag": the syslog tag (program name) of the logs
  std::string serverStateBase;     // "server-state-base": directory of a relative state file
  std::string serverStateFile;     // "server-state-file": written at stop and after reloads
  XdpSettings xdp;
};

struct Config {
  Global global;
  std::vector<Service> services;
  std::vector<Pool> pools;

  // Lookup by name; -1 when absent.
  int findPool(std::string_view name) const;
  int findService(std::string_view name) const;
};

const char* toString(BalanceAlgo a);
const char* toString(ForwardMode m);

}  // namespace fulcrum::model
