#!/usr/bin/python3
"""Server-side view of warm invokes: N sequential Invokes with LogType=Tail over
one keep-alive connection; prints p50/p99 of the REPORT Duration (the instance
side: event handed to the runtime over the Runtime API -> response posted back,
i.e. runtime wake-up + handler + the runtime's POST) and of the client round trip.

    /usr/bin/python3 bench/report_durations.py ENDPOINT FUNCTION [N]
"""
import base64
import http.client
import re
import sys
import time
from urllib.parse import urlparse

u = urlparse(sys.argv[1])
fn, n = sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 1000
conn = http.client.HTTPConnection(u.hostname, u.port)
durs, rtts = [], []
for _ in range(n):
    t0 = time.perf_counter()
    conn.request("POST", f"/2015-03-31/functions/{fn}/invocations", body=b'{"hello":"world","n":42}',
                 headers={"X-Amz-Log-Type": "Tail", "Content-Type": "application/json"})
    r = conn.getresponse()
    r.read()
    rtts.append((time.perf_counter() - t0) * 1e6)
    tail = base64.b64decode(r.getheader("X-Amz-Log-Result", "")).decode(errors="replace")
    m = re.search(r"REPORT RequestId: \S+\tDuration: ([\d.]+) ms", tail)
    if m:
        durs.append(float(m.group(1)) * 1000)


def p(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(q / 100 * len(v)))]


print(f"{fn}: REPORT Duration p50 {p(durs, 50):.0f} us p99 {p(durs, 99):.0f} us (n={len(durs)}); "
      f"python client round trip p50 {p(rtts, 50):.0f} us")
