// CloudFormation / SAM templates: the source tree with positions, the
// template's sections, and parameter binding.
//
// A template is loaded once into a tree of Node values (YAML or JSON, short
// intrinsic tags turned into their long form, every node with its position)
// and then checked section by section. Errors are values carrying the file,
// line, column and property path so `nimbus deploy` can point at the spot.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "base/result.h"

namespace nimbus::deploy {

// A position in a template file (1-based; 0 when unknown).
struct Mark {
  std::shared_ptr<const std::string> file;  // shared by every node of one template
  int line = 0;
  int column = 0;

  std::string file_name() const { return file ? *file : std::string(); }
};

struct TemplateError {
  enum class Code {
    kInvalid,      // the template is wrong
    kUnsupported,  // valid CloudFormation that Nimbus does not deploy
    kPending,      // a resource value is not known yet (see ResourceValues)
  };
  Code code = Code::kInvalid;
  std::string file;
  int line = 0;
  int column = 0;
  std::string path;  // e.g. "Resources.Fn.Properties.Timeout"; "" for the whole file
  std::string message;

  // "template.yaml:12:7: Resources.Fn.Properties.Timeout: expected an integer"
  std::string to_string() const;
};

// One node of a template: null, a scalar (string, number or boolean, kept as
// its text), a list or an ordered map.
class Node {
 public:
  enum class Kind { kNull, kString, kNumber, kBool, kList, kMap };
  struct Entry;

  // Defined after Entry is complete (clang needs that for the vectors).
  Node();
  ~Node();
  Node(const Node&);
  Node(Node&&) noexcept;
  Node& operator=(const Node&);
  Node& operator=(Node&&) noexcept;
  static Node null(Mark m = {});
  static Node string(std::string s, Mark m = {});
  static Node number(std::string text, Mark m = {});
  static Node boolean(bool b, Mark m = {});
  static Node list(Mark m = {});
  static Node map(Mark m = {});

  Kind kind() const { return kind_; }
  const Mark& mark() const { return mark_; }
  void set_mark(Mark m) { mark_ = std::move(m); }
  bool is_null() const { return kind_ == Kind::kNull; }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_scalar() const {
    return kind_ == Kind::kString || kind_ == Kind::kNumber || kind_ == Kind::kBool;
  }
  bool is_list() const { return kind_ == Kind::kList; }
  bool is_map() const { return kind_ == Kind::kMap; }

  // Text of a scalar ("true"/"false" for booleans, the literal for numbers).
  const std::string& text() const { return text_; }

  const std::vector<Node>& items() const { return items_; }
  std::vector<Node>& items() { return items_; }
  void push_back(Node n) { items_.push_back(std::move(n)); }

  const std::vector<Entry>& entries() const { return entries_; }
  std::vector<Entry>& entries() { return entries_; }
  const Node* find(std::string_view key) const;
  Node* find(std::string_view key);
  const Entry* find_entry(std::string_view key) const;
  // Replaces the value of an existing key or appends a new entry.
  void set(std::string key, Node value, Mark key_mark = {});
  bool erase(std::string_view key);

  // A one-key map whose key is "Ref", "Condition" or starts with "Fn::".
  bool is_intrinsic() const;
  // The key of an intrinsic ("Ref", "Fn::Sub", ...), "" otherwise.
  std::string_view intrinsic_name() const;

  friend bool operator==(const Node& a, const Node& b);

