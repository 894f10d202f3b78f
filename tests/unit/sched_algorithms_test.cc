// static-rr, leastconn, first, source, random and maglev schedulers.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/net.h"
#include "sched/flow_hash.h"
#include "sched/load.h"
#include "sched/maglev_scheduler.h"
#include "sched/scheduler.h"
#include "sched/static_rr.h"

namespace fulcrum::sched {
namespace {

using model::BalanceAlgo;

struct Spec {
  std::string name;
  uint32_t weight = 1;
  bool backup = false;
  uint32_t maxconn = 0;
};

model::Pool makePool(BalanceAlgo algo, const std::vector<Spec>& specs) {
  model::Pool p;
  p.name = "p";
  p.balance.algo = algo;
  for (const Spec& s : specs) {
    model::Server srv;
    srv.name = s.name;
    srv.weight = s.weight;
    srv.backup = s.backup;
    srv.maxconn = s.maxconn;
    p.servers.push_back(srv);
  }
  return p;
}

model::Pool plainPool(BalanceAlgo algo, int n) {
  std::vector<Spec> specs;
  for (int i = 0; i < n; ++i) {
    Spec spec;
    spec.name = "s";
    spec.name += std::to_string(i);  // (not "s" + ...: GCC 12 -O3 warns falsely)
    specs.push_back(spec);
  }
  return makePool(algo, specs);
}

std::vector<model::ServerRuntime> upAll(const model::Pool& p) {
  std::vector<model::ServerRuntime> rt;
  for (const auto& s : p.servers) rt.push_back({model::ServerState::kUp, s.weight});
  return rt;
}

std::vector<int> histogram(Scheduler& s, int n, size_t servers, PickContext ctx = {}) {
  std::vector<int> h(servers, 0);
  for (int i = 0; i < n; ++i) {
    int k = s.pick(ctx);
    if (k >= 0) ++h[static_cast<size_t>(k)];
  }
  return h;
}

SockAddr client(uint32_t i) { return SockAddr::ipv4(0x0a000000u + i, 40000); }

// ---- makeScheduler -------------------------------------------------------------------

TEST(SchedFactory, EveryAlgorithmPicksAndHandlesEmptyPools) {
  for (auto algo :
       {BalanceAlgo::kRoundRobin, BalanceAlgo::kStaticRr, BalanceAlgo::kLeastConn,
        BalanceAlgo::kFirst, BalanceAlgo::kSource, BalanceAlgo::kRandom, BalanceAlgo::kMaglev}) {
    for (bool withLoad : {false, true}) {
      auto pool = plainPool(algo, 3);
      PoolLoad load(3);
      SchedulerOptions opts;
      opts.seed = 1;
      auto s = makeScheduler(pool, upAll(pool), withLoad ? &load : nullptr, opts);
      ASSERT_NE(s, nullptr) << model::toString(algo);
      SockAddr c = client(1);
      PickContext ctx;
      ctx.client = &c;
      ctx.flowHash = 12345;
      int k = s->pick(ctx);
      EXPECT_GE(k, 0) << model::toString(algo);
      EXPECT_LT(k, 3) << model::toString(algo);

      model::Pool empty;
      empty.balance.algo = algo;
      auto e = makeScheduler(empty, {}, withLoad ? &load : nullptr, opts);
      EXPECT_EQ(e->pick(ctx), -1) << model::toString(algo);
    }
  }
}

TEST(SchedFactory, BackupRuleAppliesToEveryAlgorithm) {
  for (auto algo :
       {BalanceAlgo::kRoundRobin, BalanceAlgo::kStaticRr, BalanceAlgo::kLeastConn,
        BalanceAlgo::kFirst, BalanceAlgo::kSource, BalanceAlgo::kRandom, BalanceAlgo::kMaglev}) {
    auto pool = makePool(algo, {{"a"}, {"x", 1, true}, {"y", 1, true}, {"z", 1, true}});
    auto rt = upAll(pool);
    rt[0].state = model::ServerState::kDown;
    rt[1].state = model::ServerState::kDown;
    PoolLoad load(4);
    SchedulerOptions opts;
    opts.seed = 7;
    auto first = makeScheduler(pool, rt, &load, opts);
    std::set<int> seen;
    for (uint32_t i = 0; i < 200; ++i) {
      SockAddr c = client(i);
      PickContext ctx;
      ctx.client = &c;
      ctx.flowHash = flowHash(FlowKey{FlowKey::v4(i), FlowKey::v4(1), 1, 2, 6});
      seen.insert(first->pick(ctx));
    }
    EXPECT_EQ(seen, (std::set<int>{2})) << model::toString(algo);

    opts.allBackups = true;
    auto all = makeScheduler(pool, rt, &load, opts);
    seen.clear();
    for (uint32_t i = 0; i < 200; ++i) {
      SockAddr c = client(i);
      PickContext ctx;
      ctx.client = &c;
      ctx.flowHash = flowHash(FlowKey{FlowKey::v4(i), FlowKey::v4(1), 1, 2, 6});
      int k = all->pick(ctx);
      if (algo == BalanceAlgo::kLeastConn) load.acquire(static_cast<size_t>(k));
      seen.insert(k);
    }
    if (algo == BalanceAlgo::kFirst) {
      EXPECT_EQ(seen, (std::set<int>{2})) << "first: the first backup in order";
    } else {
      EXPECT_EQ(seen, (std::set<int>{2, 3})) << model::toString(algo);
    }
  }
}

// ---- static-rr -----------------------------------------------------------------------

TEST(SchedStaticRr, InterleavesByWeight) {
  auto pool = makePool(BalanceAlgo::kStaticRr, {{"a", 3}, {"b", 1}});
  auto s = makeScheduler(pool, upAll(pool));
  std::string seq;
  for (int i = 0; i < 8; ++i) seq += pool.servers[static_cast<size_t>(s->pick({}))].name;
  EXPECT_EQ(seq, "aabaaaba");
}

TEST(SchedStaticRr, ProportionsFollowWeights) {
  auto pool = makePool(BalanceAlgo::kStaticRr, {{"a", 6}, {"b", 4}, {"c", 2}, {"d", 256}});
  auto s = makeScheduler(pool, upAll(pool));
  // gcd 2: a cycle of 134 picks.
  EXPECT_EQ(histogram(*s, 134 * 10, 4), (std::vector<int>{30, 20, 10, 1280}));
}

TEST(SchedStaticRr, IgnoresRuntimeWeightsButNotZero) {
  auto pool = makePool(BalanceAlgo::kStaticRr, {{"a", 3}, {"b", 1}, {"c", 1}});
  auto rt = upAll(pool);
  rt[0].effectiveWeight = 1;  // e.g. slow start: static-rr does not care
  rt[2].effectiveWeight = 0;  // 0% takes the server out
  auto s = makeScheduler(pool, rt);
  EXPECT_EQ(histogram(*s, 400, 3), (std::vector<int>{300, 100, 0}));
}

TEST(SchedStaticRr, WeightMapOrder) {
  auto pool = makePool(BalanceAlgo::kStaticRr, {{"a", 5}, {"b", 1}, {"c", 1}});
  CandidateSet set(pool, upAll(pool), false, WeightKind::kConfigured, nullptr);
  WeightMap map(set);
  std::string s;
  for (size_t i = 0; i < map.size(); ++i) s += pool.servers[static_cast<size_t>(map.at(i))].name;
  EXPECT_EQ(s, "aaabcaa");
}

TEST(SchedStaticRr, AvoidAndMaxconn) {
  auto pool = makePool(BalanceAlgo::kStaticRr, {{"a", 1, false, 1}, {"b"}, {"c", 1, false, 1}});
  PoolLoad load(3);
  auto s = makeScheduler(pool, upAll(pool), &load);
  PickContext ctx;
  ctx.avoid = 1;
  EXPECT_EQ(histogram(*s, 30, 3, ctx), (std::vector<int>{15, 0, 15}));
  load.acquire(0);  // a full
  EXPECT_EQ(histogram(*s, 30, 3, ctx), (std::vector<int>{0, 0, 30}));
  load.acquire(2);             // c full too
  EXPECT_EQ(s->pick(ctx), 1);  // only the avoided server can take it
}

// ---- leastconn -----------------------------------------------------------------------

TEST(SchedLeastConn, PicksTheLeastLoaded) {
  auto pool = plainPool(BalanceAlgo::kLeastConn, 4);
  PoolLoad load(4);
  auto s = makeScheduler(pool, upAll(pool), &load);
  for (int i = 0; i < 5; ++i) load.acquire(0);
  for (int i = 0; i < 2; ++i) load.acquire(1);
  for (int i = 0; i < 7; ++i) load.acquire(2);
  for (int i = 0; i < 3; ++i) load.acquire(3);
  EXPECT_EQ(s->pick({}), 1);
  load.acquire(1);
  load.acquire(1);  // 1 now has 4, 3 has 3
  EXPECT_EQ(s->pick({}), 3);
}

TEST(SchedLeastConn, RoundRobinAmongEquals) {
  auto pool = plainPool(BalanceAlgo::kLeastConn, 3);
  PoolLoad load(3);
  auto s = makeScheduler(pool, upAll(pool), &load);
  std::vector<int> seq;
  for (int i = 0; i < 6; ++i) seq.push_back(s->pick({}));  // nothing acquired: all equal
  EXPECT_EQ(seq, (std::vector<int>{0, 1, 2, 0, 1, 2}));
}

TEST(SchedLeastConn, BalancesLongConnectionsByWeight) {
  auto pool = makePool(BalanceAlgo::kLeastConn, {{"a", 1}, {"b", 2}, {"c", 3}});
  PoolLoad load(3);
  auto s = makeScheduler(pool, upAll(pool), &load);
  for (int i = 0; i < 600; ++i) load.acquire(static_cast<size_t>(s->pick({})));
  EXPECT_NEAR(load.active(0), 100, 1);
  EXPECT_NEAR(load.active(1), 200, 1);
  EXPECT_NEAR(load.active(2), 300, 1);
}

TEST(SchedLeastConn, RefillsAServerWhoseConnectionsEnded) {
  auto pool = plainPool(BalanceAlgo::kLeastConn, 3);
  PoolLoad load(3);
  auto s = makeScheduler(pool, upAll(pool), &load);
  for (int i = 0; i < 30; ++i) load.acquire(static_cast<size_t>(s->pick({})));
  for (int i = 0; i < 5; ++i) load.release(1);
  for (int i = 0; i < 5; ++i) {
    int k = s->pick({});
    EXPECT_EQ(k, 1);
    load.acquire(static_cast<size_t>(k));
  }
}

TEST(SchedLeastConn, AvoidAndMaxconn) {
  auto pool = makePool(BalanceAlgo::kLeastConn, {{"a", 1, false, 2}, {"b"}, {"c"}});
  PoolLoad load(3);
  auto s = makeScheduler(pool, upAll(pool), &load);
  load.acquire(1);
  load.acquire(1);
  load.acquire(2);
  PickContext ctx;
  ctx.avoid = 0;
  EXPECT_EQ(s->pick(ctx), 2);  // a is least loaded but avoided
  load.acquire(0);
  load.acquire(0);  // a full: least loaded with room is c
  EXPECT_EQ(s->pick({}), 2);
}

TEST(SchedLeastConn, WithoutLoadFallsBackToRoundRobin) {
  auto pool = makePool(BalanceAlgo::kLeastConn, {{"a", 1}, {"b", 1}});
  auto s = makeScheduler(pool, upAll(pool), nullptr);
  EXPECT_EQ(histogram(*s, 10, 2), (std::vector<int>{5, 5}));
}

// ---- first ---------------------------------------------------------------------------

TEST(SchedFirst, FillsServersInOrder) {
  auto pool = makePool(BalanceAlgo::kFirst, {{"a", 1, false, 2}, {"b", 9, false, 3}, {"c", 1}});
  PoolLoad load(3);
  auto s = makeScheduler(pool, upAll(pool), &load);
  std::vector<int> seq;
  for (int i = 0; i < 8; ++i) {
    int k = s->pick({});
    seq.push_back(k);
    load.acquire(static_cast<size_t>(k));
  }
  EXPECT_EQ(seq, (std::vector<int>{0, 0, 1, 1, 1, 2, 2, 2}));  // weights ignored
  load.release(0);
  EXPECT_EQ(s->pick({}), 0);  // a slot freed on the first server: it wins again
}

TEST(SchedFirst, OrderIsTheServerIds) {
  // As HAProxy: from the lowest id to the highest, whatever the order in the backend.
  auto pool =
      makePool(BalanceAlgo::kFirst, {{"a", 1, false, 1}, {"b", 1, false, 1}, {"c", 1, false, 1}});
  pool.servers[0].id = 3;
  pool.servers[1].id = 1;
  pool.servers[2].id = 2;
  PoolLoad load(3);
  auto s = makeScheduler(pool, upAll(pool), &load);
  std::vector<int> seq;
  for (int i = 0; i < 3; ++i) {
    int k = s->pick({});
    seq.push_back(k);
    load.acquire(static_cast<size_t>(k));
  }
  EXPECT_EQ(seq, (std::vector<int>{1, 2, 0}));
}

TEST(SchedFirst, AllFullGivesMinusOne) {
  auto pool = makePool(BalanceAlgo::kFirst, {{"a", 1, false, 1}, {"b", 1, false, 1}});
  PoolLoad load(2);
  auto s = makeScheduler(pool, upAll(pool), &load);
  load.acquire(0);
  load.acquire(1);
  EXPECT_EQ(s->pick({}), -1);
}

TEST(SchedFirst, SkipsUnusableAndAvoided) {
  auto pool = makePool(BalanceAlgo::kFirst, {{"a"}, {"b"}, {"c"}});
  auto rt = upAll(pool);
  rt[0].state = model::ServerState::kDrain;
  PoolLoad load(3);
  auto s = makeScheduler(pool, rt, &load);
  EXPECT_EQ(s->pick({}), 1);
  PickContext ctx;
  ctx.avoid = 1;
  EXPECT_EQ(s->pick(ctx), 2);
}

// ---- source --------------------------------------------------------------------------

TEST(SchedSource, SameClientSameServer) {
  for (auto ht : {model::HashType::kMapBased, model::HashType::kConsistent}) {
    auto pool = plainPool(BalanceAlgo::kSource, 5);
    pool.balance.hashType = ht;
    auto s1 = makeScheduler(pool, upAll(pool));
    auto s2 = makeScheduler(pool, upAll(pool));  // another worker
    for (uint32_t i = 0; i < 100; ++i) {
      SockAddr c = client(i);
      PickContext ctx;
      ctx.client = &c;
      int k = s1->pick(ctx);
      EXPECT_EQ(s1->pick(ctx), k);
      EXPECT_EQ(s2->pick(ctx), k);
      SockAddr otherPort = c;
      otherPort.setPort(1);
      ctx.client = &otherPort;
      EXPECT_EQ(s1->pick(ctx), k) << "the port does not matter";
    }
  }
}

TEST(SchedSource, DifferentClientsSpreadByWeight) {
  for (auto ht : {model::HashType::kMapBased, model::HashType::kConsistent}) {
    auto pool = makePool(BalanceAlgo::kSource, {{"a", 1}, {"b", 1}, {"c", 2}});
    pool.balance.hashType = ht;
    auto s = makeScheduler(pool, upAll(pool));
    std::vector<int> h(3, 0);
    const int n = 20000;
    for (uint32_t i = 0; i < n; ++i) {
      SockAddr c = client(i);
      PickContext ctx;
      ctx.client = &c;
      ++h[static_cast<size_t>(s->pick(ctx))];
    }
    EXPECT_NEAR(h[0], n / 4, n / 40);
    EXPECT_NEAR(h[1], n / 4, n / 40);
    EXPECT_NEAR(h[2], n / 2, n / 40);
  }
}

// Fraction of clients whose server changed although their server is still there.
double movedSurvivors(model::HashType ht) {
  auto pool = plainPool(BalanceAlgo::kSource, 8);
  pool.balance.hashType = ht;
  auto rt = upAll(pool);
  auto before = makeScheduler(pool, rt);
  rt[3].state = model::ServerState::kDown;
  auto after = makeScheduler(pool, rt);
  int moved = 0;
  int survivors = 0;
  for (uint32_t i = 0; i < 10000; ++i) {
    SockAddr c = client(i);
    PickContext ctx;
    ctx.client = &c;
    int b = before->pick(ctx);
    int a = after->pick(ctx);
    EXPECT_NE(a, 3);
    if (b == 3) continue;
    ++survivors;
    if (a != b) ++moved;
  }
  return static_cast<double>(moved) / survivors;
}

TEST(SchedSource, ConsistentHashingMovesOnlyTheLostServersClients) {
  EXPECT_LT(movedSurvivors(model::HashType::kConsistent), 0.02);
  EXPECT_GT(movedSurvivors(model::HashType::kMapBased), 0.5);  // what map-based costs
}

TEST(SchedSource, AvoidMovesToAnotherServerDeterministically) {
  for (auto ht : {model::HashType::kMapBased, model::HashType::kConsistent}) {
    auto pool = plainPool(BalanceAlgo::kSource, 4);
    pool.balance.hashType = ht;
    auto s = makeScheduler(pool, upAll(pool));
    SockAddr c = client(42);
    PickContext ctx;
    ctx.client = &c;
    const int home = s->pick(ctx);
    ctx.avoid = home;
    const int retry = s->pick(ctx);
    EXPECT_NE(retry, home);
    EXPECT_GE(retry, 0);
    EXPECT_EQ(s->pick(ctx), retry);
  }
}

TEST(SchedSource, FullServerOverflowsAndComesBack) {
  auto pool = makePool(BalanceAlgo::kSource, {{"a", 1, false, 1}, {"b", 1, false, 1}});
  pool.balance.hashType = model::HashType::kConsistent;
  PoolLoad load(2);
  auto s = makeScheduler(pool, upAll(pool), &load);
  SockAddr c = client(7);
  PickContext ctx;
  ctx.client = &c;
  const int home = s->pick(ctx);
  load.acquire(static_cast<size_t>(home));
  EXPECT_EQ(s->pick(ctx), 1 - home);
  load.acquire(static_cast<size_t>(1 - home));
  EXPECT_EQ(s->pick(ctx), -1);
  load.release(static_cast<size_t>(home));
  EXPECT_EQ(s->pick(ctx), home);
}

TEST(SchedSource, WithoutClientAddressRoundRobins) {
  for (auto ht : {model::HashType::kMapBased, model::HashType::kConsistent}) {
    auto pool = plainPool(BalanceAlgo::kSource, 4);
    pool.balance.hashType = ht;
    auto s = makeScheduler(pool, upAll(pool));
    auto h = histogram(*s, 4000, 4);
    for (int c : h) EXPECT_NEAR(c, 1000, 100);
  }
}

// ---- random --------------------------------------------------------------------------

TEST(SchedRandom, DrawsFollowWeights) {
  auto pool = makePool(BalanceAlgo::kRandom, {{"a", 1}, {"b", 3}});
  pool.balance.randomDraws = 1;
  SchedulerOptions opts;
  opts.seed = 99;
  auto s = makeScheduler(pool, upAll(pool), nullptr, opts);
  auto h = histogram(*s, 40000, 2);
  EXPECT_NEAR(h[0], 10000, 500);
  EXPECT_NEAR(h[1], 30000, 500);
}

TEST(SchedRandom, SameSeedSameSequence) {
  auto pool = plainPool(BalanceAlgo::kRandom, 10);
  SchedulerOptions opts;
  opts.seed = 5;
  auto a = makeScheduler(pool, upAll(pool), nullptr, opts);
  auto b = makeScheduler(pool, upAll(pool), nullptr, opts);
  opts.seed = 6;
  auto c = makeScheduler(pool, upAll(pool), nullptr, opts);
  int same = 0;
  for (int i = 0; i < 100; ++i) {
    int x = a->pick({});
    EXPECT_EQ(b->pick({}), x);
    if (c->pick({}) == x) ++same;
  }
  EXPECT_LT(same, 50);
}

TEST(SchedRandom, UnseededInstancesDiffer) {
  auto pool = plainPool(BalanceAlgo::kRandom, 10);
  auto a = makeScheduler(pool, upAll(pool));
  auto b = makeScheduler(pool, upAll(pool));
  int same = 0;
  for (int i = 0; i < 100; ++i)
    if (a->pick({}) == b->pick({})) ++same;
  EXPECT_LT(same, 50);
}

TEST(SchedRandom, PowerOfTwoPrefersTheLessLoaded) {
  auto pool = plainPool(BalanceAlgo::kRandom, 2);
  pool.balance.randomDraws = 2;
  PoolLoad load(2);
  for (int i = 0; i < 100; ++i) load.acquire(0);
  SchedulerOptions opts;
  opts.seed = 3;
  auto s = makeScheduler(pool, upAll(pool), &load, opts);
  auto h = histogram(*s, 10000, 2);
  // Server 0 wins only when both draws land on it: 1/4 of the time.
  EXPECT_NEAR(h[1], 7500, 300);

  pool.balance.randomDraws = 1;  // plain random ignores loads
  auto plain = makeScheduler(pool, upAll(pool), &load, opts);
  auto p = histogram(*plain, 10000, 2);
  EXPECT_NEAR(p[1], 5000, 300);
}

TEST(SchedRandom, KeepsLoadsEven) {
  auto pool = plainPool(BalanceAlgo::kRandom, 10);
  pool.balance.randomDraws = 2;
  PoolLoad load(10);
  SchedulerOptions opts;
  opts.seed = 11;
  auto s = makeScheduler(pool, upAll(pool), &load, opts);
  for (int i = 0; i < 10000; ++i) load.acquire(static_cast<size_t>(s->pick({})));
  uint32_t lo = ~0u;
  uint32_t hi = 0;
  for (size_t i = 0; i < 10; ++i) {
    lo = std::min(lo, load.active(i));
    hi = std::max(hi, load.active(i));
  }
  EXPECT_LE(hi - lo, 10u) << "two choices keep the gap small";
}

TEST(SchedRandom, AvoidAndMaxconn) {
  auto pool = makePool(BalanceAlgo::kRandom, {{"a", 1, false, 1}, {"b"}, {"c"}});
  PoolLoad load(3);
  SchedulerOptions opts;
  opts.seed = 17;
  auto s = makeScheduler(pool, upAll(pool), &load, opts);
  load.acquire(0);
  PickContext ctx;
  ctx.avoid = 1;
  EXPECT_EQ(histogram(*s, 200, 3, ctx), (std::vector<int>{0, 0, 200}));
}

// ---- maglev --------------------------------------------------------------------------

TEST(SchedMaglev, PicksWhatTheTableSays) {
  auto pool = plainPool(BalanceAlgo::kMaglev, 6);
  auto rt = upAll(pool);
  auto table = buildPoolMaglev(pool, rt, false);
  ASSERT_EQ(table->size(), Maglev::kDefaultTableSize);
  auto own = makeScheduler(pool, rt);
  SchedulerOptions opts;
  opts.maglev = table;
  auto shared = makeScheduler(pool, rt, nullptr, opts);
  for (uint32_t i = 0; i < 1000; ++i) {
    PickContext ctx;
    ctx.flowHash = flowHash(FlowKey{FlowKey::v4(i), FlowKey::v4(1), 1000, 80, 6});
    const int k = table->lookup(ctx.flowHash);
    EXPECT_EQ(own->pick(ctx), k);
    EXPECT_EQ(shared->pick(ctx), k);
  }
}

TEST(SchedMaglev, TableKeysOnNamesNotPositions) {
  auto pool = plainPool(BalanceAlgo::kMaglev, 5);
  auto fewer = pool;
  fewer.servers.erase(fewer.servers.begin() + 1);  // s1 leaves the config
  auto before = makeScheduler(pool, upAll(pool));
  auto after = makeScheduler(fewer, upAll(fewer));
  int moved = 0;
  int survivors = 0;
  for (uint32_t i = 0; i < 10000; ++i) {
    PickContext ctx;
    ctx.flowHash = flowHash(FlowKey{FlowKey::v4(i), FlowKey::v4(1), 1000, 80, 6});
    const auto& was = pool.servers[static_cast<size_t>(before->pick(ctx))].name;
    const auto& now = fewer.servers[static_cast<size_t>(after->pick(ctx))].name;
    if (was == "s1") continue;
    ++survivors;
    if (was != now) ++moved;
  }
  EXPECT_LT(static_cast<double>(moved) / survivors, 0.02);
}

TEST(SchedMaglev, NeedsMaglev) {
  auto pool = plainPool(BalanceAlgo::kMaglev, 1);
  EXPECT_TRUE(needsMaglev(pool));
  pool.balance.algo = BalanceAlgo::kSource;
  EXPECT_FALSE(needsMaglev(pool));
  pool.balance.hashType = model::HashType::kConsistent;
  EXPECT_TRUE(needsMaglev(pool));
  pool.balance.algo = BalanceAlgo::kRoundRobin;
  EXPECT_FALSE(needsMaglev(pool));
}

TEST(SchedMaglev, CustomTableSizeIsMadePrime) {
  auto pool = plainPool(BalanceAlgo::kMaglev, 3);
  auto t = buildPoolMaglev(pool, upAll(pool), false, 1000);
  EXPECT_EQ(t->size(), 1009u);
}

TEST(SchedMaglev, AvoidFallsToTheNextSlot) {
  auto pool = plainPool(BalanceAlgo::kMaglev, 3);
  auto rt = upAll(pool);
  auto table = buildPoolMaglev(pool, rt, false);
  SchedulerOptions opts;
  opts.maglev = table;
  auto s = makeScheduler(pool, rt, nullptr, opts);
  for (uint64_t h = 0; h < 200; ++h) {
    PickContext ctx;
    ctx.flowHash = h;
    ctx.avoid = table->lookup(h);
    int k = s->pick(ctx);
    EXPECT_NE(k, ctx.avoid);
    // The first following slot held by another server.
    uint32_t slot = table->slotOf(h);
    while (table->at(slot) == ctx.avoid) slot = (slot + 1) % table->size();
    EXPECT_EQ(k, table->at(slot));
  }
}

TEST(SchedMaglev, WeightsAndBackups) {
  auto pool = makePool(BalanceAlgo::kMaglev, {{"a", 1}, {"b", 3}, {"x", 1, true}});
  auto rt = upAll(pool);
  auto s = makeScheduler(pool, rt);
  std::vector<int> h(3, 0);
  for (uint64_t i = 0; i < 40000; ++i) {
    PickContext ctx;
    ctx.flowHash =
        flowHash(FlowKey{FlowKey::v4(static_cast<uint32_t>(i)), FlowKey::v4(1), 9, 80, 6});
    ++h[static_cast<size_t>(s->pick(ctx))];
  }
  EXPECT_NEAR(h[0], 10000, 500);
  EXPECT_NEAR(h[1], 30000, 500);
  EXPECT_EQ(h[2], 0);
}

}  // namespace
}  // namespace fulcrum::sched
