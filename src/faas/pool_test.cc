#include "faas/pool.h"

#include <gtest/gtest.h>

#include <deque>
#include <optional>

namespace nimbus::faas {
namespace {

// A scripted instance: start() and invoke() complete only when the test says so.
class FakeInstance final : public Instance {
 public:
  explicit FakeInstance(int n) : id_("fake-" + std::to_string(n)) {}
  const std::string& id() const override { return id_; }
  void start(ReadyCallback ready, DeathCallback death) override {
    ready_ = std::move(ready);
    death_ = std::move(death);
  }
  // Like a real instance: a call made while busy waits behind the running one.
  void invoke(Invocation inv, InvokeCallback done) override {
    if (done_) {
      queued_ = std::move(inv);
      queued_done_ = std::move(done);
      return;
    }
    current = std::move(inv);
    done_ = std::move(done);
    ++invocations;
  }
  // Like a real instance: stopping one that is still starting reports a
  // failed start, then its death.
  void stop() override {
    stopped = true;
    if (auto r = std::exchange(ready_, nullptr)) r(false, "stopped");
    if (auto d = std::exchange(death_, nullptr)) d();
  }
  // Test controls.
  void become_ready() { std::exchange(ready_, nullptr)(true, {}); }
  void fail_init(std::string err) { std::exchange(ready_, nullptr)(false, std::move(err)); }
  void complete(std::string payload = "ok") {
    InvokeResult r;
    r.payload = std::move(payload);
    finish(std::move(r));
  }
  // Completes with a contention sample: `waited` of `ran` spent waiting for a CPU.
  void complete_with_sample(Duration ran, Duration waited) {
    InvokeResult r;
    r.sample_busy = ran;
    r.sample_run_delay = waited;
    finish(std::move(r));
  }
  void crash() {
    if (done_) {
      InvokeResult r;
      r.status = InvokeResult::Status::kFunctionError;
      r.instance_lost = true;
      std::exchange(done_, nullptr)(std::move(r));
    }
    if (queued_done_) {
      InvokeResult r;
      r.not_started = std::make_shared<Invocation>(std::move(queued_));
      std::exchange(queued_done_, nullptr)(std::move(r));
    }
    if (auto d = std::exchange(death_, nullptr)) d();
  }
  bool busy() const { return static_cast<bool>(done_); }
  bool has_queued() const { return static_cast<bool>(queued_done_); }

  Invocation current;
  int invocations = 0;
  bool stopped = false;

 private:
  // The running call's answer; a queued call starts before it is delivered,
  // as ProcessInstance::finish does.
  void finish(InvokeResult r) {
    auto done = std::exchange(done_, nullptr);
    if (queued_done_) {
      current = std::move(queued_);
      done_ = std::exchange(queued_done_, nullptr);
      ++invocations;
    }
    done(std::move(r));
  }

  std::string id_;
  ReadyCallback ready_;
  DeathCallback death_;
  InvokeCallback done_;
  Invocation queued_;
  InvokeCallback queued_done_;
};

class FakeFactory final : public InstanceFactory {
 public:
  std::shared_ptr<Instance> create(const FunctionSpec& spec) override {
    auto i = std::make_shared<FakeInstance>(static_cast<int>(made.size()));
    made.push_back(i);
    init_types.push_back(spec.initialization_type);
    return i;
  }
  std::vector<std::shared_ptr<FakeInstance>> made;
  std::vector<std::string> init_types;  // AWS_LAMBDA_INITIALIZATION_TYPE of each
};

class PoolTest : public ::testing::Test {
 protected:
  PoolTest() : keep_alive_(std::chrono::minutes(15)), pool_(factory_, clock_, keep_alive_, {}) {
    spec_.name = "f";
    spec_.revision = "r1";
  }
  Admission invoke(std::vector<InvokeResult>& sink, std::optional<int> reserved = std::nullopt,
                   const FunctionSpec* spec = nullptr) {
    Invocation inv;
    inv.request_id = "req-" + std::to_string(next_++);
    return pool_.invoke(spec ? *spec : spec_, reserved, inv,
                        [&sink](InvokeResult r) { sink.push_back(std::move(r)); });
  }

