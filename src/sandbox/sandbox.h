// Runs one function instance's process in a sandbox: its own mount, PID, IPC,
// UTS (and cgroup) namespaces, a minimal read-only root built from bind mounts,
// a cgroup holding memory, CPU and process-count limits, an unprivileged uid,
// no capabilities, and a seccomp filter. This is the only privileged part of
// Nimbus; it is kept small so that it can be read in one sitting.
//
// Threat model: a function cannot read another function's files, see host
// processes, exceed its memory, or outlive its timeout (the caller kills it).
// It shares the host network namespace (instances reach Nimbus on 127.0.0.1).
//
// Filesystem seen by an isolated instance:
//   /usr /bin /sbin /lib /lib64 /lib32 /etc   host's, read-only (symlinks replicated)
//   /var/task      Spec::code_dir, read-only
//   /var/runtime   Spec::runtime_dir, read-only
//   <targets>      Spec::extra_mounts (e.g. layers at /opt)
//   /tmp           private tmpfs, Spec::tmp_size_bytes, mode 1777
//   /proc          fresh, for the instance's PID namespace
//   /dev           null zero full random urandom, shm (tmpfs), fd stdin stdout stderr
//   /              a tmpfs, remounted read-only once built
// Nothing else of the host (/home, /root, /work, /var/lib, Nimbus's data,
// other functions' code) is reachable.
//
// Threads: the instance receives SIGKILL when the *thread* that spawned it
// exits (PR_SET_PDEATHSIG is per thread), so spawn from a long-lived thread
// (an io_context thread), never from a short-lived helper thread. Nimbus must
// not set SIGCHLD to SIG_IGN (children would be reaped behind our back).
#pragma once

#include <sys/types.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "sandbox/unique_fd.h"

