"""Validate-only requests: checked against botocore's model, one protocol at a time
(validation.py)."""

import datetime
import json
from urllib.parse import urlencode

import botocore.session
import pytest
from botocore.serialize import create_serializer
from moto.core import cbor

CBOR = "smithy-rpc-v2-cbor"  # botocore's name of the protocol; the answer says "rpc-v2-cbor"

_session = botocore.session.get_session()


def serialized(service, protocol, operation, params):
    """The body and headers an SDK sends, built without botocore's own checks of the params
    (and, for CBOR, the path it sends them to: see `path_of`)."""
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
    if protocol == CBOR:
        headers["x-path"] = request["url_path"]
    return body, headers


def path_of(headers):
    """The path a request goes to: /service/<prefix>/operation/<operation> for CBOR."""
    return headers.pop("x-path", "/")


@pytest.fixture
def answer(post):
    """answer(service, protocol, operation, params): the whole validate-only answer."""

    def check(service, protocol, operation, params):
        body, headers = serialized(service, protocol, operation, params)
        status, answer = post(path_of(headers), body, {**headers, "x-validate-only": "1"})
        assert status == 200, answer
        result = json.loads(answer)
        assert (result["service"], result["operation"]) == (service, operation), result
        assert result["protocol"] == ("rpc-v2-cbor" if protocol == CBOR else protocol), result
        return result

    return check


@pytest.fixture
def verdict(answer):
    def check(service, protocol, operation, params):
        return answer(service, protocol, operation, params)["violations"]

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


ALARM = {
    "AlarmName": "esd-alarm",
    "MetricName": "ApproximateBacklogSizePerInstance",
    "Namespace": "AWS/SageMaker",
    "Dimensions": [{"Name": "EndpointName", "Value": "e"}],
    "Statistic": "Average",
    "Period": 60,
    "EvaluationPeriods": 1,
    "Threshold": 1.5,
    "ComparisonOperator": "GreaterThanOrEqualToThreshold",
    "ActionsEnabled": True,
    "Tags": [{"Key": "team", "Value": "ml"}],
}


def test_cbor_cloudwatch(verdict, post):
    assert verdict("cloudwatch", CBOR, "PutMetricAlarm", ALARM) == []
    assert verdict("cloudwatch", CBOR, "DescribeAlarms", {"MaxRecords": 101}) == [
        "DescribeAlarms.MaxRecords: value 101 above max 100"
    ]
    # botocore cannot put a wrong type into CBOR: encoded by hand.
    bad = {**ALARM, "Period": "60", "ActionsEnabled": 1, "Unknown": "x"}
    del bad["AlarmName"]
    status, answer = post(
        "/service/GraniteServiceVersion20100801/operation/PutMetricAlarm",
        cbor.dumps(bad),
        {
            "smithy-protocol": "rpc-v2-cbor",
            "Content-Type": "application/cbor",
            "x-validate-only": "1",
        },
    )
    assert status == 200
    assert sorted(json.loads(answer)["violations"]) == [
        "PutMetricAlarm.ActionsEnabled: expected boolean, got integer 1",
        "PutMetricAlarm.AlarmName: required member missing",
        "PutMetricAlarm.Period: expected integer, got string '60'",
        "PutMetricAlarm.Unknown: unknown member",
    ]


@pytest.mark.parametrize("protocol", [CBOR, "json", "query"])
def test_every_protocol_answers_the_input_as_json(answer, protocol):
    result = answer("cloudwatch", protocol, "PutMetricAlarm", ALARM)
    assert result["violations"] == []
    assert result["params"] == ALARM
    start = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    queries = {
        "MetricDataQueries": [{"Id": "q", "Expression": "1", "ReturnData": False}],
        "StartTime": start,
        "EndTime": start + datetime.timedelta(seconds=90.5),
        "MaxDatapoints": 10,
    }
    result = answer("cloudwatch", protocol, "GetMetricData", queries)
    assert result["violations"] == []
    assert result["params"] == {
        **queries,
        "StartTime": start.timestamp(),  # epoch seconds, whatever the wire carried
        "EndTime": start.timestamp() + 90.5,
    }


