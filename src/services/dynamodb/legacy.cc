#include "services/dynamodb/legacy.h"

#include <boost/json.hpp>

#include <algorithm>
#include <array>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "services/dynamodb/expression.h"
#include "services/dynamodb/item.h"
#include "services/dynamodb/wire.h"

namespace nimbus::services::dynamodb {

namespace json = boost::json;

namespace {

using aws::ApiError;

ApiError validation(std::string message) {
  return ApiError::validation(std::move(message));
}

// DynamoDB would answer a member of the wrong JSON type with a
// SerializationException before reading the request; here the request is
// already parsed, and such input is refused as invalid like any other.
ApiError malformed(std::string_view wire_path, std::string_view what) {
  return validation("1 validation error detected: Value at '" + std::string(wire_path) +
                    "' failed to satisfy constraint: Member must be " + std::string(what));
}

ApiError not_in_enum(const json::value& v, std::string_view wire_path, std::string_view set) {
  std::string shown = v.is_string() ? std::string(v.get_string()) : json::serialize(v);
  return validation(
      "1 validation error detected: Value '" + shown + "' at '" + std::string(wire_path) +
      "' failed to satisfy constraint: Member must satisfy enum value set: " + std::string(set));
}

// A member as DynamoDB reads it: JSON null is the same as absent.
const json::value* member(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && !v->is_null() ? v : nullptr;
}

bool has(const json::object& o, std::string_view key) {
  return member(o, key) != nullptr;
}

// "S", "N", "SS", ... of an attribute value that normalize_value accepted.
std::string_view type_of(const json::value& v) {
  return std::string_view(v.get_object().begin()->key());
}

bool is_set_type(std::string_view t) {
  return t == "SS" || t == "NS" || t == "BS";
}

// ---------------------------------------------------------------------------
// Placeholders.

// The ExpressionAttributeNames and ExpressionAttributeValues generated for
// one request (or one table of a BatchGetItem). The request may already have
// entries of its own (Query accepts KeyConditions beside a FilterExpression):
// a generated key that is taken is skipped, so the two never collide. One
// attribute gets one name placeholder however often it appears, so every
// generated entry is used by some expression, as the parser requires.
class Placeholders {
 public:
  Placeholders(const json::object* own_names, const json::object* own_values)
      : own_names_(own_names), own_values_(own_values) {}

  std::string name(const std::string& attribute) {
    if (auto it = name_of_.find(attribute); it != name_of_.end()) return it->second;
    std::string key = free_key('#', own_names_, names_, next_name_);
    names_[key] = attribute;
    name_of_.emplace(attribute, key);
    return key;
  }

  std::string value(json::value v) {
    std::string key = free_key(':', own_values_, values_, next_value_);
    values_[key] = std::move(v);
    return key;
  }

  // {"L": []}, shared by every list ADD of the request.
  std::string empty_list() {
    if (!empty_list_) empty_list_ = value(json::object{{"L", json::array{}}});
    return *empty_list_;
  }

  json::object& names() { return names_; }
  json::object& values() { return values_; }
  const json::object& names() const { return names_; }
  const json::object& values() const { return values_; }

 private:
  static std::string free_key(char sigil, const json::object* own, const json::object& generated,
                              size_t& counter) {
    for (;;) {
      std::string key = sigil + std::string(sigil == '#' ? "n" : "v") + std::to_string(counter++);
      if ((!own || !own->contains(key)) && !generated.contains(key)) return key;
    }
  }

