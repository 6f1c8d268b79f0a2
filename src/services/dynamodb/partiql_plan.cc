// DynamoDB's PartiQL, planning: the Planner that turns a parsed statement
// and its Parameters into one request of GetItem, Query, Scan, PutItem,
// UpdateItem, DeleteItem or a ConditionCheck, written with generated
// placeholders and checked by the expression parsers; plan_partiql(),
// key_schema_for_plan() and partiql_select_row().
#include "services/dynamodb/partiql.h"

#include <boost/json.hpp>

#include <set>
#include <utility>
#include <variant>

#include "services/dynamodb/item.h"
#include "services/dynamodb/number.h"
#include "services/dynamodb/partiql_internal.h"

namespace nimbus::services::dynamodb {

namespace json = boost::json;
using partiql::Expr;
using partiql::Returning;
using Kind = partiql::Expr::Kind;
using namespace partiql::detail;

namespace {

// ---------------------------------------------------------------------------
// Messages.

constexpr std::string_view kIncompleteKey =
    "Where clause does not contain a mandatory equality on all key attributes";
constexpr std::string_view kParameterCount =
    "Number of parameters in request and statement don't match.";
constexpr std::string_view kNotOnIndex = "This operation is not supported on an index";
constexpr std::string_view kUnsupportedWhere =
    "WHERE clause must contain an expression that resolves to a boolean";
constexpr std::string_view kAndOrOperands = "The arguments to AND/OR must be Expressions";
constexpr std::string_view kNotOperand = "The argument to NOT must be a Type or Expression";
constexpr std::string_view kMissingNeedsIs = "MISSING must be compared using IS operator";
constexpr std::string_view kIsOperand =
    "The left hand side argument to IS must be a Variable Reference, Literal, or Path";
constexpr std::string_view kIsInUpdate = "IS operator is not supported in update expressions";
constexpr std::string_view kInOperands =
    "IN operator must have a left hand argument of type Variable Reference and right hand "
    "argument of type Seq with at least one member";
constexpr std::string_view kEmptyBag = "Empty bags are not supported";
constexpr std::string_view kBagTypes =
    "Unsupported data type in Bag. DynamoDB only supports either numbers or strings in bags";
constexpr std::string_view kReturningNotInTransaction =
    "RETURNING clause is not supported in ExecuteTransaction.";

aws::ApiError resource_not_found() {
  // The service answers a missing table with 400 (dynamodb_service.cc).
  return aws::ApiError::make(400, "ResourceNotFoundException", "Requested resource not found");
}

// ---------------------------------------------------------------------------
// Planner.

class Planner {
 public:
  Planner(std::string_view text, const KeySchemaLookup& lookup, PartiqlCaller caller,
          std::vector<json::value> parameters)
      : text_(text), lookup_(lookup), caller_(caller), parameters_(std::move(parameters)) {}

  Result<PartiqlPlan, aws::ApiError> plan(const partiql::Statement& st) {
    return std::visit(
        [&](const auto& body) -> Result<PartiqlPlan, aws::ApiError> { return plan_body(body); },
        st.body);
  }

 private:
  using Text = Result<std::string, aws::ApiError>;

  // ---- tables

  Result<KeySchemaForPlan, aws::ApiError> source_key(const partiql::Source& src,
                                                     std::string_view index_refusal) {
    if (!table_name_ok(src.table))
      return fail(validation(
          "Table name should be within the length [3, 255] and only contain 'a-z', 'A-Z', "
          "'0-9', '-', '_', '.'."));
    auto table = lookup_ ? lookup_(src.table, "") : std::nullopt;
    if (!table) return fail(resource_not_found());
    if (src.index.empty()) return std::move(*table);
    if (!index_refusal.empty()) return fail(validation(std::string(index_refusal)));
    auto index = lookup_(src.table, src.index);
    if (!index)
      return fail(validation("The table does not have the specified index: " + src.index));
    return std::move(*index);
  }

  // ---- values

  aws::ApiError unsupported_value(const Expr& e, const std::string& where) {
    std::string what = e.kind == Kind::kCall      ? e.name
                       : e.kind == Kind::kMissing ? "MISSING"
                       : e.kind == Kind::kPath    ? path_to_string(e.path)
                                                  : operator_name(e);
    return validation("Unsupported data type: " + what + " under key " + where + " " +
                      position(text_, e.span));
  }

