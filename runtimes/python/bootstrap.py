"""Nimbus Python runtime: drives one function instance over the Lambda Runtime API
(or, started by Nimbus, over its faster runtime channel: see RuntimeChannel).

Started by the server as ``/usr/bin/python3 -S -B /var/runtime/python/bootstrap.py``.
``-S`` skips site.py (about 10 ms) so this file builds sys.path itself; ``-B``
stops Python from trying to write .pyc files into the read-only code directory.

Start-up time is the cold start users pay, so only modules that every
invocation needs are imported up front. The HTTP client is a few lines over
the C-level ``_socket`` module: importing ``http.client`` (which drags in
email, ssl and friends) takes three times as long as everything this file
imports. ``json`` itself is not imported either: it pulls in ``re``, ``enum``
and ``functools`` (10-20 ms, a third of a cold start); JSON goes through the C
accelerator ``_json`` directly (see _JsonCodec). ``logging`` and ``traceback``
are imported only when the function (or an error) needs them.
"""

import sys
import os
import time
import _socket

_LOG_FORMAT = "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s"

# Request id of the invocation in progress; read by the logging filter.
_current_request_id = ""


def _json_default(obj):
    # DynamoDB (boto3) returns numbers as Decimal; AWS's runtime turns them into floats.
    decimal = sys.modules.get("decimal")
    if decimal is not None and isinstance(obj, decimal.Decimal):
        return float(obj)
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


class _JsonCodec:
    """``json.loads`` / ``json.dumps(obj, default=_json_default)`` on the C
    accelerator that the json package itself uses, with json's defaults (same
    separators, ASCII escaping, NaN/Infinity), minus the import cost."""

    _WHITESPACE = " \t\n\r"

    # The attributes _json.make_scanner reads, as json.JSONDecoder() sets them.
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}.__getitem__

    def __init__(self):
        import _json
        self._c = _json
        self._scan_once = _json.make_scanner(self)

    def loads(self, text):
        if isinstance(text, (bytes, bytearray)):
            text = text.decode("utf-8")
        start = len(text) - len(text.lstrip(self._WHITESPACE))
        try:
            obj, end = self._scan_once(text, start)
            if not text[end:].strip(self._WHITESPACE):
                return obj
        except (StopIteration, SystemError):
            # _json raises json.decoder's error only once that module is
            # loaded (else a SystemError): malformed input is the rare path,
            # so the real module parses it again and reports the error.
            pass
        import json as full_json
        return full_json.loads(text)

    def dumps(self, obj, default=None):
        # A new encoder per call, as json.dumps does: its circular-reference
        # markers must start empty.
        encode = self._c.make_encoder({}, default, self._c.encode_basestring_ascii, None, ": ", ", ",
                                      False, False, True)
        return "".join(encode(obj, 0))


try:
    json = _JsonCodec()
except ImportError:  # a Python built without the C accelerator
    import json


