#include "services/apigateway/proxy_event.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "base/text.h"

namespace nimbus::services::apigateway {
namespace {

namespace json = boost::json;

http::Request request(std::string method, std::string path, std::string query = {}) {
  http::Request r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.query = std::move(query);
  r.target = r.path + (r.query.empty() ? "" : "?" + r.query);
  return r;
}

EventContext context() {
  EventContext c;
  c.api_id = "abc123";
  c.account_id = "123456789012";
  c.stage = "Prod";
  c.request_id = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef";
  c.source_ip = "127.0.0.1";
  c.epoch_ms = 1428582896000;  // 2015-04-09T12:34:56Z
  return c;
}

// Adds "Name: value" lines, in order.
void add_headers(http::Request& r, std::string_view lines) {
  for (std::string_view line : split(lines, '\n')) {
    auto colon = line.find(": ");
    r.headers.add(std::string(line.substr(0, colon)), std::string(line.substr(colon + 2)));
  }
}

// The event text, parsed to check its fields.
json::object parsed(const std::string& event) {
  return json::parse(event).as_object();
}

RouteMatch match_of(std::string method, std::string path, PathParams params = {}) {
  return RouteMatch{Route{std::move(method), std::move(path), "fn"}, std::move(params), "abc123",
                    ApiKind::kRest};
}

// requestTime / time use the CLF form "09/Apr/2015:12:34:56 +0000".
TEST(ProxyEventTime, ClfFormat) {
  EXPECT_EQ(clf_time(1428582896000), "09/Apr/2015:12:34:56 +0000");
  EXPECT_EQ(clf_time(1584039838390), "12/Mar/2020:19:03:58 +0000");
  EXPECT_EQ(clf_time(0), "01/Jan/1970:00:00:00 +0000");
  EXPECT_EQ(clf_time(951782400000), "29/Feb/2000:00:00:00 +0000");
  EXPECT_EQ(clf_time(-1000), "31/Dec/1969:23:59:59 +0000");
}

// Payload 1.0 (REST Api events): every top-level key AWS sends, in its order,
// with null for absent query strings, path parameters, stage variables and body.
TEST(ProxyEventV1, RestShapeWithNulls) {
  auto req = request("GET", "/orders");
  req.headers.add("Host", "localhost:3000");
  req.headers.add("User-Agent", "curl/8.0");
  auto ev = parsed(build_event_v1(req, match_of("GET", "/orders"), context()));
  std::vector<std::string> keys;
  for (const auto& [k, _] : ev) keys.emplace_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{
                      "resource", "path", "httpMethod", "headers", "multiValueHeaders",
                      "queryStringParameters", "multiValueQueryStringParameters", "pathParameters",
                      "stageVariables", "requestContext", "body", "isBase64Encoded"}));
  EXPECT_EQ(ev["resource"], "/orders");
  EXPECT_EQ(ev["path"], "/orders");
  EXPECT_EQ(ev["httpMethod"], "GET");
  EXPECT_TRUE(ev["queryStringParameters"].is_null());
  EXPECT_TRUE(ev["multiValueQueryStringParameters"].is_null());
  EXPECT_TRUE(ev["pathParameters"].is_null());
  EXPECT_TRUE(ev["stageVariables"].is_null());
  EXPECT_TRUE(ev["body"].is_null());
  EXPECT_EQ(ev["isBase64Encoded"], false);
  EXPECT_EQ(ev["headers"].at("User-Agent"), "curl/8.0");

