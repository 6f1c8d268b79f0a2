#include "services/apigateway/cors.h"

#include <algorithm>
#include <cctype>

#include "base/text.h"

namespace nimbus::services::apigateway {

namespace {

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += ',';
    out += v[i];
  }
  return out;
}

bool contains_star(const std::vector<std::string>& v) {
  return std::find(v.begin(), v.end(), "*") != v.end();
}

bool contains_ci(const std::vector<std::string>& v, std::string_view x) {
  return std::any_of(v.begin(), v.end(), [&](const std::string& s) { return http::iequals(s, x); });
}

// "https://*.example.com" allows "https://a.example.com" and
// "https://a.b.example.com", not "https://example.com".
bool wildcard_origin_matches(std::string_view pattern, std::string_view origin) {
  auto star = pattern.find("://*.");
  if (star == std::string_view::npos) return false;
  std::string_view scheme = pattern.substr(0, star + 3);
  std::string_view suffix = pattern.substr(star + 4);  // ".example.com"
  if (origin.size() <= scheme.size() + suffix.size()) return false;
  return http::iequals(origin.substr(0, scheme.size()), scheme) &&
         http::iequals(origin.substr(origin.size() - suffix.size()), suffix);
}

// Allow-Origin value for an allowed origin: "*" when every origin is allowed
// and no credentials are involved, else the origin itself.
std::string allow_origin_value(const CorsConfig& cfg, std::string_view origin) {
  if (contains_star(cfg.allow_origins) && !cfg.allow_credentials) return "*";
  return std::string(origin);
}

bool is_cors_header(std::string_view name) {
  return ascii_lower(name).starts_with("access-control-");
}

void strip_cors_headers(http::Headers& headers) {
  http::Headers kept;
  for (const auto& [k, v] : headers.all())
    if (!is_cors_header(k)) kept.add(k, v);
  headers = std::move(kept);
}

bool requested_headers_allowed(const CorsConfig& cfg, std::string_view requested) {
  if (contains_star(cfg.allow_headers)) return true;
  while (!requested.empty()) {
    auto comma = requested.find(',');
    auto h = trim_ows(requested.substr(0, comma));
    if (!h.empty() && !contains_ci(cfg.allow_headers, h)) return false;
    requested = comma == std::string_view::npos ? std::string_view{} : requested.substr(comma + 1);
  }
  return true;
}

http::Response rest_preflight(const CorsConfig& cfg) {
  // SAM's mock OPTIONS integration: 200, empty body, the configured values.
  http::Response r;
  r.status = 200;
  r.headers.set("Content-Type", "application/json");
  if (!cfg.allow_origins.empty())
    r.headers.set("Access-Control-Allow-Origin", cfg.allow_origins[0]);
  r.headers.set("Access-Control-Allow-Methods", cfg.allow_methods.empty()
                                                    ? "DELETE,GET,HEAD,OPTIONS,PATCH,POST,PUT"
                                                    : join(cfg.allow_methods));
  if (!cfg.allow_headers.empty())
    r.headers.set("Access-Control-Allow-Headers", join(cfg.allow_headers));
  if (cfg.max_age) r.headers.set("Access-Control-Max-Age", std::to_string(*cfg.max_age));
  if (cfg.allow_credentials) r.headers.set("Access-Control-Allow-Credentials", "true");
  return r;
}

}  // namespace

Result<void, std::string> validate(const CorsConfig& cfg) {
  if (cfg.max_age && *cfg.max_age < 0) return fail(std::string("CORS MaxAge must not be negative"));
  if (cfg.kind == ApiKind::kRest && cfg.allow_origins.size() > 1)
    return fail(std::string("REST API Cors takes a single AllowOrigin value"));
  if (cfg.kind == ApiKind::kHttp && cfg.allow_credentials && contains_star(cfg.allow_origins))
    return fail(std::string(
        "CORS AllowCredentials cannot be true when AllowOrigins contains \"*\": name the origins"));
  return {};
}

bool is_preflight(const http::Request& req) {
  return req.method == "OPTIONS" && req.headers.get("Origin") &&
         req.headers.get("Access-Control-Request-Method");
}

bool origin_allowed(const CorsConfig& cfg, std::string_view origin) {
  for (const auto& o : cfg.allow_origins)
    if (o == "*" || http::iequals(o, origin) || wildcard_origin_matches(o, origin)) return true;
  return false;
}

http::Response preflight_response(const CorsConfig& cfg, const http::Request& req) {
  if (cfg.kind == ApiKind::kRest) return rest_preflight(cfg);
  http::Response r;
  r.status = 204;
  std::string_view origin = req.headers.get("Origin").value_or("");
  std::string_view method = req.headers.get("Access-Control-Request-Method").value_or("");
  if (!origin_allowed(cfg, origin)) return r;
  if (!cfg.allow_methods.empty() && !contains_star(cfg.allow_methods) &&
      !contains_ci(cfg.allow_methods, trim_ows(method)))
    return r;
  if (!requested_headers_allowed(cfg,
                                 req.headers.get("Access-Control-Request-Headers").value_or("")))
    return r;
  r.headers.set("Access-Control-Allow-Origin", allow_origin_value(cfg, origin));
  if (!cfg.allow_methods.empty())
    r.headers.set("Access-Control-Allow-Methods", join(cfg.allow_methods));
  if (!cfg.allow_headers.empty())
    r.headers.set("Access-Control-Allow-Headers", join(cfg.allow_headers));
  if (cfg.max_age) r.headers.set("Access-Control-Max-Age", std::to_string(*cfg.max_age));
  if (cfg.allow_credentials) r.headers.set("Access-Control-Allow-Credentials", "true");
  return r;
}

void apply_cors(const CorsConfig& cfg, const http::Request& req, http::Response& resp) {
  if (cfg.kind == ApiKind::kRest) return;
  strip_cors_headers(resp.headers);
  auto origin = req.headers.get("Origin");
  if (!origin || !origin_allowed(cfg, *origin)) return;
  resp.headers.set("Access-Control-Allow-Origin", allow_origin_value(cfg, *origin));
  if (!cfg.expose_headers.empty())
    resp.headers.set("Access-Control-Expose-Headers", join(cfg.expose_headers));
  if (cfg.allow_credentials) resp.headers.set("Access-Control-Allow-Credentials", "true");
}

}  // namespace nimbus::services::apigateway
