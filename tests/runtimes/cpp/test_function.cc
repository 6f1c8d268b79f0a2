// Function used by test_cpp_runtime.py; the event (a bare JSON string) picks the behaviour.
#include <nimbus/lambda.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <stdexcept>
#include <string>

#include <unistd.h>

namespace app {
struct DatabaseDown : std::exception {
  const char* what() const noexcept override { return "database is down"; }
};
}  // namespace app

using nimbus::lambda::Invocation;
using nimbus::lambda::json_escape;
using nimbus::lambda::Response;

static std::string quoted(const std::string& s) {
  return "\"" + json_escape(s) + "\"";
}

static std::string json_or_null(const char* s) {
  return s ? quoted(s) : "null";
}

// For test_channel.py: what the handler sees of the invocation and of the runtime channel.
static Response probe(const Invocation& inv) {
  char fd3[256];
  ssize_t n = ::readlink("/proc/self/fd/3", fd3, sizeof fd3 - 1);
  fd3[n < 0 ? 0 : n] = '\0';
  std::string child;
  if (FILE* p = ::popen("echo \"NIMBUS_RUNTIME_FD=${NIMBUS_RUNTIME_FD-unset}\"; ls -l /proc/$$/fd",
                        "r")) {
    char buf[4096];
    for (size_t got; (got = std::fread(buf, 1, sizeof buf, p)) > 0;) child.append(buf, got);
    ::pclose(p);
  }
  return Response::json("{\"event\":" + inv.payload + ",\"request_id\":" + quoted(inv.request_id) +
                        ",\"arn\":" + quoted(inv.function_arn) +
                        ",\"remaining\":" + std::to_string(inv.remaining_time_ms()) +
                        ",\"trace\":" + json_or_null(std::getenv("_X_AMZN_TRACE_ID")) +
                        ",\"client_context\":" + quoted(inv.client_context) +
                        ",\"identity\":" + quoted(inv.cognito_identity) +
                        ",\"env_fd\":" + json_or_null(std::getenv("NIMBUS_RUNTIME_FD")) +
                        ",\"fd3\":" + quoted(fd3) + ",\"child\":" + quoted(child) + "}");
}

static Response handle(const Invocation& inv) {
  const std::string& action = inv.payload;
  if (action == "\"throw_runtime\"") throw std::runtime_error("boom");
  if (action == "\"throw_custom\"") throw app::DatabaseDown();
  if (action == "\"throw_int\"") throw 42;
  if (action == "\"failure\"") return Response::failure("bad input", "ValidationError");
  if (action == "\"logs\"") {
    std::printf("stdio line for %s\n", inv.request_id.c_str());  // fully buffered on a pipe
    std::cout << "iostream line" << '\n';
    std::cerr << "stderr line" << '\n';
    return Response::success("plain text", "text/plain");
  }
  if (action.rfind("{\"echo\"", 0) == 0) return Response::json(action);
  if (action.rfind("{\"fail\"", 0) == 0) throw std::runtime_error("bad input");
  if (action.rfind("{\"probe\"", 0) == 0) return probe(inv);
  auto first = inv.remaining_time_ms();
  while (first > 0 && inv.remaining_time_ms() >= first) {  // until the clock visibly moves
  }
  const char* my_var = std::getenv("MY_VAR");
  const char* trace = std::getenv("_X_AMZN_TRACE_ID");
  return Response::json(
      "{\"payload\":" + inv.payload + ",\"request_id\":" + quoted(inv.request_id) +
      ",\"function_arn\":" + quoted(inv.function_arn) + ",\"trace_id\":" + quoted(inv.trace_id) +
      ",\"client_context\":" + quoted(inv.client_context) + ",\"cognito_identity\":" +
      quoted(inv.cognito_identity) + ",\"deadline_ms\":" + std::to_string(inv.deadline_ms) +
      ",\"remaining\":[" + std::to_string(first) + "," + std::to_string(inv.remaining_time_ms()) +
      "],\"my_var\":" + quoted(my_var ? my_var : "") +
      ",\"env_trace\":" + quoted(trace ? trace : "") + "}");
}

int main() {
  if (std::getenv("FAIL_INIT"))
    return nimbus::lambda::init_error("ConfigError", "missing \"TABLE\" setting");
  return nimbus::lambda::run(handle);
}
