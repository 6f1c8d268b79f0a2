"""API Gateway end to end: APIs created with boto3's apigateway / apigatewayv2
clients from OpenAPI bodies (the contract `nimbus deploy` uses), served on the
API port and called with a plain HTTP client. Each test names the AWS
behaviour it pins. Every test uses its own path prefix, since all deployed
APIs share the API port's path space."""
import base64
import http.client
import json
import threading
import uuid

import pytest
from botocore.exceptions import ClientError

from e2e_support import ACCOUNT

ECHO = """
import base64, json
def handler(event, context):
    if event.get("path", event.get("rawPath", "")).endswith("/binary-out"):
        return {"statusCode": 200, "headers": {"Content-Type": "application/octet-stream"},
                "body": base64.b64encode(bytes(range(256))).decode(), "isBase64Encoded": True}
    return {"statusCode": 200, "headers": {"Content-Type": "application/json", "X-Echo": "1"},
            "body": json.dumps(event)}
"""
MALFORMED = "def handler(event, context):\n    return {'statusCode': 'two hundred', 'extra': 1}\n"
FAILING = "def handler(event, context):\n    raise RuntimeError('boom')\n"
SLOW = "import time\ndef handler(event, context):\n    time.sleep(4)\n    return {'statusCode': 200, 'body': 'late'}\n"


