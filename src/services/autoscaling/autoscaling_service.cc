#include "services/autoscaling/autoscaling_service.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cstdio>

#include "base/ids.h"

namespace nimbus::services::autoscaling {

namespace json = boost::json;
using aws::ApiError;
using aws::JsonParams;

namespace {

constexpr std::string_view kTargetPrefix = "AnyScaleFrontendService.";
constexpr std::string_view kTargetKeys = "autoscaling/target/";
constexpr std::string_view kPolicyKeys = "autoscaling/policy/";
constexpr std::string_view kActivityKeys = "autoscaling/activity/";
constexpr char kSep = '\x01';

constexpr std::string_view kLambdaNamespace = "lambda";
constexpr std::string_view kLambdaDimension = "lambda:function:ProvisionedConcurrency";
constexpr std::string_view kLambdaMetric = "LambdaProvisionedConcurrencyUtilization";
// The service-linked role Application Auto Scaling uses for Lambda.
constexpr std::string_view kLambdaRole =
    "role/aws-service-role/lambda.application-autoscaling.amazonaws.com/"
    "AWSServiceRoleForApplicationAutoScaling_LambdaConcurrency";

// The model's enums (botocore application-autoscaling 2016-02-06).
constexpr std::array<std::string_view, 14> kNamespaces = {
    "ecs",         "elasticmapreduce", "ec2",        "appstream", "dynamodb",  "rds",
    "sagemaker",   "custom-resource",  "comprehend", "lambda",    "cassandra", "kafka",
    "elasticache", "neptune"};
constexpr std::array<std::string_view, 20> kDimensions = {
    "ecs:service:DesiredCount",
    "ec2:spot-fleet-request:TargetCapacity",
    "elasticmapreduce:instancegroup:InstanceCount",
    "appstream:fleet:DesiredCapacity",
    "dynamodb:table:ReadCapacityUnits",
    "dynamodb:table:WriteCapacityUnits",
    "dynamodb:index:ReadCapacityUnits",
    "dynamodb:index:WriteCapacityUnits",
    "rds:cluster:ReadReplicaCount",
    "sagemaker:variant:DesiredInstanceCount",
    "custom-resource:ResourceType:Property",
    "comprehend:document-classifier-endpoint:DesiredInferenceUnits",
    "comprehend:entity-recognizer-endpoint:DesiredInferenceUnits",
    "lambda:function:ProvisionedConcurrency",
    "cassandra:table:ReadCapacityUnits",
    "cassandra:table:WriteCapacityUnits",
    "kafka:broker-storage:VolumeSize",
    "elasticache:replication-group:NodeGroups",
    "elasticache:replication-group:Replicas",
    "neptune:cluster:ReadReplicaCount"};
constexpr int kMaxResults = 50;

template <size_t N>
bool one_of(const std::array<std::string_view, N>& set, std::string_view v) {
  return std::find(set.begin(), set.end(), v) != set.end();
}

template <size_t N>
std::string enum_list(const std::array<std::string_view, N>& set) {
  std::string out = "[";
  for (auto v : set) out += (out.size() > 1 ? ", " : "") + std::string(v);
  return out + "]";
}

// The model's constraints on the namespace and dimension members, checked
// when they are present.
void check_enums(JsonParams& p, const std::optional<std::string>& ns,
                 const std::optional<std::string>& dim) {
  if (ns && !one_of(kNamespaces, *ns))
    p.set_error(p.constraint("Value '" + *ns +
                             "' at 'serviceNamespace' failed to satisfy constraint: Member must "
                             "satisfy enum value set: " +
                             enum_list(kNamespaces)));
  if (dim && !one_of(kDimensions, *dim))
    p.set_error(p.constraint("Value '" + *dim +
                             "' at 'scalableDimension' failed to satisfy constraint: Member must "
                             "satisfy enum value set: " +
                             enum_list(kDimensions)));
}

// The three members that name a scalable target (all required).
struct TargetId {
  std::string ns, resource, dim;
  // "service namespace: lambda, resource ID: ..., scalable dimension: ...",
  // as AWS's not-found messages name a target.
  std::string named() const {
    return "service namespace: " + ns + ", resource ID: " + resource +
           ", scalable dimension: " + dim;
  }
  std::string key() const;  // the store key of the target (target_key)
};
TargetId target_id(JsonParams& p) {
  TargetId id{p.required("ServiceNamespace"), p.required("ResourceId"),
              p.required("ScalableDimension")};
  check_enums(p, id.ns, id.dim);
  return id;
}

ApiError object_not_found(std::string message) {
  return ApiError::make(400, "ObjectNotFoundException", std::move(message));
}

ApiError store_failure(const SysError& e) {
  return ApiError::make(500, "InternalServiceException",
                        "The service cannot complete the request: " + e.message);
}

std::string target_key(std::string_view ns, std::string_view dim, std::string_view resource) {
  std::string k(ns);
  k += kSep;
  k += dim;
  k += kSep;
  k += resource;
  return k;
}

std::string TargetId::key() const {
  return target_key(ns, dim, resource);
}

std::string str(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

int64_t i64(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v && v->is_number() ? v->to_number<int64_t>() : 0;
}

bool flag(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v && v->is_bool() && v->get_bool();
}

const json::object& member_object(const json::object& o, std::string_view key) {
  static const json::object kEmpty;
  auto* v = o.if_contains(key);
  return v && v->is_object() ? v->get_object() : kEmpty;
}

std::optional<json::object> parse_object(std::string_view text) {
  json::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.get_object());
}

// A stored record as the API shows it: epoch milliseconds become the
// seconds json-1.1 timestamps are.
json::object shown(json::object o) {
  for (auto key : {"CreationTime", "StartTime", "EndTime"})
    if (auto* v = o.if_contains(key); v && v->is_number())
      *v = static_cast<double>(v->to_number<int64_t>()) / 1000.0;
  return o;
}

// function:NAME:QUALIFIER → (NAME, QUALIFIER).
struct LambdaResource {
  std::string function, qualifier;
};
std::optional<LambdaResource> parse_lambda_resource(std::string_view id) {
  constexpr std::string_view kPrefix = "function:";
  if (!id.starts_with(kPrefix)) return std::nullopt;
  id.remove_prefix(kPrefix.size());
  auto colon = id.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == id.size() ||
      id.substr(0, colon).find(':') != std::string_view::npos)
    return std::nullopt;
  return LambdaResource{std::string(id.substr(0, colon)), std::string(id.substr(colon + 1))};
}

// The scalable targets Nimbus serves: Lambda provisioned concurrency of a
// function version or alias.
Result<LambdaResource, ApiError> lambda_target(const std::string& ns, const std::string& dim,
                                               const std::string& resource) {
  if (ns != kLambdaNamespace)
    return fail(
        ApiError::validation("Nimbus scales only Lambda provisioned concurrency "
                             "(ServiceNamespace lambda); '" +
                             ns + "' is not supported"));
  if (dim != kLambdaDimension)
    return fail(
        ApiError::validation("Unsupported service namespace, resource type or scalable dimension"));
  auto r = parse_lambda_resource(resource);
  if (!r)
    return fail(ApiError::validation("Unsupported resource ID '" + resource +
                                     "': expected function:NAME:QUALIFIER (a published version "
                                     "or an alias)"));
  return *r;
}

// What every Describe* request has: the namespace (required), an optional
// dimension filter, MaxResults (1–50) and NextToken (opaque: the last key of
// the previous page). Read after the operation's own members, so that one
// error check covers them all.
struct Listing {
  std::string ns;
  std::optional<std::string> dim;
  size_t limit = kMaxResults;
  std::string after;  // the previous page's last key; empty: from the start
};
Result<Listing, ApiError> listing(JsonParams& p) {
  Listing l;
  l.ns = p.required("ServiceNamespace");
  l.dim = p.str("ScalableDimension");
  auto token = p.str("NextToken");
  auto n = p.int64("MaxResults").value_or(kMaxResults);
  check_enums(p, l.ns, l.dim);
  if (p.error()) return fail(*p.error());
  if (n < 1 || n > kMaxResults)
    return fail(p.constraint("Value '" + std::to_string(n) +
                             "' at 'maxResults' failed to satisfy constraint: Member must have "
                             "value between 1 and " +
                             std::to_string(kMaxResults)));
  l.limit = static_cast<size_t>(n);
  if (token && !base64_decode(*token, l.after))
    return fail(ApiError::make(400, "InvalidNextTokenException", "Invalid NextToken"));
  return l;
}

// One page of a Describe* answer.
class Page {
 public:
  explicit Page(size_t limit) : limit_(limit) {}
  // Adds the item at `key`; false once the page is full (there are more).
  bool add(const std::string& key, json::object item) {
    if (items_.size() == limit_) {
      more_ = true;
      return false;
    }
    items_.push_back(std::move(item));
    last_ = key;
    return true;
  }
  bool full() const { return more_; }
  json::object answer(std::string_view member) {
    json::object out{{member, std::move(items_)}};
    if (more_) out["NextToken"] = base64_encode(last_);
    return out;
  }

