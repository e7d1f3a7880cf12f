//! What the integration tests share: CloudFormation's side of the protocol (events, and a
//! ResponseURL listener that keeps the answers), AWS (moto behind a proxy), and readers of
//! the state the emulator holds afterwards.

#![allow(dead_code)] // Each test module uses its own part of this.

pub mod aws;
pub mod cloudformation;
pub mod http;
pub mod runtime_api;

use aws::{Aws, clients_for, moto_url};
use aws_sdk_applicationautoscaling::types::{
    AdjustmentType, CustomizedMetricSpecification, MetricAggregationType, MetricDimension,
    MetricStatistic, PolicyType, ScalableDimension, ScalableTarget, ScalingPolicy, ScheduledAction,
    ServiceNamespace, TargetTrackingScalingPolicyConfiguration,
};
use aws_sdk_cloudwatch::types::MetricAlarm;
use http::Server;
use sagemaker_async_autoscaling::AwsClients;
use sagemaker_async_autoscaling::Handler;
use sagemaker_async_autoscaling::InvocationResult;
use sagemaker_async_autoscaling::Responder;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

pub const SIGNATURE: &str = "X-Amz-Signature=0b4d1c7e5ecre7sig";
/// The logical id of the resource in every test stack.
pub const LOGICAL_RESOURCE_ID: &str = "EndpointAutoScaling";
pub const SERVICE_TOKEN: &str =
    "arn:aws:lambda:us-east-1:123456789012:function:sagemaker-async-autoscaling";

/// One test's world: the resource under test (a stack), AWS (the proxy in front of the
/// emulator), and a reader of what the emulator holds. Its endpoint names are its own, so tests can
/// share one emulator.
pub struct Fixture {
    pub stack: Stack,
    pub aws: Aws,
    pub emulator: Emulator,
    id: usize,
}

impl Fixture {
    pub async fn start(name: &str) -> Fixture {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let aws = Aws::start().await;
        Fixture {
            stack: Stack::new(aws.clients().await, name).await,
            emulator: Emulator::connect().await,
            aws,
            id: COUNT.fetch_add(1, Ordering::SeqCst),
        }
    }

    /// An endpoint name no other test uses: `esd-<n>-<label>`.
    pub fn endpoint(&self, label: &str) -> String {
        let name = format!("esd-{}-{label}", self.id);
        assert!(name.len() <= 63, "endpoint name too long: {name}");
        name
    }

    /// Another CloudFormation stack with a resource for the same AWS.
    pub async fn another_stack(&self, name: &str) -> Stack {
        Stack::new(self.aws.clients().await, name).await
    }

    /// The tags of a variant's scalable target.
    pub async fn target_tags(&self, resource_id: &str) -> BTreeMap<String, String> {
        self.emulator.target_tags(resource_id).await
    }
}

/// One CloudFormation resource driving the handler, with a ResponseURL listener.
pub struct Stack {
    handler: Handler,
    pub cfn: Server,
    pub stack_id: String,
    pub logical_resource_id: String,
    sent: AtomicUsize,
}

impl Stack {
    pub async fn new(clients: AwsClients, name: &str) -> Stack {
        Stack::with_listener(clients, name, Server::answering(200).await)
    }

    pub fn with_listener(clients: AwsClients, name: &str, cfn: Server) -> Stack {
        Stack {
            handler: Handler::new(clients, Responder::new(aws::http().client().clone())),
            cfn,
            stack_id: Stack::id_of(name),
            logical_resource_id: LOGICAL_RESOURCE_ID.to_owned(),
            sent: AtomicUsize::new(0),
        }
    }

    /// The StackId of the stack called `name`.
    pub fn id_of(name: &str) -> String {
        format!(
            "arn:aws:cloudformation:us-east-1:123456789012:stack/{name}/5b8d3e10-0000-4000-8000-{:012}",
            name.len()
        )
    }

    /// The ownership tags this resource of the stack called `name` puts on what it creates.
    pub fn ownership_tags_of(name: &str) -> BTreeMap<String, String> {
        ownership_tags(&Stack::id_of(name), LOGICAL_RESOURCE_ID)
    }

