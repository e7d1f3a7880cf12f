//! AWS answers the emulator cannot give, scripted with aws-smithy-mocks: real AWS error codes
//! on the wire (ObjectNotFoundException, ConcurrentUpdateException, ValidationException,
//! AccessDeniedException, ThrottlingException), which are retried and which are not, and a
//! panic in the middle of an operation.

use crate::support::{Stack, assert_failed, assert_success};
use aws_sdk_applicationautoscaling as autoscaling;
use aws_sdk_applicationautoscaling::operation::{
    deregister_scalable_target::DeregisterScalableTargetOutput,
    describe_scalable_targets::DescribeScalableTargetsOutput,
    list_tags_for_resource::ListTagsForResourceOutput, put_scaling_policy::PutScalingPolicyOutput,
    register_scalable_target::RegisterScalableTargetOutput,
};
use aws_sdk_cloudwatch as cloudwatch;
use aws_sdk_cloudwatch::operation::{
    delete_alarms::DeleteAlarmsOutput, describe_alarms::DescribeAlarmsOutput,
    list_tags_for_resource::ListTagsForResourceOutput as ListTagsOutput,
    put_metric_alarm::PutMetricAlarmOutput,
};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use sagemaker_async_autoscaling::{AwsClients, retry_config};
use serde_json::json;

const TARGET_ARN: &str =
    "arn:aws:application-autoscaling:us-east-1:123456789012:scalable-target/0f";
const POLICY_ARN: &str = "arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:0f:resource/sagemaker/endpoint/e/variant/v:policyName/HasBacklogWithoutCapacity-ScalingPolicy";

/// An error as Application Auto Scaling puts it on the wire.
fn wire_error(code: &str, message: &str) -> Option<String> {
    Some(json!({"__type": code, "message": message}).to_string())
}

fn describe_no_target() -> Rule {
    mock!(autoscaling::Client::describe_scalable_targets)
        .then_output(|| DescribeScalableTargetsOutput::builder().build())
}

fn register_ok() -> Rule {
    mock!(autoscaling::Client::register_scalable_target).then_output(|| {
        RegisterScalableTargetOutput::builder()
            .scalable_target_arn(TARGET_ARN)
            .build()
    })
}

fn put_policy_ok() -> Rule {
    mock!(autoscaling::Client::put_scaling_policy).then_output(|| {
        PutScalingPolicyOutput::builder()
            .policy_arn(POLICY_ARN)
            .build()
            .unwrap()
    })
}

fn deregister_ok() -> Rule {
    mock!(autoscaling::Client::deregister_scalable_target)
        .then_output(|| DeregisterScalableTargetOutput::builder().build())
}

/// CloudWatch that accepts everything and shows no alarm; an alarm's tags, asked for after it
/// is put, are those that the resource of the stack called `stack` gives what it creates.
fn cloudwatch_ok(stack: &str) -> cloudwatch::Client {
    let put = mock!(cloudwatch::Client::put_metric_alarm)
        .then_output(|| PutMetricAlarmOutput::builder().build());
    let describe = mock!(cloudwatch::Client::describe_alarms)
        .then_output(|| DescribeAlarmsOutput::builder().build());
    let delete = mock!(cloudwatch::Client::delete_alarms)
        .then_output(|| DeleteAlarmsOutput::builder().build());
    let tags = Stack::ownership_tags_of(stack);
    let list_tags = mock!(cloudwatch::Client::list_tags_for_resource).then_output(move || {
        let tag =
            |(k, v): (&String, &String)| cloudwatch::types::Tag::builder().key(k).value(v).build();
        ListTagsOutput::builder()
            .set_tags(Some(tags.iter().map(tag).collect()))
            .build()
    });
    mock_client!(
        cloudwatch,
        RuleMode::MatchAny,
        [&put, &describe, &delete, &list_tags],
        |c| c.retry_config(retry_config())
    )
}

/// Application Auto Scaling answering by these rules, with the function's own retry settings.
fn autoscaling_with(rules: &[&Rule]) -> autoscaling::Client {
    mock_client!(autoscaling, RuleMode::MatchAny, rules, |c| c
        .retry_config(retry_config()))
}

/// Properties for the variant `endpoint/e/variant/v` that every scripted answer names.
fn variant_e_v() -> serde_json::Value {
    json!({"EndpointName": "e", "VariantName": "v"})
}

async fn stack(name: &str, autoscaling: autoscaling::Client) -> Stack {
    Stack::new(scripted_clients(autoscaling, cloudwatch_ok(name)), name).await
}

