#include "deploy/deployer.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>
#include <tuple>

#include "base/ids.h"
#include "deploy/deployment.h"
#include "deploy/intrinsics.h"
#include "deploy/openapi.h"
#include "deploy/package.h"
#include "deploy/sam.h"
#include "deploy/template.h"

namespace nimbus::deploy {

namespace json = boost::json;
namespace fs = std::filesystem;

std::string_view to_string(Action a) {
  switch (a) {
    case Action::kCreate:
      return "CREATE";
    case Action::kUpdate:
      return "UPDATE";
    case Action::kDelete:
      return "DELETE";
    case Action::kUnchanged:
      return "UNCHANGED";
  }
  return "";
}

// ---------------------------------------------------------------------------
// Plan

Change diff_function(const FunctionState* current, const FunctionState& desired) {
  Change c;
  c.logical_id = desired.logical_id;
  c.type = std::string(sam::kFunction);
  if (!current) {
    c.action = Action::kCreate;
    return c;
  }
  if (current->name != desired.name) {
    c.action = Action::kCreate;
    c.replace = true;
    return c;
  }
  c.code = current->code_sha256 != desired.code_sha256;
  c.configuration = !(current->settings == desired.settings);
  c.concurrency = current->reserved_concurrency != desired.reserved_concurrency;
  c.provisioned = current->provisioned != desired.provisioned;
  bool alias = !desired.alias.empty() && current->alias != desired.alias;
  c.action = c.code || c.configuration || c.concurrency || c.provisioned || alias
                 ? Action::kUpdate
                 : Action::kUnchanged;
  return c;
}

Change diff_api(const ApiState* current, const ApiState& desired) {
  Change c;
  c.logical_id = desired.logical_id;
  c.type = desired.type;
  if (!current || current->type != desired.type) {
    c.action = Action::kCreate;
    c.replace = current != nullptr;
    return c;
  }
  c.configuration = current->definition_sha256 != desired.definition_sha256;
  c.action = c.configuration ? Action::kUpdate : Action::kUnchanged;
  return c;
}

std::string key_schema_text(const KeyAttribute& hash, const std::optional<KeyAttribute>& range) {
  std::string s = "HASH " + hash.name + " " + hash.type;
  if (range) s += ", RANGE " + range->name + " " + range->type;
  return s;
}

std::string table_identity(const TableState& t) {
  // A table without local indexes keeps the identity (and so the generated
  // name) it had before Nimbus deployed local indexes.
  std::string s = t.key_schema;
  for (const auto& [name, ix] : t.local_indexes) {
    s += "; LSI " + name + " (" + key_schema_text(ix.hash, ix.range) + ") " + ix.projection_type;
    for (const auto& a : ix.non_key_attributes) s += " " + a;
  }
  return s;
}

Change diff_table(const TableState* current, const TableState& desired) {
  Change c;
  c.logical_id = desired.logical_id;
  c.type = desired.type;
  if (!current || current->name != desired.name ||
      table_identity(*current) != table_identity(desired)) {
    c.action = Action::kCreate;
    c.replace = current != nullptr;
    return c;
  }
  c.configuration = current->billing_mode != desired.billing_mode ||
                    current->read_capacity != desired.read_capacity ||
                    current->write_capacity != desired.write_capacity ||
                    current->ttl_attribute != desired.ttl_attribute ||
                    current->global_indexes != desired.global_indexes ||
                    current->stream_view_type != desired.stream_view_type;
  c.tags = current->tags != desired.tags;
  c.action = c.configuration || c.tags ? Action::kUpdate : Action::kUnchanged;
  return c;
}

std::vector<Change> plan(const StackState& current, const StackState& desired,
                         const std::vector<std::string>& order) {
  std::vector<Change> out;
  std::set<std::string> done;
  auto add = [&](const std::string& id) {
    if (done.count(id)) return;
    if (auto f = desired.functions.find(id); f != desired.functions.end()) {
      auto cur = current.functions.find(id);
      out.push_back(
          diff_function(cur == current.functions.end() ? nullptr : &cur->second, f->second));
      done.insert(id);
    } else if (auto a = desired.apis.find(id); a != desired.apis.end()) {
      auto cur = current.apis.find(id);
      out.push_back(diff_api(cur == current.apis.end() ? nullptr : &cur->second, a->second));
      done.insert(id);
    } else if (auto t = desired.tables.find(id); t != desired.tables.end()) {
      auto cur = current.tables.find(id);
      out.push_back(diff_table(cur == current.tables.end() ? nullptr : &cur->second, t->second));
      done.insert(id);
    }
  };
  for (const auto& id : order) add(id);
  for (const auto& [id, f] : desired.functions) add(id);
  for (const auto& [id, a] : desired.apis) add(id);
  for (const auto& [id, t] : desired.tables) add(id);
  // Replaced resources lose their old physical resource too.
  for (const auto& [id, a] : current.apis)
    if (!desired.apis.count(id) || desired.apis.at(id).type != a.type)
      out.push_back(Change{Action::kDelete, id, a.type});
  for (const auto& [id, f] : current.functions)
    if (!desired.functions.count(id) || desired.functions.at(id).name != f.name)
      out.push_back(Change{Action::kDelete, id, std::string(sam::kFunction)});
  // Tables last: the functions that use them go first.
  for (const auto& [id, t] : current.tables) {
    auto want = desired.tables.find(id);
    if (want == desired.tables.end() || diff_table(&t, want->second).replace)
      out.push_back(
          Change{Action::kDelete, id, t.type.empty() ? std::string(sam::kDynamoDbTable) : t.type});
  }
  return out;
}

// ---------------------------------------------------------------------------
// Journal

bool Journal::rollback(const std::function<void(const Step&, const std::string&)>& progress) {
  bool ok = true;
  for (auto it = steps_.rbegin(); it != steps_.rend(); ++it) {
    auto r = it->undo ? it->undo() : Result<void, std::string>();
    if (!r) ok = false;
    if (progress) progress(*it, r ? std::string() : r.error());
  }
  steps_.clear();
  return ok;
}

// ---------------------------------------------------------------------------
// Names

std::string default_stack_name(const std::string& template_path) {
  std::error_code ec;
  fs::path p = fs::absolute(template_path, ec).parent_path();
  std::string base = p.filename().string();
  std::string out;
  for (char c : base) {
    if (std::isalnum(static_cast<unsigned char>(c)))
      out += c;
    else if (!out.empty() && out.back() != '-')
      out += '-';
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  if (out.empty() || !std::isalpha(static_cast<unsigned char>(out[0]))) out = "stack-" + out;
  if (out.back() == '-') out.pop_back();
  return out.substr(0, 128);
}

namespace {

// `<stack>-<LogicalId>-<12 hex of sha256(hashed)>`.
std::string physical_name(const std::string& stack, const std::string& logical_id,
                          const std::string& hashed) {
  std::string hash = sha256_hex(hashed).substr(0, 12);
  for (auto& c : hash) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  // 64 characters at most: 12 for the hash, 2 dashes; the rest shared as
  // CloudFormation does (the stack name first, then the logical id).
  std::string s = stack.substr(0, std::min<size_t>(stack.size(), 25));
  std::string l = logical_id.substr(0, 64 - 14 - s.size());
  return s + "-" + l + "-" + hash;
}

}  // namespace

std::string physical_function_name(const std::string& stack, const std::string& logical_id) {
  return physical_name(stack, logical_id, stack + "/" + logical_id);
}

std::string physical_table_name(const std::string& stack, const std::string& logical_id,
                                const std::string& identity) {
  return physical_name(stack, logical_id, stack + "/" + logical_id + "/" + identity);
}

namespace {

constexpr std::string_view kOwnerOpen = "[nimbus:stack=";
constexpr std::string_view kOwnerId = " nimbus:logical-id=";

}  // namespace

std::string layer_description(std::string_view description, std::string_view stack,
                              std::string_view logical_id) {
  std::string marker = std::string(kOwnerOpen) + std::string(stack) + std::string(kOwnerId) +
                       std::string(logical_id) + "]";
  std::string user(description.substr(0, 256 - std::min<size_t>(256, marker.size() + 1)));
  return user.empty() ? marker : user + " " + marker;
}

std::optional<LayerOwner> layer_owner(std::string_view description) {
  auto open = description.rfind(kOwnerOpen);
  if (open == std::string_view::npos || !description.ends_with("]")) return std::nullopt;
  auto inner = description.substr(open + kOwnerOpen.size());
  inner.remove_suffix(1);
  auto id = inner.find(kOwnerId);
  if (id == std::string_view::npos) return std::nullopt;
  LayerOwner o{std::string(inner.substr(0, id)), std::string(inner.substr(id + kOwnerId.size()))};
  if (o.stack.empty() || o.logical_id.empty()) return std::nullopt;
  return o;
}

namespace detail {

void Deployment::progress(std::string_view status, std::string_view type, std::string_view id,
                          Clock::time_point start, std::string_view reason) {
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  std::string line = fmt::format("{:<26} {:<34} {:<30} ({:.1f} s)", status, type, id, secs);
  if (!reason.empty()) line += "  " + std::string(reason);
  out_ << line << "\n" << std::flush;
}

bool Deployment::load() {
  std::ifstream in(opts_.template_path, std::ios::binary);
  if (!in) {
    err_ << "Error: cannot read template " << opts_.template_path << "\n";
    return false;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  std::error_code ec;
  template_dir_ = fs::absolute(opts_.template_path, ec).parent_path().string();
  stack_ = opts_.stack_name.empty() ? default_stack_name(opts_.template_path) : opts_.stack_name;
  result_.stack_name = stack_;

  auto print = [&](const std::vector<TemplateError>& errors) {
    for (auto& e : errors) err_ << e.to_string() << "\n";
    err_ << "Error: the template has " << errors.size() << " error"
         << (errors.size() == 1 ? "" : "s") << "; nothing was deployed\n";
    return false;
  };
  auto t = load_template(text, opts_.template_path);
  if (!t) return print({t.error()});
  if (auto r = sam::expand(t.value()); !r) return print({r.error()});
  auto errors = sam::unsupported(*t);
  auto refs = check_references(*t, sam::generated_ids(*t));
  errors.insert(errors.end(), refs.begin(), refs.end());
  if (!errors.empty()) return print(errors);

  auto overrides = parse_overrides(opts_.parameter_overrides);
  if (!overrides) return print({overrides.error()});

  // The account the server reports for our credentials (ARNs are built before
  // the resources exist, as CloudFormation's Ref/GetAtt need them).
  if (auto id = aws_.call("sts", "POST", "/", "Action=GetCallerIdentity&Version=2011-06-15",
                          "application/x-www-form-urlencoded");
      id) {
    const auto& body = aws_.last_body();
    auto a = body.find("<Account>"), b = body.find("</Account>");
    if (a != std::string::npos && b != std::string::npos) account_ = body.substr(a + 9, b - a - 9);
  } else if (id.error().status == 0) {
    err_ << "Error: cannot reach " << opts_.endpoint << ": " << id.error().message << "\n";
    return false;
  }

  PseudoParameters pseudo;
  pseudo.region = opts_.region;
  pseudo.account_id = account_;
  pseudo.stack_name = stack_;
  pseudo.stack_id = "arn:aws:cloudformation:" + opts_.region + ":" + account_ + ":stack/" + stack_ +
                    "/" + sha256_hex(stack_).substr(0, 32);
  tmpl_ = std::move(t.value());
  auto ctx = make_context(*tmpl_, pseudo, overrides.value());
  if (!ctx) return print({ctx.error()});
  ctx->generated_ids = sam::generated_ids(*tmpl_);
  ctx->resources = sam::placeholder_values();
  if (auto v = sam::validate(*tmpl_, ctx.value()); !v.empty()) return print(v);
  auto deps = dependencies(*tmpl_, &ctx->conditions);
  auto order = creation_order(*tmpl_, deps);
  if (!order) return print({order.error()});
  order_ = std::move(order.value());

  // Real values from here on: what is deployed so far.
  ctx->resources.ref = [this](std::string_view id) -> std::optional<std::string> {
    if (auto it = values_.find(id); it != values_.end()) return it->second.ref;
    // A function's Api/HttpApi events name their API (RestApiId / ApiId:
    // !Ref Api) before the API exists: the API is created after the functions
    // it routes to. The events keep the logical id, as SAM's transform does.
    if (resolving_function_)
      if (const Resource* r = tmpl_->resource(id);
          r && (r->type == sam::kApi || r->type == sam::kHttpApi))
        return std::string(id);
    return std::nullopt;
  };
  ctx->resources.get_att = [this](std::string_view id,
                                  std::string_view att) -> std::optional<Node> {
    auto it = values_.find(id);
    if (it == values_.end()) return std::nullopt;
    auto a = it->second.atts.find(std::string(att));
    if (a == it->second.atts.end()) return std::nullopt;
    return Node::string(a->second);
  };
  ctx_ = std::move(ctx.value());
  // SAM's generated roles exist from the start (Nimbus does not enforce IAM).
  for (const auto& r : tmpl_->resources)
    if (r.type == sam::kFunction)
      values_[r.logical_id + "Role"] =
          Values{role_name(r.logical_id), {{"Arn", role_arn(r.logical_id)}}};
  return true;
}

bool Deployment::read_current() {
  std::string marker;
  do {
    auto r = aws_.call(
        "lambda", "GET",
        "/2015-03-31/functions/" + (marker.empty() ? "" : "?Marker=" + http::url_encode(marker)));
    if (!r) {
      err_ << "Error: ListFunctions: " << r.error().to_string() << "\n";
      return false;
    }
    const auto& body = obj(r.value());
    if (auto* fns = body.if_contains("Functions"); fns && fns->is_array())
      for (auto& f : fns->as_array()) {
        std::string name = str(obj(f), "FunctionName");
        auto g = aws_.call("lambda", "GET", fn_path(name));
        if (!g) continue;  // deleted meanwhile
        const auto& go = obj(g.value());
        const auto& tags = member(go, "Tags");
        if (str(tags, kStackTag) != stack_) continue;
        std::string id = str(tags, kLogicalIdTag);
        if (id.empty()) continue;
        const auto& cfg = member(go, "Configuration");
        ExistingFunction e;
        e.state.logical_id = id;
        e.state.name = name;
        e.state.code_sha256 = str(cfg, "CodeSha256");
        e.state.settings = settings_from_configuration(cfg);
        e.arn = str(cfg, "FunctionArn");
        if (auto* c = go.if_contains("Concurrency"); c && c->is_object())
          if (auto n = num(c->as_object(), "ReservedConcurrentExecutions"))
            e.state.reserved_concurrency = static_cast<int>(*n);
        if (auto* code = go.if_contains("Code"); code && code->is_object())
          e.code_location = str(code->as_object(), "Location");
        existing_functions_[id] = std::move(e);
      }
    marker = str(body, "NextMarker");
  } while (!marker.empty());

  if (!read_event_source_mappings()) return false;
  if (!read_layers()) return false;
  if (!read_tables()) return false;

  // API Gateway (REST and HTTP APIs); a server without it answers
  // UnknownOperation / UnknownService.
  auto rest = aws_.call("apigateway", "GET", "/restapis?limit=500");
  if (!rest) {
    // Any refusal means this server has no usable API Gateway: a template
    // without APIs still deploys; one with APIs fails naming the API.
    apigateway_available_ = false;
    apigateway_unavailable_reason_ = "GetRestApis answered " + rest.error().to_string();
    return true;
  }
  for (auto key : {"item", "items"})
    if (auto* items = obj(rest.value()).if_contains(key); items && items->is_array())
      for (auto& a : items->as_array()) {
        const auto& o = obj(a);
        const auto& t = member(o, "tags");
        if (str(t, kStackTag) != stack_ || str(t, kLogicalIdTag).empty()) continue;
        ExistingApi e;
        e.state = ApiState{str(t, kLogicalIdTag), std::string(sam::kApi), str(o, "id"),
                           str(t, kDefinitionTag)};
        existing_apis_[e.state.logical_id] = e;
      }
  auto http_apis = aws_.call("apigateway", "GET", "/v2/apis?maxResults=500");
  if (http_apis) {
    if (auto* items = obj(http_apis.value()).if_contains("items"); items && items->is_array())
      for (auto& a : items->as_array()) {
        const auto& o = obj(a);
        const auto& t = member(o, "tags");
        if (str(t, kStackTag) != stack_ || str(t, kLogicalIdTag).empty()) continue;
        ExistingApi e;
        e.state = ApiState{str(t, kLogicalIdTag), std::string(sam::kHttpApi), str(o, "apiId"),
                           str(t, kDefinitionTag)};
        existing_apis_[e.state.logical_id] = e;
      }
  }
  return true;
}

bool Deployment::read_layers() {
  std::string marker;
  do {
    auto r = aws_.call(
        "lambda", "GET",
        "/2018-10-31/layers" + (marker.empty() ? "" : "?Marker=" + http::url_encode(marker)));
    // A server without layers has none of ours; publishing then fails clearly.
    if (!r) return true;
    const auto& body = obj(r.value());
    if (auto* layers = body.if_contains("Layers"); layers && layers->is_array())
      for (auto& l : layers->as_array()) {
        std::string name = str(obj(l), "LayerName");
        std::string vmarker;
        do {
          auto v = aws_.call("lambda", "GET",
                             layer_versions_path(name) +
                                 (vmarker.empty() ? "" : "?Marker=" + http::url_encode(vmarker)));
          if (!v) {
            err_ << "Error: ListLayerVersions " << name << ": " << v.error().to_string() << "\n";
            return false;
          }
          const auto& vo = obj(v.value());
          if (auto* items = vo.if_contains("LayerVersions"); items && items->is_array())
            for (auto& it : items->as_array()) {
              const auto& item = obj(it);
              auto owner = layer_owner(str(item, "Description"));
              if (!owner || owner->stack != stack_) continue;
              existing_layers_[owner->logical_id].push_back(ExistingLayerVersion{
                  name, str(item, "LayerVersionArn"), str(item, "Description"),
                  num(item, "Version").value_or(0), strings(item, "CompatibleRuntimes"),
                  strings(item, "CompatibleArchitectures")});
            }
          vmarker = str(vo, "NextMarker");
        } while (!vmarker.empty());
      }
    marker = str(body, "NextMarker");
  } while (!marker.empty());
  for (auto& [id, versions] : existing_layers_)
    std::sort(versions.begin(), versions.end(),
              [](const auto& a, const auto& b) { return a.version < b.version; });
  return true;
}

Result<void, StepError> Deployment::wait_for_function(const std::string& name) {
  // As the AWS waiters (FunctionActiveV2 / FunctionUpdatedV2) do: poll until
  // State is not Pending and LastUpdateStatus is not InProgress.
  auto deadline = Clock::now() + std::chrono::seconds(120);
  for (;;) {
    auto r = aws_.call("lambda", "GET", fn_path(name) + "/configuration");
    if (!r) return fail(StepError{"GetFunctionConfiguration: " + r.error().to_string()});
    const auto& cfg = obj(r.value());
    std::string state = str(cfg, "State"), update = str(cfg, "LastUpdateStatus");
    if (state == "Failed" || update == "Failed")
      return fail(
          StepError{"the function failed to become ready: " +
                    str(cfg, update == "Failed" ? "LastUpdateStatusReason" : "StateReason")});
    if (state != "Pending" && update != "InProgress") return {};
    if (Clock::now() > deadline) return fail(StepError{"timed out waiting for the function"});
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

std::string Deployment::provisioned_path(const std::string& name, const std::string& alias) {
  return "/2019-09-30/functions/" + http::url_encode(name) +
         "/provisioned-concurrency?Qualifier=" + http::url_encode(alias);
}

Result<void, std::string> Deployment::set_provisioned(const std::string& name,
                                                      const std::string& alias,
                                                      std::optional<int> n) {
  auto p = n ? aws_.call("lambda", "PUT", provisioned_path(name, alias),
                         json::serialize(json::object{{"ProvisionedConcurrentExecutions", *n}}))
             : aws_.call("lambda", "DELETE", provisioned_path(name, alias));
  if (!p)
    return fail(std::string(n ? "PutProvisionedConcurrencyConfig: "
                              : "DeleteProvisionedConcurrencyConfig: ") +
                p.error().to_string());
  return {};
}

Result<void, StepError> Deployment::publish_alias(const std::string& name,
                                                  const std::string& alias) {
  auto v = aws_.call("lambda", "POST", fn_path(name) + "/versions", "{}");
  if (!v) return fail(StepError{"PublishVersion: " + v.error().to_string()});
  std::string version = str(obj(v.value()), "Version");
  std::string path = fn_path(name) + "/aliases/" + http::url_encode(alias);
  auto cur = aws_.call("lambda", "GET", path);
  if (cur) {
    auto u = aws_.call("lambda", "PUT", path,
                       json::serialize(json::object{{"FunctionVersion", version}}));
    if (!u) return fail(StepError{"UpdateAlias: " + u.error().to_string()});
    std::string previous = str(obj(cur.value()), "FunctionVersion");
    journal_.record({"UPDATE_COMPLETE", "AWS::Lambda::Alias", alias,
                     [this, path, previous]() -> Result<void, std::string> {
                       auto r =
                           aws_.call("lambda", "PUT", path,
                                     json::serialize(json::object{{"FunctionVersion", previous}}));
                       if (!r) return fail(r.error().to_string());
                       return {};
                     }});
  } else {
    auto c =
        aws_.call("lambda", "POST", fn_path(name) + "/aliases",
                  json::serialize(json::object{{"Name", alias}, {"FunctionVersion", version}}));
    if (!c) return fail(StepError{"CreateAlias: " + c.error().to_string()});
    record_delete("AWS::Lambda::Alias", alias, "lambda", path);
  }
  return {};
}

Result<std::string, StepError> Deployment::fetch_code(const std::string& location) {
  // Code.Location is a URL on the server (Lambda's presigned S3 URL).
  auto scheme = location.find("://");
  if (scheme == std::string::npos) return fail(StepError{"no Code.Location"});
  auto slash = location.find('/', scheme + 3);
  http::Request req;
  req.method = "GET";
  req.target = slash == std::string::npos ? "/" : location.substr(slash);
  auto r = transport_(std::move(req), "lambda");
  if (!r || r->status != 200)
    return fail(StepError{"cannot read the previous code from " + location});
  return std::move(r->body);
}

Result<void, StepError> Deployment::apply_function(const Resource& r, const Node& props) {
  auto start = Clock::now();
  auto parsed = sam::parse_function(r, props);
  if (!parsed) return fail(StepError{parsed.error().to_string()});
  const sam::Function& f = parsed.value();
  functions_[r.logical_id] = f;
  desired_functions_.insert(r.logical_id);

  FunctionState want;
  want.logical_id = r.logical_id;
  want.name =
      f.function_name.empty() ? physical_function_name(stack_, r.logical_id) : f.function_name;
  want.settings.handler = f.handler;
  want.settings.runtime = f.runtime;
  want.settings.description = f.description;
  want.settings.memory_size = f.memory_size;
  want.settings.timeout = f.timeout;
  want.settings.environment = f.environment;
  want.settings.layers = f.layers;
  want.settings.role = role_arn(r.logical_id);
  if (const Node* role = props.find("Role");
      role && role->is_string() && role->text().starts_with("arn:"))
    want.settings.role = role->text();
  want.reserved_concurrency = f.reserved_concurrency;
  want.alias = f.auto_publish_alias;
  want.provisioned = f.provisioned_concurrency;
  if (auto folder = code_folder(f, template_dir_); !folder.empty())
    result_.code_folders[r.logical_id] = folder;

  std::string arn = function_arn(want.name);
  values_[r.logical_id] = Values{want.name, {{"Arn", arn}}};
  result_.function_names[r.logical_id] = want.name;

  auto zip = package_function(f, template_dir_);
  if (!zip) return fail(StepError{"packaging " + r.logical_id + ": " + zip.error()});
  want.code_sha256 = sha256_base64(zip.value());

  auto existing = existing_functions_.find(r.logical_id);
  const ExistingFunction* cur = existing == existing_functions_.end() ? nullptr : &existing->second;
  FunctionState current_state;
  if (cur) {
    current_state = cur->state;
    // Aliases are read only when the template wants one.
    if (!want.alias.empty()) {
      auto a = aws_.call("lambda", "GET",
                         fn_path(cur->state.name) + "/aliases/" + http::url_encode(want.alias));
      if (a) current_state.alias = want.alias;
      auto pc = aws_.call("lambda", "GET", provisioned_path(cur->state.name, want.alias));
      if (pc)
        if (auto n = num(obj(pc.value()), "RequestedProvisionedConcurrentExecutions"))
          current_state.provisioned = static_cast<int>(*n);
    }
  }
  Change change = diff_function(cur ? &current_state : nullptr, want);
  const std::string type(sam::kFunction);
  const std::string& name = want.name;

  if (change.action == Action::kUnchanged) return {};
  ++changes_;
  if (change.action == Action::kCreate) {
    if (change.replace) replaced_.insert(r.logical_id);
    progress("CREATE_IN_PROGRESS", type, r.logical_id, start);
    json::object req = configuration_request(want.settings);
    req["FunctionName"] = name;
    req["Code"] = json::object{{"ZipFile", base64_encode(zip.value())}};
    req["Tags"] = tags(r.logical_id);
    req["Architectures"] = json::array{json::value(f.architecture)};
    if (want.settings.layers.empty()) req.erase("Layers");
    auto c = aws_.call("lambda", "POST", "/2015-03-31/functions", json::serialize(req));
    if (!c) return fail(StepError{"CreateFunction: " + c.error().to_string()});
    record_delete(type, r.logical_id, "lambda", fn_path(name));
    if (auto w = wait_for_function(name); !w) return w;
    if (want.reserved_concurrency) {
      auto p = aws_.call(
          "lambda", "PUT", "/2017-10-31/functions/" + http::url_encode(name) + "/concurrency",
          json::serialize(
              json::object{{"ReservedConcurrentExecutions", *want.reserved_concurrency}}));
      if (!p) return fail(StepError{"PutFunctionConcurrency: " + p.error().to_string()});
    }
    if (!want.alias.empty())
      if (auto a = publish_alias(name, want.alias); !a) return a;
    if (want.provisioned)
      if (auto p = set_provisioned(name, want.alias, want.provisioned); !p)
        return fail(StepError{p.error()});
    progress("CREATE_COMPLETE", type, r.logical_id, start);
    return {};
  }

  // Update in place: code first, then configuration (each waited for), then
  // concurrency and the alias. The previous values are kept for a rollback.
  progress("UPDATE_IN_PROGRESS", type, r.logical_id, start);
  if (change.code) {
    auto previous = fetch_code(cur->code_location);
    auto u = aws_.call("lambda", "PUT", fn_path(name) + "/code",
                       json::serialize(json::object{{"ZipFile", base64_encode(zip.value())}}));
    if (!u) return fail(StepError{"UpdateFunctionCode: " + u.error().to_string()});
    if (previous) {
      std::string old = base64_encode(previous.value());
      journal_.record(
          {"UPDATE_COMPLETE", type, r.logical_id, [this, name, old]() -> Result<void, std::string> {
             (void)wait_for_function(name);
             auto u = aws_.call("lambda", "PUT", fn_path(name) + "/code",
                                json::serialize(json::object{{"ZipFile", old}}));
             if (!u) return fail(u.error().to_string());
             return {};
           }});
    }
    if (auto w = wait_for_function(name); !w) return w;
  }
  if (change.configuration) {
    auto u = aws_.call("lambda", "PUT", fn_path(name) + "/configuration",
                       json::serialize(configuration_request(want.settings)));
    if (!u) return fail(StepError{"UpdateFunctionConfiguration: " + u.error().to_string()});
    auto old = cur->state.settings;
    journal_.record(
        {"UPDATE_COMPLETE", type, r.logical_id, [this, name, old]() -> Result<void, std::string> {
           (void)wait_for_function(name);
           auto u = aws_.call("lambda", "PUT", fn_path(name) + "/configuration",
                              json::serialize(configuration_request(old)));
           if (!u) return fail(u.error().to_string());
           return {};
         }});
    if (auto w = wait_for_function(name); !w) return w;
  }
  if (change.concurrency) {
    std::string path = "/2017-10-31/functions/" + http::url_encode(name) + "/concurrency";
    auto set = [this, path](std::optional<int> n) -> Result<void, std::string> {
      auto p = n ? aws_.call("lambda", "PUT", path,
                             json::serialize(json::object{{"ReservedConcurrentExecutions", *n}}))
                 : aws_.call("lambda", "DELETE", path);
      if (!p)
        return fail(std::string(n ? "PutFunctionConcurrency: " : "DeleteFunctionConcurrency: ") +
                    p.error().to_string());
      return {};
    };
    if (auto s = set(want.reserved_concurrency); !s) return fail(StepError{s.error()});
    auto old = cur->state.reserved_concurrency;
    journal_.record({"UPDATE_COMPLETE", type, r.logical_id, [set, old]() { return set(old); }});
  }
  if (!want.alias.empty() &&
      (change.code || change.configuration || current_state.alias != want.alias))
    if (auto a = publish_alias(name, want.alias); !a) return a;
  if (change.provisioned) {
    if (auto p = set_provisioned(name, want.alias, want.provisioned); !p)
      return fail(StepError{p.error()});
    auto old = current_state.provisioned;
    std::string alias = want.alias;
    journal_.record({"UPDATE_COMPLETE", type, r.logical_id,
                     [this, name, alias, old]() { return set_provisioned(name, alias, old); }});
  }
  progress("UPDATE_COMPLETE", type, r.logical_id, start);
  return {};
}

Result<void, StepError> Deployment::apply_layer(const Resource& r, const Node& props) {
  auto start = Clock::now();
  auto parsed = sam::parse_layer_version(r, props);
  if (!parsed) return fail(StepError{parsed.error().to_string()});
  const sam::LayerVersion& l = parsed.value();
  // SAM's default LayerName is the logical id.
  std::string name = l.layer_name.empty() ? r.logical_id : l.layer_name;
  auto zip = package_layer(l, template_dir_);
  if (!zip) return fail(StepError{"packaging " + r.logical_id + ": " + zip.error()});
  std::string sha = sha256_base64(zip.value());
  std::string description = layer_description(l.description, stack_, r.logical_id);
  const std::string type(sam::kLayerVersion);

  // Versions are immutable: the newest one this stack published stays when
  // its content and settings are what the template says; otherwise a new one.
  const ExistingLayerVersion* cur = nullptr;
  if (auto e = existing_layers_.find(r.logical_id); e != existing_layers_.end())
    cur = &e->second.back();
  if (cur && cur->layer_name == name && cur->description == description &&
      cur->runtimes == l.compatible_runtimes && cur->architectures == l.compatible_architectures) {
    auto g =
        aws_.call("lambda", "GET", layer_versions_path(name) + "/" + std::to_string(cur->version));
    if (g && str(member(obj(g.value()), "Content"), "CodeSha256") == sha) {
      values_[r.logical_id] = Values{cur->arn, {}};
      desired_layers_[r.logical_id] = cur->arn;
      return {};
    }
  }
  ++changes_;
  progress(cur ? "UPDATE_IN_PROGRESS" : "CREATE_IN_PROGRESS", type, r.logical_id, start);
  json::object req{{"Content", json::object{{"ZipFile", base64_encode(zip.value())}}},
                   {"Description", description}};
  auto list = [](const std::vector<std::string>& v) {
    json::array a;
    for (auto& s : v) a.emplace_back(s);
    return a;
  };
  if (!l.compatible_runtimes.empty()) req["CompatibleRuntimes"] = list(l.compatible_runtimes);
  if (!l.compatible_architectures.empty())
    req["CompatibleArchitectures"] = list(l.compatible_architectures);
  auto p = aws_.call("lambda", "POST", layer_versions_path(name), json::serialize(req));
  if (!p) return fail(StepError{"PublishLayerVersion: " + p.error().to_string()});
  std::string arn = str(obj(p.value()), "LayerVersionArn");
  std::string version_path =
      layer_versions_path(name) + "/" + std::to_string(num(obj(p.value()), "Version").value_or(0));
  record_delete(type, r.logical_id, "lambda", version_path);
  values_[r.logical_id] = Values{arn, {}};
  desired_layers_[r.logical_id] = arn;
  progress(cur ? "UPDATE_COMPLETE" : "CREATE_COMPLETE", type, r.logical_id, start,
           "version " + arn.substr(arn.rfind(':') + 1));
  return {};
}

Result<void, StepError> Deployment::apply(const std::string& id) {
  const Resource* r = tmpl_->resource(id);
  if (!r || !ctx_->resource_enabled(*r)) return {};
  resolving_function_ = r->type == sam::kFunction;
  auto props = resolve(r->properties, *ctx_, r->path() + ".Properties");
  resolving_function_ = false;
  if (!props) return fail(StepError{props.error().to_string()});
  if (r->type == sam::kFunction) {
    if (auto f = apply_function(*r, props.value()); !f) return f;
    return apply_dynamodb_events(*r);
  }
  if (r->type == sam::kApi) return apply_rest_api(*r, props.value());
  if (r->type == sam::kHttpApi) return apply_http_api(*r, props.value());
  if (r->type == sam::kLayerVersion) return apply_layer(*r, props.value());
  if (sam::is_table(r->type)) return apply_table(*r, props.value());
  return fail(StepError{"resource type " + r->type + " is not supported yet"});
}

void Deployment::delete_removed() {
  // One resource deleted by `action`, with its progress lines.
  auto remove = [&](const std::string& type, const std::string& id,
                    const std::function<Result<void, std::string>()>& action) {
    auto start = Clock::now();
    ++changes_;
    progress("DELETE_IN_PROGRESS", type, id, start);
    if (auto d = action(); !d) {
      progress("DELETE_FAILED", type, id, start, d.error());
      result_.ok = false;
      return false;
    }
    progress("DELETE_COMPLETE", type, id, start);
    return true;
  };
  auto del = [&](const std::string& type, const std::string& id, const std::string& what,
                 const std::string& method, const std::string& path) {
    return remove(type, id, [&]() -> Result<void, std::string> {
      auto d = aws_.call(what, method, path);
      if (!d && !d.error().not_found()) return fail(d.error().to_string());
      return {};
    });
  };
  // Event source mappings first: the functions and streams they join may go
  // next. A mapping the template no longer has goes, and so does one that was
  // replaced (its stream or its function is another now). Mappings have no
  // logical id of their own on the server: their UUID names them.
  for (const auto& m : existing_mappings_)
    if (!kept_mappings_.count(m.uuid))
      remove("AWS::Lambda::EventSourceMapping", m.uuid, [&] { return delete_mapping(m.uuid); });
  for (const auto& [id, a] : existing_apis_) {
    bool api_goes = !desired_apis_.count(id) || replaced_.count(id);
    if (a.state.type == sam::kApi && (api_goes || !usage_plan_apis_.count(id))) {
      // The usage plan and API key made for the API's Auth.UsagePlan go
      // first: with the API, or when the template no longer asks for them.
      for (auto [what, type, suffix] :
           {std::tuple{"/usageplans", "AWS::ApiGateway::UsagePlan", "UsagePlan"},
            std::tuple{"/apikeys", "AWS::ApiGateway::ApiKey", "ApiKey"}})
        while (auto item = stack_item(what, id))
          if (!del(type, id + suffix, "apigateway", "DELETE",
                   std::string(what) + "/" + str(*item, "id")))
            break;
    }
    if (!api_goes) continue;
    del(a.state.type, id, "apigateway", "DELETE",
        (a.state.type == sam::kApi ? "/restapis/" : "/v2/apis/") + a.state.id);
  }
  for (const auto& [id, f] : existing_functions_) {
    if (desired_functions_.count(id) && !replaced_.count(id)) continue;
    del(std::string(sam::kFunction), id, "lambda", "DELETE", fn_path(f.state.name));
  }
  // Tables after the functions that used them; a replaced table's old one
  // goes only now that its replacement and everything else succeeded.
  for (const auto& [id, t] : existing_tables_) {
    if (desired_tables_.count(id) && !replaced_.count(id)) continue;
    // A removed table's type is not known any more: the one SAM's would become.
    const Resource* res = tmpl_->resource(id);
    const std::string type =
        res && sam::is_table(res->type) ? res->type : std::string(sam::kDynamoDbTable);
    remove(type, id, [&] { return delete_table(t.name); });
  }
  // Layer versions last, after the functions that used them were updated or
  // deleted: every version the stack published except the one it keeps (a
  // new version replaces the old one, as a CloudFormation replacement does).
  for (const auto& [id, versions] : existing_layers_) {
    auto keep = desired_layers_.find(id);
    for (const auto& v : versions)
      if (keep == desired_layers_.end() || keep->second != v.arn)
        del(std::string(sam::kLayerVersion), id, "lambda", "DELETE",
            layer_versions_path(v.layer_name) + "/" + std::to_string(v.version));
  }
}

void Deployment::print_outputs() {
  for (const auto& o : tmpl_->outputs) {
    if (!o.condition.empty()) {
      auto c = ctx_->conditions.find(o.condition);
      if (c != ctx_->conditions.end() && !c->second) continue;
    }
    auto v = resolve(o.value, *ctx_, "Outputs." + o.name + ".Value");
    std::string text;
    if (!v)
      text = "(unresolved: " + v.error().message + ")";
    else if (v->is_scalar())
      text = v->text();
    else
      text = json::serialize(to_json(v.value()));
    result_.outputs.emplace_back(o.name, text);
  }
  if (!result_.outputs.empty()) {
    out_ << "\nOutputs\n";
    for (const auto& [k, v] : result_.outputs) out_ << fmt::format("  {:<30} {}\n", k, v);
  }
  // Generated table names are not in the template: the summary says them.
  if (!result_.table_names.empty()) {
    out_ << "\nTables\n";
    for (const auto& [id, name] : result_.table_names)
      out_ << fmt::format("  {:<30} {}\n", id, name);
  }
  if (api_urls_.empty()) return;
  // The API listener's port, when the server reports it.
  std::string api_base;
  if (auto h = aws_.call("lambda", "GET", "/_nimbus/health"); h) {
    const auto& o = obj(h.value());
    // The server reports the API listener's port in its health answer.
    std::optional<int64_t> port;
    if (auto* p = o.if_contains("api_port"); p && p->is_string())
      if (int64_t v = std::atoll(p->as_string().c_str()); v > 0) port = v;
    if (port) {
      std::string host = opts_.endpoint.substr(opts_.endpoint.find("://") + 3);
      host = host.substr(0, host.find_first_of(":/"));
      api_base = "http://" + host + ":" + std::to_string(*port);
    }
  }
  out_ << "\nAPIs\n";
  for (const auto& a : api_urls_) {
    std::string edge = opts_.endpoint + "/restapis/" + a.id + "/" + a.stage + "/_user_request_/";
    if (!api_base.empty()) {
      std::string url = api_base + "/";
      result_.api_urls.push_back(url);
      out_ << fmt::format("  {:<30} {}\n", a.logical_id, url);
    }
    result_.api_urls.push_back(edge);
    out_ << fmt::format("  {:<30} {}\n", a.logical_id + (api_base.empty() ? "" : " (edge)"), edge);
  }
}

DeployResult Deployment::run() {
  if (!load()) return result_;
  if (!read_current()) return result_;
  out_ << "Deploying stack " << stack_ << " to " << opts_.endpoint << "\n";
  for (const auto& id : order_) {
    auto r = apply(id);
    if (r) continue;
    const Resource* res = tmpl_->resource(id);
    bool existed = existing_functions_.count(id) || existing_apis_.count(id) ||
                   existing_layers_.count(id) || existing_tables_.count(id);
    progress(existed ? "UPDATE_FAILED" : "CREATE_FAILED", res ? res->type : "", id, Clock::now(),
             r.error().message);
    bool ok = journal_.rollback([&](const Journal::Step& s, const std::string& error) {
      progress(error.empty() ? s.status : "ROLLBACK_FAILED", s.type, s.logical_id, Clock::now(),
               error);
    });
    out_ << (ok ? "ROLLBACK_COMPLETE" : "ROLLBACK_FAILED") << "\n";
    err_ << "Error: deploying stack " << stack_ << " failed: " << id << ": " << r.error().message
         << "\n";
    return result_;
  }
  result_.ok = true;
  delete_removed();
  if (changes_ == 0) out_ << "No changes: stack " << stack_ << " is up to date\n";
  print_outputs();
  if (result_.ok)
    out_ << "\nSuccessfully deployed stack " << stack_ << "\n";
  else
    err_ << "Error: stack " << stack_ << " deployed, but removing old resources failed\n";
  return result_;
}

}  // namespace detail

using detail::Deployment;
using detail::obj;
using detail::str;

boost::json::array usage_plan_patch(const json::object& current, const json::object& want) {
  json::array ops;
  auto op = [&](const char* kind, std::string path, std::string value = {}) {
    json::object o{{"op", kind}, {"path", std::move(path)}};
    if (!value.empty()) o["value"] = std::move(value);
    ops.push_back(std::move(o));
  };
  auto number = [](const json::value* v) -> std::optional<double> {
    if (!v || !v->is_number()) return std::nullopt;
    return v->to_number<double>();
  };
  auto text = [](double d) { return fmt::format("{}", d); };
  // A group that differs is removed and set again member by member, so a
  // member the target lacks does not survive.
  auto group = [&](const char* name, std::initializer_list<const char*> members) {
    const auto* now = current.if_contains(name);
    const auto* target = want.if_contains(name);
    const auto& a = now && now->is_object() ? now->as_object() : json::object();
    const auto& b = target && target->is_object() ? target->as_object() : json::object();
    bool same = (now != nullptr) == (target != nullptr);
    for (const char* m : members) {
      if (std::string_view(m) == "period") {
        same = same && str(a, m) == str(b, m);
      } else if (std::string_view(m) == "offset") {
        same = same && number(a.if_contains(m)).value_or(0) == number(b.if_contains(m)).value_or(0);
      } else {
        same = same && number(a.if_contains(m)) == number(b.if_contains(m));
      }
    }
    if (same) return;
    if (now) op("remove", std::string("/") + name);
    for (const char* m : members) {
      std::string path = std::string("/") + name + "/" + m;
      if (std::string_view(m) == "period") {
        if (!str(b, m).empty()) op("replace", path, str(b, m));
      } else if (auto n = number(b.if_contains(m))) {
        op("replace", path, text(*n));
      }
    }
  };
  group("throttle", {"burstLimit", "rateLimit"});
  group("quota", {"limit", "offset", "period"});
  auto stages = [](const json::object& o) {
    std::set<std::string> out;
    if (auto* a = o.if_contains("apiStages"); a && a->is_array())
      for (auto& s : a->as_array()) out.insert(str(obj(s), "apiId") + ":" + str(obj(s), "stage"));
    return out;
  };
  auto have = stages(current), need = stages(want);
  for (auto& s : need)
    if (!have.count(s)) op("add", "/apiStages", s);
  for (auto& s : have)
    if (!need.count(s)) op("remove", "/apiStages", s);
  return ops;
}

DeployResult deploy(const DeployOptions& options, const Transport& transport, std::ostream& out,
                    std::ostream& err) {
  Deployment d(options, transport, out, err);
  return d.run();
}

}  // namespace nimbus::deploy
