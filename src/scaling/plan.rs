//! The decisions, as pure functions of what was asked and what AWS holds: whose each object is,
//! whether it may be written, and what an operation puts, tags and removes. The async code in
//! the parent module only gathers the inputs ([`Observed`]) and carries the plans out, so every
//! rule here is tested without AWS.
//!
//! Ownership: the scalable target and the alarm carry this resource's ownership tags (stack id
//! and logical id). An object AWS would silently replace is written only when it is absent,
//! carries this resource's tags, or `AdoptExisting` says to take it over; objects under the
//! target (policies, scheduled actions) belong to whoever owns the target.

use crate::aws::{AlarmDefinition, TargetSettings};
use crate::contract::{
    OWNER_RESOURCE_TAG, OWNER_STACK_TAG, STEP_POLICY_NAME, TAG_PREFIX, Tags, VariantId, alarm,
    default_alarm_name, legacy_alarm_name,
};
use crate::properties::{ScalingProperties, ScheduledAction};

/// The CloudFormation resource on whose behalf the function acts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owner {
    pub stack_id: String,
    pub logical_resource_id: String,
}

impl Owner {
    /// The tags that mark an object as this resource's.
    pub fn tags(&self) -> Tags {
        Tags::from([
            (OWNER_STACK_TAG.to_owned(), self.stack_id.clone()),
            (
                OWNER_RESOURCE_TAG.to_owned(),
                self.logical_resource_id.clone(),
            ),
        ])
    }

    fn describe(&self) -> String {
        format!(
            "resource {} of stack {}",
            self.logical_resource_id, self.stack_id
        )
    }
}

/// Whose an object is, as its ownership tags say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ownership {
    /// Tagged as this very resource's.
    Ours,
    /// Tagged as another CloudFormation resource's (another stack, or another logical id).
    Other(Owner),
    /// No ownership tags: made by hand, by another tool, or before this resource tagged it.
    Untagged,
    /// The tags could not be read; why.
    Unknown(String),
}

impl Ownership {
    /// Reads an object's tags.
    pub fn from_tags(tags: &Tags, owner: &Owner) -> Self {
        match (tags.get(OWNER_STACK_TAG), tags.get(OWNER_RESOURCE_TAG)) {
            (Some(stack), Some(resource))
                if *stack == owner.stack_id && *resource == owner.logical_resource_id =>
            {
                Ownership::Ours
            }
            (None, None) => Ownership::Untagged,
            (stack, resource) => Ownership::Other(Owner {
                stack_id: stack.cloned().unwrap_or_default(),
                logical_resource_id: resource.cloned().unwrap_or_default(),
            }),
        }
    }
}

/// A registered scalable target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FoundTarget {
    pub arn: String,
    /// Its capacity and suspended state, when AWS showed them.
    pub settings: Option<TargetSettings>,
    pub ownership: Ownership,
    /// Its tags, when they could be read.
    pub tags: Option<Tags>,
}

/// An alarm that exists under a name this resource uses.
#[derive(Clone, Debug, PartialEq)]
pub struct FoundAlarm {
    pub name: String,
    pub arn: String,
    pub definition: AlarmDefinition,
    pub ownership: Ownership,
    /// Its tags, when they could be read.
    pub tags: Option<Tags>,
}

impl FoundAlarm {
    /// What it watches, for a Reason: namespace, metric and dimensions.
    fn watches(&self) -> String {
        let definition = &self.definition;
        describe_metric(
            &definition.namespace,
            &definition.metric_name,
            &definition.dimensions,
        )
    }

    /// Whether it fires this variant's step policy: then this resource put it (under this
    /// name, or an earlier default), even if it carries no ownership tags yet.
    fn fires_step_policy_of(&self, variant: &VariantId) -> bool {
        let suffix = format!(
            ":resource/sagemaker/{}:policyName/{STEP_POLICY_NAME}",
            variant.resource_id()
        );
        let actions = &self.definition.alarm_actions;
        actions.iter().any(|arn| arn.ends_with(&suffix))
    }

    /// This alarm may be removed when `variant`'s scaling goes: it fires the variant's step
    /// policy and no other resource claims it. An alarm that now serves another variant, or
    /// that another stack took over, stays.
    fn removable_with(&self, variant: &VariantId) -> bool {
        self.fires_step_policy_of(variant) && !matches!(self.ownership, Ownership::Other(_))
    }
}

/// What AWS holds for a variant: its target, and the alarms under the names this resource uses.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Observed {
    pub target: Option<FoundTarget>,
    pub alarms: Vec<FoundAlarm>,
}

impl Observed {
    fn alarm(&self, name: &str) -> Option<&FoundAlarm> {
        self.alarms.iter().find(|a| a.name == name)
    }
}

/// Why a request was refused before anything was changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The object that is not this resource's to write.
    pub object: Refused,
    pub reason: String,
}

/// The kinds of object a request can be refused over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    Target,
    Alarm,
}

/// Tags to set and tags to remove on an object that already exists (AWS takes tags with the
/// request that creates an object, and only then).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TagChanges {
    pub set: Tags,
    pub remove: Vec<String>,
}

impl TagChanges {
    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.remove.is_empty()
    }
}

/// How the scalable target is written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetWrite {
    /// Nothing is registered: register it, with these tags (this resource's and the user's).
    Create {
        settings: TargetSettings,
        tags: Tags,
    },
    /// Registered already: register it again when its settings differ (`None`: they are as
    /// asked), and change its tags through the tagging API.
    Update {
        arn: String,
        settings: Option<TargetSettings>,
        tags: TagChanges,
    },
}

/// How the alarm is written.
#[derive(Clone, Debug, PartialEq)]
pub enum AlarmWrite {
    Create {
        name: String,
        tags: Tags,
    },
    Update {
        name: String,
        arn: String,
        /// Its definition now: put again only when it differs from the one asked for.
        current: Box<AlarmDefinition>,
        tags: TagChanges,
    },
}

impl AlarmWrite {
    pub fn name(&self) -> &str {
        match self {
            AlarmWrite::Create { name, .. } | AlarmWrite::Update { name, .. } => name,
        }
    }

    /// Whether PutMetricAlarm is needed for the alarm to have the `desired` definition. Only
    /// known once the step policy is put: the alarm's action is that policy's ARN.
    pub fn needs_put(&self, desired: &AlarmDefinition) -> bool {
        match self {
            AlarmWrite::Create { .. } => true,
            AlarmWrite::Update { current, .. } => **current != *desired,
        }
    }
}

/// What the variant's scalable target is registered with.
pub fn target_settings(desired: &ScalingProperties) -> TargetSettings {
    TargetSettings {
        min_capacity: desired.min_capacity,
        max_capacity: desired.max_capacity,
        suspended: desired.suspended_state,
    }
}

