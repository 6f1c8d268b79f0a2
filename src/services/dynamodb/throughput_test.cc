#include "services/dynamodb/throughput.h"

#include <gtest/gtest.h>

namespace nimbus::services::dynamodb {
namespace {

using Kind = ThroughputLimiter::Kind;

// A PROVISIONED table can spend up to 300 seconds of unused capacity at
// once, then only what refills: 5 WCU sustain 5 one-unit writes a second.
TEST(ThroughputLimiter, BurstOfFiveMinutesThenTheProvisionedRate) {
  ManualClock clock;
  ThroughputLimiter l(clock);
  int admitted = 0;
  while (l.admit("t", Kind::kWrite, 5)) {
    l.consume("t", Kind::kWrite, 5, 1);
    ++admitted;
    ASSERT_LT(admitted, 10000);
  }
  EXPECT_EQ(admitted, 5 * 300);
  clock.advance(std::chrono::seconds(1));
  int next_second = 0;
  while (l.admit("t", Kind::kWrite, 5)) {
    l.consume("t", Kind::kWrite, 5, 1);
    ++next_second;
  }
  EXPECT_EQ(next_second, 5);
  // Reads have their own bucket.
  EXPECT_TRUE(l.admit("t", Kind::kRead, 5));
}

// One large request may overdraw the bucket; the next waits for the refill.
TEST(ThroughputLimiter, LargeRequestsOverdrawAndLaterOnesWait) {
  ManualClock clock;
  ThroughputLimiter l(clock);
  ASSERT_TRUE(l.admit("t", Kind::kRead, 1));
  l.consume("t", Kind::kRead, 1, 400);  // 300 units of burst, 100 overdrawn
  EXPECT_FALSE(l.admit("t", Kind::kRead, 1));
  clock.advance(std::chrono::seconds(100));
  EXPECT_FALSE(l.admit("t", Kind::kRead, 1));  // back to exactly zero
  clock.advance(std::chrono::seconds(1));
  EXPECT_TRUE(l.admit("t", Kind::kRead, 1));
}

// On-demand tables (0 provisioned) are never throttled; forget() resets.
TEST(ThroughputLimiter, OnDemandIsNeverThrottledAndForgetRefills) {
  ManualClock clock;
  ThroughputLimiter l(clock);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(l.admit("od", Kind::kWrite, 0));
    l.consume("od", Kind::kWrite, 0, 1000);
  }
  l.consume("t", Kind::kWrite, 1, 1000);
  EXPECT_FALSE(l.admit("t", Kind::kWrite, 1));
  l.forget("t");
  EXPECT_TRUE(l.admit("t", Kind::kWrite, 1));
}

}  // namespace
}  // namespace nimbus::services::dynamodb
