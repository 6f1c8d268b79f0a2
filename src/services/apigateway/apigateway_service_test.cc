#include "services/apigateway/apigateway_service.h"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "services/iam/memory_store_for_tests.h"

namespace nimbus::services::apigateway {
namespace {

namespace json = boost::json;

constexpr const char* kUri =
    "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
    "arn:aws:lambda:us-east-1:000000000000:function:FN/invocations";

std::string openapi(const std::string& path, const std::string& fn, bool api_key = false,
                    int timeout_ms = 0) {
  std::string uri = kUri;
  uri.replace(uri.find("FN"), 2, fn);
  std::string integ = R"({"type":"aws_proxy","httpMethod":"POST","uri":")" + uri + "\"";
  if (timeout_ms) integ += ",\"timeoutInMillis\":" + std::to_string(timeout_ms);
  integ += "}";
  std::string op = R"({"x-amazon-apigateway-integration":)" + integ;
  if (api_key) op += R"(,"security":[{"api_key":[]}])";
  op += "}";
  return R"({"openapi":"3.0.1","info":{"title":"api","version":"1"},)"
         R"("components":{"securitySchemes":{"api_key":{"type":"apiKey","name":"x-api-key","in":"header"}}},)"
         R"("paths":{")" +
         path + R"(":{"get":)" + op + "}}}";
}

struct ApiGatewayTest : ::testing::Test {
  ManualClock clock;
  testing::MemoryStore store;
  // Invocations the fake Lambda received; the test answers them.
  std::vector<std::pair<std::string, faas::InvokeCallback>> calls;
  std::vector<std::string> events;
  Gateway gateway{clock,
                  [this](const std::string& fn, const std::string&, faas::Invocation inv,
                         faas::InvokeCallback done, std::function<void(aws::ApiError)>) {
                    calls.emplace_back(fn, std::move(done));
                    events.push_back(inv.payload);
                  },
                  "000000000000", "us-east-1", &store};
  ApiGatewayService svc{store, clock, gateway};

  json::object ok(const std::string& method, const std::string& path, const std::string& body = "",
                  const std::string& query = "") {
    auto r = svc.dispatch(method, path, query, body);
    EXPECT_TRUE(r.ok()) << method << " " << path << ": " << (r.ok() ? "" : r.error().message);
    if (!r.ok() || !r->body.is_object()) return {};
    return r->body.as_object();
  }
  aws::ApiError err(const std::string& method, const std::string& path,
                    const std::string& body = "", const std::string& query = "") {
    auto r = svc.dispatch(method, path, query, body);
    EXPECT_FALSE(r.ok()) << method << " " << path;
    return r.ok() ? aws::ApiError{} : r.error();
  }
  std::string deploy_rest(const std::string& path, const std::string& fn, bool api_key = false,
                          int timeout_ms = 0) {
    auto api = ok("POST", "/restapis", R"({"name":"a"})");
    std::string id(api["id"].as_string());
    ok("PUT", "/restapis/" + id, openapi(path, fn, api_key, timeout_ms), "mode=overwrite");
    ok("POST", "/restapis/" + id + "/deployments", R"({"stageName":"Prod","variables":{"v":"1"}})");
    return id;
  }
  // Sends a request; an invocation it causes is answered with `payload`.
  http::Response request(const std::string& method, const std::string& path,
                         std::vector<std::pair<std::string, std::string>> headers = {},
                         const std::string& query = "",
                         const std::string& payload = R"({"statusCode":200,"body":"hi"})") {
    http::Request req;
    req.method = method;
    req.path = path;
    req.query = query;
    req.target = path + (query.empty() ? "" : "?" + query);
    for (auto& [k, v] : headers) req.headers.add(k, v);
    std::optional<http::Response> out;
    gateway.handle(req, [&](http::Response r) { out = std::move(r); });
    if (!out && !calls.empty()) {
      auto done = std::move(calls.back().second);
      calls.pop_back();
      faas::InvokeResult res;
      res.payload = payload;
      done(std::move(res));
    }
    EXPECT_TRUE(out.has_value());
    return out.value_or(http::Response{});
  }
};

