#include "deploy/sam.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace nimbus::deploy::sam {

namespace {

using Errors = std::optional<TemplateError>;
using Names = std::set<std::string, std::less<>>;

// ---------------------------------------------------------------------------
// Globals

// SAM's Globals properties per section (samtranslator/plugins/globals).
const std::map<std::string, Names, std::less<>>& globals_properties() {
  static const std::map<std::string, Names, std::less<>> k = {
      {"Function",
       {"Handler",
        "Runtime",
        "CodeUri",
        "DeadLetterQueue",
        "Description",
        "MemorySize",
        "Timeout",
        "VpcConfig",
        "Environment",
        "Tags",
        "PropagateTags",
        "Tracing",
        "KmsKeyArn",
        "AutoPublishAlias",
        "AutoPublishAliasAllProperties",
        "Layers",
        "DeploymentPreference",
        "RolePath",
        "PermissionsBoundary",
        "ReservedConcurrentExecutions",
        "ProvisionedConcurrencyConfig",
        "AssumeRolePolicyDocument",
        "EventInvokeConfig",
        "FileSystemConfigs",
        "CodeSigningConfigArn",
        "Architectures",
        "SnapStart",
        "EphemeralStorage",
        "FunctionUrlConfig",
        "RuntimeManagementConfig",
        "LoggingConfig",
        "RecursiveLoop",
        "SourceKMSKeyArn"}},
      {"Api",
       {"Auth",
        "Name",
        "DefinitionUri",
        "CacheClusterEnabled",
        "CacheClusterSize",
        "MergeDefinitions",
        "Variables",
        "EndpointConfiguration",
        "MethodSettings",
        "BinaryMediaTypes",
        "MinimumCompressionSize",
        "Cors",
        "GatewayResponses",
        "AccessLogSetting",
        "CanarySetting",
        "TracingEnabled",
        "OpenApiVersion",
        "Domain",
        "AlwaysDeploy",
        "PropagateTags"}},
      {"HttpApi",
       {"Auth", "AccessLogSettings", "StageVariables", "Tags", "CorsConfiguration",
        "DefaultRouteSettings", "Domain", "RouteSettings", "FailOnWarnings", "PropagateTags"}},
      {"SimpleTable", {"SSESpecification"}},
      {"StateMachine", {"PropagateTags"}},
      {"LayerVersion", {"PublishLambdaVersion"}},
  };
  return k;
}

// Intrinsics merge like scalars: they resolve to one value at deploy time.
enum class Shape { kScalar, kMap, kList };
Shape shape_of(const Node& n) {
  if (n.is_map() && !n.is_intrinsic()) return Shape::kMap;
  if (n.is_list()) return Shape::kList;
  return Shape::kScalar;
}

Node merge_global(const Node& global, const Node& local) {
  Shape g = shape_of(global), l = shape_of(local);
  if (g != l || g == Shape::kScalar) return local;
  Node out = global;
  if (g == Shape::kList) {
    for (const auto& i : local.items()) out.push_back(i);
    out.set_mark(local.mark());
    return out;
  }
  for (const auto& e : local.entries()) {
    const Node* existing = out.find(e.key);
    Node merged = existing ? merge_global(*existing, e.value) : e.value;
    out.set(e.key, std::move(merged), e.key_mark);
  }
  out.set_mark(local.mark());
  return out;
}

Errors check_globals(const Node& globals) {
  for (const auto& section : globals.entries()) {
    std::string path = "Globals." + section.key;
    auto it = globals_properties().find(section.key);
    if (it == globals_properties().end())
      return error_at(section.key_mark, path,
                      "'" + section.key +
                          "' is not supported in Globals (Function, Api, HttpApi, SimpleTable, "
                          "StateMachine, LayerVersion)");
    if (!section.value.is_map())
      return error_at(section.value.mark(), path, "expected a map of properties");
    for (const auto& p : section.value.entries())
      if (!it->second.contains(p.key))
        return error_at(
            p.key_mark, join_path(path, p.key),
            "'" + p.key + "' is not a supported property of '" + section.key + "' in Globals");
  }
  return std::nullopt;
}

// The resource's IgnoreGlobals attribute: "*" or a list of property names.
Result<Names, TemplateError> ignored_globals(const Template& t, const Resource& r,
                                             const Node& section) {
  const Node* res = t.root.find("Resources");
  const Node* def = res ? res->find(r.logical_id) : nullptr;
  const Node* ig = def && def->is_map() ? def->find("IgnoreGlobals") : nullptr;
  Names out;
  if (!ig) return out;
  std::string path = r.path() + ".IgnoreGlobals";
  if (ig->is_string() && ig->text() == "*") {
    for (const auto& e : section.entries()) out.insert(e.key);
    return out;
  }
  if (!ig->is_list()) return fail(error_at(ig->mark(), path, "expected \"*\" or a list"));
  for (const auto& i : ig->items()) {
    if (!i.is_string() || !section.find(i.text()))
      return fail(error_at(i.mark(), path, "'" + i.text() + "' is not a property in Globals"));
    out.insert(i.text());
  }
  return out;
}

}  // namespace

Result<void, TemplateError> apply_globals(Template& t) {
  if (auto err = check_globals(t.globals)) return fail(std::move(*err));
  for (auto& r : t.resources) {
    if (!r.type.starts_with("AWS::Serverless::")) continue;
    const Node* section =
        t.globals.find(r.type.substr(std::string_view("AWS::Serverless::").size()));
    if (!section) continue;
    auto ignored = ignored_globals(t, r, *section);
    if (!ignored) return fail(ignored.take_error());
    Node global = Node::map(section->mark());
    for (const auto& e : section->entries())
      if (!ignored->contains(e.key)) global.entries().push_back(e);
    r.properties = merge_global(global, r.properties);
  }
  return {};
}

// ---------------------------------------------------------------------------
// Implicit APIs

namespace {

struct EventRef {
  Resource* function;
  const Node::Entry* event;
  std::string type;  // Api | HttpApi
};

// The logical id an event's RestApiId/ApiId refers to, "" when absent.
Result<std::string, TemplateError> event_api(const Template& t, const Node& props,
                                             std::string_view key, std::string_view api_type,
                                             const std::string& path) {
  const Node* id = props.find(key);
  if (!id) return std::string();
  std::string p = join_path(path, key);
  const Node* target = id->intrinsic_name() == "Ref" ? &id->entries()[0].value : nullptr;
  if (!target || !target->is_string())
    return fail(error_at(id->mark(), p,
                         std::string(key) + " must be a Ref to an " + std::string(api_type) +
                             " resource of this template"));
  const Resource* api = t.resource(target->text());
  if (!api || api->type != api_type)
    return fail(error_at(id->mark(), p,
                         "'" + target->text() + "' is not an " + std::string(api_type) +
                             " resource of this template"));
  return target->text();
}

void add_implicit(Template& t, std::string_view id, std::string_view type, std::string_view stage,
                  const Mark& mark, const std::set<std::string>& functions) {
  if (Resource* existing = t.resource(id)) {
    for (const auto& f : functions) existing->implied_depends_on.push_back(f);
    return;
  }
  Resource api;
  api.logical_id = std::string(id);
  api.type = std::string(type);
  api.mark = mark;
  api.generated = true;
  api.properties = Node::map(mark);
  api.properties.set("StageName", Node::string(std::string(stage), mark), mark);
  api.implied_depends_on.assign(functions.begin(), functions.end());
  t.resources.push_back(std::move(api));
}

}  // namespace

