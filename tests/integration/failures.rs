//! Every path answers CloudFormation: bad input, AWS errors, the deadline, a ResponseURL
//! that misbehaves, and requests that arrive twice.

use crate::support::http::{Reply, Server};
use crate::support::{
    Emulator, Fixture, Stack, answer_path, assert_failed, assert_refused_before_any_call,
    assert_success, aws::Aws, aws::clients_for, in_seconds,
};
use sagemaker_async_autoscaling::InvocationError;
use serde_json::{Value, json};
use std::time::SystemTime;

#[tokio::test]
async fn wrong_properties_get_a_failed_answer_that_names_the_property() {
    let (stack, aws) = Stack::on_emulator("bad-input").await;
    let cases: [(Value, &[&str]); 11] = [
        (
            json!({"VariantName": "prod"}),
            &["EndpointName is required"],
        ),
        (
            json!({"EndpointName": "e", "MinCapacity": "3", "MaxCapacity": "2"}),
            &["MinCapacity (3) must not be greater than MaxCapacity (2)"],
        ),
        (
            json!({"EndpointName": "e", "MaxCapacity": "lots"}),
            &["MaxCapacity must be a whole number, got \"lots\""],
        ),
        (
            json!({"EndpointName": "e", "TargetMetric": "GPU"}),
            &[
                "TargetMetric must be one of CPUUtilization, ApproximateBacklogSizePerInstance, GPUUtilization, got \"GPU\"",
            ],
        ),
        (
            json!({"EndpointName": "e", "ScaleInCooldown": "-60"}),
            &["ScaleInCooldown must be at least 0, got -60"],
        ),
        (
            json!({"EndpointName": "e", "MaxCapcity": "3"}),
            &["\"MaxCapcity\" is not a known property (did you mean MaxCapacity?)"],
        ),
        (
            json!({"EndpointName": "e", "TargetValue": "0", "ScaleFromZero": "maybe"}),
            &[
                "TargetValue must be a positive number",
                "ScaleFromZero must be true or false",
            ],
        ),
        (
            json!("EndpointName=e"),
            &["ResourceProperties must be an object"],
        ),
        (
            json!({"EndpointName": "e", "ScheduledActions": [
                {"ScheduledActionName": "night", "Shedule": "cron(0 20 ? * MON-FRI *)", "MinCapacity": 0},
                {"ScheduledActionName": "day", "Schedule": "cron(0 7 * * MON-FRI *)", "MinCapacity": 1,
                 "Timezone": "Mars/Olympus", "StartTime": "tomorrow"}
            ]}),
            &[
                "\"ScheduledActions[0].Shedule\" is not a known property (did you mean ScheduledActions[0].Schedule?)",
                "ScheduledActions[0].Schedule is required",
                "ScheduledActions[1].Schedule \"cron(0 7 * * MON-FRI *)\" is not a schedule Application Auto Scaling takes (one of day-of-month and day-of-week must be ?",
                "ScheduledActions[1].Timezone must be an IANA time zone name",
                "ScheduledActions[1].StartTime must be an ISO 8601 time",
            ],
        ),
        (
            json!({"EndpointName": "e", "SuspendedState": {"ScheduledScalingSuspended": "sometimes"},
                   "DisableScaleIn": "no", "AlarmEvaluationPeriods": "0"}),
            &[
                "SuspendedState.ScheduledScalingSuspended must be true or false",
                "DisableScaleIn must be true or false",
                "AlarmEvaluationPeriods must be from 1 to 1440, got 0",
            ],
        ),
        (
            json!({"EndpointName": "e", "Tags": [{"Key": "aws:cost", "Value": "1"}, {"Value": "x"}]}),
            &[
                "Tags[0].Key must not start with aws:",
                "Tags[1].Key is required",
            ],
        ),
    ];
    assert_refused_before_any_call(&stack, &aws, &cases).await;
}

#[tokio::test]
async fn a_bad_update_fails_and_keeps_the_physical_id() {
    let (stack, _aws) = Stack::on_emulator("bad-update").await;
    let emulator = Emulator::connect().await;
    let good = json!({"EndpointName": "esd-bad-update", "VariantName": "prod"});
    let id = stack.create(good.clone()).await["PhysicalResourceId"]
        .as_str()
        .unwrap()
        .to_owned();

    let answer = stack
        .update(
            &id,
            json!({"EndpointName": "esd-bad-update", "VariantName": "prod", "MaxCapacity": "0"}),
            good,
        )
        .await;
    assert_failed(&answer, &["MaxCapacity must be at least 1, got 0"]);
    assert_eq!(answer["PhysicalResourceId"], id.as_str());
    assert_eq!(emulator.policies(&id).await.len(), 2, "nothing removed");
}

