//! The guard: an endpoint update that changes a registered variant's instance type, or removes
//! it, goes through as an ordinary stack update, and every sequence CloudFormation can run
//! ends with the variant's scaling as it was or as the new template says. Each sequence is
//! driven in CloudFormation's order and the state is checked after every step.

use crate::support::cloudformation::{
    CfnStack, Kind, SageMaker, Template, VariantState, Watched, resource, state_change_event,
};
use crate::support::{Fixture, assert_failed, assert_success};
use serde_json::{Value, json};

/// One test's endpoint: two models and three configurations (`a`: ml.g4dn.xlarge, `b`:
/// ml.g4dn.2xlarge, `a2`: ml.g4dn.xlarge with the other model), each with variants `v` and `w`
/// unless said otherwise.
struct World {
    endpoint: String,
    sagemaker: SageMaker,
}

impl World {
    async fn new(fixture: &Fixture, label: &str) -> World {
        let endpoint = fixture.endpoint(label);
        let sagemaker = SageMaker::connect().await;
        let (m1, m2) = (format!("{endpoint}-m1"), format!("{endpoint}-m2"));
        sagemaker.model(&m1).await;
        sagemaker.model(&m2).await;
        let config = |variants: &[(&str, &str, &str)]| {
            variants
                .iter()
                .map(|(v, m, t)| (v.to_string(), m.to_string(), t.to_string()))
                .collect::<Vec<_>>()
        };
        let configs = [
            (
                "a",
                config(&[("v", &m1, "ml.g4dn.xlarge"), ("w", &m1, "ml.m5.large")]),
            ),
            (
                "b",
                config(&[("v", &m1, "ml.g4dn.2xlarge"), ("w", &m1, "ml.m5.xlarge")]),
            ),
            (
                "a2",
                config(&[("v", &m2, "ml.g4dn.xlarge"), ("w", &m2, "ml.m5.large")]),
            ),
            ("b1", config(&[("v", &m1, "ml.g4dn.2xlarge")])),
        ];
        for (suffix, variants) in &configs {
            let variants: Vec<(&str, &str, &str)> = variants
                .iter()
                .map(|(v, m, t)| (v.as_str(), m.as_str(), t.as_str()))
                .collect();
            sagemaker
                .config(&format!("{endpoint}-{suffix}"), &variants)
                .await;
        }
        World {
            endpoint,
            sagemaker,
        }
    }

    fn config(&self, suffix: &str) -> String {
        format!("{}-{suffix}", self.endpoint)
    }

    fn watched(&self, variants: &[&str]) -> Vec<Watched> {
        variants
            .iter()
            .map(|v| Watched::new(&self.endpoint, v))
            .collect()
    }

    /// The scaling resource's properties for a variant: `old` and `new` settings differ in
    /// capacity, schedule, suspension and tags.
    fn scaling(&self, variant: &str, config: &str, new: bool) -> Value {
        let (max, schedule, team) = match new {
            false => (2, "cron(0 7 ? * MON-FRI *)", "ml"),
            true => (4, "cron(0 6 ? * MON-FRI *)", "ml-platform"),
        };
        json!({
            "EndpointName": self.endpoint,
            "VariantName": variant,
            "EndpointConfigName": self.config(config),
            "MinCapacity": 0,
            "MaxCapacity": max,
            "TargetMetric": "ApproximateBacklogSizePerInstance",
            "TargetValue": 5,
            "ScheduledActions": [{"ScheduledActionName": "mornings", "Schedule": schedule, "MinCapacity": 1}],
            "SuspendedState": {"ScheduledScalingSuspended": new},
            "Tags": [{"Key": "team", "Value": team}],
        })
    }

    fn guard(&self, config: &str) -> crate::support::cloudformation::Resource {
        resource(
            "Guard",
            Kind::Guard,
            json!({"EndpointName": self.endpoint, "EndpointConfigName": self.config(config)}),
        )
    }

    fn endpoint_resource(&self, config: &str) -> crate::support::cloudformation::Resource {
        resource(
            "Endpoint",
            Kind::Endpoint,
            json!({"EndpointName": self.endpoint, "EndpointConfigName": self.config(config)}),
        )
    }

    /// Guard, endpoint, and a scaling resource for each of `variants`, all on `config`.
    fn template(&self, config: &str, variants: &[&str], new: bool) -> Template {
        let mut resources = vec![self.guard(config), self.endpoint_resource(config)];
        for variant in variants {
            resources.push(resource(
                &format!("Scaling{}", variant.to_uppercase()),
                Kind::Scaling,
                self.scaling(variant, config, new),
            ));
        }
        Template(resources)
    }
}

/// At no step since `from` is a watched variant (by index) without its scaling: it is
/// registered with policies, or its record is kept.
fn assert_never_lost(cfn: &CfnStack<'_>, from: usize, variants: &[usize]) {
    for step in &cfn.steps[from..] {
        for &i in variants {
            let state = &step.variants[i];
            assert!(
                (state.registered() && !state.policies.is_empty()) || state.record,
                "variant {i} has neither a target nor a record after {step}\n{}",
                cfn.describe(from)
            );
        }
    }
}

/// The variant as its scaling resource configures it, with `new` or old settings.
fn assert_configured(state: &VariantState, new: bool, context: &str) {
    let max = if new { 4 } else { 2 };
    assert_eq!(
        state.target.map(|(min, max, s)| (min, max, s[2])),
        Some((0, max, new)),
        "{context}"
    );
    let team = if new { "ml-platform" } else { "ml" };
    assert_eq!(
        state.tags.get("team").map(String::as_str),
        Some(team),
        "{context}"
    );
    assert_eq!(state.policies.len(), 2, "{context}");
    assert_eq!(
        state.alarm_fires.as_deref(),
        Some("HasBacklogWithoutCapacity-ScalingPolicy"),
        "{context}"
    );
    assert_eq!(state.scheduled.len(), 1, "{context}");
    assert!(!state.record, "{context}");
}

#[tokio::test]
async fn an_instance_type_change_goes_through_and_registers_the_new_settings() {
    let fixture =
        Fixture::start("an_instance_type_change_goes_through_and_registers_the_new_settings").await;
    let world = World::new(&fixture, "fwd").await;
    let watched = world.watched(&["v"]);
    let mut cfn =
        CfnStack::create(&fixture.stack, world.template("a", &["v"], false), watched).await;
    assert_configured(&cfn.last().variants[0], false, "after Create");
    let from = cfn.steps.len();

    assert!(
        cfn.update(world.template("b", &["v"], true)).await,
        "{}",
        cfn.describe(from)
    );
    let steps = &cfn.steps[from..];
    let labels: Vec<&str> = steps.iter().map(|s| s.label.as_str()).collect();
    assert_eq!(
        labels,
        ["Guard Update", "Endpoint Update", "ScalingV Update"]
    );
    let (guard, endpoint, scaling) = (&steps[0], &steps[1], &steps[2]);
    assert!(
        !guard.variants[0].registered() && guard.variants[0].record,
        "{guard}"
    );
    assert!(
        guard.reason.contains("ml.g4dn.xlarge -> ml.g4dn.2xlarge"),
        "{}",
        guard.reason
    );
    assert!(
        guard
            .reason
            .contains("/sagemaker-async-autoscaling/records/"),
        "{}",
        guard.reason
    );
    assert_eq!(
        guard.variants[0].alarm_fires.as_deref(),
        Some("<missing>"),
        "{guard}"
    );
    assert!(endpoint.endpoint.starts_with("InService on"), "{endpoint}");
    assert!(endpoint.endpoint.ends_with("-b"), "{endpoint}");
    assert!(!endpoint.variants[0].registered(), "{endpoint}");
    assert_configured(&scaling.variants[0], true, &cfn.describe(from));
    assert_never_lost(&cfn, from, &[0]);
}

