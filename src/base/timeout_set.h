// Many short-lived timeouts that almost never fire: one per API request (the
// integration timeout). A timer per request costs a timer-queue insert, a
// cancel and the cancelled handler's dispatch; here adding and cancelling is
// a map insert and erase under a mutex, and one LazyDeadline tracks the
// earliest entry. Since requests share a few timeout lengths, new entries land
// at the end and the lazy deadline is almost never re-armed.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <utility>

#include "base/clock.h"
#include "base/lazy_deadline.h"

namespace nimbus {

class TimeoutSet {
 public:
  struct Handle {
    TimePoint at{};
    uint64_t id = 0;  // 0: none
  };

  explicit TimeoutSet(Clock& clock);
  TimeoutSet(const TimeoutSet&) = delete;
  TimeoutSet& operator=(const TimeoutSet&) = delete;

  // Runs `on_expire` once `after` has passed, on the clock's executor and
  // without internal locks held, unless cancel() comes first.
  Handle add(Duration after, std::function<void()> on_expire);
  // True when the timeout was still pending: it will not run.
  bool cancel(const Handle& h);
  size_t size() const;

 private:
  void expire_due();

  Clock& clock_;
  mutable std::mutex mu_;
  uint64_t next_id_ = 0;
  std::map<std::pair<TimePoint, uint64_t>, std::function<void()>> pending_;
  LazyDeadline earliest_;  // last: its callback uses the members above
};

}  // namespace nimbus