  // Declared before the pool: callbacks still pending when the pool is
  // destroyed at teardown write here.
  std::vector<InvokeResult> out;
  ManualClock clock_;
  FakeFactory factory_;
  FixedKeepAlive keep_alive_;
  Pool pool_;
  FunctionSpec spec_;
  int next_ = 0;
};

// Cold path first, then the warm path reuses the idle instance.
TEST_F(PoolTest, ColdThenWarm) {
  ASSERT_EQ(invoke(out), Admission::kAdmitted);
  ASSERT_EQ(factory_.made.size(), 1u);
  factory_.made[0]->become_ready();
  factory_.made[0]->complete("one");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].cold_start);
  ASSERT_EQ(invoke(out), Admission::kAdmitted);
  EXPECT_EQ(factory_.made.size(), 1u);  // no new instance
  factory_.made[0]->complete("two");
  ASSERT_EQ(out.size(), 2u);
  EXPECT_FALSE(out[1].cold_start);
  EXPECT_EQ(out[1].payload, "two");
  auto s = pool_.stats("f:$LATEST");
  EXPECT_EQ(s.cold_starts, 1);
  EXPECT_EQ(s.warm_starts, 1);
}

// Many concurrent cold requests start one instance each, never more.
TEST_F(PoolTest, ConcurrentColdRequestsStartOnlyWhatTheyNeed) {
  for (int i = 0; i < 3; ++i) ASSERT_EQ(invoke(out), Admission::kAdmitted);
  ASSERT_EQ(factory_.made.size(), 3u);
  // The first instance becomes ready, serves one, then takes the next waiter:
  // the still-starting instances are not multiplied.
  factory_.made[0]->become_ready();
  factory_.made[0]->complete();
  EXPECT_EQ(factory_.made[0]->invocations, 2);
  EXPECT_EQ(factory_.made.size(), 3u);
  factory_.made[0]->complete();  // and serves the third too
  factory_.made[0]->complete();
  EXPECT_EQ(out.size(), 3u);
  factory_.made[1]->become_ready();  // arrive late: nothing waits, they park idle
  factory_.made[2]->become_ready();
  EXPECT_EQ(pool_.stats("f:$LATEST").idle, 3);
}

// Reserved concurrency caps in-flight invocations of the function (Lambda's
// ReservedFunctionConcurrentInvocationLimitExceeded); 0 throttles everything.
TEST_F(PoolTest, ReservedConcurrencyThrottles) {
  EXPECT_EQ(invoke(out, 0), Admission::kFunctionLimit);
  ASSERT_EQ(invoke(out, 1), Admission::kAdmitted);
  EXPECT_EQ(invoke(out, 1), Admission::kFunctionLimit);
  factory_.made[0]->become_ready();
  factory_.made[0]->complete();
  EXPECT_EQ(invoke(out, 1), Admission::kAdmitted);  // capacity came back
}

// The account limit minus all reservations bounds unreserved functions.
TEST_F(PoolTest, AccountLimitBoundsUnreservedFunctions) {
  std::vector<InvokeResult> results;  // outlives `small`, whose teardown answers waiters
  Pool small(factory_, clock_, keep_alive_, PoolOptions{3});
  small.set_reserved_total(1);
  Invocation inv;
  auto run = [&] {
    return small.invoke(spec_, std::nullopt, inv, [&](InvokeResult r) { results.push_back(r); });
  };
  EXPECT_EQ(run(), Admission::kAdmitted);
  EXPECT_EQ(run(), Admission::kAdmitted);
  EXPECT_EQ(run(), Admission::kAccountLimit);
}