/// The alarm that fires the step policy: the endpoint has requests waiting and no instance
/// (the design's HasBacklogWithoutCapacity metric, averaged per minute, at least 1).
pub fn alarm_definition(
    desired: &ScalingProperties,
    owner: &Owner,
    step_policy_arn: &str,
) -> AlarmDefinition {
    let description = format!(
        "Adds an instance to {} ({STEP_POLICY_NAME}) when requests wait and none runs. \
         Managed by CloudFormation resource {} of stack {}.",
        desired.resource_id(),
        owner.logical_resource_id,
        owner.stack_id
    );
    AlarmDefinition {
        // CloudWatch's limit is 1024 characters.
        description: description.chars().take(1024).collect(),
        namespace: alarm::NAMESPACE.to_owned(),
        metric_name: alarm::METRIC_NAME.to_owned(),
        dimensions: vec![(alarm::DIMENSION.to_owned(), desired.endpoint_name.clone())],
        statistic: alarm::STATISTIC.to_owned(),
        period: alarm::PERIOD_SECONDS,
        evaluation_periods: desired.alarm_evaluation_periods,
        datapoints_to_alarm: desired.alarm_evaluation_periods,
        threshold: alarm::THRESHOLD,
        comparison_operator: alarm::COMPARISON_OPERATOR.to_owned(),
        treat_missing_data: alarm::TREAT_MISSING_DATA.to_owned(),
        alarm_actions: vec![step_policy_arn.to_owned()],
        other_settings: false,
    }
}

/// Everything a Create or an Update does, in the order it is carried out: the target first,
/// then what hangs on it, then the alarm (which needs the step policy's ARN), then removals.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigurePlan {
    pub target: TargetWrite,
    pub remove_policies: Vec<&'static str>,
    /// Scheduled actions to put, each deleted first when its name is in `recreate_schedules`.
    pub put_schedules: Vec<ScheduledAction>,
    /// Actions whose update leaves out a setting the old one had (a time zone, a capacity
    /// bound): PutScheduledAction would keep it, so they are deleted and put again.
    pub recreate_schedules: Vec<String>,
    /// Scheduled actions the previous properties had and these do not.
    pub remove_schedules: Vec<String>,
    /// The alarm to put, with ScaleFromZero.
    pub alarm: Option<AlarmWrite>,
    /// Alarms this resource put under names it no longer uses.
    pub remove_alarms: Vec<String>,
    /// What was decided beyond the properties, for the log and the answer.
    pub notes: Vec<String>,
}

/// What a creating call's outcome says about the object it was to create.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Made {
    /// This request made it: AWS registered the target with this request's tags (it refuses
    /// tags for a target that exists), or the alarm this request put carries its tags.
    Yes,
    /// Not this request: AWS refused the creating call (a target that had appeared meanwhile,
    /// or nothing was created), or the alarm it put carries another resource's ownership tags
    /// (that resource created it first).
    No,
    /// No telling: the call got no answer, a server error, or was stopped by a panic or the
    /// deadline before it had one. It may have taken effect.
    Unknown,
}

/// What a request set out to create from nothing, and how each creating call ended: what a
/// failure of the request may remove.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Created {
    /// The variant whose target this request registers (its policies and scheduled actions go
    /// with it).
    pub target: Option<(VariantId, Made)>,
    /// The alarm this request puts under a name that was free.
    pub alarm: Option<(String, Made)>,
}

impl Created {
    /// What it set out to create, for a Reason: the variant, or only its alarm.
    pub fn describe(&self) -> String {
        match (&self.target, &self.alarm) {
            (Some((variant, _)), _) => variant.resource_id(),
            (None, Some((alarm, _))) => format!("the alarm {alarm}"),
            (None, None) => "nothing".to_owned(),
        }
    }

    /// What must be read again before it is removed: the objects whose creating call has an
    /// unknown outcome.
    pub fn to_verify(&self) -> (Option<&VariantId>, Vec<String>) {
        let target = match &self.target {
            Some((variant, Made::Unknown)) => Some(variant),
            _ => None,
        };
        let alarms = match &self.alarm {
            Some((name, Made::Unknown)) => vec![name.clone()],
            _ => Vec::new(),
        };
        (target, alarms)
    }
}

/// What a request is, as far as ownership goes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Intent<'a> {
    /// A Create, or an Update to another variant: the variant is not known to be this
    /// resource's.
    Configure,
    /// An Update of the variant this resource configured, with its previous properties when
    /// they can still be read.
    Reconfigure {
        previous: Option<&'a ScalingProperties>,
    },
}

impl<'a> Intent<'a> {
    /// The properties an Update replaces, when known.
    pub fn previous(self) -> Option<&'a ScalingProperties> {
        match self {
            Intent::Reconfigure { previous } => previous,
            Intent::Configure => None,
        }
    }
}

/// The alarm names a Create or Update must look at: the one it puts, the one it stops using,
/// and the per-endpoint name this resource's first release used by default.
pub fn alarm_names_to_observe(
    desired: &ScalingProperties,
    previous: Option<&ScalingProperties>,
) -> Vec<String> {
    let mut names = Vec::new();
    if desired.scale_from_zero {
        names.push(desired.alarm_name.clone());
    }
    if let Some(previous) = previous.filter(|p| p.scale_from_zero) {
        names.push(previous.alarm_name.clone());
    }
    names.push(legacy_alarm_name(&desired.variant()));
    names.sort();
    names.dedup();
    names
}

/// Plans a Create or an Update: refuses to write over what another owner holds, decides how
/// each object is written and tagged, and what the previous properties had that goes.
pub fn plan_configure(
    desired: &ScalingProperties,
    intent: Intent<'_>,
    owner: &Owner,
    observed: &Observed,
) -> Result<ConfigurePlan, Refusal> {
    let variant = desired.variant();
    let previous = intent.previous();
    let mut notes = Vec::new();

    let desired_tags = || {
        let mut tags = desired.tags.clone();
        tags.extend(owner.tags());
        tags
    };
    let previous_tags = previous.map(|p| &p.tags);

    let target = match &observed.target {
        None => TargetWrite::Create {
            settings: target_settings(desired),
            tags: desired_tags(),
        },
        Some(found) => {
            let claim = claim_target(&variant, found, intent, desired.adopt_existing)?;
            if let Some(note) = claim.note() {
                notes.push(note);
            }
            let settings = target_settings(desired);
            TargetWrite::Update {
                arn: found.arn.clone(),
                settings: (found.settings != Some(settings)).then_some(settings),
                tags: claim.tag_changes(owner, &desired.tags, previous_tags, found.tags.as_ref()),
            }
        }
    };

    let alarm = match desired.scale_from_zero {
        false => None,
        true => {
            let name = desired.alarm_name.clone();
            Some(match observed.alarm(&name) {
                None => AlarmWrite::Create {
                    name,
                    tags: desired_tags(),
                },
                Some(found) => {
                    let claim = claim_alarm(&variant, found, desired.adopt_existing)?;
                    if let Some(note) = claim.note() {
                        notes.push(note);
                    }
                    let tags =
                        claim.tag_changes(owner, &desired.tags, previous_tags, found.tags.as_ref());
                    AlarmWrite::Update {
                        name,
                        arn: found.arn.clone(),
                        current: Box::new(found.definition.clone()),
                        tags,
                    }
                }
            })
        }
    };

    let mut remove_policies = Vec::new();
    let mut recreate_schedules = Vec::new();
    let mut remove_schedules = Vec::new();
    if let Some(previous) = previous {
        if previous.target_metric != desired.target_metric {
            remove_policies.push(previous.target_metric.policy_name());
        }
        if previous.scale_from_zero && !desired.scale_from_zero {
            remove_policies.push(STEP_POLICY_NAME);
        }
        for old in &previous.scheduled_actions {
            match desired
                .scheduled_actions
                .iter()
                .find(|a| a.name == old.name)
            {
                None => remove_schedules.push(old.name.clone()),
                Some(new) if new.drops_settings_of(old) => {
                    recreate_schedules.push(old.name.clone())
                }
                Some(_) => {}
            }
        }
    }

    // Alarms this resource put under a name it no longer uses: the previous AlarmName, and the
    // first release's per-endpoint default. Each goes only while it is this variant's.
    let kept = alarm.as_ref().map(AlarmWrite::name);
    let remove_alarms = observed
        .alarms
        .iter()
        .filter(|a| Some(a.name.as_str()) != kept && a.removable_with(&variant))
        .map(|a| a.name.clone())
        .collect();

    Ok(ConfigurePlan {
        target,
        remove_policies,
        put_schedules: desired.scheduled_actions.clone(),
        recreate_schedules,
        remove_schedules,
        alarm,
        remove_alarms,
        notes,
    })
}

