#!/usr/bin/python3
"""Burst: 0 -> N concurrent executions of a Python function (issue 5: 500 within 5 s,
every request answered, no 5xx).

    /usr/bin/python3 bench/burst.py [-n 500] [--sleep 8] [--launch zygote|exec]
        [--scaling adaptive|lambda] [--memory 128] [--isolation auto|on|off]

One throwaway `nimbus serve` per run. A fresh function whose handler sleeps, so
that every call holds its instance and the N calls can only be served by N
instances at once; all N Invokes leave the client together (N threads, each with
its connection already open, released by one barrier), so every one of them is a
cold start. The handler returns the wall-clock time it started (same host clock
as the client), so the bench knows when the N-th handler was running; the
REPORT line of each call (LogType=Tail) gives its Init Duration and launch path.
Meanwhile a thread records the host's lowest MemAvailable and the slowest
/_nimbus/health round trip (a front door stalled by the burst shows there).

Load is sent as raw HTTP, not boto3: boto3 spends milliseconds of client CPU per
call, and the client shares the machine's cores with Nimbus and its instances.
The server runs without --credentials, so requests need no signature.
"""

import argparse
import base64
import http.client
import json
import os
import re
import threading
import time
from collections import Counter

from nimbus_server import loadavg, pct, serve, wait_active, zip_source

# The handler records when it starts (after its instance's init) and holds the
# instance for `sleep` seconds; the module-level time is the end of init.
HANDLER = """\
import time
INIT_AT = time.time()

def handler(event, context):
    start = time.time()
    time.sleep(event.get("sleep", 0))
    return {"start": start, "init": INIT_AT}
"""
REPORT = re.compile(r"REPORT RequestId: \S+\tDuration: ([\d.]+) ms.*?(?:\tInit Duration: ([\d.]+) ms)?"
                    r"(?:\tLaunch: (\S+))?$", re.M)


