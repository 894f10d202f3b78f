// The XDP program in the kernel: loaded with map sizes from the configuration, attached to
// the configured interfaces, detached when this object goes. Errors say why and what to
// do (no CAP_BPF, an interface missing, a driver without native XDP, the verifier).
//
// With a pin path ("xdp-pin-path"), the maps are pinned there (an existing pinned map of
// the same shape is reused: its connection table, rings and reals carry on) and each
// interface's BPF link too (an existing pinned link is updated to this program, in one
// step, so packets never meet an interface without it). The pins outlive the process: a
// crash leaves forwarding running, as IPVS does when keepalived dies, and the next start
// adopts them; remove() takes them away (a graceful stop).
#pragma once

#include <array>
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
  // nothing stays attached (that this call attached).
  Status attach(const std::vector<model::XdpInterface>& interfaces);
  // Detaches (closes the links; the process's exit does the same). Pinned links stay
  // attached.
  void detach();
  // Unpins the links (the program leaves the interfaces) and the maps, and removes the
  // pin directory.
  void remove();

  // The maps were pinned by an earlier process and reused (their contents carry on).
  bool adopted() const { return adopted_; }
  const std::string& pinPath() const { return pinPath_; }

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
  std::vector<int> links_;             // BPF link descriptors, one per interface
  std::vector<std::string> linkPins_;  // their pin paths (with a pin path)
  std::vector<std::string> attachedNames_;
  std::string pinPath_;
  bool adopted_ = false;
};

// The reals a previous process left in the pinned maps at `pinPath` (index, address as 16
// bytes, port in host order or 0), for the real indices of the next start to match them;
// empty when there is nothing pinned there.
struct AdoptedReal {
  uint32_t index = 0;
  std::array<uint8_t, 16> addr{};
  uint16_t port = 0;
};
std::vector<AdoptedReal> adoptedReals(const std::string& pinPath);

}  // namespace fulcrum::xdp
