// A DynamoDB table's definition as CreateTable states it, validated the way
// DynamoDB validates it, stored as JSON and rendered as DescribeTable's
// TableDescription.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aws/api_error.h"
#include "base/result.h"

namespace nimbus::services::dynamodb {

// A key attribute's scalar type.
enum class KeyType : char { kS = 'S', kN = 'N', kB = 'B' };

struct KeyAttribute {
  std::string name;
  KeyType type = KeyType::kS;
};

struct TableSchema {
  std::string name;
  std::string id;  // stable for the table's life; item keys are stored under it
  std::string arn;
  KeyAttribute hash;
  std::optional<KeyAttribute> range;
  // AttributeDefinitions as given (DescribeTable returns them).
  std::vector<KeyAttribute> attributes;
  std::string billing_mode = "PROVISIONED";
  int64_t read_capacity = 0, write_capacity = 0;
  double created_at = 0;  // epoch seconds, as DynamoDB's CreationDateTime
  boost::json::object tags;
  // UpdateTimeToLive: the number attribute (epoch seconds) after which an
  // item expires; empty while TTL is disabled.
  std::string ttl_attribute;

  // What CreateTable sent (region and account name the ARN). Errors are
  // DynamoDB's ValidationException texts.
  static Result<TableSchema, aws::ApiError> from_create_request(const boost::json::object& req,
                                                                std::string_view region,
                                                                std::string_view account,
                                                                double now);
  // The stored form and back.
  std::string to_json() const;
  static Result<TableSchema, SysError> from_json(std::string_view text);

  // DescribeTable's TableDescription; `status` ACTIVE, CREATING or DELETING.
  boost::json::object description(std::string_view status, int64_t item_count,
                                  int64_t size_bytes) const;
};

// DynamoDB's table name rule: 3-255 characters of [a-zA-Z0-9_.-].
bool valid_table_name(std::string_view name);

}  // namespace nimbus::services::dynamodb
