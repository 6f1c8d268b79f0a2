"""DynamoDB Streams with boto3's dynamodbstreams client and the AWS CLI: the
stream a table's StreamSpecification creates, the INSERT / MODIFY / REMOVE
records of every write path in order, view types, shard iterators, and
records that survive kill -9."""
import time

import pytest
from botocore.exceptions import ClientError


@pytest.fixture
def streams(nimbus):
    return nimbus.client("dynamodbstreams")


def s(v):
    return {"S": v}


def n(v):
    return {"N": str(v)}


def make_table(ddb, name, view="NEW_AND_OLD_IMAGES", **kw):
    spec = {"StreamEnabled": True, "StreamViewType": view} if view else None
    extra = {"StreamSpecification": spec} if spec else {}
    return ddb.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}], **extra, **kw)["TableDescription"]


def read_all(streams, arn, iterator_type="TRIM_HORIZON", **kw):
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType=iterator_type, **kw)["ShardIterator"]
    records = []
    while it:
        r = streams.get_records(ShardIterator=it, Limit=3)
        records += r["Records"]
        if not r["Records"]:
            return records, r.get("NextShardIterator")
        it = r.get("NextShardIterator")
    return records, None


def events(records):
    return [(r["eventName"], r["dynamodb"]["Keys"]["id"]["S"]) for r in records]


