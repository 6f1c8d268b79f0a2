"""Every runtime runs; context object and Lambda environment variables are as on AWS."""
import pytest


PY_APP = """
import os, sys
KEYS = ["AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_REGION", "AWS_DEFAULT_REGION", "_HANDLER", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
        "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "TZ", "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_RUNTIME_API", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "MY_SETTING", "OTHER"]
def handler(event, context):
    return {
        "runtime": sys.version.split()[0],
        "cwd": os.getcwd(),
        "env": {k: os.environ.get(k) for k in KEYS},
        "ctx": {
            "aws_request_id": context.aws_request_id,
            "request_id": context.request_id,
            "function_name": context.function_name,
            "function_version": context.function_version,
            "invoked_function_arn": context.invoked_function_arn,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "log_group_name": context.log_group_name,
            "log_stream_name": context.log_stream_name,
            "remaining": context.get_remaining_time_in_millis(),
        },
    }
"""

NODE_CJS = """
exports.handler = async (event, context) => ({
  kind: 'async-cjs', event, node: process.version,
  requestId: context.awsRequestId, functionName: context.functionName,
  memory: context.memoryLimitInMB, arn: context.invokedFunctionArn,
  remaining: context.getRemainingTimeInMillis(),
  env: {name: process.env.AWS_LAMBDA_FUNCTION_NAME, handler: process.env._HANDLER,
        execEnv: process.env.AWS_EXECUTION_ENV, mine: process.env.MY_SETTING},
});
exports.cb = (event, context, callback) => {
  setTimeout(() => callback(null, {kind: 'callback', event}), 10);
};
exports.boom = async () => { class PaymentDeclined extends Error { constructor(m) { super(m); this.name = 'PaymentDeclined'; } } throw new PaymentDeclined('card declined'); };
"""
NODE_ESM = """
export const handler = async (event, context) => ({kind: 'esm', event, requestId: context.awsRequestId});
"""


@pytest.mark.parametrize("runtime", ["python3.11", "python3.12"])
def test_python_runtime_context_and_env(nimbus, fname, runtime):
    # Python runtimes run the handler with Lambda's context object and environment variables.
    nimbus.create_function(fname, {"app.py": PY_APP}, runtime=runtime, MemorySize=192, Timeout=7,
                           Environment={"Variables": {"MY_SETTING": "on", "OTHER": "x=y"}})
    r, body = nimbus.invoke(fname, {})
    assert "FunctionError" not in r, body
    rid = r["ResponseMetadata"]["RequestId"]
    ctx, env = body["ctx"], body["env"]
    assert ctx["aws_request_id"] == ctx["request_id"] == rid
    assert ctx["function_name"] == fname and ctx["function_version"] == "$LATEST"
    assert ctx["invoked_function_arn"] == f"arn:aws:lambda:us-east-1:000000000000:function:{fname}"
    assert ctx["memory_limit_in_mb"] == 192
    assert 5000 < ctx["remaining"] <= 7000
    assert ctx["log_group_name"] == f"/aws/lambda/{fname}"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == fname
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "192"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert env["_HANDLER"] == "app.handler"
    assert env["LAMBDA_TASK_ROOT"] == "/var/task" and body["cwd"] == "/var/task"
    assert env["LAMBDA_RUNTIME_DIR"] == "/var/runtime"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == f"/aws/lambda/{fname}"
    assert env["AWS_LAMBDA_LOG_STREAM_NAME"] == ctx["log_stream_name"]
    assert "[$LATEST]" in env["AWS_LAMBDA_LOG_STREAM_NAME"]
    assert env["TZ"] == ":UTC"
    assert env["AWS_EXECUTION_ENV"] == f"AWS_Lambda_{runtime}"
    assert env["AWS_LAMBDA_RUNTIME_API"] and env["AWS_ACCESS_KEY_ID"] and env["AWS_SECRET_ACCESS_KEY"]
    assert env["MY_SETTING"] == "on" and env["OTHER"] == "x=y"
    # The instance's log stream is a real stream of the function's log group.
    streams = nimbus.logs.describe_log_streams(logGroupName=f"/aws/lambda/{fname}")["logStreams"]
    assert env["AWS_LAMBDA_LOG_STREAM_NAME"] in [s["logStreamName"] for s in streams]


