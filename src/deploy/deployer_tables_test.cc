#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "deploy/deployer.h"
#include "deploy/deployer_test_support.h"

namespace nimbus::deploy {
namespace {

// ---------------------------------------------------------------------------
// DynamoDB tables

constexpr std::string_view kTables = R"(Transform: AWS::Serverless-2016-10-31
Resources:
  Orders:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: orders
      AttributeDefinitions: [{AttributeName: order_id, AttributeType: S}]
      KeySchema: [{AttributeName: order_id, KeyType: HASH}]
      ProvisionedThroughput: {ReadCapacityUnits: 5, WriteCapacityUnits: 5}
      Tags: [{Key: team, Value: shop}]
  Counters:
    Type: AWS::Serverless::SimpleTable
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Handler: index.h
      Runtime: python3.11
      InlineCode: x
      Environment:
        Variables: {ORDERS: !Ref Orders, ORDERS_ARN: !GetAtt Orders.Arn, COUNTERS: !Ref Counters}
Outputs:
  OrdersArn: {Value: !GetAtt Orders.Arn}
)";

// CloudFormation: tables are created (with the stack's tags) before the
// function whose environment refers to them; Ref is the name, GetAtt Arn the ARN.
TEST_F(DeployTest, TablesAreCreatedTaggedAndReferenced) {
  auto r = run(std::string(kTables));
  ASSERT_TRUE(r.ok) << err_.str() << out_.str();
  ASSERT_EQ(server_.tables.size(), 2u);
  std::string counters = physical_table_name("app", "Counters", "HASH id S");
  EXPECT_EQ(r.table_names.at("Counters"), counters);
  EXPECT_EQ(server_.tags_of("orders"), json::parse(R"({"nimbus:logical-id":"Orders",
      "nimbus:stack":"app","team":"shop"})"));
  EXPECT_EQ(server_.tables["orders"]["ProvisionedThroughput"].as_object().at("ReadCapacityUnits"),
            5);
  EXPECT_EQ(server_.tables[counters]["BillingModeSummary"].as_object().at("BillingMode"),
            "PAY_PER_REQUEST");
  auto env = server_.create_requests[physical_function_name("app", "Fn")]["Environment"]
                 .as_object()["Variables"]
                 .as_object();
  EXPECT_EQ(env["ORDERS"], "orders");
  EXPECT_EQ(env["ORDERS_ARN"], "arn:aws:dynamodb:us-east-1:123456789012:table/orders");
  EXPECT_EQ(env["COUNTERS"], json::value(counters));
  EXPECT_NE(out_.str().find("OrdersArn"), std::string::npos);
  EXPECT_TRUE(std::regex_search(
      out_.str(), std::regex("CREATE_COMPLETE +AWS::Serverless::SimpleTable +Counters")))
      << out_.str();
  EXPECT_NE(out_.str().find("Tables\n"), std::string::npos);

  // Unchanged: only reads.
  server_.calls.clear();
  ASSERT_TRUE(run(std::string(kTables)).ok) << err_.str();
  EXPECT_EQ(server_.dynamodb_writes(), std::vector<std::string>{});
  EXPECT_FALSE(std::regex_search(
      out_.str(), std::regex("_(IN_PROGRESS|COMPLETE) +AWS::(DynamoDB::Table|Serverless::Simple)")))
      << out_.str();
}

// CloudFormation updates BillingMode, ProvisionedThroughput and Tags in place.
TEST_F(DeployTest, ThroughputAndTagChangesUpdateTheTableInPlace) {
  ASSERT_TRUE(run(std::string(kTables)).ok) << err_.str();
  std::string t = with(kTables, "{ReadCapacityUnits: 5, WriteCapacityUnits: 5}",
                       "{ReadCapacityUnits: 7, WriteCapacityUnits: 3}");
  t = with(t, "[{Key: team, Value: shop}]", "[{Key: owner, Value: me}]");
  server_.calls.clear();
  ASSERT_TRUE(run(t).ok) << err_.str() << out_.str();
  auto ops = server_.dynamodb_calls();
  EXPECT_EQ(std::count(ops.begin(), ops.end(), "CreateTable"), 0);
  EXPECT_EQ(std::count(ops.begin(), ops.end(), "UpdateTable"), 1);
  EXPECT_EQ(server_.tables["orders"]["ProvisionedThroughput"].as_object().at("ReadCapacityUnits"),
            7);
  EXPECT_EQ(server_.tags_of("orders"), json::parse(R"({"nimbus:logical-id":"Orders",
      "nimbus:stack":"app","owner":"me"})"));
  EXPECT_TRUE(
      std::regex_search(out_.str(), std::regex("UPDATE_COMPLETE +AWS::DynamoDB::Table +Orders")));

  // To on-demand: UpdateTable with BillingMode only.
  ASSERT_TRUE(run(with(t, "ProvisionedThroughput: {ReadCapacityUnits: 7, WriteCapacityUnits: 3}",
                       "BillingMode: PAY_PER_REQUEST"))
                  .ok)
      << err_.str();
  EXPECT_EQ(server_.tables["orders"]["BillingModeSummary"].as_object().at("BillingMode"),
            "PAY_PER_REQUEST");
}

// CloudFormation replaces a table whose key schema changes: the new one is
// created under a new generated name, the old one deleted after the rest
// succeeded; a custom-named table cannot be replaced (CloudFormation refuses).
TEST_F(DeployTest, KeySchemaChangeReplacesAGeneratedNameAndRefusesACustomOne) {
  ASSERT_TRUE(run(std::string(kTables)).ok) << err_.str();
  std::string old_name = physical_table_name("app", "Counters", "HASH id S");
  auto r = run(with(kTables, "Type: AWS::Serverless::SimpleTable",
                    "Type: AWS::Serverless::SimpleTable\n    Properties: {PrimaryKey: {Name: n, "
                    "Type: Number}}"));
  ASSERT_TRUE(r.ok) << err_.str() << out_.str();
  std::string new_name = physical_table_name("app", "Counters", "HASH n N");
  EXPECT_EQ(server_.tables.count(old_name), 0u);
  EXPECT_EQ(server_.tables.count(new_name), 1u);
  EXPECT_EQ(r.table_names.at("Counters"), new_name);
  auto out = out_.str();
  EXPECT_LT(out.find("CREATE_COMPLETE"), out.find("DELETE_COMPLETE")) << out;

  server_.calls.clear();
  auto refused = run(with(kTables, "[{AttributeName: order_id, AttributeType: S}]",
                          "[{AttributeName: order_id, AttributeType: N}]"));
  EXPECT_FALSE(refused.ok);
  EXPECT_NE(err_.str().find("cannot update a stack when a custom-named resource requires "
                            "replacing"),
            std::string::npos)
      << err_.str();
  EXPECT_NE(out_.str().find("UPDATE_FAILED"), std::string::npos) << out_.str();
  EXPECT_EQ(server_.tables.count("orders"), 1u);
  for (const auto& op : server_.dynamodb_calls()) EXPECT_NE(op, "DeleteTable");
}

// CloudFormation: TimeToLiveSpecification is set after the table exists and
// updated in place (UpdateTimeToLive); a failed deploy restores it.
TEST_F(DeployTest, TimeToLiveIsSetUpdatedAndRestored) {
  const std::string base = with(kTables, "      Tags: [{Key: team, Value: shop}]\n",
                                "      Tags: [{Key: team, Value: shop}]\n"
                                "      TimeToLiveSpecification: {AttributeName: expires, Enabled: "
                                "true}\n");
  ASSERT_TRUE(run(base).ok) << err_.str() << out_.str();
  EXPECT_EQ(server_.tables["orders"]["Ttl"], "expires");

  ASSERT_TRUE(run(with(base, "AttributeName: expires", "AttributeName: ttl")).ok) << err_.str();
  EXPECT_EQ(server_.tables["orders"]["Ttl"], "ttl");

  // Off, then a later failure in the same deploy: back to "ttl".
  std::string off = with(base, "{AttributeName: expires, Enabled: true}", "{Enabled: false}");
  EXPECT_FALSE(run(with_failing_function(off, "Orders")).ok);
  EXPECT_EQ(server_.tables["orders"]["Ttl"], "ttl") << out_.str();
  ASSERT_TRUE(run(off).ok) << err_.str();
  EXPECT_FALSE(server_.tables["orders"].contains("Ttl"));
}

// A server without DynamoDB: templates without tables still deploy; a table
// fails naming itself, and what the deploy created is rolled back.
TEST_F(DeployTest, TableOnAServerWithoutDynamoDbFailsNamingIt) {
  server_.no_dynamodb = true;
  ASSERT_TRUE(run(std::string(kTwoFunctions)).ok) << err_.str();
  auto r = run(std::string(kTables));
  EXPECT_FALSE(r.ok);
  EXPECT_NE(err_.str().find("AWS::DynamoDB::Table Orders (" + (dir_ / "template.yaml").string() +
                            ":3:3): the server does not implement DynamoDB"),
            std::string::npos)
      << err_.str();
}

// CloudFormation deletes a resource removed from the template.
TEST_F(DeployTest, TableRemovedFromTheTemplateIsDeleted) {
  ASSERT_TRUE(run(std::string(kTables)).ok) << err_.str();
  auto r = run(R"(Resources:
  Orders:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: orders
      AttributeDefinitions: [{AttributeName: order_id, AttributeType: S}]
      KeySchema: [{AttributeName: order_id, KeyType: HASH}]
      ProvisionedThroughput: {ReadCapacityUnits: 5, WriteCapacityUnits: 5}
      Tags: [{Key: team, Value: shop}]
)");
  ASSERT_TRUE(r.ok) << err_.str();
  EXPECT_EQ(server_.tables.size(), 1u);
  EXPECT_EQ(server_.tables.count("orders"), 1u);
  EXPECT_TRUE(
      std::regex_search(out_.str(), std::regex("DELETE_COMPLETE +AWS::DynamoDB::Table +Counters")))
      << out_.str();
}

// CloudFormation's rollback: a failed deploy deletes the tables it created
// and restores the ones it updated; tables it did not create stay.
TEST_F(DeployTest, FailedDeployDeletesTheTablesItCreatedOnly) {
  server_.fail_create.insert(physical_function_name("app", "Fn"));
  auto r = run(std::string(kTables));
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(server_.tables.empty());
  EXPECT_TRUE(
      std::regex_search(out_.str(), std::regex("DELETE_COMPLETE +AWS::DynamoDB::Table +Orders")))
      << out_.str();
  EXPECT_NE(out_.str().find("ROLLBACK_COMPLETE"), std::string::npos);

  // Deployed once; then a throughput change and a failing function: the
  // table is restored, not deleted.
  server_.fail_create.clear();
  ASSERT_TRUE(run(std::string(kTables)).ok) << err_.str();
  std::string t = with(kTables, "{ReadCapacityUnits: 5, WriteCapacityUnits: 5}",
                       "{ReadCapacityUnits: 9, WriteCapacityUnits: 9}");
  t = with_failing_function(t, "Orders");
  EXPECT_FALSE(run(t).ok);
  EXPECT_EQ(server_.tables.size(), 2u);
  EXPECT_EQ(server_.tables["orders"]["ProvisionedThroughput"].as_object().at("ReadCapacityUnits"),
            5);
  EXPECT_NE(out_.str().find("ROLLBACK_COMPLETE"), std::string::npos) << out_.str();
}

// ---------------------------------------------------------------------------
// Secondary indexes and streams

constexpr std::string_view kIndexed = R"(Resources:
  Orders:
    Type: AWS::DynamoDB::Table
    Properties:
      AttributeDefinitions: [{AttributeName: customer, AttributeType: S},
        {AttributeName: order, AttributeType: S}, {AttributeName: total, AttributeType: N},
        {AttributeName: status, AttributeType: S}]
      KeySchema: [{AttributeName: customer, KeyType: HASH}, {AttributeName: order, KeyType: RANGE}]
      ProvisionedThroughput: {ReadCapacityUnits: 5, WriteCapacityUnits: 5}
      LocalSecondaryIndexes:
        - IndexName: byTotal
          KeySchema: [{AttributeName: customer, KeyType: HASH}, {AttributeName: total, KeyType: RANGE}]
          Projection: {ProjectionType: KEYS_ONLY}
      GlobalSecondaryIndexes:
        - {IndexName: byStatus, KeySchema: [{AttributeName: status, KeyType: HASH}],
           Projection: {ProjectionType: INCLUDE, NonKeyAttributes: [total, note]},
           ProvisionedThroughput: {ReadCapacityUnits: 2, WriteCapacityUnits: 3}}
      StreamSpecification: {StreamViewType: NEW_IMAGE}
  Fn:
    Type: AWS::Serverless::Function
    Properties: {Handler: index.h, Runtime: python3.11, InlineCode: x,
                 Environment: {Variables: {STREAM: !GetAtt Orders.StreamArn}}}
)";

