"""Validation errors carry Lambda's error codes and HTTP statuses."""
import json

import pytest
from botocore.exceptions import ClientError

from e2e_support import ROLE, make_zip

ZIP = make_zip({"app.py": "import json\ndef handler(e, c):\n    return {'size': len(json.dumps(e))}\n"})


def create_error(nimbus, client=None, **over):
    kw = dict(FunctionName="valid-name", Runtime="python3.11", Handler="app.handler", Role=ROLE,
              Code={"ZipFile": ZIP})
    kw.update(over)
    kw = {k: v for k, v in kw.items() if v is not None}
    with pytest.raises(ClientError) as e:
        (client or nimbus.lambda_).create_function(**kw)
    r = e.value.response
    return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"], r["Error"].get("Message", "")


@pytest.fixture(scope="module")
def echo(nimbus):
    name = "validation-echo"
    nimbus.create_function(name, zip_bytes=ZIP)
    return name


@pytest.mark.parametrize("bad", ["has space", "bad/slash", "x" * 65, "a:b:c:d"])
def test_bad_function_name(nimbus, bad):
    # Names must match Lambda's pattern: ValidationException, 400.
    code, status, msg = create_error(nimbus, FunctionName=bad)
    assert (code, status) == ("ValidationException", 400), msg


def test_unknown_runtime(nimbus):
    # A runtime outside Lambda's enum fails the constraint: ValidationException, 400.
    code, status, msg = create_error(nimbus, FunctionName="bad-runtime-fn", Runtime="cobol42")
    assert (code, status) == ("ValidationException", 400), msg
    assert "cobol42" in msg


def test_missing_handler(nimbus):
    # A zip function without Handler: InvalidParameterValueException, 400.
    code, status, msg = create_error(nimbus, FunctionName="no-handler-fn", Handler=None)
    assert (code, status) == ("InvalidParameterValueException", 400), msg


@pytest.mark.parametrize("field,value", [("MemorySize", 127), ("MemorySize", 10241),
                                          ("Timeout", 0), ("Timeout", 901)])
def test_out_of_range_memory_and_timeout(nimbus, field, value):
    # MemorySize must be 128..10240 and Timeout 1..900: ValidationException, 400.
    # botocore would reject the low values client-side; the server must reject them too.
    raw = nimbus.client("lambda", parameter_validation=False)
    code, status, msg = create_error(nimbus, client=raw, FunctionName="range-fn", **{field: value})
    assert (code, status) == ("ValidationException", 400), msg
    assert str(value) in msg


def test_duplicate_create(nimbus, echo):
    # Creating an existing function: ResourceConflictException, 409.
    code, status, _ = create_error(nimbus, FunctionName=echo)
    assert (code, status) == ("ResourceConflictException", 409)


def test_unknown_function(nimbus):
    # Get/Invoke of an absent function: ResourceNotFoundException, 404.
    for call in (lambda: nimbus.lambda_.get_function(FunctionName="does-not-exist-e2e"),
                 lambda: nimbus.lambda_.invoke(FunctionName="does-not-exist-e2e", Payload=b"{}")):
        with pytest.raises(ClientError) as e:
            call()
        r = e.value.response
        assert (r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"]) == ("ResourceNotFoundException", 404)


def test_payload_too_large(nimbus, echo):
    # A synchronous payload over 6 MB: RequestTooLargeException, 413.
    big = json.dumps({"x": "a" * (6 * 1024 * 1024 + 100)}).encode()
    with pytest.raises(ClientError) as e:
        nimbus.lambda_.invoke(FunctionName=echo, Payload=big)
    r = e.value.response
    assert (r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"]) == ("RequestTooLargeException", 413)
    # A payload just under the limit is accepted.
    ok = json.dumps({"x": "a" * (5 * 1024 * 1024)}).encode()
    r = nimbus.lambda_.invoke(FunctionName=echo, Payload=ok)
    assert r["StatusCode"] == 200 and "FunctionError" not in r
    assert json.loads(r["Payload"].read())["size"] == len(ok)


def test_non_json_payload(nimbus, echo):
    # A payload that is not JSON: InvalidRequestContentException, 400.
    with pytest.raises(ClientError) as e:
        nimbus.lambda_.invoke(FunctionName=echo, Payload=b"{not json")
    r = e.value.response
    assert (r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"]) == ("InvalidRequestContentException", 400)


def test_bad_zip(nimbus):
    # Code that is not a zip archive: InvalidParameterValueException, 400.
    code, status, msg = create_error(nimbus, FunctionName="bad-zip-fn", Code={"ZipFile": b"this is not a zip"})
    assert (code, status) == ("InvalidParameterValueException", 400), msg
    with pytest.raises(ClientError):
        nimbus.lambda_.get_function(FunctionName="bad-zip-fn")
