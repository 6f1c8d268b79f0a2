#include "deploy/template.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <regex>
#include <set>
#include <sstream>

namespace nimbus::deploy {

// ---------------------------------------------------------------------------
// Errors and nodes

std::string TemplateError::to_string() const {
  std::string out = file.empty() ? "template" : file;
  if (line > 0) out += ":" + std::to_string(line) + ":" + std::to_string(column);
  out += ": ";
  if (!path.empty()) out += path + ": ";
  return out + message;
}

TemplateError error_at(const Mark& m, std::string path, std::string message,
                       TemplateError::Code code) {
  TemplateError e;
  e.code = code;
  e.file = m.file_name();
  e.line = m.line;
  e.column = m.column;
  e.path = std::move(path);
  e.message = std::move(message);
  return e;
}

std::string join_path(std::string_view base, std::string_view key) {
  if (base.empty()) return std::string(key);
  return std::string(base) + "." + std::string(key);
}

std::string index_path(std::string_view base, size_t i) {
  return std::string(base) + "[" + std::to_string(i) + "]";
}

Node Node::null(Mark m) {
  Node n;
  n.mark_ = std::move(m);
  return n;
}
Node Node::string(std::string s, Mark m) {
  Node n = null(std::move(m));
  n.kind_ = Kind::kString;
  n.text_ = std::move(s);
  return n;
}
Node Node::number(std::string text, Mark m) {
  Node n = string(std::move(text), std::move(m));
  n.kind_ = Kind::kNumber;
  return n;
}
Node Node::boolean(bool b, Mark m) {
  Node n = string(b ? "true" : "false", std::move(m));
  n.kind_ = Kind::kBool;
  return n;
}
Node Node::list(Mark m) {
  Node n = null(std::move(m));
  n.kind_ = Kind::kList;
  return n;
}
Node Node::map(Mark m) {
  Node n = null(std::move(m));
  n.kind_ = Kind::kMap;
  return n;
}

const Node::Entry* Node::find_entry(std::string_view key) const {
  for (const auto& e : entries_)
    if (e.key == key) return &e;
  return nullptr;
}

const Node* Node::find(std::string_view key) const {
  const Entry* e = find_entry(key);
  return e ? &e->value : nullptr;
}

Node* Node::find(std::string_view key) {
  for (auto& e : entries_)
    if (e.key == key) return &e.value;
  return nullptr;
}

void Node::set(std::string key, Node value, Mark key_mark) {
  if (Node* existing = find(key)) {
    *existing = std::move(value);
    return;
  }
  entries_.push_back({std::move(key), std::move(key_mark), std::move(value)});
}

bool Node::erase(std::string_view key) {
  auto it =
      std::find_if(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.key == key; });
  if (it == entries_.end()) return false;
  entries_.erase(it);
  return true;
}

bool Node::is_intrinsic() const {
  if (kind_ != Kind::kMap || entries_.size() != 1) return false;
  const std::string& k = entries_[0].key;
  return k == "Ref" || k == "Condition" || k.starts_with("Fn::");
}

std::string_view Node::intrinsic_name() const {
  return is_intrinsic() ? std::string_view(entries_[0].key) : std::string_view();
}

bool operator==(const Node& a, const Node& b) {
  if (a.kind_ != b.kind_ || a.text_ != b.text_ || a.items_ != b.items_) return false;
  if (a.entries_.size() != b.entries_.size()) return false;
  for (size_t i = 0; i < a.entries_.size(); ++i)
    if (a.entries_[i].key != b.entries_[i].key || !(a.entries_[i].value == b.entries_[i].value))
      return false;
  return true;
}

