//! The resource's contract with its users: every name and fixed setting that shows in AWS, in
//! a template or in an answer. Each is defined here once; the tests compare them with the
//! literal values users rely on, so that changing one is a deliberate act.

use std::collections::BTreeMap;

/// Tags, by key, as both services hold them.
pub type Tags = BTreeMap<String, String>;

/// The target-tracking policy of the design (CPU), which has no data at zero instances.
pub const CPU_POLICY_NAME: &str = "CPUUtil-ScalingPolicy";
/// The target-tracking policy the SageMaker guide recommends for asynchronous endpoints.
pub const BACKLOG_POLICY_NAME: &str = "ApproximateBacklogSizePerInstance-ScalingPolicy";
/// The target-tracking policy on the variant's GPUs, summed over an instance's GPUs.
pub const GPU_POLICY_NAME: &str = "GPUUtilization-ScalingPolicy";
/// The step policy that takes the variant from 0 to 1 instance when requests wait.
pub const STEP_POLICY_NAME: &str = "HasBacklogWithoutCapacity-ScalingPolicy";

/// Tags that mark an object as managed by one CloudFormation resource: the stack's id and the
/// resource's logical id. Users may not set tags under this prefix.
pub const TAG_PREFIX: &str = "sagemaker-async-autoscaling:";
pub const OWNER_STACK_TAG: &str = "sagemaker-async-autoscaling:stack-id";
pub const OWNER_RESOURCE_TAG: &str = "sagemaker-async-autoscaling:logical-resource-id";

/// The resource type that is the guard; every other type is the scaling resource.
pub const GUARD_RESOURCE_TYPE: &str = "Custom::AsyncEndpointScalingGuard";
/// A guard's PhysicalResourceId: this, then the endpoint's name.
pub const GUARD_ID_PREFIX: &str = "endpoint-guard/";

/// Parameter Store path under which the guard records what it deregistered, one parameter per
/// variant: `<prefix><EndpointName>/<VariantName>`. The function's role may write only here.
pub const RECORD_PATH_PREFIX: &str = "/sagemaker-async-autoscaling/records/";

/// The EventBridge event that tells the function an endpoint changed state.
pub const ENDPOINT_STATE_CHANGE: &str = "SageMaker Endpoint State Change";

/// Tag a scaling resource with `EndpointConfigName` puts on its target and alarm (value
/// `true`): its Update follows every endpoint change, so the guard may deregister the variant
/// knowing that the Update registers it again.
pub const FOLLOWS_ENDPOINT_CONFIG_TAG: &str = "sagemaker-async-autoscaling:follows-endpoint-config";

/// Tag a restore registers the target with (its value: the restorer's id) and removes when it
/// is done: a target that carries it is a restore's, finished by the next restore, while any
/// other registered target wins over the record. The scaling resource removes it too.
pub const RESTORING_TAG: &str = "sagemaker-async-autoscaling:restoring";

/// The PhysicalResourceId of a failed Create starts with this; the rollback Delete that
/// CloudFormation sends for it touches nothing.
pub const FAILED_CREATE_ID_PREFIX: &str = "create-failed/";

/// The names of the answer's `Data` (`Fn::GetAtt`) attributes.
pub mod data {
    pub const RESOURCE_ID: &str = "ResourceId";
    /// The first target-tracking policy's ARN: the shorthand's only one.
    pub const TARGET_TRACKING_POLICY_ARN: &str = "TargetTrackingPolicyArn";
    /// Followed by a policy's name: each target-tracking policy's ARN
    /// (`!GetAtt Scaling.TargetTrackingPolicyArns.<PolicyName>`).
    pub const TARGET_TRACKING_POLICY_ARNS_PREFIX: &str = "TargetTrackingPolicyArns.";
    pub const STEP_SCALING_POLICY_ARN: &str = "StepScalingPolicyArn";
    pub const ALARM_NAME: &str = "AlarmName";
    pub const ALARM_ARN: &str = "AlarmArn";
    /// The scheduled actions' names, comma-separated; empty when there are none.
    pub const SCHEDULED_ACTION_NAMES: &str = "ScheduledActionNames";
}

/// The metric the target-tracking policy follows, with the metric's CloudWatch identity.
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
}

impl TargetMetric {
    pub const ALL: [TargetMetric; 3] = [
        TargetMetric::CpuUtilization,
        TargetMetric::ApproximateBacklogSizePerInstance,
        TargetMetric::GpuUtilization,
    ];

    /// The name users write in `TargetMetric`, which is also the CloudWatch metric's name.
    pub fn metric_name(self) -> &'static str {
        match self {
            TargetMetric::CpuUtilization => "CPUUtilization",
            TargetMetric::ApproximateBacklogSizePerInstance => "ApproximateBacklogSizePerInstance",
            TargetMetric::GpuUtilization => "GPUUtilization",
        }
    }

    pub fn policy_name(self) -> &'static str {
        match self {
            TargetMetric::CpuUtilization => CPU_POLICY_NAME,
            TargetMetric::ApproximateBacklogSizePerInstance => BACKLOG_POLICY_NAME,
            TargetMetric::GpuUtilization => GPU_POLICY_NAME,
        }
    }

    pub fn namespace(self) -> &'static str {
        match self {
            TargetMetric::CpuUtilization | TargetMetric::GpuUtilization => {
                "/aws/sagemaker/Endpoints"
            }
            TargetMetric::ApproximateBacklogSizePerInstance => "AWS/SageMaker",
        }
    }

    /// The instance metrics are published per variant; the backlog per endpoint.
    pub fn per_variant(self) -> bool {
        self != TargetMetric::ApproximateBacklogSizePerInstance
    }

    pub fn unit(self) -> Option<&'static str> {
        match self {
            TargetMetric::CpuUtilization | TargetMetric::GpuUtilization => Some("Percent"),
            TargetMetric::ApproximateBacklogSizePerInstance => None,
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.metric_name() == text)
    }
}

