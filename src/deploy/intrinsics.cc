#include "deploy/intrinsics.h"

#include <algorithm>
#include <charconv>

#include "base/ids.h"

namespace nimbus::deploy {

namespace {

using Errors = std::optional<TemplateError>;
// nullopt stands for AWS::NoValue: the caller drops the property or item.
using Value = std::optional<Node>;

// Deep enough for any real template; bounds recursion on hostile input.
constexpr int kMaxDepth = 256;

const std::set<std::string, std::less<>> kPseudo = {
    "AWS::Region",    "AWS::AccountId", "AWS::StackName", "AWS::StackId",
    "AWS::Partition", "AWS::URLSuffix", "AWS::NoValue",   "AWS::NotificationARNs"};

bool is_condition_fn(std::string_view fn) {
  return fn == "Fn::Equals" || fn == "Fn::And" || fn == "Fn::Or" || fn == "Fn::Not" ||
         fn == "Condition";
}

// In property values a one-key {"Condition": ...} map is data (IAM policies
// have Condition blocks), never the Condition function.
bool is_value_intrinsic(const Node& n) {
  return n.is_intrinsic() && n.intrinsic_name() != "Condition";
}

const Node& arg_of(const Node& n) {
  return n.entries()[0].value;
}

std::string trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return std::string(s);
}

Node string_list_node(const std::vector<std::string>& items, const Mark& m) {
  Node list = Node::list(m);
  for (const auto& s : items) list.push_back(Node::string(s, m));
  return list;
}

}  // namespace

Result<std::vector<SubPart>, std::string> parse_sub(std::string_view s) {
  std::vector<SubPart> parts;
  std::string literal;
  size_t i = 0;
  while (i < s.size()) {
    auto open = s.find("${", i);
    if (open == std::string_view::npos) {
      literal += s.substr(i);
      break;
    }
    literal += s.substr(i, open - i);
    auto close = s.find('}', open + 2);
    if (close == std::string_view::npos) return fail(std::string("unterminated '${' in Fn::Sub"));
    std::string_view inner = s.substr(open + 2, close - open - 2);
    if (!inner.empty() && inner[0] == '!') {
      // "${!Name}" is the literal text "${Name}".
      literal += "${" + std::string(inner.substr(1)) + "}";
    } else {
      std::string var = trim(inner);
      if (var.empty()) return fail(std::string("empty variable '${}' in Fn::Sub"));
      if (!literal.empty()) parts.push_back({false, std::move(literal)});
      literal.clear();
      parts.push_back({true, std::move(var)});
    }
    i = close + 1;
  }
  if (!literal.empty()) parts.push_back({false, std::move(literal)});
  return parts;
}

bool Context::is_resource(std::string_view id) const {
  return (tmpl && tmpl->resource(id)) || generated_ids.contains(id);
}

bool Context::resource_enabled(const Resource& r) const {
  if (r.condition.empty()) return true;
  auto it = conditions.find(r.condition);
  return it != conditions.end() && it->second;
}

// ---------------------------------------------------------------------------
// The evaluator

namespace {

class Evaluator {
 public:
  explicit Evaluator(const Context& ctx) : ctx_(ctx) {}

  Result<Value, TemplateError> eval(const Node& n, const std::string& path, int depth = 0) {
    if (depth > kMaxDepth) return fail(error_at(n.mark(), path, "nesting too deep"));
    if (is_value_intrinsic(n)) return eval_fn(n, path, depth + 1);
    if (n.is_map()) return eval_map(n, path, depth);
    if (n.is_list()) return eval_list(n, path, depth);
    return Value(n);
  }

  // A value that must be present (NoValue is an error here).
  Result<Node, TemplateError> eval_required(const Node& n, const std::string& path, int depth) {
    auto v = eval(n, path, depth);
    if (!v) return fail(v.take_error());
    if (!*v) return fail(error_at(n.mark(), path, "AWS::NoValue is not allowed here"));
    return std::move(**v);
  }

  Result<std::string, TemplateError> eval_string(const Node& n, const std::string& path,
                                                 int depth) {
    auto v = eval_required(n, path, depth);
    if (!v) return fail(v.take_error());
    if (!v->is_scalar()) return fail(error_at(n.mark(), path, "expected a string"));
    return v->text();
  }

