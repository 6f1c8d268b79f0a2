"""The chapter's Lambda-only snippets (../shared/seed/serverless-architecture.md), run unchanged.

"Basic Lambda Function" needs DynamoDB (not in Nimbus yet) and is not run. The
code blocks below are extracted verbatim from the chapter at test time.
"""
import re

from e2e_support import REPO

# The chapter as the project received it (../shared/seed/ beside a checkout);
# a copy lives in tests/e2e/data/ so that a lone clone (CI) runs these too.
CHAPTER = next(p for p in (REPO.parent / "shared" / "seed" / "serverless-architecture.md",
                           REPO / "tests" / "e2e" / "data" / "serverless-architecture.md")
               if p.exists())


def block_after(heading):
    """The first ```python block after a heading line, verbatim."""
    text = CHAPTER.read_text()
    start = text.index(heading)
    m = re.compile(r"```python\n(.*?)```", re.S).search(text, start)
    return m.group(1)


def test_lazy_initialization_snippet(nimbus, fname):
    # "2. Lazy Initialization": global boto3 clients (BAD) plus an on-demand resource (GOOD) run
    # unchanged; Lambda returns null for a handler that returns None.
    code = block_after("#### 2. Lazy Initialization")
    assert "def get_dynamodb" in code
    nimbus.create_function(fname, {"lazy.py": code}, handler="lazy.lambda_handler", Timeout=20)
    r, body = nimbus.invoke(fname, {})
    assert r["StatusCode"] == 200 and "FunctionError" not in r, body
    assert body is None
    # Warm call reuses the cached resource.
    r, body = nimbus.invoke(fname, {})
    assert "FunctionError" not in r and body is None


def test_predictive_warming_snippet(nimbus, fname):
    # "4. Predictive Warming": module-scope `boto3.client('lambda')`, and the warmup short-circuit.
    code = block_after("#### 4. Predictive Warming")
    assert "lambda_client = boto3.client('lambda')" in code
    nimbus.create_function(fname, {"warm.py": code}, handler="warm.lambda_handler", Timeout=20)
    r, body = nimbus.invoke(fname, {"warmup": True})
    assert "FunctionError" not in r and body == {"status": "warmed"}
    r, body = nimbus.invoke(fname, {"order": 1})
    assert "FunctionError" not in r and body is None


def test_api_gateway_snippet(nimbus, fname):
    # "API Gateway Integration": the proxy handler answers 201 with a JSON body for POST /users.
    code = block_after("### API Gateway Integration")
    nimbus.create_function(fname, {"api.py": code}, handler="api.lambda_handler")
    event = {"httpMethod": "POST", "path": "/users", "headers": {"Content-Type": "application/json"},
             "queryStringParameters": None, "body": '{"email": "a@example.com", "name": "Ada"}',
             "requestContext": {"authorizer": {"user_id": "u1"}}}
    r, body = nimbus.invoke(fname, event)
    assert "FunctionError" not in r, body
    assert body["statusCode"] == 201
    import json
    user = json.loads(body["body"])
    assert user["email"] == "a@example.com" and user["name"] == "Ada" and len(user["user_id"]) == 36
    r, body = nimbus.invoke(fname, dict(event, httpMethod="GET"))
    assert body["statusCode"] == 404


def test_lightweight_alternative_snippet_marshal_error(nimbus, fname):
    # "1. Minimize Package Size" (GOOD part, verbatim): returning a datetime is not JSON-serialisable,
    # so Lambda's Python runtime answers Runtime.MarshalError, as on AWS.
    code = block_after("#### 1. Minimize Package Size")
    good = code[code.index("from datetime import datetime"):code.index("# GOOD: Use Lambda Layers")]
    nimbus.create_function(fname, {"app.py": good}, handler="app.lambda_handler")
    r, body = nimbus.invoke(fname, {"date": "2024-01-02"})
    assert r["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.MarshalError", body
    assert "datetime" in body["errorMessage"]
