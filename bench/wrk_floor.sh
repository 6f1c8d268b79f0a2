#!/usr/bin/env bash
# What wrk and the kernel alone give on this machine with the front-door
# benchmark's settings (`wrk -t2 -c64 -d10s --latency`): a do-nothing HTTP
# server (bench/wrk_floor_server.cc), then Nimbus's own health endpoint, which
# runs Nimbus's HTTP stack and no function. Run it next to bench/api_routes.sh:
# the ratio p99/p50 of these two is the spread that 64 closed-loop callers on
# 2 shared cores produce before any function runs.
#
#   bench/wrk_floor.sh              # DURATION=10
set -euo pipefail
source "$(dirname "$0")/lib.sh"
DURATION=${DURATION:-10}
FLOOR_BIN=${FLOOR_BIN:-$(dirname "$NIMBUS_BIN")/bench/nimbus_wrk_floor_server}
[[ -x $FLOOR_BIN ]] || { echo "no $FLOOR_BIN; build the nimbus_wrk_floor_server target" >&2; exit 1; }

start_server
FLOOR_PORT=$(free_port)
"$FLOOR_BIN" "$FLOOR_PORT" &
FLOOR_PID=$!
trap 'kill $FLOOR_PID $SERVER_PID 2>/dev/null; wait 2>/dev/null; rm -rf "$DATA_DIR" "$DATA_DIR.log"' EXIT
sleep 0.2
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
for target in "do-nothing server|http://127.0.0.1:$FLOOR_PORT/" "nimbus /_nimbus/health|$ENDPOINT/_nimbus/health"; do
  url=${target#*|}
  wrk -t2 -c64 -d3s -s "$BENCH_DIR/get.lua" "$url" >/dev/null  # warm up
  printf '%-24s %s\n' "${target%%|*} c=64" \
    "$(wrk -t2 -c64 -d"${DURATION}s" --latency -s "$BENCH_DIR/get.lua" "$url" | grep '^RESULT' | sed 's/^RESULT //')"
done
