#include "services/dynamodb/legacy.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <optional>
#include <string>

#include "services/dynamodb/expression.h"

namespace nimbus::services::dynamodb {
namespace {

namespace json = boost::json;

json::object obj(std::string_view text) {
  return json::parse(text).as_object();
}

// The request after translation; a refusal fails the test.
json::object translated(std::string_view operation, std::string_view request) {
  json::object req = obj(request);
  auto r = translate_legacy_parameters(operation, req);
  EXPECT_TRUE(r.ok()) << request << ": " << (r.ok() ? "" : r.error().message);
  return req;
}

// The ValidationException text of a refused request ("(accepted)" if none).
std::string refusal(std::string_view operation, std::string_view request) {
  json::object req = obj(request);
  const json::object before = req;
  auto r = translate_legacy_parameters(operation, req);
  if (r.ok()) return "(accepted)";
  EXPECT_EQ(req, before) << "a refused request must be left as it came";
  EXPECT_EQ(r.error().status, 400);
  return r.error().code == "ValidationException" ? r.error().message
                                                 : r.error().code + ": " + r.error().message;
}

const json::object* map_of(const json::object& req, std::string_view key) {
  const json::value* v = req.if_contains(key);
  return v && v->is_object() ? &v->get_object() : nullptr;
}

std::string text_of(const json::object& req, std::string_view key) {
  const json::value* v = req.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

// The expression parameters of a translated request, parsed by the
// service's own parsers against one context, as the service will. Every
// generated name and value must be used, so check_unused() must pass.
struct Parsed {
  explicit Parsed(json::object request) : req(std::move(request)) {
    auto c = ExpressionContext::create(map_of(req, "ExpressionAttributeNames"),
                                       map_of(req, "ExpressionAttributeValues"));
    EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error());
    if (c.ok()) ctx.emplace(std::move(c).value());
  }
  std::optional<ConditionExpression> condition(std::string_view member = "ConditionExpression") {
    auto c = ConditionExpression::parse(text_of(req, member), *ctx, member);
    EXPECT_TRUE(c.ok()) << text_of(req, member) << ": " << (c.ok() ? "" : c.error());
    if (!c.ok()) return std::nullopt;
    return std::move(c).value();
  }
  std::optional<UpdateExpression> update() {
    auto u = UpdateExpression::parse(text_of(req, "UpdateExpression"), *ctx);
    EXPECT_TRUE(u.ok()) << text_of(req, "UpdateExpression") << ": " << (u.ok() ? "" : u.error());
    if (!u.ok()) return std::nullopt;
    return std::move(u).value();
  }
  std::optional<ProjectionExpression> projection() {
    auto p = ProjectionExpression::parse(text_of(req, "ProjectionExpression"), *ctx);
    EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error());
    if (!p.ok()) return std::nullopt;
    return std::move(p).value();
  }
  Result<KeyCondition, std::string> key_condition(const KeyAttribute& hash,
                                                  const std::optional<KeyAttribute>& range) {
    return parse_key_condition(text_of(req, "KeyConditionExpression"), *ctx, hash, range);
  }
  void all_used() {
    auto r = ctx->check_unused();
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error());
  }
  json::object req;
  std::optional<ExpressionContext> ctx;
};

// Whether PutItem's `expected` (the JSON of the Expected map, plus any other
// members) holds for `item`, by way of the translated ConditionExpression.
bool expected_holds(std::string_view expected, std::string_view item, std::string_view extra = "") {
  std::string request = R"({"TableName": "t", "Item": {"id": {"S": "1"}}, "Expected": )" +
                        std::string(expected) + std::string(extra) + "}";
  Parsed p(translated("PutItem", request));
  EXPECT_FALSE(p.req.contains("Expected"));
  auto c = p.condition();
  p.all_used();
  return c && c->evaluate(obj(item));
}

// One Expected entry with ComparisonOperator and AttributeValueList.
bool compare_holds(std::string_view attr, std::string_view op, std::string_view values,
                   std::string_view item) {
  return expected_holds(R"({")" + std::string(attr) + R"(": {"ComparisonOperator": ")" +
                            std::string(op) + R"(", "AttributeValueList": )" + std::string(values) +
                            "}}",
                        item);
}

const char* kItem = R"({
  "id": {"S": "1"}, "n": {"N": "10"}, "s": {"S": "hello"}, "b": {"B": "aGkgdGhlcmU="},
  "ns": {"NS": ["2", "4", "7"]}, "ss": {"SS": ["cat", "dog"]}, "l": {"L": [{"N": "2"}, {"S": "x"}]},
  "m": {"M": {"k": {"S": "v"}}}, "nul": {"NULL": true}, "t": {"BOOL": true},
  "a.b": {"S": "dotted"}, "size": {"N": "5"}})";

// ---------------------------------------------------------------------------
// Expected: the shapes and their meaning.

TEST(LegacyExpected, ExistsFalseIsAttributeNotExists) {
  EXPECT_TRUE(expected_holds(R"({"q": {"Exists": false}})", kItem));
  EXPECT_FALSE(expected_holds(R"({"n": {"Exists": false}})", kItem));
  // A NULL-typed attribute exists.
  EXPECT_FALSE(expected_holds(R"({"nul": {"Exists": false}})", kItem));
  // An absent item is an empty one: the guard against overwriting.
  EXPECT_TRUE(expected_holds(R"({"id": {"Exists": false}})", "{}"));
}

TEST(LegacyExpected, ValueIsEqualityWithOrWithoutExistsTrue) {
  EXPECT_TRUE(expected_holds(R"({"n": {"Value": {"N": "10"}}})", kItem));
  EXPECT_TRUE(expected_holds(R"({"n": {"Value": {"N": "1e1"}}})", kItem));  // numerically
  EXPECT_TRUE(expected_holds(R"({"n": {"Exists": true, "Value": {"N": "10"}}})", kItem));
  EXPECT_FALSE(expected_holds(R"({"n": {"Value": {"N": "11"}}})", kItem));
  EXPECT_FALSE(expected_holds(R"({"n": {"Value": {"S": "10"}}})", kItem));  // other type
  EXPECT_FALSE(expected_holds(R"({"q": {"Value": {"N": "10"}}})", kItem));  // missing
  EXPECT_TRUE(expected_holds(R"({"ns": {"Value": {"NS": ["7", "2", "4"]}}})", kItem));
}

TEST(LegacyExpected, EqualityOperators) {
  EXPECT_TRUE(compare_holds("n", "EQ", R"([{"N": "10"}])", kItem));
  EXPECT_FALSE(compare_holds("n", "EQ", R"([{"S": "10"}])", kItem));
  EXPECT_FALSE(compare_holds("q", "EQ", R"([{"N": "10"}])", kItem));
  // EQ and NE take any type, lists and maps included.
  EXPECT_TRUE(compare_holds("l", "EQ", R"([{"L": [{"N": "2"}, {"S": "x"}]}])", kItem));
  EXPECT_TRUE(compare_holds("t", "EQ", R"([{"BOOL": true}])", kItem));
}