namespace nimbus::sandbox {

class Cgroup;
class Zygote;

struct BindMount {
  std::string source;  // host path (directory or file)
  std::string target;  // absolute path inside the sandbox
  bool read_only = true;
};

struct Spec {
  std::vector<std::string> argv;  // argv[0]: absolute path as seen inside the sandbox
  std::vector<std::string> env;   // "KEY=VALUE", the complete environment
  std::string code_dir;           // host dir -> /var/task (read-only); empty: an empty dir
  std::string runtime_dir;        // host dir -> /var/runtime (read-only); empty: an empty dir
  std::vector<BindMount> extra_mounts;
  std::string cwd = "/var/task";
  uint64_t memory_limit_bytes = 128ull << 20;  // 0: unlimited
  // CFS quota in cores: Lambda gives 1 vCPU at 1769 MB, proportionally
  // below/above. <= 0: unlimited.
  double cpu_cores = 128.0 / 1769.0;
  // Private tmpfs at /tmp. Its pages are memory, charged to the instance's
  // cgroup: /tmp usage counts against memory_limit_bytes (unlike Lambda,
  // whose /tmp is disk).
  uint64_t tmp_size_bytes = 512ull << 20;
  int pids_max = 1024;  // <= 0: unlimited
  // The ids to run as. Isolated instances refuse 0 (root); the caller
  // allocates a distinct uid per instance (e.g. 20000 + n).
  uid_t uid = 0;
  gid_t gid = 0;
  // Become fds 1 and 2 (-1: /dev/null). stdin is /dev/null. No other fd of
  // Nimbus reaches the instance.
  int stdout_fd = -1;
  int stderr_fd = -1;
  // Become fds 3 and 4 of the instance when >= 0: the runtime channel's two
  // pipes, events in and results out (Nimbus's runtimes talk to their instance
  // over them; see faas/runtime_channel.h). Both or neither.
  std::array<int, 2> channel_fds{-1, -1};
  // Becomes fd 5 of the instance when >= 0: the read end of a pipe on which
  // a *prepared* instance (started before its first request; see
  // faas/sandbox_launcher.h) receives its environment. The message is
  // encode_handover(): every "KEY=VALUE" NUL-terminated, then one more NUL.
  int handover_fd = -1;
  // With handover_fd: the child enters its sandbox and then waits, before
  // exec, for the message on fd 5; it execs argv with that environment (env
  // above is unused) and fd 5 closed. spawn() returns once the child waits.
  // For runtimes that cannot wait by themselves (any `provided` bootstrap).
  // Without it the runtime is exec'd at once and reads fd 5 itself.
  bool exec_on_handover = false;
  std::string hostname = "nimbus";
  // false: "isolation off" — a plain child process (used when not root): no
  // namespaces, cgroups, seccomp or uid change; argv[0] and cwd under
  // /var/task, /var/runtime or an extra mount target are translated to the
  // host path (see host_path()); env is passed unchanged, so the caller sets
  // LAMBDA_TASK_ROOT & co. from host_path() too. RLIMIT_NOFILE and RLIMIT_CORE
  // are set as in isolated mode; memory is NOT limited.
  bool isolate = true;
  std::string cgroup_name;               // unique per instance; empty: generated
  std::string cgroup_parent = "nimbus";  // shared parent group, created once
};

// Where the time of one spawn() went (isolated mode fills all of it).
struct SpawnTimings {
  std::chrono::nanoseconds prepare{0};  // validation, mount plan, cgroup create + limits
  std::chrono::nanoseconds clone{0};    // clone() until the child runs
  // child: write "0" to cgroup.procs. Usually ~50 us, but a cgroup migration
  // takes a global percpu rwsem for writing, which waits for an RCU grace
  // period when no migration happened recently (~15-20 ms seen on 6.x v1).
  std::chrono::nanoseconds join_cgroup{0};
  std::chrono::nanoseconds mounts{0};  // child: build root, pivot_root, hostname
  std::chrono::nanoseconds setup{0};   // child: fds, rlimits, credentials, seccomp
  std::chrono::nanoseconds exec{0};    // execve() until the new image replaced the old
  std::chrono::nanoseconds total{0};   // spawn() entry to return
};

// A running sandboxed process. The destructor kills everything in it, reaps
// it, and removes its cgroup.
class Instance {
 public:
  struct Key {  // only spawn() constructs instances
   private:
    Key() = default;
    friend Result<std::unique_ptr<Instance>> spawn(const Spec& spec);
    friend class Zygote;
    friend class ForkTemplate;
  };
  // `our_child` false: the process's parent is someone else (a template that
  // forked it, fork_template.h), so it cannot be waited for; its exit is seen
  // through the pidfd, its status read from /proc while it is a zombie, and
  // kill() signals every process in its cgroup.
  Instance(Key, pid_t pid, UniqueFd pidfd, std::unique_ptr<Cgroup> cgroup, bool isolated,
           SpawnTimings timings, bool our_child = true);
  ~Instance();
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;

  pid_t pid() const { return pid_; }  // in Nimbus's PID namespace
  // Readable (POLLIN) once the process has exited. Owned by the instance.
  int pidfd() const { return pidfd_.get(); }
  // SIGKILL to every process of the instance. Isolated: the instance's PID 1,
  // whose death makes the kernel kill the rest of its PID namespace (forked
  // from a template: every process in its cgroup). Isolation off: the process
  // group the child leads (descendants that leave it escape).
  void kill();
  // Non-blocking; the wait status (as from waitpid) once the process exited.
  // Not our child: the status the kernel kept for the zombie, or "killed by
  // SIGKILL" when its parent reaped it first.
  std::optional<int> try_reap();
  // Waits up to `timeout` for the exit, then reaps; nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);

