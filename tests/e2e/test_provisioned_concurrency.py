"""Lambda provisioned concurrency (Put/Get/Delete/ListProvisionedConcurrencyConfigs)
against a real nimbus: configurations on versions and aliases, their status as
instances are initialised ahead, invocations on them (no Init Duration), spill
to on-demand instances, and the configuration surviving a restart.

Each test names the AWS behaviour it pins down. Waiting for READY polls with a
bounded loop; no test sleeps a fixed time."""
import base64
import concurrent.futures
import subprocess
import uuid

import pytest
from botocore.exceptions import ClientError

from e2e_support import NIMBUS_BIN, wait_until

APP = {
    "app.py": (
        "import os, time, uuid\n"
        "INSTANCE = uuid.uuid4().hex  # one per environment (pids repeat in pid namespaces)\n"
        "def handler(event, context):\n"
        "    time.sleep(event.get('sleep', 0))\n"
        "    return {'init_type': os.environ.get('AWS_LAMBDA_INITIALIZATION_TYPE'),\n"
        "            'instance': INSTANCE, 'version': context.function_version}\n"
    )
}

BROKEN = {"app.py": "raise RuntimeError('init fails')\ndef handler(event, context):\n    return 1\n"}


def error_code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def published(server, name, files=APP):
    """A function with version 1 published."""
    server.create_function(name, files=files, Timeout=30)
    return server.lambda_.publish_version(FunctionName=name)["Version"]


def publish_another(lam, name):
    """A second version: a configuration change, then PublishVersion."""
    lam.update_function_configuration(FunctionName=name, Description="v2")
    return lam.publish_version(FunctionName=name)["Version"]


def wait_status(lam, name, qualifier, status, timeout=30):
    def check():
        c = lam.get_provisioned_concurrency_config(FunctionName=name, Qualifier=qualifier)
        return c if c["Status"] == status else None

    return wait_until(check, timeout=timeout, interval=0.1, what=f"{name}:{qualifier} {status}")


def tail(resp):
    return base64.b64decode(resp["LogResult"]).decode(errors="replace")


def report_line(resp):
    return next(line for line in tail(resp).splitlines() if line.startswith("REPORT "))


