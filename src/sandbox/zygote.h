// Fork-server ("zygote") launch. A runtime process that has already started
// its interpreter and loaded Nimbus's bootstrap waits on a socket; for each
// instance it forks a child that enters the instance's own cgroup and
// namespaces, builds the same minimal root, drops to the instance's uid and
// installs the same seccomp filter as spawn() does (fork_sandboxed()), and then
// goes on running the runtime instead of exec'ing a fresh one. A Python
// instance thereby skips the interpreter's start and the bootstrap's imports
// (~25 ms on these machines) and costs a fork of a small process (~1 ms).
//
//   Nimbus ── Zygote::spawn(spec) ──request + fds──▶ zygote (root, no user code)
//      ▲                                              │ clone3(CLONE_PARENT | namespaces)
//      └──────── reply + pidfd ◀──────────────────────┤
//   parent of ◀───────────────────────────────────── instance (sandboxed, runtime goes on)
//
// The instance's parent is Nimbus (CLONE_PARENT): Nimbus reaps it and owns its
// cgroup, so the result is an ordinary sandbox::Instance and everything above
// this layer treats both launch paths alike.
//
// What the raw clone3 skips of glibc's fork(): at-fork handlers (the zygote
// registers none and runs one thread), and the update of the thread's cached
// tid, so in the instance pthread_self()'s tid field keeps the zygote's value;
// glibc uses it for recursive and error-checking mutex ownership, where it is
// still unique in the instance's PID namespace in practice. Every instance of a
// zygote shares its Python hash seed (as Android's zygote children do).
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "sandbox/sandbox.h"
#include "sandbox/unique_fd.h"

namespace nimbus::sandbox {

// ---- Inside the zygote ----------------------------------------------------

// The runtime's fork hooks (Python: PyOS_BeforeFork / PyOS_AfterFork_Parent).
struct ZygoteHooks {
  std::function<void()> before_fork;
  std::function<void()> after_fork_in_parent;
};

// Serves spawn requests on `socket_fd`. Returns in each new instance with its
// Spec (sandbox entered; stdio and the runtime channel in place; the caller
// applies argv and env and runs the runtime), and in the zygote with nullopt
// once Nimbus closes the socket. A failed request is answered and the loop goes
// on; only a broken socket returns an error.
Result<std::optional<Spec>> serve_zygote(int socket_fd, const ZygoteHooks& hooks);

// ---- In Nimbus --------------------------------------------------------------

class Zygote {
 public:
  // Starts the fork-server `program` with `argv` and `env`, the request socket
  // as its fd 3 and `pass_fds` as fds 4, 5, ... Its instances inherit its
  // /proc/PID/cmdline and environ, so argv and env should be what an exec'd
  // instance would show (host paths travel as fds instead). Like spawn(),
  // call it from a long-lived thread: the zygote and its instances die with
  // that thread (PR_SET_PDEATHSIG, which the zygote sets itself).
  static Result<std::unique_ptr<Zygote>> start(const std::string& program,
                                               const std::vector<std::string>& argv,
                                               const std::vector<std::string>& env,
                                               std::span<const int> pass_fds = {});
  // Takes over a zygote started by other means (the tests fork one that serves
  // `socket`); it must be a child of the calling process.
  static Result<std::unique_ptr<Zygote>> adopt(pid_t pid, UniqueFd socket);
  ~Zygote();  // closes the socket (the zygote exits), kills and reaps it
  Zygote(const Zygote&) = delete;
  Zygote& operator=(const Zygote&) = delete;

  // Launches an isolated instance of `spec` from a fork of the zygote: the same
  // result and the same isolation as sandbox::spawn(spec). Thread-safe (requests
  // are answered one at a time).
  Result<std::unique_ptr<Instance>> spawn(const Spec& spec);
  // False once the zygote died or its socket broke: start another.
  bool alive() const;
  pid_t pid() const { return pid_; }

 private:
  Zygote(pid_t pid, UniqueFd pidfd, UniqueFd socket);

  pid_t pid_;
  UniqueFd pidfd_;
  UniqueFd socket_;
  mutable std::mutex mu_;
  bool broken_ = false;
};

}  // namespace nimbus::sandbox
