// Nimbus C++ function SDK: a header-only Lambda Runtime API client (and, under
// Nimbus, a client of its faster runtime channel).
//
// A custom-runtime ("provided.al2023") function is an executable named
// `bootstrap` that calls nimbus::lambda::run() with its handler:
//
//   #include <nimbus/lambda.h>
//   int main() {
//     return nimbus::lambda::run([](const nimbus::lambda::Invocation& inv) {
//       return nimbus::lambda::Response::json(inv.payload);
//     });
//   }
//
// Only the C++20 standard library and POSIX sockets are used, so the function
// can be linked statically and run in a sandbox that has nothing but /usr,
// /lib and /lib64.
#pragma once

#include <arpa/inet.h>
#include <cxxabi.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <initializer_list>
#include <iostream>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <typeinfo>
#include <utility>

namespace nimbus::lambda {

// One event to handle, with the metadata the Runtime API sent along.
struct Invocation {
  std::string payload;           // the event, usually JSON
  std::string request_id;        // Lambda-Runtime-Aws-Request-Id
  std::int64_t deadline_ms = 0;  // epoch milliseconds
  std::string function_arn;      // Lambda-Runtime-Invoked-Function-Arn
  std::string trace_id;          // Lambda-Runtime-Trace-Id
  std::string client_context;    // JSON, empty when absent
  std::string cognito_identity;  // JSON, empty when absent

  std::int64_t remaining_time_ms() const {
    using namespace std::chrono;
    auto now = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
    return std::max<std::int64_t>(deadline_ms - now, 0);
  }
};

// What a handler returns: a success body or a function error.
class Response {
 public:
  static Response json(std::string body) { return success(std::move(body), "application/json"); }

  static Response success(std::string body, std::string content_type) {
    Response r;
    r.body_ = std::move(body);
    r.content_type_ = std::move(content_type);
    return r;
  }

  static Response failure(std::string error_message, std::string error_type) {
    Response r;
    r.failed_ = true;
    r.error_message_ = std::move(error_message);
    r.error_type_ = std::move(error_type);
    return r;
  }

  bool is_success() const { return !failed_; }
  const std::string& body() const { return body_; }
  const std::string& content_type() const { return content_type_; }
  const std::string& error_message() const { return error_message_; }
  const std::string& error_type() const { return error_type_; }

