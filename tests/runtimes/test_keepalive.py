"""All runtimes survive the Runtime API dropping idle keep-alive connections."""

import pytest

from harness import NODE_CMD, PYTHON_CMD

FUNCTIONS = {
    "python": (PYTHON_CMD, "app.handler", {"app.py": "def handler(event, context):\n    return event\n"}),
    "node": (NODE_CMD, "index.handler", {"index.js": "exports.handler = async (event) => event;\n"}),
}


@pytest.mark.transports("http")  # keep-alive connections are HTTP's
@pytest.mark.parametrize("runtime", ["python", "node", "cpp"])
def test_reconnects_after_dropped_connection(api, start_function, binaries, runtime):
    api.drop_connections = True
    if runtime == "cpp":
        start_function(binaries["test"], "bootstrap")
    else:
        start_function(*FUNCTIONS[runtime])
    for n in range(5):
        body = api.result(api.invoke({"n": n})).json
        assert (body["payload"] if runtime == "cpp" else body) == {"n": n}
