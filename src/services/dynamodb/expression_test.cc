#include "services/dynamodb/expression.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <string>

namespace nimbus::services::dynamodb {
namespace {

namespace json = boost::json;

json::object obj(std::string_view text) {
  if (text.empty()) return {};
  return json::parse(text).as_object();
}

// The attribute maps of one request; kept alive while a context points at them.
struct Request {
  Request(std::string_view values_json, std::string_view names_json)
      : values(obj(values_json)), names(obj(names_json)) {}
  json::object values;
  json::object names;
  ExpressionContext context() {
    auto ctx = ExpressionContext::create(names.empty() ? nullptr : &names,
                                         values.empty() ? nullptr : &values);
    EXPECT_TRUE(ctx.ok()) << ctx.error();
    return std::move(ctx).value();
  }
};

Result<ConditionExpression, std::string> cond(std::string_view text, std::string_view values = "",
                                              std::string_view names = "") {
  Request r(values, names);
  auto ctx = r.context();
  return ConditionExpression::parse(text, ctx);
}

std::string cond_error(std::string_view text, std::string_view values = "",
                       std::string_view names = "") {
  auto c = cond(text, values, names);
  return c.ok() ? "(parsed)" : c.error();
}

const char* kItem = R"({
  "s": {"S": "banana"}, "n": {"N": "10"}, "b": {"B": "AQID"}, "t": {"BOOL": true},
  "nul": {"NULL": true}, "ss": {"SS": ["red", "green"]}, "ns": {"NS": ["1", "5"]},
  "bs": {"BS": ["AQ==", "Ag=="]}, "u": {"S": "\u00e9t\u00e9"},
  "l": {"L": [{"S": "a"}, {"N": "3"}, {"M": {"v": {"N": "1"}}}]},
  "m": {"M": {"nested": {"M": {"deep": {"S": "x"}}},
              "arr": {"L": [{"M": {"v": {"N": "1"}}}, {"M": {"v": {"N": "2"}}}]}}},
  "dotted.name": {"S": "yes"}, "status": {"S": "open"}})";

// Parses and evaluates on kItem; a parse failure fails the test.
bool holds(std::string_view text, std::string_view values = "", std::string_view names = "",
           const char* item = kItem) {
  auto c = cond(text, values, names);
  EXPECT_TRUE(c.ok()) << text << ": " << (c.ok() ? "" : c.error());
  if (!c.ok()) return false;
  return c->evaluate(obj(item));
}

// ---------------------------------------------------------------------------
// Paths, names and values.

// Document paths: nested maps with ".", list elements with "[n]", whitespace
// between the parts, and a path into a missing element.
TEST(ExpressionPaths, NestedMapsAndListIndexes) {
  EXPECT_TRUE(holds("m.nested.deep = :x", R"({":x": {"S": "x"}})"));
  EXPECT_TRUE(holds("m.arr[1].v = :two", R"({":two": {"N": "2"}})"));
  EXPECT_TRUE(holds("m . arr [ 1 ] . v = :two", R"({":two": {"N": "2"}})"));
  EXPECT_TRUE(holds("l[0] = :a", R"({":a": {"S": "a"}})"));
  EXPECT_TRUE(holds("l[2].v = :one", R"({":one": {"N": "1"}})"));
  EXPECT_TRUE(holds("attribute_not_exists(l[9])"));
  EXPECT_TRUE(holds("attribute_not_exists(s.x)"));   // a string has no members
  EXPECT_TRUE(holds("attribute_not_exists(m[0])"));  // a map is not a list
  EXPECT_FALSE(holds("m.arr[0].v = :two", R"({":two": {"N": "2"}})"));
}