/// Clients that answer by script; SageMaker and Parameter Store point nowhere, since a scaling
/// resource without `EndpointConfigName` never calls them.
fn scripted_clients(
    autoscaling: autoscaling::Client,
    cloudwatch: cloudwatch::Client,
) -> AwsClients {
    let nowhere = "http://127.0.0.1:9";
    let sagemaker = aws_sdk_sagemaker::Config::builder()
        .behavior_version_latest()
        .region(aws_sdk_sagemaker::config::Region::new("us-east-1"))
        .endpoint_url(nowhere)
        .build();
    let ssm = aws_sdk_ssm::Config::builder()
        .behavior_version_latest()
        .region(aws_sdk_ssm::config::Region::new("us-east-1"))
        .endpoint_url(nowhere)
        .build();
    AwsClients::new(
        autoscaling,
        cloudwatch,
        aws_sdk_sagemaker::Client::from_conf(sagemaker),
        aws_sdk_ssm::Client::from_conf(ssm),
    )
}

#[tokio::test]
async fn delete_counts_object_not_found_as_already_gone() {
    let describe = mock!(autoscaling::Client::describe_scalable_targets).then_output(|| {
        DescribeScalableTargetsOutput::builder()
            .scalable_targets(registered_target())
            .build()
    });
    let tags = mock!(autoscaling::Client::list_tags_for_resource)
        .then_output(|| ListTagsForResourceOutput::builder().build());
    let deregister = mock!(autoscaling::Client::deregister_scalable_target)
        .sequence()
        .http_status(
            400,
            wire_error("ObjectNotFoundException", "No scalable target found"),
        )
        .build();
    let stack = stack(
        "scripted-gone",
        autoscaling_with(&[&describe, &tags, &deregister]),
    )
    .await;

    let answer = stack
        .delete("endpoint/e/variant/v", json!({"EndpointName": "e"}))
        .await;
    assert_success(&answer);
    assert_eq!(deregister.num_calls(), 1);
}

#[tokio::test]
async fn a_concurrent_update_is_retried_until_it_goes_through() {
    let register = mock!(autoscaling::Client::register_scalable_target)
        .sequence()
        .http_status(
            400,
            wire_error("ConcurrentUpdateException", "Concurrent update in progress"),
        )
        .times(2)
        .output(|| RegisterScalableTargetOutput::builder().build())
        .build();
    let (describe, put) = (describe_no_target(), put_policy_ok());
    let stack = stack(
        "scripted-concurrent",
        autoscaling_with(&[&describe, &register, &put]),
    )
    .await;

    assert_success(&stack.create(variant_e_v()).await);
    assert_eq!(register.num_calls(), 3);
}

#[tokio::test]
async fn a_validation_error_fails_naming_the_operation_and_the_service_message() {
    let put_cpu = mock!(autoscaling::Client::put_scaling_policy)
        .match_requests(|r| r.policy_name() == Some("CPUUtil-ScalingPolicy"))
        .sequence()
        .http_status(
            400,
            wire_error(
                "ValidationException",
                "TargetValue must be at most 100 for CPUUtilization",
            ),
        )
        .repeatedly()
        .build();
    let (describe, register, put_step, deregister) = (
        describe_no_target(),
        register_ok(),
        put_policy_ok(),
        deregister_ok(),
    );
    let stack = stack(
        "scripted-validation",
        autoscaling_with(&[&describe, &register, &put_cpu, &put_step, &deregister]),
    )
    .await;

    let answer = stack.create(variant_e_v()).await;
    assert_failed(
        &answer,
        &[
            "PutScalingPolicy failed: ValidationException: TargetValue must be at most 100 for CPUUtilization",
            "Removed what this request had set up for endpoint/e/variant/v",
        ],
    );
    assert_eq!(
        deregister.num_calls(),
        1,
        "the target this Create registered is removed"
    );
    assert_eq!(put_cpu.num_calls(), 1, "a validation error is not retried");
}

#[tokio::test]
async fn an_access_denied_error_is_not_retried() {
    let register = mock!(autoscaling::Client::register_scalable_target)
        .sequence()
        .http_status(
            400,
            wire_error(
                "AccessDeniedException",
                "User is not authorized to perform: application-autoscaling:RegisterScalableTarget",
            ),
        )
        .repeatedly()
        .build();
    let (describe, deregister) = (describe_no_target(), deregister_ok());
    let stack = stack(
        "scripted-denied",
        autoscaling_with(&[&describe, &register, &deregister]),
    )
    .await;

    let answer = stack.create(variant_e_v()).await;
    assert_failed(
        &answer,
        &["RegisterScalableTarget failed: AccessDeniedException: User is not authorized"],
    );
    assert!(
        !answer["Reason"]
            .as_str()
            .unwrap()
            .contains("still failing after"),
        "not reported as retried"
    );
    assert_eq!(register.num_calls(), 1, "tried once");
}