TEST_F(ApiGatewayTest, RestApiLifecycleAndErrors) {
  auto api = ok("POST", "/restapis", R"({"name":"orders","description":"d","tags":{"a":"b"}})");
  std::string id(api["id"].as_string());
  EXPECT_EQ(api["apiKeySource"], "HEADER");
  EXPECT_EQ(ok("GET", "/restapis")["item"].as_array().size(), 1u);
  EXPECT_EQ(ok("GET", "/restapis/" + id)["name"], "orders");
  // No methods yet: nothing to deploy.
  auto e = err("POST", "/restapis/" + id + "/deployments", R"({"stageName":"Prod"})");
  EXPECT_EQ(e.code, "BadRequestException");
  EXPECT_EQ(e.message, "The REST API doesn't contain any methods");
  ok("PUT", "/restapis/" + id, openapi("/users/{id}", "fn"), "mode=overwrite");
  auto res = ok("GET", "/restapis/" + id + "/resources")["item"].as_array();
  EXPECT_EQ(res.size(), 3u);  // "/", "/users", "/users/{id}"
  auto dep = ok("POST", "/restapis/" + id + "/deployments", R"({"stageName":"Prod"})");
  EXPECT_EQ(ok("GET", "/restapis/" + id + "/stages/Prod")["deploymentId"], dep["id"]);
  e = err("POST", "/restapis/" + id + "/stages",
          R"({"stageName":"Prod","deploymentId":")" + std::string(dep["id"].as_string()) + "\"}");
  EXPECT_EQ(e.status, 409);
  EXPECT_EQ(err("GET", "/restapis/" + id + "/stages/nope").code, "NotFoundException");
  EXPECT_EQ(err("GET", "/restapis/nope").message,
            "Invalid API identifier specified 000000000000:nope");
  // Invalid import: refused, the old body stays.
  EXPECT_EQ(err("PUT", "/restapis/" + id, R"({"openapi":"3.0.1","paths":{"/a":{"get":{}}}})",
                "mode=overwrite")
                .code,
            "BadRequestException");
  EXPECT_EQ(svc.dispatch("DELETE", "/restapis/" + id, "", "")->status, 202);
  EXPECT_EQ(err("GET", "/restapis/" + id).status, 404);
}

TEST_F(ApiGatewayTest, StateSurvivesARestart) {
  std::string id = deploy_rest("/a", "fn");
  Gateway gw2(clock, [](auto&&...) {});
  ApiGatewayService again(store, clock, gw2);
  ASSERT_TRUE(again.start().ok());
  EXPECT_TRUE(gw2.snapshot()->port_apis.contains(id));
}

TEST_F(ApiGatewayTest, ConflictingApisAreRefusedAtDeploy) {
  deploy_rest("/users/{id}", "fn");
  auto api = ok("POST", "/restapis", R"({"name":"b"})");
  std::string id(api["id"].as_string());
  ok("PUT", "/restapis/" + id, openapi("/users/{name}", "fn"), "mode=overwrite");
  auto e = err("POST", "/restapis/" + id + "/deployments", R"({"stageName":"Prod"})");
  EXPECT_EQ(e.code, "ConflictException");
}

TEST_F(ApiGatewayTest, ServesInvokesAndMapsTheResult) {
  std::string id = deploy_rest("/users/{id}", "fn");
  auto r = request("GET", "/users/7");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hi");
  ASSERT_EQ(events.size(), 1u);
  auto ev = json::parse(events[0]).as_object();
  EXPECT_EQ(ev["resource"], "/users/{id}");
  EXPECT_EQ(ev["pathParameters"].as_object()["id"], "7");
  EXPECT_EQ(ev["stageVariables"].as_object()["v"], "1");
  EXPECT_EQ(ev["requestContext"].as_object()["apiId"].as_string(), id);
  // No route: REST's answer.
  auto none = request("GET", "/nothing");
  EXPECT_EQ(none.status, 403);
  EXPECT_EQ(none.body, R"({"message":"Missing Authentication Token"})");
}

