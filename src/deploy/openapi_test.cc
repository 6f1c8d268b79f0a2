#include "deploy/openapi.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <memory>

namespace nimbus::deploy {
namespace {

namespace json = boost::json;

struct Loaded {
  std::unique_ptr<Template> t;  // the context points at it
  Context ctx;
};

Loaded load(std::string_view text) {
  auto parsed = load_template(text, "template.yaml");
  EXPECT_TRUE(parsed.ok()) << (parsed.ok() ? "" : parsed.error().to_string());
  auto t = std::make_unique<Template>(std::move(*parsed));
  auto e = sam::expand(*t);
  EXPECT_TRUE(e.ok()) << (e.ok() ? "" : e.error().to_string());
  auto ctx = make_context(*t, PseudoParameters{}, {});
  EXPECT_TRUE(ctx.ok()) << (ctx.ok() ? "" : ctx.error().to_string());
  ctx->resources = sam::placeholder_values();
  return {std::move(t), std::move(*ctx)};
}

Node props(const Loaded& l, std::string_view id) {
  const Resource* r = l.t->resource(id);
  EXPECT_NE(r, nullptr) << id;
  auto p = resolve(r->properties, l.ctx, r->path() + ".Properties");
  EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().to_string());
  return *p;
}

sam::Function function(const Loaded& l, std::string_view id) {
  auto f = sam::parse_function(*l.t->resource(id), props(l, id));
  EXPECT_TRUE(f.ok()) << (f.ok() ? "" : f.error().to_string());
  return *f;
}

sam::RestApi rest_api(const Loaded& l, std::string_view id) {
  auto a = sam::parse_api(*l.t->resource(id), props(l, id));
  EXPECT_TRUE(a.ok()) << (a.ok() ? "" : a.error().to_string());
  return *a;
}

const json::value& at(const json::value& v, std::initializer_list<std::string_view> path) {
  const json::value* cur = &v;
  for (auto k : path) {
    EXPECT_TRUE(cur->is_object() && cur->as_object().contains(k)) << "missing " << k;
    if (!cur->is_object() || !cur->as_object().contains(k)) {
      static const json::value null;
      return null;
    }
    cur = &cur->as_object().at(k);
  }
  return *cur;
}

constexpr std::string_view kArn = "arn:aws:lambda:us-east-1:000000000000:function:orders-Create";

// The chapter's "Basic Lambda Function" deployment configuration.
constexpr std::string_view kChapter = R"(
CreateOrder:
  Type: AWS::Serverless::Function
  Properties:
    Handler: order.lambda_handler
    Runtime: python3.11
    MemorySize: 512    # More memory = more CPU
    Timeout: 30        # Max execution time
    Environment:
      Variables:
        TABLE_NAME: orders
    Events:
      CreateOrderAPI:
        Type: Api
        Properties:
          Path: /orders
          Method: POST
)";

TEST(OpenApi, IntegrationUri) {
  EXPECT_EQ(lambda_integration_uri("eu-west-1", "arn:aws:lambda:eu-west-1:1:function:f"),
            "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/"
            "arn:aws:lambda:eu-west-1:1:function:f/invocations");
}

