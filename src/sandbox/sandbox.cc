#include "sandbox/sandbox.h"

#include <charconv>

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <set>
#include <span>

#include "base/text.h"
#include "sandbox/cgroup.h"
#include "sandbox/seccomp_filter.h"

namespace nimbus::sandbox {

namespace {

// Host directories shared read-only with every instance. Debian-style merged
// /usr makes most of these symlinks, which are replicated as symlinks.
constexpr const char* kSystemPaths[] = {"/usr",   "/bin",   "/sbin", "/lib",
                                        "/lib64", "/lib32", "/etc"};
constexpr const char* kDevNodes[] = {"null", "zero", "full", "random", "urandom"};
constexpr uint64_t kDevShmBytes = 64ull << 20;
constexpr rlim_t kNofileLimit = 1024;  // Lambda's file-descriptor quota
constexpr size_t kChildStackBytes = 256 << 10;

// ---------------------------------------------------------------------------
// What the parent prepares and the child executes.
//
// The child is created with CLONE_VM | CLONE_VFORK, like posix_spawn: it runs
// on its own small stack inside the parent's address space while the calling
// thread is suspended, until it execs or exits. That avoids copying the page
// tables of a large Nimbus process (a fork of a multi-GB process costs
// milliseconds and copy-on-write faults afterwards). The price is discipline:
// between clone and exec the child only makes system calls on data prepared
// here. It must not allocate (another thread may hold the malloc lock), must
// not use glibc's set*id wrappers (they signal every thread of the *parent*),
// and must not return from child_main.

enum class Stage : int {
  kJoinCgroup = 1,
  kSetsid,
  kCgroupNamespace,
  kMountPrivate,
  kMountRoot,
  kMountOp,
  kPivotRoot,
  kRemountRoot,
  kHostname,
  kChdir,
  kStdio,
  kCloseFds,
  kRlimit,
  kCapabilities,
  kCredentials,
  kParentDeath,
  kNoNewPrivs,
  kLandlock,
  kSeccomp,
  kExec,
};
// Not a failure: the report a child held for its handover writes once it
// waits (Spec::exec_on_handover).
constexpr int kHeldReport = 0;
// What a held child accepts as its environment: the message and its entries.
constexpr size_t kMaxHandoverBytes = 256 << 10;
constexpr size_t kMaxHandoverEntries = 4096;

struct ChildReport {
  int stage;
  int index;
  int err;
};

struct MountOp {
  enum class Kind { kDir, kFile, kSymlink, kBind, kFs };
  Kind kind = Kind::kDir;
  std::string src;  // bind source, symlink target, or fs "device" name
  std::string dst;  // absolute, under the new root's mount point
  std::string fstype;
  unsigned long flags = 0;  // kFs: mount(2) flags
  std::string data;         // kFs: mount options
  uint64_t attr = 0;        // kBind: MOUNT_ATTR_* applied to the whole bound tree
};

struct ChildArgs {
  bool isolate = false;
  const int* join_fds = nullptr;
  size_t n_join_fds = 0;
  const char* root = nullptr;  // mount point of the new root (host path)
  const char* root_options = nullptr;
  const MountOp* ops = nullptr;
  size_t n_ops = 0;
  const char* hostname = nullptr;
  size_t hostname_len = 0;
  const char* cwd = nullptr;
  const char* exec_path = nullptr;  // nullptr: no exec, the child goes on (fork_sandboxed)
  char* const* argv = nullptr;
  char* const* envp = nullptr;
  int stdio[3] = {-1, -1, -1};
  int channel_fds[2] = {-1, -1};  // become fds 3 and 4 when >= 0 (never 0..5 themselves)
  int handover_fd = -1;           // becomes kHandoverFd when >= 0 (never 0..5 itself)
  // Held for the handover (Spec::exec_on_handover): the child reads the
  // message into `handover_buf` and points `handover_envp` into it. Both
  // are the child's own copy (a held child does not share our memory).
  bool hold = false;
  char* handover_buf = nullptr;
  char** handover_envp = nullptr;
  int report_fd = -1;
  uid_t uid = 0;
  gid_t gid = 0;
  int last_cap = 63;
  const sock_fprog* seccomp = nullptr;
  int landlock_fd = -1;  // ruleset to enter, or -1
  // Written by the child (shared memory), read after clone returns.
  int64_t t_start = 0, t_joined = 0, t_mounted = 0, t_exec = 0;
};

// AddressSanitizer keeps per-thread state (shadow stack bounds, fake stacks)
// that a CLONE_VM child corrupts, and then reports false errors in the child
// and exits. Sanitizer builds copy the address space instead (the child's
// timings are then not seen by the parent).
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kShareAddressSpace = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kShareAddressSpace = false;
#else
constexpr bool kShareAddressSpace = true;
#endif
#else
constexpr bool kShareAddressSpace = true;
#endif

int64_t now_ns() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);  // vDSO: no syscall, safe in the child
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

[[noreturn]] void child_fail(const ChildArgs& a, Stage stage, int index = 0) {
  ChildReport r{static_cast<int>(stage), index, errno};
  (void)!::write(a.report_fd, &r, sizeof r);
  ::_exit(127);
}

// Binds `op` and applies its attributes to every mount of the bound tree
// (MS_REC brings submounts, e.g. Docker's /etc/hosts; a classic remount would
// only make the top one read-only).
bool child_bind(const MountOp& op) {
  if (::mount(op.src.c_str(), op.dst.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
    return false;
  }
  if (op.attr == 0) return true;
  mount_attr attr{};
  attr.attr_set = op.attr;
  if (::syscall(SYS_mount_setattr, AT_FDCWD, op.dst.c_str(), AT_RECURSIVE, &attr, sizeof attr) ==
      0) {
    return true;
  }
  if (errno != ENOSYS) return false;
  // Before Linux 5.12: the top mount only.
  unsigned long flags = MS_REMOUNT | MS_BIND;
  if (op.attr & MOUNT_ATTR_RDONLY) flags |= MS_RDONLY;
  if (op.attr & MOUNT_ATTR_NOSUID) flags |= MS_NOSUID;
  if (op.attr & MOUNT_ATTR_NODEV) flags |= MS_NODEV;
  if (op.attr & MOUNT_ATTR_NOEXEC) flags |= MS_NOEXEC;
  return ::mount(nullptr, op.dst.c_str(), nullptr, flags, nullptr) == 0;
}

void child_build_root(ChildArgs& a) {
  // Nothing we mount may propagate back to the host.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    child_fail(a, Stage::kMountPrivate);
  }
  if (::mount("nimbus-root", a.root, "tmpfs", MS_NOSUID | MS_NODEV, a.root_options) != 0) {
    child_fail(a, Stage::kMountRoot);
  }
  for (size_t i = 0; i < a.n_ops; ++i) {
    const MountOp& op = a.ops[i];
    bool ok = true;
    switch (op.kind) {
      case MountOp::Kind::kDir:
        ok = ::mkdir(op.dst.c_str(), 0755) == 0 || errno == EEXIST;
        break;
      case MountOp::Kind::kFile: {
        int fd = ::open(op.dst.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        ok = fd >= 0;
        if (ok) ::close(fd);
        break;
      }
      case MountOp::Kind::kSymlink:
        ok = ::symlink(op.src.c_str(), op.dst.c_str()) == 0;
        break;
      case MountOp::Kind::kBind:
        ok = child_bind(op);
        break;
      case MountOp::Kind::kFs:
        ok = ::mount(op.src.c_str(), op.dst.c_str(), op.fstype.c_str(), op.flags,
                     op.data.empty() ? nullptr : op.data.c_str()) == 0;
        break;
    }
    if (!ok) child_fail(a, Stage::kMountOp, static_cast<int>(i));
  }
  // pivot_root(".", ".") stacks the old root on top of the new one; detaching
  // it leaves the new root alone, with no path back to the host's tree.
  if (::chdir(a.root) != 0 || ::syscall(SYS_pivot_root, ".", ".") != 0 ||
      ::umount2(".", MNT_DETACH) != 0 || ::chdir("/") != 0) {
    child_fail(a, Stage::kPivotRoot);
  }
  if (::mount(nullptr, "/", nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV,
              nullptr) != 0) {
    child_fail(a, Stage::kRemountRoot);
  }
  if (::sethostname(a.hostname, a.hostname_len) != 0) child_fail(a, Stage::kHostname);
}

// Closes every fd from `first` up, except `keep`.
bool close_all_but(unsigned first, int keep) {
  unsigned k = static_cast<unsigned>(keep);
  return (k <= first || ::syscall(SYS_close_range, first, k - 1u, 0u) == 0) &&
         ::syscall(SYS_close_range, std::max(first, k + 1u), ~0u, 0u) == 0;
}

// Everything between clone and exec: afterwards the calling process is inside
// its sandbox, or it has exited with a report.
void child_enter(ChildArgs& a) {
  a.t_start = now_ns();
  // Join the cgroup first, so that everything after is charged and limited.
  for (size_t i = 0; i < a.n_join_fds; ++i) {
    if (::write(a.join_fds[i], "0", 1) != 1) child_fail(a, Stage::kJoinCgroup, static_cast<int>(i));
  }
  a.t_joined = now_ns();
  // Own session and process group: no controlling terminal (^C in Nimbus's
  // terminal must not reach functions), and killpg() reaches the whole tree.
  if (::setsid() < 0) child_fail(a, Stage::kSetsid);
  // Functions run at the default priority, not at the raised one of the
  // Nimbus thread that launched them (which it would otherwise inherit).
  // Lowering one's priority cannot fail.
  ::setpriority(PRIO_PROCESS, 0, 0);
  if (a.isolate) {
    // Rooted at the instance's own group: /proc/self/cgroup shows "/", not
    // the host's layout. EINVAL: kernel without cgroup namespaces; harmless.
    if (::unshare(CLONE_NEWCGROUP) != 0 && errno != EINVAL) child_fail(a, Stage::kCgroupNamespace);
    child_build_root(a);
  }
  a.t_mounted = now_ns();
  if (::chdir(a.cwd) != 0) child_fail(a, Stage::kChdir);

  // stdio: copy the sources above 2 first, so that no dup2 clobbers a source
  // that is itself 0, 1 or 2.
  int high[3];
  for (int i = 0; i < 3; ++i) {
    high[i] = ::fcntl(a.stdio[i], F_DUPFD_CLOEXEC, 3);
    if (high[i] < 0) child_fail(a, Stage::kStdio, i);
  }
  for (int i = 0; i < 3; ++i) {
    if (::dup2(high[i], i) != i) child_fail(a, Stage::kStdio, i);
  }
  // The runtime channel: fds 3 and 4, inherited across exec (dup2 clears
  // CLOEXEC).
  unsigned first_closed = 3;
  if (a.channel_fds[0] >= 0) {
    for (int i = 0; i < 2; ++i)
      if (::dup2(a.channel_fds[i], 3 + i) != 3 + i) child_fail(a, Stage::kStdio, 3 + i);
    first_closed = 5;
  }
  if (a.handover_fd >= 0) {
    if (::dup2(a.handover_fd, kHandoverFd) != kHandoverFd)
      child_fail(a, Stage::kStdio, kHandoverFd);
    if (first_closed == 3) {  // no channel: whatever sits at 3 and 4 is not the instance's
      ::close(3);
      ::close(4);
    }
    first_closed = kHandoverFd + 1;
  }
  // Every other fd is closed at exec, including the report pipe, whose
  // closing tells the parent the exec happened. Without an exec they are
  // closed at the end (the Landlock ruleset is needed until then).
  const bool exec_follows = a.exec_path != nullptr;
  if (exec_follows && ::syscall(SYS_close_range, first_closed, ~0u, CLOSE_RANGE_CLOEXEC) != 0 &&
      !close_all_but(first_closed, a.report_fd)) {
    child_fail(a, Stage::kCloseFds);  // before Linux 5.11: closed now
  }

  rlimit core{0, 0};
  if (::setrlimit(RLIMIT_CORE, &core) != 0) child_fail(a, Stage::kRlimit, RLIMIT_CORE);
  rlimit nofile;
  if (::getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_max > kNofileLimit) {
    nofile = {kNofileLimit, kNofileLimit};
    if (::setrlimit(RLIMIT_NOFILE, &nofile) != 0) child_fail(a, Stage::kRlimit, RLIMIT_NOFILE);
  }

  if (a.isolate) {
    // Empty the bounding set while still privileged, so that nothing exec'd
    // later (even a file with capabilities) can regain any.
    for (int cap = 0; cap <= a.last_cap; ++cap) {
      if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) {
        child_fail(a, Stage::kCapabilities, cap);
      }
    }
    // Raw syscalls: glibc's wrappers would apply the change to every thread
    // of the parent process, whose memory we share.
    if (::syscall(SYS_setgroups, 0, nullptr) != 0) child_fail(a, Stage::kCredentials, 0);
    if (::syscall(SYS_setresgid, a.gid, a.gid, a.gid) != 0) child_fail(a, Stage::kCredentials, 1);
    // Leaving uid 0 for a non-zero uid clears the permitted, effective and
    // ambient capability sets.
    if (::syscall(SYS_setresuid, a.uid, a.uid, a.uid) != 0) child_fail(a, Stage::kCredentials, 2);
  }
  // After the uid change, which clears the parent-death signal.
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) child_fail(a, Stage::kParentDeath);
  // Nimbus may have died before the line above took effect: then the report
  // pipe has no reader left, and POLLERR says so.
  pollfd pfd{a.report_fd, POLLOUT, 0};
  if (::poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLERR)) ::_exit(127);
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) child_fail(a, Stage::kNoNewPrivs);
  if (a.landlock_fd >= 0 && ::syscall(SYS_landlock_restrict_self, a.landlock_fd, 0u) != 0) {
    child_fail(a, Stage::kLandlock);
  }

  // The parent blocked every signal around clone; start the program with
  // default dispositions and an empty mask (exec keeps both). Without an exec
  // the process keeps the dispositions its runtime set up (a forked Python
  // ignores SIGPIPE, as an exec'd one does).
  if (exec_follows) {
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &dfl, nullptr);  // EINVAL: KILL, STOP
  }
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);

  // Last: from here on, only what the filter allows. execve is allowed.
  if (a.seccomp && ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, a.seccomp) != 0) {
    child_fail(a, Stage::kSeccomp);
  }
  if (!exec_follows && !close_all_but(first_closed, a.report_fd)) child_fail(a, Stage::kCloseFds);
  // exec would make the process dumpable again after the uid change (its
  // /proc/self files its own); without one, do what exec does.
  if (!exec_follows) ::prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
  a.t_exec = now_ns();
}