// The integration timeout answers 504 without waiting for the function.
TEST_F(ApiGatewayTest, IntegrationTimeoutAnswers504) {
  deploy_rest("/slow", "fn", false, 100);
  http::Request req;
  req.method = "GET";
  req.path = req.target = "/slow";
  std::optional<http::Response> out;
  gateway.handle(req, [&](http::Response r) { out = std::move(r); });
  EXPECT_FALSE(out);
  clock.advance(std::chrono::milliseconds(99));
  EXPECT_FALSE(out);
  clock.advance(std::chrono::milliseconds(1));
  ASSERT_TRUE(out);
  EXPECT_EQ(out->status, 504);
  // The late result is dropped.
  calls.back().second(faas::InvokeResult{});
  EXPECT_EQ(out->status, 504);
}

TEST_F(ApiGatewayTest, ApiKeysUsagePlansThrottleAndQuota) {
  std::string id = deploy_rest("/k", "fn", true);
  auto key = ok("POST", "/apikeys", R"({"name":"k","enabled":true})");
  std::string value(key["value"].as_string());
  EXPECT_GE(value.size(), 20u);
  // A key that is in no plan of this stage: Forbidden.
  EXPECT_EQ(request("GET", "/k", {{"x-api-key", value}}).status, 403);
  EXPECT_EQ(request("GET", "/k").body, R"({"message":"Forbidden"})");
  auto plan = ok(
      "POST", "/usageplans",
      R"({"name":"p","apiStages":[{"apiId":")" + id +
          R"(","stage":"Prod"}],"throttle":{"rateLimit":1,"burstLimit":2},"quota":{"limit":3,"period":"DAY"}})");
  std::string pid(plan["id"].as_string());
  ok("POST", "/usageplans/" + pid + "/keys",
     R"({"keyId":")" + std::string(key["id"].as_string()) + R"(","keyType":"API_KEY"})");
  EXPECT_EQ(ok("GET", "/usageplans/" + pid + "/keys")["item"].as_array().size(), 1u);
  EXPECT_EQ(request("GET", "/k", {{"x-api-key", value}}).status, 200);
  EXPECT_EQ(request("GET", "/k", {{"x-api-key", value}}).status, 200);
  auto throttled = request("GET", "/k", {{"x-api-key", value}});
  EXPECT_EQ(throttled.status, 429);
  EXPECT_EQ(throttled.body, R"({"message":"Too Many Requests"})");
  clock.advance(std::chrono::seconds(5));
  EXPECT_EQ(request("GET", "/k", {{"x-api-key", value}}).status, 200);
  clock.advance(std::chrono::seconds(5));
  auto quota = request("GET", "/k", {{"x-api-key", value}});
  EXPECT_EQ(quota.status, 429);
  EXPECT_EQ(quota.body, R"({"message":"Limit Exceeded"})");
  // GetApiKeys hides values unless asked.
  auto keys = ok("GET", "/apikeys")["item"].as_array();
  EXPECT_FALSE(keys[0].as_object().contains("value"));
  keys = ok("GET", "/apikeys", "", "includeValues=true")["item"].as_array();
  EXPECT_EQ(keys[0].as_object().at("value").as_string(), value);
  EXPECT_EQ(err("POST", "/usageplans", R"({"name":"q","quota":{"limit":1,"period":"YEAR"}})").code,
            "BadRequestException");
  EXPECT_EQ(err("GET", "/usageplans/nope").message, "Invalid Usage Plan ID specified");
}