Result<void, TemplateError> add_implicit_apis(Template& t) {
  std::map<std::string, std::set<std::string>> routed;  // API id → functions
  std::optional<Mark> rest_mark, http_mark;
  for (auto& r : t.resources) {
    if (r.type != kFunction) continue;
    const Node* events = r.properties.find("Events");
    if (!events || !events->is_map()) continue;
    for (const auto& e : events->entries()) {
      const Node* type = e.value.is_map() ? e.value.find("Type") : nullptr;
      if (!type || !type->is_string()) continue;
      bool rest = type->text() == "Api", http = type->text() == "HttpApi";
      if (!rest && !http) continue;
      std::string path = r.path() + ".Properties.Events." + e.key + ".Properties";
      const Node* props = e.value.find("Properties");
      Node empty = Node::map();
      auto api = event_api(t, props && props->is_map() ? *props : empty,
                           rest ? "RestApiId" : "ApiId", rest ? kApi : kHttpApi, path);
      if (!api) return fail(api.take_error());
      if (api->empty()) {
        *api = std::string(rest ? kImplicitRestApi : kImplicitHttpApi);
        auto& m = rest ? rest_mark : http_mark;
        if (!m) m = e.key_mark;
      }
      routed[*api].insert(r.logical_id);
    }
  }
  // Implicit APIs come last, REST before HTTP, so the order is stable.
  for (auto& [api, functions] : routed)
    if (Resource* explicit_api = t.resource(api))
      for (const auto& f : functions) explicit_api->implied_depends_on.push_back(f);
  if (rest_mark)
    add_implicit(t, kImplicitRestApi, kApi, "Prod", *rest_mark,
                 routed[std::string(kImplicitRestApi)]);
  if (http_mark)
    add_implicit(t, kImplicitHttpApi, kHttpApi, "$default", *http_mark,
                 routed[std::string(kImplicitHttpApi)]);
  return {};
}

Result<void, TemplateError> expand(Template& t) {
  auto implicit = add_implicit_apis(t);
  if (!implicit) return implicit;
  return apply_globals(t);
}

std::set<std::string, std::less<>> generated_ids(const Template& t) {
  std::set<std::string, std::less<>> out;
  for (const auto& r : t.resources)
    if (r.type == kFunction && !r.properties.find("Role")) out.insert(r.logical_id + "Role");
  return out;
}

// ---------------------------------------------------------------------------
// Unsupported features

namespace {

// Properties each type handles, and ones accepted but without effect in
// Nimbus (IAM, tracing, tags, networking), so templates written for AWS deploy.
struct TypeSupport {
  Names handled;
  Names ignored;
};

const std::map<std::string, TypeSupport, std::less<>>& type_support() {
  static const std::map<std::string, TypeSupport, std::less<>> k = {
      {std::string(kFunction),
       {{"Handler", "Runtime", "CodeUri", "InlineCode", "MemorySize", "Timeout", "Environment",
         "ReservedConcurrentExecutions", "AutoPublishAlias", "ProvisionedConcurrencyConfig",
         "Layers", "Description", "Architectures", "Events", "FunctionName"},
        {"Role", "Policies", "Tags", "PropagateTags", "Tracing", "KmsKeyArn", "PermissionsBoundary",
         "RolePath", "AssumeRolePolicyDocument", "VpcConfig", "LoggingConfig",
         "CodeSigningConfigArn", "AutoPublishAliasAllProperties", "AutoPublishCodeSha256",
         "VersionDescription", "PackageType"}}},
      {std::string(kLayerVersion),
       {{"ContentUri", "LayerName", "CompatibleRuntimes", "CompatibleArchitectures", "Description"},
        {"LicenseInfo", "RetentionPolicy", "PublishLambdaVersion"}}},
      {std::string(kApi),
       {{"StageName", "Cors", "Auth", "Models", "Variables", "CacheClusterEnabled",
         "CacheClusterSize", "MethodSettings", "Name", "BinaryMediaTypes"},
        {"EndpointConfiguration", "Tags", "PropagateTags", "TracingEnabled", "OpenApiVersion",
         "Description", "AccessLogSetting", "AlwaysDeploy"}}},
      {std::string(kHttpApi),
       {{"StageName", "CorsConfiguration", "Auth", "StageVariables", "Name"},
        {"Tags", "PropagateTags", "AccessLogSettings", "Description", "FailOnWarnings"}}},
      // Ignored: encryption at rest, point-in-time recovery, deletion
      // protection, the storage class and Contributor Insights change how AWS
      // stores, bills or monitors a table, not what it answers. Refused (not
      // listed): KinesisStreamSpecification, ImportSourceSpecification,
      // ResourcePolicy, OnDemandThroughput, WarmThroughput, until the DynamoDB
      // service implements them. The members of index entries and of
      // StreamSpecification: nested_support().
      {std::string(kDynamoDbTable),
       {{"TableName", "AttributeDefinitions", "KeySchema", "BillingMode", "ProvisionedThroughput",
         "TimeToLiveSpecification", "Tags", "LocalSecondaryIndexes", "GlobalSecondaryIndexes",
         "StreamSpecification"},
        {"SSESpecification", "PointInTimeRecoverySpecification", "DeletionProtectionEnabled",
         "TableClass", "ContributorInsightsSpecification"}}},
      {std::string(kSimpleTable),
       {{"PrimaryKey", "ProvisionedThroughput", "TableName", "Tags"},
        {"SSESpecification", "PointInTimeRecoverySpecification"}}},
  };
  return k;
}

// A property of AWS::DynamoDB::Table that holds further properties (a map, or
// a list of maps such as the index lists), with the members it supports.
struct NestedSupport {
  std::string_view property;
  std::string_view what;  // for the message: "a global secondary index"
  TypeSupport support;
};

const std::vector<NestedSupport>& nested_support() {
  // GSIs: OnDemandThroughput and WarmThroughput are refused as the table's are;
  // Contributor Insights is ignored as the table's is.
  static const std::vector<NestedSupport> k = {
      {"GlobalSecondaryIndexes",
       "a global secondary index",
       {{"IndexName", "KeySchema", "Projection", "ProvisionedThroughput"},
        {"ContributorInsightsSpecification"}}},
      {"LocalSecondaryIndexes",
       "a local secondary index",
       {{"IndexName", "KeySchema", "Projection"}, {}}},
      // ResourcePolicy (the stream's resource-based policy) is refused.
      {"StreamSpecification", "StreamSpecification", {{"StreamViewType"}, {}}},
  };
  return k;
}

// One error per member of `props` that `s` neither handles nor ignores.
void unsupported_members(const Node& props, const std::string& path, std::string_view of,
                         const TypeSupport& s, std::vector<TemplateError>& out) {
  if (!props.is_map() || props.is_intrinsic()) return;
  for (const auto& e : props.entries())
    if (!s.handled.contains(e.key) && !s.ignored.contains(e.key))
      out.push_back(error_at(e.key_mark, join_path(path, e.key),
                             "property '" + e.key + "' of " + std::string(of) + " is not supported",
                             TemplateError::Code::kUnsupported));
}

void unsupported_properties(const Resource& r, const TypeSupport& s,
                            std::vector<TemplateError>& out) {
  const std::string path = r.path() + ".Properties";
  unsupported_members(r.properties, path, r.type, s, out);
  if (r.type != kDynamoDbTable) return;
  for (const auto& nested : nested_support()) {
    const Node* v = r.properties.find(nested.property);
    if (!v) continue;
    const std::string at = join_path(path, nested.property);
    if (!v->is_list()) {
      unsupported_members(*v, at, nested.what, nested.support, out);
      continue;
    }
    for (size_t i = 0; i < v->items().size(); ++i)
      unsupported_members(v->items()[i], index_path(at, i), nested.what, nested.support, out);
  }
}

// The properties of a DynamoDB event: what the event source mapping takes.
// Refused (not listed): FilterCriteria, DestinationConfig, ParallelizationFactor
// (Nimbus reads a shard one batch at a time), TumblingWindowInSeconds,
// StartingPositionTimestamp, MetricsConfig, KmsKeyArn.
const TypeSupport& dynamodb_event_support() {
  static const TypeSupport k = {
      {"Stream", "StartingPosition", "BatchSize", "MaximumBatchingWindowInSeconds",
       "MaximumRecordAgeInSeconds", "MaximumRetryAttempts", "BisectBatchOnFunctionError",
       "FunctionResponseTypes", "Enabled"},
      {}};
  return k;
}

void unsupported_events(const Resource& r, std::vector<TemplateError>& out) {
  const Node* events = r.properties.find("Events");
  if (!events || !events->is_map()) return;
  for (const auto& e : events->entries()) {
    const Node* type = e.value.is_map() ? e.value.find("Type") : nullptr;
    std::string name = type && type->is_scalar() ? type->text() : "";
    if (name == "Api" || name == "HttpApi") continue;
    if (name == "DynamoDB") {
      if (const Node* props = e.value.find("Properties"))
        unsupported_members(*props, r.path() + ".Properties.Events." + e.key + ".Properties",
                            "a DynamoDB event", dynamodb_event_support(), out);
      continue;
    }
    out.push_back(error_at(
        type ? type->mark() : e.key_mark, r.path() + ".Properties.Events." + e.key + ".Type",
        "event type '" + name + "' is not supported yet", TemplateError::Code::kUnsupported));
  }
}

// A table's attributes are Arn and StreamArn (CloudFormation's); StreamArn
// exists only when the table has a stream (StreamSpecification, which SAM's
// SimpleTable does not take).
void unsupported_table_attributes(const Template& t, const Node& n, const std::string& path,
                                  std::vector<TemplateError>& out) {
  for (const auto& ref : references(n, path)) {
    const Resource* r = t.resource(ref.target);
    if (!r || !is_table(r->type) || ref.attribute.empty() || ref.attribute == "Arn") continue;
    if (ref.attribute == "StreamArn") {
      if (r->type == kDynamoDbTable && r->properties.find("StreamSpecification")) continue;
      out.push_back(error_at(ref.mark, ref.path,
                             "Fn::GetAtt " + ref.target + ".StreamArn: table " + ref.target +
                                 " has no stream (it needs a StreamSpecification)"));
    } else {
      out.push_back(error_at(
          ref.mark, ref.path,
          "'" + ref.attribute + "' is not an attribute of " + r->type + " (Arn, StreamArn)"));
    }
  }
}

}  // namespace

