"""Application Auto Scaling's rules that moto lacks (scaling.py)."""

import itertools
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.exceptions import ClientError

DIMENSION = "sagemaker:variant:DesiredInstanceCount"
_names = itertools.count()


@pytest.fixture
def scaling(client):
    return client("application-autoscaling")


@pytest.fixture
def resource_id():
    return f"endpoint/scaling-test-{next(_names)}/variant/prod"


def register(scaling, resource_id, **extra):
    target = dict(ServiceNamespace="sagemaker", ResourceId=resource_id, ScalableDimension=DIMENSION)
    return scaling.register_scalable_target(**target, MinCapacity=0, MaxCapacity=2, **extra)


def deregister(scaling, resource_id):
    scaling.deregister_scalable_target(
        ServiceNamespace="sagemaker", ResourceId=resource_id, ScalableDimension=DIMENSION
    )


def tags(scaling, arn):
    return scaling.list_tags_for_resource(ResourceARN=arn)["Tags"]


def refused(call, code):
    """The refusal's message, after checking that the call is refused with `code`."""
    with pytest.raises(ClientError) as error:
        call()
    assert error.value.response["Error"]["Code"] == code, error.value.response
    return error.value.response["Error"]["Message"]


def target_of(scaling, resource_id):
    found = scaling.describe_scalable_targets(
        ServiceNamespace="sagemaker", ResourceIds=[resource_id], ScalableDimension=DIMENSION
    )["ScalableTargets"]
    return found[0] if found else None


def put_policy(scaling, resource_id, target_value, name="busy"):
    return scaling.put_scaling_policy(
        PolicyName=name,
        ServiceNamespace="sagemaker",
        ResourceId=resource_id,
        ScalableDimension=DIMENSION,
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": target_value,
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
            },
        },
    )["PolicyARN"]


def test_register_keeps_the_tags_it_creates_a_target_with(scaling, resource_id):
    arn = register(scaling, resource_id, Tags={"team": "ml"})["ScalableTargetARN"]
    assert tags(scaling, arn) == {"team": "ml"}
    # Registering again (without Tags) updates the target; its tags stay as they were.
    assert register(scaling, resource_id)["ScalableTargetARN"] == arn
    assert tags(scaling, arn) == {"team": "ml"}


def test_tags_for_a_target_that_exists_are_refused(scaling, resource_id):
    arn = register(scaling, resource_id, Tags={"team": "ml"})["ScalableTargetARN"]
    message = refused(
        lambda: register(scaling, resource_id, Tags={"team": "web"}), "ValidationException"
    )
    assert message == (
        "The scalable target that you tried to tag already exists. To update tags on an "
        "existing scalable target, use the TagResource API."
    )
    assert tags(scaling, arn) == {"team": "ml"}
    # The refusal changed nothing else either.
    scaling.register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId=resource_id,
        ScalableDimension=DIMENSION,
        MaxCapacity=5,
    )
    refused(
        lambda: scaling.register_scalable_target(
            ServiceNamespace="sagemaker",
            ResourceId=resource_id,
            ScalableDimension=DIMENSION,
            MaxCapacity=9,
            Tags={"team": "ml"},
        ),
        "ValidationException",
    )
    assert target_of(scaling, resource_id)["MaxCapacity"] == 5


def test_a_minimum_above_the_maximum_is_refused(scaling, resource_id):
    target = dict(ServiceNamespace="sagemaker", ResourceId=resource_id, ScalableDimension=DIMENSION)
    refused(
        lambda: scaling.register_scalable_target(**target, MinCapacity=3, MaxCapacity=2),
        "ValidationException",
    )
    assert target_of(scaling, resource_id) is None
    scaling.register_scalable_target(**target, MinCapacity=1, MaxCapacity=4)
    # One bound given: checked against the target's other bound.
    refused(
        lambda: scaling.register_scalable_target(**target, MinCapacity=5), "ValidationException"
    )
    refused(
        lambda: scaling.register_scalable_target(**target, MaxCapacity=0), "ValidationException"
    )
    found = target_of(scaling, resource_id)
    assert (found["MinCapacity"], found["MaxCapacity"]) == (1, 4)
    scaling.register_scalable_target(**target, MinCapacity=4)
    scaling.register_scalable_target(**target, MaxCapacity=4)
    found = target_of(scaling, resource_id)
    assert (found["MinCapacity"], found["MaxCapacity"]) == (4, 4)


