//! AWS for the tests: moto, and a per-test proxy in front of it.
//!
//! moto is started once per test binary (`tests/emulator`, which also keeps the tags of
//! scalable targets that moto lacks, deletes a target's policies and scheduled actions with it,
//! and keeps a policy's ARN when it is updated, as AWS does). The proxy, one per test:
//! - checks every request against the AWS API model (botocore's, through moto's process): a
//!   request that breaks it is answered as AWS would, with a ValidationException, and fails the
//!   test that sent it when the proxy is dropped;
//! - in [`Mode::AwsLike`], also does what AWS does and moto does not: Tags on
//!   RegisterScalableTarget for a target that exists are refused; a missing object is
//!   ObjectNotFoundException; an update of a scheduled action keeps the capacity bounds it leaves
//!   out; Tags on PutMetricAlarm for an alarm that exists are ignored; a deleted alarm's tags go
//!   with it; DescribeScalingPolicies filters by exactly the ResourceId, ScalableDimension and
//!   PolicyNames asked for and answers at most 10 policies a page (MaxResults 1 to 10); a target
//!   holds at most 50 scaling policies; a target-tracking configuration names exactly one metric
//!   (each check and its write as one step, as on AWS, also when requests race);
//! - injects faults (errors, calls that never answer, calls carried out whose answer is lost,
//!   throttling), delays, and records calls.

use super::http::{BoxReply, Reply, Request, Server};
use sagemaker_async_autoscaling::AwsClients;
use sagemaker_async_autoscaling::Http;
use sagemaker_async_autoscaling::backoff;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

struct MotoProcess {
    url: String,
    _child: Child,
}

/// The shared emulator's URL, starting it on first use.
pub fn moto_url() -> &'static str {
    static MOTO: OnceLock<MotoProcess> = OnceLock::new();
    &MOTO.get_or_init(start_moto).url
}

fn start_moto() -> MotoProcess {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = std::env::var("MOTO_PYTHON")
        .unwrap_or_else(|_| root.join(".venv/bin/python").display().to_string());
    let mut child = Command::new(&python)
        .args(["-m", "tests.emulator"])
        .current_dir(root)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot start moto with {python} ({e}); run `make setup` first")
        });
    let mut port = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut port)
        .unwrap();
    let port: u16 = port
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("moto did not start (printed {port:?}); run `make setup`"));
    MotoProcess {
        url: format!("http://127.0.0.1:{port}"),
        _child: child,
    }
}

/// The function's HTTP client, built once for all the tests.
pub fn http() -> &'static Http {
    static HTTP: OnceLock<Http> = OnceLock::new();
    HTTP.get_or_init(Http::from_environment)
}

/// SDK clients for an endpoint, configured as the function configures its own.
pub async fn clients_for(endpoint_url: &str) -> AwsClients {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(http().for_sdk())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_applicationautoscaling::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        ))
        .endpoint_url(endpoint_url)
        .load()
        .await;
    AwsClients::from_config(&config)
}

/// How closely the proxy imitates AWS where moto differs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// moto as it is (with the scalable target tags it lacks).
    Plain,
    /// moto made to behave as AWS does (see the module's description).
    AwsLike,
}

/// Which service a request is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    AutoScaling,
    CloudWatch,
    SageMaker,
    Ssm,
}

/// One AWS call as the proxy saw it.
#[derive(Clone, Debug)]
pub struct Call {
    pub service: Service,
    pub operation: String,
    pub started: Instant,
    /// When the proxy passed the call on (to its AWS-like rules and moto), after its delay and
    /// with its object's lock held: when AWS carried it out.
    pub served: Instant,
    pub ended: Instant,
    /// The objects the request names: ResourceId, ResourceARN and alarm names.
    pub subjects: Vec<String>,
}

struct Fault {
    /// `None`: the operation in either service (ListTagsForResource, TagResource and
    /// UntagResource exist in both).
    service: Option<Service>,
    operation: String,
    /// Calls let through before the fault starts.
    skip: usize,
    remaining: usize,
    answer: FaultAnswer,
}

