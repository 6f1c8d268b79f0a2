"""Node.js bootstrap (runtimes/node/bootstrap.js) against the fake Runtime API."""

import re
import textwrap
from pathlib import Path

import pytest

from harness import EXAMPLES, NODE_CMD

CONTEXT_BODY = '''
  const first = context.getRemainingTimeInMillis();
  // Spin (bounded by the deadline) until the clock visibly moves.
  while (first > 0 && context.getRemainingTimeInMillis() >= first) {}
  return {
    event, initCount,
    awsRequestId: context.awsRequestId,
    functionName: context.functionName,
    functionVersion: context.functionVersion,
    invokedFunctionArn: context.invokedFunctionArn,
    memoryLimitInMB: context.memoryLimitInMB,
    logGroupName: context.logGroupName,
    logStreamName: context.logStreamName,
    identity: context.identity,
    clientContext: context.clientContext,
    waits: context.callbackWaitsForEmptyEventLoop,
    remaining: [first, context.getRemainingTimeInMillis()],
    myVar: process.env.MY_VAR,
    traceId: process.env._X_AMZN_TRACE_ID,
    cwd: process.cwd(),
  };
'''

CJS_APP = "let initCount = 0; initCount++;\nexports.handler = async (event, context) => {" + CONTEXT_BODY + "};\n"
ESM_APP = "let initCount = 0; initCount++;\nexport const handler = async (event, context) => {" + CONTEXT_BODY + "};\n"


@pytest.mark.parametrize("files", [
    {"index.js": CJS_APP},
    {"index.cjs": CJS_APP},
    {"index.mjs": ESM_APP},
    {"index.js": ESM_APP, "package.json": '{"type": "module"}'},
], ids=["cjs-js", "cjs-cjs", "esm-mjs", "esm-js-type-module"])
def test_success_and_context(api, start_function, files):
    fn = start_function(NODE_CMD, "index.handler", files, env={"MY_VAR": "hello"})
    request_id = api.invoke({"name": "nimbus"}, timeout_ms=5000,
                            identity={"cognitoIdentityId": "id-1", "cognitoIdentityPoolId": "pool-1"},
                            client_context={"custom": {"k": "v"}})
    result = api.result(request_id)
    assert result.kind == "response", result.raw
    body = result.json
    assert body["event"] == {"name": "nimbus"}
    assert body["awsRequestId"] == request_id
    assert body["functionName"] == "test-fn"
    assert body["functionVersion"] == "$LATEST"
    assert body["invokedFunctionArn"] == "arn:aws:lambda:us-east-1:000000000000:function:test-fn"
    assert body["memoryLimitInMB"] == "256"
    assert body["logGroupName"] == "/aws/lambda/test-fn"
    assert body["logStreamName"].startswith("2024/01/01/")
    assert body["identity"] == {"cognitoIdentityId": "id-1", "cognitoIdentityPoolId": "pool-1"}
    assert body["clientContext"] == {"custom": {"k": "v"}}
    assert body["waits"] is True
    first, second = body["remaining"]
    assert 0 < second < first <= 5000
    assert body["myVar"] == "hello"
    assert body["traceId"].startswith("Root=1-")
    assert body["cwd"] == fn.cwd
    # Init ran once; the second invocation reuses the instance.
    again = api.result(api.invoke({"n": 2})).json
    assert again["event"] == {"n": 2} and again["initCount"] == 1


def test_callback_waits_for_empty_event_loop(api, start_function):
    app = textwrap.dedent('''
        exports.handler = (event, context, callback) => {
          setTimeout(() => console.log('timer fired'), 20);
          callback(null, 'done');
        };
    ''')
    start_function(NODE_CMD, "index.handler", {"index.js": app})
    result = api.result(api.invoke({}))
    assert result.json == "done"
    assert "timer fired" in result.output


def test_callback_without_waiting(api, start_function):
    app = textwrap.dedent('''
        exports.handler = (event, context, callback) => {
          context.callbackWaitsForEmptyEventLoop = false;
          setTimeout(() => console.log('late timer'), 60000);
          callback(null, {fast: true});
        };
    ''')
    start_function(NODE_CMD, "index.handler", {"index.js": app})
    result = api.result(api.invoke({}))
    assert result.json == {"fast": True}
    assert "late timer" not in result.output
    # The pending timer does not stop the next invocation from being served.
    assert api.result(api.invoke({})).json == {"fast": True}


