//! Inference components: the same resource scales a component's copies to zero and back, with
//! the SageMaker guide's policies and alarm, beside an endpoint variant's scaling and without
//! touching it. AWS state is read back after every step.

use crate::support::{
    Fixture, Stack, alarm_dimensions, assert_failed, assert_refused_before_any_call,
    assert_step_policy, assert_success,
};
use aws_sdk_applicationautoscaling::types::{MetricAggregationType, MetricType, ScalableDimension};
use aws_sdk_cloudwatch::types::{ComparisonOperator, Statistic};
use serde_json::{Value, json};

const TRACKING_POLICY: &str = "InvocationsPerCopy-ScalingPolicy";
const STEP_POLICY: &str = "NoCapacityInvocationFailures-ScalingPolicy";

fn resource_id(component: &str) -> String {
    format!("inference-component/{component}")
}

fn alarm_name(component: &str) -> String {
    format!("{component}-NoCapacityInvocationFailures")
}

/// A second resource of the same stack (another logical id), as a template with both a
/// variant's and a component's scaling has.
async fn resource_of_the_same_stack(f: &Fixture, logical_resource_id: &str) -> Stack {
    let mut stack = f.another_stack("same-stack").await;
    stack.stack_id = f.stack.stack_id.clone();
    stack.logical_resource_id = logical_resource_id.to_owned();
    stack
}

/// Everything AWS holds for a component's scaling, checked against the guide's settings:
/// target, both policies, the alarm firing the step policy, and the tags of target and alarm.
async fn assert_component_scaling(f: &Fixture, stack: &Stack, component: &str, max: i32) {
    let resource_id = resource_id(component);
    let target = f
        .emulator
        .target(&resource_id)
        .await
        .expect("target registered");
    assert_eq!(
        target.scalable_dimension(),
        &ScalableDimension::SageMakerInferenceComponentDesiredCopyCount
    );
    assert_eq!((target.min_capacity(), target.max_capacity()), (0, max));
    assert_eq!(f.target_tags(&resource_id).await, stack.ownership_tags());

    let policies = f.emulator.policies(&resource_id).await;
    let names: Vec<_> = policies.iter().map(|p| p.policy_name()).collect();
    assert_eq!(names, [TRACKING_POLICY, STEP_POLICY]);

    let tracking = policies[0]
        .target_tracking_scaling_policy_configuration()
        .expect("a target-tracking policy");
    let predefined = tracking.predefined_metric_specification().unwrap();
    assert_eq!(
        predefined.predefined_metric_type(),
        &MetricType::SageMakerInferenceComponentInvocationsPerCopy
    );
    assert_eq!(tracking.target_value(), 1.0);
    assert_eq!(
        (tracking.scale_in_cooldown(), tracking.scale_out_cooldown()),
        (Some(300), Some(300))
    );

    let step = &policies[1];

    assert_step_policy(step, MetricAggregationType::Maximum, 60);

    let alarm_name = alarm_name(component);
    let alarm = f.emulator.alarm(&alarm_name).await.expect("alarm created");
    assert_eq!(alarm.metric_name(), Some("NoCapacityInvocationFailures"));
    assert_eq!(alarm.namespace(), Some("AWS/SageMaker"));
    let dimensions = alarm_dimensions(&alarm);
    assert_eq!(dimensions, [("InferenceComponentName", component)]);
    assert_eq!(alarm.statistic(), Some(&Statistic::Sum));
    assert_eq!(alarm.period(), Some(60));
    assert_eq!(
        (alarm.evaluation_periods(), alarm.datapoints_to_alarm()),
        (Some(1), Some(1))
    );
    assert_eq!(alarm.threshold(), Some(1.0));
    assert_eq!(
        alarm.comparison_operator(),
        Some(&ComparisonOperator::GreaterThanOrEqualToThreshold)
    );
    assert_eq!(alarm.alarm_actions(), [step.policy_arn()]);
    assert_eq!(
        f.emulator.alarm_tags(&alarm_name).await,
        stack.ownership_tags()
    );
}