    /// The ownership tags this stack's resource puts on what it creates.
    pub fn ownership_tags(&self) -> BTreeMap<String, String> {
        ownership_tags(&self.stack_id, &self.logical_resource_id)
    }

    /// A stack on the emulator, with the proxy that the test can inspect.
    pub async fn on_emulator(name: &str) -> (Stack, Aws) {
        let aws = Aws::start().await;
        (Stack::new(aws.clients().await, name).await, aws)
    }

    /// A request as CloudFormation sends it: every number and boolean in the properties
    /// becomes a string, as the template's values do on their way to a custom resource.
    pub fn event(
        &self,
        request_type: &str,
        physical_resource_id: Option<&str>,
        properties: Value,
        old_properties: Option<Value>,
    ) -> Value {
        self.event_verbatim(
            request_type,
            physical_resource_id,
            as_cloudformation_sends(properties),
            old_properties.map(as_cloudformation_sends),
        )
    }

    /// A request with the properties exactly as given, as a hand-written event (`cargo lambda
    /// invoke --data-file`) may carry them.
    pub fn event_verbatim(
        &self,
        request_type: &str,
        physical_resource_id: Option<&str>,
        properties: Value,
        old_properties: Option<Value>,
    ) -> Value {
        let n = self.sent.fetch_add(1, Ordering::SeqCst);
        let mut properties = properties;
        if let Some(map) = properties.as_object_mut() {
            map.insert("ServiceToken".into(), SERVICE_TOKEN.into());
        }
        let mut event = json!({
            "RequestType": request_type,
            "ServiceToken": SERVICE_TOKEN,
            "ResponseURL": format!("{}/answers/{n}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=7200&{SIGNATURE}", self.cfn.url()),
            "StackId": self.stack_id,
            "RequestId": format!("6a3c1f2e-0000-4000-8000-{n:012}"),
            "LogicalResourceId": self.logical_resource_id,
            "ResourceType": "Custom::AsyncEndpointAutoScaling",
            "ResourceProperties": properties,
        });
        if let Some(id) = physical_resource_id {
            event["PhysicalResourceId"] = id.into();
        }
        if let Some(old) = old_properties {
            event["OldResourceProperties"] = old;
        }
        event
    }

    pub async fn invoke(&self, event: Value, deadline: SystemTime) -> InvocationResult {
        self.handler.handle(event, deadline).await
    }

    /// Sends the event with a generous deadline and answers what CloudFormation received.
    pub async fn send(&self, event: Value) -> Value {
        let path = answer_path(&event);
        let result = self.invoke(event, in_seconds(60)).await;
        assert!(result.is_ok(), "invocation failed: {result:?}");
        self.answer_at(&path)
    }

    /// The one answer that arrived for a request, by its ResponseURL's path.
    pub fn answer_at(&self, path: &str) -> Value {
        serde_json::from_slice(&self.answer_body_at(path)).expect("a JSON answer")
    }

    /// The bytes of the one answer that arrived at a ResponseURL's path.
    pub fn answer_body_at(&self, path: &str) -> Vec<u8> {
        let mut puts = self.puts_at(path);
        assert_eq!(puts.len(), 1, "expected exactly one answer at {path}");
        puts.remove(0).body
    }

    /// Every answer that arrived at a ResponseURL's path, in order.
    pub fn answers_at(&self, path: &str) -> Vec<Value> {
        self.puts_at(path).iter().map(|r| r.json()).collect()
    }

    fn puts_at(&self, path: &str) -> Vec<http::Request> {
        let received = self.cfn.received().into_iter();
        received
            .filter(|r| r.target.split('?').next() == Some(path))
            .collect()
    }

    pub async fn create(&self, properties: Value) -> Value {
        self.send(self.event("Create", None, properties, None))
            .await
    }

    pub async fn update(&self, physical_resource_id: &str, properties: Value, old: Value) -> Value {
        let event = self.event("Update", Some(physical_resource_id), properties, Some(old));
        self.send(event).await
    }

