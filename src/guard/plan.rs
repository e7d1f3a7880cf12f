//! The guard's decisions, as pure functions: which variants an endpoint update needs
//! deregistered, whether the guard may do it, and whether a record may be restored now.

use super::record::Record;
use crate::aws::{Endpoint, EndpointConfig, Placement};
use crate::contract::{FOLLOWS_ENDPOINT_CONFIG_TAG, OWNER_RESOURCE_TAG, OWNER_STACK_TAG, Tags};
use crate::target::VariantId;
use std::fmt;

/// What the coming endpoint update does to a variant that SageMaker refuses to change while it
/// is registered for auto scaling.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// Another instance type, pools of another set of types, or a move between the two.
    Instances {
        from: Placement,
        to: Placement,
    },
    Removed,
}

/// `instance type a -> b` between two instance types (or none); else each side as what it is:
/// `instance pools a, b -> instance type a`.
impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pools = |p: &Placement| matches!(p, Placement::InstancePools(_));
        match self {
            Change::Instances { from, to } if !pools(from) && !pools(to) => {
                write!(f, "instance type {from} -> {to}")
            }
            Change::Instances { from, to } => {
                let side = |p: &Placement| match p {
                    Placement::InstanceType(_) => format!("instance type {p}"),
                    Placement::InstancePools(_) => format!("instance {p}"),
                    Placement::Serverless => "no instance type".to_owned(),
                };
                write!(f, "{} -> {}", side(from), side(to))
            }
            Change::Removed => f.write_str("removed from the new configuration"),
        }
    }
}

/// A variant of the endpoint's current configuration that the update changes in a way
/// SageMaker refuses while it is registered: its instances, or its removal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Affected {
    pub variant: VariantId,
    /// What it runs on now.
    pub placement: Placement,
    pub change: Change,
}

/// The variants of `current` that moving to `new` affects. A change of model or weight only, or
/// of the pools' priorities or ModelNameOverride only, is not among them: SageMaker allows that
/// while a variant is registered (see [`Placement::same_instances`]).
pub fn affected_variants(
    endpoint_name: &str,
    current: &EndpointConfig,
    new: &EndpointConfig,
) -> Vec<Affected> {
    current
        .variants
        .iter()
        .filter_map(|(name, placement)| {
            let change = match new.placement(name) {
                None => Change::Removed,
                Some(to) if !placement.same_instances(to) => Change::Instances {
                    from: placement.clone(),
                    to: to.clone(),
                },
                Some(_) => return None,
            };
            Some(Affected {
                variant: VariantId::new(endpoint_name, name),
                placement: placement.clone(),
                change,
            })
        })
        .collect()
}

/// Whose a registered target is, from the guard's side: the guard may deregister only what a
/// scaling resource of its own stack made and makes again, at its Update after the endpoint's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Registrant {
    /// A scaling resource of this stack with `EndpointConfigName`.
    SameStack {
        logical_resource_id: String,
    },
    /// A scaling resource of this stack without `EndpointConfigName`: no Update of it follows
    /// the endpoint's, so nothing would register the variant again.
    SameStackNotFollowing {
        logical_resource_id: String,
    },
    OtherStack {
        stack_id: String,
    },
    Untagged,
    /// One of the two ownership tags without the other.
    HalfTagged,
    Unknown(String),
}

impl Registrant {
    pub fn from_tags(tags: Result<&Tags, String>, stack_id: &str) -> Registrant {
        let tags = match tags {
            Ok(tags) => tags,
            Err(why) => return Registrant::Unknown(why),
        };
        let follows = tags
            .get(FOLLOWS_ENDPOINT_CONFIG_TAG)
            .is_some_and(|v| v == "true");
        match (tags.get(OWNER_STACK_TAG), tags.get(OWNER_RESOURCE_TAG)) {
            (Some(stack), Some(resource)) if stack == stack_id => match follows {
                true => Registrant::SameStack {
                    logical_resource_id: resource.clone(),
                },
                false => Registrant::SameStackNotFollowing {
                    logical_resource_id: resource.clone(),
                },
            },
            (Some(stack), _) if stack != stack_id => Registrant::OtherStack {
                stack_id: stack.clone(),
            },
            (None, None) => Registrant::Untagged,
            _ => Registrant::HalfTagged,
        }
    }
}

/// A registered variant the guard may not deregister.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blocked {
    pub affected: Affected,
    pub registrant: Registrant,
}

