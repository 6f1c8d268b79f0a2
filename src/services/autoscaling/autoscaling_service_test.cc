#include "services/autoscaling/autoscaling_service.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "services/iam/memory_store_for_tests.h"

namespace nimbus::services::autoscaling {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr const char* kResource = "function:orders:live";

struct Answer {
  int status = 0;
  json::object body;
  std::string error() const {
    auto* t = body.if_contains("__type");
    return t ? std::string(t->get_string()) : "";
  }
  std::string message() const {
    auto* m = body.if_contains("message");
    return m ? std::string(m->get_string()) : "";
  }
};

// What the service sees of Lambda: one function "orders" with alias "live".
struct FakeLambda {
  std::map<std::string, int> provisioned;
  int in_flight = 0;
  bool refuse_put = false;
  std::vector<int> puts;

  ProvisionedConcurrencyHooks hooks() {
    ProvisionedConcurrencyHooks h;
    h.get = [this](const std::string& fn, const std::string& q) -> Result<int, aws::ApiError> {
      if (fn != "orders")
        return fail(aws::ApiError::resource_not_found("Function not found: " + fn));
      if (q != "live" && q != "1")
        return fail(aws::ApiError::resource_not_found("Cannot find alias arn: " + q));
      return provisioned[q];
    };
    h.put = [this](const std::string&, const std::string& q, int n) -> Result<void, aws::ApiError> {
      if (refuse_put)
        return fail(aws::ApiError::invalid_parameter(
            "Specified ConcurrentExecutions for function decreases account's "
            "UnreservedConcurrentExecution below its minimum value of [100]."));
      provisioned[q] = n;
      puts.push_back(n);
      return {};
    };
    h.in_flight = [this](const std::string&, const std::string&) { return in_flight; };
    return h;
  }
};

class AutoscalingServiceTest : public ::testing::Test {
 protected:
  void SetUp() override { restart(); }

  // A new service over the same store, as after a restart of Nimbus.
  void restart() {
    svc_.reset();
    svc_ = std::make_unique<AutoscalingService>(store_, clock_, lambda_.hooks(),
                                                AutoscalingOptions{.period = 60s});
    ASSERT_TRUE(svc_->start().ok());
  }

  Answer call(std::string_view op, json::object body) {
    aws::Call c;
    c.http.method = "POST";
    c.http.headers.set("X-Amz-Target", "AnyScaleFrontendService." + std::string(op));
    c.http.body = json::serialize(body);
    c.request_id = "req-1";
    Answer a;
    c.reply = [&](http::Response r) {
      a.status = r.status;
      a.body = json::parse(r.body).as_object();
    };
    svc_->handle(std::move(c));
    return a;
  }

  Answer register_target(int min = 5, int max = 100, const char* resource = kResource) {
    return call("RegisterScalableTarget",
                {{"ServiceNamespace", "lambda"},
                 {"ResourceId", resource},
                 {"ScalableDimension", "lambda:function:ProvisionedConcurrency"},
                 {"MinCapacity", min},
                 {"MaxCapacity", max}});
  }

  Answer put_policy(json::object config = {}) {
    json::object c{{"TargetValue", 0.7},
                   {"PredefinedMetricSpecification",
                    {{"PredefinedMetricType", "LambdaProvisionedConcurrencyUtilization"}}}};
    for (auto& [k, v] : config) c[k] = v;
    return call("PutScalingPolicy",
                {{"PolicyName", "utilization"},
                 {"ServiceNamespace", "lambda"},
                 {"ResourceId", kResource},
                 {"ScalableDimension", "lambda:function:ProvisionedConcurrency"},
                 {"PolicyType", "TargetTrackingScaling"},
                 {"TargetTrackingScalingPolicyConfiguration", c}});
  }

  json::array activities() {
    return call("DescribeScalingActivities", {{"ServiceNamespace", "lambda"}})
        .body.at("ScalingActivities")
        .as_array();
  }

  int capacity() { return lambda_.provisioned["live"]; }