TEST(LegacyExpected, NeHoldsOnOtherValueOtherTypeAndMissingAttribute) {
  EXPECT_FALSE(compare_holds("n", "NE", R"([{"N": "10"}])", kItem));
  EXPECT_TRUE(compare_holds("n", "NE", R"([{"N": "11"}])", kItem));
  EXPECT_TRUE(compare_holds("n", "NE", R"([{"S": "10"}])", kItem));  // different type
  EXPECT_TRUE(compare_holds("q", "NE", R"([{"N": "10"}])", kItem));  // missing attribute
  EXPECT_TRUE(compare_holds("m", "NE", R"([{"M": {"k": {"S": "w"}}}])", kItem));
}

TEST(LegacyExpected, OrderingOperators) {
  EXPECT_TRUE(compare_holds("n", "LE", R"([{"N": "10"}])", kItem));
  EXPECT_FALSE(compare_holds("n", "LT", R"([{"N": "10"}])", kItem));
  EXPECT_TRUE(compare_holds("n", "GE", R"([{"N": "9.5"}])", kItem));
  EXPECT_TRUE(compare_holds("s", "GT", R"([{"S": "hell"}])", kItem));
  EXPECT_TRUE(compare_holds("b", "LT", R"([{"B": "aQ=="}])", kItem));  // "hi there" < "i"
  // A different type or a missing attribute does not compare.
  EXPECT_FALSE(compare_holds("n", "LT", R"([{"S": "99"}])", kItem));
  EXPECT_FALSE(compare_holds("n", "GE", R"([{"S": "1"}])", kItem));
  EXPECT_FALSE(compare_holds("q", "LT", R"([{"N": "99"}])", kItem));
}

TEST(LegacyExpected, NullAndNotNullTestExistenceNotType) {
  EXPECT_TRUE(compare_holds("q", "NULL", "[]", kItem));
  EXPECT_FALSE(compare_holds("nul", "NULL", "[]", kItem));
  EXPECT_TRUE(compare_holds("nul", "NOT_NULL", "[]", kItem));
  EXPECT_FALSE(compare_holds("q", "NOT_NULL", "[]", kItem));
  // AttributeValueList may be left out for these two.
  EXPECT_TRUE(expected_holds(R"({"q": {"ComparisonOperator": "NULL"}})", kItem));
}

TEST(LegacyExpected, ContainsChecksSubstringsAndMembers) {
  EXPECT_TRUE(compare_holds("s", "CONTAINS", R"([{"S": "ell"}])", kItem));
  EXPECT_TRUE(compare_holds("ns", "CONTAINS", R"([{"N": "4"}])", kItem));
  EXPECT_TRUE(compare_holds("l", "CONTAINS", R"([{"N": "2"}])", kItem));
  EXPECT_TRUE(compare_holds("b", "CONTAINS", R"([{"B": "aGVyZQ=="}])", kItem));  // "here"
  EXPECT_FALSE(compare_holds("s", "CONTAINS", R"([{"N": "1"}])", kItem));
  EXPECT_FALSE(compare_holds("ns", "CONTAINS", R"([{"N": "1"}])", kItem));
  EXPECT_FALSE(compare_holds("q", "CONTAINS", R"([{"N": "1"}])", kItem));
}

TEST(LegacyExpected, NotContainsIsFalseOnMissingAttribute) {
  EXPECT_TRUE(compare_holds("s", "NOT_CONTAINS", R"([{"S": "dog"}])", kItem));
  EXPECT_FALSE(compare_holds("s", "NOT_CONTAINS", R"([{"S": "ell"}])", kItem));
  EXPECT_TRUE(compare_holds("ns", "NOT_CONTAINS", R"([{"N": "1"}])", kItem));
  EXPECT_FALSE(compare_holds("ns", "NOT_CONTAINS", R"([{"N": "4"}])", kItem));
  EXPECT_FALSE(compare_holds("l", "NOT_CONTAINS", R"([{"S": "x"}])", kItem));
  // An existing attribute of another type does not contain the value...
  EXPECT_TRUE(compare_holds("s", "NOT_CONTAINS", R"([{"N": "1"}])", kItem));
  // ...but a missing attribute fails NOT_CONTAINS, as on DynamoDB (unlike
  // the expression "NOT contains(a, :v)", which would hold).
  EXPECT_FALSE(compare_holds("q", "NOT_CONTAINS", R"([{"N": "1"}])", kItem));
}

TEST(LegacyExpected, BeginsWith) {
  EXPECT_TRUE(compare_holds("s", "BEGINS_WITH", R"([{"S": "hell"}])", kItem));
  EXPECT_TRUE(compare_holds("b", "BEGINS_WITH", R"([{"B": "aGk="}])", kItem));  // "hi"
  EXPECT_FALSE(compare_holds("s", "BEGINS_WITH", R"([{"S": "dog"}])", kItem));
  EXPECT_FALSE(compare_holds("n", "BEGINS_WITH", R"([{"S": "1"}])", kItem));  // number attribute
  EXPECT_FALSE(compare_holds("q", "BEGINS_WITH", R"([{"S": "h"}])", kItem));
}

TEST(LegacyExpected, InMatchesTheAttributeAgainstTheList) {
  EXPECT_TRUE(compare_holds("n", "IN", R"([{"N": "2"}, {"N": "10"}, {"N": "8"}])", kItem));
  EXPECT_FALSE(compare_holds("n", "IN", R"([{"N": "1"}, {"N": "2"}])", kItem));
  // IN is not set membership: a set attribute is never IN a list of numbers.
  EXPECT_FALSE(compare_holds("ns", "IN", R"([{"N": "2"}, {"N": "4"}, {"N": "7"}])", kItem));
  EXPECT_FALSE(compare_holds("q", "IN", R"([{"N": "10"}])", kItem));
}

TEST(LegacyExpected, BetweenIsInclusive) {
  EXPECT_TRUE(compare_holds("n", "BETWEEN", R"([{"N": "1"}, {"N": "10"}])", kItem));
  EXPECT_TRUE(compare_holds("n", "BETWEEN", R"([{"N": "10"}, {"N": "10"}])", kItem));
  EXPECT_FALSE(compare_holds("n", "BETWEEN", R"([{"N": "11"}, {"N": "20"}])", kItem));
  EXPECT_TRUE(compare_holds("s", "BETWEEN", R"([{"S": "a"}, {"S": "i"}])", kItem));
  EXPECT_FALSE(compare_holds("n", "BETWEEN", R"([{"S": "a"}, {"S": "z"}])", kItem));
  EXPECT_FALSE(compare_holds("q", "BETWEEN", R"([{"N": "0"}, {"N": "100"}])", kItem));
}

TEST(LegacyExpected, ValueBesideComparisonOperatorIsItsOperand) {
  EXPECT_TRUE(expected_holds(R"({"n": {"ComparisonOperator": "GT", "Value": {"N": "9"}}})", kItem));
  EXPECT_FALSE(
      expected_holds(R"({"n": {"ComparisonOperator": "LT", "Value": {"N": "9"}}})", kItem));
}

