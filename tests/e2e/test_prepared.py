"""Prepared instances (faas/sandbox_launcher.h): after an instance of a Node or
`provided` function finished its init, Nimbus starts the function's next
instance ahead: its sandbox built and, for Node, its runtime running; it waits
for its environment, which the next launch hands over ("Launch: prepared" on
the REPORT line). Nimbus behaviour with no AWS counterpart; what must hold is
what a Lambda user expects of any new instance: its own init, environment, log
stream and limits, and nothing of an older configuration."""
import json
import time

import pytest

from e2e_support import every_call_cold, invoke_concurrently, launch_of, make_zip, new_instances

pytestmark = pytest.mark.isolation  # prepared instances exist only for isolated instances

NODE_FUNCTION = r"""
const fs = require('fs');
const os = require('os');
const INIT_ID = Math.random().toString(16).slice(2);  // run at each instance's init
const MINE_AT_INIT = process.env.MINE;
exports.handler = async (event, context) => {
  console.log('handled by', INIT_ID);
  if (event.allocate_mb) Buffer.alloc(event.allocate_mb << 20, 1);
  await new Promise((resolve) => setTimeout(resolve, (event.sleep || 0) * 1000));
  let taskWritable = true;
  try { fs.writeFileSync('/var/task/x', 'x'); } catch { taskWritable = false; }
  const tmp = fs.statfsSync('/tmp');
  return {
    taskWritable, tmpBytes: tmp.bsize * tmp.blocks, code: fs.readdirSync('/var/task'),
    cwd: process.cwd(), cwdFiles: fs.readdirSync('.'),
    init: INIT_ID, mineAtInit: MINE_AT_INIT, mine: process.env.MINE || null,
    stream: context.logStreamName, envStream: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    handoverFd: process.env.NIMBUS_HANDOVER_FD || null, host: os.hostname(), uid: process.getuid(),
  };
};
"""


@pytest.fixture(scope="module")
def nimbus(nimbus_bin, tmp_path_factory):
    yield from every_call_cold(tmp_path_factory.mktemp("nimbus-prepared"))


def create_node(nimbus, name, **kw):
    nimbus.create_function(name, {"index.js": NODE_FUNCTION}, runtime="nodejs20.x",
                           handler="index.handler", **kw)


def test_node_instances_start_prepared_with_their_own_environment(nimbus, fname):
    # Each new instance runs the function's init itself (unlike a snapshot),
    # sees its own log stream and the function's variables, and its output
    # reaches its own log tail; nothing of the handover shows.
    create_node(nimbus, fname, Environment={"Variables": {"MINE": "v1"}})
    first = new_instances(nimbus, fname, want="exec", tries=1)
    assert first and launch_of(first[0][0]) in ("exec", "prepared-runtime"), first
    cold = new_instances(nimbus, fname, want="prepared")
    report, body = cold[-1]
    assert launch_of(report) == "prepared", [r for r, _ in cold]
    assert "Init Duration" in report
    assert body["mine"] == "v1" and body["mineAtInit"] == "v1"
    assert body["handoverFd"] is None
    assert body["stream"] == body["envStream"]
    bodies = [b for _, b in cold] + [b for _, b, _ in invoke_concurrently(nimbus, fname, [{"sleep": 0.3}] * 3)]
    assert len({b["init"] for b in bodies}) == len(bodies), "every instance ran its own init"
    assert len({b["stream"] for b in bodies}) == len(bodies), "every instance has its own log stream"
    r = nimbus.lambda_.invoke(FunctionName=fname, Payload=b"{}", LogType="Tail")
    tail = __import__("base64").b64decode(r["LogResult"]).decode()
    body = json.loads(r["Payload"].read())
    assert f"handled by {body['init']}" in tail, tail


