"""`nimbus deploy`: SAM templates applied as stacks through the server's AWS APIs.

Functions go through the Lambda API, APIs through API Gateway's (PutRestApi /
ImportApi with OpenAPI documents), and stack membership is a pair of tags.
"""
import base64
import json
import re
import shutil
import subprocess
import time
import urllib.request
import uuid

import pytest

from e2e_support import NIMBUS_BIN, REPO, wait_until

DATA = REPO / "tests" / "e2e" / "data" / "deploy"


def deploy(nimbus, template, *args, stack=None, timeout=120):
    cmd = [NIMBUS_BIN, "deploy", str(template), "--endpoint", nimbus.endpoint]
    if stack:
        cmd += ["--stack-name", stack]
    return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def stack(nimbus):
    """A unique stack name; what the stack left behind is deleted afterwards so
    its routes never conflict with other tests' APIs on the shared server."""
    name = f"st{uuid.uuid4().hex[:8]}"
    yield name
    rest, v2 = nimbus.client("apigateway"), nimbus.client("apigatewayv2")
    for a in rest.get_rest_apis(limit=500)["items"]:
        if a.get("tags", {}).get("nimbus:stack") == name:
            rest.delete_rest_api(restApiId=a["id"])
    for a in v2.get_apis()["Items"]:
        if a.get("Tags", {}).get("nimbus:stack") == name:
            v2.delete_api(ApiId=a["ApiId"])
    for logical_id, f in stack_functions(nimbus, name).items():
        nimbus.lambda_.delete_function(FunctionName=f["FunctionName"])


@pytest.fixture
def orders(tmp_path):
    """A private copy of the orders stack's folder (tests edit it)."""
    dst = tmp_path / "orders"
    shutil.copytree(DATA / "orders", dst)
    return dst


def stack_functions(nimbus, stack):
    out = {}
    for page in nimbus.lambda_.get_paginator("list_functions").paginate():
        for f in page["Functions"]:
            tags = nimbus.lambda_.list_tags(Resource=f["FunctionArn"])["Tags"]
            if tags.get("nimbus:stack") == stack:
                out[tags["nimbus:logical-id"]] = f
    return out


def status_lines(stdout):
    """{(status, logical id)} from the progress lines."""
    return {(m.group(1), m.group(3)) for m in
            re.finditer(r"^(\w+)\s+(AWS::\S+)\s+(\S+)\s+\(\d+\.\d s\)", stdout, re.M)}


def test_deploy_creates_the_stack_with_the_templates_settings(nimbus, orders, stack):
    r = deploy(nimbus, orders / "template.yaml", stack=stack)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = status_lines(r.stdout)
    assert ("CREATE_COMPLETE", "CreateOrder") in lines and ("CREATE_COMPLETE", "GetOrder") in lines
    # Dependency order: GetOrder refers to CreateOrder.
    assert r.stdout.index("CreateOrder") < r.stdout.index("GetOrder")

    fns = stack_functions(nimbus, stack)
    assert set(fns) == {"CreateOrder", "GetOrder"}
    create = nimbus.lambda_.get_function(FunctionName=fns["CreateOrder"]["FunctionName"])
    cfg = create["Configuration"]
    assert re.fullmatch(rf"{stack}-CreateOrder-[0-9A-F]{{12}}", cfg["FunctionName"])
    assert cfg["Runtime"] == "python3.11" and cfg["Handler"] == "order.lambda_handler"
    assert cfg["MemorySize"] == 512 and cfg["Timeout"] == 30
    assert cfg["Environment"]["Variables"] == {"TABLE_NAME": "orders"}
    assert create["Tags"] == {"nimbus:stack": stack, "nimbus:logical-id": "CreateOrder"}

    get = nimbus.lambda_.get_function(FunctionName=fns["GetOrder"]["FunctionName"])
    assert get["Concurrency"]["ReservedConcurrentExecutions"] == 2
    assert get["Configuration"]["Environment"]["Variables"]["CREATE_FUNCTION"] == cfg["FunctionName"]
    alias = nimbus.lambda_.get_alias(FunctionName=fns["GetOrder"]["FunctionName"], Name="live")
    assert alias["FunctionVersion"] == "1"

    resp = nimbus.lambda_.invoke(FunctionName=cfg["FunctionName"],
                                 Payload=json.dumps({"body": '{"item": "book"}'}))
    body = json.loads(resp["Payload"].read())
    assert body["statusCode"] == 201
    assert json.loads(body["body"]) == {"table": "orders", "order": {"item": "book"}, "version": 1}

    # Outputs, resolved.
    assert re.search(rf"CreateOrderFunction\s+{cfg['FunctionName']}", r.stdout)
    assert re.search(rf"CreateOrderArn\s+{re.escape(cfg['FunctionArn'])}", r.stdout)
    assert re.search(r"Table\s+orders-table", r.stdout)


