#include "services/apigateway/openapi_import.h"

#include <gtest/gtest.h>

namespace nimbus::services::apigateway {
namespace {

constexpr const char* kUri =
    "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
    "arn:aws:lambda:us-east-1:000000000000:function:echo/invocations";

std::string doc(const std::string& paths, const std::string& extra = "") {
  return R"({"openapi":"3.0.1","info":{"title":"t","version":"1"},"paths":)" + paths + extra + "}";
}

std::string op(const std::string& more = "") {
  return std::string(
             R"({"x-amazon-apigateway-integration":{"type":"aws_proxy","httpMethod":"POST","uri":")") +
         kUri + R"(","payloadFormatVersion":"1.0"})" + more + "}";
}

TEST(OpenApiImport, RoutesIntegrationsAndAnyMethod) {
  auto spec =
      import_openapi(doc(R"({"/users/{id}":{"get":)" + op() +
                         R"(},"/{proxy+}":{"x-amazon-apigateway-any-method":)" + op() + "}}"),
                     ApiKind::kRest);
  ASSERT_TRUE(spec.ok()) << spec.error();
  ASSERT_EQ(spec->routes.size(), 2u);
  EXPECT_EQ(spec->routes[0].method, "GET");
  EXPECT_EQ(spec->routes[0].path, "/users/{id}");
  EXPECT_EQ(spec->routes[0].integration.function, "echo");
  EXPECT_EQ(spec->routes[0].integration.timeout_ms, 29000);
  EXPECT_EQ(spec->routes[1].method, "ANY");
  EXPECT_EQ(spec->title, "t");
}

TEST(OpenApiImport, IntegrationUriForms) {
  auto a = parse_integration_uri(
      "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
      "arn:aws:lambda:us-east-1:000000000000:function:fn:live/invocations");
  ASSERT_TRUE(a.ok()) << a.error();
  EXPECT_EQ(a->function, "fn");
  EXPECT_EQ(a->qualifier, "live");
  auto b = parse_integration_uri(
      "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/plain/invocations");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->function, "plain");
  EXPECT_FALSE(parse_integration_uri("https://example.com/").ok());
  EXPECT_FALSE(
      parse_integration_uri("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
                            "arn:aws:lambda:us-east-1:0:function:${stageVariables.fn}/invocations")
          .ok());
}

TEST(OpenApiImport, HttpApiDefaultsTo2_0AndTimeout) {
  std::string o = std::string(R"({"x-amazon-apigateway-integration":{"type":"aws_proxy","uri":")") +
                  kUri + R"(","timeoutInMillis":1500}})";
  auto spec = import_openapi(doc(R"({"/a":{"get":)" + o + "}}"), ApiKind::kHttp);
  ASSERT_TRUE(spec.ok()) << spec.error();
  EXPECT_EQ(spec->routes[0].integration.version, PayloadVersion::k2_0);
  EXPECT_EQ(spec->routes[0].integration.timeout_ms, 1500);
  // REST APIs have no payload format 2.0.
  std::string v2 =
      std::string(R"({"x-amazon-apigateway-integration":{"type":"aws_proxy","uri":")") + kUri +
      R"(","payloadFormatVersion":"2.0"}})";
  EXPECT_FALSE(import_openapi(doc(R"({"/a":{"get":)" + v2 + "}}"), ApiKind::kRest).ok());
}

TEST(OpenApiImport, ApiKeySecurityCorsAndBinaryTypes) {
  std::string extra =
      R"(,"components":{"securitySchemes":{"api_key":{"type":"apiKey","name":"x-api-key","in":"header"}}},)"
      R"("x-amazon-apigateway-cors":{"allowOrigins":["*"],"allowMethods":["GET"],"maxAge":60},)"
      R"("x-amazon-apigateway-binary-media-types":["image/png"])";
  auto spec =
      import_openapi(doc(R"({"/k":{"get":)" + op(R"(,"security":[{"api_key":[]}])") + "}}", extra),
                     ApiKind::kHttp);
  ASSERT_TRUE(spec.ok()) << spec.error();
  EXPECT_TRUE(spec->routes[0].api_key_required);
  ASSERT_TRUE(spec->cors.has_value());
  EXPECT_EQ(spec->cors->max_age, 60);
  EXPECT_EQ(spec->binary_media_types, std::vector<std::string>{"image/png"});
}