def test_invoked_arn_includes_alias_qualifier(nimbus, fname):
    # Invoked via an alias, invoked_function_arn carries the alias; function_version the version.
    nimbus.create_function(fname, {"app.py": PY_APP})
    nimbus.lambda_.publish_version(FunctionName=fname)
    nimbus.lambda_.create_alias(FunctionName=fname, Name="prod", FunctionVersion="1")
    _, body = nimbus.invoke(fname, Qualifier="prod")
    assert body["ctx"]["invoked_function_arn"] == f"arn:aws:lambda:us-east-1:000000000000:function:{fname}:prod"
    assert body["ctx"]["function_version"] == "1"
    assert body["env"]["AWS_LAMBDA_FUNCTION_VERSION"] == "1"


@pytest.mark.parametrize("runtime", ["nodejs18.x", "nodejs20.x"])
def test_node_runtime_async_callback_esm(nimbus, fname, runtime):
    # Node runtimes support async, callback and ES module handlers with Lambda's context.
    files = {"index.js": NODE_CJS, "esm/handler.mjs": NODE_ESM}
    nimbus.create_function(fname, files, runtime=runtime, handler="index.handler",
                           Environment={"Variables": {"MY_SETTING": "node"}})
    r, body = nimbus.invoke(fname, {"x": 1})
    assert "FunctionError" not in r, body
    assert body["kind"] == "async-cjs" and body["event"] == {"x": 1}
    assert body["requestId"] == r["ResponseMetadata"]["RequestId"]
    assert body["functionName"] == fname and str(body["memory"]) == "128"
    assert body["arn"].endswith(f":function:{fname}")
    assert 0 < body["remaining"] <= 3000
    assert body["env"] == {"name": fname, "handler": "index.handler",
                           "execEnv": f"AWS_Lambda_{runtime}", "mine": "node"}
    for handler, kind in (("index.cb", "callback"), ("esm/handler.handler", "esm")):
        nimbus.lambda_.update_function_configuration(FunctionName=fname, Handler=handler)
        nimbus.lambda_.get_waiter("function_updated_v2").wait(
            FunctionName=fname, WaiterConfig={"Delay": 1, "MaxAttempts": 20})
        r, body = nimbus.invoke(fname, {"h": handler})
        assert "FunctionError" not in r, body
        assert body["kind"] == kind and body["event"] == {"h": handler}
    # A thrown Error subclass: errorType is its name (Node's shape uses "trace").
    nimbus.lambda_.update_function_configuration(FunctionName=fname, Handler="index.boom")
    nimbus.lambda_.get_waiter("function_updated_v2").wait(FunctionName=fname, WaiterConfig={"Delay": 1, "MaxAttempts": 20})
    r, body = nimbus.invoke(fname, {})
    assert r["FunctionError"] == "Unhandled"
    assert body["errorType"] == "PaymentDeclined" and body["errorMessage"] == "card declined"
    assert isinstance(body.get("trace"), list)


def test_provided_al2023_cpp_example(nimbus, fname, cpp_zip):
    # provided.al2023 runs the zip's own bootstrap (the C++ example built with its build.sh).
    nimbus.create_function(fname, zip_bytes=cpp_zip, runtime="provided.al2023", handler="bootstrap")
    r, body = nimbus.invoke(fname, {"name": "cpp"})
    assert r["StatusCode"] == 200 and "FunctionError" not in r, body
    assert body["echo"] == {"name": "cpp"}
    assert body["request_id"] == r["ResponseMetadata"]["RequestId"]
    assert 0 < body["remaining_time_ms"] <= 3000
    # Warm path works too.
    r, body2 = nimbus.invoke(fname, {"name": "again"})
    assert "FunctionError" not in r and body2["echo"] == {"name": "again"}