TEST(OpenApi, ChapterCreateOrderRoute) {
  std::string text = "Resources:\n";
  for (size_t pos = 1; pos < kChapter.size();) {  // indent the snippet under Resources
    size_t end = kChapter.find('\n', pos);
    text += "  " + std::string(kChapter.substr(pos, end - pos)) + "\n";
    pos = end + 1;
  }
  Loaded l = load(text);
  auto f = function(l, "CreateOrder");
  ASSERT_EQ(f.api_events.size(), 1u);
  auto api = rest_api(l, "ServerlessRestApi");
  EXPECT_EQ(api.stage_name, "Prod");
  auto doc = json::value(rest_openapi(api, {{f.api_events[0], std::string(kArn)}}, "us-east-1"));
  EXPECT_EQ(at(doc, {"openapi"}), "3.0.1");
  const auto& paths = at(doc, {"paths"}).as_object();
  ASSERT_EQ(paths.size(), 1u);
  const auto& op = at(doc, {"paths", "/orders", "post"});
  ASSERT_EQ(at(doc, {"paths", "/orders"}).as_object().size(), 1u);
  const auto& integ = at(op, {"x-amazon-apigateway-integration"});
  EXPECT_EQ(at(integ, {"type"}), "aws_proxy");
  EXPECT_EQ(at(integ, {"httpMethod"}), "POST");
  EXPECT_EQ(at(integ, {"uri"}),
            json::value("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/" +
                        std::string(kArn) + "/invocations"));
  EXPECT_EQ(at(integ, {"payloadFormatVersion"}), "1.0");
  EXPECT_FALSE(op.as_object().contains("security"));
  EXPECT_FALSE(op.as_object().contains("parameters"));
  EXPECT_FALSE(op.as_object().contains("x-amazon-apigateway-request-validator"));
  EXPECT_FALSE(doc.as_object().contains("components"));
  EXPECT_FALSE(doc.as_object().contains("x-amazon-apigateway-cors"));
}

constexpr std::string_view kSecured = R"(
Transform: AWS::Serverless-2016-10-31
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: prod
      Cors:
        AllowOrigin: "'https://example.com'"
        AllowMethods: "'GET,POST'"
        AllowHeaders: "'Content-Type,X-Api-Key'"
        MaxAge: "'600'"
        AllowCredentials: true
      Auth:
        ApiKeyRequired: true
        DefaultAuthorizer: Tok
        UsagePlan:
          CreateUsagePlan: PER_API
          Quota: {Limit: 1000, Period: DAY}
          Throttle: {BurstLimit: 10, RateLimit: 5.5}
        Authorizers:
          Tok:
            FunctionArn: !GetAtt AuthFn.Arn
            Identity: {Header: X-Token, ReauthorizeEvery: 60}
          Req:
            FunctionArn: !GetAtt AuthFn.Arn
            FunctionPayloadType: REQUEST
            Identity: {Headers: [X-Key], QueryStrings: [k]}
      Models:
        Order:
          type: object
          required: [id]
          properties: {id: {type: string}}
  AuthFn: {Type: AWS::Serverless::Function, Properties: {Handler: a.h, Runtime: python3.11, InlineCode: x}}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Handler: a.h
      Runtime: python3.11
      InlineCode: x
      Events:
        Create:
          Type: Api
          Properties:
            RestApiId: !Ref Api
            Path: /orders/{id}
            Method: post
            RequestModel: {Model: Order, Required: true}
            RequestParameters:
              - method.request.querystring.page: {Required: true}
        Open:
          Type: Api
          Properties:
            RestApiId: !Ref Api
            Path: /health
            Method: any
            Auth: {ApiKeyRequired: false, Authorizer: NONE}
        ByRequest:
          Type: Api
          Properties:
            RestApiId: !Ref Api
            Path: /orders
            Method: get
            Auth: {Authorizer: Req}
)";

