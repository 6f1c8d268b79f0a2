#include "services/apigateway/usage.h"

#include <spdlog/spdlog.h>
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>

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

int64_t quota_window_first_day(const QuotaLimits& q, int64_t window) {
  switch (q.period) {
    case QuotaPeriod::kDay:
      return window;
    case QuotaPeriod::kWeek:
      // The inverse of quota_window's floor_div(days + 4 - offset, 7).
      return window * 7 - 4 + q.offset;
    case QuotaPeriod::kMonth: {
      std::chrono::year_month_day first{
          std::chrono::year{static_cast<int>(floor_div(window, 12))},
          std::chrono::month{static_cast<unsigned>(window - floor_div(window, 12) * 12 + 1)},
          std::chrono::day{1}};
      return std::chrono::sys_days{first}.time_since_epoch().count();
    }
  }
  return window;
}

int64_t utc_day(int64_t wall_ms) {
  return floor_div(wall_ms, 86'400'000);
}

std::string format_day(int64_t day) {
  std::chrono::year_month_day ymd{std::chrono::sys_days{std::chrono::days{day}}};
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return buf;
}

std::optional<int64_t> parse_day(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  auto number = [&](size_t pos, size_t len) -> std::optional<int> {
    int v = 0;
    auto [p, ec] = std::from_chars(text.data() + pos, text.data() + pos + len, v);
    if (ec != std::errc{} || p != text.data() + pos + len) return std::nullopt;
    return v;
  };
  auto y = number(0, 4), m = number(5, 2), d = number(8, 2);
  if (!y || !m || !d) return std::nullopt;
  std::chrono::year_month_day ymd{std::chrono::year{*y},
                                  std::chrono::month{static_cast<unsigned>(*m)},
                                  std::chrono::day{static_cast<unsigned>(*d)}};
  if (!ymd.ok()) return std::nullopt;
  return std::chrono::sys_days{ymd}.time_since_epoch().count();
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

UsageMeter::UsageMeter(Clock& clock, store::Store* store) : clock_(&clock), store_(store) {
  if (!store_) return;
  int64_t oldest = utc_day(clock.wall_ms()) - kKeepDays;
  for (auto& [k, v] : store_->scan(kStorePrefix)) {
    // PLAN/KEY/YYYY-MM-DD
    std::string_view rest = std::string_view(k).substr(kStorePrefix.size());
    auto slash = rest.rfind('/');
    if (slash == std::string_view::npos) continue;
    auto day = parse_day(rest.substr(slash + 1));
    int64_t used = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), used);
    if (!day || ec != std::errc{} || p != v.data() + v.size()) {
      spdlog::warn("apigateway: skipping unreadable usage record {}", k);
      continue;
    }
    if (*day < oldest) continue;  // history only GetUsage reads, from the store
    states_[std::string(rest.substr(0, slash))].days[*day].used = used;
  }
}

UsageMeter::~UsageMeter() {
  flush_timer_.cancel();
  flush();
}

UsageVerdict UsageMeter::check(const std::string& plan_id, const std::string& key_id,
                               const std::optional<ThrottleLimits>& throttle,
                               const std::optional<QuotaLimits>& quota, TimePoint now,
                               int64_t wall_ms) {
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
  int64_t day = utc_day(wall_ms);
  if (quota) {
    int64_t window = quota_window(*quota, wall_ms);
    if (!s.quota || s.quota_limits.limit != quota->limit ||
        s.quota_limits.period != quota->period || s.quota_limits.offset != quota->offset ||
        s.quota->window() != window) {
      // A new window, new limits or a new meter (a restart) starts from what
      // the day counts say was used in the window, as AWS keeps the quota used.
      int64_t used = 0;
      for (auto it = s.days.lower_bound(quota_window_first_day(*quota, window));
           it != s.days.end() && it->first <= day; ++it)
        used += it->second.used;
      s.quota.emplace(*quota, window, used);
      s.quota_limits = *quota;
    }
    if (!s.quota->try_take(wall_ms)) return UsageVerdict::kQuotaExceeded;
  }
  count_locked(s, day);
  return UsageVerdict::kOk;
}

void UsageMeter::count_locked(State& s, int64_t day) {
  auto& c = s.days[day];
  ++c.used;
  c.dirty = true;
  s.dirty = true;
  if (s.days.begin()->first < day - kKeepDays)
    s.days.erase(s.days.begin(), s.days.lower_bound(day - kKeepDays));
  // The request only marks its count; the timer writes every count marked in
  // the second, so the hot path never waits on the store.
  if (!store_ || flush_scheduled_) return;
  flush_scheduled_ = true;
  std::weak_ptr<bool> alive = alive_;
  flush_timer_ = clock_->call_after(kFlushDelay, [this, alive] {
    if (alive.lock()) flush();
  });
}

void UsageMeter::flush() {
  if (!store_) return;
  std::lock_guard order(flush_mu_);
  store::WriteBatch batch;
  {
    std::lock_guard lk(mu_);
    flush_scheduled_ = false;
    for (auto& [name, s] : states_) {
      if (!s.dirty) continue;
      s.dirty = false;
      for (auto& [day, c] : s.days) {
        if (!c.dirty) continue;
        c.dirty = false;
        batch.put(std::string(kStorePrefix) + name + "/" + format_day(day), std::to_string(c.used));
      }
    }
  }
  if (batch.empty()) return;
  // Values are totals, not increments: a failed write is repaired by the next
  // flush of the same day's count (after its next request).
  if (auto st = store_->write_buffered(batch); !st)
    spdlog::warn("apigateway: cannot write {} usage counts: {}", batch.ops().size(),
                 st.error().message);
}

void UsageMeter::reset() {
  std::lock_guard order(flush_mu_);
  std::lock_guard lk(mu_);
  states_.clear();
  if (store_)
    if (auto st = store_->delete_prefix(kStorePrefix); !st)
      spdlog::warn("apigateway: cannot delete usage counts: {}", st.error().message);
}

}  // namespace nimbus::services::apigateway