TEST(LegacyExpected, EntriesAreAndedUnlessConditionalOperatorIsOr) {
  const char* two = R"({"n": {"Value": {"N": "10"}}, "q": {"Value": {"N": "1"}}})";
  EXPECT_FALSE(expected_holds(two, kItem));
  EXPECT_FALSE(expected_holds(two, kItem, R"(, "ConditionalOperator": "AND")"));
  EXPECT_TRUE(expected_holds(two, kItem, R"(, "ConditionalOperator": "OR")"));
  // NOT_CONTAINS is two conditions of its own; inside an OR it stays whole.
  const char* with_not_contains =
      R"({"q": {"ComparisonOperator": "NOT_CONTAINS", "AttributeValueList": [{"S": "x"}]},
          "n": {"Value": {"N": "11"}}})";
  EXPECT_FALSE(expected_holds(with_not_contains, kItem, R"(, "ConditionalOperator": "OR")"));
  EXPECT_TRUE(expected_holds(with_not_contains, R"({"n": {"N": "11"}})",
                             R"(, "ConditionalOperator": "OR")"));
  EXPECT_TRUE(expected_holds(with_not_contains, R"({"q": {"S": "abc"}})",
                             R"(, "ConditionalOperator": "OR")"));
}

TEST(LegacyExpected, EmptyExpectedIsNoCondition) {
  json::object req = translated("PutItem", R"({"TableName": "t", "Item": {}, "Expected": {}})");
  EXPECT_FALSE(req.contains("Expected"));
  EXPECT_FALSE(req.contains("ConditionExpression"));
  EXPECT_FALSE(req.contains("ExpressionAttributeNames"));
  EXPECT_FALSE(req.contains("ExpressionAttributeValues"));
}

TEST(LegacyExpected, NamesThatAreReservedWordsOrHaveDotsAreTopLevelAttributes) {
  EXPECT_TRUE(expected_holds(R"({"size": {"Value": {"N": "5"}}})", kItem));
  EXPECT_TRUE(expected_holds(R"({"a.b": {"Value": {"S": "dotted"}}})", kItem));
  EXPECT_FALSE(expected_holds(R"({"a.b": {"Value": {"S": "dotted"}}})",
                              R"({"a": {"M": {"b": {"S": "dotted"}}}})"));
  EXPECT_TRUE(expected_holds(R"({"#x :y": {"Exists": false}})", kItem));
}

TEST(LegacyExpected, DeleteItemAndUpdateItemTranslateToo) {
  for (std::string_view op : {"DeleteItem", "UpdateItem"}) {
    json::object req = translated(op, R"({"TableName": "t", "Key": {"id": {"S": "1"}},
        "Expected": {"n": {"Value": {"N": "10"}}}})");
    Parsed p(req);
    auto c = p.condition();
    p.all_used();
    ASSERT_TRUE(c);
    EXPECT_TRUE(c->evaluate(obj(kItem))) << op;
  }
}

TEST(LegacyExpected, ValidationMessages) {
  auto put = [](std::string_view expected, std::string_view extra = "") {
    return refusal("PutItem", R"({"TableName": "t", "Item": {}, "Expected": )" +
                                  std::string(expected) + std::string(extra) + "}");
  };
  const std::string p = "One or more parameter values were invalid: ";
  EXPECT_EQ(put(R"({"a": {}})"), p + "Value must be provided when Exists is null for Attribute: a");
  EXPECT_EQ(put(R"({"a": {"Exists": true}})"),
            p + "Value must be provided when Exists is true for Attribute: a");
  EXPECT_EQ(put(R"({"a": {"Exists": false, "Value": {"S": "x"}}})"),
            p + "Value cannot be used when Exists is false for Attribute: a");
  EXPECT_EQ(put(R"({"a": {"ComparisonOperator": "LT"}})"),
            p + "Value or AttributeValueList must be used with ComparisonOperator: LT for "
                "Attribute: a");
  EXPECT_EQ(put(R"({"a": {"Exists": true, "ComparisonOperator": "LT"}})"),
            p + "Exists and ComparisonOperator cannot be used together for Attribute: a");
  EXPECT_EQ(put(R"({"a": {"ComparisonOperator": "EQ", "Value": {"S": "a"},
                          "AttributeValueList": [{"S": "a"}]}})"),
            p + "Value and AttributeValueList cannot be used together for Attribute: a");
  EXPECT_EQ(put(R"({"a": {"AttributeValueList": [{"S": "a"}]}})"),
            p + "AttributeValueList can only be used with a ComparisonOperator for Attribute: a");
  EXPECT_EQ(put(R"({"a": {"Exists": true, "AttributeValueList": [{"S": "a"}]}})"),
            p + "AttributeValueList can only be used with a ComparisonOperator for Attribute: a");
  EXPECT_EQ(put(R"({"a": {"ComparisonOperator": "NULL", "Value": {"S": "a"}}})"),
            p + "Invalid number of argument(s) for the NULL ComparisonOperator");
  EXPECT_EQ(put(R"({"a": {"ComparisonOperator": "eq", "AttributeValueList": [{"S": "a"}]}})"),
            "1 validation error detected: Value 'eq' at 'expected.a.member.comparisonOperator' "
            "failed to satisfy constraint: Member must satisfy enum value set: [IN, NULL, "
            "BETWEEN, LT, NOT_CONTAINS, EQ, GT, NOT_NULL, NE, LE, BEGINS_WITH, GE, CONTAINS]");
  EXPECT_EQ(put(R"({"a": {"Value": {}}})"),
            "Supplied AttributeValue is empty, must contain exactly one of the supported "
            "datatypes");
  EXPECT_EQ(put(R"({"a": {"Value": {"SS": []}}})"), p + "An string set  may not be empty");
}

