"""A third-party Runtime API client: AWS's own npm `aws-lambda-ric@3.3.0` against our Runtime API.

The package compiles a native addon (several minutes), so it is installed once
into a cache outside the repository ($NIMBUS_RIC_CACHE, default
~/.cache/nimbus-ric/3.3.0) and reused. The sandbox mounts only /usr, /bin,
/lib*, /etc, /var/task, /var/runtime and /tmp, so the package's runtime files
(package.json, bin/, dist/ with the built rapid-client.node) go into the zip.
"""
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from e2e_support import make_zip

VERSION = "3.3.0"
CACHE = Path(os.environ.get("NIMBUS_RIC_CACHE", Path.home() / ".cache" / "nimbus-ric" / VERSION))

HANDLER = """
exports.handler = async (event, context) => {
  console.log('ric handling', JSON.stringify(event));
  if (event.fail) { const e = new Error('ric failure'); e.name = 'RicError'; throw e; }
  return {via: 'aws-lambda-ric', event, requestId: context.awsRequestId,
          functionName: context.functionName, remaining: context.getRemainingTimeInMillis()};
};
"""

BOOTSTRAP = """#!/bin/sh
cd "$LAMBDA_TASK_ROOT"
exec /usr/bin/node "$LAMBDA_TASK_ROOT/node_modules/aws-lambda-ric/bin/index.mjs" "$_HANDLER"
"""


@pytest.fixture(scope="session")
def ric_package():
    pkg = CACHE / "node_modules" / "aws-lambda-ric"
    if not (pkg / "dist" / "rapid-client.node").exists():
        if not shutil.which("npm"):
            pytest.fail("npm is required to install aws-lambda-ric")
        tmp = CACHE.with_name(CACHE.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        # Keeps NODE_EXTRA_CA_CERTS: npm needs the CAs to reach the registry.
        p = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--prefix", str(tmp),
                            f"aws-lambda-ric@{VERSION}"], capture_output=True, text=True, timeout=1800)
        if p.returncode != 0 or not (tmp / "node_modules/aws-lambda-ric/dist/rapid-client.node").exists():
            pytest.fail(f"npm install aws-lambda-ric@{VERSION} failed:\n{p.stdout[-2000:]}\n{p.stderr[-3000:]}")
        shutil.rmtree(CACHE, ignore_errors=True)
        tmp.rename(CACHE)
    return pkg


def ric_zip(pkg):
    files = {"bootstrap": BOOTSTRAP, "index.js": HANDLER}
    for rel in ["package.json", *[str(p.relative_to(pkg)) for d in ("bin", "dist") for p in (pkg / d).rglob("*")
                                   if p.is_file()]]:
        files[f"node_modules/aws-lambda-ric/{rel}"] = (pkg / rel).read_bytes()
    return make_zip(files)


@pytest.mark.slow
def test_aws_lambda_ric_runs_node_handler(nimbus, fname, ric_package):
    # AWS's Runtime Interface Client drives a Node handler through our Runtime API unchanged.
    zip_bytes = ric_zip(ric_package)
    nimbus.create_function(fname, zip_bytes=zip_bytes, runtime="provided.al2023", handler="index.handler",
                           Timeout=20, MemorySize=256)
    r, body = nimbus.invoke(fname, {"hello": "ric"}, LogType="Tail")
    assert r["StatusCode"] == 200 and "FunctionError" not in r, body
    assert body["via"] == "aws-lambda-ric" and body["event"] == {"hello": "ric"}
    assert body["requestId"] == r["ResponseMetadata"]["RequestId"]
    assert body["functionName"] == fname and 0 < body["remaining"] <= 20000
    # Warm: same instance, second request through /next.
    r, body = nimbus.invoke(fname, {"n": 2})
    assert "FunctionError" not in r and body["event"] == {"n": 2}
    # Errors posted by the RIC to /invocation/{id}/error come back in Lambda's shape.
    r, body = nimbus.invoke(fname, {"fail": True})
    assert r["FunctionError"] == "Unhandled"
    assert body["errorType"] == "RicError" and body["errorMessage"] == "ric failure", body
    nimbus.wait_for_log(fname, lambda m: "ric handling" in m and '"hello":"ric"' in m)
    # Also confirm the response body is valid JSON text, not double-encoded.
    assert json.dumps(body)
