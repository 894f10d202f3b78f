// The publication builder: what a change publishes and what it leaves shared with the
// previous publication, stable real indices, Maglev tables computed once from address keys.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "config_test_util.h"
#include "control/builder.h"
#include "control/overrides.h"
#include "sched/scheduler.h"

namespace fulcrum::control {
namespace {

using config::testutil::load;

// A data plane that plans nothing but counts what it is asked.
class FakePlane final : public DataPlane {
 public:
  struct Plan final : DataPlanePlan {
    size_t services = 0;
  };
  std::string_view name() const override { return "fake"; }
  Result<std::shared_ptr<const DataPlanePlan>> plan(const model::Config& next,
                                                    bool draining) override {
    ++plans;
    if (!fail.empty()) return Error{fail};
    auto p = std::make_shared<Plan>();
    p->services = draining ? 0 : next.services.size();
    return std::shared_ptr<const DataPlanePlan>(std::move(p));
  }
  Status start() override { return Ok{}; }
  void published(const Publication& pub) override { seen.push_back(pub.generation); }
  bool awaitApplied(uint64_t generation, Micros) override {
    return !seen.empty() && seen.back() >= generation;
  }
  void stop() override {}
  std::vector<model::SessionInfo> sessions() override { return {}; }

  int plans = 0;
  std::string fail;  // non-empty: plan() fails with it
  std::vector<uint64_t> seen;
};

constexpr std::string_view kConfig =
    "defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 1s\n"
    "    timeout server 1s\n"
    "frontend web\n    bind 127.0.0.1:8080\n    log stdout local0\n    default_backend hashed\n"
    "backend hashed\n    balance maglev\n"
    "    server a 10.0.0.1:80\n    server b 10.0.0.2:80\n    server c 10.0.0.3:80\n"
    "backend other\n    balance maglev\n"
    "    server x 10.0.1.1:80\n    server y 10.0.1.2:80\n"
    "backend plain\n    server p 10.0.2.1:80\n";

struct Fixture {
  Fixture() : builder(box, {&plane}) {
    auto c = builder.prepare(load(kConfig), {});
    EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error());
    builder.commit(std::move(*c));
  }
  // A runtime change of the overrides, as the daemon makes it (health keeps every
  // server UP here).
  template <typename Fn>
  Status change(Fn fn) {
    RuntimeOverrides o = builder.overrides();
    fn(o);
    auto c = builder.prepare(builder.filePtr(), std::move(o));
    if (!c) return Error{c.error()};
    builder.commit(std::move(*c));
    return Ok{};
  }
  std::vector<std::vector<model::ServerRuntime>> runtime() const {
    return builder.current()->snapshot->runtime;
  }

