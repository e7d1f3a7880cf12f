"""SageMaker's UpdateEndpoint as AWS does it (sagemaker.py), and the control API that sets how an
update goes."""

import itertools
import time

import pytest
from botocore.exceptions import ClientError

DIMENSION = "sagemaker:variant:DesiredInstanceCount"
_names = itertools.count()


@pytest.fixture
def sagemaker(client):
    return client("sagemaker")


@pytest.fixture
def scaling(client):
    return client("application-autoscaling")


@pytest.fixture
def name():
    return f"update-test-{next(_names)}"


def variant(name, instance_type="ml.m5.large", model="model-a", count=1):
    return {
        "VariantName": name,
        "ModelName": model,
        "InstanceType": instance_type,
        "InitialInstanceCount": count,
        "InitialVariantWeight": 1.0,
    }


@pytest.fixture
def config(sagemaker, name):
    """config(suffix, *variants): creates the endpoint config <name>-<suffix>."""
    for model in ("model-a", "model-b"):
        sagemaker.create_model(
            ModelName=model,
            PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/m:1"},
            ExecutionRoleArn="arn:aws:iam::123456789012:role/sagemaker",
        )

    def make(suffix, *variants):
        config_name = f"{name}-{suffix}"
        sagemaker.create_endpoint_config(
            EndpointConfigName=config_name, ProductionVariants=list(variants)
        )
        return config_name

    return make


@pytest.fixture
def endpoint(sagemaker, name, config):
    """An InService endpoint on config <name>-old, variants prod (registered) and canary (not)."""
    old = config("old", variant("prod"), variant("canary"))
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=old)
    return name


@pytest.fixture
def registered(scaling, endpoint):
    resource_id = f"endpoint/{endpoint}/variant/prod"
    scaling.register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId=resource_id,
        ScalableDimension=DIMENSION,
        MinCapacity=1,
        MaxCapacity=4,
    )
    return resource_id


@pytest.fixture
def next_update(post):
    def set_next(endpoint, **behaviour):
        status, answer = post("/_emulator/endpoint-update", {"EndpointName": endpoint, **behaviour})
        assert (status, answer) == (200, b"{}")

    return set_next


def refusal(call):
    with pytest.raises(ClientError) as error:
        call()
    assert error.value.response["Error"]["Code"] == "ValidationException"
    return error.value.response["Error"]["Message"]


def wait_until_in_service(sagemaker, endpoint, seconds=5, statuses=("Updating",)):
    deadline = time.monotonic() + seconds
    while True:
        described = sagemaker.describe_endpoint(EndpointName=endpoint)
        if described["EndpointStatus"] not in statuses or time.monotonic() > deadline:
            return described
        time.sleep(0.05)


def test_changing_a_registered_variants_instance_type_is_refused(sagemaker, config, registered):
    endpoint = registered.split("/")[1]
    bigger = config("bigger", variant("prod", "ml.m5.xlarge"), variant("canary"))
    message = refusal(
        lambda: sagemaker.update_endpoint(EndpointName=endpoint, EndpointConfigName=bigger)
    )
    assert "'prod'" in message and "registered for auto scaling" in message
    assert "Deregister the scalable target first" in message
    described = sagemaker.describe_endpoint(EndpointName=endpoint)
    assert (described["EndpointStatus"], described["EndpointConfigName"]) == (
        "InService",
        f"{endpoint}-old",
    )


def test_removing_a_registered_variant_is_refused(sagemaker, config, registered):
    endpoint = registered.split("/")[1]
    without = config("without-prod", variant("canary"))
    message = refusal(
        lambda: sagemaker.update_endpoint(EndpointName=endpoint, EndpointConfigName=without)
    )
    assert "'prod'" in message and "has no such variant" in message


def test_a_model_only_change_is_allowed_while_registered(sagemaker, config, registered):
    endpoint = registered.split("/")[1]
    new_model = config("model-b", variant("prod", model="model-b"), variant("canary"))
    sagemaker.update_endpoint(EndpointName=endpoint, EndpointConfigName=new_model)
    assert wait_until_in_service(sagemaker, endpoint)["EndpointConfigName"] == new_model


