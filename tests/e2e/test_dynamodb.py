"""DynamoDB (json-1.0) with boto3's client and resource APIs and the AWS CLI:
tables, items, scans, DynamoDB's validation errors, and durability."""
import json
from decimal import Decimal

import pytest
from boto3.dynamodb.conditions import Key  # noqa: F401  (resource API import path must work)
from botocore.exceptions import ClientError


def make_table(ddb, name, hash_key=("id", "S"), range_key=None, **kw):
    attrs = [{"AttributeName": hash_key[0], "AttributeType": hash_key[1]}]
    schema = [{"AttributeName": hash_key[0], "KeyType": "HASH"}]
    if range_key:
        attrs.append({"AttributeName": range_key[0], "AttributeType": range_key[1]})
        schema.append({"AttributeName": range_key[0], "KeyType": "RANGE"})
    kw.setdefault("BillingMode", "PAY_PER_REQUEST")
    return ddb.create_table(TableName=name, AttributeDefinitions=attrs, KeySchema=schema, **kw)


def error_of(exc_info):
    e = exc_info.value.response
    return e["Error"]["Code"], e["ResponseMetadata"]["HTTPStatusCode"], e["Error"]["Message"]


def test_table_lifecycle_with_waiters(ddb, tname):
    # CreateTable answers CREATING and boto3's table_exists waiter then sees
    # ACTIVE; a second CreateTable is ResourceInUseException; DeleteTable
    # answers DELETING and the table_not_exists waiter returns.
    r = make_table(ddb, tname, range_key=("n", "N"))
    assert r["TableDescription"]["TableStatus"] == "CREATING"
    assert r["TableDescription"]["TableArn"].endswith(f":table/{tname}")
    ddb.get_waiter("table_exists").wait(TableName=tname, WaiterConfig={"Delay": 1, "MaxAttempts": 5})
    t = ddb.describe_table(TableName=tname)["Table"]
    assert t["TableStatus"] == "ACTIVE" and t["ItemCount"] == 0
    assert t["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}, {"AttributeName": "n", "KeyType": "RANGE"}]
    assert t["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    with pytest.raises(ClientError) as e:
        make_table(ddb, tname)
    assert error_of(e)[:2] == ("ResourceInUseException", 400)
    assert tname in ddb.list_tables()["TableNames"]
    assert ddb.delete_table(TableName=tname)["TableDescription"]["TableStatus"] == "DELETING"
    ddb.get_waiter("table_not_exists").wait(TableName=tname, WaiterConfig={"Delay": 1, "MaxAttempts": 5})
    with pytest.raises(ClientError) as e:
        ddb.describe_table(TableName=tname)
    assert error_of(e) == ("ResourceNotFoundException", 400, f"Requested resource not found: Table: {tname} not found")


def test_list_tables_pages(ddb, tname):
    # ListTables pages with Limit and LastEvaluatedTableName, in name order.
    names = [f"{tname}-{i}" for i in range(5)]
    for n in names:
        make_table(ddb, n)
    seen, start = [], None
    while True:
        kw = {"Limit": 2}
        if start:
            kw["ExclusiveStartTableName"] = start
        r = ddb.list_tables(**kw)
        assert len(r["TableNames"]) <= 2
        seen += r["TableNames"]
        start = r.get("LastEvaluatedTableName")
        if not start:
            break
    assert [n for n in seen if n.startswith(tname)] == names
    assert seen == sorted(seen)


def test_create_table_validation(ddb, tname):
    # DynamoDB's ValidationException texts for a bad table definition.
    cases = [
        (dict(AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
              KeySchema=[{"AttributeName": "other", "KeyType": "HASH"}]),
         "Some index key attributes are not defined in AttributeDefinitions"),
        (dict(AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"},
                                    {"AttributeName": "x", "AttributeType": "S"}],
              KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}]),
         "Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions"),
    ]
    for kw, message in cases:
        with pytest.raises(ClientError) as e:
            ddb.create_table(TableName=tname, BillingMode="PAY_PER_REQUEST", **kw)
        code, status, text = error_of(e)
        assert (code, status) == ("ValidationException", 400) and message in text, text
    with pytest.raises(ClientError) as e:
        make_table(ddb, tname, BillingMode="PROVISIONED")
    assert "ReadCapacityUnits and WriteCapacityUnits must both be specified" in error_of(e)[2]


