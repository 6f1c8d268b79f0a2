// DynamoDB's expression language, semantic checks: what DynamoDB refuses in
// a parsed expression, in the order it reports it (function names and their
// use, reserved words, path depth, undefined names and values, operand counts
// and types, overlapping paths); the checks of a whole condition, and the
// rules of a KeyConditionExpression (parse_key_condition).
#include "services/dynamodb/expression.h"

#include <algorithm>
#include <array>
#include <functional>

#include "services/dynamodb/expression_internal.h"
#include "services/dynamodb/item.h"

namespace nimbus::services::dynamodb {

namespace json = boost::json;
using namespace detail;

// ---------------------------------------------------------------------------
// Semantic checks, run after a successful parse. Each returns the first
// problem of its kind in source order; the callers run them in DynamoDB's
// order of precedence.

namespace {

std::string_view cmp_text(Cmp c) {
  switch (c) {
    case Cmp::kEq:
      return "=";
    case Cmp::kNe:
      return "<>";
    case Cmp::kLt:
      return "<";
    case Cmp::kLe:
      return "<=";
    case Cmp::kGt:
      return ">";
    case Cmp::kGe:
      return ">=";
  }
  return "=";
}

// "{N:5}": how DynamoDB prints a scalar bound in its BETWEEN messages.
std::string attribute_value_text(const json::value& v) {
  std::string out = "AttributeValue: {";
  out += type_of(v);
  out += ':';
  if (auto s = payload_string(v)) out += *s;
  out += '}';
  return out;
}

bool is_condition_function(std::string_view f) {
  return f == "attribute_exists" || f == "attribute_not_exists" || f == "attribute_type" ||
         f == "begins_with" || f == "contains" || f == "size";
}
bool is_update_function(std::string_view f) {
  return f == "if_not_exists" || f == "list_append";
}

size_t function_arity(std::string_view f) {
  if (f == "attribute_exists" || f == "attribute_not_exists" || f == "size") return 1;
  return 2;
}

}  // namespace

namespace detail {

Check check_function_name(const Operand& o, bool in_update) {
  if (o.kind != Operand::Kind::kFunction) return std::nullopt;
  if (in_update) {
    if (is_update_function(o.function)) return std::nullopt;
    if (is_condition_function(o.function))
      return "The function is not allowed in an update expression; function: " + o.function;
  } else {
    if (is_condition_function(o.function)) return std::nullopt;
    if (is_update_function(o.function))
      return "The function is not allowed in a condition expression; function: " + o.function;
  }
  return "Invalid function name; function: " + o.function;
}

Check check_reserved(const ParsedPath& p) {
  for (const PathStep& s : p.steps)
    if (!s.is_ref && !s.is_index && is_reserved(s.text))
      return "Attribute name is a reserved keyword; reserved keyword: " + s.text;
  return std::nullopt;
}

Check check_nesting(const ParsedPath& p) {
  if (p.steps.size() > kMaxPathNesting)
    return "The document path has too many nesting levels; nesting levels: " +
           std::to_string(p.steps.size());
  return std::nullopt;
}

Check resolve_path(ParsedPath& p, ExpressionContext& ctx) {
  p.resolved.clear();
  for (const PathStep& s : p.steps) {
    if (s.is_index) {
      p.resolved.emplace_back(s.index);
    } else if (s.is_ref) {
      const json::string* n = ctx.name(s.text);
      if (!n)
        return "An expression attribute name used in the document path is not defined; "
               "attribute name: " +
               s.text;
      p.resolved.emplace_back(std::string(*n));
    } else {
      p.resolved.emplace_back(s.text);
    }
  }
  return std::nullopt;
}

Check resolve_value(Operand& o, ExpressionContext& ctx) {
  const json::value* v = ctx.value(o.ref);
  if (!v)
    return "An expression attribute value used in expression is not defined; attribute value: " +
           o.ref;
  o.value = *v;
  return std::nullopt;
}

std::string incorrect_operand_type(std::string_view fn, std::string_view type) {
  return "Incorrect operand type for operator or function; operator or function: " +
         std::string(fn) + ", operand type: " + std::string(type);
}

bool orderable(std::string_view t) {
  return t == "S" || t == "N" || t == "B";
}

}  // namespace detail

namespace {

// The type an operand is known to have before any item is read: a constant's
// type, or N for size(); empty for paths.
std::string_view static_type(const Operand& o) {
  if (o.kind == Operand::Kind::kValue) return type_of(o.value);
  if (o.kind == Operand::Kind::kFunction && o.function == "size") return "N";
  return {};
}

bool same_path(const Operand& a, const Operand& b) {
  return a.kind == Operand::Kind::kPath && b.kind == Operand::Kind::kPath &&
         a.path.resolved == b.path.resolved;
}

std::string distinct_error(std::string_view op, const Operand& first) {
  return "The first operand must be distinct from the remaining operands for this operator or "
         "function; operator: " +
         std::string(op) + ", first operand: " + path_to_string(first.path.resolved);
}

// Condition functions: arity, distinct operands, types of constants.
Check check_condition_function_arity(const Operand& f) {
  if (f.kind != Operand::Kind::kFunction) return std::nullopt;
  if (f.args.size() != function_arity(f.function))
    return "Incorrect number of operands for operator or function; operator or function: " +
           f.function + ", number of operands: " + std::to_string(f.args.size());
  return std::nullopt;
}

Check check_condition_function_types(const Operand& f) {
  if (f.kind != Operand::Kind::kFunction) return std::nullopt;
  const std::string& name = f.function;
  if (name == "attribute_exists" || name == "attribute_not_exists") {
    if (f.args[0].kind != Operand::Kind::kPath)
      return "Operator or function requires a document path; operator or function: " + name;
  } else if (name == "attribute_type") {
    const Operand& t = f.args[1];
    std::string_view type = static_type(t);
    // A path's type is unknown until evaluation; DynamoDB names every type
    // it knows of (including internal ones) in that case.
    if (t.kind == Operand::Kind::kPath)
      type =
          "{S,SS,N,NS,B,BS,BOOL,NULL,L,M,HD,DOUBLE,FLOAT,HDS,FS,DOUBLESET,DICT,DECIMAL,INT,"
          "DECIMALSET,INTSET}";
    if (type != "S") return incorrect_operand_type(name, type);
    std::string_view want = payload_string(t.value).value_or("");
    static constexpr std::array<std::string_view, 10> kTypes = {"S",  "SS",   "N",    "NS", "B",
                                                                "BS", "BOOL", "NULL", "L",  "M"};
    if (std::find(kTypes.begin(), kTypes.end(), want) == kTypes.end())
      return "Invalid attribute type name found; type: " + std::string(want) +
             ", valid types: {S,SS,N,NS,B,BS,BOOL,NULL,L,M}";
  } else if (name == "begins_with") {
    for (const Operand& a : f.args) {
      std::string_view t = static_type(a);
      if (!t.empty() && t != "S" && t != "B") return incorrect_operand_type(name, t);
    }
  } else if (name == "size") {
    std::string_view t = static_type(f.args[0]);
    if (t == "N" || t == "BOOL" || t == "NULL") return incorrect_operand_type(name, t);
  }
  return std::nullopt;
}

bool is_ordering(Cmp c) {
  return c != Cmp::kEq && c != Cmp::kNe;
}

// Problems found in the condition tree itself, in DynamoDB's order: redundant
// parentheses, function names, functions used in the wrong place, reserved
// words, path depth, undefined names and values, operand counts, identical
// operands, operand types.
Check validate_condition(Condition& root, ExpressionContext& ctx, bool redundant) {
  if (redundant) return "The expression has redundant parentheses;";

  auto names = [](Operand& o, const Operand*) { return check_function_name(o, false); };
  if (Check c = walk_condition(root, names)) return c;

  // Only size() yields a value usable as an operand; every other function is
  // a condition of its own, and size() is not one.
  std::function<Check(Condition&)> misuse = [&](Condition& c) -> Check {
    if (c.kind == Condition::Kind::kFunction) {
      const Operand& f = c.operands[0];
      if (f.function == "size")
        return "The function is not allowed to be used this way in an expression; function: size";
    } else {
      for (const Operand& o : c.operands)
        if (o.kind == Operand::Kind::kFunction && o.function != "size")
          return "The function is not allowed to be used this way in an expression; function: " +
                 o.function;
    }
    auto args = [](Operand& o, const Operand* parent) -> Check {
      if (parent && o.kind == Operand::Kind::kFunction && o.function != "size")
        return "The function is not allowed to be used this way in an expression; function: " +
               o.function;
      return std::nullopt;
    };
    for (Operand& o : c.operands)
      if (Check r = walk_operand(o, nullptr, args)) return r;
    for (Condition& child : c.children)
      if (Check r = misuse(child)) return r;
    return std::nullopt;
  };
  if (Check c = misuse(root)) return c;

  if (Check c = walk_paths(root, [](ParsedPath& p) { return check_reserved(p); })) return c;
  if (Check c = walk_paths(root, [](ParsedPath& p) { return check_nesting(p); })) return c;

  auto resolve = [&](Operand& o, const Operand*) -> Check {
    if (o.kind == Operand::Kind::kPath) return resolve_path(o.path, ctx);
    if (o.kind == Operand::Kind::kValue) return resolve_value(o, ctx);
    return std::nullopt;
  };
  if (Check c = walk_condition(root, resolve)) return c;

  auto arity = [](Operand& o, const Operand*) { return check_condition_function_arity(o); };
  if (Check c = walk_condition(root, arity)) return c;

  std::function<Check(Condition&)> distinct = [&](Condition& c) -> Check {
    if (c.kind == Condition::Kind::kCompare && same_path(c.operands[0], c.operands[1]))
      return distinct_error(cmp_text(c.cmp), c.operands[0]);
    auto fn = [](Operand& o, const Operand*) -> Check {
      if (o.kind == Operand::Kind::kFunction && o.args.size() == 2 &&
          same_path(o.args[0], o.args[1]))
        return distinct_error(o.function, o.args[0]);
      return std::nullopt;
    };
    for (Operand& o : c.operands)
      if (Check r = walk_operand(o, nullptr, fn)) return r;
    for (Condition& child : c.children)
      if (Check r = distinct(child)) return r;
    return std::nullopt;
  };
  if (Check c = distinct(root)) return c;

  std::function<Check(Condition&)> types = [&](Condition& c) -> Check {
    if (c.kind == Condition::Kind::kCompare && is_ordering(c.cmp)) {
      for (const Operand& o : c.operands)
        if (o.kind == Operand::Kind::kValue && !orderable(type_of(o.value)))
          return incorrect_operand_type(cmp_text(c.cmp), type_of(o.value));
    } else if (c.kind == Condition::Kind::kBetween) {
      for (const Operand& o : c.operands)
        if (o.kind == Operand::Kind::kValue && !orderable(type_of(o.value)))
          return incorrect_operand_type("BETWEEN", type_of(o.value));
      const Operand& lo = c.operands[1];
      const Operand& hi = c.operands[2];
      if (lo.kind == Operand::Kind::kValue && hi.kind == Operand::Kind::kValue) {
        std::string bounds = "lower bound operand: " + attribute_value_text(lo.value) +
                             ", upper bound operand: " + attribute_value_text(hi.value);
        if (type_of(lo.value) != type_of(hi.value))
          return "The BETWEEN operator requires same data type for lower and upper bounds; " +
                 bounds;
        auto order = compare_values(lo.value, hi.value);
        if (order && *order > 0)
          return "The BETWEEN operator requires upper bound to be greater than or equal to lower "
                 "bound; " +
                 bounds;
      }
    } else if (c.kind == Condition::Kind::kIn && c.operands.size() - 1 > kMaxInOperands) {
      return "The IN operator is provided with too many operands; number of operands: " +
             std::to_string(c.operands.size() - 1);
    }
    auto fn = [](Operand& o, const Operand*) { return check_condition_function_types(o); };
    for (Operand& o : c.operands)
      if (Check r = walk_operand(o, nullptr, fn)) return r;
    for (Condition& child : c.children)
      if (Check r = types(child)) return r;
    return std::nullopt;
  };
  return types(root);
}

}  // namespace

namespace detail {

std::string prefixed(std::string_view kind, std::string_view message) {
  return "Invalid " + std::string(kind) + ": " + std::string(message);
}

// Checks common to every expression before it is parsed.
Check check_text(std::string_view text) {
  if (text.empty()) return std::string("The expression can not be empty;");
  if (text.size() > kMaxExpressionBytes)
    return "Expression size has exceeded the maximum allowed size; expression size: " +
           std::to_string(text.size());
  return std::nullopt;
}

Result<std::unique_ptr<Condition>, std::string> parse_condition_tree(std::string_view text,
                                                                     ExpressionContext& ctx,
                                                                     std::string_view kind) {
  if (Check c = check_text(text)) return fail(prefixed(kind, *c));
  auto parsed = parse_condition_syntax(text);
  if (!parsed) return fail(prefixed(kind, parsed.error()));
  if (Check c = validate_condition(parsed->tree, ctx, parsed->redundant_parens))
    return fail(prefixed(kind, *c));
  return std::make_unique<Condition>(std::move(parsed->tree));
}

// Two paths of one update or projection may neither overlap (one is a prefix
// of the other) nor conflict (one indexes where the other names a key).
Check check_overlaps(const std::vector<const Path*>& paths) {
  Check conflict;
  for (size_t j = 1; j < paths.size(); ++j) {
    for (size_t i = 0; i < j; ++i) {
      const Path& a = *paths[i];
      const Path& b = *paths[j];
      size_t n = std::min(a.size(), b.size());
      bool differ = false;
      for (size_t k = 0; k < n; ++k) {
        if (a[k].index() != b[k].index()) {
          if (!conflict)
            conflict =
                "Two document paths conflict with each other; must remove or rewrite one "
                "of these paths; path one: " +
                path_to_string(a) + ", path two: " + path_to_string(b);
          differ = true;
          break;
        }
        if (a[k] != b[k]) {
          differ = true;
          break;
        }
      }
      if (!differ)
        return "Two document paths overlap with each other; must remove or rewrite one of these "
               "paths; path one: " +
               path_to_string(a) + ", path two: " + path_to_string(b);
    }
  }
  return conflict;
}

}  // namespace detail

namespace {

// ---------------------------------------------------------------------------
// Key conditions.

struct KeyPart {
  std::string attribute;
  SortKeyCondition cond;  // the operator and values, attribute on the left
};

// Walks the validated condition the way DynamoDB checks a key condition:
// operators first, then each comparison's operands, left to right.
Check collect_key_parts(const Condition& c, std::vector<KeyPart>& parts) {
  const std::string prefix = "Invalid operator used in KeyConditionExpression: ";
  switch (c.kind) {
    case Condition::Kind::kOr:
      return prefix + "OR";
    case Condition::Kind::kNot:
      return prefix + "NOT";
    case Condition::Kind::kIn:
      return prefix + "IN";
    case Condition::Kind::kAnd:
      for (const Condition& child : c.children)
        if (Check r = collect_key_parts(child, parts)) return r;
      return std::nullopt;
    default:
      break;
  }
  if (c.kind == Condition::Kind::kCompare && c.cmp == Cmp::kNe) return prefix + "<>";
  const std::vector<Operand>* operands = &c.operands;
  std::string_view what = "BETWEEN";
  if (c.kind == Condition::Kind::kFunction) {
    const Operand& f = c.operands[0];
    if (f.function != "begins_with") {
      if (f.function == "size")
        return std::string("KeyConditionExpressions cannot contain nested operations");
      return prefix + f.function;
    }
    operands = &f.args;
    what = "begins_with";
  }
  if ((c.kind == Condition::Kind::kBetween || c.kind == Condition::Kind::kFunction) &&
      (*operands)[0].kind != Operand::Kind::kPath)
    return "Invalid condition in KeyConditionExpression: " + std::string(what) +
           " operator must have the key attribute as its first operand";
  const Operand* key = nullptr;
  size_t key_at = 0;
  for (size_t i = 0; i < operands->size(); ++i) {
    const Operand& o = (*operands)[i];
    if (o.kind == Operand::Kind::kPath) {
      if (key)
        return std::string(
            "Invalid condition in KeyConditionExpression: Multiple attribute names used in one "
            "condition");
      if (o.path.resolved.size() > 1)
        return std::string("KeyConditionExpressions cannot have conditions on nested attributes");
      key = &o;
      key_at = i;
    } else if (o.kind == Operand::Kind::kFunction) {
      return std::string("KeyConditionExpressions cannot contain nested operations");
    }
  }
  if (!key)
    return std::string("Invalid condition in KeyConditionExpression: No key attribute specified");
  const std::string& name = std::get<std::string>(key->path.resolved[0]);
  for (const KeyPart& p : parts)
    if (p.attribute == name)
      return std::string("KeyConditionExpressions must only contain one condition per key");
  KeyPart part;
  part.attribute = name;
  using Op = SortKeyCondition::Op;
  if (c.kind == Condition::Kind::kFunction) {
    part.cond.op = Op::kBeginsWith;
    part.cond.value = (*operands)[1].value;
  } else if (c.kind == Condition::Kind::kBetween) {
    part.cond.op = Op::kBetween;
    part.cond.value = (*operands)[1].value;
    part.cond.upper = (*operands)[2].value;
  } else {
    // ":v < k" is k > :v.
    bool flip = key_at == 1;
    switch (c.cmp) {
      case Cmp::kLt:
        part.cond.op = flip ? Op::kGt : Op::kLt;
        break;
      case Cmp::kLe:
        part.cond.op = flip ? Op::kGe : Op::kLe;
        break;
      case Cmp::kGt:
        part.cond.op = flip ? Op::kLt : Op::kGt;
        break;
      case Cmp::kGe:
        part.cond.op = flip ? Op::kLe : Op::kGe;
        break;
      default:
        part.cond.op = Op::kEq;
        break;
    }
    part.cond.value = (*operands)[flip ? 0 : 1].value;
  }
  parts.push_back(std::move(part));
  return std::nullopt;
}

}  // namespace

// ---- Key conditions ----

Result<KeyCondition, std::string> parse_key_condition(std::string_view text, ExpressionContext& ctx,
                                                      const KeyAttribute& hash,
                                                      const std::optional<KeyAttribute>& range) {
  auto tree = parse_condition_tree(text, ctx, "KeyConditionExpression");
  if (!tree.ok()) return fail(tree.take_error());
  std::vector<KeyPart> parts;
  if (Check c = collect_key_parts(**tree, parts)) return fail(*c);
  if (parts.size() > 2) return fail(std::string("Conditions can be of length 1 or 2 only"));

  // The schema checks, in the order DynamoDB applies them per key attribute.
  const std::string kNotSupported = "Query key condition not supported";
  const std::string kTypeMismatch =
      "One or more parameter values were invalid: Condition parameter type does not match "
      "schema type";
  auto find = [&](const std::string& name) -> const KeyPart* {
    for (const KeyPart& p : parts)
      if (p.attribute == name) return &p;
    return nullptr;
  };
  auto type_matches = [](const KeyPart& p, KeyType key_type) {
    const char type[2] = {static_cast<char>(key_type), 0};
    if (type_of(p.cond.value) != type) return false;
    return p.cond.op != SortKeyCondition::Op::kBetween || type_of(p.cond.upper) == type;
  };
  if (!range && parts.size() > 1) return fail(kNotSupported);
  const KeyPart* partition = find(hash.name);
  if (!partition) return fail("Query condition missed key schema element: " + hash.name);
  if (!type_matches(*partition, hash.type)) return fail(kTypeMismatch);
  if (partition->cond.op != SortKeyCondition::Op::kEq) return fail(kNotSupported);
  KeyCondition out;
  out.partition_value = partition->cond.value;
  if (range) {
    const KeyPart* sort = find(range->name);
    if (!sort) {
      if (parts.size() > 1)
        return fail("Query condition missed key schema element: " + range->name);
    } else {
      if (!type_matches(*sort, range->type)) return fail(kTypeMismatch);
      out.sort = sort->cond;
    }
  }
  return out;
}

}  // namespace nimbus::services::dynamodb