// A #name placeholder is always one path component, even when the name it
// stands for contains dots; placeholders mix with plain names.
TEST(ExpressionPaths, PlaceholdersAreSingleComponents) {
  EXPECT_TRUE(holds("#d = :y", R"({":y": {"S": "yes"}})", R"({"#d": "dotted.name"})"));
  EXPECT_TRUE(holds("#m.#n.deep = :x", R"({":x": {"S": "x"}})", R"({"#m": "m", "#n": "nested"})"));
  EXPECT_TRUE(holds("#st = :o", R"({":o": {"S": "open"}})", R"({"#st": "status"})"));
}

// DynamoDB prints paths as "[a, b, [0]]" in its messages.
TEST(ExpressionPaths, PathToString) {
  EXPECT_EQ(path_to_string(Path{std::string("a"), std::string("b"), uint32_t{0}}), "[a, b, [0]]");
  EXPECT_EQ(path_to_string(Path{std::string("x")}), "[x]");
}

// A #name or :value the request does not define is a ValidationException
// naming it.
TEST(ExpressionNames, UndefinedNameOrValue) {
  EXPECT_EQ(cond_error("#a = :v", R"({":v": {"N": "1"}})"),
            "Invalid ConditionExpression: An expression attribute name used in the document "
            "path is not defined; attribute name: #a");
  EXPECT_EQ(cond_error("a = :v", R"({":w": {"N": "1"}})"),
            "Invalid ConditionExpression: An expression attribute value used in expression is "
            "not defined; attribute value: :v");
}

// Names and values must each be used by some expression of the request
// (names are reported before values); use by any expression counts.
TEST(ExpressionNames, UnusedAcrossExpressionsOfOneRequest) {
  Request r(R"({":x": {"N": "1"}, ":y": {"N": "2"}})", R"({"#a": "a", "#b": "b"})");
  auto ctx = r.context();
  ASSERT_TRUE(ConditionExpression::parse("#a = :x", ctx).ok());
  auto unused = ctx.check_unused();
  ASSERT_FALSE(unused.ok());
  EXPECT_EQ(unused.error(),
            "Value provided in ExpressionAttributeNames unused in expressions: keys: {#b}");
  ASSERT_TRUE(ProjectionExpression::parse("#b", ctx).ok());
  unused = ctx.check_unused();
  ASSERT_FALSE(unused.ok());
  EXPECT_EQ(unused.error(),
            "Value provided in ExpressionAttributeValues unused in expressions: keys: {:y}");
  ASSERT_TRUE(UpdateExpression::parse("SET c = :y", ctx).ok());
  EXPECT_TRUE(ctx.check_unused().ok());
}

// The maps themselves: empty maps and keys without their sigil are refused.
TEST(ExpressionNames, ContextValidatesKeys) {
  json::object empty;
  auto e = ExpressionContext::create(&empty, nullptr);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error(), "ExpressionAttributeNames must not be empty");
  json::object names = obj(R"({"a": "x"})");
  auto n = ExpressionContext::create(&names, nullptr);
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.error(), "ExpressionAttributeNames contains invalid key: Syntax error; key: \"a\"");
  json::object values = obj(R"({"b": {"N": "1"}})");
  auto v = ExpressionContext::create(nullptr, &values);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error(), "ExpressionAttributeValues contains invalid key: Syntax error; key: \"b\"");
}

// ---------------------------------------------------------------------------
// Conditions.

// Precedence: comparisons bind tightest, then NOT, then AND, then OR;
// parentheses override; keywords are case-insensitive.
TEST(ExpressionCondition, Precedence) {
  const char* v = R"({":yes": {"N": "10"}, ":no": {"N": "11"}})";
  EXPECT_TRUE(holds("n = :yes OR n = :yes AND n = :no", v));  // true OR (true AND false)
  EXPECT_FALSE(holds("(n = :yes OR n = :yes) AND n = :no", v));
  EXPECT_TRUE(holds("NOT n = :no AND n = :yes", v));  // (NOT false) AND true
  EXPECT_FALSE(holds("NOT (n = :no OR n = :yes)", v));
  EXPECT_TRUE(holds("NOT NOT NOT NOT n = :yes", v));
  EXPECT_TRUE(holds("n = :no or n = :yes and not n = :no", v));
  EXPECT_FALSE(holds("n = :no oR n = :no", v));
}

// Numbers compare numerically, strings by UTF-8 bytes, binary by decoded
// unsigned bytes.
TEST(ExpressionCondition, OrderingByType) {
  EXPECT_TRUE(holds("n > :nine", R"({":nine": {"N": "9"}})"));  // not "10" < "9"
  EXPECT_TRUE(holds("n = :ten", R"({":ten": {"N": "10.0"}})"));
  EXPECT_TRUE(holds("n >= :ten AND n <= :ten", R"({":ten": {"N": "1E1"}})"));
  EXPECT_TRUE(holds("s < :longer", R"({":longer": {"S": "banana_"}})"));
  EXPECT_TRUE(holds("s > :apple", R"({":apple": {"S": "apple"}})"));
  EXPECT_TRUE(holds("u > :z", R"({":z": {"S": "z"}})"));  // 0xC3 sorts after 'z'
  EXPECT_TRUE(holds("b > :short", R"({":short": {"B": "AQI="}})"));
  EXPECT_TRUE(holds("b < :high", R"({":high": {"B": "gA=="}})"));  // 0x80 unsigned
}

// Values of different types are never equal nor ordered (false, not an
// error); a missing attribute equals nothing and differs from everything.
TEST(ExpressionCondition, TypeMismatchAndMissingAttributes) {
  const char* one = R"({":one": {"N": "1"}, ":s": {"S": "10"}})";
  EXPECT_FALSE(holds("s > :one", one));
  EXPECT_TRUE(holds("s <> :one", one));
  EXPECT_FALSE(holds("n = :s", one));
  EXPECT_FALSE(holds("absent = :one", one));
  EXPECT_TRUE(holds("absent <> :one", one));
  EXPECT_FALSE(holds("absent < :one", one));
  EXPECT_FALSE(holds("absent = gone"));
  EXPECT_TRUE(holds("absent <> gone"));
  EXPECT_FALSE(holds("l < :one", one));  // a list from the item: just false
}

// Equality is deep: sets ignore order, numbers inside compare numerically,
// maps compare by content.
TEST(ExpressionCondition, DeepEquality) {
  EXPECT_TRUE(holds("ss = :ss", R"({":ss": {"SS": ["green", "red"]}})"));
  EXPECT_TRUE(holds("ns = :ns", R"({":ns": {"NS": ["5.0", "1"]}})"));
  EXPECT_FALSE(holds("ss = :ss", R"({":ss": {"SS": ["green"]}})"));
  EXPECT_TRUE(holds("m.nested = :m", R"({":m": {"M": {"deep": {"S": "x"}}}})"));
  EXPECT_TRUE(holds("l[2] = :m", R"({":m": {"M": {"v": {"N": "1.00"}}}})"));
  EXPECT_TRUE(holds("bs = :bs", R"({":bs": {"BS": ["Ag==", "AQ=="]}})"));
  EXPECT_TRUE(
      holds("t = :t AND nul = :null", R"({":t": {"BOOL": true}, ":null": {"NULL": true}})"));
}

// BETWEEN is inclusive and needs all three of one orderable type; IN is
// equality with any listed value, whatever their types.
TEST(ExpressionCondition, BetweenAndIn) {
  EXPECT_TRUE(holds("n BETWEEN :lo AND :hi", R"({":lo": {"N": "10"}, ":hi": {"N": "20"}})"));
  EXPECT_FALSE(holds("n between :lo and :hi", R"({":lo": {"N": "11"}, ":hi": {"N": "20"}})"));
  EXPECT_FALSE(holds("s BETWEEN :lo AND :hi", R"({":lo": {"N": "1"}, ":hi": {"N": "2"}})"));
  EXPECT_FALSE(holds("absent BETWEEN :lo AND :hi", R"({":lo": {"N": "1"}, ":hi": {"N": "2"}})"));
  EXPECT_TRUE(holds("s IN (:a, :b)", R"({":a": {"N": "1"}, ":b": {"S": "banana"}})"));
  EXPECT_FALSE(holds("s IN (:a)", R"({":a": {"S": "apple"}})"));
  EXPECT_FALSE(holds("absent IN (:a)", R"({":a": {"S": "apple"}})"));
  EXPECT_TRUE(holds("ss IN (:a, ss)", R"({":a": {"S": "x"}})"));
}

// attribute_exists / attribute_not_exists (a NULL attribute exists) and
// attribute_type.
TEST(ExpressionCondition, ExistenceAndTypeFunctions) {
  EXPECT_TRUE(holds("attribute_exists(nul) AND attribute_not_exists(absent)"));
  EXPECT_FALSE(holds("attribute_exists(m.nested.nope)"));
  EXPECT_TRUE(holds("attribute_type(ss, :t)", R"({":t": {"S": "SS"}})"));
  EXPECT_TRUE(holds("attribute_type(nul, :t)", R"({":t": {"S": "NULL"}})"));
  EXPECT_FALSE(holds("attribute_type(n, :t)", R"({":t": {"S": "S"}})"));
  EXPECT_FALSE(holds("attribute_type(absent, :t)", R"({":t": {"S": "S"}})"));
}

// begins_with on strings and binary; contains on substrings, set members
// (numbers numerically) and list elements.
TEST(ExpressionCondition, BeginsWithAndContains) {
  EXPECT_TRUE(holds("begins_with(s, :p)", R"({":p": {"S": "ban"}})"));
  EXPECT_FALSE(holds("begins_with(s, :p)", R"({":p": {"S": "nan"}})"));
  EXPECT_TRUE(holds("begins_with(b, :p)", R"({":p": {"B": "AQI="}})"));
  EXPECT_FALSE(holds("begins_with(n, s)"));  // item types are not checked: false
  EXPECT_TRUE(holds("contains(s, :sub)", R"({":sub": {"S": "nan"}})"));
  EXPECT_TRUE(holds("contains(ss, :red)", R"({":red": {"S": "red"}})"));
  EXPECT_FALSE(holds("contains(ss, :blue)", R"({":blue": {"S": "blue"}})"));
  EXPECT_TRUE(holds("contains(ns, :five)", R"({":five": {"N": "5.0"}})"));
  EXPECT_TRUE(holds("contains(bs, :two)", R"({":two": {"B": "Ag=="}})"));
  EXPECT_TRUE(holds("contains(l, :three)", R"({":three": {"N": "3"}})"));
  EXPECT_TRUE(holds("contains(b, :mid)", R"({":mid": {"B": "Ag=="}})"));
  EXPECT_FALSE(holds("contains(ns, :s)", R"({":s": {"S": "5"}})"));
}

// size() counts string bytes, binary bytes, set/list elements and map
// entries; on other types the comparison is simply false.
TEST(ExpressionCondition, SizeFunction) {
  EXPECT_TRUE(holds("size(s) = :six", R"({":six": {"N": "6"}})"));
  EXPECT_TRUE(holds("size(u) = :five", R"({":five": {"N": "5"}})"));  // "été" is 5 bytes
  EXPECT_TRUE(holds("size(b) = :three", R"({":three": {"N": "3"}})"));
  EXPECT_TRUE(holds("size(ss) = :two AND size(l) = :three AND size(m) = :two",
                    R"({":two": {"N": "2"}, ":three": {"N": "3"}})"));
  EXPECT_TRUE(holds("size(l) > size(ss)"));
  EXPECT_FALSE(holds("size(n) = :two", R"({":two": {"N": "2"}})"));
  EXPECT_FALSE(holds("size(s) = :s", R"({":s": {"S": "6"}})"));
  EXPECT_TRUE(holds("size(:str) = :three", R"({":str": {"S": "abc"}, ":three": {"N": "3"}})"));
}

// Syntax errors name the offending token and the text from the token before
// it to the token after it, as DynamoDB does.
TEST(ExpressionCondition, SyntaxErrors) {
  EXPECT_EQ(cond_error("foo"),
            "Invalid ConditionExpression: Syntax error; token: \"<EOF>\", near: \"foo\"");
  EXPECT_EQ(cond_error("attribute_type()"),
            "Invalid ConditionExpression: Syntax error; token: \")\", near: \"()\"");
  EXPECT_EQ(cond_error("#c =", "", R"({"#c": "c"})"),
            "Invalid ConditionExpression: Syntax error; token: \"<EOF>\", near: \"=\"");
  EXPECT_EQ(cond_error("#l[-1].#c = :v", R"({":v": {"N": "1"}})", R"({"#l": "l", "#c": "c"})"),
            "Invalid ConditionExpression: Syntax error; token: \"-\", near: \"[-1\"");
  EXPECT_EQ(cond_error("#l[abc] = :v", R"({":v": {"N": "1"}})", R"({"#l": "l"})"),
            "Invalid ConditionExpression: Syntax error; token: \"abc\", near: \"[abc]\"");
  EXPECT_EQ(cond_error("NOT #flag", "", R"({"#flag": "f"})"),
            "Invalid ConditionExpression: Syntax error; token: \"<EOF>\", near: \"#flag\"");
  EXPECT_EQ(cond_error("a != :v", R"({":v": {"N": "1"}})"),
            "Invalid ConditionExpression: Syntax error; token: \"!\", near: \"a !=\"");
  EXPECT_EQ(cond_error("a > 4"),
            "Invalid ConditionExpression: Syntax error; token: \"4\", near: \"> 4\"");
  EXPECT_EQ(cond_error("_hidden = :v", R"({":v": {"N": "1"}})"),
            "Invalid ConditionExpression: Syntax error; token: \"_\", near: \"_hidden\"");
  EXPECT_EQ(cond_error("a IN ()"),
            "Invalid ConditionExpression: Syntax error; token: \")\", near: \"()\"");
  // A bare path or value is not a condition, alone or combined.
  for (const char* bare : {"a", ":v", "NOT a", "a AND :v", "a OR NOT :v", "a = :v OR NOT :v"})
    EXPECT_NE(cond_error(bare, R"({":v": {"BOOL": true}})").find("Syntax error"), std::string::npos)
        << bare;
  EXPECT_EQ(cond_error(""), "Invalid ConditionExpression: The expression can not be empty;");
}

// Bare names that are reserved words are refused, anywhere in a path;
// placeholders and function names are not subject to the list.
TEST(ExpressionCondition, ReservedWords) {
  EXPECT_EQ(cond_error("status = :v", R"({":v": {"S": "x"}})"),
            "Invalid ConditionExpression: Attribute name is a reserved keyword; reserved "
            "keyword: status");
  EXPECT_EQ(cond_error("m.COMMENT = :v", R"({":v": {"S": "x"}})"),
            "Invalid ConditionExpression: Attribute name is a reserved keyword; reserved "
            "keyword: COMMENT");
  EXPECT_TRUE(cond("#s = :v AND size(m) > :n", R"({":v": {"S": "x"}, ":n": {"N": "1"}})",
                   R"({"#s": "status"})")
                  .ok());
}

// "((x))" is refused as redundant parentheses; one pair anywhere is fine.
TEST(ExpressionCondition, RedundantParentheses) {
  const char* v = R"({":v": {"N": "1"}})";
  EXPECT_EQ(cond_error("((a = :v))", v),
            "Invalid ConditionExpression: The expression has redundant parentheses;");
  EXPECT_EQ(cond_error("((a)) = :v", v),
            "Invalid ConditionExpression: The expression has redundant parentheses;");
  EXPECT_EQ(cond_error("a = ((:v))", v),
            "Invalid ConditionExpression: The expression has redundant parentheses;");
  EXPECT_TRUE(cond("(a = :v)", v).ok());
  EXPECT_TRUE(cond("((a = :v) AND a = :v)", v).ok());
  EXPECT_TRUE(cond("(a) = (:v)", v).ok());
  EXPECT_TRUE(cond("(size(a)) > :v", v).ok());
  EXPECT_TRUE(cond("(attribute_exists(a))").ok());
}

// Functions: unknown names, update-only functions, and functions used where
// only size() (a value) or only a condition may stand.
TEST(ExpressionCondition, FunctionPlacement) {
  const char* v = R"({":v": {"S": "x"}, ":n": {"N": "1"}})";
  EXPECT_EQ(cond_error("dog(a) = :n", v),
            "Invalid ConditionExpression: Invalid function name; function: dog");
  EXPECT_EQ(cond_error("ATTRIBUTE_EXISTS(a)"),
            "Invalid ConditionExpression: Invalid function name; function: ATTRIBUTE_EXISTS");
  EXPECT_EQ(cond_error("if_not_exists(a, :v) = :v", v),
            "Invalid ConditionExpression: The function is not allowed in a condition "
            "expression; function: if_not_exists");
  EXPECT_EQ(cond_error("size(a)"),
            "Invalid ConditionExpression: The function is not allowed to be used this way in "
            "an expression; function: size");
  EXPECT_EQ(cond_error("begins_with(a, :v) = :n", v),
            "Invalid ConditionExpression: The function is not allowed to be used this way in "
            "an expression; function: begins_with");
  EXPECT_EQ(cond_error("size(contains(a, :v)) = :n", v),
            "Invalid ConditionExpression: The function is not allowed to be used this way in "
            "an expression; function: contains");
}

// Function operands are checked before any item is read: counts, paths where
// a path is required, and the types of constants.
TEST(ExpressionCondition, FunctionOperands) {
  const char* v =
      R"({":v": {"S": "x"}, ":n": {"N": "1"}, ":t": {"S": "STRING"}, ":ss": {"S": "SS"}})";
  EXPECT_EQ(cond_error("size(a, a) = :n", v),
            "Invalid ConditionExpression: Incorrect number of operands for operator or "
            "function; operator or function: size, number of operands: 2");
  EXPECT_EQ(cond_error("contains(a)"),
            "Invalid ConditionExpression: Incorrect number of operands for operator or "
            "function; operator or function: contains, number of operands: 1");
  EXPECT_EQ(cond_error("attribute_exists(:v)", v),
            "Invalid ConditionExpression: Operator or function requires a document path; "
            "operator or function: attribute_exists");
  EXPECT_EQ(cond_error("attribute_type(a, :t)", v),
            "Invalid ConditionExpression: Invalid attribute type name found; type: STRING, "
            "valid types: {S,SS,N,NS,B,BS,BOOL,NULL,L,M}");
  EXPECT_EQ(cond_error("attribute_type(a, :n)", v),
            "Invalid ConditionExpression: Incorrect operand type for operator or function; "
            "operator or function: attribute_type, operand type: N");
  EXPECT_EQ(cond_error("begins_with(a, :n)", v),
            "Invalid ConditionExpression: Incorrect operand type for operator or function; "
            "operator or function: begins_with, operand type: N");
  EXPECT_EQ(cond_error("size(:n) = :n", v),
            "Invalid ConditionExpression: Incorrect operand type for operator or function; "
            "operator or function: size, operand type: N");
  EXPECT_EQ(cond_error("contains(a, a)"),
            "Invalid ConditionExpression: The first operand must be distinct from the "
            "remaining operands for this operator or function; operator: contains, first "
            "operand: [a]");
  EXPECT_EQ(cond_error("a.b = a.b"),
            "Invalid ConditionExpression: The first operand must be distinct from the "
            "remaining operands for this operator or function; operator: =, first operand: "
            "[a, b]");
  EXPECT_TRUE(cond("attribute_type(a, :ss)", v).ok());
}

// Ordering a constant that cannot be ordered is a ValidationException; the
// same value coming from the item only makes the comparison false.
TEST(ExpressionCondition, OrderingConstantTypes) {
  EXPECT_EQ(cond_error("a < :l", R"({":l": {"L": []}})"),
            "Invalid ConditionExpression: Incorrect operand type for operator or function; "
            "operator or function: <, operand type: L");
  EXPECT_EQ(cond_error("a BETWEEN :x AND :y", R"({":x": {"BOOL": true}, ":y": {"N": "1"}})"),
            "Invalid ConditionExpression: Incorrect operand type for operator or function; "
            "operator or function: BETWEEN, operand type: BOOL");
  EXPECT_TRUE(cond("a = :l", R"({":l": {"L": []}})").ok());
}

// BETWEEN bounds given as constants must share a type and be in order.
TEST(ExpressionCondition, BetweenBounds) {
  EXPECT_EQ(cond_error("a BETWEEN :lo AND :hi", R"({":lo": {"N": "5"}, ":hi": {"N": "4"}})"),
            "Invalid ConditionExpression: The BETWEEN operator requires upper bound to be "
            "greater than or equal to lower bound; lower bound operand: AttributeValue: {N:5}, "
            "upper bound operand: AttributeValue: {N:4}");
  EXPECT_EQ(cond_error("a BETWEEN :lo AND :hi", R"({":lo": {"N": "1"}, ":hi": {"S": "a"}})"),
            "Invalid ConditionExpression: The BETWEEN operator requires same data type for "
            "lower and upper bounds; lower bound operand: AttributeValue: {N:1}, upper bound "
            "operand: AttributeValue: {S:a}");
  EXPECT_TRUE(cond("a BETWEEN :lo AND :hi", R"({":lo": {"N": "5"}, ":hi": {"N": "5"}})").ok());
  // A bound from the item is only known at evaluation: false, no error.
  EXPECT_FALSE(holds("n BETWEEN :lo AND ns", R"({":lo": {"N": "1"}})"));
  EXPECT_TRUE(holds("n BETWEEN :lo AND n", R"({":lo": {"N": "1"}})"));
}

// IN takes at most 100 values.
TEST(ExpressionCondition, InOperandLimit) {
  auto build = [](int n) {
    std::string text = "a IN (";
    json::object values;
    for (int i = 0; i < n; ++i) {
      std::string key = ":v" + std::to_string(i);
      text += (i ? "," : "") + key;
      values[key] = json::object{{"N", std::to_string(i)}};
    }
    return std::make_pair(text + ")", json::serialize(values));
  };
  auto [ok_text, ok_values] = build(100);
  EXPECT_TRUE(cond(ok_text, ok_values).ok());
  auto [bad_text, bad_values] = build(101);
  EXPECT_EQ(cond_error(bad_text, bad_values),
            "Invalid ConditionExpression: The IN operator is provided with too many operands; "
            "number of operands: 101");
}

// Limits: 4 KB of text, 300 operators, 32 path levels; deep nesting is
// refused without exhausting the stack.
TEST(ExpressionCondition, Limits) {
  std::string text = "a = :v" + std::string(4090, ' ');
  EXPECT_TRUE(cond(text, R"({":v": {"N": "1"}})").ok());
  text += " ";
  EXPECT_EQ(cond_error(text, R"({":v": {"N": "1"}})"),
            "Invalid ConditionExpression: Expression size has exceeded the maximum allowed "
            "size; expression size: 4097");

  std::string ops = "a = :v";
  for (int i = 1; i < 300; ++i) ops += " OR a = :v";  // 300 comparisons + 299 ORs
  EXPECT_NE(cond_error(ops, R"({":v": {"N": "1"}})").find("operator count: 301"),
            std::string::npos);
  std::string nots;
  for (int i = 0; i < 299; ++i) nots += "NOT ";
  EXPECT_TRUE(cond(nots + "a = :v", R"({":v": {"N": "1"}})").ok());  // 300 operators
  EXPECT_EQ(cond_error("NOT " + nots + "a = :v", R"({":v": {"N": "1"}})"),
            "Invalid ConditionExpression: The expression contains too many operators; "
            "operator count: 301");

  std::string deep = "a";
  for (int i = 1; i < 32; ++i) deep += ".b";
  EXPECT_TRUE(cond("attribute_exists(" + deep + ")").ok());
  EXPECT_EQ(cond_error("attribute_exists(" + deep + ".b)"),
            "Invalid ConditionExpression: The document path has too many nesting levels; "
            "nesting levels: 33");

  std::string calls = "a < ";
  for (int i = 0; i < 1000; ++i) calls += "f(";
  calls += "b" + std::string(1000, ')');
  ASSERT_LE(calls.size(), kMaxExpressionBytes);
  EXPECT_FALSE(cond(calls).ok());
  std::string parens = std::string(2000, '(') + "a<b" + std::string(2000, ')');
  EXPECT_FALSE(cond(parens).ok());
}

// FilterExpression uses the same language; messages name it.
TEST(ExpressionCondition, FilterExpressionWording) {
  Request r("", "");
  auto ctx = r.context();
  auto f = ConditionExpression::parse("a =", ctx, "FilterExpression");
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.error(), "Invalid FilterExpression: Syntax error; token: \"<EOF>\", near: \"=\"");
}

// The top-level attributes a condition reads (Query refuses a filter on keys).
TEST(ExpressionCondition, TopLevelAttributes) {
  auto c = cond("#p = :v AND begins_with(m.x, :v) OR size(l[0]) > :n",
                R"({":v": {"S": "x"}, ":n": {"N": "1"}})", R"({"#p": "pk"})");
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c->top_level_attributes(), (std::set<std::string>{"pk", "m", "l"}));
}

// ---------------------------------------------------------------------------
// Key conditions.

// A table keyed by pk (S) and sk (N), and two variants.
struct KeySchema {
  KeyAttribute hash;
  std::optional<KeyAttribute> range;
};
KeySchema range_schema() {
  return {{"pk", KeyType::kS}, KeyAttribute{"sk", KeyType::kN}};
}

Result<KeyCondition, std::string> key(std::string_view text, std::string_view values,
                                      std::string_view names = "",
                                      const KeySchema& schema = range_schema()) {
  Request r(values, names);
  auto ctx = r.context();
  return parse_key_condition(text, ctx, schema.hash, schema.range);
}

std::string key_error(std::string_view text, std::string_view values, std::string_view names = "",
                      const KeySchema& schema = range_schema()) {
  auto k = key(text, values, names, schema);
  return k.ok() ? "(parsed)" : k.error();
}

const char* kKeyValues = R"({":p": {"S": "p"}, ":a": {"N": "1"}, ":b": {"N": "9"}})";

// Accepted shapes: partition equality alone or ANDed with one sort key
// condition, in either order, with the key on either side, in parentheses.
TEST(ExpressionKeyCondition, AcceptedShapes) {
  using Op = SortKeyCondition::Op;
  auto k = key("pk = :p", kKeyValues);
  ASSERT_TRUE(k.ok()) << k.error();
  EXPECT_EQ(k->partition_value, json::parse(R"({"S": "p"})"));
  EXPECT_FALSE(k->sort);

  k = key("pk = :p AND sk < :a", kKeyValues);
  ASSERT_TRUE(k.ok()) << k.error();
  ASSERT_TRUE(k->sort);
  EXPECT_EQ(k->sort->op, Op::kLt);

  k = key(":a < sk AND pk = :p", kKeyValues);  // key on the right flips the operator
  ASSERT_TRUE(k.ok()) << k.error();
  EXPECT_EQ(k->sort->op, Op::kGt);
  EXPECT_EQ(k->sort->value, json::parse(R"({"N": "1"})"));

  k = key("(#k = :p) AND (sk between :a and :b)", kKeyValues, R"({"#k": "pk"})");
  ASSERT_TRUE(k.ok()) << k.error();
  EXPECT_EQ(k->sort->op, Op::kBetween);
  EXPECT_EQ(k->sort->upper, json::parse(R"({"N": "9"})"));

  KeySchema strings{{"pk", KeyType::kS}, KeyAttribute{"sk", KeyType::kS}};
  k = key("pk = :p AND begins_with(sk, :p)", R"({":p": {"S": "p"}})", "", strings);
  ASSERT_TRUE(k.ok()) << k.error();
  EXPECT_EQ(k->sort->op, Op::kBeginsWith);

  KeySchema hash_only{{"pk", KeyType::kS}, std::nullopt};
  EXPECT_TRUE(key("pk = :p", R"({":p": {"S": "p"}})", "", hash_only).ok());
}

// Refused shapes, with DynamoDB's messages.
TEST(ExpressionKeyCondition, RefusedShapes) {
  const char* v = kKeyValues;
  EXPECT_EQ(key_error("pk = :p OR sk = :a", v),
            "Invalid operator used in KeyConditionExpression: OR");
  EXPECT_EQ(key_error("NOT pk = :p", v), "Invalid operator used in KeyConditionExpression: NOT");
  EXPECT_EQ(key_error("pk IN (:p)", v), "Invalid operator used in KeyConditionExpression: IN");
  EXPECT_EQ(key_error("pk = :p AND sk <> :a", v),
            "Invalid operator used in KeyConditionExpression: <>");
  EXPECT_EQ(key_error("pk = :p AND attribute_exists(sk)", v),
            "Invalid operator used in KeyConditionExpression: attribute_exists");
  EXPECT_EQ(key_error("pk = :p AND size(sk) > :a", v),
            "KeyConditionExpressions cannot contain nested operations");
  EXPECT_EQ(key_error("pk.x = :p", v),
            "KeyConditionExpressions cannot have conditions on nested attributes");
  EXPECT_EQ(key_error("pk = sk", v),
            "Invalid condition in KeyConditionExpression: Multiple attribute names used in one "
            "condition");
  EXPECT_EQ(key_error(":a = :b AND pk = :p", v),
            "Invalid condition in KeyConditionExpression: No key attribute specified");
  EXPECT_EQ(key_error("pk = :p AND pk = :p", v),
            "KeyConditionExpressions must only contain one condition per key");
  EXPECT_EQ(key_error("pk = :p AND :a BETWEEN sk AND :b", v),
            "Invalid condition in KeyConditionExpression: BETWEEN operator must have the key "
            "attribute as its first operand");
  EXPECT_EQ(key_error("pk = :p AND begins_with(:p, sk)", v),
            "Invalid condition in KeyConditionExpression: begins_with operator must have the "
            "key attribute as its first operand");
  EXPECT_EQ(key_error("pk = :p AND begins_with(sk, :a)", v),
            "Invalid KeyConditionExpression: Incorrect operand type for operator or function; "
            "operator or function: begins_with, operand type: N");
}

// Checks against the key schema: partition key present with "=", the sort
// key as the second condition, value types matching the schema.
TEST(ExpressionKeyCondition, SchemaChecks) {
  const char* v = R"({":p": {"S": "p"}, ":a": {"N": "1"}, ":s": {"S": "x"}})";
  EXPECT_EQ(key_error("pk < :p", v), "Query key condition not supported");
  EXPECT_EQ(key_error("sk = :a", v), "Query condition missed key schema element: pk");
  EXPECT_EQ(key_error("pk = :p AND attr = :a", v), "Query condition missed key schema element: sk");
  EXPECT_EQ(key_error("pk = :p AND sk = :a AND c = :a", v),
            "Conditions can be of length 1 or 2 only");
  EXPECT_EQ(key_error("pk = :a", v),
            "One or more parameter values were invalid: Condition parameter type does not "
            "match schema type");
  EXPECT_EQ(key_error("pk = :p AND sk = :s", v),
            "One or more parameter values were invalid: Condition parameter type does not "
            "match schema type");
  KeySchema hash_only{{"pk", KeyType::kS}, std::nullopt};
  EXPECT_EQ(key_error("pk = :p AND sk = :a", v, "", hash_only),
            "Query key condition not supported");
}

// The sort key condition matches values the way a range scan would.
TEST(ExpressionKeyCondition, SortConditionMatches) {
  using Op = SortKeyCondition::Op;
  auto n = [](const char* x) { return json::value(json::object{{"N", x}}); };
  SortKeyCondition between{Op::kBetween, n("2"), n("5")};
  EXPECT_TRUE(between.matches(n("2")));
  EXPECT_TRUE(between.matches(n("5.0")));
  EXPECT_FALSE(between.matches(n("10")));
  SortKeyCondition prefix{Op::kBeginsWith, json::object{{"S", "ab"}}, {}};
  EXPECT_TRUE(prefix.matches(json::object{{"S", "abc"}}));
  EXPECT_FALSE(prefix.matches(json::object{{"S", "ba"}}));
  SortKeyCondition bytes{Op::kBeginsWith, json::object{{"B", "AQ=="}}, {}};
  EXPECT_TRUE(bytes.matches(json::object{{"B", "AQID"}}));
  SortKeyCondition lt{Op::kLt, n("10"), {}};
  EXPECT_TRUE(lt.matches(n("9")));
  EXPECT_FALSE(lt.matches(json::object{{"S", "1"}}));
}

// ---------------------------------------------------------------------------
// Projection.

Result<ProjectionExpression, std::string> projection(std::string_view text,
                                                     std::string_view names = "") {
  Request r("", names);
  auto ctx = r.context();
  return ProjectionExpression::parse(text, ctx);
}

json::object projected(std::string_view text, std::string_view item, std::string_view names = "") {
  auto p = projection(text, names);
  EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error());
  return p.ok() ? p->apply(obj(item)) : json::object{};
}

// Nested paths keep their structure; list elements come packed in index
// order; paths that lead nowhere are left out.
TEST(ExpressionProjection, NestedMapsAndLists) {
  const char* item = R"({"a": {"M": {"b": {"L": [{"N": "2"}, {"N": "4"},
      {"M": {"x": {"S": "hi"}, "y": {"S": "yo"}}}]}, "c": {"N": "5"}}}, "b": {"S": "hello"},
      "letters": {"L": [{"S": "x"}, {"S": "y"}, {"S": "z"}]}})";
  EXPECT_EQ(projected("a.b[0]", item), obj(R"({"a": {"M": {"b": {"L": [{"N": "2"}]}}}})"));
  EXPECT_EQ(projected("a.b[2].y", item),
            obj(R"({"a": {"M": {"b": {"L": [{"M": {"y": {"S": "yo"}}}]}}}})"));
  EXPECT_EQ(projected("a.c, b", item),
            obj(R"({"a": {"M": {"c": {"N": "5"}}}, "b": {"S": "hello"}})"));
  EXPECT_EQ(projected("letters[2], letters[0]", item),
            obj(R"({"letters": {"L": [{"S": "x"}, {"S": "z"}]}})"));
  EXPECT_EQ(projected("a.x, a.b[0], x, a.b[3].x", item),
            obj(R"({"a": {"M": {"b": {"L": [{"N": "2"}]}}}})"));
  EXPECT_EQ(projected("a.b.x", item), json::object{});
  EXPECT_EQ(projected("a[0]", item), json::object{});
  EXPECT_EQ(projected("#n1.#n2", item, R"({"#n1": "a", "#n2": "c"})"),
            obj(R"({"a": {"M": {"c": {"N": "5"}}}})"));
}

// Overlapping paths (one inside the other) and conflicting ones (map key vs
// list index at the same place) are refused; siblings are fine.
TEST(ExpressionProjection, OverlapAndConflict) {
  auto e = projection("a, a.b[0]");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error(),
            "Invalid ProjectionExpression: Two document paths overlap with each other; must "
            "remove or rewrite one of these paths; path one: [a], path two: [a, b, [0]]");
  e = projection("a.b, a[1]");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error(),
            "Invalid ProjectionExpression: Two document paths conflict with each other; must "
            "remove or rewrite one of these paths; path one: [a, b], path two: [a, [1]]");
  EXPECT_TRUE(projection("a.b, a.c[2], a.d.e, b").ok());
  EXPECT_TRUE(projection("a[1], a[2]").ok());
}

// Projection syntax: reserved words, index forms, undefined names.
TEST(ExpressionProjection, Errors) {
  auto error = [](std::string_view text) {
    auto p = projection(text);
    return p.ok() ? std::string("(parsed)") : p.error();
  };
  EXPECT_EQ(error("COMMENT"),
            "Invalid ProjectionExpression: Attribute name is a reserved keyword; reserved "
            "keyword: COMMENT");
  EXPECT_EQ(error("a[]"), "Invalid ProjectionExpression: Syntax error; token: \"]\", near: \"[]\"");
  EXPECT_EQ(error("a[99999999999999]"),
            "Invalid ProjectionExpression: List index is not within the allowable range; "
            "index: [99999999999999]");
  EXPECT_NE(error("a[-1]").find("Syntax error; token: \"-\""), std::string::npos);
  EXPECT_NE(error("a,").find("Syntax error; token: \"<EOF>\""), std::string::npos);
  EXPECT_EQ(error("#x"),
            "Invalid ProjectionExpression: An expression attribute name used in the document "
            "path is not defined; attribute name: #x");
  EXPECT_EQ(error(""), "Invalid ProjectionExpression: The expression can not be empty;");
}

// ---------------------------------------------------------------------------
// Updates.

struct Applied {
  std::string error;  // empty on success
  json::object item;
  std::set<std::string> changed;
};

Applied update(std::string_view text, std::string_view item, std::string_view values = "",
               std::string_view names = "", bool item_exists = true) {
  Request r(values, names);
  auto ctx = r.context();
  auto u = UpdateExpression::parse(text, ctx);
  if (!u.ok()) return {u.error(), {}, {}};
  auto out = u->apply(obj(item), item_exists);
  if (!out.ok()) return {out.error(), {}, {}};
  return {"", out->item, out->changed};
}

std::string update_error(std::string_view text, std::string_view values = "",
                         std::string_view names = "") {
  return update(text, "{}", values, names).error;
}

// SET writes top-level and nested attributes, replaces list elements in
// place and appends past the end (several appends in index order).
TEST(ExpressionUpdate, SetPaths) {
  auto r = update("SET a = :v, m.c = :v, l[1] = :v",
                  R"({"m": {"M": {"b": {"N": "3"}}}, "l": {"L": [{"N": "0"}, {"N": "1"}]}})",
                  R"({":v": {"S": "x"}})");
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.item, obj(R"({"m": {"M": {"b": {"N": "3"}, "c": {"S": "x"}}},
      "l": {"L": [{"N": "0"}, {"S": "x"}]}, "a": {"S": "x"}})"));
  r = update("SET a[84] = :v1, a[37] = :v2, a[17] = :v3", R"({"a": {"L": [{"S": "one"}]}})",
             R"({":v1": {"S": "a1"}, ":v2": {"S": "a2"}, ":v3": {"S": "a3"}})");
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.item, obj(R"({"a": {"L": [{"S": "one"}, {"S": "a3"}, {"S": "a2"}, {"S": "a1"}]}})"));
  EXPECT_EQ(update("SET x.y = :v", R"({"x": {"S": "s"}})", R"({":v": {"N": "1"}})").error,
            "The document path provided in the update expression is invalid for update");
  EXPECT_EQ(update("SET nope[0] = :v", "{}", R"({":v": {"N": "1"}})").error,
            "The document path provided in the update expression is invalid for update");
}