/// The guard refuses the endpoint update before any change: each variant that stands in its
/// way, whose it is, and what the user can do.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "Refusing to deregister auto scaling that nothing in this stack registers again, \
     so SageMaker would refuse the endpoint update: {}. Deregister it where it is \
     managed (another stack, or `aws application-autoscaling \
     deregister-scalable-target`), or keep the variant's instance type (or its pools' \
     types), then update again.",
    blocked_by(.0)
)]
pub struct DeregistrationRefusal(pub Vec<Blocked>);

/// Each blocked variant, whose it is: `endpoint/e/variant/v (instance type a -> b) is
/// registered for auto scaling by the stack s2`, joined by semicolons.
fn blocked_by(blocked: &[Blocked]) -> String {
    let each: Vec<String> = blocked
        .iter()
        .map(|b| {
            let registrant = match &b.registrant {
                Registrant::SameStack { .. } => "this stack".to_owned(),
                Registrant::SameStackNotFollowing {
                    logical_resource_id,
                } => format!(
                    "this stack's {logical_resource_id}, whose target is not marked \
                     follows-endpoint-config: that resource has no EndpointConfigName, or gets \
                     it only in this update (give it `EndpointConfigName: !GetAtt \
                     <endpoint config>.EndpointConfigName` in an update of its own first, so \
                     that it registers the variant again after the endpoint update)"
                ),
                Registrant::OtherStack { stack_id } => format!("the stack {stack_id}"),
                Registrant::Untagged => {
                    "no CloudFormation resource (it has no ownership tags)".to_owned()
                }
                Registrant::Unknown(why) => format!("an owner that could not be read ({why})"),
                Registrant::HalfTagged => {
                    "no CloudFormation resource that can be named (its ownership tags are \
                     incomplete)"
                        .to_owned()
                }
            };
            format!(
                "{} ({}) is registered for auto scaling by {registrant}",
                b.affected.variant.resource_id(),
                b.affected.change
            )
        })
        .collect();
    each.join("; ")
}

/// What the guard does about affected variants: the ones to record and deregister, or a
/// refusal naming every one it may not touch. Variants that are not registered need nothing.
/// Each registered variant comes with what the caller read of it (`T`), which the plan hands
/// back with the scaling resource that registers the variant again.
pub fn plan_deregistrations<T>(
    registered: Vec<(Affected, Registrant, T)>,
) -> Result<Vec<(Affected, String, T)>, DeregistrationRefusal> {
    let mut allowed = Vec::new();
    let mut blocked = Vec::new();
    for (affected, registrant, read) in registered {
        match registrant {
            Registrant::SameStack {
                logical_resource_id,
            } => allowed.push((affected, logical_resource_id, read)),
            registrant => blocked.push(Blocked {
                affected,
                registrant,
            }),
        }
    }
    match blocked.is_empty() {
        true => Ok(allowed),
        false => Err(DeregistrationRefusal(blocked)),
    }
}

/// What set a restore going.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// The guard's own next event (its rollback Update, above all): CloudFormation has moved
    /// past the endpoint update the record was taken for.
    GuardEvent,
    /// SageMaker's state-change event, which may come late or twice: it restores only once the
    /// endpoint has changed since the record was taken.
    StateChange,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RestoreDecision {
    Restore,
    /// The record can never apply, or something newer replaced it: delete it, touch nothing.
    Discard(String),
    /// Not now: keep the record for a later event.
    Keep(String),
}

/// Whether a record may be restored now: the endpoint is InService and runs again the
/// configuration it ran when the record was taken, so the variant has the recorded instance
/// type, and its target is not registered (what is registered, by the scaling resource's own
/// Update above all, wins over a record).
/// Whether the record's target is registered, and by whom.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Registered {
    No,
    /// By a restore that has not finished (the target carries the restoring tag).
    ByRestore,
    /// By anything else, which wins over the record.
    Other,
}

