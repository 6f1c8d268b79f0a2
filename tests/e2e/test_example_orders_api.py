"""examples/orders-api, deployed with `nimbus deploy` as `make run` does: the
chapter's create-user handler ("API Gateway Integration") and its CreateOrder
function ("Basic Lambda Function"), unchanged, behind the template's Api events,
with the DynamoDB table "orders" that CreateOrder writes."""
import http.client
import json
import subprocess

from e2e_support import NIMBUS_BIN, REPO

TEMPLATE = REPO / "examples" / "orders-api" / "template.yaml"


def call(port, method, path, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request(method, path, body=body, headers={"Content-Type": "application/json"} if body else {})
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, dict(resp.getheaders()), data


def deploy(server):
    return subprocess.run([NIMBUS_BIN, "deploy", str(TEMPLATE), "--endpoint", server.endpoint,
                           "--stack-name", "orders-api-example"],
                          capture_output=True, text=True, timeout=180)


def test_orders_api_example_serves_the_chapters_handlers(server_factory):
    # Its own server: the example's table name "orders" is fixed, and the shared
    # server may already have a table of that name (CreateTable would refuse it).
    server = server_factory()
    r = deploy(server)
    assert r.returncode == 0, r.stdout + r.stderr
    # The deploy prints the API port's base URL, like `sam deploy` prints its endpoint.
    assert f"http://127.0.0.1:{server.api_port}/" in r.stdout
    # POST /users → 201 with the CORS header the handler sets (chapter, API Gateway Integration).
    status, headers, body = call(server.api_port, "POST", "/users",
                                 json.dumps({"email": "a@example.com", "name": "A"}))
    assert status == 201, body
    assert headers["Access-Control-Allow-Origin"] == "*"
    user = json.loads(body)
    assert user["email"] == "a@example.com" and user["name"] == "A" and len(user["user_id"]) == 36
    # Another method with a body reaches the handler's own 404 branch.
    status, _, body = call(server.api_port, "PUT", "/users", json.dumps({"email": "x"}))
    assert status == 404 and json.loads(body) == {"error": "Not found"}
    # A path with no route answers as API Gateway does for REST APIs.
    status, _, body = call(server.api_port, "GET", "/nowhere")
    assert status == 403 and json.loads(body) == {"message": "Missing Authentication Token"}

    # POST /orders runs the chapter's CreateOrder, which writes the order to the
    # template's "orders" table; the test reads it back from DynamoDB.
    ddb = server.client("dynamodb")
    table = ddb.describe_table(TableName="orders")["Table"]
    assert table["KeySchema"] == [{"AttributeName": "order_id", "KeyType": "HASH"}]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    status, _, body = call(server.api_port, "POST", "/orders",
                           json.dumps({"user_id": "u1", "items": ["book", "pen"]}))
    assert status == 200, body
    order_id = json.loads(body)["order_id"]
    item = ddb.get_item(TableName="orders", Key={"order_id": {"S": order_id}},
                        ConsistentRead=True)["Item"]
    assert item["user_id"] == {"S": "u1"}
    assert item["items"] == {"L": [{"S": "book"}, {"S": "pen"}]}
    assert item["timestamp"]["S"].startswith("20")

    # Deployed again (as `make run` does on every start): nothing changes, the order stays.
    r = deploy(server)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "No changes" in r.stdout
    assert ddb.get_item(TableName="orders", Key={"order_id": {"S": order_id}})["Item"] == item