  PublicationBox box;
  FakePlane plane;
  Builder builder;
};

TEST(Builder, FirstPublication) {
  Fixture f;
  auto pub = f.box.current();
  ASSERT_TRUE(pub);
  EXPECT_EQ(pub, f.builder.current());
  EXPECT_EQ(pub->generation, 1u);
  EXPECT_EQ(f.plane.seen, (std::vector<uint64_t>{1}));
  ASSERT_EQ(pub->pools.size(), 3u);
  ASSERT_TRUE(pub->pools[0]->maglev);  // maglev pools have their table
  ASSERT_TRUE(pub->pools[1]->maglev);
  EXPECT_FALSE(pub->pools[2]->maglev);  // roundrobin needs none
  ASSERT_EQ(pub->plans.size(), 1u);
  EXPECT_EQ(pub->plan<FakePlane::Plan>(0)->services, 1u);
  ASSERT_EQ(pub->snapshot->serviceLogs[0].size(), 1u);  // the log sink is open
}

TEST(Builder, RuntimeChangeTouchesOnlyItsPool) {
  Fixture f;
  auto before = f.builder.current();
  auto rt = f.runtime();
  rt[1][0].effectiveWeight = 5;  // other/x
  EXPECT_EQ(f.builder.publishRuntime(rt, false), 2u);
  auto after = f.builder.current();
  EXPECT_EQ(f.box.current(), after);
  // The same config, counters, log sinks and plans.
  EXPECT_EQ(after->snapshot->config, before->snapshot->config);
  EXPECT_EQ(after->snapshot->serverStats, before->snapshot->serverStats);
  EXPECT_EQ(after->snapshot->loads, before->snapshot->loads);
  EXPECT_EQ(after->snapshot->serviceLogs, before->snapshot->serviceLogs);
  EXPECT_EQ(after->plans, before->plans);
  EXPECT_EQ(f.plane.plans, 1);  // not asked again
  // Only the changed pool has new tables.
  EXPECT_EQ(after->pools[0], before->pools[0]);
  EXPECT_NE(after->pools[1], before->pools[1]);
  EXPECT_EQ(after->pools[2], before->pools[2]);
  EXPECT_EQ(after->snapshot->runtime[1][0].effectiveWeight, 5u);
  // Nothing changed at all: every table is kept.
  EXPECT_EQ(f.builder.publishRuntime(rt, false), 3u);
  for (size_t p = 0; p < 3; ++p) EXPECT_EQ(f.builder.current()->pools[p], after->pools[p]);
}

TEST(Builder, ShutdownMovesTheSequence) {
  Fixture f;
  const uint64_t seq = f.builder.current()->snapshot->shutdownSeq;
  f.builder.publishRuntime(f.runtime(), true);
  EXPECT_EQ(f.builder.current()->snapshot->shutdownSeq, seq + 1);
}

TEST(Builder, StructuralChangeKeepsWhatItDoesNotTouch) {
  Fixture f;
  auto before = f.builder.current();
  const model::Config& cfg = f.builder.config();
  ASSERT_TRUE(f.change([&](RuntimeOverrides& o) {
    o.setServerAddr(cfg, f.builder.fileConfig(), 0, 1, *SockAddr::parse("10.0.0.9:80"));
  }));
  auto after = f.builder.current();
  EXPECT_EQ(after->generation, before->generation + 1);
  EXPECT_NE(after->snapshot->config, before->snapshot->config);
  EXPECT_EQ(after->config().pools[0].servers[1].addr.toString(), "10.0.0.9:80");
  EXPECT_EQ(f.builder.fileConfig().pools[0].servers[1].addr.toString(), "10.0.0.2:80");
  // Untouched pools keep their tables, and every pool its counters and PoolLoad (same
  // servers); the log sinks are not opened again.
  EXPECT_NE(after->pools[0], before->pools[0]);
  EXPECT_EQ(after->pools[1], before->pools[1]);
  EXPECT_EQ(after->pools[2], before->pools[2]);
  EXPECT_EQ(after->snapshot->loads, before->snapshot->loads);
  EXPECT_EQ(after->snapshot->serverStats, before->snapshot->serverStats);
  EXPECT_EQ(after->snapshot->serviceLogs, before->snapshot->serviceLogs);
}

TEST(Builder, AFailedChangeChangesNothing) {
  Fixture f;
  auto before = f.builder.current();
  f.plane.fail = "cannot bind";
  const model::Config& cfg = f.builder.config();
  Status st = f.change(
      [&](RuntimeOverrides& o) { o.setServerMaxconn(cfg, f.builder.fileConfig(), 0, 0, 5); });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error(), "cannot bind");
  EXPECT_EQ(f.builder.current(), before);
  EXPECT_EQ(f.box.current(), before);
  EXPECT_TRUE(f.builder.overrides().empty());
  EXPECT_EQ(f.plane.seen.size(), 1u);
}

TEST(Builder, DrainPlansNothingNew) {
  Fixture f;
  f.builder.drain();
  EXPECT_EQ(f.builder.current()->plan<FakePlane::Plan>(0)->services, 0u);
  EXPECT_TRUE(f.builder.await(f.builder.generation(), kSeconds));
}

// ---- overrides across reloads ----