// Idle instances are reclaimed after the keep-alive, not before.
TEST_F(PoolTest, KeepAliveReclaimsIdleInstances) {
  invoke(out);
  factory_.made[0]->become_ready();
  factory_.made[0]->complete();
  clock_.advance(std::chrono::minutes(14));
  EXPECT_FALSE(factory_.made[0]->stopped);
  clock_.advance(std::chrono::minutes(2));
  EXPECT_TRUE(factory_.made[0]->stopped);
  EXPECT_EQ(pool_.stats("f:$LATEST").instances, 0);
  invoke(out);  // the next call is cold again
  EXPECT_EQ(factory_.made.size(), 2u);
}

// Use restarts the idle clock: an instance used every 10 minutes stays warm.
TEST_F(PoolTest, UseRestartsKeepAlive) {
  for (int i = 0; i < 4; ++i) {
    invoke(out);
    if (i == 0) factory_.made[0]->become_ready();
    factory_.made[0]->complete();
    clock_.advance(std::chrono::minutes(10));
  }
  EXPECT_EQ(factory_.made.size(), 1u);
  EXPECT_FALSE(factory_.made[0]->stopped);
}

// A configuration change retires warm instances: the next call starts fresh.
TEST_F(PoolTest, NewRevisionRetiresOldInstances) {
  invoke(out);
  factory_.made[0]->become_ready();
  factory_.made[0]->complete();
  FunctionSpec updated = spec_;
  updated.revision = "r2";
  invoke(out, std::nullopt, &updated);
  EXPECT_TRUE(factory_.made[0]->stopped);
  ASSERT_EQ(factory_.made.size(), 2u);
}

// A busy instance of an old revision finishes its call, then goes away.
TEST_F(PoolTest, RetireFunctionWaitsForBusyInstances) {
  invoke(out);
  factory_.made[0]->become_ready();
  pool_.retire_function("f");
  EXPECT_FALSE(factory_.made[0]->stopped);
  factory_.made[0]->complete();
  EXPECT_TRUE(factory_.made[0]->stopped);
  EXPECT_EQ(out.size(), 1u);
}

// An init failure answers the invocation that caused the start.
TEST_F(PoolTest, InitFailureAnswersTheWaitingInvocation) {
  invoke(out);
  factory_.made[0]->fail_init(R"({"errorType":"Runtime.ImportModuleError"})");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].status, InvokeResult::Status::kFunctionError);
  EXPECT_NE(out[0].payload.find("ImportModuleError"), std::string::npos);
  EXPECT_EQ(pool_.stats("f:$LATEST").instances, 0);
  // Concurrency was released: a new call is admitted with reserved 1.
  EXPECT_EQ(invoke(out, 1), Admission::kAdmitted);
}

// A crashed instance is removed; waiting work starts a replacement.
TEST_F(PoolTest, CrashedInstanceIsReplaced) {
  invoke(out);
  invoke(out);
  factory_.made[0]->become_ready();
  factory_.made[0]->crash();
  EXPECT_EQ(out.size(), 1u);
  // The second waiter is served by the second instance once ready.
  factory_.made[1]->become_ready();
  factory_.made[1]->complete();
  EXPECT_EQ(out.size(), 2u);
}

// Stopping everything answers waiters instead of leaving them hanging.
TEST_F(PoolTest, StopAllAnswersWaiters) {
  invoke(out);
  pool_.stop_all();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].status, InvokeResult::Status::kFunctionError);
}

// The adaptive concurrency limit (faas/concurrency_limit.h) in the pool: once
// instances report that they mostly wait for a CPU, further invocations wait
// for a running instance instead of starting or waking more.
class PoolConcurrency : public ::testing::Test {
 protected:
  void make_pool(int min_concurrency, bool adaptive = true) {
    PoolOptions opts;
    opts.min_concurrency = min_concurrency;
    opts.adaptive_concurrency = adaptive;
    pool_.emplace(factory_, clock_, keep_alive_, opts);
    spec_.name = "f";
    spec_.revision = "r1";
  }
  void call() {
    ASSERT_EQ(pool_->invoke(spec_, std::nullopt, Invocation{},
                            [this](InvokeResult r) { out_.push_back(std::move(r)); }),
              Admission::kAdmitted);
  }
  PoolStats stats() const { return pool_->stats(pool_key(spec_)); }
  FakeInstance& instance(size_t i) { return *factory_.made.at(i); }
  static void contended(FakeInstance& i) {  // 90 % of the time waiting for a CPU
    i.complete_with_sample(std::chrono::microseconds(1000), std::chrono::microseconds(900));
  }