#[tokio::test]
async fn an_unknown_request_type_gets_a_failed_answer() {
    let (stack, aws) = Stack::on_emulator("bad-request-type").await;
    let mut event = stack.event("Create", None, json!({"EndpointName": "e"}), None);
    event["RequestType"] = "Replace".into();
    let answer = stack.send(event).await;
    assert_failed(&answer, &["unknown variant `Replace`"]);
    aws.assert_no_calls();
}

#[tokio::test]
async fn an_event_that_is_not_a_cloudformation_request_is_an_invocation_error() {
    let (stack, _aws) = Stack::on_emulator("not-cfn").await;
    let result = stack
        .invoke(json!({"detail-type": "Scheduled Event"}), in_seconds(30))
        .await;
    assert!(
        matches!(result, Err(InvocationError::Unanswerable(_))),
        "{result:?}"
    );
    assert!(stack.cfn.received().is_empty());
}

#[tokio::test]
async fn a_response_url_outside_aws_s3_is_refused_with_no_call_and_nothing_sent() {
    let (stack, aws) = Stack::on_emulator("foreign-url").await;
    for url in [
        "http://10.255.255.1/answers?X-Amz-Signature=abc",
        "https://attacker.example/answers?X-Amz-Signature=abc",
        "https://s3.amazonaws.com.attacker.example/answers?X-Amz-Signature=abc",
    ] {
        let mut event = stack.event("Create", None, json!({"EndpointName": "e"}), None);
        event["ResponseURL"] = url.into();
        let result = stack.invoke(event, in_seconds(30)).await;
        let Err(InvocationError::Unanswerable(reason)) = result else {
            panic!("expected a refusal of {url}, got {result:?}");
        };
        let host = url.split('/').nth(2).unwrap();
        assert!(
            reason.0.contains(&format!("{host}/answers is refused")),
            "{reason}"
        );
        assert!(!reason.0.contains("X-Amz-Signature"));
    }
    aws.assert_no_calls();
    assert!(stack.cfn.received().is_empty());
}

#[tokio::test]
async fn aws_that_never_answers_gets_a_timeout_answer_before_the_deadline() {
    let silent_aws = Server::start(|_| Box::pin(async { Reply::Hang })).await;
    let stack = Stack::new(clients_for(&silent_aws.url()).await, "silent-aws").await;
    let event = stack.event("Create", None, json!({"EndpointName": "esd-silent"}), None);
    let path = answer_path(&event);

    let deadline = in_seconds(8);
    let result = stack.invoke(event, deadline).await;
    assert!(SystemTime::now() < deadline, "answered after the deadline");
    assert!(result.is_ok(), "{result:?}");
    assert_failed(
        &stack.answer_at(&path),
        &[
            "Timed out",
            "while waiting for DescribeScalableTargets (endpoint/esd-silent/variant/AllTraffic)",
        ],
    );
}