boost::json::value to_json(const Node& n) {
  switch (n.kind()) {
    case Node::Kind::kNull:
      return nullptr;
    case Node::Kind::kString:
      return boost::json::string(n.text());
    case Node::Kind::kBool:
      return n.text() == "true";
    case Node::Kind::kNumber: {
      int64_t i = 0;
      const char* end = n.text().data() + n.text().size();
      auto [p, ec] = std::from_chars(n.text().data(), end, i);
      if (ec == std::errc() && p == end) return i;
      return std::strtod(n.text().c_str(), nullptr);
    }
    case Node::Kind::kList: {
      boost::json::array a;
      for (const auto& i : n.items()) a.push_back(to_json(i));
      return a;
    }
    case Node::Kind::kMap: {
      boost::json::object o;
      for (const auto& e : n.entries()) o[e.key] = to_json(e.value);
      return o;
    }
  }
  return nullptr;
}

// ---------------------------------------------------------------------------
// YAML → Node

namespace {

// Bounds what an alias-heavy document ("billion laughs") can expand to.
constexpr size_t kMaxNodes = 200'000;

const std::set<std::string, std::less<>> kFnTags = {
    "Sub",    "Join",        "If",     "Select",       "Split",  "FindInMap",
    "Base64", "Equals",      "And",    "Or",           "Not",    "GetAZs",
    "Cidr",   "ImportValue", "Length", "ToJsonString", "GetAtt", "Transform"};

bool is_plain_number(const std::string& s) {
  static const std::regex kNumber(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)");
  return !s.empty() && s.size() < 64 && std::regex_match(s, kNumber);
}

// Types a plain (unquoted, untagged) scalar as YAML 1.2's core schema does,
// which is what CloudFormation's JSON view of a YAML template shows.
Node typed_scalar(const std::string& v, const Mark& m) {
  if (v.empty() || v == "~" || v == "null" || v == "Null" || v == "NULL") return Node::null(m);
  if (v == "true" || v == "True" || v == "TRUE") return Node::boolean(true, m);
  if (v == "false" || v == "False" || v == "FALSE") return Node::boolean(false, m);
  if (is_plain_number(v)) return Node::number(v, m);
  return Node::string(v, m);
}

size_t count_nodes(const Node& n) {
  size_t c = 1;
  for (const auto& i : n.items()) c += count_nodes(i);
  for (const auto& e : n.entries()) c += count_nodes(e.value);
  return c;
}

// Builds the Node tree from yaml-cpp's parse events. Events cannot fail, so
// the first error is recorded and the rest of the document is ignored.
class TreeBuilder : public YAML::EventHandler {
 public:
  explicit TreeBuilder(std::shared_ptr<const std::string> file) : file_(std::move(file)) {}

  std::optional<TemplateError>& error() { return error_; }
  std::optional<Node>& root() { return root_; }
  Mark mark(const YAML::Mark& m) const { return Mark{file_, m.line + 1, m.column + 1}; }

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override { ++documents_; }

  void OnNull(const YAML::Mark& m, YAML::anchor_t anchor) override {
    complete(Node::null(mark(m)), anchor, "", mark(m));
  }

  void OnAlias(const YAML::Mark& m, YAML::anchor_t anchor) override {
    auto it = anchors_.find(anchor);
    if (it == anchors_.end()) return fail(mark(m), "unknown alias");
    nodes_ += count_nodes(it->second);
    Node copy = it->second;
    complete(std::move(copy), 0, "", mark(m));
  }

  void OnScalar(const YAML::Mark& m, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    Mark mk = mark(m);
    Node n = tag == "?" ? typed_scalar(value, mk) : Node::string(value, mk);
    if (tag == "tag:yaml.org,2002:int" || tag == "tag:yaml.org,2002:float") {
      if (!is_plain_number(value)) return fail(mk, "not a number: '" + value + "'");
      n = Node::number(value, mk);
    } else if (tag == "tag:yaml.org,2002:bool") {
      n = typed_scalar(value, mk);
      if (n.kind() != Node::Kind::kBool) return fail(mk, "not a boolean: '" + value + "'");
    } else if (tag == "tag:yaml.org,2002:null") {
      n = Node::null(mk);
    }
    complete(std::move(n), anchor, tag, mk);
  }

  void OnSequenceStart(const YAML::Mark& m, const std::string& tag, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    stack_.push_back({Node::list(mark(m)), tag, anchor, {}, {}});
  }
  void OnSequenceEnd() override { end_container(); }

