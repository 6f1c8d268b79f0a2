#include "services/dynamodb/streams.h"

#include <boost/json.hpp>
#include <charconv>
#include <cstdint>

#include "base/ids.h"
#include "services/dynamodb/item.h"

namespace nimbus::services::dynamodb {

namespace json = boost::json;

namespace {

// The region of a table's ARN ("arn:aws:dynamodb:REGION:...").
std::string region_of(const TableSchema& t) {
  std::string_view arn = t.arn;
  for (int i = 0; i < 3; ++i) {
    size_t colon = arn.find(':');
    if (colon == std::string_view::npos) return {};
    arn.remove_prefix(colon + 1);
  }
  return std::string(arn.substr(0, arn.find(':')));
}

}  // namespace

bool valid_stream_view_type(std::string_view v) {
  return v == "NEW_IMAGE" || v == "OLD_IMAGE" || v == "NEW_AND_OLD_IMAGES" || v == "KEYS_ONLY";
}

std::optional<json::object> stream_record(const TableSchema& table,
                                          const std::optional<json::object>& old,
                                          const std::optional<json::object>& next,
                                          uint64_t sequence, int64_t now_ms, bool by_ttl) {
  if (!old && !next) return std::nullopt;
  if (old && next && *old == *next) return std::nullopt;
  const json::object& any = next ? *next : *old;
  std::string_view event = !old ? "INSERT" : !next ? "REMOVE" : "MODIFY";
  json::object keys = key_of(table, any);
  size_t size = item_size(keys);
  json::object change{{"ApproximateCreationDateTime", static_cast<double>(now_ms / 1000)},
                      {"Keys", std::move(keys)}};
  const std::string& view = table.stream_view_type;
  if (next && (view == "NEW_IMAGE" || view == "NEW_AND_OLD_IMAGES")) {
    size += item_size(*next);
    change["NewImage"] = *next;
  }
  if (old && (view == "OLD_IMAGE" || view == "NEW_AND_OLD_IMAGES")) {
    size += item_size(*old);
    change["OldImage"] = *old;
  }
  change["SequenceNumber"] = sequence_text(sequence);
  change["SizeBytes"] = size;
  change["StreamViewType"] = view;
  json::object record{{"eventID", new_uuid()},         {"eventName", event},
                      {"eventVersion", "1.1"},         {"eventSource", "aws:dynamodb"},
                      {"awsRegion", region_of(table)}, {"dynamodb", std::move(change)}};
  if (by_ttl)
    record["userIdentity"] =
        json::object{{"PrincipalId", "dynamodb.amazonaws.com"}, {"Type", "Service"}};
  return record;
}

std::string stream_records_prefix(const TableSchema& table) {
  return "dynamodb/stream/" + table.id + "/" + table.stream_label + "/";
}

std::string stream_record_key(const TableSchema& table, uint64_t sequence) {
  return stream_records_prefix(table) + sequence_text(sequence);
}

std::string sequence_text(uint64_t sequence) {
  std::string digits = std::to_string(sequence);
  return std::string(digits.size() < 21 ? 21 - digits.size() : 0, '0') + digits;
}

std::optional<uint64_t> parse_sequence(std::string_view text) {
  uint64_t v = 0;
  if (text.empty() || text.size() > 40) return std::nullopt;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

std::string stream_arn(const TableSchema& table) {
  return table.arn + "/stream/" + table.stream_label;
}

std::optional<StreamName> parse_stream_arn(std::string_view arn) {
  size_t table_at = arn.find(":table/");
  size_t stream_at = arn.find("/stream/");
  if (!arn.starts_with("arn:") || table_at == std::string_view::npos ||
      stream_at == std::string_view::npos || stream_at < table_at)
    return std::nullopt;
  StreamName n{std::string(arn.substr(table_at + 7, stream_at - table_at - 7)),
               std::string(arn.substr(stream_at + 8))};
  if (n.table.empty() || n.label.empty()) return std::nullopt;
  return n;
}

std::string shard_id(const TableSchema& table) {
  // DynamoDB's form: shardId-<20 digits>-<8 hex>; stable for the stream.
  std::string digits;
  for (char c : table.stream_label)
    if (c >= '0' && c <= '9') digits.push_back(c);
  digits.resize(20, '0');
  return "shardId-" + digits + "-" + table.id.substr(0, 8);
}

std::string ShardIterator::encode() const {
  return base64_encode(table_id + "|" + label + "|" + std::to_string(next_sequence) + "|" +
                       std::to_string(issued_ms));
}

std::optional<ShardIterator> ShardIterator::decode(std::string_view text) {
  std::string raw;
  if (text.empty() || text.size() > 2048 || !base64_decode(text, raw)) return std::nullopt;
  ShardIterator it;
  std::string_view rest = raw;
  auto field = [&rest](std::string& out) {
    size_t bar = rest.find('|');
    if (bar == std::string_view::npos) return false;
    out = std::string(rest.substr(0, bar));
    rest.remove_prefix(bar + 1);
    return !out.empty();
  };
  std::string seq;
  if (!field(it.table_id) || !field(it.label) || !field(seq)) return std::nullopt;
  auto next = parse_sequence(seq);
  auto issued = parse_sequence(rest);
  if (!next || !issued || *issued > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
  it.next_sequence = *next;
  it.issued_ms = static_cast<int64_t>(*issued);
  return it;
}

}  // namespace nimbus::services::dynamodb
