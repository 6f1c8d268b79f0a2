#include "services/apigateway/apigateway_service.h"

#include <spdlog/spdlog.h>
#include <algorithm>
#include <boost/json.hpp>
#include <charconv>
#include <set>

#include "base/ids.h"
#include "base/text.h"
#include "base/time_format.h"
#include "services/apigateway/management_records.h"

namespace nimbus::services::apigateway {

namespace json = boost::json;
using aws::ApiError;

namespace mgmt {

ApiError not_found(std::string msg) {
  return ApiError::make(404, "NotFoundException", msg);
}
ApiError bad_request(std::string msg) {
  return ApiError::make(400, "BadRequestException", msg);
}
ApiError conflict(std::string msg) {
  return ApiError::make(409, "ConflictException", msg);
}

std::string new_id(size_t n) {
  static constexpr char kChars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string hex = random_hex(n);
  std::string out;
  for (size_t i = 0; i < n; ++i) out += kChars[(std::stoi(hex.substr(2 * i, 2), nullptr, 16)) % 36];
  return out;
}

std::string str(const json::object& o, std::string_view k) {
  if (auto* v = o.if_contains(k); v && v->is_string()) return std::string(v->as_string());
  return {};
}

json::object obj(const json::object& o, std::string_view k) {
  if (auto* v = o.if_contains(k); v && v->is_object()) return v->as_object();
  return {};
}

std::vector<std::string_view> split_path(std::string_view p) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < p.size()) {
    if (p[i] == '/') {
      ++i;
      continue;
    }
    auto j = p.find('/', i);
    if (j == std::string_view::npos) j = p.size();
    out.push_back(p.substr(i, j - i));
    i = j;
  }
  return out;
}

Result<json::object, ApiError> parse_body(const std::string& body) {
  if (body.empty()) return json::object{};
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  if (ec || !v.is_object()) return fail(bad_request("Invalid request body: not a JSON object"));
  return v.as_object();
}

Result<std::vector<std::pair<std::string, std::string>>, ApiError> string_map(
    const json::object& in, std::string_view key) {
  std::vector<std::pair<std::string, std::string>> out;
  auto* v = in.if_contains(key);
  if (!v || v->is_null()) return out;
  if (!v->is_object()) return fail(bad_request(std::string(key) + " must be a map of strings"));
  for (auto& [k, val] : v->as_object()) {
    if (!val.is_string()) return fail(bad_request(std::string(key) + " must be a map of strings"));
    out.emplace_back(std::string(k), std::string(val.as_string()));
  }
  return out;
}

double epoch_seconds(int64_t ms) {
  return static_cast<double>(ms / 1000);
}

// --- stage cache settings ----------------------------------------------------

bool flag(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  return v && v->is_bool() && v->as_bool();
}

// JSON Pointer escaping, which AWS uses for resource paths in method setting
// keys and patch paths: "/orders/{id}" ⇄ "~1orders~1{id}".
std::string escape_pointer(std::string_view s) {
  std::string out;
  for (char c : s) out += c == '/' ? "~1" : c == '~' ? "~0" : std::string(1, c);
  return out;
}
std::string unescape_pointer(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '~' && i + 1 < s.size() && (s[i + 1] == '1' || s[i + 1] == '0')) {
      out += s[++i] == '1' ? '/' : '~';
    } else {
      out += s[i];
    }
  }
  return out;
}

// The caching members of a new method setting, with AWS's defaults.
json::object default_method_setting() {
  return json::object{{"cachingEnabled", false},
                      {"cacheTtlInSeconds", 300},
                      {"cacheDataEncrypted", false},
                      {"requireAuthorizationForCacheControl", true},
                      {"unauthorizedCacheControlHeaderStrategy", "SUCCEED_WITH_RESPONSE_HEADER"}};
}

// The stage as GetStage shows it: the cache cluster's state and the method settings always present.
json::object stage_view(const json::object& st) {
  json::object o = st;
  bool on = flag(st, "cacheClusterEnabled");
  o["cacheClusterEnabled"] = on;
  o["cacheClusterStatus"] = on ? "AVAILABLE" : "NOT_AVAILABLE";
  if (!o.contains("methodSettings")) o["methodSettings"] = json::object{};
  return o;
}

// cacheClusterEnabled and cacheClusterSize of CreateStage / CreateDeployment.
Result<void, ApiError> set_cache_cluster(json::object& st, const json::object& in) {
  if (auto* e = in.if_contains("cacheClusterEnabled"); e && !e->is_null()) {
    if (!e->is_bool()) return fail(bad_request("cacheClusterEnabled must be a boolean"));
    st["cacheClusterEnabled"] = e->as_bool();
  }
  if (auto size = str(in, "cacheClusterSize"); !size.empty()) {
    if (!valid_cache_cluster_size(size))
      return fail(bad_request("Invalid cache cluster size specified: " + size));
    st["cacheClusterSize"] = size;
  }
  if (flag(st, "cacheClusterEnabled") && !st.contains("cacheClusterSize"))
    st["cacheClusterSize"] = "0.5";
  return {};
}

Result<bool, ApiError> patch_bool(std::string_view path, const std::string& v) {
  if (v == "true") return true;
  if (v == "false") return false;
  return fail(
      bad_request("Invalid value for " + std::string(path) + ": '" + v + "' is not a boolean"));
}