std::vector<TemplateError> unsupported(const Template& t) {
  std::vector<TemplateError> out;
  for (const auto& r : t.resources) {
    auto it = type_support().find(r.type);
    if (it == type_support().end()) {
      out.push_back(error_at(r.mark, r.path() + ".Type",
                             "resource type '" + r.type + "' is not supported yet",
                             TemplateError::Code::kUnsupported));
    } else {
      unsupported_properties(r, it->second, out);
      if (r.type == kFunction) unsupported_events(r, out);
    }
    unsupported_table_attributes(t, r.properties, r.path() + ".Properties", out);
  }
  for (const auto& o : t.outputs)
    unsupported_table_attributes(t, o.value, "Outputs." + o.name + ".Value", out);
  return out;
}

// ---------------------------------------------------------------------------
// Typed parsing

namespace {

// Reads typed properties of one map, keeping the first error; later reads
// are no-ops once one failed.
class Props {
 public:
  Props(const Node& n, std::string path, Errors& err) : n_(n), path_(std::move(path)), err_(err) {
    if (!err_ && !n.is_map() && !n.is_null()) err_ = error_at(n.mark(), path_, "expected a map");
  }

  const Node* get(std::string_view key) const { return n_.is_map() ? n_.find(key) : nullptr; }
  std::string path(std::string_view key) const { return join_path(path_, key); }
  bool ok() const { return !err_; }
  void fail_at(const Node& n, std::string_view key, std::string msg) {
    if (!err_) err_ = error_at(n.mark(), path(key), std::move(msg));
  }

  void str(std::string_view key, std::string& out, bool required = false) {
    const Node* v = field(key, required);
    if (!v) return;
    if (!v->is_scalar()) return fail_at(*v, key, "expected a string");
    out = v->text();
  }

  void integer(std::string_view key, int64_t& out, int64_t min, int64_t max) {
    const Node* v = field(key, false);
    if (!v) return;
    int64_t i = 0;
    const std::string& s = v->text();
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), i);
    if (v->kind() == Node::Kind::kBool || !v->is_scalar() || ec != std::errc() ||
        p != s.data() + s.size())
      return fail_at(*v, key, "expected an integer");
    if (i < min || i > max)
      return fail_at(*v, key,
                     "must be between " + std::to_string(min) + " and " + std::to_string(max));
    out = i;
  }
  template <class T>
  void integer(std::string_view key, std::optional<T>& out, int64_t min, int64_t max) {
    if (!get(key)) return;
    int64_t v = 0;
    integer(key, v, min, max);
    if (ok()) out = static_cast<T>(v);
  }
  void integer(std::string_view key, int& out, int64_t min, int64_t max) {
    std::optional<int> v;
    integer(key, v, min, max);
    if (v) out = *v;
  }

  void number(std::string_view key, std::optional<double>& out) {
    const Node* v = field(key, false);
    if (!v) return;
    double d = 0;
    const std::string& s = v->text();
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
    if (!v->is_scalar() || ec != std::errc() || p != s.data() + s.size() || !std::isfinite(d))
      return fail_at(*v, key, "expected a number");
    out = d;
  }

  void boolean(std::string_view key, std::optional<bool>& out) {
    const Node* v = field(key, false);
    if (!v) return;
    std::string s = v->text();
    std::transform(s.begin(), s.end(), s.begin(), ::tolower);
    if (!v->is_scalar() || (s != "true" && s != "false"))
      return fail_at(*v, key, "expected true or false");
    out = s == "true";
  }
  void boolean(std::string_view key, bool& out) {
    std::optional<bool> v;
    boolean(key, v);
    if (v) out = *v;
  }

  void strings(std::string_view key, std::vector<std::string>& out) {
    const Node* v = field(key, false);
    if (!v) return;
    if (!v->is_list()) return fail_at(*v, key, "expected a list of strings");
    for (size_t i = 0; i < v->items().size(); ++i) {
      const Node& item = v->items()[i];
      if (!item.is_scalar() && !err_)
        err_ = error_at(item.mark(), index_path(path(key), i), "expected a string");
      out.push_back(item.text());
    }
  }

  void string_map(std::string_view key, std::map<std::string, std::string>& out) {
    const Node* v = field(key, false);
    if (!v) return;
    if (!v->is_map()) return fail_at(*v, key, "expected a map of strings");
    for (const auto& e : v->entries()) {
      if (!e.value.is_scalar() && !err_)
        err_ = error_at(e.value.mark(), join_path(path(key), e.key), "expected a string");
      out[e.key] = e.value.text();
    }
  }

  void one_of(std::string_view key, std::string& out,
              std::initializer_list<std::string_view> allowed) {
    str(key, out);
    if (!get(key) || !ok()) return;
    if (std::find(allowed.begin(), allowed.end(), out) != allowed.end()) return;
    std::string list;
    for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
    fail_at(*get(key), key, "must be one of " + list);
  }

  // A nested map property (absent → an empty map).
  Props sub(std::string_view key) {
    const Node* v = get(key);
    return Props(v ? *v : empty(), path(key), err_);
  }
  const Node& node() const { return n_; }
  Errors& err() { return err_; }

 private:
  static const Node& empty() {
    static const Node kEmpty = Node::map();
    return kEmpty;
  }
  const Node* field(std::string_view key, bool required) {
    if (err_) return nullptr;
    const Node* v = get(key);
    if (!v && required)
      err_ = error_at(n_.mark(), path(key), "'" + std::string(key) + "' is required");
    if (v && v->is_null()) return nullptr;
    return v;
  }

  const Node& n_;
  std::string path_;
  Errors& err_;
};

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), ::toupper);
  return s;
}

