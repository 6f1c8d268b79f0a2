// DynamoDB item writes and point reads: PutItem, UpdateItem, DeleteItem,
// GetItem, transactions and batches.
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

// One write of PutItem, DeleteItem, UpdateItem or one action of
// TransactWriteItems: checked and parsed before the write lock is taken.
struct PlannedWrite {
  enum class Kind { kPut, kDelete, kUpdate, kCheck };
  Kind kind = Kind::kPut;
  TableSchema table;
  std::string key;         // the store key
  json::object key_attrs;  // the item's key attributes
  json::object item;       // kPut: the new item
  std::unique_ptr<RequestExpressions> exprs;
  std::optional<UpdateExpression> update;
  std::optional<ConditionExpression> condition;
};

// What a planned write does to the item it finds, decided under the lock.
struct WriteOutcome {
  bool condition_failed = false;
  std::optional<json::object> next;  // the item to store; empty: delete (or leave, kCheck)
  size_t bytes = 0;                  // for capacity: the larger of old and new
};

namespace {

Result<PlannedWrite, aws::ApiError> plan_write(PlannedWrite::Kind kind, TableSchema table,
                                               const json::object& params) {
  PlannedWrite w;
  w.kind = kind;
  w.table = std::move(table);
  if (kind == PlannedWrite::Kind::kPut) {
    auto item = item_param(params, "Item", "item");
    if (!item) return fail(item.take_error());
    w.item = std::move(*item);
    if (item_size(w.item) > kMaxItemBytes)
      return fail(aws::ApiError::validation("Item size has exceeded the maximum allowed size"));
    auto key = item_store_key(w.table, w.item, false);
    if (!key) return fail(key.take_error());
    w.key = std::move(*key);
    w.key_attrs = key_of(w.table, w.item);
  } else {
    auto key_attrs = item_param(params, "Key", "key");
    if (!key_attrs) return fail(key_attrs.take_error());
    w.key_attrs = std::move(*key_attrs);
    auto key = item_store_key(w.table, w.key_attrs, true);
    if (!key) return fail(key.take_error());
    w.key = std::move(*key);
  }
  auto exprs = RequestExpressions::from(params);
  if (!exprs) return fail(exprs.take_error());
  w.exprs = std::move(*exprs);
  if (kind == PlannedWrite::Kind::kUpdate && params.contains("UpdateExpression")) {
    auto u = UpdateExpression::parse(str_or_empty(params, "UpdateExpression"), w.exprs->ctx());
    if (!u) return fail(aws::ApiError::validation(u.error()));
    w.update.emplace(std::move(u.value()));
    if (auto e = w.update->key_update_error(w.table.hash, w.table.range))
      return fail(aws::ApiError::validation(*e));
  }
  auto cond = w.exprs->condition(params, "ConditionExpression");
  if (!cond) return fail(cond.take_error());
  w.condition = std::move(*cond);
  if (kind == PlannedWrite::Kind::kCheck && !w.condition)
    return fail(aws::ApiError::validation(
        "1 validation error detected: Value null at 'conditionExpression' failed to satisfy "
        "constraint: Member must not be null"));
  if (auto r = w.exprs->finish(); !r) return fail(r.take_error());
  return w;
}

Result<WriteOutcome, aws::ApiError> decide(const PlannedWrite& w,
                                           const std::optional<json::object>& old) {
  WriteOutcome out;
  if (w.condition && !w.condition->evaluate(old ? *old : json::object())) {
    out.condition_failed = true;
    return out;
  }
  size_t old_bytes = old ? item_size(*old) : 0;
  switch (w.kind) {
    case PlannedWrite::Kind::kPut:
      out.next = w.item;
      break;
    case PlannedWrite::Kind::kDelete:
    case PlannedWrite::Kind::kCheck:
      break;
    case PlannedWrite::Kind::kUpdate: {
      json::object item = old ? *old : w.key_attrs;
      if (w.update) {
        auto outcome = w.update->apply(item, old.has_value());
        if (!outcome) return fail(aws::ApiError::validation(outcome.error()));
        item = std::move(outcome->item);
      }
      for (const auto& [name, v] : w.key_attrs) item[name] = v;  // keys never change
      if (item_size(item) > kMaxItemBytes)
        return fail(aws::ApiError::validation("Item size has exceeded the maximum allowed size"));
      out.next = std::move(item);
      break;
    }
  }
  out.bytes = std::max(old_bytes, out.next ? item_size(*out.next) : 0);
  return out;
}

// ConditionalCheckFailedException, with the item when the request asked for
// it (ReturnValuesOnConditionCheckFailure ALL_OLD).
aws::ApiError condition_failed(const json::object& params, const std::optional<json::object>& old) {
  aws::ApiError e = dynamodb::condition_failed();
  if (old && str_or_empty(params, "ReturnValuesOnConditionCheckFailure") == "ALL_OLD")
    e.extra_json = "\"Item\":" + json::serialize(*old);
  return e;
}

}  // namespace