#[tokio::test]
async fn throttling_is_retried_by_the_function() {
    let describe = mock!(autoscaling::Client::describe_scalable_targets)
        .sequence()
        .http_status(400, wire_error("ThrottlingException", "Rate exceeded"))
        .output(|| DescribeScalableTargetsOutput::builder().build())
        .build();
    let (register, put) = (register_ok(), put_policy_ok());
    let stack = stack(
        "scripted-throttling",
        autoscaling_with(&[&describe, &register, &put]),
    )
    .await;

    assert_success(&stack.create(variant_e_v()).await);
    assert_eq!(describe.num_calls(), 2);
}

#[tokio::test]
async fn a_panic_in_the_middle_of_a_create_is_answered_failed_and_so_is_a_panicking_cleanup() {
    let put = mock!(autoscaling::Client::put_scaling_policy)
        .then_compute_output(|_| -> PutScalingPolicyOutput { panic!("scripted panic") });
    let (describe, register, deregister) = (describe_no_target(), register_ok(), deregister_ok());
    let stack = stack(
        "scripted-panic",
        autoscaling_with(&[&describe, &register, &put, &deregister]),
    )
    .await;

    // The panic poisons the scripted client, so the cleanup that follows panics as well:
    // both are still answered.
    let answer = stack.create(variant_e_v()).await;
    assert_failed(
        &answer,
        &[
            "Internal error: the function panicked (scripted panic)",
            "Could not remove what this request had set up for endpoint/e/variant/v: the function panicked",
        ],
    );
    assert!(
        answer["PhysicalResourceId"]
            .as_str()
            .unwrap()
            .starts_with("create-failed/")
    );
}

/// The variant's target as DescribeScalableTargets shows it once it is registered.
fn registered_target() -> aws_sdk_applicationautoscaling::types::ScalableTarget {
    use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};
    aws_sdk_applicationautoscaling::types::ScalableTarget::builder()
        .service_namespace(ServiceNamespace::Sagemaker)
        .resource_id("endpoint/e/variant/v")
        .scalable_dimension(ScalableDimension::SageMakerVariantDesiredInstanceCount)
        .min_capacity(0)
        .max_capacity(1)
        .role_arn("arn:aws:iam::123456789012:role/r")
        .creation_time(aws_sdk_applicationautoscaling::primitives::DateTime::from_secs(0))
        .scalable_target_arn(TARGET_ARN)
        .build()
        .unwrap()
}

/// PutScalingPolicy refused for good, every time.
fn put_policy_refused() -> Rule {
    mock!(autoscaling::Client::put_scaling_policy)
        .sequence()
        .http_status(400, wire_error("ValidationException", "Bad policy"))
        .repeatedly()
        .build()
}

/// A registration whose first attempt gets no usable answer (a 503) but is carried out all the
/// same, so that its retry is told the target exists: what AWS answers then.
fn registration_with_unknown_outcome() -> Rule {
    mock!(autoscaling::Client::register_scalable_target)
        .sequence()
        .http_status(503, wire_error("ServiceUnavailable", "Service unavailable"))
        .http_status(400, target_exists())
        .output(|| RegisterScalableTargetOutput::builder().build())
        .repeatedly()
        .build()
}

/// A registration refused because the target was registered meanwhile; once it exists,
/// registering it again (without tags) succeeds.
fn registration_refused() -> Rule {
    mock!(autoscaling::Client::register_scalable_target)
        .sequence()
        .http_status(400, target_exists())
        .output(|| RegisterScalableTargetOutput::builder().build())
        .repeatedly()
        .build()
}

/// What AWS answers RegisterScalableTarget with tags for a target that exists.
fn target_exists() -> Option<String> {
    wire_error(
        "ValidationException",
        "The scalable target that you tried to tag already exists. To update tags on an existing \
         scalable target, use the TagResource API.",
    )
}

