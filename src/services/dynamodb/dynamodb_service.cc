#include "services/dynamodb/dynamodb_service.h"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <cmath>
#include <functional>
#include <set>

#include "services/dynamodb/expression.h"
#include "services/dynamodb/index.h"
#include "services/dynamodb/item.h"
#include "services/dynamodb/legacy.h"
#include "services/dynamodb/number.h"
#include "services/dynamodb/service_util.h"
#include "services/dynamodb/streams.h"
#include "services/dynamodb/wire.h"

namespace nimbus::services::dynamodb {

namespace json = boost::json;

namespace {

constexpr std::string_view kSequenceKey = "dynamodb/stream-sequence";

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
      {"DynamoDB_20120810.ExecuteStatement", &DynamoDbService::execute_statement},
      {"DynamoDB_20120810.BatchExecuteStatement", &DynamoDbService::batch_execute_statement},
      {"DynamoDB_20120810.ExecuteTransaction", &DynamoDbService::execute_transaction},
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
  Json body;
  if (!call.http.body.empty()) {
    boost::system::error_code ec;
    json::value v = json::parse(call.http.body, ec);
    if (ec || !v.is_object())
      return fail(aws::ApiError::make(400, "SerializationException",
                                      "Start of structure or map found where not expected."));
    body = std::move(v.get_object());
  }
  return run(call, target, body);
}

// The wire API and in-process callers meet here: the legacy parameters
// become expressions (legacy.h), then the operation runs.
DynamoDbService::OpResult DynamoDbService::run(const aws::Call& call, std::string_view target,
                                               Json& req) {
  auto it = ops().find(target);
  if (it == ops().end())
    return fail(aws::ApiError::unknown_operation("Unknown operation " + std::string(target)));
  constexpr std::string_view kDynamoDbPrefix = "DynamoDB_20120810.";
  if (target.starts_with(kDynamoDbPrefix))
    if (auto r = translate_legacy_parameters(target.substr(kDynamoDbPrefix.size()), req); !r)
      return fail(r.take_error());
  return (this->*(it->second))(call, req);
}

Result<boost::json::object, aws::ApiError> DynamoDbService::call(std::string_view target,
                                                                 boost::json::object request) {
  aws::Call internal;
  try {
    return run(internal, target, request);
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

}  // namespace nimbus::services::dynamodb
