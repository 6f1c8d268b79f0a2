// The memory budget for idle instances: keep-alive as caching (FaasCache,
// ASPLOS 2021). Each idle instance has a greedy-dual priority,
//   clock + frequency × cost / size,
// set when it parks: frequency is its function's invocation count, size its
// memory, and cost the price of a cold start (uniform for now: the pool does
// not measure init times). When the idle instances' memory exceeds the budget,
// the lowest-priority ones are stopped and the clock rises to the last evicted
// priority, so instances that have sat unused age relative to ones parked
// since, and frequently used small functions stay longest.
#include <algorithm>

#include "faas/pool.h"

namespace nimbus::faas {

void Pool::enforce_budget(Group& g, const std::shared_ptr<Slot>& parked, Effects& fx) {
  double frequency =
      static_cast<double>(std::max<int64_t>(1, g.counters.cold_starts + g.counters.warm_starts));
  parked->priority = budget_clock_ + frequency / std::max(1, g.spec.memory_mb);

  // Templates (and whatever else the launcher keeps) share the budget: idle
  // instances get what they leave. The launcher bounds them by the same budget
  // on its own (SandboxLauncherOptions::snapshot_budget_bytes), so the total
  // stays within it.
  int64_t idle_mb = options_.retained_memory_mb ? options_.retained_memory_mb() : 0;
  for (const auto& [key, group] : groups_)
    for (const auto& slot : group.slots)
      if (slot->state == SlotState::kIdle && !slot->provisioned) idle_mb += group.spec.memory_mb;
  if (idle_mb <= options_.idle_memory_budget_mb) return;

  struct Candidate {
    double priority;
    TimePoint idle_since;
    Group* group;
    std::shared_ptr<Slot> slot;
  };
  std::vector<Candidate> idle;
  for (auto& [key, group] : groups_)
    for (const auto& slot : group.slots)
      if (slot->state == SlotState::kIdle && !slot->provisioned)
        idle.push_back({slot->priority, slot->idle_since, &group, slot});
  // Lowest priority first; among equals, the one idle longest.
  std::sort(idle.begin(), idle.end(), [](const Candidate& a, const Candidate& b) {
    return a.priority != b.priority ? a.priority < b.priority : a.idle_since < b.idle_since;
  });
  for (auto& c : idle) {
    if (idle_mb <= options_.idle_memory_budget_mb) break;
    c.slot->state = SlotState::kDead;
    c.slot->reap->clear();
    ++c.group->counters.reclaimed;
    remove_slot(*c.group, c.slot);
    fx.push_back([inst = c.slot->instance] { inst->stop(); });
    idle_mb -= c.group->spec.memory_mb;
    budget_clock_ = c.priority;
  }
}

}  // namespace nimbus::faas
