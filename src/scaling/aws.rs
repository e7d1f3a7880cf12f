//! The narrow seam between the scaling logic and AWS: one method per call the logic needs.
//!
//! Every call goes through [`ScalingApi::call`], which logs one line per attempt, retries
//! `ConcurrentUpdateException` (the SDK's standard retry already covers throttling and transient
//! errors), records the step for a deadline Reason, and turns an SDK error into an [`AwsError`]
//! that names the operation and carries the service's message.

use super::progress::Progress;
use super::{Owner, STEP_POLICY_NAME};
use crate::backoff;
use crate::properties::{ScalingProperties, TargetMetric, VariantId};
use aws_config::retry::RetryConfig;
use aws_sdk_applicationautoscaling as autoscaling;
use aws_sdk_applicationautoscaling::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_applicationautoscaling::operation::put_scaling_policy::builders::PutScalingPolicyFluentBuilder;
use aws_sdk_applicationautoscaling::types::{
    AdjustmentType, CustomizedMetricSpecification, MetricAggregationType, MetricDimension,
    MetricStatistic, PolicyType, ScalableDimension, ServiceNamespace, StepAdjustment,
    StepScalingPolicyConfiguration, TargetTrackingScalingPolicyConfiguration,
};
use aws_sdk_cloudwatch as cloudwatch;
use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, Statistic};
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::{info, warn};

/// Tags that mark a scalable target as registered by one CloudFormation resource. They let a
/// repeated Create (or a rollback to a variant) recognise its own target, while a target that
/// anything else registered is refused unless `AdoptExisting` says otherwise.
pub const OWNER_STACK_TAG: &str = "sagemaker-async-autoscaling:stack-id";
pub const OWNER_RESOURCE_TAG: &str = "sagemaker-async-autoscaling:logical-resource-id";

const CONCURRENT_UPDATE_ATTEMPTS: u32 = 5;

/// The SDK retry used for both clients: standard mode (throttling, transient and 5xx errors,
/// with backoff), with a few more attempts than the default three, since a custom resource runs
/// rarely and a throttled stack operation is worth waiting for; the deadline bounds it all.
pub fn retry_config() -> RetryConfig {
    RetryConfig::standard().with_max_attempts(5)
}

/// The two AWS clients, built once per process and shared by every invocation.
#[derive(Clone, Debug)]
pub struct AwsClients {
    pub autoscaling: autoscaling::Client,
    pub cloudwatch: cloudwatch::Client,
}

impl AwsClients {
    pub fn new(autoscaling: autoscaling::Client, cloudwatch: cloudwatch::Client) -> Self {
        AwsClients {
            autoscaling,
            cloudwatch,
        }
    }

    /// Clients configured the way the SDK reads the Lambda environment: region, credentials
    /// (resolved lazily, at the first call) and `AWS_ENDPOINT_URL` for an emulator.
    pub async fn from_environment() -> Self {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .load()
            .await;
        AwsClients::from_config(&config)
    }

    pub fn from_config(config: &aws_config::SdkConfig) -> Self {
        let config = config.to_builder().retry_config(retry_config()).build();
        AwsClients::new(
            autoscaling::Client::new(&config),
            cloudwatch::Client::new(&config),
        )
    }
}

/// An AWS call that failed for good (after retries).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwsError {
    pub operation: &'static str,
    pub code: Option<String>,
    pub message: String,
}

impl fmt::Display for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.code {
            Some(code) => write!(f, "{} failed: {code}: {}", self.operation, self.message),
            None => write!(f, "{} failed: {}", self.operation, self.message),
        }
    }
}

impl std::error::Error for AwsError {}

impl AwsError {
    fn from_sdk<E, R>(operation: &'static str, error: &SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: fmt::Debug,
    {
        match error {
            SdkError::ServiceError(_) => AwsError {
                operation,
                code: error.code().map(str::to_owned),
                message: error
                    .message()
                    .map(str::to_owned)
                    .unwrap_or_else(|| DisplayErrorContext(error).to_string()),
            },
            _ => AwsError {
                operation,
                code: None,
                message: DisplayErrorContext(error).to_string(),
            },
        }
    }

    fn build(operation: &'static str, error: impl fmt::Display) -> Self {
        AwsError {
            operation,
            code: None,
            message: format!("could not build the request: {error}"),
        }
    }

    /// The thing to delete is already gone. Real AWS says ObjectNotFoundException (Application
    /// Auto Scaling) or ResourceNotFound (CloudWatch); moto says ValidationException with a
    /// "No scalable target"/"No scaling policy" message, which real AWS uses only for bad input.
    fn is_not_found(&self) -> bool {
        match self.code.as_deref() {
            Some("ObjectNotFoundException" | "ResourceNotFound" | "ResourceNotFoundException") => {
                true
            }
            Some("ValidationException") => {
                self.message.starts_with("No scalable target")
                    || self.message.starts_with("No scaling policy")
            }
            _ => false,
        }
    }
}

/// A scalable target that is already registered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegisteredTarget {
    /// Absent only from an endpoint that predates scalable target ARNs.
    pub arn: Option<String>,
}