// A held child, in its sandbox: says so, then waits for the handover message
// and returns the environment it carries. Exits when Nimbus closed the pipe
// without one (the prepared instance was discarded).
char* const* child_await_handover(ChildArgs& a) {
  // A copy of our address space came with a copy of every fd we had (other
  // instances' pipes, listening sockets): not kept open while it waits.
  if (!close_all_but(kHandoverFd + 1, a.report_fd)) child_fail(a, Stage::kCloseFds);
  ChildReport held{kHeldReport, 0, 0};
  if (::write(a.report_fd, &held, sizeof held) != sizeof held) ::_exit(127);
  size_t size = 0;
  for (;;) {
    ssize_t n = ::read(kHandoverFd, a.handover_buf + size, kMaxHandoverBytes - size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    size += static_cast<size_t>(n);
    if (size == kMaxHandoverBytes) ::_exit(127);
  }
  ::close(kHandoverFd);
  // Again: a runtime's prepared instance got its code mounted over its
  // working directory (/var/task) while it waited (Instance::add_mounts).
  if (::chdir(a.cwd) != 0) ::_exit(127);
  // Complete: entries, each NUL-terminated, and an empty one at the end.
  if (size == 0 || a.handover_buf[size - 1] != '\0' ||
      (size >= 2 && a.handover_buf[size - 2] != '\0'))
    ::_exit(0);
  size_t n_env = 0;
  for (size_t i = 0; i + 1 < size;) {
    if (n_env == kMaxHandoverEntries) ::_exit(127);
    a.handover_envp[n_env++] = a.handover_buf + i;
    while (a.handover_buf[i] != '\0') ++i;
    ++i;
  }
  a.handover_envp[n_env] = nullptr;
  return a.handover_envp;
}

int child_main(void* arg) {
  ChildArgs& a = *static_cast<ChildArgs*>(arg);
  child_enter(a);
  char* const* envp = a.hold ? child_await_handover(a) : a.envp;
  ::execve(a.exec_path, a.argv, envp);
  child_fail(a, Stage::kExec);
}

// ---------------------------------------------------------------------------
// Parent side.

}  // namespace

