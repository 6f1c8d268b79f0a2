#include "aws/credentials.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "aws/sigv4.h"
#include "services/iam/memory_store_for_tests.h"

namespace nimbus::aws {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kIni = R"(# Nimbus credentials
[default]
aws_access_key_id = AKIDEXAMPLE
aws_secret_access_key = wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY

[profile alice]
aws_access_key_id=AKIAALICE
aws_secret_access_key=alice-secret
account_id = 123456789012
user_name = alice
region = eu-west-1
s3 =
  max_concurrent_requests = 10

[only-region]
region = us-east-1
)";

TEST(Credentials, LoadsIniProfiles) {
  ManualClock clock;
  CredentialStore creds(clock);
  ASSERT_TRUE(creds.load_ini(kIni, "creds").ok());
  EXPECT_EQ(creds.static_count(), 2u);

  auto root = creds.lookup("AKIDEXAMPLE");
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(root->secret_key, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
  EXPECT_EQ(root->account_id, "000000000000");
  EXPECT_EQ(root->principal_arn, "arn:aws:iam::000000000000:root");
  EXPECT_EQ(root->user_id, "000000000000");
  EXPECT_FALSE(root->temporary());

  auto alice = creds.lookup("AKIAALICE");
  ASSERT_TRUE(alice.ok());
  EXPECT_EQ(alice->account_id, "123456789012");
  EXPECT_EQ(alice->principal_arn, "arn:aws:iam::123456789012:user/alice");
  EXPECT_EQ(alice->user_id.substr(0, 4), "AIDA");
  EXPECT_EQ(alice->user_id.size(), 21u);
  EXPECT_EQ(alice->user_id, stable_id("AIDA", alice->principal_arn));

  auto missing = creds.lookup("AKIDNOPE");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error(), LookupFailure::kUnknown);
}

TEST(Credentials, ParseErrorsNameFileAndLine) {
  ManualClock clock;
  CredentialStore creds(clock);
  auto s = creds.load_ini("[a]\naws_access_key_id = X\nnonsense line\n", "/etc/creds");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message, "/etc/creds:3: expected 'key = value'");

  s = creds.load_ini("aws_access_key_id = X\n", "f");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message, "f:1: key outside of a [profile] section");

  s = creds.load_ini("\n[p]\naws_access_key_id = X\n", "f");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message,
            "f:2: profile 'p' needs both aws_access_key_id and aws_secret_access_key");

  s = creds.load_ini("[p]\naws_access_key_id = X\naws_secret_access_key = y\naccount_id = 12\n",
                     "f");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message, "f:4: account_id must be 12 digits");

  s = creds.load_ini("[p\n", "f");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message, "f:1: unterminated section header");
  EXPECT_EQ(creds.static_count(), 0u);  // a failed load adds nothing
}

TEST(Credentials, LoadFile) {
  std::string path = ::testing::TempDir() + "/nimbus_creds_test.ini";
  {
    std::ofstream out(path);
    out << kIni;
  }
  ManualClock clock;
  CredentialStore creds(clock);
  ASSERT_TRUE(creds.load_file(path).ok());
  EXPECT_EQ(creds.static_count(), 2u);
  std::remove(path.c_str());
  EXPECT_FALSE(creds.load_file(path).ok());
}

TEST(Credentials, SessionsPersistAndExpire) {
  ManualClock clock;
  testing::MemoryStore store;
  CredentialStore creds(clock, &store);
  SessionSpec spec;
  spec.account_id = "123456789012";
  spec.principal_arn = "arn:aws:sts::123456789012:assumed-role/r/s";
  spec.user_id = "AROAEXAMPLE:s";
  spec.duration_seconds = 900;
  auto s = creds.create_session(spec);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->access_key.size(), 20u);
  EXPECT_EQ(s->access_key.substr(0, 4), "ASIA");
  EXPECT_EQ(s->access_key.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"),
            std::string::npos);
  EXPECT_EQ(s->secret_key.size(), 40u);
  EXPECT_FALSE(s->session_token.empty());
  EXPECT_EQ(s->expiration_ms, clock.wall_ms() + 900'000);
  ASSERT_TRUE(store.get("sts/session/" + s->access_key));

  // A second registry over the same store (a restart) sees the session.
  CredentialStore restarted(clock, &store);
  ASSERT_TRUE(restarted.load_sessions().ok());
  auto found = restarted.lookup(s->access_key);
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->secret_key, s->secret_key);
  EXPECT_EQ(found->session_token, s->session_token);
  EXPECT_EQ(found->principal_arn, spec.principal_arn);

  clock.advance(901s);
  auto expired = restarted.lookup(s->access_key);
  ASSERT_FALSE(expired.ok());
  EXPECT_EQ(expired.error(), LookupFailure::kExpired);

  // Expired sessions are swept on the next creation and on load.
  ASSERT_TRUE(creds.create_session(spec).ok());
  EXPECT_FALSE(store.get("sts/session/" + s->access_key));
  EXPECT_EQ(creds.session_count(), 1u);
  clock.advance(901s);
  CredentialStore again(clock, &store);
  ASSERT_TRUE(again.load_sessions().ok());
  EXPECT_EQ(again.session_count(), 0u);
  EXPECT_EQ(store.size(), 0u);
}

