// Pre-warming in the pool: when an instance is reclaimed, the keep-alive
// policy may predict the function's next arrival (or a recurring spike) and
// ask for instances to be up shortly before it; the pool arms one timer per
// function and, when it fires, starts the missing instances without a waiting
// invocation. They park idle under the policy's keep-alive like any other.
#include "faas/pool.h"

namespace nimbus::faas {

void Pool::schedule_prewarm(const std::string& key, Group& g) {
  int live = 0;
  for (const auto& slot : g.slots) live += !slot->retired;
  auto next = keep_alive_.next_prewarm(key, clock_.now(), live);
  if (!next) {
    g.prewarm = TimerHandle{};
    return;
  }
  std::weak_ptr<bool> alive = alive_;
  g.prewarm = clock_.call_at(next->at, [this, alive, key, n = next->instances] {
    if (alive.lock()) on_prewarm(key, n);
  });
}

void Pool::on_prewarm(const std::string& key, int instances) {
  Effects fx;
  {
    std::lock_guard lk(mu_);
    auto it = groups_.find(key);
    if (it == groups_.end() || stopped_) return;
    Group& g = it->second;
    // A retired function re-keys on its next invocation: nothing to start.
    if (g.spec.revision.empty()) return;
    int live = 0;
    for (const auto& slot : g.slots) live += !slot->retired;
    for (; live < instances; ++live) start_prewarmed(key, g, fx);
  }
  for (auto& f : fx) f();
}

void Pool::start_prewarmed(const std::string& key, Group& g, Effects& fx) {
  start_slot(key, g, std::make_shared<Slot>(), g.spec, fx);
  // Counted as starting: an invocation arriving meanwhile waits for this
  // instance instead of starting another (and gets its init error if it fails).
  ++g.starting;
}

}  // namespace nimbus::faas
