#include "services/lambda/lambda_service.h"

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/json.hpp>
#include <filesystem>

#include "base/ids.h"
#include "base/time_format.h"
#include "faas/runtimes.h"
#include "services/lambda/code_package.h"
#include "services/lambda/names.h"
#include "services/lambda/provisioned.h"

namespace nimbus::services::lambda {

namespace json = boost::json;
using aws::ApiError;

namespace {

constexpr int kMinUnreserved = kMinUnreservedConcurrency;

std::string iso_lambda_time(int64_t ms) {
  return iso8601_ms(ms, "+0000");
}

std::string str(const json::object& o, std::string_view key, std::string_view fallback = {}) {
  auto* v = o.if_contains(key);
  if (v && v->is_string()) return std::string(v->as_string());
  return std::string(fallback);
}

Result<json::object, ApiError> parse_body(const aws::Call& call) {
  if (call.http.body.empty()) return json::object{};
  boost::system::error_code ec;
  auto v = json::parse(call.http.body, ec);
  if (ec || !v.is_object())
    return fail(ApiError::make(400, "InvalidRequestContentException",
                               "Could not parse request body into json: " +
                                   (ec ? ec.message() : std::string("not an object"))));
  return std::move(v.as_object());
}

// Reads an optional integer member, checking Lambda's bounds.
Result<std::optional<int64_t>, ApiError> int_member(const json::object& o, std::string_view key,
                                                    std::string_view member, int64_t lo,
                                                    int64_t hi) {
  auto* v = o.if_contains(key);
  if (!v || v->is_null()) return std::optional<int64_t>{};
  if (!v->is_int64() && !v->is_uint64())
    return fail(ApiError::make(400, "InvalidParameterValueException",
                               std::string(key) + " must be an integer"));
  int64_t n = v->to_number<int64_t>();
  if (n < lo)
    return fail(
        constraint_error(std::to_string(n), member,
                         "Member must have value greater than or equal to " + std::to_string(lo)));
  if (n > hi)
    return fail(
        constraint_error(std::to_string(n), member,
                         "Member must have value less than or equal to " + std::to_string(hi)));
  return std::optional<int64_t>{n};
}

constexpr std::string_view kReservedEnv[] = {"_HANDLER",
                                             "_X_AMZN_TRACE_ID",
                                             "AWS_DEFAULT_REGION",
                                             "AWS_REGION",
                                             "AWS_EXECUTION_ENV",
                                             "AWS_LAMBDA_FUNCTION_NAME",
                                             "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                                             "AWS_LAMBDA_FUNCTION_VERSION",
                                             "AWS_LAMBDA_INITIALIZATION_TYPE",
                                             "AWS_LAMBDA_LOG_GROUP_NAME",
                                             "AWS_LAMBDA_LOG_STREAM_NAME",
                                             "AWS_ACCESS_KEY",
                                             "AWS_ACCESS_KEY_ID",
                                             "AWS_SECRET_ACCESS_KEY",
                                             "AWS_SESSION_TOKEN",
                                             "AWS_LAMBDA_RUNTIME_API",
                                             "LAMBDA_TASK_ROOT",
                                             "LAMBDA_RUNTIME_DIR"};

Result<void, ApiError> validate_environment(const json::object& cfg) {
  auto* env = cfg.if_contains("Environment");
  if (!env || env->is_null()) return {};
  if (!env->is_object()) return fail(ApiError::invalid_parameter("Environment must be an object"));
  auto* vars = env->as_object().if_contains("Variables");
  if (!vars || vars->is_null()) return {};
  if (!vars->is_object())
    return fail(ApiError::invalid_parameter("Environment.Variables must be a map"));
  std::string reserved;
  size_t total = 0;
  for (const auto& [k, v] : vars->as_object()) {
    std::string_view key = k;
    bool ok = !key.empty() && std::isalpha(static_cast<unsigned char>(key[0]));
    for (char c : key) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
    if (!ok || !v.is_string())
      return fail(constraint_error(std::string(key), "environment.variables",
                                   "Member must satisfy regular expression pattern: "
                                   "[a-zA-Z]([a-zA-Z0-9_])+"));
    for (auto r : kReservedEnv)
      if (key == r) reserved += (reserved.empty() ? "" : ", ") + std::string(key);
    total += key.size() + v.as_string().size();
  }
  if (!reserved.empty())
    return fail(ApiError::invalid_parameter(
        "Lambda was unable to configure your environment variables because the environment "
        "variables you have provided contains reserved keys that are currently not supported "
        "for modification. Reserved keys used in this request: " +
        reserved));
  if (total > 4096)
    return fail(ApiError::invalid_parameter(
        "Lambda was unable to configure your environment variables because the environment "
        "variables you have provided exceeded the 4KB limit."));
  return {};
}

// Applies the configuration members of Create/UpdateFunctionConfiguration to
// `cfg`, validating each as Lambda does.
Result<void, ApiError> apply_configuration(const json::object& in, json::object& cfg,
                                           bool creating) {
  if (auto* r = in.if_contains("Runtime")) {
    if (!r->is_string() || !faas::is_known_runtime(r->as_string())) {
      std::string list;
      for (auto& k : faas::known_runtimes()) list += (list.empty() ? "" : ", ") + k;
      return fail(
          constraint_error(r->is_string() ? std::string(r->as_string()) : "", "runtime",
                           "Member must satisfy enum value set: [" + list + "] or be a valid ARN"));
    }
    cfg["Runtime"] = r->as_string();
  } else if (creating) {
    return fail(ApiError::invalid_parameter("Runtime is required for .zip deployment packages."));
  }
  if (auto* h = in.if_contains("Handler")) {
    if (!h->is_string() || h->as_string().empty() || h->as_string().size() > 128)
      return fail(constraint_error("", "handler",
                                   "Member must satisfy regular expression pattern: [^\\s]+"));
    cfg["Handler"] = h->as_string();
  }
  std::string runtime = str(cfg, "Runtime");
  if (str(cfg, "Handler").empty() && !runtime.starts_with("provided"))
    return fail(ApiError::invalid_parameter("Handler is required for .zip deployment packages."));
  if (auto* role = in.if_contains("Role")) {
    if (!role->is_string() || !is_valid_role_arn(role->as_string()))
      return fail(
          constraint_error(role->is_string() ? std::string(role->as_string()) : "", "role",
                           "Member must satisfy regular expression pattern: "
                           "arn:(aws[a-zA-Z-]*)?:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+"));
    cfg["Role"] = role->as_string();
  } else if (creating) {
    return fail(ApiError::invalid_parameter("Role is required"));
  }
  auto mem = int_member(in, "MemorySize", "memorySize", 128, 10240);
  if (!mem) return fail(mem.take_error());
  if (*mem) cfg["MemorySize"] = **mem;
  auto timeout = int_member(in, "Timeout", "timeout", 1, 900);
  if (!timeout) return fail(timeout.take_error());
  if (*timeout) cfg["Timeout"] = **timeout;
  if (auto* d = in.if_contains("Description")) {
    if (!d->is_string() || d->as_string().size() > 256)
      return fail(
          constraint_error("", "description", "Member must have length less than or equal to 256"));
    cfg["Description"] = d->as_string();
  }
  if (auto* e = in.if_contains("EphemeralStorage"); e && e->is_object()) {
    auto size = int_member(e->as_object(), "Size", "ephemeralStorage.size", 512, 10240);
    if (!size) return fail(size.take_error());
    if (*size) cfg["EphemeralStorage"] = json::object{{"Size", **size}};
  }
  if (auto r = validate_environment(in); !r) return r;
  if (auto* e = in.if_contains("Environment"); e && e->is_object()) {
    json::object vars;
    if (auto* v = e->as_object().if_contains("Variables"); v && v->is_object())
      vars = v->as_object();
    cfg["Environment"] = json::object{{"Variables", vars}};
  }
  if (auto* t = in.if_contains("TracingConfig"); t && t->is_object())
    cfg["TracingConfig"] = json::object{{"Mode", str(t->as_object(), "Mode", "PassThrough")}};
  if (auto* p = in.if_contains("PackageType"); p && p->is_string() && p->as_string() != "Zip")
    return fail(ApiError::invalid_parameter("Nimbus supports only the Zip package type"));
  return {};
}

// Snapshots $LATEST as the next version number (Lambda's PublishVersion) and
// returns the new version's configuration.
json::object publish_latest(FunctionRecord& rec, std::string_view description = {}) {
  int n = rec.next_version++;
  VersionRecord v = rec.latest;
  v.config["Version"] = std::to_string(n);
  v.config["FunctionArn"] = str(rec.latest.config, "FunctionArn") + ":" + std::to_string(n);
  v.config["RevisionId"] = new_uuid();
  if (!description.empty()) v.config["Description"] = description;
  rec.published_revision = str(rec.latest.config, "RevisionId");
  rec.versions[n] = v;
  return v.config;
}

// 204 with no body: Lambda's answer to deletes.
void answer_no_content(const aws::Call& call) {
  http::Response resp;
  resp.status = 204;
  resp.headers.set("x-amzn-RequestId", call.request_id);
  call.reply(std::move(resp));
}

}  // namespace

LambdaService::LambdaService(store::Store& store, store::BlobStore& blobs, faas::Pool& pool,
                             Clock& clock, boost::asio::any_io_executor worker,
                             LambdaOptions options)
    : store_(store),
      blobs_(blobs),
      pool_(pool),
      clock_(clock),
      worker_(std::move(worker)),
      options_(std::move(options)),
      registry_(store),
      layers_(store) {
  EventSourceHooks hooks;
  hooks.dynamodb_streams = options_.dynamodb_streams;
  hooks.invoke = [this](const std::string& function_arn, faas::Invocation inv,
                        faas::InvokeCallback done, std::function<void(ApiError)> rejected) {
    auto ref = parse_function_ref(function_arn);
    if (!ref) return rejected(ref.take_error());
    invoke(ref->name, ref->qualifier, std::move(inv), std::move(done), std::move(rejected));
  };
  hooks.resolve_function = [this](std::string_view name, std::string_view region,
                                  std::string_view account) {
    return resolve_function_arn(name, region, account);
  };
  hooks.run_blocking = [worker = worker_](std::function<void()> work) {
    boost::asio::post(worker, std::move(work));
  };
  mappings_ = std::make_unique<EventSourceMappings>(store_, clock_, std::move(hooks));
}

LambdaService::~LambdaService() {
  mappings_.reset();  // no poller may invoke through a service being destroyed
  alive_.reset();
}

Status LambdaService::start() {
  std::error_code ec;
  std::filesystem::create_directories(options_.code_dir, ec);
  if (auto st = registry_.load(); !st) return st;
  if (auto st = layers_.load(); !st) return st;
  // Provisioned concurrency is initialised again after a restart.
  for (const auto& name : registry_.names()) sync_provisioned(name);
  sync_reserved_total();
  if (auto st = mappings_->start(); !st) return st;
  // Event invocations acknowledged before a restart still run.
  std::lock_guard lk(events_mu_);
  for (auto& [key, value] : store_.scan("lambda/event/")) {
    boost::system::error_code jec;
    auto v = json::parse(value, jec);
    if (jec || !v.is_object()) continue;
    auto& o = v.as_object();
    events_.push_back(QueuedEvent{key, str(o, "function"), str(o, "qualifier"), str(o, "payload"),
                                  str(o, "request_id")});
    next_event_seq_ = std::max<uint64_t>(next_event_seq_, std::stoull(key.substr(13)) + 1);
  }
  if (!events_.empty()) {
    spdlog::info("lambda: resuming {} queued event invocations", events_.size());
    boost::asio::post(worker_, [this] { pump_events(); });
  }
  return {};
}

void LambdaService::reset() {
  mappings_->clear();
  pool_.stop_all();
  {
    std::lock_guard lk(events_mu_);
    events_.clear();
  }
  (void)store_.delete_prefix("lambda/");
  registry_.clear();
  layers_.clear();
  {
    std::lock_guard lk(provisioned_mu_);
    provisioned_specs_.clear();  // the pool's groups went with stop_all
  }
  pool_.set_reserved_total(0);
}

Result<std::string> LambdaService::code_zip(const std::string& blob_id) const {
  return blobs_.get(blob_id);
}

void LambdaService::answer(aws::Call& call, int status, const json::object& body) {
  auto r = http::Response::json(status, json::serialize(body));
  r.headers.set("x-amzn-RequestId", call.request_id);
  call.reply(std::move(r));
}

void LambdaService::on_worker(aws::Call call, std::function<void(aws::Call&)> work) {
  boost::asio::post(worker_, [this, call = std::move(call), work = std::move(work)]() mutable {
    try {
      work(call);
    } catch (const std::exception& e) {
      // A broken invariant fails this request, never the process.
      spdlog::error("lambda: {} failed: {}", call.http.path, e.what());
      reply_error(call, ApiError::service_failure(e.what()));
    }
  });
}

void LambdaService::handle(aws::Call call) {
  // Path: /VERSION/functions[/NAME[/SUB[/ALIAS]]] or /2016-08-19/account-settings/
  std::vector<std::string> seg;
  std::string_view p = call.http.path;
  while (!p.empty()) {
    if (p.front() == '/') {
      p.remove_prefix(1);
      continue;
    }
    auto slash = p.find('/');
    seg.push_back(http::url_decode(p.substr(0, slash)));
    p = slash == std::string_view::npos ? std::string_view{} : p.substr(slash);
  }
  const std::string& m = call.http.method;
  Route r;
  auto n = seg.size();
  if (n >= 2 && seg[1] == "functions") {
    if (n >= 3) r.function = seg[2];
    if (n == 2 && m == "POST")
      r.op = "CreateFunction";
    else if (n == 2 && m == "GET")
      r.op = "ListFunctions";
    else if (n == 3 && m == "GET")
      r.op = "GetFunction";
    else if (n == 3 && m == "DELETE")
      r.op = "DeleteFunction";
    else if (n == 4 && seg[3] == "configuration" && m == "GET")
      r.op = "GetFunctionConfiguration";
    else if (n == 4 && seg[3] == "configuration" && m == "PUT")
      r.op = "UpdateFunctionConfiguration";
    else if (n == 4 && seg[3] == "code" && m == "PUT")
      r.op = "UpdateFunctionCode";
    else if (n == 4 && seg[3] == "invocations" && m == "POST")
      r.op = "Invoke";
    else if (n == 4 && seg[3] == "versions" && m == "POST")
      r.op = "PublishVersion";
    else if (n == 4 && seg[3] == "versions" && m == "GET")
      r.op = "ListVersionsByFunction";
    else if (n == 4 && seg[3] == "aliases" && m == "POST")
      r.op = "CreateAlias";
    else if (n == 4 && seg[3] == "aliases" && m == "GET")
      r.op = "ListAliases";
    else if (n == 5 && seg[3] == "aliases") {
      r.alias = seg[4];
      if (m == "GET") r.op = "GetAlias";
      if (m == "PUT") r.op = "UpdateAlias";
      if (m == "DELETE") r.op = "DeleteAlias";
    } else if (n == 4 && seg[3] == "provisioned-concurrency") {
      if (m == "PUT") r.op = "PutProvisionedConcurrencyConfig";
      if (m == "GET")
        r.op = http::query_value(call.http.query, "List") == "ALL"
                   ? "ListProvisionedConcurrencyConfigs"
                   : "GetProvisionedConcurrencyConfig";
      if (m == "DELETE") r.op = "DeleteProvisionedConcurrencyConfig";
    } else if (n == 4 && seg[3] == "concurrency") {
      if (m == "PUT") r.op = "PutFunctionConcurrency";
      if (m == "GET") r.op = "GetFunctionConcurrency";
      if (m == "DELETE") r.op = "DeleteFunctionConcurrency";
    }
  } else if (n == 3 && seg[0] == "2017-03-31" && seg[1] == "tags") {
    r.function = seg[2];  // the function's ARN
    if (m == "POST") r.op = "TagResource";
    if (m == "GET") r.op = "ListTags";
    if (m == "DELETE") r.op = "UntagResource";
  } else if (n >= 2 && seg[0] == "2018-10-31" && seg[1] == "layers") {
    if (n >= 3) r.layer = seg[2];
    if (n >= 5) r.layer_version = seg[4];
    bool by_arn = http::query_value(call.http.query, "find") == "LayerVersion";
    if (n == 2 && m == "GET") r.op = by_arn ? "GetLayerVersionByArn" : "ListLayers";
    if (n == 4 && seg[3] == "versions" && m == "POST") r.op = "PublishLayerVersion";
    if (n == 4 && seg[3] == "versions" && m == "GET") r.op = "ListLayerVersions";
    if (n == 5 && seg[3] == "versions" && m == "GET") r.op = "GetLayerVersion";
    if (n == 5 && seg[3] == "versions" && m == "DELETE") r.op = "DeleteLayerVersion";
  } else if (n == 2 && seg[1] == "account-settings" && m == "GET") {
    r.op = "GetAccountSettings";
  } else if ((n == 2 || n == 3) && seg[0] == "2015-03-31" && seg[1] == "event-source-mappings") {
    if (n == 3) r.mapping = seg[2];
    if (n == 2 && m == "POST") r.op = "CreateEventSourceMapping";
    if (n == 2 && m == "GET") r.op = "ListEventSourceMappings";
    if (n == 3 && m == "GET") r.op = "GetEventSourceMapping";
    if (n == 3 && m == "PUT") r.op = "UpdateEventSourceMapping";
    if (n == 3 && m == "DELETE") r.op = "DeleteEventSourceMapping";
  }
  if (r.op.empty()) {
    reply_error(call, ApiError::make(404, "UnknownOperationException",
                                     "Unknown operation " + m + " " + call.http.path));
    return;
  }
  if (r.op == "Invoke") return invoke_api(call, r);  // the hot path stays on the I/O thread
  on_worker(std::move(call), [this, r](aws::Call& c) { dispatch(c, r); });
}

void LambdaService::dispatch(aws::Call& call, const Route& r) {
  const std::string& op = r.op;
  if (op == "CreateFunction") return create_function(call);
  if (op == "ListFunctions") return list_functions(call);
  if (op == "GetAccountSettings") return get_account_settings(call);
  if (op == "TagResource" || op == "ListTags" || op == "UntagResource") return tags(call, r);
  if (op == "GetFunction") return get_function(call, r);
  if (op == "GetFunctionConfiguration") return get_function_configuration(call, r);
  if (op == "UpdateFunctionConfiguration") return update_function_configuration(call, r);
  if (op == "UpdateFunctionCode") return update_function_code(call, r);
  if (op == "DeleteFunction") return delete_function(call, r);
  if (op == "PublishVersion") return publish_version(call, r);
  if (op == "ListVersionsByFunction") return list_versions(call, r);
  if (op == "CreateAlias") return create_alias(call, r);
  if (op == "ListAliases") return list_aliases(call, r);
  if (op == "GetAlias") return get_alias(call, r);
  if (op == "UpdateAlias") return update_alias(call, r);
  if (op == "DeleteAlias") return delete_alias(call, r);
  if (op == "PutFunctionConcurrency") return put_concurrency(call, r);
  if (op == "GetFunctionConcurrency") return get_concurrency(call, r);
  if (op == "DeleteFunctionConcurrency") return delete_concurrency(call, r);
  if (op.ends_with("ProvisionedConcurrencyConfig") || op == "ListProvisionedConcurrencyConfigs")
    return provisioned_api(call, r);
  if (op == "PublishLayerVersion") return publish_layer_version(call, r);
  if (op == "GetLayerVersion") return get_layer_version(call, r);
  if (op == "GetLayerVersionByArn") return get_layer_version_by_arn(call);
  if (op == "ListLayers") return list_layers(call);
  if (op == "ListLayerVersions") return list_layer_versions(call, r);
  if (op == "DeleteLayerVersion") return delete_layer_version(call, r);
  if (op.ends_with("EventSourceMapping") || op == "ListEventSourceMappings")
    return event_source_mapping_api(call, r);
}

Result<CodeInfo, ApiError> LambdaService::store_zip(const json::value& zip) {
  std::string bytes;
  if (!zip.is_string() || !base64_decode(zip.as_string(), bytes))
    return fail(ApiError::invalid_parameter("ZipFile is not valid base64"));
  if (bytes.size() > 50ull * 1024 * 1024)
    return fail(ApiError::make(413, "RequestEntityTooLargeException",
                               "Zipped file size exceeds the maximum of 52428800 bytes"));
  auto blob = blobs_.put(bytes);
  if (!blob) return fail(ApiError::service_failure(blob.error().message));
  CodeInfo info;
  info.blob = blob.value();
  info.dir = options_.code_dir + "/" + info.blob;
  if (!std::filesystem::exists(info.dir))
    if (auto r = unpack_zip(bytes, info.dir); !r) return fail(r.take_error());
  info.sha256_b64 = sha256_base64(bytes);
  info.size = static_cast<int64_t>(bytes.size());
  return info;
}

std::string LambdaService::code_location(const std::string& blob) const {
  return options_.edge_url + "/_nimbus/lambda/code/" + blob;
}

Result<CodeInfo, ApiError> LambdaService::store_code(const json::object& code) {
  CodeInfo info;
  if (auto* zip = code.if_contains("ZipFile"); zip && zip->is_string()) return store_zip(*zip);
  // Development convenience (LocalStack's convention): S3Bucket "hot-reload"
  // with S3Key naming a local directory mounts that directory as the code,
  // so edits show up on the next cold start without an upload.
  if (str(code, "S3Bucket") == "hot-reload") {
    std::string dir = str(code, "S3Key");
    std::error_code ec;
    if (dir.empty() || dir.front() != '/' || !std::filesystem::is_directory(dir, ec))
      return fail(ApiError::invalid_parameter(
          "With S3Bucket \"hot-reload\", S3Key must be an absolute path of a local directory: " +
          dir));
    info.dir = dir;
    info.sha256_b64 = sha256_base64(dir);
    info.size = 0;
    return info;
  }
  if (code.contains("S3Bucket") || code.contains("ImageUri"))
    return fail(ApiError::invalid_parameter(
        "Nimbus takes code as Code.ZipFile (or S3Bucket \"hot-reload\" with a local directory in "
        "S3Key); S3 and image sources come with later services"));
  return fail(ApiError::invalid_parameter("Code is required: set Code.ZipFile"));
}

json::object LambdaService::with_code_location(const FunctionRecord& rec, const VersionRecord& v,
                                               const aws::Call& call) const {
  json::object out;
  out["Configuration"] = v.config;
  json::object code{{"RepositoryType", "S3"}};
  if (!v.code.blob.empty()) code["Location"] = code_location(v.code.blob);
  out["Code"] = std::move(code);
  if (!rec.tags.empty()) out["Tags"] = rec.tags;
  if (rec.reserved)
    out["Concurrency"] = json::object{{"ReservedConcurrentExecutions", *rec.reserved}};
  return out;
}

void LambdaService::create_function(aws::Call& call) {
  auto body = parse_body(call);
  if (!body) return reply_error(call, body.error());
  auto& in = body.value();
  auto ref = parse_function_ref(str(in, "FunctionName"));
  if (!ref) return reply_error(call, ref.error());
  if (!ref->qualifier.empty())
    return reply_error(call, ApiError::invalid_parameter("FunctionName must not be qualified"));
  json::object cfg{{"FunctionName", ref->name},
                   {"FunctionArn", function_arn(call.region, call.account_id, ref->name)},
                   {"MemorySize", 128},
                   {"Timeout", 3},
                   {"Description", ""},
                   {"Version", "$LATEST"},
                   {"PackageType", "Zip"},
                   {"Architectures", json::array{"x86_64"}},
                   {"EphemeralStorage", json::object{{"Size", 512}}},
                   {"TracingConfig", json::object{{"Mode", "PassThrough"}}},
                   {"SnapStart", json::object{{"ApplyOn", "None"}, {"OptimizationStatus", "Off"}}}};
  if (auto r = apply_configuration(in, cfg, true); !r) return reply_error(call, r.error());
  auto* code = in.if_contains("Code");
  if (!code || !code->is_object())
    return reply_error(call, ApiError::invalid_parameter("Code is required"));
  if (registry_.get(ref->name))
    return reply_error(call, ApiError::resource_conflict("Function already exist: " + ref->name));
  auto info = store_code(code->as_object());
  if (!info) return reply_error(call, info.error());
  cfg["CodeSha256"] = info->sha256_b64;
  cfg["CodeSize"] = info->size;
  cfg["LastModified"] = iso_lambda_time(clock_.wall_ms());
  cfg["RevisionId"] = new_uuid();
  cfg["State"] = "Active";
  cfg["LastUpdateStatus"] = "Successful";
  FunctionRecord rec;
  rec.latest = VersionRecord{cfg, info.value(), {}};
  if (auto* layers = in.if_contains("Layers"))
    if (auto l = apply_layers(*layers, call, rec.latest.config, rec.latest); !l)
      return reply_error(call, l.error());
  cfg = rec.latest.config;
  if (auto* tags = in.if_contains("Tags"); tags && tags->is_object()) rec.tags = tags->as_object();
  bool publish = in.contains("Publish") && in.at("Publish").is_bool() && in.at("Publish").as_bool();
  json::object published;
  if (publish) published = publish_latest(rec);
  if (auto r = registry_.create(ref->name, std::move(rec)); !r) return reply_error(call, r.error());
  if (publish) cfg = published;
  // Everything is in place before we answer, but the answer reads like
  // Lambda's: a new function reports Pending; GetFunction then shows Active.
  cfg["State"] = "Pending";
  cfg["StateReason"] = "The function is being created.";
  cfg["StateReasonCode"] = "Creating";
  cfg.erase("LastUpdateStatus");
  answer(call, 201, cfg);
}

// Finds the version record named by the qualifier (or $LATEST).
static Result<const VersionRecord*, ApiError> version_of(const FunctionRecord& rec,
                                                         const std::string& qualifier) {
  if (qualifier.empty() || qualifier == "$LATEST") return &rec.latest;
  std::string version = qualifier;
  if (auto a = rec.aliases.find(qualifier); a != rec.aliases.end())
    version = str(a->second, "FunctionVersion");
  if (version == "$LATEST") return &rec.latest;
  if (is_version_number(version))
    if (auto v = rec.versions.find(std::stoi(version)); v != rec.versions.end()) return &v->second;
  return fail(ApiError::resource_not_found(
      "Function not found: " + str(rec.latest.config, "FunctionArn") + ":" + qualifier));
}

// Resolves the FunctionName path parameter and the Qualifier query parameter.
static Result<std::pair<FunctionRef, FunctionRecord>, ApiError> lookup(
    const FunctionRegistry& registry, const aws::Call& call, const std::string& raw) {
  auto ref =
      parse_function_ref_with_qualifier(raw, http::query_value(call.http.query, "Qualifier"));
  if (!ref) return fail(ref.take_error());
  auto rec = registry.get(ref->name);
  if (!rec)
    return fail(ApiError::resource_not_found(
        "Function not found: " +
        function_arn(call.region, call.account_id, ref->name, ref->qualifier)));
  return std::make_pair(std::move(ref.value()), std::move(*rec));
}

void LambdaService::get_function(aws::Call& call, const Route& r) {
  auto found = lookup(registry_, call, r.function);
  if (!found) return reply_error(call, found.error());
  auto& [ref, rec] = found.value();
  auto v = version_of(rec, ref.qualifier);
  if (!v) return reply_error(call, v.error());
  answer(call, 200, with_code_location(rec, *v.value(), call));
}

void LambdaService::get_function_configuration(aws::Call& call, const Route& r) {
  auto found = lookup(registry_, call, r.function);
  if (!found) return reply_error(call, found.error());
  auto& [ref, rec] = found.value();
  auto v = version_of(rec, ref.qualifier);
  if (!v) return reply_error(call, v.error());
  answer(call, 200, v.value()->config);
}

// Marker/MaxItems pagination over an ordered list of JSON items.
static json::object paginate(const aws::Call& call, std::vector<json::value> items,
                             std::string_view key) {
  std::string marker = http::query_value(call.http.query, "Marker");
  std::string max_s = http::query_value(call.http.query, "MaxItems");
  size_t max = 50;
  if (!max_s.empty()) {
    try {
      max = std::clamp<size_t>(std::stoul(max_s), 1, 10000);
    } catch (...) {
    }
  }
  size_t start = 0;
  if (!marker.empty()) {
    try {
      start = std::stoul(marker);
    } catch (...) {
      start = items.size();
    }
  }
  json::array page;
  for (size_t i = start; i < items.size() && page.size() < max; ++i) page.push_back(items[i]);
  json::object out{{key, std::move(page)}};
  if (start + max < items.size()) out["NextMarker"] = std::to_string(start + max);
  return out;
}

void LambdaService::list_functions(aws::Call& call) {
  bool all = http::query_value(call.http.query, "FunctionVersion") == "ALL";
  std::vector<json::value> items;
  for (const auto& name : registry_.names()) {
    auto rec = registry_.get(name);
    if (!rec) continue;
    items.emplace_back(rec->latest.config);
    if (all)
      for (const auto& [n, v] : rec->versions) items.emplace_back(v.config);
  }
  answer(call, 200, paginate(call, std::move(items), "Functions"));
}

static Result<void, ApiError> check_revision(const json::object& in, const json::object& cfg) {
  std::string want = str(in, "RevisionId");
  if (!want.empty() && want != str(cfg, "RevisionId"))
    return fail(
        ApiError::make(412, "PreconditionFailedException",
                       "The Revision Id provided does not match the latest Revision Id. "
                       "Call the GetFunction/GetAlias API to retrieve the latest Revision Id"));
  return {};
}

void LambdaService::update_function_code(aws::Call& call, const Route& r) {
  auto body = parse_body(call);
  if (!body) return reply_error(call, body.error());
  auto& in = body.value();
  auto ref = parse_function_ref(r.function);
  if (!ref) return reply_error(call, ref.error());
  auto info = store_code(in);
  if (!info) return reply_error(call, info.error());
  bool publish = in.contains("Publish") && in.at("Publish").is_bool() && in.at("Publish").as_bool();
  json::object out;
  auto res = registry_.update(ref->name, [&](FunctionRecord& rec) -> Result<void, ApiError> {
    if (auto c = check_revision(in, rec.latest.config); !c) return c;
    auto& cfg = rec.latest.config;
    cfg["CodeSha256"] = info->sha256_b64;
    cfg["CodeSize"] = info->size;
    cfg["LastModified"] = iso_lambda_time(clock_.wall_ms());
    cfg["RevisionId"] = new_uuid();
    cfg["LastUpdateStatus"] = "Successful";
    rec.latest.code = info.value();
    out = cfg;
    if (publish) out = publish_latest(rec);
    return {};
  });
  if (!res) return reply_error(call, res.error());
  pool_.retire_function(ref->name, "$LATEST");
  out["LastUpdateStatus"] = "InProgress";
  out["LastUpdateStatusReason"] = "The function is being created.";
  out["LastUpdateStatusReasonCode"] = "Creating";
  answer(call, 200, out);
}

void LambdaService::update_function_configuration(aws::Call& call, const Route& r) {
  auto body = parse_body(call);
  if (!body) return reply_error(call, body.error());
  auto& in = body.value();
  auto ref = parse_function_ref(r.function);
  if (!ref) return reply_error(call, ref.error());
  // Layers are resolved (and their /opt prepared) outside the registry lock.
  const json::value* layers = in.if_contains("Layers");
  json::object layers_cfg;
  VersionRecord layers_version;
  if (layers)
    if (auto l = apply_layers(*layers, call, layers_cfg, layers_version); !l)
      return reply_error(call, l.error());
  json::object out;
  auto res = registry_.update(ref->name, [&](FunctionRecord& rec) -> Result<void, ApiError> {
    if (auto c = check_revision(in, rec.latest.config); !c) return c;
    json::object cfg = rec.latest.config;
    if (auto a = apply_configuration(in, cfg, false); !a) return a;
    cfg["LastModified"] = iso_lambda_time(clock_.wall_ms());
    cfg["RevisionId"] = new_uuid();
    cfg["LastUpdateStatus"] = "Successful";
    if (layers) {
      if (auto* l = layers_cfg.if_contains("Layers"))
        cfg["Layers"] = *l;
      else
        cfg.erase("Layers");
      rec.latest.opt_dir = layers_version.opt_dir;
    }
    rec.latest.config = cfg;
    out = cfg;
    return {};
  });
  if (!res) return reply_error(call, res.error());
  // New instances pick up the change; warm ones of the old configuration retire.
  pool_.retire_function(ref->name, "$LATEST");
  out["LastUpdateStatus"] = "InProgress";
  out["LastUpdateStatusReason"] = "The function is being updated.";
  out["LastUpdateStatusReasonCode"] = "Updating";
  answer(call, 200, out);
}

void LambdaService::delete_function(aws::Call& call, const Route& r) {
  auto ref = parse_function_ref(r.function);
  if (!ref) return reply_error(call, ref.error());
  std::string q = http::query_value(call.http.query, "Qualifier");
  if (q.empty()) q = ref->qualifier;
  if (q.empty()) {
    auto res = registry_.remove(ref->name);
    if (!res) return reply_error(call, res.error());
    sync_provisioned(ref->name);  // its provisioned instances go too
    pool_.retire_function(ref->name);
    sync_reserved_total();
  } else {
    if (!is_version_number(q))
      return reply_error(call,
                         ApiError::invalid_parameter(
                             "Deletion of aliases or $LATEST through the Qualifier is not "
                             "supported: use DeleteAlias, or DeleteFunction without Qualifier"));
    auto res = registry_.update(ref->name, [&](FunctionRecord& rec) -> Result<void, ApiError> {
      int n = std::stoi(q);
      if (!rec.versions.count(n)) return {};  // Lambda answers 204 for an absent version
      for (const auto& [name, alias] : rec.aliases)
        if (str(alias, "FunctionVersion") == q)
          return fail(
              ApiError::resource_conflict("Unable to delete version because the following "
                                          "aliases reference it: [" +
                                          name + "]"));
      rec.versions.erase(n);
      rec.provisioned.erase(q);  // its provisioned concurrency goes with it
      return {};
    });
    if (!res) return reply_error(call, res.error());
    sync_provisioned(ref->name);
    pool_.retire_function(ref->name, q);
    sync_reserved_total();
  }
  answer_no_content(call);
}

void LambdaService::publish_version(aws::Call& call, const Route& r) {
  auto body = parse_body(call);
  if (!body) return reply_error(call, body.error());
  auto& in = body.value();
  auto ref = parse_function_ref(r.function);
  if (!ref) return reply_error(call, ref.error());
  json::object out;
  auto res = registry_.update(ref->name, [&](FunctionRecord& rec) -> Result<void, ApiError> {
    auto& cfg = rec.latest.config;
    std::string sha = str(in, "CodeSha256");
    if (!sha.empty() && sha != str(cfg, "CodeSha256"))
      return fail(ApiError::invalid_parameter(
          "CodeSHA256 (" + sha + ") is different from current CodeSHA256 in $LATEST(" +
          str(cfg, "CodeSha256") + "). Please try again with the CodeSHA256 in $LATEST."));
    if (auto c = check_revision(in, cfg); !c) return c;
    if (rec.published_revision == str(cfg, "RevisionId") && !rec.versions.empty()) {
      out = rec.versions.rbegin()->second.config;  // nothing changed: same version
      return {};
    }
    out = publish_latest(rec, str(in, "Description"));
    return {};
  });
  if (!res) return reply_error(call, res.error());
  answer(call, 201, out);
}

void LambdaService::list_versions(aws::Call& call, const Route& r) {
  auto found = lookup(registry_, call, r.function);
  if (!found) return reply_error(call, found.error());
  auto& rec = found.value().second;
  std::vector<json::value> items{rec.latest.config};
  for (const auto& [n, v] : rec.versions) items.emplace_back(v.config);
  answer(call, 200, paginate(call, std::move(items), "Versions"));
}

// Validates FunctionVersion and RoutingConfig of an alias against the function.
static Result<void, ApiError> check_alias_target(const FunctionRecord& rec, const json::object& in,
                                                 json::object& alias) {
  if (auto* fv = in.if_contains("FunctionVersion"); fv && fv->is_string()) {
    std::string v(fv->as_string());
    if (v != "$LATEST" && (!is_version_number(v) || !rec.versions.count(std::stoi(v))))
      return fail(ApiError::resource_not_found(
          "Function not found: " + str(rec.latest.config, "FunctionArn") + ":" + v));
    alias["FunctionVersion"] = v;
  }
  if (auto* d = in.if_contains("Description"); d && d->is_string())
    alias["Description"] = d->as_string();
  if (auto* rc = in.if_contains("RoutingConfig"); rc && rc->is_object()) {
    auto* w = rc->as_object().if_contains("AdditionalVersionWeights");
    if (w && w->is_object()) {
      if (w->as_object().size() > 1)
        return fail(ApiError::invalid_parameter(
            "Number of items in AdditionalVersionWeights cannot be greater than 1"));
      for (const auto& [v, weight] : w->as_object()) {
        if (!is_version_number(v) || !rec.versions.count(std::stoi(std::string(v))))
          return fail(ApiError::resource_not_found(
              "Function not found: " + str(rec.latest.config, "FunctionArn") + ":" +
              std::string(v)));
        double x = weight.is_number() ? weight.to_number<double>() : -1;
        if (x < 0 || x > 1)
          return fail(constraint_error(json::serialize(weight),
                                       "routingConfig.additionalVersionWeights",
                                       "Member must have value between 0.0 and 1.0"));
      }
    }
    alias["RoutingConfig"] = rc->as_object();
  }
  return {};
}

void LambdaService::create_alias(aws::Call& call, const Route& r) {
  auto body = parse_body(call);
  if (!body) return reply_error(call, body.error());
  auto& in = body.value();
  auto ref = parse_function_ref(r.function);
  if (!ref) return reply_error(call, ref.error());
  std::string name = str(in, "Name");
  if (!is_valid_alias_name(name) || name == "$LATEST")
    return reply_error(call, constraint_error(name, "name",
                                              "Member must satisfy regular expression pattern: "
                                              "(?!^[0-9]+$)([a-zA-Z0-9-_]+)"));
  if (!in.contains("FunctionVersion"))
    return reply_error(call, ApiError::invalid_parameter("FunctionVersion is required"));
  json::object out;
  auto res = registry_.update(ref->name, [&](FunctionRecord& rec) -> Result<void, ApiError> {
    std::string arn = str(rec.latest.config, "FunctionArn") + ":" + name;
    if (rec.aliases.count(name))
      return fail(ApiError::resource_conflict("Alias already exists: " + arn));
    json::object alias{{"AliasArn", arn}, {"Name", name}, {"Description", ""}};
    if (auto c = check_alias_target(rec, in, alias); !c) return c;
    alias["RevisionId"] = new_uuid();
    rec.aliases[name] = alias;
    out = alias;
    return {};
  });
  if (!res) return reply_error(call, res.error());
  answer(call, 201, out);
}

void LambdaService::get_alias(aws::Call& call, const Route& r) {
  auto found = lookup(registry_, call, r.function);
  if (!found) return reply_error(call, found.error());
  auto& rec = found.value().second;
  auto a = rec.aliases.find(r.alias);
  if (a == rec.aliases.end())
    return reply_error(
        call, ApiError::resource_not_found("Cannot find alias arn: " +
                                           str(rec.latest.config, "FunctionArn") + ":" + r.alias));
  answer(call, 200, a->second);
}

void LambdaService::update_alias(aws::Call& call, const Route& r) {
  auto body = parse_body(call);
  if (!body) return reply_error(call, body.error());
  auto& in = body.value();
  auto ref = parse_function_ref(r.function);
  if (!ref) return reply_error(call, ref.error());
  json::object out;
  auto res = registry_.update(ref->name, [&](FunctionRecord& rec) -> Result<void, ApiError> {
    auto a = rec.aliases.find(r.alias);
    if (a == rec.aliases.end())
      return fail(ApiError::resource_not_found(
          "Cannot find alias arn: " + str(rec.latest.config, "FunctionArn") + ":" + r.alias));
    if (auto c = check_revision(in, a->second); !c) return c;
    json::object alias = a->second;
    if (auto c = check_alias_target(rec, in, alias); !c) return c;
    if (rec.provisioned.contains(r.alias)) {
      // Its provisioned concurrency moves to the new version: which must be
      // published and not have its own.
      std::string v = str(alias, "FunctionVersion");
      if (v == "$LATEST")
        return fail(ApiError::invalid_parameter(
            "Provisioned Concurrency Configs cannot be applied to unpublished function versions."));
      if (v != str(a->second, "FunctionVersion") && rec.provisioned.contains(v))
        return fail(ApiError::resource_conflict(
            "Alias can't be used for Provisioned Concurrency configuration on an already "
            "Provisioned version"));
    }
    alias["RevisionId"] = new_uuid();
    a->second = alias;
    out = alias;
    return {};
  });
  if (!res) return reply_error(call, res.error());
  sync_provisioned(ref->name);  // provisioned instances follow the alias
  answer(call, 200, out);
}

void LambdaService::delete_alias(aws::Call& call, const Route& r) {
  auto ref = parse_function_ref(r.function);
  if (!ref) return reply_error(call, ref.error());
  auto res = registry_.update(ref->name, [&](FunctionRecord& rec) -> Result<void, ApiError> {
    rec.aliases.erase(r.alias);
    rec.provisioned.erase(r.alias);  // its provisioned concurrency goes with it
    return {};
  });
  if (!res) return reply_error(call, res.error());
  sync_provisioned(ref->name);
  sync_reserved_total();
  answer_no_content(call);
}

void LambdaService::list_aliases(aws::Call& call, const Route& r) {
  auto found = lookup(registry_, call, r.function);
  if (!found) return reply_error(call, found.error());
  auto& rec = found.value().second;
  std::string filter = http::query_value(call.http.query, "FunctionVersion");
  std::vector<json::value> items;
  for (const auto& [n, a] : rec.aliases)
    if (filter.empty() || str(a, "FunctionVersion") == filter) items.emplace_back(a);
  answer(call, 200, paginate(call, std::move(items), "Aliases"));
}

void LambdaService::put_concurrency(aws::Call& call, const Route& r) {
  auto body = parse_body(call);
  if (!body) return reply_error(call, body.error());
  auto ref = parse_function_ref(r.function);
  if (!ref) return reply_error(call, ref.error());
  auto n = int_member(body.value(), "ReservedConcurrentExecutions", "reservedConcurrentExecutions",
                      0, pool_.account_concurrency());
  if (!n) return reply_error(call, n.error());
  if (!*n)
    return reply_error(call,
                       ApiError::invalid_parameter("ReservedConcurrentExecutions is required"));
  int want = static_cast<int>(**n);
  auto res = registry_.set_reserved(ref->name, want, pool_.account_concurrency(), kMinUnreserved);
  if (!res) return reply_error(call, res.error());
  sync_reserved_total();
  answer(call, 200, json::object{{"ReservedConcurrentExecutions", want}});
}

void LambdaService::get_concurrency(aws::Call& call, const Route& r) {
  auto found = lookup(registry_, call, r.function);
  if (!found) return reply_error(call, found.error());
  auto& rec = found.value().second;
  json::object out;
  if (rec.reserved) out["ReservedConcurrentExecutions"] = *rec.reserved;
  answer(call, 200, out);
}

void LambdaService::delete_concurrency(aws::Call& call, const Route& r) {
  auto ref = parse_function_ref(r.function);
  if (!ref) return reply_error(call, ref.error());
  auto res =
      registry_.set_reserved(ref->name, std::nullopt, pool_.account_concurrency(), kMinUnreserved);
  if (!res) return reply_error(call, res.error());
  sync_reserved_total();
  answer_no_content(call);
}

// TagResource, ListTags and UntagResource: tags live on the function (Lambda
// accepts only function ARNs here; a qualified ARN is refused).
void LambdaService::tags(aws::Call& call, const Route& r) {
  auto ref = parse_function_ref(r.function, "resource");
  if (!ref) return reply_error(call, ref.error());
  if (!ref->qualifier.empty())
    return reply_error(
        call, ApiError::invalid_parameter("Tags are supported only on unqualified function ARNs"));
  if (r.op == "ListTags") {
    auto rec = registry_.get(ref->name);
    if (!rec)
      return reply_error(call, ApiError::resource_not_found(
                                   "Function not found: " +
                                   function_arn(call.region, call.account_id, ref->name)));
    return answer(call, 200, json::object{{"Tags", rec->tags}});
  }
  json::object add;
  std::vector<std::string> remove;
  if (r.op == "TagResource") {
    auto body = parse_body(call);
    if (!body) return reply_error(call, body.error());
    auto* t = body->if_contains("Tags");
    if (!t || !t->is_object())
      return reply_error(call, ApiError::invalid_parameter("Tags is required"));
    add = t->as_object();
  } else {
    for (auto& [k, v] : http::parse_query(call.http.query))
      if (k == "tagKeys") remove.push_back(v);
  }
  auto res = registry_.update(ref->name, [&](FunctionRecord& rec) -> Result<void, ApiError> {
    for (auto& [k, v] : add) rec.tags[k] = v;
    for (auto& k : remove) rec.tags.erase(k);
    if (rec.tags.size() > 50)
      return fail(ApiError::invalid_parameter("A function can have at most 50 tags"));
    return {};
  });
  if (!res) return reply_error(call, res.error());
  answer_no_content(call);
}

void LambdaService::get_account_settings(aws::Call& call) {
  int64_t total_code = 0;
  auto names = registry_.names();
  for (const auto& n : names)
    if (auto rec = registry_.get(n)) total_code += rec->latest.code.size;
  int limit = pool_.account_concurrency();
  answer(
      call, 200,
      json::object{
          {"AccountLimit",
           json::object{{"TotalCodeSize", 80530636800LL},
                        {"CodeSizeUnzipped", 262144000},
                        {"CodeSizeZipped", 52428800},
                        {"ConcurrentExecutions", limit},
                        {"UnreservedConcurrentExecutions", limit - registry_.reserved_total()}}},
          {"AccountUsage", json::object{{"TotalCodeSize", total_code},
                                        {"FunctionCount", static_cast<int64_t>(names.size())}}}});
}

// ---------------------------------------------------------------------------
// Event source mappings: the state and the pollers are EventSourceMappings';
// here the routes, and what only the function registry knows.

Result<std::string, ApiError> LambdaService::resolve_function_arn(std::string_view function_name,
                                                                  std::string_view region,
                                                                  std::string_view account) const {
  auto ref = parse_function_ref(function_name);
  if (!ref) return fail(ref.take_error());
  std::string arn =
      function_arn(ref->region.empty() ? region : ref->region,
                   ref->account_id.empty() ? account : ref->account_id, ref->name, ref->qualifier);
  auto rec = registry_.get(ref->name);
  if (!rec) return fail(ApiError::resource_not_found("Function not found: " + arn));
  if (!ref->qualifier.empty())
    if (auto v = version_of(*rec, ref->qualifier); !v) return fail(v.take_error());
  return arn;
}

void LambdaService::event_source_mapping_api(aws::Call& call, const Route& r) {
  RequestScope scope{call.region, call.account_id};
  Result<json::object, ApiError> out = json::object{};
  int status = 202;  // Create, Update and Delete answer 202 Accepted
  if (r.op == "ListEventSourceMappings") {
    status = 200;
    out = mappings_->list(http::query_value(call.http.query, "EventSourceArn"),
                          http::query_value(call.http.query, "FunctionName"),
                          http::query_value(call.http.query, "Marker"),
                          http::query_value(call.http.query, "MaxItems"));
  } else if (r.op == "GetEventSourceMapping") {
    status = 200;
    out = mappings_->get(r.mapping);
  } else if (r.op == "DeleteEventSourceMapping") {
    out = mappings_->remove(r.mapping);
  } else {
    auto body = parse_body(call);
    if (!body) return reply_error(call, body.error());
    out = r.op == "CreateEventSourceMapping" ? mappings_->create(body.value(), scope)
                                             : mappings_->update(r.mapping, body.value(), scope);
  }
  if (!out) return reply_error(call, out.error());
  answer(call, status, out.value());
}

// ---------------------------------------------------------------------------
// Layers

static ApiError layer_version_not_found() {
  return ApiError::resource_not_found("The resource you requested does not exist.");
}

// The LayerVersionsListItem shape (GetLayerVersion minus Content and LayerArn).
static json::object layer_list_item(const LayerVersionRecord& v) {
  json::object item;
  for (auto key : {"LayerVersionArn", "Version", "Description", "CreatedDate", "CompatibleRuntimes",
                   "LicenseInfo", "CompatibleArchitectures"})
    if (auto* m = v.info.if_contains(key)) item[key] = *m;
  return item;
}

// Whether a version lists the runtime and architecture asked for ("" = any).
static bool layer_matches(const LayerVersionRecord& v, std::string_view runtime,
                          std::string_view architecture) {
  auto lists = [&](std::string_view key, std::string_view want) {
    if (want.empty()) return true;
    auto* l = v.info.if_contains(key);
    if (!l || !l->is_array()) return false;
    for (const auto& x : l->as_array())
      if (x.is_string() && x.as_string() == want) return true;
    return false;
  };
  return lists("CompatibleRuntimes", runtime) && lists("CompatibleArchitectures", architecture);
}

// Reads CompatibleRuntimes / CompatibleArchitectures: a list of at most `max`
// strings (architectures: x86_64 or arm64).
static Result<std::optional<json::array>, ApiError> string_list(const json::object& in,
                                                                std::string_view key,
                                                                std::string_view member,
                                                                size_t max) {
  auto* v = in.if_contains(key);
  if (!v || v->is_null()) return std::optional<json::array>{};
  if (!v->is_array())
    return fail(ApiError::invalid_parameter(std::string(key) + " must be a list"));
  if (v->as_array().size() > max)
    return fail(
        constraint_error(json::serialize(*v), member,
                         "Member must have length less than or equal to " + std::to_string(max)));
  for (const auto& x : v->as_array()) {
    bool arch = key == "CompatibleArchitectures";
    if (!x.is_string() || x.as_string().empty() ||
        (arch && x.as_string() != "x86_64" && x.as_string() != "arm64"))
      return fail(constraint_error(json::serialize(*v), member,
                                   arch ? "Member must satisfy enum value set: [x86_64, arm64]"
                                        : "Member must satisfy enum value set of Runtime"));
  }
  return std::optional<json::array>{v->as_array()};
}

void LambdaService::publish_layer_version(aws::Call& call, const Route& r) {
  auto name = parse_layer_name(r.layer);
  if (!name) return reply_error(call, name.error());
  auto body = parse_body(call);
  if (!body) return reply_error(call, body.error());
  auto& in = body.value();
  std::string description = str(in, "Description");
  if (description.size() > 256)
    return reply_error(call, constraint_error(description, "description",
                                              "Member must have length less than or equal to 256"));
  std::string license = str(in, "LicenseInfo");
  if (license.size() > 512)
    return reply_error(call, constraint_error(license, "licenseInfo",
                                              "Member must have length less than or equal to 512"));
  auto runtimes = string_list(in, "CompatibleRuntimes", "compatibleRuntimes", 15);
  if (!runtimes) return reply_error(call, runtimes.error());
  auto archs = string_list(in, "CompatibleArchitectures", "compatibleArchitectures", 2);
  if (!archs) return reply_error(call, archs.error());
  auto* content = in.if_contains("Content");
  if (!content || !content->is_object())
    return reply_error(call, ApiError::invalid_parameter("Content is required"));
  const auto& c = content->as_object();
  if (!c.contains("ZipFile"))
    // Nimbus has no S3 service yet: a layer's archive comes inline.
    return reply_error(call, ApiError::invalid_parameter(
                                 c.contains("S3Bucket") || c.contains("S3Key")
                                     ? "Nimbus has no S3 service yet: publish the layer with "
                                       "Content.ZipFile (aws lambda publish-layer-version "
                                       "--zip-file fileb://layer.zip)"
                                     : "Content.ZipFile is required"));
  auto code = store_zip(c.at("ZipFile"));
  if (!code) return reply_error(call, code.error());
  std::string layer = layer_arn(call.region, call.account_id, *name);
  std::string created = iso_lambda_time(clock_.wall_ms());
  auto published = layers_.publish(*name, [&](int version) {
    json::object info{
        {"LayerArn", layer},
        {"LayerVersionArn", layer_arn(call.region, call.account_id, *name, version)},
        {"Description", description},
        {"CreatedDate", created},
        {"Version", version},
        {"Content", json::object{{"CodeSha256", code->sha256_b64}, {"CodeSize", code->size}}}};
    if (*runtimes) info["CompatibleRuntimes"] = **runtimes;
    if (*archs) info["CompatibleArchitectures"] = **archs;
    if (!license.empty()) info["LicenseInfo"] = license;
    return LayerVersionRecord{std::move(info), code.value()};
  });
  if (!published) return reply_error(call, published.error());
  json::object out = published->info;
  out["Content"].as_object()["Location"] = code_location(published->code.blob);
  answer(call, 201, out);
}

// Answers one layer version (GetLayerVersion / GetLayerVersionByArn).
static json::object layer_version_answer(const LayerVersionRecord& v, std::string location) {
  json::object out = v.info;
  out["Content"].as_object()["Location"] = std::move(location);
  return out;
}

void LambdaService::get_layer_version(aws::Call& call, const Route& r) {
  auto name = parse_layer_name(r.layer);
  if (!name) return reply_error(call, name.error());
  if (!is_version_number(r.layer_version)) return reply_error(call, layer_version_not_found());
  auto v = layers_.get(*name, std::stoi(r.layer_version));
  if (!v) return reply_error(call, layer_version_not_found());
  answer(call, 200, layer_version_answer(*v, code_location(v->code.blob)));
}

void LambdaService::get_layer_version_by_arn(aws::Call& call) {
  std::string arn = http::query_value(call.http.query, "Arn");
  auto ref = parse_layer_version_arn(arn);
  if (!ref) return reply_error(call, ref.error());
  auto v = layers_.get(ref->name, ref->version);
  if (!v || str(v->info, "LayerVersionArn") != arn)
    return reply_error(call, layer_version_not_found());
  answer(call, 200, layer_version_answer(*v, code_location(v->code.blob)));
}

void LambdaService::list_layers(aws::Call& call) {
  std::string runtime = http::query_value(call.http.query, "CompatibleRuntime");
  std::string arch = http::query_value(call.http.query, "CompatibleArchitecture");
  std::vector<json::value> items;
  for (const auto& [name, layer] : layers_.layers()) {
    // LatestMatchingVersion: the newest version that passes the filters.
    for (auto it = layer.versions.rbegin(); it != layer.versions.rend(); ++it) {
      if (!layer_matches(it->second, runtime, arch)) continue;
      items.emplace_back(json::object{{"LayerName", name},
                                      {"LayerArn", str(it->second.info, "LayerArn")},
                                      {"LatestMatchingVersion", layer_list_item(it->second)}});
      break;
    }
  }
  answer(call, 200, paginate(call, std::move(items), "Layers"));
}

void LambdaService::list_layer_versions(aws::Call& call, const Route& r) {
  auto name = parse_layer_name(r.layer);
  if (!name) return reply_error(call, name.error());
  std::string runtime = http::query_value(call.http.query, "CompatibleRuntime");
  std::string arch = http::query_value(call.http.query, "CompatibleArchitecture");
  std::vector<json::value> items;
  auto all = layers_.layers();
  if (auto l = all.find(*name); l != all.end())
    for (auto it = l->second.versions.rbegin(); it != l->second.versions.rend();
         ++it)  // newest first
      if (layer_matches(it->second, runtime, arch)) items.emplace_back(layer_list_item(it->second));
  answer(call, 200, paginate(call, std::move(items), "LayerVersions"));
}

void LambdaService::delete_layer_version(aws::Call& call, const Route& r) {
  auto name = parse_layer_name(r.layer);
  if (!name) return reply_error(call, name.error());
  // Functions that use the version keep their merged /opt (Lambda: "functions
  // that already use it keep working"); the unpacked files stay.
  if (is_version_number(r.layer_version))
    if (auto d = layers_.remove(*name, std::stoi(r.layer_version)); !d)
      return reply_error(call, d.error());
  answer_no_content(call);
}

Result<void, ApiError> LambdaService::apply_layers(const json::value& layers, const aws::Call& call,
                                                   json::object& cfg, VersionRecord& version) {
  if (!layers.is_null() && !layers.is_array())
    return fail(ApiError::invalid_parameter("Layers must be a list of layer version ARNs"));
  json::array out;
  std::vector<std::string> dirs;
  std::map<std::string, std::string> seen;  // layer ARN → version ARN
  std::string key;
  if (layers.is_array()) {
    if (layers.as_array().size() > 5)
      return fail(ApiError::invalid_parameter("Cannot reference more than 5 layers."));
    for (const auto& l : layers.as_array()) {
      std::string arn = l.is_string() ? std::string(l.as_string()) : json::serialize(l);
      auto ref = parse_layer_version_arn(arn, "layers");
      if (!ref) return fail(ref.take_error());
      std::string layer = layer_arn(ref->region, ref->account_id, ref->name);
      if (auto s = seen.find(layer); s != seen.end())
        return fail(ApiError::invalid_parameter(
            "Two different versions of the same layer are not allowed to be referenced in the "
            "same function. " +
            s->second + " and " + arn + " are versions of the same layer."));
      seen[layer] = arn;
      auto v = layers_.get(ref->name, ref->version);
      if (!v || str(v->info, "LayerVersionArn") != arn)
        return fail(ApiError::invalid_parameter("Layer version " + arn + " does not exist."));
      out.push_back(json::object{{"Arn", arn}, {"CodeSize", v->code.size}});
      dirs.push_back(v->code.dir);
      key += v->code.blob + "/";
    }
  }
  if (out.empty()) {
    cfg.erase("Layers");
    version.opt_dir.clear();
    return {};
  }
  // One merged directory per ordered set of layer contents, shared by every
  // function version that uses the same set.
  std::string dir = options_.code_dir + "/opt-" + sha256_hex(key);
  if (auto m = merge_layers(dirs, dir); !m) return m;
  cfg["Layers"] = std::move(out);
  version.opt_dir = std::move(dir);
  return {};
}

}  // namespace nimbus::services::lambda
