//! The resource touches only what it owns: a user's alarm of the same name, a second variant's
//! alarm, a target another stack took over, and objects whose ownership cannot be read. Each
//! scenario reads the answer and the state back.

use crate::support::aws::Service;
use crate::support::{Fixture, assert_failed, assert_success};
use serde_json::{Value, json};

fn properties(endpoint: &str, variant: &str) -> Value {
    json!({"EndpointName": endpoint, "VariantName": variant, "MaxCapacity": 2})
}

fn step_policy_arn(answer: &Value) -> &str {
    answer["Data"]["StepScalingPolicyArn"].as_str().unwrap()
}

#[tokio::test]
async fn the_users_own_alarm_of_that_name_survives_a_create_and_its_rollback_delete() {
    let f = Fixture::start(
        "the_users_own_alarm_of_that_name_survives_a_create_and_its_rollback_delete",
    )
    .await;
    let endpoint = f.endpoint("pager");
    let pager = format!("{endpoint}-pager");
    let sns = "arn:aws:sns:us-east-1:123456789012:pager";
    f.emulator.put_users_alarm(&pager, &endpoint, &[sns]).await;
    let mut props = properties(&endpoint, "prod");
    props["AlarmName"] = pager.clone().into();

    let answer = f.stack.create(props.clone()).await;
    assert_failed(
        &answer,
        &[
            &format!("An alarm named {pager} already exists and this resource did not create it"),
            &format!("it watches AWS/SageMaker Invocation5XXErrors (EndpointName={endpoint})"),
            "AdoptExisting",
        ],
    );
    let resource_id = format!("endpoint/{endpoint}/variant/prod");
    assert!(
        f.emulator.target(&resource_id).await.is_none(),
        "nothing left behind"
    );
    assert!(f.emulator.policies(&resource_id).await.is_empty());

    let failed_id = answer["PhysicalResourceId"].as_str().unwrap();
    assert_success(&f.stack.delete(failed_id, props).await);
    let alarm = f
        .emulator
        .alarm(&pager)
        .await
        .expect("the user's alarm is still there");
    assert_eq!(alarm.metric_name(), Some("Invocation5XXErrors"));
    assert_eq!(alarm.alarm_actions(), [sns]);
}

#[tokio::test]
async fn two_variants_of_one_endpoint_each_keep_an_alarm_that_fires_their_own_step_policy() {
    let f = Fixture::start(
        "two_variants_of_one_endpoint_each_keep_an_alarm_that_fires_their_own_step_policy",
    )
    .await;
    let endpoint = f.endpoint("two-variants");
    let blue_stack = f.another_stack("blue").await;
    let green = properties(&endpoint, "green");
    let blue = properties(&endpoint, "blue");
    let green_alarm = format!("{endpoint}-green-HasBacklogWithoutCapacity");
    let blue_alarm = format!("{endpoint}-blue-HasBacklogWithoutCapacity");

    let green_created = f.stack.create(green.clone()).await;
    let blue_created = blue_stack.create(blue.clone()).await;
    assert_success(&green_created);
    assert_success(&blue_created);
    let fires = |alarm: &aws_sdk_cloudwatch::types::MetricAlarm| alarm.alarm_actions().to_vec();
    let green_step = step_policy_arn(&green_created).to_owned();
    let blue_step = step_policy_arn(&blue_created).to_owned();
    assert_eq!(
        fires(&f.emulator.alarm(&green_alarm).await.unwrap()),
        std::slice::from_ref(&green_step)
    );
    assert_eq!(
        fires(&f.emulator.alarm(&blue_alarm).await.unwrap()),
        std::slice::from_ref(&blue_step)
    );

    // An Update of one leaves the other's alarm alone.
    let green_id = format!("endpoint/{endpoint}/variant/green");
    let mut green_more = green.clone();
    green_more["MaxCapacity"] = 3.into();
    let updated = f.stack.update(&green_id, green_more.clone(), green).await;
    assert_success(&updated);
    assert_eq!(
        fires(&f.emulator.alarm(&green_alarm).await.unwrap()),
        [step_policy_arn(&updated)]
    );
    assert_eq!(
        fires(&f.emulator.alarm(&blue_alarm).await.unwrap()),
        std::slice::from_ref(&blue_step)
    );

    // Deleting one leaves the other whole; deleting the other removes the rest.
    assert_success(&f.stack.delete(&green_id, green_more).await);
    f.emulator
        .assert_nothing_left(&green_id, &green_alarm)
        .await;
    let blue_id = format!("endpoint/{endpoint}/variant/blue");
    assert_eq!(
        fires(&f.emulator.alarm(&blue_alarm).await.unwrap()),
        [blue_step]
    );
    assert_eq!(f.emulator.policies(&blue_id).await.len(), 2);
    assert_success(&blue_stack.delete(&blue_id, blue).await);
    f.emulator.assert_nothing_left(&blue_id, &blue_alarm).await;
}

