"""Python bootstrap (runtimes/python/bootstrap.py) against the fake Runtime API."""

import re
import textwrap
from pathlib import Path

import pytest

from harness import EXAMPLES, PYTHON_CMD, FakeSTS

CONTEXT_APP = textwrap.dedent('''
    import os
    import time

    INIT_COUNT = 0
    INIT_COUNT += 1

    def handler(event, context):
        first = context.get_remaining_time_in_millis()
        # Spin (bounded by the deadline) until the clock visibly moves.
        while context.get_remaining_time_in_millis() >= first and first > 0:
            pass
        return {
            "event": event,
            "init_count": INIT_COUNT,
            "aws_request_id": context.aws_request_id,
            "request_id": context.request_id,
            "function_name": context.function_name,
            "function_version": context.function_version,
            "invoked_function_arn": context.invoked_function_arn,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "log_group_name": context.log_group_name,
            "log_stream_name": context.log_stream_name,
            "identity_id": context.identity.cognito_identity_id,
            "client_context": None if context.client_context is None else {
                "custom": context.client_context.custom,
                "installation_id": context.client_context.client.installation_id,
            },
            "remaining": [first, context.get_remaining_time_in_millis()],
            "my_var": os.environ.get("MY_VAR"),
            "region": os.environ.get("AWS_REGION"),
            "trace_id": os.environ.get("_X_AMZN_TRACE_ID"),
            "cwd": os.getcwd(),
        }
''')


def test_success_and_context(api, start_function):
    fn = start_function(PYTHON_CMD, "app.handler", {"app.py": CONTEXT_APP}, env={"MY_VAR": "hello"})
    request_id = api.invoke({"name": "nimbus"}, timeout_ms=5000)
    result = api.result(request_id)
    assert result.kind == "response"
    body = result.json
    assert body["event"] == {"name": "nimbus"}
    assert body["aws_request_id"] == body["request_id"] == request_id
    assert body["function_name"] == "test-fn"
    assert body["function_version"] == "$LATEST"
    assert body["invoked_function_arn"] == "arn:aws:lambda:us-east-1:000000000000:function:test-fn"
    assert body["memory_limit_in_mb"] == 256
    assert body["log_group_name"] == "/aws/lambda/test-fn"
    assert body["log_stream_name"].startswith("2024/01/01/")
    assert body["identity_id"] is None and body["client_context"] is None
    first, second = body["remaining"]
    assert 0 < second < first <= 5000
    assert body["my_var"] == "hello" and body["region"] == "us-east-1"
    assert body["trace_id"].startswith("Root=1-")
    assert body["cwd"] == fn.cwd


def test_init_runs_once_across_invocations(api, start_function):
    start_function(PYTHON_CMD, "app.handler", {"app.py": CONTEXT_APP})
    ids = [api.invoke({"n": n}) for n in range(3)]
    bodies = [api.result(i).json for i in ids]
    assert [b["event"]["n"] for b in bodies] == [0, 1, 2]
    assert all(b["init_count"] == 1 for b in bodies)


def test_identity_and_client_context(api, start_function):
    start_function(PYTHON_CMD, "app.handler", {"app.py": CONTEXT_APP})
    request_id = api.invoke({}, identity={"cognitoIdentityId": "id-1", "cognitoIdentityPoolId": "pool-1"},
                            client_context={"client": {"installation_id": "inst-1"}, "custom": {"k": "v"}, "env": {}})
    body = api.result(request_id).json
    assert body["identity_id"] == "id-1"
    assert body["client_context"] == {"custom": {"k": "v"}, "installation_id": "inst-1"}


def test_logs_are_flushed_before_response(api, start_function):
    app = textwrap.dedent('''
        import logging
        import sys
        logger = logging.getLogger("app")
        def handler(event, context):
            print("printed line")
            sys.stderr.write("stderr line\\n")
            logger.warning("warning from %s", "logger")
            logger.info("info is below the default level")
            print("partial line without newline", end="")
            return "ok"
    ''')
    start_function(PYTHON_CMD, "app.handler", {"app.py": app})
    request_id = api.invoke({})
    result = api.result(request_id)
    assert result.json == "ok"
    assert "printed line\n" in result.output
    assert "partial line without newline" in result.output
    assert "stderr line\n" in result.output
    assert re.search(r"^\[WARNING\]\t\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\t" + request_id + r"\twarning from logger$",
                     result.output, re.M)
    assert "info is below" not in result.output