/// What AWS holds for one target and its alarm, to compare before and after another
/// resource's request: the target's capacity and tags, every policy with its ARN and
/// configuration, the scheduled actions, and the alarm's definition and tags.
async fn held(f: &Fixture, resource_id: &str, alarm_name: &str) -> String {
    let target = f.emulator.target(resource_id).await.expect("a target");
    let policies: Vec<_> = f
        .emulator
        .policies(resource_id)
        .await
        .into_iter()
        .map(|p| {
            format!(
                "{} {} {:?} {:?}",
                p.policy_name(),
                p.policy_arn(),
                p.target_tracking_scaling_policy_configuration(),
                p.step_scaling_policy_configuration()
            )
        })
        .collect();
    let actions = f.emulator.scheduled_actions(resource_id).await;
    let alarm = f.emulator.alarm(alarm_name).await.expect("an alarm");
    format!(
        "{:?} {:?} {policies:?} {actions:?} {:?} {:?} {:?} {:?} {:?}",
        (target.min_capacity(), target.max_capacity()),
        f.target_tags(resource_id).await,
        alarm.metric_name(),
        alarm.dimensions(),
        alarm.alarm_actions(),
        alarm.alarm_description(),
        f.emulator.alarm_tags(alarm_name).await,
    )
}

#[tokio::test]
async fn an_inference_component_is_created_updated_with_a_schedule_and_deleted() {
    let f = Fixture::start("an_inference_component_is_created_updated_with_a_schedule_and_deleted")
        .await;
    let component = f.endpoint("ic");
    let properties = json!({
        "InferenceComponentName": component, "EndpointName": f.endpoint("llm"),
        "MaxCapacity": 2
    });
    let answer = f.stack.create(properties.clone()).await;
    assert_success(&answer);
    let id = resource_id(&component);
    assert_eq!(answer["PhysicalResourceId"], id.as_str());
    assert_eq!(answer["Data"]["ResourceId"], id.as_str());
    assert_eq!(answer["Data"]["AlarmName"], alarm_name(&component).as_str());
    let step_arn = answer["Data"]["StepScalingPolicyArn"].as_str().unwrap();
    assert!(
        step_arn.ends_with(&format!(
            ":resource/sagemaker/{id}:policyName/{STEP_POLICY}"
        )),
        "{step_arn}"
    );
    assert_component_scaling(&f, &f.stack, &component, 2).await;
    assert!(f.emulator.scheduled_actions(&id).await.is_empty());

    // An Update that changes the capacity and adds a schedule: office hours keep a copy.
    let mut updated = properties.clone();
    updated["MaxCapacity"] = 4.into();
    updated["ScheduledActions"] = json!([{
        "ScheduledActionName": "office-hours", "Schedule": "cron(0 8 ? * MON-FRI *)",
        "Timezone": "Europe/Berlin", "MinCapacity": 1, "MaxCapacity": 4
    }]);
    let answer = f.stack.update(&id, updated.clone(), properties).await;
    assert_success(&answer);
    assert_eq!(answer["PhysicalResourceId"], id.as_str());
    assert_eq!(answer["Data"]["ScheduledActionNames"], "office-hours");
    assert_component_scaling(&f, &f.stack, &component, 4).await;
    let actions = f.emulator.scheduled_actions(&id).await;
    let [action] = actions.as_slice() else {
        panic!("{actions:?}")
    };
    assert_eq!(action.schedule(), "cron(0 8 ? * MON-FRI *)");
    assert_eq!(action.timezone(), Some("Europe/Berlin"));
    assert_eq!(
        action.scalable_dimension(),
        Some(&ScalableDimension::SageMakerInferenceComponentDesiredCopyCount)
    );
    let capacity = action.scalable_target_action().unwrap();
    assert_eq!(
        (capacity.min_capacity(), capacity.max_capacity()),
        (Some(1), Some(4))
    );

    assert_success(&f.stack.delete(&id, updated).await);
    f.emulator
        .assert_nothing_left(&id, &alarm_name(&component))
        .await;
}

