#!/usr/bin/env bash
# Issue 4: DynamoDB PutItem, GetItem and Query calls/s and p50/p99 at 1 and 8
# callers, from the native load generator (bench/dynamodb_loadgen.cc) and from
# boto3 (bench/dynamodb_boto3.py), against `nimbus serve` and dynalite (the npm
# DynamoDB implementation on LevelDB) in the same run: each measurement runs
# on Nimbus and then at once on dynalite, so the ratio of a pair is taken
# within the same minute of this shared machine.
#
#   bench/dynamodb_load.sh        # ITEMS=100000 DURATION=10 ROUNDS=2 BOTO3=1 AUTH=1
#
# NIMBUS_BIN     the nimbus binary (default: build-bench/, build/, build-lead/)
# LOADGEN        default: $(dirname NIMBUS_BIN)/bench/nimbus_dynamodb_loadgen
# DYNALITE       dynalite's executable (`npm install dynalite` somewhere, then
#                DYNALITE=.../node_modules/.bin/dynalite); without it only Nimbus runs
# AUTH=1         Nimbus verifies every signature (`--credentials FILE`, as when
#                reachable from other hosts); AUTH=0: loopback default, unverified
# ITEMS          items loaded before GetItem (keys k0..k<ITEMS-1>), plus 1000 Query
#                partitions of 5 items
# OPS, CONNS     default "get query put" and "1 8"
# DATA_ROOT      where both stores live (default /tmp; /dev/shm takes the disk's
#                fsync out of Nimbus's PutItem)
#
# dynalite gets --path (LevelDB on disk, not its in-memory default; LevelDB
# does not sync its writes, Nimbus syncs every acknowledged write). Each
# RESULT line also gives the server's CPU time per call (user + system of the
# whole process, from /proc/PID/stat). With FLOOR_BIN (default: the
# nimbus_wrk_floor_server next to the load generator) GetItem also runs
# against a do-nothing HTTP server: the client's and the loopback's share.
set -euo pipefail
source "$(dirname "$0")/dynamodb_lib.sh"
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
ITEMS=${ITEMS:-100000}
ROUNDS=${ROUNDS:-2}
OPS=${OPS:-get query put}
CONNS=${CONNS:-1 8}
BOTO3=${BOTO3:-1}
DYNALITE=${DYNALITE:-$(command -v dynalite || true)}

start_nimbus
TARGETS="nimbus"
if [[ -n $DYNALITE ]]; then
  DL_PORT=$(free_port)
  "$DYNALITE" --host 127.0.0.1 --port "$DL_PORT" --path "$WORK/dynalite" --createTableMs 0 \
    >"$WORK/dynalite.log" 2>&1 &
  DL_PID=$!
  EXTRA_PIDS=$DL_PID
  TARGETS="nimbus dynalite"
else
  echo "DYNALITE not set and no dynalite on PATH: measuring Nimbus only" >&2
fi

# The floor: bench/wrk_floor_server.cc (one epoll thread, a fixed answer, no
# Nimbus code) under the same GetItem load: what the client and the loopback
# cost by themselves (its answers hold no Item, so it reports misses).
FLOOR_BIN=${FLOOR_BIN:-$(dirname "$NIMBUS_BIN")/bench/nimbus_wrk_floor_server}
FLOOR=
if [[ -x $FLOOR_BIN ]]; then
  FLOOR_PORT=$(free_port)
  "$FLOOR_BIN" "$FLOOR_PORT" &
  FLOOR_PID=$!
  EXTRA_PIDS="$EXTRA_PIDS $FLOOR_PID"
  FLOOR=floor
fi

port_of() {
  case $1 in nimbus) echo "$NIMBUS_PORT" ;; dynalite) echo "$DL_PORT" ;; floor) echo "$FLOOR_PORT" ;; esac
}
pid_of() {
  case $1 in nimbus) echo "$SERVER_PID" ;; dynalite) echo "$DL_PID" ;; floor) echo "$FLOOR_PID" ;; esac
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)