// One planned write of a single-item operation: applied under the lock.
Result<std::pair<std::optional<json::object>, WriteOutcome>, aws::ApiError>
DynamoDbService::apply_one(const PlannedWrite& w, const Json& req) {
  std::lock_guard lk(write_mu_);
  auto t = current(w.table);
  if (!t) return fail(t.take_error());
  auto old = load_item(w.key);
  auto outcome = decide(w, old);
  if (!outcome) return fail(outcome.take_error());
  if (outcome->condition_failed) return fail(condition_failed(req, old));
  store::WriteBatch b;
  if (w.kind != PlannedWrite::Kind::kCheck)
    if (auto r = stage_change(b, *t, w.key, old, outcome->next); !r) return fail(r.take_error());
  if (!b.empty())
    if (auto r = write(b); !r) return fail(r.take_error());
  return std::pair{std::move(old), std::move(*outcome)};
}

DynamoDbService::OpResult DynamoDbService::put_item(const aws::Call&, Json& req) {
  return put_or_delete(req, /*is_delete=*/false);
}

DynamoDbService::OpResult DynamoDbService::delete_item(const aws::Call&, Json& req) {
  return put_or_delete(req, /*is_delete=*/true);
}

// PutItem and DeleteItem take the same parameters apart from Item / Key and
// answer alike (ReturnValues NONE or ALL_OLD).
DynamoDbService::OpResult DynamoDbService::put_or_delete(Json& req, bool is_delete) {
  auto t = table_of(req);
  if (!t) return fail(t.take_error());
  if (auto r = admit(*t, Throughput::kWrite); !r) return fail(r.take_error());
  auto old_wanted = return_old(req);
  if (!old_wanted) return fail(old_wanted.take_error());
  auto w = plan_write(is_delete ? PlannedWrite::Kind::kDelete : PlannedWrite::Kind::kPut,
                      std::move(*t), req);
  if (!w) return fail(w.take_error());
  auto done = apply_one(*w, req);
  if (!done) return fail(done.take_error());
  auto& [old, outcome] = *done;
  Json out;
  if (*old_wanted && old) out["Attributes"] = *old;
  charge(out, req, w->table, Throughput::kWrite, write_units(outcome.bytes));
  return out;
}

DynamoDbService::OpResult DynamoDbService::update_item(const aws::Call&, Json& req) {
  auto t = table_of(req);
  if (!t) return fail(t.take_error());
  if (auto r = admit(*t, Throughput::kWrite); !r) return fail(r.take_error());
  std::string_view rv = str_or_empty(req, "ReturnValues");
  if (!rv.empty() && rv != "NONE" && rv != "ALL_OLD" && rv != "UPDATED_OLD" && rv != "ALL_NEW" &&
      rv != "UPDATED_NEW")
    return fail(aws::ApiError::validation(
        "1 validation error detected: Value '" + std::string(rv) +
        "' at 'returnValues' failed to satisfy constraint: Member must satisfy enum value set: "
        "[ALL_NEW, UPDATED_OLD, ALL_OLD, NONE, UPDATED_NEW]"));
  auto w = plan_write(PlannedWrite::Kind::kUpdate, std::move(*t), req);
  if (!w) return fail(w.take_error());
  // Read, check, apply and write under the lock: concurrent increments of one
  // item lose nothing, and a condition sees the item it guards.
  auto done = apply_one(*w, req);
  if (!done) return fail(done.take_error());
  auto& [old, outcome] = *done;
  const json::object& item = *outcome.next;
  Json out;
  if (rv == "ALL_OLD" && old) out["Attributes"] = *old;
  if (rv == "ALL_NEW") out["Attributes"] = item;
  if ((rv == "UPDATED_OLD" || rv == "UPDATED_NEW") && w->update) {
    json::object changed = project(rv == "UPDATED_OLD" ? (old ? *old : json::object()) : item,
                                   w->update->target_paths());
    if (!changed.empty()) out["Attributes"] = std::move(changed);
  }
  charge(out, req, w->table, Throughput::kWrite, write_units(outcome.bytes));
  return out;
}