// The GSI byCustomer, added to kIndexed.
constexpr std::string_view kByCustomer = R"(        - IndexName: byCustomer
          KeySchema: [{AttributeName: customer, KeyType: HASH}]
          Projection: {ProjectionType: ALL}
          ProvisionedThroughput: {ReadCapacityUnits: 1, WriteCapacityUnits: 1}
      StreamSpecification)";

std::string orders_table() {
  return physical_table_name("app", "Orders",
                             "HASH customer S, RANGE order S; LSI byTotal (HASH customer S, RANGE "
                             "total N) KEYS_ONLY");
}

const json::array& gsis_of(FakeServer& s, const std::string& table) {
  static const json::array none;
  auto* g = s.tables[table].if_contains("GlobalSecondaryIndexes");
  return g ? g->as_array() : none;
}

std::vector<std::string> gsi_names(FakeServer& s, const std::string& table) {
  std::vector<std::string> out;
  for (const auto& g : gsis_of(s, table))
    out.emplace_back(g.as_object().at("IndexName").as_string());
  return out;
}

// CloudFormation: a table is created with its indexes and stream in one
// CreateTable; GetAtt StreamArn is its LatestStreamArn; an unchanged
// template reads only.
TEST_F(DeployTest, IndexesAndStreamAreCreatedWithTheTableAndLeftAloneWhenUnchanged) {
  auto r = run(std::string(kIndexed));
  ASSERT_TRUE(r.ok) << err_.str() << out_.str();
  const std::string name = orders_table();
  EXPECT_EQ(r.table_names.at("Orders"), name);
  const auto& t = server_.tables.at(name);
  EXPECT_EQ(t.at("AttributeDefinitions").as_array().size(), 4u);
  EXPECT_EQ(t.at("LocalSecondaryIndexes"), json::parse(R"([{"IndexName":"byTotal",
      "KeySchema":[{"AttributeName":"customer","KeyType":"HASH"},
                   {"AttributeName":"total","KeyType":"RANGE"}],
      "Projection":{"ProjectionType":"KEYS_ONLY"}}])"));
  ASSERT_EQ(gsi_names(server_, name), (std::vector<std::string>{"byStatus"}));
  const auto& gsi = gsis_of(server_, name)[0].as_object();
  EXPECT_EQ(gsi.at("ProvisionedThroughput"),
            json::parse(R"({"ReadCapacityUnits":2,"WriteCapacityUnits":3})"));
  // Non-key attributes in a stable order, whatever the template's.
  EXPECT_EQ(gsi.at("Projection"),
            json::parse(R"({"ProjectionType":"INCLUDE","NonKeyAttributes":["note","total"]})"));
  EXPECT_EQ(t.at("StreamSpecification"),
            json::parse(R"({"StreamEnabled":true,"StreamViewType":"NEW_IMAGE"})"));
  auto env = server_.create_requests[physical_function_name("app", "Fn")]["Environment"]
                 .as_object()["Variables"]
                 .as_object();
  EXPECT_EQ(env["STREAM"], t.at("LatestStreamArn"));

  server_.calls.clear();
  ASSERT_TRUE(run(std::string(kIndexed)).ok) << err_.str();
  EXPECT_EQ(server_.dynamodb_writes(), std::vector<std::string>{});
}

