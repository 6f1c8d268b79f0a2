#!/usr/bin/env bash
# `make run`: starts nimbus serve, deploys the example functions with the AWS
# CLI and the example SAM applications with `nimbus deploy` (exactly as a user
# would), prints where to point clients, and keeps the server in the foreground
# until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${NIMBUS_BIN:-build/nimbus}
PORT=${NIMBUS_PORT:-4566}
API_PORT=${NIMBUS_API_PORT:-3000}
DATA=${NIMBUS_DATA:-.data}
ENDPOINT="http://127.0.0.1:$PORT"
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-test} AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-test}
export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1}
unset AWS_CA_BUNDLE

"$BIN" serve --port "$PORT" --api-port "$API_PORT" --data-dir "$DATA" "$@" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null' EXIT INT TERM
for _ in $(seq 100); do
  curl -sf "$ENDPOINT/_nimbus/health" >/dev/null && break
  kill -0 $SERVER 2>/dev/null || { echo "nimbus serve exited" >&2; exit 1; }
  sleep 0.1
done

# Deploys examples/<name>/ as described by its function.json (create or update).
deploy() {
  local dir=$1 zip cfg name runtime handler memory timeout
  cfg="$dir/function.json"
  name=$(/usr/bin/python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["FunctionName"])' "$cfg")
  runtime=$(/usr/bin/python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["Runtime"])' "$cfg")
  handler=$(/usr/bin/python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["Handler"])' "$cfg")
  memory=$(/usr/bin/python3 -c 'import json,sys;print(json.load(open(sys.argv[1])).get("MemorySize",128))' "$cfg")
  timeout=$(/usr/bin/python3 -c 'import json,sys;print(json.load(open(sys.argv[1])).get("Timeout",3))' "$cfg")
  local stage
  stage=$(mktemp -d)
  cp -r "$dir"/. "$stage"/
  if [[ -x "$dir/build.sh" ]]; then "$dir/build.sh" "$stage/bootstrap" >/dev/null; fi
  zip="$stage.zip"
  (cd "$stage" && zip -qr "$zip" .)
  if aws --endpoint-url "$ENDPOINT" lambda get-function --function-name "$name" >/dev/null 2>&1; then
    aws --endpoint-url "$ENDPOINT" lambda update-function-code --function-name "$name" \
      --zip-file "fileb://$zip" >/dev/null
  else
    aws --endpoint-url "$ENDPOINT" lambda create-function --function-name "$name" \
      --runtime "$runtime" --handler "$handler" --memory-size "$memory" --timeout "$timeout" \
      --role arn:aws:iam::000000000000:role/lambda-role --zip-file "fileb://$zip" >/dev/null
  fi
  rm -rf "$stage" "$zip"
  echo "  deployed $name ($runtime)"
}

echo "Deploying the examples:"
for d in examples/*/; do [[ -f "$d/function.json" ]] && deploy "${d%/}"; done
# SAM applications, as a user deploys them.
for t in examples/*/template.yaml; do
  "$BIN" deploy "$t" --endpoint "$ENDPOINT" || echo "  (deploy of $t failed; see above)"
done

cat <<TXT

Nimbus is running. Point the AWS CLI, boto3 or any AWS SDK at it:

  export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1
  aws --endpoint-url $ENDPOINT lambda list-functions
  aws --endpoint-url $ENDPOINT lambda invoke --function-name hello-python --payload '{"name":"you"}' out.json
  $BIN invoke hello-node --payload '{"name":"you"}' --tail
  $BIN logs hello-python --follow
  curl -X POST http://127.0.0.1:$API_PORT/users -d '{"email":"a@example.com","name":"A"}'
  curl -X POST http://127.0.0.1:$API_PORT/orders -d '{"user_id":"u1","items":["book"]}'

Health: $ENDPOINT/_nimbus/health   Data: $DATA   Stop: Ctrl-C
TXT
wait $SERVER