// Every value is read before anything is written: SET a = b, b = a swaps;
// reading a missing attribute is an error.
TEST(ExpressionUpdate, SetReadsTheOldItem) {
  auto r = update("SET a = b, b = a", R"({"a": {"N": "1"}, "b": {"N": "2"}})");
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.item, obj(R"({"a": {"N": "2"}, "b": {"N": "1"}})"));
  EXPECT_EQ(update("SET c = z", "{}").error,
            "The provided expression refers to an attribute that does not exist in the item");
  r = update("REMOVE a SET b = a", R"({"a": {"S": "hello"}})");
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.item, obj(R"({"b": {"S": "hello"}})"));
}

// SET arithmetic: exact decimal + and -, numbers only.
TEST(ExpressionUpdate, SetArithmetic) {
  auto r = update("SET f = f + :f, n = :ten - n", R"({"f": {"N": "0.1"}, "n": {"N": "3"}})",
                  R"({":f": {"N": "0.2"}, ":ten": {"N": "10"}})");
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.item, obj(R"({"f": {"N": "0.3"}, "n": {"N": "7"}})"));
  EXPECT_EQ(update("SET s = s + :one", R"({"s": {"S": "x"}})", R"({":one": {"N": "1"}})").error,
            "An operand in the update expression has an incorrect data type");
  EXPECT_EQ(update("SET a = absent + :one", "{}", R"({":one": {"N": "1"}})").error,
            "The provided expression refers to an attribute that does not exist in the item");
  EXPECT_EQ(update_error("SET a = :s + :one", R"({":s": {"S": "x"}, ":one": {"N": "1"}})"),
            "Invalid UpdateExpression: Incorrect operand type for operator or function; "
            "operator or function: +, operand type: S");
}