  const json::object* own_names_;
  const json::object* own_values_;
  json::object names_, values_;
  std::map<std::string, std::string> name_of_;
  size_t next_name_ = 0, next_value_ = 0;
  std::optional<std::string> empty_list_;
};

// ---------------------------------------------------------------------------
// Comparison operators.

enum class Op {
  kEq,
  kNe,
  kLe,
  kLt,
  kGe,
  kGt,
  kNotNull,
  kNull,
  kContains,
  kNotContains,
  kBeginsWith,
  kIn,
  kBetween
};

struct OpInfo {
  std::string_view name;
  Op op;
  size_t min_values, max_values;
  // The types AttributeValueList may hold; empty: any (EQ and NE compare
  // lists, maps, BOOL and NULL too).
  std::array<std::string_view, 3> types;
  bool indexable;  // valid in KeyConditions
};

constexpr size_t kUnbounded = static_cast<size_t>(-1);

// The operand rules of the ComparisonOperator documentation (API_Condition,
// API_ExpectedAttributeValue) as DynamoDB enforces them (Alternator's
// test_expected.py and test_query_filter.py, written against DynamoDB).
constexpr std::array<OpInfo, 13> kOps{{
    {"EQ", Op::kEq, 1, 1, {}, true},
    {"NE", Op::kNe, 1, 1, {}, false},
    {"LE", Op::kLe, 1, 1, {"S", "N", "B"}, true},
    {"LT", Op::kLt, 1, 1, {"S", "N", "B"}, true},
    {"GE", Op::kGe, 1, 1, {"S", "N", "B"}, true},
    {"GT", Op::kGt, 1, 1, {"S", "N", "B"}, true},
    {"NOT_NULL", Op::kNotNull, 0, 0, {}, false},
    {"NULL", Op::kNull, 0, 0, {}, false},
    {"CONTAINS", Op::kContains, 1, 1, {"S", "N", "B"}, false},
    {"NOT_CONTAINS", Op::kNotContains, 1, 1, {"S", "N", "B"}, false},
    {"BEGINS_WITH", Op::kBeginsWith, 1, 1, {"S", "B"}, true},
    {"IN", Op::kIn, 1, kUnbounded, {"S", "N", "B"}, false},
    {"BETWEEN", Op::kBetween, 2, 2, {"S", "N", "B"}, true},
}};

constexpr std::string_view kOpEnum =
    "[IN, NULL, BETWEEN, LT, NOT_CONTAINS, EQ, GT, NOT_NULL, NE, LE, BEGINS_WITH, GE, CONTAINS]";

const OpInfo* find_op(const json::value& v) {
  if (!v.is_string()) return nullptr;
  for (const OpInfo& info : kOps)
    if (info.name == v.get_string()) return &info;
  return nullptr;
}

// A ComparisonOperator member, which must name a known operator.
Result<const OpInfo*, ApiError> comparison_operator(const json::value& v,
                                                    std::string_view wire_path) {
  const OpInfo* info = find_op(v);
  if (!info) return fail(not_in_enum(v, wire_path, kOpEnum));
  return info;
}

// AttributeValueList (or the single Value standing in for it), each value
// checked and normalised as in an item.
Result<std::vector<json::value>, ApiError> value_list(const json::value* list,
                                                      std::string_view wire_path) {
  std::vector<json::value> values;
  if (!list) return values;
  if (!list->is_array()) return fail(malformed(wire_path, "a list of attribute values"));
  for (const json::value& v : list->get_array()) {
    json::value copy = v;
    if (auto r = normalize_value(copy); !r) return fail(r.take_error());
    values.push_back(std::move(copy));
  }
  return values;
}

// Number and types of the operands, in DynamoDB's order of checks (dynalite's
// validateConditions, which follows DynamoDB's messages).
Result<void, ApiError> check_operands(const OpInfo& op, const std::vector<json::value>& values) {
  if (values.size() < op.min_values || values.size() > op.max_values)
    return fail(invalid_parameter("Invalid number of argument(s) for the " + std::string(op.name) +
                                  " ComparisonOperator"));
  for (const json::value& v : values)
    if (type_of(v) != type_of(values.front()))
      return fail(
          invalid_parameter("AttributeValues inside AttributeValueList must be of same type"));
  if (!op.types.front().empty())
    for (const json::value& v : values)
      if (std::find(op.types.begin(), op.types.end(), type_of(v)) == op.types.end())
        return fail(invalid_parameter("ComparisonOperator " + std::string(op.name) +
                                      " is not valid for " + std::string(type_of(v)) +
                                      " AttributeValue type"));
  if (op.op == Op::kBetween) {
    auto order = compare_values(values[0], values[1]);
    if (order && *order > 0)
      return fail(validation(
          "The BETWEEN condition was provided a range where the lower bound is greater than the "
          "upper bound"));
  }
  return {};
}

// One condition of a legacy map as expression text. `composite`: the text
// is an AND of its own and needs parentheses inside an OR.
struct ConditionText {
  std::string text;
  bool composite = false;
};

// Missing attributes. A legacy condition on an attribute the item lacks is
// false, except NULL and NE, which hold:
// - NULL / NOT_NULL test existence, not the NULL type (API_Condition: "tests
//   for the nonexistence of an attribute, not its data type"), so they are
//   attribute_not_exists / attribute_exists.
// - EQ, LE, LT, GE, GT, BEGINS_WITH, CONTAINS, IN ("compared against an
//   existing attribute of an item") and BETWEEN need a value to compare; their
//   expression forms are false on a missing operand, as wanted.
// - NE holds on a different value, a different type and a missing attribute
//   (Alternator's test_update_expected_1_ne_true and test_query_filter_r_ne,
//   run against DynamoDB); "a <> :v" does the same.
// - NOT_CONTAINS is defined by what "the target attribute" holds ("checks for
//   absence of a subsequence, or absence of a value in a set"), so it needs a
//   target: DynamoDB fails it on a missing attribute (Alternator's
//   test_update_expected_1_not_contains), where "NOT contains(a, :v)" would
//   hold. Hence "attribute_exists(a) AND NOT contains(a, :v)". An existing
//   attribute of another type does hold it (same test).
ConditionText condition_text(Op op, const std::string& name, const std::vector<std::string>& vals) {
  switch (op) {
    case Op::kEq:
      return {name + " = " + vals[0]};
    case Op::kNe:
      return {name + " <> " + vals[0]};
    case Op::kLe:
      return {name + " <= " + vals[0]};
    case Op::kLt:
      return {name + " < " + vals[0]};
    case Op::kGe:
      return {name + " >= " + vals[0]};
    case Op::kGt:
      return {name + " > " + vals[0]};
    case Op::kNotNull:
      return {"attribute_exists(" + name + ")"};
    case Op::kNull:
      return {"attribute_not_exists(" + name + ")"};
    case Op::kContains:
      return {"contains(" + name + ", " + vals[0] + ")"};
    case Op::kNotContains:
      return {"attribute_exists(" + name + ") AND NOT contains(" + name + ", " + vals[0] + ")",
              true};
    case Op::kBeginsWith:
      return {"begins_with(" + name + ", " + vals[0] + ")"};
    case Op::kIn: {
      std::string list;
      for (const std::string& v : vals) list += (list.empty() ? "" : ", ") + v;
      return {name + " IN (" + list + ")"};
    }
    case Op::kBetween:
      return {name + " BETWEEN " + vals[0] + " AND " + vals[1]};
  }
  return {};
}

ConditionText placed(const OpInfo& op, const std::string& attribute,
                     std::vector<json::value> values, Placeholders& ph) {
  std::vector<std::string> refs;
  refs.reserve(values.size());
  for (json::value& v : values) refs.push_back(ph.value(std::move(v)));
  return condition_text(op.op, ph.name(attribute), refs);
}

std::string combine(const std::vector<ConditionText>& parts, std::string_view conjunction) {
  std::string out;
  for (const ConditionText& p : parts) {
    if (!out.empty()) out += " " + std::string(conjunction) + " ";
    out += parts.size() > 1 && p.composite ? "(" + p.text + ")" : p.text;
  }
  return out;
}

// ---------------------------------------------------------------------------
// The legacy parameters.

// One entry of Expected: {Exists: false}, {Value: v} (Exists true or absent),
// or {ComparisonOperator, AttributeValueList}. Checks in dynalite's order
// (validateAttributeConditions, whose messages are DynamoDB's).
Result<ConditionText, ApiError> expected_entry(const std::string& attribute,
                                               const json::value& spec, Placeholders& ph) {
  const std::string path = "expected." + attribute + ".member";
  if (!spec.is_object()) return fail(malformed(path, "an ExpectedAttributeValue structure"));
  const json::object& o = spec.get_object();
  const json::value* value = member(o, "Value");
  const json::value* list = member(o, "AttributeValueList");
  const json::value* exists = member(o, "Exists");
  const json::value* op_member = member(o, "ComparisonOperator");
  if (exists && !exists->is_bool()) return fail(malformed(path + ".exists", "a boolean"));
  const OpInfo* op = nullptr;
  if (op_member) {
    auto found = comparison_operator(*op_member, path + ".comparisonOperator");
    if (!found) return fail(found.take_error());
    op = *found;
  }
  const std::string for_attribute = " for Attribute: " + attribute;
  if (list && value)
    return fail(
        invalid_parameter("Value and AttributeValueList cannot be used together" + for_attribute));
  if (op) {
    if (exists)
      return fail(invalid_parameter("Exists and ComparisonOperator cannot be used together" +
                                    for_attribute));
    if (op->op != Op::kNull && op->op != Op::kNotNull && !list && !value)
      return fail(
          invalid_parameter("Value or AttributeValueList must be used with ComparisonOperator: " +
                            std::string(op->name) + for_attribute));
    // DynamoDB takes a Value beside a ComparisonOperator as its one operand
    // (dynalite's putItem tests, run against DynamoDB, send {Value: v,
    // ComparisonOperator: EQ} and expect success), although the
    // ExpectedAttributeValue documentation calls the two incompatible.
    json::value single = json::array{};
    if (value) single.get_array().push_back(*value);
    auto values = value_list(list ? list : &single, path + ".attributeValueList");
    if (!values) return fail(values.take_error());
    if (auto r = check_operands(*op, *values); !r) return fail(r.take_error());
    return placed(*op, attribute, std::move(*values), ph);
  }
  if (list)
    return fail(invalid_parameter("AttributeValueList can only be used with a ComparisonOperator" +
                                  for_attribute));
  bool expect_exists = !exists || exists->get_bool();
  if (expect_exists && !value)
    return fail(invalid_parameter("Value must be provided when Exists is " +
                                  std::string(exists ? "true" : "null") + for_attribute));
  if (!expect_exists) {
    if (value)
      return fail(invalid_parameter("Value cannot be used when Exists is false" + for_attribute));
    return ConditionText{"attribute_not_exists(" + ph.name(attribute) + ")"};
  }
  json::value copy = *value;
  if (auto r = normalize_value(copy); !r) return fail(r.take_error());
  // Exists true with a Value is plain equality: the documentation's "If
  // Exists is true, DynamoDB will check to see if that attribute value
  // already exists" is that very value, and a missing attribute fails it.
  return ConditionText{ph.name(attribute) + " = " + ph.value(std::move(copy))};
}

// One entry of QueryFilter, ScanFilter or KeyConditions (the Condition shape:
// ComparisonOperator required, AttributeValueList as it needs).
Result<ConditionText, ApiError> condition_entry(std::string_view wire_name,
                                                const std::string& attribute,
                                                const json::value& spec, bool key_condition,
                                                Placeholders& ph) {
  const std::string path = std::string(wire_name) + "." + attribute + ".member";
  if (!spec.is_object()) return fail(malformed(path, "a Condition structure"));
  const json::object& o = spec.get_object();
  const json::value* op_member = member(o, "ComparisonOperator");
  if (!op_member)
    return fail(validation("1 validation error detected: Value null at '" + path +
                           ".comparisonOperator' failed to satisfy constraint: Member must not "
                           "be null"));
  auto op = comparison_operator(*op_member, path + ".comparisonOperator");
  if (!op) return fail(op.take_error());
  auto values = value_list(member(o, "AttributeValueList"), path + ".attributeValueList");
  if (!values) return fail(values.take_error());
  if (auto r = check_operands(**op, *values); !r) return fail(r.take_error());
  if (key_condition && !(*op)->indexable)
    return fail(validation("Attempted conditional constraint is not an indexable operation"));
  return placed(**op, attribute, std::move(*values), ph);
}

// Expected, QueryFilter or ScanFilter as one condition, its entries joined by
// ConditionalOperator (AND unless OR). Empty when the map is: an empty map
// is no condition at all, as DynamoDB treats it.
template <class Entry>
Result<std::string, ApiError> conditions(const json::object& map, std::string_view conjunction,
                                         Entry&& entry) {
  std::vector<ConditionText> parts;
  for (const auto& [key, spec] : map) {
    auto part = entry(std::string(key), spec);
    if (!part) return fail(part.take_error());
    parts.push_back(std::move(*part));
  }
  return combine(parts, conjunction);
}

// AttributeUpdates as an UpdateExpression: PUT is SET, DELETE without a value
// REMOVE, DELETE of set members DELETE, ADD of a number or set ADD, and ADD
// of a list appends to it (starting from an empty list when the attribute is
// missing, as DynamoDB's ADD starts from nothing). Checks in dynalite's
// order (its updateItem validation, whose messages are DynamoDB's).
Result<std::string, ApiError> update_expression(const json::object& updates, Placeholders& ph) {
  std::vector<std::string> set, remove, add, del;
  for (const auto& [key, spec] : updates) {
    const std::string attribute(key);
    const std::string path = "attributeUpdates." + attribute + ".member";
    if (!spec.is_object()) return fail(malformed(path, "an AttributeValueUpdate structure"));
    const json::object& o = spec.get_object();
    std::string_view action = "PUT";  // the documented default
    if (const json::value* a = member(o, "Action")) {
      if (!a->is_string() ||
          (a->get_string() != "ADD" && a->get_string() != "PUT" && a->get_string() != "DELETE"))
        return fail(not_in_enum(*a, path + ".action", "[ADD, PUT, DELETE]"));
      action = a->get_string();
    }
    std::optional<json::value> value;
    if (const json::value* v = member(o, "Value")) {
      value = *v;
      if (auto r = normalize_value(*value); !r) return fail(r.take_error());
    }
    if (!value && action != "DELETE")
      return fail(
          invalid_parameter("Only DELETE action is allowed when no attribute value is specified"));
    std::string_view type = value ? type_of(*value) : std::string_view();
    if (value && action == "DELETE" && !is_set_type(type))
      return fail(invalid_parameter("DELETE action with value is not supported for the type " +
                                    std::string(type)));
    if (value && action == "ADD" && type != "N" && type != "L" && !is_set_type(type))
      return fail(
          invalid_parameter("ADD action is not supported for the type " + std::string(type)));
    const std::string name = ph.name(attribute);
    if (action == "PUT") {
      set.push_back(name + " = " + ph.value(std::move(*value)));
    } else if (action == "DELETE") {
      if (value)
        del.push_back(name + " " + ph.value(std::move(*value)));
      else
        remove.push_back(name);
    } else if (type == "L") {
      std::string empty = ph.empty_list();
      set.push_back(name + " = list_append(if_not_exists(" + name + ", " + empty + "), " +
                    ph.value(std::move(*value)) + ")");
    } else {
      add.push_back(name + " " + ph.value(std::move(*value)));
    }
  }
  // Each clause once: DynamoDB refuses a repeated SET, REMOVE, ADD or DELETE.
  std::string out;
  auto clause = [&](std::string_view keyword, const std::vector<std::string>& actions) {
    if (actions.empty()) return;
    out += (out.empty() ? "" : " ") + std::string(keyword) + " ";
    for (size_t i = 0; i < actions.size(); ++i) out += (i ? ", " : "") + actions[i];
  };
  clause("SET", set);
  clause("REMOVE", remove);
  clause("ADD", add);
  clause("DELETE", del);
  return out;
}

// AttributesToGet as a ProjectionExpression.
Result<std::string, ApiError> projection(const json::value& list, std::string_view wire_path,
                                         Placeholders& ph) {
  if (!list.is_array()) return fail(malformed(wire_path, "a list of attribute names"));
  const json::array& names = list.get_array();
  if (names.empty())
    return fail(validation("1 validation error detected: Value '[]' at '" + std::string(wire_path) +
                           "' failed to satisfy constraint: Member must have length greater than "
                           "or equal to 1"));
  std::set<std::string, std::less<>> seen;
  std::string out;
  for (const json::value& n : names) {
    if (!n.is_string()) return fail(malformed(wire_path, "a list of attribute names"));
    std::string attribute(n.get_string());
    if (!seen.insert(attribute).second)
      return fail(invalid_parameter("Duplicate value in attribute name: " + attribute));
    out += (out.empty() ? "" : ", ") + ph.name(attribute);
  }
  return out;
}

// ---------------------------------------------------------------------------
// The two styles in one request.

// The parameters of each style an operation takes, in the order DynamoDB
// lists them in its messages.
struct Styles {
  std::vector<std::string_view> expressions;
  std::vector<std::string_view> legacy;
  // The expressions ExpressionAttributeValues can serve (not
  // ProjectionExpression, which has no values).
  std::vector<std::string_view> value_expressions;
};

Result<void, ApiError> check_styles(const json::object& req, const Styles& styles) {
  std::string expressions, legacy;
  for (std::string_view e : styles.expressions)
    if (has(req, e)) expressions += (expressions.empty() ? "" : ", ") + std::string(e);
  if (!expressions.empty()) {
    for (std::string_view l : styles.legacy) {
      // DynamoDB's one allowed mix: KeyConditions with a FilterExpression or
      // ProjectionExpression, as long as there is no KeyConditionExpression.
      if (l == "KeyConditions" && !has(req, "KeyConditionExpression")) continue;
      if (has(req, l)) legacy += (legacy.empty() ? "" : ", ") + std::string(l);
    }
    if (!legacy.empty())
      return fail(validation(
          "Can not use both expression and non-expression parameters in the same request: "
          "Non-expression parameters: {" +
          legacy + "} Expression parameters: {" + expressions + "}"));
  }
  if (has(req, "ExpressionAttributeNames") && expressions.empty())
    return fail(
        validation("ExpressionAttributeNames can only be specified when using expressions"));
  const auto& values = styles.value_expressions;
  if (!values.empty() && has(req, "ExpressionAttributeValues") &&
      std::none_of(values.begin(), values.end(), [&](std::string_view e) { return has(req, e); })) {
    std::string names;
    for (size_t i = 0; i < values.size(); ++i) names += (i ? " and " : "") + std::string(values[i]);
    return fail(validation(
        "ExpressionAttributeValues can only be specified when using expressions: " + names +
        (values.size() > 1 ? " are null" : " is null")));
  }
  return {};
}

// ConditionalOperator's value, "AND" when absent.
Result<std::string_view, ApiError> conditional_operator(const json::object& req) {
  const json::value* v = member(req, "ConditionalOperator");
  if (!v) return std::string_view("AND");
  if (!v->is_string() || (v->get_string() != "AND" && v->get_string() != "OR"))
    return fail(not_in_enum(*v, "conditionalOperator", "[OR, AND]"));
  return std::string_view(v->get_string());
}

// ConditionalOperator joins the entries of Expected, QueryFilter or
// ScanFilter, and DynamoDB refuses it where there is nothing to join (texts
// from a public suite run against DynamoDB).
Result<void, ApiError> check_conditional_operator_use(const json::object& req,
                                                      std::string_view conditions_member) {
  if (!has(req, "ConditionalOperator")) return {};
  const json::value* map = conditions_member.empty() ? nullptr : member(req, conditions_member);
  size_t entries = map && map->is_object() ? map->get_object().size() : 0;
  if (entries == 0)
    return fail(validation("ConditionalOperator cannot be used without Filter or Expected"));
  if (entries == 1)
    return fail(validation(
        "ConditionalOperator can only be used when Filter or Expected has two or more elements"));
  return {};
}

// A legacy map parameter, which must be a JSON object when sent.
Result<const json::object*, ApiError> legacy_map(const json::object& req, std::string_view name,
                                                 std::string_view wire_name,
                                                 std::string_view what) {
  const json::value* v = member(req, name);
  if (!v) return static_cast<const json::object*>(nullptr);
  if (!v->is_object()) return fail(malformed(wire_name, what));
  return &v->get_object();
}

// The rewrite of one request object (or one table of a BatchGetItem): what
// it gains and loses, applied only once everything has been checked, so a
// refused request is left as it came.
class Rewrite {
 public:
  explicit Rewrite(json::object& target)
      : target_(target),
        placeholders_(own_map(target, "ExpressionAttributeNames"),
                      own_map(target, "ExpressionAttributeValues")) {}

