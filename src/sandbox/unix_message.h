// One datagram with file descriptors beside it, over a SOCK_SEQPACKET Unix
// socket: how Nimbus talks to its fork-servers (zygote.h) and to per-function
// templates (fork_template.h).
#pragma once

#include <sys/types.h>

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "sandbox/unique_fd.h"

namespace nimbus::sandbox {

// File descriptors one message may carry: 4 + one per cgroup v1 hierarchy.
inline constexpr size_t kMaxMessageFds = 16;

// Sends `text` with `fds` (SCM_RIGHTS) in one datagram.
Status send_message(int socket, std::string_view text, std::span<const int> fds = {});

// Receives one datagram of at most `max_size` bytes into `buf` (0: the peer
// closed), its fds into `fds` (CLOEXEC). A longer datagram or more fds than
// kMaxMessageFds fail with EMSGSIZE. `sender`, when given, receives the
// sending process's pid in our PID namespace, as the kernel vouches for it
// (the socket must have SO_PASSCRED set); 0 when none came.
Result<size_t> receive_message(int socket, size_t max_size, std::string& buf,
                               std::vector<UniqueFd>& fds, pid_t* sender = nullptr);

}  // namespace nimbus::sandbox
