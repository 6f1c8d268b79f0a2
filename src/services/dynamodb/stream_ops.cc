// DynamoDB Streams' operations (ListStreams, DescribeStream,
// GetShardIterator, GetRecords) on the records stage_change writes.
#include <boost/json.hpp>

#include "services/dynamodb/dynamodb_service.h"
#include "services/dynamodb/service_util.h"
#include "services/dynamodb/streams.h"
#include "services/dynamodb/wire.h"

namespace nimbus::services::dynamodb {

namespace json = boost::json;

namespace {

aws::ApiError stream_not_found(std::string_view arn) {
  return aws::ApiError::make(
      400, "ResourceNotFoundException",
      "Requested resource not found: Stream: " + std::string(arn) + " not found");
}

// The optional Limit of ListStreams, DescribeStream and GetRecords.
Result<int64_t, aws::ApiError> limit_of(const json::object& req, int64_t max) {
  auto* v = req.if_contains("Limit");
  if (!v) return max;
  if (!v->is_int64() || v->get_int64() < 1 || v->get_int64() > max)
    return fail(aws::ApiError::validation(
        "1 validation error detected: Value '" + json::serialize(*v) +
        "' at 'limit' failed to satisfy constraint: Member must have value " +
        (v->is_int64() && v->get_int64() > max ? "less than or equal to " + std::to_string(max)
                                               : std::string("greater than or equal to 1"))));
  return v->get_int64();
}

// The sequence number of a stored record's key.
uint64_t sequence_of_key(std::string_view key) {
  return parse_sequence(key.substr(key.rfind('/') + 1)).value_or(0);
}

}  // namespace

Result<TableSchema, aws::ApiError> DynamoDbService::table_of_stream(std::string_view arn) const {
  auto name = parse_stream_arn(arn);
  if (!name) return fail(aws::ApiError::validation("Invalid StreamArn"));
  auto t = load_table(name->table);
  if (!t || t->stream_label != name->label || stream_arn(*t) != arn)
    return fail(stream_not_found(arn));
  return std::move(*t);
}

DynamoDbService::OpResult DynamoDbService::list_streams(const aws::Call&, Json& req) {
  auto limit = limit_of(req, 100);
  if (!limit) return fail(limit.take_error());
  std::string_view only = str_or_empty(req, "TableName");
  std::string_view after = str_or_empty(req, "ExclusiveStartStreamArn");
  json::array streams;
  std::optional<std::string> last;
  bool started = after.empty();
  for (auto& [key, value] : store_.scan(kTablePrefix)) {
    auto t = TableSchema::from_json(value);
    if (!t || t->stream_label.empty() || (!only.empty() && t->name != only)) continue;
    std::string arn = stream_arn(*t);
    if (!started) {
      started = arn == after;
      continue;
    }
    if (static_cast<int64_t>(streams.size()) == *limit) {
      last = streams.back().as_object().at("StreamArn").as_string().c_str();
      break;
    }
    streams.push_back(
        json::object{{"StreamArn", arn}, {"TableName", t->name}, {"StreamLabel", t->stream_label}});
  }
  Json out{{"Streams", std::move(streams)}};
  if (last) out["LastEvaluatedStreamArn"] = *last;
  return out;
}

DynamoDbService::OpResult DynamoDbService::describe_stream(const aws::Call&, Json& req) {
  std::string_view arn = str_or_empty(req, "StreamArn");
  if (arn.empty()) return fail(member_null("streamArn"));
  if (auto limit = limit_of(req, 100); !limit) return fail(limit.take_error());
  auto t = table_of_stream(arn);
  if (!t) return fail(t.take_error());
  const std::string prefix = stream_records_prefix(*t);
  json::object range;
  if (auto first = store_.scan(prefix, {}, 1); !first.empty())
    range["StartingSequenceNumber"] = sequence_text(sequence_of_key(first[0].first));
  // A disabled stream's shard is closed: it ends at its last record.
  if (!t->stream_enabled)
    if (auto last = store_.scan_reverse(prefix, {}, 1); !last.empty())
      range["EndingSequenceNumber"] = sequence_text(sequence_of_key(last[0].first));
  json::array shards;
  // ExclusiveStartShardId past the only shard leaves nothing to list.
  if (str_or_empty(req, "ExclusiveStartShardId") != shard_id(*t))
    shards.push_back(
        json::object{{"ShardId", shard_id(*t)}, {"SequenceNumberRange", std::move(range)}});
  json::array key_schema{json::object{{"AttributeName", t->hash.name}, {"KeyType", "HASH"}}};
  if (t->range)
    key_schema.push_back(json::object{{"AttributeName", t->range->name}, {"KeyType", "RANGE"}});
  return Json{{"StreamDescription",
               json::object{{"StreamArn", std::string(arn)},
                            {"StreamLabel", t->stream_label},
                            {"StreamStatus", t->stream_enabled ? "ENABLED" : "DISABLED"},
                            {"StreamViewType", t->stream_view_type},
                            {"TableName", t->name},
                            {"KeySchema", std::move(key_schema)},
                            {"Shards", std::move(shards)}}}};
}

DynamoDbService::OpResult DynamoDbService::get_shard_iterator(const aws::Call&, Json& req) {
  std::string_view arn = str_or_empty(req, "StreamArn");
  std::string_view shard = str_or_empty(req, "ShardId");
  std::string_view type = str_or_empty(req, "ShardIteratorType");
  if (arn.empty()) return fail(member_null("streamArn"));
  if (shard.empty()) return fail(member_null("shardId"));
  if (type.empty()) return fail(member_null("shardIteratorType"));
  if (type != "TRIM_HORIZON" && type != "LATEST" && type != "AT_SEQUENCE_NUMBER" &&
      type != "AFTER_SEQUENCE_NUMBER")
    return fail(aws::ApiError::validation(
        "1 validation error detected: Value '" + std::string(type) +
        "' at 'shardIteratorType' failed to satisfy constraint: Member must satisfy enum value "
        "set: [AFTER_SEQUENCE_NUMBER, LATEST, AT_SEQUENCE_NUMBER, TRIM_HORIZON]"));
  auto t = table_of_stream(arn);
  if (!t) return fail(t.take_error());
  if (shard != shard_id(*t))
    return fail(aws::ApiError::make(400, "ResourceNotFoundException",
                                    "Requested resource not found: Shard does not exist"));
  const std::string prefix = stream_records_prefix(*t);
  ShardIterator it{t->id, t->stream_label, 0, clock_.wall_ms()};
  bool at = type == "AT_SEQUENCE_NUMBER", after = type == "AFTER_SEQUENCE_NUMBER";
  if (at || after) {
    auto seq = parse_sequence(str_or_empty(req, "SequenceNumber"));
    if (!seq)
      return fail(aws::ApiError::validation(
          "Invalid SequenceNumber: a sequence number is required for " + std::string(type)));
    it.next_sequence = after ? *seq + 1 : *seq;
    // A position before the oldest record kept was trimmed away. AFTER the record just
    // before the oldest one is still readable: it starts exactly at the oldest.
    auto first = store_.scan(prefix, {}, 1);
    if (!first.empty() && it.next_sequence < sequence_of_key(first[0].first))
      return fail(aws::ApiError::make(
          400, "TrimmedDataAccessException",
          "The operation attempted to read past the oldest stream record in a shard."));
  } else if (type == "LATEST") {
    // Under the write lock, every record staged later gets a higher number.
    std::lock_guard lk(write_mu_);
    it.next_sequence = last_sequence() + 1;
  }
  return Json{{"ShardIterator", it.encode()}};
}

DynamoDbService::OpResult DynamoDbService::get_records(const aws::Call&, Json& req) {
  std::string_view text = str_or_empty(req, "ShardIterator");
  if (text.empty()) return fail(member_null("shardIterator"));
  auto limit = limit_of(req, 1000);
  if (!limit) return fail(limit.take_error());
  auto it = ShardIterator::decode(text);
  if (!it) return fail(aws::ApiError::validation("Invalid ShardIterator"));
  int64_t now = clock_.wall_ms();
  if (now - it->issued_ms > kShardIteratorLifetimeMs)
    return fail(aws::ApiError::make(400, "ExpiredIteratorException",
                                    "Iterator expired. The iterator was created at time " +
                                        std::to_string(it->issued_ms) + " while right now it's " +
                                        std::to_string(now) +
                                        " which is further in the future than the tolerated "
                                        "delay of 900000 milliseconds."));
  // The table still holding this stream (a table deleted, or a stream
  // replaced by a newer one, ends it).
  std::optional<TableSchema> table;
  for (auto& [key, value] : store_.scan(kTablePrefix)) {
    auto t = TableSchema::from_json(value);
    if (t && t->id == it->table_id && t->stream_label == it->label) table = std::move(*t);
  }
  if (!table)
    return fail(aws::ApiError::make(400, "ResourceNotFoundException",
                                    "Requested resource not found: Stream not found"));
  const std::string prefix = stream_records_prefix(*table);
  std::string cursor;
  if (it->next_sequence > 0) {
    // Records at or after next_sequence: start after the key just below it.
    cursor = prefix + sequence_text(it->next_sequence - 1);
  }
  json::array records;
  size_t bytes = 0;
  auto rows = store_.scan(prefix, cursor, static_cast<size_t>(*limit));
  size_t used = 0;
  for (auto& [key, value] : rows) {
    ++used;
    boost::system::error_code ec;
    json::value record = json::parse(value, ec);
    if (ec || !record.is_object()) throw std::runtime_error("dynamodb: corrupt stream record");
    it->next_sequence = sequence_of_key(key) + 1;
    bytes += value.size();
    records.push_back(std::move(record));
    if (bytes >= kPageBytes) break;
  }
  Json out{{"Records", std::move(records)}};
  // A disabled stream's shard is closed once read to its end.
  bool closed =
      !table->stream_enabled && used == rows.size() && rows.size() < static_cast<size_t>(*limit);
  if (!closed) {
    it->issued_ms = now;
    out["NextShardIterator"] = it->encode();
  }
  return out;
}

void DynamoDbService::trim_streams() {
  int64_t cutoff = clock_.wall_ms() - kStreamRetentionMs;
  for (auto& [key, value] : store_.scan(kTablePrefix)) {
    auto t = TableSchema::from_json(value);
    if (!t || t->stream_label.empty()) continue;
    const std::string prefix = stream_records_prefix(*t);
    for (;;) {
      auto rows = store_.scan(prefix, {}, 256);
      store::WriteBatch b;
      for (auto& [record_key, record] : rows) {
        boost::system::error_code ec;
        json::value v = json::parse(record, ec);
        const json::value* when = nullptr;
        if (!ec && v.is_object())
          if (auto* d = v.get_object().if_contains("dynamodb"); d && d->is_object())
            when = d->get_object().if_contains("ApproximateCreationDateTime");
        if (when && when->is_number() &&
            when->to_number<double>() * 1000 >= static_cast<double>(cutoff))
          break;
        b.del(record_key);
      }
      if (b.empty()) break;
      if (!store_.write(b)) break;
      if (rows.size() < 256) break;
    }
  }
}

}  // namespace nimbus::services::dynamodb
