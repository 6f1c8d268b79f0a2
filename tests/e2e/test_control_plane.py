"""Lambda control plane through boto3: lifecycle, versions, aliases, concurrency."""
import hashlib
import urllib.request
import uuid

import pytest
from botocore.exceptions import ClientError

from e2e_support import ROLE, make_zip

APP_V1 = """
import os
def handler(event, context):
    return {"v": 1, "greeting": os.environ.get("GREETING"), "mem": context.memory_limit_in_mb}
"""
APP_V2 = APP_V1.replace('"v": 1', '"v": 2')


def err(e):
    return e.value.response["Error"]["Code"], e.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_create_pending_then_active_and_get_function(nimbus, fname):
    zip_bytes = make_zip({"app.py": APP_V1})
    # Lambda's CreateFunction answers State Pending; GetFunction then shows Active/Successful.
    resp = nimbus.create_function(fname, zip_bytes=zip_bytes, wait=False,
                                  Environment={"Variables": {"GREETING": "hi"}})
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert resp["State"] == "Pending"
    assert resp["FunctionArn"] == f"arn:aws:lambda:us-east-1:000000000000:function:{fname}"
    assert resp["CodeSha256"]
    nimbus.lambda_.get_waiter("function_active_v2").wait(
        FunctionName=fname, WaiterConfig={"Delay": 1, "MaxAttempts": 20})
    got = nimbus.lambda_.get_function(FunctionName=fname)
    cfg = got["Configuration"]
    assert cfg["State"] == "Active" and cfg["LastUpdateStatus"] == "Successful"
    assert cfg["Runtime"] == "python3.11" and cfg["Handler"] == "app.handler"
    assert cfg["MemorySize"] == 128 and cfg["Timeout"] == 3 and cfg["Role"] == ROLE
    assert cfg["Environment"]["Variables"] == {"GREETING": "hi"}
    # Code.Location is a presigned-style URL that returns exactly the uploaded zip.
    with urllib.request.urlopen(got["Code"]["Location"], timeout=10) as r:
        assert r.read() == zip_bytes
    import base64
    assert cfg["CodeSha256"] == base64.b64encode(hashlib.sha256(zip_bytes).digest()).decode()
    assert cfg["CodeSize"] == len(zip_bytes)
    # GetFunctionConfiguration returns the same configuration object.
    conf = nimbus.lambda_.get_function_configuration(FunctionName=fname)
    assert conf["FunctionArn"] == cfg["FunctionArn"] and conf["RevisionId"] == cfg["RevisionId"]


def test_list_functions_pagination(nimbus):
    # ListFunctions pages with MaxItems/NextMarker and the Marker visits every function once.
    prefix = f"page-{uuid.uuid4().hex[:6]}"
    names = {f"{prefix}-{i}" for i in range(5)}
    zip_bytes = make_zip({"app.py": APP_V1})
    for n in names:
        nimbus.create_function(n, zip_bytes=zip_bytes, wait=False)
    seen, marker, pages = [], None, 0
    while True:
        kw = {"MaxItems": 2}
        if marker:
            kw["Marker"] = marker
        page = nimbus.lambda_.list_functions(**kw)
        assert len(page["Functions"]) <= 2
        seen += [f["FunctionName"] for f in page["Functions"]]
        pages += 1
        marker = page.get("NextMarker")
        if not marker:
            break
        assert len(page["Functions"]) == 2
    assert names <= set(seen)
    assert len(seen) == len(set(seen)), "a function appeared on two pages"
    assert pages >= 3
    # The boto3 paginator follows the same markers.
    paged = [f["FunctionName"] for p in nimbus.lambda_.get_paginator("list_functions").paginate(
        PaginationConfig={"PageSize": 2}) for f in p["Functions"]]
    assert names <= set(paged)


def test_update_code_and_configuration(nimbus, fname):
    nimbus.create_function(fname, {"app.py": APP_V1}, Environment={"Variables": {"GREETING": "a"}})
    _, body = nimbus.invoke(fname)
    assert body == {"v": 1, "greeting": "a", "mem": 128}
    # UpdateFunctionCode: the next invoke runs the new code (warm instances are retired).
    up = nimbus.lambda_.update_function_code(FunctionName=fname, ZipFile=make_zip({"app.py": APP_V2}))
    assert up["LastUpdateStatus"] in ("InProgress", "Successful")
    nimbus.lambda_.get_waiter("function_updated_v2").wait(
        FunctionName=fname, WaiterConfig={"Delay": 1, "MaxAttempts": 20})
    _, body = nimbus.invoke(fname)
    assert body["v"] == 2
    # UpdateFunctionConfiguration: env and memory changes are seen by the next invoke.
    nimbus.lambda_.update_function_configuration(
        FunctionName=fname, MemorySize=256, Environment={"Variables": {"GREETING": "b"}})
    nimbus.lambda_.get_waiter("function_updated_v2").wait(
        FunctionName=fname, WaiterConfig={"Delay": 1, "MaxAttempts": 20})
    cfg = nimbus.lambda_.get_function_configuration(FunctionName=fname)
    assert cfg["MemorySize"] == 256 and cfg["LastUpdateStatus"] == "Successful"
    _, body = nimbus.invoke(fname)
    assert body == {"v": 2, "greeting": "b", "mem": 256}


def test_delete_function(nimbus, fname):
    nimbus.create_function(fname, {"app.py": APP_V1})
    r = nimbus.lambda_.delete_function(FunctionName=fname)
    # DeleteFunction answers 204; afterwards the function is 404 ResourceNotFoundException.
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as e:
        nimbus.lambda_.get_function(FunctionName=fname)
    assert err(e) == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as e:
        nimbus.invoke(fname)
    assert err(e) == ("ResourceNotFoundException", 404)