#[tokio::test]
async fn a_create_stopped_at_the_deadline_removes_what_it_had_created() {
    let (stack, aws) = Stack::on_emulator("deadline-midway").await;
    let emulator = Emulator::connect().await;
    aws.hang("PutMetricAlarm");
    let event = stack.event(
        "Create",
        None,
        json!({"EndpointName": "esd-deadline-midway"}),
        None,
    );
    let path = answer_path(&event);

    let deadline = in_seconds(9);
    stack.invoke(event, deadline).await.unwrap();
    assert!(SystemTime::now() < deadline);
    let answer = stack.answer_at(&path);
    assert_failed(
        &answer,
        &[
            "Timed out",
            "PutMetricAlarm (esd-deadline-midway-AllTraffic-HasBacklogWithoutCapacity)",
            "Removed what this request had set up for endpoint/esd-deadline-midway/variant/AllTraffic",
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
            "endpoint/esd-deadline-midway/variant/AllTraffic",
            "esd-deadline-midway-AllTraffic-HasBacklogWithoutCapacity",
        )
        .await;
}

/// A Create whose registration is carried out but whose answer never comes back, stopped at the
/// deadline while it waits; `meanwhile` runs while it waits. Answers the Create's answer.
async fn create_with_a_lost_registration_answer(
    f: &Fixture,
    endpoint: &str,
    meanwhile: impl std::future::Future<Output = ()>,
) -> Value {
    f.aws.lose_answer("RegisterScalableTarget");
    let event = f
        .stack
        .event("Create", None, json!({"EndpointName": endpoint}), None);
    let path = answer_path(&event);
    let deadline = in_seconds(9);
    let (result, ()) = tokio::join!(f.stack.invoke(event, deadline), meanwhile);
    result.unwrap();
    assert!(SystemTime::now() < deadline);
    let answer = f.stack.answer_at(&path);
    assert_failed(
        &answer,
        &["Timed out", "while waiting for RegisterScalableTarget"],
    );
    answer
}

#[tokio::test]
async fn a_registration_whose_answer_is_lost_is_removed_while_it_carries_this_resources_tags() {
    let f = Fixture::start(
        "a_registration_whose_answer_is_lost_is_removed_while_it_carries_this_resources_tags",
    )
    .await;
    let endpoint = f.endpoint("lost-answer");
    let resource_id = format!("endpoint/{endpoint}/variant/AllTraffic");
    let answer = create_with_a_lost_registration_answer(&f, &endpoint, async {}).await;
    assert_failed(
        &answer,
        &[&format!(
            "Removed what this request had set up for {resource_id}"
        )],
    );
    let alarm_name = format!("{endpoint}-AllTraffic-HasBacklogWithoutCapacity");
    f.emulator
        .assert_nothing_left(&resource_id, &alarm_name)
        .await;
}

#[tokio::test]
async fn a_registration_whose_answer_is_lost_is_left_once_another_stack_took_it_over() {
    let f = Fixture::start(
        "a_registration_whose_answer_is_lost_is_left_once_another_stack_took_it_over",
    )
    .await;
    let endpoint = f.endpoint("lost-taken");
    let resource_id = format!("endpoint/{endpoint}/variant/AllTraffic");
    let other = Stack::ownership_tags_of("took-it-over");
    // While the Create waits, another stack takes the target over (AdoptExisting retags it).
    let take_over = async {
        for _ in 0..100 {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            if f.emulator.target(&resource_id).await.is_some() {
                f.emulator.tag_target(&resource_id, other.clone()).await;
                return;
            }
        }
        panic!("the registration was never carried out");
    };
    let answer = create_with_a_lost_registration_answer(&f, &endpoint, take_over).await;
    assert_failed(
        &answer,
        &[
            "Nothing to remove",
            &format!(
                "Left the scalable target of {resource_id}, which resource \
                 EndpointAutoScaling of stack {} manages",
                Stack::id_of("took-it-over")
            ),
        ],
    );
    assert!(
        f.emulator.target(&resource_id).await.is_some(),
        "the other stack's target stays"
    );
    assert_eq!(f.emulator.target_tags(&resource_id).await, other);
}

#[tokio::test]
async fn the_answer_is_retried_until_the_response_url_accepts_it() {
    let aws = Aws::start().await;
    let refusals = std::sync::atomic::AtomicUsize::new(0);
    let cfn = Server::start(move |_| {
        let refused = refusals.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Box::pin(async move { Reply::status(if refused < 2 { 503 } else { 200 }) })
    })
    .await;
    let stack = Stack::with_listener(aws.clients().await, "delivery-retry", cfn);

    let answers = {
        let event = stack.event(
            "Create",
            None,
            json!({"EndpointName": "esd-delivery-retry"}),
            None,
        );
        let path = answer_path(&event);
        stack.invoke(event, in_seconds(60)).await.unwrap();
        stack.answers_at(&path)
    };
    assert_eq!(answers.len(), 3, "two refusals, then the accepted PUT");
    assert!(
        answers.iter().all(|a| *a == answers[0]),
        "the same body each time"
    );
    assert_success(&answers[2]);
}

#[tokio::test]
async fn a_response_url_that_never_answers_is_given_up_before_the_deadline() {
    let aws = Aws::start().await;
    let cfn = Server::start(|_| Box::pin(async { Reply::Hang })).await;
    let stack = Stack::with_listener(aws.clients().await, "delivery-hangs", cfn);
    let event = stack.event("Delete", Some("create-failed/x"), json!({}), None);

    let deadline = in_seconds(8);
    let result = stack.invoke(event, deadline).await;
    assert!(SystemTime::now() < deadline, "gave up after the deadline");
    let Err(InvocationError::NotDelivered(reason)) = result else {
        panic!("expected a delivery failure, got {result:?}");
    };
    assert!(reason.contains("not delivered after"), "{reason}");
    assert!(!stack.cfn.received().is_empty(), "it did try");
}

#[tokio::test]
async fn a_very_long_endpoint_name_still_gets_an_answer_within_4096_bytes() {
    let (stack, _aws) = Stack::on_emulator("long-name").await;
    let event = stack.event(
        "Create",
        None,
        json!({"EndpointName": "e".repeat(5000)}),
        None,
    );
    let path = answer_path(&event);
    stack.invoke(event, in_seconds(30)).await.unwrap();

    let body = stack.answer_body_at(&path);
    assert!(body.len() <= 4096, "{} bytes", body.len());
    assert_failed(
        &stack.answer_at(&path),
        &["EndpointName must be 1 to 63 letters"],
    );
}

#[tokio::test]
async fn a_huge_aws_error_message_gives_a_short_reason_with_the_operation_and_its_head() {
    let (stack, aws) = Stack::on_emulator("huge-error").await;
    let message = format!(
        "Unable to assume IAM role {}",
        "arn:aws:iam::123456789012:role/x ".repeat(600)
    );
    aws.fail("RegisterScalableTarget", 1, "ValidationException", &message);
    let answer = stack
        .create(json!({"EndpointName": "esd-huge-error"}))
        .await;

    assert_failed(
        &answer,
        &[
            "RegisterScalableTarget failed: ValidationException: Unable to assume IAM role arn:aws:iam::123456789012:role/x",
        ],
    );
    let reason = answer["Reason"].as_str().unwrap();
    assert!(
        !reason.contains("Removed"),
        "a refused registration made nothing to remove: {reason}"
    );
    assert_short(&answer);
}

/// A Reason a user reads in the stack's events: a sentence or two, never the SDK's debug output.
fn assert_short(answer: &Value) {
    let reason = answer["Reason"].as_str().unwrap();
    assert!(
        reason.chars().count() <= 400,
        "{} characters: {reason}",
        reason.chars().count()
    );
    for debug in [
        "SdkBody",
        "ServiceError",
        "Extensions",
        "DispatchFailure",
        "{",
    ] {
        assert!(!reason.contains(debug), "{debug:?} in {reason:?}");
    }
}

#[tokio::test]
async fn an_html_error_page_instead_of_aws_gives_a_short_reason() {
    let proxy_page = Server::start(|_| {
        Box::pin(async {
            Reply::Respond {
                status: 500,
                headers: vec![("Content-Type".into(), "text/html".into())],
                body: b"<html><body><h1>500 Internal Server Error</h1></body></html>".to_vec(),
            }
        })
    })
    .await;
    let stack = Stack::new(clients_for(&proxy_page.url()).await, "html-500").await;
    let event = stack.event("Create", None, json!({"EndpointName": "esd-html"}), None);
    let path = answer_path(&event);
    stack.invoke(event, in_seconds(10)).await.unwrap();

    let answer = stack.answer_at(&path);
    assert_failed(
        &answer,
        &[
            // The target and the alarms are looked up at once; either may give up first.
            "failed: HTTP 500, an answer that is not an AWS error response",
            "still failing after",
        ],
    );
    assert_short(&answer);
    assert!(proxy_page.received().len() > 1, "a 500 is retried");
}

#[tokio::test]
async fn a_refused_connection_gives_a_short_reason() {
    let closed_port = crate::support::http::port_no_test_binds(&[]);
    let clients = clients_for(&format!("http://127.0.0.1:{closed_port}")).await;
    let stack = Stack::new(clients, "refused").await;
    let event = stack.event("Create", None, json!({"EndpointName": "esd-refused"}), None);
    let path = answer_path(&event);
    stack.invoke(event, in_seconds(10)).await.unwrap();

    let answer = stack.answer_at(&path);
    assert_failed(
        &answer,
        &[
            "failed: the connection failed (Connection refused",
            "still failing after",
        ],
    );
    assert_short(&answer);
}

#[tokio::test]
async fn throttled_calls_are_retried_and_the_lifecycle_succeeds() {
    let (stack, aws) = Stack::on_emulator("throttled").await;
    aws.throttle("RegisterScalableTarget", 2);
    aws.throttle("PutScalingPolicy", 2);
    aws.throttle("PutMetricAlarm", 1);
    let props = json!({"EndpointName": "esd-throttled", "VariantName": "prod"});

    let created = stack.create(props.clone()).await;
    assert_success(&created);
    let operations = aws.operations();
    let count = |name: &str| operations.iter().filter(|o| *o == name).count();
    assert_eq!(count("RegisterScalableTarget"), 3, "{operations:?}");
    assert_eq!(
        count("PutScalingPolicy"),
        4,
        "two throttled, two policies: {operations:?}"
    );
    assert_eq!(count("PutMetricAlarm"), 2, "{operations:?}");

    let id = created["PhysicalResourceId"].as_str().unwrap();
    aws.clear_calls();
    aws.throttle("RegisterScalableTarget", 1);
    let bigger = json!({"EndpointName": "esd-throttled", "VariantName": "prod", "MaxCapacity": 3});
    assert_success(&stack.update(id, bigger.clone(), props).await);
    assert_eq!(
        aws.operations()
            .iter()
            .filter(|o| *o == "RegisterScalableTarget")
            .count(),
        2
    );
    aws.clear_calls();
    aws.throttle("DeregisterScalableTarget", 2);
    aws.throttle("DeleteAlarms", 1);
    assert_success(&stack.delete(id, bigger).await);
    let operations = aws.operations();
    let count = |name: &str| operations.iter().filter(|o| *o == name).count();
    assert_eq!(
        (count("DeregisterScalableTarget"), count("DeleteAlarms")),
        (3, 2),
        "{operations:?}"
    );
    Emulator::connect()
        .await
        .assert_nothing_left(id, "esd-throttled-prod-HasBacklogWithoutCapacity")
        .await;
}

/// Sends the very same event twice, as an asynchronous invocation retry would.
async fn send_twice(stack: &Stack, event: Value) -> (Value, Value) {
    let path = answer_path(&event);
    stack.invoke(event.clone(), in_seconds(60)).await.unwrap();
    stack.invoke(event, in_seconds(60)).await.unwrap();
    let answers = stack.answers_at(&path);
    assert_eq!(answers.len(), 2);
    (answers[0].clone(), answers[1].clone())
}

#[tokio::test]
async fn the_same_create_twice_succeeds_twice_with_the_same_result() {
    let (stack, _aws) = Stack::on_emulator("repeat-create").await;
    let emulator = Emulator::connect().await;
    let event = stack.event(
        "Create",
        None,
        json!({"EndpointName": "esd-repeat-create"}),
        None,
    );
    let (first, second) = send_twice(&stack, event).await;
    assert_success(&first);
    assert_success(&second);
    assert_eq!(first["PhysicalResourceId"], second["PhysicalResourceId"]);
    let id = first["PhysicalResourceId"].as_str().unwrap();
    assert_eq!(emulator.policies(id).await.len(), 2);
    let alarm = emulator
        .alarm("esd-repeat-create-AllTraffic-HasBacklogWithoutCapacity")
        .await
        .unwrap();
    assert_eq!(
        alarm.alarm_actions(),
        [second["Data"]["StepScalingPolicyArn"].as_str().unwrap()]
    );
}

#[tokio::test]
async fn the_same_update_twice_succeeds_twice() {
    let (stack, _aws) = Stack::on_emulator("repeat-update").await;
    let emulator = Emulator::connect().await;
    let old = json!({"EndpointName": "esd-repeat-update"});
    let id = stack.create(old.clone()).await["PhysicalResourceId"]
        .as_str()
        .unwrap()
        .to_owned();
    let new =
        json!({"EndpointName": "esd-repeat-update", "ScaleFromZero": "false", "MaxCapacity": "3"});

    let event = stack.event("Update", Some(&id), new, Some(old));
    let (first, second) = send_twice(&stack, event).await;
    assert_success(&first);
    assert_success(&second);
    assert_eq!(emulator.policy_names(&id).await, ["CPUUtil-ScalingPolicy"]);
    assert_eq!(emulator.target(&id).await.unwrap().max_capacity(), 3);
}

#[tokio::test]
async fn the_same_replacement_update_twice_succeeds_twice() {
    let (stack, _aws) = Stack::on_emulator("repeat-replace").await;
    let old = json!({"EndpointName": "esd-repeat-replace-a"});
    let id = stack.create(old.clone()).await["PhysicalResourceId"]
        .as_str()
        .unwrap()
        .to_owned();
    let event = stack.event(
        "Update",
        Some(&id),
        json!({"EndpointName": "esd-repeat-replace-b"}),
        Some(old),
    );
    let (first, second) = send_twice(&stack, event).await;
    assert_success(&first);
    assert_success(&second);
    assert_eq!(
        second["PhysicalResourceId"],
        "endpoint/esd-repeat-replace-b/variant/AllTraffic"
    );
}

#[tokio::test]
async fn the_same_delete_twice_succeeds_twice() {
    let (stack, _aws) = Stack::on_emulator("repeat-delete").await;
    let props = json!({"EndpointName": "esd-repeat-delete"});
    let id = stack.create(props.clone()).await["PhysicalResourceId"]
        .as_str()
        .unwrap()
        .to_owned();
    let event = stack.event("Delete", Some(&id), props, None);
    let (first, second) = send_twice(&stack, event).await;
    assert_success(&first);
    assert_success(&second);
    Emulator::connect()
        .await
        .assert_nothing_left(
            &id,
            "esd-repeat-delete-AllTraffic-HasBacklogWithoutCapacity",
        )
        .await;
}
