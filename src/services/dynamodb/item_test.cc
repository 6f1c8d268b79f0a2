#include "services/dynamodb/item.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <random>

#include "base/ids.h"

namespace nimbus::services::dynamodb {
namespace {

namespace json = boost::json;

json::value typed(std::string_view type, std::string_view text) {
  return json::object{{type, text}};
}

std::string component(KeyType t, const json::value& v) {
  auto c = key_component(t, v, "k");
  EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().message);
  return c.ok() ? *c : std::string();
}

// Query returns a partition's items in sort-key order: numbers numerically,
// strings and binary by bytes. The stored key bytes must sort the same way.
TEST(ItemKey, ByteOrderIsDynamoDbKeyOrder) {
  std::vector<std::string> numbers = {"-1E+125", "-100", "-2.5", "-1", "-0.001", "0",
                                      "1E-130",  "0.5",  "1",    "2",  "10",     "1E+125"};
  for (size_t i = 0; i + 1 < numbers.size(); ++i)
    EXPECT_LT(component(KeyType::kN, typed("N", numbers[i])),
              component(KeyType::kN, typed("N", numbers[i + 1])))
        << numbers[i] << " < " << numbers[i + 1];
  EXPECT_EQ(component(KeyType::kN, typed("N", "1.50")), component(KeyType::kN, typed("N", "1.5")));
  // Strings with NUL bytes and prefixes of each other.
  std::vector<std::string> strings = {"a", std::string("a\0", 2), std::string("a\0b", 3), "ab",
                                      "b"};
  for (size_t i = 0; i + 1 < strings.size(); ++i)
    EXPECT_LT(component(KeyType::kS, typed("S", strings[i])),
              component(KeyType::kS, typed("S", strings[i + 1])));
  // Binary compares the decoded bytes, not the base64 text ("/" < "A" in
  // base64 text, but 0xff > 0x00).
  EXPECT_LT(component(KeyType::kB, typed("B", base64_encode(std::string("\x00", 1)))),
            component(KeyType::kB, typed("B", base64_encode("\xff"))));
}

// A partition's items share a prefix that no other partition's keys start
// with, so a Query scans exactly one partition.
TEST(ItemKey, PartitionPrefixesDoNotOverlap) {
  TableSchema t;
  t.id = "tid";
  t.hash = {"pk", KeyType::kS};
  t.range = KeyAttribute{"sk", KeyType::kS};
  auto key = [&](std::string_view pk, std::string_view sk) {
    json::object item{{"pk", typed("S", pk)}, {"sk", typed("S", sk)}};
    return *item_store_key(t, item, true);
  };
  std::string a = *partition_prefix(t, typed("S", "a"));
  EXPECT_TRUE(key("a", "zzz").starts_with(a));
  EXPECT_FALSE(key("ab", "x").starts_with(a));
  EXPECT_FALSE(key(std::string("a\0", 2), "x").starts_with(a));
}

// Random strings: encoded order equals raw byte order.
TEST(ItemKey, RandomStringsKeepTheirOrder) {
  std::mt19937 rng(7);
  std::vector<std::string> raw;
  for (int i = 0; i < 500; ++i) {
    std::string s(rng() % 6 + 1, '\0');
    for (char& c : s) c = static_cast<char>(rng() % 3);  // many NULs and shared prefixes
    raw.push_back(s);
  }
  std::vector<std::pair<std::string, std::string>> enc;
  for (auto& s : raw) enc.emplace_back(component(KeyType::kS, typed("S", s)), s);
  std::sort(enc.begin(), enc.end());
  for (size_t i = 0; i + 1 < enc.size(); ++i) EXPECT_LE(enc[i].second, enc[i + 1].second);
}

// Values are checked as DynamoDB checks them and numbers normalised.
TEST(ItemValue, NormalisesAndRejectsLikeDynamoDb) {
  json::object item{{"n", typed("N", "001.500")},
                    {"ns", json::object{{"NS", json::array{"1.0", "2"}}}},
                    {"m", json::object{{"M", json::object{{"x", typed("N", "1e2")}}}}}};
  ASSERT_TRUE(normalize_item(item).ok());
  EXPECT_EQ(item["n"].at("N"), "1.5");
  EXPECT_EQ(item["ns"].at("NS"), (json::array{"1", "2"}));
  EXPECT_EQ(item["m"].at("M").at("x").at("N"), "100");

  auto error_of = [](json::value v) {
    auto r = normalize_value(v);
    return r.ok() ? std::string("ok") : r.error().message;
  };
  EXPECT_EQ(error_of(json::object{{"NS", json::array{"1", "1.0"}}}),
            "One or more parameter values were invalid: Input collection [1, 1] contains "
            "duplicates.");
  EXPECT_EQ(error_of(json::object{{"S", "a"}, {"N", "1"}}),
            "Supplied AttributeValue has more than one datatypes set, must contain exactly one of "
            "the supported datatypes");
  EXPECT_EQ(error_of(json::object{{"NULL", false}}),
            "One or more parameter values were invalid: Null attribute value types must have the "
            "value of true");
  EXPECT_EQ(
      error_of(json::object{{"L", json::array{json::object{}}}}),
      "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes");
}

// Sizes as DynamoDB counts them decide the 400 KB limit and capacity units.
TEST(ItemValue, SizeCountsNamesAndValues) {
  json::object item{{"id", typed("S", "abc")}, {"ok", json::object{{"BOOL", true}}}};
  EXPECT_EQ(item_size(item), 2u + 3u + 2u + 1u);
  json::object big{{"s", typed("S", std::string(kMaxItemBytes, 'x'))}};
  EXPECT_GT(item_size(big), kMaxItemBytes);
}

}  // namespace
}  // namespace nimbus::services::dynamodb