  const auto& rc = ev["requestContext"].as_object();
  EXPECT_EQ(rc.at("accountId"), "123456789012");
  EXPECT_EQ(rc.at("apiId"), "abc123");
  EXPECT_FALSE(rc.contains("authorizer"));
  EXPECT_EQ(rc.at("domainName"), "localhost");  // from Host, without the port
  EXPECT_EQ(rc.at("domainPrefix"), "localhost");
  EXPECT_EQ(rc.at("extendedRequestId"), "c6af9ac6-7b61-11e6-9a41-93e8deadbeef");
  EXPECT_EQ(rc.at("httpMethod"), "GET");
  EXPECT_EQ(rc.at("path"), "/Prod/orders");  // the stage is part of requestContext.path
  EXPECT_EQ(rc.at("protocol"), "HTTP/1.1");
  EXPECT_EQ(rc.at("requestTime"), "09/Apr/2015:12:34:56 +0000");
  EXPECT_EQ(rc.at("requestTimeEpoch"), 1428582896000);
  // Without an id from the caller: the one GetResources reports for /orders.
  EXPECT_EQ(rc.at("resourceId").as_string(), rest_resource_id("abc123", "/orders"));
  EXPECT_EQ(rc.at("resourceId").as_string().size(), 10u);
  EXPECT_EQ(rc.at("resourcePath"), "/orders");
  EXPECT_EQ(rc.at("stage"), "Prod");
  const auto& id = rc.at("identity").as_object();
  EXPECT_EQ(id.at("sourceIp"), "127.0.0.1");
  EXPECT_EQ(id.at("userAgent"), "curl/8.0");
  for (const char* k : {"accessKey", "accountId", "caller", "cognitoAuthenticationProvider",
                        "cognitoAuthenticationType", "cognitoIdentityId", "cognitoIdentityPoolId",
                        "principalOrgId", "user", "userArn"})
    EXPECT_TRUE(id.at(k).is_null()) << k;
}

// 1.0 keeps each name twice: the last value in headers / queryStringParameters
// and all values in the multiValue* maps (AWS doc: multivalueName -> "me", ["you","me"]).
TEST(ProxyEventV1, MultiValueHeadersAndQuery) {
  auto req = request("POST", "/hello/world", "name=me&multivalueName=you&multivalueName=me&e");
  req.headers.add("Accept", "text/html");
  req.headers.add("accept", "application/json");
  req.headers.add("headerName", "headerValue");
  auto ev = parsed(
      build_event_v1(req, match_of("ANY", "/{proxy+}", {{"proxy", "hello/world"}}), context()));
  EXPECT_EQ(ev["queryStringParameters"].at("name"), "me");
  EXPECT_EQ(ev["queryStringParameters"].at("multivalueName"), "me");
  EXPECT_EQ(ev["queryStringParameters"].at("e"), "");
  EXPECT_EQ(json::serialize(ev["multiValueQueryStringParameters"].at("multivalueName")),
            R"(["you","me"])");
  EXPECT_EQ(ev["headers"].at("Accept"), "application/json");
  EXPECT_EQ(json::serialize(ev["multiValueHeaders"].at("Accept")),
            R"(["text/html","application/json"])");
  EXPECT_EQ(ev["headers"].at("headerName"), "headerValue");  // names keep their case
  EXPECT_EQ(ev["pathParameters"].at("proxy"), "hello/world");
  EXPECT_EQ(ev["resource"], "/{proxy+}");
  EXPECT_EQ(ev["httpMethod"], "POST");  // the request's method, not ANY
  EXPECT_EQ(ev["requestContext"].at("resourcePath"), "/{proxy+}");
}

TEST(ProxyEventV1, StageVariablesAuthorizerAndIds) {
  auto ctx = context();
  ctx.stage_variables = {{"stageVariableName", "stageVariableValue"}};
  ctx.authorizer = json::object{{"principalId", "user-1"}, {"tenant", "t1"}};
  ctx.extended_request_id = "BQGojGc8vHcFx9A=";
  ctx.resource_id = "roq9wj";
  ctx.domain_name = "abc123.execute-api.us-east-1.amazonaws.com";
  auto ev = parsed(build_event_v1(request("GET", "/"), match_of("GET", "/"), ctx));
  EXPECT_EQ(ev["stageVariables"].at("stageVariableName"), "stageVariableValue");
  const auto& rc = ev["requestContext"].as_object();
  EXPECT_EQ(rc.at("authorizer").at("principalId"), "user-1");
  EXPECT_EQ(rc.at("extendedRequestId"), "BQGojGc8vHcFx9A=");
  EXPECT_EQ(rc.at("resourceId"), "roq9wj");
  EXPECT_EQ(rc.at("domainPrefix"), "abc123");
  EXPECT_EQ(rc.at("path"), "/Prod/");
  EXPECT_TRUE(rc.at("identity").at("userAgent").is_null());  // no User-Agent header
  EXPECT_TRUE(ev["headers"].is_null());                      // no headers at all
}