def mem_available_kb():
    for line in open("/proc/meminfo"):
        if line.startswith("MemAvailable:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


class Sampler(threading.Thread):
    """Lowest MemAvailable during the burst (what N instances cost the host), and
    the slowest /_nimbus/health round trip: a stalled front door shows there."""

    def __init__(self, host, port):
        super().__init__(daemon=True)
        self.stop = threading.Event()
        self.base = mem_available_kb()
        self.low = self.base
        self.health_max = 0.0
        self.host, self.port = host, port

    def run(self):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
        while not self.stop.wait(0.05):
            self.low = min(self.low, mem_available_kb())
            t = time.perf_counter()
            conn.request("GET", "/_nimbus/health")
            conn.getresponse().read()
            self.health_max = max(self.health_max, time.perf_counter() - t)


def fire(host, port, path, body, n, timeout):
    """N concurrent POSTs released together; returns one dict per call."""
    results = [None] * n
    barrier = threading.Barrier(n + 1)

    def one(i):
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
        conn.connect()  # before the barrier: the burst measures Nimbus, not TCP handshakes
        barrier.wait()
        t_send = time.time()
        try:
            conn.request("POST", path, body, {"Content-Type": "application/json", "X-Amz-Log-Type": "Tail"})
            r = conn.getresponse()
            data = r.read()
            results[i] = {"send": t_send, "done": time.time(), "status": r.status, "body": data,
                          "error": r.getheader("X-Amz-Function-Error"), "log": r.getheader("X-Amz-Log-Result", "")}
        except OSError as e:
            results[i] = {"send": t_send, "done": time.time(), "status": None, "body": repr(e).encode(),
                          "error": None, "log": ""}
        finally:
            conn.close()

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    barrier.wait()
    for t in threads:
        t.join()
    return results


def concurrency_curve(intervals):
    """(peak running handlers, first time it was reached) from [(start, end)]."""
    events = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals], key=lambda x: (x[0], x[1]))
    running = peak = 0
    at = None
    for t, d in events:
        running += d
        if running > peak:
            peak, at = running, t
    return peak, at


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=500, help="concurrent Invokes")
    ap.add_argument("--sleep", type=float, default=8.0, help="handler sleep, s: long enough that all N overlap")
    ap.add_argument("--memory", type=int, default=128, help="MemorySize, MB")
    ap.add_argument("--launch", choices=["zygote", "exec"], help="nimbus serve --launch (default: its own)")
    ap.add_argument("--scaling", choices=["adaptive", "lambda"], help="nimbus serve --scaling (default: its own)")
    ap.add_argument("--threads", type=int, help="nimbus serve --threads (I/O threads; default: its own)")
    ap.add_argument("--isolation", default="auto", choices=["auto", "on", "off"])
    ap.add_argument("--target", type=float, default=5.0, help="issue's target for N running, s")
    ap.add_argument("--dump", help="write every call's times (s after the first send) to this JSON file")
    ap.add_argument("--no-warmup", action="store_true",
                    help="do not start the fork-server (one Invoke of another function) before the burst")
    args = ap.parse_args()

    # Lambda keeps 100 of the account's executions unreserved; leave room for them.
    serve_args = ["--isolation", args.isolation, "--max-concurrency", str(max(1000, args.n + 100))]
    serve_args += ["--launch", args.launch] if args.launch else []
    serve_args += ["--scaling", args.scaling] if args.scaling else []
    serve_args += ["--threads", str(args.threads)] if args.threads else []
    with serve(*serve_args, keep_log=True) as (endpoint, health, lam, log_path):
        host, port = endpoint[len("http://"):].split(":")
        code = zip_source({"app.py": HANDLER})
        common = dict(Runtime="python3.11", Handler="app.handler", MemorySize=args.memory,
                      Timeout=int(args.sleep * 4 + 60), Role="arn:aws:iam::000000000000:role/bench",
                      Code={"ZipFile": code})
        if not args.no_warmup:
            # The fork-server starts with the first Python launch; a server that
            # has run anything Python already has it. Also pages in the runtime.
            lam.create_function(FunctionName="burst-warmup", **common)
            wait_active(lam, "burst-warmup")
            lam.invoke(FunctionName="burst-warmup", Payload=b'{"sleep": 0}')
        lam.create_function(FunctionName="burst", **common)
        # Reserved concurrency = N: the function is guaranteed N executions,
        # whatever else runs (the account limit was raised to at least N above).
        lam.put_function_concurrency(FunctionName="burst", ReservedConcurrentExecutions=args.n)
        wait_active(lam, "burst")

        print(f"server {health['command'].split()[0]}; uid {os.getuid()}; isolation {health.get('isolation')}; "
              f"launch {args.launch or 'default'}; scaling {args.scaling or 'default'}; "
              f"I/O threads {args.threads or 'default'}; "
              f"N={args.n}; sleep {args.sleep} s; memory {args.memory} MB", flush=True)
        load_before = loadavg()
        cpu_before = cpu_seconds(health["pid"])
        sampler = Sampler(host, int(port))
        sampler.start()
        res = fire(host, int(port), "/2015-03-31/functions/burst/invocations",
                   json.dumps({"sleep": args.sleep}).encode(), args.n, timeout=args.sleep * 4 + 120)
        sampler.stop.set()
        sampler.join()
        cpu_used = cpu_seconds(health["pid"]) - cpu_before
        load_after = loadavg()
        server_log = open(log_path).read()

    t0 = min(r["send"] for r in res)
    statuses = Counter(r["status"] for r in res)
    non2xx = [r for r in res if not (r["status"] and 200 <= r["status"] < 300)]
    func_errors = [r for r in res if r["status"] == 200 and r["error"]]
    starts, inits, launches, intervals, dump = [], [], Counter(), [], []
    for r in res:
        if r["status"] != 200 or r["error"]:
            continue
        out = json.loads(r["body"])
        tail = base64.b64decode(r["log"] or b"").decode(errors="replace")
        m = REPORT.search(tail)
        dur = float(m.group(1)) / 1000 if m else args.sleep
        if m and m.group(2):
            inits.append(float(m.group(2)))
        launches[m.group(3) if m and m.group(3) else ("warm" if m else "no REPORT")] += 1
        starts.append(out["start"] - t0)
        dump.append({"send": r["send"] - t0, "init_end": out["init"] - t0, "start": out["start"] - t0,
                     "done": r["done"] - t0, "init_ms": float(m.group(2)) if m and m.group(2) else None})
        intervals.append((out["start"], out["start"] + dur))
    if args.dump:
        json.dump(sorted(dump, key=lambda d: d["start"]), open(args.dump, "w"), indent=0)
    peak, peak_at = concurrency_curve(intervals) if intervals else (0, None)
    all_running = peak_at - t0 if peak == args.n else None

    def ms(v):
        return f"{v * 1000:.0f} ms"

    rows = [
        ("requests sent (first -> last)", ms(max(r["send"] for r in res) - t0)),
        ("first handler running", ms(min(starts)) if starts else "-"),
        ("handler start p50 / p99", f"{ms(pct(starts, 50))} / {ms(pct(starts, 99))}" if starts else "-"),
        (f"all {args.n} running at once", (f"{all_running:.2f} s" if all_running is not None else
                                          f"never (peak {peak})") + f"  (target < {args.target:g} s)"),
        ("peak concurrent executions", str(peak)),
        ("all answered", f"{max(r['done'] for r in res) - t0:.2f} s (handler sleeps {args.sleep:g} s)"),
        ("non-2xx / function errors", f"{len(non2xx)} / {len(func_errors)}  (statuses {dict(statuses)})"),
        ("Init Duration p50 / p99 / max", f"{pct(inits, 50):.0f} / {pct(inits, 99):.0f} / {max(inits):.0f} ms "
                                          f"({len(inits)} cold)" if inits else "-"),
        ("launch paths", ", ".join(f"{k} {v}" for k, v in launches.items())),
        ("host memory used by the burst", f"{(sampler.base - sampler.low) / 1024 / 1024:.2f} GiB "
                                          f"(MemAvailable {sampler.base / 1024 / 1024:.1f} -> "
                                          f"{sampler.low / 1024 / 1024:.1f} GiB)"),
        ("slowest health check during it", ms(sampler.health_max)),
        ("nimbus serve CPU during the burst", f"{cpu_used:.2f} s"),
        ("load before / after", f"{load_before} / {load_after}"),
    ]
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"  {k:{width}s}  {v}")
    for r in non2xx[:3] + func_errors[:3]:
        print(f"  e.g. status {r['status']}: {r['body'][:300]!r}")
    problems = [l for l in server_log.splitlines() if re.search(r"\b(error|warn|fail)", l, re.I)]
    if problems:
        print(f"  server log: {len(problems)} warning/error lines, e.g.:")
        for l in problems[:5]:
            print("    " + l[:300])
    os.unlink(log_path)
    met = all_running is not None and all_running < args.target and not non2xx and not func_errors
    print(f"  target (N={args.n} running < {args.target:g} s, all answered, no 5xx): {'MET' if met else 'MISSED'}")


if __name__ == "__main__":
    main()
