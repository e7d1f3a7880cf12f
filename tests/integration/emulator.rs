//! The test harness itself: the proxy refuses requests that break the AWS API model, and its
//! AWS-like mode does what AWS does where moto does not. If these fail, the other tests prove
//! less than they claim.

use crate::support::aws::{Aws, Mode, Service};
use crate::support::put_target_tracking_policy;
use aws_sdk_applicationautoscaling::error::ProvideErrorMetadata;
use aws_sdk_applicationautoscaling::types::{
    MetricType, PredefinedMetricSpecification, ScalableDimension, ScalableTargetAction,
    ServiceNamespace, TargetTrackingScalingPolicyConfiguration,
};
use sagemaker_async_autoscaling::AwsClients;

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

/// Puts the scheduled action "night" on a variant, as a user would.
async fn put_night(
    clients: &AwsClients,
    resource_id: &str,
) -> Result<(), aws_sdk_applicationautoscaling::Error> {
    clients
        .autoscaling
        .put_scheduled_action()
        .service_namespace(ServiceNamespace::Sagemaker)
        .scalable_dimension(DIMENSION)
        .resource_id(resource_id)
        .scheduled_action_name("night")
        .schedule("cron(0 20 * * ? *)")
        .scalable_target_action(ScalableTargetAction::builder().max_capacity(0).build())
        .send()
        .await?;
    Ok(())
}