// CodeUri / ContentUri: a path (or s3:// URI) or {Bucket, Key, Version}.
void code_location(Props& p, std::string_view key, std::string& uri,
                   std::optional<S3Location>& s3) {
  const Node* v = p.get(key);
  if (!v || v->is_scalar()) return p.str(key, uri);
  Props loc = p.sub(key);
  S3Location l;
  loc.str("Bucket", l.bucket, true);
  loc.str("Key", l.key, true);
  loc.str("Version", l.version);
  s3 = l;
}

// The logical id a RestApiId / ApiId refers to, read from the unresolved template.
std::string event_api_id(const Resource& r, const std::string& event, std::string_view key,
                         std::string_view implicit) {
  const Node* events = r.properties.find("Events");
  const Node* e = events ? events->find(event) : nullptr;
  const Node* props = e && e->is_map() ? e->find("Properties") : nullptr;
  const Node* id = props && props->is_map() ? props->find(key) : nullptr;
  if (id && id->intrinsic_name() == "Ref" && id->entries()[0].value.is_string())
    return id->entries()[0].value.text();
  return std::string(implicit);
}

void request_parameters(Props& p, std::vector<ApiEvent::RequestParameter>& out) {
  const Node* v = p.get("RequestParameters");
  if (!v) return;
  if (!v->is_list()) return p.fail_at(*v, "RequestParameters", "expected a list");
  for (const auto& item : v->items()) {
    ApiEvent::RequestParameter rp;
    if (item.is_scalar()) {
      rp.name = item.text();
    } else if (item.is_map() && item.entries().size() == 1) {
      rp.name = item.entries()[0].key;
      Props q(item.entries()[0].value, p.path("RequestParameters." + rp.name), p.err());
      std::optional<bool> req, cache;
      q.boolean("Required", req);
      q.boolean("Caching", cache);
      rp.required = req.value_or(false);
      rp.caching = cache.value_or(false);
    } else {
      return p.fail_at(item, "RequestParameters", "expected a name or {name: {Required, Caching}}");
    }
    if (!rp.name.starts_with("method.request.header.") &&
        !rp.name.starts_with("method.request.querystring.") &&
        !rp.name.starts_with("method.request.path."))
      return p.fail_at(item, "RequestParameters",
                       "'" + rp.name +
                           "' must start with method.request.header., "
                           "method.request.querystring. or method.request.path.");
    out.push_back(std::move(rp));
  }
}

Errors event_type_props(const Node::Entry& e, const std::string& path) {
  if (!e.value.is_map()) return error_at(e.value.mark(), path, "expected {Type, Properties}");
  return std::nullopt;
}

ApiEvent api_event(const Resource& r, const Node::Entry& e, Props& p) {
  ApiEvent ev;
  ev.name = e.key;
  ev.mark = e.key_mark;
  p.str("Path", ev.path, true);
  p.str("Method", ev.method, true);
  ev.method = upper(ev.method);
  if (p.ok() && !ev.path.starts_with("/")) p.fail_at(*p.get("Path"), "Path", "must start with '/'");
  ev.rest_api = event_api_id(r, e.key, "RestApiId", kImplicitRestApi);
  Props auth = p.sub("Auth");
  auth.boolean("ApiKeyRequired", ev.api_key_required);
  auth.str("Authorizer", ev.authorizer);
  if (p.get("RequestModel")) {
    Props m = p.sub("RequestModel");
    ApiEvent::RequestModel rm;
    m.str("Model", rm.model, true);
    std::optional<bool> required;
    m.boolean("Required", required);
    rm.required = required.value_or(false);
    m.boolean("ValidateBody", rm.validate_body);
    m.boolean("ValidateParameters", rm.validate_parameters);
    ev.request_model = rm;
  }
  request_parameters(p, ev.request_parameters);
  return ev;
}

HttpApiEvent http_api_event(const Resource& r, const Node::Entry& e, Props& p) {
  HttpApiEvent ev;
  ev.name = e.key;
  ev.mark = e.key_mark;
  p.str("Path", ev.path);
  p.str("Method", ev.method);
  ev.method = ev.method.empty() ? "ANY" : upper(ev.method);
  ev.api = event_api_id(r, e.key, "ApiId", kImplicitHttpApi);
  Props auth = p.sub("Auth");
  auth.str("Authorizer", ev.authorizer);
  auth.strings("AuthorizationScopes", ev.authorization_scopes);
  p.one_of("PayloadFormatVersion", ev.payload_format_version, {"1.0", "2.0"});
  p.integer("TimeoutInMillis", ev.timeout_in_millis, 50, 30000);
  return ev;
}

DynamoDbEvent dynamodb_event(const Node::Entry& e, Props& p) {
  DynamoDbEvent ev;
  ev.name = e.key;
  ev.mark = e.key_mark;
  p.str("Stream", ev.stream, true);
  if (p.ok() && !ev.stream.starts_with("arn:") && !ev.stream.ends_with(".StreamArn"))
    // (The check before deploying sees GetAtt's placeholder "Table.StreamArn".)
    p.fail_at(*p.get("Stream"), "Stream",
              "expected a DynamoDB stream's ARN, e.g. !GetAtt Table.StreamArn");
  p.one_of("StartingPosition", ev.starting_position, {"TRIM_HORIZON", "LATEST"});
  if (p.ok() && ev.starting_position.empty())
    p.fail_at(p.node(), "StartingPosition", "'StartingPosition' is required");
  // Lambda's limits for DynamoDB Streams sources.
  p.integer("BatchSize", ev.batch_size, 1, 10000);
  p.integer("MaximumBatchingWindowInSeconds", ev.maximum_batching_window, 0, 300);
  p.integer("MaximumRecordAgeInSeconds", ev.maximum_record_age, -1, 604800);
  if (p.ok() && ev.maximum_record_age != -1 && ev.maximum_record_age < 60)
    p.fail_at(*p.get("MaximumRecordAgeInSeconds"), "MaximumRecordAgeInSeconds",
              "must be -1 or between 60 and 604800");
  p.integer("MaximumRetryAttempts", ev.maximum_retry_attempts, -1, 10000);
  p.boolean("BisectBatchOnFunctionError", ev.bisect_batch_on_function_error);
  p.strings("FunctionResponseTypes", ev.function_response_types);
  for (const auto& t : ev.function_response_types)
    if (t != "ReportBatchItemFailures" && p.ok())
      p.fail_at(*p.get("FunctionResponseTypes"), "FunctionResponseTypes",
                "the only function response type is ReportBatchItemFailures");
  p.boolean("Enabled", ev.enabled);
  return ev;
}

