"""DynamoDB's legacy (pre-expression) parameters with boto3's client and the
AWS CLI: Expected and ConditionalOperator, AttributeUpdates, KeyConditions,
QueryFilter, ScanFilter and AttributesToGet, what they mean on items, and
DynamoDB's refusals when they are misused or mixed with expressions."""
import json
import uuid

import pytest
from botocore.exceptions import ClientError


@pytest.fixture
def ddb(nimbus):
    return nimbus.client("dynamodb")


@pytest.fixture
def raw(nimbus):
    """A client that sends what botocore itself would refuse, to see the server's answer."""
    return nimbus.client("dynamodb", parameter_validation=False)


@pytest.fixture
def tname(request):
    base = "".join(c if c.isalnum() else "-" for c in request.node.name)[:40]
    return f"{base}-{uuid.uuid4().hex[:6]}"


def make_table(ddb, name, hash_key=("id", "S"), range_key=None):
    attrs = [{"AttributeName": hash_key[0], "AttributeType": hash_key[1]}]
    schema = [{"AttributeName": hash_key[0], "KeyType": "HASH"}]
    if range_key:
        attrs.append({"AttributeName": range_key[0], "AttributeType": range_key[1]})
        schema.append({"AttributeName": range_key[0], "KeyType": "RANGE"})
    ddb.create_table(TableName=name, AttributeDefinitions=attrs, KeySchema=schema,
                     BillingMode="PAY_PER_REQUEST")
    return name


def error_of(exc_info):
    e = exc_info.value.response
    return e["Error"]["Code"], e["ResponseMetadata"]["HTTPStatusCode"], e["Error"]["Message"]


def validation_message(call, **kw):
    with pytest.raises(ClientError) as e:
        call(**kw)
    code, status, message = error_of(e)
    assert (code, status) == ("ValidationException", 400), message
    return message


def condition_fails(call, **kw):
    with pytest.raises(ClientError) as e:
        call(**kw)
    assert error_of(e) == ("ConditionalCheckFailedException", 400, "The conditional request failed")


def cond(op, *values):
    return {"ComparisonOperator": op, "AttributeValueList": list(values)}


S = lambda s: {"S": s}  # noqa: E731
N = lambda n: {"N": str(n)}  # noqa: E731

INVALID = "One or more parameter values were invalid: "
MIX = "Can not use both expression and non-expression parameters in the same request: "


# ---------------------------------------------------------------------------
# Expected on PutItem, UpdateItem, DeleteItem.

def test_expected_exists_false_guards_against_overwrite(ddb, tname):
    # {Exists: false} is "the attribute must not exist": on the key attribute,
    # PutItem creates the item only once; the second put fails and changes nothing.
    make_table(ddb, tname)
    item = {"id": S("a"), "v": N(1)}
    ddb.put_item(TableName=tname, Item=item, Expected={"id": {"Exists": False}})
    condition_fails(ddb.put_item, TableName=tname, Item={"id": S("a"), "v": N(2)},
                    Expected={"id": {"Exists": False}})
    assert ddb.get_item(TableName=tname, Key={"id": S("a")})["Item"] == item


def test_expected_value_is_equality(ddb, tname):
    # {Value: v} and {Exists: true, Value: v} hold when the attribute equals v
    # (numbers numerically); a different value, another type or a missing
    # attribute fail the write.
    make_table(ddb, tname)
    ddb.put_item(TableName=tname, Item={"id": S("a"), "v": N(1)})
    ddb.put_item(TableName=tname, Item={"id": S("a"), "v": N(2)}, Expected={"v": {"Value": N("1.0")}})
    ddb.put_item(TableName=tname, Item={"id": S("a"), "v": N(3)},
                 Expected={"v": {"Exists": True, "Value": N(2)}})
    for expected in ({"v": {"Value": N(2)}}, {"v": {"Value": S("3")}}, {"w": {"Value": N(3)}}):
        condition_fails(ddb.put_item, TableName=tname, Item={"id": S("a"), "v": N(9)}, Expected=expected)
    assert ddb.get_item(TableName=tname, Key={"id": S("a")})["Item"]["v"] == N(3)


