// Evaluating a template: pseudo parameters, conditions, intrinsic functions,
// references between resources and the order to create them in.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "deploy/template.h"

namespace nimbus::deploy {

// Values of AWS::Region, AWS::AccountId, ... supplied by the deploy command.
struct PseudoParameters {
  std::string region = "us-east-1";
  std::string account_id = "000000000000";
  std::string stack_name;
  std::string stack_id;
  std::string partition = "aws";
  std::string url_suffix = "amazonaws.com";
  std::vector<std::string> availability_zones;  // Fn::GetAZs; default REGIONa, b, c
};

// Answers for Ref and Fn::GetAtt of resources. std::nullopt means "not known
// yet" (the resource is not created); resolve() then fails with kPending.
struct ResourceValues {
  std::function<std::optional<std::string>(std::string_view logical_id)> ref;
  std::function<std::optional<Node>(std::string_view logical_id, std::string_view attribute)>
      get_att;
};

struct Context {
  const Template* tmpl = nullptr;
  PseudoParameters pseudo;
  ParameterValues parameters;
  std::map<std::string, bool, std::less<>> conditions;  // every Conditions entry, evaluated
  ResourceValues resources;                             // empty functions: everything pending
  // Logical ids that exist without being written in Resources (SAM's
  // ServerlessRestApi, FunctionRole, ...).
  std::set<std::string, std::less<>> generated_ids;

  bool is_resource(std::string_view id) const;
  // false when the resource has a Condition that evaluated to false.
  bool resource_enabled(const Resource& r) const;
};

// Binds parameters, evaluates every condition and returns a context ready for
// resolve(). Resource values can be set on it afterwards.
Result<Context, TemplateError> make_context(const Template& t, PseudoParameters pseudo,
                                            const std::map<std::string, std::string>& overrides);

// Evaluates the Conditions section (needs ctx.parameters and ctx.pseudo).
Result<std::map<std::string, bool, std::less<>>, TemplateError> evaluate_conditions(
    const Context& ctx);

// Evaluates every intrinsic in `n`. Properties whose value is AWS::NoValue
// (directly or through Fn::If) are removed; a top-level NoValue gives null.
// `path` names `n` in errors ("Resources.Fn.Properties").
Result<Node, TemplateError> resolve(const Node& n, const Context& ctx, const std::string& path);

// ---------------------------------------------------------------------------
// References and order

struct Reference {
  std::string target;     // logical id or parameter name
  std::string attribute;  // for GetAtt / ${Res.Attr}; "" for Ref
  Mark mark;
  std::string path;
};

// Every Ref / GetAtt / Sub variable / DependsOn target in a node.
std::vector<Reference> references(const Node& n, const std::string& path);

// One error per reference to something the template does not define
// (not a parameter, pseudo parameter, resource, generated id, or a Sub's own
// variable), in Resources, Outputs and DependsOn; plus references to unknown
// conditions or mappings. Each names the file:line of the reference.
std::vector<TemplateError> check_references(
    const Template& t, const std::set<std::string, std::less<>>& generated_ids = {});

// For each enabled resource, the resources it depends on (Ref, GetAtt, Sub
// variables, DependsOn, implied_depends_on), restricted to known resources.
// With conditions, only the Fn::If branch taken counts and disabled resources
// are left out.
std::map<std::string, std::set<std::string>, std::less<>> dependencies(
    const Template& t, const std::map<std::string, bool, std::less<>>* conditions = nullptr);

// A creation order in which every resource comes after its dependencies
// (template order among independent ones). A cycle is an error naming it:
// "circular dependency between resources: A -> B -> A".
Result<std::vector<std::string>, TemplateError> creation_order(
    const Template& t, const std::map<std::string, std::set<std::string>, std::less<>>& deps);

// Fn::Sub's ${...} parts. Literal text with "${!x}" already unescaped to "${x}".
struct SubPart {
  bool is_var = false;
  std::string text;  // literal text, or the variable ("Res", "Res.Attr", "AWS::Region")
};
Result<std::vector<SubPart>, std::string> parse_sub(std::string_view s);

}  // namespace nimbus::deploy