def test_unregistered_variants_may_change_instance_type_or_go(sagemaker, config, registered):
    endpoint = registered.split("/")[1]
    changed = config("canary-bigger", variant("prod"), variant("canary", "ml.m5.xlarge"))
    sagemaker.update_endpoint(EndpointName=endpoint, EndpointConfigName=changed)
    assert wait_until_in_service(sagemaker, endpoint)["EndpointConfigName"] == changed
    gone = config("canary-gone", variant("prod"))
    sagemaker.update_endpoint(EndpointName=endpoint, EndpointConfigName=gone)
    described = wait_until_in_service(sagemaker, endpoint)
    assert [v["VariantName"] for v in described["ProductionVariants"]] == ["prod"]


def test_after_deregistering_the_instance_type_may_change(sagemaker, scaling, config, registered):
    endpoint = registered.split("/")[1]
    bigger = config("bigger", variant("prod", "ml.m5.xlarge"))
    scaling.deregister_scalable_target(
        ServiceNamespace="sagemaker", ResourceId=registered, ScalableDimension=DIMENSION
    )
    sagemaker.update_endpoint(EndpointName=endpoint, EndpointConfigName=bigger)
    assert wait_until_in_service(sagemaker, endpoint)["EndpointConfigName"] == bigger


def test_a_refused_update_leaves_the_next_update_setting(
    sagemaker, scaling, config, registered, next_update
):
    endpoint = registered.split("/")[1]
    bigger = config("bigger", variant("prod", "ml.m5.xlarge"), variant("canary"))
    next_update(endpoint, Seconds=0, Fails=True, FailureReason="kept for the next update")
    refusal(lambda: sagemaker.update_endpoint(EndpointName=endpoint, EndpointConfigName=bigger))
    scaling.deregister_scalable_target(
        ServiceNamespace="sagemaker", ResourceId=registered, ScalableDimension=DIMENSION
    )
    sagemaker.update_endpoint(EndpointName=endpoint, EndpointConfigName=bigger)
    described = sagemaker.describe_endpoint(EndpointName=endpoint)
    assert described["FailureReason"] == "kept for the next update"
    assert described["EndpointConfigName"] == f"{endpoint}-old"


def test_the_rule_reads_the_config_the_endpoint_runs_not_its_name(sagemaker, config, registered):
    # The config the endpoint runs is deleted: the update is still checked against it.
    endpoint = registered.split("/")[1]
    sagemaker.delete_endpoint_config(EndpointConfigName=f"{endpoint}-old")
    bigger = config("bigger", variant("prod", "ml.m5.xlarge"), variant("canary"))
    refusal(lambda: sagemaker.update_endpoint(EndpointName=endpoint, EndpointConfigName=bigger))


def test_updating_then_in_service_on_the_new_config(sagemaker, config, endpoint, next_update):
    new = config("new", variant("prod", count=3), variant("canary"))
    created = sagemaker.describe_endpoint(EndpointName=endpoint)
    next_update(endpoint, Seconds=1.0)
    answer = sagemaker.update_endpoint(
        EndpointName=endpoint, EndpointConfigName=new, RetainAllVariantProperties=False
    )
    assert answer["EndpointArn"] == created["EndpointArn"]
    during = sagemaker.describe_endpoint(EndpointName=endpoint)
    assert (during["EndpointStatus"], during["EndpointConfigName"]) == (
        "Updating",
        f"{endpoint}-old",
    )
    assert during["LastModifiedTime"] > created["LastModifiedTime"]
    after = wait_until_in_service(sagemaker, endpoint)
    assert (after["EndpointStatus"], after["EndpointConfigName"]) == ("InService", new)
    prod = next(v for v in after["ProductionVariants"] if v["VariantName"] == "prod")
    assert (prod["CurrentInstanceCount"], prod["DesiredInstanceCount"]) == (3, 3)
    # The update's end, not the moment it was seen: a second after it started.
    finished = (after["LastModifiedTime"] - during["LastModifiedTime"]).total_seconds()
    assert finished == pytest.approx(1.0, abs=0.01)
    assert "FailureReason" not in after