 private:
  Kind kind_ = Kind::kNull;
  Mark mark_;
  std::string text_;
  std::vector<Node> items_;
  std::vector<Entry> entries_;
};

struct Node::Entry {
  std::string key;
  Mark key_mark;
  Node value;
};

inline Node::Node() = default;
inline Node::~Node() = default;
inline Node::Node(const Node&) = default;
inline Node::Node(Node&&) noexcept = default;
inline Node& Node::operator=(const Node&) = default;
inline Node& Node::operator=(Node&&) noexcept = default;

bool operator==(const Node& a, const Node& b);

// Scalars as JSON types (numbers as int64/double), lists as arrays, maps as objects.
boost::json::value to_json(const Node& n);

// "Resources.Fn.Properties" + "Timeout"; list indexes as "Layers[2]".
std::string join_path(std::string_view base, std::string_view key);
std::string index_path(std::string_view base, size_t i);

TemplateError error_at(const Mark& m, std::string path, std::string message,
                       TemplateError::Code code = TemplateError::Code::kInvalid);

// Templates larger than this are refused (CloudFormation's limit for a
// template body in S3).
inline constexpr size_t kMaxTemplateBytes = 1024 * 1024;

// Parses YAML or JSON text into a Node tree: short-form tags (!Ref, !Sub, ...)
// become their long form ({"Fn::Sub": ...}), plain scalars are typed (true →
// boolean, 12 → number), duplicate keys and unknown tags are errors.
Result<Node, TemplateError> parse_yaml(std::string_view text, std::string file);

// ---------------------------------------------------------------------------
// Sections

struct ParameterDecl {
  std::string name;
  Mark mark;
  std::string type;  // "String", "Number", "CommaDelimitedList", "List<Number>"
  std::optional<std::string> default_value;
  std::vector<std::string> allowed_values;
  std::optional<std::string> allowed_pattern;
  std::optional<int64_t> min_length, max_length;
  std::optional<double> min_value, max_value;
  std::string constraint_description;
  bool no_echo = false;

  bool is_list() const { return type == "CommaDelimitedList" || type == "List<Number>"; }
};

struct Resource {
  std::string logical_id;
  Mark mark;                            // the resource's key
  std::string type;                     // "AWS::Serverless::Function"
  Node properties;                      // a map (empty when the template has none)
  std::string condition;                // "" when unconditional
  std::vector<std::string> depends_on;  // DependsOn, in the template's order
  Node metadata;
  // Dependencies a transform adds that no intrinsic shows (e.g. an API that
  // routes to a function). Filled by sam::expand.
  std::vector<std::string> implied_depends_on;
  bool generated = false;  // added by sam::expand (an implicit API), not written by the user
  std::string path() const { return "Resources." + logical_id; }
};

struct Output {
  std::string name;
  Mark mark;
  Node value;
  std::string description;          // literal; CloudFormation does not resolve it
  std::optional<Node> export_name;  // Export.Name, resolved later
  std::string condition;
};

struct Template {
  std::string file;
  Node root;
  std::vector<std::string> transforms;  // "AWS::Serverless-2016-10-31"
  std::string description;
  std::vector<ParameterDecl> parameters;
  Node mappings;    // map (empty when absent)
  Node conditions;  // map (empty when absent)
  Node globals;     // map (empty when absent); consumed by sam::expand
  std::vector<Resource> resources;
  std::vector<Output> outputs;

  bool is_sam() const;
  const ParameterDecl* parameter(std::string_view name) const;
  const Resource* resource(std::string_view logical_id) const;
  Resource* resource(std::string_view logical_id);
};

inline constexpr std::string_view kSamTransform = "AWS::Serverless-2016-10-31";

// Parses the text and checks the sections' shapes: Resources is a non-empty
// map of {Type, Properties, Condition, DependsOn, ...}, Parameters and Outputs
// are well formed, no unknown top-level section, no unsupported intrinsic
// (Fn::ImportValue, Fn::Cidr, ...) anywhere.
Result<Template, TemplateError> load_template(std::string_view text, std::string file);

// ---------------------------------------------------------------------------
// Parameters

// A parameter's value: one string, or a list for the list types.
struct ParameterValue {
  std::vector<std::string> values;  // one element for scalar types
  bool is_list = false;
};
using ParameterValues = std::map<std::string, ParameterValue, std::less<>>;

// Parses "K=V" command-line overrides (the value may contain '=').
Result<std::map<std::string, std::string>, TemplateError> parse_overrides(
    const std::vector<std::string>& pairs);

// Values for every declared parameter: the override, else the default;
// checks the type and constraints (AllowedValues, AllowedPattern, lengths,
// MinValue/MaxValue). A parameter with neither is an error naming it, as is an
// override for a parameter the template does not declare.
Result<ParameterValues, TemplateError> bind_parameters(
    const Template& t, const std::map<std::string, std::string>& overrides);

}  // namespace nimbus::deploy