#[tokio::test]
async fn a_failed_endpoint_update_puts_the_old_scaling_back_exactly() {
    let fixture =
        Fixture::start("a_failed_endpoint_update_puts_the_old_scaling_back_exactly").await;
    let world = World::new(&fixture, "epfail").await;
    let mut cfn = CfnStack::create(
        &fixture.stack,
        world.template("a", &["v"], false),
        world.watched(&["v"]),
    )
    .await;
    let before = cfn.last().variants[0].clone();
    let from = cfn.steps.len();
    world
        .sagemaker
        .next_update(&world.endpoint, 0.2, true, 0.0)
        .await;

    assert!(!cfn.update(world.template("b", &["v"], true)).await);
    let steps = &cfn.steps[from..];
    let labels: Vec<&str> = steps.iter().map(|s| s.label.as_str()).collect();
    // The scaling resource was never updated: it gets no rollback event.
    assert_eq!(
        labels,
        [
            "Guard Update",
            "Endpoint Update",
            "Guard Update (rollback)",
            "Endpoint Update (rollback)"
        ],
        "{}",
        cfn.describe(from)
    );
    assert!(steps[0].variants[0].record && !steps[0].variants[0].registered());
    assert_eq!(steps[1].status, "UPDATE_FAILED", "{}", steps[1].reason);
    assert!(steps[1].endpoint.ends_with("-a"), "{}", steps[1]);
    assert_eq!(steps[2].variants[0], before, "{}", cfn.describe(from));
    assert!(
        steps[2].reason.starts_with("Restored the auto scaling"),
        "{}",
        steps[2].reason
    );
    assert_eq!(steps[3].variants[0], before, "{}", cfn.describe(from));
    assert_never_lost(&cfn, from, &[0]);
}

#[tokio::test]
async fn a_failed_scaling_update_after_the_endpoint_changed_rolls_back_to_the_old_scaling() {
    let fixture = Fixture::start(
        "a_failed_scaling_update_after_the_endpoint_changed_rolls_back_to_the_old_scaling",
    )
    .await;
    let world = World::new(&fixture, "scfail").await;
    let mut cfn = CfnStack::create(
        &fixture.stack,
        world.template("a", &["v"], false),
        world.watched(&["v"]),
    )
    .await;
    let before = cfn.last().variants[0].clone();
    let from = cfn.steps.len();
    // The scaling resource's Update registers the target and fails at its first policy.
    fixture.aws.fail_after(
        "PutScalingPolicy",
        0,
        1,
        "AccessDeniedException",
        "not allowed",
    );

    assert!(!cfn.update(world.template("b", &["v"], true)).await);
    let steps = &cfn.steps[from..];
    let labels: Vec<&str> = steps.iter().map(|s| s.label.as_str()).collect();
    assert_eq!(
        labels,
        [
            "Guard Update",
            "Endpoint Update",
            "ScalingV Update",
            "Guard Update (rollback)",
            "Endpoint Update (rollback)",
            "ScalingV Update (rollback)"
        ],
        "{}",
        cfn.describe(from)
    );
    assert_eq!(steps[2].status, "FAILED");
    // Registered, half configured: the guard's rollback records and deregisters it again
    // so that the endpoint can go back.
    assert!(steps[2].variants[0].registered(), "{}", steps[2]);
    assert!(
        !steps[3].variants[0].registered() && steps[3].variants[0].record,
        "{}",
        steps[3]
    );
    assert!(steps[4].endpoint.ends_with("-a"), "{}", steps[4]);
    assert_eq!(steps[5].variants[0], before, "{}", cfn.describe(from));
    assert_never_lost(&cfn, from, &[0]);
}

#[tokio::test]
async fn a_later_resource_failing_rolls_the_endpoint_and_its_scaling_back() {
    let fixture =
        Fixture::start("a_later_resource_failing_rolls_the_endpoint_and_its_scaling_back").await;
    let world = World::new(&fixture, "later").await;
    let later = |fail: bool| resource("Later", Kind::Later, json!({"Fail": fail}));
    let mut template = world.template("a", &["v"], false);
    template.0.push(later(false));
    let mut cfn = CfnStack::create(&fixture.stack, template, world.watched(&["v"])).await;
    let before = cfn.last().variants[0].clone();
    let from = cfn.steps.len();

    let mut new = world.template("b", &["v"], true);
    new.0.push(later(true));
    assert!(!cfn.update(new).await);
    let steps = &cfn.steps[from..];
    let labels: Vec<&str> = steps.iter().map(|s| s.label.as_str()).collect();
    assert_eq!(
        labels,
        [
            "Guard Update",
            "Endpoint Update",
            "ScalingV Update",
            "Later Update",
            "Guard Update (rollback)",
            "Endpoint Update (rollback)",
            "ScalingV Update (rollback)",
            "Later Update (rollback)"
        ],
        "{}",
        cfn.describe(from)
    );
    assert_configured(
        &steps[2].variants[0],
        true,
        "after the forward scaling Update",
    );
    assert!(
        !steps[4].variants[0].registered() && steps[4].variants[0].record,
        "{}",
        steps[4]
    );
    assert!(steps[5].endpoint.ends_with("-a"), "{}", steps[5]);
    assert_eq!(steps[6].variants[0], before, "{}", cfn.describe(from));
    assert_eq!(steps[7].variants[0], before);
    assert_never_lost(&cfn, from, &[0]);
}

