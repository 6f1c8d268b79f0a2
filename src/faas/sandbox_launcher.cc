#include "faas/sandbox_launcher.h"

#include <spdlog/spdlog.h>

#include <fcntl.h>

#include <functional>

#include "sandbox/sandbox.h"

namespace nimbus::faas {

namespace {

std::string replace_all(std::string s, std::string_view from, std::string_view to) {
  for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size()))
    s.replace(p, from.size(), to);
  return s;
}

// Adapts a sandbox instance to the launcher's Process, returning its uid to the
// launcher when it goes away.
class SandboxProcess final : public Process {
 public:
  SandboxProcess(std::unique_ptr<sandbox::Instance> inst, uid_t uid, bool forked,
                 std::function<void()> on_release)
      : inst_(std::move(inst)), uid_(uid), forked_(forked), on_release_(std::move(on_release)) {}
  ~SandboxProcess() override {
    inst_.reset();  // kills, reaps and removes the cgroup first
    if (on_release_) on_release_();
  }
  int exit_fd() const override { return inst_->pidfd(); }
  void kill() override {
    // Dying processes still need CPU to exit: a throttled instance (7% of a
    // core at 128 MB) full of processes would take seconds to go away.
    (void)inst_->set_cpu_cores(0);
    inst_->kill();
  }
  std::optional<int> try_reap() override { return inst_->try_reap(); }
  uint64_t peak_memory_bytes() const override { return inst_->peak_memory_bytes(); }
  bool oom_killed() const override { return inst_->oom_killed(); }
  void set_cpu_cores(double cores) override { (void)inst_->set_cpu_cores(cores); }
  std::optional<SchedStat> sched_stat() const override {
    auto s = inst_->sched_stat();
    if (!s) return std::nullopt;
    return SchedStat{s->cpu_ns, s->run_delay_ns};
  }
  uid_t uid() const override { return uid_; }
  std::string_view launch_path() const override { return forked_ ? "fork-server" : "exec"; }

 private:
  std::unique_ptr<sandbox::Instance> inst_;
  uid_t uid_;
  bool forked_;
  std::function<void()> on_release_;
};

}  // namespace

SandboxLauncher::SandboxLauncher(SandboxLauncherOptions options) : options_(std::move(options)) {}

SandboxLauncher::~SandboxLauncher() = default;

void SandboxLauncher::start_fork_servers() {
  if (options_.python_zygote.empty() || !options_.isolate) return;
  std::lock_guard lk(zygote_mu_);
  (void)ensure_python_zygote_locked();
}