/// The fixed settings of the alarm that fires the step policy (the design's).
pub mod alarm {
    pub const METRIC_NAME: &str = "HasBacklogWithoutCapacity";
    pub const NAMESPACE: &str = "AWS/SageMaker";
    /// The metric is published per endpoint only.
    pub const DIMENSION: &str = "EndpointName";
    pub const STATISTIC: &str = "Average";
    pub const PERIOD_SECONDS: i32 = 60;
    pub const EVALUATION_PERIODS: i32 = 2;
    pub const COMPARISON_OPERATOR: &str = "GreaterThanOrEqualToThreshold";
    pub const THRESHOLD: f64 = 1.0;
    pub const TREAT_MISSING_DATA: &str = "missing";
}

/// The alarm name used when `AlarmName` is not given: one alarm per variant, so that two
/// variants of one endpoint each keep an alarm that fires their own step policy.
pub fn default_alarm_name(variant: &VariantId) -> String {
    format!(
        "{}-{}-{}",
        variant.endpoint_name,
        variant.variant_name,
        alarm::METRIC_NAME
    )
}

/// The default alarm name of this resource's first release, one per endpoint. An alarm still
/// under this name that fires the variant's step policy is this resource's, and goes when the
/// variant's scaling is updated or deleted.
pub fn legacy_alarm_name(variant: &VariantId) -> String {
    format!("{}-{}", variant.endpoint_name, alarm::METRIC_NAME)
}

/// One endpoint variant, the unit this resource configures.
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

    /// `endpoint/<EndpointName>/variant/<VariantName>`: the scalable target's ResourceId, and
    /// the custom resource's PhysicalResourceId.
    pub fn resource_id(&self) -> String {
        format!(
            "endpoint/{}/variant/{}",
            self.endpoint_name, self.variant_name
        )
    }

    /// Reads a PhysicalResourceId back. Anything that is not exactly a resource id this
    /// resource could have answered (a failed Create's id, say) is `None`.
    pub fn from_resource_id(resource_id: &str) -> Option<Self> {
        let rest = resource_id.strip_prefix("endpoint/")?;
        let (endpoint_name, variant_name) = rest.split_once("/variant/")?;
        (is_sagemaker_name(endpoint_name) && is_sagemaker_name(variant_name))
            .then(|| VariantId::new(endpoint_name, variant_name))
    }
}

/// SageMaker's rule for endpoint and variant names: `^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$`.
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

    /// These names are what users' templates, alarms and dashboards refer to.
    #[test]
    fn the_public_names_are_the_ones_users_rely_on() {
        assert_eq!(CPU_POLICY_NAME, "CPUUtil-ScalingPolicy");
        assert_eq!(
            BACKLOG_POLICY_NAME,
            "ApproximateBacklogSizePerInstance-ScalingPolicy"
        );
        assert_eq!(STEP_POLICY_NAME, "HasBacklogWithoutCapacity-ScalingPolicy");
        assert_eq!(OWNER_STACK_TAG, "sagemaker-async-autoscaling:stack-id");
        assert_eq!(
            OWNER_RESOURCE_TAG,
            "sagemaker-async-autoscaling:logical-resource-id"
        );
        assert!(OWNER_STACK_TAG.starts_with(TAG_PREFIX));
        assert!(OWNER_RESOURCE_TAG.starts_with(TAG_PREFIX));
        assert_eq!(FAILED_CREATE_ID_PREFIX, "create-failed/");
        assert_eq!(GUARD_RESOURCE_TYPE, "Custom::AsyncEndpointScalingGuard");
        assert_eq!(GUARD_ID_PREFIX, "endpoint-guard/");
        // template.yaml's IAM policy allows Parameter Store under exactly this path.
        assert_eq!(RECORD_PATH_PREFIX, "/sagemaker-async-autoscaling/records/");
        assert_eq!(ENDPOINT_STATE_CHANGE, "SageMaker Endpoint State Change");
        assert_eq!(
            [
                data::RESOURCE_ID,
                data::TARGET_TRACKING_POLICY_ARN,
                data::STEP_SCALING_POLICY_ARN,
                data::ALARM_NAME,
                data::ALARM_ARN,
                data::SCHEDULED_ACTION_NAMES,
                data::TARGET_TRACKING_POLICY_ARNS_PREFIX
            ],
            [
                "ResourceId",
                "TargetTrackingPolicyArn",
                "StepScalingPolicyArn",
                "AlarmName",
                "AlarmArn",
                "ScheduledActionNames",
                "TargetTrackingPolicyArns."
            ]
        );
    }

    #[test]
    fn the_alarm_settings_are_the_designs() {
        assert_eq!(alarm::METRIC_NAME, "HasBacklogWithoutCapacity");
        assert_eq!(alarm::NAMESPACE, "AWS/SageMaker");
        assert_eq!(alarm::DIMENSION, "EndpointName");
        assert_eq!(alarm::PERIOD_SECONDS, 60);
        assert_eq!(alarm::EVALUATION_PERIODS, 2);
        assert_eq!(alarm::THRESHOLD, 1.0);
        assert_eq!(alarm::TREAT_MISSING_DATA, "missing");
        let variant = VariantId::new("esd-type-c356f91", "prod");
        assert_eq!(
            default_alarm_name(&variant),
            "esd-type-c356f91-prod-HasBacklogWithoutCapacity"
        );
        assert_eq!(
            legacy_alarm_name(&variant),
            "esd-type-c356f91-HasBacklogWithoutCapacity"
        );
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
    }

    #[test]
    fn physical_ids_are_read_back_strictly() {
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
