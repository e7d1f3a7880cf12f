//! The decisions, as pure functions of what was asked and what AWS holds: whether a variant
//! may be configured, and what an Update or a Delete removes. The async code in the parent
//! module only gathers the inputs and carries the plans out, so every rule here is tested
//! without AWS.

use crate::contract::{ALL_POLICY_NAMES, STEP_POLICY_NAME, VariantId};
use crate::properties::ScalingProperties;

/// The CloudFormation resource on whose behalf the function acts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owner {
    pub stack_id: String,
    pub logical_resource_id: String,
}

/// What AWS holds for a variant's scalable target, as far as ownership goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetFound {
    Absent,
    /// Registered, and its ownership tags name this very resource.
    Ours,
    /// Registered by something else (or its ownership was not read, since it did not matter).
    NotOurs,
}

/// How the variant's scalable target is to be registered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetPlan {
    /// Nothing is registered: register it with this resource's ownership tags. A failure
    /// removes it again.
    Create,
    /// Registered by this resource earlier (a repeated Create, a rollback to this variant).
    Reuse,
    /// Registered by something else, taken over because `AdoptExisting` says so.
    Adopt,
}

impl TargetPlan {
    pub fn creates(&self) -> bool {
        *self == TargetPlan::Create
    }
}

/// Why a request was refused before anything was changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal(pub String);

/// Whether this resource may configure the variant, and how. A scalable target that something
/// else registered is never taken over silently.
pub fn plan_target(
    variant: &VariantId,
    found: &TargetFound,
    adopt_existing: bool,
) -> Result<TargetPlan, Refusal> {
    match found {
        TargetFound::Absent => Ok(TargetPlan::Create),
        TargetFound::Ours => Ok(TargetPlan::Reuse),
        TargetFound::NotOurs if adopt_existing => Ok(TargetPlan::Adopt),
        TargetFound::NotOurs => Err(Refusal(format!(
            "A scalable target is already registered for {} and this resource did not \
             register it: refusing to take over a scaling setup that something else manages. \
             Deregister it first, or set AdoptExisting to true to manage it from this stack.",
            variant.resource_id()
        ))),
    }
}

/// What an in-place Update removes after it has applied the new properties.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Removals {
    pub policies: Vec<&'static str>,
    /// An alarm to delete, if it still fires this variant's step policy.
    pub alarm: Option<String>,
}

/// What the old properties had and the new ones do not: the old target-tracking policy when the
/// metric changed, the step policy when ScaleFromZero turned off, the old alarm when it was
/// turned off or renamed.
pub fn plan_removals(old: &ScalingProperties, new: &ScalingProperties) -> Removals {
    let mut policies = Vec::new();
    if old.target_metric != new.target_metric {
        policies.push(old.target_metric.policy_name());
    }
    if old.scale_from_zero && !new.scale_from_zero {
        policies.push(STEP_POLICY_NAME);
    }
    let alarm_dropped = !new.scale_from_zero || old.alarm_name != new.alarm_name;
    Removals {
        policies,
        alarm: (old.scale_from_zero && alarm_dropped).then(|| old.alarm_name.clone()),
    }
}

/// What removing a variant's scaling deletes: every policy this resource ever puts, the target,
/// and the alarm if it still fires this variant's step policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Teardown {
    pub variant: VariantId,
    pub policies: [&'static str; 3],
    pub alarm: Option<String>,
}

pub fn plan_teardown(variant: &VariantId, alarm_name: Option<&str>) -> Teardown {
    Teardown {
        variant: variant.clone(),
        policies: ALL_POLICY_NAMES,
        alarm: alarm_name.map(str::to_owned),
    }
}

/// Whether an alarm with these actions is this variant's: an alarm name can be shared over time
/// (the default is per endpoint, so a renamed variant's new alarm has the old one's name), and
/// an alarm that now serves another variant must survive the old one's removal.
pub fn alarm_is_the_variants(actions: &[String], variant: &VariantId) -> bool {
    actions.iter().any(|arn| fires_step_policy_of(arn, variant))
}

