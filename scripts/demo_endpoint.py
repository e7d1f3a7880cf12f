"""The demo's endpoint, as the native AWS::SageMaker resources would make and update it.

Usage: demo_endpoint.py AWS_ENDPOINT_URL setup | update CONFIG_NAME.
`setup` creates a model, two endpoint configurations whose variant `prod` runs ml.g4dn.xlarge
(config-1) and ml.g4dn.2xlarge (config-2), and the endpoint on config-1. `update` does what
CloudFormation does for the endpoint: UpdateEndpoint, then wait while it updates. SageMaker
(here the emulator, as AWS does) refuses the update while `prod` is registered for auto scaling.
"""

import sys
import time

import boto3

ENDPOINT = "esd-type-c356f91"
INSTANCE_TYPES = {"config-1": "ml.g4dn.xlarge", "config-2": "ml.g4dn.2xlarge"}

url, command = sys.argv[1], sys.argv[2]
sagemaker = boto3.client(
    "sagemaker",
    endpoint_url=url,
    region_name="us-east-1",
    aws_access_key_id="testing",
    aws_secret_access_key="testing",
)

if command == "setup":
    sagemaker.create_model(
        ModelName=f"{ENDPOINT}-model",
        ExecutionRoleArn="arn:aws:iam::123456789012:role/sagemaker-execution",
        PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/model:1"},
    )
    for suffix, instance_type in INSTANCE_TYPES.items():
        sagemaker.create_endpoint_config(
            EndpointConfigName=f"{ENDPOINT}-{suffix}",
            ProductionVariants=[
                {
                    "VariantName": "prod",
                    "ModelName": f"{ENDPOINT}-model",
                    "InstanceType": instance_type,
                    "InitialInstanceCount": 1,
                }
            ],
        )
    sagemaker.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName=f"{ENDPOINT}-config-1")
    print(f"  endpoint {ENDPOINT} on {ENDPOINT}-config-1 (prod: ml.g4dn.xlarge)")
elif command == "update":
    config = sys.argv[3]
    sagemaker.update_endpoint(EndpointName=ENDPOINT, EndpointConfigName=config)
    while (described := sagemaker.describe_endpoint(EndpointName=ENDPOINT))[
        "EndpointStatus"
    ] == "Updating":
        time.sleep(0.1)
    print(
        f"  endpoint {ENDPOINT}: {described['EndpointStatus']} on {described['EndpointConfigName']}"
    )
    sys.exit(0 if described["EndpointConfigName"] == config else 1)
else:
    sys.exit(f"unknown command {command}")