TEST(Overrides, KeptAcrossAReloadUntilTheFileChangesTheSetting) {
  Fixture f;
  const model::Config& cfg = f.builder.config();
  ASSERT_TRUE(f.change([&](RuntimeOverrides& o) {
    o.setServerAddr(cfg, f.builder.fileConfig(), 0, 0, *SockAddr::parse("10.9.9.9:81"));
  }));
  // A reload of the same files keeps the runtime address.
  auto c = f.builder.prepare(load(kConfig), f.builder.overrides());
  ASSERT_TRUE(c);
  f.builder.commit(std::move(*c));
  EXPECT_EQ(f.builder.config().pools[0].servers[0].addr.toString(), "10.9.9.9:81");
  // Files that change that server's address win.
  std::string changed(kConfig);
  changed.replace(changed.find("10.0.0.1:80"), 11, "10.0.0.7:80");
  c = f.builder.prepare(load(changed), f.builder.overrides());
  ASSERT_TRUE(c);
  f.builder.commit(std::move(*c));
  EXPECT_EQ(f.builder.config().pools[0].servers[0].addr.toString(), "10.0.0.7:80");
  EXPECT_TRUE(f.builder.overrides().empty());
}

TEST(Overrides, DynamicServersSurviveAReload) {
  Fixture f;
  model::Server d;
  d.name = "d";
  d.addr = *SockAddr::parse("10.0.0.4:80");
  d.addrText = "10.0.0.4:80";
  d.id = 4;
  d.dynamic = true;
  ASSERT_TRUE(f.change([&](RuntimeOverrides& o) { o.addServer(f.builder.config(), 0, d); }));
  ASSERT_EQ(f.builder.config().pools[0].servers.size(), 4u);
  auto c = f.builder.prepare(load(kConfig), f.builder.overrides());
  ASSERT_TRUE(c);
  f.builder.commit(std::move(*c));
  ASSERT_EQ(f.builder.config().pools[0].servers.size(), 4u);
  EXPECT_EQ(f.builder.config().pools[0].servers[3].name, "d");
  EXPECT_TRUE(f.builder.config().pools[0].servers[3].dynamic);
  // Deleted: gone, also after a reload of the same files.
  ASSERT_TRUE(f.change([&](RuntimeOverrides& o) {
    o.delServer(f.builder.config(), f.builder.fileConfig(), 0, 1);  // b, from the files
  }));
  c = f.builder.prepare(load(kConfig), f.builder.overrides());
  ASSERT_TRUE(c);
  f.builder.commit(std::move(*c));
  const auto& servers = f.builder.config().pools[0].servers;
  ASSERT_EQ(servers.size(), 3u);
  EXPECT_EQ(servers[0].name, "a");
  EXPECT_EQ(servers[1].name, "c");
  EXPECT_EQ(servers[2].name, "d");
}

// ---- real indices ----

std::map<std::string, uint32_t> realsOf(const model::Config& c) {
  std::map<std::string, uint32_t> out;
  for (const auto& p : c.pools)
    for (const auto& s : p.servers) out[p.name + "/" + s.name] = s.real;
  return out;
}

TEST(RealIndex, StableAcrossChangesAndReusedLast) {
  Fixture f;
  const auto first = realsOf(f.builder.config());
  ASSERT_EQ(first.size(), 6u);
  std::set<uint32_t> distinct;
  for (const auto& [name, r] : first) distinct.insert(r);
  EXPECT_EQ(distinct.size(), 6u);
  // A reload that drops b and reorders keeps everyone else's index; a new server takes
  // a never-used one, not b's.
  auto c = f.builder.prepare(
      load("defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 1s\n"
           "    timeout server 1s\n"
           "frontend web\n    bind 127.0.0.1:8080\n    default_backend hashed\n"
           "backend plain\n    server p 10.0.2.1:80\n"
           "backend hashed\n    balance maglev\n"
           "    server c 10.0.0.3:80\n    server n 10.0.0.5:80\n    server a 10.0.0.1:80\n"
           "backend other\n    balance maglev\n"
           "    server y 10.0.1.2:80\n    server x 10.0.1.1:80\n"),
      {});
  ASSERT_TRUE(c);
  f.builder.commit(std::move(*c));
  const auto second = realsOf(f.builder.config());
  for (const auto& [name, r] : second) {
    if (name == "hashed/n") {
      EXPECT_EQ(r, 6u);  // never used before
      continue;
    }
    EXPECT_EQ(r, first.at(name)) << name;
  }
}

