// What the client gets back from a Lambda proxy integration: the function's
// result mapped to an HTTP response, or the gateway's own error answer when
// the function failed, timed out or returned something malformed.
//
// The error answers as API Gateway sends them:
//   REST API:  malformed result / function error  502 {"message": "Internal server error"}
//              timeout (29 s integration limit)    504 {"message": "Endpoint request timed out"}
//              no route                            403 {"message":"Missing Authentication Token"}
//   HTTP API:  malformed result / function error  500 {"message":"Internal Server Error"}
//              timeout (30 s integration limit)    503 {"message":"Service Unavailable"}
//              no route                            404 {"message":"Not Found"}
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "http/message.h"
#include "services/apigateway/routes.h"

namespace nimbus::services::apigateway {

enum class PayloadVersion { k1_0, k2_0 };

enum class InvokeStatus {
  kOk,             // the function returned a result
  kFunctionError,  // the invoke answered with X-Amz-Function-Error (unhandled error)
  kTimeout,        // the integration timed out
};

struct ResponseOptions {
  ApiKind kind = ApiKind::kRest;
  PayloadVersion version = PayloadVersion::k1_0;
  // REST APIs turn an isBase64Encoded body back into bytes only when the
  // request's Accept header matches a binary media type; otherwise the client
  // gets the base64 text.
  std::vector<std::string> binary_media_types;
  std::string accept;  // the request's Accept header
};

// Format 1.0 result: an object with statusCode (integer), optional headers,
// multiValueHeaders, body (string) and isBase64Encoded (bool), nothing else.
// The error says why the result is malformed (for the log, not the client).
Result<http::Response, std::string> parse_result_v1(std::string_view payload,
                                                    bool decode_base64 = true,
                                                    bool default_json_content_type = true);

// Format 2.0 result: an object with statusCode is read like 1.0 plus
// "cookies" (each becomes a Set-Cookie header); any other valid JSON is a 200
// application/json response whose body is that JSON (a JSON string: its text).
Result<http::Response, std::string> parse_result_v2(std::string_view payload);

// The whole mapping for one invocation.
http::Response to_http_response(InvokeStatus status, std::string_view payload,
                                const ResponseOptions& opts);

http::Response integration_error_response(ApiKind kind);
http::Response integration_timeout_response(ApiKind kind);
http::Response no_route_response(ApiKind kind);

// True when any media type of an Accept header value matches `patterns`.
bool accept_matches(std::string_view accept, std::span<const std::string> patterns);

}  // namespace nimbus::services::apigateway
