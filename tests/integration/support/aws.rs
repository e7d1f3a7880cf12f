//! AWS for the tests: moto, and a per-test proxy in front of it.
//!
//! moto is started once per test binary. The proxy fills moto's one gap that matters here
//! (it keeps no tags on scalable targets, which the take-over check reads), injects faults
//! (throttling, errors, huge messages) and delays, and records every call.

use super::http::{BoxReply, Reply, Request, Server};
use sagemaker_async_autoscaling::aws::AwsClients;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

struct Moto {
    url: String,
    _child: Child,
}

/// The shared emulator's URL, starting it on first use.
pub fn moto_url() -> &'static str {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    &MOTO.get_or_init(start_moto).url
}

fn start_moto() -> Moto {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = std::env::var("MOTO_PYTHON")
        .unwrap_or_else(|_| root.join(".venv/bin/python").display().to_string());
    let mut child = Command::new(&python)
        .arg(root.join("tests/integration/support/moto_server.py"))
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
    Moto {
        url: format!("http://127.0.0.1:{port}"),
        _child: child,
    }
}

/// SDK clients for an endpoint, configured as the function configures its own.
pub async fn clients_for(endpoint_url: &str) -> AwsClients {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_applicationautoscaling::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        ))
        .endpoint_url(endpoint_url)
        .load()
        .await;
    AwsClients::from_config(&config)
}

/// One AWS call as the proxy saw it.
#[derive(Clone, Debug)]
pub struct Call {
    pub operation: String,
    pub started: Instant,
    pub ended: Instant,
}

struct Fault {
    operation: String,
    remaining: usize,
    /// The AWS error to answer with; `None` never answers at all.
    error: Option<(String, String)>,
}

#[derive(Default)]
struct ProxyState {
    /// Tags per scalable target ARN: what moto does not keep.
    tags: Mutex<HashMap<String, Value>>,
    faults: Mutex<Vec<Fault>>,
    delay: Mutex<Duration>,
    calls: Mutex<Vec<Call>>,
}

/// A per-test view of AWS: the proxy in front of the shared moto.
pub struct Aws {
    server: Server,
    state: Arc<ProxyState>,
}

impl Aws {
    pub async fn start() -> Aws {
        let moto = moto_url().to_owned();
        let state = Arc::new(ProxyState::default());
        let http = reqwest::Client::new();
        let shared = state.clone();
        let server = Server::start(move |request| -> BoxReply {
            let (state, http, moto) = (shared.clone(), http.clone(), moto.clone());
            Box::pin(async move { proxy(&state, &http, &moto, request).await })
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
        self.state.faults.lock().unwrap().push(Fault {
            operation: operation.to_owned(),
            remaining: times,
            error: Some((code.to_owned(), message.to_owned())),
        });
    }

    /// The next call of `operation` is read and never answered.
    pub fn hang(&self, operation: &str) {
        self.state.faults.lock().unwrap().push(Fault {
            operation: operation.to_owned(),
            remaining: 1,
            error: None,
        });
    }

    pub fn throttle(&self, operation: &str, times: usize) {
        let code = if operation.contains("Alarm") {
            "Throttling"
        } else {
            "ThrottlingException"
        };
        self.fail(operation, times, code, "Rate exceeded");
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
}

/// The AWS operation a request is for: the JSON protocol names it in a header, the query
/// protocol (CloudWatch) in the form body.
pub fn operation_of(request: &Request) -> String {
    if let Some(target) = request.header("x-amz-target") {
        return target.rsplit('.').next().unwrap_or(target).to_owned();
    }
    let body = String::from_utf8_lossy(&request.body);
    body.split('&')
        .find_map(|pair| pair.strip_prefix("Action="))
        .unwrap_or("unknown")
        .to_owned()
}

async fn proxy(state: &ProxyState, http: &reqwest::Client, moto: &str, request: Request) -> Reply {
    let started = Instant::now();
    let operation = operation_of(&request);
    let delay = *state.delay.lock().unwrap();
    tokio::time::sleep(delay).await;
    let reply = match injected_fault(state, &operation, &request) {
        Some(reply) => reply,
        None => match operation.as_str() {
            "ListTagsForResource" => {
                let arn = request.json()["ResourceARN"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                let tags = state.tags.lock().unwrap().get(&arn).cloned();
                Reply::json(200, &json!({"Tags": tags.unwrap_or_else(|| json!({}))}))
            }
            "TagResource" => {
                let body = request.json();
                let arn = body["ResourceARN"].as_str().unwrap_or_default().to_owned();
                let mut all = state.tags.lock().unwrap();
                let tags = all.entry(arn).or_insert_with(|| json!({}));
                for (k, v) in body["Tags"].as_object().into_iter().flatten() {
                    tags[k] = v.clone();
                }
                Reply::json(200, &json!({}))
            }
            _ => forward(state, http, moto, &operation, request).await,
        },
    };
    state.calls.lock().unwrap().push(Call {
        operation,
        started,
        ended: Instant::now(),
    });
    reply
}

fn injected_fault(state: &ProxyState, operation: &str, request: &Request) -> Option<Reply> {
    let mut faults = state.faults.lock().unwrap();
    let fault = faults
        .iter_mut()
        .find(|f| f.operation == operation && f.remaining > 0)?;
    fault.remaining -= 1;
    let Some((code, message)) = &fault.error else {
        return Some(Reply::Hang);
    };
    Some(if request.header("x-amz-target").is_some() {
        Reply::json(400, &json!({"__type": code, "message": message}))
    } else {
        let xml = format!(
            "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>r</RequestId></ErrorResponse>"
        );
        Reply::Respond {
            status: 400,
            headers: vec![("Content-Type".into(), "text/xml".into())],
            body: xml.into_bytes(),
        }
    })
}

async fn forward(
    state: &ProxyState,
    http: &reqwest::Client,
    moto: &str,
    operation: &str,
    request: Request,
) -> Reply {
    let method = reqwest::Method::from_bytes(request.method.as_bytes()).unwrap();
    let mut outgoing = http.request(method, format!("{moto}{}", request.target));
    for (name, value) in &request.headers {
        if !["host", "content-length", "connection"].contains(&name.to_ascii_lowercase().as_str()) {
            outgoing = outgoing.header(name, value);
        }
    }
    let response = outgoing.body(request.body.clone()).send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .filter(|(n, _)| {
            !["content-length", "connection", "transfer-encoding"].contains(&n.as_str())
        })
        .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or_default().to_owned()))
        .collect();
    let body = response.bytes().await.unwrap().to_vec();
    if operation == "RegisterScalableTarget" && status == 200 {
        // AWS tags a target only when it creates it.
        let tags = request.json()["Tags"].clone();
        let arn = serde_json::from_slice::<Value>(&body).unwrap()["ScalableTargetARN"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if tags.is_object() {
            state.tags.lock().unwrap().entry(arn).or_insert(tags);
        }
    }
    Reply::Respond {
        status,
        headers,
        body,
    }
}
