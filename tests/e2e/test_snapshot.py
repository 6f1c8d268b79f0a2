"""Per-function snapshots (sandbox/fork_template.h): after a Python function's
first init, Nimbus keeps a template of it that ran its global-scope code, and
later instances fork from it ("Launch: snapshot" on their REPORT line). Nimbus
behaviour with no direct AWS counterpart (Lambda SnapStart is the nearest);
what must hold is what a Lambda user expects of any new instance."""
import os
import re
import time

import pytest

from e2e_support import every_call_cold, init_ms, invoke_concurrently, launch_of, new_instances, report_of

pytestmark = pytest.mark.isolation  # snapshots exist only for isolated instances

INIT_MARK = r"""
import os, time, uuid, subprocess
import boto3
INIT_ID = uuid.uuid4().hex            # run once per init: a template's copies share it
CLIENT = boto3.client("dynamodb")     # the chapter's "client outside the handler"
VERSION = "{version}"

def handler(event, context):
    if event.get("child"):
        subprocess.Popen(["sleep", event["child"]])
    if event.get("allocate_mb"):
        hog = bytearray(event["allocate_mb"] << 20)
        for i in range(0, len(hog), 4096):
            hog[i] = 1
    time.sleep(event.get("sleep", 0))
    procs = [p for p in os.listdir("/proc") if p.isdigit()]
    return {{"init": INIT_ID, "version": VERSION, "procs": len(procs),
             "region": CLIENT.meta.region_name, "stream": context.log_stream_name,
             "env": os.environ.get("MINE")}}
"""

THREAD_AT_IMPORT = r"""
import threading, time
threading.Thread(target=time.sleep, args=(3600,), daemon=True).start()
def handler(event, context):
    time.sleep(event.get("sleep", 0))
    return {"ok": True}
"""

SOCKET_AT_IMPORT = r"""
import os, socket, urllib.parse
_url = urllib.parse.urlparse(os.environ["AWS_ENDPOINT_URL"])
CONNECTION = socket.create_connection((_url.hostname, _url.port))
def handler(event, context):
    return {"ok": True}
"""


@pytest.fixture(scope="module")
def nimbus(nimbus_bin, tmp_path_factory):
    yield from every_call_cold(tmp_path_factory.mktemp("nimbus-snapshots"))


def test_later_instances_fork_from_the_snapshot(nimbus, fname):
    # Later instances start at their first event: their init (boto3 import,
    # client construction) ran once, in the template. Each still gets its own
    # environment (log stream) and the function's variables.
    nimbus.create_function(fname, {"app.py": INIT_MARK.format(version="v1")}, MemorySize=256,
                           Environment={"Variables": {"MINE": "yes"}})
    r = nimbus.lambda_.invoke(FunctionName=fname, Payload=b"{}", LogType="Tail")
    first = report_of(r)
    first_body = __import__("json").loads(r["Payload"].read())
    assert launch_of(first) in ("fork-server", "exec"), first

    cold = new_instances(nimbus, fname)
    snapshots = [(rep, body) for rep, body in cold if launch_of(rep) == "snapshot"]
    assert snapshots, [rep for rep, _ in cold]
    report, body = snapshots[0]
    # Concurrent calls: each its own copy of the same template.
    for rep, b, error in invoke_concurrently(nimbus, fname, [{"sleep": 0.3}] * 3):
        assert error is None and launch_of(rep) == "snapshot", rep
        snapshots.append((rep, b))
    # The template ran its own init, once: not the first instance's.
    assert body["init"] != first_body["init"]
    assert all(b["init"] == body["init"] for _, b in snapshots)
    assert body["region"] == "us-east-1" and body["env"] == "yes" and body["version"] == "v1"
    streams = {b["stream"] for _, b in snapshots} | {first_body["stream"]}
    assert len(streams) == len(snapshots) + 1, "each instance has its own log stream"
    # Its Init Duration is the fork, not the import of boto3.
    assert init_ms(report) < init_ms(first), (report, first)
    # Per-instance memory accounting (its own cgroup): a number, not the template's.
    assert re.search(r"Max Memory Used: \d+ MB", report)