  std::vector<InvokeResult> out_;  // before the pool: its teardown answers waiters
  ManualClock clock_;
  FakeFactory factory_;
  FixedKeepAlive keep_alive_{std::chrono::minutes(15)};
  FunctionSpec spec_;
  std::optional<Pool> pool_;
};

TEST_F(PoolConcurrency, ContendedFunctionQueuesInsteadOfScalingOut) {
  make_pool(2);
  // Eight concurrent calls start eight instances: nothing is measured yet.
  for (int i = 0; i < 8; ++i) call();
  ASSERT_EQ(factory_.made.size(), 8u);
  for (auto& inst : factory_.made) inst->become_ready();
  // They report heavy contention as they finish; the limit falls to the floor.
  for (auto& inst : factory_.made) contended(*inst);
  EXPECT_EQ(stats().concurrency_limit, 2);
  // Eight more calls: two run, one waits behind each of them, four wait in
  // the pool; no instance is started.
  for (int i = 0; i < 8; ++i) call();
  EXPECT_EQ(factory_.made.size(), 8u);
  EXPECT_EQ(stats().busy, 2);
  EXPECT_EQ(stats().queued, 2);
  EXPECT_EQ(stats().waiting, 4);
  // Each completion hands the next waiter to the instance that finished.
  int served = 0;
  while (served < 8) {
    for (auto& inst : factory_.made)
      if (inst->busy()) {
        inst->complete();
        ++served;
      }
  }
  EXPECT_EQ(out_.size(), 16u);
  EXPECT_EQ(stats().waiting, 0);
}

TEST_F(PoolConcurrency, CalmSamplesLetItScaleOutAgain) {
  make_pool(1);
  call();
  instance(0).become_ready();
  contended(instance(0));
  ASSERT_EQ(stats().concurrency_limit, 1);
  // Two calls: one runs, one waits (behind it, as the instance is contended).
  call();
  call();
  EXPECT_EQ(stats().queued, 1);
  EXPECT_EQ(factory_.made.size(), 1u);
  // Calm samples (an I/O-bound call waits on the network, not on a CPU) raise
  // the limit; the waiter then gets a new instance rather than waiting on.
  for (int i = 0; i < 8 && factory_.made.size() == 1; ++i) {
    clock_.advance(ConcurrencyLimit::kGrowEvery);  // growth is paced
    instance(0).complete_with_sample(std::chrono::milliseconds(100), std::chrono::microseconds(0));
    call();
  }
  EXPECT_GE(factory_.made.size(), 2u);
}

TEST_F(PoolConcurrency, OffMeansOneInstancePerConcurrentCall) {
  make_pool(1, /*adaptive=*/false);
  call();
  instance(0).become_ready();
  contended(instance(0));
  for (int i = 0; i < 3; ++i) call();
  EXPECT_EQ(factory_.made.size(), 3u);  // one idle reused, two started
  EXPECT_EQ(stats().queued, 0);
}

