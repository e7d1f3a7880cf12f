//! A stand-in for the Lambda Runtime API, to run the built binary as Lambda would: it hands
//! out queued events on `/next` and records what the function reports for each.

use super::http::{BoxReply, Reply, Server};
use serde_json::Value;
use std::collections::VecDeque;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::Notify;

/// What the function reported for one invocation.
#[derive(Clone, Debug)]
pub enum Outcome {
    Response(Value),
    Error(Value),
}

#[derive(Default)]
struct State {
    queue: Mutex<VecDeque<Value>>,
    queued: Notify,
    outcomes: Mutex<Vec<(String, Outcome)>>,
    reported: Notify,
    first_poll: Mutex<Option<Instant>>,
    polls: Mutex<usize>,
    served: Mutex<usize>,
}

pub struct RuntimeApi {
    server: Server,
    state: Arc<State>,
}

impl RuntimeApi {
    /// Each event it hands out must be handled within `timeout` (its deadline).
    pub async fn start(timeout: Duration) -> RuntimeApi {
        let state = Arc::new(State::default());
        let shared = state.clone();
        let server = Server::start(move |request| -> BoxReply {
            let state = shared.clone();
            Box::pin(async move { serve(&state, request, timeout).await })
        })
        .await;
        RuntimeApi { server, state }
    }

    /// `host:port`, as `AWS_LAMBDA_RUNTIME_API` wants it.
    pub fn address(&self) -> String {
        self.server.addr.to_string()
    }

    pub fn push(&self, event: Value) {
        self.state.queue.lock().unwrap().push_back(event);
        self.state.queued.notify_one();
    }

    /// How many times the function has asked for work.
    pub fn polls(&self) -> usize {
        *self.state.polls.lock().unwrap()
    }

    /// When the function first asked for work: the end of its initialisation.
    pub fn first_poll(&self) -> Option<Instant> {
        *self.state.first_poll.lock().unwrap()
    }

    /// Waits until `count` invocations have been reported, and answers all reports so far.
    pub async fn wait_for(&self, count: usize, limit: Duration) -> Vec<Outcome> {
        self.reports(count, limit).await.unwrap_or_else(|outcomes| {
            panic!(
                "only {} of {count} invocations reported: {outcomes:?}",
                outcomes.len()
            )
        })
    }

    /// As [`RuntimeApi::wait_for`]; falling short, it says how `function` ended, if it did,
    /// and what it logged.
    pub async fn wait_for_function(
        &self,
        function: &mut Function,
        count: usize,
        limit: Duration,
    ) -> Vec<Outcome> {
        match self.reports(count, limit).await {
            Ok(outcomes) => outcomes,
            Err(outcomes) => panic!(
                "only {} of {count} invocations reported ({outcomes:?}); the function {}; \
                 its log:\n{}",
                outcomes.len(),
                function.exit_status(),
                function.output()
            ),
        }
    }

    /// The reports once there are `count`, or those there are when `limit` has passed.
    async fn reports(&self, count: usize, limit: Duration) -> Result<Vec<Outcome>, Vec<Outcome>> {
        let give_up = tokio::time::Instant::now() + limit;
        loop {
            let reported = self.state.reported.notified();
            let outcomes = self.outcomes();
            if outcomes.len() >= count {
                return Ok(outcomes);
            }
            if tokio::time::timeout_at(give_up, reported).await.is_err() {
                return Err(outcomes);
            }
        }
    }

    pub fn outcomes(&self) -> Vec<Outcome> {
        let outcomes = self.state.outcomes.lock().unwrap();
        outcomes.iter().map(|(_, o)| o.clone()).collect()
    }
}

async fn serve(state: &State, request: super::http::Request, timeout: Duration) -> Reply {
    let path = request
        .target
        .split('?')
        .next()
        .unwrap_or_default()
        .to_owned();
    if path.ends_with("/runtime/invocation/next") {
        *state.polls.lock().unwrap() += 1;
        state
            .first_poll
            .lock()
            .unwrap()
            .get_or_insert_with(Instant::now);
        let event = loop {
            let queued = state.queued.notified();
            if let Some(event) = state.queue.lock().unwrap().pop_front() {
                break event;
            }
            queued.await;
        };
        let id = {
            let mut served = state.served.lock().unwrap();
            *served += 1;
            format!("invocation-{served}")
        };
        let deadline = SystemTime::now() + timeout;
        let deadline_ms = deadline.duration_since(UNIX_EPOCH).unwrap().as_millis();
        return Reply::Respond {
            status: 200,
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                ("Lambda-Runtime-Aws-Request-Id".into(), id),
                ("Lambda-Runtime-Deadline-Ms".into(), deadline_ms.to_string()),
                (
                    "Lambda-Runtime-Invoked-Function-Arn".into(),
                    "arn:aws:lambda:us-east-1:123456789012:function:sagemaker-async-autoscaling"
                        .into(),
                ),
                (
                    "Lambda-Runtime-Trace-Id".into(),
                    "Root=1-00000000-000000000000000000000000".into(),
                ),
            ],
            body: serde_json::to_vec(&event).unwrap(),
        };
    }
    let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
    let outcome = if path.ends_with("/response") {
        Outcome::Response(body)
    } else {
        Outcome::Error(body)
    };
    state.outcomes.lock().unwrap().push((path, outcome));
    state.reported.notify_waiters();
    Reply::status(202)
}

/// The function's process, with everything it writes kept for the test to read.
pub struct Function {
    child: Child,
    log: std::path::PathBuf,
    _dir: TempDir,
}

impl Function {
    /// Starts `binary` against the Runtime API, with the Lambda variables Lambda sets and
    /// `extra` on top.
    pub fn spawn(binary: &str, runtime: &RuntimeApi, extra: &[(&str, &str)]) -> Function {
        let dir = TempDir::new();
        let log = dir.0.join("function.log");
        let file = std::fs::File::create(&log).unwrap();
        let mut command = Command::new(binary);
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", runtime.address())
            .env("AWS_LAMBDA_FUNCTION_NAME", "sagemaker-async-autoscaling")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env(
                "AWS_LAMBDA_LOG_GROUP_NAME",
                "/aws/lambda/sagemaker-async-autoscaling",
            )
            .env(
                "AWS_LAMBDA_LOG_STREAM_NAME",
                "2026/11/27/[$LATEST]0123456789abcdef",
            )
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .envs(extra.iter().copied())
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file);
        Function {
            child: command
                .spawn()
                .unwrap_or_else(|e| panic!("cannot run {binary}: {e}")),
            log,
            _dir: dir,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything the function wrote to stdout and stderr so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap()
    }

    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// How the process ended ("ended (exit status: 1)"), or "is still running".
    pub fn exit_status(&mut self) -> String {
        match self.child.try_wait().unwrap() {
            Some(status) => format!("ended ({status})"),
            None => "is still running".into(),
        }
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A directory removed on drop.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new() -> TempDir {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "sagemaker-async-autoscaling-{}-{}",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
