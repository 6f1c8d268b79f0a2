"""DynamoDB secondary indexes (LSI and GSI) with boto3's client and resource
APIs and the AWS CLI: creation, projections, queries and scans on indexes,
index maintenance on every write path, backfill of a GSI added later, and
index/table agreement after kill -9."""
import threading
import time

import pytest
from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError


def error_of(exc_info):
    e = exc_info.value.response
    return e["Error"]["Code"], e["ResponseMetadata"]["HTTPStatusCode"], e["Error"]["Message"]


def s(v):
    return {"S": v}


def n(v):
    return {"N": str(v)}


# An orders table: customer (HASH) + order id (RANGE); an LSI by order total,
# a GSI by status and date that projects only the keys, and a GSI by region
# that includes one attribute.
def make_orders(ddb, name, **kw):
    kw.setdefault("BillingMode", "PAY_PER_REQUEST")
    return ddb.create_table(
        TableName=name,
        AttributeDefinitions=[
            {"AttributeName": "customer", "AttributeType": "S"},
            {"AttributeName": "order", "AttributeType": "S"},
            {"AttributeName": "total", "AttributeType": "N"},
            {"AttributeName": "status", "AttributeType": "S"},
            {"AttributeName": "day", "AttributeType": "S"},
            {"AttributeName": "region", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "customer", "KeyType": "HASH"},
                   {"AttributeName": "order", "KeyType": "RANGE"}],
        LocalSecondaryIndexes=[{
            "IndexName": "by-total",
            "KeySchema": [{"AttributeName": "customer", "KeyType": "HASH"},
                          {"AttributeName": "total", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "KEYS_ONLY"}}],
        GlobalSecondaryIndexes=[
            {"IndexName": "by-status",
             "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"},
                           {"AttributeName": "day", "KeyType": "RANGE"}],
             "Projection": {"ProjectionType": "KEYS_ONLY"}},
            {"IndexName": "by-region",
             "KeySchema": [{"AttributeName": "region", "KeyType": "HASH"}],
             "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["total"]}}],
        **kw)


def order(customer, oid, total, status=None, day=None, region=None, note="x"):
    item = {"customer": s(customer), "order": s(oid), "total": n(total), "note": s(note)}
    if status:
        item["status"] = s(status)
    if day:
        item["day"] = s(day)
    if region:
        item["region"] = s(region)
    return item


def keys(items, *names):
    return [tuple(next(iter(i[k].values())) for k in names) for i in items]


def test_create_and_describe_indexes(ddb, tname):
    # CreateTable accepts LSIs and GSIs with KEYS_ONLY / INCLUDE / ALL
    # projections; DescribeTable lists them with their key schema,
    # projection, IndexArn, counts, and (GSIs only) IndexStatus ACTIVE and
    # ProvisionedThroughput.
    r = make_orders(ddb, tname)["TableDescription"]
    assert r["TableStatus"] == "CREATING"
    ddb.put_item(TableName=tname, Item=order("c1", "o1", 10, "OPEN", "2026-01-01", "eu"))
    ddb.put_item(TableName=tname, Item=order("c1", "o2", 20))  # in the LSI only
    t = ddb.describe_table(TableName=tname)["Table"]
    (lsi,) = t["LocalSecondaryIndexes"]
    assert lsi["IndexName"] == "by-total" and lsi["Projection"] == {"ProjectionType": "KEYS_ONLY"}
    assert lsi["IndexArn"] == t["TableArn"] + "/index/by-total"
    assert lsi["ItemCount"] == 2 and "IndexStatus" not in lsi
    gsis = {g["IndexName"]: g for g in t["GlobalSecondaryIndexes"]}
    assert gsis["by-status"]["IndexStatus"] == "ACTIVE" and gsis["by-status"]["ItemCount"] == 1
    assert gsis["by-status"]["KeySchema"] == [{"AttributeName": "status", "KeyType": "HASH"},
                                              {"AttributeName": "day", "KeyType": "RANGE"}]
    assert gsis["by-region"]["Projection"] == {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["total"]}
    assert gsis["by-region"]["ProvisionedThroughput"]["ReadCapacityUnits"] == 0


@pytest.mark.parametrize("change, message", [
    # An LSI needs a table with a sort key, and the table's partition key.
    (lambda kw: kw.update(KeySchema=[{"AttributeName": "customer", "KeyType": "HASH"}],
                          AttributeDefinitions=kw["AttributeDefinitions"][:1] + kw["AttributeDefinitions"][2:3]),
     "Table KeySchema does not have a range key, which is required when specifying a LocalSecondaryIndex"),
    (lambda kw: kw["LocalSecondaryIndexes"][0]["KeySchema"].__setitem__(0, {"AttributeName": "order", "KeyType": "HASH"}),
     "Index KeySchema does not have the same leading hash key as table KeySchema for index: by-total"),
    # Every AttributeDefinition must be some key's attribute.
    (lambda kw: kw["AttributeDefinitions"].append({"AttributeName": "spare", "AttributeType": "S"}),
     "Some AttributeDefinitions are not used"),
    # Index key attributes must be defined.
    (lambda kw: kw["LocalSecondaryIndexes"][0]["KeySchema"].__setitem__(1, {"AttributeName": "nope", "KeyType": "RANGE"}),
     "Some index key attributes are not defined in AttributeDefinitions"),
    (lambda kw: kw["LocalSecondaryIndexes"].append(dict(kw["LocalSecondaryIndexes"][0])),
     "Duplicate index name: by-total"),
    (lambda kw: kw["LocalSecondaryIndexes"][0].update(Projection={"ProjectionType": "INCLUDE"}),
     "ProjectionType is INCLUDE, but NonKeyAttributes is not specified"),
])
def test_index_definitions_are_validated(ddb, tname, change, message):
    # CreateTable refuses malformed index definitions with DynamoDB's
    # ValidationException texts, and creates nothing.
    kw = dict(
        TableName=tname, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "customer", "AttributeType": "S"},
                              {"AttributeName": "order", "AttributeType": "S"},
                              {"AttributeName": "total", "AttributeType": "N"}],
        KeySchema=[{"AttributeName": "customer", "KeyType": "HASH"},
                   {"AttributeName": "order", "KeyType": "RANGE"}],
        LocalSecondaryIndexes=[{"IndexName": "by-total",
                                "KeySchema": [{"AttributeName": "customer", "KeyType": "HASH"},
                                              {"AttributeName": "total", "KeyType": "RANGE"}],
                                "Projection": {"ProjectionType": "ALL"}}])
    change(kw)
    with pytest.raises(ClientError) as e:
        ddb.create_table(**kw)
    code, status, msg = error_of(e)
    assert (code, status) == ("ValidationException", 400) and message in msg
    assert tname not in ddb.list_tables()["TableNames"]