def test_raw_json_protocol_errors(nimbus):
    # What botocore would refuse client-side still gets DynamoDB's answer on
    # the wire: the error type in "__type" with the service's namespace.
    def call(op, body):
        status, headers, data = nimbus.http("POST", "/", body=body, headers={
            "X-Amz-Target": f"DynamoDB_20120810.{op}", "Content-Type": "application/x-amz-json-1.0"})
        return status, json.loads(data)

    status, body = call("CreateTable", json.dumps({
        "TableName": "ab", "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}]}).encode())
    assert status == 400 and body["__type"] == "com.amazonaws.dynamodb.v20120810#ValidationException"
    assert "Member must have length greater than or equal to 3" in body["message"]
    status, body = call("DescribeTable", b"{not json")
    assert status == 400 and body["__type"].endswith("#SerializationException")
    status, body = call("NoSuchOperation", b"{}")
    assert status == 400 and body["__type"].endswith("#UnknownOperationException")


def test_items_round_trip_every_type_with_the_resource_api(ddb, resource, tname):
    # Every attribute type survives a put/get as boto3's resource API writes
    # and reads it; numbers come back normalised (1.50 -> 1.5) and exact.
    make_table(ddb, tname)
    table = resource.Table(tname)
    item = {
        "id": "u1", "name": "Ada", "age": Decimal("36"), "ratio": Decimal("1.50"),
        "big": Decimal("12345678901234567890123456789012345678"), "tiny": Decimal("1E-130"),
        "ok": True, "nothing": None, "raw": b"\x00\x01\xff",
        "tags": {"a", "b"}, "scores": {Decimal("1"), Decimal("2.5")}, "blobs": {b"x", b"y"},
        "profile": {"city": "London", "langs": ["en", Decimal("3")], "nested": {"deep": [[]]}},
    }
    table.put_item(Item=item)
    got = table.get_item(Key={"id": "u1"}, ConsistentRead=True)["Item"]
    assert got["ratio"] == Decimal("1.5") and str(got["ratio"]) == "1.5"
    assert got["big"] == item["big"] and got["tiny"] == item["tiny"]
    assert got["raw"].value == b"\x00\x01\xff" and {b.value for b in got["blobs"]} == {b"x", b"y"}
    assert got["tags"] == {"a", "b"} and got["scores"] == {Decimal("1"), Decimal("2.5")}
    assert got["profile"] == item["profile"] and got["nothing"] is None and got["ok"] is True
    raw = ddb.get_item(TableName=tname, Key={"id": {"S": "u1"}})["Item"]
    assert raw["ratio"] == {"N": "1.5"}
    assert "Item" not in ddb.get_item(TableName=tname, Key={"id": {"S": "nobody"}})


def test_put_and_delete_return_old_values_and_capacity(ddb, tname):
    # ReturnValues ALL_OLD on PutItem and DeleteItem; ConsumedCapacity in
    # DynamoDB's units (1 KB per write unit, at least one).
    make_table(ddb, tname)
    r = ddb.put_item(TableName=tname, Item={"id": {"S": "k"}, "v": {"N": "1"}}, ReturnValues="ALL_OLD",
                     ReturnConsumedCapacity="TOTAL")
    assert "Attributes" not in r
    assert r["ConsumedCapacity"] == {"TableName": tname, "CapacityUnits": 1.0}
    r = ddb.put_item(TableName=tname, Item={"id": {"S": "k"}, "v": {"N": "2"}, "pad": {"S": "x" * 3000}},
                     ReturnValues="ALL_OLD", ReturnConsumedCapacity="TOTAL")
    assert r["Attributes"] == {"id": {"S": "k"}, "v": {"N": "1"}}
    assert r["ConsumedCapacity"]["CapacityUnits"] == 3.0
    r = ddb.delete_item(TableName=tname, Key={"id": {"S": "k"}}, ReturnValues="ALL_OLD")
    assert r["Attributes"]["v"] == {"N": "2"}
    assert "Item" not in ddb.get_item(TableName=tname, Key={"id": {"S": "k"}})
    assert "Attributes" not in ddb.delete_item(TableName=tname, Key={"id": {"S": "k"}}, ReturnValues="ALL_OLD")
    with pytest.raises(ClientError) as e:
        ddb.put_item(TableName=tname, Item={"id": {"S": "k"}}, ReturnValues="ALL_NEW")
    assert error_of(e) == ("ValidationException", 400, "Return values set to invalid value")


@pytest.mark.parametrize("item,message", [
    ({"other": {"S": "x"}}, "One or more parameter values were invalid: Missing the key id in the item"),
    ({"id": {"N": "1"}}, "One or more parameter values were invalid: Type mismatch for key id expected: S actual: N"),
    ({"id": {"S": ""}}, "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: id"),
    ({"id": {"S": "a"}, "s": {"SS": []}}, "One or more parameter values were invalid: An string set  may not be empty"),
    ({"id": {"S": "a"}, "s": {"SS": ["x", "x"]}}, "One or more parameter values were invalid: Input collection [x, x] contains duplicates."),
    ({"id": {"S": "a"}, "n": {"N": "12345678901234567890123456789012345678.9"}}, "Attempting to store more than 38 significant digits in a Number"),
    ({"id": {"S": "a"}, "n": {"N": "1E+126"}}, "Number overflow. Attempting to store a number with magnitude larger than supported range"),
    ({"id": {"S": "a"}, "n": {"NULL": False}}, "One or more parameter values were invalid: Null attribute value types must have the value of true"),
    ({"id": {"S": "a"}, "n": {}}, "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"),
])
def test_put_item_validation_errors(ddb, tname, item, message):
    # Each malformed item gets DynamoDB's ValidationException, and nothing is written.
    make_table(ddb, tname)
    with pytest.raises(ClientError) as e:
        ddb.put_item(TableName=tname, Item=item)
    assert error_of(e) == ("ValidationException", 400, message)
    assert ddb.scan(TableName=tname)["Count"] == 0


def test_key_must_match_the_schema_and_items_are_limited_to_400_kb(ddb, tname):
    # GetItem/DeleteItem Keys must be exactly the key attributes; an item over
    # 400 KB is refused; a missing table is ResourceNotFoundException.
    make_table(ddb, tname, range_key=("r", "N"))
    for key in ({"id": {"S": "a"}}, {"id": {"S": "a"}, "r": {"S": "1"}},
                {"id": {"S": "a"}, "r": {"N": "1"}, "x": {"S": "y"}}):
        with pytest.raises(ClientError) as e:
            ddb.get_item(TableName=tname, Key=key)
        assert error_of(e) == ("ValidationException", 400, "The provided key element does not match the schema")
    with pytest.raises(ClientError) as e:
        ddb.put_item(TableName=tname, Item={"id": {"S": "a"}, "r": {"N": "1"}, "big": {"S": "x" * (401 * 1024)}})
    assert error_of(e) == ("ValidationException", 400, "Item size has exceeded the maximum allowed size")
    with pytest.raises(ClientError) as e:
        ddb.get_item(TableName=tname + "-missing", Key={"id": {"S": "a"}})
    assert error_of(e) == ("ResourceNotFoundException", 400, "Requested resource not found")


def test_scan_pages_and_parallel_segments_return_every_item_once(ddb, tname):
    # Scan with Limit pages through LastEvaluatedKey; Segment/TotalSegments
    # split the table so that the segments together return each item once.
    make_table(ddb, tname, hash_key=("pk", "N"), range_key=("sk", "S"))
    keys = {(p, f"s{s}") for p in range(12) for s in range(3)}
    for p, s in keys:
        ddb.put_item(TableName=tname, Item={"pk": {"N": str(p)}, "sk": {"S": s}, "v": {"S": f"{p}/{s}"}})
    seen, start, pages = [], None, 0
    while True:
        kw = {"TableName": tname, "Limit": 5}
        if start:
            kw["ExclusiveStartKey"] = start
        r = ddb.scan(**kw)
        pages += 1
        assert r["Count"] == len(r["Items"]) <= 5
        seen += [(int(i["pk"]["N"]), i["sk"]["S"]) for i in r["Items"]]
        start = r.get("LastEvaluatedKey")
        if not start:
            break
    assert sorted(seen) == sorted(keys) and len(seen) == len(keys) and pages >= 8
    segments = [ddb.scan(TableName=tname, Segment=i, TotalSegments=4)["Items"] for i in range(4)]
    together = [(int(i["pk"]["N"]), i["sk"]["S"]) for seg in segments for i in seg]
    assert sorted(together) == sorted(keys)
    assert sum(1 for seg in segments if seg) >= 2  # the work really is split
    assert ddb.scan(TableName=tname, Select="COUNT")["Count"] == len(keys)
    with pytest.raises(ClientError) as e:
        ddb.scan(TableName=tname, Segment=4, TotalSegments=4)
    assert error_of(e)[0] == "ValidationException"


def test_cli_put_get(nimbus, ddb, tname):
    # The AWS CLI speaks to the same service.
    make_table(ddb, tname)
    nimbus.cli("dynamodb", "put-item", "--table-name", tname, "--item", '{"id": {"S": "cli"}, "n": {"N": "007"}}', parse=False)
    got = nimbus.cli("dynamodb", "get-item", "--table-name", tname, "--key", '{"id": {"S": "cli"}}')
    assert got["Item"] == {"id": {"S": "cli"}, "n": {"N": "7"}}


def test_acknowledged_writes_survive_kill9(server_factory, tname):
    # An acknowledged PutItem/DeleteItem survives kill -9 of Nimbus.
    server = server_factory()
    ddb = server.client("dynamodb")
    make_table(ddb, tname)
    for i in range(20):
        ddb.put_item(TableName=tname, Item={"id": {"S": f"k{i}"}, "v": {"N": str(i)}})
    ddb.delete_item(TableName=tname, Key={"id": {"S": "k3"}})
    server.kill9()
    server.start()
    ddb = server.client("dynamodb")
    items = ddb.scan(TableName=tname)["Items"]
    assert sorted(int(i["v"]["N"]) for i in items) == [i for i in range(20) if i != 3]


def test_parameters_not_implemented_yet_are_refused_not_ignored(ddb, tname):
    # A parameter Nimbus does not implement must not be skipped silently:
    # the request is refused with a ValidationException naming it, and
    # nothing changes.
    make_table(ddb, tname)
    with pytest.raises(ClientError) as e:
        ddb.update_table(TableName=tname, BillingMode="PROVISIONED",
                         ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1},
                         SSESpecification={"Enabled": True})
    code, status, message = error_of(e)
    assert (code, status) == ("ValidationException", 400) and "SSESpecification" in message
    assert ddb.describe_table(TableName=tname)["Table"]["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"


def test_batch_writer_and_batch_get(ddb, resource, tname):
    # boto3's batch_writer (the chapter's bulk load) sends BatchWriteItem in
    # chunks of 25; BatchGetItem returns what exists and no UnprocessedKeys.
    make_table(ddb, tname)
    table = resource.Table(tname)
    with table.batch_writer() as batch:
        for i in range(60):
            batch.put_item(Item={"id": f"u{i}", "n": Decimal(i)})
        batch.delete_item(Key={"id": "u0"})
    assert ddb.scan(TableName=tname, Select="COUNT")["Count"] == 59
    r = ddb.batch_get_item(RequestItems={tname: {"Keys": [{"id": {"S": "u1"}}, {"id": {"S": "u0"}}, {"id": {"S": "u59"}}]}})
    got = sorted(int(i["n"]["N"]) for i in r["Responses"][tname])
    assert got == [1, 59] and r["UnprocessedKeys"] == {}
    too_many = [{"PutRequest": {"Item": {"id": {"S": f"x{i}"}}}} for i in range(26)]
    with pytest.raises(ClientError) as e:
        ddb.batch_write_item(RequestItems={tname: too_many})
    assert error_of(e) == ("ValidationException", 400, "Too many items requested for the BatchWriteItem call")
    dup = [{"PutRequest": {"Item": {"id": {"S": "d"}}}}, {"DeleteRequest": {"Key": {"id": {"S": "d"}}}}]
    with pytest.raises(ClientError) as e:
        ddb.batch_write_item(RequestItems={tname: dup})
    assert error_of(e) == ("ValidationException", 400, "Provided list of item keys contains duplicates")
    # A bad request writes nothing at all.
    bad = [{"PutRequest": {"Item": {"id": {"S": "ok"}}}}, {"PutRequest": {"Item": {"id": {"N": "1"}}}}]
    with pytest.raises(ClientError):
        ddb.batch_write_item(RequestItems={tname: bad})
    assert "Item" not in ddb.get_item(TableName=tname, Key={"id": {"S": "ok"}})


def test_conditional_writes(ddb, tname):
    # ConditionExpression on PutItem/DeleteItem/UpdateItem: a false condition
    # is ConditionalCheckFailedException and changes nothing.
    make_table(ddb, tname)
    ddb.put_item(TableName=tname, Item={"id": {"S": "a"}, "v": {"N": "1"}},
                 ConditionExpression="attribute_not_exists(id)")
    with pytest.raises(ClientError) as e:
        ddb.put_item(TableName=tname, Item={"id": {"S": "a"}, "v": {"N": "2"}},
                     ConditionExpression="attribute_not_exists(id)")
    assert error_of(e) == ("ConditionalCheckFailedException", 400, "The conditional request failed")
    with pytest.raises(ClientError) as e:
        ddb.delete_item(TableName=tname, Key={"id": {"S": "a"}}, ConditionExpression="v > :min",
                        ExpressionAttributeValues={":min": {"N": "5"}})
    assert error_of(e)[0] == "ConditionalCheckFailedException"
    assert ddb.get_item(TableName=tname, Key={"id": {"S": "a"}})["Item"]["v"] == {"N": "1"}
    ddb.delete_item(TableName=tname, Key={"id": {"S": "a"}}, ConditionExpression="v = :one",
                    ExpressionAttributeValues={":one": {"N": "1.0"}})
    assert "Item" not in ddb.get_item(TableName=tname, Key={"id": {"S": "a"}})
    # Every ExpressionAttributeValue must be used by some expression.
    with pytest.raises(ClientError) as e:
        ddb.put_item(TableName=tname, Item={"id": {"S": "b"}}, ConditionExpression="attribute_not_exists(id)",
                     ExpressionAttributeValues={":unused": {"S": "x"}})
    assert error_of(e) == ("ValidationException", 400,
                           "Value provided in ExpressionAttributeValues unused in expressions: keys: {:unused}")


def test_update_item_actions_and_return_values(ddb, tname):
    # UpdateExpression SET/REMOVE/ADD/DELETE with DynamoDB's ReturnValues;
    # UpdateItem on a missing item creates it; key attributes cannot change.
    make_table(ddb, tname)
    key = {"id": {"S": "u"}}
    r = ddb.update_item(TableName=tname, Key=key, UpdateExpression="SET n = :one, tags = :t, l = :l",
                        ExpressionAttributeValues={":one": {"N": "1"}, ":t": {"SS": ["a", "b"]},
                                                   ":l": {"L": [{"S": "x"}]}}, ReturnValues="ALL_NEW")
    assert r["Attributes"] == {"id": {"S": "u"}, "n": {"N": "1"}, "tags": {"SS": ["a", "b"]}, "l": {"L": [{"S": "x"}]}}
    r = ddb.update_item(TableName=tname, Key=key,
                        UpdateExpression="SET n = n + :two, l = list_append(l, :more), c = if_not_exists(c, :zero) "
                                         "ADD tags :c",
                        ExpressionAttributeValues={":two": {"N": "2"}, ":more": {"L": [{"S": "y"}]},
                                                   ":zero": {"N": "0"}, ":c": {"SS": ["c"]}},
                        ReturnValues="UPDATED_OLD")
    assert r["Attributes"]["n"] == {"N": "1"} and r["Attributes"]["l"] == {"L": [{"S": "x"}]}
    ddb.update_item(TableName=tname, Key=key, UpdateExpression="DELETE tags :a",
                    ExpressionAttributeValues={":a": {"SS": ["a"]}})
    item = ddb.get_item(TableName=tname, Key=key)["Item"]
    assert item["n"] == {"N": "3"} and item["c"] == {"N": "0"}
    assert sorted(item["tags"]["SS"]) == ["b", "c"] and item["l"] == {"L": [{"S": "x"}, {"S": "y"}]}
    r = ddb.update_item(TableName=tname, Key=key, UpdateExpression="REMOVE l[0], c", ReturnValues="UPDATED_NEW")
    assert r["Attributes"] == {"l": {"L": [{"S": "y"}]}}
    with pytest.raises(ClientError) as e:
        ddb.update_item(TableName=tname, Key=key, UpdateExpression="SET id = :x",
                        ExpressionAttributeValues={":x": {"S": "other"}})
    assert error_of(e)[0] == "ValidationException" and "key" in error_of(e)[2].lower()
    with pytest.raises(ClientError) as e:
        ddb.update_item(TableName=tname, Key=key, UpdateExpression="SET a = :v, a.b = :v",
                        ExpressionAttributeValues={":v": {"S": "x"}})
    assert "Two document paths overlap" in error_of(e)[2]
    with pytest.raises(ClientError) as e:
        ddb.update_item(TableName=tname, Key=key, UpdateExpression="SET n = n + :s",
                        ExpressionAttributeValues={":s": {"S": "x"}})
    assert "Incorrect operand type for operator or function; operator or function: +, operand type: S" in error_of(e)[2]
    with pytest.raises(ClientError) as e:
        ddb.update_item(TableName=tname, Key=key, UpdateExpression="SET n = :v",
                        ConditionExpression="n > :big", ExpressionAttributeValues={":v": {"N": "0"}, ":big": {"N": "10"}})
    assert error_of(e)[0] == "ConditionalCheckFailedException"
    assert ddb.get_item(TableName=tname, Key=key)["Item"]["n"] == {"N": "3"}
    created = ddb.update_item(TableName=tname, Key={"id": {"S": "new"}}, UpdateExpression="SET v = :v",
                              ExpressionAttributeValues={":v": {"BOOL": True}}, ReturnValues="ALL_NEW")
    assert created["Attributes"] == {"id": {"S": "new"}, "v": {"BOOL": True}}


def test_concurrent_increments_lose_nothing(nimbus, ddb, tname):
    # The chapter's atomic counter: concurrent UpdateItem ADDs from many
    # clients all count.
    make_table(ddb, tname)
    ddb.put_item(TableName=tname, Item={"id": {"S": "c"}, "login_count": {"N": "0"}})
    import threading
    threads, per = 8, 25

    def work():
        client = nimbus.client("dynamodb")
        for _ in range(per):
            client.update_item(TableName=tname, Key={"id": {"S": "c"}},
                               UpdateExpression="SET login_count = login_count + :inc",
                               ExpressionAttributeValues={":inc": {"N": "1"}})

    ts = [threading.Thread(target=work) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    item = ddb.get_item(TableName=tname, Key={"id": {"S": "c"}}, ConsistentRead=True)["Item"]
    assert item["login_count"] == {"N": str(threads * per)}


def test_query_key_conditions_order_paging_filter_projection(ddb, resource, tname):
    # Query reads one partition in sort-key order (numbers numerically),
    # backwards with ScanIndexForward false, pages by Limit, filters after
    # the key condition (Count vs ScannedCount) and projects attributes.
    make_table(ddb, tname, hash_key=("user_id", "S"), range_key=("ts", "N"))
    table = resource.Table(tname)
    for ts in [5, 10, 100, 9, 1, 50, 20]:
        table.put_item(Item={"user_id": "u1", "ts": Decimal(ts), "kind": "a" if ts % 2 else "b", "pad": "x"})
    table.put_item(Item={"user_id": "u2", "ts": Decimal(7)})
    r = table.query(KeyConditionExpression=Key("user_id").eq("u1"))
    assert [int(i["ts"]) for i in r["Items"]] == [1, 5, 9, 10, 20, 50, 100]
    r = table.query(KeyConditionExpression=Key("user_id").eq("u1") & Key("ts").between(9, 50), ScanIndexForward=False)
    assert [int(i["ts"]) for i in r["Items"]] == [50, 20, 10, 9]
    r = table.query(KeyConditionExpression=Key("user_id").eq("u1") & Key("ts").lt(10))
    assert [int(i["ts"]) for i in r["Items"]] == [1, 5, 9]
    pages, start, seen = 0, None, []
    while True:
        kw = {"KeyConditionExpression": Key("user_id").eq("u1"), "Limit": 3, "ScanIndexForward": False}
        if start:
            kw["ExclusiveStartKey"] = start
        r = table.query(**kw)
        pages += 1
        seen += [int(i["ts"]) for i in r["Items"]]
        start = r.get("LastEvaluatedKey")
        if not start:
            break
    assert seen == [100, 50, 20, 10, 9, 5, 1] and pages == 3
    from boto3.dynamodb.conditions import Attr
    r = table.query(KeyConditionExpression=Key("user_id").eq("u1"), FilterExpression=Attr("kind").eq("a"),
                    ProjectionExpression="ts, kind")
    assert r["Count"] == 3 and r["ScannedCount"] == 7  # kind "a": ts 1, 5, 9
    assert all(set(i) == {"ts", "kind"} for i in r["Items"])
    assert ddb.query(TableName=tname, KeyConditionExpression="user_id = :u", Select="COUNT",
                     ExpressionAttributeValues={":u": {"S": "u1"}})["Count"] == 7
    with pytest.raises(ClientError) as e:
        ddb.query(TableName=tname, KeyConditionExpression="user_id = :u", FilterExpression="ts > :t",
                  ExpressionAttributeValues={":u": {"S": "u1"}, ":t": {"N": "1"}})
    assert "Filter Expression can only contain non-primary key attributes" in error_of(e)[2]
    with pytest.raises(ClientError) as e:
        ddb.query(TableName=tname, KeyConditionExpression="ts = :t", ExpressionAttributeValues={":t": {"N": "1"}})
    assert error_of(e)[0] == "ValidationException"


def test_scan_filter_and_projection(ddb, resource, tname):
    # Scan's FilterExpression (the chapter's "premium users") and projection.
    make_table(ddb, tname, hash_key=("user_id", "S"))
    table = resource.Table(tname)
    for i in range(10):
        table.put_item(Item={"user_id": f"u{i}", "tier": "premium" if i % 3 == 0 else "free", "n": Decimal(i)})
    r = table.scan(FilterExpression=Key("tier").eq("premium"))
    assert sorted(i["user_id"] for i in r["Items"]) == ["u0", "u3", "u6", "u9"]
    assert r["ScannedCount"] == 10 and r["Count"] == 4
    r = ddb.scan(TableName=tname, ProjectionExpression="#n", ExpressionAttributeNames={"#n": "n"})
    assert all(set(i) == {"n"} for i in r["Items"]) and len(r["Items"]) == 10
    got = table.get_item(Key={"user_id": "u3"}, ProjectionExpression="tier")["Item"]
    assert got == {"tier": "premium"}


def test_tags_and_update_table(ddb, tname):
    # TagResource / UntagResource / ListTagsOfResource on the table ARN;
    # UpdateTable switches billing mode and throughput.
    arn = make_table(ddb, tname, Tags=[{"Key": "team", "Value": "a"}])["TableDescription"]["TableArn"]
    ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "env", "Value": "dev"}, {"Key": "team", "Value": "b"}])
    tags = {t["Key"]: t["Value"] for t in ddb.list_tags_of_resource(ResourceArn=arn)["Tags"]}
    assert tags == {"team": "b", "env": "dev"}
    ddb.untag_resource(ResourceArn=arn, TagKeys=["team"])
    assert ddb.list_tags_of_resource(ResourceArn=arn)["Tags"] == [{"Key": "env", "Value": "dev"}]
    with pytest.raises(ClientError) as e:
        ddb.list_tags_of_resource(ResourceArn=arn + "-nope")
    assert error_of(e)[0] == "ResourceNotFoundException"
    r = ddb.update_table(TableName=tname, BillingMode="PROVISIONED",
                         ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 7})
    assert r["TableDescription"]["ProvisionedThroughput"]["WriteCapacityUnits"] == 7
    t = ddb.describe_table(TableName=tname)["Table"]
    assert t["ProvisionedThroughput"]["ReadCapacityUnits"] == 5 and "BillingModeSummary" not in t