// if_not_exists(path, value): the attribute if present, else the value; its
// first operand must be a path.
TEST(ExpressionUpdate, IfNotExists) {
  const char* v = R"({":zero": {"N": "0"}, ":one": {"N": "1"}})";
  auto r = update("SET a = if_not_exists(a, :zero) + :one, b = if_not_exists(c, :zero)",
                  R"({"a": {"N": "5"}})", v);
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.item, obj(R"({"a": {"N": "6"}, "b": {"N": "0"}})"));
  EXPECT_EQ(update_error("SET b = if_not_exists(:zero, :one)", v),
            "Invalid UpdateExpression: Operator or function requires a document path; "
            "operator or function: if_not_exists");
  EXPECT_EQ(update_error("SET b = if_not_exists(if_not_exists(a, :zero), :one)", v),
            "Invalid UpdateExpression: Operator or function requires a document path; "
            "operator or function: if_not_exists");
}

// list_append concatenates two lists, in either order; not nestable in
// another call except around if_not_exists.
TEST(ExpressionUpdate, ListAppend) {
  const char* v = R"({":t": {"L": [{"N": "9"}]}, ":e": {"L": []}, ":s": {"S": "x"}})";
  auto r = update(
      "SET l = list_append(l, :t), f = list_append(:t, l), "
      "n = list_append(if_not_exists(n, :e), :t)",
      R"({"l": {"L": [{"N": "1"}]}})", v);
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.item, obj(R"({"l": {"L": [{"N": "1"}, {"N": "9"}]},
      "f": {"L": [{"N": "9"}, {"N": "1"}]}, "n": {"L": [{"N": "9"}]}})"));
  EXPECT_EQ(update("SET l = list_append(l, :t)", R"({"l": {"S": "x"}})", v).error,
            "An operand in the update expression has an incorrect data type");
  EXPECT_EQ(update_error("SET l = list_append(:t, :s)", v),
            "Invalid UpdateExpression: Incorrect operand type for operator or function; "
            "operator or function: list_append, operand type: S");
  EXPECT_EQ(update_error("SET l = list_append(list_append(:t, :t), :t)", v),
            "Invalid UpdateExpression: The function is not allowed to be used this way in an "
            "expression; function: list_append");
  EXPECT_EQ(update_error("SET l = list_append(:t)", v),
            "Invalid UpdateExpression: Incorrect number of operands for operator or function; "
            "operator or function: list_append, number of operands: 1");
}

