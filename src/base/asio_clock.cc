#include "base/asio_clock.h"

#include <atomic>
#include <boost/asio/steady_timer.hpp>

namespace nimbus {

TimePoint AsioClock::now() const {
  return std::chrono::time_point_cast<Duration>(std::chrono::steady_clock::now());
}

int64_t AsioClock::wall_ms() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace {
struct PendingTimer {
  explicit PendingTimer(const boost::asio::any_io_executor& ex) : timer(ex) {}
  boost::asio::steady_timer timer;
  std::atomic<bool> cancelled{false};
};
}  // namespace

TimerHandle AsioClock::call_at(TimePoint when, std::function<void()> fn) {
  auto pending = std::make_shared<PendingTimer>(ex_);
  pending->timer.expires_at(
      std::chrono::time_point_cast<std::chrono::steady_clock::duration>(when));
  pending->timer.async_wait([pending, fn = std::move(fn)](const boost::system::error_code& ec) {
    if (!ec && !pending->cancelled.load()) fn();
  });
  // The flag makes cancellation immediate whatever the timer's state. cancel()
  // then frees the timer queue entry at once (a 15-minute keep-alive timer per
  // idle period would otherwise pile up); it is called directly rather than
  // posted because a post wakes another I/O thread on every invocation. The
  // only other member call on this timer, async_wait, returned above, and the
  // reactor serialises cancel() with the expiry under its own lock.
  return TimerHandle([pending] {
    pending->cancelled = true;
    pending->timer.cancel();
  });
}

}  // namespace nimbus
