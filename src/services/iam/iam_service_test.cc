#include "services/iam/iam_service.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "services/sts/xml_for_tests.h"
#include "store/store.h"

namespace nimbus::services::iam {
namespace {

using nimbus::testing::xml_text;
using nimbus::testing::xml_texts;

constexpr std::string_view kTrust =
    R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]})";

class IamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("iam_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    auto s = store::open_rocksdb(dir_.string());
    ASSERT_TRUE(s.ok()) << s.error().message;
    store_ = std::move(s.value());
    iam_ = std::make_unique<IamService>(*store_, clock_);
  }
  void TearDown() override {
    iam_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Sends form parameters (encoded here, as botocore does).
  http::Response call(std::vector<std::pair<std::string, std::string>> params) {
    aws::Call c;
    c.http.method = "POST";
    c.http.target = c.http.path = "/";
    c.http.headers.add("Content-Type", "application/x-www-form-urlencoded; charset=utf-8");
    std::string body = "Version=2010-05-08";
    for (const auto& [k, v] : params) body += "&" + http::url_encode(k) + "=" + http::url_encode(v);
    c.http.body = body;
    c.request_id = "req-1";
    c.account_id = "123456789012";
    http::Response out;
    int replies = 0;
    c.reply = [&](http::Response r) {
      out = std::move(r);
      ++replies;
    };
    iam_->handle(std::move(c));
    EXPECT_EQ(replies, 1);
    return out;
  }

  http::Response create(std::string name, std::string path = "/") {
    return call({{"Action", "CreateRole"},
                 {"RoleName", name},
                 {"Path", path},
                 {"AssumeRolePolicyDocument", std::string(kTrust)}});
  }

  ManualClock clock_{1704164645'000};
  std::filesystem::path dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<IamService> iam_;
};

TEST_F(IamTest, CreateAndGetRole) {
  auto r = call({{"Action", "CreateRole"},
                 {"RoleName", "lambda-exec"},
                 {"Path", "/service/"},
                 {"Description", "runs <functions> & more"},
                 {"MaxSessionDuration", "7200"},
                 {"AssumeRolePolicyDocument", std::string(kTrust)},
                 {"Tags.member.1.Key", "team"},
                 {"Tags.member.1.Value", "infra"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("<CreateRoleResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">"
                        "<CreateRoleResult><Role>"),
            std::string::npos);
  EXPECT_EQ(xml_text(r.body, "RoleName"), "lambda-exec");
  EXPECT_EQ(xml_text(r.body, "Path"), "/service/");
  EXPECT_EQ(xml_text(r.body, "Arn"), "arn:aws:iam::123456789012:role/service/lambda-exec");
  EXPECT_EQ(xml_text(r.body, "CreateDate"), "2024-01-02T03:04:05Z");
  EXPECT_EQ(xml_text(r.body, "Description"), "runs <functions> & more");
  EXPECT_EQ(xml_text(r.body, "MaxSessionDuration"), "7200");
  std::string role_id = xml_text(r.body, "RoleId");
  EXPECT_EQ(role_id.substr(0, 4), "AROA");
  EXPECT_EQ(role_id.size(), 21u);
  // URL-encoded on the wire; botocore unquotes and json-loads it.
  std::string encoded = xml_text(r.body, "AssumeRolePolicyDocument");
  EXPECT_EQ(encoded.find('{'), std::string::npos);
  EXPECT_EQ(http::url_decode(encoded), kTrust);
  EXPECT_EQ(xml_text(r.body, "Key"), "team");

  auto g = call({{"Action", "GetRole"}, {"RoleName", "LAMBDA-EXEC"}});  // case-insensitive
  ASSERT_EQ(g.status, 200);
  EXPECT_EQ(xml_text(g.body, "RoleName"), "lambda-exec");
  EXPECT_EQ(xml_text(g.body, "RoleId"), role_id);
  EXPECT_EQ(http::url_decode(xml_text(g.body, "AssumeRolePolicyDocument")), kTrust);
  EXPECT_EQ(iam_->role_id("lambda-exec"), role_id);
  EXPECT_FALSE(iam_->role_id("nope"));
}

TEST_F(IamTest, CreateRoleErrors) {
  ASSERT_EQ(create("r").status, 200);
  auto dup = create("R");
  EXPECT_EQ(dup.status, 409);
  EXPECT_EQ(xml_text(dup.body, "Code"), "EntityAlreadyExists");
  EXPECT_EQ(xml_text(dup.body, "Message"), "Role with name R already exists.");
  EXPECT_NE(dup.body.find("<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">"),
            std::string::npos);

  auto bad_json = call(
      {{"Action", "CreateRole"}, {"RoleName", "x"}, {"AssumeRolePolicyDocument", "{not json"}});
  EXPECT_EQ(bad_json.status, 400);
  EXPECT_EQ(xml_text(bad_json.body, "Code"), "MalformedPolicyDocument");

  auto invalid = call({{"Action", "CreateRole"}, {"RoleName", "a b"}, {"Path", "nope"}});
  EXPECT_EQ(invalid.status, 400);
  EXPECT_EQ(xml_text(invalid.body, "Code"), "ValidationError");
  EXPECT_EQ(xml_text(invalid.body, "Message").substr(0, 30), "3 validation errors detected: ");

  auto missing = call({{"Action", "GetRole"}, {"RoleName", "ghost"}});
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(xml_text(missing.body, "Code"), "NoSuchEntity");
  EXPECT_EQ(xml_text(missing.body, "Message"), "The role with name ghost cannot be found.");
}

TEST_F(IamTest, ListRolesPaginatesAndFilters) {
  for (auto name : {"a", "b", "c", "d"}) ASSERT_EQ(create(name).status, 200);
  ASSERT_EQ(create("svc", "/service/").status, 200);

  auto page1 = call({{"Action", "ListRoles"}, {"MaxItems", "2"}});
  ASSERT_EQ(page1.status, 200);
  EXPECT_EQ(xml_texts(page1.body, "RoleName"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(xml_text(page1.body, "IsTruncated"), "true");
  EXPECT_NE(page1.body.find("<Roles><member><Path>/</Path>"), std::string::npos);
  EXPECT_EQ(page1.body.find("<Tags>"), std::string::npos);

  std::vector<std::string> all = xml_texts(page1.body, "RoleName");
  std::string marker = xml_text(page1.body, "Marker");
  while (true) {
    auto next = call({{"Action", "ListRoles"}, {"MaxItems", "2"}, {"Marker", marker}});
    ASSERT_EQ(next.status, 200);
    for (auto& n : xml_texts(next.body, "RoleName")) all.push_back(n);
    if (xml_text(next.body, "IsTruncated") == "false") {
      EXPECT_EQ(next.body.find("<Marker>"), std::string::npos);
      break;
    }
    marker = xml_text(next.body, "Marker");
  }
  EXPECT_EQ(all, (std::vector<std::string>{"a", "b", "c", "d", "svc"}));

  auto filtered = call({{"Action", "ListRoles"}, {"PathPrefix", "/service/"}});
  EXPECT_EQ(xml_texts(filtered.body, "RoleName"), std::vector<std::string>{"svc"});
  EXPECT_EQ(xml_text(filtered.body, "IsTruncated"), "false");
}

TEST_F(IamTest, ManagedPolicyAttachment) {
  ASSERT_EQ(create("r").status, 200);
  const std::string basic = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole";
  const std::string mine = "arn:aws:iam::123456789012:policy/Mine";
  ASSERT_EQ(call({{"Action", "AttachRolePolicy"}, {"RoleName", "r"}, {"PolicyArn", basic}}).status,
            200);
  ASSERT_EQ(call({{"Action", "AttachRolePolicy"}, {"RoleName", "r"}, {"PolicyArn", mine}}).status,
            200);
  // Attaching twice is a no-op.
  ASSERT_EQ(call({{"Action", "AttachRolePolicy"}, {"RoleName", "r"}, {"PolicyArn", mine}}).status,
            200);

  auto list = call({{"Action", "ListAttachedRolePolicies"}, {"RoleName", "r"}});
  EXPECT_EQ(xml_texts(list.body, "PolicyName"),
            (std::vector<std::string>{"AWSLambdaBasicExecutionRole", "Mine"}));
  EXPECT_EQ(xml_texts(list.body, "PolicyArn"), (std::vector<std::string>{basic, mine}));
  auto filtered = call({{"Action", "ListAttachedRolePolicies"},
                        {"RoleName", "r"},
                        {"PathPrefix", "/service-role/"}});
  EXPECT_EQ(xml_texts(filtered.body, "PolicyArn"), std::vector<std::string>{basic});
  auto paged = call({{"Action", "ListAttachedRolePolicies"}, {"RoleName", "r"}, {"MaxItems", "1"}});
  EXPECT_EQ(xml_text(paged.body, "IsTruncated"), "true");
  auto rest = call({{"Action", "ListAttachedRolePolicies"},
                    {"RoleName", "r"},
                    {"Marker", xml_text(paged.body, "Marker")}});
  EXPECT_EQ(xml_texts(rest.body, "PolicyArn"), std::vector<std::string>{mine});

  auto bad = call(
      {{"Action", "AttachRolePolicy"}, {"RoleName", "r"}, {"PolicyArn", "not-an-arn-at-all-xx"}});
  EXPECT_EQ(xml_text(bad.body, "Code"), "InvalidInput");
  auto ghost = call({{"Action", "AttachRolePolicy"}, {"RoleName", "ghost"}, {"PolicyArn", mine}});
  EXPECT_EQ(ghost.status, 404);

  auto conflict = call({{"Action", "DeleteRole"}, {"RoleName", "r"}});
  EXPECT_EQ(conflict.status, 409);
  EXPECT_EQ(xml_text(conflict.body, "Code"), "DeleteConflict");
  EXPECT_EQ(xml_text(conflict.body, "Message"),
            "Cannot delete entity, must detach all policies first.");

  ASSERT_EQ(call({{"Action", "DetachRolePolicy"}, {"RoleName", "r"}, {"PolicyArn", basic}}).status,
            200);
  auto again = call({{"Action", "DetachRolePolicy"}, {"RoleName", "r"}, {"PolicyArn", basic}});
  EXPECT_EQ(again.status, 404);
  EXPECT_EQ(xml_text(again.body, "Message"), "Policy " + basic + " was not found.");
  ASSERT_EQ(call({{"Action", "DetachRolePolicy"}, {"RoleName", "r"}, {"PolicyArn", mine}}).status,
            200);
  auto deleted = call({{"Action", "DeleteRole"}, {"RoleName", "r"}});
  EXPECT_EQ(deleted.status, 200);
  EXPECT_EQ(deleted.body,
            "<DeleteRoleResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">"
            "<ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata>"
            "</DeleteRoleResponse>");
  EXPECT_EQ(call({{"Action", "GetRole"}, {"RoleName", "r"}}).status, 404);
}

TEST_F(IamTest, InlinePolicies) {
  ASSERT_EQ(create("r").status, 200);
  const std::string doc =
      R"({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "logs:*", "Resource": "*"}]})";
  ASSERT_EQ(call({{"Action", "PutRolePolicy"},
                  {"RoleName", "r"},
                  {"PolicyName", "logs"},
                  {"PolicyDocument", doc}})
                .status,
            200);
  ASSERT_EQ(call({{"Action", "PutRolePolicy"},
                  {"RoleName", "r"},
                  {"PolicyName", "extra"},
                  {"PolicyDocument", "{}"}})
                .status,
            200);
  auto bad = call({{"Action", "PutRolePolicy"},
                   {"RoleName", "r"},
                   {"PolicyName", "bad"},
                   {"PolicyDocument", "[1,"}});
  EXPECT_EQ(xml_text(bad.body, "Code"), "MalformedPolicyDocument");

  auto get = call({{"Action", "GetRolePolicy"}, {"RoleName", "r"}, {"PolicyName", "logs"}});
  ASSERT_EQ(get.status, 200);
  EXPECT_EQ(xml_text(get.body, "RoleName"), "r");
  EXPECT_EQ(xml_text(get.body, "PolicyName"), "logs");
  EXPECT_EQ(http::url_decode(xml_text(get.body, "PolicyDocument")), doc);  // verbatim

  auto list = call({{"Action", "ListRolePolicies"}, {"RoleName", "r"}});
  EXPECT_EQ(xml_texts(list.body, "member"), (std::vector<std::string>{"extra", "logs"}));
  EXPECT_EQ(xml_text(list.body, "IsTruncated"), "false");

  auto conflict = call({{"Action", "DeleteRole"}, {"RoleName", "r"}});
  EXPECT_EQ(xml_text(conflict.body, "Message"),
            "Cannot delete entity, must delete policies first.");

  auto missing = call({{"Action", "GetRolePolicy"}, {"RoleName", "r"}, {"PolicyName", "nope"}});
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(xml_text(missing.body, "Message"), "The role policy with name nope cannot be found.");

  for (auto name : {"logs", "extra"})
    ASSERT_EQ(
        call({{"Action", "DeleteRolePolicy"}, {"RoleName", "r"}, {"PolicyName", name}}).status,
        200);
  EXPECT_EQ(
      call({{"Action", "DeleteRolePolicy"}, {"RoleName", "r"}, {"PolicyName", "logs"}}).status,
      404);
  EXPECT_EQ(call({{"Action", "DeleteRole"}, {"RoleName", "r"}}).status, 200);
}

TEST_F(IamTest, UpdateAssumeRolePolicy) {
  ASSERT_EQ(create("r").status, 200);
  ASSERT_EQ(
      call({{"Action", "UpdateAssumeRolePolicy"}, {"RoleName", "r"}, {"PolicyDocument", "{}"}})
          .status,
      200);
  auto g = call({{"Action", "GetRole"}, {"RoleName", "r"}});
  EXPECT_EQ(http::url_decode(xml_text(g.body, "AssumeRolePolicyDocument")), "{}");
}

TEST_F(IamTest, UnknownActionAndReset) {
  auto r = call({{"Action", "CreateUser"}, {"UserName", "x"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(xml_text(r.body, "Code"), "InvalidAction");
  EXPECT_EQ(xml_text(r.body, "Message"),
            "Could not find operation CreateUser for version 2010-05-08");

  ASSERT_EQ(create("r").status, 200);
  ASSERT_EQ(call({{"Action", "PutRolePolicy"},
                  {"RoleName", "r"},
                  {"PolicyName", "p"},
                  {"PolicyDocument", "{}"}})
                .status,
            200);
  iam_->reset();
  EXPECT_TRUE(store_->scan("iam/").empty());
  EXPECT_EQ(call({{"Action", "GetRole"}, {"RoleName", "r"}}).status, 404);
}

}  // namespace
}  // namespace nimbus::services::iam
