"""Isolation: each sandbox is contained, and Nimbus keeps serving afterwards."""
import os
import uuid

import pytest

from e2e_support import NimbusServer, b64, make_zip, wait_until

pytestmark = pytest.mark.isolation


@pytest.fixture(scope="module", params=["zygote", "exec"])
def nimbus(request, nimbus_bin, tmp_path_factory):
    """Every test here runs against both launch paths: Python instances forked
    from the fork-server must be contained exactly as exec'd ones are."""
    server = NimbusServer(tmp_path_factory.mktemp(f"nimbus-{request.param}"), ["--launch", request.param])
    server.start()
    yield server
    log = open(server.log_path, errors="replace").read()
    server.stop()
    if request.param == "zygote" and os.geteuid() == 0:
        # The fork-server served every Python instance: no launch fell back to exec.
        assert "python instances: fork from" in log, log[-2000:]
        assert "python fork-server:" not in log, log[-2000:]


def cmdlines(pids):
    out = {}
    for p in list(pids)[:10]:
        try:
            out[p] = open(f"/proc/{p}/cmdline").read().replace("\0", " ")
        except OSError:
            pass
    return out


def descendants(root):
    """Host pids descending from `root` (the server): its sandboxes and their children."""
    parent = {}
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                stat = open(f"/proc/{p}/stat").read()
                parent[int(p)] = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    out, frontier = set(), {root}
    while frontier:
        frontier = {p for p, pp in parent.items() if pp in frontier and p not in out}
        out |= frontier
    return out

SECRET = "secret-" + uuid.uuid4().hex
VICTIM = f"def handler(event, context):\n    return {{'secret': '{SECRET}'}}\n"

PROBE = r"""
import os, glob
def attempt(fn):
    try:
        return "ok:" + repr(fn())[:300]
    except Exception as e:
        return "denied:" + type(e).__name__
def find_secret(root, needle, limit=20000):
    seen = 0
    for dirpath, dirs, files in os.walk(root, onerror=lambda e: None):
        if dirpath.startswith(("/proc", "/sys", "/dev")):
            dirs[:] = []
            continue
        for f in files:
            seen += 1
            if seen > limit:
                return None
            p = os.path.join(dirpath, f)
            try:
                if os.path.getsize(p) < 1_000_000 and needle.encode() in open(p, "rb").read():
                    return p
            except Exception:
                pass
    return None
def write(path):
    with open(path, "w") as f:
        f.write("x")
    return open(path).read()
def handler(event, context):
    data_dir = os.environ["HOST_DATA_DIR"]
    pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
    cmdlines = {}
    for p in pids:
        try:
            cmdlines[p] = open(f"/proc/{p}/cmdline", "rb").read().replace(b"\0", b" ").decode()
        except Exception:
            pass
    return {
        "uid": os.getuid(),
        "data_dir": attempt(lambda: os.listdir(data_dir)),
        "data_dir_code": attempt(lambda: glob.glob(data_dir + "/**/*.py", recursive=True) or (_ for _ in ()).throw(FileNotFoundError())),
        "secret_found": find_secret("/", event["needle"]),
        "host_pid_visible": os.path.exists(f"/proc/{event['server_pid']}/cmdline") and
                             "nimbus" in attempt(lambda: open(f"/proc/{event['server_pid']}/cmdline").read()),
        "proc1_root": attempt(lambda: os.listdir(f"/proc/1/root{data_dir}")),
        "pids": pids,
        "cmdlines": cmdlines,
        "write_task": attempt(lambda: write("/var/task/x")),
        "write_etc": attempt(lambda: write("/etc/nimbus-e2e-x")),
        "write_usr": attempt(lambda: write("/usr/nimbus-e2e-x")),
        "write_tmp": attempt(lambda: write("/tmp/x")),
    }
"""

FORK_BOMB = """
import os, time
def handler(event, context):
    forked = 0
    while True:
        try:
            if os.fork() == 0:
                while True:  # every child keeps forking too
                    try:
                        os.fork()
                    except OSError:
                        time.sleep(0.01)
            forked += 1
        except OSError:
            time.sleep(0.01)
"""

