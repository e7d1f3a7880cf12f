//! Create, Update and Delete against the emulator, checked by reading back what AWS holds.

use crate::support::{
    Fixture, Stack, alarm_dimensions, assert_failed, assert_step_policy, assert_success,
};
use aws_sdk_applicationautoscaling::types::{
    CustomizedMetricSpecification, MetricAggregationType, MetricStatistic, PolicyType,
    ScalableDimension, ServiceNamespace,
};
use aws_sdk_cloudwatch::types::{ComparisonOperator, Statistic};
use serde_json::{Value, json};

/// The design's variant on an endpoint of the test's own.
fn design_properties(endpoint: &str) -> Value {
    json!({"EndpointName": endpoint, "VariantName": "prod", "MaxCapacity": 2})
}

fn resource_id(endpoint: &str) -> String {
    format!("endpoint/{endpoint}/variant/prod")
}

fn alarm_name(endpoint: &str) -> String {
    format!("{endpoint}-prod-HasBacklogWithoutCapacity")
}

/// The ownership tags this resource puts on what it manages.
fn ownership_tags(stack: &Stack) -> Vec<(String, String)> {
    stack.ownership_tags().into_iter().collect()
}

async fn create(f: &Fixture, properties: Value) -> String {
    let answer = f.stack.create(properties).await;
    assert_success(&answer);
    answer["PhysicalResourceId"].as_str().unwrap().to_owned()
}

/// Creates the variant, renames it to "blue" with an Update, and sends the Delete of the old
/// variant that CloudFormation sends after a replacement. Answers the old id and the Update's
/// answer.
async fn rename_variant_to_blue(f: &Fixture, old: Value) -> (String, Value) {
    let mut new = old.clone();
    new["VariantName"] = "blue".into();
    let old_id = create(f, old.clone()).await;
    let answer = f.stack.update(&old_id, new, old.clone()).await;
    assert_success(&answer);
    assert_success(&f.stack.delete(&old_id, old).await);
    (old_id, answer)
}

#[tokio::test]
async fn create_configures_target_policies_and_alarm_as_the_design_specifies() {
    let f =
        Fixture::start("create_configures_target_policies_and_alarm_as_the_design_specifies").await;
    let endpoint = f.endpoint("design");
    let answer = f.stack.create(design_properties(&endpoint)).await;

    assert_success(&answer);
    let resource_id = resource_id(&endpoint);
    assert_eq!(answer["PhysicalResourceId"], resource_id);
    assert_eq!(answer["StackId"], f.stack.stack_id.as_str());
    assert_eq!(answer["LogicalResourceId"], "EndpointAutoScaling");

    let target = f
        .emulator
        .target(&resource_id)
        .await
        .expect("target registered");
    assert_eq!((target.min_capacity(), target.max_capacity()), (0, 2));
    assert_eq!(
        target.scalable_dimension().as_str(),
        "sagemaker:variant:DesiredInstanceCount"
    );
    let tags: Vec<_> = f.target_tags(&resource_id).await.into_iter().collect();
    assert_eq!(tags, ownership_tags(&f.stack));

    let policies = f.emulator.policies(&resource_id).await;
    let names: Vec<_> = policies.iter().map(|p| p.policy_name()).collect();
    assert_eq!(
        names,
        [
            "CPUUtil-ScalingPolicy",
            "HasBacklogWithoutCapacity-ScalingPolicy"
        ]
    );

    let cpu = &policies[0];
    assert_eq!(cpu.policy_type(), &PolicyType::TargetTrackingScaling);
    let tracking = cpu.target_tracking_scaling_policy_configuration().unwrap();
    assert_eq!(tracking.target_value(), 50.0);
    assert_eq!(tracking.scale_in_cooldown(), Some(300));
    assert_eq!(tracking.scale_out_cooldown(), Some(300));
    let metric = tracking.customized_metric_specification().unwrap();
    assert_eq!(metric.metric_name(), Some("CPUUtilization"));
    assert_eq!(metric.namespace(), Some("/aws/sagemaker/Endpoints"));
    assert_eq!(metric.statistic(), Some(&MetricStatistic::Average));
    assert_eq!(metric.unit(), Some("Percent"));
    assert_eq!(
        metric_dimensions(metric),
        [("EndpointName", endpoint.as_str()), ("VariantName", "prod")]
    );

    let step = &policies[1];

    assert_step_policy(step, MetricAggregationType::Average, 300);

    let alarm_name = alarm_name(&endpoint);
    let alarm = f.emulator.alarm(&alarm_name).await.expect("alarm created");
    assert_eq!(alarm.metric_name(), Some("HasBacklogWithoutCapacity"));
    assert_eq!(alarm.namespace(), Some("AWS/SageMaker"));
    let dimensions = alarm_dimensions(&alarm);
    assert_eq!(dimensions, [("EndpointName", endpoint.as_str())]);
    assert_eq!(alarm.statistic(), Some(&Statistic::Average));
    assert_eq!(alarm.period(), Some(60));
    assert_eq!(alarm.evaluation_periods(), Some(2));
    assert_eq!(alarm.datapoints_to_alarm(), Some(2));
    assert_eq!(alarm.threshold(), Some(1.0));
    assert_eq!(
        alarm.comparison_operator(),
        Some(&ComparisonOperator::GreaterThanOrEqualToThreshold)
    );
    assert_eq!(alarm.treat_missing_data(), Some("missing"));
    assert_eq!(alarm.alarm_actions(), [step.policy_arn()]);
    let alarm_tags: Vec<_> = f
        .emulator
        .alarm_tags(&alarm_name)
        .await
        .into_iter()
        .collect();
    assert_eq!(alarm_tags, ownership_tags(&f.stack));

    let data = &answer["Data"];
    assert_eq!(data["ResourceId"], resource_id);
    assert_eq!(data["TargetTrackingPolicyArn"], cpu.policy_arn());
    assert_eq!(data["StepScalingPolicyArn"], step.policy_arn());
    assert_eq!(data["AlarmName"], alarm_name.as_str());
    assert_eq!(data["AlarmArn"], alarm.alarm_arn().unwrap());
}

