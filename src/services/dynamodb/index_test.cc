#include "services/dynamodb/index.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace nimbus::services::dynamodb {
namespace {

namespace json = boost::json;

json::object parse_object(std::string_view text) {
  return json::parse(text).as_object();
}

// pk (S, HASH) + sk (N, RANGE); an LSI by `score` (N) that projects KEYS_ONLY,
// a GSI by `status` (S) + `day` (S) that INCLUDEs `note`.
TableSchema orders_table() {
  auto t = TableSchema::from_create_request(parse_object(R"({
    "TableName": "orders", "BillingMode": "PAY_PER_REQUEST",
    "AttributeDefinitions": [
      {"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "N"},
      {"AttributeName": "score", "AttributeType": "N"},
      {"AttributeName": "status", "AttributeType": "S"}, {"AttributeName": "day", "AttributeType": "S"}],
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    "LocalSecondaryIndexes": [{"IndexName": "by-score",
      "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "score", "KeyType": "RANGE"}],
      "Projection": {"ProjectionType": "KEYS_ONLY"}}],
    "GlobalSecondaryIndexes": [{"IndexName": "by-status",
      "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"}, {"AttributeName": "day", "KeyType": "RANGE"}],
      "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["note"]}}]})"),
                                            "us-east-1", "000000000000", 0);
  EXPECT_TRUE(t.ok()) << (t.ok() ? "" : t.error().message);
  return t.ok() ? std::move(*t) : TableSchema{};
}

std::optional<IndexEntry> entry(const TableSchema& t, std::string_view index,
                                std::string_view item) {
  auto e = index_entry(t, *t.find_index(index), parse_object(item));
  EXPECT_TRUE(e.ok()) << (e.ok() ? "" : e.error().message);
  return e.ok() ? *e : std::nullopt;
}

// DescribeTable and every later request see the indexes CreateTable made:
// they survive the stored form.
TEST(SecondaryIndexes, SurviveTheStoredForm) {
  TableSchema t = orders_table();
  ASSERT_EQ(t.indexes.size(), 2u);
  auto back = TableSchema::from_json(t.to_json());
  ASSERT_TRUE(back.ok());
  ASSERT_EQ(back->indexes.size(), 2u);
  const SecondaryIndex* gsi = back->find_index("by-status");
  ASSERT_NE(gsi, nullptr);
  EXPECT_TRUE(gsi->global);
  EXPECT_EQ(gsi->id, t.find_index("by-status")->id);
  EXPECT_EQ(gsi->hash.name, "status");
  ASSERT_TRUE(gsi->range);
  EXPECT_EQ(gsi->range->name, "day");
  EXPECT_EQ(gsi->projection_type, "INCLUDE");
  EXPECT_EQ(gsi->non_key_attributes, std::vector<std::string>{"note"});
  EXPECT_FALSE(back->find_index("by-score")->global);
  json::object d = back->description("ACTIVE", {});
  EXPECT_EQ(d.at("LocalSecondaryIndexes").as_array().size(), 1u);
  EXPECT_EQ(d.at("GlobalSecondaryIndexes").as_array()[0].as_object().at("IndexStatus"), "ACTIVE");
}

// Indexes are sparse: an item without every index key attribute has no
// entry; with them, the entry holds what the projection says plus all keys.
TEST(SecondaryIndexes, EntriesAreSparseAndProjected) {
  TableSchema t = orders_table();
  EXPECT_FALSE(
      entry(t, "by-status", R"({"pk": {"S": "a"}, "sk": {"N": "1"}, "status": {"S": "x"}})"));
  auto e = entry(t, "by-status", R"({"pk": {"S": "a"}, "sk": {"N": "1"}, "status": {"S": "x"},
                                      "day": {"S": "d"}, "note": {"S": "n"}, "other": {"N": "5"}})");
  ASSERT_TRUE(e);
  EXPECT_EQ(json::value(e->projected), json::parse(R"({"pk": {"S": "a"}, "sk": {"N": "1"},
      "status": {"S": "x"}, "day": {"S": "d"}, "note": {"S": "n"}})"));
  EXPECT_TRUE(e->key.starts_with(index_entries_prefix(t, *t.find_index("by-status"))));
  auto keys_only = entry(t, "by-score", R"({"pk": {"S": "a"}, "sk": {"N": "1"}, "score": {"N": "9"},
                                             "note": {"S": "n"}})");
  ASSERT_TRUE(keys_only);
  EXPECT_EQ(keys_only->projected.size(), 3u);
  EXPECT_FALSE(keys_only->projected.contains("note"));
}

