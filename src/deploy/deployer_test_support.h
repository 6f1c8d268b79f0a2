#pragma once

// Shared by the deployer tests: a fake Nimbus answering the calls deploy()
// makes (Lambda, API Gateway, DynamoDB and event source mappings over
// HTTP), and a fixture that writes a template and deploys it.

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "base/ids.h"
#include "deploy/deployer.h"

namespace nimbus::deploy {

namespace fs = std::filesystem;
namespace json = boost::json;

inline FunctionState fn(std::string id, std::string name, std::string sha = "sha",
                        int memory = 128) {
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
// deploy() against a fake server

class FakeServer {
 public:
  std::vector<std::string> calls;     // "METHOD path", or "dynamodb Operation"
  std::set<std::string> fail_create;  // function names CreateFunction refuses
  // GetFunction answers for the functions created (their configuration, code
  // hash and tags), so that a redeploy finds them; off: every deploy creates.
  bool serve_functions = false;
  // Event source mappings by UUID (their EventSourceMappingConfiguration).
  std::map<std::string, json::object> mappings;
  bool no_mappings = false;  // a server without event source mappings
  int next_mapping = 0;
  std::map<std::string, json::object> functions;
  std::map<std::string, json::object> create_requests;  // CreateFunction bodies by name
  // Layers: name → version → the LayerVersion shape (with Content.CodeSha256).
  std::map<std::string, std::map<int64_t, json::object>> layers;
  std::map<std::string, int64_t> next_layer_version;
  // DynamoDB: table name → its TableDescription (with "Tags" kept beside it).
  std::map<std::string, json::object> tables;
  std::set<std::string> fail_create_table;  // names CreateTable refuses
  bool fail_update_table = false;
  std::vector<json::object> update_requests;  // UpdateTable bodies, in order
  int next_stream = 0;
  bool no_dynamodb = false;  // a server without DynamoDB: every operation is unknown

  // The DynamoDB operations called, in order.
  std::vector<std::string> dynamodb_calls() const {
    std::vector<std::string> out;
    for (const auto& c : calls)
      if (c.starts_with("dynamodb ")) out.push_back(c.substr(9));
    return out;
  }
  // The mappings' configurations, by UUID.
  std::vector<json::object> mapping_list() const {
    std::vector<json::object> out;
    for (const auto& [uuid, m] : mappings) out.push_back(m);
    return out;
  }
  // The DynamoDB operations called that change something.
  std::vector<std::string> dynamodb_writes() const {
    std::vector<std::string> out;
    for (const auto& op : dynamodb_calls())
      if (op != "ListTables" && op != "DescribeTable" && op != "ListTagsOfResource" &&
          op != "DescribeTimeToLive")
        out.push_back(op);
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
    if (t.starts_with("/2015-03-31/event-source-mappings/")) return handle_mappings(req);
    if (serve_functions && req.method == "GET" && t.starts_with(fns) &&
        create_requests.count(t.substr(fns.size())) && functions.count(t.substr(fns.size()))) {
      std::string name = t.substr(fns.size());
      json::object cfg = create_requests[name];
      std::string zip;
      base64_decode(cfg["Code"].as_object()["ZipFile"].as_string(), zip);
      json::object tags = cfg["Tags"].as_object();
      cfg.erase("Code");
      cfg.erase("Tags");
      cfg["CodeSha256"] = sha256_base64(zip);
      cfg["FunctionArn"] = "arn:aws:lambda:us-east-1:123456789012:function:" + name;
      return http::Response::json(
          200, json::serialize(json::object{{"Configuration", cfg}, {"Tags", tags}}));
    }
    if (t.starts_with("/2018-10-31/layers")) return handle_layers(req);
    if (req.method == "PUT" && t.starts_with(fns) && t.ends_with("/configuration")) {
      std::string name = t.substr(fns.size(), t.size() - fns.size() - 14);
      json::value update = json::parse(req.body);
      for (auto& [k, v] : update.as_object()) create_requests[name][k] = v;
      return http::Response::json(200, "{}");
    }
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
      if (auto* lsis = in.if_contains("LocalSecondaryIndexes")) t["LocalSecondaryIndexes"] = *lsis;
      if (auto* gsis = in.if_contains("GlobalSecondaryIndexes")) {
        json::array out;
        for (auto g : gsis->as_array()) {
          auto& o = g.as_object();
          o["IndexStatus"] = "ACTIVE";
          if (!o.contains("ProvisionedThroughput"))
            o["ProvisionedThroughput"] =
                json::object{{"ReadCapacityUnits", 0}, {"WriteCapacityUnits", 0}};
          out.push_back(g);
        }
        t["GlobalSecondaryIndexes"] = out;
      }
      if (auto* spec = in.if_contains("StreamSpecification")) enable_stream(t, *spec);
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
      // A new index is CREATING (its backfill) on the first DescribeTable.
      if (auto* gsis = t.if_contains("GlobalSecondaryIndexes"))
        for (auto& g : gsis->as_array()) g.as_object()["IndexStatus"] = "ACTIVE";
      return ok({{"Table", d}});
    }
    if (op == "DeleteTable") {
      tables.erase(name);
      return ok({});
    }
    if (op == "UpdateTable") {
      if (fail_update_table) return dynamodb_error("LimitExceededException", "too many updates");
      update_requests.push_back(in);
      if (auto* updates = in.if_contains("GlobalSecondaryIndexUpdates")) {
        auto r = update_indexes(t, updates->as_array(), in);
        if (!r.empty()) return dynamodb_error(r.substr(0, r.find(':')), r);
      }
      if (auto* spec = in.if_contains("StreamSpecification")) {
        bool on = t.contains("StreamSpecification");
        if (spec->as_object().at("StreamEnabled").as_bool() == on)
          return dynamodb_error("ValidationException", "the stream is already in that state");
        if (on)
          t.erase("StreamSpecification");
        else
          enable_stream(t, *spec);
      }
      if (in["BillingMode"] == "PAY_PER_REQUEST") {
        t["BillingModeSummary"] = json::object{{"BillingMode", "PAY_PER_REQUEST"}};
        t["ProvisionedThroughput"] =
            json::object{{"ReadCapacityUnits", 0}, {"WriteCapacityUnits", 0}};
        if (auto* gsis = t.if_contains("GlobalSecondaryIndexes"))
          for (auto& g : gsis->as_array())
            g.as_object()["ProvisionedThroughput"] =
                json::object{{"ReadCapacityUnits", 0}, {"WriteCapacityUnits", 0}};
      } else if (in["BillingMode"] == "PROVISIONED") {
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
  // Lambda's event source mapping API, as the deployer uses it: one mapping
  // per function and stream; Creating until the first Get.
  http::Response handle_mappings(const http::Request& req) {
    const std::string prefix = "/2015-03-31/event-source-mappings/";
    if (no_mappings) return error(404, "UnknownOperationException", "no event source mappings");
    std::string rest = req.target.substr(prefix.size());
    auto reply = [](int status, const json::object& o) {
      return http::Response::json(status, json::serialize(o));
    };
    if (req.method == "GET" && rest.starts_with("?FunctionName=")) {
      std::string fn = ":function:" + rest.substr(14);
      json::array list;
      for (const auto& [uuid, m] : mappings)
        if (std::string(m.at("FunctionArn").as_string()).ends_with(fn)) list.push_back(m);
      return reply(200, {{"EventSourceMappings", list}});
    }
    if (req.method == "POST" && rest.empty()) {
      auto in = json::parse(req.body).as_object();
      std::string arn = "arn:aws:lambda:us-east-1:123456789012:function:" +
                        std::string(in.at("FunctionName").as_string());
      for (const auto& [uuid, m] : mappings)
        if (m.at("FunctionArn") == json::value(arn) &&
            m.at("EventSourceArn") == in.at("EventSourceArn"))
          return error(409, "ResourceConflictException", "mapping already exists");
      json::object m = in;
      m.erase("FunctionName");
      m.erase("Enabled");
      m["UUID"] = "uuid-" + std::to_string(++next_mapping);
      m["FunctionArn"] = arn;
      m["State"] = "Creating";
      m["Enabled"] = in.at("Enabled");
      mappings[std::string(m["UUID"].as_string())] = m;
      return reply(202, m);
    }
    auto it = mappings.find(rest);
    if (it == mappings.end()) return error(404, "ResourceNotFoundException", "no mapping " + rest);
    json::object& m = it->second;
    if (req.method == "DELETE") {
      mappings.erase(it);
      return reply(202, {{"UUID", rest}, {"State", "Deleting"}});
    }
    if (req.method == "PUT") {
      json::value update = json::parse(req.body);
      for (auto& [k, v] : update.as_object()) m[k] = v;
    }
    json::object out = m;
    m["State"] = m.at("Enabled").as_bool() ? "Enabled" : "Disabled";
    out.erase("Enabled");
    return reply(200, out);
  }
  void enable_stream(json::object& t, const json::value& spec) {
    t["StreamSpecification"] = spec;
    t["LatestStreamArn"] =
        std::string(t["TableArn"].as_string()) + "/stream/" + std::to_string(++next_stream);
  }
  // GlobalSecondaryIndexUpdates as DynamoDB applies them: one Create or
  // Delete per call; a Create needs its key attributes defined. "" or the
  // error ("Type: message").
  std::string update_indexes(json::object& t, const json::array& updates, const json::object& in) {
    if (!t.contains("GlobalSecondaryIndexes")) t["GlobalSecondaryIndexes"] = json::array{};
    auto& gsis = t["GlobalSecondaryIndexes"].as_array();
    auto find = [&](const json::value& name) {
      return std::find_if(gsis.begin(), gsis.end(), [&](const json::value& g) {
        return g.as_object().at("IndexName") == name;
      });
    };
    int online = 0;
    for (const auto& u : updates) {
      const auto& o = u.as_object();
      if (o.contains("Create") || o.contains("Delete"))
        if (++online > 1) return "LimitExceededException: one index per call";
      if (auto* c = o.if_contains("Create")) {
        json::object ix = c->as_object();
        if (find(ix["IndexName"]) != gsis.end()) return "ValidationException: index exists";
        for (const auto& k : ix["KeySchema"].as_array()) {
          bool defined = false;
          if (auto* defs = in.if_contains("AttributeDefinitions"))
            for (const auto& d : defs->as_array())
              defined |= d.as_object().at("AttributeName") == k.as_object().at("AttributeName");
          if (!defined) return "ValidationException: undefined index key";
        }
        for (const auto& d : in.at("AttributeDefinitions").as_array())
          t["AttributeDefinitions"].as_array().push_back(d);
        ix["IndexStatus"] = "CREATING";
        if (!ix.contains("ProvisionedThroughput"))
          ix["ProvisionedThroughput"] =
              json::object{{"ReadCapacityUnits", 0}, {"WriteCapacityUnits", 0}};
        gsis.push_back(ix);
      } else if (auto* d = o.if_contains("Delete")) {
        auto it = find(d->as_object().at("IndexName"));
        if (it == gsis.end()) return "ResourceNotFoundException: no such index";
        gsis.erase(it);
      } else {
        const auto& up = o.at("Update").as_object();
        auto it = find(up.at("IndexName"));
        if (it == gsis.end()) return "ResourceNotFoundException: no such index";
        if (t.contains("BillingModeSummary") &&
            t["BillingModeSummary"].as_object()["BillingMode"] == "PAY_PER_REQUEST")
          return "ValidationException: the table is PAY_PER_REQUEST";
        it->as_object()["ProvisionedThroughput"] = up.at("ProvisionedThroughput");
      }
    }
    if (gsis.empty()) t.erase("GlobalSecondaryIndexes");
    return "";
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
  // `tmpl` with a function Broken, which CreateFunction refuses, created
  // after `depends_on` and before Fn: a deploy of it fails and rolls back.
  std::string with_failing_function(std::string_view tmpl, std::string_view depends_on) {
    server_.fail_create.insert(physical_function_name("app", "Broken"));
    std::string broken = "  Broken:\n    Type: AWS::Serverless::Function\n    DependsOn: " +
                         std::string(depends_on) +
                         "\n    Properties: {Handler: h, Runtime: python3.11, InlineCode: x}\n";
    std::string out(tmpl);
    auto fn = out.find("  Fn:\n");
    return fn == std::string::npos ? out + broken : out.insert(fn, broken);
  }
  fs::path dir_;
  FakeServer server_;
  std::ostringstream out_, err_;
};

// Two functions, the second referring to the first.
inline constexpr std::string_view kTwoFunctions = R"(Transform: AWS::Serverless-2016-10-31
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

// `tmpl` with its first `from` replaced by `to`.
inline std::string with(std::string_view tmpl, std::string_view from, std::string_view to) {
  std::string s(tmpl);
  auto at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) s.replace(at, from.size(), to);
  return s;
}

}  // namespace nimbus::deploy