 private:
  size_t limit_;
  json::array items_;
  std::string last_;
  bool more_ = false;
};

std::string alarm_name(const std::string& resource, const char* kind) {
  return "TargetTracking-" + resource + "-" + kind + "-" + new_uuid();
}

// TargetTrackingScalingPolicyConfiguration → the decision's parameters.
TrackingPolicy tracking_policy(const json::object& policy) {
  const auto& c = member_object(policy, "TargetTrackingScalingPolicyConfiguration");
  TrackingPolicy t;
  if (auto* v = c.if_contains("TargetValue"); v && v->is_number())
    t.target = v->to_number<double>();
  t.scale_out_cooldown = std::chrono::seconds(i64(c, "ScaleOutCooldown"));
  t.scale_in_cooldown = std::chrono::seconds(i64(c, "ScaleInCooldown"));
  t.disable_scale_in = flag(c, "DisableScaleIn");
  return t;
}

}  // namespace

AutoscalingService::AutoscalingService(store::Store& store, Clock& clock,
                                       ProvisionedConcurrencyHooks hooks,
                                       AutoscalingOptions options)
    : store_(store), clock_(clock), hooks_(std::move(hooks)), options_(std::move(options)) {
  options_.samples_per_period = std::max(1, options_.samples_per_period);
  if (options_.period <= Duration::zero()) options_.period = std::chrono::seconds(60);
}