#[tokio::test]
async fn a_variant_removed_with_its_scaling_resource_leaves_nothing_behind() {
    let fixture =
        Fixture::start("a_variant_removed_with_its_scaling_resource_leaves_nothing_behind").await;
    let world = World::new(&fixture, "rm").await;
    let mut cfn = CfnStack::create(
        &fixture.stack,
        world.template("a", &["v", "w"], false),
        world.watched(&["v", "w"]),
    )
    .await;
    let v_before = cfn.last().variants[0].clone();
    let from = cfn.steps.len();

    assert!(
        cfn.update(world.template("b1", &["v"], false)).await,
        "{}",
        cfn.describe(from)
    );
    let steps = &cfn.steps[from..];
    let labels: Vec<&str> = steps.iter().map(|s| s.label.as_str()).collect();
    assert_eq!(
        labels,
        [
            "Guard Update",
            "Endpoint Update",
            "ScalingV Update",
            "ScalingW Delete (cleanup)"
        ]
    );
    // Both variants stood in the update's way: v changes type, w goes.
    assert!(
        steps[0]
            .variants
            .iter()
            .all(|s| !s.registered() && s.record),
        "{}",
        steps[0]
    );
    assert!(
        steps[0]
            .reason
            .contains("removed from the new configuration"),
        "{}",
        steps[0].reason
    );
    assert_configured(&steps[2].variants[0], false, &cfn.describe(from));
    assert_eq!(steps[2].variants[0], v_before);
    let w = &steps[3].variants[1];
    assert!(
        !w.registered() && w.policies.is_empty() && w.alarm_fires.is_none() && !w.record,
        "{}",
        steps[3]
    );
    assert_never_lost(&cfn, from, &[0]);
    // w until its scaling resource's Delete.
    let until_delete = cfn.steps.len() - 1;
    for step in &cfn.steps[from..until_delete] {
        assert!(
            step.variants[1].registered() || step.variants[1].record,
            "{step}"
        );
    }
}

#[tokio::test]
async fn a_variant_someone_else_registered_stops_the_update_before_any_change() {
    let fixture =
        Fixture::start("a_variant_someone_else_registered_stops_the_update_before_any_change")
            .await;
    let world = World::new(&fixture, "other").await;
    let template = Template(vec![world.guard("a"), world.endpoint_resource("a")]);
    let mut cfn = CfnStack::create(&fixture.stack, template, world.watched(&["v", "w"])).await;
    let (v, w) = (
        format!("endpoint/{}/variant/v", world.endpoint),
        format!("endpoint/{}/variant/w", world.endpoint),
    );
    // v by hand (no tags), w by another stack's scaling resource.
    fixture.emulator.register_target(&v, 0, 3).await;
    let other = fixture.another_stack("someone-elses").await;
    assert_success(
        &other
            .create(json!({"EndpointName": world.endpoint, "VariantName": "w"}))
            .await,
    );
    let from = cfn.steps.len();

    let new = Template(vec![world.guard("b"), world.endpoint_resource("b")]);
    assert!(!cfn.update(new).await);
    let steps = &cfn.steps[from..];
    let labels: Vec<&str> = steps.iter().map(|s| s.label.as_str()).collect();
    assert_eq!(
        labels,
        ["Guard Update", "Guard Update (rollback)"],
        "{}",
        cfn.describe(from)
    );
    let reason = &steps[0].reason;
    assert!(reason.contains(&format!("{v} (instance type ml.g4dn.xlarge -> ml.g4dn.2xlarge) is registered for auto scaling by no CloudFormation resource")), "{reason}");
    assert!(reason.contains(&format!("{w} (instance type ml.m5.large -> ml.m5.xlarge) is registered for auto scaling by the stack {}", other.stack_id)), "{reason}");
    for step in steps {
        assert!(
            step.variants.iter().all(|s| s.registered() && !s.record),
            "{step}"
        );
    }
    assert_eq!(fixture.emulator.target(&v).await.unwrap().max_capacity(), 3);
    assert_eq!(fixture.emulator.policy_names(&w).await.len(), 2);
}

impl World {
    /// Three more configurations of variant `v` on instance pools: `p` (ml.g4dn.xlarge first,
    /// then ml.g4dn.2xlarge), `p-swapped` (the same types, priorities swapped) and `q`
    /// (ml.g4dn.xlarge and ml.m5.xlarge).
    async fn on_pools(&self) {
        let model = format!("{}-m1", self.endpoint);
        for (suffix, pools) in [
            ("p", [("ml.g4dn.xlarge", 1), ("ml.g4dn.2xlarge", 2)]),
            ("p-swapped", [("ml.g4dn.2xlarge", 1), ("ml.g4dn.xlarge", 2)]),
            ("q", [("ml.g4dn.xlarge", 1), ("ml.m5.xlarge", 2)]),
        ] {
            let name = self.config(suffix);
            self.sagemaker
                .config_on_pools(&name, "v", &model, &pools)
                .await;
        }
    }
}

