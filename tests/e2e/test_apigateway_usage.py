"""API Gateway usage plans across restarts: quota counts are persisted (buffered,
written within a second), so neither a clean stop nor a kill -9 after that
second hands a key a fresh quota, and GetUsage reports them."""
import datetime
import json
import time
import uuid

import pytest

from test_apigateway import call, document, op, rest_api

ECHO = "def handler(event, context):\n    return {'statusCode': 200, 'body': 'ok'}\n"


# AWS keeps a key's quota used whatever happens to the service: after N requests
# against a quota of N+2, only 2 more pass (then 429 {"message":"Limit
# Exceeded"}), across a clean restart and a kill -9; GetUsage (boto3 and the aws
# CLI) reports the day's [used, remaining] for the key.
def test_quota_counts_survive_restarts_and_get_usage_reports_them(server_factory, tmp_path):
    server = server_factory(data_dir=tmp_path / "data")
    fn = "usage-echo-" + uuid.uuid4().hex[:6]
    server.create_function(fn, files={"app.py": ECHO})
    prefix = "/u" + uuid.uuid4().hex[:8]
    schemes = {"securitySchemes": {"api_key": {"type": "apiKey", "name": "x-api-key", "in": "header"}}}
    api = rest_api(server, document({prefix + "/k": {"get": op(fn, security=[{"api_key": []}])}},
                                    components=schemes))
    apigw = server.client("apigateway")
    key = apigw.create_api_key(name="usage-key", enabled=True)
    n = 3
    plan = apigw.create_usage_plan(name="usage-plan", apiStages=[{"apiId": api, "stage": "Prod"}],
                                   quota={"limit": n + 2, "period": "DAY"})
    apigw.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
    today = datetime.datetime.now(datetime.timezone.utc).date().isoformat()

    def get():
        return call(server.api_port, "GET", prefix + "/k", headers={"x-api-key": key["value"]})

    for _ in range(n):
        assert get()[0] == 200
    server.stop()  # clean stop: the counts not yet written are flushed on the way out
    server.start()
    assert get()[0] == 200  # request n+1
    # Flushed at most a second after the request: a kill -9 after that loses nothing.
    time.sleep(1.5)
    server.kill9()
    server.start()
    assert get()[0] == 200  # request n+2: the last one the quota allows
    status, _, body = get()
    if datetime.datetime.now(datetime.timezone.utc).date().isoformat() != today:
        pytest.skip("ran across UTC midnight: the DAY quota window started over")
    assert status == 429 and json.loads(body) == {"message": "Limit Exceeded"}

    usage = server.client("apigateway").get_usage(usagePlanId=plan["id"], startDate=today, endDate=today)
    assert usage["usagePlanId"] == plan["id"]
    assert (usage["startDate"], usage["endDate"]) == (today, today)
    assert usage["items"] == {key["id"]: [[n + 2, 0]]}
    cli = server.cli("apigateway", "get-usage", "--usage-plan-id", plan["id"],
                     "--start-date", today, "--end-date", today)
    assert cli["items"] == {key["id"]: [[n + 2, 0]]}
