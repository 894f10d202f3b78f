// Maglev consistent hashing (Eisenbud et al., "Maglev: A Fast and Reliable Software
// Network Load Balancer", NSDI 2016, section 3.4).
//
// A lookup table of prime size M maps hash % M to a backend. Each backend has a
// permutation of the slots, given by offset = h1(key) % M and skip = h2(key) % (M - 1) + 1
// (slot j of the permutation is (offset + j * skip) % M; M prime makes it visit every
// slot). Backends take turns claiming their next preferred slot that is still free until
// the table is full. The key is the backend's stable identity (Fulcrum: the server's
// address:port, see sched::maglevKeys), never its position in a list, so removing one
// backend leaves the others' permutations untouched: mostly the removed backend's slots
// change owner.
//
// Weights: in each round every backend earns `weight` credits and takes a turn for each
// `maxWeight` credits it holds, so turns (hence slots) are proportional to weights; a
// backend of the highest weight takes a turn every round and one of weight 0 is left out.
//
// Determinism: h1 and h2 are fixed (hashKey64 with the two seeds below, flow_hash.h) and
// the backends are filled in key order, whatever order the caller lists them in. The same
// (key, weight) set and size give the same slot -> key assignment in every process and on
// every machine, which lets each node of a fleet and the XDP data plane agree; the id a
// slot holds is only the caller's local name for the key.
//
// This file depends on nothing but the standard library and Result: the XDP loader can
// copy table() into a BPF array map as is.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace fulcrum::sched {

struct MaglevBackend {
  std::string_view key;  // stable identity, unique among the backends (maglevKeys)
  uint32_t weight = 1;   // relative share; 0 leaves the backend out of the table
  int32_t id = 0;        // what the table holds for this backend (Fulcrum: pool index)
};

class Maglev {
 public:
  static constexpr uint32_t kDefaultTableSize = 65537;
  static constexpr uint32_t kMaxTableSize = 16777213;  // the largest prime below 2^24

  // Fails when tableSize is not a prime in [2, kMaxTableSize]. With no backend of
  // non-zero weight every slot holds -1.
  static Result<Maglev> build(std::span<const MaglevBackend> backends,
                              uint32_t tableSize = kDefaultTableSize);

  uint32_t size() const { return static_cast<uint32_t>(table_.size()); }
  uint32_t slotOf(uint64_t hash) const { return static_cast<uint32_t>(hash % table_.size()); }
  // The backend id for a hash, or -1 when the table has no backend.
  int32_t lookup(uint64_t hash) const { return table_[slotOf(hash)]; }
  int32_t at(uint32_t slot) const { return table_[slot]; }
  // One id per slot, -1 only when there is no backend.
  const std::vector<int32_t>& table() const { return table_; }

 private:
  explicit Maglev(std::vector<int32_t> table) : table_(std::move(table)) {}
  std::vector<int32_t> table_;
};

bool isPrime(uint64_t n);
// The smallest prime >= n (n <= Maglev::kMaxTableSize gives at most kMaxTableSize).
uint32_t nextPrime(uint32_t n);

}  // namespace fulcrum::sched
