// Maglev table: size, coverage, balance, weights, disruption, determinism.
#include "sched/maglev.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

namespace fulcrum::sched {
namespace {

struct Named {
  std::string key;
  uint32_t weight = 1;
};

// Backends with ids 0..n-1 in the order given.
std::vector<int32_t> build(const std::vector<Named>& named,
                           uint32_t size = Maglev::kDefaultTableSize) {
  std::vector<MaglevBackend> b;
  for (size_t i = 0; i < named.size(); ++i)
    b.push_back({named[i].key, named[i].weight, static_cast<int32_t>(i)});
  auto t = Maglev::build(b, size);
  EXPECT_TRUE(t.ok()) << (t.ok() ? "" : t.error());
  return t.ok() ? t->table() : std::vector<int32_t>{};
}

std::vector<Named> servers(int n, const std::string& prefix = "srv") {
  std::vector<Named> v;
  for (int i = 0; i < n; ++i) {
    Named s{prefix, 1};
    s.key += std::to_string(i);  // (not prefix + ...: GCC 12 -O3 warns falsely)
    v.push_back(s);
  }
  return v;
}

std::vector<size_t> shares(const std::vector<int32_t>& table, size_t n) {
  std::vector<size_t> c(n, 0);
  for (int32_t id : table) {
    EXPECT_GE(id, 0);
    if (id >= 0) ++c[static_cast<size_t>(id)];
  }
  return c;
}

TEST(Maglev, Primes) {
  EXPECT_TRUE(isPrime(Maglev::kDefaultTableSize));
  EXPECT_TRUE(isPrime(Maglev::kMaxTableSize));
  EXPECT_TRUE(isPrime(2));
  EXPECT_TRUE(isPrime(13));
  EXPECT_FALSE(isPrime(0));
  EXPECT_FALSE(isPrime(1));
  EXPECT_FALSE(isPrime(65536));
  EXPECT_FALSE(isPrime(65535));
  EXPECT_FALSE(isPrime(25));
  for (uint32_t p = Maglev::kMaxTableSize + 1; p < (1u << 24); ++p) EXPECT_FALSE(isPrime(p));
  EXPECT_EQ(nextPrime(65536), 65537u);
  EXPECT_EQ(nextPrime(65537), 65537u);
  EXPECT_EQ(nextPrime(0), 2u);
  EXPECT_EQ(nextPrime(100), 101u);
  EXPECT_EQ(nextPrime(0xffffffffu), Maglev::kMaxTableSize);
}

TEST(Maglev, RejectsSizesThatAreNotPrimeOrTooLarge) {
  std::vector<MaglevBackend> b = {{"a", 1, 0}};
  EXPECT_FALSE(Maglev::build(b, 65536).ok());
  EXPECT_FALSE(Maglev::build(b, 1).ok());
  EXPECT_FALSE(Maglev::build(b, 0).ok());
  EXPECT_FALSE(Maglev::build(b, 16777259).ok());  // prime, but above the maximum
  EXPECT_TRUE(Maglev::build(b, 13).ok());
  std::vector<MaglevBackend> negative = {{"a", 1, -1}};
  EXPECT_FALSE(Maglev::build(negative, 13).ok());
}

TEST(Maglev, DefaultSizeAndEverySlotFilled) {
  auto table = build(servers(10));
  ASSERT_EQ(table.size(), 65537u);
  for (int32_t id : table) {
    ASSERT_GE(id, 0);
    ASSERT_LT(id, 10);
  }
}

TEST(Maglev, SingleBackendOwnsEverything) {
  auto table = build({{"only", 7}}, 101);
  EXPECT_EQ(std::count(table.begin(), table.end(), 0), 101);
}

TEST(Maglev, NoBackendGivesMinusOneEverywhere) {
  auto t = Maglev::build({}, 13);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->size(), 13u);
  EXPECT_EQ(t->lookup(12345), -1);
  EXPECT_EQ(std::count(t->table().begin(), t->table().end(), -1), 13);