  // A literal, parameter, list, map or set as an attribute value; `where`
  // names its place for messages as DynamoDB does ("root", "root.x",
  // "root[1]").
  Result<json::value, aws::ApiError> literal_value(const Expr& e, const std::string& where) {
    switch (e.kind) {
      case Kind::kLiteral: {
        const json::object& o = e.literal.get_object();
        if (!o.contains("N")) return e.literal;
        auto n = Number::parse(std::string_view(o.at("N").get_string()));
        if (!n) return fail(validation(n.error() + " under " + where));
        return json::value(json::object{{"N", n->to_string()}});
      }
      case Kind::kParameter:
        return parameters_.at(e.parameter);
      case Kind::kList: {
        json::array out;
        for (size_t i = 0; i < e.children.size(); ++i) {
          auto v = literal_value(*e.children[i], where + "[" + std::to_string(i) + "]");
          if (!v) return v;
          out.push_back(std::move(*v));
        }
        return json::value(json::object{{"L", std::move(out)}});
      }
      case Kind::kMap: {
        auto m = tuple(e, where);
        if (!m) return fail(m.take_error());
        return json::value(json::object{{"M", std::move(*m)}});
      }
      case Kind::kBag: {
        if (e.children.empty()) return fail(validation(std::string(kEmptyBag)));
        std::string_view set_type;
        json::array members;
        for (const auto& c : e.children) {
          if (c->kind != Kind::kLiteral) return fail(validation(std::string(kBagTypes)));
          const json::object& o = c->literal.get_object();
          std::string_view member = o.contains("S") ? "SS" : o.contains("N") ? "NS" : "";
          if (member.empty() || (!set_type.empty() && member != set_type))
            return fail(validation(std::string(kBagTypes)));
          set_type = member;
          auto v = literal_value(*c, where);
          if (!v) return v;
          members.push_back(v->get_object().begin()->value());
        }
        return json::value(json::object{{set_type, std::move(members)}});
      }
      default:
        return fail(unsupported_value(e, where));
    }
  }

  // {'k': v, ...} as an attribute map.
  Result<json::object, aws::ApiError> tuple(const Expr& e, const std::string& where) {
    json::object out;
    for (size_t i = 0; i + 1 < e.children.size(); i += 2) {
      const Expr& k = *e.children[i];
      if (k.kind != Kind::kLiteral || !k.literal.get_object().contains("S")) {
        std::string type = k.kind == Kind::kLiteral
                               ? std::string(k.literal.get_object().begin()->key())
                               : operator_name(k);
        return fail(validation("Tuple keys must be of type String. Actual type: " + type +
                               " under " + where));
      }
      std::string key(k.literal.get_object().at("S").get_string());
      if (out.contains(key))
        return fail(validation("Duplicate keys in tuple. Key: " + key + " under " + where));
      auto v = literal_value(*e.children[i + 1], where + "." + key);
      if (!v) return fail(v.take_error());
      out[key] = std::move(*v);
    }
    return out;
  }

  // A value as the service will hold it (numbers canonical, sets checked for
  // duplicates with DynamoDB's texts).
  Result<json::value, aws::ApiError> value(const Expr& e) {
    auto v = literal_value(e, "root");
    if (!v) return v;
    if (auto r = normalize_value(*v); !r) return fail(r.take_error());
    return v;
  }

  Result<json::value, aws::ApiError> key_value(const Expr& e, const KeyAttribute& key) {
    auto v = value(e);
    if (!v) return v;
    if (type_of(*v) != key_type_letter(key.type))
      return fail(validation(
          "Key attribute's data type should match its data type in table's schema: Key " +
          key.name));
    return v;
  }

  // ---- conditions

  aws::ApiError unrecognized_function(const Expr& e) {
    return validation("Unrecognized function: " + e.name + " " + position(text_, e.span));
  }
  static aws::ApiError operand_count(const Expr& e) {
    return validation(
        "Incorrect number of operands for operator or function; operator or function: " + e.name +
        ", number of operands: " + std::to_string(e.children.size()));
  }

  Text operand(const Expr& e, ExpressionWriter& w) {
    switch (e.kind) {
      case Kind::kPath:
        return w.path(e.path);
      case Kind::kLiteral:
      case Kind::kParameter:
      case Kind::kList:
      case Kind::kMap:
      case Kind::kBag: {
        auto v = value(e);
        if (!v) return fail(v.take_error());
        return w.value(std::move(*v));
      }
      case Kind::kMissing:
        return fail(validation(std::string(kMissingNeedsIs)));
      case Kind::kCall: {
        if (e.name == "size") {
          if (e.children.size() != 1) return fail(operand_count(e));
          auto arg = operand(*e.children[0], w);
          if (!arg) return arg;
          return "size(" + *arg + ")";
        }
        if (condition_function(e.name)) return function_condition(e, w);
        return fail(unrecognized_function(e));
      }
      default:
        return fail(validation("Unsupported operator in Condition Expression. Operator: " +
                               operator_name(e)));
    }
  }

