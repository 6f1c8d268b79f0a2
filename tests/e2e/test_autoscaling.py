"""Application Auto Scaling target tracking for Lambda provisioned concurrency,
against a real nimbus, driven with boto3's 'application-autoscaling' client as
the chapter configures it (MinimumProvisionedConcurrency 5,
MaximumProvisionedConcurrency 100, UtilizationTarget 0.7): the provisioned
count follows concurrent invocations up and back down.

The scaling loop's metric period is shortened with --autoscaling-interval-ms
(AWS: 1 minute), so three datapoints (scale out) take 0.9 s and fifteen
(scale in) 4.5 s. Waits poll with a bounded loop; no test sleeps a fixed time.
Each test names the AWS behaviour it pins down."""
import json
import threading
import time

import pytest
from botocore.exceptions import ClientError

from e2e_support import wait_until

INTERVAL_MS = 300
DIMENSION = "lambda:function:ProvisionedConcurrency"
SLEEPY = {
    "app.py": (
        "import time\n"
        "def handler(event, context):\n"
        "    time.sleep(event.get('sleep', 0))\n"
        "    return {'version': context.function_version}\n"
    )
}


def error_code(excinfo):
    return excinfo.value.response["Error"]["Code"]


@pytest.fixture
def scaling_server(server_factory):
    return server_factory(extra_args=["--autoscaling-interval-ms", str(INTERVAL_MS)])


def with_alias(server, name):
    """A function with version 1 and alias 'live' pointing to it."""
    server.create_function(name, files=SLEEPY, Timeout=30)
    version = server.lambda_.publish_version(FunctionName=name)["Version"]
    server.lambda_.create_alias(FunctionName=name, Name="live", FunctionVersion=version)
    return f"function:{name}:live"


def requested(server, name):
    return server.lambda_.get_provisioned_concurrency_config(
        FunctionName=name, Qualifier="live")["RequestedProvisionedConcurrentExecutions"]


class Load:
    """`callers` threads invoking the alias back to back (each call sleeps)."""

    def __init__(self, server, name, callers, sleep):
        self.stop = threading.Event()
        self.errors = []
        self.threads = [threading.Thread(target=self._run, args=(server, name, sleep))
                        for _ in range(callers)]

    def _run(self, server, name, sleep):
        lam = server.client("lambda")  # one client per thread
        payload = json.dumps({"sleep": sleep}).encode()
        while not self.stop.is_set():
            try:
                resp = lam.invoke(FunctionName=name, Qualifier="live", Payload=payload)
                if resp.get("FunctionError"):
                    self.errors.append(resp["Payload"].read())
            except Exception as e:  # noqa: BLE001 - reported by the test
                self.errors.append(repr(e))

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=60)


# AWS (the chapter's configuration): RegisterScalableTarget with MinCapacity 5
# sets the alias's provisioned concurrency to 5; a TargetTrackingScaling policy
# on LambdaProvisionedConcurrencyUtilization at 0.7 scales it out while
# concurrent invocations keep utilisation above 0.7, proportionally
# (ceil(current × utilisation / 0.7)), and back in to MinCapacity when they
# stop. GetProvisionedConcurrencyConfig shows each new count, and
# DescribeScalingActivities lists the activities, newest first.
def test_provisioned_concurrency_follows_utilisation(scaling_server, fname):
    server = scaling_server
    resource = with_alias(server, fname)
    aas = server.client("application-autoscaling")

    aas.register_scalable_target(
        ServiceNamespace="lambda",
        ResourceId=resource,
        ScalableDimension=DIMENSION,
        MinCapacity=5,
        MaxCapacity=100,
    )
    assert requested(server, fname) == 5
    policy = aas.put_scaling_policy(
        PolicyName=f"{fname}-utilization",
        ServiceNamespace="lambda",
        ResourceId=resource,
        ScalableDimension=DIMENSION,
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 0.7,
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "LambdaProvisionedConcurrencyUtilization"
            },
        },
    )
    assert ":scalingPolicy:" in policy["PolicyARN"]
    assert len(policy["Alarms"]) == 2

    # Idle at the minimum: utilisation 0, nothing to scale in.
    lam = server.lambda_
    wait_until(lambda: lam.get_provisioned_concurrency_config(
        FunctionName=fname, Qualifier="live")["Status"] == "READY", timeout=60, interval=0.1,
        what="5 provisioned instances READY")

    # 8 callers on 5 instances: utilisation ~1.6 > 0.7 → at least ceil(5 × 1 / 0.7) = 8.
    with Load(server, fname, callers=8, sleep=1.0) as load:
        up = wait_until(lambda: (n := requested(server, fname)) >= 8 and n,
                        timeout=60, interval=0.1, what="scale out to >= 8")
        # Proportional, not the maximum: 8 callers never need 100.
        assert up <= 20
    assert not load.errors, load.errors[:3]

    # No calls: utilisation 0 < 0.63 for fifteen datapoints → back to MinCapacity.
    wait_until(lambda: requested(server, fname) == 5, timeout=60, interval=0.1,
               what="scale in to 5")

    # An activity is InProgress while Lambda applies the change, then Successful.
    def settled():
        acts = aas.describe_scaling_activities(ServiceNamespace="lambda", ResourceId=resource)[
            "ScalingActivities"]
        return all(a["StatusCode"] == "Successful" for a in acts) and acts

    acts = wait_until(settled, timeout=10, interval=0.1, what="activities Successful")
    assert acts[0]["Description"] == "Setting desired concurrency to 5."
    assert "AlarmLow" in acts[0]["Cause"]
    assert any("AlarmHigh" in a["Cause"] for a in acts)
    assert acts[-1]["Cause"] == "minimum capacity was set to 5"
    assert [a["StartTime"] for a in acts] == sorted((a["StartTime"] for a in acts), reverse=True)