enum FaultAnswer {
    /// This AWS error code and message.
    Error(String, String),
    /// Throttling, as the operation's service words it.
    Throttling,
    /// Nothing at all: the call is read and never answered.
    Hang,
    /// The call is carried out, but its answer never comes back.
    AnswerLost,
}

/// What an injected fault does to a call.
enum Injected {
    /// This reply instead of the service's.
    Instead(Reply),
    /// The service carries the call out; the caller never hears of it.
    AnswerLost,
}

/// AWS checks whether an object exists and writes it as one step; the proxy's AWS-like rules
/// check in one request to moto and write in another. So a write whose AWS-like rule depends
/// on whether its object exists holds that object's lock across both, for every proxy of the
/// test binary, and two requests racing for one object see what AWS would let them see. One
/// lock per object, so that unrelated tests never wait for each other.
async fn lock_objects(
    mode: Mode,
    service: Service,
    operation: &str,
    request: &Request,
) -> Vec<tokio::sync::OwnedMutexGuard<()>> {
    static LOCKS: OnceLock<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>> = OnceLock::new();
    if mode != Mode::AwsLike {
        return Vec::new();
    }
    let mut keys: Vec<String> = match (service, operation) {
        (Service::AutoScaling, "RegisterScalableTarget") => {
            let resource_id = &request.json()["ResourceId"];
            vec![format!("target {resource_id}")]
        }
        // The 50-policy quota is counted and the policy written as one step.
        (Service::AutoScaling, "PutScalingPolicy" | "DeleteScalingPolicy") => {
            let resource_id = &request.json()["ResourceId"];
            vec![format!("policies {resource_id}")]
        }
        (Service::CloudWatch, "PutMetricAlarm" | "DeleteAlarms") => form(&request.body)
            .into_iter()
            .filter(|(k, _)| k == "AlarmName" || k.starts_with("AlarmNames.member."))
            .map(|(_, name)| format!("alarm {name}"))
            .collect(),
        _ => Vec::new(),
    };
    // Always in the same order, so that two requests never wait for each other's locks.
    keys.sort();
    keys.dedup();
    let mut held = Vec::new();
    for key in keys {
        let lock = {
            let mut locks = LOCKS.get_or_init(Default::default).lock().unwrap();
            locks.entry(key).or_default().clone()
        };
        held.push(lock.lock_owned().await);
    }
    held
}

#[derive(Default)]
struct ProxyState {
    faults: Mutex<Vec<Fault>>,
    /// The share of calls answered with throttling, at random.
    throttle_share: Mutex<f64>,
    delay: Mutex<Duration>,
    calls: Mutex<Vec<Call>>,
    violations: Mutex<Vec<String>>,
}

/// A per-test view of AWS: the proxy in front of the shared moto.
pub struct Aws {
    server: Server,
    state: Arc<ProxyState>,
    pub mode: Mode,
}

impl Drop for Aws {
    fn drop(&mut self) {
        let violations = self.violations();
        if !violations.is_empty() && !std::thread::panicking() {
            panic!("requests that break the AWS API model were sent: {violations:#?}");
        }
    }
}

impl Aws {
    pub async fn start() -> Aws {
        Aws::start_in(Mode::Plain).await
    }

    pub async fn start_in(mode: Mode) -> Aws {
        let moto = Moto::client(moto_url());
        let state = Arc::new(ProxyState::default());
        let shared = state.clone();
        let server = Server::start(move |request| -> BoxReply {
            let (state, moto) = (shared.clone(), moto.clone());
            Box::pin(async move { proxy(&state, &moto, mode, request).await })
        })
        .await;
        Aws {
            server,
            state,
            mode,
        }
    }

    pub fn url(&self) -> String {
        self.server.url()
    }

    pub async fn clients(&self) -> AwsClients {
        clients_for(&self.url()).await
    }

    /// The next `times` calls of `operation` fail with this error code and message.
    pub fn fail(&self, operation: &str, times: usize, code: &str, message: &str) {
        self.push_failure(None, operation, times, code, message);
    }

    /// As [`Aws::fail`], after letting the first `skip` calls through.
    pub fn fail_after(
        &self,
        operation: &str,
        skip: usize,
        times: usize,
        code: &str,
        message: &str,
    ) {
        self.push_failure(None, operation, times, code, message);
        let mut faults = self.state.faults.lock().unwrap();
        faults.last_mut().unwrap().skip = skip;
    }

