// API Gateway's management API, both flavours behind the one signing name
// "apigateway": REST APIs (/restapis, /apikeys, /usageplans, /tags) and HTTP
// APIs (apigatewayv2, /v2/apis, /v2/tags). State is one JSON record per
// resource in the store, written synced before the answer; every change
// recompiles what the Gateway serves and publishes it as one snapshot.
#pragma once

#include <boost/json/object.hpp>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "aws/service.h"
#include "base/clock.h"
#include "services/apigateway/gateway.h"
#include "store/store.h"

namespace nimbus::services::apigateway {

class ApiGatewayService final : public aws::Service {
 public:
  ApiGatewayService(store::Store& store, Clock& clock, Gateway& gateway,
                    std::string region = "us-east-1");

  // Loads the records and publishes what they deploy.
  Status start();

  std::string_view signing_name() const override { return "apigateway"; }
  aws::Protocol protocol() const override { return aws::Protocol::kRestJson; }
  // Does synced writes: the server runs it on the worker pool.
  void handle(aws::Call call) override;
  void reset() override;

  // The answer to one request, for unit tests and handle().
  struct Answer {
    int status = 200;
    boost::json::value body;  // null: no body
  };
  Result<Answer, aws::ApiError> dispatch(const std::string& method, const std::string& path,
                                         const std::string& query, const std::string& body);

 private:
  using Obj = boost::json::object;
  using Out = Result<Answer, aws::ApiError>;

  // REST APIs.
  Out create_rest_api(const Obj& in);
  Out import_rest_api(const std::string& body, const std::string& query);
  Out put_rest_api(const std::string& id, const std::string& body, const std::string& query);
  Out get_rest_apis();
  Out get_rest_api(const std::string& id);
  Out delete_rest_api(const std::string& id);
  Out get_resources(const std::string& id);
  Out create_deployment(const std::string& id, const Obj& in);
  Out create_stage(const std::string& id, const Obj& in);
  Out get_stage(const std::string& id, const std::string& stage);
  Out get_stages(const std::string& id);
  Out delete_stage(const std::string& id, const std::string& stage);
  Out update_stage(const std::string& id, const std::string& stage, const Obj& in);
  Out flush_stage_cache(const std::string& id, const std::string& stage);
  // The document the stage's deployment serves, as imported (with its
  // x-amazon-apigateway-* extensions, so it can be put back).
  Out get_export(const std::string& id, const std::string& stage, const std::string& type);
  Out tags(const std::string& method, const std::string& arn, const Obj& in,
           const std::string& query, bool v2);
  // API keys and usage plans.
  Out create_api_key(const Obj& in);
  Out get_api_keys(const std::string& query);
  Out get_api_key(const std::string& id, const std::string& query);
  Out delete_api_key(const std::string& id);
  Out create_usage_plan(const Obj& in);
  Out get_usage_plans();
  Out get_usage_plan(const std::string& id);
  Out delete_usage_plan(const std::string& id);
  Out update_usage_plan(const std::string& id, const Obj& in);
  Out create_usage_plan_key(const std::string& plan, const Obj& in);
  Out get_usage_plan_keys(const std::string& plan);
  Out delete_usage_plan_key(const std::string& plan, const std::string& key);
  // GetUsage: the plan's keys' daily [used, remaining] from the persisted day counts.
  Out get_usage(const std::string& plan, const std::string& query);
  // HTTP APIs.
  Out create_api(const Obj& in);
  Out import_api(const std::string& id, const std::string& body);
  Out get_apis();
  Out get_api(const std::string& id);
  Out delete_api(const std::string& id);
  Out create_stage_v2(const std::string& id, const Obj& in);
  Out get_stages_v2(const std::string& id);
  Out delete_stage_v2(const std::string& id, const std::string& stage);
  Out get_routes(const std::string& id);
  Out export_api(const std::string& id, const std::string& specification, const std::string& query);

  Result<Obj*, aws::ApiError> rest_api(const std::string& id);
  Result<Obj*, aws::ApiError> http_api(const std::string& id);
  // Writes the record (synced) then republishes the gateway.
  Result<void, aws::ApiError> save(const std::string& key, const Obj* record);
  Result<void, aws::ApiError> check_conflicts(const std::string& api_id, const ApiSpec& spec,
                                              ApiKind kind);
  void publish();
  Obj rest_view(const Obj& rec) const;
  Obj http_view(const Obj& rec) const;

  store::Store& store_;
  Clock& clock_;
  Gateway& gateway_;
  std::string region_;
  std::mutex mu_;
  std::map<std::string, Obj> rest_;   // by id
  std::map<std::string, Obj> http_;   // by id
  std::map<std::string, Obj> keys_;   // by id
  std::map<std::string, Obj> plans_;  // by id
};

}  // namespace nimbus::services::apigateway
