#!/usr/bin/python3
"""Cold start p50/p99 per runtime on a throwaway `nimbus serve`, and where the
time goes.

    /usr/bin/python3 bench/cold_start.py [-n 30] [--runtimes python3.11,nodejs20.x,provided.al2023]
        [--isolation auto|on|off] [--no-split]

Each of the N rounds forces a cold start the way a user would: UpdateFunctionConfiguration
with a changed environment variable (Nimbus retires the warm instances of the old
revision), waits for LastUpdateStatus=Successful, then Invokes with LogType=Tail and
parses the REPORT line. With --cold-by expiry the server keeps no idle instance
(--keep-alive 0) and the configuration stays the same, so that from round 1 on every
instance of a Python function forks from its snapshot (a new configuration would
discard it); the Launch column counts the paths taken.
  Init Duration  instance start() -> the runtime's first GET /runtime/invocation/next:
                 sandbox creation + runtime process start + the function's init code
  Duration       the handler (event delivered -> response posted)
  Init+Duration  their sum per call: the server's side of a cold invoke, less the pool's
                 dispatch and the hop from the runtime's first request to its event
  client         boto3 invoke() wall time (HTTP round trip, Lambda API, pool, init, handler)
The split of Init Duration (printed after the table):
  sandbox        bench/nimbus_sandbox_bench, isolated spawn() of /bin/true (spawn_total_us)
  runtime start  tests/runtimes/startup_bench.py: process start -> first GET next, outside
                 the sandbox, with a trivial handler (so it includes importing the handler)
  init (rest)    Init Duration p50 - sandbox - runtime start: the function's own init code
                 (none in these echo functions) plus what the platform adds around them.
"""

import argparse
import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from nimbus_server import nimbus_bin, pct, serve

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
FUNCS = {
    "python3.11": ("echo-python", "app.handler"),
    "python3.11+boto3": ("boto3-python", "app.handler"),  # imports boto3, builds a client at init
    "nodejs20.x": ("echo-node", "index.handler"),
    "provided.al2023": ("echo-cpp", "bootstrap"),
}
REPORT = re.compile(r"REPORT RequestId: \S+\tDuration: ([\d.]+) ms.*?(?:\tInit Duration: ([\d.]+) ms)?(?:\tLaunch: (\S+))?$", re.M)


def zip_function(src: Path) -> bytes:
    with tempfile.TemporaryDirectory() as stage:
        stage = Path(stage)
        if (src / "build.sh").exists():
            subprocess.run([str(src / "build.sh"), str(stage / "bootstrap")], check=True)
        else:
            shutil.copytree(src, stage, dirs_exist_ok=True)
        zpath = stage.parent / (stage.name + ".zip")
        with zipfile.ZipFile(zpath, "w") as z:
            for p in stage.rglob("*"):
                info = zipfile.ZipInfo(str(p.relative_to(stage)))
                info.external_attr = (p.stat().st_mode & 0o777) << 16
                z.writestr(info, p.read_bytes())
        data = zpath.read_bytes()
        zpath.unlink()
        return data


def sandbox_bench_us():
    """Isolated spawn() of /bin/true from nimbus_sandbox_bench, or None."""
    for d in ("build-bench", "build", "build-lead"):
        exe = ROOT / d / "bench" / "nimbus_sandbox_bench"
        if exe.exists():
            out = subprocess.run([str(exe), "--benchmark_filter=BM_SpawnTrue/isolate:1", "--benchmark_format=json",
                                  "--benchmark_min_time=1"], capture_output=True, text=True)
            try:
                b = json.loads(out.stdout)["benchmarks"][0]
                return {k: b[k] for k in b if k.endswith("_us")} | {"real_time_us": b["real_time"]}
            except (ValueError, KeyError, IndexError):
                return None
    return None


