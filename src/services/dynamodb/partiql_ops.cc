// DynamoDB's PartiQL operations (ExecuteStatement, BatchExecuteStatement,
// ExecuteTransaction): each statement is planned into one request of an
// ordinary operation (partiql.h), which then runs through `run` like any
// wire request; these functions only shape the answers.
#include <boost/json.hpp>

#include "base/ids.h"
#include "services/dynamodb/dynamodb_service.h"
#include "services/dynamodb/partiql.h"
#include "services/dynamodb/service_util.h"

namespace nimbus::services::dynamodb {

namespace json = boost::json;

namespace {

constexpr std::string_view kTarget = "DynamoDB_20120810.";

// NextToken: the LastEvaluatedKey of the planned Query or Scan, bound to the
// statement and its parameters so that it cannot resume another statement.
std::string statement_digest(const json::object& req) {
  std::string basis(str_or_empty(req, "Statement"));
  if (auto* p = req.if_contains("Parameters")) basis += "\n" + json::serialize(*p);
  return sha256_base64(basis);
}

std::string next_token(const json::object& req, const json::object& last_key) {
  return base64_encode(
      json::serialize(json::object{{"k", last_key}, {"s", statement_digest(req)}}));
}

Result<std::optional<json::object>, aws::ApiError> start_key_of(const json::object& req) {
  std::string_view token = str_or_empty(req, "NextToken");
  if (token.empty()) return std::optional<json::object>();
  std::string raw;
  boost::system::error_code ec;
  json::value v;
  if (base64_decode(token, raw)) v = json::parse(raw, ec);
  const json::object* o = v.if_object();
  if (!o || !o->contains("k") || !o->at("k").is_object() || !o->contains("s"))
    return fail(aws::ApiError::validation("Invalid NextToken"));
  if (str_or_empty(*o, "s") != statement_digest(req))
    return fail(aws::ApiError::validation("The provided starting key is invalid"));
  return std::optional<json::object>(o->at("k").get_object());
}

// BatchStatementError's Code: the exception's name without "Exception", and
// ValidationError / ThrottlingError for those two.
std::string batch_error_code(const std::string& code) {
  if (code == "ValidationException") return "ValidationError";
  if (code == "ThrottlingException") return "ThrottlingError";
  constexpr std::string_view suffix = "Exception";
  return code.ends_with(suffix) ? code.substr(0, code.size() - suffix.size()) : code;
}

}  // namespace

KeySchemaLookup DynamoDbService::partiql_lookup() const {
  return [this](std::string_view table, std::string_view index) {
    auto t = load_table(table);
    return t ? key_schema_for_plan(*t, index) : std::nullopt;
  };
}

// Runs one planned statement. `req` is the PartiQL request (or one entry of
// a batch): ConsistentRead, Limit, NextToken and ReturnConsumedCapacity
// come from it.
DynamoDbService::OpResult DynamoDbService::run_statement(const aws::Call& call,
                                                         const PartiqlPlan& plan, const Json& req) {
  Json request = plan.request;
  for (std::string_view member : {"ConsistentRead", "ReturnConsumedCapacity"})
    if (auto* v = req.if_contains(member)) request[member] = *v;
  bool paged = plan.operation == "Query" || plan.operation == "Scan";
  if (paged) {
    if (auto* v = req.if_contains("Limit")) request["Limit"] = *v;
    auto start = start_key_of(req);
    if (!start) return fail(start.take_error());
    if (*start) request["ExclusiveStartKey"] = std::move(**start);
  }
  if (!plan.is_read)
    if (auto* v = req.if_contains("ReturnValuesOnConditionCheckFailure"))
      request["ReturnValuesOnConditionCheckFailure"] = *v;
  auto result = run(call, std::string(kTarget) + plan.operation, request);
  if (!result) {
    aws::ApiError e = result.take_error();
    if (e.code == "ConditionalCheckFailedException" && plan.condition_failed_error) {
      std::string extra = std::move(e.extra_json);
      e = *plan.condition_failed_error;
      e.extra_json = std::move(extra);
    }
    return fail(std::move(e));
  }
  Json& r = *result;
  json::array items;
  if (plan.is_read) {
    if (auto* item = r.if_contains("Item"))
      items.push_back(partiql_select_row(plan, item->get_object()));
    if (auto* list = r.if_contains("Items"))
      for (const auto& item : list->get_array())
        items.push_back(partiql_select_row(plan, item.get_object()));
  } else if (auto* attrs = r.if_contains("Attributes");
             attrs && plan.returns_item && !attrs->get_object().empty()) {
    items.push_back(*attrs);
  }
  Json out{{"Items", std::move(items)}};
  if (auto* last = r.if_contains("LastEvaluatedKey"); last && paged)
    out["NextToken"] = next_token(req, last->get_object());
  if (auto* c = r.if_contains("ConsumedCapacity")) out["ConsumedCapacity"] = *c;
  return out;
}

DynamoDbService::OpResult DynamoDbService::execute_statement(const aws::Call& call, Json& req) {
  if (!req.contains("Statement")) return fail(member_null("statement"));
  const json::value* params = req.if_contains("Parameters");
  auto plan = plan_partiql(str_or_empty(req, "Statement"),
                           params && params->is_array() ? &params->get_array() : nullptr,
                           partiql_lookup(), PartiqlCaller::kExecuteStatement);
  if (!plan) return fail(plan.take_error());
  return run_statement(call, *plan, req);
}

DynamoDbService::OpResult DynamoDbService::batch_execute_statement(const aws::Call& call,
                                                                   Json& req) {
  auto list = list_param(req, "Statements", "statements", 25);
  if (!list) return fail(list.take_error());
  // Planned first: a batch is all reads or all writes, as on DynamoDB.
  std::vector<Result<PartiqlPlan, aws::ApiError>> plans;
  std::optional<bool> reads;
  for (const auto& entry : **list) {
    const json::object* o = entry.if_object();
    if (!o || !o->contains("Statement")) return fail(member_null("statements.member.statement"));
    const json::value* params = o->if_contains("Parameters");
    plans.push_back(plan_partiql(str_or_empty(*o, "Statement"),
                                 params && params->is_array() ? &params->get_array() : nullptr,
                                 partiql_lookup(), PartiqlCaller::kBatchExecuteStatement));
    if (!plans.back()) continue;
    if (reads && *reads != plans.back()->is_read)
      return fail(aws::ApiError::validation(
          "Supplied statements in BatchExecuteStatement must be either all reads or all writes"));
    reads = plans.back()->is_read;
  }
  json::array responses;
  for (size_t i = 0; i < plans.size(); ++i) {
    const json::object& entry = (**list)[i].get_object();
    Result<Json, aws::ApiError> answer =
        plans[i] ? run_statement(call, *plans[i], entry) : fail(plans[i].error());
    json::object response;
    if (plans[i]) response["TableName"] = plans[i]->table;
    if (!answer) {
      const aws::ApiError& e = answer.error();
      json::object error{{"Code", batch_error_code(e.code)}, {"Message", e.message}};
      // ReturnValuesOnConditionCheckFailure ALL_OLD: the item, as in the
      // single-statement error.
      if (e.extra_json.starts_with("\"Item\":")) {
        boost::system::error_code ec;
        json::value item = json::parse(e.extra_json.substr(7), ec);
        if (!ec) error["Item"] = std::move(item);
      }
      response["Error"] = std::move(error);
    } else if (auto& items = answer->at("Items").get_array(); !items.empty()) {
      response["Item"] = items.front();
    }
    responses.push_back(std::move(response));
  }
  return Json{{"Responses", std::move(responses)}};
}

DynamoDbService::OpResult DynamoDbService::execute_transaction(const aws::Call& call, Json& req) {
  auto list = list_param(req, "TransactStatements", "transactStatements", 100);
  if (!list) return fail(list.take_error());
  std::vector<PartiqlPlan> plans;
  for (size_t i = 0; i < (*list)->size(); ++i) {
    const json::object* o = (**list)[i].if_object();
    if (!o || !o->contains("Statement"))
      return fail(member_null("transactStatements.member.statement"));
    const json::value* params = o->if_contains("Parameters");
    auto plan = plan_partiql(str_or_empty(*o, "Statement"),
                             params && params->is_array() ? &params->get_array() : nullptr,
                             partiql_lookup(), PartiqlCaller::kExecuteTransaction);
    if (!plan) {
      aws::ApiError e = plan.take_error();
      if (e.code == "ValidationException")
        e.message =
            "Validation failed in TransactStatements[" + std::to_string(i) + "]: " + e.message;
      return fail(std::move(e));
    }
    if (!plans.empty() && plans.front().is_read != plan->is_read)
      return fail(aws::ApiError::validation(
          "ExecuteTransaction API does not support both read and write operations in the same "
          "request."));
    plans.push_back(std::move(*plan));
  }
  json::array actions;
  for (const auto& plan : plans) {
    std::string_view action = plan.operation == "GetItem"      ? "Get"
                              : plan.operation == "PutItem"    ? "Put"
                              : plan.operation == "UpdateItem" ? "Update"
                              : plan.operation == "DeleteItem" ? "Delete"
                                                               : "ConditionCheck";
    if (plan.is_read && plan.operation != "GetItem")
      return fail(aws::ApiError::validation(
          "Select statements in ExecuteTransaction must specify an equality condition on all "
          "key attributes"));
    Json request = plan.request;
    request.erase("ReturnValues");
    actions.push_back(json::object{{action, std::move(request)}});
  }
  Json transaction{{"TransactItems", std::move(actions)}};
  for (std::string_view member : {"ClientRequestToken", "ReturnConsumedCapacity"})
    if (auto* v = req.if_contains(member)) transaction[member] = *v;
  bool reading = plans.front().is_read;
  auto result =
      run(call, std::string(kTarget) + (reading ? "TransactGetItems" : "TransactWriteItems"),
          transaction);
  if (!result) {
    aws::ApiError e = result.take_error();
    // An INSERT whose item exists is a DuplicateItem reason, not a failed
    // condition.
    if (e.code == "TransactionCanceledException" &&
        e.extra_json.starts_with("\"CancellationReasons\":")) {
      boost::system::error_code ec;
      json::value reasons = json::parse(e.extra_json.substr(22), ec);
      if (!ec && reasons.is_array() && reasons.get_array().size() == plans.size()) {
        std::string codes;
        for (size_t i = 0; i < plans.size(); ++i) {
          json::object& r = reasons.get_array()[i].get_object();
          if (str_or_empty(r, "Code") == "ConditionalCheckFailed" &&
              plans[i].condition_failed_error) {
            r["Code"] = batch_error_code(plans[i].condition_failed_error->code);
            r["Message"] = plans[i].condition_failed_error->message;
          }
          codes += (codes.empty() ? "" : ", ") + std::string(str_or_empty(r, "Code"));
        }
        e.message =
            "Transaction cancelled, please refer cancellation reasons for specific reasons [" +
            codes + "]";
        e.extra_json = "\"CancellationReasons\":" + json::serialize(reasons);
      }
    }
    return fail(std::move(e));
  }
  Json out;
  if (reading) {
    json::array responses;
    const json::array& got = result->at("Responses").get_array();
    for (size_t i = 0; i < got.size() && i < plans.size(); ++i) {
      const json::value* item = got[i].get_object().if_contains("Item");
      responses.push_back(
          item ? json::object{{"Item", partiql_select_row(plans[i], item->get_object())}}
               : json::object{});
    }
    out["Responses"] = std::move(responses);
  }
  if (auto* c = result->if_contains("ConsumedCapacity")) out["ConsumedCapacity"] = *c;
  return out;
}

}  // namespace nimbus::services::dynamodb