// CloudFormation adds and deletes GSIs and updates their throughput without
// interruption; Nimbus also redefines one (delete, then create) and makes
// several changes one UpdateTable at a time, each waited for.
TEST_F(DeployTest, GlobalIndexesAreAddedRemovedRedefinedAndResizedInPlace) {
  ASSERT_TRUE(run(std::string(kIndexed)).ok) << err_.str();
  const std::string name = orders_table();
  const std::string with_two = with(kIndexed, "      StreamSpecification", kByCustomer);

  server_.update_requests.clear();
  ASSERT_TRUE(run(with_two).ok) << err_.str() << out_.str();
  EXPECT_EQ(server_.tables.size(), 1u);
  EXPECT_EQ(gsi_names(server_, name), (std::vector<std::string>{"byStatus", "byCustomer"}));
  ASSERT_EQ(server_.update_requests.size(), 1u);
  EXPECT_EQ(server_.update_requests[0].at("AttributeDefinitions"),
            json::parse(R"([{"AttributeName":"customer","AttributeType":"S"}])"));
  EXPECT_TRUE(
      std::regex_search(out_.str(), std::regex("UPDATE_COMPLETE +AWS::DynamoDB::Table +Orders")));

  // byStatus redefined (another projection), byCustomer resized: a delete,
  // a create, then an update, in three calls.
  std::string changed = with(with_two, "{ProjectionType: INCLUDE, NonKeyAttributes: [total, note]}",
                             "{ProjectionType: KEYS_ONLY}");
  changed = with(changed, "{ReadCapacityUnits: 1, WriteCapacityUnits: 1}",
                 "{ReadCapacityUnits: 4, WriteCapacityUnits: 4}");
  server_.update_requests.clear();
  ASSERT_TRUE(run(changed).ok) << err_.str() << out_.str();
  ASSERT_EQ(server_.update_requests.size(), 3u);
  auto update_of = [&](size_t i) {
    return server_.update_requests[i].at("GlobalSecondaryIndexUpdates").as_array()[0].as_object();
  };
  EXPECT_EQ(update_of(0).at("Delete").as_object().at("IndexName"), "byStatus");
  EXPECT_EQ(update_of(1).at("Create").as_object().at("IndexName"), "byStatus");
  EXPECT_EQ(update_of(2).at("Update").as_object().at("IndexName"), "byCustomer");
  for (const auto& g : gsis_of(server_, name)) {
    const auto& o = g.as_object();
    if (o.at("IndexName") == "byStatus")
      EXPECT_EQ(o.at("Projection").as_object().at("ProjectionType"), "KEYS_ONLY");
    else
      EXPECT_EQ(o.at("ProvisionedThroughput").as_object().at("ReadCapacityUnits"), 4);
  }

  // Back to one index: byCustomer deleted.
  const std::string one =
      with(kIndexed, "{ProjectionType: INCLUDE, NonKeyAttributes: [total, note]}",
           "{ProjectionType: KEYS_ONLY}");
  ASSERT_TRUE(run(one).ok) << err_.str();
  EXPECT_EQ(gsi_names(server_, name), (std::vector<std::string>{"byStatus"}));
  server_.calls.clear();
  ASSERT_TRUE(run(one).ok) << err_.str();
  EXPECT_EQ(server_.dynamodb_writes(), std::vector<std::string>{});
}

