// The keep-alive simulator behind `nimbus simulate`: replays an invocation
// trace (faas/trace.h) through the real faas::Pool and keep-alive policy on a
// ManualClock, with simulated instances that take a cold-start time to start
// and each invocation's duration to run, and measures what the policy costs
// and saves: cold starts, idle memory and the latency cold starts add.
//
// An invocation counts as a cold start when it waited for an instance to
// start (fully or, behind a pre-warm still under way, partly): the latency it
// gained over its own duration. Idle memory integrates, over every instance,
// its memory while it is up but not running an invocation (starting included),
// from the first arrival until the last invocation completes.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "faas/keep_alive.h"
#include "faas/simulated_instance.h"
#include "faas/trace.h"

namespace nimbus::faas {

struct SimulationOptions : SimulatedCosts {
  int64_t memory_budget_mb = 0;  // PoolOptions::idle_memory_budget_mb (0: none)
};

struct SimulationResult {
  std::string policy;
  uint64_t invocations = 0, cold_starts = 0, functions = 0;
  double cold_start_pct = 0;
  // Percentiles, over functions, of each function's cold-start percentage.
  double fn_cold_pct_p50 = 0, fn_cold_pct_p75 = 0, fn_cold_pct_p90 = 0, fn_cold_pct_p99 = 0;
  double idle_gb_s = 0;  // memory held by instances not running an invocation
  double busy_gb_s = 0;  // memory of instances running one (the same for every policy)
  // Latency added to invocations by cold starts (ms), over all invocations.
  double added_ms_p50 = 0, added_ms_p99 = 0, added_ms_p999 = 0;
  uint64_t instances_started = 0;
  // Per function (in the trace's order).
  struct PerFunction {
    std::string name;
    uint64_t calls = 0, cold_starts = 0;
  };
  std::vector<PerFunction> per_function;
  double wall_seconds = 0;  // how long the simulation itself took
};

// "fixed:15m", "fixed:600s", "fixed:1h", or "adaptive".
Result<std::unique_ptr<KeepAlivePolicy>, std::string> make_keep_alive_policy(std::string_view spec);

Result<SimulationResult, std::string> simulate(const Trace& trace, std::string_view policy,
                                               const SimulationOptions& options = {});

// A plain-text table, one row per result.
std::string format_results(std::span<const SimulationResult> results);
// For each result, the `n` functions with the most cold starts.
std::string format_top_functions(std::span<const SimulationResult> results, size_t n);
// Cold starts and calls of the functions whose names start with `prefix`.
SimulationResult::PerFunction sum_functions(const SimulationResult& r, std::string_view prefix);

}  // namespace nimbus::faas
