// How long an idle instance is kept before it is reclaimed, and when one should
// be started ahead of a predicted arrival. The pool asks the policy each time
// an instance becomes idle and each time one is reclaimed; the fixed policy
// (Lambda's behaviour) and the adaptive one (faas/adaptive_keep_alive.h) sit
// behind the same interface.
#pragma once

#include <optional>
#include <string_view>

#include "base/clock.h"

namespace nimbus::faas {

class KeepAlivePolicy {
 public:
  virtual ~KeepAlivePolicy() = default;
  // Called when an instance of `pool_key` becomes idle at `now`: how long to
  // keep it (zero: reclaim it at once).
  virtual Duration keep_alive(std::string_view pool_key, TimePoint now) = 0;
  // Called for every invocation arrival, so policies can learn patterns.
  // `in_use`: the function's instances running or starting once this
  // invocation has been placed (its concurrency at this moment).
  virtual void on_arrival(std::string_view pool_key, TimePoint now, int in_use) {}

  // A request to have `instances` instances of the function up (started or
  // idle) at `at`, ahead of a predicted arrival.
  struct Prewarm {
    TimePoint at;
    int instances = 1;
  };
  // Called when an instance of `pool_key` is reclaimed at `now` and `live`
  // instances remain: the next pre-warm the pool should schedule, if any. It
  // replaces any pre-warm scheduled before for the function.
  virtual std::optional<Prewarm> next_prewarm(std::string_view pool_key, TimePoint now, int live) {
    return std::nullopt;
  }
};

// Lambda's observed behaviour and the chapter's figure: a fixed idle time.
class FixedKeepAlive final : public KeepAlivePolicy {
 public:
  explicit FixedKeepAlive(Duration d) : d_(d) {}
  Duration keep_alive(std::string_view, TimePoint) override { return d_; }

 private:
  Duration d_;
};

}  // namespace nimbus::faas
