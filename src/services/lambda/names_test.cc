#include "services/lambda/names.h"

#include <gtest/gtest.h>

namespace nimbus::services::lambda {
namespace {

// Lambda accepts a function by name, partial ARN or full ARN, each with an
// optional qualifier (GetFunction's FunctionName member).
TEST(FunctionRef, AcceptsLambdaForms) {
  auto a = parse_function_ref("my-func_1");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->name, "my-func_1");
  EXPECT_EQ(a->qualifier, "");

  auto b = parse_function_ref("my-func:prod");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->qualifier, "prod");

  auto c = parse_function_ref("123456789012:function:f:$LATEST");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->account_id, "123456789012");
  EXPECT_EQ(c->qualifier, "$LATEST");

  auto d = parse_function_ref("arn:aws:lambda:eu-west-1:123456789012:function:f:7");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->region, "eu-west-1");
  EXPECT_EQ(d->name, "f");
  EXPECT_EQ(d->qualifier, "7");
}

// Invalid names get ValidationException with Lambda's constraint wording.
TEST(FunctionRef, RejectsInvalidNames) {
  for (const char* bad : {"", "has space", "a:b:c", "arn:aws:lambda:us-east-1:12:function:f",
                          "x:function:f", "f:", "f:bad qualifier", "ü"}) {
    auto r = parse_function_ref(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, "ValidationException");
    EXPECT_NE(r.error().message.find("failed to satisfy constraint"), std::string::npos);
  }
  EXPECT_FALSE(parse_function_ref(std::string(65, 'a')).ok());
  EXPECT_TRUE(parse_function_ref(std::string(64, 'a')).ok());
}

TEST(Names, VersionsAliasesAndRoles) {
  EXPECT_TRUE(is_version_number("12"));
  EXPECT_FALSE(is_version_number("012"));
  EXPECT_FALSE(is_version_number("$LATEST"));
  EXPECT_TRUE(is_valid_alias_name("prod-1"));
  EXPECT_FALSE(is_valid_alias_name("123"));
  EXPECT_TRUE(is_valid_role_arn("arn:aws:iam::123456789012:role/lambda-role"));
  EXPECT_TRUE(is_valid_role_arn("arn:aws:iam::000000000000:role/service-role/x"));
  EXPECT_FALSE(is_valid_role_arn("arn:aws:iam::123:role/x"));
  EXPECT_FALSE(is_valid_role_arn("role"));
  EXPECT_EQ(function_arn("us-east-1", "000000000000", "f", "2"),
            "arn:aws:lambda:us-east-1:000000000000:function:f:2");
}

// Layer version ARNs as the model's LayerVersionArn pattern accepts them.
TEST(LayerNames, ParsesVersionArnsAndRejectsTheRest) {
  auto a = parse_layer_version_arn("arn:aws:lambda:us-east-1:123456789012:layer:my-deps_1:12");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->region, "us-east-1");
  EXPECT_EQ(a->account_id, "123456789012");
  EXPECT_EQ(a->name, "my-deps_1");
  EXPECT_EQ(a->version, 12);
  for (auto bad : {"", "my-deps", "arn:aws:lambda:us-east-1:123456789012:layer:deps",
                   "arn:aws:lambda:us-east-1:12345678901:layer:deps:1",
                   "arn:aws:lambda:us-east-1:123456789012:function:deps:1",
                   "arn:aws:lambda:us-east-1:123456789012:layer:de.ps:1",
                   "arn:aws:lambda:us-east-1:123456789012:layer:deps:1:2",
                   "arn:aws:lambda:us-east-1:123456789012:layer:deps:x"}) {
    auto r = parse_layer_version_arn(bad, "layers");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, "ValidationException");
    EXPECT_NE(r.error().message.find("at 'layers'"), std::string::npos);
  }
}

TEST(LayerNames, LayerNameIsANameOrAnUnversionedArn) {
  EXPECT_EQ(parse_layer_name("deps").value(), "deps");
  EXPECT_EQ(parse_layer_name("arn:aws:lambda:us-east-1:123456789012:layer:deps").value(), "deps");
  EXPECT_FALSE(parse_layer_name("arn:aws:lambda:us-east-1:123456789012:layer:deps:1").ok());
  EXPECT_FALSE(parse_layer_name("a/b").ok());
  EXPECT_FALSE(parse_layer_name(std::string(141, 'a')).ok());
  EXPECT_EQ(layer_arn("us-east-1", "000000000000", "deps", 3),
            "arn:aws:lambda:us-east-1:000000000000:layer:deps:3");
}

}  // namespace
}  // namespace nimbus::services::lambda
