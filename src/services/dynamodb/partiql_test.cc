#include "services/dynamodb/partiql.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <string>

namespace nimbus::services::dynamodb {
namespace {

namespace json = boost::json;
using Kind = partiql::Expr::Kind;

const std::string kNotWellFormed = "Statement wasn't well formed, can't be processed: ";

// Music: Artist (S) + SongTitle (S), with index GenreYear: Genre (S) + Year (N).
// Users: pk (S) only. Counters: id (N) only.
std::optional<KeySchemaForPlan> lookup_tables(std::string_view table, std::string_view index) {
  if (table == "Music") {
    if (index.empty())
      return KeySchemaForPlan{{"Artist", KeyType::kS}, KeyAttribute{"SongTitle", KeyType::kS}};
    if (index == "GenreYear")
      return KeySchemaForPlan{{"Genre", KeyType::kS}, KeyAttribute{"Year", KeyType::kN}};
    return std::nullopt;
  }
  if (table == "Users" && index.empty()) return KeySchemaForPlan{{"pk", KeyType::kS}, {}};
  if (table == "Counters" && index.empty()) return KeySchemaForPlan{{"id", KeyType::kN}, {}};
  return std::nullopt;
}

json::array params(std::string_view text) {
  return json::parse(text).as_array();
}
json::object obj(std::string_view text) {
  return json::parse(text).as_object();
}

Result<PartiqlPlan, aws::ApiError> plan(std::string_view statement,
                                        const json::array* parameters = nullptr,
                                        PartiqlCaller caller = PartiqlCaller::kExecuteStatement) {
  return plan_partiql(statement, parameters, lookup_tables, caller);
}

PartiqlPlan planned(std::string_view statement, const json::array* parameters = nullptr,
                    PartiqlCaller caller = PartiqlCaller::kExecuteStatement) {
  auto p = plan(statement, parameters, caller);
  EXPECT_TRUE(p.ok()) << statement << " -> " << (p.ok() ? "" : p.error().message);
  if (!p.ok()) return {};
  return std::move(p).value();
}

// The ValidationException text a statement is refused with.
std::string refusal(std::string_view statement, const json::array* parameters = nullptr,
                    PartiqlCaller caller = PartiqlCaller::kExecuteStatement) {
  auto p = plan(statement, parameters, caller);
  if (p.ok()) return "<planned " + p->operation + ">";
  EXPECT_EQ(p.error().code, "ValidationException") << statement;
  EXPECT_EQ(p.error().status, 400);
  return p.error().message;
}

std::string str(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

// Parses the plan's ConditionExpression or FilterExpression the way the
// service does and evaluates it on `item`.
bool holds(const PartiqlPlan& p, std::string_view member, const json::object& item) {
  const json::object* names = p.request.contains("ExpressionAttributeNames")
                                  ? &p.request.at("ExpressionAttributeNames").as_object()
                                  : nullptr;
  const json::object* values = p.request.contains("ExpressionAttributeValues")
                                   ? &p.request.at("ExpressionAttributeValues").as_object()
                                   : nullptr;
  auto ctx = ExpressionContext::create(names, values);
  EXPECT_TRUE(ctx.ok());
  auto c = ConditionExpression::parse(str(p.request, member), *ctx, member);
  EXPECT_TRUE(c.ok()) << str(p.request, member) << ": " << (c.ok() ? "" : c.error());
  return c.ok() && c->evaluate(item);
}

// Everything the service does with the plan's expressions, in one request
// context: parse each, then DynamoDB's unused-entry check.
void expect_service_accepts(const PartiqlPlan& p, const KeySchemaForPlan& key) {
  const json::object* names = p.request.contains("ExpressionAttributeNames")
                                  ? &p.request.at("ExpressionAttributeNames").as_object()
                                  : nullptr;
  const json::object* values = p.request.contains("ExpressionAttributeValues")
                                   ? &p.request.at("ExpressionAttributeValues").as_object()
                                   : nullptr;
  auto ctx = ExpressionContext::create(names, values);
  ASSERT_TRUE(ctx.ok()) << ctx.error();
  if (p.request.contains("KeyConditionExpression")) {
    auto k =
        parse_key_condition(str(p.request, "KeyConditionExpression"), *ctx, key.hash, key.range);
    EXPECT_TRUE(k.ok()) << (k.ok() ? "" : k.error());
  }
  for (std::string_view m : {"FilterExpression", "ConditionExpression"})
    if (p.request.contains(m)) {
      auto c = ConditionExpression::parse(str(p.request, m), *ctx, m);
      EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error());
    }
  if (p.request.contains("ProjectionExpression")) {
    auto pe = ProjectionExpression::parse(str(p.request, "ProjectionExpression"), *ctx);
    EXPECT_TRUE(pe.ok()) << (pe.ok() ? "" : pe.error());
  }
  if (p.request.contains("UpdateExpression")) {
    auto u = UpdateExpression::parse(str(p.request, "UpdateExpression"), *ctx);
    EXPECT_TRUE(u.ok()) << (u.ok() ? "" : u.error());
  }
  auto unused = ctx->check_unused();
  EXPECT_TRUE(unused.ok()) << (unused.ok() ? "" : unused.error());
}

const KeySchemaForPlan kMusic{{"Artist", KeyType::kS}, KeyAttribute{"SongTitle", KeyType::kS}};
const KeySchemaForPlan kGenreYear{{"Genre", KeyType::kS}, KeyAttribute{"Year", KeyType::kN}};
const KeySchemaForPlan kUsers{{"pk", KeyType::kS}, {}};

// ---------------------------------------------------------------------------
// Parsing.

// Pins the typed tree: precedence (AND over OR, comparisons over AND), flat
// AND chains, BETWEEN owning its AND, paths with indexes and quoted names,
// parameters numbered in text order, signed number literals.
TEST(PartiqlParse, BuildsATypedTree) {
  auto st = parse_partiql(
      "SELECT a.b[2], \"x y\" FROM \"Music\" WHERE a = ? AND b BETWEEN -1 AND ? OR NOT c IS "
      "MISSING");
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(st->parameter_count, 2u);
  const auto& s = std::get<partiql::Select>(st->body);
  ASSERT_EQ(s.columns.size(), 2u);
  EXPECT_EQ(path_to_string(s.columns[0]->path), "[a, b, [2]]");
  EXPECT_EQ(std::get<std::string>(s.columns[1]->path[0]), "x y");
  EXPECT_EQ(s.from.table, "Music");
  const partiql::Expr& w = *s.where;
  ASSERT_EQ(w.kind, Kind::kOr);
  ASSERT_EQ(w.children.size(), 2u);
  const partiql::Expr& conj = *w.children[0];
  ASSERT_EQ(conj.kind, Kind::kAnd);
  ASSERT_EQ(conj.children.size(), 2u);
  EXPECT_EQ(conj.children[0]->kind, Kind::kCompare);
  EXPECT_EQ(conj.children[0]->children[1]->kind, Kind::kParameter);
  EXPECT_EQ(conj.children[0]->children[1]->parameter, 0u);
  const partiql::Expr& between = *conj.children[1];
  ASSERT_EQ(between.kind, Kind::kBetween);
  EXPECT_EQ(json::serialize(between.children[1]->literal), R"({"N":"-1"})");
  EXPECT_EQ(between.children[2]->parameter, 1u);
  const partiql::Expr& negation = *w.children[1];
  ASSERT_EQ(negation.kind, Kind::kNot);
  EXPECT_EQ(negation.children[0]->kind, Kind::kIs);
  EXPECT_EQ(negation.children[0]->name, "MISSING");
}

// Pins the lexical rules DynamoDB applies: keywords in any case, '' inside a
// string, "" inside a name, -- and /* */ comments, a trailing semicolon.
TEST(PartiqlParse, LexicalRules) {
  auto st = parse_partiql(
      "sElEcT * /* c */ FROM \"We\"\"ird\" -- comment\n WHERE s = 'it''s' AND t = '?';");
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(st->parameter_count, 0u);  // a ? inside a string is text
  const auto& s = std::get<partiql::Select>(st->body);
  EXPECT_EQ(s.from.table, "We\"ird");
  EXPECT_EQ(json::serialize(s.where->children[0]->children[1]->literal), R"({"S":"it's"})");
}

// Pins DynamoDB's parse error texts (conformance suite against the real
// service): the detail after "Statement wasn't well formed, can't be processed: ".
TEST(PartiqlParse, MalformedStatementsGetDynamoDbsDetail) {
  struct Case {
    std::string statement, detail;
  };
  const Case cases[] = {
      {"SELECT * FROM \"Music\" WHERE Artist = 'a' foo", "Unexpected token after expression"},
      {"SELECT * FROM \"Music\" WHERE Artist = 1 e5", "Unexpected token after expression"},
      {"SELECT * FROM \"Music\" WHERE Artist = 'a')", "Unexpected token after expression"},
      {"DELETE FROM \"Music\" WHERE Artist = 'a' ORDER BY Artist",
       "Unexpected token after expression"},
      {"SELECT * FROM \"Music\" ORDER BY Artist WHERE Artist = 'a'",
       "Unexpected token after expression"},
      {"INSERT INTO \"Music\" t VALUE {'Artist': 'a'}", "Unexpected token after expression"},
      {"SELECT * FROM \"Music\" WHERE", "Unexpected term"},
      {"SELECT * FROM \"Music\" WHERE;", "Unexpected term"},
      {"SELECT * FROM \"Music\" WHERE NOT", "Unexpected term"},
      {"SELECT * FROM \"Music\" WHERE (", "Unexpected term"},
      {"SELECT * FROM", "Unexpected term"},
      {"SELECT * FROM \"Music\" WHERE Artist = 'a' AND",
       "Missing right-hand side expression of "
       "infix operator"},
      {"SELECT * FROM \"Music\" WHERE Artist = 'a' OR",
       "Missing right-hand side expression of "
       "infix operator"},
      {"SELECT * FROM \"Music\" WHERE ORDER BY Artist", "Unexpected keyword"},
      {"SELECT * FROM \"Music\" WHERE pad = 'none'", "Unexpected keyword"},
      {"SELECT * FROM \"Music\" WHERE IS NULL", "Unexpected operator"},
      {"SELECT * FROM \"Music\" WHERE Artist = LIKE", "Unexpected operator"},
      {"SELECT * FROM \"Music\" WHERE Artist = 'a' AND x IS FOO", "Expected type name"},
      {"DELETE FROM", "Expected identifier for simple path"},
      {"DELETE FROM;", "Expected identifier for simple path"},
      {"DELETE FROM WHERE pk = 'a'", "Expected identifier for simple path"},
      {"SLECT * FROM \"Music\"", "Expected data manipulation"},
      {"SELECT * FROM \"Music\" WHERE m.inner = 1", "Invalid path dot component"},
      // What the lexer cannot read has no detail at all.
      {"SELECT * FROM \"Music\" WHERE Artist = 1 # note", ""},
      {"SELECT * FROM \"Music\" WHERE Artist = 1 /* note", ""},
      {"SELECT * FROM \"Music\" WHERE Artist = 'open", ""},
      {"SELECT * FROM \"Music WHERE Artist = 'a'", ""},
      {"SELECT * FROM \"Music\" WHERE Artist = 1e2147483648", ""},
      {"SELECT * FROM \"Music\" WHERE Artist = 1.5e-2147483647", ""},
      {"SELECT * FROM \"Music\" WHERE Artist = `ion`", ""},
      {"SELECT * FROM \"Music\" WHERE Artist = 1e", ""},
  };
  for (const auto& c : cases) {
    auto st = parse_partiql(c.statement);
    ASSERT_FALSE(st.ok()) << c.statement;
    EXPECT_EQ(st.error().code, "ValidationException");
    EXPECT_EQ(st.error().message, kNotWellFormed + c.detail) << c.statement;
  }
}

// Pins the constructs DynamoDB reads but refuses, with their own texts.
TEST(PartiqlParse, RefusedConstructs) {
  struct Case {
    std::string statement, message;
  };
  const Case cases[] = {
      {"SELECT * FROM \"Users\" t WHERE pk = 'x'", "Aliasing is not supported"},
      {"SELECT * FROM \"Users\" AS t WHERE pk = 'x'", "Aliasing is not supported"},
      {"UPDATE \"Users\" t SET a = 3 WHERE pk = 'x'", "Aliasing is not supported"},
      {"DELETE FROM \"Users\" t WHERE pk = 'x'", "Aliasing is not supported"},
      {"SELECT a AS b FROM \"Users\"", "Aliasing is not supported"},
      {"SELECT * FROM \"Users\" WHERE pk = 'x' LIMIT 1", "Unsupported clause: LIMIT"},
      {"SELECT * FROM \"Users\" GROUP BY pk", "Unsupported clause: GROUP BY"},
      {"SELECT *, a FROM \"Users\"",
       "Other attributes should not be present in the projection when '*' is used."},
      {"SELECT a, * FROM \"Users\"",
       "Other attributes should not be present in the projection when '*' is used."},
      {"SELECT VALUE a FROM \"Users\"",
       "Select projection doesn't support value or pivot keywords"},
      {"SELECT * FROM \"Users\", \"Music\"",
       "Only select from a single table or index is supported."},
      {"SELECT * FROM \"Music\".\"GenreYear\".\"x\"",
       "A path may contain at most 2 components in the FROM clause"},
      {"INSERT INTO \"Users\" VALUE {'pk': 'a'} RETURNING ALL OLD *",
       "RETURNING is not supported in INSERT"},
      {"INSERT INTO \"Users\" VALUE <<{'pk': 'a'}, {'pk': 'b'}>>",
       "Unsupported operation: Inserting multiple items in a single statement is not supported, "
       "use \"INSERT INTO tableName VALUE item\" instead"},
      {"INSERT INTO \"Users\" VALUE 'a'",
       "Unsupported format in item expression. Please use struct format {...} to express item "
       "values for insert statement."},
      {"DELETE FROM \"Users\" WHERE pk = 'a' RETURNING MODIFIED OLD *",
       "Invalid returning clause: RETURNING MODIFIED OLD *. Only RETURNING ALL OLD * is allowed in "
       "DELETE statements."},
      {"DELETE FROM \"Users\" WHERE pk = 'a' RETURNING ALL NEW *",
       "Invalid returning clause: RETURNING ALL NEW *. Only RETURNING ALL OLD * is allowed in "
       "DELETE statements."},
      {"UPDATE \"Users\" SET a = 1 WHERE pk = 'a' RETURNING ALL NEW",
       "Expected '*' after ( MODIFIED | ALL ) ( NEW | OLD ) in RETURNING clause"},
      {"UPDATE \"Users\" SET a = 1 WHERE pk = 'a' RETURNING ALL NEW *, ALL OLD *",
       "Invalid syntax with multiple returning elements in RETURNING clause"},
      {"SELECT a.* FROM \"Users\"", "Unpivot path component like a.*.b are not supported"},
      {"SELECT a[*] FROM \"Users\"", "Wildcard path component like a[*].b are not supported"},
      {"SELECT a[99999999999] FROM \"Users\"",
       "List index is not within the allowable range; index: [99999999999]"},
  };
  for (const auto& c : cases) {
    auto st = parse_partiql(c.statement);
    ASSERT_FALSE(st.ok()) << c.statement;
    EXPECT_EQ(st.error().message, c.message) << c.statement;
  }
}

// ---------------------------------------------------------------------------
// SELECT.

// Pins GetItem for an equality on the whole primary key and nothing else:
// the same item a Query would return, by key.
TEST(PartiqlSelect, FullKeyEqualityIsAGetItem) {
  auto p = planned("SELECT * FROM \"Music\" WHERE Artist = 'Acme' AND SongTitle = 'Rocks'");
  EXPECT_EQ(p.operation, "GetItem");
  EXPECT_TRUE(p.is_read);
  EXPECT_EQ(p.table, "Music");
  EXPECT_EQ(json::serialize(p.request),
            R"({"TableName":"Music","Key":{"Artist":{"S":"Acme"},"SongTitle":{"S":"Rocks"}}})");
  // Either side of = and in either order.
  auto q = planned("SELECT * FROM Users WHERE 'x' = pk");
  EXPECT_EQ(q.operation, "GetItem");
  EXPECT_EQ(json::serialize(q.request.at("Key")), R"({"pk":{"S":"x"}})");
}

// Pins the row shape of a column list: each value under its path's last name
// (with trailing list indexes), as DynamoDB answers SELECT a.b, l[0].
TEST(PartiqlSelect, ColumnsProjectAndShapeRows) {
  auto p = planned("SELECT pk, m.k[1], l[0], m.z FROM \"Users\" WHERE pk = 'u'");
  ASSERT_EQ(p.operation, "GetItem");
  EXPECT_EQ(str(p.request, "ProjectionExpression"), "#n0, #n1, #n2");
  EXPECT_EQ(json::serialize(p.request.at("ExpressionAttributeNames")),
            R"({"#n0":"pk","#n1":"m","#n2":"l"})");
  expect_service_accepts(p, kUsers);
  auto item = obj(R"({"pk":{"S":"u"},"m":{"M":{"k":{"L":[{"N":"1"},{"N":"2"}]},
      "z":{"S":"zz"}}},"l":{"L":[{"S":"first"}]},"other":{"S":"no"}})");
  EXPECT_EQ(json::serialize(partiql_select_row(p, item)),
            R"({"pk":{"S":"u"},"k[1]":{"N":"2"},"l[0]":{"S":"first"},"z":{"S":"zz"}})");
  // Attributes the item lacks are left out; lacking all gives an empty row.
  EXPECT_EQ(json::serialize(partiql_select_row(p, obj(R"({"q":{"S":"x"}})"))), "{}");
  // SELECT * keeps the item as it is.
  auto star = planned("SELECT * FROM \"Users\" WHERE pk = 'u'");
  EXPECT_EQ(partiql_select_row(star, item), item);