  void OnMapStart(const YAML::Mark& m, const std::string& tag, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    stack_.push_back({Node::map(mark(m)), tag, anchor, {}, {}});
  }
  void OnMapEnd() override { end_container(); }

 private:
  struct Frame {
    Node node;
    std::string tag;
    YAML::anchor_t anchor;
    std::optional<std::string> key;  // a map's key waiting for its value
    Mark key_mark;
  };

  void fail(const Mark& m, std::string msg) {
    if (!error_) error_ = error_at(m, "", std::move(msg));
  }

  void end_container() {
    if (stack_.empty()) return;
    Frame f = std::move(stack_.back());
    stack_.pop_back();
    if (f.key) fail(f.key_mark, "map key without a value");
    Mark m = f.node.mark();
    complete(std::move(f.node), f.anchor, f.tag, m);
  }

  // Applies a tag, remembers an anchor, and adds the finished node to its parent.
  void complete(Node n, YAML::anchor_t anchor, const std::string& tag, const Mark& m) {
    if (error_ || documents_ > 0) return;
    if (++nodes_ > kMaxNodes) return fail(m, "template too large (too many nodes)");
    auto tagged = apply_tag(std::move(n), tag, m);
    if (!tagged) return;
    if (anchor != 0) anchors_[anchor] = *tagged;
    add_to_parent(std::move(*tagged));
  }

  std::optional<Node> apply_tag(Node n, const std::string& tag, const Mark& m) {
    if (tag.empty() || tag == "?" || tag == "!" || tag.starts_with("tag:yaml.org,2002:")) return n;
    if (!tag.starts_with("!") || tag.starts_with("!!")) {
      fail(m, "unsupported YAML tag '" + tag + "'");
      return std::nullopt;
    }
    std::string name = tag.substr(1);
    if (name == "Ref" || name == "Condition") {
      if (!n.is_scalar()) {
        fail(m, "!" + name + " expects a name");
        return std::nullopt;
      }
      return wrap(name, Node::string(n.text(), m), m);
    }
    if (!kFnTags.contains(name)) {
      fail(m, "unknown tag '" + tag + "'");
      return std::nullopt;
    }
    if (name == "GetAtt" && n.is_scalar()) return wrap("Fn::GetAtt", split_get_att(n, m), m);
    return wrap("Fn::" + name, std::move(n), m);
  }

  // "Res.Attr.Sub" → ["Res", "Attr.Sub"], as CloudFormation splits at the first dot.
  static Node split_get_att(const Node& n, const Mark& m) {
    Node list = Node::list(m);
    const std::string& s = n.text();
    auto dot = s.find('.');
    list.push_back(Node::string(s.substr(0, dot), m));
    if (dot != std::string::npos) list.push_back(Node::string(s.substr(dot + 1), m));
    return list;
  }

  static Node wrap(std::string key, Node value, const Mark& m) {
    Node map = Node::map(m);
    map.set(std::move(key), std::move(value), m);
    return map;
  }

  void add_to_parent(Node n) {
    if (stack_.empty()) {
      root_ = std::move(n);
      return;
    }
    Frame& p = stack_.back();
    if (p.node.is_list()) return p.node.push_back(std::move(n));
    if (!p.key) {
      if (!n.is_scalar() && !n.is_null()) return fail(n.mark(), "map keys must be scalars");
      p.key = n.text();
      p.key_mark = n.mark();
      return;
    }
    if (p.node.find(*p.key)) return fail(p.key_mark, "duplicate key '" + *p.key + "'");
    p.node.entries().push_back({std::move(*p.key), p.key_mark, std::move(n)});
    p.key.reset();
  }

  std::shared_ptr<const std::string> file_;
  std::vector<Frame> stack_;
  std::map<YAML::anchor_t, Node> anchors_;
  std::optional<Node> root_;
  std::optional<TemplateError> error_;
  size_t nodes_ = 0;
  int documents_ = 0;
};

}  // namespace

