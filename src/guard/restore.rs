//! A restore: applying a record. The target is registered again with exactly the recorded
//! settings and tags, the policies and scheduled actions are put back, and the recorded alarms
//! are pointed at the ARNs the policies get now.
//!
//! Every step can be repeated, so a restore that stopped halfway (the deadline, an error) is
//! finished by the next event, and two at once (the guard's rollback and SageMaker's event)
//! both end in the same state: the record is marked `restoring` first, the target is
//! registered without tags (AWS refuses tags for a target that exists) and tagged after, and
//! the record goes last.

use super::record::Record;
use crate::aws::{AwsError, ScalingApi};
use std::collections::BTreeMap;
use tracing::info;

/// Restores the record and deletes it; answers what it did, for the summary.
pub(super) async fn restore(api: &ScalingApi, record: &Record) -> Result<String, AwsError> {
    let variant = record.variant();
    if !record.restoring {
        let marked = Record {
            restoring: true,
            ..record.clone()
        };
        let value = marked
            .encode()
            .expect("a stored record fits where it was stored");
        let description = format!("Being restored to {}", variant.resource_id());
        api.put_record(&record.parameter_name(), &value, &description)
            .await?;
    }
    let target = &record.target;
    let arn = match api
        .register_target(&variant, &target.settings, None)
        .await?
    {
        Some(arn) => arn,
        None => {
            let registered = api.find_target(&variant).await?;
            registered.and_then(|t| t.arn).unwrap_or_default()
        }
    };
    if !target.tags.is_empty() && !arn.is_empty() {
        api.tag_target(&arn, &target.tags).await?;
    }
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
    let notes = repoint_alarms(api, record, &arns).await?;
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

/// Points each recorded alarm at the new ARNs of the policies it fired: one put per alarm,
/// whatever number of the target's policies it fires. Answers what it left alone, and why.
async fn repoint_alarms(
    api: &ScalingApi,
    record: &Record,
    new_arns: &BTreeMap<String, String>,
) -> Result<Vec<String>, AwsError> {
    let mut replacements: BTreeMap<&str, Vec<(&str, &str)>> = BTreeMap::new();
    for alarm in &record.alarms {
        if let Some(new_arn) = new_arns.get(&alarm.policy_name) {
            let of_alarm = replacements.entry(alarm.name.as_str()).or_default();
            of_alarm.push((alarm.policy_arn.as_str(), new_arn.as_str()));
        }
    }
    if replacements.is_empty() {
        return Ok(Vec::new());
    }
    let names: Vec<String> = replacements.keys().map(|n| n.to_string()).collect();
    let alarms = api.find_alarms(&names).await?;
    let mut notes = Vec::new();
    for (name, swaps) in replacements {
        let Some(alarm) = alarms.iter().find(|a| a.name == name) else {
            notes.push(format!("the alarm {name} is gone"));
            continue;
        };
        if alarm.definition.other_settings {
            notes.push(format!(
                "the alarm {name} was changed since and is left as it is"
            ));
            continue;
        }
        let mut definition = alarm.definition.clone();
        for action in &mut definition.alarm_actions {
            if let Some((_, new_arn)) = swaps.iter().find(|(old, _)| old == action) {
                *action = new_arn.to_string();
            }
        }
        if definition != alarm.definition {
            api.put_alarm(name, &definition, None).await?;
        }
    }
    Ok(notes)
}
