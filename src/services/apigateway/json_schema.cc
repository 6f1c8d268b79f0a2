#include "services/apigateway/json_schema.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <map>
#include <regex>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace nimbus::services::apigateway {

namespace json = boost::json;

struct JsonSchema::State {
  json::value root;
  std::map<std::string, std::regex, std::less<>> patterns;  // compiled once, shared
};

namespace {

constexpr size_t kMaxPatternLength = 1000;
constexpr unsigned long kMaxRepeat = 1000;
constexpr size_t kMaxPatternInput = 10000;
constexpr size_t kMaxEvaluations = 200000;
constexpr int kMaxDepth = 128;

json::parse_options parse_opts() {
  json::parse_options o;
  o.max_depth = 256;  // request bodies may nest deeper than boost's default of 32
  return o;
}

std::optional<json::value> parse_json(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec, {}, parse_opts());
  if (ec) return std::nullopt;
  return v;
}

// ---- text of values in messages (compact JSON, numbers as the validator prints them)

std::string number_text(const json::value& v) {
  if (v.is_int64()) return std::to_string(v.get_int64());
  if (v.is_uint64()) return std::to_string(v.get_uint64());
  double d = v.get_double();
  char buf[64];
  if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.1f", d);
    return buf;
  }
  auto r = std::to_chars(buf, buf + sizeof buf, d);
  return std::string(buf, r.ptr);
}

std::string text(const json::value& v) {
  if (v.is_number()) return number_text(v);
  if (v.is_array()) {
    std::string out = "[";
    for (size_t i = 0; i < v.get_array().size(); ++i) {
      if (i) out += ',';
      out += text(v.get_array()[i]);
    }
    return out + "]";
  }
  if (v.is_object()) {
    std::string out = "{";
    bool first = true;
    for (const auto& [k, m] : v.get_object()) {
      if (!first) out += ',';
      first = false;
      out += json::serialize(json::value(json::string(k))) + ":" + text(m);
    }
    return out + "}";
  }
  return json::serialize(v);
}

std::string string_list(std::vector<std::string> names) {
  std::sort(names.begin(), names.end());
  json::array a;
  for (auto& n : names) a.emplace_back(n);
  return json::serialize(a);
}

// ---- JSON values

std::string type_name(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return "boolean";
    case json::kind::int64:
    case json::kind::uint64:
      return "integer";
    case json::kind::double_:
      return "number";
    case json::kind::string:
      return "string";
    case json::kind::array:
      return "array";
    case json::kind::object:
      return "object";
  }
  return "null";
}

bool type_matches(std::string_view type, const json::value& v) {
  std::string actual = type_name(v);
  return type == actual || (type == "number" && actual == "integer");
}

double as_double(const json::value& v) {
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  return v.get_double();
}

// Equality as JSON Schema defines it: numbers by value, objects unordered.
bool json_equal(const json::value& a, const json::value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_double() || b.is_double()) return as_double(a) == as_double(b);
    if (a.is_int64() && b.is_int64()) return a.get_int64() == b.get_int64();
    if (a.is_uint64() && b.is_uint64()) return a.get_uint64() == b.get_uint64();
    const json::value& s = a.is_int64() ? a : b;
    const json::value& u = a.is_int64() ? b : a;
    return s.get_int64() >= 0 && static_cast<uint64_t>(s.get_int64()) == u.get_uint64();
  }
  if (a.kind() != b.kind()) return false;
  if (a.is_array()) {
    const auto &x = a.get_array(), &y = b.get_array();
    if (x.size() != y.size()) return false;
    for (size_t i = 0; i < x.size(); ++i)
      if (!json_equal(x[i], y[i])) return false;
    return true;
  }
  if (a.is_object()) {
    const auto &x = a.get_object(), &y = b.get_object();
    if (x.size() != y.size()) return false;
    for (const auto& [k, v] : x) {
      const json::value* w = y.if_contains(k);
      if (!w || !json_equal(v, *w)) return false;
    }
    return true;
  }
  return a == b;
}

