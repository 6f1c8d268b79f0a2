"""C++ SDK (runtimes/cpp/nimbus/lambda.h) against the fake Runtime API."""

import json

import pytest


# chunked: over HTTP, Transfer-Encoding: chunked; over the channel, the event frame arrives in pieces.
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_success_and_invocation_fields(api, start_function, binaries, chunked):
    api.chunked = chunked
    start_function(binaries["test"], "bootstrap", env={"MY_VAR": "hello"})
    request_id = api.invoke({"name": "nimbus"}, timeout_ms=5000, client_context={"custom": {"k": "v"}},
                            identity={"cognitoIdentityId": "id-1"})
    result = api.result(request_id)
    assert result.kind == "response", result.raw
    if api.transport == "http":  # the channel carries no content type
        assert result.headers["Content-Type"] == "application/json"
    body = result.json
    assert body["payload"] == {"name": "nimbus"}
    assert body["request_id"] == request_id
    assert body["function_arn"] == "arn:aws:lambda:us-east-1:000000000000:function:test-fn"
    assert body["trace_id"].startswith("Root=1-") and body["env_trace"] == body["trace_id"]
    assert json.loads(body["client_context"]) == {"custom": {"k": "v"}}
    assert json.loads(body["cognito_identity"]) == {"cognitoIdentityId": "id-1"}
    first, second = body["remaining"]
    assert 0 < second < first <= 5000
    assert body["my_var"] == "hello"
    # Several invocations over the same keep-alive connection (or channel).
    for n in range(3):
        assert api.result(api.invoke({"n": n})).json["payload"] == {"n": n}


@pytest.mark.parametrize("action,error_type,message", [
    ("throw_runtime", "std::runtime_error", "boom"),
    ("throw_custom", "app::DatabaseDown", "database is down"),
    ("throw_int", "int", "unknown exception"),
    ("failure", "ValidationError", "bad input"),
])
def test_errors(api, start_function, binaries, action, error_type, message):
    fn = start_function(binaries["test"], "bootstrap")
    result = api.result(api.invoke(action))
    assert result.kind == "error"
    assert result.json == {"errorMessage": message, "errorType": error_type, "stackTrace": []}
    assert result.headers["Lambda-Runtime-Function-Error-Type"] == error_type
    assert f"[ERROR] {error_type}: {message}" in result.output
    # An error fails the invocation, not the instance.
    assert api.result(api.invoke({"ok": 1})).kind == "response"
    assert fn.proc.poll() is None


def test_output_flushed_before_response(api, start_function, binaries):
    start_function(binaries["test"], "bootstrap")
    request_id = api.invoke("logs")
    result = api.result(request_id)
    assert result.raw == b"plain text"
    if api.transport == "http":  # the channel carries no content type
        assert result.headers["Content-Type"] == "text/plain"
    assert f"stdio line for {request_id}\n" in result.output
    assert "iostream line\n" in result.output and "stderr line\n" in result.output


def test_init_error(api, start_function, binaries):
    fn = start_function(binaries["test"], "bootstrap", env={"FAIL_INIT": "1"})
    init_error = api.wait_init_error()
    assert init_error.json == {"errorMessage": 'missing "TABLE" setting', "errorType": "ConfigError", "stackTrace": []}
    assert fn.wait_exit() == 1
    assert api.first_next_at is None


def test_example_hello_cpp(api, start_function, binaries):
    start_function(binaries["example"], "bootstrap")
    request_id = api.invoke({"name": "Nimbus"})
    result = api.result(request_id)
    body = result.json
    assert body["echo"] == {"name": "Nimbus"} and body["request_id"] == request_id
    assert 0 < body["remaining_time_ms"] <= 30000
    assert f"for {request_id}" in result.output
