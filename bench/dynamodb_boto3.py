#!/usr/bin/python3
"""DynamoDB from boto3 (issue 4): PutItem, GetItem and Query calls per second
and p50/p99 from N client threads of one Python process, each thread with its
own boto3 client (SigV4-signed, keep-alive). The same table and items as
bench/dynamodb_loadgen.cc (pk S HASH, sk N RANGE; items k0..k<keys-1> with
sk 0, Query partitions q0..q<partitions-1>), so it runs after that tool's
`load` and `loadq`. This measures the client as much as the server: botocore
spends several hundred microseconds of CPU per call, and the threads share the
GIL.

  /usr/bin/python3 bench/dynamodb_boto3.py --endpoint http://127.0.0.1:4566 \
      --op get --threads 8 --keys 100000 --duration 10

Prints: RESULT op=get threads=8 ops=... ops_s=... p50_us=... p99_us=... errors=...
"""
import argparse
import os
import random
import threading
import time
import uuid

import boto3
from botocore.config import Config


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--op", choices=["put", "get", "query"], required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--duration", type=float, default=10)
    ap.add_argument("--warmup", type=float, default=2)
    ap.add_argument("--table", default="bench")
    ap.add_argument("--keys", type=int, default=10000)
    ap.add_argument("--partitions", type=int, default=1000)
    ap.add_argument("--value-bytes", type=int, default=100)
    ap.add_argument("--access-key", default=os.environ.get("AWS_ACCESS_KEY_ID", "test"))
    ap.add_argument("--secret-key", default=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"))
    a = ap.parse_args()

    session = boto3.session.Session(aws_access_key_id=a.access_key,
                                    aws_secret_access_key=a.secret_key, region_name="us-east-1")
    cfg = Config(retries={"max_attempts": 1}, max_pool_connections=a.threads + 1)
    clients = [session.client("dynamodb", endpoint_url=a.endpoint, config=cfg)
               for _ in range(a.threads)]
    value = {"S": "x" * a.value_bytes}
    run = uuid.uuid4().hex[:8]
    t0 = time.perf_counter()
    measure_from = t0 + a.warmup
    stop_at = measure_from + a.duration
    results = [None] * a.threads

    def worker(i):
        c = clients[i]
        rnd = random.Random(i)
        lat, errors, n = [], 0, 0
        while True:
            start = time.perf_counter()
            if start >= stop_at:
                break
            try:
                if a.op == "get":
                    r = c.get_item(TableName=a.table,
                                   Key={"pk": {"S": f"k{rnd.randrange(a.keys)}"}, "sk": {"N": "0"}})
                    ok = "Item" in r
                elif a.op == "put":
                    c.put_item(TableName=a.table,
                               Item={"pk": {"S": f"b{run}-{i}-{n}"}, "sk": {"N": "0"}, "v": value})
                    ok = True
                else:
                    c.query(TableName=a.table, KeyConditionExpression="pk = :p",
                            ExpressionAttributeValues={":p": {"S": f"q{rnd.randrange(a.partitions)}"}})
                    ok = True
            except Exception:  # noqa: BLE001 - counted, the run goes on
                ok = False
            n += 1
            end = time.perf_counter()
            if start >= measure_from and end <= stop_at:
                lat.append(end - start)
                errors += 0 if ok else 1
        results[i] = (lat, errors)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(a.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lat = sorted(x for r in results for x in r[0])
    errors = sum(r[1] for r in results)

    def pct(p):
        return int(lat[min(len(lat) - 1, int(p / 100 * (len(lat) - 1) + 0.5))] * 1e6) if lat else 0

    print(f"RESULT op={a.op} threads={a.threads} ops={len(lat)} ops_s={len(lat) / a.duration:.0f} "
          f"p50_us={pct(50)} p90_us={pct(90)} p99_us={pct(99)} errors={errors}")


if __name__ == "__main__":
    main()