    /// As [`Aws::fail`], for the operation of one service only.
    pub fn fail_in(
        &self,
        service: Service,
        operation: &str,
        times: usize,
        code: &str,
        message: &str,
    ) {
        self.push_failure(Some(service), operation, times, code, message);
    }

    fn push_failure(
        &self,
        service: Option<Service>,
        operation: &str,
        times: usize,
        code: &str,
        message: &str,
    ) {
        self.state.faults.lock().unwrap().push(Fault {
            service,
            operation: operation.to_owned(),
            skip: 0,
            remaining: times,
            answer: FaultAnswer::Error(code.to_owned(), message.to_owned()),
        });
    }

    /// The next call of `operation` is read and never answered.
    pub fn hang(&self, operation: &str) {
        self.state.faults.lock().unwrap().push(Fault {
            service: None,
            operation: operation.to_owned(),
            skip: 0,
            remaining: 1,
            answer: FaultAnswer::Hang,
        });
    }

    /// The next call of `operation` is carried out, but its answer never comes back: the call
    /// took effect and the caller cannot know it.
    pub fn lose_answer(&self, operation: &str) {
        self.state.faults.lock().unwrap().push(Fault {
            service: None,
            operation: operation.to_owned(),
            skip: 0,
            remaining: 1,
            answer: FaultAnswer::AnswerLost,
        });
    }

    /// The next `times` calls of `operation` are throttled, as its service says it.
    pub fn throttle(&self, operation: &str, times: usize) {
        self.state.faults.lock().unwrap().push(Fault {
            service: None,
            operation: operation.to_owned(),
            skip: 0,
            remaining: times,
            answer: FaultAnswer::Throttling,
        });
    }

    /// From now on, this share of all calls (0.0 to 1.0), picked at random, is throttled.
    pub fn throttle_randomly(&self, share: f64) {
        *self.state.throttle_share.lock().unwrap() = share;
    }

    /// Every call waits this long before it is forwarded.
    pub fn delay_every_call(&self, delay: Duration) {
        *self.state.delay.lock().unwrap() = delay;
    }

    pub fn calls(&self) -> Vec<Call> {
        self.state.calls.lock().unwrap().clone()
    }

    pub fn operations(&self) -> Vec<String> {
        self.calls().into_iter().map(|c| c.operation).collect()
    }

    /// Asserts that nothing reached AWS.
    pub fn assert_no_calls(&self) {
        let operations = self.operations();
        assert!(
            operations.is_empty(),
            "no AWS call expected: {operations:?}"
        );
    }

    pub fn clear_calls(&self) {
        self.state.calls.lock().unwrap().clear();
    }

    /// Requests that broke the AWS API model so far (each fails the test when it ends).
    pub fn violations(&self) -> Vec<String> {
        self.state.violations.lock().unwrap().clone()
    }

    /// Forgets the violations so far: for the one test that sends a bad request on purpose.
    pub fn take_violations(&self) -> Vec<String> {
        std::mem::take(&mut *self.state.violations.lock().unwrap())
    }
}

/// A request's service and operation: the JSON protocol names the operation in a header, the
/// query protocol (CloudWatch, as the function's client speaks it) in the form body.
pub fn identify(request: &Request) -> (Service, String) {
    if let Some(target) = request.header("x-amz-target") {
        let (prefix, operation) = target.split_once('.').unwrap_or(("", target));
        let service = match prefix {
            "AnyScaleFrontendService" => Service::AutoScaling,
            "SageMaker" => Service::SageMaker,
            "AmazonSSM" => Service::Ssm,
            _ => Service::CloudWatch,
        };
        return (service, operation.to_owned());
    }
    let operation = form(&request.body)
        .into_iter()
        .find_map(|(k, v)| (k == "Action").then_some(v))
        .unwrap_or_else(|| "unknown".to_owned());
    (Service::CloudWatch, operation)
}

