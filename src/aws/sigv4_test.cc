#include "aws/sigv4.h"

#include <gtest/gtest.h>

namespace nimbus::aws::sigv4 {
namespace {

// Vectors generated with Debian's botocore 1.29.27 (botocore.auth.SigV4Auth /
// SigV4QueryAuth) with the clock fixed at 2024-01-02T03:04:05Z.
constexpr std::string_view kSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr std::string_view kToken = "FwoGZXIvYXdzEXAMPLETOKEN+/=";
constexpr int64_t kSignedAt = 1704164645;  // 2024-01-02T03:04:05Z

http::Request make(std::string method, std::string target, std::string host = "localhost:4566") {
  http::Request r;
  r.method = std::move(method);
  r.target = std::move(target);
  auto q = r.target.find('?');
  r.path = r.target.substr(0, q);
  r.query = q == std::string::npos ? "" : r.target.substr(q + 1);
  r.headers.add("Host", std::move(host));
  return r;
}

http::Request list_functions() {
  auto r = make("GET", "/2015-03-31/functions/");
  r.headers.add("X-Amz-Date", "20240102T030405Z");
  r.headers.add("Authorization",
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240102/us-east-1/lambda/aws4_request, "
                "SignedHeaders=host;x-amz-date, "
                "Signature=5c664e7c03b1e538ea1ca3567055a5a0813898976bb8d24a71c00129040fa085");
  return r;
}

http::Request invoke() {
  auto r = make("POST", "/2015-03-31/functions/my%3Afn/invocations");
  r.headers.add("X-Amz-Invocation-Type", "RequestResponse");
  r.headers.add("Content-Type", "application/json");
  r.headers.add("X-Amz-Date", "20240102T030405Z");
  r.headers.add("Authorization",
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240102/us-east-1/lambda/aws4_request, "
                "SignedHeaders=content-type;host;x-amz-date;x-amz-invocation-type, "
                "Signature=c419fbf35d07243f42526f78436ca5bf33f0c6306fc88b06f1442ad35448c67c");
  r.headers.add("Content-Length", "18");
  r.body = R"({"hello": "world"})";
  return r;
}

http::Request special_path_and_query() {
  auto r = make("GET",
                "/2015-03-31/functions/a%20b%2Bc/x~y!z?Marker=a%2Fb&MaxItems=10&FunctionVersion="
                "ALL&empty=");
  r.headers.add("X-Custom", "  spaced   value  here ");
  r.headers.add("X-Amz-Date", "20240102T030405Z");
  r.headers.add("Authorization",
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240102/eu-west-1/lambda/aws4_request, "
                "SignedHeaders=host;x-amz-date;x-custom, "
                "Signature=8046ad2cd2c62f102db1e9f7da77525d3fc968971d4f3e89470fe9125630db7c");
  return r;
}

http::Request sts_with_token() {
  auto r = make("POST", "/", "127.0.0.1:4566");
  r.headers.add("Content-Type", "application/x-www-form-urlencoded; charset=utf-8");
  r.headers.add("X-Amz-Date", "20240102T030405Z");
  r.headers.add("X-Amz-Security-Token", std::string(kToken));
  r.headers.add("Authorization",
                "AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE/20240102/us-east-1/sts/aws4_request, "
                "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, "
                "Signature=b99cf37d18dc54724fe3f3f6a8d781de9fe7a227e70220825a24bff3c65b63c8");
  r.body = "Action=GetCallerIdentity&Version=2011-06-15";
  return r;
}

http::Request presigned_sts() {
  return make("GET",
              "/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-"
              "Amz-Credential=AKIDEXAMPLE%2F20240102%2Fus-east-1%2Fsts%2Faws4_request&X-Amz-Date="
              "20240102T030405Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature="
              "1a68fb0d794dcc526fd23613027666d7eaa22947ae7efce748941f32aff134d8");
}

http::Request presigned_lambda_with_token() {
  return make("GET",
              "/2015-03-31/functions/f%20n?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="
              "ASIAEXAMPLE%2F20240102%2Fus-east-1%2Flambda%2Faws4_request&X-Amz-Date="
              "20240102T030405Z&X-Amz-Expires=300&X-Amz-SignedHeaders=host&X-Amz-Security-Token="
              "FwoGZXIvYXdzEXAMPLETOKEN%2B%2F%3D&X-Amz-Signature="
              "7e0c329fb9feb2865a8355763d7a20a1449d9172467879dfcd37be4122f09824");
}

TEST(SigV4, BotocoreVectorsVerify) {
  for (const auto& r : {list_functions(), invoke(), special_path_and_query(), sts_with_token(),
                        presigned_sts(), presigned_lambda_with_token()}) {
    auto v = verify(r, kSecret, kSignedAt);
    EXPECT_TRUE(v.ok()) << r.target << ": " << (v.ok() ? "" : v.error().message);
  }
}

TEST(SigV4, VerifiesWithinSkewWindow) {
  EXPECT_TRUE(verify(invoke(), kSecret, kSignedAt + 14 * 60).ok());
  EXPECT_TRUE(verify(invoke(), kSecret, kSignedAt - 14 * 60).ok());
}

TEST(SigV4, CredentialScopeFromHeader) {
  auto s = credential_scope(special_path_and_query());
  ASSERT_TRUE(s);
  EXPECT_EQ(s->access_key, "AKIDEXAMPLE");
  EXPECT_EQ(s->date, "20240102");
  EXPECT_EQ(s->region, "eu-west-1");
  EXPECT_EQ(s->service, "lambda");
}

TEST(SigV4, CredentialScopeFromPresignedQuery) {
  auto s = credential_scope(presigned_sts());
  ASSERT_TRUE(s);
  EXPECT_EQ(s->access_key, "AKIDEXAMPLE");
  EXPECT_EQ(s->service, "sts");
}

TEST(SigV4, CredentialScopeRejectsGarbage) {
  auto r = make("GET", "/");
  EXPECT_FALSE(credential_scope(r));
  r.headers.add("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20240102/us-east-1");
  EXPECT_FALSE(credential_scope(r));
  r.headers.set("Authorization", "Credential=");
  EXPECT_FALSE(credential_scope(r));
  r.headers.set("Authorization", "AWS4-HMAC-SHA256 Credential=A/B/C/D/aws4_request");
  EXPECT_TRUE(credential_scope(r));
}

TEST(SigV4, ParseAuthorization) {
  auto p = parse_authorization(
      "AWS4-HMAC-SHA256 Credential=AK/20240102/us-east-1/iam/aws4_request,SignedHeaders=Host;"
      "X-Amz-Date,Signature=ABCDEF");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->scope.service, "iam");
  EXPECT_EQ(p->signed_headers, (std::vector<std::string>{"host", "x-amz-date"}));
  EXPECT_EQ(p->signature, "abcdef");
  EXPECT_FALSE(
      parse_authorization("AWS4-HMAC-SHA256 Credential=AK/20240102/us-east-1/iam/"
                          "aws4_request, SignedHeaders=host"));
  EXPECT_FALSE(
      parse_authorization("AWS4-HMAC-SHA256Credential=AK/d/r/s/aws4_request, "
                          "SignedHeaders=host, Signature=ab"));
  EXPECT_FALSE(parse_authorization("AWS AKID:sig"));
}

TEST(SigV4, CanonicalUriEncodesSegmentsAgain) {
  EXPECT_EQ(canonical_uri(""), "/");
  EXPECT_EQ(canonical_uri("/functions/my%3Afn"), "/functions/my%253Afn");
  EXPECT_EQ(canonical_uri("/a//b/./c/../d/"), "/a/b/d/");
  EXPECT_EQ(canonical_uri("/x~y!z"), "/x~y%21z");
}

TEST(SigV4, CanonicalQuerySortsAndNormalizes) {
  EXPECT_EQ(canonical_query("b=2&a=3&a=1&c", false), "a=1&a=3&b=2&c=");
  EXPECT_EQ(canonical_query("k=a/b%2fc", false), "k=a%2Fb%2Fc");
  EXPECT_EQ(canonical_query("a=1&X-Amz-Signature=ff", true), "a=1");
}

TEST(SigV4, AmzDateRoundTrip) {
  EXPECT_EQ(parse_amz_date("20240102T030405Z"), kSignedAt);
  EXPECT_EQ(format_amz_date(kSignedAt), "20240102T030405Z");
  EXPECT_FALSE(parse_amz_date("20241302T030405Z"));
  EXPECT_FALSE(parse_amz_date("2024010xT030405Z"));
  EXPECT_FALSE(parse_amz_date("20240102 030405Z"));
}

TEST(SigV4, TamperedBodyIsMismatch) {
  auto r = invoke();
  r.body = R"({"hello": "World"})";
  auto v = verify(r, kSecret, kSignedAt, Protocol::kRestJson);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().status, 403);
  EXPECT_EQ(v.error().code, "InvalidSignatureException");
  EXPECT_EQ(v.error().message,
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method. Consult the service "
            "documentation for details.");
}