// ---- transactions ----

DynamoDbService::OpResult DynamoDbService::transact_write_items(const aws::Call&, Json& req) {
  auto list = list_param(req, "TransactItems", "transactItems", 100);
  if (!list) return fail(list.take_error());
  // ClientRequestToken: the same request again within 10 minutes succeeds
  // without being applied again; other parameters under the token are refused.
  std::string token(str_or_empty(req, "ClientRequestToken"));
  std::string fingerprint = json::serialize(**list);
  {
    std::lock_guard lk(tokens_mu_);
    TimePoint now = clock_.now();
    std::erase_if(tokens_,
                  [now](const auto& kv) { return now - kv.second.at > std::chrono::minutes(10); });
    if (!token.empty()) {
      auto it = tokens_.find(token);
      if (it != tokens_.end()) {
        if (it->second.fingerprint != fingerprint)
          return fail(aws::ApiError::make(
              400, "IdempotentParameterMismatchException",
              "Specified idempotency token has been used with different parameters"));
        return Json{};
      }
    }
  }
  std::vector<PlannedWrite> writes;
  std::set<std::string> keys;
  for (const auto& entry : **list) {
    const json::object* o = entry.is_object() ? &entry.get_object() : nullptr;
    std::optional<PlannedWrite::Kind> kind;
    const json::object* params = nullptr;
    int actions = 0;
    for (auto [name, k] : {std::pair{"ConditionCheck", PlannedWrite::Kind::kCheck},
                           std::pair{"Put", PlannedWrite::Kind::kPut},
                           std::pair{"Delete", PlannedWrite::Kind::kDelete},
                           std::pair{"Update", PlannedWrite::Kind::kUpdate}})
      if (const json::object* p = o ? object_member(*o, name) : nullptr) {
        ++actions;
        kind = k;
        params = p;
      }
    if (actions != 1)
      return fail(aws::ApiError::validation(
          "TransactItems can only contain one of Check, Put, Update or Delete"));
    auto t = table_of(*params);
    if (!t) return fail(t.take_error());
    if (auto r = admit(*t, Throughput::kWrite); !r) return fail(r.take_error());
    auto w = plan_write(*kind, std::move(*t), *params);
    if (!w) return fail(w.take_error());
    if (!keys.insert(w->key).second)
      return fail(aws::ApiError::validation(
          "Transaction request cannot include multiple operations on one item"));
    writes.push_back(std::move(*w));
  }

  // All or nothing: every condition is checked against the current items
  // under the write lock, then every change goes in one synced batch.
  std::lock_guard lk(write_mu_);
  store::WriteBatch b;
  json::array reasons;
  bool cancelled = false;
  std::vector<size_t> bytes;
  for (size_t i = 0; i < writes.size(); ++i) {
    const PlannedWrite& w = writes[i];
    const json::object& params = *object_member(
        (**list)[i].get_object(), w.kind == PlannedWrite::Kind::kCheck    ? "ConditionCheck"
                                  : w.kind == PlannedWrite::Kind::kPut    ? "Put"
                                  : w.kind == PlannedWrite::Kind::kDelete ? "Delete"
                                                                          : "Update");
    auto t = current(w.table);
    if (!t) return fail(t.take_error());
    auto old = load_item(w.key);
    auto outcome = decide(w, old);
    if (!outcome) return fail(outcome.take_error());
    if (outcome->condition_failed) {
      cancelled = true;
      json::object reason{{"Code", "ConditionalCheckFailed"},
                          {"Message", "The conditional request failed"}};
      if (old && str_or_empty(params, "ReturnValuesOnConditionCheckFailure") == "ALL_OLD")
        reason["Item"] = *old;
      reasons.push_back(std::move(reason));
      continue;
    }
    reasons.push_back(json::object{{"Code", "None"}});
    bytes.push_back(outcome->bytes);
    if (w.kind != PlannedWrite::Kind::kCheck)
      if (auto r = stage_change(b, *t, w.key, old, outcome->next); !r) return fail(r.take_error());
  }
  if (cancelled) {
    std::string codes;
    for (const auto& r : reasons)
      codes += (codes.empty() ? "" : ", ") + std::string(r.get_object().at("Code").get_string());
    aws::ApiError e = aws::ApiError::make(
        400, "TransactionCanceledException",
        "Transaction cancelled, please refer cancellation reasons for specific reasons [" + codes +
            "]");
    e.extra_json = "\"CancellationReasons\":" + json::serialize(reasons);
    return fail(std::move(e));
  }
  if (!b.empty())
    if (auto r = write(b); !r) return fail(r.take_error());
  if (!token.empty()) {
    std::lock_guard tl(tokens_mu_);
    tokens_[token] = TokenUse{fingerprint, clock_.now()};
  }
  // Transactions cost twice the units of plain writes, as on DynamoDB.
  Json out;
  std::map<std::string, double> units;
  for (size_t i = 0; i < writes.size(); ++i) {
    double u = 2 * write_units(bytes[i]);
    units[writes[i].table.name] += u;
    if (writes[i].table.billing_mode == "PROVISIONED")
      limiter_.consume(writes[i].table.id, Throughput::kWrite, writes[i].table.write_capacity, u);
  }
  report_capacity(out, req, units);
  return out;
}