def test_provisioned_tables_throttle_on_demand_tables_do_not(nimbus, tname):
    # A PROVISIONED table answers ProvisionedThroughputExceededException once
    # its burst (300 s of provisioned units) is spent; PAY_PER_REQUEST never
    # throttles. 1 WCU gives a 300-unit burst: 300 one-KB writes, then refusal.
    ddb = nimbus.client("dynamodb")  # max_attempts 1: botocore would retry the throttle
    make_table(ddb, tname, BillingMode="PROVISIONED",
               ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1})
    throttled = None
    for i in range(400):
        try:
            ddb.put_item(TableName=tname, Item={"id": {"S": f"k{i}"}})
        except ClientError as e:
            throttled = (i, error_of_exc(e))
            break
    assert throttled is not None, "400 writes against 1 WCU were never throttled"
    i, (code, status, message) = throttled
    assert (code, status) == ("ProvisionedThroughputExceededException", 400) and 290 <= i <= 310, throttled
    assert "provisioned throughput for the table was exceeded" in message
    on_demand = tname + "-od"
    make_table(ddb, on_demand)
    for i in range(400):
        ddb.put_item(TableName=on_demand, Item={"id": {"S": f"k{i}"}})


def error_of_exc(e):
    r = e.response
    return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"], r["Error"]["Message"]