// The exact text of one REST event with most of what varies: a repeated
// header name in two spellings, a repeated query key, a percent-encoded and a
// bare query value, path parameters, stage variables, an authorizer and a
// binary body. Captured from the boost::json::object builder the text writer
// replaced, so the two agree byte for byte (key order, escaping, numbers).
TEST(ProxyEventV1, ExactRestText) {
  auto req = request("POST", "/orders/42", "tag=a&tag=b&x=1%202&flag");
  add_headers(req,
              "Host: api.example.com:8443\n"
              "User-Agent: curl/8.0\n"
              "Accept: text/html\n"
              "X-Trace: t1\n"
              "accept: application/json\n"
              "Content-Type: image/png");
  req.body = std::string("\x89PNG\r\n\x1a\n", 8);
  auto ctx = context();
  ctx.stage_variables = {{"env", "prod"}, {"table", "orders"}};
  ctx.authorizer =
      json::object{{"principalId", "user-1"}, {"tenant", "t1"}, {"integrationLatency", 0}};
  ctx.binary_media_types = {"image/*"};
  ctx.resource_id = "roq9wj";
  EXPECT_EQ(
      build_event_v1(req, match_of("POST", "/orders/{id}", {{"id", "42"}}), ctx),
      R"json({"resource":"/orders/{id}","path":"/orders/42","httpMethod":"POST",)json"
      R"json("headers":{"Host":"api.example.com:8443","User-Agent":"curl/8.0",)json"
      R"json("Accept":"application/json","X-Trace":"t1","Content-Type":"image/png"},)json"
      R"json("multiValueHeaders":{"Host":["api.example.com:8443"],"User-Agent":["curl/8.0"],)json"
      R"json("Accept":["text/html","application/json"],"X-Trace":["t1"],)json"
      R"json("Content-Type":["image/png"]},"queryStringParameters":{"tag":"b","x":"1 2",)json"
      R"json("flag":""},"multiValueQueryStringParameters":{"tag":["a","b"],"x":["1 2"],)json"
      R"json("flag":[""]},"pathParameters":{"id":"42"},"stageVariables":{"env":"prod",)json"
      R"json("table":"orders"},"requestContext":{"accountId":"123456789012","apiId":"abc123",)json"
      R"json("authorizer":{"principalId":"user-1","tenant":"t1","integrationLatency":0},)json"
      R"json("domainName":"api.example.com","domainPrefix":"api",)json"
      R"json("extendedRequestId":"c6af9ac6-7b61-11e6-9a41-93e8deadbeef","httpMethod":"POST",)json"
      R"json("identity":{"accessKey":null,"accountId":null,"caller":null,)json"
      R"json("cognitoAuthenticationProvider":null,"cognitoAuthenticationType":null,)json"
      R"json("cognitoIdentityId":null,"cognitoIdentityPoolId":null,"principalOrgId":null,)json"
      R"json("sourceIp":"127.0.0.1","user":null,"userAgent":"curl/8.0","userArn":null},)json"
      R"json("path":"/Prod/orders/42","protocol":"HTTP/1.1",)json"
      R"json("requestId":"c6af9ac6-7b61-11e6-9a41-93e8deadbeef",)json"
      R"json("requestTime":"09/Apr/2015:12:34:56 +0000","requestTimeEpoch":1428582896000,)json"
      R"json("resourceId":"roq9wj","resourcePath":"/orders/{id}","stage":"Prod"},)json"
      R"json("body":"iVBORw0KGgo=","isBase64Encoded":true})json");
}

// Control characters, quotes, backslashes, '/', DEL and UTF-8 in a header
// value and a body: escaped as boost::json::serialize escapes them (short forms
// where JSON has one, else \u00xx in lower-case hex), everything else verbatim.
http::Request escaping_request() {
  auto req = request("POST", "/e");
  req.headers.add("X-Esc", "q\"b\\s/\x01\x1f\t\n\r\b\f\x0b\x7f \xc3\xbc \xf0\x9f\x98\x80");
  req.headers.add("Content-Type", "application/json");
  req.body = "{\"k\":\"\xe2\x80\xa8 \xc3\xbc \\\"x\\\" \\\\\"}\n\t\x02";
  return req;
}

