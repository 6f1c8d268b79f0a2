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


DRIVER = '''
import users_db  # the chapter's "Lambda + DynamoDB" block, verbatim

def handler(event, context):
    op = event["op"]
    if op == "batch":
        users_db.batch_write_users(event["users"])
        return None
    if op == "get":
        return users_db.get_user(event["user_id"])
    if op == "increment":
        users_db.atomic_increment_login_count(event["user_id"])
        return None
    if op == "premium":
        return sorted(u["user_id"] for u in users_db.scan_all_premium_users())
    if op == "events":
        # The chapter queries user events by (user_id, timestamp); its `users`
        # table has no sort key, so this call points the module at an events table.
        users_db.table = users_db.dynamodb.Table(event["table"])
        return users_db.query_user_events(event["user_id"], event["start"], event["end"])
'''


def test_lambda_dynamodb_snippet(nimbus, fname):
    # "Lambda + DynamoDB": the chapter's functions run unchanged inside a
    # Nimbus function against Nimbus's DynamoDB (boto3 defaults to Nimbus's
    # endpoint inside functions): batch_writer, get_item, the atomic counter,
    # a filtered scan and a key-range query.
    import uuid
    from decimal import Decimal  # noqa: F401
    code = block_after("**Lambda + DynamoDB:**")
    assert "def atomic_increment_login_count" in code
    ddb = nimbus.client("dynamodb")
    if "users" not in ddb.list_tables()["TableNames"]:
        ddb.create_table(TableName="users", BillingMode="PAY_PER_REQUEST",
                         AttributeDefinitions=[{"AttributeName": "user_id", "AttributeType": "S"}],
                         KeySchema=[{"AttributeName": "user_id", "KeyType": "HASH"}])
    events = f"user-events-{uuid.uuid4().hex[:6]}"
    ddb.create_table(TableName=events, BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "user_id", "AttributeType": "S"},
                                           {"AttributeName": "timestamp", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "user_id", "KeyType": "HASH"},
                                {"AttributeName": "timestamp", "KeyType": "RANGE"}])
    run = uuid.uuid4().hex[:8]
    users = [{"user_id": f"{run}-{i}", "tier": "premium" if i % 2 else "free", "login_count": 0}
             for i in range(30)]
    nimbus.create_function(fname, {"users_db.py": code, "app.py": DRIVER}, handler="app.handler", Timeout=30)

    def call(event):
        r, body = nimbus.invoke(fname, event)
        assert "FunctionError" not in r, body
        return body

    call({"op": "batch", "users": users})  # 30 users: two BatchWriteItem calls of at most 25
    assert call({"op": "get", "user_id": f"{run}-3"})["tier"] == "premium"
    for _ in range(3):
        call({"op": "increment", "user_id": f"{run}-3"})
    assert call({"op": "get", "user_id": f"{run}-3"})["login_count"] == 3
    premium = [u for u in call({"op": "premium"}) if u.startswith(run)]
    assert premium == sorted(f"{run}-{i}" for i in range(1, 30, 2))
    for ts in ["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01"]:
        ddb.put_item(TableName=events, Item={"user_id": {"S": "u1"}, "timestamp": {"S": ts}})
    got = call({"op": "events", "table": events, "user_id": "u1", "start": "2024-02-01", "end": "2024-03-15"})
    assert [e["timestamp"] for e in got] == ["2024-02-01", "2024-03-01"]