def test_log_level_from_env(api, start_function):
    app = "import logging\ndef handler(e, c):\n    logging.getLogger().debug('debug shown')\n    return 1\n"
    start_function(PYTHON_CMD, "app.handler", {"app.py": app}, env={"AWS_LAMBDA_LOG_LEVEL": "debug"})
    result = api.result(api.invoke({}))
    assert "[DEBUG]" in result.output and "debug shown" in result.output


def test_handler_exception(api, start_function):
    app = textwrap.dedent('''
        class PaymentDeclined(Exception):
            pass

        def charge(amount):
            raise PaymentDeclined(f"card declined for {amount}")

        def handler(event, context):
            print("before failure")
            charge(event["amount"])
    ''')
    fn = start_function(PYTHON_CMD, "app.handler", {"app.py": app})
    request_id = api.invoke({"amount": 42})
    result = api.result(request_id)
    assert result.kind == "error"
    error = result.json
    assert error["errorType"] == "PaymentDeclined"
    assert error["errorMessage"] == "card declined for 42"
    assert error["requestId"] == request_id
    assert result.headers["Lambda-Runtime-Function-Error-Type"] == "PaymentDeclined"
    trace = error["stackTrace"]
    assert len(trace) == 2, trace  # handler and charge; no runtime frames
    assert re.match(r'  File ".*app\.py", line \d+, in handler\n    charge\(event\["amount"\]\)\n', trace[0])
    assert "in charge" in trace[1] and "raise PaymentDeclined" in trace[1]
    assert "before failure\n" in result.output
    assert "[ERROR] PaymentDeclined: card declined for 42\nTraceback (most recent call last):\n" in result.output
    # The instance survives a failed invocation.
    assert api.result(api.invoke({"amount": 1})).json["errorMessage"] == "card declined for 1"
    assert fn.proc.poll() is None


def test_marshal_error_and_decimal(api, start_function):
    app = "import decimal\ndef handler(event, context):\n    return {1, 2} if event['bad'] else decimal.Decimal('1.5')\n"
    start_function(PYTHON_CMD, "app.handler", {"app.py": app})
    bad = api.result(api.invoke({"bad": True}))
    assert bad.kind == "error"
    assert bad.json["errorType"] == "Runtime.MarshalError"
    assert bad.json["errorMessage"] == "Unable to marshal response: Object of type set is not JSON serializable"
    assert api.result(api.invoke({"bad": False})).json == 1.5


def test_unmarshal_error(api, start_function):
    start_function(PYTHON_CMD, "app.handler", {"app.py": "def handler(e, c):\n    return e\n"})
    result = api.result(api.invoke(None, raw=b"{not json"))
    assert result.json["errorType"] == "Runtime.UnmarshalError"


@pytest.mark.parametrize("handler,files", [
    ("pkg.mod.handler", {"pkg/__init__.py": "", "pkg/mod.py": "def handler(e, c):\n    return 'nested'\n"}),
    ("src/mod.handler", {"src/mod.py": "def handler(e, c):\n    return 'nested'\n"}),
])
def test_nested_handler_paths(api, start_function, handler, files):
    start_function(PYTHON_CMD, handler, files)
    assert api.result(api.invoke({})).json == "nested"