AutoscalingService::~AutoscalingService() {
  alive_.reset();
  timer_.cancel();
}

Status AutoscalingService::start() {
  {
    std::lock_guard lk(mu_);
    targets_.clear();
    for (auto& [key, value] : store_.scan(kTargetKeys))
      if (auto o = parse_object(value)) targets_[key.substr(kTargetKeys.size())].target = *o;
    for (auto& [key, value] : store_.scan(kPolicyKeys)) {
      auto o = parse_object(value);
      std::string rest = key.substr(kPolicyKeys.size());
      auto sep = rest.rfind(kSep);
      if (!o || sep == std::string::npos) continue;
      auto it = targets_.find(rest.substr(0, sep));
      if (it != targets_.end()) it->second.policies[rest.substr(sep + 1)] = *o;
    }
  }
  arm();
  return {};
}

void AutoscalingService::reset() {
  std::lock_guard lk(mu_);
  if (auto s = store_.delete_prefix(kRootPrefix); !s)
    spdlog::error("autoscaling: reset: {}", s.error().message);
  targets_.clear();
}

// ---- dispatch ----

const std::map<std::string_view, AutoscalingService::Op>& AutoscalingService::ops() {
  static const std::map<std::string_view, Op> table = {
      {"RegisterScalableTarget", &AutoscalingService::register_scalable_target},
      {"DescribeScalableTargets", &AutoscalingService::describe_scalable_targets},
      {"DeregisterScalableTarget", &AutoscalingService::deregister_scalable_target},
      {"PutScalingPolicy", &AutoscalingService::put_scaling_policy},
      {"DescribeScalingPolicies", &AutoscalingService::describe_scaling_policies},
      {"DeleteScalingPolicy", &AutoscalingService::delete_scaling_policy},
      {"DescribeScalingActivities", &AutoscalingService::describe_scaling_activities},
  };
  return table;
}

