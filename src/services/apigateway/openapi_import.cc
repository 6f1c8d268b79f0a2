#include "services/apigateway/openapi_import.h"

#include <algorithm>
#include <boost/json.hpp>
#include <set>

namespace nimbus::services::apigateway {

namespace json = boost::json;

namespace {

const std::set<std::string, std::less<>> kTopLevel = {
    "openapi",
    "swagger",
    "info",
    "paths",
    "components",
    "definitions",
    "servers",
    "tags",
    "externalDocs",
    "basePath",
    "host",
    "schemes",
    "consumes",
    "produces",
    "securityDefinitions",
    "x-amazon-apigateway-cors",
    "x-amazon-apigateway-binary-media-types",
    "x-amazon-apigateway-request-validators",
    "x-amazon-apigateway-request-validator",
};

const std::set<std::string, std::less<>> kOperation = {
    "summary",
    "description",
    "operationId",
    "tags",
    "responses",
    "parameters",
    "security",
    "deprecated",
    "externalDocs",
    "consumes",
    "produces",
    "servers",
    "x-amazon-apigateway-integration",
    "requestBody",
    "x-amazon-apigateway-request-validator",
};

const std::set<std::string, std::less<>> kMethods = {
    "get", "put", "post", "delete", "options", "head", "patch", "x-amazon-apigateway-any-method"};

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string str(const json::value* v) {
  if (v && v->is_string()) return std::string(v->as_string());
  return {};
}

Result<std::vector<std::string>, std::string> string_list(const json::value& v, std::string what) {
  std::vector<std::string> out;
  if (!v.is_array()) return fail(what + " must be a list of strings");
  for (auto& e : v.as_array()) {
    if (!e.is_string()) return fail(what + " must be a list of strings");
    out.emplace_back(e.as_string());
  }
  return out;
}

struct Schemes {
  std::set<std::string, std::less<>> api_keys;
  std::map<std::string, AuthorizerSpec> authorizers;
};

Result<AuthorizerSpec, std::string> parse_authorizer(const std::string& name,
                                                     const json::object& scheme, ApiKind kind) {
  std::string where = "security scheme '" + name + "'";
  auto* av = scheme.if_contains("x-amazon-apigateway-authorizer");
  if (!av || !av->is_object()) return fail(where + ": x-amazon-apigateway-authorizer is missing");
  if (auto t = str(scheme.if_contains("x-amazon-apigateway-authtype")); !t.empty() && t != "custom")
    return fail(where + ": x-amazon-apigateway-authtype '" + t + "' is not supported (custom)");
  auto& a = av->as_object();
  AuthorizerSpec spec;
  spec.name = name;
  spec.ttl_seconds = kind == ApiKind::kRest ? 300 : 0;
  spec.v2_payload = kind == ApiKind::kHttp;
  std::vector<std::string> sources;
  for (auto& [k, v] : a) {
    std::string what = where + ": x-amazon-apigateway-authorizer." + std::string(k);
    if (k == "type") {
      std::string t = str(&v);
      for (auto& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (t == "token" && kind == ApiKind::kRest) {
        spec.token = true;
      } else if (t != "request") {
        return fail(what + " '" + str(&v) +
                    "' is not supported (token or request; HTTP APIs: request)");
      }
    } else if (k == "authorizerUri") {
      auto in = parse_integration_uri(str(&v));
      if (!in) return fail(what + ": " + in.error());
      spec.function = in->function;
      spec.qualifier = in->qualifier;
    } else if (k == "identitySource") {
      if (v.is_string()) {
        sources.emplace_back(v.as_string());
      } else {
        auto l = string_list(v, what);
        if (!l) return fail(l.error());
        sources = std::move(l.value());
      }
    } else if (k == "identityValidationExpression") {
      std::string pattern = str(&v);
      if (pattern.size() > 1000) return fail(what + " is longer than 1000 characters");
      try {
        spec.token_pattern = std::make_shared<const std::regex>(pattern, std::regex::ECMAScript);
      } catch (const std::regex_error&) {
        return fail(what + " is not a supported regular expression");
      }
    } else if (k == "authorizerResultTtlInSeconds") {
      if (!v.is_int64() || v.as_int64() < 0 || v.as_int64() > 3600)
        return fail(what + " must be an integer between 0 and 3600");
      spec.ttl_seconds = static_cast<int>(v.as_int64());
    } else if (k == "authorizerPayloadFormatVersion") {
      std::string f = str(&v);
      if (kind == ApiKind::kRest || (f != "1.0" && f != "2.0"))
        return fail(what + " '" + f + "' is not supported");
      spec.v2_payload = f == "2.0";
    } else if (k == "enableSimpleResponses") {
      if (!v.is_bool() || kind == ApiKind::kRest) return fail(what + " is not supported here");
      spec.simple_responses = v.as_bool();
    } else {
      return fail("Unsupported member " + what);
    }
  }
  if (spec.function.empty()) return fail(where + ": authorizerUri is missing");
  if (spec.simple_responses && !spec.v2_payload)
    return fail(where + ": enableSimpleResponses needs authorizerPayloadFormatVersion 2.0");
  if (sources.empty() && spec.token)
    sources.push_back("method.request.header." + str(scheme.if_contains("name")));
  auto parsed = parse_identity_sources(sources);
  if (!parsed) return fail(where + ": " + parsed.error());
  spec.identity_sources = std::move(parsed.value());
  if (spec.token_pattern && !spec.token)
    return fail(where + ": identityValidationExpression applies to TOKEN authorizers only");
  if (spec.token && spec.identity_sources.size() != 1)
    return fail(where + ": a TOKEN authorizer has exactly one header identity source");
  return spec;
}

// The security schemes the document declares: API keys and Lambda authorizers.
Result<Schemes, std::string> security_schemes(const json::object& doc, ApiKind kind) {
  Schemes out;
  const json::object* schemes = nullptr;
  if (auto* c = doc.if_contains("components"); c && c->is_object())
    if (auto* s = c->as_object().if_contains("securitySchemes"); s && s->is_object())
      schemes = &s->as_object();
  if (auto* s = doc.if_contains("securityDefinitions"); s && s->is_object())
    schemes = &s->as_object();
  if (!schemes) return out;
  for (auto& [name, v] : *schemes) {
    std::string where = "security scheme '" + std::string(name) + "'";
    if (!v.is_object()) return fail(where + " must be an object");
    auto& o = v.as_object();
    if (o.contains("x-amazon-apigateway-authorizer") ||
        o.contains("x-amazon-apigateway-authtype")) {
      auto a = parse_authorizer(std::string(name), o, kind);
      if (!a) return fail(a.error());
      out.authorizers[std::string(name)] = std::move(a.value());
      continue;
    }
    if (str(o.if_contains("type")) != "apiKey" || str(o.if_contains("in")) != "header" ||
        !http::iequals(str(o.if_contains("name")), "x-api-key"))
      return fail(where +
                  ": only API keys (type apiKey, name x-api-key, in header) and Lambda "
                  "authorizers are supported");
    out.api_keys.insert(std::string(name));
  }
  return out;
}

struct Validator {
  bool body = false;
  bool params = false;
};

// Models resolve against one schema document whose definitions are the API's
// models (OpenAPI 3 components.schemas or Swagger 2 definitions).
Result<JsonSchema, std::string> model_schema(const json::object& doc, const json::value& schema,
                                             const std::string& where) {
  json::object defs;
  if (auto* c = doc.if_contains("components"); c && c->is_object())
    if (auto* s = c->as_object().if_contains("schemas"); s && s->is_object()) defs = s->as_object();
  if (auto* d = doc.if_contains("definitions"); d && d->is_object())
    for (auto& [k, v] : d->as_object()) defs[k] = v;
  json::object root;
  if (schema.is_object()) root = schema.as_object();
  root["definitions"] = std::move(defs);
  std::string text = json::serialize(root);
  constexpr std::string_view kFrom = "#/components/schemas/";
  for (size_t at = text.find(kFrom); at != std::string::npos; at = text.find(kFrom, at))
    text.replace(at, kFrom.size(), "#/definitions/");
  auto parsed = JsonSchema::parse(text);
  if (!parsed) return fail(where + ": " + parsed.error());
  return std::move(parsed.value());
}

// Adds `parameters` entries (OpenAPI 3 or Swagger 2) to the route.
Result<void, std::string> read_parameters(const json::object& doc, const json::value* params,
                                          const std::string& where, RouteSpec& r) {
  if (!params) return {};
  if (!params->is_array()) return fail(where + ".parameters must be a list");
  for (auto& pv : params->as_array()) {
    if (!pv.is_object()) return fail(where + ".parameters must be a list of objects");
    auto& p = pv.as_object();
    if (p.contains("$ref")) return fail(where + ".parameters: $ref parameters are not supported");
    std::string in = str(p.if_contains("in")), name = str(p.if_contains("name"));
    if (in == "body") {  // Swagger 2 body model
      auto* schema = p.if_contains("schema");
      if (!schema) continue;
      auto js = model_schema(doc, *schema, where + ".parameters." + name);
      if (!js) return fail(js.error());
      r.body_schema = std::move(js.value());
      continue;
    }
    auto* req = p.if_contains("required");
    if (!req || !req->is_bool() || !req->as_bool()) continue;
    if (in == "query")
      r.required.querystrings.push_back(name);
    else if (in == "header")
      r.required.headers.push_back(name);
    else if (in == "path")
      r.required.paths.push_back(name);
    else
      return fail(where + ".parameters: '" + in + "' parameters are not supported");
  }
  return {};
}

// The integration's cacheKeyParameters and cacheNamespace (REST APIs only:
// HTTP APIs have no cache). A path parameter must be one of the route's.
Result<void, std::string> read_cache_settings(const json::object& integ, const std::string& where,
                                              ApiKind kind, RouteSpec& r) {
  std::string what = where + ".x-amazon-apigateway-integration.";
  if (auto* ns = integ.if_contains("cacheNamespace")) {
    if (kind != ApiKind::kRest) return fail(what + "cacheNamespace: REST APIs only");
    if (!ns->is_string()) return fail(what + "cacheNamespace must be a string");
    r.cache_namespace = std::string(ns->as_string());
  }
  auto* keys = integ.if_contains("cacheKeyParameters");
  if (!keys) return {};
  if (kind != ApiKind::kRest) return fail(what + "cacheKeyParameters: REST APIs only");
  auto names = string_list(*keys, what + "cacheKeyParameters");
  if (!names) return fail(names.error());
  for (const auto& name : *names) {
    auto p = parse_cache_key_parameter(name);
    if (!p) return fail(what + "cacheKeyParameters: " + p.error());
    if (p->source == CacheKeyParameter::Source::kPath &&
        r.path.find("{" + p->name + "}") == std::string::npos &&
        r.path.find("{" + p->name + "+}") == std::string::npos)
      return fail(what + "cacheKeyParameters: '" + name + "' is not a parameter of the path " +
                  r.path);
    r.cache_key_parameters.push_back(std::move(p.value()));
  }
  return {};
}

}  // namespace

Result<Integration, std::string> parse_integration_uri(std::string_view uri) {
  constexpr std::string_view kMarker = ":lambda:path/2015-03-31/functions/";
  auto at = uri.find(kMarker);
  if (!uri.starts_with("arn:aws:apigateway:") || at == std::string_view::npos ||
      !uri.ends_with("/invocations"))
    return fail("integration uri '" + std::string(uri) +
                "' is not a Lambda function (arn:aws:apigateway:REGION:lambda:path/2015-03-31/"
                "functions/FUNCTION/invocations)");
  std::string_view fn = uri.substr(at + kMarker.size());
  fn.remove_suffix(std::string_view("/invocations").size());
  Integration integ;
  if (fn.starts_with("arn:")) {
    // arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]
    std::vector<std::string_view> parts;
    size_t start = 0;
    for (;;) {
      auto c = fn.find(':', start);
      parts.push_back(fn.substr(start, c == std::string_view::npos ? c : c - start));
      if (c == std::string_view::npos) break;
      start = c + 1;
    }
    if (parts.size() < 7 || parts.size() > 8 || parts[2] != "lambda" || parts[5] != "function" ||
        parts[6].empty())
      return fail("integration uri names '" + std::string(fn) + "', not a Lambda function ARN");
    integ.function = std::string(parts[6]);
    if (parts.size() == 8) integ.qualifier = std::string(parts[7]);
  } else {
    auto c = fn.find(':');
    integ.function = std::string(fn.substr(0, c));
    if (c != std::string_view::npos) integ.qualifier = std::string(fn.substr(c + 1));
  }
  if (integ.function.empty() || integ.function.find('$') != std::string::npos)
    return fail("integration uri '" + std::string(uri) +
                "': stage variables in function names are not supported");
  return integ;
}

Result<ApiSpec, std::string> import_openapi(std::string_view body, ApiKind kind) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object())
    return fail(std::string("Invalid OpenAPI input: the body must be a JSON object (") +
                (ec ? ec.message() : "not an object") + ")");
  auto& doc = v.as_object();
  if (!doc.contains("openapi") && !doc.contains("swagger"))
    return fail("Invalid OpenAPI input: neither 'openapi' nor 'swagger' is present");
  for (auto& [k, _] : doc)
    if (!kTopLevel.contains(k)) return fail("Unsupported OpenAPI member '" + std::string(k) + "'");
  if (doc.contains("security"))
    return fail("Unsupported OpenAPI member 'security' at the top level");

