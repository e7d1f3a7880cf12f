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
    put_metric_alarm::PutMetricAlarmOutput,
};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use sagemaker_async_autoscaling::aws::{AwsClients, retry_config};
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

/// CloudWatch that accepts everything and holds no alarm.
fn cloudwatch_ok() -> cloudwatch::Client {
    let put = mock!(cloudwatch::Client::put_metric_alarm)
        .then_output(|| PutMetricAlarmOutput::builder().build());
    let describe = mock!(cloudwatch::Client::describe_alarms)
        .then_output(|| DescribeAlarmsOutput::builder().build());
    let delete = mock!(cloudwatch::Client::delete_alarms)
        .then_output(|| DeleteAlarmsOutput::builder().build());
    mock_client!(
        cloudwatch,
        RuleMode::MatchAny,
        [&put, &describe, &delete],
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
    Stack::new(AwsClients::new(autoscaling, cloudwatch_ok()), name).await
}

#[tokio::test]
async fn delete_counts_object_not_found_as_already_gone() {
    let describe = mock!(autoscaling::Client::describe_scalable_targets).then_output(|| {
        let target = aws_sdk_applicationautoscaling::types::ScalableTarget::builder()
            .service_namespace(aws_sdk_applicationautoscaling::types::ServiceNamespace::Sagemaker)
            .resource_id("endpoint/e/variant/v")
            .scalable_dimension(
                aws_sdk_applicationautoscaling::types::ScalableDimension::SageMakerVariantDesiredInstanceCount,
            )
            .min_capacity(0)
            .max_capacity(1)
            .role_arn("arn:aws:iam::123456789012:role/r")
            .creation_time(aws_sdk_applicationautoscaling::primitives::DateTime::from_secs(0))
            .scalable_target_arn(TARGET_ARN)
            .build()
            .unwrap();
        DescribeScalableTargetsOutput::builder()
            .scalable_targets(target)
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