void AutoscalingService::handle(aws::Call call) {
  OpResult r = [&]() -> OpResult {
    try {
      return dispatch(call);
    } catch (const std::exception& e) {  // a broken invariant fails this request only
      spdlog::error("autoscaling: request failed: {}", e.what());
      return fail(ApiError::make(500, "InternalServiceException", e.what()));
    }
  }();
  if (!r) return reply_error(call, r.error());
  call.reply(aws::json_answer(protocol(), r.value(), call.request_id));
}

AutoscalingService::OpResult AutoscalingService::dispatch(const aws::Call& call) {
  std::string target = call.http.headers.get_or("X-Amz-Target");
  std::string_view op = target;
  auto it = ops().end();
  if (op.starts_with(kTargetPrefix)) it = ops().find(op.substr(kTargetPrefix.size()));
  if (it == ops().end()) return fail(ApiError::unknown_operation("Unknown operation " + target));
  auto body = aws::parse_json_body(call.http.body);
  if (!body) return fail(body.error());
  JsonParams p(body.value());
  return (this->*(it->second))(call, p);
}

// ---- scalable targets ----

AutoscalingService::OpResult AutoscalingService::register_scalable_target(const aws::Call& call,
                                                                          JsonParams& p) {
  auto id = target_id(p);
  const auto& [ns, resource, dim] = id;
  auto min = p.int64("MinCapacity");
  auto max = p.int64("MaxCapacity");
  auto role = p.str("RoleARN");
  const auto* suspended = p.object("SuspendedState");
  if (p.error()) return fail(*p.error());
  auto fn = lambda_target(ns, dim, resource);
  if (!fn) return fail(fn.error());
  for (auto [name, v] : {std::pair{"MinCapacity", min}, std::pair{"MaxCapacity", max}})
    if (v && (*v < 0 || *v > INT32_MAX))
      return fail(ApiError::validation(std::string(name) + " must be between 0 and " +
                                       std::to_string(INT32_MAX)));
  // AWS checks that the resource exists and can scale: Lambda's own answer
  // (an unknown function or alias, $LATEST) becomes a ValidationException.
  auto current = hooks_.get(fn->function, fn->qualifier);
  if (!current) return fail(ApiError::validation(current.error().message));

  std::lock_guard lk(mu_);
  const std::string key = target_key(ns, dim, resource);
  auto existing = targets_.find(key);
  if (existing == targets_.end() && (!min || !max))
    return fail(ApiError::validation(
        "MinCapacity and MaxCapacity are required when registering a new scalable target"));
  Json rec = existing != targets_.end() ? existing->second.target : Json{};
  if (existing == targets_.end()) {
    rec = Json{{"ServiceNamespace", ns},
               {"ResourceId", resource},
               {"ScalableDimension", dim},
               {"RoleARN", "arn:aws:iam::" + call.account_id + ":" + std::string(kLambdaRole)},
               {"CreationTime", clock_.wall_ms()},
               {"SuspendedState", Json{{"DynamicScalingInSuspended", false},
                                       {"DynamicScalingOutSuspended", false},
                                       {"ScheduledScalingSuspended", false}}}};
  }
  if (min) rec["MinCapacity"] = *min;
  if (max) rec["MaxCapacity"] = *max;
  if (role) rec["RoleARN"] = *role;
  if (i64(rec, "MinCapacity") > i64(rec, "MaxCapacity"))
    return fail(ApiError::validation("Minimum capacity cannot be greater than maximum capacity"));
  if (suspended) {
    auto& s = rec["SuspendedState"].as_object();
    for (const auto& [k, v] : *suspended)
      if (s.contains(k) && v.is_bool()) s[k] = v;
  }
  if (auto s = store_.put(std::string(kTargetKeys) + key, json::serialize(rec)); !s)
    return fail(store_failure(s.error()));
  Tracked& t = targets_[key];
  t.target = rec;

  // The capacity moves into the new range at once.
  int lo = static_cast<int>(i64(rec, "MinCapacity")),
      hi = static_cast<int>(i64(rec, "MaxCapacity"));
  if (*current < lo)
    scale(t, lo, "minimum capacity was set to " + std::to_string(lo));
  else if (*current > hi)
    scale(t, hi, "maximum capacity was set to " + std::to_string(hi));
  return Json{};
}

