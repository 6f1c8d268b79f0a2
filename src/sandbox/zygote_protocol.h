// The messages between Nimbus and a fork-server (zygote.h), one per
// SOCK_SEQPACKET datagram. A request is the instance's Spec as JSON, with its
// file descriptors beside it (SCM_RIGHTS, in this order: stdout, stderr, the
// environment, the two runtime-channel fds when `channel` is set, then `join`
// cgroup.procs files).
//
// The environment is not in the JSON: it often holds a function's secrets, and
// whatever the zygote reads stays in its memory, which every later instance
// of every function inherits. It travels as a memfd ("K=V\0K=V\0...") that only
// the forked child reads (ForkedChild::payload). A reply is {"pid": N} with the instance's pidfd
// beside it, or
// {"error": "...", "errno": N, "pid": N} (pid 0 when no child was created).
//
// The zygote runs as root and decodes what Nimbus sends, so the decoder
// checks every field and is fuzzed (zygote_protocol_fuzz.cc).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "base/result.h"
#include "sandbox/sandbox.h"
#include "sandbox/unix_message.h"

namespace nimbus::sandbox {

// Largest request accepted (paths, argv and names: a few hundred bytes).
inline constexpr size_t kMaxZygoteMessage = 64 << 10;
// File descriptors one request may carry (4 + one per cgroup v1 hierarchy).
inline constexpr size_t kMaxZygoteFds = kMaxMessageFds;

struct ZygoteRequest {
  Spec spec;  // env empty; stdout_fd, stderr_fd, channel_fds: -1, the fds travel beside
  bool channel = false;
  size_t join_fds = 0;
  // How many fds must travel with the request.
  size_t fd_count() const { return 3 + (channel ? 2 : 0) + join_fds; }
};

struct ZygoteReply {
  pid_t pid = 0;
  std::string error;  // empty: success, a pidfd travels beside
  int error_number = 0;
};

// spec.env is never encoded (see above).
std::string encode_request(const ZygoteRequest& request);
Result<ZygoteRequest> decode_request(std::string_view text);
std::string encode_reply(const ZygoteReply& reply);
Result<ZygoteReply> decode_reply(std::string_view text);

// The environment memfd's contents: "K=V" entries, each followed by a NUL.
std::string encode_environment(const std::vector<std::string>& env);
std::vector<std::string> decode_environment(std::string_view bytes);

}  // namespace nimbus::sandbox