// GetUsage: per key, one [used, remaining] pair per day of the range, the
// remaining quota counted from the start of the quota's window (a MONTH quota
// goes down across days); a missing plan is NotFoundException, bad dates
// BadRequestException.
TEST_F(ApiGatewayTest, GetUsageReportsDailyCountsAgainstTheQuota) {
  std::string id = deploy_rest("/k", "fn", true);
  auto key = ok("POST", "/apikeys", R"({"name":"k","enabled":true})");
  auto idle = ok("POST", "/apikeys", R"({"name":"idle","enabled":true})");
  std::string kid(key["id"].as_string()), idle_id(idle["id"].as_string());
  std::string value(key["value"].as_string());
  auto plan = ok("POST", "/usageplans",
                 R"({"name":"p","apiStages":[{"apiId":")" + id +
                     R"(","stage":"Prod"}],"quota":{"limit":10,"period":"MONTH"}})");
  std::string pid(plan["id"].as_string());
  for (auto& k : {kid, idle_id})
    ok("POST", "/usageplans/" + pid + "/keys", R"({"keyId":")" + k + R"(","keyType":"API_KEY"})");
  for (int i = 0; i < 3; ++i) EXPECT_EQ(request("GET", "/k", {{"x-api-key", value}}).status, 200);
  clock.advance(std::chrono::days(1));  // 15 November 2023
  for (int i = 0; i < 2; ++i) EXPECT_EQ(request("GET", "/k", {{"x-api-key", value}}).status, 200);
  // Read right away: GetUsage sees counts the timer has not written yet.
  auto u =
      ok("GET", "/usageplans/" + pid + "/usage", "", "startDate=2023-11-14&endDate=2023-11-16");
  EXPECT_EQ(u["usagePlanId"].as_string(), pid);
  EXPECT_EQ(u["startDate"], "2023-11-14");
  EXPECT_EQ(u["endDate"], "2023-11-16");
  EXPECT_FALSE(u.contains("position"));
  EXPECT_EQ(json::value(u["values"]), json::parse(R"({")" + kid + R"(":[[3,7],[2,5],[0,5]],")" +
                                                  idle_id + R"(":[[0,10],[0,10],[0,10]]})"));
  // A range starting mid-window still counts the window's earlier days.
  u = ok("GET", "/usageplans/" + pid + "/usage", "",
         "startDate=2023-11-15&endDate=2023-11-15&keyId=" + kid);
  EXPECT_EQ(json::value(u["values"]), json::parse(R"({")" + kid + R"(":[[2,5]]})"));
  // Paging over keys.
  u = ok("GET", "/usageplans/" + pid + "/usage", "",
         "startDate=2023-11-15&endDate=2023-11-15&limit=1");
  EXPECT_EQ(u["values"].as_object().size(), 1u);
  ASSERT_TRUE(u.contains("position"));
  auto rest = ok("GET", "/usageplans/" + pid + "/usage", "",
                 "startDate=2023-11-15&endDate=2023-11-15&limit=1&position=" +
                     std::string(u["position"].as_string()));
  EXPECT_EQ(rest["values"].as_object().size(), 1u);
  EXPECT_FALSE(rest.contains("position"));
  EXPECT_EQ(
      err("GET", "/usageplans/nope/usage", "", "startDate=2023-11-14&endDate=2023-11-16").code,
      "NotFoundException");
  EXPECT_EQ(
      err("GET", "/usageplans/" + pid + "/usage", "", "startDate=2023-13-01&endDate=2023-11-16")
          .code,
      "BadRequestException");
  EXPECT_EQ(err("GET", "/usageplans/" + pid + "/usage", "", "endDate=2023-11-16").code,
            "BadRequestException");
  EXPECT_EQ(
      err("GET", "/usageplans/" + pid + "/usage", "", "startDate=2023-11-16&endDate=2023-11-14")
          .code,
      "BadRequestException");
}

