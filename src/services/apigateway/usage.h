// Usage plan enforcement: a token bucket per API key (rateLimit requests per
// second refilling up to burstLimit) and a request quota per DAY / WEEK / MONTH
// window (UTC, with API Gateway's offset: the weekday a WEEK starts, 0 =
// Sunday). Everything takes its time from the caller (the injected Clock), so
// tests run on a ManualClock.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "base/clock.h"

namespace nimbus::services::apigateway {

struct ThrottleLimits {
  double rate = 0;  // requests per second
  int burst = 0;    // bucket size
};

enum class QuotaPeriod { kDay, kWeek, kMonth };

struct QuotaLimits {
  int64_t limit = 0;
  QuotaPeriod period = QuotaPeriod::kDay;
  int offset = 0;
};

class TokenBucket {
 public:
  TokenBucket(ThrottleLimits limits, TimePoint now)
      : limits_(limits), tokens_(limits.burst), last_(now) {}
  // Takes one token when there is one.
  bool try_take(TimePoint now);
  double tokens() const { return tokens_; }

 private:
  ThrottleLimits limits_;
  double tokens_;
  TimePoint last_;
};

// The window a wall-clock time falls in: days, weeks or months since the epoch.
int64_t quota_window(const QuotaLimits& q, int64_t wall_ms);

class QuotaCounter {
 public:
  explicit QuotaCounter(QuotaLimits limits) : limits_(limits) {}
  // Counts one request in the window of `wall_ms` when the quota allows it.
  bool try_take(int64_t wall_ms);
  int64_t used() const { return used_; }
  // Requests left in the current window (as of `wall_ms`).
  int64_t remaining(int64_t wall_ms) const;

 private:
  QuotaLimits limits_;
  int64_t window_ = INT64_MIN;
  int64_t used_ = 0;
};

enum class UsageVerdict { kOk, kThrottled, kQuotaExceeded };

// The counters of every (usage plan, API key) pair, shared by all I/O threads.
class UsageMeter {
 public:
  UsageVerdict check(const std::string& plan_id, const std::string& key_id,
                     const std::optional<ThrottleLimits>& throttle,
                     const std::optional<QuotaLimits>& quota, TimePoint now, int64_t wall_ms);
  void reset();

 private:
  struct State {
    std::optional<TokenBucket> bucket;
    std::optional<QuotaCounter> quota;
    ThrottleLimits throttle_limits;
    QuotaLimits quota_limits;
  };
  std::mutex mu_;
  std::map<std::string, State> states_;
};

}  // namespace nimbus::services::apigateway
