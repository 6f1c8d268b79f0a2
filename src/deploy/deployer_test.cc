#include "deploy/deployer.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <regex>

#include "deploy/deployer_test_support.h"

namespace nimbus::deploy {
namespace {

// ---------------------------------------------------------------------------
// Plan

TEST(Plan, CreatesUpdatesDeletesAndLeavesUnchangedAlone) {
  StackState current, desired;
  current.functions["Same"] = fn("Same", "s-Same");
  current.functions["Code"] = fn("Code", "s-Code", "old");
  current.functions["Gone"] = fn("Gone", "s-Gone");
  current.apis["OldApi"] = ApiState{"OldApi", "AWS::Serverless::Api", "abc", "d1"};
  current.apis["Api"] = ApiState{"Api", "AWS::Serverless::Api", "xyz", "d1"};
  desired.functions["Same"] = fn("Same", "s-Same");
  desired.functions["Code"] = fn("Code", "s-Code", "new");
  desired.functions["New"] = fn("New", "s-New");
  desired.apis["Api"] = ApiState{"Api", "AWS::Serverless::Api", "", "d2"};

  auto changes = plan(current, desired, {"New", "Code", "Same", "Api"});
  ASSERT_EQ(changes.size(), 6u);
  EXPECT_EQ(changes[0].logical_id, "New");
  EXPECT_EQ(changes[0].action, Action::kCreate);
  EXPECT_EQ(changes[1].logical_id, "Code");
  EXPECT_EQ(changes[1].action, Action::kUpdate);
  EXPECT_TRUE(changes[1].code);
  EXPECT_FALSE(changes[1].configuration);
  EXPECT_EQ(changes[2].action, Action::kUnchanged);
  EXPECT_EQ(changes[3].logical_id, "Api");
  EXPECT_EQ(changes[3].action, Action::kUpdate);
  // Deletes come last, APIs before the functions they route to.
  EXPECT_EQ(changes[4], (Change{Action::kDelete, "OldApi", "AWS::Serverless::Api"}));
  EXPECT_EQ(changes[5], (Change{Action::kDelete, "Gone", "AWS::Serverless::Function"}));
}

TEST(Plan, FunctionDiffSeparatesCodeConfigurationAndConcurrency) {
  auto cur = fn("F", "n");
  auto want = cur;
  EXPECT_EQ(diff_function(&cur, want).action, Action::kUnchanged);
  want.settings.memory_size = 512;
  auto c = diff_function(&cur, want);
  EXPECT_EQ(c.action, Action::kUpdate);
  EXPECT_TRUE(c.configuration);
  EXPECT_FALSE(c.code);
  want = cur;
  want.settings.environment["TABLE_NAME"] = "orders";
  EXPECT_TRUE(diff_function(&cur, want).configuration);
  want = cur;
  want.reserved_concurrency = 5;
  c = diff_function(&cur, want);
  EXPECT_TRUE(c.concurrency);
  EXPECT_FALSE(c.configuration);
  want = cur;
  want.alias = "live";
  EXPECT_EQ(diff_function(&cur, want).action, Action::kUpdate);  // alias missing
  cur.alias = "live";
  EXPECT_EQ(diff_function(&cur, want).action, Action::kUnchanged);
}

TEST(Plan, RenamedFunctionIsReplaced) {
  StackState current, desired;
  current.functions["F"] = fn("F", "old-name");
  desired.functions["F"] = fn("F", "new-name");
  auto changes = plan(current, desired);
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].action, Action::kCreate);
  EXPECT_TRUE(changes[0].replace);
  EXPECT_EQ(changes[1].action, Action::kDelete);
}

TableState table(std::string id, std::string name, std::string keys = "HASH id S") {
  TableState t;
  t.logical_id = std::move(id);
  t.type = "AWS::DynamoDB::Table";
  t.name = std::move(name);
  t.key_schema = std::move(keys);
  t.billing_mode = "PAY_PER_REQUEST";
  t.tags = {{"nimbus:stack", "s"}, {"nimbus:logical-id", t.logical_id}};
  return t;
}