AutoscalingService::OpResult AutoscalingService::describe_scalable_targets(const aws::Call&,
                                                                           JsonParams& p) {
  auto ids = p.strings("ResourceIds");
  auto l = listing(p);
  if (!l) return fail(l.error());
  std::lock_guard lk(mu_);
  Page page(l->limit);
  for (auto it = targets_.upper_bound(l->after); it != targets_.end(); ++it) {
    const auto& rec = it->second.target;
    if (str(rec, "ServiceNamespace") != l->ns) continue;
    if (l->dim && str(rec, "ScalableDimension") != *l->dim) continue;
    if (ids && !ids->empty() &&
        std::find(ids->begin(), ids->end(), str(rec, "ResourceId")) == ids->end())
      continue;
    if (!page.add(it->first, shown(rec))) break;
  }
  return page.answer("ScalableTargets");
}

AutoscalingService::OpResult AutoscalingService::deregister_scalable_target(const aws::Call&,
                                                                            JsonParams& p) {
  auto id = target_id(p);
  if (p.error()) return fail(*p.error());
  std::lock_guard lk(mu_);
  const std::string key = id.key();
  auto it = targets_.find(key);
  if (it == targets_.end())
    return fail(object_not_found("No scalable target found for " + id.named()));
  // Its policies go with it; the capacity stays where it is.
  store::WriteBatch batch;
  batch.del(std::string(kTargetKeys) + key);
  for (const auto& [name, policy] : it->second.policies)
    batch.del(std::string(kPolicyKeys) + key + kSep + name);
  if (auto s = store_.write(batch); !s) return fail(store_failure(s.error()));
  targets_.erase(it);
  return Json{};
}

// ---- scaling policies ----