TEST(OpenApi, AuthorizersApiKeysModelsValidationAndCors) {
  Loaded l = load(kSecured);
  auto f = function(l, "Fn");
  auto api = rest_api(l, "Api");
  std::vector<RestRoute> routes;
  for (auto& e : f.api_events) routes.push_back({e, std::string(kArn)});
  auto doc = json::value(rest_openapi(api, routes, "us-east-1"));

  // API key scheme and the token authorizer as API Gateway's extensions.
  EXPECT_EQ(at(doc, {"components", "securitySchemes", "api_key"}),
            json::parse(R"({"type":"apiKey","name":"x-api-key","in":"header"})"));
  const auto& tok = at(doc, {"components", "securitySchemes", "Tok"});
  EXPECT_EQ(at(tok, {"type"}), "apiKey");
  EXPECT_EQ(at(tok, {"name"}), "X-Token");
  EXPECT_EQ(at(tok, {"in"}), "header");
  EXPECT_EQ(at(tok, {"x-amazon-apigateway-authtype"}), "custom");
  const auto& ta = at(tok, {"x-amazon-apigateway-authorizer"});
  EXPECT_EQ(at(ta, {"type"}), "token");
  EXPECT_EQ(at(ta, {"authorizerUri"}),
            json::value(lambda_integration_uri("us-east-1", "AuthFn.Arn")));
  EXPECT_EQ(at(ta, {"identitySource"}), "method.request.header.X-Token");
  EXPECT_EQ(at(ta, {"authorizerResultTtlInSeconds"}), 60);
  const auto& ra =
      at(doc, {"components", "securitySchemes", "Req", "x-amazon-apigateway-authorizer"});
  EXPECT_EQ(at(ra, {"type"}), "request");
  EXPECT_EQ(at(ra, {"identitySource"}),
            "method.request.header.X-Key, method.request.querystring.k");
  EXPECT_EQ(at(ra, {"authorizerResultTtlInSeconds"}), 300);

  // POST /orders/{id}: key + default authorizer, path and query parameters,
  // the model as the body schema with a validator.
  const auto& create = at(doc, {"paths", "/orders/{id}", "post"});
  EXPECT_EQ(at(create, {"security"}), json::parse(R"([{"api_key":[]},{"Tok":[]}])"));
  EXPECT_EQ(at(create, {"parameters"}), json::parse(R"([
      {"name":"id","in":"path","required":true,"schema":{"type":"string"}},
      {"name":"page","in":"query","required":true,"schema":{"type":"string"}}])"));
  EXPECT_EQ(at(create, {"requestBody"}), json::parse(R"({"required":true,"content":
      {"application/json":{"schema":{"$ref":"#/components/schemas/Order"}}}})"));
  EXPECT_EQ(at(create, {"x-amazon-apigateway-request-validator"}), "body-and-params");
  EXPECT_EQ(
      at(doc, {"components", "schemas", "Order"}),
      json::parse(R"({"type":"object","required":["id"],"properties":{"id":{"type":"string"}}})"));
  EXPECT_EQ(at(doc, {"x-amazon-apigateway-request-validators", "body-and-params"}),
            json::parse(R"({"validateRequestBody":true,"validateRequestParameters":true})"));

  // ANY /health opts out of both.
  const auto& health = at(doc, {"paths", "/health", "x-amazon-apigateway-any-method"});
  EXPECT_FALSE(health.as_object().contains("security"));
  // GET /orders uses the REQUEST authorizer (and still the API key).
  EXPECT_EQ(at(doc, {"paths", "/orders", "get", "security"}),
            json::parse(R"([{"api_key":[]},{"Req":[]}])"));

  EXPECT_EQ(at(doc, {"x-amazon-apigateway-cors"}), json::parse(R"({
      "allowOrigins":["https://example.com"],"allowCredentials":true,
      "allowMethods":["GET","POST"],"allowHeaders":["Content-Type","X-Api-Key"],"maxAge":600})"));
}

