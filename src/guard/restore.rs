//! A restore: applying a record. The target is registered again with exactly the recorded
//! settings and tags, the policies and scheduled actions are put back, and the recorded alarms
//! are pointed at the ARNs the policies get now.
//!
//! Every step can be repeated, so a restore that stopped halfway (the deadline, an error) is
//! finished by the next event, and two at once (the guard's rollback and SageMaker's event)
//! end in the same state. The record, read again first, is marked with the restorer's id
//! before the target is registered, and deleted last. A first restore registers the target
//! with its tags, which AWS refuses for a target that exists: a target that something else
//! registered meanwhile wins, and the record goes. Only a target that a marked restore
//! registered is taken up again: registered without tags, then tagged.

use super::record::Record;
use crate::aws::{AwsError, ScalingApi};
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
    let variant = record.variant();
    let target = &record.target;
    let mut resuming = record.restoring.is_some();
    if !resuming {
        let marked = Record {
            restoring: Some(restorer.to_owned()),
            ..record.clone()
        };
        let value = marked
            .encode()
            .expect("a stored record fits where it was stored");
        let description = format!("Being restored to {}", variant.resource_id());
        api.put_record(name, &value, &description).await?;
    }
    if !resuming {
        match api
            .register_target(&variant, &target.settings, Some(&target.tags))
            .await
        {
            Ok(_) => {}
            // Refused: the target exists. Registered by another restore (whose mark is on the
            // record now), it is finished together; by anything else, that wins.
            Err(error) if !error.transient && !error.outcome_unknown => {
                let again = read(api, name).await?;
                match again.as_ref().and_then(|r| r.restoring.as_deref()) {
                    Some(other) if other != restorer => resuming = true,
                    _ if api.find_target(&variant).await?.is_some() => {
                        api.delete_record(name).await?;
                        return Ok(format!(
                            "deleted the record of {}: something else registered the variant \
                             meanwhile, and what is registered wins",
                            variant.resource_id()
                        ));
                    }
                    _ => return Err(error),
                }
            }
            Err(error) => return Err(error),
        }
    }
    if resuming {
        let arn = match api
            .register_target(&variant, &target.settings, None)
            .await?
        {
            Some(arn) => Some(arn),
            None => api.find_target(&variant).await?.and_then(|t| t.arn),
        };
        if let (Some(arn), false) = (&arn, target.tags.is_empty()) {
            api.tag_target(arn, &target.tags).await?;
        }
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
    api.delete_record(name).await?;
    info!(resource_id = %variant.resource_id(), resuming, "restored from its record");
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
pub(super) async fn read(api: &ScalingApi, name: &str) -> Result<Option<Record>, AwsError> {
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