class RuntimeAPIClient:
    """Minimal HTTP/1.1 keep-alive client for the Runtime API."""

    def __init__(self, address):
        host, _, port = address.rpartition(":")
        self._host_header = address
        # bytes, so that resolving it does not import the idna codec (~2 ms)
        self._address = (host.strip("[]").encode(), int(port))
        self._sock = None
        self._buf = b""

    def request(self, method, path, body=b"", headers=None):
        head = [f"{method} {path} HTTP/1.1", f"Host: {self._host_header}", f"Content-Length: {len(body)}"]
        if headers:
            head.extend(f"{name}: {value}" for name, value in headers.items())
        data = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
        # The server may have closed the idle keep-alive connection; a
        # connection that died before answering cannot have processed the
        # request, so one retry on a fresh connection is safe.
        for attempt in (0, 1):
            if self._sock is None:
                self._connect()
            self._got_bytes = False
            try:
                self._sock.sendall(data)
                return self._read_response()
            except OSError:
                self._close()
                if attempt or self._got_bytes:
                    raise

    def _connect(self):
        family, kind, proto, _, sockaddr = _socket.getaddrinfo(*self._address, 0, _socket.SOCK_STREAM)[0]
        sock = _socket.socket(family, kind, proto)
        sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
        sock.connect(sockaddr)
        self._sock, self._buf = sock, b""

    def _close(self):
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _fill(self):
        chunk = self._sock.recv(65536)
        if not chunk:
            raise ConnectionResetError("Runtime API closed the connection")
        self._got_bytes = True
        self._buf += chunk

    def _take(self, n):
        if len(self._buf) < n:
            # A bytearray grows in place: appending 64 KB chunks of a 6 MB
            # event to bytes would copy the whole buffer each time.
            data = bytearray(self._buf)
            self._buf = b""
            while len(data) < n:
                chunk = self._sock.recv(max(65536, n - len(data)))
                if not chunk:
                    raise ConnectionResetError("Runtime API closed the connection")
                self._got_bytes = True
                data += chunk
            self._buf = bytes(data[n:])
            return bytes(data[:n])
        data, self._buf = self._buf[:n], self._buf[n:]
        return data

    def _take_line(self):
        while (end := self._buf.find(b"\r\n")) < 0:
            self._fill()
        line, self._buf = self._buf[:end], self._buf[end + 2:]
        return line

    def _read_response(self):
        status = int(self._take_line().split(b" ", 2)[1])
        headers = {}
        while line := self._take_line():
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while size := int(self._take_line().split(b";")[0], 16):
                parts.append(self._take(size))
                self._take_line()
            while self._take_line():  # trailers, then the blank line
                pass
            body = b"".join(parts)
        elif "content-length" in headers:
            body = self._take(int(headers["content-length"]))
        else:  # delimited by connection close
            try:
                while True:
                    self._fill()
            except ConnectionResetError:
                pass
            body, self._buf = self._buf, b""
            headers["connection"] = "close"
        if headers.get("connection", "").lower() == "close":
            self._close()
        return status, headers, body

    def post(self, path, payload, headers=None):
        status, _, body = self.request("POST", path, payload, headers)
        if not 200 <= status < 300:
            # Typically the invocation already timed out; nothing to retry.
            sys.stderr.write(f"[WARN] Runtime API {path} answered {status}: {body[:200]!r}\n")

    # The transport interface the main loop uses (shared with RuntimeChannel).

    def next(self):
        status, headers, body = self.request("GET", "/2018-06-01/runtime/invocation/next")
        if status != 200:
            raise RuntimeError(f"Runtime API /invocation/next answered {status}: {body[:200]!r}")
        return headers, body

    def respond(self, request_id, payload):
        self.post(f"/2018-06-01/runtime/invocation/{request_id}/response", payload,
                  {"Content-Type": "application/json"})

    def fail(self, request_id, error_type, payload):
        self.post(f"/2018-06-01/runtime/invocation/{request_id}/error", payload,
                  {"Content-Type": "application/json", "Lambda-Runtime-Function-Error-Type": error_type})

    def init_error(self, error_type, payload):
        self.post("/2018-06-01/runtime/init/error", payload,
                  {"Content-Type": "application/json", "Lambda-Runtime-Function-Error-Type": error_type})


_EVENT_HEADERS = ("lambda-runtime-aws-request-id", "lambda-runtime-deadline-ms",
                  "lambda-runtime-invoked-function-arn", "lambda-runtime-trace-id",
                  "lambda-runtime-client-context", "lambda-runtime-cognito-identity")


