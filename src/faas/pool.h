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

class Pool {
 public:
  Pool(InstanceFactory& factory, Clock& clock, KeepAlivePolicy& keep_alive, PoolOptions options);
  ~Pool();

  // Admits and runs one invocation; `done` is called exactly once unless the
  // answer is not kAdmitted (then it is never called). `reserved` is the
  // function's reserved concurrency, if any.
  Admission invoke(const FunctionSpec& spec, std::optional<int> reserved, Invocation inv,
                   InvokeCallback done);

  // Sum of all functions' reserved concurrency: the unreserved share is the
  // account limit minus this.
  void set_reserved_total(int total);
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
    bool used = false;    // has served an invocation (the first one is the cold one)
    bool queued = false;  // an invocation waits behind the running one
    TimePoint idle_since{};
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
  void remove_slot(Group& g, const std::shared_ptr<Slot>& slot);
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
  // Outlives callbacks that instances hold: they check it before touching the pool.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace nimbus::faas