 private:
  Response() = default;
  bool failed_ = false;
  std::string body_, content_type_, error_message_, error_type_;
};

// Escapes text for use inside a JSON string literal (without the quotes).
inline std::string json_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 8);
  for (unsigned char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char hex[8];
          std::snprintf(hex, sizeof hex, "\\u%04x", c);
          out += hex;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

namespace detail {

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;

  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

inline std::string to_lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

inline std::string trim(std::string_view s) {
  auto begin = s.find_first_not_of(" \t");
  if (begin == std::string_view::npos) return {};
  return std::string(s.substr(begin, s.find_last_not_of(" \t") - begin + 1));
}

// Raised when the connection dies before any byte of the answer arrived:
// the server cannot have processed the request, so it may be resent.
struct ConnectionLost : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// HTTP/1.1 over one keep-alive TCP connection, reconnecting when needed.
class HttpClient {
 public:
  explicit HttpClient(std::string_view address) {
    auto colon = address.rfind(':');
    if (colon == std::string_view::npos)
      throw std::invalid_argument("AWS_LAMBDA_RUNTIME_API must be host:port");
    host_header_ = std::string(address);
    host_ = std::string(address.substr(0, colon));
    if (host_.size() > 1 && host_.front() == '[') host_ = host_.substr(1, host_.size() - 2);
    port_ = std::string(address.substr(colon + 1));
  }
  ~HttpClient() { disconnect(); }
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  HttpResponse request(std::string_view method, std::string_view path, std::string_view body = {},
                       const std::map<std::string, std::string>& headers = {}) {
    std::string message;
    message.reserve(256 + body.size());
    message.append(method)
        .append(" ")
        .append(path)
        .append(" HTTP/1.1\r\nHost: ")
        .append(host_header_);
    message.append("\r\nContent-Length: ").append(std::to_string(body.size())).append("\r\n");
    for (const auto& [name, value] : headers)
      message.append(name).append(": ").append(value).append("\r\n");
    message.append("\r\n").append(body);

    // A kept-alive connection may have been closed by the server meanwhile.
    for (int attempt = 0;; ++attempt) {
      try {
        if (fd_ < 0) connect();
        send_all(message);
        return read_response();
      } catch (const ConnectionLost&) {
        disconnect();
        if (attempt > 0) throw;
      } catch (...) {
        disconnect();
        throw;
      }
    }
  }

 private:
  // The Runtime API is always a numeric loopback address (or "localhost"), so
  // no resolver is needed; avoiding getaddrinfo keeps static builds free of
  // glibc's run-time NSS dependency.
  void connect() {
    sockaddr_storage address{};
    socklen_t length = 0;
    int port = std::stoi(port_);
    std::string host = host_ == "localhost" ? "127.0.0.1" : host_;
    if (auto* v4 = reinterpret_cast<sockaddr_in*>(&address);
        ::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
      v4->sin_family = AF_INET;
      v4->sin_port = htons(static_cast<uint16_t>(port));
      length = sizeof *v4;
    } else if (auto* v6 = reinterpret_cast<sockaddr_in6*>(&address);
               ::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
      v6->sin6_family = AF_INET6;
      v6->sin6_port = htons(static_cast<uint16_t>(port));
      length = sizeof *v6;
    } else {
      throw std::invalid_argument("Runtime API host must be a numeric address: " + host_);
    }
    int fd = ::socket(address.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "socket");
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), length) != 0) {
      int error = errno;
      ::close(fd);
      throw std::system_error(error, std::generic_category(),
                              "cannot connect to Runtime API " + host_header_);
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fd_ = fd;
    buffer_.clear();
  }

  void disconnect() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    buffer_.clear();
  }

  void send_all(std::string_view data) {
    while (!data.empty()) {
      // MSG_NOSIGNAL: a closed peer must be an error here, not a SIGPIPE.
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EPIPE || errno == ECONNRESET)
          throw ConnectionLost("Runtime API connection lost");
        throw std::system_error(errno, std::generic_category(), "send to Runtime API");
      }
      data.remove_prefix(static_cast<size_t>(n));
    }
  }

  // Reads more bytes into buffer_; false at end of stream.
  bool fill() {
    char chunk[65536];
    for (;;) {
      ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n > 0) {
        buffer_.append(chunk, static_cast<size_t>(n));
        received_ = true;
        return true;
      }
      if (n == 0) return false;
      if (errno == EINTR) continue;
      if (errno == ECONNRESET && !received_) return false;
      throw std::system_error(errno, std::generic_category(), "recv from Runtime API");
    }
  }

  void need_more() {
    if (!fill()) {
      if (!received_) throw ConnectionLost("Runtime API closed the connection");
      throw std::runtime_error("Runtime API closed the connection mid-response");
    }
  }

  std::string take_line() {
    size_t end;
    while ((end = buffer_.find("\r\n")) == std::string::npos) need_more();
    std::string line = buffer_.substr(0, end);
    buffer_.erase(0, end + 2);
    return line;
  }

  std::string take(size_t n) {
    while (buffer_.size() < n) need_more();
    std::string data = buffer_.substr(0, n);
    buffer_.erase(0, n);
    return data;
  }

  HttpResponse read_response() {
    received_ = !buffer_.empty();
    HttpResponse response;
    std::string status_line = take_line();
    auto space = status_line.find(' ');
    if (status_line.rfind("HTTP/", 0) != 0 || space == std::string::npos) {
      throw std::runtime_error("malformed status line from Runtime API: " + status_line);
    }
    response.status = std::atoi(status_line.c_str() + space + 1);
    for (std::string line; !(line = take_line()).empty();) {
      auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      response.headers[to_lower(trim(std::string_view(line).substr(0, colon)))] =
          trim(std::string_view(line).substr(colon + 1));
    }

    if (to_lower(response.header("transfer-encoding")).find("chunked") != std::string::npos) {
      for (;;) {
        size_t size = std::stoul(take_line(), nullptr, 16);  // stops at any ";extension"
        if (size == 0) break;
        response.body += take(size);
        take_line();
      }
      while (!take_line().empty()) {  // trailers, then the final blank line
      }
    } else if (auto length = response.header("content-length"); !length.empty()) {
      response.body = take(std::stoul(length));
    } else {  // body delimited by connection close
      while (fill()) {
      }
      response.body = std::move(buffer_);
      disconnect();
      return response;
    }
    if (to_lower(response.header("connection")) == "close") disconnect();
    return response;
  }

  std::string host_header_, host_, port_;
  int fd_ = -1;
  std::string buffer_;
  bool received_ = false;
};

inline std::string demangle(const char* name) {
  int status = 0;
  std::unique_ptr<char, decltype(&std::free)> readable(
      abi::__cxa_demangle(name, nullptr, nullptr, &status), std::free);
  return status == 0 && readable ? std::string(readable.get()) : std::string(name);
}

