// Lambda event source mappings: the five API operations (Create, Get, List,
// Update, DeleteEventSourceMapping) and, per enabled mapping, a poller that
// reads the source and invokes the function with batches of records.
//
// Sources: DynamoDB Streams, read only through its public API
// (DescribeStream, GetShardIterator, GetRecords) as a client would. Every
// dependency comes in as a callback (EventSourceHooks), so this module knows
// no other service's classes, tests pass fakes, and SQS or Kinesis can be
// added as further sources.
//
// State: one store key per mapping, "lambda/esm/<UUID>": its settings and its
// checkpoint (the SequenceNumber of the last record processed), synced after
// every batch before the next one is read. After a crash the batch that was
// in flight is delivered again, none is skipped: at-least-once, as on Lambda.
//
// Threads: every poll step (streams calls, the checkpoint's synced write)
// runs through hooks.run_blocking, never on an I/O thread; timers on the
// injected Clock only post the next step. Each mapping has at most one step
// or invocation outstanding, so its shard is processed strictly in order.
#pragma once

#include <boost/json/object.hpp>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "aws/api_error.h"
#include "base/clock.h"
#include "base/result.h"
#include "faas/invocation.h"
#include "store/store.h"

namespace nimbus::services::lambda {

struct EventSourceHooks {
  // A blocking call of DynamoDB Streams' API: target is the X-Amz-Target
  // ("DynamoDBStreams_20120810.GetRecords"), the request and answer are its
  // JSON bodies. Empty: DynamoDB sources are refused.
  using StreamsCall = std::function<Result<boost::json::object, aws::ApiError>(
      std::string_view target, boost::json::object request)>;
  StreamsCall dynamodb_streams;

  // Invokes a function synchronously (RequestResponse) by its ARN, qualified
  // when the mapping names a version or alias: `done` gets the function's
  // answer or error, `rejected` an error before it ran (throttled: 429,
  // function gone: ResourceNotFoundException).
  using Invoke =
      std::function<void(const std::string& function_arn, faas::Invocation inv,
                         faas::InvokeCallback done, std::function<void(aws::ApiError)> rejected)>;
  Invoke invoke;

  // Resolves a FunctionName parameter (name, partial or full ARN, optionally
  // qualified) to the function's ARN, or ResourceNotFoundException.
  using ResolveFunction = std::function<Result<std::string, aws::ApiError>(
      std::string_view function_name, std::string_view region, std::string_view account)>;
  ResolveFunction resolve_function;

  // Runs blocking work (streams calls, synced writes) off the I/O threads.
  std::function<void(std::function<void()>)> run_blocking;
};

struct EventSourceOptions {
  Duration idle_poll = std::chrono::milliseconds(250);    // an empty read waits this long
  Duration source_error_retry = std::chrono::seconds(2);  // after a failed streams call
  // Back-off between retries of a failed batch: doubles from min to max.
  Duration retry_backoff_min = std::chrono::milliseconds(250);
  Duration retry_backoff_max = std::chrono::seconds(10);
  Duration throttled_retry = std::chrono::milliseconds(500);  // invoke refused with 429
  size_t max_payload_bytes = 6 * 1024 * 1024;                 // Lambda's synchronous payload limit
  // How long DynamoDB keeps stream records: with MaximumRecordAgeInSeconds
  // -1 a failing batch is retried until its records are this old.
  int64_t stream_retention_ms = 24 * 3600 * 1000;
};

// The caller's region and account (for ARNs built from short names).
struct RequestScope {
  std::string region;
  std::string account;
};

class EventSourceMappings {
 public:
  EventSourceMappings(store::Store& store, Clock& clock, EventSourceHooks hooks,
                      EventSourceOptions options = {});
  // Stops every poller; steps already posted find nothing to do.
  ~EventSourceMappings();
  EventSourceMappings(const EventSourceMappings&) = delete;
  EventSourceMappings& operator=(const EventSourceMappings&) = delete;

  // Loads the stored mappings and starts the enabled ones' pollers.
  Status start();
  // Stops the pollers and forgets every mapping (the caller deletes the keys).
  void clear();

  // The API operations, answering the EventSourceMappingConfiguration shape
  // (List: {"EventSourceMappings", "NextMarker"}). Blocking: run them on a
  // worker.
  Result<boost::json::object, aws::ApiError> create(const boost::json::object& request,
                                                    const RequestScope& scope);
  Result<boost::json::object, aws::ApiError> get(std::string_view uuid) const;
  Result<boost::json::object, aws::ApiError> list(std::string_view event_source_arn,
                                                  std::string_view function_name,
                                                  std::string_view marker,
                                                  std::string_view max_items) const;
  Result<boost::json::object, aws::ApiError> update(std::string_view uuid,
                                                    const boost::json::object& request,
                                                    const RequestScope& scope);
  Result<boost::json::object, aws::ApiError> remove(std::string_view uuid);

  static constexpr std::string_view kKeyPrefix = "lambda/esm/";

 private:
  class Impl;
  // Shared with the callbacks of timers, invocations and posted steps, so
  // that one arriving late finds the state (and its stopped flag) alive.
  std::shared_ptr<Impl> impl_;
};

}  // namespace nimbus::services::lambda
