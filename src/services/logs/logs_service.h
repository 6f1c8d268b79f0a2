// CloudWatch Logs (json-1.1, X-Amz-Target "Logs_20140328.<Op>") and the sink
// that function instances write their log lines to.
//
// Log groups, streams and events live in the Store (key layout in logs_util.h).
// Appends from functions gather in one block per stream in memory and are
// written (buffered, no fsync) at most kSinkFlushDelay later, before any API
// call is answered, or when a block reaches kMaxBlockBytes; the cached stream
// metadata is written back when a stream is new, every kFlushAppends appends or
// kFlushMs milliseconds, on flush() and on destruction.
#pragma once

#include <boost/json.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "aws/service.h"
#include "base/clock.h"
#include "base/result.h"
#include "faas/log_sink.h"
#include "services/logs/logs_util.h"
#include "store/store.h"

namespace nimbus::services::logs {

class LogsService final : public aws::Service, public faas::LogSink {
 public:
  LogsService(store::Store& store, Clock& clock);
  ~LogsService() override;
  LogsService(const LogsService&) = delete;
  LogsService& operator=(const LogsService&) = delete;

  std::string_view signing_name() const override { return "logs"; }
  aws::Protocol protocol() const override { return aws::Protocol::kJson11; }
  void handle(aws::Call call) override;
  void reset() override;

  // Thread-safe; creates the group and stream when new (as Lambda creates
  // /aws/lambda/NAME). Failures are logged, never thrown: losing a log line must
  // not fail an invocation.
  void append(std::string_view group, std::string_view stream,
              std::span<const faas::LogEvent> events) override;

  // Region and account for the ARNs of groups that append() creates.
  void set_identity(std::string region, std::string account_id);
  // Writes back every cached stream's metadata that changed since its last write.
  void flush();

  static constexpr uint32_t kFlushAppends = 64;
  // Function output waits at most this long in memory before it is written
  // (one store write per batch instead of one per invocation's lines).
  static constexpr std::chrono::milliseconds kSinkFlushDelay{20};
  static constexpr int64_t kFlushMs = 5000;
  static constexpr size_t kMaxBlockBytes = 64 * 1024;

 private:
  using Json = boost::json::object;
  using OpResult = Result<Json, aws::ApiError>;
  using Op = OpResult (LogsService::*)(const aws::Call&, Params&);

  // Cached metadata of one stream; the store copy may lag behind it.
  struct StreamState {
    int64_t creation_time = 0;
    int64_t first_event = 0;  // 0 while the stream has no events
    int64_t last_event = 0;
    int64_t last_ingestion = 0;
    int64_t stored_bytes = 0;
    uint32_t unflushed = 0;  // appends since the store copy was written
    int64_t flushed_at_ms = 0;
    std::string events_prefix;  // stream_events_prefix(group, stream)
    // Function output not yet in the store: records, and the last one's position.
    std::string block, block_last;
  };
  enum class Mode { kSink, kApi };

  static const std::unordered_map<std::string_view, Op>& ops();
  OpResult dispatch(const aws::Call& call);

  // Groups and streams.
  OpResult create_log_group(const aws::Call& call, Params& p);
  OpResult delete_log_group(const aws::Call& call, Params& p);
  OpResult describe_log_groups(const aws::Call& call, Params& p);
  OpResult create_log_stream(const aws::Call& call, Params& p);
  OpResult delete_log_stream(const aws::Call& call, Params& p);
  OpResult describe_log_streams(const aws::Call& call, Params& p);
  OpResult put_retention_policy(const aws::Call& call, Params& p);
  OpResult delete_retention_policy(const aws::Call& call, Params& p);
  OpResult tag_log_group(const aws::Call& call, Params& p);
  OpResult untag_log_group(const aws::Call& call, Params& p);
  OpResult list_tags_log_group(const aws::Call& call, Params& p);
  OpResult tag_resource(const aws::Call& call, Params& p);
  OpResult untag_resource(const aws::Call& call, Params& p);
  OpResult list_tags_for_resource(const aws::Call& call, Params& p);
  // Events (logs_events.cc).
  OpResult put_log_events(const aws::Call& call, Params& p);
  OpResult get_log_events(const aws::Call& call, Params& p);
  OpResult filter_log_events(const aws::Call& call, Params& p);

  // The stored group record, or nullopt when the group does not exist.
  std::optional<Json> load_group(std::string_view group) const;
  // Read-modify-write of a group record under mu_.
  Result<void, aws::ApiError> update_group(std::string_view group,
                                           const std::function<void(Json&)>& fn);
  Result<void, aws::ApiError> apply_tags(std::string_view group, const Json* add,
                                         const std::vector<std::string>* remove);
  // Earliest timestamp still inside the group's retention period (0: keep all).
  int64_t retention_cutoff(const Json& group_record) const;
  // Stream metadata merged with the fresher cached copy, as DescribeLogStreams shows it.
  Json stream_view(std::string_view group, std::string_view stream, std::string_view value) const;

  // Stores events (sorted by timestamp or not) and updates the stream metadata.
  // kSink creates the group and stream when missing and adds the events to the
  // stream's block; kApi requires both to exist and writes durably, one record
  // per key. Returns the last event's position.
  Result<std::string, aws::ApiError> ingest(std::string_view group, std::string_view stream,
                                            std::span<const faas::LogEvent> events, Mode mode);
  // The cached stream (loaded from the store on first use), or nullptr when it
  // does not exist and mode is kApi. Caller holds mu_.
  StreamState* stream_locked(std::string_view group, std::string_view stream, Mode mode,
                             int64_t now, store::WriteBatch& batch, bool& group_missing);
  uint64_t next_seq_locked();
  static std::string stream_json(const StreamState& s);
  void schedule_flush_locked();
  // Moves a stream's block into `batch`. Caller holds mu_.
  static void seal_block_locked(StreamState& s, store::WriteBatch& batch);
  // Moves every block into pending_ (caller holds mu_), or also writes pending_.
  void seal_blocks_locked();
  void flush_pending();

  store::Store& store_;
  Clock& clock_;
  mutable std::mutex mu_;  // guards everything below
  std::string region_ = "us-east-1";
  std::string account_ = "000000000000";
  std::unordered_set<std::string> groups_;                // known to exist in the store
  std::unordered_map<std::string, StreamState> streams_;  // key: group \x01 stream
  std::string lookup_key_;
  uint64_t next_seq_ = 0;
  uint64_t seq_reserved_until_ = 0;        // next_seq_ may grow up to here before a new reservation
  store::WriteBatch pending_;              // sealed blocks and sink metadata not yet written
  std::vector<StreamState*> open_blocks_;  // streams whose block is not empty
  bool flush_scheduled_ = false;
  TimerHandle flush_timer_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // guards timer callbacks
};

}  // namespace nimbus::services::logs
