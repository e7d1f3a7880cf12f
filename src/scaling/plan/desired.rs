//! The desired state: what the properties ask AWS to hold, built by pure code. The target's
//! settings, one [`PolicySpec`] per policy (target tracking, and the step policy of
//! ScaleFromZero), the scheduled actions, and the alarm that fires the step policy.

use super::Owner;
use crate::aws::{AlarmDefinition, TargetSettings};
use crate::contract::{FOLLOWS_ENDPOINT_CONFIG_TAG, Tags};
use crate::policy_spec::{
    Metric, PolicyKind, PolicySpec, Step, StepScaling, TargetTracking, TrackedMetric,
};
use crate::properties::{ScalingProperties, ScheduledAction, Shorthand, TargetTrackingPolicies};
use crate::target::{Kind, ScalableResource};

/// Everything one variant's or inference component's auto scaling is to be.
#[derive(Clone, Debug, PartialEq)]
pub struct Desired {
    pub resource: ScalableResource,
    pub target: TargetSettings,
    /// The target-tracking policies in the order asked, then the step policy.
    pub policies: Vec<PolicySpec>,
    pub schedules: Vec<ScheduledAction>,
    /// With ScaleFromZero.
    pub alarm: Option<DesiredAlarm>,
    /// The user's tags, for the target and the alarm (this resource's own come on top).
    pub tags: Tags,
    pub adopt_existing: bool,
}

/// The alarm that fires the step policy. Its action, the step policy's ARN, is known only once
/// the policy is put.
#[derive(Clone, Debug, PartialEq)]
pub struct DesiredAlarm {
    pub name: String,
    definition: AlarmDefinition,
}

impl DesiredAlarm {
    /// The definition to put, firing the step policy with this ARN.
    pub fn firing(&self, step_policy_arn: &str) -> AlarmDefinition {
        AlarmDefinition {
            alarm_actions: vec![step_policy_arn.to_owned()],
            ..self.definition.clone()
        }
    }
}

impl Desired {
    pub fn new(props: &ScalingProperties, owner: &Owner) -> Self {
        let resource = props.resource.clone();
        let mut policies = target_tracking_policies(props);
        if props.scale_from_zero {
            policies.push(step_policy(resource.kind(), props.step_cooldown));
        }
        Desired {
            target: TargetSettings {
                min_capacity: props.min_capacity,
                max_capacity: props.max_capacity,
                suspended: props.suspended_state,
            },
            policies,
            schedules: props.scheduled_actions.clone(),
            alarm: props.scale_from_zero.then(|| DesiredAlarm {
                name: props.alarm_name.clone(),
                definition: alarm_definition(props, owner),
            }),
            tags: desired_tags(props),
            adopt_existing: props.adopt_existing,
            resource,
        }
    }

    pub fn has_policy(&self, name: &str) -> bool {
        self.policies.iter().any(|p| p.name == name)
    }

    /// The kind of target, which fixes the step policy and the alarm.
    pub fn kind(&self) -> &'static Kind {
        self.resource.kind()
    }
}

/// The user's tags, and the mark of a resource whose Update follows its endpoint's changes.
fn desired_tags(props: &ScalingProperties) -> Tags {
    let mut tags = props.tags.clone();
    if props.endpoint_config_name.is_some() {
        tags.insert(FOLLOWS_ENDPOINT_CONFIG_TAG.to_owned(), "true".to_owned());
    }
    tags
}

fn target_tracking_policies(props: &ScalingProperties) -> Vec<PolicySpec> {
    match &props.target_tracking {
        TargetTrackingPolicies::Shorthand(shorthand) => vec![shorthand_policy(props, shorthand)],
        TargetTrackingPolicies::Listed(listed) => listed
            .iter()
            .map(|policy| PolicySpec {
                name: policy.name.clone(),
                kind: PolicyKind::TargetTracking(policy.tracking.clone()),
            })
            .collect(),
    }
}

/// The shorthand's policy, with every setting sent: an inference component's predefined
/// metric, or a variant metric's average over the endpoint (and the variant, for the instance
/// metrics).
fn shorthand_policy(props: &ScalingProperties, shorthand: &Shorthand) -> PolicySpec {
    let metric = shorthand.metric;
    // The properties give each kind only its own metrics: a variant's are customized, an
    // inference component's predefined.
    debug_assert_eq!(metric.kind(), props.resource.kind());
    let tracked = match (&props.resource, metric.is_predefined()) {
        (ScalableResource::Variant(variant), false) => {
            let mut dimensions = vec![("EndpointName".to_owned(), variant.endpoint_name.clone())];
            if metric.per_variant() {
                dimensions.push(("VariantName".to_owned(), variant.variant_name.clone()));
            }
            TrackedMetric::Customized {
                metric: Metric {
                    namespace: metric.namespace().to_owned(),
                    metric_name: metric.metric_name().to_owned(),
                    dimensions,
                },
                statistic: "Average".to_owned(),
                unit: metric.unit().map(str::to_owned),
            }
        }
        _ => TrackedMetric::Predefined {
            metric_type: metric.metric_name().to_owned(),
            resource_label: None,
        },
    };
    PolicySpec {
        name: metric.policy_name().to_owned(),
        kind: PolicyKind::TargetTracking(TargetTracking {
            target_value: shorthand.target_value,
            metric: tracked,
            scale_in_cooldown: Some(shorthand.scale_in_cooldown),
            scale_out_cooldown: Some(shorthand.scale_out_cooldown),
            disable_scale_in: Some(shorthand.disable_scale_in),
        }),
    }
}