// Beyond the limit, one call waits in each running instance, so the instance
// finds its next event when it finishes; each finish queues the next waiter
// behind the call that just started, in arrival order.
TEST_F(PoolConcurrency, CallsBeyondTheLimitQueueBehindRunningOnes) {
  make_pool(1);
  call();
  instance(0).become_ready();
  contended(instance(0));
  ASSERT_EQ(stats().concurrency_limit, 1);
  std::vector<std::string> order;
  for (int i = 0; i < 4; ++i) {
    Invocation inv;
    inv.request_id = "q" + std::to_string(i);
    pool_->invoke(spec_, std::nullopt, inv,
                  [&order, id = inv.request_id](InvokeResult) { order.push_back(id); });
  }
  EXPECT_EQ(stats().busy, 1);
  EXPECT_EQ(stats().queued, 1);
  EXPECT_EQ(stats().waiting, 2);
  EXPECT_TRUE(instance(0).has_queued());
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(instance(0).current.request_id, "q" + std::to_string(i));
    instance(0).complete();
  }
  EXPECT_EQ(order, (std::vector<std::string>{"q0", "q1", "q2", "q3"}));
  EXPECT_EQ(factory_.made.size(), 1u);
  EXPECT_EQ(stats().idle, 1);
  EXPECT_EQ(stats().queued, 0);
}

// A call queued behind one whose instance dies never ran: it goes back to the
// front of the queue and runs on another instance, instead of failing with
// the crash it had no part in.
TEST_F(PoolConcurrency, CallQueuedBehindACrashRunsElsewhere) {
  make_pool(1);
  call();
  instance(0).become_ready();
  contended(instance(0));
  call();  // runs
  std::vector<InvokeResult> queued_out;
  Invocation inv;
  inv.request_id = "behind";
  pool_->invoke(spec_, std::nullopt, inv,
                [&queued_out](InvokeResult r) { queued_out.push_back(std::move(r)); });
  ASSERT_TRUE(instance(0).has_queued());
  instance(0).crash();
  ASSERT_EQ(factory_.made.size(), 2u);  // a replacement for the queued call
  EXPECT_TRUE(queued_out.empty());
  instance(1).become_ready();
  EXPECT_EQ(instance(1).current.request_id, "behind");
  instance(1).complete("ran");
  ASSERT_EQ(queued_out.size(), 1u);
  EXPECT_EQ(queued_out[0].payload, "ran");
  EXPECT_EQ(queued_out[0].status, InvokeResult::Status::kOk);
}

// Provisioned concurrency (pool_provisioned.cc). Versions, not $LATEST, carry
// it on Lambda; the pool does not care, the tests use version 1.
class PoolProvisioned : public ::testing::Test {
 protected:
  PoolProvisioned() {
    spec_.name = "f";
    spec_.version = "1";
    spec_.revision = "r1";
  }
  Admission call(std::optional<int> reserved = std::nullopt, const FunctionSpec* spec = nullptr) {
    return pool_.invoke(spec ? *spec : spec_, reserved, Invocation{},
                        [this](InvokeResult r) { out_.push_back(std::move(r)); });
  }
  ProvisionedStatus status() const { return pool_.provisioned("f:1"); }
  FakeInstance& instance(size_t i) { return *factory_.made.at(i); }

  std::vector<InvokeResult> out_;
  ManualClock clock_;
  FakeFactory factory_;
  FixedKeepAlive keep_alive_{std::chrono::minutes(15)};
  Pool pool_{factory_, clock_, keep_alive_, {}};
  FunctionSpec spec_;
};

// AWS: PutProvisionedConcurrencyConfig initialises the environments ahead
// (Status IN_PROGRESS, then READY once all are allocated), with
// AWS_LAMBDA_INITIALIZATION_TYPE=provisioned-concurrency; an invocation then
// runs on one of them without a cold start.
TEST_F(PoolProvisioned, InstancesStartAheadAndServeWithoutColdStart) {
  pool_.set_provisioned(spec_, 2);
  ASSERT_EQ(factory_.made.size(), 2u);
  EXPECT_EQ(factory_.init_types[0], "provisioned-concurrency");
  auto s = status();
  EXPECT_EQ(s.requested, 2);
  EXPECT_EQ(s.allocated, 0);
  EXPECT_FALSE(s.ready);
  instance(0).become_ready();
  EXPECT_EQ(status().allocated, 1);
  EXPECT_FALSE(status().ready);
  instance(1).become_ready();
  s = status();
  EXPECT_EQ(s.allocated, 2);
  EXPECT_EQ(s.available, 2);
  EXPECT_TRUE(s.ready);

  ASSERT_EQ(call(), Admission::kAdmitted);
  EXPECT_EQ(factory_.made.size(), 2u);  // no on-demand instance
  EXPECT_EQ(status().available, 1);     // one is busy
  for (auto& i : factory_.made)
    if (i->busy()) i->complete();
  ASSERT_EQ(out_.size(), 1u);
  EXPECT_FALSE(out_[0].cold_start);
  EXPECT_EQ(pool_.stats("f:1").cold_starts, 0);
}

