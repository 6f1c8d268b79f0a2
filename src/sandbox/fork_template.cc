#include "sandbox/fork_template.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>

#include "base/ids.h"
#include "sandbox/cgroup.h"
#include "sandbox/unix_message.h"
#include "sandbox/zygote_protocol.h"

namespace nimbus::sandbox {

namespace {

// A fork and a cgroup join take milliseconds (the join up to ~20 ms on cgroup
// v1); a template silent for this long is stuck and is given up.
constexpr int kReplyTimeoutMs = 5'000;
// The template's messages are a word and a reason.
constexpr size_t kMaxTemplateMessage = 4096;

SysError errno_error(const std::string& what) {
  int e = errno;
  return SysError{what + ": " + std::strerror(e), e};
}

bool readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  int ready;
  do {
    ready = ::poll(&p, 1, timeout_ms);
  } while (ready < 0 && errno == EINTR);
  return ready == 1;
}

}  // namespace

Result<std::array<UniqueFd, 2>> ForkTemplate::socket_pair() {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
    return fail(errno_error("template: socketpair"));
  std::array<UniqueFd, 2> pair{UniqueFd(sv[0]), UniqueFd(sv[1])};
  // The kernel then tells us which process sent each answer.
  int on = 1;
  if (::setsockopt(pair[0].get(), SOL_SOCKET, SO_PASSCRED, &on, sizeof on) != 0)
    return fail(errno_error("template: SO_PASSCRED"));
  return pair;
}

ForkTemplate::ForkTemplate(std::unique_ptr<Instance> process, UniqueFd socket,
                           uint64_t ready_memory_limit)
    : process_(std::move(process)),
      socket_(std::move(socket)),
      ready_memory_limit_(ready_memory_limit) {}

std::unique_ptr<ForkTemplate> ForkTemplate::create(std::unique_ptr<Instance> process,
                                                   UniqueFd socket, uint64_t ready_memory_limit) {
  return std::unique_ptr<ForkTemplate>(
      new ForkTemplate(std::move(process), std::move(socket), ready_memory_limit));
}

Result<std::unique_ptr<ForkTemplate>> ForkTemplate::adopt(pid_t pid, UniqueFd socket) {
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd.valid()) return fail(errno_error("template: pidfd_open"));
  auto process = std::make_unique<Instance>(Instance::Key(), pid, std::move(pidfd), nullptr,
                                            /*isolated=*/true, SpawnTimings{});
  return create(std::move(process), std::move(socket));
}

ForkTemplate::~ForkTemplate() {
  socket_.reset();  // the template's serve loop ends
  if (pending_ && pending_->pidfd.valid())
    ::syscall(SYS_pidfd_send_signal, pending_->pidfd.get(), SIGKILL, nullptr, 0);
  process_.reset();  // kills PID 1 of its namespace: every copy goes with it
  // The spare's cgroup is removed once it is empty (Cgroup::remove retries).
  pending_.reset();
}

ForkTemplate::State ForkTemplate::refuse_locked(std::string why) {
  state_ = State::kRefused;
  if (reason_.empty()) reason_ = std::move(why);
  return state_;
}

std::string ForkTemplate::reason() const {
  std::lock_guard lk(mu_);
  return reason_;
}

bool ForkTemplate::alive() {
  if (poll() == State::kRefused) return false;
  return !readable(process_->pidfd(), 0);
}

ForkTemplate::State ForkTemplate::poll() {
  std::lock_guard lk(mu_);
  if (state_ != State::kStarting) return state_;
  if (!readable(socket_.get(), 0)) {
    if (readable(process_->pidfd(), 0)) return refuse_locked("exited during init");
    return state_;
  }
  std::string buf;
  std::vector<UniqueFd> fds;
  auto n = receive_message(socket_.get(), kMaxTemplateMessage, buf, fds);
  if (!n) return refuse_locked(n.error().message);
  if (*n == 0) return refuse_locked("exited during init");
  std::string_view text(buf.data(), *n);
  if (text == "ready") {
    // The init ran within the function's memory limit. From now on the
    // template's group is also charged for every copy it forks (on cgroup v1
    // the kernel memory of a fork, and the pages the template and a copy stop
    // sharing, stay with the forker's group: ~0.2-0.5 MB per live copy), so
    // the limit grows by that much per copy the account could ever run.
    (void)process_->set_memory_limit(ready_memory_limit_);
    return state_ = State::kReady;
  }
  if (text.starts_with("unsafe "))
    return refuse_locked("not fork-safe: " + std::string(text.substr(7)));
  if (text.starts_with("error "))
    return refuse_locked("init failed: " + std::string(text.substr(6)));
  return refuse_locked("unexpected message from the template");
}

