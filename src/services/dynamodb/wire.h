// Small helpers every part of the DynamoDB service uses on request JSON.
#pragma once

#include <boost/json/object.hpp>
#include <string>
#include <string_view>

#include "aws/api_error.h"

namespace nimbus::services::dynamodb {

// Where table definitions are stored: kTablePrefix + name.
inline constexpr std::string_view kTablePrefix = "dynamodb/table/";

// A string member, or empty when absent or not a string.
inline std::string_view str_or_empty(const boost::json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  return v && v->is_string() ? std::string_view(v->get_string()) : std::string_view();
}

// DynamoDB's "One or more parameter values were invalid: ..." ValidationException.
inline aws::ApiError invalid_parameter(std::string message) {
  return aws::ApiError::validation("One or more parameter values were invalid: " +
                                   std::move(message));
}

}  // namespace nimbus::services::dynamodb