  Result<bool, TemplateError> eval_condition(const Node& n, const std::string& path, int depth);

  // Set by evaluate_conditions so Condition: NAME can evaluate lazily.
  std::function<Result<bool, TemplateError>(const std::string&, const Mark&, const std::string&)>
      named_condition;
  bool in_conditions = false;

 private:
  Result<Value, TemplateError> eval_map(const Node& n, const std::string& path, int depth) {
    Node out = Node::map(n.mark());
    for (const auto& e : n.entries()) {
      auto v = eval(e.value, join_path(path, e.key), depth + 1);
      if (!v) return fail(v.take_error());
      if (*v) out.entries().push_back({e.key, e.key_mark, std::move(**v)});
    }
    return Value(std::move(out));
  }

  Result<Value, TemplateError> eval_list(const Node& n, const std::string& path, int depth) {
    Node out = Node::list(n.mark());
    for (size_t i = 0; i < n.items().size(); ++i) {
      auto v = eval(n.items()[i], index_path(path, i), depth + 1);
      if (!v) return fail(v.take_error());
      if (*v) out.push_back(std::move(**v));
    }
    return Value(std::move(out));
  }

  Result<Value, TemplateError> eval_fn(const Node& n, const std::string& path, int depth) {
    std::string_view fn = n.intrinsic_name();
    const Node& arg = arg_of(n);
    std::string p = join_path(path, fn);
    if (fn == "Ref") return eval_ref(arg, p, depth);
    if (fn == "Fn::If") return eval_if(arg, p, depth);
    Result<Node, TemplateError> r = Node();
    if (fn == "Fn::GetAtt")
      r = eval_get_att(arg, p, depth);
    else if (fn == "Fn::Sub")
      r = eval_sub(arg, p, depth);
    else if (fn == "Fn::Join")
      r = eval_join(arg, p, depth);
    else if (fn == "Fn::Select")
      r = eval_select(arg, p, depth);
    else if (fn == "Fn::Split")
      r = eval_split(arg, p, depth);
    else if (fn == "Fn::FindInMap")
      r = eval_find_in_map(arg, p, depth);
    else if (fn == "Fn::Base64")
      r = eval_base64(arg, p, depth);
    else if (fn == "Fn::GetAZs")
      r = eval_get_azs(arg, p, depth);
    else if (is_condition_fn(fn))
      return fail(error_at(n.mark(), p, std::string(fn) + " can only be used in Conditions"));
    else
      return fail(error_at(n.mark(), p, std::string(fn) + " is not supported",
                           TemplateError::Code::kUnsupported));
    if (!r) return fail(r.take_error());
    r->set_mark(n.mark());
    return Value(std::move(*r));
  }

  Result<Node, TemplateError> list_args(const Node& arg, size_t min, size_t max,
                                        const std::string& path, std::string_view usage) {
    if (!arg.is_list() || arg.items().size() < min || arg.items().size() > max)
      return fail(error_at(arg.mark(), path, "expected " + std::string(usage)));
    return arg;
  }

  // Ref of a pseudo parameter, a parameter or a resource.
  Result<Value, TemplateError> eval_ref(const Node& arg, const std::string& path, int depth) {
    if (!arg.is_string()) return fail(error_at(arg.mark(), path, "Ref expects a name"));
    const std::string& name = arg.text();
    if (kPseudo.contains(name)) return pseudo(name, arg.mark(), path);
    if (auto it = ctx_.parameters.find(name); it != ctx_.parameters.end()) {
      if (it->second.is_list) return Value(string_list_node(it->second.values, arg.mark()));
      return Value(Node::string(it->second.values[0], arg.mark()));
    }
    if (ctx_.is_resource(name)) {
      if (auto err = check_resource_usable(name, arg.mark(), path)) return fail(std::move(*err));
      auto id = ctx_.resources.ref ? ctx_.resources.ref(name) : std::nullopt;
      if (!id) return fail(pending(name, arg.mark(), path));
      return Value(Node::string(*id, arg.mark()));
    }
    return fail(error_at(arg.mark(), path,
                         "'" + name + "' is not a parameter or resource of this template"));
  }

