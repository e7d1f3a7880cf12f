//! The narrow seam between the scaling logic and AWS: one method per call the logic needs.
//!
//! Every call goes through [`call::call`], which logs one line per attempt, retries what is
//! worth retrying, records the step for a deadline Reason, and turns an SDK error into an
//! [`AwsError`] that names the operation and carries the service's message.

mod call;
mod clients;
mod error;

pub use call::Steps;
pub use clients::{AwsClients, retry_config};
pub use error::AwsError;

use crate::contract::{OWNER_RESOURCE_TAG, OWNER_STACK_TAG, STEP_POLICY_NAME, VariantId, alarm};
use crate::properties::ScalingProperties;
use crate::scaling::Owner;
use aws_sdk_applicationautoscaling::operation::put_scaling_policy::builders::PutScalingPolicyFluentBuilder;
use aws_sdk_applicationautoscaling::types::{
    AdjustmentType, CustomizedMetricSpecification, MetricAggregationType, MetricDimension,
    MetricStatistic, PolicyType, ScalableDimension, ServiceNamespace, StepAdjustment,
    StepScalingPolicyConfiguration, TargetTrackingScalingPolicyConfiguration,
};
use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, Statistic};

/// A scalable target that is already registered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegisteredTarget {
    /// Absent only from an endpoint that predates scalable target ARNs.
    pub arn: Option<String>,
}

/// Every Application Auto Scaling request about a variant names it the same way: the SageMaker
/// namespace, the variant's instance count, and its ResourceId.
trait OnVariant: Sized {
    fn on_variant(self, variant: &VariantId) -> Self;
}

macro_rules! on_variant {
    ($($builder:path),* $(,)?) => {$(
        impl OnVariant for $builder {
            fn on_variant(self, variant: &VariantId) -> Self {
                self.service_namespace(ServiceNamespace::Sagemaker)
                    .scalable_dimension(ScalableDimension::SageMakerVariantDesiredInstanceCount)
                    .resource_id(variant.resource_id())
            }
        }
    )*};
}

on_variant!(
    aws_sdk_applicationautoscaling::operation::register_scalable_target::builders::RegisterScalableTargetFluentBuilder,
    aws_sdk_applicationautoscaling::operation::deregister_scalable_target::builders::DeregisterScalableTargetFluentBuilder,
    PutScalingPolicyFluentBuilder,
    aws_sdk_applicationautoscaling::operation::delete_scaling_policy::builders::DeleteScalingPolicyFluentBuilder,
);

/// The seam itself: the calls the scaling logic makes, for one invocation.
#[derive(Clone, Debug)]
pub struct ScalingApi {
    clients: AwsClients,
    steps: Steps,
}

impl ScalingApi {
    pub fn new(clients: AwsClients, steps: Steps) -> Self {
        ScalingApi { clients, steps }
    }

    pub async fn find_target(
        &self,
        variant: &VariantId,
    ) -> Result<Option<RegisteredTarget>, AwsError> {
        let resource_id = variant.resource_id();
        let output = call::call(&self.steps, "DescribeScalableTargets", &resource_id, || {
            self.clients
                .autoscaling
                .describe_scalable_targets()
                .service_namespace(ServiceNamespace::Sagemaker)
                .scalable_dimension(ScalableDimension::SageMakerVariantDesiredInstanceCount)
                .resource_ids(&resource_id)
                .send()
        })
        .await?;
        Ok(output
            .scalable_targets()
            .iter()
            .find(|t| t.resource_id() == resource_id)
            .map(|t| RegisteredTarget {
                arn: t.scalable_target_arn().map(str::to_owned),
            }))
    }

    /// Whether the target carries the ownership tags of exactly this CloudFormation resource.
    pub async fn is_owned_by(&self, target_arn: &str, owner: &Owner) -> Result<bool, AwsError> {
        let output = call::call(&self.steps, "ListTagsForResource", target_arn, || {
            self.clients
                .autoscaling
                .list_tags_for_resource()
                .resource_arn(target_arn)
                .send()
        })
        .await?;
        let tag = |key: &str| {
            output
                .tags()
                .and_then(|tags| tags.get(key))
                .map(String::as_str)
        };
        Ok(tag(OWNER_STACK_TAG) == Some(owner.stack_id.as_str())
            && tag(OWNER_RESOURCE_TAG) == Some(owner.logical_resource_id.as_str()))
    }

    /// Registers the target, or updates the capacities of one already registered. `owner`
    /// tags a new target; AWS applies tags only when it creates the target.
    pub async fn register_target(
        &self,
        props: &ScalingProperties,
        owner: Option<&Owner>,
    ) -> Result<(), AwsError> {
        let variant = props.variant();
        call::call(
            &self.steps,
            "RegisterScalableTarget",
            &variant.resource_id(),
            || {
                let mut request = self
                    .clients
                    .autoscaling
                    .register_scalable_target()
                    .on_variant(&variant)
                    .min_capacity(props.min_capacity)
                    .max_capacity(props.max_capacity);
                if let Some(owner) = owner {
                    request = request
                        .tags(OWNER_STACK_TAG, &owner.stack_id)
                        .tags(OWNER_RESOURCE_TAG, &owner.logical_resource_id);
                }
                request.send()
            },
        )
        .await?;
        Ok(())
    }