std::string encode_handover(std::span<const std::string> env) {
  std::string message;
  for (const std::string& e : env) {
    message += e;
    message += '\0';
  }
  message += '\0';
  return message;
}

namespace {

// The mount point of new roots. It is only ever mounted on inside instances'
// private mount namespaces, so one empty directory serves every instance.
const std::string& root_mount_point() {
  static const std::string path = [] {
    for (const char* p : {"/run/nimbus-sandbox-root", "/tmp/.nimbus-sandbox-root"}) {
      if (::mkdir(p, 0700) == 0 || errno == EEXIST) return std::string(p);
    }
    return std::string("/run/nimbus-sandbox-root");  // spawn reports the mount failure
  }();
  return path;
}

struct SystemEntry {
  std::string path;
  std::string symlink_target;  // empty: a directory, bound
};

// The host's system directories, inspected once: they do not change while
// Nimbus runs, and lstat/readlink per spawn would be wasted.
const std::vector<SystemEntry>& system_entries() {
  static const std::vector<SystemEntry> entries = [] {
    std::vector<SystemEntry> out;
    for (const char* p : kSystemPaths) {
      struct stat st;
      if (::lstat(p, &st) != 0) continue;
      if (S_ISLNK(st.st_mode)) {
        char buf[PATH_MAX];
        ssize_t n = ::readlink(p, buf, sizeof buf - 1);
        if (n <= 0) continue;
        out.push_back({p, std::string(buf, static_cast<size_t>(n))});
      } else if (S_ISDIR(st.st_mode)) {
        out.push_back({p, ""});
      }
    }
    return out;
  }();
  return entries;
}

// Landlock scoping (Linux 6.12, ABI 6): the instance may not connect to
// abstract unix sockets created outside it. They live in the network
// namespace, which instances share with the host, and file permissions do not
// guard them (containerd-shim's CVE-2020-15257 was exactly this). The system
// headers predate the `scoped` field, hence the local definitions.
struct LandlockRulesetAttr {
  uint64_t handled_access_fs;
  uint64_t handled_access_net;
  uint64_t scoped;
};
constexpr uint64_t kLandlockScopeAbstractUnixSocket = 1ull << 0;
constexpr uint64_t kLandlockScopeSignal = 1ull << 1;
constexpr uint32_t kLandlockCreateRulesetVersion = 1u << 0;

// The ruleset, created once and kept open (O_CLOEXEC) for the life of the
// process; -1 when the kernel lacks Landlock or scoping (best effort).
int landlock_ruleset() {
  static const int fd = [] {
    long abi = ::syscall(SYS_landlock_create_ruleset, nullptr, 0, kLandlockCreateRulesetVersion);
    if (abi < 6) return -1;
    LandlockRulesetAttr attr{0, 0, kLandlockScopeAbstractUnixSocket | kLandlockScopeSignal};
    return static_cast<int>(::syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0u));
  }();
  return fd;
}

int last_capability() {
  static const int last = [] {
    int fd = ::open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 63;  // PR_CAPBSET_DROP returns EINVAL past the last one
    char buf[16] = {};
    ssize_t n = ::read(fd, buf, sizeof buf - 1);
    ::close(fd);
    return n > 0 ? std::atoi(buf) : 63;
  }();
  return last;
}

// Absolute, normalized enough: no "..", no empty components.
bool valid_sandbox_path(std::string_view p) {
  if (p.empty() || p[0] != '/') return false;
  size_t start = 1;
  while (start <= p.size()) {
    size_t end = p.find('/', start);
    if (end == std::string_view::npos) end = p.size();
    std::string_view part = p.substr(start, end - start);
    if (part == ".." || part == ".") return false;
    if (part.empty() && end != p.size()) return false;
    start = end + 1;
  }
  return true;
}

