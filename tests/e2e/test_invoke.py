"""Invoke semantics: invocation types, log tail, error shape, cold/warm REPORT lines."""
import base64
import json
import re
import uuid

import pytest


APP = """
import json, time
class OrderRejected(Exception):
    pass
def handler(event, context):
    print("handling " + json.dumps(event))
    if event.get("fail"):
        raise OrderRejected("order " + str(event["fail"]) + " rejected")
    if event.get("sleep"):
        time.sleep(event["sleep"])
    return {"echo": event, "request_id": context.aws_request_id}
"""

REPORT_RE = re.compile(
    r"^REPORT RequestId: (?P<id>[0-9a-f-]{36})\tDuration: \d+\.\d{2} ms\tBilled Duration: \d+ ms"
    r"\tMemory Size: (?P<mem>\d+) MB\tMax Memory Used: (?P<used>\d+) MB"
    # Lambda's fields; after Init Duration Nimbus names the launch path on cold starts.
    r"(?P<init>\tInit Duration: \d+\.\d{2} ms(?:\tLaunch: (?:fork-server|exec))?)?\t?$")


@pytest.fixture(scope="module")
def fn(nimbus):
    name = f"invoke-{uuid.uuid4().hex[:6]}"
    nimbus.create_function(name, {"app.py": APP}, Timeout=10)
    return name


def test_request_response(nimbus, fn):
    # RequestResponse answers 200 with the handler's JSON result and x-amzn-RequestId.
    r, body = nimbus.invoke(fn, {"a": 1})
    assert r["StatusCode"] == 200 and "FunctionError" not in r
    assert body["echo"] == {"a": 1}
    assert body["request_id"] == r["ResponseMetadata"]["RequestId"]
    assert r["ExecutedVersion"] == "$LATEST"


def test_event_invoke_runs_in_background(nimbus, fn):
    # Event answers 202 with an empty body and the function really runs afterwards.
    marker = uuid.uuid4().hex
    r = nimbus.lambda_.invoke(FunctionName=fn, InvocationType="Event",
                              Payload=json.dumps({"marker": marker}).encode())
    assert r["StatusCode"] == 202
    assert r["Payload"].read() == b""
    rid = r["ResponseMetadata"]["RequestId"]
    nimbus.wait_for_log(fn, lambda m: marker in m, what="the event's printed line")
    # Its START/REPORT lines carry the request id from the 202 answer.
    nimbus.wait_for_log(fn, lambda m: m.startswith(f"REPORT RequestId: {rid}"), what="REPORT for the event")


def test_dry_run(nimbus, fn):
    # DryRun validates and answers 204 without running the function.
    marker = uuid.uuid4().hex
    r = nimbus.lambda_.invoke(FunctionName=fn, InvocationType="DryRun",
                              Payload=json.dumps({"marker": marker}).encode())
    assert r["StatusCode"] == 204
    _, body = nimbus.invoke(fn, {"after": "dryrun"})  # flushes the log pipeline
    assert not any(marker in m for m in nimbus.log_messages(fn))


def test_log_tail(nimbus, fn):
    # LogType=Tail returns the base64 last 4 KB of the invocation's log: output, START, END, REPORT.
    marker = uuid.uuid4().hex
    r, _ = nimbus.invoke(fn, {"marker": marker}, LogType="Tail")
    rid = r["ResponseMetadata"]["RequestId"]
    log = base64.b64decode(r["LogResult"]).decode()
    assert len(base64.b64decode(r["LogResult"])) <= 4096
    lines = log.splitlines()
    assert any(marker in line for line in lines)
    assert any(line.startswith(f"START RequestId: {rid} Version: $LATEST") for line in lines)
    assert any(line.startswith(f"END RequestId: {rid}") for line in lines)
    report = [line for line in lines if line.startswith("REPORT")]
    assert report and REPORT_RE.match(report[-1]) and REPORT_RE.match(report[-1])["id"] == rid
    # Without LogType there is no LogResult.
    r, _ = nimbus.invoke(fn, {})
    assert "LogResult" not in r


def test_unhandled_error_shape(nimbus, fn):
    # An exception answers 200 with X-Amz-Function-Error Unhandled and {errorMessage, errorType, stackTrace}.
    r, body = nimbus.invoke(fn, {"fail": 42})
    assert r["StatusCode"] == 200
    assert r["FunctionError"] == "Unhandled"
    assert body["errorType"] == "OrderRejected"
    assert body["errorMessage"] == "order 42 rejected"
    assert isinstance(body["stackTrace"], list) and body["stackTrace"]
    assert any("app.py" in frame for frame in body["stackTrace"])
    # The instance survives a handled exception: next call succeeds.
    r, body = nimbus.invoke(fn, {"ok": True})
    assert "FunctionError" not in r and body["echo"] == {"ok": True}


def test_cold_then_warm_report_lines(nimbus, fname):
    # The first REPORT of an instance carries Init Duration; the next (warm) one does not.
    nimbus.create_function(fname, {"app.py": APP})
    r1, _ = nimbus.invoke(fname, {"n": 1}, LogType="Tail")
    r2, _ = nimbus.invoke(fname, {"n": 2}, LogType="Tail")
    rep1 = [line for line in base64.b64decode(r1["LogResult"]).decode().splitlines() if line.startswith("REPORT")]
    rep2 = [line for line in base64.b64decode(r2["LogResult"]).decode().splitlines() if line.startswith("REPORT")]
    m1 = REPORT_RE.match(rep1[-1])
    m2 = REPORT_RE.match(rep2[-1])
    assert m1 and m1["init"], rep1
    assert m2 and not m2["init"], rep2
    assert m1["mem"] == "128" and 1 <= int(m1["used"]) <= 128
    # The same lines are in CloudWatch Logs, exactly one REPORT per request.
    for r, cold in ((r1, True), (r2, False)):
        rid = r["ResponseMetadata"]["RequestId"]
        reports = nimbus.wait_for_log(fname, lambda m, rid=rid: m.startswith(f"REPORT RequestId: {rid}"))
        assert len(reports) == 1
        m = REPORT_RE.match(reports[0].rstrip("\n"))
        assert m, repr(reports[0])
        assert bool(m["init"]) == cold
