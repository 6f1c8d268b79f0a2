"""Fake Lambda Runtime APIs and helpers to run a runtime bootstrap against them.

Two fakes with one interface (invoke / result / wait_init_error /
wait_first_next), one per transport Nimbus's runtimes speak:

- FakeRuntimeAPI, the HTTP Runtime API: serves queued events on GET
  .../invocation/next (long-poll) and records what the function posts back.
- FakeChannelAPI, Nimbus's runtime channel (src/faas/runtime_channel.h):
  length-prefixed frames over two pipes the function inherits as fds 3 and 4.
  Like the server, it sends an event only once the runtime said it is ready
  (its one 'N' frame, or a result), and it records every protocol violation.

Every time the function talks to the API, the harness first drains the
function's stdout/stderr pipes without blocking, so each recorded result
carries the output that was already in the pipe when the result arrived: that
is how the tests check that logs are flushed before the response.
"""

import json
import os
import queue
import select
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUNTIMES = os.path.join(REPO, "runtimes")
EXAMPLES = os.path.join(REPO, "examples")
PYTHON = "/usr/bin/python3"
NODE = "/usr/bin/node"
PYTHON_CMD = [PYTHON, "-S", "-B", os.path.join(RUNTIMES, "python", "bootstrap.py")]
NODE_CMD = [NODE, os.path.join(RUNTIMES, "node", "bootstrap.js")]
TIMEOUT = 20  # generous upper bound for waits; tests normally finish in ms

PREFIX = "/2018-06-01/runtime"
POLL_INTERVAL = 0.01  # how fast the fake servers notice shutdown()
CHANNEL_FDS = (3, 4)  # where Nimbus puts the runtime channel: events in, results out (NIMBUS_RUNTIME_FD)


class QuietServer(ThreadingHTTPServer):
    """Does not print tracebacks when a function is killed mid-request."""

    daemon_threads = True

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class Result:
    def __init__(self, kind, body, headers, output):
        self.kind = kind  # "response", "error" or "init_error"
        self.raw = body
        self.headers = headers
        self.output = output  # stdout + stderr seen when the result was posted
        self.at = time.monotonic()  # when it arrived

    @property
    def json(self):
        return json.loads(self.raw)


ARN = "arn:aws:lambda:us-east-1:000000000000:function:test-fn"
TRACE_ID = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"


class Event:
    """One queued invocation, as either transport delivers it."""

    def __init__(self, request_id, deadline_ms, arn, trace_id, client_context, identity, body):
        self.request_id = request_id
        self.deadline_ms = deadline_ms
        self.arn = arn
        self.trace_id = trace_id
        self.client_context = client_context  # JSON text or ""
        self.identity = identity  # JSON text or ""
        self.body = body


class _FakeAPI:
    """What the tests see of either fake: queue events, wait for results."""

    transport = None

    def __init__(self):
        self.events = queue.Queue()
        self.results = {}
        self.sent_at = {}  # request id -> when the event was handed to the function
        self.init_error = None
        self.first_next_at = None
        self.protocol_errors = []  # what the function did wrong on the wire
        self.reported_errors = 0  # how many of them a wait() already raised
        self.hung_up = False  # the function closed its end of the runtime channel
        self.on_request = lambda: ""  # returns the function output seen so far
        self.on_first_next = lambda: None  # the function is ready for its first event
        self._cond = threading.Condition()  # re-entrant

    # How FunctionProcess wires a function to this fake.
    def env(self):
        return {"AWS_LAMBDA_RUNTIME_API": self.address}

    def popen_options(self):
        return {}

    def started(self):
        """Called once the function process is running."""

    def invoke(self, event, timeout_ms=30000, client_context=None, identity=None, raw=None,
               request_id=None, trace_id=TRACE_ID, arn=ARN):
        request_id = request_id or str(uuid.uuid4())
        self.events.put(Event(
            request_id, int(time.time() * 1000) + timeout_ms, arn, trace_id,
            json.dumps(client_context) if client_context is not None else "",
            json.dumps(identity) if identity is not None else "",
            raw if raw is not None else json.dumps(event).encode()))
        return request_id

    def _record(self, request_id, result):
        """Stores a result (request_id None: the init error)."""
        with self._cond:
            if request_id is None:
                self.init_error = result
            else:
                self.results[request_id] = result
            self._cond.notify_all()

    def _first_next(self):
        with self._cond:
            if self.first_next_at is None:
                self.first_next_at = time.monotonic()
                self.on_first_next()
            self._cond.notify_all()

    def _violation(self, message):
        with self._cond:
            self.protocol_errors.append(message)
            self._cond.notify_all()

    def wait(self, predicate):
        with self._cond:
            ok = self._cond.wait_for(lambda: predicate() or self.protocol_errors or self.hung_up, TIMEOUT)
            if self.protocol_errors:
                self.reported_errors = len(self.protocol_errors)
                raise AssertionError(f"{self.transport} transport: {self.protocol_errors}")
            if not predicate() and self.hung_up:
                raise AssertionError("the function closed the runtime channel (exited?) before doing that")
            if not ok:
                raise TimeoutError(f"fake Runtime API ({self.transport}): timed out waiting for the function")

    def result(self, request_id):
        self.wait(lambda: request_id in self.results)
        return self.results[request_id]

    def wait_init_error(self):
        self.wait(lambda: self.init_error is not None)
        return self.init_error

    def wait_first_next(self):
        self.wait(lambda: self.first_next_at is not None)
        return self.first_next_at