def test_an_update_is_refused_while_the_endpoint_is_not_in_service(
    sagemaker, config, endpoint, next_update
):
    new, newer = config("new", variant("prod")), config("newer", variant("prod"))
    next_update(endpoint, Seconds=60)
    sagemaker.update_endpoint(EndpointName=endpoint, EndpointConfigName=new)
    message = refusal(
        lambda: sagemaker.update_endpoint(EndpointName=endpoint, EndpointConfigName=newer)
    )
    assert message.startswith("Cannot update in-progress endpoint")


def test_a_failed_update_keeps_the_old_config_with_a_failure_reason(
    sagemaker, config, endpoint, next_update
):
    new = config("new", variant("prod", count=3))
    before = sagemaker.describe_endpoint(EndpointName=endpoint)
    next_update(endpoint, Seconds=0.1, Fails=True, FailureReason="The image cannot be pulled.")
    sagemaker.update_endpoint(EndpointName=endpoint, EndpointConfigName=new)
    after = wait_until_in_service(sagemaker, endpoint)
    assert after["EndpointStatus"] == "InService"
    assert after["EndpointConfigName"] == f"{endpoint}-old"
    assert after["ProductionVariants"] == before["ProductionVariants"]
    assert after["FailureReason"] == "The image cannot be pulled."
    assert after["LastModifiedTime"] > before["LastModifiedTime"]
    # The setting was for one update: the next succeeds, and clears the FailureReason.
    sagemaker.update_endpoint(EndpointName=endpoint, EndpointConfigName=new)
    again = wait_until_in_service(sagemaker, endpoint)
    assert again["EndpointConfigName"] == new
    assert "FailureReason" not in again


def test_a_failed_update_may_be_rolling_back_for_a_while(sagemaker, config, endpoint, next_update):
    new = config("new", variant("prod"))
    next_update(endpoint, Seconds=0.1, Fails=True, FailureReason="no", RollbackSeconds=1.0)
    sagemaker.update_endpoint(EndpointName=endpoint, EndpointConfigName=new)
    time.sleep(0.3)
    rolling = sagemaker.describe_endpoint(EndpointName=endpoint)
    assert (rolling["EndpointStatus"], rolling["EndpointConfigName"]) == (
        "RollingBack",
        f"{endpoint}-old",
    )
    assert rolling["FailureReason"] == "no"
    message = refusal(
        lambda: sagemaker.update_endpoint(EndpointName=endpoint, EndpointConfigName=new)
    )
    assert message.startswith("Cannot update in-progress endpoint")
    after = wait_until_in_service(sagemaker, endpoint, statuses=("RollingBack",))
    assert (after["EndpointStatus"], after["EndpointConfigName"]) == (
        "InService",
        f"{endpoint}-old",
    )
    ended = (after["LastModifiedTime"] - rolling["LastModifiedTime"]).total_seconds()
    assert ended == pytest.approx(1.0, abs=0.01)


def test_a_failure_without_a_reason_gets_one(sagemaker, config, endpoint, next_update):
    new = config("new", variant("prod"))
    next_update(endpoint, Seconds=0, Fails=True)
    sagemaker.update_endpoint(EndpointName=endpoint, EndpointConfigName=new)
    assert sagemaker.describe_endpoint(EndpointName=endpoint)["FailureReason"]


def test_create_endpoint_starts_without_a_failure_reason(sagemaker, config, endpoint, next_update):
    new = config("new", variant("prod"))
    next_update(endpoint, Seconds=0, Fails=True)
    sagemaker.update_endpoint(EndpointName=endpoint, EndpointConfigName=new)
    sagemaker.delete_endpoint(EndpointName=endpoint)
    sagemaker.create_endpoint(EndpointName=endpoint, EndpointConfigName=new)
    assert "FailureReason" not in sagemaker.describe_endpoint(EndpointName=endpoint)