TEST(OpenApi, HttpApiRoutesAuthorizerAndCors) {
  Loaded l = load(R"(
Transform: AWS::Serverless-2016-10-31
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      CorsConfiguration:
        AllowOrigins: [https://example.com]
        AllowMethods: [GET]
        ExposeHeaders: [x-id]
        MaxAge: 600
      Auth:
        DefaultAuthorizer: L
        Authorizers:
          L:
            FunctionArn: arn:aws:lambda:us-east-1:000000000000:function:auth
            AuthorizerPayloadFormatVersion: "2.0"
            EnableSimpleResponses: true
            Identity: {Headers: [Authorization], ReauthorizeEvery: 30}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Handler: a.h
      Runtime: python3.11
      InlineCode: x
      Events:
        Get:
          Type: HttpApi
          Properties:
            ApiId: !Ref Api
            Path: /items/{id}
            Method: GET
        Legacy:
          Type: HttpApi
          Properties:
            ApiId: !Ref Api
            Path: /old
            Method: POST
            PayloadFormatVersion: "1.0"
            TimeoutInMillis: 5000
            Auth:
              Authorizer: NONE
)");
  auto f = function(l, "Fn");
  auto a = sam::parse_http_api(*l.t->resource("Api"), props(l, "Api"));
  ASSERT_TRUE(a.ok()) << a.error().to_string();
  std::vector<HttpRoute> routes;
  for (auto& e : f.http_api_events) routes.push_back({e, std::string(kArn)});
  auto doc = json::value(http_openapi(*a, routes, "us-east-1"));
  const auto& get = at(doc, {"paths", "/items/{id}", "get"});
  EXPECT_EQ(at(get, {"x-amazon-apigateway-integration", "payloadFormatVersion"}), "2.0");
  EXPECT_EQ(at(get, {"security"}), json::parse(R"([{"L":[]}])"));
  const auto& old = at(doc, {"paths", "/old", "post"});
  EXPECT_EQ(at(old, {"x-amazon-apigateway-integration", "payloadFormatVersion"}), "1.0");
  EXPECT_EQ(at(old, {"x-amazon-apigateway-integration", "timeoutInMillis"}), 5000);
  EXPECT_FALSE(old.as_object().contains("security"));
  const auto& la =
      at(doc, {"components", "securitySchemes", "L", "x-amazon-apigateway-authorizer"});
  EXPECT_EQ(at(la, {"type"}), "request");
  EXPECT_EQ(at(la, {"identitySource"}), json::parse(R"(["$request.header.Authorization"])"));
  EXPECT_EQ(at(la, {"authorizerPayloadFormatVersion"}), "2.0");
  EXPECT_EQ(at(la, {"enableSimpleResponses"}), true);
  EXPECT_EQ(at(la, {"authorizerResultTtlInSeconds"}), 30);
  EXPECT_EQ(at(doc, {"x-amazon-apigateway-cors"}), json::parse(R"({
      "allowOrigins":["https://example.com"],"allowCredentials":false,
      "allowMethods":["GET"],"exposeHeaders":["x-id"],"maxAge":600})"));
}

// SAM's RequestParameters with `Caching: true` become the integration's
// cacheKeyParameters; CacheClusterEnabled/Size and MethodSettings become
// UpdateStage patch operations (CloudFormation's ~1-escaped ResourcePath or a
// plain one, `*/*` first, the stage's old method settings removed).
TEST(OpenApi, StageCacheFromSam) {
  Loaded l = load(R"(
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: prod
      CacheClusterEnabled: true
      CacheClusterSize: "1.6"
      MethodSettings:
        - {ResourcePath: "/~1orders~1{id}", HttpMethod: get, CacheTtlInSeconds: 5}
        - {ResourcePath: "/orders", HttpMethod: GET, CachingEnabled: false}
        - {ResourcePath: "/*", HttpMethod: "*", CachingEnabled: true, CacheTtlInSeconds: 60}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Handler: a.h
      Runtime: python3.11
      InlineCode: x
      Events:
        Get:
          Type: Api
          Properties:
            RestApiId: !Ref Api
            Path: /orders/{id}
            Method: get
            RequestParameters:
              - method.request.path.id: {Caching: true}
              - method.request.querystring.color: {Caching: true}
              - method.request.querystring.page
)");
  auto f = function(l, "Fn");
  auto api = rest_api(l, "Api");
  std::vector<RestRoute> routes;
  for (auto& e : f.api_events) routes.push_back({e, std::string(kArn)});
  auto doc = json::value(rest_openapi(api, routes, "us-east-1"));
  EXPECT_EQ(at(doc, {"paths", "/orders/{id}", "get", "x-amazon-apigateway-integration",
                     "cacheKeyParameters"}),
            json::parse(R"(["method.request.path.id","method.request.querystring.color"])"));

  auto ops = rest_stage_cache_patch(api, json::object{});
  EXPECT_EQ(json::value(ops), json::parse(R"([
      {"op":"replace","path":"/cacheClusterEnabled","value":"true"},
      {"op":"replace","path":"/cacheClusterSize","value":"1.6"},
      {"op":"replace","path":"/*/*/caching/enabled","value":"true"},
      {"op":"replace","path":"/*/*/caching/ttlInSeconds","value":"60"},
      {"op":"replace","path":"/~1orders~1{id}/GET/caching/ttlInSeconds","value":"5"},
      {"op":"replace","path":"/~1orders/GET/caching/enabled","value":"false"}])"));

  // A redeploy without any cache settings turns the cache off and removes the old settings.
  sam::RestApi plain;
  auto current = json::parse(R"({"cacheClusterEnabled":true,"cacheClusterSize":"0.5",
      "methodSettings":{"*/*":{},"~1orders/GET":{}}})");
  EXPECT_EQ(json::value(rest_stage_cache_patch(plain, current.as_object())), json::parse(R"([
      {"op":"replace","path":"/cacheClusterEnabled","value":"false"},
      {"op":"remove","path":"/*/*"},
      {"op":"remove","path":"/~1orders/GET"}])"));
}

