//! The scaling logic: what Create, Update and Delete do to one endpoint variant's auto scaling.
//!
//! Each operation reads what AWS holds ([`observe`]), asks [`plan`] what to do, and carries the
//! plan out through the seam in [`crate::aws`], the independent calls of each stage at once.
//! It knows nothing of CloudFormation's wire format.

pub mod plan;
pub mod rollback;

pub use plan::Owner;

use crate::aws::{AwsError, ScalingApi};
use crate::contract::{Tags, VariantId, data};
use crate::properties::ScalingProperties;
use futures_util::future::try_join_all;
use plan::{
    AlarmWrite, ConfigurePlan, DeletePlan, FoundAlarm, FoundTarget, Intent, Observed, Ownership,
    Refusal, TargetWrite,
};
use rollback::Rollback;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;
use tracing::{info, warn};

/// A variant configured as asked: what CloudFormation gets back.
#[derive(Clone, Debug, PartialEq)]
pub struct Configured {
    pub physical_resource_id: String,
    pub data: BTreeMap<String, String>,
    pub summary: String,
}

/// Why an operation failed, worded for the stack's events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure(pub String);

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<AwsError> for Failure {
    fn from(error: AwsError) -> Self {
        Failure(error.to_string())
    }
}

impl From<Refusal> for Failure {
    fn from(refusal: Refusal) -> Self {
        Failure(refusal.0)
    }
}

/// Create: configure a variant that this resource does not manage yet.
pub async fn create(
    api: &ScalingApi,
    props: &ScalingProperties,
    owner: &Owner,
    rollback: &Rollback,
) -> Result<Configured, Failure> {
    configure(api, props, Intent::Configure, owner, rollback).await
}

/// Update. With the same variant, the whole desired state is applied again (which also repairs
/// drift) and what only the old properties asked for is removed. With another variant, that
/// one is configured as on Create; CloudFormation then deletes the old one with a Delete.
pub async fn update(
    api: &ScalingApi,
    physical_resource_id: &str,
    props: &ScalingProperties,
    old_properties: &Value,
    owner: &Owner,
    rollback: &Rollback,
) -> Result<Configured, Failure> {
    if physical_resource_id != props.resource_id() {
        info!(
            old = physical_resource_id,
            new = %props.resource_id(),
            "endpoint or variant changed: configuring the new variant, CloudFormation deletes the old one"
        );
        return configure(api, props, Intent::Configure, owner, rollback).await;
    }
    let previous = match ScalingProperties::parse(old_properties) {
        Ok(previous) => Some(previous),
        // Old properties were valid when they were applied; if they no longer parse, nothing
        // is known to remove, and applying the new state is still right.
        Err(problems) => {
            warn!(%problems, "old properties unreadable, nothing removed");
            None
        }
    };
    let intent = Intent::Reconfigure {
        previous: previous.as_ref(),
    };
    configure(api, props, intent, owner, rollback).await
}

/// Delete: remove what this resource owns of the variant that the physical id names; what
/// another resource took over stays, and anything already gone counts as done.
pub async fn delete(
    api: &ScalingApi,
    physical_resource_id: &str,
    properties: &Value,
    owner: &Owner,
) -> Result<String, Failure> {
    let Some(variant) = VariantId::from_resource_id(physical_resource_id) else {
        return Ok(format!(
            "Nothing to delete: {physical_resource_id:?} is not an endpoint variant this resource configured"
        ));
    };
    // Only AlarmName is read, and leniently: a Delete must not fail over properties that no
    // longer validate, or the stack could never be deleted.
    let alarm_name = match properties.get("AlarmName") {
        Some(Value::String(name)) if !name.is_empty() => Some(name.as_str()),
        _ => None,
    };
    let alarm_names = plan::alarm_names_to_delete(&variant, alarm_name);
    let observed = observe(api, &variant, &alarm_names, owner).await?;
    let plan = plan::plan_delete(&variant, &observed);
    remove(api, &plan).await?;
    let mut summary = format!("Removed the auto scaling of {}", variant.resource_id());
    if !plan.left.is_empty() {
        summary = format!(
            "{summary}, except what another resource now manages: left {}",
            plan.left.join("; and ")
        );
    }
    Ok(summary)
}