@pytest.mark.parametrize("attr,condition,holds", [
    # NE holds for another value, another type and a missing attribute.
    ("n", cond("NE", N(10)), False),
    ("n", cond("NE", N(11)), True),
    ("n", cond("NE", S("10")), True),
    ("missing", cond("NE", N(10)), True),
    # Ordering compares only like types; a missing attribute never compares.
    ("n", cond("LE", N(10)), True),
    ("n", cond("LT", N(10)), False),
    ("n", cond("GT", S("1")), False),
    ("missing", cond("GE", N(0)), False),
    # NULL / NOT_NULL test existence, not the NULL type.
    ("nul", cond("NOT_NULL"), True),
    ("nul", cond("NULL"), False),
    ("missing", cond("NULL"), True),
    # CONTAINS: substring of a string, member of a set or list.
    ("s", cond("CONTAINS", S("ell")), True),
    ("ns", cond("CONTAINS", N(4)), True),
    ("l", cond("CONTAINS", S("x")), True),
    ("missing", cond("CONTAINS", S("x")), False),
    # NOT_CONTAINS holds on an existing attribute without the value, even of
    # another type, but fails on a missing attribute (unlike NE).
    ("s", cond("NOT_CONTAINS", S("dog")), True),
    ("ns", cond("NOT_CONTAINS", N(4)), False),
    ("s", cond("NOT_CONTAINS", N(1)), True),
    ("missing", cond("NOT_CONTAINS", N(1)), False),
    # BEGINS_WITH on strings (and binary); a number attribute does not begin with "1".
    ("s", cond("BEGINS_WITH", S("hel")), True),
    ("n", cond("BEGINS_WITH", S("1")), False),
    # IN: the attribute is one of the values (a set attribute is never IN).
    ("n", cond("IN", N(3), N(10)), True),
    ("ns", cond("IN", N(2), N(4), N(7)), False),
    ("missing", cond("IN", N(10)), False),
    # BETWEEN is inclusive at both ends.
    ("n", cond("BETWEEN", N(10), N(20)), True),
    ("n", cond("BETWEEN", N(11), N(20)), False),
])
def test_expected_comparison_operators(ddb, tname, attr, condition, holds):
    # Each ComparisonOperator of Expected, on an item with a number, a string,
    # a number set, a list and a NULL attribute, as DynamoDB documents it
    # (and as it behaves for a missing attribute).
    make_table(ddb, tname)
    item = {"id": S("a"), "n": N(10), "s": S("hello"), "ns": {"NS": ["2", "4", "7"]},
            "l": {"L": [S("x"), N(1)]}, "nul": {"NULL": True}}
    ddb.put_item(TableName=tname, Item=item)
    kw = dict(TableName=tname, Key={"id": S("a")},
              AttributeUpdates={"seen": {"Action": "PUT", "Value": N(1)}}, Expected={attr: condition})
    if holds:
        ddb.update_item(**kw)
        assert ddb.get_item(TableName=tname, Key={"id": S("a")})["Item"]["seen"] == N(1)
    else:
        condition_fails(ddb.update_item, **kw)
        assert "seen" not in ddb.get_item(TableName=tname, Key={"id": S("a")})["Item"]


def test_expected_conditional_operator_and_delete_item(ddb, tname):
    # Several Expected entries must all hold (AND, the default), or one of
    # them with ConditionalOperator OR; DeleteItem takes Expected as PutItem does.
    make_table(ddb, tname)
    ddb.put_item(TableName=tname, Item={"id": S("a"), "x": N(1), "y": N(2)})
    expected = {"x": {"Value": N(1)}, "y": {"Value": N(99)}}
    condition_fails(ddb.delete_item, TableName=tname, Key={"id": S("a")}, Expected=expected)
    condition_fails(ddb.delete_item, TableName=tname, Key={"id": S("a")}, Expected=expected,
                    ConditionalOperator="AND")
    r = ddb.delete_item(TableName=tname, Key={"id": S("a")}, Expected=expected,
                        ConditionalOperator="OR", ReturnValues="ALL_OLD")
    assert r["Attributes"] == {"id": S("a"), "x": N(1), "y": N(2)}
    assert "Item" not in ddb.get_item(TableName=tname, Key={"id": S("a")})


