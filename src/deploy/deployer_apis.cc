// Deployment: REST and HTTP APIs (OpenAPI documents through API Gateway's own
// API), their stages, the undo records of API updates, and usage plans.
#include <fmt/format.h>

#include <boost/json.hpp>

#include "base/ids.h"
#include "deploy/deployment.h"
#include "deploy/openapi.h"

namespace nimbus::deploy::detail {

Result<void, StepError> Deployment::require_apigateway(const Resource& r) {
  if (apigateway_available_) return {};
  auto where = [](const Mark& m) {
    return m.line > 0 ? fmt::format(" ({}:{}:{})", m.file_name(), m.line, m.column) : std::string();
  };
  std::string used_by;
  for (const auto& [id, f] : functions_) {
    for (const auto& e : f.api_events)
      if (e.rest_api == r.logical_id && used_by.empty())
        used_by = "; used by " + id + ".Events." + e.name + where(e.mark);
    for (const auto& e : f.http_api_events)
      if (e.api == r.logical_id && used_by.empty())
        used_by = "; used by " + id + ".Events." + e.name + where(e.mark);
  }
  return fail(StepError{fmt::format("{} {}{}: the server does not implement API Gateway yet ({}){}",
                                    r.type, r.logical_id, r.generated ? "" : where(r.mark),
                                    apigateway_unavailable_reason_, used_by)});
}

Result<void, StepError> Deployment::apply_api(const Resource& r, const ApiSteps& steps) {
  auto start = Clock::now();
  desired_apis_.insert(r.logical_id);
  ApiState want{r.logical_id, steps.type, "", steps.definition_sha256};
  auto existing = existing_apis_.find(r.logical_id);
  const ApiState* cur = existing == existing_apis_.end() ? nullptr : &existing->second.state;
  Change change = diff_api(cur, want);
  std::string id = cur && !change.replace ? cur->id : "";
  auto deployed = [&] {
    values_[r.logical_id] = Values{id, steps.atts};
    result_.api_ids[r.logical_id] = id;
    api_urls_.push_back({r.logical_id, id, steps.stage, steps.kind});
  };
  if (change.action == Action::kUnchanged) {
    deployed();
    return {};
  }
  if (auto a = require_apigateway(r); !a) return a;
  ++changes_;
  bool creating = change.action == Action::kCreate;
  if (change.replace) replaced_.insert(r.logical_id);
  progress(creating ? "CREATE_IN_PROGRESS" : "UPDATE_IN_PROGRESS", steps.type, r.logical_id, start);
  auto pushed = steps.push(id, creating ? std::string() : cur->definition_sha256);
  if (!pushed) return fail(pushed.error());
  id = std::move(pushed.value());
  deployed();
  progress(creating ? "CREATE_COMPLETE" : "UPDATE_COMPLETE", steps.type, r.logical_id, start);
  return {};
}

void Deployment::record_delete(std::string type, std::string logical_id, std::string service,
                               std::string path) {
  journal_.record({"DELETE_COMPLETE", std::move(type), std::move(logical_id),
                   [this, service, path]() -> Result<void, std::string> {
                     auto d = aws_.call(service, "DELETE", path);
                     if (!d && !d.error().not_found()) return fail(d.error().to_string());
                     return {};
                   }});
}

Result<void, StepError> Deployment::tag_api(const std::string& type, const std::string& id,
                                            const json::object& t) {
  bool rest = type == sam::kApi;
  std::string arn =
      "arn:aws:apigateway:" + opts_.region + "::/" + (rest ? "restapis/" : "apis/") + id;
  auto tg = rest ? aws_.call("apigateway", "PUT", "/tags/" + http::url_encode(arn),
                             json::serialize(json::object{{"tags", t}}))
                 : aws_.call("apigateway", "POST", "/v2/tags/" + http::url_encode(arn),
                             json::serialize(json::object{{"tags", t}}));
  if (!tg) return fail(StepError{"TagResource: " + tg.error().to_string()});
  return {};
}

Result<void, StepError> Deployment::journal_rest_api_update(const std::string& logical_id,
                                                            const std::string& id,
                                                            const std::string& stage,
                                                            const std::string& previous_sha) {
  // What the API serves now: its stages (settings) and the document of the
  // stage this deploy redeploys (else the first one), exported with its
  // x-amazon-apigateway-* extensions so that PutRestApi takes it back.
  auto list = aws_.call("apigateway", "GET", "/restapis/" + id + "/stages");
  if (!list) return fail(StepError{"GetStages: " + list.error().to_string()});
  std::vector<json::object> stages;
  for (auto key : {"item", "items"})
    if (auto* items = obj(list.value()).if_contains(key); items && items->is_array())
      for (auto& s : items->as_array()) stages.push_back(obj(s));
  if (stages.empty()) return {};
  auto old = std::find_if(stages.begin(), stages.end(),
                          [&](const json::object& s) { return str(s, "stageName") == stage; });
  bool stage_existed = old != stages.end();
  json::object old_stage = stage_existed ? *old : stages.front();
  std::string old_name = str(old_stage, "stageName");
  auto doc = aws_.call("apigateway", "GET",
                       "/restapis/" + id + "/stages/" + http::url_encode(old_name) +
                           "/exports/oas30?extensions=integrations%2Cauthorizers%2Capigateway");
  if (!doc) return fail(StepError{"GetExport: " + doc.error().to_string()});
  std::string body = json::serialize(doc.value());
  journal_.record(
      {"UPDATE_COMPLETE", std::string(sam::kApi), logical_id,
       [this, id, body, old_stage, old_name, stage, stage_existed,
        previous_sha]() -> Result<void, std::string> {
         std::string base = "/restapis/" + id;
         auto p = aws_.call("apigateway", "PUT", base + "?mode=overwrite", body);
         if (!p) return fail("PutRestApi: " + p.error().to_string());
         if (!stage_existed) {
           auto d = aws_.call("apigateway", "DELETE", base + "/stages/" + http::url_encode(stage));
           if (!d && !d.error().not_found()) return fail("DeleteStage: " + d.error().to_string());
         }
         auto dep = aws_.call("apigateway", "POST", base + "/deployments",
                              json::serialize(json::object{{"stageName", old_name}}));
         if (!dep) return fail("CreateDeployment: " + dep.error().to_string());
         std::string stage_path = base + "/stages/" + http::url_encode(old_name);
         auto now = aws_.call("apigateway", "GET", stage_path);
         if (!now) return fail("GetStage: " + now.error().to_string());
         auto ops = rest_stage_restore_patch(obj(now.value()), old_stage);
         if (!ops.empty()) {
           auto u = aws_.call("apigateway", "PATCH", stage_path,
                              json::serialize(json::object{{"patchOperations", std::move(ops)}}));
           if (!u) return fail("UpdateStage: " + u.error().to_string());
         }
         auto t = tag_api(std::string(sam::kApi), id,
                          json::object{{std::string(kDefinitionTag), previous_sha}});
         if (!t) return fail(t.error().message);
         return {};
       }});
  return {};
}

Result<void, StepError> Deployment::journal_http_api_update(const std::string& logical_id,
                                                            const std::string& id,
                                                            const std::string& previous_sha) {
  auto doc = aws_.call("apigateway", "GET", "/v2/apis/" + id + "/exports/OAS30?outputType=JSON");
  if (!doc) return fail(StepError{"ExportApi: " + doc.error().to_string()});
  std::string body = json::serialize(json::object{{"body", json::serialize(doc.value())}});
  journal_.record({"UPDATE_COMPLETE", std::string(sam::kHttpApi), logical_id,
                   [this, id, body, previous_sha]() -> Result<void, std::string> {
                     auto p = aws_.call("apigateway", "PUT", "/v2/apis/" + id, body);
                     if (!p) return fail("ReimportApi: " + p.error().to_string());
                     auto t = tag_api(std::string(sam::kHttpApi), id,
                                      json::object{{std::string(kDefinitionTag), previous_sha}});
                     if (!t) return fail(t.error().message);
                     return {};
                   }});
  return {};
}

std::optional<json::object> Deployment::stack_item(const std::string& collection,
                                                   const std::string& logical_id) {
  auto list = aws_.call("apigateway", "GET", collection + "?limit=500");
  if (!list) return std::nullopt;
  for (auto key : {"item", "items"})  // "item" on the wire, as botocore reads it
    if (auto* items = obj(list.value()).if_contains(key); items && items->is_array())
      for (auto& it : items->as_array()) {
        const auto& t = member(obj(it), "tags");
        if (str(t, kStackTag) == stack_ && str(t, kLogicalIdTag) == logical_id) return obj(it);
      }
  return std::nullopt;
}

Result<void, StepError> Deployment::apply_usage_plan(const Resource& r, const sam::RestApi& api,
                                                     const std::string& id) {
  // The API's Auth.UsagePlan as CloudFormation keeps it: an API key, a usage
  // plan on the API's stage and the key in the plan, created when the
  // template first asks for them, updated in place, and deleted (after a
  // successful deploy, in delete_removed) when it no longer does.
  const auto& u = api.usage_plan;
  if (u.create == "NONE") return {};
  json::object want{
      {"apiStages", json::array{json::object{{"apiId", id}, {"stage", api.stage_name}}}}};
  if (u.burst_limit || u.rate_limit) {
    json::object throttle;
    if (u.burst_limit) throttle["burstLimit"] = *u.burst_limit;
    if (u.rate_limit) throttle["rateLimit"] = *u.rate_limit;
    want["throttle"] = throttle;
  }
  if (u.quota_limit)
    want["quota"] = json::object{{"limit", *u.quota_limit},
                                 {"period", u.quota_period.empty() ? "DAY" : u.quota_period}};

  std::string key_id;
  if (auto key = stack_item("/apikeys", r.logical_id)) {
    key_id = str(*key, "id");
  } else {
    auto k =
        aws_.call("apigateway", "POST", "/apikeys",
                  json::serialize(json::object{{"name", stack_ + "-" + r.logical_id + "-ApiKey"},
                                               {"enabled", true},
                                               {"tags", tags(r.logical_id)}}));
    if (!k) return fail(StepError{"CreateApiKey: " + k.error().to_string()});
    key_id = str(obj(k.value()), "id");
    record_delete("AWS::ApiGateway::ApiKey", r.logical_id + "ApiKey", "apigateway",
                  "/apikeys/" + key_id);
  }

  std::string plan_id;
  if (auto plan = stack_item("/usageplans", r.logical_id)) {
    plan_id = str(*plan, "id");
    auto ops = usage_plan_patch(*plan, want);
    if (!ops.empty()) {
      std::string path = "/usageplans/" + plan_id;
      auto up = aws_.call("apigateway", "PATCH", path,
                          json::serialize(json::object{{"patchOperations", ops}}));
      if (!up) return fail(StepError{"UpdateUsagePlan: " + up.error().to_string()});
      json::array undo = usage_plan_patch(obj(up.value()), *plan);
      journal_.record({"UPDATE_COMPLETE", "AWS::ApiGateway::UsagePlan", r.logical_id + "UsagePlan",
                       [this, path, undo]() -> Result<void, std::string> {
                         auto p =
                             aws_.call("apigateway", "PATCH", path,
                                       json::serialize(json::object{{"patchOperations", undo}}));
                         if (!p) return fail(p.error().to_string());
                         return {};
                       }});
    }
    auto keys = aws_.call("apigateway", "GET", path_of_plan_keys(plan_id));
    if (!keys) return fail(StepError{"GetUsagePlanKeys: " + keys.error().to_string()});
    for (auto k : {"item", "items"})
      if (auto* items = obj(keys.value()).if_contains(k); items && items->is_array())
        for (auto& it : items->as_array())
          if (str(obj(it), "id") == key_id) return {};
  } else {
    json::object create = want;
    create["name"] = stack_ + "-" + r.logical_id + "-UsagePlan";
    create["tags"] = tags(r.logical_id);
    auto up = aws_.call("apigateway", "POST", "/usageplans", json::serialize(create));
    if (!up) return fail(StepError{"CreateUsagePlan: " + up.error().to_string()});
    plan_id = str(obj(up.value()), "id");
    record_delete("AWS::ApiGateway::UsagePlan", r.logical_id + "UsagePlan", "apigateway",
                  "/usageplans/" + plan_id);
  }
  auto pk = aws_.call("apigateway", "POST", path_of_plan_keys(plan_id),
                      json::serialize(json::object{{"keyId", key_id}, {"keyType", "API_KEY"}}));
  if (!pk) return fail(StepError{"CreateUsagePlanKey: " + pk.error().to_string()});
  record_delete("AWS::ApiGateway::UsagePlanKey", r.logical_id + "UsagePlanKey", "apigateway",
                path_of_plan_keys(plan_id) + "/" + key_id);
  return {};
}

Result<void, StepError> Deployment::apply_rest_api(const Resource& r, const Node& props) {
  auto parsed = sam::parse_api(r, props);
  if (!parsed) return fail(StepError{parsed.error().to_string()});
  sam::RestApi api = std::move(parsed.value());
  if (api.name.empty()) api.name = r.generated ? stack_ : stack_ + "-" + r.logical_id;
  std::vector<RestRoute> routes;
  for (const auto& [id, f] : functions_)
    for (const auto& e : f.api_events)
      if (e.rest_api == r.logical_id) routes.push_back({e, function_arn(values_[id].ref)});
  auto doc = rest_openapi(api, routes, opts_.region);
  json::object variables;
  for (auto& [k, v] : api.variables) variables[k] = v;
  json::object plan_doc{{"doc", doc}, {"stage", api.stage_name}, {"variables", variables}};
  const auto& u = api.usage_plan;
  json::object usage{{"create", u.create}};
  if (u.quota_limit)
    usage["quota"] = json::object{{"limit", *u.quota_limit}, {"period", u.quota_period}};
  if (u.burst_limit) usage["burst"] = *u.burst_limit;
  if (u.rate_limit) usage["rate"] = *u.rate_limit;
  plan_doc["usage"] = usage;
  if (api.cache_cluster_enabled || !api.method_settings.empty())
    plan_doc["cache"] = rest_stage_cache_patch(api, json::object{});
  if (u.create != "NONE") usage_plan_apis_.insert(r.logical_id);

  ApiSteps steps{std::string(sam::kApi),   "REST",
                 api.stage_name,           sha256_hex(json::serialize(plan_doc)),
                 {{"RootResourceId", ""}}, {}};
  steps.push = [&](std::string id,
                   const std::string& previous_sha) -> Result<std::string, StepError> {
    bool creating = id.empty();
    json::object t = tags(r.logical_id);
    t[std::string(kDefinitionTag)] = steps.definition_sha256;
    if (creating) {
      auto c = aws_.call("apigateway", "POST", "/restapis",
                         json::serialize(json::object{{"name", api.name}, {"tags", t}}));
      if (!c) return fail(StepError{"CreateRestApi: " + c.error().to_string()});
      id = str(obj(c.value()), "id");
      record_delete(steps.type, r.logical_id, "apigateway", "/restapis/" + id);
    } else if (auto j = journal_rest_api_update(r.logical_id, id, api.stage_name, previous_sha);
               !j) {
      return fail(j.error());
    }
    auto p =
        aws_.call("apigateway", "PUT", "/restapis/" + id + "?mode=overwrite", json::serialize(doc));
    if (!p) return fail(StepError{"PutRestApi: " + p.error().to_string()});
    json::object dep{{"stageName", api.stage_name}};
    if (!variables.empty()) dep["variables"] = variables;
    if (api.cache_cluster_enabled) {
      dep["cacheClusterEnabled"] = true;
      if (!api.cache_cluster_size.empty()) dep["cacheClusterSize"] = api.cache_cluster_size;
    }
    auto d =
        aws_.call("apigateway", "POST", "/restapis/" + id + "/deployments", json::serialize(dep));
    if (!d) return fail(StepError{"CreateDeployment: " + d.error().to_string()});
    // The stage's cache settings: exactly the template's.
    if (!creating || api.cache_cluster_enabled || !api.method_settings.empty()) {
      std::string stage_path = "/restapis/" + id + "/stages/" + http::url_encode(api.stage_name);
      json::object current;
      if (!creating) {
        auto g = aws_.call("apigateway", "GET", stage_path);
        if (!g) return fail(StepError{"GetStage: " + g.error().to_string()});
        current = obj(g.value());
      }
      auto ops = rest_stage_cache_patch(api, current);
      if (!ops.empty()) {
        auto up = aws_.call("apigateway", "PATCH", stage_path,
                            json::serialize(json::object{{"patchOperations", std::move(ops)}}));
        if (!up) return fail(StepError{"UpdateStage: " + up.error().to_string()});
      }
    }
    if (!creating)
      if (auto tg = tag_api(steps.type, id, t); !tg) return fail(tg.error());
    if (auto up = apply_usage_plan(r, api, id); !up) return fail(up.error());
    return id;
  };
  return apply_api(r, steps);
}

Result<void, StepError> Deployment::apply_http_api(const Resource& r, const Node& props) {
  auto parsed = sam::parse_http_api(r, props);
  if (!parsed) return fail(StepError{parsed.error().to_string()});
  sam::HttpApi api = std::move(parsed.value());
  if (api.name.empty()) api.name = r.generated ? stack_ : stack_ + "-" + r.logical_id;
  std::vector<HttpRoute> routes;
  for (const auto& [id, f] : functions_)
    for (const auto& e : f.http_api_events)
      if (e.api == r.logical_id) routes.push_back({e, function_arn(values_[id].ref)});
  auto doc = http_openapi(api, routes, opts_.region);
  json::object variables;
  for (auto& [k, v] : api.stage_variables) variables[k] = v;
  ApiSteps steps{std::string(sam::kHttpApi),
                 "HTTP",
                 api.stage_name,
                 sha256_hex(json::serialize(json::object{
                     {"doc", doc}, {"stage", api.stage_name}, {"variables", variables}})),
                 {{"ApiEndpoint", opts_.endpoint}},
                 {}};
  steps.push = [&](std::string id,
                   const std::string& previous_sha) -> Result<std::string, StepError> {
    bool creating = id.empty();
    if (!creating)
      if (auto j = journal_http_api_update(r.logical_id, id, previous_sha); !j)
        return fail(j.error());
    json::object body{{"body", json::serialize(doc)}};
    auto c = creating ? aws_.call("apigateway", "PUT", "/v2/apis", json::serialize(body))
                      : aws_.call("apigateway", "PUT", "/v2/apis/" + id, json::serialize(body));
    if (!c)
      return fail(StepError{(creating ? "ImportApi: " : "ReimportApi: ") + c.error().to_string()});
    if (creating) {
      id = str(obj(c.value()), "apiId");
      record_delete(steps.type, r.logical_id, "apigateway", "/v2/apis/" + id);
    }
    json::object t = tags(r.logical_id);
    t[std::string(kDefinitionTag)] = steps.definition_sha256;
    if (auto tg = tag_api(steps.type, id, t); !tg) return fail(tg.error());
    if (creating) {
      json::object stage{{"stageName", api.stage_name}, {"autoDeploy", true}};
      if (!variables.empty()) stage["stageVariables"] = variables;
      auto s =
          aws_.call("apigateway", "POST", "/v2/apis/" + id + "/stages", json::serialize(stage));
      if (!s) return fail(StepError{"CreateStage: " + s.error().to_string()});
    }
    return id;
  };
  return apply_api(r, steps);
}

}  // namespace nimbus::deploy::detail
