#include "services/apigateway/proxy_response.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "base/ids.h"
#include "services/apigateway/proxy_event.h"

namespace nimbus::services::apigateway {

namespace json = boost::json;

namespace {

http::Response message(int status, std::string body, std::string_view error_type = {}) {
  auto r = http::Response::json(status, std::move(body));
  if (!error_type.empty()) r.headers.set("x-amzn-ErrorType", std::string(error_type));
  return r;
}

std::optional<json::value> parse_json(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return std::nullopt;
  return v;
}

// Header values may be strings, numbers or booleans; API Gateway sends their text.
std::optional<std::string> scalar_text(const json::value& v) {
  if (v.is_string()) return std::string(v.get_string());
  if (v.is_bool()) return v.get_bool() ? "true" : "false";
  if (v.is_int64()) return std::to_string(v.get_int64());
  if (v.is_uint64()) return std::to_string(v.get_uint64());
  if (v.is_double()) return json::serialize(v);
  return std::nullopt;
}

Result<int, std::string> status_code(const json::object& o) {
  const json::value* sc = o.if_contains("statusCode");
  if (!sc) return fail(std::string("statusCode is missing"));
  int64_t code = 0;
  if (sc->is_int64())
    code = sc->get_int64();
  else if (sc->is_uint64() && sc->get_uint64() < 1000)
    code = static_cast<int64_t>(sc->get_uint64());
  else
    return fail("statusCode must be an integer, got " + json::serialize(*sc));
  if (code < 100 || code > 599) return fail("statusCode " + std::to_string(code) + " is invalid");
  return static_cast<int>(code);
}

// Reads "headers" and "multiValueHeaders"; a name present in both keeps only
// its multiValueHeaders values.
Result<void, std::string> read_headers(const json::object& o, http::Headers& out) {
  if (const json::value* mv = o.if_contains("multiValueHeaders"); mv && !mv->is_null()) {
    if (!mv->is_object()) return fail(std::string("multiValueHeaders must be an object"));
    for (const auto& [k, vals] : mv->get_object()) {
      if (!vals.is_array()) return fail("multiValueHeaders." + std::string(k) + " must be a list");
      for (const auto& v : vals.get_array()) {
        auto t = scalar_text(v);
        if (!t) return fail("multiValueHeaders." + std::string(k) + " has a non-scalar value");
        out.add(std::string(k), std::move(*t));
      }
    }
  }
  if (const json::value* h = o.if_contains("headers"); h && !h->is_null()) {
    if (!h->is_object()) return fail(std::string("headers must be an object"));
    for (const auto& [k, v] : h->get_object()) {
      auto t = scalar_text(v);
      if (!t) return fail("headers." + std::string(k) + " must be a string");
      if (!out.get(k)) out.add(std::string(k), std::move(*t));
    }
  }
  return {};
}

Result<std::string, std::string> read_body(const json::object& o, bool decode_base64) {
  const json::value* b = o.if_contains("body");
  if (!b || b->is_null()) return std::string();
  if (!b->is_string()) return fail(std::string("body must be a string"));
  std::string body(b->get_string());
  const json::value* enc = o.if_contains("isBase64Encoded");
  bool b64 = enc && enc->is_bool() && enc->get_bool();
  if (!b64 || !decode_base64) return body;
  std::string raw;
  if (!base64_decode(body, raw)) return fail(std::string("body is not valid base64"));
  return raw;
}

std::string_view trim_ws(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

}  // namespace

Result<http::Response, std::string> parse_result_v1(std::string_view payload, bool decode_base64,
                                                    bool default_json_content_type) {
  auto v = parse_json(payload);
  if (!v || !v->is_object()) return fail(std::string("result is not a JSON object"));
  const json::object& o = v->get_object();
  for (const auto& [k, _] : o)
    if (k != "statusCode" && k != "headers" && k != "multiValueHeaders" && k != "body" &&
        k != "isBase64Encoded")
      return fail("unexpected field " + std::string(k));
  if (const json::value* enc = o.if_contains("isBase64Encoded");
      enc && !enc->is_bool() && !enc->is_null())
    return fail(std::string("isBase64Encoded must be a boolean"));
  auto code = status_code(o);
  if (!code) return fail(code.error());
  http::Response r;
  r.status = *code;
  if (auto h = read_headers(o, r.headers); !h) return fail(h.error());
  auto body = read_body(o, decode_base64);
  if (!body) return fail(body.error());
  r.body = std::move(*body);
  if (default_json_content_type && !r.headers.get("Content-Type"))
    r.headers.set("Content-Type", "application/json");
  return r;
}

Result<http::Response, std::string> parse_result_v2(std::string_view payload) {
  auto v = parse_json(payload);
  if (!v) return fail(std::string("result is not valid JSON"));
  if (!v->is_object() || !v->get_object().contains("statusCode")) {
    // Inferred format: the whole result is the body.
    http::Response r;
    r.status = 200;
    r.headers.set("Content-Type", "application/json");
    r.body = v->is_string() ? std::string(v->get_string()) : std::string(trim_ws(payload));
    return r;
  }
  const json::object& o = v->get_object();
  auto code = status_code(o);
  if (!code) return fail(code.error());
  http::Response r;
  r.status = *code;
  if (auto h = read_headers(o, r.headers); !h) return fail(h.error());
  if (const json::value* c = o.if_contains("cookies"); c && !c->is_null()) {
    if (!c->is_array()) return fail(std::string("cookies must be a list"));
    for (const auto& cookie : c->get_array()) {
      if (!cookie.is_string()) return fail(std::string("cookies must be strings"));
      r.headers.add("Set-Cookie", std::string(cookie.get_string()));
    }
  }
  auto body = read_body(o, /*decode_base64=*/true);
  if (!body) return fail(body.error());
  r.body = std::move(*body);
  return r;
}

bool accept_matches(std::string_view accept, std::span<const std::string> patterns) {
  while (!accept.empty()) {
    auto comma = accept.find(',');
    if (media_type_matches(accept.substr(0, comma), patterns)) return true;
    accept = comma == std::string_view::npos ? std::string_view{} : accept.substr(comma + 1);
  }
  return false;
}

http::Response to_http_response(InvokeStatus status, std::string_view payload,
                                const ResponseOptions& opts) {
  if (status == InvokeStatus::kTimeout) return integration_timeout_response(opts.kind);
  if (status == InvokeStatus::kFunctionError) return integration_error_response(opts.kind);
  Result<http::Response, std::string> r = fail(std::string());
  if (opts.version == PayloadVersion::k2_0) {
    r = parse_result_v2(payload);
  } else if (opts.kind == ApiKind::kRest) {
    r = parse_result_v1(payload, accept_matches(opts.accept, opts.binary_media_types));
  } else {
    r = parse_result_v1(payload, /*decode_base64=*/true, /*default_json_content_type=*/false);
  }
  if (!r) return integration_error_response(opts.kind);
  return std::move(r).value();
}

http::Response integration_error_response(ApiKind kind) {
  if (kind == ApiKind::kRest)
    return message(502, R"({"message": "Internal server error"})", "InternalServerErrorException");
  return message(500, R"({"message":"Internal Server Error"})");
}

http::Response integration_timeout_response(ApiKind kind) {
  if (kind == ApiKind::kRest) return message(504, R"({"message": "Endpoint request timed out"})");
  return message(503, R"({"message":"Service Unavailable"})");
}

http::Response no_route_response(ApiKind kind) {
  if (kind == ApiKind::kRest)
    return message(403, R"({"message":"Missing Authentication Token"})",
                   "MissingAuthenticationTokenException");
  return message(404, R"({"message":"Not Found"})");
}

}  // namespace nimbus::services::apigateway
