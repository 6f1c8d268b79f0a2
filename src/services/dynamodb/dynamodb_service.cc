#include "services/dynamodb/dynamodb_service.h"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <cmath>
#include <functional>
#include <set>

#include "services/dynamodb/expression.h"
#include "services/dynamodb/index.h"
#include "services/dynamodb/item.h"
#include "services/dynamodb/number.h"
#include "services/dynamodb/streams.h"
#include "services/dynamodb/wire.h"

namespace nimbus::services::dynamodb {

namespace json = boost::json;

namespace {

constexpr std::string_view kSequenceKey = "dynamodb/stream-sequence";

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

// Parameters this version does not implement are refused by name rather
// than ignored: a condition silently skipped would be a wrong answer.
Result<void, aws::ApiError> refuse_unsupported(const json::object& req,
                                               std::initializer_list<std::string_view> names) {
  for (auto name : names)
    if (req.contains(name))
      return fail(aws::ApiError::validation("Nimbus does not support " + std::string(name) +
                                            " on this operation yet (docs/COMPATIBILITY.md)"));
  return {};
}

// The expressions of one request, parsed against one ExpressionContext (it
// records which names and values they use: DynamoDB refuses unused ones).
// Heap-held because the context points into the copies it checks.
class RequestExpressions {
 public:
  static Result<std::unique_ptr<RequestExpressions>, aws::ApiError> from(const json::object& req) {
    std::unique_ptr<RequestExpressions> e(new RequestExpressions());
    const json::object* names = object_member(req, "ExpressionAttributeNames");
    const json::object* values = object_member(req, "ExpressionAttributeValues");
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
  Result<std::optional<ConditionExpression>, aws::ApiError> condition(const json::object& req,
                                                                      std::string_view member) {
    std::string_view text = str_or_empty(req, member);
    if (!req.contains(member)) return std::optional<ConditionExpression>();
    auto c = ConditionExpression::parse(text, *ctx_, member);
    if (!c) return fail(aws::ApiError::validation(c.error()));
    return std::optional<ConditionExpression>(std::move(c.value()));
  }
  Result<std::optional<ProjectionExpression>, aws::ApiError> projection(const json::object& req) {
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
  RequestExpressions() = default;
  json::object names_, values_;
  std::optional<ExpressionContext> ctx_;
};

// A required item-shaped parameter (Item, Key), checked and normalised.
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

}  // namespace

DynamoDbService::DynamoDbService(store::Store& store, Clock& clock,
                                 std::function<void(std::function<void()>)> background)
    : store_(store), clock_(clock), limiter_(clock), background_(std::move(background)) {}

DynamoDbService::~DynamoDbService() {
  std::lock_guard lk(timer_mu_);
  stopping_ = true;
  ttl_timer_.cancel();
}

void DynamoDbService::start_background_work() {
  // Index builds a restart interrupted go on from the start (entries are
  // idempotent puts).
  for (auto& [key, value] : store_.scan(kTablePrefix)) {
    auto t = TableSchema::from_json(value);
    if (!t) continue;
    for (const auto& ix : t->indexes)
      if (ix.backfilling) schedule_backfill(t->name, ix.id);
  }
  schedule_ttl_sweep();
}

void DynamoDbService::schedule_backfill(std::string table, std::string index_id) {
  std::weak_ptr<bool> alive = alive_;
  background_([this, alive, table = std::move(table), index_id = std::move(index_id)] {
    if (!alive.lock()) return;
    try {
      backfill(table, index_id);
    } catch (const std::exception& e) {
      spdlog::error("dynamodb: building index of {} failed: {}", table, e.what());
    }
  });
}

// Copies every existing item into a new GSI, a page at a time under the
// write lock. Writes meanwhile maintain the index themselves (it is in the
// schema from the start), so each page re-reads its items under the lock
// and copies what is stored then; the index turns ACTIVE at the end.
void DynamoDbService::backfill(const std::string& table, const std::string& index_id) {
  constexpr size_t kPage = 256;
  std::string cursor;
  for (bool more = true; more;) {
    auto planned = load_table(table);
    if (!planned) return;
    auto rows = store_.scan(table_items_prefix(*planned), cursor, kPage);
    more = rows.size() == kPage;
    std::lock_guard lk(write_mu_);
    auto t = current(*planned);
    if (!t) return;
    const SecondaryIndex* ix = nullptr;
    for (const auto& i : t->indexes)
      if (i.id == index_id) ix = &i;
    if (!ix) return;  // deleted meanwhile
    store::WriteBatch b;
    for (auto& [key, value] : rows) {
      cursor = key;
      auto item = load_item(key);
      if (!item) continue;
      // An item whose attribute has another type than the index key is left
      // out, as DynamoDB's backfill leaves such violations out.
      if (auto e = index_entry(*t, *ix, *item); e && *e)
        b.put((*e)->key, json::serialize((*e)->projected));
    }
    if (!b.empty())
      if (auto r = write(b); !r) throw std::runtime_error(r.error().message);
  }
  std::lock_guard lk(write_mu_);
  auto t = load_table(table);
  if (!t) return;
  for (auto& i : t->indexes)
    if (i.id == index_id) i.backfilling = false;
  if (auto r = save_table(*t); !r) throw std::runtime_error(r.error().message);
}

// The timer fires on the clock's thread, which must not block: the sweep
// itself (scans and deletes) runs on `background_`, and schedules the next.
void DynamoDbService::schedule_ttl_sweep() {
  std::lock_guard lk(timer_mu_);
  if (stopping_) return;
  std::weak_ptr<bool> alive = alive_;
  ttl_timer_ = clock_.call_after(kTtlSweepEvery, [this, alive] {
    if (!alive.lock()) return;
    background_([this, alive] {
      if (!alive.lock()) return;
      try {
        expire_items();
        trim_streams();
      } catch (const std::exception& e) {
        spdlog::error("dynamodb: TTL sweep failed: {}", e.what());
      }
      schedule_ttl_sweep();
    });
  });
}

// DynamoDB deletes an item some time after its TTL attribute (a number of
// epoch seconds) has passed; items without the attribute, or with another
// type, never expire.
size_t DynamoDbService::expire_items() {
  double now = static_cast<double>(clock_.wall_ms()) / 1000.0;
  size_t expired = 0;
  for (auto& [key, value] : store_.scan(kTablePrefix)) {
    auto t = TableSchema::from_json(value);
    if (!t || t->ttl_attribute.empty()) continue;
    std::string cursor;
    for (;;) {
      auto rows = store_.scan(table_items_prefix(*t), cursor, 256);
      if (rows.empty()) break;
      for (auto& [item_key, item_text] : rows) {
        cursor = item_key;
        auto item = parse_item(item_text);
        if (!item) continue;
        const json::value* attr = item->if_contains(t->ttl_attribute);
        if (!attr || !attr->is_object() || !attr->get_object().contains("N")) continue;
        auto n = Number::parse(attr->get_object().at("N").get_string());
        if (!n || *n > Number::from_int(static_cast<int64_t>(now))) continue;
        // Under the write lock, and only if the item is still the expired
        // one: a write since the scan may have given it a new TTL.
        std::lock_guard lk(write_mu_);
        auto stored = store_.get(item_key);
        if (!stored || *stored != item_text) continue;
        auto table = current(*t);
        if (!table) break;  // deleted meanwhile
        store::WriteBatch b;
        if (!stage_change(b, *table, item_key, item, std::nullopt, /*by_ttl=*/true)) continue;
        if (store_.write(b)) ++expired;
      }
    }
  }
  return expired;
}

const std::map<std::string, DynamoDbService::Op, std::less<>>& DynamoDbService::ops() {
  static const std::map<std::string, Op, std::less<>> table{
      {"DynamoDB_20120810.CreateTable", &DynamoDbService::create_table},
      {"DynamoDB_20120810.DescribeTable", &DynamoDbService::describe_table},
      {"DynamoDB_20120810.ListTables", &DynamoDbService::list_tables},
      {"DynamoDB_20120810.DeleteTable", &DynamoDbService::delete_table},
      {"DynamoDB_20120810.PutItem", &DynamoDbService::put_item},
      {"DynamoDB_20120810.GetItem", &DynamoDbService::get_item},
      {"DynamoDB_20120810.DeleteItem", &DynamoDbService::delete_item},
      {"DynamoDB_20120810.Scan", &DynamoDbService::scan},
      {"DynamoDB_20120810.BatchWriteItem", &DynamoDbService::batch_write_item},
      {"DynamoDB_20120810.BatchGetItem", &DynamoDbService::batch_get_item},
      {"DynamoDB_20120810.UpdateItem", &DynamoDbService::update_item},
      {"DynamoDB_20120810.TagResource", &DynamoDbService::tag_resource},
      {"DynamoDB_20120810.UntagResource", &DynamoDbService::untag_resource},
      {"DynamoDB_20120810.ListTagsOfResource", &DynamoDbService::list_tags_of_resource},
      {"DynamoDB_20120810.UpdateTable", &DynamoDbService::update_table},
      {"DynamoDB_20120810.UpdateTimeToLive", &DynamoDbService::update_time_to_live},
      {"DynamoDB_20120810.DescribeTimeToLive", &DynamoDbService::describe_time_to_live},
      {"DynamoDB_20120810.TransactWriteItems", &DynamoDbService::transact_write_items},
      {"DynamoDB_20120810.TransactGetItems", &DynamoDbService::transact_get_items},
      {"DynamoDB_20120810.Query", &DynamoDbService::query},
      // DynamoDB Streams signs as "dynamodb" too, so it arrives here.
      {"DynamoDBStreams_20120810.ListStreams", &DynamoDbService::list_streams},
      {"DynamoDBStreams_20120810.DescribeStream", &DynamoDbService::describe_stream},
      {"DynamoDBStreams_20120810.GetShardIterator", &DynamoDbService::get_shard_iterator},
      {"DynamoDBStreams_20120810.GetRecords", &DynamoDbService::get_records},
  };
  return table;
}

void DynamoDbService::handle(aws::Call call) {
  OpResult r = [&]() -> OpResult {
    try {
      return dispatch(call);
    } catch (const std::exception& e) {  // a broken invariant fails this request only
      spdlog::error("dynamodb: request failed: {}", e.what());
      return fail(aws::ApiError::internal(e.what()));
    }
  }();
  if (!r) return reply_error(call, r.error());
  auto resp = http::Response::json(200, json::serialize(r.value()));
  resp.headers.set("Content-Type", "application/x-amz-json-1.0");
  resp.headers.set("x-amzn-RequestId", call.request_id);
  call.reply(std::move(resp));
}

DynamoDbService::OpResult DynamoDbService::dispatch(const aws::Call& call) {
  std::string target = call.http.headers.get_or("X-Amz-Target");
  auto it = ops().find(target);
  if (it == ops().end())
    return fail(aws::ApiError::unknown_operation("Unknown operation " + target));
  Json body;
  if (!call.http.body.empty()) {
    boost::system::error_code ec;
    json::value v = json::parse(call.http.body, ec);
    if (ec || !v.is_object())
      return fail(aws::ApiError::make(400, "SerializationException",
                                      "Start of structure or map found where not expected."));
    body = std::move(v.get_object());
  }
  return (this->*(it->second))(call, body);
}

Result<boost::json::object, aws::ApiError> DynamoDbService::call(std::string_view target,
                                                                 boost::json::object request) {
  auto it = ops().find(target);
  if (it == ops().end())
    return fail(aws::ApiError::unknown_operation("Unknown operation " + std::string(target)));
  aws::Call internal;
  try {
    return (this->*(it->second))(internal, request);
  } catch (const std::exception& e) {
    return fail(aws::ApiError::internal(e.what()));
  }
}

void DynamoDbService::reset() {
  std::lock_guard lk(write_mu_);
  (void)store_.delete_prefix("dynamodb/");
}

std::optional<TableSchema> DynamoDbService::load_table(std::string_view name) const {
  auto text = store_.get(std::string(kTablePrefix) + std::string(name));
  if (!text) return std::nullopt;
  auto t = TableSchema::from_json(*text);
  if (!t) throw std::runtime_error(t.error().message);
  return std::move(t.value());
}

Result<TableSchema, aws::ApiError> DynamoDbService::table_of(const Json& req) const {
  std::string_view name = str_or_empty(req, "TableName");
  if (name.empty())
    return fail(aws::ApiError::validation(
        "1 validation error detected: Value null at 'tableName' failed to satisfy constraint: "
        "Member must not be null"));
  auto t = load_table(name);
  if (!t) return fail(table_not_found(name, false));
  return std::move(*t);
}

std::optional<DynamoDbService::Json> DynamoDbService::load_item(const std::string& key) const {
  auto text = store_.get(key);
  if (!text) return std::nullopt;
  auto item = parse_item(*text);
  if (!item) throw std::runtime_error("dynamodb: corrupt item record");
  return item;
}

Result<void, aws::ApiError> DynamoDbService::write(const store::WriteBatch& batch) {
  if (auto r = store_.write(batch); !r)
    return fail(aws::ApiError::service_failure("storage write failed: " + r.error().message));
  return {};
}

// Under write_mu_: the table's definition now. A write planned before an
// UpdateTable added an index must still maintain that index.
Result<TableSchema, aws::ApiError> DynamoDbService::current(const TableSchema& planned) const {
  auto t = load_table(planned.name);
  if (!t || t->id != planned.id) return fail(table_not_found(planned.name, false));
  return std::move(*t);
}

Result<void, aws::ApiError> DynamoDbService::stage_change(
    store::WriteBatch& b, const TableSchema& t, const std::string& key,
    const std::optional<Json>& old, const std::optional<Json>& next, bool by_ttl) {
  for (const auto& ix : t.indexes) {
    std::optional<IndexEntry> before, after;
    if (old)
      if (auto e = index_entry(t, ix, *old)) before = std::move(*e);  // stored: valid then
    if (next) {
      auto e = index_entry(t, ix, *next);
      if (!e) return fail(e.take_error());
      after = std::move(*e);
    }
    if (before && (!after || after->key != before->key)) b.del(before->key);
    if (after) b.put(after->key, json::serialize(after->projected));
  }
  if (next)
    b.put(key, json::serialize(*next));
  else if (old)
    b.del(key);
  if (t.stream_enabled) {
    uint64_t seq = next_sequence(b);
    if (auto record = stream_record(t, old, next, seq, clock_.wall_ms(), by_ttl))
      b.put(stream_record_key(t, seq), json::serialize(*record));
  }
  return {};
}

// Under write_mu_. The counter is stored in the batch that uses it, so
// sequence numbers keep increasing across restarts; it starts at the wall
// clock in microseconds, as DynamoDB's grow with time.
uint64_t DynamoDbService::last_sequence() {
  if (!sequence_) {
    uint64_t stored = 0;
    if (auto text = store_.get(std::string(kSequenceKey)))
      stored = parse_sequence(*text).value_or(0);
    sequence_ = std::max(stored, static_cast<uint64_t>(clock_.wall_ms()) * 1000);
  }
  return *sequence_;
}

uint64_t DynamoDbService::next_sequence(store::WriteBatch& b) {
  sequence_ = last_sequence() + 1;
  b.put(std::string(kSequenceKey), std::to_string(*sequence_));
  return *sequence_;
}

// ---- tables ----

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

// ---- items ----

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
  aws::ApiError e = condition_failed();
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
  if (auto r = refuse_unsupported(req, {"Expected", "ConditionalOperator"}); !r)
    return fail(r.take_error());
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
  if (auto r = refuse_unsupported(req, {"AttributeUpdates", "Expected", "ConditionalOperator"}); !r)
    return fail(r.take_error());
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
  const json::value* list = req.if_contains("TransactItems");
  if (!list || !list->is_array() || list->get_array().empty() || list->get_array().size() > 100)
    return fail(aws::ApiError::validation(
        "1 validation error detected: Value at 'transactItems' failed to satisfy constraint: "
        "Member must have length less than or equal to 100 and greater than or equal to 1"));
  // ClientRequestToken: the same request again within 10 minutes succeeds
  // without being applied again; other parameters under the token are refused.
  std::string token(str_or_empty(req, "ClientRequestToken"));
  std::string fingerprint = json::serialize(*list);
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
  for (const auto& entry : list->get_array()) {
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
        list->get_array()[i].get_object(), w.kind == PlannedWrite::Kind::kCheck ? "ConditionCheck"
                                           : w.kind == PlannedWrite::Kind::kPut ? "Put"
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
  std::string_view mode = str_or_empty(req, "ReturnConsumedCapacity");
  if (mode == "TOTAL" || mode == "INDEXES") {
    json::array consumed;
    for (auto& [name, u] : units)
      consumed.push_back(json::object{{"TableName", name}, {"CapacityUnits", u}});
    out["ConsumedCapacity"] = std::move(consumed);
  }
  return out;
}

DynamoDbService::OpResult DynamoDbService::transact_get_items(const aws::Call&, Json& req) {
  const json::value* list = req.if_contains("TransactItems");
  if (!list || !list->is_array() || list->get_array().empty() || list->get_array().size() > 100)
    return fail(aws::ApiError::validation(
        "1 validation error detected: Value at 'transactItems' failed to satisfy constraint: "
        "Member must have length less than or equal to 100 and greater than or equal to 1"));
  struct Get {
    std::string key;
    std::optional<ProjectionExpression> projection;
  };
  std::vector<Get> gets;
  std::set<std::string> keys;
  for (const auto& entry : list->get_array()) {
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
  if (auto r = refuse_unsupported(req, {"AttributesToGet"}); !r) return fail(r.take_error());
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

// ---- reads ----

namespace {

// One page of Scan or Query: rows come from `fetch` (after a cursor, in the
// read's direction); `admit` decides per row whether it is in the read at all
// (a segment, a key condition) or ends it. Limit counts the items read before
// the filter, as DynamoDB's does; the page also ends at 1 MB.
struct Page {
  json::array items;
  size_t count = 0, scanned = 0, bytes = 0;
  std::optional<json::object> last_key;
};
enum class Admit { kTake, kSkip, kStop };

// What a Query or Scan reads: the table or one of its indexes, with the key
// that orders it.
struct ReadSource {
  const SecondaryIndex* index = nullptr;  // null: the table itself
  KeyAttribute hash;
  std::optional<KeyAttribute> range;
  std::string prefix;  // every row's store key starts with it

  // LastEvaluatedKey: the table's key, and an index's key too.
  json::object last_key(const TableSchema& t, const json::object& row) const {
    json::object k = key_of(t, row);
    if (index)
      for (const KeyAttribute* a : {&hash, range ? &*range : nullptr})
        if (const json::value* v = a ? row.if_contains(a->name) : nullptr) k[a->name] = *v;
    return k;
  }
};

Result<ReadSource, aws::ApiError> read_source(const TableSchema& t, const json::object& req) {
  ReadSource src;
  if (!req.contains("IndexName")) {
    src.hash = t.hash;
    src.range = t.range;
    src.prefix = table_items_prefix(t);
    return src;
  }
  std::string_view name = str_or_empty(req, "IndexName");
  src.index = t.find_index(name);
  if (!src.index)
    return fail(aws::ApiError::validation("The table does not have the specified index: " +
                                          std::string(name)));
  if (src.index->backfilling)
    return fail(aws::ApiError::validation("Cannot read from backfilling global secondary index: " +
                                          std::string(name)));
  if (src.index->global)
    if (auto* v = req.if_contains("ConsistentRead"); v && v->is_bool() && v->get_bool())
      return fail(aws::ApiError::validation(
          "Consistent reads are not supported on global secondary indexes"));
  src.hash = src.index->hash;
  src.range = src.index->range;
  src.prefix = index_entries_prefix(t, *src.index);
  return src;
}

// `expand`, when set, replaces a row with what the read returns of it (an
// LSI read asking for attributes the index does not project).
Page read_page(const TableSchema& t, const ReadSource& src, std::string cursor, size_t limit,
               const std::function<store::KeyValues(const std::string&)>& fetch,
               const std::function<Admit(std::string_view, const json::object&)>& admit,
               const std::function<void(json::object&)>& expand, const ConditionExpression* filter,
               const ProjectionExpression* projection, bool count_only) {
  constexpr size_t kBatch = 256;
  Page page;
  bool more = true, stopped = false;
  while (more && !stopped && page.scanned < limit && page.bytes < DynamoDbService::kPageBytes) {
    auto rows = fetch(cursor);
    more = rows.size() == kBatch;
    for (auto& [key, value] : rows) {
      cursor = key;
      auto item = parse_item(value);
      if (!item) throw std::runtime_error("dynamodb: corrupt item record");
      Admit a = admit(key, *item);
      if (a == Admit::kStop) {
        stopped = true;
        break;
      }
      if (a == Admit::kSkip) continue;
      ++page.scanned;
      page.bytes += item_size(*item);
      page.last_key = src.last_key(t, *item);
      if (expand) expand(*item);
      if (!filter || filter->evaluate(*item)) {
        ++page.count;
        if (!count_only) page.items.push_back(projection ? projection->apply(*item) : *item);
      }
      if (page.scanned >= limit || page.bytes >= DynamoDbService::kPageBytes) break;
    }
  }
  // The read is over when the source ran out or the key range ended before
  // the page filled; otherwise the caller gets LastEvaluatedKey to go on.
  bool finished =
      stopped || (!more && page.scanned < limit && page.bytes < DynamoDbService::kPageBytes);
  if (finished) page.last_key.reset();
  return page;
}

Result<size_t, aws::ApiError> read_limit(const json::object& req) {
  auto* v = req.if_contains("Limit");
  if (!v) return std::numeric_limits<size_t>::max();
  if (!v->is_int64() || v->get_int64() < 1)
    return fail(aws::ApiError::validation(
        "1 validation error detected: Value '" + json::serialize(*v) +
        "' at 'limit' failed to satisfy constraint: Member must have value greater than or "
        "equal to 1"));
  return static_cast<size_t>(v->get_int64());
}

// Select alone: whether the read answers with a count only.
Result<bool, aws::ApiError> count_only(std::string_view select, bool has_projection) {
  if (select.empty() || select == "ALL_ATTRIBUTES" || select == "SPECIFIC_ATTRIBUTES") {
    if (select == "ALL_ATTRIBUTES" && has_projection)
      return fail(aws::ApiError::validation(
          "Cannot specify the ProjectionExpression when choosing to get ALL_ATTRIBUTES"));
    if (select == "SPECIFIC_ATTRIBUTES" && !has_projection)
      return fail(aws::ApiError::validation(
          "Must specify the AttributesToGet or ProjectionExpression when choosing to get "
          "SPECIFIC_ATTRIBUTES"));
    return false;
  }
  if (select == "COUNT") {
    if (has_projection)
      return fail(aws::ApiError::validation(
          "Cannot specify the ProjectionExpression when choosing to get COUNT"));
    return true;
  }
  return fail(aws::ApiError::validation(
      "1 validation error detected: Value '" + std::string(select) +
      "' at 'select' failed to satisfy constraint: Member must satisfy enum value set: "
      "[SPECIFIC_ATTRIBUTES, COUNT, ALL_ATTRIBUTES, ALL_PROJECTED_ATTRIBUTES]"));
}

// What a read returns of each row, from Select and ProjectionExpression as
// DynamoDB checks them together.
struct Selection {
  bool count_only = false;
  bool table_items = false;  // an LSI read that needs attributes it does not project
};

Result<Selection, aws::ApiError> selection(const json::object& req, bool has_projection,
                                           const ReadSource& src) {
  std::string_view select = str_or_empty(req, "Select");
  const SecondaryIndex* ix = src.index;
  bool partial = ix && ix->projection_type != "ALL";
  if (select == "ALL_ATTRIBUTES" && partial && ix->global)
    return fail(
        invalid_parameter("Select type ALL_ATTRIBUTES is not supported for global "
                          "secondary index " +
                          ix->name + " because its projection type is not ALL"));
  // DynamoDB fetches from the table what an LSI does not hold; a GSI
  // answers with what it projects.
  Selection sel;
  sel.table_items = partial && !ix->global && (select == "ALL_ATTRIBUTES" || has_projection);
  if (select == "ALL_PROJECTED_ATTRIBUTES") {
    if (!ix)
      return fail(aws::ApiError::validation(
          "ALL_PROJECTED_ATTRIBUTES can be used only when Querying using an IndexName"));
    if (has_projection)
      return fail(
          aws::ApiError::validation("Cannot specify the ProjectionExpression when choosing to get "
                                    "ALL_PROJECTED_ATTRIBUTES"));
    return sel;
  }
  auto answer = count_only(select, has_projection);
  if (!answer) return fail(answer.take_error());
  sel.count_only = *answer;
  if (sel.count_only) sel.table_items = false;
  return sel;
}
json::object page_answer(Page page, bool count_only) {
  json::object out;
  out["Count"] = page.count;
  out["ScannedCount"] = page.scanned;
  if (!count_only) out["Items"] = std::move(page.items);
  if (page.last_key) out["LastEvaluatedKey"] = std::move(*page.last_key);
  return out;
}

}  // namespace

// The store key of ExclusiveStartKey, checked against the table's key.
namespace {
Result<std::string, aws::ApiError> start_key(const TableSchema& t, const ReadSource& src,
                                             const json::object& req) {
  const json::object* esk = object_member(req, "ExclusiveStartKey");
  if (!esk) return std::string();
  if (src.index) return index_start_key(t, *src.index, *esk);
  json::object k = *esk;
  if (auto r = normalize_item(k); !r) return fail(r.take_error());
  auto key = item_store_key(t, k, true);
  if (!key)
    return fail(
        aws::ApiError::validation("The provided starting key is invalid: " + key.error().message));
  return std::move(*key);
}
}  // namespace

DynamoDbService::OpResult DynamoDbService::scan(const aws::Call&, Json& req) {
  if (auto r = refuse_unsupported(req, {"ScanFilter", "AttributesToGet", "ConditionalOperator"});
      !r)
    return fail(r.take_error());
  auto t = table_of(req);
  if (!t) return fail(t.take_error());
  auto src = read_source(*t, req);
  if (!src) return fail(src.take_error());
  if (auto r = admit(*t, Throughput::kRead); !r) return fail(r.take_error());
  auto limit = read_limit(req);
  if (!limit) return fail(limit.take_error());
  auto exprs = RequestExpressions::from(req);
  if (!exprs) return fail(exprs.take_error());
  auto filter = (*exprs)->condition(req, "FilterExpression");
  if (!filter) return fail(filter.take_error());
  auto projection = (*exprs)->projection(req);
  if (!projection) return fail(projection.take_error());
  if (auto r = (*exprs)->finish(); !r) return fail(r.take_error());
  auto sel = selection(req, projection->has_value(), *src);
  if (!sel) return fail(sel.take_error());
  // Parallel scan: an item belongs to segment hash(partition key) mod total,
  // so that the segments together return every item exactly once.
  int64_t segment = 0, total = 1;
  bool has_segment = req.contains("Segment"), has_total = req.contains("TotalSegments");
  if (has_segment != has_total)
    return fail(aws::ApiError::validation(
        has_segment ? "The TotalSegments parameter is required but was not present in the "
                      "request when Segment parameter is present"
                    : "The Segment parameter is required but was not present in the request "
                      "when parameter TotalSegments is present"));
  if (has_total) {
    auto* s = req.if_contains("Segment");
    auto* n = req.if_contains("TotalSegments");
    if (!n->is_int64() || n->get_int64() < 1 || n->get_int64() > 1000000)
      return fail(aws::ApiError::validation(
          "1 validation error detected: Value '" + json::serialize(*n) +
          "' at 'totalSegments' failed to satisfy constraint: Member must have value " +
          (n->is_int64() && n->get_int64() > 1000000 ? "less than or equal to 1000000"
                                                     : "greater than or equal to 1")));
    total = n->get_int64();
    if (!s->is_int64() || s->get_int64() < 0 || s->get_int64() >= total)
      return fail(aws::ApiError::validation(
          "The Segment parameter is zero-based and must be "
          "less than parameter TotalSegments: Segment: " +
          json::serialize(*s) + " is not less than TotalSegments: " + std::to_string(total)));
    segment = s->get_int64();
  }
  auto start = start_key(*t, *src, req);
  if (!start) return fail(start.take_error());
  bool consistent = false;
  if (auto* v = req.if_contains("ConsistentRead"); v && v->is_bool()) consistent = v->get_bool();

  const std::string& prefix = src->prefix;
  auto fetch = [&](const std::string& cursor) { return store_.scan(prefix, cursor, 256); };
  auto admit = [&](std::string_view key, const json::object&) {
    if (total == 1) return Admit::kTake;
    // The partition component ends at the first unescaped 00 01.
    std::string_view rest = key.substr(prefix.size());
    size_t end = 0;
    while (end + 1 < rest.size() && !(rest[end] == '\0' && rest[end + 1] == '\x01'))
      end += rest[end] == '\0' ? 2 : 1;
    return static_cast<int64_t>(std::hash<std::string_view>{}(rest.substr(0, end)) %
                                static_cast<uint64_t>(total)) == segment
               ? Admit::kTake
               : Admit::kSkip;
  };
  Page page =
      read_page(*t, *src, *start, *limit, fetch, admit, table_item_expander(*t, sel->table_items),
                filter->has_value() ? &**filter : nullptr,
                projection->has_value() ? &**projection : nullptr, sel->count_only);
  double units = read_units(page.bytes, consistent);
  Json out = page_answer(std::move(page), sel->count_only);
  charge(out, req, *t, Throughput::kRead, units);
  return out;
}

DynamoDbService::OpResult DynamoDbService::query(const aws::Call&, Json& req) {
  if (auto r = refuse_unsupported(
          req, {"KeyConditions", "QueryFilter", "AttributesToGet", "ConditionalOperator"});
      !r)
    return fail(r.take_error());
  auto t = table_of(req);
  if (!t) return fail(t.take_error());
  auto src = read_source(*t, req);
  if (!src) return fail(src.take_error());
  if (auto r = admit(*t, Throughput::kRead); !r) return fail(r.take_error());
  auto limit = read_limit(req);
  if (!limit) return fail(limit.take_error());
  if (!req.contains("KeyConditionExpression"))
    return fail(aws::ApiError::validation(
        "Either the KeyConditions or KeyConditionExpression parameter must be specified in the "
        "request."));
  auto exprs = RequestExpressions::from(req);
  if (!exprs) return fail(exprs.take_error());
  auto kc = parse_key_condition(str_or_empty(req, "KeyConditionExpression"), (*exprs)->ctx(),
                                src->hash, src->range);
  if (!kc) return fail(aws::ApiError::validation(kc.error()));
  auto filter = (*exprs)->condition(req, "FilterExpression");
  if (!filter) return fail(filter.take_error());
  if (*filter)
    for (const auto& name : (*filter)->top_level_attributes())
      if (name == src->hash.name || (src->range && name == src->range->name))
        return fail(aws::ApiError::validation(
            "Filter Expression can only contain non-primary key attributes: Primary key "
            "attribute: " +
            name));
  auto projection = (*exprs)->projection(req);
  if (!projection) return fail(projection.take_error());
  if (auto r = (*exprs)->finish(); !r) return fail(r.take_error());
  auto sel = selection(req, projection->has_value(), *src);
  if (!sel) return fail(sel.take_error());
  auto partition = key_component(src->hash.type, kc->partition_value, src->hash.name);
  if (!partition) return fail(partition.take_error());
  const std::string prefix = src->prefix + *partition;
  auto start = start_key(*t, *src, req);
  if (!start) return fail(start.take_error());
  if (!start->empty() && !start->starts_with(prefix))
    return fail(aws::ApiError::validation(
        "The provided starting key does not match the range key predicate"));
  bool forward = true;
  if (auto* v = req.if_contains("ScanIndexForward"); v && v->is_bool()) forward = v->get_bool();
  bool consistent = false;
  if (auto* v = req.if_contains("ConsistentRead"); v && v->is_bool()) consistent = v->get_bool();

  auto fetch = [&](const std::string& cursor) {
    return forward ? store_.scan(prefix, cursor, 256) : store_.scan_reverse(prefix, cursor, 256);
  };
  // The items a sort key condition selects are one run in key order: once
  // the run has started, the first item outside it ends the read.
  bool in_run = false;
  const std::optional<SortKeyCondition>& sort = kc->sort;
  std::string range_name = src->range ? src->range->name : std::string();
  auto admit = [&](std::string_view, const json::object& item) {
    if (!sort) return Admit::kTake;
    const json::value* v = item.if_contains(range_name);
    if (v && sort->matches(*v)) {
      in_run = true;
      return Admit::kTake;
    }
    return in_run ? Admit::kStop : Admit::kSkip;
  };
  Page page =
      read_page(*t, *src, *start, *limit, fetch, admit, table_item_expander(*t, sel->table_items),
                filter->has_value() ? &**filter : nullptr,
                projection->has_value() ? &**projection : nullptr, sel->count_only);
  double units = read_units(page.bytes, consistent);
  Json out = page_answer(std::move(page), sel->count_only);
  charge(out, req, *t, Throughput::kRead, units);
  return out;
}

// An LSI read that needs what the index does not project reads each item
// from the table.
std::function<void(DynamoDbService::Json&)> DynamoDbService::table_item_expander(
    const TableSchema& t, bool needed) const {
  if (!needed) return nullptr;
  return [this, &t](Json& row) {
    auto key = item_store_key(t, row, false);
    if (!key) return;
    if (auto item = load_item(*key)) row = std::move(*item);
  };
}

// ---- batches ----

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
  std::string_view mode = str_or_empty(req, "ReturnConsumedCapacity");
  if (mode == "TOTAL" || mode == "INDEXES") {
    json::array consumed;
    for (auto& [name, u] : units)
      consumed.push_back(json::object{{"TableName", name}, {"CapacityUnits", u}});
    out["ConsumedCapacity"] = std::move(consumed);
  }
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
  for (const auto& [name, spec] : *request_items) {
    if (!spec.is_object()) return fail(aws::ApiError::validation("Invalid RequestItems"));
    if (auto r = refuse_unsupported(spec.get_object(), {"ProjectionExpression", "AttributesToGet",
                                                        "ExpressionAttributeNames"});
        !r)
      return fail(r.take_error());
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
      responses[g.table].get_array().push_back(std::move(*item));
    }
  }
  return Json{{"Responses", std::move(responses)}, {"UnprocessedKeys", std::move(unprocessed)}};
}

}  // namespace nimbus::services::dynamodb
