"""Application Auto Scaling as AWS does it where moto does not, patched into moto's backend (so
the rules hold however a request reaches it) and, where moto's response handler drops a member
the rule needs, into its handler.

Scalable targets (`imitate_aws_scaling`):

- Tags: moto keeps none (it answers HTTP 500 to ListTagsForResource). Here a target keeps the
  `Tags` RegisterScalableTarget creates it with, TagResource and UntagResource change them, and
  they go with the target. RegisterScalableTarget with `Tags` for a target that exists is
  refused, as AWS refuses it: tags of an existing target change only through TagResource.
- Capacity bounds: a new target needs both MinCapacity and MaxCapacity, and the minimum may not
  exceed the maximum, also when a registration that updates a target gives one bound and the
  other is the target's own.
- DeregisterScalableTarget deletes the target's scaling policies and scheduled actions.

Scaling policies: PutScalingPolicy needs a registered target, takes a target-tracking
configuration only if it names exactly one metric, keeps at most 50 policies per target, and
updates a policy that exists in place (its ARN stays). DescribeScalingPolicies filters by
exactly what it is asked for and pages ten at a time.

Scheduled actions: PutScheduledAction needs a registered target; updating an action keeps the
Timezone and each capacity bound the request leaves out. DeleteScheduledAction of an action that
does not exist is refused.

Where moto says `ValidationException` "No scalable target found ..." or "No scaling policy
found ...", AWS says `ObjectNotFoundException`. And moto knows fewer scalable dimensions than AWS
(see `accept_aws_dimensions`).

Each patched call (checks and write) is one step, as on AWS, also when requests race (the
server serves requests on threads): one process-wide lock (`serialised`), which the CloudWatch
rules share, so that a call of one that calls the other (deregistering a target deletes its
policies' alarms) needs no lock order.
"""

import base64
import binascii
import enum
import functools
import json
import threading

from moto.core.exceptions import JsonRESTError

MAX_POLICIES_PER_TARGET = 50  # step scaling and target tracking together; AWS does not raise it
POLICIES_PAGE = 10  # DescribeScalingPolicies' MaxResults: at most, and when left out
TAGS_OF_AN_EXISTING_TARGET = (
    "The scalable target that you tried to tag already exists. To update tags on an existing "
    "scalable target, use the TagResource API."
)
_TOKEN_PREFIX = "emulator-policies-after:"

one_step = threading.RLock()


def serialised(method):
    """`method` holding the process-wide lock of the AWS-like rules: a check and its write are
    one step. Reentrant, so that a patched call may make another."""

    @functools.wraps(method)
    def call(*args, **kwargs):
        with one_step:
            return method(*args, **kwargs)

    return call


class ValidationException(JsonRESTError):
    def __init__(self, message):
        super().__init__("ValidationException", message)


class ObjectNotFoundException(JsonRESTError):
    def __init__(self, message):
        super().__init__("ObjectNotFoundException", message)


class LimitExceededException(JsonRESTError):
    def __init__(self, message):
        super().__init__("LimitExceededException", message)


class InvalidNextTokenException(JsonRESTError):
    def __init__(self, message="The NextToken value is invalid."):
        super().__init__("InvalidNextTokenException", message)


class ResourceNotFoundException(JsonRESTError):
    def __init__(self, message):
        super().__init__("ResourceNotFoundException", message)


def accept_aws_dimensions():
    """Every scalable dimension AWS's API model lists, as AWS accepts them.

    moto checks a request's ScalableDimension against a list of its own, which lacks some of
    AWS's (an inference component's `sagemaker:inference-component:DesiredCopyCount`) and so
    refuses to register them. The list becomes the API model's enum, which botocore carries;
    moto's own check that the dimension fits the namespace and the ResourceId stays.
    """
    import botocore.session
    from moto.applicationautoscaling import models, responses

    model = botocore.session.get_session().get_service_model("application-autoscaling")
    aws = model.shape_for("ScalableDimension").enum
    members = {member.name: member.value for member in models.ScalableDimensionValueSet}
    members.update({value: value for value in aws if value not in members.values()})
    dimensions = enum.Enum("ScalableDimensionValueSet", members)
    models.ScalableDimensionValueSet = dimensions
    responses.ScalableDimensionValueSet = dimensions


def _given(value, member):
    """Whether a member is given: present, not null, and not an empty list (whether AWS minds an
    empty list is not known, so it counts as left out)."""
    item = value.get(member) if isinstance(value, dict) else None
    return item is not None and item != []


