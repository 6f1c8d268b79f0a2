"""A throwaway `nimbus serve` for the Python benchmarks (burst.py, memory_cpu.py,
cold_start.py).

Same conventions as lib.sh: a fresh data dir and free ports,
no --credentials (so requests need no SigV4 signature), AWS test credentials
for boto3, which the benchmarks use only for the control plane.
"""

import contextlib
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from pathlib import Path

import boto3
from botocore.config import Config

ROOT = Path(__file__).resolve().parent.parent


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def nimbus_bin():
    """NIMBUS_BIN, else the most recently built of the usual build dirs (a stale
    build-bench/ must not silently win over a fresh build-lead/)."""
    if os.environ.get("NIMBUS_BIN"):
        return os.environ["NIMBUS_BIN"]
    found = [ROOT / b / "nimbus" for b in ("build-bench", "build", "build-lead")]
    found = [p for p in found if p.exists()]
    if not found:
        sys.exit("no nimbus binary; set NIMBUS_BIN")
    return str(max(found, key=lambda p: p.stat().st_mtime))


def zip_source(files: dict) -> bytes:
    """A deployment zip from {name: text}."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, text in files.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o644 << 16
            z.writestr(info, text)
    return buf.getvalue()


def pct(values, p):
    """Nearest-rank percentile (same rule as cold_start.py)."""
    v = sorted(values)
    return v[min(len(v) - 1, max(0, round(p / 100 * len(v) + 0.5) - 1))]


def loadavg():
    return " ".join(open("/proc/loadavg").read().split()[:3])


@contextlib.contextmanager
def serve(*extra_args, keep_log=False):
    """Starts `nimbus serve EXTRA_ARGS`; yields (endpoint, health, boto3 lambda client, log path)."""
    port, api_port = free_port(), free_port()
    data = tempfile.mkdtemp(prefix="nimbus-bench.")
    log_path = data + ".log"
    env = {k: v for k, v in os.environ.items() if k != "NODE_EXTRA_CA_CERTS"}
    log = open(log_path, "w")
    cmd = [nimbus_bin(), "serve", "--port", str(port), "--api-port", str(api_port), "--data-dir", data,
           *extra_args]
    server = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                health = json.load(urllib.request.urlopen(endpoint + "/_nimbus/health", timeout=1))
                break
            except OSError:
                if server.poll() is not None:
                    sys.exit("nimbus serve exited:\n" + open(log_path).read())
                time.sleep(0.05)
        else:
            sys.exit("nimbus serve did not come up")
        lam = boto3.client("lambda", endpoint_url=endpoint, region_name="us-east-1",
                           aws_access_key_id="test", aws_secret_access_key="test",
                           config=Config(retries={"max_attempts": 1}, read_timeout=120))
        health["pid"] = server.pid
        health["command"] = " ".join(cmd)
        yield endpoint, health, lam, log_path
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(60)  # hundreds of instances to kill and reap
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
        shutil.rmtree(data, ignore_errors=True)
        if not keep_log:
            os.unlink(log_path)


def wait_active(lam, name):
    for _ in range(600):
        if lam.get_function_configuration(FunctionName=name).get("State") == "Active":
            return
        time.sleep(0.05)
    sys.exit(f"{name} never became Active")
