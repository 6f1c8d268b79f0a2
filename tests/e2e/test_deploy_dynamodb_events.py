"""`nimbus deploy` and SAM's DynamoDB events: each becomes a Lambda event
source mapping on the table's stream (SAM's AWS::Lambda::EventSourceMapping),
created, updated in place, deleted and rolled back as CloudFormation does."""
import re
import time

import pytest

from test_deploy_dynamodb import BROKEN, ddb, deploy, deploy_ok, output, stack, status_lines  # noqa: F401 (fixtures)

RECORDER = """
import os
import boto3

ddb = boto3.client('dynamodb')

def handler(event, context):
    for r in event['Records']:
        ddb.put_item(TableName=os.environ['SEEN'], Item={
            'id': {'S': r['dynamodb']['Keys']['id']['S'] + '/' + r['eventName']},
            'source': {'S': r['eventSourceARN']},
            'image': {'S': 'NewImage' if 'NewImage' in r['dynamodb'] else '-'}})
    return {}
"""


def events_template(event_props="            StartingPosition: TRIM_HORIZON\n", extra=""):
    code = "".join("        " + line + "\n" for line in RECORDER.strip("\n").split("\n"))
    events = ""
    if event_props is not None:
        events = ("      Events:\n        Changes:\n          Type: DynamoDB\n          Properties:\n"
                  "            Stream: !GetAtt Orders.StreamArn\n" + event_props)
    return f"""Transform: AWS::Serverless-2016-10-31
Resources:
  Orders:
    Type: AWS::DynamoDB::Table
    Properties:
      AttributeDefinitions: [{{AttributeName: id, AttributeType: S}}]
      KeySchema: [{{AttributeName: id, KeyType: HASH}}]
      BillingMode: PAY_PER_REQUEST
      StreamSpecification: {{StreamViewType: NEW_IMAGE}}
  Seen:
    Type: AWS::Serverless::SimpleTable
  Recorder:
    Type: AWS::Serverless::Function
    Properties:
      Handler: index.handler
      Runtime: python3.11
      Timeout: 30
      Environment: {{Variables: {{SEEN: !Ref Seen}}}}
      InlineCode: |
{code}{events}{extra}
Outputs:
  OrdersName: {{Value: !Ref Orders}}
  SeenName: {{Value: !Ref Seen}}
  Stream: {{Value: !GetAtt Orders.StreamArn}}
  Recorder: {{Value: !Ref Recorder}}
"""


@pytest.fixture
def events_stack(nimbus, stack):
    """The stack's name; its functions' event source mappings are deleted afterwards."""
    yield stack
    lam = nimbus.lambda_
    for f in lam.list_functions()["Functions"]:
        if f["FunctionName"].startswith(stack + "-"):
            for m in lam.list_event_source_mappings(FunctionName=f["FunctionName"])["EventSourceMappings"]:
                lam.delete_event_source_mapping(UUID=m["UUID"])


def mappings(nimbus, function):
    return nimbus.lambda_.list_event_source_mappings(FunctionName=function)["EventSourceMappings"]


def seen(ddb, table, count, timeout=30):
    """The recorder table's ids once it holds `count` items (or what it holds at the timeout)."""
    deadline = time.time() + timeout
    while True:
        items = ddb.scan(TableName=table)["Items"]
        if len(items) >= count or time.time() > deadline:
            return sorted(i["id"]["S"] for i in items)
        time.sleep(0.2)


def put(ddb, table, *ids):
    for i in ids:
        ddb.put_item(TableName=table, Item={"id": {"S": i}})


