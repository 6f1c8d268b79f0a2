#include "base/lazy_deadline.h"

#include <gtest/gtest.h>

namespace nimbus {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(LazyDeadline, FiresOnceWhenTheDeadlinePasses) {
  ManualClock clock;
  int fired = 0;
  LazyDeadline d(clock, [&] { ++fired; });
  d.set_after(seconds(3));
  clock.advance(milliseconds(2999));
  EXPECT_EQ(fired, 0);
  clock.advance(milliseconds(1));
  EXPECT_EQ(fired, 1);
  EXPECT_FALSE(d.is_set());
  clock.advance(seconds(10));
  EXPECT_EQ(fired, 1);
}

TEST(LazyDeadline, ClearedDeadlineNeverFires) {
  ManualClock clock;
  int fired = 0;
  LazyDeadline d(clock, [&] { ++fired; });
  d.set_after(seconds(1));
  d.clear();
  clock.advance(seconds(5));
  EXPECT_EQ(fired, 0);
}

TEST(LazyDeadline, MovingLaterKeepsOneTimerAndFiresAtTheNewDeadline) {
  // The hot-path property: set/clear per request schedules no new timer while
  // one is pending.
  ManualClock clock;
  int fired = 0;
  LazyDeadline d(clock, [&] { ++fired; });
  d.set_after(seconds(3));
  for (int i = 0; i < 100; ++i) {
    clock.advance(milliseconds(10));
    d.clear();
    d.set_after(seconds(3));
  }
  EXPECT_EQ(clock.pending(), 1u);
  // First armed at t=3 s; the deadline is now t=4 s: it re-arms, then fires.
  clock.advance(milliseconds(2999));  // t = 3.999 s
  EXPECT_EQ(fired, 0);
  EXPECT_EQ(clock.pending(), 1u);
  clock.advance(milliseconds(1));
  EXPECT_EQ(fired, 1);
}

TEST(LazyDeadline, MovingEarlierArmsAnEarlierTimer) {
  ManualClock clock;
  int fired = 0;
  LazyDeadline d(clock, [&] { ++fired; });
  d.set_after(seconds(30));
  d.set_after(seconds(1));
  clock.advance(seconds(1));
  EXPECT_EQ(fired, 1);
  EXPECT_EQ(clock.pending(), 0u);  // the 30 s timer was cancelled
}

TEST(LazyDeadline, ExpiryMaySetTheDeadlineAgain) {
  ManualClock clock;
  int fired = 0;
  std::unique_ptr<LazyDeadline> d;
  d = std::make_unique<LazyDeadline>(clock, [&] {
    if (++fired < 3) d->set_after(seconds(1));
  });
  d->set_after(seconds(1));
  clock.advance(seconds(10));
  EXPECT_EQ(fired, 3);
}

TEST(LazyDeadline, DestroyedDeadlineNeverFires) {
  ManualClock clock;
  int fired = 0;
  {
    LazyDeadline d(clock, [&] { ++fired; });
    d.set_after(seconds(1));
  }
  EXPECT_EQ(clock.pending(), 0u);
  clock.advance(seconds(2));
  EXPECT_EQ(fired, 0);
}

}  // namespace
}  // namespace nimbus