def test_redeploy_applies_only_the_differences(nimbus, orders, stack):
    assert deploy(nimbus, orders / "template.yaml", stack=stack).returncode == 0
    before = {k: v["LastModified"] for k, v in stack_functions(nimbus, stack).items()}

    # Nothing changed: nothing touched.
    r = deploy(nimbus, orders / "template.yaml", stack=stack)
    assert r.returncode == 0, r.stderr
    assert status_lines(r.stdout) == set() and "No changes" in r.stdout
    assert {k: v["LastModified"] for k, v in stack_functions(nimbus, stack).items()} == before

    # New code for CreateOrder and a parameter change: only CreateOrder is updated.
    code = orders / "create_order" / "order.py"
    code.write_text(code.read_text().replace('"version": 1', '"version": 2'))
    r = deploy(nimbus, orders / "template.yaml", "--parameter-overrides", "TableName=orders2",
               stack=stack)
    assert r.returncode == 0, r.stdout + r.stderr
    assert status_lines(r.stdout) == {("UPDATE_IN_PROGRESS", "CreateOrder"),
                                      ("UPDATE_COMPLETE", "CreateOrder")}
    fns = stack_functions(nimbus, stack)
    assert fns["GetOrder"]["LastModified"] == before["GetOrder"]
    assert fns["CreateOrder"]["Environment"]["Variables"] == {"TABLE_NAME": "orders2"}
    resp = nimbus.lambda_.invoke(FunctionName=fns["CreateOrder"]["FunctionName"], Payload=b"{}")
    assert json.loads(json.loads(resp["Payload"].read())["body"])["version"] == 2


def test_function_removed_from_the_template_is_deleted(nimbus, orders, stack):
    assert deploy(nimbus, orders / "template.yaml", stack=stack).returncode == 0
    name = stack_functions(nimbus, stack)["GetOrder"]["FunctionName"]
    text = (orders / "template.yaml").read_text()
    start, end = text.index("  GetOrder:"), text.index("Outputs:")
    (orders / "template.yaml").write_text(text[:start] + text[end:])
    r = deploy(nimbus, orders / "template.yaml", stack=stack)
    assert r.returncode == 0, r.stdout + r.stderr
    assert ("DELETE_COMPLETE", "GetOrder") in status_lines(r.stdout)
    assert set(stack_functions(nimbus, stack)) == {"CreateOrder"}
    with pytest.raises(nimbus.lambda_.exceptions.ResourceNotFoundException):
        nimbus.lambda_.get_function(FunctionName=name)


def test_template_error_names_file_line_and_property(nimbus, tmp_path, stack):
    t = tmp_path / "template.yaml"
    t.write_text("Transform: AWS::Serverless-2016-10-31\n"
                 "Resources:\n"
                 "  Fn:\n"
                 "    Type: AWS::Serverless::Function\n"
                 "    Properties:\n"
                 "      Handler: index.handler\n"
                 "      Runtime: python3.11\n"
                 "      InlineCode: 'def handler(e, c): return 1'\n"
                 "      Timeout: soon\n")
    r = deploy(nimbus, t, stack=stack)
    assert r.returncode != 0
    assert re.search(r"template\.yaml:9:\d+: Resources\.Fn\.Properties\.Timeout", r.stderr), r.stderr
    assert stack_functions(nimbus, stack) == {}