Result<Node, TemplateError> parse_yaml(std::string_view text, std::string file) {
  auto shared = std::make_shared<const std::string>(std::move(file));
  Mark start{shared, 1, 1};
  if (text.size() > kMaxTemplateBytes)
    return fail(error_at(start, "", "template is larger than 1 MiB"));
  TreeBuilder builder(shared);
  try {
    std::istringstream in{std::string(text)};
    YAML::Parser parser(in);
    parser.HandleNextDocument(builder);
  } catch (const YAML::Exception& e) {
    Mark m = e.mark.is_null() ? start : builder.mark(e.mark);
    return fail(error_at(m, "", "YAML syntax error: " + e.msg));
  } catch (const std::exception& e) {
    return fail(error_at(start, "", std::string("YAML syntax error: ") + e.what()));
  }
  if (builder.error()) return fail(std::move(*builder.error()));
  if (!builder.root()) return fail(error_at(start, "", "template is empty"));
  return std::move(*builder.root());
}

// ---------------------------------------------------------------------------
// Sections

namespace {

using Errors = std::optional<TemplateError>;

bool is_alnum_id(std::string_view s) {
  if (s.empty() || s.size() > 255) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)); });
}

Errors expect_map(const Node& n, const std::string& path) {
  if (n.is_map()) return std::nullopt;
  return error_at(n.mark(), path, "expected a map");
}

// A scalar as text; CloudFormation accepts numbers and booleans where it
// wants strings.
Result<std::string, TemplateError> scalar_text(const Node& n, const std::string& path) {
  if (!n.is_scalar()) return fail(error_at(n.mark(), path, "expected a string"));
  return n.text();
}

// Intrinsics CloudFormation has but Nimbus does not evaluate.
Errors check_intrinsics(const Node& n, const std::string& path) {
  if (n.is_intrinsic()) {
    std::string_view fn = n.intrinsic_name();
    static const std::set<std::string, std::less<>> kKnown = {
        "Ref",        "Condition",  "Fn::GetAtt", "Fn::Sub",       "Fn::Join",
        "Fn::If",     "Fn::Select", "Fn::Split",  "Fn::FindInMap", "Fn::Base64",
        "Fn::Equals", "Fn::And",    "Fn::Or",     "Fn::Not",       "Fn::GetAZs"};
    std::string p = join_path(path, fn);
    if (fn == "Fn::ImportValue")
      return error_at(n.mark(), p,
                      "Fn::ImportValue is not supported: Nimbus deploys a single stack and has "
                      "no exports from other stacks",
                      TemplateError::Code::kUnsupported);
    if (!kKnown.contains(fn))
      return error_at(n.mark(), p, std::string(fn) + " is not supported",
                      TemplateError::Code::kUnsupported);
  }
  for (size_t i = 0; i < n.items().size(); ++i)
    if (auto e = check_intrinsics(n.items()[i], index_path(path, i))) return e;
  for (const auto& e : n.entries())
    if (auto err = check_intrinsics(e.value, join_path(path, e.key))) return err;
  return std::nullopt;
}

Errors parse_transform(const Node& n, Template& t) {
  std::vector<const Node*> items;
  if (n.is_list())
    for (const auto& i : n.items()) items.push_back(&i);
  else
    items.push_back(&n);
  for (const Node* i : items) {
    if (!i->is_string()) return error_at(i->mark(), "Transform", "expected a transform name");
    if (i->text() != kSamTransform)
      return error_at(i->mark(), "Transform", "transform '" + i->text() + "' is not supported",
                      TemplateError::Code::kUnsupported);
    t.transforms.push_back(i->text());
  }
  return std::nullopt;
}

Result<std::vector<std::string>, TemplateError> string_list(const Node& n,
                                                            const std::string& path) {
  std::vector<std::string> out;
  if (n.is_scalar()) {
    out.push_back(n.text());
    return out;
  }
  if (!n.is_list()) return fail(error_at(n.mark(), path, "expected a string or a list of strings"));
  for (size_t i = 0; i < n.items().size(); ++i) {
    auto s = scalar_text(n.items()[i], index_path(path, i));
    if (!s) return fail(s.take_error());
    out.push_back(std::move(*s));
  }
  return out;
}

