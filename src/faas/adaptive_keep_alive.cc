#include "faas/adaptive_keep_alive.h"

#include <algorithm>
#include <cmath>

namespace nimbus::faas {

namespace {
constexpr Duration kSlot = std::chrono::minutes(1);
constexpr Duration kHour = std::chrono::hours(1);
constexpr Duration kDay = std::chrono::hours(24);
// Weight of the newest idle time in the moving average of out-of-range ones.
constexpr double kOutOfRangeAlpha = 0.3;

TimePoint floor_to(TimePoint t, Duration d) {
  return TimePoint(t.time_since_epoch() - t.time_since_epoch() % d);
}
}  // namespace

// Peak concurrency per minute of a period (an hour or a day), remembered for
// the last two periods in which that minute saw a spike.
struct AdaptiveKeepAlive::Recurrence {
  struct Slot {
    uint16_t peak = 0, previous_peak = 0;
    int32_t hits = 0;            // periods in which this minute saw a spike
    int64_t last_period = -100;  // index of the last one
  };
  Duration period;
  std::vector<Slot> slots;

  explicit Recurrence(Duration p) : period(p), slots(static_cast<size_t>(p / kSlot)) {}

  Slot& slot(TimePoint t) {
    return slots[static_cast<size_t>((t.time_since_epoch() / kSlot) % slots.size())];
  }
  const Slot& slot(TimePoint t) const { return const_cast<Recurrence*>(this)->slot(t); }
  int64_t period_of(TimePoint t) const { return t.time_since_epoch() / period; }