TEST_F(ApiGatewayTest, UpdateUsagePlanPatchesLimitsAndStagesAtomically) {
  std::string id = deploy_rest("/k", "fn", true);
  auto plan = ok("POST", "/usageplans",
                 R"({"name":"p","throttle":{"rateLimit":1,"burstLimit":2},
                     "quota":{"limit":3,"period":"DAY"}})");
  std::string path = "/usageplans/" + std::string(plan["id"].as_string());
  auto patched = ok("PATCH", path,
                    R"({"patchOperations":[
      {"op":"replace","path":"/quota/limit","value":"10"},
      {"op":"replace","path":"/quota/period","value":"WEEK"},
      {"op":"replace","path":"/quota/offset","value":"1"},
      {"op":"remove","path":"/throttle"},
      {"op":"add","path":"/apiStages","value":")" +
                        id + R"(:Prod"}]})");
  EXPECT_EQ(json::value(patched["quota"]),
            json::parse(R"({"limit":10,"offset":1,"period":"WEEK"})"));
  EXPECT_FALSE(patched.contains("throttle"));
  EXPECT_EQ(patched["apiStages"].as_array().size(), 1u);
  // One bad operation fails the call and changes nothing.
  EXPECT_EQ(err("PATCH", path, R"({"patchOperations":[
      {"op":"replace","path":"/quota/limit","value":"1"},
      {"op":"replace","path":"/quota/period","value":"YEAR"}]})")
                .code,
            "BadRequestException");
  EXPECT_EQ(ok("GET", path)["quota"].as_object().at("limit").as_int64(), 10);
  ok("PATCH", path,
     R"({"patchOperations":[{"op":"remove","path":"/apiStages","value":")" + id + R"(:Prod"}]})");
  EXPECT_TRUE(ok("GET", path)["apiStages"].as_array().empty());
}

TEST_F(ApiGatewayTest, ExportsGiveTheDeployedDocumentBack) {
  std::string id = deploy_rest("/k", "fn");
  auto doc = ok("GET", "/restapis/" + id + "/stages/Prod/exports/oas30");
  EXPECT_TRUE(doc["paths"].as_object().contains("/k"));
  // A new document put but not deployed: the stage's export stays the old one.
  ok("PUT", "/restapis/" + id, openapi("/other", "fn"), "mode=overwrite");
  EXPECT_TRUE(
      ok("GET", "/restapis/" + id + "/stages/Prod/exports/oas30")["paths"].as_object().contains(
          "/k"));
  EXPECT_EQ(err("GET", "/restapis/" + id + "/stages/Prod/exports/pdf").code, "BadRequestException");
  EXPECT_EQ(err("GET", "/restapis/" + id + "/stages/nope/exports/oas30").code, "NotFoundException");
}

TEST_F(ApiGatewayTest, HttpApiImportStagesRoutesAndNotFound) {
  auto api = ok("PUT", "/v2/apis", json::serialize(json::object{{"body", openapi("/h", "fn")}}));
  std::string id(api["apiId"].as_string());
  EXPECT_EQ(api["protocolType"], "HTTP");
  EXPECT_EQ(ok("GET", "/v2/apis/" + id + "/routes")["items"].as_array()[0].as_object()["routeKey"],
            "GET /h");
  ok("POST", "/v2/apis/" + id + "/stages", R"({"stageName":"$default","autoDeploy":true})");
  EXPECT_EQ(ok("GET", "/v2/apis/" + id + "/stages")["items"].as_array().size(), 1u);
  EXPECT_EQ(request("GET", "/h").status, 200);
  auto ev = json::parse(events.back()).as_object();
  EXPECT_EQ(ev["version"], "2.0");
  EXPECT_EQ(ev["routeKey"], "GET /h");
  auto none = request("GET", "/none");
  EXPECT_EQ(none.status, 404);
  EXPECT_EQ(err("GET", "/v2/apis/nope").code, "NotFoundException");
  EXPECT_EQ(svc.dispatch("DELETE", "/v2/apis/" + id, "", "")->status, 204);
  EXPECT_EQ(request("GET", "/h").status, 403);  // nothing deployed: REST's answer
}

