//! Taking a record: reading everything that deregistering a variant's target would remove.

use super::GuardFailure;
use super::plan::Affected;
use super::record::{Encoded, Record, RecordedAlarm, RecordedTarget};
use crate::aws::{Endpoint, RegisteredTarget, ScalingApi};
use crate::contract::Tags;
use crate::policy::PolicyKind;

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
) -> Result<(Record, Encoded), GuardFailure> {
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
    let (policies, scheduled_actions) =
        tokio::try_join!(api.policies(variant), api.scheduled_actions(variant))?;
    let mut record = Record::new(
        variant,
        affected.instance_type.clone(),
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
