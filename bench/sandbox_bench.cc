// sandbox::spawn() of /bin/true until the process has exited and been reaped,
// with isolation (namespaces, cgroup, bind-mounted read-only root, seccomp,
// uid change) and without (a plain child process). SpawnTimings are reported
// as per-iteration averages in microseconds (counters *_us), so the split of an
// isolated spawn can be read next to its total.
//
//   sudo build-bench/bench/nimbus_sandbox_bench [--benchmark_repetitions=3]
//
// The isolated case needs root (cgroups, namespaces, mounts); without it the
// benchmark reports an error instead of a number.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

#include "sandbox/sandbox.h"

namespace {

using nimbus::sandbox::SpawnTimings;
using nimbus::sandbox::Spec;

double us(std::chrono::nanoseconds d) {
  return std::chrono::duration<double, std::micro>(d).count();
}

// argv of the process each iteration runs to completion.
void run_spawn(benchmark::State& state, std::vector<std::string> argv) {
  const bool isolate = state.range(0) != 0;
  if (isolate && geteuid() != 0) {
    state.SkipWithError("isolated spawn needs root (run with sudo)");
    return;
  }
  if (isolate) {
    std::string why;
    if (!nimbus::sandbox::isolation_available(&why)) {
      state.SkipWithError(("isolation unavailable: " + why).c_str());
      return;
    }
  }
  Spec spec;
  spec.argv = std::move(argv);
  spec.env = {"PATH=/usr/bin:/bin"};
  spec.isolate = isolate;
  spec.cwd = isolate ? "/var/task" : "/";
  spec.memory_limit_bytes = 128ull << 20;
  spec.cpu_cores = 1.0;
  spec.tmp_size_bytes = 16ull << 20;
  spec.pids_max = 64;
  // Outside the server's range (20000..29999): never collides with a running nimbus.
  spec.uid = spec.gid = isolate ? 39999 : 0;
  spec.cgroup_parent = "nimbus-bench";

  SpawnTimings sum;
  double spawn_us = 0, run_us = 0;
  int64_t n = 0;
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    auto inst = nimbus::sandbox::spawn(spec);
    if (!inst) {
      state.SkipWithError(("spawn failed: " + inst.error().message).c_str());
      return;
    }
    auto t1 = std::chrono::steady_clock::now();
    auto status = (*inst)->wait(std::chrono::seconds(10));
    if (!status || !WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
      state.SkipWithError("the process did not exit 0");
      return;
    }
    const SpawnTimings& t = (*inst)->timings();
    inst.value().reset();  // destroy: kill (no-op), remove the cgroup — part of the cost
    auto t2 = std::chrono::steady_clock::now();
    sum.prepare += t.prepare;
    sum.clone += t.clone;
    sum.join_cgroup += t.join_cgroup;
    sum.mounts += t.mounts;
    sum.setup += t.setup;
    sum.exec += t.exec;
    sum.total += t.total;
    spawn_us += us(t1 - t0);
    run_us += us(t2 - t1);
    ++n;
  }
  if (n == 0) return;
  auto avg = [n](std::chrono::nanoseconds d) { return benchmark::Counter(us(d) / n); };
  state.counters["prepare_us"] = avg(sum.prepare);
  state.counters["clone_us"] = avg(sum.clone);
  state.counters["cgroup_us"] = avg(sum.join_cgroup);
  state.counters["mounts_us"] = avg(sum.mounts);
  state.counters["setup_us"] = avg(sum.setup);
  state.counters["exec_us"] = avg(sum.exec);
  state.counters["spawn_total_us"] = avg(sum.total);
  // After spawn() returned: /bin/true runs, exits, is reaped; instance teardown.
  state.counters["run_exit_teardown_us"] = benchmark::Counter(run_us / n);
}

void BM_SpawnTrue(benchmark::State& state) {
  run_spawn(state, {"/bin/true"});
}

// The interpreter alone (as the python3.x runtimes start it: -S -B), to see
// what isolation adds to a runtime's start beyond spawn() itself.
void BM_SpawnPython(benchmark::State& state) {
  run_spawn(state, {"/usr/bin/python3", "-S", "-B", "-c", "import json, socket, time"});
}

BENCHMARK(BM_SpawnPython)
    ->ArgName("isolate")
    ->Arg(1)
    ->Arg(0)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(2.0);

BENCHMARK(BM_SpawnTrue)
    ->ArgName("isolate")
    ->Arg(1)
    ->Arg(0)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime()
    ->MinTime(2.0);

}  // namespace

BENCHMARK_MAIN();
