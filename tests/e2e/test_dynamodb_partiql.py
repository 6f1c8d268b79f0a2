"""DynamoDB's PartiQL (ExecuteStatement, BatchExecuteStatement,
ExecuteTransaction) with boto3's client and the AWS CLI: SELECT / INSERT /
UPDATE / DELETE on tables and indexes, parameters, RETURNING, paging, and
DynamoDB's error answers. Expected behaviour is DynamoDB's as documented and
as the service answers (texts pinned against the real service)."""
import json

import pytest
from botocore.exceptions import ClientError

NOT_WELL_FORMED = "Statement wasn't well formed, can't be processed: "


def error_of(exc_info):
    e = exc_info.value.response
    return e["Error"]["Code"], e["ResponseMetadata"]["HTTPStatusCode"], e["Error"]["Message"]


def s(v):
    return {"S": v}


def n(v):
    return {"N": str(v)}


def make_table(ddb, name, hash_key=("pk", "S"), range_key=None, **kw):
    attrs = [{"AttributeName": hash_key[0], "AttributeType": hash_key[1]}]
    schema = [{"AttributeName": hash_key[0], "KeyType": "HASH"}]
    if range_key:
        attrs.append({"AttributeName": range_key[0], "AttributeType": range_key[1]})
        schema.append({"AttributeName": range_key[0], "KeyType": "RANGE"})
    attrs += kw.pop("extra_attributes", [])
    kw.setdefault("BillingMode", "PAY_PER_REQUEST")
    return ddb.create_table(TableName=name, AttributeDefinitions=attrs, KeySchema=schema, **kw)


def run(ddb, statement, *parameters, **kw):
    if parameters:
        kw["Parameters"] = list(parameters)
    return ddb.execute_statement(Statement=statement, **kw)


def refused(ddb, statement, *parameters, **kw):
    with pytest.raises(ClientError) as e:
        run(ddb, statement, *parameters, **kw)
    return error_of(e)


def get(ddb, table, **key):
    return ddb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")


def test_insert_select_update_delete_round_trip(ddb, tname):
    # The four statements end to end: INSERT writes one item (every literal
    # type and `?` parameters), SELECT by key returns it in Items, UPDATE
    # changes it, DELETE removes it; writes answer an empty Items list.
    make_table(ddb, tname)
    r = run(ddb, f"""INSERT INTO "{tname}" VALUE {{'pk': ?, 'n': 1.50, 'ok': TRUE, 'none': NULL,
            'm': {{'a': [1, 'two']}}, 'ns': <<3, 1>>, 'ss': <<'x', 'y'>>, 'quote': 'it''s', 'b': ?}}""",
            s("u1"), {"B": b"\x00\x01"})
    assert r["Items"] == []
    item = get(ddb, tname, pk=s("u1"))
    assert item["n"] == n("1.5") and item["ok"] == {"BOOL": True} and item["none"] == {"NULL": True}
    assert item["m"] == {"M": {"a": {"L": [n(1), s("two")]}}} and item["quote"] == s("it's")
    assert sorted(item["ns"]["NS"]) == ["1", "3"] and sorted(item["ss"]["SS"]) == ["x", "y"]
    assert item["b"] == {"B": b"\x00\x01"}

    got = run(ddb, f'SELECT * FROM "{tname}" WHERE pk = ?', s("u1"))["Items"]
    assert got == [item]
    assert run(ddb, f"select * from \"{tname}\" where pk = 'nobody'")["Items"] == []

    r = run(ddb, f"""UPDATE "{tname}" SET n = n + 1 SET m.a = list_append(m.a, ?) REMOVE none
                     WHERE pk = 'u1'""", {"L": [n(3)]})
    assert r["Items"] == []
    item = get(ddb, tname, pk=s("u1"))
    assert item["n"] == n("2.5") and "none" not in item
    assert item["m"]["M"]["a"]["L"] == [n(1), s("two"), n(3)]

    assert run(ddb, f"DELETE FROM \"{tname}\" WHERE pk = 'u1'")["Items"] == []
    assert get(ddb, tname, pk=s("u1")) is None