def test_a_new_target_needs_both_capacity_bounds(scaling, resource_id):
    target = dict(ServiceNamespace="sagemaker", ResourceId=resource_id, ScalableDimension=DIMENSION)
    refused(
        lambda: scaling.register_scalable_target(**target, MaxCapacity=2), "ValidationException"
    )
    refused(
        lambda: scaling.register_scalable_target(**target, MinCapacity=0), "ValidationException"
    )
    assert target_of(scaling, resource_id) is None


def test_tag_resource_and_untag_resource_change_a_targets_tags(scaling, resource_id):
    arn = register(scaling, resource_id)["ScalableTargetARN"]
    assert tags(scaling, arn) == {}
    scaling.tag_resource(ResourceARN=arn, Tags={"team": "ml", "cost": "a"})
    scaling.tag_resource(ResourceARN=arn, Tags={"team": "web"})
    assert tags(scaling, arn) == {"team": "web", "cost": "a"}
    scaling.untag_resource(ResourceARN=arn, TagKeys=["cost", "absent"])
    assert tags(scaling, arn) == {"team": "web"}


def test_a_targets_tags_go_with_it(scaling, resource_id):
    arn = register(scaling, resource_id, Tags={"team": "ml"})["ScalableTargetARN"]
    deregister(scaling, resource_id)
    with pytest.raises(ClientError) as error:
        tags(scaling, arn)
    assert error.value.response["Error"]["Code"] == "ResourceNotFoundException"
    again = register(scaling, resource_id)["ScalableTargetARN"]
    assert tags(scaling, again) == {}


def test_tagging_a_target_that_does_not_exist_is_refused(scaling):
    arn = "arn:aws:application-autoscaling:us-east-1:123456789012:scalable-target/none"
    for call in (
        lambda: scaling.tag_resource(ResourceARN=arn, Tags={"a": "b"}),
        lambda: scaling.untag_resource(ResourceARN=arn, TagKeys=["a"]),
        lambda: tags(scaling, arn),
    ):
        with pytest.raises(ClientError) as error:
            call()
        assert error.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_deregistering_a_target_deletes_its_policies_and_scheduled_actions(scaling, resource_id):
    register(scaling, resource_id)
    other = resource_id.replace("/prod", "/other")
    register(scaling, other)
    for each in (resource_id, other):
        put_policy(scaling, each, 50.0)
        scaling.put_scheduled_action(
            ServiceNamespace="sagemaker",
            ResourceId=each,
            ScalableDimension=DIMENSION,
            ScheduledActionName="night",
            Schedule="cron(0 20 * * ? *)",
            ScalableTargetAction={"MaxCapacity": 0},
        )
    deregister(scaling, resource_id)
    for each, left in ((resource_id, 0), (other, 1)):
        policies = scaling.describe_scaling_policies(ServiceNamespace="sagemaker", ResourceId=each)
        actions = scaling.describe_scheduled_actions(ServiceNamespace="sagemaker", ResourceId=each)
        assert len(policies["ScalingPolicies"]) == left, each
        assert len(actions["ScheduledActions"]) == left, each


def test_a_policy_put_again_keeps_its_arn(scaling, resource_id):
    register(scaling, resource_id)
    first = put_policy(scaling, resource_id, 50.0)
    second = put_policy(scaling, resource_id, 70.0)
    assert first == second
    (policy,) = scaling.describe_scaling_policies(
        ServiceNamespace="sagemaker", ResourceId=resource_id
    )["ScalingPolicies"]
    assert policy["PolicyARN"] == first
    assert policy["TargetTrackingScalingPolicyConfiguration"]["TargetValue"] == 70.0


def test_an_inference_components_copy_count_is_a_dimension_as_aws_has_it(scaling):
    # moto's own list lacks it; AWS's API model has it.
    component = dict(
        ServiceNamespace="sagemaker",
        ResourceId=f"inference-component/scaling-test-{next(_names)}",
        ScalableDimension="sagemaker:inference-component:DesiredCopyCount",
    )
    arn = scaling.register_scalable_target(**component, MinCapacity=0, MaxCapacity=3)[
        "ScalableTargetARN"
    ]
    scaling.put_scaling_policy(
        **component,
        PolicyName="per-copy",
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 1,
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "SageMakerInferenceComponentInvocationsPerCopy"
            },
        },
    )
    [target] = scaling.describe_scalable_targets(
        ServiceNamespace="sagemaker",
        ResourceIds=[component["ResourceId"]],
        ScalableDimension=component["ScalableDimension"],
    )["ScalableTargets"]
    assert (target["ScalableTargetARN"], target["MaxCapacity"]) == (arn, 3)
    scaling.deregister_scalable_target(**component)
    assert (
        scaling.describe_scaling_policies(
            ServiceNamespace="sagemaker",
            **{
                "ResourceId": component["ResourceId"],
                "ScalableDimension": component["ScalableDimension"],
            },
        )["ScalingPolicies"]
        == []
    )


