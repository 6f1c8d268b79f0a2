"""The runtime channel (src/faas/runtime_channel.h) as all three runtimes speak it.

Every behavioural test in this directory already runs over the channel too
(conftest.py parametrizes `api` over both transports); these tests pin down
the parts of the protocol the HTTP API has no equivalent for. Events are the
same for every runtime: {"probe": ...} reports what the handler sees,
{"echo": ...} is returned as is, {"fail": ...} raises.
"""

import json
import re
import textwrap
import time

import pytest

from harness import NODE_CMD, PYTHON_CMD

pytestmark = pytest.mark.transports("channel")

RUNTIMES = ["python", "node", "cpp"]

# Run by the handler in a child process: does the channel reach it?
CHILD = 'echo "NIMBUS_RUNTIME_FD=${NIMBUS_RUNTIME_FD-unset}"; ls -l /proc/$$/fd'

PYTHON_APP = textwrap.dedent('''
    import os
    import subprocess

    def handler(event, context):
        if "echo" in event:
            return event
        if "fail" in event:
            raise ValueError("bad input")
        cc = context.client_context
        return {
            "event": event,
            "request_id": context.aws_request_id,
            "arn": context.invoked_function_arn,
            "remaining": context.get_remaining_time_in_millis(),
            "trace": os.environ.get("_X_AMZN_TRACE_ID"),
            "client_context": None if cc is None else {"custom": cc.custom, "installation_id": cc.client.installation_id},
            "identity": context.identity.cognito_identity_id,
            "env_fd": os.environ.get("NIMBUS_RUNTIME_FD"),
            "fd3": os.readlink("/proc/self/fd/3"),
            # close_fds=False: only the channel's close-on-exec flag keeps it from the child.
            "child": subprocess.run(["/bin/sh", "-c", %r], capture_output=True, text=True, close_fds=False).stdout,
        }
''' % CHILD)

NODE_APP = textwrap.dedent('''
    const { execFileSync } = require('child_process');
    const fs = require('fs');
    exports.handler = async (event, context) => {
      if ('echo' in event) return event;
      if ('fail' in event) throw new TypeError('bad input');
      const cc = context.clientContext;
      return {
        event,
        request_id: context.awsRequestId,
        arn: context.invokedFunctionArn,
        remaining: context.getRemainingTimeInMillis(),
        trace: process.env._X_AMZN_TRACE_ID ?? null,
        client_context: cc ? { custom: cc.custom, installation_id: cc.client.installation_id } : null,
        identity: context.identity ? context.identity.cognitoIdentityId : null,
        env_fd: process.env.NIMBUS_RUNTIME_FD ?? null,
        fd3: fs.readlinkSync('/proc/self/fd/3'),
        child: execFileSync('/bin/sh', ['-c', %s], { encoding: 'utf8' }),
      };
    };
''' % json.dumps(CHILD))

ERROR_TYPES = {"python": "ValueError", "node": "TypeError", "cpp": "std::runtime_error"}
INIT_ERROR_TYPES = {"python": "RuntimeError", "node": "RangeError", "cpp": "ConfigError"}


@pytest.fixture
def start(start_function, request):
    """start(runtime, init_fails=False) -> FunctionProcess running the probe function."""

    def run(runtime, init_fails=False):
        if runtime == "python":
            app = "raise RuntimeError('no config')\n" if init_fails else PYTHON_APP
            return start_function(PYTHON_CMD, "app.handler", {"app.py": app})
        if runtime == "node":
            app = "throw new RangeError('no config');\n" if init_fails else NODE_APP
            return start_function(NODE_CMD, "index.handler", {"index.js": app})
        return start_function(request.getfixturevalue("binaries")["test"], "bootstrap",
                              env={"FAIL_INIT": "1"} if init_fails else None)

    return run


