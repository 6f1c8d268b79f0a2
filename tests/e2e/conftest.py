"""Fixtures for the end-to-end suite: a real `nimbus serve` on free ports
(session-scoped), extra servers for restart/auth/reset tests, unique function
names, and the C++ example build. Helpers live in e2e_support.py."""
import os
import subprocess
import uuid

import boto3
import pytest
from botocore.config import Config

from e2e_support import NIMBUS_BIN, REPO, NimbusServer, make_zip


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: long-running (still part of the default suite)")
    config.addinivalue_line("markers", "isolation: needs the sandbox (Nimbus running as root)")


@pytest.fixture(autouse=True)
def _needs_isolation(request):
    """Sandbox tests run wherever Nimbus can isolate (as root, as on CI); elsewhere
    Nimbus runs with isolation off, as documented, and they cannot apply."""
    if request.node.get_closest_marker("isolation") and os.geteuid() != 0:
        pytest.skip("isolation needs root: Nimbus runs functions unisolated here")


@pytest.fixture(scope="session")
def nimbus_bin():
    if not os.access(NIMBUS_BIN, os.X_OK):
        pytest.fail(f"NIMBUS_BIN={NIMBUS_BIN} is not an executable; build it first")
    return NIMBUS_BIN


@pytest.fixture(scope="session")
def nimbus(nimbus_bin, tmp_path_factory):
    """The shared server for the whole session."""
    server = NimbusServer(tmp_path_factory.mktemp("nimbus-data"))
    server.start()
    yield server
    failed = server.proc.poll() is not None
    server.stop()
    if failed:
        print(f"\nnimbus serve died during the session; log tail:\n{server.log_tail()}")


@pytest.fixture(autouse=True)
def _server_alive(request, nimbus_bin):
    """After each test, the shared server must still be running (Nimbus keeps serving)."""
    yield
    if "nimbus" in request.fixturenames:
        server = request.getfixturevalue("nimbus")
        if server.proc.poll() is not None:
            pytest.fail(f"nimbus serve died (rc={server.proc.returncode}); log tail:\n{server.log_tail()}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.when == "call" and rep.failed:
        for name in ("nimbus",):
            server = item.funcargs.get(name)
            if isinstance(server, NimbusServer):
                rep.sections.append(("nimbus serve log tail", server.log_tail(40)))


@pytest.fixture
def server_factory(nimbus_bin, tmp_path):
    """Starts extra servers (own data dir by default) for restart, auth and reset tests."""
    servers = []

    def start(data_dir=None, extra_args=(), **kw):
        s = NimbusServer(data_dir or (tmp_path / f"data{len(servers)}"), extra_args, **kw)
        servers.append(s)
        return s.start()

    yield start
    for s in servers:
        s.stop()


@pytest.fixture
def fname(request):
    """A unique function name per test, so tests are independent and order-free."""
    base = request.node.name.replace("test_", "").replace("[", "-").replace("]", "")
    base = "".join(c if c.isalnum() or c in "-_" else "-" for c in base)[:40]
    return f"{base}-{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="session")
def cpp_zip(tmp_path_factory):
    """The examples/hello-cpp function built with its build.sh, zipped."""
    out = tmp_path_factory.mktemp("cpp") / "bootstrap"
    subprocess.run([str(REPO / "examples/hello-cpp/build.sh"), str(out)], check=True,
                   capture_output=True, timeout=300)
    return make_zip({"bootstrap": out.read_bytes()})




# DynamoDB tests: a client and a resource on the shared server, and a table
# name unique to the test.
@pytest.fixture
def ddb(nimbus):
    return nimbus.client("dynamodb")


@pytest.fixture
def resource(nimbus):
    return boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
    ).resource("dynamodb", endpoint_url=nimbus.endpoint, config=Config(retries={"max_attempts": 1}))


@pytest.fixture
def tname(request):
    base = "".join(c if c.isalnum() else "-" for c in request.node.name)[:40]
    return f"{base}-{uuid.uuid4().hex[:6]}"
