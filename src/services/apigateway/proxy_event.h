// The event a Lambda proxy integration receives, built exactly as API Gateway
// builds it: payload format 1.0 (REST APIs, and HTTP APIs that ask for 1.0)
// and 2.0 (HTTP APIs).
//
// Everything that varies per request or per deployment comes in through
// EventContext (ids, stage, clock reading), so building an event is a pure
// function of its inputs.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>

#include "http/message.h"
#include "services/apigateway/routes.h"

namespace nimbus::services::apigateway {

struct EventContext {
  std::string api_id;
  std::string account_id;
  std::string stage;  // "Prod", "dev", or "$default" (HTTP APIs)
  std::vector<std::pair<std::string, std::string>> stage_variables;  // none: null / absent
  std::string request_id;
  std::string extended_request_id;  // 1.0 only; empty: the request id
  std::string resource_id;          // REST only; empty: rest_resource_id(api_id, resource path)
  std::string domain_name;          // empty: the Host header, else "localhost"
  std::string source_ip;
  std::string protocol = "HTTP/1.1";
  int64_t epoch_ms = 0;  // request time; the caller reads the clock
  // Authorizer output as the integration sees it: REST/1.0 the object under
  // requestContext.authorizer (principalId, claims, context keys...); 2.0 the
  // object with "lambda" or "jwt" members.
  std::optional<boost::json::object> authorizer;
  // REST APIs: a request body whose Content-Type matches one of these
  // ("image/png", "image/*", "*/*") reaches the function base64-encoded.
  std::vector<std::string> binary_media_types;
};

// The id API Gateway's management API gives a REST resource (GetResources),
// which is also the event's requestContext.resourceId: derived from the API id
// and the resource path, so it is stable across imports and restarts.
std::string rest_resource_id(std::string_view api_id, std::string_view resource_path);

// Payload format 1.0, as JSON text. `kind` picks the REST shape (no
// "version"; resourceId set) or the HTTP API one ("version": "1.0"; resourceId
// null). The text is written directly (base/json_writer.h, no JSON value is
// built): members in AWS's order; in each map a name appears once, where it
// was first seen, with its last value (1.0 headers: the first spelling, names
// compared case-insensitively); strings escaped as boost::json::serialize
// does, which also writes the authorizer object.
std::string build_event_v1(const http::Request& req, const RouteMatch& match,
                           const EventContext& ctx, ApiKind kind = ApiKind::kRest);

// Payload format 2.0 (HTTP APIs), as JSON text.
std::string build_event_v2(const http::Request& req, const RouteMatch& match,
                           const EventContext& ctx);

// "09/Apr/2015:12:34:56 +0000": the time format of requestTime and time.
std::string clf_time(int64_t epoch_ms);

// True when `content_type` (parameters ignored) matches one of `patterns`, each
// an exact media type, "type/*" or "*/*"; case-insensitive.
bool media_type_matches(std::string_view content_type, std::span<const std::string> patterns);

// Whether a request body travels base64-encoded. REST APIs: Content-Type
// matches binaryMediaTypes. HTTP APIs: anything but text/*, application/json,
// application/xml and application/javascript (a missing Content-Type and form
// posts included). A body that is not valid UTF-8 is always encoded, since the
// event itself must stay valid JSON text.
bool is_binary_body(ApiKind kind, std::string_view content_type, std::string_view body,
                    std::span<const std::string> binary_media_types);

bool is_valid_utf8(std::string_view s);

}  // namespace nimbus::services::apigateway
