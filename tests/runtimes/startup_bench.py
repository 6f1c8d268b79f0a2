"""Measures runtime cold start: process spawn -> first GET /invocation/next (the
server's "init done") and -> first response, with a trivial handler; and, for
scale, how long the bare interpreter takes to start and exit. Also the CPU
time its main thread used until its first GET next (/proc/PID/schedstat),
which, unlike wall time, barely moves when the machine is busy.

    /usr/bin/python3 tests/runtimes/startup_bench.py [RUNS] [-- extra interpreter flags for node]
"""

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import NODE_CMD, PYTHON_CMD, FakeRuntimeAPI, FunctionProcess, base_env  # noqa: E402

FUNCTIONS = {
    "python": (PYTHON_CMD, "app.handler", {"app.py": "def handler(event, context):\n    return event\n"}),
    "node": (NODE_CMD, "index.handler", {"index.js": "exports.handler = async (event) => event;\n"}),
}
BARE = {"python": [PYTHON_CMD[0], "-S", "-c", "pass"], "node": [NODE_CMD[0], "-e", "0"]}


def bare_start(argv, runs):
    times = []
    for _ in range(runs):
        start = time.monotonic()
        subprocess.run(argv, env={"PATH": "/usr/bin:/bin"}, check=True)
        times.append(time.monotonic() - start)
    return statistics.median(times) * 1000


def measure(argv, handler, files, runs):
    with tempfile.TemporaryDirectory() as root:
        for name, source in files.items():
            (Path(root) / name).write_text(source)
        to_next, to_response, cpu = [], [], []
        for _ in range(runs):
            api = FakeRuntimeAPI()
            request_id = api.invoke({"warm": False})
            fn = FunctionProcess(api, argv, base_env(api.address, root, handler), root)
            api.on_first_next = lambda: cpu.append(cpu_seconds(fn.proc.pid))
            try:
                to_next.append(api.wait_first_next() - fn.started_at)
                api.result(request_id)
                to_response.append(time.monotonic() - fn.started_at)
            finally:
                fn.stop()
                api.close()
        return [statistics.median(values) * 1000 for values in (to_next, to_response, cpu)]


def cpu_seconds(pid):
    with open(f"/proc/{pid}/schedstat") as f:
        return int(f.read().split()[0]) / 1e9


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1] != "--" else 20
    node_flags = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else []
    for name, (argv, handler, files) in FUNCTIONS.items():
        if name == "node":
            argv = argv[:1] + node_flags + argv[1:]
        to_next, to_response, cpu = measure(argv, handler, files, runs)
        bare = bare_start(BARE[name] if name != "node" else BARE[name][:1] + node_flags + BARE[name][1:], runs)
        print(f"{name:7s} median of {runs}: spawn->first next {to_next:6.1f} ms (CPU {cpu:5.1f} ms), "
              f"spawn->first response {to_response:6.1f} ms; bare interpreter start+exit {bare:6.1f} ms")


if __name__ == "__main__":
    main()
