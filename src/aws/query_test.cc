#include "aws/query.h"

#include <gtest/gtest.h>

namespace nimbus::aws::query {
namespace {

http::Request form_post(std::string body) {
  http::Request r;
  r.method = "POST";
  r.target = r.path = "/";
  r.headers.add("Content-Type", "application/x-www-form-urlencoded; charset=utf-8");
  r.body = std::move(body);
  return r;
}

TEST(Query, ParsesFormBodyWithListsAndStructs) {
  // As botocore serializes AssumeRole with PolicyArns and Tags.
  auto p = Params::parse(form_post(
      "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fr"
      "&RoleSessionName=s&PolicyArns.member.1.arn=arn%3Aa&PolicyArns.member.2.arn=arn%3Ab"
      "&Tags.member.10.Key=k10&Tags.member.10.Value=v10&Tags.member.2.Key=k2&Tags.member.2.Value="
      "v+2&TransitiveTagKeys.member.1=k2&Policy=%7B%22a%22%3A1%7D"));
  EXPECT_EQ(p.action(), "AssumeRole");
  EXPECT_EQ(p.version(), "2011-06-15");
  EXPECT_EQ(p.get_or_empty("RoleArn"), "arn:aws:iam::123456789012:role/r");
  EXPECT_EQ(p.get_or_empty("Policy"), R"({"a":1})");
  EXPECT_FALSE(p.get("Missing"));
  EXPECT_EQ(p.get_or("Missing", "dflt"), "dflt");

  auto arns = p.get_struct_list("PolicyArns");
  ASSERT_EQ(arns.size(), 2u);
  EXPECT_EQ(arns[0]["arn"], "arn:a");
  EXPECT_EQ(arns[1]["arn"], "arn:b");

  auto tags = p.get_struct_list("Tags");  // numeric, not lexicographic, order
  ASSERT_EQ(tags.size(), 2u);
  EXPECT_EQ(tags[0]["Key"], "k2");
  EXPECT_EQ(tags[0]["Value"], "v 2");
  EXPECT_EQ(tags[1]["Key"], "k10");

  EXPECT_EQ(p.get_list("TransitiveTagKeys"), std::vector<std::string>{"k2"});
}

TEST(Query, ParsesQueryStringMapsAndFlattenedLists) {
  http::Request r;
  r.method = "GET";
  r.query =
      "Action=X&Attrs.entry.2.key=b&Attrs.entry.2.value=2&Attrs.entry.1.key=a"
      "&Attrs.entry.1.value=1&Ids.1=x&Ids.2=y";
  auto p = Params::parse(r);
  EXPECT_EQ(p.action(), "X");
  auto m = p.get_map("Attrs");
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0], (std::pair<std::string, std::string>{"a", "1"}));
  EXPECT_EQ(m[1], (std::pair<std::string, std::string>{"b", "2"}));
  EXPECT_EQ(p.get_list("Ids"), (std::vector<std::string>{"x", "y"}));
}

TEST(Query, ValidationWording) {
  auto p = Params::from_pairs({{"RoleSessionName", "a"}, {"DurationSeconds", "100"}});
  Validation v;
  v.require(p, "RoleArn");
  v.length(p, "RoleSessionName", 2, 64);
  int64_t d = 3600;
  v.integer(p, "DurationSeconds", 900, 43200, &d);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(d, 3600);
  auto e = v.error();
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.code, "ValidationError");
  EXPECT_EQ(e.message,
            "3 validation errors detected: Value null at 'roleArn' failed to satisfy constraint: "
            "Member must not be null; Value 'a' at 'roleSessionName' failed to satisfy "
            "constraint: Member must have length greater than or equal to 2; Value '100' at "
            "'durationSeconds' failed to satisfy constraint: Member must have value greater than "
            "or equal to 900");

  Validation one;
  one.name_pattern(Params::from_pairs({{"RoleName", "a/b"}}), "RoleName", "[\\w+=,.@-]+");
  EXPECT_EQ(one.error().message,
            "1 validation error detected: Value 'a/b' at 'roleName' failed to satisfy "
            "constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+");
}

TEST(Query, ResponseEnvelope) {
  XmlWriter w;
  w.open("Credentials")
      .element("AccessKeyId", "A<&>")
      .element("N", int64_t{5})
      .close("Credentials");
  auto r = response("AssumeRole", kStsNamespace, w.str(), "req-1");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers.get_or("Content-Type"), "text/xml");
  EXPECT_EQ(r.body,
            "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
            "<AssumeRoleResult><Credentials><AccessKeyId>A&lt;&amp;&gt;</AccessKeyId><N>5</N>"
            "</Credentials></AssumeRoleResult><ResponseMetadata><RequestId>req-1</RequestId>"
            "</ResponseMetadata></AssumeRoleResponse>");
  auto empty = response("DeleteRole", kIamNamespace, std::nullopt, "req-2");
  EXPECT_EQ(empty.body,
            "<DeleteRoleResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">"
            "<ResponseMetadata><RequestId>req-2</RequestId></ResponseMetadata>"
            "</DeleteRoleResponse>");
}

TEST(Query, ErrorEnvelopeUsesServiceNamespace) {
  auto r =
      error_response(ApiError::make(404, "NoSuchEntity", "The role with name x cannot be found."),
                     "req-3", kIamNamespace);
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body,
            "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>Sender"
            "</Type><Code>NoSuchEntity</Code><Message>The role with name x cannot be found."
            "</Message></Error><RequestId>req-3</RequestId></ErrorResponse>");
  auto s = error_response(ApiError::internal("boom"), "r", kStsNamespace);
  EXPECT_NE(s.body.find("xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\""), std::string::npos);
  EXPECT_NE(s.body.find("<Type>Receiver</Type>"), std::string::npos);
}

TEST(Query, Iso8601) {
  EXPECT_EQ(iso8601(1704164645'123), "2024-01-02T03:04:05Z");
  EXPECT_EQ(iso8601(0), "1970-01-01T00:00:00Z");
}

}  // namespace
}  // namespace nimbus::aws::query