/// Puts a target-tracking policy "busy" on a variant, as a user would; answers its ARN.
async fn put_policy(clients: &AwsClients, resource_id: &str, target: f64) -> String {
    let tracking = TargetTrackingScalingPolicyConfiguration::builder()
        .target_value(target)
        .predefined_metric_specification(
            PredefinedMetricSpecification::builder()
                .predefined_metric_type(MetricType::SageMakerVariantInvocationsPerInstance)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    put_target_tracking_policy(clients, resource_id, "busy", tracking)
        .await
        .unwrap()
}

/// Deregisters a variant's target, as a user would.
async fn deregister(
    clients: &AwsClients,
    resource_id: &str,
) -> Result<(), aws_sdk_applicationautoscaling::Error> {
    clients
        .autoscaling
        .deregister_scalable_target()
        .service_namespace(ServiceNamespace::Sagemaker)
        .scalable_dimension(DIMENSION)
        .resource_id(resource_id)
        .send()
        .await?;
    Ok(())
}

async fn register(aws: &Aws, resource_id: &str, tagged: bool) -> Result<(), String> {
    let clients = aws.clients().await;
    let mut request = clients
        .autoscaling
        .register_scalable_target()
        .service_namespace(ServiceNamespace::Sagemaker)
        .scalable_dimension(DIMENSION)
        .resource_id(resource_id)
        .min_capacity(0)
        .max_capacity(1);
    if tagged {
        request = request.tags("team", "ml");
    }
    request
        .send()
        .await
        .map(|_| ())
        .map_err(|e| format!("{}: {}", e.code().unwrap_or("?"), e.message().unwrap_or("")))
}

#[tokio::test]
async fn aws_like_mode_refuses_tags_for_a_target_that_exists() {
    for (mode, refused) in [(Mode::Plain, false), (Mode::AwsLike, true)] {
        let aws = Aws::start_in(mode).await;
        let resource_id = format!("endpoint/esd-retag-{mode:?}/variant/prod");
        register(&aws, &resource_id, true).await.unwrap();
        let again = register(&aws, &resource_id, true).await;
        assert_eq!(again.is_err(), refused, "{mode:?}: {again:?}");
        if refused {
            assert!(again.unwrap_err().contains("use the TagResource API"));
        }
        register(&aws, &resource_id, false).await.unwrap();
    }
}

#[tokio::test]
async fn the_emulator_removes_policies_and_scheduled_actions_with_the_target() {
    for mode in [Mode::Plain, Mode::AwsLike] {
        let aws = Aws::start_in(mode).await;
        let clients = aws.clients().await;
        let resource_id = format!("endpoint/esd-deregister-{mode:?}/variant/prod");
        register(&aws, &resource_id, false).await.unwrap();
        put_night(&clients, &resource_id).await.unwrap();
        put_policy(&clients, &resource_id, 50.0).await;
        deregister(&clients, &resource_id).await.unwrap();
        let actions = clients
            .autoscaling
            .describe_scheduled_actions()
            .service_namespace(ServiceNamespace::Sagemaker)
            .resource_id(&resource_id)
            .send()
            .await
            .unwrap();
        assert!(actions.scheduled_actions().is_empty(), "{mode:?}");
        let policies = clients
            .autoscaling
            .describe_scaling_policies()
            .service_namespace(ServiceNamespace::Sagemaker)
            .resource_id(&resource_id)
            .send()
            .await
            .unwrap();
        assert!(policies.scaling_policies().is_empty(), "{mode:?}");
    }
}

#[tokio::test]
async fn the_emulator_keeps_a_policys_arn_when_it_is_updated() {
    let aws = Aws::start().await;
    let clients = aws.clients().await;
    let resource_id = "endpoint/esd-policy-arn/variant/prod";
    register(&aws, resource_id, false).await.unwrap();
    let first = put_policy(&clients, resource_id, 50.0).await;
    let second = put_policy(&clients, resource_id, 70.0).await;
    assert_eq!(first, second);
}

#[tokio::test]
async fn aws_like_mode_says_object_not_found_for_what_is_missing() {
    for (mode, code) in [
        (Mode::Plain, "ValidationException"),
        (Mode::AwsLike, "ObjectNotFoundException"),
    ] {
        let aws = Aws::start_in(mode).await;
        let clients = aws.clients().await;
        let resource_id = format!("endpoint/esd-missing-{mode:?}/variant/prod");
        let error = deregister(&clients, &resource_id).await.unwrap_err();
        assert_eq!(error.code(), Some(code), "{mode:?}");
        let put = put_night(&clients, &resource_id).await;
        match mode {
            Mode::Plain => assert!(put.is_ok(), "moto accepts it"),
            Mode::AwsLike => {
                assert_eq!(put.unwrap_err().code(), Some("ObjectNotFoundException"))
            }
        }
    }
}

#[tokio::test]
async fn aws_like_mode_keeps_an_alarms_tags_on_put_and_drops_them_with_the_alarm() {
    let aws = Aws::start_in(Mode::AwsLike).await;
    let clients = aws.clients().await;
    let tag = |k: &str, v: &str| {
        aws_sdk_cloudwatch::types::Tag::builder()
            .key(k)
            .value(v)
            .build()
    };
    let put = |tags: Vec<aws_sdk_cloudwatch::types::Tag>| {
        clients
            .cloudwatch
            .put_metric_alarm()
            .alarm_name("esd-harness-alarm")
            .metric_name("HasBacklogWithoutCapacity")
            .namespace("AWS/SageMaker")
            .statistic(aws_sdk_cloudwatch::types::Statistic::Average)
            .period(60)
            .evaluation_periods(1)
            .threshold(1.0)
            .comparison_operator(
                aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanOrEqualToThreshold,
            )
            .set_tags(Some(tags))
            .send()
    };
    let tags = || async {
        let arn = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:esd-harness-alarm";
        let output = clients
            .cloudwatch
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .unwrap();
        let tags = output.tags().iter();
        tags.map(|t| (t.key().unwrap().to_owned(), t.value().unwrap().to_owned()))
            .collect::<Vec<_>>()
    };
    put(vec![tag("team", "ml")]).await.unwrap();
    put(vec![tag("team", "web"), tag("extra", "x")])
        .await
        .unwrap();
    assert_eq!(tags().await, [("team".to_owned(), "ml".to_owned())]);

    clients
        .cloudwatch
        .delete_alarms()
        .alarm_names("esd-harness-alarm")
        .send()
        .await
        .unwrap();
    put(vec![]).await.unwrap();
    assert_eq!(
        tags().await,
        [],
        "a new alarm of the name starts without tags"
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