TEST(SigV4, TamperedSignedHeaderIsMismatch) {
  auto r = invoke();
  r.headers.set("X-Amz-Invocation-Type", "Event");
  EXPECT_FALSE(verify(r, kSecret, kSignedAt).ok());
  auto q = presigned_sts();
  q.query = "Action=AssumeRole&" + q.query.substr(q.query.find("Version"));
  EXPECT_FALSE(verify(q, kSecret, kSignedAt).ok());
}

TEST(SigV4, ContentSha256HeaderMustMatchBody) {
  auto r = invoke();
  r.headers.add("X-Amz-Content-SHA256", std::string(64, 'a'));
  auto v = verify(r, kSecret, kSignedAt);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().code, "InvalidSignatureException");
}

TEST(SigV4, WrongSecretPerProtocol) {
  auto v = verify(sts_with_token(), "not-the-secret", kSignedAt, Protocol::kQuery);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().code, "SignatureDoesNotMatch");
  EXPECT_EQ(v.error().status, 403);
  v = verify(list_functions(), "not-the-secret", kSignedAt, Protocol::kRestJson);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().code, "InvalidSignatureException");
}

TEST(SigV4, ExpiredAndNotYetCurrent) {
  auto v = verify(list_functions(), kSecret, kSignedAt + 16 * 60, Protocol::kQuery);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().code, "SignatureDoesNotMatch");
  EXPECT_EQ(v.error().message,
            "Signature expired: 20240102T030405Z is now earlier than 20240102T030505Z "
            "(20240102T032005Z - 15 min.)");
  v = verify(list_functions(), kSecret, kSignedAt - 16 * 60, Protocol::kJson11);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().code, "InvalidSignatureException");
  EXPECT_EQ(v.error().message,
            "Signature not yet current: 20240102T030405Z is still later than 20240102T030305Z "
            "(20240102T024805Z + 15 min.)");
}

