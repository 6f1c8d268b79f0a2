// One invocation as it travels through the pool to an instance and back.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace nimbus::faas {

struct Invocation {
  std::string request_id;
  std::string payload;           // the event JSON
  std::string invoked_arn;       // the ARN the caller used (qualified when it was)
  std::string client_context;    // base64 JSON from X-Amz-Client-Context, or empty
  std::string cognito_identity;  // JSON, or empty
  std::string trace_id;
  bool want_log_tail = false;  // X-Amz-Log-Type: Tail
};

struct InvokeResult {
  enum class Status {
    kOk,             // the handler returned a response
    kFunctionError,  // the handler or the runtime failed (X-Amz-Function-Error: Unhandled)
  };
  Status status = Status::kOk;
  std::string payload;   // the response, or Lambda's {"errorMessage","errorType",...}
  std::string log_tail;  // the invocation's log lines (last 4 KB are returned)
  std::string executed_version;
  bool cold_start = false;  // whether this invocation started its instance
  // The instance died with this invocation (timeout, crash, out of memory):
  // the pool must not hand it more work.
  bool instance_lost = false;
  // Now and then, a contention sample for the pool's concurrency limit
  // (faas/concurrency_limit.h): the summed duration of the instance's
  // invocations since its previous sample, and how long its runtime waited
  // for a CPU in that time. Zero: no sample with this result.
  std::chrono::nanoseconds sample_busy{0};
  std::chrono::nanoseconds sample_run_delay{0};
  // Set (with no other field) when the instance died before an invocation
  // queued behind its running one started: the pool runs it elsewhere.
  std::shared_ptr<Invocation> not_started;
};

using InvokeCallback = std::function<void(InvokeResult)>;

}  // namespace nimbus::faas