TEST(RealIndex, FreedIndicesComeBackOldestFirstOnceAllAreUsed) {
  RealIndex reals(4);
  auto cfg = load(
      "backend b\n    server s0 10.0.0.1:1\n    server s1 10.0.0.1:2\n    server s2 10.0.0.1:3\n");
  reals.assign(*cfg, nullptr);
  EXPECT_EQ(realsOf(*cfg),
            (std::map<std::string, uint32_t>{{"b/s0", 0}, {"b/s1", 1}, {"b/s2", 2}}));
  // s1 then s0 leave; t0 takes the last never-used index, t1 the oldest freed.
  auto next = load("backend b\n    server s0 10.0.0.1:1\n    server s2 10.0.0.1:3\n");
  reals.assign(*next, cfg.get());
  auto third = load(
      "backend b\n    server s2 10.0.0.1:3\n    server t0 10.0.0.1:4\n"
      "    server t1 10.0.0.1:5\n");
  reals.assign(*third, next.get());
  EXPECT_EQ(realsOf(*third),
            (std::map<std::string, uint32_t>{{"b/s2", 2}, {"b/t0", 3}, {"b/t1", 1}}));
}

TEST(RealIndex, SeedsFromAnEarlierProcessGoBackToTheServersAtThoseAddresses) {
  RealIndex reals;
  auto v4 = [](uint8_t last) {
    std::array<uint8_t, 16> a{};
    a[10] = a[11] = 0xff;
    a[12] = 10;
    a[15] = last;
    return a;
  };
  // The earlier process had 10.0.0.2 at 5 and 10.0.0.1:80 (a NAT real: its port) at 7, and
  // 10.0.0.9 at 1, which the new configuration no longer has.
  reals.seed({{5, v4(2), 0}, {7, v4(1), 80}, {1, v4(9), 0}});
  auto cfg = load(
      "backend b\n    server one 10.0.0.1:80\n    server two 10.0.0.2:443\n"
      "    server other 10.0.0.1:81\n    server three 10.0.0.3:80\n");
  reals.assign(*cfg, nullptr);
  const auto got = realsOf(*cfg);
  EXPECT_EQ(got.at("b/one"), 7u);
  EXPECT_EQ(got.at("b/two"), 5u);
  // The others take fresh indices, never a seeded one (1's flows are scheduled anew).
  std::set<uint32_t> fresh = {got.at("b/other"), got.at("b/three")};
  EXPECT_EQ(fresh, (std::set<uint32_t>{0, 2}));
  auto more = load(
      "backend b\n    server one 10.0.0.1:80\n    server two 10.0.0.2:443\n"
      "    server other 10.0.0.1:81\n    server three 10.0.0.3:80\n"
      "    server four 10.0.0.4:80\n    server five 10.0.0.5:80\n");
  reals.assign(*more, cfg.get());
  EXPECT_EQ(realsOf(*more).at("b/four"), 3u);
  EXPECT_EQ(realsOf(*more).at("b/five"), 4u);  // 5 is taken, 1 stays reserved
}

// ---- Maglev: computed once, from address keys ----

std::vector<std::string> slotKeys(const model::Config& cfg, const Publication& pub, size_t pool) {
  const auto keys = sched::maglevKeys(cfg.pools[pool]);
  std::vector<std::string> out;
  for (int32_t idx : pub.pools[pool]->maglev->table())
    out.push_back(idx < 0 ? "-" : keys[static_cast<size_t>(idx)]);
  return out;
}

TEST(MaglevOnce, KeysAreAddresses) {
  auto cfg = load(
      "backend b\n    server one 10.0.0.1:80\n    server two [2001:db8::1]:80\n"
      "    server again 10.0.0.1:80\n");
  EXPECT_EQ(sched::maglevKeys(cfg->pools[0]),
            (std::vector<std::string>{"10.0.0.1:80", "[2001:db8::1]:80", "10.0.0.1:80#again"}));
}

