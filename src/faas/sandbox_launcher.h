// The plain launcher: execs the runtime in a fresh sandbox (namespaces, cgroup,
// seccomp) for every instance.
#pragma once

#include <atomic>
#include <mutex>
#include <set>
#include <string>

#include "faas/launcher.h"
#include "faas/runtimes.h"
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

 private:
  uid_t allocate_uid();
  void release_uid(uid_t uid);

  // The instance from the Python fork-server (`forked` set), started on first
  // use and restarted when it died; when it cannot serve, an exec'd instance.
  Result<std::unique_ptr<sandbox::Instance>> spawn_from_zygote(const sandbox::Spec& spec,
                                                               bool& forked);
  bool ensure_python_zygote_locked();

  SandboxLauncherOptions options_;
  std::mutex zygote_mu_;
  std::unique_ptr<sandbox::Zygote> python_zygote_;
  int zygote_failures_ = 0;  // starts since the last instance it served
  std::mutex mu_;
  std::set<uid_t> in_use_;
  uid_t next_ = 0;
};

}  // namespace nimbus::faas
