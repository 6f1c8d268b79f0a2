// CORS as API Gateway applies it in front of Lambda proxy integrations.
//
// HTTP APIs (CorsConfiguration): the gateway answers every preflight itself
// (204, no route or function involved) and, on actual responses, replaces the
// integration's own Access-Control-* headers with the configured ones.
//
// REST APIs (SAM `Cors`): SAM adds an OPTIONS method with a mock integration
// to each path, which answers preflights with the configured headers; actual
// responses are left as the function returned them (with a proxy integration
// the function sets Access-Control-Allow-Origin itself).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "http/message.h"
#include "services/apigateway/routes.h"

namespace nimbus::services::apigateway {

struct CorsConfig {
  ApiKind kind = ApiKind::kHttp;
  // HTTP APIs: a list of origins, "*", or "https://*.example.com" patterns.
  // REST (SAM AllowOrigin): one value sent as is.
  std::vector<std::string> allow_origins;
  std::vector<std::string> allow_methods;  // "*" allowed (HTTP APIs)
  std::vector<std::string> allow_headers;  // "*" allowed (HTTP APIs)
  std::vector<std::string> expose_headers;
  std::optional<int> max_age;  // seconds
  bool allow_credentials = false;
};

// Refuses what API Gateway refuses: credentials with a wildcard origin, a
// negative max age, more than one REST origin.
Result<void, std::string> validate(const CorsConfig& cfg);

// OPTIONS with Origin and Access-Control-Request-Method.
bool is_preflight(const http::Request& req);

// The gateway's answer to a preflight. When the origin, method or headers
// asked for are not allowed (HTTP APIs), the answer carries no CORS headers
// and the browser refuses the actual request.
http::Response preflight_response(const CorsConfig& cfg, const http::Request& req);

// Adds the CORS headers to an actual response (HTTP APIs; REST responses are
// returned unchanged).
void apply_cors(const CorsConfig& cfg, const http::Request& req, http::Response& resp);

// Whether `origin` is allowed by the configured list.
bool origin_allowed(const CorsConfig& cfg, std::string_view origin);

}  // namespace nimbus::services::apigateway
