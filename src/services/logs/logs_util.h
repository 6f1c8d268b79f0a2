// Pieces of the CloudWatch Logs service that need no state: store keys, event
// positions, pagination tokens, request-parameter reading and filter patterns.
#pragma once

#include <boost/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aws/api_error.h"
#include "aws/json_params.h"
#include "base/result.h"

namespace nimbus::services::logs {

// Separates group, stream and position inside keys. Group names cannot contain
// it (their pattern is [.-_/#A-Za-z0-9]+) and stream names are rejected if they
// do, so keys split unambiguously.
inline constexpr char kSep = '\x01';

// Key layout (values in parentheses):
//   logs/group/<group>                    (JSON: creationTime, arn, retentionInDays?, tags?)
//   logs/stream/<group>\x01<stream>       (JSON: creationTime, first/lastEventTimestamp, ...)
//   logs/ev/<group>\x01<stream>\x01<pos>  (records, below)
//   logs/seq                              (high-water mark of reserved event sequence numbers)
// <pos> is the 20-digit timestamp followed by an 8-digit sequence number that is
// global across streams, so one position orders events of every stream of a group
// the same way and doubles as FilterLogEvents' eventId.
//
// An event value holds one or more records "<pos><ingestionTime>:<length>:<message>"
// in position order, and its key ends with the LAST record's position. Function
// output is stored as one block per stream per flush (a stream's blocks never
// overlap: the sink keeps each stream's positions increasing), because one store
// entry per line cost more than the rest of an invocation's path; PutLogEvents
// stores one record per key. A scan for positions after P therefore starts at the
// first key after P and skips the records of that block that are not.
inline constexpr std::string_view kRootPrefix = "logs/";
inline constexpr std::string_view kGroupPrefix = "logs/group/";
inline constexpr std::string_view kSeqKey = "logs/seq";

std::string group_key(std::string_view group);
std::string streams_prefix(std::string_view group);
std::string stream_key(std::string_view group, std::string_view stream);
std::string group_events_prefix(std::string_view group);
std::string stream_events_prefix(std::string_view group, std::string_view stream);

inline constexpr size_t kPosLen = 28;
// The 20-digit prefix of every position at timestamp ts (sorts before all of them).
std::string ts_bound(int64_t ts);
std::string position(int64_t ts, uint64_t seq);
void append_position(std::string& out, int64_t ts, uint64_t seq);
int64_t position_timestamp(std::string_view pos);
// A scan bound: a full position or a ts_bound.
bool valid_bound(std::string_view s);

// One stored event record (see the key layout above).
struct EventRecord {
  std::string_view pos;
  int64_t ingestion_ms = 0;
  std::string_view message;
};
void append_record(std::string& value, std::string_view pos, int64_t ingestion_ms,
                   std::string_view message);
// Takes the record at the front of `rest`; nullopt (and `rest` emptied) when
// what is left is not a well-formed record.
std::optional<EventRecord> take_record(std::string_view& rest);

// Opaque tokens for name-ordered listings.
std::string encode_token(std::string_view raw);
std::optional<std::string> decode_token(std::string_view token);

bool valid_group_name(std::string_view name);
bool valid_stream_name(std::string_view name);
// The group name in a log group ARN ("arn:aws:logs:R:A:log-group:NAME[:*]"), or
// the identifier itself when it is a plain name.
std::string group_from_identifier(std::string_view identifier);
std::string group_arn(std::string_view region, std::string_view account, std::string_view group);

aws::ApiError invalid_parameter(std::string message);
aws::ApiError group_not_found();
aws::ApiError stream_not_found();

// Typed members of a request object (aws::JsonParams); constraint errors are
// CloudWatch Logs' InvalidParameterException.
class Params : public aws::JsonParams {
 public:
  explicit Params(const boost::json::object& o) : JsonParams(o, "InvalidParameterException") {}
  // The log group named by logGroupName or logGroupIdentifier (either required).
  std::string group();
};

// Term filter patterns: space-separated terms that must all appear, "quoted
// phrases", ?term (at least one of the ?-terms must appear) and -term (must not
// appear). Matching is case-sensitive substring search, like CloudWatch's.
// JSON ({ $.x = 1 }) and space-delimited ([a, b]) patterns are not supported.
class FilterPattern {
 public:
  static Result<FilterPattern, aws::ApiError> parse(std::string_view text);
  bool matches(std::string_view message) const;

 private:
  std::vector<std::string> all_, any_, none_;
};

}  // namespace nimbus::services::logs
