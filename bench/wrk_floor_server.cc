// The floor under every HTTP figure in docs/BENCHMARKS.md: a do-nothing
// HTTP/1.1 keep-alive server (one thread, epoll, a fixed "hello" for every
// request). bench/wrk_floor.sh drives it with the same wrk settings as the
// front-door benchmark, so that what the load generator and the kernel cost
// on this machine (throughput, and the latency spread of 64 closed-loop
// callers on 2 cores) can be told apart from what Nimbus adds.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <string_view>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s PORT\n", argv[0]);
    return 2;
  }
  int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(std::atoi(argv[1])));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listener, 1024) != 0) {
    std::perror("listen");
    return 1;
  }
  int epoll = ::epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{.events = EPOLLIN, .data = {.fd = listener}};
  ::epoll_ctl(epoll, EPOLL_CTL_ADD, listener, &ev);
  constexpr std::string_view kResponse =
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello";
  std::array<epoll_event, 256> events;
  std::array<char, 16384> buf;
  for (;;) {
    int n = ::epoll_wait(epoll, events.data(), static_cast<int>(events.size()), -1);
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == listener) {
        int c = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c < 0) continue;
        ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        epoll_event cev{.events = EPOLLIN, .data = {.fd = c}};
        ::epoll_ctl(epoll, EPOLL_CTL_ADD, c, &cev);
        continue;
      }
      ssize_t got = ::read(fd, buf.data(), buf.size());
      if (got <= 0) {
        ::close(fd);
        continue;
      }
      // One answer per request end in what arrived (wrk sends small GETs
      // that never straddle reads on loopback).
      std::string_view data(buf.data(), static_cast<size_t>(got));
      for (size_t at = data.find("\r\n\r\n"); at != std::string_view::npos;
           at = data.find("\r\n\r\n", at + 4))
        if (::write(fd, kResponse.data(), kResponse.size()) < 0) break;
    }
  }
}