def test_gsi_query_is_sparse_ordered_projected_and_paged(ddb, tname):
    # A GSI holds only items that have its key attributes, sorted by its
    # sort key; KEYS_ONLY returns the table and index keys; LastEvaluatedKey
    # carries both keys and resumes the read; a GSI cannot be read
    # consistently nor asked for ALL_ATTRIBUTES unless it projects ALL.
    make_orders(ddb, tname)
    for i, day in enumerate(["2026-01-03", "2026-01-01", "2026-01-02", "2026-01-05", "2026-01-04"]):
        ddb.put_item(TableName=tname, Item=order(f"c{i}", f"o{i}", i, "OPEN", day))
    ddb.put_item(TableName=tname, Item=order("c9", "o9", 9, "SHIPPED", "2026-01-01"))
    ddb.put_item(TableName=tname, Item=order("c8", "o8", 8))  # no status: not in by-status
    r = ddb.query(TableName=tname, IndexName="by-status",
                  KeyConditionExpression="#s = :s AND #d BETWEEN :a AND :b",
                  ExpressionAttributeNames={"#s": "status", "#d": "day"},
                  ExpressionAttributeValues={":s": s("OPEN"), ":a": s("2026-01-02"), ":b": s("2026-01-04")})
    assert keys(r["Items"], "day") == [("2026-01-02",), ("2026-01-03",), ("2026-01-04",)]
    assert set(r["Items"][0]) == {"customer", "order", "status", "day"}  # KEYS_ONLY
    page = ddb.query(TableName=tname, IndexName="by-status", Limit=2, ScanIndexForward=False,
                     KeyConditionExpression="#s = :s", ExpressionAttributeNames={"#s": "status"},
                     ExpressionAttributeValues={":s": s("OPEN")})
    assert keys(page["Items"], "day") == [("2026-01-05",), ("2026-01-04",)]
    assert set(page["LastEvaluatedKey"]) == {"customer", "order", "status", "day"}
    rest = ddb.query(TableName=tname, IndexName="by-status", ScanIndexForward=False,
                     ExclusiveStartKey=page["LastEvaluatedKey"],
                     KeyConditionExpression="#s = :s", ExpressionAttributeNames={"#s": "status"},
                     ExpressionAttributeValues={":s": s("OPEN")})
    assert keys(rest["Items"], "day") == [("2026-01-03",), ("2026-01-02",), ("2026-01-01",)]
    assert "LastEvaluatedKey" not in rest
    scan = ddb.scan(TableName=tname, IndexName="by-status")
    assert scan["Count"] == 6
    with pytest.raises(ClientError) as e:
        ddb.query(TableName=tname, IndexName="by-status", ConsistentRead=True,
                  KeyConditionExpression="#s = :s", ExpressionAttributeNames={"#s": "status"},
                  ExpressionAttributeValues={":s": s("OPEN")})
    assert "Consistent reads are not supported on global secondary indexes" in error_of(e)[2]
    with pytest.raises(ClientError) as e:
        ddb.query(TableName=tname, IndexName="by-status", Select="ALL_ATTRIBUTES",
                  KeyConditionExpression="#s = :s", ExpressionAttributeNames={"#s": "status"},
                  ExpressionAttributeValues={":s": s("OPEN")})
    assert "Select type ALL_ATTRIBUTES is not supported for global secondary index by-status" in error_of(e)[2]
    with pytest.raises(ClientError) as e:
        ddb.query(TableName=tname, IndexName="nope", KeyConditionExpression="customer = :c",
                  ExpressionAttributeValues={":c": s("c1")})
    assert error_of(e)[:2] == ("ValidationException", 400)
    assert "The table does not have the specified index: nope" in error_of(e)[2]


