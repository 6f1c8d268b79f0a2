// AWS SAM on top of a loaded template: Globals, implicit APIs, and typed
// models of the resource types `nimbus deploy` creates.
//
// Flow for the deploy command:
//   load_template → sam::expand (Globals, implicit APIs) → unsupported() and
//   check_references() (fail on any) → make_context → validate() with
//   placeholder values → dependencies/creation_order → for each resource:
//   resolve(properties) with the real values so far → parse_*().
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <boost/json/value.hpp>

#include "deploy/intrinsics.h"
#include "deploy/template.h"

namespace nimbus::deploy::sam {

inline constexpr std::string_view kFunction = "AWS::Serverless::Function";
inline constexpr std::string_view kLayerVersion = "AWS::Serverless::LayerVersion";
inline constexpr std::string_view kApi = "AWS::Serverless::Api";
inline constexpr std::string_view kHttpApi = "AWS::Serverless::HttpApi";
inline constexpr std::string_view kSimpleTable = "AWS::Serverless::SimpleTable";
// Plain CloudFormation, deployed as written (SAM passes it through).
inline constexpr std::string_view kDynamoDbTable = "AWS::DynamoDB::Table";
inline constexpr std::string_view kImplicitRestApi = "ServerlessRestApi";
inline constexpr std::string_view kImplicitHttpApi = "ServerlessHttpApi";

// Merges Globals into resources as SAM does: a resource's own scalar wins,
// maps merge key by key (recursively), lists concatenate (globals first), an
// intrinsic counts as a scalar. Unknown sections or properties are errors;
// IgnoreGlobals ("*" or a list of names) opts a resource out.
Result<void, TemplateError> apply_globals(Template& t);

// Adds ServerlessRestApi (stage "Prod") for Api events without RestApiId and
// ServerlessHttpApi (stage "$default") for HttpApi events without ApiId, and
// records that each API depends on the functions routed from it. RestApiId /
// ApiId must be a Ref to an API of the template.
Result<void, TemplateError> add_implicit_apis(Template& t);

// add_implicit_apis then apply_globals (SAM's order: the implicit API also
// gets Globals.Api).
Result<void, TemplateError> expand(Template& t);

// Ids SAM generates that templates may refer to: FUNCTIONRole for a function
// without Role (the implicit APIs are real resources after expand).
std::set<std::string, std::less<>> generated_ids(const Template& t);

// One error per resource type, event type or property Nimbus does not deploy
// yet (kUnsupported), naming it and its file:line (properties of a table's
// index entries and StreamSpecification included); also every Fn::GetAtt of a
// table attribute other than Arn and StreamArn, and of StreamArn of a table
// without StreamSpecification.
std::vector<TemplateError> unsupported(const Template& t);

// AWS::DynamoDB::Table or AWS::Serverless::SimpleTable.
inline bool is_table(std::string_view type) {
  return type == kDynamoDbTable || type == kSimpleTable;
}

// ---------------------------------------------------------------------------
// Typed models, parsed from a resource's *resolved* properties (see resolve()).

struct S3Location {
  std::string bucket, key, version;
};

struct ApiEvent {  // Events.X.Type: Api
  std::string name;
  Mark mark;
  std::string path;
  std::string method;    // upper case; "ANY" for any
  std::string rest_api;  // logical id of the AWS::Serverless::Api
  std::optional<bool> api_key_required;
  std::string authorizer;  // Auth.Authorizer: a name, "NONE" or "AWS_IAM"; "" = API default
  struct RequestModel {
    std::string model;
    bool required = false;
    std::optional<bool> validate_body, validate_parameters;
  };
  std::optional<RequestModel> request_model;
  struct RequestParameter {
    std::string name;  // "method.request.header.Authorization"
    bool required = false;
    bool caching = false;
  };
  std::vector<RequestParameter> request_parameters;
};

struct HttpApiEvent {  // Events.X.Type: HttpApi
  std::string name;
  Mark mark;
  std::string path;    // "" with method "" means the $default route
  std::string method;  // upper case; "ANY" when absent
  std::string api;     // logical id of the AWS::Serverless::HttpApi
  std::string authorizer;
  std::vector<std::string> authorization_scopes;
  std::string payload_format_version = "2.0";
  std::optional<int> timeout_in_millis;
  bool is_default_route() const { return path.empty(); }
};

// Events.X.Type: DynamoDB, which SAM turns into an AWS::Lambda::EventSourceMapping
// (logical id: the function's followed by the event's name).
struct DynamoDbEvent {
  std::string name;
  Mark mark;
  std::string stream;             // Stream: the stream's ARN (!GetAtt Table.StreamArn)
  std::string starting_position;  // TRIM_HORIZON | LATEST
  // Lambda's defaults when absent, so that they compare with what it reports.
  int batch_size = 100;
  int maximum_batching_window = 0;  // seconds
  int maximum_record_age = -1;      // seconds; -1 = until the records expire
  int maximum_retry_attempts = -1;  // -1 = until the records expire
  bool bisect_batch_on_function_error = false;
  std::vector<std::string> function_response_types;  // ReportBatchItemFailures
  bool enabled = true;
};

struct Function {
  std::string logical_id;
  Mark mark;
  std::string function_name;  // FunctionName; "" = generated
  std::string handler;
  std::string runtime;
  std::string description;
  std::string code_uri = ".";  // a path relative to the template; "." when absent
  std::optional<S3Location> code_s3;
  std::optional<std::string> inline_code;
  int memory_size = 128;
  int timeout = 3;
  std::map<std::string, std::string> environment;
  std::optional<int> reserved_concurrency;
  std::string auto_publish_alias;
  // ProvisionedConcurrencyConfig.ProvisionedConcurrentExecutions, put on the
  // AutoPublishAlias (which SAM requires with it).
  std::optional<int> provisioned_concurrency;
  std::vector<std::string> layers;
  std::string architecture = "x86_64";
  std::vector<ApiEvent> api_events;
  std::vector<HttpApiEvent> http_api_events;
  std::vector<DynamoDbEvent> dynamodb_events;
};

struct LayerVersion {
  std::string logical_id;
  Mark mark;
  std::string layer_name;  // "" = logical id
  std::string description;
  std::string content_uri;
  std::optional<S3Location> content_s3;
  std::vector<std::string> compatible_runtimes;
  std::vector<std::string> compatible_architectures;
};

// REST API CORS. SAM's values are API Gateway mapping values, i.e. quoted
// strings ("'*'"); the quotes are removed here.
struct RestCors {
  std::string allow_origin;
  std::string allow_methods;  // "" = the methods of the path
  std::string allow_headers;
  std::optional<int> max_age;
  bool allow_credentials = false;
};

struct RestAuthorizer {
  std::string name;
  std::string function_arn;
  std::string payload_type = "TOKEN";    // TOKEN | REQUEST
  std::string header = "Authorization";  // TOKEN: Identity.Header
  std::vector<std::string> headers;      // REQUEST: Identity.Headers
  std::vector<std::string> query_strings;
  std::vector<std::string> stage_variables;
  std::string validation_expression;
  int reauthorize_every = 300;
};

struct UsagePlan {
  std::string create = "NONE";  // PER_API | SHARED | NONE
  std::optional<int64_t> quota_limit;
  std::string quota_period;  // DAY | WEEK | MONTH
  std::optional<int64_t> burst_limit;
  std::optional<double> rate_limit;
};

struct MethodSetting {
  std::string resource_path = "/*";
  std::string http_method = "*";
  std::optional<bool> caching_enabled;
  std::optional<int> cache_ttl_in_seconds;
  std::optional<int64_t> throttling_burst_limit;
  std::optional<double> throttling_rate_limit;
};

struct RestApi {
  std::string logical_id;
  Mark mark;
  bool implicit = false;
  std::string name;
  std::string stage_name;
  std::optional<RestCors> cors;
  bool api_key_required = false;
  std::string default_authorizer;
  std::vector<RestAuthorizer> authorizers;
  UsagePlan usage_plan;
  std::map<std::string, boost::json::value> models;  // JSON schemas
  std::map<std::string, std::string> variables;      // stage variables
  bool cache_cluster_enabled = false;
  std::string cache_cluster_size;
  std::vector<MethodSetting> method_settings;
  // "image/png", "*/*"; SAM's "image~1png" spelling is decoded.
  std::vector<std::string> binary_media_types;
};

struct HttpCors {
  std::vector<std::string> allow_origins, allow_methods, allow_headers, expose_headers;
  std::optional<int> max_age;
  bool allow_credentials = false;
};

struct HttpAuthorizer {
  std::string name;
  std::string function_arn;
  std::string payload_format_version;  // "1.0" | "2.0"
  bool enable_simple_responses = false;
  std::vector<std::string> headers, query_strings;
  int reauthorize_every = 0;
};

struct HttpApi {
  std::string logical_id;
  Mark mark;
  bool implicit = false;
  std::string name;
  std::string stage_name = "$default";
  std::optional<HttpCors> cors;
  std::string default_authorizer;
  std::vector<HttpAuthorizer> authorizers;
  std::map<std::string, std::string> stage_variables;
};

// A DynamoDB table as CreateTable takes it: an AWS::DynamoDB::Table, or the
// table SAM's transform makes of an AWS::Serverless::SimpleTable (a single
// hash key, default `id` String; PAY_PER_REQUEST unless ProvisionedThroughput
// is given). The attribute definitions are exactly the attributes of the
// table's and its indexes' keys (DynamoDB refuses unused ones), so they are
// kept with the keys rather than as a list of their own.
struct Table {
  std::string logical_id;
  Mark mark;
  std::string table_name;  // TableName; "" = generated
  struct Key {
    std::string name;
    std::string type;  // S | N | B
  };
  Key hash;
  std::optional<Key> range;
  std::string billing_mode = "PROVISIONED";       // CloudFormation's default | PAY_PER_REQUEST
  int64_t read_capacity = 0, write_capacity = 0;  // PROVISIONED only
  // An entry of LocalSecondaryIndexes or GlobalSecondaryIndexes.
  struct Index {
    std::string name;
    Key hash;
    std::optional<Key> range;
    std::string projection_type = "ALL";            // ALL | KEYS_ONLY | INCLUDE
    std::vector<std::string> non_key_attributes;    // INCLUDE only
    int64_t read_capacity = 0, write_capacity = 0;  // GSIs of PROVISIONED tables only
  };
  std::vector<Index> local_indexes;
  std::vector<Index> global_indexes;
  // StreamSpecification.StreamViewType: NEW_IMAGE | OLD_IMAGE |
  // NEW_AND_OLD_IMAGES | KEYS_ONLY; "" = no stream. AWS::DynamoDB::Table only.
  std::string stream_view_type;
  // TimeToLiveSpecification with Enabled: the attribute holding each item's
  // expiry (epoch seconds); "" = no TTL. AWS::DynamoDB::Table only.
  std::string ttl_attribute;
  std::map<std::string, std::string> tags;
};

Result<Function, TemplateError> parse_function(const Resource& r, const Node& props);
Result<LayerVersion, TemplateError> parse_layer_version(const Resource& r, const Node& props);
Result<RestApi, TemplateError> parse_api(const Resource& r, const Node& props);
Result<HttpApi, TemplateError> parse_http_api(const Resource& r, const Node& props);
Result<Table, TemplateError> parse_table(const Resource& r, const Node& props);
Result<Table, TemplateError> parse_simple_table(const Resource& r, const Node& props);

// Ref X → "X", GetAtt X.A → "X.A": stands in for resource values that do not
// exist yet so every resource can be checked before anything is created.
ResourceValues placeholder_values();

// Resolves (with ctx's resource values) and parses every enabled supported
// resource; one error per bad resource.
std::vector<TemplateError> validate(const Template& t, const Context& ctx);

}  // namespace nimbus::deploy::sam