Status ForkTemplate::request_fork_locked(const Spec& spec) {
  Copy copy;
  auto cgroup = Cgroup::create(spec.cgroup_parent, "copy-" + random_hex(8),
                               {spec.memory_limit_bytes, spec.cpu_cores, spec.pids_max});
  if (!cgroup) return fail(cgroup.take_error());
  copy.cgroup = std::move(*cgroup);
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
    return fail(errno_error("template: socketpair"));
  copy.handover = UniqueFd(sv[0]);
  UniqueFd theirs(sv[1]);
  std::vector<int> fds{theirs.get()};
  for (int fd : copy.cgroup->join_fds()) fds.push_back(fd);
  if (auto sent = send_message(socket_.get(), "fork", fds); !sent) {
    refuse_locked("its socket broke");
    return fail(sent.take_error());
  }
  pending_ = std::move(copy);
  return {};
}

Result<ForkTemplate::Copy> ForkTemplate::finish_fork_locked() {
  Copy copy = std::move(*pending_);
  pending_.reset();
  // Whatever went wrong, nothing of this copy may outlive its cgroup.
  auto give_up = [&](SysError error) -> Result<Copy> {
    copy.cgroup->kill_all();
    return fail(std::move(error));
  };
  if (!readable(socket_.get(), kReplyTimeoutMs)) {
    refuse_locked("no answer within " + std::to_string(kReplyTimeoutMs) + " ms");
    return give_up(SysError{"template: no answer", ETIMEDOUT});
  }
  std::string buf;
  std::vector<UniqueFd> received;
  pid_t sender = 0;
  auto n = receive_message(socket_.get(), kMaxTemplateMessage, buf, received, &sender);
  if (!n || *n == 0) refuse_locked("exited");
  if (!n) return give_up(n.take_error());
  std::string_view text(buf.data(), *n);
  if (text.starts_with("error "))
    return give_up(SysError{"template: " + std::string(text.substr(6)), EIO});
  if (text != "ok" || sender <= 0) return give_up(SysError{"template: unexpected answer", EPROTO});
  // The pidfd first, then the membership check: a pid still in the group
  // after we hold its pidfd is the process we hold.
  copy.pidfd = UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, sender, 0)));
  if (!copy.pidfd.valid()) return give_up(errno_error("template: pidfd_open"));
  auto members = copy.cgroup->pids();
  if (std::find(members.begin(), members.end(), sender) == members.end())
    return give_up(SysError{"template: the answer did not come from the new copy", EPROTO});
  copy.pid = sender;
  copy.cgroup->close_join_fds();
  return copy;
}

Result<std::unique_ptr<Instance>> ForkTemplate::hand_over(
    Copy copy, const Spec& spec, std::chrono::steady_clock::time_point t_begin) {
  UniqueFd devnull(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!devnull.valid()) return fail(errno_error("open /dev/null"));
  auto or_null = [&](int fd) { return fd >= 0 ? fd : devnull.get(); };
  const int fds[] = {or_null(spec.stdout_fd), or_null(spec.stderr_fd), or_null(spec.channel_fds[0]),
                     or_null(spec.channel_fds[1])};
  std::string message = "run";
  message.push_back('\0');
  message += encode_environment(spec.env);
  if (auto sent = send_message(copy.handover.get(), message, fds); !sent) {
    copy.cgroup->kill_all();
    return fail(sent.take_error());
  }
  if (spec.cpu_cores > 0) (void)copy.cgroup->set_cpu_cores(spec.cpu_cores);
  SpawnTimings timings;
  timings.total = std::chrono::steady_clock::now() - t_begin;
  return std::make_unique<Instance>(Instance::Key(), copy.pid, std::move(copy.pidfd),
                                    std::move(copy.cgroup), /*isolated=*/true, timings,
                                    /*our_child=*/false);
}

void ForkTemplate::fork_ahead(const Spec& spec) {
  std::lock_guard lk(mu_);
  if (!pending_ && state_ != State::kRefused) (void)request_fork_locked(spec);
}

Result<std::unique_ptr<Instance>> ForkTemplate::spawn(const Spec& spec) {
  const auto t_begin = std::chrono::steady_clock::now();
  std::optional<Copy> copy;
  {
    std::lock_guard lk(mu_);
    if (state_ != State::kReady) return fail(SysError{"template: not ready", EAGAIN});
    if (pending_) {
      auto spare = finish_fork_locked();
      if (spare && !readable(spare->pidfd.get(), 0)) copy = std::move(*spare);
      if (state_ != State::kReady) return fail(SysError{"template: " + reason_, EPIPE});
    }
    if (!copy) {
      if (auto st = request_fork_locked(spec); !st) return fail(st.take_error());
      auto fresh = finish_fork_locked();
      if (!fresh) return fail(fresh.take_error());
      copy = std::move(*fresh);
    }
  }
  auto instance = hand_over(std::move(*copy), spec, t_begin);
  // The next call's copy forks and joins its cgroup while this one runs.
  std::lock_guard lk(mu_);
  if (state_ == State::kReady && !pending_) (void)request_fork_locked(spec);
  return instance;
}

}  // namespace nimbus::sandbox
