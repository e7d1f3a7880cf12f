//! Taking a record: reading everything that deregistering a variant's target would remove.

use super::GuardFailure;
use super::plan::Affected;
use super::record::{Record, RecordedAlarm, RecordedTarget};
use crate::aws::{Endpoint, RegisteredTarget, ScalingApi};
use crate::contract::Tags;
use crate::policy_spec::PolicyKind;
use crate::target::ScalableResource;

/// Reads the variant's target, policies, scheduled actions and the alarms that fire its step
/// policies into a record, and encodes it. Anything that could not be put back as it was (a
/// policy or alarm with settings this function does not write, a record too large for
/// Parameter Store) refuses the whole update before any change.
pub(super) async fn take(
    api: &ScalingApi,
    affected: &Affected,
    target: &RegisteredTarget,
    tags: Tags,
    endpoint: &Endpoint,
    for_config: &str,
) -> Result<(Record, String), GuardFailure> {
    let variant = &affected.variant;
    let unrecordable = |why: String| GuardFailure::Unrecordable {
        variant: variant.clone(),
        why,
    };
    let Some(settings) = target.settings else {
        return Err(unrecordable(
            "DescribeScalableTargets did not show its suspended state".into(),
        ));
    };
    let (policies, scheduled_actions) = {
        let resource = ScalableResource::from(variant);
        tokio::try_join!(api.policies(&resource), api.scheduled_actions(&resource))?
    };
    let mut record = Record::new(
        variant,
        &affected.placement,
        endpoint.last_modified.clone(),
        endpoint.config_name.clone(),
        for_config.to_owned(),
        RecordedTarget { settings, tags },
    );
    record.scheduled_actions = scheduled_actions;
    let step_policies: Vec<_> = policies
        .iter()
        .filter(|p| matches!(p.spec.as_ref().map(|s| &s.kind), Some(PolicyKind::Step(_))))
        .collect();
    for policy in &policies {
        match &policy.spec {
            Some(spec) => record.policies.push(spec.clone()),
            None => {
                return Err(unrecordable(format!(
                    "its scaling policy {} has settings this function cannot put back",
                    policy.name
                )));
            }
        }
    }
    let firing =
        futures_util::future::try_join_all(step_policies.iter().map(|policy| async move {
            Ok::<_, crate::aws::AwsError>((policy, api.alarms_firing(&policy.arn).await?))
        }))
        .await?;
    for (policy, alarms) in firing {
        for alarm in alarms {
            // The function's role may put alarms that fire SageMaker scaling policies only
            // (template.yaml), so an alarm that also notifies a topic could not be put back.
            if let Some(action) = alarm
                .definition
                .alarm_actions
                .iter()
                .find(|a| !is_sagemaker_scaling_policy(a))
            {
                return Err(unrecordable(format!(
                    "the alarm {} that fires its policy {} also has the action {action}, which \
                     this function may not put back",
                    alarm.name, policy.name
                )));
            }
            if alarm.definition.other_settings {
                return Err(unrecordable(format!(
                    "the alarm {} that fires its policy {} has settings this function cannot \
                     put back",
                    alarm.name, policy.name
                )));
            }
            record.alarms.push(RecordedAlarm {
                name: alarm.name,
                policy_name: policy.name.clone(),
                policy_arn: policy.arn.clone(),
            });
        }
    }
    let encoded = record.encode().map_err(|size| {
        unrecordable(format!(
            "its record is {size} bytes, more than Parameter Store's advanced tier holds \
             ({} bytes)",
            super::record::ADVANCED_TIER_LIMIT
        ))
    })?;
    Ok((record, encoded))
}

/// `arn:<partition>:autoscaling:<region>:<account>:scalingPolicy:<id>:resource/sagemaker/...`
fn is_sagemaker_scaling_policy(action: &str) -> bool {
    let mut parts = action.splitn(7, ':');
    let (arn, _partition, service) = (parts.next(), parts.next(), parts.next());
    let resource = parts.nth(2);
    let rest = parts.next().unwrap_or_default();
    arn == Some("arn")
        && service == Some("autoscaling")
        && resource == Some("scalingPolicy")
        && rest.contains(":resource/sagemaker/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sagemaker_scaling_policies_are_actions_a_restore_may_put_back() {
        let policy = "arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:0b1c:resource/sagemaker/endpoint/e/variant/v:policyName/p";
        assert!(is_sagemaker_scaling_policy(policy));
        assert!(is_sagemaker_scaling_policy(
            &policy.replace("arn:aws:", "arn:aws-cn:")
        ));
        assert!(!is_sagemaker_scaling_policy(
            "arn:aws:sns:us-east-1:123456789012:pager"
        ));
        assert!(!is_sagemaker_scaling_policy(
            "arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:0b1c:resource/ecs/service/c/s:policyName/p"
        ));
    }
}