def test_insert_of_an_existing_key_is_a_duplicate(ddb, tname):
    # INSERT is not an upsert: DynamoDB answers DuplicateItemException
    # ("Duplicate primary key exists in table") and keeps the first item; after
    # a DELETE the key can be inserted again.
    make_table(ddb, tname)
    run(ddb, f"INSERT INTO \"{tname}\" VALUE {{'pk': 'dup', 'v': 'first'}}")
    code, status, message = refused(ddb, f"INSERT INTO \"{tname}\" VALUE {{'pk': 'dup', 'v': 'second'}}")
    assert (code, status, message) == ("DuplicateItemException", 400, "Duplicate primary key exists in table")
    assert get(ddb, tname, pk=s("dup"))["v"] == s("first")
    run(ddb, f"DELETE FROM \"{tname}\" WHERE pk = 'dup'")
    run(ddb, f"INSERT INTO \"{tname}\" VALUE {{'pk': 'dup', 'v': 'again'}}")
    assert get(ddb, tname, pk=s("dup"))["v"] == s("again")


def test_update_needs_the_item_and_delete_of_a_missing_item_succeeds(ddb, tname):
    # UPDATE of a missing item fails with ConditionalCheckFailedException and
    # creates nothing; DELETE of a missing item is a no-op success (with
    # RETURNING ALL OLD *, an empty Items list), even with a further condition.
    make_table(ddb, tname)
    code, _, _ = refused(ddb, f"UPDATE \"{tname}\" SET a = 1 WHERE pk = 'ghost'")
    assert code == "ConditionalCheckFailedException"
    assert get(ddb, tname, pk=s("ghost")) is None
    assert run(ddb, f"DELETE FROM \"{tname}\" WHERE pk = 'ghost'")["Items"] == []
    assert run(ddb, f"DELETE FROM \"{tname}\" WHERE pk = 'ghost' AND \"name\" = 'x' RETURNING ALL OLD *")["Items"] == []


def test_non_key_conditions_of_writes_must_hold(ddb, tname):
    # A write's WHERE beyond the key is a condition on the existing item:
    # false -> ConditionalCheckFailedException and the item is untouched;
    # true -> the write happens. The full key is mandatory.
    make_table(ddb, tname)
    ddb.put_item(TableName=tname, Item={"pk": s("p"), "name": s("alpha"), "n": n(5)})
    assert refused(ddb, f"UPDATE \"{tname}\" SET n = 9 WHERE pk = 'p' AND \"name\" = 'beta'")[0] == \
        "ConditionalCheckFailedException"
    assert refused(ddb, f"DELETE FROM \"{tname}\" WHERE pk = 'p' AND NOT begins_with(\"name\", 'al')")[0] == \
        "ConditionalCheckFailedException"
    assert get(ddb, tname, pk=s("p"))["n"] == n(5)
    run(ddb, f"UPDATE \"{tname}\" SET n = 9 WHERE pk = 'p' AND \"name\" = 'alpha' AND n < 6")
    assert get(ddb, tname, pk=s("p"))["n"] == n(9)
    assert refused(ddb, f"DELETE FROM \"{tname}\" WHERE \"name\" = 'alpha'") == (
        "ValidationException", 400, "Where clause does not contain a mandatory equality on all key attributes")
    run(ddb, f"DELETE FROM \"{tname}\" WHERE pk = 'p' AND \"name\" = 'alpha'")
    assert get(ddb, tname, pk=s("p")) is None


