"""Validate-only requests: checked against botocore's model, one protocol at a time
(validation.py)."""

import json
from urllib.parse import urlencode

import botocore.session
import pytest
from botocore.serialize import create_serializer

_session = botocore.session.get_session()


def serialized(service, protocol, operation, params):
    """The body and headers an SDK sends, built without botocore's own checks of the params."""
    model = _session.get_service_model(service)
    operation_model = model.operation_model(operation)
    request = create_serializer(protocol, include_validation=False).serialize_to_request(
        params, operation_model
    )
    headers = dict(request["headers"])
    body = request["body"]
    if protocol == "query":
        body = urlencode(body).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8"
    elif protocol == "json":
        version = model.metadata["jsonVersion"]
        target = f"{model.metadata['targetPrefix']}.{operation}"
        headers.update(
            {"X-Amz-Target": target, "Content-Type": f"application/x-amz-json-{version}"}
        )
    return body, headers


@pytest.fixture
def verdict(post):
    def check(service, protocol, operation, params):
        body, headers = serialized(service, protocol, operation, params)
        status, answer = post("/", body, {**headers, "x-validate-only": "1"})
        assert status == 200, answer
        result = json.loads(answer)
        assert (result["service"], result["operation"]) == (service, operation), result
        return result["violations"]

    return check


TARGET = {
    "ServiceNamespace": "sagemaker",
    "ResourceId": "endpoint/e/variant/prod",
    "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
}


def test_json_application_autoscaling(verdict):
    good = {**TARGET, "ScheduledActionName": "night", "Schedule": "cron(0 20 * * ? *)"}
    assert verdict("application-autoscaling", "json", "PutScheduledAction", good) == []
    bad = {**good, "ScheduledActionName": "night/"}
    (violation,) = verdict("application-autoscaling", "json", "PutScheduledAction", bad)
    assert violation.startswith("PutScheduledAction.ScheduledActionName: 'night/' does not match")


def test_query_cloudwatch(verdict):
    good = {"AlarmNames": ["a", "b"]}
    assert verdict("cloudwatch", "query", "DeleteAlarms", good) == []
    violations = verdict("cloudwatch", "query", "DescribeAlarms", {"MaxRecords": 101})
    assert violations == ["DescribeAlarms.MaxRecords: value 101 above max 100"]


def test_json_sagemaker(verdict):
    good = {"EndpointName": "esd-model", "EndpointConfigName": "esd-config-2"}
    assert verdict("sagemaker", "json", "UpdateEndpoint", good) == []
    bad = {"EndpointName": "esd_model", "EndpointConfigName": "c", "Tags": [{"Key": "a"}]}
    violations = verdict("sagemaker", "json", "CreateEndpoint", bad)
    assert violations == [
        "CreateEndpoint.EndpointName: 'esd_model' does not match pattern "
        "'[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}'",
        "CreateEndpoint.Tags[0].Value: required member missing",
    ]


def test_json_ssm(verdict):
    good = {"Name": "/esd/record", "Value": "{}", "Type": "String", "Tier": "Advanced"}
    assert verdict("ssm", "json", "PutParameter", good) == []
    bad = {"Name": "/esd/record", "Value": "{}", "Tier": "Premium", "Overwrite": "yes"}
    assert verdict("ssm", "json", "PutParameter", bad) == [
        "PutParameter.Tier: 'Premium' is not one of "
        "['Standard', 'Advanced', 'Intelligent-Tiering']",
        "PutParameter.Overwrite: expected boolean, got string 'yes'",
    ]


def test_a_pattern_that_cannot_be_translated_fails_loudly(post):
    # SageMaker's CustomerMetadataKey pattern ends in `${1,128}`, which Python's re refuses: it
    # is compiled when first needed, and the request fails instead of passing unchecked.
    params = {"ModelPackageGroupName": "g", "CustomerMetadataProperties": {"k": "v"}}
    body, headers = serialized("sagemaker", "json", "CreateModelPackage", params)
    status, answer = post("/", body, {**headers, "x-validate-only": "1"})
    assert status == 500
    assert b"cannot compile model pattern" in answer


def test_a_request_of_an_unknown_service_is_reported(post):
    headers = {"X-Amz-Target": "Unknown.Op", "Content-Type": "application/x-amz-json-1.1"}
    status, answer = post("/", b"{}", {**headers, "x-validate-only": "1"})
    assert status == 200
    assert json.loads(answer)["violations"] == ["request: unknown X-Amz-Target prefix 'Unknown'"]