#[tokio::test]
async fn a_change_of_a_variants_pool_types_goes_through_and_registers_the_new_settings() {
    let fixture = Fixture::start("a_change_of_a_variants_pool_types_goes_through").await;
    let world = World::new(&fixture, "pools-fwd").await;
    world.on_pools().await;
    let mut cfn = CfnStack::create(
        &fixture.stack,
        world.template("p", &["v"], false),
        world.watched(&["v"]),
    )
    .await;
    assert_configured(&cfn.last().variants[0], false, "after Create");
    let from = cfn.steps.len();

    // The endpoint updates for long enough to read the guard's record meanwhile: the first
    // record to appear, looked for every 50 ms.
    world
        .sagemaker
        .next_update(&world.endpoint, 1.0, false, 0.0)
        .await;
    let update = cfn.update(world.template("q", &["v"], true));
    let record = async {
        let until = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            if let Some(record) = world.sagemaker.record(&world.endpoint, "v").await {
                return Some(record);
            }
            if tokio::time::Instant::now() > until {
                return None;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    };
    let (updated, record) = tokio::join!(update, record);
    assert!(updated, "{}", cfn.describe(from));
    let steps = &cfn.steps[from..];
    let labels: Vec<&str> = steps.iter().map(|s| s.label.as_str()).collect();
    assert_eq!(
        labels,
        ["Guard Update", "Endpoint Update", "ScalingV Update"]
    );
    let guard = &steps[0];
    assert!(
        !guard.variants[0].registered() && guard.variants[0].record,
        "{guard}"
    );
    assert!(
        guard.reason.contains(
            "instance pools ml.g4dn.xlarge, ml.g4dn.2xlarge -> instance pools \
             ml.g4dn.xlarge, ml.m5.xlarge"
        ),
        "{}",
        guard.reason
    );
    let record = record.expect("the guard's record, read while the endpoint updated");
    assert_eq!(record["instance_type"], Value::Null, "{record}");
    assert_eq!(
        record["instance_pools"],
        json!([
            {"InstanceType": "ml.g4dn.xlarge", "Priority": 1},
            {"InstanceType": "ml.g4dn.2xlarge", "Priority": 2},
        ]),
        "{record}"
    );
    assert!(steps[1].endpoint.ends_with("-q"), "{}", steps[1]);
    assert_configured(&steps[2].variants[0], true, &cfn.describe(from));
    assert_never_lost(&cfn, from, &[0]);
}

#[tokio::test]
async fn a_failed_update_of_a_variants_pool_types_puts_the_old_scaling_back_exactly() {
    let fixture = Fixture::start("a_failed_update_of_a_variants_pool_types").await;
    let world = World::new(&fixture, "pools-fail").await;
    world.on_pools().await;
    let mut cfn = CfnStack::create(
        &fixture.stack,
        world.template("p", &["v"], false),
        world.watched(&["v"]),
    )
    .await;
    let before = cfn.last().variants[0].clone();
    let from = cfn.steps.len();
    world
        .sagemaker
        .next_update(&world.endpoint, 0.2, true, 0.0)
        .await;

    assert!(!cfn.update(world.template("q", &["v"], true)).await);
    let steps = &cfn.steps[from..];
    let labels: Vec<&str> = steps.iter().map(|s| s.label.as_str()).collect();
    assert_eq!(
        labels,
        [
            "Guard Update",
            "Endpoint Update",
            "Guard Update (rollback)",
            "Endpoint Update (rollback)"
        ],
        "{}",
        cfn.describe(from)
    );
    assert!(steps[0].variants[0].record && !steps[0].variants[0].registered());
    assert_eq!(steps[1].status, "UPDATE_FAILED", "{}", steps[1].reason);
    assert!(steps[1].endpoint.ends_with("-p"), "{}", steps[1]);
    assert_eq!(steps[2].variants[0], before, "{}", cfn.describe(from));
    assert!(
        steps[2].reason.starts_with("Restored the auto scaling"),
        "{}",
        steps[2].reason
    );
    assert_eq!(steps[3].variants[0], before, "{}", cfn.describe(from));
    assert_never_lost(&cfn, from, &[0]);
}

#[tokio::test]
async fn a_change_of_pool_priorities_only_deregisters_nothing() {
    let fixture = Fixture::start("a_change_of_pool_priorities_only_deregisters_nothing").await;
    let world = World::new(&fixture, "pools-prio").await;
    world.on_pools().await;
    let mut cfn = CfnStack::create(
        &fixture.stack,
        world.template("p", &["v"], false),
        world.watched(&["v"]),
    )
    .await;
    let before = cfn.last().variants[0].clone();
    let from = cfn.steps.len();

    assert!(
        cfn.update(world.template("p-swapped", &["v"], false)).await,
        "{}",
        cfn.describe(from)
    );
    for step in &cfn.steps[from..] {
        assert_eq!(step.variants[0], before, "{step}");
    }
    assert!(
        cfn.steps[from].reason.starts_with("Nothing to deregister"),
        "{}",
        cfn.steps[from].reason
    );
    assert!(
        cfn.last().endpoint.ends_with("-p-swapped"),
        "{}",
        cfn.last()
    );
}

#[tokio::test]
async fn a_change_of_model_only_deregisters_nothing() {
    let fixture = Fixture::start("a_change_of_model_only_deregisters_nothing").await;
    let world = World::new(&fixture, "model").await;
    let mut cfn = CfnStack::create(
        &fixture.stack,
        world.template("a", &["v"], false),
        world.watched(&["v"]),
    )
    .await;
    let before = cfn.last().variants[0].clone();
    let from = cfn.steps.len();

    assert!(
        cfn.update(world.template("a2", &["v"], false)).await,
        "{}",
        cfn.describe(from)
    );
    for step in &cfn.steps[from..] {
        assert_eq!(step.variants[0], before, "{step}");
    }
    assert!(
        cfn.steps[from].reason.starts_with("Nothing to deregister"),
        "{}",
        cfn.steps[from].reason
    );
}

#[tokio::test]
async fn an_endpoint_still_rolling_back_is_restored_on_its_state_change_event() {
    let fixture =
        Fixture::start("an_endpoint_still_rolling_back_is_restored_on_its_state_change_event")
            .await;
    let world = World::new(&fixture, "late").await;
    let mut cfn = CfnStack::create(
        &fixture.stack,
        world.template("a", &["v"], false),
        world.watched(&["v"]),
    )
    .await;
    let before = cfn.last().variants[0].clone();
    let from = cfn.steps.len();
    // The update fails and SageMaker takes a while rolling it back: the guard's rollback
    // arrives while the endpoint is still RollingBack.
    world
        .sagemaker
        .next_update(&world.endpoint, 0.2, true, 1.5)
        .await;

    assert!(!cfn.update(world.template("b", &["v"], true)).await);
    let rollback = &cfn.steps[from + 2];
    assert_eq!(rollback.label, "Guard Update (rollback)");
    assert!(rollback.endpoint.starts_with("RollingBack"), "{rollback}");
    assert!(
        rollback.reason.starts_with("Kept the record"),
        "{}",
        rollback.reason
    );
    assert!(!rollback.variants[0].registered() && rollback.variants[0].record);
    // CloudFormation's own endpoint rollback waited for SageMaker and changed nothing.
    assert!(
        !cfn.last().variants[0].registered(),
        "{}",
        cfn.describe(from)
    );

    cfn.endpoint_state_change(&world.endpoint).await;
    assert_eq!(cfn.last().variants[0], before, "{}", cfn.describe(from));
    // SageMaker may send an event twice: the second finds nothing to do.
    cfn.endpoint_state_change(&world.endpoint).await;
    assert_eq!(cfn.last().variants[0], before, "{}", cfn.describe(from));
    assert!(
        cfn.last().reason.starts_with("No record"),
        "{}",
        cfn.last().reason
    );
    assert_never_lost(&cfn, from, &[0]);
}

#[tokio::test]
async fn a_state_change_event_from_before_the_update_registers_nothing() {
    let fixture =
        Fixture::start("a_state_change_event_from_before_the_update_registers_nothing").await;
    let world = World::new(&fixture, "early").await;
    let mut cfn = CfnStack::create(
        &fixture.stack,
        world.template("a", &["v"], false),
        world.watched(&["v"]),
    )
    .await;
    let guard_update = fixture.stack.event(
        "Update",
        Some(&format!("endpoint-guard/{}", world.endpoint)),
        json!({"EndpointName": world.endpoint, "EndpointConfigName": world.config("b")}),
        Some(json!({"EndpointName": world.endpoint, "EndpointConfigName": world.config("a")})),
    );
    let mut guard_update = guard_update;
    guard_update["ResourceType"] = "Custom::AsyncEndpointScalingGuard".into();
    guard_update["LogicalResourceId"] = "Guard".into();
    assert_success(&fixture.stack.send(guard_update).await);
    // A late event of the endpoint's creation arrives between the guard and the update.
    cfn.endpoint_state_change(&world.endpoint).await;
    let step = cfn.last();
    assert!(
        !step.variants[0].registered() && step.variants[0].record,
        "{step}: {}",
        step.reason
    );
    assert!(
        step.reason.contains("has not changed since"),
        "{}",
        step.reason
    );
}

#[tokio::test]
async fn the_second_of_two_deregistrations_failing_is_rolled_back_to_both() {
    let fixture =
        Fixture::start("the_second_of_two_deregistrations_failing_is_rolled_back_to_both").await;
    let world = World::new(&fixture, "half").await;
    let mut cfn = CfnStack::create(
        &fixture.stack,
        world.template("a", &["v", "w"], false),
        world.watched(&["v", "w"]),
    )
    .await;
    let before = cfn.last().variants.clone();
    let from = cfn.steps.len();
    fixture.aws.fail_after(
        "DeregisterScalableTarget",
        1,
        1,
        "AccessDeniedException",
        "not allowed",
    );

    assert!(!cfn.update(world.template("b", &["v", "w"], true)).await);
    let steps = &cfn.steps[from..];
    let labels: Vec<&str> = steps.iter().map(|s| s.label.as_str()).collect();
    assert_eq!(
        labels,
        ["Guard Update", "Guard Update (rollback)"],
        "{}",
        cfn.describe(from)
    );
    assert_eq!(steps[0].status, "FAILED");
    assert!(
        steps[0]
            .reason
            .contains("Deregistered before that, and recorded to be restored by the rollback"),
        "{}",
        steps[0].reason
    );
    let deregistered = steps[0].variants.iter().filter(|s| !s.registered()).count();
    assert_eq!(deregistered, 1, "{}", steps[0]);
    assert_eq!(steps[1].variants, before, "{}", cfn.describe(from));
    assert_never_lost(&cfn, from, &[0, 1]);
}

#[tokio::test]
async fn parameter_store_throttled_is_waited_out() {
    let fixture = Fixture::start("parameter_store_throttled_is_waited_out").await;
    let world = World::new(&fixture, "throttle").await;
    let mut cfn = CfnStack::create(
        &fixture.stack,
        world.template("a", &["v"], false),
        world.watched(&["v"]),
    )
    .await;
    let from = cfn.steps.len();
    fixture.aws.throttle("PutParameter", 2);
    fixture.aws.throttle("GetParametersByPath", 2);
    assert!(
        cfn.update(world.template("b", &["v"], true)).await,
        "{}",
        cfn.describe(from)
    );
    assert_configured(&cfn.last().variants[0], true, &cfn.describe(from));
    let count = |operation: &str| {
        fixture
            .aws
            .operations()
            .iter()
            .filter(|o| *o == operation)
            .count()
    };
    // Two throttled, then the call that went through.
    assert_eq!(count("PutParameter"), 3);
    assert_eq!(count("GetParametersByPath"), 3);
    assert_never_lost(&cfn, from, &[0]);
}

#[tokio::test]
async fn parameter_store_refusing_the_record_stops_the_update_before_any_change() {
    let fixture =
        Fixture::start("parameter_store_refusing_the_record_stops_the_update_before_any_change")
            .await;
    let world = World::new(&fixture, "denied").await;
    let mut cfn = CfnStack::create(
        &fixture.stack,
        world.template("a", &["v"], false),
        world.watched(&["v"]),
    )
    .await;
    let before = cfn.last().variants[0].clone();
    let from = cfn.steps.len();
    fixture.aws.fail(
        "PutParameter",
        1,
        "AccessDeniedException",
        "not authorized to perform: ssm:PutParameter",
    );
    assert!(!cfn.update(world.template("b", &["v"], true)).await);
    let steps = &cfn.steps[from..];
    assert!(
        steps[0]
            .reason
            .starts_with("PutParameter failed: AccessDeniedException"),
        "{}",
        steps[0].reason
    );
    for step in steps {
        assert_eq!(step.variants[0], before, "{step}");
    }
}

#[tokio::test]
async fn parameter_store_unavailable_is_retried_until_the_operations_time_is_up() {
    let fixture = Fixture::start("ssm_unavailable").await;
    let world = World::new(&fixture, "down").await;
    let cfn = CfnStack::create(
        &fixture.stack,
        world.template("a", &["v"], false),
        world.watched(&["v"]),
    )
    .await;
    let before = cfn.last().variants[0].clone();
    fixture.aws.fail(
        "PutParameter",
        1000,
        "InternalServerError",
        "service unavailable",
    );
    let mut event = fixture.stack.event(
        "Update",
        Some(&format!("endpoint-guard/{}", world.endpoint)),
        json!({"EndpointName": world.endpoint, "EndpointConfigName": world.config("b")}),
        Some(json!({"EndpointName": world.endpoint, "EndpointConfigName": world.config("a")})),
    );
    event["ResourceType"] = "Custom::AsyncEndpointScalingGuard".into();
    let path = crate::support::answer_path(&event);
    fixture
        .stack
        .invoke(event, crate::support::in_seconds(10))
        .await
        .unwrap();
    let answer = fixture.stack.answer_at(&path);
    assert_failed(
        &answer,
        &[
            "PutParameter failed: InternalServerError",
            "when the operation's time was up",
        ],
    );
    let state = crate::support::cloudformation::read_state(
        &fixture.aws.clients().await,
        &Watched::new(&world.endpoint, "v"),
    )
    .await;
    assert_eq!(state, before);
}

#[tokio::test]
async fn a_record_too_large_for_parameter_store_stops_the_update_before_any_change() {
    let fixture =
        Fixture::start("a_record_too_large_for_parameter_store_stops_the_update_before_any_change")
            .await;
    let world = World::new(&fixture, "large").await;
    let mut scaling = world.scaling("v", "a", false);
    // Short names: their total length is limited by what fits in the answer's Data.
    let actions: Vec<Value> = (0..80)
        .map(|i| json!({"ScheduledActionName": format!("a-{i:03}"), "Schedule": "cron(0 7 ? * MON-FRI *)", "Timezone": "Europe/Berlin", "MinCapacity": 1, "MaxCapacity": 2}))
        .collect();
    scaling["ScheduledActions"] = actions.into();
    let template = Template(vec![
        world.guard("a"),
        world.endpoint_resource("a"),
        resource("ScalingV", Kind::Scaling, scaling.clone()),
    ]);
    let mut cfn = CfnStack::create(&fixture.stack, template, world.watched(&["v"])).await;
    let before = cfn.last().variants[0].clone();
    let from = cfn.steps.len();
    let mut new_scaling = scaling;
    new_scaling["EndpointConfigName"] = world.config("b").into();
    let new = Template(vec![
        world.guard("b"),
        world.endpoint_resource("b"),
        resource("ScalingV", Kind::Scaling, new_scaling),
    ]);
    assert!(!cfn.update(new).await);
    let reason = &cfn.steps[from].reason;
    assert!(
        reason.starts_with("Nothing was deregistered: the auto scaling of"),
        "{reason}"
    );
    assert!(
        reason.contains("more than Parameter Store's advanced tier holds (8192 bytes)"),
        "{reason}"
    );
    for step in &cfn.steps[from..] {
        assert_eq!(step.variants[0], before, "{step}");
    }
    assert!(
        fixture
            .aws
            .operations()
            .iter()
            .all(|o| o != "PutParameter" && o != "DeregisterScalableTarget")
    );
}

#[tokio::test]
async fn a_guard_create_checks_its_properties_and_calls_nothing() {
    let fixture = Fixture::start("a_guard_create_checks_its_properties_and_calls_nothing").await;
    let mut create = fixture.stack.event(
        "Create",
        None,
        json!({"EndpointName": "e", "EndpointConfigName": "c"}),
        None,
    );
    create["ResourceType"] = "Custom::AsyncEndpointScalingGuard".into();
    let answer = fixture.stack.send(create).await;
    assert_success(&answer);
    assert_eq!(answer["PhysicalResourceId"], "endpoint-guard/e");
    let mut bad = fixture.stack.event(
        "Create",
        None,
        json!({"EndpointName": "e", "EndpointConfigNam": "c"}),
        None,
    );
    bad["ResourceType"] = "Custom::AsyncEndpointScalingGuard".into();
    let answer = fixture.stack.send(bad).await;
    assert_failed(
        &answer,
        &[
            "EndpointConfigName is required",
            "\"EndpointConfigNam\" is not a known property (did you mean EndpointConfigName?)",
        ],
    );
    fixture.aws.assert_no_calls();
}

#[tokio::test]
async fn a_scaling_resource_waits_for_its_endpoint_and_refuses_another_configuration() {
    let fixture = Fixture::start(
        "a_scaling_resource_waits_for_its_endpoint_and_refuses_another_configuration",
    )
    .await;
    let world = World::new(&fixture, "wait").await;
    let cfn = CfnStack::create(
        &fixture.stack,
        Template(vec![world.endpoint_resource("a")]),
        vec![],
    )
    .await;
    drop(cfn);
    // Updating to a2 (same types): the endpoint is Updating when the Create arrives.
    world
        .sagemaker
        .next_update(&world.endpoint, 1.0, false, 0.0)
        .await;
    let clients = fixture.aws.clients().await;
    clients
        .sagemaker
        .update_endpoint()
        .endpoint_name(&world.endpoint)
        .endpoint_config_name(world.config("a2"))
        .send()
        .await
        .unwrap();
    let answer = fixture.stack.create(world.scaling("v", "a2", false)).await;
    assert_success(&answer);
    assert!(
        fixture
            .aws
            .operations()
            .iter()
            .filter(|o| *o == "DescribeEndpoint")
            .count()
            >= 2
    );

    let answer = fixture.stack.create(world.scaling("w", "b", false)).await;
    assert_failed(
        &answer,
        &[&format!(
            "The endpoint {} runs the configuration {}, not {} (EndpointConfigName)",
            world.endpoint,
            world.config("a2"),
            world.config("b")
        )],
    );
}

#[tokio::test]
async fn a_scaling_resource_without_endpoint_config_name_never_calls_sagemaker_or_parameter_store()
{
    let fixture = Fixture::start(
        "a_scaling_resource_without_endpoint_config_name_never_calls_sagemaker_or_parameter_store",
    )
    .await;
    use crate::support::aws::Service;
    let endpoint = fixture.endpoint("plain");
    let props = json!({"EndpointName": endpoint, "VariantName": "v", "MaxCapacity": 2});
    let answer = fixture.stack.create(props.clone()).await;
    assert_success(&answer);
    let id = answer["PhysicalResourceId"].as_str().unwrap().to_owned();
    let mut changed = props.clone();
    changed["MaxCapacity"] = 3.into();
    assert_success(&fixture.stack.update(&id, changed.clone(), props).await);
    assert_success(&fixture.stack.delete(&id, changed).await);
    let services: Vec<Service> = fixture.aws.calls().iter().map(|c| c.service).collect();
    assert!(
        services
            .iter()
            .all(|s| matches!(s, Service::AutoScaling | Service::CloudWatch)),
        "{:?}",
        fixture.aws.operations()
    );
}

/// The guard's event, sent by hand: an Update from `old` to `new` configuration.
fn guard_update(fixture: &Fixture, world: &World, new: &str, old: &str) -> Value {
    let mut event = fixture.stack.event(
        "Update",
        Some(&format!("endpoint-guard/{}", world.endpoint)),
        json!({"EndpointName": world.endpoint, "EndpointConfigName": world.config(new)}),
        Some(json!({"EndpointName": world.endpoint, "EndpointConfigName": world.config(old)})),
    );
    event["ResourceType"] = "Custom::AsyncEndpointScalingGuard".into();
    event["LogicalResourceId"] = "Guard".into();
    event
}

/// What CloudFormation does for the endpoint, by hand: UpdateEndpoint, then wait for it.
async fn update_endpoint(fixture: &Fixture, world: &World, config: &str) {
    let sagemaker = fixture.aws.clients().await.sagemaker;
    sagemaker
        .update_endpoint()
        .endpoint_name(&world.endpoint)
        .endpoint_config_name(world.config(config))
        .send()
        .await
        .expect("UpdateEndpoint");
    for _ in 0..600 {
        let described = sagemaker
            .describe_endpoint()
            .endpoint_name(&world.endpoint)
            .send()
            .await
            .unwrap();
        if described.endpoint_status().map(|s| s.as_str()) == Some("InService") {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the endpoint never came back InService");
}

#[tokio::test]
async fn a_scaling_resource_without_endpoint_config_name_stops_the_guard_before_any_change() {
    let fixture = Fixture::start(
        "a_scaling_resource_without_endpoint_config_name_stops_the_guard_before_any_change",
    )
    .await;
    let world = World::new(&fixture, "nofollow").await;
    let mut template = world.template("a", &["v"], false);
    template.0[2]
        .properties
        .as_object_mut()
        .unwrap()
        .remove("EndpointConfigName");
    let mut cfn = CfnStack::create(&fixture.stack, template.clone(), world.watched(&["v"])).await;
    let before = cfn.last().variants[0].clone();
    let from = cfn.steps.len();
    let mut new = world.template("b", &["v"], false);
    new.0[2] = template.0[2].clone();
    let new_without = new.clone();
    assert!(!cfn.update(new).await);
    let reason = &cfn.steps[from].reason;
    assert!(
        reason.contains(
            "by this stack's ScalingV, whose target is not marked follows-endpoint-config"
        ),
        "{reason}"
    );
    for step in &cfn.steps[from..] {
        assert_eq!(step.variants[0], before, "{step}");
    }

    // What the Reason says to do: EndpointConfigName in an update of its own, which marks
    // the target and the alarm; then the instance-type change goes through.
    let follows = "sagemaker-async-autoscaling:follows-endpoint-config";
    assert!(
        cfn.update(world.template("a", &["v"], false)).await,
        "{}",
        cfn.describe(from)
    );
    assert_eq!(
        cfn.last().variants[0].tags.get(follows).map(String::as_str),
        Some("true")
    );
    assert!(
        cfn.last().variants[0]
            .alarm
            .as_deref()
            .unwrap()
            .contains(follows)
    );
    let from = cfn.steps.len();
    assert!(
        cfn.update(world.template("b", &["v"], false)).await,
        "{}",
        cfn.describe(from)
    );
    assert_configured(&cfn.last().variants[0], false, &cfn.describe(from));
    assert_never_lost(&cfn, from, &[0]);
    // Dropping it again takes the mark off.
    assert!(cfn.update(new_without).await);
    assert!(
        !cfn.last().variants[0].tags.contains_key(follows),
        "{}",
        cfn.last()
    );
    assert!(
        !cfn.last().variants[0]
            .alarm
            .as_deref()
            .unwrap()
            .contains(follows)
    );
}

#[tokio::test]
async fn a_removed_variant_whose_update_failed_later_comes_back_on_the_state_change_event() {
    let fixture = Fixture::start(
        "a_removed_variant_whose_update_failed_later_comes_back_on_the_state_change_event",
    )
    .await;
    let world = World::new(&fixture, "rmlater").await;
    let later = |fail: bool| resource("Later", Kind::Later, json!({"Fail": fail}));
    let mut template = world.template("a", &["v", "w"], false);
    template.0.push(later(false));
    let mut cfn = CfnStack::create(&fixture.stack, template, world.watched(&["v", "w"])).await;
    let before = cfn.last().variants.clone();
    let from = cfn.steps.len();
    let mut new = world.template("b1", &["v"], false);
    new.0.push(later(true));
    assert!(!cfn.update(new).await);
    // The guard's rollback comes before the endpoint's, which brings w back: only the
    // endpoint's InService event can restore it.
    let after_rollback = cfn.last().clone();
    assert_eq!(
        after_rollback.variants[0],
        before[0],
        "{}",
        cfn.describe(from)
    );
    assert!(!after_rollback.variants[1].registered() && after_rollback.variants[1].record);
    cfn.endpoint_state_change(&world.endpoint).await;
    assert_eq!(cfn.last().variants, before, "{}", cfn.describe(from));
    assert_never_lost(&cfn, from, &[0, 1]);
}

#[tokio::test]
async fn a_restore_stopped_halfway_is_finished_by_the_next_event() {
    let fixture = Fixture::start("a_restore_stopped_halfway_is_finished_by_the_next_event").await;
    let world = World::new(&fixture, "halfway").await;
    let mut cfn = CfnStack::create(
        &fixture.stack,
        world.template("a", &["v"], false),
        world.watched(&["v"]),
    )
    .await;
    let before = cfn.last().variants[0].clone();
    let from = cfn.steps.len();
    world
        .sagemaker
        .next_update(&world.endpoint, 0.2, true, 1.0)
        .await;
    assert!(!cfn.update(world.template("b", &["v"], true)).await);
    assert!(cfn.last().variants[0].record, "{}", cfn.describe(from));

    fixture.aws.fail(
        "PutScalingPolicy",
        1,
        "AccessDeniedException",
        "not allowed",
    );
    cfn.endpoint_state_change(&world.endpoint).await;
    let stopped = cfn.last().clone();
    assert_eq!(stopped.status, "error", "{stopped}: {}", stopped.reason);
    assert!(
        stopped.variants[0].registered() && stopped.variants[0].record,
        "{stopped}"
    );

    // SageMaker's event again (Lambda retries a failed asynchronous invocation).
    cfn.endpoint_state_change(&world.endpoint).await;
    assert_eq!(cfn.last().variants[0], before, "{}", cfn.describe(from));
    assert_never_lost(&cfn, from, &[0]);
}

#[tokio::test]
async fn the_guards_rollback_and_the_state_change_event_at_once_both_restore_the_same() {
    let fixture = Fixture::start(
        "the_guards_rollback_and_the_state_change_event_at_once_both_restore_the_same",
    )
    .await;
    let world = World::new(&fixture, "both").await;
    let cfn = CfnStack::create(
        &fixture.stack,
        world.template("a", &["v"], false),
        world.watched(&["v"]),
    )
    .await;
    let before = cfn.last().variants[0].clone();
    assert_success(
        &fixture
            .stack
            .send(guard_update(&fixture, &world, "b", "a"))
            .await,
    );
    world
        .sagemaker
        .next_update(&world.endpoint, 0.2, true, 0.0)
        .await;
    update_endpoint(&fixture, &world, "b").await;

    let event = state_change_event(&world.endpoint);
    let rollback = fixture.stack.send(guard_update(&fixture, &world, "a", "b"));
    let state_change = fixture.stack.invoke(event, crate::support::in_seconds(60));
    let (answer, handled) = tokio::join!(rollback, state_change);
    assert_success(&answer);
    assert!(handled.is_ok(), "{handled:?}");
    let clients = crate::support::aws::clients_for(crate::support::aws::moto_url()).await;
    let state =
        crate::support::cloudformation::read_state(&clients, &Watched::new(&world.endpoint, "v"))
            .await;
    assert_eq!(state, before);
}

#[tokio::test]
async fn a_repeated_forward_guard_update_keeps_the_record_for_the_endpoint_update() {
    let fixture =
        Fixture::start("a_repeated_forward_guard_update_keeps_the_record_for_the_endpoint_update")
            .await;
    let world = World::new(&fixture, "again").await;
    let cfn = CfnStack::create(
        &fixture.stack,
        world.template("a", &["v"], false),
        world.watched(&["v"]),
    )
    .await;
    let before = cfn.last().variants[0].clone();
    assert_success(
        &fixture
            .stack
            .send(guard_update(&fixture, &world, "b", "a"))
            .await,
    );
    // A second copy of the same request, before CloudFormation updates the endpoint.
    let answer = fixture
        .stack
        .send(guard_update(&fixture, &world, "b", "a"))
        .await;
    assert_success(&answer);
    let clients = crate::support::aws::clients_for(crate::support::aws::moto_url()).await;
    let watched = Watched::new(&world.endpoint, "v");
    let state = crate::support::cloudformation::read_state(&clients, &watched).await;
    assert!(
        !state.registered() && state.record,
        "{state}: {}",
        answer["Reason"]
    );
    // The endpoint update goes through; the scaling resource's Update registers it again.
    update_endpoint(&fixture, &world, "b").await;
    let old = world.scaling("v", "a", false);
    let mut update = fixture.stack.event(
        "Update",
        Some(&watched.resource_id()),
        world.scaling("v", "b", false),
        Some(old),
    );
    update["LogicalResourceId"] = "ScalingV".into();
    let answer = fixture.stack.send(update).await;
    assert_success(&answer);
    let after = crate::support::cloudformation::read_state(&clients, &watched).await;
    assert_eq!(after.policies.len(), before.policies.len());
    assert!(after.registered() && !after.record, "{after}");
}

#[tokio::test]
async fn an_alarm_that_also_notifies_a_topic_stops_the_update_before_any_change() {
    let fixture =
        Fixture::start("an_alarm_that_also_notifies_a_topic_stops_the_update_before_any_change")
            .await;
    let world = World::new(&fixture, "sns").await;
    let mut cfn = CfnStack::create(
        &fixture.stack,
        world.template("a", &["v"], false),
        world.watched(&["v"]),
    )
    .await;
    let resource_id = format!("endpoint/{}/variant/v", world.endpoint);
    let step = fixture
        .emulator
        .policies(&resource_id)
        .await
        .into_iter()
        .find(|p| p.policy_name() == "HasBacklogWithoutCapacity-ScalingPolicy")
        .unwrap();
    let topic = "arn:aws:sns:us-east-1:123456789012:pager";
    let pager = format!("{}-pager", world.endpoint);
    fixture
        .emulator
        .put_users_alarm(&pager, &world.endpoint, &[step.policy_arn(), topic])
        .await;
    let before = crate::support::cloudformation::read_state(
        &fixture.aws.clients().await,
        &Watched::new(&world.endpoint, "v"),
    )
    .await;
    let from = cfn.steps.len();
    let updated = cfn.update(world.template("b", &["v"], true)).await;
    assert!(!updated, "{}", cfn.describe(from));
    let reason = &cfn.steps[from].reason;
    assert!(reason.contains(&format!("the alarm {pager} that fires its policy HasBacklogWithoutCapacity-ScalingPolicy also has the action {topic}")), "{reason}");
    assert_eq!(cfn.last().variants[0], before);
}

#[tokio::test]
async fn a_failed_guard_creates_rollback_delete_touches_nothing() {
    let fixture = Fixture::start("a_failed_guard_creates_rollback_delete_touches_nothing").await;
    let mut create =
        fixture
            .stack
            .event("Create", None, json!({"EndpointName": "not a name"}), None);
    create["ResourceType"] = "Custom::AsyncEndpointScalingGuard".into();
    let answer = fixture.stack.send(create).await;
    assert_failed(&answer, &["EndpointName must be 1 to 63"]);
    let id = answer["PhysicalResourceId"].as_str().unwrap().to_owned();
    assert!(id.starts_with("create-failed/"), "{id}");
    let mut delete = fixture.stack.event(
        "Delete",
        Some(&id),
        json!({"EndpointName": "not a name"}),
        None,
    );
    delete["ResourceType"] = "Custom::AsyncEndpointScalingGuard".into();
    let answer = fixture.stack.send(delete).await;
    assert_success(&answer);
    assert!(
        answer["Reason"]
            .as_str()
            .unwrap()
            .starts_with("Nothing to delete"),
        "{answer}"
    );
    fixture.aws.assert_no_calls();
}

#[tokio::test]
async fn a_forward_update_after_a_restore_stopped_halfway_keeps_the_whole_record() {
    let fixture =
        Fixture::start("a_forward_update_after_a_restore_stopped_halfway_keeps_the_whole_record")
            .await;
    let world = World::new(&fixture, "retry").await;
    let mut cfn = CfnStack::create(
        &fixture.stack,
        world.template("a", &["v"], false),
        world.watched(&["v"]),
    )
    .await;
    let before = cfn.last().variants[0].clone();
    let from = cfn.steps.len();
    world
        .sagemaker
        .next_update(&world.endpoint, 0.2, true, 1.0)
        .await;
    assert!(!cfn.update(world.template("b", &["v"], true)).await);
    fixture.aws.fail(
        "PutScalingPolicy",
        1,
        "AccessDeniedException",
        "not allowed",
    );
    cfn.endpoint_state_change(&world.endpoint).await;
    assert!(
        cfn.last().variants[0].registered() && cfn.last().variants[0].record,
        "{}",
        cfn.last()
    );

    // The user tries the instance-type change again, and the endpoint update fails again:
    // the rollback puts back the whole of what the first record held, not the half-restored
    // target.
    world
        .sagemaker
        .next_update(&world.endpoint, 0.2, true, 0.0)
        .await;
    let retry = cfn.steps.len();
    assert!(!cfn.update(world.template("b", &["v"], true)).await);
    assert!(
        !cfn.steps[retry].variants[0].registered() && cfn.steps[retry].variants[0].record,
        "{}",
        cfn.describe(retry)
    );
    assert_eq!(cfn.last().variants[0], before, "{}", cfn.describe(from));
}

#[tokio::test]
async fn a_scaling_delete_whose_record_cannot_be_deleted_still_succeeds() {
    let fixture =
        Fixture::start("a_scaling_delete_whose_record_cannot_be_deleted_still_succeeds").await;
    let world = World::new(&fixture, "delrec").await;
    let mut cfn = CfnStack::create(
        &fixture.stack,
        world.template("a", &["v"], false),
        world.watched(&["v"]),
    )
    .await;
    fixture.aws.fail(
        "DeleteParameter",
        1,
        "AccessDeniedException",
        "not authorized to perform: ssm:DeleteParameter",
    );
    cfn.delete().await;
    let delete = cfn
        .steps
        .iter()
        .find(|s| s.label == "ScalingV Delete")
        .unwrap();
    assert_eq!(delete.status, "SUCCESS", "{}", delete.reason);
    assert!(
        delete
            .reason
            .contains("the guard's record of it could not be removed"),
        "{}",
        delete.reason
    );
    assert!(!delete.variants[0].registered());
}

#[tokio::test]
async fn a_scaling_update_after_a_restore_stopped_halfway_wins_over_the_record() {
    let fixture =
        Fixture::start("a_scaling_update_after_a_restore_stopped_halfway_wins_over_the_record")
            .await;
    let world = World::new(&fixture, "wins").await;
    let mut cfn = CfnStack::create(
        &fixture.stack,
        world.template("a", &["v"], false),
        world.watched(&["v"]),
    )
    .await;
    let from = cfn.steps.len();
    world
        .sagemaker
        .next_update(&world.endpoint, 0.2, true, 1.0)
        .await;
    assert!(!cfn.update(world.template("b", &["v"], true)).await);
    fixture.aws.fail(
        "PutScalingPolicy",
        1,
        "AccessDeniedException",
        "not allowed",
    );
    cfn.endpoint_state_change(&world.endpoint).await;
    let halfway = cfn.last().variants[0].clone();
    assert!(
        halfway.registered() && halfway.record,
        "{}",
        cfn.describe(from)
    );
    assert!(
        halfway
            .tags
            .contains_key("sagemaker-async-autoscaling:restoring"),
        "{halfway:?}"
    );

    // The scaling resource's own Update, whose record cannot even be deleted: what it
    // configures wins, and the next event takes nothing back.
    fixture
        .aws
        .fail("DeleteParameter", 1, "AccessDeniedException", "not allowed");
    let resource_id = format!("endpoint/{}/variant/v", world.endpoint);
    let mut update = fixture.stack.event(
        "Update",
        Some(&resource_id),
        world.scaling("v", "a", true),
        Some(world.scaling("v", "a", false)),
    );
    update["LogicalResourceId"] = "ScalingV".into();
    assert_success(&fixture.stack.send(update).await);
    cfn.endpoint_state_change(&world.endpoint).await;
    let state = &cfn.last().variants[0];
    assert_configured(state, true, &cfn.describe(from));
    assert!(
        !state
            .tags
            .contains_key("sagemaker-async-autoscaling:restoring"),
        "{state:?}"
    );
}
