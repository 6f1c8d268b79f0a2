#!/usr/bin/python3
"""Memory -> CPU: the same CPU-bound Python handler at several MemorySize values,
against the chapter's "128 MB slow, 256 MB 2x, 512 MB 4x, 1024 MB 8x faster".

    /usr/bin/python3 bench/memory_cpu.py [-n 7] [--sizes 128,256,512,1024,1769]
        [--loops 5000000] [--launch zygote|exec]

Nimbus gives an instance `MemorySize / 1769` of a core as a CFS quota once its
init is over (process_instance.cc; init itself runs without a quota), as Lambda
does, so a handler that needs C seconds of one core should take about
C * 1769 / MemorySize seconds below 1769 MB. One function per size, each warmed
first (so the cold start, which is unthrottled, stays out of the numbers); the
timed calls then go round-robin over the sizes, so a change in the machine's
load during the run hits every size alike rather than the last one measured.

Duration is the REPORT line's (event delivered -> result posted); the handler
also returns the CPU time it used, which must be the same at every size: the
work is fixed, only the share of a core it may use changes. The work must
span many 100 ms CFS periods: a call shorter than a period can run on the
quota left in it and look unthrottled (1 M loops at 1024 MB: 77 ms instead of
the 125 ms the quota implies).
"""

import argparse
import base64
import json
import re
import statistics
import subprocess
import sys

from nimbus_server import loadavg, serve, wait_active, zip_source

# A pure-Python loop: no I/O and no allocation to speak of, so its time is CPU
# time and scales with the share of a core the instance gets.
HANDLER = """\
import time

def handler(event, context):
    c0, w0 = time.process_time(), time.perf_counter()
    x = 0
    for i in range(event["loops"]):
        x += i * i
    return {"cpu": time.process_time() - c0, "wall": time.perf_counter() - w0}
"""
# The same loop in a plain process on the host, timed the same way: what one
# unthrottled thread gets from the machine at that moment (on a shared 2-core
# host, less than a core), the ceiling for the 1769 MB row.
HOST_LOOP = HANDLER + """
import json, sys
print(json.dumps(handler({"loops": int(sys.argv[1])}, None)))
"""
REPORT = re.compile(r"REPORT RequestId: \S+\tDuration: ([\d.]+) ms")
CHAPTER = {128: "1x (slow)", 256: "2x", 512: "4x", 1024: "8x"}  # serverless-architecture.md, "Runtime memory impact"


def invoke(lam, name, loops):
    r = lam.invoke(FunctionName=name, Payload=json.dumps({"loops": loops}).encode(), LogType="Tail")
    out = json.loads(r["Payload"].read())
    if r.get("FunctionError"):
        raise SystemExit(f"{name}: {out}")
    m = REPORT.search(base64.b64decode(r["LogResult"]).decode(errors="replace"))
    return float(m.group(1)), out["cpu"] * 1000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=7, help="timed calls per size")
    ap.add_argument("--sizes", default="128,256,512,1024,1769")
    ap.add_argument("--loops", type=int, default=5_000_000, help="~0.3 s of one core on the reference machine")
    ap.add_argument("--launch", choices=["zygote", "exec"])
    ap.add_argument("--isolation", default="auto", choices=["auto", "on", "off"])
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    serve_args = ["--isolation", args.isolation] + (["--launch", args.launch] if args.launch else [])
    with serve(*serve_args) as (endpoint, health, lam, _):
        code = zip_source({"app.py": HANDLER})
        for mb in sizes:
            lam.create_function(FunctionName=f"cpu-{mb}", Runtime="python3.11", Handler="app.handler",
                                MemorySize=mb, Timeout=300, Role="arn:aws:iam::000000000000:role/bench",
                                Code={"ZipFile": code})
        for mb in sizes:
            wait_active(lam, f"cpu-{mb}")
            for _ in range(2):  # the cold call (no quota during init), then one throttled call discarded
                invoke(lam, f"cpu-{mb}", args.loops)
        print(f"server {health['command'].split()[0]}; isolation {health.get('isolation')}; "
              f"launch {args.launch or 'default'}; loops {args.loops:,}; N={args.n} per size", flush=True)
        loads = [loadavg()]
        dur = {mb: [] for mb in sizes}
        cpu = {mb: [] for mb in sizes}
        host_wall, host_cpu = [], []
        for _ in range(args.n):
            for mb in sizes:
                d, c = invoke(lam, f"cpu-{mb}", args.loops)
                dur[mb].append(d)
                cpu[mb].append(c)
            out = json.loads(subprocess.run([sys.executable, "-c", HOST_LOOP, str(args.loops)],
                                            capture_output=True, text=True, check=True).stdout)
            host_wall.append(out["wall"] * 1000)
            host_cpu.append(out["cpu"] * 1000)
            loads.append(loadavg())

    base = statistics.median(dur[sizes[0]])
    print(f"load (1/5/15 min) before: {loads[0]}; after: {loads[-1]}; "
          f"1-min range {min(float(l.split()[0]) for l in loads):.2f}-{max(float(l.split()[0]) for l in loads):.2f}")
    print("| MemorySize | CPU quota (cores) | Duration p50 | min - max | handler CPU p50 | CPU / quota | speed-up vs "
          f"{sizes[0]} MB | proportional | chapter |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for mb in sizes:
        p50 = statistics.median(dur[mb])
        cpu50 = statistics.median(cpu[mb])
        # The Duration an exactly enforced quota gives: the handler's CPU time
        # spread over its share of a core.
        ideal = cpu50 / min(mb / 1769, 1)
        print(f"| {mb} MB | {min(mb / 1769, 1):.3f} | {p50:,.0f} ms | {min(dur[mb]):,.0f} - {max(dur[mb]):,.0f} ms | "
              f"{cpu50:.0f} ms | {ideal:,.0f} ms | **{base / p50:.2f}x** | {min(mb, 1769) / sizes[0]:.2f}x | "
              f"{CHAPTER.get(mb, '-')} |")
    hw = statistics.median(host_wall)
    print(f"| host process (no quota) | - | {hw:,.0f} ms | {min(host_wall):,.0f} - {max(host_wall):,.0f} ms | "
          f"{statistics.median(host_cpu):.0f} ms | - | {base / hw:.2f}x | - | - |")


if __name__ == "__main__":
    main()
