"""Prints what CloudFormation received for one request, and what AWS now holds.

Usage: demo_state.py AWS_ENDPOINT_URL EVENT_FILE [VARIANT]. Exits 1 unless the answer says
SUCCESS. VARIANT is the variant to show when the properties name none (the guard's); with
InferenceComponentName, the component is shown.
The answer is read back from the emulator's S3, where the event's ResponseURL points.
"""

import json
import sys
import urllib.parse

import boto3

endpoint, event_file = sys.argv[1], sys.argv[2]
event = json.load(open(event_file))
aws = dict(
    endpoint_url=endpoint,
    region_name="us-east-1",
    aws_access_key_id="testing",
    aws_secret_access_key="testing",
)

url = urllib.parse.urlsplit(event["ResponseURL"])
bucket, key = url.path.lstrip("/").split("/", 1)
body = (
    boto3.client("s3", **aws)
    .get_object(Bucket=bucket, Key=urllib.parse.unquote(key))["Body"]
    .read()
)
answer = json.loads(body)
print(
    f"  CloudFormation received: {answer['Status']}  "
    f"PhysicalResourceId={answer['PhysicalResourceId']}"
)
print(f"    Reason: {answer.get('Reason')}")
for name, value in sorted(answer.get("Data", {}).items()):
    print(f"    Data.{name} = {value}")

props = event["ResourceProperties"]
component = props.get("InferenceComponentName")
endpoint_name = props.get("EndpointName")
variant_name = props.get("VariantName") or (sys.argv[3] if len(sys.argv) > 3 else "AllTraffic")
if component:
    resource_id = f"inference-component/{component}"
    default_alarm = f"{component}-NoCapacityInvocationFailures"
else:
    resource_id = f"endpoint/{endpoint_name}/variant/{variant_name}"
    default_alarm = f"{endpoint_name}-{variant_name}-HasBacklogWithoutCapacity"
autoscaling = boto3.client("application-autoscaling", **aws)
targets = autoscaling.describe_scalable_targets(
    ServiceNamespace="sagemaker", ResourceIds=[resource_id]
)["ScalableTargets"]
policies = autoscaling.describe_scaling_policies(
    ServiceNamespace="sagemaker", ResourceId=resource_id
)["ScalingPolicies"]
actions = autoscaling.describe_scheduled_actions(
    ServiceNamespace="sagemaker", ResourceId=resource_id
)["ScheduledActions"]
alarm_name = props.get("AlarmName", default_alarm)
alarms = boto3.client("cloudwatch", **aws).describe_alarms(AlarmNames=[alarm_name])["MetricAlarms"]

print(f"  AWS now holds for {resource_id}:")
for target in targets:
    print(f"    scalable target: capacity {target['MinCapacity']}..{target['MaxCapacity']}")
for policy in policies:
    config = policy.get("TargetTrackingScalingPolicyConfiguration") or policy.get(
        "StepScalingPolicyConfiguration"
    )
    metric = config.get("CustomizedMetricSpecification", {}).get("MetricName") or config.get(
        "PredefinedMetricSpecification", {}
    ).get("PredefinedMetricType", "")
    print(f"    policy: {policy['PolicyName']} ({policy['PolicyType']}) {metric}")
for action in actions:
    capacity = action.get("ScalableTargetAction", {})
    print(
        f"    scheduled action: {action['ScheduledActionName']} {action['Schedule']} "
        f"{action.get('Timezone') or 'UTC'} -> capacity "
        f"{capacity.get('MinCapacity', '-')}..{capacity.get('MaxCapacity', '-')}"
    )
for alarm in alarms:
    print(
        f"    alarm: {alarm['AlarmName']} on {alarm['MetricName']} "
        f"-> {', '.join(alarm['AlarmActions'])}"
    )
records = []
if not component:  # the guard records variants only
    record_name = f"/sagemaker-async-autoscaling/records/{endpoint_name}/{variant_name}"
    records = boto3.client("ssm", **aws).get_parameters(Names=[record_name])["Parameters"]
for record in records:
    print(f"    the guard's record: {record_name} ({len(record['Value'])} characters)")
if not (targets or policies or actions or alarms or records):
    print("    nothing")

sys.exit(0 if answer["Status"] == "SUCCESS" else 1)