  EXPECT_EQ(refusal("SELECT m.z, z FROM \"Users\""), "Duplicate identifiers in select clause: z");
  EXPECT_EQ(refusal("SELECT attribute_exists(ss) FROM \"Users\" WHERE pk = 'x'"),
            "Unexpected path component at 1:8:16");
}

// Pins Query for partition-key equality, with each sort key condition
// KeyConditionExpression can hold, and the rest of the WHERE as filter.
TEST(PartiqlSelect, PartitionEqualityIsAQuery) {
  struct Case {
    std::string where, key_condition;
  };
  const Case cases[] = {
      {"Artist = 'A'", "#n0 = :v0"},
      {"Artist = 'A' AND SongTitle < 'm'", "#n0 = :v0 AND #n1 < :v1"},
      {"Artist = 'A' AND SongTitle <= 'm'", "#n0 = :v0 AND #n1 <= :v1"},
      {"Artist = 'A' AND SongTitle > 'm'", "#n0 = :v0 AND #n1 > :v1"},
      {"SongTitle >= 'm' AND Artist = 'A'", "#n0 = :v0 AND #n1 >= :v1"},
      {"Artist = 'A' AND 'm' < SongTitle", "#n0 = :v0 AND #n1 > :v1"},
      {"Artist = 'A' AND SongTitle BETWEEN 'a' AND 'm'", "#n0 = :v0 AND #n1 BETWEEN :v1 AND :v2"},
      {"Artist = 'A' AND begins_with(SongTitle, 'Pa')", "#n0 = :v0 AND begins_with(#n1, :v1)"},
  };
  for (const auto& c : cases) {
    auto p = planned("SELECT * FROM \"Music\" WHERE " + c.where);
    EXPECT_EQ(p.operation, "Query") << c.where;
    EXPECT_EQ(str(p.request, "KeyConditionExpression"), c.key_condition) << c.where;
    EXPECT_FALSE(p.request.contains("FilterExpression"));
    expect_service_accepts(p, kMusic);
  }

  auto p = planned("SELECT * FROM \"Music\" WHERE Artist = ? AND SongTitle > ? AND Plays >= ?",
                   &(const json::array&)params(R"([{"S":"A"},{"S":"b"},{"N":"10"}])"));
  ASSERT_EQ(p.operation, "Query");
  EXPECT_EQ(str(p.request, "FilterExpression"), "(#n2 >= :v2)");
  expect_service_accepts(p, kMusic);
  // The key condition selects what the statement selects.
  ExpressionContext ctx =
      ExpressionContext::create(&p.request.at("ExpressionAttributeNames").as_object(),
                                &p.request.at("ExpressionAttributeValues").as_object())
          .value();
  auto kc =
      parse_key_condition(str(p.request, "KeyConditionExpression"), ctx, kMusic.hash, kMusic.range);
  ASSERT_TRUE(kc.ok());
  EXPECT_EQ(json::serialize(kc->partition_value), R"({"S":"A"})");
  ASSERT_TRUE(kc->sort);
  EXPECT_TRUE(kc->sort->matches(json::parse(R"({"S":"c"})")));
  EXPECT_FALSE(kc->sort->matches(json::parse(R"({"S":"b"})")));
  EXPECT_TRUE(holds(p, "FilterExpression", obj(R"({"Plays":{"N":"12"}})")));
  EXPECT_FALSE(holds(p, "FilterExpression", obj(R"({"Plays":{"N":"9"}})")));

  // Full key plus a non-key condition: a Query (GetItem cannot filter).
  auto f = planned("SELECT * FROM \"Music\" WHERE Artist = 'A' AND SongTitle = 'b' AND x = 1");
  EXPECT_EQ(f.operation, "Query");
  EXPECT_EQ(str(f.request, "KeyConditionExpression"), "#n0 = :v0 AND #n1 = :v1");
}

// Pins the Scan fallback: whatever cannot be a key condition is evaluated as
// a FilterExpression over every item, which returns the same items.
TEST(PartiqlSelect, EverythingElseIsAScanWithAFilter) {
  EXPECT_EQ(json::serialize(planned("SELECT * FROM \"Music\"").request),
            R"({"TableName":"Music"})");
  for (std::string where :
       {"SongTitle = 'x'", "Artist = 'A' OR Artist = 'B'", "Artist IN ['A', 'B']", "Artist > 'A'",
        "Artist = 'A' AND SongTitle > 'a' AND SongTitle < 'z'",
        "Artist = 'A' AND size(SongTitle) > 3", "Artist = 'A' AND Artist = 'B'"}) {
    auto p = planned("SELECT * FROM \"Music\" WHERE " + where);
    EXPECT_EQ(p.operation, "Scan") << where;
    EXPECT_TRUE(p.request.contains("FilterExpression")) << where;
    expect_service_accepts(p, kMusic);
  }
  auto p = planned(
      "SELECT * FROM \"Music\" WHERE Artist IN ['A', 'B'] AND NOT begins_with(Genre, 'ro')");
  auto a_pop = obj(R"({"Artist":{"S":"A"},"SongTitle":{"S":"s"},"Genre":{"S":"pop"}})");
  auto a_rock = obj(R"({"Artist":{"S":"A"},"SongTitle":{"S":"s"},"Genre":{"S":"rock"}})");
  auto c_pop = obj(R"({"Artist":{"S":"C"},"SongTitle":{"S":"s"},"Genre":{"S":"pop"}})");
  EXPECT_TRUE(holds(p, "FilterExpression", a_pop));
  EXPECT_FALSE(holds(p, "FilterExpression", a_rock));
  EXPECT_FALSE(holds(p, "FilterExpression", c_pop));
}

// Pins the condition language: each operator and function, as DynamoDB
// evaluates it on items (missing attributes and other types are false).
TEST(PartiqlSelect, ConditionsEvaluateAsStatedOnItems) {
  auto item = obj(R"({"pk":{"S":"u"},"n":{"N":"5"},"s":{"S":"hello"},"b":{"BOOL":true},
      "z":{"NULL":true},"l":{"L":[{"N":"1"}]},"m":{"M":{"k":{"S":"v"}}},"ss":{"SS":["a","b"]}})");
  struct Case {
    std::string where;
    bool expected;
  };
  const Case cases[] = {
      {"n = 5", true},
      {"n <> 5", false},
      {"n != 4", true},
      {"n < 6 AND n <= 5 AND n > 4 AND n >= 5", true},
      {"n BETWEEN 1 AND 4", false},
      {"n NOT BETWEEN 1 AND 4", true},
      {"n IN [1, 5]", true},
      {"n NOT IN [1, 5]", false},
      {"q IS MISSING", true},
      {"s IS NOT MISSING", true},
      {"z IS NULL", true},
      {"s IS STRING AND n IS NUMERIC AND b IS BOOLEAN AND l IS LIST AND m IS TUPLE", true},
      {"m IS STRUCT AND NOT (s IS NOT STRING)", true},
      {"attribute_exists(m.k) AND attribute_not_exists(m.q)", true},
      {"attribute_type(ss, 'SS')", true},
      {"begins_with(s, 'he') AND contains(s, 'll') AND contains(ss, 'b')", true},
      {"size(s) = 5 AND size(l) < 2", true},
      {"m.k = 'v' AND l[0] = 1", true},
      {"m = {'k': 'v'} AND l = [1] AND ss = <<'b', 'a'>>", true},
      {"b = TRUE AND z = NULL", true},
      {"(n = 1 OR n = 5) AND NOT s = 'x'", true},
      {"n = 1 OR s = 'x'", false},
  };
  for (const auto& c : cases) {
    auto p = planned("SELECT * FROM \"Users\" WHERE " + c.where);
    EXPECT_EQ(p.operation, "Scan") << c.where;
    expect_service_accepts(p, kUsers);
    EXPECT_EQ(holds(p, "FilterExpression", item), c.expected) << c.where;
  }
}