  Text function_condition(const Expr& e, ExpressionWriter& w) {
    if (!condition_function(e.name) && e.name != "size") return fail(unrecognized_function(e));
    if (e.children.size() != function_arity(e.name)) return fail(operand_count(e));
    std::vector<std::string> args;
    for (const auto& c : e.children) {
      auto a = operand(*c, w);
      if (!a) return a;
      args.push_back(std::move(*a));
    }
    return e.name + "(" + join(args, ", ") + ")";
  }

  Text is_condition(const Expr& e, ExpressionWriter& w) {
    const Expr& subject = *e.children[0];
    if (subject.kind != Kind::kPath) return fail(validation(std::string(kIsOperand)));
    std::string path = w.path(subject.path);
    if (e.name == "MISSING")
      return std::string(e.negated ? "attribute_exists(" : "attribute_not_exists(") + path + ")";
    std::string_view letter = e.name == "NULL"                          ? "NULL"
                              : e.name == "BOOLEAN" || e.name == "BOOL" ? "BOOL"
                              : e.name == "STRING"                      ? "S"
                              : e.name == "NUMERIC"                     ? "N"
                              : e.name == "BLOB"                        ? "B"
                              : e.name == "STRUCT" || e.name == "TUPLE" ? "M"
                              : e.name == "LIST"                        ? "L"
                                                                        : "";
    if (letter.empty())
      return fail(validation("Unsupported data type for IS operator: " + e.name +
                             ". Supported data types are [MISSING, NULL, BOOLEAN, BLOB, STRING, "
                             "NUMERIC, STRUCT, TUPLE, LIST]"));
    std::string test = "attribute_type(" + path + ", " + w.value(json::object{{"S", letter}}) + ")";
    return e.negated ? "(NOT " + test + ")" : test;
  }

  // `e` where a condition must be: an unknown function is named first, as
  // DynamoDB does, then `message` for anything that is no condition.
  std::optional<aws::ApiError> not_a_condition(const Expr& e, std::string_view message) {
    if (e.kind == Kind::kCall && !condition_function(e.name) && e.name != "size")
      return unrecognized_function(e);
    if (!is_boolean(e)) return validation(std::string(message));
    return std::nullopt;
  }

  // A boolean node as ConditionExpression / FilterExpression text.
  Text condition(const Expr& e, ExpressionWriter& w) {
    switch (e.kind) {
      case Kind::kAnd:
      case Kind::kOr: {
        std::vector<std::string> parts;
        for (const auto& c : e.children) {
          if (auto refused = not_a_condition(*c, kAndOrOperands)) return fail(std::move(*refused));
          auto t = condition(*c, w);
          if (!t) return t;
          parts.push_back(std::move(*t));
        }
        return "(" + join(parts, e.kind == Kind::kAnd ? " AND " : " OR ") + ")";
      }
      case Kind::kNot: {
        if (auto refused = not_a_condition(*e.children[0], kNotOperand))
          return fail(std::move(*refused));
        auto t = condition(*e.children[0], w);
        if (!t) return t;
        return "(NOT " + *t + ")";
      }
      case Kind::kCompare: {
        if (e.op == "like")
          return fail(validation("Unsupported operator in Condition Expression. Operator: LIKE"));
        auto l = operand(*e.children[0], w);
        if (!l) return l;
        auto r = operand(*e.children[1], w);
        if (!r) return r;
        return "(" + *l + " " + e.op + " " + *r + ")";
      }
      case Kind::kBetween: {
        std::vector<std::string> ops;
        for (const auto& c : e.children) {
          auto t = operand(*c, w);
          if (!t) return t;
          ops.push_back(std::move(*t));
        }
        std::string t = "(" + ops[0] + " BETWEEN " + ops[1] + " AND " + ops[2] + ")";
        return e.negated ? "(NOT " + t + ")" : t;
      }
      case Kind::kIn: {
        const Expr& subject = *e.children[0];
        const Expr& list = *e.children[1];
        if (subject.kind != Kind::kPath || (list.kind != Kind::kList && list.kind != Kind::kBag) ||
            list.children.empty())
          return fail(validation(std::string(kInOperands)));
        auto s = operand(subject, w);
        if (!s) return s;
        std::vector<std::string> items;
        for (const auto& c : list.children) {
          auto t = operand(*c, w);
          if (!t) return t;
          items.push_back(std::move(*t));
        }
        std::string t = "(" + *s + " IN (" + join(items, ", ") + "))";
        return e.negated ? "(NOT " + t + ")" : t;
      }
      case Kind::kIs:
        return is_condition(e, w);
      case Kind::kCall:
        return function_condition(e, w);
      default:
        return fail(validation(std::string(kUnsupportedWhere)));
    }
  }