  Errors check_resource_usable(const std::string& name, const Mark& m, const std::string& path) {
    if (in_conditions)
      return error_at(m, path, "Conditions cannot refer to resources ('" + name + "')");
    const Resource* r = ctx_.tmpl ? ctx_.tmpl->resource(name) : nullptr;
    if (r && !ctx_.resource_enabled(*r))
      return error_at(
          m, path,
          "'" + name + "' is not created because its condition '" + r->condition + "' is false");
    return std::nullopt;
  }

  static TemplateError pending(const std::string& name, const Mark& m, const std::string& path) {
    return error_at(m, path, "the value of resource '" + name + "' is not known yet",
                    TemplateError::Code::kPending);
  }

  Result<Value, TemplateError> pseudo(const std::string& name, const Mark& m,
                                      const std::string& path) {
    const PseudoParameters& p = ctx_.pseudo;
    if (name == "AWS::NoValue") return Value();
    if (name == "AWS::NotificationARNs") return Value(Node::list(m));
    const std::string& v = name == "AWS::Region"      ? p.region
                           : name == "AWS::AccountId" ? p.account_id
                           : name == "AWS::StackName" ? p.stack_name
                           : name == "AWS::StackId"   ? p.stack_id
                           : name == "AWS::Partition" ? p.partition
                                                      : p.url_suffix;
    return Value(Node::string(v, m));
  }

  Result<Value, TemplateError> eval_if(const Node& arg, const std::string& path, int depth) {
    auto args = list_args(arg, 3, 3, path, "[condition, value-if-true, value-if-false]");
    if (!args) return fail(args.take_error());
    const Node& name = arg.items()[0];
    if (!name.is_string()) return fail(error_at(name.mark(), path, "expected a condition name"));
    auto cond = lookup_condition(name.text(), name.mark(), path);
    if (!cond) return fail(cond.take_error());
    size_t branch = *cond ? 1 : 2;
    return eval(arg.items()[branch], index_path(path, branch), depth + 1);
  }

  Result<bool, TemplateError> lookup_condition(const std::string& name, const Mark& m,
                                               const std::string& path) {
    if (named_condition) return named_condition(name, m, path);
    auto it = ctx_.conditions.find(name);
    if (it == ctx_.conditions.end())
      return fail(error_at(m, path, "condition '" + name + "' is not defined"));
    return it->second;
  }

  Result<Node, TemplateError> eval_get_att(const Node& arg, const std::string& path, int depth) {
    std::string res, attr;
    if (arg.is_string()) {
      auto dot = arg.text().find('.');
      if (dot == std::string::npos)
        return fail(error_at(arg.mark(), path, "expected [resource, attribute]"));
      res = arg.text().substr(0, dot);
      attr = arg.text().substr(dot + 1);
    } else {
      auto args = list_args(arg, 2, 2, path, "[resource, attribute]");
      if (!args) return fail(args.take_error());
      if (!arg.items()[0].is_string())
        return fail(error_at(arg.mark(), path, "expected a resource name"));
      res = arg.items()[0].text();
      auto a = eval_string(arg.items()[1], index_path(path, 1), depth + 1);
      if (!a) return fail(a.take_error());
      attr = std::move(*a);
    }
    return get_att(res, attr, arg.mark(), path);
  }

  Result<Node, TemplateError> get_att(const std::string& res, const std::string& attr,
                                      const Mark& m, const std::string& path) {
    if (!ctx_.is_resource(res))
      return fail(error_at(m, path, "'" + res + "' is not a resource of this template"));
    if (auto err = check_resource_usable(res, m, path)) return fail(std::move(*err));
    auto v = ctx_.resources.get_att ? ctx_.resources.get_att(res, attr) : std::nullopt;
    if (!v) return fail(pending(res + "." + attr, m, path));
    return std::move(*v);
  }

  Result<Node, TemplateError> eval_sub(const Node& arg, const std::string& path, int depth) {
    const Node* text = &arg;
    const Node* vars = nullptr;
    if (arg.is_list()) {
      auto args = list_args(arg, 2, 2, path, "a string or [string, {variables}]");
      if (!args) return fail(args.take_error());
      text = &arg.items()[0];
      vars = &arg.items()[1];
      if (!vars->is_map()) return fail(error_at(vars->mark(), path, "expected a map of variables"));
    }
    if (!text->is_string()) return fail(error_at(text->mark(), path, "expected a string"));
    auto parts = parse_sub(text->text());
    if (!parts) return fail(error_at(text->mark(), path, parts.error()));
    std::string out;
    for (const auto& part : *parts) {
      if (!part.is_var) {
        out += part.text;
        continue;
      }
      auto v = sub_var(part.text, vars, text->mark(), path, depth);
      if (!v) return fail(v.take_error());
      out += *v;
    }
    return Node::string(std::move(out), arg.mark());
  }

