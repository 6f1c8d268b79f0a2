#include "base/lazy_deadline.h"

#include <mutex>
#include <optional>

namespace nimbus {

struct LazyDeadline::State {
  State(Clock& c, std::function<void()> cb) : clock(c), on_expire(std::move(cb)) {}
  Clock& clock;
  const std::function<void()> on_expire;
  std::mutex mu;
  std::optional<TimePoint> deadline;
  std::optional<TimePoint> armed_at;  // when the pending timer fires, if any
  TimerHandle timer;
};

LazyDeadline::LazyDeadline(Clock& clock, std::function<void()> on_expire)
    : clock_(clock), state_(std::make_shared<State>(clock, std::move(on_expire))) {}

LazyDeadline::~LazyDeadline() {
  TimerHandle timer;
  {
    std::lock_guard lk(state_->mu);
    state_->deadline.reset();
    timer = std::move(state_->timer);
  }
  timer.cancel();  // outside the lock: a clock may run cancellation synchronously
}

void LazyDeadline::set(TimePoint deadline) {
  std::lock_guard lk(state_->mu);
  state_->deadline = deadline;
  // A pending timer that fires at or before the deadline will re-arm itself.
  if (!state_->armed_at || *state_->armed_at > deadline) arm_locked(state_, deadline);
}

void LazyDeadline::clear() {
  std::lock_guard lk(state_->mu);
  state_->deadline.reset();  // the pending timer, if any, finds nothing to do
}

bool LazyDeadline::is_set() const {
  std::lock_guard lk(state_->mu);
  return state_->deadline.has_value();
}

void LazyDeadline::arm_locked(const std::shared_ptr<State>& s, TimePoint at) {
  s->armed_at = at;
  std::weak_ptr<State> weak = s;
  // Replacing the handle cancels a later timer that is still pending.
  s->timer = s->clock.call_at(at, [weak] { fire(weak); });
}

void LazyDeadline::fire(const std::weak_ptr<State>& weak) {
  auto s = weak.lock();
  if (!s) return;
  {
    std::lock_guard lk(s->mu);
    s->armed_at.reset();
    s->timer.release();  // this timer has run; nothing to cancel
    if (!s->deadline) return;
    if (s->clock.now() < *s->deadline) {
      arm_locked(s, *s->deadline);
      return;
    }
    s->deadline.reset();
  }
  s->on_expire();
}

}  // namespace nimbus
