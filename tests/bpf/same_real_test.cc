// The proxy and the packet path pick the same real for the same flow from the same table:
// a publication made by the control plane's builder, its pool's Maglev table asked by the
// proxy's scheduler and, translated to real indices (xdp::ringOf), by the XDP program.
#include <fmt/core.h>
#include <gtest/gtest.h>

#include <map>

#include "balancer_fixture.h"
#include "config/config.h"
#include "control/builder.h"
#include "sched/flow_hash.h"
#include "sched/scheduler.h"
#include "xdp/rings.h"

namespace fulcrum::test {
namespace {

TEST(SameReal, TheProxyAndTheXdpProgramAgreeOnEveryFlow) {
  // Weighted servers, a backup, one server in maintenance, the default table size.
  auto loaded = config::parseText(
      "backend b\n    balance maglev\n"
      "    server a 10.0.1.1:80 weight 1\n    server b 10.0.1.2:80 weight 3\n"
      "    server c [2001:db8:1::3]:80 weight 2\n    server d 10.0.1.4:80 disabled\n"
      "    server e 10.0.1.5:80 backup\n",
      "test.cfg");
  ASSERT_TRUE(loaded.ok());
  control::PublicationBox box;
  control::Builder builder(box, {});
  auto change = builder.prepare(loaded.config, {});
  ASSERT_TRUE(change.ok());
  builder.commit(std::move(*change));
  auto pub = builder.current();
  const model::Pool& pool = pub->config().pools[0];
  const control::PoolTables& tables = *pub->pools[0];
  ASSERT_TRUE(tables.maglev);
  const std::vector<uint32_t> ring = xdp::ringOf(pool, tables);
  ASSERT_EQ(ring.size(), sched::Maglev::kDefaultTableSize);

  Balancer lb(sched::Maglev::kDefaultTableSize, 1);
  ASSERT_TRUE(lb.ok()) << "cannot load balancer.bpf.o (the bpf tests need root / CAP_BPF)";
  lb.addVip("192.0.2.10", 80, 6, 0);
  for (const model::Server& s : pool.servers) lb.setReal(s.real, s.addr.hostString());
  lb.setRing(0, ring);

  // The proxy's own scheduler on the same publication.
  sched::SchedulerOptions opts;
  opts.maglev = tables.maglev;
  auto proxy = sched::makeScheduler(pool, pub->snapshot->runtime[0], nullptr, opts);
  const SockAddr vip = *SockAddr::parse("192.0.2.10:80");
  std::map<uint32_t, int> perReal;
  for (uint32_t i = 0; i < 3000; ++i) {
    const std::string client = fmt::format("198.51.{}.{}", 100 + i % 7, 1 + i % 250);
    const uint16_t port = static_cast<uint16_t>(20000 + i);
    sched::PickContext ctx;
    ctx.flowHash = sched::flowHash(*SockAddr::parse(client + ":" + std::to_string(port)), vip, 6);
    const int picked = proxy->pick(ctx);
    ASSERT_GE(picked, 0);
    const uint32_t real = pool.servers[static_cast<size_t>(picked)].real;

    Ip ip;
    ip.src = Addr::parse(client);
    ip.dst = Addr::parse("192.0.2.10");
    ip.l4 = {6, port, 80, kSyn, ""};
    ASSERT_EQ(lb.run(frame(ip)).verdict, XDP_TX);
    ASSERT_EQ(lb.connReal(ip), real) << client << ":" << port;
    ++perReal[real];
  }
  // Both followed the weights: d (maintenance) and e (backup) never, b about 3x a.
  EXPECT_EQ(perReal.count(pool.servers[3].real), 0u);
  EXPECT_EQ(perReal.count(pool.servers[4].real), 0u);
  EXPECT_GT(perReal[pool.servers[1].real], 2 * perReal[pool.servers[0].real]);
}

}  // namespace
}  // namespace fulcrum::test