/// A form-encoded body's pairs, decoded.
pub fn form(body: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(body);
    let url = reqwest::Url::parse(&format!("http://form/?{text}")).unwrap();
    url.query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Errors as each service puts them on the wire.
fn error_reply(service: Service, code: &str, message: &str) -> Reply {
    match service {
        Service::AutoScaling | Service::SageMaker | Service::Ssm => {
            Reply::json(400, &json!({"__type": code, "message": message}))
        }
        Service::CloudWatch => {
            let escape = |text: &str| {
                text.replace('&', "&amp;")
                    .replace('<', "&lt;")
                    .replace('>', "&gt;")
            };
            let xml = format!(
                "<ErrorResponse><Error><Type>Sender</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>r</RequestId></ErrorResponse>",
                escape(code),
                escape(message)
            );
            Reply::Respond {
                status: 400,
                headers: vec![("Content-Type".into(), "text/xml".into())],
                body: xml.into_bytes(),
            }
        }
    }
}

fn throttling(service: Service) -> Reply {
    match service {
        Service::AutoScaling | Service::SageMaker | Service::Ssm => {
            error_reply(service, "ThrottlingException", "Rate exceeded")
        }
        Service::CloudWatch => error_reply(service, "Throttling", "Rate exceeded"),
    }
}

async fn proxy(state: &ProxyState, moto: &Moto, mode: Mode, request: Request) -> Reply {
    let started = Instant::now();
    let (service, operation) = identify(&request);
    let subjects = subjects(&request);
    let (reply, served) = answer(state, moto, mode, service, &operation, request).await;
    state.calls.lock().unwrap().push(Call {
        service,
        operation,
        started,
        served,
        ended: Instant::now(),
        subjects,
    });
    reply
}

/// The objects a request names: in a JSON body (Application Auto Scaling), its ResourceId,
/// ResourceIds and ResourceARN; in a form (CloudWatch), its AlarmName, AlarmNames and
/// ResourceARN.
fn subjects(request: &Request) -> Vec<String> {
    if request.header("x-amz-target").is_some() {
        let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap_or_default();
        let mut found = Vec::new();
        for key in ["ResourceId", "ResourceARN"] {
            found.extend(body[key].as_str().map(str::to_owned));
        }
        let ids = body["ResourceIds"].as_array().into_iter().flatten();
        found.extend(ids.filter_map(|id| id.as_str().map(str::to_owned)));
        return found;
    }
    form(&request.body)
        .into_iter()
        .filter(|(k, _)| k == "AlarmName" || k == "ResourceARN" || k.starts_with("AlarmNames."))
        .map(|(_, v)| v)
        .collect()
}

async fn answer(
    state: &ProxyState,
    moto: &Moto,
    mode: Mode,
    service: Service,
    operation: &str,
    request: Request,
) -> (Reply, Instant) {
    let violations = moto.validate(&request).await;
    if !violations.is_empty() {
        let message = format!(
            "{} validation error(s) detected: {}",
            violations.len(),
            violations.join("; ")
        );
        state.violations.lock().unwrap().extend(violations);
        let reply = error_reply(service, "ValidationException", &message);
        return (reply, Instant::now());
    }
    let delay = *state.delay.lock().unwrap();
    tokio::time::sleep(delay).await;
    let _held = lock_objects(mode, service, operation, &request).await;
    let served = Instant::now();
    let injected = injected_fault(state, service, operation);
    if let Some(Injected::Instead(reply)) = injected {
        return (reply, served);
    }
    let reply = match service {
        Service::AutoScaling => autoscaling(moto, mode, operation, request).await,
        Service::CloudWatch => cloudwatch(moto, mode, operation, request).await,
        Service::SageMaker | Service::Ssm => {
            let (status, headers, body) = moto.forward(&request).await;
            Reply::Respond {
                status,
                headers,
                body,
            }
        }
    };
    match injected {
        Some(Injected::AnswerLost) => (Reply::Hang, served),
        _ => (reply, served),
    }
}

fn injected_fault(state: &ProxyState, service: Service, operation: &str) -> Option<Injected> {
    let share = *state.throttle_share.lock().unwrap();
    if share > 0.0 && backoff::random_fraction() < share {
        return Some(Injected::Instead(throttling(service)));
    }
    let mut faults = state.faults.lock().unwrap();
    let fault = faults.iter_mut().find(|f| {
        f.operation == operation && f.service.is_none_or(|s| s == service) && f.remaining > 0
    })?;
    if fault.skip > 0 {
        fault.skip -= 1;
        return None;
    }
    fault.remaining -= 1;
    Some(match &fault.answer {
        FaultAnswer::Hang => Injected::Instead(Reply::Hang),
        FaultAnswer::Throttling => Injected::Instead(throttling(service)),
        FaultAnswer::Error(code, message) => Injected::Instead(error_reply(service, code, message)),
        FaultAnswer::AnswerLost => Injected::AnswerLost,
    })
}

/// Application Auto Scaling: moto and, in AWS-like mode, AWS's rules.
async fn autoscaling(moto: &Moto, mode: Mode, operation: &str, request: Request) -> Reply {
    let body = request.json();
    let mut request = request;
    if mode == Mode::AwsLike {
        if let Some(refusal) = refused_as_aws_would(moto, operation, &body).await {
            return refusal;
        }
        if operation == "DescribeScalingPolicies" {
            return describe_scaling_policies(moto, &body).await;
        }
        if operation == "PutScheduledAction" {
            request.body = keep_unspecified_settings(moto, body.clone()).await;
        }
    }
    let (status, headers, response) = moto.forward(&request).await;
    if mode == Mode::AwsLike && status == 400 {
        // moto's "missing" is a ValidationException; AWS's is ObjectNotFoundException.
        let error: Value = serde_json::from_slice(&response).unwrap_or_default();
        let message = error["message"].as_str().unwrap_or_default();
        if message.starts_with("No scalable target found")
            || message.starts_with("No scaling policy found")
        {
            return not_found(message.to_owned());
        }
    }
    Reply::Respond {
        status,
        headers,
        body: response,
    }
}

/// AWS updates a scheduled action with what the request specifies and keeps the rest: the time
/// zone and each capacity bound left out stay as they were (moto keeps only the time zone).
/// Start and end times left out are cleared, on both.
async fn keep_unspecified_settings(moto: &Moto, mut body: Value) -> Vec<u8> {
    if let Some(existing) = moto.scheduled_action(&body).await {
        if body.get("Timezone").is_none() && !existing["Timezone"].is_null() {
            body["Timezone"] = existing["Timezone"].clone();
        }
        for bound in ["MinCapacity", "MaxCapacity"] {
            let old = &existing["ScalableTargetAction"][bound];
            if body["ScalableTargetAction"].get(bound).is_none() && !old.is_null() {
                body["ScalableTargetAction"][bound] = old.clone();
            }
        }
    }
    body.to_string().into_bytes()
}

fn not_found(message: String) -> Reply {
    error_reply(Service::AutoScaling, "ObjectNotFoundException", &message)
}

/// What AWS refuses and moto accepts: tags for a target that exists, a minimum above the
/// maximum, a policy or scheduled action for no target, deleting a scheduled action that is not
/// there.
async fn refused_as_aws_would(moto: &Moto, operation: &str, body: &Value) -> Option<Reply> {
    let invalid = |message: &str| error_reply(Service::AutoScaling, "ValidationException", message);
    match operation {
        "RegisterScalableTarget" => {
            let exists = moto.target(&body["ResourceId"]).await.is_some();
            let (min, max) = (body["MinCapacity"].as_i64(), body["MaxCapacity"].as_i64());
            if exists && body.get("Tags").is_some() {
                Some(invalid(
                    "The scalable target that you tried to tag already exists. To update tags \
                     on an existing scalable target, use the TagResource API.",
                ))
            } else if min.zip(max).is_some_and(|(min, max)| min > max) {
                Some(invalid(
                    "Minimum capacity cannot be greater than maximum capacity",
                ))
            } else {
                None
            }
        }
        "PutScalingPolicy" | "PutScheduledAction" => {
            let missing = moto.target(&body["ResourceId"]).await.is_none();
            if missing {
                return Some(not_found(format!(
                    "No scalable target registered for service namespace: sagemaker, resource ID: {}",
                    body["ResourceId"]
                )));
            }
            if operation != "PutScalingPolicy" {
                return None;
            }
            if let Some(problem) = target_tracking_problem(body) {
                return Some(invalid(&problem));
            }
            let on_target = moto.policies(body).await;
            let new = !on_target
                .iter()
                .any(|p| p["PolicyName"] == body["PolicyName"]);
            (new && on_target.len() >= MAX_POLICIES_PER_TARGET).then(|| {
                error_reply(
                    Service::AutoScaling,
                    "LimitExceededException",
                    &format!(
                        "Failed to create scaling policy {}: a scalable target can have at most \
                         {MAX_POLICIES_PER_TARGET} scaling policies",
                        body["PolicyName"]
                    ),
                )
            })
        }
        "DeleteScheduledAction" => {
            let missing = moto.scheduled_action(body).await.is_none();
            missing.then(|| {
                not_found(format!(
                    "No scheduled action found for {}",
                    body["ScheduledActionName"]
                ))
            })
        }
        _ => None,
    }
}

/// Scaling policies per scalable target, step scaling and target tracking together: a quota
/// AWS does not raise.
const MAX_POLICIES_PER_TARGET: usize = 50;

/// What AWS refuses in a target-tracking configuration and moto keeps as given: not exactly one
/// of PredefinedMetricSpecification and CustomizedMetricSpecification; a customized metric that
/// is both one metric and metric math, or one metric without its name, namespace or statistic;
/// metric math whose queries are not each exactly one of Expression and MetricStat, or where not
/// exactly one query returns data (ReturnData left out is true, as in CloudWatch).
fn target_tracking_problem(body: &Value) -> Option<String> {
    if body["PolicyType"] != "TargetTrackingScaling" {
        return None;
    }
    let config = &body["TargetTrackingScalingPolicyConfiguration"];
    // An empty list counts as left out: whether AWS minds one is not known here.
    let given = |value: &Value, member: &str| match &value[member] {
        Value::Null => false,
        Value::Array(items) => !items.is_empty(),
        _ => true,
    };
    let predefined = given(config, "PredefinedMetricSpecification");
    if predefined == given(config, "CustomizedMetricSpecification") {
        return Some(
            "A target tracking scaling policy needs exactly one of PredefinedMetricSpecification \
             and CustomizedMetricSpecification"
                .to_owned(),
        );
    }
    if predefined {
        return None;
    }
    let customized = &config["CustomizedMetricSpecification"];
    let single = ["MetricName", "Namespace", "Dimensions", "Statistic", "Unit"];
    let Some(queries) = customized["Metrics"].as_array() else {
        let missing = ["MetricName", "Namespace", "Statistic"]
            .into_iter()
            .find(|m| !given(customized, m))?;
        return Some(format!("CustomizedMetricSpecification needs {missing}"));
    };
    if let Some(member) = single.into_iter().find(|m| given(customized, m)) {
        return Some(format!(
            "CustomizedMetricSpecification cannot have both Metrics and {member}"
        ));
    }
    let mut returning = 0;
    for query in queries {
        if given(query, "Expression") == given(query, "MetricStat") {
            return Some(format!(
                "Metric query {} needs exactly one of Expression and MetricStat",
                query["Id"]
            ));
        }
        returning += usize::from(query["ReturnData"] != false);
    }
    (returning != 1).then(|| {
        format!(
            "Exactly one metric query must return data (ReturnData true) in \
             CustomizedMetricSpecification.Metrics, got {returning}"
        )
    })
}

/// DescribeScalingPolicies as AWS answers it: the policies of exactly the ResourceId,
/// ScalableDimension and PolicyNames asked for, at most MaxResults (1 to 10, 10 if left out) a
/// page, with a NextToken while more remain. moto answers 100 a page, takes a ResourceId for any
/// that contains the policy's (endpoint/e/variant/prod also finds endpoint/e/variant/pro's), and
/// ignores PolicyNames. Pages run in name order and a NextToken names the last policy answered,
/// so that policies deleted between pages (a caller removing what it finds) skip no other.
async fn describe_scaling_policies(moto: &Moto, body: &Value) -> Reply {
    const TOKEN: &str = "aws-like-policies-after:";
    let page = match &body["MaxResults"] {
        Value::Null => 10,
        n => match n.as_u64() {
            Some(n @ 1..=10) => n as usize,
            _ => {
                let message = format!(
                    "1 validation error detected: Value '{n}' at 'maxResults' failed to satisfy \
                     constraint: Member must have value between 1 and 10"
                );
                return error_reply(Service::AutoScaling, "ValidationException", &message);
            }
        },
    };
    let after = match &body["NextToken"] {
        Value::Null => None,
        token => match token.as_str().and_then(|t| t.strip_prefix(TOKEN)) {
            Some(name) => Some(name.to_owned()),
            None => {
                return error_reply(
                    Service::AutoScaling,
                    "InvalidNextTokenException",
                    "The NextToken value is invalid",
                );
            }
        },
    };
    let name = |p: &Value| p["PolicyName"].as_str().unwrap_or_default().to_owned();
    let mut policies = moto.policies(body).await;
    if let Some(names) = body["PolicyNames"].as_array() {
        policies.retain(|p| names.contains(&p["PolicyName"]));
    }
    if let Some(after) = &after {
        policies.retain(|p| name(p) > *after);
    }
    policies.sort_by_key(name);
    let more = policies.len() > page;
    policies.truncate(page);
    let mut answer = json!({"ScalingPolicies": policies});
    if more {
        let last = name(policies.last().unwrap());
        answer["NextToken"] = format!("{TOKEN}{last}").into();
    }
    Reply::json(200, &answer)
}

/// CloudWatch (query protocol): moto, with AWS's rules on tags in AWS-like mode.
async fn cloudwatch(moto: &Moto, mode: Mode, operation: &str, request: Request) -> Reply {
    let mut request = request;
    if mode == Mode::AwsLike {
        let pairs = form(&request.body);
        let names = |prefix: &str| -> Vec<String> {
            pairs
                .iter()
                .filter(|(k, _)| k.starts_with(prefix))
                .map(|(_, v)| v.clone())
                .collect()
        };
        match operation {
            // AWS applies Tags only when it creates the alarm.
            "PutMetricAlarm" => {
                let name = names("AlarmName").pop().unwrap_or_default();
                if !moto.alarms(&[name]).await.is_empty() {
                    let kept: Vec<(String, String)> = pairs
                        .into_iter()
                        .filter(|(k, _)| !k.starts_with("Tags."))
                        .collect();
                    request.body = encode_form(&kept).into_bytes();
                }
            }
            // AWS deletes an alarm's tags with it; moto keeps them for the next alarm of the name.
            "DeleteAlarms" => {
                for alarm in moto.alarms(&names("AlarmNames.member.")).await {
                    let arn = alarm["AlarmArn"].clone();
                    let tags = moto
                        .cloudwatch("ListTagsForResource", json!({"ResourceARN": arn}))
                        .await;
                    let keys: Vec<Value> = tags["Tags"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|t| t["Key"].clone())
                        .collect();
                    if !keys.is_empty() {
                        moto.cloudwatch(
                            "UntagResource",
                            json!({"ResourceARN": arn, "TagKeys": keys}),
                        )
                        .await;
                    }
                }
            }
            _ => {}
        }
    }
    let (status, headers, body) = moto.forward(&request).await;
    Reply::Respond {
        status,
        headers,
        body,
    }
}

fn encode_form(pairs: &[(String, String)]) -> String {
    let mut url = reqwest::Url::parse("http://form/").unwrap();
    url.query_pairs_mut().extend_pairs(pairs);
    url.query().unwrap_or_default().to_owned()
}

/// moto, as the proxy talks to it: forwarding, validating, and asking it for state.
#[derive(Clone)]
struct Moto {
    url: String,
    http: reqwest::Client,
}

impl Moto {
    fn client(url: &str) -> Moto {
        Moto {
            url: url.to_owned(),
            http: reqwest::Client::new(),
        }
    }

    fn request(&self, request: &Request) -> reqwest::RequestBuilder {
        let method = reqwest::Method::from_bytes(request.method.as_bytes()).unwrap();
        let mut outgoing = self
            .http
            .request(method, format!("{}{}", self.url, request.target));
        for (name, value) in &request.headers {
            if !["host", "content-length", "connection"]
                .contains(&name.to_ascii_lowercase().as_str())
            {
                outgoing = outgoing.header(name, value);
            }
        }
        outgoing.body(request.body.clone())
    }

    async fn forward(&self, request: &Request) -> (u16, Vec<(String, String)>, Vec<u8>) {
        let response = self.request(request).send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter(|(n, _)| {
                !["content-length", "connection", "transfer-encoding"].contains(&n.as_str())
            })
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or_default().to_owned()))
            .collect();
        (status, headers, response.bytes().await.unwrap().to_vec())
    }

    /// What the AWS API model says is wrong with the request (nothing, mostly).
    async fn validate(&self, request: &Request) -> Vec<String> {
        let response = self
            .request(request)
            .header("x-validate-only", "1")
            .send()
            .await
            .unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        assert!(status.is_success(), "the model check failed: {text}");
        let verdict: Value = serde_json::from_str(&text).unwrap();
        let violations = verdict["violations"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        violations
            .iter()
            .map(|v| v.as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// A JSON-protocol call straight to moto. moto tells services apart by the signing scope
    /// in the Authorization header, which it does not verify.
    async fn call(&self, service: &str, target: &str, version: &str, body: Value) -> Value {
        let authorization = format!(
            "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/{service}/aws4_request, \
             SignedHeaders=host, Signature=0"
        );
        let response = self
            .http
            .post(&self.url)
            .header("Authorization", authorization)
            .header("X-Amz-Target", target)
            .header("Content-Type", format!("application/x-amz-json-{version}"))
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let text = response.text().await.unwrap();
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    async fn autoscaling(&self, operation: &str, body: Value) -> Value {
        let target = format!("AnyScaleFrontendService.{operation}");
        self.call("application-autoscaling", &target, "1.1", body)
            .await
    }

    async fn cloudwatch(&self, operation: &str, body: Value) -> Value {
        let target = format!("GraniteServiceVersion20100801.{operation}");
        self.call("monitoring", &target, "1.0", body).await
    }

    /// The registered SageMaker target's ARN for a ResourceId.
    async fn target(&self, resource_id: &Value) -> Option<String> {
        let found = self
            .autoscaling(
                "DescribeScalableTargets",
                json!({"ServiceNamespace": "sagemaker", "ResourceIds": [resource_id]}),
            )
            .await;
        let targets = found["ScalableTargets"].as_array()?;
        targets.first()?["ScalableTargetARN"]
            .as_str()
            .map(str::to_owned)
    }

    /// The scheduled action a request names, as moto holds it.
    async fn scheduled_action(&self, request: &Value) -> Option<Value> {
        let found = self
            .autoscaling(
                "DescribeScheduledActions",
                json!({
                    "ServiceNamespace": request["ServiceNamespace"],
                    "ResourceId": request["ResourceId"],
                    "ScheduledActionNames": [request["ScheduledActionName"]],
                }),
            )
            .await;
        found["ScheduledActions"].get(0).cloned()
    }

    /// Every scaling policy moto holds of the ServiceNamespace, and exactly the ResourceId and
    /// ScalableDimension a request names (each only if it names one), all pages read.
    async fn policies(&self, request: &Value) -> Vec<Value> {
        let mut query = json!({"ServiceNamespace": request["ServiceNamespace"], "MaxResults": 100});
        for member in ["ResourceId", "ScalableDimension"] {
            if !request[member].is_null() {
                query[member] = request[member].clone();
            }
        }
        let mut policies = Vec::new();
        loop {
            let found = self
                .autoscaling("DescribeScalingPolicies", query.clone())
                .await;
            let page = found["ScalingPolicies"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            policies.extend(page.into_iter().filter(|p| {
                ["ResourceId", "ScalableDimension"]
                    .iter()
                    .all(|m| request[*m].is_null() || p[*m] == request[*m])
            }));
            match &found["NextToken"] {
                Value::String(token) => query["NextToken"] = token.clone().into(),
                _ => return policies,
            }
        }
    }

    async fn alarms(&self, names: &[String]) -> Vec<Value> {
        if names.is_empty() {
            return Vec::new();
        }
        let found = self
            .cloudwatch("DescribeAlarms", json!({"AlarmNames": names}))
            .await;
        found["MetricAlarms"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}
