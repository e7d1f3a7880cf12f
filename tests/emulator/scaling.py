"""Application Auto Scaling as AWS does it where moto does not.

moto keeps no tags for Application Auto Scaling's scalable targets (it answers HTTP 500 to
ListTagsForResource); they are kept here, as AWS keeps them: given to RegisterScalableTarget
when it creates the target, changed with TagResource and UntagResource, gone with the target.
Two more of AWS's rules that moto lacks are kept here too (see `imitate_aws_scaling`):
deregistering a scalable target deletes its scaling policies and scheduled actions, and
PutScalingPolicy for a policy that exists updates it in place, so its ARN stays the same.
And moto knows fewer scalable dimensions than AWS (see `accept_aws_dimensions`).
"""

import enum
import functools
import json
import threading

from .wsgi import json_error


class ScalableTargetTags:
    """WSGI middleware: the tags of scalable targets, which moto does not keep."""

    OPERATIONS = {"TagResource", "UntagResource", "ListTagsForResource"}

    def __init__(self, app):
        self.app = app
        self.tags = {}  # scalable target ARN -> {key: value}
        self.lock = threading.Lock()
        # A registration reads whether the target exists, lets moto write it and files its
        # tags: one step on AWS, so one at a time here (the server serves requests on threads).
        self.registering = threading.Lock()

    @staticmethod
    def _targets():
        from moto.applicationautoscaling.models import applicationautoscaling_backends
        from moto.core import DEFAULT_ACCOUNT_ID

        for backend in applicationautoscaling_backends[DEFAULT_ACCOUNT_ID].values():
            for by_resource in list(backend.targets.values()):
                yield from list(by_resource.values())

    def _target(self, resource_id, dimension):
        return next(
            (
                t
                for t in self._targets()
                if t.resource_id == resource_id and t.scalable_dimension == dimension
            ),
            None,
        )

    def __call__(self, environ, start_response):
        prefix, _, operation = environ.get("HTTP_X_AMZ_TARGET", "").partition(".")
        if prefix != "AnyScaleFrontendService" or environ.get("HTTP_X_VALIDATE_ONLY"):
            return self.app(environ, start_response)
        body = environ["wsgi.input"].getvalue()
        request = json.loads(body or b"{}")
        if operation in self.OPERATIONS:
            return self._tagging(operation, request, start_response)
        if operation not in ("RegisterScalableTarget", "DeregisterScalableTarget"):
            return self.app(environ, start_response)
        with self.registering:
            return self._register_or_deregister(operation, request, environ, start_response)

    def _register_or_deregister(self, operation, request, environ, start_response):
        before = self._target(request.get("ResourceId"), request.get("ScalableDimension"))
        answer = {}

        def capture(status, headers, exc_info=None):
            answer["status"] = status
            return start_response(status, headers, exc_info)

        chunks = list(self.app(environ, capture))
        if answer.get("status", "").startswith("200"):
            with self.lock:
                if operation == "RegisterScalableTarget" and before is None:
                    arn = json.loads(b"".join(chunks))["ScalableTargetARN"]
                    self.tags[arn] = dict(request.get("Tags") or {})
                elif operation == "DeregisterScalableTarget" and before is not None:
                    self.tags.pop(before.arn, None)
        return chunks

    def _tagging(self, operation, request, start_response):
        arn = request.get("ResourceARN")
        if not any(t.arn == arn for t in self._targets()):
            return json_error(
                start_response, "ResourceNotFoundException", f"No scalable target found for {arn}"
            )
        with self.lock:
            tags = self.tags.setdefault(arn, {})
            if operation == "TagResource":
                tags.update(request.get("Tags") or {})
                answer = {}
            elif operation == "UntagResource":
                for key in request.get("TagKeys") or []:
                    tags.pop(key, None)
                answer = {}
            else:
                answer = {"Tags": dict(tags)}
        data = json.dumps(answer).encode()
        start_response(
            "200 OK",
            [("Content-Type", "application/x-amz-json-1.1"), ("Content-Length", str(len(data)))],
        )
        return [data]


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


def imitate_aws_scaling():
    """What Application Auto Scaling does and moto does not, patched into moto's backend.

    On AWS, DeregisterScalableTarget "deletes the scaling policies and the scheduled actions
    that are associated with it"; moto keeps both. On AWS, a policy's ARN names the policy for
    its whole life (an alarm's action points at it); moto makes a new ARN on every update. Each
    patched call is one step, as on AWS, also when two requests race (the server serves
    requests on threads).
    """
    from moto.applicationautoscaling import models

    backend = models.ApplicationAutoscalingBackend
    deregister, put_policy = backend.deregister_scalable_target, backend.put_scaling_policy
    one_at_a_time = threading.Lock()

    def serialised(method):
        @functools.wraps(method)
        def call(*args, **kwargs):
            with one_at_a_time:
                return method(*args, **kwargs)

        return call

    @serialised
    def deregister_scalable_target(self, namespace, r_id, dimension):
        deregister(self, namespace, r_id, dimension)

        def on_target(o):
            return (o.service_namespace, o.resource_id, o.scalable_dimension) == (
                namespace,
                r_id,
                dimension,
            )

        for key, policy in list(self.policies.items()):
            if on_target(policy):
                policy.delete_alarms(self.account_id, self.region_name)
                del self.policies[key]
        self.scheduled_actions = [a for a in self.scheduled_actions if not on_target(a)]

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
        key = models.FakeApplicationAutoscalingPolicy.formulate_key(
            service_namespace, resource_id, scalable_dimension, policy_name
        )
        old = self.policies.get(key)
        policy = put_policy(
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

    backend.deregister_scalable_target = deregister_scalable_target
    backend.put_scaling_policy = put_scaling_policy