// REMOVE deletes attributes, map keys and list elements; list indexes refer
// to the list before the update, so later elements shift; a missing leaf is
// no error, a missing parent is (unless the item itself is new).
TEST(ExpressionUpdate, Remove) {
  const char* item = R"({"a": {"S": "x"}, "m": {"M": {"k": {"N": "1"}}},
      "l": {"L": [{"N": "2"}, {"N": "3"}, {"N": "4"}, {"N": "5"}, {"N": "6"}, {"N": "7"}]}})";
  auto r = update("REMOVE a, m.k, l[0], l[2]", item);
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.item, obj(R"({"m": {"M": {}}, "l": {"L": [{"N": "3"}, {"N": "5"}, {"N": "6"},
      {"N": "7"}]}})"));
  r = update("REMOVE l[1] SET l[3] = :v", item, R"({":v": {"N": "17"}})");
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.item["l"], json::parse(R"({"L": [{"N": "2"}, {"N": "4"}, {"N": "17"}, {"N": "6"},
      {"N": "7"}]})"));
  r = update("REMOVE l[17], m.nope, absent", item);
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.item, obj(item));
  EXPECT_EQ(update("REMOVE x.y", item).error,
            "The document path provided in the update expression is invalid for update");
  EXPECT_EQ(update("REMOVE a[0]", item).error,
            "The document path provided in the update expression is invalid for update");
  EXPECT_EQ(update("REMOVE x.y", "{}", "", "", /*item_exists=*/false).error, "");
}

