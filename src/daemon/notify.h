#pragma once

// systemd's readiness protocol (sd_notify(3)) for Type=notify units: READY=1 once the
// listeners are up, RELOADING=1 then READY=1 around a reload, STOPPING=1 at a graceful
// stop. Each call does nothing unless NOTIFY_SOCKET is set (started by systemd).

namespace fulcrum::daemon::notify {

void ready();
void reloading();
void stopping();

}  // namespace fulcrum::daemon::notify
