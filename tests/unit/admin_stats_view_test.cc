// RateTracker: per-second rates and sampled maxima, by name, and forgetting objects that
// left the configuration.
#include <gtest/gtest.h>

#include "admin/stats_view.h"
#include "config_test_util.h"
#include "model/snapshot.h"

namespace fulcrum::admin {
namespace {

constexpr const char* kCfg =
    "defaults\n    mode tcp\n"
    "frontend web\n    bind 127.0.0.1:8080\n    default_backend app\n"
    "backend app\n    server a 127.0.0.1:9001\n";

StatRow rowOf(RowType type, std::string proxy, std::string name) {
  StatRow r;
  r.type = type;
  r.proxy = std::move(proxy);
  r.name = std::move(name);
  return r;
}

TEST(AdminRateTracker, RatesAndMaximaPerSecondByName) {
  auto snap = model::Snapshot::initial(config::testutil::load(kCfg));
  RateTracker rt;
  constexpr Micros t0 = 50 * kSeconds;
  snap->serviceStats[0]->accepted = 10;
  snap->serverStats[0][0]->connections = 10;
  snap->serviceStats[0]->active = 3;
  rt.sample(*snap, t0);
  snap->serviceStats[0]->accepted = 30;  // 20 in the second that follows
  snap->serverStats[0][0]->connections = 15;
  snap->serviceStats[0]->active = 1;
  rt.sample(*snap, t0 + kSeconds);

  StatRow fe = rowOf(RowType::kFrontend, "web", "FRONTEND");
  fe.current = 1;
  rt.apply(fe);
  EXPECT_DOUBLE_EQ(fe.rate, 20.0);
  EXPECT_DOUBLE_EQ(fe.rateMax, 20.0);
  EXPECT_EQ(fe.max, 3);  // sampled when it was 3
  StatRow srv = rowOf(RowType::kServer, "app", "a");
  rt.apply(srv);
  EXPECT_DOUBLE_EQ(srv.rate, 5.0);

  // Quieter second: the rate falls, its maximum stays.
  rt.sample(*snap, t0 + 2 * kSeconds);
  fe = rowOf(RowType::kFrontend, "web", "FRONTEND");
  rt.apply(fe);
  EXPECT_DOUBLE_EQ(fe.rate, 0.0);
  EXPECT_DOUBLE_EQ(fe.rateMax, 20.0);
}

TEST(AdminRateTracker, ForgetsObjectsThatLeftTheConfiguration) {
  auto v1 = model::Snapshot::initial(config::testutil::load(kCfg));
  RateTracker rt;
  v1->serverStats[0][0]->connections = 10;
  rt.sample(*v1, 1 * kSeconds);
  v1->serverStats[0][0]->connections = 20;
  rt.sample(*v1, 2 * kSeconds);
  StatRow a = rowOf(RowType::kServer, "app", "a");
  rt.apply(a);
  ASSERT_DOUBLE_EQ(a.rate, 10.0);
  // Server a is renamed b: a's history goes, b starts from nothing.
  auto v2 = model::Snapshot::successor(
      config::testutil::load("defaults\n    mode tcp\n"
                             "frontend web\n    bind 127.0.0.1:8080\n    default_backend app\n"
                             "backend app\n    server b 127.0.0.1:9001\n"),
      *v1);
  rt.sample(*v2, 3 * kSeconds);
  a = rowOf(RowType::kServer, "app", "a");
  rt.apply(a);
  EXPECT_DOUBLE_EQ(a.rateMax, 0.0);
  StatRow b = rowOf(RowType::kServer, "app", "b");
  rt.apply(b);
  EXPECT_DOUBLE_EQ(b.rate, 0.0);
}

}  // namespace
}  // namespace fulcrum::admin