def target_tracking_problem(policy_type, configuration):
    """Why AWS would refuse this target-tracking configuration (None: it would not).

    Exactly one of PredefinedMetricSpecification and CustomizedMetricSpecification; a customized
    metric is either one metric (MetricName, Namespace and Statistic required) or metric math
    (`Metrics`), not both; each metric query has exactly one of Expression and MetricStat, and
    exactly one query returns data (ReturnData left out is true, as in CloudWatch).
    """
    if policy_type != "TargetTrackingScaling":
        return None
    configuration = configuration if isinstance(configuration, dict) else {}
    predefined = _given(configuration, "PredefinedMetricSpecification")
    if predefined == _given(configuration, "CustomizedMetricSpecification"):
        return (
            "A target tracking scaling policy needs exactly one of "
            "PredefinedMetricSpecification and CustomizedMetricSpecification"
        )
    if predefined:
        return None
    customized = configuration["CustomizedMetricSpecification"]
    if not _given(customized, "Metrics"):
        for member in ("MetricName", "Namespace", "Statistic"):
            if not _given(customized, member):
                return f"CustomizedMetricSpecification needs {member}"
        return None
    for member in ("MetricName", "Namespace", "Dimensions", "Statistic", "Unit"):
        if _given(customized, member):
            return f"CustomizedMetricSpecification cannot have both Metrics and {member}"
    returning = 0
    for query in customized["Metrics"]:
        if _given(query, "Expression") == _given(query, "MetricStat"):
            query_id = query.get("Id") if isinstance(query, dict) else None
            return f"Metric query {query_id!r} needs exactly one of Expression and MetricStat"
        returning += query.get("ReturnData") is not False
    if returning != 1:
        return (
            "Exactly one metric query must return data (ReturnData true) in "
            f"CustomizedMetricSpecification.Metrics, got {returning}"
        )
    return None


def _policy_order(policy):
    return (policy.policy_name, policy.resource_id, policy.scalable_dimension)


def _token_after(policy):
    """The NextToken of a page that ends with `policy`: it names the policy, not a position, so
    that a caller that deletes policies between pages skips none."""
    key = json.dumps(list(_policy_order(policy))).encode()
    return _TOKEN_PREFIX + base64.urlsafe_b64encode(key).decode()


def _read_token(token):
    if not isinstance(token, str) or not token.startswith(_TOKEN_PREFIX):
        raise InvalidNextTokenException()
    try:
        key = json.loads(base64.urlsafe_b64decode(token[len(_TOKEN_PREFIX) :].encode()))
    except (binascii.Error, ValueError) as e:
        raise InvalidNextTokenException() from e
    if not (isinstance(key, list) and len(key) == 3 and all(isinstance(k, str) for k in key)):
        raise InvalidNextTokenException()
    return tuple(key)


def _missing_as_aws_says(method):
    """moto's ValidationException for a target or policy that is not there, as AWS says it."""

    @functools.wraps(method)
    def call(*args, **kwargs):
        from moto.applicationautoscaling.exceptions import AWSValidationException

        try:
            return method(*args, **kwargs)
        except AWSValidationException as e:
            if e.message.startswith(("No scalable target found", "No scaling policy found")):
                raise ObjectNotFoundException(e.message) from e
            raise

    return call