bool SandboxLauncher::ensure_python_zygote_locked() {
  if (python_zygote_ && python_zygote_->alive()) return true;
  python_zygote_.reset();
  // One that keeps dying (it refuses to serve when its imports started
  // threads) is not restarted for every launch.
  constexpr int kMaxZygoteFailures = 3;
  if (zygote_failures_ >= kMaxZygoteFailures) return false;
  if (++zygote_failures_ == kMaxZygoteFailures)
    spdlog::warn(
        "python fork-server: failed {} times; Python instances exec their runtime from now on",
        kMaxZygoteFailures);
  // Instances show the zygote's command line and initial environment in
  // /proc: make them an exec'd instance's, and pass the host's runtime
  // directory as fd 4 rather than by name.
  sandbox::UniqueFd runtime_dir(
      ::open(options_.runtime_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!runtime_dir.valid()) {
    spdlog::warn("python fork-server: cannot open {}; instances exec their runtime",
                 options_.runtime_dir);
    return false;
  }
  auto cmd = runtime_command("python3.11", options_.paths);
  std::vector<std::string> argv;
  for (const auto& a : cmd->argv) argv.push_back(replace_all(a, "{runtime_dir}", "/var/runtime"));
  int pass[] = {runtime_dir.get()};
  auto z = sandbox::Zygote::start(options_.python_zygote, argv,
                                  {"LANG=C.UTF-8", "PATH=/usr/local/bin:/usr/bin:/bin"}, pass);
  if (!z) {
    spdlog::warn("python fork-server: {}; instances exec their runtime", z.error().message);
    return false;
  }
  python_zygote_ = std::move(*z);
  return true;
}

Result<std::unique_ptr<sandbox::Instance>> SandboxLauncher::spawn_from_zygote(
    const sandbox::Spec& spec, bool& forked) {
  std::lock_guard lk(zygote_mu_);
  if (!ensure_python_zygote_locked()) return sandbox::spawn(spec);
  auto inst = python_zygote_->spawn(spec);
  if (inst) {
    zygote_failures_ = 0;
    forked = true;
    return inst;
  }
  // The instance still starts, the slow way; a broken zygote is replaced on
  // the next launch.
  spdlog::warn("python fork-server: {}; this instance execs its runtime", inst.error().message);
  return sandbox::spawn(spec);
}

uid_t SandboxLauncher::allocate_uid() {
  std::lock_guard lk(mu_);
  for (int i = 0; i < options_.uid_count; ++i) {
    uid_t uid = options_.first_uid + (next_++ % options_.uid_count);
    if (in_use_.insert(uid).second) return uid;
  }
  return 0;
}

void SandboxLauncher::release_uid(uid_t uid) {
  std::lock_guard lk(mu_);
  in_use_.erase(uid);
}

Result<std::unique_ptr<Process>> SandboxLauncher::launch(const LaunchRequest& req) {
  const FunctionSpec& fn = *req.function;
  auto cmd = runtime_command(fn.runtime, options_.paths);
  if (!cmd) return fail(SysError{"unknown runtime " + fn.runtime});

  sandbox::Spec spec;
  spec.isolate = options_.isolate;
  spec.code_dir = fn.code_dir;
  spec.runtime_dir = options_.runtime_dir;
  spec.memory_limit_bytes = static_cast<uint64_t>(fn.memory_mb) << 20;
  spec.cpu_cores = req.init_cpu_cores;
  spec.tmp_size_bytes = static_cast<uint64_t>(fn.ephemeral_storage_mb) << 20;
  spec.pids_max = 1024;  // Lambda's limit on processes and threads
  spec.stdout_fd = req.output_fd;
  spec.stderr_fd = req.output_fd;
  spec.channel_fds = req.channel_fds;
  spec.cgroup_name = req.instance_id;
  spec.hostname = "nimbus-" + req.instance_id.substr(0, 8);

  // Layers: the merged directory is /opt, read-only. Isolation off has no
  // mount namespace, so the instance is pointed at the host directory instead
  // (the runtimes read NIMBUS_OPT_DIR; PATH and LD_LIBRARY_PATH name it).
  if (!fn.opt_dir.empty()) spec.extra_mounts.push_back({fn.opt_dir, "/opt", true});
  std::string task_root = spec.isolate ? "/var/task" : fn.code_dir;
  std::string runtime_dir = spec.isolate ? "/var/runtime" : options_.runtime_dir;
  std::string opt = spec.isolate ? "/opt" : sandbox::host_path(spec, "/opt");
  for (auto& a : cmd->argv)
    spec.argv.push_back(
        replace_all(replace_all(a, "{runtime_dir}", runtime_dir), "{task_root}", task_root));
  spec.cwd = spec.isolate ? "/var/task" : fn.code_dir;
  spec.env = req.env;
  spec.env.push_back("LAMBDA_TASK_ROOT=" + task_root);
  spec.env.push_back("LAMBDA_RUNTIME_DIR=" + runtime_dir);
  // As Lambda sets them: /opt/bin last on PATH, the task's and the layers'
  // lib folders on LD_LIBRARY_PATH.
  spec.env.push_back("PATH=/usr/local/bin:/usr/bin:/bin:" + opt + "/bin");
  spec.env.push_back("LD_LIBRARY_PATH=" + task_root + ":" + task_root + "/lib:" + opt + "/lib");
  spec.env.push_back("NIMBUS_OPT_DIR=" + opt);
  if (!cmd->execution_env.empty()) spec.env.push_back("AWS_EXECUTION_ENV=" + cmd->execution_env);

  uid_t uid = 0;
  if (spec.isolate) {
    uid = allocate_uid();
    if (uid == 0) return fail(SysError{"no free sandbox uid"});
    spec.uid = uid;
    spec.gid = uid;
  }
  bool forked = false;
  Result<std::unique_ptr<sandbox::Instance>> inst =
      fn.runtime.starts_with("python3.") && spec.isolate && !options_.python_zygote.empty()
          ? spawn_from_zygote(spec, forked)
          : sandbox::spawn(spec);
  if (!inst) {
    if (uid) release_uid(uid);
    return fail(inst.take_error());
  }
  std::function<void()> release;
  if (uid) release = [this, uid] { release_uid(uid); };
  return std::unique_ptr<Process>(
      std::make_unique<SandboxProcess>(std::move(inst.value()), uid, forked, std::move(release)));
}

}  // namespace nimbus::faas