def test_time_to_live_expires_items(nimbus, ddb, tname):
    # UpdateTimeToLive / DescribeTimeToLive; items whose TTL attribute (epoch
    # seconds, a number) has passed are deleted in the background; others,
    # including a TTL attribute of another type, stay.
    import time
    make_table(ddb, tname)
    assert ddb.describe_time_to_live(TableName=tname)["TimeToLiveDescription"]["TimeToLiveStatus"] == "DISABLED"
    r = ddb.update_time_to_live(TableName=tname, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"})
    assert r["TimeToLiveSpecification"] == {"Enabled": True, "AttributeName": "expires"}
    d = ddb.describe_time_to_live(TableName=tname)["TimeToLiveDescription"]
    assert d == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires"}
    with pytest.raises(ClientError) as e:
        ddb.update_time_to_live(TableName=tname, TimeToLiveSpecification={"Enabled": True, "AttributeName": "x"})
    assert error_of(e) == ("ValidationException", 400, "TimeToLive is already enabled")
    now = int(time.time())
    ddb.put_item(TableName=tname, Item={"id": {"S": "old"}, "expires": {"N": str(now - 10)}})
    ddb.put_item(TableName=tname, Item={"id": {"S": "future"}, "expires": {"N": str(now + 3600)}})
    ddb.put_item(TableName=tname, Item={"id": {"S": "string"}, "expires": {"S": str(now - 10)}})
    ddb.put_item(TableName=tname, Item={"id": {"S": "none"}})
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if "Item" not in ddb.get_item(TableName=tname, Key={"id": {"S": "old"}}):
            break
        time.sleep(0.2)
    left = sorted(i["id"]["S"] for i in ddb.scan(TableName=tname)["Items"])
    assert left == ["future", "none", "string"]


def test_transactions_all_or_nothing_with_reasons_and_idempotency(ddb, tname):
    # TransactWriteItems applies every action or none: one failed condition
    # cancels all with TransactionCanceledException and per-action
    # CancellationReasons; a repeated ClientRequestToken is not applied twice;
    # TransactGetItems reads items in request order.
    make_table(ddb, tname)
    ddb.put_item(TableName=tname, Item={"id": {"S": "acct-a"}, "balance": {"N": "100"}})
    ddb.put_item(TableName=tname, Item={"id": {"S": "acct-b"}, "balance": {"N": "0"}})

    def transfer(amount, token=None):
        kw = {"ClientRequestToken": token} if token else {}
        return ddb.transact_write_items(TransactItems=[
            {"Update": {"TableName": tname, "Key": {"id": {"S": "acct-a"}},
                        "UpdateExpression": "SET balance = balance - :x", "ConditionExpression": "balance >= :x",
                        "ExpressionAttributeValues": {":x": {"N": str(amount)}}}},
            {"Update": {"TableName": tname, "Key": {"id": {"S": "acct-b"}},
                        "UpdateExpression": "SET balance = balance + :x",
                        "ExpressionAttributeValues": {":x": {"N": str(amount)}}}},
            {"Put": {"TableName": tname, "Item": {"id": {"S": f"log-{amount}"}}}},
        ], **kw)

    transfer(30, token="t-1")
    transfer(30, token="t-1")  # same token and request: not applied again
    with pytest.raises(ClientError) as e:
        transfer(31, token="t-1")
    assert error_of(e)[0] == "IdempotentParameterMismatchException"
    with pytest.raises(ClientError) as e:
        transfer(500)
    code, status, message = error_of(e)
    assert (code, status) == ("TransactionCanceledException", 400)
    assert "[ConditionalCheckFailed, None, None]" in message
    reasons = e.value.response["CancellationReasons"]
    assert [r["Code"] for r in reasons] == ["ConditionalCheckFailed", "None", "None"]
    got = ddb.transact_get_items(TransactItems=[
        {"Get": {"TableName": tname, "Key": {"id": {"S": "acct-b"}}}},
        {"Get": {"TableName": tname, "Key": {"id": {"S": "acct-a"}}, "ProjectionExpression": "balance"}},
        {"Get": {"TableName": tname, "Key": {"id": {"S": "log-500"}}}},
    ])["Responses"]
    assert got[0]["Item"]["balance"] == {"N": "30"} and got[1]["Item"] == {"balance": {"N": "70"}}
    assert got[2] == {}  # the cancelled transaction's Put never happened
    with pytest.raises(ClientError) as e:
        ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": tname, "Item": {"id": {"S": "x"}}}},
            {"Delete": {"TableName": tname, "Key": {"id": {"S": "x"}}}}])
    assert error_of(e) == ("ValidationException", 400, "Transaction request cannot include multiple operations on one item")

