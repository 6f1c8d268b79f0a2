// The plain launcher: execs the runtime in a fresh sandbox (namespaces, cgroup,
// seccomp) for every instance.
#pragma once

#include <atomic>
#include <mutex>
#include <set>
#include <string>

#include "faas/launcher.h"
#include "faas/runtimes.h"

namespace nimbus::faas {

struct SandboxLauncherOptions {
  std::string runtime_dir;  // host directory with our bootstraps (runtimes/)
  RuntimePaths paths;
  bool isolate = true;      // false when Nimbus cannot isolate (not root)
  uid_t first_uid = 20000;  // instances run as first_uid + n, one uid each
  int uid_count = 10000;
};

class SandboxLauncher final : public Launcher {
 public:
  explicit SandboxLauncher(SandboxLauncherOptions options);
  Result<std::unique_ptr<Process>> launch(const LaunchRequest& request) override;
  bool isolated() const override { return options_.isolate; }

 private:
  uid_t allocate_uid();
  void release_uid(uid_t uid);

  SandboxLauncherOptions options_;
  std::mutex mu_;
  std::set<uid_t> in_use_;
  uid_t next_ = 0;
};

}  // namespace nimbus::faas