// The mount plan of one instance, as paths under the root mount point.
class RootPlan {
 public:
  explicit RootPlan(std::string root) : root_(std::move(root)) {}

  void dir(std::string_view path) {  // mkdir -p
    for (size_t pos = 1; pos <= path.size(); ++pos) {
      if (pos == path.size() || path[pos] == '/') {
        std::string prefix(path.substr(0, pos));
        if (prefix.size() > 1 && made_.insert(prefix).second) add(MountOp::Kind::kDir, "", prefix);
      }
    }
  }
  void symlink(std::string_view target, std::string_view path) {
    made_.insert(std::string(path));
    add(MountOp::Kind::kSymlink, target, path);
  }
  Status bind(std::string_view source, std::string_view path, uint64_t attr) {
    struct stat st;
    if (::stat(std::string(source).c_str(), &st) != 0) {
      return fail(sys_error("bind source " + std::string(source) + " for " + std::string(path)));
    }
    size_t slash = path.rfind('/');
    dir(path.substr(0, slash == 0 ? 1 : slash));
    if (S_ISDIR(st.st_mode)) {
      dir(path);
    } else {
      add(MountOp::Kind::kFile, "", path);
    }
    MountOp& op = add(MountOp::Kind::kBind, source, path);
    op.attr = attr;
    return {};
  }
  void fs(std::string_view fstype, std::string_view path, unsigned long flags, std::string data) {
    dir(path);
    MountOp& op = add(MountOp::Kind::kFs, fstype, path);
    op.fstype = std::string(fstype);
    op.flags = flags;
    op.data = std::move(data);
  }
  std::vector<MountOp>& ops() { return ops_; }
  const std::string& root() const { return root_; }

 private:
  MountOp& add(MountOp::Kind kind, std::string_view src, std::string_view path) {
    MountOp& op = ops_.emplace_back();
    op.kind = kind;
    op.src = std::string(src);
    op.dst = root_ + std::string(path);
    return op;
  }

  std::string root_;
  std::set<std::string> made_;
  std::vector<MountOp> ops_;
};

Result<std::vector<MountOp>> plan_root(const Spec& spec) {
  RootPlan plan(root_mount_point());
  constexpr uint64_t kReadOnly = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
  constexpr uint64_t kWritable = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
  for (const SystemEntry& e : system_entries()) {
    if (!e.symlink_target.empty()) {
      plan.symlink(e.symlink_target, e.path);
    } else if (auto st = plan.bind(e.path, e.path, kReadOnly); !st) {
      return fail(st.take_error());
    }
  }
  for (auto [source, target] :
       {std::pair{&spec.code_dir, "/var/task"}, std::pair{&spec.runtime_dir, "/var/runtime"}}) {
    if (source->empty()) {
      plan.dir(target);
    } else if (auto st = plan.bind(*source, target, kReadOnly); !st) {
      return fail(st.take_error());
    }
  }
  plan.fs("tmpfs", "/tmp", MS_NOSUID | MS_NODEV,
          "size=" + std::to_string(spec.tmp_size_bytes) + ",mode=1777");
  plan.fs("tmpfs", "/dev", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=64k,nr_inodes=64,mode=0755");
  for (const char* node : kDevNodes) {
    // Device nodes need dev; the bind is one file, nothing below it.
    if (auto st = plan.bind(std::string("/dev/") + node, std::string("/dev/") + node,
                            MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC);
        !st) {
      return fail(st.take_error());
    }
  }
  plan.fs("tmpfs", "/dev/shm", MS_NOSUID | MS_NODEV | MS_NOEXEC,
          "size=" + std::to_string(kDevShmBytes) + ",mode=1777");
  plan.symlink("/proc/self/fd", "/dev/fd");
  plan.symlink("/proc/self/fd/0", "/dev/stdin");
  plan.symlink("/proc/self/fd/1", "/dev/stdout");
  plan.symlink("/proc/self/fd/2", "/dev/stderr");
  // Mounted by the child, which is PID 1 of the new namespace: this /proc
  // lists the instance's processes only.
  plan.fs("proc", "/proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "");
  for (const BindMount& m : spec.extra_mounts) {
    if (!valid_sandbox_path(m.target) || m.target == "/") {
      return fail(SysError{"invalid mount target '" + m.target + "'", EINVAL});
    }
    if (auto st = plan.bind(m.source, m.target, m.read_only ? kReadOnly : kWritable); !st) {
      return fail(st.take_error());
    }
  }
  return std::move(plan.ops());
}

std::string describe_failure(const ChildReport& r, const ChildArgs& a,
                             const std::vector<MountOp>& ops, const Cgroup* cgroup) {
  auto under_root = [&](const std::string& p) {
    return p.size() > std::strlen(a.root) ? p.substr(std::strlen(a.root)) : p;
  };
  std::string what;
  switch (static_cast<Stage>(r.stage)) {
    case Stage::kJoinCgroup: {
      auto dirs = cgroup ? cgroup->dirs() : std::vector<std::string>{};
      what = "join cgroup " + (r.index < static_cast<int>(dirs.size()) ? dirs[r.index] : "");
      break;
    }
    case Stage::kSetsid:
      what = "setsid";
      break;
    case Stage::kCgroupNamespace:
      what = "unshare cgroup namespace";
      break;
    case Stage::kMountPrivate:
      what = "make mounts private";
      break;
    case Stage::kMountRoot:
      what = std::string("mount root tmpfs at ") + a.root;
      break;
    case Stage::kMountOp: {
      if (r.index < 0 || r.index >= static_cast<int>(ops.size())) {
        what = "mount";
        break;
      }
      const MountOp& op = ops[static_cast<size_t>(r.index)];
      std::string dst = under_root(op.dst);
      switch (op.kind) {
        case MountOp::Kind::kDir:
          what = "mkdir " + dst;
          break;
        case MountOp::Kind::kFile:
          what = "create mount point " + dst;
          break;
        case MountOp::Kind::kSymlink:
          what = "symlink " + dst + " -> " + op.src;
          break;
        case MountOp::Kind::kBind:
          what = "bind " + op.src + " at " + dst;
          break;
        case MountOp::Kind::kFs:
          what = "mount " + op.fstype + " at " + dst;
          break;
      }
      break;
    }
    case Stage::kPivotRoot:
      what = "pivot_root";
      break;
    case Stage::kRemountRoot:
      what = "remount root read-only";
      break;
    case Stage::kHostname:
      what = "sethostname";
      break;
    case Stage::kChdir:
      what = std::string("chdir ") + a.cwd;
      break;
    case Stage::kStdio:
      what = "set up stdio fd " + std::to_string(r.index);
      break;
    case Stage::kCloseFds:
      what = "close inherited fds";
      break;
    case Stage::kRlimit:
      what = "setrlimit " + std::to_string(r.index);
      break;
    case Stage::kCapabilities:
      what = "drop capability " + std::to_string(r.index);
      break;
    case Stage::kCredentials:
      what = std::string(r.index == 0   ? "setgroups"
                         : r.index == 1 ? "setresgid "
                                        : "setresuid ") +
             (r.index == 1   ? std::to_string(a.gid)
              : r.index == 2 ? std::to_string(a.uid)
                             : "");
      break;
    case Stage::kParentDeath:
      what = "set parent-death signal";
      break;
    case Stage::kNoNewPrivs:
      what = "set no_new_privs";
      break;
    case Stage::kLandlock:
      what = "enter landlock domain";
      break;
    case Stage::kSeccomp:
      what = "load seccomp filter";
      break;
    case Stage::kExec:
      what = std::string("exec ") + a.exec_path;
      break;
  }
  return what + ": " + std::strerror(r.err);
}

// The child's stack, with a guard page below it.
class ChildStack {
 public:
  ChildStack() {
    long page = ::sysconf(_SC_PAGESIZE);
    guard_ = static_cast<size_t>(page);
    size_ = kChildStackBytes + guard_;
    void* p = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return;
    base_ = static_cast<char*>(p);
    ::mprotect(base_, guard_, PROT_NONE);
  }
  ~ChildStack() {
    if (base_) ::munmap(base_, size_);
  }
  ChildStack(const ChildStack&) = delete;
  ChildStack& operator=(const ChildStack&) = delete;
  bool ok() const { return base_ != nullptr; }
  void* top() const { return base_ + size_; }  // stacks grow down on every target

 private:
  char* base_ = nullptr;
  size_t size_ = 0, guard_ = 0;
};

// Blocks every signal in the calling thread for its lifetime: a handler must
// not run in the child, which shares the parent's memory.
class SignalBlock {
 public:
  SignalBlock() {
    sigset_t all;
    ::sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &old_);
  }
  ~SignalBlock() { ::pthread_sigmask(SIG_SETMASK, &old_, nullptr); }
  SignalBlock(const SignalBlock&) = delete;
  SignalBlock& operator=(const SignalBlock&) = delete;

 private:
  sigset_t old_;
};

bool path_under(std::string_view path, std::string_view prefix) {
  if (!path.starts_with(prefix)) return false;
  return path.size() == prefix.size() || prefix == "/" || path[prefix.size()] == '/';
}

std::chrono::nanoseconds ns(int64_t v) {
  return std::chrono::nanoseconds(v > 0 ? v : 0);
}

std::atomic<uint64_t> g_instance_counter{0};

}  // namespace

