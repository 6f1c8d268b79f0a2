// Starts the process of one instance. SandboxLauncher execs the runtime in a
// sandbox, or forks a Python instance from the fork-server (sandbox/zygote.h);
// the pool and the instance see the same Process either way.
#pragma once

#include <sys/types.h>
#include <array>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "faas/function_spec.h"
#include "sandbox/unique_fd.h"

namespace nimbus::faas {

// A running instance process (and everything it spawned).
class Process {
 public:
  virtual ~Process() = default;  // kills and cleans up whatever is left
  // Becomes readable when the process has exited (a pidfd).
  virtual int exit_fd() const = 0;
  virtual void kill() = 0;
  // Non-blocking; the wait status once the process has exited.
  virtual std::optional<int> try_reap() = 0;
  virtual uint64_t peak_memory_bytes() const = 0;
  virtual bool oom_killed() const = 0;
  // The uid the instance runs as (0 when not isolated): the Runtime API
  // serves only connections owned by it.
  virtual uid_t uid() const = 0;
  // Changes the CPU quota of the running process (cores; <= 0: unlimited).
  virtual void set_cpu_cores(double cores) = 0;
  // The runtime process's CPU time and run-queue wait so far (ns), for the
  // pool's concurrency limit; nullopt when unknown.
  struct SchedStat {
    uint64_t cpu_ns = 0;
    uint64_t run_delay_ns = 0;
  };
  virtual std::optional<SchedStat> sched_stat() const { return std::nullopt; }
  // How the process started ("snapshot", "fork-server", "exec"), for the
  // REPORT line.
  virtual std::string_view launch_path() const { return {}; }
  // Called once, when the runtime finished its init (asked for its first
  // event): work for the launcher to do then, if any (SandboxLauncher starts
  // the function's snapshot or next prepared instance). It runs where
  // launches run, and may run after the instance is gone.
  virtual std::function<void()> initialised() { return {}; }
  // A process started ahead of its request (a prepared instance) came with
  // pipes of its own: these are the instance's ends, to use instead of the
  // ones it made for the LaunchRequest (whose other ends the process never
  // got). Asked once, after launch().
  struct Pipes {
    sandbox::UniqueFd output;   // read: the process's stdout and stderr
    sandbox::UniqueFd events;   // write: the runtime channel's events in (fd 3)
    sandbox::UniqueFd results;  // read: its results out (fd 4)
  };
  virtual std::optional<Pipes> take_pipes() { return std::nullopt; }
};

struct LaunchRequest {
  const FunctionSpec* function = nullptr;
  std::string instance_id;
  // The Lambda environment minus the paths, which depend on the launcher's view
  // (LAMBDA_TASK_ROOT, LAMBDA_RUNTIME_DIR, PATH, LD_LIBRARY_PATH and
  // NIMBUS_OPT_DIR are added by the launcher).
  std::vector<std::string> env;
  int output_fd = -1;  // becomes the instance's stdout and stderr
  // Become fds 3 and 4: the runtime channel's pipes, events in and results
  // out (faas/runtime_channel.h).
  std::array<int, 2> channel_fds{-1, -1};
  // CPU quota while the runtime initialises (<= 0: unlimited). Lambda boosts
  // CPU during init; the instance sets the memory-proportional share once the
  // runtime asks for its first event.
  double init_cpu_cores = 0;
};

class Launcher {
 public:
  virtual ~Launcher() = default;
  virtual Result<std::unique_ptr<Process>> launch(const LaunchRequest& request) = 0;
  // Whether instances are isolated (namespaces, cgroups, seccomp).
  virtual bool isolated() const = 0;
};

}  // namespace nimbus::faas
