// What expression_parse.cc, expression_check.cc, expression_eval.cc and
// expression_update.cc share: the typed tree the parser builds, helpers on
// attribute values in wire form, the parser's entry points and the semantic
// checks that more than one kind of expression runs. Internal to those
// files; the interface is expression.h.
//
// Wording of the messages: DynamoDB's own texts as quoted by ScyllaDB's
// Alternator test suite, by dynalite's tests (written against DynamoDB) and by
// error dumps from the real service found in public code. Where sources
// disagree, see the comment at the message.
#pragma once

#include <boost/json.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "base/result.h"
#include "services/dynamodb/expression.h"
#include "services/dynamodb/number.h"

namespace nimbus::services::dynamodb::detail {

// ---------------------------------------------------------------------------
// The trees.

struct PathStep {
  std::string text;  // a name, a "#ref" or the index digits, as written
  bool is_ref = false;
  bool is_index = false;
  uint32_t index = 0;
};

struct ParsedPath {
  std::vector<PathStep> steps;
  Path resolved;  // after name substitution
};

struct Operand {
  enum class Kind { kPath, kValue, kFunction };
  Kind kind = Kind::kPath;
  ParsedPath path;            // kPath
  std::string ref;            // kValue: ":v" as written
  boost::json::value value;   // kValue: its substitution
  std::string function;       // kFunction
  std::vector<Operand> args;  // kFunction
};

enum class Cmp { kEq, kNe, kLt, kLe, kGt, kGe };

struct Condition {
  enum class Kind { kCompare, kBetween, kIn, kFunction, kAnd, kOr, kNot };
  Kind kind = Kind::kCompare;
  Cmp cmp = Cmp::kEq;
  // kCompare: 2; kBetween: value, lower, upper; kIn: value then the list;
  // kFunction: the call.
  std::vector<Operand> operands;
  std::vector<Condition> children;  // kAnd / kOr (two or more), kNot (one)
};

struct Action {
  enum class Kind { kSet, kRemove, kAdd, kDelete };
  Kind kind = Kind::kSet;
  ParsedPath path;
  // SET: left [op right]; ADD / DELETE: left is the ":value".
  std::optional<Operand> left;
  char op = 0;  // '+', '-' or 0
  std::optional<Operand> right;
};

struct Update {
  std::vector<Action> actions;
  std::vector<Action::Kind> clauses;  // in order, to find a repeated one
};

// ---------------------------------------------------------------------------
// Attribute values in wire form (expression_eval.cc).

// The payload of {"T": payload}, or null when `v` is no such object.
const boost::json::value* payload(const boost::json::value& v);
std::optional<std::string_view> payload_string(const boost::json::value& v);
std::optional<Number> number_of(const boost::json::value& payload_value);
// "S" for "SS", "N" for "NS", "B" for "BS"; empty for any other type.
std::string_view set_member_type(std::string_view set_type);
// A set member as text, equal exactly when the members are (hashable).
std::string member_key(std::string_view member_type, const boost::json::value& m);
std::unordered_set<std::string> member_keys(std::string_view member_type,
                                            const boost::json::array& set);
// {"N": text}.
boost::json::value number_value(std::string text);

// ---------------------------------------------------------------------------
// Syntax (expression_parse.cc): the tree of one expression, or DynamoDB's
// syntax error (without the "Invalid <parameter>: " prefix). Names and values
// are not substituted yet: the semantic checks run afterwards on the whole
// tree, as DynamoDB reports any syntax error before any other.

struct ParsedCondition {
  Condition tree;
  bool redundant_parens = false;  // "((a = :v))", which the checks refuse
};
Result<ParsedCondition, std::string> parse_condition_syntax(std::string_view text);
Result<Update, std::string> parse_update_syntax(std::string_view text);
Result<std::vector<ParsedPath>, std::string> parse_projection_syntax(std::string_view text);

// Whether `name` is one of DynamoDB's reserved words (any case).
bool is_reserved(std::string_view name);

// ---------------------------------------------------------------------------
// Semantic checks (expression_check.cc). Each returns the first problem of
// its kind in source order.

using Check = std::optional<std::string>;

// Pre-order walk over every operand of a condition, including function
// arguments; `fn(const Operand&, const Operand* parent_function)` returns a
// message to stop.
template <class Fn>
Check walk_operand(Operand& o, const Operand* parent, Fn& fn) {
  if (Check c = fn(o, parent)) return c;
  for (Operand& arg : o.args)
    if (Check c = walk_operand(arg, &o, fn)) return c;
  return std::nullopt;
}

template <class Fn>
Check walk_condition(Condition& c, Fn& fn) {
  for (Operand& o : c.operands)
    if (Check r = walk_operand(o, nullptr, fn)) return r;
  for (Condition& child : c.children)
    if (Check r = walk_condition(child, fn)) return r;
  return std::nullopt;
}

// Every path of a condition, in source order.
template <class Fn>
Check walk_paths(Condition& c, Fn&& fn) {
  auto visit = [&](Operand& o, const Operand*) -> Check {
    if (o.kind == Operand::Kind::kPath) return fn(o.path);
    return std::nullopt;
  };
  return walk_condition(c, visit);
}

Check check_function_name(const Operand& o, bool in_update);
Check check_reserved(const ParsedPath& p);
Check check_nesting(const ParsedPath& p);
// Substitute the request's names and values (marking them used in `ctx`).
Check resolve_path(ParsedPath& p, ExpressionContext& ctx);
Check resolve_value(Operand& o, ExpressionContext& ctx);
std::string incorrect_operand_type(std::string_view fn, std::string_view type);
// The types that order (<, BETWEEN): S, N and B.
bool orderable(std::string_view t);
// "Invalid <kind>: <message>", the text of the ValidationException.
std::string prefixed(std::string_view kind, std::string_view message);
// Checks common to every expression before it is parsed.
Check check_text(std::string_view text);
// A ConditionExpression, FilterExpression or KeyConditionExpression parsed,
// checked and resolved; `kind` names it in messages.
Result<std::unique_ptr<Condition>, std::string> parse_condition_tree(std::string_view text,
                                                                     ExpressionContext& ctx,
                                                                     std::string_view kind);
Check check_overlaps(const std::vector<const Path*>& paths);

}  // namespace nimbus::services::dynamodb::detail