/// Why this resource may write an object that exists already.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Claim {
    /// Its tags say it is this resource's.
    Tagged,
    /// Untagged but plainly this resource's (configured before it tagged this object): it is
    /// tagged now.
    Untagged(String),
    /// Its tags cannot be read, but it is plainly this resource's: left untagged.
    Unreadable(String),
    /// Taken over on purpose, with `AdoptExisting`: this resource's tags replace the owner's.
    Adopted(String),
}

impl Claim {
    fn note(&self) -> Option<String> {
        match self {
            Claim::Tagged => None,
            Claim::Untagged(note) | Claim::Unreadable(note) | Claim::Adopted(note) => {
                Some(note.clone())
            }
        }
    }

    /// What to tag and untag on an object this resource writes over: its ownership tags when
    /// it was untagged or adopted, the user's tags where they differ from what it carries (all
    /// of them when its tags are unknown), and the user's tags that the previous properties had
    /// and these do not. This resource's own tags are never removed.
    fn tag_changes(
        &self,
        owner: &Owner,
        desired: &Tags,
        previous: Option<&Tags>,
        current: Option<&Tags>,
    ) -> TagChanges {
        let mut wanted = desired.clone();
        if matches!(self, Claim::Untagged(_) | Claim::Adopted(_)) {
            wanted.extend(owner.tags());
        }
        let differs = |(key, value): &(String, String)| {
            current.is_none_or(|current| current.get(key) != Some(value))
        };
        let set = wanted.into_iter().filter(differs).collect();
        let remove = previous
            .into_iter()
            .flat_map(Tags::keys)
            .filter(|key| !desired.contains_key(*key) && !key.starts_with(TAG_PREFIX))
            .filter(|key| current.is_none_or(|current| current.contains_key(*key)))
            .cloned()
            .collect();
        TagChanges { set, remove }
    }
}

fn claim_target(
    variant: &VariantId,
    found: &FoundTarget,
    intent: Intent<'_>,
    adopt_existing: bool,
) -> Result<Claim, Refusal> {
    let resource_id = variant.resource_id();
    let reconfigure = matches!(intent, Intent::Reconfigure { .. });
    let refusal = match &found.ownership {
        Ownership::Ours => return Ok(Claim::Tagged),
        // CloudFormation says this resource configured it: a target registered or adopted
        // before this resource tagged what it manages.
        Ownership::Untagged if reconfigure => {
            return Ok(Claim::Untagged(format!(
                "tagged the scalable target of {resource_id} as this resource's"
            )));
        }
        Ownership::Unknown(why) if reconfigure => {
            return Ok(Claim::Unreadable(format!(
                "could not read the tags of the scalable target of {resource_id} ({why}); \
                 updated it as this resource's"
            )));
        }
        _ if adopt_existing => {
            return Ok(Claim::Adopted(format!(
                "took over the scalable target of {resource_id} (AdoptExisting)"
            )));
        }
        Ownership::Other(other) => format!(
            "A scalable target is already registered for {resource_id} and {} manages it: \
             refusing to take it over.",
            other.describe()
        ),
        Ownership::Untagged => format!(
            "A scalable target is already registered for {resource_id} and this resource did \
             not register it: refusing to take over a scaling setup that something else \
             manages."
        ),
        Ownership::Unknown(why) => format!(
            "A scalable target is already registered for {resource_id} and whose it is is \
             unknown, because its tags could not be read ({why}): refusing to take it over."
        ),
    };
    Err(Refusal {
        object: Refused::Target,
        reason: format!(
            "{refusal} Deregister it first, or set AdoptExisting to true to manage it from \
             this stack."
        ),
    })
}

fn claim_alarm(
    variant: &VariantId,
    found: &FoundAlarm,
    adopt_existing: bool,
) -> Result<Claim, Refusal> {
    let name = &found.name;
    let fires_this_variant = found.fires_step_policy_of(variant);
    let refusal = match &found.ownership {
        Ownership::Ours => return Ok(Claim::Tagged),
        Ownership::Untagged if fires_this_variant => {
            return Ok(Claim::Untagged(format!(
                "tagged the alarm {name}, which fires this variant's step policy, as this \
                 resource's"
            )));
        }
        Ownership::Unknown(why) if fires_this_variant => {
            return Ok(Claim::Unreadable(format!(
                "could not read the tags of the alarm {name} ({why}); it fires this variant's \
                 step policy, so it was updated as this resource's"
            )));
        }
        _ if adopt_existing => {
            return Ok(Claim::Adopted(format!(
                "took over the alarm {name} (AdoptExisting)"
            )));
        }
        Ownership::Other(other) => format!(
            "An alarm named {name} already exists and {} manages it (it watches {}).",
            other.describe(),
            found.watches()
        ),
        Ownership::Untagged => format!(
            "An alarm named {name} already exists and this resource did not create it (it \
             watches {}).",
            found.watches()
        ),
        Ownership::Unknown(why) => format!(
            "An alarm named {name} already exists (it watches {}) and whose it is is unknown, \
             because its tags could not be read ({why}).",
            found.watches()
        ),
    };
    Err(Refusal {
        object: Refused::Alarm,
        reason: format!(
            "{refusal} Refusing to replace it: set AlarmName to another name, or set \
             AdoptExisting to true to manage it from this stack."
        ),
    })
}