// AWS: provisioned environments stay initialised for as long as the
// configuration exists; on-demand ones are reclaimed after idling.
TEST_F(PoolProvisioned, NeverReclaimedByTheKeepAlive) {
  pool_.set_provisioned(spec_, 1);
  instance(0).become_ready();
  call();
  call();  // spills to an on-demand instance
  ASSERT_EQ(factory_.made.size(), 2u);
  EXPECT_EQ(factory_.init_types[1], "on-demand");
  instance(1).become_ready();
  instance(0).complete();
  instance(1).complete();
  clock_.advance(std::chrono::hours(2));
  EXPECT_FALSE(instance(0).stopped);
  EXPECT_TRUE(instance(1).stopped);
  EXPECT_EQ(status().allocated, 1);
}

// AWS: invocations beyond the provisioned concurrency spill to on-demand
// (standard) concurrency, whose first call in a new environment is a cold start.
TEST_F(PoolProvisioned, CallsBeyondItSpillToOnDemandInstances) {
  pool_.set_provisioned(spec_, 1);
  instance(0).become_ready();
  call();
  call();
  ASSERT_EQ(factory_.made.size(), 2u);
  EXPECT_TRUE(instance(0).busy());
  instance(1).become_ready();
  instance(1).complete();
  instance(0).complete();
  ASSERT_EQ(out_.size(), 2u);
  EXPECT_TRUE(out_[0].cold_start);  // the on-demand one
  EXPECT_FALSE(out_[1].cold_start);
}

// Provisioned instances are preferred over a more recently idle on-demand one.
TEST_F(PoolProvisioned, ProvisionedInstancesAreUsedFirst) {
  pool_.set_provisioned(spec_, 1);
  instance(0).become_ready();
  call();
  call();
  instance(1).become_ready();
  instance(0).complete();
  clock_.advance(std::chrono::seconds(1));
  instance(1).complete();  // idle more recently than the provisioned one
  call();
  EXPECT_TRUE(instance(0).busy());
  EXPECT_FALSE(instance(1).busy());
}

// AWS keeps the allocation: an environment that dies is replaced, and the
// configuration stays READY meanwhile.
TEST_F(PoolProvisioned, DeadInstancesAreReplaced) {
  pool_.set_provisioned(spec_, 1);
  instance(0).become_ready();
  call();
  instance(0).crash();
  ASSERT_EQ(factory_.made.size(), 2u);
  EXPECT_EQ(factory_.init_types[1], "provisioned-concurrency");
  EXPECT_EQ(status().allocated, 0);
  EXPECT_TRUE(status().ready);
  instance(1).become_ready();
  EXPECT_EQ(status().allocated, 1);
  // An idle one that exits is replaced too.
  instance(1).crash();
  EXPECT_EQ(factory_.made.size(), 3u);
}

// AWS: an init error fails the allocation (Status FAILED with a reason); no
// invocation gets the error, and the pool tries again after a pause.
TEST_F(PoolProvisioned, InitFailureIsReportedAndRetriedAfterAPause) {
  pool_.set_provisioned(spec_, 1);
  instance(0).fail_init(R"({"errorType":"Runtime.ImportModuleError"})");
  auto s = status();
  EXPECT_FALSE(s.ready);
  EXPECT_NE(s.init_error.find("ImportModuleError"), std::string::npos);
  EXPECT_EQ(factory_.made.size(), 1u);
  clock_.advance(std::chrono::milliseconds(999));
  EXPECT_EQ(factory_.made.size(), 1u);
  clock_.advance(std::chrono::milliseconds(1));
  ASSERT_EQ(factory_.made.size(), 2u);
  instance(1).become_ready();
  s = status();
  EXPECT_TRUE(s.ready);
  EXPECT_TRUE(s.init_error.empty());
}