size_t code_points(std::string_view s) {
  return static_cast<size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

std::optional<uint64_t> count(const json::object& s, std::string_view key) {
  const json::value* v = s.if_contains(key);
  if (!v) return std::nullopt;
  if (v->is_int64() && v->get_int64() >= 0) return static_cast<uint64_t>(v->get_int64());
  if (v->is_uint64()) return v->get_uint64();
  if (v->is_double() && v->get_double() >= 0)  // clamped: the cast of a huge double is undefined
    return static_cast<uint64_t>(std::min(v->get_double(), 9.0e18));
  return std::nullopt;
}

// ---- $ref

// Resolves "#" or "#/json/pointer" (with ~0, ~1 and %-escapes) in `root`.
const json::value* resolve_ref(const json::value& root, std::string_view ref) {
  if (!ref.starts_with('#')) return nullptr;
  ref.remove_prefix(1);
  const json::value* cur = &root;
  if (ref.empty()) return cur;
  if (!ref.starts_with('/')) return nullptr;
  ref.remove_prefix(1);
  for (;;) {
    auto slash = ref.find('/');
    std::string token = http::url_decode(ref.substr(0, slash));
    std::string unescaped;
    for (size_t i = 0; i < token.size(); ++i) {
      if (token[i] == '~' && i + 1 < token.size() && (token[i + 1] == '0' || token[i + 1] == '1')) {
        unescaped += token[i + 1] == '0' ? '~' : '/';
        ++i;
      } else {
        unescaped += token[i];
      }
    }
    if (cur->is_object()) {
      cur = cur->get_object().if_contains(unescaped);
    } else if (cur->is_array()) {
      size_t idx = 0;
      auto r = std::from_chars(unescaped.data(), unescaped.data() + unescaped.size(), idx);
      if (r.ec != std::errc() || r.ptr != unescaped.data() + unescaped.size() ||
          idx >= cur->get_array().size())
        return nullptr;
      cur = &cur->get_array()[idx];
    } else {
      return nullptr;
    }
    if (!cur) return nullptr;
    if (slash == std::string_view::npos) return cur;
    ref.remove_prefix(slash + 1);
  }
}

// ---- parse-time checks

Result<void, std::string> check_pattern(std::string_view p) {
  if (p.size() > kMaxPatternLength)
    return fail("pattern longer than " + std::to_string(kMaxPatternLength) + " characters");
  // Large repeat counts blow up the compiled automaton.
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] != '{' || (i > 0 && p[i - 1] == '\\')) continue;
    unsigned long n = 0;
    size_t j = i + 1;
    while (j < p.size() && (std::isdigit(static_cast<unsigned char>(p[j])) || p[j] == ',')) {
      if (p[j] == ',') {
        n = 0;
      } else {
        n = n * 10 + static_cast<unsigned long>(p[j] - '0');
        if (n > kMaxRepeat)
          return fail("pattern \"" + std::string(p) + "\" has a repeat count above " +
                      std::to_string(kMaxRepeat));
      }
      ++j;
    }
  }
  return {};
}

Result<void, std::string> compile_pattern(std::string_view p, JsonSchema::State& st) {
  if (st.patterns.contains(p)) return {};
  if (auto c = check_pattern(p); !c) return c;
  auto flags = std::regex::ECMAScript;
#if defined(__GLIBCXX__)
  // libstdc++'s default executor backtracks recursively (stack depth grows
  // with the input, time can be exponential); the polynomial one does not.
  flags |= std::regex_constants::__polynomial;
#endif
  try {
    st.patterns.emplace(std::string(p), std::regex(std::string(p), flags));
  } catch (const std::regex_error& e) {
    return fail("pattern \"" + std::string(p) + "\" is not a supported regular expression");
  }
  return {};
}