/// Scaling policy ARNs end in `:resource/sagemaker/<ResourceId>:policyName/<PolicyName>`.
fn fires_step_policy_of(action_arn: &str, variant: &VariantId) -> bool {
    let suffix = format!(
        ":resource/sagemaker/{}:policyName/{STEP_POLICY_NAME}",
        variant.resource_id()
    );
    action_arn.ends_with(&suffix)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn variant() -> VariantId {
        VariantId::new("esd", "prod")
    }

    fn props(extra: serde_json::Value) -> ScalingProperties {
        let mut properties = json!({"EndpointName": "esd", "VariantName": "prod"});
        for (k, v) in extra.as_object().unwrap() {
            properties[k] = v.clone();
        }
        ScalingProperties::parse(&properties).unwrap()
    }

    #[test]
    fn a_variant_with_no_target_is_created_and_would_be_rolled_back() {
        let plan = plan_target(&variant(), &TargetFound::Absent, false).unwrap();
        assert_eq!(plan, TargetPlan::Create);
        assert!(plan.creates());
    }

    #[test]
    fn this_resources_own_target_is_reused_and_never_rolled_back() {
        let plan = plan_target(&variant(), &TargetFound::Ours, false).unwrap();
        assert_eq!(plan, TargetPlan::Reuse);
        assert!(!plan.creates());
    }

    #[test]
    fn a_target_registered_by_something_else_is_refused_naming_adopt_existing() {
        let Refusal(reason) = plan_target(&variant(), &TargetFound::NotOurs, false).unwrap_err();
        assert!(reason.contains("already registered for endpoint/esd/variant/prod"));
        assert!(reason.contains("AdoptExisting"));
    }

    #[test]
    fn adopt_existing_takes_over_a_target_without_ever_rolling_it_back() {
        let plan = plan_target(&variant(), &TargetFound::NotOurs, true).unwrap();
        assert_eq!(plan, TargetPlan::Adopt);
        assert!(!plan.creates());
    }

    #[test]
    fn an_update_that_changes_nothing_removes_nothing() {
        let same = props(json!({}));
        assert_eq!(plan_removals(&same, &same), Removals::default());
    }

    #[test]
    fn switching_the_metric_removes_the_old_target_tracking_policy() {
        let old = props(json!({}));
        let new = props(json!({"TargetMetric": "ApproximateBacklogSizePerInstance"}));
        let removals = plan_removals(&old, &new);
        assert_eq!(removals.policies, ["CPUUtil-ScalingPolicy"]);
        assert_eq!(removals.alarm, None);
    }

    #[test]
    fn scale_from_zero_off_removes_the_step_policy_and_its_alarm() {
        let old = props(json!({}));
        let new = props(json!({"ScaleFromZero": "false"}));
        let removals = plan_removals(&old, &new);
        assert_eq!(
            removals.policies,
            ["HasBacklogWithoutCapacity-ScalingPolicy"]
        );
        assert_eq!(
            removals.alarm.as_deref(),
            Some("esd-HasBacklogWithoutCapacity")
        );
    }

    #[test]
    fn scale_from_zero_on_removes_nothing() {
        let old = props(json!({"ScaleFromZero": "false"}));
        let new = props(json!({}));
        assert_eq!(plan_removals(&old, &new), Removals::default());
    }

    #[test]
    fn a_renamed_alarm_removes_the_old_one() {
        let old = props(json!({}));
        let new = props(json!({"AlarmName": "wake-up"}));
        let removals = plan_removals(&old, &new);
        assert!(removals.policies.is_empty());
        assert_eq!(
            removals.alarm.as_deref(),
            Some("esd-HasBacklogWithoutCapacity")
        );
    }

    #[test]
    fn teardown_removes_every_policy_name_the_resource_uses() {
        let teardown = plan_teardown(&variant(), Some("a"));
        assert_eq!(
            teardown.policies,
            [
                "CPUUtil-ScalingPolicy",
                "ApproximateBacklogSizePerInstance-ScalingPolicy",
                "HasBacklogWithoutCapacity-ScalingPolicy"
            ]
        );
        assert_eq!(teardown.alarm.as_deref(), Some("a"));
    }

    #[test]
    fn an_alarm_is_the_variants_only_while_it_fires_that_variants_step_policy() {
        let policy = "arn:aws-cn:autoscaling:cn-north-1:123456789012:scalingPolicy:0f:resource/sagemaker/endpoint/esd/variant/prod:policyName/HasBacklogWithoutCapacity-ScalingPolicy";
        assert!(alarm_is_the_variants(&[policy.to_owned()], &variant()));
        assert!(!alarm_is_the_variants(
            &[policy.to_owned()],
            &VariantId::new("esd", "blue")
        ));
        let cpu = policy.replace(STEP_POLICY_NAME, "CPUUtil-ScalingPolicy");
        assert!(!alarm_is_the_variants(&[cpu], &variant()));
        assert!(!alarm_is_the_variants(&[], &variant()));
    }
}
