#include "services/lambda/provisioned.h"

#include <gtest/gtest.h>

namespace nimbus::services::lambda {
namespace {

namespace json = boost::json;

// A function with versions 1 and 2, alias "live" → 1 and alias "dev" → $LATEST.
FunctionRecord record() {
  FunctionRecord rec;
  rec.latest.config = json::object{
      {"FunctionArn", "arn:aws:lambda:us-east-1:000000000000:function:f"}, {"Version", "$LATEST"}};
  rec.versions[1] = rec.latest;
  rec.versions[2] = rec.latest;
  rec.aliases["live"] = json::object{{"Name", "live"}, {"FunctionVersion", "1"}};
  rec.aliases["dev"] = json::object{{"Name", "dev"}, {"FunctionVersion", "$LATEST"}};
  return rec;
}

// AWS: provisioned concurrency applies only to published versions and
// aliases of them; $LATEST is refused with InvalidParameterValueException.
TEST(Provisioned, LatestIsRefused) {
  auto rec = record();
  for (auto q : {"", "$LATEST", "dev"}) {
    auto r = check_provisioned_qualifier(rec, q, ProvisionedOp::kPut);
    ASSERT_FALSE(r) << q;
    EXPECT_EQ(r.error().code, "InvalidParameterValueException");
    EXPECT_NE(r.error().message.find("unpublished"), std::string::npos);
  }
  auto g = check_provisioned_qualifier(rec, "$LATEST", ProvisionedOp::kGet);
  ASSERT_FALSE(g);
  EXPECT_EQ(g.error().message,
            "The function resource provided must be an alias or a published version.");
}

// AWS: a missing version or alias is ResourceNotFoundException.
TEST(Provisioned, MissingVersionOrAliasIsNotFound) {
  auto rec = record();
  auto v = check_provisioned_qualifier(rec, "7", ProvisionedOp::kPut);
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code, "ResourceNotFoundException");
  auto a = check_provisioned_qualifier(rec, "nope", ProvisionedOp::kGet);
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().code, "ResourceNotFoundException");
  EXPECT_TRUE(check_provisioned_qualifier(rec, "1", ProvisionedOp::kPut));
  EXPECT_TRUE(check_provisioned_qualifier(rec, "live", ProvisionedOp::kPut));
}

// AWS: an alias and the version it points to cannot both have a
// configuration (ResourceConflictException, whichever comes second).
TEST(Provisioned, AliasAndItsVersionConflict) {
  auto rec = record();
  rec.provisioned["1"] = {2, "t"};
  auto a = check_provisioned_qualifier(rec, "live", ProvisionedOp::kPut);
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().code, "ResourceConflictException");
  rec.provisioned.clear();
  rec.provisioned["live"] = {2, "t"};
  auto v = check_provisioned_qualifier(rec, "1", ProvisionedOp::kPut);
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code, "ResourceConflictException");
  EXPECT_TRUE(check_provisioned_qualifier(rec, "2", ProvisionedOp::kPut));
}

// AWS: "Alias with weights can not be used with Provisioned Concurrency".
TEST(Provisioned, WeightedAliasIsRefused) {
  auto rec = record();
  rec.aliases["live"]["RoutingConfig"] =
      json::object{{"AdditionalVersionWeights", json::object{{"2", 0.25}}}};
  auto r = check_provisioned_qualifier(rec, "live", ProvisionedOp::kPut);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "InvalidParameterValueException");
}

// An alias's instances belong to its version; while it routes a weight to a
// second version (an update during a canary), the count is split by weight.
TEST(Provisioned, SharesFollowTheAlias) {
  auto rec = record();
  rec.provisioned["live"] = {4, "t"};
  rec.provisioned["2"] = {1, "t"};
  EXPECT_EQ(provisioned_by_version(rec), (std::map<std::string, int>{{"1", 4}, {"2", 1}}));
  rec.aliases["live"]["RoutingConfig"] =
      json::object{{"AdditionalVersionWeights", json::object{{"2", 0.25}}}};
  EXPECT_EQ(provisioned_by_version(rec), (std::map<std::string, int>{{"1", 3}, {"2", 2}}));
  EXPECT_EQ(provisioned_total(rec), 5);
}

// Status: IN_PROGRESS until every share is allocated, READY then; FAILED with
// Lambda's reason when instances fail their init.
TEST(Provisioned, ViewReflectsThePool) {
  std::vector<std::pair<std::string, int>> shares{{"1", 2}};
  faas::ProvisionedStatus s;
  s.requested = 2;
  s.allocated = 1;
  s.available = 1;
  auto v = provisioned_view(shares, [&](const std::string&) { return s; });
  EXPECT_EQ(v.status, "IN_PROGRESS");
  EXPECT_EQ(v.allocated, 1);
  s.init_error = "boom";
  v = provisioned_view(shares, [&](const std::string&) { return s; });
  EXPECT_EQ(v.status, "FAILED");
  EXPECT_EQ(v.status_reason, "FUNCTION_ERROR_INIT_FAILURE");
  s.init_error.clear();
  s.allocated = 2;
  s.ready = true;
  v = provisioned_view(shares, [&](const std::string&) { return s; });
  EXPECT_EQ(v.status, "READY");
  EXPECT_EQ(v.allocated, 2);
  EXPECT_TRUE(v.status_reason.empty());
}

// The configuration survives a restart: it is part of the stored record.
TEST(Provisioned, PersistedWithTheRecord) {
  auto rec = record();
  rec.provisioned["live"] = {3, "2026-01-01T00:00:00.000+0000"};
  auto back = parse_record(serialize_record(rec));
  ASSERT_TRUE(back);
  ASSERT_EQ(back->provisioned.size(), 1u);
  EXPECT_EQ(back->provisioned["live"].requested, 3);
  EXPECT_EQ(back->provisioned["live"].last_modified, "2026-01-01T00:00:00.000+0000");
}

}  // namespace
}  // namespace nimbus::services::lambda