// Walks the schema positions of `s`: compiles patterns, resolves $refs.
Result<void, std::string> prepare(const json::value& s, JsonSchema::State& st, int depth) {
  if (depth > kMaxDepth) return fail(std::string("schema nests too deep"));
  if (!s.is_object()) return {};
  const json::object& o = s.get_object();
  auto sub = [&](const json::value& v) { return prepare(v, st, depth + 1); };
  auto each_member = [&](std::string_view key) -> Result<void, std::string> {
    if (const json::value* m = o.if_contains(key); m && m->is_object())
      for (const auto& [_, v] : m->get_object())
        if (auto r = sub(v); !r) return r;
    return {};
  };
  auto each_element = [&](std::string_view key) -> Result<void, std::string> {
    if (const json::value* m = o.if_contains(key); m && m->is_array())
      for (const auto& v : m->get_array())
        if (auto r = sub(v); !r) return r;
    return {};
  };
  if (const json::value* r = o.if_contains("$ref")) {
    if (!r->is_string() || !resolve_ref(st.root, r->get_string()))
      return fail("$ref " + text(*r) + " does not resolve inside the schema");
  }
  if (const json::value* p = o.if_contains("pattern"); p && p->is_string())
    if (auto r = compile_pattern(p->get_string(), st); !r) return r;
  if (const json::value* pp = o.if_contains("patternProperties"); pp && pp->is_object())
    for (const auto& [k, _] : pp->get_object())
      if (auto r = compile_pattern(k, st); !r) return r;
  for (auto key : {"properties", "patternProperties", "definitions", "dependencies"})
    if (auto r = each_member(key); !r) return r;
  for (auto key : {"allOf", "anyOf", "oneOf", "items"})
    if (auto r = each_element(key); !r) return r;
  for (auto key : {"additionalProperties", "additionalItems", "not", "items"})
    if (const json::value* v = o.if_contains(key))
      if (auto r = sub(*v); !r) return r;
  return {};
}

// ---- validation

class Validator {
 public:
  explicit Validator(const JsonSchema::State& st) : st_(st) {}

  std::vector<std::string> run(const json::value& instance) {
    std::vector<std::string> out;
    check(st_.root, instance, out, 0);
    if (exhausted_) out.emplace_back("validation stopped: schema too complex for this instance");
    return out;
  }

 private:
  void check(const json::value& schema, const json::value& inst, std::vector<std::string>& out,
             int depth) {
    if (exhausted_ || !schema.is_object()) return;
    if (++evaluations_ > kMaxEvaluations || depth > kMaxDepth) {
      exhausted_ = true;
      return;
    }
    const json::object& s = schema.get_object();
    if (const json::value* ref = s.if_contains("$ref"); ref && ref->is_string()) {
      // Draft-04: a $ref replaces its whole schema object.
      if (const json::value* target = resolve_ref(st_.root, ref->get_string()))
        check(*target, inst, out, depth + 1);
      return;
    }
    check_type(s, inst, out);
    check_enum(s, inst, out);
    check_combinators(s, inst, out, depth);
    if (inst.is_number()) check_number(s, inst, out);
    if (inst.is_string()) check_string(s, inst.get_string(), out);
    if (inst.is_array()) check_array(s, inst.get_array(), out, depth);
    if (inst.is_object()) check_object(s, inst.get_object(), out, depth);
  }

  bool passes(const json::value& schema, const json::value& inst, int depth) {
    std::vector<std::string> tmp;
    check(schema, inst, tmp, depth + 1);
    return tmp.empty();
  }

  void check_type(const json::object& s, const json::value& inst, std::vector<std::string>& out) {
    const json::value* t = s.if_contains("type");
    if (!t) return;
    std::vector<std::string> allowed;
    if (t->is_string()) allowed.emplace_back(t->get_string());
    if (t->is_array())
      for (const auto& e : t->get_array())
        if (e.is_string()) allowed.emplace_back(e.get_string());
    for (const auto& a : allowed)
      if (type_matches(a, inst)) return;
    out.push_back("instance type (" + type_name(inst) +
                  ") does not match any allowed primitive type (allowed: " + string_list(allowed) +
                  ")");
  }

  void check_enum(const json::object& s, const json::value& inst, std::vector<std::string>& out) {
    const json::value* e = s.if_contains("enum");
    if (!e || !e->is_array()) return;
    for (const auto& v : e->get_array())
      if (json_equal(v, inst)) return;
    out.push_back("instance value (" + text(inst) +
                  ") not found in enum (possible values: " + text(*e) + ")");
  }