TEST(OpenApi, BinaryMediaTypesFromSam) {
  // SAM's BinaryMediaTypes (with its "~1" spelling of "/") becomes the
  // extension PutRestApi reads, so the gateway base64-encodes those bodies.
  Loaded l = load(R"(
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: prod
      BinaryMediaTypes: ["image~1png", "application/octet-stream"]
)");
  auto api = rest_api(l, "Api");
  auto doc = json::value(rest_openapi(api, {}, "us-east-1"));
  EXPECT_EQ(at(doc, {"x-amazon-apigateway-binary-media-types"}),
            json::parse(R"(["image/png","application/octet-stream"])"));
  Loaded none =
      load("Resources:\n  Api: {Type: AWS::Serverless::Api, Properties: {StageName: p}}\n");
  EXPECT_FALSE(rest_openapi(rest_api(none, "Api"), {}, "us-east-1")
                   .contains("x-amazon-apigateway-binary-media-types"));
}

TEST(OpenApi, StageRestorePatchGivesBackThePreviousSettings) {
  auto previous = json::parse(R"({"variables":{"a":"1","b":"2"},"cacheClusterEnabled":false,
      "cacheClusterSize":"0.5","methodSettings":{"*/*":{"cachingEnabled":true,
      "cacheTtlInSeconds":60}}})");
  auto current = json::parse(R"({"variables":{"a":"9","c":"3"},"cacheClusterEnabled":true,
      "cacheClusterSize":"0.5","methodSettings":{"~1x/GET":{"cachingEnabled":true}}})");
  EXPECT_EQ(json::value(rest_stage_restore_patch(current.as_object(), previous.as_object())),
            json::parse(R"([
      {"op":"remove","path":"/variables/c"},
      {"op":"replace","path":"/variables/a","value":"1"},
      {"op":"replace","path":"/variables/b","value":"2"},
      {"op":"replace","path":"/cacheClusterEnabled","value":"false"},
      {"op":"remove","path":"/~1x/GET"},
      {"op":"replace","path":"/*/*/caching/enabled","value":"true"},
      {"op":"replace","path":"/*/*/caching/ttlInSeconds","value":"60"}])"));
  EXPECT_TRUE(rest_stage_restore_patch(previous.as_object(), previous.as_object()).empty());
}

}  // namespace
}  // namespace nimbus::deploy