// CloudFormation: a LocalSecondaryIndexes change requires replacement (a new
// generated name; a custom name is refused, as a key schema change is).
TEST_F(DeployTest, LocalIndexChangeReplacesTheTable) {
  ASSERT_TRUE(run(std::string(kIndexed)).ok) << err_.str();
  const std::string old_name = orders_table();
  auto r = run(with(kIndexed, "Projection: {ProjectionType: KEYS_ONLY}",
                    "Projection: {ProjectionType: ALL}"));
  ASSERT_TRUE(r.ok) << err_.str() << out_.str();
  EXPECT_NE(r.table_names.at("Orders"), old_name);
  EXPECT_EQ(server_.tables.count(old_name), 0u);
  EXPECT_EQ(server_.tables.size(), 1u);
  auto out = out_.str();
  EXPECT_LT(out.find("CREATE_COMPLETE"), out.find("DELETE_COMPLETE")) << out;

  const std::string named = with(kIndexed, "    Properties:\n      AttributeDefinitions",
                                 "    Properties:\n      TableName: orders\n"
                                 "      AttributeDefinitions");
  ASSERT_TRUE(run(named).ok) << err_.str();
  auto refused = run(
      with(named, "Projection: {ProjectionType: KEYS_ONLY}", "Projection: {ProjectionType: ALL}"));
  EXPECT_FALSE(refused.ok);
  EXPECT_NE(err_.str().find("requires replacing (the key schema or local secondary indexes"),
            std::string::npos)
      << err_.str();
  EXPECT_EQ(server_.tables.count("orders"), 1u);
}

