// A deadline that moves on every request but rarely fires: an invocation's
// timeout, an idle connection's cut-off. Moving or clearing it only writes
// memory. The clock's timer is armed when none is pending (or when the new
// deadline is earlier than the armed one); when it fires before the current
// deadline it re-arms itself for the remainder. On a hot path this replaces
// two timer-queue updates per request (and, with Asio, often a
// timerfd_settime system call) by nothing.
#pragma once

#include <functional>
#include <memory>

#include "base/clock.h"

namespace nimbus {

class LazyDeadline {
 public:
  // `on_expire` runs on the clock's executor, without internal locks held, at
  // most once per set() that is not moved or cleared before it passes.
  LazyDeadline(Clock& clock, std::function<void()> on_expire);
  ~LazyDeadline();
  LazyDeadline(const LazyDeadline&) = delete;
  LazyDeadline& operator=(const LazyDeadline&) = delete;

  void set(TimePoint deadline);
  void set_after(Duration d) { set(clock_.now() + d); }
  void clear();
  bool is_set() const;

 private:
  struct State;
  static void arm_locked(const std::shared_ptr<State>& s, TimePoint at);
  static void fire(const std::weak_ptr<State>& weak);

  Clock& clock_;
  std::shared_ptr<State> state_;
};

}  // namespace nimbus
