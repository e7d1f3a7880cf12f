//! Two writers at once. Lambda delivers an asynchronous invocation at least once, so one Create
//! can run twice at the same moment; two stacks can claim one variant, or one inference
//! component, at once. Here two function processes (the built binary, each under a Runtime API
//! stand-in of its own, as two Lambda instances would run) get their events at the same moment,
//! against the AWS-like emulator (one proxy each, in front of the one moto) with every call
//! slowed so that both requests read before either writes; each round checks that they did.
//! Each scenario runs several rounds and reads AWS back after every step. The duplicate Create
//! and the two stacks' Creates alternate their rounds between a variant and a component.

use crate::support::aws::Aws;
use crate::support::runtime_api::{Function, Outcome, RuntimeApi};
use crate::support::{
    Emulator, Stack, alarm_dimensions, answer_path, assert_success, dimension_of,
};
use serde_json::{Value, json};
use std::time::Duration;

const FUNCTION: &str = env!("CARGO_BIN_EXE_sagemaker-async-autoscaling");
/// Every AWS call waits this long: far more than the two processes start apart, so that both
/// requests' reads are answered before either's first write is carried out.
const AWS_DELAY: Duration = Duration::from_millis(200);
/// A multiple of 4: each kind takes half the rounds, and each instance deletes each kind's
/// setup in half of those.
const ROUNDS: usize = 8;

/// Two Lambda instances of the function on one (AWS-like, slowed) AWS, each reaching it
/// through a proxy of its own, which tells their calls apart.
struct TwoInstances {
    aws: [Aws; 2],
    runtimes: [RuntimeApi; 2],
    _functions: [Function; 2],
    /// Events handed to each instance so far.
    handed_out: [usize; 2],
}

impl TwoInstances {
    async fn start() -> TwoInstances {
        let aws = [Aws::start().await, Aws::start().await];
        let runtimes = [
            RuntimeApi::start(Duration::from_secs(60)).await,
            RuntimeApi::start(Duration::from_secs(60)).await,
        ];
        let functions = [0, 1].map(|i| {
            aws[i].delay_every_call(AWS_DELAY);
            let url = aws[i].url();
            Function::spawn(FUNCTION, &runtimes[i], &[("AWS_ENDPOINT_URL", &url)])
        });
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
        self.aws.iter().for_each(Aws::clear_calls);
        self.runtimes[0].push(first);
        tokio::time::sleep(by).await;
        self.runtimes[1].push(second);
        self.handed_out = self.handed_out.map(|n| n + 1);
        self.wait(0).await;
        self.wait(1).await;
    }

    /// Sends `stack`'s Delete of `physical_id` to one instance alone and answers what
    /// CloudFormation received.
    async fn delete(
        &mut self,
        instance: usize,
        stack: &Stack,
        physical_id: &str,
        props: &Value,
    ) -> Value {
        let event = stack.event("Delete", Some(physical_id), props.clone(), None);
        let path = answer_path(&event);
        self.runtimes[instance].push(event);
        self.handed_out[instance] += 1;
        self.wait(instance).await;
        stack.answer_at(&path)
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
    /// it carried out the other's first `write`. The race this module is about did happen.
    fn assert_both_read_before_either_wrote(&self, read: &str, write: &str) {
        let served = |instance: usize, operation: &str| {
            let calls = self.aws[instance].calls();
            let of = calls.iter().filter(|c| c.operation == operation);
            of.map(|c| c.served).min()
        };
        let wrote = [0, 1].map(|i| served(i, write));
        assert!(wrote.iter().any(Option::is_some), "neither request wrote");
        for (reader, writer) in [(0, 1), (1, 0)] {
            let Some(written) = wrote[writer] else {
                continue;
            };
            let read_at = served(reader, read).expect("a read");
            assert!(
                read_at < written,
                "instance {writer}'s {write} was carried out before instance {reader}'s {read}: \
                 no race ({:?} vs {:?})",
                self.aws[reader].operations(),
                self.aws[writer].operations()
            );
        }
    }
}

fn properties(endpoint: &str, variant: &str) -> Value {
    json!({"EndpointName": endpoint, "VariantName": variant, "MaxCapacity": 3})
}

const VARIANT_POLICIES: [&str; 2] = [
    "CPUUtil-ScalingPolicy",
    "HasBacklogWithoutCapacity-ScalingPolicy",
];

fn variant_alarm_metric(endpoint: &str) -> (&'static str, (&'static str, String)) {
    let dimension = ("EndpointName", endpoint.to_owned());
    ("HasBacklogWithoutCapacity", dimension)
}

/// What one round scales: a variant in even rounds, an inference component in odd ones. The
/// two kinds share the race handling; each has its own ids and names.
struct Scaled {
    props: Value,
    resource_id: String,
    alarm_name: String,
    /// What the alarm watches: its metric, and its one dimension.
    alarm_metric: (&'static str, (&'static str, String)),
    /// Its policies' names, sorted: the target-tracking one, then the step one.
    policies: [&'static str; 2],
}

