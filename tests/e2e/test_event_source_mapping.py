"""Lambda event source mappings for DynamoDB Streams: CreateEventSourceMapping
and the other four operations with boto3 and the AWS CLI, a function invoked
with batches of a table's stream records (every write path, in order),
TRIM_HORIZON vs LATEST, retries of a failed batch, a checkpoint that survives
kill -9, and Lambda's errors."""
import json
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from e2e_support import wait_until

# Prints one line per invocation: the batch's records in the order received.
RECORDER = """
import json
def handler(event, context):
    batch = [[r["eventName"], r["dynamodb"]["Keys"]["id"]["S"], r["dynamodb"]["SequenceNumber"],
              r["eventSource"], r["eventSourceARN"], sorted(r["dynamodb"])] for r in event["Records"]]
    print("ESM-BATCH " + json.dumps(batch))
    return {}
"""

# Fails its first invocation (remembered in a DynamoDB item, so whichever
# instance runs the retry knows), then records like RECORDER.
FAIL_ONCE = """
import json, os, boto3
ddb = boto3.client("dynamodb")
def handler(event, context):
    seqs = [r["dynamodb"]["SequenceNumber"] for r in event["Records"]]
    print("ESM-ATTEMPT " + json.dumps(seqs))
    try:
        ddb.put_item(TableName=os.environ["CONTROL"], Item={"id": {"S": "failed-once"}},
                     ConditionExpression="attribute_not_exists(id)")
    except ddb.exceptions.ConditionalCheckFailedException:
        batch = [[r["eventName"], r["dynamodb"]["Keys"]["id"]["S"], r["dynamodb"]["SequenceNumber"],
                  r["eventSource"], r["eventSourceARN"], []] for r in event["Records"]]
        print("ESM-BATCH " + json.dumps(batch))
        return {}
    raise RuntimeError("failing the first batch on purpose")
"""

# Counts each record's deliveries in a sink table (synced writes, so the
# counts survive kill -9 as the records do).
SINK = """
import os, boto3
ddb = boto3.client("dynamodb")
def handler(event, context):
    for r in event["Records"]:
        ddb.update_item(TableName=os.environ["SINK"], Key={"seq": {"S": r["dynamodb"]["SequenceNumber"]}},
                        UpdateExpression="ADD deliveries :one SET id = :id",
                        ExpressionAttributeValues={":one": {"N": "1"}, ":id": r["dynamodb"]["Keys"]["id"]})
    return {}
"""


def s(v):
    return {"S": v}


def make_table(ddb, name, view="NEW_AND_OLD_IMAGES", key="id"):
    spec = {"StreamSpecification": {"StreamEnabled": True, "StreamViewType": view}} if view else {}
    return ddb.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
        KeySchema=[{"AttributeName": key, "KeyType": "HASH"}], **spec)["TableDescription"]


def batches(server, fn):
    """The batches the function logged, in the order it received them."""
    return [json.loads(m.split("ESM-BATCH ", 1)[1]) for m in server.log_messages(fn) if "ESM-BATCH " in m]


def received(server, fn):
    return [(r[0], r[1]) for b in batches(server, fn) for r in b]


def wait_received(server, fn, expected, timeout=30):
    return wait_until(lambda: received(server, fn) if len(received(server, fn)) >= len(expected) else None,
                      timeout=timeout, interval=0.2, what=f"{len(expected)} records delivered to {fn}")


def error_of(call, **kw):
    with pytest.raises(ClientError) as e:
        call(**kw)
    return e.value.response["Error"]["Code"], e.value.response["Error"]["Message"]


