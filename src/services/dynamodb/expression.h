// DynamoDB's expression language: ConditionExpression, FilterExpression,
// KeyConditionExpression, ProjectionExpression and UpdateExpression.
//
// Each expression is parsed once into a typed tree (names and values of the
// request already substituted), validated the way DynamoDB validates it, and
// then evaluated against items in DynamoDB's wire form: an item is a
// boost::json::object mapping attribute names to values like {"S":"x"},
// {"N":"1.5"}, {"M":{...}}, {"L":[...]}, {"SS":[...]}.
//
// Every failure is a value: the string is the ValidationException message,
// worded as DynamoDB words it (e.g. `Invalid UpdateExpression: Syntax error;
// token: "*", near: "a * :v"`). A condition that does not hold is not an
// error: evaluate() returns false, as DynamoDB compares values of different
// types or a missing attribute as "false", never as a failure.
//
// Usage for one request:
//   auto ctx = ExpressionContext::create(names_or_null, values_or_null);
//   auto cond = ConditionExpression::parse(text, *ctx);       // each expression
//   auto unused = ctx->check_unused();                        // after all of them
//   ... cond->evaluate(item)
#pragma once

#include <boost/json.hpp>

#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/result.h"
#include "services/dynamodb/table.h"

namespace nimbus::services::dynamodb {

// DynamoDB's documented limits on expressions.
inline constexpr size_t kMaxExpressionBytes = 4096;
inline constexpr int kMaxExpressionOperators = 300;
inline constexpr size_t kMaxInOperands = 100;
inline constexpr size_t kMaxPathNesting = 32;

// One step of a document path: an attribute or map key name, or a list index.
using PathElement = std::variant<std::string, uint32_t>;
using Path = std::vector<PathElement>;

// "[a, b, [0]]": how DynamoDB prints a path in its messages.
std::string path_to_string(const Path& path);

// The value at `path` in `item`, or null when any step is missing or of the
// wrong type.
const boost::json::value* find_path(const boost::json::object& item, const Path& path);

// The parts of `item` that `paths` name, nested as in the item: list elements
// keep their relative order and are packed ("a[2], a[0]" of [x, y, z] gives
// [x, z]); paths that lead nowhere are left out. Used for ProjectionExpression
// and for ReturnValues UPDATED_OLD / UPDATED_NEW.
boost::json::object project(const boost::json::object& item, const std::vector<Path>& paths);

// Orders two attribute values that are both S (UTF-8 bytes), both N (numeric)
// or both B (decoded bytes); nullopt for any other pair. Sort keys use this.
std::optional<std::strong_ordering> compare_values(const boost::json::value& a,
                                                   const boost::json::value& b);
// Deep equality as DynamoDB's "=": same type and value; sets ignore order,
// numbers compare numerically.
bool values_equal(const boost::json::value& a, const boost::json::value& b);

// The request's ExpressionAttributeNames and ExpressionAttributeValues. Every
// expression of one request is parsed against the same context, which records
// the names and values they use: DynamoDB refuses an entry that no expression
// of the request uses. Holds pointers to the caller's objects, which must
// outlive it (parsed expressions keep their own copies).
class ExpressionContext {
 public:
  // Either pointer may be null (parameter absent). Fails as DynamoDB does on
  // an empty map or a key that is not "#name" / ":name".
  static Result<ExpressionContext, std::string> create(const boost::json::object* names,
                                                       const boost::json::object* values);

  // Call after parsing every expression of the request.
  Result<void, std::string> check_unused() const;

  // For the parsers: the substitution of "#n" / ":v", marked as used; null when
  // not defined.
  const boost::json::string* name(std::string_view ref);
  const boost::json::value* value(std::string_view ref);

 private:
  ExpressionContext(const boost::json::object* names, const boost::json::object* values)
      : names_(names), values_(values) {}
  const boost::json::object* names_;
  const boost::json::object* values_;
  std::set<std::string, std::less<>> used_names_;
  std::set<std::string, std::less<>> used_values_;
};

namespace detail {
struct Condition;
struct Update;
}  // namespace detail

// ConditionExpression and FilterExpression (same language).
class ConditionExpression {
 public:
  // `kind` names the parameter in messages: "ConditionExpression" or
  // "FilterExpression".
  static Result<ConditionExpression, std::string> parse(
      std::string_view text, ExpressionContext& ctx, std::string_view kind = "ConditionExpression");

  // Whether the condition holds for `item` (an absent item is an empty one).
  bool evaluate(const boost::json::object& item) const;

  // Top-level attribute names the expression reads (Query refuses a filter on
  // key attributes).
  std::set<std::string> top_level_attributes() const;

  ConditionExpression(ConditionExpression&&) noexcept;
  ConditionExpression& operator=(ConditionExpression&&) noexcept;
  ~ConditionExpression();

 private:
  explicit ConditionExpression(std::unique_ptr<detail::Condition> root);
  std::unique_ptr<detail::Condition> root_;
};

// The sort key part of a KeyConditionExpression, normalised so the key is on
// the left (":v < sk" becomes sk > :v).
struct SortKeyCondition {
  enum class Op { kEq, kLt, kLe, kGt, kGe, kBetween, kBeginsWith };
  Op op = Op::kEq;
  boost::json::value value;  // the bound, or the lower bound of BETWEEN, or the prefix
  boost::json::value upper;  // BETWEEN only
  bool matches(const boost::json::value& sort_key_value) const;
};

// What storage needs for a Query: one partition, optionally a range in it.
struct KeyCondition {
  boost::json::value partition_value;
  std::optional<SortKeyCondition> sort;
};

// `hash` and `range`: the key schema of the table or index queried.
Result<KeyCondition, std::string> parse_key_condition(std::string_view text, ExpressionContext& ctx,
                                                      const KeyAttribute& hash,
                                                      const std::optional<KeyAttribute>& range);

class ProjectionExpression {
 public:
  static Result<ProjectionExpression, std::string> parse(std::string_view text,
                                                         ExpressionContext& ctx);
  boost::json::object apply(const boost::json::object& item) const { return project(item, paths_); }
  const std::vector<Path>& paths() const { return paths_; }

 private:
  explicit ProjectionExpression(std::vector<Path> paths) : paths_(std::move(paths)) {}
  std::vector<Path> paths_;
};

class UpdateExpression {
 public:
  static Result<UpdateExpression, std::string> parse(std::string_view text, ExpressionContext& ctx);

  struct Outcome {
    boost::json::object item;       // the item after the update
    std::set<std::string> changed;  // top-level attributes the actions touch
  };
  // Applies every action to `item`. Values are read from the item as it was
  // before the update (SET a = b, b = a swaps). `item_exists` false means the
  // item is new (DynamoDB then ignores REMOVE of a nested path).
  Result<Outcome, std::string> apply(const boost::json::object& item,
                                     bool item_exists = true) const;

  // The document paths the actions write, in expression order; project() the
  // old or new item on them for ReturnValues UPDATED_OLD / UPDATED_NEW.
  std::vector<Path> target_paths() const;

  // DynamoDB's refusal of an update that touches a key attribute, if any.
  std::optional<std::string> key_update_error(const KeyAttribute& hash,
                                              const std::optional<KeyAttribute>& range) const;

  UpdateExpression(UpdateExpression&&) noexcept;
  UpdateExpression& operator=(UpdateExpression&&) noexcept;
  ~UpdateExpression();

 private:
  explicit UpdateExpression(std::unique_ptr<detail::Update> update);
  std::unique_ptr<detail::Update> update_;
};

}  // namespace nimbus::services::dynamodb