fn scaled_in_round(name: &str, round: usize) -> Scaled {
    if round.is_multiple_of(2) {
        Scaled {
            props: properties(name, "prod"),
            resource_id: format!("endpoint/{name}/variant/prod"),
            alarm_name: format!("{name}-prod-HasBacklogWithoutCapacity"),
            alarm_metric: variant_alarm_metric(name),
            policies: VARIANT_POLICIES,
        }
    } else {
        Scaled {
            props: json!({"InferenceComponentName": name, "MaxCapacity": 3}),
            resource_id: format!("inference-component/{name}"),
            alarm_name: format!("{name}-NoCapacityInvocationFailures"),
            alarm_metric: (
                "NoCapacityInvocationFailures",
                ("InferenceComponentName", name.to_owned()),
            ),
            policies: [
                "InvocationsPerCopy-ScalingPolicy",
                "NoCapacityInvocationFailures-ScalingPolicy",
            ],
        }
    }
}

fn status(answer: &Value) -> &str {
    answer["Status"].as_str().unwrap()
}

/// Which of two answers is the one SUCCESS, and which the one FAILED: (winner, loser).
fn winner_and_loser(answers: &[Value; 2], round: usize) -> (usize, usize) {
    match (status(&answers[0]), status(&answers[1])) {
        ("SUCCESS", "FAILED") => (0, 1),
        ("FAILED", "SUCCESS") => (1, 0),
        _ => panic!("round {round}: not one SUCCESS and one FAILED: {answers:#?}"),
    }
}

/// The whole setup stands and is `stack`'s: its target (with `stack`'s tags and the capacity
/// asked), both policies, and the alarm, which fires the step policy that exists.
async fn assert_whole(emulator: &Emulator, stack: &Stack, scaled: &Scaled) {
    let (resource_id, alarm_name) = (scaled.resource_id.as_str(), scaled.alarm_name.as_str());
    let target = emulator.target(resource_id).await;
    let target = target.unwrap_or_else(|| panic!("no target for {resource_id}"));
    assert_eq!(target.scalable_dimension(), &dimension_of(resource_id));
    assert_eq!((target.min_capacity(), target.max_capacity()), (0, 3));
    let tags = emulator.target_tags(resource_id).await;
    assert_eq!(
        tags["sagemaker-async-autoscaling:stack-id"], stack.stack_id,
        "the target is not {}'s",
        stack.stack_id
    );
    let policies = emulator.policies(resource_id).await;
    let names: Vec<_> = policies.iter().map(|p| p.policy_name()).collect();
    assert_eq!(names, scaled.policies);
    let alarm = emulator.alarm(alarm_name).await;
    let alarm = alarm.unwrap_or_else(|| panic!("no alarm {alarm_name}"));
    let (metric, (dimension, value)) = &scaled.alarm_metric;
    assert_eq!(alarm.metric_name(), Some(*metric));
    assert_eq!(alarm_dimensions(&alarm), [(*dimension, value.as_str())]);
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
    let stack = Stack::new(instances.aws[0].clients().await, "race-duplicate").await;
    let emulator = Emulator::connect().await;
    for round in 0..ROUNDS {
        let scaled = scaled_in_round(&format!("esd-race-duplicate-{round}"), round);
        let (resource_id, props) = (&scaled.resource_id, &scaled.props);
        let create = stack.event("Create", None, props.clone(), None);
        let path = answer_path(&create);

        instances.at_once(create.clone(), create).await;
        instances.assert_both_read_before_either_wrote(
            "DescribeScalableTargets",
            "RegisterScalableTarget",
        );
        let answers = stack.answers_at(&path);
        assert_eq!(answers.len(), 2, "round {round}: {answers:#?}");
        for answer in &answers {
            assert_success(answer);
            assert_eq!(answer["PhysicalResourceId"], resource_id.as_str());
            assert_eq!(answer["Data"], answers[0]["Data"], "round {round}");
        }
        let stood_down = answers.iter().filter(|a| {
            let reason = a["Reason"].as_str().unwrap();
            reason.contains("found the scalable target registered by another copy of this request")
        });
        assert_eq!(stood_down.count(), 1, "round {round}: {answers:#?}");
        assert_whole(&emulator, &stack, &scaled).await;

        // Instances 0, 0, 1, 1, ...: each deletes a variant's and a component's setup.
        let deleted = instances
            .delete(round / 2 % 2, &stack, resource_id, props)
            .await;
        assert_success(&deleted);
        emulator
            .assert_nothing_left(resource_id, &scaled.alarm_name)
            .await;
    }
}