def test_returning_clauses(ddb, tname):
    # RETURNING on UPDATE and DELETE: the item comes back in Items. ALL OLD /
    # ALL NEW are the whole item; MODIFIED OLD / NEW only the changed
    # attributes (no key), and no row at all when that projection is empty.
    # DELETE takes only ALL OLD *; INSERT takes none.
    make_table(ddb, tname)
    ddb.put_item(TableName=tname, Item={"pk": s("r"), "data": s("old"), "keep": s("same")})
    items = run(ddb, f"UPDATE \"{tname}\" SET data = 'new' WHERE pk = 'r' RETURNING ALL OLD *")["Items"]
    assert items == [{"pk": s("r"), "data": s("old"), "keep": s("same")}]
    items = run(ddb, f"UPDATE \"{tname}\" SET data = 'newer' WHERE pk = 'r' RETURNING MODIFIED OLD *")["Items"]
    assert items == [{"data": s("new")}]
    items = run(ddb, f"UPDATE \"{tname}\" SET data = 'newest' WHERE pk = 'r' RETURNING MODIFIED NEW *")["Items"]
    assert items == [{"data": s("newest")}]
    items = run(ddb, f"UPDATE \"{tname}\" SET extra = 1 WHERE pk = 'r' RETURNING ALL NEW *")["Items"]
    assert items == [{"pk": s("r"), "data": s("newest"), "keep": s("same"), "extra": n(1)}]
    assert run(ddb, f"UPDATE \"{tname}\" REMOVE extra WHERE pk = 'r' RETURNING MODIFIED NEW *")["Items"] == []
    assert run(ddb, f"UPDATE \"{tname}\" SET fresh = 1 WHERE pk = 'r' RETURNING MODIFIED OLD *")["Items"] == []
    assert refused(ddb, f"DELETE FROM \"{tname}\" WHERE pk = 'r' RETURNING MODIFIED OLD *") == (
        "ValidationException", 400,
        "Invalid returning clause: RETURNING MODIFIED OLD *. Only RETURNING ALL OLD * is allowed in DELETE statements.")
    assert refused(ddb, f"INSERT INTO \"{tname}\" VALUE {{'pk': 'z'}} RETURNING ALL OLD *")[2] == \
        "RETURNING is not supported in INSERT"
    items = run(ddb, f"DELETE FROM \"{tname}\" WHERE pk = 'r' RETURNING ALL OLD *")["Items"]
    assert items == [{"pk": s("r"), "data": s("newest"), "keep": s("same"), "fresh": n(1)}]


def test_set_functions_on_sets(ddb, tname):
    # set_add / set_delete add and remove set members (UpdateItem's ADD and
    # DELETE); the first argument must be the assigned path.
    make_table(ddb, tname)
    ddb.put_item(TableName=tname, Item={"pk": s("s"), "tags": {"SS": ["a"]}, "nums": {"NS": ["1", "2"]}})
    run(ddb, f"UPDATE \"{tname}\" SET tags = set_add(tags, <<'b', 'c'>>) SET nums = set_delete(nums, <<1>>) WHERE pk = 's'")
    item = get(ddb, tname, pk=s("s"))
    assert sorted(item["tags"]["SS"]) == ["a", "b", "c"] and item["nums"] == {"NS": ["2"]}
    statement = f"UPDATE \"{tname}\" SET other = set_add(tags, <<'x'>>) WHERE pk = 's'"
    code, _, message = refused(ddb, statement)
    column = statement.index("set_add") + 1
    assert (code, message) == ("ValidationException",
                               f"The first argument to SET_ADD must equal the assignment value at 1:{column}:7")


def test_select_plans_query_scan_order_and_projection(ddb, tname):
    # SELECT reads one partition when the WHERE has partition-key equality
    # (with sort-key conditions and ORDER BY the sort key), scans otherwise,
    # and names projected document paths by their last component.
    make_table(ddb, tname, range_key=("sk", "N"))
    for p in ("a", "b"):
        for i in range(1, 6):
            ddb.put_item(TableName=tname, Item={
                "pk": s(p), "sk": n(i), "even": {"BOOL": i % 2 == 0},
                "m": {"M": {"k": s(f"{p}{i}")}}, "l": {"L": [n(i * 10), n(i * 100)]}})

    def sks(items):
        return [int(i["sk"]["N"]) for i in items]

    t = f'"{tname}"'
    assert sks(run(ddb, f"SELECT * FROM {t} WHERE pk = 'a'")["Items"]) == [1, 2, 3, 4, 5]
    assert sks(run(ddb, f"SELECT * FROM {t} WHERE pk = 'a' ORDER BY sk DESC")["Items"]) == [5, 4, 3, 2, 1]
    assert sks(run(ddb, f"SELECT * FROM {t} WHERE pk = 'a' AND sk > 3")["Items"]) == [4, 5]
    assert sks(run(ddb, f"SELECT * FROM {t} WHERE pk = 'a' AND sk BETWEEN 2 AND 4 ORDER BY sk DESC")["Items"]) == [4, 3, 2]
    assert sks(run(ddb, f"SELECT * FROM {t} WHERE pk = ? AND even = ?", s("b"), {"BOOL": True})["Items"]) == [2, 4]
    scanned = run(ddb, f"SELECT * FROM {t} WHERE sk = 3 OR m.k = 'b5'")["Items"]
    assert sorted((i["pk"]["S"], int(i["sk"]["N"])) for i in scanned) == [("a", 3), ("b", 3), ("b", 5)]
    assert len(run(ddb, f"SELECT * FROM {t} WHERE pk IN ['a', 'b'] AND sk = 1")["Items"]) == 2
    rows = run(ddb, f"SELECT sk, m.k, l[1] FROM {t} WHERE pk = 'a' AND sk = 2")["Items"]
    assert rows == [{"sk": n(2), "k": s("a2"), "l[1]": n(200)}]
    assert run(ddb, f"SELECT absent FROM {t} WHERE pk = 'a' AND sk = 2")["Items"] == [{}]
    assert len(run(ddb, f"SELECT * FROM {t} WHERE m.k IS NOT MISSING AND size(l) = 2")["Items"]) == 10
    assert refused(ddb, f"SELECT * FROM {t} ORDER BY sk")[2] == \
        "Must have WHERE clause in the statement when using ORDER BY clause."