def test_versions_aliases_and_qualified_invokes(nimbus, fname):
    lam = nimbus.lambda_
    nimbus.create_function(fname, {"app.py": APP_V1})
    # PublishVersion creates version 1 (201) with a qualified ARN.
    v1 = lam.publish_version(FunctionName=fname, Description="first")
    assert v1["Version"] == "1" and v1["FunctionArn"].endswith(f":{fname}:1")
    lam.update_function_code(FunctionName=fname, ZipFile=make_zip({"app.py": APP_V2}))
    lam.get_waiter("function_updated_v2").wait(FunctionName=fname, WaiterConfig={"Delay": 1, "MaxAttempts": 20})
    v2 = lam.publish_version(FunctionName=fname)
    assert v2["Version"] == "2"
    versions = [v["Version"] for v in lam.list_versions_by_function(FunctionName=fname)["Versions"]]
    assert versions == ["$LATEST", "1", "2"]

    # Aliases: create/get/list/update/delete.
    a = lam.create_alias(FunctionName=fname, Name="live", FunctionVersion="1")
    assert a["AliasArn"].endswith(f":{fname}:live") and a["FunctionVersion"] == "1"
    assert lam.get_alias(FunctionName=fname, Name="live")["FunctionVersion"] == "1"
    with pytest.raises(ClientError) as e:
        lam.create_alias(FunctionName=fname, Name="live", FunctionVersion="1")
    assert err(e) == ("ResourceConflictException", 409)

    # Invoking a version or an alias runs that version and reports X-Amz-Executed-Version.
    r, body = nimbus.invoke(fname, Qualifier="1")
    assert body["v"] == 1 and r["ExecutedVersion"] == "1"
    r, body = nimbus.invoke(fname, Qualifier="live")
    assert body["v"] == 1 and r["ExecutedVersion"] == "1"
    assert r["ResponseMetadata"]["HTTPHeaders"]["x-amz-executed-version"] == "1"
    r, body = nimbus.invoke(fname)
    assert body["v"] == 2 and r["ExecutedVersion"] == "$LATEST"
    r, body = nimbus.invoke(f"{fname}:2")
    assert body["v"] == 2 and r["ExecutedVersion"] == "2"

    lam.update_alias(FunctionName=fname, Name="live", FunctionVersion="2")
    r, body = nimbus.invoke(fname, Qualifier="live")
    assert body["v"] == 2 and r["ExecutedVersion"] == "2"
    lam.create_alias(FunctionName=fname, Name="beta", FunctionVersion="$LATEST")
    names = sorted(x["Name"] for x in lam.list_aliases(FunctionName=fname)["Aliases"])
    assert names == ["beta", "live"]
    lam.delete_alias(FunctionName=fname, Name="beta")
    with pytest.raises(ClientError) as e:
        lam.get_alias(FunctionName=fname, Name="beta")
    assert err(e) == ("ResourceNotFoundException", 404)
    # Unknown version qualifier is 404.
    with pytest.raises(ClientError) as e:
        nimbus.invoke(fname, Qualifier="9")
    assert err(e) == ("ResourceNotFoundException", 404)


def test_function_concurrency_and_account_settings(nimbus, fname):
    lam = nimbus.lambda_
    nimbus.create_function(fname, {"app.py": APP_V1})
    # Get without a reservation returns no ReservedConcurrentExecutions.
    assert "ReservedConcurrentExecutions" not in lam.get_function_concurrency(FunctionName=fname)
    r = lam.put_function_concurrency(FunctionName=fname, ReservedConcurrentExecutions=5)
    assert r["ReservedConcurrentExecutions"] == 5
    assert lam.get_function_concurrency(FunctionName=fname)["ReservedConcurrentExecutions"] == 5
    assert lam.get_function(FunctionName=fname)["Concurrency"]["ReservedConcurrentExecutions"] == 5
    settings = lam.get_account_settings()
    limit = settings["AccountLimit"]["ConcurrentExecutions"]
    assert limit >= 100
    assert settings["AccountLimit"]["UnreservedConcurrentExecutions"] <= limit - 5
    assert settings["AccountUsage"]["FunctionCount"] >= 1
    # Reserving so much that fewer than 100 unreserved executions remain is rejected.
    with pytest.raises(ClientError) as e:
        lam.put_function_concurrency(FunctionName=fname, ReservedConcurrentExecutions=limit - 50)
    code, status = err(e)
    assert (code, status) == ("InvalidParameterValueException", 400)
    assert "UnreservedConcurrentExecution" in e.value.response["Error"]["Message"]
    lam.delete_function_concurrency(FunctionName=fname)
    assert "ReservedConcurrentExecutions" not in lam.get_function_concurrency(FunctionName=fname)


def test_tags(nimbus, fname):
    # Lambda's TagResource / ListTags / UntagResource on a function ARN; tags from
    # CreateFunction show up too.
    lam = nimbus.lambda_
    arn = nimbus.create_function(fname, {"app.py": APP_V1}, Tags={"team": "a"})["FunctionArn"]
    lam.tag_resource(Resource=arn, Tags={"env": "dev", "team": "b"})
    assert lam.list_tags(Resource=arn)["Tags"] == {"team": "b", "env": "dev"}
    lam.untag_resource(Resource=arn, TagKeys=["team"])
    assert lam.list_tags(Resource=arn)["Tags"] == {"env": "dev"}
    with pytest.raises(ClientError) as e:
        lam.list_tags(Resource=arn + "-missing")
    assert err(e) == ("ResourceNotFoundException", 404)
