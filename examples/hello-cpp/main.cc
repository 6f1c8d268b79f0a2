// Echo function for the provided.al2023 runtime: returns the event it was given.
#include <nimbus/lambda.h>

#include <iostream>
#include <string>

int main() {
  using namespace nimbus::lambda;
  return run([](const Invocation& inv) {
    std::cout << "echoing " << inv.payload.size() << " bytes for " << inv.request_id << std::endl;
    // The payload is already JSON, so it is embedded as-is.
    return Response::json("{\"echo\":" + (inv.payload.empty() ? std::string("null") : inv.payload) +
                          ",\"request_id\":\"" + json_escape(inv.request_id) +
                          "\",\"remaining_time_ms\":" + std::to_string(inv.remaining_time_ms()) + "}");
  });
}
