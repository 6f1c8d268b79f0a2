#include "services/apigateway/usage.h"

#include <gtest/gtest.h>

namespace nimbus::services::apigateway {
namespace {

using std::chrono::milliseconds;

// A full bucket lets `burstLimit` requests through at once, then refills at rateLimit/s.
TEST(TokenBucket, BurstThenRate) {
  ManualClock clock;
  TokenBucket b({.rate = 2, .burst = 3}, clock.now());
  EXPECT_TRUE(b.try_take(clock.now()));
  EXPECT_TRUE(b.try_take(clock.now()));
  EXPECT_TRUE(b.try_take(clock.now()));
  EXPECT_FALSE(b.try_take(clock.now()));
  clock.advance(milliseconds(400));  // 0.8 token
  EXPECT_FALSE(b.try_take(clock.now()));
  clock.advance(milliseconds(100));  // 1.0 token
  EXPECT_TRUE(b.try_take(clock.now()));
  EXPECT_FALSE(b.try_take(clock.now()));
  clock.advance(std::chrono::seconds(60));  // refills up to the burst, no further
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(b.try_take(clock.now()));
  EXPECT_FALSE(b.try_take(clock.now()));
}

TEST(TokenBucket, ZeroBurstRefusesEverything) {
  ManualClock clock;
  TokenBucket b({.rate = 100, .burst = 0}, clock.now());
  clock.advance(std::chrono::seconds(1));
  EXPECT_FALSE(b.try_take(clock.now()));
}

constexpr int64_t kDay = 86'400'000;
// 2023-11-14 22:13:20 UTC (a Tuesday), ManualClock's default wall start.
constexpr int64_t kStart = 1'700'000'000'000;

TEST(Quota, DayWindowResetsAtUtcMidnight) {
  QuotaCounter q({.limit = 2, .period = QuotaPeriod::kDay});
  EXPECT_TRUE(q.try_take(kStart));
  EXPECT_TRUE(q.try_take(kStart + 1000));
  EXPECT_FALSE(q.try_take(kStart + 2000));
  int64_t midnight = (kStart / kDay + 1) * kDay;
  EXPECT_FALSE(q.try_take(midnight - 1));
  EXPECT_EQ(q.remaining(midnight), 2);
  EXPECT_TRUE(q.try_take(midnight));
}

// WEEK windows start on the weekday of `offset` (0 = Sunday, 1 = Monday).
TEST(Quota, WeekWindowStartsOnOffsetDay) {
  int64_t tuesday = (kStart / kDay) * kDay;
  QuotaLimits sunday{.limit = 1, .period = QuotaPeriod::kWeek, .offset = 0};
  QuotaLimits wednesday{.limit = 1, .period = QuotaPeriod::kWeek, .offset = 3};
  // Tuesday → Saturday: same Sunday-based week; Sunday: the next one.
  EXPECT_EQ(quota_window(sunday, tuesday), quota_window(sunday, tuesday + 4 * kDay));
  EXPECT_NE(quota_window(sunday, tuesday), quota_window(sunday, tuesday + 5 * kDay));
  // A Wednesday-based week changes between Tuesday and Wednesday.
  EXPECT_NE(quota_window(wednesday, tuesday), quota_window(wednesday, tuesday + kDay));
  EXPECT_EQ(quota_window(wednesday, tuesday + kDay),
            quota_window(wednesday, tuesday + 7 * kDay - 1));
}

TEST(Quota, MonthWindowFollowsTheCalendar) {
  QuotaCounter q({.limit = 1, .period = QuotaPeriod::kMonth});
  EXPECT_TRUE(q.try_take(kStart));               // 14 November
  EXPECT_FALSE(q.try_take(kStart + 15 * kDay));  // 29 November
  EXPECT_TRUE(q.try_take(kStart + 17 * kDay));   // 1 December
}

TEST(UsageMeter, KeysHaveTheirOwnBucketsAndThrottleComesFirst) {
  ManualClock clock;
  UsageMeter m;
  std::optional<ThrottleLimits> t = ThrottleLimits{.rate = 1, .burst = 1};
  std::optional<QuotaLimits> q = QuotaLimits{.limit = 2, .period = QuotaPeriod::kDay};
  EXPECT_EQ(m.check("p", "k1", t, q, clock.now(), clock.wall_ms()), UsageVerdict::kOk);
  EXPECT_EQ(m.check("p", "k1", t, q, clock.now(), clock.wall_ms()), UsageVerdict::kThrottled);
  EXPECT_EQ(m.check("p", "k2", t, q, clock.now(), clock.wall_ms()), UsageVerdict::kOk);
  clock.advance(std::chrono::seconds(1));
  EXPECT_EQ(m.check("p", "k1", t, q, clock.now(), clock.wall_ms()), UsageVerdict::kOk);
  clock.advance(std::chrono::seconds(1));
  EXPECT_EQ(m.check("p", "k1", t, q, clock.now(), clock.wall_ms()), UsageVerdict::kQuotaExceeded);
  m.reset();
  EXPECT_EQ(m.check("p", "k1", t, q, clock.now(), clock.wall_ms()), UsageVerdict::kOk);
}

}  // namespace
}  // namespace nimbus::services::apigateway
