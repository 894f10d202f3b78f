// The process settings of the global section, applied once at start: the open-file limit
// (ulimit-n), detaching (daemon), the pid file, and dropping privileges (user, group).
#pragma once

#include <string>
#include <vector>

#include "common/fd.h"
#include "common/result.h"
#include "config/config.h"
#include "model/model.h"

namespace fulcrum::daemon {

// "ulimit-n N": sets RLIMIT_NOFILE (soft and hard) to N. Without it, nothing changes here
// (effectiveMaxconn raises the soft limit to the hard one).
Status applyUlimitN(const model::Global& g);

// "daemon": forks into the background (fork, setsid, fork), stdin/stdout on /dev/null,
// stderr too once the start is over. The first process stays until the last one calls
// detachDone(true/false), and exits 0 when it started, 1 when not. No-op without "daemon" or when
// systemd's NOTIFY_SOCKET is set (systemd supervises the foreground process, HAProxy's -Ws). Must
// run before any thread starts.
Status daemonize(const model::Global& g);
void detachDone(bool started);

// "pidfile PATH": writes the pid (with a newline) and returns its directory, opened so that
// removePidfile can unlink it at exit even after a chroot. Empty path: nothing done.
Result<UniqueFd> writePidfile(const std::string& path);
void removePidfile(const UniqueFd& dir, const std::string& path);

// The capabilities a running Fulcrum keeps after dropping privileges: CAP_NET_BIND_SERVICE,
// so that a reload can bind ports below 1024. (CAP_NET_ADMIN and CAP_BPF will join them
// when a packet data plane is configured.)
uint64_t keptCapabilities();

// "user"/"uid", "group"/"gid": setgroups to the group alone, setgid, setuid, keeping
// keptCapabilities() in the effective, permitted and bounding sets and nothing else.
// Capabilities are per thread: call it before any thread starts. No-op when neither is set.
Status dropPrivileges(const model::Global& g);

// Opens now the directories holding the configuration files and returns an opener that
// reads the files through them (openat), so a reload after "chroot" still reads them.
Result<config::OpenFile> openConfigDirs(const std::vector<std::string>& files);

// The path of the server state file ("server-state-file", under "server-state-base" when
// relative); empty when not configured.
std::string serverStatePath(const model::Global& g);

// Opens the directory of a file now (O_PATH), for writes after a chroot or privilege drop.
UniqueFd openParentDir(const std::string& path);

// Replaces dir/name with text atomically (a temporary file, then rename).
Status writeFileAt(const UniqueFd& dir, const std::string& path, std::string_view text);

// "chroot DIR": chroot and chdir("/"). No-op when DIR is empty.
Status enterChroot(const std::string& dir);

}  // namespace fulcrum::daemon