// The operand rules every ComparisonOperator shares in Expected, QueryFilter,
// ScanFilter and KeyConditions.
TEST(LegacyConditions, OperandCountsAndTypes) {
  auto scan = [](std::string_view op, std::string_view values) {
    return refusal("Scan", R"({"TableName": "t", "ScanFilter": {"a": {"ComparisonOperator": ")" +
                               std::string(op) + R"(", "AttributeValueList": )" +
                               std::string(values) + "}}}");
  };
  const std::string p = "One or more parameter values were invalid: ";
  auto count = [&](std::string_view op) {
    return p + "Invalid number of argument(s) for the " + std::string(op) + " ComparisonOperator";
  };
  for (std::string_view op :
       {"EQ", "NE", "LE", "LT", "GE", "GT", "CONTAINS", "NOT_CONTAINS", "BEGINS_WITH"}) {
    EXPECT_EQ(scan(op, "[]"), count(op));
    EXPECT_EQ(scan(op, R"([{"S": "a"}, {"S": "b"}])"), count(op));
  }
  EXPECT_EQ(scan("NULL", R"([{"S": "a"}])"), count("NULL"));
  EXPECT_EQ(scan("NOT_NULL", R"([{"S": "a"}])"), count("NOT_NULL"));
  EXPECT_EQ(scan("IN", "[]"), count("IN"));
  EXPECT_EQ(scan("BETWEEN", R"([{"N": "1"}])"), count("BETWEEN"));
  EXPECT_EQ(scan("BETWEEN", R"([{"N": "1"}, {"N": "2"}, {"N": "3"}])"), count("BETWEEN"));

  EXPECT_EQ(scan("IN", R"([{"S": "b"}, {"N": "1"}])"),
            p + "AttributeValues inside AttributeValueList must be of same type");
  EXPECT_EQ(scan("BETWEEN", R"([{"S": "b"}, {"N": "1"}])"),
            p + "AttributeValues inside AttributeValueList must be of same type");
  for (std::string_view op : {"LT", "LE", "GT", "GE", "IN"})
    for (std::string_view v : {R"({"BOOL": true})", R"({"NULL": true})", R"({"SS": ["a"]})",
                               R"({"NS": ["1"]})", R"({"M": {}})", R"({"L": []})"}) {
      std::string type(json::parse(v).as_object().begin()->key());
      EXPECT_EQ(scan(op, "[" + std::string(v) + "]"), p + "ComparisonOperator " + std::string(op) +
                                                          " is not valid for " + type +
                                                          " AttributeValue type");
    }
  EXPECT_EQ(scan("CONTAINS", R"([{"L": [{"N": "1"}]}])"),
            p + "ComparisonOperator CONTAINS is not valid for L AttributeValue type");
  EXPECT_EQ(scan("NOT_CONTAINS", R"([{"SS": ["a"]}])"),
            p + "ComparisonOperator NOT_CONTAINS is not valid for SS AttributeValue type");
  EXPECT_EQ(scan("BEGINS_WITH", R"([{"N": "1"}])"),
            p + "ComparisonOperator BEGINS_WITH is not valid for N AttributeValue type");
  EXPECT_EQ(scan("BETWEEN", R"([{"NS": ["1"]}, {"NS": ["2"]}])"),
            p + "ComparisonOperator BETWEEN is not valid for NS AttributeValue type");
  EXPECT_EQ(scan("BETWEEN", R"([{"S": "b"}, {"S": "a"}])"),
            "The BETWEEN condition was provided a range where the lower bound is greater than "
            "the upper bound");
  EXPECT_EQ(scan("BETWEEN", R"([{"N": "10"}, {"N": "9"}])"),
            "The BETWEEN condition was provided a range where the lower bound is greater than "
            "the upper bound");
  EXPECT_EQ(scan("EQ", R"([{"L": [{"N": "1"}]}])"), "(accepted)");
  // Expected applies the same rules to its ComparisonOperator form.
  EXPECT_EQ(refusal("PutItem", R"({"TableName": "t", "Item": {}, "Expected": {"a":
                {"ComparisonOperator": "BEGINS_WITH", "AttributeValueList": [{"N": "3"}]}}})"),
            p + "ComparisonOperator BEGINS_WITH is not valid for N AttributeValue type");
}

// ---------------------------------------------------------------------------
// AttributeUpdates.

// Applies the translated UpdateExpression to `item` (an existing item unless
// empty) and returns the item after.
json::object updated(std::string_view attribute_updates, std::string_view item) {
  std::string request = R"({"TableName": "t", "Key": {"id": {"S": "1"}}, "AttributeUpdates": )" +
                        std::string(attribute_updates) + "}";
  Parsed p(translated("UpdateItem", request));
  EXPECT_FALSE(p.req.contains("AttributeUpdates"));
  auto u = p.update();
  p.all_used();
  if (!u) return {};
  json::object before = obj(item);
  auto out = u->apply(before, !before.empty());
  EXPECT_TRUE(out.ok()) << (out.ok() ? "" : out.error());
  return out.ok() ? out->item : json::object();
}

TEST(LegacyAttributeUpdates, PutReplacesOrAdds) {
  auto item = updated(R"({"n": {"Action": "PUT", "Value": {"S": "x"}},
                          "new": {"Value": {"N": "007"}}})",
                      kItem);
  EXPECT_EQ(item["n"], obj(R"({"S": "x"})"));
  EXPECT_EQ(item["new"], obj(R"({"N": "7"})"));  // PUT is the default; numbers normalised
}

TEST(LegacyAttributeUpdates, DeleteWithoutValueRemovesTheAttribute) {
  auto item = updated(R"({"n": {"Action": "DELETE"}, "q": {"Action": "DELETE"}})", kItem);
  EXPECT_FALSE(item.contains("n"));
  EXPECT_FALSE(item.contains("q"));
  EXPECT_TRUE(item.contains("s"));
}

TEST(LegacyAttributeUpdates, DeleteWithASetSubtractsMembers) {
  auto item = updated(R"({"ns": {"Action": "DELETE", "Value": {"NS": ["2", "7", "9"]}}})", kItem);
  EXPECT_EQ(item["ns"], obj(R"({"NS": ["4"]})"));
  // Taking every member away removes the attribute: DynamoDB has no empty sets.
  item = updated(R"({"ss": {"Action": "DELETE", "Value": {"SS": ["cat", "dog"]}}})", kItem);
  EXPECT_FALSE(item.contains("ss"));
}

TEST(LegacyAttributeUpdates, AddNumbersAndSets) {
  auto item = updated(R"({"n": {"Action": "ADD", "Value": {"N": "-3"}},
                          "fresh": {"Action": "ADD", "Value": {"N": "3"}},
                          "ns": {"Action": "ADD", "Value": {"NS": ["1", "2"]}}})",
                      kItem);
  EXPECT_EQ(item["n"], obj(R"({"N": "7"})"));
  EXPECT_EQ(item["fresh"], obj(R"({"N": "3"})"));  // a missing number starts at 0
  EXPECT_EQ(item["ns"].at("NS").as_array().size(), 4u);
}

TEST(LegacyAttributeUpdates, AddOfAListAppends) {
  auto item = updated(R"({"l": {"Action": "ADD", "Value": {"L": [{"S": "y"}]}},
                          "l2": {"Action": "ADD", "Value": {"L": [{"N": "1"}]}}})",
                      kItem);
  EXPECT_EQ(item["l"], obj(R"({"L": [{"N": "2"}, {"S": "x"}, {"S": "y"}]})"));
  EXPECT_EQ(item["l2"], obj(R"({"L": [{"N": "1"}]})"));  // a missing list starts empty
  // On a new item too.
  item = updated(R"({"l": {"Action": "ADD", "Value": {"L": [{"S": "y"}]}}})", "{}");
  EXPECT_EQ(item["l"], obj(R"({"L": [{"S": "y"}]})"));
}