    pub async fn delete(&self, physical_resource_id: &str, properties: Value) -> Value {
        let event = self.event("Delete", Some(physical_resource_id), properties, None);
        self.send(event).await
    }
}

fn ownership_tags(stack_id: &str, logical_resource_id: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (
            "sagemaker-async-autoscaling:stack-id".to_owned(),
            stack_id.to_owned(),
        ),
        (
            "sagemaker-async-autoscaling:logical-resource-id".to_owned(),
            logical_resource_id.to_owned(),
        ),
    ])
}

/// CloudFormation hands a custom resource every scalar of its properties as a string, at any
/// depth: `2` arrives as `"2"`, `true` as `"true"`.
pub fn as_cloudformation_sends(value: Value) -> Value {
    match value {
        Value::Number(n) => Value::String(n.to_string()),
        Value::Bool(b) => Value::String(b.to_string()),
        Value::Array(items) => {
            Value::Array(items.into_iter().map(as_cloudformation_sends).collect())
        }
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, as_cloudformation_sends(v)))
                .collect(),
        ),
        other => other,
    }
}

pub fn answer_path(event: &Value) -> String {
    let url = event["ResponseURL"].as_str().unwrap();
    let path_and_query = url.splitn(4, '/').nth(3).unwrap();
    format!("/{}", path_and_query.split('?').next().unwrap())
}

pub fn in_seconds(seconds: u64) -> SystemTime {
    SystemTime::now() + Duration::from_secs(seconds)
}

pub fn assert_success(answer: &Value) {
    assert_eq!(answer["Status"], "SUCCESS", "answer: {answer:#}");
}

/// Asserts a FAILED answer whose Reason contains every fragment.
pub fn assert_failed(answer: &Value, fragments: &[&str]) {
    assert_eq!(answer["Status"], "FAILED", "answer: {answer:#}");
    let reason = answer["Reason"].as_str().unwrap();
    for fragment in fragments {
        assert!(
            reason.contains(fragment),
            "{fragment:?} not in Reason {reason:?}"
        );
    }
}

/// The state moto holds, read straight from it (not through the proxy).
pub struct Emulator {
    clients: AwsClients,
}

impl Emulator {
    pub async fn connect() -> Emulator {
        Emulator::over(clients_for(moto_url()).await)
    }

    /// A reader through these clients (a test's proxy, say).
    pub fn over(clients: AwsClients) -> Emulator {
        Emulator { clients }
    }

    /// The target registered under exactly this ResourceId (moto may match one by prefix).
    pub async fn target(&self, resource_id: &str) -> Option<ScalableTarget> {
        let output = self
            .clients
            .autoscaling
            .describe_scalable_targets()
            .service_namespace(ServiceNamespace::Sagemaker)
            .resource_ids(resource_id)
            .send()
            .await
            .unwrap();
        let mut targets = output.scalable_targets().iter();
        targets.find(|t| t.resource_id() == resource_id).cloned()
    }

    /// A target's scaling policies, every page read, by name.
    pub async fn policies(&self, resource_id: &str) -> Vec<ScalingPolicy> {
        let mut policies = self
            .clients
            .autoscaling
            .describe_scaling_policies()
            .service_namespace(ServiceNamespace::Sagemaker)
            .resource_id(resource_id)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .unwrap();
        policies.sort_by(|a, b| a.policy_name().cmp(b.policy_name()));
        policies
    }

    pub async fn policy_names(&self, resource_id: &str) -> Vec<String> {
        let policies = self.policies(resource_id).await;
        policies
            .iter()
            .map(|p| p.policy_name().to_owned())
            .collect()
    }

    pub async fn alarm(&self, name: &str) -> Option<MetricAlarm> {
        let output = self
            .clients
            .cloudwatch
            .describe_alarms()
            .alarm_names(name)
            .send()
            .await
            .unwrap();
        output.metric_alarms().first().cloned()
    }

