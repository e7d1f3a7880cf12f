//! AWS for the tests: the emulator, and a per-test proxy in front of it.
//!
//! The emulator (`tests/emulator`: moto, made to behave as AWS does wherever the two differ;
//! `tests/emulator/RULES.md` lists every rule) is started once per test binary. The proxy, one
//! per test, does only what a proxy is for:
//! - checks every request against the AWS API model (the emulator's model check): a request
//!   that breaks it is answered as AWS would, with a ValidationException, and fails the test
//!   that sent it when the proxy is dropped;
//! - injects faults (errors, calls that never answer, calls carried out whose answer is lost,
//!   throttling) and delays, and records calls.

use super::http::{BoxReply, Reply, Request, Server};
use sagemaker_async_autoscaling::{AwsClients, Http};
use serde_json::{Value, json};
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

/// Which service a request is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    AutoScaling,
    CloudWatch,
    SageMaker,
    Ssm,
    /// None the function calls: the request is refused as breaking the model.
    Unknown,
}

/// One AWS call as the proxy saw it.
#[derive(Clone, Debug)]
pub struct Call {
    pub service: Service,
    pub operation: String,
    pub started: Instant,
    /// When the proxy passed the call on to the emulator, after its delay: about when AWS
    /// carried it out (the emulator takes a lock of its own before it writes).
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

#[derive(Default)]
struct ProxyState {
    faults: Mutex<Vec<Fault>>,
    /// The share of calls answered with throttling, at random.
    throttle_share: Mutex<f64>,
    delay: Mutex<Duration>,
    calls: Mutex<Vec<Call>>,
    violations: Mutex<Vec<String>>,
}

/// A per-test view of AWS: the proxy in front of the shared emulator.
pub struct Aws {
    server: Server,
    state: Arc<ProxyState>,
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
        let moto = Moto::client(moto_url());
        let state = Arc::new(ProxyState::default());
        let shared = state.clone();
        let server = Server::start(move |request| -> BoxReply {
            let (state, moto) = (shared.clone(), moto.clone());
            Box::pin(async move { proxy(&state, &moto, request).await })
        })
        .await;
        Aws { server, state }
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

/// What the emulator's model check says of a request: which service and operation it is for,
/// in which wire protocol, its input decoded (whatever the protocol), and what breaks the model.
struct Verdict {
    service: Service,
    operation: String,
    protocol: Protocol,
    params: Value,
    violations: Vec<String>,
}

/// The wire protocols the function's SDK clients speak.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Protocol {
    /// AWS JSON 1.0 and 1.1 (Application Auto Scaling, SageMaker, SSM).
    Json,
    /// The query protocol, with XML answers.
    Query,
    /// Smithy RPC v2 CBOR (CloudWatch).
    Cbor,
}

/// Errors as each protocol puts them on the wire.
fn error_reply(protocol: Protocol, code: &str, message: &str) -> Reply {
    match protocol {
        Protocol::Json => Reply::json(400, &json!({"__type": code, "message": message})),
        Protocol::Query => {
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
        Protocol::Cbor => Reply::Respond {
            status: 400,
            headers: vec![
                ("Content-Type".into(), "application/cbor".into()),
                ("smithy-protocol".into(), "rpc-v2-cbor".into()),
            ],
            body: cbor_text_map(&[("__type", code), ("message", message)]),
        },
    }
}

/// A CBOR map of text keys to text values (RFC 8949: major type 5 of major type 3 items), all
/// an error body needs.
fn cbor_text_map(entries: &[(&str, &str)]) -> Vec<u8> {
    fn head(out: &mut Vec<u8>, major: u8, length: usize) {
        let major = major << 5;
        match length {
            0..=23 => out.push(major | length as u8),
            24..=0xff => out.extend([major | 24, length as u8]),
            0x100..=0xffff => {
                out.push(major | 25);
                out.extend((length as u16).to_be_bytes());
            }
            _ => {
                out.push(major | 26);
                out.extend((length as u32).to_be_bytes());
            }
        }
    }
    let mut out = Vec::new();
    head(&mut out, 5, entries.len());
    for text in entries.iter().flat_map(|(k, v)| [k, v]) {
        head(&mut out, 3, text.len());
        out.extend(text.as_bytes());
    }
    out
}

fn throttling(service: Service, protocol: Protocol) -> Reply {
    let code = match service {
        Service::CloudWatch => "Throttling",
        _ => "ThrottlingException",
    };
    error_reply(protocol, code, "Rate exceeded")
}

async fn proxy(state: &ProxyState, moto: &Moto, request: Request) -> Reply {
    let started = Instant::now();
    let verdict = moto.validate(&request).await;
    let (reply, served) = answer(state, moto, &verdict, request).await;
    state.calls.lock().unwrap().push(Call {
        service: verdict.service,
        subjects: subjects(&verdict.params),
        operation: verdict.operation,
        started,
        served,
        ended: Instant::now(),
    });
    reply
}

/// The objects a request names: its ResourceId, ResourceIds, ResourceARN, AlarmName and
/// AlarmNames.
fn subjects(params: &Value) -> Vec<String> {
    let mut found = Vec::new();
    for key in ["ResourceId", "ResourceARN", "AlarmName"] {
        found.extend(params[key].as_str().map(str::to_owned));
    }
    for key in ["ResourceIds", "AlarmNames"] {
        let names = params[key].as_array().into_iter().flatten();
        found.extend(names.filter_map(|n| n.as_str().map(str::to_owned)));
    }
    found
}

async fn answer(
    state: &ProxyState,
    moto: &Moto,
    verdict: &Verdict,
    request: Request,
) -> (Reply, Instant) {
    if !verdict.violations.is_empty() {
        let message = format!(
            "{} validation error(s) detected: {}",
            verdict.violations.len(),
            verdict.violations.join("; ")
        );
        state
            .violations
            .lock()
            .unwrap()
            .extend(verdict.violations.iter().cloned());
        let reply = error_reply(verdict.protocol, "ValidationException", &message);
        return (reply, Instant::now());
    }
    let delay = *state.delay.lock().unwrap();
    tokio::time::sleep(delay).await;
    let served = Instant::now();
    let injected = injected_fault(state, verdict);
    if let Some(Injected::Instead(reply)) = injected {
        return (reply, served);
    }
    let (status, headers, body) = moto.forward(&request).await;
    match injected {
        Some(Injected::AnswerLost) => (Reply::Hang, served),
        _ => (
            Reply::Respond {
                status,
                headers,
                body,
            },
            served,
        ),
    }
}

fn injected_fault(state: &ProxyState, verdict: &Verdict) -> Option<Injected> {
    let (service, protocol) = (verdict.service, verdict.protocol);
    let share = *state.throttle_share.lock().unwrap();
    if share > 0.0 && fastrand::f64() < share {
        return Some(Injected::Instead(throttling(service, protocol)));
    }
    let mut faults = state.faults.lock().unwrap();
    let fault = faults.iter_mut().find(|f| {
        f.operation == verdict.operation
            && f.service.is_none_or(|s| s == service)
            && f.remaining > 0
    })?;
    if fault.skip > 0 {
        fault.skip -= 1;
        return None;
    }
    fault.remaining -= 1;
    Some(match &fault.answer {
        FaultAnswer::Hang => Injected::Instead(Reply::Hang),
        FaultAnswer::Throttling => Injected::Instead(throttling(service, protocol)),
        FaultAnswer::Error(code, message) => {
            Injected::Instead(error_reply(protocol, code, message))
        }
        FaultAnswer::AnswerLost => Injected::AnswerLost,
    })
}

/// The emulator, as the proxy talks to it: forwarding and checking requests.
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

    /// The emulator's verdict on a request (it conforms, mostly).
    async fn validate(&self, request: &Request) -> Verdict {
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
        let violations = verdict["violations"].as_array().into_iter().flatten();
        let mut violations: Vec<String> = violations
            .map(|v| v.as_str().unwrap_or_default().to_owned())
            .collect();
        let service = match verdict["service"].as_str() {
            Some("application-autoscaling") => Service::AutoScaling,
            Some("cloudwatch") => Service::CloudWatch,
            Some("sagemaker") => Service::SageMaker,
            Some("ssm") => Service::Ssm,
            other => {
                violations.push(format!(
                    "a request for a service the tests do not know: {other:?}"
                ));
                Service::Unknown
            }
        };
        let protocol = match verdict["protocol"].as_str() {
            Some("json") => Protocol::Json,
            Some("query") => Protocol::Query,
            Some("rpc-v2-cbor") => Protocol::Cbor,
            other => {
                violations.push(format!(
                    "a request in a protocol the tests do not know: {other:?}"
                ));
                Protocol::Json
            }
        };
        Verdict {
            service,
            operation: verdict["operation"]
                .as_str()
                .unwrap_or("unknown")
                .to_owned(),
            protocol,
            violations,
            params: verdict["params"].clone(),
        }
    }
}