void function_events(const Resource& r, Props& p, Function& f) {
  const Node* events = p.get("Events");
  if (!events || events->is_null()) return;
  if (!events->is_map()) return p.fail_at(*events, "Events", "expected a map of events");
  for (const auto& e : events->entries()) {
    std::string path = p.path("Events." + e.key);
    if (auto err = event_type_props(e, path); err && p.ok()) p.err() = std::move(err);
    if (!p.ok()) return;
    Props ev(e.value, path, p.err());
    std::string type;
    ev.str("Type", type, true);
    Props props = ev.sub("Properties");
    if (type == "Api") f.api_events.push_back(api_event(r, e, props));
    if (type == "HttpApi") f.http_api_events.push_back(http_api_event(r, e, props));
    if (type == "DynamoDB") f.dynamodb_events.push_back(dynamodb_event(e, props));
  }
}

void function_environment(Props& p, Function& f) {
  Props env = p.sub("Environment");
  env.string_map("Variables", f.environment);
  for (const auto& [k, v] : f.environment) {
    bool valid = !k.empty() && std::isalpha(static_cast<unsigned char>(k[0])) &&
                 std::all_of(k.begin(), k.end(), [](char c) {
                   return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
                 });
    if (!valid && env.ok())
      env.fail_at(*env.get("Variables"), "Variables." + k,
                  "environment variable names must match [a-zA-Z]([a-zA-Z0-9_])*");
  }
}

void function_architecture(Props& p, Function& f) {
  std::vector<std::string> archs;
  p.strings("Architectures", archs);
  if (!p.ok() || archs.empty()) return;
  if (archs.size() != 1 || (archs[0] != "x86_64" && archs[0] != "arm64"))
    return p.fail_at(*p.get("Architectures"), "Architectures",
                     "expected exactly one of x86_64, arm64");
  f.architecture = archs[0];
}

// ---- REST API pieces

// "'*'" → "*": SAM's REST CORS values are API Gateway mapping expressions.
std::string unquote(Props& p, std::string_view key, const std::string& v) {
  if (v.size() >= 2 && v.front() == '\'' && v.back() == '\'') return v.substr(1, v.size() - 2);
  if (const Node* n = p.get(key); n && p.ok())
    p.fail_at(*n, key, "CORS values are quoted strings, e.g. \"'" + v + "'\"");
  return v;
}

std::optional<RestCors> rest_cors(Props& p) {
  const Node* v = p.get("Cors");
  if (!v || v->is_null()) return std::nullopt;
  RestCors c;
  if (v->is_scalar()) {
    c.allow_origin = unquote(p, "Cors", v->text());
    return c;
  }
  Props cp = p.sub("Cors");
  std::string origin, methods, headers, max_age;
  cp.str("AllowOrigin", origin, true);
  cp.str("AllowMethods", methods);
  cp.str("AllowHeaders", headers);
  cp.str("MaxAge", max_age);
  cp.boolean("AllowCredentials", c.allow_credentials);
  c.allow_origin = unquote(cp, "AllowOrigin", origin);
  if (!methods.empty()) c.allow_methods = unquote(cp, "AllowMethods", methods);
  if (!headers.empty()) c.allow_headers = unquote(cp, "AllowHeaders", headers);
  if (!max_age.empty()) {
    std::string age = unquote(cp, "MaxAge", max_age);
    int n = 0;
    auto [end, ec] = std::from_chars(age.data(), age.data() + age.size(), n);
    if ((ec != std::errc() || end != age.data() + age.size()) && cp.ok())
      cp.fail_at(*cp.get("MaxAge"), "MaxAge", "expected a number of seconds");
    c.max_age = n;
  }
  return c;
}

// What every Lambda authorizer of an Auth.Authorizers map has: its name (the
// key) and FunctionArn. `refused` is the member of the kind SAM also allows
// there but Nimbus does not serve (Cognito, JWT).
template <class A>
A lambda_authorizer(const Node::Entry& e, Props& p, std::string_view refused,
                    std::string_view kind) {
  A a;
  a.name = e.key;
  if (p.get(refused) && p.ok())
    p.fail_at(e.value, refused, std::string(kind) + " authorizers are not supported");
  p.str("FunctionArn", a.function_arn, true);
  return a;
}

// Auth.Authorizers (a map, each entry read by `parse`) and DefaultAuthorizer,
// which must name one of them (or be one of `builtin`).
template <class A>
void authorizers(Props& auth, std::vector<A>& out, const std::string& default_authorizer,
                 A (*parse)(const Node::Entry&, Props&), std::string_view builtin = {}) {
  const Node* list = auth.get("Authorizers");
  if (list && !list->is_map()) auth.fail_at(*list, "Authorizers", "expected a map of authorizers");
  if (list && list->is_map()) {
    Props items = auth.sub("Authorizers");
    for (const auto& e : list->entries()) out.push_back(parse(e, items));
  }
  const std::string& d = default_authorizer;
  bool known = d.empty() || (!builtin.empty() && d == builtin) ||
               std::any_of(out.begin(), out.end(), [&](const A& a) { return a.name == d; });
  if (!known && auth.ok())
    auth.fail_at(*auth.get("DefaultAuthorizer"), "DefaultAuthorizer",
                 "'" + d + "' is not one of Authorizers");
}

RestAuthorizer rest_authorizer(const Node::Entry& e, Props& parent) {
  Props p(e.value, parent.path(e.key), parent.err());
  auto a = lambda_authorizer<RestAuthorizer>(e, p, "UserPoolArn", "Cognito");
  p.one_of("FunctionPayloadType", a.payload_type, {"TOKEN", "REQUEST"});
  Props id = p.sub("Identity");
  id.str("Header", a.header);
  id.strings("Headers", a.headers);
  id.strings("QueryStrings", a.query_strings);
  id.strings("StageVariables", a.stage_variables);
  id.str("ValidationExpression", a.validation_expression);
  id.integer("ReauthorizeEvery", a.reauthorize_every, 0, 3600);
  // API Gateway caches REQUEST authorizer results by their identity sources,
  // so caching needs at least one.
  bool no_sources = a.headers.empty() && a.query_strings.empty() && a.stage_variables.empty();
  if (p.ok() && a.payload_type == "REQUEST" && no_sources && a.reauthorize_every != 0)
    p.fail_at(e.value, "Identity",
              "a REQUEST authorizer needs Identity Headers, QueryStrings or StageVariables "
              "unless ReauthorizeEvery is 0");
  return a;
}

void usage_plan(Props& auth, UsagePlan& u) {
  if (!auth.get("UsagePlan")) return;
  Props p = auth.sub("UsagePlan");
  p.one_of("CreateUsagePlan", u.create, {"PER_API", "SHARED", "NONE"});
  if (!p.get("CreateUsagePlan") && p.ok())
    p.fail_at(p.node(), "CreateUsagePlan", "'CreateUsagePlan' is required");
  Props q = p.sub("Quota");
  q.integer("Limit", u.quota_limit, 0, INT64_MAX);
  q.one_of("Period", u.quota_period, {"DAY", "WEEK", "MONTH"});
  Props t = p.sub("Throttle");
  t.integer("BurstLimit", u.burst_limit, 0, INT64_MAX);
  t.number("RateLimit", u.rate_limit);
}

void rest_auth(Props& p, RestApi& api) {
  Props auth = p.sub("Auth");
  auth.boolean("ApiKeyRequired", api.api_key_required);
  auth.str("DefaultAuthorizer", api.default_authorizer);
  usage_plan(auth, api.usage_plan);
  authorizers(auth, api.authorizers, api.default_authorizer, &rest_authorizer, "AWS_IAM");
}