  // Conditions ANDed; `non_condition` is the refusal of a part that is no
  // condition (the whole WHERE's, or an AND operand's).
  Text conditions(const std::vector<const Expr*>& parts, ExpressionWriter& w,
                  std::string_view non_condition = kAndOrOperands) {
    std::vector<std::string> out;
    for (const Expr* c : parts) {
      if (auto refused = not_a_condition(*c, non_condition)) return fail(std::move(*refused));
      auto t = condition(*c, w);
      if (!t) return t;
      out.push_back(std::move(*t));
    }
    return join(out, " AND ");
  }

  // ---- updates

  Text update_operand(const Expr& e, ExpressionWriter& w) {
    switch (e.kind) {
      case Kind::kPath:
        return w.path(e.path);
      case Kind::kLiteral:
      case Kind::kParameter:
      case Kind::kList:
      case Kind::kMap:
      case Kind::kBag: {
        auto v = value(e);
        if (!v) return fail(v.take_error());
        return w.value(std::move(*v));
      }
      case Kind::kArithmetic: {
        if (e.op != "+" && e.op != "-") break;
        auto l = update_operand(*e.children[0], w);
        if (!l) return l;
        auto r = update_operand(*e.children[1], w);
        if (!r) return r;
        return *l + " " + e.op + " " + *r;
      }
      case Kind::kCall: {
        if (e.name != "list_append") return fail(unrecognized_function(e));
        if (e.children.size() != 2) return fail(operand_count(e));
        auto a = update_operand(*e.children[0], w);
        if (!a) return a;
        auto b = update_operand(*e.children[1], w);
        if (!b) return b;
        return "list_append(" + *a + ", " + *b + ")";
      }
      case Kind::kIs:
        return fail(validation(std::string(kIsInUpdate)));
      default:
        break;
    }
    return fail(
        validation("Unsupported operator in Update Expression. Operator: " + operator_name(e)));
  }

  struct UpdateClauses {
    std::vector<std::string> set, remove, add, del;
    std::string text() const {
      std::string out;
      auto section = [&](std::string_view keyword, const std::vector<std::string>& parts) {
        if (parts.empty()) return;
        if (!out.empty()) out += ' ';
        out += std::string(keyword) + " " + join(parts, ", ");
      };
      section("SET", set);
      section("REMOVE", remove);
      section("ADD", add);
      section("DELETE", del);
      return out;
    }
  };

  // set_add(path, <<..>>) / set_delete(path, <<..>>) assigned to that path:
  // UpdateExpression's ADD / DELETE of set members.
  Result<std::string, aws::ApiError> set_member_action(const Expr& target, const Expr& call,
                                                       ExpressionWriter& w) {
    std::string fn = upper(call.name);
    if (call.children.size() != 2)
      return fail(
          validation(fn + " must have exactly two arguments " + position(text_, call.span)));
    const Expr& first = *call.children[0];
    if (first.kind != Kind::kPath || first.path != target.path)
      return fail(validation("The first argument to " + fn + " must equal the assignment value " +
                             position(text_, call.span)));
    const Expr& members = *call.children[1];
    std::string wrong_type = "The second argument to " + fn + " must be a value with type SET " +
                             position(text_, first.span);
    if (members.kind != Kind::kBag && members.kind != Kind::kParameter)
      return fail(validation(wrong_type));
    auto v = value(members);
    if (!v) return fail(v.take_error());
    std::string_view t = type_of(*v);
    if (t != "SS" && t != "NS" && t != "BS") return fail(validation(wrong_type));
    return w.path(target.path) + " " + w.value(std::move(*v));
  }

  // ---- keys

  struct ItemKey {
    json::object key;
    std::vector<const Expr*> rest;  // the other conditions
  };

  // The full primary key from equalities of a write's WHERE.
  Result<ItemKey, aws::ApiError> item_key(const Expr* where, const KeySchemaForPlan& k) {
    if (!where) return fail(validation(std::string(kIncompleteKey)));
    std::vector<const Expr*> parts;
    conjuncts(*where, parts);
    ItemKey out;
    const Expr* hash_value = nullptr;
    const Expr* range_value = nullptr;
    int hash_terms = 0, range_terms = 0;
    for (const Expr* c : parts) {
      if (const Expr* v = equality_value(*c, k.hash.name)) {
        if (hash_terms++ == 0) hash_value = v;
      } else if (k.range && (v = equality_value(*c, k.range->name))) {
        if (range_terms++ == 0) range_value = v;
      } else {
        out.rest.push_back(c);
      }
    }
    if (!hash_value || (k.range && !range_value))
      return fail(validation(std::string(kIncompleteKey)));
    auto multiple = [](const std::string& name) {
      return validation("Multiple conditions on same key " + name +
                        ". Only single item Update/Insert/Delete are supported");
    };
    if (hash_terms > 1) return fail(multiple(k.hash.name));
    if (range_terms > 1) return fail(multiple(k.range->name));
    auto h = key_value(*hash_value, k.hash);
    if (!h) return fail(h.take_error());
    out.key[k.hash.name] = std::move(*h);
    if (k.range) {
      auto r = key_value(*range_value, *k.range);
      if (!r) return fail(r.take_error());
      out.key[k.range->name] = std::move(*r);
    }
    return out;
  }

