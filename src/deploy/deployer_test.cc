#include "deploy/deployer.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "base/ids.h"

namespace nimbus::deploy {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

FunctionState fn(std::string id, std::string name, std::string sha = "sha", int memory = 128) {
  FunctionState f;
  f.logical_id = std::move(id);
  f.name = std::move(name);
  f.code_sha256 = std::move(sha);
  f.settings.handler = "app.handler";
  f.settings.runtime = "python3.11";
  f.settings.memory_size = memory;
  return f;
}

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
// deploy() against a fake server

class FakeServer {
 public:
  std::vector<std::string> calls;     // "METHOD path", or "dynamodb Operation"
  std::set<std::string> fail_create;  // function names CreateFunction refuses
  std::map<std::string, json::object> functions;
  std::map<std::string, json::object> create_requests;  // CreateFunction bodies by name
  // Layers: name → version → the LayerVersion shape (with Content.CodeSha256).
  std::map<std::string, std::map<int64_t, json::object>> layers;
  std::map<std::string, int64_t> next_layer_version;
  // DynamoDB: table name → its TableDescription (with "Tags" kept beside it).
  std::map<std::string, json::object> tables;
  std::set<std::string> fail_create_table;  // names CreateTable refuses
  bool fail_update_table = false;
  bool no_dynamodb = false;  // a server without DynamoDB: every operation is unknown

  // The DynamoDB operations called, in order.
  std::vector<std::string> dynamodb_calls() const {
    std::vector<std::string> out;
    for (const auto& c : calls)
      if (c.starts_with("dynamodb ")) out.push_back(c.substr(9));
    return out;
  }
  json::object tags_of(const std::string& table) const {
    return tables.at(table).at("Tags").as_object();
  }

  Transport transport() {
    return [this](http::Request req, std::string_view service) -> Result<http::Response> {
      if (auto target = req.headers.get("X-Amz-Target")) {
        EXPECT_EQ(service, "dynamodb");
        EXPECT_EQ(req.headers.get_or("Content-Type"), "application/x-amz-json-1.0");
        std::string op(target->substr(target->find('.') + 1));
        calls.push_back("dynamodb " + op);
        return handle_dynamodb(op, json::parse(req.body).as_object());
      }
      calls.push_back(req.method + " " + req.target);
      return handle(req);
    };
  }

