// The proxy data plane under the builder: workers acknowledge publications, share the
// control plane's Maglev tables, and rebuild only the schedulers of pools that changed.
// No listener is opened (the configs have no frontend).
#include <gtest/gtest.h>

#include "config_test_util.h"
#include "control/builder.h"
#include "proxy/data_plane.h"
#include "support/harness.h"

namespace fulcrum::proxy {
namespace {

using config::testutil::load;

constexpr std::string_view kConfig =
    "backend one\n    balance maglev\n    server a 10.0.0.1:80\n    server b 10.0.0.2:80\n"
    "backend two\n    balance maglev\n    server c 10.0.1.1:80\n    server d 10.0.1.2:80\n";

struct Running {
  explicit Running(int workers) {
    ProxyOptions opts;
    opts.workers = workers;
    proxy = std::make_unique<ProxyDataPlane>(box, 0, stats, opts);
    builder =
        std::make_unique<control::Builder>(box, std::vector<control::DataPlane*>{proxy.get()});
    auto c = builder->prepare(load(kConfig), {});
    EXPECT_TRUE(c.ok());
    builder->commit(std::move(*c));
    EXPECT_TRUE(proxy->start().ok());
    EXPECT_TRUE(builder->await(builder->generation(), 5 * kSeconds));
  }
  ~Running() { proxy->stop(); }

  control::PublicationBox box;
  model::ProcessStats stats;
  std::unique_ptr<ProxyDataPlane> proxy;
  std::unique_ptr<control::Builder> builder;
};

TEST(ProxyDataPlane, WorkersShareOneMaglevTablePerPool) {
  for (int workers : {1, 4}) {
    Running r(workers);
    auto pub = r.builder->current();
    // The publication's tables plus one reference per worker's scheduler: nobody built
    // a table of their own.
    EXPECT_EQ(pub->pools[0]->maglev.use_count(), 1 + workers);
    EXPECT_EQ(pub->pools[1]->maglev.use_count(), 1 + workers);
  }
}

TEST(ProxyDataPlane, ARuntimeChangeRebuildsOnlyItsPoolsSchedulers) {
  Running r(3);
  auto before = r.builder->current();
  auto rt = before->snapshot->runtime;
  rt[1][0].effectiveWeight = 7;
  const uint64_t gen = r.builder->publishRuntime(rt, false);
  // Every worker acknowledges the new generation (no polling on our side).
  ASSERT_TRUE(r.builder->await(gen, 5 * kSeconds));
  auto after = r.builder->current();
  EXPECT_EQ(after->pools[0], before->pools[0]);
  ASSERT_NE(after->pools[1], before->pools[1]);
  // Pool one's table is still held by the three schedulers; pool two's old table is no
  // longer used by anyone once the workers moved on (their old states are dropped after
  // the batch, since no session holds them), the new one by all three.
  EXPECT_EQ(after->pools[0]->maglev.use_count(), 1 + 3);
  EXPECT_EQ(after->pools[1]->maglev.use_count(), 1 + 3);
  std::weak_ptr<const sched::Maglev> old = before->pools[1]->maglev;
  before.reset();
  EXPECT_TRUE(test::eventually([&] { return old.expired(); }));
}

}  // namespace
}  // namespace fulcrum::proxy
