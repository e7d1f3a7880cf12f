//! CloudFormation's side of a stack of several resources, as it drives them: events in
//! dependency order, a failed update rolled back by Updates with old and new swapped (only to
//! the resources that were updated), then the cleanup Deletes. After every event it reads what
//! AWS holds for the watched variants, so a test checks the state after each step.
//!
//! The endpoint is a native `AWS::SageMaker::Endpoint`: the driver does what CloudFormation
//! does for it (UpdateEndpoint, then waits until the endpoint is no longer Updating; an endpoint
//! that came back on another configuration is a failed update).

use super::aws::{clients_for, moto_url};
use super::{Emulator, Stack};
use sagemaker_async_autoscaling::AwsClients;
use sagemaker_async_autoscaling::{GUARD_RESOURCE_TYPE, RECORD_PATH_PREFIX};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

pub const SCALING_RESOURCE_TYPE: &str = "Custom::AsyncEndpointAutoScaling";

/// What a resource is, as far as the driver must know.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    /// `Custom::AsyncEndpointScalingGuard`, served by the function.
    Guard,
    /// `AWS::SageMaker::Endpoint`, with `EndpointName` and `EndpointConfigName`.
    Endpoint,
    /// `Custom::AsyncEndpointAutoScaling`, served by the function.
    Scaling,
    /// A later resource whose Update fails when its properties say `"Fail": true`.
    Later,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Resource {
    pub logical_id: String,
    pub kind: Kind,
    pub properties: Value,
}

pub fn resource(logical_id: &str, kind: Kind, properties: Value) -> Resource {
    Resource {
        logical_id: logical_id.to_owned(),
        kind,
        properties,
    }
}

/// A template: its resources in dependency order (each after what it depends on).
#[derive(Clone, Debug, PartialEq)]
pub struct Template(pub Vec<Resource>);

impl Template {
    fn get(&self, logical_id: &str) -> Option<&Resource> {
        self.0.iter().find(|r| r.logical_id == logical_id)
    }
}

/// A variant whose state the driver reads after every event.
#[derive(Clone, Debug)]
pub struct Watched {
    pub endpoint: String,
    pub variant: String,
    pub alarm_name: String,
}

impl Watched {
    pub fn new(endpoint: &str, variant: &str) -> Watched {
        Watched {
            endpoint: endpoint.to_owned(),
            variant: variant.to_owned(),
            alarm_name: format!("{endpoint}-{variant}-HasBacklogWithoutCapacity"),
        }
    }

    pub fn resource_id(&self) -> String {
        format!("endpoint/{}/variant/{}", self.endpoint, self.variant)
    }
}

/// Everything of a variant's scaling that a restore must bring back, without ARNs (a policy
/// put again gets a new one): the target, its tags, policies, scheduled actions, and which
/// policy the alarm fires.
#[derive(Clone, Debug, PartialEq)]
pub struct VariantState {
    /// Min, max and the suspended flags (in, out, scheduled).
    pub target: Option<(i32, i32, [bool; 3])>,
    pub tags: BTreeMap<String, String>,
    /// Each policy's name and configuration.
    pub policies: Vec<(String, String)>,
    /// Each scheduled action's name, schedule and capacity.
    pub scheduled: Vec<String>,
    /// The policies the alarm fires, by name (`<missing>` for an ARN no policy has).
    pub alarm_fires: Option<String>,
    /// The rest of the alarm's definition: metric, statistic, periods, threshold, tags.
    pub alarm: Option<String>,
    /// Whether the guard holds a record of it.
    pub record: bool,
}

impl VariantState {
    pub fn registered(&self) -> bool {
        self.target.is_some()
    }
}

impl fmt::Display for VariantState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.target {
            Some((min, max, _)) => write!(f, "registered {min}-{max}")?,
            None => f.write_str("not registered")?,
        }
        write!(
            f,
            ", {} policies, {} scheduled, alarm fires {}, record {}",
            self.policies.len(),
            self.scheduled.len(),
            self.alarm_fires.as_deref().unwrap_or("nothing"),
            if self.record { "kept" } else { "none" }
        )
    }
}