class RuntimeChannel:
    """Nimbus's own transport to its server: length-prefixed frames over two
    inherited pipes, events in and results out (NIMBUS_RUNTIME_FD is "3,4"; the
    format is described in src/faas/runtime_channel.h). One read per event and
    one write per result, where the HTTP API needs a long poll, a POST and its
    acknowledgement."""

    def __init__(self, fds):
        self._in, self._out = (int(fd) for fd in fds.split(","))
        for fd in (self._in, self._out):
            os.set_inheritable(fd, False)  # not for the function's subprocesses
        self._buf = b""
        self._asked = False

    def _take(self, n):
        buf = self._buf
        if len(buf) < n:
            data = bytearray(buf)
            while len(data) < n:
                chunk = os.read(self._in, max(65536, n - len(data)))
                if not chunk:
                    raise ConnectionResetError("the runtime channel was closed")
                data += chunk
            buf = bytes(data)
        self._buf = buf[n:]
        return buf[:n]

    def _send(self, kind, body):
        data = memoryview((len(body) + 1).to_bytes(4, "little") + kind + body)
        while data:
            data = data[os.write(self._out, data):]

    def next(self):
        if not self._asked:  # afterwards, each result asks for the next event
            self._asked = True
            self._send(b"N", b"")
        head = self._take(5)
        if head[4:5] != b"V":
            raise RuntimeError(f"runtime channel: unexpected frame {head[4:5]!r}")
        fields = self._take(int.from_bytes(head[:4], "little") - 1).split(b"\0", 6)
        headers = {name: value.decode() for name, value in zip(_EVENT_HEADERS, fields) if value}
        return headers, fields[6]

    def respond(self, request_id, payload):
        self._send(b"R", request_id.encode() + b"\0" + payload)

    def fail(self, request_id, error_type, payload):
        self._send(b"E", request_id.encode() + b"\0" + error_type.encode() + b"\0" + payload)

    def init_error(self, error_type, payload):
        self._send(b"I", error_type.encode() + b"\0" + payload)


class CognitoIdentity:
    __slots__ = ("cognito_identity_id", "cognito_identity_pool_id")

    def __init__(self, data):
        self.cognito_identity_id = data.get("cognitoIdentityId")
        self.cognito_identity_pool_id = data.get("cognitoIdentityPoolId")


class Client:
    __slots__ = ("installation_id", "app_title", "app_version_name", "app_version_code", "app_package_name")

    def __init__(self, data):
        for field in self.__slots__:
            setattr(self, field, data.get(field))


class ClientContext:
    __slots__ = ("custom", "env", "client")

    def __init__(self, data):
        self.custom = data.get("custom")
        self.env = data.get("env")
        self.client = Client(data["client"]) if data.get("client") is not None else None


