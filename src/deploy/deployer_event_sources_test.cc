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
// DynamoDB events: event source mappings

constexpr std::string_view kStreamFunction = R"(Transform: AWS::Serverless-2016-10-31
Resources:
  Orders:
    Type: AWS::DynamoDB::Table
    Properties:
      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
      KeySchema: [{AttributeName: id, KeyType: HASH}]
      BillingMode: PAY_PER_REQUEST
      StreamSpecification: {StreamViewType: NEW_IMAGE}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Changes:
          Type: DynamoDB
          Properties:
            Stream: !GetAtt Orders.StreamArn
            StartingPosition: TRIM_HORIZON
            BatchSize: 10
      Handler: index.h
      Runtime: python3.11
      InlineCode: x
)";

class MappingTest : public DeployTest {
 protected:
  void SetUp() override {
    DeployTest::SetUp();
    server_.serve_functions = true;
  }
  std::string stream() {
    return std::string(server_.tables.at(physical_table_name("app", "Orders", "HASH id S"))
                           .at("LatestStreamArn")
                           .as_string());
  }
  // The mapping calls (POST, PUT, DELETE) of the last deploy.
  std::vector<std::string> mapping_changes() {
    std::vector<std::string> out;
    for (const auto& c : server_.calls)
      if (c.find("/event-source-mappings/") != std::string::npos && !c.starts_with("GET "))
        out.push_back(c);
    return out;
  }
};

// SAM turns a DynamoDB event into an AWS::Lambda::EventSourceMapping of the
// function on the table's stream; an unchanged template changes nothing.
TEST_F(MappingTest, DynamoDbEventBecomesAnEventSourceMapping) {
  ASSERT_TRUE(run(std::string(kStreamFunction)).ok) << err_.str() << out_.str();
  auto list = server_.mapping_list();
  ASSERT_EQ(list.size(), 1u);
  const auto& m = list[0];
  EXPECT_EQ(m.at("EventSourceArn"), json::value(stream()));
  EXPECT_EQ(m.at("FunctionArn"), json::value("arn:aws:lambda:us-east-1:123456789012:function:" +
                                             physical_function_name("app", "Fn")));
  EXPECT_EQ(m.at("StartingPosition"), "TRIM_HORIZON");
  EXPECT_EQ(m.at("BatchSize"), 10);
  EXPECT_EQ(m.at("MaximumRetryAttempts"), -1);  // Lambda's defaults, sent as such
  EXPECT_EQ(m.at("Enabled"), true);
  EXPECT_TRUE(std::regex_search(
      out_.str(), std::regex("CREATE_COMPLETE +AWS::Lambda::EventSourceMapping +FnChanges")))
      << out_.str();

  server_.calls.clear();
  ASSERT_TRUE(run(std::string(kStreamFunction)).ok) << err_.str();
  EXPECT_NE(out_.str().find("No changes"), std::string::npos) << out_.str();
  EXPECT_TRUE(mapping_changes().empty());
}

// CloudFormation updates a mapping's BatchSize, retries, Enabled... in
// place; a new StartingPosition replaces it (the old one first: one mapping
// per function and stream); a removed event's mapping is deleted.
TEST_F(MappingTest, MappingsAreUpdatedReplacedAndDeleted) {
  ASSERT_TRUE(run(std::string(kStreamFunction)).ok) << err_.str();
  const std::string first = server_.mapping_list()[0].at("UUID").as_string().c_str();

  server_.calls.clear();
  ASSERT_TRUE(run(with(kStreamFunction, "BatchSize: 10",
                       "BatchSize: 20\n            MaximumRetryAttempts: 2\n"
                       "            Enabled: false"))
                  .ok)
      << err_.str();
  EXPECT_EQ(mapping_changes(),
            (std::vector<std::string>{"PUT /2015-03-31/event-source-mappings/" + first}));
  auto m = server_.mapping_list()[0];
  EXPECT_EQ(m.at("BatchSize"), 20);
  EXPECT_EQ(m.at("MaximumRetryAttempts"), 2);
  EXPECT_EQ(m.at("State"), "Disabled");

  server_.calls.clear();
  ASSERT_TRUE(run(with(kStreamFunction, "TRIM_HORIZON", "LATEST")).ok) << err_.str();
  auto changes = mapping_changes();
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0], "DELETE /2015-03-31/event-source-mappings/" + first);
  EXPECT_EQ(changes[1], "POST /2015-03-31/event-source-mappings/");
  ASSERT_EQ(server_.mapping_list().size(), 1u);
  EXPECT_EQ(server_.mapping_list()[0].at("StartingPosition"), "LATEST");

  std::string without(kStreamFunction);
  without.erase(without.find("      Events:"),
                without.find("      Handler:") - without.find("      Events:"));
  ASSERT_TRUE(run(without).ok) << err_.str();
  EXPECT_TRUE(server_.mappings.empty());
  EXPECT_TRUE(
      std::regex_search(out_.str(), std::regex("DELETE_COMPLETE +AWS::Lambda::EventSourceMapping")))
      << out_.str();
}

// A new stream (its view type changed: DynamoDB makes a new one) is a new
// mapping; the old stream's goes after the deploy succeeded.
TEST_F(MappingTest, AnotherStreamIsAnotherMapping) {
  ASSERT_TRUE(run(std::string(kStreamFunction)).ok) << err_.str();
  const std::string old_stream = stream();
  ASSERT_TRUE(run(with(kStreamFunction, "NEW_IMAGE", "KEYS_ONLY")).ok) << err_.str() << out_.str();
  ASSERT_NE(stream(), old_stream);
  auto list = server_.mapping_list();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].at("EventSourceArn"), json::value(stream()));
  auto out = out_.str();
  EXPECT_LT(out.find("CREATE_COMPLETE"), out.find("DELETE_COMPLETE")) << out;
}

// CloudFormation's rollback: a mapping the failed deploy created is deleted,
// one it updated gets its settings back.
TEST_F(MappingTest, FailedDeployRestoresTheMappings) {
  EXPECT_FALSE(run(with_failing_function(kStreamFunction, "Fn")).ok);
  EXPECT_TRUE(server_.mappings.empty()) << out_.str();
  EXPECT_TRUE(std::regex_search(
      out_.str(), std::regex("DELETE_COMPLETE +AWS::Lambda::EventSourceMapping +FnChanges")))
      << out_.str();

  ASSERT_TRUE(run(std::string(kStreamFunction)).ok) << err_.str();
  EXPECT_FALSE(
      run(with_failing_function(with(kStreamFunction, "BatchSize: 10", "BatchSize: 99"), "Fn")).ok);
  ASSERT_EQ(server_.mapping_list().size(), 1u);
  EXPECT_EQ(server_.mapping_list()[0].at("BatchSize"), 10) << out_.str();
}

// A server without event source mappings: a DynamoDB event fails naming
// itself (and the function created for it is rolled back).
TEST_F(MappingTest, ServerWithoutMappingsFailsNamingTheEvent) {
  server_.no_mappings = true;
  auto r = run(std::string(kStreamFunction));
  EXPECT_FALSE(r.ok);
  EXPECT_NE(err_.str().find("FnChanges"), std::string::npos) << err_.str();
  EXPECT_NE(out_.str().find("ROLLBACK_COMPLETE"), std::string::npos) << out_.str();
}

}  // namespace
}  // namespace nimbus::deploy