def test_a_dimension_aws_does_not_have_or_that_does_not_fit_the_resource_is_refused(scaling):
    """The patch accepts no more than AWS: moto refused these before it too."""
    for resource_id, dimension in [
        ("inference-component/x", "sagemaker:inference-component:DesiredCount"),
        ("endpoint/e/variant/v", "sagemaker:inference-component:DesiredCopyCount"),
    ]:
        with pytest.raises(ClientError) as refused:
            scaling.register_scalable_target(
                ServiceNamespace="sagemaker",
                ResourceId=resource_id,
                ScalableDimension=dimension,
                MinCapacity=0,
                MaxCapacity=1,
            )
        assert refused.value.response["Error"]["Code"] == "ValidationException"


def schedule(scaling, resource_id, name="night", **extra):
    return scaling.put_scheduled_action(
        ServiceNamespace="sagemaker",
        ResourceId=resource_id,
        ScalableDimension=DIMENSION,
        ScheduledActionName=name,
        **extra,
    )


def scheduled(scaling, resource_id, name="night"):
    (action,) = scaling.describe_scheduled_actions(
        ServiceNamespace="sagemaker", ResourceId=resource_id, ScheduledActionNames=[name]
    )["ScheduledActions"]
    return action


def test_a_policy_or_scheduled_action_for_no_registered_target_is_refused(scaling, resource_id):
    def both():
        return (
            lambda: put_policy(scaling, resource_id, 50.0),
            lambda: schedule(scaling, resource_id, Schedule="cron(0 20 * * ? *)"),
        )

    for call in both():
        message = refused(call, "ObjectNotFoundException")
        assert resource_id in message
    # Nor once the target is gone.
    register(scaling, resource_id)
    deregister(scaling, resource_id)
    for call in both():
        refused(call, "ObjectNotFoundException")
    assert (
        scaling.describe_scaling_policies(ServiceNamespace="sagemaker", ResourceId=resource_id)[
            "ScalingPolicies"
        ]
        == []
    )


def tracking(scaling, resource_id, configuration):
    return scaling.put_scaling_policy(
        PolicyName="tracking",
        ServiceNamespace="sagemaker",
        ResourceId=resource_id,
        ScalableDimension=DIMENSION,
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={"TargetValue": 1.0, **configuration},
    )


PREDEFINED = {
    "PredefinedMetricSpecification": {
        "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
    }
}
ONE_METRIC = {
    "MetricName": "ApproximateBacklogSizePerInstance",
    "Namespace": "AWS/SageMaker",
    "Dimensions": [{"Name": "EndpointName", "Value": "e"}],
    "Statistic": "Average",
}


def query(query_id, return_data=None, **body):
    found = {"Id": query_id, **body}
    if return_data is not None:
        found["ReturnData"] = return_data
    return found


STAT = {
    "MetricStat": {
        "Metric": {"MetricName": "m", "Namespace": "AWS/SageMaker"},
        "Stat": "Average",
    }
}


def test_a_target_tracking_configuration_names_exactly_one_metric(scaling, resource_id):
    register(scaling, resource_id)
    accepted = [
        PREDEFINED,
        {"CustomizedMetricSpecification": ONE_METRIC},
        {
            "CustomizedMetricSpecification": {
                "Metrics": [
                    query("m1", False, **STAT),
                    query("e1", Expression="m1 * 2"),  # ReturnData left out: true
                ]
            }
        },
    ]
    refused_ones = [
        {},  # neither
        {**PREDEFINED, "CustomizedMetricSpecification": ONE_METRIC},  # both
        {"CustomizedMetricSpecification": {**ONE_METRIC, "Statistic": None}},
        {"CustomizedMetricSpecification": {"MetricName": "m", "Statistic": "Average"}},
        {  # one metric and metric math
            "CustomizedMetricSpecification": {
                "Metrics": [query("m1", **STAT)],
                "Namespace": "AWS/SageMaker",
            }
        },
        {  # a query with both Expression and MetricStat
            "CustomizedMetricSpecification": {
                "Metrics": [query("m1", Expression="1", **STAT)],
            }
        },
        {  # a query with neither
            "CustomizedMetricSpecification": {"Metrics": [query("m1")]},
        },
        {  # two queries return data (ReturnData left out: true)
            "CustomizedMetricSpecification": {
                "Metrics": [query("m1", **STAT), query("e1", Expression="m1 * 2")]
            }
        },
        {  # none returns data
            "CustomizedMetricSpecification": {"Metrics": [query("m1", False, **STAT)]}
        },
    ]
    for configuration in accepted:
        tracking(scaling, resource_id, configuration)
    for configuration in refused_ones:
        clean = {
            key: {k: v for k, v in value.items() if v is not None}
            for key, value in configuration.items()
        }
        with pytest.raises(ClientError) as error:
            tracking(scaling, resource_id, clean)
        assert error.value.response["Error"]["Code"] == "ValidationException", configuration
    # The refusals changed nothing: the policy is the last one accepted.
    (policy,) = scaling.describe_scaling_policies(
        ServiceNamespace="sagemaker", ResourceId=resource_id
    )["ScalingPolicies"]
    assert (
        "Metrics"
        in policy["TargetTrackingScalingPolicyConfiguration"]["CustomizedMetricSpecification"]
    )


