"""`nimbus deploy` and DynamoDB: AWS::DynamoDB::Table and SAM's
AWS::Serverless::SimpleTable applied through the server's DynamoDB API, as
CloudFormation applies them (create, update in place, replace, delete, roll back).
"""
import re
import subprocess
import uuid

import pytest

from e2e_support import NIMBUS_BIN


def deploy(nimbus, template, stack):
    return subprocess.run([NIMBUS_BIN, "deploy", str(template), "--endpoint", nimbus.endpoint,
                           "--stack-name", stack], capture_output=True, text=True, timeout=120)


def status_lines(stdout):
    """{(status, logical id)} from the progress lines."""
    return {(m.group(1), m.group(3)) for m in
            re.finditer(r"^(\w+)\s+(AWS::\S+)\s+(\S+)\s+\(\d+\.\d s\)", stdout, re.M)}


def output(stdout, name):
    m = re.search(rf"^  {name}\s+(\S+)$", stdout, re.M)
    assert m, f"no output {name} in:\n{stdout}"
    return m.group(1)


@pytest.fixture
def ddb(nimbus):
    return nimbus.client("dynamodb")


def stack_tables(ddb, stack):
    """{logical id: table name} of the tables tagged with the stack."""
    out = {}
    for page in ddb.get_paginator("list_tables").paginate():
        for name in page["TableNames"]:
            try:
                arn = ddb.describe_table(TableName=name)["Table"]["TableArn"]
                tags = {t["Key"]: t["Value"] for t in ddb.list_tags_of_resource(ResourceArn=arn)["Tags"]}
            except ddb.exceptions.ResourceNotFoundException:
                continue  # another test deleted it meanwhile
            if tags.get("nimbus:stack") == stack:
                out[tags["nimbus:logical-id"]] = name
    return out


@pytest.fixture
def stack(nimbus, ddb):
    """A unique stack name; its tables and functions are deleted afterwards."""
    name = f"db{uuid.uuid4().hex[:8]}"
    yield name
    for table in stack_tables(ddb, name).values():
        ddb.delete_table(TableName=table)
    for f in nimbus.lambda_.list_functions()["Functions"]:
        if f["FunctionName"].startswith(name + "-"):
            nimbus.lambda_.delete_function(FunctionName=f["FunctionName"])


def table_template(stack, orders_throughput="{ReadCapacityUnits: 5, WriteCapacityUnits: 5}",
                   sessions_props="", extra=""):
    return f"""Transform: AWS::Serverless-2016-10-31
Resources:
  Orders:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: {stack}-orders
      AttributeDefinitions:
        - {{AttributeName: user_id, AttributeType: S}}
        - {{AttributeName: created, AttributeType: N}}
      KeySchema:
        - {{AttributeName: user_id, KeyType: HASH}}
        - {{AttributeName: created, KeyType: RANGE}}
      ProvisionedThroughput: {orders_throughput}
      PointInTimeRecoverySpecification: {{PointInTimeRecoveryEnabled: true}}
      SSESpecification: {{SSEEnabled: true}}
      TimeToLiveSpecification: {{AttributeName: expires, Enabled: true}}
      Tags: [{{Key: team, Value: shop}}]
  Sessions:
    Type: AWS::Serverless::SimpleTable
{sessions_props}{extra}
Outputs:
  OrdersName: {{Value: !Ref Orders}}
  OrdersArn: {{Value: !GetAtt Orders.Arn}}
  SessionsName: {{Value: !Ref Sessions}}
  SessionsArn: {{Value: !GetAtt Sessions.Arn}}
"""