Result<std::optional<double>, TemplateError> optional_number(const Node& decl, std::string_view key,
                                                             const std::string& path) {
  const Node* n = decl.find(key);
  if (!n) return std::optional<double>();
  double v = 0;
  const std::string& s = n->text();
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (!n->is_scalar() || ec != std::errc() || p != s.data() + s.size() || !std::isfinite(v))
    return fail(error_at(n->mark(), join_path(path, key), "expected a number"));
  return std::optional<double>(v);
}

Errors parse_parameter_constraints(const Node& decl, const std::string& path, ParameterDecl& p) {
  if (const Node* n = decl.find("AllowedValues")) {
    if (!n->is_list())
      return error_at(n->mark(), join_path(path, "AllowedValues"), "expected a list");
    auto v = string_list(*n, join_path(path, "AllowedValues"));
    if (!v) return v.take_error();
    p.allowed_values = std::move(*v);
  }
  if (const Node* n = decl.find("AllowedPattern")) {
    auto s = scalar_text(*n, join_path(path, "AllowedPattern"));
    if (!s) return s.take_error();
    try {
      std::regex check(*s);
    } catch (const std::regex_error&) {
      return error_at(n->mark(), join_path(path, "AllowedPattern"), "invalid regular expression");
    }
    p.allowed_pattern = std::move(*s);
  }
  for (auto [key, field] : {std::pair{"MinLength", &p.min_length}, {"MaxLength", &p.max_length}}) {
    auto v = optional_number(decl, key, path);
    if (!v) return v.take_error();
    if (*v) *field = static_cast<int64_t>(**v);
  }
  for (auto [key, field] : {std::pair{"MinValue", &p.min_value}, {"MaxValue", &p.max_value}}) {
    auto v = optional_number(decl, key, path);
    if (!v) return v.take_error();
    *field = *v;
  }
  return std::nullopt;
}

Errors parse_parameter(const Node::Entry& e, Template& t) {
  std::string path = "Parameters." + e.key;
  if (!is_alnum_id(e.key))
    return error_at(e.key_mark, path, "parameter names must be alphanumeric");
  if (auto err = expect_map(e.value, path)) return err;
  ParameterDecl p;
  p.name = e.key;
  p.mark = e.key_mark;
  const Node* type = e.value.find("Type");
  if (!type || !type->is_string())
    return error_at(type ? type->mark() : e.key_mark, join_path(path, "Type"),
                    "a parameter needs a Type");
  p.type = type->text();
  static const std::set<std::string, std::less<>> kTypes = {"String", "Number",
                                                            "CommaDelimitedList", "List<Number>"};
  if (!kTypes.contains(p.type)) {
    bool aws = p.type.starts_with("AWS::") || p.type.starts_with("List<AWS::");
    return error_at(type->mark(), join_path(path, "Type"),
                    aws ? "parameter type '" + p.type + "' is not supported"
                        : "unknown parameter type '" + p.type + "'",
                    aws ? TemplateError::Code::kUnsupported : TemplateError::Code::kInvalid);
  }
  if (const Node* d = e.value.find("Default")) {
    if (d->is_list() && p.is_list()) {
      auto items = string_list(*d, join_path(path, "Default"));
      if (!items) return items.take_error();
      std::string joined;
      for (size_t i = 0; i < items->size(); ++i) joined += (i ? "," : "") + (*items)[i];
      p.default_value = joined;
    } else {
      auto s = scalar_text(*d, join_path(path, "Default"));
      if (!s) return s.take_error();
      p.default_value = std::move(*s);
    }
  }
  if (const Node* n = e.value.find("NoEcho")) p.no_echo = n->text() == "true";
  if (const Node* n = e.value.find("ConstraintDescription")) p.constraint_description = n->text();
  if (auto err = parse_parameter_constraints(e.value, path, p)) return err;
  t.parameters.push_back(std::move(p));
  return std::nullopt;
}