#[tokio::test]
async fn update_in_place_changes_the_settings_and_keeps_the_physical_id() {
    let f = Fixture::start("update_in_place_changes_the_settings_and_keeps_the_physical_id").await;
    let endpoint = f.endpoint("in-place");
    let old = design_properties(&endpoint);
    let id = create(&f, old.clone()).await;

    let new = json!({
        "EndpointName": endpoint, "VariantName": "prod", "MinCapacity": 1,
        "MaxCapacity": 5, "TargetValue": 70, "ScaleInCooldown": 600, "StepCooldown": 120
    });
    let updated = f.stack.update(&id, new, old).await;

    assert_success(&updated);
    assert_eq!(updated["PhysicalResourceId"], id.as_str());
    let target = f.emulator.target(&id).await.unwrap();
    assert_eq!((target.min_capacity(), target.max_capacity()), (1, 5));
    let policies = f.emulator.policies(&id).await;
    let tracking = policies[0]
        .target_tracking_scaling_policy_configuration()
        .unwrap();
    assert_eq!(tracking.target_value(), 70.0);
    assert_eq!(tracking.scale_in_cooldown(), Some(600));
    let steps = policies[1].step_scaling_policy_configuration().unwrap();
    assert_eq!(steps.cooldown(), Some(120));
    let alarm = f.emulator.alarm(&alarm_name(&endpoint)).await.unwrap();
    assert_eq!(alarm.alarm_actions(), [policies[1].policy_arn()]);
    assert_eq!(
        updated["Data"]["StepScalingPolicyArn"],
        policies[1].policy_arn()
    );
    let tags: Vec<_> = f
        .emulator
        .alarm_tags(&alarm_name(&endpoint))
        .await
        .into_iter()
        .collect();
    assert_eq!(
        tags,
        ownership_tags(&f.stack),
        "the update keeps the alarm's tags"
    );
}

#[tokio::test]
async fn update_repairs_a_policy_deleted_out_of_band() {
    let f = Fixture::start("update_repairs_a_policy_deleted_out_of_band").await;
    let props = design_properties(&f.endpoint("repairs"));
    let id = create(&f, props.clone()).await;
    f.aws
        .clients()
        .await
        .autoscaling
        .delete_scaling_policy()
        .policy_name("CPUUtil-ScalingPolicy")
        .service_namespace(ServiceNamespace::Sagemaker)
        .scalable_dimension(ScalableDimension::SageMakerVariantDesiredInstanceCount)
        .resource_id(&id)
        .send()
        .await
        .unwrap();

    assert_success(&f.stack.update(&id, props.clone(), props).await);
    assert_eq!(
        f.emulator.policy_names(&id).await,
        [
            "CPUUtil-ScalingPolicy",
            "HasBacklogWithoutCapacity-ScalingPolicy"
        ]
    );
}

