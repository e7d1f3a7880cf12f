//! Carrying a plan out, stage by stage, with the independent calls of each stage at once.

use super::failure::{Interrupted, Race};
use super::plan::{
    AlarmWrite, ConfigurePlan, DeletePlan, Desired, Made, Owner, Ownership, PolicyWrite,
    TagChanges, TargetWrite,
};
use super::rollback::Rollback;
use super::{Failure, record};
use crate::aws::{AlarmDefinition, AwsError, ScalingApi};
use crate::cfn::response::MAX_BODY_BYTES;
use crate::contract::{Tags, data};
use crate::policy_spec::PolicySpec;
use crate::properties::{ScalingProperties, TargetTrackingPolicies};
use crate::resource::Done;
use futures_util::future::try_join_all;
use futures_util::stream::{self, StreamExt, TryStreamExt};
use std::collections::BTreeMap;
use tracing::{info, warn};

/// Carries out a Create's or an Update's plan, stage by stage, recording each creating call in
/// the rollback record (when there is one) before it is sent and settling it when its outcome
/// is known.
pub(super) async fn apply(
    api: &ScalingApi,
    props: &ScalingProperties,
    desired: &Desired,
    owner: &Owner,
    plan: &ConfigurePlan,
    rollback: Option<&Rollback>,
) -> Result<Done, Interrupted> {
    let resource = &desired.resource;

    // The target, and the tags of what exists already.
    let target = async {
        match &plan.target {
            TargetWrite::Create { settings, tags } => {
                let settle = |made| record(rollback, |r| r.target_made(made));
                record(rollback, |r| r.creating_target(resource));
                match api.register_target(resource, settings, Some(tags)).await {
                    Ok(_) => {
                        settle(Made::Yes);
                        Ok(())
                    }
                    Err(error) => {
                        settle(match error.outcome_unknown {
                            true => Made::Unknown,
                            false => Made::No,
                        });
                        // Retried until the time was up: no time to read again either.
                        match error.retried.is_some_and(|r| r.out_of_time) {
                            true => Err(error.into()),
                            false => Err(Interrupted::Raced(Race::Target(error))),
                        }
                    }
                }
            }
            TargetWrite::Update {
                arn,
                settings,
                tags,
            } => {
                let register = async {
                    match settings {
                        Some(settings) => api.register_target(resource, settings, None).await,
                        None => Ok(None),
                    }
                };
                tokio::try_join!(register, retag(api, arn, tags, Object::Target))?;
                Ok(())
            }
        }
    };
    let alarm_tags = async {
        match &plan.alarm {
            Some(AlarmWrite::Update { arn, tags, .. }) => {
                Ok(retag(api, arn, tags, Object::Alarm).await?)
            }
            _ => Ok(()),
        }
    };
    // A target at its quota of policies takes a renamed one only once the old name is gone.
    let make_room = async {
        let deletes = plan.remove_policies_first.iter();
        try_join_all(deletes.map(|name| api.delete_policy(resource, name))).await?;
        Ok(())
    };
    tokio::try_join!(target, alarm_tags, make_room)?;

    // What hangs on the target: the policies and the scheduled actions. An alarm to create
    // under a free name is looked for again: one that appeared since the first read is another
    // request's, and is not written over.
    //
    // The policy puts are made first and then streamed, a few at a time: a stream holding the
    // closure that makes them would not be `Send` for every lifetime, which the handler's task
    // needs.
    let puts: Vec<_> = plan
        .puts()
        .map(|spec| async move {
            let arn = api.put_policy(resource, spec).await?;
            Ok::<_, AwsError>((spec.name.clone(), arn))
        })
        .collect();
    let policies = stream::iter(puts)
        .buffered(PARALLEL_POLICY_PUTS)
        .try_collect::<Vec<_>>();
    let schedules = try_join_all(plan.put_schedules.iter().map(|action| async {
        if plan.recreate_schedules.contains(&action.name) {
            api.delete_scheduled_action(resource, &action.name).await?;
        }
        api.put_scheduled_action(resource, action).await
    }));
    let alarm_appeared = async {
        match &plan.alarm {
            Some(AlarmWrite::Create { name, .. }) => {
                let found = api.find_alarms(std::slice::from_ref(name)).await?;
                Ok(!found.is_empty())
            }
            _ => Ok(false),
        }
    };
    let (put_arns, _, alarm_appeared) = tokio::try_join!(policies, schedules, alarm_appeared)?;
    // Every desired policy's ARN, in order: from its put, or from AWS when it was as desired.
    let policy_arns: Vec<(&PolicySpec, String)> = plan
        .policies
        .iter()
        .filter_map(|write| match write {
            PolicyWrite::Keep { spec, arn } => Some((spec, arn.clone())),
            PolicyWrite::Put(spec) => put_arns
                .iter()
                .find(|(name, _)| *name == spec.name)
                .map(|(_, arn)| (spec, arn.clone())),
        })
        .collect();
    let step_policy_arn = policy_arns
        .iter()
        .find(|(spec, _)| spec.name == desired.kind().step_policy_name)
        .map(|(_, arn)| arn.clone());
    if let (true, Some(write)) = (alarm_appeared, &plan.alarm) {
        let name = write.name().to_owned();
        return Err(Interrupted::Raced(Race::AlarmAppeared(name)));
    }

    // The alarm, which fires the step policy, unless it is as asked already. Its ARN: the one
    // AWS showed, or for a new one the step policy's partition, region and account.
    let alarm = plan.alarm.as_ref().zip(step_policy_arn.as_deref());
    let alarm = alarm.map(|(write, step_policy_arn)| {
        let arn = match write {
            AlarmWrite::Update { arn, .. } => arn.clone(),
            AlarmWrite::Create { name, .. } => alarm_arn(step_policy_arn, name),
        };
        (write, arn, step_policy_arn)
    });
    if let (Some((write, arn, step_policy_arn)), Some(wanted)) = (&alarm, &desired.alarm) {
        let definition = wanted.firing(step_policy_arn);
        match write {
            AlarmWrite::Update { .. } if !write.needs_put(&definition) => {}
            AlarmWrite::Update { name, .. } => api.put_alarm(name, &definition, None).await?,
            AlarmWrite::Create { name, tags } => {
                let alarm = NewAlarm {
                    name,
                    arn,
                    definition: &definition,
                    tags,
                };
                create_alarm(api, &alarm, owner, rollback).await?
            }
        }
    }

    // What is no longer asked for goes last, once every put went through: a request that
    // fails before leaves the old setup whole, for CloudFormation's rollback to find.
    let old_alarms = async {
        match plan.remove_alarms.as_slice() {
            [] => Ok(()),
            names => api.delete_alarms(names).await,
        }
    };
    let old_policies = try_join_all(
        plan.remove_policies
            .iter()
            .map(|name| api.delete_policy(resource, name)),
    );
    let old_schedules = try_join_all(
        plan.remove_schedules
            .iter()
            .map(|name| api.delete_scheduled_action(resource, name)),
    );
    tokio::try_join!(old_alarms, old_policies, old_schedules)?;

    let tracking_arns: Vec<(&str, &str)> = policy_arns
        .iter()
        .filter(|(spec, _)| spec.is_target_tracking())
        .map(|(spec, arn)| (spec.name.as_str(), arn.as_str()))
        .collect();
    let alarm = alarm.map(|(write, arn, step_policy_arn)| (write.name(), arn, step_policy_arn));
    let (data, policy_arns_left_out) =
        answer_data(&props.resource_id(), plan, &tracking_arns, alarm);
    let mut summary = format!(
        "Configured {}: capacity {} to {}, {}, scale from zero {}, {} scheduled action(s)",
        props.resource_id(),
        props.min_capacity,
        props.max_capacity,
        describe_target_tracking(&props.target_tracking),
        if props.scale_from_zero { "on" } else { "off" },
        plan.put_schedules.len(),
    );
    if policy_arns_left_out {
        summary.push_str(&format!(
            "; the policies' ARNs do not fit in CloudFormation's answer, so Data has no \
             {}<PolicyName> (DescribeScalingPolicies lists them)",
            data::TARGET_TRACKING_POLICY_ARNS_PREFIX
        ));
    }
    if !plan.notes.is_empty() {
        summary = format!("{summary}; {}", plan.notes.join("; "));
    }
    Ok(Done {
        physical_resource_id: props.resource_id(),
        data,
        summary,
    })
}