TEST(LegacyAttributeUpdates, EveryActionInOneRequest) {
  json::object req = translated("UpdateItem", R"({"TableName": "t", "Key": {"id": {"S": "1"}},
      "AttributeUpdates": {"a": {"Action": "PUT", "Value": {"S": "x"}}, "b": {"Action": "DELETE"},
        "c": {"Action": "ADD", "Value": {"N": "1"}}, "d": {"Action": "DELETE", "Value": {"SS": ["x"]}},
        "e": {"Action": "ADD", "Value": {"L": []}}, "f": {"Action": "PUT", "Value": {"N": "1"}}},
      "Expected": {"a": {"Exists": false}}})");
  // One clause of each kind: DynamoDB refuses a repeated one.
  std::string text = text_of(req, "UpdateExpression");
  EXPECT_EQ(text.find("SET"), text.rfind("SET")) << text;
  Parsed p(req);
  auto u = p.update();
  auto c = p.condition();
  p.all_used();  // the name of "a" serves both expressions
  ASSERT_TRUE(u && c);
  auto out = u->apply(obj(R"({"id": {"S": "1"}, "b": {"N": "1"}, "d": {"SS": ["x", "y"]}})"));
  ASSERT_TRUE(out.ok()) << out.error();
  EXPECT_EQ(out->item, obj(R"({"id": {"S": "1"}, "d": {"SS": ["y"]}, "a": {"S": "x"},
      "c": {"N": "1"}, "e": {"L": []}, "f": {"N": "1"}})"));
}

TEST(LegacyAttributeUpdates, EmptyMapIsNoUpdate) {
  json::object req = translated("UpdateItem", R"({"TableName": "t", "Key": {"id": {"S": "1"}},
      "AttributeUpdates": {}})");
  EXPECT_FALSE(req.contains("AttributeUpdates"));
  EXPECT_FALSE(req.contains("UpdateExpression"));
}

TEST(LegacyAttributeUpdates, ValidationMessages) {
  auto update = [](std::string_view updates) {
    return refusal("UpdateItem", R"({"TableName": "t", "Key": {"id": {"S": "1"}},
        "AttributeUpdates": )" + std::string(updates) +
                                     "}");
  };
  const std::string p = "One or more parameter values were invalid: ";
  EXPECT_EQ(update(R"({"a": {}})"),
            p + "Only DELETE action is allowed when no attribute value is specified");
  EXPECT_EQ(update(R"({"a": {"Action": "ADD"}})"),
            p + "Only DELETE action is allowed when no attribute value is specified");
  EXPECT_EQ(update(R"({"a": {"Action": "DELETE", "Value": {"S": "x"}}})"),
            p + "DELETE action with value is not supported for the type S");
  EXPECT_EQ(update(R"({"a": {"Action": "DELETE", "Value": {"L": []}}})"),
            p + "DELETE action with value is not supported for the type L");
  EXPECT_EQ(update(R"({"a": {"Action": "ADD", "Value": {"S": "x"}}})"),
            p + "ADD action is not supported for the type S");
  EXPECT_EQ(update(R"({"a": {"Action": "ADD", "Value": {"M": {}}}})"),
            p + "ADD action is not supported for the type M");
  EXPECT_EQ(update(R"({"a": {"Action": "put", "Value": {"S": "x"}}})"),
            "1 validation error detected: Value 'put' at 'attributeUpdates.a.member.action' "
            "failed to satisfy constraint: Member must satisfy enum value set: [ADD, PUT, DELETE]");
  EXPECT_EQ(update(R"({"a": {"Value": {"N": "x"}}})"),
            "The parameter cannot be converted to a numeric value: x");
}

// ---------------------------------------------------------------------------
// Query and Scan.

TEST(LegacyQuery, KeyConditionsBecomeAKeyConditionExpression) {
  const KeyAttribute hash{"p", KeyType::kS};
  const KeyAttribute range{"c", KeyType::kN};
  struct Case {
    const char* op;
    const char* values;
    SortKeyCondition::Op expected;
  } cases[] = {
      {"EQ", R"([{"N": "5"}])", SortKeyCondition::Op::kEq},
      {"LE", R"([{"N": "5"}])", SortKeyCondition::Op::kLe},
      {"LT", R"([{"N": "5"}])", SortKeyCondition::Op::kLt},
      {"GE", R"([{"N": "5"}])", SortKeyCondition::Op::kGe},
      {"GT", R"([{"N": "5"}])", SortKeyCondition::Op::kGt},
      {"BETWEEN", R"([{"N": "1"}, {"N": "5"}])", SortKeyCondition::Op::kBetween},
  };
  for (const Case& c : cases) {
    Parsed p(translated("Query", std::string(R"({"TableName": "t", "KeyConditions": {
        "p": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "k"}]},
        "c": {"ComparisonOperator": ")") +
                                     c.op + R"(", "AttributeValueList": )" + c.values + "}}}"));
    EXPECT_FALSE(p.req.contains("KeyConditions"));
    auto kc = p.key_condition(hash, range);
    ASSERT_TRUE(kc.ok()) << c.op << ": " << kc.error();
    p.all_used();
    EXPECT_EQ(kc->partition_value, obj(R"({"S": "k"})"));
    ASSERT_TRUE(kc->sort);
    EXPECT_EQ(kc->sort->op, c.expected) << c.op;
    EXPECT_EQ(kc->sort->matches(obj(R"({"N": "5"})")),
              c.expected != SortKeyCondition::Op::kLt && c.expected != SortKeyCondition::Op::kGt)
        << c.op;
  }
  Parsed p(translated("Query", R"({"TableName": "t", "KeyConditions": {
      "p": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "k"}]},
      "s": {"ComparisonOperator": "BEGINS_WITH", "AttributeValueList": [{"S": "ab"}]}}})"));
  auto kc = p.key_condition(hash, KeyAttribute{"s", KeyType::kS});
  ASSERT_TRUE(kc.ok()) << kc.error();
  EXPECT_TRUE(kc->sort->matches(obj(R"({"S": "abc"})")));
  EXPECT_FALSE(kc->sort->matches(obj(R"({"S": "b"})")));
}

TEST(LegacyQuery, KeySchemaIsTheParsersToCheck) {
  // The translation knows no table; the key condition parser reports a
  // condition on a non-key attribute in DynamoDB's words.
  Parsed p(translated("Query", R"({"TableName": "t", "KeyConditions": {
      "z": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "k"}]}}})"));
  auto kc = p.key_condition(KeyAttribute{"p", KeyType::kS}, std::nullopt);
  ASSERT_FALSE(kc.ok());
  EXPECT_EQ(kc.error(), "Query condition missed key schema element: p");
}

TEST(LegacyQuery, KeyConditionsValidation) {
  auto query = [](std::string_view key_conditions) {
    return refusal("Query",
                   R"({"TableName": "t", "KeyConditions": )" + std::string(key_conditions) + "}");
  };
  for (std::string_view op : {"NE", "CONTAINS", "NOT_CONTAINS", "IN"})
    EXPECT_EQ(query(R"({"p": {"ComparisonOperator": ")" + std::string(op) +
                    R"(", "AttributeValueList": [{"S": "a"}]}})"),
              "Attempted conditional constraint is not an indexable operation")
        << op;
  EXPECT_EQ(query(R"({"p": {"ComparisonOperator": "NULL"}})"),
            "Attempted conditional constraint is not an indexable operation");
  EXPECT_EQ(query("{}"), "Conditions can be of length 1 or 2 only");
  EXPECT_EQ(query(R"({"a": {"ComparisonOperator": "NULL"}, "b": {"ComparisonOperator": "NULL"},
                      "c": {"ComparisonOperator": "NULL"}})"),
            "Conditions can be of length 1 or 2 only");
  EXPECT_EQ(
      query(R"({"p": {"AttributeValueList": [{"S": "a"}]}})"),
      "1 validation error detected: Value null at 'keyConditions.p.member.comparisonOperator' "
      "failed to satisfy constraint: Member must not be null");
  EXPECT_EQ(query(R"({"p": {"ComparisonOperator": "EQ"}})"),
            "One or more parameter values were invalid: Invalid number of argument(s) for the EQ "
            "ComparisonOperator");
}

