//! Two writers at once. Lambda delivers an asynchronous invocation at least once, so one Create
//! can run twice at the same moment; two stacks can claim one variant at once. Here two
//! function processes (the built binary, each under a Runtime API stand-in of its own, as two
//! Lambda instances would run) get their events at the same moment, against the AWS-like
//! emulator with every call slowed so that both requests read before either writes. Each
//! scenario runs several rounds and reads AWS back after every step.

use crate::support::aws::{Aws, Mode};
use crate::support::runtime_api::{Function, Outcome, RuntimeApi};
use crate::support::{Emulator, Stack, answer_path, assert_success};
use serde_json::{Value, json};
use std::time::Duration;

const FUNCTION: &str = env!("CARGO_BIN_EXE_sagemaker-async-autoscaling");
/// Every AWS call waits this long: far more than the two processes' start apart, so that both
/// requests' reads are answered before either's first write arrives.
const AWS_DELAY: Duration = Duration::from_millis(200);
const ROUNDS: usize = 4;

/// Two Lambda instances of the function on one (AWS-like, slowed) AWS.
struct TwoInstances {
    aws: Aws,
    runtimes: [RuntimeApi; 2],
    _functions: [Function; 2],
    /// Events handed to each instance so far.
    handed_out: [usize; 2],
}

