// The deployer's internals, shared by deployer.cc (plan, functions, layers,
// outputs, the run), deployer_apis.cc (REST and HTTP APIs, usage plans) and
// deployer_tables.cc (DynamoDB tables):
// the AWS client it drives, JSON accessors, and the Deployment that applies
// one template. Internal to src/deploy/.
#pragma once

#include <fmt/format.h>

#include <boost/json.hpp>
#include <chrono>
#include <map>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "deploy/deployer.h"
#include "deploy/intrinsics.h"
#include "deploy/sam.h"
#include "deploy/template.h"

namespace nimbus::deploy::detail {

namespace json = boost::json;

// ---------------------------------------------------------------------------
// AWS calls

struct CallError {
  int status = 0;  // 0: no answer
  std::string type;
  std::string message;

  bool unknown_operation() const {
    return type.find("UnknownOperation") != std::string::npos ||
           type.find("UnknownService") != std::string::npos;
  }
  // DynamoDB answers 400 ResourceNotFoundException where REST APIs answer 404.
  bool not_found() const { return status == 404 || type == "ResourceNotFoundException"; }
  std::string to_string() const {
    if (status == 0) return message;
    std::string s = type.empty() ? fmt::format("HTTP {}", status) : type;
    return message.empty() ? s : s + ": " + message;
  }
};

class Aws {
 public:
  explicit Aws(const Transport& t) : t_(t) {}

  Result<json::value, CallError> call(std::string_view service, std::string method,
                                      std::string target, std::string body = {},
                                      std::string content_type = "application/json") {
    http::Request req;
    req.method = std::move(method);
    req.target = std::move(target);
    req.body = std::move(body);
    if (!req.body.empty()) req.headers.set("Content-Type", content_type);
    return send(std::move(req), service);
  }

  // The json-1.0 protocol (DynamoDB): POST / naming the operation in
  // X-Amz-Target, e.g. "DynamoDB_20120810.CreateTable".
  Result<json::value, CallError> json_call(std::string_view service, std::string amz_target,
                                           const json::object& body) {
    http::Request req;
    req.method = "POST";
    req.target = "/";
    req.body = json::serialize(body);
    req.headers.set("X-Amz-Target", amz_target);
    req.headers.set("Content-Type", "application/x-amz-json-1.0");
    return send(std::move(req), service);
  }

  const std::string& last_body() const { return last_body_; }

 private:
  Result<json::value, CallError> send(http::Request req, std::string_view service) {
    auto r = t_(std::move(req), service);
    if (!r) return fail(CallError{0, "", r.error().message});
    if (r->status >= 300) {
      CallError e{r->status, r->headers.get_or("x-amzn-ErrorType"), ""};
      if (auto c = e.type.find(':'); c != std::string::npos) e.type.resize(c);
      boost::system::error_code ec;
      auto v = json::parse(r->body, ec);
      if (!ec && v.is_object()) {
        auto& o = v.as_object();
        for (auto k : {"message", "Message", "errorMessage"})
          if (auto* m = o.if_contains(k); m && m->is_string()) e.message = m->as_string();
        if (e.type.empty())
          for (auto k : {"__type", "code", "Code"})
            if (auto* m = o.if_contains(k); m && m->is_string()) e.type = m->as_string();
        // json-1.0 types are namespaced:
        // "com.amazonaws.dynamodb.v20120810#ResourceInUseException".
        if (auto h = e.type.find('#'); h != std::string::npos) e.type.erase(0, h + 1);
      } else if (!r->body.empty()) {
        // Query protocol (XML): <Code>...</Code><Message>...</Message>
        auto tag = [&](std::string_view name) {
          std::string open = "<" + std::string(name) + ">", close = "</" + std::string(name) + ">";
          auto a = r->body.find(open), b = r->body.find(close);
          return a == std::string::npos || b == std::string::npos
                     ? std::string()
                     : r->body.substr(a + open.size(), b - a - open.size());
        };
        if (e.type.empty()) e.type = tag("Code");
        e.message = tag("Message");
        if (e.message.empty()) e.message = r->body.substr(0, 300);
      }
      return fail(std::move(e));
    }
    last_body_ = r->body;
    if (r->body.empty()) return json::value(nullptr);
    boost::system::error_code ec;
    auto v = json::parse(r->body, ec);
    if (ec) return json::value(r->body);  // not JSON (XML, a zip): the raw text
    return v;
  }