Errors parse_depends_on(const Node& n, const std::string& path, Resource& r) {
  auto v = string_list(n, path);
  if (!v) return v.take_error();
  r.depends_on = std::move(*v);
  return std::nullopt;
}

Errors parse_resource(const Node::Entry& e, Template& t) {
  static const std::set<std::string, std::less<>> kAttributes = {
      "Type",         "Properties",     "Condition",           "DependsOn",
      "Metadata",     "DeletionPolicy", "UpdateReplacePolicy", "CreationPolicy",
      "UpdatePolicy", "IgnoreGlobals",  "Connectors"};
  Resource r;
  r.logical_id = e.key;
  r.mark = e.key_mark;
  std::string path = r.path();
  if (!is_alnum_id(e.key))
    return error_at(e.key_mark, path, "logical ids must be alphanumeric (A-Za-z0-9)");
  if (auto err = expect_map(e.value, path)) return err;
  for (const auto& a : e.value.entries())
    if (!kAttributes.contains(a.key))
      return error_at(a.key_mark, join_path(path, a.key),
                      "invalid resource attribute '" + a.key + "'");
  const Node* type = e.value.find("Type");
  if (!type) return error_at(e.key_mark, join_path(path, "Type"), "a resource needs a Type");
  if (!type->is_string())
    return error_at(type->mark(), join_path(path, "Type"), "expected a string");
  r.type = type->text();
  r.properties = Node::map(e.value.mark());
  if (const Node* p = e.value.find("Properties"); p && !p->is_null()) {
    if (auto err = expect_map(*p, join_path(path, "Properties"))) return err;
    r.properties = *p;
  }
  if (const Node* c = e.value.find("Condition")) {
    if (!c->is_string())
      return error_at(c->mark(), join_path(path, "Condition"), "expected a condition name");
    r.condition = c->text();
  }
  if (const Node* d = e.value.find("DependsOn"))
    if (auto err = parse_depends_on(*d, join_path(path, "DependsOn"), r)) return err;
  if (const Node* m = e.value.find("Metadata")) r.metadata = *m;
  t.resources.push_back(std::move(r));
  return std::nullopt;
}

Errors parse_output(const Node::Entry& e, Template& t) {
  std::string path = "Outputs." + e.key;
  if (!is_alnum_id(e.key)) return error_at(e.key_mark, path, "output names must be alphanumeric");
  if (auto err = expect_map(e.value, path)) return err;
  Output o;
  o.name = e.key;
  o.mark = e.key_mark;
  const Node* v = e.value.find("Value");
  if (!v) return error_at(e.key_mark, join_path(path, "Value"), "an output needs a Value");
  o.value = *v;
  if (const Node* d = e.value.find("Description")) {
    auto s = scalar_text(*d, join_path(path, "Description"));
    if (!s) return s.take_error();
    o.description = std::move(*s);
  }
  if (const Node* x = e.value.find("Export")) {
    const Node* name = x->is_map() ? x->find("Name") : nullptr;
    if (!name) return error_at(x->mark(), join_path(path, "Export.Name"), "an export needs a Name");
    o.export_name = *name;
  }
  if (const Node* c = e.value.find("Condition")) {
    if (!c->is_string())
      return error_at(c->mark(), join_path(path, "Condition"), "expected a condition name");
    o.condition = c->text();
  }
  t.outputs.push_back(std::move(o));
  return std::nullopt;
}

// Parses one optional map section entry by entry.
template <class F>
Errors each_entry(const Node& root, std::string_view section, F&& parse) {
  const Node* n = root.find(section);
  if (!n || n->is_null()) return std::nullopt;
  if (auto err = expect_map(*n, std::string(section))) return err;
  for (const auto& e : n->entries())
    if (auto err = parse(e)) return err;
  return std::nullopt;
}