/// The variant's target: not registered at the first look, registered from then on, with the
/// tags of the resource of the stack called `owner`.
fn target_that_appears(owner: &str) -> [Rule; 2] {
    let describe = mock!(autoscaling::Client::describe_scalable_targets)
        .sequence()
        .output(|| DescribeScalableTargetsOutput::builder().build())
        .output(|| {
            DescribeScalableTargetsOutput::builder()
                .scalable_targets(registered_target())
                .build()
        })
        .repeatedly()
        .build();
    let tags = Stack::ownership_tags_of(owner);
    let list_tags = mock!(autoscaling::Client::list_tags_for_resource).then_output(move || {
        ListTagsForResourceOutput::builder()
            .set_tags(Some(tags.clone().into_iter().collect()))
            .build()
    });
    [describe, list_tags]
}

#[tokio::test]
async fn a_registration_with_an_unknown_outcome_is_rolled_back_while_it_carries_this_resources_tags()
 {
    let register = registration_with_unknown_outcome();
    let [describe, list_tags] = target_that_appears("scripted-unknown");
    // The Create then fails for good further on.
    let put = put_policy_refused();
    let deregister = deregister_ok();
    let stack = stack(
        "scripted-unknown",
        autoscaling_with(&[&register, &describe, &list_tags, &put, &deregister]),
    )
    .await;

    let answer = stack.create(variant_e_v()).await;
    assert_failed(
        &answer,
        &[
            "PutScalingPolicy failed: ValidationException: Bad policy",
            "Removed what this request had set up for endpoint/e/variant/v",
        ],
    );
    assert_eq!(
        deregister.num_calls(),
        1,
        "the target it may have registered carries its tags: removed"
    );
}

#[tokio::test]
async fn a_registration_with_an_unknown_outcome_is_left_when_it_carries_another_stacks_tags() {
    let register = registration_with_unknown_outcome();
    let [describe, list_tags] = target_that_appears("scripted-other-owner");
    let deregister = deregister_ok();
    let stack = stack(
        "scripted-unknown-theirs",
        autoscaling_with(&[&register, &describe, &list_tags, &deregister]),
    )
    .await;

    let answer = stack.create(variant_e_v()).await;
    let other = Stack::id_of("scripted-other-owner");
    assert_failed(
        &answer,
        &[
            &format!(
                "A scalable target is already registered for endpoint/e/variant/v and resource \
                 EndpointAutoScaling of stack {other} manages it"
            ),
            "Nothing to remove",
            &format!(
                "Left the scalable target of endpoint/e/variant/v, which resource \
                 EndpointAutoScaling of stack {other} manages"
            ),
        ],
    );
    assert_eq!(deregister.num_calls(), 0, "another stack's target stays");
}

#[tokio::test]
async fn a_registration_aws_refused_because_the_target_appeared_removes_nothing() {
    let register = registration_refused();
    let [describe, list_tags] = target_that_appears("scripted-winner");
    let deregister = deregister_ok();
    let stack = stack(
        "scripted-refused",
        autoscaling_with(&[&register, &describe, &list_tags, &deregister]),
    )
    .await;

    let answer = stack.create(variant_e_v()).await;
    assert_failed(
        &answer,
        &[&format!(
            "stack {} manages it: refusing to take it over",
            Stack::id_of("scripted-winner")
        )],
    );
    let reason = answer["Reason"].as_str().unwrap();
    assert!(
        !reason.contains("Removed") && !reason.contains("Left"),
        "{reason}"
    );
    assert_eq!(deregister.num_calls(), 0);
    assert_eq!(
        register.num_calls(),
        1,
        "a refusal is not retried, nor registered over"
    );
}

#[tokio::test]
async fn a_copy_that_stood_down_and_then_fails_answers_with_the_variants_id_and_removes_nothing() {
    // The other copy registered the target first (refused here), with this resource's tags.
    let register = registration_refused();
    let [describe, list_tags] = target_that_appears("scripted-stood-down");
    let put = put_policy_refused();
    let deregister = deregister_ok();
    let stack = stack(
        "scripted-stood-down",
        autoscaling_with(&[&register, &describe, &list_tags, &put, &deregister]),
    )
    .await;

    let answer = stack.create(variant_e_v()).await;
    assert_failed(
        &answer,
        &["PutScalingPolicy failed: ValidationException: Bad policy"],
    );
    // CloudFormation's rollback Delete of this id then removes the setup, which is this
    // resource's; a failed Create's id would leave it to nobody.
    assert_eq!(answer["PhysicalResourceId"], "endpoint/e/variant/v");
    assert_eq!(deregister.num_calls(), 0, "the other copy's setup stays");
}