#[tokio::test]
async fn update_rewrites_only_what_differs_from_the_properties() {
    let f = Fixture::start("update_rewrites_only_what_differs_from_the_properties").await;
    let endpoint = f.endpoint("unchanged");
    let props = design_properties(&endpoint);
    let writes = |f: &Fixture| -> Vec<String> {
        let operations = f.aws.operations();
        let written = ["RegisterScalableTarget", "PutMetricAlarm"];
        operations
            .into_iter()
            .filter(|o| written.contains(&o.as_str()))
            .collect()
    };
    let id = create(&f, props.clone()).await;
    // Each once: the alarm read back after its put is as it was put.
    assert_eq!(writes(&f), ["RegisterScalableTarget", "PutMetricAlarm"]);

    f.aws.clear_calls();
    assert_success(&f.stack.update(&id, props.clone(), props.clone()).await);
    assert_eq!(
        writes(&f),
        Vec::<String>::new(),
        "target and alarm are as asked already"
    );

    // Changed out of band: both are written again, as the properties say.
    f.emulator.register_target(&id, 1, 3).await;
    let step = f.emulator.policies(&id).await[1].policy_arn().to_owned();
    f.emulator
        .put_users_alarm(&alarm_name(&endpoint), &endpoint, &[&step])
        .await;
    f.aws.clear_calls();
    assert_success(&f.stack.update(&id, props.clone(), props).await);
    assert_eq!(writes(&f), ["RegisterScalableTarget", "PutMetricAlarm"]);
    let target = f.emulator.target(&id).await.unwrap();
    assert_eq!((target.min_capacity(), target.max_capacity()), (0, 2));
    let alarm = f.emulator.alarm(&alarm_name(&endpoint)).await.unwrap();
    assert_eq!(alarm.metric_name(), Some("HasBacklogWithoutCapacity"));
    assert_eq!(alarm.alarm_actions(), [step.as_str()]);
}

#[tokio::test]
async fn scale_from_zero_off_removes_step_policy_and_alarm_and_on_brings_them_back() {
    let f =
        Fixture::start("scale_from_zero_off_removes_step_policy_and_alarm_and_on_brings_them_back")
            .await;
    let endpoint = f.endpoint("from-zero");
    let on = design_properties(&endpoint);
    let mut off = on.clone();
    off["ScaleFromZero"] = false.into();
    let id = create(&f, on.clone()).await;
    let alarm_name = alarm_name(&endpoint);

    let answer = f.stack.update(&id, off.clone(), on.clone()).await;
    assert_success(&answer);
    assert_eq!(
        f.emulator.policy_names(&id).await,
        ["CPUUtil-ScalingPolicy"]
    );
    assert!(f.emulator.alarm(&alarm_name).await.is_none());
    assert_eq!(answer["Data"]["StepScalingPolicyArn"], "");
    assert_eq!(answer["Data"]["AlarmName"], "");
    assert_eq!(answer["Data"]["AlarmArn"], "");

    let answer = f.stack.update(&id, on, off).await;
    assert_success(&answer);
    let policies = f.emulator.policies(&id).await;
    assert_eq!(policies.len(), 2);
    let alarm = f.emulator.alarm(&alarm_name).await.expect("alarm back");
    assert_eq!(alarm.alarm_actions(), [policies[1].policy_arn()]);
    assert_eq!(answer["Data"]["AlarmName"], alarm_name.as_str());
}

#[tokio::test]
async fn a_new_alarm_name_replaces_the_old_alarm() {
    let f = Fixture::start("a_new_alarm_name_replaces_the_old_alarm").await;
    let endpoint = f.endpoint("rename-alarm");
    let old = design_properties(&endpoint);
    let mut new = old.clone();
    let wake_up = format!("{endpoint}-wake-up");
    new["AlarmName"] = wake_up.clone().into();
    let id = create(&f, old.clone()).await;

    let answer = f.stack.update(&id, new, old).await;
    assert_success(&answer);
    assert!(f.emulator.alarm(&alarm_name(&endpoint)).await.is_none());
    let alarm = f.emulator.alarm(&wake_up).await.expect("the new alarm");
    assert_eq!(
        alarm.alarm_actions(),
        [answer["Data"]["StepScalingPolicyArn"].as_str().unwrap()]
    );
}

