// DynamoDB's PartiQL, the planner's helpers: questions about the parsed tree
// (key equalities, conditions, operator names), the text of the generated
// expressions, and the check of a planned request against the expression
// parsers.
#include "services/dynamodb/partiql.h"

#include <boost/json.hpp>

#include <algorithm>
#include <array>
#include <variant>

#include "services/dynamodb/expression.h"
#include "services/dynamodb/partiql_internal.h"

namespace nimbus::services::dynamodb {

namespace json = boost::json;
using partiql::Expr;
using partiql::ExprPtr;
using Kind = partiql::Expr::Kind;
using namespace partiql::detail;

// ---------------------------------------------------------------------------
// Planner helpers.

namespace {

constexpr std::array<std::string_view, 5> kConditionFunctions = {
    "attribute_exists", "attribute_not_exists", "attribute_type", "begins_with", "contains"};

// Whether `text` is one parenthesised whole, "(...)". Placeholders hold no
// parentheses, so counting them is exact.
bool enclosed(std::string_view text) {
  if (text.size() < 2 || text.front() != '(' || text.back() != ')') return false;
  int depth = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    depth += text[i] == '(' ? 1 : text[i] == ')' ? -1 : 0;
    if (depth == 0 && i + 1 < text.size()) return false;
  }
  return true;
}

// The expression parsers' messages carry an "Invalid <Parameter>: " prefix
// that names the API parameter; PartiQL has none, and DynamoDB's PartiQL
// messages are the bare texts ("Operator or function requires a document
// path; operator or function: attribute_exists").
std::string without_parameter_prefix(std::string message) {
  for (std::string_view kind : {"ConditionExpression", "FilterExpression", "UpdateExpression",
                                "ProjectionExpression", "KeyConditionExpression"}) {
    std::string prefix = "Invalid " + std::string(kind) + ": ";
    if (message.starts_with(prefix)) return message.substr(prefix.size());
  }
  return message;
}

}  // namespace

namespace partiql::detail {

// DynamoDB's table name rule (table.h's valid_table_name), restated here so
// that the parsers' fuzz build, which leaves table.cc out, can link this.
bool table_name_ok(std::string_view name) {
  if (name.size() < 3 || name.size() > 255) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || digit(c) || c == '_' || c == '-' ||
           c == '.';
  });
}

std::string_view key_type_letter(KeyType t) {
  switch (t) {
    case KeyType::kS:
      return "S";
    case KeyType::kN:
      return "N";
    case KeyType::kB:
      return "B";
  }
  return "";
}

bool is_value_node(const Expr& e) {
  return e.kind == Kind::kLiteral || e.kind == Kind::kParameter || e.kind == Kind::kList ||
         e.kind == Kind::kMap || e.kind == Kind::kBag;
}

// A one-step path naming `name`.
bool names_attribute(const Expr& e, std::string_view name) {
  return e.kind == Kind::kPath && e.path.size() == 1 &&
         std::holds_alternative<std::string>(e.path[0]) && std::get<std::string>(e.path[0]) == name;
}

// Whether anything in `e` reads attribute `name` (at any depth of a path
// that starts there).
bool references(const Expr& e, std::string_view name) {
  if (e.kind == Kind::kPath)
    return !e.path.empty() && std::holds_alternative<std::string>(e.path[0]) &&
           std::get<std::string>(e.path[0]) == name;
  return std::any_of(e.children.begin(), e.children.end(),
                     [&](const ExprPtr& c) { return references(*c, name); });
}

// The operands of the top-level AND (the whole condition when there is none).
void conjuncts(const Expr& e, std::vector<const Expr*>& out) {
  if (e.kind == Kind::kAnd) {
    for (const auto& c : e.children) conjuncts(*c, out);
    return;
  }
  out.push_back(&e);
}

// `name` = value (either way round): the value.
const Expr* equality_value(const Expr& c, std::string_view name) {
  if (c.kind != Kind::kCompare || c.op != "=") return nullptr;
  const Expr& l = *c.children[0];
  const Expr& r = *c.children[1];
  if (names_attribute(l, name) && is_value_node(r)) return &r;
  if (names_attribute(r, name) && is_value_node(l)) return &l;
  return nullptr;
}

