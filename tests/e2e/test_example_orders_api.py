"""examples/orders-api, deployed with `nimbus deploy` as `make run` does: the
chapter's create-user handler ("API Gateway Integration") and its CreateOrder
function ("Basic Lambda Function"), unchanged, behind the template's Api events."""
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


def test_orders_api_example_serves_the_chapters_handlers(nimbus):
    r = subprocess.run([NIMBUS_BIN, "deploy", str(TEMPLATE), "--endpoint", nimbus.endpoint,
                        "--stack-name", "orders-api-example"], capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stdout + r.stderr
    # The deploy prints the API port's base URL, like `sam deploy` prints its endpoint.
    assert f"http://127.0.0.1:{nimbus.api_port}/" in r.stdout
    try:
        # POST /users → 201 with the CORS header the handler sets (chapter, API Gateway Integration).
        status, headers, body = call(nimbus.api_port, "POST", "/users",
                                     json.dumps({"email": "a@example.com", "name": "A"}))
        assert status == 201, body
        assert headers["Access-Control-Allow-Origin"] == "*"
        user = json.loads(body)
        assert user["email"] == "a@example.com" and user["name"] == "A" and len(user["user_id"]) == 36
        # Another method with a body reaches the handler's own 404 branch.
        status, _, body = call(nimbus.api_port, "PUT", "/users", json.dumps({"email": "x"}))
        assert status == 404 and json.loads(body) == {"error": "Not found"}
        # A path with no route answers as API Gateway does for REST APIs.
        status, _, body = call(nimbus.api_port, "GET", "/nowhere")
        assert status == 403 and json.loads(body) == {"message": "Missing Authentication Token"}
        # CreateOrder runs the chapter's code; its DynamoDB table arrives with the
        # DynamoDB issue, so for now the function fails and API Gateway answers 502.
        status, _, body = call(nimbus.api_port, "POST", "/orders", json.dumps({"user_id": "u1"}))
        assert status == 502 and json.loads(body) == {"message": "Internal server error"}
    finally:
        rest = nimbus.client("apigateway")
        for a in rest.get_rest_apis(limit=500)["items"]:
            if a.get("tags", {}).get("nimbus:stack") == "orders-api-example":
                rest.delete_rest_api(restApiId=a["id"])
        for f in nimbus.lambda_.list_functions()["Functions"]:
            if f["FunctionName"].startswith("orders-api-example-"):
                nimbus.lambda_.delete_function(FunctionName=f["FunctionName"])