TEST(ProxyEvent, EscapingInHeadersAndBodies) {
  const std::string value = R"("q\"b\\s/\u0001\u001f\t\n\r\b\f\u000b)"
                            "\x7f \xc3\xbc \xf0\x9f\x98\x80\"";
  const std::string body = R"("{\"k\":\")"
                           "\xe2\x80\xa8 \xc3\xbc "
                           R"(\\\"x\\\" \\\\\"}\n\t\u0002")";
  auto req = escaping_request();
  EXPECT_EQ(json::serialize(json::string(req.headers.all()[0].second)), value);
  EXPECT_EQ(json::serialize(json::string(req.body)), body);

  std::string v1 = build_event_v1(req, match_of("POST", "/e"), context());
  EXPECT_NE(v1.find(R"("headers":{"X-Esc":)" + value + ","), std::string::npos) << v1;
  EXPECT_NE(v1.find(R"("multiValueHeaders":{"X-Esc":[)" + value + "],"), std::string::npos) << v1;
  EXPECT_NE(v1.find(R"("body":)" + body + ","), std::string::npos) << v1;
  EXPECT_EQ(
      v1,
      R"json({"resource":"/e","path":"/e","httpMethod":"POST",)json"
      R"json("headers":{"X-Esc":"q\"b\\s/\u0001\u001f\t\n\r\b\f\u000b)json"
      "\x7f \xc3\xbc \xf0\x9f\x98\x80"
      R"json(","Content-Type":"application/json"},)json"
      R"json("multiValueHeaders":{"X-Esc":["q\"b\\s/\u0001\u001f\t\n\r\b\f\u000b)json"
      "\x7f \xc3\xbc \xf0\x9f\x98\x80"
      R"json("],"Content-Type":["application/json"]},"queryStringParameters":null,)json"
      R"json("multiValueQueryStringParameters":null,"pathParameters":null,)json"
      R"json("stageVariables":null,"requestContext":{"accountId":"123456789012",)json"
      R"json("apiId":"abc123","domainName":"localhost","domainPrefix":"localhost",)json"
      R"json("extendedRequestId":"c6af9ac6-7b61-11e6-9a41-93e8deadbeef","httpMethod":"POST",)json"
      R"json("identity":{"accessKey":null,"accountId":null,"caller":null,)json"
      R"json("cognitoAuthenticationProvider":null,"cognitoAuthenticationType":null,)json"
      R"json("cognitoIdentityId":null,"cognitoIdentityPoolId":null,"principalOrgId":null,)json"
      R"json("sourceIp":"127.0.0.1","user":null,"userAgent":null,"userArn":null},)json"
      R"json("path":"/Prod/e","protocol":"HTTP/1.1",)json"
      R"json("requestId":"c6af9ac6-7b61-11e6-9a41-93e8deadbeef",)json"
      R"json("requestTime":"09/Apr/2015:12:34:56 +0000","requestTimeEpoch":1428582896000,)json"
      R"json("resourceId":"d1fff3d1d9","resourcePath":"/e","stage":"Prod"},"body":"{\"k\":\")json"
      "\xe2\x80\xa8 \xc3\xbc"
      R"json( \\\"x\\\" \\\\\"}\n\t\u0002","isBase64Encoded":false})json");
  auto ctx = context();
  ctx.stage = "$default";
  std::string v2 = build_event_v2(req, match_of("POST", "/e"), ctx);
  EXPECT_NE(v2.find(R"("headers":{"x-esc":)" + value + ","), std::string::npos) << v2;
  EXPECT_EQ(
      v2, R"json({"version":"2.0","routeKey":"POST /e","rawPath":"/e","rawQueryString":"",)json"
          R"json("headers":{"x-esc":"q\"b\\s/\u0001\u001f\t\n\r\b\f\u000b)json"
          "\x7f \xc3\xbc \xf0\x9f\x98\x80"
          R"json(","content-type":"application/json"},)json"
          R"json("requestContext":{"accountId":"123456789012","apiId":"abc123",)json"
          R"json("domainName":"localhost","domainPrefix":"localhost","http":{"method":"POST",)json"
          R"json("path":"/e","protocol":"HTTP/1.1","sourceIp":"127.0.0.1","userAgent":""},)json"
          R"json("requestId":"c6af9ac6-7b61-11e6-9a41-93e8deadbeef","routeKey":"POST /e",)json"
          R"json("stage":"$default","time":"09/Apr/2015:12:34:56 +0000",)json"
          R"json("timeEpoch":1428582896000},"body":"{\"k\":\")json"
          "\xe2\x80\xa8 \xc3\xbc"
          R"json( \\\"x\\\" \\\\\"}\n\t\u0002","isBase64Encoded":false})json");
  // Still JSON that reads back to the same strings.
  EXPECT_EQ(parsed(v2)["headers"].at("x-esc").as_string(), req.headers.all()[0].second);
  EXPECT_EQ(parsed(v2)["body"].as_string(), req.body);
}