  // A sort key condition KeyConditionExpression can hold.
  struct RangeTerm {
    std::string op;  // = < <= > >= between begins_with
    const Expr* first = nullptr;
    const Expr* second = nullptr;  // BETWEEN's upper bound
  };

  static std::optional<RangeTerm> range_term(const Expr& c, std::string_view name) {
    if (c.kind == Kind::kCompare && c.op != "<>" && c.op != "like") {
      const Expr& l = *c.children[0];
      const Expr& r = *c.children[1];
      if (names_attribute(l, name) && is_value_node(r)) return RangeTerm{c.op, &r};
      if (names_attribute(r, name) && is_value_node(l)) {
        // v < sk is sk > v.
        std::string flipped = c.op == "<"    ? ">"
                              : c.op == "<=" ? ">="
                              : c.op == ">"  ? "<"
                              : c.op == ">=" ? "<="
                                             : c.op;
        return RangeTerm{flipped, &l};
      }
    }
    if (c.kind == Kind::kBetween && !c.negated && names_attribute(*c.children[0], name) &&
        is_value_node(*c.children[1]) && is_value_node(*c.children[2]))
      return RangeTerm{"between", c.children[1].get(), c.children[2].get()};
    if (c.kind == Kind::kCall && c.name == "begins_with" && c.children.size() == 2 &&
        names_attribute(*c.children[0], name) && is_value_node(*c.children[1]))
      return RangeTerm{"begins_with", c.children[1].get()};
    return std::nullopt;
  }

  // ---- statements