/// The objects of one target that AWS requests may name: its ResourceId, its target's ARN,
/// its alarm's name and ARN.
async fn names_of(f: &Fixture, resource_id: &str, alarm_name: &str) -> Vec<String> {
    let target = f.emulator.target(resource_id).await.expect("a target");
    let alarm = f.emulator.alarm(alarm_name).await.expect("an alarm");
    vec![
        resource_id.to_owned(),
        target.scalable_target_arn().unwrap().to_owned(),
        alarm_name.to_owned(),
        alarm.alarm_arn().unwrap().to_owned(),
    ]
}

/// Asserts that the calls since the last `clear_calls` named `own` objects and none of
/// `theirs`: the request read and wrote its own target and alarm only.
fn assert_named_only(f: &Fixture, own: &[String], theirs: &[String]) {
    let calls = f.aws.calls();
    for call in &calls {
        for subject in &call.subjects {
            assert!(
                !theirs.contains(subject),
                "{} named {subject}, another resource's object",
                call.operation
            );
        }
    }
    let named: Vec<&String> = calls.iter().flat_map(|c| &c.subjects).collect();
    for object in [&own[0], &own[2]] {
        assert!(named.contains(&object), "no call named {object}: {named:?}");
    }
}

#[tokio::test]
async fn a_variant_and_an_inference_component_scale_side_by_side_and_neither_touches_the_other() {
    let f = Fixture::start(
        "a_variant_and_an_inference_component_scale_side_by_side_and_neither_touches_the_other",
    )
    .await;
    // The component is named like the endpoint, to tempt any name that mixes the two up.
    let endpoint = f.endpoint("both");
    let component = endpoint.clone();
    let variant_properties =
        json!({"EndpointName": endpoint, "VariantName": "prod", "MaxCapacity": 2});
    let component_properties = json!({"InferenceComponentName": component, "MaxCapacity": 3});
    let components = resource_of_the_same_stack(&f, "ComponentScaling").await;
    let variant_id = format!("endpoint/{endpoint}/variant/prod");
    let variant_alarm = format!("{endpoint}-prod-HasBacklogWithoutCapacity");
    let component_id = resource_id(&component);

    // Both at once, as CloudFormation creates resources that do not depend on each other.
    let (variant_answer, component_answer) = tokio::join!(
        f.stack.create(variant_properties.clone()),
        components.create(component_properties.clone())
    );
    assert_success(&variant_answer);
    assert_success(&component_answer);
    assert_eq!(variant_answer["PhysicalResourceId"], variant_id.as_str());
    assert_eq!(
        component_answer["PhysicalResourceId"],
        component_id.as_str()
    );
    assert_component_scaling(&f, &components, &component, 3).await;
    assert_eq!(
        f.emulator.policy_names(&variant_id).await,
        [
            "CPUUtil-ScalingPolicy",
            "HasBacklogWithoutCapacity-ScalingPolicy"
        ]
    );
    assert_eq!(f.target_tags(&variant_id).await, f.stack.ownership_tags());
    let variant_names = names_of(&f, &variant_id, &variant_alarm).await;
    let component_names = names_of(&f, &component_id, &alarm_name(&component)).await;
    let variant_held = held(&f, &variant_id, &variant_alarm).await;
    let component_held = held(&f, &component_id, &alarm_name(&component)).await;

    // The component's Update names none of the variant's objects, which stay as they were.
    let mut bigger = component_properties.clone();
    bigger["MaxCapacity"] = 5.into();
    f.aws.clear_calls();
    let answer = components
        .update(&component_id, bigger.clone(), component_properties)
        .await;
    assert_success(&answer);
    assert_named_only(&f, &component_names, &variant_names);
    assert_component_scaling(&f, &components, &component, 5).await;
    assert_eq!(held(&f, &variant_id, &variant_alarm).await, variant_held);
    let component_held_now = held(&f, &component_id, &alarm_name(&component)).await;
    assert_ne!(component_held_now, component_held);

    // And the other way round.
    let mut backlog = variant_properties.clone();
    backlog["TargetMetric"] = "ApproximateBacklogSizePerInstance".into();
    f.aws.clear_calls();
    assert_success(
        &f.stack
            .update(&variant_id, backlog.clone(), variant_properties)
            .await,
    );
    assert_named_only(&f, &variant_names, &component_names);
    assert_eq!(
        f.emulator.policy_names(&variant_id).await,
        [
            "ApproximateBacklogSizePerInstance-ScalingPolicy",
            "HasBacklogWithoutCapacity-ScalingPolicy"
        ]
    );
    assert_eq!(
        held(&f, &component_id, &alarm_name(&component)).await,
        component_held_now
    );
    let variant_held = held(&f, &variant_id, &variant_alarm).await;

    // Each Delete removes its own scaling only.
    f.aws.clear_calls();
    assert_success(&components.delete(&component_id, bigger).await);
    assert_named_only(&f, &component_names, &variant_names);
    f.emulator
        .assert_nothing_left(&component_id, &alarm_name(&component))
        .await;
    assert_eq!(held(&f, &variant_id, &variant_alarm).await, variant_held);
    assert_success(&f.stack.delete(&variant_id, backlog).await);
    f.emulator
        .assert_nothing_left(&variant_id, &variant_alarm)
        .await;
}

