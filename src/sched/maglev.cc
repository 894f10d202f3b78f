#include "sched/maglev.h"

#include <fmt/core.h>

#include <algorithm>

#include "sched/flow_hash.h"

namespace fulcrum::sched {

namespace {

// Fixed seeds of the two key hashes (ASCII "MaglevOf" and "MaglevSk"). Changing them
// changes every table: they are part of the fleet-wide contract.
constexpr uint64_t kOffsetSeed = 0x4d61676c65764f66ull;
constexpr uint64_t kSkipSeed = 0x4d61676c6576536bull;

struct Filler {
  std::string_view key;
  int32_t id;
  uint64_t weight;
  uint64_t credit;
  uint32_t pos;   // next slot of this backend's permutation to try
  uint32_t skip;  // step of the permutation, in [1, size - 1]
};

}  // namespace

bool isPrime(uint64_t n) {
  if (n < 2) return false;
  if (n < 4) return true;
  if (n % 2 == 0) return false;
  for (uint64_t d = 3; d * d <= n; d += 2)
    if (n % d == 0) return false;
  return true;
}

uint32_t nextPrime(uint32_t n) {
  if (n >= Maglev::kMaxTableSize) return Maglev::kMaxTableSize;
  uint32_t c = n < 2 ? 2 : n;
  while (!isPrime(c)) ++c;
  return c;
}

Result<Maglev> Maglev::build(std::span<const MaglevBackend> backends, uint32_t tableSize) {
  if (tableSize < 2 || tableSize > kMaxTableSize || !isPrime(tableSize))
    return Error{fmt::format("maglev table size {} is not a prime between 2 and {}", tableSize,
                             kMaxTableSize)};
  const uint32_t m = tableSize;

  std::vector<Filler> fillers;
  fillers.reserve(backends.size());
  uint64_t maxWeight = 0;
  for (const MaglevBackend& b : backends) {
    if (b.id < 0) return Error{fmt::format("maglev backend '{}' has a negative id", b.key)};
    if (b.weight == 0) continue;
    const auto offset = static_cast<uint32_t>(hashKey64(b.key, kOffsetSeed) % m);
    const auto skip = static_cast<uint32_t>(hashKey64(b.key, kSkipSeed) % (m - 1) + 1);
    fillers.push_back({b.key, b.id, b.weight, 0, offset, skip});
    maxWeight = std::max<uint64_t>(maxWeight, b.weight);
  }
  // Fill in key order so that the caller's ordering does not matter.
  std::sort(fillers.begin(), fillers.end(), [](const Filler& a, const Filler& b) {
    return a.key != b.key ? a.key < b.key : a.id < b.id;
  });

  std::vector<int32_t> table(m, -1);
  if (fillers.empty()) return Maglev(std::move(table));

  uint32_t filled = 0;
  for (;;) {
    for (Filler& f : fillers) {
      f.credit += f.weight;
      if (f.credit < maxWeight) continue;
      f.credit -= maxWeight;
      // The permutation visits every slot (m is prime), so a free one is always found.
      while (table[f.pos] >= 0) {
        f.pos += f.skip;
        if (f.pos >= m) f.pos -= m;
      }
      table[f.pos] = f.id;
      f.pos += f.skip;
      if (f.pos >= m) f.pos -= m;
      if (++filled == m) return Maglev(std::move(table));
    }
  }
}

}  // namespace fulcrum::sched
