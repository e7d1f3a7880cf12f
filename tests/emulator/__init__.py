"""The local AWS the tests and the demo run against: moto, plus what AWS does and moto does not.

Run it from the repository's root with the project's Python:

    .venv/bin/python -m tests.emulator [PORT] [--forever]

It serves on 127.0.0.1:PORT (0 or none: a free port), prints the port on its first line of
stdout, and exits when its stdin closes. The tests start it as a child and keep its stdin
open: when the test process ends, for any reason, the pipe closes and the emulator goes with
it, so no server outlives a test run. `make demo` runs it with --forever and stops it itself.
`tests/emulator/RULES.md` lists every rule below, where it is implemented and which test
checks it; `test_*.py` here are those tests (`.venv/bin/python -m pytest -q tests/emulator`).

Modules (AWS's rules are patched into moto's backends, and where moto's response handler drops
a member they need, into the handler, so they hold whatever wire protocol a request uses; each
patched check and its write are one step, also when requests race, since the server serves
requests on threads; the model check and the control API are WSGI layers in front of moto):

- `scaling`: Application Auto Scaling. Scalable targets keep the `Tags` RegisterScalableTarget
  creates them with (moto keeps none and answers HTTP 500 to ListTagsForResource); TagResource
  and UntagResource change them; they go with the target; `Tags` for a target that exists are
  refused. A new target needs both capacity bounds, and the minimum may not exceed the maximum
  (a bound left out is the target's own). Deregistering a target deletes its scaling policies
  and scheduled actions. PutScalingPolicy and PutScheduledAction need a registered target
  (ObjectNotFoundException); a target-tracking configuration names exactly one metric; a target
  holds at most 50 policies; a policy put again keeps its ARN. DescribeScalingPolicies filters
  exactly and pages ten at a time. Updating a scheduled action keeps what the request leaves
  out; deleting one that does not exist is refused. What is missing is ObjectNotFoundException,
  as on AWS, not moto's ValidationException. Every scalable dimension of AWS's model is known.
- `cloudwatch`: alarm tags. PutMetricAlarm applies `Tags` only when it creates the alarm;
  DeleteAlarms deletes the alarm's tags; UntagResource works for an alarm without tags. In every
  protocol CloudWatch speaks, Smithy RPC v2 CBOR (the Rust SDK's) included.
- `sagemaker`: UpdateEndpoint, which moto lacks. Refused (ValidationException) for an unknown
  endpoint or endpoint config, for an endpoint not InService, and when a variant of the
  endpoint's current config that is registered as a scalable target would change what it runs
  on (its instance type; a move between InstanceType and InstancePools; the set of its pools'
  instance types) or be removed (a change of model, or of the pools' priorities or model
  overrides, only is allowed). Otherwise the endpoint is `Updating`, still showing its old
  EndpointConfigName, until the update ends; then it is `InService` on the new config, or, if
  the update fails, on the old one with a `FailureReason` (`RollingBack` first, if the control
  API asks for it). And production variants on `InstancePools` instead of an InstanceType,
  which moto refuses, with DescribeEndpoint's variant summaries reporting the pools.
- `ssm`: Parameter Store's tier limits: a value of at most 4096 characters in the Standard tier
  and 8192 in the Advanced; no downgrade from Advanced to Standard.
- `validation`: moto accepts requests real AWS would reject, so a request carrying
  `x-validate-only: 1` is not served: it is checked against botocore's model of the API
  (Application Auto Scaling, CloudWatch, SageMaker and SSM; JSON, query and Smithy RPC v2 CBOR)
  and answered with HTTP 200 and `{"service": ..., "operation": ..., "protocol": ...,
  "params": ..., "violations": [...]}` (`[]` = conforms; `params` is the request's input as
  JSON, whatever the protocol: see the module).
- `server`: all of it put together, and `main`. `wsgi`: what the layers share.

The control API, for tests only, on the same port (served before moto, whose routes it cannot
hide: moto has nothing under /_emulator/):

    POST /_emulator/endpoint-update
    {"EndpointName": str, "Seconds": float, "Fails": bool, "FailureReason": str,
     "RollbackSeconds": float}

sets how the next accepted UpdateEndpoint of that endpoint (in any account and region) goes:
it is `Updating` for `Seconds` (default 0.2) and, if `Fails` (default false), ends on the old
config with `FailureReason` (optional; a default text otherwise), after being `RollingBack`
(with the FailureReason already set) for `RollbackSeconds` (default 0: not at all). The update
consumes the setting; an UpdateEndpoint that is refused does not. Only EndpointName is
required. Answers 200 `{}`, or 400 `{"message": ...}` for a request it cannot read, unknown
members included.
"""