class LambdaContext:
    """The ``context`` argument, with the attributes of AWS's LambdaContext.

    The per-instance attributes (name, version, memory, log group and stream)
    are class attributes read from the environment once (_init_static); an
    invocation sets only its own fields, because a context is built per call
    and reading six environment variables each time cost more than the rest of
    the runtime's per-call work together."""

    function_name = ""
    function_version = "$LATEST"
    memory_limit_in_mb = 128
    log_group_name = ""
    log_stream_name = ""

    @classmethod
    def _init_static(cls, env):
        cls.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME", "")
        cls.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        cls.memory_limit_in_mb = int(env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
        cls.log_group_name = env.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        cls.log_stream_name = env.get("AWS_LAMBDA_LOG_STREAM_NAME", "")

    def __init__(self, headers):
        self.aws_request_id = headers.get("lambda-runtime-aws-request-id", "")
        self.invoked_function_arn = headers.get("lambda-runtime-invoked-function-arn", "")
        self._deadline_ms = int(headers.get("lambda-runtime-deadline-ms", "0"))
        identity = headers.get("lambda-runtime-cognito-identity")
        self.identity = CognitoIdentity(json.loads(identity) if identity else {})
        client_context = headers.get("lambda-runtime-client-context")
        self.client_context = ClientContext(json.loads(client_context)) if client_context else None

    @property
    def request_id(self):
        return self.aws_request_id

    def get_remaining_time_in_millis(self):
        return max(self._deadline_ms - int(time.time() * 1000), 0)

    def log(self, msg):
        sys.stdout.write(str(msg))


class InitError(Exception):
    """A handler that cannot be loaded, reported with a Runtime.* error type."""

    def __init__(self, error_type, message):
        super().__init__(message)
        self.error_type = error_type


class _HookedLoader:
    """Wraps a module's loader to call ``hook(module)`` once the module has run."""

    def __init__(self, loader, hook):
        self._loader = loader
        self._hook = hook

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        # Hand the real loader back so the module looks untouched to introspection.
        module.__loader__ = module.__spec__.loader = self._loader
        self._loader.exec_module(module)
        self._hook(module)


class PostImportHooks:
    """sys.meta_path finder that patches selected modules right after they load.

    Lets the runtime adjust logging and botocore only if the function actually
    imports them, instead of paying for those imports on every cold start.
    """

    def __init__(self, hooks):
        self._hooks = hooks
        for name in list(hooks):
            if name in sys.modules:
                hooks.pop(name)(sys.modules[name])

    def find_spec(self, name, path, target=None):
        if name not in self._hooks:
            return None
        for finder in sys.meta_path:
            if finder is not self and hasattr(finder, "find_spec"):
                spec = finder.find_spec(name, path, target)
                if spec is not None and spec.loader is not None:
                    spec.loader = _HookedLoader(spec.loader, lambda module: self._run(name, module))
                    return spec
        return None

    def _run(self, name, module):
        # Popped only now: a mere find_spec() probe must not use the hook up.
        hook = self._hooks.pop(name, None)
        if hook is not None:
            hook(module)


def _configure_logging(logging):
    """Root handler like Lambda's: level, timestamp and request id on each record."""

    class RequestIdFilter(logging.Filter):
        def filter(self, record):
            record.aws_request_id = _current_request_id
            return True

    formatter = logging.Formatter(_LOG_FORMAT, "%Y-%m-%dT%H:%M:%S")
    formatter.converter = time.gmtime
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    level = os.environ.get("AWS_LAMBDA_LOG_LEVEL")
    if level:
        root.setLevel(level.upper())


def _default_botocore_endpoint(endpoint_url):
    """Make botocore clients talk to Nimbus unless the caller chose an endpoint.

    Debian's botocore predates AWS_ENDPOINT_URL, so without this every
    ``boto3.client(...)`` in a function would go to the real AWS.
    """

    # create_client(service_name, region_name, api_version, use_ssl, verify, endpoint_url, ...)
    endpoint_position = 4

    def hook(session_module):
        create_client = session_module.Session.create_client

        def create_client_with_default_endpoint(self, service_name, *args, **kwargs):
            if len(args) > endpoint_position:
                if args[endpoint_position] is None:
                    args = args[:endpoint_position] + (endpoint_url,) + args[endpoint_position + 1:]
            elif kwargs.get("endpoint_url") is None:
                kwargs["endpoint_url"] = endpoint_url
            return create_client(self, service_name, *args, **kwargs)

        session_module.Session.create_client = create_client_with_default_endpoint

    return hook


_DIST_PACKAGES = "/usr/lib/python3/dist-packages"

# What the fork-server imported ahead (preload()): module names by top-level name.
_PRELOADED = {}


def preload(packages=("boto3",)):
    """Runs once in the Python fork-server (src/zygote/python_zygote.cc), never
    in an instance: imports what most functions import (``import boto3`` alone
    takes ~0.5 s), so that every instance forked later finds it in sys.modules.
    No function code runs here, and these imports start no threads and open no
    sockets, so the fork copies nothing that breaks."""
    before = set(sys.modules)
    sys.path.append(_DIST_PACKAGES)
    # awscrt (which botocore imports when installed) starts native threads at
    # import, and a fork keeps only the forking thread: instances then hang in
    # its TLS set-up. Preloaded botocore runs without it (HAS_CRT false);
    # a function may still import awscrt itself.
    sys.modules["awscrt"] = None
    try:
        for name in packages:
            try:
                __import__(name)
            except ImportError:
                pass
    finally:
        sys.path.remove(_DIST_PACKAGES)
        del sys.modules["awscrt"]
    for name in set(sys.modules) - before:
        _PRELOADED.setdefault(name.partition(".")[0], []).append(name)
    # Out of the collector's reach: otherwise an instance's first collections
    # walk every preloaded object and copy-on-write the whole image (~30 ms
    # and ~15 MB per instance with boto3).
    import gc

    gc.collect()
    gc.freeze()


def _drop_shadowed_preloads(search_first):
    """A function or layer that ships its own copy of a preloaded package (its
    own boto3, say) must get its own, as in a fresh interpreter: then every
    preloaded module is forgotten and imports load from sys.path again."""
    if not _PRELOADED:
        return
    shipped = set()
    for folder in search_first:  # one listing each: a stat per module costs ms
        try:
            shipped.update(name.partition(".")[0] for name in os.listdir(folder))
        except OSError:
            pass
    if shipped.isdisjoint(_PRELOADED):
        return
    for names in _PRELOADED.values():
        for name in names:
            sys.modules.pop(name, None)
    _PRELOADED.clear()


def _setup_sys_path(task_root):
    """Same search order as Lambda, plus Debian's packages (where boto3 lives)."""
    script_dir = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != script_dir]
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    # Layers are at /opt; with isolation off Nimbus names their host folder.
    opt = os.environ.get("NIMBUS_OPT_DIR") or "/opt"
    search_first = [task_root, f"{opt}/python/lib/{version}/site-packages", f"{opt}/python"]
    sys.path[0:0] = search_first
    sys.path.append(_DIST_PACKAGES)
    _drop_shadowed_preloads(search_first)


