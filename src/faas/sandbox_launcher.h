// The launcher of real instances: each runs in its own sandbox (namespaces,
// cgroup, seccomp, uid). Four ways to start one, fastest first:
//   snapshot     a fork of the function's template, which already ran the
//                function's init (Python; sandbox/fork_template.h, snapshot_cache.h)
//   prepared     the function's instance started ahead, after its previous
//                one's init: sandbox built (and Node's runtime started), it
//                only waits for its environment (Node, provided)
//   fork-server  a fork of the pre-initialised Python runtime (sandbox/zygote.h)
//   exec         the runtime exec'd in a fresh sandbox (every runtime)
// The first instance of a function version's revision (code and
// configuration) takes one of the last two; snapshots and prepared instances
// are kept in one SnapshotCache, within one memory budget.
#pragma once

#include <atomic>
#include <functional>
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
};

}  // namespace nimbus::faas
