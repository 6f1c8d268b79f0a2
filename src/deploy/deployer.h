// `nimbus deploy`: a SAM template applied to a running Nimbus as a stack,
// through the server's public AWS APIs only (Lambda, API Gateway, STS).
//
// Stack membership lives in tags: every resource a stack creates carries
// nimbus:stack=<stack> and nimbus:logical-id=<LogicalId> (layer versions,
// which cannot be tagged, in their Description: see layer_description()). A deploy reads what
// exists (ListFunctions + GetFunction, ListEventSourceMappings of the stack's
// functions, GetRestApis, GetApis, ListTables + DescribeTable +
// ListTagsOfResource), diffs it against
// the template (plan()), applies creates and updates in dependency order,
// deletes what the template no longer has, and on a failure undoes in reverse
// what it changed (Journal).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "base/result.h"
#include "http/message.h"

namespace nimbus::deploy {

inline constexpr std::string_view kStackTag = "nimbus:stack";
inline constexpr std::string_view kLogicalIdTag = "nimbus:logical-id";
// Sha256 of the pushed OpenAPI document (and stage settings) on an API, so a
// redeploy leaves an unchanged API alone.
inline constexpr std::string_view kDefinitionTag = "nimbus:definition-sha256";

// Layer versions have no tags. A version the deployer publishes carries its
// stack and logical id at the end of its Description instead:
// "<Description> [nimbus:stack=STACK nimbus:logical-id=ID]" (the user's part
// shortened so that the whole stays within Lambda's 256 characters).
std::string layer_description(std::string_view description, std::string_view stack,
                              std::string_view logical_id);
struct LayerOwner {
  std::string stack, logical_id;
};
std::optional<LayerOwner> layer_owner(std::string_view description);

// Sends one request to the server's AWS API, signed for `service` ("lambda",
// "apigateway", "sts", "dynamodb"); the CLI supplies its signed sender, tests a fake.
using Transport =
    std::function<Result<http::Response>(http::Request request, std::string_view service)>;

// ---------------------------------------------------------------------------
// Plan: the difference between what exists and what the template wants.

struct FunctionSettings {
  std::string handler, runtime, description, role;
  int memory_size = 128;
  int timeout = 3;
  std::map<std::string, std::string> environment;
  std::vector<std::string> layers;
  friend bool operator==(const FunctionSettings&, const FunctionSettings&) = default;
};

struct FunctionState {
  std::string logical_id;
  std::string name;
  std::string code_sha256;  // base64, as Lambda reports CodeSha256
  FunctionSettings settings;
  std::optional<int> reserved_concurrency;
  std::string alias;  // AutoPublishAlias ("" = none); only in desired states
  // Provisioned concurrency on the alias (read only when an alias is wanted).
  std::optional<int> provisioned;
};

struct ApiState {
  std::string logical_id;
  std::string type;  // AWS::Serverless::Api | AWS::Serverless::HttpApi
  std::string id;    // only in current states
  std::string definition_sha256;
};

// A key attribute of a table or an index.
struct KeyAttribute {
  std::string name;
  std::string type;  // S | N | B
  friend bool operator==(const KeyAttribute&, const KeyAttribute&) = default;
};

// "HASH id S" or "HASH pk S, RANGE sk N".
std::string key_schema_text(const KeyAttribute& hash, const std::optional<KeyAttribute>& range);

// A secondary index of a table, as DescribeTable reports it and CreateTable
// takes it.
struct IndexState {
  std::string name;
  KeyAttribute hash;
  std::optional<KeyAttribute> range;
  std::string projection_type = "ALL";            // ALL | KEYS_ONLY | INCLUDE
  std::vector<std::string> non_key_attributes;    // INCLUDE only; sorted (order means nothing)
  int64_t read_capacity = 0, write_capacity = 0;  // GSIs of PROVISIONED tables only
  // Another key schema or projection is another index: DynamoDB cannot
  // change either, so the index is deleted and created again.
  bool same_definition(const IndexState& o) const {
    return hash == o.hash && range == o.range && projection_type == o.projection_type &&
           non_key_attributes == o.non_key_attributes;
  }
  friend bool operator==(const IndexState&, const IndexState&) = default;
};

// A DynamoDB table (AWS::DynamoDB::Table or AWS::Serverless::SimpleTable).
struct TableState {
  std::string logical_id;
  std::string type;  // only in desired states
  std::string name;
  std::string arn;  // only in current states
  // The key attributes, "HASH id S" or "HASH pk S, RANGE sk N": a change
  // replaces the table, as in CloudFormation.
  std::string key_schema;
  std::string billing_mode = "PROVISIONED";       // | PAY_PER_REQUEST
  int64_t read_capacity = 0, write_capacity = 0;  // 0 when PAY_PER_REQUEST
  std::string ttl_attribute;                      // "" = Time to Live off
  std::map<std::string, std::string> tags;        // every tag, the stack's two included
  // Local secondary indexes exist only from CreateTable on: a change replaces
  // the table, as in CloudFormation. Global ones are added and deleted in place.
  std::map<std::string, IndexState> local_indexes;   // by name
  std::map<std::string, IndexState> global_indexes;  // by name
  std::string stream_view_type;                      // "" = no stream
  std::string stream_arn;                            // LatestStreamArn; only in current states
};

// What replaces a table when it changes (the key schema, plus the local
// secondary indexes when there are any): diff_table compares it, and a
// generated table name hashes it, so a replacement never takes its
// predecessor's name.
std::string table_identity(const TableState& t);

struct StackState {
  std::map<std::string, FunctionState> functions;  // by logical id
  std::map<std::string, ApiState> apis;            // by logical id
  std::map<std::string, TableState> tables;        // by logical id
};

enum class Action { kCreate, kUpdate, kDelete, kUnchanged };
std::string_view to_string(Action a);

struct Change {
  Action action = Action::kUnchanged;
  std::string logical_id;
  std::string type;
  bool code = false;           // functions: the zip's sha256 differs
  bool configuration = false;  // functions: Handler/Runtime/Memory/Timeout/Env/Layers/...
  bool concurrency = false;    // functions: reserved concurrency differs
  bool provisioned = false;    // functions: the alias's provisioned concurrency differs
  bool replace = false;        // the physical name changed: create new, delete old
  bool tags = false;  // tables: the tags differ (configuration: billing, throughput, TTL, GSIs,
                      // stream)
  friend bool operator==(const Change&, const Change&) = default;
};

Change diff_function(const FunctionState* current, const FunctionState& desired);
Change diff_api(const ApiState* current, const ApiState& desired);
// A new name, key schema or set of local secondary indexes replaces the table;
// billing mode, throughput, Time to Live, global secondary indexes and the
// stream (configuration) and tags are updated in place.
Change diff_table(const TableState* current, const TableState& desired);

// Changes for every desired resource (in `order`, then any desired resource
// not in it), followed by deletes of current resources the template no longer
// has (APIs first, then functions, then tables).
std::vector<Change> plan(const StackState& current, const StackState& desired,
                         const std::vector<std::string>& order = {});

// The UpdateUsagePlan patch operations that turn `current` (a GetUsagePlan
// answer) into `want` (throttle, quota and apiStages as CreateUsagePlan takes
// them); empty when they already agree. Used for an update and its undo.
boost::json::array usage_plan_patch(const boost::json::object& current,
                                    const boost::json::object& want);

// ---------------------------------------------------------------------------
// Rollback: undo steps recorded as the deploy changes things, run in reverse.

class Journal {
 public:
  struct Step {
    std::string status;  // progress line status, e.g. "DELETE_COMPLETE" for undoing a create
    std::string type;
    std::string logical_id;
    std::function<Result<void, std::string>()> undo;
  };
  void record(Step s) { steps_.push_back(std::move(s)); }
  bool empty() const { return steps_.empty(); }
  size_t size() const { return steps_.size(); }
  // Runs every undo, last recorded first; an undo that fails does not stop the
  // others. Reports each step to `progress` (status, type, logical id, error).
  // Returns false if any undo failed.
  bool rollback(const std::function<void(const Step&, const std::string& error)>& progress);