// A lower target lets instances go (idle ones stop first, busy ones become
// on-demand instances the keep-alive reclaims); 0 lets all of them go.
TEST_F(PoolProvisioned, LoweringTheTargetLetsInstancesGo) {
  pool_.set_provisioned(spec_, 3);
  for (auto& i : factory_.made) i->become_ready();
  call();
  pool_.set_provisioned(spec_, 1);
  int stopped = 0;
  for (auto& i : factory_.made) stopped += i->stopped;
  EXPECT_EQ(stopped, 2);  // idle ones go first; the busy one stays provisioned
  EXPECT_EQ(status().allocated, 1);
  EXPECT_TRUE(status().ready);
  pool_.set_provisioned(spec_, 0);
  EXPECT_EQ(status().requested, 0);
  EXPECT_EQ(status().allocated, 0);
  for (auto& i : factory_.made)
    if (i->busy()) i->complete();
  clock_.advance(std::chrono::minutes(16));
  for (auto& i : factory_.made) EXPECT_TRUE(i->stopped);
}

// AWS: a reserved function's provisioned concurrency is part of its
// reservation: calls on provisioned instances still count against it.
TEST_F(PoolProvisioned, ReservedFunctionCountsProvisionedCallsAgainstItsReservation) {
  pool_.set_provisioned(spec_, 1);
  instance(0).become_ready();
  EXPECT_EQ(call(1), Admission::kAdmitted);  // on the provisioned instance
  EXPECT_EQ(call(1), Admission::kFunctionLimit);
  EXPECT_EQ(factory_.made.size(), 1u);
}

// A new revision of the version (configuration change) replaces its
// provisioned instances: new calls must see the change.
TEST_F(PoolProvisioned, NewRevisionReplacesProvisionedInstances) {
  pool_.set_provisioned(spec_, 1);
  instance(0).become_ready();
  FunctionSpec updated = spec_;
  updated.revision = "r2";
  call(std::nullopt, &updated);
  EXPECT_TRUE(instance(0).stopped);
  ASSERT_GE(factory_.made.size(), 2u);
  EXPECT_EQ(factory_.init_types[1], "provisioned-concurrency");
  EXPECT_EQ(status().requested, 1);
}

// AWS: provisioned concurrency is the version's own share of the account's
// concurrency: its calls are admitted even when the unreserved pool is used up.
TEST_F(PoolProvisioned, ProvisionedShareIsAdmittedWhenTheUnreservedPoolIsFull) {
  std::vector<InvokeResult> results;  // outlives `small`
  PoolOptions opts;
  opts.account_concurrency = 3;
  Pool small(factory_, clock_, keep_alive_, opts);
  small.set_reserved_total(1);  // f's provisioned 1, carved out of the account's 3
  small.set_provisioned(spec_, 1);
  FunctionSpec other;
  other.name = "g";
  other.revision = "r1";
  auto run = [&](const FunctionSpec& s) {
    return small.invoke(s, std::nullopt, Invocation{},
                        [&](InvokeResult r) { results.push_back(std::move(r)); });
  };
  EXPECT_EQ(run(other), Admission::kAdmitted);
  EXPECT_EQ(run(other), Admission::kAdmitted);
  EXPECT_EQ(run(other), Admission::kAccountLimit);  // unreserved pool: 3 - 1
  EXPECT_EQ(run(spec_), Admission::kAdmitted);      // on f's provisioned share
  EXPECT_EQ(run(spec_), Admission::kAccountLimit);  // beyond it, the shared pool is full
}

}  // namespace
}  // namespace nimbus::faas