TEST(LegacyQuery, QueryFilterAndAttributesToGet) {
  Parsed p(translated("Query", R"({"TableName": "t",
      "KeyConditions": {"p": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "k"}]}},
      "QueryFilter": {"x": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "mouse"}]},
                      "size": {"ComparisonOperator": "GT", "AttributeValueList": [{"N": "1"}]}},
      "ConditionalOperator": "OR", "AttributesToGet": ["y", "size"], "Select": "SPECIFIC_ATTRIBUTES"})"));
  for (const char* gone :
       {"QueryFilter", "ConditionalOperator", "AttributesToGet", "KeyConditions"})
    EXPECT_FALSE(p.req.contains(gone)) << gone;
  EXPECT_EQ(text_of(p.req, "Select"), "SPECIFIC_ATTRIBUTES");  // left as sent
  auto filter = p.condition("FilterExpression");
  auto proj = p.projection();
  ASSERT_TRUE(p.key_condition(KeyAttribute{"p", KeyType::kS}, std::nullopt).ok());
  p.all_used();
  ASSERT_TRUE(filter && proj);
  EXPECT_TRUE(filter->evaluate(obj(R"({"x": {"S": "mouse"}})")));
  EXPECT_TRUE(filter->evaluate(obj(R"({"size": {"N": "2"}})")));
  EXPECT_FALSE(filter->evaluate(obj(R"({"x": {"S": "cat"}, "size": {"N": "0"}})")));
  EXPECT_EQ(filter->top_level_attributes(), (std::set<std::string>{"size", "x"}));
  EXPECT_EQ(proj->apply(obj(R"({"x": {"S": "dog"}, "y": {"S": "cat"}, "size": {"N": "1"}})")),
            obj(R"({"y": {"S": "cat"}, "size": {"N": "1"}})"));
}

TEST(LegacyQuery, KeyConditionsMayJoinAFilterExpressionWithItsOwnPlaceholders) {
  // DynamoDB's one accepted mix. The request's own names and values must
  // keep their meaning and the generated ones must not collide with them.
  Parsed p(translated("Query", R"({"TableName": "t",
      "KeyConditions": {"p": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "k"}]}},
      "FilterExpression": "#n0 = :v0", "ExpressionAttributeNames": {"#n0": "x"},
      "ExpressionAttributeValues": {":v0": {"S": "mine"}}})"));
  EXPECT_EQ(text_of(p.req, "FilterExpression"), "#n0 = :v0");
  EXPECT_EQ(p.req.at("ExpressionAttributeNames").as_object().at("#n0"), "x");
  EXPECT_EQ(p.req.at("ExpressionAttributeValues").as_object().at(":v0"), obj(R"({"S": "mine"})"));
  auto kc = p.key_condition(KeyAttribute{"p", KeyType::kS}, std::nullopt);
  ASSERT_TRUE(kc.ok()) << kc.error();
  EXPECT_EQ(kc->partition_value, obj(R"({"S": "k"})"));
  auto filter = p.condition("FilterExpression");
  p.all_used();
  ASSERT_TRUE(filter);
  EXPECT_TRUE(filter->evaluate(obj(R"({"x": {"S": "mine"}})")));
  // With a ProjectionExpression too, and an empty map of the request's own
  // is still refused as DynamoDB refuses it.
  EXPECT_EQ(refusal("Query", R"({"TableName": "t", "ProjectionExpression": "x",
      "KeyConditions": {"p": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "k"}]}},
      "FilterExpression": "x = :a", "ExpressionAttributeValues": {}})"),
            "ExpressionAttributeValues must not be empty");
}

TEST(LegacyQuery, SelectBesideAttributesToGet) {
  auto read = [](std::string_view op, std::string_view select, std::string_view extra = "") {
    return refusal(op, R"({"TableName": "t", "AttributesToGet": ["a"], "Select": ")" +
                           std::string(select) + R"(", "KeyConditions": {"p":
        {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "k"}]}})" +
                           std::string(extra) + "}");
  };
  EXPECT_EQ(read("Query", "COUNT"),
            "1 validation error detected: Cannot specify the AttributesToGet when choosing to get "
            "only the Count");
  EXPECT_EQ(read("Query", "ALL_ATTRIBUTES"),
            "1 validation error detected: Cannot specify the AttributesToGet when choosing to get "
            "ALL_ATTRIBUTES");
  EXPECT_EQ(read("Query", "ALL_PROJECTED_ATTRIBUTES", R"(, "IndexName": "i")"),
            "1 validation error detected: Cannot specify the AttributesToGet when choosing to get "
            "ALL_PROJECTED_ATTRIBUTES");
  EXPECT_EQ(read("Query", "SPECIFIC_ATTRIBUTES"), "(accepted)");
  EXPECT_EQ(refusal("Scan", R"({"TableName": "t", "AttributesToGet": ["a"], "Select": "COUNT"})"),
            "Cannot specify the AttributesToGet when choosing to get only the Count");
}

TEST(LegacyScan, ScanFilterBecomesAFilterExpression) {
  Parsed p(translated("Scan", R"({"TableName": "t", "ScanFilter": {
      "s": {"ComparisonOperator": "BEGINS_WITH", "AttributeValueList": [{"S": "he"}]},
      "q": {"ComparisonOperator": "NOT_CONTAINS", "AttributeValueList": [{"S": "x"}]}}})"));
  EXPECT_FALSE(p.req.contains("ScanFilter"));
  auto filter = p.condition("FilterExpression");
  p.all_used();
  ASSERT_TRUE(filter);
  EXPECT_FALSE(filter->evaluate(obj(kItem)));  // q is missing: NOT_CONTAINS fails
  EXPECT_TRUE(filter->evaluate(obj(R"({"s": {"S": "hey"}, "q": {"S": "abc"}})")));
  // An empty ScanFilter is no filter.
  json::object req = translated("Scan", R"({"TableName": "t", "ScanFilter": {}})");
  EXPECT_FALSE(req.contains("ScanFilter"));
  EXPECT_FALSE(req.contains("FilterExpression"));
}

// ---------------------------------------------------------------------------
// GetItem and BatchGetItem.

