#include "faas/snapshot_cache.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace nimbus::faas {

SnapshotCache::Slot* SnapshotCache::usable_locked(const std::string& function,
                                                  const std::string& revision) {
  auto it = slots_.find(function);
  if (it == slots_.end() || it->second.revision != revision || !it->second.snapshot) return nullptr;
  Slot& slot = it->second;
  switch (slot.snapshot->poll()) {
    case Snapshot::State::kStarting:
      return nullptr;
    case Snapshot::State::kRefused:
      slot.refused = slot.snapshot->reason();
      spdlog::info("{}: no snapshot, instances start the usual way ({})", function, slot.refused);
      slot.snapshot.reset();
      slot.ready = false;
      return nullptr;
    case Snapshot::State::kReady:
      break;
  }
  slot.last_used = ++uses_;
  if (!slot.ready) {
    if (uint64_t size = slot.snapshot->memory_bytes(); size > budget_bytes_) {
      slot.refused = "its " + std::to_string(size >> 20) + " MB exceed the snapshot budget";
      spdlog::info("{}: no snapshot, instances start the usual way ({})", function, slot.refused);
      slot.snapshot.reset();
      return nullptr;
    }
    slot.ready = true;
    auto snapshot = slot.snapshot;  // evict_locked() may drop this very slot's
    evict_locked();
    auto again = slots_.find(function);
    if (again == slots_.end() || again->second.snapshot != snapshot) return nullptr;
  }
  return &slot;
}

std::shared_ptr<Snapshot> SnapshotCache::ready(const std::string& function,
                                               const std::string& revision) {
  std::lock_guard lk(mu_);
  Slot* slot = usable_locked(function, revision);
  return slot ? slot->snapshot : nullptr;
}

std::shared_ptr<Snapshot> SnapshotCache::take(const std::string& function,
                                              const std::string& revision) {
  std::lock_guard lk(mu_);
  Slot* slot = usable_locked(function, revision);
  if (!slot) return nullptr;
  auto snapshot = std::move(slot->snapshot);
  slots_.erase(function);
  return snapshot;
}

bool SnapshotCache::claim(const std::string& function, const std::string& revision) {
  std::lock_guard lk(mu_);
  auto it = slots_.find(function);
  if (it != slots_.end() && it->second.revision == revision) return false;
  // Pending: no snapshot yet, not refused. An older revision's goes now.
  slots_[function] = Slot{revision, nullptr, {}, false, 0};
  return true;
}

void SnapshotCache::add(const std::string& function, const std::string& revision,
                        std::shared_ptr<Snapshot> snapshot) {
  std::lock_guard lk(mu_);
  slots_[function] = Slot{revision, std::move(snapshot), {}, false, ++uses_};
  (void)usable_locked(function, revision);  // counts it now if it is ready already
}

void SnapshotCache::refuse(const std::string& function, const std::string& revision,
                           std::string why) {
  std::lock_guard lk(mu_);
  Slot& slot = slots_[function];
  if (slot.revision != revision) slot = Slot{revision, nullptr, {}, false, 0};
  slot.snapshot.reset();
  slot.ready = false;
  slot.refused = std::move(why);
}

void SnapshotCache::evict_locked() {
  for (;;) {
    uint64_t total = 0;
    Slot* oldest = nullptr;
    for (auto& [function, slot] : slots_) {
      if (!slot.ready || !slot.snapshot) continue;
      total += slot.snapshot->memory_bytes();
      if (!oldest || slot.last_used < oldest->last_used) oldest = &slot;
    }
    if (total <= budget_bytes_ || !oldest) return;
    // Forgotten, not refused: the function's next init starts a new one.
    auto it = std::find_if(slots_.begin(), slots_.end(),
                           [&](const auto& kv) { return &kv.second == oldest; });
    spdlog::info("{}: snapshot dropped ({} MB of snapshots, budget {} MB)", it->first, total >> 20,
                 budget_bytes_ >> 20);
    slots_.erase(it);
  }
}

uint64_t SnapshotCache::memory_bytes() const {
  std::lock_guard lk(mu_);
  uint64_t total = 0;
  for (const auto& [function, slot] : slots_)
    if (slot.ready && slot.snapshot) total += slot.snapshot->memory_bytes();
  return total;
}

std::vector<SnapshotCache::Entry> SnapshotCache::entries() const {
  std::lock_guard lk(mu_);
  std::vector<Entry> out;
  for (const auto& [function, slot] : slots_)
    out.push_back({function, slot.revision, slot.ready && slot.snapshot != nullptr, slot.refused,
                   slot.ready && slot.snapshot ? slot.snapshot->memory_bytes() : 0});
  return out;
}

}  // namespace nimbus::faas
