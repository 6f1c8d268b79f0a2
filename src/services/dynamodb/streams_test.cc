#include "services/dynamodb/streams.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace nimbus::services::dynamodb {
namespace {

namespace json = boost::json;

TableSchema streamed(std::string_view view) {
  TableSchema t;
  t.name = "t";
  t.id = "0123456789abcdef";
  t.arn = "arn:aws:dynamodb:eu-west-1:000000000000:table/t";
  t.hash = {"id", KeyType::kS};
  t.stream_enabled = true;
  t.stream_view_type = std::string(view);
  t.stream_label = "2026-11-27T18:30:00.123";
  return t;
}

json::object item(std::string_view text) {
  return json::parse(text).as_object();
}

// The event name follows from which images exist; images follow the view
// type; Keys are always there; the region comes from the table's ARN.
TEST(StreamRecord, EventNamesAndImagesFollowTheChange) {
  auto a1 = item(R"({"id": {"S": "a"}, "v": {"N": "1"}})");
  auto a2 = item(R"({"id": {"S": "a"}, "v": {"N": "2"}})");
  TableSchema both = streamed("NEW_AND_OLD_IMAGES");
  auto insert = stream_record(both, std::nullopt, a1, 7, 1'700'000'000'500, false);
  ASSERT_TRUE(insert);
  EXPECT_EQ(insert->at("eventName"), "INSERT");
  EXPECT_EQ(insert->at("awsRegion"), "eu-west-1");
  const auto& d = insert->at("dynamodb").as_object();
  EXPECT_EQ(d.at("Keys"), json::parse(R"({"id": {"S": "a"}})"));
  EXPECT_EQ(d.at("NewImage"), json::value(a1));
  EXPECT_FALSE(d.contains("OldImage"));
  EXPECT_EQ(d.at("SequenceNumber"), "000000000000000000007");
  EXPECT_EQ(d.at("ApproximateCreationDateTime").to_number<double>(), 1'700'000'000.0);
  auto modify = stream_record(both, a1, a2, 8, 0, false);
  ASSERT_TRUE(modify);
  EXPECT_EQ(modify->at("eventName"), "MODIFY");
  EXPECT_EQ(modify->at("dynamodb").at("OldImage"), json::value(a1));
  auto remove = stream_record(streamed("KEYS_ONLY"), a2, std::nullopt, 9, 0, true);
  ASSERT_TRUE(remove);
  EXPECT_EQ(remove->at("eventName"), "REMOVE");
  EXPECT_FALSE(remove->at("dynamodb").as_object().contains("OldImage"));
  EXPECT_EQ(remove->at("userIdentity").at("Type"), "Service");
}

// DynamoDB writes no record for a write that leaves the item unchanged or
// a delete that finds nothing.
TEST(StreamRecord, NoChangeNoRecord) {
  auto a = item(R"({"id": {"S": "a"}})");
  EXPECT_FALSE(stream_record(streamed("NEW_IMAGE"), a, a, 1, 0, false));
  EXPECT_FALSE(stream_record(streamed("NEW_IMAGE"), std::nullopt, std::nullopt, 1, 0, false));
}

// Stored record keys sort by sequence number.
TEST(StreamSequence, TextOrderIsNumericOrder) {
  EXPECT_LT(sequence_text(9), sequence_text(10));
  EXPECT_LT(sequence_text(1'700'000'000'000'000), sequence_text(17'000'000'000'000'000));
  EXPECT_EQ(parse_sequence(sequence_text(42)), 42u);
  EXPECT_FALSE(parse_sequence(""));
  EXPECT_FALSE(parse_sequence("12a"));
  EXPECT_FALSE(parse_sequence("-1"));
  EXPECT_FALSE(parse_sequence("99999999999999999999999"));  // beyond 64 bits
}

TEST(StreamArn, RoundTripsAndRejectsOthers) {
  TableSchema t = streamed("KEYS_ONLY");
  auto n = parse_stream_arn(stream_arn(t));
  ASSERT_TRUE(n);
  EXPECT_EQ(n->table, "t");
  EXPECT_EQ(n->label, t.stream_label);
  EXPECT_FALSE(parse_stream_arn(t.arn));
  EXPECT_FALSE(parse_stream_arn("arn:aws:dynamodb:r:a:table//stream/x"));
  EXPECT_FALSE(parse_stream_arn("table/t/stream/x"));
  EXPECT_TRUE(shard_id(t).starts_with("shardId-20261127183000123"));
}

// Iterators are opaque to clients but must survive the trip and refuse
// garbage rather than read from an arbitrary position.
TEST(ShardIteratorCoding, RoundTripsAndRefusesGarbage) {
  ShardIterator it{"0123", "2026-11-27T18:30:00.123", 12345, 1'700'000'000'000};
  auto back = ShardIterator::decode(it.encode());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->table_id, it.table_id);
  EXPECT_EQ(back->label, it.label);
  EXPECT_EQ(back->next_sequence, 12345u);
  EXPECT_EQ(back->issued_ms, it.issued_ms);
  EXPECT_FALSE(ShardIterator::decode("not base64 !"));
  EXPECT_FALSE(ShardIterator::decode(""));
  EXPECT_FALSE(ShardIterator::decode("YXxifGN8ZA=="));  // "a|b|c|d": not numbers
}

}  // namespace
}  // namespace nimbus::services::dynamodb