def imitate_aws_scaling():
    """What Application Auto Scaling does and moto does not, patched into moto's backend and,
    where moto's handler drops a member (RegisterScalableTarget's Tags, DescribeScalingPolicies'
    PolicyNames) or lacks the operation (the tagging calls), into its response handler."""
    from moto.applicationautoscaling import models, responses

    backend = models.ApplicationAutoscalingBackend
    handler = responses.ApplicationAutoScalingResponse
    moto = {
        name: getattr(backend, name)
        for name in (
            "register_scalable_target",
            "deregister_scalable_target",
            "put_scaling_policy",
            "delete_scaling_policy",
            "describe_scaling_policies",
            "put_scheduled_action",
            "delete_scheduled_action",
        )
    }

    def target_of(self, namespace, resource_id, dimension):
        target = self.targets.get(dimension, {}).get(resource_id)
        return target if target is not None and target.service_namespace == namespace else None

    def registered(self, namespace, resource_id, dimension):
        if target_of(self, namespace, resource_id, dimension) is None:
            raise ObjectNotFoundException(
                f"No scalable target registered for service namespace: {namespace}, resource "
                f"ID: {resource_id}, scalable dimension: {dimension}"
            )

    def on_target(o, namespace, resource_id, dimension):
        return (o.service_namespace, o.resource_id, o.scalable_dimension) == (
            namespace,
            resource_id,
            dimension,
        )

    @serialised
    def register_scalable_target(
        self,
        namespace,
        r_id,
        dimension,
        min_capacity,
        max_capacity,
        role_arn,
        suspended_state,
        tags=None,
    ):
        existing = self.targets.get(dimension, {}).get(r_id)
        if existing is not None and tags is not None:
            raise ValidationException(TAGS_OF_AN_EXISTING_TARGET)
        if existing is None and (min_capacity is None or max_capacity is None):
            raise ValidationException(
                "MinCapacity and MaxCapacity are required to register a new scalable target"
            )
        low = min_capacity if min_capacity is not None else existing.min_capacity
        high = max_capacity if max_capacity is not None else existing.max_capacity
        if low is not None and high is not None and low > high:
            raise ValidationException(
                f"Minimum capacity ({low}) cannot be greater than maximum capacity ({high})"
            )
        target = moto["register_scalable_target"](
            self, namespace, r_id, dimension, min_capacity, max_capacity, role_arn, suspended_state
        )
        if existing is None:
            target.tags = dict(tags or {})
        return target

    @serialised
    @_missing_as_aws_says
    def deregister_scalable_target(self, namespace, r_id, dimension):
        moto["deregister_scalable_target"](self, namespace, r_id, dimension)
        for key, policy in list(self.policies.items()):
            if on_target(policy, namespace, r_id, dimension):
                policy.delete_alarms(self.account_id, self.region_name)
                del self.policies[key]
        self.scheduled_actions = [
            a for a in self.scheduled_actions if not on_target(a, namespace, r_id, dimension)
        ]

    @serialised
    def put_scaling_policy(
        self,
        policy_name,
        service_namespace,
        resource_id,
        scalable_dimension,
        policy_body,
        policy_type,
    ):
        registered(self, service_namespace, resource_id, scalable_dimension)
        problem = target_tracking_problem(policy_type, policy_body)
        if problem is not None:
            raise ValidationException(problem)
        key = models.FakeApplicationAutoscalingPolicy.formulate_key(
            service_namespace, resource_id, scalable_dimension, policy_name
        )
        old = self.policies.get(key)
        if old is None:
            on_it = [
                p
                for p in self.policies.values()
                if on_target(p, service_namespace, resource_id, scalable_dimension)
            ]
            if len(on_it) >= MAX_POLICIES_PER_TARGET:
                raise LimitExceededException(
                    f"Failed to create scaling policy {policy_name!r}: a scalable target can "
                    f"have at most {MAX_POLICIES_PER_TARGET} scaling policies"
                )
        policy = moto["put_scaling_policy"](
            self,
            policy_name,
            service_namespace,
            resource_id,
            scalable_dimension,
            policy_body,
            policy_type,
        )
        if old is not None:
            policy._guid, policy.policy_arn = old._guid, old.policy_arn
        return policy

    @serialised
    @_missing_as_aws_says
    def delete_scaling_policy(
        self, policy_name, service_namespace, resource_id, scalable_dimension
    ):
        moto["delete_scaling_policy"](
            self, policy_name, service_namespace, resource_id, scalable_dimension
        )

    @serialised
    def describe_scaling_policies(
        self,
        service_namespace,
        resource_id,
        scalable_dimension,
        max_results,
        next_token,
        policy_names=None,
    ):
        if max_results is None:
            max_results = POLICIES_PAGE
        elif not 1 <= max_results <= POLICIES_PAGE:
            raise ValidationException(
                f"1 validation error detected: Value '{max_results}' at 'maxResults' failed to "
                f"satisfy constraint: Member must have value between 1 and {POLICIES_PAGE}"
            )
        after = _read_token(next_token) if next_token is not None else None
        policies = sorted(
            (
                p
                for p in self.policies.values()
                if p.service_namespace == service_namespace
                and (not resource_id or p.resource_id == resource_id)
                and (not scalable_dimension or p.scalable_dimension == scalable_dimension)
                and (not policy_names or p.policy_name in policy_names)
                and (after is None or _policy_order(p) > after)
            ),
            key=_policy_order,
        )
        page = policies[:max_results]
        more = len(policies) > max_results
        return (_token_after(page[-1]) if more else None), page

    @serialised
    def put_scheduled_action(
        self,
        service_namespace,
        schedule,
        timezone,
        scheduled_action_name,
        resource_id,
        scalable_dimension,
        start_time,
        end_time,
        scalable_target_action,
    ):
        registered(self, service_namespace, resource_id, scalable_dimension)
        existing = next(
            (
                a
                for a in self.scheduled_actions
                if on_target(a, service_namespace, resource_id, scalable_dimension)
                and a.scheduled_action_name == scheduled_action_name
            ),
            None,
        )
        if existing is not None:
            if timezone is None:
                timezone = existing.timezone
            kept = existing.scalable_target_action
            if isinstance(scalable_target_action, dict) and isinstance(kept, dict):
                scalable_target_action = dict(scalable_target_action)
                for bound in ("MinCapacity", "MaxCapacity"):
                    if bound not in scalable_target_action and kept.get(bound) is not None:
                        scalable_target_action[bound] = kept[bound]
        moto["put_scheduled_action"](
            self,
            service_namespace,
            schedule,
            timezone,
            scheduled_action_name,
            resource_id,
            scalable_dimension,
            start_time,
            end_time,
            scalable_target_action,
        )

    @serialised
    def delete_scheduled_action(
        self, service_namespace, scheduled_action_name, resource_id, scalable_dimension
    ):
        if not any(
            on_target(a, service_namespace, resource_id, scalable_dimension)
            and a.scheduled_action_name == scheduled_action_name
            for a in self.scheduled_actions
        ):
            raise ObjectNotFoundException(
                f"No scheduled action found for service namespace: {service_namespace}, "
                f"resource ID: {resource_id}, scalable dimension: {scalable_dimension}, "
                f"scheduled action name: {scheduled_action_name}"
            )
        moto["delete_scheduled_action"](
            self, service_namespace, scheduled_action_name, resource_id, scalable_dimension
        )

    def target_by_arn(self, arn):
        for by_resource in self.targets.values():
            for target in by_resource.values():
                if target.arn == arn:
                    return target
        raise ResourceNotFoundException(f"No scalable target found for {arn}")

    @serialised
    def tag_resource(self, arn, tags):
        target = target_by_arn(self, arn)
        target.tags = {**getattr(target, "tags", {}), **tags}

    @serialised
    def untag_resource(self, arn, keys):
        target = target_by_arn(self, arn)
        target.tags = {k: v for k, v in getattr(target, "tags", {}).items() if k not in keys}

    @serialised
    def list_tags_for_resource(self, arn):
        return dict(getattr(target_by_arn(self, arn), "tags", {}))

    for name, method in {
        "register_scalable_target": register_scalable_target,
        "deregister_scalable_target": deregister_scalable_target,
        "put_scaling_policy": put_scaling_policy,
        "delete_scaling_policy": delete_scaling_policy,
        "describe_scaling_policies": describe_scaling_policies,
        "put_scheduled_action": put_scheduled_action,
        "delete_scheduled_action": delete_scheduled_action,
        "tag_resource": tag_resource,
        "untag_resource": untag_resource,
        "list_tags_for_resource": list_tags_for_resource,
    }.items():
        setattr(backend, name, method)
    # Reads too, so that none walks moto's dicts while a racing write changes them.
    for name in ("describe_scalable_targets", "describe_scheduled_actions"):
        setattr(backend, name, serialised(getattr(backend, name)))

    _patch_handler(handler)


