// Stream log sinks never block their caller: a destination that stops reading fills a
// bounded buffer, then whole lines are dropped and counted.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "control/log_sinks.h"
#include "support/harness.h"

namespace fulcrum::control {
namespace {

TEST(StreamLogSink, AReaderThatStopsReadingCostsDroppedLinesNotABlockedWriter) {
  test::TempDir dir;
  const std::string fifo = dir.path() + "/log.fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  const int reader = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  ASSERT_GE(reader, 0);
  model::LogTarget t;
  t.kind = model::LogTarget::Kind::kFile;
  t.path = fifo;
  auto sink = openLogSink(t, "fulcrum");
  ASSERT_TRUE(sink) << sink.error();
  const uint64_t totalBefore = model::LogSink::droppedTotal();
  // 8 MiB of 100-byte lines into a 64 KiB pipe and a 4 MiB buffer: returns at once.
  const std::string line = std::string(99, 'x') + "\n";
  std::string batch;
  for (int i = 0; i < 1000; ++i) batch += line;  // 100 kB
  const auto start = test::Clock::now();
  for (int i = 0; i < 80; ++i) (*sink)->write(batch);
  EXPECT_LT(test::Clock::now() - start, std::chrono::seconds(2));
  // What did not fit: dropped by whole batches, counted as lines.
  EXPECT_GE((*sink)->dropped(), 30000u);
  EXPECT_EQ((*sink)->dropped() % 1000, 0u);
  EXPECT_EQ(model::LogSink::droppedTotal() - totalBefore, (*sink)->dropped());
  // The destruction gives up on what it cannot write within its bound.
  const auto stop = test::Clock::now();
  sink->reset();
  EXPECT_LT(test::Clock::now() - stop, std::chrono::seconds(5));
  ::close(reader);
}

}  // namespace
}  // namespace fulcrum::control