std::string host_path(const Spec& spec, std::string_view sandbox_path) {
  // The longest mount target covering the path wins (mounts nest).
  std::string_view best_target;
  const std::string* best_source = nullptr;
  auto consider = [&](std::string_view target, const std::string& source) {
    if (!source.empty() && path_under(sandbox_path, target) && target.size() > best_target.size()) {
      best_target = target;
      best_source = &source;
    }
  };
  consider("/var/task", spec.code_dir);
  consider("/var/runtime", spec.runtime_dir);
  for (const BindMount& m : spec.extra_mounts) consider(m.target, m.source);
  if (!best_source) return std::string(sandbox_path);
  return *best_source + std::string(sandbox_path.substr(best_target.size()));
}

namespace {

Status validate(const Spec& spec) {
  if (spec.argv.empty() || spec.argv[0].empty()) {
    return fail(SysError{"spawn: empty argv", EINVAL});
  }
  if (spec.isolate) {
    if (spec.argv[0][0] != '/') {
      return fail(SysError{"spawn: argv[0] must be an absolute path: " + spec.argv[0], EINVAL});
    }
    if (spec.uid == 0 || spec.gid == 0) {
      return fail(SysError{"spawn: isolated instances must not run as uid/gid 0", EINVAL});
    }
    if (spec.hostname.size() > 64) return fail(SysError{"spawn: hostname too long", EINVAL});
    if (!valid_sandbox_path(spec.cwd)) {
      return fail(SysError{"spawn: invalid cwd '" + spec.cwd + "'", EINVAL});
    }
  }
  return {};
}

// Everything a child touches, laid out before clone, and the ChildArgs that
// point into it (so it never moves: build it in place with prepare()).
struct PreparedChild {
  ChildArgs args;
  std::vector<MountOp> ops;
  std::string exec_path, cwd;
  std::string root_options = "size=1m,nr_inodes=4096,mode=0755";
  std::vector<char*> argv, envp;
  UniqueFd devnull, report_r, report_w;
  std::array<UniqueFd, 2> channel_copies;
  UniqueFd handover_copy;
  std::vector<char> handover_buf;
  std::vector<char*> handover_envp;
};

// `join_fds`: the cgroup.procs files the child writes itself into.
Status prepare(const Spec& spec, std::span<const int> join_fds, bool exec, PreparedChild& p) {
  const sock_fprog* seccomp = nullptr;
  p.exec_path = spec.argv[0];
  p.cwd = spec.cwd;
  if (spec.isolate) {
    auto prog = seccomp_program();
    if (!prog) return fail(prog.take_error());
    seccomp = *prog;
    auto plan = plan_root(spec);
    if (!plan) return fail(plan.take_error());
    p.ops = std::move(*plan);
  } else {
    p.exec_path = host_path(spec, spec.argv[0]);
    p.cwd = host_path(spec, spec.cwd);
  }

  p.argv.reserve(spec.argv.size() + 1);
  p.argv.push_back(spec.isolate ? const_cast<char*>(spec.argv[0].c_str()) : p.exec_path.data());
  for (size_t i = 1; i < spec.argv.size(); ++i)
    p.argv.push_back(const_cast<char*>(spec.argv[i].c_str()));
  p.argv.push_back(nullptr);
  p.envp.reserve(spec.env.size() + 1);
  for (const std::string& e : spec.env) p.envp.push_back(const_cast<char*>(e.c_str()));
  p.envp.push_back(nullptr);

  p.devnull = UniqueFd(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!p.devnull.valid()) return fail(sys_error("open /dev/null"));
  // The report pipe: the child writes a ChildReport on failure; exec closes
  // it (O_CLOEXEC), or the child closes it when it goes on without exec.
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) != 0) return fail(sys_error("pipe2"));
  p.report_r = UniqueFd(pipe_fds[0]);
  p.report_w = UniqueFd(pipe_fds[1]);
  // The channel becomes fds 3 and 4 in the child, the handover pipe fd 5:
  // neither their sources nor the report pipe may sit at 0..5 already (the
  // stdio, channel and handover dup2s would clobber them, and dup2 onto
  // itself would keep CLOEXEC).
  constexpr int kFirstFree = kHandoverFd + 1;
  auto above_targets = [](int fd, UniqueFd& copy) {
    if (fd < 0 || fd >= kFirstFree) return fd;
    copy = UniqueFd(::fcntl(fd, F_DUPFD_CLOEXEC, kFirstFree));
    return copy.get();
  };
  std::array<int, 2> channel_fds = spec.channel_fds;
  for (int i = 0; i < 2 && channel_fds[0] >= 0; ++i) {
    channel_fds[i] = above_targets(channel_fds[i], p.channel_copies[i]);
    if (channel_fds[i] < 0) return fail(sys_error("dup runtime channel"));
  }
  const int handover_fd = above_targets(spec.handover_fd, p.handover_copy);
  if (spec.handover_fd >= 0 && handover_fd < 0) return fail(sys_error("dup handover pipe"));
  if (p.report_w.get() < kFirstFree) {
    p.report_w = UniqueFd(::fcntl(p.report_w.get(), F_DUPFD_CLOEXEC, kFirstFree));
    if (!p.report_w.valid()) return fail(sys_error("dup report pipe"));
  }
  const bool hold = exec && spec.handover_fd >= 0 && spec.exec_on_handover;
  if (hold) {
    p.handover_buf.assign(kMaxHandoverBytes, '\0');
    p.handover_envp.assign(kMaxHandoverEntries + 1, nullptr);
  }

  ChildArgs& a = p.args;
  a.isolate = spec.isolate;
  a.join_fds = join_fds.data();
  a.n_join_fds = join_fds.size();
  a.root = root_mount_point().c_str();
  a.root_options = p.root_options.c_str();
  a.ops = p.ops.data();
  a.n_ops = p.ops.size();
  a.hostname = spec.hostname.c_str();
  a.hostname_len = spec.hostname.size();
  a.cwd = p.cwd.c_str();
  a.exec_path = exec ? p.exec_path.c_str() : nullptr;
  a.argv = p.argv.data();
  a.envp = p.envp.data();
  a.stdio[0] = p.devnull.get();
  a.stdio[1] = spec.stdout_fd >= 0 ? spec.stdout_fd : p.devnull.get();
  a.stdio[2] = spec.stderr_fd >= 0 ? spec.stderr_fd : p.devnull.get();
  a.channel_fds[0] = channel_fds[0];
  a.channel_fds[1] = channel_fds[1];
  a.handover_fd = handover_fd;
  a.hold = hold;
  a.handover_buf = p.handover_buf.data();
  a.handover_envp = p.handover_envp.data();
  a.report_fd = p.report_w.get();
  a.uid = spec.uid;
  a.gid = spec.gid;
  a.last_cap = last_capability();
  a.seccomp = seccomp;
  a.landlock_fd = spec.isolate ? landlock_ruleset() : -1;
  return {};
}