/// What a Delete removes, and what it leaves to another owner.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeletePlan {
    /// The variant whose target is deregistered; `None` when another resource manages it.
    /// Deregistering deletes the target's scaling policies and scheduled actions with it (AWS:
    /// DeregisterScalableTarget), so they need no calls of their own.
    pub target: Option<VariantId>,
    pub alarms: Vec<String>,
    /// What stays, and why: for the answer's Reason.
    pub left: Vec<String>,
}

/// The alarm names a Delete looks at: the one the properties name (leniently read: a Delete
/// must not fail over properties that no longer validate) and the first release's default.
pub fn alarm_names_to_delete(variant: &VariantId, alarm_name: Option<&str>) -> Vec<String> {
    let mut names = vec![
        alarm_name
            .map(str::to_owned)
            .unwrap_or_else(|| default_alarm_name(variant)),
        legacy_alarm_name(variant),
    ];
    names.dedup();
    names
}

/// Plans a Delete: whatever another resource now manages stays. An object whose ownership
/// cannot be read is removed (a stack must stay deletable); an alarm only while it still fires
/// this variant's step policy.
pub fn plan_delete(variant: &VariantId, observed: &Observed) -> DeletePlan {
    let mut plan = DeletePlan::default();
    match &observed.target {
        Some(FoundTarget {
            ownership: Ownership::Other(other),
            ..
        }) => plan.left.push(format!(
            "the scalable target of {} (and its policies), which {} now manages",
            variant.resource_id(),
            other.describe()
        )),
        Some(_) => plan.target = Some(variant.clone()),
        None => {}
    }
    for found in &observed.alarms {
        if found.removable_with(variant) {
            plan.alarms.push(found.name.clone());
        } else if let Ownership::Other(other) = &found.ownership {
            plan.left.push(format!(
                "the alarm {}, which {} now manages",
                found.name,
                other.describe()
            ));
        }
    }
    plan
}

/// What a failed request removes of what it set out to create: what it made, and what it may
/// have made (an unknown outcome) while `observed` shows it with this resource's tags. What
/// AWS refused to create was made by someone else and stays; so does what may have been made
/// but does not carry this resource's tags, which `left` names.
pub fn plan_rollback(created: &Created, observed: &Observed) -> DeletePlan {
    let mut left = Vec::new();
    // Whether to remove one object, given how its creating call ended and whose it is now
    // (`None`: not there).
    let mut remove = |made: Made, found: Option<&Ownership>, what: String| {
        let whose = match (made, found) {
            (Made::Yes, _) | (Made::Unknown, Some(Ownership::Ours)) => return true,
            // Refused, or never carried out: nothing of this request's to remove.
            (Made::No, _) | (Made::Unknown, None) => return false,
            (Made::Unknown, Some(Ownership::Other(other))) => {
                format!("which {} manages", other.describe())
            }
            (Made::Unknown, Some(Ownership::Untagged)) => {
                "which carries no ownership tags".to_owned()
            }
            (Made::Unknown, Some(Ownership::Unknown(why))) => {
                format!("whose tags could not be read ({why})")
            }
        };
        left.push(format!("{what}, {whose}"));
        false
    };
    let target = created.target.as_ref().filter(|(variant, made)| {
        let found = observed.target.as_ref().map(|f| &f.ownership);
        let what = format!("the scalable target of {}", variant.resource_id());
        remove(*made, found, what)
    });
    let alarm = created.alarm.as_ref().filter(|(name, made)| {
        let found = observed.alarm(name).map(|f| &f.ownership);
        remove(*made, found, format!("the alarm {name}"))
    });
    DeletePlan {
        target: target.map(|(variant, _)| variant.clone()),
        alarms: alarm.map(|(name, _)| name.clone()).into_iter().collect(),
        left,
    }
}

