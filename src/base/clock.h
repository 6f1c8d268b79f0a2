// The one clock abstraction: every timeout, keep-alive and timestamp in Nimbus
// goes through a Clock so that tests and the trace simulator run on virtual time.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <utility>

namespace nimbus {

using Duration = std::chrono::nanoseconds;
using TimePoint = std::chrono::time_point<std::chrono::steady_clock, Duration>;

// Cancels a scheduled callback when destroyed or when cancel() is called.
class TimerHandle {
 public:
  TimerHandle() = default;
  explicit TimerHandle(std::function<void()> cancel) : cancel_(std::move(cancel)) {}
  TimerHandle(TimerHandle&&) = default;
  TimerHandle& operator=(TimerHandle&& o) noexcept {
    cancel();
    cancel_ = std::move(o.cancel_);
    return *this;
  }
  ~TimerHandle() { cancel(); }
  void cancel() {
    if (cancel_) std::exchange(cancel_, nullptr)();
  }
  // Forget the timer without cancelling it.
  void release() { cancel_ = nullptr; }

 private:
  std::function<void()> cancel_;
};

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic time, for durations and deadlines.
  virtual TimePoint now() const = 0;
  // Wall-clock time in milliseconds since the Unix epoch, for user-visible timestamps.
  virtual int64_t wall_ms() const = 0;
  // Runs fn at (or soon after) `when`, on the clock's executor. The callback must
  // not block. Destroying the handle cancels it; a cancelled callback never runs.
  virtual TimerHandle call_at(TimePoint when, std::function<void()> fn) = 0;

  TimerHandle call_after(Duration d, std::function<void()> fn) {
    return call_at(now() + d, std::move(fn));
  }
};

// Virtual time for tests and the simulator: time moves only when advance() is
// called, and due callbacks run inside advance(), in time order.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t wall_start_ms = 1'700'000'000'000) : wall_start_ms_(wall_start_ms) {}
  TimePoint now() const override;
  int64_t wall_ms() const override;
  TimerHandle call_at(TimePoint when, std::function<void()> fn) override;
  void advance(Duration d);
  size_t pending() const;

 private:
  struct State {
    mutable std::mutex mu;
    TimePoint now{};
    uint64_t next_id = 0;
    std::map<std::pair<TimePoint, uint64_t>, std::function<void()>> timers;
  };
  std::shared_ptr<State> s_ = std::make_shared<State>();
  int64_t wall_start_ms_;
};

}  // namespace nimbus
