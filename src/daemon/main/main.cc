// fulcrum: the daemon's entry point. Wiring only: command line, config, Daemon.
//
//   fulcrum -f FILE [-f FILE ...] [-c] [-d] [-q]
//
// Flags follow haproxy's: -f adds a config file (or a directory of *.cfg files), -c
// checks the configuration and exits 0 when valid or 1 when not.
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "common/log.h"
#include "config/config.h"
#include "daemon/daemon.h"
#include "daemon/process.h"

namespace {

constexpr const char* kUsage =
    "Usage: fulcrum -f CONFIG [-f CONFIG ...] [-c] [-d] [-q] [-v] [-h]\n"
    "  -f PATH  configuration file, or a directory whose *.cfg files are read in order;\n"
    "           several -f are read in the order given, as one configuration\n"
    "  -c       check the configuration and exit: 0 when valid, 1 when not\n"
    "  -d       debug logging (per-connection events)\n"
    "  -q       quiet: only warnings and errors\n"
    "  -v       print the version and exit\n"
    "  -h       this help\n";

struct Options {
  std::vector<std::string> files;
  bool check = false;
  bool debug = false;
  bool quiet = false;
};

// Expands a directory argument into its *.cfg files, sorted by name (like haproxy).
bool addPath(const std::string& path, std::vector<std::string>& out) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    std::vector<std::string> found;
    for (const auto& e : std::filesystem::directory_iterator(path, ec))
      if (e.is_regular_file() && e.path().extension() == ".cfg") found.push_back(e.path());
    std::sort(found.begin(), found.end());
    out.insert(out.end(), found.begin(), found.end());
    return true;
  }
  out.push_back(path);
  return true;
}

int usageError(const char* msg) {
  std::fprintf(stderr, "fulcrum: %s\n%s", msg, kUsage);
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace fulcrum;
  Options opt;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-f") {
      if (i + 1 >= argc) return usageError("-f needs a file name");
      addPath(argv[++i], opt.files);
    } else if (a.rfind("-f", 0) == 0 && a.size() > 2) {
      addPath(a.substr(2), opt.files);
    } else if (a == "-c") {
      opt.check = true;
    } else if (a == "-d") {
      opt.debug = true;
    } else if (a == "-q") {
      opt.quiet = true;
    } else if (a == "-v" || a == "-vv" || a == "--version") {
      std::printf("fulcrum version 0.1.0\n");
      return 0;
    } else if (a == "-h" || a == "--help") {
      std::printf("%s", kUsage);
      return 0;
    } else {
      return usageError(("unknown option '" + a + "'").c_str());
    }
  }
  if (opt.files.empty()) return usageError("no configuration file (-f)");
  if (opt.debug) log::setLevel(log::Level::kDebug);
  if (opt.quiet) log::setLevel(log::Level::kWarning);

  config::LoadResult loaded = config::loadFiles(opt.files);
  for (const config::Diagnostic& d : loaded.diagnostics) {
    if (d.severity == config::Diagnostic::Severity::kError || !opt.quiet)
      std::fprintf(stderr, "%s\n", d.format().c_str());
  }
  if (!loaded.ok()) {
    std::fprintf(stderr, "fulcrum: configuration has errors; %s\n",
                 opt.check ? "fatal errors found" : "not starting");
    return 1;
  }
  if (opt.check) {
    std::printf("Configuration file is valid\n");
    return 0;
  }

  // Detached before anything starts a thread; the first process exits when this one has
  // started (0) or failed (1).
  if (auto st = daemon::daemonize(loaded.config->global); !st) {
    log::error("{}", st.error());
    return 1;
  }
  daemon::Daemon::blockSignals();
  daemon::Daemon d(std::move(loaded.config), opt.files);
  if (auto st = d.start(); !st) {
    log::error("{}", st.error());
    daemon::detachDone(false);
    return 1;
  }
  daemon::detachDone(true);
  return d.run();
}