  Result<PartiqlPlan, aws::ApiError> plan_body(const partiql::Select& s) {
    auto schema = source_key(s.from, "");
    if (!schema) return fail(schema.take_error());
    const KeySchemaForPlan& key = *schema;
    const bool on_index = !s.from.index.empty();
    if (on_index && caller_ == PartiqlCaller::kExecuteTransaction)
      return fail(validation("Reads on indices are not supported within transactions."));

    PartiqlPlan plan;
    plan.is_read = true;
    plan.table = s.from.table;
    ExpressionWriter w;

    // Columns; the read projects the top-level attributes they start with.
    std::set<std::string> column_names;
    std::vector<std::string> projected;
    std::set<std::string> projected_seen;
    for (const auto& c : s.columns) {
      if (c->kind != Kind::kPath)
        return fail(validation("Unexpected path component " + position(text_, c->span)));
      std::string name = column_name(c->path);
      if (!column_names.insert(name).second)
        return fail(validation("Duplicate identifiers in select clause: " + name));
      plan.columns.push_back(PartiqlColumn{name, c->path});
      const std::string& top = std::get<std::string>(c->path[0]);
      if (projected_seen.insert(top).second) projected.push_back(top);
    }

    // Which conditions pin the key.
    std::vector<const Expr*> parts;
    if (s.where) conjuncts(*s.where, parts);
    std::vector<const Expr*> hash_terms;
    std::vector<std::pair<const Expr*, RangeTerm>> range_terms;
    std::vector<const Expr*> others;
    bool others_read_key = false;
    for (const Expr* c : parts) {
      if (equality_value(*c, key.hash.name)) {
        hash_terms.push_back(c);
        continue;
      }
      if (key.range)
        if (auto r = range_term(*c, key.range->name)) {
          range_terms.emplace_back(c, std::move(*r));
          continue;
        }
      others.push_back(c);
      if (references(*c, key.hash.name) || (key.range && references(*c, key.range->name)))
        others_read_key = true;
    }
    const bool full_key = !on_index && hash_terms.size() == 1 && others.empty() &&
                          (key.range ? range_terms.size() == 1 && range_terms[0].second.op == "="
                                     : range_terms.empty());
    if (caller_ == PartiqlCaller::kExecuteTransaction && !full_key)
      return fail(validation(
          "Select statements within ExecuteTransaction must specify the primary key in the where "
          "clause."));
    if (caller_ == PartiqlCaller::kBatchExecuteStatement && !full_key)
      return fail(validation(
          "Select statements within BatchExecuteStatement must specify the primary key in the "
          "where clause."));
    const bool query = hash_terms.size() == 1 && range_terms.size() <= 1 && !others_read_key;

    // ORDER BY: the key of what is read, and only where one partition is.
    bool descending = false;
    for (const auto& item : s.order_by) {
      const Expr& k = *item.key;
      if (k.kind != Kind::kPath || k.path.size() != 1) {
        std::string type = k.kind == Kind::kPath      ? "Path"
                           : k.kind == Kind::kLiteral ? "Lit"
                           : k.kind == Kind::kCall    ? "Call"
                                                      : "NAry";
        return fail(
            validation("Argument to ORDER BY must be of type VariableReference. Type: " + type));
      }
      const std::string& name = std::get<std::string>(k.path[0]);
      if (name != key.hash.name && !(key.range && name == key.range->name))
        return fail(validation("Variable reference " + name +
                               " in ORDER BY clause must be part of the primary key"));
      if (key.range && name == key.range->name) descending = item.descending;
    }
    if (!s.order_by.empty()) {
      if (!s.where)
        return fail(
            validation("Must have WHERE clause in the statement when using ORDER BY clause."));
      if (hash_terms.empty())
        return fail(validation(
            "Must have at least one non-optional hash key condition in WHERE clause when using "
            "ORDER BY clause."));
      if (!query && descending)
        return fail(validation(
            "Nimbus does not support ORDER BY ... DESC with these sort key conditions yet "
            "(docs/COMPATIBILITY.md)"));
    }

    json::object& req = plan.request;
    req["TableName"] = s.from.table;
    if (on_index) req["IndexName"] = s.from.index;
    if (full_key && (s.order_by.empty() || caller_ != PartiqlCaller::kExecuteStatement)) {
      plan.operation = "GetItem";
      auto h = key_value(*equality_value(*hash_terms[0], key.hash.name), key.hash);
      if (!h) return fail(h.take_error());
      json::object item_key{{key.hash.name, std::move(*h)}};
      if (key.range) {
        auto r = key_value(*range_terms[0].second.first, *key.range);
        if (!r) return fail(r.take_error());
        item_key[key.range->name] = std::move(*r);
      }
      req["Key"] = std::move(item_key);
    } else if (query) {
      plan.operation = "Query";
      auto h = key_value(*equality_value(*hash_terms[0], key.hash.name), key.hash);
      if (!h) return fail(h.take_error());
      std::string key_condition = w.name(key.hash.name) + " = " + w.value(std::move(*h));
      if (!range_terms.empty()) {
        const RangeTerm& r = range_terms[0].second;
        auto first = key_value(*r.first, *key.range);
        if (!first) return fail(first.take_error());
        std::string sk = w.name(key.range->name);
        std::string bound = w.value(std::move(*first));
        key_condition += " AND ";
        if (r.op == "between") {
          auto second = key_value(*r.second, *key.range);
          if (!second) return fail(second.take_error());
          key_condition += sk + " BETWEEN " + bound + " AND " + w.value(std::move(*second));
        } else if (r.op == "begins_with") {
          key_condition += "begins_with(" + sk + ", " + bound + ")";
        } else {
          key_condition += sk + " " + r.op + " " + bound;
        }
      }
      req["KeyConditionExpression"] = key_condition;
      if (!others.empty()) {
        auto filter = conditions(others, w);
        if (!filter) return fail(filter.take_error());
        req["FilterExpression"] = *filter;
      }
      if (descending) req["ScanIndexForward"] = false;
    } else {
      plan.operation = "Scan";
      if (s.where) {
        auto filter = conditions({s.where.get()}, w, kUnsupportedWhere);
        if (!filter) return fail(filter.take_error());
        req["FilterExpression"] = *filter;
      }
    }
    if (!projected.empty()) {
      std::vector<std::string> refs;
      for (const auto& name : projected) refs.push_back(w.name(name));
      req["ProjectionExpression"] = join(refs, ", ");
    }
    w.store(req);
    if (auto r = check_expressions(req, key); !r) return fail(r.take_error());
    return plan;
  }