 private:
  static http::Response error(int status, std::string type, std::string message) {
    auto r = http::Response::json(status, json::serialize(json::object{{"message", message}}));
    r.headers.set("x-amzn-ErrorType", type);
    return r;
  }
  http::Response handle(const http::Request& req) {
    const std::string& t = req.target;
    if (t == "/")
      return http::Response::text(
          200,
          "<GetCallerIdentityResponse><GetCallerIdentityResult><Account>123456789012"
          "</Account></GetCallerIdentityResult></GetCallerIdentityResponse>");
    if (t.starts_with("/restapis") || t.starts_with("/v2/"))
      return error(400, "UnknownServiceException", "Cannot tell which AWS service");
    const std::string fns = "/2015-03-31/functions/";
    if (req.method == "GET" && t == fns) {
      json::array list;
      for (auto& [n, f] : functions) list.push_back(f);
      return http::Response::json(200, json::serialize(json::object{{"Functions", list}}));
    }
    if (req.method == "POST" && t == "/2015-03-31/functions") {
      auto in = json::parse(req.body).as_object();
      std::string name(in["FunctionName"].as_string());
      if (fail_create.count(name))
        return error(400, "InvalidParameterValueException", "bad function " + name);
      functions[name] = json::object{{"FunctionName", name}};
      create_requests[name] = in;
      return http::Response::json(201, "{}");
    }
    if (t.starts_with("/2018-10-31/layers")) return handle_layers(req);
    if (req.method == "GET" && t.ends_with("/configuration"))
      return http::Response::json(200, R"({"State":"Active","LastUpdateStatus":"Successful"})");
    if (req.method == "DELETE" && t.starts_with(fns)) {
      functions.erase(t.substr(fns.size()));
      return http::Response::json(204, "");
    }
    return error(404, "ResourceNotFoundException", "not found: " + t);
  }
  static http::Response dynamodb_error(std::string type, std::string message) {
    return http::Response::json(
        400, json::serialize(json::object{{"__type", "com.amazonaws.dynamodb.v20120810#" + type},
                                          {"message", message}}));
  }
  static std::string name_of_arn(const json::object& in) {
    std::string arn(in.at("ResourceArn").as_string());
    return arn.substr(arn.rfind('/') + 1);
  }
  // DynamoDB's table operations, as the deployer uses them.
  http::Response handle_dynamodb(const std::string& op, json::object in) {
    auto ok = [](json::object o) { return http::Response::json(200, json::serialize(o)); };
    if (no_dynamodb) return dynamodb_error("UnknownOperationException", "Unknown operation");
    std::string name = in.contains("TableName")     ? std::string(in["TableName"].as_string())
                       : in.contains("ResourceArn") ? name_of_arn(in)
                                                    : "";
    if (op == "ListTables") {
      json::array names;
      for (auto& [n, t] : tables) names.emplace_back(n);
      return ok({{"TableNames", names}});
    }
    if (op == "CreateTable") {
      if (fail_create_table.count(name) || tables.count(name))
        return dynamodb_error("ResourceInUseException", "Table already exists: " + name);
      json::object t{{"TableName", name},
                     {"TableArn", "arn:aws:dynamodb:us-east-1:123456789012:table/" + name},
                     {"TableStatus", "ACTIVE"},
                     {"AttributeDefinitions", in["AttributeDefinitions"]},
                     {"KeySchema", in["KeySchema"]},
                     {"ProvisionedThroughput",
                      json::object{{"ReadCapacityUnits", 0}, {"WriteCapacityUnits", 0}}}};
      if (in["BillingMode"] == "PAY_PER_REQUEST")
        t["BillingModeSummary"] = json::object{{"BillingMode", "PAY_PER_REQUEST"}};
      else
        t["ProvisionedThroughput"] = in["ProvisionedThroughput"];
      json::object tags;
      for (auto& tag : in["Tags"].as_array())
        tags[tag.as_object().at("Key").as_string()] = tag.as_object().at("Value");
      t["Tags"] = tags;
      tables[name] = t;
      json::object d = t;
      d["TableStatus"] = "CREATING";
      return ok({{"TableDescription", d}});
    }
    if (!tables.count(name))
      return dynamodb_error("ResourceNotFoundException", "Requested resource not found");
    json::object& t = tables[name];
    if (op == "DescribeTable") {
      json::object d = t;
      d.erase("Tags");
      return ok({{"Table", d}});
    }
    if (op == "DeleteTable") {
      tables.erase(name);
      return ok({});
    }
    if (op == "UpdateTable") {
      if (fail_update_table) return dynamodb_error("LimitExceededException", "too many updates");
      if (in["BillingMode"] == "PAY_PER_REQUEST") {
        t["BillingModeSummary"] = json::object{{"BillingMode", "PAY_PER_REQUEST"}};
        t["ProvisionedThroughput"] =
            json::object{{"ReadCapacityUnits", 0}, {"WriteCapacityUnits", 0}};
      } else {
        t["BillingModeSummary"] = json::object{{"BillingMode", "PROVISIONED"}};
        t["ProvisionedThroughput"] = in["ProvisionedThroughput"];
      }
      return ok({});
    }
    // Time to Live as DynamoDB keeps it: one attribute, enabled or not.
    if (op == "DescribeTimeToLive") {
      json::object d{{"TimeToLiveStatus", t.contains("Ttl") ? "ENABLED" : "DISABLED"}};
      if (t.contains("Ttl")) d["AttributeName"] = t["Ttl"];
      return ok({{"TimeToLiveDescription", d}});
    }
    if (op == "UpdateTimeToLive") {
      auto& spec = in["TimeToLiveSpecification"].as_object();
      if (spec["Enabled"].as_bool() == t.contains("Ttl"))
        return dynamodb_error("ValidationException", "TimeToLive is already in that state");
      if (spec["Enabled"].as_bool())
        t["Ttl"] = spec["AttributeName"];
      else
        t.erase("Ttl");
      return ok({{"TimeToLiveSpecification", spec}});
    }
    if (op == "ListTagsOfResource") {
      json::array tags;
      for (auto& [k, v] : t["Tags"].as_object())
        tags.push_back(json::object{{"Key", k}, {"Value", v}});
      return ok({{"Tags", tags}});
    }
    if (op == "TagResource") {
      for (auto& tag : in["Tags"].as_array())
        t["Tags"].as_object()[tag.as_object().at("Key").as_string()] = tag.as_object().at("Value");
      return ok({});
    }
    if (op == "UntagResource") {
      for (auto& k : in["TagKeys"].as_array()) t["Tags"].as_object().erase(k.as_string());
      return ok({});
    }
    return dynamodb_error("UnknownOperationException", op);
  }
  // Lambda's layer API, one page per list.
  http::Response handle_layers(const http::Request& req) {
    const std::string& t = req.target;
    std::vector<std::string> seg;
    for (size_t p = 1; p <= t.size();) {
      auto q = t.find('/', p);
      seg.push_back(t.substr(p, q == std::string::npos ? std::string::npos : q - p));
      if (q == std::string::npos) break;
      p = q + 1;
    }
    if (seg.size() == 2) {
      json::array list;
      for (auto& [n, versions] : layers)
        if (!versions.empty()) list.push_back(json::object{{"LayerName", n}});
      return http::Response::json(200, json::serialize(json::object{{"Layers", list}}));
    }
    const std::string& name = seg[2];
    if (seg.size() == 4 && req.method == "POST") {
      auto in = json::parse(req.body).as_object();
      int64_t v = ++next_layer_version[name];
      std::string zip;
      base64_decode(in["Content"].as_object()["ZipFile"].as_string(), zip);
      json::object out{{"LayerVersionArn", "arn:aws:lambda:us-east-1:123456789012:layer:" + name +
                                               ":" + std::to_string(v)},
                       {"Version", v},
                       {"Description", in["Description"]},
                       {"Content", json::object{{"CodeSha256", sha256_base64(zip)}}}};
      for (auto key : {"CompatibleRuntimes", "CompatibleArchitectures"})
        if (auto* l = in.if_contains(key)) out[key] = *l;
      layers[name][v] = out;
      return http::Response::json(201, json::serialize(out));
    }
    if (seg.size() == 4) {
      json::array list;
      for (auto it = layers[name].rbegin(); it != layers[name].rend(); ++it) {
        json::object item = it->second;
        item.erase("Content");
        list.push_back(item);
      }
      return http::Response::json(200, json::serialize(json::object{{"LayerVersions", list}}));
    }
    int64_t v = std::stoll(seg[4]);
    if (req.method == "DELETE") {
      layers[name].erase(v);
      return http::Response::json(204, "");
    }
    if (!layers[name].count(v)) return error(404, "ResourceNotFoundException", "no version");
    return http::Response::json(200, json::serialize(layers[name][v]));
  }
};

class DeployTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("nimbus-deploy-" + random_hex(6));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  DeployResult run(const std::string& tmpl) {
    std::ofstream(dir_ / "template.yaml") << tmpl;
    DeployOptions o;
    o.template_path = (dir_ / "template.yaml").string();
    o.stack_name = "app";
    out_.str("");
    err_.str("");
    return deploy(o, server_.transport(), out_, err_);
  }
  fs::path dir_;
  FakeServer server_;
  std::ostringstream out_, err_;
};