// Entries sort by the index key first (numbers numerically), then by the
// table key, so that two items with the same index key both have entries.
TEST(SecondaryIndexes, EntryKeysOrderByIndexKeyThenTableKey) {
  TableSchema t = orders_table();
  auto key = [&](std::string_view pk, std::string_view sk, std::string_view score) {
    auto e =
        entry(t, "by-score",
              "{\"pk\": {\"S\": \"" + std::string(pk) + "\"}, \"sk\": {\"N\": \"" +
                  std::string(sk) + "\"}, \"score\": {\"N\": \"" + std::string(score) + "\"}}");
    return e ? e->key : std::string();
  };
  EXPECT_LT(key("a", "5", "-10"), key("a", "1", "2"));
  EXPECT_LT(key("a", "1", "2"), key("a", "1", "10"));
  EXPECT_LT(key("a", "1", "10"), key("a", "2", "10"));  // same score: table key decides
  EXPECT_NE(key("a", "1", "10"), key("a", "2", "10"));
  EXPECT_LT(key("a", "9", "99"), key("b", "0", "-99"));  // the partition comes first
}

// A write whose index key attribute has the wrong type, or is an empty
// string, is refused with DynamoDB's texts (the service then writes nothing).
TEST(SecondaryIndexes, WrongTypedOrEmptyIndexKeysAreRefused) {
  TableSchema t = orders_table();
  const SecondaryIndex& gsi = *t.find_index("by-status");
  auto e = index_entry(
      t, gsi, parse_object(R"({"pk": {"S": "a"}, "sk": {"N": "1"}, "status": {"N": "1"}})"));
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().message,
            "One or more parameter values were invalid: Type mismatch for Index Key status "
            "Expected: S Actual: N IndexName: by-status");
  e = index_entry(t, gsi, parse_object(R"({"pk": {"S": "a"}, "sk": {"N": "1"}, "status": {"S": ""},
                                           "day": {"S": "d"}})"));
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.error().message.find("IndexName: by-status, IndexKey: status"), std::string::npos);
}

// ExclusiveStartKey of an index read names the table key and the index key;
// anything else is "The provided starting key is invalid".
TEST(SecondaryIndexes, StartKeyNeedsTableAndIndexKeys) {
  TableSchema t = orders_table();
  const SecondaryIndex& gsi = *t.find_index("by-status");
  auto ok = index_start_key(t, gsi, parse_object(R"({"pk": {"S": "a"}, "sk": {"N": "1"},
                                                     "status": {"S": "x"}, "day": {"S": "d"}})"));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, entry(t, "by-status", R"({"pk": {"S": "a"}, "sk": {"N": "1"}, "status": {"S": "x"},
                                           "day": {"S": "d"}, "note": {"S": "n"}})")
                     ->key);
  EXPECT_FALSE(
      index_start_key(t, gsi, parse_object(R"({"pk": {"S": "a"}, "sk": {"N": "1"}})")).ok());
  EXPECT_FALSE(index_start_key(t, gsi, parse_object(R"({"pk": {"S": "a"}, "sk": {"N": "1"},
      "status": {"S": "x"}, "day": {"S": "d"}, "note": {"S": "n"}})"))
                   .ok());
}

// UpdateTable's Create adds attribute definitions and a backfilling GSI; a
// second index of the same name, or a changed attribute type, is refused.
TEST(SecondaryIndexes, AddGlobalIndexChecksAgainstTheTable) {
  TableSchema t = orders_table();
  json::array defs =
      json::parse(R"([{"AttributeName": "colour", "AttributeType": "S"}])").as_array();
  auto create = parse_object(R"({"IndexName": "by-colour",
      "KeySchema": [{"AttributeName": "colour", "KeyType": "HASH"}],
      "Projection": {"ProjectionType": "ALL"}})");
  ASSERT_TRUE(t.add_global_index(create, &defs).ok());
  EXPECT_TRUE(t.find_index("by-colour")->backfilling);
  EXPECT_EQ(t.attributes.back().name, "colour");
  EXPECT_FALSE(t.add_global_index(create, &defs).ok());
  json::array changed =
      json::parse(R"([{"AttributeName": "score", "AttributeType": "S"}])").as_array();
  auto other = create;
  other["IndexName"] = "by-score-text";
  EXPECT_FALSE(t.add_global_index(other, &changed).ok());
}

}  // namespace
}  // namespace nimbus::services::dynamodb
