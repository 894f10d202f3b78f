// fulcrumctl: the operator's command-line tool for a running Fulcrum, over the runtime
// API socket ("stats socket" in the global section). Readable views (info, stat, servers,
// sessions, watch), server actions (state, weight, addr, enable/disable, health, agent,
// maxconn, add, del, shutdown), reload, raw runtime API lines, and ipvsadm's verbs
// (-L, -a, -d, -e). Exit codes: 0 ok, 1 refused by the server, 2 usage, 3 no connection.
#include <fmt/core.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "commands.h"
#include "parse.h"

namespace fulcrumctl {
namespace {

int usage(const std::string& msg) {
  fmt::print(stderr, "fulcrumctl: {}\n", msg);
  return kExitUsage;
}

std::string join(const std::vector<std::string>& words) {
  std::string s;
  for (const auto& w : words) {
    if (!s.empty()) s += ' ';
    s += w;
  }
  return s;
}

bool isUint(const std::string& s) { return parseUint(s).has_value(); }

int run(int argc, char** argv) {
  CLI::App app{
      "fulcrumctl: drive and watch a running Fulcrum through its runtime API socket.\n"
      "Exit codes: 0 ok, 1 the server refused or reported an error, 2 usage error,\n"
      "3 cannot connect or timed out."};
  app.set_version_flag("--version", "fulcrumctl 0.1.0");
  app.require_subcommand(0, 1);
  app.fallthrough();

  Context ctx;
  ctx.ep.path = "/run/fulcrum/admin.sock";
  double timeoutSec = 5;
  bool noColour = false;
  app.add_option("--socket", ctx.ep.path, "runtime API socket (stats socket)")
      ->envname("FULCRUM_SOCKET")
      ->capture_default_str();
  app.add_option("--timeout", timeoutSec, "seconds for the whole exchange")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_flag("--json", ctx.json, "JSON output (info, stat, servers, sessions)");
  app.add_flag("--no-color", noColour, "no colours even on a terminal");

  // ipvsadm verbs.
  IpvsArgs ipvs;
  bool fwdRoute = false, fwdTunnel = false, fwdMasq = false;
  auto* gi = "ipvsadm verbs";
  app.add_flag("-A,--add-service", ipvs.addService, "add packet service -t VIP:PORT (-s)")
      ->group(gi);
  app.add_flag("-E,--edit-service", ipvs.editService, "change service -t's scheduler (-s)")
      ->group(gi);
  app.add_flag("-D,--delete-service", ipvs.delService, "delete service -t and its real servers")
      ->group(gi);
  app.add_flag("-C,--clear", ipvs.clear, "delete every service added with -A")->group(gi);
  app.add_flag("-S,--save", ipvs.save, "print the services added with -A as ipvsadm lines")
      ->group(gi);
  app.add_flag("-R,--restore", ipvs.restore, "apply ipvsadm lines (what -S prints) from stdin")
      ->group(gi);
  app.add_option("-s,--scheduler", ipvs.scheduler, "rr, wrr, sh or mh (Maglev, the default)")
      ->group(gi);
  app.add_flag("-p,--persistent", ipvs.persistent, "client persistence (not supported yet)")
      ->group(gi);
  app.add_flag("-L,-l,--list", ipvs.list, "list services and real servers (ipvsadm -L)")->group(gi);
  app.add_flag("-a,--add-server", ipvs.add, "add real server -r to service -t")->group(gi);
  app.add_flag("-d,--delete-server", ipvs.del, "delete real server -r from service -t")->group(gi);
  app.add_flag("-e,--edit-server", ipvs.edit, "edit real server -r of service -t (-w)")->group(gi);
  auto* tcpOpt = app.add_option("-t,--tcp-service", ipvs.service, "VIP:PORT or BACKEND")->group(gi);
  std::string udpService;
  app.add_option("-u,--udp-service", udpService, "a UDP service: VIP:PORT or BACKEND")
      ->group(gi)
      ->excludes(tcpOpt);
  app.add_option("-r,--real-server", ipvs.real, "RIP:PORT")->group(gi);
  app.add_option("-w,--weight", ipvs.weight, "weight 0..256")->group(gi);
  app.add_flag("-n,--numeric", ipvs.numeric, "numeric output (always)")->group(gi);
  app.add_flag("--stats", ipvs.stats, "with -L: connections and bytes")->group(gi);
  app.add_flag("-m,--masquerading", fwdMasq, "NAT (packet services); proxied backends relay")
      ->group(gi);
  app.add_flag("-g,--gatewaying", fwdRoute, "direct routing (packet services; the default)")
      ->group(gi);
  app.add_flag("-i,--ipip", fwdTunnel, "IPIP tunnelling (packet services)")->group(gi);

  std::function<int()> action;
  auto sub = [&](const char* name, const char* help) {
    CLI::App* s = app.add_subcommand(name, help);
    s->fallthrough();
    return s;
  };

  sub("info", "process information (show info)")->callback([&] {
    action = [&] { return cmdInfo(ctx); };
  });
  for (const char* name : {"stat", "list"})
    sub(name, "frontends, and a table per backend (show stat)")->callback([&] {
      action = [&] { return cmdStat(ctx); };
    });

  std::string backend;
  auto* servers = sub("servers", "server states (show servers state [BACKEND])");
  servers->add_option("backend", backend, "only this backend");
  servers->callback([&] { action = [&] { return cmdServers(ctx, backend); }; });

  std::string sessFilter;
  auto* sessions = sub("sessions", "connections in progress (show sess)");
  sessions->add_option("filter", sessFilter, "FRONTEND, BACKEND or BACKEND/SERVER");
  sessions->callback([&] { action = [&] { return cmdSessions(ctx, sessFilter); }; });

  std::string ref, value, port;
  auto serverRef = [&](CLI::App* s) { s->add_option("server", ref, "BACKEND/SERVER")->required(); };

  auto* state = sub("state", "set a server's admin state: ready, drain or maint");
  serverRef(state);
  state->add_option("state", value)->required()->check(CLI::IsMember({"ready", "drain", "maint"}));
  state->callback([&] {
    action = [&] { return cmdAction(ctx, fmt::format("set server {} state {}", ref, value)); };
  });

  auto* weight = sub("weight", "set a server's weight: N (0-256) or N% of its initial weight");
  serverRef(weight);
  weight->add_option("weight", value)->required();
  weight->callback([&] {
    action = [&] {
      std::string n = value;
      if (!n.empty() && n.back() == '%') n.pop_back();
      if (!isUint(n)) return usage(fmt::format("weight wants N or N%, not '{}'", value));
      return cmdAction(ctx, fmt::format("set server {} weight {}", ref, value));
    };
  });

  auto* addr = sub("addr", "change a server's address (and port)");
  serverRef(addr);
  addr->add_option("ip", value)->required();
  addr->add_option("port", port);
  addr->callback([&] {
    action = [&] {
      if (!port.empty() && !isUint(port)) return usage(fmt::format("bad port '{}'", port));
      std::string line = fmt::format("set server {} addr {}", ref, value);
      if (!port.empty()) line += " port " + port;
      return cmdAction(ctx, line);
    };
  });

  for (const char* verb : {"enable", "disable"}) {
    auto* s = sub(
        verb, verb[0] == 'e' ? "take a server out of maintenance" : "put a server in maintenance");
    serverRef(s);
    std::string v = verb;
    s->callback([&, v] {
      action = [&, v] { return cmdAction(ctx, fmt::format("{} server {}", v, ref)); };
    });
  }

  for (const char* what : {"health", "agent"}) {
    auto* s = sub(what, what[0] == 'h' ? "turn a server's health checks on or off"
                                       : "turn a server's agent checks on or off");
    serverRef(s);
    s->add_option("on|off", value)->required()->check(CLI::IsMember({"on", "off"}));
    std::string w = what;
    s->callback([&, w] {
      action = [&, w] {
        return cmdAction(ctx,
                         fmt::format("{} {} {}", value == "on" ? "enable" : "disable", w, ref));
      };
    });
  }

  std::vector<std::string> words;
  auto* maxconn = sub("maxconn", "set maxconn: server BE/SRV N | frontend FE N | global N");
  maxconn->add_option("args", words)->required();
  maxconn->callback([&] {
    action = [&]() -> int {
      if (words.size() == 3 && (words[0] == "server" || words[0] == "frontend") &&
          isUint(words[2])) {
        if (words[0] == "server" && !validServerRef(words[1]))
          return usage(fmt::format("'{}' is not BACKEND/SERVER", words[1]));
        return cmdAction(ctx, fmt::format("set maxconn {} {} {}", words[0], words[1], words[2]));
      }
      if (words.size() == 2 && words[0] == "global" && isUint(words[1]))
        return cmdAction(ctx, "set maxconn global " + words[1]);
      return usage("maxconn wants: server BE/SRV N | frontend FE N | global N");
    };
  });

  bool enableAfterAdd = false;
  auto* add = sub("add", "add a server: add BE/SRV ADDR[:PORT] [params...]");
  serverRef(add);
  add->add_option("addr", value)->required();
  add->add_option("params", words, "server keywords, e.g. weight 10 check");
  add->add_flag("--enable", enableAfterAdd, "then take it out of maintenance");
  add->callback([&] {
    action = [&] {
      std::string line = fmt::format("add server {} {}", ref, value);
      if (!words.empty()) line += " " + join(words);
      std::vector<std::string> lines{line};
      if (enableAfterAdd) lines.push_back("enable server " + ref);
      return cmdActions(ctx, lines);
    };
  });

  auto* del = sub("del", "delete a server (it must be in maintenance with no connection)");
  serverRef(del);
  del->callback([&] { action = [&] { return cmdAction(ctx, "del server " + ref); }; });

  auto* shut = sub("shutdown", "close every connection of a server");
  serverRef(shut);
  shut->callback(
      [&] { action = [&] { return cmdAction(ctx, "shutdown sessions server " + ref); }; });

  std::string whichVip, whichClient;
  auto* which =
      sub("which", "which real gets a flow: which VIP:PORT CLIENT:PORT (packet services)");
  which->add_option("vip", whichVip)->required();
  which->add_option("client", whichClient)->required();
  bool whichUdp = false;
  which->add_flag("-u,--udp", whichUdp, "a UDP flow (default: TCP)");
  which->callback([&] { action = [&] { return cmdWhich(ctx, whichVip, whichClient, whichUdp); }; });

  sub("reload", "reload the configuration; prints its messages")->callback([&] {
    action = [&] { return cmdReload(ctx); };
  });

  std::vector<std::string> rawWords;
  auto* raw = sub("raw", "send one runtime API line and print the answer as it is");
  raw->add_option("line", rawWords)->required();
  raw->callback([&] { action = [&] { return cmdRaw(ctx, join(rawWords)); }; });

  double interval = 1;
  int count = 0;
  auto* watch = sub("watch", "live per-server rates and states");
  watch->add_option("--interval", interval, "seconds between frames")
      ->check(CLI::Range(0.1, 3600.0))
      ->capture_default_str();
  watch->add_option("--count", count, "stop after N frames (0: never)")
      ->check(CLI::NonNegativeNumber);
  watch->callback([&] { action = [&] { return cmdWatch(ctx, interval, count); }; });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitUsage;
  }