constexpr std::string_view kTwoFunctions = R"(Transform: AWS::Serverless-2016-10-31
Resources:
  First:
    Type: AWS::Serverless::Function
    Properties: {Handler: index.h, Runtime: python3.11, InlineCode: "def h(e, c): pass"}
  Second:
    Type: AWS::Serverless::Function
    Properties:
      Handler: index.h
      Runtime: python3.11
      InlineCode: "def h(e, c): pass"
      Environment: {Variables: {FIRST: !Ref First}}
)";

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

std::string with(std::string_view tmpl, std::string_view from, std::string_view to) {
  std::string s(tmpl);
  auto at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) s.replace(at, from.size(), to);
  return s;
}

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
  for (const auto& op : server_.dynamodb_calls())
    EXPECT_TRUE(op == "ListTables" || op == "DescribeTable" || op == "ListTagsOfResource" ||
                op == "DescribeTimeToLive")
        << op;
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
  server_.fail_create.insert(physical_function_name("app", "Broken"));
  EXPECT_FALSE(run(with(off, "  Fn:\n",
                        "  Broken:\n    Type: AWS::Serverless::Function\n    DependsOn: Orders\n"
                        "    Properties: {Handler: h, Runtime: python3.11, InlineCode: x}\n"
                        "  Fn:\n"))
                   .ok);
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
  t = with(t, "  Fn:\n",
           "  Broken:\n    Type: AWS::Serverless::Function\n    DependsOn: Orders\n"
           "    Properties: {Handler: h, Runtime: python3.11, InlineCode: x}\n  Fn:\n");
  server_.fail_create.insert(physical_function_name("app", "Broken"));
  EXPECT_FALSE(run(t).ok);
  EXPECT_EQ(server_.tables.size(), 2u);
  EXPECT_EQ(server_.tables["orders"]["ProvisionedThroughput"].as_object().at("ReadCapacityUnits"),
            5);
  EXPECT_NE(out_.str().find("ROLLBACK_COMPLETE"), std::string::npos) << out_.str();
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
