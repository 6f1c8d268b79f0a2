#include "services/autoscaling/target_tracking.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace nimbus::services::autoscaling {

namespace {

// The mean of the last n datapoints, if there are n and all satisfy `pred`.
template <class Pred>
std::optional<double> alarm(const std::deque<double>& points, size_t n, Pred pred) {
  if (points.size() < n) return std::nullopt;
  auto first = points.end() - static_cast<std::ptrdiff_t>(n);
  if (!std::all_of(first, points.end(), pred)) return std::nullopt;
  return std::accumulate(first, points.end(), 0.0) / static_cast<double>(n);
}

bool cooling(const std::optional<TimePoint>& last, Duration cooldown, TimePoint now) {
  return last && now < *last + cooldown;
}

}  // namespace

Proposal evaluate(const TrackingPolicy& p, const std::deque<double>& points, const TargetState& t,
                  TimePoint now) {
  Proposal out;
  if (p.target <= 0 || t.current <= 0) return out;
  auto proportional = [&](double metric) {
    // A tiny tolerance keeps a metric exactly on target (0.7 × 10 / 0.7)
    // from rounding up to one more.
    double want = std::ceil(t.current * metric / p.target - 1e-9);
    return std::clamp(static_cast<int>(want), t.min, t.max);
  };
  if (auto high = alarm(points, kScaleOutDatapoints, [&](double v) { return v > p.target; })) {
    out.metric = *high;
    int want = proportional(*high);
    if (want <= t.current)
      out.held_by = "the capacity is at its maximum";
    else if (t.scale_out_suspended)
      out.held_by = "dynamic scale out is suspended";
    else if (cooling(t.last_scale_out, p.scale_out_cooldown, now))
      out.held_by = "scale out cooldown";
    else
      out.kind = Proposal::Kind::kOut, out.capacity = want;
    return out;
  }
  if (auto low = alarm(points, kScaleInDatapoints,
                       [&](double v) { return v < p.target * kScaleInThreshold; })) {
    out.metric = *low;
    int want = proportional(*low);
    if (p.disable_scale_in)
      out.held_by = "scale in is disabled";
    else if (want >= t.current)
      out.held_by = t.current <= t.min ? "the capacity is at its minimum" : "";
    else if (t.scale_in_suspended)
      out.held_by = "dynamic scale in is suspended";
    // A scale-in waits out its own cooldown, and does not undo a scale-out
    // still in its cooldown.
    else if (cooling(t.last_scale_in, p.scale_in_cooldown, now) ||
             cooling(t.last_scale_out, p.scale_out_cooldown, now))
      out.held_by = "scale in cooldown";
    else
      out.kind = Proposal::Kind::kIn, out.capacity = want;
  }
  return out;
}

Proposal combine(const std::vector<Proposal>& proposals) {
  Proposal best;
  for (const auto& p : proposals)
    if (p.kind == Proposal::Kind::kOut &&
        (best.kind != Proposal::Kind::kOut || p.capacity > best.capacity))
      best = p;
  if (best.kind == Proposal::Kind::kOut || proposals.empty()) return best;
  for (const auto& p : proposals) {
    if (p.kind != Proposal::Kind::kIn) return Proposal{};
    if (best.kind != Proposal::Kind::kIn || p.capacity > best.capacity) best = p;
  }
  return best;
}

}  // namespace nimbus::services::autoscaling