# AWS: DisableScaleIn keeps the capacity a scale-out reached; targets and
# policies persist (here: across a restart of Nimbus), and
# DeregisterScalableTarget removes the target and its policies but leaves the
# provisioned concurrency as it is.
def test_disable_scale_in_restart_and_deregister(scaling_server, fname):
    server = scaling_server
    resource = with_alias(server, fname)
    aas = server.client("application-autoscaling")
    aas.register_scalable_target(ServiceNamespace="lambda", ResourceId=resource,
                                 ScalableDimension=DIMENSION, MinCapacity=2, MaxCapacity=6)
    aas.put_scaling_policy(
        PolicyName="keep", ServiceNamespace="lambda", ResourceId=resource,
        ScalableDimension=DIMENSION, PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 0.5, "DisableScaleIn": True,
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "LambdaProvisionedConcurrencyUtilization"}})
    with Load(server, fname, callers=4, sleep=1.0) as load:
        wait_until(lambda: requested(server, fname) == 6, timeout=60, interval=0.1,
                   what="scale out to the maximum 6")
    assert not load.errors, load.errors[:3]

    server.stop()
    server.start()
    aas = server.client("application-autoscaling")
    targets = aas.describe_scalable_targets(ServiceNamespace="lambda", ResourceIds=[resource])
    assert [(t["MinCapacity"], t["MaxCapacity"]) for t in targets["ScalableTargets"]] == [(2, 6)]
    policies = aas.describe_scaling_policies(ServiceNamespace="lambda", ResourceId=resource)
    assert policies["ScalingPolicies"][0]["TargetTrackingScalingPolicyConfiguration"][
        "DisableScaleIn"] is True

    # Idle for well over fifteen datapoints: no scale-in. Observed through the
    # activities: nothing newer than the scale-out appears.
    before = len(aas.describe_scaling_activities(ServiceNamespace="lambda")["ScalingActivities"])
    # A negative check needs a window: twenty metric periods.
    time.sleep(20 * INTERVAL_MS / 1000)
    assert requested(server, fname) == 6
    assert len(aas.describe_scaling_activities(
        ServiceNamespace="lambda")["ScalingActivities"]) == before

    aas.deregister_scalable_target(ServiceNamespace="lambda", ResourceId=resource,
                                   ScalableDimension=DIMENSION)
    assert aas.describe_scalable_targets(ServiceNamespace="lambda")["ScalableTargets"] == []
    assert aas.describe_scaling_policies(ServiceNamespace="lambda")["ScalingPolicies"] == []
    assert requested(server, fname) == 6
    with pytest.raises(ClientError) as e:
        aas.deregister_scalable_target(ServiceNamespace="lambda", ResourceId=resource,
                                       ScalableDimension=DIMENSION)
    assert error_code(e) == "ObjectNotFoundException"


# AWS: unsupported targets and missing resources are ValidationException;
# a policy for an unregistered target is ObjectNotFoundException. Nimbus
# refuses StepScaling (no CloudWatch alarms) with a ValidationException that
# says so; scheduled actions are not served yet (UnknownOperationException).
def test_errors(nimbus, fname):
    resource = with_alias(nimbus, fname)
    aas = nimbus.client("application-autoscaling")
    with pytest.raises(ClientError) as e:
        aas.register_scalable_target(ServiceNamespace="dynamodb", ResourceId="table/t",
                                     ScalableDimension="dynamodb:table:ReadCapacityUnits",
                                     MinCapacity=1, MaxCapacity=2)
    assert error_code(e) == "ValidationException"
    with pytest.raises(ClientError) as e:
        aas.register_scalable_target(ServiceNamespace="lambda",
                                     ResourceId=f"function:{fname}-missing:live",
                                     ScalableDimension=DIMENSION, MinCapacity=1, MaxCapacity=2)
    assert error_code(e) == "ValidationException"
    with pytest.raises(ClientError) as e:
        aas.register_scalable_target(ServiceNamespace="lambda",
                                     ResourceId=f"function:{fname}:$LATEST",
                                     ScalableDimension=DIMENSION, MinCapacity=1, MaxCapacity=2)
    assert error_code(e) == "ValidationException"
    with pytest.raises(ClientError) as e:
        aas.put_scaling_policy(
            PolicyName="p", ServiceNamespace="lambda", ResourceId=resource,
            ScalableDimension=DIMENSION, PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration={
                "TargetValue": 0.7, "PredefinedMetricSpecification": {
                    "PredefinedMetricType": "LambdaProvisionedConcurrencyUtilization"}})
    assert error_code(e) == "ObjectNotFoundException"

    aas.register_scalable_target(ServiceNamespace="lambda", ResourceId=resource,
                                 ScalableDimension=DIMENSION, MinCapacity=1, MaxCapacity=2)
    with pytest.raises(ClientError) as e:
        aas.put_scaling_policy(
            PolicyName="step", ServiceNamespace="lambda", ResourceId=resource,
            ScalableDimension=DIMENSION, PolicyType="StepScaling",
            StepScalingPolicyConfiguration={"AdjustmentType": "ChangeInCapacity"})
    assert error_code(e) == "ValidationException"
    assert "StepScaling" in e.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as e:
        aas.describe_scheduled_actions(ServiceNamespace="lambda")
    assert error_code(e) == "UnknownOperationException"
    aas.deregister_scalable_target(ServiceNamespace="lambda", ResourceId=resource,
                                   ScalableDimension=DIMENSION)