#[tokio::test]
async fn a_component_registered_by_hand_is_refused_and_taken_over_only_with_adopt_existing() {
    let f = Fixture::start(
        "a_component_registered_by_hand_is_refused_and_taken_over_only_with_adopt_existing",
    )
    .await;
    let component = f.endpoint("by-hand");
    let id = resource_id(&component);
    f.emulator.register_target(&id, 0, 7).await;
    let properties = json!({"InferenceComponentName": component, "MaxCapacity": 2});

    let answer = f.stack.create(properties.clone()).await;
    assert_failed(
        &answer,
        &[&format!(
            "A scalable target is already registered for {id} and this resource did not \
             register it"
        )],
    );
    let target = f.emulator.target(&id).await.expect("still registered");
    assert_eq!(
        target.max_capacity(),
        7,
        "the user's target is left as it was"
    );
    assert!(f.emulator.policies(&id).await.is_empty());
    assert!(f.emulator.alarm(&alarm_name(&component)).await.is_none());
    assert!(f.target_tags(&id).await.is_empty());

    let mut adopting = properties;
    adopting["AdoptExisting"] = true.into();
    assert_success(&f.stack.create(adopting.clone()).await);
    assert_component_scaling(&f, &f.stack, &component, 2).await;
    assert_success(&f.stack.delete(&id, adopting).await);
    f.emulator
        .assert_nothing_left(&id, &alarm_name(&component))
        .await;
}