def uri(fn):
    return ("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
            f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{fn}/invocations")


def op(fn, version="1.0", timeout=None, security=None):
    integ = {"type": "aws_proxy", "httpMethod": "POST", "uri": uri(fn), "payloadFormatVersion": version}
    if timeout:
        integ["timeoutInMillis"] = timeout
    o = {"x-amazon-apigateway-integration": integ}
    if security:
        o["security"] = security
    return o


def document(paths, **extra):
    doc = {"openapi": "3.0.1", "info": {"title": "t-" + uuid.uuid4().hex[:6], "version": "1"},
           "paths": paths}
    doc.update(extra)
    return doc


@pytest.fixture(scope="module")
def functions(nimbus):
    names = {}
    for role, code in (("echo", ECHO), ("malformed", MALFORMED), ("failing", FAILING), ("slow", SLOW)):
        name = f"apigw-{role}-{uuid.uuid4().hex[:6]}"
        nimbus.create_function(name, files={"app.py": code}, Timeout=10)
        names[role] = name
    return names


@pytest.fixture
def prefix():
    return "/t" + uuid.uuid4().hex[:8]


def rest_api(nimbus, doc, stage="Prod", variables=None):
    apigw = nimbus.client("apigateway")
    api = apigw.create_rest_api(name=doc["info"]["title"])
    apigw.put_rest_api(restApiId=api["id"], mode="overwrite", body=json.dumps(doc).encode())
    apigw.create_deployment(restApiId=api["id"], stageName=stage, variables=variables or {})
    return api["id"]


def http_api(nimbus, doc, stage="$default"):
    v2 = nimbus.client("apigatewayv2")
    api = v2.import_api(Body=json.dumps(doc))
    v2.create_stage(ApiId=api["ApiId"], StageName=stage, AutoDeploy=True)
    return api["ApiId"]


def call(port, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


# Payload format 1.0 (REST API Lambda proxy integration), field for field.
def test_rest_event_v1_fields(nimbus, functions, prefix):
    api = rest_api(nimbus, document({prefix + "/items/{id}": {"get": op(functions["echo"])}}),
                   variables={"env": "test"})
    status, headers, body = call(nimbus.api_port, "GET", prefix + "/items/42?a=1&a=2&b=x%20y",
                                 headers={"X-Multi": "v", "User-Agent": "e2e-agent"})
    assert status == 200, body
    assert headers["x-echo"] == "1"
    ev = json.loads(body)
    assert ev["resource"] == prefix + "/items/{id}"
    assert ev["path"] == prefix + "/items/42"
    assert ev["httpMethod"] == "GET"
    assert ev["headers"]["X-Multi"] == "v"
    assert ev["multiValueHeaders"]["X-Multi"] == ["v"]
    assert ev["queryStringParameters"] == {"a": "2", "b": "x y"}
    assert ev["multiValueQueryStringParameters"] == {"a": ["1", "2"], "b": ["x y"]}
    assert ev["pathParameters"] == {"id": "42"}
    assert ev["stageVariables"] == {"env": "test"}
    assert ev["body"] is None and ev["isBase64Encoded"] is False
    rc = ev["requestContext"]
    assert rc["accountId"] == ACCOUNT and rc["apiId"] == api and rc["stage"] == "Prod"
    assert rc["resourcePath"] == prefix + "/items/{id}" and rc["httpMethod"] == "GET"
    assert rc["identity"]["sourceIp"] == "127.0.0.1"
    assert rc["identity"]["userAgent"] == "e2e-agent"
    assert len(rc["requestId"]) == 36 and rc["requestTime"].endswith("+0000")
    assert headers["x-amzn-requestid"] == rc["requestId"]


# Payload format 2.0 (HTTP API): routeKey, rawPath, rawQueryString, cookies,
# lowercased headers, requestContext.http.
def test_http_event_v2_fields(nimbus, functions, prefix):
    api = http_api(nimbus, document({prefix + "/orders/{id}": {"post": op(functions["echo"], "2.0")}}))
    status, _, body = call(nimbus.api_port, "POST", prefix + "/orders/9?x=1&x=2",
                           body=b'{"n": 1}',
                           headers={"Content-Type": "application/json", "Cookie": "a=1; b=2",
                                    "X-Thing": "T"})
    assert status == 200, body
    ev = json.loads(body)
    assert ev["version"] == "2.0"
    assert ev["routeKey"] == f"POST {prefix}/orders/{{id}}"
    assert ev["rawPath"] == prefix + "/orders/9"
    assert ev["rawQueryString"] == "x=1&x=2"
    assert ev["queryStringParameters"] == {"x": "1,2"}
    assert ev["cookies"] == ["a=1", "b=2"]
    assert ev["headers"]["x-thing"] == "T"
    assert ev["pathParameters"] == {"id": "9"}
    assert ev["body"] == '{"n": 1}' and ev["isBase64Encoded"] is False
    rc = ev["requestContext"]
    assert rc["apiId"] == api and rc["stage"] == "$default"
    assert rc["routeKey"] == ev["routeKey"]
    assert rc["http"]["method"] == "POST" and rc["http"]["path"] == prefix + "/orders/9"
    assert rc["http"]["sourceIp"] == "127.0.0.1"


# Greedy {proxy+} path variables capture the rest of the path; literal routes win.
def test_greedy_path_and_precedence(nimbus, functions, prefix):
    rest_api(nimbus, document({
        prefix + "/files/{proxy+}": {"x-amazon-apigateway-any-method": op(functions["echo"])},
        prefix + "/files/special": {"get": op(functions["echo"])}}))
    status, _, body = call(nimbus.api_port, "DELETE", prefix + "/files/a/b/c.txt")
    assert status == 200
    ev = json.loads(body)
    assert ev["pathParameters"] == {"proxy": "a/b/c.txt"}
    assert ev["resource"] == prefix + "/files/{proxy+}"
    status, _, body = call(nimbus.api_port, "GET", prefix + "/files/special")
    assert json.loads(body)["resource"] == prefix + "/files/special"


# REST APIs answer an unknown route with 403 {"message":"Missing Authentication Token"}.
def test_rest_no_route_is_403(nimbus, functions, prefix):
    rest_api(nimbus, document({prefix + "/here": {"get": op(functions["echo"])}}))
    status, _, body = call(nimbus.api_port, "GET", prefix + "/not-here")
    assert status == 403
    assert json.loads(body) == {"message": "Missing Authentication Token"}
    status, _, _ = call(nimbus.api_port, "POST", prefix + "/here")
    assert status == 403


# HTTP APIs answer an unknown route with 404 {"message":"Not Found"} (own server:
# only HTTP APIs deployed).
def test_http_no_route_is_404(server_factory, prefix):
    server = server_factory()
    fn = "echo-" + uuid.uuid4().hex[:6]
    server.create_function(fn, files={"app.py": ECHO})
    http_api(server, document({prefix + "/x": {"get": op(fn, "2.0")}}))
    status, _, body = call(server.api_port, "GET", prefix + "/y")
    assert status == 404
    assert json.loads(body) == {"message": "Not Found"}
    assert call(server.api_port, "GET", prefix + "/x")[0] == 200


# HTTP API CORS: the gateway answers preflights itself (204, function not
# invoked) and adds the configured headers to actual responses.
def test_cors_preflight_and_headers(nimbus, functions, prefix):
    http_api(nimbus, document(
        {prefix + "/c": {"post": op(functions["echo"], "2.0")}},
        **{"x-amazon-apigateway-cors": {"allowOrigins": ["https://app.example.com"],
                                        "allowMethods": ["POST", "GET"],
                                        "allowHeaders": ["content-type"], "maxAge": 300}}))
    status, headers, body = call(nimbus.api_port, "OPTIONS", prefix + "/c", headers={
        "Origin": "https://app.example.com", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert status == 204 and body == b""
    assert headers["access-control-allow-origin"] == "https://app.example.com"
    assert "POST" in headers["access-control-allow-methods"]
    assert headers["access-control-max-age"] == "300"
    status, headers, _ = call(nimbus.api_port, "POST", prefix + "/c", body=b"{}",
                              headers={"Origin": "https://app.example.com"})
    assert status == 200
    assert headers["access-control-allow-origin"] == "https://app.example.com"


# A malformed proxy result (statusCode not a number) answers 502 Internal server error.
def test_malformed_result_is_502(nimbus, functions, prefix):
    rest_api(nimbus, document({prefix + "/m": {"get": op(functions["malformed"])}}))
    status, _, body = call(nimbus.api_port, "GET", prefix + "/m")
    assert status == 502
    assert json.loads(body) == {"message": "Internal server error"}


# An unhandled function error answers 502 Internal server error.
def test_function_error_is_502(nimbus, functions, prefix):
    rest_api(nimbus, document({prefix + "/e": {"get": op(functions["failing"])}}))
    status, _, body = call(nimbus.api_port, "GET", prefix + "/e")
    assert status == 502
    assert json.loads(body) == {"message": "Internal server error"}


# The integration timeout (timeoutInMillis) answers 504 "Endpoint request timed
# out" without waiting for the function.
def test_integration_timeout_is_504(nimbus, functions, prefix):
    import time
    rest_api(nimbus, document({prefix + "/s": {"get": op(functions["slow"], timeout=500)}}))
    t0 = time.monotonic()
    status, _, body = call(nimbus.api_port, "GET", prefix + "/s")
    elapsed = time.monotonic() - t0
    assert status == 504
    assert json.loads(body) == {"message": "Endpoint request timed out"}
    assert elapsed < 3.5


# REST binary media types: a matching request body reaches the function
# base64-encoded; an isBase64Encoded result is decoded when Accept matches.
def test_binary_bodies(nimbus, functions, prefix):
    rest_api(nimbus, document(
        {prefix + "/bin": {"post": op(functions["echo"])},
         prefix + "/binary-out": {"get": op(functions["echo"])}},
        **{"x-amazon-apigateway-binary-media-types": ["application/octet-stream"]}))
    data = bytes(range(256))
    status, _, body = call(nimbus.api_port, "POST", prefix + "/bin", body=data,
                           headers={"Content-Type": "application/octet-stream"})
    assert status == 200
    ev = json.loads(body)
    assert ev["isBase64Encoded"] is True
    assert base64.b64decode(ev["body"]) == data
    status, headers, body = call(nimbus.api_port, "GET", prefix + "/binary-out",
                                 headers={"Accept": "application/octet-stream"})
    assert status == 200 and body == data
    # Without a matching Accept the client gets the base64 text.
    status, _, body = call(nimbus.api_port, "GET", prefix + "/binary-out")
    assert base64.b64decode(body) == data


# The REST invoke path through the edge: /restapis/{id}/{stage}/_user_request_/{path}.
def test_edge_user_request_path(nimbus, functions, prefix):
    api = rest_api(nimbus, document({prefix + "/via-edge/{x}": {"get": op(functions["echo"])}}),
                   stage="dev")
    status, _, body = nimbus.http("GET", f"/restapis/{api}/dev/_user_request_{prefix}/via-edge/1")
    assert status == 200, body
    ev = json.loads(body)
    assert ev["requestContext"]["stage"] == "dev" and ev["pathParameters"] == {"x": "1"}
    status, _, body = nimbus.http("GET", f"/restapis/{api}/nope/_user_request_{prefix}/via-edge/1")
    assert status == 403


# API keys: a method with api_key security answers 403 {"message":"Forbidden"}
# without a key of a usage plan attached to the stage, 200 with one.
def test_api_key_required(nimbus, functions, prefix):
    apigw = nimbus.client("apigateway")
    schemes = {"securitySchemes": {"api_key": {"type": "apiKey", "name": "x-api-key", "in": "header"}}}
    api = rest_api(nimbus, document({prefix + "/k": {"get": op(functions["echo"], security=[{"api_key": []}])}},
                                    components=schemes))
    key = apigw.create_api_key(name="k-" + prefix[1:], enabled=True)
    plan = apigw.create_usage_plan(name="p-" + prefix[1:], apiStages=[{"apiId": api, "stage": "Prod"}])
    status, _, body = call(nimbus.api_port, "GET", prefix + "/k")
    assert status == 403 and json.loads(body) == {"message": "Forbidden"}
    status, _, _ = call(nimbus.api_port, "GET", prefix + "/k", headers={"x-api-key": key["value"]})
    assert status == 403  # the key is in no plan yet
    apigw.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
    status, _, _ = call(nimbus.api_port, "GET", prefix + "/k", headers={"x-api-key": key["value"]})
    assert status == 200
    status, _, _ = call(nimbus.api_port, "GET", prefix + "/k", headers={"x-api-key": "wrong" * 5})
    assert status == 403
    values = {k["id"]: k.get("value") for k in apigw.get_api_keys(includeValues=True)["items"]}
    assert values[key["id"]] == key["value"]
    assert "value" not in apigw.get_api_keys()["items"][0]
    assert [k["id"] for k in apigw.get_usage_plan_keys(usagePlanId=plan["id"])["items"]] == [key["id"]]


def keyed_api(nimbus, functions, prefix, throttle=None, quota=None):
    apigw = nimbus.client("apigateway")
    schemes = {"securitySchemes": {"api_key": {"type": "apiKey", "name": "x-api-key", "in": "header"}}}
    api = rest_api(nimbus, document({prefix + "/k": {"get": op(functions["echo"], security=[{"api_key": []}])}},
                                    components=schemes))
    key = apigw.create_api_key(name="k-" + prefix[1:], enabled=True)
    kw = {}
    if throttle:
        kw["throttle"] = throttle
    if quota:
        kw["quota"] = quota
    plan = apigw.create_usage_plan(name="p-" + prefix[1:], apiStages=[{"apiId": api, "stage": "Prod"}], **kw)
    apigw.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
    return key["value"]


# Usage plan throttling: a burst beyond burstLimit gets 429 {"message":"Too Many
# Requests"} and the rest pass (token bucket per key).
def test_burst_beyond_limit_gets_429(nimbus, functions, prefix):
    value = keyed_api(nimbus, functions, prefix, throttle={"burstLimit": 3, "rateLimit": 0.01})
    results = []

    def one():
        results.append(call(nimbus.api_port, "GET", prefix + "/k", headers={"x-api-key": value}))

    threads = [threading.Thread(target=one) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(r[0] for r in results)
    assert statuses == [200] * 3 + [429] * 5
    assert all(json.loads(r[2]) == {"message": "Too Many Requests"} for r in results if r[0] == 429)


# Usage plan quota: requests beyond the period's limit get 429 {"message":"Limit Exceeded"}.
def test_quota_exhaustion_gets_429(nimbus, functions, prefix):
    value = keyed_api(nimbus, functions, prefix, throttle={"burstLimit": 100, "rateLimit": 100},
                      quota={"limit": 2, "period": "DAY"})
    for _ in range(2):
        assert call(nimbus.api_port, "GET", prefix + "/k", headers={"x-api-key": value})[0] == 200
    status, _, body = call(nimbus.api_port, "GET", prefix + "/k", headers={"x-api-key": value})
    assert status == 429 and json.loads(body) == {"message": "Limit Exceeded"}


# Management API: REST API reads, derived resources and stages, API Gateway's errors.
def test_rest_management_api(nimbus, functions, prefix):
    apigw = nimbus.client("apigateway")
    api = rest_api(nimbus, document({prefix + "/a/{b}": {"get": op(functions["echo"])}}))
    assert any(a["id"] == api for a in apigw.get_rest_apis()["items"])
    paths = {r["path"]: r for r in apigw.get_resources(restApiId=api)["items"]}
    assert set(paths) >= {"/", prefix, prefix + "/a", prefix + "/a/{b}"}
    assert "GET" in paths[prefix + "/a/{b}"]["resourceMethods"]
    assert [s["stageName"] for s in apigw.get_stages(restApiId=api)["item"]] == ["Prod"]
    with pytest.raises(apigw.exceptions.NotFoundException):
        apigw.get_rest_api(restApiId="nope123456")
    with pytest.raises(apigw.exceptions.BadRequestException) as e:
        apigw.put_rest_api(restApiId=api, mode="overwrite", body=json.dumps(document(
            {prefix + "/x": {"get": {"x-amazon-apigateway-integration": {"type": "http", "uri": "http://x"}}}})))
    assert "integration type" in str(e.value)
    arn = f"arn:aws:apigateway:us-east-1::/restapis/{api}"
    apigw.tag_resource(resourceArn=arn, tags={"team": "a"})
    assert apigw.get_tags(resourceArn=arn)["tags"] == {"team": "a"}
    apigw.delete_rest_api(restApiId=api)
    assert call(nimbus.api_port, "GET", prefix + "/a/1")[0] == 403


# A route that conflicts with one of another deployed API is refused at deploy (409).
def test_conflicting_api_refused(nimbus, functions, prefix):
    rest_api(nimbus, document({prefix + "/same": {"get": op(functions["echo"])}}))
    with pytest.raises(ClientError) as e:
        rest_api(nimbus, document({prefix + "/same": {"get": op(functions["echo"])}}))
    assert e.value.response["Error"]["Code"] == "ConflictException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409


# Management API for HTTP APIs: ImportApi, GetApis, GetRoutes, ReimportApi, DeleteApi.
def test_http_management_api(nimbus, functions, prefix):
    v2 = nimbus.client("apigatewayv2")
    api = http_api(nimbus, document({prefix + "/one": {"get": op(functions["echo"], "2.0")}}))
    assert any(a["ApiId"] == api for a in v2.get_apis()["Items"])
    assert [r["RouteKey"] for r in v2.get_routes(ApiId=api)["Items"]] == [f"GET {prefix}/one"]
    v2.reimport_api(ApiId=api, Body=json.dumps(document({prefix + "/two": {"get": op(functions["echo"], "2.0")}})))
    assert call(nimbus.api_port, "GET", prefix + "/two")[0] == 200
    assert call(nimbus.api_port, "GET", prefix + "/one")[0] in (403, 404)
    with pytest.raises(v2.exceptions.NotFoundException):
        v2.get_api(ApiId="nope")
    v2.delete_api(ApiId=api)
    assert call(nimbus.api_port, "GET", prefix + "/two")[0] in (403, 404)


TOKEN_AUTHORIZER = """
import uuid
def handler(event, context):
    token = event["authorizationToken"]
    if token == "unauth":
        raise Exception("Unauthorized")
    effect = "Allow" if token.startswith("allow") else "Deny"
    arn = event["methodArn"]
    return {"principalId": "user-" + token,
            "context": {"user_id": "user-" + token, "nonce": uuid.uuid4().hex, "n": 7},
            "policyDocument": {"Version": "2012-10-17", "Statement": [
                {"Action": "execute-api:Invoke", "Effect": effect, "Resource": arn.split("/")[0] + "/*"}]}}
"""

SIMPLE_AUTHORIZER = """
import uuid
def handler(event, context):
    return {"isAuthorized": event["headers"].get("x-user") == "ok",
            "context": {"who": event["headers"].get("x-user"), "nonce": uuid.uuid4().hex}}
"""


@pytest.fixture(scope="module")
def authorizers(nimbus):
    names = {}
    for role, code in (("token", TOKEN_AUTHORIZER), ("simple", SIMPLE_AUTHORIZER)):
        name = f"apigw-auth-{role}-{uuid.uuid4().hex[:6]}"
        nimbus.create_function(name, files={"app.py": code}, Timeout=10)
        names[role] = name
    return names


# REST TOKEN authorizer: no token → 401 {"message":"Unauthorized"} without
# invoking; Allow passes context (flattened, with principalId) to
# requestContext.authorizer; explicit Deny → 403; the function failing with
# "Unauthorized" → 401; results are cached per token for the TTL.
def test_token_authorizer_allow_deny_cache(nimbus, functions, authorizers, prefix):
    scheme = {"type": "apiKey", "name": "Authorization", "in": "header",
              "x-amazon-apigateway-authtype": "custom",
              "x-amazon-apigateway-authorizer": {
                  "type": "token", "authorizerUri": uri(authorizers["token"]),
                  "identitySource": "method.request.header.Authorization",
                  "authorizerResultTtlInSeconds": 300}}
    rest_api(nimbus, document({prefix + "/me": {"get": op(functions["echo"], security=[{"tok": []}])}},
                              components={"securitySchemes": {"tok": scheme}}))
    status, _, body = call(nimbus.api_port, "GET", prefix + "/me")
    assert status == 401 and json.loads(body) == {"message": "Unauthorized"}
    status, _, body = call(nimbus.api_port, "GET", prefix + "/me", headers={"Authorization": "allow-alice"})
    assert status == 200, body
    authz = json.loads(body)["requestContext"]["authorizer"]
    assert authz["principalId"] == "user-allow-alice"
    assert authz["user_id"] == "user-allow-alice"
    assert authz["n"] == "7"  # REST hands context values on as strings
    # Same token within the TTL: the cached result (same nonce), not a new call.
    status, _, body = call(nimbus.api_port, "GET", prefix + "/me", headers={"Authorization": "allow-alice"})
    assert json.loads(body)["requestContext"]["authorizer"]["nonce"] == authz["nonce"]
    status, _, body = call(nimbus.api_port, "GET", prefix + "/me", headers={"Authorization": "allow-bob"})
    assert json.loads(body)["requestContext"]["authorizer"]["nonce"] != authz["nonce"]
    status, _, body = call(nimbus.api_port, "GET", prefix + "/me", headers={"Authorization": "deny-eve"})
    assert status == 403
    assert json.loads(body) == {"message": "User is not authorized to access this resource with an explicit deny"}
    status, _, body = call(nimbus.api_port, "GET", prefix + "/me", headers={"Authorization": "unauth"})
    assert status == 401 and json.loads(body) == {"message": "Unauthorized"}


# HTTP API REQUEST authorizer with simple responses: isAuthorized false → 403
# {"message":"Forbidden"}; context under requestContext.authorizer.lambda; TTL 0
# asks the authorizer every time.
def test_http_simple_authorizer(nimbus, functions, authorizers, prefix):
    scheme = {"type": "apiKey", "name": "x-user", "in": "header",
              "x-amazon-apigateway-authorizer": {
                  "type": "request", "authorizerUri": uri(authorizers["simple"]),
                  "identitySource": ["$request.header.x-user"],
                  "authorizerPayloadFormatVersion": "2.0", "enableSimpleResponses": True,
                  "authorizerResultTtlInSeconds": 0}}
    http_api(nimbus, document({prefix + "/h": {"get": op(functions["echo"], "2.0", security=[{"simple": []}])}},
                              components={"securitySchemes": {"simple": scheme}}))
    status, _, body = call(nimbus.api_port, "GET", prefix + "/h")
    assert status == 401
    status, _, body = call(nimbus.api_port, "GET", prefix + "/h", headers={"x-user": "nope"})
    assert status == 403 and json.loads(body) == {"message": "Forbidden"}
    status, _, body = call(nimbus.api_port, "GET", prefix + "/h", headers={"x-user": "ok"})
    assert status == 200, body
    first = json.loads(body)["requestContext"]["authorizer"]["lambda"]
    assert first["who"] == "ok"
    status, _, body = call(nimbus.api_port, "GET", prefix + "/h", headers={"x-user": "ok"})
    assert json.loads(body)["requestContext"]["authorizer"]["lambda"]["nonce"] != first["nonce"]


# REST request validators: missing required parameters → 400 {"message":
# "Missing required request parameters: [q]"}, a body that fails the model →
# 400 {"message": "Invalid request body"}, both before the function is invoked.
def test_request_validation(nimbus, functions, prefix):
    post = op(functions["echo"])
    post["parameters"] = [{"name": "q", "in": "query", "required": True, "schema": {"type": "string"}}]
    post["requestBody"] = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Order"}}}}
    rest_api(nimbus, document(
        {prefix + "/orders": {"post": post}},
        components={"schemas": {"Order": {"type": "object", "required": ["name"],
                                          "properties": {"name": {"type": "string"}, "qty": {"type": "integer", "minimum": 1}}}}},
        **{"x-amazon-apigateway-request-validators": {"all": {"validateRequestBody": True,
                                                              "validateRequestParameters": True}},
           "x-amazon-apigateway-request-validator": "all"}))
    hdr = {"Content-Type": "application/json"}
    status, headers, body = call(nimbus.api_port, "POST", prefix + "/orders", body=b'{"name": "x"}', headers=hdr)
    assert status == 400
    assert json.loads(body) == {"message": "Missing required request parameters: [q]"}
    status, _, body = call(nimbus.api_port, "POST", prefix + "/orders?q=1", body=b'{"qty": 0}', headers=hdr)
    assert status == 400 and json.loads(body) == {"message": "Invalid request body"}
    status, _, body = call(nimbus.api_port, "POST", prefix + "/orders?q=1", body=b'not json', headers=hdr)
    assert status == 400
    status, _, body = call(nimbus.api_port, "POST", prefix + "/orders?q=1", body=b'{"name": "x", "qty": 2}', headers=hdr)
    assert status == 200 and json.loads(json.loads(body)["body"]) == {"name": "x", "qty": 2}