void method_settings(Props& p, std::vector<MethodSetting>& out) {
  const Node* v = p.get("MethodSettings");
  if (!v) return;
  if (!v->is_list()) return p.fail_at(*v, "MethodSettings", "expected a list");
  for (size_t i = 0; i < v->items().size(); ++i) {
    Props m(v->items()[i], index_path(p.path("MethodSettings"), i), p.err());
    MethodSetting s;
    m.str("ResourcePath", s.resource_path);
    m.str("HttpMethod", s.http_method);
    m.boolean("CachingEnabled", s.caching_enabled);
    m.integer("CacheTtlInSeconds", s.cache_ttl_in_seconds, 0, 3600);
    m.integer("ThrottlingBurstLimit", s.throttling_burst_limit, 0, INT64_MAX);
    m.number("ThrottlingRateLimit", s.throttling_rate_limit);
    out.push_back(std::move(s));
  }
}

void models(Props& p, std::map<std::string, boost::json::value>& out) {
  const Node* v = p.get("Models");
  if (!v) return;
  if (!v->is_map()) return p.fail_at(*v, "Models", "expected a map of JSON schemas");
  for (const auto& e : v->entries()) {
    if (!e.value.is_map() && p.ok())
      p.fail_at(e.value, "Models." + e.key, "expected a JSON schema");
    out[e.key] = to_json(e.value);
  }
}

// ---- HTTP API pieces

std::optional<HttpCors> http_cors(Props& p) {
  const Node* v = p.get("CorsConfiguration");
  if (!v || v->is_null()) return std::nullopt;
  if (v->kind() == Node::Kind::kBool || v->is_string()) {
    std::optional<bool> on;
    p.boolean("CorsConfiguration", on);
    if (!on.value_or(false)) return std::nullopt;
    // SAM's `CorsConfiguration: true` allows every origin, method and header.
    return HttpCors{{"*"}, {"*"}, {"*"}, {}, std::nullopt, false};
  }
  Props c = p.sub("CorsConfiguration");
  HttpCors out;
  c.strings("AllowOrigins", out.allow_origins);
  c.strings("AllowMethods", out.allow_methods);
  c.strings("AllowHeaders", out.allow_headers);
  c.strings("ExposeHeaders", out.expose_headers);
  c.integer("MaxAge", out.max_age, 0, 86400);
  c.boolean("AllowCredentials", out.allow_credentials);
  return out;
}

HttpAuthorizer http_authorizer(const Node::Entry& e, Props& parent) {
  Props p(e.value, parent.path(e.key), parent.err());
  auto a = lambda_authorizer<HttpAuthorizer>(e, p, "JwtConfiguration", "JWT");
  p.one_of("AuthorizerPayloadFormatVersion", a.payload_format_version, {"1.0", "2.0"});
  if (p.ok() && a.payload_format_version.empty())
    p.fail_at(e.value, "AuthorizerPayloadFormatVersion",
              "'AuthorizerPayloadFormatVersion' is required for Lambda authorizers");
  p.boolean("EnableSimpleResponses", a.enable_simple_responses);
  if (p.ok() && a.enable_simple_responses && a.payload_format_version != "2.0")
    p.fail_at(*p.get("EnableSimpleResponses"), "EnableSimpleResponses",
              "simple responses need AuthorizerPayloadFormatVersion 2.0");
  Props id = p.sub("Identity");
  id.strings("Headers", a.headers);
  id.strings("QueryStrings", a.query_strings);
  id.integer("ReauthorizeEvery", a.reauthorize_every, 0, 3600);
  return a;
}

void http_auth(Props& p, HttpApi& api) {
  Props auth = p.sub("Auth");
  auth.str("DefaultAuthorizer", api.default_authorizer);
  if (auth.get("EnableIamAuthorizer") && auth.ok())
    auth.fail_at(*auth.get("EnableIamAuthorizer"), "EnableIamAuthorizer",
                 "IAM authorization of HTTP APIs is not supported");
  authorizers(auth, api.authorizers, api.default_authorizer, &http_authorizer);
}

// ---- DynamoDB tables

// A required list property; nullptr (with the error recorded) when absent or
// not a list.
const Node* required_list(Props& p, std::string_view key) {
  const Node* v = p.get(key);
  if (!p.ok()) return nullptr;
  if (!v) {
    p.fail_at(p.node(), key, "'" + std::string(key) + "' is required");
    return nullptr;
  }
  if (!v->is_list()) {
    p.fail_at(*v, key, "expected a list");
    return nullptr;
  }
  return v;
}

// AttributeDefinitions by name, each with the node that defines it and
// whether a key schema (the table's or an index's) uses it: DynamoDB refuses
// a definition no key uses.
struct AttributeDefinitions {
  struct Definition {
    std::string type;  // S | N | B
    const Node* node = nullptr;
    bool used = false;
  };
  std::map<std::string, Definition> by_name;
};

AttributeDefinitions attribute_definitions(Props& p) {
  AttributeDefinitions out;
  const Node* defs = required_list(p, "AttributeDefinitions");
  if (!defs) return out;
  for (size_t i = 0; i < defs->items().size(); ++i) {
    Props d(defs->items()[i], index_path(p.path("AttributeDefinitions"), i), p.err());
    std::string name, type;
    d.str("AttributeName", name, true);
    d.one_of("AttributeType", type, {"S", "N", "B"});
    if (d.ok() && type.empty()) d.fail_at(d.node(), "AttributeType", "'AttributeType' is required");
    if (d.ok() && out.by_name.count(name))
      d.fail_at(d.node(), "AttributeName", "attribute '" + name + "' is defined twice");
    if (!d.ok()) return out;
    out.by_name[name] = {type, &defs->items()[i]};
  }
  return out;
}

// The KeySchema of `p` (the table's or an index's): a HASH key and optionally
// a RANGE key, each an attribute of AttributeDefinitions (marked as used).
void key_schema(Props& p, AttributeDefinitions& defs, Table::Key& hash,
                std::optional<Table::Key>& range) {
  const Node* schema = required_list(p, "KeySchema");
  if (!schema) return;
  if (schema->items().empty() || schema->items().size() > 2)
    return p.fail_at(*schema, "KeySchema",
                     "expected a HASH key and optionally a RANGE key (1 or 2 elements)");
  for (size_t i = 0; i < schema->items().size(); ++i) {
    Props k(schema->items()[i], index_path(p.path("KeySchema"), i), p.err());
    std::string name, kind;
    k.str("AttributeName", name, true);
    k.one_of("KeyType", kind, {"HASH", "RANGE"});
    if (!k.ok()) return;
    if (kind != (i == 0 ? "HASH" : "RANGE"))
      return k.fail_at(
          k.node(), "KeyType",
          i == 0 ? "the first key must be the HASH key" : "the second key must be the RANGE key");
    auto def = defs.by_name.find(name);
    if (def == defs.by_name.end())
      return k.fail_at(k.node(), "AttributeName",
                       "'" + name + "' is not defined in AttributeDefinitions");
    def->second.used = true;
    (i == 0 ? hash : range.emplace()) = Table::Key{name, def->second.type};
  }
}

// ProvisionedThroughput {ReadCapacityUnits, WriteCapacityUnits}, both at least 1.
void throughput(Props& p, int64_t& read, int64_t& write) {
  Props pt = p.sub("ProvisionedThroughput");
  for (auto [key, out] :
       {std::pair{"ReadCapacityUnits", &read}, std::pair{"WriteCapacityUnits", &write}}) {
    if (!pt.get(key) && pt.ok())
      pt.fail_at(pt.node(), key, "'" + std::string(key) + "' is required");
    pt.integer(key, *out, 1, INT64_MAX);
  }
}

