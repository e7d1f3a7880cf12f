"""SSM Parameter Store's tier limits, which moto lacks, as AWS keeps them.

A Standard parameter's value holds at most 4096 characters, an Advanced one's 8192; a
parameter in the Advanced tier cannot go back to Standard. PutParameter without Tier keeps the
parameter's tier, or gives a new one moto's default (Standard). Intelligent-Tiering, which on AWS
picks Standard or Advanced for the parameter, is taken at AWS's upper limit (8192) and otherwise
left to moto, which records it as given.
"""

MAX_VALUE = {"Standard": 4096, "Advanced": 8192, "Intelligent-Tiering": 8192}
_DOCS = "https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html"
TOO_LONG = {
    "Standard": (
        "Standard tier parameters support a maximum parameter value of 4096 characters. To "
        "create a larger parameter value, upgrade the parameter to use the advanced-parameter "
        f"tier. For more information, see {_DOCS}"
    ),
    "Advanced": "Advanced tier parameters support a maximum parameter value of 8192 characters.",
    "Intelligent-Tiering": (
        "Advanced tier parameters support a maximum parameter value of 8192 characters."
    ),
}
NO_DOWNGRADE = (
    "This parameter uses the advanced-parameter tier. You can't downgrade a parameter from the "
    "advanced-parameter tier to the standard-parameter tier. If necessary, you can delete the "
    "advanced parameter and recreate it as a standard parameter."
)


def imitate_parameter_tiers():
    """The tier rules, checked before moto's PutParameter writes."""
    from moto.ssm.exceptions import ValidationException
    from moto.ssm.models import SimpleSystemManagerBackend

    backend = SimpleSystemManagerBackend
    put = backend.put_parameter

    def put_parameter(
        self,
        name,
        description,
        value,
        parameter_type,
        allowed_pattern,
        keyid,
        overwrite,
        tags,
        data_type,
        tier,
        policies,
    ):
        # .get, not [], which would make the parameter an (empty) entry of moto's defaultdict.
        versions = self._parameters.get(name) or []
        previous = versions[-1] if versions else None
        if previous is not None and overwrite:
            if previous.tier == "Advanced" and tier == "Standard":
                raise ValidationException(NO_DOWNGRADE)
        effective = tier if tier is not None else previous.tier if previous is not None else None
        if effective is None:
            effective = self.default_parameter_tier
        limit = MAX_VALUE.get(effective)
        if value and limit is not None and len(value) > limit:
            raise ValidationException(TOO_LONG[effective])
        return put(
            self,
            name,
            description,
            value,
            parameter_type,
            allowed_pattern,
            keyid,
            overwrite,
            tags,
            data_type,
            tier,
            policies,
        )

    backend.put_parameter = put_parameter
