// AWS Lambda's control and invoke API (rest-json, /2015-03-31/...), on top of
// the function registry (state) and the faas pool (execution).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/json/object.hpp>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "aws/service.h"
#include "base/clock.h"
#include "faas/invocation.h"
#include "faas/pool.h"
#include "services/lambda/event_source_mappings.h"
#include "services/lambda/function_registry.h"
#include "services/lambda/layer_registry.h"
#include "store/blobs.h"
#include "store/store.h"

namespace nimbus::services::lambda {

struct LambdaOptions {
  std::string code_dir;  // where unpacked packages live (data-dir/code)
  std::string edge_url;  // base URL of the edge, for GetFunction's Code.Location
  size_t max_sync_payload = 6 * 1024 * 1024;  // Lambda's 6 MB for RequestResponse
  size_t max_async_payload = 256 * 1024;      // and 256 KB for Event
  // DynamoDB Streams' API for event source mappings (DynamoDbService::call);
  // empty: mappings of DynamoDB streams are refused.
  EventSourceHooks::StreamsCall dynamodb_streams;
};

class LambdaService final : public aws::Service {
 public:
  // `worker` runs blocking control-plane work (unzip, synced writes) off the I/O threads.
  LambdaService(store::Store& store, store::BlobStore& blobs, faas::Pool& pool, Clock& clock,
                boost::asio::any_io_executor worker, LambdaOptions options);
  ~LambdaService() override;

  // Loads functions, resumes queued Event invocations and starts the
  // enabled event source mappings' pollers.
  Status start();

  std::string_view signing_name() const override { return "lambda"; }
  aws::Protocol protocol() const override { return aws::Protocol::kRestJson; }
  void handle(aws::Call call) override;
  void reset() override;

  // The in-process invoke other services use (the same path as the wire API).
  void invoke(const std::string& function, const std::string& qualifier, faas::Invocation inv,
              faas::InvokeCallback done, std::function<void(aws::ApiError)> rejected);

  // Provisioned concurrency for other services (Application Auto Scaling):
  // PutProvisionedConcurrencyConfig's checks and effect, answering its body;
  // the configuration's requested count (0: none) after Get's qualifier
  // checks; and the calls of the qualifier's version(s) in flight now
  // (running, queued behind a running one, or waiting for an instance).
  Result<boost::json::object, aws::ApiError> put_provisioned_concurrency(
      const std::string& function, const std::string& qualifier, int64_t count);
  Result<int, aws::ApiError> provisioned_concurrency(const std::string& function,
                                                     const std::string& qualifier) const;
  int in_flight(const std::string& function, const std::string& qualifier) const;

  // The zip of a function's code by its blob id, for Code.Location downloads.
  Result<std::string> code_zip(const std::string& blob_id) const;

 private:
  // The matched request: operation and path parameters.
  struct Route {
    std::string op;
    std::string function;       // FunctionName path parameter (decoded)
    std::string alias;          // Name path parameter of alias operations
    std::string layer;          // LayerName path parameter (as sent)
    std::string layer_version;  // VersionNumber path parameter
    std::string mapping;        // UUID path parameter of event source mappings
  };
  void dispatch(aws::Call& call, const Route& route);
  void on_worker(aws::Call call, std::function<void(aws::Call&)> work);