def test_list_endpoints_sees_an_update_end(sagemaker, config, endpoint, next_update):
    new = config("new", variant("prod"))
    next_update(endpoint, Seconds=1.0)
    sagemaker.update_endpoint(EndpointName=endpoint, EndpointConfigName=new)

    def status():
        listed = sagemaker.list_endpoints(NameContains=endpoint)["Endpoints"]
        return next(e["EndpointStatus"] for e in listed if e["EndpointName"] == endpoint)

    assert status() == "Updating"
    time.sleep(1.1)
    assert status() == "InService"


def test_an_unknown_endpoint_or_config_is_refused(sagemaker, config, endpoint):
    new = config("new", variant("prod"))
    message = refusal(
        lambda: sagemaker.update_endpoint(EndpointName="no-such", EndpointConfigName=new)
    )
    assert message.startswith("Could not find endpoint") and "endpoint/no-such" in message
    message = refusal(
        lambda: sagemaker.update_endpoint(EndpointName=endpoint, EndpointConfigName="none")
    )
    assert message.startswith("Could not find endpoint configuration")


def test_the_control_api_refuses_what_it_cannot_read_and_hides_no_moto_route(post, sagemaker):
    assert post("/_emulator/endpoint-update", {"Seconds": 1})[0] == 400
    assert post("/_emulator/endpoint-update", {"EndpointName": "e", "Seconds": -1})[0] == 400
    assert post("/_emulator/endpoint-update", {"EndpointName": "e", "Fails": "yes"})[0] == 400
    assert post("/_emulator/endpoint-update", {"EndpointName": "e", "Second": 1})[0] == 400
    assert (
        post("/_emulator/endpoint-update", {"EndpointName": "e", "RollbackSeconds": "1"})[0] == 400
    )
    assert post("/_emulator/endpoint-update", b"not json")[0] == 400
    assert post("/_emulator/nothing", {})[0] == 404
    assert "Endpoints" in sagemaker.list_endpoints()


def pooled(name, *types, model="model-a", count=2, overrides=None):
    """A variant on instance pools of `types`, priority 1 first (pools given in reverse order,
    to show the order of priorities is what counts)."""
    pools = [
        {"InstanceType": instance_type, "Priority": priority}
        for priority, instance_type in enumerate(types, start=1)
    ]
    for pool, model_name in zip(pools, overrides or [], strict=False):
        if model_name is not None:
            pool["ModelNameOverride"] = model_name
    return {
        "VariantName": name,
        "ModelName": model,
        "InstancePools": pools[::-1],
        "InitialInstanceCount": count,
        "InitialVariantWeight": 1.0,
    }


@pytest.fixture
def pooled_endpoint(sagemaker, scaling, name, config):
    """An InService endpoint on config <name>-old: variant prod (registered) on pools of
    ml.m5.large (priority 1) and ml.m5.xlarge, and canary (not registered) on ml.m5.large."""
    old = config("old", pooled("prod", "ml.m5.large", "ml.m5.xlarge"), variant("canary"))
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=old)
    scaling.register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId=f"endpoint/{name}/variant/prod",
        ScalableDimension=DIMENSION,
        MinCapacity=1,
        MaxCapacity=4,
    )
    return name


def test_a_variant_may_run_on_instance_pools_instead_of_an_instance_type(sagemaker, name, config):
    pools = pooled("prod", "ml.m5.large", "ml.c5.large", overrides=[None, "model-b"])
    created = config("pools", pools, variant("canary"))
    described = sagemaker.describe_endpoint_config(EndpointConfigName=created)
    prod = described["ProductionVariants"][0]
    assert prod["InstancePools"] == pools["InstancePools"]
    assert "InstanceType" not in prod
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=created)
    summaries = sagemaker.describe_endpoint(EndpointName=name)["ProductionVariants"]
    by_name = {s["VariantName"]: s for s in summaries}
    # In priority order, every instance in the pool of highest priority.
    assert by_name["prod"]["InstancePools"] == [
        {"InstanceType": "ml.m5.large", "CurrentInstanceCount": 2},
        {"InstanceType": "ml.c5.large", "CurrentInstanceCount": 0},
    ]
    assert by_name["prod"]["CurrentInstanceCount"] == 2
    assert "InstancePools" not in by_name["canary"]
    sagemaker.update_endpoint_weights_and_capacities(
        EndpointName=name,
        DesiredWeightsAndCapacities=[{"VariantName": "prod", "DesiredInstanceCount": 3}],
    )
    summaries = sagemaker.describe_endpoint(EndpointName=name)["ProductionVariants"]
    prod = next(s for s in summaries if s["VariantName"] == "prod")
    assert [p["CurrentInstanceCount"] for p in prod["InstancePools"]] == [3, 0]


