// One instance's control group: memory, CPU and process-count limits, and the
// accounting read back after the instance has run (peak memory, OOM kills).
//
// cgroup v1 (one hierarchy per controller, found in /proc/self/mountinfo) and
// v2 (unified, detected by /sys/fs/cgroup/cgroup.controllers) are supported.
// Instance groups live under a shared parent ("nimbus" by default) that is
// created once and reused, so a spawn costs one mkdir per hierarchy.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "sandbox/unique_fd.h"

namespace nimbus::sandbox {

enum class CgroupVersion { kNone, kV1, kV2 };

// The cgroup layout of this machine, detected once. On kNone `why` says what
// is missing.
CgroupVersion cgroup_version(std::string* why = nullptr);

struct CgroupLimits {
  uint64_t memory_bytes = 0;  // 0: unlimited
  double cpu_cores = 0;       // <= 0: unlimited
  int pids_max = 0;           // <= 0: unlimited
};

class Cgroup {
 public:
  // Creates <hierarchy>/<parent>/<name> in every hierarchy that carries one of
  // the memory, cpu, cpuacct and pids controllers, and applies `limits`.
  static Result<std::unique_ptr<Cgroup>> create(std::string_view parent, std::string_view name,
                                                const CgroupLimits& limits);
  struct Key {  // only create() can construct, yet std::make_unique works
   private:
    Key() = default;
    friend class Cgroup;
  };
  explicit Cgroup(Key) {}
  // Removes the group (see remove()). Every process in it must be gone.
  ~Cgroup();
  Cgroup(const Cgroup&) = delete;
  Cgroup& operator=(const Cgroup&) = delete;

  // cgroup.procs of each hierarchy, open for writing (O_CLOEXEC). A process
  // joins the group by writing "0" to each: that is how a freshly cloned child
  // moves itself in before it execs, with no round trip to the parent.
  std::vector<int> join_fds() const;
  void close_join_fds() { join_fds_.clear(); }

  // Not thread-safe (keeps the file open): the owning instance serializes calls.
  uint64_t peak_memory_bytes() const;
  bool oom_killed() const;
  uint64_t cpu_usage_ns() const;
  Status set_cpu_cores(double cores);
  Status set_memory_limit(uint64_t bytes);  // 0: unlimited
  // The processes in the group (cgroup.procs, pids in our PID namespace).
  std::vector<pid_t> pids() const;
  // SIGKILL to every process in the group, repeated until it is empty (a
  // process may fork while it is being killed; pids.max bounds the rounds).
  // For groups whose processes are not one PID namespace that dies with its
  // PID 1 (instances forked from a template, fork_template.h).
  void kill_all();
  // The group's directories, one per hierarchy (for diagnostics and tests).
  const std::vector<std::string>& dirs() const { return dirs_; }

  // rmdir of every directory, retried for a short while on EBUSY (a killed
  // process can take a moment to leave). Idempotent.
  Status remove();

 private:
  CgroupVersion version_ = CgroupVersion::kNone;
  std::vector<std::string> dirs_;  // in creation order
  std::string memory_dir_, cpu_dir_, cpuacct_dir_;
  std::vector<UniqueFd> join_fds_;
  mutable UniqueFd peak_fd_;
  bool removed_ = false;
};

}  // namespace nimbus::sandbox