  ApiSpec spec;
  if (auto* info = doc.if_contains("info"); info && info->is_object()) {
    spec.title = str(info->as_object().if_contains("title"));
    spec.description = str(info->as_object().if_contains("description"));
    spec.version = str(info->as_object().if_contains("version"));
  }
  auto schemes = security_schemes(doc, kind);
  if (!schemes) return fail(schemes.error());
  spec.authorizers = schemes->authorizers;

  if (auto* b = doc.if_contains("x-amazon-apigateway-binary-media-types")) {
    auto l = string_list(*b, "x-amazon-apigateway-binary-media-types");
    if (!l) return fail(l.error());
    spec.binary_media_types = std::move(l.value());
  }
  if (auto* c = doc.if_contains("x-amazon-apigateway-cors")) {
    if (!c->is_object()) return fail("x-amazon-apigateway-cors must be an object");
    CorsConfig cfg;
    cfg.kind = kind;
    for (auto& [k, val] : c->as_object()) {
      std::string what = "x-amazon-apigateway-cors." + std::string(k);
      if (k == "allowOrigins" || k == "allowMethods" || k == "allowHeaders" ||
          k == "exposeHeaders") {
        auto l = string_list(val, what);
        if (!l) return fail(l.error());
        (k == "allowOrigins"   ? cfg.allow_origins
         : k == "allowMethods" ? cfg.allow_methods
         : k == "allowHeaders" ? cfg.allow_headers
                               : cfg.expose_headers) = std::move(l.value());
      } else if (k == "maxAge") {
        if (!val.is_int64()) return fail(what + " must be an integer");
        cfg.max_age = static_cast<int>(val.as_int64());
      } else if (k == "allowCredentials") {
        if (!val.is_bool()) return fail(what + " must be a boolean");
        cfg.allow_credentials = val.as_bool();
      } else {
        return fail("Unsupported member " + what);
      }
    }
    if (auto r = validate(cfg); !r) return fail("x-amazon-apigateway-cors: " + r.error());
    spec.cors = std::move(cfg);
  }

