"""boto3 inside a function reaches Nimbus with no endpoint in the function's code."""
import uuid


# Chapter style: the client is created once per instance, at global scope.
GLOBAL_CLIENT = """
import boto3
client = boto3.client('lambda')
sts = boto3.client('sts')
def handler(event, context):
    names = [f['FunctionName'] for f in client.list_functions(MaxItems=50)['Functions']]
    me = sts.get_caller_identity()
    out = {'account': me['Account'], 'arn': me['Arn'], 'self_listed': context.function_name in names}
    if event.get('invoke'):
        r = client.invoke(FunctionName=event['invoke'], Payload=b'{"from": "inside"}')
        out['inner'] = r['Payload'].read().decode()
        out['inner_status'] = r['StatusCode']
    return out
"""

LAZY_CLIENT = """
def handler(event, context):
    import boto3
    cfg = boto3.client('lambda').get_function_configuration(FunctionName=context.function_name)
    # An explicit endpoint_url in user code still wins over Nimbus's default.
    explicit = boto3.client('lambda', endpoint_url='http://127.0.0.1:9')
    return {'runtime': cfg['Runtime'], 'explicit': explicit.meta.endpoint_url}
"""

TARGET = "def handler(event, context):\n    return {'target_saw': event}\n"


def test_global_scope_client_lists_functions_and_sts(nimbus, fname):
    # A client built at module scope (no endpoint_url) talks to Nimbus: ListFunctions, STS, Invoke.
    target = f"target-{uuid.uuid4().hex[:6]}"
    nimbus.create_function(target, {"app.py": TARGET})
    nimbus.create_function(fname, {"app.py": GLOBAL_CLIENT}, Timeout=30)
    r, body = nimbus.invoke(fname, {"invoke": target})
    assert "FunctionError" not in r, body
    assert body["account"] == "000000000000"
    assert body["arn"].startswith("arn:aws:")
    assert body["self_listed"] is True
    assert body["inner_status"] == 200
    assert '"target_saw": {"from": "inside"}' in body["inner"]
    # Warm path: the global client is reused and still works.
    r, body = nimbus.invoke(fname, {})
    assert "FunctionError" not in r and body["self_listed"] is True


def test_client_inside_handler_and_explicit_endpoint_wins(nimbus, fname):
    # A client created in the handler reaches Nimbus; an explicit endpoint_url is kept.
    nimbus.create_function(fname, {"app.py": LAZY_CLIENT}, runtime="python3.12", Timeout=30)
    r, body = nimbus.invoke(fname, {})
    assert "FunctionError" not in r, body
    assert body == {"runtime": "python3.12", "explicit": "http://127.0.0.1:9"}