  void check_combinators(const json::object& s, const json::value& inst,
                         std::vector<std::string>& out, int depth) {
    auto matched = [&](const json::array& schemas) {
      size_t n = 0;
      for (const auto& sub : schemas) n += passes(sub, inst, depth);
      return n;
    };
    if (const json::value* all = s.if_contains("allOf"); all && all->is_array()) {
      size_t n = matched(all->get_array());
      if (n != all->get_array().size())
        out.push_back("instance failed to match all required schemas (matched only " +
                      std::to_string(n) + " out of " + std::to_string(all->get_array().size()) +
                      ")");
    }
    if (const json::value* any = s.if_contains("anyOf"); any && any->is_array()) {
      bool ok = std::any_of(any->get_array().begin(), any->get_array().end(),
                            [&](const json::value& sub) { return passes(sub, inst, depth); });
      if (!ok)
        out.push_back("instance failed to match at least one required schema among " +
                      std::to_string(any->get_array().size()));
    }
    if (const json::value* one = s.if_contains("oneOf"); one && one->is_array()) {
      size_t n = matched(one->get_array());
      if (n != 1)
        out.push_back("instance failed to match exactly one schema (matched " + std::to_string(n) +
                      " out of " + std::to_string(one->get_array().size()) + ")");
    }
    if (const json::value* no = s.if_contains("not"); no && no->is_object()) {
      if (passes(*no, inst, depth))
        out.emplace_back("instance matched a schema which it should not have");
    }
  }

  void check_number(const json::object& s, const json::value& inst, std::vector<std::string>& out) {
    double x = as_double(inst);
    auto flag = [&](std::string_view k) {
      const json::value* v = s.if_contains(k);
      return v && v->is_bool() && v->get_bool();
    };
    if (const json::value* m = s.if_contains("minimum"); m && m->is_number()) {
      double lo = as_double(*m);
      if (x < lo)
        out.push_back("numeric instance is lower than the required minimum (minimum: " +
                      number_text(*m) + ", found: " + number_text(inst) + ")");
      else if (x == lo && flag("exclusiveMinimum"))
        out.push_back("numeric instance is not strictly greater than the required minimum " +
                      number_text(*m));
    }
    if (const json::value* m = s.if_contains("maximum"); m && m->is_number()) {
      double hi = as_double(*m);
      if (x > hi)
        out.push_back("numeric instance is greater than the required maximum (maximum: " +
                      number_text(*m) + ", found: " + number_text(inst) + ")");
      else if (x == hi && flag("exclusiveMaximum"))
        out.push_back("numeric instance is not strictly lower than the required maximum " +
                      number_text(*m));
    }
    if (const json::value* m = s.if_contains("multipleOf"); m && m->is_number()) {
      bool ok;
      if (inst.is_int64() && m->is_int64() && m->get_int64() > 0) {
        ok = inst.get_int64() % m->get_int64() == 0;
      } else {
        double d = as_double(*m);
        double q = d > 0 ? x / d : 0;
        ok = d <= 0 || !std::isfinite(q) ||
             std::fabs(q - std::round(q)) <= 1e-9 * std::max(1.0, std::fabs(q));
      }
      if (!ok)
        out.push_back("remainder of division is not zero (" + number_text(inst) + " / " +
                      number_text(*m) + ")");
    }
  }

  void check_string(const json::object& s, std::string_view str, std::vector<std::string>& out) {
    size_t len = code_points(str);
    if (auto min = count(s, "minLength"); min && len < *min)
      out.push_back("string \"" + std::string(str) + "\" is too short (length: " +
                    std::to_string(len) + ", required minimum: " + std::to_string(*min) + ")");
    if (auto max = count(s, "maxLength"); max && len > *max)
      out.push_back("string \"" + std::string(str) + "\" is too long (length: " +
                    std::to_string(len) + ", maximum allowed: " + std::to_string(*max) + ")");
    if (const json::value* p = s.if_contains("pattern"); p && p->is_string())
      if (auto m = search(p->get_string(), str); !m.empty()) out.push_back(std::move(m));
  }