// CloudFormation updates StreamSpecification in place: enabled, a new view
// type (the stream disabled, then enabled again: a new ARN), disabled.
TEST_F(DeployTest, StreamIsEnabledChangedAndDisabledInPlace) {
  const std::string no_stream =
      with(kIndexed, "      StreamSpecification: {StreamViewType: NEW_IMAGE}\n", "");
  const std::string no_ref = with(no_stream, "{STREAM: !GetAtt Orders.StreamArn}", "{A: b}");
  ASSERT_TRUE(run(no_ref).ok) << err_.str();
  const std::string name = orders_table();
  EXPECT_FALSE(server_.tables[name].contains("StreamSpecification"));

  ASSERT_TRUE(run(std::string(kIndexed)).ok) << err_.str() << out_.str();
  std::string first = std::string(server_.tables[name].at("LatestStreamArn").as_string());
  EXPECT_EQ(server_.tables[name].at("StreamSpecification").as_object().at("StreamViewType"),
            "NEW_IMAGE");
  EXPECT_EQ(server_.functions.size(), 1u);

  server_.update_requests.clear();
  ASSERT_TRUE(run(with(kIndexed, "StreamViewType: NEW_IMAGE", "StreamViewType: KEYS_ONLY")).ok)
      << err_.str();
  ASSERT_EQ(server_.update_requests.size(), 2u);
  EXPECT_EQ(server_.update_requests[0].at("StreamSpecification"),
            json::parse(R"({"StreamEnabled":false})"));
  EXPECT_EQ(server_.update_requests[1].at("StreamSpecification"),
            json::parse(R"({"StreamEnabled":true,"StreamViewType":"KEYS_ONLY"})"));
  EXPECT_NE(server_.tables[name].at("LatestStreamArn"), json::value(first));

  ASSERT_TRUE(run(no_ref).ok) << err_.str();
  EXPECT_FALSE(server_.tables[name].contains("StreamSpecification"));
  EXPECT_EQ(server_.tables.size(), 1u);
}