def test_trim_horizon_delivers_every_write_path_in_order(nimbus, ddb, tname, fname):
    # AWS: a mapping with StartingPosition TRIM_HORIZON delivers the stream
    # from its oldest record; records arrive per shard in order, INSERT /
    # MODIFY / REMOVE as the writes happened (also BatchWriteItem and each
    # action of a TransactWriteItems), each in Lambda's DynamoDB event shape
    # with eventSource aws:dynamodb and eventSourceARN the stream's ARN.
    lam = nimbus.lambda_
    arn = make_table(ddb, tname)["LatestStreamArn"]
    nimbus.create_function(fname, {"app.py": RECORDER}, Timeout=30)
    ddb.put_item(TableName=tname, Item={"id": s("a")})  # before the mapping: still delivered
    m = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=fname,
                                        StartingPosition="TRIM_HORIZON", BatchSize=3)
    assert m["State"] == "Creating" and m["BatchSize"] == 3
    assert m["FunctionArn"] == f"arn:aws:lambda:us-east-1:000000000000:function:{fname}"
    ddb.update_item(TableName=tname, Key={"id": s("a")}, UpdateExpression="SET v = :v",
                    ExpressionAttributeValues={":v": s("1")})
    ddb.batch_write_item(RequestItems={tname: [{"PutRequest": {"Item": {"id": s("b")}}},
                                               {"PutRequest": {"Item": {"id": s("c")}}}]})
    ddb.transact_write_items(TransactItems=[
        {"Put": {"TableName": tname, "Item": {"id": s("d")}}},
        {"Update": {"TableName": tname, "Key": {"id": s("b")}, "UpdateExpression": "SET x = :x",
                    "ExpressionAttributeValues": {":x": s("y")}}},
        {"Delete": {"TableName": tname, "Key": {"id": s("c")}}}])
    ddb.delete_item(TableName=tname, Key={"id": s("a")})
    expected = [("INSERT", "a"), ("MODIFY", "a"), ("INSERT", "b"), ("INSERT", "c"), ("INSERT", "d"),
                ("MODIFY", "b"), ("REMOVE", "c"), ("REMOVE", "a")]
    assert wait_received(nimbus, fname, expected) == expected
    got = batches(nimbus, fname)
    assert all(1 <= len(b) <= 3 for b in got)
    seqs = [int(r[2]) for b in got for r in b]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    first = got[0][0]
    assert first[3] == "aws:dynamodb" and first[4] == arn
    assert {"Keys", "NewImage", "SequenceNumber", "StreamViewType", "SizeBytes",
            "ApproximateCreationDateTime"} <= set(first[5])
    wait_until(lambda: lam.get_event_source_mapping(UUID=m["UUID"])["LastProcessingResult"] == "OK",
               what="LastProcessingResult OK")
    lam.delete_event_source_mapping(UUID=m["UUID"])


def test_latest_skips_earlier_records(nimbus, ddb, tname, fname):
    # AWS: StartingPosition LATEST starts at the stream's end when the
    # mapping is created: earlier records are never delivered.
    lam = nimbus.lambda_
    arn = make_table(ddb, tname, view="KEYS_ONLY")["LatestStreamArn"]
    nimbus.create_function(fname, {"app.py": RECORDER}, Timeout=30)
    ddb.put_item(TableName=tname, Item={"id": s("before")})
    m = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=fname, StartingPosition="LATEST")
    ddb.put_item(TableName=tname, Item={"id": s("after")})
    assert wait_received(nimbus, fname, [1]) == [("INSERT", "after")]
    ddb.put_item(TableName=tname, Item={"id": s("later")})
    assert wait_received(nimbus, fname, [1, 2]) == [("INSERT", "after"), ("INSERT", "later")]
    lam.delete_event_source_mapping(UUID=m["UUID"])


def test_failed_batch_is_retried_until_it_succeeds(nimbus, ddb, tname, fname):
    # AWS: when the function returns an error, Lambda retries the same batch
    # (MaximumRetryAttempts -1: until it succeeds) and sends nothing newer
    # before it; LastProcessingResult reports the failure, then OK.
    lam = nimbus.lambda_
    arn = make_table(ddb, tname)["LatestStreamArn"]
    control = make_table(ddb, tname + "-ctl", view=None)["TableName"]
    nimbus.create_function(fname, {"app.py": FAIL_ONCE}, Timeout=30,
                           Environment={"Variables": {"CONTROL": control}})
    for k in "xyz":
        ddb.put_item(TableName=tname, Item={"id": s(k)})
    m = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=fname,
                                        StartingPosition="TRIM_HORIZON", BatchSize=10)
    assert wait_received(nimbus, fname, ["x", "y", "z"]) == [("INSERT", "x"), ("INSERT", "y"), ("INSERT", "z")]
    attempts = [json.loads(msg.split("ESM-ATTEMPT ", 1)[1])
                for msg in nimbus.log_messages(fname) if "ESM-ATTEMPT " in msg]
    assert len(attempts) == 2 and attempts[0] == attempts[1] and len(attempts[0]) == 3
    assert any("failing the first batch on purpose" in msg for msg in nimbus.log_messages(fname))
    wait_until(lambda: lam.get_event_source_mapping(UUID=m["UUID"])["LastProcessingResult"] == "OK",
               what="LastProcessingResult OK after the retry")
    lam.delete_event_source_mapping(UUID=m["UUID"])


