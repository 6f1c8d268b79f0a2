#!/usr/bin/env bash
# Issue 4: does Nimbus's DynamoDB throughput stay flat as the table grows?
# One `nimbus serve`, one table; it is loaded in steps up to each size in
# SIZES (BatchWriteItem, 25 items per call, 8 callers, from the native load
# generator), and at each size GetItem (uniform over every loaded key) and
# PutItem (new keys) run for DURATION seconds at 8 callers, and GetItem at
# 1 caller for its latency. GetItem on a 10,000-item reference table of the
# same server alternates twice with the big table's (after the server has
# gone idle following the load): "ratio" (big / reference, of the summed
# calls) is the size's effect with the machine's drift taken out.
#
#   bench/dynamodb_flat.sh        # SIZES="10000 100000 1000000 10000000" DURATION=10 AUTH=1
#
# NIMBUS_BIN, LOADGEN, AUTH and DATA_ROOT as in bench/dynamodb_load.sh; 10
# million 150-byte items need ~2 GB under DATA_ROOT (default /tmp).
set -euo pipefail
source "$(dirname "$0")/dynamodb_lib.sh"
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
SIZES=${SIZES:-10000 100000 1000000 10000000}

start_nimbus
machine
lg "$NIMBUS_PORT" --op create
# A 10,000-item reference table in the same server, measured right after the
# big one at each size: the ratio of the two is immune to the machine's drift.
lg "$NIMBUS_PORT" --op create --table ref
lg "$NIMBUS_PORT" --op load --table ref --from 0 --to 10000 -c 8 >/dev/null
# Waits (up to 5 min) until the server has been idle for a second: the
# flushes and compactions a load leaves behind must not run into the next
# measurement.
wait_idle() {
  local a b
  for _ in $(seq 300); do
    a=$(awk '{print $14 + $15}' "/proc/$SERVER_PID/stat")
    sleep 1
    b=$(awk '{print $14 + $15}' "/proc/$SERVER_PID/stat")
    ((b - a < 3)) && return 0
  done
}
sum_ops() { awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^ops=/) s += substr($i, 5) } END { print s + 0 }'; }
loaded=0
printf '%-9s %-8s %-6s | %-24s %-7s %-5s | %-20s | %-13s | %s\n' items load/s MB \
  "get c=8 /s, p50/p99 µs" "ref /s" ratio "put c=8 /s, p50/p99" "get c=1 p50/p99" load
for n in $SIZES; do
  l=$(lg "$NIMBUS_PORT" --op load --from "$loaded" --to "$n" -c 8)
  loaded=$n
  wait_idle
  # Big table and reference table alternate twice; the ratio is of the sums.
  g8=$(lg "$NIMBUS_PORT" --op get --keys "$n" -c 8 -d "$DURATION" --warmup "$WARMUP" || true)
  r8=$(lg "$NIMBUS_PORT" --op get --table ref --keys 10000 -c 8 -d "$DURATION" --warmup "$WARMUP" || true)
  g8b=$(lg "$NIMBUS_PORT" --op get --keys "$n" -c 8 -d "$DURATION" --warmup "$WARMUP" || true)
  r8b=$(lg "$NIMBUS_PORT" --op get --table ref --keys 10000 -c 8 -d "$DURATION" --warmup "$WARMUP" || true)
  p8=$(lg "$NIMBUS_PORT" --op put -c 8 -d "$DURATION" --warmup "$WARMUP" --run "f$n" || true)
  g1=$(lg "$NIMBUS_PORT" --op get --keys "$n" -c 1 -d "$DURATION" --warmup "$WARMUP" || true)
  for r in "$l" "$g8" "$r8" "$g8b" "$r8b" "$p8" "$g1"; do
    e=$(field errors <<<"$r") m=$(field misses <<<"$r")
    [[ ${e:-x} == 0 && ${m:-0} == 0 ]] || echo "errors in: $r" >&2
  done
  big=$(printf '%s\n%s\n' "$g8" "$g8b" | sum_ops)
  ref=$(printf '%s\n%s\n' "$r8" "$r8b" | sum_ops)
  printf '%-9s %-8s %-6s | %-24s %-7s %-5s | %-20s | %-13s | %s\n' "$n" "$(field items_s <<<"$l")" \
    "$(du -sm "$DATA_DIR/db" | cut -f1)" \
    "$(field ops_s <<<"$g8"),$(field ops_s <<<"$g8b") $(field p50_us <<<"$g8")/$(field p99_us <<<"$g8")" \
    "$(awk -v r="$ref" -v d="$DURATION" 'BEGIN { printf "%.0f", r / 2 / d }')" \
    "$(awk -v a="$big" -v b="$ref" 'BEGIN { if (b > 0) printf "%.2f", a / b }')" \
    "$(field ops_s <<<"$p8") $(field p50_us <<<"$p8")/$(field p99_us <<<"$p8")" \
    "$(field p50_us <<<"$g1")/$(field p99_us <<<"$g1")" "$(cut -d' ' -f1 /proc/loadavg)"
done
