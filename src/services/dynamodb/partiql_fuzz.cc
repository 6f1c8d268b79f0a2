// libFuzzer target: arbitrary text as a PartiQL statement must never crash,
// hang or overflow the stack; it is parsed, then planned for every caller
// with as many parameters as it has `?` (cycling through every attribute
// type), and whatever plan comes out must hold expressions the service's
// parsers accept, which are then evaluated / applied on a fixed item.
#include <boost/json.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "services/dynamodb/partiql.h"

namespace {

namespace json = boost::json;
namespace ddb = nimbus::services::dynamodb;

// Two tables and an index, so that GetItem, Query and Scan plans all occur.
std::optional<ddb::KeySchemaForPlan> lookup(std::string_view table, std::string_view index) {
  using ddb::KeyAttribute;
  using ddb::KeyType;
  if (table == "Music" || table == "t") {
    if (index.empty())
      return ddb::KeySchemaForPlan{{"Artist", KeyType::kS}, KeyAttribute{"SongTitle", KeyType::kS}};
    if (index == "GenreYear" || index == "i")
      return ddb::KeySchemaForPlan{{"Genre", KeyType::kS}, KeyAttribute{"Year", KeyType::kN}};
    return std::nullopt;
  }
  if ((table == "Users" || table == "u") && index.empty())
    return ddb::KeySchemaForPlan{{"pk", KeyType::kS}, {}};
  return std::nullopt;
}

const json::array& parameter_values() {
  static const json::array v = json::parse(R"([{"S": "ab"}, {"N": "1.5"}, {"B": "AQI="},
      {"BOOL": true}, {"NULL": true}, {"L": [{"S": "x"}, {"N": "2"}]}, {"M": {"k": {"S": "v"}}},
      {"SS": ["ab", "cd"]}, {"NS": ["1", "2.5"]}, {"BS": ["AQ=="]}, {"S": ""}])")
                                   .as_array();
  return v;
}

const json::object& item() {
  static const json::object i = json::parse(R"({"Artist": {"S": "ab"}, "SongTitle": {"S": "s"},
      "pk": {"S": "ab"}, "Genre": {"S": "rock"}, "Year": {"N": "1990"}, "n": {"N": "10"},
      "ss": {"SS": ["ab", "x"]}, "ns": {"NS": ["1", "5"]}, "b": {"BOOL": false},
      "l": {"L": [{"N": "1"}, {"L": [{"S": "deep"}]}, {"M": {"k": {"N": "3"}}}]},
      "m": {"M": {"k": {"S": "v"}, "n": {"M": {"x": {"N": "1"}}}, "l": {"L": []}}}})")
                                    .as_object();
  return i;
}

std::string_view member(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  return v && v->is_string() ? std::string_view(v->get_string()) : std::string_view();
}

// A plan the planner returned is one the service runs: every expression
// parses in one context, and no name or value is left unused.
void check_plan(const ddb::PartiqlPlan& plan) {
  const json::object& req = plan.request;
  auto key = lookup(member(req, "TableName"), member(req, "IndexName"));
  if (!key) std::abort();
  const json::object* names = req.contains("ExpressionAttributeNames")
                                  ? &req.at("ExpressionAttributeNames").as_object()
                                  : nullptr;
  const json::object* values = req.contains("ExpressionAttributeValues")
                                   ? &req.at("ExpressionAttributeValues").as_object()
                                   : nullptr;
  auto ctx = ddb::ExpressionContext::create(names, values);
  if (!ctx) std::abort();
  if (req.contains("KeyConditionExpression")) {
    auto k = ddb::parse_key_condition(member(req, "KeyConditionExpression"), *ctx, key->hash,
                                      key->range);
    if (!k) std::abort();
    if (k->sort) (void)k->sort->matches(item().at("SongTitle"));
  }
  for (std::string_view m : {"FilterExpression", "ConditionExpression"})
    if (req.contains(m)) {
      auto c = ddb::ConditionExpression::parse(member(req, m), *ctx, m);
      if (!c) std::abort();
      (void)c->evaluate(item());
      (void)c->evaluate(json::object{});
    }
  if (req.contains("ProjectionExpression")) {
    auto p = ddb::ProjectionExpression::parse(member(req, "ProjectionExpression"), *ctx);
    if (!p) std::abort();
    (void)ddb::partiql_select_row(plan, p->apply(item()));
  }
  if (req.contains("UpdateExpression")) {
    auto u = ddb::UpdateExpression::parse(member(req, "UpdateExpression"), *ctx);
    if (!u) std::abort();
    (void)u->apply(item());
  }
  if (!ctx->check_unused()) std::abort();
  (void)ddb::partiql_select_row(plan, item());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = ddb::parse_partiql(text);
  size_t count = parsed ? parsed->parameter_count : 0;

  json::array parameters;
  const json::array& pool = parameter_values();
  for (size_t i = 0; i < count && i < 1000; ++i)
    parameters.push_back(pool[(i + size) % pool.size()]);

  for (auto caller :
       {ddb::PartiqlCaller::kExecuteStatement, ddb::PartiqlCaller::kBatchExecuteStatement,
        ddb::PartiqlCaller::kExecuteTransaction}) {
    auto plan = ddb::plan_partiql(text, count ? &parameters : nullptr, lookup, caller);
    if (plan) {
      check_plan(*plan);
    } else if (plan.error().code != "ValidationException" &&
               plan.error().code != "ResourceNotFoundException") {
      std::abort();
    }
  }
  return 0;
}
