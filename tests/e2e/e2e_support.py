"""End-to-end helpers: a real `nimbus serve` on free ports, boto3 clients, the
AWS CLI, zip builders and helpers that poll with deadlines (never sleep-then-check).
"""
import base64
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
import uuid
import zipfile
from pathlib import Path

import boto3
from botocore.config import Config

REPO = Path(__file__).resolve().parents[2]
NIMBUS_BIN = os.environ.get("NIMBUS_BIN", str(REPO / "build" / "nimbus"))
# Debian's AWS CLI (never the pyenv shim that may be first on PATH).
AWS_CLI = os.environ.get("NIMBUS_AWS_CLI") or (
    "/usr/bin/aws" if os.path.exists("/usr/bin/aws") else shutil.which("aws"))
ROLE = "arn:aws:iam::000000000000:role/lambda-role"
ACCOUNT = "000000000000"

# The test process and every subprocess it starts (the AWS CLI) talk to Nimbus
# with dummy credentials, as a user of a local emulator does.
os.environ.pop("AWS_CA_BUNDLE", None)
os.environ.pop("AWS_PROFILE", None)
os.environ["AWS_ACCESS_KEY_ID"] = "test"
os.environ["AWS_SECRET_ACCESS_KEY"] = "test"
os.environ.pop("AWS_SESSION_TOKEN", None)
os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
os.environ["AWS_PAGER"] = ""
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(cond, timeout=20.0, interval=0.05, what="condition"):
    """Polls cond() until it returns a truthy value; fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = cond()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def make_zip(files):
    """Zips {name: str|bytes} in memory; `bootstrap` and *.sh are executable."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in files.items():
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            executable = name.split("/")[-1] == "bootstrap" or name.endswith(".sh")
            info.external_attr = ((0o100755 if executable else 0o100644) << 16)
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, content if isinstance(content, bytes) else content.encode())
    return buf.getvalue()


def zip_dir(path, prefix=""):
    """Zips a directory tree (keeping modes and symlink targets' content)."""
    buf = io.BytesIO()
    path = Path(path)
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for f in sorted(path.rglob("*")):
            if f.is_dir():
                continue
            info = zipfile.ZipInfo(prefix + str(f.relative_to(path)), date_time=(2024, 1, 1, 0, 0, 0))
            info.external_attr = ((0o100000 | (f.stat().st_mode & 0o777)) << 16)
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, f.read_bytes())
    return buf.getvalue()


class CliError(Exception):
    def __init__(self, rc, stdout, stderr):
        super().__init__(f"aws CLI exit {rc}: {stderr.strip()[-2000:]}")
        self.rc, self.stdout, self.stderr = rc, stdout, stderr