// TOKEN authorizer: 401 without the token, the policy decides, the context
// reaches requestContext.authorizer, results are cached for the TTL.
TEST_F(ApiGatewayTest, TokenAuthorizerAllowDenyAndCache) {
  std::string uri = kUri;
  uri.replace(uri.find("FN"), 2, "authfn");
  std::string body = openapi("/secure", "fn");
  auto doc = json::parse(body).as_object();
  doc["components"].as_object()["securitySchemes"].as_object()["auth"] =
      json::object{{"type", "apiKey"},
                   {"name", "Authorization"},
                   {"in", "header"},
                   {"x-amazon-apigateway-authtype", "custom"},
                   {"x-amazon-apigateway-authorizer",
                    json::object{{"type", "token"},
                                 {"authorizerUri", uri},
                                 {"identitySource", "method.request.header.Authorization"},
                                 {"authorizerResultTtlInSeconds", 60}}}};
  doc["paths"].as_object()["/secure"].as_object()["get"].as_object()["security"] =
      json::array{json::object{{"auth", json::array{}}}};
  auto api = ok("POST", "/restapis", R"({"name":"a"})");
  std::string id(api["id"].as_string());
  ok("PUT", "/restapis/" + id, json::serialize(doc), "mode=overwrite");
  ok("POST", "/restapis/" + id + "/deployments", R"({"stageName":"Prod"})");

  auto send = [&](const std::string& token) {
    http::Request req;
    req.method = "GET";
    req.path = req.target = "/secure";
    if (!token.empty()) req.headers.add("Authorization", token);
    auto out = std::make_shared<std::optional<http::Response>>();
    gateway.handle(req, [out](http::Response r) { *out = std::move(r); });
    return out;
  };
  auto answer = [&](const std::string& expect_fn, const std::string& payload) {
    ASSERT_FALSE(calls.empty());
    EXPECT_EQ(calls.front().first, expect_fn);
    auto done = std::move(calls.front().second);
    calls.erase(calls.begin());
    faas::InvokeResult res;
    res.payload = payload;
    done(std::move(res));
  };
  auto allow = [](const std::string& effect) {
    return R"({"principalId":"u1","context":{"user_id":"u1"},"policyDocument":{"Version":"2012-10-17","Statement":[{"Action":"execute-api:Invoke","Effect":")" +
           effect + R"(","Resource":"arn:aws:execute-api:us-east-1:000000000000:*/Prod/GET/*"}]}})";
  };
  auto none = send("");
  ASSERT_TRUE(none->has_value());
  EXPECT_EQ((*none)->status, 401);
  EXPECT_EQ((*none)->body, R"({"message":"Unauthorized"})");

  auto first = send("good");
  auto tok_event = json::parse(events.back()).as_object();
  EXPECT_EQ(tok_event["type"], "TOKEN");
  EXPECT_EQ(tok_event["authorizationToken"], "good");
  EXPECT_EQ(tok_event["methodArn"].as_string(),
            "arn:aws:execute-api:us-east-1:000000000000:" + id + "/Prod/GET/secure");
  answer("authfn", allow("Allow"));
  auto ev = json::parse(events.back()).as_object();
  auto authz = ev["requestContext"].as_object()["authorizer"].as_object();
  EXPECT_EQ(authz["principalId"], "u1");
  EXPECT_EQ(authz["user_id"], "u1");
  answer("fn", R"({"statusCode":200,"body":"ok"})");
  EXPECT_EQ((*first)->status, 200);

  // Cached: the integration is called directly.
  auto second = send("good");
  answer("fn", R"({"statusCode":200,"body":"ok"})");
  EXPECT_EQ((*second)->status, 200);

  auto denied = send("bad");
  answer("authfn", allow("Deny"));
  EXPECT_EQ((*denied)->status, 403);
  EXPECT_EQ(
      (*denied)->body,
      R"({"message":"User is not authorized to access this resource with an explicit deny"})");

  // After the TTL the authorizer is asked again.
  clock.advance(std::chrono::seconds(61));
  auto again = send("good");
  answer("authfn", allow("Allow"));
  answer("fn", R"({"statusCode":200,"body":"ok"})");
  EXPECT_EQ((*again)->status, 200);
  EXPECT_TRUE(calls.empty());
}

