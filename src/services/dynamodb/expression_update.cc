// DynamoDB's expression language, writes and projections: UpdateExpression
// (its checks, and its application to an item: SET, REMOVE, ADD, DELETE) and
// ProjectionExpression with project(), which also serves ReturnValues
// UPDATED_OLD / UPDATED_NEW.
#include "services/dynamodb/expression.h"

#include <algorithm>
#include <unordered_set>
#include <utility>

#include "services/dynamodb/expression_internal.h"
#include "services/dynamodb/item.h"

namespace nimbus::services::dynamodb {

namespace json = boost::json;
using namespace detail;

namespace {

// ---------------------------------------------------------------------------
// Update: checks and application.

// The names DynamoDB prints for a type in ADD/DELETE operand messages.
std::string_view long_type_name(std::string_view t) {
  if (t == "S") return "STRING";
  if (t == "N") return "NUMBER";
  if (t == "B") return "BINARY";
  if (t == "BOOL") return "BOOLEAN";
  if (t == "NULL") return "NULL";
  if (t == "L") return "LIST";
  if (t == "M") return "MAP";
  if (t == "SS") return "STRING_SET";
  if (t == "NS") return "NUMBER_SET";
  if (t == "BS") return "BINARY_SET";
  return t;
}

std::string_view clause_text(Action::Kind k) {
  switch (k) {
    case Action::Kind::kSet:
      return "SET";
    case Action::Kind::kRemove:
      return "REMOVE";
    case Action::Kind::kAdd:
      return "ADD";
    case Action::Kind::kDelete:
      return "DELETE";
  }
  return "SET";
}

Check check_update_function(const Operand& f, const Operand* parent) {
  if (f.kind != Operand::Kind::kFunction) return std::nullopt;
  if (f.args.size() != 2)
    return "Incorrect number of operands for operator or function; operator or function: " +
           f.function + ", number of operands: " + std::to_string(f.args.size());
  // DynamoDB refuses list_append nested in another call, but accepts
  // list_append(if_not_exists(a, :empty), :tail).
  if (parent && f.function == "list_append")
    return std::string(
        "The function is not allowed to be used this way in an expression; function: "
        "list_append");
  if (f.function == "if_not_exists" && f.args[0].kind != Operand::Kind::kPath)
    return std::string(
        "Operator or function requires a document path; operator or function: if_not_exists");
  if (f.function == "list_append")
    for (const Operand& a : f.args)
      if (a.kind == Operand::Kind::kValue && type_of(a.value) != "L")
        return incorrect_operand_type("list_append", type_of(a.value));
  return std::nullopt;
}

template <class Fn>
Check walk_update_operands(Update& u, Fn& fn) {
  for (Action& a : u.actions) {
    if (a.left)
      if (Check c = walk_operand(*a.left, nullptr, fn)) return c;
    if (a.right)
      if (Check c = walk_operand(*a.right, nullptr, fn)) return c;
  }
  return std::nullopt;
}

// DynamoDB's order for updates (per dynalite, which follows DynamoDB here):
// reserved words, function names, repeated clauses, undefined names, undefined
// values, overlapping then conflicting paths, ADD/DELETE operand types, then
// function operands.
Check validate_update(Update& u, ExpressionContext& ctx) {
  auto reserved = [](Operand& o, const Operand*) -> Check {
    return o.kind == Operand::Kind::kPath ? check_reserved(o.path) : std::nullopt;
  };
  for (Action& a : u.actions) {
    if (Check c = check_reserved(a.path)) return c;
    if (a.left)
      if (Check c = walk_operand(*a.left, nullptr, reserved)) return c;
    if (a.right)
      if (Check c = walk_operand(*a.right, nullptr, reserved)) return c;
  }

  auto names = [](Operand& o, const Operand*) { return check_function_name(o, true); };
  if (Check c = walk_update_operands(u, names)) return c;

  for (size_t j = 1; j < u.clauses.size(); ++j)
    for (size_t i = 0; i < j; ++i)
      if (u.clauses[i] == u.clauses[j])
        return "The \"" + std::string(clause_text(u.clauses[j])) +
               "\" section can only be used once in an update expression;";

  auto nesting = [](Operand& o, const Operand*) -> Check {
    return o.kind == Operand::Kind::kPath ? check_nesting(o.path) : std::nullopt;
  };
  for (Action& a : u.actions)
    if (Check c = check_nesting(a.path)) return c;
  if (Check c = walk_update_operands(u, nesting)) return c;

  auto resolve_names = [&](Operand& o, const Operand*) -> Check {
    return o.kind == Operand::Kind::kPath ? resolve_path(o.path, ctx) : std::nullopt;
  };
  for (Action& a : u.actions) {
    if (Check c = resolve_path(a.path, ctx)) return c;
    if (a.left)
      if (Check c = walk_operand(*a.left, nullptr, resolve_names)) return c;
    if (a.right)
      if (Check c = walk_operand(*a.right, nullptr, resolve_names)) return c;
  }
  auto resolve_values = [&](Operand& o, const Operand*) -> Check {
    return o.kind == Operand::Kind::kValue ? resolve_value(o, ctx) : std::nullopt;
  };
  if (Check c = walk_update_operands(u, resolve_values)) return c;

  std::vector<const Path*> targets;
  for (const Action& a : u.actions) targets.push_back(&a.path.resolved);
  if (Check c = check_overlaps(targets)) return c;

  for (const Action& a : u.actions) {
    if (a.kind != Action::Kind::kAdd && a.kind != Action::Kind::kDelete) continue;
    std::string_view t = type_of(a.left->value);
    bool add = a.kind == Action::Kind::kAdd;
    bool ok = t == "SS" || t == "NS" || t == "BS" || (add && t == "N");
    if (!ok)
      return "Incorrect operand type for operator or function; operator: " +
             std::string(add ? "ADD" : "DELETE") +
             ", operand type: " + std::string(long_type_name(t)) + ", typeSet: ALLOWED_FOR_" +
             std::string(add ? "ADD" : "DELETE") + "_OPERAND";
  }

  auto functions = [](Operand& o, const Operand* parent) {
    return check_update_function(o, parent);
  };
  for (Action& a : u.actions) {
    if (a.left)
      if (Check c = walk_operand(*a.left, nullptr, functions)) return c;
    if (a.right)
      if (Check c = walk_operand(*a.right, nullptr, functions)) return c;
    if (a.op != 0)
      for (const Operand* o : {&*a.left, &*a.right})
        if (o->kind == Operand::Kind::kValue && type_of(o->value) != "N")
          return incorrect_operand_type(std::string(1, a.op), type_of(o->value));
  }
  return std::nullopt;
}

// Messages of a failed update; DynamoDB sends these without the
// "Invalid UpdateExpression: " prefix (as moto, tested against DynamoDB, has
// them).
constexpr std::string_view kMissingAttribute =
    "The provided expression refers to an attribute that does not exist in the item";
constexpr std::string_view kWrongType =
    "An operand in the update expression has an incorrect data type";
constexpr std::string_view kInvalidPath =
    "The document path provided in the update expression is invalid for update";

Result<json::value, std::string> eval_update_operand(const Operand& o, const json::object& item) {
  switch (o.kind) {
    case Operand::Kind::kValue:
      return o.value;
    case Operand::Kind::kPath: {
      const json::value* v = find_path(item, o.path.resolved);
      if (!v) return fail(std::string(kMissingAttribute));
      return *v;
    }
    case Operand::Kind::kFunction: {
      if (o.function == "if_not_exists") {
        if (const json::value* v = find_path(item, o.args[0].path.resolved)) return *v;
        return eval_update_operand(o.args[1], item);
      }
      // list_append
      auto a = eval_update_operand(o.args[0], item);
      if (!a.ok()) return a;
      auto b = eval_update_operand(o.args[1], item);
      if (!b.ok()) return b;
      if (type_of(*a) != "L" || type_of(*b) != "L" || !payload(*a)->is_array() ||
          !payload(*b)->is_array())
        return fail(std::string(kWrongType));
      json::array out = payload(*a)->get_array();
      for (const json::value& e : payload(*b)->get_array()) out.push_back(e);
      json::object list;
      list["L"] = std::move(out);
      return json::value(std::move(list));
    }
  }
  return fail(std::string(kWrongType));
}

Result<json::value, std::string> eval_set_value(const Action& a, const json::object& item) {
  auto left = eval_update_operand(*a.left, item);
  if (!left.ok() || a.op == 0) return left;
  auto right = eval_update_operand(*a.right, item);
  if (!right.ok()) return right;
  if (type_of(*left) != "N" || type_of(*right) != "N") return fail(std::string(kWrongType));
  auto x = number_of(*payload(*left));
  auto y = number_of(*payload(*right));
  if (!x || !y) return fail(std::string(kWrongType));
  auto sum = a.op == '+' ? x->add(*y) : x->subtract(*y);
  if (!sum.ok()) return fail(sum.error());
  return number_value(sum->to_string());
}

json::object* map_payload(json::value* v) {
  if (!v) return nullptr;
  json::object* o = v->if_object();
  if (!o || o->size() != 1) return nullptr;
  json::value* p = o->if_contains("M");
  return p ? p->if_object() : nullptr;
}

json::array* list_payload(json::value* v) {
  if (!v) return nullptr;
  json::object* o = v->if_object();
  if (!o || o->size() != 1) return nullptr;
  json::value* p = o->if_contains("L");
  return p ? p->if_array() : nullptr;
}

// The value at the first `n` steps of `path`, or null.
json::value* find_mutable(json::object& item, const Path& path, size_t n) {
  if (path.empty() || n == 0 || !std::holds_alternative<std::string>(path[0])) return nullptr;
  json::value* v = item.if_contains(std::get<std::string>(path[0]));
  for (size_t k = 1; v && k < n; ++k) {
    if (const auto* name = std::get_if<std::string>(&path[k])) {
      json::object* m = map_payload(v);
      v = m ? m->if_contains(*name) : nullptr;
    } else {
      json::array* l = list_payload(v);
      uint32_t i = std::get<uint32_t>(path[k]);
      v = l && i < l->size() ? &(*l)[i] : nullptr;
    }
  }
  return v;
}

// Writes `value` at `path`; a list index past the end appends. False when a
// parent is missing or of the wrong type.
bool set_at(json::object& item, const Path& path, json::value value) {
  if (path.size() == 1) {
    item[std::get<std::string>(path[0])] = std::move(value);
    return true;
  }
  json::value* parent = find_mutable(item, path, path.size() - 1);
  if (const auto* name = std::get_if<std::string>(&path.back())) {
    json::object* m = map_payload(parent);
    if (!m) return false;
    (*m)[*name] = std::move(value);
    return true;
  }
  json::array* l = list_payload(parent);
  if (!l) return false;
  uint32_t i = std::get<uint32_t>(path.back());
  if (i < l->size()) {
    (*l)[i] = std::move(value);
  } else {
    l->push_back(std::move(value));
  }
  return true;
}

// Removes the value at `path`: a missing leaf is fine, a missing or mistyped
// parent is not.
bool remove_at(json::object& item, const Path& path) {
  if (path.size() == 1) {
    item.erase(std::get<std::string>(path[0]));
    return true;
  }
  json::value* parent = find_mutable(item, path, path.size() - 1);
  if (const auto* name = std::get_if<std::string>(&path.back())) {
    json::object* m = map_payload(parent);
    if (!m) return false;
    m->erase(*name);
    return true;
  }
  json::array* l = list_payload(parent);
  if (!l) return false;
  uint32_t i = std::get<uint32_t>(path.back());
  if (i < l->size()) l->erase(l->begin() + i);
  return true;
}

bool parent_exists(json::object& item, const Path& path) {
  if (path.size() == 1) return true;
  json::value* parent = find_mutable(item, path, path.size() - 1);
  return std::holds_alternative<std::string>(path.back()) ? map_payload(parent) != nullptr
                                                          : list_payload(parent) != nullptr;
}

// Path order for applying actions: names before indexes at a step, indexes
// numerically, a prefix first.
bool path_less(const Path& a, const Path& b) {
  size_t n = std::min(a.size(), b.size());
  for (size_t k = 0; k < n; ++k) {
    if (a[k].index() != b[k].index()) return a[k].index() < b[k].index();
    if (a[k] != b[k]) return a[k] < b[k];
  }
  return a.size() < b.size();
}

// ADD of a number or set to the value at `path` (absent: starts from zero or
// the empty set).
Result<void, std::string> add_at(json::object& item, const Path& path, const json::value& operand) {
  json::value* target = find_mutable(item, path, path.size());
  std::string_view t = type_of(operand);
  if (!target) {
    if (!parent_exists(item, path)) return fail(std::string(kInvalidPath));
    json::value fresh = operand;
    if (t == "N") {
      auto n = number_of(*payload(operand));
      if (!n) return fail(std::string(kWrongType));
      fresh = number_value(n->to_string());
    }
    set_at(item, path, std::move(fresh));
    return {};
  }
  if (type_of(*target) != t) return fail(std::string(kWrongType));
  if (t == "N") {
    auto x = number_of(*payload(*target));
    auto y = number_of(*payload(operand));
    if (!x || !y) return fail(std::string(kWrongType));
    auto sum = x->add(*y);
    if (!sum.ok()) return fail(sum.error());
    *target = number_value(sum->to_string());
    return {};
  }
  json::value* set = target->as_object().if_contains(t);
  const json::value* more = payload(operand);
  if (!set || !set->is_array() || !more || !more->is_array()) return fail(std::string(kWrongType));
  std::string_view member = set_member_type(t);
  json::array& members = set->get_array();
  std::unordered_set<std::string> present = member_keys(member, members);
  for (const json::value& m : more->get_array())
    if (present.insert(member_key(member, m)).second) members.push_back(m);
  return {};
}

// DELETE of set members; true in `emptied` when the set is left empty (the
// caller removes the attribute: DynamoDB has no empty sets).
Result<void, std::string> delete_at(json::object& item, const Path& path,
                                    const json::value& operand, bool& emptied) {
  emptied = false;
  json::value* target = find_mutable(item, path, path.size());
  if (!target) return {};
  std::string_view t = type_of(operand);
  if (type_of(*target) != t) return fail(std::string(kWrongType));
  json::value* set = target->as_object().if_contains(t);
  const json::value* less = payload(operand);
  if (!set || !set->is_array() || !less || !less->is_array()) return fail(std::string(kWrongType));
  std::string_view member = set_member_type(t);
  std::unordered_set<std::string> gone = member_keys(member, less->get_array());
  json::array kept;
  for (const json::value& m : set->get_array())
    if (!gone.count(member_key(member, m))) kept.push_back(m);
  emptied = kept.empty();
  set->get_array() = std::move(kept);
  return {};
}

// ---------------------------------------------------------------------------
// Projection.

// The parts of an item selected by several paths, before they become JSON.
// A node knows how its parent reaches it (map key or list index); there are
// few paths, so children are found by linear search.
struct ProjectionNode {
  std::string name;
  uint32_t index = 0;
  const json::value* leaf = nullptr;
  bool is_list = false;
  std::vector<ProjectionNode> children;

