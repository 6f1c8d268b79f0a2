#include "faas/simulator.h"

#include <gtest/gtest.h>

#include <string>

namespace nimbus::faas {
namespace {

// A trace from (time, function) pairs: 100 ms calls of 256 MB functions.
Trace make_trace(const std::vector<std::pair<int64_t, std::string>>& calls) {
  std::string csv;
  for (const auto& [t, f] : calls) csv += std::to_string(t) + "," + f + ",100,256\n";
  auto t = parse_trace(csv);
  EXPECT_TRUE(t);
  return std::move(*t);
}

constexpr int64_t kMinute = 60'000;

TEST(Simulator, ParsesPolicies) {
  EXPECT_TRUE(make_keep_alive_policy("fixed:15m"));
  EXPECT_TRUE(make_keep_alive_policy("fixed:600s"));
  EXPECT_TRUE(make_keep_alive_policy("fixed:1h"));
  EXPECT_TRUE(make_keep_alive_policy("adaptive"));
  EXPECT_FALSE(make_keep_alive_policy("fixed:"));
  EXPECT_FALSE(make_keep_alive_policy("fixed:5d"));
  EXPECT_FALSE(make_keep_alive_policy("lru"));
  EXPECT_FALSE(simulate(make_trace({{0, "f"}}), "nope"));
}

// A busy function: one cold start, then warm; the added latency is the
// cold start's.
TEST(Simulator, BusyFunctionStartsColdOnce) {
  std::vector<std::pair<int64_t, std::string>> calls;
  for (int i = 0; i < 600; ++i) calls.emplace_back(i * 1000, "hot");
  Trace t = make_trace(calls);
  for (const char* policy : {"fixed:15m", "adaptive"}) {
    auto r = simulate(t, policy);
    ASSERT_TRUE(r) << r.error();
    EXPECT_EQ(r->invocations, 600u);
    EXPECT_EQ(r->cold_starts, 1u) << policy;
    EXPECT_EQ(r->instances_started, 1u) << policy;
    EXPECT_EQ(r->added_ms_p50, 0);
    EXPECT_GT(r->added_ms_p999, 250);  // 250 ms + 64 ms for 256 MB, ±20 %
    EXPECT_LT(r->added_ms_p999, 400);
    // Busy 100 ms of each second: 600 × 0.1 s × 0.25 GB.
    EXPECT_NEAR(r->busy_gb_s, 15, 0.01);
  }
}

// A timer every 30 minutes: the fixed 15 minutes keep each instance for
// nothing and every call is cold; the adaptive policy learns the period,
// lets the instance go and pre-warms one shortly before each call.
TEST(Simulator, AdaptivePrewarmsAPeriodicFunction) {
  std::vector<std::pair<int64_t, std::string>> calls;
  for (int i = 0; i < 48; ++i) calls.emplace_back(i * 30 * kMinute, "cron");
  Trace t = make_trace(calls);
  auto fixed = simulate(t, "fixed:15m");
  auto adaptive = simulate(t, "adaptive");
  ASSERT_TRUE(fixed && adaptive);
  EXPECT_EQ(fixed->cold_starts, 48u);
  // Cold until the histogram has its samples (the first arrival and 4 gaps),
  // then warm.
  EXPECT_LE(adaptive->cold_starts, 6u);
  EXPECT_LT(adaptive->idle_gb_s, fixed->idle_gb_s / 2);
  EXPECT_GT(adaptive->instances_started, 40u);  // one pre-warm per period
}

TEST(Simulator, DeterministicForASeed) {
  std::vector<std::pair<int64_t, std::string>> calls;
  for (int i = 0; i < 200; ++i)
    calls.emplace_back((i * 7919) % (600 * kMinute), "f" + std::to_string(i % 5));
  Trace t = make_trace(calls);
  SimulationOptions o;
  o.seed = 3;
  auto a = simulate(t, "adaptive", o), b = simulate(t, "adaptive", o);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->cold_starts, b->cold_starts);
  EXPECT_EQ(a->idle_gb_s, b->idle_gb_s);
  EXPECT_EQ(a->added_ms_p99, b->added_ms_p99);
  o.seed = 4;
  auto c = simulate(t, "adaptive", o);
  ASSERT_TRUE(c);
  EXPECT_EQ(a->cold_starts, c->cold_starts);      // the same decisions...
  EXPECT_NE(a->added_ms_p999, c->added_ms_p999);  // ... with other cold-start times
}

// Ten functions called every 5 minutes each keep an instance under fixed:15m;
// a budget of four 256 MB instances evicts the rest, trading cold starts for
// idle memory.
TEST(Simulator, MemoryBudgetBoundsIdleInstances) {
  std::vector<std::pair<int64_t, std::string>> calls;
  for (int i = 0; i < 120; ++i)
    for (int f = 0; f < 10; ++f)
      calls.emplace_back(i * 5 * kMinute + f * 1000, "f" + std::to_string(f));
  Trace t = make_trace(calls);
  auto free = simulate(t, "fixed:15m");
  SimulationOptions o;
  o.memory_budget_mb = 4 * 256;
  auto bounded = simulate(t, "fixed:15m", o);
  ASSERT_TRUE(free && bounded);
  EXPECT_EQ(free->cold_starts, 10u);
  EXPECT_GT(bounded->cold_starts, 100u);
  // Never more than four idle instances (1 GB) over the 10 hours.
  EXPECT_LE(bounded->idle_gb_s, 1.0 * 10 * 3600);
  EXPECT_LT(bounded->idle_gb_s, free->idle_gb_s / 2);
}

TEST(Simulator, FormatsOneRowPerPolicy) {
  Trace t = make_trace({{0, "f"}, {1000, "f"}});
  auto r = simulate(t, "fixed:10m");
  ASSERT_TRUE(r);
  std::vector<SimulationResult> rs{*r, *r};
  std::string out = format_results(rs);
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 3);
  EXPECT_NE(out.find("fixed:10m"), std::string::npos);
}

}  // namespace
}  // namespace nimbus::faas
