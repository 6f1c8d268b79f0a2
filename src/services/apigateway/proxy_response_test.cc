#include "services/apigateway/proxy_response.h"

#include <gtest/gtest.h>

namespace nimbus::services::apigateway {
namespace {

std::vector<std::string> values(const http::Headers& h, std::string_view name) {
  std::vector<std::string> out;
  for (const auto& [k, v] : h.all())
    if (http::iequals(k, name)) out.push_back(v);
  return out;
}

ResponseOptions rest() {
  return ResponseOptions{ApiKind::kRest, PayloadVersion::k1_0, {}, {}};
}
ResponseOptions http_v2() {
  return ResponseOptions{ApiKind::kHttp, PayloadVersion::k2_0, {}, {}};
}

// 1.0 output format: statusCode, headers, multiValueHeaders, body, isBase64Encoded.
TEST(ProxyResponseV1, MapsTheResult) {
  auto r = parse_result_v1(R"({"statusCode": 201, "headers": {"X-One": "1", "X-Num": 5},
      "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]}, "body": "created"})");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->body, "created");
  EXPECT_EQ(r->headers.get_or("X-One"), "1");
  EXPECT_EQ(r->headers.get_or("X-Num"), "5");
  EXPECT_EQ(values(r->headers, "Set-Cookie"), (std::vector<std::string>{"a=1", "b=2"}));
  // REST APIs answer application/json when the function sets no Content-Type.
  EXPECT_EQ(r->headers.get_or("Content-Type"), "application/json");
}

// "If the same key-value pair is specified in both, only the values from
// multiValueHeaders will appear in the merged list."
TEST(ProxyResponseV1, MultiValueHeadersWin) {
  auto r = parse_result_v1(R"({"statusCode": 200, "headers": {"X-A": "single", "X-B": "b"},
      "multiValueHeaders": {"X-A": ["m1", "m2"]}})");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(values(r->headers, "X-A"), (std::vector<std::string>{"m1", "m2"}));
  EXPECT_EQ(r->headers.get_or("X-B"), "b");
  EXPECT_EQ(r->body, "");
}

// "If the function output is of a different format, API Gateway returns a 502
// Bad Gateway error response."
TEST(ProxyResponseV1, MalformedResultsAreRefused) {
  for (const char* bad : {"", "not json", "\"text\"", "[1]", "null", R"({"body": "x"})",
                          R"({"statusCode": "200"})", R"({"statusCode": 200.5})",
                          R"({"statusCode": 42})", R"({"statusCode": 200, "body": {"a": 1}})",
                          R"({"statusCode": 200, "headers": {"a": {"b": 1}}})",
                          R"({"statusCode": 200, "multiValueHeaders": {"a": "b"}})",
                          R"({"statusCode": 200, "isBase64Encoded": "yes"})",
                          R"({"statusCode": 200, "cookies": ["a=1"]})",
                          R"({"statusCode": 200, "isBase64Encoded": true, "body": "!!"})"})
    EXPECT_FALSE(parse_result_v1(bad).ok()) << bad;
  auto resp = to_http_response(InvokeStatus::kOk, R"({"body": "x"})", rest());
  EXPECT_EQ(resp.status, 502);
  EXPECT_EQ(resp.body, R"({"message": "Internal server error"})");
}

// REST: a base64 body becomes bytes only when the request's Accept matches
// binaryMediaTypes; otherwise the client receives the base64 text.
TEST(ProxyResponseV1, Base64BodyFollowsAccept) {
  auto opts = rest();
  opts.binary_media_types = {"image/*"};
  const char* result = R"({"statusCode": 200, "isBase64Encoded": true, "body": "aGVsbG8=",
      "headers": {"Content-Type": "image/png"}})";
  opts.accept = "text/html, image/png;q=0.9";
  EXPECT_EQ(to_http_response(InvokeStatus::kOk, result, opts).body, "hello");
  opts.accept = "text/html";
  EXPECT_EQ(to_http_response(InvokeStatus::kOk, result, opts).body, "aGVsbG8=");
  // HTTP APIs with payload 1.0 always decode.
  ResponseOptions http_v1{ApiKind::kHttp, PayloadVersion::k1_0, {}, {}};
  EXPECT_EQ(to_http_response(InvokeStatus::kOk, result, http_v1).body, "hello");
}

