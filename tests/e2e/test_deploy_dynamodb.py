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


def deploy_ok(nimbus, path, template, stack):
    """Writes `template` to `path` and deploys it; the deploy must succeed."""
    path.write_text(template)
    r = deploy(nimbus, path, stack)
    assert r.returncode == 0, r.stdout + r.stderr
    return r


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
    r = deploy_ok(nimbus, t, table_template(stack), stack)
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

    changed = table_template(stack, "{ReadCapacityUnits: 10, WriteCapacityUnits: 2}")
    r = deploy_ok(nimbus, t, changed.replace("Value: shop", "Value: books"), stack)
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
    r = deploy_ok(nimbus, t, table_template(stack), stack)
    old = output(r.stdout, "SessionsName")
    sid = "    Properties: {PrimaryKey: {Name: sid, Type: String}}\n"
    r = deploy_ok(nimbus, t, table_template(stack, sessions_props=sid), stack)
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
    r = deploy_ok(nimbus, t, table_template(stack), stack)
    sessions = output(r.stdout, "SessionsName")
    text = table_template(stack)
    text = text[:text.index("  Sessions:")] + text[text.index("Outputs:"):text.index("  SessionsName")]
    r = deploy_ok(nimbus, t, text, stack)
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


def indexed_template(stack, gsis=None, lsi_projection="KEYS_ONLY", stream="NEW_AND_OLD_IMAGES",
                     extra="", name=None):
    """Orders by customer and order id: an LSI by total, the given GSIs
    (default: by status), a stream; PROVISIONED, so GSIs carry throughput."""
    if gsis is None:
        gsis = [("byStatus", "status", "INCLUDE", 2)]
    gsi_text = ""
    for index, key, projection, rcu in gsis:
        nka = ", NonKeyAttributes: [total]" if projection == "INCLUDE" else ""
        gsi_text += f"""        - IndexName: {index}
          KeySchema: [{{AttributeName: {key}, KeyType: HASH}}]
          Projection: {{ProjectionType: {projection}{nka}}}
          ProvisionedThroughput: {{ReadCapacityUnits: {rcu}, WriteCapacityUnits: 1}}
"""
    used = {key for _, key, _, _ in gsis} - {"customer", "order", "total"}
    defs = "".join(f"        - {{AttributeName: {a}, AttributeType: S}}\n" for a in sorted(used))
    table_name = f"      TableName: {name}\n" if name else ""
    stream_text = f"      StreamSpecification: {{StreamViewType: {stream}}}\n" if stream else ""
    stream_output = "  Stream: {Value: !GetAtt Orders.StreamArn}\n" if stream else ""
    return f"""Resources:
  Orders:
    Type: AWS::DynamoDB::Table
    Properties:
{table_name}      AttributeDefinitions:
        - {{AttributeName: customer, AttributeType: S}}
        - {{AttributeName: order, AttributeType: S}}
        - {{AttributeName: total, AttributeType: N}}
{defs}      KeySchema:
        - {{AttributeName: customer, KeyType: HASH}}
        - {{AttributeName: order, KeyType: RANGE}}
      ProvisionedThroughput: {{ReadCapacityUnits: 5, WriteCapacityUnits: 5}}
      LocalSecondaryIndexes:
        - IndexName: byTotal
          KeySchema:
            - {{AttributeName: customer, KeyType: HASH}}
            - {{AttributeName: total, KeyType: RANGE}}
          Projection: {{ProjectionType: {lsi_projection}}}
{"      GlobalSecondaryIndexes:" + chr(10) + gsi_text if gsis else ""}{stream_text}{extra}
Outputs:
  OrdersName: {{Value: !Ref Orders}}
{stream_output}"""


def put_orders(ddb, table):
    for customer, order, total, status in [("c1", "o1", 10, "open"), ("c1", "o2", 30, "shipped"),
                                           ("c2", "o3", 20, "open")]:
        ddb.put_item(TableName=table, Item={"customer": {"S": customer}, "order": {"S": order},
                                            "total": {"N": str(total)}, "status": {"S": status}})


def gsis_of(ddb, table):
    return {g["IndexName"]: g for g in ddb.describe_table(TableName=table)["Table"].get(
        "GlobalSecondaryIndexes", [])}