// Stage caching as AWS configures it: the cache cluster and a method setting
// (UpdateStage patch operations), the key from the integration's
// cacheKeyParameters; hits do not invoke, max-age=0 refreshes,
// FlushStageCache empties, the TTL runs on the clock.
TEST_F(ApiGatewayTest, StageCacheThroughUpdateStage) {
  auto doc = json::parse(openapi("/orders/{id}", "fn")).as_object();
  doc["paths"]
      .as_object()["/orders/{id}"]
      .as_object()["get"]
      .as_object()["x-amazon-apigateway-integration"]
      .as_object()["cacheKeyParameters"] =
      json::array{"method.request.path.id", "method.request.querystring.color"};
  auto api = ok("POST", "/restapis", R"({"name":"a"})");
  std::string id(api["id"].as_string());
  ok("PUT", "/restapis/" + id, json::serialize(doc), "mode=overwrite");
  ok("POST", "/restapis/" + id + "/deployments", R"({"stageName":"Prod"})");
  const std::string stage = "/restapis/" + id + "/stages/Prod";
  auto st = ok("GET", stage);
  EXPECT_EQ(st["cacheClusterEnabled"], false);
  EXPECT_EQ(st["cacheClusterStatus"], "NOT_AVAILABLE");

  int n = 0;
  // Each invocation answers "call N".
  auto send = [&](const std::string& path, const std::string& query = "",
                  std::vector<std::pair<std::string, std::string>> headers = {}) {
    std::string payload = R"({"statusCode":200,"body":"call )" + std::to_string(n + 1) + "\"}";
    size_t before = events.size();
    auto body = request("GET", path, std::move(headers), query, payload).body;
    if (events.size() > before) ++n;
    return body;
  };
  // Not cached yet: every request invokes.
  EXPECT_EQ(send("/orders/1"), "call 1");
  EXPECT_EQ(send("/orders/1"), "call 2");

  auto patched = ok("PATCH", stage, R"({"patchOperations":[
      {"op":"replace","path":"/cacheClusterEnabled","value":"true"},
      {"op":"replace","path":"/*/*/caching/enabled","value":"true"},
      {"op":"replace","path":"/~1orders~1{id}/GET/caching/ttlInSeconds","value":"60"}]})");
  EXPECT_EQ(patched["cacheClusterEnabled"], true);
  EXPECT_EQ(patched["cacheClusterSize"], "0.5");
  EXPECT_EQ(patched["cacheClusterStatus"], "AVAILABLE");
  auto ms = patched["methodSettings"].as_object();
  EXPECT_EQ(ms["*/*"].as_object()["cachingEnabled"], true);
  EXPECT_EQ(ms["*/*"].as_object()["cacheTtlInSeconds"], 300);
  // A new override starts from */*.
  EXPECT_EQ(ms["~1orders~1{id}/GET"].as_object()["cachingEnabled"], true);
  EXPECT_EQ(ms["~1orders~1{id}/GET"].as_object()["cacheTtlInSeconds"], 60);
  EXPECT_EQ(ms["~1orders~1{id}/GET"].as_object()["requireAuthorizationForCacheControl"], true);
  EXPECT_EQ(json::value(ok("GET", stage)["methodSettings"]), json::value(ms));

  EXPECT_EQ(send("/orders/1", "color=red"), "call 3");
  EXPECT_EQ(send("/orders/1", "color=red&size=L"), "call 3");  // size is not in the key
  EXPECT_EQ(send("/orders/1", "color=blue"), "call 4");
  EXPECT_EQ(send("/orders/2", "color=red"), "call 5");  // the path parameter is
  EXPECT_EQ(send("/orders/1", "color=red", {{"Cache-Control", "max-age=0"}}), "call 6");
  EXPECT_EQ(send("/orders/1", "color=red"), "call 6");
  clock.advance(std::chrono::seconds(60));
  EXPECT_EQ(send("/orders/1", "color=red"), "call 7");
  EXPECT_EQ(send("/orders/1", "color=red"), "call 7");
  // Publishing other changes keeps the entries.
  ok("POST", "/restapis", R"({"name":"other"})");
  EXPECT_EQ(send("/orders/1", "color=red"), "call 7");
  EXPECT_EQ(svc.dispatch("DELETE", stage + "/cache/data", "", "")->status, 202);
  EXPECT_EQ(send("/orders/1", "color=red"), "call 8");

  // Bad operations change nothing.
  EXPECT_EQ(
      err("PATCH", stage,
          R"({"patchOperations":[{"op":"replace","path":"/~1nope/GET/caching/enabled","value":"true"}]})")
          .code,
      "BadRequestException");
  EXPECT_EQ(
      err("PATCH", stage,
          R"({"patchOperations":[{"op":"replace","path":"/*/*/caching/ttlInSeconds","value":"3601"}]})")
          .code,
      "BadRequestException");
  EXPECT_EQ(err("PATCH", stage,
                R"({"patchOperations":[{"op":"replace","path":"/cacheClusterSize","value":"2"}]})")
                .code,
            "BadRequestException");
  EXPECT_EQ(err("DELETE", "/restapis/" + id + "/stages/nope/cache/data").code, "NotFoundException");

  // TTL 0 disables caching for the method; so does disabling the cluster.
  ok("PATCH", stage,
     R"({"patchOperations":[{"op":"replace","path":"/~1orders~1{id}/GET/caching/ttlInSeconds","value":"0"}]})");
  EXPECT_EQ(send("/orders/1", "color=red"), "call 9");
  EXPECT_EQ(send("/orders/1", "color=red"), "call 10");
  ok("PATCH", stage, R"({"patchOperations":[{"op":"remove","path":"/~1orders~1{id}/GET"},
      {"op":"replace","path":"/cacheClusterEnabled","value":"false"}]})");
  EXPECT_EQ(send("/orders/1", "color=red"), "call 11");
  EXPECT_EQ(send("/orders/1", "color=red"), "call 12");
  st = ok("GET", stage);
  EXPECT_FALSE(st["methodSettings"].as_object().contains("~1orders~1{id}/GET"));
  EXPECT_EQ(st["cacheClusterStatus"], "NOT_AVAILABLE");
}

