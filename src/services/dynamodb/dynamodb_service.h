// DynamoDB (json-1.0, X-Amz-Target "DynamoDB_20120810.<Op>") on the Store.
//
// Layout (keys under "dynamodb/"):
//   table/<name>                  the table's definition (TableSchema JSON)
//   item/<table id>/<key bytes>   one item, in DynamoDB's wire JSON; the key
//                                 bytes sort as DynamoDB orders keys (item.h)
//   index/<table id>/<index id>/  secondary index entries (index.h)
//   stream/<table id>/<label>/    stream records (streams.h)
//   stream-sequence               the last stream sequence number used
// Every acknowledged write is synced (Store::write). Writes of one service
// instance are serialised by one mutex, so a read-check-write (conditions,
// ReturnValues) sees no interleaved write.
#pragma once

#include <boost/json/object.hpp>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "aws/service.h"
#include "base/clock.h"
#include "base/result.h"
#include "services/dynamodb/partiql.h"
#include "services/dynamodb/table.h"
#include "services/dynamodb/throughput.h"
#include "store/store.h"

namespace nimbus::services::dynamodb {

struct PlannedWrite;  // dynamodb_service.cc
struct WriteOutcome;

class DynamoDbService final : public aws::Service {
 public:
  // `background` runs blocking work off the I/O threads (the expiry of
  // items whose TTL passed, index builds).
  DynamoDbService(store::Store& store, Clock& clock,
                  std::function<void(std::function<void()>)> background);
  ~DynamoDbService() override;
  // Starts the TTL sweep and resumes index builds a restart interrupted.
  void start_background_work();
  // Deletes every expired item of every table with TTL enabled; returns how
  // many (the sweep calls it every kTtlSweepEvery).
  size_t expire_items();
  static constexpr Duration kTtlSweepEvery = std::chrono::seconds(2);

  std::string_view signing_name() const override { return "dynamodb"; }
  aws::Protocol protocol() const override { return aws::Protocol::kJson10; }
  std::string_view json_namespace() const override { return "com.amazonaws.dynamodb.v20120810"; }
  void handle(aws::Call call) override;
  void reset() override;

  // The in-process call other parts of Nimbus use (Lambda's event source
  // mappings read streams with GetShardIterator and GetRecords): `target` is
  // the X-Amz-Target ("DynamoDBStreams_20120810.GetRecords"), and the same
  // handler as the wire API answers. Blocking: call it off the I/O threads.
  Result<boost::json::object, aws::ApiError> call(std::string_view target,
                                                  boost::json::object request);

  // DynamoDB's page limit for Query and Scan.
  static constexpr size_t kPageBytes = 1024 * 1024;

 private:
  using Json = boost::json::object;
  using OpResult = Result<Json, aws::ApiError>;
  using Op = OpResult (DynamoDbService::*)(const aws::Call&, Json&);

  static const std::map<std::string, Op, std::less<>>& ops();
  OpResult dispatch(const aws::Call& call);
  OpResult run(const aws::Call& call, std::string_view target, Json& req);

