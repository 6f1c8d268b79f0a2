#include "faas/concurrency_limit.h"

#include <algorithm>

namespace nimbus::faas {

namespace {
// Weight of a new sample in the smoothed contention: a few samples decide,
// one noisy one does not.
constexpr double kAlpha = 0.25;
}  // namespace

ConcurrencyLimit::ConcurrencyLimit(int floor, int ceiling)
    : floor_(std::max(1, floor)), ceiling_(std::max(floor_, ceiling)), limit_(ceiling_) {}

bool ConcurrencyLimit::on_sample(TimePoint now, Duration busy_time, Duration run_delay, int busy,
                                 int waiting) {
  if (busy_time <= Duration::zero()) return false;
  double share = std::clamp(
      static_cast<double>(run_delay.count()) / static_cast<double>(busy_time.count()), 0.0, 1.0);
  contention_ = measured_ ? contention_ + kAlpha * (share - contention_) : share;
  measured_ = true;
  if (contention_ > kShrinkAbove) {
    // Multiplicative decrease from what actually runs: a limit far above the
    // running count (the initial ceiling) would otherwise take many steps.
    int target = std::max(floor_, busy - std::max(1, busy / 5));
    int before = limit_;
    limit_ = std::max(floor_, std::min(limit_, target));
    if (limit_ != before) last_change_ = now;
    return false;
  }
  if (contention_ < kGrowBelow && limit_ < ceiling_ && waiting > 0 &&
      (!last_change_ || now - *last_change_ >= kGrowEvery)) {
    ++limit_;
    last_change_ = now;
    return true;
  }
  return false;
}

}  // namespace nimbus::faas