    /// Registers a target as something other than this stack would (a console user, say).
    pub async fn register_target(&self, resource_id: &str, min: i32, max: i32) {
        self.clients
            .autoscaling
            .register_scalable_target()
            .service_namespace(ServiceNamespace::Sagemaker)
            .scalable_dimension(dimension_of(resource_id))
            .resource_id(resource_id)
            .min_capacity(min)
            .max_capacity(max)
            .send()
            .await
            .unwrap();
    }

    /// Tags a variant's scalable target as something other than this stack would (another
    /// stack taking it over, say).
    pub async fn tag_target(&self, resource_id: &str, tags: BTreeMap<String, String>) {
        let target = self.target(resource_id).await.expect("a target");
        self.clients
            .autoscaling
            .tag_resource()
            .resource_arn(target.scalable_target_arn().unwrap())
            .set_tags(Some(tags.into_iter().collect()))
            .send()
            .await
            .unwrap();
    }

    /// A variant's scheduled actions, by name.
    pub async fn scheduled_actions(&self, resource_id: &str) -> Vec<ScheduledAction> {
        let mut actions = self
            .clients
            .autoscaling
            .describe_scheduled_actions()
            .service_namespace(ServiceNamespace::Sagemaker)
            .resource_id(resource_id)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .unwrap();
        actions.sort_by(|a, b| a.scheduled_action_name().cmp(b.scheduled_action_name()));
        actions
    }

    /// The tags of a variant's scalable target.
    pub async fn target_tags(&self, resource_id: &str) -> BTreeMap<String, String> {
        let target = self.target(resource_id).await.expect("a target");
        let output = self
            .clients
            .autoscaling
            .list_tags_for_resource()
            .resource_arn(target.scalable_target_arn().unwrap())
            .send()
            .await
            .unwrap();
        output
            .tags()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .collect()
    }

    /// An alarm's tags.
    pub async fn alarm_tags(&self, name: &str) -> BTreeMap<String, String> {
        let alarm = self.alarm(name).await.expect("an alarm");
        let output = self
            .clients
            .cloudwatch
            .list_tags_for_resource()
            .resource_arn(alarm.alarm_arn().unwrap())
            .send()
            .await
            .unwrap();
        let tags = output.tags().iter();
        tags.map(|t| (t.key().unwrap().to_owned(), t.value().unwrap().to_owned()))
            .collect()
    }

    /// Puts a target-tracking policy on the target as a user would by hand (on the variant's
    /// CPU, at 70).
    pub async fn put_users_policy(&self, resource_id: &str, name: &str) {
        let (endpoint, variant) = resource_id
            .strip_prefix("endpoint/")
            .and_then(|rest| rest.split_once("/variant/"))
            .unwrap();
        let dimension = |name: &str, value: &str| {
            MetricDimension::builder()
                .name(name)
                .value(value)
                .build()
                .unwrap()
        };
        let metric = CustomizedMetricSpecification::builder()
            .metric_name("CPUUtilization")
            .namespace("/aws/sagemaker/Endpoints")
            .dimensions(dimension("EndpointName", endpoint))
            .dimensions(dimension("VariantName", variant))
            .statistic(MetricStatistic::Average)
            .build();
        let tracking = TargetTrackingScalingPolicyConfiguration::builder()
            .target_value(70.0)
            .customized_metric_specification(metric)
            .build()
            .unwrap();
        put_target_tracking_policy(&self.clients, resource_id, name, tracking)
            .await
            .unwrap();
    }

    /// Puts an alarm as a user would (their pager alarm, say), with these actions.
    pub async fn put_users_alarm(&self, name: &str, endpoint: &str, actions: &[&str]) {
        let dimension = aws_sdk_cloudwatch::types::Dimension::builder()
            .name("EndpointName")
            .value(endpoint)
            .build();
        self.clients
            .cloudwatch
            .put_metric_alarm()
            .alarm_name(name)
            .metric_name("Invocation5XXErrors")
            .namespace("AWS/SageMaker")
            .dimensions(dimension)
            .statistic(aws_sdk_cloudwatch::types::Statistic::Sum)
            .period(300)
            .evaluation_periods(1)
            .threshold(1.0)
            .comparison_operator(
                aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanOrEqualToThreshold,
            )
            .set_alarm_actions(Some(actions.iter().map(|a| a.to_string()).collect()))
            .send()
            .await
            .unwrap();
    }