  OpResult create_table(const aws::Call& call, Json& req);
  OpResult describe_table(const aws::Call& call, Json& req);
  OpResult list_tables(const aws::Call& call, Json& req);
  OpResult delete_table(const aws::Call& call, Json& req);
  OpResult put_item(const aws::Call& call, Json& req);
  OpResult get_item(const aws::Call& call, Json& req);
  OpResult delete_item(const aws::Call& call, Json& req);
  OpResult update_item(const aws::Call& call, Json& req);
  OpResult put_or_delete(Json& req, bool is_delete);
  OpResult scan(const aws::Call& call, Json& req);
  OpResult query(const aws::Call& call, Json& req);
  OpResult batch_write_item(const aws::Call& call, Json& req);
  OpResult tag_resource(const aws::Call& call, Json& req);
  OpResult untag_resource(const aws::Call& call, Json& req);
  OpResult list_tags_of_resource(const aws::Call& call, Json& req);
  OpResult update_table(const aws::Call& call, Json& req);
  OpResult update_time_to_live(const aws::Call& call, Json& req);
  OpResult transact_write_items(const aws::Call& call, Json& req);
  OpResult transact_get_items(const aws::Call& call, Json& req);
  OpResult describe_time_to_live(const aws::Call& call, Json& req);
  // PartiQL (partiql_ops.cc).
  OpResult execute_statement(const aws::Call& call, Json& req);
  OpResult batch_execute_statement(const aws::Call& call, Json& req);
  OpResult execute_transaction(const aws::Call& call, Json& req);
  OpResult run_statement(const aws::Call& call, const PartiqlPlan& plan, const Json& req);
  KeySchemaLookup partiql_lookup() const;
  // DynamoDB Streams (stream_ops.cc).
  OpResult list_streams(const aws::Call& call, Json& req);
  OpResult describe_stream(const aws::Call& call, Json& req);
  OpResult get_shard_iterator(const aws::Call& call, Json& req);
  OpResult get_records(const aws::Call& call, Json& req);
  // The table whose stream `arn` names, if that stream exists.
  Result<TableSchema, aws::ApiError> table_of_stream(std::string_view arn) const;
  // Deletes stream records older than kStreamRetentionMs (the sweep).
  void trim_streams();
  void schedule_ttl_sweep();
  void schedule_backfill(std::string table, std::string index_id);
  void backfill(const std::string& table, const std::string& index_id);
  // Applies one single-item write under the lock: the old item and what
  // happened, or ConditionalCheckFailedException.
  Result<std::pair<std::optional<Json>, WriteOutcome>, aws::ApiError> apply_one(
      const PlannedWrite& w, const Json& req);
  // The table an ARN names ("arn:aws:dynamodb:REGION:ACCOUNT:table/NAME").
  Result<TableSchema, aws::ApiError> table_of_arn(const Json& req) const;
  Result<void, aws::ApiError> save_table(const TableSchema& t);
  using Throughput = ThroughputLimiter::Kind;
  Result<void, aws::ApiError> admit(const TableSchema& t, Throughput kind);
  void charge(Json& out, const Json& req, const TableSchema& t, Throughput kind, double units);
  OpResult batch_get_item(const aws::Call& call, Json& req);

  // The table named by the request's TableName, or ResourceNotFoundException.
  Result<TableSchema, aws::ApiError> table_of(const Json& req) const;
  std::optional<TableSchema> load_table(std::string_view name) const;
  // The stored item under `key`, if any.
  std::optional<Json> load_item(const std::string& key) const;
  Result<void, aws::ApiError> write(const store::WriteBatch& batch);
  // What read_page calls to replace an index row with the table's item
  // (null unless `needed`).
  std::function<void(Json&)> table_item_expander(const TableSchema& t, bool needed) const;
  // Under write_mu_: the stored definition of the table a write was planned
  // on (ResourceNotFoundException if it was deleted or replaced since).
  Result<TableSchema, aws::ApiError> current(const TableSchema& planned) const;
  // Stages the change of the item under `key` from `old` to `next` (either
  // may be absent) into `b`: the item and its entry in every index. Every
  // write path goes through here, so indexes change in the item's batch.
  // Fails, staging nothing the caller will write, when `next` has an index
  // key of the wrong type.
  Result<void, aws::ApiError> stage_change(store::WriteBatch& b, const TableSchema& t,
                                           const std::string& key, const std::optional<Json>& old,
                                           const std::optional<Json>& next, bool by_ttl = false);
  // The next stream sequence number; stages the counter into `b`.
  uint64_t next_sequence(store::WriteBatch& b);
  // Under write_mu_: the last sequence number handed out.
  uint64_t last_sequence();

  store::Store& store_;
  Clock& clock_;
  std::mutex write_mu_;
  std::optional<uint64_t> sequence_;  // under write_mu_; loaded on first use
  ThroughputLimiter limiter_;
  // TransactWriteItems' ClientRequestTokens of the last 10 minutes.
  struct TokenUse {
    std::string fingerprint;
    TimePoint at;
  };
  std::mutex tokens_mu_;
  std::map<std::string, TokenUse> tokens_;
  std::function<void(std::function<void()>)> background_;
  std::mutex timer_mu_;
  TimerHandle ttl_timer_;
  bool stopping_ = false;
  // Outlives callbacks already posted to `background_`.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace nimbus::services::dynamodb
