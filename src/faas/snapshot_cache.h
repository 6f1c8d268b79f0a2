// Which per-function snapshots Nimbus keeps: at most one per function version,
// of its current revision, within a memory budget. The launcher starts one
// after an instance of the function finished its init. A snapshot is either a
// template (sandbox/fork_template.h), which later instances fork from once
// ready, or a prepared instance (faas/sandbox_launcher.h), which the next
// launch takes.
//
// Policy, not mechanism: the cache sees snapshots through the small Snapshot
// interface, so that it is tested without processes.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace nimbus::faas {

class Snapshot {
 public:
  enum class State { kStarting, kReady, kRefused };
  virtual ~Snapshot() = default;
  virtual State poll() = 0;                // non-blocking
  virtual std::string reason() const = 0;  // why it refused
  virtual uint64_t memory_bytes() const = 0;
};

class SnapshotCache {
 public:
  explicit SnapshotCache(uint64_t budget_bytes) : budget_bytes_(budget_bytes) {}

  // The ready snapshot of `function`'s (name:version) `revision`, or null.
  std::shared_ptr<Snapshot> ready(const std::string& function, const std::string& revision);
  // The same, taken out of the cache: one launch uses it up (a prepared
  // instance). The function's next claim() then starts another.
  std::shared_ptr<Snapshot> take(const std::string& function, const std::string& revision);
  // True when no snapshot of this revision exists, is being started or was
  // refused: the caller is then the one to start it, and add() or refuse() it.
  bool claim(const std::string& function, const std::string& revision);
  // Records a started snapshot. It replaces the function's snapshot of an
  // older revision (code or configuration changed). One that is ready at
  // once (a prepared instance) counts against the budget from now on.
  void add(const std::string& function, const std::string& revision,
           std::shared_ptr<Snapshot> snapshot);
  // Gives up on a snapshot that failed to serve, and does not start another
  // for this revision.
  void refuse(const std::string& function, const std::string& revision, std::string why);

  struct Entry {
    std::string function, revision;
    bool ready = false;
    std::string refused;  // non-empty: refused, and why
    uint64_t memory_bytes = 0;
  };
  std::vector<Entry> entries() const;  // for `nimbus ls`-style reporting and tests
  // The memory of the ready snapshots together.
  uint64_t memory_bytes() const;

 private:
  struct Slot {
    std::string revision;
    std::shared_ptr<Snapshot> snapshot;  // null once refused or evicted
    std::string refused;
    bool ready = false;
    uint64_t last_used = 0;  // use counter value at the last fork
  };
  // The slot of `function`'s ready snapshot of `revision`, or null; polls it,
  // records a refusal, and counts it once it first becomes ready.
  Slot* usable_locked(const std::string& function, const std::string& revision);
  // Keeps the ready snapshots' memory within the budget, dropping the least
  // recently used first. Copies already forked keep theirs alive.
  void evict_locked();

  const uint64_t budget_bytes_;
  mutable std::mutex mu_;
  std::map<std::string, Slot> slots_;  // by function (name:version)
  uint64_t uses_ = 0;
};

}  // namespace nimbus::faas