/// The step policy: one more instance or copy as soon as the alarm fires (the metric at or
/// above its threshold), from zero.
fn step_policy(kind: &Kind, cooldown: i32) -> PolicySpec {
    PolicySpec {
        name: kind.step_policy_name.to_owned(),
        kind: PolicyKind::Step(StepScaling {
            cooldown,
            aggregation: kind.step_aggregation.to_owned(),
            steps: vec![Step {
                lower_bound: Some(0.0),
                upper_bound: None,
                adjustment: 1,
            }],
        }),
    }
}

/// The alarm that fires the step policy, on the kind's metric: for a variant, the design's
/// HasBacklogWithoutCapacity (requests wait and no instance runs); for an inference
/// component, NoCapacityInvocationFailures (a request found no copy).
fn alarm_definition(props: &ScalingProperties, owner: &Owner) -> AlarmDefinition {
    let kind = props.resource.kind();
    let settings = &kind.alarm;
    // A variant's ResourceId names its endpoint already.
    let on_endpoint = match (props.resource.variant(), &props.endpoint_name) {
        (None, Some(endpoint)) => format!(" on endpoint {endpoint}"),
        _ => String::new(),
    };
    let description = format!(
        "Adds {} to {}{on_endpoint} ({}) {}. Managed by CloudFormation resource {} of stack {}.",
        kind.one_unit,
        props.resource_id(),
        kind.step_policy_name,
        kind.step_when,
        owner.logical_resource_id,
        owner.stack_id
    );
    let (dimension, value) = props.resource.alarm_dimension();
    AlarmDefinition {
        // CloudWatch's limit is 1024 characters.
        description: description.chars().take(1024).collect(),
        namespace: settings.namespace.to_owned(),
        metric_name: settings.metric_name.to_owned(),
        dimensions: vec![(dimension.to_owned(), value.to_owned())],
        statistic: settings.statistic.to_owned(),
        period: settings.period_seconds,
        evaluation_periods: props.alarm_evaluation_periods,
        datapoints_to_alarm: props.alarm_evaluation_periods,
        threshold: settings.threshold,
        comparison_operator: settings.comparison_operator.to_owned(),
        treat_missing_data: settings.treat_missing_data.to_owned(),
        alarm_actions: Vec::new(),
        other_settings: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy_spec::TargetTracking;
    use crate::scaling::plan::fixtures::*;
    use crate::scaling::plan::ownership::describe_metric;
    use serde_json::json;

    fn tracking(spec: &PolicySpec) -> &TargetTracking {
        match &spec.kind {
            PolicyKind::TargetTracking(tracking) => tracking,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_shorthand_is_one_customized_policy_then_the_step_policy() {
        for (metric, name, namespace, dimensions, unit) in [
            (
                "CPUUtilization",
                "CPUUtil-ScalingPolicy",
                "/aws/sagemaker/Endpoints",
                2,
                Some("Percent"),
            ),
            (
                "GPUUtilization",
                "GPUUtilization-ScalingPolicy",
                "/aws/sagemaker/Endpoints",
                2,
                Some("Percent"),
            ),
            (
                "ApproximateBacklogSizePerInstance",
                "ApproximateBacklogSizePerInstance-ScalingPolicy",
                "AWS/SageMaker",
                1,
                None,
            ),
        ] {
            let desired =
                desired(json!({"TargetMetric": metric, "TargetValue": 7, "ScaleInCooldown": 60}));
            let [policy, step] = desired.policies.as_slice() else {
                panic!("{:?}", desired.policies);
            };
            assert_eq!(policy.name, name);
            let expected_dimensions = [("EndpointName", "esd"), ("VariantName", "prod")];
            let expected = TargetTracking {
                target_value: 7.0,
                metric: TrackedMetric::Customized {
                    metric: Metric {
                        namespace: namespace.into(),
                        metric_name: metric.into(),
                        dimensions: expected_dimensions[..dimensions]
                            .iter()
                            .map(|(k, v)| (k.to_string(), v.to_string()))
                            .collect(),
                    },
                    statistic: "Average".into(),
                    unit: unit.map(str::to_owned),
                },
                scale_in_cooldown: Some(60),
                scale_out_cooldown: Some(300),
                disable_scale_in: Some(false),
            };
            assert_eq!(tracking(policy), &expected);
            assert_eq!(
                step.kind,
                PolicyKind::Step(StepScaling {
                    cooldown: 300,
                    aggregation: "Average".into(),
                    steps: vec![Step {
                        lower_bound: Some(0.0),
                        upper_bound: None,
                        adjustment: 1
                    }],
                })
            );
        }
    }

    #[test]
    fn listed_policies_are_put_as_given_and_without_scale_from_zero_there_is_no_step() {
        let desired = desired(json!({"ScaleFromZero": false, "TargetTrackingPolicies": [
            {"PolicyName": "gpu", "TargetValue": "50",
             "CustomizedMetricSpecification": {"MetricName": "GPUUtilization",
                "Namespace": "/aws/sagemaker/Endpoints", "Statistic": "Maximum",
                "Dimensions": [{"Name": "EndpointName", "Value": "esd"}]}},
        ]}));
        let [policy] = desired.policies.as_slice() else {
            panic!("{:?}", desired.policies);
        };
        assert_eq!(policy.name, "gpu");
        let tracking = tracking(policy);
        assert_eq!(tracking.target_value, 50.0);
        assert_eq!(
            (
                tracking.scale_in_cooldown,
                tracking.scale_out_cooldown,
                tracking.disable_scale_in
            ),
            (None, None, None),
            "left to Application Auto Scaling's defaults, as the native resource does"
        );
        assert!(
            matches!(&tracking.metric, TrackedMetric::Customized { statistic, .. } if statistic == "Maximum")
        );
        assert_eq!(desired.alarm, None);
    }

    #[test]
    fn the_alarm_watches_the_endpoints_backlog_without_capacity_and_fires_the_step_policy() {
        let desired = desired(json!({"AlarmEvaluationPeriods": 3}));
        let step = step_policy_of("prod");
        let definition = desired.alarm.as_ref().unwrap().firing(&step);
        assert_eq!(
            describe_metric(
                &definition.namespace,
                &definition.metric_name,
                &definition.dimensions
            ),
            "AWS/SageMaker HasBacklogWithoutCapacity (EndpointName=esd)"
        );
        assert_eq!(
            (definition.statistic.as_str(), definition.period),
            ("Average", 60)
        );
        assert_eq!(
            (
                definition.evaluation_periods,
                definition.datapoints_to_alarm
            ),
            (3, 3)
        );
        assert_eq!(definition.threshold, 1.0);
        assert_eq!(
            definition.comparison_operator,
            "GreaterThanOrEqualToThreshold"
        );
        assert_eq!(definition.treat_missing_data, "missing");
        assert_eq!(definition.alarm_actions, [step]);
        assert!(
            definition
                .description
                .contains("Managed by CloudFormation resource Scaling")
        );
        assert!(definition.description.contains(STACK));
    }

    #[test]
    fn an_inference_component_tracks_invocations_per_copy_and_wakes_on_a_refused_request() {
        let props = ScalingProperties::parse(&json!({
            "InferenceComponentName": "llama-ic", "EndpointName": "llm", "MaxCapacity": 4
        }))
        .unwrap();
        let desired = Desired::new(&props, &owner());
        let [policy, step] = desired.policies.as_slice() else {
            panic!("{:?}", desired.policies);
        };
        assert_eq!(policy.name, "InvocationsPerCopy-ScalingPolicy");
        assert_eq!(
            tracking(policy),
            &TargetTracking {
                target_value: 1.0,
                metric: TrackedMetric::Predefined {
                    metric_type: "SageMakerInferenceComponentInvocationsPerCopy".into(),
                    resource_label: None,
                },
                scale_in_cooldown: Some(300),
                scale_out_cooldown: Some(300),
                disable_scale_in: Some(false),
            }
        );
        assert_eq!(step.name, "NoCapacityInvocationFailures-ScalingPolicy");
        assert_eq!(
            step.kind,
            PolicyKind::Step(StepScaling {
                cooldown: 60,
                aggregation: "Maximum".into(),
                steps: vec![Step {
                    lower_bound: Some(0.0),
                    upper_bound: None,
                    adjustment: 1
                }],
            })
        );
        let alarm = desired.alarm.as_ref().unwrap();
        assert_eq!(alarm.name, "llama-ic-NoCapacityInvocationFailures");
        let definition = alarm.firing("arn:step");
        assert_eq!(
            describe_metric(
                &definition.namespace,
                &definition.metric_name,
                &definition.dimensions
            ),
            "AWS/SageMaker NoCapacityInvocationFailures (InferenceComponentName=llama-ic)"
        );
        assert_eq!(
            (
                definition.statistic.as_str(),
                definition.period,
                definition.evaluation_periods,
                definition.datapoints_to_alarm,
                definition.threshold,
                definition.comparison_operator.as_str(),
            ),
            ("Sum", 60, 1, 1, 1.0, "GreaterThanOrEqualToThreshold")
        );
        assert!(definition.description.starts_with(
            "Adds a copy to inference-component/llama-ic on endpoint llm \
             (NoCapacityInvocationFailures-ScalingPolicy) when a request finds no copy to serve it."
        ));
    }
}