def test_a_target_holds_at_most_50_scaling_policies(scaling, resource_id):
    register(scaling, resource_id)
    other = resource_id.replace("/prod", "/other")
    register(scaling, other)
    for i in range(50):
        put_policy(scaling, resource_id, 50.0, name=f"p{i:02}")
    message = refused(
        lambda: put_policy(scaling, resource_id, 50.0, name="p50"), "LimitExceededException"
    )
    assert "50" in message
    put_policy(scaling, resource_id, 70.0, name="p07")  # an update is no new policy
    put_policy(scaling, other, 50.0, name="p50")  # another target's quota is its own
    scaling.delete_scaling_policy(
        PolicyName="p00",
        ServiceNamespace="sagemaker",
        ResourceId=resource_id,
        ScalableDimension=DIMENSION,
    )
    put_policy(scaling, resource_id, 50.0, name="p50")


def test_deleting_a_scheduled_action_that_does_not_exist_is_refused(scaling, resource_id):
    register(scaling, resource_id)
    schedule(scaling, resource_id, Schedule="cron(0 20 * * ? *)")

    def delete(name):
        scaling.delete_scheduled_action(
            ServiceNamespace="sagemaker",
            ResourceId=resource_id,
            ScalableDimension=DIMENSION,
            ScheduledActionName=name,
        )

    refused(lambda: delete("morning"), "ObjectNotFoundException")
    delete("night")
    refused(lambda: delete("night"), "ObjectNotFoundException")


def test_what_is_missing_is_object_not_found(scaling, resource_id):
    message = refused(lambda: deregister(scaling, resource_id), "ObjectNotFoundException")
    assert message.startswith("No scalable target found")
    register(scaling, resource_id)
    message = refused(
        lambda: scaling.delete_scaling_policy(
            PolicyName="absent",
            ServiceNamespace="sagemaker",
            ResourceId=resource_id,
            ScalableDimension=DIMENSION,
        ),
        "ObjectNotFoundException",
    )
    assert message.startswith("No scaling policy found")


def names(answer):
    return [p["PolicyName"] for p in answer["ScalingPolicies"]]


def test_describe_scaling_policies_filters_exactly_and_pages_ten_at_a_time(scaling, resource_id):
    shorter = resource_id[:-1]  # endpoint/.../variant/pro: a prefix of the other's ResourceId
    for each in (resource_id, shorter):
        register(scaling, each)
    for i in range(23):
        put_policy(scaling, resource_id, 50.0, name=f"p{i:02}")
    put_policy(scaling, shorter, 50.0, name="short")

    def describe(**extra):
        return scaling.describe_scaling_policies(
            ServiceNamespace="sagemaker", ResourceId=resource_id, **extra
        )

    first = describe()
    assert names(first) == [f"p{i:02}" for i in range(10)]
    second = describe(NextToken=first["NextToken"])
    assert names(second) == [f"p{i:02}" for i in range(10, 20)]
    third = describe(NextToken=second["NextToken"])
    assert names(third) == ["p20", "p21", "p22"] and "NextToken" not in third
    assert names(describe(MaxResults=3)) == ["p00", "p01", "p02"]
    short = scaling.describe_scaling_policies(ServiceNamespace="sagemaker", ResourceId=shorter)
    assert names(short) == ["short"]
    assert names(describe(PolicyNames=["p03", "p11", "absent"])) == ["p03", "p11"]
    assert names(describe(ScalableDimension=DIMENSION, PolicyNames=["p01"])) == ["p01"]
    for bad in (0, 11, 100):
        refused(lambda bad=bad: describe(MaxResults=bad), "ValidationException")
    refused(lambda: describe(NextToken="10"), "InvalidNextTokenException")
    # A caller that deletes what it finds between pages skips nothing.
    seen, token = [], None
    while True:
        page = describe(**({"NextToken": token} if token else {}))
        for name in names(page):
            seen.append(name)
            scaling.delete_scaling_policy(
                PolicyName=name,
                ServiceNamespace="sagemaker",
                ResourceId=resource_id,
                ScalableDimension=DIMENSION,
            )
        token = page.get("NextToken")
        if token is None:
            break
    assert seen == [f"p{i:02}" for i in range(23)]
    assert names(describe()) == []