def test_select_pages_with_limit_and_next_token(ddb, tname):
    # Limit bounds the items read per page; NextToken continues the read until
    # every item was returned exactly once.
    make_table(ddb, tname)
    for i in range(7):
        ddb.put_item(TableName=tname, Item={"pk": s(f"k{i}"), "v": n(i)})
    seen, token, pages = [], None, 0
    while True:
        kw = {"Limit": 3}
        if token:
            kw["NextToken"] = token
        r = run(ddb, f'SELECT * FROM "{tname}"', **kw)
        assert len(r["Items"]) <= 3
        seen += [i["pk"]["S"] for i in r["Items"]]
        pages += 1
        token = r.get("NextToken")
        if not token:
            break
    assert sorted(seen) == [f"k{i}" for i in range(7)] and pages >= 3


def test_select_from_a_global_secondary_index(ddb, tname):
    # "table"."index" reads through the index, by the index's key.
    make_table(ddb, tname, extra_attributes=[{"AttributeName": "genre", "AttributeType": "S"},
                                             {"AttributeName": "year", "AttributeType": "N"}],
               GlobalSecondaryIndexes=[{
                   "IndexName": "by-genre",
                   "KeySchema": [{"AttributeName": "genre", "KeyType": "HASH"},
                                 {"AttributeName": "year", "KeyType": "RANGE"}],
                   "Projection": {"ProjectionType": "ALL"}}])
    for i, (genre, year) in enumerate([("rock", 1990), ("rock", 1975), ("jazz", 1960), ("rock", 2001)]):
        ddb.put_item(TableName=tname, Item={"pk": s(f"song{i}"), "genre": s(genre), "year": n(year)})
    items = run(ddb, f"SELECT * FROM \"{tname}\".\"by-genre\" WHERE genre = 'rock' AND year > 1980 ORDER BY year DESC")["Items"]
    assert [int(i["year"]["N"]) for i in items] == [2001, 1990]
    code, _, message = refused(ddb, f"SELECT * FROM \"{tname}\".\"nope\"")
    assert code == "ValidationException" and "nope" in message
    assert refused(ddb, f"DELETE FROM \"{tname}\".\"by-genre\" WHERE genre = 'rock'")[2] == \
        "This operation is not supported on an index"


def test_statement_errors(ddb, tname):
    # DynamoDB's answers to statements it cannot run: malformed text, a wrong
    # number of parameters, an unknown table, refused constructs.
    make_table(ddb, tname)
    t = f'"{tname}"'
    assert refused(ddb, f"SELECT * FROM {t} WHERE pk = 'x' foo") == (
        "ValidationException", 400, NOT_WELL_FORMED + "Unexpected token after expression")
    assert refused(ddb, f"SELECT * FROM {t} WHERE")[2] == NOT_WELL_FORMED + "Unexpected term"
    assert refused(ddb, f"SELECT * FROM {t} WHERE pk = 'p1' AND")[2] == \
        NOT_WELL_FORMED + "Missing right-hand side expression of infix operator"
    assert refused(ddb, f"SELECT * FROM {t} WHERE pk = 'unterminated")[2] == NOT_WELL_FORMED
    assert refused(ddb, f"SELECT * FROM {t} WHERE pk = ?")[2] == \
        "Number of parameters in request and statement don't match."
    assert refused(ddb, f"SELECT * FROM {t} WHERE pk = ?", s("a"), s("b"))[2] == \
        "Number of parameters in request and statement don't match."
    assert refused(ddb, 'SELECT * FROM "no-such-table-partiql"') == (
        "ResourceNotFoundException", 400, "Requested resource not found")
    assert refused(ddb, f"SELECT * FROM {t} x WHERE pk = 'a'")[2] == "Aliasing is not supported"
    assert refused(ddb, f"SELECT * FROM {t} WHERE pk = 'a' LIMIT 1")[2] == "Unsupported clause: LIMIT"
    assert refused(ddb, f"UPDATE {t} SET pk = 'b' WHERE pk = 'a'")[0] == "ValidationException"
    assert refused(ddb, f"SELECT * FROM {t} WHERE pk = 1")[2] == \
        "Key attribute's data type should match its data type in table's schema: Key pk"
    statement = f"SELECT * FROM {t} WHERE pk = 'a' AND EXISTS(x)"
    assert refused(ddb, statement)[2] == \
        f"Unrecognized function: exists at 1:{statement.index('EXISTS') + 1}:6"
    assert refused(ddb, f"EXISTS(SELECT * FROM {t} WHERE pk = 'a' AND x IS MISSING)")[2] == \
        "EXISTS can only be used in ExecuteTransaction write requests."


