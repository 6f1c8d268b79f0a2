"""API Gateway stage caching end to end: a REST API's stage with a cache cluster
and method settings (CreateDeployment / UpdateStage through boto3, or SAM's
CacheClusterEnabled / MethodSettings through `nimbus deploy`), called over HTTP.

Every test function prints one INVOKED line per invocation, so the number of
those lines in its log group is the number of times the gateway invoked it:
a cache hit must not add one. Each test names the AWS behaviour it pins."""
import http.client
import json
import subprocess
import time
import uuid

import pytest

from e2e_support import ACCOUNT, NIMBUS_BIN, wait_until

COUNTED = """
import json, uuid
def handler(event, context):
    token = uuid.uuid4().hex
    print("INVOKED " + token)
    status = 503 if event["path"].endswith("/err") else 200
    return {"statusCode": status, "headers": {"Content-Type": "application/json"},
            "body": json.dumps({"token": token, "path": event["path"]})}
"""


def uri(fn):
    return ("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
            f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{fn}/invocations")


def op(fn, cache_keys=None):
    integ = {"type": "aws_proxy", "httpMethod": "POST", "uri": uri(fn)}
    if cache_keys:
        integ["cacheKeyParameters"] = cache_keys
    return {"x-amazon-apigateway-integration": integ}


def call(port, path, method="GET", headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, headers=headers or {})
        r = conn.getresponse()
        body = r.read()
        return r.status, json.loads(body) if body else None
    finally:
        conn.close()


def token(nimbus, path, **kw):
    status, body = call(nimbus.api_port, path, **kw)
    assert status == 200, body
    return body["token"]


def invocations(nimbus, fn):
    return sum(1 for m in nimbus.log_messages(fn) if m.startswith("INVOKED "))


@pytest.fixture
def fn(nimbus, fname):
    nimbus.create_function(fname, files={"app.py": COUNTED}, Timeout=10)
    return fname


@pytest.fixture
def prefix():
    return "/c" + uuid.uuid4().hex[:8]


@pytest.fixture
def cached_api(nimbus, fn, prefix):
    """A REST API whose stage caches every GET for `ttl` seconds; returns its id."""
    apigw = nimbus.client("apigateway")
    created = []

    def make(ttl=300, paths=None):
        paths = paths or {
            # color and the id are the key; any other query parameter is not.
            prefix + "/items/{id}": {"get": op(fn, ["method.request.path.id",
                                                    "method.request.querystring.color"]),
                                     "post": op(fn)},
            # No key parameters: the resource path alone is the key.
            prefix + "/all/{id}": {"get": op(fn)},
            prefix + "/err": {"get": op(fn)},
        }
        doc = {"openapi": "3.0.1", "info": {"title": "cache-" + uuid.uuid4().hex[:6], "version": "1"},
               "paths": paths}
        api = apigw.create_rest_api(name=doc["info"]["title"])["id"]
        created.append(api)
        apigw.put_rest_api(restApiId=api, mode="overwrite", body=json.dumps(doc).encode())
        apigw.create_deployment(restApiId=api, stageName="Prod", cacheClusterEnabled=True,
                                cacheClusterSize="0.5")
        apigw.update_stage(restApiId=api, stageName="Prod", patchOperations=[
            {"op": "replace", "path": "/*/*/caching/enabled", "value": "true"},
            {"op": "replace", "path": "/*/*/caching/ttlInSeconds", "value": str(ttl)}])
        return api

    yield make
    for api in created:
        apigw.delete_rest_api(restApiId=api)


# AWS: UpdateStage's `/*/*/caching/...` patch paths set the stage-wide method
# setting, `/~1resource~1path/METHOD/...` an override; GetStage shows them with
# the cache cluster AVAILABLE.
def test_stage_shows_the_cache_settings(nimbus, cached_api, prefix):
    api = cached_api(ttl=120)
    apigw = nimbus.client("apigateway")
    apigw.update_stage(restApiId=api, stageName="Prod", patchOperations=[
        {"op": "replace", "path": f"/~1{prefix[1:]}~1items~1{{id}}/POST/caching/enabled",
         "value": "true"}])
    st = apigw.get_stage(restApiId=api, stageName="Prod")
    assert st["cacheClusterEnabled"] is True
    assert st["cacheClusterSize"] == "0.5"
    assert st["cacheClusterStatus"] == "AVAILABLE"
    stage_wide = st["methodSettings"]["*/*"]
    assert stage_wide["cachingEnabled"] is True and stage_wide["cacheTtlInSeconds"] == 120
    assert stage_wide["requireAuthorizationForCacheControl"] is True
    assert stage_wide["unauthorizedCacheControlHeaderStrategy"] == "SUCCEED_WITH_RESPONSE_HEADER"
    assert st["methodSettings"][f"~1{prefix[1:]}~1items~1{{id}}/POST"]["cachingEnabled"] is True
    with pytest.raises(apigw.exceptions.BadRequestException):
        apigw.update_stage(restApiId=api, stageName="Prod", patchOperations=[
            {"op": "replace", "path": "/*/*/caching/ttlInSeconds", "value": "3601"}])


# AWS: a cached method answers from the cache without calling the integration;
# query parameters outside cacheKeyParameters do not differentiate entries, key
# parameters (query string, path) do; without key parameters every request to
# the resource shares one entry, whatever its path parameter.
def test_hits_do_not_invoke_and_the_key_is_the_key_parameters(nimbus, fn, cached_api, prefix):
    cached_api()
    red = token(nimbus, prefix + "/items/1?color=red")
    assert invocations(nimbus, fn) == 1
    for _ in range(3):
        assert token(nimbus, prefix + "/items/1?color=red") == red
    assert token(nimbus, prefix + "/items/1?color=red&size=XL") == red  # size is not in the key
    assert token(nimbus, prefix + "/items/1?size=S&color=red") == red
    assert invocations(nimbus, fn) == 1

    blue = token(nimbus, prefix + "/items/1?color=blue")  # a key parameter: a miss
    assert blue != red
    other_id = token(nimbus, prefix + "/items/2?color=red")  # method.request.path.id is a key
    assert other_id not in (red, blue)
    no_color = token(nimbus, prefix + "/items/1")
    assert no_color not in (red, blue, other_id)
    assert invocations(nimbus, fn) == 4
    assert token(nimbus, prefix + "/items/1?color=blue") == blue
    assert token(nimbus, prefix + "/items/1?color=red") == red

    shared = token(nimbus, prefix + "/all/1")
    assert token(nimbus, prefix + "/all/2") == shared  # the path parameter is not in the key
    assert invocations(nimbus, fn) == 5


# AWS: only GET methods are cached by the stage-wide setting, and only
# successful integration responses (Nimbus: 2xx) are cached.
def test_only_successful_gets_are_cached(nimbus, fn, cached_api, prefix):
    cached_api()
    for _ in range(2):
        status, _ = call(nimbus.api_port, prefix + "/items/1?color=red", method="POST")
        assert status == 200
    for _ in range(2):
        status, _ = call(nimbus.api_port, prefix + "/err")
        assert status == 503
    assert invocations(nimbus, fn) == 4


# AWS: an entry lives cacheTtlInSeconds, then the next request calls the integration.
def test_entries_expire_after_the_ttl(nimbus, fn, cached_api, prefix):
    ttl = 2
    cached_api(ttl=ttl)
    started = time.monotonic()  # the entry is stored after this...
    first = token(nimbus, prefix + "/items/1?color=red")
    cached_by = time.monotonic()  # ...and before this
    again = token(nimbus, prefix + "/items/1?color=red")
    if time.monotonic() < started + ttl:  # answered within the TTL for sure
        assert again == first

    def expired():
        return time.monotonic() if token(nimbus, prefix + "/items/1?color=red") != first else None

    # Polling hits the cache (no invocation) until the entry expires, which must
    # happen soon after cached_by + ttl (the margin leaves room for a loaded machine).
    changed_by = wait_until(expired, timeout=cached_by + ttl + 10 - time.monotonic(), interval=0.1,
                            what="the entry to expire")
    assert changed_by >= started + ttl  # never before the TTL
    assert invocations(nimbus, fn) == 2


# AWS: a client's `Cache-Control: max-age=0` skips the entry, calls the
# integration and caches the fresh answer (Nimbus lets every caller invalidate:
# IAM, and so execute-api:InvalidateCache, is not enforced).
def test_cache_control_max_age_zero_refetches(nimbus, fn, cached_api, prefix):
    cached_api()
    first = token(nimbus, prefix + "/items/1?color=red")
    assert token(nimbus, prefix + "/items/1?color=red") == first
    fresh = token(nimbus, prefix + "/items/1?color=red", headers={"Cache-Control": "max-age=0"})
    assert fresh != first
    assert token(nimbus, prefix + "/items/1?color=red") == fresh
    assert invocations(nimbus, fn) == 2


# AWS: FlushStageCache empties the stage's cache.
def test_flush_stage_cache(nimbus, fn, cached_api, prefix):
    api = cached_api()
    first = token(nimbus, prefix + "/items/1?color=red")
    assert token(nimbus, prefix + "/items/1?color=red") == first
    apigw = nimbus.client("apigateway")
    apigw.flush_stage_cache(restApiId=api, stageName="Prod")
    second = token(nimbus, prefix + "/items/1?color=red")
    assert second != first
    assert token(nimbus, prefix + "/items/1?color=red") == second
    assert invocations(nimbus, fn) == 2
    with pytest.raises(apigw.exceptions.NotFoundException):
        apigw.flush_stage_cache(restApiId=api, stageName="nope")


TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: prod
{cache}
  Cached:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: {fn}
      Handler: index.handler
      Runtime: python3.11
      InlineCode: |
{code}
      Events:
        Get:
          Type: Api
          Properties:
            RestApiId: !Ref Api
            Path: {prefix}/items
            Method: get
            RequestParameters:
              - method.request.querystring.color: {{Caching: true}}
"""
CACHE = """      CacheClusterEnabled: true
      CacheClusterSize: "0.5"
      MethodSettings:
        - ResourcePath: "/*"
          HttpMethod: "*"
          CachingEnabled: true
          CacheTtlInSeconds: 300"""


# SAM: CacheClusterEnabled, CacheClusterSize and MethodSettings configure the
# API's stage, RequestParameters with `Caching: true` are the cache key; a
# redeploy without them turns caching off.
def test_sam_method_settings_through_nimbus_deploy(nimbus, tmp_path, prefix):
    stack = "cache" + uuid.uuid4().hex[:8]
    fn = stack + "-cached"
    code = "\n".join("        " + line for line in COUNTED.strip().splitlines())
    template = tmp_path / "template.yaml"

    def deploy(cache):
        template.write_text(TEMPLATE.format(cache=cache, fn=fn, code=code, prefix=prefix))
        r = subprocess.run([NIMBUS_BIN, "deploy", str(template), "--endpoint", nimbus.endpoint,
                            "--stack-name", stack], capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr

    apigw = nimbus.client("apigateway")
    try:
        deploy(CACHE)
        api = next(a["id"] for a in apigw.get_rest_apis(limit=500)["items"]
                   if a.get("tags", {}).get("nimbus:stack") == stack)
        st = apigw.get_stage(restApiId=api, stageName="prod")
        assert st["cacheClusterEnabled"] is True and st["cacheClusterStatus"] == "AVAILABLE"
        assert st["methodSettings"]["*/*"]["cachingEnabled"] is True
        assert st["methodSettings"]["*/*"]["cacheTtlInSeconds"] == 300

        red = token(nimbus, prefix + "/items?color=red")
        assert token(nimbus, prefix + "/items?color=red&page=2") == red
        assert token(nimbus, prefix + "/items?color=blue") != red
        assert invocations(nimbus, fn) == 2

        deploy("")
        st = apigw.get_stage(restApiId=api, stageName="prod")
        assert st["cacheClusterEnabled"] is False and st["methodSettings"] == {}
        assert token(nimbus, prefix + "/items?color=red") != red
        assert invocations(nimbus, fn) == 3
        token(nimbus, prefix + "/items?color=red")
        assert invocations(nimbus, fn) == 4
    finally:
        for a in apigw.get_rest_apis(limit=500)["items"]:
            if a.get("tags", {}).get("nimbus:stack") == stack:
                apigw.delete_rest_api(restApiId=a["id"])
        try:
            nimbus.lambda_.delete_function(FunctionName=fn)
        except nimbus.lambda_.exceptions.ResourceNotFoundException:
            pass
