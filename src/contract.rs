//! The resource's contract with its users: every name that shows in AWS, in a template or in
//! an answer (policy names, tags, the guard's names, `Data` keys, ids). Each is defined here
//! once; the tests compare them with the literal values users rely on, so that changing one is
//! a deliberate act. The model of what is scaled, with each kind's fixed settings, is
//! [`crate::target`].

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
/// The step policy that adds an inference component's first copy when a request finds none.
pub const IC_STEP_POLICY_NAME: &str = "NoCapacityInvocationFailures-ScalingPolicy";

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
        assert_eq!(
            IC_STEP_POLICY_NAME,
            "NoCapacityInvocationFailures-ScalingPolicy"
        );
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
}