    /// Puts the target-tracking policy and answers its ARN.
    pub async fn put_target_tracking_policy(
        &self,
        props: &ScalingProperties,
    ) -> Result<String, AwsError> {
        const OPERATION: &str = "PutScalingPolicy";
        let metric = props.target_metric;
        let dimension = |name: &str, value: &str| {
            MetricDimension::builder()
                .name(name)
                .value(value)
                .build()
                .map_err(|e| AwsError::build(OPERATION, e))
        };
        let mut specification = CustomizedMetricSpecification::builder()
            .metric_name(metric.metric_name())
            .namespace(metric.namespace())
            .dimensions(dimension("EndpointName", &props.endpoint_name)?)
            .statistic(MetricStatistic::Average)
            .set_unit(metric.unit().map(str::to_owned));
        if metric.per_variant() {
            specification =
                specification.dimensions(dimension("VariantName", &props.variant_name)?);
        }
        let configuration = TargetTrackingScalingPolicyConfiguration::builder()
            .target_value(props.target_value)
            .customized_metric_specification(specification.build())
            .scale_in_cooldown(props.scale_in_cooldown)
            .scale_out_cooldown(props.scale_out_cooldown)
            .build()
            .map_err(|e| AwsError::build(OPERATION, e))?;
        self.put_policy(&props.variant(), metric.policy_name(), |request| {
            request
                .policy_type(PolicyType::TargetTrackingScaling)
                .target_tracking_scaling_policy_configuration(configuration.clone())
        })
        .await
    }

    /// Puts the step policy that adds one instance when requests wait, and answers its ARN.
    pub async fn put_step_policy(&self, props: &ScalingProperties) -> Result<String, AwsError> {
        let step = StepAdjustment::builder()
            .metric_interval_lower_bound(0.0)
            .scaling_adjustment(1)
            .build()
            .map_err(|e| AwsError::build("PutScalingPolicy", e))?;
        let configuration = StepScalingPolicyConfiguration::builder()
            .adjustment_type(AdjustmentType::ChangeInCapacity)
            .metric_aggregation_type(MetricAggregationType::Average)
            .cooldown(props.step_cooldown)
            .step_adjustments(step)
            .build();
        self.put_policy(&props.variant(), STEP_POLICY_NAME, |request| {
            request
                .policy_type(PolicyType::StepScaling)
                .step_scaling_policy_configuration(configuration.clone())
        })
        .await
    }

    /// Puts one scaling policy on the variant's target and answers its ARN; `configure` adds
    /// the policy's type and configuration.
    async fn put_policy(
        &self,
        variant: &VariantId,
        policy_name: &str,
        configure: impl Fn(PutScalingPolicyFluentBuilder) -> PutScalingPolicyFluentBuilder,
    ) -> Result<String, AwsError> {
        let subject = format!("{policy_name} on {}", variant.resource_id());
        let output = call::call(&self.steps, "PutScalingPolicy", &subject, || {
            let request = self
                .clients
                .autoscaling
                .put_scaling_policy()
                .policy_name(policy_name)
                .on_variant(variant);
            configure(request).send()
        })
        .await?;
        Ok(output.policy_arn().to_owned())
    }

    /// Puts the alarm that fires the step policy when requests wait and no instance runs.
    pub async fn put_alarm(
        &self,
        props: &ScalingProperties,
        step_policy_arn: &str,
        description: &str,
    ) -> Result<(), AwsError> {
        let dimension = Dimension::builder()
            .name(alarm::DIMENSION)
            .value(&props.endpoint_name)
            .build();
        call::call(&self.steps, "PutMetricAlarm", &props.alarm_name, || {
            self.clients
                .cloudwatch
                .put_metric_alarm()
                .alarm_name(&props.alarm_name)
                .alarm_description(description)
                .metric_name(alarm::METRIC_NAME)
                .namespace(alarm::NAMESPACE)
                .dimensions(dimension.clone())
                .statistic(Statistic::Average)
                .period(alarm::PERIOD_SECONDS)
                .evaluation_periods(alarm::EVALUATION_PERIODS)
                .datapoints_to_alarm(alarm::EVALUATION_PERIODS)
                .threshold(alarm::THRESHOLD)
                .comparison_operator(ComparisonOperator::GreaterThanOrEqualToThreshold)
                .treat_missing_data(alarm::TREAT_MISSING_DATA)
                .alarm_actions(step_policy_arn)
                .send()
        })
        .await?;
        Ok(())
    }

    /// The actions of the named alarm, or `None` when no such alarm exists.
    pub async fn alarm_actions(&self, alarm_name: &str) -> Result<Option<Vec<String>>, AwsError> {
        let output = call::call(&self.steps, "DescribeAlarms", alarm_name, || {
            self.clients
                .cloudwatch
                .describe_alarms()
                .alarm_names(alarm_name)
                .send()
        })
        .await?;
        Ok(output
            .metric_alarms()
            .iter()
            .find(|a| a.alarm_name() == Some(alarm_name))
            .map(|a| a.alarm_actions().to_vec()))
    }

    pub async fn delete_alarm(&self, alarm_name: &str) -> Result<(), AwsError> {
        call::delete(&self.steps, "DeleteAlarms", alarm_name, || {
            self.clients
                .cloudwatch
                .delete_alarms()
                .alarm_names(alarm_name)
                .send()
        })
        .await
    }

    pub async fn delete_policy(
        &self,
        variant: &VariantId,
        policy_name: &str,
    ) -> Result<(), AwsError> {
        let subject = format!("{policy_name} on {}", variant.resource_id());
        call::delete(&self.steps, "DeleteScalingPolicy", &subject, || {
            self.clients
                .autoscaling
                .delete_scaling_policy()
                .policy_name(policy_name)
                .on_variant(variant)
                .send()
        })
        .await
    }

    pub async fn deregister_target(&self, variant: &VariantId) -> Result<(), AwsError> {
        call::delete(
            &self.steps,
            "DeregisterScalableTarget",
            &variant.resource_id(),
            || {
                self.clients
                    .autoscaling
                    .deregister_scalable_target()
                    .on_variant(variant)
                    .send()
            },
        )
        .await
    }
}