/// One event sent (or one native update done) and what AWS held after it.
#[derive(Clone, Debug)]
pub struct Step {
    /// `Guard Update`, `Endpoint Update (rollback)`, ...
    pub label: String,
    pub status: String,
    pub reason: String,
    pub endpoint: String,
    pub variants: Vec<VariantState>,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} -> {}; endpoint {}",
            self.label, self.status, self.endpoint
        )?;
        for state in &self.variants {
            write!(f, "; {state}")?;
        }
        Ok(())
    }
}

/// A stack as CloudFormation keeps it: the deployed template and each resource's physical id.
pub struct CfnStack<'a> {
    stack: &'a Stack,
    direct: AwsClients,
    watched: Vec<Watched>,
    deployed: Template,
    physical: BTreeMap<String, String>,
    pub steps: Vec<Step>,
}

impl<'a> CfnStack<'a> {
    /// Creates every resource in order; panics if one fails.
    pub async fn create(stack: &'a Stack, template: Template, watched: Vec<Watched>) -> Self {
        let mut cfn = CfnStack {
            stack,
            direct: clients_for(moto_url()).await,
            watched,
            deployed: Template(Vec::new()),
            physical: BTreeMap::new(),
            steps: Vec::new(),
        };
        for resource in &template.0 {
            let (ok, _) = cfn.create_resource(resource).await;
            assert!(
                ok,
                "creating {} failed: {}",
                resource.logical_id,
                cfn.last()
            );
        }
        cfn.deployed = template;
        cfn
    }

    pub fn last(&self) -> &Step {
        self.steps.last().expect("a step")
    }

