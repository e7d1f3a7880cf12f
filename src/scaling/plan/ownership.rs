//! Ownership: whose each object that AWS holds is, as its ownership tags say, and whether this
//! resource may write it. The scalable target and the alarm carry this resource's tags (stack id
//! and logical id). An object AWS would silently replace is written only when it is absent,
//! carries this resource's tags, or `AdoptExisting` says to take it over; objects under the
//! target (policies, scheduled actions) belong to whoever owns the target.

use crate::aws::{AlarmDefinition, ExistingPolicy, TargetSettings};
use crate::contract::{OWNER_RESOURCE_TAG, OWNER_STACK_TAG, Tags};
use crate::properties::MAX_POLICIES_PER_TARGET;
use crate::target::ScalableResource;

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

    pub fn describe(&self) -> String {
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

    /// Whether it fires the step policy of this target: then this resource put it (under
    /// this name, or an earlier default), even if it carries no ownership tags yet.
    pub fn fires_step_policy_of(&self, resource: &ScalableResource) -> bool {
        let suffix = format!(
            ":resource/sagemaker/{}:policyName/{}",
            resource.resource_id(),
            resource.kind().step_policy_name
        );
        let actions = &self.definition.alarm_actions;
        actions.iter().any(|arn| arn.ends_with(&suffix))
    }

    /// This alarm may be removed when `resource`'s scaling goes: it fires its step policy and
    /// no other resource claims it. An alarm that now serves another target, or that another
    /// stack took over, stays.
    pub fn removable_with(&self, resource: &ScalableResource) -> bool {
        self.fires_step_policy_of(resource) && !matches!(self.ownership, Ownership::Other(_))
    }
}

/// What AWS holds for a scalable target: its target, the target's policies, and the alarms under the
/// names this resource uses.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Observed {
    pub target: Option<FoundTarget>,
    pub alarms: Vec<FoundAlarm>,
    /// The scaling policies on the target: what an Update need not put again, and what it
    /// removes.
    pub policies: HeldPolicies,
}

/// The scaling policies on the target, as far as they were read.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum HeldPolicies {
    /// Not read: a Create, whose target is new or made by a copy of itself, holds nothing to
    /// remove.
    #[default]
    NotRead,
    Read(Vec<ExistingPolicy>),
    /// DescribeScalingPolicies failed; why.
    Unreadable(String),
}

impl Observed {
    pub fn alarm(&self, name: &str) -> Option<&FoundAlarm> {
        self.alarms.iter().find(|a| a.name == name)
    }
}

/// Why a request was refused before anything was changed: an object that exists and is not
/// this resource's to write.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WriteRefusal {
    /// The scalable target is registered, and not by this resource.
    #[error(
        "{} Deregister it first, or set AdoptExisting to true to manage it from this \
         stack.",
        target_held(.resource_id, .holder)
    )]
    Target {
        resource_id: String,
        holder: ForeignHolder,
    },
    /// An alarm exists under the name this resource puts, and is not this resource's.
    #[error(
        "{} Refusing to replace it: set AlarmName to another name, or set \
         AdoptExisting to true to manage it from this stack.",
        alarm_held(.name, .watches, .holder)
    )]
    Alarm {
        name: String,
        /// Its metric, for the Reason.
        watches: String,
        holder: ForeignHolder,
    },
    /// The target holds policies this resource may not remove, and with the ones asked for
    /// it would exceed Application Auto Scaling's quota of policies per target.
    #[error(
        "The scalable target of {resource_id} holds {kept_count} scaling policies that \
         this resource did not put ({kept}); with the {asked} asked for, it would exceed \
         Application Auto Scaling's quota of {MAX_POLICIES_PER_TARGET} per target. Remove \
         some of them, or ask for fewer; nothing was changed."
    )]
    PolicyQuota {
        resource_id: String,
        /// How many policies were asked for.
        asked: usize,
        /// Those that stay, named for the Reason (the first few), and how many there are.
        kept: String,
        kept_count: usize,
    },
}