def test_expected_on_reserved_and_dotted_attribute_names(ddb, tname):
    # Legacy parameters name top-level attributes only: a reserved word
    # ("size") and a name with a dot ("a.b") are plain attribute names.
    make_table(ddb, tname)
    ddb.put_item(TableName=tname, Item={"id": S("a"), "size": N(5), "a.b": S("dot"), "a": {"M": {"b": S("map")}}})
    ddb.put_item(TableName=tname, Item={"id": S("a"), "size": N(6)},
                 Expected={"size": {"Value": N(5)}, "a.b": {"Value": S("dot")}})
    condition_fails(ddb.put_item, TableName=tname, Item={"id": S("a")}, Expected={"a.b": {"Value": S("map")}})


def test_expected_validation_messages(raw, tname):
    # DynamoDB's ValidationException texts for a malformed Expected entry.
    make_table(raw, tname)

    def put(expected, **kw):
        return validation_message(raw.put_item, TableName=tname, Item={"id": S("a")}, Expected=expected, **kw)

    assert put({"v": {}}) == INVALID + "Value must be provided when Exists is null for Attribute: v"
    assert put({"v": {"Exists": True}}) == INVALID + "Value must be provided when Exists is true for Attribute: v"
    assert put({"v": {"Exists": False, "Value": N(1)}}) == \
        INVALID + "Value cannot be used when Exists is false for Attribute: v"
    assert put({"v": {"ComparisonOperator": "EQ", "AttributeValueList": [N(1)], "Value": N(1)}}) == \
        INVALID + "Value and AttributeValueList cannot be used together for Attribute: v"
    assert put({"v": {"Exists": True, "ComparisonOperator": "EQ", "AttributeValueList": [N(1)]}}) == \
        INVALID + "Exists and ComparisonOperator cannot be used together for Attribute: v"
    assert put({"v": {"ComparisonOperator": "LT"}}) == \
        INVALID + "Value or AttributeValueList must be used with ComparisonOperator: LT for Attribute: v"
    assert put({"v": cond("EQ", N(1), N(2))}) == INVALID + "Invalid number of argument(s) for the EQ ComparisonOperator"
    assert put({"v": cond("IN")}) == INVALID + "Invalid number of argument(s) for the IN ComparisonOperator"
    assert put({"v": cond("IN", N(1), S("a"))}) == \
        INVALID + "AttributeValues inside AttributeValueList must be of same type"
    assert put({"v": cond("BEGINS_WITH", N(1))}) == \
        INVALID + "ComparisonOperator BEGINS_WITH is not valid for N AttributeValue type"
    assert put({"v": cond("CONTAINS", {"L": [N(1)]})}) == \
        INVALID + "ComparisonOperator CONTAINS is not valid for L AttributeValue type"
    assert put({"v": cond("BETWEEN", N(5), N(1))}) == \
        "The BETWEEN condition was provided a range where the lower bound is greater than the upper bound"
    assert put({"v": {"Value": N(1)}}, ConditionalOperator="OR") == \
        "ConditionalOperator can only be used when Filter or Expected has two or more elements"
    assert raw.scan(TableName=tname)["Count"] == 0


# ---------------------------------------------------------------------------
# AttributeUpdates on UpdateItem.