class FakeRuntimeAPI(_FakeAPI):
    """The HTTP Lambda Runtime API."""

    transport = "http"

    def __init__(self):
        super().__init__()
        self.chunked = False  # serve events with Transfer-Encoding: chunked
        self.drop_connections = False  # close the connection after each POST
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _reply(self, status, body=b"", headers=None):
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if self.path != PREFIX + "/invocation/next":
                    return self._reply(404)
                api._first_next()
                api.on_request()
                event = api.events.get()
                if event is None:  # harness shutting down
                    self.close_connection = True
                    return
                api.sent_at[event.request_id] = time.monotonic()
                body, headers = event.body, api.event_headers(event)
                if not api.chunked:
                    return self._reply(200, body, headers)
                self.send_response(200)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                half = len(body) // 2
                for chunk in (body[:half], body[half:]):
                    if chunk:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.write(b"0\r\n\r\n")

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                output = api.on_request()
                parts = self.path[len(PREFIX):].strip("/").split("/")
                if parts == ["init", "error"]:
                    api._record(None, Result("init_error", body, dict(self.headers), output))
                elif len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
                    api._record(parts[1], Result(parts[2], body, dict(self.headers), output))
                else:
                    return self._reply(404)
                self._reply(202, b'{"status":"OK"}', {"Content-Type": "application/json"})
                # Like a server dropping idle keep-alive connections, without warning.
                self.close_connection = api.drop_connections

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(POLL_INTERVAL,), daemon=True).start()

    @staticmethod
    def event_headers(event):
        headers = {
            "Lambda-Runtime-Aws-Request-Id": event.request_id,
            "Lambda-Runtime-Deadline-Ms": str(event.deadline_ms),
            "Lambda-Runtime-Invoked-Function-Arn": event.arn,
            "Lambda-Runtime-Trace-Id": event.trace_id,
            "Lambda-Runtime-Client-Context": event.client_context,
            "Lambda-Runtime-Cognito-Identity": event.identity,
            "Content-Type": "application/json",
        }
        return {name: value for name, value in headers.items() if value}

    def close(self):
        self.events.put(None)
        self.server.shutdown()
        self.server.server_close()


def _keep_channel_fds_open():
    """Popen(pass_fds=(3, 4)) marks the child's fds 3 and 4 inheritable before
    preexec_fn runs, which fails if this process has no such fd."""
    for fd in CHANNEL_FDS:
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_RDONLY)
            if null != fd:
                os.dup2(null, fd, inheritable=False)
                os.close(null)


def _install_channel(events_r, results_w):
    """preexec_fn: the pipe ends become fds 3 and 4 (copied high first, so that
    neither dup2 clobbers the other end)."""
    high = [os.dup2(fd, 100 + i) for i, fd in enumerate((events_r, results_w))]
    for target, fd in zip(CHANNEL_FDS, high):
        os.dup2(fd, target)