// Pins the refusals of the WHERE language, with DynamoDB's texts.
TEST(PartiqlSelect, ConditionRefusals) {
  const std::string users = "SELECT * FROM \"Users\" WHERE pk = 'x' AND ";
  EXPECT_EQ(refusal(users + "attribute_exists('ss')"),
            "Operator or function requires a document path; operator or function: "
            "attribute_exists");
  EXPECT_EQ(refusal(users + "attribute_exists(?)", &(const json::array&)params(R"([{"S":"ss"}])")),
            "Operator or function requires a document path; operator or function: "
            "attribute_exists");
  EXPECT_EQ(refusal(users + "attribute_exists()"),
            "Incorrect number of operands for operator or function; operator or function: "
            "attribute_exists, number of operands: 0");
  EXPECT_EQ(refusal(users + "attribute_exists(ss, ns)"),
            "Incorrect number of operands for operator or function; operator or function: "
            "attribute_exists, number of operands: 2");
  std::string exists = users + "EXISTS(ss)";
  EXPECT_EQ(refusal(exists), "Unrecognized function: exists at 1:" +
                                 std::to_string(exists.find("EXISTS") + 1) + ":6");
  EXPECT_EQ(refusal(users + "set_add(ss, <<'x'>>) = ss").substr(0, 31),
            "Unrecognized function: set_add ");
  EXPECT_EQ(refusal(users + "a = MISSING"), "MISSING must be compared using IS operator");
  EXPECT_EQ(refusal(users + "a IS INT"),
            "Unsupported data type for IS operator: INT. Supported data types are [MISSING, NULL, "
            "BOOLEAN, BLOB, STRING, NUMERIC, STRUCT, TUPLE, LIST]");
  EXPECT_EQ(refusal(users + "a"), "The arguments to AND/OR must be Expressions");
  EXPECT_EQ(refusal("SELECT * FROM \"Users\" WHERE a"),
            "WHERE clause must contain an expression that resolves to a boolean");
  EXPECT_EQ(refusal("SELECT * FROM \"Users\" WHERE NOT a"),
            "The argument to NOT must be a Type or Expression");
  EXPECT_EQ(refusal(users + "a IN 'x'"),
            "IN operator must have a left hand argument of type Variable Reference and right hand "
            "argument of type Seq with at least one member");
  EXPECT_EQ(refusal(users + "a + 1 = 2"),
            "Unsupported operator in Condition Expression. Operator: +");
  EXPECT_EQ(refusal(users + "a LIKE 'x%'"),
            "Unsupported operator in Condition Expression. Operator: LIKE");
  EXPECT_EQ(refusal(users + "'a' IS MISSING"),
            "The left hand side argument to IS must be a Variable Reference, Literal, or Path");
}

