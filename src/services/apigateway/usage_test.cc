#include "services/apigateway/usage.h"

#include <gtest/gtest.h>

#include "services/iam/memory_store_for_tests.h"

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

TEST(Quota, WindowFirstDayInvertsTheWindow) {
  for (auto q : {QuotaLimits{.period = QuotaPeriod::kDay},
                 QuotaLimits{.period = QuotaPeriod::kWeek, .offset = 0},
                 QuotaLimits{.period = QuotaPeriod::kWeek, .offset = 3},
                 QuotaLimits{.period = QuotaPeriod::kMonth}}) {
    for (int64_t d = 0; d < 40; ++d) {
      int64_t t = kStart + d * kDay;
      int64_t first = quota_window_first_day(q, quota_window(q, t));
      EXPECT_LE(first, utc_day(t));
      EXPECT_EQ(quota_window(q, first * kDay), quota_window(q, t));
      EXPECT_NE(quota_window(q, (first - 1) * kDay), quota_window(q, t));
    }
  }
  EXPECT_EQ(format_day(utc_day(kStart)), "2023-11-14");
  EXPECT_EQ(parse_day("2023-11-14"), utc_day(kStart));
  EXPECT_FALSE(parse_day("2023-02-30"));
  EXPECT_FALSE(parse_day("2023-1-01"));
  EXPECT_FALSE(parse_day("yesterday!"));
}

UsageVerdict take(UsageMeter& m, ManualClock& clock, const std::optional<QuotaLimits>& q) {
  return m.check("p", "k", std::nullopt, q, clock.now(), clock.wall_ms());
}

// AWS keeps a key's quota used across its own deployments; a Nimbus restart
// must not hand out a fresh quota. Counts reach the store in one buffered batch
// a second later, never from the request itself.
TEST(UsageMeter, QuotaCountsPersistInBatchesAndSurviveANewMeter) {
  ManualClock clock;
  testing::MemoryStore store;
  std::optional<QuotaLimits> q = QuotaLimits{.limit = 5, .period = QuotaPeriod::kDay};
  {
    UsageMeter m(clock, &store);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(take(m, clock, q), UsageVerdict::kOk);
    EXPECT_EQ(store.writes(), 0u);  // the hot path does not write
    clock.advance(std::chrono::milliseconds(999));
    EXPECT_EQ(store.writes(), 0u);
    clock.advance(std::chrono::milliseconds(1));
    EXPECT_EQ(store.writes(), 1u);  // one batch for the second
    EXPECT_EQ(store.get("apigateway/usage/p/k/2023-11-14"), "3");
    clock.advance(std::chrono::seconds(5));
    EXPECT_EQ(store.writes(), 1u);  // nothing new, nothing written
    EXPECT_EQ(take(m, clock, q), UsageVerdict::kOk);
    // Destroyed before its timer: a clean stop still writes the 4th.
  }
  EXPECT_EQ(store.get("apigateway/usage/p/k/2023-11-14"), "4");
  UsageMeter again(clock, &store);
  EXPECT_EQ(take(again, clock, q), UsageVerdict::kOk);
  EXPECT_EQ(take(again, clock, q), UsageVerdict::kQuotaExceeded);
  again.reset();
  EXPECT_EQ(store.size(), 0u);
  EXPECT_EQ(take(again, clock, q), UsageVerdict::kOk);
}

// A MONTH quota is the sum of the month's days, also after a restart, and a
// new calendar month starts from zero.
TEST(UsageMeter, PersistedQuotaRollsOverWithItsWindow) {
  ManualClock clock;  // 14 November 2023
  testing::MemoryStore store;
  std::optional<QuotaLimits> q = QuotaLimits{.limit = 3, .period = QuotaPeriod::kMonth};
  {
    UsageMeter m(clock, &store);
    EXPECT_EQ(take(m, clock, q), UsageVerdict::kOk);
    clock.advance(std::chrono::days(1));
    EXPECT_EQ(take(m, clock, q), UsageVerdict::kOk);
    clock.advance(std::chrono::seconds(1));
  }
  EXPECT_EQ(store.get("apigateway/usage/p/k/2023-11-14"), "1");
  EXPECT_EQ(store.get("apigateway/usage/p/k/2023-11-15"), "1");
  {
    UsageMeter m(clock, &store);
    EXPECT_EQ(take(m, clock, q), UsageVerdict::kOk);
    EXPECT_EQ(take(m, clock, q), UsageVerdict::kQuotaExceeded);
  }
  clock.advance(std::chrono::days(16));  // 1 December
  UsageMeter m(clock, &store);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(take(m, clock, q), UsageVerdict::kOk);
  EXPECT_EQ(take(m, clock, q), UsageVerdict::kQuotaExceeded);
}

// AWS keeps the quota used when a plan's limit changes; only the new limit applies.
TEST(UsageMeter, ChangedLimitKeepsTheQuotaUsed) {
  ManualClock clock;
  UsageMeter m;
  std::optional<QuotaLimits> q = QuotaLimits{.limit = 2, .period = QuotaPeriod::kDay};
  EXPECT_EQ(take(m, clock, q), UsageVerdict::kOk);
  EXPECT_EQ(take(m, clock, q), UsageVerdict::kOk);
  q->limit = 3;
  EXPECT_EQ(take(m, clock, q), UsageVerdict::kOk);
  EXPECT_EQ(take(m, clock, q), UsageVerdict::kQuotaExceeded);
}

}  // namespace
}  // namespace nimbus::services::apigateway
