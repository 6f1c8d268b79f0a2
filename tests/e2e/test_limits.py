"""Limits: reserved concurrency throttling, timeouts, memory kills."""
import base64
import json
import threading
import time

import pytest
from botocore.exceptions import ClientError

from e2e_support import wait_until


SLOW = """
import time
def handler(event, context):
    time.sleep(event.get("sleep", 0))
    return {"slept": event.get("sleep", 0)}
"""

HOG = """
def handler(event, context):
    chunks = []
    for _ in range(event.get("mb", 400)):
        chunks.append(bytearray(1024 * 1024))  # touched pages: really resident
        chunks[-1][::4096] = b"x" * len(chunks[-1][::4096])
    return {"allocated_mb": len(chunks)}
"""

OK = "def handler(event, context):\n    return {'ok': True}\n"


def throttle_code(exc):
    r = exc.response
    return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"]


def test_reserved_concurrency_one_throttles_second_caller(nimbus, fname):
    # With reserved concurrency 1, of two concurrent slow invokes one runs and one gets 429.
    nimbus.create_function(fname, {"app.py": SLOW}, Timeout=10)
    nimbus.lambda_.put_function_concurrency(FunctionName=fname, ReservedConcurrentExecutions=1)
    nimbus.invoke(fname, {})  # warm the single instance
    barrier = threading.Barrier(2)
    results = [None, None]

    def call(i):
        barrier.wait()
        try:
            results[i] = nimbus.invoke(fname, {"sleep": 2})
        except ClientError as e:
            results[i] = e

    threads = [threading.Thread(target=call, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    errors = [r for r in results if isinstance(r, ClientError)]
    oks = [r for r in results if isinstance(r, tuple)]
    assert len(errors) == 1 and len(oks) == 1, results
    assert throttle_code(errors[0]) == ("TooManyRequestsException", 429)
    assert errors[0].response.get("Reason") == "ReservedFunctionConcurrentInvocationLimitExceeded"
    r, body = oks[0]
    assert "FunctionError" not in r and body == {"slept": 2}


def test_reserved_concurrency_zero_throttles_everything(nimbus, fname):
    # Reserved concurrency 0 disables the function: every invoke is 429.
    nimbus.create_function(fname, {"app.py": OK})
    nimbus.lambda_.put_function_concurrency(FunctionName=fname, ReservedConcurrentExecutions=0)
    for _ in range(3):
        with pytest.raises(ClientError) as e:
            nimbus.invoke(fname, {})
        assert throttle_code(e.value) == ("TooManyRequestsException", 429)
    nimbus.lambda_.delete_function_concurrency(FunctionName=fname)
    r, body = nimbus.invoke(fname, {})
    assert body == {"ok": True}


def test_timeout_kills_and_next_invoke_is_cold(nimbus, fname):
    # Timeout=1 with a 5 s handler: "Task timed out after 1.00 seconds"; the next call is a fresh instance.
    nimbus.create_function(fname, {"app.py": SLOW}, Timeout=1)
    r, body = nimbus.invoke(fname, {"sleep": 5}, LogType="Tail")
    assert r["StatusCode"] == 200 and r["FunctionError"] == "Unhandled"
    assert "Task timed out after 1.00 seconds" in body["errorMessage"]
    assert "Task timed out after 1.00 seconds" in base64.b64decode(r["LogResult"]).decode()
    r, body = nimbus.invoke(fname, {"sleep": 0}, LogType="Tail")
    assert "FunctionError" not in r and body == {"slept": 0}, (body, r.get("LogResult"))
    report = [line for line in base64.b64decode(r["LogResult"]).decode().splitlines() if line.startswith("REPORT")]
    assert report and "Init Duration" in report[-1], report


@pytest.mark.isolation
def test_memory_limit_kills_with_exit_error(nimbus, fname):
    # Allocating 400 MB in a 128 MB function kills the instance: Runtime.ExitError; Nimbus keeps serving.
    nimbus.create_function(fname, {"app.py": HOG}, MemorySize=128, Timeout=20)
    r, body = nimbus.invoke(fname, {"mb": 400})
    assert r["StatusCode"] == 200 and r["FunctionError"] == "Unhandled", body
    assert body["errorType"] == "Runtime.ExitError", body
    assert "Runtime exited with error" in body["errorMessage"]
    # The same function recovers with a fresh instance for a small allocation ...
    r, body = nimbus.invoke(fname, {"mb": 10})
    assert "FunctionError" not in r and body == {"allocated_mb": 10}, body
    # ... and other functions are unaffected.
    other = fname[:50] + "-ok"
    nimbus.create_function(other, {"app.py": OK})
    assert nimbus.invoke(other, {})[1] == {"ok": True}


def test_io_bound_calls_still_scale_out_one_instance_each(nimbus, fname):
    # Lambda runs each concurrent invocation in its own execution environment.
    # Nimbus's adaptive scaling only holds calls back while instances wait for
    # a CPU; calls that sleep (as if waiting on a network call) never do, so 8
    # concurrent 1-second calls, after a round that measured them, finish
    # together in about one second, not one after another.
    nimbus.create_function(fname, {"app.py": SLOW}, Timeout=10)

    def round_of(n):
        barrier = threading.Barrier(n)
        results = [None] * n

        def call(i):
            barrier.wait()
            results[i] = nimbus.invoke(fname, {"sleep": 1})

        threads = [threading.Thread(target=call, args=(i,)) for i in range(n)]
        start = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        return time.monotonic() - start, results

    round_of(8)  # cold starts, and samples of the instances' CPU wait
    elapsed, results = round_of(8)
    assert all(r is not None and r[1] == {"slept": 1} for r in results), results
    assert elapsed < 3.0, f"8 concurrent 1 s calls took {elapsed:.2f} s: they were serialised"


SPIN = """
import time
def handler(event, context):
    end = time.perf_counter() + 0.003
    while time.perf_counter() < end:
        pass
    print(f"call {event['n']}")
    return {"n": event["n"], "rid": context.aws_request_id}
"""


def stream_events(nimbus, name):
    events, token = [], None
    while True:
        kw = {"logGroupName": f"/aws/lambda/{name}"}
        if token:
            kw["nextToken"] = token
        r = nimbus.logs.filter_log_events(**kw)
        events += r.get("events", [])
        token = r.get("nextToken")
        if not token or not r.get("events"):
            return events


def test_cpu_bound_calls_queued_behind_running_ones_keep_their_own_answers(nimbus, fname):
    # Lambda gives every invocation its own answer and brackets its log lines
    # with START, END and REPORT. Many concurrent CPU-bound calls on a small
    # host make Nimbus queue calls inside running instances (ARCHITECTURE,
    # "Queued behind"): each caller must still get its own result, exactly
    # once, and every log stream must show START/END/REPORT of one call at a
    # time, in order, once per call.
    nimbus.create_function(fname, {"app.py": SPIN}, Timeout=30)
    callers, per_caller = 16, 12
    results = {}
    lock = threading.Lock()

    def caller(c):
        client = nimbus.client("lambda")
        for k in range(per_caller):
            n = c * per_caller + k
            r = client.invoke(FunctionName=fname, Payload=json.dumps({"n": n}).encode())
            body = json.loads(r["Payload"].read())
            with lock:
                results[n] = (r.get("FunctionError"), body)

    threads = [threading.Thread(target=caller, args=(c,)) for c in range(callers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    total = callers * per_caller
    assert len(results) == total
    assert all(err is None and body["n"] == n for n, (err, body) in results.items()), results
    request_ids = {body["rid"] for _, body in results.values()}
    assert len(request_ids) == total  # no call ran twice or answered another's caller

    def complete():
        events = stream_events(nimbus, fname)
        reports = [e for e in events if e["message"].startswith("REPORT")]
        return events if len(reports) >= total else None

    events = wait_until(complete, timeout=20, interval=0.2, what="a REPORT line per call")
    by_stream = {}
    for e in events:
        by_stream.setdefault(e["logStreamName"], []).append(e["message"])
    seen = set()
    for stream, messages in by_stream.items():
        platform = [m.split("\t")[0] for m in messages if m.startswith(("START", "END", "REPORT"))]
        assert len(platform) % 3 == 0, (stream, platform)
        for i in range(0, len(platform), 3):
            start, end, report = platform[i:i + 3]
            rid = start.split()[2]
            assert start.startswith("START RequestId: ") and end == f"END RequestId: {rid}", (stream, platform[i:i + 3])
            assert report == f"REPORT RequestId: {rid}", (stream, platform[i:i + 3])
            assert rid not in seen
            seen.add(rid)
    assert seen == request_ids
