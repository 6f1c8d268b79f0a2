// Request validation as REST API request validators do it: the body against
// the method's model (JSON Schema draft-04) and the required request
// parameters.
//
// Violations are worded like the validator API Gateway uses (the texts of
// $context.error.validationErrorString, e.g. `object has missing required
// properties (["name"])`), so clients that show them see familiar messages.
// "format" is ignored, as by API Gateway. Only local $refs ("#",
// "#/definitions/...", any JSON pointer into the same document) resolve.
//
// Limits that keep hostile schemas and bodies cheap: a pattern longer than
// 1000 characters or with a repeat count above 1000 is refused when the
// schema is parsed; strings longer than 10000 bytes are not matched against
// patterns (a violation says so); a validation that needs more than 200000
// schema evaluations or nests 128 deep stops with a violation.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "base/result.h"
#include "http/message.h"
#include "services/apigateway/routes.h"

namespace nimbus::services::apigateway {

class JsonSchema {
 public:
  // Refuses schemas that are not JSON objects, invalid or unsupported
  // patterns and $refs that do not resolve, with a message for the deployer.
  static Result<JsonSchema, std::string> parse(std::string_view schema_json);
  static Result<JsonSchema, std::string> from_value(boost::json::value schema);

  // Empty when `instance` is valid.
  std::vector<std::string> validate(const boost::json::value& instance) const;
  // Validates a request body: not JSON is one violation; an empty body is
  // validated as null.
  std::vector<std::string> validate_body(std::string_view body) const;

  struct State;

 private:
  explicit JsonSchema(std::shared_ptr<const State> s) : state_(std::move(s)) {}
  std::shared_ptr<const State> state_;
};

// "[first violation, second violation]", the form of validationErrorString.
std::string validation_error_string(std::span<const std::string> violations);

// 400 {"message": "Invalid request body"} with x-amzn-ErrorType: BadRequestException.
http::Response invalid_body_response();

struct RequiredParameters {
  std::vector<std::string> querystrings;
  std::vector<std::string> headers;  // matched case-insensitively
  std::vector<std::string> paths;
};

// Names of the required parameters the request lacks: querystrings, then
// headers, then path parameters, each in the order given.
std::vector<std::string> missing_parameters(const http::Request& req, const PathParams& path_params,
                                            const RequiredParameters& required);

// 400 {"message": "Missing required request parameters: [a, b]"} with
// x-amzn-ErrorType: BadRequestException.
http::Response missing_parameters_response(std::span<const std::string> missing);

}  // namespace nimbus::services::apigateway
