"""Application Auto Scaling's rules that moto lacks (scaling.py)."""

import itertools

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


def put_policy(scaling, resource_id, target_value):
    return scaling.put_scaling_policy(
        PolicyName="busy",
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
    # Registering again updates the target; its tags stay as they were.
    register(scaling, resource_id, Tags={"team": "web"})
    register(scaling, resource_id)
    assert tags(scaling, arn) == {"team": "ml"}


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