/// At most this many PutScalingPolicy calls at once on one target: the shorthand's two go
/// together, and a long list does not meet Application Auto Scaling's rate limit all at once.
const PARALLEL_POLICY_PUTS: usize = 4;

/// Room in CloudFormation's answer for the fields it echoes (stack id, request id, logical and
/// physical id, at their longest) and a short Reason: Data gets the rest.
const ANSWER_ENVELOPE_BYTES: usize = 1024;

/// The answer's Data: the fixed attributes, and each target-tracking policy's ARN by its name
/// while all of them fit in the answer (otherwise none; answers `true` then).
fn answer_data(
    resource_id: &str,
    plan: &ConfigurePlan,
    tracking_arns: &[(&str, &str)],
    alarm: Option<(&str, String, &str)>,
) -> (BTreeMap<String, String>, bool) {
    let (alarm_name, alarm_arn, step_policy_arn) = match alarm {
        Some((name, arn, step)) => (name.to_owned(), arn, step.to_owned()),
        None => Default::default(),
    };
    let first_arn = tracking_arns.first().map(|(_, arn)| arn.to_string());
    let schedules: Vec<&str> = plan.put_schedules.iter().map(|a| a.name.as_str()).collect();
    let mut data = BTreeMap::from([
        (data::RESOURCE_ID.to_owned(), resource_id.to_owned()),
        (
            data::TARGET_TRACKING_POLICY_ARN.to_owned(),
            first_arn.unwrap_or_default(),
        ),
        (data::STEP_SCALING_POLICY_ARN.to_owned(), step_policy_arn),
        (data::ALARM_NAME.to_owned(), alarm_name),
        (data::ALARM_ARN.to_owned(), alarm_arn),
        (data::SCHEDULED_ACTION_NAMES.to_owned(), schedules.join(",")),
    ]);
    let prefix = data::TARGET_TRACKING_POLICY_ARNS_PREFIX;
    let arns: Vec<(String, String)> = tracking_arns
        .iter()
        .map(|(name, arn)| (format!("{prefix}{name}"), arn.to_string()))
        .collect();
    let room = MAX_BODY_BYTES.saturating_sub(ANSWER_ENVELOPE_BYTES + json_size(&data));
    if json_size(arns.iter().map(|(k, v)| (k, v))) > room {
        return (data, true);
    }
    data.extend(arns);
    (data, false)
}

