"""CloudWatch Logs through the AWS CLI, the Lambda CLI flow, and the nimbus CLI clients."""
import base64
import json
import uuid

import pytest

from e2e_support import make_zip, wait_until

APP = """
def handler(event, context):
    print("line from function: " + event.get("marker", "none"))
    return {"got": event}
"""


@pytest.fixture(scope="module")
def fn(nimbus, tmp_path_factory):
    """Created with the AWS CLI, exactly as scripts/run.sh deploys the examples."""
    name = f"logs-{uuid.uuid4().hex[:6]}"
    zip_path = tmp_path_factory.mktemp("zip") / "fn.zip"
    zip_path.write_bytes(make_zip({"app.py": APP}))
    out = nimbus.cli("lambda", "create-function", "--function-name", name, "--runtime", "python3.12",
                     "--handler", "app.handler", "--role", "arn:aws:iam::000000000000:role/lambda-role",
                     "--zip-file", f"fileb://{zip_path}", "--timeout", "10")
    assert out["FunctionName"] == name and out["State"] == "Pending"
    nimbus.cli("lambda", "wait", "function-active-v2", "--function-name", name)
    return name


def cli_invoke(nimbus, name, payload, tmp_path):
    out_file = tmp_path / "out.json"
    # Debian's AWS CLI is v2: raw JSON payloads need --cli-binary-format raw-in-base64-out.
    meta = nimbus.cli("lambda", "invoke", "--function-name", name, "--cli-binary-format", "raw-in-base64-out",
                      "--payload", json.dumps(payload), "--log-type", "Tail", str(out_file))
    return meta, json.loads(out_file.read_text())


def test_cli_invoke_and_filter_log_events(nimbus, fn, tmp_path):
    # `aws lambda invoke` works and `aws logs filter-log-events` shows the output and START/END/REPORT.
    marker = uuid.uuid4().hex
    meta, body = cli_invoke(nimbus, fn, {"marker": marker}, tmp_path)
    assert meta["StatusCode"] == 200 and meta["ExecutedVersion"] == "$LATEST"
    assert body == {"got": {"marker": marker}}
    assert "REPORT RequestId:" in base64.b64decode(meta["LogResult"]).decode()

    def lines():
        out = nimbus.cli("logs", "filter-log-events", "--log-group-name", f"/aws/lambda/{fn}")
        msgs = [e["message"] for e in out.get("events", [])]
        return msgs if any(marker in m for m in msgs) and any(m.startswith("REPORT") for m in msgs) else None
    msgs = wait_until(lines, what="the invocation's log lines")
    idx = next(i for i, m in enumerate(msgs) if marker in m)
    assert msgs[idx].rstrip("\n").endswith(f"line from function: {marker}")
    # START precedes and END/REPORT follow the printed line within the same request.
    assert any(m.startswith("START RequestId:") for m in msgs[:idx])
    assert any(m.startswith("END RequestId:") for m in msgs[idx:])
    assert any(m.startswith("REPORT RequestId:") for m in msgs[idx:])
    # describe-log-groups / describe-log-streams / get-log-events agree.
    groups = nimbus.cli("logs", "describe-log-groups", "--log-group-name-prefix", f"/aws/lambda/{fn}")
    assert [g["logGroupName"] for g in groups["logGroups"]] == [f"/aws/lambda/{fn}"]
    streams = nimbus.cli("logs", "describe-log-streams", "--log-group-name", f"/aws/lambda/{fn}")["logStreams"]
    assert streams
    events = []
    for s in streams:
        events += nimbus.cli("logs", "get-log-events", "--log-group-name", f"/aws/lambda/{fn}",
                             "--log-stream-name", s["logStreamName"], "--start-from-head")["events"]
    assert any(marker in e["message"] for e in events)
    # filter-log-events with a pattern narrows to matching lines.
    only = nimbus.cli("logs", "filter-log-events", "--log-group-name", f"/aws/lambda/{fn}",
                      "--filter-pattern", marker)["events"]
    assert only and all(marker in e["message"] for e in only)


def test_nimbus_cli_invoke_logs_ls(nimbus, fn):
    # The nimbus CLI's invoke/logs/ls are clients of the running server.
    marker = uuid.uuid4().hex
    p = nimbus.nimbus_cli("invoke", fn, "--payload", json.dumps({"marker": marker}))
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == {"got": {"marker": marker}}

    def logged():
        q = nimbus.nimbus_cli("logs", fn)
        return q.stdout if q.returncode == 0 and marker in q.stdout and "REPORT RequestId" in q.stdout else None
    out = wait_until(logged, what="`nimbus logs` to print the line")
    assert "START RequestId" in out and "END RequestId" in out
    p = nimbus.nimbus_cli("ls")
    assert p.returncode == 0, p.stderr
    row = next(line for line in p.stdout.splitlines() if line.split() and line.split()[0] == fn)
    assert "python3.12" in row
    # Unknown function: non-zero exit and an error message, not a crash.
    p = nimbus.nimbus_cli("invoke", "no-such-function-e2e", "--payload", "{}")
    assert p.returncode != 0 and "ResourceNotFoundException" in (p.stderr + p.stdout)


def test_cli_error_shape(nimbus):
    # The CLI shows Lambda's error code for a missing function (exit 254/255 on v2/v1).
    p = nimbus.cli("lambda", "get-function", "--function-name", "no-such-function-e2e", check=False)
    assert p.returncode != 0
    assert "ResourceNotFoundException" in p.stderr
