// The XDP program in the kernel: loaded with map sizes from the configuration, attached to
// the configured interfaces, detached when this object goes. Errors say why and what to
// do (no CAP_BPF, an interface missing, a driver without native XDP, the verifier).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "model/model.h"
#include "xdp/tables.h"

struct fulcrum_balancer;

namespace fulcrum::xdp {

class Program {
 public:
  // Loads the program (not attached yet). ringSize: the Maglev table size.
  static Result<std::unique_ptr<Program>> load(const model::XdpSettings& settings,
                                               uint32_t ringSize);
  ~Program();
  Program(const Program&) = delete;
  Program& operator=(const Program&) = delete;

  // Attaches to every interface (native unless "generic") through BPF links; on failure
  // nothing stays attached.
  Status attach(const std::vector<model::XdpInterface>& interfaces);
  // Detaches (closes the links; the process's exit does the same).
  void detach();

  const Limits& limits() const { return limits_; }
  const std::vector<std::string>& interfaces() const { return attachedNames_; }

  // Map file descriptors.
  int vips() const;
  int reals() const;
  int rings() const;
  int settings() const;
  int stats() const;
  int vipStats() const;
  int realStats() const;
  int conns() const;
  int rr() const;
  int programFd() const;

 private:
  Program() = default;
  fulcrum_balancer* skel_ = nullptr;
  Limits limits_;
  std::vector<int> links_;  // BPF link descriptors, one per interface
  std::vector<std::string> attachedNames_;
};

}  // namespace fulcrum::xdp
