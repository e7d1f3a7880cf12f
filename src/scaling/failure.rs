//! Why an operation failed, as a value: tests match the variant, and the wording a stack's
//! events show is in one place, [`Failure`]'s `Display`.

use super::endpoint::EndpointProblem;
use super::plan::Refusal;
use crate::aws::AwsError;
use crate::properties::InvalidProperties;
use std::fmt;

#[derive(Clone, Debug, PartialEq)]
pub enum Failure {
    /// The properties were refused before any AWS call, each problem named by its path.
    Invalid(InvalidProperties),
    /// An AWS call failed for good, or ran out of time retrying.
    Aws(AwsError),
    /// An object to write is not this resource's.
    Refused(Refusal),
    /// An alarm to write turned out to be another resource's after this request put it under
    /// the same name at the same moment: the owner's definition may be this request's until
    /// the owner's next Update.
    RefusedAfterSimultaneousPut(Refusal),
    /// Another request created the alarm at the same moment as this one, again and again.
    AlarmRaced { name: String },
    /// The endpoint does not run the configuration the properties name (`EndpointConfigName`).
    Endpoint(EndpointProblem),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Invalid(problems) => problems.fmt(f),
            Failure::Aws(error) => error.fmt(f),
            Failure::Refused(refusal) => refusal.fmt(f),
            Failure::RefusedAfterSimultaneousPut(refusal) => write!(
                f,
                "{refusal} It was created at the same moment as this request put it, so this \
                 request's definition may have replaced its owner's until the owner's next \
                 Update."
            ),
            Failure::AlarmRaced { name } => write!(
                f,
                "The alarm {name} was created by another request at the same moment as this \
                 one; refusing to write over it."
            ),
            Failure::Endpoint(problem) => problem.fmt(f),
        }
    }
}

impl From<AwsError> for Failure {
    fn from(error: AwsError) -> Self {
        Failure::Aws(error)
    }
}

impl From<EndpointProblem> for Failure {
    fn from(problem: EndpointProblem) -> Self {
        Failure::Endpoint(problem)
    }
}

impl From<Refusal> for Failure {
    fn from(refusal: Refusal) -> Self {
        Failure::Refused(refusal)
    }
}

impl From<InvalidProperties> for Failure {
    fn from(problems: InvalidProperties) -> Self {
        Failure::Invalid(problems)
    }
}

/// Why applying a plan stopped.
pub(super) enum Interrupted {
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
pub(super) enum Race {
    /// Registering a target that was not registered failed: perhaps it is now.
    Target(AwsError),
    /// An alarm appeared under the name that was free, before this request's put.
    AlarmAppeared(String),
    /// The alarm this request put under a free name carries another resource's tags: that
    /// resource created it first, and this request's put replaced its definition.
    AlarmTakenAtPut(String),
}

impl Race {
    pub fn describe(&self) -> String {
        match self {
            Race::Target(error) => format!("registering the target: {error}"),
            Race::AlarmAppeared(name) => format!("the alarm {name} appeared before the put"),
            Race::AlarmTakenAtPut(name) => {
                format!("the alarm {name} turned out to be another resource's after the put")
            }
        }
    }

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
    pub fn refused(race: Option<&Race>, refusal: Refusal) -> Failure {
        match (&refusal, race) {
            (Refusal::Alarm { .. }, Some(Race::AlarmTakenAtPut(_))) => {
                Failure::RefusedAfterSimultaneousPut(refusal)
            }
            _ => refusal.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scaling::plan::Holder;

    #[test]
    fn a_refusal_after_a_simultaneous_put_says_what_the_put_may_have_done() {
        let refusal = Refusal::Alarm {
            name: "a".into(),
            watches: "AWS/SageMaker HasBacklogWithoutCapacity (EndpointName=e)".into(),
            holder: Holder::Untagged,
        };
        let race = Race::AlarmTakenAtPut("a".into());
        let failure = Race::refused(Some(&race), refusal.clone());
        assert_eq!(
            failure,
            Failure::RefusedAfterSimultaneousPut(refusal.clone())
        );
        assert!(failure.to_string().ends_with(
            "It was created at the same moment as this request put it, so this request's \
             definition may have replaced its owner's until the owner's next Update."
        ));
        assert_eq!(
            Race::refused(None, refusal.clone()),
            Failure::Refused(refusal)
        );
        assert_eq!(
            Race::AlarmAppeared("a".into()).into_failure().to_string(),
            "The alarm a was created by another request at the same moment as this one; \
             refusing to write over it."
        );
    }
}
