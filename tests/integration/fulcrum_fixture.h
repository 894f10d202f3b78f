// Starts the real fulcrum binary on a generated config and waits until it listens.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>

#include <memory>
#include <string>

#include "support/harness.h"

namespace fulcrum::test {

inline const char* fulcrumBin() { return FULCRUM_BIN; }

class FulcrumProcess {
 public:
  // Writes the config to a temp file and starts `fulcrum -f FILE`; waits until `probe`
  // accepts connections. Extra args (e.g. "-d") go before -f.
  FulcrumProcess(const std::string& config, const SockAddr& probe,
                 std::vector<std::string> extraArgs = {}, int nofile = 0) {
    cfgPath_ = dir_.write("fulcrum.cfg", config);
    std::vector<std::string> argv = {fulcrumBin()};
    argv.insert(argv.end(), extraArgs.begin(), extraArgs.end());
    argv.push_back("-f");
    argv.push_back(cfgPath_);
    proc_.setNofile(nofile);
    proc_.start(argv, dir_.path());
    // Both: the port answers, and it is this process that answers (a port reserved by one
    // test process can, in rare cases, be listened on by another one running alongside).
    ready_ = waitForListening(probe, 10s) && proc_.waitForErr("fulcrum started", 10s);
  }
  ~FulcrumProcess() {
    if (proc_.running()) {
      proc_.signal(SIGINT);  // at once (SIGTERM would wait for the connections to end)
      if (proc_.wait(10s) < 0) proc_.signal(SIGKILL);
    }
  }
  bool ready() const { return ready_; }
  Process& proc() { return proc_; }
  std::string logs() const { return proc_.err(); }
  std::string out() const { return proc_.out(); }
  const std::string& dir() const { return dir_.path(); }
  const std::string& configPath() const { return cfgPath_; }
  // Replaces the config file atomically (a reload must never read half a file).
  bool rewriteConfig(const std::string& config) const {
    return writeFileAtomically(cfgPath_, config);
  }

 private:
  TempDir dir_;
  std::string cfgPath_;
  Process proc_;
  bool ready_ = false;
};

}  // namespace fulcrum::test