def test_attribute_updates_actions(ddb, tname):
    # PUT replaces or adds, DELETE without a value removes the attribute,
    # DELETE with a set subtracts members, ADD adds to a number (a missing
    # one starts at 0), unions a set, and appends to a list.
    make_table(ddb, tname)
    key = {"id": S("u")}
    ddb.put_item(TableName=tname, Item={"id": S("u"), "gone": S("x"), "n": N(5),
                                        "tags": {"SS": ["a", "b", "c"]}, "l": {"L": [S("x")]}})
    r = ddb.update_item(TableName=tname, Key=key, ReturnValues="ALL_NEW", AttributeUpdates={
        "name": {"Action": "PUT", "Value": S("new")},
        "gone": {"Action": "DELETE"},
        "tags": {"Action": "DELETE", "Value": {"SS": ["a", "c", "zzz"]}},
        "n": {"Action": "ADD", "Value": N(-2)},
        "count": {"Action": "ADD", "Value": N(3)},
        "nums": {"Action": "ADD", "Value": {"NS": ["1", "2"]}},
        "l": {"Action": "ADD", "Value": {"L": [S("y")]}},
    })
    attrs = r["Attributes"]
    assert attrs["name"] == S("new") and "gone" not in attrs
    assert attrs["tags"] == {"SS": ["b"]}
    assert attrs["n"] == N(3) and attrs["count"] == N(3)
    assert sorted(attrs["nums"]["NS"]) == ["1", "2"]
    assert attrs["l"] == {"L": [S("x"), S("y")]}
    # PUT is the default Action; UPDATED_NEW returns what the actions touched.
    r = ddb.update_item(TableName=tname, Key=key, AttributeUpdates={"name": {"Value": S("newer")}},
                        ReturnValues="UPDATED_NEW")
    assert r["Attributes"] == {"name": S("newer")}


def test_attribute_updates_on_a_missing_item(ddb, tname):
    # On a missing item PUT and ADD create it with its key; DELETE has nothing
    # to delete; ADD of a list starts from an empty list.
    make_table(ddb, tname)
    ddb.update_item(TableName=tname, Key={"id": S("n")}, AttributeUpdates={
        "c": {"Action": "ADD", "Value": N(1)},
        "l": {"Action": "ADD", "Value": {"L": [N(1)]}},
        "x": {"Action": "DELETE"},
    })
    assert ddb.get_item(TableName=tname, Key={"id": S("n")})["Item"] == \
        {"id": S("n"), "c": N(1), "l": {"L": [N(1)]}}


def test_attribute_updates_with_expected(ddb, tname):
    # Expected guards AttributeUpdates as ConditionExpression guards an
    # UpdateExpression: a failed condition updates nothing.
    make_table(ddb, tname)
    ddb.put_item(TableName=tname, Item={"id": S("a"), "version": N(1)})
    ddb.update_item(TableName=tname, Key={"id": S("a")},
                    AttributeUpdates={"version": {"Action": "ADD", "Value": N(1)}},
                    Expected={"version": {"Value": N(1)}})
    condition_fails(ddb.update_item, TableName=tname, Key={"id": S("a")},
                    AttributeUpdates={"version": {"Action": "ADD", "Value": N(1)}},
                    Expected={"version": {"Value": N(1)}})
    assert ddb.get_item(TableName=tname, Key={"id": S("a")})["Item"]["version"] == N(2)


def test_attribute_updates_validation(raw, tname):
    # DynamoDB's texts for an action its value does not fit, and a key
    # attribute cannot be updated.
    make_table(raw, tname)

    def update(updates):
        return validation_message(raw.update_item, TableName=tname, Key={"id": S("a")}, AttributeUpdates=updates)

    assert update({"x": {"Action": "PUT"}}) == \
        INVALID + "Only DELETE action is allowed when no attribute value is specified"
    assert update({"x": {"Action": "DELETE", "Value": S("v")}}) == \
        INVALID + "DELETE action with value is not supported for the type S"
    assert update({"x": {"Action": "ADD", "Value": S("v")}}) == \
        INVALID + "ADD action is not supported for the type S"
    assert update({"x": {"Action": "ADD", "Value": {"SS": []}}}) == INVALID + "An string set  may not be empty"
    assert update({"id": {"Action": "PUT", "Value": S("b")}}) == \
        INVALID + "Cannot update attribute id. This attribute is part of the key"
    assert raw.scan(TableName=tname)["Count"] == 0


# ---------------------------------------------------------------------------
# Query and Scan.