def test_checkpoint_survives_kill9(server_factory, tname):
    # AWS: a mapping keeps its place in the shard: after a crash processing
    # resumes from the last checkpoint, so a record already processed is not
    # delivered again and none is skipped (at-least-once: only the batch in
    # flight may come twice). The mapping itself is durable too.
    server = server_factory()
    ddb, lam = server.client("dynamodb"), server.lambda_
    arn = make_table(ddb, tname, view="KEYS_ONLY")["LatestStreamArn"]
    sink = make_table(ddb, tname + "-sink", view=None, key="seq")["TableName"]
    fn = f"sink-{uuid.uuid4().hex[:6]}"
    server.create_function(fn, {"app.py": SINK}, Timeout=30, Environment={"Variables": {"SINK": sink}})
    m = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=fn,
                                        StartingPosition="TRIM_HORIZON", BatchSize=1)

    def deliveries(client):
        items = client.scan(TableName=sink, ConsistentRead=True)["Items"]
        return {i["id"]["S"]: int(i["deliveries"]["N"]) for i in items}

    ddb.put_item(TableName=tname, Item={"id": s("A")})
    wait_until(lambda: "A" in deliveries(ddb), what="A delivered")
    # B is read only after A's checkpoint was synced (one batch at a time).
    ddb.put_item(TableName=tname, Item={"id": s("B")})
    wait_until(lambda: "B" in deliveries(ddb), what="B delivered")
    server.kill9()
    server.start()
    ddb, lam = server.client("dynamodb"), server.lambda_
    got = lam.get_event_source_mapping(UUID=m["UUID"])
    assert got["State"] == "Enabled" and got["EventSourceArn"] == arn
    ddb.put_item(TableName=tname, Item={"id": s("C")})
    counts = wait_until(lambda: (d := deliveries(ddb)) and "C" in d and d, what="C delivered after restart")
    assert counts["A"] == 1, counts
    assert counts["B"] >= 1 and counts["C"] >= 1, counts


def test_get_list_update_delete(nimbus, ddb, tname, fname):
    # AWS: Get/List answer the mapping (State Enabled / Disabled); Update
    # answers Updating, or Disabling / Enabling when Enabled changes, and a
    # disabled mapping delivers nothing until enabled again; Delete answers
    # Deleting and the mapping is gone (ResourceNotFoundException).
    lam = nimbus.lambda_
    arn = make_table(ddb, tname, view="KEYS_ONLY")["LatestStreamArn"]
    nimbus.create_function(fname, {"app.py": RECORDER}, Timeout=30)
    m = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=fname, StartingPosition="LATEST",
                                        MaximumRetryAttempts=5, BisectBatchOnFunctionError=True,
                                        MaximumRecordAgeInSeconds=3600,
                                        FunctionResponseTypes=["ReportBatchItemFailures"])
    got = lam.get_event_source_mapping(UUID=m["UUID"])
    assert got["State"] == "Enabled" and got["StateTransitionReason"] == "User action"
    assert got["LastProcessingResult"] == "No records processed"
    assert (got["BatchSize"], got["MaximumRetryAttempts"], got["MaximumRecordAgeInSeconds"]) == (100, 5, 3600)
    assert got["BisectBatchOnFunctionError"] is True
    assert got["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert got["StartingPosition"] == "LATEST" and got["ParallelizationFactor"] == 1
    assert got["LastModified"].year >= 2024
    listed = lam.list_event_source_mappings(FunctionName=fname)["EventSourceMappings"]
    assert [x["UUID"] for x in listed] == [m["UUID"]]
    assert [x["UUID"] for x in lam.list_event_source_mappings(EventSourceArn=arn)["EventSourceMappings"]] == [m["UUID"]]

    up = lam.update_event_source_mapping(UUID=m["UUID"], Enabled=False, BatchSize=50)
    assert up["State"] == "Disabling" and up["BatchSize"] == 50
    assert lam.get_event_source_mapping(UUID=m["UUID"])["State"] == "Disabled"
    ddb.put_item(TableName=tname, Item={"id": s("while-disabled")})
    time.sleep(1.0)  # four idle polls' time: a running poller would have delivered it
    assert received(nimbus, fname) == []
    up = lam.update_event_source_mapping(UUID=m["UUID"], Enabled=True)
    assert up["State"] == "Enabling"
    assert wait_received(nimbus, fname, [1]) == [("INSERT", "while-disabled")]
    assert lam.update_event_source_mapping(UUID=m["UUID"], MaximumBatchingWindowInSeconds=1)["State"] == "Updating"

    gone = lam.delete_event_source_mapping(UUID=m["UUID"])
    assert gone["State"] == "Deleting" and gone["UUID"] == m["UUID"]
    assert error_of(lam.get_event_source_mapping, UUID=m["UUID"])[0] == "ResourceNotFoundException"
    assert lam.list_event_source_mappings(FunctionName=fname)["EventSourceMappings"] == []


def test_deleted_function_leaves_a_failing_mapping(nimbus, ddb, tname, fname):
    # AWS: deleting the function does not delete its mappings; their
    # invocations fail (LastProcessingResult PROBLEM) and they can still be
    # read and deleted.
    lam = nimbus.lambda_
    arn = make_table(ddb, tname, view="KEYS_ONLY")["LatestStreamArn"]
    nimbus.create_function(fname, {"app.py": RECORDER}, Timeout=30)
    m = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=fname, StartingPosition="LATEST")
    lam.delete_function(FunctionName=fname)
    ddb.put_item(TableName=tname, Item={"id": s("orphan")})
    wait_until(lambda: lam.get_event_source_mapping(UUID=m["UUID"])["LastProcessingResult"].startswith("PROBLEM"),
               what="a failing invoke")
    assert lam.delete_event_source_mapping(UUID=m["UUID"])["State"] == "Deleting"


