// An HTTP/1.1 keep-alive server on Boost.Asio + Beast. Used for the edge port,
// the API port and every instance's Runtime API endpoint.
#pragma once

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "base/result.h"
#include "http/message.h"

namespace nimbus::http {

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0 picks a free port; listen() returns it
  // Requests with a larger body are answered 413 without calling the handler.
  size_t max_body_bytes = 80 * 1024 * 1024;
  // A keep-alive connection idle this long is closed.
  int idle_timeout_seconds = 300;
  // Times the idle cut-off; null: real time on the server's io_context.
  Clock* clock = nullptr;
  // Decides, once per connection, whether to serve it (given the client's
  // address and port); a refused connection is closed without an answer.
  std::function<bool(std::string_view remote_ip, uint16_t remote_port)> accept_filter;
  // Each connection's handlers run on a strand, as several threads running
  // the io_context need. Off when one thread runs it: a strand then only adds
  // a lock and a queue to every handler.
  bool strands = true;
};

class Server {
 public:
  Server(boost::asio::io_context& io, ServerOptions options, Handler handler);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts accepting; returns the bound port.
  Result<uint16_t> listen();
  // Stops accepting. Open connections finish their current exchange.
  void stop();
  uint16_t port() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace nimbus::http
