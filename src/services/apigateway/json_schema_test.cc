#include "services/apigateway/json_schema.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace nimbus::services::apigateway {
namespace {

using Violations = std::vector<std::string>;

Violations check(std::string_view schema, std::string_view instance) {
  auto s = JsonSchema::parse(schema);
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error());
  if (!s.ok()) return {"schema refused"};
  return s->validate(boost::json::parse(instance));
}

// The validator's wording, as API Gateway shows it in validationErrorString.
TEST(JsonSchema, RequiredAndType) {
  const char* schema = R"({"type": "object", "required": ["price", "name"],
      "properties": {"name": {"type": "string"}, "price": {"type": "integer"}}})";
  EXPECT_TRUE(check(schema, R"({"name": "a", "price": 3})").empty());
  EXPECT_EQ(check(schema, R"({})"),
            Violations{R"(object has missing required properties (["name","price"]))"});
  EXPECT_EQ(check(schema, R"({"name": "a", "price": "3"})"),
            Violations{R"(instance type (string) does not match any allowed primitive type )"
                       R"((allowed: ["integer"]))"});
  EXPECT_EQ(check(schema, R"([])"),
            Violations{R"(instance type (array) does not match any allowed primitive type )"
                       R"((allowed: ["object"]))"});
  // 1.5 is a number, not an integer; integers are numbers.
  EXPECT_EQ(check(R"({"type": "integer"})", "1.5").size(), 1u);
  EXPECT_TRUE(check(R"({"type": "number"})", "7").empty());
  EXPECT_TRUE(check(R"({"type": ["string", "null"]})", "null").empty());
}

TEST(JsonSchema, AdditionalProperties) {
  const char* schema =
      R"({"properties": {"a": {}}, "patternProperties": {"^x-": {"type": "string"}},
      "additionalProperties": false})";
  EXPECT_TRUE(check(schema, R"({"a": 1, "x-b": "s"})").empty());
  EXPECT_EQ(check(schema, R"({"a": 1, "z": 2, "b": 3})"),
            Violations{R"(object instance has properties which are not allowed by the schema: )"
                       R"(["b","z"])"});
  EXPECT_EQ(check(schema, R"({"x-b": 1})").size(), 1u);  // patternProperties schema applies
  EXPECT_EQ(check(R"({"additionalProperties": {"type": "integer"}})", R"({"q": "s"})").size(), 1u);
}

TEST(JsonSchema, NumbersAndStrings) {
  EXPECT_EQ(
      check(R"({"minimum": 0})", "-1"),
      Violations{"numeric instance is lower than the required minimum (minimum: 0, found: -1)"});
  EXPECT_EQ(check(R"({"maximum": 10})", "10.5"),
            Violations{"numeric instance is greater than the required maximum (maximum: 10, found: "
                       "10.5)"});
  EXPECT_EQ(check(R"({"minimum": 0, "exclusiveMinimum": true})", "0"),
            Violations{"numeric instance is not strictly greater than the required minimum 0"});
  EXPECT_EQ(check(R"({"maximum": 5, "exclusiveMaximum": true})", "5"),
            Violations{"numeric instance is not strictly lower than the required maximum 5"});
  EXPECT_TRUE(check(R"({"maximum": 5, "exclusiveMaximum": true})", "4.99").empty());
  EXPECT_EQ(check(R"({"multipleOf": 3})", "7"),
            Violations{"remainder of division is not zero (7 / 3)"});
  EXPECT_TRUE(check(R"({"multipleOf": 0.1})", "0.3").empty());
  EXPECT_EQ(check(R"({"minLength": 5})", R"("abc")"),
            Violations{R"(string "abc" is too short (length: 3, required minimum: 5))"});
  EXPECT_EQ(check(R"({"maxLength": 2})", R"("abc")"),
            Violations{R"(string "abc" is too long (length: 3, maximum allowed: 2))"});
  // Lengths count characters, not bytes.
  EXPECT_TRUE(check(R"({"maxLength": 2})", "\"\xC3\xBC\xC3\xBC\"").empty());
  EXPECT_EQ(check(R"({"pattern": "^[a-z]+$"})", R"("ab1")"),
            Violations{R"(ECMA 262 regex "^[a-z]+$" does not match input string "ab1")"});
  EXPECT_TRUE(check(R"({"pattern": "b"})", R"("abc")").empty());  // unanchored search
  // String keywords ignore non-strings.
  EXPECT_TRUE(check(R"({"minLength": 5, "minimum": 3})", "true").empty());
}