#[tokio::test]
async fn a_components_tags_alarm_name_suspension_and_listed_policies_work_as_for_a_variant() {
    let f = Fixture::start(
        "a_components_tags_alarm_name_suspension_and_listed_policies_work_as_for_a_variant",
    )
    .await;
    // Capitals too: the target, the physical id and the alarm's dimension keep the name's
    // case, as the component's metrics carry it.
    let component = format!("Llm-{}", f.endpoint("listed"));
    let id = resource_id(&component);
    let alarm = format!("{component}-wake-up");
    let properties = json!({
        "InferenceComponentName": component, "MaxCapacity": 3, "AlarmName": alarm,
        "StepCooldown": 120, "AlarmEvaluationPeriods": 2,
        "SuspendedState": {"DynamicScalingInSuspended": true},
        "Tags": [{"Key": "team", "Value": "llm"}],
        "TargetTrackingPolicies": [{
            "PolicyName": "concurrency", "TargetValue": 3, "ScaleInCooldown": 600,
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution"
            }
        }]
    });
    let answer = f.stack.create(properties.clone()).await;
    assert_success(&answer);
    assert_eq!(answer["PhysicalResourceId"], id.as_str());
    assert_eq!(answer["Data"]["AlarmName"], alarm.as_str());

    let target = f.emulator.target(&id).await.expect("target registered");
    assert_eq!((target.min_capacity(), target.max_capacity()), (0, 3));
    let suspended = target.suspended_state().unwrap();
    assert_eq!(suspended.dynamic_scaling_in_suspended(), Some(true));
    assert_eq!(suspended.dynamic_scaling_out_suspended(), Some(false));
    let mut tags = f.stack.ownership_tags();
    tags.insert("team".into(), "llm".into());
    assert_eq!(f.target_tags(&id).await, tags);

    let policies = f.emulator.policies(&id).await;
    let names: Vec<_> = policies.iter().map(|p| p.policy_name()).collect();
    assert_eq!(
        names,
        ["NoCapacityInvocationFailures-ScalingPolicy", "concurrency"]
    );
    let tracking = policies[1]
        .target_tracking_scaling_policy_configuration()
        .unwrap();
    assert_eq!(
        tracking
            .predefined_metric_specification()
            .unwrap()
            .predefined_metric_type(),
        &MetricType::SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution
    );
    assert_eq!(
        (tracking.target_value(), tracking.scale_in_cooldown()),
        (3.0, Some(600))
    );
    assert_step_policy(&policies[0], MetricAggregationType::Maximum, 120);

    let found = f
        .emulator
        .alarm(&alarm)
        .await
        .expect("the alarm, under its own name");
    assert!(f.emulator.alarm(&alarm_name(&component)).await.is_none());
    let dimensions = alarm_dimensions(&found);
    assert_eq!(dimensions, [("InferenceComponentName", component.as_str())]);
    assert_eq!(
        (found.evaluation_periods(), found.datapoints_to_alarm()),
        (Some(2), Some(2))
    );
    assert_eq!(found.alarm_actions(), [policies[0].policy_arn()]);
    assert_eq!(f.emulator.alarm_tags(&alarm).await, tags);

    assert_success(&f.stack.delete(&id, properties).await);
    f.emulator.assert_nothing_left(&id, &alarm).await;
}

#[tokio::test]
async fn a_component_create_that_fails_at_the_alarm_removes_what_it_made() {
    let f = Fixture::start("a_component_create_that_fails_at_the_alarm_removes_what_it_made").await;
    let component = f.endpoint("fails");
    let id = resource_id(&component);
    f.aws
        .fail("PutMetricAlarm", 1, "ValidationException", "Bad alarm");
    let answer = f
        .stack
        .create(json!({"InferenceComponentName": component}))
        .await;
    assert_failed(
        &answer,
        &[
            "PutMetricAlarm failed: ValidationException: Bad alarm",
            &format!("Removed what this request had set up for {id}."),
        ],
    );
    f.emulator
        .assert_nothing_left(&id, &alarm_name(&component))
        .await;
    // CloudFormation's Delete for the failed Create touches nothing.
    let failed_id = answer["PhysicalResourceId"].as_str().unwrap();
    assert!(failed_id.starts_with("create-failed/"), "{failed_id}");
    f.aws.clear_calls();
    assert_success(
        &f.stack
            .delete(failed_id, json!({"InferenceComponentName": component}))
            .await,
    );
    f.aws.assert_no_calls();
}

#[tokio::test]
async fn a_component_deletes_even_when_its_properties_no_longer_parse() {
    let f = Fixture::start("a_component_deletes_even_when_its_properties_no_longer_parse").await;
    let component = f.endpoint("lenient");
    let id = resource_id(&component);
    let alarm = format!("{component}-own-name");
    assert_success(
        &f.stack
            .create(json!({"InferenceComponentName": component, "AlarmName": alarm}))
            .await,
    );
    let unreadable = json!({"InferenceComponentName": component, "AlarmName": alarm,
                            "MaxCapacity": "many", "Shiny": true});
    assert_success(&f.stack.delete(&id, unreadable).await);
    f.emulator.assert_nothing_left(&id, &alarm).await;
}