@pytest.mark.parametrize("call,expected_kind,expected", [
    ("context.succeed({ok: 1})", "response", {"ok": 1}),
    ("context.done(null, 'via done')", "response", "via done"),
    ("context.fail(new TypeError('bad input'))", "error", ("TypeError", "bad input")),
    ("context.fail()", "error", ("string", "handled")),
    ("callback(new RangeError('out of range'))", "error", ("RangeError", "out of range")),
    ("/* never completes; loop empties */", "response", None),
])
def test_completion_styles(api, start_function, call, expected_kind, expected):
    app = f"exports.handler = (event, context, callback) => {{ {call}; }};\n"
    start_function(NODE_CMD, "index.handler", {"index.js": app})
    result = api.result(api.invoke({}))
    assert result.kind == expected_kind
    if expected_kind == "error":
        assert (result.json["errorType"], result.json["errorMessage"]) == expected
    else:
        assert result.json == expected


def test_handler_exception(api, start_function):
    app = textwrap.dedent('''
        class PaymentDeclined extends Error {
          constructor(message) { super(message); this.name = 'PaymentDeclined'; }
        }
        function charge(amount) { throw new PaymentDeclined(`card declined for ${amount}`); }
        exports.handler = async (event) => { console.log('before failure'); charge(event.amount); };
    ''')
    fn = start_function(NODE_CMD, "index.handler", {"index.js": app})
    request_id = api.invoke({"amount": 42})
    result = api.result(request_id)
    assert result.kind == "error"
    error = result.json
    assert error["errorType"] == "PaymentDeclined"
    assert error["errorMessage"] == "card declined for 42"
    assert error["trace"][0] == "PaymentDeclined: card declined for 42"
    assert re.match(r"\s+at charge \(.*index\.js:\d+:\d+\)", error["trace"][1])
    assert result.headers["Lambda-Runtime-Function-Error-Type"] == "PaymentDeclined"
    assert "\tINFO\tbefore failure" in result.output
    assert re.search(request_id + r'\tERROR\tInvoke Error \t\{"errorType":"PaymentDeclined"', result.output)
    assert api.result(api.invoke({"amount": 1})).json["errorMessage"] == "card declined for 1"
    assert fn.proc.poll() is None


def test_thrown_non_error(api, start_function):
    start_function(NODE_CMD, "index.handler", {"index.js": "exports.handler = async () => { throw 'plain string'; };"})
    error = api.result(api.invoke({})).json
    assert error == {"errorType": "string", "errorMessage": "plain string", "trace": []}


def test_unhandled_rejection_fails_invocation_and_exits(api, start_function):
    app = "exports.handler = (event, context, callback) => { Promise.reject(new Error('lost')); };"
    fn = start_function(NODE_CMD, "index.handler", {"index.js": app})
    error = api.result(api.invoke({})).json
    assert (error["errorType"], error["errorMessage"]) == ("Error", "lost")
    assert fn.wait_exit() == 129


def test_console_format_and_flush(api, start_function):
    app = textwrap.dedent('''
        exports.handler = async () => {
          console.log('hello %s', 'world');
          console.warn('careful');
          console.error('multi\\nline');
          process.stderr.write('raw stderr\\n');
          for (let i = 0; i < 2000; i++) console.log('filler line %d %s', i, 'x'.repeat(500));
          console.log('last line');
          return 'ok';
        };
    ''')
    start_function(NODE_CMD, "index.handler", {"index.js": app})
    request_id = api.invoke({})
    result = api.result(request_id)
    out = result.output
    ts = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
    assert re.search(rf"^{ts}\t{request_id}\tINFO\thello world$", out, re.M)
    assert re.search(rf"^{ts}\t{request_id}\tWARN\tcareful$", out, re.M)
    assert re.search(rf"^{ts}\t{request_id}\tERROR\tmulti\rline$", out, re.M)
    assert "raw stderr\n" in out
    assert f"{request_id}\tINFO\tlast line\n" in out  # ~1 MB written before it: pipe back-pressure