OK = "def handler(event, context):\n    return {'ok': True}\n"


@pytest.fixture(scope="module")
def bystander(nimbus):
    """A normal function that must keep working after each containment test."""
    name = f"bystander-{uuid.uuid4().hex[:6]}"
    nimbus.create_function(name, {"app.py": OK})
    return name


def assert_still_serving(nimbus, bystander):
    r, body = nimbus.invoke(bystander, {})
    assert r["StatusCode"] == 200 and body == {"ok": True}


def test_filesystem_and_process_isolation(nimbus, fname, bystander):
    # A sandbox cannot read other functions' code or the data dir, cannot see host processes,
    # and can write only to /tmp (code at /var/task is read-only).
    victim = fname[:50] + "-victim"
    nimbus.create_function(victim, {"app.py": VICTIM})
    assert nimbus.invoke(victim, {})[1] == {"secret": SECRET}
    nimbus.create_function(fname, {"app.py": PROBE}, Timeout=30, MemorySize=256,
                           Environment={"Variables": {"HOST_DATA_DIR": nimbus.data_dir}})
    r, body = nimbus.invoke(fname, {"needle": SECRET, "server_pid": nimbus.proc.pid})
    assert "FunctionError" not in r, body
    assert body["uid"] != 0, "functions must run as an unprivileged uid"
    assert body["data_dir"].startswith("denied:"), body["data_dir"]
    assert body["data_dir_code"].startswith("denied:"), body["data_dir_code"]
    assert body["proc1_root"].startswith("denied:"), body["proc1_root"]
    assert body["secret_found"] is None, f"another function's code is readable at {body['secret_found']}"
    assert not body["host_pid_visible"]
    assert len(body["pids"]) <= 5, body["cmdlines"]
    for cmd in body["cmdlines"].values():
        assert "nimbus" not in cmd and "pytest" not in cmd, body["cmdlines"]
    assert body["write_task"].startswith("denied:"), body["write_task"]
    assert body["write_etc"].startswith("denied:"), body["write_etc"]
    assert body["write_usr"].startswith("denied:"), body["write_usr"]
    assert body["write_tmp"] == "ok:'x'"
    assert not os.path.exists("/etc/nimbus-e2e-x") and not os.path.exists("/usr/nimbus-e2e-x")
    assert_still_serving(nimbus, bystander)


NODE_PROBE = r"""
const fs = require('fs');
const path = require('path');
const attempt = (fn) => { try { return 'ok:' + String(fn()).slice(0, 300); } catch (e) { return 'denied:' + e.code; } };
function findSecret(dir, needle, budget = { files: 20000 }) {
  if (['/proc', '/sys', '/dev'].includes(dir)) return null;
  let entries;
  try { entries = fs.readdirSync(dir, { withFileTypes: true }); } catch { return null; }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      const found = findSecret(p, needle, budget);
      if (found) return found;
    } else if (e.isFile() && budget.files-- > 0) {
      try { if (fs.statSync(p).size < 1e6 && fs.readFileSync(p).includes(needle)) return p; } catch {}
    }
  }
  return null;
}
exports.handler = async (event) => {
  const pids = fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  return {
    uid: process.getuid(),
    secretFound: findSecret('/', event.needle),
    pids: pids.length,
    hostPid: attempt(() => fs.readFileSync(`/proc/${event.server_pid}/cmdline`)),
    dataDir: attempt(() => fs.readdirSync(event.data_dir)),
    writeTask: attempt(() => fs.writeFileSync('/var/task/x', 'x')),
    writeTmp: attempt(() => fs.writeFileSync('/tmp/x', 'x')),
  };
};
"""