@pytest.fixture
def orders(ddb, tname):
    """A hash+range table: customer c1 with orders 1..5, customer c2 with one."""
    make_table(ddb, tname, hash_key=("customer", "S"), range_key=("order", "N"))
    for i in range(1, 6):
        ddb.put_item(TableName=tname, Item={"customer": S("c1"), "order": N(i), "total": N(i * 10),
                                            "status": S("open" if i % 2 else "shipped"), "note": S(f"n{i}")})
    ddb.put_item(TableName=tname, Item={"customer": S("c2"), "order": N(1), "total": N(7)})
    return tname


def test_query_key_conditions(ddb, orders):
    # KeyConditions: EQ on the partition key, and on the sort key one of EQ,
    # LE, LT, GE, GT, BETWEEN (BEGINS_WITH for strings); items come in sort
    # key order, backwards with ScanIndexForward false.
    def orders_of(**sort_condition):
        kc = {"customer": cond("EQ", S("c1")), **sort_condition}
        return [int(i["order"]["N"]) for i in ddb.query(TableName=orders, KeyConditions=kc)["Items"]]

    assert orders_of() == [1, 2, 3, 4, 5]
    assert orders_of(order=cond("EQ", N(3))) == [3]
    assert orders_of(order=cond("LT", N(3))) == [1, 2]
    assert orders_of(order=cond("LE", N(3))) == [1, 2, 3]
    assert orders_of(order=cond("GT", N(3))) == [4, 5]
    assert orders_of(order=cond("GE", N(3))) == [3, 4, 5]
    assert orders_of(order=cond("BETWEEN", N(2), N(4))) == [2, 3, 4]
    r = ddb.query(TableName=orders, KeyConditions={"customer": cond("EQ", S("c1"))}, ScanIndexForward=False, Limit=2)
    assert [i["order"]["N"] for i in r["Items"]] == ["5", "4"] and "LastEvaluatedKey" in r


def test_query_key_conditions_validation(raw, orders):
    # Only EQ, LE, LT, GE, GT, BEGINS_WITH and BETWEEN are indexable; the
    # partition key must be there; one or two conditions only.
    p = {"customer": cond("EQ", S("c1"))}
    for op in (cond("NE", N(1)), cond("IN", N(1)), cond("NOT_NULL"), cond("CONTAINS", N(1))):
        assert validation_message(raw.query, TableName=orders, KeyConditions={**p, "order": op}) == \
            "Attempted conditional constraint is not an indexable operation"
    assert validation_message(raw.query, TableName=orders, KeyConditions={"order": cond("EQ", N(1))}) == \
        "Query condition missed key schema element: customer"
    assert validation_message(raw.query, TableName=orders, KeyConditions={}) == \
        "Conditions can be of length 1 or 2 only"
    assert validation_message(raw.query, TableName=orders,
                              KeyConditions={**p, "order": cond("BETWEEN", N(5), N(1))}) == \
        "The BETWEEN condition was provided a range where the lower bound is greater than the upper bound"


def test_query_filter_attributes_to_get_and_conditional_operator(ddb, orders):
    # QueryFilter filters after the key condition (Count after it, ScannedCount
    # before); ConditionalOperator OR joins its entries; AttributesToGet
    # returns only the attributes named, even those the filter does not read.
    r = ddb.query(TableName=orders, KeyConditions={"customer": cond("EQ", S("c1"))},
                  QueryFilter={"status": cond("EQ", S("shipped")), "total": cond("GE", N(50))},
                  ConditionalOperator="OR", AttributesToGet=["order", "note"])
    assert r["Items"] == [{"order": N(2), "note": S("n2")}, {"order": N(4), "note": S("n4")},
                          {"order": N(5), "note": S("n5")}]
    assert (r["Count"], r["ScannedCount"]) == (3, 5)
    r = ddb.query(TableName=orders, KeyConditions={"customer": cond("EQ", S("c1"))},
                  QueryFilter={"status": cond("EQ", S("shipped")), "total": cond("GE", N(50))})
    assert r["Count"] == 0
    # Select SPECIFIC_ATTRIBUTES goes with AttributesToGet; COUNT does not.
    r = ddb.query(TableName=orders, KeyConditions={"customer": cond("EQ", S("c2"))},
                  AttributesToGet=["total"], Select="SPECIFIC_ATTRIBUTES")
    assert r["Items"] == [{"total": N(7)}]
    assert validation_message(ddb.query, TableName=orders, KeyConditions={"customer": cond("EQ", S("c2"))},
                              AttributesToGet=["total"], Select="COUNT") == \
        "1 validation error detected: Cannot specify the AttributesToGet when choosing to get only the Count"