/// The bytes these entries take in the answer's JSON, escapes, quotes, colon and comma
/// included.
fn json_size<'a>(entries: impl IntoIterator<Item = (&'a String, &'a String)>) -> usize {
    let text = |s: &str| serde_json::to_string(s).map_or(s.len() * 6, |json| json.len());
    entries
        .into_iter()
        .map(|(k, v)| text(k) + text(v) + 2)
        .sum()
}

/// The target-tracking policies, for the summary.
fn describe_target_tracking(policies: &TargetTrackingPolicies) -> String {
    match policies {
        TargetTrackingPolicies::Shorthand(shorthand) => format!(
            "{} target {}",
            shorthand.metric.metric_name(),
            shorthand.target_value
        ),
        TargetTrackingPolicies::Listed(listed) if listed.is_empty() => {
            "no target-tracking policy".to_owned()
        }
        // The count, not the names: a long Reason is cut at its end, where notes follow.
        TargetTrackingPolicies::Listed(listed) if listed.len() == 1 => {
            "1 target-tracking policy".to_owned()
        }
        TargetTrackingPolicies::Listed(listed) => {
            format!("{} target-tracking policies", listed.len())
        }
    }
}

/// An alarm to put under a name that was free.
struct NewAlarm<'a> {
    name: &'a str,
    arn: &'a str,
    definition: &'a AlarmDefinition,
    tags: &'a Tags,
}