/// Who holds an object that is not this resource's, as far as its tags tell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ForeignHolder {
    Other(Owner),
    Untagged,
    /// Its tags could not be read; why.
    Unknown(String),
}

/// Whose the registered target is, for a Reason.
fn target_held(resource_id: &str, holder: &ForeignHolder) -> String {
    match holder {
        ForeignHolder::Other(other) => format!(
            "A scalable target is already registered for {resource_id} and {} \
             manages it: refusing to take it over.",
            other.describe()
        ),
        ForeignHolder::Untagged => format!(
            "A scalable target is already registered for {resource_id} and this \
             resource did not register it: refusing to take over a scaling setup \
             that something else manages."
        ),
        ForeignHolder::Unknown(why) => format!(
            "A scalable target is already registered for {resource_id} and whose it \
             is is unknown, because its tags could not be read ({why}): refusing to \
             take it over."
        ),
    }
}

/// Whose the alarm is, and what it watches, for a Reason.
fn alarm_held(name: &str, watches: &str, holder: &ForeignHolder) -> String {
    match holder {
        ForeignHolder::Other(other) => format!(
            "An alarm named {name} already exists and {} manages it (it watches \
             {watches}).",
            other.describe()
        ),
        ForeignHolder::Untagged => format!(
            "An alarm named {name} already exists and this resource did not create \
             it (it watches {watches})."
        ),
        ForeignHolder::Unknown(why) => format!(
            "An alarm named {name} already exists (it watches {watches}) and whose \
             it is is unknown, because its tags could not be read ({why})."
        ),
    }
}

/// Why this resource may write an object that exists already.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Claim {
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
    pub fn note(&self) -> Option<String> {
        match self {
            Claim::Tagged => None,
            Claim::Untagged(note) | Claim::Unreadable(note) | Claim::Adopted(note) => {
                Some(note.clone())
            }
        }
    }
}

pub(super) fn claim_target(
    resource: &ScalableResource,
    found: &FoundTarget,
    reconfigure: bool,
    adopt_existing: bool,
) -> Result<Claim, WriteRefusal> {
    let resource_id = resource.resource_id();
    let holder = match &found.ownership {
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
        Ownership::Other(other) => ForeignHolder::Other(other.clone()),
        Ownership::Untagged => ForeignHolder::Untagged,
        Ownership::Unknown(why) => ForeignHolder::Unknown(why.clone()),
    };
    Err(WriteRefusal::Target {
        resource_id,
        holder,
    })
}

