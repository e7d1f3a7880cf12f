"""SSM Parameter Store's tier limits as AWS keeps them (ssm.py)."""

import itertools

import pytest
from botocore.exceptions import ClientError

_names = itertools.count()


@pytest.fixture
def ssm(client):
    return client("ssm")


@pytest.fixture
def name():
    return f"/emulator-test/record-{next(_names)}"


def refusal(call):
    with pytest.raises(ClientError) as error:
        call()
    assert error.value.response["Error"]["Code"] == "ValidationException"
    return error.value.response["Error"]["Message"]


def tier(ssm, name):
    found = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": [name]}])
    return found["Parameters"][0]["Tier"]


def test_a_standard_value_holds_at_most_4096_characters(ssm, name):
    ssm.put_parameter(Name=name, Value="x" * 4096, Type="String", Tier="Standard")
    message = refusal(
        lambda: ssm.put_parameter(Name=name, Value="é" * 4097, Type="String", Overwrite=True)
    )
    assert message.startswith(
        "Standard tier parameters support a maximum parameter value of 4096 characters. To "
        "create a larger parameter value, upgrade the parameter to use the advanced-parameter tier"
    )
    # A new parameter without Tier is Standard.
    refusal(lambda: ssm.put_parameter(Name=name + "-new", Value="x" * 4097, Type="String"))
    assert ssm.get_parameter(Name=name)["Parameter"]["Value"] == "x" * 4096


def test_an_advanced_value_holds_at_most_8192_characters(ssm, name):
    ssm.put_parameter(Name=name, Value="x" * 8192, Type="String", Tier="Advanced")
    message = refusal(
        lambda: ssm.put_parameter(
            Name=name, Value="x" * 8193, Type="String", Tier="Advanced", Overwrite=True
        )
    )
    assert message.startswith(
        "Advanced tier parameters support a maximum parameter value of 8192 characters"
    )
    # Without Tier, the parameter stays Advanced, and its limit with it.
    ssm.put_parameter(Name=name, Value="y" * 5000, Overwrite=True)
    assert tier(ssm, name) == "Advanced"
    refusal(lambda: ssm.put_parameter(Name=name, Value="y" * 8193, Overwrite=True))


def test_intelligent_tiering_holds_at_most_8192_characters(ssm, name):
    ssm.put_parameter(Name=name, Value="x" * 8192, Type="String", Tier="Intelligent-Tiering")
    refusal(
        lambda: ssm.put_parameter(
            Name=name, Value="x" * 8193, Tier="Intelligent-Tiering", Overwrite=True
        )
    )


def test_an_advanced_parameter_cannot_go_back_to_standard(ssm, name):
    ssm.put_parameter(Name=name, Value="a", Type="String")
    ssm.put_parameter(Name=name, Value="b", Tier="Advanced", Overwrite=True)  # an upgrade is fine
    message = refusal(
        lambda: ssm.put_parameter(Name=name, Value="c", Tier="Standard", Overwrite=True)
    )
    assert message.startswith(
        "This parameter uses the advanced-parameter tier. You can't downgrade a parameter from "
        "the advanced-parameter tier to the standard-parameter tier."
    )
    assert (ssm.get_parameter(Name=name)["Parameter"]["Value"], tier(ssm, name)) == (
        "b",
        "Advanced",
    )
    # Deleted, it may come back as Standard.
    ssm.delete_parameter(Name=name)
    ssm.put_parameter(Name=name, Value="d", Type="String", Tier="Standard")
    assert tier(ssm, name) == "Standard"
