#include "services/apigateway/gateway.h"

#include <spdlog/spdlog.h>
#include <boost/json.hpp>
#include <charconv>

#include "base/ids.h"
#include "services/apigateway/cors.h"
#include "services/apigateway/json_schema.h"
#include "services/apigateway/proxy_event.h"
#include "services/apigateway/proxy_response.h"

namespace nimbus::services::apigateway {

namespace json = boost::json;

namespace {

http::Response message(int status, std::string_view text) {
  return http::Response::json(status, "{\"message\":\"" + std::string(text) + "\"}");
}

// An answered request: the integration's result and its timeout race, the
// first one answers.
struct Pending {
  std::mutex mu;
  bool done = false;
  http::Reply reply;

  // True for the one caller that gets to answer.
  bool claim() {
    std::lock_guard lk(mu);
    return !std::exchange(done, true);
  }
};

}  // namespace

Gateway::Gateway(Clock& clock, InvokeFn invoke, std::string account_id, std::string region,
                 store::Store* usage_store)
    : clock_(clock),
      invoke_(std::move(invoke)),
      account_id_(std::move(account_id)),
      region_(std::move(region)),
      timeouts_(clock),
      usage_(clock, usage_store) {
  snapshot_.store(std::make_shared<const GatewaySnapshot>());
}

void Gateway::publish(std::shared_ptr<const GatewaySnapshot> snapshot) {
  snapshot_.store(std::move(snapshot));
}

void Gateway::reset_usage() {
  usage_.reset();
  auth_cache_.clear();
}

void Gateway::flush_cache(std::string_view api_id, std::string_view stage) {
  auto snap = snapshot_.load();
  auto it = snap->stages.find(std::string(api_id) + "/" + std::string(stage));
  if (it != snap->stages.end() && it->second->cache) it->second->cache->flush();
}

struct Gateway::Flow {
  std::shared_ptr<const GatewaySnapshot> snap;
  std::shared_ptr<const DeployedApi> api;
  const RouteSpec* route = nullptr;
  RouteMatch match;
  http::Request req;
  http::Reply reply;
  EventContext ctx;
};

void Gateway::handle(http::Request req, http::Reply reply) {
  auto snap = snapshot_.load();
  auto match = snap->router.match(req.method, req.path);
  if (!match && is_preflight(req)) {
    // A preflight is matched by the method it asks about.
    auto m = snap->router.match(req.headers.get_or("Access-Control-Request-Method"), req.path);
    if (m) {
      auto it = snap->port_apis.find(m->api_id);
      if (it != snap->port_apis.end() && it->second->spec.cors)
        return reply(preflight_response(*it->second->spec.cors, req));
    }
  }
  if (!match) {
    // With nothing matched, answer as the kind of API deployed here (REST
    // when there is any REST API or none at all).
    bool any_rest = snap->port_apis.empty();
    for (auto& [id, api] : snap->port_apis)
      if (api->kind == ApiKind::kRest) any_rest = true;
    return reply(no_route_response(any_rest ? ApiKind::kRest : ApiKind::kHttp));
  }
  auto it = snap->port_apis.find(match->api_id);
  if (it == snap->port_apis.end()) return reply(no_route_response(ApiKind::kRest));
  serve(std::move(snap), it->second, std::move(*match), std::move(req), std::move(reply));
}

bool Gateway::handle_edge(http::Request& req, http::Reply& reply) {
  constexpr std::string_view kPrefix = "/restapis/";
  constexpr std::string_view kUser = "/_user_request_";
  std::string_view p = req.path;
  if (!p.starts_with(kPrefix)) return false;
  auto u = p.find(kUser);
  if (u == std::string_view::npos) return false;
  std::string_view id_stage = p.substr(kPrefix.size(), u - kPrefix.size());
  auto slash = id_stage.find('/');
  if (slash == std::string_view::npos) return false;
  std::string key(id_stage);
  std::string_view rest = p.substr(u + kUser.size());
  if (!rest.empty() && rest.front() != '/') return false;
  std::string user_path = rest.empty() ? "/" : std::string(rest);

  auto snap = snapshot_.load();
  auto it = snap->stages.find(key);
  if (it == snap->stages.end()) {
    reply(no_route_response(ApiKind::kRest));
    return true;
  }
  auto api = it->second;
  req.path = user_path;
  req.target = user_path + (req.query.empty() ? "" : "?" + req.query);
  if (api->spec.cors && is_preflight(req)) {
    if (api->table.match(req.headers.get_or("Access-Control-Request-Method"), req.path)) {
      reply(preflight_response(*api->spec.cors, req));
      return true;
    }
  }
  auto match = api->table.match(req.method, req.path);
  if (!match) {
    reply(no_route_response(api->kind));
    return true;
  }
  match->api_id = api->id;
  match->kind = api->kind;
  serve(std::move(snap), std::move(api), std::move(*match), std::move(req), std::move(reply));
  return true;
}

void Gateway::serve(std::shared_ptr<const GatewaySnapshot> snap,
                    std::shared_ptr<const DeployedApi> api, RouteMatch match, http::Request req,
                    http::Reply reply) {
  size_t index = 0;
  std::from_chars(match.route.target.data(), match.route.target.data() + match.route.target.size(),
                  index);
  if (index >= api->spec.routes.size()) return reply(no_route_response(api->kind));
  auto flow = std::make_shared<Flow>();
  flow->route = &api->spec.routes[index];
  flow->snap = std::move(snap);
  flow->api = std::move(api);
  flow->match = std::move(match);
  flow->req = std::move(req);
  flow->reply = std::move(reply);
  auto& ctx = flow->ctx;
  ctx.api_id = flow->api->id;
  ctx.account_id = account_id_;
  ctx.stage = flow->api->stage;
  ctx.stage_variables = flow->api->stage_variables;
  ctx.request_id = new_uuid();
  if (index < flow->api->resource_ids.size()) ctx.resource_id = flow->api->resource_ids[index];
  ctx.source_ip = flow->req.remote_ip;
  ctx.epoch_ms = clock_.wall_ms();
  ctx.binary_media_types = flow->api->spec.binary_media_types;
  // API Gateway's order: the authorizer, then the API key and usage plan.
  if (!flow->route->authorizer.empty()) {
    auto a = flow->api->spec.authorizers.find(flow->route->authorizer);
    if (a != flow->api->spec.authorizers.end()) return authorize(std::move(flow), a->second);
  }
  proceed(std::move(flow));
}

namespace {

// The authorizer object the integration sees.
json::object authorizer_object(ApiKind kind, const AuthPolicy& p) {
  if (kind == ApiKind::kHttp) return json::object{{"lambda", p.context}};
  json::object o;
  for (auto& [k, v] : p.context) {
    if (v.is_string())
      o[k] = v;
    else
      o[k] = json::serialize(v);  // REST hands context values on as strings
  }
  o["principalId"] = p.principal_id;
  o["integrationLatency"] = 0;
  return o;
}

}  // namespace

void Gateway::authorize(std::shared_ptr<Flow> flow, const AuthorizerSpec& spec) {
  const DeployedApi& api = *flow->api;
  auto values = identity_values(spec, flow->req, api.stage_variables);
  if (!values) return flow->reply(message(401, "Unauthorized"));
  if (spec.token_pattern && !std::regex_match(values->front(), *spec.token_pattern))
    return flow->reply(message(401, "Unauthorized"));
  std::string arn =
      method_arn(region_, account_id_, api.id, api.stage, flow->req.method, flow->req.path);
  // Decides with a policy (fresh or cached) and goes on or answers.
  auto decide = [this, arn](std::shared_ptr<Flow> flow, const AuthPolicy& policy) {
    switch (evaluate(policy, arn)) {
      case AuthDecision::kAllow:
        flow->ctx.authorizer = authorizer_object(flow->api->kind, policy);
        return proceed(std::move(flow));
      case AuthDecision::kExplicitDeny:
        return flow->reply(
            message(403, "User is not authorized to access this resource with an explicit deny"));
      case AuthDecision::kNotAllowed:
        return flow->reply(policy.simple
                               ? message(403, "Forbidden")
                               : message(403, "User is not authorized to access this resource"));
    }
  };
  std::string key;
  if (spec.ttl_seconds > 0) {
    key = api.id + "/" + api.stage + "/" + spec.name;
    for (auto& v : *values) key += "\n" + v;
    if (auto cached = auth_cache_.get(key, clock_.now())) return decide(std::move(flow), *cached);
  }

  json::object event;
  if (spec.token) {
    event = json::object{
        {"type", "TOKEN"}, {"authorizationToken", values->front()}, {"methodArn", arn}};
  } else {
    // The proxy event without its body, plus the authorizer's members. Parsing
    // the event text back costs little next to the invocation that follows;
    // bytes that are not UTF-8 (header values may hold them) pass through.
    json::parse_options opts;
    opts.allow_invalid_utf8 = true;
    event =
        json::parse(spec.v2_payload ? build_event_v2(flow->req, flow->match, flow->ctx)
                                    : build_event_v1(flow->req, flow->match, flow->ctx, api.kind),
                    {}, opts)
            .as_object();
    event.erase("body");
    event.erase("isBase64Encoded");
    event["type"] = "REQUEST";
    if (spec.v2_payload) {
      event["routeArn"] = arn;
      json::array ids;
      for (auto& v : *values) ids.emplace_back(v);
      event["identitySource"] = std::move(ids);
    } else {
      event["methodArn"] = arn;
    }
  }
  faas::Invocation inv;
  inv.request_id = new_uuid();
  inv.payload = json::serialize(event);
  int ttl = spec.ttl_seconds;
  bool simple = spec.simple_responses;
  auto fail_with = [](const std::shared_ptr<Flow>& flow) {
    flow->reply(flow->api->kind == ApiKind::kRest ? http::Response::json(500, R"({"message":null})")
                                                  : message(500, "Internal Server Error"));
  };
  invoke_(
      spec.function, spec.qualifier, std::move(inv),
      [this, flow, decide, key, ttl, simple, fail_with](faas::InvokeResult res) mutable {
        if (res.status != faas::InvokeResult::Status::kOk) {
          // A function that fails with "Unauthorized" asks for a 401.
          boost::system::error_code ec;
          auto v = json::parse(res.payload, ec);
          if (!ec && v.is_object() && v.as_object().contains("errorMessage") &&
              v.as_object().at("errorMessage") == "Unauthorized")
            return flow->reply(message(401, "Unauthorized"));
          return fail_with(flow);
        }
        auto policy = parse_authorizer_result(res.payload, simple);
        if (!policy) {
          spdlog::warn("apigateway: authorizer result refused: {}", policy.error());
          return fail_with(flow);
        }
        if (ttl > 0) auth_cache_.put(key, policy.value(), clock_.now() + std::chrono::seconds(ttl));
        decide(std::move(flow), policy.value());
      },
      [flow, fail_with](aws::ApiError e) {
        spdlog::warn("apigateway: authorizer invoke failed: {} {}", e.code, e.message);
        fail_with(flow);
      });
}

void Gateway::proceed(std::shared_ptr<Flow> flow) {
  const GatewaySnapshot& snap = *flow->snap;
  const DeployedApi* api = flow->api.get();
  const RouteSpec& route = *flow->route;
  http::Request& req = flow->req;
  http::Reply reply = std::move(flow->reply);

  // API key and usage plan.
  if (route.api_key_required) {
    auto value = req.headers.get("x-api-key");
    if (!value) return reply(message(403, "Forbidden"));
    auto k = snap.keys.find(std::string(*value));
    if (k == snap.keys.end() || !k->second.enabled) return reply(message(403, "Forbidden"));
    const UsagePlanLimits* plan = nullptr;
    for (auto& pid : k->second.plans)
      for (auto& attached : api->usage_plans)
        if (pid == attached) {
          auto p = snap.plans.find(pid);
          if (p != snap.plans.end()) plan = &p->second;
        }
    if (!plan) return reply(message(403, "Forbidden"));
    switch (usage_.check(plan->id, k->second.id, plan->throttle, plan->quota, clock_.now(),
                         clock_.wall_ms())) {
      case UsageVerdict::kOk:
        break;
      case UsageVerdict::kThrottled:
        return reply(message(429, "Too Many Requests"));
      case UsageVerdict::kQuotaExceeded:
        return reply(message(429, "Limit Exceeded"));
    }
  }

  // Request validation (REST request validators): parameters, then the body.
  if (route.validate_parameters) {
    auto missing = missing_parameters(req, flow->match.path_params, route.required);
    if (!missing.empty()) return reply(missing_parameters_response(missing));
  }
  if (route.validate_body && route.body_schema) {
    auto violations = route.body_schema->validate_body(req.body);
    if (!violations.empty()) return reply(invalid_body_response());
  }

  const EventContext& ctx = flow->ctx;
  std::string request_id = ctx.request_id;
  // What the client gets, whoever answers: the mapped result with CORS and ids.
  auto finish = [flow, request_id](http::Response resp) {
    auto& api = *flow->api;
    if (api.spec.cors) apply_cors(*api.spec.cors, flow->req, resp);
    resp.headers.set(api.kind == ApiKind::kRest ? "x-amzn-RequestId" : "apigw-requestid",
                     request_id);
    return resp;
  };

  // The stage cache answers a hit without invoking. `Cache-Control:
  // max-age=0` skips the entry and refreshes it (IAM is not enforced, so every
  // caller may invalidate, as one with execute-api:InvalidateCache could).
  std::shared_ptr<ResponseCache> cache;
  std::string cache_key;
  int cache_ttl = 0;
  if (size_t i = static_cast<size_t>(flow->route - api->spec.routes.data());
      api->cache && i < api->cache_ttl.size() && api->cache_ttl[i] > 0) {
    cache = api->cache;
    cache_ttl = api->cache_ttl[i];
    cache_key = apigateway::cache_key(
        route.cache_namespace.empty() ? std::string_view(route.path) : route.cache_namespace,
        req.method, route.cache_key_parameters, req, flow->match.path_params);
    if (!asks_to_invalidate(req))
      if (auto hit = cache->get(cache_key, clock_.now())) return reply(finish(std::move(*hit)));
  }

  PayloadVersion version = route.integration.version;
  faas::Invocation inv;
  inv.payload = version == PayloadVersion::k1_0 ? build_event_v1(req, flow->match, ctx, api->kind)
                                                : build_event_v2(req, flow->match, ctx);

  ResponseOptions opts;
  opts.kind = api->kind;
  opts.version = version;
  opts.binary_media_types = api->spec.binary_media_types;
  opts.accept = req.headers.get_or("Accept");

  auto pending = std::make_shared<Pending>();
  pending->reply = std::move(reply);

  // The integration timeout: whoever claims the request first answers.
  auto timeout =
      timeouts_.add(std::chrono::milliseconds(route.integration.timeout_ms),
                    [weak = std::weak_ptr<Pending>(pending), finish, opts] {
                      auto p = weak.lock();
                      if (!p || !p->claim()) return;
                      p->reply(finish(to_http_response(InvokeStatus::kTimeout, {}, opts)));
                    });

  inv.request_id = request_id;
  invoke_(
      route.integration.function, route.integration.qualifier, std::move(inv),
      [this, pending, finish, opts, timeout, cache, cache_key = std::move(cache_key),
       cache_ttl](faas::InvokeResult res) mutable {
        if (!pending->claim()) return;
        timeouts_.cancel(timeout);
        auto status = res.status == faas::InvokeResult::Status::kOk ? InvokeStatus::kOk
                                                                    : InvokeStatus::kFunctionError;
        http::Response resp = to_http_response(status, res.payload, opts);
        // Only the function's successful (2xx) answers are cached; errors,
        // timeouts and the gateway's own answers are not.
        if (cache && status == InvokeStatus::kOk && resp.status >= 200 && resp.status < 300)
          cache->put(std::move(cache_key), resp, clock_.now() + std::chrono::seconds(cache_ttl));
        pending->reply(finish(std::move(resp)));
      },
      [this, pending, finish, timeout, kind = api->kind,
       fn = route.integration.function](aws::ApiError e) {
        if (!pending->claim()) return;
        timeouts_.cancel(timeout);
        spdlog::warn("apigateway: invoking {} failed: {} {}", fn, e.code, e.message);
        // Lambda throttling shows as 429 on REST APIs; anything else is the
        // integration's failure.
        http::Response r = e.status == 429 && kind == ApiKind::kRest
                               ? message(429, "Too Many Requests")
                           : kind == ApiKind::kRest ? message(500, "Internal server error")
                                                    : integration_error_response(kind);
        pending->reply(finish(std::move(r)));
      });
}

}  // namespace nimbus::services::apigateway
