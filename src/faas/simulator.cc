#include "faas/simulator.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <random>
#include <vector>

#include "faas/adaptive_keep_alive.h"
#include "faas/pool.h"
#include "faas/simulated_instance.h"

namespace nimbus::faas {

namespace {

using std::chrono::milliseconds;

// Nearest-rank percentile of unsorted values (reorders them).
template <class T>
double percentile(std::vector<T>& v, double p) {
  if (v.empty()) return 0;
  size_t k = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return static_cast<double>(v[k]);
}

std::optional<Duration> parse_duration(std::string_view s) {
  int64_t n = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || n < 0 || n > 1'000'000) return std::nullopt;
  std::string_view unit(p, static_cast<size_t>(s.data() + s.size() - p));
  if (unit == "s" || unit.empty()) return std::chrono::seconds(n);
  if (unit == "m") return std::chrono::minutes(n);
  if (unit == "h") return std::chrono::hours(n);
  if (unit == "ms") return milliseconds(n);
  return std::nullopt;
}

}  // namespace

Result<std::unique_ptr<KeepAlivePolicy>, std::string> make_keep_alive_policy(
    std::string_view spec) {
  if (spec == "adaptive") return std::unique_ptr<KeepAlivePolicy>(new AdaptiveKeepAlive());
  if (spec.starts_with("fixed:")) {
    if (auto d = parse_duration(spec.substr(6)))
      return std::unique_ptr<KeepAlivePolicy>(new FixedKeepAlive(*d));
  }
  return fail("unknown keep-alive policy '" + std::string(spec) +
              "' (fixed:DURATION such as fixed:15m, or adaptive)");
}

