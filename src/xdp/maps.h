// MapWriter: brings the loaded program's maps from what they hold to what a publication
// needs (tables.h), without ever showing a half-written state to a packet: reals are
// written before the rings that name them; a ring that changes is written into the half
// of its double buffer that no VIP reads, then its VIPs flip to it, one map update each;
// VIPs and reals that went away are removed last. Map writes are synchronous.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "xdp/program.h"
#include "xdp/tables.h"

namespace fulcrum::xdp {

// Counters of the packet path, summed over CPUs.
struct PacketStats {
  fulcrum_global_stats global{};
  // By packet service name: its ring, and the ring's packets, bytes and new flows.
  struct Service {
    uint32_t ring = 0;
    fulcrum_vip_stats counters{};
  };
  std::map<std::string, Service> services;
  // By real index (those written): what it was sent, and its epoch, which changes each time
  // the index starts anew (given to a server after none or another one had it).
  struct Real {
    uint64_t epoch = 0;
    fulcrum_real_stats counters{};
  };
  std::map<uint32_t, Real> reals;
};

// The global counters with their names and meaning, in xdp_abi.h's order ("show xdp",
// the metrics).
struct NamedCounter {
  const char* name;
  uint64_t value;
  const char* help;
};
std::vector<NamedCounter> namedCounters(const fulcrum_global_stats& s);

class MapWriter {
 public:
  // With a program whose maps were adopted (Program::adopted), the first write starts
  // from what they hold: each ring is written into the half its VIPs do not read, and
  // VIPs and reals the new tables do not have are removed.
  explicit MapWriter(const Program& program);

  void write(const Tables& t);
  // What the maps hold (null before the first write).
  const Tables* written() const { return written_ ? &*written_ : nullptr; }
  PacketStats stats() const;

 private:
  const Program& p_;
  std::optional<Tables> written_;
  std::vector<uint32_t> activeHalf_;         // by ring
  std::map<uint32_t, uint64_t> realEpochs_;  // by real index: bumped when its counters restart
  // What adopted maps held before the first write.
  std::vector<fulcrum_vip_key> adoptedVips_;
  std::vector<uint32_t> adoptedReals_;
};

}  // namespace fulcrum::xdp
