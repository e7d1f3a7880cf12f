//! Reading what AWS holds before a plan is made.

use super::Failure;
use super::plan::{FoundAlarm, FoundTarget, HeldPolicies, Observed, Owner, Ownership};
use crate::aws::{AwsError, ScalingApi};
use crate::contract::Tags;
use crate::target::ScalableResource;
use tracing::warn;

/// Reads what AWS holds for the target (when given) and under the alarm names: one round trip
/// for the target and the alarms, one for their tags and (with `read_policies`) the target's
/// policies. Tags that cannot be read leave the ownership unknown, for the plan to weigh; that
/// is not an error.
pub(super) async fn observe(
    api: &ScalingApi,
    resource: Option<&ScalableResource>,
    alarm_names: &[String],
    owner: &Owner,
    read_policies: bool,
) -> Result<Observed, Failure> {
    let target = async {
        match resource {
            Some(resource) => api.find_target(resource).await,
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
    let registered = target.is_some();
    // Policies that cannot be read are no error either: the plan then removes only what the
    // previous properties had, so that an Update (CloudFormation's rollback above all) still
    // goes through with a role that lacks DescribeScalingPolicies.
    let policies = async {
        match resource {
            Some(resource) if registered && read_policies => match api.policies(resource).await {
                Ok(policies) => HeldPolicies::Read(policies),
                Err(error) => {
                    warn!(error = %error, "the target's policies could not be read");
                    HeldPolicies::Unreadable(error.to_string())
                }
            },
            _ => HeldPolicies::NotRead,
        }
    };
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
    let (target, alarms, policies) = tokio::join!(target, alarms, policies);
    Ok(Observed {
        target,
        alarms,
        policies,
    })
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