# AWS: PutProvisionedConcurrencyConfig answers 202 with Status IN_PROGRESS; the
# configuration moves to READY with Allocated = Available = Requested once the
# environments are initialised; List shows it with the qualified FunctionArn;
# Delete answers 204 and Get then raises ProvisionedConcurrencyConfigNotFoundException.
# GetFunction is unaffected (no Concurrency without reserved concurrency).
def test_lifecycle_on_a_version(nimbus, fname):
    lam = nimbus.lambda_
    v = published(nimbus, fname)
    put = lam.put_provisioned_concurrency_config(
        FunctionName=fname, Qualifier=v, ProvisionedConcurrentExecutions=2)
    assert put["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert put["RequestedProvisionedConcurrentExecutions"] == 2
    assert put["Status"] in ("IN_PROGRESS", "READY")
    assert put["LastModified"]
    got = wait_status(lam, fname, v, "READY")
    assert got["AllocatedProvisionedConcurrentExecutions"] == 2
    assert got["AvailableProvisionedConcurrentExecutions"] == 2
    assert "StatusReason" not in got

    listed = lam.list_provisioned_concurrency_configs(FunctionName=fname)["ProvisionedConcurrencyConfigs"]
    assert len(listed) == 1
    assert listed[0]["FunctionArn"].endswith(f":function:{fname}:{v}")
    assert listed[0]["RequestedProvisionedConcurrentExecutions"] == 2
    assert "Concurrency" not in lam.get_function(FunctionName=fname)

    assert lam.delete_provisioned_concurrency_config(
        FunctionName=fname, Qualifier=v)["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as e:
        lam.get_provisioned_concurrency_config(FunctionName=fname, Qualifier=v)
    assert error_code(e) == "ProvisionedConcurrencyConfigNotFoundException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert lam.list_provisioned_concurrency_configs(FunctionName=fname)["ProvisionedConcurrencyConfigs"] == []
    # AWS: deleting a configuration that does not exist is not an error.
    lam.delete_provisioned_concurrency_config(FunctionName=fname, Qualifier=v)


# AWS: $LATEST (and an alias of it) cannot carry provisioned concurrency
# (InvalidParameterValueException); a missing function, version or alias is
# ResourceNotFoundException.
def test_unpublished_and_missing_qualifiers(nimbus, fname):
    lam = nimbus.lambda_
    published(nimbus, fname)
    lam.create_alias(FunctionName=fname, Name="dev", FunctionVersion="$LATEST")
    for q in ("$LATEST", "dev"):
        with pytest.raises(ClientError) as e:
            lam.put_provisioned_concurrency_config(
                FunctionName=fname, Qualifier=q, ProvisionedConcurrentExecutions=1)
        assert error_code(e) == "InvalidParameterValueException", q
        assert "unpublished" in e.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as e:
        lam.get_provisioned_concurrency_config(FunctionName=fname, Qualifier="$LATEST")
    assert error_code(e) == "InvalidParameterValueException"
    for q in ("9", "nope"):
        with pytest.raises(ClientError) as e:
            lam.put_provisioned_concurrency_config(
                FunctionName=fname, Qualifier=q, ProvisionedConcurrentExecutions=1)
        assert error_code(e) == "ResourceNotFoundException", q
    with pytest.raises(ClientError) as e:
        lam.list_provisioned_concurrency_configs(FunctionName=fname + "-missing")
    assert error_code(e) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        lam.get_provisioned_concurrency_config(FunctionName=fname, Qualifier="1")
    assert error_code(e) == "ProvisionedConcurrencyConfigNotFoundException"


# AWS: an alias and the version it points to cannot both have a configuration
# (ResourceConflictException either way round), and an alias with routing
# weights cannot get one (InvalidParameterValueException).
def test_alias_and_version_conflicts(nimbus, fname):
    lam = nimbus.lambda_
    v = published(nimbus, fname)
    lam.create_alias(FunctionName=fname, Name="live", FunctionVersion=v)
    lam.put_provisioned_concurrency_config(
        FunctionName=fname, Qualifier="live", ProvisionedConcurrentExecutions=1)
    with pytest.raises(ClientError) as e:
        lam.put_provisioned_concurrency_config(
            FunctionName=fname, Qualifier=v, ProvisionedConcurrentExecutions=1)
    assert error_code(e) == "ResourceConflictException"
    lam.delete_provisioned_concurrency_config(FunctionName=fname, Qualifier="live")
    lam.put_provisioned_concurrency_config(
        FunctionName=fname, Qualifier=v, ProvisionedConcurrentExecutions=1)
    with pytest.raises(ClientError) as e:
        lam.put_provisioned_concurrency_config(
            FunctionName=fname, Qualifier="live", ProvisionedConcurrentExecutions=1)
    assert error_code(e) == "ResourceConflictException"

    v2 = publish_another(lam, fname)
    lam.create_alias(FunctionName=fname, Name="canary", FunctionVersion=v2,
                     RoutingConfig={"AdditionalVersionWeights": {v: 0.1}})
    with pytest.raises(ClientError) as e:
        lam.put_provisioned_concurrency_config(
            FunctionName=fname, Qualifier="canary", ProvisionedConcurrentExecutions=1)
    assert error_code(e) == "InvalidParameterValueException"
    assert "weights" in e.value.response["Error"]["Message"]


# AWS: invocations of the qualifier run on the provisioned environments first
# (AWS_LAMBDA_INITIALIZATION_TYPE=provisioned-concurrency, and no "Init
# Duration" in REPORT: the init happened ahead); calls beyond them spill to
# on-demand environments, whose cold start does show Init Duration.
def test_invocations_use_provisioned_instances_then_spill(nimbus, fname):
    lam = nimbus.lambda_
    v = published(nimbus, fname)
    lam.create_alias(FunctionName=fname, Name="live", FunctionVersion=v)
    lam.put_provisioned_concurrency_config(
        FunctionName=fname, Qualifier="live", ProvisionedConcurrentExecutions=1)
    wait_status(lam, fname, "live", "READY")

    resp, body = nimbus.invoke(fname, {}, Qualifier="live", LogType="Tail")
    assert body["init_type"] == "provisioned-concurrency"
    assert body["version"] == v
    assert "Init Duration" not in report_line(resp)

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        slow = pool.submit(nimbus.invoke, fname, {"sleep": 2}, Qualifier="live", LogType="Tail")
        # The slow call holds the provisioned instance: Available drops to 0.
        wait_until(lambda: lam.get_provisioned_concurrency_config(
            FunctionName=fname, Qualifier="live")["AvailableProvisionedConcurrentExecutions"] == 0,
            timeout=10, interval=0.02, what="the provisioned instance busy")
        spill_resp, spill = nimbus.invoke(fname, {}, Qualifier="live", LogType="Tail")
        slow_resp, slow_body = slow.result(timeout=30)
    assert slow_body["init_type"] == "provisioned-concurrency"
    assert "Init Duration" not in report_line(slow_resp)
    assert spill["init_type"] == "on-demand"
    assert spill["instance"] != slow_body["instance"]
    assert "Init Duration" in report_line(spill_resp)
    # The version itself (not only the alias) runs on the same instances.
    _, by_version = nimbus.invoke(fname, {}, Qualifier=v)
    assert by_version["init_type"] == "provisioned-concurrency"


# AWS: provisioned concurrency counts against the function's reserved
# concurrency: a configuration above it is refused, and so is lowering the
# reservation below the provisioned concurrency (InvalidParameterValueException).
def test_reserved_concurrency_bounds_provisioned(nimbus, fname):
    lam = nimbus.lambda_
    v = published(nimbus, fname)
    lam.put_function_concurrency(FunctionName=fname, ReservedConcurrentExecutions=2)
    with pytest.raises(ClientError) as e:
        lam.put_provisioned_concurrency_config(
            FunctionName=fname, Qualifier=v, ProvisionedConcurrentExecutions=3)
    assert error_code(e) == "InvalidParameterValueException"
    lam.put_provisioned_concurrency_config(
        FunctionName=fname, Qualifier=v, ProvisionedConcurrentExecutions=2)
    with pytest.raises(ClientError) as e:
        lam.put_function_concurrency(FunctionName=fname, ReservedConcurrentExecutions=1)
    assert error_code(e) == "InvalidParameterValueException"
    # GetFunctionConcurrency still reports the reservation alone.
    assert lam.get_function_concurrency(FunctionName=fname)["ReservedConcurrentExecutions"] == 2


# AWS: a configuration goes with the alias or version it belongs to.
def test_deleting_alias_or_version_removes_its_config(nimbus, fname):
    lam = nimbus.lambda_
    v = published(nimbus, fname)
    v2 = publish_another(lam, fname)
    lam.create_alias(FunctionName=fname, Name="live", FunctionVersion=v)
    lam.put_provisioned_concurrency_config(
        FunctionName=fname, Qualifier="live", ProvisionedConcurrentExecutions=1)
    lam.put_provisioned_concurrency_config(
        FunctionName=fname, Qualifier=v2, ProvisionedConcurrentExecutions=1)
    lam.delete_alias(FunctionName=fname, Name="live")
    lam.delete_function(FunctionName=fname, Qualifier=v2)
    assert lam.list_provisioned_concurrency_configs(FunctionName=fname)["ProvisionedConcurrencyConfigs"] == []
    lam.create_alias(FunctionName=fname, Name="live", FunctionVersion=v)
    with pytest.raises(ClientError) as e:
        lam.get_provisioned_concurrency_config(FunctionName=fname, Qualifier="live")
    assert error_code(e) == "ProvisionedConcurrencyConfigNotFoundException"


# AWS: an allocation whose environments fail their init reports Status FAILED
# with a StatusReason; no invocation is charged with it.
def test_init_failure_reports_failed(nimbus, fname):
    lam = nimbus.lambda_
    v = published(nimbus, fname, files=BROKEN)
    lam.put_provisioned_concurrency_config(
        FunctionName=fname, Qualifier=v, ProvisionedConcurrentExecutions=1)
    got = wait_status(lam, fname, v, "FAILED")
    assert got["StatusReason"]
    assert got["AllocatedProvisionedConcurrentExecutions"] == 0
    lam.delete_provisioned_concurrency_config(FunctionName=fname, Qualifier=v)


# AWS keeps the configuration (it is durable state) and its environments: after
# a restart Nimbus initialises them again, and invocations find them ready.
def test_config_survives_restart(server_factory, tmp_path, fname):
    data = tmp_path / "data"
    server = server_factory(data_dir=data)
    lam = server.lambda_
    v = published(server, fname)
    lam.put_provisioned_concurrency_config(
        FunctionName=fname, Qualifier=v, ProvisionedConcurrentExecutions=1)
    wait_status(lam, fname, v, "READY")
    server.stop()
    server.start()
    lam = server.lambda_
    got = wait_status(lam, fname, v, "READY")
    assert got["RequestedProvisionedConcurrentExecutions"] == 1
    resp, body = server.invoke(fname, {}, Qualifier=v, LogType="Tail")
    assert body["init_type"] == "provisioned-concurrency"
    assert "Init Duration" not in report_line(resp)


# AWS: moving an alias to another version moves its provisioned concurrency
# with it (the new version's environments are initialised; the alias's
# invocations then run on them).
def test_alias_update_moves_provisioned_instances(nimbus, fname):
    lam = nimbus.lambda_
    v = published(nimbus, fname)
    v2 = publish_another(lam, fname)
    lam.create_alias(FunctionName=fname, Name="live", FunctionVersion=v)
    lam.put_provisioned_concurrency_config(
        FunctionName=fname, Qualifier="live", ProvisionedConcurrentExecutions=1)
    wait_status(lam, fname, "live", "READY")
    lam.update_alias(FunctionName=fname, Name="live", FunctionVersion=v2)
    wait_status(lam, fname, "live", "READY")
    resp, body = nimbus.invoke(fname, {}, Qualifier="live", LogType="Tail")
    assert body["version"] == v2
    assert body["init_type"] == "provisioned-concurrency"
    assert "Init Duration" not in report_line(resp)
    # The old version's instances are gone: it runs on demand again.
    _, old = nimbus.invoke(fname, {}, Qualifier=v)
    assert old["init_type"] == "on-demand"
    # AWS: an alias carrying provisioned concurrency cannot point at $LATEST.
    with pytest.raises(ClientError) as e:
        lam.update_alias(FunctionName=fname, Name="live", FunctionVersion="$LATEST")
    assert error_code(e) == "InvalidParameterValueException"


# AWS: provisioned concurrency of a function without reserved concurrency
# comes out of the account's unreserved concurrency, which must keep 100
# (InvalidParameterValueException); ListProvisionedConcurrencyConfigs pages
# with MaxItems / NextMarker.
def test_account_minimum_and_list_pages(nimbus, fname):
    lam = nimbus.lambda_
    v = published(nimbus, fname)
    limit = lam.get_account_settings()["AccountLimit"]["ConcurrentExecutions"]
    with pytest.raises(ClientError) as e:
        lam.put_provisioned_concurrency_config(
            FunctionName=fname, Qualifier=v, ProvisionedConcurrentExecutions=limit - 99)
    assert error_code(e) == "InvalidParameterValueException"
    assert "[100]" in e.value.response["Error"]["Message"]

    lam.create_alias(FunctionName=fname, Name="a", FunctionVersion=v)
    v2 = publish_another(lam, fname)
    lam.create_alias(FunctionName=fname, Name="b", FunctionVersion=v2)
    for q in ("a", "b"):
        lam.put_provisioned_concurrency_config(
            FunctionName=fname, Qualifier=q, ProvisionedConcurrentExecutions=1)
    first = lam.list_provisioned_concurrency_configs(FunctionName=fname, MaxItems=1)
    assert [c["FunctionArn"].rsplit(":", 1)[1] for c in first["ProvisionedConcurrencyConfigs"]] == ["a"]
    second = lam.list_provisioned_concurrency_configs(
        FunctionName=fname, MaxItems=1, Marker=first["NextMarker"])
    assert [c["FunctionArn"].rsplit(":", 1)[1] for c in second["ProvisionedConcurrencyConfigs"]] == ["b"]
    assert "NextMarker" not in second


def sam_template(path, name, provisioned=None, alias="live"):
    props = [
        f"FunctionName: {name}",
        "Handler: index.handler",
        "Runtime: python3.11",
        "Timeout: 30",
        "InlineCode: |\n"
        "        import os\n"
        "        def handler(event, context):\n"
        "            return {'init_type': os.environ.get('AWS_LAMBDA_INITIALIZATION_TYPE'),\n"
        "                    'version': context.function_version}",
    ]
    if alias:
        props.append(f"AutoPublishAlias: {alias}")
    if provisioned is not None:
        props.append(f"ProvisionedConcurrencyConfig: {{ProvisionedConcurrentExecutions: {provisioned}}}")
    body = "\n".join("      " + p for p in props)
    path.write_text("Transform: AWS::Serverless-2016-10-31\nResources:\n  Fn:\n"
                    "    Type: AWS::Serverless::Function\n    Properties:\n" + body + "\n")
    return path


def deploy(nimbus, template, stack):
    return subprocess.run([NIMBUS_BIN, "deploy", str(template), "--endpoint", nimbus.endpoint,
                           "--stack-name", stack], capture_output=True, text=True, timeout=120)


# SAM: ProvisionedConcurrencyConfig on a function with AutoPublishAlias puts the
# configuration on the alias (created, updated and removed with the template);
# without AutoPublishAlias SAM refuses the template.
def test_sam_provisioned_concurrency_on_the_auto_published_alias(nimbus, tmp_path, fname):
    lam = nimbus.lambda_
    stack = "pc" + uuid.uuid4().hex[:8]
    t = tmp_path / "template.yaml"
    try:
        r = deploy(nimbus, sam_template(t, fname, provisioned=1), stack)
        assert r.returncode == 0, r.stdout + r.stderr
        got = wait_status(lam, fname, "live", "READY")
        assert got["RequestedProvisionedConcurrentExecutions"] == 1
        _, body = nimbus.invoke(fname, {}, Qualifier="live")
        assert body["init_type"] == "provisioned-concurrency"

        r = deploy(nimbus, sam_template(t, fname, provisioned=2), stack)
        assert r.returncode == 0, r.stdout + r.stderr
        assert wait_status(lam, fname, "live", "READY")["RequestedProvisionedConcurrentExecutions"] == 2

        r = deploy(nimbus, sam_template(t, fname), stack)
        assert r.returncode == 0, r.stdout + r.stderr
        with pytest.raises(ClientError) as e:
            lam.get_provisioned_concurrency_config(FunctionName=fname, Qualifier="live")
        assert error_code(e) == "ProvisionedConcurrencyConfigNotFoundException"

        r = deploy(nimbus, sam_template(t, fname, provisioned=1, alias=None), stack)
        assert r.returncode != 0
        assert "AutoPublishALias must be defined" in r.stdout + r.stderr
    finally:
        try:
            lam.delete_function(FunctionName=fname)
        except ClientError:
            pass