pub fn decide_restore(
    record: &Record,
    endpoint: Option<&Endpoint>,
    config: Option<&EndpointConfig>,
    registered: Registered,
    trigger: Trigger,
) -> RestoreDecision {
    use RestoreDecision::{Discard, Keep, Restore};
    let Some(endpoint) = endpoint else {
        return Discard(format!("the endpoint {} is gone", record.endpoint_name));
    };
    // A target a restore registered (and did not finish) is the record's own: the restore is
    // finished. Any other wins over the record.
    if registered == Registered::Other {
        return Discard(
            "the variant is registered again; what is registered wins over the record".into(),
        );
    }
    if !endpoint.in_service() {
        return Keep(format!(
            "the endpoint is {}; the record is restored when it is InService again",
            endpoint.status
        ));
    }
    let Some(config) = config else {
        return Keep(format!(
            "the endpoint's configuration {} could not be read",
            endpoint.config_name
        ));
    };
    let recorded = record.placement();
    // The variant's instances as a Reason names them.
    let named = |placement: &Placement| match placement {
        Placement::InstanceType(_) => placement.to_string(),
        Placement::InstancePools(_) => format!("instance {placement}"),
        Placement::Serverless => "no instance type".to_owned(),
    };
    match config.placement(&record.variant_name) {
        None => Keep(format!(
            "the endpoint's configuration {} has no variant {}",
            config.name, record.variant_name
        )),
        Some(now) if !now.same_instances(&recorded) => Keep(format!(
            "the variant runs {} now, not the recorded {}; its scaling resource's Update \
             registers it again",
            named(now),
            named(&recorded)
        )),
        Some(_) if config.name != record.from_config => Keep(format!(
            "the endpoint runs the configuration {}, not {} as when the record was taken",
            config.name, record.from_config
        )),
        Some(_)
            if trigger == Trigger::StateChange
                && endpoint.last_modified == record.endpoint_last_modified =>
        {
            Keep("the endpoint has not changed since the record was taken".into())
        }
        Some(_) => Restore,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::{InstancePool, TargetSettings};
    use crate::guard::record::RecordedTarget;
    use crate::properties::SuspendedState;

    fn config(name: &str, variants: &[(&str, &str)]) -> EndpointConfig {
        EndpointConfig {
            name: name.into(),
            variants: variants
                .iter()
                .map(|(v, t)| (v.to_string(), Placement::InstanceType(t.to_string())))
                .collect(),
        }
    }

    fn endpoint(status: &str, config: &str, last_modified: &str) -> Endpoint {
        Endpoint {
            name: "e".into(),
            config_name: config.into(),
            status: status.into(),
            last_modified: last_modified.into(),
            failure_reason: None,
        }
    }

    fn record() -> Record {
        Record::new(
            &VariantId::new("e", "v"),
            &Placement::InstanceType("ml.g5.xlarge".into()),
            "t1".into(),
            "old".into(),
            "new".into(),
            RecordedTarget {
                settings: TargetSettings {
                    min_capacity: 0,
                    max_capacity: 2,
                    suspended: SuspendedState::default(),
                },
                tags: Tags::new(),
            },
        )
    }

    #[test]
    fn only_a_type_change_or_a_removal_affects_a_variant() {
        let current = config(
            "old",
            &[
                ("a", "ml.g5.xlarge"),
                ("b", "ml.m5.large"),
                ("c", "ml.m5.large"),
            ],
        );
        let new = config("new", &[("a", "ml.g5.2xlarge"), ("b", "ml.m5.large")]);
        let affected = affected_variants("e", &current, &new);
        assert_eq!(
            affected
                .iter()
                .map(|a| (a.variant.variant_name.as_str(), a.change.to_string()))
                .collect::<Vec<_>>(),
            [
                (
                    "a",
                    "instance type ml.g5.xlarge -> ml.g5.2xlarge".to_owned()
                ),
                ("c", "removed from the new configuration".to_owned())
            ]
        );
    }

    fn pools(types: &[(&str, i32, Option<&str>)]) -> Placement {
        Placement::InstancePools(
            types
                .iter()
                .map(|(t, priority, model)| InstancePool {
                    instance_type: t.to_string(),
                    priority: Some(*priority),
                    model_name_override: model.map(str::to_owned),
                })
                .collect(),
        )
    }

    #[test]
    fn a_change_of_a_variants_set_of_pool_types_affects_it_and_of_priorities_or_models_not() {
        let g5_g6 = pools(&[("ml.g5.xlarge", 1, None), ("ml.g6.xlarge", 2, None)]);
        let current = EndpointConfig {
            name: "old".into(),
            variants: vec![
                ("added".into(), g5_g6.clone()),
                ("reordered".into(), g5_g6.clone()),
                ("to-type".into(), g5_g6.clone()),
                (
                    "to-pools".into(),
                    Placement::InstanceType("ml.g5.xlarge".into()),
                ),
            ],
        };
        let new = EndpointConfig {
            name: "new".into(),
            variants: vec![
                (
                    "added".into(),
                    pools(&[
                        ("ml.g5.xlarge", 1, None),
                        ("ml.g6.xlarge", 2, None),
                        ("ml.g6e.xlarge", 3, None),
                    ]),
                ),
                (
                    "reordered".into(),
                    pools(&[("ml.g6.xlarge", 1, Some("m2")), ("ml.g5.xlarge", 2, None)]),
                ),
                (
                    "to-type".into(),
                    Placement::InstanceType("ml.g5.xlarge".into()),
                ),
                ("to-pools".into(), pools(&[("ml.g5.xlarge", 1, None)])),
            ],
        };
        let affected = affected_variants("e", &current, &new);
        assert_eq!(
            affected
                .iter()
                .map(|a| (a.variant.variant_name.as_str(), a.change.to_string()))
                .collect::<Vec<_>>(),
            [
                (
                    "added",
                    "instance pools ml.g5.xlarge, ml.g6.xlarge -> instance pools \
                     ml.g5.xlarge, ml.g6.xlarge, ml.g6e.xlarge"
                        .to_owned()
                ),
                (
                    "to-type",
                    "instance pools ml.g5.xlarge, ml.g6.xlarge -> instance type ml.g5.xlarge"
                        .to_owned()
                ),
                (
                    "to-pools",
                    "instance type ml.g5.xlarge -> instance pools ml.g5.xlarge".to_owned()
                ),
            ]
        );
        assert_eq!(affected[0].placement, g5_g6);
    }

    #[test]
    fn a_record_of_pools_is_restored_on_pools_of_the_same_types_only() {
        let g5_g6 = pools(&[("ml.g5.xlarge", 1, None), ("ml.g6.xlarge", 2, None)]);
        let mut record = record();
        record.set_placement(&g5_g6);
        let with = |placement: Placement| EndpointConfig {
            name: "old".into(),
            variants: vec![("v".into(), placement)],
        };
        let rolled_back = endpoint("InService", "old", "t2");
        let decide = |config: &EndpointConfig| {
            decide_restore(
                &record,
                Some(&rolled_back),
                Some(config),
                Registered::No,
                Trigger::GuardEvent,
            )
        };
        let reordered = pools(&[("ml.g6.xlarge", 1, None), ("ml.g5.xlarge", 2, Some("m"))]);
        assert_eq!(decide(&with(reordered)), RestoreDecision::Restore);
        let RestoreDecision::Keep(why) = decide(&with(pools(&[("ml.g5.xlarge", 1, None)]))) else {
            panic!("a variant on other pools is not restored");
        };
        assert_eq!(
            why,
            "the variant runs instance pools ml.g5.xlarge now, not the recorded instance pools \
             ml.g5.xlarge, ml.g6.xlarge; its scaling resource's Update registers it again"
        );
        let single = Placement::InstanceType("ml.g5.xlarge".into());
        assert!(matches!(decide(&with(single)), RestoreDecision::Keep(_)));
    }

    #[test]
    fn the_guard_deregisters_only_what_its_own_stack_registers_again_and_names_every_other() {
        let tags = |stack: &str, follows: bool| {
            let mut tags = Tags::from([
                (OWNER_STACK_TAG.to_owned(), stack.to_owned()),
                (OWNER_RESOURCE_TAG.to_owned(), "Scaling".to_owned()),
            ]);
            if follows {
                tags.insert(FOLLOWS_ENDPOINT_CONFIG_TAG.to_owned(), "true".to_owned());
            }
            tags
        };
        let ours = Registrant::from_tags(Ok(&tags("s1", true)), "s1");
        assert_eq!(
            ours,
            Registrant::SameStack {
                logical_resource_id: "Scaling".into()
            }
        );
        let affected = |v: &str| Affected {
            variant: VariantId::new("e", v),
            placement: Placement::InstanceType("ml.g5.xlarge".into()),
            change: Change::Removed,
        };
        let planned = plan_deregistrations(vec![(affected("a"), ours.clone(), ())]).unwrap();
        assert_eq!(planned, [(affected("a"), "Scaling".to_owned(), ())]);

        let half = Tags::from([(OWNER_STACK_TAG.to_owned(), "s1".to_owned())]);
        let refusal = plan_deregistrations(vec![
            (affected("a"), ours, ()),
            (
                affected("b"),
                Registrant::from_tags(Ok(&tags("s2", true)), "s1"),
                (),
            ),
            (
                affected("c"),
                Registrant::from_tags(Ok(&Tags::new()), "s1"),
                (),
            ),
            (
                affected("d"),
                Registrant::from_tags(Err("denied".into()), "s1"),
                (),
            ),
            (
                affected("e"),
                Registrant::from_tags(Ok(&tags("s1", false)), "s1"),
                (),
            ),
            (affected("f"), Registrant::from_tags(Ok(&half), "s1"), ()),
        ])
        .unwrap_err();
        assert_eq!(refusal.0.len(), 5);
        let reason = refusal.to_string();
        let says = |text: &str| assert!(reason.contains(text), "{text:?} not in {reason}");
        says(
            "endpoint/e/variant/b (removed from the new configuration) is registered for auto scaling by the stack s2",
        );
        says(
            "variant/c (removed from the new configuration) is registered for auto scaling by no CloudFormation resource",
        );
        says("an owner that could not be read (denied)");
        says(
            "variant/e (removed from the new configuration) is registered for auto scaling by this stack's Scaling, whose target is not marked follows-endpoint-config",
        );
        says(
            "variant/f (removed from the new configuration) is registered for auto scaling by no CloudFormation resource that can be named (its ownership tags are incomplete)",
        );
        assert!(!reason.contains("variant/a "), "{reason}");
    }

    #[test]
    fn a_record_is_restored_only_on_an_in_service_endpoint_running_the_recorded_type() {
        let record = record();
        let same = config("old", &[("v", "ml.g5.xlarge")]);
        let other = config("new", &[("v", "ml.g5.2xlarge")]);
        let decide = |endpoint: Option<&Endpoint>, config, registered: Registered, trigger| {
            decide_restore(&record, endpoint, config, registered, trigger)
        };
        let rolled_back = endpoint("InService", "old", "t2");
        use RestoreDecision::*;
        use Trigger::*;
        assert_eq!(
            decide(Some(&rolled_back), Some(&same), Registered::No, GuardEvent),
            Restore
        );
        assert_eq!(
            decide(Some(&rolled_back), Some(&same), Registered::No, StateChange),
            Restore
        );
        assert!(matches!(
            decide(None, None, Registered::No, GuardEvent),
            Discard(_)
        ));
        assert!(matches!(
            decide(
                Some(&rolled_back),
                Some(&same),
                Registered::Other,
                GuardEvent
            ),
            Discard(_)
        ));
        let updating = endpoint("Updating", "old", "t2");
        assert!(matches!(
            decide(Some(&updating), Some(&same), Registered::No, GuardEvent),
            Keep(_)
        ));
        let updated = endpoint("InService", "new", "t2");
        assert!(matches!(
            decide(Some(&updated), Some(&other), Registered::No, GuardEvent),
            Keep(_)
        ));
        let gone = config("new", &[("w", "ml.g5.xlarge")]);
        assert!(matches!(
            decide(Some(&updated), Some(&gone), Registered::No, GuardEvent),
            Keep(_)
        ));
        // A late or repeated event from before the update must not register the variant
        // between the guard's deregistration and the endpoint update.
        let unchanged = endpoint("InService", "old", "t1");
        assert!(matches!(
            decide(Some(&unchanged), Some(&same), Registered::No, StateChange),
            Keep(_)
        ));
        // The guard's own next event comes after CloudFormation gave up on the update, which
        // may never have started: it restores.
        assert_eq!(
            decide(Some(&unchanged), Some(&same), Registered::No, GuardEvent),
            Restore
        );
        // A later update that comes back to the recorded instance type on another
        // configuration is not the rollback the record waits for.
        let later = config("later", &[("v", "ml.g5.xlarge")]);
        let moved_back = endpoint("InService", "later", "t3");
        assert!(matches!(
            decide(Some(&moved_back), Some(&later), Registered::No, StateChange),
            Keep(_)
        ));
        // A restore that stopped after registering the target is finished, not discarded.
        assert_eq!(
            decide_restore(
                &record,
                Some(&rolled_back),
                Some(&same),
                Registered::ByRestore,
                StateChange
            ),
            Restore
        );
    }
}