// CloudFormation's update behaviours of AWS::DynamoDB::Table: KeySchema and
// TableName need replacement; BillingMode, ProvisionedThroughput and Tags
// are updated without interruption.
TEST(Plan, TableKeysOrNameReplaceBillingAndTagsUpdate) {
  auto cur = table("T", "t");
  EXPECT_EQ(diff_table(nullptr, cur).action, Action::kCreate);
  EXPECT_FALSE(diff_table(nullptr, cur).replace);
  EXPECT_EQ(diff_table(&cur, cur).action, Action::kUnchanged);
  auto want = cur;
  want.billing_mode = "PROVISIONED";
  want.read_capacity = want.write_capacity = 5;
  auto c = diff_table(&cur, want);
  EXPECT_EQ(c.action, Action::kUpdate);
  EXPECT_TRUE(c.configuration);
  EXPECT_FALSE(c.tags);
  want = cur;
  want.tags["team"] = "shop";
  c = diff_table(&cur, want);
  EXPECT_EQ(c.action, Action::kUpdate);
  EXPECT_TRUE(c.tags);
  EXPECT_FALSE(c.configuration);
  for (auto changed : {table("T", "t", "HASH id N"), table("T", "t2")}) {
    c = diff_table(&cur, changed);
    EXPECT_EQ(c.action, Action::kCreate);
    EXPECT_TRUE(c.replace);
  }

  StackState current, desired;
  current.tables["Gone"] = table("Gone", "g");
  current.tables["Keys"] = table("Keys", "k");
  current.functions["Fn"] = fn("Fn", "f");
  desired.tables["Keys"] = table("Keys", "k2", "HASH pk S");
  auto changes = plan(current, desired);
  ASSERT_EQ(changes.size(), 4u);
  EXPECT_EQ(changes[0].action, Action::kCreate);
  EXPECT_TRUE(changes[0].replace);
  // Functions are deleted before the tables they may use.
  EXPECT_EQ(changes[1], (Change{Action::kDelete, "Fn", "AWS::Serverless::Function"}));
  EXPECT_EQ(changes[2], (Change{Action::kDelete, "Gone", "AWS::DynamoDB::Table"}));
  EXPECT_EQ(changes[3], (Change{Action::kDelete, "Keys", "AWS::DynamoDB::Table"}));
}

// CloudFormation: LocalSecondaryIndexes need replacement; GlobalSecondaryIndexes
// and StreamSpecification are updated in place.
TEST(Plan, LocalIndexesReplaceGlobalIndexesAndStreamsUpdate) {
  auto cur = table("T", "t", "HASH pk S, RANGE sk S");
  // Without local indexes the identity (hashed into generated names) is the
  // key schema, as before tables had indexes.
  EXPECT_EQ(table_identity(cur), "HASH pk S, RANGE sk S");
  IndexState lsi{"byDate", {"pk", "S"}, KeyAttribute{"date", "S"}, "KEYS_ONLY"};
  auto want = cur;
  want.local_indexes["byDate"] = lsi;
  auto c = diff_table(&cur, want);
  EXPECT_EQ(c.action, Action::kCreate);
  EXPECT_TRUE(c.replace);
  EXPECT_NE(physical_table_name("s", "T", table_identity(cur)),
            physical_table_name("s", "T", table_identity(want)));
  cur.local_indexes["byDate"] = lsi;
  EXPECT_EQ(diff_table(&cur, want).action, Action::kUnchanged);
  want.local_indexes["byDate"].projection_type = "ALL";
  EXPECT_TRUE(diff_table(&cur, want).replace);

  want = cur;
  want.global_indexes["byEmail"] = IndexState{"byEmail", {"email", "S"}};
  c = diff_table(&cur, want);
  EXPECT_EQ(c.action, Action::kUpdate);
  EXPECT_TRUE(c.configuration);
  EXPECT_FALSE(c.replace);
  want = cur;
  want.stream_view_type = "NEW_IMAGE";
  c = diff_table(&cur, want);
  EXPECT_EQ(c.action, Action::kUpdate);
  EXPECT_TRUE(c.configuration);
}