/// The seam itself: the calls the scaling logic makes, for one invocation.
#[derive(Clone, Debug)]
pub struct ScalingApi {
    clients: AwsClients,
    progress: Arc<Progress>,
}

impl ScalingApi {
    pub fn new(clients: AwsClients, progress: Arc<Progress>) -> Self {
        ScalingApi { clients, progress }
    }

    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    /// Sends one AWS call, retrying `ConcurrentUpdateException` with backoff: Application
    /// Auto Scaling answers it while another change to the same target is in progress.
    async fn call<T, E, R, Fut>(
        &self,
        operation: &'static str,
        subject: &str,
        mut send: impl FnMut() -> Fut,
    ) -> Result<T, AwsError>
    where
        Fut: Future<Output = Result<T, SdkError<E, R>>>,
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: fmt::Debug,
    {
        let _step = self.progress.begin(format!("{operation} ({subject})"));
        let mut attempt = 1;
        loop {
            let started = Instant::now();
            // Boxed: the SDK's futures nest deep enough to overflow the compiler's layout
            // depth limit in every future that awaits them.
            let result = Box::pin(send()).await;
            let elapsed_ms = started.elapsed().as_millis() as u64;
            let error = match result {
                Ok(output) => {
                    info!(
                        aws.operation = operation,
                        aws.subject = subject,
                        attempt,
                        elapsed_ms,
                        outcome = "ok",
                        "AWS call"
                    );
                    return Ok(output);
                }
                Err(error) => AwsError::from_sdk(operation, &error),
            };
            let retry = error.code.as_deref() == Some("ConcurrentUpdateException")
                && attempt < CONCURRENT_UPDATE_ATTEMPTS;
            warn!(
                aws.operation = operation,
                aws.subject = subject,
                attempt,
                elapsed_ms,
                outcome = "error",
                error = %error,
                will_retry = retry,
                "AWS call"
            );
            if !retry {
                return Err(error);
            }
            let pause = backoff::delay(
                attempt - 1,
                Duration::from_millis(500),
                Duration::from_secs(4),
            );
            tokio::time::sleep(pause).await;
            attempt += 1;
        }
    }

    /// Same as [`call`](Self::call) for a deletion: whatever is already gone counts as done.
    async fn delete<T, E, R, Fut>(
        &self,
        operation: &'static str,
        subject: &str,
        send: impl FnMut() -> Fut,
    ) -> Result<(), AwsError>
    where
        Fut: Future<Output = Result<T, SdkError<E, R>>>,
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: fmt::Debug,
    {
        match self.call(operation, subject, send).await {
            Ok(_) => Ok(()),
            Err(error) if error.is_not_found() => {
                info!(
                    aws.operation = operation,
                    aws.subject = subject,
                    "already gone"
                );
                Ok(())
            }
            Err(error) => Err(error),
        }
    }