Result<SimulationResult, std::string> simulate(const Trace& trace, std::string_view policy_spec,
                                               const SimulationOptions& options) {
  auto policy = make_keep_alive_policy(policy_spec);
  if (!policy) return fail(policy.error());
  SimulationResult res;
  res.policy = std::string(policy_spec);
  if (trace.events.empty()) return res;
  auto wall_start = std::chrono::steady_clock::now();

  ManualClock clock;
  Ledger ledger;
  SimulatedFactory factory(clock, ledger, options);
  // Lambda's scaling (one instance per concurrent call): simulated instances
  // report no CPU contention, and no account limit gets in the way.
  PoolOptions po;
  po.account_concurrency = 1'000'000'000;
  po.adaptive_concurrency = false;
  po.queue_behind = false;
  po.min_concurrency = 1;
  po.idle_memory_budget_mb = options.memory_budget_mb;

  std::vector<FunctionSpec> specs(trace.functions.size());
  for (size_t i = 0; i < specs.size(); ++i) {
    specs[i].name = trace.functions[i];
    specs[i].revision = "1";
    specs[i].memory_mb = 0;
  }
  for (const auto& e : trace.events)
    if (specs[e.function].memory_mb == 0)
      specs[e.function].memory_mb = static_cast<int>(e.memory_mb);

  std::vector<float> added_ms(trace.events.size(), 0.f);
  std::vector<uint64_t> fn_calls(specs.size()), fn_cold(specs.size());
  uint64_t outstanding = 0;
  {
    Pool pool(factory, clock, **policy, po);
    const int64_t t0 = trace.events.front().time_ms;
    for (size_t i = 0; i < trace.events.size(); ++i) {
      const TraceEvent& e = trace.events[i];
      TimePoint at{milliseconds(e.time_ms - t0)};
      if (at > clock.now()) clock.advance(at - clock.now());
      Invocation inv;
      inv.payload = std::to_string(e.duration_ms);
      ++outstanding;
      ++fn_calls[e.function];
      auto admitted =
          pool.invoke(specs[e.function], std::nullopt, std::move(inv),
                      [&, i, at, fn = e.function, d = milliseconds(e.duration_ms)](InvokeResult) {
                        --outstanding;
                        Duration added = clock.now() - at - d;
                        if (added > Duration::zero()) {
                          ++fn_cold[fn];
                          added_ms[i] = std::chrono::duration<float, std::milli>(added).count();
                        }
                      });
      if (admitted != Admission::kAdmitted) return fail(std::string("the pool refused a call"));
    }
    // Let the last invocations finish (each is bounded by the trace's 15 minutes).
    for (int guard = 0; outstanding > 0 && guard < 20'000; ++guard)
      clock.advance(milliseconds(100));
    pool.stop_all();  // instances account their idle time up to now
  }

  res.invocations = trace.events.size();
  std::vector<double> fn_pct;
  for (size_t f = 0; f < specs.size(); ++f) {
    res.per_function.push_back({trace.functions[f], fn_calls[f], fn_cold[f]});
    res.cold_starts += fn_cold[f];
    if (fn_calls[f] > 0)
      fn_pct.push_back(100.0 * static_cast<double>(fn_cold[f]) / static_cast<double>(fn_calls[f]));
  }
  res.functions = fn_pct.size();
  res.cold_start_pct =
      100.0 * static_cast<double>(res.cold_starts) / static_cast<double>(res.invocations);
  res.fn_cold_pct_p50 = percentile(fn_pct, 0.50);
  res.fn_cold_pct_p75 = percentile(fn_pct, 0.75);
  res.fn_cold_pct_p90 = percentile(fn_pct, 0.90);
  res.fn_cold_pct_p99 = percentile(fn_pct, 0.99);
  res.added_ms_p50 = percentile(added_ms, 0.50);
  res.added_ms_p99 = percentile(added_ms, 0.99);
  res.added_ms_p999 = percentile(added_ms, 0.999);
  constexpr double kMbNsPerGbS = 1024.0 * 1e9;
  res.idle_gb_s = ledger.idle_mb_ns / kMbNsPerGbS;
  res.busy_gb_s = ledger.busy_mb_ns / kMbNsPerGbS;
  res.instances_started = ledger.started;
  res.wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  return res;
}

std::string format_results(std::span<const SimulationResult> results) {
  std::string out =
      fmt::format("{:<12} {:>10} {:>9} {:>8}  {:<27} {:>12} {:>20} {:>10}\n", "policy", "calls",
                  "cold", "cold %", "per-function cold % p50/p75/p90/p99", "idle GB·s",
                  "added ms p50/p99/p99.9", "instances");
  for (const auto& r : results)
    out += fmt::format(
        "{:<12} {:>10} {:>9} {:>8.3f}  {:>6.1f} {:>6.1f} {:>6.1f} {:>6.1f}        {:>12.0f} "
        "{:>6.0f} {:>6.0f} {:>6.0f} {:>10}\n",
        r.policy, r.invocations, r.cold_starts, r.cold_start_pct, r.fn_cold_pct_p50,
        r.fn_cold_pct_p75, r.fn_cold_pct_p90, r.fn_cold_pct_p99, r.idle_gb_s, r.added_ms_p50,
        r.added_ms_p99, r.added_ms_p999, r.instances_started);
  return out;
}

std::string format_top_functions(std::span<const SimulationResult> results, size_t n) {
  std::string out;
  for (const auto& r : results) {
    auto fns = r.per_function;
    std::stable_sort(fns.begin(), fns.end(),
                     [](const auto& a, const auto& b) { return a.cold_starts > b.cold_starts; });
    out += fmt::format("{}: most cold starts\n", r.policy);
    for (size_t i = 0; i < std::min(n, fns.size()) && fns[i].cold_starts > 0; ++i)
      out += fmt::format(
          "  {:<24} {:>8} of {:>8} calls ({:.2f} %)\n", fns[i].name, fns[i].cold_starts,
          fns[i].calls,
          100.0 * static_cast<double>(fns[i].cold_starts) / static_cast<double>(fns[i].calls));
  }
  return out;
}

SimulationResult::PerFunction sum_functions(const SimulationResult& r, std::string_view prefix) {
  SimulationResult::PerFunction sum{std::string(prefix)};
  for (const auto& f : r.per_function) {
    if (!f.name.starts_with(prefix)) continue;
    sum.calls += f.calls;
    sum.cold_starts += f.cold_starts;
  }
  return sum;
}

}  // namespace nimbus::faas
