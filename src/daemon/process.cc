#include "daemon/process.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <grp.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>

#include "common/fd.h"
#include "common/log.h"

namespace fulcrum::daemon {
namespace {

// The write end of the pipe on which the detached process tells the first one it started.
int detachPipe = -1;

Error sysError(std::string_view what) {
  return Error{fmt::format("{}: {}", what, strerror(errno))};
}

int lastCap() {
  int last = CAP_LAST_CAP;
  if (FILE* f = std::fopen("/proc/sys/kernel/cap_last_cap", "r")) {
    if (std::fscanf(f, "%d", &last) != 1) last = CAP_LAST_CAP;
    std::fclose(f);
  }
  return last;
}

// capset() with the same set as effective and permitted, none inheritable.
Status setCaps(uint64_t caps) {
  __user_cap_header_struct hdr{};
  hdr.version = _LINUX_CAPABILITY_VERSION_3;
  hdr.pid = 0;
  __user_cap_data_struct data[2]{};
  data[0].effective = data[0].permitted = static_cast<uint32_t>(caps);
  data[1].effective = data[1].permitted = static_cast<uint32_t>(caps >> 32);
  if (syscall(SYS_capset, &hdr, data) != 0) return sysError("capset");
  return Ok{};
}

}  // namespace

Status applyUlimitN(const model::Global& g) {
  if (g.ulimitN == 0) return Ok{};
  rlimit rl{g.ulimitN, g.ulimitN};
  if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
    rlimit cur{};
    getrlimit(RLIMIT_NOFILE, &cur);
    if (cur.rlim_max >= g.ulimitN) {  // not allowed to lower the hard limit? set the soft one
      cur.rlim_cur = g.ulimitN;
      if (setrlimit(RLIMIT_NOFILE, &cur) == 0) return Ok{};
    }
    return Error{fmt::format("ulimit-n {}: cannot set the open-file limit: {} (hard limit {})",
                             g.ulimitN, strerror(errno), cur.rlim_max)};
  }
  return Ok{};
}

Status daemonize(const model::Global& g) {
  if (!g.daemon) return Ok{};
  if (const char* s = getenv("NOTIFY_SOCKET"); s != nullptr && *s != '\0') {
    log::notice("'daemon' ignored: started by systemd (NOTIFY_SOCKET is set)");
    return Ok{};
  }
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return sysError("daemon: pipe");
  pid_t pid = fork();
  if (pid < 0) return sysError("daemon: fork");
  if (pid > 0) {  // the first process: waits for the word of the detached one
    close(fds[1]);
    char ok = 0;
    ssize_t n;
    do n = read(fds[0], &ok, 1);
    while (n < 0 && errno == EINTR);
    waitpid(pid, nullptr, 0);  // the intermediate process
    _exit(n == 1 && ok == 1 ? 0 : 1);
  }
  close(fds[0]);
  if (setsid() < 0) return sysError("daemon: setsid");
  pid = fork();
  if (pid < 0) return sysError("daemon: fork");
  if (pid > 0) _exit(0);
  detachPipe = fds[1];
  if (chdir("/") != 0) return sysError("daemon: chdir /");
  int null = open("/dev/null", O_RDWR);
  if (null < 0) return sysError("daemon: /dev/null");
  dup2(null, 0);
  dup2(null, 1);
  // stderr stays until the start is over, so that an error there is seen by whoever
  // started the command; detachDone(true) then closes it, as HAProxy does (log to syslog
  // or a file in daemon mode).
  if (null > 2) close(null);
  return Ok{};
}

void detachDone(bool started) {
  if (detachPipe < 0) return;
  if (started) {
    int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (null >= 0) {
      dup2(null, 2);
      close(null);
    }
  }
  char ok = started ? 1 : 0;
  ssize_t n = write(detachPipe, &ok, 1);
  (void)n;
  close(detachPipe);
  detachPipe = -1;
}