    /// The steps since `from`, one per line, for an assertion's message.
    pub fn describe(&self, from: usize) -> String {
        self.steps[from..]
            .iter()
            .map(|s| format!("  {s}\n    {}", s.reason))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// An update as CloudFormation runs it. Answers whether it succeeded; on failure the
    /// rollback has run and the deployed template is the old one again.
    pub async fn update(&mut self, new: Template) -> bool {
        let old = self.deployed.clone();
        let mut updated: Vec<Resource> = Vec::new(); // the old definitions, in update order
        let mut created: Vec<Resource> = Vec::new();
        let mut replaced: Vec<(Resource, String)> = Vec::new(); // old definition, old id
        let mut failed = false;
        for resource in &new.0 {
            let (ok, label) = match old.get(&resource.logical_id) {
                None => {
                    created.push(resource.clone());
                    self.create_resource(resource).await
                }
                Some(before) if before.properties != resource.properties => {
                    updated.push(before.clone());
                    let old_id = self.physical[&resource.logical_id].clone();
                    let result = self.update_resource(resource, before, "").await;
                    if self.physical[&resource.logical_id] != old_id {
                        replaced.push((before.clone(), old_id));
                    }
                    result
                }
                Some(_) => continue,
            };
            if !ok {
                failed = true;
                let _ = label;
                break;
            }
        }
        if !failed {
            // Cleanup: what the template no longer has, then what was replaced.
            for resource in old.0.iter().rev() {
                if new.get(&resource.logical_id).is_none() {
                    let id = self.physical.remove(&resource.logical_id).unwrap();
                    self.delete_resource(resource, &id, "(cleanup)").await;
                }
            }
            for (resource, id) in replaced {
                self.delete_resource(&resource, &id, "(cleanup of the replaced id)")
                    .await;
            }
            self.deployed = new;
            return true;
        }
        // Rollback: each updated resource back to its old properties, in dependency order.
        for before in &updated {
            let now = new.get(&before.logical_id).unwrap().clone();
            let (ok, _) = self.update_resource(before, &now, "(rollback)").await;
            assert!(
                ok,
                "the rollback of {} failed: {}",
                before.logical_id,
                self.last()
            );
        }
        for (before, old_id) in replaced {
            let new_id =
                std::mem::replace(self.physical.get_mut(&before.logical_id).unwrap(), old_id);
            let now = new.get(&before.logical_id).unwrap().clone();
            self.delete_resource(&now, &new_id, "(cleanup of the new id)")
                .await;
        }
        for resource in created.iter().rev() {
            if let Some(id) = self.physical.remove(&resource.logical_id) {
                self.delete_resource(resource, &id, "(cleanup)").await;
            }
        }
        false
    }

    /// Deletes every resource, in reverse dependency order.
    pub async fn delete(&mut self) {
        let resources = std::mem::replace(&mut self.deployed, Template(Vec::new()));
        for resource in resources.0.iter().rev() {
            let id = self.physical.remove(&resource.logical_id).unwrap();
            self.delete_resource(resource, &id, "").await;
        }
    }

    /// SageMaker's state-change event for the endpoint, as EventBridge delivers it.
    pub async fn endpoint_state_change(&mut self, endpoint: &str) {
        let described = self.describe_endpoint(endpoint).await;
        let mut event = state_change_event(endpoint);
        event["detail"]["EndpointConfigName"] = described.map(|(_, c)| c).into();
        let result = self.stack.invoke(event, super::in_seconds(60)).await;
        let (status, reason) = match result {
            Ok(value) => (
                "handled".to_owned(),
                value["Summary"].as_str().unwrap_or("").to_owned(),
            ),
            Err(error) => ("error".to_owned(), error.to_string()),
        };
        self.record("EventBridge endpoint state change".into(), status, reason)
            .await;
    }

    async fn create_resource(&mut self, resource: &Resource) -> (bool, String) {
        let label = format!("{} Create", resource.logical_id);
        let (ok, id, status, reason) = match resource.kind {
            Kind::Endpoint => {
                let (name, config) = endpoint_properties(resource);
                self.direct
                    .sagemaker
                    .create_endpoint()
                    .endpoint_name(&name)
                    .endpoint_config_name(&config)
                    .send()
                    .await
                    .expect("CreateEndpoint");
                (true, name, "CREATE_COMPLETE".into(), String::new())
            }
            Kind::Later => (
                true,
                resource.logical_id.clone(),
                "CREATE_COMPLETE".into(),
                String::new(),
            ),
            Kind::Guard | Kind::Scaling => {
                let event = self.event(resource, "Create", None, None);
                let answer = self.stack.send(event).await;
                let ok = answer["Status"] == "SUCCESS";
                let id = answer["PhysicalResourceId"].as_str().unwrap().to_owned();
                (
                    ok,
                    id,
                    answer["Status"].as_str().unwrap().to_owned(),
                    reason_of(&answer),
                )
            }
        };
        if ok {
            self.physical.insert(resource.logical_id.clone(), id);
        }
        self.record(label.clone(), status, reason).await;
        (ok, label)
    }

    async fn update_resource(
        &mut self,
        resource: &Resource,
        before: &Resource,
        note: &str,
    ) -> (bool, String) {
        let label = format!("{} Update {note}", resource.logical_id)
            .trim()
            .to_owned();
        let id = self.physical[&resource.logical_id].clone();
        let (ok, status, reason) = match resource.kind {
            Kind::Endpoint => {
                let (name, config) = endpoint_properties(resource);
                match self.update_endpoint(&name, &config).await {
                    Ok(()) => (true, "UPDATE_COMPLETE".to_owned(), String::new()),
                    Err(why) => (false, "UPDATE_FAILED".to_owned(), why),
                }
            }
            Kind::Later => match resource.properties["Fail"] == true {
                true => (false, "UPDATE_FAILED".into(), "this resource fails".into()),
                false => (true, "UPDATE_COMPLETE".into(), String::new()),
            },
            Kind::Guard | Kind::Scaling => {
                let event = self.event(resource, "Update", Some(&id), Some(&before.properties));
                let answer = self.stack.send(event).await;
                let ok = answer["Status"] == "SUCCESS";
                if ok {
                    let new_id = answer["PhysicalResourceId"].as_str().unwrap().to_owned();
                    self.physical.insert(resource.logical_id.clone(), new_id);
                }
                (
                    ok,
                    answer["Status"].as_str().unwrap().to_owned(),
                    reason_of(&answer),
                )
            }
        };
        self.record(label.clone(), status, reason).await;
        (ok, label)
    }

    async fn delete_resource(&mut self, resource: &Resource, id: &str, note: &str) {
        let label = format!("{} Delete {note}", resource.logical_id)
            .trim()
            .to_owned();
        let (status, reason) = match resource.kind {
            Kind::Endpoint => {
                let (name, _) = endpoint_properties(resource);
                let _ = self
                    .direct
                    .sagemaker
                    .delete_endpoint()
                    .endpoint_name(&name)
                    .send()
                    .await;
                ("DELETE_COMPLETE".to_owned(), String::new())
            }
            Kind::Later => ("DELETE_COMPLETE".to_owned(), String::new()),
            Kind::Guard | Kind::Scaling => {
                let event = self.event(resource, "Delete", Some(id), None);
                let answer = self.stack.send(event).await;
                (
                    answer["Status"].as_str().unwrap().to_owned(),
                    reason_of(&answer),
                )
            }
        };
        self.record(label, status, reason).await;
    }

    /// What CloudFormation does for `AWS::SageMaker::Endpoint`: UpdateEndpoint, then wait
    /// while it updates. Back on another configuration means SageMaker rolled the update back.
    async fn update_endpoint(&self, name: &str, config: &str) -> Result<(), String> {
        // CloudFormation's handler waits for an endpoint that is still changing (rolling back a
        // failed update, say) before it updates it.
        self.wait_while(name, &["Updating", "RollingBack"]).await;
        self.direct
            .sagemaker
            .update_endpoint()
            .endpoint_name(name)
            .endpoint_config_name(config)
            .send()
            .await
            .map_err(|e| {
                format!(
                    "UpdateEndpoint refused: {}",
                    aws_sdk_sagemaker::error::DisplayErrorContext(e)
                )
            })?;
        let (status, running) = self.wait_while(name, &["Updating"]).await;
        match (status.as_str(), running == config) {
            ("InService", true) => Ok(()),
            _ => Err(format!(
                "the update failed; the endpoint is {status} on {running}"
            )),
        }
    }

    /// Waits while the endpoint's status is one of these; answers its status and configuration.
    async fn wait_while(&self, name: &str, statuses: &[&str]) -> (String, String) {
        let started = Instant::now();
        loop {
            let (status, running) = self.describe_endpoint(name).await.expect("the endpoint");
            if !statuses.contains(&status.as_str()) {
                return (status, running);
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "endpoint still {status}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the endpoint is InService (after SageMaker rolled a failed update back).
    pub async fn wait_in_service(&self, name: &str) {
        self.wait_while(name, &["Updating", "RollingBack"]).await;
    }

    async fn describe_endpoint(&self, name: &str) -> Option<(String, String)> {
        let output = self
            .direct
            .sagemaker
            .describe_endpoint()
            .endpoint_name(name)
            .send()
            .await
            .ok()?;
        Some((
            output.endpoint_status().unwrap().as_str().to_owned(),
            output.endpoint_config_name().unwrap_or_default().to_owned(),
        ))
    }

    fn event(
        &self,
        resource: &Resource,
        request_type: &str,
        physical_id: Option<&str>,
        old: Option<&Value>,
    ) -> Value {
        let mut event = self.stack.event(
            request_type,
            physical_id,
            resource.properties.clone(),
            old.cloned(),
        );
        event["LogicalResourceId"] = resource.logical_id.clone().into();
        event["ResourceType"] = match resource.kind {
            Kind::Guard => GUARD_RESOURCE_TYPE,
            _ => SCALING_RESOURCE_TYPE,
        }
        .into();
        event
    }

    async fn record(&mut self, label: String, status: String, reason: String) {
        let mut variants = Vec::new();
        for watched in &self.watched {
            variants.push(read_state(&self.direct, watched).await);
        }
        let endpoint = match self.watched.first() {
            Some(w) => match self.describe_endpoint(&w.endpoint).await {
                Some((status, config)) => format!("{status} on {config}"),
                None => "gone".to_owned(),
            },
            None => String::new(),
        };
        self.steps.push(Step {
            label,
            status,
            reason,
            endpoint,
            variants,
        });
    }
}

/// SageMaker's "Endpoint State Change" event for an endpoint that is InService, as EventBridge
/// delivers it (each with an id of its own, as SageMaker's events have).
pub fn state_change_event(endpoint: &str) -> Value {
    static SENT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = SENT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    json!({
        "version": "0",
        "id": format!("b3d0c2a4-0000-4000-8000-{n:012}"),
        "detail-type": "SageMaker Endpoint State Change",
        "source": "aws.sagemaker",
        "account": "123456789012",
        "time": "2026-12-02T01:00:00Z",
        "region": "us-east-1",
        "resources": [format!("arn:aws:sagemaker:us-east-1:123456789012:endpoint/{endpoint}")],
        "detail": {"EndpointName": endpoint, "EndpointStatus": "IN_SERVICE"}
    })
}

fn endpoint_properties(resource: &Resource) -> (String, String) {
    let text = |key: &str| resource.properties[key].as_str().unwrap().to_owned();
    (text("EndpointName"), text("EndpointConfigName"))
}

fn reason_of(answer: &Value) -> String {
    answer["Reason"].as_str().unwrap_or_default().to_owned()
}

/// What AWS holds of a variant's scaling, read through these clients (straight from moto, or
/// through a test's proxy).
pub async fn read_state(clients: &AwsClients, watched: &Watched) -> VariantState {
    let aws = Emulator::over(clients.clone());
    let resource_id = watched.resource_id();
    let target = aws.target(&resource_id).await;
    let tags = match target.as_ref().and_then(|t| t.scalable_target_arn()) {
        Some(_) => aws.target_tags(&resource_id).await,
        None => BTreeMap::new(),
    };
    let policies = aws.policies(&resource_id).await;
    let policy_states: Vec<(String, String)> = policies
        .iter()
        .map(|p| {
            let configuration = format!(
                "{:?} {:?} {:?}",
                p.policy_type(),
                p.target_tracking_scaling_policy_configuration(),
                p.step_scaling_policy_configuration()
            );
            (p.policy_name().to_owned(), configuration)
        })
        .collect();
    let scheduled: Vec<String> = aws
        .scheduled_actions(&resource_id)
        .await
        .iter()
        .map(|a| {
            format!(
                "{} {} {:?} {:?} {:?} {:?} {:?}",
                a.scheduled_action_name(),
                a.schedule(),
                a.timezone(),
                a.start_time(),
                a.end_time(),
                a.scalable_target_action().and_then(|c| c.min_capacity()),
                a.scalable_target_action().and_then(|c| c.max_capacity())
            )
        })
        .collect();
    let alarm = aws.alarm(&watched.alarm_name).await;
    let alarm_definition = match &alarm {
        Some(alarm) => {
            let tags = aws.alarm_tags(&watched.alarm_name).await;
            Some(format!(
                "{:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?}",
                alarm.namespace(),
                alarm.metric_name(),
                alarm.dimensions(),
                alarm.statistic(),
                alarm.period(),
                alarm.evaluation_periods(),
                alarm.datapoints_to_alarm(),
                alarm.threshold(),
                alarm.comparison_operator(),
                alarm.treat_missing_data(),
                tags
            ))
        }
        None => None,
    };
    let alarm_fires = alarm.map(|alarm| {
        let fired: Vec<String> = alarm
            .alarm_actions()
            .iter()
            .map(|action| {
                policies
                    .iter()
                    .find(|p| p.policy_arn() == action)
                    .map(|p| p.policy_name().to_owned())
                    .unwrap_or_else(|| "<missing>".to_owned())
            })
            .collect();
        fired.join(", ")
    });
    let record = clients
        .ssm
        .get_parameter()
        .name(format!(
            "{RECORD_PATH_PREFIX}{}/{}",
            watched.endpoint, watched.variant
        ))
        .send()
        .await
        .is_ok();
    VariantState {
        target: target.map(|t| {
            let suspended = t.suspended_state();
            let flag = |f: Option<bool>| f == Some(true);
            (
                t.min_capacity(),
                t.max_capacity(),
                [
                    flag(suspended.and_then(|s| s.dynamic_scaling_in_suspended())),
                    flag(suspended.and_then(|s| s.dynamic_scaling_out_suspended())),
                    flag(suspended.and_then(|s| s.scheduled_scaling_suspended())),
                ],
            )
        }),
        tags,
        policies: policy_states,
        scheduled,
        alarm_fires,
        alarm: alarm_definition,
        record,
    }
}

/// SageMaker for the tests: models, endpoint configurations, and how the emulator carries out
/// the next UpdateEndpoint of an endpoint.
pub struct SageMaker {
    clients: AwsClients,
}

impl SageMaker {
    pub async fn connect() -> SageMaker {
        SageMaker {
            clients: clients_for(moto_url()).await,
        }
    }

    pub async fn model(&self, name: &str) {
        let container = aws_sdk_sagemaker::types::ContainerDefinition::builder()
            .image("123456789012.dkr.ecr.us-east-1.amazonaws.com/model:latest")
            .build();
        self.clients
            .sagemaker
            .create_model()
            .model_name(name)
            .execution_role_arn("arn:aws:iam::123456789012:role/sagemaker")
            .primary_container(container)
            .send()
            .await
            .expect("CreateModel");
    }

    /// An endpoint configuration with these variants: name, model and instance type.
    pub async fn config(&self, name: &str, variants: &[(&str, &str, &str)]) {
        let mut request = self
            .clients
            .sagemaker
            .create_endpoint_config()
            .endpoint_config_name(name);
        for (variant, model, instance_type) in variants {
            request = request.production_variants(
                aws_sdk_sagemaker::types::ProductionVariant::builder()
                    .variant_name(*variant)
                    .model_name(*model)
                    .instance_type(
                        aws_sdk_sagemaker::types::ProductionVariantInstanceType::from(
                            *instance_type,
                        ),
                    )
                    .initial_instance_count(1)
                    .build(),
            );
        }
        request.send().await.expect("CreateEndpointConfig");
    }

    /// An endpoint configuration of one variant on instance pools: (type, priority) each.
    pub async fn config_on_pools(
        &self,
        name: &str,
        variant: &str,
        model: &str,
        pools: &[(&str, i32)],
    ) {
        let pools = pools.iter().map(|(instance_type, priority)| {
            aws_sdk_sagemaker::types::InstancePool::builder()
                .instance_type(
                    aws_sdk_sagemaker::types::ProductionVariantInstanceType::from(*instance_type),
                )
                .priority(*priority)
                .build()
        });
        let variant = aws_sdk_sagemaker::types::ProductionVariant::builder()
            .variant_name(variant)
            .model_name(model)
            .set_instance_pools(Some(pools.collect()))
            .initial_instance_count(1)
            .build();
        self.clients
            .sagemaker
            .create_endpoint_config()
            .endpoint_config_name(name)
            .production_variants(variant)
            .send()
            .await
            .expect("CreateEndpointConfig");
    }

    /// The guard's record of a variant, as stored.
    pub async fn record(&self, endpoint: &str, variant: &str) -> Option<Value> {
        let output = self
            .clients
            .ssm
            .get_parameter()
            .name(format!("{RECORD_PATH_PREFIX}{endpoint}/{variant}"))
            .send()
            .await
            .ok()?;
        let value = output.parameter()?.value()?;
        Some(serde_json::from_str(value).expect("a record is JSON"))
    }

    /// How the emulator carries out the endpoint's next UpdateEndpoint: how long it updates,
    /// and whether it fails and rolls back to the old configuration (RollingBack for
    /// `rollback_seconds`).
    pub async fn next_update(
        &self,
        endpoint: &str,
        seconds: f64,
        fails: bool,
        rollback_seconds: f64,
    ) {
        let response = super::aws::http()
            .client()
            .post(format!("{}/_emulator/endpoint-update", moto_url()))
            .header("content-type", "application/json")
            .body(
                json!({
                    "EndpointName": endpoint,
                    "Seconds": seconds,
                    "Fails": fails,
                    "RollbackSeconds": rollback_seconds,
                    "FailureReason": "emulated: the new configuration's instances did not start",
                })
                .to_string(),
            )
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{response:?}");
    }
}