  Placeholders& placeholders() { return placeholders_; }

  void drop(std::string_view legacy_member) { drop_.push_back(legacy_member); }
  void add(std::string_view expression_member, std::string text) {
    if (!text.empty()) add_.emplace_back(expression_member, std::move(text));
  }

  // The request's own ExpressionAttributeNames / Values, into which the
  // generated entries go, must be maps that can take them (DynamoDB refuses
  // an empty one, which must not be hidden by filling it).
  Result<void, ApiError> check_merge() const {
    struct Target {
      std::string_view name, wire_name;
      const json::object& generated;
    };
    for (const Target& t :
         {Target{"ExpressionAttributeNames", "expressionAttributeNames", placeholders_.names()},
          Target{"ExpressionAttributeValues", "expressionAttributeValues",
                 placeholders_.values()}}) {
      const json::value* own = member(target_, t.name);
      if (!own || t.generated.empty()) continue;
      if (!own->is_object()) return fail(malformed(t.wire_name, "a map"));
      if (own->get_object().empty())
        return fail(validation(std::string(t.name) + " must not be empty"));
    }
    return {};
  }

  void apply() {
    for (std::string_view m : drop_) target_.erase(m);
    for (auto& [m, text] : add_) target_[m] = std::move(text);
    merge("ExpressionAttributeNames", placeholders_.names());
    merge("ExpressionAttributeValues", placeholders_.values());
  }