DynamoDbService::OpResult DynamoDbService::transact_get_items(const aws::Call&, Json& req) {
  auto list = list_param(req, "TransactItems", "transactItems", 100);
  if (!list) return fail(list.take_error());
  struct Get {
    std::string key;
    std::optional<ProjectionExpression> projection;
  };
  std::vector<Get> gets;
  std::set<std::string> keys;
  for (const auto& entry : **list) {
    const json::object* get =
        entry.is_object() ? object_member(entry.get_object(), "Get") : nullptr;
    if (!get) return fail(aws::ApiError::validation("TransactItems must contain Get"));
    auto t = table_of(*get);
    if (!t) return fail(t.take_error());
    if (auto r = admit(*t, Throughput::kRead); !r) return fail(r.take_error());
    auto key_attrs = item_param(*get, "Key", "key");
    if (!key_attrs) return fail(key_attrs.take_error());
    auto key = item_store_key(*t, *key_attrs, true);
    if (!key) return fail(key.take_error());
    if (!keys.insert(*key).second)
      return fail(aws::ApiError::validation(
          "Transaction request cannot include multiple operations on one item"));
    auto exprs = RequestExpressions::from(*get);
    if (!exprs) return fail(exprs.take_error());
    auto projection = (*exprs)->projection(*get);
    if (!projection) return fail(projection.take_error());
    if (auto r = (*exprs)->finish(); !r) return fail(r.take_error());
    gets.push_back({std::move(*key), std::move(*projection)});
  }
  // One consistent view: no write runs while the items are read.
  std::lock_guard lk(write_mu_);
  json::array responses;
  for (const auto& g : gets) {
    json::object r;
    if (auto item = load_item(g.key)) r["Item"] = g.projection ? g.projection->apply(*item) : *item;
    responses.push_back(std::move(r));
  }
  return Json{{"Responses", std::move(responses)}};
}

