// Items in DynamoDB's wire form ({"attr": {"S": "x"}, ...}): validation with
// DynamoDB's error texts, numbers normalised as DynamoDB returns them, item
// size as DynamoDB counts it, and the order-preserving byte keys items are
// stored under.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstddef>
#include <string>
#include <string_view>

#include "aws/api_error.h"
#include "base/result.h"
#include "services/dynamodb/table.h"

namespace nimbus::services::dynamodb {

// DynamoDB's limit on one item: 400 KB as it counts sizes (item_size).
constexpr size_t kMaxItemBytes = 400 * 1024;
constexpr size_t kMaxPartitionKeyBytes = 2048;
constexpr size_t kMaxSortKeyBytes = 1024;

// An attribute value's type ("S", "M", ...); empty when malformed.
std::string_view type_of(const boost::json::value& v);

// Checks one attribute value and normalises it in place (numbers to
// DynamoDB's canonical text). `item_context`: values of an item (empty sets
// and NULL false are refused there), as opposed to expression values.
Result<void, aws::ApiError> normalize_value(boost::json::value& v);
// Every attribute of an item (PutItem's Item, a Key).
Result<void, aws::ApiError> normalize_item(boost::json::object& item);

// The item's size as DynamoDB bills and limits it: names plus values (S and
// B by bytes, N by digits, containers with their overhead).
size_t item_size(const boost::json::object& item);
size_t value_size(const boost::json::value& v);

// The item's primary key encoded so that byte order is DynamoDB's key order
// (strings and binary bytewise, numbers numerically), prefixed per table.
// `exact`: the object must hold the key attributes and nothing else (a Key
// parameter); otherwise an item that must contain them.
Result<std::string, aws::ApiError> item_store_key(const TableSchema& table,
                                                  const boost::json::object& item, bool exact);
// Every item of a table, and of one partition, start with these.
std::string table_items_prefix(const TableSchema& table);
Result<std::string, aws::ApiError> partition_prefix(const TableSchema& table,
                                                    const boost::json::value& hash_value);
// One key component: a key attribute's value in byte order, prefix-free.
Result<std::string, aws::ApiError> key_component(KeyType type, const boost::json::value& v,
                                                 std::string_view name);

// Only the key attributes of an item (LastEvaluatedKey, ReturnValues of keys).
boost::json::object key_of(const TableSchema& table, const boost::json::object& item);

}  // namespace nimbus::services::dynamodb