  ProjectionNode& field(const std::string& key) {
    for (ProjectionNode& c : children)
      if (c.name == key) return c;
    children.emplace_back().name = key;
    return children.back();
  }
  ProjectionNode& element(uint32_t i) {
    is_list = true;
    for (ProjectionNode& c : children)
      if (c.index == i) return c;
    children.emplace_back().index = i;
    return children.back();
  }

  json::value to_json() const {
    if (leaf) return *leaf;
    json::object out;
    if (is_list) {
      std::vector<const ProjectionNode*> sorted;
      for (const ProjectionNode& c : children) sorted.push_back(&c);
      std::sort(sorted.begin(), sorted.end(), [](const ProjectionNode* x, const ProjectionNode* y) {
        return x->index < y->index;
      });
      json::array list;
      for (const ProjectionNode* c : sorted) list.push_back(c->to_json());
      out["L"] = std::move(list);
    } else {
      json::object map;
      for (const ProjectionNode& c : children) map[c.name] = c.to_json();
      out["M"] = std::move(map);
    }
    return out;
  }
};

}  // namespace

// ---------------------------------------------------------------------------
// Public functions.

json::object project(const json::object& item, const std::vector<Path>& paths) {
  ProjectionNode root;
  for (const Path& path : paths) {
    const json::value* v = find_path(item, path);
    if (!v) continue;
    ProjectionNode* node = &root.field(std::get<std::string>(path[0]));
    for (size_t k = 1; k < path.size() && !node->leaf; ++k) {
      if (const auto* name = std::get_if<std::string>(&path[k])) {
        node = &node->field(*name);
      } else {
        node = &node->element(std::get<uint32_t>(path[k]));
      }
    }
    // A path inside one already taken whole adds nothing, and one taken whole
    // after parts of it keeps the parts (only when the caller passes
    // overlapping paths, which parsing refuses).
    if (!node->leaf && node->children.empty()) node->leaf = v;
  }
  json::object out;
  for (const ProjectionNode& c : root.children) out[c.name] = c.to_json();
  return out;
}

// ---- ProjectionExpression ----

Result<ProjectionExpression, std::string> ProjectionExpression::parse(std::string_view text,
                                                                      ExpressionContext& ctx) {
  constexpr std::string_view kKind = "ProjectionExpression";
  if (Check c = check_text(text)) return fail(prefixed(kKind, *c));
  auto parsed = parse_projection_syntax(text);
  if (!parsed) return fail(prefixed(kKind, parsed.error()));
  for (ParsedPath& p : *parsed)
    if (Check c = check_reserved(p)) return fail(prefixed(kKind, *c));
  for (ParsedPath& p : *parsed)
    if (Check c = check_nesting(p)) return fail(prefixed(kKind, *c));
  for (ParsedPath& p : *parsed)
    if (Check c = resolve_path(p, ctx)) return fail(prefixed(kKind, *c));
  std::vector<const Path*> all;
  for (const ParsedPath& p : *parsed) all.push_back(&p.resolved);
  if (Check c = check_overlaps(all)) return fail(prefixed(kKind, *c));
  std::vector<Path> paths;
  for (ParsedPath& p : *parsed) paths.push_back(std::move(p.resolved));
  return ProjectionExpression(std::move(paths));
}

// ---- UpdateExpression ----

UpdateExpression::UpdateExpression(std::unique_ptr<detail::Update> update)
    : update_(std::move(update)) {}
UpdateExpression::UpdateExpression(UpdateExpression&&) noexcept = default;
UpdateExpression& UpdateExpression::operator=(UpdateExpression&&) noexcept = default;
UpdateExpression::~UpdateExpression() = default;

Result<UpdateExpression, std::string> UpdateExpression::parse(std::string_view text,
                                                              ExpressionContext& ctx) {
  constexpr std::string_view kKind = "UpdateExpression";
  if (Check c = check_text(text)) return fail(prefixed(kKind, *c));
  auto parsed = parse_update_syntax(text);
  if (!parsed) return fail(prefixed(kKind, parsed.error()));
  if (Check c = validate_update(*parsed, ctx)) return fail(prefixed(kKind, *c));
  return UpdateExpression(std::make_unique<Update>(std::move(*parsed)));
}

std::vector<Path> UpdateExpression::target_paths() const {
  std::vector<Path> out;
  for (const Action& a : update_->actions) out.push_back(a.path.resolved);
  return out;
}

std::optional<std::string> UpdateExpression::key_update_error(
    const KeyAttribute& hash, const std::optional<KeyAttribute>& range) const {
  for (const Action& a : update_->actions) {
    const std::string& top = std::get<std::string>(a.path.resolved[0]);
    if (top == hash.name || (range && top == range->name))
      return "One or more parameter values were invalid: Cannot update attribute " + top +
             ". This attribute is part of the key";
  }
  return std::nullopt;
}

Result<UpdateExpression::Outcome, std::string> UpdateExpression::apply(const json::object& item,
                                                                       bool item_exists) const {
  Outcome out;
  out.item = item;
  const std::vector<Action>& actions = update_->actions;

  // Every SET value is read from the item as it was before the update.
  std::vector<std::pair<const Action*, json::value>> sets;
  for (const Action& a : actions) {
    if (a.kind != Action::Kind::kSet) continue;
    auto v = eval_set_value(a, item);
    if (!v.ok()) return fail(v.take_error());
    sets.emplace_back(&a, std::move(v).value());
  }
  // List indexes name positions in the original list: replace in place and
  // append (in index order) first, remove last, highest index first.
  std::stable_sort(sets.begin(), sets.end(), [](const auto& x, const auto& y) {
    return path_less(x.first->path.resolved, y.first->path.resolved);
  });
  for (auto& [action, value] : sets)
    if (!set_at(out.item, action->path.resolved, std::move(value)))
      return fail(std::string(kInvalidPath));

  std::vector<const Path*> removals;
  for (const Action& a : actions) {
    const Path& path = a.path.resolved;
    if (a.kind == Action::Kind::kAdd) {
      auto r = add_at(out.item, path, a.left->value);
      if (!r.ok()) return fail(r.take_error());
    } else if (a.kind == Action::Kind::kDelete) {
      if (item_exists && !parent_exists(out.item, path)) return fail(std::string(kInvalidPath));
      bool emptied = false;
      auto r = delete_at(out.item, path, a.left->value, emptied);
      if (!r.ok()) return fail(r.take_error());
      if (emptied) removals.push_back(&path);
    } else if (a.kind == Action::Kind::kRemove) {
      removals.push_back(&path);
    }
  }
  std::stable_sort(removals.begin(), removals.end(),
                   [](const Path* x, const Path* y) { return path_less(*y, *x); });
  for (const Path* path : removals)
    if (!remove_at(out.item, *path) && item_exists) return fail(std::string(kInvalidPath));

  for (const Action& a : actions) out.changed.insert(std::get<std::string>(a.path.resolved[0]));
  return out;
}

}  // namespace nimbus::services::dynamodb
