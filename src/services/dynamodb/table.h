// A DynamoDB table's definition as CreateTable states it, validated the way
// DynamoDB validates it, stored as JSON and rendered as DescribeTable's
// TableDescription.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <functional>
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

// A local or global secondary index: another key over the same items, kept
// in the same synced batch as every write of the table (index.h).
struct SecondaryIndex {
  std::string name;
  std::string id;  // entries are stored under it, so a re-created index starts empty
  bool global = false;
  KeyAttribute hash;
  std::optional<KeyAttribute> range;
  std::string projection_type = "ALL";            // ALL, KEYS_ONLY or INCLUDE
  std::vector<std::string> non_key_attributes;    // INCLUDE's extra attributes
  int64_t read_capacity = 0, write_capacity = 0;  // GSIs of PROVISIONED tables
  // GSIs added by UpdateTable are CREATING while existing items are copied
  // in (backfilled); everything else is ACTIVE.
  bool backfilling = false;
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
  std::vector<SecondaryIndex> indexes;
  // StreamSpecification (streams.h): the latest stream's label (its creation
  // time; empty while the table never had a stream) and view type; a
  // disabled stream stays readable until its records age out.
  std::string stream_label, stream_view_type;
  bool stream_enabled = false;

  const SecondaryIndex* find_index(std::string_view index_name) const;
  // StreamSpecification of CreateTable or UpdateTable: enables a new stream
  // (labelled `now_ms`) or disables the current one.
  Result<void, aws::ApiError> apply_stream_specification(const boost::json::value& spec,
                                                         int64_t now_ms);
  // CreateTable's index lists, checked against this table's keys.
  Result<void, aws::ApiError> add_indexes(const boost::json::object& req);

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
  // `index_stats` gives each index's ItemCount and IndexSizeBytes.
  struct Stats {
    int64_t item_count = 0, size_bytes = 0;
  };
  boost::json::object description(
      std::string_view status, Stats table_stats,
      const std::function<Stats(const SecondaryIndex&)>& index_stats = nullptr) const;

  // UpdateTable's GlobalSecondaryIndexUpdates Create action, checked
  // against this table (its AttributeDefinitions may add attributes); the
  // new index starts backfilling.
  Result<void, aws::ApiError> add_global_index(const boost::json::object& create,
                                               const boost::json::array* attribute_definitions);
};

// DynamoDB's table name rule: 3-255 characters of [a-zA-Z0-9_.-].
bool valid_table_name(std::string_view name);

}  // namespace nimbus::services::dynamodb
