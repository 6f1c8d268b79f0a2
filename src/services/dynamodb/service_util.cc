#include "services/dynamodb/service_util.h"

#include <boost/json.hpp>
#include <cmath>

#include "services/dynamodb/item.h"
#include "services/dynamodb/wire.h"

namespace nimbus::services::dynamodb {

namespace json = boost::json;

aws::ApiError table_not_found(std::string_view name, bool describe) {
  return aws::ApiError::make(
      400, "ResourceNotFoundException",
      describe ? "Requested resource not found: Table: " + std::string(name) + " not found"
               : "Requested resource not found");
}

const json::object* object_member(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  return v && v->is_object() ? &v->get_object() : nullptr;
}

double read_units(size_t bytes, bool consistent) {
  double units = std::max(1.0, std::ceil(static_cast<double>(bytes) / 4096.0));
  return consistent ? units : units / 2;
}

double write_units(size_t bytes) {
  return std::max(1.0, std::ceil(static_cast<double>(bytes) / 1024.0));
}

Result<bool, aws::ApiError> return_old(const json::object& req) {
  std::string_view rv = str_or_empty(req, "ReturnValues");
  if (rv.empty() || rv == "NONE") return false;
  if (rv == "ALL_OLD") return true;
  return fail(aws::ApiError::validation("Return values set to invalid value"));
}

Result<void, aws::ApiError> refuse_unsupported(const json::object& req,
                                               std::initializer_list<std::string_view> names) {
  for (auto name : names)
    if (req.contains(name))
      return fail(aws::ApiError::validation("Nimbus does not support " + std::string(name) +
                                            " on this operation yet (docs/COMPATIBILITY.md)"));
  return {};
}

Result<json::object, aws::ApiError> item_param(const json::object& req, std::string_view member,
                                               std::string_view wire_name) {
  auto* v = req.if_contains(member);
  if (!v || !v->is_object())
    return fail(aws::ApiError::validation("1 validation error detected: Value null at '" +
                                          std::string(wire_name) +
                                          "' failed to satisfy constraint: Member must not be "
                                          "null"));
  json::object copy = v->get_object();
  if (auto r = normalize_item(copy); !r) return fail(r.take_error());
  return copy;
}

aws::ApiError condition_failed() {
  return aws::ApiError::make(400, "ConditionalCheckFailedException",
                             "The conditional request failed");
}

std::optional<json::object> parse_item(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.get_object());
}

Result<const json::array*, aws::ApiError> list_param(const json::object& req,
                                                     std::string_view member, std::string_view wire,
                                                     size_t max) {
  const json::value* v = req.if_contains(member);
  if (!v || !v->is_array()) return fail(member_null(wire));
  size_t n = v->get_array().size();
  if (n < 1 || n > max)
    return fail(aws::ApiError::validation(
        "1 validation error detected: Value at '" + std::string(wire) +
        "' failed to satisfy constraint: Member must have length less than or equal to " +
        std::to_string(max) + " and greater than or equal to 1"));
  return &v->get_array();
}

void report_capacity(json::object& out, const json::object& req,
                     const std::map<std::string, double>& units_by_table) {
  std::string_view mode = str_or_empty(req, "ReturnConsumedCapacity");
  if (mode != "TOTAL" && mode != "INDEXES") return;
  json::array consumed;
  for (const auto& [name, units] : units_by_table)
    consumed.push_back(json::object{{"TableName", name}, {"CapacityUnits", units}});
  out["ConsumedCapacity"] = std::move(consumed);
}

aws::ApiError member_null(std::string_view member) {
  return aws::ApiError::validation("1 validation error detected: Value null at '" +
                                   std::string(member) +
                                   "' failed to satisfy constraint: Member must not be null");
}

}  // namespace nimbus::services::dynamodb
