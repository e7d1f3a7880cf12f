//! What a scaling resource scales: the model of its target. A kind of target ([`Kind`]) fixes
//! the scalable dimension, the shorthand's metrics, the step policy and the alarm that fires it;
//! a [`ScalableResource`] is one target of a kind, by its name. This is where a new kind of
//! target goes: one [`Kind`] in [`KINDS`], one [`ScalableResource`] variant (its `ResourceId`,
//! its alarm dimension's value and its default alarm name) and its [`TargetMetric`]s; the
//! properties, the desired state and the AWS seam follow from those. The names users see (the
//! policies' among them) are in [`crate::contract`].

use crate::contract::{
    BACKLOG_POLICY_NAME, CPU_POLICY_NAME, GPU_POLICY_NAME, IC_STEP_POLICY_NAME, STEP_POLICY_NAME,
};

/// The metric the one-policy shorthand (`TargetMetric`) tracks, with its CloudWatch identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetMetric {
    /// The design's policy: the variant's CPU, in the endpoint's instance metrics.
    CpuUtilization,
    /// What the SageMaker guide recommends for asynchronous endpoints: queued requests per
    /// instance, which also has data at zero instances.
    ApproximateBacklogSizePerInstance,
    /// The variant's GPUs, in the endpoint's instance metrics: summed over an instance's GPUs,
    /// so 400 % is four busy GPUs.
    GpuUtilization,
    /// An inference component's requests per copy per minute (predefined).
    InvocationsPerCopy,
    /// An inference component's concurrent requests per copy, every 10 s (predefined).
    ConcurrentRequestsPerCopy,
}

impl TargetMetric {
    pub const ALL: [TargetMetric; 5] = [
        TargetMetric::CpuUtilization,
        TargetMetric::ApproximateBacklogSizePerInstance,
        TargetMetric::GpuUtilization,
        TargetMetric::InvocationsPerCopy,
        TargetMetric::ConcurrentRequestsPerCopy,
    ];

    /// The name users write in `TargetMetric`: the CloudWatch metric's name, or for a
    /// predefined metric, its type.
    pub fn metric_name(self) -> &'static str {
        match self {
            TargetMetric::CpuUtilization => "CPUUtilization",
            TargetMetric::ApproximateBacklogSizePerInstance => "ApproximateBacklogSizePerInstance",
            TargetMetric::GpuUtilization => "GPUUtilization",
            TargetMetric::InvocationsPerCopy => "SageMakerInferenceComponentInvocationsPerCopy",
            TargetMetric::ConcurrentRequestsPerCopy => {
                "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution"
            }
        }
    }

    /// The kind of resource whose metric it is.
    pub fn kind(self) -> &'static Kind {
        match self {
            TargetMetric::CpuUtilization
            | TargetMetric::ApproximateBacklogSizePerInstance
            | TargetMetric::GpuUtilization => &VARIANT,
            TargetMetric::InvocationsPerCopy | TargetMetric::ConcurrentRequestsPerCopy => {
                &INFERENCE_COMPONENT
            }
        }
    }

    /// Whether Application Auto Scaling knows the metric (`PredefinedMetricSpecification`);
    /// the others are put as a `CustomizedMetricSpecification` on the variant.
    pub fn is_predefined(self) -> bool {
        self.kind().predefined_shorthand
    }

    pub fn policy_name(self) -> &'static str {
        match self {
            TargetMetric::CpuUtilization => CPU_POLICY_NAME,
            TargetMetric::ApproximateBacklogSizePerInstance => BACKLOG_POLICY_NAME,
            TargetMetric::GpuUtilization => GPU_POLICY_NAME,
            TargetMetric::InvocationsPerCopy => "InvocationsPerCopy-ScalingPolicy",
            TargetMetric::ConcurrentRequestsPerCopy => "ConcurrentRequestsPerCopy-ScalingPolicy",
        }
    }

    /// `TargetValue`'s default, its kind's.
    pub fn default_target_value(self) -> f64 {
        self.kind().default_target_value
    }

    /// The metric's CloudWatch namespace.
    pub fn namespace(self) -> &'static str {
        match self {
            TargetMetric::CpuUtilization | TargetMetric::GpuUtilization => {
                "/aws/sagemaker/Endpoints"
            }
            TargetMetric::ApproximateBacklogSizePerInstance
            | TargetMetric::InvocationsPerCopy
            | TargetMetric::ConcurrentRequestsPerCopy => "AWS/SageMaker",
        }
    }

    /// The instance metrics are published per variant; the backlog per endpoint.
    pub fn per_variant(self) -> bool {
        matches!(
            self,
            TargetMetric::CpuUtilization | TargetMetric::GpuUtilization
        )
    }

    /// The unit of a customized metric, which a predefined one does not take.
    pub fn unit(self) -> Option<&'static str> {
        match self {
            TargetMetric::CpuUtilization | TargetMetric::GpuUtilization => Some("Percent"),
            TargetMetric::ApproximateBacklogSizePerInstance
            | TargetMetric::InvocationsPerCopy
            | TargetMetric::ConcurrentRequestsPerCopy => None,
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.metric_name() == text)
    }
}