TEST(OpenApiImport, RequestValidatorsModelsAndRequiredParameters) {
  std::string extra =
      R"(,"components":{"schemas":{"Order":{"type":"object","required":["item"],"properties":{"item":{"$ref":"#/components/schemas/Item"}}},"Item":{"type":"string","pattern":"^[a-z]+$"}}},)"
      R"("x-amazon-apigateway-request-validators":{"all":{"validateRequestBody":true,"validateRequestParameters":true},"none":{"validateRequestBody":false,"validateRequestParameters":false}},)"
      R"("x-amazon-apigateway-request-validator":"all")";
  std::string post = op(
      R"(,"parameters":[{"name":"q","in":"query","required":true},{"name":"X-Id","in":"header","required":true},{"name":"opt","in":"query"}],)"
      R"("requestBody":{"content":{"application/json":{"schema":{"$ref":"#/components/schemas/Order"}}}})");
  std::string get = op(R"(,"x-amazon-apigateway-request-validator":"none")");
  auto spec = import_openapi(doc(R"({"/o":{"post":)" + post + R"(,"get":)" + get + "}}", extra),
                             ApiKind::kRest);
  ASSERT_TRUE(spec.ok()) << spec.error();
  auto& r = spec->routes[0];
  EXPECT_TRUE(r.validate_body);
  EXPECT_TRUE(r.validate_parameters);
  EXPECT_EQ(r.required.querystrings, std::vector<std::string>{"q"});
  EXPECT_EQ(r.required.headers, std::vector<std::string>{"X-Id"});
  ASSERT_TRUE(r.body_schema.has_value());
  EXPECT_TRUE(r.body_schema->validate_body(R"({"item":"abc"})").empty());
  EXPECT_FALSE(r.body_schema->validate_body(R"({"item":"ABC"})").empty());
  EXPECT_FALSE(r.body_schema->validate_body(R"({})").empty());
  EXPECT_FALSE(spec->routes[1].validate_body);
  // Swagger 2: a body parameter carries the model; definitions hold the models.
  std::string swagger =
      R"({"swagger":"2.0","info":{"title":"s"},"definitions":{"M":{"type":"object","required":["a"]}},)"
      R"("x-amazon-apigateway-request-validators":{"b":{"validateRequestBody":true}},"paths":{"/s":{"post":)" +
      op(R"(,"x-amazon-apigateway-request-validator":"b","parameters":[{"in":"body","name":"M","schema":{"$ref":"#/definitions/M"}}])") +
      "}}}";
  auto s2 = import_openapi(swagger, ApiKind::kRest);
  ASSERT_TRUE(s2.ok()) << s2.error();
  EXPECT_FALSE(s2->routes[0].body_schema->validate_body("{}").empty());
  // An unknown validator name and a model $ref that does not resolve are refused.
  EXPECT_FALSE(import_openapi(doc(R"({"/o":{"get":)" +
                                      op(R"(,"x-amazon-apigateway-request-validator":"x")") + "}}",
                                  R"(,"x-amazon-apigateway-request-validators":{})"),
                              ApiKind::kRest)
                   .ok());
  EXPECT_FALSE(
      import_openapi(
          doc(R"({"/o":{"post":)" +
              op(R"(,"requestBody":{"content":{"application/json":{"schema":{"$ref":"#/components/schemas/Nope"}}}})") +
              "}}"),
          ApiKind::kRest)
          .ok());
}

TEST(OpenApiImport, LambdaAuthorizers) {
  auto with_scheme = [](const std::string& authorizer, ApiKind kind) {
    std::string extra =
        R"(,"components":{"securitySchemes":{"auth":{"type":"apiKey","name":"Authorization","in":"header",)"
        R"("x-amazon-apigateway-authtype":"custom","x-amazon-apigateway-authorizer":)" +
        authorizer + "}}}";
    return import_openapi(
        doc(R"({"/a":{"get":)" + op(R"(,"security":[{"auth":[]}])") + "}}", extra), kind);
  };
  std::string fn = std::string(R"("authorizerUri":")") + kUri + "\"";
  auto token = with_scheme(
      R"({"type":"token",)" + fn +
          R"(,"identitySource":"method.request.header.Authorization","identityValidationExpression":"^Bearer .+$"})",
      ApiKind::kRest);
  ASSERT_TRUE(token.ok()) << token.error();
  EXPECT_EQ(token->routes[0].authorizer, "auth");
  auto& a = token->authorizers.at("auth");
  EXPECT_TRUE(a.token);
  EXPECT_EQ(a.function, "echo");
  EXPECT_EQ(a.ttl_seconds, 300);
  EXPECT_EQ(a.identity_sources, std::vector<std::string>{"header:authorization"});
  ASSERT_TRUE(a.token_pattern);
  EXPECT_TRUE(std::regex_match("Bearer x", *a.token_pattern));
  auto request = with_scheme(
      R"({"type":"request",)" + fn +
          R"(,"identitySource":["$request.header.Authorization"],"authorizerPayloadFormatVersion":"2.0","enableSimpleResponses":true})",
      ApiKind::kHttp);
  ASSERT_TRUE(request.ok()) << request.error();
  EXPECT_TRUE(request->authorizers.at("auth").simple_responses);
  EXPECT_EQ(request->authorizers.at("auth").ttl_seconds, 0);
  // TOKEN authorizers are REST-only; simple responses need payload 2.0.
  EXPECT_FALSE(with_scheme(R"({"type":"token",)" + fn + "}", ApiKind::kHttp).ok());
  EXPECT_FALSE(
      with_scheme(
          R"({"type":"request",)" + fn +
              R"(,"identitySource":["$request.header.A"],"authorizerPayloadFormatVersion":"1.0","enableSimpleResponses":true})",
          ApiKind::kHttp)
          .ok());
}

// What cannot be served is refused with a message naming it.
TEST(OpenApiImport, RefusesWhatItCannotServe) {
  auto refused = [](const std::string& body, ApiKind kind, const std::string& mentions) {
    auto r = import_openapi(body, kind);
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_NE(r.error().find(mentions), std::string::npos) << r.error();
  };
  refused("not json", ApiKind::kRest, "JSON");
  refused(R"({"info":{}})", ApiKind::kRest, "openapi");
  refused(doc(R"({"/a":{"get":)" + op() + "}}", R"(,"x-amazon-apigateway-gateway-responses":{})"),
          ApiKind::kRest, "x-amazon-apigateway-gateway-responses");
  refused(
      doc(R"({"/a":{"get":{"x-amazon-apigateway-integration":{"type":"http","uri":"http://x"}}}})"),
      ApiKind::kRest, "integration type");
  refused(doc(R"({"/a":{"get":{}}})"), ApiKind::kRest,
          "x-amazon-apigateway-integration is missing");
  refused(doc(R"({"/a":{"get":)" + op(R"(,"x-amazon-apigateway-request-validator":"all")") + "}}"),
          ApiKind::kRest, "x-amazon-apigateway-request-validator");
  refused(doc(R"({"/a":{"get":)" + op() + "}}", R"(,"x-amazon-apigateway-request-validators":{})"),
          ApiKind::kHttp, "REST APIs only");
  refused(doc(R"({"/a":{"get":)" + op(R"(,"security":[{"nope":[]}])") + "}}"), ApiKind::kRest,
          "nope");
  refused(
      doc(R"({"/a":{"get":)" + op() + "}}",
          R"(,"components":{"securitySchemes":{"auth":{"type":"apiKey","name":"Authorization","in":"header","x-amazon-apigateway-authtype":"custom","x-amazon-apigateway-authorizer":{"type":"token"}}}})"),
      ApiKind::kRest, "authorizerUri is missing");
  refused(doc(R"({"/a":{"get":)" + op() + R"(},"/{x}":{"get":)" + op() + R"(},"/{y}":{"get":)" +
              op() + "}}"),
          ApiKind::kRest, "");
  refused(doc(R"({"/a":{"get":)" + op() + "}}",
              R"(,"x-amazon-apigateway-cors":{"allowOrigins":["*"],"allowCredentials":true})"),
          ApiKind::kHttp, "x-amazon-apigateway-cors");
}

// The integration's cacheKeyParameters and cacheNamespace (REST APIs only);
// a path key parameter must be a variable of the path.
TEST(OpenApiImport, CacheKeyParameters) {
  std::string keyed = op().substr(0, op().size() - 2) +
                      R"(,"cacheNamespace":"ns","cacheKeyParameters":["method.request.path.id",)"
                      R"("method.request.querystring.color","method.request.header.Accept"]}})";
  auto spec = import_openapi(doc(R"({"/users/{id}":{"get":)" + keyed + "}}"), ApiKind::kRest);
  ASSERT_TRUE(spec.ok()) << spec.error();
  const auto& r = spec->routes[0];
  EXPECT_EQ(r.cache_namespace, "ns");
  ASSERT_EQ(r.cache_key_parameters.size(), 3u);
  EXPECT_EQ(r.cache_key_parameters[0], (CacheKeyParameter{CacheKeyParameter::Source::kPath, "id"}));
  EXPECT_EQ(r.cache_key_parameters[2],
            (CacheKeyParameter{CacheKeyParameter::Source::kHeader, "Accept"}));
  auto bad_path = import_openapi(doc(R"({"/users":{"get":)" + keyed + "}}"), ApiKind::kRest);
  ASSERT_FALSE(bad_path.ok());
  EXPECT_NE(bad_path.error().find("not a parameter of the path /users"), std::string::npos);
  EXPECT_FALSE(
      import_openapi(doc(R"({"/users/{id}":{"get":)" + keyed + "}}"), ApiKind::kHttp).ok());
  std::string odd =
      op().substr(0, op().size() - 2) + R"(,"cacheKeyParameters":["method.request.body.x"]}})";
  EXPECT_FALSE(import_openapi(doc(R"({"/u":{"get":)" + odd + "}}"), ApiKind::kRest).ok());
}

}  // namespace
}  // namespace nimbus::services::apigateway
