//! What CloudFormation's native scaling resources offer, in this one resource: scheduled
//! actions, suspension, scale-in protection, the alarm's sensitivity, and tags. Each is created,
//! changed on Update and gone after Delete, read back from the emulator.

use crate::support::{Fixture, assert_success};
use aws_sdk_applicationautoscaling::primitives::DateTime;
use aws_sdk_applicationautoscaling::types::ScheduledAction;
use serde_json::{Value, json};
use std::collections::BTreeMap;

fn properties(endpoint: &str, extra: Value) -> Value {
    let mut properties = json!({"EndpointName": endpoint, "VariantName": "prod", "MaxCapacity": 2});
    for (key, value) in extra.as_object().unwrap() {
        properties[key] = value.clone();
    }
    properties
}

fn resource_id(endpoint: &str) -> String {
    format!("endpoint/{endpoint}/variant/prod")
}

fn alarm_name(endpoint: &str) -> String {
    format!("{endpoint}-prod-HasBacklogWithoutCapacity")
}

/// An action as the emulator holds it: name, schedule, time zone, min and max.
fn summary(action: &ScheduledAction) -> (String, String, Option<String>, Option<i32>, Option<i32>) {
    let capacity = action.scalable_target_action();
    (
        action.scheduled_action_name().to_owned(),
        action.schedule().to_owned(),
        action.timezone().map(str::to_owned),
        capacity.and_then(|c| c.min_capacity()),
        capacity.and_then(|c| c.max_capacity()),
    )
}

fn owned(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test]
async fn scheduled_actions_are_created_changed_removed_and_gone_after_delete() {
    let f =
        Fixture::start("scheduled_actions_are_created_changed_removed_and_gone_after_delete").await;
    let endpoint = f.endpoint("schedules");
    let id = resource_id(&endpoint);
    let night = json!({"ScheduledActionName": "night-off", "Schedule": "cron(0 20 ? * MON-FRI *)",
                       "Timezone": "Europe/Berlin", "MinCapacity": 0, "MaxCapacity": 0});
    let morning = json!({"ScheduledActionName": "morning-on", "Schedule": "cron(0 7 ? * MON-FRI *)",
                         "Timezone": "Europe/Berlin", "MinCapacity": 1, "MaxCapacity": 2,
                         "StartTime": "2026-12-01T00:00:00Z", "EndTime": "2027-12-01T00:00:00Z"});
    let v1 = properties(&endpoint, json!({"ScheduledActions": [night, morning]}));
    let created = f.stack.create(v1.clone()).await;
    assert_success(&created);
    assert_eq!(
        created["Data"]["ScheduledActionNames"],
        "night-off,morning-on"
    );
    let actions = f.emulator.scheduled_actions(&id).await;
    let summaries: Vec<_> = actions.iter().map(summary).collect();
    assert_eq!(
        summaries,
        [
            (
                "morning-on".into(),
                "cron(0 7 ? * MON-FRI *)".into(),
                Some("Europe/Berlin".into()),
                Some(1),
                Some(2)
            ),
            (
                "night-off".into(),
                "cron(0 20 ? * MON-FRI *)".into(),
                Some("Europe/Berlin".into()),
                Some(0),
                Some(0)
            ),
        ]
    );
    assert_eq!(
        actions[0].start_time(),
        Some(&DateTime::from_secs(1_796_083_200))
    );
    assert_eq!(
        actions[0].end_time(),
        Some(&DateTime::from_secs(1_827_619_200))
    );

    // Changed, added and removed: night-off moves to 21:00 and drops its time zone and its
    // maximum (so it is put again from nothing), morning-on goes, lunch comes.
    let night_later = json!({"ScheduledActionName": "night-off", "Schedule": "cron(0 21 ? * MON-FRI *)",
                             "MinCapacity": 0});
    let lunch =
        json!({"ScheduledActionName": "lunch", "Schedule": "rate(1 day)", "MaxCapacity": 1});
    let v2 = properties(&endpoint, json!({"ScheduledActions": [night_later, lunch]}));
    let updated = f.stack.update(&id, v2.clone(), v1).await;
    assert_success(&updated);
    assert_eq!(updated["Data"]["ScheduledActionNames"], "night-off,lunch");
    let summaries: Vec<_> = f
        .emulator
        .scheduled_actions(&id)
        .await
        .iter()
        .map(summary)
        .collect();
    assert_eq!(
        summaries,
        [
            ("lunch".into(), "rate(1 day)".into(), None, None, Some(1)),
            (
                "night-off".into(),
                "cron(0 21 ? * MON-FRI *)".into(),
                None,
                Some(0),
                None
            ),
        ]
    );

    let v3 = properties(&endpoint, json!({}));
    let updated = f.stack.update(&id, v3.clone(), v2).await;
    assert_success(&updated);
    assert_eq!(updated["Data"]["ScheduledActionNames"], "");
    assert!(f.emulator.scheduled_actions(&id).await.is_empty());

    let v4 = properties(
        &endpoint,
        json!({"ScheduledActions": [json!({"ScheduledActionName": "night-off",
        "Schedule": "cron(0 20 ? * MON-FRI *)", "MinCapacity": 0, "MaxCapacity": 0})]}),
    );
    assert_success(&f.stack.update(&id, v4.clone(), v3).await);
    assert_success(&f.stack.delete(&id, v4).await);
    f.emulator
        .assert_nothing_left(&id, &alarm_name(&endpoint))
        .await;
}