#[tokio::test]
async fn an_update_from_a_variant_to_a_component_configures_the_component_and_the_old_delete_removes_the_variant()
 {
    let f = Fixture::start("an_update_from_a_variant_to_a_component_configures_the_component_and_the_old_delete_removes_the_variant").await;
    let endpoint = f.endpoint("switch");
    let component = f.endpoint("switch-ic");
    let variant = json!({"EndpointName": endpoint, "VariantName": "prod"});
    let to_component = json!({"InferenceComponentName": component, "EndpointName": endpoint});
    let variant_id = format!("endpoint/{endpoint}/variant/prod");
    let variant_alarm = format!("{endpoint}-prod-HasBacklogWithoutCapacity");
    assert_success(&f.stack.create(variant.clone()).await);

    // A new physical id: CloudFormation replaces, and after the update's success sends the
    // old id's Delete in cleanup.
    let answer = f
        .stack
        .update(&variant_id, to_component.clone(), variant.clone())
        .await;
    assert_success(&answer);
    assert_eq!(
        answer["PhysicalResourceId"],
        resource_id(&component).as_str()
    );
    assert_component_scaling(&f, &f.stack, &component, 1).await;
    assert!(
        f.emulator.target(&variant_id).await.is_some(),
        "the variant until its Delete"
    );

    assert_success(&f.stack.delete(&variant_id, variant).await);
    f.emulator
        .assert_nothing_left(&variant_id, &variant_alarm)
        .await;
    assert_component_scaling(&f, &f.stack, &component, 1).await;
    assert_success(&f.stack.delete(&resource_id(&component), to_component).await);
    f.emulator
        .assert_nothing_left(&resource_id(&component), &alarm_name(&component))
        .await;
}

#[tokio::test]
async fn wrong_inference_component_properties_answer_failed_naming_the_property_and_call_nothing() {
    let (stack, aws) = Stack::on_emulator("bad-component").await;
    let variant_metric = |kind: &str, metric: &str| -> Value {
        json!({"InferenceComponentName": "ic", "TargetTrackingPolicies": [{
            "PolicyName": "busy", "TargetValue": 2,
            "PredefinedMetricSpecification": {"PredefinedMetricType": format!("SageMaker{kind}{metric}")}
        }]})
    };
    let cases: [(Value, &[&str]); 7] = [
        (
            json!({"InferenceComponentName": "arn:aws:sagemaker:us-east-1:123456789012:inference-component/ic"}),
            &["InferenceComponentName must be the inference component's name, not its ARN"],
        ),
        (
            json!({"EndpointName": "e", "VariantName": "prod", "InferenceComponentName": "ic"}),
            &[
                "VariantName and InferenceComponentName name two kinds of target: give one of them, not both",
            ],
        ),
        (
            variant_metric("Variant", "ConcurrentRequestsPerModelHighResolution"),
            &[
                "TargetTrackingPolicies[0].PredefinedMetricSpecification.PredefinedMetricType \
                 \"SageMakerVariantConcurrentRequestsPerModelHighResolution\" is for an endpoint \
                 variant, not an inference component; for an inference component: \
                 SageMakerInferenceComponentInvocationsPerCopy, \
                 SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution",
            ],
        ),
        (
            json!({"InferenceComponentName": "ic", "TargetMetric": "GPUUtilization"}),
            &[
                "TargetMetric \"GPUUtilization\" is an endpoint variant's metric; for an inference component:",
            ],
        ),
        (
            json!({"InferenceComponentName": "ic_1"}),
            &[
                "InferenceComponentName must be 1 to 63 letters, digits and hyphens, not starting or \
               ending with a hyphen (SageMaker's naming rule), got \"ic_1\"",
            ],
        ),
        (
            json!({"InferenceComponentName": "ic", "EndpointConfigName": "cfg"}),
            &["EndpointConfigName is for an endpoint variant"],
        ),
        (
            json!({"EndpointName": "e", "TargetTrackingPolicies": [{
                "PolicyName": "copies", "TargetValue": 2,
                "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerInferenceComponentInvocationsPerCopy"}
            }]}),
            &[
                "\"SageMakerInferenceComponentInvocationsPerCopy\" is for an inference component, not an endpoint variant",
            ],
        ),
    ];
    assert_refused_before_any_call(&stack, &aws, &cases).await;
    // The Delete CloudFormation sends for a failed Create touches nothing either.
    let answer = stack
        .delete("create-failed/0", json!({"InferenceComponentName": "ic"}))
        .await;
    assert_success(&answer);
    aws.assert_no_calls();
}
