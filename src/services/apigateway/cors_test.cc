#include "services/apigateway/cors.h"

#include <gtest/gtest.h>

namespace nimbus::services::apigateway {
namespace {

http::Request preflight(std::string origin, std::string method, std::string headers = {}) {
  http::Request r;
  r.method = "OPTIONS";
  r.path = "/orders";
  r.headers.add("Origin", std::move(origin));
  r.headers.add("Access-Control-Request-Method", std::move(method));
  if (!headers.empty()) r.headers.add("Access-Control-Request-Headers", std::move(headers));
  return r;
}

CorsConfig http_cors() {
  CorsConfig c;
  c.kind = ApiKind::kHttp;
  c.allow_origins = {"https://app.example.com", "https://*.example.org"};
  c.allow_methods = {"GET", "POST"};
  c.allow_headers = {"Content-Type", "X-Api-Key"};
  c.expose_headers = {"X-Request-Id"};
  c.max_age = 600;
  c.allow_credentials = true;
  return c;
}

TEST(CorsPreflight, Detection) {
  EXPECT_TRUE(is_preflight(preflight("https://a", "GET")));
  http::Request plain;
  plain.method = "OPTIONS";
  plain.headers.add("Origin", "https://a");
  EXPECT_FALSE(is_preflight(plain));  // no Access-Control-Request-Method: a normal OPTIONS
  auto get = preflight("https://a", "GET");
  get.method = "GET";
  EXPECT_FALSE(is_preflight(get));
}

// HTTP APIs answer preflights themselves with 204 and the configured values,
// echoing an allowed origin.
TEST(CorsPreflight, HttpApiAllowed) {
  auto r =
      preflight_response(http_cors(), preflight("https://app.example.com", "POST", "content-type"));
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(r.headers.get_or("Access-Control-Allow-Origin"), "https://app.example.com");
  EXPECT_EQ(r.headers.get_or("Access-Control-Allow-Methods"), "GET,POST");
  EXPECT_EQ(r.headers.get_or("Access-Control-Allow-Headers"), "Content-Type,X-Api-Key");
  EXPECT_EQ(r.headers.get_or("Access-Control-Max-Age"), "600");
  EXPECT_EQ(r.headers.get_or("Access-Control-Allow-Credentials"), "true");
  // Wildcard subdomain origins.
  auto w = preflight_response(http_cors(), preflight("https://a.b.example.org", "GET"));
  EXPECT_EQ(w.headers.get_or("Access-Control-Allow-Origin"), "https://a.b.example.org");
}

// An origin, method or header that is not allowed gets a preflight answer with
// no CORS headers, so the browser blocks the request.
TEST(CorsPreflight, HttpApiRefused) {
  for (auto req : {preflight("https://evil.com", "GET"), preflight("https://example.org", "GET"),
                   preflight("https://app.example.com", "DELETE"),
                   preflight("https://app.example.com", "GET", "X-Other")}) {
    auto r = preflight_response(http_cors(), req);
    EXPECT_EQ(r.status, 204);
    EXPECT_FALSE(r.headers.get("Access-Control-Allow-Origin"));
  }
}

TEST(CorsPreflight, HttpApiWildcards) {
  CorsConfig c;
  c.kind = ApiKind::kHttp;
  c.allow_origins = {"*"};
  c.allow_methods = {"*"};
  c.allow_headers = {"*"};
  auto r = preflight_response(c, preflight("https://x.test", "PATCH", "X-Anything"));
  EXPECT_EQ(r.headers.get_or("Access-Control-Allow-Origin"), "*");
  EXPECT_EQ(r.headers.get_or("Access-Control-Allow-Methods"), "*");
  EXPECT_FALSE(r.headers.get("Access-Control-Allow-Credentials"));
}

// SAM `Cors` on a REST API: the mock OPTIONS integration answers 200 with the
// configured AllowOrigin as is, whatever the request's Origin.
TEST(CorsPreflight, RestSamMock) {
  CorsConfig c;
  c.kind = ApiKind::kRest;
  c.allow_origins = {"*"};
  c.allow_headers = {"Content-Type", "Authorization"};
  auto r = preflight_response(c, preflight("https://anything.test", "PUT"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers.get_or("Access-Control-Allow-Origin"), "*");
  EXPECT_EQ(r.headers.get_or("Access-Control-Allow-Methods"),
            "DELETE,GET,HEAD,OPTIONS,PATCH,POST,PUT");
  EXPECT_EQ(r.headers.get_or("Access-Control-Allow-Headers"), "Content-Type,Authorization");
  EXPECT_FALSE(r.headers.get("Access-Control-Max-Age"));
}

// HTTP APIs replace the integration's CORS headers with the configured ones on
// actual responses; REST responses keep what the function returned.
TEST(CorsResponse, AppliedToActualResponses) {
  http::Request req;
  req.method = "GET";
  req.headers.add("Origin", "https://app.example.com");
  http::Response resp;
  resp.headers.add("Access-Control-Allow-Origin", "https://wrong.example");
  resp.headers.add("access-control-max-age", "1");
  resp.headers.add("X-Kept", "1");
  apply_cors(http_cors(), req, resp);
  EXPECT_EQ(resp.headers.get_or("Access-Control-Allow-Origin"), "https://app.example.com");
  EXPECT_EQ(resp.headers.get_or("Access-Control-Expose-Headers"), "X-Request-Id");
  EXPECT_EQ(resp.headers.get_or("Access-Control-Allow-Credentials"), "true");
  EXPECT_FALSE(resp.headers.get("Access-Control-Max-Age"));
  EXPECT_EQ(resp.headers.get_or("X-Kept"), "1");

  http::Request other;
  other.headers.add("Origin", "https://evil.com");
  http::Response r2;
  r2.headers.add("Access-Control-Allow-Origin", "*");
  apply_cors(http_cors(), other, r2);
  EXPECT_FALSE(r2.headers.get("Access-Control-Allow-Origin"));

  CorsConfig rest;
  rest.kind = ApiKind::kRest;
  rest.allow_origins = {"*"};
  http::Response r3;
  r3.headers.add("Access-Control-Allow-Origin", "https://fn.example");
  apply_cors(rest, req, r3);
  EXPECT_EQ(r3.headers.get_or("Access-Control-Allow-Origin"), "https://fn.example");
}

TEST(CorsConfig, Validation) {
  EXPECT_TRUE(validate(http_cors()).ok());
  CorsConfig c = http_cors();
  c.allow_origins = {"*"};
  EXPECT_FALSE(validate(c).ok());  // credentials with a wildcard origin
  c.allow_credentials = false;
  EXPECT_TRUE(validate(c).ok());
  c.max_age = -1;
  EXPECT_FALSE(validate(c).ok());
  CorsConfig rest;
  rest.kind = ApiKind::kRest;
  rest.allow_origins = {"https://a", "https://b"};
  EXPECT_FALSE(validate(rest).ok());
}

}  // namespace
}  // namespace nimbus::services::apigateway