#[tokio::test]
async fn two_stacks_creating_one_variant_or_component_at_once_leave_the_winners_setup_whole() {
    let mut instances = TwoInstances::start().await;
    let stacks = [
        Stack::new(instances.aws[0].clients().await, "race-stack-one").await,
        Stack::new(instances.aws[0].clients().await, "race-stack-two").await,
    ];
    let emulator = Emulator::connect().await;
    for round in 0..ROUNDS {
        let scaled = scaled_in_round(&format!("esd-race-stacks-{round}"), round);
        let (resource_id, props) = (&scaled.resource_id, &scaled.props);
        let creates = [0, 1].map(|i| stacks[i].event("Create", None, props.clone(), None));
        let paths = creates.clone().map(|e| answer_path(&e));

        let [first, second] = creates;
        instances.at_once(first, second).await;
        instances.assert_both_read_before_either_wrote(
            "DescribeScalableTargets",
            "RegisterScalableTarget",
        );
        let answers = [0, 1].map(|i| stacks[i].answer_at(&paths[i]));
        let (winner, loser) = winner_and_loser(&answers, round);
        let reason = answers[loser]["Reason"].as_str().unwrap();
        assert!(
            reason.contains(&format!(
                "resource EndpointAutoScaling of stack {} manages it",
                stacks[winner].stack_id
            )),
            "round {round}: the Reason does not name the winner: {reason}"
        );
        assert!(
            !reason.to_lowercase().contains("remov"),
            "round {round}: the loser removed something: {reason}"
        );
        assert_whole(&emulator, &stacks[winner], &scaled).await;

        // CloudFormation rolls the loser's Create back with a Delete of the id it answered.
        let failed_id = answers[loser]["PhysicalResourceId"].as_str().unwrap();
        assert!(failed_id.starts_with("create-failed/"), "{failed_id}");
        let rolled_back = instances
            .delete(loser, &stacks[loser], failed_id, props)
            .await;
        assert_success(&rolled_back);
        assert_whole(&emulator, &stacks[winner], &scaled).await;

        let deleted = instances
            .delete(winner, &stacks[winner], resource_id, props)
            .await;
        assert_success(&deleted);
        emulator
            .assert_nothing_left(resource_id, &scaled.alarm_name)
            .await;
    }
}

#[tokio::test]
async fn two_stacks_creating_one_alarm_name_at_once_leave_the_winners_alarm_whole() {
    let mut instances = TwoInstances::start().await;
    let stacks = [
        Stack::new(instances.aws[0].clients().await, "race-alarm-one").await,
        Stack::new(instances.aws[0].clients().await, "race-alarm-two").await,
    ];
    let emulator = Emulator::connect().await;
    for round in 0..ROUNDS {
        // Two variants, so both targets are registered; one explicit AlarmName for both.
        let endpoint = format!("esd-race-alarm-{round}");
        let alarm_name = format!("{endpoint}-shared-alarm");
        let scaled = ["blue", "green"].map(|variant| {
            let mut props = properties(&endpoint, variant);
            props["AlarmName"] = alarm_name.clone().into();
            Scaled {
                props,
                resource_id: format!("endpoint/{endpoint}/variant/{variant}"),
                alarm_name: alarm_name.clone(),
                alarm_metric: variant_alarm_metric(&endpoint),
                policies: VARIANT_POLICIES,
            }
        });
        let creates =
            [0, 1].map(|i| stacks[i].event("Create", None, scaled[i].props.clone(), None));
        let paths = creates.clone().map(|e| answer_path(&e));

        // In step, both put the alarm at once: the second put replaces the first's definition,
        // the tags read back name the creator, and the creator puts its definition back. Two
        // calls apart, the second request first reads before the first puts, and looks again
        // (beside its policies) after the first has put: it is refused before it writes.
        let [first, second] = creates;
        let apart = match round % 2 {
            0 => Duration::ZERO,
            _ => AWS_DELAY * 2,
        };
        instances.apart(first, second, apart).await;
        instances.assert_both_read_before_either_wrote("DescribeAlarms", "PutMetricAlarm");
        let answers = [0, 1].map(|i| stacks[i].answer_at(&paths[i]));
        let (winner, loser) = winner_and_loser(&answers, round);
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
                scaled[loser].resource_id
            )),
            "round {round}: {reason}"
        );
        assert!(emulator.target(&scaled[loser].resource_id).await.is_none());
        assert_whole(&emulator, &stacks[winner], &scaled[winner]).await;

        let failed_id = answers[loser]["PhysicalResourceId"].as_str().unwrap();
        let rolled_back = instances
            .delete(loser, &stacks[loser], failed_id, &scaled[loser].props)
            .await;
        assert_success(&rolled_back);
        assert_whole(&emulator, &stacks[winner], &scaled[winner]).await;

        let (winners, won) = (&stacks[winner], &scaled[winner]);
        let deleted = instances
            .delete(winner, winners, &won.resource_id, &won.props)
            .await;
        assert_success(&deleted);
        emulator
            .assert_nothing_left(&won.resource_id, &alarm_name)
            .await;
    }
}
