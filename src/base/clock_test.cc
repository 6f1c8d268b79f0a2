#include "base/clock.h"

#include <gtest/gtest.h>

#include <vector>

namespace nimbus {
namespace {

TEST(ManualClock, RunsDueTimersInOrder) {
  ManualClock clock;
  std::vector<int> ran;
  auto a = clock.call_after(std::chrono::seconds(2), [&] { ran.push_back(2); });
  auto b = clock.call_after(std::chrono::seconds(1), [&] { ran.push_back(1); });
  auto c = clock.call_after(std::chrono::seconds(5), [&] { ran.push_back(5); });
  clock.advance(std::chrono::seconds(3));
  EXPECT_EQ(ran, (std::vector<int>{1, 2}));
  EXPECT_EQ(clock.pending(), 1u);
}

TEST(ManualClock, CancelledTimersNeverRun) {
  ManualClock clock;
  bool ran = false;
  {
    auto h = clock.call_after(std::chrono::seconds(1), [&] { ran = true; });
  }  // destroyed: cancelled
  auto h2 = clock.call_after(std::chrono::seconds(1), [&] { ran = true; });
  h2.cancel();
  clock.advance(std::chrono::seconds(2));
  EXPECT_FALSE(ran);
}

TEST(ManualClock, CallbacksMayScheduleMore) {
  ManualClock clock;
  int count = 0;
  std::function<void()> tick;
  TimerHandle h;
  tick = [&] {
    ++count;
    h = clock.call_after(std::chrono::seconds(1), tick);
  };
  h = clock.call_after(std::chrono::seconds(1), tick);
  clock.advance(std::chrono::seconds(5));
  EXPECT_EQ(count, 5);
  EXPECT_EQ(clock.wall_ms(), 1'700'000'000'000 + 5000);
}

}  // namespace
}  // namespace nimbus