// Pins index reads: "table"."index" sets IndexName and plans against the
// index's own key.
TEST(PartiqlSelect, IndexReads) {
  auto p = planned("SELECT * FROM \"Music\".\"GenreYear\" WHERE Genre = 'rock' AND Year > 1990");
  EXPECT_EQ(p.operation, "Query");
  EXPECT_EQ(str(p.request, "IndexName"), "GenreYear");
  EXPECT_EQ(str(p.request, "KeyConditionExpression"), "#n0 = :v0 AND #n1 > :v1");
  expect_service_accepts(p, kGenreYear);
  // An index's full key is no GetItem: many items can share it.
  auto q = planned("SELECT * FROM \"Music\".\"GenreYear\" WHERE Genre = 'rock' AND Year = 1990");
  EXPECT_EQ(q.operation, "Query");
  auto s = planned("SELECT * FROM \"Music\".\"GenreYear\" WHERE Artist = 'x'");
  EXPECT_EQ(s.operation, "Scan");
  EXPECT_EQ(str(s.request, "IndexName"), "GenreYear");
  EXPECT_EQ(refusal("SELECT * FROM \"Music\".\"Nope\""),
            "The table does not have the specified index: Nope");
}

// Pins ORDER BY: the sort key's direction becomes ScanIndexForward of a
// Query, and DynamoDB's refusals where there is no single partition.
TEST(PartiqlSelect, OrderBy) {
  auto p = planned("SELECT * FROM \"Music\" WHERE Artist = 'A' ORDER BY SongTitle DESC");
  EXPECT_EQ(p.operation, "Query");
  EXPECT_EQ(p.request.at("ScanIndexForward"), json::value(false));
  auto asc = planned("SELECT * FROM \"Music\" WHERE Artist = 'A' ORDER BY Artist, SongTitle ASC");
  EXPECT_FALSE(asc.request.contains("ScanIndexForward"));
  // The full key with ORDER BY still reads through Query.
  EXPECT_EQ(planned("SELECT * FROM \"Music\" WHERE Artist = 'A' AND SongTitle = 'b' ORDER BY "
                    "SongTitle")
                .operation,
            "Query");
  EXPECT_EQ(refusal("SELECT * FROM \"Music\" ORDER BY SongTitle"),
            "Must have WHERE clause in the statement when using ORDER BY clause.");
  EXPECT_EQ(refusal("SELECT * FROM \"Music\" WHERE SongTitle = 'x' ORDER BY SongTitle"),
            "Must have at least one non-optional hash key condition in WHERE clause when using "
            "ORDER BY clause.");
  EXPECT_EQ(refusal("SELECT * FROM \"Music\" WHERE Artist = 'A' ORDER BY Plays"),
            "Variable reference Plays in ORDER BY clause must be part of the primary key");
  EXPECT_EQ(refusal("SELECT * FROM \"Music\" WHERE Artist = 'A' ORDER BY a.b"),
            "Argument to ORDER BY must be of type VariableReference. Type: Path");
  auto idx =
      planned("SELECT * FROM \"Music\".\"GenreYear\" WHERE Genre = 'rock' ORDER BY Year DESC");
  EXPECT_EQ(idx.request.at("ScanIndexForward"), json::value(false));
}

