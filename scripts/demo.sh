#!/usr/bin/env bash
# The whole lifecycle, locally: the emulator (moto) stands in for AWS, `cargo lambda watch` for
# Lambda's Runtime API, and `cargo lambda invoke` with events/*.json for CloudFormation. After each step it prints the
# answer CloudFormation received and what AWS now holds. Between the scaling resource's Update
# and its Delete, the endpoint changes its instance type, in CloudFormation's order: the guard's
# Update, the endpoint's (as CloudFormation does it for AWS::SageMaker::Endpoint), then the
# scaling resource's. Then an inference component's scaling: Create, an Update that adds a
# schedule, Delete. Everything it starts, it stops (by
# process group, also on failure); it exits non-zero if any step did not answer SUCCESS.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
MOTO_PORT=${MOTO_PORT:-5050}
INVOKE_PORT=${INVOKE_PORT:-9000}
# The function to run: FUNCTION_BINARY when given (the tests give the one they built), else the
# debug build that `cargo test` makes, built here, so that the demo and the tests share one build.
FUNCTION_BINARY=${FUNCTION_BINARY:-}
export PATH="$PWD/$VENV/bin:$PATH"

work=$(mktemp -d)
pids=()
stop_all() {
  for pid in "${pids[@]}"; do
    kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap stop_all EXIT
trap 'exit 130' INT TERM

wait_for_port() { # port, what, log
  for _ in $(seq 1 600); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.5
  done
  echo "$2 did not start on port $1; its log:" >&2
  cat "$3" >&2
  return 1
}

if [ -z "$FUNCTION_BINARY" ]; then
  echo "Building the function (cargo test --no-run: the build the tests use)"
  cargo test --tests --no-run
  FUNCTION_BINARY="${CARGO_TARGET_DIR:-target}/debug/sagemaker-async-autoscaling"
fi

echo "Starting the emulator (moto) on 127.0.0.1:$MOTO_PORT"
setsid python -m tests.emulator "$MOTO_PORT" --forever >"$work/moto.log" 2>&1 &
pids+=("$!")
wait_for_port "$MOTO_PORT" "moto" "$work/moto.log"
# The bucket the events' ResponseURLs point at, as CloudFormation's own bucket would be.
python - "http://127.0.0.1:$MOTO_PORT" <<'PY'
import sys, boto3
boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id="testing",
             aws_secret_access_key="testing").create_bucket(Bucket="cloudformation-custom-resource-response-useast1")
PY
echo "Creating the endpoint esd-type-c356f91 in the emulator"
python scripts/demo_endpoint.py "http://127.0.0.1:$MOTO_PORT" setup

echo "Starting Lambda's Runtime API (cargo lambda watch) on 127.0.0.1:$INVOKE_PORT and the function"
setsid cargo lambda watch --only-lambda-apis --invoke-port "$INVOKE_PORT" --timeout 60 \
  >"$work/watch.log" 2>&1 &
pids+=("$!")
wait_for_port "$INVOKE_PORT" "cargo lambda watch" "$work/watch.log"
# As Lambda starts it: the Runtime API's address, the function's name and memory; and AWS, which
# is the emulator here.
AWS_LAMBDA_RUNTIME_API="http://127.0.0.1:$INVOKE_PORT/.rt/sagemaker-async-autoscaling" \
  AWS_LAMBDA_FUNCTION_NAME=sagemaker-async-autoscaling \
  AWS_LAMBDA_FUNCTION_VERSION=1 \
  AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128 \
  AWS_ENDPOINT_URL="http://127.0.0.1:$MOTO_PORT" \
  AWS_REGION=us-east-1 \
  AWS_ACCESS_KEY_ID=testing \
  AWS_SECRET_ACCESS_KEY=testing \
  setsid "$FUNCTION_BINARY" >"$work/function.log" 2>&1 &
function_pid=$!
pids+=("$function_pid")

failed=()
for step in create update guard-create guard-update endpoint-update update-instance-type delete \
    guard-delete component-create component-update component-delete; do
  echo
  if ! kill -0 "$function_pid" 2>/dev/null; then
    echo "== $step: the function has exited"
    failed+=("$step")
    break
  fi
  if [ "$step" = endpoint-update ]; then
    echo "== the endpoint moves to ml.g4dn.2xlarge (UpdateEndpoint, as CloudFormation does it)"
    python scripts/demo_endpoint.py "http://127.0.0.1:$MOTO_PORT" update \
      esd-type-c356f91-config-2 || failed+=("$step")
    continue
  fi
  # The events point at port 5050; follow the emulator wherever it runs.
  sed "s#127.0.0.1:5050/#127.0.0.1:$MOTO_PORT/#" "events/$step.json" >"$work/$step.json"
  echo "== $step (cargo lambda invoke --data-file events/$step.json)"
  if ! cargo lambda invoke --invoke-port "$INVOKE_PORT" --data-file "$work/$step.json" \
      sagemaker-async-autoscaling >"$work/$step.out" 2>&1; then
    echo "  the invocation failed:"; sed 's/^/    /' "$work/$step.out"
    failed+=("$step")
    continue
  fi
  python scripts/demo_state.py "http://127.0.0.1:$MOTO_PORT" "$work/$step.json" prod ||
    failed+=("$step")
done

echo
if [ "${#failed[@]}" -gt 0 ]; then
  echo "Demo FAILED at: ${failed[*]}. The function's log:"
  sed 's/^/    /' "$work/function.log"
  echo "cargo lambda watch's log:"
  sed 's/^/    /' "$work/watch.log"
  exit 1
fi
echo "Demo passed: Create, Update, an instance-type change and Delete each answered SUCCESS,"
echo "for an endpoint variant and for an inference component."