/// What one kind of scalable resource fixes: its dimension, its default target metric, its step
/// policy and the alarm that fires it. A new kind of target is one of these in [`KINDS`], a
/// [`ScalableResource`] variant (its `ResourceId`, its alarm dimension's value and its default
/// alarm name), and its [`TargetMetric`]s; the properties and the desired state follow.
#[derive(Debug, PartialEq)]
pub struct Kind {
    /// What the resource is called in a Reason, after "an": "endpoint variant".
    pub noun: &'static str,
    /// The scalable dimension of Application Auto Scaling.
    pub scalable_dimension: &'static str,
    /// One unit of capacity, for the alarm's description: "an instance".
    pub one_unit: &'static str,
    /// The predefined metric types of Application Auto Scaling that belong to this kind.
    pub predefined_metric_prefix: &'static str,
    /// The one-policy shorthand's metric when `TargetMetric` is not given.
    pub default_metric: TargetMetric,
    /// `TargetValue`'s default in the one-policy shorthand.
    pub default_target_value: f64,
    /// Whether the shorthand's metrics are predefined ones (else customized, on the variant).
    pub predefined_shorthand: bool,
    pub step_policy_name: &'static str,
    /// The step policy's `MetricAggregationType`.
    pub step_aggregation: &'static str,
    /// `StepCooldown`'s default.
    pub step_cooldown: i32,
    /// When the step policy acts, for the alarm's description.
    pub step_when: &'static str,
    pub alarm: AlarmSettings,
}

/// The fixed settings of the alarm that fires the step policy; its dimension comes from the
/// resource, and `AlarmEvaluationPeriods` (this default) sets both EvaluationPeriods and
/// DatapointsToAlarm.
#[derive(Debug, PartialEq)]
pub struct AlarmSettings {
    pub metric_name: &'static str,
    pub namespace: &'static str,
    /// The metric's one dimension: the resource's endpoint or its own name.
    pub dimension: &'static str,
    pub statistic: &'static str,
    pub period_seconds: i32,
    pub evaluation_periods: i32,
    pub comparison_operator: &'static str,
    pub threshold: f64,
    pub treat_missing_data: &'static str,
}

/// An endpoint variant's instances, as the design configures them: the alarm watches the
/// endpoint's requests waiting with no instance, averaged over two minutes.
pub const VARIANT: Kind = Kind {
    noun: "endpoint variant",
    scalable_dimension: "sagemaker:variant:DesiredInstanceCount",
    one_unit: "an instance",
    predefined_metric_prefix: "SageMakerVariant",
    default_metric: TargetMetric::CpuUtilization,
    // The design's 50 % CPU.
    default_target_value: 50.0,
    predefined_shorthand: false,
    step_policy_name: STEP_POLICY_NAME,
    step_aggregation: "Average",
    step_cooldown: 300,
    step_when: "when requests wait and none runs",
    alarm: AlarmSettings {
        metric_name: "HasBacklogWithoutCapacity",
        namespace: "AWS/SageMaker",
        // SageMaker publishes the backlog per endpoint only.
        dimension: "EndpointName",
        statistic: "Average",
        period_seconds: 60,
        evaluation_periods: 2,
        comparison_operator: "GreaterThanOrEqualToThreshold",
        threshold: 1.0,
        treat_missing_data: "missing",
    },
};

