"""SageMaker's UpdateEndpoint, which moto lacks, as AWS does it; and production variants with
instance pools, which moto refuses (see `imitate_instance_pools`).

AWS refuses an UpdateEndpoint that would change the instance type of a production variant that
is registered as a scalable target (Application Auto Scaling, namespace `sagemaker`, dimension
`sagemaker:variant:DesiredInstanceCount`, ResourceId `endpoint/<endpoint>/variant/<variant>`),
or remove such a variant; a change of model only is allowed. The documented procedure is
deregister, update, register again. A variant with instance pools is held to the same rule by
what it runs on: a move between InstanceType and InstancePools, or a change of the set of its
pools' instance types, is refused like a change of instance type; a change of the pools'
priorities or ModelNameOverride only is allowed (AWS documents the rule for instance types;
reading pools by their set of types is ours). Otherwise the endpoint is `Updating`, still on its
old config, until the update ends: then it is `InService` on the new config or, if the update
failed, `InService` on the old one with a `FailureReason` (after `RollingBack` for a while, if
the control API asks for it).

Here an update ends when its time is up, found out when the endpoint is next described, listed,
updated or deleted (no threads). How long it takes and whether it fails is set per endpoint by
the control API (`POST /_emulator/endpoint-update`, see the package's docstring); by default it
takes DEFAULT_SECONDS and succeeds.
"""

import copy
import datetime
import threading
from dataclasses import dataclass

from moto.core.utils import utcnow

from .scaling import one_step as scaling_one_step
from .wsgi import ControlError

DEFAULT_SECONDS = 0.2
DEFAULT_FAILURE_REASON = (
    "The endpoint update failed (emulated); the endpoint is back on its previous configuration."
)
DIMENSION = "sagemaker:variant:DesiredInstanceCount"


@dataclass(frozen=True)
class UpdateBehaviour:
    """How one update of an endpoint goes."""

    seconds: float = DEFAULT_SECONDS
    fails: bool = False
    failure_reason: str | None = None
    rollback_seconds: float = 0.0  # how long a failed update is RollingBack


@dataclass
class _Update:
    endpoint: object  # the FakeEndpoint updated: an endpoint deleted and created again is another
    config: object  # the FakeEndpointConfig it goes to, as it was when the update started
    finishes: datetime.datetime  # when its present phase (Updating, RollingBack) ends
    behaviour: UpdateBehaviour


@dataclass
class _Deployed:
    endpoint: object
    variants: list  # the ProductionVariants of the config the endpoint runs, as created


# State of all accounts and regions, as moto's backends are; one lock for all of it. An object's
# key is (account, region, endpoint name); each entry holds its endpoint to tell a deleted and
# recreated endpoint of the same name from the one the entry was made for.
_lock = threading.RLock()
_next = {}  # endpoint name -> UpdateBehaviour of its next update
_updates = {}  # key -> _Update in progress
_deployed = {}  # key -> _Deployed


CONTROL_MEMBERS = {"EndpointName", "Seconds", "Fails", "FailureReason", "RollbackSeconds"}


