#include "deploy/openapi.h"

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <cctype>
#include <cstring>

#include "base/text.h"

namespace nimbus::deploy {

namespace json = boost::json;

std::string lambda_integration_uri(const std::string& region, const std::string& function_arn) {
  return "arn:aws:apigateway:" + region + ":lambda:path/2015-03-31/functions/" + function_arn +
         "/invocations";
}

namespace {

// The start of every generated document: OpenAPI version and info.
json::object document_head(std::string_view title) {
  return json::object{{"openapi", "3.0.1"},
                      {"info", json::object{{"title", title}, {"version", "1.0"}}}};
}

// A Lambda authorizer as an OpenAPI security scheme (REST and HTTP APIs alike).
json::object authorizer_scheme(std::string_view header, json::object authorizer) {
  return json::object{{"type", "apiKey"},
                      {"name", header},
                      {"in", "header"},
                      {"x-amazon-apigateway-authtype", "custom"},
                      {"x-amazon-apigateway-authorizer", std::move(authorizer)}};
}

std::string method_key(const std::string& method) {
  return method == "ANY" || method.empty() ? "x-amazon-apigateway-any-method" : ascii_lower(method);
}

json::object integration(const std::string& region, const std::string& arn,
                         const std::string& payload_version, std::optional<int> timeout_ms) {
  json::object o{{"type", "aws_proxy"},
                 {"httpMethod", "POST"},
                 {"uri", lambda_integration_uri(region, arn)},
                 {"payloadFormatVersion", payload_version}};
  if (timeout_ms) o["timeoutInMillis"] = *timeout_ms;
  return o;
}

json::array strings(const std::vector<std::string>& v) {
  json::array a;
  for (auto& s : v) a.emplace_back(s);
  return a;
}

std::vector<std::string> split_csv(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(',', start);
    if (end == std::string::npos) end = s.size();
    std::string part = s.substr(start, end - start);
    while (!part.empty() && part.front() == ' ') part.erase(0, 1);
    while (!part.empty() && part.back() == ' ') part.pop_back();
    if (!part.empty()) out.push_back(part);
    start = end + 1;
  }
  return out;
}

// "method.request.header.X" → {in: header, name: X}.
std::optional<std::pair<std::string, std::string>> parameter_location(const std::string& p) {
  static const std::pair<const char*, const char*> kinds[] = {
      {"method.request.header.", "header"},
      {"method.request.querystring.", "query"},
      {"method.request.path.", "path"}};
  for (auto& [prefix, in] : kinds)
    if (p.starts_with(prefix)) return std::pair{std::string(in), p.substr(strlen(prefix))};
  return std::nullopt;
}

// OpenAPI path parameters ({id}, {proxy+}) of a route path.
std::vector<std::string> path_parameters(const std::string& path) {
  std::vector<std::string> out;
  size_t pos = 0;
  while ((pos = path.find('{', pos)) != std::string::npos) {
    size_t end = path.find('}', pos);
    if (end == std::string::npos) break;
    std::string name = path.substr(pos + 1, end - pos - 1);
    if (name.ends_with("+")) name.pop_back();
    out.push_back(name);
    pos = end + 1;
  }
  return out;
}

}  // namespace