DynamoDbService::OpResult DynamoDbService::get_item(const aws::Call&, Json& req) {
  auto t = table_of(req);
  if (!t) return fail(t.take_error());
  if (auto r = admit(*t, Throughput::kRead); !r) return fail(r.take_error());
  auto key_param = item_param(req, "Key", "key");
  if (!key_param) return fail(key_param.take_error());
  json::object& key_attrs = *key_param;
  auto exprs = RequestExpressions::from(req);
  if (!exprs) return fail(exprs.take_error());
  auto projection = (*exprs)->projection(req);
  if (!projection) return fail(projection.take_error());
  if (auto r = (*exprs)->finish(); !r) return fail(r.take_error());
  auto key = item_store_key(*t, key_attrs, true);
  if (!key) return fail(key.take_error());
  bool consistent = false;
  if (auto* v = req.if_contains("ConsistentRead"); v && v->is_bool()) consistent = v->get_bool();
  auto item = load_item(*key);
  Json out;
  size_t size = item ? item_size(*item) : 0;
  if (item) out["Item"] = *projection ? (*projection)->apply(*item) : std::move(*item);
  charge(out, req, *t, Throughput::kRead, read_units(size, consistent));
  return out;
}

DynamoDbService::OpResult DynamoDbService::batch_write_item(const aws::Call&, Json& req) {
  const json::object* request_items = object_member(req, "RequestItems");
  if (!request_items || request_items->empty())
    return fail(aws::ApiError::validation(
        "1 validation error detected: Value null at 'requestItems' failed to satisfy "
        "constraint: Member must not be null"));
  // Everything is checked before anything is written: a malformed request
  // writes nothing, as on DynamoDB.
  struct Write {
    const TableSchema* table;
    std::string key;
    std::optional<json::object> item;  // empty: a delete
  };
  std::vector<TableSchema> tables;
  tables.reserve(request_items->size());
  std::vector<Write> writes;
  size_t count = 0;
  for (const auto& [name, list] : *request_items) {
    auto t = load_table(name);
    if (!t) return fail(table_not_found(name, false));
    if (auto r = admit(*t, Throughput::kWrite); !r) return fail(r.take_error());
    tables.push_back(std::move(*t));
    if (!list.is_array() || list.get_array().empty())
      return fail(aws::ApiError::validation(
          "1 validation error detected: Value at 'requestItems." + std::string(name) +
          "' failed to satisfy constraint: Member must have length greater than or equal to 1"));
    std::set<std::string> keys;
    for (const auto& w : list.get_array()) {
      if (++count > 25)
        return fail(
            aws::ApiError::validation("Too many items requested for the BatchWriteItem call"));
      const json::object* put =
          w.is_object() ? object_member(w.get_object(), "PutRequest") : nullptr;
      const json::object* del =
          w.is_object() ? object_member(w.get_object(), "DeleteRequest") : nullptr;
      if (!put == !del)
        return fail(aws::ApiError::validation(
            "One or more parameter values were invalid: a WriteRequest needs exactly one of "
            "PutRequest and DeleteRequest"));
      Write out{&tables.back(), {}, std::nullopt};
      if (put) {
        const json::object* item = object_member(*put, "Item");
        if (!item) return fail(aws::ApiError::validation("Item must not be null"));
        json::object copy = *item;
        if (auto r = normalize_item(copy); !r) return fail(r.take_error());
        if (item_size(copy) > kMaxItemBytes)
          return fail(aws::ApiError::validation("Item size has exceeded the maximum allowed size"));
        auto key = item_store_key(*out.table, copy, false);
        if (!key) return fail(key.take_error());
        out.key = std::move(*key);
        out.item = std::move(copy);
      } else {
        const json::object* k = object_member(*del, "Key");
        if (!k) return fail(aws::ApiError::validation("Key must not be null"));
        json::object copy = *k;
        if (auto r = normalize_item(copy); !r) return fail(r.take_error());
        auto key = item_store_key(*out.table, copy, true);
        if (!key) return fail(key.take_error());
        out.key = std::move(*key);
      }
      if (!keys.insert(out.key).second)
        return fail(aws::ApiError::validation("Provided list of item keys contains duplicates"));
      writes.push_back(std::move(out));
    }
  }
  std::lock_guard lk(write_mu_);
  store::WriteBatch b;
  std::map<std::string, double> units;
  for (auto& t : tables) {
    auto now = current(t);
    if (!now) return fail(now.take_error());
    t = std::move(*now);
  }
  for (const auto& w : writes) {
    auto old = load_item(w.key);
    size_t size = std::max(w.item ? item_size(*w.item) : 0, old ? item_size(*old) : 0);
    units[w.table->name] += write_units(size);
    if (w.table->billing_mode == "PROVISIONED")
      limiter_.consume(w.table->id, Throughput::kWrite, w.table->write_capacity, write_units(size));
    if (auto r = stage_change(b, *w.table, w.key, old, w.item); !r) return fail(r.take_error());
  }
  if (!b.empty())
    if (auto r = write(b); !r) return fail(r.take_error());
  Json out{{"UnprocessedItems", json::object{}}};
  report_capacity(out, req, units);
  return out;
}

