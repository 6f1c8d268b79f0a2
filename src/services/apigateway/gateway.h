// The API Gateway data plane: serves every deployed API on the API listener
// (REST and HTTP APIs side by side, routed by path) and REST stages through the
// edge at /restapis/{api-id}/{stage}/_user_request_/{path}.
//
// What it serves is an immutable snapshot compiled by the management API on
// every import or deployment and swapped atomically; the request path only
// reads it. A request: route → CORS preflight → authorizer → API key and
// usage plan → request validation → stage cache → proxy event → Lambda invoke
// (integration timeout) → result mapping → CORS.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "aws/api_error.h"
#include "base/clock.h"
#include "base/timeout_set.h"
#include "faas/invocation.h"
#include "http/message.h"
#include "services/apigateway/authorizer.h"
#include "services/apigateway/openapi_import.h"
#include "services/apigateway/proxy_event.h"
#include "services/apigateway/response_cache.h"
#include "services/apigateway/routes.h"
#include "services/apigateway/usage.h"

namespace nimbus::services::apigateway {

// One API at one stage, compiled.
struct DeployedApi {
  std::string id;
  ApiKind kind = ApiKind::kRest;
  std::string stage;
  std::vector<std::pair<std::string, std::string>> stage_variables;
  ApiSpec spec;
  RouteTable table{ApiKind::kRest};
  // requestContext.resourceId of each of spec.routes, computed once here.
  std::vector<std::string> resource_ids;
  // Usage plans attached to this stage (API keys are checked against them).
  std::vector<std::string> usage_plans;
  // The stage cache (REST stages with cacheClusterEnabled), else null. A new
  // snapshot takes over the previous one's cache while the stage's cache
  // settings stay, so publishing does not flush it.
  std::shared_ptr<ResponseCache> cache;
  std::string cache_size;  // its cacheClusterSize: a resize starts an empty cache, as on AWS
  // Per route (index into spec.routes): cacheTtlInSeconds when the route's
  // method settings enable caching, else 0.
  std::vector<int> cache_ttl;
};

struct UsagePlanLimits {
  std::string id;
  std::optional<ThrottleLimits> throttle;
  std::optional<QuotaLimits> quota;
};

struct GatewaySnapshot {
  Router router;  // the API port: every served API's routes
  std::map<std::string, std::shared_ptr<const DeployedApi>, std::less<>> port_apis;  // by id
  std::map<std::string, std::shared_ptr<const DeployedApi>, std::less<>> stages;     // "id/stage"
  // API keys by value: key id, enabled, and the plans the key belongs to.
  struct Key {
    std::string id;
    bool enabled = true;
    std::vector<std::string> plans;
  };
  std::unordered_map<std::string, Key> keys;
  std::map<std::string, UsagePlanLimits, std::less<>> plans;
};

class Gateway {
 public:
  using InvokeFn = std::function<void(const std::string& function, const std::string& qualifier,
                                      faas::Invocation inv, faas::InvokeCallback done,
                                      std::function<void(aws::ApiError)> rejected)>;
  // `usage_store`: where usage plan counts persist (null: memory only).
  Gateway(Clock& clock, InvokeFn invoke, std::string account_id = "000000000000",
          std::string region = "us-east-1", store::Store* usage_store = nullptr);

  void publish(std::shared_ptr<const GatewaySnapshot> snapshot);
  std::shared_ptr<const GatewaySnapshot> snapshot() const { return snapshot_.load(); }

  // The API listener.
  void handle(http::Request req, http::Reply reply);
  // The edge's /restapis/{id}/{stage}/_user_request_/... form; false when the
  // path is not of that form (the edge goes on with the AWS services).
  bool handle_edge(http::Request& req, http::Reply& reply);

  // Drops usage counters and cached authorizer results (reset).
  void reset_usage();
  // Writes the usage counts not yet persisted (before reading them back).
  void flush_usage() { usage_.flush(); }
  // FlushStageCache: empties the stage's response cache, if it has one.
  void flush_cache(std::string_view api_id, std::string_view stage);

  struct Flow;  // one request on its way through the pipeline

 private:
  void serve(std::shared_ptr<const GatewaySnapshot> snap, std::shared_ptr<const DeployedApi> api,
             RouteMatch match, http::Request req, http::Reply reply);
  void authorize(std::shared_ptr<Flow> flow, const AuthorizerSpec& spec);
  void proceed(std::shared_ptr<Flow> flow);

  Clock& clock_;
  InvokeFn invoke_;
  std::string account_id_;
  std::string region_;
  AuthorizerCache auth_cache_;
  TimeoutSet timeouts_;  // integration timeouts of requests in flight
  std::atomic<std::shared_ptr<const GatewaySnapshot>> snapshot_;
  UsageMeter usage_;
};

}  // namespace nimbus::services::apigateway
