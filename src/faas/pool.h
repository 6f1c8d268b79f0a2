// The instance pool and concurrency scheduler: admits invocations against the
// reserved and account-wide concurrency limits, hands each to an idle instance
// (warm path) or starts a new one (cold path), and reclaims idle instances after
// the keep-alive policy's time.
//
// Concurrency (Nightcore's rule): decisions are made under one mutex; starting,
// invoking and stopping instances happen after it is released.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/lazy_deadline.h"
#include "faas/concurrency_limit.h"
#include "faas/function_spec.h"
#include "faas/instance.h"
#include "faas/invocation.h"
#include "faas/keep_alive.h"

namespace nimbus::faas {

struct PoolOptions {
  int account_concurrency = 1000;  // Lambda's default account limit
  // Adapt each function's concurrency to CPU contention (faas/concurrency_limit.h);
  // off: one instance per concurrent invocation, as Lambda scales.
  bool adaptive_concurrency = true;
  // The adaptive limit's floor; 0: the host's cores (at least 2).
  int min_concurrency = 0;
  // Calls the limit holds back are queued one behind each running invocation
  // (Instance::invoke on a busy instance), so that an instance finds its next
  // event waiting instead of sleeping until the server hands it over.
  bool queue_behind = true;
  // Bound on the memory (MB) of all idle instances together, pre-warmed ones
  // included (0: none). Over it, the idle instances of least value go first
  // (FaasCache's greedy-dual priority; pool_budget.cc). Provisioned instances
  // are not counted.
  int64_t idle_memory_budget_mb = 0;
  // Memory (MB) kept for functions outside the pool that counts against the
  // same budget: the launcher's snapshot templates. Read when the budget is
  // enforced; empty: none.
  std::function<int64_t()> retained_memory_mb;
};

enum class Admission {
  kAdmitted,
  kFunctionLimit,  // the function's reserved concurrency is exhausted
  kAccountLimit,   // the account's unreserved concurrency is exhausted
};

struct PoolStats {
  int instances = 0, starting = 0, idle = 0, busy = 0, waiting = 0;
  int queued = 0;  // calls waiting inside a busy instance, behind its running one
  int64_t cold_starts = 0, warm_starts = 0, reclaimed = 0;
  int concurrency_limit = 0;  // the function's adaptive limit (0 in totals)
};

// Provisioned concurrency of one function version (Pool::set_provisioned).
struct ProvisionedStatus {
  int requested = 0;
  int allocated = 0;  // provisioned instances that finished init (idle or busy)
  int available = 0;  // of those, the ones idle now: a call takes one without a cold start
  // Allocation reached `requested` since the target last changed (a dead
  // instance being replaced does not undo it).
  bool ready = false;
  // The last init error of a provisioned instance while below `requested`
  // (Lambda's error body); empty when none.
  std::string init_error;
};

class Pool {
 public:
  Pool(InstanceFactory& factory, Clock& clock, KeepAlivePolicy& keep_alive, PoolOptions options);
  ~Pool();

  // Admits and runs one invocation; `done` is called exactly once unless the
  // answer is not kAdmitted (then it is never called). `reserved` is the
  // function's reserved concurrency, if any.
  Admission invoke(const FunctionSpec& spec, std::optional<int> reserved, Invocation inv,
                   InvokeCallback done);

  // Sum of all functions' reserved concurrency, plus the provisioned
  // concurrency of functions without a reservation: the unreserved share is
  // the account limit minus this.
  void set_reserved_total(int total);

  // Provisioned concurrency (pool_provisioned.cc): keeps `count` instances of
  // the version initialised ahead (0: none). They are used before on-demand
  // instances, never reclaimed by the keep-alive, and replaced when they die
  // (after an init failure, with a growing pause). Up to `count` concurrent
  // calls of a function without reserved concurrency are admitted on this
  // share whatever the unreserved pool's use. Called by the Lambda service
  // whenever a configuration (or what an alias points to) changes, and at start.
  void set_provisioned(const FunctionSpec& spec, int count);
  ProvisionedStatus provisioned(const std::string& pool_key) const;
  int account_concurrency() const { return options_.account_concurrency; }

  // Stops every idle instance of the function (one version, or all when
  // `version` is empty) and retires the busy ones when they finish: used on
  // update and delete, so that new invocations see the change.
  void retire_function(const std::string& function_name, const std::string& version = {});
  // Stops everything (shutdown, reset).
  void stop_all();

  PoolStats stats(const std::string& pool_key) const;
  PoolStats totals() const;