AutoscalingService::OpResult AutoscalingService::put_scaling_policy(const aws::Call& call,
                                                                    JsonParams& p) {
  auto name = p.required("PolicyName");
  auto id = target_id(p);
  const auto& [ns, resource, dim] = id;
  auto type = p.str("PolicyType").value_or("StepScaling");  // the model's default
  const auto* tt = p.object("TargetTrackingScalingPolicyConfiguration");
  p.object("StepScalingPolicyConfiguration");
  if (p.error()) return fail(*p.error());
  if (name.size() > 256)
    return fail(p.constraint("Value '" + name +
                             "' at 'policyName' failed to satisfy constraint: Member must have "
                             "length less than or equal to 256"));
  if (type != "TargetTrackingScaling" && type != "StepScaling")
    return fail(p.constraint("Value '" + type +
                             "' at 'policyType' failed to satisfy constraint: Member must "
                             "satisfy enum value set: [StepScaling, TargetTrackingScaling]"));
  if (auto fn = lambda_target(ns, dim, resource); !fn) return fail(fn.error());
  if (type == "StepScaling")
    return fail(ApiError::validation(
        "Nimbus does not support StepScaling policies (they need CloudWatch alarms); use "
        "TargetTrackingScaling with LambdaProvisionedConcurrencyUtilization"));
  if (!tt)
    return fail(ApiError::validation(
        "TargetTrackingScalingPolicyConfiguration is required for a TargetTrackingScaling policy"));

  // The configuration, checked as AWS does for Lambda's predefined metric.
  JsonParams c(*tt);
  auto target_value = c.number("TargetValue");
  const auto* predefined = c.object("PredefinedMetricSpecification");
  const auto* customized = c.object("CustomizedMetricSpecification");
  auto out_cooldown = c.int64("ScaleOutCooldown");
  auto in_cooldown = c.int64("ScaleInCooldown");
  auto disable_in = c.boolean("DisableScaleIn");
  if (c.error()) return fail(*c.error());
  if (!target_value)
    return fail(c.constraint(
        "Value null at 'targetTrackingScalingPolicyConfiguration.targetValue' failed to satisfy "
        "constraint: Member must not be null"));
  if (customized)
    return fail(ApiError::validation(
        "Nimbus does not support CustomizedMetricSpecification (there is no CloudWatch); use "
        "PredefinedMetricSpecification LambdaProvisionedConcurrencyUtilization"));
  if (!predefined)
    return fail(ApiError::validation(
        "Either PredefinedMetricSpecification or CustomizedMetricSpecification must be specified"));
  std::string metric = str(*predefined, "PredefinedMetricType");
  if (metric != kLambdaMetric)
    return fail(ApiError::validation("Unsupported metric type '" + metric + "' for " +
                                     std::string(kLambdaDimension) + "; use " +
                                     std::string(kLambdaMetric)));
  // Application Auto Scaling accepts any value the metric can reach; a
  // utilisation target must be positive. (CDK's 0.1–0.9 is its own check.)
  if (!(*target_value > 0))
    return fail(ApiError::validation("TargetValue for " + std::string(kLambdaMetric) +
                                     " must be greater than 0"));
  for (auto [field, v] :
       {std::pair{"ScaleOutCooldown", out_cooldown}, std::pair{"ScaleInCooldown", in_cooldown}})
    if (v && *v < 0) return fail(ApiError::validation(std::string(field) + " must be >= 0"));

  std::lock_guard lk(mu_);
  const std::string key = target_key(ns, dim, resource);
  auto it = targets_.find(key);
  if (it == targets_.end())
    return fail(object_not_found("No scalable target registered for " + id.named()));
  Tracked& t = it->second;
  // The configuration as stored: Lambda's default cooldowns are 0.
  Json config{{"TargetValue", *target_value},
              {"PredefinedMetricSpecification", Json{{"PredefinedMetricType", metric}}},
              {"ScaleOutCooldown", out_cooldown.value_or(0)},
              {"ScaleInCooldown", in_cooldown.value_or(0)},
              {"DisableScaleIn", disable_in.value_or(false)}};
  if (auto* label = predefined->if_contains("ResourceLabel"))
    config["PredefinedMetricSpecification"].as_object()["ResourceLabel"] = *label;
  Json rec;
  if (auto old = t.policies.find(name); old != t.policies.end()) {
    rec = old->second;  // an update keeps its ARN, alarms and creation time
  } else {
    json::array alarms;
    for (const char* kind : {"AlarmHigh", "AlarmLow"}) {
      std::string alarm = alarm_name(resource, kind);
      alarms.push_back(Json{{"AlarmName", alarm},
                            {"AlarmARN", "arn:aws:cloudwatch:" + call.region + ":" +
                                             call.account_id + ":alarm:" + alarm}});
    }
    rec = Json{{"PolicyARN", "arn:aws:autoscaling:" + call.region + ":" + call.account_id +
                                 ":scalingPolicy:" + new_uuid() + ":resource/" + ns + "/" +
                                 resource + ":policyName/" + name},
               {"PolicyName", name},
               {"ServiceNamespace", ns},
               {"ResourceId", resource},
               {"ScalableDimension", dim},
               {"PolicyType", type},
               {"Alarms", std::move(alarms)},
               {"CreationTime", clock_.wall_ms()}};
  }
  rec["TargetTrackingScalingPolicyConfiguration"] = std::move(config);
  if (auto s = store_.put(std::string(kPolicyKeys) + key + kSep + name, json::serialize(rec)); !s)
    return fail(store_failure(s.error()));
  t.policies[name] = rec;
  return Json{{"PolicyARN", rec["PolicyARN"]}, {"Alarms", rec["Alarms"]}};
}