json::object rest_openapi(const sam::RestApi& api, const std::vector<RestRoute>& routes,
                          const std::string& region) {
  json::object doc = document_head(api.name.empty() ? api.logical_id : api.name);
  json::object paths;
  json::object schemes;
  json::object schemas;
  bool uses_validators = false;

  for (const auto& [name, schema] : api.models) schemas[name] = schema;

  for (const auto& a : api.authorizers) {
    json::object authorizer{{"type", a.payload_type == "REQUEST" ? "request" : "token"},
                            {"authorizerUri", lambda_integration_uri(region, a.function_arn)},
                            {"authorizerResultTtlInSeconds", a.reauthorize_every}};
    std::string header = a.header.empty() ? "Authorization" : a.header;
    if (a.payload_type == "REQUEST") {
      std::vector<std::string> sources;
      for (auto& h : a.headers) sources.push_back("method.request.header." + h);
      for (auto& q : a.query_strings) sources.push_back("method.request.querystring." + q);
      for (auto& s : a.stage_variables) sources.push_back("stageVariables." + s);
      std::string joined;
      for (auto& s : sources) joined += (joined.empty() ? "" : ", ") + s;
      authorizer["identitySource"] = joined;
      header = a.headers.empty() ? "Unused" : a.headers.front();
    } else {
      authorizer["identitySource"] = "method.request.header." + header;
      if (!a.validation_expression.empty())
        authorizer["identityValidationExpression"] = a.validation_expression;
    }
    schemes[a.name] = authorizer_scheme(header, std::move(authorizer));
  }

  for (const auto& r : routes) {
    const auto& e = r.event;
    json::object op;
    op["x-amazon-apigateway-integration"] =
        integration(region, r.function_arn, "1.0", std::nullopt);
    // RequestParameters marked `Caching: true` are the method's cache key, as SAM generates them.
    json::array cache_keys;
    for (const auto& p : e.request_parameters)
      if (p.caching) cache_keys.emplace_back(p.name);
    if (!cache_keys.empty())
      op["x-amazon-apigateway-integration"].as_object()["cacheKeyParameters"] =
          std::move(cache_keys);
    json::array security;
    bool key = e.api_key_required.value_or(api.api_key_required);
    if (key) {
      security.push_back(json::object{{"api_key", json::array{}}});
      schemes["api_key"] =
          json::object{{"type", "apiKey"}, {"name", "x-api-key"}, {"in", "header"}};
    }
    std::string auth = e.authorizer.empty() ? api.default_authorizer : e.authorizer;
    if (!auth.empty() && auth != "NONE" && auth != "AWS_IAM")
      security.push_back(json::object{{auth, json::array{}}});
    if (!security.empty()) op["security"] = std::move(security);

    json::array params;
    for (const auto& name : path_parameters(e.path))
      params.push_back(json::object{{"name", name},
                                    {"in", "path"},
                                    {"required", true},
                                    {"schema", json::object{{"type", "string"}}}});
    bool validate_params = false;
    for (const auto& p : e.request_parameters) {
      auto loc = parameter_location(p.name);
      if (!loc || loc->first == "path") continue;
      params.push_back(json::object{{"name", loc->second},
                                    {"in", loc->first},
                                    {"required", p.required},
                                    {"schema", json::object{{"type", "string"}}}});
      if (p.required) validate_params = true;
    }
    if (!params.empty()) op["parameters"] = std::move(params);

    bool validate_body = false;
    if (e.request_model) {
      const auto& m = *e.request_model;
      op["requestBody"] = json::object{
          {"required", m.required},
          {"content",
           json::object{{"application/json",
                         json::object{{"schema", json::object{{"$ref", "#/components/schemas/" +
                                                                           m.model}}}}}}}};
      validate_body = m.validate_body.value_or(true);
      if (m.validate_parameters) validate_params = *m.validate_parameters;
    }
    if (validate_body || validate_params) {
      uses_validators = true;
      op["x-amazon-apigateway-request-validator"] = validate_body && validate_params
                                                        ? "body-and-params"
                                                    : validate_body ? "body-only"
                                                                    : "params-only";
    }
    op["responses"] = json::object{};
    std::string path = e.path.empty() ? "/" : e.path;
    if (!paths.contains(path)) paths[path] = json::object{};
    paths[path].as_object()[method_key(e.method)] = std::move(op);
  }
  doc["paths"] = std::move(paths);

  json::object components;
  if (!schemes.empty()) components["securitySchemes"] = std::move(schemes);
  if (!schemas.empty()) components["schemas"] = std::move(schemas);
  if (!components.empty()) doc["components"] = std::move(components);
  if (uses_validators)
    doc["x-amazon-apigateway-request-validators"] = json::object{
        {"body-and-params",
         json::object{{"validateRequestBody", true}, {"validateRequestParameters", true}}},
        {"body-only",
         json::object{{"validateRequestBody", true}, {"validateRequestParameters", false}}},
        {"params-only",
         json::object{{"validateRequestBody", false}, {"validateRequestParameters", true}}}};
  if (api.cors) {
    const auto& c = *api.cors;
    json::object cors{{"allowOrigins", strings(split_csv(c.allow_origin))},
                      {"allowCredentials", c.allow_credentials}};
    if (!c.allow_methods.empty()) cors["allowMethods"] = strings(split_csv(c.allow_methods));
    if (!c.allow_headers.empty()) cors["allowHeaders"] = strings(split_csv(c.allow_headers));
    if (c.max_age) cors["maxAge"] = *c.max_age;
    doc["x-amazon-apigateway-cors"] = std::move(cors);
  }
  if (!api.binary_media_types.empty())
    doc["x-amazon-apigateway-binary-media-types"] = strings(api.binary_media_types);
  return doc;
}