Errors optional_map_section(const Node& root, std::string_view section, Node& out) {
  out = Node::map(root.mark());
  const Node* n = root.find(section);
  if (!n || n->is_null()) return std::nullopt;
  if (auto err = expect_map(*n, std::string(section))) return err;
  out = *n;
  return std::nullopt;
}

Errors check_top_level(const Node& root) {
  static const std::set<std::string, std::less<>> kSections = {"AWSTemplateFormatVersion",
                                                               "Description",
                                                               "Metadata",
                                                               "Parameters",
                                                               "Mappings",
                                                               "Conditions",
                                                               "Transform",
                                                               "Resources",
                                                               "Outputs",
                                                               "Globals"};
  for (const auto& e : root.entries()) {
    if (e.key == "Rules")
      return error_at(e.key_mark, "Rules", "the Rules section is not supported",
                      TemplateError::Code::kUnsupported);
    if (!kSections.contains(e.key))
      return error_at(e.key_mark, e.key, "invalid template section '" + e.key + "'");
  }
  const Node* res = root.find("Resources");
  if (!res) return error_at(root.mark(), "Resources", "the template has no Resources section");
  if (!res->is_map() || res->entries().empty())
    return error_at(res->mark(), "Resources", "Resources must be a non-empty map");
  return std::nullopt;
}

Errors parse_sections(const Node& root, Template& t) {
  if (auto err = check_top_level(root)) return err;
  if (const Node* tr = root.find("Transform"))
    if (auto err = parse_transform(*tr, t)) return err;
  if (const Node* d = root.find("Description")) t.description = d->text();
  if (auto err = each_entry(root, "Parameters", [&](auto& e) { return parse_parameter(e, t); }))
    return err;
  if (auto err = optional_map_section(root, "Mappings", t.mappings)) return err;
  if (auto err = optional_map_section(root, "Conditions", t.conditions)) return err;
  if (auto err = optional_map_section(root, "Globals", t.globals)) return err;
  if (auto err = each_entry(root, "Resources", [&](auto& e) { return parse_resource(e, t); }))
    return err;
  return each_entry(root, "Outputs", [&](auto& e) { return parse_output(e, t); });
}

}  // namespace

bool Template::is_sam() const {
  if (std::find(transforms.begin(), transforms.end(), kSamTransform) != transforms.end())
    return true;
  return std::any_of(resources.begin(), resources.end(),
                     [](const Resource& r) { return r.type.starts_with("AWS::Serverless::"); });
}

const ParameterDecl* Template::parameter(std::string_view name) const {
  for (const auto& p : parameters)
    if (p.name == name) return &p;
  return nullptr;
}

const Resource* Template::resource(std::string_view id) const {
  for (const auto& r : resources)
    if (r.logical_id == id) return &r;
  return nullptr;
}

Resource* Template::resource(std::string_view id) {
  for (auto& r : resources)
    if (r.logical_id == id) return &r;
  return nullptr;
}

Result<Template, TemplateError> load_template(std::string_view text, std::string file) {
  auto root = parse_yaml(text, file);
  if (!root) return fail(root.take_error());
  if (!root->is_map()) return fail(error_at(root->mark(), "", "a template must be a map"));
  if (auto err = check_intrinsics(*root, "")) return fail(std::move(*err));
  Template t;
  t.file = std::move(file);
  if (auto err = parse_sections(*root, t)) return fail(std::move(*err));
  t.root = std::move(*root);
  return t;
}

// ---------------------------------------------------------------------------
// Parameters

namespace {

// CloudFormation's limit on a parameter value; also bounds the regex work.
constexpr size_t kMaxParameterBytes = 4096;

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

// CommaDelimitedList members are space-trimmed, as CloudFormation does.
std::vector<std::string> split_list(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    auto p = s.find(',', start);
    out.push_back(trim(s.substr(start, p == std::string_view::npos ? p : p - start)));
    if (p == std::string_view::npos) return out;
    start = p + 1;
  }
}

std::optional<double> parse_number(std::string_view s) {
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size() || !std::isfinite(v))
    return std::nullopt;
  return v;
}