// CloudFormation's rollback of an update: a GSI the failed deploy added is
// deleted, one it deleted is created again, the stream and throughput are
// put back.
TEST_F(DeployTest, FailedDeployRestoresIndexesAndStream) {
  ASSERT_TRUE(run(std::string(kIndexed)).ok) << err_.str();
  const std::string name = orders_table();
  const json::object before = server_.tables[name];

  std::string t = with(kIndexed, "IndexName: byStatus,", "IndexName: byState,");
  t = with(t, "      StreamSpecification", kByCustomer);
  t = with(t, "StreamViewType: NEW_IMAGE", "StreamViewType: OLD_IMAGE");
  t = with(t, "{ReadCapacityUnits: 5, WriteCapacityUnits: 5}",
           "{ReadCapacityUnits: 6, WriteCapacityUnits: 6}");
  t = with_failing_function(t, "Orders");
  EXPECT_FALSE(run(t).ok);
  EXPECT_NE(out_.str().find("ROLLBACK_COMPLETE"), std::string::npos) << out_.str();
  const auto& after = server_.tables[name];
  EXPECT_EQ(gsi_names(server_, name), (std::vector<std::string>{"byStatus"}));
  EXPECT_EQ(gsis_of(server_, name)[0], before.at("GlobalSecondaryIndexes").as_array()[0]);
  EXPECT_EQ(after.at("StreamSpecification"), before.at("StreamSpecification"));
  EXPECT_EQ(after.at("ProvisionedThroughput"), before.at("ProvisionedThroughput"));
}

