#include "http/server.h"

#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "base/asio_clock.h"
#include "base/lazy_deadline.h"

namespace nimbus::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, const ServerOptions& opts, Clock& clock,
          std::shared_ptr<Handler> handler)
      : stream_(std::move(socket)), opts_(opts), clock_(clock), handler_(std::move(handler)) {}

  void start() {
    beast::error_code ec;
    auto remote = stream_.socket().remote_endpoint(ec);
    if (!ec) {
      remote_ip_ = remote.address().to_string();
      remote_loopback_ =
          remote.address().is_loopback() ||
          (remote.address().is_v6() && remote.address().to_v6().is_v4_mapped() &&
           asio::ip::make_address_v4(asio::ip::v4_mapped, remote.address().to_v6()).is_loopback());
    }
    local_port_ = stream_.socket().local_endpoint(ec).port();
    if (opts_.accept_filter && (ec || !opts_.accept_filter(remote_ip_, remote.port()))) {
      stream_.socket().close(ec);
      return;
    }
    stream_.socket().set_option(tcp::no_delay(true), ec);
    std::weak_ptr<Session> weak = weak_from_this();
    idle_.emplace(clock_, [weak] {
      auto self = weak.lock();
      if (!self) return;
      asio::post(self->stream_.get_executor(), [self] {
        beast::error_code ignored;
        self->stream_.socket().close(ignored);  // the pending read ends with an error
      });
    });
    read_next();
  }

 private:
  void read_next() {
    parser_.emplace();
    parser_->body_limit(opts_.max_body_bytes);
    parser_->header_limit(64 * 1024);
    // Covers the wait for the next request and its whole transfer (slow senders).
    idle_->set_after(std::chrono::seconds(opts_.idle_timeout_seconds));
    bhttp::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec == bhttp::error::body_limit) {
      Response r = Response::json(413, R"({"message":"Request must be smaller than the limit"})");
      r.headers.set("x-amzn-ErrorType", "RequestTooLargeException");
      keep_alive_ = false;
      write(std::move(r));
      return;
    }
    idle_->clear();
    if (ec) return;  // closed, timed out or malformed: drop the connection
    auto& msg = parser_->get();
    keep_alive_ = msg.keep_alive();
    Request req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    auto q = req.target.find('?');
    req.path = req.target.substr(0, q);
    if (q != std::string::npos) req.query = req.target.substr(q + 1);
    for (const auto& f : msg) req.headers.add(std::string(f.name_string()), std::string(f.value()));
    req.body = std::move(msg.body());
    req.remote_ip = remote_ip_;
    req.remote_is_loopback = remote_loopback_;
    req.local_port = local_port_;

    auto answered = std::make_shared<std::atomic<bool>>(false);
    Reply reply = [self = shared_from_this(), answered](Response r) {
      if (answered->exchange(true)) return;
      asio::post(self->stream_.get_executor(),
                 [self, r = std::move(r)]() mutable { self->write(std::move(r)); });
    };
    try {
      (*handler_)(std::move(req), reply);
    } catch (const std::exception& e) {
      spdlog::error("http handler threw: {}", e.what());
      reply(Response::json(500, R"({"message":"Internal server error"})"));
    }
  }

  // The head is serialised by response_head() and goes out with the body in
  // one gather write: Beast's generic serializer cost more CPU than the rest
  // of a small response's path.
  void write(Response r) {
    struct Outgoing {
      std::string head, body;
    };
    auto out = std::make_shared<Outgoing>();
    out->head = response_head(r, keep_alive_, http_date());
    out->body = std::move(r.body);
    std::array<asio::const_buffer, 2> buffers{asio::buffer(out->head), asio::buffer(out->body)};
    asio::async_write(stream_.socket(), buffers,
                      [self = shared_from_this(), out](beast::error_code ec, size_t) {
                        if (ec || !self->keep_alive_) {
                          beast::error_code ignored;
                          self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
                          return;
                        }
                        self->read_next();
                      });
  }

  static const std::string& http_date() {
    // Formatted once per second per thread, not per response.
    thread_local std::time_t formatted_at = -1;
    thread_local std::string formatted;
    std::time_t t = std::time(nullptr);
    if (t != formatted_at) {
      char buf[64];
      std::tm tm{};
      gmtime_r(&t, &tm);
      std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
      formatted = buf;
      formatted_at = t;
    }
    return formatted;
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  ServerOptions opts_;
  Clock& clock_;
  // Moved on every request; a lazy deadline keeps that off the timer queue.
  std::optional<LazyDeadline> idle_;
  std::shared_ptr<Handler> handler_;
  std::string remote_ip_;
  bool remote_loopback_ = false;
  uint16_t local_port_ = 0;
  bool keep_alive_ = true;
};

}  // namespace

struct Server::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& io, ServerOptions o, Handler h)
      : io(io),
        opts(std::move(o)),
        own_clock(io.get_executor()),
        clock(opts.clock ? *opts.clock : own_clock),
        handler(std::make_shared<Handler>(std::move(h))),
        acceptor(connection_executor()) {}

  asio::any_io_executor connection_executor() {
    if (opts.strands) return asio::make_strand(io);
    return io.get_executor();
  }

  void accept() {
    acceptor.async_accept(connection_executor(), [self = shared_from_this()](beast::error_code ec,
                                                                             tcp::socket s) {
      if (ec == asio::error::operation_aborted || !self->acceptor.is_open()) return;
      if (!ec)
        std::make_shared<Session>(std::move(s), self->opts, self->clock, self->handler)->start();
      self->accept();
    });
  }

  asio::io_context& io;
  ServerOptions opts;
  AsioClock own_clock;
  Clock& clock;
  std::shared_ptr<Handler> handler;
  tcp::acceptor acceptor;
  uint16_t bound_port = 0;
};

Server::Server(asio::io_context& io, ServerOptions options, Handler handler)
    : impl_(std::make_shared<Impl>(io, std::move(options), std::move(handler))) {}

Server::~Server() {
  stop();
}

Result<uint16_t> Server::listen() {
  beast::error_code ec;
  auto addr = asio::ip::make_address(impl_->opts.host, ec);
  if (ec) return fail(SysError{"bad listen address " + impl_->opts.host + ": " + ec.message()});
  tcp::endpoint ep(addr, impl_->opts.port);
  auto& a = impl_->acceptor;
  a.open(ep.protocol(), ec);
  if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return fail(SysError{"cannot listen on " + impl_->opts.host + ":" +
                         std::to_string(impl_->opts.port) + ": " + ec.message()});
  impl_->bound_port = a.local_endpoint().port();
  impl_->accept();
  return impl_->bound_port;
}

void Server::stop() {
  if (!impl_) return;
  asio::post(impl_->acceptor.get_executor(), [impl = impl_] {
    beast::error_code ec;
    impl->acceptor.close(ec);
  });
}

uint16_t Server::port() const {
  return impl_->bound_port;
}

}  // namespace nimbus::http