def set_next_update(request):
    """The control API's `endpoint-update`: how the next UpdateEndpoint of an endpoint goes."""
    unknown = sorted(set(request) - CONTROL_MEMBERS)
    if unknown:
        raise ControlError(f"unknown members {unknown} (known: {sorted(CONTROL_MEMBERS)})")
    name = request.get("EndpointName")
    fails = request.get("Fails", False)
    reason = request.get("FailureReason")
    if not isinstance(name, str) or not name:
        raise ControlError("EndpointName (a string) is required")
    durations = []
    for member, default in (("Seconds", DEFAULT_SECONDS), ("RollbackSeconds", 0.0)):
        value = request.get(member, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
            raise ControlError(f"{member} must be a number >= 0, got {value!r}")
        durations.append(float(value))
    if not isinstance(fails, bool):
        raise ControlError(f"Fails must be true or false, got {fails!r}")
    if reason is not None and not isinstance(reason, str):
        raise ControlError(f"FailureReason must be a string, got {reason!r}")
    with _lock:
        _next[name] = UpdateBehaviour(durations[0], fails, reason, durations[1])
    return {}


def _key(backend, name):
    return (backend.account_id, backend.region_name, name)


def _settle(backend):
    """Moves this backend's updates on to the phase their time has come for: a failed update
    asked to roll back for a while is RollingBack first; then the update ends."""
    now = utcnow()
    for key, update in list(_updates.items()):
        if key[:2] != (backend.account_id, backend.region_name) or update.finishes > now:
            continue
        endpoint = update.endpoint
        if backend.endpoints.get(key[2]) is not endpoint:
            del _updates[key]  # deleted meanwhile
            continue
        behaviour = update.behaviour
        endpoint.last_modified_time = update.finishes
        if behaviour.fails:
            endpoint.failure_reason = behaviour.failure_reason or DEFAULT_FAILURE_REASON
            rollback = datetime.timedelta(seconds=behaviour.rollback_seconds)
            if endpoint.endpoint_status == "Updating" and rollback:
                endpoint.endpoint_status = "RollingBack"
                update.finishes += rollback
                if update.finishes > now:
                    continue
                endpoint.last_modified_time = update.finishes
        del _updates[key]
        endpoint.endpoint_status = "InService"
        if behaviour.fails:
            continue
        config = update.config
        endpoint.endpoint_config_name = config.endpoint_config_name
        # As moto builds them when it creates an endpoint.
        endpoint.production_variants = endpoint._process_production_variants(
            config.production_variants
        )
        endpoint.data_capture_config = config.data_capture_config
        endpoint.failure_reason = None
        _deployed[key] = _Deployed(endpoint, copy.deepcopy(config.production_variants))


def _deployed_variants(backend, endpoint):
    deployed = _deployed.get(_key(backend, endpoint.endpoint_name))
    if deployed is not None and deployed.endpoint is endpoint:
        return deployed.variants
    config = backend.endpoint_configs.get(endpoint.endpoint_config_name)
    return config.production_variants if config is not None else []


def _registered(backend, resource_id):
    from moto.applicationautoscaling.models import applicationautoscaling_backends

    scaling = applicationautoscaling_backends[backend.account_id][backend.region_name]
    target = scaling.targets.get(DIMENSION, {}).get(resource_id)
    return target is not None and target.service_namespace == "sagemaker"


def _placement(variant):
    """What a production variant runs on: ("InstanceType", its type) or, for a variant with
    instance pools, ("InstancePools", the set of the pools' types)."""
    pools = variant.get("InstancePools")
    if pools:
        return ("InstancePools", frozenset(pool.get("InstanceType") for pool in pools))
    return ("InstanceType", variant.get("InstanceType"))


def _show_placement(placement):
    kind, types = placement
    if kind == "InstancePools":
        return f"instance pools of {sorted(types)}"
    return f"instance type {types}"


def _refusals(backend, endpoint, config):
    """Why AWS would refuse to move `endpoint` to `config` while its variants are registered.

    A registered variant may not go, nor change what it runs on: its InstanceType, a move
    between InstanceType and InstancePools (even to pools of that one type), or the set of its
    pools' instance types (a type added or removed). AWS documents the rule for the instance
    type; reading pools by their set of types is ours. A change of the pools' priorities or
    ModelNameOverride only, like a change of model, is allowed.
    """
    new = {v.get("VariantName"): v for v in config.production_variants}
    problems = []
    for variant in _deployed_variants(backend, endpoint):
        name = variant.get("VariantName")
        resource_id = f"endpoint/{endpoint.endpoint_name}/variant/{name}"
        if not _registered(backend, resource_id):
            continue
        if name not in new:
            change = f"endpoint configuration {config.endpoint_config_name!r} has no such variant"
        else:
            old_placement, new_placement = _placement(variant), _placement(new[name])
            if old_placement == new_placement:
                continue
            if old_placement[0] == new_placement[0] == "InstanceType":
                change = (
                    f"its instance type would change from {old_placement[1]} to {new_placement[1]}"
                )
            else:
                change = (
                    f"it would move from {_show_placement(old_placement)} to "
                    f"{_show_placement(new_placement)}"
                )
        problems.append(
            f"The variant {name!r} is registered for auto scaling (scalable target "
            f"{resource_id}) and {change}. Deregister the scalable target first, update the "
            "endpoint, then register it again."
        )
    return problems


def imitate_instance_pools():
    """Production variants with `InstancePools` (SageMaker, 2026), which moto 5.2 refuses: it
    wants an InstanceType or a ServerlessConfig in every variant.

    A variant gives InstancePools (1 to 5 `{InstanceType, Priority, ModelNameOverride}`, which
    the model check bounds) instead of an InstanceType or a ServerlessConfig, never with one;
    each pool's type is checked as moto checks an InstanceType, and a ModelNameOverride must name
    a model, as ModelName must. DescribeEndpointConfig answers the pools as given. An endpoint's
    variant summary (DescribeEndpoint) reports `InstancePools` as the model shapes them,
    `{InstanceType, CurrentInstanceCount}` in priority order, all of the variant's instances in
    the pool of highest priority (1), as SageMaker provisions them while that type is available.
    """
    from moto.sagemaker.exceptions import ValidationError
    from moto.sagemaker.models import (
        FakeEndpoint,
        FakeEndpointConfig,
        SageMakerModelBackend,
        arn_formatter,
    )

    check_variants = FakeEndpointConfig.validate_production_variants

    def validate_production_variants(self, production_variants):
        for variant in production_variants or []:
            if "InstancePools" not in variant:
                check_variants(self, [variant])
                continue
            others = sorted({"InstanceType", "ServerlessConfig"} & set(variant))
            if others:
                raise ValidationError(
                    message=f"The production variant {variant.get('VariantName')!r} cannot have "
                    f"both InstancePools and {' and '.join(others)}."
                )
            for pool in variant["InstancePools"] or []:
                self.validate_instance_type(pool.get("InstanceType"))

    check_models = SageMakerModelBackend.validate_production_variants

    def validate_models(self, production_variants):
        check_models(self, production_variants)
        for variant in production_variants:
            for pool in variant.get("InstancePools") or []:
                model = pool.get("ModelNameOverride")
                if model is not None and model not in self._models:
                    arn = arn_formatter("model", model, self.account_id, self.region_name)
                    raise ValidationError(message=f"Could not find model '{arn}'.")

    summarise = FakeEndpoint._process_production_variants

    def process_production_variants(self, production_variants):
        summaries = summarise(self, production_variants)
        for variant, summary in zip(production_variants, summaries, strict=True):
            pools = variant.get("InstancePools")
            if pools:
                ordered = sorted(pools, key=lambda pool: pool.get("Priority") or 0)
                summary["InstancePools"] = [
                    {"InstanceType": pool.get("InstanceType"), "CurrentInstanceCount": 0}
                    for pool in ordered
                ]
                _count_in_pools(summary, variant.get("InitialInstanceCount"))
        return summaries

    update_capacities = SageMakerModelBackend.update_endpoint_weights_and_capacities

    def update_endpoint_weights_and_capacities(self, endpoint_name, desired_weights_and_capacities):
        arn = update_capacities(self, endpoint_name, desired_weights_and_capacities)
        for summary in self.endpoints[endpoint_name].production_variants:
            _count_in_pools(summary, summary.get("CurrentInstanceCount"))
        return arn

    FakeEndpointConfig.validate_production_variants = validate_production_variants
    SageMakerModelBackend.validate_production_variants = validate_models
    FakeEndpoint._process_production_variants = process_production_variants
    SageMakerModelBackend.update_endpoint_weights_and_capacities = (
        update_endpoint_weights_and_capacities
    )


def _count_in_pools(summary, count):
    """All of a variant's instances in its first pool (the highest priority), none elsewhere."""
    for i, pool in enumerate(summary.get("InstancePools") or []):
        pool["CurrentInstanceCount"] = (count or 0) if i == 0 else 0


def imitate_update_endpoint():
    """UpdateEndpoint patched into moto's SageMaker backend and its response handler; the
    endpoint calls that show an update's end first settle it."""
    from moto.core.responses import ActionResult
    from moto.sagemaker.exceptions import ValidationError
    from moto.sagemaker.models import FakeEndpoint, FakeEndpointConfig, SageMakerModelBackend
    from moto.sagemaker.responses import SageMakerResponse

    backend = SageMakerModelBackend

    def update_endpoint(self, endpoint_name, endpoint_config_name):
        # Scaling's lock too: whether a variant is registered is read and acted on in one step,
        # as on AWS, while a RegisterScalableTarget races the update.
        with scaling_one_step, _lock:
            _settle(self)
            endpoint = self.endpoints.get(endpoint_name)
            if endpoint is None:
                arn = FakeEndpoint.arn_formatter(endpoint_name, self.account_id, self.region_name)
                raise ValidationError(message=f"Could not find endpoint '{arn}'.")
            config = self.endpoint_configs.get(endpoint_config_name)
            if config is None:
                arn = FakeEndpointConfig.arn_formatter(
                    endpoint_config_name, self.account_id, self.region_name
                )
                raise ValidationError(message=f"Could not find endpoint configuration '{arn}'.")
            if endpoint.endpoint_status != "InService":
                raise ValidationError(
                    message=f'Cannot update in-progress endpoint "{endpoint.arn}".'
                )
            problems = _refusals(self, endpoint, config)
            if problems:
                raise ValidationError(
                    message=f'Cannot update endpoint "{endpoint.arn}": ' + " ".join(problems)
                )
            behaviour = _next.pop(endpoint_name, UpdateBehaviour())
            now = utcnow()
            endpoint.endpoint_status = "Updating"
            endpoint.last_modified_time = now
            finishes = now + datetime.timedelta(seconds=behaviour.seconds)
            _updates[_key(self, endpoint_name)] = _Update(endpoint, config, finishes, behaviour)
            return endpoint.arn

    def settling(method):
        def call(self, *args, **kwargs):
            with _lock:
                _settle(self)
                return method(self, *args, **kwargs)

        call.__name__, call.__doc__, call.__wrapped__ = method.__name__, method.__doc__, method
        return call

    create = backend.create_endpoint

    @settling
    def create_endpoint(self, endpoint_name, endpoint_config_name, tags):
        endpoint = create(self, endpoint_name, endpoint_config_name, tags)
        key = _key(self, endpoint_name)
        _updates.pop(key, None)
        endpoint.failure_reason = None
        config = self.endpoint_configs[endpoint_config_name]
        _deployed[key] = _Deployed(endpoint, copy.deepcopy(config.production_variants))
        return endpoint

    backend.update_endpoint = update_endpoint
    backend.create_endpoint = create_endpoint
    for name in (
        "describe_endpoint",
        "list_endpoints",
        "delete_endpoint",
        "update_endpoint_weights_and_capacities",
    ):
        setattr(backend, name, settling(getattr(backend, name)))

    def update_endpoint_response(self):
        # RetainAllVariantProperties, ExcludeRetainedVariantProperties, DeploymentConfig and
        # RetainDeploymentConfig are accepted and ignored.
        arn = self.sagemaker_backend.update_endpoint(
            endpoint_name=self._get_param("EndpointName"),
            endpoint_config_name=self._get_param("EndpointConfigName"),
        )
        return ActionResult({"EndpointArn": arn})

    update_endpoint_response.__name__ = "update_endpoint"
    SageMakerResponse.update_endpoint = update_endpoint_response