#[tokio::test]
async fn scaling_is_suspended_and_resumed_when_suspended_state_is_dropped() {
    let f =
        Fixture::start("scaling_is_suspended_and_resumed_when_suspended_state_is_dropped").await;
    let endpoint = f.endpoint("suspend");
    let id = resource_id(&endpoint);
    let suspended = properties(
        &endpoint,
        json!({"SuspendedState": {
        "DynamicScalingInSuspended": true, "DynamicScalingOutSuspended": true,
        "ScheduledScalingSuspended": true}}),
    );
    assert_success(&f.stack.create(suspended.clone()).await);
    let state = f
        .emulator
        .target(&id)
        .await
        .unwrap()
        .suspended_state()
        .cloned()
        .unwrap();
    assert_eq!(
        (
            state.dynamic_scaling_in_suspended(),
            state.dynamic_scaling_out_suspended(),
            state.scheduled_scaling_suspended()
        ),
        (Some(true), Some(true), Some(true))
    );

    let resumed = properties(&endpoint, json!({}));
    assert_success(&f.stack.update(&id, resumed, suspended).await);
    let state = f
        .emulator
        .target(&id)
        .await
        .unwrap()
        .suspended_state()
        .cloned()
        .unwrap();
    assert_eq!(
        (
            state.dynamic_scaling_in_suspended(),
            state.dynamic_scaling_out_suspended(),
            state.scheduled_scaling_suspended()
        ),
        (Some(false), Some(false), Some(false))
    );
}

#[tokio::test]
async fn disable_scale_in_is_turned_on_and_off() {
    let f = Fixture::start("disable_scale_in_is_turned_on_and_off").await;
    let endpoint = f.endpoint("no-scale-in");
    let id = resource_id(&endpoint);
    let on = properties(&endpoint, json!({"DisableScaleIn": true}));
    assert_success(&f.stack.create(on.clone()).await);
    assert_eq!(disable_scale_in(&f, &id).await, Some(true));

    let off = properties(&endpoint, json!({}));
    assert_success(&f.stack.update(&id, off, on).await);
    assert_eq!(disable_scale_in(&f, &id).await, Some(false));
}

async fn disable_scale_in(f: &Fixture, id: &str) -> Option<bool> {
    let policies = f.emulator.policies(id).await;
    let tracking = policies[0]
        .target_tracking_scaling_policy_configuration()
        .unwrap();
    tracking.disable_scale_in()
}