/// Puts an alarm under a name that was free, then reads its tags to learn whether this request
/// created it. CloudWatch has no conditional create: a put under a name that exists replaces
/// the alarm's definition, and AWS applies the put's tags only when it creates the alarm. So
/// the tags name the creator. Carrying another resource's, the alarm is that resource's: this
/// request plans again (and is refused). Carrying this resource's, it is this request's (or a
/// copy's); if another resource's put replaced the definition since, this one puts it back.
/// Without ownership tags (AWS not showing them yet) or with unreadable ones, the request
/// carries on, and its outcome stays unknown to a rollback, which reads the alarm again.
async fn create_alarm(
    api: &ScalingApi,
    alarm: &NewAlarm<'_>,
    owner: &Owner,
    rollback: Option<&Rollback>,
) -> Result<(), Interrupted> {
    let NewAlarm {
        name,
        arn,
        definition,
        tags,
    } = *alarm;
    let settle = |made| record(rollback, |r| r.alarm_made(made));
    record(rollback, |r| r.creating_alarm(name));
    if let Err(error) = api.put_alarm(name, definition, Some(tags)).await {
        if !error.outcome_unknown {
            settle(Made::No);
        }
        return Err(error.into());
    }
    if arn.is_empty() {
        return Ok(());
    }
    let names = [name.to_owned()];
    let (tags, now) = tokio::join!(api.alarm_tags(arn), api.find_alarms(&names));
    match tags.map(|tags| Ownership::from_tags(&tags, owner)) {
        Ok(Ownership::Ours) => settle(Made::Yes),
        Ok(Ownership::Other(_)) => {
            settle(Made::No);
            return Err(Interrupted::Raced(Race::AlarmTakenAtPut(name.to_owned())));
        }
        // `from_tags` reads tags it was given: never Unknown.
        Ok(Ownership::Untagged | Ownership::Unknown(_)) => {
            warn!(
                alarm = name,
                "the alarm just put shows no ownership tags yet"
            );
            return Ok(());
        }
        Err(error) => {
            warn!(error = %error, alarm = name, "could not read the tags of the alarm just put");
            return Ok(());
        }
    }
    let replaced = match now {
        Ok(alarms) => alarms
            .into_iter()
            .any(|alarm| alarm.name == name && alarm.definition != *definition),
        Err(error) => {
            warn!(error = %error, alarm = name, "could not read back the alarm just put");
            false
        }
    };
    if replaced {
        info!(
            alarm = name,
            "another resource's put replaced the alarm's definition: putting it back"
        );
        api.put_alarm(name, definition, None).await?;
    }
    Ok(())
}

#[derive(Clone, Copy)]
enum Object {
    Target,
    Alarm,
}

/// Sets and removes tags on an object that exists, through its service's tagging API.
async fn retag(
    api: &ScalingApi,
    arn: &str,
    changes: &TagChanges,
    object: Object,
) -> Result<(), AwsError> {
    let set = async {
        match (changes.set.is_empty(), object) {
            (true, _) => Ok(()),
            (false, Object::Target) => api.tag_target(arn, &changes.set).await,
            (false, Object::Alarm) => api.tag_alarm(arn, &changes.set).await,
        }
    };
    let remove = async {
        match (changes.remove.is_empty(), object) {
            (true, _) => Ok(()),
            (false, Object::Target) => api.untag_target(arn, &changes.remove).await,
            (false, Object::Alarm) => api.untag_alarm(arn, &changes.remove).await,
        }
    };
    tokio::try_join!(set, remove)?;
    Ok(())
}