// Pins the reads of BatchExecuteStatement and ExecuteTransaction: by full
// primary key only, with DynamoDB's texts otherwise.
TEST(PartiqlSelect, BatchAndTransactionReadByKeyOnly) {
  using C = PartiqlCaller;
  auto p = planned("SELECT a FROM \"Music\" WHERE Artist = 'A' AND SongTitle = 'b'", nullptr,
                   C::kBatchExecuteStatement);
  EXPECT_EQ(p.operation, "GetItem");
  EXPECT_EQ(
      planned("SELECT * FROM \"Users\" WHERE pk = 'x'", nullptr, C::kExecuteTransaction).operation,
      "GetItem");
  const std::string batch =
      "Select statements within BatchExecuteStatement must specify the primary key in the where "
      "clause.";
  const std::string tx =
      "Select statements within ExecuteTransaction must specify the primary key in the where "
      "clause.";
  EXPECT_EQ(refusal("SELECT * FROM \"Users\" WHERE pk = 'x' AND attribute_exists(ss)", nullptr,
                    C::kBatchExecuteStatement),
            batch);
  EXPECT_EQ(
      refusal("SELECT * FROM \"Music\" WHERE Artist = 'A'", nullptr, C::kBatchExecuteStatement),
      batch);
  EXPECT_EQ(refusal("SELECT * FROM \"Music\".\"GenreYear\" WHERE Genre = 'x' AND Year = 1", nullptr,
                    C::kBatchExecuteStatement),
            batch);
  EXPECT_EQ(refusal("SELECT * FROM \"Users\" WHERE pk = 'x' AND attribute_exists(ss)", nullptr,
                    C::kExecuteTransaction),
            tx);
  EXPECT_EQ(refusal("SELECT * FROM \"Music\".\"GenreYear\" WHERE Genre = 'x'", nullptr,
                    C::kExecuteTransaction),
            "Reads on indices are not supported within transactions.");
}

// ---------------------------------------------------------------------------
// Writes.

// Pins INSERT: a PutItem that holds only while no item has the key, with
// DuplicateItemException in place of ConditionalCheckFailedException.
TEST(PartiqlInsert, PutsOnlyANewItem) {
  auto ps = params(R"([{"S":"u1"},{"SS":["x","y"]}])");
  auto p = planned(
      "INSERT INTO \"Users\" VALUE {'pk': ?, 'n': 1.50, 'm': {'a': [1, 'two', TRUE, NULL]}, "
      "'ns': <<3, 1>>, 'tags': ?, 'e': ''}",
      &ps);
  EXPECT_EQ(p.operation, "PutItem");
  EXPECT_FALSE(p.is_read);
  EXPECT_EQ(json::serialize(p.request.at("Item")),
            R"({"pk":{"S":"u1"},"n":{"N":"1.5"},"m":{"M":{"a":{"L":[{"N":"1"},{"S":"two"},)"
            R"({"BOOL":true},{"NULL":true}]}}},"ns":{"NS":["3","1"]},"tags":{"SS":["x","y"]},)"
            R"("e":{"S":""}})");
  EXPECT_EQ(str(p.request, "ConditionExpression"), "attribute_not_exists(#n0)");
  ASSERT_TRUE(p.condition_failed_error);
  EXPECT_EQ(p.condition_failed_error->code, "DuplicateItemException");
  EXPECT_EQ(p.condition_failed_error->message, "Duplicate primary key exists in table");
  EXPECT_EQ(p.condition_failed_error->status, 400);
  expect_service_accepts(p, kUsers);
  EXPECT_TRUE(holds(p, "ConditionExpression", json::object{}));
  EXPECT_FALSE(holds(p, "ConditionExpression", obj(R"({"pk":{"S":"u1"}})")));

  auto composite = planned("INSERT INTO \"Music\" VALUE {'Artist': 'a', 'SongTitle': 'b'}");
  EXPECT_EQ(str(composite.request, "ConditionExpression"), "attribute_not_exists(#n0)");
}

// Pins INSERT's refusals: key attributes present and of the schema's type,
// tuple keys strings and unique, literals DynamoDB can store.
TEST(PartiqlInsert, Refusals) {
  EXPECT_EQ(refusal("INSERT INTO \"Music\" VALUE {'Artist': 'a'}"),
            "Key attribute should be present in the item: Key SongTitle");
  EXPECT_EQ(refusal("INSERT INTO \"Users\" VALUE {'pk': 1}"),
            "Key attribute's data type should match its data type in table's schema: Key pk");
  EXPECT_EQ(refusal("INSERT INTO \"Users\" VALUE {'pk': 'a', 'pk': 'b'}"),
            "Duplicate keys in tuple. Key: pk under root");
  EXPECT_EQ(refusal("INSERT INTO \"Users\" VALUE {'pk': 'a', 1: 'b'}"),
            "Tuple keys must be of type String. Actual type: N under root");
  EXPECT_EQ(refusal("INSERT INTO \"Users\" VALUE {'pk': 'a', 's': <<>>}"),
            "Empty bags are not supported");
  EXPECT_EQ(refusal("INSERT INTO \"Users\" VALUE {'pk': 'a', 's': <<1, 'x'>>}"),
            "Unsupported data type in Bag. DynamoDB only supports either numbers or strings in "
            "bags");
  EXPECT_EQ(refusal("INSERT INTO \"Users\" VALUE {'pk': 'a', 's': <<?>>}",
                    &(const json::array&)params(R"([{"S":"x"}])")),
            "Unsupported data type in Bag. DynamoDB only supports either numbers or strings in "
            "bags");
  EXPECT_EQ(refusal("INSERT INTO \"Users\" VALUE {'pk': 'a', 's': <<'x', 'x'>>}"),
            "One or more parameter values were invalid: Input collection [x, x] contains "
            "duplicates.");
  std::string fn = "INSERT INTO \"Users\" VALUE {'pk': 'a', 'ss': set_add(<<'a'>>, <<'b'>>)}";
  EXPECT_EQ(refusal(fn), "Unsupported data type: set_add under key root at 1:" +
                             std::to_string(fn.find("set_add") + 1) + ":7");
  EXPECT_EQ(refusal("INSERT INTO \"Music\".\"GenreYear\" VALUE {'Artist': 'a'}"),
            "This operation is not supported on an index");
}

// Pins number literals: DynamoDB's range and precision, with the literal's
// place in the value ("under root.x", "under root[1]").
TEST(PartiqlInsert, NumberLiteralsFollowDynamoDbsRules) {
  const std::string overflow =
      "Number overflow. Attempting to store a number with magnitude larger than supported range";
  const std::string underflow =
      "Number underflow. Attempting to store a number with magnitude smaller than supported "
      "range";
  EXPECT_EQ(refusal("SELECT * FROM \"Counters\" WHERE id = 1e126"), overflow + " under root");
  EXPECT_EQ(refusal("SELECT * FROM \"Counters\" WHERE id = 1e-131"), underflow + " under root");
  EXPECT_EQ(
      refusal("SELECT * FROM \"Counters\" WHERE id = 123456789012345678901234567890123456789"),
      "Attempting to store more than 38 significant digits in a Number under root");
  EXPECT_EQ(refusal("INSERT INTO \"Counters\" VALUE {'id': 1, 'm': {'x': 1e126}}"),
            overflow + " under root.x");
  EXPECT_EQ(refusal("INSERT INTO \"Counters\" VALUE {'id': 1, 'l': [1, 1e126]}"),
            overflow + " under root[1]");
  auto p = planned(
      "INSERT INTO \"Counters\" VALUE {'id': -0.10, 'big': "
      "9.9999999999999999999999999999999999999E+125}");
  EXPECT_EQ(json::serialize(p.request.at("Item").at("id")), R"({"N":"-0.1"})");
}