  Result<std::string, TemplateError> sub_var(const std::string& var, const Node* vars,
                                             const Mark& m, const std::string& path, int depth) {
    if (vars)
      if (const Node* v = vars->find(var)) return eval_string(*v, join_path(path, var), depth + 1);
    auto dot = var.find('.');
    if (dot != std::string::npos && !kPseudo.contains(var)) {
      auto v = get_att(var.substr(0, dot), var.substr(dot + 1), m, path);
      if (!v) return fail(v.take_error());
      if (!v->is_scalar()) return fail(error_at(m, path, "${" + var + "} is not a string"));
      return v->text();
    }
    auto v = eval_ref(Node::string(var, m), path, depth);
    if (!v) return fail(v.take_error());
    if (!*v || !(*v)->is_scalar()) return fail(error_at(m, path, "${" + var + "} is not a string"));
    return (*v)->text();
  }

  Result<Node, TemplateError> eval_join(const Node& arg, const std::string& path, int depth) {
    auto args = list_args(arg, 2, 2, path, "[delimiter, [values]]");
    if (!args) return fail(args.take_error());
    auto delim = eval_string(arg.items()[0], index_path(path, 0), depth + 1);
    if (!delim) return fail(delim.take_error());
    auto list = eval_required(arg.items()[1], index_path(path, 1), depth + 1);
    if (!list) return fail(list.take_error());
    if (!list->is_list()) return fail(error_at(arg.mark(), path, "expected a list of values"));
    std::string out;
    for (size_t i = 0; i < list->items().size(); ++i) {
      const Node& item = list->items()[i];
      if (!item.is_scalar() && !item.is_null())
        return fail(error_at(item.mark(), index_path(path, 1), "Fn::Join values must be strings"));
      if (i) out += *delim;
      out += item.text();
    }
    return Node::string(std::move(out), arg.mark());
  }

  Result<Node, TemplateError> eval_select(const Node& arg, const std::string& path, int depth) {
    auto args = list_args(arg, 2, 2, path, "[index, [values]]");
    if (!args) return fail(args.take_error());
    auto index = eval_string(arg.items()[0], index_path(path, 0), depth + 1);
    if (!index) return fail(index.take_error());
    auto list = eval_required(arg.items()[1], index_path(path, 1), depth + 1);
    if (!list) return fail(list.take_error());
    size_t i = 0;
    auto [p, ec] = std::from_chars(index->data(), index->data() + index->size(), i);
    if (ec != std::errc() || p != index->data() + index->size())
      return fail(error_at(arg.mark(), path, "index '" + *index + "' is not a number"));
    if (!list->is_list()) return fail(error_at(arg.mark(), path, "expected a list of values"));
    if (i >= list->items().size())
      return fail(error_at(arg.mark(), path,
                           "index " + *index + " is out of range for a list of " +
                               std::to_string(list->items().size())));
    return list->items()[i];
  }

  Result<Node, TemplateError> eval_split(const Node& arg, const std::string& path, int depth) {
    auto args = list_args(arg, 2, 2, path, "[delimiter, string]");
    if (!args) return fail(args.take_error());
    auto delim = eval_string(arg.items()[0], index_path(path, 0), depth + 1);
    if (!delim) return fail(delim.take_error());
    auto s = eval_string(arg.items()[1], index_path(path, 1), depth + 1);
    if (!s) return fail(s.take_error());
    if (delim->empty()) return fail(error_at(arg.mark(), path, "the delimiter is empty"));
    std::vector<std::string> parts;
    size_t start = 0;
    for (;;) {
      auto pos = s->find(*delim, start);
      parts.push_back(s->substr(start, pos == std::string::npos ? pos : pos - start));
      if (pos == std::string::npos) break;
      start = pos + delim->size();
    }
    return string_list_node(parts, arg.mark());
  }