  // Empty when `str` matches `pattern` (unanchored, as ECMA 262 test()).
  std::string search(std::string_view pattern, std::string_view str) {
    auto it = st_.patterns.find(pattern);
    if (it == st_.patterns.end()) return {};  // refused at parse time; never reached
    if (str.size() > kMaxPatternInput)
      return "string is too long (" + std::to_string(str.size()) +
             " bytes) to be checked against ECMA 262 regex \"" + std::string(pattern) + "\"";
    try {
      if (std::regex_search(str.begin(), str.end(), it->second)) return {};
    } catch (const std::regex_error&) {
      // Out of resources on this input: report it as not matching.
    }
    return "ECMA 262 regex \"" + std::string(pattern) + "\" does not match input string \"" +
           std::string(str) + "\"";
  }

  void check_array(const json::object& s, const json::array& a, std::vector<std::string>& out,
                   int depth) {
    if (auto min = count(s, "minItems"); min && a.size() < *min)
      out.push_back("array is too short: must have at least " + std::to_string(*min) +
                    " elements but instance has " + std::to_string(a.size()) + " elements");
    if (auto max = count(s, "maxItems"); max && a.size() > *max)
      out.push_back("array is too long: must have at most " + std::to_string(*max) +
                    " elements but instance has " + std::to_string(a.size()) + " elements");
    if (const json::value* u = s.if_contains("uniqueItems"); u && u->is_bool() && u->get_bool()) {
      bool dup = false;
      for (size_t i = 0; i < a.size() && !dup; ++i)
        for (size_t j = i + 1; j < a.size() && !dup; ++j) dup = json_equal(a[i], a[j]);
      if (dup) out.emplace_back("array must not contain duplicate elements");
    }
    const json::value* items = s.if_contains("items");
    if (!items) return;
    if (items->is_object()) {
      for (const auto& e : a) check(*items, e, out, depth + 1);
      return;
    }
    if (!items->is_array()) return;
    const json::array& tuple = items->get_array();
    for (size_t i = 0; i < a.size() && i < tuple.size(); ++i) check(tuple[i], a[i], out, depth + 1);
    const json::value* extra = s.if_contains("additionalItems");
    if (!extra || a.size() <= tuple.size()) return;
    if (extra->is_bool() && !extra->get_bool())
      out.push_back("schema only allows " + std::to_string(tuple.size()) +
                    " elements in array but instance has " + std::to_string(a.size()) +
                    " elements");
    else if (extra->is_object())
      for (size_t i = tuple.size(); i < a.size(); ++i) check(*extra, a[i], out, depth + 1);
  }

  void check_object(const json::object& s, const json::object& o, std::vector<std::string>& out,
                    int depth) {
    if (const json::value* req = s.if_contains("required"); req && req->is_array()) {
      std::vector<std::string> missing;
      for (const auto& r : req->get_array())
        if (r.is_string() && !o.contains(r.get_string())) missing.emplace_back(r.get_string());
      if (!missing.empty())
        out.push_back("object has missing required properties (" + string_list(missing) + ")");
    }
    if (auto min = count(s, "minProperties"); min && o.size() < *min)
      out.push_back("object has too few properties (found " + std::to_string(o.size()) +
                    " but schema requires at least " + std::to_string(*min) + ")");
    if (auto max = count(s, "maxProperties"); max && o.size() > *max)
      out.push_back("object has too many properties (found " + std::to_string(o.size()) +
                    " but schema requires at most " + std::to_string(*max) + ")");
    check_dependencies(s, o, out, depth);

    const json::value* props = s.if_contains("properties");
    const json::value* pattern_props = s.if_contains("patternProperties");
    const json::value* additional = s.if_contains("additionalProperties");
    std::vector<std::string> not_allowed;
    for (const auto& [key, value] : o) {
      bool covered = false;
      if (props && props->is_object())
        if (const json::value* sub = props->get_object().if_contains(key)) {
          covered = true;
          check(*sub, value, out, depth + 1);
        }
      if (pattern_props && pattern_props->is_object())
        for (const auto& [pat, sub] : pattern_props->get_object())
          if (search(pat, key).empty()) {
            covered = true;
            check(sub, value, out, depth + 1);
          }
      if (covered || !additional) continue;
      if (additional->is_bool() && !additional->get_bool())
        not_allowed.emplace_back(key);
      else if (additional->is_object())
        check(*additional, value, out, depth + 1);
    }
    if (!not_allowed.empty())
      out.push_back("object instance has properties which are not allowed by the schema: " +
                    string_list(not_allowed));
  }

