// Secondary index entries in the store. An index is a second copy of the
// items that have its key attributes, projected as the index says, stored
// under a key that sorts by the index key and then the table key:
//
//   dynamodb/index/<table id>/<index id>/<index hash><index range><table hash><table range>
//
// (each component order-preserving and prefix-free, item.h). Entries are
// written in the same synced batch as the item they copy, so an index never
// disagrees with its table, also not after kill -9.
#pragma once

#include <boost/json/object.hpp>
#include <optional>
#include <string>

#include "aws/api_error.h"
#include "base/result.h"
#include "services/dynamodb/table.h"

namespace nimbus::services::dynamodb {

struct IndexEntry {
  std::string key;                // the store key
  boost::json::object projected;  // the item as the index projects it
};

// The entry `item` has in `index`, or none when the item lacks an index key
// attribute (indexes are sparse). A present key attribute of the wrong type,
// or an empty string or binary one, is DynamoDB's ValidationException: the
// write that would store the item is refused.
Result<std::optional<IndexEntry>, aws::ApiError> index_entry(const TableSchema& table,
                                                             const SecondaryIndex& index,
                                                             const boost::json::object& item);

// Every entry of one index; every entry of every index of a table.
std::string index_entries_prefix(const TableSchema& table, const SecondaryIndex& index);
std::string table_indexes_prefix(const TableSchema& table);

// The store key of an ExclusiveStartKey given for an index read: it names
// the table key and the index key of the last item read.
Result<std::string, aws::ApiError> index_start_key(const TableSchema& table,
                                                   const SecondaryIndex& index,
                                                   const boost::json::object& start);

// What an index holds of an item: its projection applied (keys always kept).
boost::json::object project_for_index(const TableSchema& table, const SecondaryIndex& index,
                                      const boost::json::object& item);

}  // namespace nimbus::services::dynamodb
