#include "base/clock.h"

#include <vector>

namespace nimbus {

TimePoint ManualClock::now() const {
  std::lock_guard lk(s_->mu);
  return s_->now;
}

int64_t ManualClock::wall_ms() const {
  return wall_start_ms_ +
         std::chrono::duration_cast<std::chrono::milliseconds>(now().time_since_epoch()).count();
}

TimerHandle ManualClock::call_at(TimePoint when, std::function<void()> fn) {
  std::lock_guard lk(s_->mu);
  auto key = std::make_pair(when, s_->next_id++);
  s_->timers.emplace(key, std::move(fn));
  std::weak_ptr<State> weak = s_;
  return TimerHandle([weak, key] {
    if (auto s = weak.lock()) {
      std::lock_guard lk(s->mu);
      s->timers.erase(key);
    }
  });
}

void ManualClock::advance(Duration d) {
  TimePoint target;
  {
    std::lock_guard lk(s_->mu);
    target = s_->now + d;
  }
  for (;;) {
    std::function<void()> fn;
    {
      std::lock_guard lk(s_->mu);
      auto it = s_->timers.begin();
      if (it == s_->timers.end() || it->first.first > target) {
        s_->now = target;
        return;
      }
      s_->now = it->first.first;
      fn = std::move(it->second);
      s_->timers.erase(it);
    }
    fn();  // outside the lock: callbacks may schedule or cancel timers
  }
}

size_t ManualClock::pending() const {
  std::lock_guard lk(s_->mu);
  return s_->timers.size();
}

}  // namespace nimbus