  void check_dependencies(const json::object& s, const json::object& o,
                          std::vector<std::string>& out, int depth) {
    const json::value* deps = s.if_contains("dependencies");
    if (!deps || !deps->is_object()) return;
    for (const auto& [prop, dep] : deps->get_object()) {
      if (!o.contains(prop)) continue;
      if (dep.is_object()) {
        check(dep, json::value(o), out, depth + 1);
        continue;
      }
      if (!dep.is_array()) continue;
      std::vector<std::string> required, missing;
      for (const auto& d : dep.get_array()) {
        if (!d.is_string()) continue;
        required.emplace_back(d.get_string());
        if (!o.contains(d.get_string())) missing.emplace_back(d.get_string());
      }
      if (!missing.empty())
        out.push_back("property \"" + std::string(prop) +
                      "\" of object has missing property dependencies (schema requires " +
                      string_list(required) + "; missing: " + string_list(missing) + ")");
    }
  }

  const JsonSchema::State& st_;
  size_t evaluations_ = 0;
  bool exhausted_ = false;
};

http::Response bad_request(std::string message) {
  json::object body;
  body["message"] = std::move(message);
  // API Gateway's default 4XX template, {"message": $context.error.messageString},
  // leaves a space after the colon.
  std::string text = json::serialize(body);
  text.replace(text.find("\":") + 2, 0, " ");
  auto r = http::Response::json(400, std::move(text));
  r.headers.set("x-amzn-ErrorType", "BadRequestException");
  return r;
}

}  // namespace

Result<JsonSchema, std::string> JsonSchema::parse(std::string_view schema_json) {
  auto v = parse_json(schema_json);
  if (!v) return fail(std::string("schema is not valid JSON"));
  return from_value(std::move(*v));
}

Result<JsonSchema, std::string> JsonSchema::from_value(json::value schema) {
  if (!schema.is_object()) return fail(std::string("schema must be a JSON object"));
  auto st = std::make_shared<State>();
  st->root = std::move(schema);
  if (auto r = prepare(st->root, *st, 0); !r) return fail("invalid schema: " + r.error());
  return JsonSchema(std::move(st));
}

std::vector<std::string> JsonSchema::validate(const json::value& instance) const {
  return Validator(*state_).run(instance);
}

std::vector<std::string> JsonSchema::validate_body(std::string_view body) const {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos)
    return validate(json::value(nullptr));
  auto v = parse_json(body);
  if (!v) return {"request body is not valid JSON"};
  return validate(*v);
}

std::string validation_error_string(std::span<const std::string> violations) {
  std::string out = "[";
  for (size_t i = 0; i < violations.size(); ++i) {
    if (i) out += ", ";
    out += violations[i];
  }
  return out + "]";
}

http::Response invalid_body_response() {
  return bad_request("Invalid request body");
}

std::vector<std::string> missing_parameters(const http::Request& req, const PathParams& path_params,
                                            const RequiredParameters& required) {
  std::vector<std::string> missing;
  auto query = http::parse_query(req.query);
  for (const auto& q : required.querystrings)
    if (std::none_of(query.begin(), query.end(), [&](const auto& kv) { return kv.first == q; }))
      missing.push_back(q);
  for (const auto& h : required.headers)
    if (!req.headers.get(h)) missing.push_back(h);
  for (const auto& p : required.paths)
    if (std::none_of(path_params.begin(), path_params.end(),
                     [&](const auto& kv) { return kv.first == p && !kv.second.empty(); }))
      missing.push_back(p);
  return missing;
}

http::Response missing_parameters_response(std::span<const std::string> missing) {
  return bad_request("Missing required request parameters: " + validation_error_string(missing));
}

}  // namespace nimbus::services::apigateway