def test_node_prepared_runtime_is_contained(nimbus, fname, bystander):
    # A Node function's first instance is Node's prepared runtime, started
    # before the function existed and given its code on the call: contained
    # exactly as an exec'd instance (its own code only, read-only; no host
    # process or data; an unprivileged uid).
    victim = fname[:50] + "-victim"
    nimbus.create_function(victim, {"app.py": VICTIM})
    assert nimbus.invoke(victim, {})[1] == {"secret": SECRET}
    nimbus.create_function(fname, {"index.js": NODE_PROBE}, runtime="nodejs20.x", handler="index.handler",
                           Timeout=30, MemorySize=256)
    r, body = nimbus.invoke(fname, {"needle": SECRET, "server_pid": nimbus.proc.pid,
                                    "data_dir": nimbus.data_dir}, LogType="Tail")
    assert "FunctionError" not in r, body
    assert "Launch: prepared-runtime" in b64(r["LogResult"]), b64(r["LogResult"])
    assert body["uid"] != 0
    assert body["secretFound"] is None, f"another function's code is readable at {body['secretFound']}"
    assert body["hostPid"].startswith("denied:") and body["dataDir"].startswith("denied:"), body
    assert body["pids"] <= 5, body
    assert body["writeTask"].startswith("denied:") and body["writeTmp"] == "ok:undefined", body
    assert_still_serving(nimbus, bystander)


def test_fork_bomb_is_contained(nimbus, fname, bystander):
    # A fork bomb hits the pids limit and the timeout; the caller gets an error, Nimbus keeps serving.
    # Processes are counted, so the bomb's function gets no snapshot template
    # (it would add the template and its spare copy after the first init);
    # test_snapshot.py contains copies separately.
    nimbus.create_function(fname, {"app.py": FORK_BOMB}, Timeout=3,
                           Environment={"Variables": {"NIMBUS_SNAPSHOT": "off"}})
    before = len(descendants(nimbus.proc.pid))
    r, body = nimbus.invoke(fname, {})
    assert r["StatusCode"] == 200 and r["FunctionError"] == "Unhandled", body
    assert "Task timed out" in body["errorMessage"] or body["errorType"] == "Runtime.ExitError", body
    # All the bomb's processes are gone (the sandbox was killed as a whole).
    last = {}

    def reaped():
        now = descendants(nimbus.proc.pid)
        last["now"] = (len(now), before, cmdlines(now))
        return len(now) <= before + 1
    try:
        wait_until(reaped, timeout=20, what="the fork bomb's processes to be reaped")
    except AssertionError as e:
        raise AssertionError(f"{e}: (now, before, some) = {last['now']}") from None
    assert_still_serving(nimbus, bystander)
    # The bombed function itself recovers on a fresh instance when given harmless code.
    nimbus.lambda_.update_function_code(FunctionName=fname, ZipFile=make_zip({"app.py": OK}))
    nimbus.lambda_.get_waiter("function_updated_v2").wait(FunctionName=fname, WaiterConfig={"Delay": 1, "MaxAttempts": 20})
    assert nimbus.invoke(fname, {})[1] == {"ok": True}


WHERE_AM_I = """
import os
def handler(event, context):
    return {'runtime_api': os.environ['AWS_LAMBDA_RUNTIME_API']}
"""

THIEF = r"""
import http.client
def handler(event, context):
    conn = http.client.HTTPConnection(event["target"], timeout=3)
    try:
        conn.request("GET", "/2018-06-01/runtime/invocation/next")
        r = conn.getresponse()
        return {"outcome": "answered", "status": r.status}
    except TimeoutError:
        return {"outcome": "waiting"}  # accepted: the long poll would have taken an event
    except (ConnectionError, http.client.HTTPException, OSError) as e:
        return {"outcome": "refused", "error": type(e).__name__}
"""


def test_runtime_api_serves_only_its_own_instance(nimbus, fname, bystander):
    # Lambda's Runtime API is private to its execution environment: another
    # function that connects to this instance's endpoint must not get its events.
    victim = fname[:50] + "-rapi"
    nimbus.create_function(victim, {"app.py": WHERE_AM_I})
    target = nimbus.invoke(victim, {})[1]["runtime_api"]
    nimbus.create_function(fname, {"app.py": THIEF}, Timeout=10)
    r, body = nimbus.invoke(fname, {"target": target})
    assert "FunctionError" not in r, body
    assert body["outcome"] == "refused", body
    # The victim's warm instance still gets its own events.
    assert nimbus.invoke(victim, {})[1]["runtime_api"] == target
    assert_still_serving(nimbus, bystander)
