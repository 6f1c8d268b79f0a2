// HTTP request and response as the rest of Nimbus sees them: plain values with
// no Beast types, so only server.cc and client.cc include Beast.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nimbus::http {

bool iequals(std::string_view a, std::string_view b);

// Ordered header list with case-insensitive lookup (names keep their case).
class Headers {
 public:
  std::optional<std::string_view> get(std::string_view name) const;
  std::string get_or(std::string_view name, std::string_view fallback = {}) const;
  void set(std::string_view name, std::string value);  // replaces every same-named header
  void add(std::string name, std::string value);
  const std::vector<std::pair<std::string, std::string>>& all() const { return items_; }

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // raw request target: path and query, percent-encoded
  std::string path;    // raw (still percent-encoded) path part of target
  std::string query;   // raw query string without '?'
  Headers headers;
  std::string body;
  std::string remote_ip;
  bool remote_is_loopback = false;
  uint16_t local_port = 0;
};

struct Response {
  int status = 200;
  Headers headers;
  std::string body;

  static Response json(int status, std::string body);
  static Response text(int status, std::string body);
};

// The status line and header block of `r` on the wire (HTTP/1.1, ending with
// the blank line). Content-Length is the body's size (none for 1xx, 204 and
// 304, whose body is cleared); Transfer-Encoding, Content-Length and
// Connection headers in `r` are the server's to set and are skipped, as is any
// header whose name is not an RFC 9110 token or whose value holds CR, LF or
// NUL (it would split the response). `date` is added unless `r` has a Date.
std::string response_head(Response& r, bool keep_alive, std::string_view date);

// Answers a request. Must be called exactly once, from any thread.
using Reply = std::function<void(Response)>;
// Handles one request. Runs on an I/O thread and must not block: long work is
// handed elsewhere and answered later through Reply.
using Handler = std::function<void(Request, Reply)>;

// Percent-decoding for paths and query components; '+' is a space only when
// form_encoding is set (query strings and form bodies).
std::string url_decode(std::string_view s, bool form_encoding = false);
// AWS-style percent-encoding (RFC 3986 unreserved characters stay).
std::string url_encode(std::string_view s, bool encode_slash = true);
// Splits "a=1&b=2" into decoded pairs, in order.
std::vector<std::pair<std::string, std::string>> parse_query(std::string_view query);
// The decoded value of the first `name` parameter in `query`, or empty.
std::string query_value(std::string_view query, std::string_view name);

}  // namespace nimbus::http
