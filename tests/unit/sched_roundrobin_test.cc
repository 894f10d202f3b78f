// roundrobin: interleaving, weight proportions, and the rules every scheduler shares
// (backups, avoid, unusable servers, maxconn), checked here through roundrobin.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sched/load.h"
#include "sched/roundrobin.h"
#include "sched/scheduler.h"

namespace fulcrum::sched {
namespace {

struct Spec {
  std::string name;
  uint32_t weight = 1;
  bool backup = false;
  uint32_t maxconn = 0;
};

model::Pool makePool(const std::vector<Spec>& specs) {
  model::Pool p;
  p.name = "p";
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

std::vector<model::ServerRuntime> upAll(const model::Pool& p) {
  std::vector<model::ServerRuntime> rt;
  for (const auto& s : p.servers) rt.push_back({model::ServerState::kUp, s.weight});
  return rt;
}

std::string sequence(Scheduler& s, int n, const model::Pool& p) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    int k = s.pick({});
    out += k < 0 ? "-" : p.servers[static_cast<size_t>(k)].name;
  }
  return out;
}

std::vector<int> histogram(Scheduler& s, int n, size_t servers, PickContext ctx = {}) {
  std::vector<int> h(servers, 0);
  for (int i = 0; i < n; ++i) {
    int k = s.pick(ctx);
    if (k >= 0) ++h[static_cast<size_t>(k)];
  }
  return h;
}

TEST(SchedRoundRobin, InterleavesByWeight) {
  auto pool = makePool({{"a", 5}, {"b", 1}, {"c", 1}});
  RoundRobin rr(pool, upAll(pool));
  EXPECT_EQ(sequence(rr, 7, pool), "aabacaa");
  EXPECT_EQ(sequence(rr, 7, pool), "aabacaa");  // the cycle repeats exactly
}

TEST(SchedRoundRobin, EqualWeightsAlternate) {
  auto pool = makePool({{"a"}, {"b"}, {"c"}});
  RoundRobin rr(pool, upAll(pool));
  EXPECT_EQ(sequence(rr, 6, pool), "abcabc");
}

TEST(SchedRoundRobin, ProportionsFollowWeights) {
  auto pool = makePool({{"a", 3}, {"b", 2}, {"c", 1}, {"d", 10}});
  RoundRobin rr(pool, upAll(pool));
  auto h = histogram(rr, 16 * 100, 4);
  EXPECT_EQ(h, (std::vector<int>{300, 200, 100, 1000}));
}

TEST(SchedRoundRobin, UsesEffectiveWeights) {
  auto pool = makePool({{"a", 1}, {"b", 1}});
  auto rt = upAll(pool);
  rt[0].effectiveWeight = 3;  // e.g. after `set weight`
  RoundRobin rr(pool, rt);
  EXPECT_EQ(histogram(rr, 400, 2), (std::vector<int>{300, 100}));
}

TEST(SchedRoundRobin, SkipsUnusableServers) {
  auto pool = makePool({{"a"}, {"b"}, {"c"}, {"d"}, {"e"}});
  auto rt = upAll(pool);
  rt[0].state = model::ServerState::kDown;
  rt[1].state = model::ServerState::kDrain;
  rt[2].state = model::ServerState::kMaint;
  rt[3].effectiveWeight = 0;
  RoundRobin rr(pool, rt);
  EXPECT_EQ(sequence(rr, 3, pool), "eee");
}

TEST(SchedRoundRobin, NoServerGivesMinusOne) {
  model::Pool empty;
  RoundRobin rr(empty, {});
  EXPECT_EQ(rr.pick({}), -1);

  auto pool = makePool({{"a"}, {"b", 1, true}});
  auto rt = upAll(pool);
  rt[0].state = model::ServerState::kDown;
  rt[1].state = model::ServerState::kDown;
  RoundRobin none(pool, rt);
  EXPECT_EQ(none.pick({}), -1);
}

TEST(SchedRoundRobin, BackupsOnlyWhenNoActiveIsUsable) {
  auto pool = makePool({{"a"}, {"b"}, {"x", 1, true}, {"y", 1, true}});
  auto rt = upAll(pool);
  RoundRobin rr(pool, rt);
  EXPECT_EQ(sequence(rr, 4, pool), "abab");

  rt[0].state = model::ServerState::kDown;
  RoundRobin one(pool, rt);
  EXPECT_EQ(sequence(one, 3, pool), "bbb");  // one active left: still no backup

  rt[1].state = model::ServerState::kMaint;
  RoundRobin backup(pool, rt);
  EXPECT_EQ(sequence(backup, 4, pool), "xxxx");  // only the first backup by default
}

TEST(SchedRoundRobin, FirstUsableBackupIsUsed) {
  auto pool = makePool({{"a"}, {"x", 1, true}, {"y", 1, true}});
  auto rt = upAll(pool);
  rt[0].state = model::ServerState::kDown;
  rt[1].state = model::ServerState::kDown;
  RoundRobin rr(pool, rt);
  EXPECT_EQ(sequence(rr, 3, pool), "yyy");
}

TEST(SchedRoundRobin, AllBackupsBalancesAmongBackupsWithWeights) {
  auto pool = makePool({{"a"}, {"x", 1, true}, {"y", 3, true}});
  auto rt = upAll(pool);
  rt[0].state = model::ServerState::kDown;
  SchedulerOptions opts;
  opts.allBackups = true;
  RoundRobin rr(pool, rt, nullptr, opts);
  EXPECT_EQ(histogram(rr, 400, 3), (std::vector<int>{0, 100, 300}));

  rt[0].state = model::ServerState::kUp;  // an active server is back: backups idle
  RoundRobin back(pool, rt, nullptr, opts);
  EXPECT_EQ(histogram(back, 10, 3), (std::vector<int>{10, 0, 0}));
}

TEST(SchedRoundRobin, AvoidSkipsTheFailedServer) {
  auto pool = makePool({{"a"}, {"b"}, {"c"}});
  RoundRobin rr(pool, upAll(pool));
  PickContext ctx;
  ctx.avoid = 1;
  for (int i = 0; i < 30; ++i) EXPECT_NE(rr.pick(ctx), 1);
}

TEST(SchedRoundRobin, AvoidedServerIsRetriedWhenAlone) {
  auto pool = makePool({{"a"}, {"b"}});
  auto rt = upAll(pool);
  rt[0].state = model::ServerState::kDown;
  RoundRobin rr(pool, rt);
  PickContext ctx;
  ctx.avoid = 1;
  EXPECT_EQ(rr.pick(ctx), 1);
}

TEST(SchedRoundRobin, SkipsServersAtMaxconn) {
  auto pool = makePool({{"a", 1, false, 2}, {"b", 1, false, 0}});
  PoolLoad load(pool.servers.size());
  RoundRobin rr(pool, upAll(pool), &load);
  load.acquire(0);
  load.acquire(0);  // a is full
  EXPECT_EQ(histogram(rr, 10, 2), (std::vector<int>{0, 10}));
  load.release(0);
  EXPECT_EQ(histogram(rr, 10, 2), (std::vector<int>{5, 5}));
}

TEST(SchedRoundRobin, AllFullGivesMinusOne) {
  auto pool = makePool({{"a", 1, false, 1}, {"b", 1, false, 1}});
  PoolLoad load(pool.servers.size());
  RoundRobin rr(pool, upAll(pool), &load);
  load.acquire(0);
  load.acquire(1);
  EXPECT_EQ(rr.pick({}), -1);
}

TEST(SchedRoundRobin, MakeSchedulerDefaultsToRoundRobin) {
  auto pool = makePool({{"a", 2}, {"b", 1}});
  auto s = makeScheduler(pool, upAll(pool));
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(sequence(*s, 3, pool), "aba");
}

}  // namespace
}  // namespace fulcrum::sched