// One UpdateStage operation on a method setting:
// /{resource_path}/{http_method}/caching/{member}, or `remove` of
// /{resource_path}/{http_method}. Keys are "*/*" (every method) or a method of
// the stage's deployment.
Result<void, ApiError> patch_method_setting(json::object& st, const ApiSpec* deployed,
                                            std::string_view op, std::string_view path,
                                            const std::string& value) {
  auto parts = split(path.substr(1), '/');
  if (parts.size() != 2 && parts.size() != 4)
    return fail(bad_request("Invalid patch path '" + std::string(path) + "'"));
  std::string key = std::string(parts[0]) + "/" + std::string(parts[1]);
  if (key != "*/*") {
    std::string resource = unescape_pointer(parts[0]);
    bool found = false;
    if (deployed)
      for (const auto& r : deployed->routes) found |= r.path == resource && r.method == parts[1];
    if (!found)
      return fail(bad_request("Invalid method setting path '" + std::string(path) +
                              "': the stage's deployment has no method " + std::string(parts[1]) +
                              " " + resource + " (keys are */* or ~1-escaped resource paths)"));
  }
  if (!st["methodSettings"].is_object()) st["methodSettings"] = json::object{};
  auto& settings = st["methodSettings"].as_object();
  if (parts.size() == 2) {
    if (op != "remove")
      return fail(bad_request("Invalid patch operation '" + std::string(op) + "' on " +
                              std::string(path) + " (remove)"));
    settings.erase(key);
    return {};
  }
  if (parts[2] != "caching")
    return fail(bad_request("Method setting '" + std::string(parts[2]) +
                            "' is not supported by Nimbus (caching only)"));
  if (op != "replace")
    return fail(bad_request("Invalid patch operation '" + std::string(op) + "' on " +
                            std::string(path) + " (replace)"));
  // A new override starts from the stage-wide settings.
  json::object s = obj(settings, key);
  if (s.empty()) s = settings.contains("*/*") ? obj(settings, "*/*") : default_method_setting();
  std::string_view member = parts[3];
  auto boolean = [&](const char* field) -> Result<void, ApiError> {
    auto b = patch_bool(path, value);
    if (!b) return fail(b.error());
    s[field] = *b;
    return {};
  };
  Result<void, ApiError> r;
  if (member == "enabled") {
    r = boolean("cachingEnabled");
  } else if (member == "dataEncrypted") {
    r = boolean("cacheDataEncrypted");
  } else if (member == "requireAuthorizationForCacheControl") {
    r = boolean("requireAuthorizationForCacheControl");
  } else if (member == "ttlInSeconds") {
    int ttl = -1;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), ttl);
    if (ec != std::errc{} || end != value.data() + value.size() || ttl < 0 || ttl > 3600)
      return fail(bad_request("Invalid cache TTL '" + value + "': an integer from 0 to 3600"));
    s["cacheTtlInSeconds"] = ttl;
  } else if (member == "unauthorizedCacheControlHeaderStrategy") {
    if (value != "FAIL_WITH_403" && value != "SUCCEED_WITH_RESPONSE_HEADER" &&
        value != "SUCCEED_WITHOUT_RESPONSE_HEADER")
      return fail(bad_request("Invalid unauthorizedCacheControlHeaderStrategy '" + value + "'"));
    s["unauthorizedCacheControlHeaderStrategy"] = value;
  } else {
    return fail(bad_request("Invalid patch path '" + std::string(path) + "'"));
  }
  if (!r) return r;
  settings[key] = std::move(s);
  return {};
}

// The TTL a stage's method settings give a route: its own
// `{resource_path}/{METHOD}` entry, else `*/*` for GET methods only (AWS
// caches other methods only when their own setting says so); 0 = not cached.
int route_cache_ttl(const json::object& settings, const RouteSpec& r) {
  json::object s = obj(settings, escape_pointer(r.path) + "/" + r.method);
  if (s.empty() && r.method == "GET") s = obj(settings, "*/*");
  if (!flag(s, "cachingEnabled")) return 0;
  auto* ttl = s.if_contains("cacheTtlInSeconds");
  return ttl && ttl->is_int64() ? static_cast<int>(ttl->as_int64()) : 300;
}

// The cache of a compiled REST stage: the previous snapshot's while the
// cluster size stays (a resize starts empty, as AWS recreates the cluster).
void attach_cache(DeployedApi& api, const json::object& stage, const GatewaySnapshot& before) {
  if (!flag(stage, "cacheClusterEnabled")) return;
  auto settings = obj(stage, "methodSettings");
  for (const auto& r : api.spec.routes) api.cache_ttl.push_back(route_cache_ttl(settings, r));
  api.cache_size = str(stage, "cacheClusterSize");
  auto old = before.stages.find(api.id + "/" + api.stage);
  if (old != before.stages.end() && old->second->cache && old->second->cache_size == api.cache_size)
    api.cache = old->second->cache;
  else
    api.cache = std::make_shared<ResponseCache>(cache_budget_bytes(api.cache_size));
}