  Result<Node, TemplateError> eval_find_in_map(const Node& arg, const std::string& path,
                                               int depth) {
    auto args = list_args(arg, 3, 3, path, "[MapName, TopLevelKey, SecondLevelKey]");
    if (!args) return fail(args.take_error());
    std::string keys[3];
    for (size_t i = 0; i < 3; ++i) {
      auto k = eval_string(arg.items()[i], index_path(path, i), depth + 1);
      if (!k) return fail(k.take_error());
      keys[i] = std::move(*k);
    }
    const Node* node = ctx_.tmpl ? &ctx_.tmpl->mappings : nullptr;
    std::string where = "Mappings";
    for (const auto& k : keys) {
      node = node && node->is_map() ? node->find(k) : nullptr;
      where += "." + k;
      if (!node) return fail(error_at(arg.mark(), path, "mapping " + where + " does not exist"));
    }
    return *node;
  }

  Result<Node, TemplateError> eval_base64(const Node& arg, const std::string& path, int depth) {
    auto s = eval_string(arg, path, depth + 1);
    if (!s) return fail(s.take_error());
    return Node::string(base64_encode(*s), arg.mark());
  }

  Result<Node, TemplateError> eval_get_azs(const Node& arg, const std::string& path, int depth) {
    auto region = eval_string(arg, path, depth + 1);
    if (!region) return fail(region.take_error());
    std::string r = region->empty() ? ctx_.pseudo.region : *region;
    std::vector<std::string> azs = ctx_.pseudo.availability_zones;
    if (azs.empty() || r != ctx_.pseudo.region) azs = {r + "a", r + "b", r + "c"};
    return string_list_node(azs, arg.mark());
  }

  const Context& ctx_;
};

// Fn::Equals compares values as CloudFormation does: scalars by their text
// (so 1 and "1" are equal), lists item by item.
bool same_value(const Node& a, const Node& b) {
  if (a.is_scalar() && b.is_scalar()) return a.text() == b.text();
  if (a.is_list() && b.is_list()) {
    if (a.items().size() != b.items().size()) return false;
    for (size_t i = 0; i < a.items().size(); ++i)
      if (!same_value(a.items()[i], b.items()[i])) return false;
    return true;
  }
  return a == b;
}

}  // namespace

Result<bool, TemplateError> Evaluator::eval_condition(const Node& n, const std::string& path,
                                                      int depth) {
  if (depth > kMaxDepth) return fail(error_at(n.mark(), path, "nesting too deep"));
  std::string_view fn = n.intrinsic_name();
  if (!is_condition_fn(fn))
    return fail(error_at(n.mark(), path,
                         "expected a condition function (Fn::Equals, Fn::And, Fn::Or, Fn::Not, "
                         "Condition)"));
  const Node& arg = arg_of(n);
  std::string p = join_path(path, fn);
  if (fn == "Condition") {
    if (!arg.is_string()) return fail(error_at(arg.mark(), p, "expected a condition name"));
    return lookup_condition(arg.text(), arg.mark(), p);
  }
  if (fn == "Fn::Equals") {
    auto args = list_args(arg, 2, 2, p, "[value, value]");
    if (!args) return fail(args.take_error());
    auto a = eval_required(arg.items()[0], index_path(p, 0), depth + 1);
    if (!a) return fail(a.take_error());
    auto b = eval_required(arg.items()[1], index_path(p, 1), depth + 1);
    if (!b) return fail(b.take_error());
    return same_value(*a, *b);
  }
  bool is_not = fn == "Fn::Not";
  auto args = is_not ? list_args(arg, 1, 1, p, "[condition]")
                     : list_args(arg, 2, 10, p, "a list of 2 to 10 conditions");
  if (!args) return fail(args.take_error());
  bool is_and = fn == "Fn::And";
  bool acc = is_and;
  for (size_t i = 0; i < arg.items().size(); ++i) {
    auto v = eval_condition(arg.items()[i], index_path(p, i), depth + 1);
    if (!v) return fail(v.take_error());
    if (is_not) return !*v;
    acc = is_and ? (acc && *v) : (acc || *v);
  }
  return acc;
}