TEST(LegacyGet, AttributesToGetBecomesAProjection) {
  Parsed p(translated("GetItem", R"({"TableName": "t", "Key": {"id": {"S": "1"}},
      "AttributesToGet": ["s", "a.b", "missing"]})"));
  EXPECT_FALSE(p.req.contains("AttributesToGet"));
  auto proj = p.projection();
  p.all_used();
  ASSERT_TRUE(proj);
  EXPECT_EQ(proj->apply(obj(kItem)), obj(R"({"s": {"S": "hello"}, "a.b": {"S": "dotted"}})"));
}

TEST(LegacyGet, BatchGetItemPerTable) {
  json::object req = translated("BatchGetItem", R"({"RequestItems": {
      "t1": {"Keys": [{"id": {"S": "1"}}], "AttributesToGet": ["n"], "ConsistentRead": true},
      "t2": {"Keys": [{"id": {"S": "1"}}], "ProjectionExpression": "s"}}})");
  const json::object& t1 = req.at("RequestItems").at("t1").as_object();
  EXPECT_FALSE(t1.contains("AttributesToGet"));
  EXPECT_TRUE(t1.at("ConsistentRead").as_bool());
  Parsed p(t1);
  auto proj = p.projection();
  p.all_used();
  ASSERT_TRUE(proj);
  EXPECT_EQ(proj->apply(obj(kItem)), obj(R"({"n": {"N": "10"}})"));
  const json::object& t2 = req.at("RequestItems").at("t2").as_object();
  EXPECT_EQ(t2, obj(R"({"Keys": [{"id": {"S": "1"}}], "ProjectionExpression": "s"})"));
  // One bad table refuses the whole request, and nothing is rewritten.
  EXPECT_EQ(refusal("BatchGetItem", R"({"RequestItems": {
      "t1": {"Keys": [], "AttributesToGet": ["n"]},
      "t2": {"Keys": [], "AttributesToGet": ["n"], "ProjectionExpression": "n"}}})"),
            "Can not use both expression and non-expression parameters in the same request: "
            "Non-expression parameters: {AttributesToGet} Expression parameters: "
            "{ProjectionExpression}");
}

TEST(LegacyGet, AttributesToGetValidation) {
  auto get = [](std::string_view list) {
    return refusal("GetItem", R"({"TableName": "t", "Key": {}, "AttributesToGet": )" +
                                  std::string(list) + "}");
  };
  EXPECT_EQ(get("[]"),
            "1 validation error detected: Value '[]' at 'attributesToGet' failed to satisfy "
            "constraint: Member must have length greater than or equal to 1");
  EXPECT_EQ(get(R"(["a", "b", "a"])"),
            "One or more parameter values were invalid: Duplicate value in attribute name: a");
  EXPECT_EQ(
      refusal("BatchGetItem", R"({"RequestItems": {"tb": {"Keys": [], "AttributesToGet": []}}})"),
      "1 validation error detected: Value '[]' at 'requestItems.tb.member.attributesToGet' "
      "failed to satisfy constraint: Member must have length greater than or equal to 1");
}

// ---------------------------------------------------------------------------
// The two styles together.

TEST(LegacyStyles, MixingIsRefusedWithBothListsInDynamoDbsOrder) {
  const std::string mix =
      "Can not use both expression and non-expression parameters in the same request: ";
  EXPECT_EQ(refusal("GetItem", R"({"TableName": "t", "Key": {}, "AttributesToGet": ["a"],
                                   "ProjectionExpression": "a"})"),
            mix +
                "Non-expression parameters: {AttributesToGet} Expression parameters: "
                "{ProjectionExpression}");
  EXPECT_EQ(
      refusal("PutItem", R"J({"TableName": "t", "Item": {}, "Expected": {"a": {"Exists": false}},
                                   "ConditionalOperator": "AND",
                                   "ConditionExpression": "attribute_exists(a)"})J"),
      mix +
          "Non-expression parameters: {Expected, ConditionalOperator} Expression "
          "parameters: {ConditionExpression}");
  EXPECT_EQ(refusal("UpdateItem", R"J({"TableName": "t", "Key": {},
      "AttributeUpdates": {"a": {"Value": {"S": "v"}}}, "Expected": {"a": {"Exists": false}},
      "ConditionalOperator": "AND", "UpdateExpression": "SET a = :v",
      "ConditionExpression": "attribute_exists(a)", "ExpressionAttributeValues": {":v": {"S": "x"}}})J"),
            mix +
                "Non-expression parameters: {AttributeUpdates, Expected, ConditionalOperator} "
                "Expression parameters: {UpdateExpression, ConditionExpression}");
  EXPECT_EQ(refusal("Query", R"({"TableName": "t", "AttributesToGet": ["a"],
      "QueryFilter": {"a": {"ComparisonOperator": "NULL"}}, "ConditionalOperator": "OR",
      "KeyConditions": {"p": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "k"}]}},
      "ProjectionExpression": "a", "FilterExpression": "a = :v", "KeyConditionExpression": "p = :v",
      "ExpressionAttributeValues": {":v": {"S": "x"}}})"),
            mix +
                "Non-expression parameters: {AttributesToGet, QueryFilter, ConditionalOperator, "
                "KeyConditions} Expression parameters: {ProjectionExpression, FilterExpression, "
                "KeyConditionExpression}");
  // Without KeyConditionExpression, KeyConditions is not counted.
  EXPECT_EQ(
      refusal("Query", R"({"TableName": "t", "QueryFilter": {"a": {"ComparisonOperator": "NULL"}},
      "KeyConditions": {"p": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "k"}]}},
      "FilterExpression": "a = :v", "ExpressionAttributeValues": {":v": {"S": "x"}}})"),
      mix +
          "Non-expression parameters: {QueryFilter} Expression parameters: "
          "{FilterExpression}");
  EXPECT_EQ(
      refusal("Scan", R"({"TableName": "t", "ScanFilter": {"a": {"ComparisonOperator": "NULL"}},
      "ProjectionExpression": "b"})"),
      mix +
          "Non-expression parameters: {ScanFilter} Expression parameters: "
          "{ProjectionExpression}");
  EXPECT_EQ(refusal("Scan", R"({"TableName": "t", "ConditionalOperator": "AND",
      "FilterExpression": "a = :v", "ExpressionAttributeValues": {":v": {"S": "x"}}})"),
            mix +
                "Non-expression parameters: {ConditionalOperator} Expression parameters: "
                "{FilterExpression}");
}