def test_unsupported_types_are_named_with_their_line(nimbus, tmp_path, stack):
    t = tmp_path / "template.yaml"
    t.write_text("Transform: AWS::Serverless-2016-10-31\n"
                 "Resources:\n"
                 "  Queue:\n"
                 "    Type: AWS::SQS::Queue\n"
                 "  Fn:\n"
                 "    Type: AWS::Serverless::Function\n"
                 "    Properties:\n"
                 "      Handler: index.handler\n"
                 "      Runtime: python3.11\n"
                 "      InlineCode: 'def handler(e, c): return 1'\n"
                 "      Events:\n"
                 "        Jobs:\n"
                 "          Type: SQS\n"
                 "          Properties: {Queue: !GetAtt Queue.Arn}\n")
    r = deploy(nimbus, t, stack=stack)
    assert r.returncode != 0
    assert re.search(r"template\.yaml:3:\d+: .*AWS::SQS::Queue.*not supported", r.stderr), r.stderr
    assert re.search(r"template\.yaml:13:\d+: .*'SQS' is not supported", r.stderr), r.stderr
    assert stack_functions(nimbus, stack) == {}


def test_failed_deploy_rolls_back(nimbus, orders, stack):
    # First deploy: fine. Second: new code for CreateOrder, then a new function the
    # server refuses (a reserved environment key) -> CreateOrder's code is restored.
    assert deploy(nimbus, orders / "template.yaml", stack=stack).returncode == 0
    code = orders / "create_order" / "order.py"
    code.write_text(code.read_text().replace('"version": 1', '"version": 2'))
    text = (orders / "template.yaml").read_text()
    bad = ("  Broken:\n"
           "    Type: AWS::Serverless::Function\n"
           "    DependsOn: CreateOrder\n"
           "    Properties:\n"
           "      Handler: index.handler\n"
           "      InlineCode: 'def handler(e, c): return 1'\n"
           "      Environment: {Variables: {AWS_REGION: nowhere}}\n\n")
    (orders / "template.yaml").write_text(text.replace("Outputs:", bad + "Outputs:"))
    r = deploy(nimbus, orders / "template.yaml", stack=stack)
    assert r.returncode != 0
    lines = status_lines(r.stdout)
    assert ("UPDATE_COMPLETE", "CreateOrder") in lines
    assert ("CREATE_FAILED", "Broken") in lines
    assert "reserved keys" in r.stdout
    assert "ROLLBACK_COMPLETE" in r.stdout
    fns = stack_functions(nimbus, stack)
    assert set(fns) == {"CreateOrder", "GetOrder"}
    resp = nimbus.lambda_.invoke(FunctionName=fns["CreateOrder"]["FunctionName"], Payload=b"{}")
    assert json.loads(json.loads(resp["Payload"].read())["body"])["version"] == 1


def test_failed_first_deploy_deletes_what_it_created(nimbus, tmp_path, stack):
    t = tmp_path / "template.yaml"
    fn = "{Handler: index.handler, Runtime: python3.11, InlineCode: 'def handler(e, c): return 1'"
    t.write_text("Transform: AWS::Serverless-2016-10-31\n"
                 "Resources:\n"
                 f"  Good: {{Type: AWS::Serverless::Function, Properties: {fn}}}}}\n"
                 "  Bad:\n"
                 "    Type: AWS::Serverless::Function\n"
                 "    DependsOn: Good\n"
                 f"    Properties: {fn}, Environment: {{Variables: {{AWS_REGION: x}}}}}}\n")
    r = deploy(nimbus, t, stack=stack)
    assert r.returncode != 0
    lines = status_lines(r.stdout)
    assert ("CREATE_COMPLETE", "Good") in lines and ("DELETE_COMPLETE", "Good") in lines
    assert "ROLLBACK_COMPLETE" in r.stdout
    assert stack_functions(nimbus, stack) == {}


