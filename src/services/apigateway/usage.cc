#include "services/apigateway/usage.h"

#include <algorithm>
#include <chrono>

namespace nimbus::services::apigateway {

bool TokenBucket::try_take(TimePoint now) {
  if (now > last_) {
    double dt = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min<double>(limits_.burst, tokens_ + dt * limits_.rate);
    last_ = now;
  }
  if (tokens_ < 1.0) return false;
  tokens_ -= 1.0;
  return true;
}

namespace {
int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}
}  // namespace

int64_t quota_window(const QuotaLimits& q, int64_t wall_ms) {
  int64_t days = floor_div(wall_ms, 86'400'000);
  switch (q.period) {
    case QuotaPeriod::kDay:
      return days;
    case QuotaPeriod::kWeek:
      // 1970-01-01 was a Thursday: days + 4 counts from the Sunday before.
      return floor_div(days + 4 - q.offset, 7);
    case QuotaPeriod::kMonth: {
      std::chrono::year_month_day ymd{std::chrono::sys_days{std::chrono::days{days}}};
      return static_cast<int64_t>(static_cast<int>(ymd.year())) * 12 +
             static_cast<unsigned>(ymd.month()) - 1;
    }
  }
  return days;
}

bool QuotaCounter::try_take(int64_t wall_ms) {
  int64_t w = quota_window(limits_, wall_ms);
  if (w != window_) {
    window_ = w;
    used_ = 0;
  }
  if (used_ >= limits_.limit) return false;
  ++used_;
  return true;
}

int64_t QuotaCounter::remaining(int64_t wall_ms) const {
  if (quota_window(limits_, wall_ms) != window_) return limits_.limit;
  return std::max<int64_t>(0, limits_.limit - used_);
}

UsageVerdict UsageMeter::check(const std::string& plan_id, const std::string& key_id,
                               const std::optional<ThrottleLimits>& throttle,
                               const std::optional<QuotaLimits>& quota, TimePoint now,
                               int64_t wall_ms) {
  if (!throttle && !quota) return UsageVerdict::kOk;
  std::lock_guard lk(mu_);
  auto& s = states_[plan_id + "/" + key_id];
  // A plan whose limits changed starts over with the new ones.
  if (throttle) {
    if (!s.bucket || s.throttle_limits.rate != throttle->rate ||
        s.throttle_limits.burst != throttle->burst) {
      s.bucket.emplace(*throttle, now);
      s.throttle_limits = *throttle;
    }
    if (!s.bucket->try_take(now)) return UsageVerdict::kThrottled;
  }
  if (quota) {
    if (!s.quota || s.quota_limits.limit != quota->limit ||
        s.quota_limits.period != quota->period || s.quota_limits.offset != quota->offset) {
      s.quota.emplace(*quota);
      s.quota_limits = *quota;
    }
    if (!s.quota->try_take(wall_ms)) return UsageVerdict::kQuotaExceeded;
  }
  return UsageVerdict::kOk;
}

void UsageMeter::reset() {
  std::lock_guard lk(mu_);
  states_.clear();
}

}  // namespace nimbus::services::apigateway