 private:
  enum class SlotState { kStarting, kIdle, kBusy, kDead };
  struct Slot {
    std::shared_ptr<Instance> instance;
    SlotState state = SlotState::kStarting;
    std::string revision;
    bool retired = false;
    bool used = false;               // has served an invocation (the first one is the cold one)
    bool queued = false;             // an invocation waits behind the running one
    bool provisioned = false;        // kept initialised ahead; no keep-alive
    bool provisioned_start = false;  // started ahead (counted in provisioned_starting)
    TimePoint idle_since{};
    double priority = 0;  // greedy-dual, set when it parks (pool_budget.cc)
    // Set when the slot parks idle, cleared when it is dispatched: once per
    // invocation, so it must not touch the timer queue each time.
    std::optional<LazyDeadline> reap;
  };
  struct Waiter {
    Invocation inv;
    InvokeCallback done;
  };
  struct Group {
    FunctionSpec spec;
    std::vector<std::shared_ptr<Slot>> slots;
    std::deque<Waiter> waiting;
    int starting = 0;
    PoolStats counters;
    ConcurrencyLimit limit{1, 1};  // set when the group is created
    bool limit_set = false;
    // Provisioned concurrency (pool_provisioned.cc).
    int provisioned_target = 0;
    int provisioned_starting = 0;   // started ahead, not counted in `starting`
    int provisioned_in_flight = 0;  // admitted calls charged to the provisioned share
    bool provisioned_reached = false;
    std::string provisioned_error;  // last init failure while below the target
    int provisioned_failures = 0;   // consecutive ones: the retry pause doubles
    bool provisioned_retry_pending = false;
    TimerHandle provisioned_retry;
    // The keep-alive policy's next pre-warm (pool_prewarm.cc).
    TimerHandle prewarm;
  };
  // Work decided under the lock and carried out after it is released.
  using Effects = std::vector<std::function<void()>>;

  void on_ready(const std::string& key, const std::shared_ptr<Slot>& slot, bool ok,
                std::string init_error);
  void on_done(const std::string& key, const std::shared_ptr<Slot>& slot, const InvokeResult& r);
  void on_death(const std::string& key, const std::shared_ptr<Slot>& slot);
  void on_reap(const std::string& key, const std::weak_ptr<Slot>& slot);
  // Gives the slot the next waiter (when the limit allows) or parks it idle.
  // Requires mu_.
  void dispatch_or_park(const std::string& key, Group& g, const std::shared_ptr<Slot>& slot,
                        Effects& fx);
  // Hands waiters to idle instances (most recently used first) and starts
  // instances, within the group's concurrency limit. Requires mu_.
  void pump(const std::string& key, Group& g, Effects& fx);
  static int busy_count(const Group& g);
  // Queues waiters behind running invocations once the limit is reached.
  // Requires mu_.
  void queue_behind_busy(const std::string& key, Group& g, Effects& fx);
  // Hands the next waiter to the slot's instance (idle, or busy with nothing
  // queued). Requires mu_.
  void run_next_waiter(const std::string& key, Group& g, const std::shared_ptr<Slot>& slot,
                       Effects& fx);
  // An invocation whose instance died before it started goes back to the
  // front of the queue.
  void requeue(const std::string& key, Invocation inv, InvokeCallback done);
  // Starts instances while fewer are starting than invocations wait, within
  // the limit (`busy`: the group's running invocations). Requires mu_.
  void start_needed(const std::string& key, Group& g, int busy, Effects& fx);
  // Adds `slot` to the group and starts its instance of `spec` (an effect).
  void start_slot(const std::string& key, Group& g, std::shared_ptr<Slot> slot,
                  const FunctionSpec& spec, Effects& fx);
  // The group of `key`, created on first use; a new revision of `spec` stops
  // or retires the instances of the old one.
  Group& group_for(const std::string& key, const FunctionSpec& spec, Effects& fx);
  void remove_slot(Group& g, const std::shared_ptr<Slot>& slot);
  // Provisioned concurrency (pool_provisioned.cc), all requiring mu_: starts
  // or lets go of provisioned instances to meet the group's target; starts
  // one; notes an instance that became ready or failed its init.
  void provision(const std::string& key, Group& g, Effects& fx);
  void start_provisioned(const std::string& key, Group& g, Effects& fx);
  void on_provisioned_ready(Group& g);
  void on_provisioned_init_failure(const std::string& key, Group& g, std::string init_error);
  // Pre-warming (pool_prewarm.cc), requiring mu_: asks the keep-alive policy
  // for the function's next pre-warm and arms its timer; starts instances
  // ahead of a predicted arrival.
  void schedule_prewarm(const std::string& key, Group& g);
  void on_prewarm(const std::string& key, int instances);
  void start_prewarmed(const std::string& key, Group& g, Effects& fx);
  // Memory budget (pool_budget.cc), requiring mu_: gives the slot that just
  // parked its priority and evicts idle instances until within the budget.
  void enforce_budget(Group& g, const std::shared_ptr<Slot>& parked, Effects& fx);
  // Wraps a call's callback so that it gives its provisioned share back.
  InvokeCallback release_provisioned(const std::string& key, InvokeCallback done);
  InvokeCallback release_on_done(const std::string& function_name, bool reserved,
                                 InvokeCallback done);

  InstanceFactory& factory_;
  Clock& clock_;
  KeepAlivePolicy& keep_alive_;
  PoolOptions options_;

  mutable std::mutex mu_;
  std::map<std::string, Group> groups_;                // by pool key
  std::map<std::string, int, std::less<>> in_flight_;  // by function name
  int unreserved_in_flight_ = 0;
  int reserved_total_ = 0;
  bool stopped_ = false;
  double budget_clock_ = 0;  // greedy-dual's clock: the last evicted priority
  // Outlives callbacks that instances hold: they check it before touching the pool.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace nimbus::faas