std::string describe(const ParameterDecl& p, std::string what) {
  if (!p.constraint_description.empty()) what += " (" + p.constraint_description + ")";
  return what;
}

Errors check_member(const ParameterDecl& p, const std::string& v, bool numeric) {
  auto bad = [&](std::string msg) {
    return error_at(p.mark, "Parameters." + p.name, describe(p, std::move(msg)));
  };
  if (numeric) {
    auto n = parse_number(v);
    if (!n) return bad("'" + v + "' is not a number");
    if (p.min_value && *n < *p.min_value) return bad("value " + v + " is below MinValue");
    if (p.max_value && *n > *p.max_value) return bad("value " + v + " is above MaxValue");
  }
  if (!p.allowed_values.empty() &&
      std::find(p.allowed_values.begin(), p.allowed_values.end(), v) == p.allowed_values.end())
    return bad("value '" + v + "' is not one of AllowedValues");
  return std::nullopt;
}

Errors check_string(const ParameterDecl& p, const std::string& v) {
  auto bad = [&](std::string msg) {
    return error_at(p.mark, "Parameters." + p.name, describe(p, std::move(msg)));
  };
  if (p.min_length && static_cast<int64_t>(v.size()) < *p.min_length)
    return bad("value is shorter than MinLength " + std::to_string(*p.min_length));
  if (p.max_length && static_cast<int64_t>(v.size()) > *p.max_length)
    return bad("value is longer than MaxLength " + std::to_string(*p.max_length));
  if (p.allowed_pattern) {
    try {
      if (!std::regex_match(v, std::regex(*p.allowed_pattern)))
        return bad("value '" + v + "' does not match AllowedPattern " + *p.allowed_pattern);
    } catch (const std::regex_error&) {
      return bad("AllowedPattern could not be evaluated");
    }
  }
  return std::nullopt;
}

Result<ParameterValue, TemplateError> bind_one(const ParameterDecl& p, const std::string& raw) {
  if (raw.size() > kMaxParameterBytes)
    return fail(error_at(p.mark, "Parameters." + p.name, "value is longer than 4096 bytes"));
  ParameterValue v;
  v.is_list = p.is_list();
  v.values = v.is_list ? split_list(raw) : std::vector<std::string>{raw};
  bool numeric = p.type == "Number" || p.type == "List<Number>";
  for (const auto& member : v.values)
    if (auto err = check_member(p, member, numeric)) return fail(std::move(*err));
  if (p.type == "String")
    if (auto err = check_string(p, raw)) return fail(std::move(*err));
  return v;
}

}  // namespace

Result<std::map<std::string, std::string>, TemplateError> parse_overrides(
    const std::vector<std::string>& pairs) {
  std::map<std::string, std::string> out;
  for (const auto& kv : pairs) {
    auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      TemplateError e;
      e.path = "parameter-overrides";
      e.message = "expected KEY=VALUE, got '" + kv + "'";
      return fail(std::move(e));
    }
    out[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return out;
}

Result<ParameterValues, TemplateError> bind_parameters(
    const Template& t, const std::map<std::string, std::string>& overrides) {
  for (const auto& [name, value] : overrides)
    if (!t.parameter(name)) {
      TemplateError e;
      e.file = t.file;
      e.path = "Parameters." + name;
      e.message = "parameter '" + name + "' is not declared in the template";
      return fail(std::move(e));
    }
  ParameterValues out;
  for (const auto& p : t.parameters) {
    auto it = overrides.find(p.name);
    const std::string* raw = it != overrides.end() ? &it->second
                             : p.default_value     ? &*p.default_value
                                                   : nullptr;
    if (!raw)
      return fail(error_at(p.mark, "Parameters." + p.name,
                           "parameter '" + p.name + "' has no Default and no value was given"));
    auto v = bind_one(p, *raw);
    if (!v) return fail(v.take_error());
    out.emplace(p.name, std::move(*v));
  }
  return out;
}

}  // namespace nimbus::deploy
