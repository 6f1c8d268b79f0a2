// Usage plan enforcement: a token bucket per API key (rateLimit requests per
// second refilling up to burstLimit) and a request quota per DAY / WEEK / MONTH
// window (UTC, with API Gateway's offset: the weekday a WEEK starts, 0 =
// Sunday). Everything takes its time from the caller (the injected Clock), so
// tests run on a ManualClock.
//
// Durability: each (usage plan, key)'s accepted requests are counted per UTC
// day, and those day counts are what is persisted (buffered writes, at most
// one flush a second, never from the request itself). A quota window's usage
// is the sum of its days, so quotas of any period and GetUsage's daily history
// come from the same counters. A kill -9 loses up to ~1 s of counts (AWS
// documents usage data as delayed and approximate too); a clean stop flushes.
// Token buckets stay in memory: a restart starts every bucket full.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "store/store.h"

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
// The first UTC day (days since the epoch) of quota window `window`.
int64_t quota_window_first_day(const QuotaLimits& q, int64_t window);
// The UTC day (days since the epoch) of a wall-clock time.
int64_t utc_day(int64_t wall_ms);
// "YYYY-MM-DD" of a day since the epoch, and back (nullopt when not a valid date).
std::string format_day(int64_t day);
std::optional<int64_t> parse_day(std::string_view text);

class QuotaCounter {
 public:
  explicit QuotaCounter(QuotaLimits limits) : limits_(limits) {}
  // Starts in `window` with `used` requests already counted in it.
  QuotaCounter(QuotaLimits limits, int64_t window, int64_t used)
      : limits_(limits), window_(window), used_(used) {}
  // Counts one request in the window of `wall_ms` when the quota allows it.
  bool try_take(int64_t wall_ms);
  int64_t used() const { return used_; }
  int64_t window() const { return window_; }
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
  // Day counts are persisted under this prefix as PLAN/KEY/YYYY-MM-DD → count.
  static constexpr std::string_view kStorePrefix = "apigateway/usage/";
  // How long a counted request may wait before its day count is written.
  static constexpr Duration kFlushDelay = std::chrono::seconds(1);
  // Day counts kept in memory: enough for the longest quota window (a month).
  static constexpr int64_t kKeepDays = 62;

  // Counters in memory only.
  UsageMeter() = default;
  // Persists the day counts in `store` (when not null) on `clock`'s timers,
  // and loads the recent ones now, so quotas continue across restarts.
  UsageMeter(Clock& clock, store::Store* store);
  // Writes what is not written yet.
  ~UsageMeter();
  UsageMeter(const UsageMeter&) = delete;
  UsageMeter& operator=(const UsageMeter&) = delete;

  // Counts the request when it is let through (also for plans without limits:
  // GetUsage reports every key's requests).
  UsageVerdict check(const std::string& plan_id, const std::string& key_id,
                     const std::optional<ThrottleLimits>& throttle,
                     const std::optional<QuotaLimits>& quota, TimePoint now, int64_t wall_ms);
  // Writes the day counts changed since the last flush (buffered). Readers of
  // the persisted counts (GetUsage) call it first.
  void flush();
  // Forgets every counter, persisted ones included.
  void reset();

 private:
  struct DayCount {
    int64_t used = 0;
    bool dirty = false;  // changed since the last flush
  };
  struct State {
    std::optional<TokenBucket> bucket;
    std::optional<QuotaCounter> quota;
    ThrottleLimits throttle_limits;
    QuotaLimits quota_limits;
    std::map<int64_t, DayCount> days;  // by day since the epoch, the last kKeepDays
    bool dirty = false;                // some day is dirty
  };
  void count_locked(State& s, int64_t day);

  Clock* clock_ = nullptr;
  store::Store* store_ = nullptr;
  // Held across a whole flush so batches reach the store in order (a later
  // count never lands before an earlier one); taken before mu_.
  std::mutex flush_mu_;
  std::mutex mu_;
  std::map<std::string, State> states_;  // by "PLAN/KEY"
  bool flush_scheduled_ = false;
  TimerHandle flush_timer_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // guards the timer callback
};

}  // namespace nimbus::services::apigateway