TEST(Plan, EmptyTemplateDeletesEverything) {
  StackState current;
  current.functions["A"] = fn("A", "a");
  current.functions["B"] = fn("B", "b");
  auto changes = plan(current, StackState{});
  ASSERT_EQ(changes.size(), 2u);
  for (auto& c : changes) EXPECT_EQ(c.action, Action::kDelete);
}

// ---------------------------------------------------------------------------
// Rollback

TEST(Journal, UndoesInReverseOrderAndKeepsGoingAfterAFailure) {
  Journal j;
  std::vector<std::string> ran;
  for (std::string id : {"First", "Second", "Third"})
    j.record({"DELETE_COMPLETE", "AWS::Serverless::Function", id,
              [&ran, id]() -> Result<void, std::string> {
                ran.push_back(id);
                if (id == "Second") return fail(std::string("boom"));
                return {};
              }});
  std::vector<std::pair<std::string, std::string>> reported;
  bool ok = j.rollback([&](const Journal::Step& s, const std::string& error) {
    reported.emplace_back(s.logical_id, error);
  });
  EXPECT_FALSE(ok);
  EXPECT_EQ(ran, (std::vector<std::string>{"Third", "Second", "First"}));
  ASSERT_EQ(reported.size(), 3u);
  EXPECT_EQ(reported[1], (std::pair<std::string, std::string>{"Second", "boom"}));
  EXPECT_TRUE(j.empty());
}

// ---------------------------------------------------------------------------
// Names

TEST(UsagePlanPatch, UpdatesThrottleQuotaAndStagesAndUndoes) {
  auto current = json::parse(R"({"id":"p","throttle":{"burstLimit":5,"rateLimit":2.0},
      "quota":{"limit":100,"offset":0,"period":"DAY"},
      "apiStages":[{"apiId":"a","stage":"old"}]})");
  auto want = json::parse(R"({"quota":{"limit":50,"period":"WEEK"},
      "apiStages":[{"apiId":"a","stage":"prod"}]})");
  EXPECT_EQ(json::value(usage_plan_patch(current.as_object(), want.as_object())), json::parse(R"([
      {"op":"remove","path":"/throttle"},
      {"op":"remove","path":"/quota"},
      {"op":"replace","path":"/quota/limit","value":"50"},
      {"op":"replace","path":"/quota/period","value":"WEEK"},
      {"op":"add","path":"/apiStages","value":"a:prod"},
      {"op":"remove","path":"/apiStages","value":"a:old"}])"));
  // The same settings (an absent offset is 0): nothing to patch.
  auto same = json::parse(R"({"throttle":{"burstLimit":5,"rateLimit":2},
      "quota":{"limit":100,"period":"DAY"},"apiStages":[{"apiId":"a","stage":"old"}]})");
  EXPECT_TRUE(usage_plan_patch(current.as_object(), same.as_object()).empty());
  // The undo of adding a throttle removes it.
  auto bare = json::parse(R"({"apiStages":[{"apiId":"a","stage":"old"}]})");
  EXPECT_EQ(json::value(usage_plan_patch(same.as_object(), bare.as_object())), json::parse(R"([
      {"op":"remove","path":"/throttle"},{"op":"remove","path":"/quota"}])"));
}

TEST(Names, PhysicalFunctionNameIsStableBoundedAndValid) {
  auto a = physical_function_name("orders", "CreateOrder");
  EXPECT_EQ(a, physical_function_name("orders", "CreateOrder"));
  EXPECT_NE(a, physical_function_name("orders2", "CreateOrder"));
  EXPECT_TRUE(std::regex_match(a, std::regex("orders-CreateOrder-[0-9A-F]{12}"))) << a;
  auto long_name = physical_function_name(std::string(100, 's'), std::string(100, 'L'));
  EXPECT_LE(long_name.size(), 64u);
}

TEST(Names, GeneratedTableNameChangesWithTheKeySchemaOnly) {
  auto a = physical_table_name("orders", "Orders", "HASH id S");
  EXPECT_EQ(a, physical_table_name("orders", "Orders", "HASH id S"));
  EXPECT_TRUE(std::regex_match(a, std::regex("orders-Orders-[0-9A-F]{12}"))) << a;
  // A replacement's new table needs a name the old one does not hold.
  EXPECT_NE(a, physical_table_name("orders", "Orders", "HASH id N"));
  EXPECT_NE(a, physical_table_name("orders", "Other", "HASH id S"));
}