def test_every_write_path_records_insert_modify_remove_in_order(ddb, streams, tname):
    # Each change of an item gives one record, in write order, with
    # DynamoDB's event names — also for BatchWriteItem and each action of
    # TransactWriteItems; a write that changes nothing, or a delete of a
    # missing item, gives none. NEW_AND_OLD_IMAGES carries both images.
    t = make_table(ddb, tname)
    arn = t["LatestStreamArn"]
    assert t["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert arn == f"{t['TableArn']}/stream/{t['LatestStreamLabel']}"
    ddb.put_item(TableName=tname, Item={"id": s("a"), "v": n(1)})
    ddb.update_item(TableName=tname, Key={"id": s("a")}, UpdateExpression="SET v = v + :one",
                    ExpressionAttributeValues={":one": n(1)})
    ddb.put_item(TableName=tname, Item={"id": s("a"), "v": n(2)})  # unchanged: no record
    ddb.delete_item(TableName=tname, Key={"id": s("missing")})      # nothing deleted: no record
    ddb.batch_write_item(RequestItems={tname: [{"PutRequest": {"Item": {"id": s("b")}}},
                                               {"PutRequest": {"Item": {"id": s("c")}}}]})
    ddb.transact_write_items(TransactItems=[
        {"Put": {"TableName": tname, "Item": {"id": s("d")}}},
        {"Update": {"TableName": tname, "Key": {"id": s("b")}, "UpdateExpression": "SET x = :x",
                    "ExpressionAttributeValues": {":x": s("y")}}},
        {"Delete": {"TableName": tname, "Key": {"id": s("c")}}},
        {"ConditionCheck": {"TableName": tname, "Key": {"id": s("a")},
                            "ConditionExpression": "attribute_exists(id)"}}])
    ddb.delete_item(TableName=tname, Key={"id": s("a")})
    records, nxt = read_all(streams, arn)
    assert events(records) == [("INSERT", "a"), ("MODIFY", "a"), ("INSERT", "b"), ("INSERT", "c"),
                               ("INSERT", "d"), ("MODIFY", "b"), ("REMOVE", "c"), ("REMOVE", "a")]
    seqs = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    modify = records[1]
    assert modify["dynamodb"]["OldImage"] == {"id": s("a"), "v": n(1)}
    assert modify["dynamodb"]["NewImage"] == {"id": s("a"), "v": n(2)}
    assert modify["eventSource"] == "aws:dynamodb" and modify["awsRegion"] == "us-east-1"
    assert "NewImage" not in records[-1]["dynamodb"] and records[-1]["dynamodb"]["OldImage"]["v"] == n(2)
    assert records[0]["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    # The iterator at the end waits for new records.
    assert nxt
    ddb.put_item(TableName=tname, Item={"id": s("e")})
    more = streams.get_records(ShardIterator=nxt)
    assert events(more["Records"]) == [("INSERT", "e")]


@pytest.mark.parametrize("view, images", [("KEYS_ONLY", set()), ("NEW_IMAGE", {"NewImage"}),
                                          ("OLD_IMAGE", {"OldImage"})])
def test_view_types_decide_the_images(ddb, streams, tname, view, images):
    # StreamViewType decides which images a MODIFY record carries; Keys are
    # always there.
    t = make_table(ddb, tname, view=view)
    ddb.put_item(TableName=tname, Item={"id": s("k"), "v": n(1)})
    ddb.put_item(TableName=tname, Item={"id": s("k"), "v": n(2)})
    records, _ = read_all(streams, t["LatestStreamArn"])
    assert events(records) == [("INSERT", "k"), ("MODIFY", "k")]
    assert set(records[1]["dynamodb"]) & {"NewImage", "OldImage"} == images
    assert records[1]["dynamodb"]["Keys"] == {"id": s("k")}


def test_iterator_types_list_and_describe(ddb, streams, tname):
    # LATEST starts after the last record, AT/AFTER_SEQUENCE_NUMBER at or
    # after a given record; ListStreams finds the stream by table;
    # DescribeStream gives one shard starting at the first record.
    t = make_table(ddb, tname)
    arn = t["LatestStreamArn"]
    for k in "abc":
        ddb.put_item(TableName=tname, Item={"id": s(k)})
    first, _ = read_all(streams, arn)
    second_seq = first[1]["dynamodb"]["SequenceNumber"]
    at, _ = read_all(streams, arn, "AT_SEQUENCE_NUMBER", SequenceNumber=second_seq)
    after, _ = read_all(streams, arn, "AFTER_SEQUENCE_NUMBER", SequenceNumber=second_seq)
    assert events(at) == [("INSERT", "b"), ("INSERT", "c")] and events(after) == [("INSERT", "c")]
    latest, nxt = read_all(streams, arn, "LATEST")
    assert latest == []
    ddb.put_item(TableName=tname, Item={"id": s("d")})
    assert events(streams.get_records(ShardIterator=nxt)["Records"]) == [("INSERT", "d")]
    listed = streams.list_streams(TableName=tname)["Streams"]
    assert listed == [{"StreamArn": arn, "TableName": tname, "StreamLabel": t["LatestStreamLabel"]}]
    d = streams.describe_stream(StreamArn=arn)["StreamDescription"]
    assert d["StreamStatus"] == "ENABLED" and d["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert d["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert d["Shards"][0]["SequenceNumberRange"]["StartingSequenceNumber"] == first[0]["dynamodb"]["SequenceNumber"]


def test_stream_errors(ddb, streams, tname):
    # An unknown stream is ResourceNotFoundException, a malformed iterator a
    # ValidationException, a bad iterator type a ValidationException naming
    # the allowed values; enabling a second stream is refused.
    t = make_table(ddb, tname)
    with pytest.raises(ClientError) as e:
        streams.describe_stream(StreamArn=t["TableArn"] + "/stream/2000-01-01T00:00:00.000")
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        streams.get_records(ShardIterator="not-an-iterator")
    assert e.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as e:
        ddb.update_table(TableName=tname, StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
    assert "already has an enabled stream" in e.value.response["Error"]["Message"]


def test_update_table_enables_and_disables_the_stream(nimbus, ddb, streams, tname):
    # A stream enabled by UpdateTable records only later writes; disabled,
    # it says DISABLED, keeps its records readable, and its shard closes
    # (no NextShardIterator) once read to the end. The AWS CLI reads it too.
    make_table(ddb, tname, view=None)
    ddb.put_item(TableName=tname, Item={"id": s("before")})
    t = ddb.update_table(TableName=tname, StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
    arn = t["TableDescription"]["LatestStreamArn"]
    ddb.put_item(TableName=tname, Item={"id": s("after")})
    ddb.update_table(TableName=tname, StreamSpecification={"StreamEnabled": False})
    ddb.put_item(TableName=tname, Item={"id": s("disabled")})
    d = streams.describe_stream(StreamArn=arn)["StreamDescription"]
    assert d["StreamStatus"] == "DISABLED" and "EndingSequenceNumber" in d["Shards"][0]["SequenceNumberRange"]
    records, nxt = read_all(streams, arn)
    assert events(records) == [("INSERT", "after")] and nxt is None
    cli = nimbus.cli("dynamodbstreams", "describe-stream", "--stream-arn", arn)
    assert cli["StreamDescription"]["StreamStatus"] == "DISABLED"


def test_ttl_deletions_are_removes_by_the_service(ddb, streams, tname):
    # An item TTL removes gives a REMOVE record whose userIdentity is the
    # DynamoDB service (how a stream consumer tells expiry from a delete).
    t = make_table(ddb, tname, view="OLD_IMAGE")
    ddb.update_time_to_live(TableName=tname, TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
    ddb.put_item(TableName=tname, Item={"id": s("old"), "exp": n(int(time.time()) - 10)})
    deadline = time.time() + 15
    while "Item" in ddb.get_item(TableName=tname, Key={"id": s("old")}) and time.time() < deadline:
        time.sleep(0.2)
    records, _ = read_all(streams, t["LatestStreamArn"])
    assert events(records) == [("INSERT", "old"), ("REMOVE", "old")]
    assert records[1]["userIdentity"] == {"PrincipalId": "dynamodb.amazonaws.com", "Type": "Service"}
    assert "userIdentity" not in records[0]


def test_stream_records_survive_kill9(server_factory, tname):
    # Records are written with their item: after kill -9 every acknowledged
    # write has its record, and new records continue the sequence.
    server = server_factory()
    ddb, streams = server.client("dynamodb"), server.client("dynamodbstreams")
    arn = make_table(ddb, tname)["LatestStreamArn"]
    for i in range(10):
        ddb.put_item(TableName=tname, Item={"id": s(f"k{i}")})
    server.kill9()
    server.start()
    ddb, streams = server.client("dynamodb"), server.client("dynamodbstreams")
    ddb.put_item(TableName=tname, Item={"id": s("after-restart")})
    records, _ = read_all(streams, arn)
    assert events(records) == [("INSERT", f"k{i}") for i in range(10)] + [("INSERT", "after-restart")]
    seqs = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert seqs == sorted(seqs)