def test_failed_deploy_deletes_the_layer_version_it_published(nimbus, tmp_path, stack):
    # CloudFormation: a failed stack operation rolls back what it created; here
    # the layer version published before Lambda refused the function (the same
    # layer twice is an InvalidParameterValueException on AWS).
    layer = f"L{stack}"
    (tmp_path / "libs").mkdir()
    (tmp_path / "libs" / "a.txt").write_text("a")
    t = tmp_path / "template.yaml"
    t.write_text("Transform: AWS::Serverless-2016-10-31\n"
                 "Resources:\n"
                 "  Libs:\n"
                 "    Type: AWS::Serverless::LayerVersion\n"
                 f"    Properties: {{ContentUri: libs/, LayerName: {layer}}}\n"
                 "  Fn:\n"
                 "    Type: AWS::Serverless::Function\n"
                 "    Properties: {Handler: index.h, Runtime: python3.11, InlineCode: x,"
                 " Layers: [!Ref Libs, !Ref Libs]}\n")
    r = deploy(nimbus, t, stack=stack)
    assert r.returncode != 0
    assert "Two different versions of the same layer" in r.stdout + r.stderr
    assert "ROLLBACK_COMPLETE" in r.stdout
    assert nimbus.lambda_.list_layer_versions(LayerName=layer)["LayerVersions"] == []
    assert stack_functions(nimbus, stack) == {}


