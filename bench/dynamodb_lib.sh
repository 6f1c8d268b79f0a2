# Shared by bench/dynamodb_load.sh and bench/dynamodb_flat.sh: a throwaway
# `nimbus serve` whose data dir is under DATA_ROOT (default /tmp; /dev/shm
# shows what the disk's fsync costs), the signing key both servers accept,
# and `lg`, the native load generator pointed at a port.
# Source it; it sets NIMBUS_PORT, SERVER_PID, DATA_DIR, WORK, LOADGEN.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
DATA_ROOT=${DATA_ROOT:-/tmp}
AUTH=${AUTH:-1}
LOADGEN=${LOADGEN:-$(dirname "$NIMBUS_BIN")/bench/nimbus_dynamodb_loadgen}
[[ -x $LOADGEN ]] || { echo "no $LOADGEN; build the nimbus_dynamodb_loadgen target" >&2; exit 1; }
KEY=AKIDNIMBUSBENCH00001
SECRET=nimbus/bench/secret/0123456789abcdefghij
WORK=$(mktemp -d "$DATA_ROOT/nimbus-ddb-bench.XXXXXX")
DATA_DIR=$WORK/nimbus
SERVER_PID=
EXTRA_PIDS=
trap 'kill $SERVER_PID $EXTRA_PIDS 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT

# With AUTH=1 Nimbus verifies every signature (`--credentials FILE`, as when it
# is reachable from other hosts); AUTH=0 is the loopback default (unverified).
start_nimbus() {
  local args=()
  if [[ $AUTH == 1 ]]; then
    printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' "$KEY" "$SECRET" >"$WORK/credentials"
    args=(--credentials "$WORK/credentials")
  fi
  NIMBUS_PORT=$(free_port)
  env -u NODE_EXTRA_CA_CERTS "$NIMBUS_BIN" serve ${SERVE_ARGS:-} "${args[@]}" --port "$NIMBUS_PORT" \
    --api-port "$(free_port)" --data-dir "$DATA_DIR" >"$WORK/nimbus.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 200); do
    curl -sf "http://127.0.0.1:$NIMBUS_PORT/_nimbus/health" >/dev/null && return 0
    kill -0 $SERVER_PID 2>/dev/null || { cat "$WORK/nimbus.log" >&2; echo "nimbus serve exited" >&2; exit 1; }
    sleep 0.05
  done
  echo "nimbus serve did not come up" >&2
  exit 1
}

# lg PORT ARGS...: the load generator against 127.0.0.1:PORT, signing with KEY.
lg() {
  local port=$1
  shift
  "$LOADGEN" --endpoint "127.0.0.1:$port" --access-key "$KEY" --secret-key "$SECRET" "$@"
}

# field NAME: the value of NAME=... in a RESULT line on stdin.
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }

machine() {
  echo "machine: nproc=$(nproc), $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), kernel $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "nimbus: $NIMBUS_BIN, AUTH=$AUTH, data under $DATA_ROOT ($(df --output=fstype "$DATA_ROOT" | tail -1))"
}