def test_configuration_change_discards_the_prepared_instance(nimbus, fname):
    # A prepared instance belongs to one revision: after a configuration
    # change no instance may start with the old variables.
    create_node(nimbus, fname, Environment={"Variables": {"MINE": "old"}})
    nimbus.invoke(fname, {})
    assert launch_of(new_instances(nimbus, fname, want="prepared")[-1][0]) == "prepared"
    nimbus.lambda_.update_function_configuration(FunctionName=fname,
                                                 Environment={"Variables": {"MINE": "new"}})
    nimbus.lambda_.get_waiter("function_updated_v2").wait(FunctionName=fname,
                                                          WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    cold = new_instances(nimbus, fname, want="prepared")
    assert launch_of(cold[0][0]) in ("exec", "prepared-runtime"), cold[0][0]
    assert launch_of(cold[-1][0]) == "prepared", [r for r, _ in cold]
    assert all(b["mine"] == "new" and b["mineAtInit"] == "new" for _, b in cold), cold


def test_code_update_discards_the_prepared_instance(nimbus, fname):
    create_node(nimbus, fname)
    nimbus.invoke(fname, {})
    assert launch_of(new_instances(nimbus, fname, want="prepared")[-1][0]) == "prepared"
    nimbus.lambda_.update_function_code(
        FunctionName=fname,
        ZipFile=make_zip({"index.js": "exports.handler = async () => ({version: 2});"}))
    nimbus.lambda_.get_waiter("function_updated_v2").wait(FunctionName=fname,
                                                          WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    cold = new_instances(nimbus, fname, want="prepared")
    assert launch_of(cold[-1][0]) == "prepared", [r for r, _ in cold]
    assert all(b == {"version": 2} for _, b in cold), cold


def test_prepared_instances_keep_their_limits(nimbus, fname):
    # Its memory limit is the function's: 200 MB in a 128 MB instance fails
    # that call, and the function goes on starting prepared instances.
    create_node(nimbus, fname, MemorySize=128)
    nimbus.invoke(fname, {})
    assert launch_of(new_instances(nimbus, fname, want="prepared")[-1][0]) == "prepared"
    (report, body, error), = invoke_concurrently(nimbus, fname, [{"allocate_mb": 200}])
    assert error, (report, body)
    assert launch_of(new_instances(nimbus, fname, want="prepared")[-1][0]) == "prepared"


def test_provided_instances_exec_on_handover(nimbus, fname, cpp_zip):
    # A `provided` bootstrap is the user's program: its prepared instance
    # waits in its sandbox before exec, and execs it with the instance's
    # environment when the call comes.
    nimbus.create_function(fname, zip_bytes=cpp_zip, runtime="provided.al2023", handler="bootstrap")
    first = new_instances(nimbus, fname, want="exec", tries=1, payload={"name": "first"})
    assert launch_of(first[0][0]) in ("exec", "prepared-runtime"), first
    cold = new_instances(nimbus, fname, want="prepared", payload={"name": "cpp"})
    report, body = cold[-1]
    assert launch_of(report) == "prepared", [r for r, _ in cold]
    assert body["echo"] == {"sleep": 0, "name": "cpp"}
    assert 0 < body["remaining_time_ms"] <= 3000


def test_a_node_functions_first_instance_takes_the_prepared_runtime(nimbus, fname):
    # Nimbus keeps one sandboxed Node, started with no function: the first
    # instance of a Node function (which has no prepared instance of its own
    # yet) is that process, given the function's code (read-only), /tmp size,
    # memory limit and environment. Another function's first instance gets
    # the next one.
    create_node(nimbus, fname, MemorySize=128, EphemeralStorage={"Size": 1024},
                Environment={"Variables": {"MINE": "first"}})
    (report, body, error), = invoke_concurrently(nimbus, fname, [{}])
    assert error is None, body
    assert launch_of(report) == "prepared-runtime", report
    assert body["mine"] == "first" and body["mineAtInit"] == "first" and body["handoverFd"] is None
    assert body["code"] == ["index.js"] and body["taskWritable"] is False
    # Its working directory is the function's code, as on Lambda (not the
    # empty directory the code was mounted over).
    assert body["cwd"] == "/var/task" and body["cwdFiles"] == ["index.js"], body
    assert body["tmpBytes"] == 1024 << 20
    # Its memory limit is the function's (128 MB), not the runtime's.
    other = fname + "-2"
    create_node(nimbus, other, MemorySize=128)
    for _ in range(100):  # the next prepared runtime starts after the first instance's init
        (report, body, error), = invoke_concurrently(nimbus, other, [{"allocate_mb": 200}])
        if launch_of(report) == "prepared-runtime":
            break
        time.sleep(0.05)
    assert launch_of(report) == "prepared-runtime" and error, (report, body)


def test_a_provided_functions_first_instance_takes_the_prepared_runtime(nimbus, fname, cpp_zip):
    # The same for `provided`: a sandbox that waits before exec, started with
    # no function, gets the function's code mounted and execs its bootstrap
    # (from /var/task, its working directory) with the instance's environment.
    nimbus.create_function(fname, zip_bytes=cpp_zip, runtime="provided.al2023", handler="bootstrap",
                           MemorySize=128)
    (report, body, error), = invoke_concurrently(nimbus, fname, [{"name": "first"}])
    assert error is None, body
    assert launch_of(report) == "prepared-runtime", report
    assert body["echo"] == {"name": "first"} and 0 < body["remaining_time_ms"] <= 3000


def test_node_options_keep_a_function_off_the_prepared_runtime(nimbus, fname):
    # Node reads NODE_* variables only at start: a function that sets one
    # cannot take a Node started before it was known.
    create_node(nimbus, fname, Environment={"Variables": {"NODE_OPTIONS": "--max-old-space-size=100"}})
    (report, body, error), = invoke_concurrently(nimbus, fname, [{}])
    assert error is None and launch_of(report) == "exec", report


def test_a_function_can_opt_out(nimbus, fname):
    create_node(nimbus, fname, Environment={"Variables": {"NIMBUS_SNAPSHOT": "off"}})
    nimbus.invoke(fname, {})
    cold = new_instances(nimbus, fname, want="prepared", tries=5)
    assert all(launch_of(r) == "exec" for r, _ in cold), cold  # nor the runtime's