// Billing mode changes of a table with GSIs: to on-demand the indexes lose
// their throughput; back to PROVISIONED they get the template's again (after
// the table's switch: DynamoDB takes index throughput of PROVISIONED tables
// only), and a rollback of the switch restores it too.
TEST_F(DeployTest, BillingChangesCarryTheGlobalIndexesAlong) {
  ASSERT_TRUE(run(std::string(kIndexed)).ok) << err_.str();
  const std::string name = orders_table();
  std::string on_demand =
      with(kIndexed, "      ProvisionedThroughput: {ReadCapacityUnits: 5, WriteCapacityUnits: 5}\n",
           "      BillingMode: PAY_PER_REQUEST\n");
  on_demand = with(
      on_demand,
      ",\n           ProvisionedThroughput: {ReadCapacityUnits: 2, WriteCapacityUnits: 3}}", "}");
  ASSERT_TRUE(run(on_demand).ok) << err_.str() << out_.str();
  EXPECT_EQ(gsis_of(server_, name)[0]
                .as_object()
                .at("ProvisionedThroughput")
                .as_object()
                .at("ReadCapacityUnits"),
            0);
  // A failed switch back leaves it on-demand.
  std::string broken = with_failing_function(kIndexed, "Orders");
  EXPECT_FALSE(run(broken).ok);
  EXPECT_EQ(server_.tables[name]["BillingModeSummary"].as_object()["BillingMode"],
            "PAY_PER_REQUEST");
  ASSERT_TRUE(run(std::string(kIndexed)).ok) << err_.str() << out_.str();
  EXPECT_EQ(gsis_of(server_, name)[0].as_object().at("ProvisionedThroughput"),
            json::parse(R"({"ReadCapacityUnits":2,"WriteCapacityUnits":3})"));
  server_.calls.clear();
  ASSERT_TRUE(run(std::string(kIndexed)).ok) << err_.str();
  EXPECT_EQ(server_.dynamodb_writes(), std::vector<std::string>{});

  // A failed switch to on-demand gives the indexes their throughput back.
  std::string broken_on_demand = with_failing_function(on_demand, "Orders");
  EXPECT_FALSE(run(broken_on_demand).ok);
  EXPECT_EQ(gsis_of(server_, name)[0].as_object().at("ProvisionedThroughput"),
            json::parse(R"({"ReadCapacityUnits":2,"WriteCapacityUnits":3})"));
  EXPECT_EQ(server_.tables[name]["BillingModeSummary"].as_object()["BillingMode"], "PROVISIONED");
}

// A table of the same name outside the stack: CreateTable's ResourceInUse
// fails the deploy, and the rollback leaves that table alone.
TEST_F(DeployTest, ExistingTableOutsideTheStackIsNotTakenOver) {
  server_.tables["orders"] = json::object{{"TableName", "orders"},
                                          {"TableArn", "arn:aws:dynamodb:us-east-1:1:table/orders"},
                                          {"TableStatus", "ACTIVE"},
                                          {"KeySchema", json::array{}},
                                          {"Tags", json::object{}}};
  auto r = run(std::string(kTables));
  EXPECT_FALSE(r.ok);
  EXPECT_NE(out_.str().find("ResourceInUseException"), std::string::npos) << out_.str();
  EXPECT_EQ(server_.tables.size(), 1u);
  EXPECT_EQ(server_.tables.count("orders"), 1u);
}

}  // namespace
}  // namespace nimbus::deploy
