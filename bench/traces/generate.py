#!/usr/bin/python3
"""Generates the keep-alive simulator's traces (`nimbus simulate --trace FILE`).

Deterministic for a seed: the same command writes the same bytes. Scenarios
(one day each, ~1 M requests):

  even    1 M requests/day spread evenly over the day: 20 busy HTTP functions
          (Poisson arrivals, most of the load), 380 timer functions (cron,
          every 20 min to 4 h, a second of jitter) and 100 sporadic ones
          (Poisson, a mean gap of 2 min to 4 h).
  spiky   the same day with ~20 % of the requests in bursts of 100 req/s for
          10 s: hourly at :00, every 20 minutes at :07/:27/:47, every
          10 minutes at :03, and six at random times.
  mix     500 functions whose rates are log-uniform from 1/day to 0.25/s
          (the heavy tail of the Azure Functions characterisation): 80 %
          Poisson, 20 % timers.

Formats: `csv` (timestamp_ms,function,duration_ms,memory_mb; the default) and
`azure` (the Azure Functions 2019 trace's per-minute counts, no durations).

    /usr/bin/python3 bench/traces/generate.py even > bench/traces/even.csv
    /usr/bin/python3 bench/traces/generate.py --all      # every scenario into bench/traces/
"""
import argparse
import math
import os
import random
import sys

DAY_MS = 86_400_000
MEMORY = [128, 256, 256, 512, 512, 1024, 2048]


class Function:
    def __init__(self, rng, name, median_ms=None):
        self.name = name
        self.memory = rng.choice(MEMORY)
        # Per-function median duration, log-uniform 10 ms .. 2 s.
        self.median = median_ms or math.exp(rng.uniform(math.log(10), math.log(2000)))

    def duration(self, rng):
        return max(1, min(60_000, int(rng.lognormvariate(math.log(self.median), 0.5))))


def poisson(rng, f, per_day, out, start=0, end=DAY_MS):
    t = start + rng.expovariate(per_day / DAY_MS)
    while t < end:
        out.append((int(t), f.name, f.duration(rng), f.memory))
        t += rng.expovariate(per_day / DAY_MS)


def timer(rng, f, period_ms, out, jitter_ms=1000):
    t = rng.uniform(0, period_ms)
    while t < DAY_MS:
        out.append((max(0, int(t + rng.uniform(-jitter_ms, jitter_ms))), f.name, f.duration(rng), f.memory))
        t += period_ms


def burst(rng, f, start, out, rate=100, seconds=10):
    for i in range(rate * seconds):
        t = start + rng.uniform(0, seconds * 1000)
        if t < DAY_MS:
            out.append((int(t), f.name, f.duration(rng), f.memory))


def base_day(rng, busy_per_day, out):
    # Busy functions: Zipf-like shares of the load.
    weights = [1 / (i + 1) for i in range(20)]
    total = sum(weights)
    for i, w in enumerate(weights):
        poisson(rng, Function(rng, f"api-{i:02d}", median_ms=math.exp(rng.uniform(math.log(20), math.log(400)))),
                busy_per_day * w / total, out)
    periods = [20, 30, 45, 60, 90, 120, 180, 240]
    for i in range(380):
        timer(rng, Function(rng, f"cron-{i:03d}"), rng.choice(periods) * 60_000, out)
    for i in range(100):
        mean_gap_min = math.exp(rng.uniform(math.log(2), math.log(240)))
        poisson(rng, Function(rng, f"sporadic-{i:03d}"), 1440 / mean_gap_min, out)


def even(rng):
    out = []
    base_day(rng, 980_000, out)
    return out


def spiky(rng):
    out = []
    base_day(rng, 780_000, out)
    hourly = Function(rng, "spike-hourly", median_ms=800)
    for h in range(24):
        burst(rng, hourly, h * 3_600_000, out)
    twenty = Function(rng, "spike-20min", median_ms=600)
    for m in range(7, 1440, 20):
        burst(rng, twenty, m * 60_000, out)
    ten = Function(rng, "spike-10min", median_ms=500)
    poisson(rng, ten, 2880, out)  # a trickle between its bursts
    for m in range(3, 1440, 10):
        burst(rng, ten, m * 60_000, out, seconds=5)
    random_spikes = Function(rng, "spike-random", median_ms=700)
    for _ in range(6):
        burst(rng, random_spikes, rng.uniform(0, DAY_MS - 10_000), out)
    return out


def mix(rng):
    out = []
    lo, hi = math.log(1.0), math.log(0.25 * 86_400)
    for i in range(500):
        per_day = math.exp(rng.uniform(lo, hi))
        f = Function(rng, f"fn-{i:03d}")
        if rng.random() < 0.2 and per_day <= 288:
            timer(rng, f, DAY_MS / per_day, out)
        else:
            poisson(rng, f, per_day, out)
    return out


SCENARIOS = {"even": even, "spiky": spiky, "mix": mix}


def write_csv(events, f):
    f.write("timestamp_ms,function,duration_ms,memory_mb\n")
    f.writelines(f"{t},{n},{d},{m}\n" for t, n, d, m in events)


def write_azure(events, f):
    counts = {}
    for t, n, _, _ in events:
        counts.setdefault(n, [0] * 1440)[min(1439, t // 60_000)] += 1
    f.write("HashOwner,HashApp,HashFunction,Trigger," + ",".join(str(m) for m in range(1, 1441)) + "\n")
    for n in sorted(counts):
        f.write(f"owner,app-{n},{n},timer," + ",".join(map(str, counts[n])) + "\n")


def generate(name, seed, fmt, f):
    events = SCENARIOS[name](random.Random(f"{name}:{seed}"))
    events.sort()
    (write_azure if fmt == "azure" else write_csv)(events, f)
    return len(events)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("scenario", nargs="?", choices=sorted(SCENARIOS))
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--format", choices=["csv", "azure"], default="csv")
    p.add_argument("--all", action="store_true", help="write every scenario next to this script")
    a = p.parse_args()
    if a.all:
        here = os.path.dirname(os.path.abspath(__file__))
        for name in sorted(SCENARIOS):
            path = os.path.join(here, f"{name}.csv")
            with open(path, "w") as f:
                n = generate(name, a.seed, "csv", f)
            print(f"{path}: {n} invocations", file=sys.stderr)
        return
    if not a.scenario:
        p.error("a scenario or --all")
    generate(a.scenario, a.seed, a.format, sys.stdout)


if __name__ == "__main__":
    main()