  void record(TimePoint t, int in_use) {
    Slot& s = slot(t);
    auto n = static_cast<uint16_t>(std::min(in_use, 65535));
    int64_t p = period_of(t);
    if (s.last_period != p) {
      s.previous_peak = s.peak;
      s.peak = n;
      s.last_period = p;
      ++s.hits;
    } else {
      s.peak = std::max(s.peak, n);
    }
  }
  // Seen in two periods, the last of them at most two periods before `t`'s:
  // a pattern that stopped stops being pre-warmed.
  int predicted(TimePoint t) const {
    const Slot& s = slot(t);
    if (s.hits < 2 || period_of(t) - s.last_period > 2) return 0;
    return std::max(s.peak, s.previous_peak);
  }
};

struct AdaptiveKeepAlive::Function {
  std::vector<uint32_t> histogram;
  uint64_t in_range = 0, out_of_range = 0;
  double out_of_range_avg_ns = 0;
  std::optional<TimePoint> last_arrival;
  mutable std::optional<KeepAliveWindow> cached;
  // Allocated once the function first reaches the spike concurrency.
  std::unique_ptr<Recurrence> hourly, daily;
};

AdaptiveKeepAlive::AdaptiveKeepAlive(AdaptiveKeepAliveOptions options) : o_(options) {}
AdaptiveKeepAlive::~AdaptiveKeepAlive() = default;

AdaptiveKeepAlive::Function& AdaptiveKeepAlive::function(std::string_view key) {
  auto it = functions_.find(key);
  if (it == functions_.end()) {
    auto f = std::make_unique<Function>();
    f->histogram.assign(static_cast<size_t>(o_.bins), 0);
    it = functions_.emplace(std::string(key), std::move(f)).first;
  }
  return *it->second;
}

const AdaptiveKeepAlive::Function* AdaptiveKeepAlive::find(std::string_view key) const {
  auto it = functions_.find(key);
  return it == functions_.end() ? nullptr : it->second.get();
}

void AdaptiveKeepAlive::on_arrival(std::string_view key, TimePoint now, int in_use) {
  std::lock_guard lk(mu_);
  Function& f = function(key);
  if (f.last_arrival) {
    Duration gap = std::max(Duration::zero(), now - *f.last_arrival);
    auto bin = gap / o_.bin;
    if (bin < o_.bins) {
      ++f.histogram[static_cast<size_t>(bin)];
      ++f.in_range;
    } else {
      double ns = static_cast<double>(gap.count());
      f.out_of_range_avg_ns =
          f.out_of_range == 0
              ? ns
              : kOutOfRangeAlpha * ns + (1 - kOutOfRangeAlpha) * f.out_of_range_avg_ns;
      ++f.out_of_range;
    }
    f.cached.reset();
  }
  f.last_arrival = now;
  if (in_use >= o_.spike_concurrency) {
    if (!f.hourly) {
      f.hourly = std::make_unique<Recurrence>(kHour);
      f.daily = std::make_unique<Recurrence>(kDay);
    }
    f.hourly->record(now, in_use);
    f.daily->record(now, in_use);
  }
}

KeepAliveWindow AdaptiveKeepAlive::window_locked(Function& f) const {
  if (f.cached) return *f.cached;
  KeepAliveWindow w;
  w.keep_alive = o_.fallback;
  uint64_t total = f.in_range + f.out_of_range;
  if (total >= static_cast<uint64_t>(o_.min_samples)) {
    if (static_cast<double>(f.out_of_range) >
        o_.max_out_of_range_share * static_cast<double>(total)) {
      // Mostly beyond the histogram's range: wake up around the predicted gap.
      auto predicted = Duration(static_cast<int64_t>(f.out_of_range_avg_ns));
      w.kind = KeepAliveWindow::Kind::kOutOfRange;
      w.prewarm = std::chrono::duration_cast<Duration>(predicted * (1 - 1.5 * o_.margin));
      w.keep_alive = std::chrono::duration_cast<Duration>(predicted * (3 * o_.margin));
    } else if (f.in_range > 0) {
      // Concentration check: the bin counts' coefficient of variation.
      double mean = static_cast<double>(f.in_range) / o_.bins, var = 0;
      for (uint32_t c : f.histogram) var += (c - mean) * (c - mean);
      double cv = std::sqrt(var / o_.bins) / mean;
      if (cv >= o_.min_cv) {
        auto head_n = static_cast<uint64_t>(std::ceil(o_.head_percentile * f.in_range));
        auto tail_n = static_cast<uint64_t>(std::ceil(o_.tail_percentile * f.in_range));
        int head = -1, tail = o_.bins - 1;
        uint64_t seen = 0;
        for (int i = 0; i < o_.bins; ++i) {
          seen += f.histogram[static_cast<size_t>(i)];
          if (head < 0 && seen >= std::max<uint64_t>(head_n, 1)) head = i;
          if (seen >= tail_n) {
            tail = i;
            break;
          }
        }
        // Head: the lower edge of its bin, earlier by the margin; tail: the
        // upper edge of its bin, later by the margin.
        w.kind = KeepAliveWindow::Kind::kHistogram;
        w.prewarm =
            std::chrono::duration_cast<Duration>(o_.bin * std::max(head, 0) * (1 - o_.margin));
        auto end = std::chrono::duration_cast<Duration>(o_.bin * (tail + 1) * (1 + o_.margin));
        w.keep_alive = end - w.prewarm;
      }
    }
  }
  f.cached = w;
  return w;
}

KeepAliveWindow AdaptiveKeepAlive::window(std::string_view key) const {
  std::lock_guard lk(mu_);
  const Function* f = find(key);
  return f ? window_locked(const_cast<Function&>(*f)) : KeepAliveWindow{.keep_alive = o_.fallback};
}

int AdaptiveKeepAlive::spike_at(const Function& f, TimePoint at) const {
  if (!f.hourly) return 0;
  return std::max(f.hourly->predicted(at), f.daily->predicted(at));
}

int AdaptiveKeepAlive::predicted_spike(std::string_view key, TimePoint at) const {
  std::lock_guard lk(mu_);
  const Function* f = find(key);
  return f ? spike_at(*f, at) : 0;
}

std::optional<TimePoint> AdaptiveKeepAlive::spike_hold(const Function& f, TimePoint now) const {
  if (!f.hourly) return std::nullopt;
  TimePoint t;
  if (spike_at(f, now) > 0)
    t = floor_to(now, kSlot);
  else if (spike_at(f, now + o_.prewarm_lead) > 0)
    t = floor_to(now + o_.prewarm_lead, kSlot);
  else
    return std::nullopt;
  TimePoint limit = now + o_.spike_horizon;
  while (t < limit && spike_at(f, t) > 0) t += kSlot;
  return t;
}

Duration AdaptiveKeepAlive::keep_alive(std::string_view key, TimePoint now) {
  std::lock_guard lk(mu_);
  Function& f = function(key);
  KeepAliveWindow w = window_locked(f);
  Duration keep = w.keep_alive;
  if (w.kind != KeepAliveWindow::Kind::kFallback && f.last_arrival) {
    TimePoint start = *f.last_arrival + w.prewarm;
    if (w.prewarm > Duration::zero() && now < start)
      keep = Duration::zero();  // idle until the window opens: the pool pre-warms then
    else
      keep = std::max(Duration::zero(), start + w.keep_alive - now);
    if (w.prewarm == Duration::zero()) keep = std::max(keep, o_.min_keep_alive);
  }
  if (auto hold = spike_hold(f, now)) keep = std::max(keep, *hold - now);
  return keep;
}

std::optional<KeepAlivePolicy::Prewarm> AdaptiveKeepAlive::next_prewarm(std::string_view key,
                                                                        TimePoint now, int live) {
  std::lock_guard lk(mu_);
  Function& f = function(key);
  std::optional<Prewarm> best;
  KeepAliveWindow w = window_locked(f);
  if (w.kind != KeepAliveWindow::Kind::kFallback && w.prewarm > Duration::zero() && live == 0 &&
      f.last_arrival && *f.last_arrival + w.prewarm > now)
    best = Prewarm{*f.last_arrival + w.prewarm, 1};
  if (f.hourly) {
    for (TimePoint t = floor_to(now, kSlot); t < now + o_.spike_horizon; t += kSlot) {
      if (best && t - o_.prewarm_lead >= best->at) break;
      int n = spike_at(f, t);
      if (n > live) {
        best = Prewarm{std::max(now, t - o_.prewarm_lead), n};
        break;
      }
    }
  }
  return best;
}

}  // namespace nimbus::faas
