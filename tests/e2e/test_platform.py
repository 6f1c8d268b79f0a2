"""Platform endpoints, AWS-shaped errors for unknown operations, durability across kill -9."""
import json
import uuid

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import pytest
from botocore.exceptions import ClientError


OK = "def handler(event, context):\n    return {'ok': True, 'event': event}\n"
SLOW_EVENT = """
import time
def handler(event, context):
    time.sleep(event.get("sleep", 0))
    print("event processed " + event["marker"])
    return {}
"""


def signed(nimbus, method, path, service="lambda", body=b"", headers=None):
    req = botocore.awsrequest.AWSRequest(method=method, url=nimbus.endpoint + path, data=body,
                                         headers=headers or {})
    botocore.auth.SigV4Auth(botocore.credentials.Credentials("test", "test"), service, "us-east-1").add_auth(req)
    return nimbus.http(method, path, body=body or None, headers=dict(req.headers))


def test_health_lists_services(nimbus):
    # GET /_nimbus/health answers 200 with every service and its state.
    status, _, body = nimbus.http("GET", "/_nimbus/health")
    assert status == 200
    doc = json.loads(body)
    for svc in ("lambda", "sts", "iam", "logs"):
        assert doc["services"][svc] == "running", doc


def test_unknown_operations_get_aws_errors(nimbus):
    # Unknown operations answer with the protocol's error shape, never a dropped connection.
    status, headers, body = signed(nimbus, "GET", "/2015-03-31/functions/x/bogus")
    assert 400 <= status < 500
    doc = json.loads(body)
    assert doc.get("Type") or doc.get("__type") or headers.get("x-amzn-ErrorType") or headers.get("X-Amzn-Errortype")
    assert "message" in {k.lower() for k in doc}
    # Query protocol (STS): unknown Action → XML ErrorResponse.
    status, _, body = signed(nimbus, "POST", "/", service="sts", body=b"Action=Bogus&Version=2011-06-15",
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert 400 <= status < 500 and b"<ErrorResponse" in body and b"<Code>" in body
    # json-1.1 (Logs): unknown X-Amz-Target → JSON error with __type.
    status, _, body = signed(nimbus, "POST", "/", service="logs", body=b"{}",
                             headers={"Content-Type": "application/x-amz-json-1.1",
                                      "X-Amz-Target": "Logs_20140328.Bogus"})
    assert 400 <= status < 500 and "__type" in json.loads(body)
    # Unsigned garbage on an unknown path is still an HTTP answer.
    status, _, _ = nimbus.http("GET", "/definitely/not/a/service")
    assert 400 <= status < 500
    # The server is still fine.
    assert nimbus.http("GET", "/_nimbus/health")[0] == 200


def test_reset_wipes_functions(server_factory):
    # POST /_nimbus/reset (loopback) wipes all functions; ListFunctions is empty afterwards.
    server = server_factory()
    server.create_function("before-reset", {"app.py": OK})
    assert server.invoke("before-reset")[1]["ok"] is True
    status, _, _ = server.http("POST", "/_nimbus/reset")
    assert status in (200, 204)
    assert server.lambda_.list_functions()["Functions"] == []
    with pytest.raises(ClientError) as e:
        server.lambda_.get_function(FunctionName="before-reset")
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    # The same name can be created again and works.
    server.create_function("before-reset", {"app.py": OK})
    assert server.invoke("before-reset")[1]["ok"] is True


def test_function_survives_kill9(server_factory, tmp_path):
    # Functions, versions and aliases acknowledged before a kill -9 are there after restart.
    data = tmp_path / "durable"
    first = server_factory(data_dir=data)
    first.create_function("durable-fn", {"app.py": OK}, Environment={"Variables": {"K": "v"}})
    first.lambda_.publish_version(FunctionName="durable-fn")
    first.lambda_.create_alias(FunctionName="durable-fn", Name="live", FunctionVersion="1")
    first.kill9()
    second = server_factory(data_dir=data)
    cfg = second.lambda_.get_function_configuration(FunctionName="durable-fn")
    assert cfg["State"] == "Active" and cfg["Environment"]["Variables"] == {"K": "v"}
    assert second.lambda_.get_alias(FunctionName="durable-fn", Name="live")["FunctionVersion"] == "1"
    r, body = second.invoke("durable-fn", {"after": "restart"}, Qualifier="live")
    assert body == {"ok": True, "event": {"after": "restart"}} and r["ExecutedVersion"] == "1"


def test_event_acknowledged_before_kill9_runs_after_restart(server_factory, tmp_path):
    # An Event invoke answered 202 is durable: it still runs after kill -9 and restart.
    data = tmp_path / "events"
    first = server_factory(data_dir=data)
    first.create_function("evt-fn", {"app.py": SLOW_EVENT}, Timeout=30)
    marker = uuid.uuid4().hex
    r = first.lambda_.invoke(FunctionName="evt-fn", InvocationType="Event",
                             Payload=json.dumps({"marker": marker, "sleep": 2}).encode())
    assert r["StatusCode"] == 202
    first.kill9()  # immediately: the event is at most running, not finished
    second = server_factory(data_dir=data)
    second.wait_for_log("evt-fn", lambda m: f"event processed {marker}" in m, timeout=30,
                        what="the acknowledged event to run after restart")