    pub async fn find_target(
        &self,
        variant: &VariantId,
    ) -> Result<Option<RegisteredTarget>, AwsError> {
        let resource_id = variant.resource_id();
        let output = self
            .call("DescribeScalableTargets", &resource_id, || {
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
        let output = self
            .call("ListTagsForResource", target_arn, || {
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
        let resource_id = props.resource_id();
        self.call("RegisterScalableTarget", &resource_id, || {
            let mut request = self
                .clients
                .autoscaling
                .register_scalable_target()
                .service_namespace(ServiceNamespace::Sagemaker)
                .scalable_dimension(ScalableDimension::SageMakerVariantDesiredInstanceCount)
                .resource_id(&resource_id)
                .min_capacity(props.min_capacity)
                .max_capacity(props.max_capacity);
            if let Some(owner) = owner {
                request = request
                    .tags(OWNER_STACK_TAG, &owner.stack_id)
                    .tags(OWNER_RESOURCE_TAG, &owner.logical_resource_id);
            }
            request.send()
        })
        .await?;
        Ok(())
    }

    /// Puts the target-tracking policy and answers its ARN.
    pub async fn put_target_tracking_policy(
        &self,
        props: &ScalingProperties,
    ) -> Result<String, AwsError> {
        const OPERATION: &str = "PutScalingPolicy";
        let dimension = |name: &str, value: &str| {
            MetricDimension::builder()
                .name(name)
                .value(value)
                .build()
                .map_err(|e| AwsError::build(OPERATION, e))
        };
        let metric = match props.target_metric {
            TargetMetric::CpuUtilization => CustomizedMetricSpecification::builder()
                .metric_name(props.target_metric.metric_name())
                .namespace("/aws/sagemaker/Endpoints")
                .dimensions(dimension("EndpointName", &props.endpoint_name)?)
                .dimensions(dimension("VariantName", &props.variant_name)?)
                .statistic(MetricStatistic::Average)
                .unit("Percent"),
            TargetMetric::ApproximateBacklogSizePerInstance => {
                CustomizedMetricSpecification::builder()
                    .metric_name(props.target_metric.metric_name())
                    .namespace("AWS/SageMaker")
                    .dimensions(dimension("EndpointName", &props.endpoint_name)?)
                    .statistic(MetricStatistic::Average)
            }
        };
        let configuration = TargetTrackingScalingPolicyConfiguration::builder()
            .target_value(props.target_value)
            .customized_metric_specification(metric.build())
            .scale_in_cooldown(props.scale_in_cooldown)
            .scale_out_cooldown(props.scale_out_cooldown)
            .build()
            .map_err(|e| AwsError::build(OPERATION, e))?;
        self.put_policy(props, props.target_metric.policy_name(), |request| {
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
        self.put_policy(props, STEP_POLICY_NAME, |request| {
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
        props: &ScalingProperties,
        policy_name: &str,
        configure: impl Fn(PutScalingPolicyFluentBuilder) -> PutScalingPolicyFluentBuilder,
    ) -> Result<String, AwsError> {
        let resource_id = props.resource_id();
        let output = self
            .call(
                "PutScalingPolicy",
                &format!("{policy_name} on {resource_id}"),
                || {
                    let request = self
                        .clients
                        .autoscaling
                        .put_scaling_policy()
                        .policy_name(policy_name)
                        .service_namespace(ServiceNamespace::Sagemaker)
                        .scalable_dimension(ScalableDimension::SageMakerVariantDesiredInstanceCount)
                        .resource_id(&resource_id);
                    configure(request).send()
                },
            )
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
            .name("EndpointName")
            .value(&props.endpoint_name)
            .build();
        self.call("PutMetricAlarm", &props.alarm_name, || {
            self.clients
                .cloudwatch
                .put_metric_alarm()
                .alarm_name(&props.alarm_name)
                .alarm_description(description)
                .metric_name("HasBacklogWithoutCapacity")
                .namespace("AWS/SageMaker")
                .dimensions(dimension.clone())
                .statistic(Statistic::Average)
                .period(60)
                .evaluation_periods(2)
                .datapoints_to_alarm(2)
                .threshold(1.0)
                .comparison_operator(ComparisonOperator::GreaterThanOrEqualToThreshold)
                .treat_missing_data("missing")
                .alarm_actions(step_policy_arn)
                .send()
        })
        .await?;
        Ok(())
    }

    /// The actions of the named alarm, or `None` when no such alarm exists.
    pub async fn alarm_actions(&self, alarm_name: &str) -> Result<Option<Vec<String>>, AwsError> {
        let output = self
            .call("DescribeAlarms", alarm_name, || {
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
        self.delete("DeleteAlarms", alarm_name, || {
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
        let resource_id = variant.resource_id();
        self.delete(
            "DeleteScalingPolicy",
            &format!("{policy_name} on {resource_id}"),
            || {
                self.clients
                    .autoscaling
                    .delete_scaling_policy()
                    .policy_name(policy_name)
                    .service_namespace(ServiceNamespace::Sagemaker)
                    .scalable_dimension(ScalableDimension::SageMakerVariantDesiredInstanceCount)
                    .resource_id(&resource_id)
                    .send()
            },
        )
        .await
    }

    pub async fn deregister_target(&self, variant: &VariantId) -> Result<(), AwsError> {
        let resource_id = variant.resource_id();
        self.delete("DeregisterScalableTarget", &resource_id, || {
            self.clients
                .autoscaling
                .deregister_scalable_target()
                .service_namespace(ServiceNamespace::Sagemaker)
                .scalable_dimension(ScalableDimension::SageMakerVariantDesiredInstanceCount)
                .resource_id(&resource_id)
                .send()
        })
        .await
    }
}
