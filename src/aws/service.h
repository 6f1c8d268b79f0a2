// What every AWS-compatible service implements, and the per-request context the
// edge router hands it.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "aws/api_error.h"
#include "aws/protocol.h"
#include "http/message.h"

namespace nimbus::aws {

// One authenticated request on its way to a service. Owns everything it needs,
// so a service may keep it and answer later from any thread.
struct Call {
  http::Request http;
  std::string request_id;  // x-amzn-RequestId of the answer
  std::string region = "us-east-1";
  std::string access_key;  // as presented (not verified unless auth is on)
  std::string account_id = "000000000000";
  std::string principal_arn;  // caller identity, for GetCallerIdentity
  http::Reply reply;
};

class Service {
 public:
  virtual ~Service() = default;
  // The SigV4 signing name ("lambda", "sts", "iam", "logs", ...).
  virtual std::string_view signing_name() const = 0;
  virtual Protocol protocol() const = 0;
  // json-1.0/1.1 error type prefix, e.g. "com.amazonaws.dynamodb.v20120810".
  virtual std::string_view json_namespace() const { return {}; }
  // Handles one call and answers through call.reply exactly once, now or later.
  // Runs on an I/O thread: must not block (hand slow work to a worker).
  virtual void handle(Call call) = 0;
  // Wipes every resource of the service (POST /_nimbus/reset).
  virtual void reset() = 0;
  // One word for /_nimbus/health ("running", "degraded: ...").
  virtual std::string health() const { return "running"; }

  // Answers with an error in this service's protocol.
  void reply_error(const Call& call, const ApiError& error) const {
    call.reply(render_error(protocol(), error, call.request_id, json_namespace()));
  }
};

}  // namespace nimbus::aws
