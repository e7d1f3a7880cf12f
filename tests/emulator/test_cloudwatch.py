"""CloudWatch's alarm tags as AWS keeps them (cloudwatch.py), in each protocol CloudWatch speaks:
Smithy RPC v2 CBOR (as the Rust SDK sends it), JSON and query."""

import itertools
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

PROTOCOLS = ["smithy-rpc-v2-cbor", "json", "query"]
_names = itertools.count()


@pytest.fixture(params=PROTOCOLS)
def cloudwatch(request, client):
    return client("cloudwatch", request.param)


@pytest.fixture
def name():
    return f"emulator-test-alarm-{next(_names)}"


def put_alarm(cloudwatch, name, tags=None, threshold=1.0):
    extra = {"Tags": [{"Key": k, "Value": v} for k, v in tags.items()]} if tags else {}
    cloudwatch.put_metric_alarm(
        AlarmName=name,
        MetricName="ApproximateBacklogSizePerInstance",
        Namespace="AWS/SageMaker",
        Statistic="Average",
        Period=60,
        EvaluationPeriods=1,
        Threshold=threshold,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        **extra,
    )
    (alarm,) = cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"]
    return alarm


def tags(cloudwatch, arn):
    found = cloudwatch.list_tags_for_resource(ResourceARN=arn)["Tags"]
    return {t["Key"]: t["Value"] for t in found}


def test_the_protocol_is_the_one_asked_for(cloudwatch, name):
    sent = []

    def record(request, **_):
        sent.append((request.url, request.headers.get("Content-Type")))

    cloudwatch.meta.events.register("before-send.cloudwatch", record)
    try:
        put_alarm(cloudwatch, name)
    finally:
        cloudwatch.meta.events.unregister("before-send.cloudwatch", record)
    url, content_type = sent[0]
    protocol = cloudwatch.meta.service_model.resolved_protocol
    expected = {
        "smithy-rpc-v2-cbor": b"application/cbor",
        "json": b"application/x-amz-json-1.0",
        "query": b"application/x-www-form-urlencoded; charset=utf-8",
    }[protocol]
    assert content_type == expected
    if protocol == "smithy-rpc-v2-cbor":
        assert url.endswith("/service/GraniteServiceVersion20100801/operation/PutMetricAlarm")


def test_putting_an_alarm_that_exists_leaves_its_tags_as_they_are(cloudwatch, name):
    arn = put_alarm(cloudwatch, name, {"team": "ml"})["AlarmArn"]
    updated = put_alarm(cloudwatch, name, {"team": "web", "extra": "x"}, threshold=2.0)
    assert (updated["AlarmArn"], updated["Threshold"]) == (arn, 2.0)
    assert tags(cloudwatch, arn) == {"team": "ml"}
    # TagResource is how an existing alarm's tags change.
    cloudwatch.tag_resource(ResourceARN=arn, Tags=[{"Key": "team", "Value": "web"}])
    put_alarm(cloudwatch, name, {"team": "ops"})
    assert tags(cloudwatch, arn) == {"team": "web"}


def test_deleting_an_alarm_deletes_its_tags(cloudwatch, name):
    arn = put_alarm(cloudwatch, name, {"team": "ml"})["AlarmArn"]
    other = put_alarm(cloudwatch, name + "-other", {"team": "ml"})["AlarmArn"]
    cloudwatch.delete_alarms(AlarmNames=[name])
    again = put_alarm(cloudwatch, name)["AlarmArn"]
    assert again == arn
    assert tags(cloudwatch, arn) == {}, "a new alarm of the name starts without tags"
    assert tags(cloudwatch, other) == {"team": "ml"}


def test_untagging_an_alarm_without_tags_succeeds(cloudwatch, name):
    arn = put_alarm(cloudwatch, name, {"team": "ml"})["AlarmArn"]
    cloudwatch.delete_alarms(AlarmNames=[name])
    put_alarm(cloudwatch, name)
    cloudwatch.untag_resource(ResourceARN=arn, TagKeys=["team"])
    never_tagged = put_alarm(cloudwatch, name + "-bare")["AlarmArn"]
    cloudwatch.untag_resource(ResourceARN=never_tagged, TagKeys=["team"])
    cloudwatch.delete_alarms(AlarmNames=[name + "-bare"])
    with pytest.raises(cloudwatch.exceptions.ResourceNotFoundException):
        cloudwatch.untag_resource(ResourceARN=never_tagged, TagKeys=["team"])


def test_racing_puts_of_a_new_alarm_tag_it_once(client, name, monkeypatch):
    """Each put checks whether the alarm exists and writes it (and its tags) as one step."""
    from moto.cloudwatch.models import Alarm

    cloudwatch = client("cloudwatch", "smithy-rpc-v2-cbor")
    make = Alarm.__init__

    def slow(self, *args, **kwargs):
        time.sleep(0.2)  # between the check and the write of a put that creates the alarm
        make(self, *args, **kwargs)

    monkeypatch.setattr(Alarm, "__init__", slow)
    start = threading.Barrier(3)

    def put(i):
        start.wait()
        put_alarm(cloudwatch, name, {f"k{i}": "v"})

    with ThreadPoolExecutor(3) as pool:
        list(pool.map(put, range(3)))
    (alarm,) = cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"]
    assert len(tags(cloudwatch, alarm["AlarmArn"])) == 1  # the first put's only