TEST(Names, DefaultStackNameComesFromTheFolder) {
  EXPECT_EQ(default_stack_name("/tmp/orders api/template.yaml"), "orders-api");
  EXPECT_EQ(default_stack_name("/tmp/1app/template.yaml"), "stack-1app");
}

// ---------------------------------------------------------------------------
// deploy() against a fake server (deployer_test_support.h)

TEST_F(DeployTest, CreatesFunctionsInDependencyOrderWithStackTags) {
  auto r = run(std::string(kTwoFunctions));
  ASSERT_TRUE(r.ok) << err_.str();
  EXPECT_EQ(r.function_names.at("First"), physical_function_name("app", "First"));
  EXPECT_EQ(server_.functions.size(), 2u);
  auto out = out_.str();
  auto first = out.find("CREATE_COMPLETE"), second = out.rfind("CREATE_COMPLETE");
  ASSERT_NE(first, std::string::npos);
  EXPECT_LT(out.find("First", first), out.find("Second", first));
  EXPECT_NE(second, first);
}

TEST_F(DeployTest, FailedCreateRollsBackWhatTheDeployCreated) {
  server_.fail_create.insert(physical_function_name("app", "Second"));
  auto r = run(std::string(kTwoFunctions));
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(server_.functions.empty());  // First was deleted again
  EXPECT_NE(out_.str().find("CREATE_FAILED"), std::string::npos) << out_.str();
  EXPECT_NE(out_.str().find("bad function"), std::string::npos);
  EXPECT_NE(out_.str().find("ROLLBACK_COMPLETE"), std::string::npos);
  EXPECT_EQ(server_.calls.back(),
            "DELETE /2015-03-31/functions/" + physical_function_name("app", "First"));
}

TEST_F(DeployTest, TemplateErrorsTouchNothing) {
  auto r =
      run("Resources:\n  F:\n    Type: AWS::Serverless::Function\n"
          "    Properties: {Handler: h, Runtime: python3.11, Timeout: soon}\n"
          "  Q:\n    Type: AWS::SQS::Queue\n");
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(server_.calls.empty());
  EXPECT_NE(err_.str().find("template.yaml:5:3"), std::string::npos) << err_.str();
  EXPECT_NE(err_.str().find("AWS::SQS::Queue"), std::string::npos);
}

// SAM: LayerName defaults to the logical id, !Ref of a LayerVersion is its
// version ARN, and a redeploy publishes a new version only when the content
// changed (deleting the stack's previous one); removal deletes the versions.
TEST_F(DeployTest, LayersArePublishedOnceReferencedAndReplacedOnChange) {
  fs::create_directories(dir_ / "libs/python");
  std::ofstream(dir_ / "libs/python/shared.py") << "X = 1\n";
  const std::string tmpl = R"(Transform: AWS::Serverless-2016-10-31
Resources:
  Libs:
    Type: AWS::Serverless::LayerVersion
    Properties: {ContentUri: libs/, CompatibleRuntimes: [python3.11], Description: shared code}
  Fn:
    Type: AWS::Serverless::Function
    Properties: {Handler: index.h, Runtime: python3.11, InlineCode: x, Layers: [!Ref Libs]}
)";
  auto r = run(tmpl);
  ASSERT_TRUE(r.ok) << err_.str() << out_.str();
  ASSERT_EQ(server_.layers["Libs"].size(), 1u);
  auto& v1 = server_.layers["Libs"][1];
  EXPECT_EQ(layer_owner(std::string(v1["Description"].as_string()))->logical_id, "Libs");
  EXPECT_TRUE(std::string(v1["Description"].as_string()).starts_with("shared code "));
  const std::string arn1 = "arn:aws:lambda:us-east-1:123456789012:layer:Libs:1";
  auto fn = physical_function_name("app", "Fn");
  EXPECT_EQ(server_.create_requests[fn]["Layers"], json::array{json::value(arn1)});

  // Unchanged content: no new version.
  ASSERT_TRUE(run(tmpl).ok) << err_.str();
  EXPECT_EQ(server_.next_layer_version["Libs"], 1);

  // Changed content: version 2, the function uses it, version 1 goes.
  std::ofstream(dir_ / "libs/python/shared.py") << "X = 2\n";
  ASSERT_TRUE(run(tmpl).ok) << err_.str();
  EXPECT_EQ(server_.next_layer_version["Libs"], 2);
  EXPECT_EQ(server_.layers["Libs"].count(1), 0u);
  EXPECT_EQ(server_.create_requests[fn]["Layers"],
            json::array{json::value("arn:aws:lambda:us-east-1:123456789012:layer:Libs:2")});

  // Removed from the template: the stack's versions are deleted.
  ASSERT_TRUE(run("Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n"
                  "    Properties: {Handler: index.h, Runtime: python3.11, InlineCode: x}\n")
                  .ok)
      << err_.str();
  EXPECT_TRUE(server_.layers["Libs"].empty());
}