def test_query_filter_on_a_key_attribute_is_refused(raw, orders):
    # QueryFilter may not name a key attribute: the key condition is the way.
    message = validation_message(raw.query, TableName=orders, KeyConditions={"customer": cond("EQ", S("c1"))},
                                 QueryFilter={"order": cond("EQ", N(1))})
    assert "order" in message


def test_key_conditions_with_filter_expression_is_accepted(ddb, orders):
    # DynamoDB's one accepted mix: KeyConditions beside a FilterExpression and
    # ProjectionExpression (with their own names and values), as long as
    # there is no KeyConditionExpression.
    r = ddb.query(TableName=orders, KeyConditions={"customer": cond("EQ", S("c1"))},
                  FilterExpression="#s = :s", ProjectionExpression="#o",
                  ExpressionAttributeNames={"#s": "status", "#o": "order"},
                  ExpressionAttributeValues={":s": S("open")})
    assert r["Items"] == [{"order": N(1)}, {"order": N(3)}, {"order": N(5)}]


def test_scan_filter_and_attributes_to_get(ddb, orders):
    # ScanFilter filters every item of the table; AttributesToGet projects;
    # an empty ScanFilter is no filter.
    r = ddb.scan(TableName=orders, ScanFilter={"total": cond("LT", N(15))}, AttributesToGet=["customer", "total"])
    assert sorted((i["customer"]["S"], i["total"]["N"]) for i in r["Items"]) == [("c1", "10"), ("c2", "7")]
    assert r["ScannedCount"] == 6
    assert ddb.scan(TableName=orders, ScanFilter={})["Count"] == 6
    # NULL finds the items without the attribute.
    r = ddb.scan(TableName=orders, ScanFilter={"status": cond("NULL")})
    assert [i["customer"]["S"] for i in r["Items"]] == ["c2"]
    assert validation_message(ddb.scan, TableName=orders, AttributesToGet=["total"], Select="ALL_ATTRIBUTES") == \
        "Cannot specify the AttributesToGet when choosing to get ALL_ATTRIBUTES"


def test_scan_filter_with_the_aws_cli(nimbus, ddb, orders):
    # The AWS CLI's --scan-filter and --attributes-to-get reach the same
    # translation (the CLI pages through the whole scan).
    out = nimbus.cli("dynamodb", "scan", "--table-name", orders,
                     "--scan-filter", json.dumps({"status": {"ComparisonOperator": "EQ",
                                                             "AttributeValueList": [{"S": "shipped"}]}}),
                     "--attributes-to-get", "order", "status")
    assert sorted(i["order"]["N"] for i in out["Items"]) == ["2", "4"]
    assert all(set(i) == {"order", "status"} for i in out["Items"])


# ---------------------------------------------------------------------------
# GetItem and BatchGetItem.

def test_get_item_and_batch_get_item_attributes_to_get(ddb, tname):
    # AttributesToGet on GetItem and per table in BatchGetItem's RequestItems;
    # attributes the item lacks are simply absent.
    make_table(ddb, tname)
    ddb.put_item(TableName=tname, Item={"id": S("a"), "x": N(1), "size": N(2), "a.b": S("d")})
    r = ddb.get_item(TableName=tname, Key={"id": S("a")}, AttributesToGet=["size", "a.b", "missing"])
    assert r["Item"] == {"size": N(2), "a.b": S("d")}
    r = ddb.batch_get_item(RequestItems={tname: {"Keys": [{"id": S("a")}, {"id": S("zz")}],
                                                 "AttributesToGet": ["x"], "ConsistentRead": True}})
    assert r["Responses"][tname] == [{"x": N(1)}]
    assert validation_message(ddb.get_item, TableName=tname, Key={"id": S("a")}, AttributesToGet=["x", "x"]) == \
        INVALID + "Duplicate value in attribute name: x"