// Function errors and timeouts: REST 502 / 504, HTTP APIs 500 / 503.
TEST(ProxyResponse, GatewayErrors) {
  auto e = to_http_response(InvokeStatus::kFunctionError, R"({"errorMessage":"boom"})", rest());
  EXPECT_EQ(e.status, 502);
  EXPECT_EQ(e.body, R"({"message": "Internal server error"})");
  auto t = to_http_response(InvokeStatus::kTimeout, "", rest());
  EXPECT_EQ(t.status, 504);
  EXPECT_EQ(t.body, R"({"message": "Endpoint request timed out"})");
  auto he = to_http_response(InvokeStatus::kFunctionError, "{}", http_v2());
  EXPECT_EQ(he.status, 500);
  EXPECT_EQ(he.body, R"({"message":"Internal Server Error"})");
  auto ht = to_http_response(InvokeStatus::kTimeout, "", http_v2());
  EXPECT_EQ(ht.status, 503);
  EXPECT_EQ(ht.body, R"({"message":"Service Unavailable"})");
  EXPECT_EQ(ht.headers.get_or("Content-Type"), "application/json");
  // No matching route: REST 403 Missing Authentication Token, HTTP APIs 404 Not Found.
  auto nr = no_route_response(ApiKind::kRest);
  EXPECT_EQ(nr.status, 403);
  EXPECT_EQ(nr.body, R"({"message":"Missing Authentication Token"})");
  EXPECT_EQ(nr.headers.get_or("x-amzn-ErrorType"), "MissingAuthenticationTokenException");
  auto nh = no_route_response(ApiKind::kHttp);
  EXPECT_EQ(nh.status, 404);
  EXPECT_EQ(nh.body, R"({"message":"Not Found"})");
}

// 2.0: a result without statusCode is inferred: 200, application/json, the
// result as body ("Hello from Lambda!" -> body Hello from Lambda!).
TEST(ProxyResponseV2, InfersFormat) {
  auto s = parse_result_v2(R"("Hello from Lambda!")");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->status, 200);
  EXPECT_EQ(s->body, "Hello from Lambda!");
  EXPECT_EQ(s->headers.get_or("Content-Type"), "application/json");
  auto o = parse_result_v2(R"({ "message": "Hello from Lambda!" })");
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->status, 200);
  EXPECT_EQ(o->body, R"({ "message": "Hello from Lambda!" })");
  for (const char* v : {"42", "null", "[1,2]", "true"}) {
    auto r = parse_result_v2(v);
    ASSERT_TRUE(r.ok()) << v;
    EXPECT_EQ(r->body, v);
  }
  EXPECT_FALSE(parse_result_v2("not json").ok());
  EXPECT_EQ(to_http_response(InvokeStatus::kOk, "not json", http_v2()).status, 500);
}

// 2.0 with statusCode: cookies become Set-Cookie headers; base64 bodies are decoded.
TEST(ProxyResponseV2, StructuredResult) {
  auto r = parse_result_v2(R"({"statusCode": 302, "cookies": ["a=1; Path=/", "b=2"],
      "headers": {"Location": "/next"}, "body": "aGk=", "isBase64Encoded": true})");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->status, 302);
  EXPECT_EQ(values(r->headers, "Set-Cookie"), (std::vector<std::string>{"a=1; Path=/", "b=2"}));
  EXPECT_EQ(r->headers.get_or("Location"), "/next");
  EXPECT_EQ(r->body, "hi");
  EXPECT_FALSE(parse_result_v2(R"({"statusCode": "ok"})").ok());
  EXPECT_FALSE(parse_result_v2(R"({"statusCode": 200, "cookies": "a=1"})").ok());
  EXPECT_FALSE(parse_result_v2(R"({"statusCode": 200, "body": 5})").ok());
}

}  // namespace
}  // namespace nimbus::services::apigateway