TEST_F(DeployTest, FailedDeployDeletesTheLayerVersionItPublished) {
  fs::create_directories(dir_ / "libs");
  std::ofstream(dir_ / "libs/a.txt") << "a";
  server_.fail_create.insert(physical_function_name("app", "Fn"));
  auto r = run(R"(Resources:
  Libs:
    Type: AWS::Serverless::LayerVersion
    Properties: {ContentUri: libs/, LayerName: shared}
  Fn:
    Type: AWS::Serverless::Function
    Properties: {Handler: index.h, Runtime: python3.11, InlineCode: x, Layers: [!Ref Libs]}
)");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(server_.next_layer_version["shared"], 1);
  EXPECT_TRUE(server_.layers["shared"].empty());
  EXPECT_NE(out_.str().find("ROLLBACK_COMPLETE"), std::string::npos) << out_.str();
}

TEST(LayerOwner, DescriptionMarkerRoundTripsWithinLambdasLimit) {
  auto d = layer_description("my deps", "orders", "Deps");
  EXPECT_EQ(d, "my deps [nimbus:stack=orders nimbus:logical-id=Deps]");
  auto o = layer_owner(d);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->stack, "orders");
  EXPECT_EQ(o->logical_id, "Deps");
  EXPECT_FALSE(layer_owner(""));
  EXPECT_FALSE(layer_owner("a user's own description"));
  auto longest = layer_description(std::string(300, 'x'), "s", "L");
  EXPECT_EQ(longest.size(), 256u);
  EXPECT_EQ(layer_owner(longest)->logical_id, "L");
}

TEST_F(DeployTest, ApiWithoutApiGatewayFailsClearlyAndRollsBack) {
  auto r = run(R"(Transform: AWS::Serverless-2016-10-31
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Handler: index.h
      Runtime: python3.11
      InlineCode: x
      Events:
        Get: {Type: Api, Properties: {Path: /x, Method: get}}
)");
  EXPECT_FALSE(r.ok);
  EXPECT_NE(err_.str().find("does not implement API Gateway"), std::string::npos) << err_.str();
  EXPECT_NE(out_.str().find("ROLLBACK_COMPLETE"), std::string::npos);
  EXPECT_TRUE(server_.functions.empty());
}

TEST_F(DeployTest, ExplicitApiReferencedByEventsIsNamedWhenApiGatewayIsMissing) {
  auto r = run(R"(Transform: AWS::Serverless-2016-10-31
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties: {StageName: prod}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Handler: index.h
      Runtime: python3.11
      InlineCode: x
      Events:
        Get: {Type: Api, Properties: {RestApiId: !Ref Api, Path: /x, Method: get}}
)");
  EXPECT_FALSE(r.ok);
  // The function resolved its event's RestApiId before the API existed.
  EXPECT_NE(out_.str().find("CREATE_COMPLETE"), std::string::npos) << err_.str();
  EXPECT_NE(err_.str().find("template.yaml:3:3)"), std::string::npos) << err_.str();
  EXPECT_NE(err_.str().find("used by Fn.Events.Get"), std::string::npos) << err_.str();
  EXPECT_TRUE(server_.functions.empty());
}

}  // namespace
}  // namespace nimbus::deploy
