// DynamoDB's expression language, evaluation: attribute values in wire form
// and how DynamoDB compares them, document paths, and conditions evaluated
// against an item (ConditionExpression and FilterExpression, and the sort key
// condition of a Query).
#include "services/dynamodb/expression.h"

#include <algorithm>
#include <unordered_set>
#include <utility>

#include "base/ids.h"
#include "services/dynamodb/expression_internal.h"
#include "services/dynamodb/item.h"
#include "services/dynamodb/number.h"

namespace nimbus::services::dynamodb {

namespace json = boost::json;
using namespace detail;

// ---------------------------------------------------------------------------
// Attribute values in wire form.

namespace {

std::optional<std::string> bytes_of(const json::value& payload_value) {
  if (!payload_value.is_string()) return std::nullopt;
  std::string out;
  if (!base64_decode(std::string_view(payload_value.get_string()), out)) return std::nullopt;
  return out;
}

}  // namespace

namespace detail {

const json::value* payload(const json::value& v) {
  const json::object* o = v.if_object();
  if (!o || o->size() != 1) return nullptr;
  return &o->begin()->value();
}

std::optional<std::string_view> payload_string(const json::value& v) {
  const json::value* p = payload(v);
  if (!p || !p->is_string()) return std::nullopt;
  return std::string_view(p->get_string());
}

std::optional<Number> number_of(const json::value& payload_value) {
  if (!payload_value.is_string()) return std::nullopt;
  auto n = Number::parse(std::string_view(payload_value.get_string()));
  if (!n.ok()) return std::nullopt;
  return std::move(n).value();
}

std::string_view set_member_type(std::string_view set_type) {
  if (set_type == "SS") return "S";
  if (set_type == "NS") return "N";
  if (set_type == "BS") return "B";
  return {};
}

// A set member as text that is equal exactly when the members are: numbers
// in canonical form, binary decoded. Lets set operations hash instead of
// comparing every pair (sets can hold thousands of members).
std::string member_key(std::string_view member_type, const json::value& m) {
  if (!m.is_string()) return {};
  if (member_type == "N") {
    if (auto n = number_of(m)) return n->to_string();
  } else if (member_type == "B") {
    if (auto b = bytes_of(m)) return *b;
  }
  return std::string(m.get_string());
}

std::unordered_set<std::string> member_keys(std::string_view member_type, const json::array& set) {
  std::unordered_set<std::string> keys;
  for (const json::value& m : set) keys.insert(member_key(member_type, m));
  return keys;
}

json::value number_value(std::string text) {
  json::object o;
  o["N"] = std::move(text);
  return o;
}

}  // namespace detail

namespace {

// Equality of two set members or scalars of scalar type `t` (S, N or B),
// given as payloads.
bool scalar_payload_equal(std::string_view t, const json::value& a, const json::value& b) {
  if (!a.is_string() || !b.is_string()) return false;
  if (t == "N") {
    auto x = number_of(a), y = number_of(b);
    if (x && y) return *x == *y;
  } else if (t == "B") {
    auto x = bytes_of(a), y = bytes_of(b);
    if (x && y) return *x == *y;
  }
  return a.get_string() == b.get_string();
}

bool set_contains(std::string_view member_type, const json::array& set, const json::value& m) {
  return std::any_of(set.begin(), set.end(),
                     [&](const json::value& e) { return scalar_payload_equal(member_type, e, m); });
}

std::optional<int64_t> size_of(const json::value& v) {
  std::string_view t = type_of(v);
  const json::value* p = payload(v);
  if (!p) return std::nullopt;
  if (t == "S" && p->is_string()) return static_cast<int64_t>(p->get_string().size());
  if (t == "B") {
    auto b = bytes_of(*p);
    if (b) return static_cast<int64_t>(b->size());
    return std::nullopt;
  }
  if ((t == "SS" || t == "NS" || t == "BS" || t == "L") && p->is_array())
    return static_cast<int64_t>(p->get_array().size());
  if (t == "M" && p->is_object()) return static_cast<int64_t>(p->get_object().size());
  return std::nullopt;
}

// ---------------------------------------------------------------------------
// Evaluation of conditions.

// An operand's value for one item: a pointer into the item or the expression,
// or a computed value (size()); empty when the attribute is missing.
class Val {
 public:
  Val() = default;
  explicit Val(const json::value* p) : ptr_(p) {}
  explicit Val(json::value owned) : owned_(std::move(owned)), has_owned_(true) {}
  const json::value* get() const { return has_owned_ ? &owned_ : ptr_; }