// 2.0 with cookies from two Cookie headers (empty pieces dropped), a header
// repeated in two spellings, a repeated query key, path parameters, stage
// variables and an authorizer: the exact text.
TEST(ProxyEventV2, ExactTextWithCookies) {
  auto req = request("PUT", "/items/9", "q=1&q=2&r");
  add_headers(req,
              "Host: localhost:3000\n"
              "Cookie: a=1; b=2\n"
              "User-Agent: agent\n"
              "X-Dup: 1\n"
              "cookie:  c=3 ;; \n"
              "x-dup: 2\n"
              "Content-Type: text/plain");
  req.body = "hi";
  auto ctx = context();
  ctx.stage = "$default";
  ctx.stage_variables = {{"v", "1"}};
  ctx.authorizer = json::object{{"lambda", json::object{{"user", "u1"}, {"n", 2}}}};
  EXPECT_EQ(
      build_event_v2(req, match_of("PUT", "/items/{id}", {{"id", "9"}}), ctx),
      R"json({"version":"2.0","routeKey":"PUT /items/{id}","rawPath":"/items/9",)json"
      R"json("rawQueryString":"q=1&q=2&r","cookies":["a=1","b=2","c=3"],)json"
      R"json("headers":{"host":"localhost:3000","user-agent":"agent","x-dup":"1,2",)json"
      R"json("content-type":"text/plain"},"queryStringParameters":{"q":"1,2","r":""},)json"
      R"json("requestContext":{"accountId":"123456789012","apiId":"abc123",)json"
      R"json("authorizer":{"lambda":{"user":"u1","n":2}},"domainName":"localhost",)json"
      R"json("domainPrefix":"localhost","http":{"method":"PUT","path":"/items/9",)json"
      R"json("protocol":"HTTP/1.1","sourceIp":"127.0.0.1","userAgent":"agent"},)json"
      R"json("requestId":"c6af9ac6-7b61-11e6-9a41-93e8deadbeef","routeKey":"PUT /items/{id}",)json"
      R"json("stage":"$default","time":"09/Apr/2015:12:34:56 +0000",)json"
      R"json("timeEpoch":1428582896000},"body":"hi","pathParameters":{"id":"9"},)json"
      R"json("isBase64Encoded":false,"stageVariables":{"v":"1"}})json");
}

// Names given twice in path parameters or stage variables: one member, where
// the name first appeared, with the last value (what json::object's
// operator[] did).
TEST(ProxyEvent, RepeatedMapNamesKeepFirstPlaceAndLastValue) {
  auto ctx = context();
  ctx.stage_variables = {{"a", "1"}, {"b", "2"}, {"a", "3"}};
  auto m = match_of("GET", "/x/{p}", {{"p", "x"}, {"q", "y"}, {"p", "z"}});
  std::string v1 = build_event_v1(request("GET", "/x/x"), m, ctx);
  EXPECT_NE(v1.find(R"("pathParameters":{"p":"z","q":"y"},"stageVariables":{"a":"3","b":"2"},)"),
            std::string::npos)
      << v1;
  std::string v2 = build_event_v2(request("GET", "/x/x"), m, ctx);
  EXPECT_NE(v2.find(R"("pathParameters":{"p":"z","q":"y"},)"), std::string::npos) << v2;
  EXPECT_TRUE(v2.ends_with(R"("stageVariables":{"a":"3","b":"2"}})")) << v2;
}

