#include "services/sts/sts_service.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "services/sts/xml_for_tests.h"
#include "store/store.h"

namespace nimbus::services::sts {
namespace {

using namespace std::chrono_literals;

using nimbus::testing::xml_text;

class StsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("sts_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    auto s = store::open_rocksdb(dir_.string());
    ASSERT_TRUE(s.ok()) << s.error().message;
    store_ = std::move(s.value());
    creds_ = std::make_unique<aws::CredentialStore>(clock_, store_.get());
    ASSERT_TRUE(creds_
                    ->load_ini("[default]\naws_access_key_id = AKIDROOT\naws_secret_access_key = "
                               "s\n[u]\naws_access_key_id = AKIDALICE\naws_secret_access_key = "
                               "s\naccount_id = 123456789012\nuser_name = alice\n",
                               "test")
                    .ok());
    sts_ = std::make_unique<StsService>(*creds_, clock_);
  }
  void TearDown() override {
    sts_.reset();
    creds_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  http::Response call(std::string body, std::string access_key = "AKIDROOT") {
    aws::Call c;
    c.http.method = "POST";
    c.http.target = c.http.path = "/";
    c.http.headers.add("Content-Type", "application/x-www-form-urlencoded; charset=utf-8");
    c.http.body = std::move(body);
    c.request_id = "req-1";
    c.access_key = std::move(access_key);
    http::Response out;
    int replies = 0;
    c.reply = [&](http::Response r) {
      out = std::move(r);
      ++replies;
    };
    sts_->handle(std::move(c));
    EXPECT_EQ(replies, 1);
    return out;
  }

  ManualClock clock_{1704164645'000};  // 2024-01-02T03:04:05Z
  std::filesystem::path dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<aws::CredentialStore> creds_;
  std::unique_ptr<StsService> sts_;
};

TEST_F(StsTest, GetCallerIdentityForStaticKeys) {
  auto r = call("Action=GetCallerIdentity&Version=2011-06-15");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(
      r.body.find("<GetCallerIdentityResponse "
                  "xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult>"),
      std::string::npos);
  EXPECT_EQ(xml_text(r.body, "Arn"), "arn:aws:iam::000000000000:root");
  EXPECT_EQ(xml_text(r.body, "UserId"), "000000000000");
  EXPECT_EQ(xml_text(r.body, "Account"), "000000000000");
  EXPECT_EQ(xml_text(r.body, "RequestId"), "req-1");

  r = call("Action=GetCallerIdentity&Version=2011-06-15", "AKIDALICE");
  EXPECT_EQ(xml_text(r.body, "Arn"), "arn:aws:iam::123456789012:user/alice");
  EXPECT_EQ(xml_text(r.body, "Account"), "123456789012");
  EXPECT_EQ(xml_text(r.body, "UserId").substr(0, 4), "AIDA");

  // Unknown key (auth disabled): the root of the call's account.
  r = call("Action=GetCallerIdentity&Version=2011-06-15", "test");
  EXPECT_EQ(xml_text(r.body, "Arn"), "arn:aws:iam::000000000000:root");
}

TEST_F(StsTest, AssumeRoleMintsWorkingSession) {
  auto r = call(
      "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2F"
      "service%2Fdeployer&RoleSessionName=ci%40build-1&DurationSeconds=900");
  ASSERT_EQ(r.status, 200) << r.body;
  std::string akid = xml_text(r.body, "AccessKeyId");
  EXPECT_EQ(akid.substr(0, 4), "ASIA");
  EXPECT_EQ(akid.size(), 20u);
  EXPECT_EQ(xml_text(r.body, "SecretAccessKey").size(), 40u);
  EXPECT_EQ(xml_text(r.body, "Expiration"), "2024-01-02T03:19:05Z");
  EXPECT_EQ(xml_text(r.body, "Arn"), "arn:aws:sts::123456789012:assumed-role/deployer/ci@build-1");
  std::string role_id = xml_text(r.body, "AssumedRoleId");
  EXPECT_EQ(role_id.substr(0, 4), "AROA");
  EXPECT_EQ(role_id.substr(role_id.find(':')), ":ci@build-1");

  // The session is persisted and identifies as the assumed role.
  EXPECT_TRUE(store_->get("sts/session/" + akid));
  r = call("Action=GetCallerIdentity&Version=2011-06-15", akid);
  EXPECT_EQ(xml_text(r.body, "Arn"), "arn:aws:sts::123456789012:assumed-role/deployer/ci@build-1");
  EXPECT_EQ(xml_text(r.body, "UserId"), role_id);
  EXPECT_EQ(xml_text(r.body, "Account"), "123456789012");

  // Session credentials cannot mint session tokens.
  r = call("Action=GetSessionToken&Version=2011-06-15", akid);
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(xml_text(r.body, "Code"), "AccessDenied");

  clock_.advance(901s);
  auto found = creds_->lookup(akid);
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.error(), aws::LookupFailure::kExpired);
}

TEST_F(StsTest, AssumeRoleUsesResolvedRoleId) {
  sts_->set_role_resolver([](std::string_view account, std::string_view name) {
    return name == "r" ? std::optional<std::string>("AROAFROMIAM000000000") : std::nullopt;
  });
  auto r = call(
      "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A000000000000"
      "%3Arole%2Fr&RoleSessionName=sess");
  EXPECT_EQ(xml_text(r.body, "AssumedRoleId"), "AROAFROMIAM000000000:sess");
  EXPECT_EQ(xml_text(r.body, "Expiration"), "2024-01-02T04:04:05Z");  // default 3600 s
}

TEST_F(StsTest, AssumeRoleValidation) {
  auto r = call("Action=AssumeRole&Version=2011-06-15");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(xml_text(r.body, "Code"), "ValidationError");
  EXPECT_EQ(xml_text(r.body, "Message"),
            "2 validation errors detected: Value null at 'roleArn' failed to satisfy constraint: "
            "Member must not be null; Value null at 'roleSessionName' failed to satisfy "
            "constraint: Member must not be null");
  EXPECT_NE(r.body.find("<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"),
            std::string::npos);

  r = call(
      "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A000000000000%3Arole"
      "%2Fr&RoleSessionName=bad%20name&DurationSeconds=50000");
  EXPECT_EQ(xml_text(r.body, "Message"),
            "2 validation errors detected: Value 'bad name' at 'roleSessionName' failed to satisfy "
            "constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*; Value "
            "'50000' at 'durationSeconds' failed to satisfy constraint: Member must have value "
            "less than or equal to 43200");

  r = call(
      "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A000000000000%3Auser"
      "%2Fbob&RoleSessionName=ok");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(xml_text(r.body, "Code"), "ValidationError");

  r = call(
      "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A000000000000%3Arole"
      "%2Fr&RoleSessionName=ok&Policy=%7Bnot-json");
  EXPECT_EQ(xml_text(r.body, "Code"), "MalformedPolicyDocument");
  EXPECT_EQ(creds_->session_count(), 0u);
}

TEST_F(StsTest, GetSessionToken) {
  auto r = call("Action=GetSessionToken&Version=2011-06-15", "AKIDALICE");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("<GetSessionTokenResult><Credentials><AccessKeyId>ASIA"),
            std::string::npos);
  EXPECT_EQ(xml_text(r.body, "Expiration"), "2024-01-02T15:04:05Z");  // 12 h default
  auto akid = xml_text(r.body, "AccessKeyId");
  r = call("Action=GetCallerIdentity&Version=2011-06-15", akid);
  EXPECT_EQ(xml_text(r.body, "Arn"), "arn:aws:iam::123456789012:user/alice");

