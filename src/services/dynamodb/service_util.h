// Helpers the DynamoDB service's operation files share (dynamodb_service.cc,
// table_ops.cc, write_ops.cc, read_ops.cc, stream_ops.cc): request
// parameters, DynamoDB's common errors, capacity units.
#pragma once

#include <boost/json/object.hpp>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "aws/api_error.h"
#include "base/result.h"
#include "services/dynamodb/expression.h"
#include "services/dynamodb/item.h"
#include "services/dynamodb/wire.h"

namespace nimbus::services::dynamodb {

aws::ApiError table_not_found(std::string_view name, bool describe);
// "1 validation error detected: Value null at 'member' ...".
aws::ApiError member_null(std::string_view member);
aws::ApiError condition_failed();
const boost::json::object* object_member(const boost::json::object& o, std::string_view k);
// DynamoDB's units: reads per 4 KB (halved when eventually consistent),
// writes per 1 KB.
double read_units(size_t bytes, bool consistent);
double write_units(size_t bytes);
// ReturnValues of PutItem / DeleteItem: whether ALL_OLD was asked for.
Result<bool, aws::ApiError> return_old(const boost::json::object& req);
// Parameters this version does not implement are refused by name rather
// than ignored: a condition silently skipped would be a wrong answer.
Result<void, aws::ApiError> refuse_unsupported(const boost::json::object& req,
                                               std::initializer_list<std::string_view> names);
// A required item-shaped parameter (Item, Key), checked and normalised.
Result<boost::json::object, aws::ApiError> item_param(const boost::json::object& req,
                                                      std::string_view member,
                                                      std::string_view wire_name);
// A required list member (TransactItems, Statements, ...) of 1 to `max`
// entries.
Result<const boost::json::array*, aws::ApiError> list_param(const boost::json::object& req,
                                                            std::string_view member,
                                                            std::string_view wire, size_t max);
// ReturnConsumedCapacity TOTAL or INDEXES of a request writing several
// tables: ConsumedCapacity per table (indexes are not counted separately).
void report_capacity(boost::json::object& out, const boost::json::object& req,
                     const std::map<std::string, double>& units_by_table);
// A stored item's JSON.
std::optional<boost::json::object> parse_item(std::string_view text);

// The expressions of one request, parsed against one ExpressionContext (it
// records which names and values they use: DynamoDB refuses unused ones).
// Heap-held because the context points into the copies it checks.
class RequestExpressions {
 public:
  struct Key {};  // constructed through from() only
  explicit RequestExpressions(Key) {}
  static Result<std::unique_ptr<RequestExpressions>, aws::ApiError> from(
      const boost::json::object& req) {
    auto e = std::make_unique<RequestExpressions>(Key());
    const boost::json::object* names = object_member(req, "ExpressionAttributeNames");
    const boost::json::object* values = object_member(req, "ExpressionAttributeValues");
    if (names) e->names_ = *names;
    if (values) {
      e->values_ = *values;
      for (auto& [k, v] : e->values_)
        if (auto r = normalize_value(v); !r)
          return fail(aws::ApiError::validation(
              "ExpressionAttributeValues contains invalid value: " + r.error().message +
              " for key " + std::string(k)));
    }
    auto ctx =
        ExpressionContext::create(names ? &e->names_ : nullptr, values ? &e->values_ : nullptr);
    if (!ctx) return fail(aws::ApiError::validation(ctx.error()));
    e->ctx_.emplace(std::move(ctx.value()));
    return e;
  }
  ExpressionContext& ctx() { return *ctx_; }

  // The condition named `member` (ConditionExpression, FilterExpression), if sent.
  Result<std::optional<ConditionExpression>, aws::ApiError> condition(
      const boost::json::object& req, std::string_view member) {
    std::string_view text = str_or_empty(req, member);
    if (!req.contains(member)) return std::optional<ConditionExpression>();
    auto c = ConditionExpression::parse(text, *ctx_, member);
    if (!c) return fail(aws::ApiError::validation(c.error()));
    return std::optional<ConditionExpression>(std::move(c.value()));
  }
  Result<std::optional<ProjectionExpression>, aws::ApiError> projection(
      const boost::json::object& req) {
    if (!req.contains("ProjectionExpression")) return std::optional<ProjectionExpression>();
    auto p = ProjectionExpression::parse(str_or_empty(req, "ProjectionExpression"), *ctx_);
    if (!p) return fail(aws::ApiError::validation(p.error()));
    return std::optional<ProjectionExpression>(std::move(p.value()));
  }
  // After every expression of the request is parsed.
  Result<void, aws::ApiError> finish() const {
    if (auto r = ctx_->check_unused(); !r) return fail(aws::ApiError::validation(r.error()));
    return {};
  }

 private:
  boost::json::object names_, values_;
  std::optional<ExpressionContext> ctx_;
};

}  // namespace nimbus::services::dynamodb