TEST(JsonSchema, EnumUsesJsonEquality) {
  const char* schema = R"({"enum": ["a", 1, {"k": [1, 2]}]})";
  EXPECT_TRUE(check(schema, R"("a")").empty());
  EXPECT_TRUE(check(schema, "1.0").empty());
  EXPECT_TRUE(check(schema, R"({"k": [1, 2]})").empty());
  EXPECT_EQ(
      check(schema, R"("b")"),
      Violations{
          R"(instance value ("b") not found in enum (possible values: ["a",1,{"k":[1,2]}]))"});
}

TEST(JsonSchema, Arrays) {
  const char* schema = R"({"type": "array", "items": {"type": "string"}, "minItems": 2,
      "maxItems": 3, "uniqueItems": true})";
  EXPECT_TRUE(check(schema, R"(["a", "b"])").empty());
  EXPECT_EQ(check(schema, R"(["a"])"),
            Violations{"array is too short: must have at least 2 elements but instance has 1 "
                       "elements"});
  EXPECT_EQ(check(schema, R"(["a","b","c","d"])"),
            Violations{"array is too long: must have at most 3 elements but instance has 4 "
                       "elements"});
  EXPECT_EQ(check(schema, R"(["a", "a"])"),
            Violations{"array must not contain duplicate elements"});
  EXPECT_EQ(check(schema, R"(["a", 2])").size(), 1u);
  const char* tuple = R"({"items": [{"type": "integer"}], "additionalItems": false})";
  EXPECT_TRUE(check(tuple, "[1]").empty());
  EXPECT_EQ(check(tuple, "[1, 2]"),
            Violations{"schema only allows 1 elements in array but instance has 2 elements"});
}

// Nested violations are all reported, like API Gateway's list.
TEST(JsonSchema, NestedViolationsAccumulate) {
  const char* schema = R"({"properties": {"items": {"type": "array", "items": {
      "type": "object", "required": ["sku"]}}}})";
  auto v = check(schema, R"({"items": [{}, {"sku": 1}, {}]})");
  EXPECT_EQ(v.size(), 2u);
  EXPECT_EQ(validation_error_string(v), R"([object has missing required properties (["sku"]), )"
                                        R"(object has missing required properties (["sku"])])");
}

TEST(JsonSchema, RefsToDefinitions) {
  const char* schema = R"({"definitions": {"pos": {"type": "integer", "minimum": 1},
      "node": {"type": "object", "properties": {"next": {"$ref": "#/definitions/node"},
                                                "n": {"$ref": "#/definitions/pos"}}}},
      "$ref": "#/definitions/node"})";
  EXPECT_TRUE(check(schema, R"({"n": 1, "next": {"n": 2, "next": {}}})").empty());
  EXPECT_EQ(check(schema, R"({"next": {"next": {"n": 0}}})").size(), 1u);
  // Pointer escapes: ~1 is '/', ~0 is '~'.
  EXPECT_EQ(
      check(R"({"definitions": {"a/b~": {"type": "string"}}, "$ref": "#/definitions/a~1b~0"})", "1")
          .size(),
      1u);
}

TEST(JsonSchema, Combinators) {
  EXPECT_EQ(check(R"({"allOf": [{"type": "integer"}, {"minimum": 5}]})", "3"),
            Violations{"instance failed to match all required schemas (matched only 1 out of 2)"});
  EXPECT_EQ(check(R"({"anyOf": [{"type": "string"}, {"type": "boolean"}]})", "3"),
            Violations{"instance failed to match at least one required schema among 2"});
  EXPECT_TRUE(check(R"({"anyOf": [{"type": "string"}, {"type": "integer"}]})", "3").empty());
  EXPECT_EQ(check(R"({"oneOf": [{"type": "integer"}, {"type": "number"}]})", "3"),
            Violations{"instance failed to match exactly one schema (matched 2 out of 2)"});
  EXPECT_TRUE(check(R"({"oneOf": [{"type": "integer"}, {"type": "string"}]})", "3").empty());
  EXPECT_EQ(check(R"({"not": {"type": "null"}})", "null"),
            Violations{"instance matched a schema which it should not have"});
}