Result<UniqueFd> writePidfile(const std::string& path) {
  if (path.empty()) return UniqueFd{};
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return sysError(fmt::format("pidfile {}", path));
  std::string text = fmt::format("{}\n", getpid());
  ssize_t n = write(fd, text.data(), text.size());
  close(fd);
  if (n != static_cast<ssize_t>(text.size())) return sysError(fmt::format("pidfile {}", path));
  std::error_code ec;
  const std::string dir = std::filesystem::absolute(path, ec).parent_path().string();
  return UniqueFd(open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
}

void removePidfile(const UniqueFd& dir, const std::string& path) {
  if (path.empty() || !dir.valid()) return;
  // After dropping privileges the directory may not be writable: the file then stays,
  // as with HAProxy.
  const std::string name = std::filesystem::path(path).filename().string();
  if (unlinkat(dir.get(), name.c_str(), 0) != 0 && errno != ENOENT)
    log::debug("pidfile {} not removed: {}", path, strerror(errno));
}

uint64_t keptCapabilities() { return uint64_t{1} << CAP_NET_BIND_SERVICE; }

Status dropPrivileges(const model::Global& g) {
  if (g.uid < 0 && g.gid < 0) return Ok{};
  const uid_t uid = g.uid >= 0 ? static_cast<uid_t>(g.uid) : getuid();
  const gid_t gid = g.gid >= 0 ? static_cast<gid_t>(g.gid) : getgid();
  if (geteuid() != 0) {
    if (uid == geteuid() && gid == getegid()) return Ok{};
    return Error{
        fmt::format("'user'/'group' need the process to start as root (it runs as uid "
                    "{}); cannot switch to uid {} gid {}",
                    geteuid(), uid, gid)};
  }
  const uint64_t keep = keptCapabilities();
  // The bounding set first (dropping needs CAP_SETPCAP, still effective here): nothing
  // outside `keep` can come back, not even through an exec of a setuid binary.
  for (int cap = 0; cap <= lastCap(); ++cap) {
    if (cap < 64 && (keep & (uint64_t{1} << cap)) != 0) continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL)
      return sysError(fmt::format("dropping capability {} from the bounding set", cap));
  }
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) return sysError("prctl(PR_SET_KEEPCAPS)");
  if (setgroups(1, &gid) != 0) return sysError("setgroups");
  if (setgid(gid) != 0) return sysError(fmt::format("setgid({})", gid));
  if (uid != 0 && setuid(uid) != 0) return sysError(fmt::format("setuid({})", uid));
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) return sysError("prctl(PR_SET_KEEPCAPS)");
  // setuid() kept the permitted set (KEEPCAPS) and emptied the effective one.
  if (auto st = setCaps(keep); !st) return st;
  log::notice("running as uid {} gid {}, keeping CAP_NET_BIND_SERVICE", uid, gid);
  return Ok{};
}

Result<config::OpenFile> openConfigDirs(const std::vector<std::string>& files) {
  // The files by the path given on the command line, each with its directory's descriptor.
  struct Dirs {
    std::map<std::string, std::pair<int, std::string>> files;
    std::vector<UniqueFd> fds;
  };
  auto dirs = std::make_shared<Dirs>();
  std::map<std::string, int> byDir;
  for (const std::string& f : files) {
    std::error_code ec;
    const std::filesystem::path abs = std::filesystem::absolute(f, ec);
    if (ec) return Error{fmt::format("{}: {}", f, ec.message())};
    const std::string dir = abs.parent_path().string();
    auto it = byDir.find(dir);
    if (it == byDir.end()) {
      int fd = open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (fd < 0) return sysError(fmt::format("configuration directory {}", dir));
      dirs->fds.emplace_back(fd);
      it = byDir.emplace(dir, fd).first;
    }
    dirs->files[f] = {it->second, abs.filename().string()};
  }
  return config::OpenFile([dirs](const std::string& path) -> int {
    auto it = dirs->files.find(path);
    if (it == dirs->files.end()) {
      errno = ENOENT;
      return -1;
    }
    return openat(it->second.first, it->second.second.c_str(), O_RDONLY | O_CLOEXEC);
  });
}

std::string serverStatePath(const model::Global& g) {
  if (g.serverStateFile.empty()) return "";
  if (g.serverStateFile.starts_with("/") || g.serverStateBase.empty()) return g.serverStateFile;
  return (std::filesystem::path(g.serverStateBase) / g.serverStateFile).string();
}

UniqueFd openParentDir(const std::string& path) {
  std::error_code ec;
  const std::string dir = std::filesystem::absolute(path, ec).parent_path().string();
  return UniqueFd(open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
}

Status writeFileAt(const UniqueFd& dir, const std::string& path, std::string_view text) {
  if (!dir.valid()) return Error{fmt::format("{}: its directory could not be opened", path)};
  const std::string name = std::filesystem::path(path).filename().string();
  const std::string tmp = name + ".tmp";
  int fd = openat(dir.get(), tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return sysError(fmt::format("{}.tmp", path));
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      auto err = sysError(fmt::format("{}.tmp", path));
      close(fd);
      return err;
    }
    done += static_cast<size_t>(n);
  }
  close(fd);
  if (renameat(dir.get(), tmp.c_str(), dir.get(), name.c_str()) != 0) return sysError(path);
  return Ok{};
}

Status enterChroot(const std::string& dir) {
  if (dir.empty()) return Ok{};
  if (chroot(dir.c_str()) != 0) return sysError(fmt::format("chroot {}", dir));
  if (chdir("/") != 0) return sysError(fmt::format("chroot {}: chdir /", dir));
  log::notice("chrooted to {}", dir);
  return Ok{};
}

}  // namespace fulcrum::daemon
