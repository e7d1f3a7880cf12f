//! What a Create or an Update writes: every put and every removal, decided from the desired
//! state and what AWS holds. Removals are what AWS holds (or, for scheduled actions and tags,
//! what the previous properties put) minus what is desired.

use super::ownership::{Claim, claim_alarm, claim_target};
use super::{Desired, HeldPolicies, Observed, Owner, WriteRefusal};
use crate::aws::{AlarmDefinition, ExistingPolicy, TargetSettings};
use crate::contract::{FOLLOWS_ENDPOINT_CONFIG_TAG, RESTORING_TAG, TAG_PREFIX, Tags};
use crate::policy_spec::PolicySpec;
use crate::properties::{MAX_POLICIES_PER_TARGET, ScheduledAction};

/// Tags to set and tags to remove on an object that already exists (AWS takes tags with the
/// request that creates an object, and only then).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TagChanges {
    pub set: Tags,
    pub remove: Vec<String>,
}

#[cfg(test)]
impl TagChanges {
    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.remove.is_empty()
    }
}

impl TagChanges {
    /// What to tag and untag on an object this resource writes over: its ownership tags when
    /// `with_ownership` (it was untagged or adopted), the user's tags where they differ from
    /// what it carries (all of them when its tags are unknown), and the user's tags that the
    /// previous properties had and these do not. This resource's own tags are never removed.
    pub fn to_reach(
        desired: &Tags,
        with_ownership: Option<&Owner>,
        previous: Option<&Tags>,
        current: Option<&Tags>,
    ) -> Self {
        let mut wanted = desired.clone();
        if let Some(owner) = with_ownership {
            wanted.extend(owner.tags());
        }
        let differs = |(key, value): &(String, String)| {
            current.is_none_or(|current| current.get(key) != Some(value))
        };
        let set = wanted.into_iter().filter(differs).collect();
        let remove = previous
            .into_iter()
            .flat_map(Tags::keys)
            // This resource's own tags stay, except the mark that its properties may drop.
            .filter(|key| {
                !desired.contains_key(*key)
                    && (!key.starts_with(TAG_PREFIX) || *key == FOLLOWS_ENDPOINT_CONFIG_TAG)
            })
            .filter(|key| current.is_none_or(|current| current.contains_key(*key)))
            .cloned()
            // A restore that stopped halfway left its tag: what this resource configures now
            // wins, and no restore may take the target up again.
            .chain(
                current
                    .filter(|current| current.contains_key(RESTORING_TAG))
                    .map(|_| RESTORING_TAG.to_owned()),
            )
            .collect();
        TagChanges { set, remove }
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

/// How one desired scaling policy is written.
#[derive(Clone, Debug, PartialEq)]
pub enum PolicyWrite {
    /// Not on the target, not as desired, or not read: put it.
    Put(PolicySpec),
    /// On the target as desired already: its ARN, for the alarm and the answer.
    Keep { spec: PolicySpec, arn: String },
}

#[cfg(test)]
impl PolicyWrite {
    pub fn spec(&self) -> &PolicySpec {
        match self {
            PolicyWrite::Put(spec) | PolicyWrite::Keep { spec, .. } => spec,
        }
    }
}

/// Everything a Create or an Update does, in the order it is carried out: the target first,
/// then what hangs on it, then the alarm (which needs the step policy's ARN) and what goes.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigurePlan {
    pub target: TargetWrite,
    /// Every desired policy, in order: put unless the target holds it as desired (a policy
    /// deleted or changed by hand is put back).
    pub policies: Vec<PolicyWrite>,
    /// Policies on the target that are not desired (a dropped or renamed target-tracking
    /// policy, the step policy without ScaleFromZero, one added by hand), removed once the
    /// puts went through, so that a failed put leaves them in place.
    pub remove_policies: Vec<String>,
    /// The few of them removed before the puts: those without which the target would exceed
    /// its quota of policies (a rename on a full target).
    pub remove_policies_first: Vec<String>,
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

impl ConfigurePlan {
    pub fn puts(&self) -> impl Iterator<Item = &PolicySpec> {
        self.policies.iter().filter_map(|write| match write {
            PolicyWrite::Put(spec) => Some(spec),
            PolicyWrite::Keep { .. } => None,
        })
    }
}

/// What a request is, as far as ownership goes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Intent<'a> {
    /// A Create, or an Update to another target: the target is not known to be this
    /// resource's.
    Configure,
    /// An Update of the target this resource configured, with the desired state of its
    /// previous properties when they can still be read.
    Reconfigure { previous: Option<&'a Desired> },
}

impl<'a> Intent<'a> {
    /// The desired state an Update replaces, when known.
    pub fn previous(self) -> Option<&'a Desired> {
        match self {
            Intent::Reconfigure { previous } => previous,
            Intent::Configure => None,
        }
    }

    /// Whether the policies on the target must be read: they may hold what is no longer
    /// desired on an Update, and on a take-over of someone else's target.
    pub fn reads_policies(self, desired: &Desired) -> bool {
        matches!(self, Intent::Reconfigure { .. }) || desired.adopt_existing
    }
}

/// The alarm names a Create or Update must look at: the one it puts, the one it stops using,
/// and the per-endpoint name this resource's first release used by default.
pub fn alarm_names_to_observe(desired: &Desired, previous: Option<&Desired>) -> Vec<String> {
    let mut names: Vec<String> = [Some(desired), previous]
        .into_iter()
        .flatten()
        .filter_map(|d| d.alarm.as_ref().map(|a| a.name.clone()))
        .collect();
    names.extend(desired.resource.legacy_alarm_name());
    names.sort();
    names.dedup();
    names
}

/// Plans a Create or an Update: refuses to write over what another owner holds, decides how
/// each object is written and tagged, and what AWS holds or the previous properties had that
/// goes.
pub fn plan_configure(
    desired: &Desired,
    intent: Intent<'_>,
    owner: &Owner,
    observed: &Observed,
) -> Result<ConfigurePlan, WriteRefusal> {
    let resource = &desired.resource;
    let previous = intent.previous();
    let reconfigure = matches!(intent, Intent::Reconfigure { .. });
    let mut notes = Vec::new();

    let desired_tags = || {
        let mut tags = desired.tags.clone();
        tags.extend(owner.tags());
        tags
    };
    let previous_tags = previous.map(|p| &p.tags);
    let tag_changes = |claim: &Claim, current: Option<&Tags>| {
        let with_ownership = matches!(claim, Claim::Untagged(_) | Claim::Adopted(_));
        let with_ownership = with_ownership.then_some(owner);
        TagChanges::to_reach(&desired.tags, with_ownership, previous_tags, current)
    };

    let mut target_claim = TargetClaim::Own;
    let target = match &observed.target {
        None => TargetWrite::Create {
            settings: desired.target,
            tags: desired_tags(),
        },
        Some(found) => {
            let claim = claim_target(resource, found, reconfigure, desired.adopt_existing)?;
            notes.extend(claim.note());
            target_claim = match claim {
                Claim::Tagged | Claim::Untagged(_) => TargetClaim::Own,
                Claim::Unreadable(_) => TargetClaim::OwnerUnknown,
                Claim::Adopted(_) => TargetClaim::Adopted,
            };
            TargetWrite::Update {
                arn: found.arn.clone(),
                settings: (found.settings != Some(desired.target)).then_some(desired.target),
                tags: tag_changes(&claim, found.tags.as_ref()),
            }
        }
    };

    let alarm = match &desired.alarm {
        None => None,
        Some(wanted) => Some(match observed.alarm(&wanted.name) {
            None => AlarmWrite::Create {
                name: wanted.name.clone(),
                tags: desired_tags(),
            },
            Some(found) => {
                let claim = claim_alarm(resource, found, desired.adopt_existing)?;
                notes.extend(claim.note());
                AlarmWrite::Update {
                    name: wanted.name.clone(),
                    arn: found.arn.clone(),
                    current: Box::new(found.definition.clone()),
                    tags: tag_changes(&claim, found.tags.as_ref()),
                }
            }
        }),
    };

    let policies = plan_policies(desired, previous, &observed.policies, target_claim)?;
    notes.extend(policies.note.clone());

    let mut recreate_schedules = Vec::new();
    let mut remove_schedules = Vec::new();
    for old in previous.iter().flat_map(|p| &p.schedules) {
        match desired.schedules.iter().find(|a| a.name == old.name) {
            None => remove_schedules.push(old.name.clone()),
            Some(new) if new.drops_settings_of(old) => recreate_schedules.push(old.name.clone()),
            Some(_) => {}
        }
    }

    // Alarms this resource put under a name it no longer uses: the previous AlarmName, and the
    // first release's per-endpoint default. Each goes only while it is this target's.
    let kept = alarm.as_ref().map(AlarmWrite::name);
    let remove_alarms = observed
        .alarms
        .iter()
        .filter(|a| Some(a.name.as_str()) != kept && a.removable_with(resource))
        .map(|a| a.name.clone())
        .collect();

    Ok(ConfigurePlan {
        target,
        policies: policies.writes,
        remove_policies: policies.remove,
        remove_policies_first: policies.remove_first,
        put_schedules: desired.schedules.clone(),
        recreate_schedules,
        remove_schedules,
        alarm,
        remove_alarms,
        notes,
    })
}

/// What a Create or an Update does to the target's policies.
struct PolicyPlan {
    writes: Vec<PolicyWrite>,
    /// Removed after the puts.
    remove: Vec<String>,
    /// Removed before the puts, to keep within the quota.
    remove_first: Vec<String>,
    /// Why some policies not asked for stay, for the answer.
    note: Option<String>,
}

/// How the target came to be written by this request, as far as its policies go.
#[derive(Clone, Copy, PartialEq, Eq)]
enum TargetClaim {
    /// This resource's: everything on it not asked for goes.
    Own,
    /// Its tags could not be read: it may be another stack's by now.
    OwnerUnknown,
    /// Taken over with AdoptExisting: what is on it is someone else's setup until now.
    Adopted,
}

/// How each desired policy is written, and which policies go: what the target holds minus
/// what is desired, from a target that is this resource's. From one whose owner is unknown or
/// that is being taken over, and when AWS cannot show the policies, only what the previous
/// properties had goes. Those that would take the target past its quota go first.
fn plan_policies(
    desired: &Desired,
    previous: Option<&Desired>,
    held: &HeldPolicies,
    claim: TargetClaim,
) -> Result<PolicyPlan, WriteRefusal> {
    let shown: &[ExistingPolicy] = match held {
        HeldPolicies::Read(shown) => shown,
        HeldPolicies::NotRead | HeldPolicies::Unreadable(_) => &[],
    };
    let writes = desired
        .policies
        .iter()
        .map(|spec| match shown.iter().find(|p| p.name == spec.name) {
            Some(found) if found.spec.as_ref() == Some(spec) => PolicyWrite::Keep {
                spec: spec.clone(),
                arn: found.arn.clone(),
            },
            _ => PolicyWrite::Put(spec.clone()),
        })
        .collect();
    let previously: Vec<&str> = previous
        .iter()
        .flat_map(|p| &p.policies)
        .map(|spec| spec.name.as_str())
        .collect();
    // What the target holds, as far as is known.
    let on_target: Vec<&str> = match held {
        HeldPolicies::Read(_) => shown.iter().map(|p| p.name.as_str()).collect(),
        HeldPolicies::Unreadable(_) => previously.clone(),
        HeldPolicies::NotRead => Vec::new(),
    };
    let undesired: Vec<&str> = on_target
        .iter()
        .copied()
        .filter(|name| !desired.has_policy(name))
        .collect();
    // From a target being taken over nothing goes (a same-named policy may be the previous
    // owner's); from one whose owner is unknown, only what the previous properties had.
    let known_to_be_ours = |name: &&str| match claim {
        TargetClaim::Own => true,
        TargetClaim::OwnerUnknown => previously.contains(name),
        TargetClaim::Adopted => false,
    };
    let (remove, left): (Vec<&str>, Vec<&str>) = match held {
        HeldPolicies::Unreadable(_) => (undesired, Vec::new()),
        _ => undesired.into_iter().partition(known_to_be_ours),
    };
    let note = match (held, claim) {
        (HeldPolicies::Unreadable(why), _) => Some(format!(
            "could not read the target's scaling policies ({why}); removed {}",
            match remove.is_empty() {
                true => "none".to_owned(),
                false => format!(
                    "only those the previous properties had: {}",
                    some_names(&remove)
                ),
            }
        )),
        _ if left.is_empty() => None,
        (_, TargetClaim::Adopted) => Some(format!(
            "left the policies {} on the target taken over, which these properties do not \
             name: the next Update removes them",
            some_names(&left)
        )),
        _ => Some(format!(
            "left the policies {} on the target, which these properties do not name, since \
             whose the target is could not be read",
            some_names(&left)
        )),
    };
    let added = desired
        .policies
        .iter()
        .filter(|spec| !on_target.contains(&spec.name.as_str()))
        .count();
    let excess = (on_target.len() + added).saturating_sub(MAX_POLICIES_PER_TARGET);
    if excess > remove.len() {
        // What may not be removed leaves no room: refused before any write, rather than
        // failing at a put with some of the policies changed.
        return Err(WriteRefusal::PolicyQuota {
            resource_id: desired.resource.resource_id(),
            asked: desired.policies.len(),
            kept: some_names(&left),
            kept_count: left.len(),
        });
    }
    let remove: Vec<String> = remove.into_iter().map(str::to_owned).collect();
    let (remove_first, remove) = match remove.len().min(excess) {
        0 => (Vec::new(), remove),
        n => (remove[..n].to_vec(), remove[n..].to_vec()),
    };
    Ok(PolicyPlan {
        writes,
        remove,
        remove_first,
        note,
    })
}

/// Names for a Reason, at most five of them: a long Reason is cut at its end.
fn some_names(names: &[&str]) -> String {
    const SHOWN: usize = 5;
    match names.len() {
        n if n <= SHOWN => names.join(", "),
        n => format!("{} and {} more", names[..SHOWN].join(", "), n - SHOWN),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::ExistingPolicy;
    use crate::contract::{BACKLOG_POLICY_NAME, CPU_POLICY_NAME, STEP_POLICY_NAME, Tags};
    use crate::policy_spec::PolicyKind;
    use crate::scaling::plan::fixtures::*;
    use crate::scaling::plan::*;
    use serde_json::json;

    #[test]
    fn a_create_on_nothing_creates_both_with_ownership_tags() {
        let plan = configure(&desired(json!({})), &Observed::default()).unwrap();
        assert_eq!(
            plan.target,
            TargetWrite::Create {
                settings: desired(json!({})).target,
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
            ..Observed::default()
        };
        let plan = configure(&desired(json!({})), &observed).unwrap();
        assert!(matches!(plan.target, TargetWrite::Update { ref tags, .. } if tags.is_empty()));
        assert!(matches!(plan.alarm, Some(AlarmWrite::Update { ref tags, .. }) if tags.is_empty()));
    }

    #[test]
    fn an_update_that_changes_nothing_removes_nothing() {
        let same = desired(json!({}));
        let observed = Observed {
            target: Some(target(Ownership::Ours)),
            alarms: vec![alarm(ALARM, Ownership::Ours, &[step_policy_of("prod")])],
            ..Observed::default()
        };
        let plan = reconfigure(&same, &same, &observed).unwrap();
        assert!(plan.remove_policies.is_empty() && plan.remove_alarms.is_empty());
    }

    fn policy_arn(name: &str) -> String {
        format!(
            "arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:0f:resource/sagemaker/endpoint/esd/variant/prod:policyName/{name}"
        )
    }

    /// What AWS holds on the target: the design's two policies and `more`, each with settings
    /// that are not the desired ones.
    fn holding(more: &[&str]) -> Observed {
        let names = [CPU_POLICY_NAME, STEP_POLICY_NAME]
            .into_iter()
            .chain(more.iter().copied());
        let policies = names
            .map(|name| ExistingPolicy {
                name: name.into(),
                arn: policy_arn(name),
                spec: None,
            })
            .collect();
        Observed {
            target: Some(target(Ownership::Ours)),
            policies: HeldPolicies::Read(policies),
            ..Observed::default()
        }
    }

    fn names(plan: &ConfigurePlan) -> Vec<&str> {
        plan.policies
            .iter()
            .map(|p| p.spec().name.as_str())
            .collect()
    }

    #[test]
    fn switching_the_metric_removes_the_old_target_tracking_policy() {
        let previous = desired(json!({}));
        let desired = desired(json!({"TargetMetric": "ApproximateBacklogSizePerInstance"}));
        let plan = reconfigure(&desired, &previous, &holding(&[])).unwrap();
        assert_eq!(plan.remove_policies, [CPU_POLICY_NAME]);
        assert_eq!(names(&plan), [BACKLOG_POLICY_NAME, STEP_POLICY_NAME]);
        assert_eq!(plan.puts().count(), 2);
    }

    #[test]
    fn every_policy_is_put_and_what_the_target_holds_beyond_them_is_removed() {
        let policy = |name: &str| {
            json!({"PolicyName": name, "TargetValue": 5,
                   "PredefinedMetricSpecification": {
                       "PredefinedMetricType": "SageMakerVariantConcurrentRequestsPerModelHighResolution"}})
        };
        let desired = desired(json!({"TargetTrackingPolicies": [policy("a"), policy("b2")]}));
        // `b` was renamed `b2`, `c` was dropped, and someone added `by-hand` to this target.
        let observed = holding(&["a", "b", "c", "by-hand"]);
        let plan = reconfigure(&desired, &desired, &observed).unwrap();
        assert_eq!(names(&plan), ["a", "b2", STEP_POLICY_NAME]);
        assert_eq!(plan.remove_policies, [CPU_POLICY_NAME, "b", "c", "by-hand"]);

        // Without previous properties, what AWS holds still says what goes.
        let intent = Intent::Reconfigure { previous: None };
        let plan = plan_configure(&desired, intent, &owner(), &observed).unwrap();
        assert_eq!(plan.remove_policies, [CPU_POLICY_NAME, "b", "c", "by-hand"]);
    }

    #[test]
    fn a_policy_held_as_desired_is_kept_with_its_arn_and_one_that_drifted_is_put_again() {
        let desired = desired(json!({}));
        let mut observed = holding(&[]);
        let HeldPolicies::Read(held) = &mut observed.policies else {
            unreachable!()
        };
        held[0].spec = Some(desired.policies[0].clone());
        let mut drifted = desired.policies[1].clone();
        if let PolicyKind::Step(step) = &mut drifted.kind {
            step.cooldown = 60;
        }
        held[1].spec = Some(drifted);
        let plan = reconfigure(&desired, &desired, &observed).unwrap();
        assert_eq!(
            plan.policies,
            [
                PolicyWrite::Keep {
                    spec: desired.policies[0].clone(),
                    arn: policy_arn(CPU_POLICY_NAME)
                },
                PolicyWrite::Put(desired.policies[1].clone()),
            ]
        );
        assert!(plan.remove_policies.is_empty());
    }

    #[test]
    fn without_the_targets_policies_or_its_ownership_only_what_the_previous_properties_had_goes() {
        let previous = desired(json!({}));
        let desired = desired(json!({"TargetMetric": "GPUUtilization", "ScaleFromZero": false}));
        let unreadable = Observed {
            policies: HeldPolicies::Unreadable("AccessDeniedException: no".into()),
            ..holding(&[])
        };
        let plan = reconfigure(&desired, &previous, &unreadable).unwrap();
        assert_eq!(plan.remove_policies, [CPU_POLICY_NAME, STEP_POLICY_NAME]);
        assert_eq!(plan.puts().count(), 1);
        assert!(plan.notes.iter().any(|n| {
            n.contains("could not read the target's scaling policies (AccessDeniedException: no)")
        }));

        // Tags unreadable: the target may be another stack's now, so the policies it does not
        // know it put stay.
        let unknown_owner = Observed {
            target: Some(target(Ownership::Unknown("denied".into()))),
            ..holding(&["theirs"])
        };
        let plan = reconfigure(&desired, &previous, &unknown_owner).unwrap();
        assert_eq!(plan.remove_policies, [CPU_POLICY_NAME, STEP_POLICY_NAME]);
        assert!(plan.notes.iter().any(|n| n.contains(
            "left the policies theirs on the target, which these properties do not name, since \
             whose the target is could not be read"
        )));

        // Nothing known to remove: the note says so.
        let plan = plan_configure(
            &desired,
            Intent::Reconfigure { previous: None },
            &owner(),
            &unreadable,
        )
        .unwrap();
        assert!(plan.remove_policies.is_empty());
        assert!(plan.notes.iter().any(|n| n.ends_with("; removed none")));
    }

    #[test]
    fn without_the_targets_policies_a_full_target_still_makes_room_for_a_rename() {
        let policy = |name: String| {
            json!({"PolicyName": name, "TargetValue": 5,
                   "PredefinedMetricSpecification": {
                       "PredefinedMetricType": "SageMakerVariantConcurrentRequestsPerModelHighResolution"}})
        };
        let names: Vec<String> = (0..49).map(|n| format!("p{n}")).collect();
        let mut renamed = names.clone();
        renamed[0] = "p0-renamed".into();
        let previous = desired(
            json!({"TargetTrackingPolicies": names.into_iter().map(policy).collect::<Vec<_>>()}),
        );
        let wanted = desired(
            json!({"TargetTrackingPolicies": renamed.into_iter().map(policy).collect::<Vec<_>>()}),
        );
        let unreadable = Observed {
            policies: HeldPolicies::Unreadable("denied".into()),
            ..holding(&[])
        };
        let plan = reconfigure(&wanted, &previous, &unreadable).unwrap();
        assert_eq!(plan.remove_policies_first, ["p0"]);
    }

    #[test]
    fn on_a_full_target_what_must_make_room_goes_before_the_puts_and_the_rest_after() {
        let policy = |name: String| {
            json!({"PolicyName": name, "TargetValue": 5,
                   "PredefinedMetricSpecification": {
                       "PredefinedMetricType": "SageMakerVariantConcurrentRequestsPerModelHighResolution"}})
        };
        let names: Vec<String> = (0..48).map(|n| format!("p{n}")).collect();
        let mut renamed = names.clone();
        renamed[0] = "p0-renamed".into();
        let listed = |names: &[String]| -> Vec<serde_json::Value> {
            names.iter().cloned().map(policy).collect()
        };
        let previous = desired(json!({"TargetTrackingPolicies": listed(&names)}));
        let all_renamed = desired(json!({"TargetTrackingPolicies": listed(&renamed)}));
        // 48 listed, the step policy and the design's CPU policy left from before: 50.
        let held: Vec<&str> = names.iter().map(String::as_str).collect();
        let plan = reconfigure(&all_renamed, &previous, &holding(&held)).unwrap();
        assert_eq!(plan.remove_policies_first, [CPU_POLICY_NAME]);
        assert_eq!(plan.remove_policies, ["p0"]);

        // With room, everything goes after the puts.
        let few = super::super::fixtures::desired(
            json!({"TargetTrackingPolicies": listed(&renamed[..3])}),
        );
        let plan = reconfigure(&few, &previous, &holding(&held[..3])).unwrap();
        assert!(plan.remove_policies_first.is_empty());
        assert_eq!(plan.remove_policies, [CPU_POLICY_NAME, "p0"]);
    }

    #[test]
    fn a_take_over_keeps_the_previous_owners_other_policies_and_says_the_next_update_removes_them()
    {
        let desired = desired(json!({"AdoptExisting": true}));
        assert!(Intent::Configure.reads_policies(&desired));
        let observed = Observed {
            target: Some(target(Ownership::Other(other_owner()))),
            ..holding(&["theirs"])
        };
        let plan = configure(&desired, &observed).unwrap();
        assert!(plan.remove_policies.is_empty() && plan.remove_policies_first.is_empty());
        assert!(plan.notes.iter().any(|n| n.contains(
            "left the policies theirs on the target taken over, which these properties do not \
             name: the next Update removes them"
        )));
        // Once it is this resource's, the next Update removes them.
        let observed = Observed {
            target: Some(target(Ownership::Ours)),
            ..holding(&["theirs"])
        };
        let plan = reconfigure(&desired, &desired, &observed).unwrap();
        assert_eq!(plan.remove_policies, ["theirs"]);
    }

    #[test]
    fn taking_a_variant_back_on_an_update_removes_none_of_the_other_stacks_policies() {
        let previous = desired(json!({}));
        let wanted = desired(json!({"AdoptExisting": true, "TargetMetric": "GPUUtilization"}));
        let observed = Observed {
            target: Some(target(Ownership::Other(other_owner()))),
            ..holding(&["theirs"])
        };
        let plan = reconfigure(&wanted, &previous, &observed).unwrap();
        // Not even the CPU policy the previous properties had: the other stack may have put
        // one under the same name since.
        assert!(plan.remove_policies.is_empty() && plan.remove_policies_first.is_empty());
        assert!(plan.notes.iter().any(|n| {
            n.contains("left the policies CPUUtil-ScalingPolicy, theirs on the target taken over")
        }));
    }

    #[test]
    fn a_target_too_full_of_policies_it_may_not_remove_is_refused_before_any_write() {
        let policy = |n: usize| {
            json!({"PolicyName": format!("p{n}"), "TargetValue": 5,
                   "PredefinedMetricSpecification": {
                       "PredefinedMetricType": "SageMakerVariantConcurrentRequestsPerModelHighResolution"}})
        };
        let wanted = desired(json!({"AdoptExisting": true,
            "TargetTrackingPolicies": (0..45).map(policy).collect::<Vec<_>>()}));
        let theirs: Vec<String> = (0..6).map(|n| format!("theirs-{n}")).collect();
        let theirs: Vec<&str> = theirs.iter().map(String::as_str).collect();
        let observed = Observed {
            target: Some(target(Ownership::Untagged)),
            ..holding(&theirs)
        };
        // Held: the step policy (asked for too) and 7 that stay; 45 to add: 53.
        assert_eq!(
            configure(&wanted, &observed),
            Err(WriteRefusal::PolicyQuota {
                resource_id: "endpoint/esd/variant/prod".into(),
                asked: 46,
                kept: "CPUUtil-ScalingPolicy, theirs-0, theirs-1, theirs-2, theirs-3 and 2 more"
                    .into(),
                kept_count: 7,
            })
        );
    }

    #[test]
    fn policies_are_read_on_an_update_or_a_take_over_and_only_then_removed() {
        let plain = desired(json!({}));
        let adopting = desired(json!({"AdoptExisting": true}));
        assert!(!Intent::Configure.reads_policies(&plain));
        assert!(Intent::Configure.reads_policies(&adopting));
        assert!(Intent::Reconfigure { previous: None }.reads_policies(&plain));
        // A Create that did not read them (a copy of itself made the target) removes none.
        let observed = Observed {
            policies: HeldPolicies::NotRead,
            ..holding(&[])
        };
        assert!(
            configure(&plain, &observed)
                .unwrap()
                .remove_policies
                .is_empty()
        );
    }

    #[test]
    fn scale_from_zero_off_removes_the_step_policy_and_its_alarm() {
        let previous = desired(json!({}));
        let desired = desired(json!({"ScaleFromZero": "false"}));
        let observed = Observed {
            target: Some(target(Ownership::Ours)),
            alarms: vec![alarm(ALARM, Ownership::Ours, &[step_policy_of("prod")])],
            ..Observed::default()
        };
        let plan = reconfigure(
            &desired,
            &previous,
            &Observed {
                policies: holding(&[]).policies,
                ..observed
            },
        )
        .unwrap();
        assert_eq!(plan.remove_policies, [STEP_POLICY_NAME]);
        assert!(!names(&plan).contains(&STEP_POLICY_NAME));
        assert_eq!(plan.alarm, None);
        assert_eq!(plan.remove_alarms, [ALARM]);
    }

    #[test]
    fn scale_from_zero_on_removes_nothing_and_checks_the_alarm_name_is_free() {
        let previous = desired(json!({"ScaleFromZero": "false"}));
        let desired = desired(json!({}));
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
        let previous = desired(json!({}));
        let desired = desired(json!({"AlarmName": "wake-up"}));
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
        let plan = configure(&desired(json!({})), &observed).unwrap();
        assert_eq!(plan.remove_alarms, [LEGACY_ALARM]);

        let blues = alarm(LEGACY_ALARM, Ownership::Untagged, &[step_policy_of("blue")]);
        let observed = Observed {
            alarms: vec![blues],
            ..Observed::default()
        };
        let plan = configure(&desired(json!({})), &observed).unwrap();
        assert!(plan.remove_alarms.is_empty());
    }

    #[test]
    fn a_variant_rename_keeps_an_explicit_alarm_name_for_the_new_variant() {
        // The new variant takes over the alarm name the old one used: its tags are this
        // resource's, and it is pointed at the new variant's step policy.
        let desired = desired(json!({"VariantName": "blue", "AlarmName": "wake-up"}));
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
    fn a_create_tags_both_objects_with_the_users_tags_and_its_own() {
        let desired = desired(json!({"Tags": [{"Key": "team", "Value": "ml"}]}));
        let plan = configure(&desired, &Observed::default()).unwrap();
        let expected = with_tags(owner().tags(), &[("team", "ml")]);
        assert_eq!(
            plan.target,
            TargetWrite::Create {
                settings: desired.target,
                tags: expected.clone()
            }
        );
        assert!(matches!(&plan.alarm, Some(AlarmWrite::Create { tags, .. }) if *tags == expected));
    }

    #[test]
    fn an_update_sets_changed_tags_and_removes_dropped_ones_but_never_its_own() {
        let previous = desired(
            json!({"Tags": [{"Key": "team", "Value": "ml"}, {"Key": "old", "Value": "x"}]}),
        );
        let desired = desired(
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
            ..Observed::default()
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
        let desired = desired(json!({"Tags": [{"Key": "team", "Value": "ml"}]}));
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
            desired(json!({"AdoptExisting": true, "Tags": [{"Key": "team", "Value": "ml"}]}));
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
        let previous = desired(json!({"ScheduledActions": [
            schedule("night", json!({})), schedule("lunch", json!({}))
        ]}));
        let desired = desired(json!({"ScheduledActions": [
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
        let previous = desired(json!({"ScheduledActions": [
            schedule("night", json!({"Timezone": "Europe/Berlin", "MaxCapacity": 0}))
        ]}));
        for dropped in [
            json!({"MaxCapacity": 0}),
            json!({"Timezone": "Europe/Berlin"}),
        ] {
            let desired = desired(json!({"ScheduledActions": [schedule("night", dropped)]}));
            let plan = reconfigure(&desired, &previous, &Observed::default()).unwrap();
            assert_eq!(plan.recreate_schedules, ["night"]);
            assert!(plan.remove_schedules.is_empty());
        }
    }

    #[test]
    fn an_update_registers_the_target_again_only_when_its_settings_differ() {
        let desired = desired(json!({"MinCapacity": 1, "MaxCapacity": 4}));
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
        let asked = desired.target;
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
        let desired = desired(json!({}));
        let step = step_policy_of("prod");
        let asked = desired.alarm.as_ref().unwrap().firing(&step);
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
}
