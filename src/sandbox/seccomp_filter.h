// The seccomp filter every isolated instance runs under: everything is
// allowed except the syscalls that reach kernel attack surface or could undo
// the sandbox (mounts, namespaces, tracing, modules, keyrings, ...), which
// fail with EPERM (ENOSYS for clone3 and io_uring, so that libc and libuv fall
// back to the older interfaces instead of failing).
#pragma once

#include <linux/filter.h>

#include "base/result.h"

namespace nimbus::sandbox {

// The filter compiled to BPF once per process (libseccomp is not used in the
// child: it allocates, and the child shares the parent's memory until exec).
// The program stays valid for the life of the process.
Result<const sock_fprog*> seccomp_program();

}  // namespace nimbus::sandbox