#[tokio::test]
async fn backlog_target_metric_follows_the_sagemaker_guide_and_switching_removes_the_old_policy() {
    let f = Fixture::start(
        "backlog_target_metric_follows_the_sagemaker_guide_and_switching_removes_the_old_policy",
    )
    .await;
    let endpoint = f.endpoint("backlog");
    let mut backlog = design_properties(&endpoint);
    backlog["TargetMetric"] = "ApproximateBacklogSizePerInstance".into();
    backlog["TargetValue"] = 5.into();
    let answer = f.stack.create(backlog.clone()).await;
    assert_success(&answer);
    let id = answer["PhysicalResourceId"].as_str().unwrap().to_owned();

    let policies = f.emulator.policies(&id).await;
    assert_eq!(
        policies[0].policy_name(),
        "ApproximateBacklogSizePerInstance-ScalingPolicy"
    );
    assert_eq!(
        answer["Data"]["TargetTrackingPolicyArn"],
        policies[0].policy_arn()
    );
    let tracking = policies[0]
        .target_tracking_scaling_policy_configuration()
        .unwrap();
    assert_eq!(tracking.target_value(), 5.0);
    let metric = tracking.customized_metric_specification().unwrap();
    assert_eq!(
        metric.metric_name(),
        Some("ApproximateBacklogSizePerInstance")
    );
    assert_eq!(metric.namespace(), Some("AWS/SageMaker"));
    assert_eq!(metric.statistic(), Some(&MetricStatistic::Average));
    assert_eq!(
        metric_dimensions(metric),
        [("EndpointName", endpoint.as_str())]
    );

    let mut cpu = backlog.clone();
    cpu["TargetMetric"] = "CPUUtilization".into();
    assert_success(&f.stack.update(&id, cpu, backlog).await);
    assert_eq!(
        f.emulator.policy_names(&id).await,
        [
            "CPUUtil-ScalingPolicy",
            "HasBacklogWithoutCapacity-ScalingPolicy"
        ]
    );
}

#[tokio::test]
async fn replacement_configures_the_new_variant_and_the_old_ids_delete_removes_only_the_old() {
    let f = Fixture::start(
        "replacement_configures_the_new_variant_and_the_old_ids_delete_removes_only_the_old",
    )
    .await;
    let (old_endpoint, new_endpoint) = (f.endpoint("old"), f.endpoint("new"));
    let old = design_properties(&old_endpoint);
    let new = design_properties(&new_endpoint);
    let old_id = create(&f, old.clone()).await;

    let answer = f.stack.update(&old_id, new.clone(), old.clone()).await;
    assert_success(&answer);
    let new_id = resource_id(&new_endpoint);
    assert_eq!(answer["PhysicalResourceId"], new_id.as_str());
    assert!(
        f.emulator.target(&old_id).await.is_some(),
        "old variant left for CloudFormation's Delete"
    );
    assert_eq!(f.emulator.policies(&new_id).await.len(), 2);

    // CloudFormation's cleanup: a Delete for the old id, with the old properties.
    assert_success(&f.stack.delete(&old_id, old).await);
    f.emulator
        .assert_nothing_left(&old_id, &alarm_name(&old_endpoint))
        .await;
    assert!(f.emulator.target(&new_id).await.is_some());
    assert_eq!(f.emulator.policies(&new_id).await.len(), 2);
    assert!(f.emulator.alarm(&alarm_name(&new_endpoint)).await.is_some());
}

#[tokio::test]
async fn renaming_the_variant_gives_the_new_variant_its_own_alarm_and_removes_the_old() {
    let f = Fixture::start(
        "renaming_the_variant_gives_the_new_variant_its_own_alarm_and_removes_the_old",
    )
    .await;
    let endpoint = f.endpoint("variant-rename");
    let (old_id, answer) = rename_variant_to_blue(&f, design_properties(&endpoint)).await;

    f.emulator
        .assert_nothing_left(&old_id, &alarm_name(&endpoint))
        .await;
    let alarm = f
        .emulator
        .alarm(&format!("{endpoint}-blue-HasBacklogWithoutCapacity"))
        .await
        .expect("the new variant's alarm");
    assert_eq!(
        alarm.alarm_actions(),
        [answer["Data"]["StepScalingPolicyArn"].as_str().unwrap()]
    );
}

