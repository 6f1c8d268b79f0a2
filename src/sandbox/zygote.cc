#include "sandbox/zygote.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <span>

#include "base/ids.h"
#include "sandbox/cgroup.h"
#include "sandbox/unix_message.h"
#include "sandbox/zygote_protocol.h"

namespace nimbus::sandbox {

namespace {

// How long Nimbus waits for a zygote's answer: a fork and a sandbox set-up
// take milliseconds; a zygote silent for this long is stuck and is replaced.
constexpr int kReplyTimeoutMs = 10'000;

SysError errno_error(const std::string& what) {
  int e = errno;
  return SysError{what + ": " + std::strerror(e), e};
}

}  // namespace

// ---- Inside the zygote ----------------------------------------------------

Result<std::optional<Spec>> serve_zygote(int socket, const ZygoteHooks& hooks) {
  std::string buf;
  for (;;) {
    std::vector<UniqueFd> fds;
    auto n = receive_message(socket, kMaxZygoteMessage, buf, fds);
    if (!n && n.error().err == EMSGSIZE) {
      (void)send_message(socket, encode_reply({0, n.error().message, EMSGSIZE}), {});
      continue;
    }
    if (!n) return fail(n.take_error());
    if (*n == 0) return std::optional<Spec>{};  // Nimbus closed the socket

    auto request = decode_request(std::string_view(buf.data(), *n));
    if (request && fds.size() != request->fd_count())
      request =
          fail(SysError{"zygote request: " + std::to_string(fds.size()) +
                            " fds for a request that needs " + std::to_string(request->fd_count()),
                        EINVAL});
    if (!request) {
      auto r = send_message(socket, encode_reply({0, request.error().message, EINVAL}), {});
      if (!r) return fail(r.take_error());
      continue;
    }
    Spec spec = std::move(request->spec);
    spec.stdout_fd = fds[0].get();
    spec.stderr_fd = fds[1].get();
    const int env_fd = fds[2].get();
    size_t next = 3;
    if (request->channel) {
      spec.channel_fds = {fds[3].get(), fds[4].get()};
      next = 5;
    }
    std::vector<int> join;
    for (size_t i = next; i < fds.size(); ++i) join.push_back(fds[i].get());

    if (hooks.before_fork) hooks.before_fork();
    auto child = fork_sandboxed(spec, join, env_fd);
    if (child && child->pid == 0) {
      // In the instance: those fds are closed now, or became 0..4.
      for (auto& fd : fds) (void)fd.release();
      spec.stdout_fd = spec.stderr_fd = -1;
      spec.channel_fds = {-1, -1};
      spec.env = decode_environment(child->payload);
      return std::optional<Spec>(std::move(spec));
    }
    if (hooks.after_fork_in_parent) hooks.after_fork_in_parent();

    ZygoteReply reply;
    std::vector<int> out_fds;
    if (!child) {
      reply.error = child.error().message;
      reply.error_number = child.error().err;
    } else {
      reply.pid = child->pid;
      if (child->failure) {
        reply.error = child->failure->message;
        reply.error_number = child->failure->err;
      } else {
        out_fds.push_back(child->pidfd.get());
      }
    }
    if (reply.error_number <= 0 || reply.error_number > 4095) reply.error_number = EIO;
    auto sent = send_message(socket, encode_reply(reply), out_fds);
    if (!sent) return fail(sent.take_error());
  }
}

// ---- In Nimbus --------------------------------------------------------------

Zygote::Zygote(pid_t pid, UniqueFd pidfd, UniqueFd socket)
    : pid_(pid), pidfd_(std::move(pidfd)), socket_(std::move(socket)) {}

Result<std::unique_ptr<Zygote>> Zygote::start(const std::string& program,
                                              const std::vector<std::string>& argv,
                                              const std::vector<std::string>& env,
                                              std::span<const int> pass_fds) {
  if (program.empty() || program[0] != '/' || argv.empty())
    return fail(SysError{"zygote: the program must be an absolute path", EINVAL});
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
    return fail(errno_error("zygote: socketpair"));
  UniqueFd ours(sv[0]), theirs(sv[1]);
  // Every source above the targets (3, 4, ...): a dup2 must not clobber a
  // source, and dup2 onto itself would keep CLOEXEC.
  const int first_free = 4 + static_cast<int>(pass_fds.size());
  theirs = UniqueFd(::fcntl(theirs.get(), F_DUPFD_CLOEXEC, first_free));
  std::vector<UniqueFd> sources;
  for (int fd : pass_fds) sources.emplace_back(::fcntl(fd, F_DUPFD_CLOEXEC, first_free));
  if (!theirs.valid()) return fail(errno_error("zygote: dup"));
  for (const auto& fd : sources)
    if (!fd.valid()) return fail(errno_error("zygote: dup"));
  std::vector<char*> args, envp;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, theirs.get(), 3);
  for (size_t i = 0; i < sources.size(); ++i)
    posix_spawn_file_actions_adddup2(&actions, sources[i].get(), 4 + static_cast<int>(i));
  pid_t pid;
  int rc = ::posix_spawn(&pid, program.c_str(), &actions, nullptr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    errno = rc;
    return fail(errno_error("zygote: start " + program));
  }
  auto zygote = adopt(pid, std::move(ours));
  if (!zygote) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
  return zygote;
}

