// The one AWS error type. Every service returns ApiError values for expected
// failures; protocol.cc renders them in the wire shape of the service's protocol.
#pragma once

#include <string>

namespace nimbus::aws {

struct ApiError {
  int status = 400;
  std::string code;     // e.g. "ResourceNotFoundException"
  std::string message;  // human-readable, as AWS words it where we know the wording
  bool sender_fault = true;
  // Extra top-level JSON members some errors carry (Lambda's "Reason", ...),
  // as a serialized JSON object body without braces, or empty.
  std::string extra_json;

  static ApiError make(int status, std::string code, std::string message) {
    return ApiError{status, std::move(code), std::move(message), status < 500, {}};
  }
  static ApiError validation(std::string message) {
    return make(400, "ValidationException", std::move(message));
  }
  static ApiError invalid_parameter(std::string message) {
    return make(400, "InvalidParameterValueException", std::move(message));
  }
  static ApiError resource_not_found(std::string message) {
    return make(404, "ResourceNotFoundException", std::move(message));
  }
  static ApiError resource_conflict(std::string message) {
    return make(409, "ResourceConflictException", std::move(message));
  }
  static ApiError unknown_operation(std::string message) {
    return make(400, "UnknownOperationException", std::move(message));
  }
  static ApiError invalid_signature(std::string message) {
    return make(403, "InvalidSignatureException", std::move(message));
  }
  static ApiError signature_does_not_match(std::string message) {
    return make(403, "SignatureDoesNotMatch", std::move(message));
  }
  static ApiError unrecognized_client(std::string message) {
    return make(403, "UnrecognizedClientException", std::move(message));
  }
  static ApiError missing_authentication(std::string message) {
    return make(403, "MissingAuthenticationTokenException", std::move(message));
  }
  static ApiError service_failure(std::string message) {
    return make(500, "ServiceException", std::move(message));
  }
  static ApiError internal(std::string message) {
    return make(500, "InternalFailure", std::move(message));
  }
};

}  // namespace nimbus::aws