TEST(JsonSchema, DependenciesAndPropertyCounts) {
  EXPECT_EQ(check(R"({"dependencies": {"card": ["billing"]}})", R"({"card": 1})"),
            Violations{R"(property "card" of object has missing property dependencies )"
                       R"((schema requires ["billing"]; missing: ["billing"]))"});
  EXPECT_EQ(check(R"({"minProperties": 2})", R"({"a": 1})"),
            Violations{"object has too few properties (found 1 but schema requires at least 2)"});
  EXPECT_EQ(check(R"({"maxProperties": 0})", R"({"a": 1})"),
            Violations{"object has too many properties (found 1 but schema requires at most 0)"});
}

// API Gateway ignores "format".
TEST(JsonSchema, FormatIgnored) {
  EXPECT_TRUE(check(R"({"type": "string", "format": "email"})", R"("not an email")").empty());
}

TEST(JsonSchema, RefusesBadSchemas) {
  for (const char* bad : {"", "[]", "not json", R"({"$ref": "#/definitions/missing"})",
                          R"({"$ref": "https://example.com/schema"})", R"({"pattern": "("})",
                          R"({"pattern": "a{5000}"})", R"({"properties": {"a": {"pattern": "["}}})",
                          R"({"patternProperties": {"(": {}}})"})
    EXPECT_FALSE(JsonSchema::parse(bad).ok()) << bad;
  EXPECT_FALSE(JsonSchema::parse("{\"pattern\": \"" + std::string(1001, 'a') + "\"}").ok());
}

// Hostile schemas stop with a violation instead of running away.
TEST(JsonSchema, GuardsAgainstRunawayValidation) {
  auto loop = JsonSchema::parse(R"({"$ref": "#"})");
  ASSERT_TRUE(loop.ok());
  EXPECT_EQ(loop->validate(boost::json::parse("1")).size(), 1u);
  auto fan = JsonSchema::parse(R"({"anyOf": [{"$ref": "#"}, {"$ref": "#"}]})");
  ASSERT_TRUE(fan.ok());
  EXPECT_FALSE(fan->validate(boost::json::parse("1")).empty());
  auto pattern = JsonSchema::parse(R"({"pattern": "^(a+)+$"})");
  ASSERT_TRUE(pattern.ok());
  EXPECT_FALSE(pattern->validate(boost::json::value(std::string(5000, 'a') + "b")).empty());
  EXPECT_EQ(pattern->validate(boost::json::value(std::string(20000, 'a'))).size(), 1u);
}

TEST(JsonSchema, ValidatesBodies) {
  auto s = JsonSchema::parse(R"({"type": "object"})");
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->validate_body(R"({"a": 1})").empty());
  EXPECT_EQ(s->validate_body("{bad"), Violations{"request body is not valid JSON"});
  EXPECT_EQ(s->validate_body("").size(), 1u);  // validated as null
  EXPECT_TRUE(JsonSchema::parse("{}")->validate_body("").empty());
}

// BAD_REQUEST_BODY: 400 {"message": "Invalid request body"}, x-amzn-ErrorType BadRequestException.
TEST(RequestValidation, InvalidBodyResponse) {
  auto r = invalid_body_response();
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, R"({"message": "Invalid request body"})");
  EXPECT_EQ(r.headers.get_or("x-amzn-ErrorType"), "BadRequestException");
  EXPECT_EQ(r.headers.get_or("Content-Type"), "application/json");
}

// BAD_REQUEST_PARAMETERS: "Missing required request parameters: [x-foo, q]".
TEST(RequestValidation, MissingParameters) {
  http::Request req;
  req.query = "present=1&empty=";
  req.headers.add("X-Present", "1");
  RequiredParameters required{{"present", "empty", "q"}, {"x-present", "x-foo"}, {"id", "other"}};
  auto missing = missing_parameters(req, {{"id", "7"}}, required);
  EXPECT_EQ(missing, (Violations{"q", "x-foo", "other"}));
  auto r = missing_parameters_response(missing);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, R"({"message": "Missing required request parameters: [q, x-foo, other]"})");
  EXPECT_EQ(r.headers.get_or("x-amzn-ErrorType"), "BadRequestException");
  EXPECT_TRUE(
      missing_parameters(req, {}, RequiredParameters{{"present"}, {"X-PRESENT"}, {}}).empty());
}

}  // namespace
}  // namespace nimbus::services::apigateway