pub(super) fn claim_alarm(
    resource: &ScalableResource,
    found: &FoundAlarm,
    adopt_existing: bool,
) -> Result<Claim, WriteRefusal> {
    let name = &found.name;
    let fires_this_target = found.fires_step_policy_of(resource);
    let holder = match &found.ownership {
        Ownership::Ours => return Ok(Claim::Tagged),
        Ownership::Untagged if fires_this_target => {
            return Ok(Claim::Untagged(format!(
                "tagged the alarm {name}, which fires this target's step policy, as this \
                 resource's"
            )));
        }
        Ownership::Unknown(why) if fires_this_target => {
            return Ok(Claim::Unreadable(format!(
                "could not read the tags of the alarm {name} ({why}); it fires this target's \
                 step policy, so it was updated as this resource's"
            )));
        }
        _ if adopt_existing => {
            return Ok(Claim::Adopted(format!(
                "took over the alarm {name} (AdoptExisting)"
            )));
        }
        Ownership::Other(other) => ForeignHolder::Other(other.clone()),
        Ownership::Untagged => ForeignHolder::Untagged,
        Ownership::Unknown(why) => ForeignHolder::Unknown(why.clone()),
    };
    Err(WriteRefusal::Alarm {
        name: name.clone(),
        watches: found.watches(),
        holder,
    })
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
    use crate::contract::Tags;
    use crate::scaling::plan::fixtures::*;
    use crate::scaling::plan::{AlarmWrite, TargetWrite};
    use serde_json::json;

    fn target_refusal(holder: ForeignHolder) -> WriteRefusal {
        WriteRefusal::Target {
            resource_id: "endpoint/esd/variant/prod".into(),
            holder,
        }
    }

    fn alarm_refusal(name: &str, holder: ForeignHolder) -> WriteRefusal {
        WriteRefusal::Alarm {
            name: name.into(),
            watches: "AWS/SageMaker Invocation5XXErrors (EndpointName=esd)".into(),
            holder,
        }
    }

    /// The wording of every refusal, once: what to do about it, and whose the object is.
    #[test]
    fn a_refusal_names_the_object_its_holder_and_what_to_do() {
        let reasons = [
            (
                target_refusal(ForeignHolder::Untagged),
                "A scalable target is already registered for endpoint/esd/variant/prod and this \
                 resource did not register it: refusing to take over a scaling setup that \
                 something else manages. Deregister it first, or set AdoptExisting to true to \
                 manage it from this stack.",
            ),
            (
                target_refusal(ForeignHolder::Other(other_owner())),
                "A scalable target is already registered for endpoint/esd/variant/prod and \
                 resource Scaling of stack arn:aws:cloudformation:us-east-1:123456789012:stack/b/2 \
                 manages it: refusing to take it over. Deregister it first, or set AdoptExisting \
                 to true to manage it from this stack.",
            ),
            (
                target_refusal(ForeignHolder::Unknown("denied".into())),
                "A scalable target is already registered for endpoint/esd/variant/prod and whose \
                 it is is unknown, because its tags could not be read (denied): refusing to take \
                 it over. Deregister it first, or set AdoptExisting to true to manage it from \
                 this stack.",
            ),
            (
                alarm_refusal("pager", ForeignHolder::Untagged),
                "An alarm named pager already exists and this resource did not create it (it \
                 watches AWS/SageMaker Invocation5XXErrors (EndpointName=esd)). Refusing to \
                 replace it: set AlarmName to another name, or set AdoptExisting to true to \
                 manage it from this stack.",
            ),
            (
                alarm_refusal("pager", ForeignHolder::Other(other_owner())),
                "An alarm named pager already exists and resource Scaling of stack \
                 arn:aws:cloudformation:us-east-1:123456789012:stack/b/2 manages it (it watches \
                 AWS/SageMaker Invocation5XXErrors (EndpointName=esd)). Refusing to replace it: \
                 set AlarmName to another name, or set AdoptExisting to true to manage it from \
                 this stack.",
            ),
            (
                alarm_refusal("pager", ForeignHolder::Unknown("denied".into())),
                "An alarm named pager already exists (it watches AWS/SageMaker \
                 Invocation5XXErrors (EndpointName=esd)) and whose it is is unknown, because its \
                 tags could not be read (denied). Refusing to replace it: set AlarmName to \
                 another name, or set AdoptExisting to true to manage it from this stack.",
            ),
            (
                WriteRefusal::PolicyQuota {
                    resource_id: "endpoint/esd/variant/prod".into(),
                    asked: 49,
                    kept: "a, b".into(),
                    kept_count: 2,
                },
                "The scalable target of endpoint/esd/variant/prod holds 2 scaling policies that \
                 this resource did not put (a, b); with the 49 asked for, it would exceed \
                 Application Auto Scaling's quota of 50 per target. Remove some of them, or ask \
                 for fewer; nothing was changed.",
            ),
        ];
        for (refusal, reason) in reasons {
            assert_eq!(refusal.to_string(), reason);
        }
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
    fn a_target_registered_by_something_else_is_refused_naming_adopt_existing() {
        let observed = Observed {
            target: Some(target(Ownership::Untagged)),
            ..Observed::default()
        };
        assert_eq!(
            configure(&desired(json!({})), &observed),
            Err(target_refusal(ForeignHolder::Untagged))
        );
    }

    #[test]
    fn a_target_another_stack_manages_is_refused_naming_that_stack() {
        let observed = Observed {
            target: Some(target(Ownership::Other(other_owner()))),
            ..Observed::default()
        };
        assert_eq!(
            configure(&desired(json!({})), &observed),
            Err(target_refusal(ForeignHolder::Other(other_owner())))
        );
    }

    #[test]
    fn a_target_whose_tags_cannot_be_read_is_still_a_take_over_refusal() {
        let why = "ListTagsForResource failed: AccessDeniedException: not authorized";
        let observed = Observed {
            target: Some(target(Ownership::Unknown(why.into()))),
            ..Observed::default()
        };
        assert_eq!(
            configure(&desired(json!({})), &observed),
            Err(target_refusal(ForeignHolder::Unknown(why.into())))
        );
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
            let plan = configure(&desired(json!({"AdoptExisting": "true"})), &observed).unwrap();
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
        let previous = desired(json!({}));
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
        let previous = desired(json!({}));
        let observed = Observed {
            target: Some(target(Ownership::Other(other_owner()))),
            ..Observed::default()
        };
        assert_eq!(
            reconfigure(&previous, &previous, &observed),
            Err(target_refusal(ForeignHolder::Other(other_owner())))
        );
    }

    #[test]
    fn a_users_alarm_of_the_same_name_is_refused_naming_what_it_watches() {
        let desired = desired(json!({"AlarmName": "pager"}));
        let observed = Observed {
            alarms: vec![alarm(
                "pager",
                Ownership::Untagged,
                &["arn:aws:sns:x".into()],
            )],
            ..Observed::default()
        };
        assert_eq!(
            configure(&desired, &observed),
            Err(alarm_refusal("pager", ForeignHolder::Untagged))
        );
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
        assert_eq!(
            configure(&desired(json!({})), &observed),
            Err(alarm_refusal(ALARM, ForeignHolder::Other(other_owner())))
        );
    }

    #[test]
    fn adopt_existing_takes_over_an_alarm_and_tags_it() {
        let desired = desired(json!({"AlarmName": "pager", "AdoptExisting": "true"}));
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
        let plan = configure(&desired(json!({})), &observed).unwrap();
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
        let plan = configure(&desired(json!({})), &observed).unwrap();
        assert!(matches!(&plan.alarm, Some(AlarmWrite::Update { tags, .. }) if tags.is_empty()));
    }

    #[test]
    fn an_untagged_alarm_that_fires_another_variant_is_not_this_resources() {
        let observed = Observed {
            alarms: vec![alarm(ALARM, Ownership::Untagged, &[step_policy_of("blue")])],
            ..Observed::default()
        };
        assert_eq!(
            configure(&desired(json!({})), &observed),
            Err(alarm_refusal(ALARM, ForeignHolder::Untagged))
        );
    }

    /// An alarm fires a target's step policy only by that target's id and that kind's policy
    /// name: a component's alarm is never a variant's, nor the other way round.
    #[test]
    fn an_alarm_fires_the_step_policy_of_one_kind_of_target_only() {
        let component = ScalableResource::InferenceComponent("esd".into());
        let component_step = "arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:0f:\
            resource/sagemaker/inference-component/esd:policyName/\
            NoCapacityInvocationFailures-ScalingPolicy"
            .to_owned();
        let fires_component = alarm(ALARM, Ownership::Untagged, &[component_step]);
        assert!(fires_component.fires_step_policy_of(&component));
        assert!(!fires_component.fires_step_policy_of(&variant()));
        let fires_variant = alarm(ALARM, Ownership::Untagged, &[step_policy_of("prod")]);
        assert!(fires_variant.fires_step_policy_of(&variant()));
        assert!(!fires_variant.fires_step_policy_of(&component));
        // The variant's step policy name on the component's target is no step policy of it.
        let misnamed = format!(
            "arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:0f:resource/sagemaker/\
             inference-component/esd:policyName/{}",
            crate::contract::STEP_POLICY_NAME
        );
        assert!(!alarm(ALARM, Ownership::Untagged, &[misnamed]).fires_step_policy_of(&component));
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
}