  // cgroup v1 memory.max_usage_in_bytes, v2 memory.peak (or memory.current
  // before Linux 5.19); 0 with isolation off. Read before destruction.
  uint64_t peak_memory_bytes() const;
  // Whether the kernel's OOM killer killed a process of this instance
  // (v1 memory.oom_control oom_kill, v2 memory.events oom_kill).
  bool oom_killed() const;
  // CPU time used by all processes of the instance so far (cpuacct / cpu.stat).
  uint64_t cpu_usage_ns() const;
  // The instance's main process (the runtime): time on a CPU and time spent
  // runnable but waiting for one, from /proc/PID/schedstat; nullopt when the
  // kernel does not provide it. One pread on a file opened at spawn.
  struct SchedStat {
    uint64_t cpu_ns = 0;
    uint64_t run_delay_ns = 0;
  };
  std::optional<SchedStat> sched_stat() const;
  // Changes the CPU quota of the running instance (e.g. a boost during init).
  Status set_cpu_cores(double cores);
  Status set_memory_limit(uint64_t bytes);  // 0: unlimited
  // Gives a running isolated instance more of its root: read-only binds of
  // host directories onto directories that exist in it (e.g. the empty
  // /var/task of an instance started before its function was known), and a
  // /tmp of `tmp_size_bytes`. Its processes see them at once.
  Status add_mounts(std::span<const BindMount> mounts, uint64_t tmp_size_bytes);

  bool isolated() const { return isolated_; }
  const SpawnTimings& timings() const { return timings_; }
  // The instance's cgroup directories (one per v1 hierarchy); empty when off.
  std::vector<std::string> cgroup_dirs() const;

 private:
  pid_t pid_;
  UniqueFd pidfd_;
  std::unique_ptr<Cgroup> cgroup_;
  bool isolated_;
  SpawnTimings timings_;
  std::optional<int> status_;
  UniqueFd schedstat_fd_;
  bool our_child_;
  UniqueFd stat_fd_;  // /proc/PID/stat, when not our child
};

// Starts the process described by `spec`. Returns once it has exec'd: a
// failure anywhere before that (missing bind source, cgroup, mounts, the
// exec itself, e.g. "exec /var/runtime/bootstrap: No such file or directory")
// is returned as a SysError naming the step and path.
Result<std::unique_ptr<Instance>> spawn(const Spec& spec);

// A child started by fork_sandboxed(): pid 0 in the child itself.
struct ForkedChild {
  pid_t pid = 0;
  UniqueFd pidfd;
  SpawnTimings timings;  // prepare and total only: the child's clock is its own
  // Set when the child failed to enter its sandbox and exited (its parent
  // still has to reap `pid`).
  std::optional<SysError> failure;
  // In the child only: what it read from `payload_fd` (see fork_sandboxed).
  std::string payload;
};

// The fork-server's launch (see zygote.h), called inside the zygote: like
// spawn(), but the child is a fork of the caller that does not exec. It joins
// the cgroup through `join_fds` (cgroup.procs files opened by Nimbus, which
// owns the group), enters new mount/PID/IPC/UTS/cgroup namespaces, builds the
// same root, drops to spec.uid, installs the same seccomp filter, and then
// returns pid 0 and goes on running the caller's code. Its parent is the
// caller's parent (CLONE_PARENT), which reaps it. The caller returns once the
// child is in its sandbox, or with `failure` set (the child has exited), or
// with an error when no child was created. Isolated specs only;
// spec.argv, env and cwd are applied by the caller in the child.
// `payload_fd` (>= 0): read to its end by the child alone, before anything
// else, so that its bytes never enter the caller's memory (the zygote passes a
// function's environment this way).
Result<ForkedChild> fork_sandboxed(const Spec& spec, std::span<const int> join_fds,
                                   int payload_fd = -1);

// The fd a prepared instance reads its environment from (Spec::handover_fd).
inline constexpr int kHandoverFd = 5;
// The handover message carrying `env` ("KEY=VALUE" entries).
std::string encode_handover(std::span<const std::string> env);

// Whether isolation can be enforced here: root, cgroup controllers present,
// the seccomp filter compiles, and a probe instance (/bin/true) runs. If not,
// `why` explains. The answer is computed once per process (~ a few ms).
bool isolation_available(std::string* why = nullptr);

// The host path behind a sandbox path for `spec` (/var/task -> code_dir,
// /var/runtime -> runtime_dir, extra mount targets -> sources); the path itself
// when no mount covers it. How isolation-off instances see the same layout.
std::string host_path(const Spec& spec, std::string_view sandbox_path);

}  // namespace nimbus::sandbox
