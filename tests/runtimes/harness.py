"""Fake Lambda Runtime API and helpers to run a runtime bootstrap against it.

The fake serves queued events on GET .../invocation/next (long-poll) and
records what the function posts back. Every time the function talks to the
API, the harness first drains the function's stdout/stderr pipes without
blocking, so each recorded result carries the output that was already in the
pipe when the result arrived: that is how the tests check that logs are
flushed before the response.
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


class QuietServer(ThreadingHTTPServer):
    """Does not print tracebacks when a function is killed mid-request."""

    daemon_threads = True

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class Result:
    def __init__(self, kind, body, headers, output):
        self.kind = kind  # "response" or "error"
        self.raw = body
        self.headers = headers
        self.output = output  # stdout + stderr seen when the result was posted

    @property
    def json(self):
        return json.loads(self.raw)


class FakeRuntimeAPI:
    def __init__(self):
        self.events = queue.Queue()
        self.results = {}
        self.init_error = None
        self.first_next_at = None
        self.chunked = False  # serve events with Transfer-Encoding: chunked
        self.drop_connections = False  # close the connection after each POST
        self.on_request = lambda: ""  # returns the function output seen so far
        self.on_first_next = lambda: None  # the function is blocked in its first GET next
        self._cond = threading.Condition()
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
                with api._cond:
                    if api.first_next_at is None:
                        api.first_next_at = time.monotonic()
                        api.on_first_next()
                    api._cond.notify_all()
                api.on_request()
                item = api.events.get()
                if item is None:  # harness shutting down
                    self.close_connection = True
                    return
                body, headers = item
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
                with api._cond:
                    if parts == ["init", "error"]:
                        api.init_error = Result("init_error", body, dict(self.headers), output)
                    elif len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
                        api.results[parts[1]] = Result(parts[2], body, dict(self.headers), output)
                    else:
                        return self._reply(404)
                    api._cond.notify_all()
                self._reply(202, b'{"status":"OK"}', {"Content-Type": "application/json"})
                # Like a server dropping idle keep-alive connections, without warning.
                self.close_connection = api.drop_connections

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(POLL_INTERVAL,), daemon=True).start()

    def invoke(self, event, timeout_ms=30000, client_context=None, identity=None, raw=None):
        request_id = str(uuid.uuid4())
        headers = {
            "Lambda-Runtime-Aws-Request-Id": request_id,
            "Lambda-Runtime-Deadline-Ms": str(int(time.time() * 1000) + timeout_ms),
            "Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:us-east-1:000000000000:function:test-fn",
            "Lambda-Runtime-Trace-Id": "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1",
            "Content-Type": "application/json",
        }
        if client_context is not None:
            headers["Lambda-Runtime-Client-Context"] = json.dumps(client_context)
        if identity is not None:
            headers["Lambda-Runtime-Cognito-Identity"] = json.dumps(identity)
        self.events.put((raw if raw is not None else json.dumps(event).encode(), headers))
        return request_id

    def wait(self, predicate):
        with self._cond:
            if not self._cond.wait_for(predicate, TIMEOUT):
                raise TimeoutError("fake Runtime API: timed out waiting for the function")

    def result(self, request_id):
        self.wait(lambda: request_id in self.results)
        return self.results[request_id]

    def wait_init_error(self):
        self.wait(lambda: self.init_error is not None)
        return self.init_error

    def wait_first_next(self):
        self.wait(lambda: self.first_next_at is not None)
        return self.first_next_at

    def close(self):
        self.events.put(None)
        self.server.shutdown()
        self.server.server_close()


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
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
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
