//! Create, Update and Delete against the emulator, checked by reading back what AWS holds.

use crate::support::{Emulator, Stack, assert_failed, assert_success};
use aws_sdk_applicationautoscaling::types::{
    AdjustmentType, CustomizedMetricSpecification, MetricAggregationType, MetricStatistic,
    PolicyType,
};
use aws_sdk_cloudwatch::types::{ComparisonOperator, Statistic};
use serde_json::{Value, json};

/// The design's endpoint, made unique per test so tests can share one emulator.
fn design_properties(endpoint: &str) -> Value {
    json!({"EndpointName": endpoint, "VariantName": "prod", "MaxCapacity": "2"})
}

#[tokio::test]
async fn create_configures_target_policies_and_alarm_as_the_design_specifies() {
    let (stack, _aws) = Stack::on_emulator("create-design").await;
    let emulator = Emulator::connect().await;
    let answer = stack.create(design_properties("esd-create-design")).await;

    assert_success(&answer);
    let resource_id = "endpoint/esd-create-design/variant/prod";
    assert_eq!(answer["PhysicalResourceId"], resource_id);
    assert_eq!(answer["StackId"], stack.stack_id.as_str());
    assert_eq!(answer["LogicalResourceId"], "EndpointAutoScaling");

    let target = emulator
        .target(resource_id)
        .await
        .expect("target registered");
    assert_eq!((target.min_capacity(), target.max_capacity()), (0, 2));
    assert_eq!(
        target.scalable_dimension().as_str(),
        "sagemaker:variant:DesiredInstanceCount"
    );

    let policies = emulator.policies(resource_id).await;
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
    let dimensions = metric_dimensions(metric);
    assert_eq!(
        dimensions,
        [
            ("EndpointName", "esd-create-design"),
            ("VariantName", "prod")
        ]
    );

    let step = &policies[1];
    assert_eq!(step.policy_type(), &PolicyType::StepScaling);
    let steps = step.step_scaling_policy_configuration().unwrap();
    assert_eq!(
        steps.adjustment_type(),
        Some(&AdjustmentType::ChangeInCapacity)
    );
    assert_eq!(
        steps.metric_aggregation_type(),
        Some(&MetricAggregationType::Average)
    );
    assert_eq!(steps.cooldown(), Some(300));
    let adjustments = steps.step_adjustments();
    assert_eq!(adjustments.len(), 1);
    assert_eq!(adjustments[0].metric_interval_lower_bound(), Some(0.0));
    assert_eq!(adjustments[0].metric_interval_upper_bound(), None);
    assert_eq!(adjustments[0].scaling_adjustment(), 1);

    let alarm_name = "esd-create-design-HasBacklogWithoutCapacity";
    let alarm = emulator.alarm(alarm_name).await.expect("alarm created");
    assert_eq!(alarm.metric_name(), Some("HasBacklogWithoutCapacity"));
    assert_eq!(alarm.namespace(), Some("AWS/SageMaker"));
    let dimensions: Vec<_> = alarm
        .dimensions()
        .iter()
        .map(|d| (d.name(), d.value()))
        .collect();
    assert_eq!(
        dimensions,
        [(Some("EndpointName"), Some("esd-create-design"))]
    );
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

    let data = &answer["Data"];
    assert_eq!(data["ResourceId"], resource_id);
    assert_eq!(data["TargetTrackingPolicyArn"], cpu.policy_arn());
    assert_eq!(data["StepScalingPolicyArn"], step.policy_arn());
    assert_eq!(data["AlarmName"], alarm_name);
    assert_eq!(data["AlarmArn"], alarm.alarm_arn().unwrap());
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
async fn update_in_place_changes_the_settings_and_keeps_the_physical_id() {
    let (stack, _aws) = Stack::on_emulator("update-in-place").await;
    let emulator = Emulator::connect().await;
    let old = design_properties("esd-update-in-place");
    let created = stack.create(old.clone()).await;
    let id = created["PhysicalResourceId"].as_str().unwrap();

    let new = json!({
        "EndpointName": "esd-update-in-place", "VariantName": "prod", "MinCapacity": "1",
        "MaxCapacity": "5", "TargetValue": "70", "ScaleInCooldown": "600", "StepCooldown": "120"
    });
    let updated = stack.update(id, new, old).await;

    assert_success(&updated);
    assert_eq!(updated["PhysicalResourceId"], id);
    let target = emulator.target(id).await.unwrap();
    assert_eq!((target.min_capacity(), target.max_capacity()), (1, 5));
    let policies = emulator.policies(id).await;
    let tracking = policies[0]
        .target_tracking_scaling_policy_configuration()
        .unwrap();
    assert_eq!(tracking.target_value(), 70.0);
    assert_eq!(tracking.scale_in_cooldown(), Some(600));
    let steps = policies[1].step_scaling_policy_configuration().unwrap();
    assert_eq!(steps.cooldown(), Some(120));
    let alarm = emulator
        .alarm("esd-update-in-place-HasBacklogWithoutCapacity")
        .await
        .unwrap();
    assert_eq!(alarm.alarm_actions(), [policies[1].policy_arn()]);
    assert_eq!(
        updated["Data"]["StepScalingPolicyArn"],
        policies[1].policy_arn()
    );
}

#[tokio::test]
async fn update_repairs_a_policy_deleted_out_of_band() {
    let (stack, aws) = Stack::on_emulator("update-repairs").await;
    let emulator = Emulator::connect().await;
    let props = design_properties("esd-update-repairs");
    let id = stack.create(props.clone()).await["PhysicalResourceId"]
        .as_str()
        .unwrap()
        .to_owned();
    aws.clients()
        .await
        .autoscaling
        .delete_scaling_policy()
        .policy_name("CPUUtil-ScalingPolicy")
        .service_namespace(aws_sdk_applicationautoscaling::types::ServiceNamespace::Sagemaker)
        .scalable_dimension(
            aws_sdk_applicationautoscaling::types::ScalableDimension::SageMakerVariantDesiredInstanceCount,
        )
        .resource_id(&id)
        .send()
        .await
        .unwrap();

    assert_success(&stack.update(&id, props.clone(), props).await);
    assert_eq!(
        emulator.policy_names(&id).await,
        [
            "CPUUtil-ScalingPolicy",
            "HasBacklogWithoutCapacity-ScalingPolicy"
        ]
    );
}

#[tokio::test]
async fn scale_from_zero_off_removes_step_policy_and_alarm_and_on_brings_them_back() {
    let (stack, _aws) = Stack::on_emulator("scale-from-zero").await;
    let emulator = Emulator::connect().await;
    let on = design_properties("esd-scale-from-zero");
    let mut off = on.clone();
    off["ScaleFromZero"] = "false".into();
    let id = stack.create(on.clone()).await["PhysicalResourceId"]
        .as_str()
        .unwrap()
        .to_owned();
    let alarm_name = "esd-scale-from-zero-HasBacklogWithoutCapacity";

    let answer = stack.update(&id, off.clone(), on.clone()).await;
    assert_success(&answer);
    assert_eq!(emulator.policy_names(&id).await, ["CPUUtil-ScalingPolicy"]);
    assert!(emulator.alarm(alarm_name).await.is_none());
    assert_eq!(answer["Data"]["StepScalingPolicyArn"], "");
    assert_eq!(answer["Data"]["AlarmName"], "");
    assert_eq!(answer["Data"]["AlarmArn"], "");

    let answer = stack.update(&id, on, off).await;
    assert_success(&answer);
    let policies = emulator.policies(&id).await;
    assert_eq!(policies.len(), 2);
    let alarm = emulator.alarm(alarm_name).await.expect("alarm back");
    assert_eq!(alarm.alarm_actions(), [policies[1].policy_arn()]);
    assert_eq!(answer["Data"]["AlarmName"], alarm_name);
}

#[tokio::test]
async fn a_new_alarm_name_replaces_the_old_alarm() {
    let (stack, _aws) = Stack::on_emulator("alarm-rename").await;
    let emulator = Emulator::connect().await;
    let old = design_properties("esd-alarm-rename");
    let mut new = old.clone();
    new["AlarmName"] = "esd-alarm-rename-wake-up".into();
    let id = stack.create(old.clone()).await["PhysicalResourceId"]
        .as_str()
        .unwrap()
        .to_owned();

    assert_success(&stack.update(&id, new, old).await);
    assert!(
        emulator
            .alarm("esd-alarm-rename-HasBacklogWithoutCapacity")
            .await
            .is_none()
    );
    assert!(emulator.alarm("esd-alarm-rename-wake-up").await.is_some());
}

#[tokio::test]
async fn backlog_target_metric_follows_the_sagemaker_guide_and_switching_removes_the_old_policy() {
    let (stack, _aws) = Stack::on_emulator("backlog-metric").await;
    let emulator = Emulator::connect().await;
    let mut backlog = design_properties("esd-backlog-metric");
    backlog["TargetMetric"] = "ApproximateBacklogSizePerInstance".into();
    backlog["TargetValue"] = "5".into();
    let answer = stack.create(backlog.clone()).await;
    assert_success(&answer);
    let id = answer["PhysicalResourceId"].as_str().unwrap().to_owned();

    let policies = emulator.policies(&id).await;
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
    let dimensions = metric_dimensions(metric);
    assert_eq!(dimensions, [("EndpointName", "esd-backlog-metric")]);

    let mut cpu = backlog.clone();
    cpu["TargetMetric"] = "CPUUtilization".into();
    assert_success(&stack.update(&id, cpu, backlog).await);
    assert_eq!(
        emulator.policy_names(&id).await,
        [
            "CPUUtil-ScalingPolicy",
            "HasBacklogWithoutCapacity-ScalingPolicy"
        ]
    );
}

#[tokio::test]
async fn replacement_configures_the_new_variant_and_the_old_ids_delete_removes_only_the_old() {
    let (stack, _aws) = Stack::on_emulator("replacement").await;
    let emulator = Emulator::connect().await;
    let old = design_properties("esd-replace-old");
    let new = design_properties("esd-replace-new");
    let old_id = stack.create(old.clone()).await["PhysicalResourceId"]
        .as_str()
        .unwrap()
        .to_owned();

    let answer = stack.update(&old_id, new.clone(), old.clone()).await;
    assert_success(&answer);
    let new_id = "endpoint/esd-replace-new/variant/prod";
    assert_eq!(answer["PhysicalResourceId"], new_id);
    assert!(
        emulator.target(&old_id).await.is_some(),
        "old variant left for CloudFormation's Delete"
    );
    assert_eq!(emulator.policies(new_id).await.len(), 2);

    // CloudFormation's cleanup: a Delete for the old id, with the old properties.
    assert_success(&stack.delete(&old_id, old).await);
    emulator
        .assert_nothing_left(&old_id, "esd-replace-old-HasBacklogWithoutCapacity")
        .await;
    assert!(emulator.target(new_id).await.is_some());
    assert_eq!(emulator.policies(new_id).await.len(), 2);
    assert!(
        emulator
            .alarm("esd-replace-new-HasBacklogWithoutCapacity")
            .await
            .is_some()
    );
}

#[tokio::test]
async fn renaming_the_variant_keeps_the_shared_default_alarm_with_the_new_variant() {
    let (stack, _aws) = Stack::on_emulator("variant-rename").await;
    let emulator = Emulator::connect().await;
    let old = design_properties("esd-variant-rename");
    let mut new = old.clone();
    new["VariantName"] = "blue".into();
    let old_id = stack.create(old.clone()).await["PhysicalResourceId"]
        .as_str()
        .unwrap()
        .to_owned();

    let answer = stack.update(&old_id, new, old.clone()).await;
    assert_success(&answer);
    assert_success(&stack.delete(&old_id, old).await);

    // Both variants' default alarm is "<endpoint>-HasBacklogWithoutCapacity"; it now fires the
    // new variant's step policy, so the old variant's Delete must leave it.
    let alarm = emulator
        .alarm("esd-variant-rename-HasBacklogWithoutCapacity")
        .await
        .expect("alarm kept for the new variant");
    assert_eq!(
        alarm.alarm_actions(),
        [answer["Data"]["StepScalingPolicyArn"].as_str().unwrap()]
    );
    assert!(emulator.target(&old_id).await.is_none());
}

#[tokio::test]
async fn delete_removes_everything_and_a_second_delete_succeeds() {
    let (stack, _aws) = Stack::on_emulator("delete-twice").await;
    let emulator = Emulator::connect().await;
    let props = design_properties("esd-delete-twice");
    let id = stack.create(props.clone()).await["PhysicalResourceId"]
        .as_str()
        .unwrap()
        .to_owned();

    let first = stack.delete(&id, props.clone()).await;
    assert_success(&first);
    assert_eq!(first["PhysicalResourceId"], id.as_str());
    emulator
        .assert_nothing_left(&id, "esd-delete-twice-HasBacklogWithoutCapacity")
        .await;
    assert_success(&stack.delete(&id, props).await);
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
async fn create_refuses_to_take_over_a_target_registered_by_something_else() {
    let (stack, _aws) = Stack::on_emulator("take-over").await;
    let emulator = Emulator::connect().await;
    let resource_id = "endpoint/esd-take-over/variant/prod";
    emulator.register_target(resource_id, 1, 3).await;

    let answer = stack.create(design_properties("esd-take-over")).await;
    assert_failed(
        &answer,
        &[
            "already registered for endpoint/esd-take-over/variant/prod",
            "AdoptExisting",
        ],
    );
    let failed_id = answer["PhysicalResourceId"].as_str().unwrap();
    assert!(failed_id.starts_with("create-failed/"), "{failed_id}");
    let target = emulator.target(resource_id).await.unwrap();
    assert_eq!(
        (target.min_capacity(), target.max_capacity()),
        (1, 3),
        "left untouched"
    );
    assert!(emulator.policies(resource_id).await.is_empty());

    // The rollback Delete carries the failed id: the other owner's target survives it.
    assert_success(
        &stack
            .delete(failed_id, design_properties("esd-take-over"))
            .await,
    );
    assert!(emulator.target(resource_id).await.is_some());
}

#[tokio::test]
async fn adopt_existing_takes_over_a_registered_target() {
    let (stack, _aws) = Stack::on_emulator("adopt").await;
    let emulator = Emulator::connect().await;
    let resource_id = "endpoint/esd-adopt/variant/prod";
    emulator.register_target(resource_id, 1, 3).await;

    let mut props = design_properties("esd-adopt");
    props["AdoptExisting"] = "true".into();
    let answer = stack.create(props).await;
    assert_success(&answer);
    let target = emulator.target(resource_id).await.unwrap();
    assert_eq!((target.min_capacity(), target.max_capacity()), (0, 2));
    assert_eq!(emulator.policies(resource_id).await.len(), 2);
}

#[tokio::test]
async fn another_stack_cannot_take_over_this_stacks_target() {
    let (first, aws) = Stack::on_emulator("owner-a").await;
    let second = Stack::new(aws.clients().await, "owner-b").await;
    assert_success(&first.create(design_properties("esd-owned")).await);

    let answer = second.create(design_properties("esd-owned")).await;
    assert_failed(
        &answer,
        &["already registered for endpoint/esd-owned/variant/prod"],
    );
}

#[tokio::test]
async fn a_create_that_fails_midway_removes_what_it_created() {
    let (stack, aws) = Stack::on_emulator("fails-midway").await;
    let emulator = Emulator::connect().await;
    aws.fail(
        "PutMetricAlarm",
        1,
        "LimitExceeded",
        "The maximum number of alarms has been reached",
    );

    let answer = stack.create(design_properties("esd-fails-midway")).await;
    assert_failed(
        &answer,
        &[
            "PutMetricAlarm failed: LimitExceeded: The maximum number of alarms has been reached",
            "Removed what this request had set up for endpoint/esd-fails-midway/variant/prod",
        ],
    );
    assert!(
        answer["PhysicalResourceId"]
            .as_str()
            .unwrap()
            .starts_with("create-failed/")
    );
    emulator
        .assert_nothing_left(
            "endpoint/esd-fails-midway/variant/prod",
            "esd-fails-midway-HasBacklogWithoutCapacity",
        )
        .await;
}

#[tokio::test]
async fn numbers_and_booleans_may_arrive_as_json_values() {
    let (stack, _aws) = Stack::on_emulator("json-values").await;
    let emulator = Emulator::connect().await;
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
