//! What a Delete removes, and what a failed request removes of what it set out to create (its
//! rollback): only what is this resource's, and never what another resource now manages.

use super::ownership::FoundTarget;
use super::{Observed, Ownership};
use crate::target::ScalableResource;

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
    /// The resource whose target this request registers (its policies and scheduled actions go
    /// with it).
    pub target: Option<(ScalableResource, Made)>,
    /// The alarm this request puts under a name that was free.
    pub alarm: Option<(String, Made)>,
}

impl Created {
    /// What it set out to create, for a Reason: the target, or only its alarm.
    pub fn describe(&self) -> String {
        match (&self.target, &self.alarm) {
            (Some((resource, _)), _) => resource.resource_id(),
            (None, Some((alarm, _))) => format!("the alarm {alarm}"),
            (None, None) => "nothing".to_owned(),
        }
    }

    /// What must be read again before it is removed: the objects whose creating call has an
    /// unknown outcome.
    pub fn to_verify(&self) -> (Option<&ScalableResource>, Vec<String>) {
        let target = match &self.target {
            Some((resource, Made::Unknown)) => Some(resource),
            _ => None,
        };
        let alarms = match &self.alarm {
            Some((name, Made::Unknown)) => vec![name.clone()],
            _ => Vec::new(),
        };
        (target, alarms)
    }
}

/// What a Delete removes, and what it leaves to another owner.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeletePlan {
    /// The resource whose target is deregistered; `None` when another resource manages it.
    /// Deregistering deletes the target's scaling policies and scheduled actions with it (AWS:
    /// DeregisterScalableTarget), so they need no calls of their own.
    pub target: Option<ScalableResource>,
    pub alarms: Vec<String>,
    /// What stays, and why: for the answer's Reason.
    pub left: Vec<String>,
}

/// The alarm names a Delete looks at: the one the properties name (leniently read: a Delete
/// must not fail over properties that no longer validate) and the first release's default.
pub fn alarm_names_to_delete(resource: &ScalableResource, alarm_name: Option<&str>) -> Vec<String> {
    let mut names = vec![
        alarm_name
            .map(str::to_owned)
            .unwrap_or_else(|| resource.default_alarm_name()),
    ];
    names.extend(resource.legacy_alarm_name());
    names.dedup();
    names
}

/// Plans a Delete: whatever another resource now manages stays. An object whose ownership
/// cannot be read is removed (a stack must stay deletable); an alarm only while it still fires
/// this target's step policy.
pub fn plan_delete(resource: &ScalableResource, observed: &Observed) -> DeletePlan {
    let mut plan = DeletePlan::default();
    match &observed.target {
        Some(FoundTarget {
            ownership: Ownership::Other(other),
            ..
        }) => plan.left.push(format!(
            "the scalable target of {} (and its policies), which {} now manages",
            resource.resource_id(),
            other.describe()
        )),
        Some(_) => plan.target = Some(resource.clone()),
        None => {}
    }
    for found in &observed.alarms {
        if found.removable_with(resource) {
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
    let target = created.target.as_ref().filter(|(resource, made)| {
        let found = observed.target.as_ref().map(|f| &f.ownership);
        let what = format!("the scalable target of {}", resource.resource_id());
        remove(*made, found, what)
    });
    let alarm = created.alarm.as_ref().filter(|(name, made)| {
        let found = observed.alarm(name).map(|f| &f.ownership);
        remove(*made, found, format!("the alarm {name}"))
    });
    DeletePlan {
        target: target.map(|(resource, _)| resource.clone()),
        alarms: alarm.map(|(name, _)| name.clone()).into_iter().collect(),
        left,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scaling::plan::fixtures::*;

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
                ..Observed::default()
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
            ..Observed::default()
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
            ..Observed::default()
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
                ..Observed::default()
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
}