// ADD adds to numbers and unites sets, creating the attribute when absent;
// only numbers and sets are accepted.
TEST(ExpressionUpdate, Add) {
  const char* item = R"({"n": {"N": "1"}, "ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1"]},
      "s": {"S": "x"}})";
  const char* v = R"({":five": {"N": "5"}, ":more": {"SS": ["b", "c"]}, ":ns": {"NS": ["1.0", "2"]},
      ":str": {"S": "x"}, ":l": {"L": []}})";
  auto r = update("ADD n :five, fresh :five, ss :more, ns :ns, newset :more", item, v);
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.item, obj(R"({"n": {"N": "6"}, "ss": {"SS": ["a", "b", "c"]},
      "ns": {"NS": ["1", "2"]}, "s": {"S": "x"}, "fresh": {"N": "5"},
      "newset": {"SS": ["b", "c"]}})"));
  EXPECT_EQ(update("ADD s :five", item, v).error,
            "An operand in the update expression has an incorrect data type");
  EXPECT_EQ(update("ADD ss :ns", item, v).error,
            "An operand in the update expression has an incorrect data type");
  EXPECT_EQ(update_error("ADD n :str", v),
            "Invalid UpdateExpression: Incorrect operand type for operator or function; "
            "operator: ADD, operand type: STRING, typeSet: ALLOWED_FOR_ADD_OPERAND");
  EXPECT_EQ(update_error("ADD n :l", v),
            "Invalid UpdateExpression: Incorrect operand type for operator or function; "
            "operator: ADD, operand type: LIST, typeSet: ALLOWED_FOR_ADD_OPERAND");
}

