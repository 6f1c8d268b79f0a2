#include "base/timeout_set.h"

#include <gtest/gtest.h>

#include <vector>

namespace nimbus {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(TimeoutSet, FiresEachEntryAtItsOwnTime) {
  ManualClock clock;
  TimeoutSet set(clock);
  std::vector<int> fired;
  set.add(seconds(2), [&] { fired.push_back(2); });
  set.add(seconds(1), [&] { fired.push_back(1); });
  set.add(seconds(3), [&] { fired.push_back(3); });
  clock.advance(milliseconds(999));
  EXPECT_TRUE(fired.empty());
  clock.advance(milliseconds(1));
  EXPECT_EQ(fired, (std::vector<int>{1}));
  clock.advance(seconds(2));
  EXPECT_EQ(fired, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(set.size(), 0u);
}

TEST(TimeoutSet, CancelledEntriesNeverFire) {
  ManualClock clock;
  TimeoutSet set(clock);
  int fired = 0;
  auto a = set.add(seconds(1), [&] { ++fired; });
  auto b = set.add(seconds(1), [&] { fired += 10; });
  EXPECT_TRUE(set.cancel(a));
  EXPECT_FALSE(set.cancel(a));  // twice: nothing left to cancel
  clock.advance(seconds(5));
  EXPECT_EQ(fired, 10);
  EXPECT_FALSE(set.cancel(b));  // already fired
  EXPECT_FALSE(set.cancel(TimeoutSet::Handle{}));
}

TEST(TimeoutSet, ManyRequestsOfOneLengthKeepOneTimer) {
  // The hot-path property: equal timeouts added over time schedule no new
  // timer while the earliest is pending.
  ManualClock clock;
  TimeoutSet set(clock);
  int fired = 0;
  for (int i = 0; i < 100; ++i) {
    auto h = set.add(seconds(29), [&] { ++fired; });
    clock.advance(milliseconds(1));
    set.cancel(h);
  }
  EXPECT_LE(clock.pending(), 1u);
  clock.advance(seconds(60));
  EXPECT_EQ(fired, 0);
}

TEST(TimeoutSet, AnEarlierEntryAfterACancelledHeadStillFiresOnTime) {
  ManualClock clock;
  TimeoutSet set(clock);
  int fired = 0;
  auto head = set.add(seconds(10), [&] { fired += 100; });
  set.cancel(head);
  set.add(seconds(20), [&] { ++fired; });
  set.add(seconds(5), [&] { fired += 5; });
  clock.advance(seconds(5));
  EXPECT_EQ(fired, 5);
  clock.advance(seconds(15));
  EXPECT_EQ(fired, 6);
}

TEST(TimeoutSet, ACallbackMayAddAndCancel) {
  // Callbacks run without the set's lock held.
  ManualClock clock;
  TimeoutSet set(clock);
  int fired = 0;
  set.add(seconds(1), [&] {
    ++fired;
    set.add(seconds(1), [&] { ++fired; });
  });
  clock.advance(seconds(1));
  EXPECT_EQ(fired, 1);
  clock.advance(seconds(1));
  EXPECT_EQ(fired, 2);
}

}  // namespace
}  // namespace nimbus
