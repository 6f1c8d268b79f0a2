#include "faas/sandbox_launcher.h"

#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <span>
#include <utility>

#include "base/ids.h"
#include "faas/runtime_channel.h"
#include "sandbox/fork_template.h"
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
  SandboxProcess(std::unique_ptr<sandbox::Instance> inst, uid_t uid, std::string_view launch_path,
                 std::function<void()> on_release, std::shared_ptr<Snapshot> from = nullptr)
      : inst_(std::move(inst)),
        uid_(uid),
        launch_path_(launch_path),
        on_release_(std::move(on_release)),
        from_(std::move(from)) {}
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
  std::string_view launch_path() const override { return launch_path_; }
  std::function<void()> initialised() override { return std::exchange(on_initialised_, nullptr); }
  void on_initialised(std::function<void()> f) { on_initialised_ = std::move(f); }
  std::optional<Pipes> take_pipes() override { return std::exchange(pipes_, std::nullopt); }
  void set_pipes(Pipes pipes) { pipes_ = std::move(pipes); }

 private:
  std::unique_ptr<sandbox::Instance> inst_;
  uid_t uid_;
  std::string_view launch_path_;
  std::function<void()> on_release_;
  // The template this instance was forked from: it (PID 1 of the instance's
  // namespace) and its uid must outlive the instance.
  std::shared_ptr<Snapshot> from_;
  std::function<void()> on_initialised_;
  std::optional<Pipes> pipes_;  // a prepared instance's own
};

// A template (sandbox::ForkTemplate) as the snapshot cache sees it. Owns the
// template's uid, which its forked instances share.
class TemplateSnapshot final : public Snapshot {
 public:
  // Lambda gives a function's init 10 s; a template still initialising after
  // that will not become ready.
  static constexpr auto kInitLimit = std::chrono::seconds(10);

  TemplateSnapshot(std::unique_ptr<sandbox::ForkTemplate> t, uid_t uid,
                   std::function<void()> release_uid)
      : template_(std::move(t)),
        uid_(uid),
        release_uid_(std::move(release_uid)),
        started_(std::chrono::steady_clock::now()) {}
  ~TemplateSnapshot() override {
    template_.reset();  // its processes are gone before the uid is reused
    release_uid_();
  }
  State poll() override {
    switch (template_->poll()) {
      case sandbox::ForkTemplate::State::kReady:
        return template_->alive() ? State::kReady : State::kRefused;
      case sandbox::ForkTemplate::State::kRefused:
        return State::kRefused;
      case sandbox::ForkTemplate::State::kStarting:
        if (std::chrono::steady_clock::now() - started_ < kInitLimit) return State::kStarting;
        timed_out_ = true;
        return State::kRefused;
    }
    return State::kRefused;
  }
  std::string reason() const override {
    if (timed_out_) return "its init took longer than 10 s";
    auto why = template_->reason();
    return why.empty() ? "it died" : why;
  }
  uint64_t memory_bytes() const override { return template_->process().peak_memory_bytes(); }
  sandbox::ForkTemplate& fork_template() { return *template_; }
  uid_t uid() const { return uid_; }

 private:
  std::unique_ptr<sandbox::ForkTemplate> template_;
  uid_t uid_;
  std::function<void()> release_uid_;
  std::chrono::steady_clock::time_point started_;
  bool timed_out_ = false;
};

// A pipe as two owned ends, [0] read and [1] write.
Result<std::array<sandbox::UniqueFd, 2>> make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    return fail(SysError{"pipe2: " + std::string(std::strerror(errno)), errno});
  return std::array<sandbox::UniqueFd, 2>{sandbox::UniqueFd(fds[0]), sandbox::UniqueFd(fds[1])};
}

}  // namespace

// An instance started before its request (Node, `provided`): in its sandbox,
// with its own uid, cgroup and pipes, waiting for the environment on fd 5
// (sandbox.h, Spec::handover_fd). A `provided` one waits before exec, a Node
// one with the runtime started (runtimes/node/bootstrap.js, NIMBUS_HANDOVER_FD).
// The next launch of its function takes it.
class PreparedInstance final : public Snapshot {
 public:
  PreparedInstance(std::unique_ptr<sandbox::Instance> inst, uid_t uid,
                   std::function<void()> release_uid, Process::Pipes pipes,
                   sandbox::UniqueFd handover)
      : inst_(std::move(inst)),
        uid_(uid),
        release_uid_(std::move(release_uid)),
        pipes_(std::move(pipes)),
        handover_(std::move(handover)) {}
  ~PreparedInstance() override {
    if (!inst_) return;  // handed over: the process owns both now
    inst_.reset();
    release_uid_();
  }
  State poll() override {
    pollfd exited{inst_->pidfd(), POLLIN, 0};
    return ::poll(&exited, 1, 0) == 1 ? State::kRefused : State::kReady;
  }
  std::string reason() const override { return "a prepared instance exited before its request"; }
  uint64_t memory_bytes() const override { return inst_->peak_memory_bytes(); }

