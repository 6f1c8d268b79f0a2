// Compiles an OpenAPI 3 / Swagger 2 document with API Gateway's extensions
// (the body of PutRestApi, ImportRestApi, ImportApi and ReimportApi) into the
// routes the gateway serves.
//
// Supported: `paths.<path>.<method>` (x-amazon-apigateway-any-method = ANY)
// with an `aws_proxy` Lambda integration, API key security
// (`security: [{"api_key": []}]` with an apiKey scheme named x-api-key in the
// header), Lambda authorizers (security schemes with
// x-amazon-apigateway-authorizer), request validators
// (x-amazon-apigateway-request-validators / -validator, with models from
// components.schemas or definitions and required parameters), `x-amazon-apigateway-cors`,
// `x-amazon-apigateway-binary-media-types`, the integration's cacheKeyParameters
// and cacheNamespace (REST), and the documentation-only members (info, tags,
// summary, responses, ...). Everything else that changes behaviour is refused with a message naming
// it, never silently ignored.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "services/apigateway/authorizer.h"
#include "services/apigateway/cors.h"
#include "services/apigateway/json_schema.h"
#include "services/apigateway/proxy_response.h"
#include "services/apigateway/response_cache.h"
#include "services/apigateway/routes.h"

namespace nimbus::services::apigateway {

struct Integration {
  std::string function;   // name (from the function ARN or a plain name)
  std::string qualifier;  // alias or version from a qualified ARN, or empty
  PayloadVersion version = PayloadVersion::k1_0;
  int timeout_ms = 29000;
};

struct RouteSpec {
  std::string method;  // "GET", ... or "ANY"
  std::string path;    // "/users/{id}"
  Integration integration;
  bool api_key_required = false;
  std::string authorizer;  // name of a Lambda authorizer in ApiSpec::authorizers, or empty
  std::string operation_name;
  // Request validation (REST request validators): what the route's validator
  // checks, the body model and the required parameters.
  bool validate_body = false;
  bool validate_parameters = false;
  std::optional<JsonSchema> body_schema;
  RequiredParameters required;
  // Stage cache (REST): the integration's cacheKeyParameters and
  // cacheNamespace (empty: the resource path, as on AWS).
  std::vector<CacheKeyParameter> cache_key_parameters;
  std::string cache_namespace;
};

struct ApiSpec {
  std::string title;
  std::string description;
  std::string version;
  std::vector<RouteSpec> routes;
  std::optional<CorsConfig> cors;
  std::vector<std::string> binary_media_types;
  std::map<std::string, AuthorizerSpec> authorizers;
};

// Parses and checks a document for a REST API (kind kRest) or an HTTP API.
// Route conflicts inside the document are refused too.
Result<ApiSpec, std::string> import_openapi(std::string_view body, ApiKind kind);

// "arn:aws:apigateway:REGION:lambda:path/2015-03-31/functions/FN/invocations",
// FN a function ARN (optionally qualified) or a name.
Result<Integration, std::string> parse_integration_uri(std::string_view uri);

// The route table of a spec; route targets are the indexes into spec.routes.
Result<RouteTable, std::string> build_route_table(const ApiSpec& spec, ApiKind kind);

}  // namespace nimbus::services::apigateway
