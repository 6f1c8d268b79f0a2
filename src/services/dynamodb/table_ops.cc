// DynamoDB table operations: CreateTable, DescribeTable, ListTables,
// DeleteTable, UpdateTable (with GSI builds), tags, TTL settings, capacity.
#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <cmath>
#include <functional>
#include <set>

#include "services/dynamodb/dynamodb_service.h"
#include "services/dynamodb/expression.h"
#include "services/dynamodb/index.h"
#include "services/dynamodb/item.h"
#include "services/dynamodb/number.h"
#include "services/dynamodb/service_util.h"
#include "services/dynamodb/streams.h"
#include "services/dynamodb/wire.h"

namespace nimbus::services::dynamodb {

namespace json = boost::json;

DynamoDbService::OpResult DynamoDbService::create_table(const aws::Call& call, Json& req) {
  auto t = TableSchema::from_create_request(req, call.region, call.account_id,
                                            static_cast<double>(clock_.wall_ms()) / 1000.0);
  if (!t) return fail(t.take_error());
  std::lock_guard lk(write_mu_);
  if (load_table(t->name))
    return fail(
        aws::ApiError::make(400, "ResourceInUseException", "Table already exists: " + t->name));
  if (auto r = save_table(*t); !r) return fail(r.take_error());
  // Ready at once; the answer says CREATING as DynamoDB's does, and the next
  // DescribeTable says ACTIVE, so boto3's table_exists waiter returns.
  return Json{{"TableDescription", t->description("CREATING", {})}};
}

DynamoDbService::OpResult DynamoDbService::describe_table(const aws::Call&, Json& req) {
  std::string_view name = str_or_empty(req, "TableName");
  auto t = load_table(name);
  if (!t) return fail(table_not_found(name, true));
  // Counted on demand (DynamoDB refreshes its figures every few hours).
  auto stats = [this](const std::string& prefix) {
    TableSchema::Stats s;
    for (auto& [key, value] : store_.scan(prefix)) {
      ++s.item_count;
      if (auto item = parse_item(value)) s.size_bytes += static_cast<int64_t>(item_size(*item));
    }
    return s;
  };
  return Json{{"Table", t->description("ACTIVE", stats(table_items_prefix(*t)),
                                       [&](const SecondaryIndex& ix) {
                                         return stats(index_entries_prefix(*t, ix));
                                       })}};
}

DynamoDbService::OpResult DynamoDbService::list_tables(const aws::Call&, Json& req) {
  int64_t limit = 100;
  if (auto* v = req.if_contains("Limit")) {
    if (!v->is_int64() || v->get_int64() < 1 || v->get_int64() > 100)
      return fail(aws::ApiError::validation(
          "1 validation error detected: Value '" + json::serialize(*v) +
          "' at 'limit' failed to satisfy constraint: Member must have value " +
          (v->is_int64() && v->get_int64() > 100 ? "less than or equal to 100"
                                                 : "greater than or equal to 1")));
    limit = v->get_int64();
  }
  std::string start;
  if (auto name = str_or_empty(req, "ExclusiveStartTableName"); !name.empty())
    start = std::string(kTablePrefix) + std::string(name);
  auto rows = store_.scan(kTablePrefix, start, static_cast<size_t>(limit) + 1);
  json::array names;
  for (size_t i = 0; i < rows.size() && i < static_cast<size_t>(limit); ++i)
    names.push_back(json::string(rows[i].first.substr(kTablePrefix.size())));
  Json out{{"TableNames", names}};
  if (rows.size() > static_cast<size_t>(limit)) out["LastEvaluatedTableName"] = names.back();
  return out;
}

DynamoDbService::OpResult DynamoDbService::delete_table(const aws::Call&, Json& req) {
  std::string_view name = str_or_empty(req, "TableName");
  std::lock_guard lk(write_mu_);
  auto t = load_table(name);
  if (!t) return fail(table_not_found(name, false));
  // The definition goes first (one synced write): from then on the table is
  // gone for every request; its items are unreachable under the old id and
  // removed after.
  store::WriteBatch b;
  b.del(std::string(kTablePrefix) + t->name);
  if (auto r = write(b); !r) return fail(r.take_error());
  limiter_.forget(t->id);
  for (const std::string& prefix :
       {table_items_prefix(*t), table_indexes_prefix(*t), "dynamodb/stream/" + t->id + "/"})
    if (auto r = store_.delete_prefix(prefix); !r)
      spdlog::warn("dynamodb: items of deleted table {} not removed: {}", t->name,
                   r.error().message);
  return Json{{"TableDescription", t->description("DELETING", {})}};
}

// PROVISIONED tables are throttled as DynamoDB throttles them (throughput.h).
Result<void, aws::ApiError> DynamoDbService::admit(const TableSchema& t, Throughput kind) {
  if (t.billing_mode != "PROVISIONED") return {};
  int64_t rate = kind == Throughput::kRead ? t.read_capacity : t.write_capacity;
  if (limiter_.admit(t.id, kind, rate)) return {};
  return fail(aws::ApiError::make(
      400, "ProvisionedThroughputExceededException",
      "The level of configured provisioned throughput for the table was exceeded. Consider "
      "increasing your provisioning level with the UpdateTable API."));
}

// Pays for a request and reports it when ReturnConsumedCapacity asks:
// DynamoDB's units (reads per 4 KB, halved when eventually consistent;
// writes per 1 KB).
void DynamoDbService::charge(Json& out, const Json& req, const TableSchema& t, Throughput kind,
                             double units) {
  if (t.billing_mode == "PROVISIONED")
    limiter_.consume(t.id, kind, kind == Throughput::kRead ? t.read_capacity : t.write_capacity,
                     units);
  std::string_view mode = str_or_empty(req, "ReturnConsumedCapacity");
  if (mode != "TOTAL" && mode != "INDEXES") return;
  json::object c{{"TableName", t.name}, {"CapacityUnits", units}};
  if (mode == "INDEXES") c["Table"] = json::object{{"CapacityUnits", units}};
  out["ConsumedCapacity"] = std::move(c);
}

Result<TableSchema, aws::ApiError> DynamoDbService::table_of_arn(const Json& req) const {
  std::string_view arn = str_or_empty(req, "ResourceArn");
  auto slash = arn.rfind(":table/");
  if (!arn.starts_with("arn:aws:dynamodb:") || slash == std::string_view::npos)
    return fail(
        aws::ApiError::validation("Invalid TableArn: Invalid ResourceArn provided as "
                                  "input " +
                                  std::string(arn)));
  std::string_view name = arn.substr(slash + 7);
  auto t = load_table(name);
  if (!t || t->arn != arn) return fail(table_not_found(arn, false));
  return std::move(*t);
}

Result<void, aws::ApiError> DynamoDbService::save_table(const TableSchema& t) {
  store::WriteBatch b;
  b.put(std::string(kTablePrefix) + t.name, t.to_json());
  return write(b);
}

DynamoDbService::OpResult DynamoDbService::tag_resource(const aws::Call&, Json& req) {
  std::lock_guard lk(write_mu_);
  auto t = table_of_arn(req);
  if (!t) return fail(t.take_error());
  const json::value* tags = req.if_contains("Tags");
  if (!tags || !tags->is_array() || tags->get_array().empty())
    return fail(aws::ApiError::validation(
        "1 validation error detected: Value null at 'tags' failed to satisfy constraint: Member "
        "must not be null"));
  for (const auto& tag : tags->get_array()) {
    if (!tag.is_object()) continue;
    std::string_view k = str_or_empty(tag.get_object(), "Key");
    if (k.empty() || k.size() > 128)
      return fail(
          aws::ApiError::validation("One or more parameter values were invalid: Tag "
                                    "keys must be between 1 and 128 characters"));
    t->tags[k] = str_or_empty(tag.get_object(), "Value");
  }
  if (t->tags.size() > 50)
    return fail(aws::ApiError::validation(
        "One or more parameter values were invalid: The number of tags exceeds the limit of 50"));
  if (auto r = save_table(*t); !r) return fail(r.take_error());
  return Json{};
}

DynamoDbService::OpResult DynamoDbService::untag_resource(const aws::Call&, Json& req) {
  std::lock_guard lk(write_mu_);
  auto t = table_of_arn(req);
  if (!t) return fail(t.take_error());
  if (auto* keys = req.if_contains("TagKeys"); keys && keys->is_array())
    for (const auto& k : keys->get_array())
      if (k.is_string()) t->tags.erase(k.get_string());
  if (auto r = save_table(*t); !r) return fail(r.take_error());
  return Json{};
}

DynamoDbService::OpResult DynamoDbService::list_tags_of_resource(const aws::Call&, Json& req) {
  auto t = table_of_arn(req);
  if (!t) return fail(t.take_error());
  json::array tags;
  for (const auto& [k, v] : t->tags) tags.push_back(json::object{{"Key", k}, {"Value", v}});
  return Json{{"Tags", std::move(tags)}};
}

namespace {

// UpdateTable's GlobalSecondaryIndexUpdates applied to `t`: at most one
// index created or deleted per call, as on DynamoDB.
Result<void, aws::ApiError> apply_index_updates(TableSchema& t, const json::value& updates,
                                                const json::object& req,
                                                std::vector<std::string>& created,
                                                std::vector<std::string>& dropped) {
  if (!updates.is_array() || updates.get_array().empty())
    return fail(aws::ApiError::validation(
        "1 validation error detected: Value '[]' at 'globalSecondaryIndexUpdates' failed to "
        "satisfy constraint: Member must have length greater than or equal to 1"));
  const json::value* defs = req.if_contains("AttributeDefinitions");
  int online = 0;
  auto one_online = [&]() -> Result<void, aws::ApiError> {
    if (++online > 1)
      return fail(aws::ApiError::make(400, "LimitExceededException",
                                      "Subscriber limit exceeded: Only 1 online index can be "
                                      "created or deleted simultaneously per table"));
    return {};
  };
  auto find_global = [&t](const json::object& o) -> Result<size_t, aws::ApiError> {
    std::string_view name = str_or_empty(o, "IndexName");
    for (size_t i = 0; i < t.indexes.size(); ++i)
      if (t.indexes[i].global && t.indexes[i].name == name) return i;
    return fail(aws::ApiError::make(400, "ResourceNotFoundException",
                                    "Requested resource not found: Index: " + std::string(name) +
                                        " not found for table: " + t.name));
  };
  for (const auto& u : updates.get_array()) {
    const json::object* o = u.is_object() ? &u.get_object() : nullptr;
    const json::object* create = o ? object_member(*o, "Create") : nullptr;
    const json::object* update = o ? object_member(*o, "Update") : nullptr;
    const json::object* del = o ? object_member(*o, "Delete") : nullptr;
    if ((create != nullptr) + (update != nullptr) + (del != nullptr) != 1)
      return fail(invalid_parameter(
          "One of GlobalSecondaryIndexUpdate.Create, GlobalSecondaryIndexUpdate.Update or "
          "GlobalSecondaryIndexUpdate.Delete must be specified"));
    if (create) {
      if (auto r = one_online(); !r) return fail(r.take_error());
      if (auto r =
              t.add_global_index(*create, defs && defs->is_array() ? &defs->get_array() : nullptr);
          !r)
        return fail(r.take_error());
      created.push_back(t.indexes.back().id);
    } else if (del) {
      if (auto r = one_online(); !r) return fail(r.take_error());
      auto i = find_global(*del);
      if (!i) return fail(i.take_error());
      dropped.push_back(t.indexes[*i].id);
      t.indexes.erase(t.indexes.begin() + static_cast<std::ptrdiff_t>(*i));
    } else {
      auto i = find_global(*update);
      if (!i) return fail(i.take_error());
      const json::object* pt = object_member(*update, "ProvisionedThroughput");
      auto units = [&](std::string_view k) -> int64_t {
        auto* v = pt ? pt->if_contains(k) : nullptr;
        return v && v->is_int64() ? v->get_int64() : 0;
      };
      if (t.billing_mode == "PAY_PER_REQUEST" || units("ReadCapacityUnits") < 1 ||
          units("WriteCapacityUnits") < 1)
        return fail(invalid_parameter(
            "ProvisionedThroughput with ReadCapacityUnits and WriteCapacityUnits of at least 1 "
            "is required to update index " +
            t.indexes[*i].name + " of a PROVISIONED table"));
      t.indexes[*i].read_capacity = units("ReadCapacityUnits");
      t.indexes[*i].write_capacity = units("WriteCapacityUnits");
    }
  }
  return {};
}

}  // namespace

// Billing mode, provisioned throughput, GSIs (created with a backfill,
// deleted, or given new throughput) and the stream.
DynamoDbService::OpResult DynamoDbService::update_table(const aws::Call&, Json& req) {
  if (auto r = refuse_unsupported(req, {"ReplicaUpdates", "SSESpecification"}); !r)
    return fail(r.take_error());
  std::lock_guard lk(write_mu_);
  auto t = table_of(req);
  if (!t) return fail(t.take_error());
  if (auto* spec = req.if_contains("StreamSpecification"))
    if (auto r = t->apply_stream_specification(*spec, clock_.wall_ms()); !r)
      return fail(r.take_error());
  std::vector<std::string> created, dropped;  // index ids
  if (auto* updates = req.if_contains("GlobalSecondaryIndexUpdates")) {
    auto r = apply_index_updates(*t, *updates, req, created, dropped);
    if (!r) return fail(r.take_error());
  }
  std::string_view billing = str_or_empty(req, "BillingMode");
  if (!billing.empty() && billing != "PROVISIONED" && billing != "PAY_PER_REQUEST")
    return fail(aws::ApiError::validation(
        "1 validation error detected: Value '" + std::string(billing) +
        "' at 'billingMode' failed to satisfy constraint: Member must satisfy enum value set: "
        "[PROVISIONED, PAY_PER_REQUEST]"));
  std::string mode = billing.empty() ? t->billing_mode : std::string(billing);
  const json::object* pt = object_member(req, "ProvisionedThroughput");
  if (mode == "PAY_PER_REQUEST") {
    if (pt)
      return fail(aws::ApiError::validation(
          "One or more parameter values were invalid: Neither ReadCapacityUnits nor "
          "WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST"));
    t->read_capacity = t->write_capacity = 0;
  } else if (pt) {
    auto units = [&](std::string_view k) -> int64_t {
      auto* v = pt->if_contains(k);
      return v && v->is_int64() ? v->get_int64() : 0;
    };
    if (units("ReadCapacityUnits") < 1 || units("WriteCapacityUnits") < 1)
      return fail(aws::ApiError::validation(
          "One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits "
          "must both be specified and at least 1"));
    t->read_capacity = units("ReadCapacityUnits");
    t->write_capacity = units("WriteCapacityUnits");
  } else if (t->billing_mode != "PROVISIONED") {
    return fail(aws::ApiError::validation(
        "One or more parameter values were invalid: ProvisionedThroughput must be specified "
        "when BillingMode is PROVISIONED"));
  }
  t->billing_mode = mode;
  if (mode == "PAY_PER_REQUEST")
    for (auto& ix : t->indexes) ix.read_capacity = ix.write_capacity = 0;
  if (auto r = save_table(*t); !r) return fail(r.take_error());
  for (const auto& id : dropped) {
    SecondaryIndex gone;
    gone.id = id;
    if (auto r = store_.delete_prefix(index_entries_prefix(*t, gone)); !r)
      spdlog::warn("dynamodb: entries of a deleted index of {} not removed: {}", t->name,
                   r.error().message);
  }
  for (const auto& id : created) schedule_backfill(t->name, id);
  return Json{{"TableDescription", t->description("ACTIVE", {})}};
}

DynamoDbService::OpResult DynamoDbService::update_time_to_live(const aws::Call&, Json& req) {
  std::lock_guard lk(write_mu_);
  auto t = table_of(req);
  if (!t) return fail(t.take_error());
  const json::object* spec = object_member(req, "TimeToLiveSpecification");
  const json::value* enabled = spec ? spec->if_contains("Enabled") : nullptr;
  std::string_view name = spec ? str_or_empty(*spec, "AttributeName") : std::string_view();
  if (!spec || !enabled || !enabled->is_bool() || name.empty())
    return fail(aws::ApiError::validation(
        "1 validation error detected: Value null at 'timeToLiveSpecification' failed to satisfy "
        "constraint: Member must not be null"));
  if (enabled->get_bool()) {
    if (!t->ttl_attribute.empty())
      return fail(aws::ApiError::validation("TimeToLive is already enabled"));
    t->ttl_attribute = std::string(name);
  } else {
    if (t->ttl_attribute.empty())
      return fail(aws::ApiError::validation("TimeToLive is already disabled"));
    if (t->ttl_attribute != name)
      return fail(aws::ApiError::validation(
          "TimeToLive is active on a different AttributeName: current AttributeName is " +
          t->ttl_attribute));
    t->ttl_attribute.clear();
  }
  if (auto r = save_table(*t); !r) return fail(r.take_error());
  return Json{{"TimeToLiveSpecification",
               json::object{{"Enabled", enabled->get_bool()}, {"AttributeName", name}}}};
}

DynamoDbService::OpResult DynamoDbService::describe_time_to_live(const aws::Call&, Json& req) {
  auto t = table_of(req);
  if (!t) return fail(t.take_error());
  json::object d{{"TimeToLiveStatus", t->ttl_attribute.empty() ? "DISABLED" : "ENABLED"}};
  if (!t->ttl_attribute.empty()) d["AttributeName"] = t->ttl_attribute;
  return Json{{"TimeToLiveDescription", std::move(d)}};
}

}  // namespace nimbus::services::dynamodb