#[tokio::test]
async fn adopt_existing_takes_over_an_existing_alarm_on_purpose() {
    let f = Fixture::start("adopt_existing_takes_over_an_existing_alarm_on_purpose").await;
    let endpoint = f.endpoint("adopt-alarm");
    let existing = format!("{endpoint}-existing");
    f.emulator.put_users_alarm(&existing, &endpoint, &[]).await;
    let mut props = properties(&endpoint, "prod");
    props["AlarmName"] = existing.clone().into();
    props["AdoptExisting"] = true.into();

    let answer = f.stack.create(props.clone()).await;
    assert_success(&answer);
    assert!(
        answer["Reason"]
            .as_str()
            .unwrap()
            .contains(&format!("took over the alarm {existing}"))
    );
    let alarm = f.emulator.alarm(&existing).await.unwrap();
    assert_eq!(alarm.metric_name(), Some("HasBacklogWithoutCapacity"));
    assert_eq!(alarm.alarm_actions(), [step_policy_arn(&answer)]);
    let tags = f.emulator.alarm_tags(&existing).await;
    assert_eq!(
        tags["sagemaker-async-autoscaling:stack-id"],
        f.stack.stack_id
    );

    // Now it is this resource's: its Delete removes it.
    let id = answer["PhysicalResourceId"].as_str().unwrap();
    assert_success(&f.stack.delete(id, props).await);
    f.emulator.assert_nothing_left(id, &existing).await;
}

#[tokio::test]
async fn a_target_whose_tags_cannot_be_read_gives_the_take_over_refusal() {
    let f = Fixture::start("a_target_whose_tags_cannot_be_read_gives_the_take_over_refusal").await;
    let endpoint = f.endpoint("unreadable");
    let resource_id = format!("endpoint/{endpoint}/variant/prod");
    f.emulator.register_target(&resource_id, 1, 3).await;
    f.aws.fail_in(
        Service::AutoScaling,
        "ListTagsForResource",
        1,
        "AccessDeniedException",
        "User is not authorized to perform: application-autoscaling:ListTagsForResource",
    );

    let answer = f.stack.create(properties(&endpoint, "prod")).await;
    assert_failed(
        &answer,
        &[
            &format!("A scalable target is already registered for {resource_id}"),
            "its tags could not be read (ListTagsForResource failed: AccessDeniedException: User is not authorized",
            "AdoptExisting",
        ],
    );
    let target = f.emulator.target(&resource_id).await.unwrap();
    assert_eq!(
        (target.min_capacity(), target.max_capacity()),
        (1, 3),
        "left untouched"
    );
}

#[tokio::test]
async fn a_stack_that_adopted_a_variant_keeps_it_when_the_first_stack_deletes_its_resource() {
    let f = Fixture::start(
        "a_stack_that_adopted_a_variant_keeps_it_when_the_first_stack_deletes_its_resource",
    )
    .await;
    let endpoint = f.endpoint("handover");
    let stack_b = f.another_stack("stack-b").await;
    let props = properties(&endpoint, "prod");
    let id = format!("endpoint/{endpoint}/variant/prod");
    let alarm_name = format!("{endpoint}-prod-HasBacklogWithoutCapacity");
    assert_success(&f.stack.create(props.clone()).await);

    let mut adopting = props.clone();
    adopting["AdoptExisting"] = true.into();
    adopting["MaxCapacity"] = 4.into();
    let adopted = stack_b.create(adopting.clone()).await;
    assert_success(&adopted);

    let answer = f.stack.delete(&id, props).await;
    assert_success(&answer);
    let reason = answer["Reason"].as_str().unwrap();
    assert!(reason.contains("left the scalable target"), "{reason}");
    assert!(reason.contains(&stack_b.stack_id), "{reason}");
    let target = f.emulator.target(&id).await.expect("B's target is intact");
    assert_eq!(target.max_capacity(), 4);
    assert_eq!(f.emulator.policies(&id).await.len(), 2);
    let alarm = f
        .emulator
        .alarm(&alarm_name)
        .await
        .expect("B's alarm is intact");
    assert_eq!(alarm.alarm_actions(), [step_policy_arn(&adopted)]);

    assert_success(&stack_b.delete(&id, adopting).await);
    f.emulator.assert_nothing_left(&id, &alarm_name).await;
}

#[tokio::test]
async fn an_alarm_under_the_first_releases_per_endpoint_name_is_replaced_by_the_variants_own() {
    let f = Fixture::start(
        "an_alarm_under_the_first_releases_per_endpoint_name_is_replaced_by_the_variants_own",
    )
    .await;
    let endpoint = f.endpoint("legacy");
    let props = properties(&endpoint, "prod");
    let id = create_with_legacy_alarm(&f, &endpoint, props.clone()).await;
    let legacy = format!("{endpoint}-HasBacklogWithoutCapacity");
    assert!(f.emulator.alarm(&legacy).await.is_some());

    let answer = f.stack.update(&id, props.clone(), props).await;
    assert_success(&answer);
    assert!(
        f.emulator.alarm(&legacy).await.is_none(),
        "the old default alarm went"
    );
    let own = f
        .emulator
        .alarm(&format!("{endpoint}-prod-HasBacklogWithoutCapacity"))
        .await;
    assert_eq!(
        own.expect("the variant's alarm").alarm_actions(),
        [step_policy_arn(&answer)]
    );
}

/// A variant configured by this resource's first release: target, policies, and the alarm
/// under the per-endpoint default name, with no ownership tags on the alarm.
async fn create_with_legacy_alarm(f: &Fixture, endpoint: &str, props: Value) -> String {
    let answer = f.stack.create(props).await;
    assert_success(&answer);
    let current = answer["Data"]["AlarmName"].as_str().unwrap().to_owned();
    let alarm = f.emulator.alarm(&current).await.unwrap();
    let clients = f.aws.clients().await;
    clients
        .cloudwatch
        .delete_alarms()
        .alarm_names(&current)
        .send()
        .await
        .unwrap();
    let legacy = format!("{endpoint}-HasBacklogWithoutCapacity");
    f.emulator
        .put_users_alarm(&legacy, endpoint, &[alarm.alarm_actions()[0].as_str()])
        .await;
    answer["PhysicalResourceId"].as_str().unwrap().to_owned()
}