def test_include_projection_and_lsi_fetches_from_the_table(ddb, resource, tname):
    # INCLUDE returns keys plus the named attributes; an LSI read with
    # Select ALL_ATTRIBUTES or a ProjectionExpression naming unprojected
    # attributes gets them from the table, as DynamoDB does; the default for
    # an index read is ALL_PROJECTED_ATTRIBUTES.
    make_orders(ddb, tname)
    ddb.put_item(TableName=tname, Item=order("c1", "o1", 30, region="eu", note="first"))
    ddb.put_item(TableName=tname, Item=order("c1", "o2", 10, region="eu", note="second"))
    ddb.put_item(TableName=tname, Item=order("c1", "o3", 20, region="us", note="third"))
    by_region = ddb.query(TableName=tname, IndexName="by-region", KeyConditionExpression="#r = :r",
                          ExpressionAttributeNames={"#r": "region"}, ExpressionAttributeValues={":r": s("eu")})
    assert sorted(keys(by_region["Items"], "order", "total")) == [("o1", "30"), ("o2", "10")]
    assert all("note" not in i for i in by_region["Items"])
    table = resource.Table(tname)
    default = table.query(IndexName="by-total", KeyConditionExpression=Key("customer").eq("c1"))
    assert [i["order"] for i in default["Items"]] == ["o2", "o3", "o1"]  # by total
    assert all("note" not in i for i in default["Items"])
    full = table.query(IndexName="by-total", Select="ALL_ATTRIBUTES",
                       KeyConditionExpression=Key("customer").eq("c1") & Key("total").gt(15))
    assert [(i["order"], i["note"]) for i in full["Items"]] == [("o3", "third"), ("o1", "first")]
    projected = table.query(IndexName="by-total", ProjectionExpression="note",
                            KeyConditionExpression=Key("customer").eq("c1"), ScanIndexForward=False)
    assert projected["Items"] == [{"note": "first"}, {"note": "third"}, {"note": "second"}]
    with pytest.raises(ClientError) as e:
        ddb.query(TableName=tname, Select="ALL_PROJECTED_ATTRIBUTES",
                  KeyConditionExpression="customer = :c", ExpressionAttributeValues={":c": s("c1")})
    assert "ALL_PROJECTED_ATTRIBUTES can be used only when Querying using an IndexName" in error_of(e)[2]


def by_status(ddb, tname, status):
    r = ddb.query(TableName=tname, IndexName="by-status", KeyConditionExpression="#s = :s",
                  ExpressionAttributeNames={"#s": "status"}, ExpressionAttributeValues={":s": s(status)})
    return sorted(keys(r["Items"], "order"))