// The body an import answered with ("mode" query and OpenAPI checks aside).
// A usage plan record's quota, if it has one.
std::optional<QuotaLimits> plan_quota(const json::object& plan) {
  auto q = obj(plan, "quota");
  if (q.empty()) return std::nullopt;
  QuotaLimits ql;
  if (auto* l = q.if_contains("limit"); l && l->is_number()) ql.limit = l->to_number<int64_t>();
  if (auto* o = q.if_contains("offset"); o && o->is_number()) ql.offset = o->to_number<int>();
  std::string period = str(q, "period");
  ql.period = period == "WEEK"    ? QuotaPeriod::kWeek
              : period == "MONTH" ? QuotaPeriod::kMonth
                                  : QuotaPeriod::kDay;
  return ql;
}

Result<ApiSpec, ApiError> compile_body(const std::string& body, ApiKind kind) {
  auto spec = import_openapi(body, kind);
  if (!spec) return fail(bad_request(spec.error()));
  return std::move(spec.value());
}

}  // namespace mgmt

using namespace mgmt;

ApiGatewayService::ApiGatewayService(store::Store& store, Clock& clock, Gateway& gateway,
                                     std::string region)
    : store_(store), clock_(clock), gateway_(gateway), region_(std::move(region)) {}

Status ApiGatewayService::start() {
  std::lock_guard lk(mu_);
  auto load = [&](std::string_view prefix, std::map<std::string, Obj>& into) {
    for (auto& [k, v] : store_.scan(prefix)) {
      boost::system::error_code ec;
      auto parsed = json::parse(v, ec);
      if (ec || !parsed.is_object()) {
        spdlog::warn("apigateway: skipping unreadable record {}", k);
        continue;
      }
      into[k.substr(prefix.size())] = parsed.as_object();
    }
  };
  load(kRestPrefix, rest_);
  load(kHttpPrefix, http_);
  load(kKeyPrefix, keys_);
  load(kPlanPrefix, plans_);
  publish();
  return {};
}

void ApiGatewayService::reset() {
  std::lock_guard lk(mu_);
  for (auto p : {kRestPrefix, kHttpPrefix, kKeyPrefix, kPlanPrefix}) (void)store_.delete_prefix(p);
  rest_.clear();
  http_.clear();
  keys_.clear();
  plans_.clear();
  gateway_.reset_usage();
  publish();
}

void ApiGatewayService::handle(aws::Call call) {
  auto out = dispatch(call.http.method, call.http.path, call.http.query, call.http.body);
  if (!out) return reply_error(call, out.error());
  http::Response r;
  r.status = out->status;
  r.headers.set("x-amzn-RequestId", call.request_id);
  if (!out->body.is_null()) {
    r.headers.set("Content-Type", "application/json");
    r.body = json::serialize(out->body);
  }
  call.reply(std::move(r));
}

