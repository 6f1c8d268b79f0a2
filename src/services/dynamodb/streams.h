// DynamoDB Streams: what a table's stream records, where, and the shard
// iterators GetRecords reads with.
//
// A table with StreamSpecification gets a stream labelled by its creation
// time. Every change of an item (stage_change in the service) appends one
// record under
//
//   dynamodb/stream/<table id>/<label>/<sequence number, 21 digits>
//
// in the same synced batch as the item, so a stream holds exactly the
// acknowledged writes, in order, also after kill -9. Sequence numbers come
// from one counter per service (under the write lock), so they increase
// across tables and restarts. Each stream has one shard; records older than
// 24 hours are trimmed by the service's sweep.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "aws/api_error.h"
#include "base/result.h"
#include "services/dynamodb/table.h"

namespace nimbus::services::dynamodb {

constexpr int64_t kStreamRetentionMs = 24 * 3600 * 1000;

// StreamViewType's values.
bool valid_stream_view_type(std::string_view view_type);

// The record of one item change in DynamoDB Streams' wire form (GetRecords'
// Record), or none when nothing changed (DynamoDB writes no record for a
// write that leaves the item as it was, or a delete of a missing item).
// `by_ttl`: the TTL sweep deleted the item (userIdentity says so).
std::optional<boost::json::object> stream_record(const TableSchema& table,
                                                 const std::optional<boost::json::object>& old,
                                                 const std::optional<boost::json::object>& next,
                                                 uint64_t sequence, int64_t now_ms, bool by_ttl);

std::string stream_records_prefix(const TableSchema& table);  // the latest stream's
std::string stream_record_key(const TableSchema& table, uint64_t sequence);
std::string sequence_text(uint64_t sequence);  // 21 digits, so text order is numeric
std::optional<uint64_t> parse_sequence(std::string_view text);

// "arn:aws:dynamodb:REGION:ACCOUNT:table/NAME/stream/LABEL" and back.
std::string stream_arn(const TableSchema& table);
struct StreamName {
  std::string table, label;
};
std::optional<StreamName> parse_stream_arn(std::string_view arn);
// The one shard's id: fixed per stream.
std::string shard_id(const TableSchema& table);

// A position in a stream, opaque to clients: the next sequence number to
// read, and when the iterator was issued (iterators expire after 15 minutes).
struct ShardIterator {
  std::string table_id, label;
  uint64_t next_sequence = 0;
  int64_t issued_ms = 0;

  std::string encode() const;
  static std::optional<ShardIterator> decode(std::string_view text);
};
constexpr int64_t kShardIteratorLifetimeMs = 15 * 60 * 1000;

}  // namespace nimbus::services::dynamodb
