//! A restore: applying a record. The target is registered again with exactly the recorded
//! settings and tags, the policies and scheduled actions are put back, and the recorded alarms
//! are pointed at the ARNs the policies get now.
//!
//! Every step can be repeated, so a restore that stopped halfway (the deadline, an error) is
//! finished by the next event, and two at once (the guard's rollback and SageMaker's event)
//! end in the same state. The target itself says whose it is: a restore registers it with the
//! recorded tags and the restoring tag together, and removes that tag at the end, just before
//! the record. AWS refuses tags for a target that exists, so of two first registrations one is
//! refused; it finishes the restore too if the target carries the restoring tag, and deletes
//! the record if it does not (something else registered the variant, and that wins). A
//! restore never writes the record.

use super::record::Record;
use crate::aws::{AwsError, ScalingApi};
use crate::contract::RESTORING_TAG;
use crate::target::ScalableResource;
use std::collections::BTreeMap;
use tracing::info;

/// Restores the record named `name` and deletes it; answers what it did, for the summary.
pub(super) async fn restore(
    api: &ScalingApi,
    name: &str,
    restorer: &str,
) -> Result<String, AwsError> {
    let Some(record) = read(api, name).await? else {
        return Ok(format!(
            "the record {name} was restored or deleted meanwhile"
        ));
    };
    let variant = ScalableResource::from(record.variant());
    let target = &record.target;
    let mut tags = target.tags.clone();
    tags.insert(RESTORING_TAG.to_owned(), restorer.to_owned());
    let existing = api.find_target(&variant).await?;
    let arn = match existing {
        None => match api
            .register_target(&variant, &target.settings, Some(&tags))
            .await
        {
            Ok(arn) => arn,
            // Refused: registered meanwhile.
            Err(error) if !error.transient && !error.outcome_unknown => None,
            Err(error) => return Err(error),
        },
        Some(found) => found.arn,
    };
    let arn = match arn {
        Some(arn) => arn,
        None => api
            .find_target(&variant)
            .await?
            .and_then(|t| t.arn)
            .unwrap_or_default(),
    };
    if arn.is_empty() || !api.target_tags(&arn).await?.contains_key(RESTORING_TAG) {
        api.delete_record(name).await?;
        return Ok(format!(
            "deleted the record of {}: something else registered the variant, and what is \
             registered wins",
            variant.resource_id()
        ));
    }
    // A restore's own target, registered now or by a restore that stopped: as recorded.
    api.register_target(&variant, &target.settings, None)
        .await?;
    if !target.tags.is_empty() {
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
    let notes = repoint_alarms(api, &record, &arns).await?;
    api.untag_target(&arn, &[RESTORING_TAG.to_owned()]).await?;
    api.delete_record(name).await?;
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

/// The record as Parameter Store holds it now; `None` when it is gone (or unreadable).
async fn read(api: &ScalingApi, name: &str) -> Result<Option<Record>, AwsError> {
    Ok(api
        .record(name)
        .await?
        .and_then(|r| Record::decode(&r.value)))
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
