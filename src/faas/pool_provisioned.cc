// Provisioned concurrency in the pool: instances of a version initialised
// ahead of any invocation, kept ready (no keep-alive), used before on-demand
// instances and replaced when they die. The Lambda service owns the
// configurations (per version or alias) and tells the pool how many instances
// each version needs (Pool::set_provisioned).
#include <spdlog/spdlog.h>

#include <algorithm>

#include "faas/pool.h"

namespace nimbus::faas {

namespace {
// After a provisioned instance fails its init, the next attempt waits this
// long, doubling per consecutive failure up to the cap: a broken function must
// not keep a core busy restarting.
constexpr Duration kFirstRetryPause = std::chrono::seconds(1);
constexpr Duration kMaxRetryPause = std::chrono::seconds(60);
}  // namespace

void Pool::set_provisioned(const FunctionSpec& spec, int count) {
  const std::string key = pool_key(spec);
  Effects fx;
  {
    std::lock_guard lk(mu_);
    if (count <= 0 && !groups_.contains(key)) return;
    Group& g = group_for(key, spec, fx);
    count = std::max(count, 0);
    if (count != g.provisioned_target) {
      // A new target: its status starts over (IN_PROGRESS), and a failed one
      // is tried again at once.
      g.provisioned_target = count;
      g.provisioned_reached = false;
      g.provisioned_error.clear();
      g.provisioned_failures = 0;
      g.provisioned_retry_pending = false;
      g.provisioned_retry = TimerHandle{};
    }
    provision(key, g, fx);
    if (count > 0) on_provisioned_ready(g);  // an unchanged or lower target may already be met
  }
  for (auto& f : fx) f();
}

ProvisionedStatus Pool::provisioned(const std::string& key) const {
  std::lock_guard lk(mu_);
  ProvisionedStatus s;
  auto it = groups_.find(key);
  if (it == groups_.end()) return s;
  const Group& g = it->second;
  s.requested = g.provisioned_target;
  for (const auto& slot : g.slots) {
    if (!slot->provisioned || slot->retired) continue;
    if (slot->state == SlotState::kIdle) ++s.available;
    if (slot->state == SlotState::kIdle || slot->state == SlotState::kBusy) ++s.allocated;
  }
  s.allocated = std::min(s.allocated, s.requested);
  s.available = std::min(s.available, s.requested);
  s.ready = g.provisioned_reached || (s.requested > 0 && s.allocated >= s.requested);
  if (!s.ready) s.init_error = g.provisioned_error;
  return s;
}

void Pool::provision(const std::string& key, Group& g, Effects& fx) {
  std::vector<std::shared_ptr<Slot>> mine;
  for (auto& slot : g.slots)
    if (slot->provisioned && !slot->retired && slot->state != SlotState::kDead)
      mine.push_back(slot);
  int live = static_cast<int>(mine.size());
  if (live < g.provisioned_target) {
    // After an init failure the replacement waits for the retry timer.
    if (g.provisioned_retry_pending || stopped_) return;
    for (; live < g.provisioned_target; ++live) start_provisioned(key, g, fx);
    return;
  }
  // Too many: idle ones are stopped first; starting and busy ones become
  // ordinary on-demand instances (the keep-alive reclaims them once idle).
  auto rank = [](SlotState s) {
    return s == SlotState::kIdle ? 0 : s == SlotState::kStarting ? 1 : 2;
  };
  std::stable_sort(mine.begin(), mine.end(),
                   [&](const auto& a, const auto& b) { return rank(a->state) < rank(b->state); });
  for (auto& slot : mine) {
    if (live <= g.provisioned_target) break;
    --live;
    slot->provisioned = false;
    if (slot->state == SlotState::kIdle) {
      slot->state = SlotState::kDead;
      slot->reap->clear();
      fx.push_back([inst = slot->instance] { inst->stop(); });
      remove_slot(g, slot);
    }
  }
}

void Pool::start_provisioned(const std::string& key, Group& g, Effects& fx) {
  FunctionSpec spec = g.spec;
  spec.initialization_type = "provisioned-concurrency";
  auto slot = std::make_shared<Slot>();
  slot->provisioned = slot->provisioned_start = true;
  slot->used = true;  // its init happened ahead: no invocation is its cold start
  start_slot(key, g, slot, spec, fx);
  ++g.provisioned_starting;
}

void Pool::on_provisioned_ready(Group& g) {
  int allocated = 0;
  for (const auto& slot : g.slots)
    allocated += slot->provisioned && !slot->retired &&
                 (slot->state == SlotState::kIdle || slot->state == SlotState::kBusy);
  if (g.provisioned_target == 0 || allocated < g.provisioned_target) return;
  g.provisioned_reached = true;
  g.provisioned_error.clear();
  g.provisioned_failures = 0;
}

void Pool::on_provisioned_init_failure(const std::string& key, Group& g, std::string init_error) {
  spdlog::warn("pool: a provisioned instance of {} failed its init: {}", key, init_error);
  g.provisioned_error = std::move(init_error);
  if (g.provisioned_retry_pending) return;
  Duration pause = kFirstRetryPause * (1 << std::min(g.provisioned_failures, 6));
  pause = std::min(pause, kMaxRetryPause);
  ++g.provisioned_failures;
  g.provisioned_retry_pending = true;
  std::weak_ptr<bool> alive = alive_;
  g.provisioned_retry = clock_.call_after(pause, [this, alive, key] {
    if (!alive.lock()) return;
    Effects fx;
    {
      std::lock_guard lk(mu_);
      auto it = groups_.find(key);
      if (it == groups_.end()) return;
      it->second.provisioned_retry_pending = false;
      provision(key, it->second, fx);
    }
    for (auto& f : fx) f();
  });
}

InvokeCallback Pool::release_provisioned(const std::string& key, InvokeCallback done) {
  std::weak_ptr<bool> alive = alive_;
  return [this, alive, key, done = std::move(done)](InvokeResult r) {
    if (alive.lock()) {
      std::lock_guard lk(mu_);
      if (auto it = groups_.find(key); it != groups_.end() && it->second.provisioned_in_flight > 0)
        --it->second.provisioned_in_flight;
    }
    done(std::move(r));
  };
}

}  // namespace nimbus::faas