TEST(MaglevOnce, TwoNodesWithTheSameServersBuildTheSameTable) {
  // Node 1 declares a, b, c; node 2 declares other names in another order, with a
  // server added and deleted at run time in between: the slot -> server assignment is
  // byte for byte the same.
  Fixture one;
  PublicationBox box2;
  FakePlane plane2;
  Builder two(box2, {&plane2});
  auto c = two.prepare(load("backend hashed\n    balance maglev\n    server third 10.0.0.3:80\n"
                            "    server tmp 10.0.0.8:80\n    server first 10.0.0.1:80\n"
                            "    server second 10.0.0.2:80\n"
                            "backend other\n    balance maglev\n    server x 10.0.1.1:80\n"),
                       {});
  ASSERT_TRUE(c);
  two.commit(std::move(*c));
  RuntimeOverrides o = two.overrides();
  o.delServer(two.config(), two.fileConfig(), 0, 1);  // tmp
  c = two.prepare(two.filePtr(), std::move(o));
  ASSERT_TRUE(c);
  two.commit(std::move(*c));
  const auto k1 = slotKeys(one.builder.config(), *one.builder.current(), 0);
  const auto k2 = slotKeys(two.config(), *two.current(), 0);
  ASSERT_EQ(k1.size(), sched::Maglev::kDefaultTableSize);
  EXPECT_EQ(k1, k2);
}

// Pins slot -> key of a small table: a change here changes which server every node of a
// fleet (and the packet data plane) picks for a flow, so it must be deliberate.
TEST(MaglevOnce, GoldenSlotsToKeys) {
  auto cfg = load(
      "backend b\n    balance maglev\n    server a 10.0.0.1:80\n    server b 10.0.0.2:80\n"
      "    server c [2001:db8::3]:443 weight 2\n");
  std::vector<model::ServerRuntime> rt;
  for (const auto& s : cfg->pools[0].servers) rt.push_back({model::ServerState::kUp, s.weight});
  auto table = sched::buildPoolMaglev(cfg->pools[0], rt, false, 13);
  std::string s;
  for (int32_t id : table->table()) s += static_cast<char>('a' + id);
  EXPECT_EQ(s, "cccbbcaaacbcc");  // from an independent implementation of the spec
}

}  // namespace
}  // namespace fulcrum::control

namespace fulcrum::control {
namespace {

std::map<std::string, uint32_t> idsOf(const model::Config& c, size_t pool) {
  std::map<std::string, uint32_t> out;
  for (const auto& s : c.pools[pool].servers) out[s.name] = s.id;
  return out;
}

TEST(ServerIds, KeptByNameAcrossAddDelAndReload) {
  Fixture f;  // hashed: a 1, b 2, c 3
  EXPECT_EQ(idsOf(f.builder.config(), 0),
            (std::map<std::string, uint32_t>{{"a", 1}, {"b", 2}, {"c", 3}}));
  ASSERT_TRUE(f.change([&](RuntimeOverrides& o) {
    o.delServer(f.builder.config(), f.builder.fileConfig(), 0, 1);  // b
  }));
  model::Server d;
  d.name = "d";
  d.addr = *SockAddr::parse("10.0.0.4:80");
  d.id = 2;  // what "add server" gives it: the smallest free id
  d.dynamic = true;
  ASSERT_TRUE(f.change([&](RuntimeOverrides& o) { o.addServer(f.builder.config(), 0, d); }));
  EXPECT_EQ(idsOf(f.builder.config(), 0),
            (std::map<std::string, uint32_t>{{"a", 1}, {"c", 3}, {"d", 2}}));
  // A reload that adds n before c: nobody is renumbered, n takes a free id.
  std::string withN(kConfig);
  withN.insert(withN.find("    server c "), "    server n 10.0.0.5:80\n");
  auto c = f.builder.prepare(load(withN), f.builder.overrides());
  ASSERT_TRUE(c);
  f.builder.commit(std::move(*c));
  EXPECT_EQ(idsOf(f.builder.config(), 0),
            (std::map<std::string, uint32_t>{{"a", 1}, {"c", 3}, {"d", 2}, {"n", 4}}));
  // An explicit id wins over a kept one: c moves to the smallest free id.
  std::string explicitId(withN);
  explicitId.replace(explicitId.find("10.0.0.5:80"), 11, "10.0.0.5:80 id 3");
  c = f.builder.prepare(load(explicitId), f.builder.overrides());
  ASSERT_TRUE(c);
  f.builder.commit(std::move(*c));
  EXPECT_EQ(idsOf(f.builder.config(), 0),
            (std::map<std::string, uint32_t>{{"a", 1}, {"c", 4}, {"d", 2}, {"n", 3}}));
}

}  // namespace
}  // namespace fulcrum::control

