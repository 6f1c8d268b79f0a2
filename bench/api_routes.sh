#!/usr/bin/env bash
# Issue 3's front-door benchmark: GET on a Python and a Node hello route on the
# API port with `wrk -t2 -c64 -d10s --latency` (the issue's settings), next to
# the same functions through Lambda Invoke, and the one-caller p50s that give
# the front door's own cost (route p50 − Invoke p50).
#
#   bench/api_routes.sh             # DURATION=10
set -euo pipefail
source "$(dirname "$0")/lib.sh"
DURATION=${DURATION:-10}

start_server
"$NIMBUS_BIN" deploy "$BENCH_DIR/functions/hello-api/template.yaml" --endpoint "$ENDPOINT" \
  --stack-name bench-api >/dev/null
echo "server $NIMBUS_BIN; api port $API_PORT; ${DURATION}s per run; load: $(cut -d' ' -f1-3 /proc/loadavg)"

# One wrk run; also prints the CPU per request of the server and of the
# function runtimes (µs), which on this 2-core machine decide the throughput.
run() {  # LABEL THREADS CONNS SCRIPT URL
  local out before after n
  before=$(cpu_ms)
  out=$(wrk -t"$2" -c"$3" -d"${DURATION}s" --timeout 10s --latency -s "$BENCH_DIR/$4" "$5" | grep '^RESULT')
  after=$(cpu_ms)
  n=$(sed 's/.*requests=\([0-9]*\).*/\1/' <<<"$out")
  printf '%-34s %s  cpu_us/req server=%s runtimes=%s  load=%s\n' "$1" "${out#RESULT }" \
    "$(( (${after% *} - ${before% *}) * 1000 / (n > 0 ? n : 1) ))" \
    "$(( (${after#* } - ${before#* }) * 1000 / (n > 0 ? n : 1) ))" "$(cut -d' ' -f1 /proc/loadavg)"
}

for lang in python node; do
  route="http://127.0.0.1:$API_PORT/${lang/python/py}"
  invoke=$(invoke_url "hello-api-$lang")
  wrk -t2 -c64 -d3s -s "$BENCH_DIR/get.lua" "$route" >/dev/null  # scale out and warm up
  run "route GET /${lang/python/py} c=64" 2 64 get.lua "$route"
  run "invoke hello-api-$lang c=64" 2 64 invoke.lua "$invoke"
  run "route GET /${lang/python/py} c=1" 1 1 get.lua "$route"
  run "invoke hello-api-$lang c=1" 1 1 invoke.lua "$invoke"
done