def test_table_and_simple_table_are_created_as_cloudformation_and_sam_define_them(
        nimbus, ddb, tmp_path, stack):
    # CloudFormation AWS::DynamoDB::Table (Ref = name, GetAtt Arn, TTL) and SAM's
    # SimpleTable transform (key id/String, PAY_PER_REQUEST, generated name).
    t = tmp_path / "template.yaml"
    t.write_text(table_template(stack))
    r = deploy(nimbus, t, stack)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = status_lines(r.stdout)
    assert ("CREATE_COMPLETE", "Orders") in lines and ("CREATE_COMPLETE", "Sessions") in lines

    orders = ddb.describe_table(TableName=f"{stack}-orders")["Table"]
    assert orders["TableStatus"] == "ACTIVE"
    assert orders["KeySchema"] == [{"AttributeName": "user_id", "KeyType": "HASH"},
                                   {"AttributeName": "created", "KeyType": "RANGE"}]
    assert orders["AttributeDefinitions"] == [{"AttributeName": "user_id", "AttributeType": "S"},
                                              {"AttributeName": "created", "AttributeType": "N"}]
    assert orders["ProvisionedThroughput"]["ReadCapacityUnits"] == 5
    assert orders["ProvisionedThroughput"]["WriteCapacityUnits"] == 5
    assert orders.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED") == "PROVISIONED"
    tags = {x["Key"]: x["Value"] for x in ddb.list_tags_of_resource(ResourceArn=orders["TableArn"])["Tags"]}
    assert tags == {"team": "shop", "nimbus:stack": stack, "nimbus:logical-id": "Orders"}
    ttl = ddb.describe_time_to_live(TableName=f"{stack}-orders")["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires"}

    sessions_name = output(r.stdout, "SessionsName")
    assert re.fullmatch(rf"{stack}-Sessions-[0-9A-F]{{12}}", sessions_name)
    sessions = ddb.describe_table(TableName=sessions_name)["Table"]
    assert sessions["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert sessions["AttributeDefinitions"] == [{"AttributeName": "id", "AttributeType": "S"}]
    assert sessions["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"

    assert output(r.stdout, "OrdersName") == f"{stack}-orders"
    assert output(r.stdout, "OrdersArn") == orders["TableArn"]
    assert output(r.stdout, "SessionsArn") == sessions["TableArn"]
    assert stack_tables(ddb, stack) == {"Orders": f"{stack}-orders", "Sessions": sessions_name}


def test_changed_throughput_is_updated_in_place_and_items_are_kept(nimbus, ddb, tmp_path, stack):
    # CloudFormation: ProvisionedThroughput and Tags update "without interruption"
    # (UpdateTable / TagResource); an unchanged template changes nothing.
    t = tmp_path / "template.yaml"
    t.write_text(table_template(stack))
    assert deploy(nimbus, t, stack).returncode == 0
    name = f"{stack}-orders"
    before = ddb.describe_table(TableName=name)["Table"]
    ddb.put_item(TableName=name, Item={"user_id": {"S": "u1"}, "created": {"N": "1"}, "total": {"N": "42"}})

    r = deploy(nimbus, t, stack)
    assert r.returncode == 0 and "No changes" in r.stdout, r.stdout + r.stderr
    assert status_lines(r.stdout) == set()

    t.write_text(table_template(stack, "{ReadCapacityUnits: 10, WriteCapacityUnits: 2}")
                 .replace("Value: shop", "Value: books"))
    r = deploy(nimbus, t, stack)
    assert r.returncode == 0, r.stdout + r.stderr
    assert status_lines(r.stdout) == {("UPDATE_IN_PROGRESS", "Orders"), ("UPDATE_COMPLETE", "Orders")}
    after = ddb.describe_table(TableName=name)["Table"]
    assert after["ProvisionedThroughput"]["ReadCapacityUnits"] == 10
    assert after["ProvisionedThroughput"]["WriteCapacityUnits"] == 2
    assert after["TableArn"] == before["TableArn"] and after["TableId"] == before["TableId"]
    tags = {x["Key"]: x["Value"] for x in ddb.list_tags_of_resource(ResourceArn=after["TableArn"])["Tags"]}
    assert tags["team"] == "books"
    item = ddb.get_item(TableName=name, Key={"user_id": {"S": "u1"}, "created": {"N": "1"}})["Item"]
    assert item["total"] == {"N": "42"}


def test_changed_key_schema_replaces_the_table(nimbus, ddb, tmp_path, stack):
    # CloudFormation: a KeySchema change requires replacement: a new table
    # (new generated name) is created, the old one deleted after the update.
    t = tmp_path / "template.yaml"
    t.write_text(table_template(stack))
    r = deploy(nimbus, t, stack)
    assert r.returncode == 0, r.stdout + r.stderr
    old = output(r.stdout, "SessionsName")
    t.write_text(table_template(stack, sessions_props="    Properties: {PrimaryKey: {Name: sid, Type: String}}\n"))
    r = deploy(nimbus, t, stack)
    assert r.returncode == 0, r.stdout + r.stderr
    new = output(r.stdout, "SessionsName")
    assert new != old and re.fullmatch(rf"{stack}-Sessions-[0-9A-F]{{12}}", new)
    lines = status_lines(r.stdout)
    assert ("CREATE_COMPLETE", "Sessions") in lines and ("DELETE_COMPLETE", "Sessions") in lines
    assert r.stdout.index("CREATE_COMPLETE") < r.stdout.index("DELETE_COMPLETE")
    assert ddb.describe_table(TableName=new)["Table"]["KeySchema"] == [
        {"AttributeName": "sid", "KeyType": "HASH"}]
    with pytest.raises(ddb.exceptions.ResourceNotFoundException):
        ddb.describe_table(TableName=old)


def test_table_removed_from_the_template_is_deleted(nimbus, ddb, tmp_path, stack):
    # CloudFormation deletes a resource that an update removes from the template.
    t = tmp_path / "template.yaml"
    t.write_text(table_template(stack))
    r = deploy(nimbus, t, stack)
    assert r.returncode == 0, r.stdout + r.stderr
    sessions = output(r.stdout, "SessionsName")
    text = table_template(stack)
    text = text[:text.index("  Sessions:")] + text[text.index("Outputs:"):text.index("  SessionsName")]
    t.write_text(text)
    r = deploy(nimbus, t, stack)
    assert r.returncode == 0, r.stdout + r.stderr
    assert status_lines(r.stdout) == {("DELETE_IN_PROGRESS", "Sessions"), ("DELETE_COMPLETE", "Sessions")}
    with pytest.raises(ddb.exceptions.ResourceNotFoundException):
        ddb.describe_table(TableName=sessions)
    assert stack_tables(ddb, stack) == {"Orders": f"{stack}-orders"}


BROKEN = """  Broken:
    Type: AWS::Serverless::Function
    Properties:
      Handler: index.handler
      Runtime: python3.11
      InlineCode: 'def handler(e, c): return 1'
      Environment: {Variables: {AWS_REGION: nowhere, TABLE: !Ref Extra}}
"""

EXTRA = """  Extra:
    Type: AWS::DynamoDB::Table
    Properties:
      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
      KeySchema: [{AttributeName: id, KeyType: HASH}]
      BillingMode: PAY_PER_REQUEST
"""


def test_failed_deploy_deletes_the_table_it_created_and_keeps_earlier_ones(nimbus, ddb, tmp_path, stack):
    # CloudFormation's rollback: a failed stack operation deletes what it
    # created (the new table) and leaves what existed before (with its items).
    t = tmp_path / "template.yaml"
    t.write_text(table_template(stack))
    assert deploy(nimbus, t, stack).returncode == 0
    orders = f"{stack}-orders"
    ddb.put_item(TableName=orders, Item={"user_id": {"S": "u1"}, "created": {"N": "1"}})

    t.write_text(table_template(stack, extra=EXTRA + BROKEN))
    r = deploy(nimbus, t, stack)
    assert r.returncode != 0
    lines = status_lines(r.stdout)
    assert ("CREATE_COMPLETE", "Extra") in lines and ("CREATE_FAILED", "Broken") in lines
    assert ("DELETE_COMPLETE", "Extra") in lines
    assert "reserved keys" in r.stdout
    assert "ROLLBACK_COMPLETE" in r.stdout
    assert set(stack_tables(ddb, stack)) == {"Orders", "Sessions"}
    assert ddb.get_item(TableName=orders, Key={"user_id": {"S": "u1"}, "created": {"N": "1"}})["Item"]
    assert not [f for f in nimbus.lambda_.list_functions()["Functions"]
                if f["FunctionName"].startswith(stack + "-")]


def test_secondary_indexes_are_a_template_error_with_their_line(nimbus, ddb, tmp_path, stack):
    # CloudFormation accepts GlobalSecondaryIndexes; Nimbus has no indexes yet,
    # so the template is refused at the property's line before anything is created.
    t = tmp_path / "template.yaml"
    t.write_text(f"""Resources:
  Orders:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: {stack}-orders
      AttributeDefinitions: [{{AttributeName: id, AttributeType: S}}]
      KeySchema: [{{AttributeName: id, KeyType: HASH}}]
      BillingMode: PAY_PER_REQUEST
      GlobalSecondaryIndexes:
        - IndexName: byEmail
          KeySchema: [{{AttributeName: email, KeyType: HASH}}]
          Projection: {{ProjectionType: ALL}}
Outputs:
  Stream: {{Value: !GetAtt Orders.StreamArn}}
""")
    r = deploy(nimbus, t, stack)
    assert r.returncode != 0
    assert re.search(r"template\.yaml:9:7: Resources\.Orders\.Properties\.GlobalSecondaryIndexes: "
                     r"property 'GlobalSecondaryIndexes' of AWS::DynamoDB::Table is not supported",
                     r.stderr), r.stderr
    assert re.search(r"template\.yaml:14:\d+: Outputs\.Stream\.Value\.Fn::GetAtt: .*streams are not supported",
                     r.stderr), r.stderr
    assert "nothing was deployed" in r.stderr
    assert stack_tables(ddb, stack) == {}
