// faas::Pool warm dispatch: the pure scheduling cost of one invocation on the
// warm path (admission against the concurrency limits, picking an idle
// instance, marking it busy, the completion bookkeeping, parking it idle again
// with a fresh keep-alive timer). The instance is an in-process fake that
// completes synchronously, so no process, socket or HTTP is involved.
//
//   build-bench/bench/nimbus_pool_bench
//
// Variants: ManualClock (timers are a map insert/erase) vs AsioClock (the
// server's real clock: a steady_timer per idle period; the io_context is
// polled every iteration so cancelled timers are drained as in the server),
// and the number of warm idle instances the pool holds for the function.
#include <benchmark/benchmark.h>

#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>
#include <vector>

#include "base/asio_clock.h"
#include "base/clock.h"
#include "faas/instance.h"
#include "faas/keep_alive.h"
#include "faas/pool.h"

namespace {

using namespace nimbus;
using namespace nimbus::faas;

// Becomes ready at once and answers every invocation synchronously (unless
// *hold is set: then the answer waits for release(), used to warm N instances).
class EchoInstance final : public Instance {
 public:
  EchoInstance(int n, const bool* hold) : id_("bench-" + std::to_string(n)), hold_(hold) {}
  const std::string& id() const override { return id_; }
  void start(ReadyCallback ready, DeathCallback death) override {
    death_ = std::move(death);
    ready(true, {});
  }
  void invoke(Invocation inv, InvokeCallback done) override {
    InvokeResult r;
    r.payload = std::move(inv.payload);
    if (*hold_) {
      held_ = std::move(done);
      return;
    }
    done(std::move(r));
  }
  void release() {
    if (auto d = std::exchange(held_, nullptr)) d(InvokeResult{});
  }
  void stop() override {
    if (auto d = std::exchange(death_, nullptr)) d();
  }

 private:
  std::string id_;
  const bool* hold_;
  DeathCallback death_;
  InvokeCallback held_;
};

class EchoFactory final : public InstanceFactory {
 public:
  std::shared_ptr<Instance> create(const FunctionSpec&) override {
    auto i = std::make_shared<EchoInstance>(made++, &hold);
    instances.push_back(i);
    return i;
  }
  int made = 0;
  bool hold = false;
  std::vector<std::shared_ptr<EchoInstance>> instances;
};

FunctionSpec bench_spec() {
  FunctionSpec s;
  s.name = "echo";
  s.revision = "r1";
  s.arn = "arn:aws:lambda:us-east-1:000000000000:function:echo";
  s.runtime = "provided.al2023";
  return s;
}

// Leaves `idle` warm idle instances: `idle` invocations held busy at once
// force one instance each, then they all complete.
void warm(Pool& pool, EchoFactory& factory, const FunctionSpec& spec, int idle) {
  factory.hold = true;
  for (int i = 0; i < idle; ++i) {
    Invocation inv;
    inv.request_id = "warm-" + std::to_string(i);
    (void)pool.invoke(spec, std::nullopt, inv, [](InvokeResult) {});
  }
  factory.hold = false;
  for (auto& i : factory.instances) i->release();
}

template <class Run>
void run_warm(benchmark::State& state, Pool& pool, EchoFactory& factory, Run&& between) {
  const FunctionSpec spec = bench_spec();
  warm(pool, factory, spec, static_cast<int>(state.range(0)));
  const int made = factory.made;
  const std::string payload = R"({"hello":"world","n":42})";
  int64_t completed = 0;
  for (auto _ : state) {
    Invocation inv;
    inv.request_id = "00000000-0000-0000-0000-000000000000";
    inv.payload = payload;
    auto a = pool.invoke(spec, std::nullopt, std::move(inv), [&](InvokeResult r) {
      benchmark::DoNotOptimize(r.payload.data());
      ++completed;
    });
    if (a != Admission::kAdmitted) {
      state.SkipWithError("not admitted");
      break;
    }
    between();
  }
  if (factory.made != made) state.SkipWithError("warm path started a new instance");
  state.counters["instances"] = factory.made;
  state.SetItemsProcessed(completed);
  pool.stop_all();
}

void BM_PoolWarmDispatch_ManualClock(benchmark::State& state) {
  EchoFactory factory;
  ManualClock clock;
  FixedKeepAlive keep_alive(std::chrono::minutes(15));
  Pool pool(factory, clock, keep_alive, PoolOptions{});
  run_warm(state, pool, factory, [] {});
}

void BM_PoolWarmDispatch_AsioClock(benchmark::State& state) {
  EchoFactory factory;
  boost::asio::io_context io;
  AsioClock clock(io.get_executor());
  FixedKeepAlive keep_alive(std::chrono::minutes(15));
  {
    Pool pool(factory, clock, keep_alive, PoolOptions{});
    run_warm(state, pool, factory, [&io] { io.poll(); });
  }
  io.poll();
}

BENCHMARK(BM_PoolWarmDispatch_ManualClock)->ArgName("idle")->Arg(1)->Arg(32);
BENCHMARK(BM_PoolWarmDispatch_AsioClock)->ArgName("idle")->Arg(1)->Arg(32);

}  // namespace

BENCHMARK_MAIN();
