//! What a failing request must remove: the record a request keeps of what it set out to create
//! from nothing, and of how each creating call ended.
//!
//! Only a request that configures a target this resource does not manage yet (a Create, or
//! an Update to another target) keeps one; a failed Update of its own target is rolled back by
//! CloudFormation's next Update. The operation writes an entry right before each creating call
//! (RegisterScalableTarget for a target that was not registered; PutMetricAlarm under a name
//! that was free, beside a target it made) and settles it once the outcome is known (for an
//! alarm, once its tags are read back). The handler reads the record when the operation
//! failed, panicked or was stopped at the deadline, when the operation itself is gone, and
//! removes ([`super::plan::plan_rollback`]):
//!
//! - what this request made ([`Made::Yes`]);
//! - never what AWS refused to create ([`Made::No`]): it appeared meanwhile, made by another
//!   request, and is that request's;
//! - what may have been made ([`Made::Unknown`]: no answer, a server error, a panic or the
//!   deadline during the call) only after reading it again, and only while it carries this
//!   resource's ownership tags.
//!
//! Ownership tags name a resource, not a request: two copies of one request (an invocation
//! delivered twice) carry the same ones. When a copy finds that its target was registered by
//! the other copy in the meantime, it [stands down](Rollback::stand_down): it carries on as an
//! Update and removes nothing whatever happens next, since everything it would remove is the
//! other copy's too. When both copies reach the unknown case (each stopped, say, by the
//! deadline while its registration was in flight), each reads this resource's tags and removes
//! what it finds: both answer FAILED, so CloudFormation fails the Create whichever answer it
//! reads, and what they made goes (unless a call the deadline cut short is carried out by AWS
//! after the read). The one case that loses a setup: the copy that registered the target (or
//! whose registration got no answer) fails afterwards while the other, standing down, answers
//! SUCCESS. The failing copy removes the target, and with it what the other reported; nothing
//! AWS keeps tells the two copies apart. docs/reference.md says so.

use super::plan::{Created, Made};
use crate::target::ScalableResource;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

#[derive(Clone, Debug, Default)]
pub struct Rollback {
    record: Arc<Mutex<Record>>,
}

#[derive(Debug, Default)]
struct Record {
    created: Created,
    /// A copy of this request is at work on this target's objects: nothing is removed.
    stood_down: Option<ScalableResource>,
}

impl Rollback {
    fn record(&self) -> MutexGuard<'_, Record> {
        // A panic while holding this lock leaves plain data behind; it is still worth reading.
        self.record.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Before RegisterScalableTarget for a target that was not registered: from here until
    /// the answer, the outcome is unknown.
    pub fn creating_target(&self, resource: &ScalableResource) {
        self.record().created.target = Some((resource.clone(), Made::Unknown));
    }

    pub fn target_made(&self, made: Made) {
        if let Some((_, outcome)) = &mut self.record().created.target {
            *outcome = made;
        }
    }

    /// Before PutMetricAlarm under a name that was free. Recorded only while this request is
    /// building the target's setup from nothing (it made the target, or may have): next to a
    /// target that was there already, a new alarm is part of a setup that stays.
    pub fn creating_alarm(&self, name: &str) {
        let mut record = self.record();
        let building = matches!(record.created.target, Some((_, Made::Yes | Made::Unknown)));
        if building {
            record.created.alarm = Some((name.to_owned(), Made::Unknown));
        }
    }

    pub fn alarm_made(&self, made: Made) {
        if let Some((_, outcome)) = &mut self.record().created.alarm {
            *outcome = made;
        }
    }

    /// Another copy of this request registered the target: from now on nothing is removed.
    pub fn stand_down(&self, resource: &ScalableResource) {
        let mut record = self.record();
        record.stood_down = Some(resource.clone());
        record.created = Created::default();
    }

    /// The target whose setup another copy of this request is building, if this request stood
    /// down. A Create that then fails answers with that target's id rather than a failed
    /// Create's: should CloudFormation act on this answer, its rollback Delete removes the
    /// setup, which carries this resource's tags, instead of leaving it to nobody.
    pub fn stood_down(&self) -> Option<ScalableResource> {
        self.record().stood_down.clone()
    }

    /// What to remove, taken so that it is removed once: `None` when there is nothing this
    /// request made or may have made.
    pub fn take(&self) -> Option<Created> {
        let mut record = self.record();
        if record.stood_down.is_some() {
            return None;
        }
        let created = std::mem::take(&mut record.created);
        let may_remove = |made: Option<&Made>| matches!(made, Some(Made::Yes | Made::Unknown));
        let something = may_remove(created.target.as_ref().map(|(_, made)| made))
            || may_remove(created.alarm.as_ref().map(|(_, made)| made));
        something.then_some(created)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::VariantId;

    fn variant() -> ScalableResource {
        ScalableResource::Variant(VariantId::new("esd", "prod"))
    }

    #[test]
    fn a_call_in_flight_is_an_unknown_outcome_until_it_is_answered() {
        let rollback = Rollback::default();
        rollback.creating_target(&variant());
        assert_eq!(
            rollback.take().unwrap().target,
            Some((variant(), Made::Unknown))
        );
        assert_eq!(rollback.take(), None, "taken once");
    }

    #[test]
    fn what_aws_refused_to_create_leaves_nothing_to_remove() {
        let rollback = Rollback::default();
        rollback.creating_target(&variant());
        rollback.target_made(Made::No);
        assert_eq!(rollback.take(), None);
    }

    #[test]
    fn a_request_that_stood_down_removes_nothing_it_records_afterwards() {
        let rollback = Rollback::default();
        rollback.creating_target(&variant());
        rollback.target_made(Made::No);
        rollback.stand_down(&variant());
        rollback.creating_target(&variant());
        rollback.target_made(Made::Yes);
        assert_eq!(rollback.take(), None);
        assert_eq!(rollback.stood_down(), Some(variant()));
    }

    #[test]
    fn an_alarm_is_recorded_only_beside_a_target_this_request_made_or_may_have() {
        let rollback = Rollback::default();
        rollback.creating_alarm("beside-an-existing-target");
        assert_eq!(rollback.take(), None);

        rollback.creating_target(&variant());
        rollback.target_made(Made::Yes);
        rollback.creating_alarm("alarm");
        rollback.alarm_made(Made::Yes);
        let created = rollback.take().unwrap();
        assert_eq!(created.alarm, Some(("alarm".to_owned(), Made::Yes)));
    }
}