// Pins UPDATE: an UpdateItem of the item the WHERE's key equalities name,
// which must exist and satisfy the rest of the WHERE.
TEST(PartiqlUpdate, UpdatesOneExistingItem) {
  auto ps = params(R"([{"S":"new"},{"L":[{"N":"3"}]}])");
  auto p = planned(
      "UPDATE \"Music\" SET a = ?, b = b + 1 SET c = list_append(c, ?) REMOVE d, m.k[0] "
      "WHERE Artist = 'A' AND SongTitle = 'S' AND b < 10",
      &ps);
  EXPECT_EQ(p.operation, "UpdateItem");
  EXPECT_EQ(json::serialize(p.request.at("Key")), R"({"Artist":{"S":"A"},"SongTitle":{"S":"S"}})");
  EXPECT_EQ(str(p.request, "UpdateExpression"),
            "SET #n0 = :v0, #n1 = #n1 + :v1, #n2 = list_append(#n2, :v2) REMOVE #n3, #n4.#n5[0]");
  EXPECT_EQ(str(p.request, "ConditionExpression"), "attribute_exists(#n6) AND (#n1 < :v3)");
  EXPECT_FALSE(p.request.contains("ReturnValues"));
  expect_service_accepts(p, kMusic);

  auto old_item = obj(R"({"Artist":{"S":"A"},"SongTitle":{"S":"S"},"b":{"N":"5"},
      "c":{"L":[{"N":"1"}]},"d":{"S":"gone"},"m":{"M":{"k":{"L":[{"S":"x"},{"S":"y"}]}}}})");
  EXPECT_TRUE(holds(p, "ConditionExpression", old_item));
  EXPECT_FALSE(holds(p, "ConditionExpression", json::object{}));  // UPDATE never creates
  EXPECT_FALSE(holds(p, "ConditionExpression", obj(R"({"Artist":{"S":"A"},"b":{"N":"10"}})")));

  // Applied as the service applies it.
  auto ctx = ExpressionContext::create(&p.request.at("ExpressionAttributeNames").as_object(),
                                       &p.request.at("ExpressionAttributeValues").as_object());
  auto u = UpdateExpression::parse(str(p.request, "UpdateExpression"), *ctx);
  ASSERT_TRUE(u.ok()) << u.error();
  auto out = u->apply(old_item);
  ASSERT_TRUE(out.ok()) << out.error();
  EXPECT_EQ(out->item, obj(R"({"Artist":{"S":"A"},"SongTitle":{"S":"S"},"b":{"N":"6"},
      "c":{"L":[{"N":"1"},{"N":"3"}]},"m":{"M":{"k":{"L":[{"S":"y"}]}}},"a":{"S":"new"}})"));
}

// Pins RETURNING on UPDATE: DynamoDB's four forms as UpdateItem's
// ReturnValues, the written item becoming the statement's row.
TEST(PartiqlUpdate, ReturningMapsToReturnValues) {
  struct Case {
    std::string returning, value;
  };
  for (const Case& c : {Case{"ALL OLD *", "ALL_OLD"}, Case{"MODIFIED OLD *", "UPDATED_OLD"},
                        Case{"ALL NEW *", "ALL_NEW"}, Case{"MODIFIED NEW *", "UPDATED_NEW"}}) {
    auto p = planned("UPDATE \"Users\" SET a = 1 WHERE pk = 'x' RETURNING " + c.returning);
    EXPECT_EQ(str(p.request, "ReturnValues"), c.value);
    EXPECT_TRUE(p.returns_item);
  }
  EXPECT_EQ(refusal("UPDATE \"Users\" SET a = 1 WHERE pk = 'x' RETURNING ALL NEW *", nullptr,
                    PartiqlCaller::kExecuteTransaction),
            "RETURNING clause is not supported in ExecuteTransaction.");
}

// Pins set_add / set_delete: UpdateExpression ADD / DELETE of set members,
// with DynamoDB's texts and positions for misuse.
TEST(PartiqlUpdate, SetAddAndSetDelete) {
  auto p = planned(
      "UPDATE \"Users\" SET ss = set_add(ss, <<'x'>>) SET ns = SET_DELETE(ns, <<1>>) WHERE pk = "
      "'u'");
  EXPECT_EQ(str(p.request, "UpdateExpression"), "ADD #n0 :v0 DELETE #n1 :v1");
  expect_service_accepts(p, kUsers);
  auto ctx = ExpressionContext::create(&p.request.at("ExpressionAttributeNames").as_object(),
                                       &p.request.at("ExpressionAttributeValues").as_object());
  auto u = UpdateExpression::parse(str(p.request, "UpdateExpression"), *ctx);
  ASSERT_TRUE(u.ok());
  auto out = u->apply(obj(R"({"pk":{"S":"u"},"ss":{"SS":["a"]},"ns":{"NS":["1","2"]}})"));
  ASSERT_TRUE(out.ok()) << out.error();
  EXPECT_EQ(json::serialize(out->item),
            R"({"pk":{"S":"u"},"ss":{"SS":["a","x"]},"ns":{"NS":["2"]}})");

  auto at = [](const std::string& s, std::string_view token, size_t from = 0) {
    return "at 1:" + std::to_string(s.find(token, from) + 1) + ":" + std::to_string(token.size());
  };
  std::string s1 = "UPDATE \"Users\" SET t = set_add(ss, <<'x'>>) WHERE pk = 'u'";
  EXPECT_EQ(refusal(s1),
            "The first argument to SET_ADD must equal the assignment value " + at(s1, "set_add"));
  std::string s2 = "UPDATE \"Users\" SET ss = set_add(ss, 'x') WHERE pk = 'u'";
  EXPECT_EQ(refusal(s2), "The second argument to SET_ADD must be a value with type SET " +
                             at(s2, "ss", s2.find("set_add(")));
  std::string s3 = "UPDATE \"Users\" SET ss = set_add(ss) WHERE pk = 'u'";
  EXPECT_EQ(refusal(s3), "SET_ADD must have exactly two arguments " + at(s3, "set_add"));
  EXPECT_EQ(refusal("UPDATE \"Users\" SET ss = set_add(ss, <<>>) WHERE pk = 'u'"),
            "Empty bags are not supported");
  std::string s4 = "UPDATE \"Users\" SET t = set_delete(ss, <<'a'>>) WHERE pk = 'u'";
  EXPECT_EQ(refusal(s4), "The first argument to SET_DELETE must equal the assignment value " +
                             at(s4, "set_delete"));
}