#[tokio::test]
async fn an_alarm_name_kept_across_a_variant_rename_stays_with_the_new_variant() {
    let f = Fixture::start("an_alarm_name_kept_across_a_variant_rename_stays_with_the_new_variant")
        .await;
    let endpoint = f.endpoint("keep-alarm");
    let wake_up = format!("{endpoint}-wake-up");
    let mut old = design_properties(&endpoint);
    old["AlarmName"] = wake_up.clone().into();
    let (old_id, answer) = rename_variant_to_blue(&f, old).await;

    // The alarm now fires the new variant's step policy, so the old one's Delete left it.
    let alarm = f
        .emulator
        .alarm(&wake_up)
        .await
        .expect("alarm kept for the new variant");
    assert_eq!(
        alarm.alarm_actions(),
        [answer["Data"]["StepScalingPolicyArn"].as_str().unwrap()]
    );
    assert!(f.emulator.target(&old_id).await.is_none());
}

#[tokio::test]
async fn delete_removes_everything_and_a_second_delete_succeeds() {
    let f = Fixture::start("delete_removes_everything_and_a_second_delete_succeeds").await;
    let endpoint = f.endpoint("delete-twice");
    let props = design_properties(&endpoint);
    let id = create(&f, props.clone()).await;

    let first = f.stack.delete(&id, props.clone()).await;
    assert_success(&first);
    assert_eq!(first["PhysicalResourceId"], id.as_str());
    f.emulator
        .assert_nothing_left(&id, &alarm_name(&endpoint))
        .await;
    assert_success(&f.stack.delete(&id, props).await);
}

#[tokio::test]
async fn create_refuses_to_take_over_a_target_registered_by_something_else() {
    let f =
        Fixture::start("create_refuses_to_take_over_a_target_registered_by_something_else").await;
    let endpoint = f.endpoint("take-over");
    let resource_id = resource_id(&endpoint);
    f.emulator.register_target(&resource_id, 1, 3).await;

    let answer = f.stack.create(design_properties(&endpoint)).await;
    assert_failed(
        &answer,
        &[
            &format!("already registered for {resource_id}"),
            "AdoptExisting",
        ],
    );
    let failed_id = answer["PhysicalResourceId"].as_str().unwrap();
    assert!(failed_id.starts_with("create-failed/"), "{failed_id}");
    let target = f.emulator.target(&resource_id).await.unwrap();
    assert_eq!(
        (target.min_capacity(), target.max_capacity()),
        (1, 3),
        "left untouched"
    );
    assert!(f.emulator.policies(&resource_id).await.is_empty());
    assert!(
        f.emulator.alarm(&alarm_name(&endpoint)).await.is_none(),
        "no alarm made"
    );

    // The rollback Delete carries the failed id: the other owner's target survives it.
    assert_success(
        &f.stack
            .delete(failed_id, design_properties(&endpoint))
            .await,
    );
    assert!(f.emulator.target(&resource_id).await.is_some());
}

#[tokio::test]
async fn adopt_existing_takes_over_a_registered_target_and_tags_it() {
    let f = Fixture::start("adopt_existing_takes_over_a_registered_target_and_tags_it").await;
    let endpoint = f.endpoint("adopt");
    let resource_id = resource_id(&endpoint);
    f.emulator.register_target(&resource_id, 1, 3).await;

    let mut props = design_properties(&endpoint);
    props["AdoptExisting"] = true.into();
    let answer = f.stack.create(props).await;
    assert_success(&answer);
    assert!(
        answer["Reason"]
            .as_str()
            .unwrap()
            .contains("took over the scalable target")
    );
    let target = f.emulator.target(&resource_id).await.unwrap();
    assert_eq!((target.min_capacity(), target.max_capacity()), (0, 2));
    assert_eq!(f.emulator.policies(&resource_id).await.len(), 2);
    let tags: Vec<_> = f.target_tags(&resource_id).await.into_iter().collect();
    assert_eq!(tags, ownership_tags(&f.stack));
}

#[tokio::test]
async fn another_stack_cannot_take_over_this_stacks_target() {
    let f = Fixture::start("another_stack_cannot_take_over_this_stacks_target").await;
    let endpoint = f.endpoint("owned");
    let second = f.another_stack("owner-b").await;
    assert_success(&f.stack.create(design_properties(&endpoint)).await);

    let answer = second.create(design_properties(&endpoint)).await;
    assert_failed(
        &answer,
        &[
            &format!("already registered for {}", resource_id(&endpoint)),
            &format!(
                "resource EndpointAutoScaling of stack {} manages it",
                f.stack.stack_id
            ),
        ],
    );
}

