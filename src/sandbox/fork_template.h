// Per-function snapshots. A template is an ordinary sandboxed instance of one
// function (spawn() or a fork-server launch) that has run the function's init
// — its imports and the clients it builds outside the handler — and then,
// instead of asking for events, forks copies of itself on request. A copy
// skips the interpreter start and the whole init: it begins at the
// function's first event.
//
//   Nimbus ── "fork" + [handover socket, cgroup.procs fds] ──▶ template (fd 3)
//      ▲                                                         │ fork()
//      ├──── "ok" (the kernel names the sender) ◀──── copy: joins its own cgroup,
//      │                                                    waits on its handover socket
//      └── "run\0K=V\0..." + [stdout, stderr, channel] ──▶ copy: becomes the instance
//
// Forking and joining a cgroup are the slow part (a cgroup v1 join can wait
// ~10-20 ms for an RCU grace period), so the template always keeps one copy
// forked ahead, a spare: an instance is then one handover message away.
//
// The copy is a plain fork(): it shares the template's mount, PID, IPC and
// UTS namespaces (so its /tmp and the other copies' processes are visible to
// it), its uid and its seccomp filter. Isolation from other functions and
// from the host is the template's, which is a full sandbox; what a copy does
// not get is isolation from the other instances of the *same* function. Each
// copy moves itself into its own cgroup (memory, CPU and pid limits, peak
// memory and CPU accounting per instance) through cgroup.procs files opened
// by Nimbus, before it answers.
//
// The template's code is the function's: nothing it sends is trusted. Its
// answer's sender pid comes from the kernel (SO_PASSCRED), and a copy is
// accepted only if that process is in the cgroup Nimbus made for it. The
// template's side lives in the runtime (runtimes/python/bootstrap.py,
// "template mode").
#pragma once

#include <sys/types.h>

#include <array>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "base/result.h"
#include "sandbox/cgroup.h"
#include "sandbox/sandbox.h"
#include "sandbox/unique_fd.h"

namespace nimbus::sandbox {

class ForkTemplate {
 public:
  // A connected SOCK_SEQPACKET pair: [0] stays with Nimbus (create() takes
  // it), [1] becomes the template's fd 3.
  static Result<std::array<UniqueFd, 2>> socket_pair();
  // Takes over `process`, a template being started with the peer of `socket`
  // as its fd 3. Once it is ready, its memory limit becomes
  // `ready_memory_limit` (0: unlimited; see poll()).
  static std::unique_ptr<ForkTemplate> create(std::unique_ptr<Instance> process, UniqueFd socket,
                                              uint64_t ready_memory_limit = 0);
  // Takes over a template started by other means (the tests fork one that
  // serves `socket`); it must be a child of the calling process.
  static Result<std::unique_ptr<ForkTemplate>> adopt(pid_t pid, UniqueFd socket);
  ~ForkTemplate();  // closes the socket and kills the template (and every copy)
  ForkTemplate(const ForkTemplate&) = delete;
  ForkTemplate& operator=(const ForkTemplate&) = delete;

  enum class State {
    kStarting,  // the function's init is running
    kReady,     // serving spawn()
    kRefused,   // will never serve: init failed or is not fork-safe, or it died (reason())
  };
  // Non-blocking: reads the template's first message once it came.
  State poll();
  // Why the template refused ("unsafe: 2 threads running after init", ...).
  std::string reason() const;

  // An instance forked from the ready template: `spec` supplies its env,
  // stdout/stderr, runtime channel and limits; argv, mounts, cwd and uid are
  // the template's. The spare becomes it when there is one (its cgroup is
  // named when it was forked, not by spec.cgroup_name), and a new spare is
  // forked for the next call. Thread-safe.
  Result<std::unique_ptr<Instance>> spawn(const Spec& spec);

  // Asks for the first spare now, with `spec`'s limits: the request waits in
  // the socket and the template forks it as soon as its init is done, so the
  // first spawn() finds it ready (a fresh fork's first cgroup join after a
  // quiet spell waits ~10-20 ms for an RCU grace period).
  void fork_ahead(const Spec& spec);

  // The template's own sandbox (its memory use; alive()).
  const Instance& process() const { return *process_; }
  bool alive();

 private:
  ForkTemplate(std::unique_ptr<Instance> process, UniqueFd socket, uint64_t ready_memory_limit);
  State refuse_locked(std::string why);

  // A copy: forked and in its cgroup once `pid` is known.
  struct Copy {
    std::unique_ptr<Cgroup> cgroup;
    UniqueFd handover;  // our end of the copy's socket
    pid_t pid = 0;
    UniqueFd pidfd;
  };
  // Sends a fork request for a copy with `spec`'s limits; its answer is read
  // by finish_fork_locked(), before any other request.
  Status request_fork_locked(const Spec& spec);
  Result<Copy> finish_fork_locked();
  // Sends the copy what makes it `spec`'s instance.
  Result<std::unique_ptr<Instance>> hand_over(Copy copy, const Spec& spec,
                                              std::chrono::steady_clock::time_point t_begin);

  std::unique_ptr<Instance> process_;
  UniqueFd socket_;
  uint64_t ready_memory_limit_;
  mutable std::mutex mu_;
  State state_ = State::kStarting;
  std::string reason_;
  std::optional<Copy> pending_;  // fork requested, answer not read yet: the spare
};

}  // namespace nimbus::sandbox
