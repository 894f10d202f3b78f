// fulcrumctl's commands: each builds runtime API lines, sends them and renders the
// answer. They return the process exit code (see kExit*).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "client.h"
#include "parse.h"

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
// Which real gets the flow CLIENT -> VIP (packet services; "show xdp flow").
int cmdWhich(const Context& ctx, const std::string& vip, const std::string& client,
             bool udp = false);
int cmdWatch(const Context& ctx, double intervalSeconds, int count);

// A command whose success is an empty answer (or one of HAProxy's success messages,
// such as "New server registered."). Prints the server's error on stderr.
int cmdAction(const Context& ctx, const std::string& line);
// Several actions in order, stopping at the first failure.
int cmdActions(const Context& ctx, const std::vector<std::string>& lines);

// ipvsadm verbs (IpvsArgs: parse.h).
int cmdIpvs(const Context& ctx, const IpvsArgs& args);

// "BE/SRV" with both parts present and one slash.
bool validServerRef(const std::string& ref);

}  // namespace fulcrumctl