# ---------------------------------------------------------------------------
# The two styles in one request.

def test_mixing_legacy_and_expression_parameters_is_refused(raw, tname):
    # A request uses either style; DynamoDB lists both sides of a mix.
    make_table(raw, tname)
    key = {"id": S("a")}
    assert validation_message(raw.get_item, TableName=tname, Key=key, AttributesToGet=["x"],
                              ProjectionExpression="x") == \
        MIX + "Non-expression parameters: {AttributesToGet} Expression parameters: {ProjectionExpression}"
    assert validation_message(raw.put_item, TableName=tname, Item=key, Expected={"x": {"Exists": False}},
                              ConditionExpression="attribute_not_exists(x)") == \
        MIX + "Non-expression parameters: {Expected} Expression parameters: {ConditionExpression}"
    assert validation_message(raw.update_item, TableName=tname, Key=key,
                              AttributeUpdates={"x": {"Action": "PUT", "Value": N(1)}},
                              UpdateExpression="SET y = :v", ExpressionAttributeValues={":v": N(1)}) == \
        MIX + "Non-expression parameters: {AttributeUpdates} Expression parameters: {UpdateExpression}"
    assert validation_message(raw.scan, TableName=tname, ConditionalOperator="AND",
                              FilterExpression="x = :v", ExpressionAttributeValues={":v": N(1)}) == \
        MIX + "Non-expression parameters: {ConditionalOperator} Expression parameters: {FilterExpression}"
    assert validation_message(raw.query, TableName=tname, KeyConditions={"id": cond("EQ", S("a"))},
                              KeyConditionExpression="id = :v", ExpressionAttributeValues={":v": S("a")}) == \
        MIX + "Non-expression parameters: {KeyConditions} Expression parameters: {KeyConditionExpression}"
    assert raw.scan(TableName=tname)["Count"] == 0


def test_placeholder_maps_need_an_expression(raw, tname):
    # ExpressionAttributeNames / Values with only legacy parameters are refused.
    make_table(raw, tname)
    assert validation_message(raw.put_item, TableName=tname, Item={"id": S("a")},
                              Expected={"x": {"Exists": False}}, ExpressionAttributeNames={"#x": "x"}) == \
        "ExpressionAttributeNames can only be specified when using expressions"
    assert validation_message(raw.update_item, TableName=tname, Key={"id": S("a")},
                              AttributeUpdates={"x": {"Action": "PUT", "Value": N(1)}},
                              ExpressionAttributeValues={":v": N(1)}) == \
        "ExpressionAttributeValues can only be specified when using expressions: " \
        "UpdateExpression and ConditionExpression are null"
    assert validation_message(raw.scan, TableName=tname, ScanFilter={"x": cond("NULL")},
                              ExpressionAttributeValues={":v": N(1)}) == \
        "ExpressionAttributeValues can only be specified when using expressions: FilterExpression is null"


def test_conditional_operator_needs_two_conditions(raw, tname):
    # ConditionalOperator joins conditions: without a filter or Expected, or
    # with a single condition, DynamoDB refuses it; its values are AND and OR.
    make_table(raw, tname)
    assert validation_message(raw.scan, TableName=tname, ConditionalOperator="OR") == \
        "ConditionalOperator cannot be used without Filter or Expected"
    assert validation_message(raw.scan, TableName=tname, ConditionalOperator="OR",
                              ScanFilter={"x": cond("NULL")}) == \
        "ConditionalOperator can only be used when Filter or Expected has two or more elements"
    assert validation_message(raw.scan, TableName=tname, ConditionalOperator="XOR",
                              ScanFilter={"x": cond("NULL"), "y": cond("NULL")}) == \
        "1 validation error detected: Value 'XOR' at 'conditionalOperator' failed to satisfy constraint: " \
        "Member must satisfy enum value set: [OR, AND]"
