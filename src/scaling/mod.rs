//! The scaling logic: what Create, Update and Delete do to one endpoint variant's auto scaling.
//!
//! It knows nothing of CloudFormation's wire format; it talks to AWS only through
//! [`aws::ScalingApi`].

pub mod aws;
pub mod progress;

use crate::properties::{ScalingProperties, TargetMetric, VariantId, default_alarm_name};
use aws::{AwsError, ScalingApi};
use progress::Created;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;
use tracing::{info, warn};

/// Name of the step policy that takes the variant from 0 to 1 instance; public contract.
pub const STEP_POLICY_NAME: &str = "HasBacklogWithoutCapacity-ScalingPolicy";

/// The CloudFormation resource on whose behalf the function acts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owner {
    pub stack_id: String,
    pub logical_resource_id: String,
}

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

/// Create: configure a variant that this resource does not manage yet.
pub async fn create(
    api: &ScalingApi,
    props: &ScalingProperties,
    owner: &Owner,
) -> Result<Configured, Failure> {
    configure_variant(api, props, owner).await
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
) -> Result<Configured, Failure> {
    if physical_resource_id != props.resource_id() {
        info!(
            old = physical_resource_id,
            new = %props.resource_id(),
            "endpoint or variant changed: configuring the new variant, CloudFormation deletes the old one"
        );
        return configure_variant(api, props, owner).await;
    }
    let configured = apply(api, props, owner, false).await?;
    match ScalingProperties::parse(old_properties) {
        Ok(old) => remove_dropped(api, &old, props).await?,
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
        _ => default_alarm_name(&variant.endpoint_name),
    };
    remove_variant(api, &variant, Some(&alarm_name)).await?;
    Ok(format!(
        "Removed the auto scaling of {}",
        variant.resource_id()
    ))
}

/// Removes what a failed operation created, as recorded in its progress.
pub async fn remove_created(api: &ScalingApi, created: &Created) -> Result<(), Failure> {
    remove_variant(api, &created.variant, created.alarm_name.as_deref()).await
}

/// Configures a variant this resource may not manage yet, refusing to take over one that
/// something else registered.
async fn configure_variant(
    api: &ScalingApi,
    props: &ScalingProperties,
    owner: &Owner,
) -> Result<Configured, Failure> {
    let variant = props.variant();
    let is_new = match api.find_target(&variant).await? {
        None => true,
        Some(_) if props.adopt_existing => {
            info!(resource_id = %variant.resource_id(), "adopting the registered scalable target");
            false
        }
        Some(target) => {
            let owned = match &target.arn {
                Some(arn) => api.is_owned_by(arn, owner).await?,
                None => false,
            };
            if !owned {
                return Err(Failure(format!(
                    "A scalable target is already registered for {} and this resource did not \
                     register it: refusing to take over a scaling setup that something else \
                     manages. Deregister it first, or set AdoptExisting to true to manage it \
                     from this stack.",
                    variant.resource_id()
                )));
            }
            info!(resource_id = %variant.resource_id(), "scalable target registered earlier by this resource");
            false
        }
    };
    if is_new {
        api.progress().creating(Created {
            variant,
            alarm_name: props.scale_from_zero.then(|| props.alarm_name.clone()),
        });
    }
    apply(api, props, owner, is_new).await
}

/// Puts the whole desired state: target, policies and, with ScaleFromZero, the alarm.
async fn apply(
    api: &ScalingApi,
    props: &ScalingProperties,
    owner: &Owner,
    is_new_target: bool,
) -> Result<Configured, Failure> {
    api.register_target(props, is_new_target.then_some(owner))
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
        ("ResourceId".to_owned(), props.resource_id()),
        ("TargetTrackingPolicyArn".to_owned(), target_tracking_arn),
        ("StepScalingPolicyArn".to_owned(), String::new()),
        ("AlarmName".to_owned(), String::new()),
        ("AlarmArn".to_owned(), String::new()),
    ]);
    if let Some(step_policy_arn) = step_policy_arn {
        api.put_alarm(props, &step_policy_arn, &alarm_description(props, owner))
            .await?;
        data.insert(
            "AlarmArn".to_owned(),
            alarm_arn(&step_policy_arn, &props.alarm_name),
        );
        data.insert("AlarmName".to_owned(), props.alarm_name.clone());
        data.insert("StepScalingPolicyArn".to_owned(), step_policy_arn);
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

/// After an in-place Update: removes what the old properties had and the new ones do not.
async fn remove_dropped(
    api: &ScalingApi,
    old: &ScalingProperties,
    new: &ScalingProperties,
) -> Result<(), Failure> {
    let variant = new.variant();
    let old_target_tracking = async {
        match old.target_metric != new.target_metric {
            true => {
                api.delete_policy(&variant, old.target_metric.policy_name())
                    .await
            }
            false => Ok(()),
        }
    };
    let step_policy = async {
        match old.scale_from_zero && !new.scale_from_zero {
            true => api.delete_policy(&variant, STEP_POLICY_NAME).await,
            false => Ok(()),
        }
    };
    let old_alarm = async {
        let dropped = !new.scale_from_zero || old.alarm_name != new.alarm_name;
        match old.scale_from_zero && dropped {
            true => remove_alarm_if_ours(api, &variant, &old.alarm_name).await,
            false => Ok(()),
        }
    };
    tokio::try_join!(old_target_tracking, step_policy, old_alarm)?;
    Ok(())
}

/// Removes a variant's alarm, policies and scalable target. Policies are deleted explicitly:
/// real AWS drops them with the target, but the emulator does not, and explicit is safe.
async fn remove_variant(
    api: &ScalingApi,
    variant: &VariantId,
    alarm_name: Option<&str>,
) -> Result<(), Failure> {
    let alarm = async {
        match alarm_name {
            Some(name) => remove_alarm_if_ours(api, variant, name).await,
            None => Ok(()),
        }
    };
    let target = async {
        tokio::try_join!(
            api.delete_policy(variant, TargetMetric::CpuUtilization.policy_name()),
            api.delete_policy(
                variant,
                TargetMetric::ApproximateBacklogSizePerInstance.policy_name()
            ),
            api.delete_policy(variant, STEP_POLICY_NAME),
        )?;
        api.deregister_target(variant).await
    };
    tokio::try_join!(alarm, target)?;
    Ok(())
}

/// Deletes the alarm only if it fires this variant's step policy. An alarm name can be shared
/// over time (the default is per endpoint, so a renamed variant's new alarm has the old one's
/// name), and an alarm that now serves another variant must survive the old one's Delete.
async fn remove_alarm_if_ours(
    api: &ScalingApi,
    variant: &VariantId,
    alarm_name: &str,
) -> Result<(), AwsError> {
    let Some(actions) = api.alarm_actions(alarm_name).await? else {
        return Ok(());
    };
    if actions.iter().any(|arn| fires_step_policy_of(arn, variant)) {
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

/// Scaling policy ARNs end in `:resource/sagemaker/<ResourceId>:policyName/<PolicyName>`.
fn fires_step_policy_of(action_arn: &str, variant: &VariantId) -> bool {
    let suffix = format!(
        ":resource/sagemaker/{}:policyName/{STEP_POLICY_NAME}",
        variant.resource_id()
    );
    action_arn.ends_with(&suffix)
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
        assert!(fires_step_policy_of(policy, &VariantId::new("e", "v")));
        assert!(!fires_step_policy_of(policy, &VariantId::new("e", "w")));
    }
}
