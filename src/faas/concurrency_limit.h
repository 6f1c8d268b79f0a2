// How many invocations of one function the pool runs at once on this host.
//
// Lambda scales out one instance per concurrent request because each instance
// gets its own share of a large fleet. On one host, instances share a few
// cores: when they already wait for CPU, a further instance adds no capacity,
// only processes that evict each other's caches (measured here: a Python hello
// route cost 76 µs of runtime CPU per request with 2 busy instances and 181 µs
// with 64). So the pool measures what it cannot see otherwise — how much of an
// invocation its process spent runnable but not running (the kernel's
// per-task run delay) — and adapts the limit: shrink it while instances mostly
// wait for a CPU, grow it again when they do not. I/O-bound functions (waiting
// on a network call, sleeping) never show run delay and keep scaling out like
// Lambda; requests beyond the limit wait in the pool for the next free
// instance, which on a saturated host answers sooner than a new one would.
#pragma once

#include <optional>

#include "base/clock.h"

namespace nimbus::faas {

class ConcurrencyLimit {
 public:
  // Starts at `ceiling` (Lambda's behaviour until contention is measured) and
  // never goes below `floor` (at least the cores, so a CPU-bound function can
  // use the whole host).
  ConcurrencyLimit(int floor, int ceiling);

  int value() const { return limit_; }

  // One measurement over invocations of the function: their summed duration
  // and how much of it their processes were runnable but waiting for a CPU.
  // `busy`: invocations running now; `waiting`: calls the limit holds back
  // (the limit only grows while it holds some back: raising a limit nobody
  // reaches would only delay the next shrink). Returns true when it grew.
  bool on_sample(TimePoint now, Duration busy_time, Duration run_delay, int busy, int waiting);

  // The smoothed share of invocation time spent waiting for a CPU (0..1).
  double contention() const { return contention_; }

  // Above this share the limit shrinks toward what is running at once;
  // below the lower one it grows by one, at most once per kGrowEvery. The
  // pacing matters: samples arrive thousands of times a second under load
  // and swing between the two thresholds within milliseconds, and a limit
  // that jumps back up at each calm sample keeps waking instances whose
  // caches went cold (measured: a limit that stayed at 2-8 served a CPU-bound
  // route ~15 % faster than one oscillating between 2 and 10).
  static constexpr double kShrinkAbove = 0.5;
  static constexpr double kGrowBelow = 0.1;
  static constexpr Duration kGrowEvery = std::chrono::milliseconds(20);

 private:
  int floor_, ceiling_, limit_;
  double contention_ = 0;
  bool measured_ = false;
  std::optional<TimePoint> last_change_;
};

}  // namespace nimbus::faas
