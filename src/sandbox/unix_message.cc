#include "sandbox/unix_message.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace nimbus::sandbox {

namespace {

SysError errno_error(const std::string& what) {
  int e = errno;
  return SysError{what + ": " + std::strerror(e), e};
}

}  // namespace

Status send_message(int socket, std::string_view text, std::span<const int> fds) {
  if (fds.size() > kMaxMessageFds) return fail(SysError{"send: too many fds", EINVAL});
  iovec iov{const_cast<char*>(text.data()), text.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxMessageFds)];
  if (!fds.empty()) {
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  ssize_t n;
  do {
    n = ::sendmsg(socket, &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(text.size())) return fail(errno_error("send"));
  return {};
}

Result<size_t> receive_message(int socket, size_t max_size, std::string& buf,
                               std::vector<UniqueFd>& fds, pid_t* sender) {
  buf.resize(max_size + 1);
  iovec iov{buf.data(), buf.size()};
  alignas(
      cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxMessageFds) + CMSG_SPACE(sizeof(ucred))];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do {
    n = ::recvmsg(socket, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return fail(errno_error("receive"));
  if (sender) *sender = 0;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET) continue;
    if (c->cmsg_type == SCM_RIGHTS) {
      size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < count; ++i) {
        int fd;
        std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
        fds.emplace_back(fd);
      }
    } else if (c->cmsg_type == SCM_CREDENTIALS && sender &&
               c->cmsg_len >= CMSG_LEN(sizeof(ucred))) {
      ucred cred;
      std::memcpy(&cred, CMSG_DATA(c), sizeof cred);
      *sender = cred.pid;
    }
  }
  if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC) || static_cast<size_t>(n) > max_size)
    return fail(SysError{"message or its fds truncated", EMSGSIZE});
  return static_cast<size_t>(n);
}

}  // namespace nimbus::sandbox