def _patch_handler(handler):
    """moto's response handler: RegisterScalableTarget passes Tags on, DescribeScalingPolicies
    PolicyNames, and the tagging calls exist."""

    def register_scalable_target(self):
        self._validate_params()
        target = self.applicationautoscaling_backend.register_scalable_target(
            self._get_param("ServiceNamespace"),
            self._get_param("ResourceId"),
            self._get_param("ScalableDimension"),
            min_capacity=self._get_int_param("MinCapacity"),
            max_capacity=self._get_int_param("MaxCapacity"),
            role_arn=self._get_param("RoleARN"),
            suspended_state=self._get_param("SuspendedState"),
            tags=self._get_param("Tags"),
        )
        return json.dumps({"ScalableTargetARN": target.arn})

    def describe_scaling_policies(self):
        from moto.applicationautoscaling.responses import _build_policy

        next_token, page = self.applicationautoscaling_backend.describe_scaling_policies(
            service_namespace=self._get_param("ServiceNamespace"),
            resource_id=self._get_param("ResourceId"),
            scalable_dimension=self._get_param("ScalableDimension"),
            max_results=self._get_int_param("MaxResults"),
            next_token=self._get_param("NextToken"),
            policy_names=self._get_param("PolicyNames"),
        )
        answer = {"ScalingPolicies": [_build_policy(p) for p in page]}
        if next_token is not None:
            answer["NextToken"] = next_token
        return json.dumps(answer)

    def tag_resource(self):
        self.applicationautoscaling_backend.tag_resource(
            self._get_param("ResourceARN"), self._get_param("Tags") or {}
        )
        return json.dumps({})

    def untag_resource(self):
        self.applicationautoscaling_backend.untag_resource(
            self._get_param("ResourceARN"), self._get_param("TagKeys") or []
        )
        return json.dumps({})

    def list_tags_for_resource(self):
        tags = self.applicationautoscaling_backend.list_tags_for_resource(
            self._get_param("ResourceARN")
        )
        return json.dumps({"Tags": tags})

    handler.register_scalable_target = register_scalable_target
    handler.describe_scaling_policies = describe_scaling_policies
    handler.tag_resource = tag_resource
    handler.untag_resource = untag_resource
    handler.list_tags_for_resource = list_tags_for_resource