AutoscalingService::OpResult AutoscalingService::describe_scaling_policies(const aws::Call&,
                                                                           JsonParams& p) {
  auto names = p.strings("PolicyNames");
  auto resource = p.str("ResourceId");
  auto l = listing(p);
  if (!l) return fail(l.error());
  std::lock_guard lk(mu_);
  Page page(l->limit);
  for (const auto& [key, t] : targets_) {
    if (str(t.target, "ServiceNamespace") != l->ns) continue;
    if (l->dim && str(t.target, "ScalableDimension") != *l->dim) continue;
    if (resource && str(t.target, "ResourceId") != *resource) continue;
    for (const auto& [name, policy] : t.policies) {
      std::string pos = key + kSep + name;
      if (pos <= l->after) continue;
      if (names && !names->empty() && std::find(names->begin(), names->end(), name) == names->end())
        continue;
      if (!page.add(pos, shown(policy))) break;
    }
    if (page.full()) break;
  }
  return page.answer("ScalingPolicies");
}

AutoscalingService::OpResult AutoscalingService::delete_scaling_policy(const aws::Call&,
                                                                       JsonParams& p) {
  auto name = p.required("PolicyName");
  auto id = target_id(p);
  if (p.error()) return fail(*p.error());
  std::lock_guard lk(mu_);
  const std::string key = id.key();
  auto it = targets_.find(key);
  if (it == targets_.end() || !it->second.policies.contains(name))
    return fail(
        object_not_found("No scaling policy found for " + id.named() + ", policy name: " + name));
  if (auto s = store_.del(std::string(kPolicyKeys) + key + kSep + name); !s)
    return fail(store_failure(s.error()));
  it->second.policies.erase(name);
  return Json{};
}

// ---- scaling activities ----

bool AutoscalingService::scale(Tracked& t, int capacity, const std::string& cause) {
  auto r = parse_lambda_resource(str(t.target, "ResourceId"));
  if (!r) return false;
  // The activity is recorded InProgress before Lambda is asked and completed
  // after: whoever sees the new count also finds its activity.
  const int64_t start = clock_.wall_ms();
  Json a{{"ActivityId", new_uuid()},
         {"ServiceNamespace", t.target.at("ServiceNamespace")},
         {"ResourceId", t.target.at("ResourceId")},
         {"ScalableDimension", t.target.at("ScalableDimension")},
         {"Description", "Setting desired concurrency to " + std::to_string(capacity) + "."},
         {"Cause", cause},
         {"StartTime", start},
         {"StatusCode", "InProgress"}};
  char pos[40];
  std::snprintf(pos, sizeof pos, "%020lld%06u", static_cast<long long>(start),
                static_cast<unsigned>(activity_seq_++ % 1'000'000));
  const std::string key =
      std::string(kActivityKeys) + str(t.target, "ServiceNamespace") + kSep + pos;
  auto write = [&] {
    if (auto s = store_.put(key, json::serialize(a)); !s)
      spdlog::error("autoscaling: cannot record an activity: {}", s.error().message);
  };
  write();
  auto put = hooks_.put(r->function, r->qualifier, capacity);
  a["EndTime"] = clock_.wall_ms();
  a["StatusCode"] = put ? "Successful" : "Failed";
  a["StatusMessage"] = put ? std::string("Successfully set provisioned concurrency.")
                           : "Failed to set provisioned concurrency: " + put.error().message;
  write();
  if (!put) {
    spdlog::warn("autoscaling: {} → {} failed: {}", str(t.target, "ResourceId"), capacity,
                 put.error().message);
    return false;
  }
  spdlog::info("autoscaling: {} provisioned concurrency → {} ({})", str(t.target, "ResourceId"),
               capacity, cause);
  // The alarms wait for datapoints of the new capacity.
  t.datapoints.clear();
  t.sample_sum = 0;
  t.samples = 0;
  return true;
}