// BillingMode and ProvisionedThroughput, which DynamoDB needs exactly for PROVISIONED.
void billing(Props& p, Table& t) {
  p.one_of("BillingMode", t.billing_mode, {"PROVISIONED", "PAY_PER_REQUEST"});
  const Node* pt = p.get("ProvisionedThroughput");
  if (!p.ok()) return;
  if (t.billing_mode == "PAY_PER_REQUEST") {
    if (pt)
      p.fail_at(*pt, "ProvisionedThroughput", "not allowed when BillingMode is PAY_PER_REQUEST");
    return;
  }
  if (!pt)
    return p.fail_at(p.node(), "ProvisionedThroughput",
                     "'ProvisionedThroughput' is required when BillingMode is PROVISIONED "
                     "(the default)");
  throughput(p, t.read_capacity, t.write_capacity);
}

// DynamoDB's rule for table and index names.
bool valid_dynamodb_name(const std::string& n) {
  return n.size() >= 3 && n.size() <= 255 && std::all_of(n.begin(), n.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
         });
}

void table_name(Props& p, Table& t) {
  p.str("TableName", t.table_name);
  if (!p.ok() || !p.get("TableName")) return;
  if (!valid_dynamodb_name(t.table_name))
    p.fail_at(*p.get("TableName"), "TableName",
              "must be 3 to 255 characters of a-z, A-Z, 0-9, '_', '-' and '.'");
}

// An index's Projection {ProjectionType, NonKeyAttributes}; ProjectionType
// defaults to ALL, as DynamoDB's does.
void projection(Props& ix, Table::Index& index) {
  if (!ix.get("Projection") && ix.ok())
    return ix.fail_at(ix.node(), "Projection", "'Projection' is required");
  Props pr = ix.sub("Projection");
  pr.one_of("ProjectionType", index.projection_type, {"ALL", "KEYS_ONLY", "INCLUDE"});
  pr.strings("NonKeyAttributes", index.non_key_attributes);
  if (!pr.ok()) return;
  if (index.projection_type == "INCLUDE" && index.non_key_attributes.empty())
    pr.fail_at(pr.node(), "NonKeyAttributes",
               "'NonKeyAttributes' is required when ProjectionType is INCLUDE");
  else if (index.projection_type != "INCLUDE" && pr.get("NonKeyAttributes"))
    pr.fail_at(*pr.get("NonKeyAttributes"), "NonKeyAttributes",
               "allowed only when ProjectionType is INCLUDE");
}

// LocalSecondaryIndexes (global = false) or GlobalSecondaryIndexes, checked
// as CreateTable checks them. Runs after billing(): a GSI needs its own
// ProvisionedThroughput exactly when the table is PROVISIONED.
void secondary_indexes(Props& p, Table& t, AttributeDefinitions& defs, bool global) {
  const std::string_view key = global ? "GlobalSecondaryIndexes" : "LocalSecondaryIndexes";
  const Node* list = p.get(key);
  if (!list || list->is_null() || !p.ok()) return;
  if (!list->is_list()) return p.fail_at(*list, key, "expected a list of indexes");
  const size_t limit = global ? 20 : 5;  // DynamoDB's per-table limits
  if (list->items().size() > limit)
    return p.fail_at(*list, key, "at most " + std::to_string(limit) + " indexes per table");
  auto& out = global ? t.global_indexes : t.local_indexes;
  for (size_t i = 0; i < list->items().size() && p.ok(); ++i) {
    Props ix(list->items()[i], index_path(p.path(key), i), p.err());
    Table::Index index;
    ix.str("IndexName", index.name, true);
    if (!ix.ok()) return;
    if (!valid_dynamodb_name(index.name))
      return ix.fail_at(*ix.get("IndexName"), "IndexName",
                        "must be 3 to 255 characters of a-z, A-Z, 0-9, '_', '-' and '.'");
    for (const auto* others : {&t.local_indexes, &t.global_indexes})
      for (const auto& other : *others)
        if (other.name == index.name)
          return ix.fail_at(*ix.get("IndexName"), "IndexName",
                            "index '" + index.name + "' is defined twice");
    key_schema(ix, defs, index.hash, index.range);
    if (!ix.ok()) return;
    if (!global) {
      const Node& schema = *ix.get("KeySchema");
      if (!t.range)
        return ix.fail_at(schema, "KeySchema",
                          "a local secondary index needs a table with a RANGE key");
      if (index.hash.name != t.hash.name)
        return ix.fail_at(
            schema, "KeySchema",
            "a local secondary index has the table's HASH key ('" + t.hash.name + "')");
      if (!index.range)
        return ix.fail_at(schema, "KeySchema", "a local secondary index needs a RANGE key");
    }
    projection(ix, index);
    if (global && t.billing_mode == "PROVISIONED") {
      if (!ix.get("ProvisionedThroughput") && ix.ok())
        return ix.fail_at(ix.node(), "ProvisionedThroughput",
                          "'ProvisionedThroughput' is required when the table's BillingMode is "
                          "PROVISIONED");
      throughput(ix, index.read_capacity, index.write_capacity);
    } else if (global && ix.get("ProvisionedThroughput") && ix.ok()) {
      return ix.fail_at(*ix.get("ProvisionedThroughput"), "ProvisionedThroughput",
                        "not allowed when the table's BillingMode is PAY_PER_REQUEST");
    }
    out.push_back(std::move(index));
  }
}

// AttributeDefinitions, KeySchema and the secondary indexes. Every defined
// attribute must be a key attribute of the table or of an index.
void table_keys(Props& p, Table& t) {
  AttributeDefinitions defs = attribute_definitions(p);
  if (!p.ok()) return;
  key_schema(p, defs, t.hash, t.range);
  billing(p, t);
  secondary_indexes(p, t, defs, false);
  secondary_indexes(p, t, defs, true);
  if (!p.ok()) return;
  for (const auto& [name, def] : defs.by_name)
    if (!def.used)
      return p.fail_at(*def.node, "AttributeDefinitions",
                       "'" + name +
                           "' is not a key attribute of the table or of any secondary index "
                           "(DynamoDB refuses unused attribute definitions)");
}

// StreamSpecification {StreamViewType}.
void stream_specification(Props& p, Table& t) {
  const Node* v = p.get("StreamSpecification");
  if (!v || v->is_null()) return;
  Props s = p.sub("StreamSpecification");
  s.one_of("StreamViewType", t.stream_view_type,
           {"NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES", "KEYS_ONLY"});
  if (s.ok() && t.stream_view_type.empty())
    s.fail_at(s.node(), "StreamViewType", "'StreamViewType' is required");
}

// TimeToLiveSpecification {AttributeName, Enabled}; AttributeName is needed
// to enable it.
void time_to_live(Props& p, Table& t) {
  if (!p.get("TimeToLiveSpecification")) return;
  Props ttl = p.sub("TimeToLiveSpecification");
  std::optional<bool> enabled;
  std::string name;
  ttl.boolean("Enabled", enabled);
  ttl.str("AttributeName", name);
  if (!ttl.ok()) return;
  if (!enabled) return ttl.fail_at(ttl.node(), "Enabled", "'Enabled' is required");
  if (*enabled && name.empty())
    return ttl.fail_at(ttl.node(), "AttributeName",
                       "'AttributeName' is required when Enabled is true");
  if (*enabled) t.ttl_attribute = name;
}

// CloudFormation's tag list: [{Key, Value}, ...].
void tag_list(Props& p, std::map<std::string, std::string>& out) {
  const Node* v = p.get("Tags");
  if (!v || v->is_null() || !p.ok()) return;
  if (!v->is_list()) return p.fail_at(*v, "Tags", "expected a list of {Key, Value}");
  for (size_t i = 0; i < v->items().size(); ++i) {
    Props tag(v->items()[i], index_path(p.path("Tags"), i), p.err());
    std::string key, value;
    tag.str("Key", key, true);
    tag.str("Value", value, true);
    if (tag.ok() && out.count(key)) tag.fail_at(tag.node(), "Key", "tag '" + key + "' is repeated");
    out[key] = value;
  }
}

