// Instances on virtual time, for the keep-alive simulator and pool tests:
// ready after a cold-start time, each invocation done after the duration in
// its payload (milliseconds, as text). They add up the memory they hold while
// idle and busy in a Ledger.
#pragma once

#include <algorithm>
#include <charconv>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "faas/instance.h"

namespace nimbus::faas {

struct SimulatedCosts {
  // Cold start: base + per-MB time (a bigger runtime image and heap take
  // longer), jittered by up to ±20 % from the seed.
  Duration cold_start_base = std::chrono::milliseconds(250);
  Duration cold_start_per_mb = std::chrono::microseconds(250);
  uint64_t seed = 1;
};

// What all simulated instances add up to.
struct Ledger {
  double idle_mb_ns = 0, busy_mb_ns = 0;
  uint64_t started = 0;
};

// An instance on virtual time: ready after its cold-start time, each
// invocation done after the duration the trace gave it (its payload). Timers
// are members, so a destroyed instance's pending callbacks never run.
class SimulatedInstance final : public Instance {
 public:
  SimulatedInstance(Clock& clock, Ledger& ledger, std::string id, int memory_mb,
                    Duration cold_start)
      : clock_(clock),
        ledger_(ledger),
        id_(std::move(id)),
        memory_mb_(memory_mb),
        cold_start_(cold_start) {}
  ~SimulatedInstance() override { account(); }

  const std::string& id() const override { return id_; }

  void start(ReadyCallback on_ready, DeathCallback on_death) override {
    ++ledger_.started;
    up_since_ = clock_.now();
    up_ = true;
    ready_ = std::move(on_ready);
    death_ = std::move(on_death);
    timer_ = clock_.call_after(cold_start_, [this] {
      if (auto r = std::exchange(ready_, nullptr)) r(true, {});
    });
  }

  void invoke(Invocation inv, InvokeCallback done) override {
    if (done_) {  // the pool queues behind a busy instance only when told to
      queued_.emplace_back(std::move(inv), std::move(done));
      return;
    }
    run(std::move(inv), std::move(done));
  }

  void stop() override {
    if (!up_) return;
    timer_.cancel();
    account();
    up_ = false;
    if (auto r = std::exchange(ready_, nullptr)) r(false, "stopped");
    if (auto d = std::exchange(done_, nullptr)) {
      InvokeResult res;
      res.status = InvokeResult::Status::kFunctionError;
      res.instance_lost = true;
      d(std::move(res));
    }
    for (auto& [inv, done] : std::exchange(queued_, {})) {
      InvokeResult res;
      res.not_started = std::make_shared<Invocation>(std::move(inv));
      done(std::move(res));
    }
    if (auto d = std::exchange(death_, nullptr)) d();
  }

 private:
  void run(Invocation inv, InvokeCallback done) {
    uint32_t ms = 0;
    std::from_chars(inv.payload.data(), inv.payload.data() + inv.payload.size(), ms);
    Duration d = std::chrono::milliseconds(ms);
    busy_ += d;
    done_ = std::move(done);
    timer_ = clock_.call_after(d, [this] {
      // The answer may lead the pool to stop (and drop) this instance: take
      // what is needed first.
      auto done = std::exchange(done_, nullptr);
      if (!queued_.empty()) {
        auto [inv, next] = std::move(queued_.front());
        queued_.erase(queued_.begin());
        run(std::move(inv), std::move(next));
      }
      done(InvokeResult{});
    });
  }

  // Up time not spent running invocations is idle; a busy instance stopped
  // early (the simulation's end) counts only what it ran.
  void account() {
    if (!up_) return;
    Duration up = clock_.now() - up_since_;
    Duration busy = std::min(busy_, up);
    ledger_.idle_mb_ns +=
        static_cast<double>(memory_mb_) * static_cast<double>((up - busy).count());
    ledger_.busy_mb_ns += static_cast<double>(memory_mb_) * static_cast<double>(busy.count());
    up_ = false;
  }

  Clock& clock_;
  Ledger& ledger_;
  std::string id_;
  int memory_mb_;
  Duration cold_start_;
  bool up_ = false;
  TimePoint up_since_{};
  Duration busy_{0};
  ReadyCallback ready_;
  DeathCallback death_;
  InvokeCallback done_;
  std::vector<std::pair<Invocation, InvokeCallback>> queued_;
  TimerHandle timer_;
};

class SimulatedFactory final : public InstanceFactory {
 public:
  SimulatedFactory(Clock& clock, Ledger& ledger, const SimulatedCosts& o)
      : clock_(clock), ledger_(ledger), o_(o), rng_(o.seed) {}
  std::shared_ptr<Instance> create(const FunctionSpec& spec) override {
    Duration base = o_.cold_start_base + o_.cold_start_per_mb * spec.memory_mb;
    // ±20 %, drawn with a plain modulo so that a seed means the same everywhere.
    double jitter = 0.8 + 0.4 * static_cast<double>(rng_() % 10'001) / 10'000.0;
    auto cold = std::chrono::duration_cast<Duration>(base * jitter);
    return std::make_shared<SimulatedInstance>(clock_, ledger_, "sim-" + std::to_string(next_++),
                                               spec.memory_mb, cold);
  }

 private:
  Clock& clock_;
  Ledger& ledger_;
  SimulatedCosts o_;
  std::mt19937_64 rng_;
  uint64_t next_ = 0;
};

}  // namespace nimbus::faas
