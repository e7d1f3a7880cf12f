//! The scaling logic: what Create, Update and Delete do to one endpoint variant's auto scaling.
//!
//! Each operation reads what AWS holds ([`observe`]), asks [`plan`] what to do, and carries the
//! plan out through the seam in [`crate::aws`], the independent calls of each stage at once.
//! It knows nothing of CloudFormation's wire format.

pub mod plan;
pub mod rollback;

pub use plan::Owner;

use crate::aws::{AlarmDefinition, AwsError, ScalingApi};
use crate::contract::{Tags, VariantId, data};
use crate::properties::ScalingProperties;
use futures_util::future::try_join_all;
use plan::{
    AlarmWrite, ConfigurePlan, DeletePlan, FoundAlarm, FoundTarget, Intent, Made, Observed,
    Ownership, Refusal, Refused, TargetWrite,
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
        Failure(refusal.reason)
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
    let observed = observe(api, Some(&variant), &alarm_names, owner).await?;
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

/// Removes what a failed request made, as its rollback record says, reading again first what
/// it may have made; answers what was done, for the Reason.
pub async fn remove_created(
    api: &ScalingApi,
    created: &plan::Created,
    owner: &Owner,
) -> Result<String, Failure> {
    let (target, alarms) = created.to_verify();
    let observed = match (target, alarms.is_empty()) {
        (None, true) => Observed::default(),
        _ => observe(api, target, &alarms, owner).await?,
    };
    let plan = plan::plan_rollback(created, &observed);
    remove(api, &plan).await?;
    let removed = match (&plan.target, plan.alarms.as_slice()) {
        (Some(variant), _) => Some(variant.resource_id()),
        (None, [alarm, ..]) => Some(format!("the alarm {alarm}")),
        (None, []) => None,
    };
    let mut outcome = match removed {
        Some(what) => format!("Removed what this request had set up for {what}."),
        None => format!(
            "Nothing to remove: what this request tried to create for {} is not there or not \
             its own.",
            created.describe()
        ),
    };
    if !plan.left.is_empty() {
        outcome = format!("{outcome} Left {}.", plan.left.join("; and "));
    }
    Ok(outcome)
}

/// Reads what AWS holds for the variant (when given) and under the alarm names: one round trip
/// for the target and the alarms, one for their tags. Tags that cannot be read leave the
/// ownership unknown, for the plan to weigh; that is not an error.
async fn observe(
    api: &ScalingApi,
    variant: Option<&VariantId>,
    alarm_names: &[String],
    owner: &Owner,
) -> Result<Observed, Failure> {
    let target = async {
        match variant {
            Some(variant) => api.find_target(variant).await,
            None => Ok(None),
        }
    };
    let alarms = async {
        match alarm_names {
            [] => Ok(Vec::new()),
            names => api.find_alarms(names).await,
        }
    };
    let (target, alarms) = tokio::try_join!(target, alarms)?;
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

/// How often a request observes and plans again after another writer got between its read
/// and its write: once for the target and once for the alarm, each of which can race only
/// while it is being created.
const REPLANS: usize = 2;

/// Create and Update: observe, plan, and carry the plan out. When another request creates the
/// target or the alarm between this request's read and its write, it observes again and plans
/// again: with its own objects (a copy of this request) it carries on as an Update; with
/// another owner's it is refused as it would have been had it read them in the first place.
///
/// Only a request that configures a variant it does not manage yet (`Intent::Configure`)
/// keeps a rollback record: a failed Update is rolled back by CloudFormation's own Update with
/// the old properties, which removes what the new ones added.
async fn configure(
    api: &ScalingApi,
    props: &ScalingProperties,
    intent: Intent<'_>,
    owner: &Owner,
    rollback: &Rollback,
) -> Result<Configured, Failure> {
    let variant = props.variant();
    let rollback = matches!(intent, Intent::Configure).then_some(rollback);
    let alarm_names = plan::alarm_names_to_observe(props, intent.previous());
    let mut observed = observe(api, Some(&variant), &alarm_names, owner).await?;
    let (mut replans, mut notes, mut last_race) = (0, Vec::new(), None);
    loop {
        let plan = plan::plan_configure(props, intent, owner, &observed)
            .map_err(|refusal| refused_after(refusal, last_race.as_ref()))?;
        for note in &plan.notes {
            info!(resource_id = %variant.resource_id(), "{note}");
        }
        let race = match apply(api, props, owner, &plan, rollback).await {
            Ok(mut configured) => {
                if !notes.is_empty() {
                    configured.summary = format!("{}; {}", configured.summary, notes.join("; "));
                }
                return Ok(configured);
            }
            Err(Interrupted::Failed(failure)) => return Err(failure),
            Err(Interrupted::Raced(race)) => race,
        };
        let again = replans < REPLANS;
        replans += 1;
        info!(
            resource_id = %variant.resource_id(),
            race = %race.describe(),
            again,
            "another writer got between the read and the write"
        );
        if !again {
            return Err(race.into_failure());
        }
        observed = match observe(api, Some(&variant), &alarm_names, owner).await {
            Ok(observed) => observed,
            Err(failure) => return Err(race.failure_or(failure)),
        };
        if let Race::Target(error) = &race {
            let Some(found) = &observed.target else {
                // Still not registered: the registration failed for its own reasons.
                return Err(error.clone().into());
            };
            // AWS refused the registration and the target carries this resource's tags: a
            // copy of this request registered it.
            if !error.outcome_unknown && found.ownership == Ownership::Ours {
                record(rollback, |r| r.stand_down(&variant));
                notes.push(
                    "found the scalable target registered by another copy of this request and \
                     carried on as an Update"
                        .to_owned(),
                );
            }
        }
        last_race = Some(race);
    }
}

/// Writes to the rollback record, when the request keeps one.
fn record(rollback: Option<&Rollback>, write: impl FnOnce(&Rollback)) {
    if let Some(rollback) = rollback {
        write(rollback);
    }
}

/// A refusal when planning again, with what a race may have done to the alarm first.
fn refused_after(refusal: Refusal, race: Option<&Race>) -> Failure {
    match (refusal.object, race) {
        (Refused::Alarm, Some(Race::AlarmTakenAtPut(_))) => Failure(format!(
            "{} It was created at the same moment as this request put it, so this request's \
             definition may have replaced its owner's until the owner's next Update.",
            refusal.reason
        )),
        _ => refusal.into(),
    }
}

/// Why applying a plan stopped.
enum Interrupted {
    Failed(Failure),
    /// Another writer got between this request's read and its write: observe and plan again.
    Raced(Race),
}

impl From<AwsError> for Interrupted {
    fn from(error: AwsError) -> Self {
        Interrupted::Failed(error.into())
    }
}

impl From<Failure> for Interrupted {
    fn from(failure: Failure) -> Self {
        Interrupted::Failed(failure)
    }
}

/// What another writer may have created between this request's read and its write.
enum Race {
    /// Registering a target that was not registered failed: perhaps it is now.
    Target(AwsError),
    /// An alarm appeared under the name that was free, before this request's put.
    AlarmAppeared(String),
    /// The alarm this request put under a free name carries another resource's tags: that
    /// resource created it first, and this request's put replaced its definition.
    AlarmTakenAtPut(String),
}

impl Race {
    fn describe(&self) -> String {
        match self {
            Race::Target(error) => format!("registering the target: {error}"),
            Race::AlarmAppeared(name) => format!("the alarm {name} appeared before the put"),
            Race::AlarmTakenAtPut(name) => {
                format!("the alarm {name} turned out to be another resource's after the put")
            }
        }
    }

    /// The failure to report when there is no planning again.
    fn into_failure(self) -> Failure {
        match self {
            Race::Target(error) => error.into(),
            Race::AlarmAppeared(name) | Race::AlarmTakenAtPut(name) => Failure(format!(
                "The alarm {name} was created by another request at the same moment as this \
                 one; refusing to write over it."
            )),
        }
    }

    /// A registration's own error says more than the failure to read after it.
    fn failure_or(self, failure: Failure) -> Failure {
        match self {
            Race::Target(error) => error.into(),
            Race::AlarmAppeared(_) | Race::AlarmTakenAtPut(_) => failure,
        }
    }
}

/// Carries out a Create's or an Update's plan, stage by stage, recording each creating call in
/// the rollback record (when there is one) before it is sent and settling it when its outcome
/// is known.
async fn apply(
    api: &ScalingApi,
    props: &ScalingProperties,
    owner: &Owner,
    plan: &ConfigurePlan,
    rollback: Option<&Rollback>,
) -> Result<Configured, Interrupted> {
    let variant = props.variant();

    // The target, and the tags of what exists already.
    let target = async {
        match &plan.target {
            TargetWrite::Create { settings, tags } => {
                let settle = |made| record(rollback, |r| r.target_made(made));
                record(rollback, |r| r.creating_target(&variant));
                match api.register_target(&variant, settings, Some(tags)).await {
                    Ok(()) => {
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
                Ok(retag(api, arn, tags, Object::Alarm).await?)
            }
            _ => Ok(()),
        }
    };
    tokio::try_join!(target, alarm_tags)?;

    // What hangs on the target: the policies, the scheduled actions, and what the old
    // properties had that goes. An alarm to create under a free name is looked for again: one
    // that appeared since the first read is another request's, and is not written over.
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
    let alarm_appeared = async {
        match &plan.alarm {
            Some(AlarmWrite::Create { name, .. }) => {
                let found = api.find_alarms(std::slice::from_ref(name)).await?;
                Ok(!found.is_empty())
            }
            _ => Ok(false),
        }
    };
    let (target_tracking_arn, step_policy_arn, _, _, alarm_appeared) = tokio::try_join!(
        api.put_target_tracking_policy(props),
        step_policy,
        schedules,
        removals,
        alarm_appeared,
    )?;
    if let (true, Some(write)) = (alarm_appeared, &plan.alarm) {
        let name = write.name().to_owned();
        return Err(Interrupted::Raced(Race::AlarmAppeared(name)));
    }

    // The alarm, which fires the step policy, unless it is as asked already; alarms no longer
    // used go.
    let alarm = async {
        let (Some(write), Some(step_policy_arn)) = (&plan.alarm, &step_policy_arn) else {
            return Ok(());
        };
        let definition = plan::alarm_definition(props, owner, step_policy_arn);
        match write {
            AlarmWrite::Update { .. } if !write.needs_put(&definition) => Ok(()),
            AlarmWrite::Update { name, .. } => Ok(api.put_alarm(name, &definition, None).await?),
            AlarmWrite::Create { name, tags } => {
                let arn = alarm_arn(step_policy_arn, name);
                let alarm = NewAlarm {
                    name,
                    arn: &arn,
                    definition: &definition,
                    tags,
                };
                create_alarm(api, &alarm, owner, rollback).await
            }
        }
    };
    let old_alarms = async {
        match plan.remove_alarms.as_slice() {
            [] => Ok(()),
            names => api.delete_alarms(names).await.map_err(Interrupted::from),
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