/// Carries out a Delete's (or a rollback's) plan: the alarms and the target at once. The
/// target's policies and scheduled actions go with it: DeregisterScalableTarget deletes them.
pub(super) async fn remove(api: &ScalingApi, plan: &DeletePlan) -> Result<(), Failure> {
    let alarms = async {
        match plan.alarms.as_slice() {
            [] => Ok(()),
            names => api.delete_alarms(names).await,
        }
    };
    let target = async {
        match &plan.target {
            Some(resource) => api.deregister_target(resource).await,
            None => Ok(()),
        }
    };
    tokio::try_join!(alarms, target)?;
    Ok(())
}

/// The alarm's ARN, from the step policy's: same partition, region and account. PutMetricAlarm
/// answers nothing, and this saves a DescribeAlarms call.
fn alarm_arn(step_policy_arn: &str, alarm_name: &str) -> String {
    let parts: Vec<&str> = step_policy_arn.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", partition, _service, region, account, _] => {
            format!("arn:{partition}:cloudwatch:{region}:{account}:alarm:{alarm_name}")
        }
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scaling::plan::Observed;
    use crate::scaling::plan::fixtures::{configure, desired};
    use serde_json::json;

    const RESOURCE_ID: &str = "endpoint/esd/variant/prod";

    fn arn(name: &str) -> String {
        format!(
            "arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:\
             12345678-1234-1234-1234-123456789012:resource/sagemaker/{RESOURCE_ID}:policyName/{name}"
        )
    }

    /// Data for these target-tracking policies, with no alarm and no schedule.
    fn data_for(names: &[String]) -> (BTreeMap<String, String>, bool) {
        let plan = configure(
            &desired(json!({"ScaleFromZero": false})),
            &Observed::default(),
        );
        let arns: Vec<(String, String)> = names.iter().map(|n| (n.clone(), arn(n))).collect();
        let tracking: Vec<(&str, &str)> =
            arns.iter().map(|(n, a)| (n.as_str(), a.as_str())).collect();
        answer_data(RESOURCE_ID, &plan.unwrap(), &tracking, None)
    }

    #[test]
    fn data_gives_every_policys_arn_by_name_while_they_fit_in_the_answer() {
        let names: Vec<String> = ["gpu", "backlog"].map(String::from).to_vec();
        let (data, left_out) = data_for(&names);
        assert!(!left_out);
        assert_eq!(data["TargetTrackingPolicyArns.gpu"], arn("gpu"));
        assert_eq!(data["TargetTrackingPolicyArns.backlog"], arn("backlog"));
        assert_eq!(data["TargetTrackingPolicyArn"], arn("gpu"), "the first");
        assert_eq!(data["StepScalingPolicyArn"], "");

        let (data, left_out) = data_for(&[]);
        assert!(!left_out);
        assert_eq!(data["TargetTrackingPolicyArn"], "");

        // Thirty do not fit: none is given, and the first one's ARN still is.
        let many: Vec<String> = (0..30).map(|n| format!("policy-{n}")).collect();
        let (data, left_out) = data_for(&many);
        assert!(left_out);
        assert!(
            !data
                .keys()
                .any(|k| k.starts_with("TargetTrackingPolicyArns."))
        );
        assert_eq!(data["TargetTrackingPolicyArn"], arn("policy-0"));
    }

    #[test]
    fn data_is_measured_as_the_json_it_becomes() {
        // Quotes are escaped in the answer: as raw text these fit, as JSON they do not.
        let fits = |quote: &str| {
            let names: Vec<String> = (0..8).map(|n| format!("{n}{}", quote.repeat(60))).collect();
            !data_for(&names).1
        };
        assert!(fits("a"));
        assert!(!fits("\""));
    }

    #[test]
    fn alarm_arn_follows_the_step_policy_arn() {
        let policy = "arn:aws-cn:autoscaling:cn-north-1:123456789012:scalingPolicy:0f:resource/sagemaker/endpoint/e/variant/v:policyName/HasBacklogWithoutCapacity-ScalingPolicy";
        assert_eq!(
            alarm_arn(policy, "e-HasBacklogWithoutCapacity"),
            "arn:aws-cn:cloudwatch:cn-north-1:123456789012:alarm:e-HasBacklogWithoutCapacity"
        );
    }
}