Result<std::unique_ptr<Zygote>> Zygote::adopt(pid_t pid, UniqueFd socket) {
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd.valid()) return fail(errno_error("zygote: pidfd_open"));
  return std::unique_ptr<Zygote>(new Zygote(pid, std::move(pidfd), std::move(socket)));
}

Zygote::~Zygote() {
  socket_.reset();  // the zygote's serve loop ends
  ::syscall(SYS_pidfd_send_signal, pidfd_.get(), SIGKILL, nullptr, 0);
  while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
  }
}

bool Zygote::alive() const {
  std::lock_guard lk(mu_);
  if (broken_) return false;
  pollfd p{pidfd_.get(), POLLIN, 0};
  return ::poll(&p, 1, 0) == 0;  // readable: it exited
}

Result<std::unique_ptr<Instance>> Zygote::spawn(const Spec& spec) {
  using Clock = std::chrono::steady_clock;
  const auto t_begin = Clock::now();
  if (!spec.isolate) return fail(SysError{"zygote: isolated instances only", EINVAL});
  std::string name = spec.cgroup_name.empty() ? "z-" + random_hex(8) : spec.cgroup_name;
  auto cgroup = Cgroup::create(spec.cgroup_parent, name,
                               {spec.memory_limit_bytes, spec.cpu_cores, spec.pids_max});
  if (!cgroup) return fail(cgroup.take_error());
  std::vector<int> join = (*cgroup)->join_fds();

  ZygoteRequest request;
  request.spec = spec;
  request.spec.stdout_fd = request.spec.stderr_fd = -1;
  request.spec.env.clear();  // travels in env_file, read by the child alone
  request.spec.channel_fds = {-1, -1};
  request.channel = spec.channel_fds[0] >= 0;
  request.join_fds = join.size();
  UniqueFd devnull(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!devnull.valid()) return fail(errno_error("open /dev/null"));
  UniqueFd env_file(::memfd_create("nimbus-env", MFD_CLOEXEC));
  if (!env_file.valid()) return fail(errno_error("memfd_create"));
  const std::string env = encode_environment(spec.env);
  if (::pwrite(env_file.get(), env.data(), env.size(), 0) != static_cast<ssize_t>(env.size()))
    return fail(errno_error("write the environment"));
  std::vector<int> fds{spec.stdout_fd >= 0 ? spec.stdout_fd : devnull.get(),
                       spec.stderr_fd >= 0 ? spec.stderr_fd : devnull.get(), env_file.get()};
  if (request.channel) fds.insert(fds.end(), spec.channel_fds.begin(), spec.channel_fds.end());
  fds.insert(fds.end(), join.begin(), join.end());

  std::string buf;
  std::vector<UniqueFd> received;
  Result<size_t> n = 0;
  {
    std::lock_guard lk(mu_);
    if (broken_) return fail(SysError{"zygote: not running", EPIPE});
    auto sent = send_message(socket_.get(), encode_request(request), fds);
    if (!sent) {
      broken_ = true;
      return fail(sent.take_error());
    }
    pollfd p{socket_.get(), POLLIN, 0};
    int ready;
    do {
      ready = ::poll(&p, 1, kReplyTimeoutMs);
    } while (ready < 0 && errno == EINTR);
    if (ready != 1) {
      broken_ = true;
      return fail(SysError{"zygote: no answer within " + std::to_string(kReplyTimeoutMs) + " ms",
                           ETIMEDOUT});
    }
    n = receive_message(socket_.get(), kMaxZygoteMessage, buf, received);
    if (!n || *n == 0) broken_ = true;
  }
  if (!n) return fail(n.take_error());
  if (*n == 0) return fail(SysError{"zygote: exited", EPIPE});
  auto reply = decode_reply(std::string_view(buf.data(), *n));
  if (!reply) return fail(reply.take_error());
  if (!reply->error.empty()) {
    // A child that failed to enter its sandbox exited; we are its parent.
    if (reply->pid > 0)
      while (::waitpid(reply->pid, nullptr, 0) < 0 && errno == EINTR) {
      }
    return fail(SysError{reply->error, reply->error_number});
  }
  if (received.size() != 1 || reply->pid <= 0)
    return fail(SysError{"zygote: a reply without the instance's pidfd", EPROTO});
  (*cgroup)->close_join_fds();
  SpawnTimings timings;
  timings.total = Clock::now() - t_begin;
  return std::make_unique<Instance>(Instance::Key(), reply->pid, std::move(received[0]),
                                    std::move(*cgroup), /*isolated=*/true, timings);
}

}  // namespace nimbus::sandbox