// One resource's Properties read into its model by `read`, with the logical
// id and mark (and, for APIs, whether SAM generated it) set; the first error.
template <class T, class Read>
Result<T, TemplateError> parse_resource(const Resource& r, const Node& props, Read read) {
  Errors err;
  Props p(props, r.path() + ".Properties", err);
  T out;
  out.logical_id = r.logical_id;
  out.mark = r.mark;
  if constexpr (requires { out.implicit; }) out.implicit = r.generated;
  read(p, out);
  if (err) return fail(std::move(*err));
  return out;
}

}  // namespace

Result<Function, TemplateError> parse_function(const Resource& r, const Node& props) {
  return parse_resource<Function>(r, props, [&](Props& p, Function& f) {
    p.str("FunctionName", f.function_name);
    p.str("Description", f.description);
    if (p.get("InlineCode")) {
      std::string code;
      p.str("InlineCode", code);
      f.inline_code = code;
      if (p.get("CodeUri") && p.ok())
        p.fail_at(*p.get("CodeUri"), "CodeUri", "CodeUri and InlineCode are mutually exclusive");
    }
    code_location(p, "CodeUri", f.code_uri, f.code_s3);
    p.str("Handler", f.handler, true);
    p.str("Runtime", f.runtime, true);
    p.integer("MemorySize", f.memory_size, 128, 10240);
    p.integer("Timeout", f.timeout, 1, 900);
    p.integer("ReservedConcurrentExecutions", f.reserved_concurrency, 0, 1'000'000);
    p.str("AutoPublishAlias", f.auto_publish_alias);
    if (const Node* pc = p.get("ProvisionedConcurrencyConfig")) {
      Props c = p.sub("ProvisionedConcurrencyConfig");
      if (c.ok() && !c.get("ProvisionedConcurrentExecutions"))
        c.fail_at(*pc, "ProvisionedConcurrentExecutions",
                  "'ProvisionedConcurrentExecutions' is required");
      c.integer("ProvisionedConcurrentExecutions", f.provisioned_concurrency, 1, 1'000'000);
      // SAM's own check (and message): the configuration goes on the alias.
      if (p.ok() && f.auto_publish_alias.empty())
        p.fail_at(*pc, "ProvisionedConcurrencyConfig",
                  "To set ProvisionedConcurrencyConfig AutoPublishALias must be defined on the "
                  "function");
    }
    p.strings("Layers", f.layers);
    function_environment(p, f);
    function_architecture(p, f);
    function_events(r, p, f);
  });
}

Result<LayerVersion, TemplateError> parse_layer_version(const Resource& r, const Node& props) {
  return parse_resource<LayerVersion>(r, props, [&](Props& p, LayerVersion& l) {
    if (!p.get("ContentUri") && p.ok()) p.fail_at(props, "ContentUri", "'ContentUri' is required");
    code_location(p, "ContentUri", l.content_uri, l.content_s3);
    p.str("LayerName", l.layer_name);
    p.str("Description", l.description);
    p.strings("CompatibleRuntimes", l.compatible_runtimes);
    p.strings("CompatibleArchitectures", l.compatible_architectures);
  });
}

Result<RestApi, TemplateError> parse_api(const Resource& r, const Node& props) {
  return parse_resource<RestApi>(r, props, [](Props& p, RestApi& api) {
    p.str("Name", api.name);
    p.str("StageName", api.stage_name, true);
    api.cors = rest_cors(p);
    rest_auth(p, api);
    models(p, api.models);
    p.string_map("Variables", api.variables);
    p.boolean("CacheClusterEnabled", api.cache_cluster_enabled);
    p.str("CacheClusterSize", api.cache_cluster_size);
    method_settings(p, api.method_settings);
    p.strings("BinaryMediaTypes", api.binary_media_types);
    // SAM writes a media type's "/" as "~1" (image~1png), as CloudFormation's
    // patch paths do; API Gateway wants the plain type.
    for (auto& t : api.binary_media_types)
      for (size_t at = t.find("~1"); at != std::string::npos; at = t.find("~1", at + 1))
        t.replace(at, 2, "/");
  });
}

Result<HttpApi, TemplateError> parse_http_api(const Resource& r, const Node& props) {
  return parse_resource<HttpApi>(r, props, [](Props& p, HttpApi& api) {
    p.str("Name", api.name);
    p.str("StageName", api.stage_name);
    api.cors = http_cors(p);
    http_auth(p, api);
    p.string_map("StageVariables", api.stage_variables);
  });
}

Result<Table, TemplateError> parse_table(const Resource& r, const Node& props) {
  return parse_resource<Table>(r, props, [](Props& p, Table& t) {
    table_name(p, t);
    table_keys(p, t);
    stream_specification(p, t);
    time_to_live(p, t);
    tag_list(p, t.tags);
  });
}

Result<Table, TemplateError> parse_simple_table(const Resource& r, const Node& props) {
  // SAM's transform (SamSimpleTable): PrimaryKey {Name, Type} (both required
  // when given; String, Number or Binary), default id/String; ProvisionedThroughput
  // passed through, its absence meaning PAY_PER_REQUEST; Tags a map.
  return parse_resource<Table>(r, props, [](Props& p, Table& t) {
    table_name(p, t);
    t.hash = Table::Key{"id", "S"};
    if (p.get("PrimaryKey")) {
      Props k = p.sub("PrimaryKey");
      std::string type;
      k.str("Name", t.hash.name, true);
      k.one_of("Type", type, {"String", "Number", "Binary"});
      if (k.ok() && !k.get("Type")) k.fail_at(k.node(), "Type", "'Type' is required");
      t.hash.type = type == "Number" ? "N" : type == "Binary" ? "B" : "S";
    }
    if (p.get("ProvisionedThroughput"))
      throughput(p, t.read_capacity, t.write_capacity);
    else
      t.billing_mode = "PAY_PER_REQUEST";
    p.string_map("Tags", t.tags);
  });
}

ResourceValues placeholder_values() {
  ResourceValues v;
  v.ref = [](std::string_view id) { return std::optional<std::string>(std::string(id)); };
  v.get_att = [](std::string_view id, std::string_view attr) {
    return std::optional<Node>(Node::string(std::string(id) + "." + std::string(attr)));
  };
  return v;
}

std::vector<TemplateError> validate(const Template& t, const Context& ctx) {
  std::vector<TemplateError> out;
  for (const auto& r : t.resources) {
    if (!ctx.resource_enabled(r)) continue;
    auto props = resolve(r.properties, ctx, r.path() + ".Properties");
    if (!props) {
      out.push_back(props.take_error());
      continue;
    }
    std::optional<TemplateError> err;
    if (r.type == kFunction) {
      if (auto f = parse_function(r, *props); !f) err = f.take_error();
    } else if (r.type == kLayerVersion) {
      if (auto l = parse_layer_version(r, *props); !l) err = l.take_error();
    } else if (r.type == kApi) {
      if (auto a = parse_api(r, *props); !a) err = a.take_error();
    } else if (r.type == kHttpApi) {
      if (auto h = parse_http_api(r, *props); !h) err = h.take_error();
    } else if (r.type == kDynamoDbTable) {
      if (auto tb = parse_table(r, *props); !tb) err = tb.take_error();
    } else if (r.type == kSimpleTable) {
      if (auto tb = parse_simple_table(r, *props); !tb) err = tb.take_error();
    }
    if (err) out.push_back(std::move(*err));
  }
  return out;
}

}  // namespace nimbus::deploy::sam