  // A runtime's prepared instance, started without a function: gives it the
  // function's code at /var/task, /tmp size and memory limit.
  Status fit_function(std::span<const sandbox::BindMount> code, uint64_t tmp_bytes,
                      uint64_t memory_bytes) {
    if (auto added = inst_->add_mounts(code, tmp_bytes); !added) return added;
    return inst_->set_memory_limit(memory_bytes);
  }

  // Sends `env` and turns the instance into the launch's process.
  Result<std::unique_ptr<SandboxProcess>> hand_over(std::span<const std::string> env,
                                                    std::string_view launch_path) {
    std::string message = sandbox::encode_handover(env);
    for (size_t sent = 0; sent < message.size();) {
      ssize_t n = ::write(handover_.get(), message.data() + sent, message.size() - sent);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return fail(SysError{"handover: " + std::string(std::strerror(errno)), errno});
      sent += static_cast<size_t>(n);
    }
    handover_.reset();  // EOF: the message is complete
    auto process = std::make_unique<SandboxProcess>(std::move(inst_), uid_, launch_path,
                                                    std::move(release_uid_));
    process->set_pipes(std::move(pipes_));
    return process;
  }

 private:
  std::unique_ptr<sandbox::Instance> inst_;
  uid_t uid_;
  std::function<void()> release_uid_;
  Process::Pipes pipes_;
  sandbox::UniqueFd handover_;
};

SandboxLauncher::SandboxLauncher(SandboxLauncherOptions options)
    : options_(std::move(options)),
      uids_(std::make_shared<UidPool>(options_.first_uid, options_.uid_count)),
      snapshots_(options_.snapshot_budget_bytes) {}

SandboxLauncher::~SandboxLauncher() = default;

