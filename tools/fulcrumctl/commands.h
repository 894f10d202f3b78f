// fulcrumctl's commands: each builds runtime API lines, sends them and renders the
// answer. They return the process exit code (see kExit*).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "client.h"

namespace fulcrumctl {

// Exit codes (documented in docs/operations.md).
inline constexpr int kExitOk = 0;
inline constexpr int kExitRefused = 1;  // the server refused or reported an error
inline constexpr int kExitUsage = 2;    // bad command line, or a request that cannot map
inline constexpr int kExitConnect = 3;  // cannot connect, or timed out

struct Context {
  Endpoint ep;
  bool colour = false;  // ANSI colours (stdout is a terminal, NO_COLOR unset)
  bool json = false;
  bool terminal = false;  // stdout is a terminal (watch clears the screen)
};

int cmdInfo(const Context& ctx);
int cmdStat(const Context& ctx);
int cmdServers(const Context& ctx, const std::string& backend);
int cmdSessions(const Context& ctx, const std::string& filter);
int cmdRaw(const Context& ctx, const std::string& line);
int cmdReload(const Context& ctx);
int cmdWatch(const Context& ctx, double intervalSeconds, int count);

// A command whose success is an empty answer (or one of HAProxy's success messages,
// such as "New server registered."). Prints the server's error on stderr.
int cmdAction(const Context& ctx, const std::string& line);
// Several actions in order, stopping at the first failure.
int cmdActions(const Context& ctx, const std::vector<std::string>& lines);

// ipvsadm verbs.
struct IpvsArgs {
  bool list = false, add = false, del = false, edit = false;  // -L -a -d -e (real servers)
  bool addService = false, editService = false, delService = false, clear = false;  // -A -E -D -C
  bool save = false, restore = false;                                               // -S -R
  bool numeric = false, stats = false;
  std::string service;      // -t: VIP:PORT or a backend name
  std::string real;         // -r: RIP[:PORT]
  int weight = -1;          // -w
  std::string scheduler;    // -s: rr, wrr, sh, mh
  bool persistent = false;  // -p
  char forward = 0;         // -g, -i or -m; 0: none given
};
int cmdIpvs(const Context& ctx, const IpvsArgs& args);
// One line of what -S prints ("-A -t VIP:PORT -s rr", "-a -t VIP:PORT -r RIP:PORT -m -w 1")
// as IpvsArgs; nullopt (with the reason in *why) for anything else.
std::optional<IpvsArgs> parseIpvsLine(const std::string& line, std::string* why);

// "BE/SRV" with both parts present and one slash.
bool validServerRef(const std::string& ref);

}  // namespace fulcrumctl