def _load_handler(handler_name):
    module_name, _, function_name = handler_name.rpartition(".")
    if not module_name or not function_name:
        raise InitError("Runtime.MalformedHandlerName", f"Bad handler '{handler_name}': expected 'module.function'")
    module_path = module_name.replace("/", ".")
    try:
        __import__(module_path)
    except ImportError as e:
        raise InitError("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {e}") from e
    except SyntaxError as e:
        raise InitError("Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {e}") from e
    handler = getattr(sys.modules[module_path], function_name, None)
    if not callable(handler):
        raise InitError("Runtime.HandlerNotFound", f"Handler '{function_name}' missing on module '{module_name}'")
    return handler


def _user_stack_trace(tb):
    """Formatted frames like AWS's runtime, without the runtime's own frames."""
    import traceback

    frames = [f for f in traceback.extract_tb(tb) if f.filename != __file__ and not f.filename.startswith("<frozen importlib")]
    return traceback.format_list(frames)


def _error(error_type, message, request_id="", stack_trace=()):
    return {"errorMessage": message, "errorType": error_type, "requestId": request_id, "stackTrace": list(stack_trace)}


def _exception_error(exc, request_id=""):
    if isinstance(exc, InitError):
        return _error(exc.error_type, str(exc), request_id)
    return _error(type(exc).__name__, str(exc), request_id, _user_stack_trace(exc.__traceback__))


def _log_error(error):
    """One log entry per failure, shaped like AWS's "[ERROR] Type: message" + traceback."""
    lines = [f"[ERROR] {error['errorType']}: {error['errorMessage']}"]
    if error["stackTrace"]:
        lines.append("Traceback (most recent call last):")
        lines.extend(line for frame in error["stackTrace"] for line in frame.splitlines())
    sys.stderr.write("\n".join(lines) + "\n")


def _flush_output():
    # The server attributes log lines to the invocation that is in flight, so
    # everything printed must be in the pipe before the result is posted.
    sys.stdout.flush()
    sys.stderr.flush()


def _set_trace_id_env(trace_id):
    """_X_AMZN_TRACE_ID for the invocation, in os.environ only.

    ``os.environ[k] = v`` also calls the C library's setenv, and glibc keeps
    every value ever set in a search tree it never frees (so that old
    ``getenv`` pointers stay valid): one unique trace id per invocation made a
    long-lived instance grow by ~100 bytes per call and slowed every setenv as
    the tree deepened. Code reading os.environ (the X-Ray SDK, the user's) sees
    the value; a subprocess started without an explicit env does not.
    """
    data = getattr(os.environ, "_data", None)
    if data is None:  # not CPython's os._Environ: the portable, leaking way
        if trace_id:
            os.environ["_X_AMZN_TRACE_ID"] = trace_id
        else:
            os.environ.pop("_X_AMZN_TRACE_ID", None)
    elif trace_id:
        data[_TRACE_ENV_KEY] = os.environ.encodevalue(trace_id)
    else:
        data.pop(_TRACE_ENV_KEY, None)


