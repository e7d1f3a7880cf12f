//! The decisions, as pure functions of what was asked and what AWS holds: whose each object is
//! ([`ownership`]), what the properties ask for ([`desired`]), what a Create or an Update puts
//! and removes ([`configure`]), and what a Delete or a rollback removes ([`delete`]). The async
//! code in the parent module only gathers the inputs ([`Observed`]) and carries the plans out,
//! so every rule here is tested without AWS.

pub mod configure;
pub mod delete;
pub mod desired;
pub mod ownership;

pub use configure::{
    AlarmWrite, ConfigurePlan, Intent, PolicyWrite, TagChanges, TargetWrite,
    alarm_names_to_observe, plan_configure,
};
pub use delete::{Created, DeletePlan, Made, alarm_names_to_delete, plan_delete, plan_rollback};
pub use desired::Desired;
pub use ownership::{
    FoundAlarm, FoundTarget, HeldPolicies, Observed, Owner, Ownership, WriteRefusal,
};

/// What the tests of every plan build on: two owners, properties, and what AWS may hold.
#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;
    use crate::aws::AlarmDefinition;
    use crate::contract::Tags;
    use crate::properties::ScalingProperties;
    use crate::target::{ScalableResource, VariantId};

    pub const STACK: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/a/1";
    pub const ALARM: &str = "esd-prod-HasBacklogWithoutCapacity";
    pub const LEGACY_ALARM: &str = "esd-HasBacklogWithoutCapacity";

    pub fn owner() -> Owner {
        Owner {
            stack_id: STACK.into(),
            logical_resource_id: "Scaling".into(),
        }
    }

    pub fn other_owner() -> Owner {
        Owner {
            stack_id: "arn:aws:cloudformation:us-east-1:123456789012:stack/b/2".into(),
            logical_resource_id: "Scaling".into(),
        }
    }

    pub fn props(extra: serde_json::Value) -> ScalingProperties {
        let mut properties = serde_json::json!({"EndpointName": "esd", "VariantName": "prod"});
        for (k, v) in extra.as_object().unwrap() {
            properties[k] = v.clone();
        }
        ScalingProperties::parse(&properties).unwrap()
    }

    /// The desired state of `props(extra)`.
    pub fn desired(extra: serde_json::Value) -> Desired {
        Desired::new(&props(extra), &owner())
    }

    pub fn variant() -> ScalableResource {
        ScalableResource::Variant(VariantId::new("esd", "prod"))
    }

    pub fn target(ownership: Ownership) -> FoundTarget {
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

    pub fn step_policy_of(variant: &str) -> String {
        format!(
            "arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:0f:resource/sagemaker/\
             endpoint/esd/variant/{variant}:policyName/HasBacklogWithoutCapacity-ScalingPolicy"
        )
    }

    pub fn alarm(name: &str, ownership: Ownership, actions: &[String]) -> FoundAlarm {
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

    pub fn configure(
        desired: &Desired,
        observed: &Observed,
    ) -> Result<ConfigurePlan, WriteRefusal> {
        plan_configure(desired, Intent::Configure, &owner(), observed)
    }

    pub fn reconfigure(
        desired: &Desired,
        previous: &Desired,
        observed: &Observed,
    ) -> Result<ConfigurePlan, WriteRefusal> {
        let intent = Intent::Reconfigure {
            previous: Some(previous),
        };
        plan_configure(desired, intent, &owner(), observed)
    }

    pub fn tags(pairs: &[(&str, &str)]) -> Tags {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    pub fn with_tags(mut owned: Tags, pairs: &[(&str, &str)]) -> Tags {
        owned.extend(tags(pairs));
        owned
    }
}