  testing::MemoryStore store_;
  ManualClock clock_;
  FakeLambda lambda_;
  std::unique_ptr<AutoscalingService> svc_;
};

// AWS: RegisterScalableTarget answers {} and raises the provisioned
// concurrency to MinCapacity (a scaling activity records it);
// DescribeScalableTargets shows the target with the service-linked role and
// epoch-seconds CreationTime.
TEST_F(AutoscalingServiceTest, RegisterRaisesCapacityToMin) {
  auto a = register_target();
  ASSERT_EQ(a.status, 200) << a.message();
  EXPECT_TRUE(a.body.empty());
  EXPECT_EQ(capacity(), 5);

  auto d = call("DescribeScalableTargets", {{"ServiceNamespace", "lambda"}});
  ASSERT_EQ(d.status, 200);
  auto& targets = d.body.at("ScalableTargets").as_array();
  ASSERT_EQ(targets.size(), 1u);
  auto& t = targets[0].as_object();
  EXPECT_EQ(t.at("ResourceId"), kResource);
  EXPECT_EQ(t.at("MinCapacity"), 5);
  EXPECT_EQ(t.at("MaxCapacity"), 100);
  EXPECT_TRUE(t.at("RoleARN").as_string().ends_with(
      "AWSServiceRoleForApplicationAutoScaling_LambdaConcurrency"));
  EXPECT_DOUBLE_EQ(t.at("CreationTime").as_double(), clock_.wall_ms() / 1000.0);

  auto acts = activities();
  ASSERT_EQ(acts.size(), 1u);
  EXPECT_EQ(acts[0].at("Description"), "Setting desired concurrency to 5.");
  EXPECT_EQ(acts[0].at("StatusCode"), "Successful");

  // An update of an existing target needs neither bound; lowering the
  // maximum below the capacity lowers the capacity.
  lambda_.provisioned["live"] = 40;
  a = call("RegisterScalableTarget",
           {{"ServiceNamespace", "lambda"},
            {"ResourceId", kResource},
            {"ScalableDimension", "lambda:function:ProvisionedConcurrency"},
            {"MaxCapacity", 30}});
  ASSERT_EQ(a.status, 200) << a.message();
  EXPECT_EQ(capacity(), 30);
}

// AWS: invalid or unsupported targets are ValidationExceptions; a new
// target needs MinCapacity and MaxCapacity, with Min <= Max.
TEST_F(AutoscalingServiceTest, RegisterValidation) {
  auto req = [&](std::string ns, std::string resource, std::string dim) {
    return call("RegisterScalableTarget", {{"ServiceNamespace", ns},
                                           {"ResourceId", resource},
                                           {"ScalableDimension", dim},
                                           {"MinCapacity", 1},
                                           {"MaxCapacity", 2}});
  };
  const std::string dim = "lambda:function:ProvisionedConcurrency";
  auto a = req("nope", kResource, dim);
  EXPECT_EQ(a.error(), "ValidationException");
  EXPECT_NE(a.message().find("enum value set"), std::string::npos);
  EXPECT_EQ(req("dynamodb", "table/t", "dynamodb:table:ReadCapacityUnits").error(),
            "ValidationException");
  EXPECT_EQ(req("lambda", kResource, "dynamodb:table:ReadCapacityUnits").error(),
            "ValidationException");
  EXPECT_EQ(req("lambda", "function:orders", dim).error(), "ValidationException");
  a = req("lambda", "function:missing:live", dim);
  EXPECT_EQ(a.error(), "ValidationException");
  EXPECT_NE(a.message().find("Function not found"), std::string::npos);

  a = call("RegisterScalableTarget",
           {{"ServiceNamespace", "lambda"}, {"ResourceId", kResource}, {"ScalableDimension", dim}});
  EXPECT_EQ(a.error(), "ValidationException");
  EXPECT_EQ(register_target(10, 5).error(), "ValidationException");
  EXPECT_EQ(call("RegisterScalableTarget", {{"ResourceId", kResource}}).error(),
            "ValidationException");
  EXPECT_TRUE(lambda_.puts.empty());
}

// AWS: PutScalingPolicy on an unregistered target is ObjectNotFoundException;
// a TargetTrackingScaling policy answers its PolicyARN and two alarms.
// Nimbus refuses StepScaling and custom metrics with a ValidationException.
TEST_F(AutoscalingServiceTest, PutScalingPolicyChecks) {
  EXPECT_EQ(put_policy().error(), "ObjectNotFoundException");
  ASSERT_EQ(register_target().status, 200);
  auto a = put_policy();
  ASSERT_EQ(a.status, 200) << a.message();
  EXPECT_NE(a.body.at("PolicyARN").as_string().find(":scalingPolicy:"), json::string::npos);
  ASSERT_EQ(a.body.at("Alarms").as_array().size(), 2u);
  // Put again: an update keeps the ARN.
  EXPECT_EQ(put_policy({{"DisableScaleIn", true}}).body.at("PolicyARN"), a.body.at("PolicyARN"));

  auto step =
      call("PutScalingPolicy", {{"PolicyName", "step"},
                                {"ServiceNamespace", "lambda"},
                                {"ResourceId", kResource},
                                {"ScalableDimension", "lambda:function:ProvisionedConcurrency"}});
  EXPECT_EQ(step.error(), "ValidationException");
  EXPECT_NE(step.message().find("StepScaling"), std::string::npos);
  EXPECT_EQ(put_policy({{"TargetValue", 0}}).error(), "ValidationException");
  EXPECT_EQ(put_policy({{"PredefinedMetricSpecification",
                         {{"PredefinedMetricType", "DynamoDBReadCapacityUtilization"}}}})
                .error(),
            "ValidationException");
  EXPECT_EQ(put_policy({{"CustomizedMetricSpecification", json::object{}}}).error(),
            "ValidationException");
  EXPECT_EQ(put_policy({{"ScaleInCooldown", "x"}}).error(), "SerializationException");

  auto d = call("DescribeScalingPolicies", {{"ServiceNamespace", "lambda"}});
  auto& policies = d.body.at("ScalingPolicies").as_array();
  ASSERT_EQ(policies.size(), 1u);
  auto& cfg = policies[0].at("TargetTrackingScalingPolicyConfiguration").as_object();
  EXPECT_EQ(cfg.at("TargetValue").as_double(), 0.7);
  EXPECT_EQ(cfg.at("DisableScaleIn"), true);
  EXPECT_EQ(cfg.at("ScaleInCooldown"), 0);  // Lambda's default cooldowns are 0

  EXPECT_EQ(
      call("DeleteScalingPolicy", {{"PolicyName", "utilization"},
                                   {"ServiceNamespace", "lambda"},
                                   {"ResourceId", kResource},
                                   {"ScalableDimension", "lambda:function:ProvisionedConcurrency"}})
          .status,
      200);
  EXPECT_EQ(
      call("DeleteScalingPolicy", {{"PolicyName", "utilization"},
                                   {"ServiceNamespace", "lambda"},
                                   {"ResourceId", kResource},
                                   {"ScalableDimension", "lambda:function:ProvisionedConcurrency"}})
          .error(),
      "ObjectNotFoundException");
}

// AWS (target tracking on LambdaProvisionedConcurrencyUtilization, 0.7):
// three 1-minute datapoints above the target scale out proportionally;
// fifteen below 90 % of it scale in, not below MinCapacity.
TEST_F(AutoscalingServiceTest, FollowsUtilisationUpAndDown) {
  ASSERT_EQ(register_target().status, 200);
  ASSERT_EQ(put_policy().status, 200);
  lambda_.in_flight = 5;  // utilisation 1.0 on 5
  clock_.advance(2min);
  EXPECT_EQ(capacity(), 5);
  clock_.advance(1min);
  EXPECT_EQ(capacity(), 8);  // ceil(5 × 1.0 / 0.7)

  lambda_.in_flight = 8;  // still 1.0: the alarm needs three new datapoints
  clock_.advance(2min);
  EXPECT_EQ(capacity(), 8);
  clock_.advance(1min);
  EXPECT_EQ(capacity(), 12);

  lambda_.in_flight = 8;  // 0.67: between 90 % of the target and the target, nothing happens
  clock_.advance(20min);
  EXPECT_EQ(capacity(), 12);

  lambda_.in_flight = 1;  // 1/12 < 0.63
  clock_.advance(14min);
  EXPECT_EQ(capacity(), 12);
  clock_.advance(1min);
  EXPECT_EQ(capacity(), 5);  // ceil(12 × 0.083 / 0.7) = 2, clamped to Min

  auto acts = activities();
  ASSERT_EQ(acts.size(), 4u);
  EXPECT_EQ(acts[0].at("Description"), "Setting desired concurrency to 5.");  // newest first
  EXPECT_NE(acts[0].at("Cause").as_string().find("AlarmLow"), json::string::npos);
  EXPECT_NE(acts[1].at("Cause").as_string().find("AlarmHigh"), json::string::npos);
  EXPECT_NE(acts[1].at("Cause").as_string().find("triggered policy utilization"),
            json::string::npos);
}

// AWS: ScaleOutCooldown delays the next scale-out; DisableScaleIn keeps
// the capacity however low the utilisation.
TEST_F(AutoscalingServiceTest, CooldownAndDisableScaleIn) {
  ASSERT_EQ(register_target().status, 200);
  ASSERT_EQ(put_policy({{"ScaleOutCooldown", 300}, {"DisableScaleIn", true}}).status, 200);
  lambda_.in_flight = 5;
  clock_.advance(3min);
  EXPECT_EQ(capacity(), 8);
  lambda_.in_flight = 8;
  clock_.advance(4min);  // three datapoints at 6 min, but the cooldown runs to 8 min
  EXPECT_EQ(capacity(), 8);
  clock_.advance(1min);
  EXPECT_EQ(capacity(), 12);

  lambda_.in_flight = 0;
  clock_.advance(60min);
  EXPECT_EQ(capacity(), 12);
}

// AWS: a failed scaling action is a Failed activity with Lambda's reason;
// the capacity stays.
TEST_F(AutoscalingServiceTest, FailedScalingIsRecorded) {
  ASSERT_EQ(register_target().status, 200);
  ASSERT_EQ(put_policy().status, 200);
  lambda_.refuse_put = true;
  lambda_.in_flight = 5;
  clock_.advance(3min);
  EXPECT_EQ(capacity(), 5);
  auto acts = activities();
  ASSERT_EQ(acts.size(), 2u);
  EXPECT_EQ(acts[0].at("StatusCode"), "Failed");
  EXPECT_NE(acts[0].at("StatusMessage").as_string().find("UnreservedConcurrentExecution"),
            json::string::npos);
}

// Targets and policies are in the store: after a restart they are listed
// and tracking goes on. Deregistering removes the target and its policies.
TEST_F(AutoscalingServiceTest, SurvivesRestartAndDeregisters) {
  ASSERT_EQ(register_target().status, 200);
  ASSERT_EQ(put_policy().status, 200);
  restart();
  EXPECT_EQ(call("DescribeScalableTargets", {{"ServiceNamespace", "lambda"}})
                .body.at("ScalableTargets")
                .as_array()
                .size(),
            1u);
  lambda_.in_flight = 5;
  clock_.advance(3min);
  EXPECT_EQ(capacity(), 8);

  json::object key{{"ServiceNamespace", "lambda"},
                   {"ResourceId", kResource},
                   {"ScalableDimension", "lambda:function:ProvisionedConcurrency"}};
  EXPECT_EQ(call("DeregisterScalableTarget", key).status, 200);
  EXPECT_EQ(call("DeregisterScalableTarget", key).error(), "ObjectNotFoundException");
  restart();
  EXPECT_TRUE(call("DescribeScalingPolicies", {{"ServiceNamespace", "lambda"}})
                  .body.at("ScalingPolicies")
                  .as_array()
                  .empty());
  // The capacity stays where it was.
  EXPECT_EQ(capacity(), 8);
}

// AWS: Describe* page with MaxResults and an opaque NextToken; a bad token is
// InvalidNextTokenException; other namespaces have nothing registered.
TEST_F(AutoscalingServiceTest, DescribePagination) {
  ASSERT_EQ(register_target(1, 10, "function:orders:1").status, 200);
  ASSERT_EQ(register_target(1, 10, "function:orders:live").status, 200);
  auto first = call("DescribeScalableTargets", {{"ServiceNamespace", "lambda"}, {"MaxResults", 1}});
  ASSERT_EQ(first.body.at("ScalableTargets").as_array().size(), 1u);
  auto token = first.body.at("NextToken");
  auto second = call("DescribeScalableTargets",
                     {{"ServiceNamespace", "lambda"}, {"MaxResults", 1}, {"NextToken", token}});
  ASSERT_EQ(second.body.at("ScalableTargets").as_array().size(), 1u);
  EXPECT_FALSE(second.body.contains("NextToken"));
  EXPECT_NE(first.body.at("ScalableTargets").as_array()[0].at("ResourceId"),
            second.body.at("ScalableTargets").as_array()[0].at("ResourceId"));
  EXPECT_EQ(call("DescribeScalableTargets", {{"ServiceNamespace", "lambda"}, {"NextToken", "%%"}})
                .error(),
            "InvalidNextTokenException");
  EXPECT_EQ(
      call("DescribeScalableTargets", {{"ServiceNamespace", "lambda"}, {"MaxResults", 0}}).error(),
      "ValidationException");
  EXPECT_TRUE(call("DescribeScalableTargets", {{"ServiceNamespace", "ecs"}})
                  .body.at("ScalableTargets")
                  .as_array()
                  .empty());
  auto acts = call("DescribeScalingActivities",
                   {{"ServiceNamespace", "lambda"}, {"ResourceId", "function:orders:1"}});
  ASSERT_EQ(acts.body.at("ScalingActivities").as_array().size(), 1u);
}

// Operations of the model Nimbus does not serve yet answer
// UnknownOperationException.
TEST_F(AutoscalingServiceTest, ScheduledActionsAreNotYetServed) {
  EXPECT_EQ(call("PutScheduledAction", {}).error(), "UnknownOperationException");
}

}  // namespace
}  // namespace nimbus::services::autoscaling