// The child's report, if it wrote one (it failed), once it has exec'd,
// exited or closed the pipe. `wait`: block until then (the child runs on).
std::optional<ChildReport> read_report(int report_fd, bool wait) {
  ChildReport report;
  for (;;) {
    ssize_t n = ::read(report_fd, &report, sizeof report);
    if (n == static_cast<ssize_t>(sizeof report)) return report;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN && wait) {
      pollfd pfd{report_fd, POLLIN, 0};
      ::poll(&pfd, 1, -1);
      continue;
    }
    return std::nullopt;  // EOF (or a torn write, which cannot happen below PIPE_BUF)
  }
}

}  // namespace

Result<std::unique_ptr<Instance>> spawn(const Spec& spec) {
  const int64_t t_begin = now_ns();
  if (auto v = validate(spec); !v) return fail(v.take_error());
  std::unique_ptr<Cgroup> cgroup;
  std::vector<int> join_fds;
  if (spec.isolate) {
    std::string name = spec.cgroup_name;
    if (name.empty()) {
      name = "i-" + std::to_string(::getpid()) + "-" + std::to_string(++g_instance_counter);
    }
    auto cg = Cgroup::create(spec.cgroup_parent, name,
                             {spec.memory_limit_bytes, spec.cpu_cores, spec.pids_max});
    if (!cg) return fail(cg.take_error());
    cgroup = std::move(*cg);
    join_fds = cgroup->join_fds();
  }
  PreparedChild p;
  if (auto r = prepare(spec, join_fds, /*exec=*/true, p); !r) return fail(r.take_error());
  ChildArgs& args = p.args;

  ChildStack stack;
  if (!stack.ok()) return fail(sys_error("mmap child stack"));
  // A held child waits for its handover long after we returned: it cannot
  // borrow our memory and thread, so it gets a copy of the address space
  // (page tables only; that child then touches little before its exec).
  int flags = CLONE_PIDFD | SIGCHLD;
  if (!args.hold) flags |= CLONE_VFORK;
  if (kShareAddressSpace && !args.hold) flags |= CLONE_VM;
  if (spec.isolate) flags |= CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS;

  const int64_t t_clone = now_ns();
  int pidfd = -1;
  pid_t pid;
  int clone_errno;
  {
    SignalBlock block;
    // Returns once the child has exec'd or exited (CLONE_VFORK).
    pid = ::clone(child_main, stack.top(), flags, &args, &pidfd);
    clone_errno = errno;
  }
  const int64_t t_returned = now_ns();
  p.report_w.reset();
  if (pid < 0) {
    errno = clone_errno;
    return fail(sys_error("clone"));
  }
  UniqueFd pidfd_owner(pidfd);

  // Another thread's fork may still hold a copy of the write end: no need to
  // wait, the child has exec'd or exited, so a report, if any, is there. A
  // held child reports that it waits.
  std::optional<SysError> failure;
  auto report = read_report(p.report_r.get(), /*wait=*/args.hold);
  if (report && report->stage != kHeldReport)
    failure = SysError{describe_failure(*report, args, p.ops, cgroup.get()), report->err};
  else if (args.hold && !report)
    failure = SysError{"the child exited before it waited for its handover", ECHILD};
  if (failure) {
    int status;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return fail(std::move(*failure));
  }
  if (cgroup) cgroup->close_join_fds();

  SpawnTimings timings;
  timings.prepare = ns(t_clone - t_begin);
  if (args.hold || !kShareAddressSpace) {  // the child's clock readings are its own
    timings.total = ns(now_ns() - t_begin);
    return std::make_unique<Instance>(Instance::Key(), pid, std::move(pidfd_owner),
                                      std::move(cgroup), spec.isolate, timings);
  }
  timings.clone = ns(args.t_start - t_clone);
  timings.join_cgroup = ns(args.t_joined - args.t_start);
  timings.mounts = ns(args.t_mounted - args.t_joined);
  timings.setup = ns(args.t_exec - args.t_mounted);
  timings.exec = ns(t_returned - args.t_exec);
  timings.total = ns(now_ns() - t_begin);
  return std::make_unique<Instance>(Instance::Key(), pid, std::move(pidfd_owner), std::move(cgroup),
                                    spec.isolate, timings);
}