// Pins UPDATE's refusals: the full key by equality, once per attribute, of
// the schema's type; no key updates; only SET and REMOVE.
TEST(PartiqlUpdate, Refusals) {
  const std::string incomplete =
      "Where clause does not contain a mandatory equality on all key attributes";
  EXPECT_EQ(refusal("UPDATE \"Music\" SET a = 1 WHERE Artist = 'A'"), incomplete);
  EXPECT_EQ(refusal("UPDATE \"Music\" SET a = 1"), incomplete);
  EXPECT_EQ(refusal("UPDATE \"Users\" SET a = 1 WHERE pk = 'a' OR pk = 'b'"), incomplete);
  EXPECT_EQ(refusal("FROM \"Users\" SET c = 1"), incomplete);
  EXPECT_EQ(refusal("FROM \"Users\" WHERE a = 1 SET c = 1"), incomplete);
  EXPECT_EQ(refusal("UPDATE \"Users\" SET a = 1 WHERE pk = 'a' AND pk = 'b'"),
            "Multiple conditions on same key pk. Only single item Update/Insert/Delete are "
            "supported");
  EXPECT_EQ(refusal("UPDATE \"Users\" SET a = 1 WHERE pk = 1"),
            "Key attribute's data type should match its data type in table's schema: Key pk");
  EXPECT_EQ(refusal("UPDATE \"Users\" SET pk = 'b' WHERE pk = 'a'"),
            "One or more parameter values were invalid: Cannot update attribute pk. This "
            "attribute is part of the key");
  EXPECT_EQ(refusal("UPDATE \"Users\" SET a = 1 SET a = 2 WHERE pk = 'a'"),
            "Two document paths overlap with each other; must remove or rewrite one of these "
            "paths; path one: [a], path two: [a]");
  EXPECT_EQ(refusal("UPDATE \"Users\" SET a = b IS MISSING WHERE pk = 'a'"),
            "IS operator is not supported in update expressions");
  EXPECT_EQ(refusal("UPDATE \"Users\" SET a = if_not_exists(a, 1) WHERE pk = 'a'").substr(0, 37),
            "Unrecognized function: if_not_exists ");
  EXPECT_EQ(refusal("UPDATE \"Users\" INSERT INTO x VALUE 1 WHERE pk = 'a'"),
            "Only SET and REMOVE are supported in update expressions at this time");
  EXPECT_EQ(refusal("UPDATE \"Music\".\"GenreYear\" SET a = 1 WHERE Genre = 'x'"),
            "This operation is not supported on an index");
  // The FROM-first form is an UPDATE too.
  auto p = planned("FROM \"Users\" WHERE pk = 'a' SET c = 1");
  EXPECT_EQ(p.operation, "UpdateItem");
}

// Pins DELETE: a DeleteItem by key; deleting a missing item succeeds, while
// an existing item must satisfy the rest of the WHERE.
TEST(PartiqlDelete, DeletesByKeyAndMissingIsANoOp) {
  auto p = planned("DELETE FROM \"Music\" WHERE Artist = 'A' AND SongTitle = 'S'");
  EXPECT_EQ(p.operation, "DeleteItem");
  EXPECT_EQ(json::serialize(p.request),
            R"({"TableName":"Music","Key":{"Artist":{"S":"A"},"SongTitle":{"S":"S"}}})");
  EXPECT_FALSE(p.returns_item);

  auto c = planned(
      "DELETE FROM \"Users\" WHERE pk = 'u' AND NOT begins_with(\"name\", 'al') "
      "RETURNING ALL OLD *");
  EXPECT_EQ(str(c.request, "ConditionExpression"),
            "attribute_not_exists(#n1) OR (NOT begins_with(#n0, :v0))");
  EXPECT_EQ(str(c.request, "ReturnValues"), "ALL_OLD");
  EXPECT_TRUE(c.returns_item);
  expect_service_accepts(c, kUsers);
  EXPECT_TRUE(holds(c, "ConditionExpression", json::object{}));
  EXPECT_FALSE(holds(c, "ConditionExpression", obj(R"({"pk":{"S":"u"},"name":{"S":"alpha"}})")));
  EXPECT_TRUE(holds(c, "ConditionExpression", obj(R"({"pk":{"S":"u"},"name":{"S":"beta"}})")));

  EXPECT_EQ(refusal("DELETE FROM \"Users\" WHERE \"name\" = 'alpha'"),
            "Where clause does not contain a mandatory equality on all key attributes");
  EXPECT_EQ(refusal("DELETE FROM \"Users\""),
            "Where clause does not contain a mandatory equality on all key attributes");
  EXPECT_EQ(refusal("DELETE FROM \"Users\" WHERE pk = 'u' RETURNING ALL OLD *", nullptr,
                    PartiqlCaller::kExecuteTransaction),
            "RETURNING clause is not supported in ExecuteTransaction.");
}

// Pins EXISTS: a transaction's condition check on one item with a further
// condition; refused elsewhere.
TEST(PartiqlExists, ConditionCheckInTransactionsOnly) {
  auto p = planned(
      "EXISTS(SELECT * FROM \"Music\" WHERE Artist = 'A' AND SongTitle = 'S' AND Awards IS "
      "MISSING)",
      nullptr, PartiqlCaller::kExecuteTransaction);
  EXPECT_EQ(p.operation, "ConditionCheck");
  EXPECT_FALSE(p.is_read);
  EXPECT_EQ(str(p.request, "ConditionExpression"),
            "attribute_exists(#n0) AND attribute_not_exists(#n1)");
  expect_service_accepts(p, kMusic);
  EXPECT_FALSE(holds(p, "ConditionExpression", json::object{}));
  EXPECT_TRUE(holds(p, "ConditionExpression", obj(R"({"Artist":{"S":"A"}})")));
  EXPECT_EQ(refusal("EXISTS(SELECT * FROM \"Music\" WHERE Artist = 'A' AND SongTitle = 'S')",
                    nullptr, PartiqlCaller::kExecuteTransaction),
            "EXISTS() must contain a single item read with additional condition");
  EXPECT_EQ(refusal("EXISTS(SELECT * FROM \"Music\" WHERE Artist = 'A' AND x = 1)", nullptr,
                    PartiqlCaller::kExecuteTransaction),
            "EXISTS() must contain a single item read with additional condition");
  EXPECT_EQ(refusal("EXISTS(SELECT * FROM \"Users\" WHERE pk = 'a' AND x = 1)"),
            "EXISTS can only be used in ExecuteTransaction write requests.");
  EXPECT_EQ(refusal("EXISTS(SELECT * FROM \"Users\" WHERE pk = 'a' AND x = 1)", nullptr,
                    PartiqlCaller::kBatchExecuteStatement),
            "EXISTS can only be used in ExecuteTransaction write requests.");
}

// ---------------------------------------------------------------------------
// Requests.

// Pins the binding of Parameters: in the order of the `?`, their number
// exactly the statement's, each a valid AttributeValue.
TEST(PartiqlRequest, Parameters) {
  auto ps = params(R"([{"S":"u"},{"N":"007"}])");
  auto p = planned("SELECT * FROM \"Users\" WHERE pk = ? AND n = ?", &ps);
  EXPECT_EQ(p.operation, "Query");
  EXPECT_EQ(json::serialize(p.request.at("ExpressionAttributeValues")),
            R"({":v0":{"S":"u"},":v1":{"N":"7"}})");
  const std::string count = "Number of parameters in request and statement don't match.";
  EXPECT_EQ(refusal("SELECT * FROM \"Users\" WHERE pk = ?"), count);
  auto one = params(R"([{"S":"u"}])");
  EXPECT_EQ(refusal("SELECT * FROM \"Users\" WHERE pk = 'u'", &one), count);
  auto two = params(R"([{"S":"u"},{"S":"v"}])");
  EXPECT_EQ(refusal("SELECT * FROM \"Users\" WHERE pk = ?", &two), count);
  auto bad = params(R"([{"N":"abc"}])");
  EXPECT_EQ(refusal("SELECT * FROM \"Users\" WHERE pk = ?", &bad),
            "The parameter cannot be converted to a numeric value: abc");
  auto empty = params(R"([{}])");
  EXPECT_EQ(refusal("SELECT * FROM \"Users\" WHERE pk = ?", &empty),
            "Supplied AttributeValue is empty, must contain exactly one of the supported "
            "datatypes");
  auto wrong_key = params(R"([{"N":"1"}])");
  EXPECT_EQ(refusal("SELECT * FROM \"Users\" WHERE pk = ?", &wrong_key),
            "Key attribute's data type should match its data type in table's schema: Key pk");
}

// Pins table resolution: an unknown table is ResourceNotFoundException, a
// name DynamoDB cannot have is refused first.
TEST(PartiqlRequest, Tables) {
  auto p = plan("SELECT * FROM \"Nope\"");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().code, "ResourceNotFoundException");
  EXPECT_EQ(p.error().message, "Requested resource not found");
  EXPECT_EQ(p.error().status, 400);
  auto w = plan("FROM \"Nope\" WHERE pk = 'x' SET c = 1");
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().code, "ResourceNotFoundException");
  EXPECT_EQ(refusal("SELECT * FROM \"a b\""),
            "Table name should be within the length [3, 255] and only contain 'a-z', 'A-Z', "
            "'0-9', '-', '_', '.'.");
}

