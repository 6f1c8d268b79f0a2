#include "faas/concurrency_limit.h"

#include <gtest/gtest.h>

namespace nimbus::faas {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

// Sample times further apart than the limit's growth pacing, unless a test
// asks for a step.
struct Ticks {
  TimePoint now{};
  Duration step = milliseconds(25);
  TimePoint operator()() { return now += step; }
};

TEST(ConcurrencyLimit, StartsAtTheCeilingLikeLambda) {
  ConcurrencyLimit l(2, 1000);
  Ticks t;
  EXPECT_EQ(l.value(), 1000);
}

TEST(ConcurrencyLimit, ShrinksWhileInstancesWaitForCpuDownToTheFloor) {
  ConcurrencyLimit l(2, 1000);
  Ticks t;
  int busy = 64;
  for (int i = 0; i < 40 && l.value() > 2; ++i) {
    // 80% of each invocation spent runnable but not running.
    l.on_sample(t(), microseconds(1000), microseconds(800), busy, 1);
    busy = std::min(busy, l.value());
  }
  EXPECT_EQ(l.value(), 2);
  l.on_sample(t(), microseconds(1000), microseconds(900), 2, 1);
  EXPECT_EQ(l.value(), 2);  // never below the floor
  EXPECT_GT(l.contention(), ConcurrencyLimit::kShrinkAbove);
}

TEST(ConcurrencyLimit, TheFirstShrinkStartsFromWhatRuns) {
  ConcurrencyLimit l(2, 1000);
  Ticks t;
  l.on_sample(t(), microseconds(1000), microseconds(900), 50, 1);
  EXPECT_EQ(l.value(), 40);  // busy 50 less a fifth, not 1000 less a fifth
}

TEST(ConcurrencyLimit, IoBoundFunctionsKeepScalingOut) {
  // A function that sleeps or waits on the network is never runnable while
  // it waits: no run delay, the limit stays where Lambda's would be.
  ConcurrencyLimit l(2, 1000);
  Ticks t;
  for (int i = 0; i < 100; ++i) l.on_sample(t(), milliseconds(1000), microseconds(50), 500, 1);
  EXPECT_EQ(l.value(), 1000);
}

TEST(ConcurrencyLimit, GrowsBackOneStepPerCalmSample) {
  ConcurrencyLimit l(2, 10);
  Ticks t;
  for (int i = 0; i < 20; ++i) l.on_sample(t(), microseconds(100), microseconds(90), l.value(), 1);
  ASSERT_EQ(l.value(), 2);
  int grew = 0;
  for (int i = 0; i < 30; ++i) grew += l.on_sample(t(), microseconds(100), microseconds(0), 2, 1);
  EXPECT_EQ(l.value(), 10);  // back at the ceiling, not past it
  EXPECT_EQ(grew, 8);
}

TEST(ConcurrencyLimit, ModerateContentionHoldsTheLimit) {
  // Between the thresholds neither direction: no oscillation around a
  // working point.
  ConcurrencyLimit l(2, 100);
  Ticks t;
  for (int i = 0; i < 50; ++i) l.on_sample(t(), microseconds(100), microseconds(35), 20, 1);
  EXPECT_EQ(l.value(), 100);
}

TEST(ConcurrencyLimit, GrowsOnlyWhileItHoldsCallsBack) {
  ConcurrencyLimit l(2, 100);
  Ticks t;
  for (int i = 0; i < 10; ++i) l.on_sample(t(), microseconds(100), microseconds(90), l.value(), 1);
  // Calm, but nothing waits: once the smoothed contention has settled, a
  // higher limit would change nothing, so it stays.
  for (int i = 0; i < 10; ++i) l.on_sample(t(), microseconds(100), microseconds(0), l.value(), 0);
  ASSERT_LT(l.contention(), ConcurrencyLimit::kGrowBelow);
  int low = l.value();
  for (int i = 0; i < 10; ++i)
    EXPECT_FALSE(l.on_sample(t(), microseconds(100), microseconds(0), low, 0));
  EXPECT_EQ(l.value(), low);
  EXPECT_TRUE(l.on_sample(t(), microseconds(100), microseconds(0), low, 3));
  EXPECT_EQ(l.value(), low + 1);
}

// Calm samples arrive thousands of times a second under load; the limit
// grows by one at most every kGrowEvery, while a shrink acts at once.
TEST(ConcurrencyLimit, GrowthIsPacedShrinkIsNot) {
  ConcurrencyLimit l(2, 100);
  Ticks t;
  t.step = milliseconds(1);
  for (int i = 0; i < 20; ++i) l.on_sample(t(), microseconds(100), microseconds(90), l.value(), 1);
  ASSERT_EQ(l.value(), 2);
  for (int i = 0; i < 10; ++i) l.on_sample(t(), microseconds(100), microseconds(0), 2, 1);
  ASSERT_LT(l.contention(), ConcurrencyLimit::kGrowBelow);
  int grew = 0;
  for (int i = 0; i < 100; ++i) grew += l.on_sample(t(), microseconds(100), microseconds(0), 3, 1);
  // 120 ms of calm samples after the last shrink: at most one step per 20 ms.
  EXPECT_GE(grew, 4);
  EXPECT_LE(grew, 6);
  int before = l.value();
  for (int i = 0; i < 3; ++i) l.on_sample(t(), microseconds(100), microseconds(100), before, 1);
  EXPECT_LT(l.value(), before);
}

TEST(ConcurrencyLimit, EmptySamplesAreIgnored) {
  ConcurrencyLimit l(2, 100);
  Ticks t;
  EXPECT_FALSE(l.on_sample(t(), Duration::zero(), microseconds(5), 10, 1));
  EXPECT_EQ(l.value(), 100);
  EXPECT_EQ(l.contention(), 0);
}

}  // namespace
}  // namespace nimbus::faas