// REST APIs base64-encode a request body only when its Content-Type matches binaryMediaTypes.
TEST(ProxyEventV1, BinaryMediaTypes) {
  auto ctx = context();
  ctx.binary_media_types = {"image/*", "application/octet-stream"};
  auto req = request("POST", "/up");
  req.body = "hello";
  req.headers.add("Content-Type", "image/png");
  auto ev = parsed(build_event_v1(req, match_of("POST", "/up"), ctx));
  EXPECT_EQ(ev["body"], "aGVsbG8=");
  EXPECT_EQ(ev["isBase64Encoded"], true);

  req.headers.set("Content-Type", "application/json; charset=utf-8");
  req.body = R"({"a": 1})";
  ev = parsed(build_event_v1(req, match_of("POST", "/up"), ctx));
  EXPECT_EQ(ev["body"], R"({"a": 1})");
  EXPECT_EQ(ev["isBase64Encoded"], false);
}

// HTTP APIs with payload 1.0 add "version": "1.0" and have resourceId null.
TEST(ProxyEventV1, HttpApiFlavour) {
  auto ctx = context();
  ctx.stage = "$default";
  auto ev = parsed(
      build_event_v1(request("GET", "/my/path"), match_of("GET", "/my/path"), ctx, ApiKind::kHttp));
  EXPECT_EQ(ev.begin()->key(), "version");
  EXPECT_EQ(ev["version"], "1.0");
  EXPECT_TRUE(ev["requestContext"].at("resourceId").is_null());
  EXPECT_EQ(ev["requestContext"].at("path"), "/my/path");
}

// Payload 2.0: lower-case headers with repeats joined by commas, cookies in their own
// array, query repeats joined by commas, absent fields omitted.
TEST(ProxyEventV2, ShapeAndJoining) {
  auto req = request("POST", "/orders/7", "parameter1=value1&parameter1=value2&parameter2=value");
  req.headers.add("Host", "localhost");
  req.headers.add("Header2", "value1");
  req.headers.add("header2", "value2");
  req.headers.add("User-Agent", "agent");
  req.headers.add("Cookie", "cookie1=a; cookie2=b");
  req.headers.add("Content-Type", "application/json");
  req.body = R"({"x":1})";
  auto ctx = context();
  ctx.stage = "$default";
  auto ev = parsed(build_event_v2(req, match_of("POST", "/orders/{id}", {{"id", "7"}}), ctx));
  EXPECT_EQ(ev["version"], "2.0");
  EXPECT_EQ(ev["routeKey"], "POST /orders/{id}");
  EXPECT_EQ(ev["rawPath"], "/orders/7");
  EXPECT_EQ(ev["rawQueryString"], "parameter1=value1&parameter1=value2&parameter2=value");
  EXPECT_EQ(json::serialize(ev["cookies"]), R"(["cookie1=a","cookie2=b"])");
  EXPECT_EQ(ev["headers"].at("header2"), "value1,value2");
  EXPECT_EQ(ev["headers"].at("user-agent"), "agent");
  EXPECT_FALSE(ev["headers"].as_object().contains("cookie"));
  EXPECT_EQ(ev["queryStringParameters"].at("parameter1"), "value1,value2");
  EXPECT_EQ(ev["queryStringParameters"].at("parameter2"), "value");
  EXPECT_EQ(ev["pathParameters"].at("id"), "7");
  EXPECT_EQ(ev["body"], R"({"x":1})");
  EXPECT_EQ(ev["isBase64Encoded"], false);
  EXPECT_FALSE(ev.contains("stageVariables"));

  const auto& rc = ev["requestContext"].as_object();
  EXPECT_EQ(rc.at("routeKey"), "POST /orders/{id}");
  EXPECT_EQ(rc.at("stage"), "$default");
  EXPECT_EQ(rc.at("time"), "09/Apr/2015:12:34:56 +0000");
  EXPECT_EQ(rc.at("timeEpoch"), 1428582896000);
  EXPECT_EQ(rc.at("http").at("method"), "POST");
  EXPECT_EQ(rc.at("http").at("path"), "/orders/7");
  EXPECT_EQ(rc.at("http").at("protocol"), "HTTP/1.1");
  EXPECT_EQ(rc.at("http").at("sourceIp"), "127.0.0.1");
  EXPECT_EQ(rc.at("http").at("userAgent"), "agent");
  EXPECT_FALSE(rc.contains("authorizer"));
}