def test_every_write_path_maintains_the_indexes(ddb, tname):
    # UpdateItem that changes an index key moves the entry; removing the
    # attribute takes the item out of the index; DeleteItem, BatchWriteItem
    # and TransactWriteItems maintain indexes in the same write; a write
    # whose index key has the wrong type is refused whole.
    make_orders(ddb, tname)
    ddb.put_item(TableName=tname, Item=order("c1", "o1", 1, "OPEN", "d1"))
    ddb.put_item(TableName=tname, Item=order("c1", "o2", 2, "OPEN", "d2"))
    ddb.update_item(TableName=tname, Key={"customer": s("c1"), "order": s("o1")},
                    UpdateExpression="SET #s = :s", ExpressionAttributeNames={"#s": "status"},
                    ExpressionAttributeValues={":s": s("SHIPPED")})
    assert by_status(ddb, tname, "OPEN") == [("o2",)] and by_status(ddb, tname, "SHIPPED") == [("o1",)]
    ddb.update_item(TableName=tname, Key={"customer": s("c1"), "order": s("o2")},
                    UpdateExpression="REMOVE #d", ExpressionAttributeNames={"#d": "day"})
    assert by_status(ddb, tname, "OPEN") == []
    ddb.delete_item(TableName=tname, Key={"customer": s("c1"), "order": s("o1")})
    assert by_status(ddb, tname, "SHIPPED") == []
    ddb.batch_write_item(RequestItems={tname: [
        {"PutRequest": {"Item": order("c2", "o3", 3, "OPEN", "d3")}},
        {"PutRequest": {"Item": order("c2", "o4", 4, "OPEN", "d4")}},
        {"DeleteRequest": {"Key": {"customer": s("c1"), "order": s("o2")}}}]})
    assert by_status(ddb, tname, "OPEN") == [("o3",), ("o4",)]
    ddb.transact_write_items(TransactItems=[
        {"Update": {"TableName": tname, "Key": {"customer": s("c2"), "order": s("o3")},
                    "UpdateExpression": "SET #s = :s", "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": {":s": s("SHIPPED")}}},
        {"Delete": {"TableName": tname, "Key": {"customer": s("c2"), "order": s("o4")}}}])
    assert by_status(ddb, tname, "OPEN") == [] and by_status(ddb, tname, "SHIPPED") == [("o3",)]
    with pytest.raises(ClientError) as e:
        ddb.put_item(TableName=tname, Item={**order("c3", "o5", 5), "status": n(7), "day": s("d")})
    code, status, msg = error_of(e)
    assert (code, status) == ("ValidationException", 400)
    assert "Type mismatch for Index Key status Expected: S Actual: N IndexName: by-status" in msg
    with pytest.raises(ClientError):
        ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": tname, "Item": order("c3", "o6", 6, "OPEN", "d6")}},
            {"Put": {"TableName": tname, "Item": {**order("c3", "o7", 7), "region": n(1)}}}])
    assert ddb.get_item(TableName=tname, Key={"customer": s("c3"), "order": s("o6")}).get("Item") is None
    assert by_status(ddb, tname, "OPEN") == []


def wait_active(ddb, tname, index, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        gsis = ddb.describe_table(TableName=tname)["Table"].get("GlobalSecondaryIndexes", [])
        status = {g["IndexName"]: g["IndexStatus"] for g in gsis}
        if status.get(index) == "ACTIVE":
            return
        time.sleep(0.05)
    raise AssertionError(f"{index} not ACTIVE after {timeout}s")


def test_update_table_creates_a_gsi_with_backfill_and_deletes_it(nimbus, ddb, tname):
    # UpdateTable GlobalSecondaryIndexUpdates Create adds an index that is
    # CREATING (Backfilling) until every existing item is in it, then ACTIVE;
    # writes during the build are indexed too; Delete removes it; at most one
    # index is created or deleted per call.
    ddb.create_table(TableName=tname, BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
    with ddb_batch(nimbus, tname) as put:
        for i in range(1500):
            put({"id": s(f"k{i:04}"), "colour": s(["red", "green", "blue"][i % 3]), "size": n(i)})
    r = ddb.update_table(
        TableName=tname,
        AttributeDefinitions=[{"AttributeName": "colour", "AttributeType": "S"},
                              {"AttributeName": "size", "AttributeType": "N"}],
        GlobalSecondaryIndexUpdates=[{"Create": {
            "IndexName": "by-colour",
            "KeySchema": [{"AttributeName": "colour", "KeyType": "HASH"},
                          {"AttributeName": "size", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "ALL"}}}])
    (g,) = r["TableDescription"]["GlobalSecondaryIndexes"]
    assert g["IndexStatus"] == "CREATING" and g["Backfilling"] is True
    ddb.put_item(TableName=tname, Item={"id": s("late"), "colour": s("red"), "size": n(-1)})
    wait_active(ddb, tname, "by-colour")
    red = ddb.get_paginator("query").paginate(
        TableName=tname, IndexName="by-colour", KeyConditionExpression="colour = :c",
        ExpressionAttributeValues={":c": s("red")})
    sizes = [int(i["size"]["N"]) for p in red for i in p["Items"]]
    assert sizes == [-1] + list(range(0, 1500, 3))
    attrs = {a["AttributeName"] for a in ddb.describe_table(TableName=tname)["Table"]["AttributeDefinitions"]}
    assert attrs == {"id", "colour", "size"}
    with pytest.raises(ClientError) as e:
        ddb.update_table(TableName=tname, GlobalSecondaryIndexUpdates=[
            {"Delete": {"IndexName": "by-colour"}}, {"Delete": {"IndexName": "by-colour"}}])
    assert error_of(e)[0] == "LimitExceededException"
    ddb.update_table(TableName=tname, GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "by-colour"}}])
    assert "GlobalSecondaryIndexes" not in ddb.describe_table(TableName=tname)["Table"]
    with pytest.raises(ClientError) as e:
        ddb.query(TableName=tname, IndexName="by-colour", KeyConditionExpression="colour = :c",
                  ExpressionAttributeValues={":c": s("red")})
    assert "The table does not have the specified index: by-colour" in error_of(e)[2]