Result<ForkedChild> fork_sandboxed(const Spec& spec, std::span<const int> join_fds,
                                   int payload_fd) {
  const int64_t t_begin = now_ns();
  if (!spec.isolate) return fail(SysError{"fork_sandboxed: isolated specs only", EINVAL});
  if (auto v = validate(spec); !v) return fail(v.take_error());
  PreparedChild p;
  if (auto r = prepare(spec, join_fds, /*exec=*/false, p); !r) return fail(r.take_error());

  // A fork (the child needs its own copy of the initialised runtime) with the
  // instance's namespaces, whose parent is the zygote's parent (CLONE_PARENT):
  // Nimbus reaps it, and its parent-death signal follows Nimbus. Raw clone3,
  // because glibc's fork() cannot take flags; glibc's fork bookkeeping is not
  // needed in a single-threaded zygote (see zygote.h for what is skipped).
  clone_args ca{};
  int pidfd = -1;
  ca.flags = CLONE_PARENT | CLONE_PIDFD | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS;
  ca.pidfd = reinterpret_cast<uint64_t>(&pidfd);
  ca.exit_signal = 0;  // CLONE_PARENT: the zygote's own exit signal (SIGCHLD) is used
  const int64_t t_clone = now_ns();
  pid_t pid;
  {
    SignalBlock block;
    pid = static_cast<pid_t>(::syscall(SYS_clone3, &ca, sizeof ca));
    if (pid == 0) {
      std::string payload;
      char chunk[4096];
      for (ssize_t n; payload_fd >= 0 && (n = ::pread(payload_fd, chunk, sizeof chunk,
                                                      static_cast<off_t>(payload.size()))) > 0;)
        payload.append(chunk, static_cast<size_t>(n));
      child_enter(p.args);
      // In the sandbox: the closed pipe tells the zygote so.
      ::close(p.args.report_fd);
      // Those numbers are closed or reused (0..4) now: forget, never close them.
      for (UniqueFd* fd : {&p.devnull, &p.report_r, &p.report_w, &p.channel_copies[0],
                           &p.channel_copies[1], &p.handover_copy})
        (void)fd->release();
      ForkedChild self;
      self.payload = std::move(payload);
      return self;
    }
  }
  if (pid < 0) return fail(sys_error("clone3"));
  UniqueFd pidfd_owner(pidfd);
  p.report_w.reset();
  ForkedChild out{pid, std::move(pidfd_owner), {}};
  if (auto report = read_report(p.report_r.get(), /*wait=*/true))
    out.failure = SysError{describe_failure(*report, p.args, p.ops, nullptr), report->err};
  out.timings.prepare = ns(t_clone - t_begin);
  out.timings.total = ns(now_ns() - t_begin);
  return out;
}

Instance::Instance(Key, pid_t pid, UniqueFd pidfd, std::unique_ptr<Cgroup> cgroup, bool isolated,
                   SpawnTimings timings, bool our_child)
    : pid_(pid),
      pidfd_(std::move(pidfd)),
      cgroup_(std::move(cgroup)),
      isolated_(isolated),
      timings_(timings),
      our_child_(our_child) {
  std::string path = "/proc/" + std::to_string(pid_) + "/schedstat";
  schedstat_fd_ = UniqueFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!our_child_) {
    path = "/proc/" + std::to_string(pid_) + "/stat";
    stat_fd_ = UniqueFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  }
}

Instance::~Instance() {
  kill();
  if (!our_child_) {
    while (!wait(std::chrono::hours(1))) {
    }
    return;
  }
  while (!status_) {
    int status;
    pid_t r = ::waitpid(pid_, &status, 0);
    if (r == pid_) {
      status_ = status;
    } else if (r < 0 && errno != EINTR) {
      break;  // ECHILD: someone else reaped it (SIGCHLD ignored?); nothing to wait for
    }
  }
  // The Cgroup destructor removes the group, now that its processes are gone.
}

void Instance::kill() {
  if (status_) return;  // reaped: the pid may belong to someone else now
  if (!isolated_) ::killpg(pid_, SIGKILL);
  // Through the pidfd, immune to pid reuse. For an isolated instance this is
  // PID 1 of its namespace, and the kernel kills the rest of the namespace.
  ::syscall(SYS_pidfd_send_signal, pidfd_.get(), SIGKILL, nullptr, 0);
  if (!our_child_ && cgroup_) cgroup_->kill_all();
}

namespace {

// The wait status of a zombie from its /proc/PID/stat (field 52, exit_code,
// since Linux 3.5); nullopt when it is no zombie (any more).
std::optional<int> zombie_status(int stat_fd) {
  char buf[1024];
  ssize_t n = stat_fd >= 0 ? ::pread(stat_fd, buf, sizeof buf - 1, 0) : -1;
  if (n <= 0) return std::nullopt;
  std::string_view text(buf, static_cast<size_t>(n));
  size_t paren = text.rfind(')');  // the command name may hold spaces and parens
  if (paren == std::string_view::npos) return std::nullopt;
  auto fields = split(text.substr(std::min(text.size(), paren + 2)), ' ');
  if (fields.size() < 50 || fields[0] != "Z") return std::nullopt;
  int status = 0;
  std::string_view code = fields[49];
  while (!code.empty() && code.back() == '\n') code.remove_suffix(1);
  if (std::from_chars(code.data(), code.data() + code.size(), status).ec != std::errc())
    return std::nullopt;
  return status;
}

}  // namespace

std::optional<int> Instance::try_reap() {
  if (status_) return status_;
  if (!our_child_) {
    pollfd p{pidfd_.get(), POLLIN, 0};
    if (::poll(&p, 1, 0) != 1) return std::nullopt;
    // Reaped by its parent before we looked (or with the template's whole
    // PID namespace): most likely it was killed, so say so.
    status_ = zombie_status(stat_fd_.get()).value_or(SIGKILL);
    return status_;
  }
  int status;
  pid_t r;
  do {
    r = ::waitpid(pid_, &status, WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == pid_) status_ = status;
  return status_;
}

std::optional<int> Instance::wait(std::chrono::milliseconds timeout) {
  if (status_) return status_;
  pollfd pfd{pidfd_.get(), POLLIN, 0};
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    int rc = ::poll(&pfd, 1, static_cast<int>(std::max<int64_t>(0, left.count())));
    if (rc > 0) return try_reap();
    if (rc == 0) return std::nullopt;
    if (errno != EINTR) return std::nullopt;
  }
}