Result<std::map<std::string, bool, std::less<>>, TemplateError> evaluate_conditions(
    const Context& ctx) {
  std::map<std::string, bool, std::less<>> done;
  std::set<std::string> in_progress;
  Evaluator ev(ctx);
  ev.in_conditions = true;
  const Node empty = Node::map();
  const Node& conds = ctx.tmpl ? ctx.tmpl->conditions : empty;
  // Conditions may refer to each other in any order; evaluate on demand and
  // refuse cycles.
  ev.named_condition = [&](const std::string& name, const Mark& m,
                           const std::string& path) -> Result<bool, TemplateError> {
    if (auto it = done.find(name); it != done.end()) return it->second;
    const Node* def = conds.find(name);
    if (!def) return fail(error_at(m, path, "condition '" + name + "' is not defined"));
    if (!in_progress.insert(name).second)
      return fail(error_at(m, path, "condition '" + name + "' refers to itself"));
    auto v = ev.eval_condition(*def, "Conditions." + name, 0);
    in_progress.erase(name);
    if (!v) return fail(v.take_error());
    done[name] = *v;
    return *v;
  };
  for (const auto& e : conds.entries()) {
    auto v = ev.named_condition(e.key, e.key_mark, "Conditions." + e.key);
    if (!v) return fail(v.take_error());
  }
  return done;
}

Result<Context, TemplateError> make_context(const Template& t, PseudoParameters pseudo,
                                            const std::map<std::string, std::string>& overrides) {
  Context ctx;
  ctx.tmpl = &t;
  ctx.pseudo = std::move(pseudo);
  auto params = bind_parameters(t, overrides);
  if (!params) return fail(params.take_error());
  ctx.parameters = std::move(*params);
  auto conds = evaluate_conditions(ctx);
  if (!conds) return fail(conds.take_error());
  ctx.conditions = std::move(*conds);
  return ctx;
}

Result<Node, TemplateError> resolve(const Node& n, const Context& ctx, const std::string& path) {
  Evaluator ev(ctx);
  auto v = ev.eval(n, path);
  if (!v) return fail(v.take_error());
  if (!*v) return Node::null(n.mark());
  return std::move(**v);
}

// ---------------------------------------------------------------------------
// References