def test_batch_execute_statement(ddb, tname):
    # BatchExecuteStatement runs each statement on its own: one Response per
    # statement in order, a failed statement carries Error {Code, Message}
    # (ValidationError, DuplicateItem, ConditionalCheckFailed ...) while the
    # others still run; reads must name the full primary key.
    make_table(ddb, tname)
    ddb.put_item(TableName=tname, Item={"pk": s("old"), "v": n(1)})
    t = f'"{tname}"'
    r = ddb.batch_execute_statement(Statements=[
        {"Statement": f"INSERT INTO {t} VALUE {{'pk': ?, 'v': 2}}", "Parameters": [s("new")]},
        {"Statement": f"INSERT INTO {t} VALUE {{'pk': 'old'}}"},
        {"Statement": f"UPDATE {t} SET v = v + 10 WHERE pk = 'old'"},
        {"Statement": f"UPDATE {t} SET v = 0 WHERE pk = 'missing'"},
        {"Statement": f"SLECT * FROM {t}"},
    ])["Responses"]
    assert len(r) == 5
    assert "Error" not in r[0] and "Error" not in r[2]
    assert r[1]["Error"]["Code"] == "DuplicateItem"
    assert r[3]["Error"]["Code"] == "ConditionalCheckFailed"
    assert r[4]["Error"] == {"Code": "ValidationError", "Message": NOT_WELL_FORMED + "Expected data manipulation"}
    assert get(ddb, tname, pk=s("new"))["v"] == n(2) and get(ddb, tname, pk=s("old"))["v"] == n(11)

    r = ddb.batch_execute_statement(Statements=[
        {"Statement": f"SELECT * FROM {t} WHERE pk = ?", "Parameters": [s("old")]},
        {"Statement": f"SELECT v FROM {t} WHERE pk = 'new'", "ConsistentRead": True},
        {"Statement": f"SELECT * FROM {t} WHERE pk = 'absent'"},
        {"Statement": f"SELECT * FROM {t} WHERE v = 2"},
        {"Statement": 'SELECT * FROM "no-such-table-partiql" WHERE pk = \'x\''},
    ])["Responses"]
    assert r[0]["Item"] == {"pk": s("old"), "v": n(11)} and r[0]["TableName"] == tname
    assert r[1]["Item"] == {"v": n(2)}
    assert "Item" not in r[2] and "Error" not in r[2]
    assert r[3]["Error"] == {"Code": "ValidationError", "Message":
                             "Select statements within BatchExecuteStatement must specify the primary key in the where clause."}
    assert r[4]["Error"]["Code"] == "ResourceNotFound"