/// Removes what a failed request created, as its rollback record says.
pub async fn remove_created(api: &ScalingApi, created: &plan::Created) -> Result<(), Failure> {
    remove(api, &plan::plan_rollback(created)).await
}

/// Reads what AWS holds for the variant and under the alarm names: one round trip for the
/// target and the alarms, one for their tags. Tags that cannot be read leave the ownership
/// unknown, for the plan to weigh; that is not an error.
async fn observe(
    api: &ScalingApi,
    variant: &VariantId,
    alarm_names: &[String],
    owner: &Owner,
) -> Result<Observed, Failure> {
    let (target, alarms) =
        tokio::try_join!(api.find_target(variant), api.find_alarms(alarm_names))?;
    let target = async {
        let target = target?;
        let Some(arn) = target.arn else {
            // Only a target registered before ARNs existed has none; its tags cannot be asked.
            return Some(FoundTarget {
                arn: String::new(),
                settings: target.settings,
                ownership: Ownership::Unknown("it has no ARN".to_owned()),
                tags: None,
            });
        };
        let tags = api.target_tags(&arn).await;
        let (ownership, tags) = read_ownership(tags, owner);
        Some(FoundTarget {
            arn,
            settings: target.settings,
            ownership,
            tags,
        })
    };
    let alarms = futures_util::future::join_all(alarms.into_iter().map(|found| async move {
        let (ownership, tags) = read_ownership(api.alarm_tags(&found.arn).await, owner);
        FoundAlarm {
            name: found.name,
            arn: found.arn,
            definition: found.definition,
            ownership,
            tags,
        }
    }));
    let (target, alarms) = tokio::join!(target, alarms);
    Ok(Observed { target, alarms })
}

fn read_ownership(tags: Result<Tags, AwsError>, owner: &Owner) -> (Ownership, Option<Tags>) {
    match tags {
        Ok(tags) => (Ownership::from_tags(&tags, owner), Some(tags)),
        Err(error) => {
            warn!(error = %error, "ownership unknown: the tags could not be read");
            (Ownership::Unknown(error.to_string()), None)
        }
    }
}

/// Create and Update: observe, plan, and carry the plan out.
async fn configure(
    api: &ScalingApi,
    props: &ScalingProperties,
    intent: Intent<'_>,
    owner: &Owner,
    rollback: &Rollback,
) -> Result<Configured, Failure> {
    let variant = props.variant();
    let alarm_names = plan::alarm_names_to_observe(props, intent.previous());
    let observed = observe(api, &variant, &alarm_names, owner).await?;
    let plan = plan::plan_configure(props, intent, owner, &observed)?;
    for note in &plan.notes {
        info!(resource_id = %variant.resource_id(), "{note}");
    }
    // Recorded before the first call that creates anything, so that a failure at any later
    // point removes it.
    if !plan.rollback.is_empty() {
        rollback.record(plan.rollback.clone());
    }
    apply(api, props, owner, &plan).await
}