Result<ApiGatewayService::Answer, ApiError> ApiGatewayService::dispatch(const std::string& method,
                                                                        const std::string& path,
                                                                        const std::string& query,
                                                                        const std::string& body) {
  auto raw = split_path(path);
  std::vector<std::string> s;
  for (auto seg : raw) s.push_back(http::url_decode(seg));
  const size_t n = s.size();
  auto in = [&]() -> Result<json::object, ApiError> { return parse_body(body); };
  std::lock_guard lk(mu_);
  auto unknown = [&]() -> Out {
    return fail(ApiError::unknown_operation("Nimbus does not serve the API Gateway operation " +
                                            method + " " + path + " yet"));
  };
#define NIMBUS_BODY(var)                      \
  auto var##_r = in();                        \
  if (!var##_r) return fail(var##_r.error()); \
  auto& var = var##_r.value()

  if (n >= 1 && s[0] == "v2") {
    if (n >= 2 && s[1] == "tags" && n == 3) {
      NIMBUS_BODY(b);
      return tags(method, s[2], b, query, true);
    }
    if (n < 2 || s[1] != "apis") return unknown();
    if (n == 2) {
      if (method == "POST") {
        NIMBUS_BODY(b);
        return create_api(b);
      }
      if (method == "GET") return get_apis();
      if (method == "PUT") {
        NIMBUS_BODY(b);
        return import_api({}, str(b, "body"));
      }
      return unknown();
    }
    const std::string& id = s[2];
    if (n == 3) {
      if (method == "GET") return get_api(id);
      if (method == "DELETE") return delete_api(id);
      if (method == "PUT") {
        NIMBUS_BODY(b);
        return import_api(id, str(b, "body"));
      }
      return unknown();
    }
    if (s[3] == "stages") {
      if (n == 4 && method == "POST") {
        NIMBUS_BODY(b);
        return create_stage_v2(id, b);
      }
      if (n == 4 && method == "GET") return get_stages_v2(id);
      if (n == 5 && method == "DELETE") return delete_stage_v2(id, s[4]);
      return unknown();
    }
    if (s[3] == "routes" && n == 4 && method == "GET") return get_routes(id);
    if (s[3] == "exports" && n == 5 && method == "GET") return export_api(id, s[4], query);
    return unknown();
  }

  if (n == 2 && s[0] == "tags") {
    NIMBUS_BODY(b);
    return tags(method, s[1], b, query, false);
  }
  if (n >= 1 && s[0] == "restapis") {
    if (n == 1) {
      if (method == "POST") {
        if (http::query_value(query, "mode") == "import") return import_rest_api(body, query);
        NIMBUS_BODY(b);
        return create_rest_api(b);
      }
      if (method == "GET") return get_rest_apis();
      return unknown();
    }
    const std::string& id = s[1];
    if (n == 2) {
      if (method == "GET") return get_rest_api(id);
      if (method == "DELETE") return delete_rest_api(id);
      if (method == "PUT") return put_rest_api(id, body, query);
      return unknown();
    }
    if (s[2] == "resources" && n == 3 && method == "GET") return get_resources(id);
    if (s[2] == "deployments" && n == 3 && method == "POST") {
      NIMBUS_BODY(b);
      return create_deployment(id, b);
    }
    if (s[2] == "stages") {
      if (n == 3 && method == "POST") {
        NIMBUS_BODY(b);
        return create_stage(id, b);
      }
      if (n == 3 && method == "GET") return get_stages(id);
      if (n == 4 && method == "GET") return get_stage(id, s[3]);
      if (n == 4 && method == "DELETE") return delete_stage(id, s[3]);
      if (n == 4 && method == "PATCH") {
        NIMBUS_BODY(b);
        return update_stage(id, s[3], b);
      }
      if (n == 6 && s[4] == "cache" && s[5] == "data" && method == "DELETE")
        return flush_stage_cache(id, s[3]);
      if (n == 6 && s[4] == "exports" && method == "GET") return get_export(id, s[3], s[5]);
    }
    return unknown();
  }
  if (n >= 1 && s[0] == "apikeys") {
    if (n == 1 && method == "POST") {
      NIMBUS_BODY(b);
      return create_api_key(b);
    }
    if (n == 1 && method == "GET") return get_api_keys(query);
    if (n == 2 && method == "GET") return get_api_key(s[1], query);
    if (n == 2 && method == "DELETE") return delete_api_key(s[1]);
    return unknown();
  }
  if (n >= 1 && s[0] == "usageplans") {
    if (n == 1 && method == "POST") {
      NIMBUS_BODY(b);
      return create_usage_plan(b);
    }
    if (n == 1 && method == "GET") return get_usage_plans();
    if (n == 2 && method == "GET") return get_usage_plan(s[1]);
    if (n == 2 && method == "DELETE") return delete_usage_plan(s[1]);
    if (n == 2 && method == "PATCH") {
      NIMBUS_BODY(b);
      return update_usage_plan(s[1], b);
    }
    if (n == 3 && s[2] == "keys" && method == "POST") {
      NIMBUS_BODY(b);
      return create_usage_plan_key(s[1], b);
    }
    if (n == 3 && s[2] == "keys" && method == "GET") return get_usage_plan_keys(s[1]);
    if (n == 4 && s[2] == "keys" && method == "DELETE") return delete_usage_plan_key(s[1], s[3]);
    if (n == 3 && s[2] == "usage" && method == "GET") return get_usage(s[1], query);
    return unknown();
  }
#undef NIMBUS_BODY
  return unknown();
}

// --- records ---------------------------------------------------------------

Result<json::object*, ApiError> ApiGatewayService::rest_api(const std::string& id) {
  auto it = rest_.find(id);
  if (it == rest_.end())
    return fail(not_found("Invalid API identifier specified 000000000000:" + id));
  return &it->second;
}

Result<json::object*, ApiError> ApiGatewayService::http_api(const std::string& id) {
  auto it = http_.find(id);
  if (it == http_.end()) return fail(not_found("Invalid API identifier specified " + id));
  return &it->second;
}

Result<void, ApiError> ApiGatewayService::save(const std::string& key, const Obj* record) {
  Status st = record ? store_.put(key, json::serialize(*record)) : store_.del(key);
  if (!st) return fail(ApiError::make(500, "InternalFailure", st.error().message));
  publish();
  return {};
}

Result<void, ApiError> ApiGatewayService::check_conflicts(const std::string& api_id,
                                                          const ApiSpec& spec, ApiKind kind) {
  auto snap = gateway_.snapshot();
  Router router;
  for (auto& [id, api] : snap->port_apis)
    if (id != api_id) (void)router.add_api(id, api->table);
  auto table = build_route_table(spec, kind);
  if (!table) return fail(bad_request(table.error()));
  if (auto r = router.add_api(api_id, std::move(table.value())); !r)
    return fail(conflict("Routes conflict with another deployed API: " + r.error()));
  return {};
}

void ApiGatewayService::publish() {
  auto snap = std::make_shared<GatewaySnapshot>();
  auto stage_vars = [](const json::object& vars) {
    std::vector<std::pair<std::string, std::string>> out;
    for (auto& [k, v] : vars)
      if (v.is_string()) out.emplace_back(std::string(k), std::string(v.as_string()));
    return out;
  };
  // Usage plans and the stages they cover.
  std::map<std::string, std::vector<std::string>> plans_of_stage;  // "api/stage" → plan ids
  for (auto& [id, p] : plans_) {
    UsagePlanLimits lim;
    lim.id = id;
    auto t = obj(p, "throttle");
    if (!t.empty()) {
      ThrottleLimits tl;
      if (auto* r = t.if_contains("rateLimit"); r && r->is_number())
        tl.rate = r->to_number<double>();
      if (auto* b = t.if_contains("burstLimit"); b && b->is_number())
        tl.burst = b->to_number<int>();
      lim.throttle = tl;
    }
    lim.quota = plan_quota(p);
    snap->plans[id] = lim;
    if (auto* st = p.if_contains("apiStages"); st && st->is_array())
      for (auto& s : st->as_array())
        if (s.is_object())
          plans_of_stage[str(s.as_object(), "apiId") + "/" + str(s.as_object(), "stage")].push_back(
              id);
  }
  for (auto& [id, k] : keys_) {
    GatewaySnapshot::Key key;
    key.id = id;
    key.enabled = !k.contains("enabled") || k.at("enabled").as_bool();
    for (auto& [pid, p] : plans_)
      if (auto* ks = p.if_contains("keys"); ks && ks->is_array())
        for (auto& v : ks->as_array())
          if (v.is_string() && v.as_string() == id) key.plans.push_back(pid);
    snap->keys[str(k, "value")] = std::move(key);
  }

  auto before = gateway_.snapshot();
  auto deploy = [&](const std::string& id, ApiKind kind, const std::string& stage,
                    const std::string& body, const json::object& vars,
                    bool on_port) -> std::shared_ptr<DeployedApi> {
    auto spec = import_openapi(body, kind);
    if (!spec) {
      spdlog::warn("apigateway: {} stage {} not served: {}", id, stage, spec.error());
      return nullptr;
    }
    auto api = std::make_shared<DeployedApi>();
    api->id = id;
    api->kind = kind;
    api->stage = stage;
    api->stage_variables = stage_vars(vars);
    api->spec = std::move(spec.value());
    api->table = build_route_table(api->spec, kind).value();
    for (const auto& route : api->spec.routes)
      api->resource_ids.push_back(rest_resource_id(id, route.path));
    api->usage_plans = plans_of_stage[id + "/" + stage];
    return api;
  };
  for (auto& [id, rec] : rest_) {
    auto stages = obj(rec, "stages");
    auto deployments = obj(rec, "deployments");
    bool on_port = false;
    for (auto& [name, sv] : stages) {
      auto& st = sv.as_object();
      auto d = obj(deployments, str(st, "deploymentId"));
      if (d.empty()) continue;
      auto api = deploy(id, ApiKind::kRest, std::string(name), str(d, "body"), obj(st, "variables"),
                        !on_port);
      if (!api) continue;
      attach_cache(*api, st, *before);
      snap->stages[id + "/" + std::string(name)] = api;
      // The API port serves one stage of each REST API (the first by name).
      if (!on_port) {
        on_port = true;
        if (auto r = snap->router.add_api(id, api->table); !r)
          spdlog::warn("apigateway: {} not served on the API port: {}", id, r.error());
        else
          snap->port_apis[id] = api;
      }
    }
  }
  for (auto& [id, rec] : http_) {
    auto stages = obj(rec, "stages");
    std::string body = str(rec, "body");
    if (stages.empty() || body.empty()) continue;
    // HTTP APIs serve their current routes ($default first, else the first stage).
    std::string name =
        stages.contains("$default") ? "$default" : std::string(stages.begin()->key());
    auto api = deploy(id, ApiKind::kHttp, name, body,
                      obj(stages.at(name).as_object(), "stageVariables"), true);
    if (!api) continue;
    if (auto r = snap->router.add_api(id, api->table); !r)
      spdlog::warn("apigateway: {} not served on the API port: {}", id, r.error());
    else
      snap->port_apis[id] = api;
  }
  gateway_.publish(std::move(snap));
}

// --- REST APIs -------------------------------------------------------------

json::object ApiGatewayService::rest_view(const Obj& rec) const {
  json::object o;
  for (auto k : {"id", "name", "description", "createdDate", "apiKeySource", "binaryMediaTypes",
                 "tags", "version", "warnings"})
    if (auto* v = rec.if_contains(k)) o[k] = *v;
  o["endpointConfiguration"] = json::object{{"types", json::array{"EDGE"}}};
  o["disableExecuteApiEndpoint"] = false;
  o["rootResourceId"] = rest_resource_id(str(rec, "id"), "/");
  return o;
}

ApiGatewayService::Out ApiGatewayService::create_rest_api(const Obj& in) {
  std::string name = str(in, "name");
  if (name.empty()) return fail(bad_request("Invalid REST API name specified"));
  std::string key_source = str(in, "apiKeySource");
  if (key_source.empty()) key_source = "HEADER";
  if (key_source != "HEADER")
    return fail(bad_request("apiKeySource " + key_source + " is not supported (only HEADER)"));
  auto tag_list = string_map(in, "tags");
  if (!tag_list) return fail(tag_list.error());
  json::object rec;
  std::string id = new_id();
  rec["id"] = id;
  rec["name"] = name;
  if (auto d = str(in, "description"); !d.empty()) rec["description"] = d;
  rec["createdDate"] = epoch_seconds(clock_.wall_ms());
  rec["apiKeySource"] = key_source;
  if (auto* b = in.if_contains("binaryMediaTypes"); b && b->is_array())
    rec["binaryMediaTypes"] = *b;
  json::object tags;
  for (auto& [k, v] : *tag_list) tags[k] = v;
  rec["tags"] = std::move(tags);
  rec["stages"] = json::object{};
  rec["deployments"] = json::object{};
  rest_[id] = rec;
  if (auto r = save(std::string(kRestPrefix) + id, &rest_[id]); !r) return fail(r.error());
  return Answer{201, rest_view(rec)};
}

ApiGatewayService::Out ApiGatewayService::import_rest_api(const std::string& body,
                                                          const std::string& query) {
  auto spec = compile_body(body, ApiKind::kRest);
  if (!spec) return fail(spec.error());
  json::object in{{"name", spec->title.empty() ? std::string("imported") : spec->title}};
  if (!spec->description.empty()) in["description"] = spec->description;
  auto created = create_rest_api(in);
  if (!created) return created;
  std::string id = str(created->body.as_object(), "id");
  return put_rest_api(id, body, "mode=overwrite");
}

ApiGatewayService::Out ApiGatewayService::put_rest_api(const std::string& id,
                                                       const std::string& body,
                                                       const std::string& query) {
  auto rec = rest_api(id);
  if (!rec) return fail(rec.error());
  std::string mode = http::query_value(query, "mode");
  if (mode.empty()) mode = "merge";
  if (mode != "merge" && mode != "overwrite")
    return fail(bad_request("Invalid mode '" + mode + "': merge or overwrite"));
  std::string doc = body;
  if (mode == "merge" && (*rec)->contains("body")) {
    // Merge: the new paths and top-level members win over the current document.
    boost::system::error_code ec;
    auto old = json::parse(str(**rec, "body"), ec);
    auto neu = json::parse(body, ec);
    if (!ec && old.is_object() && neu.is_object()) {
      auto merged = old.as_object();
      for (auto& [k, v] : neu.as_object()) {
        if (k == "paths" && v.is_object() && merged.contains("paths") &&
            merged["paths"].is_object()) {
          for (auto& [p, item] : v.as_object()) merged["paths"].as_object()[p] = item;
        } else {
          merged[k] = v;
        }
      }
      doc = json::serialize(merged);
    }
  }
  auto spec = compile_body(doc, ApiKind::kRest);
  if (!spec) return fail(spec.error());
  if (!obj(**rec, "stages").empty())
    if (auto r = check_conflicts(id, *spec, ApiKind::kRest); !r) return fail(r.error());
  Obj updated = **rec;
  updated["body"] = doc;
  if (!spec->binary_media_types.empty()) {
    json::array b;
    for (auto& t : spec->binary_media_types) b.emplace_back(t);
    updated["binaryMediaTypes"] = std::move(b);
  }
  if (!spec->description.empty()) updated["description"] = spec->description;
  if (!spec->version.empty()) updated["version"] = spec->version;
  **rec = std::move(updated);
  if (auto r = save(std::string(kRestPrefix) + id, *rec); !r) return fail(r.error());
  return Answer{200, rest_view(**rec)};
}

ApiGatewayService::Out ApiGatewayService::get_rest_apis() {
  json::array items;
  for (auto& [id, rec] : rest_) items.push_back(rest_view(rec));
  return Answer{200, json::object{{"item", std::move(items)}}};
}

ApiGatewayService::Out ApiGatewayService::get_rest_api(const std::string& id) {
  auto rec = rest_api(id);
  if (!rec) return fail(rec.error());
  return Answer{200, rest_view(**rec)};
}

ApiGatewayService::Out ApiGatewayService::delete_rest_api(const std::string& id) {
  auto rec = rest_api(id);
  if (!rec) return fail(rec.error());
  rest_.erase(id);
  if (auto r = save(std::string(kRestPrefix) + id, nullptr); !r) return fail(r.error());
  return Answer{202, nullptr};
}

ApiGatewayService::Out ApiGatewayService::get_resources(const std::string& id) {
  auto rec = rest_api(id);
  if (!rec) return fail(rec.error());
  std::map<std::string, json::object> methods_by_path;  // every path and its prefixes
  methods_by_path["/"];
  if ((*rec)->contains("body")) {
    auto spec = import_openapi(str(**rec, "body"), ApiKind::kRest);
    if (spec)
      for (auto& r : spec->routes) {
        std::string p;
        for (auto seg : split_path(r.path)) {
          p += "/" + std::string(seg);
          methods_by_path[p];
        }
        json::object m{{"httpMethod", r.method},
                       {"authorizationType", "NONE"},
                       {"apiKeyRequired", r.api_key_required}};
        if (!r.operation_name.empty()) m["operationName"] = r.operation_name;
        methods_by_path[r.path.empty() ? "/" : r.path][r.method] = std::move(m);
      }
  }
  json::array items;
  for (auto& [path, methods] : methods_by_path) {
    json::object res{{"id", rest_resource_id(id, path)}, {"path", path}};
    if (path != "/") {
      auto cut = path.rfind('/');
      std::string parent = cut == 0 ? "/" : path.substr(0, cut);
      res["parentId"] = rest_resource_id(id, parent);
      res["pathPart"] = path.substr(cut + 1);
    }
    if (!methods.empty()) res["resourceMethods"] = methods;
    items.push_back(std::move(res));
  }
  return Answer{200, json::object{{"item", std::move(items)}}};
}

ApiGatewayService::Out ApiGatewayService::create_deployment(const std::string& id, const Obj& in) {
  auto rec = rest_api(id);
  if (!rec) return fail(rec.error());
  std::string body = str(**rec, "body");
  if (body.empty()) return fail(bad_request("The REST API doesn't contain any methods"));
  auto spec = compile_body(body, ApiKind::kRest);
  if (!spec) return fail(spec.error());
  if (spec->routes.empty()) return fail(bad_request("The REST API doesn't contain any methods"));
  if (auto r = check_conflicts(id, *spec, ApiKind::kRest); !r) return fail(r.error());
  auto vars = string_map(in, "variables");
  if (!vars) return fail(vars.error());
  Obj updated = **rec;
  std::string dep_id = new_id(6);
  json::object dep{
      {"id", dep_id}, {"createdDate", epoch_seconds(clock_.wall_ms())}, {"body", body}};
  if (auto d = str(in, "description"); !d.empty()) dep["description"] = d;
  updated["deployments"].as_object()[dep_id] = dep;
  if (std::string stage = str(in, "stageName"); !stage.empty()) {
    auto& stages = updated["stages"].as_object();
    json::object st = obj(stages, stage);
    if (st.empty()) {
      st["stageName"] = stage;
      st["createdDate"] = epoch_seconds(clock_.wall_ms());
    }
    st["deploymentId"] = dep_id;
    st["lastUpdatedDate"] = epoch_seconds(clock_.wall_ms());
    json::object v = obj(st, "variables");
    for (auto& [k, val] : *vars) v[k] = val;
    st["variables"] = std::move(v);
    if (auto d = str(in, "stageDescription"); !d.empty()) st["description"] = d;
    if (auto r = set_cache_cluster(st, in); !r) return fail(r.error());
    stages[stage] = std::move(st);
  }
  // Deployments no stage points at are dropped: only what is served is kept.
  std::set<std::string> used;
  for (auto& [n, st] : updated["stages"].as_object())
    used.insert(str(st.as_object(), "deploymentId"));
  used.insert(dep_id);
  auto& deps = updated["deployments"].as_object();
  for (auto it = deps.begin(); it != deps.end();)
    it = used.contains(std::string(it->key())) ? std::next(it) : deps.erase(it);
  **rec = std::move(updated);
  if (auto r = save(std::string(kRestPrefix) + id, *rec); !r) return fail(r.error());
  dep.erase("body");
  return Answer{201, dep};
}

ApiGatewayService::Out ApiGatewayService::create_stage(const std::string& id, const Obj& in) {
  auto rec = rest_api(id);
  if (!rec) return fail(rec.error());
  std::string stage = str(in, "stageName");
  std::string dep = str(in, "deploymentId");
  if (stage.empty()) return fail(bad_request("Invalid stage name specified"));
  auto& stages = (**rec)["stages"].as_object();
  if (stages.contains(stage)) return fail(conflict("Stage already exists"));
  if (!obj(**rec, "deployments").contains(dep))
    return fail(not_found("Invalid Deployment identifier specified"));
  auto vars = string_map(in, "variables");
  if (!vars) return fail(vars.error());
  json::object v;
  for (auto& [k, val] : *vars) v[k] = val;
  json::object st{{"stageName", stage},
                  {"deploymentId", dep},
                  {"variables", std::move(v)},
                  {"createdDate", epoch_seconds(clock_.wall_ms())},
                  {"lastUpdatedDate", epoch_seconds(clock_.wall_ms())}};
  if (auto d = str(in, "description"); !d.empty()) st["description"] = d;
  if (auto r = set_cache_cluster(st, in); !r) return fail(r.error());
  stages[stage] = st;
  if (auto r = save(std::string(kRestPrefix) + id, *rec); !r) {
    stages.erase(stage);
    return fail(r.error());
  }
  return Answer{201, stage_view(st)};
}

ApiGatewayService::Out ApiGatewayService::get_stage(const std::string& id,
                                                    const std::string& stage) {
  auto rec = rest_api(id);
  if (!rec) return fail(rec.error());
  auto st = obj(obj(**rec, "stages"), stage);
  if (st.empty()) return fail(not_found("Invalid stage identifier specified"));
  return Answer{200, stage_view(st)};
}

ApiGatewayService::Out ApiGatewayService::get_stages(const std::string& id) {
  auto rec = rest_api(id);
  if (!rec) return fail(rec.error());
  json::array items;
  for (auto& [n, st] : obj(**rec, "stages")) items.push_back(stage_view(st.as_object()));
  return Answer{200, json::object{{"item", std::move(items)}}};
}

ApiGatewayService::Out ApiGatewayService::delete_stage(const std::string& id,
                                                       const std::string& stage) {
  auto rec = rest_api(id);
  if (!rec) return fail(rec.error());
  auto& stages = (**rec)["stages"].as_object();
  if (!stages.contains(stage)) return fail(not_found("Invalid stage identifier specified"));
  stages.erase(stage);
  if (auto r = save(std::string(kRestPrefix) + id, *rec); !r) return fail(r.error());
  return Answer{202, nullptr};
}

ApiGatewayService::Out ApiGatewayService::update_stage(const std::string& id,
                                                       const std::string& stage, const Obj& in) {
  auto rec = rest_api(id);
  if (!rec) return fail(rec.error());
  auto& stages = (**rec)["stages"].as_object();
  auto* current = stages.if_contains(stage);
  if (!current) return fail(not_found("Invalid stage identifier specified"));
  auto* ops = in.if_contains("patchOperations");
  if (ops && !ops->is_array()) return fail(bad_request("patchOperations must be a list"));
  // Every operation applies to a copy: one bad operation changes nothing.
  json::object st = current->as_object();
  auto deployments = obj(**rec, "deployments");
  auto body = str(obj(deployments, str(st, "deploymentId")), "body");
  auto deployed = import_openapi(body, ApiKind::kRest);
  for (const auto& opv : ops ? ops->as_array() : json::array{}) {
    if (!opv.is_object()) return fail(bad_request("patchOperations must be a list of objects"));
    const auto& o = opv.as_object();
    std::string op = str(o, "op"), path = str(o, "path"), value = str(o, "value");
    if (op != "replace" && op != "add" && op != "remove")
      return fail(bad_request("Invalid patch operation '" + op + "' on " + path));
    if (path == "/cacheClusterEnabled" || path == "/cacheClusterSize") {
      if (op != "replace")
        return fail(bad_request("Invalid patch operation '" + op + "' on " + path + " (replace)"));
      json::object in2;
      if (path == "/cacheClusterSize") {
        in2["cacheClusterSize"] = value;
      } else {
        auto b = patch_bool(path, value);
        if (!b) return fail(b.error());
        in2["cacheClusterEnabled"] = *b;
      }
      if (auto r = set_cache_cluster(st, in2); !r) return fail(r.error());
    } else if (path == "/description") {
      st["description"] = value;
    } else if (path == "/deploymentId") {
      if (!deployments.contains(value))
        return fail(not_found("Invalid Deployment identifier specified"));
      st["deploymentId"] = value;
    } else if (path.starts_with("/variables/") && path.size() > 11) {
      if (!st["variables"].is_object()) st["variables"] = json::object{};
      std::string name = unescape_pointer(std::string_view(path).substr(11));
      if (op == "remove")
        st["variables"].as_object().erase(name);
      else
        st["variables"].as_object()[name] = value;
    } else if (path.starts_with("/") && path.find('/', 1) != std::string::npos) {
      if (auto r =
              patch_method_setting(st, deployed ? &deployed.value() : nullptr, op, path, value);
          !r)
        return fail(r.error());
    } else {
      return fail(bad_request("Invalid patch path '" + path + "'"));
    }
  }
  st["lastUpdatedDate"] = epoch_seconds(clock_.wall_ms());
  json::object before = current->as_object();
  stages[stage] = st;
  if (auto r = save(std::string(kRestPrefix) + id, *rec); !r) {
    stages[stage] = std::move(before);
    return fail(r.error());
  }
  return Answer{200, stage_view(st)};
}

ApiGatewayService::Out ApiGatewayService::flush_stage_cache(const std::string& id,
                                                            const std::string& stage) {
  auto rec = rest_api(id);
  if (!rec) return fail(rec.error());
  if (!obj(**rec, "stages").contains(stage))
    return fail(not_found("Invalid stage identifier specified"));
  gateway_.flush_cache(id, stage);
  return Answer{202, nullptr};
}

ApiGatewayService::Out ApiGatewayService::get_export(const std::string& id,
                                                     const std::string& stage,
                                                     const std::string& type) {
  auto rec = rest_api(id);
  if (!rec) return fail(rec.error());
  if (type != "oas30" && type != "swagger")
    return fail(bad_request("Invalid export type '" + type + "': oas30 or swagger"));
  auto st = obj(obj(**rec, "stages"), stage);
  if (st.empty()) return fail(not_found("Invalid stage identifier specified"));
  std::string body = str(obj(obj(**rec, "deployments"), str(st, "deploymentId")), "body");
  boost::system::error_code ec;
  auto doc = json::parse(body, ec);
  if (ec) return fail(ApiError::make(500, "InternalFailure", "the stored document is not JSON"));
  return Answer{200, std::move(doc)};
}

ApiGatewayService::Out ApiGatewayService::tags(const std::string& method, const std::string& arn,
                                               const Obj& in, const std::string& query, bool v2) {
  // arn:aws:apigateway:REGION::/restapis/ID or ::/apis/ID
  auto at = arn.find("::/");
  if (!arn.starts_with("arn:aws:apigateway:") || at == std::string::npos)
    return fail(bad_request("Invalid resource ARN " + arn));
  auto segs = split_path(std::string_view(arn).substr(at + 2));
  if (segs.size() != 2 || (segs[0] != "restapis" && segs[0] != "apis"))
    return fail(bad_request("Tagging is supported on REST and HTTP APIs only: " + arn));
  std::string id(segs[1]);
  bool rest = segs[0] == "restapis";
  auto rec = rest ? rest_api(id) : http_api(id);
  if (!rec) return fail(rec.error());
  const char* field = rest ? "tags" : "tags";
  auto& tagobj = (**rec)[field];
  if (!tagobj.is_object()) tagobj = json::object{};
  if (method == "GET") return Answer{200, json::object{{"tags", tagobj}}};
  if (method == "PUT" || method == "POST") {
    auto t = string_map(in, "tags");
    if (!t) return fail(t.error());
    for (auto& [k, v] : *t) tagobj.as_object()[k] = v;
  } else if (method == "DELETE") {
    for (auto& [k, v] : http::parse_query(query))
      if (k == "tagKeys") tagobj.as_object().erase(v);
  } else {
    return fail(bad_request("Unsupported method " + method));
  }
  if (auto r = save(std::string(rest ? kRestPrefix : kHttpPrefix) + id, *rec); !r)
    return fail(r.error());
  return Answer{v2 && method != "DELETE" ? 201 : 204,
                v2 && method != "DELETE" ? json::value(json::object{}) : json::value(nullptr)};
}

}  // namespace nimbus::services::apigateway