namespace {

using Conditions = std::map<std::string, bool, std::less<>>;

void collect(const Node& n, const std::string& path, const Conditions* conds, int depth,
             std::vector<Reference>& out);

void collect_sub(const Node& arg, const std::string& path, const Conditions* conds, int depth,
                 std::vector<Reference>& out) {
  const Node* text = &arg;
  const Node* vars = nullptr;
  if (arg.is_list() && arg.items().size() == 2) {
    text = &arg.items()[0];
    vars = &arg.items()[1];
    collect(*vars, path, conds, depth + 1, out);
  }
  if (!text->is_string()) return;
  auto parts = parse_sub(text->text());
  if (!parts) return;
  for (const auto& p : *parts) {
    if (!p.is_var || (vars && vars->is_map() && vars->find(p.text))) continue;
    auto dot = p.text.find('.');
    if (dot == std::string::npos || kPseudo.contains(p.text))
      out.push_back({p.text, "", text->mark(), path});
    else
      out.push_back({p.text.substr(0, dot), p.text.substr(dot + 1), text->mark(), path});
  }
}

void collect_fn(const Node& n, const std::string& path, const Conditions* conds, int depth,
                std::vector<Reference>& out) {
  std::string_view fn = n.intrinsic_name();
  const Node& arg = arg_of(n);
  std::string p = join_path(path, fn);
  if (fn == "Ref" && arg.is_string()) return out.push_back({arg.text(), "", arg.mark(), p});
  if (fn == "Fn::GetAtt") {
    if (arg.is_string()) {
      auto dot = arg.text().find('.');
      std::string attr = dot == std::string::npos ? "" : arg.text().substr(dot + 1);
      return out.push_back({arg.text().substr(0, dot), attr, arg.mark(), p});
    }
    if (arg.is_list() && !arg.items().empty() && arg.items()[0].is_string()) {
      const Node* a = arg.items().size() > 1 ? &arg.items()[1] : nullptr;
      out.push_back({arg.items()[0].text(), a && a->is_scalar() ? a->text() : "", arg.mark(), p});
      if (a) collect(*a, p, conds, depth + 1, out);
    }
    return;
  }
  if (fn == "Fn::Sub") return collect_sub(arg, p, conds, depth, out);
  if (fn == "Fn::If" && conds && arg.is_list() && arg.items().size() == 3 &&
      arg.items()[0].is_string()) {
    // Only the branch taken is a dependency once conditions are known.
    auto it = conds->find(arg.items()[0].text());
    if (it != conds->end()) {
      size_t branch = it->second ? 1 : 2;
      return collect(arg.items()[branch], index_path(p, branch), conds, depth + 1, out);
    }
  }
  collect(arg, p, conds, depth + 1, out);
}

void collect(const Node& n, const std::string& path, const Conditions* conds, int depth,
             std::vector<Reference>& out) {
  if (depth > kMaxDepth) return;
  if (is_value_intrinsic(n)) return collect_fn(n, path, conds, depth, out);
  for (size_t i = 0; i < n.items().size(); ++i)
    collect(n.items()[i], index_path(path, i), conds, depth + 1, out);
  for (const auto& e : n.entries()) collect(e.value, join_path(path, e.key), conds, depth + 1, out);
}

// Condition names used by Fn::If anywhere in a node.
void collect_if_conditions(const Node& n, const std::string& path, int depth,
                           std::vector<Reference>& out) {
  if (depth > kMaxDepth) return;
  if (n.intrinsic_name() == "Fn::If") {
    const Node& arg = arg_of(n);
    if (arg.is_list() && !arg.items().empty() && arg.items()[0].is_string())
      out.push_back({arg.items()[0].text(), "", arg.items()[0].mark(), join_path(path, "Fn::If")});
  }
  for (size_t i = 0; i < n.items().size(); ++i)
    collect_if_conditions(n.items()[i], index_path(path, i), depth + 1, out);
  for (const auto& e : n.entries())
    collect_if_conditions(e.value, join_path(path, e.key), depth + 1, out);
}

struct RefChecker {
  const Template& t;
  const std::set<std::string, std::less<>>& generated;
  std::vector<TemplateError> errors;

  bool is_resource(std::string_view id) const {
    return t.resource(id) != nullptr || generated.contains(id);
  }

  void check(const Reference& r) {
    if (!r.attribute.empty() || r.path.ends_with("Fn::GetAtt")) {
      if (!is_resource(r.target))
        errors.push_back(error_at(
            r.mark, r.path,
            "Fn::GetAtt refers to '" + r.target + "', which is not a resource of this template"));
      return;
    }
    if (kPseudo.contains(r.target) || t.parameter(r.target) || is_resource(r.target)) return;
    errors.push_back(error_at(r.mark, r.path,
                              "'" + r.target +
                                  "' is not a parameter or resource of this template "
                                  "(unresolved reference)"));
  }

  void check_node(const Node& n, const std::string& path) {
    std::vector<Reference> refs;
    collect(n, path, nullptr, 0, refs);
    for (const auto& r : refs) check(r);
    std::vector<Reference> conds;
    collect_if_conditions(n, path, 0, conds);
    for (const auto& c : conds) check_condition(c.target, c.mark, c.path);
  }

  void check_condition(const std::string& name, const Mark& m, const std::string& path) {
    if (!t.conditions.find(name))
      errors.push_back(error_at(m, path, "condition '" + name + "' is not defined"));
  }
};

}  // namespace

std::vector<Reference> references(const Node& n, const std::string& path) {
  std::vector<Reference> out;
  collect(n, path, nullptr, 0, out);
  return out;
}

std::vector<TemplateError> check_references(const Template& t,
                                            const std::set<std::string, std::less<>>& generated) {
  RefChecker c{t, generated, {}};
  for (const auto& r : t.resources) {
    c.check_node(r.properties, r.path() + ".Properties");
    for (const auto& d : r.depends_on)
      if (!c.is_resource(d))
        c.errors.push_back(error_at(r.mark, r.path() + ".DependsOn",
                                    "DependsOn names '" + d + "', which is not a resource"));
    if (!r.condition.empty()) c.check_condition(r.condition, r.mark, r.path() + ".Condition");
  }
  for (const auto& o : t.outputs) {
    c.check_node(o.value, "Outputs." + o.name + ".Value");
    if (o.export_name) c.check_node(*o.export_name, "Outputs." + o.name + ".Export.Name");
    if (!o.condition.empty()) c.check_condition(o.condition, o.mark, "Outputs." + o.name);
  }
  return std::move(c.errors);
}

