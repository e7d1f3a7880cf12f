//! The scaling logic: what Create, Update and Delete do to one endpoint variant's auto scaling.
//!
//! Each operation reads what it needs from AWS, asks [`plan`] what to do, and carries the plan
//! out through the seam in [`crate::aws`]. It knows nothing of CloudFormation's wire format.

pub mod plan;
pub mod rollback;

pub use plan::Owner;

use crate::aws::{AwsError, ScalingApi};
use crate::contract::{STEP_POLICY_NAME, VariantId, data, default_alarm_name};
use crate::properties::ScalingProperties;
use futures_util::future::try_join_all;
use plan::{Refusal, Removals, TargetFound, TargetPlan, Teardown};
use rollback::{Created, Rollback};
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
    configure_variant(api, props, owner, rollback).await
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
        return configure_variant(api, props, owner, rollback).await;
    }
    let configured = apply(api, props, owner, &TargetPlan::Reuse).await?;
    match ScalingProperties::parse(old_properties) {
        Ok(old) => remove(api, &props.variant(), &plan::plan_removals(&old, props)).await?,
        // Old properties were valid when they were applied; if they no longer parse, nothing
        // is known to remove, and re-applying the new state is still right.
        Err(problems) => warn!(%problems, "old properties unreadable, nothing removed"),
    }
    Ok(configured)
}

/// Delete: remove the alarm, the policies and the scalable target of the variant that the
/// physical id names. Anything already gone counts as done.
pub async fn delete(
    api: &ScalingApi,
    physical_resource_id: &str,
    properties: &Value,
) -> Result<String, Failure> {
    let Some(variant) = VariantId::from_resource_id(physical_resource_id) else {
        return Ok(format!(
            "Nothing to delete: {physical_resource_id:?} is not an endpoint variant this resource configured"
        ));
    };
    // Only AlarmName is read, and leniently: a Delete must not fail over properties that no
    // longer validate, or the stack could never be deleted.
    let alarm_name = match properties.get("AlarmName") {
        Some(Value::String(name)) if !name.is_empty() => name.clone(),
        _ => default_alarm_name(&variant),
    };
    tear_down(api, &plan::plan_teardown(&variant, Some(&alarm_name))).await?;
    Ok(format!(
        "Removed the auto scaling of {}",
        variant.resource_id()
    ))
}

/// Removes what a failed operation created, as its rollback record says.
pub async fn remove_created(api: &ScalingApi, created: &Created) -> Result<(), Failure> {
    let teardown = plan::plan_teardown(&created.variant, created.alarm_name.as_deref());
    tear_down(api, &teardown).await
}

/// Configures a variant this resource may not manage yet, refusing to take over one that
/// something else registered.
async fn configure_variant(
    api: &ScalingApi,
    props: &ScalingProperties,
    owner: &Owner,
    rollback: &Rollback,
) -> Result<Configured, Failure> {
    let variant = props.variant();
    let found = match api.find_target(&variant).await? {
        None => TargetFound::Absent,
        // Adopted either way: whose it is does not matter, so it is not read.
        Some(_) if props.adopt_existing => TargetFound::NotOurs,
        Some(target) => match &target.arn {
            Some(arn) if api.is_owned_by(arn, owner).await? => TargetFound::Ours,
            _ => TargetFound::NotOurs,
        },
    };
    let target = plan::plan_target(&variant, &found, props.adopt_existing)?;
    match target {
        TargetPlan::Create => rollback.record(Created {
            variant,
            alarm_name: props.scale_from_zero.then(|| props.alarm_name.clone()),
        }),
        TargetPlan::Reuse => {
            info!(resource_id = %variant.resource_id(), "scalable target registered earlier by this resource")
        }
        TargetPlan::Adopt => {
            info!(resource_id = %variant.resource_id(), "adopting the registered scalable target")
        }
    }
    apply(api, props, owner, &target).await
}