uint64_t Instance::peak_memory_bytes() const {
  return cgroup_ ? cgroup_->peak_memory_bytes() : 0;
}
bool Instance::oom_killed() const {
  return cgroup_ && cgroup_->oom_killed();
}
uint64_t Instance::cpu_usage_ns() const {
  return cgroup_ ? cgroup_->cpu_usage_ns() : 0;
}

std::optional<Instance::SchedStat> Instance::sched_stat() const {
  if (!schedstat_fd_.valid()) return std::nullopt;
  char buf[96];
  ssize_t n = ::pread(schedstat_fd_.get(), buf, sizeof buf - 1, 0);
  if (n <= 0) return std::nullopt;
  // "<ns on cpu> <ns waiting on a runqueue> <timeslices>\n"
  SchedStat s;
  const char* end = buf + n;
  auto r = std::from_chars(buf, end, s.cpu_ns);
  if (r.ec != std::errc() || r.ptr == end) return std::nullopt;
  r = std::from_chars(r.ptr + 1, end, s.run_delay_ns);
  if (r.ec != std::errc()) return std::nullopt;
  return s;
}

Status Instance::set_cpu_cores(double cores) {
  if (!cgroup_) return fail(SysError{"isolation off: no CPU quota", ENOTSUP});
  return cgroup_->set_cpu_cores(cores);
}

Status Instance::set_memory_limit(uint64_t bytes) {
  if (!cgroup_) return fail(SysError{"isolation off: no memory limit", ENOTSUP});
  return cgroup_->set_memory_limit(bytes);
}

namespace {

// What the mount helper of Instance::add_mounts() does, prepared by the parent.
struct MountHelperArgs {
  int pidfd = -1;              // the instance: its mount namespace is entered
  const int* trees = nullptr;  // detached copies of the sources (open_tree)
  const char* const* targets = nullptr;
  size_t n = 0;
  const char* tmp_options = nullptr;
  int report_fd = -1;
};

// Runs in a child of ours that shares nothing but memory: setns() into a mount
// namespace needs a process whose filesystem context is its own (no thread of
// Nimbus has that). Writes a ChildReport (index n: the /tmp remount) on failure.
int mount_helper_main(void* arg) {
  const MountHelperArgs& a = *static_cast<const MountHelperArgs*>(arg);
  auto fail_at = [&](size_t index) {
    ChildReport r{static_cast<int>(Stage::kMountOp), static_cast<int>(index), errno};
    (void)!::write(a.report_fd, &r, sizeof r);
    ::_exit(1);
  };
  if (::setns(a.pidfd, CLONE_NEWNS) != 0) fail_at(a.n + 1);
  for (size_t i = 0; i < a.n; ++i) {
    if (::move_mount(a.trees[i], "", AT_FDCWD, a.targets[i], MOVE_MOUNT_F_EMPTY_PATH) != 0)
      fail_at(i);
  }
  if (::mount(nullptr, "/tmp", nullptr, MS_REMOUNT | MS_NOSUID | MS_NODEV, a.tmp_options) != 0)
    fail_at(a.n);
  ::_exit(0);
}

}  // namespace

Status Instance::add_mounts(std::span<const BindMount> mounts, uint64_t tmp_size_bytes) {
  if (!isolated_) return fail(SysError{"add_mounts: isolated instances only", EINVAL});
  // The sources as detached trees, made here, where the host's paths are.
  std::vector<UniqueFd> trees;
  std::vector<int> tree_fds;
  std::vector<const char*> targets;
  for (const BindMount& m : mounts) {
    if (!valid_sandbox_path(m.target) || m.target == "/")
      return fail(SysError{"invalid mount target '" + m.target + "'", EINVAL});
    trees.emplace_back(::open_tree(AT_FDCWD, m.source.c_str(),
                                   OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE));
    if (!trees.back().valid()) return fail(sys_error("open_tree " + m.source));
    mount_attr attr{};
    attr.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (m.read_only ? MOUNT_ATTR_RDONLY : 0);
    if (::mount_setattr(trees.back().get(), "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) !=
        0)
      return fail(sys_error("mount_setattr " + m.source));
    tree_fds.push_back(trees.back().get());
    targets.push_back(m.target.c_str());
  }
  const std::string tmp_options = "size=" + std::to_string(tmp_size_bytes) + ",mode=1777";
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) return fail(sys_error("pipe2"));
  UniqueFd report_r(report[0]), report_w(report[1]);
  MountHelperArgs args{pidfd_.get(),   tree_fds.data(),     targets.data(),
                       targets.size(), tmp_options.c_str(), report_w.get()};
  ChildStack stack;
  if (!stack.ok()) return fail(sys_error("mmap child stack"));
  int flags = CLONE_VFORK | SIGCHLD;
  if (kShareAddressSpace) flags |= CLONE_VM;
  pid_t pid;
  {
    SignalBlock block;
    pid = ::clone(mount_helper_main, stack.top(), flags, &args);
  }
  if (pid < 0) return fail(sys_error("clone"));
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  report_w.reset();
  ChildReport r{};
  if (::read(report_r.get(), &r, sizeof r) == sizeof r) {
    size_t i = static_cast<size_t>(r.index);
    std::string what = i < mounts.size() ? "mount " + mounts[i].source + " at " + mounts[i].target
                       : i == mounts.size() ? std::string("resize /tmp")
                                            : std::string("enter the instance's mount namespace");
    return fail(SysError{what + ": " + std::strerror(r.err), r.err});
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return fail(SysError{"add_mounts: the helper failed", ECHILD});
  return {};
}

std::vector<std::string> Instance::cgroup_dirs() const {
  return cgroup_ ? cgroup_->dirs() : std::vector<std::string>{};
}

bool isolation_available(std::string* why) {
  static std::string reason;
  static bool available = false;
  static std::once_flag once;
  std::call_once(once, [] {
    if (::geteuid() != 0) {
      reason = "not running as root";
      return;
    }
    std::string cg_why;
    if (cgroup_version(&cg_why) == CgroupVersion::kNone) {
      reason = cg_why;
      return;
    }
    if (auto prog = seccomp_program(); !prog) {
      reason = "seccomp: " + prog.error().message;
      return;
    }
    // The real thing, once: namespaces, mounts and cgroup writes can each be
    // refused by a container runtime or LSM in ways no static check sees.
    if (::access("/bin/true", X_OK) == 0) {
      Spec probe;
      probe.argv = {"/bin/true"};
      probe.uid = probe.gid = 65534;  // nobody
      probe.cgroup_name = "probe-" + std::to_string(::getpid());
      auto inst = spawn(probe);
      if (!inst) {
        reason = "probe instance: " + inst.error().message;
        return;
      }
      auto status = (*inst)->wait(std::chrono::seconds(10));
      if (!status || !WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
        reason = "probe instance (/bin/true) did not exit cleanly";
        return;
      }
    }
    available = true;
  });
  if (why) *why = reason;
  return available;
}

}  // namespace nimbus::sandbox