def test_updating_a_scheduled_action_keeps_what_the_request_leaves_out(scaling, resource_id):
    register(scaling, resource_id)
    schedule(
        scaling,
        resource_id,
        Schedule="cron(0 20 * * ? *)",
        Timezone="Europe/Berlin",
        ScalableTargetAction={"MinCapacity": 0, "MaxCapacity": 2},
    )
    schedule(scaling, resource_id, Schedule="cron(0 21 * * ? *)", ScalableTargetAction={})
    schedule(scaling, resource_id, ScalableTargetAction={"MaxCapacity": 1})
    action = scheduled(scaling, resource_id)
    assert action["Schedule"] == "cron(0 21 * * ? *)"
    assert action["Timezone"] == "Europe/Berlin"
    assert action["ScalableTargetAction"] == {"MinCapacity": 0, "MaxCapacity": 1}
    schedule(scaling, resource_id, ScalableTargetAction={"MinCapacity": 1}, Timezone="UTC")
    action = scheduled(scaling, resource_id)
    assert action["Timezone"] == "UTC"
    assert action["ScalableTargetAction"] == {"MinCapacity": 1, "MaxCapacity": 1}


def slowed(monkeypatch, cls, seconds=0.2):
    """Constructing a `cls` takes `seconds`: a request that writes one is slow between its
    checks and its write, so that requests racing it would see a half-done step if the rules
    did not hold their lock across both."""
    make = cls.__init__

    def slow(self, *args, **kwargs):
        time.sleep(seconds)
        make(self, *args, **kwargs)

    monkeypatch.setattr(cls, "__init__", slow)


def race(calls):
    """Runs the calls at once; answers their error codes (None: it succeeded), successes
    first."""
    start = threading.Barrier(len(calls))

    def run(call):
        start.wait()
        try:
            call()
        except ClientError as e:
            return e.response["Error"]["Code"]
        return None

    with ThreadPoolExecutor(len(calls)) as pool:
        outcomes = list(pool.map(run, calls))
    return sorted(outcomes, key=lambda code: (code is not None, code or ""))


def test_racing_registrations_with_tags_create_the_target_once(scaling, resource_id, monkeypatch):
    from moto.applicationautoscaling.models import FakeScalableTarget

    slowed(monkeypatch, FakeScalableTarget)
    outcomes = race(
        [lambda i=i: register(scaling, resource_id, Tags={f"k{i}": "v"}) for i in range(4)]
    )
    assert outcomes == [None] + ["ValidationException"] * 3
    arn = target_of(scaling, resource_id)["ScalableTargetARN"]
    assert len(tags(scaling, arn)) == 1  # the winner's


def test_racing_policies_keep_the_quota_of_50(scaling, resource_id, monkeypatch):
    from moto.applicationautoscaling.models import FakeApplicationAutoscalingPolicy

    register(scaling, resource_id)
    for i in range(48):
        put_policy(scaling, resource_id, 50.0, name=f"p{i:02}")
    slowed(monkeypatch, FakeApplicationAutoscalingPolicy, 0.1)
    outcomes = race(
        [lambda i=i: put_policy(scaling, resource_id, 50.0, name=f"new{i}") for i in range(4)]
    )
    assert outcomes == [None, None] + ["LimitExceededException"] * 2
    found = scaling.describe_scaling_policies(
        ServiceNamespace="sagemaker", ResourceId=resource_id, MaxResults=10
    )
    count, token = len(found["ScalingPolicies"]), found.get("NextToken")
    while token:
        found = scaling.describe_scaling_policies(
            ServiceNamespace="sagemaker", ResourceId=resource_id, NextToken=token
        )
        count, token = count + len(found["ScalingPolicies"]), found.get("NextToken")
    assert count == 50