_TRACE_ENV_KEY = os.environ.encodekey("_X_AMZN_TRACE_ID") if hasattr(os.environ, "encodekey") else None


def _invoke(api, handler, body, headers):
    global _current_request_id
    request_id = headers.get("lambda-runtime-aws-request-id", "")
    _current_request_id = request_id
    _set_trace_id_env(headers.get("lambda-runtime-trace-id"))

    error = payload = None
    try:
        event = json.loads(body) if body else {}
    except ValueError as e:
        error = _error("Runtime.UnmarshalError", f"Unable to unmarshal input: {e}", request_id)
    else:
        try:
            result = handler(event, LambdaContext(headers))
        except Exception as e:
            error = _exception_error(e, request_id)
        else:
            try:
                payload = json.dumps(result, default=_json_default).encode()
            except (TypeError, ValueError) as e:
                error = _error("Runtime.MarshalError", f"Unable to marshal response: {e}", request_id)

    if error is None:
        _flush_output()
        api.respond(request_id, payload)
    else:
        _log_error(error)
        _flush_output()
        api.fail(request_id, error["errorType"], json.dumps(error).encode())


def main():
    env = os.environ
    _setup_sys_path(env.get("LAMBDA_TASK_ROOT", "/var/task"))
    sys.stdout.reconfigure(line_buffering=True)
    sys.stderr.reconfigure(line_buffering=True)
    LambdaContext._init_static(env)
    template_fd = env.pop("NIMBUS_TEMPLATE_FD", None)
    api = None if template_fd else _runtime_api(env)

    hooks = {"logging": _configure_logging}
    endpoint_url = env.get("NIMBUS_ENDPOINT_URL") or env.get("AWS_ENDPOINT_URL")
    if endpoint_url:
        hooks["botocore.session"] = _default_botocore_endpoint(endpoint_url)
    sys.meta_path.insert(0, PostImportHooks(hooks))

    try:
        handler = _load_handler(env.get("_HANDLER", ""))
    except Exception as e:
        error = _exception_error(e)
        _log_error(error)
        _flush_output()
        if api:
            api.init_error(error["errorType"], json.dumps(error).encode())
        else:
            _template_refuse(_template_socket(int(template_fd)),
                             f"error {error['errorType']}: {error['errorMessage']}", 1)
        sys.exit(1)

    if template_fd:
        api = _serve_template(_template_socket(int(template_fd)))  # returns in each copy

    while True:
        headers, body = api.next()
        _invoke(api, handler, body, headers)


def _runtime_api(env):
    channel_fd = env.pop("NIMBUS_RUNTIME_FD", None)
    return RuntimeChannel(channel_fd) if channel_fd else RuntimeAPIClient(env["AWS_LAMBDA_RUNTIME_API"])


def _set_environment(entries):
    """What exec would have given a fresh process: exactly these variables."""
    os.environ.clear()
    for entry in entries:
        key, _, value = entry.partition("=")
        os.environ[key] = value
    time.tzset()


# ---- Template mode: per-function snapshots (src/sandbox/fork_template.h) ----
#
# Started with NIMBUS_TEMPLATE_FD, the runtime runs the function's init as
# usual, and then, instead of asking for events, forks a copy of itself for
# each "fork" request Nimbus sends on that socket. A copy moves itself into the
# cgroup Nimbus made for it, answers "ok" (the kernel tells Nimbus its pid) and
# waits on a socket of its own until Nimbus hands it an instance to become
# ("run": stdio, runtime channel, environment), usually right away, or later
# when it was forked ahead as a spare. Then it goes straight to its first event:
# the imports and clients of the function's init are already there.


def _template_socket(fd):
    import socket

    os.set_inheritable(fd, False)
    return socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET, fileno=fd)


def _template_refuse(sock, message, status):
    """Tells Nimbus why this template will not serve, and exits. Requests that
    are already queued (Nimbus asks for the first copy ahead) are read first:
    a socket closed with unread data resets its peer, which loses `message`."""
    sock.send(message.encode()[:4000])
    sock.setblocking(False)
    try:
        while True:
            message, fds = _receive(sock, 16)
            for fd in fds:
                os.close(fd)
            if not message:
                break
    except OSError:  # BlockingIOError: nothing (more) queued
        pass
    sys.exit(status)