namespace {

// JSON Pointer escaping of a patch path segment (AWS's: "/" is "~1").
std::string escape_pointer(std::string_view s) {
  std::string out;
  for (char c : s) out += c == '/' ? "~1" : c == '~' ? "~0" : std::string(1, c);
  return out;
}

// A MethodSettings entry's key in the stage: "*/*", or the ~1-escaped
// resource path and the method. CloudFormation spells ResourcePath
// "/~1orders~1{id}"; a plain "/orders/{id}" is taken to mean the same.
std::string method_setting_key(const sam::MethodSetting& s) {
  std::string method = s.http_method;
  for (auto& c : method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (s.resource_path == "/*" || s.resource_path == "*") return "*/" + method;
  std::string path = s.resource_path;
  if (path.starts_with("/~1")) {
    std::string plain;
    for (size_t i = 1; i < path.size(); ++i) {
      if (path.compare(i, 2, "~1") == 0) {
        plain += '/';
        ++i;
      } else {
        plain += path[i];
      }
    }
    path = plain;
  }
  std::string key;
  for (char c : path) key += c == '/' ? std::string("~1") : std::string(1, c);
  return key + "/" + method;
}

}  // namespace

json::array rest_stage_cache_patch(const sam::RestApi& api, const json::object& current_stage) {
  json::array ops;
  auto op = [&](const char* kind, std::string path, std::string value = {}) {
    json::object o{{"op", kind}, {"path", std::move(path)}};
    if (std::string_view(kind) != "remove") o["value"] = std::move(value);
    ops.push_back(std::move(o));
  };
  auto* on = current_stage.if_contains("cacheClusterEnabled");
  bool enabled = on && on->is_bool() && on->as_bool();
  if (enabled != api.cache_cluster_enabled)
    op("replace", "/cacheClusterEnabled", api.cache_cluster_enabled ? "true" : "false");
  auto* size = current_stage.if_contains("cacheClusterSize");
  if (!api.cache_cluster_size.empty() &&
      (!size || !size->is_string() || size->as_string() != api.cache_cluster_size))
    op("replace", "/cacheClusterSize", api.cache_cluster_size);
  if (auto* ms = current_stage.if_contains("methodSettings"); ms && ms->is_object())
    for (const auto& [key, _] : ms->as_object()) op("remove", "/" + std::string(key));
  std::vector<const sam::MethodSetting*> settings;
  for (const auto& s : api.method_settings) settings.push_back(&s);
  std::stable_partition(settings.begin(), settings.end(), [](const sam::MethodSetting* s) {
    return method_setting_key(*s) == "*/*";
  });
  for (const auto* s : settings) {
    std::string key = "/" + method_setting_key(*s);
    if (s->caching_enabled)
      op("replace", key + "/caching/enabled", *s->caching_enabled ? "true" : "false");
    if (s->cache_ttl_in_seconds)
      op("replace", key + "/caching/ttlInSeconds", std::to_string(*s->cache_ttl_in_seconds));
  }
  return ops;
}

json::array rest_stage_restore_patch(const json::object& current, const json::object& previous) {
  json::array ops;
  auto op = [&](const char* kind, std::string path, std::string value = {}) {
    json::object o{{"op", kind}, {"path", std::move(path)}};
    if (std::string_view(kind) != "remove") o["value"] = std::move(value);
    ops.push_back(std::move(o));
  };
  auto member = [](const json::object& o, std::string_view k) -> const json::object& {
    static const json::object empty;
    auto* v = o.if_contains(k);
    return v && v->is_object() ? v->as_object() : empty;
  };
  auto text = [](const json::value* v) -> std::string {
    if (!v) return "";
    if (v->is_string()) return std::string(v->as_string());
    if (v->is_bool()) return v->as_bool() ? "true" : "false";
    return json::serialize(*v);
  };
  const auto &now_vars = member(current, "variables"), &old_vars = member(previous, "variables");
  for (const auto& [k, v] : now_vars)
    if (!old_vars.contains(k)) op("remove", "/variables/" + escape_pointer(k));
  for (const auto& [k, v] : old_vars)
    if (text(now_vars.if_contains(k)) != text(&v))
      op("replace", "/variables/" + escape_pointer(k), text(&v));
  for (auto k : {"cacheClusterEnabled", "cacheClusterSize"}) {
    auto before = text(previous.if_contains(k));
    if (!before.empty() && before != text(current.if_contains(k)))
      op("replace", std::string("/") + k, before);
  }
  const auto& now_settings = member(current, "methodSettings");
  const auto& old_settings = member(previous, "methodSettings");
  if (json::serialize(now_settings) == json::serialize(old_settings)) return ops;
  for (const auto& [key, _] : now_settings) op("remove", "/" + std::string(key));
  // `*/*` first: a new override starts from it.
  std::vector<std::string> keys;
  for (const auto& [key, _] : old_settings) keys.emplace_back(key);
  std::stable_partition(keys.begin(), keys.end(), [](const auto& k) { return k == "*/*"; });
  for (const auto& key : keys) {
    const auto& s = member(old_settings, key);
    for (auto [field, path] : {std::pair{"cachingEnabled", "caching/enabled"},
                               std::pair{"cacheTtlInSeconds", "caching/ttlInSeconds"},
                               std::pair{"cacheDataEncrypted", "caching/dataEncrypted"},
                               std::pair{"requireAuthorizationForCacheControl",
                                         "caching/requireAuthorizationForCacheControl"},
                               std::pair{"unauthorizedCacheControlHeaderStrategy",
                                         "caching/unauthorizedCacheControlHeaderStrategy"}})
      if (auto* v = s.if_contains(field)) op("replace", "/" + key + "/" + path, text(v));
  }
  return ops;
}

json::object http_openapi(const sam::HttpApi& api, const std::vector<HttpRoute>& routes,
                          const std::string& region) {
  json::object doc = document_head(api.name.empty() ? api.logical_id : api.name);
  json::object paths;
  json::object schemes;
  for (const auto& a : api.authorizers) {
    json::array sources;
    for (auto& h : a.headers) sources.emplace_back("$request.header." + h);
    for (auto& q : a.query_strings) sources.emplace_back("$request.querystring." + q);
    if (sources.empty()) sources.emplace_back("$request.header.Authorization");
    json::object authorizer{{"type", "request"},
                            {"authorizerUri", lambda_integration_uri(region, a.function_arn)},
                            {"identitySource", std::move(sources)},
                            {"authorizerResultTtlInSeconds", a.reauthorize_every},
                            {"authorizerPayloadFormatVersion",
                             a.payload_format_version.empty() ? "2.0" : a.payload_format_version},
                            {"enableSimpleResponses", a.enable_simple_responses}};
    schemes[a.name] = authorizer_scheme(a.headers.empty() ? "Authorization" : a.headers.front(),
                                        std::move(authorizer));
  }
  for (const auto& r : routes) {
    const auto& e = r.event;
    json::object op;
    op["x-amazon-apigateway-integration"] =
        integration(region, r.function_arn, e.payload_format_version, e.timeout_in_millis);
    std::string auth = e.authorizer.empty() ? api.default_authorizer : e.authorizer;
    if (!auth.empty() && auth != "NONE" && auth != "AWS_IAM")
      op["security"] = json::array{json::object{{auth, strings(e.authorization_scopes)}}};
    json::array params;
    for (const auto& name : path_parameters(e.path))
      params.push_back(json::object{{"name", name},
                                    {"in", "path"},
                                    {"required", true},
                                    {"schema", json::object{{"type", "string"}}}});
    if (!params.empty()) op["parameters"] = std::move(params);
    op["responses"] = json::object{};
    std::string path = e.is_default_route() ? "$default" : e.path;
    if (!paths.contains(path)) paths[path] = json::object{};
    paths[path].as_object()[method_key(e.method)] = std::move(op);
  }
  doc["paths"] = std::move(paths);
  if (!schemes.empty()) doc["components"] = json::object{{"securitySchemes", std::move(schemes)}};
  if (api.cors) {
    const auto& c = *api.cors;
    json::object cors{{"allowOrigins", strings(c.allow_origins)},
                      {"allowCredentials", c.allow_credentials}};
    if (!c.allow_methods.empty()) cors["allowMethods"] = strings(c.allow_methods);
    if (!c.allow_headers.empty()) cors["allowHeaders"] = strings(c.allow_headers);
    if (!c.expose_headers.empty()) cors["exposeHeaders"] = strings(c.expose_headers);
    if (c.max_age) cors["maxAge"] = *c.max_age;
    doc["x-amazon-apigateway-cors"] = std::move(cors);
  }
  return doc;
}

}  // namespace nimbus::deploy