machine
if [[ -n $DYNALITE ]]; then
  echo "dynalite: $DYNALITE ($(node -p "require('$(dirname "$(readlink -f "$DYNALITE")")/package.json').version" 2>/dev/null || echo '?'))"
fi

for t in $TARGETS; do
  p=$(port_of "$t")
  for _ in $(seq 100); do lg "$p" --op create 2>/dev/null && break; sleep 0.1; done
  lg "$p" --op create
  printf '%-8s load %s items: %s\n' "$t" "$ITEMS" \
    "$(lg "$p" --op load --from 0 --to "$ITEMS" -c 8 | sed 's/^RESULT //')"
  printf '%-8s load Query partitions: %s\n' "$t" "$(lg "$p" --op loadq -c 8 | sed 's/^RESULT //')"
done

RESULTS=$WORK/results
: >"$RESULTS"
# measure TOOL TARGET OP C ROUND: one RESULT line, plus server CPU µs per call.
measure() {
  local tool=$1 t=$2 op=$3 c=$4 round=$5 pid before after line ops cpu
  pid=$(pid_of "$t")
  before=$(cpu_ticks "$pid")
  if [[ $tool == native ]]; then
    line=$(lg "$(port_of "$t")" --op "$op" -c "$c" -d "$DURATION" --warmup "$WARMUP" --keys "$ITEMS" \
      --run "$round$c$RANDOM" || true)
  else
    line=$($PY "$BENCH_DIR/dynamodb_boto3.py" --endpoint "http://127.0.0.1:$(port_of "$t")" \
      --access-key "$KEY" --secret-key "$SECRET" --op "$op" --threads "$c" \
      --duration "$DURATION" --warmup "$WARMUP" --keys "$ITEMS" || true)
  fi
  after=$(cpu_ticks "$pid")
  ops=$(sed -n 's/.* ops=\([0-9]*\).*/\1/p' <<<"$line")
  # The CPU window includes the warm-up, so scale by the calls of the whole run.
  cpu=$(awk -v b="$before" -v a="$after" -v hz="$HZ" -v n="${ops:-0}" -v d="$DURATION" -v w="$WARMUP" \
    'BEGIN { if (n > 0) printf "%.0f", (a - b) * 1e6 / hz / (n * (d + w) / d); else print "?" }')
  printf '%-6s %-8s %-5s c=%-2s round=%s load=%s %s server_cpu_us=%s\n' "$tool" "$t" "$op" "$c" \
    "$round" "$(cut -d' ' -f1 /proc/loadavg)" "$(sed 's/^RESULT //' <<<"$line")" "$cpu" | tee -a "$RESULTS"
}

echo "--- native load generator: ${DURATION}s per run after ${WARMUP}s warm-up, $ROUNDS rounds"
for round in $(seq "$ROUNDS"); do
  for op in $OPS; do
    for c in $CONNS; do
      for t in $TARGETS; do measure native "$t" "$op" "$c" "$round"; done
      if [[ $op == get && -n $FLOOR ]]; then measure native floor get "$c" "$round"; fi
    done
  done
done
if [[ $BOTO3 == 1 ]]; then
  echo "--- boto3: ${DURATION}s per run after ${WARMUP}s warm-up, one process, one client per thread"
  for op in $OPS; do
    for c in $CONNS; do
      for t in $TARGETS; do measure boto3 "$t" "$op" "$c" 1; done
    done
  done
fi

if [[ $TARGETS == "nimbus dynalite" ]]; then
  echo "--- Nimbus / dynalite, calls/s of each pair (same round, run back to back)"
  awk '{
      split($0, f, " "); key = $1 " " $3 " " $4 " " $5
      for (i in f) if (f[i] ~ /^ops_s=/) { v = substr(f[i], 7) }
      if ($2 == "nimbus") n[key] = v; else if ($2 == "dynalite") d[key] = v; else next
      if (!(key in seen)) { seen[key] = 1; order[++k] = key }
    } END {
      for (i = 1; i <= k; i++) { key = order[i]
        if (d[key] > 0) printf "%-40s nimbus=%s dynalite=%s ratio=%.1f\n", key, n[key], d[key], n[key] / d[key] }
    }' "$RESULTS"
fi
