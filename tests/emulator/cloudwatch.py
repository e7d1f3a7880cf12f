"""CloudWatch's alarm tags as AWS keeps them, patched into moto's backend, so the rules hold in
every protocol CloudWatch speaks (Smithy RPC v2 CBOR, which the Rust SDK sends, JSON and query).

- PutMetricAlarm applies `Tags` only when it creates the alarm; for an alarm that exists it
  leaves the alarm's tags as they are (moto adds the request's).
- DeleteAlarms deletes the alarms' tags with them, so a new alarm of the same name starts
  without them (moto keeps them for it).
- UntagResource of an alarm that exists succeeds, tagged or not (moto refuses it with
  ResourceNotFoundException unless the alarm has tags, which after the rule above a new alarm
  of a deleted one's name never has).

Each patched call is one step under the lock the Application Auto Scaling rules use; so are the
alarm reads, whose answers are taken whole within it.
"""

import inspect

from .scaling import serialised


def imitate_aws_alarm_tags():
    from moto.cloudwatch.models import CloudWatchBackend

    backend = CloudWatchBackend
    put, delete, untag = backend.put_metric_alarm, backend.delete_alarms, backend.untag_resource
    put_signature = inspect.signature(put)

    @serialised
    def put_metric_alarm(self, *args, **kwargs):
        call = put_signature.bind(self, *args, **kwargs)
        if call.arguments["name"] in self.alarms:
            call.arguments["tags"] = None
        return put(*call.args, **call.kwargs)

    @serialised
    def delete_alarms(self, alarm_names):
        for name in alarm_names:
            alarm = self.alarms.get(name)
            if alarm is not None:
                self.tagger.delete_all_tags_for_resource(alarm.alarm_arn)
        return delete(self, alarm_names)

    @serialised
    def untag_resource(self, arn, tag_keys):
        if any(alarm.alarm_arn == arn for alarm in self.alarms.values()):
            self.tagger.untag_resource_using_names(arn, tag_keys)
            return None
        return untag(self, arn, tag_keys)

    put_metric_alarm.__signature__ = put_signature
    backend.put_metric_alarm = put_metric_alarm
    backend.delete_alarms = delete_alarms
    backend.untag_resource = untag_resource
    # Reads too, as lists taken in one step: moto answers a live view of its alarms, which the
    # response handler walks after the call, while a racing put or delete may change it.
    for name in (
        "describe_alarms",
        "get_alarms_by_action_prefix",
        "get_alarms_by_alarm_name_prefix",
        "get_alarms_by_alarm_names",
        "get_alarms_by_state_value",
        "list_tags_for_resource",
    ):
        setattr(backend, name, _taken_at_once(getattr(backend, name)))


def _taken_at_once(read):
    @serialised
    def call(self, *args, **kwargs):
        answer = read(self, *args, **kwargs)
        return answer if isinstance(answer, dict) else list(answer)

    call.__name__, call.__doc__, call.__wrapped__ = read.__name__, read.__doc__, read
    return call
