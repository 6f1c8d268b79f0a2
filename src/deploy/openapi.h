// OpenAPI 3.0 documents for the APIs of a SAM template, in API Gateway's
// dialect (the x-amazon-apigateway-* extensions), as `nimbus deploy` pushes
// them with PutRestApi (REST APIs) and ImportApi / ReimportApi (HTTP APIs).
#pragma once

#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "deploy/sam.h"

namespace nimbus::deploy {

// arn:aws:apigateway:REGION:lambda:path/2015-03-31/functions/FUNCTION_ARN/invocations
std::string lambda_integration_uri(const std::string& region, const std::string& function_arn);

struct RestRoute {
  sam::ApiEvent event;
  std::string function_arn;
};

struct HttpRoute {
  sam::HttpApiEvent event;
  std::string function_arn;
};

// The REST API's document: one operation per route with an aws_proxy
// integration (payload 1.0), API keys, Lambda authorizers, models and request
// validators, required parameters, CORS and binary media types.
boost::json::object rest_openapi(const sam::RestApi& api, const std::vector<RestRoute>& routes,
                                 const std::string& region);

// The UpdateStage patch operations that give a REST API's stage exactly the
// template's cache: cacheClusterEnabled, cacheClusterSize and MethodSettings
// (every method setting of `current_stage`, a GetStage answer, is removed
// first, then the template's are set, `*/*` before the overrides).
boost::json::array rest_stage_cache_patch(const sam::RestApi& api,
                                          const boost::json::object& current_stage);

// The UpdateStage patch operations that give a REST stage (`current`, a
// GetStage answer) back the settings of `previous` (another GetStage answer
// of it): variables, cacheClusterEnabled / cacheClusterSize and every method
// setting's caching members. A rollback's last step after redeploying the
// previous document.
boost::json::array rest_stage_restore_patch(const boost::json::object& current,
                                            const boost::json::object& previous);

// The HTTP API's document: routes with aws_proxy integrations (payload 2.0 by
// default), Lambda authorizers and CORS.
boost::json::object http_openapi(const sam::HttpApi& api, const std::vector<HttpRoute>& routes,
                                 const std::string& region);

}  // namespace nimbus::deploy