// Only GET methods are cached by `*/*`; other methods need their own setting,
// and only successful answers are cached.
TEST_F(ApiGatewayTest, StageCacheGetOnlyByDefaultAndSuccessOnly) {
  auto doc = json::parse(openapi("/c", "fn")).as_object();
  auto& item = doc["paths"].as_object()["/c"].as_object();
  item["post"] = item["get"];
  auto api = ok("POST", "/restapis", R"({"name":"a"})");
  std::string id(api["id"].as_string());
  ok("PUT", "/restapis/" + id, json::serialize(doc), "mode=overwrite");
  ok("POST", "/restapis/" + id + "/deployments",
     R"({"stageName":"Prod","cacheClusterEnabled":true,"cacheClusterSize":"1.6"})");
  const std::string stage = "/restapis/" + id + "/stages/Prod";
  EXPECT_EQ(ok("GET", stage)["cacheClusterSize"], "1.6");
  ok("PATCH", stage,
     R"({"patchOperations":[{"op":"replace","path":"/*/*/caching/enabled","value":"true"}]})");
  auto send = [&](const std::string& method, int status) {
    return request(method, "/c", {}, "", R"({"statusCode":)" + std::to_string(status) + "}").status;
  };
  EXPECT_EQ(send("GET", 404), 404);  // not cached
  EXPECT_EQ(send("GET", 200), 200);
  EXPECT_EQ(send("GET", 500), 200);  // cached
  EXPECT_EQ(send("POST", 201), 201);
  EXPECT_EQ(send("POST", 202), 202);  // POST is not cached by */*
  ok("PATCH", stage,
     R"({"patchOperations":[{"op":"replace","path":"/~1c/POST/caching/enabled","value":"true"}]})");
  EXPECT_EQ(send("POST", 203), 203);
  EXPECT_EQ(send("POST", 204), 203);  // now it is
  EXPECT_EQ(send("GET", 500), 200);   // and GET kept its entry
}

}  // namespace
}  // namespace nimbus::services::apigateway