  Result<PartiqlPlan, aws::ApiError> plan_body(const partiql::Insert& s) {
    auto schema = source_key(s.into, kNotOnIndex);
    if (!schema) return fail(schema.take_error());
    const KeySchemaForPlan& key = *schema;
    json::object item;
    // Each attribute's value is a "root" of its own in DynamoDB's messages.
    for (size_t i = 0; i + 1 < s.item->children.size(); i += 2) {
      const Expr& k = *s.item->children[i];
      if (k.kind != Kind::kLiteral || !k.literal.get_object().contains("S")) {
        std::string type = k.kind == Kind::kLiteral
                               ? std::string(k.literal.get_object().begin()->key())
                               : operator_name(k);
        return fail(
            validation("Tuple keys must be of type String. Actual type: " + type + " under root"));
      }
      std::string name(k.literal.get_object().at("S").get_string());
      if (item.contains(name))
        return fail(validation("Duplicate keys in tuple. Key: " + name + " under root"));
      auto v = value(*s.item->children[i + 1]);
      if (!v) return fail(v.take_error());
      item[name] = std::move(*v);
    }
    for (const KeyAttribute* k : {&key.hash, key.range ? &*key.range : nullptr}) {
      if (!k) continue;
      const json::value* v = item.if_contains(k->name);
      if (!v)
        return fail(validation("Key attribute should be present in the item: Key " + k->name));
      if (type_of(*v) != key_type_letter(k->type))
        return fail(validation(
            "Key attribute's data type should match its data type in table's schema: Key " +
            k->name));
    }
    PartiqlPlan plan;
    plan.operation = "PutItem";
    plan.table = s.into.table;
    ExpressionWriter w;
    json::object& req = plan.request;
    req["TableName"] = s.into.table;
    req["Item"] = std::move(item);
    // INSERT never replaces: the put holds only while no item has the key.
    req["ConditionExpression"] = "attribute_not_exists(" + w.name(key.hash.name) + ")";
    w.store(req);
    plan.condition_failed_error =
        aws::ApiError::make(400, "DuplicateItemException", "Duplicate primary key exists in table");
    if (auto r = check_expressions(req, key); !r) return fail(r.take_error());
    return plan;
  }

  Result<PartiqlPlan, aws::ApiError> plan_body(const partiql::Update& s) {
    auto schema = source_key(s.table, kNotOnIndex);
    if (!schema) return fail(schema.take_error());
    const KeySchemaForPlan& key = *schema;
    if (caller_ == PartiqlCaller::kExecuteTransaction && s.returning != Returning::kNone)
      return fail(validation(std::string(kReturningNotInTransaction)));
    auto item = item_key(s.where.get(), key);
    if (!item) return fail(item.take_error());

    PartiqlPlan plan;
    plan.operation = "UpdateItem";
    plan.table = s.table.table;
    ExpressionWriter w;
    UpdateClauses clauses;
    for (const auto& a : s.actions) {
      if (a.kind == partiql::UpdateAction::Kind::kRemove) {
        clauses.remove.push_back(w.path(a.target->path));
        continue;
      }
      const Expr& v = *a.value;
      if (v.kind == Kind::kCall && (v.name == "set_add" || v.name == "set_delete")) {
        auto action = set_member_action(*a.target, v, w);
        if (!action) return fail(action.take_error());
        (v.name == "set_add" ? clauses.add : clauses.del).push_back(std::move(*action));
        continue;
      }
      std::string target = w.path(a.target->path);
      auto rhs = update_operand(v, w);
      if (!rhs) return fail(rhs.take_error());
      clauses.set.push_back(target + " = " + *rhs);
    }
    // UPDATE never creates: the item must exist, and the WHERE hold on it.
    std::string condition = "attribute_exists(" + w.name(key.hash.name) + ")";
    if (!item->rest.empty()) {
      auto rest = conditions(item->rest, w);
      if (!rest) return fail(rest.take_error());
      condition += " AND " + *rest;
    }
    json::object& req = plan.request;
    req["TableName"] = s.table.table;
    req["Key"] = std::move(item->key);
    req["UpdateExpression"] = clauses.text();
    req["ConditionExpression"] = std::move(condition);
    w.store(req);
    switch (s.returning) {
      case Returning::kAllOld:
        req["ReturnValues"] = "ALL_OLD";
        break;
      case Returning::kModifiedOld:
        req["ReturnValues"] = "UPDATED_OLD";
        break;
      case Returning::kAllNew:
        req["ReturnValues"] = "ALL_NEW";
        break;
      case Returning::kModifiedNew:
        req["ReturnValues"] = "UPDATED_NEW";
        break;
      case Returning::kNone:
        break;
    }
    plan.returns_item = s.returning != Returning::kNone;
    if (auto r = check_expressions(req, key); !r) return fail(r.take_error());
    return plan;
  }