def test_indexes_and_stream_are_created_and_an_unchanged_template_changes_nothing(
        nimbus, ddb, tmp_path, stack):
    # CloudFormation creates LocalSecondaryIndexes, GlobalSecondaryIndexes
    # (with their ProvisionedThroughput) and StreamSpecification with the table;
    # GetAtt StreamArn is the stream's ARN; a stack update with an unchanged
    # template changes nothing.
    t = tmp_path / "template.yaml"
    r = deploy_ok(nimbus, t, indexed_template(stack), stack)
    name = output(r.stdout, "OrdersName")
    desc = ddb.describe_table(TableName=name)["Table"]
    assert [i["IndexName"] for i in desc["LocalSecondaryIndexes"]] == ["byTotal"]
    assert desc["LocalSecondaryIndexes"][0]["Projection"] == {"ProjectionType": "KEYS_ONLY"}
    gsi = desc["GlobalSecondaryIndexes"][0]
    assert gsi["IndexName"] == "byStatus" and gsi["IndexStatus"] == "ACTIVE"
    assert gsi["Projection"] == {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["total"]}
    assert gsi["ProvisionedThroughput"]["ReadCapacityUnits"] == 2
    assert desc["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert output(r.stdout, "Stream") == desc["LatestStreamArn"]

    put_orders(ddb, name)
    open_orders = ddb.query(TableName=name, IndexName="byStatus",
                            KeyConditionExpression="#s = :s", ExpressionAttributeNames={"#s": "status"},
                            ExpressionAttributeValues={":s": {"S": "open"}})["Items"]
    assert sorted(i["order"]["S"] for i in open_orders) == ["o1", "o3"]
    by_total = ddb.query(TableName=name, IndexName="byTotal", ScanIndexForward=False,
                         KeyConditionExpression="customer = :c",
                         ExpressionAttributeValues={":c": {"S": "c1"}})["Items"]
    assert [i["order"]["S"] for i in by_total] == ["o2", "o1"]
    stream = nimbus.client("dynamodbstreams").describe_stream(StreamArn=desc["LatestStreamArn"])
    assert stream["StreamDescription"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"

    r = deploy(nimbus, t, stack)
    assert r.returncode == 0 and "No changes" in r.stdout, r.stdout + r.stderr
    assert status_lines(r.stdout) == set()


def test_gsis_are_added_and_removed_in_place_and_queries_work_on_them(nimbus, ddb, tmp_path, stack):
    # CloudFormation adds and deletes a GSI "without interruption" (UpdateTable
    # on the same table, items kept), and updates its throughput in place; a
    # new GSI is backfilled from the items already there.
    t = tmp_path / "template.yaml"
    r = deploy_ok(nimbus, t, indexed_template(stack), stack)
    name = output(r.stdout, "OrdersName")
    table_id = ddb.describe_table(TableName=name)["Table"]["TableId"]
    put_orders(ddb, name)

    r = deploy_ok(nimbus, t, indexed_template(stack, gsis=[("byStatus", "status", "INCLUDE", 2),
                                               ("byOrder", "order", "KEYS_ONLY", 1)]), stack)
    assert status_lines(r.stdout) == {("UPDATE_IN_PROGRESS", "Orders"), ("UPDATE_COMPLETE", "Orders")}
    gsis = gsis_of(ddb, name)
    assert set(gsis) == {"byStatus", "byOrder"} and gsis["byOrder"]["IndexStatus"] == "ACTIVE"
    assert ddb.describe_table(TableName=name)["Table"]["TableId"] == table_id
    found = ddb.query(TableName=name, IndexName="byOrder", KeyConditionExpression="#o = :o",
                      ExpressionAttributeNames={"#o": "order"},
                      ExpressionAttributeValues={":o": {"S": "o3"}})["Items"]
    assert found == [{"customer": {"S": "c2"}, "order": {"S": "o3"}}]

    # byStatus removed, byOrder resized.
    r = deploy_ok(nimbus, t, indexed_template(stack, gsis=[("byOrder", "order", "KEYS_ONLY", 4)]), stack)
    gsis = gsis_of(ddb, name)
    assert set(gsis) == {"byOrder"}
    assert gsis["byOrder"]["ProvisionedThroughput"]["ReadCapacityUnits"] == 4
    assert ddb.describe_table(TableName=name)["Table"]["ItemCount"] == 3
    with pytest.raises(ddb.exceptions.ClientError):
        ddb.query(TableName=name, IndexName="byStatus", KeyConditionExpression="#s = :s",
                  ExpressionAttributeNames={"#s": "status"},
                  ExpressionAttributeValues={":s": {"S": "open"}})
    r = deploy(nimbus, t, stack)
    assert r.returncode == 0 and "No changes" in r.stdout, r.stdout + r.stderr


def test_changed_lsi_replaces_the_table(nimbus, ddb, tmp_path, stack):
    # CloudFormation: a LocalSecondaryIndexes change requires replacement: a
    # new table (a new generated name), the old one deleted after the update;
    # a custom-named table cannot be replaced ("Rename ... and update the stack again").
    t = tmp_path / "template.yaml"
    r = deploy_ok(nimbus, t, indexed_template(stack), stack)
    old = output(r.stdout, "OrdersName")
    r = deploy_ok(nimbus, t, indexed_template(stack, lsi_projection="ALL"), stack)
    new = output(r.stdout, "OrdersName")
    assert new != old
    lines = status_lines(r.stdout)
    assert ("CREATE_COMPLETE", "Orders") in lines and ("DELETE_COMPLETE", "Orders") in lines
    assert ddb.describe_table(TableName=new)["Table"]["LocalSecondaryIndexes"][0]["Projection"] == {
        "ProjectionType": "ALL"}
    with pytest.raises(ddb.exceptions.ResourceNotFoundException):
        ddb.describe_table(TableName=old)

    named = f"{stack}-named"
    t.write_text(indexed_template(stack, name=named))
    assert deploy(nimbus, t, stack).returncode == 0
    t.write_text(indexed_template(stack, name=named, lsi_projection="ALL"))
    r = deploy(nimbus, t, stack)
    assert r.returncode != 0
    assert "requires replacing" in r.stderr and f"Rename {named}" in r.stderr, r.stderr
    assert ddb.describe_table(TableName=named)["Table"]["LocalSecondaryIndexes"][0]["Projection"] == {
        "ProjectionType": "KEYS_ONLY"}


def test_stream_is_changed_in_place_with_a_new_arn(nimbus, ddb, tmp_path, stack):
    # CloudFormation updates StreamSpecification without replacing the table:
    # a new view type is a new stream (new LatestStreamArn, which GetAtt
    # StreamArn follows); removing it disables the stream.
    t = tmp_path / "template.yaml"
    r = deploy_ok(nimbus, t, indexed_template(stack), stack)
    name, first = output(r.stdout, "OrdersName"), output(r.stdout, "Stream")
    r = deploy_ok(nimbus, t, indexed_template(stack, stream="KEYS_ONLY"), stack)
    desc = ddb.describe_table(TableName=name)["Table"]
    assert desc["StreamSpecification"]["StreamViewType"] == "KEYS_ONLY"
    assert output(r.stdout, "Stream") == desc["LatestStreamArn"] != first
    r = deploy_ok(nimbus, t, indexed_template(stack, stream=None), stack)
    assert "StreamSpecification" not in ddb.describe_table(TableName=name)["Table"]


def test_failed_deploy_rolls_a_gsi_addition_back(nimbus, ddb, tmp_path, stack):
    # CloudFormation's rollback of a failed update returns the table to its
    # previous definition: the GSI the update added is deleted again, and the
    # table (with its items) stays.
    t = tmp_path / "template.yaml"
    r = deploy_ok(nimbus, t, indexed_template(stack), stack)
    name = output(r.stdout, "OrdersName")
    put_orders(ddb, name)
    broken = BROKEN.replace("TABLE: !Ref Extra", "TABLE: !Ref Orders")
    t.write_text(indexed_template(stack, gsis=[("byStatus", "status", "INCLUDE", 2),
                                               ("byOrder", "order", "KEYS_ONLY", 1)],
                                  extra=broken))
    r = deploy(nimbus, t, stack)
    assert r.returncode != 0
    lines = status_lines(r.stdout)
    assert ("UPDATE_COMPLETE", "Orders") in lines and ("CREATE_FAILED", "Broken") in lines
    assert "ROLLBACK_COMPLETE" in r.stdout, r.stdout
    assert set(gsis_of(ddb, name)) == {"byStatus"}
    assert ddb.describe_table(TableName=name)["Table"]["ItemCount"] == 3
    t.write_text(indexed_template(stack))
    r = deploy(nimbus, t, stack)
    assert r.returncode == 0 and "No changes" in r.stdout, r.stdout + r.stderr


def test_index_and_stream_template_errors_name_their_line(nimbus, ddb, tmp_path, stack):
    # CloudFormation refuses GetAtt StreamArn of a table without a stream;
    # what Nimbus does not implement (a GSI's OnDemandThroughput) is refused at
    # its line, before anything is created.
    t = tmp_path / "template.yaml"
    t.write_text(f"""Resources:
  Orders:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: {stack}-orders
      AttributeDefinitions:
        - {{AttributeName: id, AttributeType: S}}
        - {{AttributeName: email, AttributeType: S}}
      KeySchema: [{{AttributeName: id, KeyType: HASH}}]
      BillingMode: PAY_PER_REQUEST
      GlobalSecondaryIndexes:
        - IndexName: byEmail
          KeySchema: [{{AttributeName: email, KeyType: HASH}}]
          Projection: {{ProjectionType: ALL}}
          OnDemandThroughput: {{MaxReadRequestUnits: 5}}
Outputs:
  Stream: {{Value: !GetAtt Orders.StreamArn}}
""")
    r = deploy(nimbus, t, stack)
    assert r.returncode != 0
    assert re.search(r"template\.yaml:15:11: Resources\.Orders\.Properties\.GlobalSecondaryIndexes\[0\]"
                     r"\.OnDemandThroughput: property 'OnDemandThroughput' of a global secondary index "
                     r"is not supported", r.stderr), r.stderr
    assert re.search(r"template\.yaml:17:\d+: Outputs\.Stream\.Value\.Fn::GetAtt: .*table Orders has no stream",
                     r.stderr), r.stderr
    assert "nothing was deployed" in r.stderr
    assert stack_tables(ddb, stack) == {}