def test_api_deploy_serves_the_route(nimbus, tmp_path, stack):
    shutil.copytree(DATA / "api", tmp_path / "api")
    r = deploy(nimbus, tmp_path / "api" / "template.yaml", stack=stack)
    assert r.returncode == 0, r.stdout + r.stderr
    assert ("CREATE_COMPLETE", "ServerlessRestApi") in status_lines(r.stdout)
    url = re.search(r"(http://\S+/restapis/\S+/Prod/_user_request_/)", r.stdout).group(1)
    req = urllib.request.Request(url + "orders", data=b'{"item": "pen"}', method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        assert resp.status == 201
        assert json.loads(resp.read())["order"] == {"item": "pen"}
    # Redeploying the same template leaves the API alone.
    r = deploy(nimbus, tmp_path / "api" / "template.yaml", stack=stack)
    assert r.returncode == 0 and status_lines(r.stdout) == set(), r.stdout


def test_watch_redeploys_changed_code(nimbus, orders, stack):
    proc = subprocess.Popen([NIMBUS_BIN, "deploy", str(orders / "template.yaml"), "--endpoint",
                             nimbus.endpoint, "--stack-name", stack, "--watch"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            lines.append(line)
            if line.startswith("Watching") or not line:
                break
        assert any(l.startswith("Watching") for l in lines), "".join(lines)
        name = stack_functions(nimbus, stack)["CreateOrder"]["FunctionName"]
        code = orders / "create_order" / "order.py"
        saved = time.monotonic()
        code.write_text(code.read_text().replace('"version": 1', '"version": 3'))

        def version():
            resp = nimbus.lambda_.invoke(FunctionName=name, Payload=b"{}")
            return json.loads(json.loads(resp["Payload"].read())["body"])["version"] == 3

        wait_until(version, timeout=10, interval=0.1, what="the watched redeploy")
        assert time.monotonic() - saved < 5
    finally:
        proc.terminate()
        proc.wait(10)


def test_api_keys_authorizer_validation_and_cors(nimbus, tmp_path, stack):
    shutil.copytree(DATA / "secured", tmp_path / "secured")
    r = deploy(nimbus, tmp_path / "secured" / "template.yaml", stack=stack)
    assert r.returncode == 0, r.stdout + r.stderr
    base = re.search(r"(http://\S+/restapis/\S+/prod/_user_request_/)", r.stdout).group(1)
    apigw = nimbus.client("apigateway")
    keys = [k for k in apigw.get_api_keys(includeValues=True)["items"]
            if k.get("tags", {}).get("nimbus:stack") == stack]
    assert len(keys) == 1
    plans = [p for p in apigw.get_usage_plans()["items"]
             if p.get("tags", {}).get("nimbus:stack") == stack]
    assert len(plans) == 1
    assert plans[0]["throttle"] == {"burstLimit": 5, "rateLimit": 2.0}
    assert plans[0]["quota"]["limit"] == 100 and plans[0]["quota"]["period"] == "DAY"

    def call(headers, body, method="POST"):
        req = urllib.request.Request(base + "secure/orders", data=json.dumps(body).encode(),
                                     method=method,
                                     headers={"Content-Type": "application/json", **headers})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    key = {"x-api-key": keys[0]["value"]}
    status, body = call({"Authorization": "good", **key}, {"item": "x"})
    assert status == 201 and body["user_id"] == "u1"
    assert call({"Authorization": "bad", **key}, {"item": "x"})[0] == 403
    assert call({"Authorization": "good"}, {"item": "x"})[0] == 403
    assert call({"Authorization": "good", **key}, {"nope": 1})[0] == 400
    pre = urllib.request.Request(base + "secure/orders", method="OPTIONS", headers={
        "Origin": "https://example.com", "Access-Control-Request-Method": "POST"})
    with urllib.request.urlopen(pre, timeout=30) as resp:
        assert resp.headers["Access-Control-Allow-Origin"] == "https://example.com"

    # A template without the API: the API, its usage plan and key are deleted.
    t = tmp_path / "secured" / "template.yaml"
    text = t.read_text()
    # (keeps AuthFn and Fn; drops Fn's Events and the Outputs that name the API)
    t.write_text(text[:text.index("  Api:")] +
                 text[text.index("  AuthFn:"):].split("      Events:")[0])
    r = deploy(nimbus, t, stack=stack)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = status_lines(r.stdout)
    assert {("DELETE_COMPLETE", "Api"), ("DELETE_COMPLETE", "ApiUsagePlan"),
            ("DELETE_COMPLETE", "ApiApiKey")} <= lines, r.stdout
    assert not [k for k in apigw.get_api_keys()["items"]
                if k.get("tags", {}).get("nimbus:stack") == stack]


def test_http_api_payload_2_0_redeploy_and_removal(nimbus, tmp_path, stack):
    shutil.copytree(DATA / "http", tmp_path / "http")
    t = tmp_path / "http" / "template.yaml"
    r = deploy(nimbus, t, stack=stack)
    assert r.returncode == 0, r.stdout + r.stderr
    assert ("CREATE_COMPLETE", "ServerlessHttpApi") in status_lines(r.stdout)
    api_id = re.search(r"/restapis/(\w+)/", r.stdout).group(1)
    with urllib.request.urlopen(f"http://127.0.0.1:{nimbus.api_port}/items/7", timeout=30) as resp:
        assert json.loads(resp.read()) == {"v": "2.0", "route": "GET /items/{id}"}
    r = deploy(nimbus, t, stack=stack)
    assert r.returncode == 0 and status_lines(r.stdout) == set(), r.stdout
    # Without events, the implicit API goes away.
    text = t.read_text()
    t.write_text(text[:text.index("      Events:")])
    r = deploy(nimbus, t, stack=stack)
    assert r.returncode == 0, r.stdout + r.stderr
    assert ("DELETE_COMPLETE", "ServerlessHttpApi") in status_lines(r.stdout)
    apis = nimbus.client("apigatewayv2").get_apis()["Items"]
    assert api_id not in [a["ApiId"] for a in apis]


def _api_template(routes, extra_api="", extra_resources=""):
    """A REST API (explicit, stage `prod`) with one function per route that
    answers its own name and the body it got."""
    fns = ""
    for name, path in routes:
        fns += (f"  {name}:\n"
                "    Type: AWS::Serverless::Function\n"
                "    Properties:\n"
                "      Handler: index.handler\n"
                "      Runtime: python3.11\n"
                "      InlineCode: |\n"
                "        import json\n"
                "        def handler(e, c):\n"
                f"            return {{'statusCode': 200, 'body': json.dumps({{'fn': '{name}'}})}}\n"
                "      Events:\n"
                f"        Get: {{Type: Api, Properties: {{RestApiId: !Ref Api, Path: {path}, Method: GET}}}}\n")
    return ("Transform: AWS::Serverless-2016-10-31\n"
            "Resources:\n"
            "  Api:\n"
            "    Type: AWS::Serverless::Api\n"
            "    Properties:\n"
            "      StageName: prod\n"
            "      Variables: {color: blue}\n"
            + extra_api + fns + extra_resources)


def _deploy_api(nimbus, template, stack):
    """Deploys; returns the stage `prod`'s edge URL (without the final /) and the API id."""
    r = deploy(nimbus, template, stack=stack)
    assert r.returncode == 0, r.stdout + r.stderr
    base = re.search(r"(http://\S+/restapis/\S+/prod/_user_request_)/", r.stdout).group(1)
    return base, re.search(r"/restapis/(\w+)/", r.stdout).group(1)


def _get(url, headers=None):
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_failed_redeploy_restores_the_previous_api(nimbus, tmp_path, stack):
    # CloudFormation: when a stack update fails, the rollback returns every
    # updated resource to its previous properties; for an API that is the
    # previous definition redeployed on its stage with its stage settings, so
    # the API serves exactly what it served before the failed update.
    t = tmp_path / "template.yaml"
    p1, p2 = f"/{stack}/one", f"/{stack}/two"
    t.write_text(_api_template([("One", p1)]))
    base, api_id = _deploy_api(nimbus, t, stack)
    apigw = nimbus.client("apigateway")
    before_stage = apigw.get_stage(restApiId=api_id, stageName="prod")
    assert _get(base + p1) == (200, b'{"fn": "One"}')

    # The redeploy replaces the route and the stage variables, then fails on
    # a function created after the API (DependsOn) that Lambda refuses.
    broken = ("  Broken:\n"
              "    Type: AWS::Serverless::Function\n"
              "    DependsOn: Api\n"
              "    Properties:\n"
              "      Handler: index.handler\n"
              "      Runtime: python3.11\n"
              "      InlineCode: 'def handler(e, c): return 1'\n"
              "      Environment: {Variables: {AWS_REGION: nowhere}}\n")
    t.write_text(_api_template([("Two", p2)], extra_resources=broken)
                 .replace("color: blue", "color: red, size: big"))
    r = deploy(nimbus, t, stack=stack)
    assert r.returncode != 0
    lines = status_lines(r.stdout)
    assert ("UPDATE_COMPLETE", "Api") in lines and ("CREATE_FAILED", "Broken") in lines, r.stdout
    assert "ROLLBACK_COMPLETE" in r.stdout, r.stdout
    # The old route answers as before; the new one was never kept.
    assert _get(base + p1) == (200, b'{"fn": "One"}')
    assert _get(base + p2)[0] == 403
    after_stage = apigw.get_stage(restApiId=api_id, stageName="prod")
    assert after_stage["variables"] == before_stage["variables"] == {"color": "blue"}
    # The definition tag is the old one too: the same template again is a no-op.
    t.write_text(_api_template([("One", p1)]))
    r = deploy(nimbus, t, stack=stack)
    assert r.returncode == 0, r.stdout + r.stderr
    assert ("UPDATE_COMPLETE", "Api") not in status_lines(r.stdout), r.stdout


def _stack_items(apigw, stack, what):
    items = apigw.get_usage_plans()["items"] if what == "plans" else \
        apigw.get_api_keys(includeValues=True)["items"]
    return [i for i in items if i.get("tags", {}).get("nimbus:stack") == stack]


def test_usage_plan_added_updated_and_removed_on_redeploys(nimbus, tmp_path, stack):
    # CloudFormation (SAM's Auth.UsagePlan: CreateUsagePlan PER_API): the
    # AWS::ApiGateway::UsagePlan, ApiKey and UsagePlanKey follow the template
    # on every update: created when added, updated in place (same plan id),
    # deleted when removed.
    t = tmp_path / "template.yaml"
    path = f"/{stack}/k"
    t.write_text(_api_template([("One", path)]))
    base, api_id = _deploy_api(nimbus, t, stack)
    apigw = nimbus.client("apigateway")
    assert _stack_items(apigw, stack, "plans") == []

    auth = ("      Auth:\n"
            "        ApiKeyRequired: true\n"
            "        UsagePlan:\n"
            "          CreateUsagePlan: PER_API\n"
            "          Quota: {Limit: 2, Period: DAY}\n")
    t.write_text(_api_template([("One", path)], extra_api=auth))
    r = deploy(nimbus, t, stack=stack)
    assert r.returncode == 0, r.stdout + r.stderr
    plans, keys = _stack_items(apigw, stack, "plans"), _stack_items(apigw, stack, "keys")
    assert len(plans) == 1 and len(keys) == 1
    assert plans[0]["apiStages"] == [{"apiId": api_id, "stage": "prod"}]
    assert plans[0]["quota"]["limit"] == 2
    key = {"x-api-key": keys[0]["value"]}
    assert _get(base + path)[0] == 403
    assert _get(base + path, key)[0] == 200

    t.write_text(_api_template([("One", path)], extra_api=auth.replace("Limit: 2", "Limit: 50")))
    r = deploy(nimbus, t, stack=stack)
    assert r.returncode == 0, r.stdout + r.stderr
    updated = _stack_items(apigw, stack, "plans")
    assert [p["id"] for p in updated] == [plans[0]["id"]]
    assert updated[0]["quota"]["limit"] == 50
    assert _stack_items(apigw, stack, "keys")[0]["id"] == keys[0]["id"]
    assert _get(base + path, key)[0] == 200

    t.write_text(_api_template([("One", path)]))
    r = deploy(nimbus, t, stack=stack)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = status_lines(r.stdout)
    assert {("DELETE_COMPLETE", "ApiUsagePlan"), ("DELETE_COMPLETE", "ApiApiKey")} <= lines
    assert _stack_items(apigw, stack, "plans") == [] and _stack_items(apigw, stack, "keys") == []
    assert _get(base + path)[0] == 200


def test_binary_media_types_of_a_sam_api(nimbus, tmp_path, stack):
    # API Gateway REST APIs with binaryMediaTypes: a request body of a listed
    # type reaches the function base64-encoded (isBase64Encoded: true); an
    # isBase64Encoded response is decoded to bytes when the request's Accept
    # matches a binary media type, else passed on as the base64 text.
    path = f"/{stack}/img"
    t = tmp_path / "template.yaml"
    t.write_text("Transform: AWS::Serverless-2016-10-31\n"
                 "Resources:\n"
                 "  Api:\n"
                 "    Type: AWS::Serverless::Api\n"
                 "    Properties: {StageName: prod, BinaryMediaTypes: ['image~1png']}\n"
                 "  Echo:\n"
                 "    Type: AWS::Serverless::Function\n"
                 "    Properties:\n"
                 "      Handler: index.handler\n"
                 "      Runtime: python3.11\n"
                 "      InlineCode: |\n"
                 "        import base64\n"
                 "        def handler(e, c):\n"
                 "            data = base64.b64decode(e['body']) if e['isBase64Encoded'] else b''\n"
                 "            return {'statusCode': 200, 'isBase64Encoded': True,\n"
                 "                    'headers': {'Content-Type': 'image/png'},\n"
                 "                    'body': base64.b64encode(data[::-1]).decode()}\n"
                 "      Events:\n"
                 f"        Post: {{Type: Api, Properties: {{RestApiId: !Ref Api, Path: {path}, Method: POST}}}}\n")
    r = deploy(nimbus, t, stack=stack)
    assert r.returncode == 0, r.stdout + r.stderr
    body = b"\x89PNG\r\n\x1a\n\x00\xff\xfe binary"
    url = f"http://127.0.0.1:{nimbus.api_port}{path}"
    req = urllib.request.Request(url, data=body, method="POST",
                                 headers={"Content-Type": "image/png", "Accept": "image/png"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        assert resp.status == 200
        assert resp.read() == body[::-1]
    req = urllib.request.Request(url, data=body, method="POST",
                                 headers={"Content-Type": "image/png", "Accept": "text/plain"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        assert base64.b64decode(resp.read()) == body[::-1]
