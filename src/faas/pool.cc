#include "faas/pool.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <thread>

namespace nimbus::faas {

namespace {
// The answer for a call that was admitted but never ran: the pool stopped.
InvokeResult not_run_result() {
  InvokeResult r;
  r.status = InvokeResult::Status::kFunctionError;
  r.payload =
      R"({"errorType":"Runtime.Unavailable","errorMessage":"Nimbus stopped the function's instances before this invocation ran"})";
  return r;
}
}  // namespace

Pool::Pool(InstanceFactory& factory, Clock& clock, KeepAlivePolicy& keep_alive, PoolOptions options)
    : factory_(factory), clock_(clock), keep_alive_(keep_alive), options_(options) {
  if (options_.min_concurrency <= 0)
    options_.min_concurrency = std::max(2, static_cast<int>(std::thread::hardware_concurrency()));
}

int Pool::busy_count(const Group& g) {
  int busy = 0;
  for (const auto& slot : g.slots) busy += slot->state == SlotState::kBusy;
  return busy;
}

Pool::~Pool() {
  stop_all();
  alive_.reset();
}

void Pool::set_reserved_total(int total) {
  std::lock_guard lk(mu_);
  reserved_total_ = total;
}

InvokeCallback Pool::release_on_done(const std::string& function_name, bool reserved,
                                     InvokeCallback done) {
  std::weak_ptr<bool> alive = alive_;
  return [this, alive, function_name, reserved, done = std::move(done)](InvokeResult r) {
    if (alive.lock()) {
      std::lock_guard lk(mu_);
      auto it = in_flight_.find(function_name);
      if (it != in_flight_.end() && --it->second == 0) in_flight_.erase(it);
      if (!reserved) --unreserved_in_flight_;
    }
    done(std::move(r));
  };
}

Admission Pool::invoke(const FunctionSpec& spec, std::optional<int> reserved, Invocation inv,
                       InvokeCallback done) {
  const std::string key = pool_key(spec);
  Effects fx;
  {
    std::lock_guard lk(mu_);
    int& fn_in_flight = in_flight_[spec.name];
    // A version's provisioned concurrency is its own share of the account's
    // (carved out of the unreserved pool): calls within it are admitted
    // whatever the others use. A reserved function's is part of its reservation.
    auto pg = groups_.find(key);
    bool on_provisioned = !reserved && pg != groups_.end() &&
                          pg->second.provisioned_in_flight < pg->second.provisioned_target;
    if (reserved) {
      if (fn_in_flight >= *reserved) {
        if (fn_in_flight == 0) in_flight_.erase(spec.name);
        return Admission::kFunctionLimit;
      }
    } else if (!on_provisioned &&
               unreserved_in_flight_ >= options_.account_concurrency - reserved_total_) {
      if (fn_in_flight == 0) in_flight_.erase(spec.name);
      return Admission::kAccountLimit;
    }
    ++fn_in_flight;
    if (!reserved && !on_provisioned) ++unreserved_in_flight_;

    Group& g = group_for(key, spec, fx);
    InvokeCallback release =
        release_on_done(spec.name, reserved.has_value() || on_provisioned, std::move(done));
    if (on_provisioned) {
      ++g.provisioned_in_flight;
      release = release_provisioned(key, std::move(release));
    }
    g.waiting.push_back(Waiter{std::move(inv), std::move(release)});
    pump(key, g, fx);
    // After pump: the policy learns the concurrency this arrival needed.
    keep_alive_.on_arrival(key, clock_.now(), busy_count(g) + g.starting);
  }
  for (auto& f : fx) f();
  return Admission::kAdmitted;
}

void Pool::pump(const std::string& key, Group& g, Effects& fx) {
  int busy = busy_count(g);
  while (!g.waiting.empty() && busy < g.limit.value()) {
    // Warm path: a provisioned instance first, then the most recently used
    // idle one (LIFO lets surplus instances age out under the keep-alive).
    std::shared_ptr<Slot> best;
    for (auto& slot : g.slots)
      if (slot->state == SlotState::kIdle && !slot->retired &&
          (!best || (slot->provisioned != best->provisioned ? slot->provisioned
                                                            : slot->idle_since > best->idle_since)))
        best = slot;
    if (!best) break;
    best->reap->clear();
    dispatch_or_park(key, g, best, fx);
    ++busy;
  }
  start_needed(key, g, busy, fx);
  if (busy >= g.limit.value()) queue_behind_busy(key, g, fx);
}

void Pool::queue_behind_busy(const std::string& key, Group& g, Effects& fx) {
  // Only while instances wait for a CPU: a call queued behind one that waits
  // on I/O would wait for all of it, even if the limit grew meanwhile.
  if (!options_.queue_behind || !options_.adaptive_concurrency ||
      g.limit.contention() < ConcurrencyLimit::kGrowBelow)
    return;
  for (auto& slot : g.slots) {
    if (g.waiting.empty()) return;
    if (slot->state == SlotState::kBusy && !slot->queued && !slot->retired) {
      slot->queued = true;
      run_next_waiter(key, g, slot, fx);
    }
  }
}

void Pool::start_needed(const std::string& key, Group& g, int busy, Effects& fx) {
  // One instance per waiting invocation at most: many concurrent cold requests
  // start only as many instances as there are requests not yet covered; and
  // none beyond the concurrency limit, whose waiters the running instances
  // serve next.
  int room = g.limit.value() - busy;
  while (g.starting < static_cast<int>(g.waiting.size()) && g.starting < room && !stopped_) {
    start_slot(key, g, std::make_shared<Slot>(), g.spec, fx);
    ++g.starting;
  }
}

void Pool::start_slot(const std::string& key, Group& g, std::shared_ptr<Slot> slot,
                      const FunctionSpec& spec, Effects& fx) {
  slot->revision = g.spec.revision;
  slot->instance = factory_.create(spec);
  g.slots.push_back(slot);
  std::weak_ptr<bool> alive = alive_;
  // The instance's callbacks hold the slot weakly: the slot owns the
  // instance, so a strong reference back would keep both alive forever.
  std::weak_ptr<Slot> weak = slot;
  slot->reap.emplace(clock_, [this, alive, key, weak] {
    if (alive.lock()) on_reap(key, weak);
  });
  fx.push_back([this, alive, key, weak, instance = slot->instance] {
    instance->start(
        [this, alive, key, weak](bool ok, std::string err) {
          auto s = weak.lock();
          if (alive.lock() && s) on_ready(key, s, ok, std::move(err));
        },
        [this, alive, key, weak] {
          auto s = weak.lock();
          if (alive.lock() && s) on_death(key, s);
        });
  });
}

void Pool::dispatch_or_park(const std::string& key, Group& g, const std::shared_ptr<Slot>& slot,
                            Effects& fx) {
  if (slot->retired) {
    slot->state = SlotState::kDead;
    fx.push_back([inst = slot->instance] { inst->stop(); });
    remove_slot(g, slot);
    pump(key, g, fx);
    return;
  }
  // The slot itself may be busy (finishing an invocation): it does not count
  // against the limit it would run the next one under.
  int others_busy = busy_count(g) - (slot->state == SlotState::kBusy);
  if (g.waiting.empty() || others_busy >= g.limit.value()) {
    slot->state = SlotState::kIdle;
    slot->idle_since = clock_.now();
    // Provisioned instances stay until their configuration lets them go.
    if (!slot->provisioned)
      slot->reap->set(slot->idle_since + keep_alive_.keep_alive(key, slot->idle_since));
    if (options_.idle_memory_budget_mb > 0 && !slot->provisioned) enforce_budget(g, slot, fx);
    return;
  }
  slot->state = SlotState::kBusy;
  run_next_waiter(key, g, slot, fx);
}

void Pool::run_next_waiter(const std::string& key, Group& g, const std::shared_ptr<Slot>& slot,
                           Effects& fx) {
  Waiter w = std::move(g.waiting.front());
  g.waiting.pop_front();
  bool cold = !slot->used;
  slot->used = true;
  ++(cold ? g.counters.cold_starts : g.counters.warm_starts);
  std::weak_ptr<bool> alive = alive_;
  std::weak_ptr<Slot> weak = slot;
  fx.push_back(
      [this, alive, key, weak, instance = slot->instance, cold, w = std::move(w)]() mutable {
        instance->invoke(std::move(w.inv), [this, alive, key, weak, cold,
                                            done = std::move(w.done)](InvokeResult r) mutable {
          if (r.not_started) {
            if (alive.lock()) return requeue(key, std::move(*r.not_started), std::move(done));
            return done(not_run_result());
          }
          r.cold_start = cold;
          auto s = weak.lock();
          if (alive.lock() && s) on_done(key, s, r);
          done(std::move(r));
        });
      });
}

void Pool::requeue(const std::string& key, Invocation inv, InvokeCallback done) {
  Effects fx;
  {
    std::lock_guard lk(mu_);
    auto it = groups_.find(key);
    if (it != groups_.end() && !stopped_) {
      it->second.waiting.push_front(Waiter{std::move(inv), std::move(done)});
      pump(key, it->second, fx);
      done = nullptr;
    }
  }
  for (auto& f : fx) f();
  if (done) done(not_run_result());
}

void Pool::on_ready(const std::string& key, const std::shared_ptr<Slot>& slot, bool ok,
                    std::string init_error) {
  Effects fx;
  std::optional<Waiter> failed;
  {
    std::lock_guard lk(mu_);
    auto it = groups_.find(key);
    if (it == groups_.end()) return;
    Group& g = it->second;
    --(slot->provisioned_start ? g.provisioned_starting : g.starting);
    if (slot->state != SlotState::kStarting) return;  // stopped meanwhile
    if (!ok && slot->provisioned_start) {
      // Started ahead, so no invocation waits for this init: the failure
      // shows in the configuration's status, and a replacement follows.
      slot->state = SlotState::kDead;
      remove_slot(g, slot);
      if (slot->provisioned) on_provisioned_init_failure(key, g, std::move(init_error));
      pump(key, g, fx);
    } else if (!ok) {
      // The invocation that caused this start gets the init error, as on Lambda.
      slot->state = SlotState::kDead;
      remove_slot(g, slot);
      if (!g.waiting.empty()) {
        failed = std::move(g.waiting.front());
        g.waiting.pop_front();
        ++g.counters.cold_starts;
      }
      pump(key, g, fx);
    } else {
      dispatch_or_park(key, g, slot, fx);
      if (slot->provisioned) on_provisioned_ready(g);
    }
  }
  for (auto& f : fx) f();
  if (failed) {
    InvokeResult r;
    r.status = InvokeResult::Status::kFunctionError;
    r.payload = std::move(init_error);
    r.cold_start = true;
    failed->done(std::move(r));
  }
}

void Pool::on_done(const std::string& key, const std::shared_ptr<Slot>& slot,
                   const InvokeResult& r) {
  Effects fx;
  {
    std::lock_guard lk(mu_);
    auto it = groups_.find(key);
    if (it == groups_.end() || slot->state != SlotState::kBusy) return;
    Group& g = it->second;
    bool grew = false;
    if (options_.adaptive_concurrency && r.sample_busy > Duration::zero()) {
      int before = g.limit.value();
      int queued = 0;
      for (const auto& s : g.slots) queued += s->queued;
      grew = g.limit.on_sample(clock_.now(), r.sample_busy, r.sample_run_delay, busy_count(g),
                               static_cast<int>(g.waiting.size()) + queued);
      if (g.limit.value() != before)
        spdlog::debug("pool: concurrency limit of {}: {} -> {} (CPU wait share {:.2f})", key,
                      before, g.limit.value(), g.limit.contention());
    }
    if (r.instance_lost) {
      // The instance died with this call: waiting work needs a new one (and
      // a provisioned instance its replacement).
      slot->state = SlotState::kDead;
      remove_slot(g, slot);
      pump(key, g, fx);
      if (slot->provisioned) provision(key, g, fx);
    } else if (slot->queued) {
      // The invocation queued behind this one runs now; another may queue.
      slot->queued = false;
      pump(key, g, fx);
    } else {
      dispatch_or_park(key, g, slot, fx);
      if (grew) pump(key, g, fx);
    }
  }
  for (auto& f : fx) f();
}

void Pool::on_death(const std::string& key, const std::shared_ptr<Slot>& slot) {
  Effects fx;
  {
    std::lock_guard lk(mu_);
    auto it = groups_.find(key);
    if (it == groups_.end()) return;
    if (slot->state == SlotState::kStarting) return;  // on_ready(false) handles it
    slot->state = SlotState::kDead;
    slot->reap->clear();
    remove_slot(it->second, slot);
    pump(key, it->second, fx);
    if (slot->provisioned) provision(key, it->second, fx);
  }
  for (auto& f : fx) f();
}

void Pool::on_reap(const std::string& key, const std::weak_ptr<Slot>& weak) {
  std::shared_ptr<Instance> victim;
  {
    std::lock_guard lk(mu_);
    auto slot = weak.lock();
    auto it = groups_.find(key);
    if (!slot || it == groups_.end()) return;
    if (slot->state != SlotState::kIdle) return;
    slot->state = SlotState::kDead;
    ++it->second.counters.reclaimed;
    remove_slot(it->second, slot);
    victim = slot->instance;
    schedule_prewarm(key, it->second);
  }
  victim->stop();
}

void Pool::remove_slot(Group& g, const std::shared_ptr<Slot>& slot) {
  std::erase(g.slots, slot);
}

void Pool::retire_function(const std::string& function_name, const std::string& version) {
  std::vector<std::shared_ptr<Instance>> victims;
  {
    std::lock_guard lk(mu_);
    for (auto& [key, g] : groups_) {
      if (g.spec.name != function_name || (!version.empty() && g.spec.version != version)) continue;
      for (auto& slot : std::vector(g.slots)) {
        slot->retired = true;
        if (slot->state == SlotState::kIdle) {
          slot->state = SlotState::kDead;
          slot->reap->clear();
          victims.push_back(slot->instance);
          remove_slot(g, slot);
        }
      }
      g.spec.revision.clear();  // the next invocation re-keys the group
    }
  }
  for (auto& v : victims) v->stop();
}

void Pool::stop_all() {
  std::vector<std::shared_ptr<Instance>> victims;
  std::vector<Waiter> orphans;
  {
    std::lock_guard lk(mu_);
    for (auto& [key, g] : groups_) {
      for (auto& slot : g.slots) {
        slot->reap->clear();
        slot->retired = true;
        victims.push_back(slot->instance);
      }
      for (auto& w : g.waiting) orphans.push_back(std::move(w));
    }
    groups_.clear();
  }
  for (auto& v : victims) v->stop();
  for (auto& w : orphans) w.done(not_run_result());
}

PoolStats Pool::stats(const std::string& key) const {
  std::lock_guard lk(mu_);
  auto it = groups_.find(key);
  if (it == groups_.end()) return {};
  PoolStats s = it->second.counters;
  s.concurrency_limit = it->second.limit.value();
  for (auto& slot : it->second.slots) {
    ++s.instances;
    if (slot->state == SlotState::kStarting) ++s.starting;
    if (slot->state == SlotState::kIdle) ++s.idle;
    if (slot->state == SlotState::kBusy) ++s.busy;
    if (slot->queued) ++s.queued;
  }
  s.waiting = static_cast<int>(it->second.waiting.size());
  return s;
}

PoolStats Pool::totals() const {
  std::vector<std::string> keys;
  {
    std::lock_guard lk(mu_);
    for (auto& [k, g] : groups_) keys.push_back(k);
  }
  PoolStats t;
  for (auto& k : keys) {
    auto s = stats(k);
    t.instances += s.instances;
    t.starting += s.starting;
    t.idle += s.idle;
    t.busy += s.busy;
    t.waiting += s.waiting;
    t.queued += s.queued;
    t.cold_starts += s.cold_starts;
    t.warm_starts += s.warm_starts;
    t.reclaimed += s.reclaimed;
  }
  return t;
}

Pool::Group& Pool::group_for(const std::string& key, const FunctionSpec& spec, Effects& fx) {
  Group& g = groups_[key];
  if (!g.limit_set) {
    g.limit = ConcurrencyLimit(options_.min_concurrency, options_.adaptive_concurrency
                                                             ? options_.account_concurrency
                                                             : std::numeric_limits<int>::max());
    g.limit_set = true;
  }
  if (g.spec.revision != spec.revision) {
    // Code or configuration changed: new invocations must see it, so instances
    // of the old revision are stopped (idle) or retired after their call (busy).
    for (auto& slot : std::vector(g.slots)) {
      if (slot->revision == spec.revision) continue;
      slot->retired = true;
      if (slot->state == SlotState::kIdle) {
        slot->state = SlotState::kDead;
        slot->reap->clear();
        fx.push_back([inst = slot->instance] { inst->stop(); });
        remove_slot(g, slot);
      }
    }
    g.spec = spec;
    if (g.provisioned_target > 0) provision(key, g, fx);
  }
  return g;
}

}  // namespace nimbus::faas