 private:
  const json::value* ptr_ = nullptr;
  json::value owned_;
  bool has_owned_ = false;
};

Val eval_operand(const Operand& o, const json::object& item) {
  switch (o.kind) {
    case Operand::Kind::kPath:
      return Val(find_path(item, o.path.resolved));
    case Operand::Kind::kValue:
      return Val(&o.value);
    case Operand::Kind::kFunction: {
      // Only size() survives validation as an operand.
      if (o.function != "size" || o.args.size() != 1) return Val();
      Val arg = eval_operand(o.args[0], item);
      if (!arg.get()) return Val();
      auto n = size_of(*arg.get());
      if (!n) return Val();
      return Val(number_value(std::to_string(*n)));
    }
  }
  return Val();
}

bool begins_with(const json::value& a, const json::value& b) {
  std::string_view t = type_of(a);
  if (t != type_of(b)) return false;
  if (t == "S") {
    auto x = payload_string(a), y = payload_string(b);
    return x && y && x->substr(0, y->size()) == *y;
  }
  if (t == "B") {
    auto x = bytes_of(*payload(a)), y = bytes_of(*payload(b));
    return x && y && x->compare(0, y->size(), *y) == 0 && x->size() >= y->size();
  }
  return false;
}

bool contains(const json::value& a, const json::value& b) {
  std::string_view ta = type_of(a), tb = type_of(b);
  if (ta.empty() || tb.empty()) return false;
  const json::value& pa = *payload(a);
  const json::value& pb = *payload(b);
  if (ta == "S" && tb == "S") {
    auto x = payload_string(a), y = payload_string(b);
    return x && y && x->find(*y) != std::string_view::npos;
  }
  if (ta == "B" && tb == "B") {
    auto x = bytes_of(pa), y = bytes_of(pb);
    return x && y && x->find(*y) != std::string::npos;
  }
  if (set_member_type(ta) == tb && pa.is_array()) return set_contains(tb, pa.get_array(), pb);
  if (ta == "L" && pa.is_array()) {
    const json::array& list = pa.get_array();
    return std::any_of(list.begin(), list.end(),
                       [&](const json::value& e) { return values_equal(e, b); });
  }
  return false;
}

bool eval_function(const Operand& f, const json::object& item) {
  const std::string& name = f.function;
  if (name == "attribute_exists") return find_path(item, f.args[0].path.resolved) != nullptr;
  if (name == "attribute_not_exists") return find_path(item, f.args[0].path.resolved) == nullptr;
  Val a = eval_operand(f.args[0], item);
  Val b = eval_operand(f.args[1], item);
  if (!a.get() || !b.get()) return false;
  if (name == "attribute_type") {
    auto want = payload_string(*b.get());
    return want && type_of(*a.get()) == *want;
  }
  if (name == "begins_with") return begins_with(*a.get(), *b.get());
  if (name == "contains") return contains(*a.get(), *b.get());
  return false;
}

bool eval_condition(const Condition& c, const json::object& item) {
  switch (c.kind) {
    case Condition::Kind::kAnd:
      return std::all_of(c.children.begin(), c.children.end(),
                         [&](const Condition& x) { return eval_condition(x, item); });
    case Condition::Kind::kOr:
      return std::any_of(c.children.begin(), c.children.end(),
                         [&](const Condition& x) { return eval_condition(x, item); });
    case Condition::Kind::kNot:
      return !eval_condition(c.children[0], item);
    case Condition::Kind::kFunction:
      return eval_function(c.operands[0], item);
    case Condition::Kind::kCompare: {
      Val a = eval_operand(c.operands[0], item);
      Val b = eval_operand(c.operands[1], item);
      // A missing attribute equals nothing, so it differs from everything.
      if (!a.get() || !b.get()) return c.cmp == Cmp::kNe;
      if (c.cmp == Cmp::kEq) return values_equal(*a.get(), *b.get());
      if (c.cmp == Cmp::kNe) return !values_equal(*a.get(), *b.get());
      auto order = compare_values(*a.get(), *b.get());
      if (!order) return false;
      switch (c.cmp) {
        case Cmp::kLt:
          return *order < 0;
        case Cmp::kLe:
          return *order <= 0;
        case Cmp::kGt:
          return *order > 0;
        case Cmp::kGe:
          return *order >= 0;
        default:
          return false;
      }
    }
    case Condition::Kind::kBetween: {
      Val v = eval_operand(c.operands[0], item);
      Val lo = eval_operand(c.operands[1], item);
      Val hi = eval_operand(c.operands[2], item);
      if (!v.get() || !lo.get() || !hi.get()) return false;
      auto a = compare_values(*v.get(), *lo.get());
      auto b = compare_values(*v.get(), *hi.get());
      return a && b && *a >= 0 && *b <= 0;
    }
    case Condition::Kind::kIn: {
      Val v = eval_operand(c.operands[0], item);
      if (!v.get()) return false;
      for (size_t i = 1; i < c.operands.size(); ++i) {
        Val x = eval_operand(c.operands[i], item);
        if (x.get() && values_equal(*v.get(), *x.get())) return true;
      }
      return false;
    }
  }
  return false;
}

}  // namespace

// ---------------------------------------------------------------------------
// Public functions.

std::string path_to_string(const Path& path) {
  std::string out = "[";
  for (size_t i = 0; i < path.size(); ++i) {
    if (i) out += ", ";
    if (const auto* name = std::get_if<std::string>(&path[i])) {
      out += *name;
    } else {
      out += "[" + std::to_string(std::get<uint32_t>(path[i])) + "]";
    }
  }
  return out + "]";
}

const json::value* find_path(const json::object& item, const Path& path) {
  if (path.empty() || !std::holds_alternative<std::string>(path[0])) return nullptr;
  const json::value* v = item.if_contains(std::get<std::string>(path[0]));
  for (size_t k = 1; v && k < path.size(); ++k) {
    const json::object* o = v->if_object();
    if (!o || o->size() != 1) return nullptr;
    if (const auto* name = std::get_if<std::string>(&path[k])) {
      const json::value* m = o->if_contains("M");
      v = m && m->is_object() ? m->get_object().if_contains(*name) : nullptr;
    } else {
      const json::value* l = o->if_contains("L");
      uint32_t i = std::get<uint32_t>(path[k]);
      v = l && l->is_array() && i < l->get_array().size() ? &l->get_array()[i] : nullptr;
    }
  }
  return v;
}

std::optional<std::strong_ordering> compare_values(const json::value& a, const json::value& b) {
  std::string_view t = type_of(a);
  if (t != type_of(b) || !orderable(t)) return std::nullopt;
  const json::value& pa = *payload(a);
  const json::value& pb = *payload(b);
  if (!pa.is_string() || !pb.is_string()) return std::nullopt;
  if (t == "S") return std::string_view(pa.get_string()) <=> std::string_view(pb.get_string());
  if (t == "N") {
    auto x = number_of(pa), y = number_of(pb);
    if (!x || !y) return std::nullopt;
    return *x <=> *y;
  }
  auto x = bytes_of(pa), y = bytes_of(pb);
  if (!x || !y) return std::nullopt;
  return std::string_view(*x) <=> std::string_view(*y);
}

bool values_equal(const json::value& a, const json::value& b) {
  std::string_view t = type_of(a);
  if (t.empty() || t != type_of(b)) return false;
  const json::value& pa = *payload(a);
  const json::value& pb = *payload(b);
  if (t == "S" || t == "N" || t == "B") return scalar_payload_equal(t, pa, pb);
  if (t == "BOOL") return pa.is_bool() && pb.is_bool() && pa.get_bool() == pb.get_bool();
  if (t == "NULL") return true;
  if (!set_member_type(t).empty()) {
    if (!pa.is_array() || !pb.is_array() || pa.get_array().size() != pb.get_array().size())
      return false;
    std::string_view member = set_member_type(t);
    return member_keys(member, pa.get_array()) == member_keys(member, pb.get_array());
  }
  if (t == "L") {
    if (!pa.is_array() || !pb.is_array()) return false;
    const json::array& x = pa.get_array();
    const json::array& y = pb.get_array();
    if (x.size() != y.size()) return false;
    for (size_t i = 0; i < x.size(); ++i)
      if (!values_equal(x[i], y[i])) return false;
    return true;
  }
  if (t == "M") {
    if (!pa.is_object() || !pb.is_object()) return false;
    const json::object& x = pa.get_object();
    const json::object& y = pb.get_object();
    if (x.size() != y.size()) return false;
    for (const auto& kv : x) {
      const json::value* other = y.if_contains(kv.key());
      if (!other || !values_equal(kv.value(), *other)) return false;
    }
    return true;
  }
  return false;
}

// ---- ConditionExpression ----

ConditionExpression::ConditionExpression(std::unique_ptr<detail::Condition> root)
    : root_(std::move(root)) {}
ConditionExpression::ConditionExpression(ConditionExpression&&) noexcept = default;
ConditionExpression& ConditionExpression::operator=(ConditionExpression&&) noexcept = default;
ConditionExpression::~ConditionExpression() = default;

Result<ConditionExpression, std::string> ConditionExpression::parse(std::string_view text,
                                                                    ExpressionContext& ctx,
                                                                    std::string_view kind) {
  auto tree = parse_condition_tree(text, ctx, kind);
  if (!tree.ok()) return fail(tree.take_error());
  return ConditionExpression(std::move(tree).value());
}

bool ConditionExpression::evaluate(const json::object& item) const {
  return eval_condition(*root_, item);
}

std::set<std::string> ConditionExpression::top_level_attributes() const {
  std::set<std::string> out;
  walk_paths(*root_, [&](ParsedPath& p) -> Check {
    if (!p.resolved.empty()) out.insert(std::get<std::string>(p.resolved[0]));
    return std::nullopt;
  });
  return out;
}

// ---- Key conditions ----

bool SortKeyCondition::matches(const json::value& v) const {
  if (op == Op::kBeginsWith) return begins_with(v, value);
  auto order = compare_values(v, value);
  if (!order) return false;
  switch (op) {
    case Op::kEq:
      return *order == 0;
    case Op::kLt:
      return *order < 0;
    case Op::kLe:
      return *order <= 0;
    case Op::kGt:
      return *order > 0;
    case Op::kGe:
      return *order >= 0;
    case Op::kBetween: {
      auto upper_order = compare_values(v, upper);
      return *order >= 0 && upper_order && *upper_order <= 0;
    }
    case Op::kBeginsWith:
      break;
  }
  return false;
}

}  // namespace nimbus::services::dynamodb