def test_code_update_discards_the_snapshot(nimbus, fname):
    # New code means new init: no instance after UpdateFunctionCode may come
    # from a template of the old code.
    nimbus.create_function(fname, {"app.py": INIT_MARK.format(version="v1")})
    nimbus.invoke(fname, {})
    assert any(launch_of(r) == "snapshot" for r, _ in new_instances(nimbus, fname))

    from e2e_support import make_zip

    nimbus.lambda_.update_function_code(FunctionName=fname,
                                        ZipFile=make_zip({"app.py": INIT_MARK.format(version="v2")}))
    nimbus.lambda_.get_waiter("function_updated_v2").wait(FunctionName=fname,
                                                          WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    r, body = nimbus.invoke(fname, {})
    assert body["version"] == "v2"
    cold = new_instances(nimbus, fname)
    assert cold and all(b["version"] == "v2" for _, b in cold), cold
    assert any(launch_of(r) == "snapshot" for r, _ in cold), [r for r, _ in cold]


@pytest.mark.parametrize("code, reason", [(THREAD_AT_IMPORT, "thread(s) running after init"),
                                          (SOCKET_AT_IMPORT, "socket(s) open after init")],
                         ids=["thread", "socket"])
def test_init_that_is_not_fork_safe_is_not_snapshotted(nimbus, fname, code, reason):
    # A fork keeps only the forking thread, and copies would share a socket
    # (one connection, several writers): a function whose init started a
    # thread or opened a connection is detected and its instances start the
    # usual way, which the REPORT line says.
    nimbus.create_function(fname, {"app.py": code})
    nimbus.invoke(fname, {})
    cold = new_instances(nimbus, fname, tries=6)
    assert cold and all(launch_of(r) != "snapshot" for r, _ in cold), cold
    log = open(nimbus.log_path, errors="replace").read()
    assert f"{fname}:$LATEST: no snapshot" in log and reason in log, log[-1500:]


def test_a_function_can_opt_out(nimbus, fname):
    nimbus.create_function(fname, {"app.py": INIT_MARK.format(version="v1")},
                           Environment={"Variables": {"NIMBUS_SNAPSHOT": "off"}})
    nimbus.invoke(fname, {})
    cold = new_instances(nimbus, fname, tries=6)
    assert cold and all(launch_of(r) != "snapshot" for r, _ in cold), cold


def host_processes(argv):
    """Host pids whose command line is exactly `argv`."""
    found = []
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                if open(f"/proc/{p}/cmdline", "rb").read().split(b"\0")[:-1] == argv:
                    found.append(int(p))
            except OSError:
                pass
    return found


def test_snapshot_instances_keep_their_limits(nimbus, fname):
    # A forked instance is contained as any other: its memory limit is its
    # own (the template keeps serving after a copy is OOM-killed), a timeout
    # kills it and every process it started, and it sees no host process.
    nimbus.create_function(fname, {"app.py": INIT_MARK.format(version="v1")}, MemorySize=128, Timeout=2)
    nimbus.invoke(fname, {})
    assert any(launch_of(r) == "snapshot" for r, _ in new_instances(nimbus, fname))

    # Few processes visible: the template, its copies, no host process.
    results = invoke_concurrently(nimbus, fname, [{"sleep": 0.3}] * 3)
    assert all(body["procs"] < 10 for _, body, _ in results), results

    # Timeout: the instance and its child process are gone afterwards.
    marker = "987.%d" % (os.getpid() % 1000)
    r = invoke_concurrently(nimbus, fname, [{"sleep": 10, "child": marker}, {"sleep": 0.3}])
    timed_out = [x for x in r if x[2]]
    assert timed_out and "Task timed out" in str(timed_out[0][1]), r
    deadline = time.monotonic() + 5
    while host_processes([b"sleep", marker.encode()]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not host_processes([b"sleep", marker.encode()])

    # Memory: 200 MB in a 128 MB instance fails that call only.
    r = invoke_concurrently(nimbus, fname, [{"sleep": 0.3, "allocate_mb": 200}, {"sleep": 0.3}])
    assert any(x[2] for x in r), r
    cold = new_instances(nimbus, fname)
    assert any(launch_of(rep) == "snapshot" for rep, _ in cold), cold


def test_memory_budget_bounds_idle_instances(server_factory, fname):
    # --memory-budget-mb bounds idle instances and templates together: with
    # 200 MB, a 256 MB function's instance cannot stay idle, so every call is
    # a cold start (served by a copy of its template once that is ready).
    server = server_factory(extra_args=["--memory-budget-mb", "200"])
    server.create_function(fname, {"app.py": INIT_MARK.format(version="v1")}, MemorySize=256)
    launches = []
    for _ in range(4):
        r = server.lambda_.invoke(FunctionName=fname, Payload=b"{}", LogType="Tail")
        assert "FunctionError" not in r, r["Payload"].read()
        launches.append(launch_of(report_of(r)))
        time.sleep(0.2)
    assert None not in launches, launches  # no warm call: nothing stayed idle
