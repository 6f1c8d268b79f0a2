#include "faas/adaptive_keep_alive.h"

#include <gtest/gtest.h>

#include <random>

namespace nimbus::faas {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;
using Kind = KeepAliveWindow::Kind;

// Virtual time: a policy takes every instant as an argument.
TimePoint at(Duration d) {
  return TimePoint(d);
}

TEST(AdaptiveKeepAlive, FallsBackToFixedUntilItHasSamples) {
  AdaptiveKeepAlive p;
  EXPECT_EQ(p.keep_alive("f:1", at(minutes(0))), minutes(15));
  p.on_arrival("f:1", at(minutes(0)), 1);
  p.on_arrival("f:1", at(minutes(30)), 1);
  EXPECT_EQ(p.window("f:1").kind, Kind::kFallback);
  EXPECT_EQ(p.keep_alive("f:1", at(minutes(30))), minutes(15));
  EXPECT_FALSE(p.next_prewarm("f:1", at(minutes(31)), 0));
}

// A timer every 30 minutes: nothing is kept in between; an instance is
// pre-warmed shortly before each arrival and kept just past it.
TEST(AdaptiveKeepAlive, PeriodicFunctionIsPrewarmedNotKept) {
  AdaptiveKeepAlive p;
  for (int i = 0; i <= 6; ++i) p.on_arrival("cron:1", at(minutes(30 * i)), 1);
  KeepAliveWindow w = p.window("cron:1");
  ASSERT_EQ(w.kind, Kind::kHistogram);
  EXPECT_EQ(w.prewarm, minutes(27));                      // bin 30's lower edge - 10 %
  EXPECT_EQ(w.prewarm + w.keep_alive, seconds(31 * 66));  // bin 30's upper edge + 10 %

  TimePoint last = at(minutes(180));
  // The instance that ran the last call is reclaimed at once...
  EXPECT_EQ(p.keep_alive("cron:1", last + seconds(2)), Duration::zero());
  // ... and the pool is asked to start one when the window opens.
  auto pre = p.next_prewarm("cron:1", last + seconds(2), 0);
  ASSERT_TRUE(pre);
  EXPECT_EQ(pre->at, last + minutes(27));
  EXPECT_EQ(pre->instances, 1);
  // Not while an instance is still up.
  EXPECT_FALSE(p.next_prewarm("cron:1", last + seconds(2), 1));
  // The pre-warmed instance is kept to the end of the window.
  EXPECT_EQ(p.keep_alive("cron:1", last + minutes(27) + seconds(1)),
            seconds(31 * 66) - minutes(27) - seconds(1));
  // Once the window has passed there is nothing more to pre-warm.
  EXPECT_FALSE(p.next_prewarm("cron:1", last + minutes(40), 0));
}

TEST(AdaptiveKeepAlive, BusyFunctionKeepsAShortWindowFromItsLastArrival) {
  AdaptiveKeepAlive p;
  for (int i = 0; i < 100; ++i) p.on_arrival("hot:1", at(seconds(10 * i)), 1);
  KeepAliveWindow w = p.window("hot:1");
  ASSERT_EQ(w.kind, Kind::kHistogram);
  EXPECT_EQ(w.prewarm, Duration::zero());
  EXPECT_EQ(w.keep_alive, seconds(66));
  // The floor for surplus instances applies.
  EXPECT_EQ(p.keep_alive("hot:1", at(seconds(990))), minutes(10));
  AdaptiveKeepAlive no_floor({.min_keep_alive = Duration::zero()});
  for (int i = 0; i < 100; ++i) no_floor.on_arrival("hot:1", at(seconds(10 * i)), 1);
  EXPECT_EQ(no_floor.keep_alive("hot:1", at(seconds(1000))), seconds(56));
}

TEST(AdaptiveKeepAlive, FlatHistogramIsNotRepresentative) {
  AdaptiveKeepAlive p;
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> gap(1, 200 * 60);  // seconds, spread over 200 bins
  Duration t{0};
  for (int i = 0; i < 500; ++i) {
    t += seconds(gap(rng));
    p.on_arrival("flat:1", at(t), 1);
  }
  EXPECT_EQ(p.window("flat:1").kind, Kind::kFallback);
  EXPECT_EQ(p.keep_alive("flat:1", at(t)), minutes(15));
}

TEST(AdaptiveKeepAlive, IdleTimesBeyondTheRangeArePredictedFromTheirAverage) {
  AdaptiveKeepAlive p;
  for (int i = 0; i <= 5; ++i) p.on_arrival("daily:1", at(hours(6 * i)), 1);
  KeepAliveWindow w = p.window("daily:1");
  ASSERT_EQ(w.kind, Kind::kOutOfRange);
  EXPECT_NEAR(std::chrono::duration<double>(w.prewarm).count(), 6 * 3600 * 0.85, 1e-3);
  auto pre = p.next_prewarm("daily:1", at(hours(30) + seconds(1)), 0);
  ASSERT_TRUE(pre);
  EXPECT_EQ(pre->at, at(hours(30)) + w.prewarm);
}

// A spike of 20 concurrent instances at minute 5 of two hours is expected at
// minute 5 of the next one: the pool is asked for 20 instances ahead of it,
// and they are kept until the spike's minute is over.
TEST(AdaptiveKeepAlive, RecurringSpikeIsPrewarmed) {
  AdaptiveKeepAlive p;
  for (int h = 0; h < 2; ++h) {
    p.on_arrival("batch:1", at(hours(h) + minutes(5)), 1);
    p.on_arrival("batch:1", at(hours(h) + minutes(5) + seconds(1)), 20);
  }
  EXPECT_EQ(p.predicted_spike("batch:1", at(hours(2) + minutes(5) + seconds(30))), 20);
  EXPECT_EQ(p.predicted_spike("batch:1", at(hours(2) + minutes(6))), 0);
  auto pre = p.next_prewarm("batch:1", at(hours(1) + minutes(20)), 0);
  ASSERT_TRUE(pre);
  EXPECT_EQ(pre->at, at(hours(2) + minutes(5) - seconds(30)));
  EXPECT_EQ(pre->instances, 20);
  EXPECT_FALSE(p.next_prewarm("batch:1", at(hours(1) + minutes(20)), 20));
  // Pre-warmed instances parking before the spike are held through it.
  EXPECT_GE(p.keep_alive("batch:1", at(hours(2) + minutes(4) + seconds(40))), seconds(80));
}

TEST(AdaptiveKeepAlive, OneOffSpikeOrStoppedPatternIsNotPrewarmed) {
  AdaptiveKeepAlive p;
  p.on_arrival("f:1", at(minutes(5)), 20);  // once: no pattern
  EXPECT_EQ(p.predicted_spike("f:1", at(hours(1) + minutes(5))), 0);
  p.on_arrival("f:1", at(hours(1) + minutes(5)), 20);  // twice: a pattern
  EXPECT_EQ(p.predicted_spike("f:1", at(hours(2) + minutes(5))), 20);
  // It stopped: three hours later it is no longer predicted.
  EXPECT_EQ(p.predicted_spike("f:1", at(hours(4) + minutes(5))), 0);
}

TEST(FixedKeepAlive, AlwaysTheSameAndNeverPrewarms) {
  FixedKeepAlive p(minutes(10));
  p.on_arrival("f:1", at(minutes(0)), 30);
  EXPECT_EQ(p.keep_alive("f:1", at(minutes(1))), minutes(10));
  EXPECT_FALSE(p.next_prewarm("f:1", at(minutes(1)), 0));
}

}  // namespace
}  // namespace nimbus::faas