def test_json_and_cbor_keep_members_the_model_does_not_know(post):
    body = cbor.dumps({"AlarmNames": ["a"], "Blob": b"\x00\xff", "When": 1.0})
    headers = {
        "smithy-protocol": "rpc-v2-cbor",
        "Content-Type": "application/cbor",
        "x-validate-only": "1",
    }
    status, answer = post(
        "/service/GraniteServiceVersion20100801/operation/DeleteAlarms", body, headers
    )
    assert status == 200
    result = json.loads(answer)
    assert result["params"] == {"AlarmNames": ["a"], "Blob": "AP8=", "When": 1.0}
    assert sorted(result["violations"]) == [
        "DeleteAlarms.Blob: unknown member",
        "DeleteAlarms.When: unknown member",
    ]


def test_a_cbor_timestamp_needs_its_tag(post):
    body = cbor.dumps({"MetricDataQueries": [], "StartTime": 1767225600, "EndTime": 1767225660})
    headers = {"smithy-protocol": "rpc-v2-cbor", "Content-Type": "application/cbor"}
    status, answer = post(
        "/service/GraniteServiceVersion20100801/operation/GetMetricData",
        body,
        {**headers, "x-validate-only": "1"},
    )
    result = json.loads(answer)
    assert status == 200 and result["params"]["StartTime"] == 1767225600
    assert result["violations"] == [
        "GetMetricData.StartTime: expected a timestamp (CBOR tag 1, epoch seconds), got "
        "integer 1767225600",
        "GetMetricData.EndTime: expected a timestamp (CBOR tag 1, epoch seconds), got "
        "integer 1767225660",
    ]


def test_a_cbor_request_is_checked_for_its_headers_path_and_body(post):
    path = "/service/GraniteServiceVersion20100801/operation/DeleteAlarms"
    body = cbor.dumps({"AlarmNames": ["a"]})

    def check(path, body, headers):
        status, answer = post(path, body, {**headers, "x-validate-only": "1"})
        assert status == 200, answer
        return json.loads(answer)

    # Content-Type alone marks it CBOR; the smithy-protocol header is still required.
    result = check(path, body, {"Content-Type": "application/cbor"})
    assert result["protocol"] == "rpc-v2-cbor"
    assert result["violations"] == ["request: smithy-protocol header None, expected 'rpc-v2-cbor'"]
    cbor_headers = {"smithy-protocol": "rpc-v2-cbor", "Content-Type": "application/cbor"}
    result = check("/service/GraniteServiceVersion20100801", body, cbor_headers)
    assert result["violations"][0].startswith("request: path ")
    result = check("/service/SageMaker/operation/DeleteEndpoint", body, cbor_headers)
    assert result["service"] == "sagemaker"
    assert "request: sagemaker does not speak Smithy RPC v2 CBOR" in result["violations"]
    result = check(path, b"\xbf\x61", cbor_headers)
    assert result["params"] is None
    assert result["violations"][0].startswith("request: body is not CBOR")
    result = check(path.replace("DeleteAlarms", "Nothing"), body, cbor_headers)
    assert result["violations"] == ["request: cloudwatch has no operation 'Nothing'"]
    assert result["params"] == {"AlarmNames": ["a"]}


def test_query_values_are_answered_as_their_types(answer):
    params = {"MaxRecords": 5, "AlarmNames": ["a"], "ActionPrefix": "arn"}
    assert answer("cloudwatch", "query", "DescribeAlarms", params)["params"] == params
    # A value that is not its type stays its text (and is reported).
    status = {"AlarmNames": ["a"], "MaxRecords": "many"}
    result = answer("cloudwatch", "query", "DescribeAlarms", status)
    assert result["params"] == status
    assert result["violations"] == ["DescribeAlarms.MaxRecords: expected integer text, got 'many'"]
