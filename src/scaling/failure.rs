//! Why an operation failed, as a value: tests match the variant, and the wording a stack's
//! events show is in one place, [`Failure`]'s `Display`.

use super::endpoint::EndpointProblem;
use super::plan::WriteRefusal;
use crate::aws::AwsError;
use crate::properties::InvalidProperties;

#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The properties were refused before any AWS call, each problem named by its path.
    #[error(transparent)]
    Invalid(#[from] InvalidProperties),
    /// An AWS call failed for good, or ran out of time retrying.
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// An object to write is not this resource's.
    #[error(transparent)]
    Refused(#[from] WriteRefusal),
    /// An alarm to write turned out to be another resource's after this request put it under
    /// the same name at the same moment: the owner's definition may be this request's until
    /// the owner's next Update.
    #[error(
        "{0} It was created at the same moment as this request put it, so this \
         request's definition may have replaced its owner's until the owner's next \
         Update."
    )]
    RefusedAfterSimultaneousPut(WriteRefusal),
    /// Another request created the alarm at the same moment as this one, again and again.
    #[error(
        "The alarm {name} was created by another request at the same moment as this \
         one; refusing to write over it."
    )]
    AlarmRaced { name: String },
    /// The endpoint does not run the configuration the properties name (`EndpointConfigName`).
    #[error(transparent)]
    Endpoint(#[from] EndpointProblem),
}

/// Why applying a plan stopped.
#[derive(Debug, thiserror::Error)]
pub(super) enum Interrupted {
    #[error(transparent)]
    Failed(#[from] Failure),
    /// Another writer got between this request's read and its write: observe and plan again.
    #[error(transparent)]
    Raced(Race),
}

/// An AWS call's error stops a plan as a failure. (Two steps, which a derive does not take.)
impl From<AwsError> for Interrupted {
    fn from(error: AwsError) -> Self {
        Interrupted::Failed(error.into())
    }
}

/// What another writer may have created between this request's read and its write; its text
/// is the log's account of the race.
#[derive(Debug, thiserror::Error)]
pub(super) enum Race {
    /// Registering a target that was not registered failed: perhaps it is now.
    #[error("registering the target: {0}")]
    Target(#[source] AwsError),
    /// An alarm appeared under the name that was free, before this request's put.
    #[error("the alarm {0} appeared before the put")]
    AlarmAppeared(String),
    /// The alarm this request put under a free name carries another resource's tags: that
    /// resource created it first, and this request's put replaced its definition.
    #[error("the alarm {0} turned out to be another resource's after the put")]
    AlarmTakenAtPut(String),
}

impl Race {
    /// The failure to report when there is no planning again.
    pub fn into_failure(self) -> Failure {
        match self {
            Race::Target(error) => error.into(),
            Race::AlarmAppeared(name) | Race::AlarmTakenAtPut(name) => Failure::AlarmRaced { name },
        }
    }

    /// A registration's own error says more than the failure to read after it.
    pub fn failure_or(self, failure: Failure) -> Failure {
        match self {
            Race::Target(error) => error.into(),
            Race::AlarmAppeared(_) | Race::AlarmTakenAtPut(_) => failure,
        }
    }

    /// A refusal when planning again after this race, with what it may have done to the
    /// alarm first.
    pub fn refused(race: Option<&Race>, refusal: WriteRefusal) -> Failure {
        match (&refusal, race) {
            (WriteRefusal::Alarm { .. }, Some(Race::AlarmTakenAtPut(_))) => {
                Failure::RefusedAfterSimultaneousPut(refusal)
            }
            _ => refusal.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scaling::plan::ownership::ForeignHolder;

    #[test]
    fn a_refusal_after_a_simultaneous_put_says_what_the_put_may_have_done() {
        let refusal = WriteRefusal::Alarm {
            name: "a".into(),
            watches: "AWS/SageMaker HasBacklogWithoutCapacity (EndpointName=e)".into(),
            holder: ForeignHolder::Untagged,
        };
        let race = Race::AlarmTakenAtPut("a".into());
        let failure = Race::refused(Some(&race), refusal.clone());
        // A failure holds an AWS error, which is not compared: the variant and its refusal are.
        assert!(
            matches!(&failure, Failure::RefusedAfterSimultaneousPut(r) if *r == refusal),
            "{failure:?}"
        );
        assert!(failure.to_string().ends_with(
            "It was created at the same moment as this request put it, so this request's \
             definition may have replaced its owner's until the owner's next Update."
        ));
        assert!(matches!(
            Race::refused(None, refusal.clone()),
            Failure::Refused(r) if r == refusal
        ));
        assert_eq!(
            Race::AlarmAppeared("a".into()).into_failure().to_string(),
            "The alarm a was created by another request at the same moment as this one; \
             refusing to write over it."
        );
    }
}
