// The adaptive keep-alive policy: the hybrid histogram policy of "Serverless in
// the Wild" (Shahrad et al., USENIX ATC 2020) plus recurring-spike pre-warming.
//
// Per function it keeps a histogram of idle times (the gaps between arrivals)
// in 1-minute bins up to 4 hours. When the histogram is representative (enough
// samples, most of them in range, and concentrated: the bin counts' coefficient
// of variation is high), the head of the distribution (5th percentile, minus a
// 10 % margin) becomes the *pre-warm window* and the tail (99th percentile, plus
// 10 %) the end of the *keep-alive window*, both measured from the last
// arrival: an instance that finishes before the pre-warm window is reclaimed at
// once and the pool starts one again when the window opens. When most idle
// times are longer than the histogram's range, the next one is predicted from
// their moving average (the paper uses ARIMA); otherwise (too few samples, or
// idle times spread flat) the fixed fallback applies.
//
// Spikes: per minute of the hour and of the day the policy remembers the
// function's peak concurrency; a minute that saw a spike (at least
// `spike_concurrency` instances in use) in two recent hours (days) is predicted
// to see it again, and the pool is asked to have that many instances up
// `prewarm_lead` before it. Periods are taken from the pool's clock, so they
// are consistent but not aligned with the wall clock's hours.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "faas/keep_alive.h"

namespace nimbus::faas {

struct AdaptiveKeepAliveOptions {
  Duration bin = std::chrono::minutes(1);
  int bins = 240;  // 4 hours of 1-minute bins, as in the paper
  double head_percentile = 0.05;
  double tail_percentile = 0.99;
  double margin = 0.10;
  // Below this coefficient of variation of the bin counts the idle times are
  // spread too evenly for their head and tail to mean anything.
  double min_cv = 2.0;
  int min_samples = 2;
  // More than this share of idle times beyond the range: predict from their
  // moving average instead.
  double max_out_of_range_share = 0.5;
  // Keep-alive while the histogram is not representative (Lambda's figure).
  Duration fallback = std::chrono::minutes(15);
  // Never keep an instance of a function whose window starts at once for less
  // than this: surplus instances of a busy function absorb its concurrency
  // fluctuations, which arrival gaps alone do not show.
  Duration min_keep_alive = std::chrono::minutes(10);
  // Spike pre-warming.
  int spike_concurrency = 4;
  Duration prewarm_lead = std::chrono::seconds(30);
  Duration spike_horizon = std::chrono::minutes(60);
};

// What the policy currently predicts for one function (for tests and the simulator).
struct KeepAliveWindow {
  enum class Kind { kFallback, kHistogram, kOutOfRange };
  Kind kind = Kind::kFallback;
  Duration prewarm{0};     // from the last arrival to the start of the window
  Duration keep_alive{0};  // length of the window
};

class AdaptiveKeepAlive final : public KeepAlivePolicy {
 public:
  explicit AdaptiveKeepAlive(AdaptiveKeepAliveOptions options = {});
  ~AdaptiveKeepAlive() override;

  Duration keep_alive(std::string_view pool_key, TimePoint now) override;
  void on_arrival(std::string_view pool_key, TimePoint now, int in_use) override;
  std::optional<Prewarm> next_prewarm(std::string_view pool_key, TimePoint now, int live) override;

  KeepAliveWindow window(std::string_view pool_key) const;
  // The spike concurrency predicted for the minute that contains `at` (0: none).
  int predicted_spike(std::string_view pool_key, TimePoint at) const;

 private:
  struct Recurrence;
  struct Function;
  Function& function(std::string_view key);
  const Function* find(std::string_view key) const;
  KeepAliveWindow window_locked(Function& f) const;
  int spike_at(const Function& f, TimePoint at) const;
  // End of the predicted spike that starts within `prewarm_lead` of `now` or
  // is under way (nullopt: none).
  std::optional<TimePoint> spike_hold(const Function& f, TimePoint now) const;

  AdaptiveKeepAliveOptions o_;
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Function>, std::less<>> functions_;
};

}  // namespace nimbus::faas