bool condition_function(std::string_view name) {
  return std::find(kConditionFunctions.begin(), kConditionFunctions.end(), name) !=
         kConditionFunctions.end();
}

size_t function_arity(std::string_view name) {
  if (name == "attribute_exists" || name == "attribute_not_exists" || name == "size") return 1;
  return 2;
}

// Nodes that are conditions (true or false), as AND, OR, NOT and WHERE need.
bool is_boolean(const Expr& e) {
  switch (e.kind) {
    case Kind::kAnd:
    case Kind::kOr:
    case Kind::kNot:
    case Kind::kCompare:
    case Kind::kBetween:
    case Kind::kIn:
    case Kind::kIs:
      return true;
    case Kind::kCall:
      return condition_function(e.name);
    default:
      return false;
  }
}

std::string operator_name(const Expr& e) {
  switch (e.kind) {
    case Kind::kAnd:
      return "AND";
    case Kind::kOr:
      return "OR";
    case Kind::kNot:
      return "NOT";
    case Kind::kBetween:
      return "BETWEEN";
    case Kind::kIn:
      return "IN";
    case Kind::kIs:
      return "IS";
    case Kind::kMissing:
      return "MISSING";
    case Kind::kCompare:
    case Kind::kArithmetic:
    case Kind::kNegate:
      return e.op == "like" ? "LIKE" : e.op;
    default:
      return "UNKNOWN";
  }
}

// The name DynamoDB gives a projected path: its last attribute name and any
// list indexes after it.
std::string column_name(const Path& path) {
  size_t last = 0;
  for (size_t i = 0; i < path.size(); ++i)
    if (std::holds_alternative<std::string>(path[i])) last = i;
  std::string name = std::get<std::string>(path[last]);
  for (size_t i = last + 1; i < path.size(); ++i)
    name += "[" + std::to_string(std::get<uint32_t>(path[i])) + "]";
  return name;
}

// DynamoDB refuses "((...))" as redundant parentheses.
std::string parenthesized(std::string text) {
  return enclosed(text) ? text : "(" + text + ")";
}

std::string join(const std::vector<std::string>& parts, std::string_view separator) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out += separator;
    out += parts[i];
  }
  return out;
}

// Parses every expression of a planned request exactly as the service will,
// so that what DynamoDB refuses about the translated statement is refused at
// planning time, with its text.
Result<void, aws::ApiError> check_expressions(const json::object& request,
                                              const KeySchemaForPlan& key) {
  auto object_member = [&](std::string_view k) -> const json::object* {
    auto* v = request.if_contains(k);
    return v && v->is_object() ? &v->get_object() : nullptr;
  };
  auto text = [&](std::string_view k) -> std::optional<std::string_view> {
    auto* v = request.if_contains(k);
    if (!v || !v->is_string()) return std::nullopt;
    return std::string_view(v->get_string());
  };
  auto refused = [](std::string message) {
    return aws::ApiError::validation(without_parameter_prefix(std::move(message)));
  };
  auto ctx = ExpressionContext::create(object_member("ExpressionAttributeNames"),
                                       object_member("ExpressionAttributeValues"));
  if (!ctx) return fail(refused(ctx.error()));
  if (auto t = text("KeyConditionExpression"))
    if (auto r = parse_key_condition(*t, *ctx, key.hash, key.range); !r)
      return fail(refused(r.error()));
  if (auto t = text("FilterExpression"))
    if (auto r = ConditionExpression::parse(*t, *ctx, "FilterExpression"); !r)
      return fail(refused(r.error()));
  if (auto t = text("ConditionExpression"))
    if (auto r = ConditionExpression::parse(*t, *ctx, "ConditionExpression"); !r)
      return fail(refused(r.error()));
  if (auto t = text("ProjectionExpression"))
    if (auto r = ProjectionExpression::parse(*t, *ctx); !r) return fail(refused(r.error()));
  if (auto t = text("UpdateExpression")) {
    auto r = UpdateExpression::parse(*t, *ctx);
    if (!r) return fail(refused(r.error()));
    if (auto e = r->key_update_error(key.hash, key.range)) return fail(refused(*e));
  }
  if (auto r = ctx->check_unused(); !r) return fail(refused(r.error()));
  return {};
}

}  // namespace partiql::detail

}  // namespace nimbus::services::dynamodb