  // Control plane (lambda_service.cc).
  void create_function(aws::Call& call);
  void get_function(aws::Call& call, const Route& r);
  void get_function_configuration(aws::Call& call, const Route& r);
  void list_functions(aws::Call& call);
  void update_function_code(aws::Call& call, const Route& r);
  void update_function_configuration(aws::Call& call, const Route& r);
  void delete_function(aws::Call& call, const Route& r);
  void publish_version(aws::Call& call, const Route& r);
  void list_versions(aws::Call& call, const Route& r);
  void create_alias(aws::Call& call, const Route& r);
  void get_alias(aws::Call& call, const Route& r);
  void update_alias(aws::Call& call, const Route& r);
  void delete_alias(aws::Call& call, const Route& r);
  void list_aliases(aws::Call& call, const Route& r);
  void put_concurrency(aws::Call& call, const Route& r);
  void get_concurrency(aws::Call& call, const Route& r);
  void delete_concurrency(aws::Call& call, const Route& r);
  void get_account_settings(aws::Call& call);
  // Provisioned concurrency (provisioned_api.cc): the four operations; the
  // answer shape of one configuration; telling the pool how many instances
  // each version of the function needs (after any change to its
  // configurations, aliases or versions, and at start); and the pool's
  // carve-out of the account: reservations, plus the provisioned concurrency
  // of functions without one.
  void provisioned_api(aws::Call& call, const Route& r);
  boost::json::object provisioned_answer(const FunctionRecord& rec, const std::string& name,
                                         const std::string& qualifier, const ProvisionedConfig& c,
                                         bool with_arn) const;
  void sync_provisioned(const std::string& function);
  void sync_reserved_total();
  void tags(aws::Call& call, const Route& r);
  // Create/Get/List/Update/DeleteEventSourceMapping (event_source_mappings.h).
  void event_source_mapping_api(aws::Call& call, const Route& r);
  // FunctionName of a mapping → the function's ARN, if the function (and
  // its version or alias) exists.
  Result<std::string, aws::ApiError> resolve_function_arn(std::string_view function_name,
                                                          std::string_view region,
                                                          std::string_view account) const;

  // Layers.
  void publish_layer_version(aws::Call& call, const Route& r);
  void get_layer_version(aws::Call& call, const Route& r);
  void get_layer_version_by_arn(aws::Call& call);
  void list_layers(aws::Call& call);
  void list_layer_versions(aws::Call& call, const Route& r);
  void delete_layer_version(aws::Call& call, const Route& r);
  // Resolves a function's Layers member into Configuration.Layers and the
  // merged /opt directory (version.opt_dir); an empty list removes the layers.
  Result<void, aws::ApiError> apply_layers(const boost::json::value& layers, const aws::Call& call,
                                           boost::json::object& cfg, VersionRecord& version);

  // Invoke path (lambda_invoke.cc).
  void invoke_api(aws::Call& call, const Route& r);
  void enqueue_event(aws::Call& call, const std::string& name, const std::string& qualifier,
                     std::string payload);
  void pump_events();
  void answer(aws::Call& call, int status, const boost::json::object& body);

  Result<CodeInfo, aws::ApiError> store_code(const boost::json::object& code);
  // Stores a base64 ZipFile member as a blob and unpacks it once (functions and layers).
  Result<CodeInfo, aws::ApiError> store_zip(const boost::json::value& zip_file);
  std::string code_location(const std::string& blob) const;
  boost::json::object with_code_location(const FunctionRecord& rec, const VersionRecord& v,
                                         const aws::Call& call) const;

  store::Store& store_;
  store::BlobStore& blobs_;
  faas::Pool& pool_;
  Clock& clock_;
  boost::asio::any_io_executor worker_;
  LambdaOptions options_;
  FunctionRegistry registry_;
  LayerRegistry layers_;

  // Durable Event invocations waiting for capacity (keys of "lambda/event/...").
  struct QueuedEvent {
    std::string key, function, qualifier, payload, request_id;
  };
  std::mutex events_mu_;
  std::deque<QueuedEvent> events_;
  uint64_t next_event_seq_ = 0;
  bool pump_scheduled_ = false;
  TimerHandle pump_timer_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  // The specs of versions the pool keeps provisioned instances of, by
  // function and version (so that a deleted version's can be let go).
  std::mutex provisioned_mu_;
  std::map<std::string, std::map<std::string, std::shared_ptr<const faas::FunctionSpec>>>
      provisioned_specs_;
  // Last: its pollers use the registry and the pool, so it stops first.
  std::unique_ptr<EventSourceMappings> mappings_;
};

}  // namespace nimbus::services::lambda