  ctx.ep.timeout = std::chrono::milliseconds(static_cast<long>(timeoutSec * 1000));
  ctx.terminal = ::isatty(STDOUT_FILENO) == 1;
  ctx.colour = ctx.terminal && std::getenv("NO_COLOR") == nullptr && !noColour && !ctx.json;

  bool ipvsVerb = ipvs.list || ipvs.add || ipvs.del || ipvs.edit || ipvs.addService ||
                  ipvs.editService || ipvs.delService || ipvs.clear || ipvs.save || ipvs.restore;
  if (!ipvs.scheduler.empty() && ipvs.scheduler.find('/') != std::string::npos)
    return usage(
        fmt::format("-s is the scheduler (rr, wrr, sh, mh), as in ipvsadm; the socket "
                    "is --socket {} (or FULCRUM_SOCKET)",
                    ipvs.scheduler));
  if (action && ipvsVerb)
    return usage(
        "ipvsadm verbs (-A, -E, -D, -C, -S, -R, -L, -a, -d, -e) do not mix with a subcommand");
  if (action) {
    if (ref.empty() || validServerRef(ref)) return action();
    return usage(fmt::format("'{}' is not BACKEND/SERVER", ref));
  }
  if (ipvsVerb) {
    if (fwdRoute + fwdTunnel + fwdMasq > 1) return usage("give one of -g, -i, -m");
    ipvs.forward = fwdRoute ? 'g' : fwdTunnel ? 'i' : fwdMasq ? 'm' : 0;
    if (!udpService.empty()) {
      ipvs.service = udpService;
      ipvs.udp = true;
    }
    return cmdIpvs(ctx, ipvs);
  }
  fmt::print(stderr, "{}", app.help());
  return kExitUsage;
}

}  // namespace
}  // namespace fulcrumctl

int main(int argc, char** argv) { return fulcrumctl::run(argc, argv); }