/// Carries out a Create's or an Update's plan, stage by stage.
async fn apply(
    api: &ScalingApi,
    props: &ScalingProperties,
    owner: &Owner,
    plan: &ConfigurePlan,
) -> Result<Configured, Failure> {
    let variant = props.variant();

    // The target, and the tags of what exists already.
    let target = async {
        match &plan.target {
            TargetWrite::Create { settings, tags } => {
                api.register_target(&variant, settings, Some(tags)).await
            }
            TargetWrite::Update {
                arn,
                settings,
                tags,
            } => {
                let register = async {
                    match settings {
                        Some(settings) => api.register_target(&variant, settings, None).await,
                        None => Ok(()),
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
                retag(api, arn, tags, Object::Alarm).await
            }
            _ => Ok(()),
        }
    };
    tokio::try_join!(target, alarm_tags)?;

    // What hangs on the target: the policies, the scheduled actions, and what the old
    // properties had that goes.
    let step_policy = async {
        match props.scale_from_zero {
            true => api.put_step_policy(props).await.map(Some),
            false => Ok(None),
        }
    };
    let schedules = try_join_all(plan.put_schedules.iter().map(|action| async {
        if plan.recreate_schedules.contains(&action.name) {
            api.delete_scheduled_action(&variant, &action.name).await?;
        }
        api.put_scheduled_action(&variant, action).await
    }));
    let removals = async {
        let policies = plan.remove_policies.iter();
        let schedules = plan.remove_schedules.iter();
        tokio::try_join!(
            try_join_all(policies.map(|name| api.delete_policy(&variant, name))),
            try_join_all(schedules.map(|name| api.delete_scheduled_action(&variant, name))),
        )
    };
    let (target_tracking_arn, step_policy_arn, _, _) = tokio::try_join!(
        api.put_target_tracking_policy(props),
        step_policy,
        schedules,
        removals
    )?;

    // The alarm, which fires the step policy, unless it is as asked already; alarms no longer
    // used go.
    let alarm = async {
        let (Some(write), Some(step_policy_arn)) = (&plan.alarm, &step_policy_arn) else {
            return Ok(());
        };
        let definition = plan::alarm_definition(props, owner, step_policy_arn);
        if !write.needs_put(&definition) {
            return Ok(());
        }
        let tags = match write {
            AlarmWrite::Create { tags, .. } => Some(tags),
            AlarmWrite::Update { .. } => None,
        };
        api.put_alarm(write.name(), &definition, tags).await
    };
    let old_alarms = async {
        match plan.remove_alarms.as_slice() {
            [] => Ok(()),
            names => api.delete_alarms(names).await,
        }
    };
    tokio::try_join!(alarm, old_alarms)?;

    let mut data = BTreeMap::from([
        (data::RESOURCE_ID.to_owned(), props.resource_id()),
        (
            data::TARGET_TRACKING_POLICY_ARN.to_owned(),
            target_tracking_arn,
        ),
        (data::STEP_SCALING_POLICY_ARN.to_owned(), String::new()),
        (data::ALARM_NAME.to_owned(), String::new()),
        (data::ALARM_ARN.to_owned(), String::new()),
        (
            data::SCHEDULED_ACTION_NAMES.to_owned(),
            plan.put_schedules
                .iter()
                .map(|a| a.name.as_str())
                .collect::<Vec<_>>()
                .join(","),
        ),
    ]);
    if let (Some(write), Some(step_policy_arn)) = (&plan.alarm, step_policy_arn) {
        let arn = match write {
            AlarmWrite::Update { arn, .. } => arn.clone(),
            AlarmWrite::Create { name, .. } => alarm_arn(&step_policy_arn, name),
        };
        data.insert(data::ALARM_ARN.to_owned(), arn);
        data.insert(data::ALARM_NAME.to_owned(), write.name().to_owned());
        data.insert(data::STEP_SCALING_POLICY_ARN.to_owned(), step_policy_arn);
    }
    let mut summary = format!(
        "Configured {}: capacity {} to {}, {} target {}, scale from zero {}, {} scheduled \
         action(s)",
        props.resource_id(),
        props.min_capacity,
        props.max_capacity,
        props.target_metric.metric_name(),
        props.target_value,
        if props.scale_from_zero { "on" } else { "off" },
        plan.put_schedules.len(),
    );
    if !plan.notes.is_empty() {
        summary = format!("{summary}; {}", plan.notes.join("; "));
    }
    Ok(Configured {
        physical_resource_id: props.resource_id(),
        data,
        summary,
    })
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
    changes: &plan::TagChanges,
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
async fn remove(api: &ScalingApi, plan: &DeletePlan) -> Result<(), Failure> {
    let alarms = async {
        match plan.alarms.as_slice() {
            [] => Ok(()),
            names => api.delete_alarms(names).await,
        }
    };
    let target = async {
        match &plan.target {
            Some(variant) => api.deregister_target(variant).await,
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

    #[test]
    fn alarm_arn_follows_the_step_policy_arn() {
        let policy = "arn:aws-cn:autoscaling:cn-north-1:123456789012:scalingPolicy:0f:resource/sagemaker/endpoint/e/variant/v:policyName/HasBacklogWithoutCapacity-ScalingPolicy";
        assert_eq!(
            alarm_arn(policy, "e-HasBacklogWithoutCapacity"),
            "arn:aws-cn:cloudwatch:cn-north-1:123456789012:alarm:e-HasBacklogWithoutCapacity"
        );
    }
}