def seen(runtime, body):
    """The probe's view of client context and identity, alike for every runtime
    (the C++ SDK hands both over as raw JSON text)."""
    if runtime != "cpp":
        return body["client_context"], body["identity"]
    cc = json.loads(body["client_context"]) if body["client_context"] else None
    identity = json.loads(body["identity"]) if body["identity"] else None
    return (None if cc is None else {"custom": cc["custom"], "installation_id": cc["client"]["installation_id"]},
            None if identity is None else identity["cognitoIdentityId"])


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_one_ready_frame_then_results_imply_readiness(api, start, runtime):
    # Pins down: 'N' is sent once, unprompted, when init is over; after that only results,
    # and an idle instance blocks for its next event instead of exiting.
    fn = start(runtime)
    api.wait_first_next()
    assert api.frames == ["N"] and not api.sent_at  # ready before any event exists
    ids = [api.invoke({"echo": n}) for n in range(3)]
    ids.append(api.invoke({"fail": 1}))
    assert [api.result(i).kind for i in ids] == ["response"] * 3 + ["error"]
    time.sleep(0.2)  # room for a stray frame, or for an instance that exits when idle
    assert fn.proc.poll() is None
    assert api.result(api.invoke({"echo": "again"})).json == {"echo": "again"}
    assert api.frames == ["N", "R", "R", "R", "E", "R"]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_event_fields_reach_handler(api, start, runtime):
    # Pins down: each 'V' field lands where the handler looks for it; empty fields read as absent;
    # lengths are in bytes (multi-byte UTF-8 in both directions).
    start(runtime)
    arn = "arn:aws:lambda:eu-west-3:123456789012:function:other:prod"
    trace = "Root=1-65a1b2c3-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=0"
    event = {"probe": 1, "text": "h\u00e9llo \u2713 \U0001F329 \\0 \u0000"}
    request_id = api.invoke(event, timeout_ms=123_000, request_id="req-7f3a", arn=arn, trace_id=trace,
                            client_context={"custom": {"k": "v\u00e9"}, "client": {"installation_id": "inst-1"},
                                            "env": {}},
                            identity={"cognitoIdentityId": "id-1", "cognitoIdentityPoolId": "pool-1"})
    assert request_id == "req-7f3a"
    body = api.result(request_id).json
    assert body["event"] == event
    assert body["request_id"] == "req-7f3a" and body["arn"] == arn
    assert 113_000 < body["remaining"] <= 123_000  # the deadline field, not a default
    assert body["trace"] == trace  # as _X_AMZN_TRACE_ID
    assert seen(runtime, body) == ({"custom": {"k": "v\u00e9"}, "installation_id": "inst-1"}, "id-1")

    bare = api.result(api.invoke({"probe": 2}, trace_id="")).json
    assert bare["event"] == {"probe": 2}
    assert bare["trace"] in (None, "")  # no stale trace id from the previous event
    assert seen(runtime, bare) == (None, None)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_handler_error_is_an_E_frame(api, start, runtime):
    # Pins down: a failed invocation is an 'E' frame whose error-type field matches the payload,
    # and the instance goes on serving.
    fn = start(runtime)
    request_id = api.invoke({"fail": 1})
    result = api.result(request_id)
    assert result.kind == "error"
    assert result.headers["Lambda-Runtime-Function-Error-Type"] == result.json["errorType"] == ERROR_TYPES[runtime]
    assert result.json["errorMessage"] == "bad input"
    assert api.result(api.invoke({"echo": 1})).json == {"echo": 1}
    assert api.frames == ["N", "E", "R"] and fn.proc.poll() is None


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_init_failure_is_an_I_frame(api, start, runtime):
    # Pins down: a failed init sends one 'I' frame (error type field + payload), never 'N', then exits.
    fn = start(runtime, init_fails=True)
    init_error = api.wait_init_error()
    error_type = INIT_ERROR_TYPES[runtime]
    assert init_error.headers["Lambda-Runtime-Function-Error-Type"] == init_error.json["errorType"] == error_type
    assert init_error.json["errorMessage"] in ("no config", 'missing "TABLE" setting')
    assert fn.wait_exit() != 0
    assert api.frames == ["I"]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_channel_not_visible_to_handler_or_children(api, start, runtime):
    # Pins down: NIMBUS_RUNTIME_FD is gone from the handler's environment and fds 3 and 4 are
    # close-on-exec, so a process the handler spawns inherits none of them.
    start(runtime)
    body = api.result(api.invoke({"probe": 1})).json
    assert body["env_fd"] is None
    assert body["fd3"] == api.channel_link  # the runtime itself does hold the channel as fd 3...
    child = body["child"]
    assert child.startswith("NIMBUS_RUNTIME_FD=unset\n")
    assert re.search(r" 2 -> \S", child), child  # (the listing worked)
    assert api.channel_link not in child, child  # ...but its child does not,
    assert api.channel_out_link not in child, child  # nor the results pipe


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_large_payload_round_trip(api, start, runtime):
    # Pins down: a 5 MB event and response are framed and reassembled whole (many reads and writes).
    start(runtime)
    text = "0123456789abcdef\u00fc\u2713" * 250_000  # 21 bytes of UTF-8 per 18 characters
    raw = json.dumps({"echo": text}, ensure_ascii=False).encode()
    assert len(raw) > 5_000_000
    result = api.result(api.invoke(None, raw=raw))
    assert result.kind == "response"
    assert result.json == {"echo": text}
    assert api.result(api.invoke({"echo": "next"})).json == {"echo": "next"}  # the stream is still in step


def test_node_callback_waits_for_timer_over_channel(api, start_function):
    # Pins down: with callbackWaitsForEmptyEventLoop (default), a pending timer delays the 'R' frame.
    app = textwrap.dedent('''
        exports.handler = (event, context, callback) => {
          setTimeout(() => console.log('timer fired'), 300);
          callback(null, 'done');
        };
    ''')
    start_function(NODE_CMD, "index.handler", {"index.js": app})
    request_id = api.invoke({})
    result = api.result(request_id)
    assert result.json == "done" and "timer fired" in result.output
    assert result.at - api.sent_at[request_id] >= 0.25  # (timer granularity)


def test_node_callback_without_waiting_over_channel(api, start_function):
    # Pins down: with callbackWaitsForEmptyEventLoop = false, the 'R' frame goes out at once
    # despite a pending timer, and the next event is served while the timer is still pending.
    app = textwrap.dedent('''
        exports.handler = (event, context, callback) => {
          context.callbackWaitsForEmptyEventLoop = false;
          setTimeout(() => console.log('late timer'), 3000);
          callback(null, event);
        };
    ''')
    start_function(NODE_CMD, "index.handler", {"index.js": app})
    first = api.invoke({"n": 1})
    assert api.result(first).json == {"n": 1}
    second = api.result(api.invoke({"n": 2}))
    assert second.json == {"n": 2}
    assert second.at - api.sent_at[first] < 2.5 and "late timer" not in second.output