/// Describes an alarm's metric for a Reason: `AWS/SageMaker Invocation5XXErrors
/// (EndpointName=esd)`.
pub fn describe_metric(namespace: &str, metric: &str, dimensions: &[(String, String)]) -> String {
    let dimensions: Vec<String> = dimensions.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut text = format!("{namespace} {metric}");
    if !dimensions.is_empty() {
        text.push_str(&format!(" ({})", dimensions.join(", ")));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const STACK: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/a/1";

    fn owner() -> Owner {
        Owner {
            stack_id: STACK.into(),
            logical_resource_id: "Scaling".into(),
        }
    }

    fn other_owner() -> Owner {
        Owner {
            stack_id: "arn:aws:cloudformation:us-east-1:123456789012:stack/b/2".into(),
            logical_resource_id: "Scaling".into(),
        }
    }

    fn props(extra: serde_json::Value) -> ScalingProperties {
        let mut properties = json!({"EndpointName": "esd", "VariantName": "prod"});
        for (k, v) in extra.as_object().unwrap() {
            properties[k] = v.clone();
        }
        ScalingProperties::parse(&properties).unwrap()
    }

    fn variant() -> VariantId {
        VariantId::new("esd", "prod")
    }

    fn target(ownership: Ownership) -> FoundTarget {
        FoundTarget {
            arn: "arn:aws:application-autoscaling:us-east-1:123456789012:scalable-target/0f".into(),
            settings: None,
            tags: match &ownership {
                Ownership::Ours => Some(owner().tags()),
                Ownership::Other(other) => Some(other.tags()),
                Ownership::Untagged => Some(Tags::new()),
                Ownership::Unknown(_) => None,
            },
            ownership,
        }
    }

    fn step_policy_of(variant: &str) -> String {
        format!(
            "arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:0f:resource/sagemaker/\
             endpoint/esd/variant/{variant}:policyName/HasBacklogWithoutCapacity-ScalingPolicy"
        )
    }

    fn alarm(name: &str, ownership: Ownership, actions: &[String]) -> FoundAlarm {
        FoundAlarm {
            name: name.into(),
            arn: format!("arn:aws:cloudwatch:us-east-1:123456789012:alarm:{name}"),
            definition: AlarmDefinition {
                description: String::new(),
                namespace: "AWS/SageMaker".into(),
                metric_name: "Invocation5XXErrors".into(),
                dimensions: vec![("EndpointName".into(), "esd".into())],
                statistic: "Sum".into(),
                period: 60,
                evaluation_periods: 1,
                datapoints_to_alarm: 1,
                threshold: 1.0,
                comparison_operator: "GreaterThanThreshold".into(),
                treat_missing_data: "notBreaching".into(),
                alarm_actions: actions.to_vec(),
                other_settings: false,
            },
            tags: None,
            ownership,
        }
    }

    const ALARM: &str = "esd-prod-HasBacklogWithoutCapacity";
    const LEGACY_ALARM: &str = "esd-HasBacklogWithoutCapacity";

    fn configure(
        desired: &ScalingProperties,
        observed: &Observed,
    ) -> Result<ConfigurePlan, Refusal> {
        plan_configure(desired, Intent::Configure, &owner(), observed)
    }

    fn reconfigure(
        desired: &ScalingProperties,
        previous: &ScalingProperties,
        observed: &Observed,
    ) -> Result<ConfigurePlan, Refusal> {
        let intent = Intent::Reconfigure {
            previous: Some(previous),
        };
        plan_configure(desired, intent, &owner(), observed)
    }

    fn refusal(result: Result<ConfigurePlan, Refusal>) -> String {
        result.expect_err("a refusal").reason
    }

    #[test]
    fn ownership_is_read_from_both_tags() {
        assert_eq!(
            Ownership::from_tags(&owner().tags(), &owner()),
            Ownership::Ours
        );
        assert_eq!(
            Ownership::from_tags(&other_owner().tags(), &owner()),
            Ownership::Other(other_owner())
        );
        let mut half = owner().tags();
        half.remove(OWNER_RESOURCE_TAG);
        assert!(matches!(
            Ownership::from_tags(&half, &owner()),
            Ownership::Other(_)
        ));
        let users = Tags::from([("team".into(), "ml".into())]);
        assert_eq!(Ownership::from_tags(&users, &owner()), Ownership::Untagged);
    }

    #[test]
    fn a_create_on_nothing_creates_both_with_ownership_tags() {
        let plan = configure(&props(json!({})), &Observed::default()).unwrap();
        assert_eq!(
            plan.target,
            TargetWrite::Create {
                settings: target_settings(&props(json!({}))),
                tags: owner().tags()
            }
        );
        assert_eq!(
            plan.alarm,
            Some(AlarmWrite::Create {
                name: ALARM.into(),
                tags: owner().tags(),
            })
        );
        assert!(plan.remove_policies.is_empty() && plan.remove_alarms.is_empty());
        assert!(plan.notes.is_empty());
    }

    #[test]
    fn a_repeated_create_reuses_its_own_objects() {
        let observed = Observed {
            target: Some(target(Ownership::Ours)),
            alarms: vec![alarm(ALARM, Ownership::Ours, &[step_policy_of("prod")])],
        };
        let plan = configure(&props(json!({})), &observed).unwrap();
        assert!(matches!(plan.target, TargetWrite::Update { ref tags, .. } if tags.is_empty()));
        assert!(matches!(plan.alarm, Some(AlarmWrite::Update { ref tags, .. }) if tags.is_empty()));
    }

    #[test]
    fn a_target_registered_by_something_else_is_refused_naming_adopt_existing() {
        let observed = Observed {
            target: Some(target(Ownership::Untagged)),
            ..Observed::default()
        };
        let reason = refusal(configure(&props(json!({})), &observed));
        assert!(reason.contains("already registered for endpoint/esd/variant/prod"));
        assert!(reason.contains("this resource did not register it"));
        assert!(reason.contains("AdoptExisting"));
    }

    #[test]
    fn a_target_another_stack_manages_is_refused_naming_that_stack() {
        let observed = Observed {
            target: Some(target(Ownership::Other(other_owner()))),
            ..Observed::default()
        };
        let reason = refusal(configure(&props(json!({})), &observed));
        assert!(reason.contains("resource Scaling of stack arn:aws:cloudformation:us-east-1:123456789012:stack/b/2 manages it"));
        assert!(reason.contains("AdoptExisting"));
    }

    #[test]
    fn a_target_whose_tags_cannot_be_read_is_still_a_take_over_refusal() {
        let why = "ListTagsForResource failed: AccessDeniedException: not authorized";
        let observed = Observed {
            target: Some(target(Ownership::Unknown(why.into()))),
            ..Observed::default()
        };
        let reason = refusal(configure(&props(json!({})), &observed));
        assert!(reason.contains("already registered for endpoint/esd/variant/prod"));
        assert!(reason.contains(&format!("its tags could not be read ({why})")));
        assert!(reason.contains("AdoptExisting"));
    }

    #[test]
    fn adopt_existing_takes_a_target_over_and_tags_it() {
        for ownership in [
            Ownership::Untagged,
            Ownership::Other(other_owner()),
            Ownership::Unknown("denied".into()),
        ] {
            let found = target(ownership);
            let observed = Observed {
                target: Some(found.clone()),
                ..Observed::default()
            };
            let plan = configure(&props(json!({"AdoptExisting": "true"})), &observed).unwrap();
            let TargetWrite::Update { tags, .. } = &plan.target else {
                panic!("{:?}", plan.target);
            };
            let mut after = found.tags.unwrap_or_default();
            after.extend(tags.set.clone());
            assert_eq!(
                Ownership::from_tags(&after, &owner()),
                Ownership::Ours,
                "the newest owner's tags win"
            );
            assert!(
                plan.notes
                    .iter()
                    .any(|n| n.contains("took over the scalable target"))
            );
        }
    }

    #[test]
    fn an_update_of_its_own_untagged_target_tags_it_and_an_unreadable_one_is_updated() {
        let previous = props(json!({}));
        let observed = Observed {
            target: Some(target(Ownership::Untagged)),
            ..Observed::default()
        };
        let plan = reconfigure(&previous, &previous, &observed).unwrap();
        assert!(
            matches!(&plan.target, TargetWrite::Update { tags, .. } if tags.set == owner().tags())
        );

        let observed = Observed {
            target: Some(target(Ownership::Unknown("denied".into()))),
            ..Observed::default()
        };
        let plan = reconfigure(&previous, &previous, &observed).unwrap();
        assert!(matches!(&plan.target, TargetWrite::Update { tags, .. } if tags.is_empty()));
    }

    #[test]
    fn an_update_of_a_target_another_stack_took_over_is_refused() {
        let previous = props(json!({}));
        let observed = Observed {
            target: Some(target(Ownership::Other(other_owner()))),
            ..Observed::default()
        };
        let reason = refusal(reconfigure(&previous, &previous, &observed));
        assert!(reason.contains("stack/b/2 manages it"));
    }

    #[test]
    fn a_users_alarm_of_the_same_name_is_refused_naming_what_it_watches() {
        let desired = props(json!({"AlarmName": "pager"}));
        let observed = Observed {
            alarms: vec![alarm(
                "pager",
                Ownership::Untagged,
                &["arn:aws:sns:x".into()],
            )],
            ..Observed::default()
        };
        let reason = refusal(configure(&desired, &observed));
        assert!(reason.contains("An alarm named pager already exists"));
        assert!(reason.contains("it watches AWS/SageMaker Invocation5XXErrors (EndpointName=esd)"));
        assert!(reason.contains("AlarmName") && reason.contains("AdoptExisting"));
    }

    #[test]
    fn an_alarm_another_stack_manages_is_refused_even_when_it_fires_this_variant() {
        let observed = Observed {
            alarms: vec![alarm(
                ALARM,
                Ownership::Other(other_owner()),
                &[step_policy_of("prod")],
            )],
            ..Observed::default()
        };
        let reason = refusal(configure(&props(json!({})), &observed));
        assert!(reason.contains("stack/b/2 manages it"));
    }

    #[test]
    fn adopt_existing_takes_over_an_alarm_and_tags_it() {
        let desired = props(json!({"AlarmName": "pager", "AdoptExisting": "true"}));
        let observed = Observed {
            alarms: vec![alarm("pager", Ownership::Untagged, &[])],
            ..Observed::default()
        };
        let plan = configure(&desired, &observed).unwrap();
        let Some(AlarmWrite::Update { tags, .. }) = &plan.alarm else {
            panic!("{:?}", plan.alarm);
        };
        assert_eq!(tags.set, owner().tags());
        assert!(
            plan.notes
                .iter()
                .any(|n| n.contains("took over the alarm pager"))
        );
    }

    #[test]
    fn an_untagged_alarm_that_fires_this_variant_is_this_resources_and_gets_tagged() {
        let observed = Observed {
            alarms: vec![alarm(ALARM, Ownership::Untagged, &[step_policy_of("prod")])],
            ..Observed::default()
        };
        let plan = configure(&props(json!({})), &observed).unwrap();
        assert!(
            matches!(&plan.alarm, Some(AlarmWrite::Update { tags, .. }) if tags.set == owner().tags())
        );

        let observed = Observed {
            alarms: vec![alarm(
                ALARM,
                Ownership::Unknown("denied".into()),
                &[step_policy_of("prod")],
            )],
            ..Observed::default()
        };
        let plan = configure(&props(json!({})), &observed).unwrap();
        assert!(matches!(&plan.alarm, Some(AlarmWrite::Update { tags, .. }) if tags.is_empty()));
    }

    #[test]
    fn an_untagged_alarm_that_fires_another_variant_is_not_this_resources() {
        let observed = Observed {
            alarms: vec![alarm(ALARM, Ownership::Untagged, &[step_policy_of("blue")])],
            ..Observed::default()
        };
        assert!(refusal(configure(&props(json!({})), &observed)).contains("did not create it"));
    }

    #[test]
    fn an_update_that_changes_nothing_removes_nothing() {
        let same = props(json!({}));
        let observed = Observed {
            target: Some(target(Ownership::Ours)),
            alarms: vec![alarm(ALARM, Ownership::Ours, &[step_policy_of("prod")])],
        };
        let plan = reconfigure(&same, &same, &observed).unwrap();
        assert!(plan.remove_policies.is_empty() && plan.remove_alarms.is_empty());
    }

    #[test]
    fn switching_the_metric_removes_the_old_target_tracking_policy() {
        let previous = props(json!({}));
        let desired = props(json!({"TargetMetric": "ApproximateBacklogSizePerInstance"}));
        let plan = reconfigure(&desired, &previous, &Observed::default()).unwrap();
        assert_eq!(plan.remove_policies, ["CPUUtil-ScalingPolicy"]);
    }

    #[test]
    fn scale_from_zero_off_removes_the_step_policy_and_its_alarm() {
        let previous = props(json!({}));
        let desired = props(json!({"ScaleFromZero": "false"}));
        let observed = Observed {
            target: Some(target(Ownership::Ours)),
            alarms: vec![alarm(ALARM, Ownership::Ours, &[step_policy_of("prod")])],
        };
        let plan = reconfigure(&desired, &previous, &observed).unwrap();
        assert_eq!(
            plan.remove_policies,
            ["HasBacklogWithoutCapacity-ScalingPolicy"]
        );
        assert_eq!(plan.alarm, None);
        assert_eq!(plan.remove_alarms, [ALARM]);
    }

    #[test]
    fn scale_from_zero_on_removes_nothing_and_checks_the_alarm_name_is_free() {
        let previous = props(json!({"ScaleFromZero": "false"}));
        let desired = props(json!({}));
        let plan = reconfigure(&desired, &previous, &Observed::default()).unwrap();
        assert!(plan.remove_policies.is_empty());
        assert!(matches!(plan.alarm, Some(AlarmWrite::Create { .. })));
        assert_eq!(
            alarm_names_to_observe(&desired, Some(&previous)),
            [LEGACY_ALARM, ALARM]
        );
    }

    #[test]
    fn a_renamed_alarm_removes_the_old_one_unless_another_stack_took_it() {
        let previous = props(json!({}));
        let desired = props(json!({"AlarmName": "wake-up"}));
        assert_eq!(
            alarm_names_to_observe(&desired, Some(&previous)),
            [LEGACY_ALARM, ALARM, "wake-up"]
        );
        let old = alarm(ALARM, Ownership::Ours, &[step_policy_of("prod")]);
        let observed = Observed {
            alarms: vec![old.clone()],
            ..Observed::default()
        };
        let plan = reconfigure(&desired, &previous, &observed).unwrap();
        assert_eq!(plan.remove_alarms, [ALARM]);
        assert!(plan.remove_policies.is_empty());

        let taken = FoundAlarm {
            ownership: Ownership::Other(other_owner()),
            ..old
        };
        let observed = Observed {
            alarms: vec![taken],
            ..Observed::default()
        };
        let plan = reconfigure(&desired, &previous, &observed).unwrap();
        assert!(plan.remove_alarms.is_empty());
    }

    #[test]
    fn the_first_releases_per_endpoint_alarm_goes_only_while_it_fires_this_variant() {
        let ours = alarm(LEGACY_ALARM, Ownership::Untagged, &[step_policy_of("prod")]);
        let observed = Observed {
            alarms: vec![ours],
            ..Observed::default()
        };
        let plan = configure(&props(json!({})), &observed).unwrap();
        assert_eq!(plan.remove_alarms, [LEGACY_ALARM]);

        let blues = alarm(LEGACY_ALARM, Ownership::Untagged, &[step_policy_of("blue")]);
        let observed = Observed {
            alarms: vec![blues],
            ..Observed::default()
        };
        let plan = configure(&props(json!({})), &observed).unwrap();
        assert!(plan.remove_alarms.is_empty());
    }

    #[test]
    fn a_variant_rename_keeps_an_explicit_alarm_name_for_the_new_variant() {
        // The new variant takes over the alarm name the old one used: its tags are this
        // resource's, and it is pointed at the new variant's step policy.
        let desired = props(json!({"VariantName": "blue", "AlarmName": "wake-up"}));
        let observed = Observed {
            alarms: vec![alarm("wake-up", Ownership::Ours, &[step_policy_of("prod")])],
            ..Observed::default()
        };
        let plan = configure(&desired, &observed).unwrap();
        assert!(matches!(plan.alarm, Some(AlarmWrite::Update { .. })));
        // And the old variant's Delete then leaves it, since it fires the new variant.
        let observed = Observed {
            alarms: vec![alarm("wake-up", Ownership::Ours, &[step_policy_of("blue")])],
            ..Observed::default()
        };
        assert!(plan_delete(&variant(), &observed).alarms.is_empty());
    }

    #[test]
    fn delete_removes_what_is_this_resources_or_unclaimed() {
        for ownership in [
            Ownership::Ours,
            Ownership::Untagged,
            Ownership::Unknown("denied".into()),
        ] {
            let observed = Observed {
                target: Some(target(ownership.clone())),
                alarms: vec![alarm(ALARM, ownership, &[step_policy_of("prod")])],
            };
            let plan = plan_delete(&variant(), &observed);
            assert_eq!(plan.target, Some(variant()));
            assert_eq!(plan.alarms, [ALARM]);
            assert!(plan.left.is_empty());
        }
    }

    #[test]
    fn delete_leaves_what_another_stack_took_over_and_says_so() {
        let observed = Observed {
            target: Some(target(Ownership::Other(other_owner()))),
            alarms: vec![alarm(
                ALARM,
                Ownership::Other(other_owner()),
                &[step_policy_of("prod")],
            )],
        };
        let plan = plan_delete(&variant(), &observed);
        assert_eq!(plan.target, None);
        assert!(plan.alarms.is_empty());
        assert_eq!(plan.left.len(), 2);
        assert!(plan.left[0].contains("scalable target of endpoint/esd/variant/prod"));
        assert!(plan.left[1].contains(&format!("alarm {ALARM}")));
        assert!(plan.left.iter().all(|l| l.contains("stack/b/2")));
    }

    #[test]
    fn delete_leaves_an_alarm_that_is_not_this_variants() {
        let observed = Observed {
            alarms: vec![
                alarm(ALARM, Ownership::Untagged, &["arn:aws:sns:pager".into()]),
                alarm(LEGACY_ALARM, Ownership::Untagged, &[step_policy_of("blue")]),
            ],
            ..Observed::default()
        };
        let plan = plan_delete(&variant(), &observed);
        assert!(plan.alarms.is_empty() && plan.left.is_empty());
    }

    #[test]
    fn delete_looks_at_the_named_alarm_and_the_first_releases_default() {
        assert_eq!(
            alarm_names_to_delete(&variant(), None),
            [ALARM, LEGACY_ALARM]
        );
        assert_eq!(
            alarm_names_to_delete(&variant(), Some("wake-up")),
            ["wake-up", LEGACY_ALARM]
        );
        assert_eq!(
            alarm_names_to_delete(&variant(), Some(LEGACY_ALARM)),
            [LEGACY_ALARM]
        );
    }

    #[test]
    fn a_rollback_removes_what_the_request_made_and_never_what_aws_refused_to_create() {
        let made = |target, alarm| Created {
            target: Some((variant(), target)),
            alarm: Some((ALARM.into(), alarm)),
        };
        let nothing_read = Observed::default();

        let both = plan_rollback(&made(Made::Yes, Made::Yes), &nothing_read);
        assert_eq!(both.target, Some(variant()));
        assert_eq!(both.alarms, [ALARM]);

        // The target appeared between the read and the registration: someone else's.
        let refused = plan_rollback(&made(Made::No, Made::No), &nothing_read);
        assert_eq!(refused, DeletePlan::default());

        let alarm_only = plan_rollback(
            &Created {
                target: None,
                alarm: Some((ALARM.into(), Made::Yes)),
            },
            &nothing_read,
        );
        assert_eq!(alarm_only.target, None);
        assert_eq!(alarm_only.alarms, [ALARM]);
    }

    #[test]
    fn an_unknown_outcome_is_rolled_back_only_while_it_carries_this_resources_tags() {
        let unknown = Created {
            target: Some((variant(), Made::Unknown)),
            alarm: Some((ALARM.into(), Made::Unknown)),
        };
        assert_eq!(
            unknown.to_verify(),
            (Some(&variant()), vec![ALARM.to_owned()])
        );
        let ours = Observed {
            target: Some(target(Ownership::Ours)),
            alarms: vec![alarm(ALARM, Ownership::Ours, &[step_policy_of("prod")])],
        };
        let plan = plan_rollback(&unknown, &ours);
        assert_eq!(plan.target, Some(variant()));
        assert_eq!(plan.alarms, [ALARM]);
        assert!(plan.left.is_empty());

        // The call never took effect: nothing to remove, nothing to say.
        let plan = plan_rollback(&unknown, &Observed::default());
        assert_eq!(plan, DeletePlan::default());

        // Another stack's by now, or of unknown ownership: left alone.
        for ownership in [
            Ownership::Other(other_owner()),
            Ownership::Untagged,
            Ownership::Unknown("denied".into()),
        ] {
            let theirs = Observed {
                target: Some(target(ownership.clone())),
                alarms: vec![alarm(ALARM, ownership.clone(), &[step_policy_of("prod")])],
            };
            let plan = plan_rollback(&unknown, &theirs);
            assert_eq!((plan.target, plan.alarms), (None, vec![]));
            let why = match ownership {
                Ownership::Other(_) => {
                    "which resource Scaling of stack arn:aws:cloudformation:us-east-1:123456789012:stack/b/2 manages"
                }
                Ownership::Untagged => "which carries no ownership tags",
                _ => "whose tags could not be read (denied)",
            };
            assert_eq!(
                plan.left,
                [
                    format!("the scalable target of endpoint/esd/variant/prod, {why}"),
                    format!("the alarm {ALARM}, {why}"),
                ]
            );
        }
    }

    #[test]
    fn an_alarms_metric_reads_as_namespace_name_and_dimensions() {
        let dimensions = [("EndpointName".to_owned(), "esd".to_owned())];
        assert_eq!(
            describe_metric("AWS/SageMaker", "Invocation5XXErrors", &dimensions),
            "AWS/SageMaker Invocation5XXErrors (EndpointName=esd)"
        );
        assert_eq!(describe_metric("A", "m", &[]), "A m");
    }

    fn tags(pairs: &[(&str, &str)]) -> Tags {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn with_tags(mut owned: Tags, pairs: &[(&str, &str)]) -> Tags {
        owned.extend(tags(pairs));
        owned
    }

    #[test]
    fn a_create_tags_both_objects_with_the_users_tags_and_its_own() {
        let desired = props(json!({"Tags": [{"Key": "team", "Value": "ml"}]}));
        let plan = configure(&desired, &Observed::default()).unwrap();
        let expected = with_tags(owner().tags(), &[("team", "ml")]);
        assert_eq!(
            plan.target,
            TargetWrite::Create {
                settings: target_settings(&desired),
                tags: expected.clone()
            }
        );
        assert!(matches!(&plan.alarm, Some(AlarmWrite::Create { tags, .. }) if *tags == expected));
    }

    #[test]
    fn an_update_sets_changed_tags_and_removes_dropped_ones_but_never_its_own() {
        let previous =
            props(json!({"Tags": [{"Key": "team", "Value": "ml"}, {"Key": "old", "Value": "x"}]}));
        let desired = props(
            json!({"Tags": [{"Key": "team", "Value": "search"}, {"Key": "new", "Value": "y"}]}),
        );
        let current = with_tags(
            owner().tags(),
            &[("team", "ml"), ("old", "x"), ("by-hand", "z")],
        );
        let observed = Observed {
            target: Some(FoundTarget {
                tags: Some(current.clone()),
                ..target(Ownership::Ours)
            }),
            alarms: vec![FoundAlarm {
                tags: Some(current),
                ..alarm(ALARM, Ownership::Ours, &[step_policy_of("prod")])
            }],
        };
        let plan = reconfigure(&desired, &previous, &observed).unwrap();
        let expected = TagChanges {
            set: tags(&[("team", "search"), ("new", "y")]),
            remove: vec!["old".into()],
        };
        assert!(matches!(&plan.target, TargetWrite::Update { tags, .. } if *tags == expected));
        assert!(matches!(&plan.alarm, Some(AlarmWrite::Update { tags, .. }) if *tags == expected));
    }

    #[test]
    fn tags_that_cannot_be_read_are_all_set_again() {
        let desired = props(json!({"Tags": [{"Key": "team", "Value": "ml"}]}));
        let observed = Observed {
            target: Some(target(Ownership::Unknown("denied".into()))),
            ..Observed::default()
        };
        let plan = reconfigure(&desired, &desired, &observed).unwrap();
        let TargetWrite::Update { tags, .. } = &plan.target else {
            panic!("{:?}", plan.target);
        };
        assert_eq!(tags.set, self::tags(&[("team", "ml")]));
        assert!(tags.remove.is_empty());
    }

    #[test]
    fn an_adopted_target_gets_this_resources_tags_and_the_users() {
        let desired =
            props(json!({"AdoptExisting": true, "Tags": [{"Key": "team", "Value": "ml"}]}));
        let observed = Observed {
            target: Some(FoundTarget {
                tags: Some(tags(&[("team", "ml"), ("theirs", "1")])),
                ..target(Ownership::Untagged)
            }),
            ..Observed::default()
        };
        let plan = configure(&desired, &observed).unwrap();
        let TargetWrite::Update { tags, .. } = &plan.target else {
            panic!("{:?}", plan.target);
        };
        assert_eq!(tags.set, owner().tags(), "the user's tag is already there");
        assert!(
            tags.remove.is_empty(),
            "nothing of the previous owner's is removed"
        );
    }

    fn schedule(name: &str, extra: serde_json::Value) -> serde_json::Value {
        let mut action = json!({"ScheduledActionName": name, "Schedule": "cron(0 20 ? * MON-FRI *)", "MinCapacity": 0});
        for (k, v) in extra.as_object().unwrap() {
            action[k] = v.clone();
        }
        action
    }

    #[test]
    fn scheduled_actions_are_put_and_the_dropped_ones_removed() {
        let previous = props(json!({"ScheduledActions": [
            schedule("night", json!({})), schedule("lunch", json!({}))
        ]}));
        let desired = props(json!({"ScheduledActions": [
            schedule("night", json!({"MaxCapacity": 0})), schedule("weekend", json!({}))
        ]}));
        let plan = reconfigure(&desired, &previous, &Observed::default()).unwrap();
        let names: Vec<_> = plan.put_schedules.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["night", "weekend"]);
        assert_eq!(plan.remove_schedules, ["lunch"]);
        assert!(
            plan.recreate_schedules.is_empty(),
            "adding a setting needs no recreation"
        );
    }

    #[test]
    fn a_scheduled_action_that_drops_a_setting_is_recreated() {
        let previous = props(json!({"ScheduledActions": [
            schedule("night", json!({"Timezone": "Europe/Berlin", "MaxCapacity": 0}))
        ]}));
        for dropped in [
            json!({"MaxCapacity": 0}),
            json!({"Timezone": "Europe/Berlin"}),
        ] {
            let desired = props(json!({"ScheduledActions": [schedule("night", dropped)]}));
            let plan = reconfigure(&desired, &previous, &Observed::default()).unwrap();
            assert_eq!(plan.recreate_schedules, ["night"]);
            assert!(plan.remove_schedules.is_empty());
        }
    }

    #[test]
    fn an_update_registers_the_target_again_only_when_its_settings_differ() {
        let desired = props(json!({"MinCapacity": 1, "MaxCapacity": 4}));
        let settings_of = |observed_settings| {
            let observed = Observed {
                target: Some(FoundTarget {
                    settings: observed_settings,
                    ..target(Ownership::Ours)
                }),
                ..Observed::default()
            };
            match reconfigure(&desired, &desired, &observed).unwrap().target {
                TargetWrite::Update { settings, .. } => settings,
                other => panic!("{other:?}"),
            }
        };
        let asked = target_settings(&desired);
        assert_eq!(
            settings_of(Some(asked)),
            None,
            "as asked: not registered again"
        );
        let drifted = TargetSettings {
            max_capacity: 9,
            ..asked
        };
        assert_eq!(settings_of(Some(drifted)), Some(asked));
        let suspended = TargetSettings {
            suspended: crate::properties::SuspendedState {
                scheduled_scaling: true,
                ..asked.suspended
            },
            ..asked
        };
        assert_eq!(settings_of(Some(suspended)), Some(asked));
        assert_eq!(
            settings_of(None),
            Some(asked),
            "unknown settings are written"
        );
    }

    #[test]
    fn an_alarm_is_put_again_only_when_its_definition_differs() {
        let desired = props(json!({}));
        let step = step_policy_of("prod");
        let asked = alarm_definition(&desired, &owner(), &step);
        let update = |current: AlarmDefinition| AlarmWrite::Update {
            name: ALARM.into(),
            arn: String::new(),
            current: Box::new(current),
            tags: TagChanges::default(),
        };
        assert!(!update(asked.clone()).needs_put(&asked));
        let changes: [fn(&mut AlarmDefinition); 7] = [
            |d| d.threshold = 2.0,
            |d| d.evaluation_periods = 3,
            |d| d.alarm_actions = vec![step_policy_of("blue")],
            |d| d.description.push('!'),
            |d| d.treat_missing_data = "breaching".into(),
            |d| d.dimensions.clear(),
            |d| d.other_settings = true,
        ];
        for change in changes {
            let mut current = asked.clone();
            change(&mut current);
            assert!(update(current).needs_put(&asked));
        }
        let create = AlarmWrite::Create {
            name: ALARM.into(),
            tags: Tags::new(),
        };
        assert!(create.needs_put(&asked));
    }

    #[test]
    fn the_alarm_watches_the_endpoints_backlog_without_capacity_and_fires_the_step_policy() {
        let desired = props(json!({"AlarmEvaluationPeriods": 3}));
        let step = step_policy_of("prod");
        let definition = alarm_definition(&desired, &owner(), &step);
        assert_eq!(
            describe_metric(
                &definition.namespace,
                &definition.metric_name,
                &definition.dimensions
            ),
            "AWS/SageMaker HasBacklogWithoutCapacity (EndpointName=esd)"
        );
        assert_eq!(
            (definition.statistic.as_str(), definition.period),
            ("Average", 60)
        );
        assert_eq!(
            (
                definition.evaluation_periods,
                definition.datapoints_to_alarm
            ),
            (3, 3)
        );
        assert_eq!(definition.threshold, 1.0);
        assert_eq!(
            definition.comparison_operator,
            "GreaterThanOrEqualToThreshold"
        );
        assert_eq!(definition.treat_missing_data, "missing");
        assert_eq!(definition.alarm_actions, [step]);
        assert!(
            definition
                .description
                .contains("Managed by CloudFormation resource Scaling")
        );
        assert!(definition.description.contains(STACK));
    }
}