// ---------------------------------------------------------------------------
// Dependencies and order

namespace {

// An Api/HttpApi event's RestApiId/ApiId names the API the function is
// routed from: the API depends on the function (SAM wires it that way), not
// the other way round, so those references are not dependencies of the function.
Node without_api_event_refs(const Resource& r) {
  Node props = r.properties;
  if (r.type != "AWS::Serverless::Function") return props;
  Node* events = props.find("Events");
  if (!events || !events->is_map()) return props;
  for (auto& e : events->entries()) {
    Node* p = e.value.is_map() ? e.value.find("Properties") : nullptr;
    if (!p || !p->is_map()) continue;
    p->erase("RestApiId");
    p->erase("ApiId");
  }
  return props;
}

}  // namespace

std::map<std::string, std::set<std::string>, std::less<>> dependencies(const Template& t,
                                                                       const Conditions* conds) {
  std::map<std::string, std::set<std::string>, std::less<>> out;
  auto enabled = [&](const Resource& r) {
    if (!conds || r.condition.empty()) return true;
    auto it = conds->find(r.condition);
    return it != conds->end() && it->second;
  };
  for (const auto& r : t.resources) {
    if (!enabled(r)) continue;
    auto& deps = out[r.logical_id];
    std::vector<Reference> refs;
    collect(without_api_event_refs(r), r.path() + ".Properties", conds, 0, refs);
    for (const auto& ref : refs)
      if (const Resource* target = t.resource(ref.target); target && enabled(*target))
        deps.insert(ref.target);
    for (const auto* list : {&r.depends_on, &r.implied_depends_on})
      for (const auto& d : *list)
        if (const Resource* target = t.resource(d); target && enabled(*target)) deps.insert(d);
  }
  return out;
}

namespace {

// Finds a cycle among the resources not yet ordered, as "A -> B -> A".
std::vector<std::string> find_cycle(
    const std::vector<std::string>& remaining,
    const std::map<std::string, std::set<std::string>, std::less<>>& deps) {
  std::set<std::string> left(remaining.begin(), remaining.end());
  std::vector<std::string> path;
  std::string at = remaining.front();
  // Every remaining resource has a remaining dependency, so walking them must
  // come back to a resource already on the path.
  while (std::find(path.begin(), path.end(), at) == path.end()) {
    path.push_back(at);
    const auto& d = deps.at(at);
    auto next = std::find_if(d.begin(), d.end(), [&](const auto& x) { return left.contains(x); });
    if (next == d.end()) return path;
    at = *next;
  }
  std::vector<std::string> cycle(std::find(path.begin(), path.end(), at), path.end());
  cycle.push_back(at);
  return cycle;
}

}  // namespace

Result<std::vector<std::string>, TemplateError> creation_order(
    const Template& t, const std::map<std::string, std::set<std::string>, std::less<>>& deps) {
  std::vector<std::string> remaining;
  for (const auto& r : t.resources)
    if (deps.contains(r.logical_id)) remaining.push_back(r.logical_id);
  std::vector<std::string> order;
  std::set<std::string, std::less<>> placed;
  while (!remaining.empty()) {
    auto ready = std::find_if(remaining.begin(), remaining.end(), [&](const std::string& id) {
      const auto& d = deps.at(id);
      return std::all_of(d.begin(), d.end(),
                         [&](const auto& x) { return placed.contains(x) || !deps.contains(x); });
    });
    if (ready == remaining.end()) {
      auto cycle = find_cycle(remaining, deps);
      std::string text;
      for (size_t i = 0; i < cycle.size(); ++i) text += (i ? " -> " : "") + cycle[i];
      const Resource* first = t.resource(cycle.front());
      return fail(error_at(first ? first->mark : Mark{}, first ? first->path() : "Resources",
                           "circular dependency between resources: " + text));
    }
    placed.insert(*ready);
    order.push_back(*ready);
    remaining.erase(ready);
  }
  return order;
}

}  // namespace nimbus::deploy