 private:
  static const json::object* own_map(const json::object& o, std::string_view key) {
    const json::value* v = member(o, key);
    return v && v->is_object() ? &v->get_object() : nullptr;
  }
  void merge(std::string_view key, json::object& generated) {
    if (generated.empty()) return;
    json::value& slot = target_[key];
    if (!slot.is_object()) slot = json::object();
    for (auto& [k, v] : generated) slot.get_object()[k] = std::move(v);
  }

  json::object& target_;
  Placeholders placeholders_;
  std::vector<std::string_view> drop_;
  std::vector<std::pair<std::string_view, std::string>> add_;
};

// ---------------------------------------------------------------------------
// Operations.

Result<void, ApiError> translate_write(std::string_view operation, json::object& req) {
  const bool update = operation == "UpdateItem";
  auto conjunction = conditional_operator(req);
  if (!conjunction) return fail(conjunction.take_error());
  auto expected = legacy_map(req, "Expected", "expected", "a map of ExpectedAttributeValue");
  if (!expected) return fail(expected.take_error());
  auto updates = update ? legacy_map(req, "AttributeUpdates", "attributeUpdates",
                                     "a map of AttributeValueUpdate")
                        : Result<const json::object*, ApiError>(nullptr);
  if (!updates) return fail(updates.take_error());

  Styles styles;
  if (update) {
    styles.expressions = {"UpdateExpression", "ConditionExpression"};
    styles.legacy = {"AttributeUpdates", "Expected", "ConditionalOperator"};
  } else {
    styles.expressions = {"ConditionExpression"};
    styles.legacy = {"Expected", "ConditionalOperator"};
  }
  styles.value_expressions = styles.expressions;
  if (auto r = check_styles(req, styles); !r) return r;
  if (auto r = check_conditional_operator_use(req, "Expected"); !r) return r;

  Rewrite rewrite(req);
  Placeholders& ph = rewrite.placeholders();
  if (*updates) {
    auto text = update_expression(**updates, ph);
    if (!text) return fail(text.take_error());
    rewrite.add("UpdateExpression", std::move(*text));
  }
  if (*expected) {
    auto text = conditions(**expected, *conjunction,
                           [&](const std::string& attribute, const json::value& spec) {
                             return expected_entry(attribute, spec, ph);
                           });
    if (!text) return fail(text.take_error());
    rewrite.add("ConditionExpression", std::move(*text));
  }
  rewrite.drop("Expected");
  rewrite.drop("ConditionalOperator");
  if (update) rewrite.drop("AttributeUpdates");
  if (auto r = rewrite.check_merge(); !r) return r;
  rewrite.apply();
  return {};
}

// Select beside AttributesToGet (texts from a public suite run against
// DynamoDB; Query's carry the "1 validation error detected: " prefix, Scan's
// do not).
Result<void, ApiError> check_select(const json::object& req, bool query) {
  std::string_view select = str_or_empty(req, "Select");
  std::string_view what;
  if (select == "ALL_ATTRIBUTES")
    what = "ALL_ATTRIBUTES";
  else if (select == "COUNT")
    what = "only the Count";
  else if (select == "ALL_PROJECTED_ATTRIBUTES" && has(req, "IndexName"))
    what = "ALL_PROJECTED_ATTRIBUTES";
  else
    return {};  // SPECIFIC_ATTRIBUTES, or a value the operation itself refuses
  return fail(validation(std::string(query ? "1 validation error detected: " : "") +
                         "Cannot specify the AttributesToGet when choosing to get " +
                         std::string(what)));
}

Result<void, ApiError> translate_read(std::string_view operation, json::object& req) {
  const bool query = operation == "Query";
  const std::string_view filter_member = query ? "QueryFilter" : "ScanFilter";
  auto conjunction = conditional_operator(req);
  if (!conjunction) return fail(conjunction.take_error());
  auto filter =
      legacy_map(req, filter_member, query ? "queryFilter" : "scanFilter", "a map of Condition");
  if (!filter) return fail(filter.take_error());
  auto key_conditions =
      query ? legacy_map(req, "KeyConditions", "keyConditions", "a map of Condition")
            : Result<const json::object*, ApiError>(nullptr);
  if (!key_conditions) return fail(key_conditions.take_error());
  const json::value* attributes = member(req, "AttributesToGet");

  Styles styles;
  if (query) {
    styles.expressions = {"ProjectionExpression", "FilterExpression", "KeyConditionExpression"};
    styles.legacy = {"AttributesToGet", "QueryFilter", "ConditionalOperator", "KeyConditions"};
    styles.value_expressions = {"FilterExpression", "KeyConditionExpression"};
  } else {
    styles.expressions = {"ProjectionExpression", "FilterExpression"};
    styles.legacy = {"AttributesToGet", "ScanFilter", "ConditionalOperator"};
    styles.value_expressions = {"FilterExpression"};
  }
  if (auto r = check_styles(req, styles); !r) return r;
  if (auto r = check_conditional_operator_use(req, filter_member); !r) return r;

  Rewrite rewrite(req);
  Placeholders& ph = rewrite.placeholders();
  if (*filter) {
    const std::string_view wire = query ? "queryFilter" : "scanFilter";
    auto text = conditions(**filter, *conjunction,
                           [&](const std::string& attribute, const json::value& spec) {
                             return condition_entry(wire, attribute, spec, false, ph);
                           });
    if (!text) return fail(text.take_error());
    rewrite.add("FilterExpression", std::move(*text));
  }
  if (attributes) {
    auto text = projection(*attributes, "attributesToGet", ph);
    if (!text) return fail(text.take_error());
    rewrite.add("ProjectionExpression", std::move(*text));
  }
  if (*key_conditions) {
    // A key condition names the partition key and at most the sort key.
    if ((*key_conditions)->empty() || (*key_conditions)->size() > 2)
      return fail(validation("Conditions can be of length 1 or 2 only"));
    auto text = conditions(**key_conditions, "AND",
                           [&](const std::string& attribute, const json::value& spec) {
                             return condition_entry("keyConditions", attribute, spec, true, ph);
                           });
    if (!text) return fail(text.take_error());
    rewrite.add("KeyConditionExpression", std::move(*text));
  }
  if (attributes)
    if (auto r = check_select(req, query); !r) return r;
  for (std::string_view m : {"AttributesToGet", "ConditionalOperator", "KeyConditions"})
    rewrite.drop(m);
  rewrite.drop(filter_member);
  if (auto r = rewrite.check_merge(); !r) return r;
  rewrite.apply();
  return {};
}

// GetItem, or one table's KeysAndAttributes of BatchGetItem: AttributesToGet
// only.
Result<Rewrite, ApiError> plan_get(json::object& target, std::string_view wire_path) {
  Styles styles{{"ProjectionExpression"}, {"AttributesToGet"}, {}};
  if (auto r = check_styles(target, styles); !r) return fail(r.take_error());
  Rewrite rewrite(target);
  if (const json::value* attributes = member(target, "AttributesToGet")) {
    auto text = projection(*attributes, wire_path, rewrite.placeholders());
    if (!text) return fail(text.take_error());
    rewrite.add("ProjectionExpression", std::move(*text));
  }
  rewrite.drop("AttributesToGet");
  if (auto r = rewrite.check_merge(); !r) return fail(r.take_error());
  return rewrite;
}

Result<void, ApiError> translate_batch_get(json::object& req) {
  json::value* items = req.if_contains("RequestItems");
  // A missing or malformed RequestItems is the operation's own error to give.
  if (!items || !items->is_object()) return {};
  std::vector<Rewrite> rewrites;
  for (auto& [table, spec] : items->get_object()) {
    if (!spec.is_object()) continue;
    auto plan = plan_get(spec.get_object(),
                         "requestItems." + std::string(table) + ".member.attributesToGet");
    if (!plan) return fail(plan.take_error());
    rewrites.push_back(std::move(*plan));
  }
  for (Rewrite& r : rewrites) r.apply();
  return {};
}

}  // namespace

Result<void, ApiError> translate_legacy_parameters(std::string_view operation, json::object& req) {
  if (operation == "PutItem" || operation == "DeleteItem" || operation == "UpdateItem")
    return translate_write(operation, req);
  if (operation == "Query" || operation == "Scan") return translate_read(operation, req);
  if (operation == "GetItem") {
    auto plan = plan_get(req, "attributesToGet");
    if (!plan) return fail(plan.take_error());
    plan->apply();
    return {};
  }
  if (operation == "BatchGetItem") return translate_batch_get(req);
  return {};
}

}  // namespace nimbus::services::dynamodb