namespace fulcrum::control {
namespace {

// ipvsadm -A: a runtime packet service is a frontend and a backend named after its VIP,
// kept across reloads until the files take its name or its VIP, or del service.
TEST(RuntimeServices, AddedServicesAreSectionsOfTheConfigInForce) {
  Fixture f;
  const SockAddr vip = *SockAddr::parse("203.0.113.1:443");
  const std::string name = RuntimeOverrides::serviceName(model::Protocol::kTcp, vip);
  EXPECT_EQ(name, "tcp:203.0.113.1:443");
  model::Balance rr;
  rr.algo = model::BalanceAlgo::kRoundRobin;
  Status added = Ok{};
  ASSERT_TRUE(f.change([&](RuntimeOverrides& o) {
    added = o.addService(f.builder.config(), model::Protocol::kTcp, vip, rr);
  }));
  ASSERT_TRUE(added) << added.error();
  const model::Config& c = f.builder.config();
  const int s = c.findService(name), p = c.findPool(name);
  ASSERT_GE(s, 0);
  ASSERT_GE(p, 0);
  const model::Service& svc = c.services[static_cast<size_t>(s)];
  EXPECT_EQ(svc.forwarding, model::Forwarding::kPacket);
  EXPECT_EQ(svc.defaultPool, p);
  ASSERT_EQ(svc.binds.size(), 1u);
  EXPECT_EQ(svc.binds[0].addr, vip);
  EXPECT_EQ(c.pools[static_cast<size_t>(p)].balance.algo, model::BalanceAlgo::kRoundRobin);
  // Ids are unique among sections.
  std::set<uint32_t> ids;
  for (const auto& x : c.services) EXPECT_TRUE(ids.insert(x.id).second) << x.name;
  for (const auto& x : c.pools) EXPECT_TRUE(ids.insert(x.id).second) << x.name;
  // The same VIP again, or a VIP a frontend binds: refused.
  RuntimeOverrides o = f.builder.overrides();
  EXPECT_EQ(o.addService(c, model::Protocol::kTcp, vip, rr).error(),
            "Service 'tcp:203.0.113.1:443' already exists.");
  EXPECT_EQ(o.addService(c, model::Protocol::kTcp, *SockAddr::parse("127.0.0.1:8080"), rr).error(),
            "VIP 127.0.0.1:8080 is already served by frontend 'web'.");
  // A server added to it, then a reload of the same files: both stay.
  model::Server srv;
  srv.name = "10.0.1.1:443";
  srv.addr = *SockAddr::parse("10.0.1.1:443");
  srv.addrText = "10.0.1.1:443";
  srv.dynamic = true;
  ASSERT_TRUE(f.change([&](RuntimeOverrides& x) { x.addServer(f.builder.config(), p, srv); }));
  auto reload = f.builder.prepare(f.builder.filePtr(), f.builder.overrides());
  ASSERT_TRUE(reload.ok());
  f.builder.commit(std::move(*reload));
  const int p2 = f.builder.config().findPool(name);
  ASSERT_GE(p2, 0);
  ASSERT_EQ(f.builder.config().pools[static_cast<size_t>(p2)].servers.size(), 1u);
  // The scheduler changes (ipvsadm -E); a configured section cannot be changed that way.
  model::Balance mh;
  mh.algo = model::BalanceAlgo::kMaglev;
  Status set = Ok{};
  ASSERT_TRUE(f.change([&](RuntimeOverrides& x) { set = x.setServiceBalance(name, mh); }));
  ASSERT_TRUE(set);
  EXPECT_EQ(f.builder.config().pools[static_cast<size_t>(p2)].balance.algo,
            model::BalanceAlgo::kMaglev);
  RuntimeOverrides copy = f.builder.overrides();
  EXPECT_FALSE(copy.setServiceBalance("hashed", mh));
  // del service: the service and its servers are gone.
  Status gone = Ok{};
  ASSERT_TRUE(f.change([&](RuntimeOverrides& x) { gone = x.delService(name); }));
  ASSERT_TRUE(gone);
  EXPECT_LT(f.builder.config().findService(name), 0);
  EXPECT_LT(f.builder.config().findPool(name), 0);
  EXPECT_TRUE(f.builder.overrides().empty());
}

}  // namespace
}  // namespace fulcrum::control
