#include "services/autoscaling/target_tracking.h"

#include <gtest/gtest.h>

namespace nimbus::services::autoscaling {
namespace {

using namespace std::chrono_literals;
using Kind = Proposal::Kind;

std::deque<double> points(size_t n, double v) {
  return std::deque<double>(n, v);
}

TargetState at(int current, int min = 5, int max = 100) {
  TargetState t;
  t.current = current;
  t.min = min;
  t.max = max;
  return t;
}

const TrackingPolicy kPolicy{.target = 0.7};
const TimePoint kNow = TimePoint{} + 1h;

// AWS: the AlarmHigh of a target tracking policy needs 3 datapoints above
// the target; the new capacity is proportional: ceil(current × metric / target).
TEST(AutoscalingTargetTracking, ScalesOutProportionallyAfterThreeHighDatapoints) {
  EXPECT_EQ(evaluate(kPolicy, points(2, 1.0), at(5), kNow).kind, Kind::kNone);
  auto p = evaluate(kPolicy, points(3, 1.0), at(5), kNow);
  EXPECT_EQ(p.kind, Kind::kOut);
  EXPECT_EQ(p.capacity, 8);  // ceil(5 × 1.0 / 0.7)
  EXPECT_DOUBLE_EQ(p.metric, 1.0);
  // The alarm's datapoints are averaged.
  p = evaluate(kPolicy, {0.2, 0.8, 1.4, 1.4}, at(10), kNow);
  EXPECT_EQ(p.capacity, 18);  // ceil(10 × 1.2 / 0.7)
  // One datapoint at or below the target breaks the alarm.
  EXPECT_EQ(evaluate(kPolicy, {1.0, 0.7, 1.0}, at(5), kNow).kind, Kind::kNone);
}

// AWS: capacity never leaves [MinCapacity, MaxCapacity].
TEST(AutoscalingTargetTracking, ClampsToMinAndMax) {
  auto p = evaluate(kPolicy, points(3, 5.0), at(50), kNow);
  EXPECT_EQ(p.capacity, 100);
  p = evaluate(kPolicy, points(3, 1.0), at(100), kNow);
  EXPECT_EQ(p.kind, Kind::kNone);
  EXPECT_EQ(p.held_by, "the capacity is at its maximum");
  p = evaluate(kPolicy, points(15, 0.0), at(20), kNow);
  EXPECT_EQ(p.kind, Kind::kIn);
  EXPECT_EQ(p.capacity, 5);
}

// AWS: the AlarmLow fires after 15 datapoints below 90 % of the target, so
// scale-in is slower than scale-out.
TEST(AutoscalingTargetTracking, ScalesInAfterFifteenLowDatapoints) {
  EXPECT_EQ(evaluate(kPolicy, points(14, 0.1), at(20), kNow).kind, Kind::kNone);
  auto p = evaluate(kPolicy, points(15, 0.35), at(20), kNow);
  EXPECT_EQ(p.kind, Kind::kIn);
  EXPECT_EQ(p.capacity, 10);  // ceil(20 × 0.35 / 0.7)
  // Between 90 % of the target and the target: no alarm either way.
  EXPECT_EQ(evaluate(kPolicy, points(15, 0.65), at(20), kNow).kind, Kind::kNone);
}

// AWS: ScaleOutCooldown blocks further scale-outs; ScaleInCooldown blocks
// scale-ins after a scale-in; DisableScaleIn and suspended dynamic scaling
// stop their direction.
TEST(AutoscalingTargetTracking, CooldownsDisableScaleInAndSuspension) {
  TrackingPolicy p = kPolicy;
  p.scale_out_cooldown = 300s;
  p.scale_in_cooldown = 600s;
  TargetState t = at(10);
  t.last_scale_out = kNow - 200s;
  auto r = evaluate(p, points(3, 1.0), t, kNow);
  EXPECT_EQ(r.kind, Kind::kNone);
  EXPECT_EQ(r.held_by, "scale out cooldown");
  t.last_scale_out = kNow - 300s;
  EXPECT_EQ(evaluate(p, points(3, 1.0), t, kNow).kind, Kind::kOut);

  t.last_scale_out.reset();
  t.last_scale_in = kNow - 599s;
  EXPECT_EQ(evaluate(p, points(15, 0.1), t, kNow).held_by, "scale in cooldown");
  t.last_scale_in = kNow - 600s;
  EXPECT_EQ(evaluate(p, points(15, 0.1), t, kNow).kind, Kind::kIn);

  p.disable_scale_in = true;
  EXPECT_EQ(evaluate(p, points(15, 0.1), t, kNow).held_by, "scale in is disabled");
  p.disable_scale_in = false;
  t.scale_in_suspended = true;
  EXPECT_EQ(evaluate(p, points(15, 0.1), t, kNow).kind, Kind::kNone);
  t.scale_out_suspended = true;
  EXPECT_EQ(evaluate(p, points(3, 1.0), t, kNow).held_by, "dynamic scale out is suspended");
}

// A metric exactly on the target keeps the capacity (no rounding up).
TEST(AutoscalingTargetTracking, OnTargetIsNoChange) {
  EXPECT_EQ(evaluate(kPolicy, points(15, 0.7), at(10), kNow).kind, Kind::kNone);
  // Without provisioned concurrency there is no utilisation to act on.
  EXPECT_EQ(evaluate(kPolicy, points(15, 1.0), at(0), kNow).kind, Kind::kNone);
}

// AWS: with several target tracking policies, it scales out if any policy
// wants to (the largest capacity wins) and scales in only if all do.
TEST(AutoscalingTargetTracking, CombinesPolicies) {
  Proposal none, out8{Kind::kOut, 8, 1, {}}, out12{Kind::kOut, 12, 1, {}};
  Proposal in6{Kind::kIn, 6, 0.1, {}}, in9{Kind::kIn, 9, 0.1, {}};
  EXPECT_EQ(combine({}).kind, Kind::kNone);
  EXPECT_EQ(combine({none, out8, out12}).capacity, 12);
  EXPECT_EQ(combine({in6, out8}).capacity, 8);
  EXPECT_EQ(combine({in6, none}).kind, Kind::kNone);
  auto both = combine({in6, in9});
  EXPECT_EQ(both.kind, Kind::kIn);
  EXPECT_EQ(both.capacity, 9);
}

}  // namespace
}  // namespace nimbus::services::autoscaling