inline std::string error_json(std::string_view type, std::string_view message) {
  return "{\"errorMessage\":\"" + json_escape(message) + "\",\"errorType\":\"" + json_escape(type) +
         "\",\"stackTrace\":[]}";
}

// The server attributes output to the invocation in flight, so whatever the
// function printed must be in the pipe before it talks to the Runtime API.
inline void flush_output() {
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
}

inline std::string runtime_api_address() {
  const char* address = std::getenv("AWS_LAMBDA_RUNTIME_API");
  if (!address || !*address) throw std::runtime_error("AWS_LAMBDA_RUNTIME_API is not set");
  return address;
}

inline constexpr std::string_view kApi = "/2018-06-01/runtime";

// The two ways to talk to the server. Functions run by Nimbus get its runtime
// channel (NIMBUS_RUNTIME_FD "3,4": a pipe of events in, one of results out;
// frames described in src/faas/runtime_channel.h): one read per event and one
// write per result. Elsewhere, the HTTP Runtime API.
class Transport {
 public:
  virtual ~Transport() = default;
  virtual Invocation next() = 0;
  virtual void respond(const Invocation& invocation, const Response& response) = 0;
  virtual void fail(const std::string& request_id, std::string_view type,
                    std::string_view message) = 0;
  virtual void init_error(std::string_view type, std::string_view message) = 0;
};

inline void log_error(std::string_view type, std::string_view message) {
  std::cerr << "[ERROR] " << type << ": " << message << '\n';
  flush_output();
}

class HttpTransport final : public Transport {
 public:
  explicit HttpTransport(const std::string& address) : client_(address) {}

  Invocation next() override {
    auto next = client_.request("GET", std::string(kApi) + "/invocation/next");
    if (next.status != 200) {
      throw std::runtime_error("Runtime API invocation/next answered " +
                               std::to_string(next.status));
    }
    Invocation invocation;
    invocation.payload = std::move(next.body);
    invocation.request_id = next.header("lambda-runtime-aws-request-id");
    invocation.function_arn = next.header("lambda-runtime-invoked-function-arn");
    invocation.trace_id = next.header("lambda-runtime-trace-id");
    invocation.client_context = next.header("lambda-runtime-client-context");
    invocation.cognito_identity = next.header("lambda-runtime-cognito-identity");
    auto deadline = next.header("lambda-runtime-deadline-ms");
    invocation.deadline_ms = deadline.empty() ? 0 : std::stoll(deadline);
    return invocation;
  }

  void respond(const Invocation& invocation, const Response& response) override {
    auto posted = client_.request(
        "POST", std::string(kApi) + "/invocation/" + invocation.request_id + "/response",
        response.body(), {{"Content-Type", response.content_type()}});
    if (posted.status / 100 != 2) {
      // Typically the invocation already timed out; nothing to retry.
      std::cerr << "nimbus::lambda: response for " << invocation.request_id << " rejected with "
                << posted.status << '\n';
    }
  }

  void fail(const std::string& request_id, std::string_view type,
            std::string_view message) override {
    post_error(std::string(kApi) + "/invocation/" + request_id + "/error", type, message);
  }

  void init_error(std::string_view type, std::string_view message) override {
    post_error(std::string(kApi) + "/init/error", type, message);
  }

 private:
  void post_error(const std::string& path, std::string_view type, std::string_view message) {
    client_.request("POST", path, error_json(type, message),
                    {{"Content-Type", "application/json"},
                     {"Lambda-Runtime-Function-Error-Type", std::string(type)}});
  }

  HttpClient client_;
};

class ChannelTransport final : public Transport {
 public:
  ChannelTransport(int in, int out) : in_(in), out_(out) {}
  ~ChannelTransport() override {
    ::close(in_);
    ::close(out_);
  }

  Invocation next() override {
    if (!asked_) {  // afterwards, each result asks for the next event
      asked_ = true;
      send('N', {});
    }
    std::string head = take(5);
    if (head[4] != 'V') throw std::runtime_error("runtime channel: unexpected frame");
    std::uint32_t length = 0;
    for (int i = 3; i >= 0; --i) length = (length << 8) | static_cast<unsigned char>(head[i]);
    if (length == 0) throw std::runtime_error("runtime channel: empty frame");
    std::string body = take(length - 1);
    std::string_view rest = body;
    auto field = [&rest]() {
      auto nul = rest.find('\0');
      if (nul == std::string_view::npos)
        throw std::runtime_error("runtime channel: malformed event");
      std::string value(rest.substr(0, nul));
      rest.remove_prefix(nul + 1);
      return value;
    };
    Invocation invocation;
    invocation.request_id = field();
    auto deadline = field();
    invocation.deadline_ms = deadline.empty() ? 0 : std::stoll(deadline);
    invocation.function_arn = field();
    invocation.trace_id = field();
    invocation.client_context = field();
    invocation.cognito_identity = field();
    invocation.payload.assign(rest);
    return invocation;
  }