// Pins the request limits: the statement's length as the API model states
// it, in characters.
TEST(PartiqlRequest, StatementLength) {
  EXPECT_EQ(refusal(""),
            "1 validation error detected: Value '' at 'statement' failed to satisfy constraint: "
            "Member must have length greater than or equal to 1");
  std::string longest = "SELECT * FROM \"Users\" WHERE pk = '" + std::string(8192 - 35, 'x') + "'";
  ASSERT_EQ(longest.size(), 8192u);
  EXPECT_TRUE(plan(longest).ok());
  std::string too_long = longest + " ";
  EXPECT_NE(refusal(too_long).find("Member must have length less than or equal to 8192"),
            std::string::npos);
  // Characters, not bytes: 4000 two-byte characters fit.
  std::string wide = "SELECT * FROM \"Users\" WHERE pk = '";
  for (int i = 0; i < 4000; ++i) wide += "\xc3\xa9";
  wide += "'";
  EXPECT_TRUE(plan(wide).ok());
}

// Pins DynamoDB's key lookup helper over a table definition.
TEST(PartiqlRequest, KeySchemaOfATable) {
  TableSchema t;
  t.hash = {"h", KeyType::kS};
  t.range = KeyAttribute{"r", KeyType::kN};
  SecondaryIndex i;
  i.name = "ix";
  i.hash = {"g", KeyType::kB};
  t.indexes.push_back(i);
  auto table = key_schema_for_plan(t, "");
  ASSERT_TRUE(table);
  EXPECT_EQ(table->hash.name, "h");
  EXPECT_EQ(table->range->name, "r");
  auto index = key_schema_for_plan(t, "ix");
  ASSERT_TRUE(index);
  EXPECT_EQ(index->hash.name, "g");
  EXPECT_FALSE(index->range);
  EXPECT_FALSE(key_schema_for_plan(t, "other"));
}

// ---------------------------------------------------------------------------
// Hostile input: always a ValidationException, never a crash, a hang or a
// stack overflow.

TEST(PartiqlHostile, DeepNestingIsRefusedNotRecursedInto) {
  const std::string prefix = "SELECT * FROM \"Users\" WHERE ";
  for (const std::string& open :
       {std::string("("), std::string("NOT "), std::string("- "), std::string("["),
        std::string("{'a':"), std::string("<<"), std::string("size(")}) {
    std::string s = prefix;
    for (int i = 0; i < 5000; ++i) s += open;
    auto p = plan(s.substr(0, 8000));
    ASSERT_FALSE(p.ok()) << open;
    EXPECT_EQ(p.error().code, "ValidationException");
    auto st = parse_partiql(s + "1");  // past the request limit: the parser alone
    ASSERT_FALSE(st.ok()) << open;
  }
  // Within the limit nesting works.
  std::string ok = prefix + std::string(30, '(') + "a = 1" + std::string(30, ')');
  EXPECT_TRUE(plan(ok).ok());
  // Left-deep chains count too.
  std::string chain = prefix + "a";
  for (int i = 0; i < 3000; ++i) chain += " = a";
  EXPECT_FALSE(parse_partiql(chain).ok());
  std::string sum = "UPDATE \"Users\" SET a = 1";
  for (int i = 0; i < 3000; ++i) sum += " + 1";
  EXPECT_FALSE(parse_partiql(sum + " WHERE pk = 'x'").ok());
}

TEST(PartiqlHostile, LongFlatStatementsParse) {
  // A thousand conditions in one AND chain are one flat node.
  std::string s = "SELECT * FROM \"Users\" WHERE a = 1";
  for (int i = 0; i < 1000; ++i) s += " AND a = 1";
  auto st = parse_partiql(s);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(std::get<partiql::Select>(st->body).where->children.size(), 1001u);
  // The service's expression limits then apply to the translation.
  auto p = plan(s);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().code, "ValidationException");
  // A long IN list and a long list literal.
  std::string in = "SELECT * FROM \"Users\" WHERE a IN [";
  for (int i = 0; i < 2000; ++i) in += (i ? ",1" : "1");
  EXPECT_TRUE(parse_partiql(in + "]").ok());
}

TEST(PartiqlHostile, BadBytes) {
  for (std::string s : {std::string("SELECT * FROM \"Users\" WHERE pk = '\xff'"),
                        std::string("SELECT * FROM \"Users\" WHERE pk = '\xc3'"),
                        std::string("SELECT * FROM \"Users\" WHERE pk = '\xed\xa0\x80'"),
                        std::string("SELECT * FROM \"Users\" WHERE pk = '\xc0\xaf'"),
                        std::string("SELECT * FROM \"Users\" WHERE pk = 'a\0b", 37),
                        std::string("SELECT * FROM \"Users\" WHERE \x01 = 1"),
                        std::string("SELECT * FROM \"Users\xe2\x80\x8b\"")}) {
    auto p = plan(s);
    ASSERT_FALSE(p.ok()) << s;
    EXPECT_EQ(p.error().code, "ValidationException") << s;
  }
  // A NUL inside a string is a character of the string.
  std::string with_nul = "SELECT * FROM \"Users\" WHERE pk = 'a";
  with_nul.push_back('\0');
  with_nul += "b'";
  auto nul = planned(with_nul);
  EXPECT_EQ(nul.request.at("Key").at("pk").at("S").as_string().size(), 3u);
}

// Random token soup: whatever comes out, it is a plan the service parses or
// a ValidationException / ResourceNotFoundException.
TEST(PartiqlHostile, TokenSoupNeverBreaksThePlanner) {
  const char* pieces[] = {
      "SELECT",      "*",       "FROM",        "\"Users\"", "\"Music\"", "WHERE",  "pk",
      "=",           "'x'",     "?",           "AND",       "OR",        "NOT",    "(",
      ")",           "[",       "]",           "{",         "}",         "<<",     ">>",
      ",",           ".",       ":",           "1",         "-2.5e3",    "IN",     "BETWEEN",
      "IS",          "MISSING", "UPDATE",      "SET",       "REMOVE",    "DELETE", "INSERT",
      "INTO",        "VALUE",   "RETURNING",   "ALL",       "OLD",       "*",      "size",
      "begins_with", "set_add", "list_append", "Artist",    "SongTitle", "+",      "ORDER",
      "BY",          "DESC",    "EXISTS",      "a",         "b",         "[0]",    ";",
      "'",           "\""};
  const size_t n = sizeof(pieces) / sizeof(pieces[0]);
  uint64_t state = 42;
  auto rnd = [&] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return state >> 33;
  };
  json::array one = params(R"([{"S":"x"}])");
  for (int round = 0; round < 20000; ++round) {
    std::string s;
    size_t len = 1 + rnd() % 24;
    for (size_t i = 0; i < len; ++i) {
      s += pieces[rnd() % n];
      s += ' ';
    }
    for (const json::array* ps : std::initializer_list<const json::array*>{nullptr, &one}) {
      for (auto caller : {PartiqlCaller::kExecuteStatement, PartiqlCaller::kExecuteTransaction}) {
        auto p = plan_partiql(s, ps, lookup_tables, caller);
        if (!p.ok()) {
          EXPECT_TRUE(p.error().code == "ValidationException" ||
                      p.error().code == "ResourceNotFoundException")
              << s << " -> " << p.error().code;
          continue;
        }
        auto key = lookup_tables(str(p->request, "TableName"), str(p->request, "IndexName"));
        ASSERT_TRUE(key) << s;
        expect_service_accepts(*p, *key);
      }
    }
  }
}

}  // namespace
}  // namespace nimbus::services::dynamodb