/// Puts the whole desired state: target, policies and, with ScaleFromZero, the alarm.
async fn apply(
    api: &ScalingApi,
    props: &ScalingProperties,
    owner: &Owner,
    target: &TargetPlan,
) -> Result<Configured, Failure> {
    api.register_target(props, target.creates().then_some(owner))
        .await?;
    let step_policy = async {
        match props.scale_from_zero {
            true => api.put_step_policy(props).await.map(Some),
            false => Ok(None),
        }
    };
    let (target_tracking_arn, step_policy_arn) =
        tokio::try_join!(api.put_target_tracking_policy(props), step_policy)?;

    let mut data = BTreeMap::from([
        (data::RESOURCE_ID.to_owned(), props.resource_id()),
        (
            data::TARGET_TRACKING_POLICY_ARN.to_owned(),
            target_tracking_arn,
        ),
        (data::STEP_SCALING_POLICY_ARN.to_owned(), String::new()),
        (data::ALARM_NAME.to_owned(), String::new()),
        (data::ALARM_ARN.to_owned(), String::new()),
    ]);
    if let Some(step_policy_arn) = step_policy_arn {
        api.put_alarm(props, &step_policy_arn, &alarm_description(props, owner))
            .await?;
        data.insert(
            data::ALARM_ARN.to_owned(),
            alarm_arn(&step_policy_arn, &props.alarm_name),
        );
        data.insert(data::ALARM_NAME.to_owned(), props.alarm_name.clone());
        data.insert(data::STEP_SCALING_POLICY_ARN.to_owned(), step_policy_arn);
    }
    Ok(Configured {
        physical_resource_id: props.resource_id(),
        data,
        summary: format!(
            "Configured {}: capacity {} to {}, {} target {}, scale from zero {}",
            props.resource_id(),
            props.min_capacity,
            props.max_capacity,
            props.target_metric.metric_name(),
            props.target_value,
            if props.scale_from_zero { "on" } else { "off" },
        ),
    })
}

/// Carries out an in-place Update's removals, all at once.
async fn remove(api: &ScalingApi, variant: &VariantId, removals: &Removals) -> Result<(), Failure> {
    let policies = try_join_all(
        removals
            .policies
            .iter()
            .map(|p| api.delete_policy(variant, p)),
    );
    let alarm = async {
        match &removals.alarm {
            Some(name) => remove_alarm_if_the_variants(api, variant, name).await,
            None => Ok(()),
        }
    };
    tokio::try_join!(policies, alarm)?;
    Ok(())
}

/// Removes a variant's alarm, policies and scalable target. Policies are deleted explicitly:
/// real AWS drops them with the target, but the emulator does not, and explicit is safe.
async fn tear_down(api: &ScalingApi, teardown: &Teardown) -> Result<(), Failure> {
    let variant = &teardown.variant;
    let alarm = async {
        match &teardown.alarm {
            Some(name) => remove_alarm_if_the_variants(api, variant, name).await,
            None => Ok(()),
        }
    };
    let target = async {
        try_join_all(
            teardown
                .policies
                .iter()
                .map(|p| api.delete_policy(variant, p)),
        )
        .await?;
        api.deregister_target(variant).await
    };
    tokio::try_join!(alarm, target)?;
    Ok(())
}

/// Deletes the alarm only if it fires this variant's step policy (see
/// [`plan::alarm_is_the_variants`]).
async fn remove_alarm_if_the_variants(
    api: &ScalingApi,
    variant: &VariantId,
    alarm_name: &str,
) -> Result<(), AwsError> {
    let Some(actions) = api.alarm_actions(alarm_name).await? else {
        return Ok(());
    };
    if plan::alarm_is_the_variants(&actions, variant) {
        api.delete_alarm(alarm_name).await
    } else {
        info!(
            alarm_name,
            resource_id = %variant.resource_id(),
            "alarm does not fire this variant's step policy: left in place"
        );
        Ok(())
    }
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

fn alarm_description(props: &ScalingProperties, owner: &Owner) -> String {
    let description = format!(
        "Adds an instance to {} ({STEP_POLICY_NAME}) when requests wait and none runs. \
         Managed by CloudFormation resource {} of stack {}.",
        props.resource_id(),
        owner.logical_resource_id,
        owner.stack_id
    );
    // CloudWatch's limit is 1024 characters.
    description.chars().take(1024).collect()
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
