#!/usr/bin/env bash
# Warm Invoke latency and throughput: echo functions (python3.11, nodejs20.x,
# provided.al2023 = C++) on a throwaway `nimbus serve`, driven by wrk (native,
# so the client is not the bottleneck) with 1 connection/1 thread and
# 32 connections/2 threads; plus the platform-overhead estimate:
#   overhead ≈ p50(C++ echo invoke, -c1) − p50(GET /_nimbus/health, -c1)
# (both are one HTTP round trip on the same server and client; the invoke adds
# the Lambda API, the pool, the Runtime API exchange with the instance and the
# handler, whose own work is a few µs).
#
#   bench/warm_invoke.sh            # DURATION=10 MEMORY=1769 by default
#   DURATION=5 FUNCTIONS="echo-cpp" bench/warm_invoke.sh
set -euo pipefail
source "$(dirname "$0")/lib.sh"
DURATION=${DURATION:-10}
FUNCTIONS=${FUNCTIONS:-"echo-python echo-node echo-cpp"}

start_server
deploy_echoes
echo "server $NIMBUS_BIN on $ENDPOINT; isolation: $(curl -s "$ENDPOINT/_nimbus/health" | $PY -c 'import json,sys;print(json.load(sys.stdin).get("isolation"))')"
echo "memory ${MEMORY} MB per function; ${DURATION}s per run; load: $(cut -d' ' -f1-3 /proc/loadavg)"

run_wrk() {  # LABEL THREADS CONNS SCRIPT URL
  local label=$1 t=$2 c=$3 script=$4 url=$5 out
  out=$(wrk -t"$t" -c"$c" -d"${DURATION}s" --timeout 10s -s "$BENCH_DIR/$script" "$url" | grep '^RESULT')
  printf '%-28s %s  load=%s\n' "$label" "${out#RESULT }" "$(cut -d' ' -f1 /proc/loadavg)"
}

for f in $FUNCTIONS; do
  wait_invocable "$f"
  # Warm-up: let the pool scale out to 32 instances and the runtimes settle.
  wrk -t2 -c32 -d3s -s "$BENCH_DIR/invoke.lua" "$(invoke_url "$f")" >/dev/null
done
for f in $FUNCTIONS; do
  run_wrk "$f c=1 t=1" 1 1 invoke.lua "$(invoke_url "$f")"
  run_wrk "$f c=32 t=2" 2 32 invoke.lua "$(invoke_url "$f")"
done
run_wrk "GET /_nimbus/health c=1 t=1" 1 1 get.lua "$ENDPOINT/_nimbus/health"
run_wrk "GET /_nimbus/health c=32 t=2" 2 32 get.lua "$ENDPOINT/_nimbus/health"
# Repeat the overhead pair back to back, so both see the same machine load.
if [[ " $FUNCTIONS " == *" echo-cpp "* ]]; then
  echo "overhead pair (repeated back to back):"
  pairs=$(mktemp)
  for i in 1 2 3; do
    run_wrk "  echo-cpp c=1 #$i" 1 1 invoke.lua "$(invoke_url echo-cpp)" | tee -a "$pairs"
    run_wrk "  health c=1 #$i" 1 1 get.lua "$ENDPOINT/_nimbus/health" | tee -a "$pairs"
  done
fi
# The instance side of a warm invoke, from the REPORT line (Duration = event
# sent to the instance -> result back: the runtime's wake-up, the handler and
# the transport), for the split.
reports=$(for f in $FUNCTIONS; do $PY "$BENCH_DIR/report_durations.py" "$ENDPOINT" "$f" 2000; done)
echo "$reports"
if [[ -n "${pairs:-}" ]]; then
  # Medians of the three pairs: A = invoke, B = health round trip, D = REPORT Duration.
  median() { sort -n | sed -n 2p; }
  a=$(grep 'echo-cpp c=1 #' "$pairs" | sed 's/.*p50_us=\([0-9]*\).*/\1/' | median)
  b=$(grep 'health c=1 #' "$pairs" | sed 's/.*p50_us=\([0-9]*\).*/\1/' | median)
  d=$(echo "$reports" | sed -n 's/^echo-cpp: REPORT Duration p50 \([0-9]*\) us.*/\1/p')
  echo "overhead p50: A-B = $((a - b)) us (Nimbus + the instance round trip); A-B-D = $((a - b - d)) us (Nimbus alone, apart from the handler's process)"
  rm -f "$pairs"
fi
echo "instance processes under the server at the end: $(pgrep -P "$SERVER_PID" | wc -l) (32 per function scaled out is expected)"