  std::vector<MaglevBackend> zero = {{"a", 0, 0}, {"b", 0, 1}};
  auto z = Maglev::build(zero, 13);
  ASSERT_TRUE(z.ok());
  EXPECT_EQ(std::count(z->table().begin(), z->table().end(), -1), 13);
}

TEST(Maglev, EqualWeightsWithinOnePercentOfIdeal) {
  const size_t n = 10;
  auto c = shares(build(servers(static_cast<int>(n))), n);
  const double ideal = 65537.0 / n;
  double worst = 0;
  for (size_t s : c) worst = std::max(worst, std::abs(static_cast<double>(s) - ideal) / ideal);
  EXPECT_LE(worst, 0.01) << "max deviation from the ideal share";
  // Equal weights take one turn each per round: shares differ by at most one slot.
  auto [lo, hi] = std::minmax_element(c.begin(), c.end());
  EXPECT_LE(*hi - *lo, 1u);
}

TEST(Maglev, ManyBackendsStillBalanced) {
  const size_t n = 500;  // table size > 100 x backends
  auto c = shares(build(servers(static_cast<int>(n))), n);
  auto [lo, hi] = std::minmax_element(c.begin(), c.end());
  EXPECT_LE(*hi - *lo, 1u);
}

TEST(Maglev, WeightsAreProportional) {
  std::vector<Named> named = {{"a", 1}, {"b", 2}, {"c", 3}, {"d", 4}, {"e", 256}};
  auto c = shares(build(named), named.size());
  double total = 0;
  for (const auto& s : named) total += s.weight;
  for (size_t i = 0; i < named.size(); ++i) {
    const double ideal = 65537.0 * named[i].weight / total;
    EXPECT_NEAR(static_cast<double>(c[i]), ideal, ideal * 0.01 + 1) << named[i].key;
  }
}

TEST(Maglev, ZeroWeightNeverAppears) {
  auto table = build({{"a", 1}, {"zero", 0}, {"b", 1}});
  EXPECT_EQ(std::count(table.begin(), table.end(), 1), 0);
  EXPECT_EQ(std::count(table.begin(), table.end(), -1), 0);
}

// Fraction of the table whose owner changed although it did not belong to `gone`.
double extraMoves(const std::vector<int32_t>& before, const std::vector<int32_t>& after,
                  const std::vector<std::string>& keysBefore,
                  const std::vector<std::string>& keysAfter, const std::string& gone) {
  size_t moved = 0;
  for (size_t i = 0; i < before.size(); ++i) {
    const std::string& was = keysBefore[static_cast<size_t>(before[i])];
    const std::string& now = keysAfter[static_cast<size_t>(after[i])];
    if (was != now && was != gone) ++moved;
  }
  return static_cast<double>(moved) / static_cast<double>(before.size());
}

std::vector<std::string> keysOf(const std::vector<Named>& named) {
  std::vector<std::string> k;
  for (const auto& n : named) k.push_back(n.key);
  return k;
}

TEST(Maglev, RemovingAServerMovesLittleElse) {
  auto all = servers(10);
  auto before = build(all);
  for (size_t victim : {0u, 4u, 9u}) {
    auto fewer = all;
    fewer.erase(fewer.begin() + static_cast<long>(victim));
    auto after = build(fewer);
    // Slots of the removed server must all move; others only a little.
    for (size_t i = 0; i < before.size(); ++i)
      if (static_cast<size_t>(before[i]) == victim) {
        ASSERT_NE(keysOf(fewer)[static_cast<size_t>(after[i])], all[victim].key);
      }
    double extra = extraMoves(before, after, keysOf(all), keysOf(fewer), all[victim].key);
    EXPECT_LT(extra, 0.02) << "victim " << victim;
  }
}

TEST(Maglev, AddingAServerMovesLittleElse) {
  auto all = servers(10);
  auto before = build(all);
  auto more = all;
  more.insert(more.begin() + 3, Named{"newcomer", 1});  // position does not matter
  auto after = build(more);
  size_t toNew = 0;
  for (size_t i = 0; i < before.size(); ++i)
    if (keysOf(more)[static_cast<size_t>(after[i])] == "newcomer") ++toNew;
  EXPECT_NEAR(static_cast<double>(toNew) / 65537.0, 1.0 / 11, 0.01);
  // Slots that changed owner without going to the newcomer.
  double extra = extraMoves(after, before, keysOf(more), keysOf(all), "newcomer");
  EXPECT_LT(extra, 0.02);
}

TEST(Maglev, ChangingOneWeightMovesLittleElse) {
  auto all = servers(10);
  auto before = build(all);
  auto heavier = all;
  heavier[2].weight = 2;
  auto after = build(heavier);
  size_t moved = 0;
  for (size_t i = 0; i < before.size(); ++i)
    if (before[i] != after[i] && after[i] != 2) ++moved;
  EXPECT_LT(static_cast<double>(moved) / 65537.0, 0.05);
}

TEST(Maglev, DeterministicAndIndependentOfOrder) {
  auto a = servers(10);
  EXPECT_EQ(build(a), build(a));

  auto b = a;
  std::reverse(b.begin(), b.end());
  std::rotate(b.begin(), b.begin() + 3, b.end());
  auto ta = build(a);
  auto tb = build(b);
  auto ka = keysOf(a);
  auto kb = keysOf(b);
  for (size_t i = 0; i < ta.size(); ++i)
    ASSERT_EQ(ka[static_cast<size_t>(ta[i])], kb[static_cast<size_t>(tb[i])]) << "slot " << i;
}

TEST(Maglev, IdsAreWhatTheTableHolds) {
  std::vector<MaglevBackend> b = {{"x", 1, 40}, {"y", 1, 7}};
  auto t = Maglev::build(b, 101);
  ASSERT_TRUE(t.ok());
  for (int32_t id : t->table()) EXPECT_TRUE(id == 40 || id == 7);
  EXPECT_EQ(t->lookup(5), t->at(5));
  EXPECT_EQ(t->lookup(101 + 5), t->at(5));
  EXPECT_EQ(t->slotOf(0xffffffffffffffffull), 0xffffffffffffffffull % 101);
}

// Pins the table contents: a change here changes which backend every node of a fleet
// (and the XDP data plane) picks for a flow, so it must be deliberate.
TEST(Maglev, GoldenTable) {
  auto table = build({{"alpha", 1}, {"beta", 1}, {"gamma", 2}}, 13);
  std::string s;
  for (int32_t id : table) s += static_cast<char>('0' + id);
  EXPECT_EQ(s, "1202122212002");  // from an independent implementation of the spec
}

}  // namespace
}  // namespace fulcrum::sched
