#include "services/apigateway/authorizer.h"

#include <gtest/gtest.h>

namespace nimbus::services::apigateway {
namespace {

constexpr const char* kArn = "arn:aws:execute-api:us-east-1:000000000000:abc/Prod/GET/users/7";

AuthPolicy policy(const std::string& statements) {
  auto p = parse_authorizer_result(
      R"({"principalId":"u1","context":{"user_id":"u1","n":3},"policyDocument":{"Version":"2012-10-17","Statement":)" +
          statements + "}}",
      false);
  EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error());
  return p.ok() ? p.value() : AuthPolicy{};
}

TEST(ArnMatch, Wildcards) {
  EXPECT_TRUE(arn_matches(kArn, kArn));
  EXPECT_TRUE(arn_matches("arn:aws:execute-api:us-east-1:000000000000:abc/*", kArn));
  EXPECT_TRUE(arn_matches("arn:aws:execute-api:*:*:abc/*/GET/*", kArn));
  EXPECT_TRUE(arn_matches("arn:aws:execute-api:us-east-1:000000000000:abc/Prod/GET/users/?", kArn));
  EXPECT_FALSE(arn_matches("arn:aws:execute-api:us-east-1:000000000000:abc/Prod/POST/*", kArn));
  EXPECT_FALSE(arn_matches("arn:aws:execute-api:us-east-1:000000000000:abc/Prod/GET/users", kArn));
  EXPECT_TRUE(arn_matches("*", kArn));
}

// An explicit Deny wins over any Allow; no matching Allow is not authorized.
TEST(AuthPolicyEval, AllowDenyAndAbsent) {
  auto allow = policy(
      R"([{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"arn:aws:execute-api:*:*:abc/*"}])");
  EXPECT_EQ(evaluate(allow, kArn), AuthDecision::kAllow);
  EXPECT_EQ(allow.principal_id, "u1");
  EXPECT_EQ(allow.context.at("user_id"), "u1");
  auto deny = policy(
      R"([{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"*"},)"
      R"({"Action":"execute-api:Invoke","Effect":"Deny","Resource":["arn:aws:execute-api:*:*:abc/Prod/GET/users/*"]}])");
  EXPECT_EQ(evaluate(deny, kArn), AuthDecision::kExplicitDeny);
  auto other = policy(
      R"([{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"arn:aws:execute-api:*:*:abc/Prod/POST/*"}])");
  EXPECT_EQ(evaluate(other, kArn), AuthDecision::kNotAllowed);
  // Statements about other actions do not count.
  auto s3 = policy(R"({"Action":"s3:GetObject","Effect":"Allow","Resource":"*"})");
  EXPECT_EQ(evaluate(s3, kArn), AuthDecision::kNotAllowed);
}

TEST(AuthPolicyEval, SimpleResponsesAndMalformedResults) {
  auto yes = parse_authorizer_result(R"({"isAuthorized":true,"context":{"a":"b"}})", true);
  ASSERT_TRUE(yes.ok());
  EXPECT_EQ(evaluate(*yes, kArn), AuthDecision::kAllow);
  auto no = parse_authorizer_result(R"({"isAuthorized":false})", true);
  ASSERT_TRUE(no.ok());
  EXPECT_EQ(evaluate(*no, kArn), AuthDecision::kNotAllowed);
  EXPECT_FALSE(parse_authorizer_result(R"({"isAuthorized":"yes"})", true).ok());
  EXPECT_FALSE(parse_authorizer_result(R"("Allow")", false).ok());
  EXPECT_FALSE(parse_authorizer_result(R"({"principalId":"x"})", false).ok());
  EXPECT_FALSE(
      parse_authorizer_result(
          R"({"policyDocument":{"Statement":[{"Effect":"Maybe","Action":"*","Resource":"*"}]}})",
          false)
          .ok());
}

TEST(IdentitySources, ParsedAndRead) {
  auto s =
      parse_identity_sources({"method.request.header.Authorization, method.request.querystring.q"});
  ASSERT_TRUE(s.ok()) << s.error();
  EXPECT_EQ(*s, (std::vector<std::string>{"header:authorization", "query:q"}));
  EXPECT_FALSE(parse_identity_sources({"context.whatever"}).ok());
  AuthorizerSpec spec;
  spec.identity_sources = *s;
  http::Request req;
  req.headers.add("authorization", "tok");
  EXPECT_FALSE(identity_values(spec, req, {}).has_value());  // q missing
  req.query = "q=1";
  EXPECT_EQ(*identity_values(spec, req, {}), (std::vector<std::string>{"tok", "1"}));
}

// Cached results expire after the TTL on the injected clock.
TEST(AuthorizerCacheTest, ExpiresAfterTtl) {
  ManualClock clock;
  AuthorizerCache cache;
  AuthPolicy p;
  p.principal_id = "x";
  cache.put("k", p, clock.now() + std::chrono::seconds(2));
  ASSERT_TRUE(cache.get("k", clock.now()).has_value());
  EXPECT_EQ(cache.get("k", clock.now())->principal_id, "x");
  EXPECT_FALSE(cache.get("other", clock.now()).has_value());
  clock.advance(std::chrono::milliseconds(1999));
  EXPECT_TRUE(cache.get("k", clock.now()).has_value());
  clock.advance(std::chrono::milliseconds(1));
  EXPECT_FALSE(cache.get("k", clock.now()).has_value());
}

TEST(MethodArn, Form) {
  EXPECT_EQ(method_arn("us-east-1", "000000000000", "abc", "Prod", "GET", "/users/7"), kArn);
}

}  // namespace
}  // namespace nimbus::services::apigateway
