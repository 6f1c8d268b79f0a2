// Application Auto Scaling (json-1.1, X-Amz-Target "AnyScaleFrontendService.<Op>")
// for Lambda provisioned concurrency: scalable targets
// (lambda / function:NAME:QUALIFIER / lambda:function:ProvisionedConcurrency),
// TargetTrackingScaling policies on LambdaProvisionedConcurrencyUtilization,
// and the scaling activities they cause.
//
// Targets and policies live in the Store (key layout below) and survive a
// restart; the metric's datapoints and the cooldown clocks are in memory and
// start again empty. The tracking loop runs on the injected Clock: every
// period / samples_per_period it samples each tracked target's utilisation
// (the qualifier's calls in flight / its provisioned concurrency), closes a
// datapoint (their mean) every period, and applies target_tracking.h's
// decisions through Lambda's PutProvisionedConcurrencyConfig path (the hooks).
#pragma once

#include <boost/json.hpp>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "aws/json_params.h"
#include "aws/service.h"
#include "base/clock.h"
#include "base/result.h"
#include "services/autoscaling/target_tracking.h"
#include "store/store.h"

namespace nimbus::services::autoscaling {

// Lambda's provisioned concurrency of one function qualifier, as the Lambda
// service exposes it (LambdaService::provisioned_concurrency, ...).
struct ProvisionedConcurrencyHooks {
  // The configuration's requested count (0: none), or Lambda's error when the
  // function or qualifier cannot carry one.
  std::function<Result<int, aws::ApiError>(const std::string& function,
                                           const std::string& qualifier)>
      get;
  // PutProvisionedConcurrencyConfig.
  std::function<Result<void, aws::ApiError>(const std::string& function,
                                            const std::string& qualifier, int count)>
      put;
  // The qualifier's calls in flight now.
  std::function<int(const std::string& function, const std::string& qualifier)> in_flight;
};

struct AutoscalingOptions {
  // One metric datapoint (CloudWatch's 1-minute period); `nimbus serve
  // --autoscaling-interval-ms` shortens it for tests.
  Duration period = std::chrono::seconds(60);
  int samples_per_period = 6;
  // Runs the loop's blocking work (synced writes); empty: inline.
  std::function<void(std::function<void()>)> run_blocking;
};

class AutoscalingService final : public aws::Service {
 public:
  AutoscalingService(store::Store& store, Clock& clock, ProvisionedConcurrencyHooks hooks,
                     AutoscalingOptions options = {});
  ~AutoscalingService() override;
  AutoscalingService(const AutoscalingService&) = delete;
  AutoscalingService& operator=(const AutoscalingService&) = delete;

  // Loads targets and policies and starts the tracking loop.
  Status start();

  std::string_view signing_name() const override { return "application-autoscaling"; }
  aws::Protocol protocol() const override { return aws::Protocol::kJson11; }
  void handle(aws::Call call) override;
  void reset() override;

  // Key layout (values: JSON, times in epoch milliseconds):
  //   autoscaling/target/<ns>\x01<dimension>\x01<resource>          ScalableTarget
  //   autoscaling/policy/<ns>\x01<dimension>\x01<resource>\x01<name> ScalingPolicy
  //   autoscaling/activity/<ns>\x01<20-digit ms><6-digit seq>        ScalingActivity
  static constexpr std::string_view kRootPrefix = "autoscaling/";

 private:
  using Json = boost::json::object;
  using OpResult = Result<Json, aws::ApiError>;
  using Op = OpResult (AutoscalingService::*)(const aws::Call&, aws::JsonParams&);

  // One registered target, its policies and the loop's state of it.
  struct Tracked {
    Json target;
    std::map<std::string, Json> policies;  // by PolicyName
    std::deque<double> datapoints;         // oldest first, at most kScaleInDatapoints
    double sample_sum = 0;
    int samples = 0;
    std::optional<TimePoint> last_out, last_in;
  };

  static const std::map<std::string_view, Op>& ops();
  OpResult dispatch(const aws::Call& call);

  OpResult register_scalable_target(const aws::Call& call, aws::JsonParams& p);
  OpResult describe_scalable_targets(const aws::Call& call, aws::JsonParams& p);
  OpResult deregister_scalable_target(const aws::Call& call, aws::JsonParams& p);
  OpResult put_scaling_policy(const aws::Call& call, aws::JsonParams& p);
  OpResult describe_scaling_policies(const aws::Call& call, aws::JsonParams& p);
  OpResult delete_scaling_policy(const aws::Call& call, aws::JsonParams& p);
  OpResult describe_scaling_activities(const aws::Call& call, aws::JsonParams& p);

  // Sets the target's capacity through Lambda and records the activity
  // (InProgress, then Successful or Failed); true when it is set. Requires mu_.
  bool scale(Tracked& t, int capacity, const std::string& cause);
  // The loop: arms the next sample; takes one.
  void arm();
  void sample();

  store::Store& store_;
  Clock& clock_;
  ProvisionedConcurrencyHooks hooks_;
  AutoscalingOptions options_;
  std::mutex mu_;                           // guards everything below
  std::map<std::string, Tracked> targets_;  // by <ns>\x01<dimension>\x01<resource>
  int ticks_ = 0;                           // samples since the last datapoint
  uint32_t activity_seq_ = 0;
  TimerHandle timer_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // guards timer callbacks
};

}  // namespace nimbus::services::autoscaling