TEST(ProxyEventV2, OmitsAbsentFields) {
  auto ctx = context();
  ctx.stage = "dev";
  ctx.stage_variables = {{"v", "1"}};
  ctx.authorizer = json::object{{"lambda", json::object{{"k", "v"}}}};
  auto ev = parsed(
      build_event_v2(request("GET", "/testApi"), RouteMatch{Route{"", "$default", ""}, {}}, ctx));
  EXPECT_EQ(ev["routeKey"], "$default");
  EXPECT_FALSE(ev.contains("cookies"));
  EXPECT_FALSE(ev.contains("queryStringParameters"));
  EXPECT_FALSE(ev.contains("pathParameters"));
  EXPECT_FALSE(ev.contains("body"));
  EXPECT_EQ(ev["isBase64Encoded"], false);
  EXPECT_EQ(ev["stageVariables"].at("v"), "1");
  // On a named stage the raw path carries the stage.
  EXPECT_EQ(ev["rawPath"], "/dev/testApi");
  EXPECT_EQ(ev["requestContext"].at("authorizer").at("lambda").at("k"), "v");
}

// HTTP APIs send text/*, application/json, application/xml and application/javascript
// bodies as text and base64-encode everything else, form posts and a missing
// Content-Type included.
TEST(ProxyEventV2, BinaryDecision) {
  EXPECT_FALSE(is_binary_body(ApiKind::kHttp, "text/plain; charset=utf-8", "x", {}));
  EXPECT_FALSE(is_binary_body(ApiKind::kHttp, "application/json", "x", {}));
  EXPECT_FALSE(is_binary_body(ApiKind::kHttp, "APPLICATION/XML", "x", {}));
  EXPECT_FALSE(is_binary_body(ApiKind::kHttp, "application/javascript", "x", {}));
  EXPECT_TRUE(is_binary_body(ApiKind::kHttp, "application/x-www-form-urlencoded", "a=1", {}));
  EXPECT_TRUE(is_binary_body(ApiKind::kHttp, "", "x", {}));
  EXPECT_TRUE(is_binary_body(ApiKind::kHttp, "application/octet-stream", "x", {}));
  EXPECT_FALSE(is_binary_body(ApiKind::kHttp, "application/octet-stream", "", {}));
  // Not UTF-8: always base64, the event must stay valid JSON.
  EXPECT_TRUE(is_binary_body(ApiKind::kRest, "text/plain", "\xff\xfe", {}));

  auto req = request("POST", "/f");
  req.body = "hello world";
  req.headers.add("Content-Type", "application/octet-stream");
  auto ev = parsed(build_event_v2(req, RouteMatch{Route{"", "$default", ""}, {}}, context()));
  EXPECT_EQ(ev["body"], "aGVsbG8gd29ybGQ=");
  EXPECT_EQ(ev["isBase64Encoded"], true);
}

TEST(ProxyEvent, MediaTypeMatching) {
  std::vector<std::string> types = {"image/*", "application/pdf"};
  EXPECT_TRUE(media_type_matches("image/png", types));
  EXPECT_TRUE(media_type_matches("Application/PDF; q=1", types));
  EXPECT_FALSE(media_type_matches("application/json", types));
  EXPECT_FALSE(media_type_matches("", types));
  std::vector<std::string> all = {"*/*"};
  EXPECT_TRUE(media_type_matches("text/plain", all));
}

TEST(ProxyEvent, Utf8Validation) {
  EXPECT_TRUE(is_valid_utf8("plain"));
  EXPECT_TRUE(is_valid_utf8("j\xC3\xBCrgen \xF0\x9F\x98\x80"));
  EXPECT_FALSE(is_valid_utf8("\xC0\xAF"));          // overlong
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(is_valid_utf8("\xE2\x82"));          // truncated
  EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));  // past U+10FFFF
}

}  // namespace
}  // namespace nimbus::services::apigateway