def test_execute_transaction(ddb, tname):
    # ExecuteTransaction runs all statements or none: a failed statement
    # cancels the transaction (TransactionCanceledException with a reason per
    # statement) and nothing is written; EXISTS(...) is a condition check;
    # reads return one Response per statement; RETURNING and reads mixed with
    # writes are refused. (As in TransactWriteItems, one transaction may not
    # touch an item twice, so the checks guard a second item.)
    make_table(ddb, tname)
    ddb.put_item(TableName=tname, Item={"pk": s("acct"), "balance": n(100)})
    ddb.put_item(TableName=tname, Item={"pk": s("limits"), "max": n(50)})
    t = f'"{tname}"'
    with pytest.raises(ClientError) as e:
        ddb.execute_transaction(TransactStatements=[
            {"Statement": f"INSERT INTO {t} VALUE {{'pk': 'log-1'}}"},
            {"Statement": f"UPDATE {t} SET balance = balance - 1 WHERE pk = 'nobody'"},
        ])
    code, status, _ = error_of(e)
    assert (code, status) == ("TransactionCanceledException", 400)
    assert [r["Code"] for r in e.value.response["CancellationReasons"]] == ["None", "ConditionalCheckFailed"]
    assert get(ddb, tname, pk=s("log-1")) is None

    ddb.execute_transaction(TransactStatements=[
        {"Statement": f"EXISTS(SELECT * FROM {t} WHERE pk = 'limits' AND \"max\" >= ?)", "Parameters": [n(30)]},
        {"Statement": f"UPDATE {t} SET balance = balance - 30 WHERE pk = 'acct'"},
        {"Statement": f"INSERT INTO {t} VALUE {{'pk': 'log-2', 'amount': 30}}"},
    ])
    assert get(ddb, tname, pk=s("acct"))["balance"] == n(70)
    with pytest.raises(ClientError) as e:
        ddb.execute_transaction(TransactStatements=[
            {"Statement": f"EXISTS(SELECT * FROM {t} WHERE pk = 'limits' AND \"max\" >= 1000)"},
            {"Statement": f"UPDATE {t} SET balance = balance - 1000 WHERE pk = 'acct'"},
        ])
    assert error_of(e)[0] == "TransactionCanceledException"
    assert [r["Code"] for r in e.value.response["CancellationReasons"]] == ["ConditionalCheckFailed", "None"]

    got = ddb.execute_transaction(TransactStatements=[
        {"Statement": f"SELECT * FROM {t} WHERE pk = 'acct'"},
        {"Statement": f"SELECT amount FROM {t} WHERE pk = ?", "Parameters": [s("log-2")]},
        {"Statement": f"SELECT * FROM {t} WHERE pk = 'missing'"},
    ])["Responses"]
    assert got[0]["Item"] == {"pk": s("acct"), "balance": n(70)}
    assert got[1]["Item"] == {"amount": n(30)} and "Item" not in got[2]

    with pytest.raises(ClientError) as e:
        ddb.execute_transaction(TransactStatements=[
            {"Statement": f"UPDATE {t} SET balance = 1 WHERE pk = 'acct' RETURNING ALL NEW *"}])
    assert error_of(e) == ("ValidationException", 400,
                           "Validation failed in TransactStatements[0]: RETURNING clause is not supported in ExecuteTransaction.")
    with pytest.raises(ClientError) as e:
        ddb.execute_transaction(TransactStatements=[
            {"Statement": f"SELECT * FROM {t} WHERE balance > 1"}])
    assert error_of(e)[2] == ("Validation failed in TransactStatements[0]: Select statements within "
                              "ExecuteTransaction must specify the primary key in the where clause.")
    with pytest.raises(ClientError) as e:
        ddb.execute_transaction(TransactStatements=[
            {"Statement": f"SELECT * FROM {t} WHERE pk = 'acct'"},
            {"Statement": f"UPDATE {t} SET balance = 1 WHERE pk = 'acct'"}])
    assert error_of(e) == ("ValidationException", 400,
                           "ExecuteTransaction API does not support both read and write operations in the same request.")
    assert get(ddb, tname, pk=s("acct"))["balance"] == n(70)


def test_cli_execute_statement(nimbus, ddb, tname):
    # The AWS CLI's `aws dynamodb execute-statement` speaks to the same
    # service: parameters in, Items out.
    make_table(ddb, tname)
    nimbus.cli("dynamodb", "execute-statement", "--statement",
               f"INSERT INTO \"{tname}\" VALUE {{'pk': ?, 'n': ?}}",
               "--parameters", json.dumps([{"S": "cli"}, {"N": "007"}]))
    got = nimbus.cli("dynamodb", "execute-statement", "--statement",
                     f"SELECT * FROM \"{tname}\" WHERE pk = ?", "--parameters", '[{"S": "cli"}]')
    assert got["Items"] == [{"pk": {"S": "cli"}, "n": {"N": "7"}}]