def test_dynamodb_event_delivers_the_tables_changes_to_the_function(nimbus, ddb, tmp_path, events_stack):
    # SAM: a DynamoDB event is an AWS::Lambda::EventSourceMapping of the
    # function on the table's stream (StartingPosition, BatchSize...); the
    # function gets the table's records; an unchanged template changes nothing.
    t = tmp_path / "template.yaml"
    r = deploy_ok(nimbus, t, events_template("            StartingPosition: TRIM_HORIZON\n"
                                 "            BatchSize: 10\n"
                                 "            MaximumRetryAttempts: 2\n"), events_stack)
    assert ("CREATE_COMPLETE", "RecorderChanges") in status_lines(r.stdout)
    orders, seen_table = output(r.stdout, "OrdersName"), output(r.stdout, "SeenName")
    [m] = mappings(nimbus, output(r.stdout, "Recorder"))
    assert m["EventSourceArn"] == output(r.stdout, "Stream")
    assert m["State"] == "Enabled" and m["BatchSize"] == 10 and m["MaximumRetryAttempts"] == 2
    assert m["StartingPosition"] == "TRIM_HORIZON"

    put(ddb, orders, "a", "b")
    ddb.delete_item(TableName=orders, Key={"id": {"S": "a"}})
    assert seen(ddb, seen_table, 3) == ["a/INSERT", "a/REMOVE", "b/INSERT"]
    item = ddb.get_item(TableName=seen_table, Key={"id": {"S": "b/INSERT"}})["Item"]
    assert item["source"]["S"] == m["EventSourceArn"] and item["image"]["S"] == "NewImage"

    r = deploy(nimbus, t, events_stack)
    assert r.returncode == 0 and "No changes" in r.stdout, r.stdout + r.stderr
    assert [x["UUID"] for x in mappings(nimbus, output(r.stdout, "Recorder"))] == [m["UUID"]]


def test_mapping_is_updated_in_place_and_deleted_with_its_event(nimbus, ddb, tmp_path, events_stack):
    # CloudFormation updates an event source mapping's BatchSize and Enabled
    # without replacing it (same UUID, and no record is delivered twice); an
    # event removed from the template loses its mapping.
    t = tmp_path / "template.yaml"
    r = deploy_ok(nimbus, t, events_template(), events_stack)
    orders, seen_table, fn = (output(r.stdout, k) for k in ("OrdersName", "SeenName", "Recorder"))
    [before] = mappings(nimbus, fn)
    put(ddb, orders, "a")
    assert seen(ddb, seen_table, 1) == ["a/INSERT"]

    r = deploy_ok(nimbus, t, events_template("            StartingPosition: TRIM_HORIZON\n"
                                 "            BatchSize: 5\n            Enabled: false\n"), events_stack)
    assert status_lines(r.stdout) == {("UPDATE_IN_PROGRESS", "RecorderChanges"),
                                      ("UPDATE_COMPLETE", "RecorderChanges")}
    [after] = mappings(nimbus, fn)
    assert after["UUID"] == before["UUID"] and after["BatchSize"] == 5 and after["State"] == "Disabled"
    put(ddb, orders, "b")
    assert seen(ddb, seen_table, 2, timeout=2) == ["a/INSERT"]

    deploy_ok(nimbus, t, events_template(), events_stack)
    assert seen(ddb, seen_table, 2) == ["a/INSERT", "b/INSERT"]

    r = deploy_ok(nimbus, t, events_template(None), events_stack)
    assert mappings(nimbus, fn) == []
    assert any(s == "DELETE_COMPLETE" and i == before["UUID"] for s, i in status_lines(r.stdout)), r.stdout


def test_failed_deploy_deletes_the_mapping_it_created(nimbus, ddb, tmp_path, events_stack):
    # CloudFormation's rollback deletes the event source mapping a failed
    # update created; the function stays as it was.
    t = tmp_path / "template.yaml"
    r = deploy_ok(nimbus, t, events_template(None), events_stack)
    fn = output(r.stdout, "Recorder")
    broken = BROKEN.replace("TABLE: !Ref Extra", "TABLE: !Ref Orders") + "    DependsOn: Recorder\n"
    t.write_text(events_template(extra=broken))
    r = deploy(nimbus, t, events_stack)
    assert r.returncode != 0
    lines = status_lines(r.stdout)
    assert ("CREATE_COMPLETE", "RecorderChanges") in lines and ("DELETE_COMPLETE", "RecorderChanges") in lines
    assert "ROLLBACK_COMPLETE" in r.stdout
    assert mappings(nimbus, fn) == []


def test_unsupported_event_properties_are_template_errors(nimbus, tmp_path, events_stack):
    # Properties of SAM's DynamoDB event that Nimbus does not implement are
    # refused at their line before anything is created.
    t = tmp_path / "template.yaml"
    t.write_text(events_template("            StartingPosition: LATEST\n"
                                 "            FilterCriteria: {Filters: [{Pattern: '{}'}]}\n"))
    r = deploy(nimbus, t, events_stack)
    assert r.returncode != 0
    assert re.search(r"template\.yaml:\d+:13: Resources\.Recorder\.Properties\.Events\.Changes\.Properties"
                     r"\.FilterCriteria: property 'FilterCriteria' of a DynamoDB event is not supported",
                     r.stderr), r.stderr
    assert "nothing was deployed" in r.stderr
