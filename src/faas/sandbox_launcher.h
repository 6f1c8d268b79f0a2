// The launcher of real instances: each runs in its own sandbox (namespaces,
// cgroup, seccomp, uid). Five ways to start one, fastest first:
//   snapshot     a fork of the function's template, which already ran the
//                function's init (Python; sandbox/fork_template.h, snapshot_cache.h)
//   prepared     the function's instance started ahead, after its previous
//                one's init: sandbox built (and Node's runtime started), it
//                only waits for its environment (Node, provided)
//   prepared-runtime  (Node) a sandboxed Node started with the server and
//                after each use, with no function yet: the function's code
//                is mounted into it, its limits set, its environment handed
//                over (a function's first instances)
//   fork-server  a fork of the pre-initialised Python runtime (sandbox/zygote.h)
//   exec         the runtime exec'd in a fresh sandbox (every runtime)
// The first instance of a function version's revision (code and
// configuration) takes one of the last two; snapshots and prepared instances
// are kept in one SnapshotCache, within one memory budget.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

#include "faas/launcher.h"
#include "faas/runtimes.h"
#include "faas/snapshot_cache.h"
#include "sandbox/zygote.h"

namespace nimbus::faas {

class PreparedInstance;

struct SandboxLauncherOptions {
  std::string runtime_dir;  // host directory with our bootstraps (runtimes/)
  RuntimePaths paths;
  bool isolate = true;      // false when Nimbus cannot isolate (not root)
  uid_t first_uid = 20000;  // instances run as first_uid + n, one uid each
  int uid_count = 10000;
  // The Python fork-server program (nimbus-python-zygote); empty: python
  // instances exec their runtime like every other. Isolated instances only.
  std::string python_zygote;
  // Per-function snapshots of Python functions, prepared instances of Node and
  // provided ones (isolated instances only): after an instance's init, a
  // template of the function, or its next instance, is started. A function
  // opts out with the environment variable NIMBUS_SNAPSHOT=off.
  bool snapshots = false;
  uint64_t snapshot_budget_bytes = 1ull << 30;  // memory of all templates together
};

class SandboxLauncher final : public Launcher {
 public:
  explicit SandboxLauncher(SandboxLauncherOptions options);
  ~SandboxLauncher() override;
  Result<std::unique_ptr<Process>> launch(const LaunchRequest& request) override;
  bool isolated() const override { return options_.isolate; }
  // Starts the fork-servers now rather than on the first launch (the Python
  // one preloads boto3, ~0.5 s). Call from a long-lived thread: they die with
  // the thread that started them.
  void start_fork_servers();
  // Memory held by ready snapshot templates (for the pool's memory budget).
  uint64_t snapshot_memory_bytes() const { return snapshots_.memory_bytes(); }

 private:
  // The uids of live instances. Shared with the instances' release callbacks,
  // which may run after the launcher is gone (a handler still queued on the
  // I/O context at shutdown holds an instance).
  class UidPool {
   public:
    UidPool(uid_t first, int count) : first_(first), count_(count) {}
    uid_t allocate();  // 0: none free
    void release(uid_t uid);

   private:
    const uid_t first_;
    const int count_;
    std::mutex mu_;
    std::set<uid_t> in_use_;
    uid_t next_ = 0;
  };
  uid_t allocate_uid() { return uids_->allocate(); }
  void release_uid(uid_t uid) { uids_->release(uid); }
  // Returns `uid` to the pool when called, whenever that is.
  std::function<void()> uid_releaser(uid_t uid) {
    return [uids = uids_, uid] { uids->release(uid); };
  }

  // The instance from the Python fork-server (`forked` set), started on first
  // use and restarted when it died; when it cannot serve, an exec'd instance.
  Result<std::unique_ptr<sandbox::Instance>> spawn_from_zygote(const sandbox::Spec& spec,
                                                               bool& forked);
  bool ensure_python_zygote_locked();
  // The isolated instance of `spec` the usual way: from the fork-server for
  // Python when there is one, else exec'd.
  Result<std::unique_ptr<sandbox::Instance>> spawn_fresh(const FunctionSpec& fn,
                                                         const sandbox::Spec& spec, bool& forked);
  // What a function's first instance leaves behind for the next ones.
  enum class Ahead {
    kNone,
    kSnapshot,  // a template to fork from (Python)
    kPrepared,  // one instance started ahead, waiting for its environment (Node, provided)
  };
  Ahead ahead_of_time(const FunctionSpec& fn) const;
  // Starts the template of `fn` from `spec` (an instance's, fds aside), unless
  // one exists or is being started.
  void start_snapshot(const std::string& function, const std::string& revision,
                      const FunctionSpec& fn, sandbox::Spec spec);
  // For a start_*() that claimed `revision` of `function`: records why its
  // `what` (a string literal) will not be, and says so in the log.
  std::function<void(const std::string&)> refuser(const std::string& function,
                                                  const std::string& revision,
                                                  std::string_view what);
  // The sandbox of an instance of `cmd`: `fn`'s code, limits and layers, and
  // the environment `env` plus the paths; without `fn`, a runtime's prepared
  // instance's (an empty /var/task).
  sandbox::Spec instance_spec(const RuntimeCommand& cmd, const FunctionSpec* fn,
                              std::vector<std::string> env) const;
  // A prepared instance of `spec`, with pipes and a uid of its own: a Node
  // runtime waiting for its environment, or (`node` false) a sandbox waiting
  // to exec.
  Result<std::shared_ptr<PreparedInstance>> spawn_prepared(sandbox::Spec spec, bool node);
  // "nodejs" or "provided": the runtimes that have a prepared runtime; empty
  // for the others.
  static std::string runtime_family(std::string_view runtime);
  // A runtime's prepared instance serves the first instance of any function
  // of its family that has none of its own prepared, unless its start would
  // differ: the function has layers, or (Node) sets NODE_* variables.
  bool runtime_prepared_eligible(const FunctionSpec& fn) const;
  // The family's prepared runtime, if one waits (alive): for one launch.
  std::shared_ptr<Snapshot> take_runtime_prepared(const std::string& family);
  // Starts the family's prepared runtime unless one waits or is being started.
  void start_runtime_prepared(const std::string& family);
  // What an instance of a Node or provided function leaves to do once its
  // init is done: prepare the function's next instance (from `spec`, fds
  // aside) and, for Node, the runtime's if it was taken.
  std::function<void()> restock(const std::string& function, const FunctionSpec& fn,
                                const sandbox::Spec& spec);
  // Starts the next prepared instance of `fn` from `spec` (an instance's,
  // fds aside), unless one is waiting or being started.
  void start_prepared(const std::string& function, const std::string& revision,
                      const FunctionSpec& fn, sandbox::Spec spec);

  SandboxLauncherOptions options_;
  std::mutex zygote_mu_;
  std::unique_ptr<sandbox::Zygote> python_zygote_;
  int zygote_failures_ = 0;  // starts since the last instance it served
  std::shared_ptr<UidPool> uids_;
  SnapshotCache snapshots_;
  // The prepared runtimes, by family: a sandboxed Node with the bootstrap
  // loaded, or a sandbox waiting to exec /var/task/bootstrap, with an empty
  // /var/task; each becomes an instance of whichever function of its family
  // needs one first (its code mounted, limits set, environment handed over).
  static constexpr uint64_t kRuntimePreparedMemory = 256ull << 20;
  struct RuntimePrepared {
    std::shared_ptr<Snapshot> waiting;
    bool starting = false;
  };
  std::mutex runtime_prepared_mu_;
  std::map<std::string, RuntimePrepared> runtime_prepared_;
};

}  // namespace nimbus::faas