class NimbusServer:
    """One `nimbus serve` process. start() / kill9() / stop() can be repeated
    on the same data dir to test durability."""

    def __init__(self, data_dir, extra_args=(), port=None, api_port=None):
        self.data_dir = str(data_dir)
        self.extra_args = list(extra_args)
        self.port = port or free_port()
        self.api_port = api_port or free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.proc = None
        self.log_path = os.path.join(tempfile.gettempdir(), f"nimbus-e2e-{uuid.uuid4().hex[:8]}.log")
        self._log = None
        self._clients = {}

    # --- lifecycle -------------------------------------------------------
    def start(self, timeout=20):
        env = dict(os.environ)
        for k in ("NODE_EXTRA_CA_CERTS", "NODE_OPTIONS", "AWS_CA_BUNDLE"):
            env.pop(k, None)
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [NIMBUS_BIN, "serve", "--port", str(self.port), "--api-port", str(self.api_port),
             "--data-dir", self.data_dir, *self.extra_args],
            stdout=self._log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nimbus serve exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.endpoint + "/_nimbus/health", timeout=2) as r:
                    if r.status == 200:
                        self._clients.clear()
                        return self
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"nimbus serve not healthy after {timeout}s:\n{self.log_tail()}")

    def kill9(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill9()
        # Sandboxed children live in the server's session; never leave them behind.
        if self.proc:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if self._log:
            self._log.close()
            self._log = None

    def log_tail(self, n=60):
        try:
            with open(self.log_path, "rb") as f:
                return b"\n".join(f.read().splitlines()[-n:]).decode(errors="replace")
        except OSError:
            return ""

    # --- clients ---------------------------------------------------------
    def client(self, service, key="test", secret="test", token=None, **cfg):
        config = Config(retries={"max_attempts": 1}, read_timeout=120, connect_timeout=10, **cfg)
        return boto3.session.Session(
            aws_access_key_id=key, aws_secret_access_key=secret, aws_session_token=token,
            region_name="us-east-1").client(service, endpoint_url=self.endpoint, config=config)

    def _cached(self, service):
        if service not in self._clients:
            self._clients[service] = self.client(service)
        return self._clients[service]

    @property
    def lambda_(self):
        return self._cached("lambda")

    @property
    def sts(self):
        return self._cached("sts")

    @property
    def iam(self):
        return self._cached("iam")

    @property
    def logs(self):
        return self._cached("logs")

    def http(self, method, path, body=None, headers=None):
        req = urllib.request.Request(self.endpoint + path, data=body, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def cli(self, *args, check=True, timeout=120, parse=True):
        """Runs `aws --endpoint-url EDGE --output json ARGS`; returns parsed JSON (or {})."""
        cmd = [AWS_CLI, "--endpoint-url", self.endpoint, "--output", "json", *args]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if p.returncode != 0:
            if check:
                raise CliError(p.returncode, p.stdout, p.stderr)
            return p
        if not parse:
            return p
        return json.loads(p.stdout) if p.stdout.strip() else {}

    def nimbus_cli(self, *args, timeout=60):
        env = dict(os.environ)
        env.pop("NODE_EXTRA_CA_CERTS", None)
        return subprocess.run([NIMBUS_BIN, *args, "--endpoint", self.endpoint],
                              capture_output=True, text=True, timeout=timeout, env=env)

    # --- Lambda helpers --------------------------------------------------
    def create_function(self, name, files=None, zip_bytes=None, runtime="python3.11",
                        handler="app.handler", wait=True, **kw):
        if zip_bytes is None:
            zip_bytes = make_zip(files)
        resp = self.lambda_.create_function(
            FunctionName=name, Runtime=runtime, Handler=handler, Role=ROLE,
            Code={"ZipFile": zip_bytes}, **kw)
        if wait:
            self.lambda_.get_waiter("function_active_v2").wait(
                FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
        return resp

    def invoke(self, name, payload=None, raw=None, **kw):
        """Invokes synchronously; returns (boto3 response, decoded JSON body or raw bytes)."""
        body = raw if raw is not None else json.dumps({} if payload is None else payload).encode()
        resp = self.lambda_.invoke(FunctionName=name, Payload=body, **kw)
        data = resp["Payload"].read() if "Payload" in resp else b""
        try:
            parsed = json.loads(data) if data else None
        except ValueError:
            parsed = data
        return resp, parsed

    def log_messages(self, name):
        group = f"/aws/lambda/{name}"
        out, token = [], None
        try:
            while True:
                kw = {"logGroupName": group}
                if token:
                    kw["nextToken"] = token
                r = self.logs.filter_log_events(**kw)
                out += [e["message"] for e in r.get("events", [])]
                token = r.get("nextToken")
                if not token or not r.get("events"):
                    return out
        except self.logs.exceptions.ResourceNotFoundException:
            return out

    def wait_for_log(self, name, predicate, timeout=20, what="log line"):
        """Polls the function's log group until some message satisfies predicate."""
        def found():
            msgs = self.log_messages(name)
            return [m for m in msgs if predicate(m)]
        return wait_until(found, timeout=timeout, interval=0.1, what=f"{what} in /aws/lambda/{name}")


def b64(s):
    return base64.b64decode(s).decode(errors="replace")


# Cold starts: the REPORT line of an Invoke with LogType=Tail, and what it says.
def every_call_cold(data_dir):
    """For a module fixture: a server that keeps no idle instance (--keep-alive
    0), so every call starts a new instance, and starts one instance per
    concurrent call (--scaling lambda)."""
    server = NimbusServer(data_dir, ["--scaling", "lambda", "--keep-alive", "0"])
    server.start()
    yield server
    server.stop()


def report_of(response):
    tail = base64.b64decode(response["LogResult"]).decode()
    return [line for line in tail.splitlines() if line.startswith("REPORT")][0]


def launch_of(report):
    m = re.search(r"\tLaunch: (\S+)$", report)
    return m.group(1) if m else None


def init_ms(report):
    return float(re.search(r"Init Duration: ([\d.]+) ms", report).group(1))


def invoke_concurrently(nimbus, name, payloads):
    """Each payload in its own thread and client; returns [(report, body, FunctionError)]."""
    results = [None] * len(payloads)

    def call(i):
        client = nimbus.client("lambda")
        r = client.invoke(FunctionName=name, Payload=json.dumps(payloads[i]).encode(), LogType="Tail")
        results[i] = (report_of(r), json.loads(r["Payload"].read()), r.get("FunctionError"))

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(payloads))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def new_instances(nimbus, name, want="snapshot", tries=40, payload=None):
    """On a server without keep-alive (each call a new instance), calls one at
    a time until a cold REPORT line says Launch: `want` (a template or a
    prepared instance is started after the previous instance's init); returns
    the cold (report, body) pairs seen."""
    cold = []
    for _ in range(tries):
        (report, body, error), = invoke_concurrently(nimbus, name, [{"sleep": 0, **(payload or {})}])
        assert error is None, body
        assert launch_of(report), report  # every call is a cold start here
        cold.append((report, body))
        if launch_of(report) == want:
            return cold
        time.sleep(0.05)
    return cold