def _fork_unsafe_reason(control_fd):
    """A fork copies only the calling thread and shares open sockets with the
    template: init that started threads or opened connections cannot be
    snapshotted (Nimbus then starts this function's instances the usual way)."""
    threads = len(os.listdir("/proc/self/task"))
    if threads > 1:
        return f"{threads - 1} thread(s) running after init"
    sockets = 0
    for name in os.listdir("/proc/self/fd"):
        if int(name) == control_fd:
            continue
        try:
            sockets += os.readlink(f"/proc/self/fd/{name}").startswith("socket:")
        except OSError:
            pass
    return f"{sockets} socket(s) open after init" if sockets else None


def _reap_copies():
    # Lazily, before each fork: until then an exited copy stays a zombie, whose
    # exit status Nimbus reads from /proc (it is not the copies' parent).
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _receive(sock, max_fds):
    import socket

    message, fds, flags, _ = socket.recv_fds(sock, 1 << 16, max_fds, socket.MSG_CMSG_CLOEXEC)
    if flags & (socket.MSG_TRUNC | socket.MSG_CTRUNC):
        for fd in fds:
            os.close(fd)
        return b"truncated", []
    return message, fds


try:  # in the fork-server's interpreter (src/zygote/python_zygote.cc)
    from _nimbus_fork import fork_joined as _fork_joined
except ImportError:
    _fork_joined = None


def _serve_template(sock):
    import gc

    reason = _fork_unsafe_reason(sock.fileno())
    if reason:
        _template_refuse(sock, "unsafe " + reason, 0)
    _flush_output()
    gc.collect()
    gc.freeze()  # see preload(): copies then share the init's objects
    sock.send(b"ready")
    while True:
        _reap_copies()
        message, fds = _receive(sock, 16)
        if not message:
            sys.exit(0)  # Nimbus closed the socket: the template is discarded
        if message != b"fork" or not fds:
            for fd in fds:
                os.close(fd)
            sock.send(b"error malformed request")
            continue
        waiter, *join = fds
        try:
            if _fork_joined:
                pid, join_errno = _fork_joined(join)
            else:  # a template exec'd rather than forked from the fork-server
                pid, join_errno = os.fork(), None
        except OSError as e:
            pid = None
            sock.send(f"error fork: {e}".encode())
        if pid == 0:
            return _become_instance(sock, waiter, join, join_errno)
        for fd in fds:
            os.close(fd)


def _become_instance(control, waiter, join, join_errno):
    import fcntl
    import socket

    try:
        if join_errno:
            raise OSError(join_errno, os.strerror(join_errno))
        if join_errno is None:
            for fd in join:
                os.write(fd, b"0")
    except OSError as e:
        control.send(f"error joining the instance's cgroup: {e}".encode())
        os._exit(1)
    control.send(b"ok")
    control.close()
    for fd in join:
        os.close(fd)
    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET, fileno=waiter) as handover:
        message, fds = _receive(handover, 4)
    if not message.startswith(b"run\0") or len(fds) != 4:
        os._exit(0)  # Nimbus dropped this spare (or sent nonsense)
    # Out of the way of the targets first: a received fd may be 3 or 4.
    high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in fds]
    for fd in fds:
        os.close(fd)
    for source, target in zip(high, (1, 2, 3, 4)):
        os.dup2(source, target)
        os.close(source)
    _set_environment(os.fsdecode(entry) for entry in message.split(b"\0")[1:] if entry)
    LambdaContext._init_static(os.environ)
    return _runtime_api(os.environ)


def run_forked(argv, environ):
    """Entry of an instance forked from the Python fork-server
    (src/zygote/python_zygote.cc): the interpreter and this module are already
    initialised, so only what exec would have set per instance is set here."""
    _set_environment(environ)
    sys.argv[:] = [argv[-1]]
    main()


if __name__ == "__main__":
    main()