  // Root sessions are capped at one hour.
  r = call("Action=GetSessionToken&Version=2011-06-15&DurationSeconds=7200");
  EXPECT_EQ(xml_text(r.body, "Expiration"), "2024-01-02T04:04:05Z");
  r = call("Action=GetSessionToken&Version=2011-06-15&DurationSeconds=10");
  EXPECT_EQ(xml_text(r.body, "Code"), "ValidationError");
}

TEST_F(StsTest, GetAccessKeyInfo) {
  auto r = call("Action=GetAccessKeyInfo&Version=2011-06-15&AccessKeyId=AKIDALICE00000000");
  EXPECT_EQ(xml_text(r.body, "Account"), "000000000000");
  r = call("Action=GetAccessKeyInfo&Version=2011-06-15&AccessKeyId=AKIDALICE");
  EXPECT_EQ(xml_text(r.body, "Code"), "ValidationError");
}

TEST_F(StsTest, UnknownActionAndReset) {
  auto r = call("Action=GetFederationTokenX&Version=2011-06-15");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(xml_text(r.body, "Code"), "InvalidAction");
  EXPECT_EQ(xml_text(r.body, "Message"),
            "Could not find operation GetFederationTokenX for version 2011-06-15");

  r = call("Action=GetSessionToken&Version=2011-06-15");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(creds_->session_count(), 1u);
  sts_->reset();
  EXPECT_EQ(creds_->session_count(), 0u);
  EXPECT_TRUE(store_->scan("sts/").empty());
  EXPECT_EQ(creds_->static_count(), 2u);
}

TEST(StsRoleArn, Parse) {
  auto a = parse_role_arn("arn:aws:iam::123456789012:role/a/b/name");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->account_id, "123456789012");
  EXPECT_EQ(a->role_name, "name");
  EXPECT_TRUE(parse_role_arn("arn:aws-cn:iam::123456789012:role/x"));
  EXPECT_FALSE(parse_role_arn("arn:aws:iam::12345678901:role/x"));
  EXPECT_FALSE(parse_role_arn("arn:aws:iam::123456789012:role/"));
  EXPECT_FALSE(parse_role_arn("arn:aws:s3:::bucket/role/x"));
  EXPECT_FALSE(parse_role_arn("garbage"));
}

}  // namespace
}  // namespace nimbus::services::sts
