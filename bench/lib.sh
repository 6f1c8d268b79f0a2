# Shared by the benchmark scripts: start a throwaway `nimbus serve` and deploy
# the echo functions in bench/functions/ with the AWS CLI, as a user would.
# Source it; it sets ENDPOINT, SERVER_PID, DATA_DIR and installs an EXIT trap.
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
if [[ -z "${NIMBUS_BIN:-}" ]]; then
  for b in "$ROOT/build-bench/nimbus" "$ROOT/build/nimbus" "$ROOT/build-lead/nimbus"; do
    [[ -x $b ]] && { NIMBUS_BIN=$b; break; }
  done
fi
[[ -x "${NIMBUS_BIN:-}" ]] || { echo "no nimbus binary; set NIMBUS_BIN" >&2; exit 1; }
PY=/usr/bin/python3
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1
unset AWS_CA_BUNDLE NODE_EXTRA_CA_CERTS
MEMORY=${MEMORY:-1769}  # MB; 1769 MB = one full core, as on Lambda

free_port() { $PY -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

start_server() {
  PORT=$(free_port)
  API_PORT=$(free_port)
  DATA_DIR=$(mktemp -d /tmp/nimbus-bench.XXXXXX)
  ENDPOINT="http://127.0.0.1:$PORT"
  env -u NODE_EXTRA_CA_CERTS "$NIMBUS_BIN" serve ${SERVE_ARGS:-} --port "$PORT" --api-port "$API_PORT" \
    --data-dir "$DATA_DIR" >"$DATA_DIR.log" 2>&1 &
  SERVER_PID=$!
  trap 'kill $SERVER_PID 2>/dev/null; wait $SERVER_PID 2>/dev/null; rm -rf "$DATA_DIR" "$DATA_DIR.log"' EXIT
  for _ in $(seq 200); do
    curl -sf "$ENDPOINT/_nimbus/health" >/dev/null && return 0
    kill -0 $SERVER_PID 2>/dev/null || { cat "$DATA_DIR.log" >&2; echo "nimbus serve exited" >&2; exit 1; }
    sleep 0.05
  done
  echo "nimbus serve did not come up" >&2
  exit 1
}

awsl() { aws --endpoint-url "$ENDPOINT" lambda "$@"; }

# deploy NAME RUNTIME HANDLER SRC_DIR
deploy() {
  local name=$1 runtime=$2 handler=$3 src=$4 stage
  stage=$(mktemp -d)
  cp -r "$src"/. "$stage"/
  if [[ -x "$src/build.sh" ]]; then
    rm -f "$stage/build.sh" "$stage/main.cc"
    "$src/build.sh" "$stage/bootstrap"
  fi
  (cd "$stage" && zip -qr "$stage.zip" .)
  awsl create-function --function-name "$name" --runtime "$runtime" --handler "$handler" \
    --memory-size "$MEMORY" --timeout 30 --role arn:aws:iam::000000000000:role/bench \
    --zip-file "fileb://$stage.zip" >/dev/null
  rm -rf "$stage" "$stage.zip"
}

deploy_echoes() {
  deploy echo-python python3.11 app.handler "$BENCH_DIR/functions/echo-python"
  deploy echo-node nodejs20.x index.handler "$BENCH_DIR/functions/echo-node"
  deploy echo-cpp provided.al2023 bootstrap "$BENCH_DIR/functions/echo-cpp"
}

invoke_url() { echo "$ENDPOINT/2015-03-31/functions/$1/invocations"; }

# One synchronous invoke with curl until it answers 200 (function Active).
wait_invocable() {
  for _ in $(seq 200); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' -X POST -d '{}' "$(invoke_url "$1")") == 200 ]] && return 0
    sleep 0.1
  done
  echo "$1 never answered 200" >&2
  exit 1
}

# CPU time used so far, in ms: "SERVER RUNTIMES" (the nimbus process, and every
# live function runtime process: the bootstraps of Python and Node).
cpu_ms() {
  local hz s r=0 p t
  hz=$(getconf CLK_TCK)
  s=$(awk '{print $14 + $15}' "/proc/$SERVER_PID/stat")
  for p in $(pgrep -f 'bootstrap\.(py|js)'); do
    t=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null) && r=$((r + t))
  done
  echo "$((s * 1000 / hz)) $((r * 1000 / hz))"
}