def test_errors(nimbus, ddb, tname, fname):
    # AWS's answers: an unknown function is ResourceNotFoundException; a
    # table ARN (not its stream), a stream that does not exist, a missing
    # StartingPosition, AT_TIMESTAMP (Kinesis only) and a BatchSize beyond
    # 10000 are InvalidParameterValueException; parameters Nimbus does not
    # implement are refused by name; a second mapping of the same stream and
    # function is ResourceConflictException; unknown UUIDs are
    # ResourceNotFoundException for Get, Update and Delete.
    lam = nimbus.lambda_
    t = make_table(ddb, tname)
    arn = t["LatestStreamArn"]
    nimbus.create_function(fname, {"app.py": RECORDER}, Timeout=30)
    create = lam.create_event_source_mapping
    base = {"EventSourceArn": arn, "FunctionName": fname, "StartingPosition": "LATEST"}
    assert error_of(create, **{**base, "FunctionName": fname + "-missing"})[0] == "ResourceNotFoundException"
    assert error_of(create, **{**base, "EventSourceArn": t["TableArn"]})[0] == "InvalidParameterValueException"
    code, msg = error_of(create, **{**base, "EventSourceArn": t["TableArn"] + "/stream/2000-01-01T00:00:00.000"})
    assert code == "InvalidParameterValueException" and "Cannot access stream" in msg
    no_position = dict(base)
    del no_position["StartingPosition"]
    code, msg = error_of(create, **no_position)
    assert code == "InvalidParameterValueException" and "StartingPosition" in msg
    code, msg = error_of(create, **{**base, "StartingPosition": "AT_TIMESTAMP", "StartingPositionTimestamp": 1700000000})
    assert code == "InvalidParameterValueException" and "AT_TIMESTAMP" in msg
    assert error_of(create, **{**base, "BatchSize": 10001})[0] == "InvalidParameterValueException"
    for extra in ({"FilterCriteria": {"Filters": [{"Pattern": json.dumps({"eventName": ["INSERT"]})}]}},
                  {"DestinationConfig": {"OnFailure": {"Destination": "arn:aws:sqs:us-east-1:000000000000:dlq"}}},
                  {"TumblingWindowInSeconds": 30}, {"ParallelizationFactor": 2}):
        code, msg = error_of(create, **{**base, **extra})
        assert code == "InvalidParameterValueException" and next(iter(extra)) in msg, (extra, msg)
    m = create(**base)
    code, msg = error_of(create, **{**base, "StartingPosition": "TRIM_HORIZON"})
    assert code == "ResourceConflictException" and m["UUID"] in msg
    missing = str(uuid.uuid4())
    assert error_of(lam.get_event_source_mapping, UUID=missing)[0] == "ResourceNotFoundException"
    assert error_of(lam.update_event_source_mapping, UUID=missing, BatchSize=5)[0] == "ResourceNotFoundException"
    assert error_of(lam.delete_event_source_mapping, UUID=missing)[0] == "ResourceNotFoundException"
    assert error_of(lam.update_event_source_mapping, UUID=m["UUID"],
                    FilterCriteria={"Filters": [{"Pattern": "{}"}]})[0] == "InvalidParameterValueException"
    lam.delete_event_source_mapping(UUID=m["UUID"])


def test_aws_cli_lists_mappings(nimbus, ddb, tname, fname):
    # The AWS CLI's list-event-source-mappings reads Nimbus's answer as AWS's.
    arn = make_table(ddb, tname, view="KEYS_ONLY")["LatestStreamArn"]
    nimbus.create_function(fname, {"app.py": RECORDER}, Timeout=30)
    m = nimbus.lambda_.create_event_source_mapping(EventSourceArn=arn, FunctionName=fname,
                                                   StartingPosition="TRIM_HORIZON")
    out = nimbus.cli("lambda", "list-event-source-mappings", "--function-name", fname)
    assert [(x["UUID"], x["EventSourceArn"], x["State"]) for x in out["EventSourceMappings"]] == \
        [(m["UUID"], arn, "Enabled")]
    nimbus.lambda_.delete_event_source_mapping(UUID=m["UUID"])