 private:
  std::vector<Step> steps_;
};

// ---------------------------------------------------------------------------
// The deploy command.

struct DeployOptions {
  std::string template_path;
  std::string stack_name;  // "" = from the template's folder name
  std::string endpoint = "http://127.0.0.1:4566";
  std::string region = "us-east-1";
  std::vector<std::string> parameter_overrides;  // "K=V"
};

struct DeployResult {
  bool ok = false;
  std::string stack_name;
  std::map<std::string, std::string> function_names;  // logical id → physical name
  std::map<std::string, std::string> api_ids;         // logical id → API id
  std::map<std::string, std::string> table_names;     // logical id → table name
  std::vector<std::pair<std::string, std::string>> outputs;
  std::vector<std::string> api_urls;
  // Function logical id → the folder its code comes from (for --watch).
  std::map<std::string, std::string> code_folders;
};

// A CloudFormation-style stack name from a folder name ("my app" → "my-app").
std::string default_stack_name(const std::string& template_path);

// `<stack>-<LogicalId>-<12 hex>` (≤ 64 characters), stable for a stack and id.
std::string physical_function_name(const std::string& stack, const std::string& logical_id);

// A table without TableName: physical_function_name's form, the suffix a hash
// of the stack, the logical id and the table's identity (table_identity()),
// so that a replacement gets a new name while the old table still holds its
// own, as CloudFormation generates a new name for a replacement.
std::string physical_table_name(const std::string& stack, const std::string& logical_id,
                                const std::string& identity);

// Runs the deploy, printing progress, outputs and API URLs to `out` and errors
// to `err`. The result's ok is false when the template is invalid or the
// deploy failed (and was rolled back).
DeployResult deploy(const DeployOptions& options, const Transport& transport, std::ostream& out,
                    std::ostream& err);

}  // namespace nimbus::deploy
