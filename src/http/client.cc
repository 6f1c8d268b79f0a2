#include "http/client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace nimbus::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

Result<Response> fetch(const std::string& base_url, const Request& req, int timeout_seconds) {
  std::string_view url = base_url;
  if (!url.starts_with("http://")) return fail(SysError{"only http:// endpoints: " + base_url});
  url.remove_prefix(7);
  if (auto slash = url.find('/'); slash != std::string_view::npos) url = url.substr(0, slash);
  auto colon = url.rfind(':');
  std::string host(url.substr(0, colon));
  std::string port = colon == std::string_view::npos ? "80" : std::string(url.substr(colon + 1));
  try {
    asio::io_context io;
    asio::ip::tcp::resolver resolver(io);
    beast::tcp_stream stream(io);
    stream.expires_after(std::chrono::seconds(timeout_seconds));
    stream.connect(resolver.resolve(host, port));
    bhttp::request<bhttp::string_body> r{bhttp::string_to_verb(req.method), req.target, 11};
    r.set(bhttp::field::host, host + ":" + port);
    for (const auto& [k, v] : req.headers.all()) r.set(k, v);
    r.body() = req.body;
    r.prepare_payload();
    bhttp::write(stream, r);
    beast::flat_buffer buffer;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(512ull * 1024 * 1024);
    bhttp::read(stream, buffer, parser);
    auto& msg = parser.get();
    Response out;
    out.status = static_cast<int>(msg.result_int());
    for (const auto& f : msg) out.headers.add(std::string(f.name_string()), std::string(f.value()));
    out.body = std::move(msg.body());
    beast::error_code ec;
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    return out;
  } catch (const std::exception& e) {
    return fail(SysError{"cannot reach " + base_url + ": " + e.what()});
  }
}

}  // namespace nimbus::http