class FakeChannelAPI(_FakeAPI):
    """Nimbus's runtime channel: frames over two pipes the function gets as fds 3 and 4.

    Like the server, it writes an event only when the runtime is ready for
    one: after its 'N' frame (sent once, before the first event), then after
    each result. Whatever the runtime does against the protocol lands in
    protocol_errors, which makes wait() fail at once (and the api fixture
    checks it is empty at the end of every test). AWS_LAMBDA_RUNTIME_API
    points at a trap that records any HTTP request as such an error, so a
    runtime that ignores the channel fails loudly.
    """

    transport = "channel"

    def __init__(self):
        super().__init__()
        self.frames = []  # kind of every frame the function sent, in order: "N", "R", "E", "I"
        self.chunked = False  # deliver each event frame in several writes
        events_r, self._events_w = os.pipe()
        self._results_r, results_w = os.pipe()
        self._child = (events_r, results_w)
        # The function's fds 3 and 4 read as "pipe:[<inode>]" in /proc/PID/fd.
        self.channel_link = f"pipe:[{os.fstat(events_r).st_ino}]"
        self.channel_out_link = f"pipe:[{os.fstat(results_w).st_ino}]"
        self._ready = False
        self._outstanding = None  # request id of the event the function is working on
        self._closed = False
        api = self

        class Trap(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _trap(self):
                api._violation(f"used the HTTP Runtime API ({self.command} {self.path}) instead of the channel")
                self.send_response(500)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = _trap

        self.server = QuietServer(("127.0.0.1", 0), Trap)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(POLL_INTERVAL,), daemon=True).start()
        self._reader = threading.Thread(target=self._read_frames, daemon=True)
        self._reader.start()
        threading.Thread(target=self._send_events, daemon=True).start()

    def env(self):
        return {"AWS_LAMBDA_RUNTIME_API": self.address, "NIMBUS_RUNTIME_FD": ",".join(map(str, CHANNEL_FDS))}

    def popen_options(self):
        if self._child is None:
            raise RuntimeError("a FakeChannelAPI serves one function process")
        _keep_channel_fds_open()
        events_r, results_w = self._child
        return {"pass_fds": CHANNEL_FDS, "preexec_fn": lambda: _install_channel(events_r, results_w)}

    def started(self):
        for fd in self._child:  # so that the function exiting reads as EOF here
            os.close(fd)
        self._child = None

    # ---- the wire ----

    def _send_events(self):
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._ready or self._closed)
                if self._closed:
                    return
            event = self.events.get()
            if event is None:
                return
            fields = [event.request_id, str(event.deadline_ms), event.arn, event.trace_id,
                      event.client_context, event.identity]
            body = b"".join(f.encode() + b"\0" for f in fields) + event.body
            with self._cond:
                self._ready = False
                self._outstanding = event.request_id
                self.sent_at[event.request_id] = time.monotonic()
            frame = (len(body) + 1).to_bytes(4, "little") + b"V" + body
            # chunked: the frame arrives in pieces (split header, split body), to be reassembled.
            cuts = [0, 2, 5, 5 + len(body) // 2, len(frame)] if self.chunked else [0, len(frame)]
            try:
                for start, end in zip(cuts, cuts[1:]):
                    if start:
                        time.sleep(0.005)  # lets the runtime read what it has so far
                    view = memoryview(frame)[start:end]
                    while view:
                        view = view[os.write(self._events_w, view):]
            except OSError:
                return

    def _read_frames(self):
        buf = bytearray()

        poller = select.poll()
        poller.register(self._results_r, select.POLLIN)

        def fill(n):  # False on EOF (or close()) before n bytes are buffered
            while len(buf) < n:
                if not poller.poll(POLL_INTERVAL * 1000):
                    if self._closed:
                        return False
                    continue
                try:
                    chunk = os.read(self._results_r, max(1 << 20, n - len(buf)))
                except OSError:
                    chunk = b""
                if not chunk:
                    return False
                buf.extend(chunk)
            return True

        while fill(4):
            length = int.from_bytes(buf[:4], "little")
            if length == 0:
                return self._violation("empty frame (length 0)")
            if not fill(4 + length):
                if not self._closed:
                    self._violation(f"channel closed in the middle of a {length}-byte frame")
                return
            kind, body = chr(buf[4]), bytes(buf[5:4 + length])
            del buf[:4 + length]
            self._on_frame(kind, body, self.on_request())
        if buf and not self._closed:
            self._violation(f"channel closed in the middle of a frame header: {bytes(buf)!r}")
        with self._cond:
            self.hung_up = True
            self._cond.notify_all()

    def _on_frame(self, kind, body, output):
        with self._cond:
            self.frames.append(kind)
            if kind == "N":
                if body:
                    self._violation(f"'N' frame with a body: {body[:100]!r}")
                if len(self.frames) > 1:
                    self._violation(f"'N' frame after {self.frames[:-1]}: it is sent once, before the first event")
                self._ready = True
                self._first_next()
            elif kind in ("R", "E"):
                fields = body.split(b"\0", 1 if kind == "R" else 2)
                if len(fields) != (2 if kind == "R" else 3):
                    return self._violation(f"malformed {kind!r} frame: {body[:200]!r}")
                request_id = fields[0].decode()
                if request_id != self._outstanding:
                    self._violation(f"{kind!r} frame for {request_id!r} while the event in flight is "
                                    f"{self._outstanding!r}")
                self._outstanding = None
                self._ready = True
                if kind == "R":
                    result = Result("response", fields[1], {}, output)
                else:
                    result = Result("error", fields[2],
                                    {"Lambda-Runtime-Function-Error-Type": fields[1].decode()}, output)
                self._record(request_id, result)
            elif kind == "I":
                fields = body.split(b"\0", 1)
                if len(fields) != 2:
                    return self._violation(f"malformed 'I' frame: {body[:200]!r}")
                if len(self.frames) > 1:
                    self._violation(f"'I' frame after {self.frames[:-1]}")
                self._record(None, Result("init_error", fields[1],
                                          {"Lambda-Runtime-Function-Error-Type": fields[0].decode()}, output))
            else:
                self._violation(f"unknown frame kind {kind!r}")
            self._cond.notify_all()

    def close(self):
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self.events.put(None)
        os.close(self._events_w)  # the function sees EOF; the reader notices _closed
        self._reader.join(TIMEOUT)
        os.close(self._results_r)
        if self._child is not None:
            for fd in self._child:
                os.close(fd)
        self.server.shutdown()
        self.server.server_close()


TRANSPORTS = {"http": FakeRuntimeAPI, "channel": FakeChannelAPI}


def base_env(api_address, task_root, handler, extra=None):
    """Environment like the server gives a function, minus slow-start variables."""
    env = {
        "PATH": "/usr/bin:/bin",
        "AWS_LAMBDA_RUNTIME_API": api_address,
        "_HANDLER": handler,
        "LAMBDA_TASK_ROOT": str(task_root),
        "LAMBDA_RUNTIME_DIR": RUNTIMES,
        "AWS_LAMBDA_FUNCTION_NAME": "test-fn",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/test-fn",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2024/01/01/[$LATEST]0123456789abcdef",
        "TZ": ":UTC",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_SESSION_TOKEN": "token",
    }
    env.update(extra or {})
    return env


class FunctionProcess:
    """A runtime process wired to a FakeRuntimeAPI, with race-free output capture.

    A reader thread keeps the pipes drained (so a chatty function never blocks
    on a full pipe), and the fake API drains them again whenever the function
    calls it; both read under one lock, so the output snapshot taken when a
    result arrives holds everything the function wrote before posting it.
    """

    def __init__(self, api, argv, env, cwd):
        self.api = api
        self.cwd = str(cwd)
        self._lock = threading.Lock()
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(argv, env=env, cwd=self.cwd, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, **api.popen_options())
        api.started()
        self._out = {}
        self._open = set()
        for stream in (self.proc.stdout, self.proc.stderr):
            os.set_blocking(stream.fileno(), False)
            self._out[stream.fileno()] = b""
            self._open.add(stream.fileno())
        api.on_request = self.drain
        self._reader = threading.Thread(target=self._read_until_eof, daemon=True)
        self._reader.start()

    def _read_until_eof(self):
        while self._open:
            select.select(list(self._open), [], [])
            self.drain()

    def drain(self):
        """Collect whatever the function has written so far; returns all output."""
        with self._lock:
            for fd in list(self._open):
                while True:
                    try:
                        chunk = os.read(fd, 65536)
                    except BlockingIOError:
                        break
                    if not chunk:
                        self._open.discard(fd)
                        break
                    self._out[fd] += chunk
            return self.output

    @property
    def output(self):
        return b"".join(self._out.values()).decode(errors="replace")

    def wait_exit(self):
        code = self.proc.wait(TIMEOUT)
        self._reader.join(TIMEOUT)
        return code

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.wait_exit()
        self.proc.stdout.close()
        self.proc.stderr.close()


class FakeSTS:
    """Stands in for the Nimbus edge endpoint: answers STS GetCallerIdentity."""

    def __init__(self, account):
        self.requests = []
        sts = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                sts.requests.append((self.path, dict(self.headers), body))
                reply = (
                    '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
                    "<GetCallerIdentityResult>"
                    f"<Arn>arn:aws:iam::{account}:root</Arn><UserId>{account}</UserId><Account>{account}</Account>"
                    "</GetCallerIdentityResult>"
                    "<ResponseMetadata><RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ResponseMetadata>"
                    "</GetCallerIdentityResponse>"
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(POLL_INTERVAL,), daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