TEST(Credentials, FailedWriteCreatesNoSession) {
  ManualClock clock;
  testing::MemoryStore store;
  CredentialStore creds(clock, &store);
  store.set_fail_writes(true);
  EXPECT_FALSE(creds.create_session({}).ok());
  EXPECT_EQ(creds.session_count(), 0u);
}

TEST(Credentials, ClearSessionsKeepsStaticKeys) {
  ManualClock clock;
  testing::MemoryStore store;
  CredentialStore creds(clock, &store);
  ASSERT_TRUE(creds.load_ini(kIni, "creds").ok());
  ASSERT_TRUE(creds.create_session({}).ok());
  ASSERT_TRUE(creds.clear_sessions().ok());
  EXPECT_EQ(creds.session_count(), 0u);
  EXPECT_EQ(creds.static_count(), 2u);
  EXPECT_EQ(store.size(), 0u);
}

TEST(Credentials, StableIdIsDeterministic) {
  EXPECT_EQ(stable_id("AROA", "x"), stable_id("AROA", "x"));
  EXPECT_NE(stable_id("AROA", "x"), stable_id("AROA", "y"));
  EXPECT_EQ(stable_id("AROA", "x").size(), 21u);
}

// authenticate() with the botocore vector from sigv4_test.cc (STS call made
// with session credentials ASIAEXAMPLE at 2024-01-02T03:04:05Z).
http::Request signed_sts_request() {
  http::Request r;
  r.method = "POST";
  r.target = r.path = "/";
  r.headers.add("Host", "127.0.0.1:4566");
  r.headers.add("Content-Type", "application/x-www-form-urlencoded; charset=utf-8");
  r.headers.add("X-Amz-Date", "20240102T030405Z");
  r.headers.add("X-Amz-Security-Token", "FwoGZXIvYXdzEXAMPLETOKEN+/=");
  r.headers.add("Authorization",
                "AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE/20240102/us-east-1/sts/aws4_request, "
                "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, "
                "Signature=b99cf37d18dc54724fe3f3f6a8d781de9fe7a227e70220825a24bff3c65b63c8");
  r.body = "Action=GetCallerIdentity&Version=2011-06-15";
  return r;
}

TEST(Credentials, AuthenticateChecksKeyTokenAndSignature) {
  const int64_t signed_at_ms = 1704164645'000;
  ManualClock clock(signed_at_ms);
  testing::MemoryStore store;
  CredentialStore creds(clock, &store);
  auto r = signed_sts_request();

  auto unknown = authenticate(r, creds, signed_at_ms, Protocol::kQuery);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, "InvalidClientTokenId");

  Identity session;
  session.access_key = "ASIAEXAMPLE";
  session.secret_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
  session.session_token = "FwoGZXIvYXdzEXAMPLETOKEN+/=";
  session.expiration_ms = signed_at_ms + 3600'000;
  session.principal_arn = "arn:aws:sts::000000000000:assumed-role/r/s";
  ASSERT_TRUE(store.put("sts/session/ASIAEXAMPLE", session_to_json(session)).ok());
  ASSERT_TRUE(creds.load_sessions().ok());

  auto ok = authenticate(r, creds, signed_at_ms, Protocol::kQuery);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->principal_arn, session.principal_arn);

  auto wrong_token = r;
  wrong_token.headers.set("X-Amz-Security-Token", "other");
  auto bad = authenticate(wrong_token, creds, signed_at_ms, Protocol::kJson11);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "UnrecognizedClientException");

  auto tampered = r;
  tampered.body = "Action=AssumeRole&Version=2011-06-15";
  bad = authenticate(tampered, creds, signed_at_ms, Protocol::kQuery);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "SignatureDoesNotMatch");

  clock.advance(3601s);
  bad = authenticate(r, creds, clock.wall_ms(), Protocol::kQuery);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "ExpiredToken");
}

// The signing key is kept per secret, day, region and service: whatever is
// cached, it must equal a fresh derivation for that exact scope and secret, so
// a changed secret or a new day never reuses an old key.
TEST(Credentials, SigningKeyIsKeptPerSecretAndScope) {
  ManualClock clock(0);
  CredentialStore creds(clock);
  Identity a, b;
  a.secret_key = "secret-a";
  b.secret_key = "secret-b";
  sigv4::CredentialScope day1{"AKID", "20240102", "us-east-1", "dynamodb"};
  sigv4::CredentialScope day2{"AKID", "20240103", "us-east-1", "dynamodb"};
  sigv4::CredentialScope sts{"AKID", "20240102", "us-east-1", "sts"};
  for (int round = 0; round < 2; ++round) {  // the second round is answered from the cache
    EXPECT_EQ(creds.signing_key(a, day1), sigv4::signing_key("secret-a", day1));
    EXPECT_EQ(creds.signing_key(a, day2), sigv4::signing_key("secret-a", day2));
    EXPECT_EQ(creds.signing_key(a, sts), sigv4::signing_key("secret-a", sts));
    EXPECT_EQ(creds.signing_key(b, day1), sigv4::signing_key("secret-b", day1));
  }
  EXPECT_NE(creds.signing_key(a, day1), creds.signing_key(b, day1));
  EXPECT_NE(creds.signing_key(a, day1), creds.signing_key(a, day2));
}

}  // namespace
}  // namespace nimbus::aws
