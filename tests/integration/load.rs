//! Under load: throttling is retried for as long as the operation's time allows, with jittered
//! backoff, and a call still throttled when the time is up fails before the deadline, saying
//! how long it tried.

use crate::support::aws::Aws;
use crate::support::{Emulator, Stack, answer_path, assert_failed, assert_success, in_seconds};
use futures_util::future::join_all;
use serde_json::json;
use std::time::SystemTime;

const LIFECYCLES: usize = 16;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_lifecycles_with_30_percent_of_calls_throttled_all_succeed() {
    let aws = Aws::start().await;
    aws.throttle_randomly(0.3);
    let emulator = Emulator::connect().await;
    let clients = aws.clients().await;
    let mut stacks = Vec::new();
    for n in 0..LIFECYCLES {
        stacks.push(Stack::new(clients.clone(), &format!("burst-{n}")).await);
    }

    let lifecycles = stacks.iter().enumerate().map(|(n, stack)| {
        let emulator = &emulator;
        async move {
            let endpoint = format!("esd-burst-{n}");
            let props = json!({"EndpointName": endpoint, "VariantName": "prod", "MaxCapacity": 3});
            let created = stack.create(props.clone()).await;
            assert_success(&created);
            let id = created["PhysicalResourceId"].as_str().unwrap().to_owned();
            let target = emulator.target(&id).await.expect("target registered");
            assert_eq!((target.min_capacity(), target.max_capacity()), (0, 3));
            let policies = emulator.policies(&id).await;
            let alarm_name = format!("{endpoint}-prod-HasBacklogWithoutCapacity");
            let alarm = emulator.alarm(&alarm_name).await.expect("alarm created");
            assert_eq!(
                policies.iter().map(|p| p.policy_name()).collect::<Vec<_>>(),
                [
                    "CPUUtil-ScalingPolicy",
                    "HasBacklogWithoutCapacity-ScalingPolicy"
                ]
            );
            assert_eq!(alarm.alarm_actions(), [policies[1].policy_arn()]);

            assert_success(&stack.delete(&id, props).await);
            emulator.assert_nothing_left(&id, &alarm_name).await;
        }
    });
    join_all(lifecycles).await;
    let throttled = aws.calls().len();
    assert!(
        throttled > LIFECYCLES * 10,
        "the burst made {throttled} calls"
    );
}

#[tokio::test]
async fn a_call_still_throttled_when_the_time_is_up_fails_before_the_deadline_saying_how_long_it_tried()
 {
    let (stack, aws) = Stack::on_emulator("throttled-out").await;
    aws.throttle("DescribeScalableTargets", 1000);
    let event = stack.event(
        "Create",
        None,
        json!({"EndpointName": "esd-throttled-out"}),
        None,
    );
    let path = answer_path(&event);

    let deadline = in_seconds(14);
    stack.invoke(event, deadline).await.unwrap();
    assert!(SystemTime::now() < deadline, "answered after the deadline");
    let answer = stack.answer_at(&path);
    assert_failed(
        &answer,
        &[
            "DescribeScalableTargets failed: ThrottlingException: Rate exceeded (still failing after",
            "when the operation's time was up)",
        ],
    );
    let reason = answer["Reason"].as_str().unwrap();
    let seconds: f64 = reason
        .split(" attempts over ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no duration in {reason:?}"));
    // 14 s less the 6 s kept for cleanup and the answer leaves 8 s; the last second is not
    // started into.
    assert!((5.0..8.0).contains(&seconds), "tried for {seconds} s");
    let attempts = aws
        .operations()
        .iter()
        .filter(|o| *o == "DescribeScalableTargets")
        .count();
    assert!(attempts >= 4, "only {attempts} attempts");
}