def test_a_variant_with_pools_and_an_instance_type_or_an_unknown_model_is_refused(
    sagemaker, name, config
):
    both = {**pooled("prod", "ml.m5.large"), "InstanceType": "ml.m5.large"}
    refusal(lambda: config("both", both))
    unknown = pooled("prod", "ml.m5.large", overrides=["no-such-model"])
    assert "Could not find model" in refusal(lambda: config("unknown", unknown))
    bad_type = pooled("prod", "ml.m5.large", "ml.none.large")
    refusal(lambda: config("bad-type", bad_type))


def test_changing_a_registered_variants_set_of_pool_types_is_refused(
    sagemaker, config, pooled_endpoint
):
    endpoint = pooled_endpoint
    for suffix, types in [
        ("swapped", ("ml.m5.large", "ml.c5.large")),
        ("added", ("ml.m5.large", "ml.m5.xlarge", "ml.c5.large")),
        ("removed", ("ml.m5.large",)),
    ]:
        new = config(suffix, pooled("prod", *types), variant("canary"))
        message = refusal(
            lambda new=new: sagemaker.update_endpoint(EndpointName=endpoint, EndpointConfigName=new)
        )
        assert "'prod'" in message and "registered for auto scaling" in message, suffix
    assert sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointStatus"] == "InService"


def test_moving_a_registered_variant_between_an_instance_type_and_pools_is_refused(
    sagemaker, scaling, name, config, pooled_endpoint
):
    # Pools to an instance type, even the pools' own type of highest priority.
    to_type = config("to-type", variant("prod", "ml.m5.large"), variant("canary"))
    refusal(lambda: sagemaker.update_endpoint(EndpointName=name, EndpointConfigName=to_type))
    # An instance type to pools, even of that one type.
    other = f"{name}-typed"
    typed = config("typed", variant("prod", "ml.m5.large"))
    sagemaker.create_endpoint(EndpointName=other, EndpointConfigName=typed)
    scaling.register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId=f"endpoint/{other}/variant/prod",
        ScalableDimension=DIMENSION,
        MinCapacity=1,
        MaxCapacity=4,
    )
    to_pools = config("to-pools", pooled("prod", "ml.m5.large"))
    message = refusal(
        lambda: sagemaker.update_endpoint(EndpointName=other, EndpointConfigName=to_pools)
    )
    assert "instance pools" in message


def test_a_change_of_pool_priorities_or_model_override_only_is_allowed_while_registered(
    sagemaker, config, pooled_endpoint
):
    endpoint = pooled_endpoint
    reordered = config(
        "reordered", pooled("prod", "ml.m5.xlarge", "ml.m5.large"), variant("canary")
    )
    sagemaker.update_endpoint(EndpointName=endpoint, EndpointConfigName=reordered)
    after = wait_until_in_service(sagemaker, endpoint)
    assert after["EndpointConfigName"] == reordered
    prod = next(v for v in after["ProductionVariants"] if v["VariantName"] == "prod")
    assert [p["InstanceType"] for p in prod["InstancePools"]] == ["ml.m5.xlarge", "ml.m5.large"]
    overridden = config(
        "overridden",
        pooled("prod", "ml.m5.xlarge", "ml.m5.large", overrides=["model-b", "model-b"]),
        variant("canary"),
    )
    sagemaker.update_endpoint(EndpointName=endpoint, EndpointConfigName=overridden)
    assert wait_until_in_service(sagemaker, endpoint)["EndpointConfigName"] == overridden
