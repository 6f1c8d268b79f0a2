import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import EXAMPLES, RUNTIMES, TRANSPORTS, FunctionProcess, base_env  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def pytest_configure(config):
    config.addinivalue_line("markers", "transports(*names): run only over these transports (default: all)")


def pytest_generate_tests(metafunc):
    """Every test using `api` runs once per transport: [http] and [channel]."""
    if "transport" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("transports")
        names = marker.args if marker else tuple(TRANSPORTS)
        metafunc.parametrize("transport", names, scope="function")


@pytest.fixture
def api(transport):
    """The fake Runtime API for this test's transport (see harness.py)."""
    fake = TRANSPORTS[transport]()
    yield fake
    fake.close()
    # Violations no wait() reported, e.g. a second 'N' sent after the last result.
    assert not fake.protocol_errors[fake.reported_errors:]


@pytest.fixture
def start_function(api, tmp_path):
    """start_function(argv, handler, files={name: source}, env={...}) -> FunctionProcess.

    Writes the files into a fresh task root (the function's code dir and cwd).
    """
    started = []

    def start(argv, handler, files=None, env=None, task_root=None):
        root = task_root or tmp_path / "task"
        for name, source in (files or {}).items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(source)
        root.mkdir(parents=True, exist_ok=True)
        proc = FunctionProcess(api, argv, base_env(api.address, root, handler, {**api.env(), **(env or {})}), root)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop()


@pytest.fixture(scope="session")
def binaries(tmp_path_factory):
    """Builds the test function and the hello-cpp example (in parallel)."""
    out = tmp_path_factory.mktemp("cpp")
    test_fn, example = out / "test_function", out / "hello_bootstrap"
    builds = [
        subprocess.Popen(["g++", "-O0", "-std=c++20", "-Wall", "-Wextra", "-Werror", "-I", RUNTIMES + "/cpp",
                          "-o", str(test_fn), os.path.join(HERE, "cpp", "test_function.cc")],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT),
        subprocess.Popen([os.path.join(EXAMPLES, "hello-cpp", "build.sh"), str(example)],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT),
    ]
    for build in builds:
        output, _ = build.communicate(timeout=300)
        assert build.returncode == 0, output.decode()
        assert not output, output.decode()  # no warnings
    return {"test": [str(test_fn)], "example": [str(example)]}