@pytest.mark.parametrize("handler,files,error_type,message", [
    ("missing.handler", {}, "Runtime.ImportModuleError", "Unable to import module 'missing': No module named 'missing'"),
    ("app.handler", {"app.py": "import not_installed_xyz\n"}, "Runtime.ImportModuleError",
     "Unable to import module 'app': No module named 'not_installed_xyz'"),
    ("app.nope", {"app.py": "def handler(e, c):\n    pass\n"}, "Runtime.HandlerNotFound",
     "Handler 'nope' missing on module 'app'"),
    ("app", {"app.py": ""}, "Runtime.MalformedHandlerName", None),
    ("app.handler", {"app.py": "def handler(e, c)\n    pass\n"}, "Runtime.UserCodeSyntaxError", None),
    ("app.handler", {"app.py": "CONFIG = {}\nTABLE = CONFIG['table']\n"}, "KeyError", "'table'"),
])
def test_init_errors(api, start_function, handler, files, error_type, message):
    fn = start_function(PYTHON_CMD, handler, files)
    init_error = api.wait_init_error()
    error = init_error.json
    assert error["errorType"] == error_type
    if message is not None:
        assert error["errorMessage"] == message
    assert init_error.headers["Lambda-Runtime-Function-Error-Type"] == error_type
    assert fn.wait_exit() != 0
    assert api.first_next_at is None
    assert f"[ERROR] {error_type}: " in fn.output
    if error_type == "KeyError":
        assert len(error["stackTrace"]) == 1 and "TABLE = CONFIG['table']" in error["stackTrace"][0]


STS_APP = textwrap.dedent('''
    import boto3

    def handler(event, context):
        kwargs = {"endpoint_url": event["endpoint_url"]} if "endpoint_url" in event else {}
        return boto3.client("sts", **kwargs).get_caller_identity()["Account"]
''')


@pytest.fixture
def sts_servers():
    nimbus, other = FakeSTS("111111111111"), FakeSTS("222222222222")
    yield nimbus, other
    nimbus.close()
    other.close()


def test_boto3_defaults_to_nimbus_endpoint(api, start_function, sts_servers):
    nimbus, other = sts_servers
    start_function(PYTHON_CMD, "app.handler", {"app.py": STS_APP},
                   env={"NIMBUS_ENDPOINT_URL": nimbus.url, "AWS_ENDPOINT_URL": nimbus.url})
    assert api.result(api.invoke({})).json == "111111111111"
    assert len(nimbus.requests) == 1
    path, headers, body = nimbus.requests[0]
    assert "Action=GetCallerIdentity" in body
    assert "Credential=test/" in headers["Authorization"]
    # An endpoint chosen in code still wins.
    assert api.result(api.invoke({"endpoint_url": other.url})).json == "222222222222"
    assert len(nimbus.requests) == 1 and len(other.requests) == 1


def test_example_hello_python(api, start_function):
    start_function(PYTHON_CMD, "app.handler", task_root=Path(EXAMPLES) / "hello-python")
    request_id = api.invoke({"name": "Nimbus"})
    result = api.result(request_id)
    body = result.json
    assert body["message"] == "Hello, Nimbus!"
    assert body["request_id"] == request_id
    assert request_id in result.output


def test_logging_configured_even_after_find_spec_probe(api, start_function):
    app = textwrap.dedent('''
        import importlib.util
        assert importlib.util.find_spec("logging") is not None
        import logging
        def handler(event, context):
            logging.getLogger().warning("after probe")
            return len(logging.getLogger().handlers)
    ''')
    start_function(PYTHON_CMD, "app.handler", {"app.py": app})
    result = api.result(api.invoke({}))
    assert result.json == 1
    assert "[WARNING]\t" in result.output and "\tafter probe" in result.output


def test_layer_folders_on_sys_path(api, start_function, tmp_path):
    # AWS: /opt/python and /opt/python/lib/pythonX.Y/site-packages are on
    # sys.path after the task root. Nimbus without isolation names /opt's host
    # folder in NIMBUS_OPT_DIR; the bootstrap reads it.
    opt = tmp_path / "opt"
    version = "python{}.{}".format(*__import__("sys").version_info[:2])
    (opt / "python" / "lib" / version / "site-packages").mkdir(parents=True)
    (opt / "python" / "top.py").write_text("VALUE = 'top'\n")
    (opt / "python" / "lib" / version / "site-packages" / "site_mod.py").write_text("VALUE = 'site'\n")
    app = "import top, site_mod\ndef handler(e, c):\n    return [top.VALUE, site_mod.VALUE]\n"
    start_function(PYTHON_CMD, "app.handler", {"app.py": app}, env={"NIMBUS_OPT_DIR": str(opt)})
    assert api.result(api.invoke({})).json == ["top", "site"]