#[tokio::test]
async fn the_alarms_evaluation_periods_follow_alarm_evaluation_periods() {
    let f = Fixture::start("the_alarms_evaluation_periods_follow_alarm_evaluation_periods").await;
    let endpoint = f.endpoint("periods");
    let id = resource_id(&endpoint);
    let fast = properties(&endpoint, json!({"AlarmEvaluationPeriods": 1}));
    assert_success(&f.stack.create(fast.clone()).await);
    let alarm = f.emulator.alarm(&alarm_name(&endpoint)).await.unwrap();
    assert_eq!(
        (alarm.evaluation_periods(), alarm.datapoints_to_alarm()),
        (Some(1), Some(1))
    );

    let slow = properties(&endpoint, json!({"AlarmEvaluationPeriods": 5}));
    assert_success(&f.stack.update(&id, slow, fast).await);
    let alarm = f.emulator.alarm(&alarm_name(&endpoint)).await.unwrap();
    assert_eq!(
        (alarm.evaluation_periods(), alarm.datapoints_to_alarm()),
        (Some(5), Some(5))
    );
    assert_eq!(alarm.period(), Some(60));
}

#[tokio::test]
async fn tags_are_added_changed_and_removed_on_the_target_and_the_alarm() {
    let f = Fixture::start("tags_are_added_changed_and_removed_on_the_target_and_the_alarm").await;
    let endpoint = f.endpoint("tags");
    let id = resource_id(&endpoint);
    let alarm = alarm_name(&endpoint);
    let ownership = [
        (
            "sagemaker-async-autoscaling:logical-resource-id",
            f.stack.logical_resource_id.as_str(),
        ),
        (
            "sagemaker-async-autoscaling:stack-id",
            f.stack.stack_id.as_str(),
        ),
    ];
    let with_ownership = |pairs: &[(&str, &str)]| {
        let mut tags = owned(pairs);
        tags.extend(owned(&ownership));
        tags
    };

    let v1 = properties(
        &endpoint,
        json!({"Tags": [
        {"Key": "team", "Value": "ml"}, {"Key": "cost-centre", "Value": "42"}]}),
    );
    assert_success(&f.stack.create(v1.clone()).await);
    let expected = with_ownership(&[("team", "ml"), ("cost-centre", "42")]);
    assert_eq!(f.target_tags(&id).await, expected);
    assert_eq!(f.emulator.alarm_tags(&alarm).await, expected);

    let v2 = properties(
        &endpoint,
        json!({"Tags": [
        {"Key": "team", "Value": "search"}, {"Key": "env", "Value": "prod"}]}),
    );
    assert_success(&f.stack.update(&id, v2.clone(), v1).await);
    let expected = with_ownership(&[("team", "search"), ("env", "prod")]);
    assert_eq!(f.target_tags(&id).await, expected);
    assert_eq!(f.emulator.alarm_tags(&alarm).await, expected);

    let v3 = properties(&endpoint, json!({}));
    assert_success(&f.stack.update(&id, v3.clone(), v2).await);
    assert_eq!(f.target_tags(&id).await, with_ownership(&[]));
    assert_eq!(f.emulator.alarm_tags(&alarm).await, with_ownership(&[]));

    assert_success(&f.stack.delete(&id, v3).await);
    f.emulator.assert_nothing_left(&id, &alarm).await;
}

#[tokio::test]
async fn a_schedule_is_put_on_an_adopted_target() {
    let f = Fixture::start("a_schedule_is_put_on_an_adopted_target").await;
    let endpoint = f.endpoint("adopt-schedule");
    let id = resource_id(&endpoint);
    f.emulator.register_target(&id, 1, 3).await;
    let props = properties(
        &endpoint,
        json!({"AdoptExisting": true, "ScheduledActions": [
        {"ScheduledActionName": "night-off", "Schedule": "cron(0 20 ? * MON-FRI *)",
         "MinCapacity": 0, "MaxCapacity": 0}]}),
    );

    let answer = f.stack.create(props.clone()).await;
    assert_success(&answer);
    assert_eq!(answer["Data"]["ScheduledActionNames"], "night-off");
    let summaries: Vec<_> = f
        .emulator
        .scheduled_actions(&id)
        .await
        .iter()
        .map(summary)
        .collect();
    assert_eq!(
        summaries,
        [(
            "night-off".into(),
            "cron(0 20 ? * MON-FRI *)".into(),
            None,
            Some(0),
            Some(0)
        )]
    );
    assert_success(&f.stack.delete(&id, props).await);
    f.emulator
        .assert_nothing_left(&id, &alarm_name(&endpoint))
        .await;
}