impl TwoInstances {
    async fn start() -> TwoInstances {
        let aws = Aws::start_in(Mode::AwsLike).await;
        aws.delay_every_call(AWS_DELAY);
        let runtimes = [
            RuntimeApi::start(Duration::from_secs(60)).await,
            RuntimeApi::start(Duration::from_secs(60)).await,
        ];
        let url = aws.url();
        let env = [("AWS_ENDPOINT_URL", url.as_str())];
        let functions = [
            Function::spawn(FUNCTION, &runtimes[0], &env),
            Function::spawn(FUNCTION, &runtimes[1], &env),
        ];
        // Both ready for work, so that neither starts late by its init.
        let ready = tokio::time::Instant::now() + Duration::from_secs(30);
        while runtimes.iter().any(|r| r.first_poll().is_none()) {
            assert!(
                tokio::time::Instant::now() < ready,
                "the functions did not start"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        TwoInstances {
            aws,
            runtimes,
            _functions: functions,
            handed_out: [0, 0],
        }
    }

    /// Hands one event to each instance at the same moment and waits until both have answered.
    async fn at_once(&mut self, first: Value, second: Value) {
        self.apart(first, second, Duration::ZERO).await
    }

    /// Hands the second event `by` after the first, and waits until both have answered.
    async fn apart(&mut self, first: Value, second: Value, by: Duration) {
        self.aws.clear_calls();
        self.runtimes[0].push(first);
        tokio::time::sleep(by).await;
        self.runtimes[1].push(second);
        self.handed_out = self.handed_out.map(|n| n + 1);
        self.wait(0).await;
        self.wait(1).await;
    }

    /// Hands an event to one instance alone and waits until it has answered.
    async fn one(&mut self, instance: usize, event: Value) {
        self.runtimes[instance].push(event);
        self.handed_out[instance] += 1;
        self.wait(instance).await;
    }

    async fn wait(&self, instance: usize) {
        let outcomes = self.runtimes[instance]
            .wait_for(self.handed_out[instance], Duration::from_secs(60))
            .await;
        let last = outcomes.last().unwrap();
        assert!(
            matches!(last, Outcome::Response(_)),
            "the invocation failed: {last:?}"
        );
    }

    /// Both requests read AWS before either wrote: AWS answered each one's first `read` before
    /// it carried out the first `write`. The race this module is about did happen.
    fn assert_both_read_before_either_wrote(&self, read: &str, write: &str) {
        let mut calls = self.aws.calls();
        calls.sort_by_key(|c| c.served);
        let served = |operation: &str| -> Vec<std::time::Instant> {
            let calls = calls.iter().filter(|c| c.operation == operation);
            calls.map(|c| c.served).collect()
        };
        let (reads, writes) = (served(read), served(write));
        let origin = calls.first().map(|c| c.started).unwrap();
        let timeline: Vec<_> = calls
            .iter()
            .map(|c| {
                let ms = |t: std::time::Instant| (t - origin).as_millis();
                let (started, served, ended) = (ms(c.started), ms(c.served), ms(c.ended));
                format!("{} {started}..{served}..{ended} ms", c.operation)
            })
            .collect();
        assert!(
            reads.len() >= 2 && !writes.is_empty() && reads[1] < writes[0],
            "{write} was carried out before both requests had read ({read}), no race: \
             {timeline:#?}"
        );
    }
}

fn properties(endpoint: &str, variant: &str) -> Value {
    json!({"EndpointName": endpoint, "VariantName": variant, "MaxCapacity": 3})
}

fn status(answer: &Value) -> &str {
    answer["Status"].as_str().unwrap()
}

/// The variant's whole setup stands and is `stack`'s: its target (with `stack`'s tags and the
/// capacity asked), both policies, and the alarm, which fires the step policy that exists.
async fn assert_whole(emulator: &Emulator, stack: &Stack, resource_id: &str, alarm_name: &str) {
    let target = emulator.target(resource_id).await;
    let target = target.unwrap_or_else(|| panic!("no target for {resource_id}"));
    assert_eq!((target.min_capacity(), target.max_capacity()), (0, 3));
    let tags = emulator.target_tags(resource_id).await;
    assert_eq!(
        tags["sagemaker-async-autoscaling:stack-id"], stack.stack_id,
        "the target is not {}'s",
        stack.stack_id
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
    let alarm = emulator.alarm(alarm_name).await;
    let alarm = alarm.unwrap_or_else(|| panic!("no alarm {alarm_name}"));
    assert_eq!(
        alarm.alarm_actions(),
        [policies[1].policy_arn()],
        "the alarm does not fire the step policy of {resource_id}"
    );
    let alarm_tags = emulator.alarm_tags(alarm_name).await;
    assert_eq!(
        alarm_tags["sagemaker-async-autoscaling:stack-id"],
        stack.stack_id
    );
}

#[tokio::test]
async fn the_same_create_delivered_twice_at_once_leaves_the_setup_whole() {
    let mut instances = TwoInstances::start().await;
    let stack = Stack::new(instances.aws.clients().await, "race-duplicate").await;
    let emulator = Emulator::connect().await;
    for round in 0..ROUNDS {
        let endpoint = format!("esd-race-duplicate-{round}");
        let resource_id = format!("endpoint/{endpoint}/variant/prod");
        let alarm_name = format!("{endpoint}-prod-HasBacklogWithoutCapacity");
        let props = properties(&endpoint, "prod");
        let create = stack.event("Create", None, props.clone(), None);
        let path = answer_path(&create);

        instances.at_once(create.clone(), create).await;
        instances.assert_both_read_before_either_wrote(
            "DescribeScalableTargets",
            "RegisterScalableTarget",
        );
        let answers = stack.answers_at(&path);
        assert_eq!(answers.len(), 2, "round {round}: {answers:#?}");
        assert!(
            answers.iter().any(|a| status(a) == "SUCCESS"),
            "round {round}: {answers:#?}"
        );
        for answer in &answers {
            let reason = answer["Reason"].as_str().unwrap_or_default();
            assert!(
                status(answer) == "SUCCESS" || !reason.contains("Removed"),
                "round {round}: a FAILED answer removed something: {reason}"
            );
            if status(answer) == "SUCCESS" {
                assert_eq!(answer["PhysicalResourceId"], resource_id.as_str());
            }
        }
        assert_whole(&emulator, &stack, &resource_id, &alarm_name).await;

        let delete = stack.event("Delete", Some(&resource_id), props, None);
        let delete_path = answer_path(&delete);
        instances.one(round % 2, delete).await;
        assert_success(&stack.answer_at(&delete_path));
        emulator
            .assert_nothing_left(&resource_id, &alarm_name)
            .await;
    }
}

#[tokio::test]
async fn two_stacks_creating_one_variant_at_once_leave_the_winners_setup_whole() {
    let mut instances = TwoInstances::start().await;
    let stacks = [
        Stack::new(instances.aws.clients().await, "race-stack-one").await,
        Stack::new(instances.aws.clients().await, "race-stack-two").await,
    ];
    let emulator = Emulator::connect().await;
    for round in 0..ROUNDS {
        let endpoint = format!("esd-race-stacks-{round}");
        let resource_id = format!("endpoint/{endpoint}/variant/prod");
        let alarm_name = format!("{endpoint}-prod-HasBacklogWithoutCapacity");
        let props = properties(&endpoint, "prod");
        let creates = [0, 1].map(|i| stacks[i].event("Create", None, props.clone(), None));
        let paths = creates.clone().map(|e| answer_path(&e));

        let [first, second] = creates;
        instances.at_once(first, second).await;
        instances.assert_both_read_before_either_wrote(
            "DescribeScalableTargets",
            "RegisterScalableTarget",
        );
        let answers = [0, 1].map(|i| stacks[i].answer_at(&paths[i]));
        let statuses = answers.clone().map(|a| status(&a).to_owned());
        let winner = match (statuses[0].as_str(), statuses[1].as_str()) {
            ("SUCCESS", "FAILED") => 0,
            ("FAILED", "SUCCESS") => 1,
            _ => panic!("round {round}: not one SUCCESS and one FAILED: {answers:#?}"),
        };
        let loser = 1 - winner;
        let reason = answers[loser]["Reason"].as_str().unwrap();
        assert!(
            reason.contains(&format!(
                "resource EndpointAutoScaling of stack {} manages it",
                stacks[winner].stack_id
            )),
            "round {round}: the Reason does not name the winner: {reason}"
        );
        assert!(
            !reason.contains("Removed"),
            "round {round}: the loser removed something: {reason}"
        );
        assert_whole(&emulator, &stacks[winner], &resource_id, &alarm_name).await;

        // CloudFormation rolls the loser's Create back with a Delete of the id it answered.
        let failed_id = answers[loser]["PhysicalResourceId"].as_str().unwrap();
        assert!(failed_id.starts_with("create-failed/"), "{failed_id}");
        let rollback = stacks[loser].event("Delete", Some(failed_id), props.clone(), None);
        let rollback_path = answer_path(&rollback);
        instances.one(loser, rollback).await;
        assert_success(&stacks[loser].answer_at(&rollback_path));
        assert_whole(&emulator, &stacks[winner], &resource_id, &alarm_name).await;

        let delete = stacks[winner].event("Delete", Some(&resource_id), props, None);
        let delete_path = answer_path(&delete);
        instances.one(winner, delete).await;
        assert_success(&stacks[winner].answer_at(&delete_path));
        emulator
            .assert_nothing_left(&resource_id, &alarm_name)
            .await;
    }
}

#[tokio::test]
async fn two_stacks_creating_one_alarm_name_at_once_leave_the_winners_alarm_whole() {
    let mut instances = TwoInstances::start().await;
    let stacks = [
        Stack::new(instances.aws.clients().await, "race-alarm-one").await,
        Stack::new(instances.aws.clients().await, "race-alarm-two").await,
    ];
    let emulator = Emulator::connect().await;
    for round in 0..ROUNDS {
        // Two variants, so both targets are registered; one explicit AlarmName for both.
        let endpoint = format!("esd-race-alarm-{round}");
        let alarm_name = format!("{endpoint}-shared-alarm");
        let variants = ["blue", "green"];
        let props = variants.map(|variant| {
            let mut props = properties(&endpoint, variant);
            props["AlarmName"] = alarm_name.clone().into();
            props
        });
        let resource_ids = variants.map(|v| format!("endpoint/{endpoint}/variant/{v}"));
        let creates = [0, 1].map(|i| stacks[i].event("Create", None, props[i].clone(), None));
        let paths = creates.clone().map(|e| answer_path(&e));

        // In step, both put the alarm at once; a stage apart, the second request reads before
        // the first puts, and puts after the first has checked what it put.
        let [first, second] = creates;
        let apart = match round % 2 {
            0 => Duration::ZERO,
            _ => AWS_DELAY + AWS_DELAY / 4,
        };
        instances.apart(first, second, apart).await;
        instances.assert_both_read_before_either_wrote("DescribeAlarms", "PutMetricAlarm");
        let answers = [0, 1].map(|i| stacks[i].answer_at(&paths[i]));
        let statuses = answers.clone().map(|a| status(&a).to_owned());
        let winner = match (statuses[0].as_str(), statuses[1].as_str()) {
            ("SUCCESS", "FAILED") => 0,
            ("FAILED", "SUCCESS") => 1,
            _ => panic!("round {round}: not one SUCCESS and one FAILED: {answers:#?}"),
        };
        let loser = 1 - winner;
        let reason = answers[loser]["Reason"].as_str().unwrap();
        assert!(
            reason.contains(&format!(
                "An alarm named {alarm_name} already exists and resource EndpointAutoScaling \
                 of stack {} manages it",
                stacks[winner].stack_id
            )),
            "round {round}: the Reason does not name the winner: {reason}"
        );
        // The loser removes the target it registered itself, and nothing of the winner's.
        assert!(
            reason.contains(&format!(
                "Removed what this request had set up for {}",
                resource_ids[loser]
            )),
            "round {round}: {reason}"
        );
        assert!(emulator.target(&resource_ids[loser]).await.is_none());
        assert_whole(
            &emulator,
            &stacks[winner],
            &resource_ids[winner],
            &alarm_name,
        )
        .await;

        let failed_id = answers[loser]["PhysicalResourceId"].as_str().unwrap();
        let rollback = stacks[loser].event("Delete", Some(failed_id), props[loser].clone(), None);
        let rollback_path = answer_path(&rollback);
        instances.one(loser, rollback).await;
        assert_success(&stacks[loser].answer_at(&rollback_path));
        assert_whole(
            &emulator,
            &stacks[winner],
            &resource_ids[winner],
            &alarm_name,
        )
        .await;

        let delete = stacks[winner].event(
            "Delete",
            Some(&resource_ids[winner]),
            props[winner].clone(),
            None,
        );
        let delete_path = answer_path(&delete);
        instances.one(winner, delete).await;
        assert_success(&stacks[winner].answer_at(&delete_path));
        emulator
            .assert_nothing_left(&resource_ids[winner], &alarm_name)
            .await;
    }
}