class ddb_batch:
    """Loads items with BatchWriteItem, 25 at a time."""

    def __init__(self, nimbus, table):
        self.ddb, self.table, self.pending = nimbus.client("dynamodb"), table, []

    def __enter__(self):
        return self.put

    def put(self, item):
        self.pending.append({"PutRequest": {"Item": item}})
        if len(self.pending) == 25:
            self.flush()

    def flush(self):
        if self.pending:
            self.ddb.batch_write_item(RequestItems={self.table: self.pending})
            self.pending = []

    def __exit__(self, *exc):
        self.flush()


def test_cli_queries_an_index(nimbus, ddb, tname):
    # The AWS CLI's query --index-name reaches the index.
    make_orders(ddb, tname)
    ddb.put_item(TableName=tname, Item=order("c1", "o1", 1, "OPEN", "d1"))
    got = nimbus.cli("dynamodb", "query", "--table-name", tname, "--index-name", "by-status",
                     "--key-condition-expression", "#s = :s", "--expression-attribute-names", '{"#s": "status"}',
                     "--expression-attribute-values", '{":s": {"S": "OPEN"}}')
    assert got["Count"] == 1 and got["Items"][0]["order"] == {"S": "o1"}


def test_crash_leaves_transactions_whole_and_indexes_in_agreement(server_factory, tname):
    # Concurrent writers (transactions of two items, single puts that move
    # GSI entries), kill -9 mid-flight, restart: every acknowledged write is
    # there, every transaction is all or nothing, and every GSI holds exactly
    # the table's items.
    server = server_factory()
    ddb = server.client("dynamodb")
    make_orders(ddb, tname)
    acked, stop = [], threading.Event()

    def writer(w):
        c = server.client("dynamodb")
        i = 0
        while not stop.is_set():
            i += 1
            try:
                if i % 2:
                    c.transact_write_items(TransactItems=[
                        {"Put": {"TableName": tname, "Item": order(f"t{w}", f"{i}a", i, "OPEN", f"{i:06}")}},
                        {"Put": {"TableName": tname, "Item": order(f"t{w}", f"{i}b", i, "PAIR", f"{i:06}")}}])
                    acked.append((f"t{w}", f"{i}a"))
                    acked.append((f"t{w}", f"{i}b"))
                else:
                    c.put_item(TableName=tname, Item=order(f"p{w}", "o", i, ["OPEN", "SHIPPED"][i % 4 // 2], f"{i:06}", "eu"))
                    acked.append((f"p{w}", "o"))
            except Exception:  # the server died mid-request: not acknowledged
                return

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    server.kill9()
    stop.set()
    for t in threads:
        t.join(30)
    assert len(acked) > 20
    server.start()
    ddb = server.client("dynamodb")
    items = [i for p in ddb.get_paginator("scan").paginate(TableName=tname) for i in p["Items"]]
    present = {(i["customer"]["S"], i["order"]["S"]) for i in items}
    assert set(acked) <= present
    for c, o in present:
        if o.endswith("a"):
            assert (c, o[:-1] + "b") in present
        if o.endswith("b"):
            assert (c, o[:-1] + "a") in present
    for index, attr in (("by-status", "status"), ("by-region", "region")):
        entries = [i for p in ddb.get_paginator("scan").paginate(TableName=tname, IndexName=index)
                   for i in p["Items"]]
        expected = sorted((i["customer"]["S"], i["order"]["S"], i[attr]["S"]) for i in items
                          if attr in i and (attr != "status" or "day" in i))
        assert sorted((e["customer"]["S"], e["order"]["S"], e[attr]["S"]) for e in entries) == expected