#[tokio::test]
async fn a_create_that_fails_midway_removes_what_it_created_scheduled_actions_included() {
    let f = Fixture::start(
        "a_create_that_fails_midway_removes_what_it_created_scheduled_actions_included",
    )
    .await;
    let endpoint = f.endpoint("fails-midway");
    f.aws.fail(
        "PutMetricAlarm",
        1,
        "LimitExceeded",
        "The maximum number of alarms has been reached",
    );

    let mut props = design_properties(&endpoint);
    props["ScheduledActions"] = json!([{"ScheduledActionName": "night-off",
        "Schedule": "cron(0 20 * * ? *)", "MinCapacity": 0, "MaxCapacity": 0}]);
    let answer = f.stack.create(props).await;
    assert_failed(
        &answer,
        &[
            "PutMetricAlarm failed: LimitExceeded: The maximum number of alarms has been reached",
            &format!(
                "Removed what this request had set up for {}",
                resource_id(&endpoint)
            ),
        ],
    );
    assert!(
        answer["PhysicalResourceId"]
            .as_str()
            .unwrap()
            .starts_with("create-failed/")
    );
    f.emulator
        .assert_nothing_left(&resource_id(&endpoint), &alarm_name(&endpoint))
        .await;
}

#[tokio::test]
async fn the_answer_is_a_put_with_empty_content_type_and_exact_length() {
    let (stack, _aws) = Stack::on_emulator("answer-headers").await;
    assert_success(&stack.create(design_properties("esd-answer-headers")).await);

    let received = stack.cfn.received();
    let put = received.last().unwrap();
    assert_eq!(put.method, "PUT");
    assert_eq!(put.header("content-type"), Some(""));
    assert!(
        put.target.contains("X-Amz-Signature="),
        "the query string is sent as given"
    );
    // What arrived on the wire: the head, then exactly Content-Length bytes of JSON, nothing
    // more (a declared length too large would never complete, one too small leaves bytes over).
    let head_end = put.raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let declared: usize = put.header("content-length").unwrap().parse().unwrap();
    assert_eq!(put.raw.len() - head_end, declared, "bytes after the head");
    let body: Value = serde_json::from_slice(&put.raw[head_end..]).expect("the body is JSON");
    assert_eq!(body["Status"], "SUCCESS");
}

#[tokio::test]
async fn delete_of_an_id_that_is_not_a_variant_touches_nothing() {
    let (stack, aws) = Stack::on_emulator("delete-foreign-id").await;
    let answer = stack
        .delete("create-failed/6a3c1f2e", json!({"EndpointName": "x"}))
        .await;
    assert_success(&answer);
    assert!(
        answer["Reason"]
            .as_str()
            .unwrap()
            .contains("Nothing to delete")
    );
    aws.assert_no_calls();
}

#[tokio::test]
async fn numbers_and_booleans_may_arrive_as_json_values() {
    let (stack, _aws) = Stack::on_emulator("json-values").await;
    let emulator = crate::support::Emulator::connect().await;
    let event = stack.event_verbatim(
        "Create",
        None,
        json!({
            "EndpointName": "esd-json-values", "VariantName": "prod", "MinCapacity": 1,
            "MaxCapacity": 3, "TargetValue": 42.5, "ScaleFromZero": false
        }),
        None,
    );
    assert!(event["ResourceProperties"]["MaxCapacity"].is_number());
    let answer = stack.send(event).await;
    assert_success(&answer);
    let target = emulator
        .target("endpoint/esd-json-values/variant/prod")
        .await
        .unwrap();
    assert_eq!((target.min_capacity(), target.max_capacity()), (1, 3));
    assert_eq!(
        emulator
            .policy_names("endpoint/esd-json-values/variant/prod")
            .await,
        ["CPUUtil-ScalingPolicy"]
    );
}

/// A target-tracking metric's dimensions as (name, value) pairs.
fn metric_dimensions(metric: &CustomizedMetricSpecification) -> Vec<(&str, &str)> {
    let dimensions = metric.dimensions().iter();
    dimensions.map(|d| (d.name(), d.value())).collect()
}