  const Transport& t_;
  std::string last_body_;
};

inline std::string str(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

inline std::optional<int64_t> num(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  if (!v || !v->is_number()) return std::nullopt;
  return v->to_number<int64_t>();
}

inline const json::object& obj(const json::value& v) {
  static const json::object empty;
  return v.is_object() ? v.as_object() : empty;
}

// The object member `k` of `o` (an empty object when absent or not an object).
inline const json::object& member(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  return v ? obj(*v) : obj(json::value());
}

inline std::string fn_path(const std::string& name) {
  return "/2015-03-31/functions/" + http::url_encode(name);
}

inline std::string path_of_plan_keys(const std::string& plan_id) {
  return "/usageplans/" + plan_id + "/keys";
}

inline std::string layer_versions_path(const std::string& layer) {
  return "/2018-10-31/layers/" + http::url_encode(layer) + "/versions";
}

inline std::vector<std::string> strings(const json::object& o, std::string_view k) {
  std::vector<std::string> out;
  if (auto* v = o.if_contains(k); v && v->is_array())
    for (auto& x : v->as_array())
      if (x.is_string()) out.emplace_back(x.as_string());
  return out;
}

inline FunctionSettings settings_from_configuration(const json::object& cfg) {
  FunctionSettings s;
  s.handler = str(cfg, "Handler");
  s.runtime = str(cfg, "Runtime");
  s.description = str(cfg, "Description");
  s.role = str(cfg, "Role");
  s.memory_size = static_cast<int>(num(cfg, "MemorySize").value_or(128));
  s.timeout = static_cast<int>(num(cfg, "Timeout").value_or(3));
  if (auto* env = cfg.if_contains("Environment"); env && env->is_object())
    if (auto* vars = env->as_object().if_contains("Variables"); vars && vars->is_object())
      for (auto& [k, v] : vars->as_object())
        if (v.is_string()) s.environment[std::string(k)] = v.as_string();
  if (auto* layers = cfg.if_contains("Layers"); layers && layers->is_array())
    for (auto& l : layers->as_array())
      if (l.is_object()) s.layers.push_back(str(l.as_object(), "Arn"));
  return s;
}

inline json::object configuration_request(const FunctionSettings& s) {
  json::object vars;
  for (auto& [k, v] : s.environment) vars[k] = v;
  json::array layers;
  for (auto& l : s.layers) layers.emplace_back(l);
  return json::object{{"Handler", s.handler},
                      {"Runtime", s.runtime},
                      {"Description", s.description},
                      {"Role", s.role},
                      {"MemorySize", s.memory_size},
                      {"Timeout", s.timeout},
                      {"Environment", json::object{{"Variables", std::move(vars)}}},
                      {"Layers", std::move(layers)}};
}

// What a function of the stack looks like on the server, with what a rollback
// needs to restore it.
struct ExistingFunction {
  FunctionState state;
  std::string arn;
  std::string code_location;
};

struct ExistingApi {
  ApiState state;
};

// What a DynamoDB event's event source mapping is set to: the members
// CreateEventSourceMapping and UpdateEventSourceMapping share (Lambda's
// defaults when the template leaves one out).
struct MappingSettings {
  int64_t batch_size = 100;
  int64_t maximum_batching_window = 0;
  int64_t maximum_record_age = -1;
  int64_t maximum_retry_attempts = -1;
  bool bisect_batch_on_function_error = false;
  std::vector<std::string> function_response_types;
  bool enabled = true;
  friend bool operator==(const MappingSettings&, const MappingSettings&) = default;
};

// An event source mapping of one of the stack's functions. Mappings have no
// tags: a stack's functions' mappings are the stack's.
struct ExistingMapping {
  std::string uuid;
  std::string function_name;
  std::string event_source_arn;
  std::string starting_position;
  MappingSettings settings;
};

// A layer version the stack published (found by its Description's marker).
struct ExistingLayerVersion {
  std::string layer_name, arn, description;
  int64_t version = 0;
  std::vector<std::string> runtimes, architectures;
};

// Stops at the first failure; its message goes into the FAILED line.
struct StepError {
  std::string message;
};

class Deployment {
 public:
  Deployment(const DeployOptions& o, const Transport& t, std::ostream& out, std::ostream& err)
      : opts_(o), transport_(t), aws_(t), out_(out), err_(err) {}

  DeployResult run();

 private:
  using Clock = std::chrono::steady_clock;

  bool load();
  bool read_current();
  Result<void, StepError> apply(const std::string& id);
  Result<void, StepError> apply_function(const Resource& r, const Node& props);
  Result<void, StepError> apply_rest_api(const Resource& r, const Node& props);
  Result<void, StepError> apply_http_api(const Resource& r, const Node& props);
  // What differs between a REST and an HTTP API; apply_api does the rest
  // (the diff, progress lines, the values Ref / GetAtt see).
  struct ApiSteps {
    std::string type;  // sam::kApi | sam::kHttpApi
    std::string kind;  // "REST" | "HTTP" (the URL list)
    std::string stage;
    std::string definition_sha256;
    std::map<std::string, std::string> atts;  // GetAtt values
    // Creates the API (id "") or updates it (previous_sha: its definition tag
    // before), journalling the undo; returns its id.
    std::function<Result<std::string, StepError>(std::string id, const std::string& previous_sha)>
        push;
  };
  Result<void, StepError> apply_api(const Resource& r, const ApiSteps& steps);
  // Journals the restore of what an API served before this deploy updates it.
  Result<void, StepError> journal_rest_api_update(const std::string& logical_id,
                                                  const std::string& id, const std::string& stage,
                                                  const std::string& previous_sha);
  Result<void, StepError> journal_http_api_update(const std::string& logical_id,
                                                  const std::string& id,
                                                  const std::string& previous_sha);
  Result<void, StepError> apply_usage_plan(const Resource& r, const sam::RestApi& api,
                                           const std::string& id);
  Result<void, StepError> tag_api(const std::string& type, const std::string& id,
                                  const json::object& t);
  // The stack's item of /apikeys or /usageplans made for an API's logical id.
  std::optional<json::object> stack_item(const std::string& collection,
                                         const std::string& logical_id);
  // Journals the DELETE that undoes a create.
  void record_delete(std::string type, std::string logical_id, std::string service,
                     std::string path);
  Result<void, StepError> apply_layer(const Resource& r, const Node& props);
  bool read_layers();

  // DynamoDB tables (deployer_tables.cc).
  Result<json::value, CallError> dynamodb(std::string_view operation, const json::object& body) {
    return aws_.json_call("dynamodb", "DynamoDB_20120810." + std::string(operation), body);
  }
  bool read_tables();
  Result<void, StepError> apply_table(const Resource& r, const Node& props);
  Result<void, StepError> update_table(const Resource& r, const TableState& current,
                                       const TableState& want, const Change& change);
  Result<void, StepError> set_table_tags(const std::string& arn,
                                         const std::map<std::string, std::string>& from,
                                         const std::map<std::string, std::string>& to);
  Result<void, StepError> require_dynamodb(const Resource& r);
  // Polls DescribeTable (its Table; nullptr once the table does not exist)
  // until `done` answers true or fails, or 120 s passed.
  using TablePoll = std::function<Result<bool, std::string>(const json::object* table)>;
  Result<void, std::string> poll_table(const std::string& name, std::string_view waiting_for,
                                       const TablePoll& done);
  // Polls DescribeTable until the table and its global secondary indexes are
  // ACTIVE (or, `gone`, until it no longer exists), as CloudFormation waits
  // before it reports COMPLETE.
  Result<void, std::string> wait_for_table(const std::string& name, bool gone);
  // UpdateTable with GlobalSecondaryIndexUpdates (and the AttributeDefinitions
  // a Create needs).
  Result<void, std::string> update_index(const std::string& table, json::array updates,
                                         json::array definitions = {});
  // One GSI created (and waited for until ACTIVE: the backfill is done) or
  // deleted (waited for until gone); `requested` runs once DynamoDB accepted
  // the change, before the wait, so that a caller journals its undo then.
  Result<void, std::string> create_global_index(const std::string& table, const IndexState& index,
                                                bool provisioned,
                                                const std::function<void()>& requested = {});
  Result<void, std::string> delete_global_index(const std::string& table, const std::string& index,
                                                const std::function<void()>& requested = {});
  // Makes the table's stream `view_type` ("" = none) whatever it is now: a
  // stream's view type cannot change, so another one is disabled first.
  Result<void, std::string> ensure_table_stream(const std::string& name,
                                                const std::string& view_type);
  // DeleteTable and the wait for it; a table already gone counts as deleted.
  Result<void, std::string> delete_table(const std::string& name);
  // The table's Time to Live attribute ("" = off) by DescribeTimeToLive.
  Result<std::string, std::string> table_ttl(const std::string& name);
  // Makes the table's Time to Live `attribute` ("" = off) whatever it is now
  // (UpdateTimeToLive disables the current attribute before enabling another).
  Result<void, std::string> ensure_table_ttl(const std::string& name, const std::string& attribute);
  // DynamoDB events: event source mappings (deployer_event_sources.cc).
  bool read_event_source_mappings();
  Result<void, StepError> apply_dynamodb_events(const Resource& r);
  Result<void, StepError> apply_dynamodb_event(const sam::DynamoDbEvent& ev,
                                               const std::string& logical_id,
                                               const std::string& function_name);
  // Polls GetEventSourceMapping until the mapping is Enabled or Disabled (or,
  // `gone`, until it no longer exists).
  Result<void, std::string> wait_for_mapping(const std::string& uuid, bool gone);
  // CreateEventSourceMapping and the wait for it; the new mapping's UUID.
  // `requested` runs once Lambda accepted it, before the wait (to journal its undo).
  Result<std::string, std::string> create_mapping(
      const std::string& function_name, const std::string& event_source_arn,
      const std::string& starting_position, const MappingSettings& settings,
      const std::function<void(const std::string& uuid)>& requested = {});
  // UpdateEventSourceMapping and the wait for it.
  Result<void, std::string> update_mapping(const std::string& uuid,
                                           const MappingSettings& settings);
  Result<void, std::string> delete_mapping(const std::string& uuid);
  void delete_removed();
  void print_outputs();

  Result<void, StepError> wait_for_function(const std::string& name);
  Result<void, StepError> publish_alias(const std::string& name, const std::string& alias);
  // The alias's provisioned concurrency: Put (n) or Delete (nullopt).
  static std::string provisioned_path(const std::string& name, const std::string& alias);
  Result<void, std::string> set_provisioned(const std::string& name, const std::string& alias,
                                            std::optional<int> n);
  Result<void, StepError> require_apigateway(const Resource& r);
  Result<std::string, StepError> fetch_code(const std::string& location);

  void progress(std::string_view status, std::string_view type, std::string_view id,
                Clock::time_point start, std::string_view reason = {});
  json::object tags(const std::string& logical_id) const {
    return json::object{{std::string(kStackTag), stack_}, {std::string(kLogicalIdTag), logical_id}};
  }
  std::string function_arn(const std::string& name) const {
    return "arn:aws:lambda:" + opts_.region + ":" + account_ + ":function:" + name;
  }
  std::string role_arn(const std::string& fn_logical_id) const {
    return "arn:aws:iam::" + account_ + ":role/" + role_name(fn_logical_id);
  }
  std::string role_name(const std::string& fn_logical_id) const {
    return physical_function_name(stack_, fn_logical_id + "Role");
  }

  const DeployOptions& opts_;
  const Transport& transport_;
  Aws aws_;
  std::ostream& out_;
  std::ostream& err_;

  DeployResult result_;
  std::string stack_;
  std::string account_ = "000000000000";
  std::string template_dir_;
  std::optional<Template> tmpl_;
  std::optional<Context> ctx_;
  std::vector<std::string> order_;

  std::map<std::string, ExistingFunction> existing_functions_;
  std::map<std::string, ExistingApi> existing_apis_;
  // By logical id, oldest version first.
  std::map<std::string, std::vector<ExistingLayerVersion>> existing_layers_;
  std::map<std::string, std::string> desired_layers_;  // logical id → the version ARN kept
  std::map<std::string, TableState> existing_tables_;  // the stack's tables, by logical id
  std::set<std::string> desired_tables_;
  std::vector<ExistingMapping> existing_mappings_;
  std::set<std::string> kept_mappings_;  // UUIDs of existing mappings the template still has
  bool mappings_available_ = true;
  std::string mappings_unavailable_reason_;
  bool dynamodb_available_ = true;
  std::string dynamodb_unavailable_reason_;
  bool apigateway_available_ = true;
  bool resolving_function_ = false;
  std::string apigateway_unavailable_reason_;

  // Values of what is deployed so far (Ref / GetAtt).
  struct Values {
    std::string ref;
    std::map<std::string, std::string> atts;
  };
  std::map<std::string, Values, std::less<>> values_;
  std::map<std::string, sam::Function> functions_;  // parsed, by logical id
  std::set<std::string> desired_functions_;         // logical ids deployed by this template
  std::set<std::string> desired_apis_;
  std::set<std::string> usage_plan_apis_;  // REST APIs whose template asks for a usage plan
  std::set<std::string> replaced_;         // logical ids whose old physical resource goes
  Journal journal_;
  int changes_ = 0;
  struct ApiUrl {
    std::string logical_id, id, stage, kind;
  };
  std::vector<ApiUrl> api_urls_;
};

}  // namespace nimbus::deploy::detail