def test_nested_handler_path(api, start_function):
    start_function(NODE_CMD, "lib/handlers.api.get", {"lib/handlers.js": "exports.api = { get: async () => 'nested' };"})
    assert api.result(api.invoke({})).json == "nested"


def test_layer_modules_via_node_path(api, start_function, tmp_path):
    layer = tmp_path / "layer" / "node_modules" / "greeter"
    layer.mkdir(parents=True)
    (layer / "index.js").write_text("module.exports = (n) => `hi ${n}`;")
    app = "const greeter = require('greeter'); exports.handler = async () => greeter('layer');"
    start_function(NODE_CMD, "index.handler", {"index.js": app}, env={"NODE_PATH": str(layer.parent)})
    assert api.result(api.invoke({})).json == "hi layer"


@pytest.mark.parametrize("handler,files,error_type,message", [
    ("missing.handler", {}, "Runtime.ImportModuleError", "Error: Cannot find module 'missing'"),
    ("index.handler", {"index.js": "require('not-installed-xyz');"}, "Runtime.ImportModuleError", None),
    ("index.nope", {"index.js": "exports.handler = async () => 1;"}, "Runtime.HandlerNotFound",
     "index.nope is undefined or not exported"),
    ("index.value", {"index.js": "exports.value = 1;"}, "Runtime.HandlerNotFound", "index.value is not a function"),
    ("index", {"index.js": ""}, "Runtime.MalformedHandlerName", "Bad handler index"),
    ("index.handler", {"index.js": "exports.handler = async () => {"}, "Runtime.UserCodeSyntaxError", None),
    ("index.handler", {"index.mjs": "export const handler = () => {"}, "Runtime.UserCodeSyntaxError", None),
    ("index.handler", {"index.mjs": "const cfg = {}; cfg.table.name;"}, "TypeError", None),
    ("index.handler", {"index.js": "throw new Error('no config');"}, "Error", "no config"),
])
def test_init_errors(api, start_function, handler, files, error_type, message):
    fn = start_function(NODE_CMD, handler, files)
    init_error = api.wait_init_error()
    error = init_error.json
    assert error["errorType"] == error_type, error
    if message is not None:
        assert error["errorMessage"] == message
    assert init_error.headers["Lambda-Runtime-Function-Error-Type"] == error_type
    assert fn.wait_exit() == 129
    assert api.first_next_at is None
    assert f'\tundefined\tERROR\tUncaught Exception \t{{"errorType":"{error_type}"' in fn.output


def test_example_hello_node(api, start_function):
    start_function(NODE_CMD, "index.handler", task_root=Path(EXAMPLES) / "hello-node")
    request_id = api.invoke({"name": "Nimbus"})
    result = api.result(request_id)
    body = result.json
    assert body["message"] == "Hello, Nimbus!"
    assert body["requestId"] == request_id
    assert f"{request_id}\tINFO\t" in result.output


def test_layer_node_modules_from_nimbus_opt_dir(api, start_function, tmp_path):
    # AWS: NODE_PATH has /opt/nodejs/nodeXX/node_modules and
    # /opt/nodejs/node_modules. Nimbus without isolation names /opt's host
    # folder in NIMBUS_OPT_DIR; the bootstrap reads it.
    opt = tmp_path / "opt"
    (opt / "nodejs" / "node_modules" / "shared").mkdir(parents=True)
    (opt / "nodejs" / "node_modules" / "shared" / "index.js").write_text("module.exports = 'shared';")
    for major in range(16, 26):
        d = opt / "nodejs" / f"node{major}" / "node_modules" / "versioned"
        d.mkdir(parents=True)
        (d / "index.js").write_text(f"module.exports = '{major}';")
    app = ("exports.handler = async () => [require('shared'), require('versioned'),"
           " process.versions.node.split('.')[0]];")
    start_function(NODE_CMD, "index.handler", {"index.js": app}, env={"NIMBUS_OPT_DIR": str(opt)})
    shared, versioned, major = api.result(api.invoke({})).json
    assert (shared, versioned) == ("shared", major)
