#include "daemon/notify.h"

#include <systemd/sd-daemon.h>
#include <time.h>

#include <cstdlib>
#include <string>

#include "common/log.h"

namespace fulcrum::daemon::notify {
namespace {

bool enabled() {
  const char* s = std::getenv("NOTIFY_SOCKET");
  return s != nullptr && *s != '\0';
}

void send(const std::string& state) {
  if (!enabled()) return;
  // unset_environment = 0: a later reload notifies through the same socket.
  if (int r = sd_notify(0, state.c_str()); r < 0)
    log::warning("sd_notify({}): error {}", state, -r);
}

}  // namespace

void ready() { send("READY=1\nSTATUS=running"); }

void reloading() {
  // systemd 253+ wants MONOTONIC_USEC with RELOADING=1 (Type=notify-reload); older ones
  // ignore it.
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  const long long usec = static_cast<long long>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
  send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
}

void stopping() { send("STOPPING=1"); }

}  // namespace fulcrum::daemon::notify
