//! The test harness itself: the proxy refuses requests that break the AWS API model, and injects
//! faults in the protocol each service speaks. If these fail, the other tests prove less than
//! they claim. (What the emulator does as AWS does, its own tests check: tests/emulator/RULES.md.)

use crate::support::aws::{Aws, Service};
use aws_sdk_applicationautoscaling::error::ProvideErrorMetadata;
use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};

const DIMENSION: ScalableDimension = ScalableDimension::SageMakerVariantDesiredInstanceCount;

#[tokio::test]
async fn a_request_that_breaks_the_aws_model_is_refused_and_recorded() {
    let aws = Aws::start().await;
    let clients = aws.clients().await;
    let error = clients
        .autoscaling
        .put_scheduled_action()
        .service_namespace(ServiceNamespace::Sagemaker)
        .scalable_dimension(DIMENSION)
        .resource_id("endpoint/esd-model/variant/prod")
        .scheduled_action_name("nightly/")
        .schedule("cron(0 20 * * ? *)")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some("ValidationException"));
    let violations = aws.take_violations();
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert!(
        violations[0].starts_with("PutScheduledAction.ScheduledActionName"),
        "{violations:?}"
    );
}

#[tokio::test]
async fn a_fault_for_one_services_operation_leaves_the_other_services_alone() {
    let aws = Aws::start().await;
    let clients = aws.clients().await;
    aws.fail_in(
        Service::CloudWatch,
        "ListTagsForResource",
        1,
        "AccessDenied",
        "injected",
    );
    let target = "arn:aws:application-autoscaling:us-east-1:123456789012:scalable-target/none";
    let autoscaling = clients
        .autoscaling
        .list_tags_for_resource()
        .resource_arn(target)
        .send()
        .await
        .unwrap_err();
    assert_eq!(autoscaling.code(), Some("ResourceNotFoundException"));
    let cloudwatch = clients
        .cloudwatch
        .list_tags_for_resource()
        .resource_arn("arn:aws:cloudwatch:us-east-1:123456789012:alarm:none")
        .send()
        .await
        .unwrap_err();
    assert_eq!(cloudwatch.code(), Some("AccessDenied"));
}