TEST(LegacyStyles, PlaceholderMapsNeedAnExpression) {
  EXPECT_EQ(
      refusal("PutItem", R"({"TableName": "t", "Item": {}, "Expected": {"a": {"Exists": false}},
                                   "ExpressionAttributeNames": {"#a": "a"},
                                   "ExpressionAttributeValues": {":a": {"S": "x"}}})"),
      "ExpressionAttributeNames can only be specified when using expressions");
  EXPECT_EQ(
      refusal("PutItem", R"({"TableName": "t", "Item": {}, "Expected": {"a": {"Exists": false}},
                                   "ExpressionAttributeValues": {":a": {"S": "x"}}})"),
      "ExpressionAttributeValues can only be specified when using expressions: "
      "ConditionExpression is null");
  EXPECT_EQ(refusal("UpdateItem", R"({"TableName": "t", "Key": {},
                                      "ExpressionAttributeValues": {":a": {"S": "x"}}})"),
            "ExpressionAttributeValues can only be specified when using expressions: "
            "UpdateExpression and ConditionExpression are null");
  EXPECT_EQ(refusal("Query", R"({"TableName": "t", "ProjectionExpression": "a",
      "KeyConditions": {"p": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "k"}]}},
      "ExpressionAttributeValues": {":a": {"S": "x"}}})"),
            "ExpressionAttributeValues can only be specified when using expressions: "
            "FilterExpression and KeyConditionExpression are null");
  EXPECT_EQ(
      refusal("Scan", R"({"TableName": "t", "ExpressionAttributeValues": {":a": {"S": "x"}}})"),
      "ExpressionAttributeValues can only be specified when using expressions: "
      "FilterExpression is null");
  EXPECT_EQ(refusal("GetItem", R"({"TableName": "t", "Key": {}, "AttributesToGet": ["a"],
                                   "ExpressionAttributeNames": {"#a": "a"}})"),
            "ExpressionAttributeNames can only be specified when using expressions");
  // Expression requests are untouched.
  json::object plain = obj(R"({"TableName": "t", "FilterExpression": "#a = :a",
      "ExpressionAttributeNames": {"#a": "a"}, "ExpressionAttributeValues": {":a": {"S": "x"}}})");
  EXPECT_EQ(translated("Scan", json::serialize(plain)), plain);
}

TEST(LegacyStyles, ConditionalOperatorNeedsTwoConditions) {
  const std::string without = "ConditionalOperator cannot be used without Filter or Expected";
  const std::string one =
      "ConditionalOperator can only be used when Filter or Expected has two or more elements";
  EXPECT_EQ(refusal("Scan", R"({"TableName": "t", "ConditionalOperator": "AND"})"), without);
  EXPECT_EQ(refusal("Scan", R"({"TableName": "t", "ConditionalOperator": "OR", "ScanFilter": {}})"),
            without);
  EXPECT_EQ(refusal("Scan", R"({"TableName": "t", "ConditionalOperator": "OR",
      "ScanFilter": {"a": {"ComparisonOperator": "NULL"}}})"),
            one);
  EXPECT_EQ(refusal("UpdateItem", R"({"TableName": "t", "Key": {}, "ConditionalOperator": "AND",
      "AttributeUpdates": {"a": {"Value": {"S": "v"}}}})"),
            without);
  EXPECT_EQ(refusal("DeleteItem", R"({"TableName": "t", "Key": {}, "ConditionalOperator": "AND",
      "Expected": {"a": {"Exists": false}}})"),
            one);
  EXPECT_EQ(refusal("Query", R"({"TableName": "t", "ConditionalOperator": "AND"})"), without);
  EXPECT_EQ(refusal("Scan", R"({"TableName": "t", "ConditionalOperator": "and",
      "ScanFilter": {"a": {"ComparisonOperator": "NULL"}, "b": {"ComparisonOperator": "NULL"}}})"),
            "1 validation error detected: Value 'and' at 'conditionalOperator' failed to satisfy "
            "constraint: Member must satisfy enum value set: [OR, AND]");
}

// ---------------------------------------------------------------------------
// Hostile input: wrong JSON types anywhere are a ValidationException, never
// a crash or an exception.

TEST(LegacyHostile, WrongJsonTypesAreValidationErrors) {
  const char* cases[][2] = {
      {"PutItem", R"({"Expected": "x"})"},
      {"PutItem", R"({"Expected": {"a": 1}})"},
      {"PutItem", R"({"Expected": {"a": {"Exists": "yes"}}})"},
      {"PutItem", R"({"Expected": {"a": {"Value": "x"}}})"},
      {"PutItem", R"({"Expected": {"a": {"Value": {"S": 1}}}})"},
      {"PutItem", R"({"Expected": {"a": {"ComparisonOperator": 7, "AttributeValueList": []}}})"},
      {"PutItem", R"({"Expected": {"a": {"ComparisonOperator": "IN", "AttributeValueList": {}}}})"},
      {"PutItem",
       R"({"Expected": {"a": {"ComparisonOperator": "IN", "AttributeValueList": [1]}}})"},
      {"PutItem", R"({"ConditionalOperator": ["OR"], "Expected": {}})"},
      {"UpdateItem", R"({"AttributeUpdates": []})"},
      {"UpdateItem", R"({"AttributeUpdates": {"a": null}})"},
      {"UpdateItem", R"({"AttributeUpdates": {"a": {"Action": 1, "Value": {"S": "x"}}}})"},
      {"UpdateItem", R"({"AttributeUpdates": {"a": {"Value": {"S": "x", "N": "1"}}}})"},
      {"Query", R"({"KeyConditions": [1]})"},
      {"Query", R"({"KeyConditions": {"p": "EQ"}})"},
      {"Query",
       R"({"QueryFilter": {"a": {"ComparisonOperator": "EQ", "AttributeValueList": "x"}}})"},
      {"Scan", R"({"ScanFilter": true})"},
      {"Scan", R"({"AttributesToGet": "a"})"},
      {"Scan", R"({"AttributesToGet": [1]})"},
      {"GetItem", R"({"AttributesToGet": {"a": 1}})"},
      {"BatchGetItem", R"({"RequestItems": {"t": {"AttributesToGet": [null]}}})"},
  };
  for (auto& [op, request] : cases) {
    std::string text = refusal(op, request);
    EXPECT_NE(text, "(accepted)") << op << " " << request;
  }
  // Things the operation itself refuses later are left alone.
  for (std::string_view request : {R"({"RequestItems": 5})", R"({"RequestItems": {"t": 5}})", "{}"})
    EXPECT_EQ(refusal("BatchGetItem", request), "(accepted)");
  EXPECT_EQ(refusal("ListTables", R"({"Expected": 5})"), "(accepted)");
}

TEST(LegacyHostile, NullMembersCountAsAbsent) {
  json::object req = translated("Scan", R"({"TableName": "t", "ScanFilter": null,
      "ConditionalOperator": null, "AttributesToGet": null, "FilterExpression": "a = :v",
      "ExpressionAttributeValues": {":v": {"S": "x"}}})");
  EXPECT_FALSE(req.contains("ScanFilter"));
  EXPECT_FALSE(req.contains("AttributesToGet"));
  EXPECT_EQ(text_of(req, "FilterExpression"), "a = :v");
}

TEST(LegacyHostile, ManyConditionsStillParse) {
  // Many entries: every placeholder distinct and used, and the text stays
  // within the parser's limits for a realistic number of conditions.
  std::string expected = "{";
  for (int i = 0; i < 90; ++i)
    expected += (i ? ", " : "") + ("\"attr" + std::to_string(i)) +
                R"(": {"ComparisonOperator": "NE", "AttributeValueList": [{"N": "1"}]})";
  expected += "}";
  EXPECT_TRUE(expected_holds(expected, kItem));
}

}  // namespace
}  // namespace nimbus::services::dynamodb