// DELETE removes set members; a set left empty removes the attribute; a
// missing attribute is no error; only sets are accepted.
TEST(ExpressionUpdate, Delete) {
  const char* item = R"({"ss": {"SS": ["dog", "cat", "mouse"]}, "ns": {"NS": ["1", "2"]}})";
  const char* v = R"({":cm": {"SS": ["cat", "mouse", "pig"]}, ":all": {"NS": ["2.0", "1"]},
      ":n": {"N": "1"}})";
  auto r = update("DELETE ss :cm, ns :all, absent :cm", item, v);
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.item, obj(R"({"ss": {"SS": ["dog"]}})"));
  EXPECT_EQ(update("DELETE ss :all", item, v).error,
            "An operand in the update expression has an incorrect data type");
  EXPECT_EQ(update_error("DELETE ss :n", v),
            "Invalid UpdateExpression: Incorrect operand type for operator or function; "
            "operator: DELETE, operand type: NUMBER, typeSet: ALLOWED_FOR_DELETE_OPERAND");
}

// Clauses come in any order, each at most once; keywords in any case.
TEST(ExpressionUpdate, Clauses) {
  const char* v = R"({":v": {"N": "1"}, ":s": {"SS": ["a"]}})";
  auto r = update("delete s :s add n :v REMOVE a Set b = :v", R"({"a": {"N": "0"}})", v);
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.item, obj(R"({"n": {"N": "1"}, "b": {"N": "1"}})"));
  EXPECT_EQ(r.changed, (std::set<std::string>{"s", "n", "a", "b"}));
  EXPECT_EQ(update_error("SET a = :v REMOVE c SET b = :v", v),
            "Invalid UpdateExpression: The \"SET\" section can only be used once in an update "
            "expression;");
}

