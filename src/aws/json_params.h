// What the json-1.0/1.1 services share for reading requests and writing
// answers: the request body as an object, typed members of it, and the 200
// answer.
#pragma once

#include <boost/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aws/api_error.h"
#include "aws/protocol.h"
#include "base/result.h"
#include "http/message.h"

namespace nimbus::aws {

// The request body as a JSON object (an empty body is {}); a body that is not
// one is the SerializationException AWS answers.
Result<boost::json::object, ApiError> parse_json_body(std::string_view body);

// A 200 answer of a json-1.0/1.1 operation.
http::Response json_answer(Protocol protocol, const boost::json::object& body,
                           std::string_view request_id);

// Reads typed members of a request object. A member of the wrong type records a
// SerializationException (what AWS answers); callers check error() once after
// reading everything they need.
class JsonParams {
 public:
  // `constraint_code`: the error code of the service's "1 validation error
  // detected" answers (ValidationException for most services).
  explicit JsonParams(const boost::json::object& o,
                      std::string constraint_code = "ValidationException")
      : o_(o), constraint_code_(std::move(constraint_code)) {}
  std::optional<std::string> str(std::string_view name);
  std::optional<int64_t> int64(std::string_view name);
  std::optional<double> number(std::string_view name);
  std::optional<bool> boolean(std::string_view name);
  std::optional<std::vector<std::string>> strings(std::string_view name);
  const boost::json::array* array(std::string_view name);
  const boost::json::object* object(std::string_view name);
  // A required string: records "Value null at 'name'" when absent.
  std::string required(std::string_view name);
  // A constraint error in the service's code: "1 validation error detected: <detail>".
  ApiError constraint(std::string_view detail) const;
  const std::optional<ApiError>& error() const { return error_; }
  void set_error(ApiError e) {
    if (!error_) error_ = std::move(e);
  }

 private:
  const boost::json::value* member(std::string_view name, bool ok_kind(const boost::json::value&));
  const boost::json::object& o_;
  std::string constraint_code_;
  std::optional<ApiError> error_;
};

}  // namespace nimbus::aws