def startup_bench_ms(runs):
    """{"python": ms, "node": ms} from tests/runtimes/startup_bench.py (spawn -> first next)."""
    env = {k: v for k, v in os.environ.items() if k != "NODE_EXTRA_CA_CERTS"}
    out = subprocess.run(["/usr/bin/python3", str(ROOT / "tests/runtimes/startup_bench.py"), str(runs)],
                         capture_output=True, text=True, env=env)
    res = {}
    for line in out.stdout.splitlines():
        m = re.match(r"(\w+)\s+median of \d+: spawn->first next\s+([\d.]+) ms", line)
        if m:
            res[m.group(1)] = float(m.group(2))
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=30)
    ap.add_argument("--runtimes", default=",".join(FUNCS))
    ap.add_argument("--memory", type=int, default=int(os.environ.get("MEMORY", 1769)))
    ap.add_argument("--isolation", default="auto", choices=["auto", "on", "off"],
                    help="passed to nimbus serve; 'off' shows what the sandbox adds to a cold start")
    ap.add_argument("--no-split", action="store_true", help="skip the sandbox/runtime-start split")
    ap.add_argument("--launch", choices=["zygote", "exec"], help="passed to nimbus serve (default: its own, zygote)")
    ap.add_argument("--snapshots", choices=["on", "off"], help="passed to nimbus serve (default: its own, on)")
    ap.add_argument("--cold-by", choices=["config", "expiry"], default="config",
                    help="how each round gets a cold start (see above)")
    ap.add_argument("--gap", type=float, default=0,
                    help="seconds between a configuration change and the invoke (Node's prepared runtime, "
                         "restarted after each use, is ready again ~0.1 s later)")
    args = ap.parse_args()

    extra = ["--isolation", args.isolation] + (["--launch", args.launch] if args.launch else [])
    extra += ["--snapshots", args.snapshots] if args.snapshots else []
    extra += ["--keep-alive", "0"] if args.cold_by == "expiry" else []
    with serve(*extra) as (endpoint, health, lam, _log):
        load = open("/proc/loadavg").read().split()[:3]
        print(f"server {nimbus_bin()}; isolation: {health.get('isolation')}; memory {args.memory} MB; "
              f"N={args.n}; load {' '.join(load)}")
        rows = {}
        for runtime in args.runtimes.split(","):
            name, handler = FUNCS[runtime]
            fname = "cold-" + name
            lam.create_function(FunctionName=fname, Runtime=runtime.split("+")[0], Handler=handler, MemorySize=args.memory,
                                Timeout=30, Role="arn:aws:iam::000000000000:role/bench",
                                Code={"ZipFile": zip_function(BENCH / "functions" / name)})
            init, dur, client, launches = [], [], [], {}
            for i in range(args.n + 1):  # round 0 is a discarded warm-up (page cache, first cgroup)
                if args.cold_by == "config":
                    lam.update_function_configuration(FunctionName=fname, Environment={"Variables": {"ROUND": str(i)}})
                    while lam.get_function_configuration(FunctionName=fname)["LastUpdateStatus"] != "Successful":
                        time.sleep(0.01)
                    time.sleep(args.gap)
                else:
                    time.sleep(0.2)  # the previous instance expires (and the snapshot's init ends)
                t0 = time.perf_counter()
                r = lam.invoke(FunctionName=fname, Payload=b'{"hello":"world"}', LogType="Tail")
                t1 = time.perf_counter()
                r["Payload"].read()
                tail = base64.b64decode(r.get("LogResult", "")).decode(errors="replace")
                m = REPORT.search(tail)
                if not m or not m.group(2):
                    sys.exit(f"{fname}: no cold REPORT line in log tail:\n{tail}")
                if i == 0:
                    continue
                launch = m.group(3) or "-"
                launches[launch] = launches.get(launch, 0) + 1
                dur.append(float(m.group(1)))
                init.append(float(m.group(2)))
                client.append((t1 - t0) * 1000)
            rows[runtime] = (init, dur, client)
            both = [i + d for i, d in zip(init, dur)]  # the server's side of a cold invoke, per call
            print(f"{runtime:16s} Init Duration p50 {pct(init, 50):7.1f} p99 {pct(init, 99):7.1f} ms | "
                  f"Duration p50 {pct(dur, 50):6.2f} p99 {pct(dur, 99):6.2f} ms | "
                  f"Init+Duration p50 {pct(both, 50):7.1f} p99 {pct(both, 99):7.1f} ms | "
                  f"client p50 {pct(client, 50):7.1f} p99 {pct(client, 99):7.1f} ms | Launch "
                  + ", ".join(f"{k} {v}" for k, v in sorted(launches.items())), flush=True)

    if args.no_split:
        return
    sb = sandbox_bench_us()
    st = startup_bench_ms(20)
    sandbox_ms = sb["spawn_total_us"] / 1000 if sb else None
    print("\nsplit of the p50 cold start (ms):")
    if sb:
        print("  sandbox (isolated spawn of /bin/true, nimbus_sandbox_bench): " +
              ", ".join(f"{k[:-3]} {v / 1000:.2f}" for k, v in sb.items()))
    else:
        print("  sandbox: nimbus_sandbox_bench not built or failed (build it: ninja -C build-bench nimbus_sandbox_bench)")
    for runtime, (init, dur, client) in rows.items():
        rt = {"python3.11": st.get("python"), "nodejs20.x": st.get("node")}.get(runtime)
        parts = [f"client {pct(client, 50):.1f}", f"Init Duration {pct(init, 50):.1f}"]
        if sandbox_ms is not None:
            parts.append(f"sandbox {sandbox_ms:.1f}")
        if rt is not None:
            parts.append(f"runtime start {rt:.1f} (outside sandbox)")
        if sandbox_ms is not None:
            parts.append(f"init rest {pct(init, 50) - sandbox_ms - (rt or 0):.1f}")
        parts.append(f"handler {pct(dur, 50):.2f}")
        parts.append(f"outside init+handler {pct(client, 50) - pct(init, 50) - pct(dur, 50):.1f}")
        print(f"  {runtime:16s} " + " | ".join(parts))


if __name__ == "__main__":
    main()