// Two actions may not touch overlapping paths (one inside the other,
// compared after name substitution) nor conflicting ones.
TEST(ExpressionUpdate, OverlapAndConflict) {
  const char* v = R"({":v": {"N": "1"}, ":w": {"N": "2"}})";
  EXPECT_EQ(update_error("SET mapx = :v, mapx.num = :w", v),
            "Invalid UpdateExpression: Two document paths overlap with each other; must remove "
            "or rewrite one of these paths; path one: [mapx], path two: [mapx, num]");
  EXPECT_EQ(update_error("SET #a1 = :v REMOVE #a2", v, R"({"#a1": "a", "#a2": "a"})"),
            "Invalid UpdateExpression: Two document paths overlap with each other; must remove "
            "or rewrite one of these paths; path one: [a], path two: [a]");
  EXPECT_EQ(update_error("SET a.b = :v, a[1] = :w", v),
            "Invalid UpdateExpression: Two document paths conflict with each other; must "
            "remove or rewrite one of these paths; path one: [a, b], path two: [a, [1]]");
  EXPECT_EQ(update_error("SET lst[0] = :v, lst[0].ok = :v", v),
            "Invalid UpdateExpression: Two document paths overlap with each other; must remove "
            "or rewrite one of these paths; path one: [lst, [0]], path two: [lst, [0], ok]");
  auto r = update("SET a.b = :v, a.c = :w, l[0] = :v, l[1] = :w",
                  R"({"a": {"M": {}}, "l": {"L": [{"N": "0"}, {"N": "0"}]}})", v);
  EXPECT_EQ(r.error, "");
}

// Update syntax errors in DynamoDB's format.
TEST(ExpressionUpdate, SyntaxErrors) {
  const char* v = R"({":v": {"N": "1"}, ":v1": {"N": "1"}, ":v2": {"N": "2"}, ":v3": {"N": "3"}})";
  EXPECT_EQ(update_error("ADD numx", v),
            "Invalid UpdateExpression: Syntax error; token: \"<EOF>\", near: \"numx\"");
  EXPECT_EQ(update_error("SET numx = numx * :v", v),
            "Invalid UpdateExpression: Syntax error; token: \"*\", near: \"numx * :v\"");
  EXPECT_EQ(update_error("SET _123 = :v", v),
            "Invalid UpdateExpression: Syntax error; token: \"_\", near: \"SET _123\"");
  EXPECT_EQ(update_error("SET a = :v1 + :v2 + :v3", v),
            "Invalid UpdateExpression: Syntax error; token: \"+\", near: \":v2 + :v3\"");
  EXPECT_EQ(update_error("ADD numx 1", v),
            "Invalid UpdateExpression: Syntax error; token: \"1\", near: \"numx 1\"");
  EXPECT_EQ(update_error("SET note = :v +", v),
            "Invalid UpdateExpression: Syntax error; token: \"<EOF>\", near: \"+\"");
  EXPECT_EQ(update_error("SET #l[0.#c = :v", v, R"({"#l": "l", "#c": "c"})"),
            "Invalid UpdateExpression: Syntax error; token: \".\", near: \"0.#c\"");
  EXPECT_NE(update_error("HELLO b = :v", v).find("token: \"HELLO\""), std::string::npos);
  EXPECT_NE(update_error("SET :v = :v", v).find("token: \":v\""), std::string::npos);
  EXPECT_NE(update_error("SET a[:v] = :v", v).find("Syntax error"), std::string::npos);
  EXPECT_NE(update_error("SET c = if_not_exists(c, :v1 + :v2)", v).find("token: \"+\""),
            std::string::npos);
  EXPECT_EQ(update_error("SET a = :v", R"({":w": {"N": "1"}})"),
            "Invalid UpdateExpression: An expression attribute value used in expression is not "
            "defined; attribute value: :v");
  EXPECT_EQ(update_error(""), "Invalid UpdateExpression: The expression can not be empty;");
}

// Functions of the wrong language and unknown functions; reserved words.
TEST(ExpressionUpdate, FunctionsAndReservedWords) {
  const char* v = R"({":v": {"S": "x"}})";
  EXPECT_EQ(update_error("SET r = size(s)", v),
            "Invalid UpdateExpression: The function is not allowed in an update expression; "
            "function: size");
  EXPECT_EQ(update_error("SET r = f(b)", v),
            "Invalid UpdateExpression: Invalid function name; function: f");
  EXPECT_EQ(update_error("SET status = :v", v),
            "Invalid UpdateExpression: Attribute name is a reserved keyword; reserved keyword: "
            "status");
  EXPECT_EQ(update("SET #s = :v", "{}", v, R"({"#s": "status"})").error, "");
}

// UPDATED_OLD / UPDATED_NEW: the written paths projected on the old or new
// item give only what was touched, nested as in the item.
TEST(ExpressionUpdate, ChangedAttributesAndReturnValues) {
  Request r(R"({":v": {"N": "7"}})", "");
  auto ctx = r.context();
  auto u = UpdateExpression::parse("SET info.a = :v, z = :v", ctx);
  ASSERT_TRUE(u.ok()) << u.error();
  json::object old_item =
      obj(R"({"info": {"M": {"a": {"N": "1"}, "b": {"N": "2"}}}, "q": {"N": "0"}})");
  auto out = u->apply(old_item);
  ASSERT_TRUE(out.ok()) << out.error();
  EXPECT_EQ(out->changed, (std::set<std::string>{"info", "z"}));
  EXPECT_EQ(project(old_item, u->target_paths()), obj(R"({"info": {"M": {"a": {"N": "1"}}}})"));
  EXPECT_EQ(project(out->item, u->target_paths()),
            obj(R"({"info": {"M": {"a": {"N": "7"}}}, "z": {"N": "7"}})"));
}

// Updating a key attribute is refused with DynamoDB's message.
TEST(ExpressionUpdate, KeyAttributes) {
  Request r(R"({":v": {"S": "x"}})", "");
  auto ctx = r.context();
  auto u = UpdateExpression::parse("SET a = :v, sk = :v", ctx);
  ASSERT_TRUE(u.ok()) << u.error();
  KeySchema keys = range_schema();
  EXPECT_EQ(u->key_update_error(keys.hash, keys.range),
            "One or more parameter values were invalid: Cannot update attribute sk. This "
            "attribute is part of the key");
  auto other = UpdateExpression::parse("REMOVE a", ctx);
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->key_update_error(keys.hash, keys.range));
}

}  // namespace
}  // namespace nimbus::services::dynamodb
