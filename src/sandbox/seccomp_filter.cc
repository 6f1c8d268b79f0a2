#include "sandbox/seccomp_filter.h"

#include <fcntl.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <mutex>
#include <vector>

#include "sandbox/unique_fd.h"

namespace nimbus::sandbox {

namespace {

// Denied outright. Most of these already need capabilities the instance does
// not have; the filter is the second wall, and it also shrinks the kernel
// surface reachable through bugs in capability checks.
constexpr const char* kDenied[] = {
    // mount table and root
    "mount",
    "umount",
    "umount2",
    "pivot_root",
    "chroot",
    "open_tree",
    "move_mount",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "mount_setattr",
    // namespaces
    "unshare",
    "setns",
    // other processes' memory
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "kcmp",
    "pidfd_getfd",
    // kernel and machine
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "reboot",
    "swapon",
    "swapoff",
    "acct",
    "settimeofday",
    "clock_settime",
    "syslog",
    "iopl",
    "ioperm",
    "quotactl",
    "quotactl_fd",
    "lookup_dcookie",
    "vhangup",
    // observability / program loading
    "bpf",
    "perf_event_open",
    "fanotify_init",
    // keyrings
    "keyctl",
    "add_key",
    "request_key",
    // file handles bypass path-based access checks
    "open_by_handle_at",
    "name_to_handle_at",
    "userfaultfd",
};

constexpr const char* kNoSys[] = {"clone3", "io_uring_setup", "io_uring_enter",
                                  "io_uring_register"};

// CLONE_NEWTIME (0x80) is left out: in clone()'s flags that bit is part of
// the exit signal, and clone() cannot create time namespaces anyway.
constexpr uint64_t kNamespaceFlags[] = {CLONE_NEWNS,  CLONE_NEWUTS, CLONE_NEWIPC,   CLONE_NEWUSER,
                                        CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP};

struct Compiled {
  std::vector<sock_filter> code;
  sock_fprog prog{};
  SysError error;
  bool ok = false;
};

struct CtxDeleter {
  void operator()(scmp_filter_ctx ctx) const { seccomp_release(ctx); }
};

Status add(scmp_filter_ctx ctx, uint32_t action, int nr, std::string_view what,
           std::initializer_list<scmp_arg_cmp> args = {}) {
  int rc = seccomp_rule_add_array(ctx, action, nr, static_cast<unsigned>(args.size()),
                                  args.size() ? args.begin() : nullptr);
  if (rc < 0) {
    errno = -rc;
    return fail(sys_error("seccomp rule for " + std::string(what)));
  }
  return {};
}

Status build(Compiled& out) {
  std::unique_ptr<void, CtxDeleter> ctx(seccomp_init(SCMP_ACT_ALLOW));
  if (!ctx) return fail(SysError{"seccomp_init failed", ENOMEM});
  // Syscalls this architecture lacks (iopl on arm64, ...) resolve to
  // __NR_SCMP_ERROR and are skipped.
  for (const char* name : kDenied) {
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) continue;
    if (auto st = add(ctx.get(), SCMP_ACT_ERRNO(EPERM), nr, name); !st) return st;
  }
  for (const char* name : kNoSys) {
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) continue;
    if (auto st = add(ctx.get(), SCMP_ACT_ERRNO(ENOSYS), nr, name); !st) return st;
  }
  // clone with any namespace flag. The flags are argument 0 on x86-64 and
  // arm64 (s390 swaps the first two arguments; not a target).
  for (uint64_t flag : kNamespaceFlags) {
    if (auto st = add(ctx.get(), SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), "clone",
                      {SCMP_A0(SCMP_CMP_MASKED_EQ, flag, flag)});
        !st) {
      return st;
    }
  }
  // Device nodes only: mknod also makes FIFOs (mkfifo) and sockets, which
  // functions legitimately use.
  for (uint64_t type : {uint64_t{S_IFCHR}, uint64_t{S_IFBLK}}) {
    int mknod = seccomp_syscall_resolve_name("mknod");
    if (mknod != __NR_SCMP_ERROR) {
      if (auto st = add(ctx.get(), SCMP_ACT_ERRNO(EPERM), mknod, "mknod",
                        {SCMP_A1(SCMP_CMP_MASKED_EQ, S_IFMT, type)});
          !st) {
        return st;
      }
    }
    if (auto st = add(ctx.get(), SCMP_ACT_ERRNO(EPERM), SCMP_SYS(mknodat), "mknodat",
                      {SCMP_A2(SCMP_CMP_MASKED_EQ, S_IFMT, type)});
        !st) {
      return st;
    }
  }

  // libseccomp 2.5 can only export to a file descriptor.
  UniqueFd mem(::memfd_create("nimbus-seccomp", MFD_CLOEXEC));
  if (!mem.valid()) return fail(sys_error("memfd_create"));
  if (int rc = seccomp_export_bpf(ctx.get(), mem.get()); rc < 0) {
    errno = -rc;
    return fail(sys_error("seccomp_export_bpf"));
  }
  off_t size = ::lseek(mem.get(), 0, SEEK_END);
  if (size <= 0 || size % sizeof(sock_filter) != 0) {
    return fail(SysError{"seccomp_export_bpf produced a malformed program", EINVAL});
  }
  out.code.resize(static_cast<size_t>(size) / sizeof(sock_filter));
  if (::pread(mem.get(), out.code.data(), static_cast<size_t>(size), 0) != size) {
    return fail(sys_error("read seccomp program"));
  }
  out.prog.len = static_cast<unsigned short>(out.code.size());
  out.prog.filter = out.code.data();
  return {};
}

}  // namespace

Result<const sock_fprog*> seccomp_program() {
  static Compiled compiled;
  static std::once_flag once;
  std::call_once(once, [] {
    if (auto st = build(compiled); st) {
      compiled.ok = true;
    } else {
      compiled.error = st.take_error();
    }
  });
  if (!compiled.ok) return fail(compiled.error);
  return &compiled.prog;
}

}  // namespace nimbus::sandbox
