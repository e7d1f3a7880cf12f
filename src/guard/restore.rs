//! A restore: applying a record. The target is registered again with exactly the recorded
//! settings and tags, the policies and scheduled actions are put back, and the recorded alarms
//! are pointed at the ARNs the policies get now.

use super::record::Record;
use crate::aws::{AwsError, ScalingApi};
use std::collections::BTreeMap;
use tracing::info;

/// Restores the record and deletes it; answers what it did, for the summary.
pub(super) async fn restore(api: &ScalingApi, record: &Record) -> Result<String, AwsError> {
    let variant = record.variant();
    let target = &record.target;
    api.register_target(&variant, &target.settings, Some(&target.tags))
        .await?;
    let puts = record.policies.iter().map(|spec| async {
        let arn = api.put_policy(&variant, spec).await?;
        Ok::<_, AwsError>((spec.name.clone(), arn))
    });
    let actions = record
        .scheduled_actions
        .iter()
        .map(|action| api.put_scheduled_action(&variant, action));
    let (arns, _) = tokio::try_join!(
        futures_util::future::try_join_all(puts),
        futures_util::future::try_join_all(actions)
    )?;
    let arns: BTreeMap<String, String> = arns.into_iter().collect();

    let mut notes = Vec::new();
    let names: Vec<String> = record.alarms.iter().map(|a| a.name.clone()).collect();
    let alarms = match names.is_empty() {
        true => Vec::new(),
        false => api.find_alarms(&names).await?,
    };
    for recorded in &record.alarms {
        let Some(alarm) = alarms.iter().find(|a| a.name == recorded.name) else {
            notes.push(format!("the alarm {} is gone", recorded.name));
            continue;
        };
        let Some(new_arn) = arns.get(&recorded.policy_name) else {
            continue;
        };
        if alarm.definition.other_settings {
            notes.push(format!(
                "the alarm {} was changed since and is left as it is",
                alarm.name
            ));
            continue;
        }
        let mut definition = alarm.definition.clone();
        let mut changed = false;
        for action in &mut definition.alarm_actions {
            if *action == recorded.policy_arn && action != new_arn {
                *action = new_arn.clone();
                changed = true;
            }
        }
        if changed {
            api.put_alarm(&alarm.name, &definition, None).await?;
        }
    }
    api.delete_record(&record.parameter_name()).await?;
    info!(resource_id = %variant.resource_id(), "restored from its record");
    let mut summary = format!(
        "restored the auto scaling of {} from its record ({} policies, {} scheduled actions, {} alarms)",
        variant.resource_id(),
        record.policies.len(),
        record.scheduled_actions.len(),
        record.alarms.len()
    );
    if !notes.is_empty() {
        summary = format!("{summary}; {}", notes.join("; "));
    }
    Ok(summary)
}