/// An inference component's copies, as the SageMaker guide's "Scale an endpoint to zero
/// instances" sets them up, except the comparison: at or above 1 (not above 1), so that the
/// first request refused for want of a copy starts one.
pub const INFERENCE_COMPONENT: Kind = Kind {
    noun: "inference component",
    scalable_dimension: "sagemaker:inference-component:DesiredCopyCount",
    one_unit: "a copy",
    predefined_metric_prefix: "SageMakerInferenceComponent",
    default_metric: TargetMetric::InvocationsPerCopy,
    // The SageMaker guide's: one request per copy per minute.
    default_target_value: 1.0,
    predefined_shorthand: true,
    step_policy_name: IC_STEP_POLICY_NAME,
    step_aggregation: "Maximum",
    step_cooldown: 60,
    step_when: "when a request finds no copy to serve it",
    alarm: AlarmSettings {
        metric_name: "NoCapacityInvocationFailures",
        namespace: "AWS/SageMaker",
        dimension: "InferenceComponentName",
        statistic: "Sum",
        period_seconds: 60,
        evaluation_periods: 1,
        comparison_operator: "GreaterThanOrEqualToThreshold",
        threshold: 1.0,
        treat_missing_data: "missing",
    },
};

/// Every kind of target, for what is said of all of them (which kind a predefined metric is
/// for).
pub const KINDS: [&Kind; 2] = [&VARIANT, &INFERENCE_COMPONENT];

/// What a scaling resource scales: the resource its scalable target names.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ScalableResource {
    /// An endpoint variant's instance count.
    Variant(VariantId),
    /// An inference component's copy count, by the component's name.
    InferenceComponent(String),
}

impl ScalableResource {
    pub fn kind(&self) -> &'static Kind {
        match self {
            ScalableResource::Variant(_) => &VARIANT,
            ScalableResource::InferenceComponent(_) => &INFERENCE_COMPONENT,
        }
    }

    /// The scalable target's ResourceId, which is also the custom resource's
    /// PhysicalResourceId: `endpoint/<EndpointName>/variant/<VariantName>` or
    /// `inference-component/<InferenceComponentName>`.
    pub fn resource_id(&self) -> String {
        match self {
            ScalableResource::Variant(variant) => variant.resource_id(),
            ScalableResource::InferenceComponent(name) => format!("inference-component/{name}"),
        }
    }

    /// Reads a PhysicalResourceId back. Anything that is not exactly a resource id this
    /// resource could have answered (a failed Create's id, say) is `None`.
    pub fn from_resource_id(resource_id: &str) -> Option<Self> {
        if let Some(name) = resource_id.strip_prefix("inference-component/") {
            return is_sagemaker_name(name)
                .then(|| ScalableResource::InferenceComponent(name.to_owned()));
        }
        VariantId::from_resource_id(resource_id).map(ScalableResource::Variant)
    }

    /// The dimension of the alarm's metric, with its value: the variant's endpoint, or the
    /// component.
    pub fn alarm_dimension(&self) -> (&'static str, &str) {
        let value = match self {
            ScalableResource::Variant(variant) => &variant.endpoint_name,
            ScalableResource::InferenceComponent(name) => name,
        };
        (self.kind().alarm.dimension, value)
    }

    /// The alarm name used when `AlarmName` is not given: one alarm per target (per variant,
    /// not per endpoint, so that two variants of one endpoint each keep an alarm that fires
    /// their own step policy).
    pub fn default_alarm_name(&self) -> String {
        let metric = self.kind().alarm.metric_name;
        match self {
            ScalableResource::Variant(v) => {
                format!("{}-{}-{metric}", v.endpoint_name, v.variant_name)
            }
            ScalableResource::InferenceComponent(name) => format!("{name}-{metric}"),
        }
    }

    /// The default alarm name of this resource's first release, one per endpoint. An alarm
    /// still under this name that fires the variant's step policy is this resource's, and
    /// goes when the variant's scaling is updated or deleted.
    pub fn legacy_alarm_name(&self) -> Option<String> {
        match self {
            ScalableResource::Variant(v) => {
                Some(format!("{}-{}", v.endpoint_name, VARIANT.alarm.metric_name))
            }
            ScalableResource::InferenceComponent(_) => None,
        }
    }

    /// The endpoint variant, for what only variants have (an endpoint configuration).
    pub fn variant(&self) -> Option<&VariantId> {
        match self {
            ScalableResource::Variant(variant) => Some(variant),
            ScalableResource::InferenceComponent(_) => None,
        }
    }
}

impl From<VariantId> for ScalableResource {
    fn from(variant: VariantId) -> Self {
        ScalableResource::Variant(variant)
    }
}

impl From<&VariantId> for ScalableResource {
    fn from(variant: &VariantId) -> Self {
        ScalableResource::Variant(variant.clone())
    }
}

/// One endpoint variant.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct VariantId {
    pub endpoint_name: String,
    pub variant_name: String,
}