  void respond(const Invocation& invocation, const Response& response) override {
    send('R', {invocation.request_id, response.body()});
  }

  void fail(const std::string& request_id, std::string_view type,
            std::string_view message) override {
    send('E', {request_id, type, error_json(type, message)});
  }

  void init_error(std::string_view type, std::string_view message) override {
    send('I', {type, error_json(type, message)});
  }

 private:
  void send(char kind, std::initializer_list<std::string_view> fields) {
    std::string frame(5, '\0');
    for (auto f = fields.begin(); f != fields.end(); ++f) {
      if (f != fields.begin()) frame.push_back('\0');
      frame.append(*f);
    }
    auto length = static_cast<std::uint32_t>(frame.size() - 4);
    for (int i = 0; i < 4; ++i) frame[i] = static_cast<char>((length >> (8 * i)) & 0xff);
    frame[4] = kind;
    for (std::string_view rest = frame; !rest.empty();) {
      ssize_t n = ::write(out_, rest.data(), rest.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw std::system_error(errno, std::generic_category(), "runtime channel send");
      rest.remove_prefix(static_cast<size_t>(n));
    }
  }

  std::string take(size_t n) {
    while (buffer_.size() < n) {
      char chunk[65536];
      ssize_t got = ::read(in_, chunk, sizeof chunk);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) throw std::runtime_error("runtime channel closed");
      buffer_.append(chunk, static_cast<size_t>(got));
    }
    std::string out = buffer_.substr(0, n);
    buffer_.erase(0, n);
    return out;
  }

  int in_, out_;
  std::string buffer_;
  bool asked_ = false;
};

inline std::unique_ptr<Transport> open_transport() {
  if (const char* fds = std::getenv("NIMBUS_RUNTIME_FD"); fds && *fds) {
    // "IN,OUT"
    int in = std::atoi(fds);
    const char* comma = std::strchr(fds, ',');
    int out = comma ? std::atoi(comma + 1) : -1;
    ::unsetenv("NIMBUS_RUNTIME_FD");
    for (int fd : {in, out})
      ::fcntl(fd, F_SETFD, FD_CLOEXEC);  // not for the function's child processes
    return std::make_unique<ChannelTransport>(in, out);
  }
  return std::make_unique<HttpTransport>(runtime_api_address());
}

// Calls the handler, turning exceptions into errors typed after the exception class.
template <typename Handler>
Response call_handler(Handler& handler, const Invocation& invocation) {
  try {
    return handler(invocation);
  } catch (const std::exception& e) {
    return Response::failure(e.what(), demangle(typeid(e).name()));
  } catch (...) {
    const std::type_info* type = abi::__cxa_current_exception_type();
    return Response::failure("unknown exception", type ? demangle(type->name()) : "unknown");
  }
}

}  // namespace detail

// Reports a failed initialisation (bad configuration, missing resource...)
// to the Runtime API. Returns the exit code main() should return.
inline int init_error(std::string_view error_type, std::string_view message) {
  try {
    detail::log_error(error_type, message);
    detail::open_transport()->init_error(error_type, message);
  } catch (const std::exception& e) {
    std::cerr << "nimbus::lambda: cannot report init error: " << e.what() << '\n';
  }
  return 1;
}

// Serves invocations until the Runtime API fails; returns the exit code.
// The handler is called as handler(const Invocation&) -> Response; an
// exception escaping it fails that invocation only.
template <typename Handler>
int run(Handler handler) {
  try {
    auto transport = detail::open_transport();
    for (;;) {
      detail::flush_output();
      Invocation invocation = transport->next();
      if (invocation.trace_id.empty()) {
        ::unsetenv("_X_AMZN_TRACE_ID");
      } else {
        ::setenv("_X_AMZN_TRACE_ID", invocation.trace_id.c_str(), 1);
      }
      Response response = detail::call_handler(handler, invocation);
      if (response.is_success()) {
        detail::flush_output();
        transport->respond(invocation, response);
      } else {
        detail::log_error(response.error_type(), response.error_message());
        transport->fail(invocation.request_id, response.error_type(), response.error_message());
      }
    }
  } catch (const std::exception& e) {
    std::cerr << "nimbus::lambda: " << e.what() << '\n';
    detail::flush_output();
    return 1;
  }
}

}  // namespace nimbus::lambda