AutoscalingService::OpResult AutoscalingService::describe_scaling_activities(const aws::Call&,
                                                                             JsonParams& p) {
  auto resource = p.str("ResourceId");
  auto l = listing(p);
  if (!l) return fail(l.error());
  std::string prefix = std::string(kActivityKeys) + l->ns + kSep;
  if (!l->after.empty() && !l->after.starts_with(prefix))
    return fail(ApiError::make(400, "InvalidNextTokenException", "Invalid NextToken"));
  // Newest first, as AWS lists them.
  Page page(l->limit);
  std::string from = l->after;
  while (!page.full()) {
    auto chunk = store_.scan_reverse(prefix, from, 256);
    if (chunk.empty()) break;
    for (auto& [key, value] : chunk) {
      from = key;
      auto a = parse_object(value);
      if (!a) continue;
      if (resource && str(*a, "ResourceId") != *resource) continue;
      if (l->dim && str(*a, "ScalableDimension") != *l->dim) continue;
      if (!page.add(key, shown(std::move(*a)))) break;
    }
  }
  return page.answer("ScalingActivities");
}

// ---- the tracking loop ----

void AutoscalingService::arm() {
  std::weak_ptr<bool> alive = alive_;
  timer_ = clock_.call_after(options_.period / options_.samples_per_period, [this, alive] {
    if (alive.expired()) return;
    auto work = [this, alive] {
      if (alive.expired()) return;
      sample();
      arm();
    };
    if (options_.run_blocking)
      options_.run_blocking(std::move(work));
    else
      work();
  });
}

void AutoscalingService::sample() {
  std::lock_guard lk(mu_);
  bool close = ++ticks_ >= options_.samples_per_period;
  if (close) ticks_ = 0;
  const TimePoint now = clock_.now();
  for (auto& [key, t] : targets_) {
    if (t.policies.empty()) continue;
    auto r = parse_lambda_resource(str(t.target, "ResourceId"));
    if (!r) continue;
    // Lambda's current count: a change made through Lambda's API is tracked too.
    auto current = hooks_.get(r->function, r->qualifier);
    if (!current || *current <= 0) {  // no configuration: no utilisation metric
      t.sample_sum = 0;
      t.samples = 0;
      continue;
    }
    t.sample_sum += static_cast<double>(hooks_.in_flight(r->function, r->qualifier)) / *current;
    ++t.samples;
    if (!close) continue;
    t.datapoints.push_back(t.sample_sum / t.samples);
    t.sample_sum = 0;
    t.samples = 0;
    while (t.datapoints.size() > kScaleInDatapoints) t.datapoints.pop_front();

    const auto& suspended = member_object(t.target, "SuspendedState");
    TargetState state{*current,
                      static_cast<int>(i64(t.target, "MinCapacity")),
                      static_cast<int>(i64(t.target, "MaxCapacity")),
                      flag(suspended, "DynamicScalingOutSuspended"),
                      flag(suspended, "DynamicScalingInSuspended"),
                      t.last_out,
                      t.last_in};
    std::vector<Proposal> proposals;
    std::vector<const Json*> sources;
    for (const auto& [name, policy] : t.policies) {
      if (str(policy, "PolicyType") != "TargetTrackingScaling") continue;
      proposals.push_back(evaluate(tracking_policy(policy), t.datapoints, state, now));
      sources.push_back(&policy);
    }
    Proposal decision = combine(proposals);
    if (decision.kind == Proposal::Kind::kNone) continue;
    // The policy whose alarm caused it (the first that asked for this capacity).
    size_t i = 0;
    while (i + 1 < proposals.size() &&
           (proposals[i].kind != decision.kind || proposals[i].capacity != decision.capacity))
      ++i;
    const Json& policy = *sources[i];
    const auto& alarms = policy.at("Alarms").as_array();
    bool out = decision.kind == Proposal::Kind::kOut;
    std::string alarm = alarms.size() == 2 ? str(alarms[out ? 0 : 1].as_object(), "AlarmName")
                                           : std::string(out ? "AlarmHigh" : "AlarmLow");
    if (scale(t, decision.capacity,
              "monitor alarm " + alarm + " in state ALARM triggered policy " +
                  str(policy, "PolicyName")))
      (out ? t.last_out : t.last_in) = now;
  }
}

}  // namespace nimbus::services::autoscaling
