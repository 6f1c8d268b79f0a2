// ApiGatewayService: HTTP APIs (apigatewayv2): APIs, import, stages, export, routes.
#include "services/apigateway/apigateway_service.h"

#include <boost/json.hpp>

#include "base/ids.h"
#include "base/text.h"
#include "base/time_format.h"
#include "services/apigateway/management_records.h"

namespace nimbus::services::apigateway {

namespace json = boost::json;
using aws::ApiError;
using namespace mgmt;

// --- HTTP APIs -------------------------------------------------------------

json::object ApiGatewayService::http_view(const Obj& rec) const {
  json::object o;
  for (auto k : {"apiId", "name", "description", "protocolType", "createdDate", "tags", "version",
                 "warnings", "corsConfiguration"})
    if (auto* v = rec.if_contains(k)) o[k] = *v;
  o["apiEndpoint"] = "https://" + str(rec, "apiId") + ".execute-api." + region_ + ".amazonaws.com";
  o["routeSelectionExpression"] = "$request.method $request.path";
  o["apiKeySelectionExpression"] = "$request.header.x-api-key";
  o["disableExecuteApiEndpoint"] = false;
  return o;
}

ApiGatewayService::Out ApiGatewayService::create_api(const Obj& in) {
  std::string name = str(in, "name");
  if (name.empty()) return fail(bad_request("Invalid API name specified"));
  std::string proto = str(in, "protocolType");
  if (proto != "HTTP")
    return fail(bad_request("ProtocolType " + proto + " is not supported (only HTTP)"));
  for (auto k : {"target", "routeKey", "corsConfiguration", "credentialsArn"})
    if (in.contains(k))
      return fail(bad_request(std::string(k) +
                              " is not supported by CreateApi here; import an OpenAPI body"));
  auto tag_list = string_map(in, "tags");
  if (!tag_list) return fail(tag_list.error());
  std::string id = new_id();
  json::object rec{{"apiId", id},
                   {"name", name},
                   {"protocolType", "HTTP"},
                   {"createdDate", iso8601_ms(clock_.wall_ms())},
                   {"stages", json::object{}}};
  if (auto d = str(in, "description"); !d.empty()) rec["description"] = d;
  json::object tags;
  for (auto& [k, v] : *tag_list) tags[k] = v;
  rec["tags"] = std::move(tags);
  http_[id] = rec;
  if (auto r = save(std::string(kHttpPrefix) + id, &http_[id]); !r) return fail(r.error());
  return Answer{201, http_view(rec)};
}

ApiGatewayService::Out ApiGatewayService::import_api(const std::string& id,
                                                     const std::string& body) {
  auto spec = compile_body(body, ApiKind::kHttp);
  if (!spec) return fail(spec.error());
  Obj rec;
  if (id.empty()) {
    rec = json::object{{"apiId", new_id()},
                       {"name", spec->title.empty() ? std::string("imported") : spec->title},
                       {"protocolType", "HTTP"},
                       {"createdDate", iso8601_ms(clock_.wall_ms())},
                       {"stages", json::object{}},
                       {"tags", json::object{}}};
  } else {
    auto existing = http_api(id);
    if (!existing) return fail(existing.error());
    rec = **existing;
    if (!spec->title.empty()) rec["name"] = spec->title;
  }
  std::string api_id = str(rec, "apiId");
  if (!obj(rec, "stages").empty())
    if (auto r = check_conflicts(api_id, *spec, ApiKind::kHttp); !r) return fail(r.error());
  rec["body"] = body;
  if (!spec->description.empty()) rec["description"] = spec->description;
  if (!spec->version.empty()) rec["version"] = spec->version;
  if (spec->cors) {
    auto list = [](const std::vector<std::string>& v) {
      json::array a;
      for (auto& s : v) a.emplace_back(s);
      return a;
    };
    json::object c{{"allowOrigins", list(spec->cors->allow_origins)},
                   {"allowMethods", list(spec->cors->allow_methods)},
                   {"allowHeaders", list(spec->cors->allow_headers)},
                   {"exposeHeaders", list(spec->cors->expose_headers)},
                   {"allowCredentials", spec->cors->allow_credentials}};
    if (spec->cors->max_age) c["maxAge"] = *spec->cors->max_age;
    rec["corsConfiguration"] = std::move(c);
  } else {
    rec.erase("corsConfiguration");
  }
  http_[api_id] = rec;
  if (auto r = save(std::string(kHttpPrefix) + api_id, &http_[api_id]); !r) return fail(r.error());
  return Answer{201, http_view(rec)};
}

ApiGatewayService::Out ApiGatewayService::get_apis() {
  json::array items;
  for (auto& [id, rec] : http_) items.push_back(http_view(rec));
  return Answer{200, json::object{{"items", std::move(items)}}};
}

ApiGatewayService::Out ApiGatewayService::get_api(const std::string& id) {
  auto rec = http_api(id);
  if (!rec) return fail(rec.error());
  return Answer{200, http_view(**rec)};
}

ApiGatewayService::Out ApiGatewayService::delete_api(const std::string& id) {
  auto rec = http_api(id);
  if (!rec) return fail(rec.error());
  http_.erase(id);
  if (auto r = save(std::string(kHttpPrefix) + id, nullptr); !r) return fail(r.error());
  return Answer{204, nullptr};
}

ApiGatewayService::Out ApiGatewayService::create_stage_v2(const std::string& id, const Obj& in) {
  auto rec = http_api(id);
  if (!rec) return fail(rec.error());
  std::string stage = str(in, "stageName");
  if (stage.empty()) return fail(bad_request("Invalid stage name specified"));
  auto& stages = (**rec)["stages"].as_object();
  if (stages.contains(stage)) return fail(conflict("Stage " + stage + " already exists"));
  if (stages.empty() && (*rec)->contains("body")) {
    auto spec = compile_body(str(**rec, "body"), ApiKind::kHttp);
    if (!spec) return fail(spec.error());
    if (auto r = check_conflicts(id, *spec, ApiKind::kHttp); !r) return fail(r.error());
  }
  auto vars = string_map(in, "stageVariables");
  if (!vars) return fail(vars.error());
  json::object v;
  for (auto& [k, val] : *vars) v[k] = val;
  std::string now = iso8601_ms(clock_.wall_ms());
  json::object st{{"stageName", stage},
                  {"stageVariables", std::move(v)},
                  {"autoDeploy", in.contains("autoDeploy") && in.at("autoDeploy").is_bool() &&
                                     in.at("autoDeploy").as_bool()},
                  {"createdDate", now},
                  {"lastUpdatedDate", now},
                  {"tags", json::object{}}};
  if (auto d = str(in, "description"); !d.empty()) st["description"] = d;
  if (auto r = set_cache_cluster(st, in); !r) return fail(r.error());
  stages[stage] = st;
  if (auto r = save(std::string(kHttpPrefix) + id, *rec); !r) {
    stages.erase(stage);
    return fail(r.error());
  }
  return Answer{201, stage_view(st)};
}

ApiGatewayService::Out ApiGatewayService::get_stages_v2(const std::string& id) {
  auto rec = http_api(id);
  if (!rec) return fail(rec.error());
  json::array items;
  for (auto& [n, st] : obj(**rec, "stages")) items.push_back(stage_view(st.as_object()));
  return Answer{200, json::object{{"items", std::move(items)}}};
}

ApiGatewayService::Out ApiGatewayService::delete_stage_v2(const std::string& id,
                                                          const std::string& stage) {
  auto rec = http_api(id);
  if (!rec) return fail(rec.error());
  auto& stages = (**rec)["stages"].as_object();
  if (!stages.contains(stage)) return fail(not_found("Invalid stage identifier specified"));
  stages.erase(stage);
  if (auto r = save(std::string(kHttpPrefix) + id, *rec); !r) return fail(r.error());
  return Answer{204, nullptr};
}

ApiGatewayService::Out ApiGatewayService::export_api(const std::string& id,
                                                     const std::string& specification,
                                                     const std::string& query) {
  auto rec = http_api(id);
  if (!rec) return fail(rec.error());
  if (specification != "OAS30")
    return fail(bad_request("Invalid specification '" + specification + "': OAS30"));
  if (auto t = http::query_value(query, "outputType"); t != "JSON")
    return fail(bad_request("outputType " + (t.empty() ? std::string("(none)") : t) +
                            " is not supported by Nimbus (JSON only)"));
  boost::system::error_code ec;
  auto doc = json::parse(str(**rec, "body"), ec);
  if (ec) return fail(not_found("The API has no imported definition"));
  return Answer{200, std::move(doc)};
}

ApiGatewayService::Out ApiGatewayService::get_routes(const std::string& id) {
  auto rec = http_api(id);
  if (!rec) return fail(rec.error());
  json::array items;
  if ((*rec)->contains("body")) {
    auto spec = import_openapi(str(**rec, "body"), ApiKind::kHttp);
    if (spec)
      for (auto& r : spec->routes) {
        std::string key = r.method + " " + r.path;
        json::object o{{"routeId", sha256_hex(id + key).substr(0, 7)},
                       {"routeKey", key},
                       {"apiKeyRequired", r.api_key_required},
                       {"authorizationType", "NONE"},
                       {"apiGatewayManaged", false}};
        if (!r.operation_name.empty()) o["operationName"] = r.operation_name;
        items.push_back(std::move(o));
      }
  }
  return Answer{200, json::object{{"items", std::move(items)}}};
}

}  // namespace nimbus::services::apigateway