    /// Nothing of a target's scaling is left: no target, no policy, no scheduled action, and
    /// no alarm.
    pub async fn assert_nothing_left(&self, resource_id: &str, alarm_name: &str) {
        assert!(
            self.target(resource_id).await.is_none(),
            "target left for {resource_id}"
        );
        assert_eq!(self.policy_names(resource_id).await, Vec::<String>::new());
        let actions = self.scheduled_actions(resource_id).await;
        assert!(actions.is_empty(), "scheduled actions left: {actions:?}");
        assert!(
            self.alarm(alarm_name).await.is_none(),
            "alarm {alarm_name} left"
        );
    }
}

/// Sends a Create for each of these properties and asserts that each is refused before any AWS
/// call: FAILED, with these fragments in its Reason, under a failed Create's id.
pub async fn assert_refused_before_any_call(stack: &Stack, aws: &Aws, cases: &[(Value, &[&str])]) {
    for (properties, fragments) in cases {
        let answer = stack.create(properties.clone()).await;
        assert_failed(&answer, fragments);
        let id = answer["PhysicalResourceId"].as_str().unwrap();
        assert!(id.starts_with("create-failed/"), "{properties}: {id}");
    }
    aws.assert_no_calls();
}

/// An alarm's dimensions, as (name, value) pairs in order.
pub fn alarm_dimensions(alarm: &MetricAlarm) -> Vec<(&str, &str)> {
    let dimensions = alarm.dimensions().iter();
    dimensions
        .map(|d| (d.name().unwrap(), d.value().unwrap()))
        .collect()
}

/// Asserts a ScaleFromZero step policy: ChangeInCapacity, one step of +1 from the alarm's
/// threshold up, with this aggregation and cooldown (the kind's).
pub fn assert_step_policy(step: &ScalingPolicy, aggregation: MetricAggregationType, cooldown: i32) {
    assert_eq!(step.policy_type(), &PolicyType::StepScaling);
    let steps = step.step_scaling_policy_configuration().unwrap();
    assert_eq!(
        steps.adjustment_type(),
        Some(&AdjustmentType::ChangeInCapacity)
    );
    assert_eq!(steps.metric_aggregation_type(), Some(&aggregation));
    assert_eq!(steps.cooldown(), Some(cooldown));
    let adjustments = steps.step_adjustments();
    assert_eq!(adjustments.len(), 1);
    assert_eq!(adjustments[0].metric_interval_lower_bound(), Some(0.0));
    assert_eq!(adjustments[0].metric_interval_upper_bound(), None);
    assert_eq!(adjustments[0].scaling_adjustment(), 1);
}

/// The scalable dimension of a SageMaker ResourceId: an inference component's copies, or a
/// variant's instances.
pub fn dimension_of(resource_id: &str) -> ScalableDimension {
    match resource_id.starts_with("inference-component/") {
        true => ScalableDimension::SageMakerInferenceComponentDesiredCopyCount,
        false => ScalableDimension::SageMakerVariantDesiredInstanceCount,
    }
}

/// Puts a target-tracking policy on a variant's target through these clients, as a user would,
/// and answers its ARN.
pub async fn put_target_tracking_policy(
    clients: &AwsClients,
    resource_id: &str,
    name: &str,
    tracking: TargetTrackingScalingPolicyConfiguration,
) -> Result<String, aws_sdk_applicationautoscaling::Error> {
    let output = clients
        .autoscaling
        .put_scaling_policy()
        .policy_name(name)
        .service_namespace(ServiceNamespace::Sagemaker)
        .scalable_dimension(dimension_of(resource_id))
        .resource_id(resource_id)
        .policy_type(PolicyType::TargetTrackingScaling)
        .target_tracking_scaling_policy_configuration(tracking)
        .send()
        .await?;
    Ok(output.policy_arn().to_owned())
}