  std::map<std::string, Validator, std::less<>> validators;
  if (auto* vs = doc.if_contains("x-amazon-apigateway-request-validators")) {
    if (!vs->is_object()) return fail("x-amazon-apigateway-request-validators must be an object");
    if (kind != ApiKind::kRest)
      return fail("x-amazon-apigateway-request-validators: REST APIs only");
    for (auto& [name, v] : vs->as_object()) {
      std::string where = "x-amazon-apigateway-request-validators." + std::string(name);
      if (!v.is_object()) return fail(where + " must be an object");
      Validator val;
      for (auto& [k, b] : v.as_object()) {
        if (!b.is_bool()) return fail(where + "." + std::string(k) + " must be a boolean");
        if (k == "validateRequestBody")
          val.body = b.as_bool();
        else if (k == "validateRequestParameters")
          val.params = b.as_bool();
        else
          return fail("Unsupported member " + where + "." + std::string(k));
      }
      validators[std::string(name)] = val;
    }
  }
  std::string default_validator = str(doc.if_contains("x-amazon-apigateway-request-validator"));
  if (!default_validator.empty() && !validators.contains(default_validator))
    return fail("x-amazon-apigateway-request-validator names '" + default_validator +
                "', which is not in x-amazon-apigateway-request-validators");

  auto* paths = doc.if_contains("paths");
  if (!paths || !paths->is_object()) return fail("Invalid OpenAPI input: 'paths' is missing");
  for (auto& [path, item] : paths->as_object()) {
    if (!item.is_object()) return fail("paths." + std::string(path) + " must be an object");
    for (auto& [method, opv] : item.as_object()) {
      std::string where = "paths." + std::string(path) + "." + std::string(method);
      if (method == "parameters" || method == "summary" || method == "description" ||
          method == "servers")
        continue;
      if (!kMethods.contains(method)) return fail("Unsupported member " + where);
      if (!opv.is_object()) return fail(where + " must be an object");
      auto& op = opv.as_object();
      for (auto& [k, _] : op)
        if (!kOperation.contains(k))
          return fail("Unsupported member " + where + "." + std::string(k));
      RouteSpec r;
      r.method = method == "x-amazon-apigateway-any-method" ? "ANY" : upper(std::string(method));
      r.path = std::string(path);
      r.operation_name = str(op.if_contains("operationId"));
      auto* integ = op.if_contains("x-amazon-apigateway-integration");
      if (!integ || !integ->is_object())
        return fail(where + ": x-amazon-apigateway-integration is missing");
      auto& io = integ->as_object();
      for (auto& [k, val] : io) {
        if (k != "type" && k != "httpMethod" && k != "uri" && k != "payloadFormatVersion" &&
            k != "timeoutInMillis" && k != "passthroughBehavior" && k != "connectionType" &&
            k != "cacheKeyParameters" && k != "cacheNamespace")
          return fail("Unsupported member " + where + ".x-amazon-apigateway-integration." +
                      std::string(k));
      }
      std::string type = str(io.if_contains("type"));
      std::transform(type.begin(), type.end(), type.begin(), ::tolower);
      if (type != "aws_proxy")
        return fail(where + ": integration type '" + str(io.if_contains("type")) +
                    "' is not supported (only aws_proxy)");
      if (auto m = str(io.if_contains("httpMethod")); !m.empty() && m != "POST")
        return fail(where + ": a Lambda proxy integration's httpMethod must be POST");
      auto in = parse_integration_uri(str(io.if_contains("uri")));
      if (!in) return fail(where + ": " + in.error());
      r.integration = std::move(in.value());
      r.integration.timeout_ms = kind == ApiKind::kRest ? 29000 : 30000;
      std::string pfv = str(io.if_contains("payloadFormatVersion"));
      if (pfv.empty()) pfv = kind == ApiKind::kRest ? "1.0" : "2.0";
      if (pfv == "1.0") {
        r.integration.version = PayloadVersion::k1_0;
      } else if (pfv == "2.0" && kind == ApiKind::kHttp) {
        r.integration.version = PayloadVersion::k2_0;
      } else {
        return fail(where + ": payloadFormatVersion '" + pfv + "' is not supported for this API");
      }
      if (auto* t = io.if_contains("timeoutInMillis")) {
        int64_t ms = t->is_int64()    ? t->as_int64()
                     : t->is_string() ? std::atoll(t->as_string().c_str())
                                      : -1;
        if (ms < 50 || ms > (kind == ApiKind::kRest ? 29000 : 30000))
          return fail(where + ": timeoutInMillis must be between 50 and " +
                      (kind == ApiKind::kRest ? "29000" : "30000"));
        r.integration.timeout_ms = static_cast<int>(ms);
      }
      if (auto rr = read_cache_settings(io, where, kind, r); !rr) return fail(rr.error());
      if (auto* sec = op.if_contains("security")) {
        if (!sec->is_array()) return fail(where + ".security must be a list");
        for (auto& req : sec->as_array()) {
          if (!req.is_object()) return fail(where + ".security must be a list of objects");
          for (auto& [name, _] : req.as_object()) {
            if (schemes->api_keys.contains(name)) {
              r.api_key_required = true;
            } else if (schemes->authorizers.contains(name)) {
              if (!r.authorizer.empty() && r.authorizer != name)
                return fail(where + ".security names two authorizers");
              r.authorizer = std::string(name);
            } else {
              return fail(where + ".security names '" + std::string(name) +
                          "', which is not a declared security scheme");
            }
          }
        }
      }
      // Request validation.
      if (auto rr = read_parameters(doc, item.as_object().if_contains("parameters"),
                                    "paths." + std::string(path), r);
          !rr)
        return fail(rr.error());
      if (auto rr = read_parameters(doc, op.if_contains("parameters"), where, r); !rr)
        return fail(rr.error());
      if (auto* rb = op.if_contains("requestBody")) {
        if (!rb->is_object()) return fail(where + ".requestBody must be an object");
        if (auto* content = rb->as_object().if_contains("content");
            content && content->is_object()) {
          for (auto& [ct, media] : content->as_object()) {
            auto* schema = media.is_object() ? media.as_object().if_contains("schema") : nullptr;
            if (!schema) continue;
            if (ct != "application/json")
              return fail(where + ".requestBody: models for '" + std::string(ct) +
                          "' are not supported (application/json only)");
            auto js = model_schema(doc, *schema, where + ".requestBody");
            if (!js) return fail(js.error());
            r.body_schema = std::move(js.value());
          }
        }
      }
      std::string vname = default_validator;
      if (auto* v = op.if_contains("x-amazon-apigateway-request-validator")) {
        vname = str(v);
        if (kind != ApiKind::kRest)
          return fail(where + ".x-amazon-apigateway-request-validator: REST APIs only");
        if (!validators.contains(vname))
          return fail(where + ".x-amazon-apigateway-request-validator names '" + vname +
                      "', which is not in x-amazon-apigateway-request-validators");
      }
      if (!vname.empty()) {
        r.validate_body = validators[vname].body;
        r.validate_parameters = validators[vname].params;
      }
      spec.routes.push_back(std::move(r));
    }
  }
  if (auto t = build_route_table(spec, kind); !t) return fail(t.error());
  return spec;
}

Result<RouteTable, std::string> build_route_table(const ApiSpec& spec, ApiKind kind) {
  RouteTable table(kind);
  for (size_t i = 0; i < spec.routes.size(); ++i) {
    auto& r = spec.routes[i];
    if (auto st = table.add(Route{r.method, r.path, std::to_string(i)}); !st)
      return fail(st.error());
  }
  return table;
}

}  // namespace nimbus::services::apigateway
