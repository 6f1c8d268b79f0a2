// Target tracking's decisions, without state or I/O: what one policy asks of
// a scalable target given its metric's recent datapoints, and what several
// policies on one target agree to. AutoscalingService keeps the datapoints and
// applies the answer.
//
// As Application Auto Scaling's two CloudWatch alarms per policy do: scale out
// when the last kScaleOutDatapoints datapoints are all above the target, scale
// in when the last kScaleInDatapoints are all below kScaleInThreshold of it.
// The new capacity is proportional to the metric: ceil(current × metric /
// target), with the metric averaged over the alarm's datapoints, clamped to
// [min, max].
#pragma once

#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"

namespace nimbus::services::autoscaling {

inline constexpr size_t kScaleOutDatapoints = 3;
inline constexpr size_t kScaleInDatapoints = 15;
inline constexpr double kScaleInThreshold = 0.9;

// One TargetTrackingScaling policy's configuration.
struct TrackingPolicy {
  double target = 0;
  Duration scale_out_cooldown{};
  Duration scale_in_cooldown{};
  bool disable_scale_in = false;
};

// The scalable target's state the decision needs.
struct TargetState {
  int current = 0;  // capacity now
  int min = 0, max = 0;
  bool scale_out_suspended = false;  // SuspendedState.DynamicScalingOutSuspended
  bool scale_in_suspended = false;   // SuspendedState.DynamicScalingInSuspended
  std::optional<TimePoint> last_scale_out, last_scale_in;
};

struct Proposal {
  enum class Kind { kNone, kOut, kIn };
  Kind kind = Kind::kNone;
  int capacity = 0;   // the new capacity (kOut, kIn)
  double metric = 0;  // the averaged metric that triggered it
  // Why nothing happens although an alarm fired (cooldown, suspended, at a
  // bound); empty otherwise.
  std::string held_by;
};

// What one policy asks for at `now`, given its metric's datapoints (oldest
// first).
Proposal evaluate(const TrackingPolicy& policy, const std::deque<double>& datapoints,
                  const TargetState& target, TimePoint now);

// Several policies on one target: scale out if any asks to, to the largest
// capacity asked; scale in only if every policy asks to, to the largest.
Proposal combine(const std::vector<Proposal>& proposals);

}  // namespace nimbus::services::autoscaling