  Result<PartiqlPlan, aws::ApiError> plan_body(const partiql::Delete& s) {
    auto schema = source_key(s.from, kNotOnIndex);
    if (!schema) return fail(schema.take_error());
    const KeySchemaForPlan& key = *schema;
    if (caller_ == PartiqlCaller::kExecuteTransaction && s.returning != Returning::kNone)
      return fail(validation(std::string(kReturningNotInTransaction)));
    auto item = item_key(s.where.get(), key);
    if (!item) return fail(item.take_error());

    PartiqlPlan plan;
    plan.operation = "DeleteItem";
    plan.table = s.from.table;
    ExpressionWriter w;
    json::object& req = plan.request;
    req["TableName"] = s.from.table;
    req["Key"] = std::move(item->key);
    // DynamoDB deletes a missing item as a no-op success; the rest of the
    // WHERE must hold only on an item that exists.
    if (!item->rest.empty()) {
      auto rest = conditions(item->rest, w);
      if (!rest) return fail(rest.take_error());
      req["ConditionExpression"] =
          "attribute_not_exists(" + w.name(key.hash.name) + ") OR " + parenthesized(*rest);
    }
    w.store(req);
    if (s.returning == Returning::kAllOld) {
      req["ReturnValues"] = "ALL_OLD";
      plan.returns_item = true;
    }
    if (auto r = check_expressions(req, key); !r) return fail(r.take_error());
    return plan;
  }

  Result<PartiqlPlan, aws::ApiError> plan_body(const partiql::Exists& s) {
    if (caller_ != PartiqlCaller::kExecuteTransaction)
      return fail(validation("EXISTS can only be used in ExecuteTransaction write requests."));
    auto schema =
        source_key(s.select.from, "Operations on indices are not supported in transactions");
    if (!schema) return fail(schema.take_error());
    const KeySchemaForPlan& key = *schema;
    constexpr std::string_view kSingleItem =
        "EXISTS() must contain a single item read with additional condition";
    auto item = item_key(s.select.where.get(), key);
    if (!item) {
      aws::ApiError e = item.take_error();
      if (e.message.starts_with("Key attribute's data type")) return fail(std::move(e));
      return fail(validation(std::string(kSingleItem)));
    }
    if (item->rest.empty()) return fail(validation(std::string(kSingleItem)));

    PartiqlPlan plan;
    plan.operation = "ConditionCheck";
    plan.table = s.select.from.table;
    ExpressionWriter w;
    std::string condition = "attribute_exists(" + w.name(key.hash.name) + ")";
    auto rest = conditions(item->rest, w);
    if (!rest) return fail(rest.take_error());
    condition += " AND " + *rest;
    json::object& req = plan.request;
    req["TableName"] = s.select.from.table;
    req["Key"] = std::move(item->key);
    req["ConditionExpression"] = std::move(condition);
    w.store(req);
    if (auto r = check_expressions(req, key); !r) return fail(r.take_error());
    return plan;
  }

  std::string_view text_;
  const KeySchemaLookup& lookup_;
  PartiqlCaller caller_;
  std::vector<json::value> parameters_;
};

std::string length_error(std::string_view statement, std::string_view constraint) {
  return "1 validation error detected: Value '" + std::string(statement) +
         "' at 'statement' failed to satisfy constraint: Member must have length " +
         std::string(constraint);
}

}  // namespace

std::optional<KeySchemaForPlan> key_schema_for_plan(const TableSchema& table,
                                                    std::string_view index) {
  if (index.empty()) return KeySchemaForPlan{table.hash, table.range};
  for (const SecondaryIndex& i : table.indexes)
    if (i.name == index) return KeySchemaForPlan{i.hash, i.range};
  return std::nullopt;
}

Result<PartiqlPlan, aws::ApiError> plan_partiql(std::string_view statement,
                                                const json::array* parameters,
                                                const KeySchemaLookup& lookup,
                                                PartiqlCaller caller) {
  if (!valid_utf8(statement)) return fail(not_well_formed(""));
  size_t chars = utf8_length(statement);
  if (chars == 0) return fail(validation(length_error(statement, "greater than or equal to 1")));
  if (chars > kMaxPartiqlStatementChars)
    return fail(validation(length_error(statement, "less than or equal to 8192")));
  auto parsed = parse_partiql(statement);
  if (!parsed) return fail(parsed.take_error());
  size_t given = parameters ? parameters->size() : 0;
  if (given != parsed->parameter_count) return fail(validation(std::string(kParameterCount)));
  std::vector<json::value> bound;
  if (parameters)
    for (const json::value& p : *parameters) {
      json::value v = p;
      if (auto r = normalize_value(v); !r) return fail(r.take_error());
      bound.push_back(std::move(v));
    }
  Planner planner(statement, lookup, caller, std::move(bound));
  return planner.plan(*parsed);
}

json::object partiql_select_row(const PartiqlPlan& plan, const json::object& item) {
  if (plan.columns.empty()) return item;
  json::object row;
  for (const PartiqlColumn& c : plan.columns)
    if (const json::value* v = find_path(item, c.path)) row[c.name] = *v;
  return row;
}

}  // namespace nimbus::services::dynamodb