DynamoDbService::OpResult DynamoDbService::batch_get_item(const aws::Call&, Json& req) {
  const json::object* request_items = object_member(req, "RequestItems");
  if (!request_items || request_items->empty())
    return fail(aws::ApiError::validation(
        "1 validation error detected: Value null at 'requestItems' failed to satisfy "
        "constraint: Member must not be null"));
  constexpr size_t kMaxResponseBytes = 16 * 1024 * 1024;
  struct Get {
    std::string table;
    std::string key;
    json::object key_attrs;
  };
  std::vector<Get> gets;
  std::map<std::string, json::object> settings;  // per table: ConsistentRead etc., echoed back
  std::map<std::string, ProjectionExpression> projections;
  for (const auto& [name, spec] : *request_items) {
    if (!spec.is_object()) return fail(aws::ApiError::validation("Invalid RequestItems"));
    auto exprs = RequestExpressions::from(spec.get_object());
    if (!exprs) return fail(exprs.take_error());
    auto projection = (*exprs)->projection(spec.get_object());
    if (!projection) return fail(projection.take_error());
    if (auto r = (*exprs)->finish(); !r) return fail(r.take_error());
    if (*projection) projections.emplace(std::string(name), std::move(**projection));
    auto t = load_table(name);
    if (!t) return fail(table_not_found(name, false));
    if (auto r = admit(*t, Throughput::kRead); !r) return fail(r.take_error());
    const json::value* keys = spec.get_object().if_contains("Keys");
    if (!keys || !keys->is_array() || keys->get_array().empty())
      return fail(aws::ApiError::validation(
          "1 validation error detected: Value at 'requestItems." + std::string(name) +
          ".member.keys' failed to satisfy constraint: Member must have length greater than or "
          "equal to 1"));
    std::set<std::string> seen;
    for (const auto& k : keys->get_array()) {
      if (gets.size() >= 100)
        return fail(
            aws::ApiError::validation("Too many items requested for the BatchGetItem call"));
      if (!k.is_object())
        return fail(
            aws::ApiError::validation("The provided key element does not match the schema"));
      json::object copy = k.get_object();
      if (auto r = normalize_item(copy); !r) return fail(r.take_error());
      auto key = item_store_key(*t, copy, true);
      if (!key) return fail(key.take_error());
      if (!seen.insert(*key).second)
        return fail(aws::ApiError::validation("Provided list of item keys contains duplicates"));
      gets.push_back({std::string(name), std::move(*key), std::move(copy)});
    }
    settings[std::string(name)] = spec.get_object();
  }
  json::object responses, unprocessed;
  for (const auto& [name, spec] : settings) responses[name] = json::array{};
  size_t bytes = 0;
  for (auto& g : gets) {
    if (bytes >= kMaxResponseBytes) {
      // Past 16 MB the rest comes back to be asked for again, as on DynamoDB.
      auto& entry = unprocessed[g.table];
      if (entry.is_null()) {
        json::object spec = settings[g.table];
        spec["Keys"] = json::array{};
        entry = std::move(spec);
      }
      entry.get_object()["Keys"].get_array().push_back(std::move(g.key_attrs));
      continue;
    }
    if (auto item = load_item(g.key)) {
      bytes += item_size(*item);
      auto p = projections.find(g.table);
      responses[g.table].get_array().push_back(p == projections.end() ? std::move(*item)
                                                                      : p->second.apply(*item));
    }
  }
  return Json{{"Responses", std::move(responses)}, {"UnprocessedKeys", std::move(unprocessed)}};
}

}  // namespace nimbus::services::dynamodb