void SandboxLauncher::start_fork_servers() {
  start_runtime_prepared("nodejs");
  start_runtime_prepared("provided");
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

uid_t SandboxLauncher::UidPool::allocate() {
  std::lock_guard lk(mu_);
  for (int i = 0; i < count_; ++i) {
    uid_t uid = first_ + (next_++ % count_);
    if (in_use_.insert(uid).second) return uid;
  }
  return 0;
}

void SandboxLauncher::UidPool::release(uid_t uid) {
  std::lock_guard lk(mu_);
  in_use_.erase(uid);
}

sandbox::Spec SandboxLauncher::instance_spec(const RuntimeCommand& cmd, const FunctionSpec* fn,
                                             std::vector<std::string> env) const {
  sandbox::Spec spec;
  spec.isolate = options_.isolate;
  spec.runtime_dir = options_.runtime_dir;
  spec.pids_max = 1024;  // Lambda's limit on processes and threads
  if (fn) {
    spec.code_dir = fn->code_dir;
    spec.memory_limit_bytes = static_cast<uint64_t>(fn->memory_mb) << 20;
    spec.tmp_size_bytes = static_cast<uint64_t>(fn->ephemeral_storage_mb) << 20;
    // Layers: the merged directory is /opt, read-only. Isolation off has no
    // mount namespace, so the instance is pointed at the host directory instead
    // (the runtimes read NIMBUS_OPT_DIR; PATH and LD_LIBRARY_PATH name it).
    if (!fn->opt_dir.empty()) spec.extra_mounts.push_back({fn->opt_dir, "/opt", true});
  }
  std::string task_root = spec.isolate || !fn ? "/var/task" : fn->code_dir;
  std::string runtime_dir = spec.isolate ? "/var/runtime" : options_.runtime_dir;
  std::string opt = spec.isolate ? "/opt" : sandbox::host_path(spec, "/opt");
  for (const auto& a : cmd.argv)
    spec.argv.push_back(
        replace_all(replace_all(a, "{runtime_dir}", runtime_dir), "{task_root}", task_root));
  spec.cwd = task_root;
  spec.env = std::move(env);
  spec.env.push_back("LAMBDA_TASK_ROOT=" + task_root);
  spec.env.push_back("LAMBDA_RUNTIME_DIR=" + runtime_dir);
  // As Lambda sets them: /opt/bin last on PATH, the task's and the layers'
  // lib folders on LD_LIBRARY_PATH.
  spec.env.push_back("PATH=/usr/local/bin:/usr/bin:/bin:" + opt + "/bin");
  spec.env.push_back("LD_LIBRARY_PATH=" + task_root + ":" + task_root + "/lib:" + opt + "/lib");
  spec.env.push_back("NIMBUS_OPT_DIR=" + opt);
  if (!cmd.execution_env.empty()) spec.env.push_back("AWS_EXECUTION_ENV=" + cmd.execution_env);
  return spec;
}

Result<std::unique_ptr<Process>> SandboxLauncher::launch(const LaunchRequest& req) {
  const FunctionSpec& fn = *req.function;
  auto cmd = runtime_command(fn.runtime, options_.paths);
  if (!cmd) return fail(SysError{"unknown runtime " + fn.runtime});
  sandbox::Spec spec = instance_spec(*cmd, &fn, req.env);
  spec.cpu_cores = req.init_cpu_cores;
  spec.stdout_fd = req.output_fd;
  spec.stderr_fd = req.output_fd;
  spec.channel_fds = req.channel_fds;
  spec.cgroup_name = req.instance_id;
  spec.hostname = "nimbus-" + req.instance_id.substr(0, 8);

  // A fork of the function's template, or its prepared instance, when it has
  // a ready one; else, for Node and provided, its runtime's prepared one.
  const Ahead ahead = ahead_of_time(fn);
  const std::string function = pool_key(fn);
  if (ahead == Ahead::kPrepared) {
    std::shared_ptr<Snapshot> taken = snapshots_.take(function, fn.revision);
    bool runtime_prepared = false;
    if (!taken && runtime_prepared_eligible(fn)) {
      taken = take_runtime_prepared(runtime_family(fn.runtime));
      runtime_prepared = taken != nullptr;
    }
    if (taken) {
      // Both hold only this launcher's PreparedInstances.
      auto& prepared = static_cast<PreparedInstance&>(*taken);
      auto process = [&]() -> Result<std::unique_ptr<SandboxProcess>> {
        if (runtime_prepared) {  // it has no function yet: this one's code and limits
          sandbox::BindMount code{fn.code_dir, "/var/task", true};
          auto fitted =
              prepared.fit_function({&code, 1}, spec.tmp_size_bytes, spec.memory_limit_bytes);
          if (!fitted) return fail(fitted.take_error());
        }
        return prepared.hand_over(spec.env, runtime_prepared ? "prepared-runtime" : "prepared");
      }();
      if (process) {
        process.value()->on_initialised(restock(function, fn, spec));
        return std::unique_ptr<Process>(std::move(process.value()));
      }
      spdlog::warn("{}: the prepared instance could not take over ({}); starting one the usual way",
                   function, process.error().message);
    }
  }
  if (ahead == Ahead::kSnapshot) {
    if (auto ready = snapshots_.ready(function, fn.revision)) {
      // The cache holds only this launcher's TemplateSnapshots.
      auto& from = static_cast<TemplateSnapshot&>(*ready);
      auto inst = from.fork_template().spawn(spec);
      if (inst)
        return std::unique_ptr<Process>(std::make_unique<SandboxProcess>(
            std::move(inst.value()), from.uid(), "snapshot", nullptr, std::move(ready)));
      spdlog::warn("{}: the snapshot could not fork an instance ({}); starting it the usual way",
                   function, inst.error().message);
      snapshots_.refuse(function, fn.revision, inst.error().message);
    }
  }

  uid_t uid = 0;
  if (spec.isolate) {
    uid = allocate_uid();
    if (uid == 0) return fail(SysError{"no free sandbox uid"});
    spec.uid = uid;
    spec.gid = uid;
  }
  bool forked = false;
  auto inst = spawn_fresh(fn, spec, forked);
  if (!inst) {
    if (uid) release_uid(uid);
    return fail(inst.take_error());
  }
  std::function<void()> release;
  if (uid) release = uid_releaser(uid);
  auto process = std::make_unique<SandboxProcess>(
      std::move(inst.value()), uid, forked ? "fork-server" : "exec", std::move(release));
  // The template or the prepared instance is made from this instance's spec
  // once its init succeeded; its fds are the instance's own, so they are
  // left out.
  spec.stdout_fd = spec.stderr_fd = -1;
  spec.channel_fds = {-1, -1};
  if (ahead == Ahead::kSnapshot)
    process->on_initialised([this, function, fn, spec]() mutable {
      start_snapshot(function, fn.revision, fn, std::move(spec));
    });
  if (ahead == Ahead::kPrepared) process->on_initialised(restock(function, fn, spec));
  return std::unique_ptr<Process>(std::move(process));
}

Result<std::unique_ptr<sandbox::Instance>> SandboxLauncher::spawn_fresh(const FunctionSpec& fn,
                                                                        const sandbox::Spec& spec,
                                                                        bool& forked) {
  if (fn.runtime.starts_with("python3.") && spec.isolate && !options_.python_zygote.empty())
    return spawn_from_zygote(spec, forked);
  return sandbox::spawn(spec);
}

SandboxLauncher::Ahead SandboxLauncher::ahead_of_time(const FunctionSpec& fn) const {
  if (!options_.snapshots || !options_.isolate) return Ahead::kNone;
  auto opt_out = fn.environment.find("NIMBUS_SNAPSHOT");
  if (opt_out != fn.environment.end() && opt_out->second == "off") return Ahead::kNone;
  if (fn.runtime.starts_with("python3.")) return Ahead::kSnapshot;
  if (fn.runtime.starts_with("nodejs") || fn.runtime.starts_with("provided"))
    return Ahead::kPrepared;
  return Ahead::kNone;
}

std::function<void(const std::string&)> SandboxLauncher::refuser(const std::string& function,
                                                                 const std::string& revision,
                                                                 std::string_view what) {
  return [this, function, revision, what](const std::string& why) {
    spdlog::warn("{}: no {} ({})", function, what, why);
    snapshots_.refuse(function, revision, why);
  };
}

void SandboxLauncher::start_prepared(const std::string& function, const std::string& revision,
                                     const FunctionSpec& fn, sandbox::Spec spec) {
  if (!snapshots_.claim(function, revision)) return;
  auto prepared = spawn_prepared(std::move(spec), fn.runtime.starts_with("nodejs"));
  if (!prepared) return refuser(function, revision, "prepared instance")(prepared.error().message);
  snapshots_.add(function, revision, std::move(prepared.value()));
}

std::function<void()> SandboxLauncher::restock(const std::string& function, const FunctionSpec& fn,
                                               const sandbox::Spec& spec) {
  return [this, function, fn, spec]() mutable {
    start_prepared(function, fn.revision, fn, std::move(spec));
    // The runtime's prepared instance, when this instance took it or it is gone.
    if (auto family = runtime_family(fn.runtime); !family.empty()) start_runtime_prepared(family);
  };
}

std::string SandboxLauncher::runtime_family(std::string_view runtime) {
  for (const char* family : {"nodejs", "provided"})
    if (runtime.starts_with(family)) return family;
  return {};
}

bool SandboxLauncher::runtime_prepared_eligible(const FunctionSpec& fn) const {
  // Layers would need /opt in its root; Node reads NODE_* variables (e.g.
  // NODE_OPTIONS, NODE_EXTRA_CA_CERTS) only at start, which was before the
  // function was known.
  const std::string family = runtime_family(fn.runtime);
  if (family.empty() || !fn.opt_dir.empty()) return false;
  return family != "nodejs" ||
         std::none_of(fn.environment.begin(), fn.environment.end(),
                      [](const auto& kv) { return kv.first.starts_with("NODE_"); });
}

std::shared_ptr<Snapshot> SandboxLauncher::take_runtime_prepared(const std::string& family) {
  std::lock_guard lk(runtime_prepared_mu_);
  auto taken = std::exchange(runtime_prepared_[family].waiting, nullptr);
  if (taken && taken->poll() != Snapshot::State::kReady) return nullptr;  // it died
  return taken;
}

void SandboxLauncher::start_runtime_prepared(const std::string& family) {
  if (!options_.snapshots || !options_.isolate) return;
  {
    std::lock_guard lk(runtime_prepared_mu_);
    RuntimePrepared& slot = runtime_prepared_[family];
    if (slot.waiting && slot.waiting->poll() == Snapshot::State::kReady) return;
    if (slot.starting) return;
    slot.starting = true;
  }
  // Any runtime's command of the family: Node's run one node binary, and
  // provided ones the function's bootstrap; what differs (AWS_EXECUTION_ENV)
  // comes with the handover.
  const bool node = family == "nodejs";
  auto cmd = runtime_command(node ? "nodejs20.x" : "provided.al2023", options_.paths);
  sandbox::Spec spec = instance_spec(*cmd, nullptr,
                                     {std::string(kRuntimeChannelFdEnv) + "=" + kRuntimeChannelFds,
                                      "LANG=en_US.UTF-8", "TZ=:UTC"});
  // Until a function takes it: room for Node itself, and all the CPU it
  // wants to start (the function's limits come with the handover).
  spec.memory_limit_bytes = kRuntimePreparedMemory;
  spec.cpu_cores = 0;
  auto prepared = spawn_prepared(std::move(spec), node);
  if (!prepared) spdlog::warn("{}: no prepared runtime ({})", family, prepared.error().message);
  std::lock_guard lk(runtime_prepared_mu_);
  RuntimePrepared& slot = runtime_prepared_[family];
  slot.starting = false;
  if (prepared) slot.waiting = std::move(prepared.value());
}

Result<std::shared_ptr<PreparedInstance>> SandboxLauncher::spawn_prepared(sandbox::Spec spec,
                                                                          bool node) {
  // Its own pipes: output, the runtime channel, and the handover.
  std::array<sandbox::UniqueFd, 2> pipes[4];
  for (auto& p : pipes) {
    auto made = make_pipe();
    if (!made) return fail(made.take_error());
    p = std::move(*made);
  }
  auto& [output, events, results, handover] = pipes;
  uid_t uid = allocate_uid();
  if (uid == 0) return fail(SysError{"no free sandbox uid"});
  spec.uid = spec.gid = uid;
  spec.stdout_fd = spec.stderr_fd = output[1].get();
  spec.channel_fds = {events[0].get(), results[1].get()};
  spec.handover_fd = handover[0].get();
  // Node waits by itself, with its runtime started; anything else (a
  // `provided` bootstrap) waits in the sandbox, before exec.
  spec.exec_on_handover = !node;
  if (node) spec.env.push_back("NIMBUS_HANDOVER_FD=" + std::to_string(sandbox::kHandoverFd));
  const std::string id = random_hex(8);
  spec.cgroup_name = "prepared-" + id;
  spec.hostname = "nimbus-" + id;
  auto inst = sandbox::spawn(spec);
  if (!inst) {
    release_uid(uid);
    return fail(inst.take_error());
  }
  return std::make_shared<PreparedInstance>(
      std::move(inst.value()), uid, uid_releaser(uid),
      Process::Pipes{std::move(output[0]), std::move(events[1]), std::move(results[0])},
      std::move(handover[1]));
}

void SandboxLauncher::start_snapshot(const std::string& function, const std::string& revision,
                                     const FunctionSpec& fn, sandbox::Spec spec) {
  if (!snapshots_.claim(function, revision)) return;
  auto refuse = refuser(function, revision, "snapshot");
  auto sockets = sandbox::ForkTemplate::socket_pair();
  if (!sockets) return refuse(sockets.error().message);
  sandbox::UniqueFd devnull(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!devnull.valid()) return refuse("cannot open /dev/null");
  uid_t uid = allocate_uid();
  if (uid == 0) return refuse("no free sandbox uid");
  // The template runs the function's init as an instance would, then waits
  // on fd 3 (runtimes/python/bootstrap.py, template mode). Its output would
  // repeat the first instance's init logs, so it goes nowhere.
  spec.uid = spec.gid = uid;
  spec.env.push_back("NIMBUS_TEMPLATE_FD=3");
  spec.channel_fds = {(*sockets)[1].get(), devnull.get()};
  spec.cgroup_name = "snapshot-" + random_hex(8);
  bool forked = false;
  auto inst = spawn_fresh(fn, spec, forked);
  if (!inst) {
    release_uid(uid);
    return refuse(inst.error().message);
  }
  // Once ready, the template's group also carries ~0.2-0.5 MB per live copy
  // (fork_template.cc): room for a thousand or so.
  constexpr uint64_t kCopiesAllowance = 512ull << 20;
  auto fork_template =
      sandbox::ForkTemplate::create(std::move(inst.value()), std::move((*sockets)[0]),
                                    spec.memory_limit_bytes + kCopiesAllowance);
  fork_template->fork_ahead(spec);
  snapshots_.add(
      function, revision,
      std::make_shared<TemplateSnapshot>(std::move(fork_template), uid, uid_releaser(uid)));
}

}  // namespace nimbus::faas