TEST(SigV4, PresignedExpiry) {
  EXPECT_TRUE(verify(presigned_sts(), kSecret, kSignedAt + 900).ok());
  auto sr = parse_signed_request(presigned_sts());
  ASSERT_TRUE(sr.ok());
  EXPECT_TRUE(sr->presigned);
  EXPECT_EQ(sr->expires_seconds, 900);
  auto r = check_signature(presigned_sts(), *sr, kSecret, kSignedAt + 901);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().reason, AuthFailure::kExpired);
  auto lambda = parse_signed_request(presigned_lambda_with_token());
  ASSERT_TRUE(lambda.ok());
  EXPECT_EQ(lambda->security_token, kToken);
}

TEST(SigV4, HeaderSecurityTokenIsExposed) {
  auto sr = parse_signed_request(sts_with_token());
  ASSERT_TRUE(sr.ok());
  EXPECT_EQ(sr->security_token, kToken);
  EXPECT_EQ(sr->scope.access_key, "ASIAEXAMPLE");
}

TEST(SigV4, MissingAndIncomplete) {
  auto v = verify(make("GET", "/"), kSecret, kSignedAt, Protocol::kQuery);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().code, "MissingAuthenticationToken");
  v = verify(make("GET", "/"), kSecret, kSignedAt, Protocol::kRestJson);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().code, "MissingAuthenticationTokenException");

  auto r = list_functions();
  r.headers.set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240102/us-east-1");
  v = verify(r, kSecret, kSignedAt, Protocol::kJson11);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().code, "IncompleteSignatureException");

  auto no_date = list_functions();
  no_date.headers.set("X-Amz-Date", "");
  EXPECT_FALSE(verify(no_date, kSecret, kSignedAt).ok());

  auto bad_expires = presigned_sts();
  bad_expires.query.replace(bad_expires.query.find("X-Amz-Expires=900"), 17,
                            "X-Amz-Expires=999999999");
  v = verify(bad_expires, kSecret, kSignedAt, Protocol::kQuery);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().code, "IncompleteSignature");
}

TEST(SigV4, ScopeDateMustMatchAmzDate) {
  auto r = list_functions();
  r.headers.set("X-Amz-Date", "20240102T030406Z");
  EXPECT_FALSE(verify(r, kSecret, kSignedAt).ok());
  r.headers.set("X-Amz-Date", "20240103T000000Z");
  auto sr = parse_signed_request(r);
  ASSERT_TRUE(sr.ok());
  auto c = check_signature(r, *sr, kSecret, kSignedAt + 21 * 3600);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().reason, AuthFailure::kMismatch);
  EXPECT_NE(c.error().message.find("Date in Credential scope does not match"), std::string::npos);
}

TEST(SigV4, AuthErrorCodesPerProtocol) {
  EXPECT_EQ(to_api_error(unknown_key_error(), Protocol::kQuery).code, "InvalidClientTokenId");
  EXPECT_EQ(to_api_error(unknown_key_error(), Protocol::kJson11).code,
            "UnrecognizedClientException");
  EXPECT_EQ(to_api_error(unknown_key_error(), Protocol::kRestJson).message,
            "The security token included in the request is invalid.");
  EXPECT_EQ(to_api_error(expired_token_error(), Protocol::kQuery).code, "ExpiredToken");
  EXPECT_EQ(to_api_error(expired_token_error(), Protocol::kRestJson).code, "ExpiredTokenException");
}

}  // namespace
// What sign() produces verifies (the CLI signs its requests this way), and a
// changed body no longer does.
TEST(SigV4Sign, SignedRequestsVerify) {
  http::Request req;
  req.method = "POST";
  req.target = req.path = "/2015-03-31/functions/f/invocations";
  req.body = R"({"a":1})";
  req.headers.set("Host", "127.0.0.1:4566");
  req.headers.set("Content-Type", "application/json");
  const int64_t now = 1'700'000'000;
  sign(req, "AKIDEXAMPLE", "secret", "us-east-1", "lambda", now);
  auto scope = credential_scope(req);
  ASSERT_TRUE(scope.has_value());
  EXPECT_EQ(scope->service, "lambda");
  EXPECT_TRUE(verify(req, "secret", now).ok());
  EXPECT_FALSE(verify(req, "other", now).ok());
  req.body = R"({"a":2})";
  EXPECT_FALSE(verify(req, "secret", now).ok());
}

}  // namespace nimbus::aws::sigv4