impl VariantId {
    pub fn new(endpoint_name: &str, variant_name: &str) -> Self {
        VariantId {
            endpoint_name: endpoint_name.to_owned(),
            variant_name: variant_name.to_owned(),
        }
    }

    /// `endpoint/<EndpointName>/variant/<VariantName>`.
    pub fn resource_id(&self) -> String {
        format!(
            "endpoint/{}/variant/{}",
            self.endpoint_name, self.variant_name
        )
    }

    /// Reads a variant's resource id back, strictly.
    pub fn from_resource_id(resource_id: &str) -> Option<Self> {
        let rest = resource_id.strip_prefix("endpoint/")?;
        let (endpoint_name, variant_name) = rest.split_once("/variant/")?;
        (is_sagemaker_name(endpoint_name) && is_sagemaker_name(variant_name))
            .then(|| VariantId::new(endpoint_name, variant_name))
    }
}

/// SageMaker's rule for endpoint, variant and inference component names:
/// `^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$`.
pub fn is_sagemaker_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    (1..=63).contains(&bytes.len())
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        && bytes[0] != b'-'
        && bytes[bytes.len() - 1] != b'-'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_variants_step_policy_and_alarm_are_the_designs() {
        assert_eq!(
            VARIANT,
            Kind {
                noun: "endpoint variant",
                scalable_dimension: "sagemaker:variant:DesiredInstanceCount",
                one_unit: "an instance",
                predefined_metric_prefix: "SageMakerVariant",
                default_metric: TargetMetric::CpuUtilization,
                default_target_value: 50.0,
                predefined_shorthand: false,
                step_policy_name: "HasBacklogWithoutCapacity-ScalingPolicy",
                step_aggregation: "Average",
                step_cooldown: 300,
                step_when: "when requests wait and none runs",
                alarm: AlarmSettings {
                    metric_name: "HasBacklogWithoutCapacity",
                    namespace: "AWS/SageMaker",
                    dimension: "EndpointName",
                    statistic: "Average",
                    period_seconds: 60,
                    evaluation_periods: 2,
                    comparison_operator: "GreaterThanOrEqualToThreshold",
                    threshold: 1.0,
                    treat_missing_data: "missing",
                },
            }
        );
        let variant = ScalableResource::from(VariantId::new("esd-type-c356f91", "prod"));
        assert_eq!(
            variant.alarm_dimension(),
            ("EndpointName", "esd-type-c356f91")
        );
        assert_eq!(
            variant.default_alarm_name(),
            "esd-type-c356f91-prod-HasBacklogWithoutCapacity"
        );
        assert_eq!(
            variant.legacy_alarm_name().as_deref(),
            Some("esd-type-c356f91-HasBacklogWithoutCapacity")
        );
    }

    /// The SageMaker guide's "Scale an endpoint to zero instances", but for the comparison:
    /// at or above 1, so that a single refused request starts a copy.
    #[test]
    fn an_inference_components_step_policy_and_alarm_are_the_guides() {
        assert_eq!(
            INFERENCE_COMPONENT,
            Kind {
                noun: "inference component",
                scalable_dimension: "sagemaker:inference-component:DesiredCopyCount",
                one_unit: "a copy",
                predefined_metric_prefix: "SageMakerInferenceComponent",
                default_metric: TargetMetric::InvocationsPerCopy,
                default_target_value: 1.0,
                predefined_shorthand: true,
                step_policy_name: "NoCapacityInvocationFailures-ScalingPolicy",
                step_aggregation: "Maximum",
                step_cooldown: 60,
                step_when: "when a request finds no copy to serve it",
                alarm: AlarmSettings {
                    metric_name: "NoCapacityInvocationFailures",
                    namespace: "AWS/SageMaker",
                    dimension: "InferenceComponentName",
                    statistic: "Sum",
                    period_seconds: 60,
                    evaluation_periods: 1,
                    comparison_operator: "GreaterThanOrEqualToThreshold",
                    threshold: 1.0,
                    treat_missing_data: "missing",
                },
            }
        );
        let component = ScalableResource::InferenceComponent("llama-ic".into());
        assert_eq!(component.kind(), &INFERENCE_COMPONENT);
        assert_eq!(component.resource_id(), "inference-component/llama-ic");
        assert_eq!(
            component.alarm_dimension(),
            ("InferenceComponentName", "llama-ic")
        );
        assert_eq!(
            component.default_alarm_name(),
            "llama-ic-NoCapacityInvocationFailures"
        );
        assert_eq!(component.legacy_alarm_name(), None);
        assert_eq!(component.variant(), None);
    }

    #[test]
    fn the_target_metrics_follow_the_design_and_the_sagemaker_guide() {
        let cpu = TargetMetric::CpuUtilization;
        assert_eq!(
            (
                cpu.metric_name(),
                cpu.namespace(),
                cpu.unit(),
                cpu.per_variant()
            ),
            (
                "CPUUtilization",
                "/aws/sagemaker/Endpoints",
                Some("Percent"),
                true
            )
        );
        let backlog = TargetMetric::ApproximateBacklogSizePerInstance;
        assert_eq!(
            (
                backlog.metric_name(),
                backlog.namespace(),
                backlog.unit(),
                backlog.per_variant()
            ),
            (
                "ApproximateBacklogSizePerInstance",
                "AWS/SageMaker",
                None,
                false
            )
        );
        let gpu = TargetMetric::GpuUtilization;
        assert_eq!(
            (
                gpu.metric_name(),
                gpu.namespace(),
                gpu.unit(),
                gpu.per_variant(),
                gpu.policy_name()
            ),
            (
                "GPUUtilization",
                "/aws/sagemaker/Endpoints",
                Some("Percent"),
                true,
                "GPUUtilization-ScalingPolicy"
            )
        );
        assert_eq!(TargetMetric::parse("CPUUtilization"), Some(cpu));
        assert_eq!(TargetMetric::parse("cpu"), None);
        for (metric, name, policy) in [
            (
                TargetMetric::InvocationsPerCopy,
                "SageMakerInferenceComponentInvocationsPerCopy",
                "InvocationsPerCopy-ScalingPolicy",
            ),
            (
                TargetMetric::ConcurrentRequestsPerCopy,
                "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution",
                "ConcurrentRequestsPerCopy-ScalingPolicy",
            ),
        ] {
            assert_eq!(
                (
                    metric.metric_name(),
                    metric.policy_name(),
                    metric.kind(),
                    metric.is_predefined()
                ),
                (name, policy, &INFERENCE_COMPONENT, true)
            );
        }
        assert_eq!(
            INFERENCE_COMPONENT.default_metric,
            TargetMetric::InvocationsPerCopy
        );
        assert_eq!(VARIANT.default_metric, TargetMetric::CpuUtilization);
        for metric in TargetMetric::ALL {
            assert_eq!(metric.kind().default_metric.kind(), metric.kind());
        }
        assert!(!cpu.is_predefined());
    }

    /// The function's role may write exactly the dimensions of the kinds it scales.
    #[test]
    fn template_yaml_allows_every_kinds_dimension_and_no_other() {
        let template = include_str!("../template.yaml");
        let key = "application-autoscaling:scalable-dimension:";
        let (_, after) = template.split_once(key).expect("the condition");
        let allowed: Vec<&str> = after
            .lines()
            .skip(1)
            .map(str::trim)
            .take_while(|line| line.starts_with("- "))
            .map(|line| &line[2..])
            .collect();
        let kinds: Vec<&str> = KINDS.iter().map(|k| k.scalable_dimension).collect();
        assert_eq!(allowed, kinds);
        assert_eq!(template.matches(key).count(), 1);
    }

    #[test]
    fn physical_ids_of_both_kinds_are_read_back_strictly() {
        let read = ScalableResource::from_resource_id;
        assert_eq!(
            read("inference-component/llama-ic"),
            Some(ScalableResource::InferenceComponent("llama-ic".into()))
        );
        assert_eq!(
            read("endpoint/e/variant/v"),
            Some(ScalableResource::Variant(VariantId::new("e", "v")))
        );
        assert_eq!(read("inference-component/"), None);
        assert_eq!(read("inference-component/a/b"), None);
        assert_eq!(read("create-failed/1234"), None);
        let variant =
            VariantId::from_resource_id("endpoint/esd-type-c356f91/variant/prod").unwrap();
        assert_eq!(variant, VariantId::new("esd-type-c356f91", "prod"));
        assert_eq!(
            variant.resource_id(),
            "endpoint/esd-type-c356f91/variant/prod"
        );
        assert_eq!(VariantId::from_resource_id("create-failed/1234"), None);
        assert_eq!(
            VariantId::from_resource_id("endpoint/a/b/variant/prod"),
            None
        );
        assert_eq!(VariantId::from_resource_id("endpoint//variant/prod"), None);
        assert_eq!(
            VariantId::from_resource_id("endpoint/a-/variant/prod"),
            None
        );
    }
}
